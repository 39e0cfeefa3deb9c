//! `./x bench-lookup`: nanoseconds per lookup, natively
//! ([`redirects_format::Table::resolve`]) and through the lookup
//! component's boundary (a typed call into the Wizer-initialised component
//! in the embedded wasmtime, strings lowered and lifted), for hits and
//! misses, without a `Host` and with one.
//!
//! Two rule sets of the same size are built from the generator
//! ([`crate::gen`]):
//!
//! - `no-host`: the generated rules without the host rules (a table that
//!   names no host, so every `Host` header is one no rule names);
//! - `hosts`: the generated rules as they are, host rules included
//!   (`https://de.example.com/...`), measured with a `Host` no rule names
//!   and with one that rules name.
//!
//! Hits are the rules' own sources (prefix rules with two more segments);
//! misses alternate a hit's path with a segment changed at its end (the search
//! goes as far as for a hit before it fails) and paths under a directory no rule names.
//! Every hit is checked to resolve and every miss not to, natively, before
//! anything is timed.
//!
//! Each combination is timed twice: as the table is loaded, and after the
//! keys are hashed (`Table::hash_keys`, the lookup component's
//! `prepare#hash-keys`: what `redirects serve --engine native` does).
//!
//! Each figure is the best of three passes over the list, counted in the
//! time the measuring thread was on a CPU (Linux's
//! `CLOCK_THREAD_CPUTIME_ID`; wall time elsewhere), so that other
//! processes sharing the machine's cores inflate it less.

use anyhow::{ensure, Context, Result};
use redirects_format::{Request, Table};
use std::fmt::Write as _;
use std::time::Instant;

/// A `Host` that no generated rule names.
pub const UNNAMED_HOST: &str = "www.example.com";
/// A `Host` that generated host rules name.
pub const NAMED_HOST: &str = "de.example.com";

/// The seed of the native hash (a fixed one: the figures do not depend on
/// it, and a run is repeatable).
const SEED: [u64; 2] = [0x243f_6a88_85a3_08d3, 0x1319_8a2e_0370_7344];

/// Where a lookup runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// `Table::resolve` in this process.
    Native,
    /// The lookup component through a typed call.
    Component,
}

/// The `Host` a request carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostKind {
    /// No `Host`.
    None,
    /// [`UNNAMED_HOST`].
    Unnamed,
    /// [`NAMED_HOST`] (host rules' own host for their hits).
    Named,
}

impl HostKind {
    fn label(self) -> &'static str {
        match self {
            HostKind::None => "no Host",
            HostKind::Unnamed => "Host no rule names",
            HostKind::Named => "Host rules name",
        }
    }
}

/// One measured combination.
#[derive(Debug, Clone)]
pub struct Row {
    /// The rule set (`no-host` or `hosts`).
    pub shape: &'static str,
    /// Native or through the component.
    pub via: Via,
    /// Hits (`true`) or misses.
    pub hit: bool,
    /// The `Host` the requests carry.
    pub host: HostKind,
    /// With the keys hashed.
    pub hashed: bool,
    /// Nanoseconds per lookup.
    pub ns: f64,
}

/// What [`measure`] found.
#[derive(Debug, Clone)]
pub struct Figures {
    /// Rules in each table.
    pub rules: usize,
    /// Requests timed per combination (each pass).
    pub requests: usize,
    /// Table bytes per rule of the `no-host` table.
    pub bytes_per_rule: f64,
    /// Every combination, `no-host` first.
    pub rows: Vec<Row>,
}

impl Figures {
    /// The nanoseconds of one combination of the `no-host` rule set (the
    /// sixteen headline figures), if measured.
    pub fn ns(&self, via: Via, hashed: bool, hit: bool, host: bool) -> Option<f64> {
        let host = if host {
            HostKind::Unnamed
        } else {
            HostKind::None
        };
        self.rows
            .iter()
            .find(|r| {
                r.shape == "no-host"
                    && r.via == via
                    && r.hashed == hashed
                    && r.hit == hit
                    && r.host == host
            })
            .map(|r| r.ns)
    }

