//! `./x bench`: ours against nginx `map`, side by side in one run, on
//! 127.0.0.1, with the same rules. Writes the "Benchmark" section of
//! BENCHMARKS.md and `bench.png`. Not a test: no thresholds, only figures
//! and ratios (the machine is shared and noisy).
//!
//! The rules: `count` generated rules, of which the exact rules for every
//! host (nginx `map` has no longest-prefix match) go to both servers. nginx
//! (Debian `nginx-light`, installed when missing) runs 2 workers with
//! `map $uri` and one `return` per status code. Ours runs under
//! `wasmtime serve` three ways: the embedded default (WASI 0.2, instance
//! reuse), the WASI 0.3 router, and one instance per request (as Spin and
//! Akamai Functions run it), composed and fused, beside a hello-world
//! component served one instance per request: the floor of that hosting
//! model.

use crate::pipeline::{self, BuildOptions, Router};
use crate::server::Server;
use crate::tools::{self, Tools};
use anyhow::{bail, Context, Result};
use std::fmt::Write as _;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Benchmark parameters.
#[derive(Debug, Clone)]
pub struct BenchOptions {
    /// Generated rules.
    pub rules: usize,
    /// Requests per `hey` run.
    pub hey_requests: u32,
    /// Seconds per `wrk` run.
    pub wrk_seconds: u32,
}

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
    rss_mib: f64,
    cpu_us_per_request: f64,
}

/// A server process for the benchmark: ours or nginx.
struct Proc {
    child: Option<Child>,
    server: Option<Server>,
    pid: u32,
}

impl Proc {
    /// RSS of the process and its children, in KiB.
    fn rss_kib(&self) -> u64 {
        family(self.pid)
            .into_iter()
            .filter_map(crate::server::rss_kib)
            .sum()
    }

    /// CPU time (user + system) of the process and its children, in clock ticks.
    fn cpu_ticks(&self) -> u64 {
        family(self.pid)
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
}

impl Drop for Proc {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = Command::new("kill").arg(self.pid.to_string()).status();
            let _ = c.wait();
        }
        self.server.take();
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

fn wait_for(addr: &str, probe: &str, started: Instant) -> Result<f64> {
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
        if started.elapsed() > Duration::from_secs(120) {
            bail!("{addr} did not answer within 120 s");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn nginx(
    dir: &Path,
    rules: &[redirects_compiler::Rule],
    port: u16,
    probe: &str,
) -> Result<(Proc, f64)> {
    std::fs::create_dir_all(dir.join("logs"))?;
    // Two maps, as one would hand-tune it: the target, and the status for
    // the rules that are not 301 (string compares, no regex).
    let mut map = String::with_capacity(rules.len() * 64);
    let mut codes = String::new();
    let quote = |s: &str| format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""));
    for r in rules {
        let key = quote(&String::from_utf8_lossy(&r.path));
        writeln!(map, "{key} {};", quote(&r.target))?;
        if r.status.code() != 301 {
            writeln!(codes, "{key} {};", r.status.code())?;
        }
    }
    std::fs::write(dir.join("map.conf"), map)?;
    std::fs::write(dir.join("codes.conf"), codes)?;
    let mut returns = String::new();
    for code in [302, 303, 307, 308] {
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
    std::fs::create_dir_all(dir.join("tmp"))?;
    let started = Instant::now();
    let child = Command::new("/usr/sbin/nginx")
        .args(["-p"])
        .arg(dir)
        .args(["-c"])
        .arg(dir.join("nginx.conf"))
        .args(["-g", "daemon off;"])
        .stdout(Stdio::null())
        .spawn()
        .context("starting nginx")?;
    let pid = child.id();
    let proc = Proc {
        child: Some(child),
        server: None,
        pid,
    };
    let ms = wait_for(&format!("127.0.0.1:{port}"), probe, started)?;
    Ok((proc, ms))
}

fn parse_hey(out: &str) -> (f64, f64, f64, u64) {
    let num = |prefix: &str| {
        out.lines()
            .find_map(|l| l.trim().strip_prefix(prefix))
            .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
            .unwrap_or(f64::NAN)
    };
    let good: u64 = out
        .lines()
        .filter_map(|l| {
            let l = l.trim();
            let code: u16 = l.strip_prefix('[')?.split(']').next()?.parse().ok()?;
            let n: u64 = l
                .split(']')
                .nth(1)?
                .split_whitespace()
                .next()?
                .parse()
                .ok()?;
            (300..500).contains(&code).then_some(n)
        })
        .sum();
    let total: u64 = out
        .lines()
        .filter_map(|l| {
            let l = l.trim();
            l.strip_prefix('[')?
                .split(']')
                .nth(1)?
                .split_whitespace()
                .next()?
                .parse::<u64>()
                .ok()
        })
        .sum();
    (
        num("Requests/sec:"),
        num("50% in") * 1000.0,
        num("99% in") * 1000.0,
        total - good,
    )
}

fn parse_wrk(out: &str) -> Result<(f64, f64, f64, u64)> {
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
                    _ => n,
                }
            })
            .unwrap_or(f64::NAN)
    };
    Ok((round.rps, pct("50%"), pct("99%"), bad))
}

