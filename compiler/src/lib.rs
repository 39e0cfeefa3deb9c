//! The rules compiler: rules in one of three formats in, a
//! [`redirects_format`] table out.
//!
//! - **text** (default): `source target [status] [option ...]`, the format
//!   of Fermyon's large-scale-redirects sample, extended (see `README.md`);
//! - **csv**: Cloudflare Bulk Redirects' columns (see [`csv`]);
//! - **netlify**: `_redirects` without conditions (see [`netlify`]).
//!
//! [`check`] parses and lints without building; [`compile`] writes the
//! table atomically, and only when there is no error. Every error names
//! the file and line; all are reported at once.

#![deny(missing_docs)]

pub mod csv;
mod error;
mod lint;
pub mod netlify;
mod rule;
mod text;
mod write;

pub use error::{ErrorKind, RuleError, RuleWarning, WarningKind, MAX_URL_LEN};
pub use rule::{strip_scheme, Rule};
pub use write::write_atomic;

use redirects_format::{Flags, Status, TableBuilder, TableOptions};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The input formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `source target [status] [option ...]`.
    Text,
    /// Cloudflare Bulk Redirects CSV.
    Csv,
    /// Netlify `_redirects`.
    Netlify,
}

impl Format {
    /// The format for a file name: `*.csv` is CSV, `_redirects` (or
    /// `*.redirects`) is Netlify, anything else text.
    pub fn for_path(path: &Path) -> Format {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().to_ascii_lowercase())
            .unwrap_or_default();
        if name.ends_with(".csv") {
            Format::Csv
        } else if name == "_redirects" || name.ends_with(".redirects") {
            Format::Netlify
        } else {
            Format::Text
        }
    }

    /// Parses `text`, `csv` or `netlify`.
    pub fn from_name(name: &str) -> Option<Format> {
        match name {
            "text" => Some(Format::Text),
            "csv" => Some(Format::Csv),
            "netlify" => Some(Format::Netlify),
            _ => None,
        }
    }
}

/// Compiler options.
#[derive(Debug, Clone)]
pub struct Options {
    /// The status of rules that name none.
    pub default_status: Status,
    /// Flags every rule starts with (`--preserve-query`).
    pub default_flags: Flags,
    /// Table-wide matching options (case, trailing slash).
    pub table: TableOptions,
    /// The input format; `None` picks it from the file name.
    pub format: Option<Format>,
    /// Where [`compile`] (and `redirects-compile check`) write every error
    /// and warning, one a line with file and line (`--report FILE`); the
    /// screen shows at most [`SHOWN_PER_KIND`] of each kind.
    pub report: Option<PathBuf>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            default_status: Status::DEFAULT,
            default_flags: Flags::default(),
            table: TableOptions::default(),
            format: None,
            report: None,
        }
    }
}

/// At most this many errors, and this many warnings, of each kind are
/// shown on screen; the rest are counted ([`Report::render`]).
pub const SHOWN_PER_KIND: usize = 20;

/// The result of checking a rules file.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// The rules that will be built (chains already collapsed).
    pub rules: Vec<Rule>,
    /// Errors: the rules do not build while there is one.
    pub errors: Vec<RuleError>,
    /// Warnings.
    pub warnings: Vec<RuleWarning>,
    /// How long each part of the check took (parsing, then the parts of
    /// the lint), for `--timings`.
    pub timings: Vec<(&'static str, std::time::Duration)>,
    /// The table the checks built from exactly these rules (so
    /// [`build_table`] need not build it again).
    built: Option<Built>,
}

/// Table bytes kept beside a report (shown by length).
#[derive(Clone)]
struct Built(Arc<Vec<u8>>);

impl std::fmt::Debug for Built {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Built({} bytes)", self.0.len())
    }
}

impl Report {
    /// The errors, then the warnings, for a screen: at most `per_kind`
    /// lines of each kind ([`ErrorKind::name`], [`WarningKind::name`]),
    /// then a count of those left out, by kind. Every line ends in `\n`.
    pub fn render(&self, per_kind: usize) -> String {
        render(&self.errors, &self.warnings, per_kind)
    }

    /// Every error, then every warning, one a line with file and line:
    /// what `--report FILE` holds.
    pub fn render_all(&self) -> String {
        let mut out = String::new();
        for line in self.errors.iter().map(ToString::to_string) {
            out.push_str(&line);
            out.push('\n');
        }
        for line in self.warnings.iter().map(ToString::to_string) {
            out.push_str(&line);
            out.push('\n');
        }
        out
    }