    /// One line for `./x bench`: the sixteen `no-host` figures.
    pub fn line(&self) -> String {
        let four = |via, hashed| {
            let f = |hit, host| {
                self.ns(via, hashed, hit, host)
                    .map_or("-".into(), |ns| format!("{ns:.0}"))
            };
            format!(
                "{}/{} {}/{}",
                f(true, false),
                f(false, false),
                f(true, true),
                f(false, true)
            )
        };
        format!(
            "lookup ns ({} rules; hit/miss, without/with Host): native {} (keys hashed: {}), \
             component {} (keys hashed: {})",
            self.rules,
            four(Via::Native, false),
            four(Via::Native, true),
            four(Via::Component, false),
            four(Via::Component, true),
        )
    }

    /// Every row as a Markdown table.
    pub fn render(&self) -> String {
        let mut s = format!(
            "{} rules per table, {} requests per pass, `no-host` table {:.1} B/rule\n\n\
             | rules | via | keys | requests | Host | ns/lookup |\n|---|---|---|---|---|---:|\n",
            self.rules, self.requests, self.bytes_per_rule
        );
        for r in &self.rows {
            let via = match r.via {
                Via::Native => "native",
                Via::Component => "component",
            };
            let kind = if r.hit { "hits" } else { "misses" };
            let keys = if r.hashed { "hashed" } else { "as loaded" };
            let _ = writeln!(
                s,
                "| {} | {via} | {keys} | {kind} | {} | {:.0} |",
                r.shape,
                r.host.label(),
                r.ns
            );
        }
        s
    }
}

/// A request as owned strings.
#[derive(Debug, Clone)]
struct Req {
    host: Option<String>,
    path: String,
}

impl Req {
    fn native(&self) -> Request<'_> {
        Request {
            host: self.host.as_deref(),
            path: &self.path,
            query: None,
        }
    }

    fn component(&self) -> redirects::lookup::Request<'_> {
        self.native().into()
    }
}

/// One rule set: its table and request lists.
struct Shape {
    name: &'static str,
    table: Vec<u8>,
    /// (hit, host kind, requests)
    lists: Vec<(bool, HostKind, Vec<Req>)>,
}

/// Options of [`measure`].
#[derive(Debug, Clone)]
pub struct LookupBenchOptions {
    /// Generated rules per table.
    pub rules: usize,
    /// Requests per list (hits or misses).
    pub requests: usize,
    /// Also time the lookup component (builds it with Wizer: slow at 1M).
    pub component: bool,
}

impl Default for LookupBenchOptions {
    fn default() -> LookupBenchOptions {
        LookupBenchOptions {
            rules: 1_000_000,
            requests: 200_000,
            component: true,
        }
    }
}

