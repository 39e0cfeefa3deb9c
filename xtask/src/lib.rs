//! The project's build pipeline and developer commands, as a library so the
//! end-to-end tests drive exactly what `cargo xtask build` runs.
//!
//! - [`tools`]: the pinned external tools (wasmtime, wac, wasm-tools,
//!   wizer), installed once into a stable directory outside the clone.
//! - [`pipeline`]: rules → table → Wizer → components → `wac plug` →
//!   `composed/redirects.wasm`.
//! - [`bench`]: `redirects serve` against nginx `map` and HAProxy `map`,
//!   side by side.
//! - [`coldstart`]: time to first response, with and without precompiling.
//! - [`gen`]: the deterministic generator of realistic rules, in several
//!   shapes.
//! - [`sizes`]: table bytes per rule for each rule shape, beside xz and zstd.
//! - [`host`]: the lookup component in Node via `jco transpile`.
//! - [`server`]: `wasmtime serve` on loopback and a raw HTTP client.
//! - [`fuzz`]: bounded cargo-fuzz runs of every target.
//! - [`soak`]: a bounded load run with wrk, sampled for correctness.
//! - [`lookupbench`]: ns per lookup, natively and through the lookup
//!   component.

pub mod bench;
pub mod coldstart;
pub mod fuzz;
pub mod gen;
pub mod host;
pub mod lookupbench;
pub mod pipeline;
pub mod server;
pub mod sizes;
pub mod soak;
pub mod tools;

use std::path::{Path, PathBuf};

/// The workspace root (the directory holding the top `Cargo.toml`).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives one level below the workspace root")
        .to_path_buf()
}

/// `cargo` (the one running xtask, `$CARGO`, else from `PATH`), run from
/// the workspace root so rustup picks the pinned toolchain.
pub fn cargo() -> std::process::Command {
    let mut cmd =
        std::process::Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    cmd.current_dir(workspace_root());
    cmd
}

/// Cargo's target directory for this workspace (honours `CARGO_TARGET_DIR`).
pub fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => workspace_root().join(dir),
        None => workspace_root().join("target"),
    }
}

/// How many rules `examples/rules.txt` holds.
pub const EXAMPLE_RULE_COUNT: usize = 5000;

/// The example rules file that `build` and `serve` use by default.
pub fn example_rules() -> PathBuf {
    workspace_root().join("examples/rules.txt")
}

/// Options of the embedded default server: one component instance serves
/// many requests (wasmtime's default for WASI 0.2 is one instance per
/// request). This is safe for this component because nothing changes after
/// Wizer: the table is read-only, the router keeps no state between
/// requests, and a trap drops the instance. The end-to-end tests run every
/// HTTP case through reused instances, interleaved, and once more with one
/// instance per request (as Spin and Akamai Functions run it).
///
/// wasmtime's pooling allocator keeps, by default, at most 1,000 live core
/// instances; a reused composition holds about five, and at 200
/// connections the live and idle instances reached that limit (the soak
/// found it as a rare 500: "maximum concurrent limit of 1000 for core
/// instances reached"). The limit is raised to 10,000 (2,000 composed
/// instances). The on-demand allocator would avoid the limit too, but it
/// used 3.7x the memory with a 1M-rule table (3.2 GiB vs 0.86 GiB RSS).
pub const EMBEDDED_SERVE_OPTIONS: [&str; 4] = [
    "--max-instance-reuse-count",
    "100000",
    "-O",
    "pooling-total-core-instances=10000",
];

/// `wasmtime serve` arguments before the options and the component path.
pub fn serve_args(addr: &str) -> Vec<String> {
    vec!["serve".into(), "--addr".into(), addr.into()]
}

/// Replaces the section starting with `## {title}` in BENCHMARKS.md (or
/// appends it).
pub fn write_benchmarks_section(section: &str) -> anyhow::Result<()> {
    let path = workspace_root().join("BENCHMARKS.md");
    let old = std::fs::read_to_string(&path).unwrap_or_else(|_| "# Benchmarks\n\n".into());
    let title = section.lines().next().unwrap_or_default();
    let new = match old.find(title) {
        Some(start) => {
            let end = old[start + title.len()..]
                .find("\n## ")
                .map_or(old.len(), |e| start + title.len() + e + 1);
            // One blank line between this section and the next.
            let gap = if end < old.len() { "\n\n" } else { "\n" };
            format!(
                "{}{}{gap}{}",
                &old[..start],
                section.trim_end(),
                &old[end..]
            )
        }
        None => format!("{}\n{}", old.trim_end(), "\n") + section,
    };
    redirects_compiler::write_atomic(&path, new.as_bytes())?;
    Ok(())
}

/// The checked-out commit (`git rev-parse --short HEAD`), for reports.
pub fn commit() -> String {
    tools::output(
        std::process::Command::new("git")
            .current_dir(workspace_root())
            .args(["rev-parse", "--short", "HEAD"]),
    )
    .map(|s| s.trim().to_string())
    .unwrap_or_default()
}
