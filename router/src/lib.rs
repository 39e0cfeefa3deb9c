//! The HTTP router component (WASI 0.2 `wasi:http/incoming-handler`, via
//! spin-sdk 5.2). It imports `redirects:lookup/lookup` and answers:
//!
//! - a rule matches: the rule's status (301/302/303/307/308) with
//!   `Location` set to the rule's target, and an empty body;
//! - no rule matches: `404 Not Found` with a short text body.
//!
//! The path passed to the lookup is the request's path without the query
//! string (`/a?b=c` looks up `/a`); the query and host are passed alongside.

use spin_sdk::http::{IncomingRequest, Response};
use spin_sdk::http_component;

spin_sdk::wit_bindgen::generate!({
    path: "../wit",
    world: "user",
    runtime_path: "spin_sdk::wit_bindgen::rt",
});

use redirects::lookup::lookup::{lookup, Request};

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

#[http_component]
fn handle(req: IncomingRequest) -> Response {
    let target = req.path_with_query().unwrap_or_else(|| "/".to_string());
    let (path, query) = split_path_query(&target);
    let host = req.authority().map(|a| host_of(&a).to_ascii_lowercase());
    let found = lookup(&Request {
        host,
        path: path.to_string(),
        query: query.map(str::to_string),
    });
    match found {
        Some(r) => Response::builder()
            .status(r.status)
            .header("location", r.location)
            .body(Vec::new())
            .build(),
        None => Response::builder()
            .status(404)
            .header("content-type", "text/plain; charset=utf-8")
            .body("no redirect for this path\n")
            .build(),
    }
}