/// Builds the two tables and times every combination.
pub fn measure(opts: &LookupBenchOptions, progress: &dyn Fn(&str)) -> Result<Figures> {
    let dir = crate::target_dir().join("bench-lookup");
    std::fs::create_dir_all(&dir)?;
    let mut text = Vec::new();
    // Extra rules so that `no-host` still has `rules` after dropping the
    // host rules.
    crate::gen::generate(
        opts.rules + opts.rules / 10 + 100,
        crate::gen::DEFAULT_SEED,
        &mut text,
    )?;
    let text = String::from_utf8(text).context("generated rules are UTF-8")?;
    let lines: Vec<&str> = text.lines().filter(|l| !l.starts_with('#')).collect();
    let no_host: Vec<&str> = lines
        .iter()
        .copied()
        .filter(|l| !l.starts_with("https://"))
        .take(opts.rules)
        .collect();
    let hosts: Vec<&str> = lines.iter().copied().take(opts.rules).collect();
    ensure!(no_host.len() == opts.rules, "too few generated rules");

    let mut shapes = Vec::new();
    for (name, rules) in [("no-host", &no_host), ("hosts", &hosts)] {
        progress(&format!(
            "compiling the `{name}` table ({} rules)",
            rules.len()
        ));
        shapes.push(shape(name, rules, opts.requests)?);
    }
    let bytes_per_rule = shapes[0].table.len() as f64 / opts.rules as f64;

    let mut rows = Vec::new();
    for s in &shapes {
        let table = Table::from_bytes(s.table.clone())?;
        for hashed in [false, true] {
            if hashed {
                table.hash_keys(SEED)?;
            }
            for (hit, host, reqs) in &s.lists {
                for r in reqs.iter().take(1000) {
                    let found = table.resolve(&r.native()).is_some();
                    ensure!(found == *hit, "{}: {:?} resolves to {found}", s.name, r);
                }
                let ns = time_native(&table, reqs);
                rows.push(Row {
                    shape: s.name,
                    via: Via::Native,
                    hit: *hit,
                    host: *host,
                    hashed,
                    ns,
                });
            }
        }
    }
    if opts.component {
        let engine = redirects::lookup::engine()?;
        for s in &shapes {
            progress(&format!(
                "building the `{}` lookup component (Wizer)",
                s.name
            ));
            let table_file = dir.join(format!("{}.bin", s.name));
            std::fs::write(&table_file, &s.table)?;
            let wizened = redirects::artifact::wizer(redirects::modules::LOOKUP_CORE, &table_file)?;
            let component = redirects::artifact::lookup_component(&wizened)?;
            let mut lookup =
                redirects::lookup::LookupPre::new(&engine, &component)?.instantiate()?;
            ensure!(
                lookup.rule_count()? as usize == s.table_rules(),
                "rule count"
            );
            for hashed in [false, true] {
                if hashed {
                    ensure!(lookup.hash_keys()?.is_some(), "the lookup cannot hash");
                }
                for (hit, host, reqs) in &s.lists {
                    for r in reqs.iter().take(1000) {
                        let found = lookup.lookup(r.component())?.is_some();
                        ensure!(
                            found == *hit,
                            "{} (component): {:?} resolves to {found}",
                            s.name,
                            r
                        );
                    }
                    let ns = time_component(&mut lookup, reqs)?;
                    rows.push(Row {
                        shape: s.name,
                        via: Via::Component,
                        hit: *hit,
                        host: *host,
                        hashed,
                        ns,
                    });
                }
            }
        }
    }
    Ok(Figures {
        rules: opts.rules,
        requests: opts.requests,
        bytes_per_rule,
        rows,
    })
}

impl Shape {
    fn table_rules(&self) -> usize {
        Table::from_bytes(self.table.clone()).map_or(0, |t| t.len())
    }
}