    /// Whether [`Report::render`] with `per_kind` leaves anything out.
    pub fn is_capped(&self, per_kind: usize) -> bool {
        let mut counts: std::collections::HashMap<(bool, &str), usize> = Default::default();
        let kinds = self.errors.iter().map(|e| (true, e.kind.name()));
        let mut kinds = kinds.chain(self.warnings.iter().map(|w| (false, w.kind.name())));
        kinds.any(|k| {
            let n = counts.entry(k).or_default();
            *n += 1;
            *n > per_kind
        })
    }

    /// Writes [`Report::render_all`] to `path` (atomically).
    pub fn write_full(&self, path: &Path) -> std::io::Result<()> {
        write_atomic(path, self.render_all().as_bytes())
    }

    /// A one-line summary of the rules and findings.
    pub fn summary(&self) -> String {
        let prefix = self.rules.iter().filter(|r| r.prefix).count();
        let hosts = self.rules.iter().filter(|r| r.host.is_some()).count();
        format!(
            "{} rules ({} exact, {} prefix, {} with a host): {} error(s), {} warning(s)",
            self.rules.len(),
            self.rules.len() - prefix,
            prefix,
            hosts,
            self.errors.len(),
            self.warnings.len()
        )
    }
}

/// See [`Report::render`].
fn render(errors: &[RuleError], warnings: &[RuleWarning], per_kind: usize) -> String {
    let mut out = String::new();
    let errors = errors.iter().map(|e| (e.kind.name(), e.to_string()));
    let warnings = warnings.iter().map(|w| (w.kind.name(), w.to_string()));
    let mut left_out = Vec::new();
    for (what, lines) in [
        ("error", errors.collect::<Vec<_>>()),
        ("warning", warnings.collect()),
    ] {
        let mut shown: Vec<(&str, usize)> = Vec::new();
        for (kind, line) in lines {
            let n = match shown.iter_mut().find(|s| s.0 == kind) {
                Some(s) => &mut s.1,
                None => {
                    shown.push((kind, 0));
                    &mut shown.last_mut().expect("just pushed").1
                }
            };
            *n += 1;
            if *n <= per_kind {
                out.push_str(&line);
                out.push('\n');
            }
        }
        for (kind, n) in shown {
            if n > per_kind {
                left_out.push(format!(
                    "... and {} more `{kind}` {what}s ({n} in all)",
                    n - per_kind
                ));
            }
        }
    }
    for line in &left_out {
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// What [`compile`] produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    /// Number of rules in the table.
    pub rules: usize,
    /// Number of distinct targets.
    pub targets: usize,
    /// Size of the table file in bytes.
    pub bytes: usize,
    /// The warnings found.
    pub warnings: Vec<RuleWarning>,
    /// How long each step of the compile took (parse, the lint's steps,
    /// write), in order, for `--timings`.
    pub timings: Vec<(&'static str, std::time::Duration)>,
}

impl Summary {
    /// The warnings for a screen, capped as [`Report::render`] caps them.
    pub fn render_warnings(&self, per_kind: usize) -> String {
        render(&[], &self.warnings, per_kind)
    }
}

/// Why [`compile`] failed.
#[derive(Debug)]
pub enum CompileError {
    /// The rules file could not be read, or the table could not be written.
    Io {
        /// The file concerned.
        path: PathBuf,
        /// What went wrong.
        error: std::io::Error,
    },
    /// The rules have errors; nothing was written.
    Rules(Report),
}

impl std::fmt::Display for CompileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CompileError::Io { path, error } => write!(f, "{}: {error}", path.display()),
            CompileError::Rules(report) => {
                write!(f, "{}", render(&report.errors, &[], SHOWN_PER_KIND))?;
                write!(f, "{} error(s); nothing was written", report.errors.len())
            }
        }
    }
}

impl std::error::Error for CompileError {}

