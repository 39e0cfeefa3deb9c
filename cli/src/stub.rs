//! The lookup's WASI stub. After Wizer, the lookup never calls WASI: its
//! file reads and environment lookups ran at build time, and what is left
//! of std's WASI use is panic output and exit, on a path that traps anyway.
//! So instead of the preview1 adapter (which would make the component
//! import `wasi:io` and stdio and add adapter instances to every
//! instantiation), its `wasi_snapshot_preview1` imports are satisfied by a
//! module whose functions trap. The lookup component then imports nothing
//! at all.

use crate::budget::{leb, sections};
use anyhow::{bail, Context, Result};
use std::fmt::Write as _;

/// The WAT of a module exporting a trapping function for each
/// `wasi_snapshot_preview1` function the core module `wasm` imports.
pub fn preview1_stub_wat(wasm: &[u8]) -> Result<String> {
    let secs = sections(wasm)?;
    let mut types: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
    if let Some((_, body)) = secs.iter().find(|s| s.0 == 1) {
        let mut at = 0;
        for _ in 0..leb(body, &mut at)? {
            if byte(body, &mut at)? != 0x60 {
                bail!("unsupported type form in the type section");
            }
            let mut vals = || -> Result<Vec<u8>> {
                let n = leb(body, &mut at)? as usize;
                let v = body.get(at..at + n).context("truncated type")?.to_vec();
                at += n;
                Ok(v)
            };
            let params = vals()?;
            let results = vals()?;
            types.push((params, results));
        }
    }
    let mut wat = String::from("(module\n");
    if let Some((_, body)) = secs.iter().find(|s| s.0 == 2) {
        let mut at = 0;
        for _ in 0..leb(body, &mut at)? {
            let mut name = || -> Result<String> {
                let n = leb(body, &mut at)? as usize;
                let s = body.get(at..at + n).context("truncated name")?;
                at += n;
                Ok(String::from_utf8(s.to_vec())?)
            };
            let (module, field) = (name()?, name()?);
            if byte(body, &mut at)? != 0 {
                bail!("the lookup imports a non-function {module}.{field}");
            }
            let ty = leb(body, &mut at)? as usize;
            if module != "wasi_snapshot_preview1" {
                continue;
            }
            let (params, results) = types.get(ty).context("import of a missing type")?;
            write!(wat, "  (func (export \"{field}\")")?;
            for p in params {
                write!(wat, " (param {})", valtype(*p)?)?;
            }
            for r in results {
                write!(wat, " (result {})", valtype(*r)?)?;
            }
            wat.push_str(" unreachable)\n");
        }
    }
    wat.push_str(")\n");
    Ok(wat)
}

fn byte(bytes: &[u8], at: &mut usize) -> Result<u8> {
    let b = *bytes.get(*at).context("truncated section")?;
    *at += 1;
    Ok(b)
}

fn valtype(b: u8) -> Result<&'static str> {
    Ok(match b {
        0x7f => "i32",
        0x7e => "i64",
        0x7d => "f32",
        0x7c => "f64",
        _ => bail!("unsupported value type {b:#x}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stubs_every_preview1_function_with_its_type() {
        // (module (type (func (param i32 i64) (result i32))) (type (func))
        //   (import "wasi_snapshot_preview1" "fd_write" (func (type 0)))
        //   (import "env" "f" (func (type 1))))
        let mut m = b"\0asm\x01\0\0\0".to_vec();
        m.extend([1, 10, 2, 0x60, 2, 0x7f, 0x7e, 1, 0x7f, 0x60, 0, 0]);
        let mut imports = vec![2];
        for (module, field, ty) in [("wasi_snapshot_preview1", "fd_write", 0), ("env", "f", 1)] {
            imports.push(module.len() as u8);
            imports.extend(module.bytes());
            imports.push(field.len() as u8);
            imports.extend(field.bytes());
            imports.extend([0, ty]);
        }
        m.push(2);
        m.push(imports.len() as u8);
        m.extend(imports);
        assert_eq!(
            preview1_stub_wat(&m).unwrap(),
            "(module\n  (func (export \"fd_write\") (param i32) (param i64) (result i32) unreachable)\n)\n"
        );
    }
}
