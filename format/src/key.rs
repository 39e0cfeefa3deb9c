/// The lookup key of a request path or a rule's source path: the path with
/// every `%XX` escape decoded to its byte.
///
/// Returns `None` when the path holds an invalid escape (`%` not followed by
/// two hex digits): such a request matches no rule, and such a rule is an
/// error. The query string must already be split off.
///
/// ```
/// use redirects_format::path_key;
/// assert_eq!(path_key("/caf%C3%A9").as_deref(), Some("/café".as_bytes()));
/// assert_eq!(path_key("/café").as_deref(), Some("/café".as_bytes()));
/// assert_eq!(path_key("/bad%zz"), None);
/// ```
pub fn path_key(path: &str) -> Option<Vec<u8>> {
    let bytes = path.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'%' {
            let hi = hex(*bytes.get(i + 1)?)?;
            let lo = hex(*bytes.get(i + 2)?)?;
            out.push(hi << 4 | lo);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_escapes() {
        assert_eq!(path_key("/a%20b").unwrap(), b"/a b");
        assert_eq!(path_key("/a%2fb").unwrap(), b"/a/b");
        assert_eq!(path_key("/%E2%82%AC").unwrap(), "/€".as_bytes());
        assert_eq!(path_key("/plain").unwrap(), b"/plain");
    }

    #[test]
    fn rejects_bad_escapes() {
        for bad in ["/%", "/%4", "/%g0", "/a%0", "/%%41"] {
            assert_eq!(path_key(bad), None, "{bad}");
        }
    }
}
