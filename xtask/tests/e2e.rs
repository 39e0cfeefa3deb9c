//! End-to-end: the real pipeline builds the real composed component, which
//! `wasmtime serve` serves on 127.0.0.1; every assertion goes over HTTP.
//! Needs the pinned tools (`./x setup`, which `./x test` runs first).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use xtask::pipeline::{self, BuildOptions, BuildReport};
use xtask::server::Server;
use xtask::tools::{self, Tools};

fn tools() -> &'static Tools {
    static TOOLS: OnceLock<Tools> = OnceLock::new();
    TOOLS.get_or_init(|| Tools::find().expect("tools missing: run `./x setup`"))
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// Build options writing everything under `target/e2e/<name>/`.
fn options(name: &str, rules: PathBuf) -> BuildOptions {
    let dir = xtask::target_dir().join("e2e").join(name);
    let mut opts = BuildOptions::new(rules);
    opts.out = dir.join("redirects.wasm");
    opts.work_dir = dir.join("work");
    opts
}

fn build(name: &str, rules: PathBuf) -> BuildReport {
    pipeline::build(tools(), &options(name, rules)).expect("pipeline build")
}

/// The fixture build, shared by the tests that only read it.
fn basic() -> &'static BuildReport {
    static BASIC: OnceLock<BuildReport> = OnceLock::new();
    BASIC.get_or_init(|| build("basic", fixture("basic.txt")))
}

/// Every rule in a rules file, parsed by the compiler: (source, target, status).
fn rules_of(path: &Path) -> Vec<(String, String, u16)> {
    let text = std::fs::read(path).unwrap();
    redirects_compiler::parse_rules(path, &text, redirects_format::Status::DEFAULT)
        .unwrap()
        .into_iter()
        .map(|r| (r.source, r.target, r.status.code()))
        .collect()
}

