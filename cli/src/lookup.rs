//! The lookup component called natively: `redirects:lookup/lookup#lookup`
//! through a typed function of the embedded wasmtime, one instance per
//! worker, reused for every request.
//!
//! Reuse is safe because nothing in the lookup changes after Wizer: the
//! table is read-only in the snapshot, and a call only allocates the
//! strings of its arguments and result, which the guest frees when the
//! call returns (`tests::reuse_is_safe` answers many requests on one
//! instance and compares every answer with a fresh instance's).
//!
//! (`wasmtime::component::bindgen!` of wasmtime 49.0.5 does not compile for
//! `wit/lookup.wit`, whose interface and function are both named `lookup`;
//! the records are derived by hand from the same WIT instead.)

use crate::wt;
use anyhow::{Context, Result};
use wasmtime::component::{Component, ComponentType, InstancePre, Lift, Linker, Lower, TypedFunc};
use wasmtime::{Engine, Store};

/// `redirects:lookup/lookup.request`.
#[derive(ComponentType, Lower, Debug, Clone, Default)]
#[component(record)]
pub struct Request {
    /// The request's host without port.
    pub host: Option<String>,
    /// The path as received, without the query.
    pub path: String,
    /// The raw query without `?`.
    pub query: Option<String>,
}

/// `redirects:lookup/lookup.redirect`.
#[derive(ComponentType, Lift, Debug, Clone, PartialEq, Eq)]
#[component(record)]
pub struct Redirect {
    /// The `Location` value.
    pub location: String,
    /// The HTTP status.
    pub status: u16,
}

impl Redirect {
    /// The same answer as the format crate's type (`None` for a status
    /// the table format cannot hold, which the lookup never returns).
    pub fn into_format(self) -> Option<redirects_format::Redirect> {
        Some(redirects_format::Redirect {
            status: redirects_format::Status::from_code(self.status)?,
            location: self.location,
        })
    }
}

/// The interface's name in the component's exports.
pub const INTERFACE: &str = "redirects:lookup/lookup@0.1.0";

/// A compiled lookup component, ready to instantiate (cheap to clone).
#[derive(Clone)]
pub struct LookupPre {
    pre: InstancePre<()>,
}

impl LookupPre {
    /// Compiles a lookup component (`lookup.wasm`, or a precompiled
    /// `.cwasm` made by the same wasmtime) and checks it imports nothing.
    pub fn new(engine: &Engine, bytes: &[u8]) -> Result<LookupPre> {
        let component = if wasmparser::Parser::is_component(bytes) {
            wt(Component::new(engine, bytes)).context("compiling the lookup component")?
        } else {
            // SAFETY: only our own precompiled files are passed here; the
            // serve command documents that a `.cwasm` must come from it.
            wt(unsafe { Component::deserialize(engine, bytes) })
                .context("loading a precompiled lookup component")?
        };
        let linker = Linker::new(engine);
        let pre = wt(linker.instantiate_pre(&component))
            .context("the lookup component must import nothing")?;
        Ok(LookupPre { pre })
    }

    /// A new instance in a store of its own.
    pub fn instantiate(&self) -> Result<Lookup> {
        let mut store = Store::new(self.pre.engine(), ());
        let instance = self.pre.instantiate(&mut store)?;
        let iface = instance
            .get_export_index(&mut store, None, INTERFACE)
            .with_context(|| format!("the component does not export {INTERFACE}"))?;
        let mut index = |name: &str| {
            instance
                .get_export_index(&mut store, Some(&iface), name)
                .with_context(|| format!("{INTERFACE} has no function `{name}`"))
        };
        let (lookup, count) = (index("lookup")?, index("rule-count")?);
        let lookup =
            wt(instance.get_typed_func::<(Request,), (Option<Redirect>,)>(&mut store, &lookup))
                .context("`lookup` does not have the type of wit/lookup.wit")?;
        let rule_count = wt(instance.get_typed_func::<(), (u64,)>(&mut store, &count))
            .context("`rule-count` does not have the type of wit/lookup.wit")?;
        Ok(Lookup {
            store,
            lookup,
            rule_count,
        })
    }
}

/// One instance of the lookup component.
pub struct Lookup {
    store: Store<()>,
    lookup: TypedFunc<(Request,), (Option<Redirect>,)>,
    rule_count: TypedFunc<(), (u64,)>,
}

impl Lookup {
    /// `lookup(req)`. An error is a trap in the guest (a bug: the lookup
    /// never traps on any input, which the fuzz target `resolve` checks).
    pub fn lookup(&mut self, req: Request) -> Result<Option<Redirect>> {
        Ok(self.lookup.call(&mut self.store, (req,))?.0)
    }

    /// `rule-count()`.
    pub fn rule_count(&mut self) -> Result<u64> {
        Ok(self.rule_count.call(&mut self.store, ())?.0)
    }
}

/// The engine the native engine and `check-urls` use: the defaults, with
/// the compilation cache off (a lookup compiles in well under a second).
pub fn engine() -> Result<Engine> {
    Ok(Engine::new(&wasmtime::Config::new())?)
}
