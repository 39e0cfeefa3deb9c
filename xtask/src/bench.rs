//! `./x bench`: `redirects serve` against nginx `map` and HAProxy `map`,
//! side by side in one run, on 127.0.0.1, with the same rules and the same
//! path list. Writes the "Benchmark" section of BENCHMARKS.md and
//! `bench.png`. Not a test: no thresholds fail the run; the figures and the
//! ratios to nginx are reported, with the project's targets marked met or
//! not met (the machine is shared and noisy: compare within one run).
//!
//! The rules: `count` generated rules, of which the exact rules for every
//! host (nginx and HAProxy `map` have no longest-prefix match) whose source
//! and target are plain ASCII go to every server (see [`plain`]). The peers:
//!
//! - nginx (Debian `nginx-light`): 2 workers, `map $uri` for the target and
//!   a second `map` for the status of the rules that are not 301, one
//!   `return` per status code;
//! - HAProxy (Debian `haproxy` 2.6): `nbthread 2`, `path,map(FILE)` into a
//!   variable and a second map for the non-301 statuses (the same two
//!   lookups per hit as nginx), one `http-request redirect ... code N` per
//!   status, `http-request return status 404` for a miss.
//!
//! Ours is the `redirects` binary (`cargo build --release -p
//! redirects-cli`) serving the artifact `redirects build` made from the same
//! rules: `--engine native`, `--engine component` (instance reuse) and
//! `--engine component --per-request` (as Spin and Akamai Functions run
//! it). For reference, the wasmtime CLI serves the same artifact the way
//! the project served it before `redirects serve` (instance reuse), and,
//! one instance per request (the hosting model of Spin and Akamai
//! Functions, under one host for all three): the artifact, the fused
//! router (`./x build --router rust-fused`: router and table in one core
//! module) and a hello-world component, the floor of that model.

use crate::pipeline;
use crate::tools::{self, Tools};
use anyhow::{bail, Context, Result};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Benchmark parameters.
#[derive(Debug, Clone)]
pub struct BenchOptions {
    /// Generated rules.
    pub rules: usize,
    /// Requests per `hey` run.
    pub hey_requests: u32,
    /// Seconds of `wrk` per server.
    pub wrk_seconds: u32,
    /// Rounds: every server is loaded this many times, interleaved with
    /// the others, with its share of the requests and seconds, so that a
    /// burst of other work on the machine falls on all of them.
    pub rounds: u32,
}

impl BenchOptions {
    fn hey_per_round(&self) -> u32 {
        self.hey_requests.div_ceil(self.rounds.max(1))
    }

    fn wrk_seconds_per_round(&self) -> u32 {
        self.wrk_seconds.div_ceil(self.rounds.max(1)).max(1)
    }
}

/// One round of load on one server.
#[derive(Debug, Clone, Copy, Default)]
struct Sample {
    hey_rps: f64,
    hey_p50_ms: f64,
    hey_p99_ms: f64,
    hey_bad: u64,
    wrk_rps: f64,
    wrk_p50_ms: f64,
    wrk_p99_ms: f64,
    wrk_bad: u64,
    wrk_requests: u64,
    /// Server CPU during wrk, in clock ticks.
    wrk_ticks: u64,
}

/// hey and wrk connections.
const CONNECTIONS: u32 = 200;

/// One server's figures.
#[derive(Debug, Clone, Default)]
struct Figures {
    name: String,
    start_ms: f64,
    hey_rps: f64,
    hey_p50_ms: f64,
    hey_p99_ms: f64,
    hey_bad: u64,
    wrk_rps: f64,
    wrk_p50_ms: f64,
    wrk_p99_ms: f64,
    wrk_bad: u64,
    wrk_requests: u64,
    /// Sampled answers checked and wrong (status or `Location`).
    checked: Option<(u64, u64)>,
    rss_mib: f64,
    cpu_us_per_request: f64,
    /// Every round's figures.
    samples: Vec<Sample>,
}

impl Figures {
    fn bad(&self) -> u64 {
        self.hey_bad + self.wrk_bad
    }

    /// The rounds together: req/s over all requests and all time (hey's
    /// rounds have equal request counts, wrk's equal durations), the mean
    /// of the rounds' percentiles, bad answers and CPU summed.
    fn sum_up(&mut self) {
        let s = &self.samples;
        let n = s.len().max(1) as f64;
        let mean = |v: &dyn Fn(&Sample) -> f64| s.iter().map(v).sum::<f64>() / n;
        self.hey_rps = n / s.iter().map(|x| 1.0 / x.hey_rps).sum::<f64>();
        self.hey_p50_ms = mean(&|x| x.hey_p50_ms);
        self.hey_p99_ms = mean(&|x| x.hey_p99_ms);
        self.hey_bad = s.iter().map(|x| x.hey_bad).sum();
        self.wrk_rps = mean(&|x| x.wrk_rps);
        self.wrk_p50_ms = mean(&|x| x.wrk_p50_ms);
        self.wrk_p99_ms = mean(&|x| x.wrk_p99_ms);
        self.wrk_bad = s.iter().map(|x| x.wrk_bad).sum();
        self.wrk_requests = s.iter().map(|x| x.wrk_requests).sum();
        let ticks: u64 = s.iter().map(|x| x.wrk_ticks).sum();
        // Clock ticks are 10 ms on Linux (USER_HZ 100).
        self.cpu_us_per_request = ticks as f64 * 10_000.0 / self.wrk_requests.max(1) as f64;
    }
}

/// A server process (and, for nginx, its workers); stopped when dropped.
struct Proc {
    child: Child,
    log: PathBuf,
}

