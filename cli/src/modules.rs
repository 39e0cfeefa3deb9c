//! The data-less core modules this binary ships, built by `build.rs` from
//! `lookup/` and `router/` when `redirects` itself is built or installed,
//! and the WASI preview1 proxy adapter (pinned with wasmtime).

/// `redirects-lookup` for `wasm32-wasip1`, before Wizer loads any table.
pub const LOOKUP_CORE: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/lookup.core.wasm"));

/// `redirects-router` (WASI 0.2, spin-sdk 5.2) for `wasm32-wasip1`.
pub const ROUTER_CORE: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/router.core.wasm"));

/// The WASI preview1 *proxy* adapter: it turns the router's preview1
/// imports into `wasi:http/proxy` imports (no file system, no sockets).
pub const PROXY_ADAPTER: &[u8] =
    wasi_preview1_component_adapter_provider::WASI_SNAPSHOT_PREVIEW1_PROXY_ADAPTER;
