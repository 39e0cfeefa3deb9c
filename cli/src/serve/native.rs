//! `--engine native`: `redirects-server` (a lean HTTP/1.1 server, a worker
//! per core) in front of the lookup component, one instance per worker,
//! called through typed functions ([`crate::lookup`]). The routing function
//! is the router component's own, [`redirects_format::route::route`], so
//! both engines answer alike.

use crate::lookup::{Lookup, LookupPre, Request};
use redirects_server::{Handler, Reply, Service};

/// Makes a lookup instance for each worker.
pub struct LookupService {
    pre: LookupPre,
}

impl LookupService {
    /// A service answering with instances of `pre`.
    pub fn new(pre: LookupPre) -> LookupService {
        LookupService { pre }
    }
}

impl Service for LookupService {
    fn handler(&self) -> Box<dyn Handler> {
        match self.pre.instantiate() {
            Ok(lookup) => Box::new(LookupHandler { lookup }),
            Err(e) => {
                eprintln!("error: instantiating the lookup: {e:#}");
                Box::new(Failed)
            }
        }
    }
}

struct LookupHandler {
    lookup: Lookup,
}

impl Handler for LookupHandler {
    fn handle(&mut self, host: Option<&str>, target: &str) -> Reply {
        let answer = redirects_format::route::route(host, target, |req| {
            let found = self.lookup.lookup(Request {
                host: req.host.map(str::to_string),
                path: req.path.to_string(),
                query: req.query.map(str::to_string),
            });
            match found {
                Ok(found) => found.and_then(|r| r.into_format()),
                Err(e) => {
                    eprintln!("error: the lookup trapped: {e:#}");
                    None
                }
            }
        });
        match answer.location {
            Some(location) => Reply::Redirect {
                status: answer.status,
                location,
            },
            None => Reply::NotFound,
        }
    }
}

/// A worker whose instance could not be made answers 404 (and said why).
struct Failed;

impl Handler for Failed {
    fn handle(&mut self, _: Option<&str>, _: &str) -> Reply {
        Reply::NotFound
    }
}
