//! The text format: `source target [status] [option ...]`, one rule a line.

use crate::error::ErrorKind;
use crate::rule::{make_rule, parse_source, parse_status, Rule};
use crate::Options;

/// Parses one non-comment line of the text format.
pub fn parse_line(line: usize, text: &str, opts: &Options) -> Result<Rule, ErrorKind> {
    let mut fields = text.split([' ', '\t']).filter(|f| !f.is_empty());
    let source_text = fields.next().unwrap_or_default();
    let source = parse_source(source_text, opts.table)?;
    let target = fields.next().ok_or_else(|| ErrorKind::MissingTarget {
        source: source_text.to_string(),
    })?;
    let mut status = opts.default_status;
    let mut flags = opts.default_flags;
    for (i, field) in fields.enumerate() {
        match field {
            "preserve-query" => flags.preserve_query = true,
            "preserve-suffix" => flags.preserve_suffix = true,
            f if i == 0 && f.bytes().all(|b| b.is_ascii_digit()) => status = parse_status(f)?,
            f => {
                return Err(ErrorKind::UnknownOption {
                    option: f.to_string(),
                })
            }
        }
    }
    make_rule(line, source_text, source, target, status, flags)
}