fn load(
    proc: &Proc,
    f: &mut Figures,
    url: &str,
    opts: &BenchOptions,
    lua: &Path,
    paths: &Path,
) -> Result<()> {
    // Warm up, then hey with one URL (the published client command), then wrk with many paths.
    tools::output(Command::new("hey").args([
        "-disable-redirects",
        "-c",
        "200",
        "-n",
        "2000",
        url,
    ]))?;
    let ticks = proc.cpu_ticks();
    let hey = tools::output(Command::new("hey").args([
        "-disable-redirects",
        "-c",
        "200",
        "-n",
        &opts.hey_requests.to_string(),
        url,
    ]))?;
    let used = proc.cpu_ticks() - ticks;
    (f.hey_rps, f.hey_p50_ms, f.hey_p99_ms, f.hey_bad) = parse_hey(&hey);
    f.cpu_us_per_request = used as f64 * 10_000.0 / f64::from(opts.hey_requests);
    let base = &url[..url[8..].find('/').map_or(url.len(), |i| i + 8)];
    let wrk = tools::output(
        Command::new("wrk")
            .env("SOAK_PATHS", paths)
            .args([
                "-t2",
                "-c200",
                &format!("-d{}s", opts.wrk_seconds),
                "--latency",
                "--timeout",
                "10s",
                "-s",
            ])
            .arg(lua)
            .arg(format!("{base}/")),
    )?;
    (f.wrk_rps, f.wrk_p50_ms, f.wrk_p99_ms, f.wrk_bad) = parse_wrk(&wrk)?;
    f.rss_mib = proc.rss_kib() as f64 / 1024.0;
    Ok(())
}

