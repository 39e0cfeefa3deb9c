//! Reading URLs and requests, in one place: how a rule's target, a
//! `Location` and a request are split into scheme, authority (userinfo,
//! host, port), path, query and fragment; how paths and hosts are
//! normalised; how a target's bytes are escaped; and in which order the
//! hosts of a request are tried. The compiler's checks, [`crate::Table::resolve`]
//! and the routing ([`crate::route()`]) all use it, so they cannot disagree
//! on what a URL means.
//!
//! # Paths
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
//! # Hosts
//!
//! A host is lower-cased, without port, userinfo or trailing dot. A request
//! for `a.b.example.org` tries, in this order ([`host_candidates`]): rules
//! for `a.b.example.org`, rules for `b.example.org` and then `example.org`
//! that include subdomains (`*.`), and rules for every host.

use crate::buf::Buf;
use crate::TableOptions;

/// `http://rest` or `https://rest` (any case) split into the scheme as
/// written and `rest`.
///
/// ```
/// use redirects_format::url::split_scheme;
/// assert_eq!(split_scheme("HTTPS://a.com/x"), Some(("HTTPS", "a.com/x")));
/// assert_eq!(split_scheme("/x"), None);
/// ```
pub fn split_scheme(url: &str) -> Option<(&str, &str)> {
    // Most targets and `Location`s are paths: one byte tells them apart.
    if url.as_bytes().first().map(|b| b | 0x20) != Some(b'h') {
        return None;
    }
    ["http://", "https://"].iter().find_map(|scheme| {
        url.get(..scheme.len())
            .filter(|s| s.eq_ignore_ascii_case(scheme))
            .map(|_| (&url[..scheme.len() - 3], &url[scheme.len()..]))
    })
}

/// What follows `http(s)://` in `url`, if it starts with one.
pub fn strip_scheme(url: &str) -> Option<&str> {
    split_scheme(url).map(|(_, rest)| rest)
}

/// A URL as rule targets and `Location` headers write it: an absolute
/// `http(s)://authority/path?query#fragment`, or a path on the same host
/// (`/path?query#fragment`, never `//...`). The parts are slices of the
/// text as written (nothing decoded).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Url<'a> {
    /// `scheme://authority` of an absolute URL; `None` for a path.
    pub origin: Option<&'a str>,
    /// The authority (`userinfo@host:port`) of an absolute URL.
    pub authority: Option<&'a str>,
    /// The path: starts with `/`, or is empty for an absolute URL without one.
    pub path: &'a str,
    /// The query, without `?`.
    pub query: Option<&'a str>,
    /// The fragment, without `#`.
    pub fragment: Option<&'a str>,
}

impl<'a> Url<'a> {
    /// Splits a target or `Location`; `None` if it is neither an absolute
    /// http(s) URL with a non-empty authority nor a path starting with one
    /// `/`.
    ///
    /// ```
    /// use redirects_format::url::Url;
    /// let u = Url::parse("https://u@Example.com:8080/a?b#c").unwrap();
    /// assert_eq!((u.host(), u.path, u.query, u.fragment), (Some("Example.com"), "/a", Some("b"), Some("c")));
    /// assert_eq!(Url::parse("/a?b").unwrap().origin, None);
    /// assert_eq!(Url::parse("//evil.com"), None);
    /// ```
    pub fn parse(text: &'a str) -> Option<Url<'a>> {
        let (origin, authority, rest) = match split_scheme(text) {
            Some((_, after)) => {
                let end = after.find(['/', '?', '#']).unwrap_or(after.len());
                if end == 0 {
                    return None;
                }
                let origin_len = text.len() - after.len() + end;
                (
                    Some(&text[..origin_len]),
                    Some(&after[..end]),
                    &after[end..],
                )
            }
            None if text.starts_with('/') && !text.starts_with("//") => (None, None, text),
            None => return None,
        };
        // One scan to the first `?` or `#`: a `?` after the `#` is the
        // fragment's.
        let (path, query, fragment) = match rest.bytes().position(|b| b == b'?' || b == b'#') {
            None => (rest, None, None),
            Some(i) if rest.as_bytes()[i] == b'#' => (&rest[..i], None, Some(&rest[i + 1..])),
            Some(i) => match rest[i + 1..].split_once('#') {
                Some((query, fragment)) => (&rest[..i], Some(query), Some(fragment)),
                None => (&rest[..i], Some(&rest[i + 1..]), None),
            },
        };
        Some(Url {
            origin,
            authority,
            path,
            query,
            fragment,
        })
    }

    /// The host as written (without userinfo and port).
    pub fn host(&self) -> Option<&'a str> {
        self.authority.map(host_of)
    }

