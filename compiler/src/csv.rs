//! CSV with Cloudflare Bulk Redirects' column names. The first line is the
//! header; `source_url` and `target_url` are required, the others optional:
//!
//! | column | meaning here |
//! |---|---|
//! | `source_url` | `host/path`, `https://host/path` or `/path` (every host) |
//! | `target_url` | the target |
//! | `status_code` | 301, 302, 303, 307, 308 (empty: the default) |
//! | `preserve_query_string` | carry the query over (default false) |
//! | `include_subdomains` | match subdomains of the host too (default false) |
//! | `subpath_matching` | the source is a prefix (default false) |
//! | `preserve_path_suffix` | with subpath matching, append the rest of the path (default true) |
//!
//! Booleans are `true`/`false` in any case (or `1`/`0`, empty for the
//! default). Fields may be quoted with `"`, a quote inside doubled.

use crate::error::ErrorKind;
use crate::rule::{make_rule, parse_source, parse_status, strip_scheme, Rule};
use crate::Options;

const COLUMNS: [&str; 7] = [
    "source_url",
    "target_url",
    "status_code",
    "preserve_query_string",
    "include_subdomains",
    "subpath_matching",
    "preserve_path_suffix",
];

/// The column positions found in the header.
#[derive(Debug, Clone)]
pub struct Header {
    index: [Option<usize>; 7],
    width: usize,
}

/// Parses the header line.
pub fn parse_header(text: &str) -> Result<Header, ErrorKind> {
    let names = split(text)?;
    let mut index = [None; 7];
    for (i, name) in names.iter().enumerate() {
        let name = name.trim().to_ascii_lowercase();
        match COLUMNS.iter().position(|c| *c == name) {
            Some(c) => index[c] = Some(i),
            None => {
                return Err(ErrorKind::Csv {
                    what: format!("unknown column `{name}` (expected {})", COLUMNS.join(", ")),
                })
            }
        }
    }
    if index[0].is_none() || index[1].is_none() {
        return Err(ErrorKind::Csv {
            what: "the header must name `source_url` and `target_url`".into(),
        });
    }
    Ok(Header {
        index,
        width: names.len(),
    })
}

/// Parses one data line.
pub fn parse_line(
    line: usize,
    text: &str,
    header: &Header,
    opts: &Options,
) -> Result<Rule, ErrorKind> {
    let fields = split(text)?;
    if fields.len() != header.width {
        return Err(ErrorKind::Csv {
            what: format!(
                "expected {} fields as in the header, found {}",
                header.width,
                fields.len()
            ),
        });
    }
    let get = |c: usize| header.index[c].map(|i| fields[i].trim()).unwrap_or("");
    let source_text = get(0);
    let target = get(1);
    if target.is_empty() {
        return Err(ErrorKind::MissingTarget {
            source: source_text.to_string(),
        });
    }
    let status = match get(2) {
        "" => opts.default_status,
        s => parse_status(s)?,
    };
    let mut flags = opts.default_flags;
    flags.preserve_query = boolean(get(3), COLUMNS[3], flags.preserve_query)?;
    flags.include_subdomains = boolean(get(4), COLUMNS[4], false)?;
    let subpath = boolean(get(5), COLUMNS[5], false)?;
    flags.preserve_suffix = subpath && boolean(get(6), COLUMNS[6], true)?;

    // Cloudflare's source_url may omit the scheme; a bare `/path` applies to every host.
    let mut url = if source_text.starts_with('/') || strip_scheme(source_text).is_some() {
        source_text.to_string()
    } else {
        format!("https://{source_text}")
    };
    if subpath {
        if !url.ends_with('/') {
            url.push('/');
        }
        url.push('*');
    }
    let source = parse_source(&url, opts.table).map_err(|e| match e {
        ErrorKind::SourceNotAbsolute { .. } => ErrorKind::SourceNotAbsolute {
            source: source_text.to_string(),
        },
        e => e,
    })?;
    make_rule(line, source_text, source, target, status, flags)
}

fn boolean(text: &str, column: &str, default: bool) -> Result<bool, ErrorKind> {
    match text.to_ascii_lowercase().as_str() {
        "" => Ok(default),
        "true" | "1" => Ok(true),
        "false" | "0" => Ok(false),
        other => Err(ErrorKind::Csv {
            what: format!("`{column}` must be true or false, not `{other}`"),
        }),
    }
}

/// Splits a CSV line into fields (RFC 4180 quoting, one line per record).
fn split(text: &str) -> Result<Vec<String>, ErrorKind> {
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut chars = text.chars().peekable();
    let mut quoted = false;
    let mut at_start = true;
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (false, '"') if at_start => {
                quoted = true;
                at_start = false;
            }
            (true, '"') if chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            (true, '"') => {
                quoted = false;
                if chars.peek().is_some_and(|&n| n != ',') {
                    return Err(ErrorKind::Csv {
                        what: "text after a closing quote".into(),
                    });
                }
            }
            (false, ',') => {
                fields.push(std::mem::take(&mut field));
                at_start = true;
            }
            (_, c) => {
                field.push(c);
                at_start = false;
            }
        }
    }
    if quoted {
        return Err(ErrorKind::Csv {
            what: "unterminated quote".into(),
        });
    }
    fields.push(field);
    Ok(fields)
}
