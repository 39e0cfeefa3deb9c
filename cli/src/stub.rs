//! The lookup's WASI stub. After Wizer, the lookup never calls WASI: its
//! file reads and environment lookups ran at build time, and what is left
//! of std's WASI use is panic output and exit, on a path that traps anyway.
//! So instead of the preview1 adapter (which would make the component
//! import `wasi:io` and stdio and add adapter instances to every
//! instantiation), its `wasi_snapshot_preview1` imports are satisfied by a
//! module whose functions trap. The lookup component then imports nothing
//! at all.

use anyhow::{bail, Context, Result};
use wasm_encoder::{
    CodeSection, ExportKind, ExportSection, Function, FunctionSection, Instruction, Module,
    TypeSection, ValType,
};
use wasmparser::{Parser, Payload, TypeRef};

/// A module exporting a trapping function for each
/// `wasi_snapshot_preview1` function the core module `wasm` imports, with
/// the type it imports it at.
pub fn preview1_stub(wasm: &[u8]) -> Result<Vec<u8>> {
    let mut types: Vec<wasmparser::FuncType> = Vec::new();
    let mut stubs: Vec<(String, wasmparser::FuncType)> = Vec::new();
    for payload in Parser::new(0).parse_all(wasm) {
        match payload.context("reading the lookup's core module")? {
            Payload::TypeSection(reader) => {
                for ty in reader.into_iter_err_on_gc_types() {
                    types.push(ty.context("reading a type")?);
                }
            }
            Payload::ImportSection(reader) => {
                for import in reader.into_imports() {
                    let import = import.context("reading an import")?;
                    let TypeRef::Func(ty) = import.ty else {
                        bail!(
                            "the lookup imports a non-function {}.{}",
                            import.module,
                            import.name
                        );
                    };
                    if import.module == "wasi_snapshot_preview1" {
                        let ty = types.get(ty as usize).context("import of a missing type")?;
                        stubs.push((import.name.to_string(), ty.clone()));
                    }
                }
            }
            _ => {}
        }
    }
    let (mut type_section, mut functions, mut exports, mut code) = (
        TypeSection::new(),
        FunctionSection::new(),
        ExportSection::new(),
        CodeSection::new(),
    );
    // One type per distinct signature, in order of first use.
    let mut distinct: Vec<&wasmparser::FuncType> = Vec::new();
    for (i, (name, ty)) in stubs.iter().enumerate() {
        let index = match distinct.iter().position(|&t| t == ty) {
            Some(index) => index,
            None => {
                let vals = |v: &[wasmparser::ValType]| -> Result<Vec<ValType>> {
                    v.iter().map(|&t| val_type(t)).collect()
                };
                type_section
                    .ty()
                    .function(vals(ty.params())?, vals(ty.results())?);
                distinct.push(ty);
                distinct.len() - 1
            }
        };
        functions.function(index as u32);
        exports.export(name, ExportKind::Func, i as u32);
        let mut body = Function::new([]);
        body.instruction(&Instruction::Unreachable)
            .instruction(&Instruction::End);
        code.function(&body);
    }
    let mut module = Module::new();
    module
        .section(&type_section)
        .section(&functions)
        .section(&exports)
        .section(&code);
    Ok(module.finish())
}

fn val_type(t: wasmparser::ValType) -> Result<ValType> {
    Ok(match t {
        wasmparser::ValType::I32 => ValType::I32,
        wasmparser::ValType::I64 => ValType::I64,
        wasmparser::ValType::F32 => ValType::F32,
        wasmparser::ValType::F64 => ValType::F64,
        other => bail!("unsupported value type {other:?} in a WASI import"),
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
        let stub = preview1_stub(&m).unwrap();
        wasmparser::Validator::new().validate_all(&stub).unwrap();
        // One export, `fd_write`, a function of the imported type.
        let mut found = Vec::new();
        for payload in Parser::new(0).parse_all(&stub) {
            match payload.unwrap() {
                Payload::TypeSection(r) => {
                    for ty in r.into_iter_err_on_gc_types() {
                        let ty = ty.unwrap();
                        found.push(format!("{:?} -> {:?}", ty.params(), ty.results()));
                    }
                }
                Payload::ExportSection(r) => {
                    for e in r {
                        found.push(e.unwrap().name.to_string());
                    }
                }
                _ => {}
            }
        }
        assert_eq!(found, ["[I32, I64] -> [I32]", "fd_write"]);
    }
}