/// Compiles `rules` and picks the request lists.
fn shape(name: &'static str, rules: &[&str], requests: usize) -> Result<Shape> {
    let text = rules.join("\n") + "\n";
    let opts = redirects_compiler::Options::default();
    let report = redirects_compiler::check(std::path::Path::new("gen.txt"), text.as_bytes(), &opts);
    ensure!(
        report.errors.is_empty(),
        "generated rules have errors: {:?}",
        report.errors.first()
    );
    let table_bytes = redirects_compiler::build_table(&report, &opts);
    let table = Table::from_bytes(table_bytes.clone())?;
    // Hits: the rules' sources, spread over the whole file.
    let step = (rules.len() / requests).max(1);
    let mut hits = Vec::new();
    let mut host_hits = Vec::new();
    for (i, line) in rules.iter().enumerate() {
        let source = line.split(' ').next().unwrap_or_default();
        if let Some(rest) = source.strip_prefix("https://") {
            let (host, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
            if host == NAMED_HOST && host_hits.len() < requests {
                host_hits.push(Req {
                    host: Some(host.into()),
                    path: path.into(),
                });
            }
            continue;
        }
        if i % step != 0 || hits.len() >= requests {
            continue;
        }
        let path = match source.strip_suffix("/*") {
            Some(prefix) => format!("{prefix}/more/{i}"),
            None => source.to_string(),
        };
        hits.push(Req { host: None, path });
    }
    // Misses: a hit with its last segment changed, or a directory no rule
    // names; checked against the table.
    let mut misses = Vec::new();
    for (i, h) in hits.iter().enumerate() {
        let path = if i % 2 == 0 {
            format!("{}-gone", h.path)
        } else {
            format!("/static/img/{i}/photo.png")
        };
        let r = Req { host: None, path };
        if table.resolve(&r.native()).is_none() {
            misses.push(r);
        }
    }
    let with = |list: &[Req], host: &str| -> Vec<Req> {
        list.iter()
            .map(|r| Req {
                host: Some(host.into()),
                path: r.path.clone(),
            })
            .collect()
    };
    let mut lists = vec![
        (true, HostKind::None, hits.clone()),
        (false, HostKind::None, misses.clone()),
        (true, HostKind::Unnamed, with(&hits, UNNAMED_HOST)),
        (false, HostKind::Unnamed, with(&misses, UNNAMED_HOST)),
    ];
    if !host_hits.is_empty() {
        // Hits under the named host: its own rules and rules for every
        // host, alternately; misses: paths no rule names, under that host.
        let mut named = Vec::new();
        for (i, h) in hits.iter().enumerate() {
            match i % 2 {
                0 => named.push(host_hits[i / 2 % host_hits.len()].clone()),
                _ => named.push(Req {
                    host: Some(NAMED_HOST.into()),
                    path: h.path.clone(),
                }),
            }
        }
        lists.push((true, HostKind::Named, named));
        lists.push((false, HostKind::Named, with(&misses, NAMED_HOST)));
    }
    ensure!(!hits.is_empty() && !misses.is_empty(), "no requests");
    Ok(Shape {
        name,
        table: table_bytes,
        lists,
    })
}

/// Nanoseconds this thread has spent on a CPU (`CLOCK_THREAD_CPUTIME_ID`,
/// exact at every read; `/proc/thread-self/schedstat` moves only at the
/// scheduler's tick, which made a pass of 100k lookups read in steps of
/// some 40 ns per lookup).
#[cfg(target_os = "linux")]
fn on_cpu_ns() -> Option<u64> {
    let mut t = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `t` is a valid `timespec` for the call to write.
    if unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut t) } != 0 {
        return None;
    }
    Some(u64::try_from(t.tv_sec).ok()? * 1_000_000_000 + u64::try_from(t.tv_nsec).ok()?)
}

/// Wall time only, off Linux.
#[cfg(not(target_os = "linux"))]
fn on_cpu_ns() -> Option<u64> {
    None
}

/// A clock for one pass: on-CPU time if available, else wall time.
struct Clock(Instant, Option<u64>);

impl Clock {
    fn start() -> Clock {
        Clock(Instant::now(), on_cpu_ns())
    }

    fn ns(&self) -> f64 {
        match (self.1, on_cpu_ns()) {
            (Some(a), Some(b)) => b.saturating_sub(a) as f64,
            _ => self.0.elapsed().as_nanos() as f64,
        }
    }
}

/// Best of three passes over `reqs`, in ns per lookup.
fn time_native(table: &Table, reqs: &[Req]) -> f64 {
    let native: Vec<Request> = reqs.iter().map(Req::native).collect();
    let mut best = f64::MAX;
    for _ in 0..3 {
        let t = Clock::start();
        let mut found = 0usize;
        for r in &native {
            found += usize::from(std::hint::black_box(table.resolve(r)).is_some());
        }
        std::hint::black_box(found);
        best = best.min(t.ns() / native.len() as f64);
    }
    best
}

/// Best of three passes over `reqs` through the component, in ns per
/// lookup (the requests borrow their strings, as the native engine's do).
fn time_component(lookup: &mut redirects::lookup::Lookup, reqs: &[Req]) -> Result<f64> {
    let batch: Vec<_> = reqs.iter().map(Req::component).collect();
    let mut best = f64::MAX;
    for _ in 0..3 {
        let t = Clock::start();
        for &r in &batch {
            std::hint::black_box(lookup.lookup(r)?);
        }
        best = best.min(t.ns() / batch.len() as f64);
    }
    Ok(best)
}
