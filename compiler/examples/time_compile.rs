//! Times the compile step on a rules file, part by part:
//!
//! ```text
//! cargo run --release --example time_compile -p redirects-compiler -- RULES [OUT]
//! ```
//!
//! Runs what [`redirects_compiler::compile`] runs (read, check, build,
//! write) and prints the time of each part, the lint's parts included, then
//! runs `compile` itself once more for its total.

use redirects_compiler::{build_table, check, compile, write_atomic, Options};
use std::path::Path;
use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let input = Path::new(args.first().expect("usage: time_compile RULES [OUT]"));
    let out = Path::new(args.get(1).map_or("/tmp/time_compile.bin", String::as_str));
    let opts = Options::default();
    let all = Instant::now();
    let mut t = Instant::now();
    let mut lap = |name: &str| {
        println!("  {name:<24} {:>7.3} s", t.elapsed().as_secs_f64());
        t = Instant::now();
    };
    let text = std::fs::read(input).expect("read rules");
    lap("read");
    let report = check(input, &text, &opts);
    let check_took = t.elapsed();
    for (name, took) in &report.timings {
        println!("  {name:<24} {:>7.3} s", took.as_secs_f64());
    }
    println!(
        "  {:<24} {:>7.3} s",
        "check (sum)",
        check_took.as_secs_f64()
    );
    t = Instant::now();
    let mut lap = |name: &str| {
        println!("  {name:<24} {:>7.3} s", t.elapsed().as_secs_f64());
        t = Instant::now();
    };
    let bytes = build_table(&report, &opts);
    lap("build_table");
    write_atomic(out, &bytes).expect("write");
    lap("write");
    println!(
        "{} rules, {} errors, {} warnings, {} bytes: {:.3} s",
        report.rules.len(),
        report.errors.len(),
        report.warnings.len(),
        bytes.len(),
        all.elapsed().as_secs_f64()
    );
    drop((report, bytes, text));
    let t = Instant::now();
    let summary = compile(input, out, &opts).expect("compile");
    println!(
        "compile: {:.3} s ({} rules, {} bytes, {} warnings)",
        t.elapsed().as_secs_f64(),
        summary.rules,
        summary.bytes,
        summary.warnings.len()
    );
}
