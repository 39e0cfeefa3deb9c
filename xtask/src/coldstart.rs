//! `./x cold-start`: how long `wasmtime serve` takes from process start to
//! the first answered request, for the composed component compiled at start
//! (no cache), with wasmtime's compilation cache warm, and precompiled with
//! `wasmtime compile` (`--allow-precompiled`). Writes the "Cold start"
//! section of BENCHMARKS.md.

use crate::pipeline::{self, BuildOptions};
use crate::server::Server;
use crate::tools::{self, Tools};
use anyhow::Result;
use std::fmt::Write as _;
use std::process::Command;
use std::time::{Duration, Instant};

/// Builds `rules` generated rules and measures each variant `runs` times.
pub fn cold_start(tools: &Tools, rules: usize, runs: usize) -> Result<String> {
    let dir = crate::target_dir().join("cold-start");
    std::fs::create_dir_all(&dir)?;
    let rules_file = dir.join("rules.txt");
    let mut text = Vec::new();
    crate::gen::generate(rules, crate::gen::DEFAULT_SEED, &mut text)?;
    std::fs::write(&rules_file, &text)?;
    let mut opts = BuildOptions::new(rules_file);
    opts.out = dir.join("redirects.wasm");
    opts.work_dir = dir.join("work");
    let report = pipeline::build(tools, &opts)?;
    let cwasm = dir.join("redirects.cwasm");
    let t = Instant::now();
    tools::run(
        Command::new(&tools.wasmtime)
            .arg("compile")
            .arg(&report.composed)
            .arg("-o")
            .arg(&cwasm),
    )?;
    let compile_time = t.elapsed();
    let probe = "/blog/2006/03/modern-edge";

    let variants: [(&str, &[&str], &std::path::Path); 3] = [
        (
            "component, compiled at start (`-C cache=n`)",
            &["-C", "cache=n"],
            &report.composed,
        ),
        ("component, wasmtime cache warm", &[], &report.composed),
        (
            "precompiled `.cwasm` (`--allow-precompiled`)",
            &["--allow-precompiled"],
            &cwasm,
        ),
    ];
    let mut rows = Vec::new();
    for (name, options, file) in variants {
        let mut times = Vec::new();
        for _ in 0..runs {
            let t = Instant::now();
            let server = Server::start_with(tools, options, file)?;
            let r = server.get(probe)?;
            times.push(t.elapsed());
            anyhow::ensure!(r.status == 301, "{name}: first request got {}", r.status);
        }
        times.sort();
        rows.push((
            name,
            times[times.len() / 2],
            times[0],
            times[times.len() - 1],
        ));
    }
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let base = ms(rows[0].1);
    let mut md = String::new();
    writeln!(md, "## Cold start\n")?;
    writeln!(
        md,
        "`./x cold-start --rules {rules} --runs {runs}`: time from starting `wasmtime serve` ({}) to the first answered request, \
         {rules} generated rules (composed component {:.1} MiB, `.cwasm` {:.1} MiB; `wasmtime compile` took {:.1} s). Median of {runs} runs.\n",
        tools::WASMTIME_VERSION,
        std::fs::metadata(&report.composed)?.len() as f64 / 1048576.0,
        std::fs::metadata(&cwasm)?.len() as f64 / 1048576.0,
        compile_time.as_secs_f64()
    )?;
    writeln!(
        md,
        "| variant | median | min–max | vs. compiled at start |\n|---|---|---|---|"
    )?;
    for (name, median, min, max) in &rows {
        writeln!(
            md,
            "| {name} | {:.0} ms | {:.0}–{:.0} ms | {:.2}× |",
            ms(*median),
            ms(*min),
            ms(*max),
            ms(*median) / base
        )?;
    }
    Ok(md)
}
