//! `redirects-compile`: compile a rules file into a table file.

use redirects_compiler::{compile, CompileError, Options};
use redirects_format::Status;
use std::path::PathBuf;
use std::process::ExitCode;

const USAGE: &str =
    "usage: redirects-compile RULES -o OUTPUT [--default-status 301|302|303|307|308]";

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let mut input = None;
    let mut output = None;
    let mut opts = Options::default();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "-o" | "--output" => output = args.next().map(PathBuf::from),
            "--default-status" => {
                match args
                    .next()
                    .and_then(|s| s.parse().ok())
                    .and_then(Status::from_code)
                {
                    Some(s) => opts.default_status = s,
                    None => return usage("--default-status takes 301, 302, 303, 307 or 308"),
                }
            }
            "-h" | "--help" => {
                println!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            _ if input.is_none() && !arg.starts_with('-') => input = Some(PathBuf::from(arg)),
            _ => return usage(&format!("unexpected argument `{arg}`")),
        }
    }
    let (Some(input), Some(output)) = (input, output) else {
        return usage("RULES and -o OUTPUT are required");
    };
    match compile(&input, &output, opts) {
        Ok(s) => {
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