/// Parses and lints rules text (`file` names it in messages).
pub fn check(file: &Path, text: &[u8], opts: &Options) -> Report {
    let format = opts.format.unwrap_or_else(|| Format::for_path(file));
    let mut report = Report::default();
    let mut errors = Vec::new();
    let mut warnings = Vec::new();
    let mut header = None;
    let progress = Progress::new();
    let started = std::time::Instant::now();
    if format == Format::Text && text.len() < PARALLEL_PARSE_BYTES {
        let (rules, errs) = parse_text(text, 1, opts, &progress);
        report.rules = rules;
        errors = errs;
    } else if format == Format::Text {
        // Text lines are independent: parse big files in two halves at
        // once (cut at a line start), then join them in line order.
        let cut = text[text.len() / 2..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(text.len(), |p| text.len() / 2 + p + 1);
        let (a, b) = text.split_at(cut);
        let second_line = 1 + a.iter().filter(|&&c| c == b'\n').count();
        let (first, second) = std::thread::scope(|s| {
            let second = s.spawn(|| parse_text(b, second_line, opts, &Progress(false)));
            (
                parse_text(a, 1, opts, &progress),
                second.join().expect("parser thread"),
            )
        });
        let ((mut rules, errs), (rest, rest_errs)) = (first, second);
        rules.reserve_exact(rest.len());
        rules.extend(rest);
        report.rules = rules;
        errors = errs;
        errors.extend(rest_errs);
    } else {
        for (line, trimmed) in rule_lines(text, 1, &progress) {
            let trimmed = match trimmed {
                Ok(t) => t,
                Err(e) => {
                    errors.push((line, e));
                    continue;
                }
            };
            let parsed = match format {
                Format::Text => unreachable!("text is parsed by parse_text"),
                Format::Netlify => {
                    netlify::parse_line(line, trimmed, opts, &mut |w| warnings.push((line, w)))
                }
                Format::Csv => match &header {
                    None => match csv::parse_header(trimmed) {
                        Ok(h) => {
                            header = Some(h);
                            continue;
                        }
                        Err(e) => {
                            errors.push((line, e));
                            break;
                        }
                    },
                    Some(h) => csv::parse_line(line, trimmed, h, opts),
                },
            };
            match parsed {
                Ok(rule) => report.rules.push(rule),
                Err(e) => errors.push((line, e)),
            }
        }
        progress.done();
    }
    report.timings.push(("parse", started.elapsed()));
    let mut findings = lint::Findings::default();
    report.built = lint::lint(
        &mut report.rules,
        opts.table,
        format == Format::Netlify,
        errors.is_empty(),
        &mut findings,
    )
    .map(|bytes| Built(Arc::new(bytes)));
    report.timings.extend(findings.timings);
    errors.extend(findings.errors);
    warnings.extend(findings.warnings);
    errors.sort_by_key(|e| e.0);
    warnings.sort_by_key(|w| w.0);
    let file = file.to_path_buf();
    report.errors = errors
        .into_iter()
        .map(|(line, kind)| RuleError {
            file: file.clone(),
            line,
            kind,
        })
        .collect();
    report.warnings = warnings
        .into_iter()
        .map(|(line, kind)| RuleWarning {
            file: file.clone(),
            line,
            kind,
        })
        .collect();
    report
}

/// Loads the table a report without errors builds the way the lookup
/// component's Wizer init loads it ([`redirects_format::Table::from_bytes`]:
/// every key, value and template decoded and checked), so that rules
/// `check` passes are rules `build` can snapshot. The lint reads its table
/// back without that check, for speed; an error here is a bug in this
/// project, not in the rules.
pub fn verify_table(report: &Report, opts: &Options) -> Result<(), redirects_format::FormatError> {
    redirects_format::Table::from_bytes(build_table(report, opts)).map(drop)
}

/// Builds the table bytes for a report without errors.
pub fn build_table(report: &Report, opts: &Options) -> Vec<u8> {
    match table_bytes(report, opts) {
        Ok(built) => built.to_vec(),
        Err(bytes) => bytes,
    }
}

/// The table bytes the checks built (`Ok`, when they still hold), or a
/// new build of the report's rules (`Err`).
fn table_bytes<'a>(report: &'a Report, opts: &Options) -> Result<&'a [u8], Vec<u8>> {
    if let Some(Built(bytes)) = &report.built {
        if report.errors.is_empty() {
            return Ok(bytes);
        }
    }
    let entries: Vec<_> = report
        .rules
        .iter()
        .map(|rule| (rule.key(), rule.target.as_str(), rule.status, rule.flags))
        .collect();
    Err(TableBuilder::build(opts.table, &entries).expect("lint removed duplicate keys"))
}

