//! The development build pipeline: the product's own in-process steps
//! ([`redirects::artifact`]: Wizer, `wit-component`, `wac-graph`, budget)
//! around core modules built from this checkout, so the variant routers
//! the product does not ship can be built and tested too:
//!
//! 1. compile the rules into a table file (`redirects-compiler`), while
//!    `cargo build` builds the lookup and router core modules for
//!    `wasm32-wasip1` (a no-op when no Rust changed); with `--router
//!    python`, componentize-py builds the Python router instead (cached);
//! 2. Wizer snapshots the loaded table into the lookup (and, for the fused
//!    router, into the router);
//! 3. the core modules become components, the lookup with a trapping WASI
//!    stub so it imports nothing;
//! 4. the lookup is plugged into the router (`wac-graph`);
//! 5. validation and the Akamai Functions budget, then an atomic write, so
//!    a failed build leaves the previous output in place; `lookup.wasm` and
//!    `router.wasm` are published beside it.
//!
//! `redirects build` is the same pipeline with the default router and the
//! core modules embedded in the binary.

use crate::tools::{self, Tools};
use anyhow::{Context, Result};
use redirects::artifact;
use redirects_compiler::{Options, Summary};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// The table file's name inside the work directory's `data/`.
const TABLE_FILE: &str = artifact::TABLE_FILE;

/// What to build.
#[derive(Debug, Clone)]
pub struct BuildOptions {
    /// The rules file.
    pub rules: PathBuf,
    /// The composed component to write.
    pub out: PathBuf,
    /// Where intermediate files go (the table, the Wizer output, the
    /// lookup and router components).
    pub work_dir: PathBuf,
    /// Rules compiler options.
    pub compile: Options,
    /// Refuse an artifact over the Akamai Functions budget (default true).
    pub budget_check: bool,
    /// Which router to plug the lookup into.
    pub router: Router,
}

/// The routers the lookup can be plugged into. They answer the same
/// requests the same way; the end-to-end tests run the same HTTP cases
/// through each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Router {
    /// `router/`: Rust, spin-sdk 5.2, `wasi:http@0.2.6`. The default: it
    /// runs on Spin 4, Akamai Functions and `wasmtime serve`.
    #[default]
    Rust,
    /// `examples/router-wasi-p3/`: spin-sdk 7 `#[http_service]`,
    /// `wasi:http@0.3.0`, the same routing function. wasmtime serves it
    /// with `-S p3 -W component-model-async` (and reuses instances, up to
    /// 16 requests at once in one instance); Spin 4.0.2 refuses
    /// `wasi:http@0.3.0`, so this is for `wasmtime serve` and other WASI
    /// 0.3 hosts.
    RustP3,
    /// `router/` with the `fused` feature: the same router with the table
    /// linked in and Wizer-initialised in the router module itself, so an
    /// instance is one core module (plus the adapter) instead of a
    /// composition of two components. For hosts that instantiate per
    /// request (Spin, Akamai Functions): about 30% less server CPU per
    /// request (BENCHMARKS.md). `lookup.wasm` is still built and
    /// published for reuse; the fused component does not use it.
    RustFused,
    /// `examples/router-py/`: Python via componentize-py, `wasi:http@0.2.6`. Shows
    /// that the contract is the WIT: the same `lookup.wasm`, another
    /// language. Its component carries CPython (~18 MB) and imports the
    /// WASI CLI, file system and socket interfaces its runtime links
    /// against, so it is a demonstration, not the deployment default.
    Python,
}

impl Router {
    /// Every router, for `--router` help and the tests.
    pub const ALL: [Router; 4] = [
        Router::Rust,
        Router::RustP3,
        Router::RustFused,
        Router::Python,
    ];

