//! Example: the router for WASI 0.3 (spin-sdk 7 `#[http_service]`,
//! `wasi:http/handler@0.3.0`). It imports `redirects:lookup/lookup` like
//! the product's router (`router/`, WASI 0.2) and answers with the same
//! routing function, [`redirects_format::route::route`]; only the HTTP
//! entry point differs. `wasmtime serve -S p3 -W component-model-async`
//! runs it; Spin 4.0.2 does not accept `wasi:http@0.3.0`.

spin_sdk::wit_bindgen::generate!({
    path: "../../wit",
    world: "user",
    runtime_path: "spin_sdk::wit_bindgen::rt",
});

use redirects_format::route::{Answer, NOT_FOUND_BODY};
use redirects_format::Redirect;

/// The `redirects:lookup/lookup` import, called with the request's parts.
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

fn route(authority: Option<&str>, path_with_query: &str) -> Answer {
    redirects_format::route::route(authority, path_with_query, lookup)
}

/// WASI 0.3 entry point.
#[spin_sdk::http_service]
async fn handle(req: spin_sdk::http::Request) -> Response {
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
            .body(Body::new(&[][..])),
        None => return not_found(),
    };
    // The lookup only returns visible-ASCII Locations and 3xx statuses, so
    // this never fails; if it did, a 404 is the safe answer.
    response.unwrap_or_else(|_| not_found())
}

type Body = spin_sdk::http::FullBody<&'static [u8]>;
type Response = spin_sdk::http::Response<Body>;

fn not_found() -> Response {
    spin_sdk::http::Response::<()>::builder()
        .status(404)
        .header("content-type", "text/plain; charset=utf-8")
        .body(Body::new(NOT_FOUND_BODY.as_bytes()))
        .expect("a static 404 is a valid response")
}
