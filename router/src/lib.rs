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
//! The routing is [`route`], written once; two thin entry points wrap it,
//! one per WASI version, chosen by a cargo feature (exactly one is on):
//!
//! - `wasi-p2` (default): spin-sdk 5.2 `#[http_component]`,
//!   `wasi:http/incoming-handler@0.2.6` (Spin 4, Akamai Functions);
//! - `wasi-p3`: spin-sdk 7 `#[http_service]`, `wasi:http/handler@0.3.0`
//!   (`wasmtime serve -S p3`; Spin 4.0.2 does not accept it).
//!
//! With the feature `fused` (on top of `wasi-p2`) the lookup is not
//! imported but linked in (module `fused`), and the router module is
//! Wizer-initialised with the table itself: one core module per instance
//! instead of a composition of two components.

#[cfg(all(feature = "wasi-p2", feature = "wasi-p3"))]
compile_error!("enable exactly one of the features `wasi-p2` (default) and `wasi-p3`");

// Both SDKs' macros refer to `::spin_sdk`.
#[cfg(feature = "wasi-p2")]
extern crate spin_sdk_5 as spin_sdk;
#[cfg(feature = "wasi-p3")]
extern crate spin_sdk_7 as spin_sdk;

#[cfg(not(feature = "fused"))]
spin_sdk::wit_bindgen::generate!({
    path: "../wit",
    world: "user",
    runtime_path: "spin_sdk::wit_bindgen::rt",
});

#[cfg(feature = "fused")]
use fused::{lookup, Request};
#[cfg(not(feature = "fused"))]
use redirects::lookup::lookup::{lookup, Request};

/// The lookup linked in (feature `fused`): the same calls as the
/// `redirects:lookup/lookup` import, answered by a table that this
/// module's own Wizer init loads, exactly as `lookup/` does.
#[cfg(feature = "fused")]
mod fused {
    use redirects_format::Table;
    use std::sync::OnceLock;

    static TABLE: OnceLock<Table> = OnceLock::new();

    /// The import's `request` record.
    pub struct Request {
        pub host: Option<String>,
        pub path: String,
        pub query: Option<String>,
    }

    /// The import's `redirect` record.
    pub struct Redirect {
        pub location: String,
        pub status: u16,
    }

    /// `redirects:lookup/lookup#lookup`, in process.
    pub fn lookup(req: &Request) -> Option<Redirect> {
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

/// The body of a 404.
pub const NOT_FOUND_BODY: &str = "no redirect for this path\n";

/// What to answer: a redirect (status and `Location`) or, with no
/// location, a 404 with [`NOT_FOUND_BODY`].
pub struct Answer {
    /// HTTP status.
    pub status: u16,
    /// `Location` of a redirect.
    pub location: Option<String>,
}

/// The routing: asks the lookup about a request, given its authority
/// (`Host`) and its request target (path and query).
pub fn route(authority: Option<&str>, path_with_query: &str) -> Answer {
    let (path, query) = split_path_query(path_with_query);
    let found = lookup(&Request {
        host: authority.map(|a| host_of(a).to_ascii_lowercase()),
        path: path.to_string(),
        query: query.map(str::to_string),
    });
    match found {
        Some(r) => Answer {
            status: r.status,
            location: Some(r.location),
        },
        None => Answer {
            status: 404,
            location: None,
        },
    }
}

/// Splits a request target into path and query (without the `?`).
fn split_path_query(path_with_query: &str) -> (&str, Option<&str>) {
    match path_with_query.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (path_with_query, None),
    }
}

/// The host without its port (`[::1]:3000` -> `[::1]`, `a.com:80` -> `a.com`).
fn host_of(authority: &str) -> &str {
    if authority.starts_with('[') {
        authority
            .find(']')
            .map_or(authority, |end| &authority[..=end])
    } else {
        authority.split(':').next().unwrap_or(authority)
    }
}

/// WASI 0.2 entry point (spin-sdk 5.2).
#[cfg(feature = "wasi-p2")]
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

/// WASI 0.3 entry point (spin-sdk 7).
#[cfg(feature = "wasi-p3")]
#[spin_sdk::http_service]
async fn handle(req: spin_sdk::http::Request) -> P3Response {
    let uri = req.uri();
    let target = uri.path_and_query().map_or("/", |p| p.as_str());
    // wasmtime's WASI 0.3 server leaves the authority empty for
    // origin-form requests and passes `Host` as a header.
    let host = req.headers().get("host").and_then(|h| h.to_str().ok());
    let answer = route(uri.authority().map(|a| a.as_str()).or(host), target);
    let response = spin_sdk::http::Response::<()>::builder().status(answer.status);
    let response = match answer.location {
        Some(location) => response
            .header("location", location)
            .body(P3Body::new(&[][..])),
        None => return not_found_p3(),
    };
    // The lookup only returns visible-ASCII Locations and 3xx statuses, so
    // this never fails; if it did, a 404 is the safe answer.
    response.unwrap_or_else(|_| not_found_p3())
}

#[cfg(feature = "wasi-p3")]
type P3Body = spin_sdk::http::FullBody<&'static [u8]>;
#[cfg(feature = "wasi-p3")]
type P3Response = spin_sdk::http::Response<P3Body>;

#[cfg(feature = "wasi-p3")]
fn not_found_p3() -> P3Response {
    spin_sdk::http::Response::<()>::builder()
        .status(404)
        .header("content-type", "text/plain; charset=utf-8")
        .body(P3Body::new(NOT_FOUND_BODY.as_bytes()))
        .expect("a static 404 is a valid response")
}