    /// The `--router` value.
    pub fn name(self) -> &'static str {
        match self {
            Router::Rust => "rust",
            Router::RustP3 => "rust-p3",
            Router::RustFused => "rust-fused",
            Router::Python => "python",
        }
    }

    /// Extra `wasmtime serve` options this router needs. The Python
    /// router's runtime links against the WASI CLI interfaces (environment,
    /// exit, file system, sockets), so it needs `-S cli`; Spin provides
    /// them to every component. (componentize-py's `--stub-wasi` would
    /// remove them, but it stubs `wasi:http` too, so every request traps.)
    pub fn serve_options(self) -> &'static [&'static str] {
        match self {
            Router::Rust | Router::RustFused => &[],
            Router::RustP3 => &["-S", "p3", "-W", "component-model-async"],
            Router::Python => &["-S", "cli"],
        }
    }

    /// Where `./x build --router` writes this router's build: a variant
    /// never replaces the default artifact, `composed/redirects.wasm` (the
    /// file spin.toml and the Deploy section ship); it goes under
    /// `target/variants/<name>/`.
    pub fn default_output(self) -> PathBuf {
        match self {
            Router::Rust => crate::workspace_root().join("composed/redirects.wasm"),
            _ => crate::target_dir()
                .join("variants")
                .join(self.name())
                .join("redirects.wasm"),
        }
    }

    /// Parses a `--router` value.
    pub fn parse(name: &str) -> Result<Router> {
        Router::ALL
            .into_iter()
            .find(|r| r.name() == name)
            .with_context(|| {
                let names: Vec<_> = Router::ALL.iter().map(|r| r.name()).collect();
                format!("unknown router {name:?} (one of: {})", names.join(", "))
            })
    }
}

impl BuildOptions {
    /// The defaults of `cargo xtask build`: `rules` into
    /// `composed/redirects.wasm`, intermediates under `target/redirects/`.
    pub fn new(rules: PathBuf) -> BuildOptions {
        BuildOptions {
            rules,
            out: crate::workspace_root().join("composed/redirects.wasm"),
            work_dir: crate::target_dir().join("redirects"),
            compile: Options::default(),
            budget_check: true,
            router: Router::default(),
        }
    }
}