    /// The path a request for this URL carries (`/` for an empty one).
    pub fn request_path(&self) -> &'a str {
        if self.path.is_empty() {
            "/"
        } else {
            self.path
        }
    }

    /// Where the path starts in `text` (the string this was parsed from).
    pub fn path_start(&self) -> usize {
        self.origin.map_or(0, str::len)
    }
}

/// Splits a request target (or a URL without fragment) at the first `?`
/// into path and query.
///
/// ```
/// use redirects_format::url::split_path_query;
/// assert_eq!(split_path_query("/a?b=c?d"), ("/a", Some("b=c?d")));
/// assert_eq!(split_path_query("/a"), ("/a", None));
/// ```
pub fn split_path_query(target: &str) -> (&str, Option<&str>) {
    match target.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (target, None),
    }
}

/// The host of an authority, without userinfo or port (`[::1]:3000` ->
/// `[::1]`, `u@a.com:80` -> `a.com`).
///
/// ```
/// use redirects_format::url::host_of;
/// assert_eq!(host_of("[::1]:3000"), "[::1]");
/// assert_eq!(host_of("a.com:80"), "a.com");
/// assert_eq!(host_of("user:pw@a.com"), "a.com");
/// ```
pub fn host_of(authority: &str) -> &str {
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    if host.starts_with('[') {
        host.find(']').map_or(host, |end| &host[..=end])
    } else {
        host.split(':').next().unwrap_or(host)
    }
}

/// One host a request is matched under (see [`host_candidates`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HostCandidate<'a> {
    /// The host, empty for rules that apply to every host.
    pub host: &'a str,
    /// A parent domain of the request's host: only rules that include
    /// subdomains (`*.`) apply.
    pub parent: bool,
}

/// The hosts a request for the normalised `host` is matched under, in
/// order: the host itself, its parent domains (for `*.` rules), then every
/// host (`""`). An empty label makes no parent: `a.` (from a request for
/// `a..`) has none, so the rules for every host are only ever tried as
/// such, never as a parent domain, whatever other rules the table holds.
///
/// ```
/// use redirects_format::url::host_candidates;
/// let hosts: Vec<_> = host_candidates(Some("a.b.org")).map(|c| (c.host, c.parent)).collect();
/// assert_eq!(hosts, [("a.b.org", false), ("b.org", true), ("org", true), ("", false)]);
/// assert_eq!(host_candidates(None).count(), 1);
/// let hosts: Vec<_> = host_candidates(Some("a.")).map(|c| (c.host, c.parent)).collect();
/// assert_eq!(hosts, [("a.", false), ("", false)]);
/// ```
pub fn host_candidates(host: Option<&str>) -> impl Iterator<Item = HostCandidate<'_>> + '_ {
    let own = host.map(|h| HostCandidate {
        host: h,
        parent: false,
    });
    let mut rest = host.unwrap_or("");
    let parents = std::iter::from_fn(move || {
        let (_, parent) = rest.split_once('.').filter(|(_, p)| !p.is_empty())?;
        rest = parent;
        Some(HostCandidate {
            host: parent,
            parent: true,
        })
    });
    own.into_iter().chain(parents).chain([HostCandidate {
        host: "",
        parent: false,
    }])
}

