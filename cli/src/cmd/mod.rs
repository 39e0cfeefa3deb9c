//! The subcommands, one file each, and the options they share.

mod build;
mod check;
mod check_urls;
mod precompile;
mod serve;

use clap::{Args, Parser, Subcommand, ValueEnum};
use redirects_compiler::{Format, Options};
use redirects_format::Status;
use std::process::ExitCode;

/// Millions of HTTP redirects from one small WebAssembly component.
#[derive(Parser, Debug)]
#[command(name = "redirects", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Report errors, warnings and a summary of a rules file; build nothing.
    Check(check::CheckArgs),
    /// Build a rules file into a composed component (Spin 4, Akamai
    /// Functions, `wasmtime serve`), with no other tool.
    Build(build::BuildArgs),
    /// Serve rules (built on the fly) or a built component over HTTP.
    Serve(serve::ServeArgs),
    /// Answer a list of URLs with a built component (one per line, from a
    /// file or stdin): status, Location and URL.
    CheckUrls(check_urls::CheckUrlsArgs),
    /// Compile a built component's lookup to machine code for a fast start
    /// of `serve --engine native` (tied to this binary and CPU kind).
    Precompile(precompile::PrecompileArgs),
}

impl Cli {
    /// Runs the subcommand. Exit codes: 0 success, 1 the input has errors
    /// (or, with `check-urls --fail-on-404`, a URL has no rule), 2 anything
    /// else (unreadable files, bad arguments, a failed build step).
    pub fn run(self) -> ExitCode {
        let result = match self.command {
            Command::Check(args) => check::run(args),
            Command::Build(args) => build::run(args),
            Command::Serve(args) => serve::run(args),
            Command::CheckUrls(args) => check_urls::run(args),
            Command::Precompile(args) => precompile::run(args),
        };
        match result {
            Ok(code) => code,
            Err(e) => {
                eprintln!("error: {e:#}");
                ExitCode::from(2)
            }
        }
    }
}

/// The input formats, for clap.
#[derive(ValueEnum, Clone, Copy, Debug)]
enum FormatArg {
    Text,
    Csv,
    Netlify,
}

/// How the rules are read and matched (the rules compiler's options).
#[derive(Args, Debug, Clone)]
struct RuleOptions {
    /// Input format [default: from the file name: *.csv is CSV, _redirects
    /// or *.redirects is Netlify, anything else text]
    #[arg(long, value_enum)]
    format: Option<FormatArg>,
    /// Status of rules that name none: 301, 302, 303, 307 or 308.
    #[arg(long, default_value_t = 301, value_parser = parse_status)]
    default_status: u16,
    /// Every rule carries the request's query string over onto its target.
    #[arg(long)]
    preserve_query: bool,
    /// Paths match regardless of case (hosts always do).
    #[arg(long)]
    case_insensitive: bool,
    /// `/a` and `/a/` are different paths.
    #[arg(long)]
    strict_trailing_slash: bool,
    /// Write every error and warning, with file:line, to this file (the
    /// screen shows at most 20 of each kind, then a count).
    #[arg(long, value_name = "FILE")]
    report: Option<std::path::PathBuf>,
}

fn parse_status(s: &str) -> Result<u16, String> {
    s.parse()
        .ok()
        .filter(|&c| Status::from_code(c).is_some())
        .ok_or_else(|| format!("`{s}` is not 301, 302, 303, 307 or 308"))
}

impl RuleOptions {
    fn options(&self) -> Options {
        let defaults = Options::default();
        let mut flags = defaults.default_flags;
        flags.preserve_query = self.preserve_query;
        let mut table = defaults.table;
        table.case_insensitive = self.case_insensitive;
        table.strict_trailing_slash = self.strict_trailing_slash;
        Options {
            format: self.format.map(|f| match f {
                FormatArg::Text => Format::Text,
                FormatArg::Csv => Format::Csv,
                FormatArg::Netlify => Format::Netlify,
            }),
            default_status: Status::from_code(self.default_status).expect("checked by clap"),
            default_flags: flags,
            table,
            report: self.report.clone(),
        }
    }
}
