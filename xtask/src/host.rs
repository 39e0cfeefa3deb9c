//! `./x check-urls`: the lookup component outside Spin. `jco transpile`
//! turns `lookup.wasm` into a JavaScript module and `host/check-urls.mjs`
//! answers a list of URLs with it in Node (jco 1.35.0 and
//! preview2-shim 0.25.0 (the version jco 1.35 depends on), pinned, installed into the tools directory).

use crate::tools::{self, run, tools_dir};
use anyhow::{Context, Result};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Pinned jco.
pub const JCO_VERSION: &str = "1.35.0";
/// Pinned WASI shim for Node.
pub const SHIM_VERSION: &str = "0.25.0";

fn npm_dir() -> PathBuf {
    tools_dir().join("npm")
}

fn ensure() -> Result<PathBuf> {
    let jco = npm_dir().join("node_modules/.bin/jco");
    let shim = npm_dir().join("node_modules/@bytecodealliance/preview2-shim/package.json");
    let shim_ok = std::fs::read_to_string(&shim)
        .is_ok_and(|p| p.contains(&format!("\"version\": \"{SHIM_VERSION}\"")));
    let jco_ok = Command::new(&jco)
        .arg("--version")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains(JCO_VERSION));
    if !(jco_ok && shim_ok) {
        run(Command::new("npm")
            .args(["install", "--no-audit", "--no-fund", "--prefix"])
            .arg(npm_dir())
            .arg(format!("@bytecodealliance/jco@{JCO_VERSION}"))
            .arg(format!("@bytecodealliance/preview2-shim@{SHIM_VERSION}")))?;
    }
    Ok(jco)
}

/// Transpiles `lookup` into `out_dir` and returns the module to import.
pub fn transpile(lookup: &Path, out_dir: &Path) -> Result<PathBuf> {
    let jco = ensure()?;
    std::fs::create_dir_all(out_dir)?;
    tools::output(
        Command::new(jco)
            .arg("transpile")
            .arg(lookup)
            .args(["--name", "lookup", "--quiet", "-o"])
            .arg(out_dir),
    )?;
    // The generated module imports the shim: resolve it from the tools.
    let link = out_dir.join("node_modules");
    if std::fs::symlink_metadata(&link).is_err() {
        std::os::unix::fs::symlink(npm_dir().join("node_modules"), &link)
            .context("linking node_modules")?;
    }
    Ok(out_dir.join("lookup.js"))
}

/// The `node` command that checks URLs from `input` (a file, or `-`).
pub fn check_urls_command(module: &Path, input: &str, fail_on_404: bool) -> Command {
    let mut cmd = Command::new("node");
    cmd.arg(crate::workspace_root().join("host/check-urls.mjs"))
        .arg(module)
        .arg(input);
    if fail_on_404 {
        cmd.arg("--fail-on-404");
    }
    cmd
}
