//! Checks across rules: duplicates, prefix rules that redirect under their
//! own prefix, self-redirects, loops, chains (which are collapsed), and
//! rules a Netlify splat would shadow.
//!
//! Loops and chains are found by following targets with
//! [`Table::find`] on the table the rules build, reading each target with
//! [`redirects_format::url`]: exactly what a browser meets at run time, so
//! the checks and the lookup cannot disagree.

use crate::error::{ErrorKind, WarningKind};
use crate::rule::Rule;
use redirects_format::fx::{hash as hash_bytes, FxHashMap, FxHashSet};
use redirects_format::raw::prefix_key;
use redirects_format::url::{host_candidates, Url};
use redirects_format::{
    normalize_host, normalize_path, FormatError, Request, Table, TableBuilder, TableOptions,
};
use std::borrow::Cow;
use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};
use std::rc::Rc;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// Findings: `(line, error)` and `(line, warning)`.
#[derive(Default)]
pub struct Findings {
    /// Errors by line.
    pub errors: Vec<(usize, ErrorKind)>,
    /// Warnings by line.
    pub warnings: Vec<(usize, WarningKind)>,
    /// How long each part of the checks took.
    pub timings: Vec<(&'static str, Duration)>,
}

impl Findings {
    /// Records that the part `name` ended now, since `*since`.
    fn mark(&mut self, name: &'static str, since: &mut Instant) {
        let now = Instant::now();
        self.timings.push((name, now - *since));
        *since = now;
    }
}

/// The last path segment of the request a prefix rule is probed with.
const PROBE: &str = "redirects-lint-probe";

/// At most this many hops are followed past a prefix rule or a change of
/// host (where no hop can be remembered) before the chain counts as a loop
/// that grows (`/a/x` -> `/b/x/x` -> `/a/x/x` ...).
const MAX_FOLLOWED: usize = 64;

/// Removes duplicate rules (reporting each), then checks targets: a prefix
/// rule whose target is under its own prefix with the rest of the path is
/// an error, and so is a rule whose target is its own source and a loop;
/// a chain A -> B -> C is collapsed to A -> C with a warning. With
/// `netlify`, rules that an earlier splat rule covers are reported.
///
/// Returns the bytes of the table the rules build (after the chains are
/// collapsed), so the build need not build it again; when chains were
/// collapsed, only with `build` and no error found here.
pub fn lint(
    rules: &mut Vec<Rule>,
    opts: TableOptions,
    netlify: bool,
    build: bool,
    out: &mut Findings,
) -> Option<Vec<u8>> {
    let mut t = Instant::now();
    let mut keys: Vec<Vec<u8>> = parallel_map(rules, |_, r| r.key());
    out.mark("lint: keys", &mut t);
    // Build the table (mostly on one thread) while this thread
    // does the checks that need no table. The build finds duplicate keys
    // when it sorts them: then they are removed, and it starts again.
    let (bytes, mut prepared, table, checks) = loop {
        let (built, checks) = std::thread::scope(|s| {
            let build = s.spawn(|| {
                let t = Instant::now();
                let entries = table_entries(&keys, rules);
                let (bytes, prepared) = match TableBuilder::build_again(opts, &entries) {
                    Ok(built) => built,
                    Err(FormatError::DuplicateKey(_)) => return None,
                    Err(e) => panic!("a table of unique keys builds: {e}"),
                };
                let built = t.elapsed();
                // Not checked key by key here: the lookup's loader checks
                // the table file when Wizer runs it.
                let table = Table::from_written(bytes.clone(), keys.iter().map(Vec::as_slice))
                    .expect("a fresh table reads back");
                Some((bytes, prepared, table, built, t.elapsed() - built))
            });
            let checks = TableFree::check(rules, opts);
            (
                build.join().expect("no panic while building the table"),
                checks,
            )
        });
        let Some((bytes, prepared, table, build_took, load_took)) = built else {
            remove_duplicates(rules, &mut keys, out);
            out.mark("lint: duplicates", &mut t);
            continue;
        };
        out.timings.extend(checks.timings.iter().copied());
        out.timings.push(("lint: build table", build_took));
        out.timings.push(("lint: load table", load_took));
        break (bytes, prepared, table, checks);
    };
    out.mark("lint: table ready", &mut t);
    if netlify {
        shadowed(rules, out);
    }
    out.errors.extend(checks.errors);
    let collapsed = {
        let follow = Follow {
            table: &table,
            keys: &keys,
            index: OnceLock::new(),
            scope: Scope {
                hosts: &checks.hosts,
                paths: &checks.paths,
                opts,
            },
            reported: &checks.reported,
        };
        chains(rules, &follow, &checks.may_hop, out, &mut t)
    };
    if collapsed.is_empty() {
        return Some(bytes);
    }
    // The first table is no longer needed.
    drop((table, bytes));
    let changed: Vec<usize> = collapsed.iter().map(|c| c.0).collect();
    for (i, target) in collapsed {
        rules[i].target = target;
    }
    if !build || !out.errors.is_empty() {
        return None;
    }
    // Only the collapsed targets changed: the keys' part of the build
    // (dictionary, encoding, order) stands.
    let entries = table_entries(&keys, rules);
    let bytes = prepared
        .rebuild(&entries, &changed)
        .expect("the keys built before");
    out.mark("lint: build again", &mut t);
    Some(bytes)
}

/// The rules as the table builder takes them: key, target, status, flags.
fn table_entries<'a>(
    keys: &'a [Vec<u8>],
    rules: &'a [Rule],
) -> Vec<(
    &'a [u8],
    &'a str,
    redirects_format::Status,
    redirects_format::Flags,
)> {
    keys.iter()
        .zip(rules)
        .map(|(key, rule)| {
            (
                key.as_slice(),
                rule.target.as_str(),
                rule.status,
                rule.flags,
            )
        })
        .collect()
}

