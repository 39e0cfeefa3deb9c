//! A rule, whatever format it came from, and the parsing of sources and
//! targets that every format shares.

use crate::error::{ErrorKind, MAX_URL_LEN};
use redirects_format::raw::{exact_key, prefix_key};
use redirects_format::url::{self, Url};
use redirects_format::{normalize_host, normalize_path, Flags, Status, TableOptions};

pub use redirects_format::url::strip_scheme;

/// One rule, parsed and normalised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// The line it came from, counting from 1.
    pub line: usize,
    /// The source as written.
    pub source: String,
    /// The normalised host, or `None` for every host.
    pub host: Option<String>,
    /// The normalised path (for a prefix rule: the prefix, `/docs` for `/docs/*`).
    pub path: Vec<u8>,
    /// The query an exact rule requires, as written.
    pub query: Option<String>,
    /// Whether this is a prefix rule (`/docs/*`).
    pub prefix: bool,
    /// The target.
    pub target: String,
    /// The status.
    pub status: Status,
    /// Per-rule behaviour.
    pub flags: Flags,
}

impl Rule {
    /// The rule's key in the table.
    pub fn key(&self) -> Vec<u8> {
        let host = self.host.as_deref().unwrap_or("");
        if self.prefix {
            prefix_key(host, &self.path)
        } else {
            exact_key(host, &self.path, self.query.as_deref())
        }
    }
}

/// A parsed source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    /// Normalised host.
    pub host: Option<String>,
    /// `*.host` was given.
    pub include_subdomains: bool,
    /// Normalised path (the prefix for a prefix rule).
    pub path: Vec<u8>,
    /// Query, if named.
    pub query: Option<String>,
    /// Ends in `/*`.
    pub prefix: bool,
}

/// Parses a source: `/path`, `/path?query`, `/path/*`, or the same after
/// `http(s)://host` or `http(s)://*.host` (the scheme is not matched).
pub fn parse_source(text: &str, opts: TableOptions) -> Result<Source, ErrorKind> {
    if text.len() > MAX_URL_LEN {
        return Err(ErrorKind::TooLong {
            what: "source",
            len: text.len(),
        });
    }
    let (host, include_subdomains, rest) = match strip_scheme(text) {
        Some(after) => {
            let end = after.find(['/', '?']).unwrap_or(after.len());
            let raw_host = &after[..end];
            let (raw_host, subs) = match raw_host.strip_prefix("*.") {
                Some(h) => (h, true),
                None => (raw_host, false),
            };
            let host = normalize_host(raw_host).ok_or_else(|| ErrorKind::BadHost {
                host: after[..end].to_string(),
            })?;
            let rest = &after[end..];
            (Some(host), subs, if rest.is_empty() { "/" } else { rest })
        }
        None if text.starts_with('/') => (None, false, text),
        None => {
            return Err(ErrorKind::SourceNotAbsolute {
                source: text.to_string(),
            })
        }
    };
    if !rest.starts_with('/') {
        return Err(ErrorKind::SourceNotAbsolute {
            source: text.to_string(),
        });
    }
    let (path, query) = url::split_path_query(rest);
    let query = query.filter(|q| !q.is_empty());
    let (path, prefix) = match path.strip_suffix('*') {
        Some(p) if p.ends_with('/') => (p, true),
        _ => (path, false),
    };
    if prefix && query.is_some() {
        return Err(ErrorKind::QueryOnPrefix {
            source: text.to_string(),
        });
    }
    let path = normalize_path(path, opts).ok_or_else(|| ErrorKind::BadEscape {
        source: text.to_string(),
    })?;
    Ok(Source {
        host,
        include_subdomains,
        path,
        query: query.map(str::to_string),
        prefix,
    })
}

/// Checks a target: a path (`/...`, not `//`) or an absolute http(s) URL
/// with a host (see [`Url::parse`]); `:splat` only for prefix rules, and
/// only in the path or query, never where it could choose the host.
pub fn check_target(target: &str, prefix: bool) -> Result<(), ErrorKind> {
    if target.len() > MAX_URL_LEN {
        return Err(ErrorKind::TooLong {
            what: "target",
            len: target.len(),
        });
    }
    let bad = || ErrorKind::BadTarget {
        target: target.to_string(),
    };
    let whitespace = if target.is_ascii() {
        // `char::is_whitespace` of an ASCII byte.
        target.bytes().any(|b| matches!(b, b' ' | b'\t'..=b'\r'))
    } else {
        target.chars().any(char::is_whitespace)
    };
    if whitespace {
        return Err(bad());
    }
    let url = Url::parse(target).ok_or_else(bad)?;
    // The first `:splat`: it is in a prefix of the target if any is.
    let splat = target.find(":splat");
    if url.host().is_some_and(str::is_empty) && splat.is_none() {
        return Err(bad());
    }
    if !prefix && splat.is_some() {
        return Err(ErrorKind::SplatWithoutPrefix {
            target: target.to_string(),
        });
    }
    if splat.is_some_and(|at| at + ":splat".len() <= url.path_start()) {
        return Err(ErrorKind::SplatOutsidePath {
            target: target.to_string(),
        });
    }
    Ok(())
}

/// Parses a status code.
pub fn parse_status(text: &str) -> Result<Status, ErrorKind> {
    text.parse::<u16>()
        .ok()
        .and_then(Status::from_code)
        .ok_or_else(|| ErrorKind::UnknownStatus {
            status: text.to_string(),
        })
}

/// The first control character in a line (tab allowed), as an error.
pub fn check_control(line: &str) -> Result<(), ErrorKind> {
    match line
        .bytes()
        .enumerate()
        .find(|&(_, b)| (b < 0x20 && b != b'\t') || b == 0x7f)
    {
        Some((column, byte)) => Err(ErrorKind::ControlCharacter {
            byte,
            column: column + 1,
        }),
        None => Ok(()),
    }
}

/// Assembles a rule from checked parts.
pub fn make_rule(
    line: usize,
    source_text: &str,
    source: Source,
    target: &str,
    status: Status,
    mut flags: Flags,
) -> Result<Rule, ErrorKind> {
    check_target(target, source.prefix)?;
    // A `Location` must be a valid URI (RFC 3986, RFC 9110): the bytes
    // the request adds are escaped at run time, the rule's own here.
    let target = url::escape_target(target);
    flags.include_subdomains |= source.include_subdomains;
    Ok(Rule {
        line,
        source: source_text.to_string(),
        host: source.host,
        path: source.path,
        query: source.query,
        prefix: source.prefix,
        target,
        status,
        flags,
    })
}
