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
use redirects_format::url::{host_candidates, Url};
use redirects_format::{
    normalize_host, normalize_path, Request, Table, TableBuilder, TableOptions,
};
use std::collections::{HashMap, HashSet};

/// Findings: `(line, error)` and `(line, warning)`.
#[derive(Default)]
pub struct Findings {
    /// Errors by line.
    pub errors: Vec<(usize, ErrorKind)>,
    /// Warnings by line.
    pub warnings: Vec<(usize, WarningKind)>,
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
/// Returns the bytes of the table the rules build when no rule changed
/// (so the build need not build it again).
pub fn lint(
    rules: &mut Vec<Rule>,
    opts: TableOptions,
    netlify: bool,
    out: &mut Findings,
) -> Option<Vec<u8>> {
    let mut index: HashMap<Vec<u8>, usize> = HashMap::with_capacity(rules.len());
    let mut kept = Vec::with_capacity(rules.len());
    for rule in rules.drain(..) {
        let key = rule.key();
        if let Some(&first) = index.get(&key) {
            let first_line: &Rule = &kept[first];
            out.errors.push((
                rule.line,
                ErrorKind::DuplicateSource {
                    source: rule.source.clone(),
                    first_line: first_line.line,
                },
            ));
            continue;
        }
        index.insert(key, kept.len());
        kept.push(rule);
    }
    *rules = kept;
    if netlify {
        shadowed(rules, out);
    }
    let hosts = Hosts::new(rules);
    let mut reported = HashSet::new();
    for (i, rule) in rules.iter().enumerate() {
        if under_own_prefix(rule, &hosts, opts) {
            reported.insert(i);
            out.errors.push((
                rule.line,
                ErrorKind::UnderOwnPrefix {
                    source: rule.source.clone(),
                    target: rule.target.clone(),
                },
            ));
        }
    }

    let mut builder = TableBuilder::new(opts);
    for rule in rules.iter() {
        builder.insert(rule.key(), rule.target.clone(), rule.status, rule.flags);
    }
    let bytes = builder.finish().expect("duplicate keys were removed");
    let table = Table::from_bytes(bytes.clone()).expect("a fresh table reads back");
    let follow = Follow {
        table: &table,
        index: &index,
        hosts: &hosts,
        reported: &reported,
    };
    let changed = chains(rules, &follow, out);
    (!changed).then_some(bytes)
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

/// Follows requests through the table as a browser would.
struct Follow<'a> {
    table: &'a Table,
    index: &'a HashMap<Vec<u8>, usize>,
    hosts: &'a Hosts,
    /// Rules already reported (not followed again).
    reported: &'a HashSet<usize>,
}

impl Follow<'_> {
    /// Requests `location` after a redirect answered for `host`.
    fn step(&self, location: &str, host: Option<&str>) -> Step {
        let Some(url) = Url::parse(location) else {
            return Step::End;
        };
        let host = match url.host() {
            Some(h) => match normalize_host(h) {
                Some(h) if self.hosts.served(&h) => Some(h),
                _ => return Step::End,
            },
            None => host.map(str::to_string),
        };
        let req = Request {
            host: host.as_deref(),
            path: url.request_path(),
            query: url.query,
        };
        let Some(m) = self.table.find(&req) else {
            return Step::End;
        };
        let Some(&rule) = self.index.get(&m.key) else {
            return Step::End;
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
    fn start(&self, i: usize, rule: &Rule) -> Option<(String, Option<String>)> {
        if self.reported.contains(&i) {
            return None;
        }
        if !rule.prefix {
            return Some((rule.target.clone(), rule.host.clone()));
        }
        let base: &[u8] = if rule.path == b"/" { b"" } else { &rule.path };
        let path = [base, b"/", PROBE.as_bytes()].concat();
        let path = redirects_format::url::encode_path(&path);
        match self.step(&path, rule.host.as_deref()) {
            Step::Hop {
                rule: r,
                location,
                host,
            } if r == i => Some((location, host)),
            _ => None,
        }
    }
}

/// What a chain of redirects comes to.
#[derive(Debug, Clone)]
enum Outcome {
    /// It ends at this `Location` (already made absolute when it went
    /// through another host).
    Final(String),
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
fn absolutize(location: String, origin: Option<&str>) -> String {
    match origin {
        Some(o) if location.starts_with('/') => format!("{o}{location}"),
        _ => location,
    }
}

/// Follows every rule's target, reporting self-redirects and loops and
/// collapsing chains of exact rules; returns whether a target changed.
fn chains(rules: &mut [Rule], follow: &Follow, out: &mut Findings) -> bool {
    let starts: Vec<Option<(String, Option<String>)>> =
        parallel_map(rules, |i, r| follow.start(i, r));
    let first: Vec<Step> = parallel_map(&starts, |_, s| match s {
        Some((location, host)) => follow.step(location, host.as_deref()),
        None => Step::End,
    });
    // A hop to rule j is remembered (j's own chain goes on from it) when
    // it asks what j's chain starts with.
    let pure = |step: &Step| match step {
        Step::Hop {
            rule: j,
            location,
            host,
        } => starts[*j].as_ref().and_then(|(s, own_host)| {
            let same_host = location.contains("://") || host == own_host;
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
                Step::End => Outcome::Final(own.clone()),
                Step::ToItself { rule } if *rule == i && !rules[i].prefix => {
                    out.errors.push((
                        rules[i].line,
                        ErrorKind::SelfRedirect {
                            source: rules[i].source.clone(),
                        },
                    ));
                    Outcome::Bad
                }
                Step::ToItself { .. } => Outcome::Final(own.clone()),
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
                let own = starts[p].as_ref().map(|s| s.0.as_str());
                outcome = Outcome::Final(absolutize(f.clone(), own.and_then(origin)));
            }
            state[p] = State::Done(outcome.clone());
        }
    }

    let mut changed = false;
    for (i, rule) in rules.iter_mut().enumerate() {
        let State::Done(Outcome::Final(f)) = &state[i] else {
            continue;
        };
        if rule.prefix || !matches!(first[i], Step::Hop { .. }) || *f == rule.target {
            continue;
        }
        out.warnings.push((
            rule.line,
            WarningKind::ChainCollapsed {
                source: rule.source.clone(),
                via: rule.target.clone(),
                target: f.clone(),
            },
        ));
        rule.target = f.clone();
        changed = true;
    }
    changed
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
        match follow.step(&location, host.as_deref()) {
            Step::End | Step::ToItself { .. } => {
                return Outcome::Final(absolutize(location, last_origin.as_deref()));
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
fn parallel_map<T: Sync, R: Send>(items: &[T], f: impl Fn(usize, &T) -> R + Sync) -> Vec<R> {
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