/// Decodes `%XX` escapes. `None` for an invalid escape or an escaped NUL.
///
/// ```
/// use redirects_format::percent_decode;
/// assert_eq!(percent_decode("/caf%C3%A9").as_deref(), Some("/café".as_bytes()));
/// assert_eq!(percent_decode("/bad%zz"), None);
/// ```
pub fn percent_decode(s: &str) -> Option<Vec<u8>> {
    let mut out = Buf::<0>::new();
    percent_decode_into(s, &mut out)?;
    Some(out.into_vec())
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
    // Most paths are already normal (a compile reads a million).
    if is_normal(path.as_bytes(), opts) {
        return Some(path.as_bytes().to_vec());
    }
    let out = normalize_path_keep_case(path, opts)?;
    Some(if opts.case_insensitive {
        lower_case(out)
    } else {
        out
    })
}

/// [`normalize_path`] without step 4 (the case is kept whatever the
/// options say): the request's own bytes, which a splat copies.
pub(crate) fn normalize_path_keep_case(path: &str, opts: TableOptions) -> Option<Vec<u8>> {
    let mut out = Buf::<256>::new();
    normalize_into(path, opts, false, &mut out)?;
    Some(out.as_slice().to_vec())
}

/// Whether `path` is its own normal form under `opts` (so a lookup can
/// use it as it is): it starts with `/` and has no `%`, no empty, `.` or
/// `..` segment, no trailing `/` (unless the table keeps them, or it is
/// the root) and, in a case-insensitive table, no upper-case or non-ASCII
/// byte.
pub(crate) fn is_normal(path: &[u8], opts: TableOptions) -> bool {
    let Some(rest) = path.strip_prefix(b"/") else {
        return false;
    };
    // This runs on every request (twice for a hit), so the common case is
    // one pass, eight bytes at a time (the lookup runs as wasm, where no
    // vector unit is assumed): no byte that normalising changes (an
    // escape; upper case or non-ASCII in a case-insensitive table) and no
    // `/` followed by `/` or `.`, the only places where an empty, `.` or
    // `..` segment can start (the path starts with `/`). Only a path with
    // such a pair is looked at segment by segment.
    let lower = opts.case_insensitive;
    let (mut changed, mut pairs) = (0u64, 0u64);
    let mut i = 0;
    // Word `a` holds bytes `i..i + 8`, word `b` the bytes after them.
    while i + 9 <= path.len() {
        let a = word(&path[i..i + 8]);
        let b = word(&path[i + 1..i + 9]);
        changed |= bytes_eq(b, b'%');
        if lower {
            changed |= b & HIGH | upper(b);
        }
        pairs |= bytes_eq(a, b'/') & (bytes_eq(b, b'/') | bytes_eq(b, b'.'));
        i += 8;
    }
    for (&x, &y) in path[i..].iter().zip(&path[i + 1..]) {
        let bad = y == b'%' || (lower && (y.is_ascii_uppercase() || !y.is_ascii()));
        changed |= u64::from(bad);
        pairs |= u64::from(x == b'/' && (y == b'/' || y == b'.'));
    }
    if changed != 0 {
        return false;
    }
    if pairs != 0 {
        return segments_are_normal(rest, opts);
    }
    rest.is_empty() || !rest.ends_with(b"/") || opts.strict_trailing_slash
}

/// `0x01` in every byte.
const ONES: u64 = u64::from_le_bytes([1; 8]);
/// `0x80` in every byte.
const HIGH: u64 = ONES * 0x80;

/// Eight bytes as a little-endian word.
fn word(bytes: &[u8]) -> u64 {
    u64::from_le_bytes(bytes.try_into().expect("8 bytes"))
}

