//! Checks across rules: duplicates, self-redirects, loops, chains (which
//! are collapsed), and rules a Netlify splat would shadow.

use crate::error::{ErrorKind, WarningKind};
use crate::rule::{strip_scheme, Rule};
use redirects_format::{exact_key, normalize_host, normalize_path, TableOptions};
use std::collections::HashMap;

/// Findings: `(line, error)` and `(line, warning)`.
#[derive(Default)]
pub struct Findings {
    /// Errors by line.
    pub errors: Vec<(usize, ErrorKind)>,
    /// Warnings by line.
    pub warnings: Vec<(usize, WarningKind)>,
}

/// Removes duplicate rules (reporting each), then checks targets: a rule
/// whose target is its own source is an error, and so is a loop; a chain
/// A -> B -> C is collapsed to A -> C with a warning. With `netlify`, rules
/// that an earlier splat rule covers are reported.
pub fn lint(rules: &mut Vec<Rule>, opts: TableOptions, netlify: bool, out: &mut Findings) {
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

    // next[i]: the exact rule that a request for rule i's target would hit.
    let next: Vec<Option<usize>> = rules
        .iter()
        .map(|r| {
            target_keys(r, opts)
                .into_iter()
                .find_map(|k| index.get(&k).copied())
        })
        .collect();
    // Resolve each chain once: end[i] is the last rule of i's chain.
    const UNSEEN: usize = usize::MAX;
    const ON_PATH: usize = usize::MAX - 1;
    const IN_LOOP: usize = usize::MAX - 2;
    let mut end = vec![UNSEEN; rules.len()];
    for start in 0..rules.len() {
        let mut path = Vec::new();
        let mut i = start;
        let found = loop {
            match end[i] {
                UNSEEN => {}
                ON_PATH => break None,
                IN_LOOP => break Some(IN_LOOP),
                e => break Some(e),
            }
            end[i] = ON_PATH;
            path.push(i);
            match next[i] {
                Some(n) => i = n,
                None => break Some(i),
            }
        };
        match found {
            Some(e) => path.iter().for_each(|&p| end[p] = e),
            None => {
                // `i` is on the path twice: the loop is path[pos..].
                let pos = path
                    .iter()
                    .position(|&p| p == i)
                    .expect("loop start on path");
                let cycle = &path[pos..];
                let first = *cycle
                    .iter()
                    .min_by_key(|&&c| rules[c].line)
                    .expect("non-empty");
                if cycle.len() == 1 {
                    out.errors.push((
                        rules[first].line,
                        ErrorKind::SelfRedirect {
                            source: rules[first].source.clone(),
                        },
                    ));
                } else {
                    let at = cycle.iter().position(|&c| c == first).expect("member");
                    let chain = cycle[at..]
                        .iter()
                        .chain(&cycle[..at])
                        .map(|&c| (rules[c].source.clone(), rules[c].line))
                        .collect();
                    out.errors
                        .push((rules[first].line, ErrorKind::Loop { chain }));
                }
                path.iter().for_each(|&p| end[p] = IN_LOOP);
            }
        }
    }
    for i in 0..rules.len() {
        let e = end[i];
        if e != IN_LOOP && next[i].is_some() && e != i {
            let target = rules[e].target.clone();
            let rule = &mut rules[i];
            out.warnings.push((
                rule.line,
                WarningKind::ChainCollapsed {
                    source: rule.source.clone(),
                    via: rule.target.clone(),
                    target: target.clone(),
                },
            ));
            rule.target = target;
        }
    }
}

/// The keys a request for the rule's target would be looked up under
/// (exact rules only; targets on other hosts, prefix rules and splats are
/// not followed).
fn target_keys(rule: &Rule, opts: TableOptions) -> Vec<Vec<u8>> {
    if rule.prefix {
        return Vec::new();
    }
    let (host, rest) = if rule.target.starts_with('/') {
        (rule.host.clone(), rule.target.as_str())
    } else {
        let Some(after) = strip_scheme(&rule.target) else {
            return Vec::new();
        };
        let end = after.find(['/', '?', '#']).unwrap_or(after.len());
        let host = normalize_host(&after[..end]);
        if host.is_none() || host != rule.host {
            return Vec::new();
        }
        (
            host,
            if end == after.len() {
                "/"
            } else {
                &after[end..]
            },
        )
    };
    let rest = rest.split('#').next().unwrap_or_default();
    let (path, query) = match rest.split_once('?') {
        Some((p, q)) => (p, Some(q).filter(|q| !q.is_empty())),
        None => (rest, None),
    };
    let path = if path.is_empty() { "/" } else { path };
    let Some(path) = normalize_path(path, opts) else {
        return Vec::new();
    };
    let mut keys = Vec::with_capacity(4);
    for h in [host.as_deref(), None].into_iter().flatten().chain([""]) {
        if let Some(q) = query {
            keys.push(exact_key(h, &path, Some(q)));
        }
        keys.push(exact_key(h, &path, None));
    }
    keys.dedup();
    keys
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
