//! Resolving a request: the precedence of rules, and how a `Location` is
//! built from a rule's target and the request.

use crate::raw::{exact_key, prefix_key, Value, PREFIX};
use crate::template::Template;
use crate::url::{self, host_candidates, Url};
use crate::{normalize_host, normalize_path, Flags, Status, Table};
use fst::raw::Output;

/// A redirect found in a [`Table`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redirect {
    /// The `Location` header value.
    pub location: String,
    /// The redirect status.
    pub status: Status,
}

/// What the caller knows about a request (the WIT `request` record).
#[derive(Debug, Clone, Copy, Default)]
pub struct Request<'a> {
    /// The host, without port.
    pub host: Option<&'a str>,
    /// The raw path, starting with `/`, without the query.
    pub path: &'a str,
    /// The raw query, without `?`.
    pub query: Option<&'a str>,
}

/// The rule a request matched ([`Table::find`]) and what it answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Match {
    /// The matched rule's key (see [`crate::raw::exact_key`] and
    /// [`crate::raw::prefix_key`]).
    pub key: Vec<u8>,
    /// The rule's flags.
    pub flags: Flags,
    /// The answer: `Location` and status.
    pub redirect: Redirect,
    /// The `Location` is the request itself; [`Table::resolve`] answers
    /// nothing then (a rule never redirects a request to itself).
    pub to_itself: bool,
}

impl Table {
    /// Finds the redirect for a request. The precedence, first match wins:
    ///
    /// 1. exact rules, for the request's host, then its parent domains
    ///    (rules with `include_subdomains` only), then rules for every host
    ///    (the order of [`url::host_candidates`]); for each host a rule
    ///    naming the request's exact query first;
    /// 2. prefix rules, hosts in the same order, the longest prefix first.
    ///
    /// A redirect whose `Location` would be the request itself is dropped
    /// (`None`): a rule never redirects a request to itself.
    pub fn resolve(&self, req: &Request) -> Option<Redirect> {
        self.find(req).filter(|m| !m.to_itself).map(|m| m.redirect)
    }

    /// What [`Table::resolve`] does, telling which rule matched and whether
    /// its answer is the request itself (which `resolve` drops). The
    /// compiler's loop and chain checks follow targets with it.
    pub fn find(&self, req: &Request) -> Option<Match> {
        let path = normalize_path(req.path, self.options)?;
        let host = req.host.and_then(normalize_host);
        let query = req.query.filter(|q| !q.is_empty());
        let accept = |t: &Template, parent: bool| !parent || t.flags.include_subdomains;

        let mut encoded = Vec::with_capacity(2 * path.len() + 16);
        for c in host_candidates(host.as_deref()) {
            let with_query = query.map(|q| exact_key(c.host, &path, Some(q)));
            for key in with_query
                .into_iter()
                .chain([exact_key(c.host, &path, None)])
            {
                let Some(v) = self.exact_value(&key, &mut encoded) else {
                    continue;
                };
                let t = self.template(v)?;
                if accept(&t, c.parent) {
                    let location = t.target(&path, v.slice())?;
                    return self.answer(key, &t, location, req, host.as_deref(), &path);
                }
            }
        }
        for c in host_candidates(host.as_deref()) {
            if let Some((v, t, at)) = self.longest_prefix(c.host, &path, |t| accept(t, c.parent)) {
                let location = self.fill(&t, v, req, &path, at)?;
                let key = prefix_key(c.host, &path[..at]);
                return self.answer(key, &t, location, req, host.as_deref(), &path);
            }
        }
        None
    }

    /// Walks the fst along `*host path` and returns the accepted prefix
    /// rule with the longest prefix ending at a segment boundary (its
    /// value and template), and where the rest of the path starts.
    fn longest_prefix(
        &self,
        host: &str,
        path: &[u8],
        accept: impl Fn(&Template) -> bool,
    ) -> Option<(Value, Template, usize)> {
        let fst = self.map.as_fst();
        let mut node = fst.root();
        let mut out = Output::zero();
        for &b in [PREFIX].iter().chain(host.as_bytes()) {
            let t = node.transition(node.find_input(b)?);
            out = out.cat(t.out);
            node = fst.node(t.addr);
        }
        let mut best = None;
        for i in 0..=path.len() {
            let boundary = i == path.len() || path[i] == b'/';
            if boundary && node.is_final() {
                let v = Value::unpack(out.cat(node.final_output()).value(), self.radix);
                if let Some((v, t)) = v.and_then(|v| Some((v, self.template(v)?))) {
                    if accept(&t) {
                        best = Some((v, t, i));
                    }
                }
            }
            let Some(&b) = path.get(i) else { break };
            let Some(ti) = node.find_input(b) else { break };
            let t = node.transition(ti);
            out = out.cat(t.out);
            node = fst.node(t.addr);
        }
        best
    }

