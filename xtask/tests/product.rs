//! The `redirects` command as users run it: a build with no other tool on
//! PATH, the same component as the manual `wac plug`, and rule updates
//! under load without a failed request. Needs the pinned tools for the
//! comparisons (`./x setup`) and the `redirects` binary (`./x test` builds
//! both).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use xtask::server::{redirects_binary, Server};
use xtask::tools::Tools;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn scratch(name: &str) -> PathBuf {
    let dir = xtask::target_dir().join("e2e-product").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?}: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// `wasm-tools component wit` lines of one kind (`import` or `export`).
fn world_items(tools: &Tools, component: &Path, kind: &str) -> Vec<String> {
    let wit = run(Command::new(&tools.wasm_tools)
        .args(["component", "wit"])
        .arg(component));
    let mut items: Vec<String> = wit
        .lines()
        .filter_map(|l| l.trim().strip_prefix(kind))
        .map(|l| l.trim().to_string())
        .collect();
    items.sort();
    items
}

/// Requests the fixture's matching cases and returns every answer, in order.
fn answers(server: &Server) -> Vec<(u16, Option<String>)> {
    ["/old", "/docs/a/b", "/keep?a=b", "/caf%C3%A9", "/nothing"]
        .iter()
        .map(|t| {
            let r = server.get_host("shop.example.com", t).unwrap();
            (r.status, r.header("location"))
        })
        .collect()
}

#[test]
fn redirects_build_needs_no_other_tool_and_matches_wac_plug() {
    let dir = scratch("no-tools");
    let home = dir.join("home");
    std::fs::create_dir_all(&home).unwrap();
    let app = dir.join("app.wasm");
    // No tools cache, nothing but the system's binaries on PATH.
    let out = Command::new(redirects_binary().unwrap())
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("HOME", &home)
        .env("REDIRECTS_TOOLS", dir.join("no-tools-here"))
        .arg("build")
        .arg(fixture("matching.txt"))
        .arg("-o")
        .arg(&app)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // (The tools live in the tools cache, never on the system PATH.)
    for tool in ["wasmtime", "wac", "wasm-tools", "wizer", "componentize-py"] {
        assert!(
            !["/usr/bin", "/bin"]
                .iter()
                .any(|d| Path::new(d).join(tool).exists()),
            "{tool} is on the restricted PATH: the test would prove nothing"
        );
    }

    // The manual way: `wac plug` of the published parts.
    let tools = Tools::find().expect("tools missing: run `./x setup`");
    let manual = dir.join("wac-plug.wasm");
    run(Command::new(&tools.wac)
        .arg("plug")
        .arg(dir.join("router.wasm"))
        .arg("--plug")
        .arg(dir.join("lookup.wasm"))
        .arg("-o")
        .arg(&manual));
    for kind in ["import", "export"] {
        assert_eq!(
            world_items(&tools, &app, kind),
            world_items(&tools, &manual, kind),
            "{kind}s differ"
        );
    }
    // Same answers: ours under the component engine, wac's under wasmtime serve.
    let ours = Server::start_redirects(&["--engine", "component", "--no-watch"], &app).unwrap();
    let theirs = Server::start(&tools, &manual).unwrap();
    let (a, b) = (answers(&ours), answers(&theirs));
    assert_eq!(a, b);
    assert_eq!(
        a[0],
        (301, Some("/new".to_string())),
        "the rules were served"
    );
}

/// Rules are rewritten (and a broken version is tried) while clients keep
/// asking: every request gets an answer of one of the versions, none
/// fails, and the last good version wins.
#[test]
fn rules_reload_under_load_without_a_failed_request() {
    for engine in ["native", "component"] {
        reload_under_load(engine);
    }
}

