//! `redirects check RULES`: errors, warnings (at most 20 lines of each
//! kind on screen, all of them with `--report FILE`) and a summary; the
//! table the rules make is then loaded as the lookup loads it, so that a
//! file `check` passes is one `build` can snapshot.

use super::RuleOptions;
use anyhow::{Context, Result};
use clap::Args;
use redirects_compiler::SHOWN_PER_KIND;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Args, Debug)]
pub struct CheckArgs {
    /// The rules file.
    rules: PathBuf,
    #[command(flatten)]
    rule_options: RuleOptions,
}

pub fn run(args: CheckArgs) -> Result<ExitCode> {
    let opts = args.rule_options.options();
    let text =
        std::fs::read(&args.rules).with_context(|| format!("reading {}", args.rules.display()))?;
    let report = redirects_compiler::check(&args.rules, &text, &opts);
    print!("{}", report.render(SHOWN_PER_KIND));
    if let Some(path) = &opts.report {
        report
            .write_full(path)
            .with_context(|| format!("writing {}", path.display()))?;
        println!("every finding is in {}", path.display());
    } else if report.is_capped(SHOWN_PER_KIND) {
        println!("(--report FILE writes every finding)");
    }
    println!("{}", report.summary());
    if !report.errors.is_empty() {
        return Ok(ExitCode::from(1));
    }
    // What `build` will load, checked as the lookup checks it.
    if let Err(e) = redirects_compiler::verify_table(&report, &opts) {
        eprintln!(
            "error: the table built from {} does not load ({e}); this is a bug in redirects, not in the rules",
            args.rules.display()
        );
        return Ok(ExitCode::from(2));
    }
    Ok(ExitCode::SUCCESS)
}