impl Proc {
    fn spawn(cmd: &mut Command, log: &Path) -> Result<Proc> {
        let file = std::fs::File::create(log)?;
        let child = cmd
            .stdin(Stdio::null())
            .stdout(file.try_clone()?)
            .stderr(file)
            .spawn()
            .with_context(|| format!("starting {cmd:?}"))?;
        Ok(Proc {
            child,
            log: log.to_path_buf(),
        })
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// RSS of the process and its children, in KiB.
    fn rss_kib(&self) -> u64 {
        family(self.pid())
            .into_iter()
            .filter_map(crate::server::rss_kib)
            .sum()
    }

    /// CPU time (user + system) of the process and its children, in clock ticks.
    fn cpu_ticks(&self) -> u64 {
        family(self.pid())
            .iter()
            .filter_map(|pid| std::fs::read_to_string(format!("/proc/{pid}/stat")).ok())
            .map(|s| {
                let after = &s[s.rfind(')').map_or(0, |i| i + 2)..];
                let f: Vec<&str> = after.split(' ').collect();
                f.get(11).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0)
                    + f.get(12).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0)
            })
            .sum()
    }

    /// Waits until `probe` is answered below 500 on `addr`; the time since
    /// `started` in ms.
    fn wait_for(&mut self, addr: &str, probe: &str, started: Instant) -> Result<f64> {
        let sock: std::net::SocketAddr = addr.parse()?;
        loop {
            if let Ok(r) = crate::server::request(
                sock,
                format!("GET {probe} HTTP/1.1\r\nHost: {addr}\r\n").as_bytes(),
            ) {
                if r.status < 500 {
                    return Ok(started.elapsed().as_secs_f64() * 1000.0);
                }
            }
            if let Some(status) = self.child.try_wait()? {
                bail!(
                    "the server exited before answering ({status}):\n{}",
                    std::fs::read_to_string(&self.log).unwrap_or_default()
                );
            }
            if started.elapsed() > Duration::from_secs(180) {
                bail!("{addr} did not answer within 180 s");
            }
            std::thread::sleep(Duration::from_millis(2));
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        // SIGTERM first (nginx's master then stops its workers), SIGKILL
        // after 10 s.
        let _ = Command::new("kill")
            .arg(self.pid().to_string())
            .stderr(Stdio::null())
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if !matches!(self.child.try_wait(), Ok(None)) {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A pid and its direct children.
fn family(pid: u32) -> Vec<u32> {
    let mut pids = vec![pid];
    if let Ok(dir) = std::fs::read_dir("/proc") {
        for e in dir.flatten() {
            let Some(child) = e.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else {
                continue;
            };
            let stat = std::fs::read_to_string(format!("/proc/{child}/stat")).unwrap_or_default();
            let after = &stat[stat.rfind(')').map_or(0, |i| i + 2)..];
            if after.split(' ').nth(1).and_then(|p| p.parse::<u32>().ok()) == Some(pid) {
                pids.push(child);
            }
        }
    }
    pids
}

fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// Whether a rule can go to every server as it is: a source and target of
/// printable ASCII with none of the bytes that nginx's config syntax, an
/// HAProxy map file or percent-decoding would treat specially (`%`, `#`,
/// quotes, `\`, `;`, `{`, `}`, `$`). Sources with `%` or non-ASCII bytes
/// are left out because nginx matches the decoded `$uri` and HAProxy the
/// raw `path`: the same key cannot serve both without a conversion that
/// only one of them would pay.
fn plain(s: &str) -> bool {
    s.bytes()
        .all(|b| b.is_ascii_graphic() && !br#"%#"'\;{}$`"#.contains(&b))
}

/// The map files shared by nginx and HAProxy: `(key, target)` and
/// `(key, status)` for the rules that are not 301.
/// `(key, target)` lines and `(key, status)` lines.
type PeerMaps<'a> = (Vec<(&'a str, &'a str)>, Vec<(&'a str, u16)>);

fn peer_maps(rules: &[redirects_compiler::Rule]) -> PeerMaps<'_> {
    let targets = rules
        .iter()
        .map(|r| (r.source.as_str(), r.target.as_str()))
        .collect();
    let codes = rules
        .iter()
        .filter(|r| r.status.code() != 301)
        .map(|r| (r.source.as_str(), r.status.code()))
        .collect();
    (targets, codes)
}

const NON_301: [u16; 4] = [302, 303, 307, 308];

fn nginx(dir: &Path, rules: &[redirects_compiler::Rule], port: u16) -> Result<Command> {
    std::fs::create_dir_all(dir.join("logs"))?;
    std::fs::create_dir_all(dir.join("tmp"))?;
    // Two maps, as one would hand-tune it: the target, and the status for
    // the rules that are not 301 (string compares, no regex).
    let (targets, codes) = peer_maps(rules);
    let mut map = String::with_capacity(rules.len() * 64);
    for (key, target) in targets {
        writeln!(map, "\"{key}\" \"{target}\";")?;
    }
    let mut code_map = String::new();
    for (key, code) in codes {
        writeln!(code_map, "\"{key}\" {code};")?;
    }
    std::fs::write(dir.join("map.conf"), map)?;
    std::fs::write(dir.join("codes.conf"), code_map)?;
    let mut returns = String::new();
    for code in NON_301 {
        writeln!(
            returns,
            "      if ($code = {code}) {{ return {code} $redirect; }}"
        )?;
    }
    let conf = format!(
        "worker_processes 2;\npid {d}/nginx.pid;\nerror_log {d}/logs/error.log;\nevents {{ worker_connections 4096; }}\n\
         http {{\n  access_log off;\n  absolute_redirect off;\n  client_body_temp_path {d}/tmp;\n  proxy_temp_path {d}/tmp;\n  fastcgi_temp_path {d}/tmp;\n  uwsgi_temp_path {d}/tmp;\n  scgi_temp_path {d}/tmp;\n\
         map_hash_max_size 4194304;\n  map_hash_bucket_size 256;\n  map $uri $redirect {{\n    default \"\";\n    include {d}/map.conf;\n  }}\n\
         map $uri $code {{\n    default 301;\n    include {d}/codes.conf;\n  }}\n\
         server {{\n    listen 127.0.0.1:{port};\n    location / {{\n      if ($redirect = \"\") {{ return 404 \"no redirect for this path\\n\"; }}\n{returns}      return 301 $redirect;\n    }}\n  }}\n}}\n",
        d = dir.display()
    );
    std::fs::write(dir.join("nginx.conf"), conf)?;
    let mut cmd = Command::new("/usr/sbin/nginx");
    cmd.arg("-p")
        .arg(dir)
        .arg("-c")
        .arg(dir.join("nginx.conf"))
        .args(["-g", "daemon off;"]);
    Ok(cmd)
}

/// HAProxy with two map files (`key value` lines): the target of every
/// rule, and the status of the rules that are not 301 (default 301), so a
/// hit costs two lookups, as in nginx, and a miss one. A map value could
/// carry the status too (`302 /target`), but splitting it back costs a
/// converter on every hit; one map per status would cost up to five
/// lookups per miss.
fn haproxy(dir: &Path, rules: &[redirects_compiler::Rule], port: u16) -> Result<Command> {
    std::fs::create_dir_all(dir)?;
    let (targets, codes) = peer_maps(rules);
    let mut map = String::with_capacity(rules.len() * 64);
    for (key, target) in targets {
        writeln!(map, "{key} {target}")?;
    }
    let mut code_map = String::new();
    for (key, code) in codes {
        writeln!(code_map, "{key} {code}")?;
    }
    let (map_file, codes_file) = (dir.join("map.txt"), dir.join("codes.txt"));
    std::fs::write(&map_file, map)?;
    std::fs::write(&codes_file, code_map)?;
    let mut redirects = String::new();
    for code in NON_301 {
        writeln!(
            redirects,
            "  http-request redirect location %[var(txn.x)] code {code} if {{ var(txn.c) -m str {code} }}"
        )?;
    }
    let conf = format!(
        "global\n  nbthread 2\n  maxconn 8000\n\
         defaults\n  mode http\n  timeout connect 5s\n  timeout client 30s\n  timeout server 30s\n  timeout http-keep-alive 30s\n\
         frontend redirects\n  bind 127.0.0.1:{port}\n  maxconn 8000\n\
         \x20 http-request set-var(txn.x) path,map({map})\n\
         \x20 http-request return status 404 content-type text/plain string \"no redirect for this path\" if !{{ var(txn.x) -m found }}\n\
         \x20 http-request set-var(txn.c) path,map({codes},301)\n\
         {redirects}\
         \x20 http-request redirect location %[var(txn.x)] code 301 if {{ var(txn.x) -m found }}\n",
        map = map_file.display(),
        codes = codes_file.display(),
    );
    let conf_file = dir.join("haproxy.cfg");
    std::fs::write(&conf_file, conf)?;
    tools::output(
        Command::new("/usr/sbin/haproxy")
            .arg("-c")
            .arg("-q")
            .arg("-f")
            .arg(&conf_file),
    )
    .context("the HAProxy configuration does not check")?;
    let mut cmd = Command::new("/usr/sbin/haproxy");
    cmd.arg("-db").arg("-q").arg("-f").arg(&conf_file);
    Ok(cmd)
}

/// hey's figures: req/s, p50 and p99 in ms, and answers other than 3xx
/// or 404 plus errors.
fn parse_hey(out: &str) -> (f64, f64, f64, u64) {
    let num = |prefix: &str| {
        out.lines()
            .find_map(|l| l.trim().strip_prefix(prefix))
            .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
            .unwrap_or(f64::NAN)
    };
    // `[code]\tN responses` under "Status code distribution:", `[N]\terror`
    // under "Error distribution:".
    let (mut bad, mut errors) = (0u64, false);
    for line in out.lines() {
        let l = line.trim();
        if l.starts_with("Error distribution") {
            errors = true;
            continue;
        }
        let Some((bracket, rest)) = l.strip_prefix('[').and_then(|l| l.split_once(']')) else {
            continue;
        };
        let Ok(first) = bracket.parse::<u64>() else {
            continue;
        };
        if errors {
            bad += first;
        } else if let Some(n) = rest
            .split_whitespace()
            .next()
            .and_then(|n| n.parse::<u64>().ok())
        {
            if !((300..400).contains(&first) || first == 404) {
                bad += n;
            }
        }
    }
    (
        num("Requests/sec:"),
        num("50% in") * 1000.0,
        num("99% in") * 1000.0,
        bad,
    )
}

/// wrk's figures (with [`crate::soak::LUA`]): req/s, p50 and p99 in ms,
/// bad answers and socket errors, requests.
fn parse_wrk(out: &str) -> Result<(f64, f64, f64, u64, u64)> {
    let round = crate::soak::Round::parse(out)?;
    let bad = round.s4xx + round.s5xx + round.socket_errors;
    let pct = |p: &str| {
        out.lines()
            .find_map(|l| l.trim().strip_prefix(p))
            .map(|v| {
                let v = v.trim();
                let (n, unit) = v.split_at(v.find(|c: char| c.is_alphabetic()).unwrap_or(v.len()));
                let n: f64 = n.parse().unwrap_or(f64::NAN);
                match unit {
                    "us" => n / 1000.0,
                    "s" => n * 1000.0,
                    "m" => n * 60_000.0,
                    _ => n,
                }
            })
            .unwrap_or(f64::NAN)
    };
    Ok((round.rps, pct("50%"), pct("99%"), bad, round.requests))
}

/// `hey -disable-redirects -c 200 -n N URL`.
fn hey(url: &str, n: u32) -> Result<String> {
    tools::output(Command::new("hey").args([
        "-disable-redirects",
        "-c",
        &CONNECTIONS.to_string(),
        "-n",
        &n.to_string(),
        url,
    ]))
}

/// One round of client load on one server: hey on one rule's URL, then
/// wrk over the path list (server CPU is read around wrk).
fn load(proc: &Proc, base: &str, probe: &str, opts: &BenchOptions, dir: &Path) -> Result<Sample> {
    let mut x = Sample::default();
    (x.hey_rps, x.hey_p50_ms, x.hey_p99_ms, x.hey_bad) =
        parse_hey(&hey(&format!("{base}{probe}"), opts.hey_per_round())?);
    let ticks = proc.cpu_ticks();
    let wrk = tools::output(
        Command::new("wrk")
            .env("SOAK_PATHS", dir.join("paths.txt"))
            .args([
                "-t2",
                &format!("-c{CONNECTIONS}"),
                &format!("-d{}s", opts.wrk_seconds_per_round()),
                "--latency",
                "--timeout",
                "10s",
                "-s",
            ])
            .arg(dir.join("paths.lua"))
            .arg(format!("{base}/")),
    )?;
    x.wrk_ticks = proc.cpu_ticks() - ticks;
    (
        x.wrk_rps,
        x.wrk_p50_ms,
        x.wrk_p99_ms,
        x.wrk_bad,
        x.wrk_requests,
    ) = parse_wrk(&wrk)?;
    Ok(x)
}

/// A server to measure: a name and how to start it on a port.
struct Row {
    name: String,
    start: Box<dyn Fn(u16) -> Result<Command>>,
    /// Whether it answers the rules (not the hello-world floor).
    answers_rules: bool,
    /// A log line it prints once fully ready, some time after its first
    /// answer (the native engine: its keys hashed), waited for before the
    /// warm-up.
    ready_log: Option<&'static str>,
}

/// A path of the path list and the answer it must get: the status, and
/// the `Location` of a hit.
type Expected = (String, u16, Option<String>);

/// Asks `addr` for up to `n` of the expected answers, spread over the
/// list; how many were answered otherwise (status or `Location`).
fn wrong_answers(addr: &str, expected: &[Expected], n: usize) -> Result<(u64, u64)> {
    let sock: std::net::SocketAddr = addr.parse()?;
    let step = expected.len().div_ceil(n).max(1);
    let (mut asked, mut wrong) = (0, 0);
    for (path, status, location) in expected.iter().step_by(step) {
        asked += 1;
        let r = crate::server::request(
            sock,
            format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\n").as_bytes(),
        )?;
        if r.status != *status || r.header("location") != *location {
            if wrong < 3 {
                eprintln!(
                    "bench:   {path}: {} {:?}, expected {status} {location:?}",
                    r.status,
                    r.header("location")
                );
            }
            wrong += 1;
        }
    }
    Ok((asked, wrong))
}

/// What [`bench`] measured besides the rows.
struct Build {
    /// Rules given to every server.
    rules: usize,
    /// Rules generated, and left out (prefix, host, query, not plain).
    generated: usize,
    /// Exact, host-less rules left out by [`plain`].
    not_plain: usize,
    paths: usize,
    hits: usize,
    warm_build: Duration,
    artifact_bytes: u64,
    lookup_bytes: u64,
}

/// Builds `cli/` in release and returns the `redirects` binary.
fn redirects_binary() -> Result<PathBuf> {
    release_build(&["-p", "redirects-cli"], "release/redirects")
}

/// `cargo build --release --quiet` with `args`, and the file it made at
/// `path` under the target directory.
fn release_build(args: &[&str], path: &str) -> Result<PathBuf> {
    tools::run(
        crate::cargo()
            .args(["build", "--release", "--quiet"])
            .args(args),
    )?;
    let bin = crate::target_dir().join(path);
    if !bin.exists() {
        bail!("{} was not built", bin.display());
    }
    Ok(bin)
}

/// The name of the row that runs `redirects-server`'s `map` example.
const CEILING: &str = "ceiling: `redirects-server` with a `HashMap` in process (no sandbox; `server/examples/map.rs`, 2 workers)";

/// Runs the benchmark and returns the markdown section.
pub fn bench(tools: &Tools, opts: &BenchOptions) -> Result<String> {
    tools::ensure_debian("hey", "hey")?;
    tools::ensure_debian("wrk", "wrk")?;
    tools::ensure_debian("/usr/sbin/nginx", "nginx-light")?;
    tools::ensure_debian("/usr/sbin/haproxy", "haproxy")?;
    let load_before = loadavg();
    let dir = crate::target_dir().join("bench");
    std::fs::create_dir_all(&dir)?;
    let mut text = Vec::new();
    crate::gen::generate(opts.rules, crate::gen::DEFAULT_SEED, &mut text)?;
    let all = redirects_compiler::check(Path::new("generated"), &text, &Default::default());
    let exact: Vec<_> = all
        .rules
        .into_iter()
        .filter(|r| !r.prefix && r.host.is_none() && r.query.is_none())
        .collect();
    let exact_count = exact.len();
    let rules: Vec<_> = exact
        .into_iter()
        .filter(|r| plain(&r.source) && plain(&r.target))
        .collect();
    let rules_file = dir.join("rules.txt");
    let mut same = String::new();
    for r in &rules {
        writeln!(same, "{} {} {}", r.source, r.target, r.status.code())?;
    }
    std::fs::write(&rules_file, same)?;

    // Ours: the binary users install, and its artifact for these rules.
    let redirects = redirects_binary()?;
    let app = dir.join("app/redirects.wasm");
    std::fs::create_dir_all(dir.join("app"))?;
    let build_cmd = || {
        let mut cmd = Command::new(&redirects);
        cmd.arg("build")
            .arg(&rules_file)
            .arg("-o")
            .arg(&app)
            .stderr(Stdio::null());
        cmd
    };
    // Once to warm the page cache, then timed: rules -> artifact as users
    // run it, a process of its own.
    tools::run(&mut build_cmd())?;
    let t = Instant::now();
    tools::run(&mut build_cmd())?;
    let warm_build = t.elapsed();
    let artifact_bytes = std::fs::metadata(&app)?.len();
    let lookup_bytes = std::fs::metadata(dir.join("app/lookup.wasm")).map_or(0, |m| m.len());
    // The native engine serves the lookup precompiled (`redirects
    // precompile`), as a site that restarts often would: its start is the
    // process's, not wasmtime's compiler's.
    let precompiled = dir.join("app/lookup.cwasm");
    tools::run(
        Command::new(&redirects)
            .arg("precompile")
            .arg(&app)
            .arg("-o")
            .arg(&precompiled)
            .stderr(Stdio::null()),
    )?;

    // The fused router for the same rules (router and table in one core
    // module), for the per-request rows.
    let fused_dir = dir.join("fused");
    let fused = pipeline::build(
        tools,
        &pipeline::BuildOptions {
            rules: rules_file.clone(),
            out: fused_dir.join("redirects.wasm"),
            work_dir: fused_dir.clone(),
            compile: Default::default(),
            budget_check: true,
            router: pipeline::Router::RustFused,
        },
    )
    .map(|_| fused_dir.join("redirects.wasm"));

    // The path list: every 97th rule, and a miss after every 4 hits.
    let probe = rules[rules.len() / 2].source.clone();
    let mut paths: Vec<String> = Vec::new();
    let mut expected: Vec<Expected> = Vec::new();
    let mut hits = 0;
    for (i, r) in rules.iter().enumerate().filter(|(i, _)| i % 97 == 0) {
        paths.push(r.source.clone());
        expected.push((r.source.clone(), r.status.code(), Some(r.target.clone())));
        hits += 1;
        if hits % 4 == 0 {
            paths.push(format!("/bench-miss/{i}"));
            expected.push((format!("/bench-miss/{i}"), 404, None));
        }
    }
    std::fs::write(dir.join("paths.txt"), paths.join("\n") + "\n")?;
    std::fs::write(dir.join("paths.lua"), crate::soak::LUA)?;

    let build = Build {
        rules: rules.len(),
        generated: opts.rules,
        not_plain: exact_count - rules.len(),
        paths: paths.len(),
        hits,
        warm_build,
        artifact_bytes,
        lookup_bytes,
    };

    let rules = std::rc::Rc::new(rules);
    let mut rows: Vec<Row> = Vec::new();
    {
        let (rules, d) = (rules.clone(), dir.join("nginx"));
        rows.push(Row {
            name: "nginx `map` (2 workers)".into(),
            start: Box::new(move |port| nginx(&d, &rules, port)),
            answers_rules: true,
            ready_log: None,
        });
    }
    {
        let (rules, d) = (rules.clone(), dir.join("haproxy"));
        rows.push(Row {
            name: "HAProxy `map` (2 threads)".into(),
            start: Box::new(move |port| haproxy(&d, &rules, port)),
            answers_rules: true,
            ready_log: None,
        });
    }
    for (name, args) in [
        (
            "redirects, `--engine native` (default, 2 workers, lookup precompiled)",
            &["--engine", "native"][..],
        ),
        (
            "redirects, `--engine component` (instance reuse)",
            &["--engine", "component"],
        ),
        (
            "redirects, `--engine component --per-request` (as Spin, Akamai)",
            &["--engine", "component", "--per-request"],
        ),
    ] {
        let bin = redirects.clone();
        let app = if args[1] == "native" {
            precompiled.clone()
        } else {
            app.clone()
        };
        rows.push(Row {
            name: name.into(),
            start: Box::new(move |port| {
                let mut cmd = Command::new(&bin);
                cmd.arg("serve")
                    .arg(&app)
                    .args(args)
                    .arg("--addr")
                    .arg(format!("127.0.0.1:{port}"));
                Ok(cmd)
            }),
            answers_rules: true,
            ready_log: (args[1] == "native").then_some(crate::server::KEYS_HASHED),
        });
    }
    // The HTTP path's ceiling: the same server crate with a `HashMap` of
    // the same rules in process (no sandbox, no normalising), in the row
    // after the native engine's (nginx, HAProxy, native: `report` reads
    // them by these places).
    let map = release_build(
        &["-p", "redirects-server", "--example", "map"],
        "release/examples/map",
    )?;
    let map_rules = rules_file.clone();
    rows.insert(
        3,
        Row {
            name: CEILING.into(),
            start: Box::new(move |port| {
                let mut cmd = Command::new(&map);
                cmd.arg(format!("127.0.0.1:{port}"))
                    .arg(&map_rules)
                    .arg("2");
                Ok(cmd)
            }),
            answers_rules: true,
            ready_log: None,
        },
    );
    // The wasmtime CLI rows: compiled at start each time (no cache), as
    // `redirects serve` does.
    let wasmtime_row = |name: &str, component: PathBuf, options: &'static [&'static str]| {
        let wasmtime = tools.wasmtime.clone();
        Row {
            name: name.into(),
            start: Box::new(move |port| {
                let mut cmd = Command::new(&wasmtime);
                cmd.args(crate::serve_args(&format!("127.0.0.1:{port}")))
                    .args(["-C", "cache=n"])
                    .args(options)
                    .arg(&component);
                Ok(cmd)
            }),
            answers_rules: !name.starts_with("hello world"),
            ready_log: None,
        }
    };
    const PER_REQUEST: &[&str] = &["--max-instance-reuse-count", "1"];
    rows.push(wasmtime_row(
        &format!(
            "before: `wasmtime serve` {} (CLI), instance reuse",
            tools::WASMTIME_VERSION
        ),
        app.clone(),
        &crate::EMBEDDED_SERVE_OPTIONS,
    ));
    rows.push(wasmtime_row(
        "per request: the artifact, `wasmtime serve` (CLI)",
        app.clone(),
        PER_REQUEST,
    ));
    match fused {
        Ok(fused) => rows.push(wasmtime_row(
            "per request: fused router, `wasmtime serve` (CLI)",
            fused,
            PER_REQUEST,
        )),
        Err(e) => eprintln!("bench: leaving out the fused row: {e:#}"),
    }
    match hello_world(&dir) {
        Ok(hello) => rows.push(wasmtime_row(
            "hello world, `wasmtime serve` (CLI), per request (floor)",
            hello,
            PER_REQUEST,
        )),
        Err(e) => eprintln!("bench: leaving out the hello-world row: {e:#}"),
    }

    // Every server is started (one at a time, for its start time), checked
    // and warmed up; then loaded in rounds, interleaved.
    let mut figures = Vec::new();
    let mut procs = Vec::new();
    for row in &rows {
        eprintln!("bench: starting {}", row.name);
        let port = free_port()?;
        let log = dir.join(format!("server-{}.log", figures.len()));
        let started = Instant::now();
        let mut proc = Proc::spawn(&mut (row.start)(port)?, &log)?;
        let base = format!("http://127.0.0.1:{port}");
        let start_ms = proc.wait_for(&base[7..], &probe, started)?;
        if let Some(line) = row.ready_log {
            // Not fatal: the bench goes on, with the reason printed.
            if let Err(e) = crate::server::wait_for_line(&proc.log, line) {
                eprintln!("bench: {e:#}");
            }
        }
        let mut f = Figures {
            name: row.name.clone(),
            start_ms,
            ..Default::default()
        };
        if row.answers_rules {
            f.checked = Some(wrong_answers(&base[7..], &expected, 250)?);
        }
        hey(&format!("{base}{probe}"), 2000)?;
        figures.push(f);
        procs.push((proc, base));
    }
    for round in 1..=opts.rounds.max(1) {
        for ((proc, base), f) in procs.iter().zip(&mut figures) {
            let x = load(proc, base, &probe, opts, &dir)?;
            eprintln!(
                "bench: round {round}, {}: wrk {:.0} req/s, hey {:.0} req/s, {} bad",
                f.name,
                x.wrk_rps,
                x.hey_rps,
                x.hey_bad + x.wrk_bad
            );
            f.samples.push(x);
        }
    }
    for ((proc, _), f) in procs.iter().zip(&mut figures) {
        f.sum_up();
        f.rss_mib = proc.rss_kib() as f64 / 1024.0;
    }
    drop(procs);
    let mut md = report(opts, &build, &figures, &load_before)?;
    chart(&figures)?;
    // The lookup alone, natively and through the component boundary, on
    // tables of the same size (`./x bench-lookup` has the whole table).
    let lookup = crate::lookupbench::measure(
        &crate::lookupbench::LookupBenchOptions {
            rules: opts.rules,
            requests: 100_000,
            component: true,
        },
        &|step| eprintln!("bench: {step}"),
    )?;
    writeln!(
        md,
        "\n{} (`./x bench-lookup --rules {}` for every combination).",
        lookup.line(),
        opts.rules
    )?;
    if figures.iter().any(|f| f.bad() > 0) {
        eprintln!("warning: some responses were not 3xx/404 (see the table)");
    }
    Ok(md)
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|l| l.split(' ').take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|| "?".into())
}

