//! Netlify `_redirects`: `from to [status][!]`, the subset without
//! conditions. Splats (`/news/*` → `/blog/:splat`) work; the request's
//! query is passed on (as Netlify does). Refused, with a message saying so:
//! `:placeholders`, query-parameter matching, rewrites and proxies (status
//! 200), custom 404s, and conditions (`Country=`, `Language=`, `Role=`,
//! `Cookie=`). A trailing `!` (force) is ignored with a warning: rules
//! here always apply.

use crate::error::{ErrorKind, WarningKind};
use crate::rule::{make_rule, parse_source, parse_status, Rule};
use crate::Options;

/// Parses one non-comment line of a `_redirects` file.
pub fn parse_line(
    line: usize,
    text: &str,
    opts: &Options,
    warn: &mut dyn FnMut(WarningKind),
) -> Result<Rule, ErrorKind> {
    let fields: Vec<&str> = text.split([' ', '\t']).filter(|f| !f.is_empty()).collect();
    let from = fields[0];
    let Some(&to) = fields.get(1) else {
        return Err(ErrorKind::MissingTarget {
            source: from.to_string(),
        });
    };
    if from.split('/').any(|seg| seg.starts_with(':')) {
        return Err(unsupported(
            "`:placeholder` segments (use `/path/*` and `:splat`)",
        ));
    }
    if to.contains('=') && !to.starts_with('/') && !to.contains("://") {
        return Err(unsupported(
            "query parameter matching (`key=:value` after the source)",
        ));
    }
    let mut status = opts.default_status;
    if let Some(&field) = fields.get(2) {
        let (code, forced) = match field.strip_suffix('!') {
            Some(code) => (code, true),
            None => (field, false),
        };
        if forced {
            warn(WarningKind::ForceIgnored);
        }
        status = match code {
            "200" => {
                return Err(unsupported(
                    "status 200 (rewrites and proxies): only redirects",
                ))
            }
            "404" | "410" | "451" => return Err(unsupported("custom error pages: only redirects")),
            code => parse_status(code)?,
        };
    }
    if let Some(cond) = fields.get(3) {
        return Err(unsupported(&format!("conditions (`{cond}`)")));
    }
    let source = parse_source(from, opts.table)?;
    let mut flags = opts.default_flags;
    flags.preserve_query = true;
    make_rule(line, from, source, to, status, flags)
}

fn unsupported(what: &str) -> ErrorKind {
    ErrorKind::Unsupported {
        what: format!("Netlify {what}"),
    }
}
