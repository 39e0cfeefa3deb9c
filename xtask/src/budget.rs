//! The deploy budget of Akamai Functions (`spin aka deploy`): 50 MiB per
//! app, 128 MiB of memory per execution. The build checks both before it
//! replaces the previous artifact.

use anyhow::{bail, Context, Result};
use std::path::Path;

/// Largest app (the composed component) Akamai Functions accepts.
pub const APP_BYTES: u64 = 50 * 1024 * 1024;
/// Memory per execution.
pub const MEMORY_BYTES: u64 = 128 * 1024 * 1024;
/// A wasm page.
const PAGE: u64 = 64 * 1024;

/// What the budget check measured.
#[derive(Debug, Clone, Copy)]
pub struct Usage {
    /// Size of the composed component.
    pub app_bytes: u64,
    /// Initial linear memory of the core modules (the lookup's holds the
    /// snapshotted table), before any request allocates.
    pub memory_bytes: u64,
}

/// Checks the composed component and the core modules it is made of.
pub fn check(composed: &Path, core_modules: &[&Path]) -> Result<Usage> {
    let app_bytes = std::fs::metadata(composed)?.len();
    let mut memory_bytes = 0;
    for m in core_modules {
        let bytes = std::fs::read(m).with_context(|| format!("reading {}", m.display()))?;
        memory_bytes += initial_memory_pages(&bytes)
            .with_context(|| format!("reading the memory of {}", m.display()))?
            * PAGE;
    }
    let usage = Usage {
        app_bytes,
        memory_bytes,
    };
    let mib = |b: u64| b as f64 / 1024.0 / 1024.0;
    if app_bytes > APP_BYTES {
        bail!(
            "over the Akamai Functions budget: the app would be {:.1} MiB, the limit is {:.0} MiB per app \
             (use fewer rules, or build with --no-budget-check for a host without this limit)",
            mib(app_bytes),
            mib(APP_BYTES)
        );
    }
    if memory_bytes > MEMORY_BYTES {
        bail!(
            "over the Akamai Functions budget: the component starts with {:.1} MiB of memory, the limit is {:.0} MiB per execution \
             (use fewer rules, or build with --no-budget-check)",
            mib(memory_bytes),
            mib(MEMORY_BYTES)
        );
    }
    Ok(usage)
}

/// The initial (minimum) pages of a core module's defined memories.
pub fn initial_memory_pages(wasm: &[u8]) -> Result<u64> {
    if wasm.len() < 8 || &wasm[..4] != b"\0asm" || wasm[4..8] != [1, 0, 0, 0] {
        bail!("not a core wasm module");
    }
    let mut at = 8;
    let mut pages = 0;
    while at < wasm.len() {
        let id = wasm[at];
        at += 1;
        let size = leb(wasm, &mut at)? as usize;
        let end = at
            .checked_add(size)
            .filter(|&e| e <= wasm.len())
            .context("section past the end")?;
        if id == 5 {
            let mut p = at;
            for _ in 0..leb(wasm, &mut p)? {
                let flags = leb(wasm, &mut p)?;
                pages += leb(wasm, &mut p)?;
                if flags & 1 != 0 {
                    leb(wasm, &mut p)?;
                }
            }
        }
        at = end;
    }
    Ok(pages)
}

fn leb(bytes: &[u8], at: &mut usize) -> Result<u64> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let b = *bytes.get(*at).context("truncated number")?;
        *at += 1;
        value |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return Ok(value);
        }
    }
    bail!("number too long")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_memory_sections() {
        // (module (memory 3)), and a type section then a memory with min 130 and a max (not validated) by hand.
        let one = [0, b'a', b's', b'm', 1, 0, 0, 0, 5, 3, 1, 0, 3];
        assert_eq!(initial_memory_pages(&one).unwrap(), 3);
        let max = [
            0, b'a', b's', b'm', 1, 0, 0, 0, 1, 1, 0, 5, 5, 1, 1, 0x82, 0x01, 10,
        ];
        assert_eq!(initial_memory_pages(&max).unwrap(), 130);
        assert!(initial_memory_pages(b"nope").is_err());
    }
}
