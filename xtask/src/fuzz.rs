//! `./x fuzz`: runs every cargo-fuzz target for a bounded time, natively,
//! with corpora seeded from the test fixtures. A crash fails the command and
//! leaves its input under `fuzz/artifacts/<target>/`.
//!
//! Pinned: cargo-fuzz 0.13.2 (into the tools directory) and the nightly
//! toolchain below (libFuzzer with AddressSanitizer needs nightly rustc).

use crate::tools::{run, tools_dir};
use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The nightly toolchain the fuzz targets build with.
pub const NIGHTLY: &str = "nightly-2026-05-20";
/// Pinned cargo-fuzz.
pub const CARGO_FUZZ_VERSION: &str = "0.13.2";

/// Every target with the fixture files that seed its corpus.
pub const TARGETS: [(&str, &[&str]); 5] = [
    (
        "rules_text",
        &[
            "xtask/tests/fixtures/basic.txt",
            "xtask/tests/fixtures/matching.txt",
        ],
    ),
    ("rules_csv", &["xtask/tests/fixtures/bulk.csv"]),
    ("rules_netlify", &["xtask/tests/fixtures/_redirects"]),
    ("normalize", &[]),
    ("resolve", &[]),
];

/// Installs the pinned nightly and cargo-fuzz if missing; returns cargo-fuzz.
fn ensure() -> Result<PathBuf> {
    let status = Command::new("rustup")
        .args(["run", NIGHTLY, "rustc", "--version"])
        .output()
        .context("rustup")?;
    if !status.status.success() {
        run(Command::new("rustup").args([
            "toolchain",
            "install",
            NIGHTLY,
            "--profile",
            "minimal",
        ]))?;
    }
    let cargo_fuzz = tools_dir().join("bin/cargo-fuzz");
    let ok = Command::new(&cargo_fuzz)
        .arg("--version")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains(CARGO_FUZZ_VERSION));
    if !ok {
        run(crate::cargo()
            .args([
                "install",
                "--locked",
                &format!("cargo-fuzz@{CARGO_FUZZ_VERSION}"),
                "--root",
            ])
            .arg(tools_dir()))?;
    }
    Ok(cargo_fuzz)
}

/// Runs each target for `seconds` and returns `(target, executions)`.
pub fn fuzz(seconds: u32, only: Option<&str>) -> Result<Vec<(String, u64)>> {
    let cargo_fuzz = ensure()?;
    let root = crate::workspace_root();
    let mut results = Vec::new();
    for (target, seeds) in TARGETS {
        if only.is_some_and(|o| o != target) {
            continue;
        }
        let corpus = root.join("fuzz/corpus").join(target);
        std::fs::create_dir_all(&corpus)?;
        for seed in seeds {
            let src = root.join(seed);
            let name = Path::new(seed).file_name().expect("file name");
            std::fs::copy(&src, corpus.join(name))
                .with_context(|| format!("seeding from {seed}"))?;
        }
        eprintln!("fuzz: {target} for {seconds} s");
        let out = Command::new(&cargo_fuzz)
            .current_dir(root.join("fuzz"))
            .env("RUSTUP_TOOLCHAIN", NIGHTLY)
            .args(["run", target])
            .arg(&corpus)
            .args([
                "--",
                &format!("-max_total_time={seconds}"),
                "-print_final_stats=1",
            ])
            .output()
            .with_context(|| format!("running cargo fuzz for {target}"))?;
        let stderr = String::from_utf8_lossy(&out.stderr);
        if !out.status.success() {
            let tail: Vec<&str> = stderr.lines().rev().take(40).collect();
            bail!(
                "fuzz target {target} failed ({}); input kept under fuzz/artifacts/{target}/\n{}",
                out.status,
                tail.into_iter().rev().collect::<Vec<_>>().join("\n")
            );
        }
        let execs = stderr
            .lines()
            .find_map(|l| l.strip_prefix("stat::number_of_executed_units:"))
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or(0);
        if execs == 0 {
            bail!("fuzz target {target} ran no input:\n{stderr}");
        }
        results.push((target.to_string(), execs));
    }
    Ok(results)
}