/// What a build produced and how long each step took.
#[derive(Debug, Clone)]
pub struct BuildReport {
    /// The compiled table.
    pub summary: Summary,
    /// The table file.
    pub table: PathBuf,
    /// The standalone lookup component (reusable by other apps), published
    /// beside the composed component as `lookup.wasm`.
    pub lookup: PathBuf,
    /// The composed component.
    pub composed: PathBuf,
    /// The standalone router component (imports `redirects:lookup/lookup`).
    pub router: PathBuf,
    /// Size and initial memory, as the budget check measured them.
    pub usage: redirects::budget::Usage,
    /// Each step's name and wall time.
    pub steps: Vec<(&'static str, Duration)>,
}

impl BuildReport {
    /// Total wall time (steps named with a leading space are parts of the
    /// step before them and not added again).
    pub fn total(&self) -> Duration {
        self.steps
            .iter()
            .filter(|s| !s.0.starts_with(' '))
            .map(|s| s.1)
            .sum()
    }
}

/// The core modules built by `cargo build`.
#[derive(Debug, Clone)]
pub struct CoreModules {
    /// `redirects_lookup.wasm`, before Wizer.
    pub lookup: PathBuf,
    /// `redirects_router.wasm`.
    pub router: PathBuf,
}

/// Builds the lookup and router core modules (release, `wasm32-wasip1`).
/// Cargo skips this when nothing changed. The fused router is the same
/// crate with another feature, so it gets a target directory of its own
/// (`target/fused`): switching routers never rebuilds another one.
pub fn build_core_modules(router: Router) -> Result<CoreModules> {
    tools::run(cargo_build_wasm().args(["-p", "redirects-lookup", "-p", "redirects-router"]))?;
    let dir = crate::target_dir().join("wasm32-wasip1/wasm");
    let mut router_module = dir.join("redirects_router.wasm");
    if router == Router::RustP3 {
        tools::run(cargo_build_wasm().args(["-p", "redirects-router-wasi-p3"]))?;
        router_module = dir.join("redirects_router_wasi_p3.wasm");
    }
    if router == Router::RustFused {
        let (dir, features) = ("fused", ["--features", "fused"]);
        let dir = crate::target_dir().join(dir);
        tools::run(
            cargo_build_wasm()
                .args(["-p", "redirects-router"])
                .args(features)
                .arg("--target-dir")
                .arg(&dir),
        )?;
        router_module = dir.join("wasm32-wasip1/wasm/redirects_router.wasm");
    }
    Ok(CoreModules {
        lookup: dir.join("redirects_lookup.wasm"),
        router: router_module,
    })
}

/// `cargo build --quiet --profile wasm --target wasm32-wasip1`, to add the
/// packages to.
pub fn cargo_build_wasm() -> Command {
    let mut cmd = crate::cargo();
    cmd.args([
        "build",
        "--quiet",
        "--profile",
        "wasm",
        "--target",
        "wasm32-wasip1",
    ]);
    cmd
}

/// Runs the whole pipeline.
pub fn build(tools: &Tools, opts: &BuildOptions) -> Result<BuildReport> {
    let mut steps = Vec::new();
    let mut step = |name, took: Duration| steps.push((name, took));
    let data_dir = opts.work_dir.join("data");
    std::fs::create_dir_all(&data_dir)
        .with_context(|| format!("creating {}", data_dir.display()))?;

    // Compile the rules while cargo checks the wasm crates (a no-op
    // unless Rust changed): the two do not depend on each other.
    let t = Instant::now();
    let table = data_dir.join(TABLE_FILE);
    let (compiled, core) = std::thread::scope(|s| {
        let cargo = s.spawn(|| {
            let t = Instant::now();
            build_core_modules(opts.router).map(|core| (core, t.elapsed()))
        });
        let compiled = redirects_compiler::compile(&opts.rules, &table, &opts.compile);
        (compiled, cargo.join().expect("cargo thread"))
    });
    let summary = compiled.map_err(artifact::compile_error)?;
    let (core, cargo_time) = core?;
    step("compile rules, cargo build alongside", t.elapsed());
    step("  cargo build (no-op if unchanged)", cargo_time);

    let t = Instant::now();
    let read = |p: &Path| std::fs::read(p).with_context(|| format!("reading {}", p.display()));
    let wizened = artifact::wizer(&read(&core.lookup)?, &table)
        .context("Wizer could not initialise the lookup with the table")?;
    let fused = match opts.router {
        Router::RustFused => Some(
            artifact::wizer(&read(&core.router)?, &table)
                .context("Wizer could not initialise the fused router with the table")?,
        ),
        _ => None,
    };
    step("wizer", t.elapsed());

    let t = Instant::now();
    let lookup = artifact::lookup_component(&wizened)?;
    let router = match (opts.router, &fused) {
        (Router::RustFused, Some(fused)) => {
            artifact::componentize(fused, redirects::modules::PROXY_ADAPTER)?
        }
        (Router::Python, _) => read(&python_router(tools)?)?,
        _ => artifact::componentize(&read(&core.router)?, redirects::modules::PROXY_ADAPTER)?,
    };
    step("component new", t.elapsed());

    let t = Instant::now();
    let composed = match opts.router {
        // Already the whole app: nothing to plug.
        Router::RustFused => router.clone(),
        _ => artifact::plug(&router, &lookup)?,
    };
    artifact::validate(&composed, opts.router == Router::RustP3)?;
    let usage = if opts.budget_check {
        redirects::budget::check_bytes(&composed)?
    } else {
        redirects::budget::measure(&composed)?
    };
    // Publish the parts beside the composed component (other apps and
    // Spin's own composition use them), then the composed component.
    // (A fused router imports no lookup, so it is not published as the
    // router that Spin's composition plugs `lookup.wasm` into.)
    let out_dir = opts
        .out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(out_dir).with_context(|| format!("creating {}", out_dir.display()))?;
    let published_lookup = out_dir.join("lookup.wasm");
    let published_router = out_dir.join("router.wasm");
    write_if_changed(&published_lookup, &lookup)?;
    if opts.router != Router::RustFused {
        write_if_changed(&published_router, &router)?;
    }
    redirects_compiler::write_atomic(&opts.out, &composed)
        .with_context(|| format!("writing {}", opts.out.display()))?;
    step("plug + validate + budget", t.elapsed());

    Ok(BuildReport {
        summary,
        table,
        lookup: published_lookup,
        router: published_router,
        composed: opts.out.clone(),
        usage,
        steps,
    })
}

/// Builds `examples/router-py/` with componentize-py into
/// `target/router-py/router.wasm`, unless its inputs (the app, its world,
/// `wit/lookup.wit`, the componentize-py version) are those of the last
/// build. The WIT it builds against is assembled from `examples/router-py/wit`,
/// `wit/lookup.wit` and the WASI 0.2.6 packages shipped in the spin-sdk
/// crate the Rust router uses, so both routers import the same
/// `wasi:http` version.
pub fn python_router(tools: &Tools) -> Result<PathBuf> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _guard = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let root = crate::workspace_root();
    let app = root.join("examples/router-py/app.py");
    let world = root.join("examples/router-py/wit/world.wit");
    let lookup_wit = root.join("wit/lookup.wit");
    let mut stamp = format!("componentize-py {}\n", tools::COMPONENTIZE_PY_VERSION).into_bytes();
    for input in [&app, &world, &lookup_wit] {
        stamp.extend(std::fs::read(input).with_context(|| format!("reading {}", input.display()))?);
    }
    let dir = crate::target_dir().join("router-py");
    let out = dir.join("router.wasm");
    let stamp_file = dir.join("router.stamp");
    if out.exists() && std::fs::read(&stamp_file).ok() == Some(stamp.clone()) {
        return Ok(out);
    }
    let wit = dir.join("wit");
    let _ = std::fs::remove_dir_all(&wit);
    std::fs::create_dir_all(wit.join("deps"))?;
    std::fs::copy(&world, wit.join("world.wit"))?;
    std::fs::copy(&lookup_wit, wit.join("deps/lookup.wit"))?;
    let wasi = spin_sdk_wit_deps()?;
    for package in [
        "cli",
        "clocks",
        "filesystem",
        "http",
        "io",
        "random",
        "sockets",
    ] {
        let from = wasi.join(format!("{package}@0.2.6"));
        let to = wit.join("deps").join(format!("{package}@0.2.6"));
        std::fs::create_dir_all(&to)?;
        for file in
            std::fs::read_dir(&from).with_context(|| format!("reading {}", from.display()))?
        {
            let file = file?;
            std::fs::copy(file.path(), to.join(file.file_name()))?;
        }
    }
    let tmp = dir.join("router.wasm.tmp");
    tools::run(
        Command::new(&tools.componentize_py)
            .arg("--quiet")
            .arg("-d")
            .arg(&wit)
            .args(["-w", "router", "componentize", "-p"])
            .arg(root.join("examples/router-py"))
            .args(["app", "-o"])
            .arg(&tmp),
    )
    .context("componentize-py could not build examples/router-py/")?;
    std::fs::rename(&tmp, &out)?;
    std::fs::write(&stamp_file, stamp)?;
    Ok(out)
}