/// A change made while the server is still loading the first version (a
/// big rule set takes a second or more) is served once loading ends: the
/// watcher compares against the file as it was read, not as it is when
/// serving starts. (Before 2026-12-05 such a change was never noticed.)
#[test]
fn a_change_during_the_first_load_is_picked_up() {
    let dir = scratch("change-during-load");
    let rules = dir.join("rules.txt");
    let version = |v: &str| {
        let mut text = format!("/old /new-{v}\n");
        for i in 0..300_000 {
            text.push_str(&format!("/p/{i}/{v} /q/{i}\n"));
        }
        text
    };
    std::fs::write(&rules, version("a")).unwrap();
    let writer = {
        let (rules, b) = (rules.clone(), version("b"));
        std::thread::spawn(move || {
            // The binary has read the file by now and is compiling it.
            std::thread::sleep(Duration::from_millis(300));
            let tmp = rules.with_extension("tmp");
            std::fs::write(&tmp, b).unwrap();
            std::fs::rename(&tmp, &rules).unwrap();
        })
    };
    let server = Server::start_redirects(&["--engine", "native"], &rules).unwrap();
    writer.join().unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while server.get("/old").unwrap().header("location").as_deref() != Some("/new-b") {
        assert!(Instant::now() < deadline, "the change was never served");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(
        server.get("/p/7/b").unwrap().header("location").as_deref(),
        Some("/q/7")
    );
}

fn reload_under_load(engine: &str) {
    let dir = scratch(&format!("reload-{engine}"));
    let rules = dir.join("rules.txt");
    let version = |v: &str| format!("/old /new-{v}\n/docs/* /manual-{v}/:splat\n");
    std::fs::write(&rules, version("a")).unwrap();
    let server = Arc::new(Server::start_redirects(&["--engine", engine], &rules).unwrap());
    let stop = Arc::new(AtomicBool::new(false));
    let (ok, failed) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let seen = Arc::new(Mutex::new(std::collections::BTreeSet::new()));
    let clients: Vec<_> = (0..4)
        .map(|_| {
            let (server, stop, ok, failed, seen) = (
                server.clone(),
                stop.clone(),
                ok.clone(),
                failed.clone(),
                seen.clone(),
            );
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    match server.get("/old") {
                        Ok(r) if r.status == 301 => {
                            ok.fetch_add(1, Ordering::Relaxed);
                            seen.lock()
                                .unwrap()
                                .insert(r.header("location").unwrap_or_default());
                        }
                        other => {
                            failed.fetch_add(1, Ordering::Relaxed);
                            eprintln!("failed: {other:?}");
                        }
                    }
                }
            })
        })
        .collect();
    let wait_for = |location: &str| {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let r = server.get("/old").unwrap();
            if r.header("location").as_deref() == Some(location) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{engine}: never served {location}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    wait_for("/new-a");
    // A change to the file is picked up by itself.
    std::fs::write(&rules, version("b")).unwrap();
    wait_for("/new-b");
    // A broken version is refused; the previous one keeps serving.
    let tmp = dir.join("rules.tmp");
    std::fs::write(&tmp, "/old /new-c\n/old /dup\n").unwrap();
    std::fs::rename(&tmp, &rules).unwrap();
    std::thread::sleep(Duration::from_secs(2));
    server.signal("HUP").unwrap();
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(
        server.get("/old").unwrap().header("location").as_deref(),
        Some("/new-b"),
        "{engine}: a broken version replaced a good one"
    );
    // SIGHUP reloads too (the file written without changing its stamp
    // would not be noticed otherwise).
    std::fs::write(&tmp, version("d")).unwrap();
    std::fs::rename(&tmp, &rules).unwrap();
    server.signal("HUP").unwrap();
    wait_for("/new-d");
    stop.store(true, Ordering::Relaxed);
    for c in clients {
        c.join().unwrap();
    }
    let (ok, failed) = (ok.load(Ordering::Relaxed), failed.load(Ordering::Relaxed));
    assert_eq!(
        failed,
        0,
        "{engine}: {failed} of {} requests failed",
        ok + failed
    );
    assert!(ok > 100, "{engine}: only {ok} requests were made");
    let seen = seen.lock().unwrap().clone();
    assert!(
        seen.iter()
            .all(|l| ["/new-a", "/new-b", "/new-d"].contains(&l.as_str())),
        "{engine}: {seen:?}"
    );
    if engine == "native" {
        // The two good reloads were served with hashed keys.
        let log = server.log();
        assert!(
            log.matches(xtask::server::KEYS_HASHED).count() >= 2,
            "{log}"
        );
    }
}

/// `--no-hash-keys`: the native engine answers with the lookup as loaded,
/// before and after a reload, and never hashes its keys.
#[test]
fn native_engine_serves_without_hashed_keys_when_asked() {
    let dir = scratch("no-hash-keys");
    let rules = dir.join("rules.txt");
    std::fs::write(&rules, "/old /new-a\n/docs/* /manual/:splat\n").unwrap();
    let options = ["--engine", "native", "--no-hash-keys", "--no-watch"];
    let server = Server::start_redirects(&options, &rules).unwrap();
    let location = |target: &str| server.get(target).unwrap().header("location");
    assert_eq!(location("/docs/a/b").as_deref(), Some("/manual/a/b"));
    assert_eq!(location("/old").as_deref(), Some("/new-a"));
    std::fs::write(&rules, "/old /new-b\n").unwrap();
    server.signal("HUP").unwrap();
    server.wait_for_log("reloaded").unwrap();
    assert_eq!(location("/old").as_deref(), Some("/new-b"));
    assert_eq!(location("/docs/a/b"), None);
    let log = server.log();
    assert!(!log.contains("hashed"), "{log}");
}