/// `0x80` in each byte of `w` equal to `b`, `0` in the others (exactly:
/// no carry crosses bytes).
fn bytes_eq(w: u64, b: u8) -> u64 {
    let x = w ^ (ONES * u64::from(b));
    !(((x & !HIGH) + !HIGH) | x | !HIGH)
}

/// `0x80` in each byte of `w` that is an ASCII upper-case letter.
fn upper(w: u64) -> u64 {
    // Each byte with its high bit set is at least 0x80, so subtracting at
    // most 0x5b from it never borrows from the next byte.
    let at_least_a = (w | HIGH) - ONES * u64::from(b'A');
    let past_z = (w | HIGH) - ONES * u64::from(b'Z' + 1);
    at_least_a & !past_z & !w & HIGH
}

/// [`is_normal`]'s segment check of a path (after its first `/`) whose
/// bytes are normal: no empty, `.` or `..` segment but a last empty one
/// (a trailing slash) that the table keeps.
fn segments_are_normal(rest: &[u8], opts: TableOptions) -> bool {
    let mut start = 0;
    for (i, &b) in rest.iter().enumerate() {
        if b == b'/' {
            if matches!(&rest[start..i], b"" | b"." | b"..") {
                return false;
            }
            start = i + 1;
        }
    }
    match &rest[start..] {
        b"." | b".." => false,
        b"" => rest.is_empty() || opts.strict_trailing_slash,
        _ => true,
    }
}

/// Normalises `path` into `out` (cleared first) as [`normalize_path`]
/// does, lower-casing only with `lower` (and a case-insensitive table).
/// `None` if the path does not start with `/` or has an invalid escape.
pub(crate) fn normalize_into<const N: usize>(
    path: &str,
    opts: TableOptions,
    lower: bool,
    out: &mut Buf<N>,
) -> Option<()> {
    out.clear();
    if !path.starts_with('/') {
        return None;
    }
    let mut decoded = Buf::<N>::new();
    percent_decode_into(path, &mut decoded)?;
    let decoded = decoded.as_slice();
    let trailing = decoded.len() > 1 && decoded.ends_with(b"/");
    for seg in decoded.split(|&b| b == b'/') {
        match seg {
            b"" | b"." => {}
            b".." => {
                let at = out.as_slice().iter().rposition(|&b| b == b'/').unwrap_or(0);
                out.truncate(at);
            }
            s => {
                out.push(b'/');
                out.extend(s);
            }
        }
    }
    if out.len() == 0 || (trailing && opts.strict_trailing_slash) {
        out.push(b'/');
    }
    if lower && opts.case_insensitive {
        if out.as_slice().is_ascii() {
            out.as_mut_slice().make_ascii_lowercase();
        } else {
            let lowered = lower_case(out.as_slice().to_vec());
            out.clear();
            out.extend(&lowered);
        }
    }
    Some(())
}

/// Decodes `%XX` escapes into `out` as [`percent_decode`] does.
fn percent_decode_into<const N: usize>(s: &str, out: &mut Buf<N>) -> Option<()> {
    let bytes = s.as_bytes();
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
            let run = bytes[i..]
                .iter()
                .position(|&b| b == b'%')
                .map_or(bytes.len(), |p| i + p);
            out.extend(&bytes[i..run]);
            i = run;
        }
    }
    Some(())
}

/// Lower-cases a normalised path (Unicode when it is UTF-8, ASCII
/// otherwise). Never adds or removes a `/`.
pub(crate) fn lower_case(path: Vec<u8>) -> Vec<u8> {
    match String::from_utf8(path) {
        Ok(s) => s.to_lowercase().into_bytes(),
        Err(e) => e.into_bytes().to_ascii_lowercase(),
    }
}

/// Whether `host` is its own normal form (see [`normalize_host`]): ASCII
/// letters, digits, `-`, `.` and `_`, no upper case, no trailing dot.
pub(crate) fn is_normal_host(host: &str) -> bool {
    !host.is_empty()
        && host.len() <= 253
        && !host.ends_with('.')
        && host.bytes().all(|c| {
            c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, b'-' | b'.' | b'_')
        })
}

