//! The routing of an HTTP request, written once for every router: the
//! wasm routers (which pass their `redirects:lookup` import, or the linked
//! table) and native servers (which pass a call into the lookup
//! component) all answer with [`route`].
//!
//! - a rule matches: the rule's status (301/302/303/307/308) with
//!   `Location` set to the rule's target, and an empty body;
//! - no rule matches: `404 Not Found` with [`NOT_FOUND_BODY`].

use crate::url::{host_of, split_path_query};
use crate::{Redirect, Request};
use std::borrow::Cow;

/// The body of a 404 (served as `text/plain; charset=utf-8`).
pub const NOT_FOUND_BODY: &str = "no redirect for this path\n";

/// What to answer: a redirect (status and `Location`) or, with no
/// location, a 404 with [`NOT_FOUND_BODY`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// HTTP status.
    pub status: u16,
    /// `Location` of a redirect.
    pub location: Option<String>,
}

/// Answers a request given its authority (`Host`, port allowed) and its
/// request target (path and query): `lookup` is asked with the path
/// without the query, the query beside it, and the host lower-cased
/// without port (`[::1]:3000` -> `[::1]`).
///
/// ```
/// use redirects_format::route::{route, NOT_FOUND_BODY};
/// use redirects_format::{Redirect, Status};
/// let a = route(Some("Example.COM:8080"), "/a?b=c", |req| {
///     assert_eq!((req.host, req.path, req.query), (Some("example.com"), "/a", Some("b=c")));
///     Some(Redirect { location: "/b".into(), status: Status::Found })
/// });
/// assert_eq!((a.status, a.location.as_deref()), (302, Some("/b")));
/// assert_eq!(route(None, "/x", |_| None).status, 404);
/// ```
pub fn route(
    authority: Option<&str>,
    path_with_query: &str,
    lookup: impl FnOnce(Request<'_>) -> Option<Redirect>,
) -> Answer {
    let (path, query) = split_path_query(path_with_query);
    // Lower-cased only when it has upper case (no allocation otherwise).
    let host = authority.map(host_of).filter(|h| !h.is_empty()).map(|h| {
        match h.bytes().any(|b| b.is_ascii_uppercase()) {
            true => Cow::Owned(h.to_ascii_lowercase()),
            false => Cow::Borrowed(h),
        }
    });
    let found = lookup(Request {
        host: host.as_deref(),
        path,
        query,
    });
    match found {
        Some(r) => Answer {
            status: r.status.code(),
            location: Some(r.location),
        },
        None => Answer {
            status: 404,
            location: None,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::raw::{exact_key, prefix_key};
    use crate::{Flags, Status, Table, TableBuilder};

    /// What the lookup was asked, and a 404.
    fn asked(authority: Option<&str>, target: &str) -> (Option<String>, String, Option<String>) {
        let mut seen = None;
        let answer = route(authority, target, |r| {
            seen = Some((
                r.host.map(str::to_string),
                r.path.to_string(),
                r.query.map(str::to_string),
            ));
            None
        });
        assert_eq!(answer.status, 404);
        seen.unwrap()
    }

    #[test]
    fn splits_path_and_query() {
        assert_eq!(
            asked(None, "/a?b=c"),
            (None, "/a".into(), Some("b=c".into()))
        );
        assert_eq!(asked(None, "/a"), (None, "/a".into(), None));
        assert_eq!(asked(None, "/a?"), (None, "/a".into(), Some("".into())));
        assert_eq!(
            asked(None, "/a?b?c=d"),
            (None, "/a".into(), Some("b?c=d".into()))
        );
    }

    #[test]
    fn host_without_port_lower_cased() {
        for (authority, host) in [
            ("Example.COM", Some("example.com")),
            ("a.com:8080", Some("a.com")),
            ("[::1]:3000", Some("[::1]")),
            ("[::1]", Some("[::1]")),
            ("user@a.com:1", Some("a.com")),
            ("", None),
        ] {
            assert_eq!(
                asked(Some(authority), "/").0.as_deref(),
                host,
                "{authority}"
            );
        }
        assert_eq!(asked(None, "/").0, None);
    }

    #[test]
    fn answers_a_redirect_or_a_404() {
        let mut b = TableBuilder::default();
        b.insert(
            exact_key("shop.example.com", b"/sale", None),
            "/deals".into(),
            Status::TemporaryRedirect,
            Flags::default(),
        );
        b.insert(
            prefix_key("", b"/docs"),
            "/manual/:splat".into(),
            Status::MovedPermanently,
            Flags::default(),
        );
        let t = Table::from_bytes(b.finish().unwrap()).unwrap();
        let go = |authority, target| route(authority, target, |r| t.resolve(&r));
        assert_eq!(
            go(Some("SHOP.example.com:8080"), "/sale?x=1"),
            Answer {
                status: 307,
                location: Some("/deals".into())
            }
        );
        assert_eq!(
            go(None, "/docs/a?q"),
            Answer {
                status: 301,
                location: Some("/manual/a".into())
            }
        );
        assert_eq!(
            go(Some("other.com"), "/sale"),
            Answer {
                status: 404,
                location: None
            }
        );
        assert_eq!(NOT_FOUND_BODY, "no redirect for this path\n");
    }
}