/// The first line of a command's output (stdout or stderr), trimmed.
fn version(cmd: &mut Command) -> String {
    cmd.output()
        .ok()
        .map(|o| {
            let text = [o.stdout, o.stderr].concat();
            String::from_utf8_lossy(&text)
                .lines()
                .next()
                .unwrap_or_default()
                .trim()
                .to_string()
        })
        .unwrap_or_default()
}

fn report(
    opts: &BenchOptions,
    b: &Build,
    figures: &[Figures],
    load_before: &str,
) -> Result<String> {
    let nginx = &figures[0];
    let haproxy = &figures[1];
    let native = &figures[2];
    let find = |prefix: &str| figures.iter().find(|f| f.name.starts_with(prefix));
    let commit = crate::commit();
    let date = tools::output(Command::new("date").args(["-u", "+%Y-%m-%d"]))
        .map(|s| s.trim().to_string())
        .unwrap_or_default();
    let nginx_v = version(Command::new("/usr/sbin/nginx").arg("-v")).replace("nginx version: ", "");
    let haproxy_v = version(Command::new("/usr/sbin/haproxy").arg("-v"))
        .split(' ')
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
        .replace("version ", "");
    let wrk_v = version(Command::new("wrk").arg("-v"));
    let wrk_v = wrk_v.split(' ').take(2).collect::<Vec<_>>().join(" ");
    let kernel = version(Command::new("uname").arg("-r"));
    let mut md = String::new();
    writeln!(md, "## Benchmark\n")?;
    writeln!(
        md,
        "Run on {date} at commit {commit}: `./x bench --rules {} --hey-requests {} --wrk-seconds {} --rounds {}`. \
         Machine: {}, Linux {kernel}, load average {load_before} at the start (the machine is shared: \
         read the ratios, which come from one run, rather than the absolute numbers). Client and servers on \
         127.0.0.1. Client: {wrk_v}, hey (Debian). Peers: {nginx_v}, {haproxy_v}; ours: `redirects` built by `cargo build --release -p \
         redirects-cli` at the same commit; reference rows: the wasmtime CLI {}.\n",
        opts.rules,
        opts.hey_requests,
        opts.wrk_seconds,
        opts.rounds,
        crate::soak::machine(),
        tools::WASMTIME_VERSION,
    )?;
    writeln!(
        md,
        "Rules: of {} generated rules, the {} exact rules that name no host (they apply to every host) whose source and target are plain \
         ASCII (no `%`, quote, `#`, `\\`, `;`, braces or `$`) go to every server; {} more exact rules with \
         percent-encoded or non-ASCII sources were left out for all, because nginx matches the decoded \
         `$uri` and HAProxy the raw `path`. nginx: `map $uri` with `map_hash_bucket_size 256`, a second map \
         for the status of the rules that are not 301, one `return` per status. HAProxy: `http-request \
         set-var(txn.x) path,map(FILE)`, `http-request return status 404` when not found, a second map \
         (`path,map(CODES,301)`) for the status, then `http-request redirect location %[var(txn.x)] code N` \
         per status: two map lookups per hit, as nginx. Ours serves the artifact that `redirects build` \
         made from the same rules file.\n",
        b.generated, b.rules, b.not_plain
    )?;
    writeln!(
        md,
        "Load: every server is started and warmed up (2,000 requests), then loaded in {} rounds, interleaved \
         (server 1, 2, ... then again), so that a burst of other work on the machine falls on all of them; each \
         round is `hey -disable-redirects -c {CONNECTIONS} -n {}` on one rule's URL, then `wrk -t2 \
         -c{CONNECTIONS} -d{}s --latency` with a Lua script cycling through {} paths ({} hits, {} misses: 4 \
         hits : 1 miss). req/s are over all rounds, p50 / p99 the mean of the rounds'. \"bad\" counts \
         answers other than 3xx or 404, and socket errors, in both. Start: process start to the first \
         answered request (servers started one at a time). RSS: the server and its worker processes after \
         the last round. CPU: the server's user + system time during wrk, per request.\n",
        opts.rounds,
        opts.hey_per_round(),
        opts.wrk_seconds_per_round(),
        b.paths,
        b.hits,
        b.paths - b.hits,
    )?;
    writeln!(md, "| server | wrk req/s | **× nginx** | p50 / p99 ms | hey req/s | **× nginx** | p50 / p99 ms | bad | start ms | RSS MiB | CPU µs/req |")?;
    writeln!(md, "|---|---|---|---|---|---|---|---|---|---|---|")?;
    for f in figures {
        writeln!(
            md,
            "| {} | {:.0} | **{:.2}×** | {:.1} / {:.1} | {:.0} | **{:.2}×** | {:.1} / {:.1} | {} | {:.0} | {:.1} | {:.1} |",
            f.name,
            f.wrk_rps,
            f.wrk_rps / nginx.wrk_rps,
            f.wrk_p50_ms,
            f.wrk_p99_ms,
            f.hey_rps,
            f.hey_rps / nginx.hey_rps,
            f.hey_p50_ms,
            f.hey_p99_ms,
            f.bad(),
            f.start_ms,
            f.rss_mib,
            f.cpu_us_per_request
        )?;
    }
    let checks: Vec<String> = figures
        .iter()
        .filter_map(|f| {
            let (asked, wrong) = f.checked?;
            Some(format!("{}: {wrong} of {asked}", f.name))
        })
        .collect();
    writeln!(
        md,
        "\nBefore the load, a sample of the path list (hits and misses) was asked of every server that \
         serves the rules and the status and `Location` compared with the rule; wrong answers: {}.",
        checks.join("; ")
    )?;
    writeln!(
        md,
        "\n`--engine native` against nginx round by round (wrk): {}.",
        wrk_rounds(native, nginx)
    )?;
    writeln!(
        md,
        "Against HAProxy: `--engine native` answers **{:.2}×** HAProxy's req/s under wrk and **{:.2}×** under hey.",
        native.wrk_rps / haproxy.wrk_rps,
        native.hey_rps / haproxy.hey_rps
    )?;
    if let Some(ceiling) = find(CEILING) {
        writeln!(
            md,
            "The HTTP path's ceiling (the same server crate with a `HashMap` of the same rules in process: no \
             sandbox, no reading of URLs) answers **{:.2}×** nginx's req/s under wrk (rounds {}) at {:.1} µs \
             of CPU per request; `--engine native` answers **{:.2}×** the ceiling's req/s. No lookup behind \
             this HTTP path can take the native engine past the ceiling's ratio.",
            ceiling.wrk_rps / nginx.wrk_rps,
            wrk_rounds(ceiling, nginx),
            ceiling.cpu_us_per_request,
            native.wrk_rps / ceiling.wrk_rps,
        )?;
    }
    if let (Some(component), Some(before)) =
        (find("redirects, `--engine component` ("), find("before:"))
    {
        writeln!(
            md,
            "Against the `wasmtime serve` of before (same component, instance reuse): `--engine native` \
             **{:.2}×** (wrk), `--engine component` **{:.2}×** (wrk).",
            native.wrk_rps / before.wrk_rps,
            component.wrk_rps / before.wrk_rps
        )?;
    }
    if let Some(hello) = find("hello world") {
        per_request_table(&mut md, figures, hello)?;
    }
    writeln!(
        md,
        "\nArtifact: `redirects build` turns the {} rules into the deployable component in **{:.2} s** warm \
         (a process of its own, timed after one untimed run); the component is {:.1} MiB, **{:.1} bytes per \
         rule** (lookup component {:.1} MiB).\n\n![req/s by server](bench.png)\n",
        b.rules,
        b.warm_build.as_secs_f64(),
        b.artifact_bytes as f64 / 1048576.0,
        b.artifact_bytes as f64 / b.rules as f64,
        b.lookup_bytes as f64 / 1048576.0,
    )?;
    let mark = |ok: bool| if ok { "met" } else { "**not met**" };
    let wrk_ratio = native.wrk_rps / nginx.wrk_rps;
    let hey_ratio = native.hey_rps / nginx.hey_rps;
    let bad: u64 = native.bad();
    let (asked, wrong) = native.checked.unwrap_or_default();
    writeln!(
        md,
        "Targets for `redirects serve --engine native` (the default), this run:\n\n\
         | target | this run | |\n|---|---|---|\n\
         | ≥ 1.2× nginx req/s under wrk | {wrk_ratio:.2}× | {} |\n\
         | ≥ 1.0× nginx req/s under hey | {hey_ratio:.2}× | {} |\n\
         | p99 ≤ nginx's | wrk {:.1} vs {:.1} ms, hey {:.1} vs {:.1} ms | {} |\n\
         | 0 answers other than 3xx/404 | {bad} bad; {wrong} of {asked} sampled answers wrong | {} |\n\
         | RSS ≤ 1/4 of nginx's | {:.1} vs {:.1} MiB ({:.2}×) | {} |\n\
         | start to first answer ≤ 50 ms with a precompiled lookup | {:.0} ms (`redirects serve lookup.cwasm`, made by `redirects precompile`) | {} |\n\
         | `redirects build`: rules → artifact ≤ 3 s warm at 1M rules | {:.2} s for {} rules | {} |\n",
        mark(wrk_ratio >= 1.2),
        mark(hey_ratio >= 1.0),
        native.wrk_p99_ms,
        nginx.wrk_p99_ms,
        native.hey_p99_ms,
        nginx.hey_p99_ms,
        mark(native.wrk_p99_ms <= nginx.wrk_p99_ms && native.hey_p99_ms <= nginx.hey_p99_ms),
        mark(bad == 0 && wrong == 0),
        native.rss_mib,
        nginx.rss_mib,
        native.rss_mib / nginx.rss_mib,
        mark(native.rss_mib * 4.0 <= nginx.rss_mib),
        native.start_ms,
        mark(native.start_ms <= 50.0),
        b.warm_build.as_secs_f64(),
        b.rules,
        mark(b.warm_build.as_secs_f64() <= 3.0),
    )?;
    Ok(md)
}