/// [`normalize_host`] into `out` (cleared first), without allocating for
/// an ASCII host without escapes; the normalised host (a slice of `host`
/// itself when it is already normal).
pub(crate) fn normalize_host_into<'a, const N: usize>(
    host: &'a str,
    out: &'a mut Buf<N>,
) -> Option<&'a str> {
    out.clear();
    if !host.is_ascii() || host.contains('%') {
        out.extend(normalize_host(host)?.as_bytes());
        return std::str::from_utf8(out.as_slice()).ok();
    }
    let host = host.strip_suffix('.').unwrap_or(host);
    let ok = !host.is_empty()
        && host.len() <= 253
        && host
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'.' | b'_'));
    if !ok {
        return None;
    }
    if !host.bytes().any(|b| b.is_ascii_uppercase()) {
        return Some(host);
    }
    out.extend(host.as_bytes());
    out.as_mut_slice().make_ascii_lowercase();
    std::str::from_utf8(out.as_slice()).ok()
}

/// Normalises a host: `%XX` escapes decoded, lower case, without a
/// trailing dot. `None` if it holds anything but letters, digits, `-`,
/// `.`, `_` or non-ASCII (IDN) text.
pub fn normalize_host(host: &str) -> Option<String> {
    if is_normal_host(host) {
        return Some(host.to_string());
    }
    let decoded;
    let host = if host.contains('%') {
        decoded = String::from_utf8(percent_decode(host)?).ok()?;
        &decoded
    } else {
        host
    };
    let host = host.strip_suffix('.').unwrap_or(host);
    let ok = !host.is_empty()
        && host.len() <= 253
        && host
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '-' | '.' | '_'));
    ok.then(|| host.to_lowercase())
}

/// Whether a byte may stand as is in a URI (RFC 3986: unreserved,
/// reserved, and `%` when it starts a valid escape).
fn allowed_in_uri(b: u8) -> bool {
    const ALLOWED: [bool; 256] = byte_set(b"-._~:/?#[]@!$&'()*+,;=");
    ALLOWED[usize::from(b)]
}

/// The ASCII letters and digits and `extra`, as a table by byte value.
const fn byte_set(extra: &[u8]) -> [bool; 256] {
    let mut set = [false; 256];
    let mut b = 0;
    while b < 256 {
        set[b] = (b as u8).is_ascii_alphanumeric();
        b += 1;
    }
    let mut i = 0;
    while i < extra.len() {
        set[extra[i] as usize] = true;
        i += 1;
    }
    set
}

