//! `--engine component`: the composed component under wasmtime-wasi-http,
//! as Spin runs it, with hyper's HTTP/1.1 server in front.
//!
//! Instances are reused by default (an idle instance serves the next
//! request; at most [`ComponentOptions::max_reuse`] requests each), or made
//! for each request (`--per-request`, as Spin and Akamai Functions run it).
//! Reuse is safe for this component: nothing changes after Wizer, the router
//! keeps no state between requests, and a trap drops the instance.
//!
//! Safety options, as the `wasmtime serve` the project used before: the
//! pooling allocator with room for 10,000 core instances (a composed
//! instance holds about five; wasmtime's default of 1,000 was reached at
//! 200 connections), linear memories capped at 256 MiB, no outgoing HTTP
//! (`send_request` answers `HttpRequestDenied`), no files, no environment,
//! no sockets.

use crate::wt;
use anyhow::{Context, Result};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::server::conn::http1;
use std::sync::{Arc, Mutex, RwLock};
use wasmtime::component::{Component, Linker, ResourceTable};
use wasmtime::{Engine, Store};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::io::TokioIo;
use wasmtime_wasi_http::p2::bindings::http::types::{ErrorCode, Scheme};
use wasmtime_wasi_http::p2::bindings::{Proxy, ProxyPre};
use wasmtime_wasi_http::p2::body::HyperOutgoingBody;
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

/// How instances are used.
#[derive(Debug, Clone, Copy)]
pub struct ComponentOptions {
    /// One instance per request (Spin, Akamai Functions) instead of reuse.
    pub per_request: bool,
    /// Requests an instance serves before it is dropped (reuse only).
    pub max_reuse: usize,
}

impl Default for ComponentOptions {
    fn default() -> Self {
        ComponentOptions {
            per_request: false,
            max_reuse: 100_000,
        }
    }
}

/// The engine of the component server (pooling allocator, see the module
/// docs).
pub fn engine() -> Result<Engine> {
    let mut pool = wasmtime::PoolingAllocationConfig::default();
    pool.total_core_instances(10_000)
        .total_component_instances(2_000)
        .total_memories(4_000)
        .total_tables(4_000)
        .max_memory_size(256 << 20);
    let mut config = wasmtime::Config::new();
    config.allocation_strategy(wasmtime::InstanceAllocationStrategy::Pooling(pool));
    Ok(Engine::new(&config)?)
}

/// A compiled composed component, ready to instantiate.
pub struct App {
    pre: ProxyPre<Host>,
    pool: Mutex<Vec<(Store<Host>, Proxy, usize)>>,
}

impl App {
    /// Compiles `bytes` (a composed component, or a `.cwasm` precompiled by
    /// this binary's wasmtime) and links it against WASI 0.2 and
    /// `wasi:http`.
    pub fn new(engine: &Engine, bytes: &[u8]) -> Result<App> {
        let component = if wasmparser::Parser::is_component(bytes) {
            wt(Component::new(engine, bytes)).context("compiling the component")?
        } else {
            // SAFETY: a `.cwasm` must come from `redirects` itself (documented).
            wt(unsafe { Component::deserialize(engine, bytes) })
                .context("loading a precompiled component")?
        };
        let mut linker = Linker::new(engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
        wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker)?;
        let pre = wt(ProxyPre::new(linker.instantiate_pre(&component)?))
            .context("the component is not a wasi:http/proxy component")?;
        Ok(App {
            pre,
            pool: Mutex::new(Vec::new()),
        })
    }

    fn new_store(&self) -> Store<Host> {
        Store::new(
            self.pre.engine(),
            Host {
                wasi: WasiCtx::builder().build(),
                http: WasiHttpCtx::new(),
                table: ResourceTable::new(),
                hooks: NoOutgoing,
            },
        )
    }