    /// A prefix rule's `Location`: its target with the rest of the path
    /// (after the prefix ending at `at`) in place of `:splat`, or appended
    /// to the target's path with `preserve_suffix`. The rest keeps the
    /// request's own bytes (its case too, in a case-insensitive table),
    /// escaped.
    fn fill(
        &self,
        t: &Template,
        v: Value,
        req: &Request,
        path: &[u8],
        at: usize,
    ) -> Option<String> {
        let mut location = t.target(path, v.slice())?;
        let own;
        let rest = if self.options.case_insensitive {
            own = url::normalize_path_keep_case(req.path, self.options)?;
            &own[same_place(path, at, &own)..]
        } else {
            &path[at..]
        };
        let splat = rest.strip_prefix(b"/").unwrap_or(rest);
        if location.contains(":splat") {
            location = location.replace(":splat", &url::encode_path(splat));
        } else if t.flags.preserve_suffix && !splat.is_empty() {
            let at = location.find(['?', '#']).unwrap_or(location.len());
            let sep = if location[..at].ends_with('/') {
                ""
            } else {
                "/"
            };
            location.insert_str(at, &format!("{sep}{}", url::encode_path(splat)));
        }
        Some(location)
    }

    /// The match for a rule's `Location`: the request's query appended
    /// with `preserve_query`, a path that lost its host (`//x` from an empty
    /// splat) kept on this host, and whether it is the request itself.
    fn answer(
        &self,
        key: Vec<u8>,
        t: &Template,
        mut location: String,
        req: &Request,
        host: Option<&str>,
        path: &[u8],
    ) -> Option<Match> {
        if t.flags.preserve_query {
            if let Some(q) = req.query.filter(|q| !q.is_empty()) {
                let at = location.find('#').unwrap_or(location.len());
                let sep = if location[..at].contains('?') {
                    "&"
                } else {
                    "?"
                };
                location.insert_str(at, &format!("{sep}{}", url::encode_query(q)));
            }
        }
        if let Some(after) = location.strip_prefix('/') {
            // `//host` or `/\host` would leave this host.
            let trimmed = after.trim_start_matches(['/', '\\']);
            if trimmed.len() != after.len() {
                location = format!("/{trimmed}");
            }
        }
        let to_itself = self.is_same_request(&location, req, host, path);
        Some(Match {
            key,
            flags: t.flags,
            redirect: Redirect {
                location,
                status: t.status,
            },
            to_itself,
        })
    }

    /// Whether following `location` would request the same resource again.
    fn is_same_request(
        &self,
        location: &str,
        req: &Request,
        host: Option<&str>,
        path: &[u8],
    ) -> bool {
        let Some(loc) = Url::parse(location) else {
            return false;
        };
        if let Some(h) = loc.host() {
            if normalize_host(h).as_deref() != host {
                return false;
            }
        }
        normalize_path(loc.request_path(), self.options).as_deref() == Some(path)
            && loc.query.filter(|q| !q.is_empty()) == req.query.filter(|q| !q.is_empty())
    }
}

