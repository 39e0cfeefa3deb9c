//! `redirects precompile APP.wasm [-o FILE]`: the lookup inside a built
//! artifact compiled to machine code for `redirects serve --engine native`
//! (process start to first answer in milliseconds instead of compiling at
//! start). The file is tied to this `redirects` binary (its wasmtime
//! version and settings) and to this CPU kind: `serve` refuses one made by
//! another build.

use anyhow::{Context, Result};
use clap::Args;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Args, Debug)]
pub struct PrecompileArgs {
    /// A component built by `redirects build` (or its `lookup.wasm`).
    app: PathBuf,
    /// The file to write [default: APP with the extension `.cwasm`].
    #[arg(short, long)]
    out: Option<PathBuf>,
}

pub fn run(args: PrecompileArgs) -> Result<ExitCode> {
    let bytes =
        std::fs::read(&args.app).with_context(|| format!("reading {}", args.app.display()))?;
    let lookup = redirects::serve::find_lookup(&bytes)
        .with_context(|| format!("{}: not a redirects component", args.app.display()))?;
    let out = args.out.unwrap_or_else(|| args.app.with_extension("cwasm"));
    let engine = redirects::lookup::engine()?;
    let compiled = redirects::lookup::precompile(&engine, &lookup)?;
    redirects_compiler::write_atomic(&out, &compiled)
        .with_context(|| format!("writing {}", out.display()))?;
    eprintln!(
        "precompiled the lookup of {} into {} ({:.1} MiB); serve it with `redirects serve {}`",
        args.app.display(),
        out.display(),
        compiled.len() as f64 / 1048576.0,
        out.display()
    );
    Ok(ExitCode::SUCCESS)
}