/// Removes the rules whose key an earlier rule has (the first one wins),
/// reporting each.
fn remove_duplicates(rules: &mut Vec<Rule>, keys: &mut Vec<Vec<u8>>, out: &mut Findings) {
    let (_, duplicates) = index_keys(keys);
    let mut duplicate = vec![false; rules.len()];
    for &(i, first) in &duplicates {
        duplicate[i] = true;
        out.errors.push((
            rules[i].line,
            ErrorKind::DuplicateSource {
                source: rules[i].source.clone(),
                first_line: rules[first].line,
            },
        ));
    }
    let mut at = 0..;
    rules.retain(|_| !duplicate[at.next().expect("endless")]);
    let mut at = 0..;
    keys.retain(|_| !duplicate[at.next().expect("endless")]);
}

/// What the checks find without the table: prefix rules redirecting under
/// their own prefix, the hosts and paths the rules name, and which
/// targets may match a rule at all.
struct TableFree {
    hosts: Hosts,
    paths: Paths,
    /// `UnderOwnPrefix` errors, by line.
    errors: Vec<(usize, ErrorKind)>,
    /// The rules with such an error (not followed).
    reported: HashSet<usize>,
    /// Whether each rule's target may match a rule (a prefix rule is
    /// always probed).
    may_hop: Vec<bool>,
    timings: Vec<(&'static str, Duration)>,
}

impl TableFree {
    fn check(rules: &[Rule], opts: TableOptions) -> TableFree {
        let mut t = Instant::now();
        let hosts = Hosts::new(rules);
        let mut errors = Vec::new();
        let mut reported = HashSet::new();
        for (i, rule) in rules.iter().enumerate() {
            if under_own_prefix(rule, &hosts, opts) {
                reported.insert(i);
                errors.push((
                    rule.line,
                    ErrorKind::UnderOwnPrefix {
                        source: rule.source.clone(),
                        target: rule.target.clone(),
                    },
                ));
            }
        }
        let own_prefixes = t.elapsed();
        t = Instant::now();
        let paths = Paths::new(rules);
        let scope = Scope {
            hosts: &hosts,
            paths: &paths,
            opts,
        };
        let may_hop: Vec<bool> = rules
            .iter()
            .map(|r| r.prefix || scope.request(&r.target, r.host.as_deref()).is_some())
            .collect();
        let timings = vec![
            ("lint: own prefixes", own_prefixes),
            ("lint: targets to follow", t.elapsed()),
        ];
        TableFree {
            hosts,
            paths,
            errors,
            reported,
            may_hop,
            timings,
        }
    }
}

/// Each key's rule.
type Index<'k> = FxHashMap<&'k [u8], usize>;

/// Each key's rule, and the rules whose key an earlier rule has (with
/// that rule).
fn index_keys(keys: &[Vec<u8>]) -> (Index<'_>, Vec<(usize, usize)>) {
    let mut index: Index = FxHashMap::with_capacity_and_hasher(keys.len(), Default::default());
    let mut duplicates = Vec::new();
    for (i, key) in keys.iter().enumerate() {
        match index.entry(key.as_slice()) {
            Entry::Occupied(first) => duplicates.push((i, *first.get())),
            Entry::Vacant(v) => {
                v.insert(i);
            }
        }
    }
    (index, duplicates)
}

/// The hosts the rules name: a request for another host (a target on
/// another site) is not followed, since this table does not serve it.
struct Hosts {
    named: HashSet<String>,
    with_subdomains: HashSet<String>,
}

impl Hosts {
    fn new(rules: &[Rule]) -> Hosts {
        let mut hosts = Hosts {
            named: HashSet::new(),
            with_subdomains: HashSet::new(),
        };
        for rule in rules {
            if let Some(h) = &rule.host {
                hosts.named.insert(h.clone());
                if rule.flags.include_subdomains {
                    hosts.with_subdomains.insert(h.clone());
                }
            }
        }
        hosts
    }

