//! Serves redirects from a file of `source target` lines (a `HashMap`), to
//! show how a lookup plugs in and to measure the HTTP path:
//!
//! ```sh
//! cargo run --release -p redirects-server --example map -- 127.0.0.1:8080 rules.txt [WORKERS]
//! ```
//!
//! Every worker gets a handler sharing the one map; the real server plugs in a
//! wasmtime lookup instance per worker the same way.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

use redirects_server::{Handler, Reply, Server, Service};

/// The rules: path -> location.
struct Rules(Arc<HashMap<String, String>>);

/// One worker's handler (here a shared map; a wasmtime `Store` and instance
/// in the real engine, which is why handlers are per worker and not `Send`).
struct Lookup(Arc<HashMap<String, String>>);

impl Service for Rules {
    fn handler(&self) -> Box<dyn Handler> {
        Box::new(Lookup(self.0.clone()))
    }
}

impl Handler for Lookup {
    fn handle(&mut self, _host: Option<&str>, target: &str) -> Reply {
        match self.0.get(target) {
            Some(location) => Reply::Redirect {
                status: 301,
                location: location.clone(),
            },
            None => Reply::NotFound,
        }
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let addr: SocketAddr = args.next().as_deref().unwrap_or("127.0.0.1:8080").parse()?;
    let rules: HashMap<String, String> = match args.next() {
        Some(path) => std::fs::read_to_string(path)?
            .lines()
            .filter_map(|l| l.split_once(' '))
            .map(|(s, t)| (s.to_owned(), t.trim().to_owned()))
            .collect(),
        None => [("/old".to_owned(), "/new".to_owned())].into(),
    };
    let workers = args.next().map(|w| w.parse()).transpose()?.unwrap_or(0);
    let server = Server::bind(addr, workers, Arc::new(Rules(Arc::new(rules))))?;
    eprintln!(
        "{} workers on http://{}",
        server.workers(),
        server.local_addr()
    );
    server.run()?;
    Ok(())
}
