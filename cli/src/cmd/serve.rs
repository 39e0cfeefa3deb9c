//! `redirects serve [RULES | APP.wasm]`: serves with the embedded wasmtime,
//! and reloads without downtime on SIGHUP or when the file changes.

use super::RuleOptions;
use anyhow::{Context, Result};
use clap::{Args, ValueEnum};
use redirects::lookup::LookupPre;
use redirects::serve::component::{self, App, ComponentOptions};
use redirects::serve::native::{LookupService, KEYS_HASHED};
use redirects::serve::{self as serving, Loaded, Source};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Instant;

pub use redirects::progress::Progress;

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum EngineArg {
    /// A lean HTTP/1.1 server calling the lookup component (fastest).
    Native,
    /// The composed component under wasmtime-wasi-http, as Spin runs it.
    Component,
}

#[derive(Args, Debug)]
pub struct ServeArgs {
    /// A rules file (built in memory), a component built by `redirects
    /// build` (`*.wasm`) or a lookup made by `redirects precompile`
    /// (`*.cwasm`, native engine).
    #[arg(default_value = "redirects.wasm")]
    source: PathBuf,
    /// Listen address.
    #[arg(long, default_value = "127.0.0.1:3000")]
    addr: SocketAddr,
    /// `native`: the lookup component behind a lean HTTP/1.1 server (a
    /// worker per core); `component`: the composed component as Spin and
    /// Akamai Functions run it.
    #[arg(long, value_enum, default_value = "native")]
    engine: EngineArg,
    /// `--engine component`: one instance per request (as Spin and Akamai
    /// Functions run it) instead of reusing instances.
    #[arg(long)]
    per_request: bool,
    /// `--engine native`: worker threads [default: one per core].
    #[arg(long)]
    workers: Option<usize>,
    /// `--engine native`: serve the lookup as loaded, without hashing its
    /// keys in each worker (saves about 27 bytes per rule per worker, for
    /// lookups about twice as slow).
    #[arg(long)]
    no_hash_keys: bool,
    /// Do not reload when the file changes (SIGHUP still reloads).
    #[arg(long)]
    no_watch: bool,
    #[command(flatten)]
    rule_options: RuleOptions,
}