    /// Whether a rule names this (normalised) host, or a parent of it
    /// with `*.`: the hosts the table is known to serve.
    fn served(&self, host: &str) -> bool {
        host_candidates(Some(host)).any(|c| {
            if c.parent {
                self.with_subdomains.contains(c.host)
            } else {
                self.named.contains(c.host)
            }
        })
    }
}

/// The normalised paths of the rules (of every host), as hashes: a
/// request whose path is no exact rule's path and has no prefix rule's
/// prefix (at a segment boundary, as [`Table::find`] walks them) matches
/// no rule. A hash collision only means one more lookup.
struct Paths {
    exact: FxHashSet<u64>,
    prefixes: FxHashSet<u64>,
}

impl Paths {
    fn new(rules: &[Rule]) -> Paths {
        let mut paths = Paths {
            exact: FxHashSet::default(),
            prefixes: FxHashSet::default(),
        };
        for rule in rules {
            if rule.prefix {
                // The prefix as its key files it (after the empty host).
                let key = prefix_key("", &rule.path);
                paths.prefixes.insert(hash_bytes(&key[1..]));
            } else {
                paths.exact.insert(hash_bytes(&rule.path));
            }
        }
        paths
    }

    /// Whether some rule may match a request for the normalised `path`.
    fn may_match(&self, path: &[u8]) -> bool {
        if self.exact.contains(&hash_bytes(path)) {
            return true;
        }
        !self.prefixes.is_empty()
            && (0..=path.len())
                .filter(|&i| i == path.len() || path[i] == b'/')
                .any(|i| self.prefixes.contains(&hash_bytes(&path[..i])))
    }
}

/// Whether a prefix rule copies the rest of the path (`:splat` or
/// `preserve-suffix`) into a target under its own prefix, on a host it
/// matches: then every answer matches it again (`/docs/* /docs/x/:splat`).
fn under_own_prefix(rule: &Rule, hosts: &Hosts, opts: TableOptions) -> bool {
    let splat = rule.target.find(":splat");
    if !rule.prefix || (splat.is_none() && !rule.flags.preserve_suffix) {
        return false;
    }
    let Some(url) = Url::parse(&rule.target) else {
        return false;
    };
    if let Some(h) = url.host() {
        let Some(h) = normalize_host(h) else {
            return false;
        };
        let same = match &rule.host {
            Some(own) => {
                *own == h || (rule.flags.include_subdomains && h.ends_with(&format!(".{own}")))
            }
            None => hosts.served(&h),
        };
        if !same {
            return false;
        }
    }
    // The part of the path the rule writes itself: up to the splat when
    // the splat is in the path, else all of it.
    let path = url.request_path();
    let fixed = match splat.and_then(|at| at.checked_sub(url.path_start())) {
        Some(at) if at < url.path.len() => &path[..at],
        _ => path,
    };
    let Some(fixed) = normalize_path(if fixed.is_empty() { "/" } else { fixed }, opts) else {
        return false;
    };
    let prefix: &[u8] = if rule.path == b"/" { b"" } else { &rule.path };
    fixed.starts_with(prefix) && matches!(fixed.get(prefix.len()), None | Some(b'/'))
}

/// Where a request goes next.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    /// No rule matches (or the host is not served here).
    End,
    /// Rule `rule` answers the request with the request itself, which
    /// the lookup drops.
    ToItself { rule: usize },
    /// Rule `rule` redirects to `location`; `host` is the host the
    /// request was for (a relative `location` stays on it).
    Hop {
        rule: usize,
        location: String,
        host: Option<String>,
    },
}

