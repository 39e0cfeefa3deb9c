//! The HTTP router component. It imports `redirects:lookup/lookup` and
//! answers:
//!
//! - a rule matches: the rule's status (301/302/303/307/308) with
//!   `Location` set to the rule's target, and an empty body;
//! - no rule matches: `404 Not Found` with a short text body.
//!
//! The path passed to the lookup is the request's path without the query
//! string (`/a?b=c` looks up `/a`); the query and host are passed alongside.
//!
//! The routing is [`redirects_format::route::route`], written once for
//! this router and native servers (and unit-tested there); this crate
//! passes it the lookup and wraps it in a spin-sdk 5.2 `#[http_component]`
//! (`wasi:http/incoming-handler@0.2.6`: Spin 4, Akamai Functions,
//! `wasmtime serve`). The same router for WASI 0.3 is an example,
//! `examples/router-wasi-p3`.
//!
//! With the feature `fused` the lookup is not
//! imported but linked in (module `fused`), and the router module is
//! Wizer-initialised with the table itself: one core module per instance
//! instead of a composition of two components.

#[cfg(not(feature = "fused"))]
spin_sdk::wit_bindgen::generate!({
    path: "../wit",
    world: "user",
    runtime_path: "spin_sdk::wit_bindgen::rt",
});

use redirects_format::route::{Answer, NOT_FOUND_BODY};
#[cfg(not(feature = "fused"))]
use redirects_format::Redirect;

/// The lookup linked in (feature `fused`): the table that this module's own
/// Wizer init loads, exactly as `lookup/` does, resolving in process.
#[cfg(feature = "fused")]
mod fused {
    use redirects_format::{Redirect, Request, Table};
    use std::sync::OnceLock;

    static TABLE: OnceLock<Table> = OnceLock::new();

    /// `redirects:lookup/lookup#lookup`, in process.
    pub fn lookup(req: Request<'_>) -> Option<Redirect> {
        TABLE.get()?.resolve(&req)
    }

    /// The Wizer init function, as in `lookup/`: loads the table file
    /// named by `REDIRECTS_DATA`; any failure traps, failing the build.
    #[export_name = "wizer.initialize"]
    pub extern "C" fn init() {
        spin_sdk::wit_bindgen::rt::run_ctors_once();
        assert!(
            TABLE.set(Table::load_from_env()).is_ok(),
            "wizer.initialize ran twice"
        );
    }
}

/// The `redirects:lookup/lookup` import, called with the request's parts.
#[cfg(not(feature = "fused"))]
fn lookup(req: redirects_format::Request<'_>) -> Option<Redirect> {
    use redirects::lookup::lookup::{lookup, Request};
    let r = lookup(&Request {
        host: req.host.map(str::to_string),
        path: req.path.to_string(),
        query: req.query.map(str::to_string),
    })?;
    Some(Redirect {
        location: r.location,
        status: redirects_format::Status::from_code(r.status)?,
    })
}

#[cfg(feature = "fused")]
use fused::lookup;

/// The routing, with this router's lookup.
fn route(authority: Option<&str>, path_with_query: &str) -> Answer {
    redirects_format::route::route(authority, path_with_query, lookup)
}

/// The HTTP entry point (spin-sdk 5.2, WASI 0.2).
#[spin_sdk::http_component]
fn handle(req: spin_sdk::http::IncomingRequest) -> spin_sdk::http::Response {
    let target = req.path_with_query();
    let answer = route(req.authority().as_deref(), target.as_deref().unwrap_or("/"));
    let mut response = spin_sdk::http::Response::builder();
    response.status(answer.status);
    match answer.location {
        Some(location) => response.header("location", location).body(Vec::new()),
        None => response
            .header("content-type", "text/plain; charset=utf-8")
            .body(NOT_FOUND_BODY),
    }
    .build()
}
