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

/// Checks the composed component: its size, and the initial memory of
/// every core module inside it (whichever router it holds).
pub fn check(composed: &Path) -> Result<Usage> {
    let bytes =
        std::fs::read(composed).with_context(|| format!("reading {}", composed.display()))?;
    check_bytes(&bytes).with_context(|| composed.display().to_string())
}

/// Measures a composed component held in memory (see [`measure`]) and
/// refuses it when it is over the budget.
pub fn check_bytes(bytes: &[u8]) -> Result<Usage> {
    let usage = measure(bytes)?;
    let (app_bytes, memory_bytes) = (usage.app_bytes, usage.memory_bytes);
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

/// Measures a composed component: its size and the initial memory of
/// every core module inside it, without judging them.
pub fn measure(bytes: &[u8]) -> Result<Usage> {
    let mut memory_bytes = 0;
    for module in core_modules(bytes).context("reading the component's core modules")? {
        memory_bytes +=
            initial_memory_pages(module).context("reading the memory of a core module")? * PAGE;
    }
    Ok(Usage {
        app_bytes: bytes.len() as u64,
        memory_bytes,
    })
}

/// The sections of a wasm binary (core module or component) after the
/// 8-byte preamble: (id, contents).
pub(crate) fn sections(wasm: &[u8]) -> Result<Vec<(u8, &[u8])>> {
    let mut out = Vec::new();
    let mut at = 8;
    while at < wasm.len() {
        let id = wasm[at];
        at += 1;
        let size = leb(wasm, &mut at)? as usize;
        let end = at
            .checked_add(size)
            .filter(|&e| e <= wasm.len())
            .context("section past the end")?;
        out.push((id, &wasm[at..end]));
        at = end;
    }
    Ok(out)
}

/// Every core module a component holds, nested components included
/// (component section 1 is a core module, section 4 a component).
pub fn core_modules(component: &[u8]) -> Result<Vec<&[u8]>> {
    if component.len() < 8 || &component[..4] != b"\0asm" || component[4..8] != [0x0d, 0, 1, 0] {
        bail!("not a component");
    }
    let mut out = Vec::new();
    for (id, contents) in sections(component)? {
        match id {
            1 => out.push(contents),
            4 => out.extend(core_modules(contents)?),
            _ => {}
        }
    }
    Ok(out)
}

/// The initial (minimum) pages of a core module's defined memories.
pub fn initial_memory_pages(wasm: &[u8]) -> Result<u64> {
    if wasm.len() < 8 || &wasm[..4] != b"\0asm" || wasm[4..8] != [1, 0, 0, 0] {
        bail!("not a core wasm module");
    }
    let mut pages = 0;
    for (_, memories) in sections(wasm)?.into_iter().filter(|s| s.0 == 5) {
        let mut p = 0;
        for _ in 0..leb(memories, &mut p)? {
            let flags = leb(memories, &mut p)?;
            pages += leb(memories, &mut p)?;
            if flags & 1 != 0 {
                leb(memories, &mut p)?;
            }
        }
    }
    Ok(pages)
}

pub(crate) fn leb(bytes: &[u8], at: &mut usize) -> Result<u64> {
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
        // A component holding `one` and a nested component holding `max`.
        let nested = [
            &[0, b'a', b's', b'm', 0x0d, 0, 1, 0, 1, max.len() as u8][..],
            &max,
        ]
        .concat();
        let outer = [
            &[0, b'a', b's', b'm', 0x0d, 0, 1, 0, 1, one.len() as u8][..],
            &one,
            &[4, nested.len() as u8],
            &nested,
        ]
        .concat();
        let modules = core_modules(&outer).unwrap();
        assert_eq!(modules, [&one[..], &max[..]]);
        assert!(core_modules(&one).is_err());
    }
}