/// `a`'s wrk req/s over `b`'s, round by round (`1.02×, 1.17×, ...`).
fn wrk_rounds(a: &Figures, b: &Figures) -> String {
    let ratios: Vec<String> = (a.samples.iter().zip(&b.samples))
        .map(|(a, b)| format!("{:.2}×", a.wrk_rps / b.wrk_rps))
        .collect();
    ratios.join(", ")
}

/// One instance per request, against the hello-world floor: req/s under
/// wrk and server CPU per request, with issue targets for the artifact
/// (>= 0.8x the floor) and the fused router (>= 0.95x), both under the
/// wasmtime CLI, the host the floor runs in.
fn per_request_table(md: &mut String, figures: &[Figures], hello: &Figures) -> Result<()> {
    writeln!(
        md,
        "\nOne instance per request (as Spin and Akamai Functions run a component), against the hello-world \
         floor (`hello/`: spin-sdk 5.2, the same adapter, no lookup) in the same run:\n\n\
         | component, host | wrk req/s **× floor** | CPU µs/request | CPU × floor | target |\n|---|---|---|---|---|"
    )?;
    let rows = [
        ("per request: the artifact", Some(0.8)),
        ("per request: fused", Some(0.95)),
        ("redirects, `--engine component --per", None),
        ("hello world", None),
    ];
    for (prefix, target) in rows {
        let Some(f) = figures.iter().find(|f| f.name.starts_with(prefix)) else {
            continue;
        };
        let ratio = f.wrk_rps / hello.wrk_rps;
        let verdict = target.map_or_else(String::new, |t: f64| {
            let met = if ratio >= t { "met" } else { "**not met**" };
            format!("≥ {t}×: {met}")
        });
        writeln!(
            md,
            "| {} | **{ratio:.2}×** | {:.0} | {:.2}× | {verdict} |",
            f.name,
            f.cpu_us_per_request,
            f.cpu_us_per_request / hello.cpu_us_per_request,
        )?;
    }
    Ok(())
}

