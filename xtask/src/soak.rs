//! `./x soak`: a bounded load run against `redirects serve` on 127.0.0.1
//! (the native engine by default; `--engine component`, with
//! `--per-request` as Spin and Akamai Functions run it). wrk (Debian's package, installed when
//! missing) sends at least `--requests` requests at 200 connections, mixed
//! hits (exact and prefix rules) and misses, in rounds of `--round`
//! seconds; between rounds the server's RSS is read. Meanwhile a sampler
//! checks responses against the native `Table::resolve` of the same table.
//! Any 5xx, socket error or wrong sample fails the run. `./x soak` writes
//! the result into `BENCHMARKS.md` (section "Soak").

use crate::pipeline::{self, BuildOptions};
use crate::server::Server;
use crate::tools::{self, Tools};
use anyhow::{bail, Context, Result};
use redirects_format::{Request, Table};
use std::fmt::Write as _;
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Soak parameters.
#[derive(Debug, Clone)]
pub struct SoakOptions {
    /// Rules to generate.
    pub rules: usize,
    /// Requests to send at least.
    pub requests: u64,
    /// Connections.
    pub connections: u32,
    /// Seconds per wrk round.
    pub round: u32,
    /// `native` or `component` (`redirects serve --engine`).
    pub engine: String,
    /// Component engine: one instance per request (as Spin and Akamai
    /// Functions run it) instead of instance reuse.
    pub per_request: bool,
}

/// Counters of one wrk run with [`LUA`].
#[derive(Debug, Default, Clone, Copy)]
pub struct Round {
    /// Requests completed.
    pub requests: u64,
    /// 3xx responses.
    pub s3xx: u64,
    /// 404 responses.
    pub s404: u64,
    /// Other 4xx responses.
    pub s4xx: u64,
    /// 5xx responses.
    pub s5xx: u64,
    /// Connect, read, write and timeout errors.
    pub socket_errors: u64,
    /// Requests per second.
    pub rps: f64,
}

impl Round {
    /// Reads the `SOAK` line that [`LUA`] prints.
    pub fn parse(wrk_output: &str) -> Result<Round> {
        let line = wrk_output
            .lines()
            .find(|l| l.starts_with("SOAK "))
            .context("wrk printed no SOAK line")?;
        let v: Vec<f64> = line[5..]
            .split(' ')
            .map(|x| x.parse().unwrap_or(f64::NAN))
            .collect();
        anyhow::ensure!(v.len() == 7, "bad SOAK line {line:?}");
        Ok(Round {
            requests: v[0] as u64,
            s3xx: v[1] as u64,
            s404: v[2] as u64,
            s4xx: v[3] as u64,
            s5xx: v[4] as u64,
            socket_errors: v[5] as u64,
            rps: v[6],
        })
    }
}