/// Escapes a rule's target so it is a valid URI: every byte that may not
/// stand in one (non-ASCII, `"`, `<`, `>`, `\`, `^`, `` ` ``, `{`, `|`,
/// `}`, a `%` that does not start a valid escape...) becomes `%XX`
/// (uppercase hex); valid escapes are kept as written.
///
/// ```
/// use redirects_format::url::escape_target;
/// assert_eq!(escape_target("/t/café/x"), "/t/caf%C3%A9/x");
/// assert_eq!(escape_target("/a%20b/100%/{x}"), "/a%20b/100%25/%7Bx%7D");
/// ```
pub fn escape_target(target: &str) -> String {
    let bytes = target.as_bytes();
    if bytes.iter().all(|&b| b != b'%' && allowed_in_uri(b)) {
        return target.to_string();
    }
    let mut out = String::with_capacity(bytes.len());
    for (i, &b) in bytes.iter().enumerate() {
        let valid_escape = b == b'%'
            && bytes.get(i + 1).copied().and_then(hex).is_some()
            && bytes.get(i + 2).copied().and_then(hex).is_some();
        if valid_escape || (b != b'%' && allowed_in_uri(b)) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Percent-encodes every byte that may not stand in a URL path as is, so a
/// `Location` built from request bytes never carries CR, LF, spaces or
/// anything else a header must not hold (nor `?` or `#`).
pub fn encode_path(bytes: &[u8]) -> String {
    encode(bytes, keep_in_path)
}

fn keep_in_path(b: u8) -> bool {
    const KEEP: [bool; 256] = byte_set(b"-._~!$&'()*+,;=:@/");
    KEEP[usize::from(b)]
}

fn keep_in_query(b: u8) -> bool {
    const KEEP: [bool; 256] = byte_set(b"-._~!$&'()*+,;=:@/?%");
    KEEP[usize::from(b)]
}

/// Like [`encode_path`] for a query: keeps `?`, `=` and `&`, and `%` (the
/// query is passed on still encoded).
pub fn encode_query(query: &str) -> String {
    encode(query.as_bytes(), keep_in_query)
}

/// [`encode_path`] appended to `out`.
pub(crate) fn encode_path_into<const N: usize>(bytes: &[u8], out: &mut Buf<N>) {
    encode_into(bytes, out, keep_in_path)
}

/// [`encode_query`] appended to `out`.
pub(crate) fn encode_query_into<const N: usize>(query: &str, out: &mut Buf<N>) {
    encode_into(query.as_bytes(), out, keep_in_query)
}

fn encode_into<const N: usize>(bytes: &[u8], out: &mut Buf<N>, keep: impl Fn(u8) -> bool) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for &b in bytes {
        if keep(b) {
            out.push(b);
        } else {
            out.extend(&[b'%', HEX[usize::from(b >> 4)], HEX[usize::from(b & 15)]]);
        }
    }
}

fn encode(bytes: &[u8], keep: impl Fn(u8) -> bool) -> String {
    let mut out = String::with_capacity(bytes.len());
    for &b in bytes {
        if keep(b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
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

    /// `is_normal` as it was first written (segment by segment), the
    /// oracle for the one-pass version.
    fn is_normal_by_segments(path: &[u8], opts: TableOptions) -> bool {
        let Some(rest) = path.strip_prefix(b"/") else {
            return false;
        };
        if rest.is_empty() {
            return true;
        }
        if opts.case_insensitive && rest.iter().any(|b| b.is_ascii_uppercase() || !b.is_ascii()) {
            return false;
        }
        if rest.contains(&b'%') {
            return false;
        }
        let mut segments = rest.split(|&b| b == b'/').peekable();
        while let Some(seg) = segments.next() {
            let last = segments.peek().is_none();
            match seg {
                b"." | b".." => return false,
                b"" if !(last && opts.strict_trailing_slash) => return false,
                _ => {}
            }
        }
        true
    }

    /// Every path of up to 7 characters after its `/` from `/ . a A % é`,
    /// under every option: `is_normal` says what the segment-by-segment
    /// version says, and a path it calls normal normalises to itself.
    #[test]
    fn is_normal_agrees_with_normalising() {
        let alphabet = ["/", ".", "a", "A", "%", "é"];
        let mut paths = vec![String::from("/")];
        let mut last = paths.clone();
        for _ in 0..7 {
            let next: Vec<String> = last
                .iter()
                .flat_map(|p| alphabet.iter().map(move |c| format!("{p}{c}")))
                .collect();
            paths.extend(next.iter().cloned());
            last = next;
        }
        paths.extend(["", "a", "a/", ".."].map(String::from));
        // Longer paths, which `is_normal` reads eight bytes at a time: from
        // the same letters and `Z`, `[`, `@`, `/.` and `//` at every place.
        let letters = ["/", ".", "a", "A", "Z", "@", "[", "%", "é", "aaaaaaa"];
        let mut state = 0x9e37_79b9_u64;
        for _ in 0..20_000 {
            let mut p = String::from("/");
            while p.len() < 40 {
                state = state
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1);
                p.push_str(letters[(state >> 33) as usize % letters.len()]);
                if (state >> 20).is_multiple_of(8) {
                    paths.push(p.clone());
                }
            }
        }
        for n in 8..40 {
            let clean = format!("/{}", "ab/c".repeat(10));
            for bad in ["/", ".", "%", "A", "é"] {
                let mut p = clean[..n].to_string();
                p.push_str(bad);
                p.push_str(&clean[n..]);
                paths.push(p);
            }
        }
        for bits in 0..4 {
            let opts = TableOptions::from_bits(bits);
            for p in &paths {
                let fast = is_normal(p.as_bytes(), opts);
                assert_eq!(
                    fast,
                    is_normal_by_segments(p.as_bytes(), opts),
                    "{p:?} {opts:?}"
                );
                if fast {
                    let mut out = Buf::<256>::new();
                    assert_eq!(
                        normalize_into(p, opts, true, &mut out).map(|()| out.as_slice()),
                        Some(p.as_bytes()),
                        "{p:?} {opts:?}"
                    );
                }
            }
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
        assert_eq!(normalize_path_keep_case("/A/./B/", ci).unwrap(), b"/A/B");
    }

    #[test]
    fn hosts() {
        assert_eq!(
            normalize_host("Example.COM.").as_deref(),
            Some("example.com")
        );
        assert_eq!(normalize_host("bücher.de").as_deref(), Some("bücher.de"));
        assert_eq!(
            normalize_host("B%C3%BCcher.de").as_deref(),
            Some("bücher.de")
        );
        for bad in ["", "a b", "a/b", "a:80", "a@b", ".", "a%2Fb", "a%zz"] {
            assert_eq!(normalize_host(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn urls_split() {
        let u = Url::parse("HTTP://a.com").unwrap();
        assert_eq!(
            (u.origin, u.host(), u.path, u.request_path()),
            (Some("HTTP://a.com"), Some("a.com"), "", "/")
        );
        let u = Url::parse("https://[::1]:8080?q#f").unwrap();
        assert_eq!(
            (u.host(), u.path, u.query, u.fragment),
            (Some("[::1]"), "", Some("q"), Some("f"))
        );
        // A `?` after the `#` belongs to the fragment; a `#` after the `?`
        // ends the query.
        for (text, want) in [
            ("/p#f?x", ("/p", None, Some("f?x"))),
            ("/p?q#f?x", ("/p", Some("q"), Some("f?x"))),
            ("/p?q?r", ("/p", Some("q?r"), None)),
            ("/p#", ("/p", None, Some(""))),
            ("/p?", ("/p", Some(""), None)),
            ("HTTPS://a.com?#", ("", Some(""), Some(""))),
        ] {
            let u = Url::parse(text).unwrap();
            assert_eq!((u.path, u.query, u.fragment), want, "{text:?}");
        }
        let text = "https://a.com/p/:splat?x=:splat";
        let u = Url::parse(text).unwrap();
        assert_eq!(&text[u.path_start()..], "/p/:splat?x=:splat");
        for bad in [
            "",
            "a",
            "//a",
            "https://",
            "https:///x",
            "ftp://a/b",
            "hxxp://a/b",
            "h",
        ] {
            assert_eq!(Url::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn targets_are_escaped_once() {
        let cases = [
            ("/plain/a-b_c.d~e", "/plain/a-b_c.d~e"),
            ("/t/café/x", "/t/caf%C3%A9/x"),
            ("/t/caf%c3%a9", "/t/caf%c3%a9"),
            ("https://a.com/x?q=a|b#c^", "https://a.com/x?q=a%7Cb#c%5E"),
            ("/%", "/%25"),
            ("/%4", "/%254"),
            ("/\"<>\\`", "/%22%3C%3E%5C%60"),
        ];
        for (target, want) in cases {
            assert_eq!(escape_target(target), want, "{target:?}");
            assert_eq!(escape_target(want), want, "idempotent: {want:?}");
        }
    }
}
