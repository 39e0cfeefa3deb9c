//! Rules in, a deployable component out, in this process:
//!
//! 1. the rules compiler writes the table (`redirects-compiler`);
//! 2. Wizer (`wasmtime-wizer`) runs the lookup core module's init function
//!    with the table's directory mapped to `/data` and snapshots the loaded
//!    table into the module ([`wizer`]);
//! 3. `wit-component` turns the core modules into components
//!    ([`componentize`]): the router with the WASI preview1 proxy adapter,
//!    the lookup with a module of trapping functions ([`crate::stub`]), so
//!    it imports nothing;
//! 4. `wac-graph`, the library behind `wac plug`, plugs the lookup into the
//!    router ([`plug`]);
//! 5. validation, the Akamai Functions budget ([`crate::budget`]), then an
//!    atomic rename onto the output: a failed build leaves the previous
//!    artifact in place. `lookup.wasm` and `router.wasm` are published
//!    beside it (Spin's own composition, `spin-deps.toml`, uses them).
//!
//! The result has the shape `wac plug` gives: the same adapters, WASI 0.2
//! imports only, one export (`wasi:http/incoming-handler`).

use crate::modules;
use anyhow::{Context, Result};
use redirects_compiler::{CompileError, Options, Summary};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The guest directory Wizer maps the table's directory to.
pub const GUEST_DATA_DIR: &str = "/data";
/// The table file's name inside the work directory's `data/`.
pub const TABLE_FILE: &str = "rules.bin";
/// The name of the first of [`BuildReport::steps`]: the rules compiler's run
/// (its own steps are in [`Summary::timings`]).
pub const COMPILE_STEP: &str = "compile rules";

/// What to build.
#[derive(Debug, Clone)]
pub struct BuildOptions {
    /// The rules file.
    pub rules: PathBuf,
    /// The composed component to write.
    pub out: PathBuf,
    /// Rules compiler options.
    pub compile: Options,
    /// Refuse an artifact over the Akamai Functions budget (default true).
    pub budget_check: bool,
    /// Publish `lookup.wasm` and `router.wasm` beside the output.
    pub publish_parts: bool,
}

impl BuildOptions {
    /// Default options for `rules`, writing `out`.
    pub fn new(rules: PathBuf, out: PathBuf) -> BuildOptions {
        BuildOptions {
            rules,
            out,
            compile: Options::default(),
            budget_check: true,
            publish_parts: true,
        }
    }
}