/// Percent-encodes what a client would escape in a request target.
fn encode_path(path: &str) -> String {
    let mut out = String::new();
    for b in path.bytes() {
        if b.is_ascii_graphic() {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn assert_every_rule_redirects(server: &Server, rules: &[(String, String, u16)]) {
    for (source, target, status) in rules {
        let r = server.get(&encode_path(source)).unwrap();
        assert_eq!(r.status, *status, "status for {source}");
        assert_eq!(
            r.header("location").as_deref(),
            Some(target.as_str()),
            "location for {source}"
        );
    }
}

#[test]
fn fixture_rules_redirect_over_http() {
    let report = basic();
    let server = Server::start(tools(), &report.composed).unwrap();
    let rules = rules_of(&fixture("basic.txt"));
    assert_eq!(report.summary.rules, rules.len());
    assert_every_rule_redirects(&server, &rules);

    // The query string is not part of the match; the rule's target is used as is.
    let r = server.get("/old?utm_source=mail&x=1").unwrap();
    assert_eq!(
        (r.status, r.header("location").as_deref()),
        (301, Some("/new"))
    );
    let r = server.get("/with-query-target?").unwrap();
    assert_eq!(
        r.header("location").as_deref(),
        Some("/search?q=redirects&lang=en")
    );

    // Non-ASCII paths: the escaped request matches the rule however it was written.
    let r = server.get("/stra%C3%9Fe").unwrap();
    assert_eq!(
        (r.status, r.header("location").as_deref()),
        (302, Some("/street"))
    );
    let r = server.get("/caf%c3%a9").unwrap();
    assert_eq!(
        (r.status, r.header("location").as_deref()),
        (301, Some("/coffee"))
    );

    // Misses: 404 with a short body, no Location.
    for miss in [
        "/",
        "/nope",
        "/old/",
        "/ol",
        "/oldx",
        "/old/deeper",
        "/upper",
        "/trailing",
    ] {
        let r = server.get(miss).unwrap();
        assert_eq!(r.status, 404, "{miss}");
        assert_eq!(r.header("location"), None, "{miss}");
        assert_eq!(r.body, b"no redirect for this path\n", "{miss}");
    }
    // An invalid escape matches nothing (and does not break anything).
    assert_eq!(server.get("/caf%C3%A").unwrap().status, 404);
    assert_eq!(server.get("/%zz").unwrap().status, 404);
    // A long path.
    let long = format!("/{}", "segment/".repeat(1000));
    assert_eq!(server.get(&long).unwrap().status, 404);
    let long_hit = "/a/b/c/d/e/f/g/h/i/j/k/l/m/n/o/p";
    assert_eq!(
        server.get(long_hit).unwrap().header("location").as_deref(),
        Some("/deep")
    );
    // Still serving after all that.
    assert_eq!(server.get("/old").unwrap().status, 301);
}

#[test]
fn example_rules_round_trip_through_the_component() {
    let rules_file = xtask::example_rules();
    let report = build("example", rules_file.clone());
    let rules = rules_of(&rules_file);
    assert_eq!(rules.len(), xtask::EXAMPLE_RULE_COUNT);
    // The table file says the same as the rules text...
    let table = redirects_format::Table::from_bytes(std::fs::read(&report.table).unwrap()).unwrap();
    assert_eq!(table.len(), rules.len());
    // ...and so does the real component, rule by rule, over HTTP.
    let server = Server::start(tools(), &report.composed).unwrap();
    assert_every_rule_redirects(&server, &rules);
}

#[test]
fn new_rules_rebuild_without_recompiling_rust() {
    let first = build("rebuild", fixture("basic.txt"));
    let core = pipeline::build_core_modules().unwrap();
    let mtime = |p: &Path| std::fs::metadata(p).unwrap().modified().unwrap();
    let (lookup_before, router_before) = (mtime(&core.lookup), mtime(&core.router));
    let composed_before = std::fs::read(&first.composed).unwrap();

    let dir = xtask::target_dir().join("e2e/rebuild");
    let rules = dir.join("more.txt");
    std::fs::write(&rules, "/brand-new /landing 307\n").unwrap();
    let second = build("rebuild", rules);
    assert_eq!(
        mtime(&core.lookup),
        lookup_before,
        "lookup core module was rebuilt"
    );
    assert_eq!(
        mtime(&core.router),
        router_before,
        "router core module was rebuilt"
    );
    assert_ne!(std::fs::read(&second.composed).unwrap(), composed_before);

    let server = Server::start(tools(), &second.composed).unwrap();
    let r = server.get("/brand-new").unwrap();
    assert_eq!(
        (r.status, r.header("location").as_deref()),
        (307, Some("/landing"))
    );
    assert_eq!(server.get("/old").unwrap().status, 404);
}

#[test]
fn bad_rules_fail_the_build_and_keep_the_previous_artifact() {
    let good = build("keep", fixture("basic.txt"));
    let before = std::fs::read(&good.composed).unwrap();
    let dir = xtask::target_dir().join("e2e/keep");
    let bad = dir.join("bad.txt");
    std::fs::write(&bad, "/ok /fine\n/dup /a\n/dup /b\nnot-a-path /x\n").unwrap();
    let err = pipeline::build(tools(), &options("keep", bad.clone())).unwrap_err();
    let msg = format!("{err:#}");
    let file = bad.display();
    assert!(
        msg.contains(&format!(
            "{file}:3: duplicate source `/dup` (first defined on line 2)"
        )),
        "{msg}"
    );
    assert!(
        msg.contains(&format!(
            "{file}:4: source `not-a-path` must start with `/`"
        )),
        "{msg}"
    );
    assert_eq!(
        std::fs::read(&good.composed).unwrap(),
        before,
        "previous artifact changed"
    );
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains(".tmp-"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
}

/// The `import ...;` and `export ...;` lines of a component's world.
fn world_items(component: &Path, kind: &str) -> Vec<String> {
    let wit = tools::output(
        Command::new(&tools().wasm_tools)
            .args(["component", "wit"])
            .arg(component),
    )
    .unwrap();
    let world = wit
        .split("world root {")
        .nth(1)
        .unwrap()
        .split('}')
        .next()
        .unwrap();
    world
        .lines()
        .filter_map(|l| l.trim().strip_prefix(&format!("{kind} ")))
        .map(|l| l.trim_end_matches(';').to_string())
        .collect()
}

#[test]
fn composed_component_imports_only_allowed_interfaces() {
    let imports = world_items(&basic().composed, "import");
    assert!(!imports.is_empty());
    let allowed = [
        "wasi:http/types@",
        "wasi:io/",
        "wasi:cli/stdin@",
        "wasi:cli/stdout@",
        "wasi:cli/stderr@",
        "wasi:random/",
        "wasi:clocks/",
    ];
    for import in &imports {
        assert!(
            allowed.iter().any(|a| import.starts_with(a)),
            "import not allowed: {import}"
        );
    }
    assert_eq!(
        world_items(&basic().composed, "export"),
        ["wasi:http/incoming-handler@0.2.0"]
    );
}

#[test]
fn lookup_component_needs_no_capability() {
    let imports = world_items(&basic().lookup, "import");
    for import in &imports {
        assert!(
            [
                "wasi:io/",
                "wasi:cli/stdin@",
                "wasi:cli/stdout@",
                "wasi:cli/stderr@"
            ]
            .iter()
            .any(|a| import.starts_with(a)),
            "lookup imports {import}"
        );
    }
    assert_eq!(
        world_items(&basic().lookup, "export"),
        ["redirects:lookup/lookup@0.1.0"]
    );
}

/// Calls one function of the lookup component with `wasmtime run --invoke`.
fn invoke(call: &str) -> String {
    tools::output(
        Command::new(&tools().wasmtime)
            .args(["run", "--invoke", call])
            .arg(&basic().lookup),
    )
    .unwrap()
    .trim()
    .to_string()
}

#[test]
fn lookup_component_answers_without_the_router() {
    let count = rules_of(&fixture("basic.txt")).len();
    assert_eq!(invoke("rule-count()"), count.to_string());
    assert_eq!(
        invoke(r#"lookup({host: none, path: "/old/deeper/path", query: some("a=1")})"#),
        r#"some({location: "/new/deeper", status: 302})"#
    );
    assert_eq!(
        invoke(r#"lookup({host: some("example.com"), path: "/caf%C3%A9", query: none})"#),
        r#"some({location: "/coffee", status: 301})"#
    );
    assert_eq!(
        invoke(r#"lookup({host: none, path: "/missing", query: none})"#),
        "none"
    );
}
