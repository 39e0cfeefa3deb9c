//! `cargo xtask` (or `./x`): the project's commands. See `cargo xtask help`.

use anyhow::{bail, Context, Result};
use redirects_format::Status;
use std::path::PathBuf;
use std::process::Command;
use xtask::pipeline::{self, BuildOptions};
use xtask::tools::{self, Tools};

const HELP: &str = "\
usage: ./x <command> [options]      (./x runs `cargo xtask`)

commands:
  setup                    install the pinned dev tools (wasmtime, wac, wasm-tools, componentize-py)
                           into $REDIRECTS_TOOLS (default ~/.cache/redirects-tools)
  build [RULES] [OPTIONS]  `redirects build` (the product CLI, built first) with this
                           checkout's defaults: RULES $REDIRECTS_RULES, else examples/rules.txt;
                           -o composed/redirects.wasm (the file spin.toml serves)
  check [RULES] [OPTIONS]  `redirects check`
  serve [RULES] [OPTIONS]  `redirects serve` (native engine; --engine component as Spin runs it)
  check-urls [FILE]        `redirects check-urls --app composed/redirects.wasm`
                           (`redirects help <command>` lists the options)
  build|serve --router R   development variants through the dev pipeline, written to
                           target/variants/R/redirects.wasm and served with `wasmtime serve`:
                           rust-p3 (spin-sdk 7, WASI 0.3; not for Spin 4), rust-fused (table
                           linked into the router), python (componentize-py)
      --out FILE             write the variant here instead
      --addr HOST:PORT       listen address (default 127.0.0.1:3000)
      (and the rules options of `redirects build`)
  check-urls-node [FILE]   the same check in Node (jco): a non-Spin host of lookup.wasm
      --fail-on-404          exit 1 if any URL has no rule
  test                     setup, then fmt check, clippy -D warnings, and every test
  fuzz                     run every fuzz target (cargo-fuzz, pinned nightly)
      --seconds N            per target (default 60)
      --target T             only this target
  soak                     bounded load run (wrk) against `redirects serve`; writes BENCHMARKS.md
      --rules N              generated rules (default 100000)
      --requests N           at least this many requests (default 1000000)
      --round S              seconds per wrk round (default 30)
      --engine E             native (default) or component
      --per-request          component engine: one instance per request (Spin, Akamai)
  bench                    `redirects serve` (native, component, per request) vs nginx map and
                           HAProxy map (wrk, hey), same rules, same run; writes BENCHMARKS.md
      --rules N              generated rules (default 1000000)
      --hey-requests N       hey requests per server (default 50000)
      --wrk-seconds S        wrk seconds per server (default 20)
      --rounds R             split over R rounds, servers interleaved (default 3)
  cold-start               time to first response: compiled at start, cached, precompiled .cwasm;
                           writes BENCHMARKS.md
      --rules N              generated rules (default 1000000)
      --runs N               runs per variant (default 5)
  bench-lookup             ns per lookup: Table::resolve natively and through the lookup component,
                           hits and misses, without and with a Host
      --rules N              generated rules per table (default 1000000)
      --requests N           requests per list (default 200000)
      --native               time Table::resolve only (no Wizer)
  sizes                    table bytes per rule for each generated rule shape and size, beside
                           xz -9 and zstd -19 of the same sorted rules; writes BENCHMARKS.md
      --rules N,...          rule counts (default 1000000,5000000)
      --shapes S,...         shapes (default all: mixed,reorg,numeric,query,hosts,slugs)
      --seed S               seed (default 2026)
      --artifact             also build the composed artifact (size, initial memory)
      --compress-up-to N     run xz and zstd only on rule sets of at most N rules (they
                             take minutes per shape at 5M)
  gen-rules N              write N generated rules (deterministic)
      -o FILE                output file (default stdout)
      --seed S               seed (default 2026)
      --shape S              mixed (default: examples/rules.txt's), reorg, numeric, query,
                             hosts or slugs (`./x sizes` describes them in BENCHMARKS.md)
";

fn main() {
    if let Err(e) = run() {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}

fn run() -> Result<()> {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    if args.is_empty() {
        print!("{HELP}");
        return Ok(());
    }
    let command = args.remove(0);
    match command.as_str() {
        "setup" => {
            Tools::ensure()?;
            eprintln!(
                "setup: all tools present in {}",
                tools::tools_dir().display()
            );
            Ok(())
        }
        "build" | "serve" | "check" | "check-urls" if !args.iter().any(|a| a == "--router") => {
            Err(product(&command, args))
        }
        "build" => {
            let opts = build_options(&mut args)?;
            no_more(&args)?;
            build(&Tools::ensure()?, &opts).map(|_| ())
        }
        "serve" => {
            let addr = take_flag(&mut args, "--addr")?.unwrap_or_else(|| "127.0.0.1:3000".into());
            let opts = build_options(&mut args)?;
            no_more(&args)?;
            let tools = Tools::ensure()?;
            build(&tools, &opts)?;
            eprintln!(
                "serving {} on http://{addr}/ with wasmtime serve (Ctrl-C stops)",
                opts.out.display()
            );
            let err = exec(
                Command::new(&tools.wasmtime)
                    .args(xtask::serve_args(&addr))
                    .args(xtask::EMBEDDED_SERVE_OPTIONS)
                    .args(opts.router.serve_options())
                    .arg(&opts.out),
            );
            Err(err)
        }
        "check" | "check-urls" => bail!("`{command}` takes no --router"),
        "test" => {
            no_more(&args)?;
            test()
        }
        "check-urls-node" => {
            let fail = take_switch(&mut args, "--fail-on-404");
            let input = if args.is_empty() {
                "-".to_string()
            } else {
                args.remove(0)
            };
            no_more(&args)?;
            let lookup = xtask::workspace_root().join("composed/lookup.wasm");
            if !lookup.exists() {
                bail!("{} does not exist: run `./x build` first", lookup.display());
            }
            let module =
                xtask::host::transpile(&lookup, &xtask::target_dir().join("redirects/jco"))?;
            let status = xtask::host::check_urls_command(&module, &input, fail).status()?;
            std::process::exit(status.code().unwrap_or(1));
        }
        "fuzz" => {
            let seconds = take_number(&mut args, "--seconds", 60)?;
            let only = take_flag(&mut args, "--target")?;
            no_more(&args)?;
            for (target, execs) in xtask::fuzz::fuzz(seconds, only.as_deref())? {
                println!("{target:<16} {execs:>12} executions in {seconds} s, no crash");
            }
            Ok(())
        }
        "bench" => {
            let opts = xtask::bench::BenchOptions {
                rules: take_number(&mut args, "--rules", 1_000_000)?,
                hey_requests: take_number(&mut args, "--hey-requests", 50_000)?,
                wrk_seconds: take_number(&mut args, "--wrk-seconds", 20)?,
                rounds: take_number(&mut args, "--rounds", 3)?,
            };
            no_more(&args)?;
            let section = xtask::bench::bench(&Tools::ensure()?, &opts)?;
            xtask::write_benchmarks_section(&section)?;
            print!("{section}");
            Ok(())
        }
        "cold-start" => {
            let rules = take_number(&mut args, "--rules", 1_000_000)?;
            let runs = take_number(&mut args, "--runs", 5)?;
            no_more(&args)?;
            let section = xtask::coldstart::cold_start(&Tools::ensure()?, rules, runs)?;
            xtask::write_benchmarks_section(&section)?;
            print!("{section}");
            Ok(())
        }
        "soak" => {
            let opts = xtask::soak::SoakOptions {
                rules: take_number(&mut args, "--rules", 100_000)?,
                requests: take_number(&mut args, "--requests", 1_000_000)?,
                connections: 200,
                round: take_number(&mut args, "--round", 30)?,
                engine: take_flag(&mut args, "--engine")?.unwrap_or_else(|| "native".into()),
                per_request: take_switch(&mut args, "--per-request"),
            };
            no_more(&args)?;
            let section = xtask::soak::soak(&Tools::ensure()?, &opts)?;
            xtask::write_benchmarks_section(&section)?;
            print!("{section}");
            Ok(())
        }
        "bench-lookup" => {
            let defaults = xtask::lookupbench::LookupBenchOptions::default();
            let opts = xtask::lookupbench::LookupBenchOptions {
                rules: take_number(&mut args, "--rules", defaults.rules)?,
                requests: take_number(&mut args, "--requests", defaults.requests)?,
                component: !take_switch(&mut args, "--native"),
            };
            no_more(&args)?;
            let figures = xtask::lookupbench::measure(&opts, &|m| eprintln!("bench-lookup: {m}"))?;
            print!("{}", figures.render());
            println!("\n{}", figures.line());
            Ok(())
        }
        "sizes" => {
            let mut opts = xtask::sizes::SizesOptions::default();
            if let Some(list) = take_flag(&mut args, "--rules")? {
                opts.rules = xtask::sizes::parse_counts(&list)?;
            }
            if let Some(list) = take_flag(&mut args, "--shapes")? {
                opts.shapes = xtask::sizes::parse_shapes(&list)?;
            }
            opts.seed = take_number(&mut args, "--seed", opts.seed)?;
            opts.artifact = take_switch(&mut args, "--artifact");
            if let Some(n) = take_flag(&mut args, "--compress-up-to")? {
                opts.compress_up_to = Some(n.parse().context("--compress-up-to takes a number")?);
            }
            no_more(&args)?;
            let section = xtask::sizes::sizes(&opts)?;
            xtask::write_benchmarks_section(&section)?;
            print!("{section}");
            Ok(())
        }
        "gen-rules" => {
            let out = take_flag(&mut args, "-o")?;
            let seed = take_number(&mut args, "--seed", xtask::gen::DEFAULT_SEED)?;
            let shape = match take_flag(&mut args, "--shape")? {
                Some(name) => xtask::gen::Shape::from_name(&name)
                    .with_context(|| format!("unknown shape `{name}` (see `./x help`)"))?,
                None => xtask::gen::Shape::Mixed,
            };
            let [n] = args.as_slice() else {
                bail!("usage: gen-rules N [-o FILE] [--seed S] [--shape S]")
            };
            let n: usize = n.parse().context("N must be a number")?;
            let mut buf = Vec::new();
            xtask::gen::generate_shape(shape, n, seed, &mut buf)?;
            match out {
                Some(path) => redirects_compiler::write_atomic(path.as_ref(), &buf)
                    .with_context(|| format!("writing {path}"))?,
                None => std::io::Write::write_all(&mut std::io::stdout(), &buf)?,
            }
            Ok(())
        }
        "help" | "-h" | "--help" => {
            print!("{HELP}");
            Ok(())
        }
        other => bail!("unknown command `{other}`\n{HELP}"),
    }
}

/// `./x build|serve|check|check-urls` without `--router`: builds the
/// `redirects` binary (cargo skips it when nothing changed) and runs it
/// with this checkout's defaults: the rules `$REDIRECTS_RULES` or
/// `examples/rules.txt`, the artifact `composed/redirects.wasm` (the file
/// `spin.toml` serves).
fn product(command: &str, mut args: Vec<String>) -> anyhow::Error {
    if let Err(e) =
        tools::run(xtask::cargo().args(["build", "--quiet", "--release", "-p", "redirects-cli"]))
    {
        return e;
    }
    let bin = match xtask::server::redirects_binary() {
        Ok(bin) => bin,
        Err(e) => return e,
    };
    let root = xtask::workspace_root();
    let composed = root.join("composed/redirects.wasm");
    if command == "check-urls" {
        if !args.iter().any(|a| a == "--app") {
            args.push("--app".into());
            args.push(composed.to_string_lossy().into_owned());
        }
    } else {
        if args.first().is_none_or(|a| a.starts_with('-')) {
            let rules = std::env::var_os("REDIRECTS_RULES")
                .map_or_else(xtask::example_rules, PathBuf::from);
            args.insert(0, rules.to_string_lossy().into_owned());
        }
        if command == "build" && !args.iter().any(|a| a == "-o" || a == "--out") {
            args.push("-o".into());
            args.push(composed.to_string_lossy().into_owned());
        }
    }
    exec(Command::new(bin).arg(command).args(args))
}

fn build_options(args: &mut Vec<String>) -> Result<BuildOptions> {
    let out = take_flag(args, "--out")?;
    let status = take_flag(args, "--default-status")?;
    let format = take_flag(args, "--format")?;
    let preserve_query = take_switch(args, "--preserve-query");
    let case_insensitive = take_switch(args, "--case-insensitive");
    let strict_trailing_slash = take_switch(args, "--strict-trailing-slash");
    let no_budget_check = take_switch(args, "--no-budget-check");
    let report = take_flag(args, "--report")?;
    let router = take_flag(args, "--router")?;
    let rules = match args.first() {
        Some(a) if !a.starts_with('-') => PathBuf::from(args.remove(0)),
        _ => std::env::var_os("REDIRECTS_RULES").map_or_else(xtask::example_rules, PathBuf::from),
    };
    let mut opts = BuildOptions::new(rules);
    if let Some(r) = router {
        opts.router = pipeline::Router::parse(&r)?;
    }
    // A variant router never replaces the default artifact (the file
    // spin.toml and the Deploy section ship): it goes under target/.
    opts.out = out.map_or_else(|| opts.router.default_output(), PathBuf::from);
    opts.work_dir = opts.out.with_extension("work");
    opts.budget_check = !no_budget_check;
    opts.compile.report = report.map(PathBuf::from);
    opts.compile.default_flags.preserve_query = preserve_query;
    opts.compile.table.case_insensitive = case_insensitive;
    opts.compile.table.strict_trailing_slash = strict_trailing_slash;
    if let Some(f) = format {
        opts.compile.format = Some(
            redirects_compiler::Format::from_name(&f)
                .context("--format takes text, csv or netlify")?,
        );
    }
    if let Some(s) = status {
        opts.compile.default_status = s
            .parse()
            .ok()
            .and_then(Status::from_code)
            .context("--default-status takes 301, 302, 303, 307 or 308")?;
    }
    Ok(opts)
}

fn build(tools: &Tools, opts: &BuildOptions) -> Result<()> {
    let report = pipeline::build(tools, opts)?;
    eprint!(
        "{}",
        report
            .summary
            .render_warnings(redirects_compiler::SHOWN_PER_KIND)
    );
    let size = |p: &PathBuf| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
    eprintln!(
        "built {} ({} bytes) from {}: {} rules, {} distinct targets",
        report.composed.display(),
        size(&report.composed),
        opts.rules.display(),
        report.summary.rules,
        report.summary.targets,
    );
    eprintln!(
        "  table {} bytes, lookup component {} bytes, initial memory {} bytes (budget: 50 MiB app, 128 MiB memory)",
        report.summary.bytes,
        size(&report.lookup),
        report.usage.memory_bytes
    );
    for (name, took) in &report.steps {
        eprintln!("  {:<34} {:>8.2?}", name, took);
    }
    eprintln!("  {:<34} {:>8.2?}", "total", report.total());
    Ok(())
}

fn test() -> Result<()> {
    Tools::ensure()?;
    let cargo = |args: &[&str]| tools::run(xtask::cargo().args(args));
    cargo(&["fmt", "--all", "--check"])?;
    cargo(&["clippy", "--quiet", "--all-targets", "--", "-D", "warnings"])?;
    // The wasm crates; the WASI 0.3 router in its own target directory,
    // as the pipeline builds it.
    let wasm_clippy = |crates: &[&str]| {
        let mut args = vec![
            "clippy",
            "--quiet",
            "--profile",
            "wasm",
            "--target",
            "wasm32-wasip1",
        ];
        args.extend(crates);
        args.extend(["--", "-D", "warnings"]);
        cargo(&args)
    };
    wasm_clippy(&[
        "-p",
        "redirects-lookup",
        "-p",
        "redirects-router",
        "-p",
        "redirects-hello",
        "-p",
        "redirects-router-wasi-p3",
    ])?;
    let fused_dir = xtask::target_dir()
        .join("fused")
        .to_string_lossy()
        .into_owned();
    wasm_clippy(&[
        "-p",
        "redirects-router",
        "--features",
        "fused",
        "--target-dir",
        &fused_dir,
    ])?;
    // The e2e tests run the product binary as users do.
    cargo(&["build", "--quiet", "--release", "-p", "redirects-cli"])?;
    // Forward cargo's output and close with one total line for CI.
    let mut child = xtask::cargo()
        .args(["test", "--release", "--features", "xtask/e2e"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .context("starting cargo test")?;
    let (mut passed, mut failed) = (0u64, 0u64);
    let stdout = child.stdout.take().context("cargo test stdout")?;
    for line in std::io::BufRead::lines(std::io::BufReader::new(stdout)) {
        let line = line?;
        println!("{line}");
        if let Some(rest) = line.strip_prefix("test result: ") {
            let count = |word: &str| {
                rest.split(';')
                    .find_map(|part| {
                        part.trim()
                            .strip_suffix(word)?
                            .trim()
                            .rsplit(' ')
                            .next()?
                            .parse::<u64>()
                            .ok()
                    })
                    .unwrap_or(0)
            };
            passed += count("passed");
            failed += count("failed");
        }
    }
    let status = child.wait()?;
    println!("tests: {passed} passed, {failed} failed");
    if !status.success() {
        bail!("cargo test failed ({status})");
    }
    Ok(())
}

fn take_flag(args: &mut Vec<String>, flag: &str) -> Result<Option<String>> {
    let Some(i) = args.iter().position(|a| a == flag) else {
        return Ok(None);
    };
    if i + 1 >= args.len() {
        bail!("{flag} needs a value");
    }
    let value = args.remove(i + 1);
    args.remove(i);
    Ok(Some(value))
}

/// Removes `flag NUMBER`, or gives `default` when the flag is absent.
fn take_number<T: std::str::FromStr>(args: &mut Vec<String>, flag: &str, default: T) -> Result<T> {
    match take_flag(args, flag)? {
        Some(s) => s
            .parse()
            .ok()
            .with_context(|| format!("{flag} takes a number, not `{s}`")),
        None => Ok(default),
    }
}

/// Removes a flag without a value; whether it was there.
fn take_switch(args: &mut Vec<String>, name: &str) -> bool {
    match args.iter().position(|a| a == name) {
        Some(i) => {
            args.remove(i);
            true
        }
        None => false,
    }
}

fn no_more(args: &[String]) -> Result<()> {
    match args.first() {
        Some(a) => bail!("unexpected argument `{a}` (see `./x help`)"),
        None => Ok(()),
    }
}

#[cfg(unix)]
fn exec(cmd: &mut Command) -> anyhow::Error {
    use std::os::unix::process::CommandExt;
    anyhow::Error::new(cmd.exec()).context(format!("cannot start {:?}", cmd.get_program()))
}