/// Runs the benchmark and returns the markdown section.
pub fn bench(tools: &Tools, opts: &BenchOptions) -> Result<String> {
    tools::ensure_debian("hey", "hey")?;
    tools::ensure_debian("wrk", "wrk")?;
    tools::ensure_debian("/usr/sbin/nginx", "nginx-light")?;
    let dir = crate::target_dir().join("bench");
    std::fs::create_dir_all(&dir)?;
    let mut text = Vec::new();
    crate::gen::generate(opts.rules, crate::gen::DEFAULT_SEED, &mut text)?;
    let all = redirects_compiler::check(Path::new("generated"), &text, &Default::default());
    let rules: Vec<_> = all
        .rules
        .into_iter()
        .filter(|r| !r.prefix && r.host.is_none() && r.query.is_none())
        .collect();
    let rules_file = dir.join("rules.txt");
    let mut same = String::new();
    for r in &rules {
        writeln!(same, "{} {} {}", r.source, r.target, r.status.code())?;
    }
    std::fs::write(&rules_file, same)?;

    let mut build = BuildOptions::new(rules_file.clone());
    build.out = dir.join("redirects.wasm");
    build.work_dir = dir.join("work");
    // The first build brings cargo and the caches up to date.
    let report = pipeline::build(tools, &build)?;
    // Rules -> artifact, warm, timed as users run it: `./x build` in a
    // process of its own (inside this one, which holds the generated rules
    // and their parse, the same build measured ~25% slower).
    let t = Instant::now();
    tools::run(
        Command::new(std::env::current_exe()?)
            .arg("build")
            .arg(&rules_file)
            .arg("--out")
            .arg(&build.out)
            .stderr(Stdio::null()),
    )?;
    let warm_build = t.elapsed();
    let composed_bytes = std::fs::metadata(&report.composed)?.len();
    // The same rules behind the WASI 0.3 router.
    let mut build_p3 = build.clone();
    build_p3.router = Router::RustP3;
    build_p3.out = dir.join("p3/redirects.wasm");
    build_p3.work_dir = dir.join("p3/work");
    let report_p3 = pipeline::build(tools, &build_p3)?;
    // ...and linked into the router itself (one module per instance).
    let mut build_fused = build.clone();
    build_fused.router = Router::RustFused;
    build_fused.out = dir.join("fused/redirects.wasm");
    build_fused.work_dir = dir.join("fused/work");
    let report_fused = pipeline::build(tools, &build_fused)?;
    let hello = hello_world(&dir)?;

    let probe = crate::gen::encode(&rules[rules.len() / 2].source);
    let mut paths: Vec<String> = Vec::new();
    for (i, r) in rules.iter().enumerate().filter(|(i, _)| i % 97 == 0) {
        paths.push(crate::gen::encode(&r.source));
        if paths.len().is_multiple_of(4) {
            paths.push(format!("/bench-miss/{i}"));
        }
    }
    let paths_file = dir.join("paths.txt");
    std::fs::write(&paths_file, paths.join("\n") + "\n")?;
    let lua = dir.join("paths.lua");
    std::fs::write(&lua, crate::soak::LUA)?;

    let mut all_figures = Vec::new();
    {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let (proc, start_ms) = nginx(&dir.join("nginx"), &rules, port, &probe)?;
        let mut f = Figures {
            name: "nginx map (2 workers)".into(),
            start_ms,
            ..Default::default()
        };
        load(
            &proc,
            &mut f,
            &format!("http://127.0.0.1:{port}{probe}"),
            opts,
            &lua,
            &paths_file,
        )?;
        all_figures.push(f);
    }
    let per_request: &[&str] = &["--max-instance-reuse-count", "1"];
    let p3_options = [
        &crate::EMBEDDED_SERVE_OPTIONS[..],
        Router::RustP3.serve_options(),
    ]
    .concat();
    let variants: [(&str, &Path, &[&str]); 5] = [
        (
            "ours, WASI 0.2, instance reuse (embedded default)",
            &report.composed,
            &crate::EMBEDDED_SERVE_OPTIONS,
        ),
        (
            "ours, WASI 0.3 router (spin-sdk 7)",
            &report_p3.composed,
            &p3_options,
        ),
        (
            "ours, instance per request (Spin, Akamai)",
            &report.composed,
            per_request,
        ),
        (
            "ours, fused router, instance per request",
            &report_fused.composed,
            per_request,
        ),
        (
            "hello world, instance per request (floor)",
            &hello,
            per_request,
        ),
    ];
    for (name, component, options) in variants {
        // Compiled at start each time (no wasmtime cache), so the start
        // figures are comparable; `./x cold-start` has the cached and
        // precompiled figures.
        let options: Vec<&str> = ["-C", "cache=n"].iter().chain(options).copied().collect();
        let started = Instant::now();
        let server = Server::start_with(tools, &options, component)?;
        let start_ms = wait_for(&server.addr.to_string(), &probe, started)?;
        let url = format!("http://{}{probe}", server.addr);
        let pid = server.pid();
        let proc = Proc {
            child: None,
            server: Some(server),
            pid,
        };
        let mut f = Figures {
            name: name.into(),
            start_ms,
            ..Default::default()
        };
        load(&proc, &mut f, &url, opts, &lua, &paths_file)?;
        all_figures.push(f);
    }

    let n = &all_figures[0];
    let mut md = String::new();
    writeln!(md, "## Benchmark\n")?;
    writeln!(
        md,
        "`./x bench --rules {} --hey-requests {} --wrk-seconds {}` on {}, client and servers on the same machine. \
         {} exact rules for every host, the same file for both servers (nginx `map $uri`, `map_hash_bucket_size 256`; \
         ours `wasmtime serve` {}). hey: `hey -disable-redirects -c 200 -n {}` on one rule's URL; wrk: `-t2 -c200 -d{}s` over {} paths \
         (4 hits : 1 miss). \"bad\" counts anything but 3xx/404 and socket errors. Ratios are to nginx in the same run.\n",
        opts.rules,
        opts.hey_requests,
        opts.wrk_seconds,
        crate::soak::machine(),
        rules.len(),
        tools::WASMTIME_VERSION,
        opts.hey_requests,
        opts.wrk_seconds,
        paths.len()
    )?;
    writeln!(md, "| server | hey req/s | ratio | p50 / p99 ms | wrk req/s | ratio | p50 / p99 ms | bad | start ms | RSS MiB | CPU µs/request |")?;
    writeln!(md, "|---|---|---|---|---|---|---|---|---|---|---|")?;
    for f in &all_figures {
        writeln!(
            md,
            "| {} | {:.0} | {:.2}× | {:.1} / {:.1} | {:.0} | {:.2}× | {:.1} / {:.1} | {} | {:.0} | {:.1} | {:.0} |",
            f.name,
            f.hey_rps,
            f.hey_rps / n.hey_rps,
            f.hey_p50_ms,
            f.hey_p99_ms,
            f.wrk_rps,
            f.wrk_rps / n.wrk_rps,
            f.wrk_p50_ms,
            f.wrk_p99_ms,
            f.hey_bad + f.wrk_bad,
            f.start_ms,
            f.rss_mib,
            f.cpu_us_per_request
        )?;
    }
    let (reuse, p3, per_req, fused, hello) = (
        &all_figures[1],
        &all_figures[2],
        &all_figures[3],
        &all_figures[4],
        &all_figures[5],
    );
    writeln!(
        md,
        "\nArtifact: rules → deployable component {:.2} s warm (no Rust recompiled); composed component {:.1} MiB, \
         {:.1} bytes per rule (table {:.1} bytes per rule); initial linear memory {:.1} MiB, which each instance maps \
         copy-on-write. The WASI 0.3 router: {:.2}× nginx (hey), {:.2}× (wrk).\n\n\
         Instance per request against the hello-world floor (same SDK, adapter and host, no lookup): {:.2}× its req/s \
         (hey), {:.2}× (wrk); server CPU per request {:.0} µs against its {:.0} µs. Instantiation itself costs about \
         {:.0} µs of server CPU per request (instance per request minus instance reuse). The fused router (`--router \
         rust-fused`: table linked into the router, one module): {:.2}× the floor (hey), {:.2}× (wrk), {:.0} µs per \
         request.\n\n![req/s by server](bench.png)\n",
        warm_build.as_secs_f64(),
        composed_bytes as f64 / 1048576.0,
        composed_bytes as f64 / rules.len() as f64,
        report.summary.bytes as f64 / rules.len() as f64,
        report.usage.memory_bytes as f64 / 1048576.0,
        p3.hey_rps / n.hey_rps,
        p3.wrk_rps / n.wrk_rps,
        per_req.hey_rps / hello.hey_rps,
        per_req.wrk_rps / hello.wrk_rps,
        per_req.cpu_us_per_request,
        hello.cpu_us_per_request,
        per_req.cpu_us_per_request - reuse.cpu_us_per_request,
        fused.hey_rps / hello.hey_rps,
        fused.wrk_rps / hello.wrk_rps,
        fused.cpu_us_per_request
    )?;
    let bad: u64 = all_figures.iter().map(|f| f.hey_bad + f.wrk_bad).sum();
    let mark = |ok: bool| if ok { "met" } else { "not met" };
    let best = reuse.hey_rps.max(p3.hey_rps) / n.hey_rps;
    writeln!(
        md,
        "\nAgainst the project's targets (issue 4), this run:\n\n\
         | target | this run | |\n|---|---|---|\n\
         | embedded default ≥ 1.0× nginx req/s, p99 ≤ nginx's | best {:.2}× (hey), p99 {:.1} vs {:.1} ms | {} |\n\
         | instance per request ≥ 0.9× hello world | {:.2}× composed, {:.2}× fused (hey) | {} |\n\
         | no response other than 3xx/404 | {} bad | {} |\n\
         | composed ≤ 13 MB at 1M rules | {:.1} MB for {} rules ({:.1} B/rule) | {} |\n\
         | rules → artifact ≤ 5 s warm | {:.2} s | {} |\n",
        best,
        reuse.hey_p99_ms,
        n.hey_p99_ms,
        mark(best >= 1.0 && reuse.hey_p99_ms <= n.hey_p99_ms),
        per_req.hey_rps / hello.hey_rps,
        fused.hey_rps / hello.hey_rps,
        mark(per_req.hey_rps.max(fused.hey_rps) / hello.hey_rps >= 0.9),
        bad,
        mark(bad == 0),
        composed_bytes as f64 / 1e6,
        rules.len(),
        composed_bytes as f64 / rules.len() as f64,
        mark(composed_bytes as f64 / rules.len() as f64 * 1e6 <= 13e6),
        warm_build.as_secs_f64(),
        mark(warm_build.as_secs_f64() <= 5.0)
    )?;
    chart(&all_figures)?;
    if all_figures.iter().any(|f| f.hey_bad + f.wrk_bad > 0) {
        eprintln!("warning: some responses were not 3xx/404 (see the table)");
    }
    Ok(md)
}

