//! `redirects-compile`: compile a rules file into a table file, or check it.

use redirects_compiler::{check, compile, CompileError, Format, Options, SHOWN_PER_KIND};
use redirects_format::Status;
use std::path::PathBuf;
use std::process::ExitCode;

const USAGE: &str = "\
usage: redirects-compile RULES -o OUTPUT [options]   build the table file
       redirects-compile check RULES [options]       report errors and warnings, build nothing
options:
  --format text|csv|netlify   input format (default: from the file name: *.csv, _redirects, else text)
  --default-status N          301, 302, 303, 307 or 308 for rules that name none (default 301)
  --preserve-query            every rule carries the request's query over onto its target
  --case-insensitive          match paths regardless of case
  --strict-trailing-slash     /a and /a/ are different paths
  --report FILE               write every error and warning to FILE, one a line with file:line
                              (the screen shows at most 20 of each kind, then a count by kind)";

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1).peekable();
    let check_only = args.peek().is_some_and(|a| a == "check");
    if check_only {
        args.next();
    }
    let mut input = None;
    let mut output = None;
    let mut opts = Options::default();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "-o" | "--output" => output = args.next().map(PathBuf::from),
            "--report" => match args.next() {
                Some(path) => opts.report = Some(PathBuf::from(path)),
                None => return usage("--report takes a file name"),
            },
            "--default-status" => match args
                .next()
                .and_then(|s| s.parse().ok())
                .and_then(Status::from_code)
            {
                Some(s) => opts.default_status = s,
                None => return usage("--default-status takes 301, 302, 303, 307 or 308"),
            },
            "--format" => match args.next().as_deref().and_then(Format::from_name) {
                Some(f) => opts.format = Some(f),
                None => return usage("--format takes text, csv or netlify"),
            },
            "--preserve-query" => opts.default_flags.preserve_query = true,
            "--case-insensitive" => opts.table.case_insensitive = true,
            "--strict-trailing-slash" => opts.table.strict_trailing_slash = true,
            "-h" | "--help" => {
                println!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            _ if input.is_none() && !arg.starts_with('-') => input = Some(PathBuf::from(arg)),
            _ => return usage(&format!("unexpected argument `{arg}`")),
        }
    }
    let Some(input) = input else {
        return usage("RULES is required");
    };
    if check_only {
        let text = match std::fs::read(&input) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("error: {}: {e}", input.display());
                return ExitCode::from(2);
            }
        };
        let report = check(&input, &text, &opts);
        print!("{}", report.render(SHOWN_PER_KIND));
        if let Some(path) = &opts.report {
            if let Err(e) = report.write_full(path) {
                eprintln!("error: {}: {e}", path.display());
                return ExitCode::from(2);
            }
            println!("every finding is in {}", path.display());
        } else if report.is_capped(SHOWN_PER_KIND) {
            println!("(--report FILE writes every finding)");
        }
        println!("{}", report.summary());
        return if report.errors.is_empty() {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(1)
        };
    }
    let Some(output) = output else {
        return usage("-o OUTPUT is required");
    };
    match compile(&input, &output, &opts) {
        Ok(s) => {
            eprint!("{}", s.render_warnings(SHOWN_PER_KIND));
            if let Some(path) = &opts.report {
                eprintln!("every finding is in {}", path.display());
            }
            eprintln!(
                "compiled {} rules ({} distinct targets) into {} ({} bytes)",
                s.rules,
                s.targets,
                output.display(),
                s.bytes
            );
            ExitCode::SUCCESS
        }
        Err(e @ CompileError::Rules(_)) => {
            eprintln!("{e}");
            if let Some(path) = &opts.report {
                eprintln!("every finding is in {}", path.display());
            }
            ExitCode::from(1)
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

fn usage(msg: &str) -> ExitCode {
    eprintln!("error: {msg}\n{USAGE}");
    ExitCode::from(2)
}
