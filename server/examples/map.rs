//! Serves redirects from a file of `source target [status]` lines (a
//! `HashMap` keyed by the request-target as received: no host, no query
//! handling, no normalising), to show how a lookup plugs in and to measure
//! the HTTP path on its own: `./x bench` runs it beside `redirects serve`
//! as the ceiling of any lookup behind this server.
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

/// A rule's answer: status and location.
type Answer = (u16, String);

/// The rules: path -> answer.
struct Rules(Arc<HashMap<String, Answer>>);

/// One worker's handler (here a shared map; a wasmtime `Store` and instance
/// in the real engine, which is why handlers are per worker and not `Send`).
struct Lookup(Arc<HashMap<String, Answer>>);

impl Service for Rules {
    fn handler(&self) -> Box<dyn Handler> {
        Box::new(Lookup(self.0.clone()))
    }
}

impl Handler for Lookup {
    fn handle(&mut self, _host: Option<&str>, target: &str) -> Reply {
        match self.0.get(target) {
            Some((status, location)) => Reply::Redirect {
                status: *status,
                location: location.clone(),
            },
            None => Reply::NotFound,
        }
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let addr: SocketAddr = args.next().as_deref().unwrap_or("127.0.0.1:8080").parse()?;
    let rules: HashMap<String, Answer> = match args.next() {
        Some(path) => {
            let text = std::fs::read_to_string(&path)?;
            let mut rules = HashMap::new();
            for (n, line) in text.lines().enumerate() {
                if line.starts_with('#') {
                    continue;
                }
                let mut words = line.split_whitespace();
                let (Some(source), Some(target)) = (words.next(), words.next()) else {
                    continue;
                };
                let status = match words.next() {
                    None => 301,
                    Some(s) => s
                        .parse()
                        .map_err(|e| format!("{path}:{}: status {s:?}: {e}", n + 1))?,
                };
                rules.insert(source.to_owned(), (status, target.to_owned()));
            }
            rules
        }
        None => [("/old".to_owned(), (301, "/new".to_owned()))].into(),
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