/// Where the segment boundary `at` of a lower-cased normalised path is in
/// the same path with its own case (lower-casing may change byte lengths,
/// never the `/`s).
fn same_place(lower: &[u8], at: usize, own: &[u8]) -> usize {
    if at >= lower.len() {
        return own.len();
    }
    let n = lower[..at].iter().filter(|&&b| b == b'/').count();
    own.iter()
        .enumerate()
        .filter(|&(_, &b)| b == b'/')
        .nth(n)
        .map_or(own.len(), |(i, _)| i)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::raw::{exact_key, prefix_key};
    use crate::{TableBuilder, TableOptions};

    fn flags(q: bool, s: bool, sub: bool) -> Flags {
        Flags {
            preserve_query: q,
            preserve_suffix: s,
            include_subdomains: sub,
        }
    }

    fn table(options: TableOptions) -> Table {
        let n = Flags::default();
        let mut b = TableBuilder::new(options);
        let mut add = |key: Vec<u8>, t: &str, s: u16, f: Flags| {
            b.insert(key, t.to_string(), Status::from_code(s).unwrap(), f)
        };
        add(exact_key("", b"/old", None), "/new", 301, n);
        add(exact_key("", b"/old", Some("v=2")), "/new-v2", 302, n);
        add(
            exact_key("", b"/keepq", None),
            "/kept?x=1#top",
            308,
            flags(true, false, false),
        );
        add(exact_key("", "/café".as_bytes(), None), "/coffee", 303, n);
        add(
            exact_key("a.com", b"/old", None),
            "https://b.com/old",
            307,
            n,
        );
        add(
            exact_key("sub.com", b"/s", None),
            "/sub",
            302,
            flags(false, false, true),
        );
        add(prefix_key("", b"/docs"), "/manual/:splat", 301, n);
        add(prefix_key("", b"/docs/v1"), "/legacy", 302, n);
        add(
            prefix_key("", b"/blog"),
            "https://blog.example.com",
            301,
            flags(false, true, false),
        );
        add(
            prefix_key("x.com", b"/"),
            "https://y.com/:splat",
            308,
            flags(true, false, false),
        );
        add(exact_key("", b"/self", None), "/self/", 301, n);
        add(prefix_key("", b"/loop"), "/loop/:splat", 301, n);

        Table::from_bytes(b.finish().unwrap()).unwrap()
    }

    fn go(t: &Table, host: Option<&str>, path: &str, query: Option<&str>) -> Option<(String, u16)> {
        t.resolve(&Request { host, path, query })
            .map(|r| (r.location, r.status.code()))
    }

    type Case<'a> = (
        Option<&'a str>,
        &'a str,
        Option<&'a str>,
        Option<(String, u16)>,
    );

    fn hit(l: &str, s: u16) -> Option<(String, u16)> {
        Some((l.to_string(), s))
    }

    #[test]
    fn precedence_and_normalisation() {
        let t = table(TableOptions::default());
        let cases: &[Case] = &[
            (None, "/old", None, hit("/new", 301)),
            (None, "/old/", None, hit("/new", 301)),
            (None, "//old", Some(""), hit("/new", 301)),
            (None, "/x/../old", Some("utm=1"), hit("/new", 301)),
            (None, "/old", Some("v=2"), hit("/new-v2", 302)),
            (None, "/OLD", None, None),
            (Some("a.com"), "/old", None, hit("https://b.com/old", 307)),
            (Some("www.a.com"), "/old", None, hit("/new", 301)),
            (Some("sub.com"), "/s", None, hit("/sub", 302)),
            (Some("deep.er.sub.com"), "/s", None, hit("/sub", 302)),
            (Some("notsub.com"), "/s", None, None),
            (None, "/caf%C3%A9", None, hit("/coffee", 303)),
            (None, "/caf%C3%A", None, None),
            (None, "/docs", None, hit("/manual/", 301)),
            (None, "/docs/a/b", None, hit("/manual/a/b", 301)),
            (None, "/docsx", None, None),
            (None, "/docs/v1", None, hit("/legacy", 302)),
            (None, "/docs/v1/x", None, hit("/legacy", 302)),
            (None, "/docs/v10", None, hit("/manual/v10", 301)),
            (
                None,
                "/docs/a%20b%0D%0Ac",
                None,
                hit("/manual/a%20b%0D%0Ac", 301),
            ),
            (
                None,
                "/blog/2020/post",
                None,
                hit("https://blog.example.com/2020/post", 301),
            ),
            (None, "/blog", None, hit("https://blog.example.com", 301)),
            (
                Some("x.com"),
                "/any/thing",
                Some("a=1"),
                hit("https://y.com/any/thing?a=1", 308),
            ),
            (Some("x.com"), "/", None, hit("https://y.com/", 308)),
            (None, "/keepq", Some("a=b"), hit("/kept?x=1&a=b#top", 308)),
            (
                None,
                "/keepq",
                Some("a=\r\n"),
                hit("/kept?x=1&a=%0D%0A#top", 308),
            ),
            (None, "/self", None, None),
            (None, "/loop/a", None, None),
            (None, "/nothing", None, None),
            (None, "relative", None, None),
        ];
        for (host, path, query, want) in cases {
            assert_eq!(
                &go(&t, *host, path, *query),
                want,
                "{host:?} {path:?} {query:?}"
            );
        }
    }

    #[test]
    fn table_options_apply_to_requests() {
        let t = table(TableOptions {
            strict_trailing_slash: true,
            case_insensitive: false,
        });
        assert_eq!(go(&t, None, "/old/", None), None);
        assert_eq!(go(&t, None, "/self", None), hit("/self/", 301));
        let mut b = TableBuilder::new(TableOptions {
            case_insensitive: true,
            ..TableOptions::default()
        });
        b.insert(
            exact_key("", b"/mixed", None),
            "/Target".into(),
            Status::Found,
            Flags::default(),
        );
        let t = Table::from_bytes(b.finish().unwrap()).unwrap();
        assert_eq!(go(&t, None, "/MiXeD", None), hit("/Target", 302));
        assert!(t.options().case_insensitive);
    }

    fn one_prefix_rule(options: TableOptions, source: &[u8], target: &str, f: Flags) -> Table {
        let mut b = TableBuilder::new(options);
        b.insert(
            prefix_key("", source),
            target.into(),
            Status::MovedPermanently,
            f,
        );
        Table::from_bytes(b.finish().unwrap()).unwrap()
    }

    #[test]
    fn case_insensitive_splats_keep_the_request_bytes() {
        let ci = TableOptions {
            case_insensitive: true,
            ..TableOptions::default()
        };
        let t = one_prefix_rule(ci, b"/docs", "/manual/:splat", Flags::default());
        assert_eq!(go(&t, None, "/Docs/AbC", None), hit("/manual/AbC", 301));
        assert_eq!(go(&t, None, "/DOCS//x/./Y/", None), hit("/manual/x/Y", 301));
        // Lower-casing changes the byte length of `İ`; the splat is still
        // the request's own rest of the path.
        assert_eq!(
            go(&t, None, "/DOCS/%C4%B0x/Q", None),
            hit("/manual/%C4%B0x/Q", 301)
        );
        let t = one_prefix_rule(ci, b"/blog", "https://b.example", flags(false, true, false));
        assert_eq!(
            go(&t, None, "/BLOG/Post-1", None),
            hit("https://b.example/Post-1", 301)
        );
        // Case-sensitive tables are unchanged.
        let t = one_prefix_rule(
            TableOptions::default(),
            b"/docs",
            "/m/:splat",
            Flags::default(),
        );
        assert_eq!(go(&t, None, "/docs/AbC", None), hit("/m/AbC", 301));
    }

    #[test]
    fn a_splat_never_moves_the_location_to_another_host() {
        let t = one_prefix_rule(TableOptions::default(), b"/x", "/:splat", Flags::default());
        assert_eq!(
            go(&t, None, "/x/%2F%2Fevil.com", None),
            hit("/evil.com", 301)
        );
        assert_eq!(go(&t, None, "/x//evil.com", None), hit("/evil.com", 301));
        assert_eq!(
            go(&t, None, "/x/%5Cevil.com", None),
            hit("/%5Cevil.com", 301)
        );
        let t = one_prefix_rule(
            TableOptions::default(),
            b"/e",
            "/:splat/x",
            Flags::default(),
        );
        assert_eq!(go(&t, None, "/e", None), hit("/x", 301));
        assert_eq!(go(&t, None, "/e/a", None), hit("/a/x", 301));
    }

    #[test]
    fn find_names_the_rule_and_answers_to_itself() {
        let t = table(TableOptions::default());
        let m = t
            .find(&Request {
                host: Some("deep.sub.com"),
                path: "/s",
                query: None,
            })
            .unwrap();
        assert_eq!(m.key, exact_key("sub.com", b"/s", None));
        assert_eq!(m.flags, flags(false, false, true));
        assert!(!m.to_itself);
        let m = t
            .find(&Request {
                path: "/loop/a",
                ..Request::default()
            })
            .unwrap();
        assert_eq!(m.key, prefix_key("", b"/loop"));
        assert!(m.to_itself);
        assert_eq!(m.redirect.location, "/loop/a");
    }
}
