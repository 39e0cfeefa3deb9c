//! The `redirects` command's library: everything the subcommands do, so
//! `xtask` (tests, benchmarks) runs the very same code.
//!
//! - [`artifact`]: rules → composed component, in process (Wizer,
//!   `wit-component`, `wac-graph`), from the core modules in [`modules`];
//! - [`lookup`]: the lookup component called natively (typed functions);
//! - [`serve`]: the two engines, `component` (wasmtime-wasi-http) and
//!   `native` (`redirects-server` in front of the lookup), and reloading;
//! - [`budget`]: the Akamai Functions budget; [`stub`]: the lookup's WASI stub.

#![deny(missing_docs)]

pub mod artifact;
pub mod budget;
pub mod lookup;
pub mod modules;
pub mod progress;
pub mod serve;
pub mod stub;

/// A wasmtime result as an `anyhow` one (wasmtime 49 has its own error
/// type), so `anyhow::Context` applies.
pub(crate) fn wt<T>(result: wasmtime::Result<T>) -> anyhow::Result<T> {
    result.map_err(anyhow::Error::from)
}
