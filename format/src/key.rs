//! Lookup keys: how rules and requests are normalised so that both sides
//! agree on what "the same URL" means.
//!
//! A path is normalised in this order (the table's [`TableOptions`] decide
//! the last two steps):
//!
//! 1. `%XX` escapes are decoded to bytes; an invalid escape (a `%` not
//!    followed by two hex digits) or an escaped NUL makes the path invalid,
//!    and an invalid request path matches nothing;
//! 2. empty segments (`//`) and `.` segments are removed and `..` removes
//!    the segment before it (never going above the root);
//! 3. a trailing `/` is removed (so `/a/` and `/a` are the same), unless
//!    the table is built with `strict_trailing_slash`; the root stays `/`;
//! 4. with `case_insensitive`, the path is lower-cased.
//!
//! Keys in the fst map are `kind host path [NUL query]`: `kind` is `=` for
//! an exact rule and `*` for a prefix rule, `host` is empty for a rule that
//! applies to every host, and `query` is present only for exact rules that
//! name one.

/// Table-wide matching options, stored in the table's header so that the
/// compiler and the lookup normalise the same way.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TableOptions {
    /// Match paths regardless of ASCII/Unicode case.
    pub case_insensitive: bool,
    /// `/a` and `/a/` are different paths.
    pub strict_trailing_slash: bool,
}

impl TableOptions {
    pub(crate) fn to_bits(self) -> u64 {
        u64::from(self.case_insensitive) | u64::from(self.strict_trailing_slash) << 1
    }

    pub(crate) fn from_bits(bits: u64) -> TableOptions {
        TableOptions {
            case_insensitive: bits & 1 != 0,
            strict_trailing_slash: bits & 2 != 0,
        }
    }
}

/// First byte of an exact rule's key.
pub const EXACT: u8 = b'=';
/// First byte of a prefix rule's key.
pub const PREFIX: u8 = b'*';
/// Separates the path from the query in an exact key.
pub const QUERY_SEPARATOR: u8 = 0;

/// Decodes `%XX` escapes. `None` for an invalid escape or an escaped NUL.
///
/// ```
/// use redirects_format::percent_decode;
/// assert_eq!(percent_decode("/caf%C3%A9").as_deref(), Some("/café".as_bytes()));
/// assert_eq!(percent_decode("/bad%zz"), None);
/// ```
pub fn percent_decode(s: &str) -> Option<Vec<u8>> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'%' {
            let hi = hex(*bytes.get(i + 1)?)?;
            let lo = hex(*bytes.get(i + 2)?)?;
            let decoded = hi << 4 | lo;
            if decoded == 0 {
                return None;
            }
            out.push(decoded);
            i += 3;
        } else {
            out.push(b);
            i += 1;
        }
    }
    Some(out)
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Normalises a path (without its query) as the module docs describe.
/// `None` if the path does not start with `/` or has an invalid escape.
///
/// ```
/// use redirects_format::{normalize_path, TableOptions};
/// let o = TableOptions::default();
/// assert_eq!(normalize_path("/a//b/./c/../d/", o).as_deref(), Some(&b"/a/b/d"[..]));
/// assert_eq!(normalize_path("/caf%C3%A9", o).as_deref(), Some("/café".as_bytes()));
/// ```
pub fn normalize_path(path: &str, opts: TableOptions) -> Option<Vec<u8>> {
    if !path.starts_with('/') {
        return None;
    }
    let decoded = percent_decode(path)?;
    let trailing = decoded.len() > 1 && decoded.ends_with(b"/");
    let mut segments: Vec<&[u8]> = Vec::new();
    for seg in decoded.split(|&b| b == b'/') {
        match seg {
            b"" | b"." => {}
            b".." => {
                segments.pop();
            }
            s => segments.push(s),
        }
    }
    let mut out = Vec::with_capacity(decoded.len());
    for seg in &segments {
        out.push(b'/');
        out.extend_from_slice(seg);
    }
    if out.is_empty() || (trailing && opts.strict_trailing_slash) {
        out.push(b'/');
    }
    if opts.case_insensitive {
        out = match String::from_utf8(out) {
            Ok(s) => s.to_lowercase().into_bytes(),
            Err(e) => e.into_bytes().to_ascii_lowercase(),
        };
    }
    Some(out)
}

