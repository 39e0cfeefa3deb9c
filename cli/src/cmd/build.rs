//! `redirects build RULES [-o FILE]`: the composed component, in process.

use super::RuleOptions;
use anyhow::Result;
use clap::Args;
use redirects::artifact::{self, BuildOptions};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Args, Debug)]
pub struct BuildArgs {
    /// The rules file.
    rules: PathBuf,
    /// The component to write (`lookup.wasm` and `router.wasm` are written
    /// beside it).
    #[arg(short, long, default_value = "redirects.wasm")]
    out: PathBuf,
    /// Allow more than Akamai Functions' 50 MiB per app and 128 MiB of memory.
    #[arg(long)]
    no_budget_check: bool,
    /// Print how long each step took.
    #[arg(long)]
    timings: bool,
    #[command(flatten)]
    rule_options: RuleOptions,
}

pub fn run(args: BuildArgs) -> Result<ExitCode> {
    let mut opts = BuildOptions::new(args.rules.clone(), args.out.clone());
    opts.compile = args.rule_options.options();
    opts.budget_check = !args.no_budget_check;
    let progress = super::serve::Progress::for_rules(&args.rules);
    let report = match artifact::build(&opts, &|step| progress.step(step)) {
        Ok(report) => report,
        Err(e) => {
            progress.finish();
            let code = super::serve::report_build_error(&e);
            if let Some(path) = &opts.compile.report {
                eprintln!("every finding is in {}", path.display());
            }
            return Ok(code);
        }
    };
    progress.finish();
    eprint!(
        "{}",
        report
            .summary
            .render_warnings(redirects_compiler::SHOWN_PER_KIND)
    );
    if let Some(path) = &opts.compile.report {
        eprintln!("every finding is in {}", path.display());
    }
    let s = &report.summary;
    eprintln!(
        "built {} rules ({} distinct targets) into {}: {:.1} MiB, {:.1} B/rule (table {} bytes), initial memory {:.1} MiB, {:.2} s",
        s.rules,
        s.targets,
        report.composed.display(),
        report.usage.app_bytes as f64 / 1048576.0,
        report.usage.app_bytes as f64 / s.rules.max(1) as f64,
        s.bytes,
        report.usage.memory_bytes as f64 / 1048576.0,
        report.total().as_secs_f64()
    );
    if args.timings {
        for (step, took) in &report.steps {
            eprintln!("  {step:<28} {:>7.2} s", took.as_secs_f64());
            if *step == artifact::COMPILE_STEP {
                for (step, took) in &s.timings {
                    eprintln!("    {step:<26} {:>7.2} s", took.as_secs_f64());
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