pub fn run(args: ServeArgs) -> Result<ExitCode> {
    let source = Source {
        path: args.source.clone(),
        compile: args.rule_options.options(),
    };
    let want_composed = args.engine == EngineArg::Component;
    let t = Instant::now();
    let progress = Progress::for_rules(&source.path);
    progress.step("building");
    let stamp = serving::Stamp::of(&source.path);
    let loaded = source.load(want_composed);
    progress.finish();
    let loaded = match loaded {
        Ok(loaded) => loaded,
        Err(e) => return Ok(report_build_error(&e)),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    match args.engine {
        EngineArg::Native => {
            let engine = redirects::lookup::engine()?;
            let pre = native_lookup(&engine, &loaded)?;
            let service = Arc::new(LookupService::new(pre.clone()));
            let workers = args
                .workers
                .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
            let server = redirects_server::Server::bind(args.addr, workers, service)
                .with_context(|| format!("listening on {}", args.addr))?;
            announce(&args, server.local_addr(), &loaded, t);
            let (swapper, workers) = (server.swapper(), server.workers());
            // Serving starts with the lookup as loaded; the keys are hashed
            // meanwhile and swapped in unless a reload came first.
            let hash = !args.no_hash_keys;
            if hash {
                let (since, hasher, pre) = (swapper.generation(), swapper.clone(), pre.clone());
                std::thread::spawn(move || swap_in_hashed(&hasher, Some(since), pre, workers));
            }
            let reloader = reloader(source.clone(), false, move |loaded| {
                let pre = native_lookup(&engine, &loaded)?;
                if !(hash && swap_in_hashed(&swapper, None, pre.clone(), workers)) {
                    swapper.swap(Arc::new(LookupService::new(pre)));
                }
                Ok(())
            });
            std::thread::spawn(move || {
                if let Err(e) = server.run() {
                    eprintln!("error: {e}");
                    std::process::exit(2);
                }
            });
            runtime.block_on(watch(&args, stamp, reloader))?;
        }
        EngineArg::Component => {
            let engine = component::engine()?;
            let app = component_app(&engine, &loaded)?;
            let current: component::Current = Arc::new(RwLock::new(app));
            let opts = ComponentOptions {
                per_request: args.per_request,
                ..ComponentOptions::default()
            };
            let listener = runtime
                .block_on(tokio::net::TcpListener::bind(args.addr))
                .with_context(|| format!("listening on {}", args.addr))?;
            announce(&args, listener.local_addr()?, &loaded, t);
            let swap_into = current.clone();
            let reloader = reloader(source.clone(), true, move |loaded| {
                let app = component_app(&engine, &loaded)?;
                *swap_into.write().unwrap_or_else(|e| e.into_inner()) = app;
                Ok(())
            });
            runtime.spawn(component::serve(listener, current, opts));
            runtime.block_on(watch(&args, stamp, reloader))?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The lookup of `loaded`, compiled and instantiated once now, so that a
/// broken artifact fails the load, not a worker.
fn native_lookup(engine: &wasmtime::Engine, loaded: &Loaded) -> Result<LookupPre> {
    let pre = LookupPre::new(engine, &loaded.lookup)?;
    pre.instantiate()?;
    Ok(pre)
}

/// Makes `workers` instances of `pre` with their keys hashed and swaps
/// them in (only if no swap came since generation `since`, when given),
/// saying so; `false` if it did not swap (having said why when hashing
/// failed).
fn swap_in_hashed(
    swapper: &redirects_server::Swapper,
    since: Option<u64>,
    pre: LookupPre,
    workers: usize,
) -> bool {
    let t = Instant::now();
    let service = match LookupService::hashed(pre, workers) {
        Ok(service) => Arc::new(service),
        Err(e) => {
            eprintln!("warning: serving without hashed keys: {e:#}");
            return false;
        }
    };
    let bytes = service.hash_bytes().unwrap_or(0);
    let swapped = match since {
        Some(generation) => swapper.swap_if(generation, service),
        None => {
            swapper.swap(service);
            true
        }
    };
    if swapped {
        eprintln!(
            "{KEYS_HASHED} in {} ms ({:.1} MiB per worker, {workers} workers)",
            t.elapsed().as_millis(),
            bytes as f64 / (1 << 20) as f64,
        );
    }
    swapped
}

fn component_app(engine: &wasmtime::Engine, loaded: &Loaded) -> Result<Arc<App>> {
    let composed = loaded
        .composed
        .as_deref()
        .context("no composed component was built")?;
    Ok(Arc::new(App::new(engine, composed)?))
}

fn announce(args: &ServeArgs, addr: SocketAddr, loaded: &Loaded, t: Instant) {
    let rules = loaded
        .rules
        .map_or_else(String::new, |n| format!("{n} rules, "));
    eprintln!(
        "serving {} ({rules}engine {:?}) on http://{addr} after {} ms; SIGHUP{} reloads",
        args.source.display(),
        args.engine,
        t.elapsed().as_millis(),
        if args.no_watch {
            ""
        } else {
            " or a change to the file"
        },
    );
}

/// A reload: loads the source again on a thread of its own (a big rule
/// set takes seconds) and hands it to `apply`; one at a time: a reload
/// asked for while one is under way runs again when it ends, so the last
/// change always wins; a failure keeps the running version and says why.
fn reloader(
    source: Source,
    composed: bool,
    apply: impl Fn(Loaded) -> Result<()> + Send + Sync + 'static,
) -> impl FnMut() {
    // 0: idle; 1: a reload runs; 2: it runs and another is asked for.
    let state = Arc::new(AtomicU8::new(0));
    let apply = Arc::new(apply);
    move || {
        let asked = state.fetch_update(Ordering::AcqRel, Ordering::Acquire, |s| {
            Some(if s == 0 { 1 } else { 2 })
        });
        if asked != Ok(0) {
            // Under way: the thread below sees 2 and goes again.
            return;
        }
        let (source, apply, state) = (source.clone(), apply.clone(), state.clone());
        std::thread::spawn(move || loop {
            let t = Instant::now();
            match source.load(composed).and_then(|loaded| apply(loaded)) {
                Ok(()) => eprintln!(
                    "reloaded {} in {} ms",
                    source.path.display(),
                    t.elapsed().as_millis()
                ),
                Err(e) => eprintln!("reload failed, still serving the previous version: {e:#}"),
            }
            if state
                .compare_exchange(1, 0, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
            {
                return;
            }
            // Asked again meanwhile: the next load starts after this, so
            // it covers every request made before.
            state.store(1, Ordering::Release);
        });
    }
}

async fn watch(args: &ServeArgs, stamp: serving::Stamp, reload: impl FnMut()) -> Result<()> {
    if args.no_watch {
        let nowhere = std::path::Path::new("/nonexistent/redirects-no-watch");
        serving::watch(nowhere, serving::Stamp::of(nowhere), reload).await
    } else {
        serving::watch(&args.source, stamp, reload).await
    }
}

/// Prints a failed build or load: rule errors as they are (exit 1),
/// anything else as an error (exit 2).
pub fn report_build_error(e: &anyhow::Error) -> ExitCode {
    match e.downcast_ref::<redirects_compiler::CompileError>() {
        Some(rules @ redirects_compiler::CompileError::Rules(_)) => {
            eprintln!("{rules}");
            ExitCode::from(1)
        }
        _ => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}
