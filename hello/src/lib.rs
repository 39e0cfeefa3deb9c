//! A hello-world HTTP component: the floor `./x bench` compares the
//! router's instance-per-request throughput with. Same SDK, target and
//! adapter as `router/`, no lookup: every request gets a fixed 404.

use spin_sdk::http::{IncomingRequest, Response};
use spin_sdk::http_component;

/// Answers every request with the same 404 the router gives a miss.
#[http_component]
fn handle(_req: IncomingRequest) -> Response {
    Response::builder()
        .status(404)
        .header("content-type", "text/plain; charset=utf-8")
        .body("no redirect for this path\n")
        .build()
}
