//! Lookup keys: how a rule is filed in the table.
//!
//! Keys in the table are `kind host path [NUL query]`: `kind` is `=` for
//! an exact rule and `*` for a prefix rule, `host` is empty for a rule that
//! applies to every host, and `query` is present only for exact rules that
//! name one.

/// First byte of an exact rule's key.
pub const EXACT: u8 = b'=';
/// First byte of a prefix rule's key.
pub const PREFIX: u8 = b'*';
/// Separates the path from the query in an exact key.
pub const QUERY_SEPARATOR: u8 = 0;

/// The key of an exact rule (`host` empty for every host).
pub fn exact_key(host: &str, path: &[u8], query: Option<&str>) -> Vec<u8> {
    let mut key =
        Vec::with_capacity(1 + host.len() + path.len() + query.map_or(0, |q| q.len() + 1));
    write_exact_key(host, path, query, |part| key.extend_from_slice(part));
    key
}

/// Hands the parts of an exact rule's key to `put`, in order: the one
/// layout behind [`exact_key`] and the lookup's key in a stack buffer.
pub(crate) fn write_exact_key(
    host: &str,
    path: &[u8],
    query: Option<&str>,
    mut put: impl FnMut(&[u8]),
) {
    put(&[EXACT]);
    put(host.as_bytes());
    put(path);
    if let Some(q) = query {
        put(&[QUERY_SEPARATOR]);
        put(q.as_bytes());
    }
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

    #[test]
    fn keys() {
        assert_eq!(exact_key("", b"/a", None), b"=/a");
        assert_eq!(exact_key("x.com", b"/a", Some("q=1")), b"=x.com/a\0q=1");
        assert_eq!(prefix_key("", b"/docs"), b"*/docs");
        assert_eq!(prefix_key("", b"/"), b"*");
        assert_eq!(prefix_key("x.com", b"/"), b"*x.com");
    }
}
