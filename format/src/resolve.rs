//! Resolving a request: the precedence of rules, and how a `Location` is
//! built from a rule's target and the request.

use crate::buf::Buf;
use crate::raw::{exact_key, prefix_key, Value, PREFIX};
use crate::read::Found;
use crate::template::Template;
use crate::url::{self, host_candidates, HostCandidate, Url};
use crate::{Flags, Status, Table};

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

/// What to do after looking at one candidate rule.
enum Flow {
    /// The rule does not apply: try the next one.
    Next,
    /// The answer (`None`: the table is inconsistent; no answer).
    Done(Option<Match>),
}

/// The request, normalised, as the matching reads it.
struct Normal<'r> {
    req: &'r Request<'r>,
    host: Option<&'r str>,
    path: &'r [u8],
    query: Option<&'r str>,
    /// Build [`Match::key`] (only [`Table::find`] needs it).
    want_key: bool,
}

/// Room for the request's query in a rule's `Location`.
fn query_room(flags: Flags, req: &Request) -> usize {
    match req.query {
        Some(q) if flags.preserve_query => 1 + 3 * q.len(),
        _ => 0,
    }
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
    ///
    /// A request allocates nothing but the `Location` it answers (a path
    /// or host needing normalisation uses stack buffers), and the hosts
    /// that no rule names are passed over without searching the table.
    pub fn resolve(&self, req: &Request) -> Option<Redirect> {
        self.lookup(req, false)
            .filter(|m| !m.to_itself)
            .map(|m| m.redirect)
    }

    /// What [`Table::resolve`] does, telling which rule matched and whether
    /// its answer is the request itself (which `resolve` drops). The
    /// compiler's loop and chain checks follow targets with it.
    pub fn find(&self, req: &Request) -> Option<Match> {
        self.lookup(req, true)
    }

    /// [`Table::find`], building the matched rule's key only with
    /// `want_key` (an empty key otherwise).
    fn lookup(&self, req: &Request, want_key: bool) -> Option<Match> {
        let mut path_buf: Buf<256>;
        let path = if url::is_normal(req.path.as_bytes(), self.options) {
            req.path.as_bytes()
        } else {
            path_buf = Buf::new();
            url::normalize_into(req.path, self.options, true, &mut path_buf)?;
            path_buf.as_slice()
        };
        let mut host_buf: Buf<256>;
        let host = match req.host {
            None => None,
            Some(h) if url::is_normal_host(h) => Some(h),
            Some(h) => {
                host_buf = Buf::new();
                url::normalize_host_into(h, &mut host_buf)
            }
        };
        let n = Normal {
            req,
            host,
            path,
            query: req.query.filter(|q| !q.is_empty()),
            want_key,
        };
        let mut record = Buf::<256>::new();
        let mut key = Buf::<256>::new();

        // A host no exact rule names is passed over before the search.
        for c in self.candidates(true, host) {
            // A rule naming the request's query first, then the path's.
            let queries = [n.query.map(Some), Some(None)];
            for query in queries.into_iter().flatten() {
                exact_key_into(c.host, path, query, &mut key);
                // A key under a candidate host names it (`Hashed::names_host`).
                if !c.host.is_empty() && !self.may_hold_hosted(key.as_slice()) {
                    continue;
                }
                if let Some(f) = self.value(key.as_slice()) {
                    if let Flow::Done(m) = self.exact(f, c, &key, query, &n, &mut record) {
                        return m;
                    }
                }
            }
        }
        for c in self.candidates(false, host) {
            let accept = |flags: Flags| !c.parent || flags.include_subdomains;
            if let Some((f, at)) = self.longest_prefix(c.host, path, &mut record, accept) {
                let t = self.template(f, &mut record)?;
                let location = self.fill(&t, f.value, &n, at)?;
                let key = if want_key {
                    prefix_key(c.host, &path[..at])
                } else {
                    Vec::new()
                };
                return self.answer(key, &t, location, &n);
            }
        }
        None
    }

    /// The host candidates ([`url::host_candidates`]) that some rule of
    /// this kind (exact or prefix) names, always ending with the rules for
    /// every host; when no rule of the kind names a host, only those (the
    /// request's parent domains are not even listed).
    fn candidates<'h>(
        &self,
        exact: bool,
        host: Option<&'h str>,
    ) -> impl Iterator<Item = HostCandidate<'h>> + use<'_, 'h> {
        let host = host.filter(|_| !self.hosts[usize::from(!exact)].is_empty());
        host_candidates(host).filter(move |c| self.may_name(exact, c.host))
    }

    /// An exact rule's value found under the candidate host `c` (and the
    /// query `query`), its key in `key`: its answer, or [`Flow::Next`] if
    /// it applies only to its own host and `c` is a parent domain.
    fn exact<const N: usize, const K: usize>(
        &self,
        f: Found,
        c: HostCandidate,
        key: &Buf<K>,
        query: Option<&str>,
        n: &Normal,
        record: &mut Buf<N>,
    ) -> Flow {
        let Some(t) = self.template(f, record) else {
            return Flow::Done(None);
        };
        if c.parent && !t.flags.include_subdomains {
            return Flow::Next;
        }
        let room = query_room(t.flags, n.req);
        let source = key.as_slice().get(1..).unwrap_or_default();
        let Some(location) = t.target_with_room(source, f.value.slice(), room) else {
            return Flow::Done(None);
        };
        let key = if n.want_key {
            exact_key(c.host, n.path, query)
        } else {
            Vec::new()
        };
        Flow::Done(self.answer(key, &t, location, n))
    }

    /// The accepted prefix rule for `host` with the longest prefix of
    /// `path` ending at a segment boundary (its value), and where the rest
    /// of the path starts. Only the depths (numbers of `/`) that some
    /// prefix rule has are searched.
    fn longest_prefix<const N: usize>(
        &self,
        host: &str,
        path: &[u8],
        record: &mut Buf<N>,
        accept: impl Fn(Flags) -> bool,
    ) -> Option<(Found, usize)> {
        let mut key = Buf::<256>::new();
        let (mut i, mut depth) = (path.len(), path.iter().filter(|&&b| b == b'/').count());
        loop {
            let prefix = &path[..i];
            if !prefix.ends_with(b"/") && self.prefix_depths >> depth.min(63) & 1 == 1 {
                key.clear();
                key.push(PREFIX);
                key.extend(host.as_bytes());
                key.extend(prefix);
                let v = if self.prefix_filter.may_contain(key.as_slice()) {
                    self.value(key.as_slice())
                } else {
                    None
                };
                if let Some(f) = v {
                    if self.template(f, record).is_some_and(|t| accept(t.flags)) {
                        return Some((f, i));
                    }
                }
            }
            i = prefix.iter().rposition(|&b| b == b'/')?;
            depth = depth.checked_sub(1)?;
        }
    }

    /// A prefix rule's `Location`: its target with the rest of the path
    /// (after the prefix ending at `at`) in place of `:splat`, or appended
    /// to the target's path with `preserve_suffix`. The rest keeps the
    /// request's own bytes (its case too, in a case-insensitive table),
    /// escaped.
    fn fill(&self, t: &Template<&[u8]>, v: Value, n: &Normal, at: usize) -> Option<String> {
        let mut own: Buf<256>;
        let rest = if self.options.case_insensitive {
            own = Buf::new();
            url::normalize_into(n.req.path, self.options, false, &mut own)?;
            let own = own.as_slice();
            &own[same_place(n.path, at, own)..]
        } else {
            &n.path[at..]
        };
        let splat = rest.strip_prefix(b"/").unwrap_or(rest);
        let mut encoded = Buf::<256>::new();
        url::encode_path_into(splat, &mut encoded);
        let encoded = std::str::from_utf8(encoded.as_slice()).ok()?;
        let splats = [t.prefix(), t.suffix()]
            .iter()
            .map(|part| {
                part.windows(SPLAT.len())
                    .filter(|w| *w == SPLAT.as_bytes())
                    .count()
            })
            .sum::<usize>();
        let room = (splats + 1) * encoded.len() + 1 + query_room(t.flags, n.req);
        let mut location = t.target_with_room(n.path, v.slice(), room)?;
        if location.contains(SPLAT) {
            let mut from = 0;
            while let Some(i) = location[from..].find(SPLAT) {
                let i = from + i;
                location.replace_range(i..i + SPLAT.len(), encoded);
                from = i + encoded.len();
            }
        } else if t.flags.preserve_suffix && !splat.is_empty() {
            let at = location.find(['?', '#']).unwrap_or(location.len());
            location.insert_str(at, encoded);
            if !location[..at].ends_with('/') {
                location.insert(at, '/');
            }
        }
        Some(location)
    }

    /// The match for a rule's `Location`: the request's query appended
    /// with `preserve_query`, a path that lost its host (`//x` from an empty
    /// splat) kept on this host, and whether it is the request itself.
    fn answer(
        &self,
        key: Vec<u8>,
        t: &Template<&[u8]>,
        mut location: String,
        n: &Normal,
    ) -> Option<Match> {
        if t.flags.preserve_query {
            if let Some(q) = n.req.query.filter(|q| !q.is_empty()) {
                let at = location.find('#').unwrap_or(location.len());
                let sep = if location[..at].contains('?') {
                    '&'
                } else {
                    '?'
                };
                let mut encoded = Buf::<256>::new();
                url::encode_query_into(q, &mut encoded);
                location.insert_str(at, std::str::from_utf8(encoded.as_slice()).ok()?);
                location.insert(at, sep);
            }
        }
        if let Some(after) = location.strip_prefix('/') {
            // `//host` or `/\host` would leave this host.
            let cut = after.len() - after.trim_start_matches(['/', '\\']).len();
            if cut > 0 {
                location.replace_range(1..1 + cut, "");
            }
        }
        let to_itself = self.is_same_request(&location, n);
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
    fn is_same_request(&self, location: &str, n: &Normal) -> bool {
        // The cheap tests first: most answers are another path.
        let Some(loc) = Url::parse(location) else {
            return false;
        };
        if loc.query.filter(|q| !q.is_empty()) != n.query {
            return false;
        }
        let path = loc.request_path();
        // Normalising never lengthens a path in a case-sensitive table
        // (escapes decode to fewer bytes, segments only go; lower-casing
        // can lengthen non-ASCII text): a shorter path is another one.
        if !self.options.case_insensitive && path.len() < n.path.len() {
            return false;
        }
        let same_path = if url::is_normal(path.as_bytes(), self.options) {
            path.as_bytes() == n.path
        } else {
            let mut buf = Buf::<256>::new();
            url::normalize_into(path, self.options, true, &mut buf).is_some()
                && buf.as_slice() == n.path
        };
        if !same_path {
            return false;
        }
        match loc.host() {
            Some(h) => {
                let mut buf = Buf::<256>::new();
                url::normalize_host_into(h, &mut buf) == n.host
            }
            None => true,
        }
    }
}

