//! The rules compiler: rules text in, a [`redirects_format`] table out.
//!
//! # The rules format
//!
//! One rule a line: `source target [status]`, fields separated by spaces or
//! tabs (the format of Fermyon's large-scale-redirects sample).
//!
//! - `source` is a path starting with `/`. It is matched without the query
//!   string, after `%XX` escapes are decoded, so `/caf%C3%A9` and `/café`
//!   are the same source.
//! - `target` is a path starting with `/` or an absolute `http://` or
//!   `https://` URL; it becomes the `Location` header as written.
//! - `status` is 301, 302, 303, 307 or 308; without it, the default (301,
//!   or `--default-status`).
//! - A line whose first non-blank character is `#` is a comment; blank lines
//!   are ignored. Lines may end in `\n` or `\r\n`.
//!
//! Everything else is an error naming the file and line: a missing target,
//! extra fields, a source not starting with `/`, an invalid `%` escape, an
//! unknown status, a duplicate source, a control character (a CR or NUL, for
//! instance) anywhere in a rule, or a file that is not UTF-8. The compiler
//! reports every error it finds and writes nothing unless there is none.

#![deny(missing_docs)]

mod error;
mod parse;
mod write;

pub use error::{ErrorKind, RuleError};
pub use parse::{parse_rules, Rule};
pub use write::write_atomic;

use redirects_format::{Status, TableBuilder};
use std::path::Path;

/// Options for [`compile`].
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// The status of rules that name none.
    pub default_status: Status,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            default_status: Status::DEFAULT,
        }
    }
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
}

/// Why [`compile`] failed.
#[derive(Debug)]
pub enum CompileError {
    /// The rules file could not be read, or the table could not be written.
    Io {
        /// The file concerned.
        path: std::path::PathBuf,
        /// What went wrong.
        error: std::io::Error,
    },
    /// The rules have errors; nothing was written.
    Rules(Vec<RuleError>),
}

impl std::fmt::Display for CompileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CompileError::Io { path, error } => write!(f, "{}: {error}", path.display()),
            CompileError::Rules(errors) => {
                const SHOWN: usize = 50;
                for e in errors.iter().take(SHOWN) {
                    writeln!(f, "{e}")?;
                }
                if errors.len() > SHOWN {
                    writeln!(f, "... and {} more errors", errors.len() - SHOWN)?;
                }
                write!(f, "{} error(s); nothing was written", errors.len())
            }
        }
    }
}

impl std::error::Error for CompileError {}

/// Builds the table bytes for rules text (`name` is used in error messages).
pub fn build_table(name: &Path, text: &[u8], opts: Options) -> Result<Vec<u8>, Vec<RuleError>> {
    let rules = parse_rules(name, text, opts.default_status)?;
    let mut builder = TableBuilder::new();
    for rule in rules {
        builder.insert(rule.key, rule.target, rule.status);
    }
    // Duplicates were reported by the parser with their lines.
    Ok(builder.finish().expect("parser rejects duplicate sources"))
}

/// Compiles the rules file `input` into the table file `output`.
///
/// The output is written to a temporary file beside it and renamed into place
/// only when complete, so a failed compile never leaves a partial table.
pub fn compile(input: &Path, output: &Path, opts: Options) -> Result<Summary, CompileError> {
    let text = std::fs::read(input).map_err(|error| CompileError::Io {
        path: input.to_path_buf(),
        error,
    })?;
    let bytes = build_table(input, &text, opts).map_err(CompileError::Rules)?;
    let table =
        redirects_format::Table::from_bytes(bytes.clone()).expect("a fresh table reads back");
    write_atomic(output, &bytes).map_err(|error| CompileError::Io {
        path: output.to_path_buf(),
        error,
    })?;
    Ok(Summary {
        rules: table.len(),
        targets: table.target_count(),
        bytes: bytes.len(),
    })
}
