//! Builds the data-less core modules the `redirects` binary ships: the
//! lookup (`redirects-lookup`) and the router (`redirects-router`, WASI 0.2,
//! spin-sdk 5.2), for `wasm32-wasip1` with the workspace's `wasm` profile.
//! They are embedded with `include_bytes!` (see `src/modules.rs`), so after
//! `cargo install --path cli` the binary builds artifacts with no other
//! tool. The nested cargo uses a target directory of its own
//! (`<target>/embedded-wasm`), which keeps it from waiting on the outer
//! build's lock and lets a rebuild find it done.

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    let manifest =
        PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let root = manifest
        .parent()
        .expect("cli/ is inside the workspace")
        .to_path_buf();
    for watched in [
        "lookup",
        "router",
        "format",
        "wit",
        "Cargo.lock",
        "Cargo.toml",
    ] {
        println!("cargo:rerun-if-changed={}", root.join(watched).display());
    }
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("OUT_DIR"));
    // OUT_DIR is <target>/<profile>/build/<pkg>-<hash>/out.
    let target = out
        .ancestors()
        .nth(4)
        .map(Path::to_path_buf)
        .unwrap_or_else(|| out.join("wasm-target"));
    let wasm_target = target.join("embedded-wasm");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(&root)
        .args([
            "build",
            "--locked",
            "--quiet",
            "--profile",
            "wasm",
            "--target",
            "wasm32-wasip1",
        ])
        .args(["-p", "redirects-lookup", "-p", "redirects-router"])
        .arg("--target-dir")
        .arg(&wasm_target);
    // What the outer build sets for itself must not leak into the wasm build.
    for var in [
        "RUSTFLAGS",
        "CARGO_ENCODED_RUSTFLAGS",
        "CARGO_BUILD_TARGET",
        "CARGO_TARGET_DIR",
        "CARGO_BUILD_RUSTFLAGS",
        "RUSTC_WORKSPACE_WRAPPER",
        "CARGO_MAKEFLAGS",
        "MAKEFLAGS",
        "MFLAGS",
    ] {
        cmd.env_remove(var);
    }
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy();
        if key.starts_with("CARGO_PROFILE_")
            || key.starts_with("CARGO_CFG_")
            || key.starts_with("CARGO_FEATURE_")
        {
            cmd.env_remove(key.as_ref());
        }
    }
    let status = cmd
        .status()
        .expect("cannot run cargo to build the wasm core modules");
    assert!(
        status.success(),
        "building the lookup and router core modules for wasm32-wasip1 failed ({status}); \
         is the target installed? `rustup target add wasm32-wasip1`"
    );
    let dir = wasm_target.join("wasm32-wasip1/wasm");
    for (from, to) in [
        ("redirects_lookup.wasm", "lookup.core.wasm"),
        ("redirects_router.wasm", "router.core.wasm"),
    ] {
        std::fs::copy(dir.join(from), out.join(to))
            .unwrap_or_else(|e| panic!("copying {}: {e}", dir.join(from).display()));
    }
}