/// What can be known of a request without the table: whether it is for
/// a host the table serves, and whether its path may match a rule.
struct Scope<'a> {
    hosts: &'a Hosts,
    paths: &'a Paths,
    opts: TableOptions,
}

impl Scope<'_> {
    /// The parts of a request for `location` after a redirect answered for
    /// `host`, and the host it is for; `None` when no rule can match it
    /// (a host this table does not serve, a path no rule names).
    fn request<'l>(
        &self,
        location: &'l str,
        host: Option<&str>,
    ) -> Option<(Url<'l>, Option<String>)> {
        let url = Url::parse(location)?;
        let host = match url.host() {
            Some(h) => match normalize_host(h) {
                Some(h) if self.hosts.served(&h) => Some(h),
                _ => return None,
            },
            None => host.map(str::to_string),
        };
        // Most targets match no rule: a path no rule names (of any host)
        // is answered without the table.
        let path = url.request_path();
        let may_match = if is_normalized(path, self.opts) {
            self.paths.may_match(path.as_bytes())
        } else {
            normalize_path(path, self.opts).is_some_and(|p| self.paths.may_match(&p))
        };
        may_match.then_some((url, host))
    }
}

/// Whether [`normalize_path`] would return `path` as it is (most targets):
/// no escape, no empty, `.` or `..` segment, no trailing slash, and no
/// upper case to lower in a case-insensitive table.
fn is_normalized(path: &str, opts: TableOptions) -> bool {
    let bytes = path.as_bytes();
    if path == "/" {
        return true;
    }
    if !path.starts_with('/') || path.ends_with('/') || bytes.contains(&b'%') {
        return false;
    }
    if opts.case_insensitive
        && bytes
            .iter()
            .any(|b| !b.is_ascii() || b.is_ascii_uppercase())
    {
        return false;
    }
    path[1..]
        .split('/')
        .all(|seg| !seg.is_empty() && seg != "." && seg != "..")
}

/// Follows requests through the table as a browser would.
struct Follow<'a> {
    table: &'a Table,
    /// Each rule's key.
    keys: &'a [Vec<u8>],
    /// Each key's rule, made when a request matches a rule other than
    /// the one expected.
    index: OnceLock<Index<'a>>,
    scope: Scope<'a>,
    /// Rules already reported (not followed again).
    reported: &'a HashSet<usize>,
}

