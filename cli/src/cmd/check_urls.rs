//! `redirects check-urls [FILE] [--app A]`: answers a list of URLs with the
//! lookup component inside a built artifact, in the embedded wasmtime.
//!
//! Each input line is a URL (`https://host/path?query`) or a path
//! (`/path?query`); blank lines and `#` comments are skipped. Each output
//! line is `status<TAB>location<TAB>input` (`404<TAB>-` where no rule
//! matches); a summary goes to stderr.

use anyhow::{Context, Result};
use clap::Args;
use redirects::lookup::{self, LookupPre};
use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Args, Debug)]
pub struct CheckUrlsArgs {
    /// The URLs, one a line [default: stdin; `-` is stdin too].
    file: Option<PathBuf>,
    /// The artifact to ask: a composed component or `lookup.wasm`.
    #[arg(long, default_value = "redirects.wasm")]
    app: PathBuf,
    /// Exit 1 if any URL has no rule.
    #[arg(long)]
    fail_on_404: bool,
}

pub fn run(args: CheckUrlsArgs) -> Result<ExitCode> {
    let bytes =
        std::fs::read(&args.app).with_context(|| format!("reading {}", args.app.display()))?;
    let component = redirects::serve::find_lookup(&bytes)
        .with_context(|| format!("{}: not a redirects component", args.app.display()))?;
    let engine = lookup::engine()?;
    let mut lookup = LookupPre::new(&engine, &component)?.instantiate()?;
    let input_name = match &args.file {
        Some(path) if path.as_os_str() != "-" => path.display().to_string(),
        _ => "<stdin>".to_string(),
    };
    let input: Box<dyn BufRead> = match &args.file {
        Some(path) if path.as_os_str() != "-" => Box::new(std::io::BufReader::new(
            std::fs::File::open(path).with_context(|| format!("reading {}", path.display()))?,
        )),
        _ => Box::new(std::io::stdin().lock()),
    };
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let (mut total, mut missing) = (0usize, 0usize);
    for (number, line) in input.split(b'\n').enumerate() {
        let raw = line.context("reading the URLs")?;
        let Ok(text) = std::str::from_utf8(&raw) else {
            anyhow::bail!("{input_name}:{}: not UTF-8", number + 1);
        };
        let text = text.trim();
        if text.is_empty() || text.starts_with('#') {
            continue;
        }
        total += 1;
        let Some(url) = redirects_format::url::Url::parse(text) else {
            anyhow::bail!(
                "{}:{}: `{text}` is neither an http(s) URL nor a path starting with `/`",
                input_name,
                number + 1
            );
        };
        let target = &text[url.path_start()..];
        let target = target.split_once('#').map_or(target, |(t, _)| t);
        let target = if target.is_empty() { "/" } else { target };
        let mut trapped = None;
        let answer = redirects_format::route::route(url.authority, target, |req| {
            match lookup.lookup(req.into()) {
                Ok(found) => found.and_then(|r| r.into_format()),
                Err(e) => {
                    trapped = Some(e);
                    None
                }
            }
        });
        if let Some(e) = trapped {
            return Err(e.context(format!("{input_name}:{}: the lookup trapped", number + 1)));
        }
        match answer.location {
            Some(location) => writeln!(out, "{}\t{location}\t{text}", answer.status)?,
            None => {
                missing += 1;
                writeln!(out, "404\t-\t{text}")?;
            }
        }
    }
    out.flush()?;
    eprintln!(
        "{total} URLs: {} redirect, {missing} have no rule (404)",
        total - missing
    );
    Ok(if args.fail_on_404 && missing > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