/// What a build did.
#[derive(Debug)]
pub struct BuildReport {
    /// The compiler's summary (rules, warnings, table size).
    pub summary: Summary,
    /// The composed component.
    pub composed: PathBuf,
    /// The published lookup component, if published.
    pub lookup: Option<PathBuf>,
    /// The published router component, if published.
    pub router: Option<PathBuf>,
    /// The artifact's size and initial memory.
    pub usage: crate::budget::Usage,
    /// How long each step took.
    pub steps: Vec<(&'static str, Duration)>,
}

impl BuildReport {
    /// The whole build's time.
    pub fn total(&self) -> Duration {
        self.steps.iter().map(|s| s.1).sum()
    }
}

/// The parts of a build, in memory.
pub struct Parts {
    /// The lookup component (table snapshotted, imports nothing).
    pub lookup: Vec<u8>,
    /// The router component.
    pub router: Vec<u8>,
    /// The composed component.
    pub composed: Vec<u8>,
}

/// Builds the artifact: compiles the rules, runs the in-process pipeline
/// and writes the output atomically. `progress` is told each step's name
/// as it starts.
pub fn build(opts: &BuildOptions, progress: &dyn Fn(&str)) -> Result<BuildReport> {
    let mut steps = Vec::new();
    let work = tempdir_beside(&opts.out)?;
    let result = (|| {
        let data_dir = work.join("data");
        std::fs::create_dir_all(&data_dir)
            .with_context(|| format!("creating {}", data_dir.display()))?;
        let t = Instant::now();
        progress("compiling rules");
        let table = data_dir.join(TABLE_FILE);
        // The lookup module compiles (for Wizer) on a thread of its own
        // meanwhile: it does not depend on the rules.
        let (summary, wizening) = std::thread::scope(|s| {
            let wizening = s.spawn(|| Wizening::new(modules::LOOKUP_CORE));
            let summary = redirects_compiler::compile(&opts.rules, &table, &opts.compile);
            let wizening = wizening
                .join()
                .expect("no panic while compiling the lookup");
            (summary, wizening)
        });
        let summary = summary.map_err(compile_error)?;
        let wizening = wizening.context("Wizer could not compile the lookup")?;
        steps.push((COMPILE_STEP, t.elapsed()));

        let t = Instant::now();
        progress("loading the table (Wizer)");
        let wizened = wizening
            .run(&table)
            .context("Wizer could not initialise the lookup with the table")?;
        steps.push(("wizer", t.elapsed()));

        let t = Instant::now();
        progress("making components");
        let parts = compose(&wizened, modules::ROUTER_CORE)?;
        steps.push(("component new + plug", t.elapsed()));

        let t = Instant::now();
        progress("validating");
        validate(&parts.composed, false)?;
        let usage = if opts.budget_check {
            crate::budget::check_bytes(&parts.composed)?
        } else {
            crate::budget::measure(&parts.composed)?
        };
        let (lookup, router) = if opts.publish_parts {
            let dir = parent_dir(&opts.out);
            let (lookup, router) = (dir.join("lookup.wasm"), dir.join("router.wasm"));
            write_if_changed(&lookup, &parts.lookup)?;
            write_if_changed(&router, &parts.router)?;
            (Some(lookup), Some(router))
        } else {
            (None, None)
        };
        redirects_compiler::write_atomic(&opts.out, &parts.composed)
            .with_context(|| format!("writing {}", opts.out.display()))?;
        steps.push(("validate + budget + write", t.elapsed()));
        Ok(BuildReport {
            summary,
            composed: opts.out.clone(),
            lookup,
            router,
            usage,
            steps,
        })
    })();
    let _ = std::fs::remove_dir_all(&work);
    result
}

/// A compile error as an `anyhow` error that still downcasts to
/// [`CompileError`] (rule errors print as the compiler reports them).
pub fn compile_error(e: CompileError) -> anyhow::Error {
    match e {
        e @ CompileError::Rules(_) => anyhow::Error::new(e),
        e => anyhow::Error::new(e).context("compiling rules"),
    }
}

/// Steps 3 and 4: componentizes the Wizer-initialised lookup and the router
/// core modules and plugs one into the other.
pub fn compose(wizened_lookup: &[u8], router_core: &[u8]) -> Result<Parts> {
    let (lookup, router) = std::thread::scope(|s| {
        let router = s.spawn(|| componentize(router_core, modules::PROXY_ADAPTER));
        let lookup = lookup_component(wizened_lookup);
        (lookup, router.join().expect("componentize thread"))
    });
    let (lookup, router) = (lookup?, router?);
    let composed = plug(&router, &lookup)?;
    Ok(Parts {
        lookup,
        router,
        composed,
    })
}

/// The lookup component from its Wizer-initialised core module: its
/// leftover `wasi_snapshot_preview1` imports go to a module of trapping
/// functions ([`crate::stub`]), so the component imports nothing.
pub fn lookup_component(wizened: &[u8]) -> Result<Vec<u8>> {
    let stub = crate::stub::preview1_stub(wizened).context("assembling the lookup's WASI stub")?;
    componentize(wizened, &stub)
}

/// `wasm-tools component new CORE --adapt wasi_snapshot_preview1=ADAPTER`,
/// in process (`wit-component`).
pub fn componentize(core: &[u8], adapter: &[u8]) -> Result<Vec<u8>> {
    wit_component::ComponentEncoder::default()
        .validate(true)
        .module(core)
        .context("reading a core module's component type")?
        .adapter("wasi_snapshot_preview1", adapter)
        .context("adding the preview1 adapter")?
        .encode()
        .context("encoding a component")
}

/// `wac plug ROUTER --plug LOOKUP`, in process (`wac-graph`), with the
/// package names the wac CLI gives (`socket`, `plug:lookup`).
pub fn plug(router: &[u8], lookup: &[u8]) -> Result<Vec<u8>> {
    use wac_graph::{types::Package, CompositionGraph, EncodeOptions};
    let mut graph = CompositionGraph::new();
    let socket = Package::from_bytes("socket", None, router.to_vec(), graph.types_mut())
        .context("reading the router component")?;
    let socket = graph.register_package(socket)?;
    let plug = Package::from_bytes("plug:lookup", None, lookup.to_vec(), graph.types_mut())
        .context("reading the lookup component")?;
    let plug = graph.register_package(plug)?;
    wac_graph::plug(&mut graph, vec![plug], socket)
        .context("plugging the lookup into the router")?;
    graph
        .encode(EncodeOptions::default())
        .context("encoding the composed component")
}

/// Validates a component with the features wasmtime 49 accepts by default
/// (what Spin 4 runs: not the component model's async, compact imports or
/// wide arithmetic, which wasmparser 0.258 turns on by default), plus the
/// component model's async features (WASI 0.3) when `wasi_p3` is set.
pub fn validate(component: &[u8], wasi_p3: bool) -> Result<()> {
    use wasmparser::WasmFeatures as F;
    let mut features = F::default() - F::CM_ASYNC - F::COMPACT_IMPORTS - F::WIDE_ARITHMETIC;
    if wasi_p3 {
        features |= F::CM_ASYNC
            | F::CM_MORE_ASYNC_BUILTINS
            | F::CM_ASYNC_STACKFUL
            | F::CM_THREADING
            | F::CM_ERROR_CONTEXT;
    }
    wasmparser::Validator::new_with_features(features)
        .validate_all(component)
        .map(drop)
        .context("the composed component does not validate")
}

/// Step 2: runs `core`'s `wizer.initialize` with `table` readable at
/// `/data/rules.bin` (and [`redirects_format::DATA_ENV`] naming it), and
/// returns the snapshot. Nothing else of the host is visible to the guest;
/// imports other than WASI preview1 are defined as traps.
pub fn wizer(core: &[u8], table: &Path) -> Result<Vec<u8>> {
    Wizening::new(core)?.run(table)
}

/// A core module instrumented by Wizer and compiled, not yet run: what
/// [`wizer`] does before it needs the table, so that [`build`] does it
/// while the rules compile.
pub struct Wizening<'a> {
    engine: wasmtime::Engine,
    wizer: wasmtime_wizer::Wizer,
    cx: wasmtime_wizer::ModuleContext<'a>,
    module: wasmtime::Module,
}