    /// Answers one request with an idle instance, or a new one.
    async fn handle(
        &self,
        opts: ComponentOptions,
        req: hyper::Request<hyper::body::Incoming>,
    ) -> Result<hyper::Response<HyperOutgoingBody>> {
        let idle = if opts.per_request {
            None
        } else {
            self.pool.lock().unwrap_or_else(|e| e.into_inner()).pop()
        };
        let (mut store, proxy, uses) = match idle {
            Some(idle) => idle,
            None => {
                let mut store = self.new_store();
                let proxy = self.pre.instantiate_async(&mut store).await?;
                (store, proxy, 0)
            }
        };
        let (sender, receiver) = tokio::sync::oneshot::channel();
        let req = store
            .data_mut()
            .http()
            .new_incoming_request(Scheme::Http, req)?;
        let out = store.data_mut().http().new_response_outparam(sender)?;
        proxy
            .wasi_http_incoming_handler()
            .call_handle(&mut store, req, out)
            .await?;
        let response = receiver
            .await
            .context("the component never set a response")??;
        if !opts.per_request && uses + 1 < opts.max_reuse {
            self.pool
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push((store, proxy, uses + 1));
        }
        Ok(response)
    }
}

/// The served app, swapped whole on reload (requests in flight keep the
/// `Arc` they started with).
pub type Current = Arc<RwLock<Arc<App>>>;

/// Serves `listener` until the process ends: hyper HTTP/1.1 on the
/// current tokio runtime, one task per connection.
pub async fn serve(
    listener: tokio::net::TcpListener,
    current: Current,
    opts: ComponentOptions,
) -> Result<()> {
    let local = listener.local_addr()?;
    loop {
        let (stream, _) = match listener.accept().await {
            Ok(conn) => conn,
            Err(e) => {
                eprintln!("accept: {e}");
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let current = current.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |mut req| {
                let app = current.read().unwrap_or_else(|e| e.into_inner()).clone();
                async move {
                    // A request with neither an absolute URI nor `Host`
                    // (HTTP/1.0) is answered as if it named this server.
                    if req.uri().authority().is_none()
                        && !req.headers().contains_key(http::header::HOST)
                    {
                        if let Ok(v) = http::HeaderValue::from_str(&local.to_string()) {
                            req.headers_mut().insert(http::header::HOST, v);
                        }
                    }
                    Ok::<_, std::convert::Infallible>(match app.handle(opts, req).await {
                        Ok(response) => response,
                        Err(e) => {
                            eprintln!("error: {e:#}");
                            status_response(500, "internal error\n")
                        }
                    })
                }
            });
            let _ = http1::Builder::new()
                .keep_alive(true)
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

fn status_response(status: u16, body: &'static str) -> hyper::Response<HyperOutgoingBody> {
    let mut response = hyper::Response::new(
        Full::new(Bytes::from_static(body.as_bytes()))
            .map_err(|never| match never {})
            .boxed_unsync(),
    );
    *response.status_mut() =
        http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR);
    response
}

/// The store's data: WASI with nothing granted, and `wasi:http`.
pub struct Host {
    wasi: WasiCtx,
    http: WasiHttpCtx,
    table: ResourceTable,
    hooks: NoOutgoing,
}

impl WasiView for Host {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for Host {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: &mut self.hooks,
        }
    }
}

/// `wasi:http` hooks that refuse every outgoing request.
struct NoOutgoing;

impl wasmtime_wasi_http::WasiHttpHooks for NoOutgoing {
    fn send_request(
        &mut self,
        _request: http::Request<wasmtime_wasi_http::WasiBody>,
        _options: Option<wasmtime_wasi_http::RequestOptions>,
        _fut: Box<dyn std::future::Future<Output = Result<(), wasmtime_wasi_http::Error>> + Send>,
    ) -> Box<
        dyn std::future::Future<
                Output = Result<
                    (
                        http::Response<wasmtime_wasi_http::WasiBody>,
                        Box<
                            dyn std::future::Future<Output = Result<(), wasmtime_wasi_http::Error>>
                                + Send,
                        >,
                    ),
                    wasmtime_wasi_http::Error,
                >,
            > + Send,
    > {
        let _ = ErrorCode::HttpRequestDenied;
        Box::new(async {
            Err(wasmtime_wasi_http::Error::from(
                ErrorCode::HttpRequestDenied,
            ))
        })
    }
}