/// Compiles the rules file `input` into the table file `output`.
///
/// The output is written to a temporary file beside it and renamed into place
/// only when complete, so a failed compile never leaves a partial table.
pub fn compile(input: &Path, output: &Path, opts: &Options) -> Result<Summary, CompileError> {
    let text = std::fs::read(input).map_err(|error| CompileError::Io {
        path: input.to_path_buf(),
        error,
    })?;
    let mut report = check(input, &text, opts);
    if let Some(path) = &opts.report {
        report.write_full(path).map_err(|error| CompileError::Io {
            path: path.clone(),
            error,
        })?;
    }
    if !report.errors.is_empty() {
        return Err(CompileError::Rules(report));
    }
    let started = std::time::Instant::now();
    let built = table_bytes(&report, opts);
    let bytes: &[u8] = match &built {
        Ok(bytes) => bytes,
        Err(bytes) => bytes,
    };
    write_atomic(output, bytes).map_err(|error| CompileError::Io {
        path: output.to_path_buf(),
        error,
    })?;
    let table_len = bytes.len();
    drop(built);
    let targets = distinct(report.rules.iter().map(|r| r.target.as_str()));
    let mut timings = std::mem::take(&mut report.timings);
    timings.push(("write", started.elapsed()));
    // One key per rule: the lint removed duplicate keys.
    let summary = Summary {
        rules: report.rules.len(),
        targets,
        bytes: table_len,
        warnings: std::mem::take(&mut report.warnings),
        timings,
    };
    // A million rules are some five million allocations to free: a
    // thread of its own does it while the caller goes on.
    std::thread::spawn(move || drop(report));
    Ok(summary)
}

/// The number of distinct strings: sorted by hash first, so that most
/// comparisons are of two numbers (a hash set of a million targets takes
/// longer: a random access per target).
fn distinct<'a>(strings: impl Iterator<Item = &'a str>) -> usize {
    let mut hashed: Vec<(u64, &str)> = strings
        .map(|s| (redirects_format::fx::hash(s.as_bytes()), s))
        .collect();
    hashed.sort_unstable();
    hashed.dedup();
    hashed.len()
}

/// Text files this big are parsed by two threads.
const PARALLEL_PARSE_BYTES: usize = 4 << 20;

/// The lines of `chunk` that are not blank or comments, numbered from
/// `first_line`: each line's trimmed text, or why it cannot hold a rule
/// (not UTF-8, control characters).
fn rule_lines<'a>(
    chunk: &'a [u8],
    first_line: usize,
    progress: &'a Progress,
) -> impl Iterator<Item = (usize, Result<&'a str, ErrorKind>)> + 'a {
    chunk
        .split(|&b| b == b'\n')
        .enumerate()
        .filter_map(move |(i, raw)| {
            let line = first_line + i;
            progress.tick(line);
            let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
            let Ok(text) = std::str::from_utf8(raw) else {
                return Some((line, Err(ErrorKind::NotUtf8)));
            };
            let trimmed = text.trim_matches([' ', '\t']);
            if trimmed.is_empty() || trimmed.starts_with('#') {
                return None;
            }
            Some((line, rule::check_control(text).map(|()| trimmed)))
        })
}

/// Parses the lines of a text-format chunk whose first line is number
/// `first_line`: the rules and the errors by line.
fn parse_text(
    chunk: &[u8],
    first_line: usize,
    opts: &Options,
    progress: &Progress,
) -> (Vec<Rule>, Vec<(usize, ErrorKind)>) {
    // As many rules as lines, at most (a million rules are 140 MB of
    // `Rule`s: growing the vector would copy them about twice).
    let lines = chunk.iter().filter(|&&b| b == b'\n').count() + 1;
    let (mut rules, mut errors) = (Vec::with_capacity(lines), Vec::new());
    for (line, trimmed) in rule_lines(chunk, first_line, progress) {
        match trimmed.and_then(|t| text::parse_line(line, t, opts)) {
            Ok(rule) => rules.push(rule),
            Err(e) => errors.push((line, e)),
        }
    }
    (rules, errors)
}

/// A line counter on stderr while parsing big files, only on a terminal.
struct Progress(bool);

impl Progress {
    fn new() -> Progress {
        Progress(std::io::stderr().is_terminal())
    }
    fn tick(&self, line: usize) {
        if self.0 && line.is_multiple_of(100_000) {
            eprint!("\r  parsing: {line} lines");
        }
    }
    fn done(&self) {
        if self.0 {
            eprint!("\r\x1b[K");
        }
    }
}

#[cfg(test)]
mod tests;