impl<'a> Wizening<'a> {
    /// Instruments and compiles `core`.
    pub fn new(core: &'a [u8]) -> Result<Wizening<'a>> {
        let mut config = wasmtime::Config::new();
        config.relaxed_simd_deterministic(true);
        let engine = wasmtime::Engine::new(&config)?;
        let mut wizer = wasmtime_wizer::Wizer::new();
        // The name the lookup exports (Wizer's own CLI default before 49).
        wizer.init_func(INIT_FUNC);
        let (cx, instrumented) = wizer.instrument(core)?;
        let module = wasmtime::Module::new(&engine, &instrumented)?;
        Ok(Wizening {
            engine,
            wizer,
            cx,
            module,
        })
    }

    /// Runs the init function with `table` (see [`wizer`]) and returns
    /// the snapshot.
    pub fn run(self, table: &Path) -> Result<Vec<u8>> {
        use wasmtime_wasi::{p1::WasiP1Ctx, FsPerms, WasiCtxBuilder};
        let Wizening {
            engine,
            wizer,
            cx,
            module,
        } = self;
        let dir = parent_dir(table);
        let name = table
            .file_name()
            .context("the table has no file name")?
            .to_string_lossy()
            .into_owned();
        let wasi: WasiP1Ctx = WasiCtxBuilder::new()
            .inherit_stderr()
            .env(
                redirects_format::DATA_ENV,
                format!("{GUEST_DATA_DIR}/{name}"),
            )
            .preopened_dir(dir, GUEST_DATA_DIR, FsPerms::ReadOnly)?
            .build_p1();
        let mut store = wasmtime::Store::new(&engine, wasi);
        let mut linker = wasmtime::Linker::new(&engine);
        wasmtime_wasi::p1::add_to_linker_async(&mut linker, |cx| cx)?;
        // A router module also imports `wasi:http` and the lookup, which its
        // init never calls: they trap if it did.
        linker.define_unknown_imports_as_traps(&module)?;
        let runtime = tokio::runtime::Builder::new_current_thread().build()?;
        let snapshot = runtime.block_on(async {
            use wasmtime::error::Context as _;
            let instance = linker.instantiate_async(&mut store, &module).await?;
            // As `Wizer::run` does: a reactor's `_initialize` first, then the
            // init function.
            if let Some(init) = instance.get_func(&mut store, "_initialize") {
                init.typed::<(), ()>(&store)?
                    .call_async(&mut store, ())
                    .await
                    .context("calling the module's _initialize")?;
            }
            instance
                .get_typed_func::<(), ()>(&mut store, INIT_FUNC)
                .with_context(|| format!("the module exports no `{INIT_FUNC}: func()`"))?
                .call_async(&mut store, ())
                .await
                .with_context(|| format!("the `{INIT_FUNC}` function trapped"))?;
            let mut state = Loaded {
                store: &mut store,
                instance,
            };
            wizer.snapshot(&cx, &mut state).await
        })?;
        Ok(snapshot)
    }
}

/// The init function Wizer calls in the lookup core module.
const INIT_FUNC: &str = "wizer.initialize";

/// What Wizer snapshots: an instance after its init function ran. This is
/// `wasmtime-wizer`'s own `WasmtimeWizer`, written here so that the crate's
/// `wasmtime` feature stays off: it turns on wasmtime's cache (zstd, a C
/// build), GC, threads and WIT-value features, none of which the
/// lookup or `redirects` use (with the move to one wit-component version,
/// a fresh `./x serve` went from 724 to 653 s on 2026-12-02).
struct Loaded<'a, T: 'static> {
    store: &'a mut wasmtime::Store<T>,
    instance: wasmtime::Instance,
}

impl<T: Send> wasmtime_wizer::InstanceState for Loaded<'_, T> {
    async fn global_get(
        &mut self,
        name: &str,
        _: wasmtime_wizer::ValType,
    ) -> wasmtime_wizer::SnapshotVal {
        use wasmtime::Val;
        use wasmtime_wizer::SnapshotVal;
        let global = self
            .instance
            .get_global(&mut *self.store, name)
            .expect("Wizer names an exported global");
        match global.get(&mut *self.store) {
            Val::I32(x) => SnapshotVal::I32(x),
            Val::I64(x) => SnapshotVal::I64(x),
            Val::F32(x) => SnapshotVal::F32(x),
            Val::F64(x) => SnapshotVal::F64(x),
            Val::V128(x) => SnapshotVal::V128(x.as_u128()),
            _ => panic!("global `{name}` has a type Wizer cannot snapshot"),
        }
    }

    async fn memory_contents(&mut self, name: &str, contents: impl FnOnce(&[u8]) + Send) {
        let memory = self
            .instance
            .get_memory(&mut *self.store, name)
            .expect("Wizer names an exported memory");
        contents(memory.data(&*self.store))
    }
}

/// The directory a file is in (`.` for a bare name).
fn parent_dir(path: &Path) -> &Path {
    path.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

/// A new, empty work directory beside `out` (same file system), removed by
/// the caller.
fn tempdir_beside(out: &Path) -> Result<PathBuf> {
    let dir = parent_dir(out);
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let name = out
        .file_name()
        .context("the output has no file name")?
        .to_string_lossy();
    let work = dir.join(format!(".{name}.build-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir(&work).with_context(|| format!("creating {}", work.display()))?;
    Ok(work)
}

fn write_if_changed(path: &Path, bytes: &[u8]) -> Result<()> {
    if std::fs::read(path).ok().as_deref() != Some(bytes) {
        redirects_compiler::write_atomic(path, bytes)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}
