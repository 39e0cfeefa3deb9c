//! The lookup component: exports `redirects:lookup/lookup` (see `wit/`).
//!
//! The table is loaded by [`init`], which the build runs under Wizer with
//! the environment variable `REDIRECTS_DATA` naming the table file (a path
//! inside the directories Wizer maps). Wizer snapshots the loaded table into
//! the module's memory, so at run time the component needs no file system,
//! no environment and no capability at all: a request only searches the
//! key index and decodes one target. The matching itself is
//! [`redirects_format::Table::resolve`], shared with native tests.
//!
//! It also exports `redirects:lookup/prepare`, whose `hash-keys` a host
//! that reuses an instance calls once ([`Table::hash_keys`]: memory for
//! speed, never part of the snapshot).

use redirects_format::Table;
use std::sync::OnceLock;

wit_bindgen::generate!({
    path: "../wit",
    world: "provider",
});

use exports::redirects::lookup::lookup::{Guest, Redirect, Request};
use exports::redirects::lookup::prepare::Guest as Prepare;

/// The table, set once by [`init`] at build time (under Wizer).
static TABLE: OnceLock<Table> = OnceLock::new();

/// The Wizer init function: loads the table named by `REDIRECTS_DATA`
/// ([`Table::load_from_env`]). Any failure traps, which makes the build
/// (Wizer) fail loudly.
#[cfg(target_arch = "wasm32")]
#[export_name = "wizer.initialize"]
pub extern "C" fn init() {
    // A cdylib has no `_initialize`; without this, wasi-libc has not yet
    // read the preopened directories and `std::fs` finds nothing.
    wit_bindgen::rt::run_ctors_once();
    if TABLE.set(Table::load_from_env()).is_err() {
        panic!("wizer.initialize ran twice");
    }
}

struct Component;

impl Guest for Component {
    fn lookup(req: Request) -> Option<Redirect> {
        let r = TABLE.get()?.resolve(&redirects_format::Request {
            host: req.host.as_deref(),
            path: &req.path,
            query: req.query.as_deref(),
        })?;
        Some(Redirect {
            location: r.location,
            status: r.status.code(),
        })
    }

    fn rule_count() -> u64 {
        TABLE.get().map_or(0, |t| t.len() as u64)
    }
}

impl Prepare for Component {
    fn hash_keys(seed: (u64, u64)) -> Result<u64, String> {
        let table = TABLE.get().ok_or("no table was loaded")?;
        match table.hash_keys([seed.0, seed.1]) {
            Ok(bytes) => Ok(bytes as u64),
            Err(e) => Err(e.to_string()),
        }
    }
}

export!(Component);