/// Normalises a host: lower case, without a trailing dot. `None` if it holds
/// anything but letters, digits, `-`, `.`, `_` or non-ASCII (IDN) text.
pub fn normalize_host(host: &str) -> Option<String> {
    let host = host.strip_suffix('.').unwrap_or(host);
    let ok = !host.is_empty()
        && host.len() <= 253
        && host
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '-' | '.' | '_'));
    ok.then(|| host.to_lowercase())
}

/// The key of an exact rule (`host` empty for every host).
pub fn exact_key(host: &str, path: &[u8], query: Option<&str>) -> Vec<u8> {
    let mut key =
        Vec::with_capacity(1 + host.len() + path.len() + query.map_or(0, |q| q.len() + 1));
    key.push(EXACT);
    key.extend_from_slice(host.as_bytes());
    key.extend_from_slice(path);
    if let Some(q) = query {
        key.push(QUERY_SEPARATOR);
        key.extend_from_slice(q.as_bytes());
    }
    key
}

/// The key of a prefix rule: `path` is the normalised prefix (`/docs` for
/// `/docs/*`), without a trailing slash; the root prefix is empty.
pub fn prefix_key(host: &str, path: &[u8]) -> Vec<u8> {
    let path = if path == b"/" { &b""[..] } else { path };
    let path = path.strip_suffix(b"/").unwrap_or(path);
    let mut key = Vec::with_capacity(1 + host.len() + path.len());
    key.push(PREFIX);
    key.extend_from_slice(host.as_bytes());
    key.extend_from_slice(path);
    key
}

#[cfg(test)]
mod tests {
    use super::*;

    fn norm(p: &str) -> Option<String> {
        normalize_path(p, TableOptions::default()).map(|v| String::from_utf8(v).unwrap())
    }

    #[test]
    fn normalisation_table() {
        let cases = [
            ("/", Some("/")),
            ("/a", Some("/a")),
            ("/a/", Some("/a")),
            ("//a///b//", Some("/a/b")),
            ("/a/./b", Some("/a/b")),
            ("/a/../b", Some("/b")),
            ("/../../a", Some("/a")),
            ("/a/..", Some("/")),
            ("/a%20b", Some("/a b")),
            ("/a%2fb", Some("/a/b")),
            ("/%2e%2e/x", Some("/x")),
            ("/%E2%82%AC", Some("/€")),
            ("/A/B", Some("/A/B")),
            ("/%", None),
            ("/%4", None),
            ("/%g0", None),
            ("/a%00b", None),
            ("a", None),
            ("", None),
        ];
        for (input, want) in cases {
            assert_eq!(norm(input).as_deref(), want, "{input:?}");
        }
    }

    #[test]
    fn options_change_slash_and_case() {
        let strict = TableOptions {
            strict_trailing_slash: true,
            ..TableOptions::default()
        };
        assert_eq!(normalize_path("/a/", strict).unwrap(), b"/a/");
        assert_eq!(normalize_path("/a//", strict).unwrap(), b"/a/");
        assert_eq!(normalize_path("/", strict).unwrap(), b"/");
        let ci = TableOptions {
            case_insensitive: true,
            ..TableOptions::default()
        };
        assert_eq!(
            normalize_path("/ABC/Ünï", ci).unwrap(),
            "/abc/ünï".as_bytes()
        );
        assert_eq!(normalize_path("/A%FF", ci).unwrap(), b"/a\xff");
        for o in [strict, ci] {
            assert_eq!(TableOptions::from_bits(o.to_bits()), o);
        }
    }

    #[test]
    fn hosts() {
        assert_eq!(
            normalize_host("Example.COM.").as_deref(),
            Some("example.com")
        );
        assert_eq!(normalize_host("bücher.de").as_deref(), Some("bücher.de"));
        for bad in ["", "a b", "a/b", "a:80", "a@b", "."] {
            assert_eq!(normalize_host(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn keys() {
        assert_eq!(exact_key("", b"/a", None), b"=/a");
        assert_eq!(exact_key("x.com", b"/a", Some("q=1")), b"=x.com/a\0q=1");
        assert_eq!(prefix_key("", b"/docs"), b"*/docs");
        assert_eq!(prefix_key("", b"/"), b"*");
        assert_eq!(prefix_key("x.com", b"/"), b"*x.com");
    }
}