/// `wit/deps` of the spin-sdk crate the Rust router depends on (found with
/// `cargo metadata`, which also downloads it when needed).
fn spin_sdk_wit_deps() -> Result<PathBuf> {
    let json = tools::output(crate::cargo().args(["metadata", "--format-version", "1"]))?;
    let meta: serde_json::Value = serde_json::from_str(&json).context("parsing cargo metadata")?;
    let manifest = meta["packages"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|p| p["name"] == "spin-sdk")
        .and_then(|p| p["manifest_path"].as_str())
        .context("cargo metadata lists no spin-sdk package")?;
    Ok(Path::new(manifest)
        .parent()
        .context("spin-sdk manifest has no directory")?
        .join("wit/deps"))
}

fn write_if_changed(path: &Path, bytes: &[u8]) -> Result<()> {
    if std::fs::read(path).ok().as_deref() != Some(bytes) {
        redirects_compiler::write_atomic(path, bytes)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::Router;

    /// Issue 11, item 6: `./x serve --router python` used to replace
    /// `composed/redirects.wasm`.
    #[test]
    fn variants_never_write_the_default_artifact() {
        let default = Router::Rust.default_output();
        assert!(default.ends_with("composed/redirects.wasm"));
        for router in [Router::RustP3, Router::RustFused, Router::Python] {
            let out = router.default_output();
            assert_ne!(out, default, "{router:?}");
            assert!(out.starts_with(crate::target_dir()), "{router:?}: {out:?}");
        }
    }
}