impl Follow<'_> {
    /// Requests `location` after a redirect answered for `host`
    /// (`expect`: the rule it likely matches, if known).
    fn step(&self, location: &str, host: Option<&str>, expect: Option<usize>) -> Step {
        let Some((url, host)) = self.scope.request(location, host) else {
            return Step::End;
        };
        let req = Request {
            host: host.as_deref(),
            path: url.request_path(),
            query: url.query,
        };
        let Some(m) = self.table.find(&req) else {
            return Step::End;
        };
        let rule = match expect {
            Some(i) if self.keys[i] == m.key => i,
            _ => {
                let index = self.index.get_or_init(|| index_keys(self.keys).0);
                let Some(&rule) = index.get(m.key.as_slice()) else {
                    return Step::End;
                };
                rule
            }
        };
        if m.to_itself {
            Step::ToItself { rule }
        } else {
            Step::Hop {
                rule,
                location: m.redirect.location,
                host,
            }
        }
    }

    /// The first request of a rule's chain: its target (an exact rule),
    /// or what it answers a request under its prefix (a prefix rule, whose
    /// target depends on the request); `None` if another rule takes that
    /// request, or the rule is already reported.
    fn start<'r>(&self, i: usize, rule: &'r Rule) -> Option<Start<'r>> {
        if self.reported.contains(&i) {
            return None;
        }
        if !rule.prefix {
            return Some((
                Cow::Borrowed(&rule.target),
                rule.host.as_deref().map(Cow::Borrowed),
            ));
        }
        let base: &[u8] = if rule.path == b"/" { b"" } else { &rule.path };
        let path = [base, b"/", PROBE.as_bytes()].concat();
        let path = redirects_format::url::encode_path(&path);
        match self.step(&path, rule.host.as_deref(), Some(i)) {
            Step::Hop {
                rule: r,
                location,
                host,
            } if r == i => Some((Cow::Owned(location), host.map(Cow::Owned))),
            _ => None,
        }
    }
}

/// A rule's first request: the location and the host it is for.
type Start<'r> = (Cow<'r, str>, Option<Cow<'r, str>>);

/// What a chain of redirects comes to.
#[derive(Debug, Clone)]
enum Outcome {
    /// It ends at this `Location` (already made absolute when it went
    /// through another host).
    Final(Rc<str>),
    /// It loops, or is part of a reported error.
    Bad,
    /// Not followed (a prefix rule whose probe another rule takes).
    Unknown,
}

/// The `scheme://authority` of an absolute URL.
fn origin(location: &str) -> Option<&str> {
    Url::parse(location).and_then(|u| u.origin)
}

/// A relative `location` reached through a request for `origin`'s host,
/// made absolute.
fn absolutize(location: Rc<str>, origin: Option<&str>) -> Rc<str> {
    match origin {
        Some(o) if location.starts_with('/') => format!("{o}{location}").into(),
        _ => location,
    }
}