/// wrk script: cycles through the paths in `$SOAK_PATHS`, counts responses by
/// class in every thread, and prints one `SOAK requests 3xx 404 4xx 5xx
/// socket-errors req/s` line.
pub const LUA: &str = r#"
local paths = {}
for line in io.lines(os.getenv("SOAK_PATHS")) do paths[#paths + 1] = line end
local n = 0
request = function()
  n = n + 1
  return wrk.format("GET", paths[(n % #paths) + 1])
end
c3, c404, c4, c5 = 0, 0, 0, 0
response = function(status)
  if status >= 500 then c5 = c5 + 1
  elseif status == 404 then c404 = c404 + 1
  elseif status >= 400 then c4 = c4 + 1
  else c3 = c3 + 1 end
end
local threads = {}
setup = function(thread) threads[#threads + 1] = thread end
done = function(summary, latency, requests)
  local t3, t404, t4, t5 = 0, 0, 0, 0
  for _, t in ipairs(threads) do
    t3 = t3 + t:get("c3"); t404 = t404 + t:get("c404"); t4 = t4 + t:get("c4"); t5 = t5 + t:get("c5")
  end
  local e = summary.errors
  io.write(string.format("SOAK %d %d %d %d %d %d %.1f\n", summary.requests, t3, t404, t4, t5,
    e.connect + e.read + e.write + e.timeout, summary.requests / (summary.duration / 1e6)))
end
"#;

/// Runs the soak and returns the markdown section it wrote.
pub fn soak(tools: &Tools, opts: &SoakOptions) -> Result<String> {
    anyhow::ensure!(
        ["native", "component"].contains(&opts.engine.as_str()),
        "--engine takes native or component"
    );
    anyhow::ensure!(
        !opts.per_request || opts.engine == "component",
        "--per-request needs --engine component"
    );
    tools::ensure_debian("wrk", "wrk")?;
    let dir = crate::target_dir().join("soak");
    std::fs::create_dir_all(&dir)?;
    let rules_file = dir.join("rules.txt");
    let mut text = Vec::new();
    crate::gen::generate(opts.rules, crate::gen::DEFAULT_SEED, &mut text)?;
    std::fs::write(&rules_file, &text)?;
    let mut build = BuildOptions::new(rules_file.clone());
    build.out = dir.join("redirects.wasm");
    build.work_dir = dir.join("work");
    let report = pipeline::build(tools, &build)?;
    let table = Table::from_bytes(std::fs::read(&report.table)?)?;

    // Paths: every 50th rule (exact ones as written, prefix ones with a
    // suffix), host-less only, plus one miss for every four hits.
    let check = redirects_compiler::check(&rules_file, &text, &build.compile);
    let mut paths = Vec::new();
    for (i, rule) in check
        .rules
        .iter()
        .enumerate()
        .filter(|(i, r)| i % 50 == 0 && r.host.is_none())
    {
        let path = match rule.source.strip_suffix('*') {
            Some(prefix) => format!("{prefix}soak/{i}"),
            None => rule.source.clone(),
        };
        paths.push(crate::gen::encode(&path));
        if paths.len().is_multiple_of(4) {
            paths.push(format!("/soak-miss/{i}"));
        }
    }
    let paths_file = dir.join("paths.txt");
    std::fs::write(&paths_file, paths.join("\n") + "\n")?;
    let lua_file = dir.join("soak.lua");
    std::fs::write(&lua_file, LUA)?;

    let mode = match (opts.engine.as_str(), opts.per_request) {
        ("native", _) => "native engine",
        (_, false) => "component engine, instance reuse",
        (_, true) => "component engine, one instance per request",
    };
    let mut options = vec!["--engine", opts.engine.as_str(), "--no-watch"];
    if opts.per_request {
        options.push("--per-request");
    }
    let server = Server::start_redirects(&options, &report.composed)?;
    if opts.engine == "native" {
        // Soaked as it serves for good: with its keys hashed.
        server.wait_for_log(crate::server::KEYS_HASHED)?;
    }
    // Warm up, so the start figure is a serving server's.
    for p in paths.iter().take(200) {
        server.get(p)?;
    }
    let rss_start = server.rss_kib().unwrap_or(0);
    let mut rss = vec![rss_start];

    // The sampler: compares live responses with the native lookup.
    let stop = Arc::new(AtomicBool::new(false));
    let sampled = Arc::new(AtomicU64::new(0));
    let sampler = {
        let (stop, sampled, paths) = (stop.clone(), sampled.clone(), paths.clone());
        let addr = server.addr;
        std::thread::spawn(move || -> Result<()> {
            let mut i = 0usize;
            while !stop.load(Ordering::Relaxed) {
                let path = &paths[(i * 7919) % paths.len()];
                i += 1;
                let r = crate::server::request(
                    addr,
                    format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\n").as_bytes(),
                )?;
                let want = table.resolve(&Request {
                    host: Some("127.0.0.1"),
                    path,
                    query: None,
                });
                let got = (r.status, r.header("location"));
                let expected = match want {
                    Some(w) => (w.status.code(), Some(w.location)),
                    None => (404, None),
                };
                if got != expected {
                    bail!("sample {path}: got {got:?}, want {expected:?}");
                }
                sampled.fetch_add(1, Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(20));
            }
            Ok(())
        })
    };

    let started = Instant::now();
    let mut rounds = Vec::new();
    let mut total = 0u64;
    while total < opts.requests {
        let out = tools::output(
            Command::new("wrk")
                .env("SOAK_PATHS", &paths_file)
                .args([
                    "-t2",
                    &format!("-c{}", opts.connections),
                    &format!("-d{}s", opts.round),
                ])
                .args(["--timeout", "10s", "-s"])
                .arg(&lua_file)
                .arg(format!("http://{}/", server.addr)),
        )?;
        let round = Round::parse(&out)?;
        total += round.requests;
        rss.push(server.rss_kib().unwrap_or(0));
        eprintln!(
            "soak: {round:?}, total {total}, rss {} KiB",
            rss.last().unwrap_or(&0)
        );
        rounds.push(round);
    }
    let elapsed = started.elapsed();
    stop.store(true, Ordering::Relaxed);
    sampler.join().expect("sampler thread")?;
    let sum = |f: fn(&Round) -> u64| rounds.iter().map(f).sum::<u64>();
    let (s3, s404, s4, s5, errs) = (
        sum(|r| r.s3xx),
        sum(|r| r.s404),
        sum(|r| r.s4xx),
        sum(|r| r.s5xx),
        sum(|r| r.socket_errors),
    );

    let mut md = String::new();
    writeln!(md, "## Soak ({mode})\n")?;
    writeln!(
        md,
        "`./x soak --rules {} --requests {} --round {} --engine {}{}` on {} (`redirects serve`, {mode}; commit {}). \
         wrk -t2 -c{} with a path list of {} paths (4 hits : 1 miss; hits are exact and prefix rules), in {}-second rounds; \
         a sampler compared live responses with the native `Table::resolve` of the same table throughout.\n",
        opts.rules, opts.requests, opts.round, opts.engine, if opts.per_request { " --per-request" } else { "" }, machine(), crate::commit(), opts.connections, paths.len(), opts.round
    )?;
    writeln!(md, "| figure | value |\n|---|---|")?;
    writeln!(
        md,
        "| requests | {total} in {:.0} s ({:.0} req/s) |",
        elapsed.as_secs_f64(),
        total as f64 / elapsed.as_secs_f64()
    )?;
    writeln!(
        md,
        "| 3xx / 404 / other 4xx / 5xx | {s3} / {s404} / {s4} / {s5} |"
    )?;
    writeln!(
        md,
        "| socket errors (connect, read, write, timeout) | {errs} |"
    )?;
    writeln!(
        md,
        "| sampled responses checked, wrong | {}, 0 |",
        sampled.load(Ordering::Relaxed)
    )?;
    writeln!(
        md,
        "| server RSS start → end | {:.1} MiB → {:.1} MiB (after each round: {}) |",
        rss_start as f64 / 1024.0,
        *rss.last().unwrap_or(&0) as f64 / 1024.0,
        rss.iter()
            .map(|k| format!("{:.1}", *k as f64 / 1024.0))
            .collect::<Vec<_>>()
            .join(", ")
    )?;
    writeln!(
        md,
        "| rounds req/s | {} |",
        rounds
            .iter()
            .map(|r| format!("{:.0}", r.rps))
            .collect::<Vec<_>>()
            .join(", ")
    )?;
    if s5 > 0 || errs > 0 || s4 > 0 {
        bail!("soak failed: {s5} 5xx, {s4} unexpected 4xx, {errs} socket errors\n{md}");
    }
    Ok(md)
}

/// The machine, for reports: cores and CPU model.
pub fn machine() -> String {
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines().find_map(|l| {
                l.strip_prefix("model name")
                    .map(|m| m.trim_start_matches([' ', '\t', ':']).to_string())
            })
        })
        .unwrap_or_else(|| "unknown CPU".into());
    format!("{cpus} cores ({model})")
}
