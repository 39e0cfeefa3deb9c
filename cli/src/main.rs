//! `redirects`: check rules, build the composed component, serve it, check URLs.
//! One file per subcommand under `cmd/`.

mod cmd;

use clap::Parser;

fn main() -> std::process::ExitCode {
    cmd::Cli::parse().run()
}