/// Writes the exact key `=host path [NUL query]` into `out`.
fn exact_key_into<const N: usize>(host: &str, path: &[u8], query: Option<&str>, out: &mut Buf<N>) {
    out.clear();
    crate::raw_key::write_exact_key(host, path, query, |part| out.extend(part));
}

/// What a prefix rule's target names the rest of the path with.
const SPLAT: &str = ":splat";

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

    /// A host with an empty label (`a..` normalises to `a.`) has no parent
    /// domain, so a rule for every host that includes subdomains does not
    /// jump ahead of one naming the query (or a longer prefix), whether or
    /// not the table names hosts.
    #[test]
    fn an_empty_label_is_no_parent_domain() {
        for names_a_host in [false, true] {
            let mut b = TableBuilder::new(TableOptions::default());
            let mut add = |key: Vec<u8>, t: &str, f: Flags| {
                b.insert(key, t.to_string(), Status::MovedPermanently, f)
            };
            add(exact_key("", b"/p", Some("x=1")), "/t1", Flags::default());
            add(exact_key("", b"/p", None), "/t2", flags(false, false, true));
            add(prefix_key("", b"/docs"), "/d1", Flags::default());
            add(prefix_key("", b""), "/d2", flags(false, false, true));
            if names_a_host {
                add(exact_key("b.com", b"/q", None), "/t3", Flags::default());
                add(prefix_key("b.com", b"/z"), "/d3", Flags::default());
            }
            let t = Table::from_bytes(b.finish().unwrap()).unwrap();
            for host in ["a..", "a.", "a"] {
                assert_eq!(go(&t, Some(host), "/p", Some("x=1")), hit("/t1", 301));
                assert_eq!(go(&t, Some(host), "/docs/a", None), hit("/d1", 301));
            }
        }
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