/// Builds `hello/` (the floor: no lookup) like the router: wasm32-wasip1
/// core module + preview1 proxy adapter.
fn hello_world(dir: &Path) -> Result<PathBuf> {
    tools::run(pipeline::cargo_build_wasm().args(["-p", "redirects-hello"]))?;
    let core = crate::target_dir().join("wasm32-wasip1/wasm/redirects_hello.wasm");
    let out = dir.join("hello.wasm");
    let component = redirects::artifact::componentize(
        &std::fs::read(&core)?,
        redirects::modules::PROXY_ADAPTER,
    )?;
    std::fs::write(&out, component)?;
    Ok(out)
}

/// Writes `bench.png` (matplotlib, installed into the tools venv when missing).
fn chart(figures: &[Figures]) -> Result<()> {
    let python = tools::tools_dir().join("venv/bin/python");
    if tools::output(Command::new(&python).args(["-c", "import matplotlib"])).is_err() {
        tools::pip_install(&tools::tools_dir(), &["matplotlib==3.9.2"])?;
    }
    let names: Vec<String> = figures
        .iter()
        .map(|f| format!("{:?}", f.name.replace('`', "")))
        .collect();
    let list = |v: &dyn Fn(&Figures) -> f64| {
        figures
            .iter()
            .map(|f| format!("{:.0}", v(f)))
            .collect::<Vec<_>>()
            .join(",")
    };
    let out = crate::workspace_root().join("bench.png");
    let script = format!(
        "import matplotlib, textwrap\nmatplotlib.use('Agg')\nimport matplotlib.pyplot as plt\nnames=[{}]\nwrk=[{}]\nhey=[{}]\n\
         names=[textwrap.fill(n,20) for n in names]\nx=range(len(names))\nfig,ax=plt.subplots(figsize=(12,5.5))\n\
         ax.bar([i-0.2 for i in x],wrk,0.4,label='wrk, 4 hits : 1 miss over many paths')\n\
         ax.bar([i+0.2 for i in x],hey,0.4,label='hey, one URL')\n\
         ax.axhline(wrk[0],color='C0',ls=':',lw=1)\nax.axhline(hey[0],color='C1',ls=':',lw=1)\n\
         ax.set_xticks(list(x))\nax.set_xticklabels(names,fontsize=8)\n\
         ax.set_ylabel('requests/s (higher is better)')\nax.set_title('redirects vs nginx map and HAProxy map: same rules, same run (dotted: nginx)')\nax.legend()\n\
         fig.tight_layout()\nfig.savefig({:?},dpi=100)\n",
        names.join(","),
        list(&|f| f.wrk_rps),
        list(&|f| f.hey_rps),
        out.display().to_string()
    );
    tools::run(Command::new(&python).args(["-c", &script]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hey_counts_statuses_and_errors() {
        let out = "Summary:\n  Requests/sec:\t1000.5\n\nLatency distribution:\n  50% in 0.0050 secs\n  99% in 0.0200 secs\n\n\
                   Status code distribution:\n  [301]\t900 responses\n  [404]\t80 responses\n  [400]\t5 responses\n  [500]\t3 responses\n\n\
                   Error distribution:\n  [7]\tGet \"http://127.0.0.1:1/x\": EOF\n";
        let (rps, p50, p99, bad) = parse_hey(out);
        assert_eq!(rps, 1000.5);
        assert!((p50 - 5.0).abs() < 1e-9 && (p99 - 20.0).abs() < 1e-9);
        assert_eq!(bad, 5 + 3 + 7);
    }

    #[test]
    fn plain_keys() {
        assert!(plain("/docs/v1/api/fast-news"));
        assert!(plain("https://shop.example.com/sale/x?utm_source=redirect"));
        assert!(!plain("/de/caf%C3%A9/x"));
        assert!(!plain("/de/café/x"));
        assert!(!plain("/a b"));
        assert!(!plain("/a#b"));
    }
}