/// Builds `hello/` (the floor: no lookup) like the router: wasm32-wasip1
/// core module + preview1 proxy adapter.
fn hello_world(dir: &Path) -> Result<std::path::PathBuf> {
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
    let names: Vec<String> = figures.iter().map(|f| format!("{:?}", f.name)).collect();
    let hey: Vec<String> = figures
        .iter()
        .map(|f| format!("{:.0}", f.hey_rps))
        .collect();
    let wrk: Vec<String> = figures
        .iter()
        .map(|f| format!("{:.0}", f.wrk_rps))
        .collect();
    let out = crate::workspace_root().join("bench.png");
    let script = format!(
        "import matplotlib, textwrap\nmatplotlib.use('Agg')\nimport matplotlib.pyplot as plt\nnames=[{}]\nhey=[{}]\nwrk=[{}]\n\
         names=[textwrap.fill(n,22) for n in names]\nx=range(len(names))\nfig,ax=plt.subplots(figsize=(10,5))\nax.bar([i-0.2 for i in x],hey,0.4,label='hey, one URL')\n\
         ax.bar([i+0.2 for i in x],wrk,0.4,label='wrk, many paths')\nax.set_xticks(list(x))\nax.set_xticklabels(names,fontsize=8)\n\
         ax.set_ylabel('requests/s (higher is better)')\nax.set_title('redirects vs nginx map, same rules, same run')\nax.legend()\n\
         fig.tight_layout()\nfig.savefig({:?},dpi=100)\n",
        names.join(","),
        hey.join(","),
        wrk.join(","),
        out.display().to_string()
    );
    tools::run(Command::new(&python).args(["-c", &script]))
}