/// Follows every rule's target, reporting self-redirects and loops, and
/// returns the chains of exact rules to collapse: each rule's new target.
/// `may_hop[i]` is false when rule `i`'s target can match no rule.
fn chains(
    rules: &[Rule],
    follow: &Follow,
    may_hop: &[bool],
    out: &mut Findings,
    t: &mut Instant,
) -> Vec<(usize, String)> {
    let starts: Vec<Option<Start>> = parallel_map(rules, |i, r| follow.start(i, r));
    out.mark("lint: starts", t);
    let first: Vec<Step> = parallel_map(&starts, |i, s| match s {
        Some((location, host)) if may_hop[i] => follow.step(location, host.as_deref(), None),
        _ => Step::End,
    });
    out.mark("lint: first steps", t);
    // A hop to rule j is remembered (j's own chain goes on from it) when
    // it asks what j's chain starts with.
    let pure = |step: &Step| match step {
        Step::Hop {
            rule: j,
            location,
            host,
        } => starts[*j].as_ref().and_then(|(s, own_host)| {
            let same_host = location.contains("://") || host.as_deref() == own_host.as_deref();
            (s == location && same_host).then_some(*j)
        }),
        _ => None,
    };

    enum State {
        Unseen,
        OnPath,
        Done(Outcome),
    }
    let mut state: Vec<State> = (0..rules.len()).map(|_| State::Unseen).collect();
    let mut reported: HashSet<Vec<usize>> = HashSet::new();
    for start in 0..rules.len() {
        let mut path = Vec::new();
        let mut i = start;
        let mut outcome = loop {
            match &state[i] {
                State::Done(o) => break o.clone(),
                State::OnPath => {
                    let pos = path.iter().position(|&p| p == i).expect("on path");
                    report_loop(rules, &path[pos..], &mut reported, out);
                    break Outcome::Bad;
                }
                State::Unseen => {}
            }
            state[i] = State::OnPath;
            path.push(i);
            if let Some(j) = pure(&first[i]) {
                i = j;
                continue;
            }
            let Some((own, _)) = &starts[i] else {
                break Outcome::Unknown;
            };
            break match &first[i] {
                Step::End => Outcome::Final(Rc::from(&**own)),
                Step::ToItself { rule } if *rule == i && !rules[i].prefix => {
                    out.errors.push((
                        rules[i].line,
                        ErrorKind::SelfRedirect {
                            source: rules[i].source.clone(),
                        },
                    ));
                    Outcome::Bad
                }
                Step::ToItself { .. } => Outcome::Final(Rc::from(&**own)),
                Step::Hop {
                    rule,
                    location,
                    host,
                } => simulate(rules, follow, *rule, location, host, &mut reported, out),
            };
        };
        // Everything on the path ends where the last one does; each adds
        // its own first request's host for a relative end.
        while let Some(p) = path.pop() {
            if let Outcome::Final(f) = &outcome {
                let own = starts[p].as_ref().map(|s| &*s.0);
                outcome = Outcome::Final(absolutize(f.clone(), own.and_then(origin)));
            }
            state[p] = State::Done(outcome.clone());
        }
    }
    out.mark("lint: chains", t);

    let mut collapsed = Vec::new();
    for (i, rule) in rules.iter().enumerate() {
        let State::Done(Outcome::Final(f)) = &state[i] else {
            continue;
        };
        if rule.prefix || !matches!(first[i], Step::Hop { .. }) || **f == *rule.target {
            continue;
        }
        out.warnings.push((
            rule.line,
            WarningKind::ChainCollapsed {
                source: rule.source.clone(),
                via: rule.target.clone(),
                target: f.to_string(),
            },
        ));
        collapsed.push((i, f.to_string()));
    }
    out.mark("lint: collapse", t);
    collapsed
}

/// Follows a chain from a hop that cannot be remembered (through a
/// prefix rule, or onto another host), request by request.
fn simulate(
    rules: &[Rule],
    follow: &Follow,
    mut rule: usize,
    location: &str,
    host: &Option<String>,
    reported: &mut HashSet<Vec<usize>>,
    out: &mut Findings,
) -> Outcome {
    let mut location = location.to_string();
    let mut host = host.clone();
    let mut last_origin = origin(&location).map(str::to_string);
    let mut seen: Vec<(usize, String, Option<String>)> = Vec::new();
    for _ in 0..MAX_FOLLOWED {
        let here = (rule, location.clone(), host.clone());
        if let Some(pos) = seen.iter().position(|s| *s == here) {
            let cycle: Vec<usize> = seen[pos..].iter().map(|s| s.0).collect();
            report_loop(rules, &cycle, reported, out);
            return Outcome::Bad;
        }
        seen.push(here);
        match follow.step(&location, host.as_deref(), None) {
            Step::End | Step::ToItself { .. } => {
                return Outcome::Final(absolutize(location.into(), last_origin.as_deref()));
            }
            Step::Hop {
                rule: r,
                location: l,
                host: h,
            } => {
                if let Some(o) = origin(&l) {
                    last_origin = Some(o.to_string());
                }
                (rule, location, host) = (r, l, h);
            }
        }
    }
    let mut cycle: Vec<usize> = Vec::new();
    for (r, ..) in seen {
        if !cycle.contains(&r) {
            cycle.push(r);
        }
    }
    report_loop(rules, &cycle, reported, out);
    Outcome::Bad
}

/// Reports a loop once, on the line of its first rule (by line), listing
/// the rules from there.
fn report_loop(
    rules: &[Rule],
    cycle: &[usize],
    reported: &mut HashSet<Vec<usize>>,
    out: &mut Findings,
) {
    let at = (0..cycle.len())
        .min_by_key(|&c| rules[cycle[c]].line)
        .expect("a loop has a rule");
    let ordered: Vec<usize> = cycle[at..].iter().chain(&cycle[..at]).copied().collect();
    if !reported.insert(ordered.clone()) {
        return;
    }
    let first = &rules[ordered[0]];
    let chain = ordered
        .iter()
        .map(|&c| (rules[c].source.clone(), rules[c].line))
        .collect();
    out.errors.push((first.line, ErrorKind::Loop { chain }));
}

/// `f` over `items` on two threads (following a million targets is
/// worth it), results in order.
fn parallel_map<'a, T: Sync, R: Send>(
    items: &'a [T],
    f: impl Fn(usize, &'a T) -> R + Sync,
) -> Vec<R> {
    if items.len() < 10_000 {
        return items.iter().enumerate().map(|(i, t)| f(i, t)).collect();
    }
    let half = items.len() / 2;
    let (a, b) = items.split_at(half);
    std::thread::scope(|s| {
        let f = &f;
        let second = s.spawn(move || {
            b.iter()
                .enumerate()
                .map(|(i, t)| f(half + i, t))
                .collect::<Vec<_>>()
        });
        let mut out: Vec<R> = a.iter().enumerate().map(|(i, t)| f(i, t)).collect();
        out.extend(second.join().expect("lint thread"));
        out
    })
}

/// Netlify applies the first matching rule: a rule below a splat rule that
/// covers it is never reached there. Report it, since here it wins.
fn shadowed(rules: &[Rule], out: &mut Findings) {
    let mut splats: HashMap<(Option<&str>, &[u8]), usize> = HashMap::new();
    for rule in rules {
        let host = rule.host.as_deref();
        let path: &[u8] = if rule.path == b"/" { b"" } else { &rule.path };
        let covering = (0..=path.len())
            .filter(|&i| i == path.len() || path[i] == b'/')
            .filter(|&i| !(rule.prefix && i == path.len()))
            .find_map(|i| splats.get(&(host, &path[..i])).copied());
        if let Some(by_line) = covering {
            out.warnings
                .push((rule.line, WarningKind::Shadowed { by_line }));
        }
        if rule.prefix {
            splats.entry((host, path)).or_insert(rule.line);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalized_paths_are_recognised() {
        let paths = [
            "/", "/a", "/a/b", "/a/", "//a", "/a//b", "/./a", "/a/.", "/a/..", "/a/../b", "/.a/b.",
            "/...", "/a%20b", "/A", "/café", "a", "", "/a?b", "/a\\b",
        ];
        for case_insensitive in [false, true] {
            for strict_trailing_slash in [false, true] {
                let opts = TableOptions {
                    case_insensitive,
                    strict_trailing_slash,
                };
                for p in paths {
                    if is_normalized(p, opts) {
                        assert_eq!(
                            normalize_path(p, opts).as_deref(),
                            Some(p.as_bytes()),
                            "{p:?} {opts:?}"
                        );
                    }
                }
                assert!(is_normalized("/a/b.html", opts));
            }
        }
    }
}
