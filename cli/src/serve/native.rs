//! `--engine native`: `redirects-server` (a lean HTTP/1.1 server, a worker
//! per core) in front of the lookup component, one instance per worker,
//! called through typed functions ([`crate::lookup`]). The routing function
//! is the router component's own, [`redirects_format::route::route`], so
//! both engines answer alike.

use crate::lookup::{Lookup, LookupPre};
use anyhow::Result;
use redirects_server::{Handler, Reply, Service};
use std::sync::Mutex;

/// What `redirects serve --engine native` logs (at the start of a line)
/// each time it has swapped in instances with their keys hashed: after its
/// first answers, and after each reload.
pub const KEYS_HASHED: &str = "hashed the keys";

/// Makes a lookup instance for each worker: as loaded ([`LookupService::new`],
/// ready at once) or with the keys hashed ([`LookupService::hashed`], about
/// twice as fast per lookup, for 27 bytes per rule per worker and a moment
/// per instance to build).
pub struct LookupService {
    pre: LookupPre,
    /// The bytes an instance's hash takes (`None`: instances as loaded).
    hash_bytes: Option<u64>,
    /// Instances made ahead, handed to the first workers that ask.
    ready: Mutex<Vec<Lookup>>,
}

impl LookupService {
    /// A service answering with instances of `pre` as loaded.
    pub fn new(pre: LookupPre) -> LookupService {
        LookupService {
            pre,
            hash_bytes: None,
            ready: Mutex::new(Vec::new()),
        }
    }

    /// A service answering with instances of `pre` whose keys are hashed
    /// (`redirects:lookup/prepare#hash-keys`), `workers` of them made now,
    /// one thread each. Fails if the lookup cannot hash its keys (a lookup
    /// built before WIT 0.2.0 has no `hash-keys`).
    pub fn hashed(pre: LookupPre, workers: usize) -> Result<LookupService> {
        let made: Vec<Result<(Lookup, u64)>> = std::thread::scope(|s| {
            let threads: Vec<_> = (0..workers.max(1))
                .map(|_| s.spawn(|| hashed_instance(&pre)))
                .collect();
            threads
                .into_iter()
                .map(|t| {
                    t.join()
                        .unwrap_or_else(|_| Err(anyhow::anyhow!("panicked")))
                })
                .collect()
        });
        let (ready, bytes): (Vec<Lookup>, Vec<u64>) = made
            .into_iter()
            .collect::<Result<Vec<_>>>()?
            .into_iter()
            .unzip();
        Ok(LookupService {
            pre,
            hash_bytes: bytes.first().copied(),
            ready: Mutex::new(ready),
        })
    }

    /// The bytes each instance's hash takes (`None` for instances as
    /// loaded).
    pub fn hash_bytes(&self) -> Option<u64> {
        self.hash_bytes
    }
}

/// A new instance of `pre` with its keys hashed, and the bytes the hash
/// takes.
fn hashed_instance(pre: &LookupPre) -> Result<(Lookup, u64)> {
    let mut lookup = pre.instantiate()?;
    match lookup.hash_keys()? {
        Some(bytes) => Ok((lookup, bytes)),
        None => anyhow::bail!("the lookup has no `hash-keys` (built before WIT 0.2.0)"),
    }
}

impl Service for LookupService {
    fn handler(&self) -> Box<dyn Handler> {
        let ready = self.ready.lock().unwrap_or_else(|e| e.into_inner()).pop();
        // Past the instances made ahead (a worker whose handler panicked
        // asks again): made here, hashed if the others are.
        let made = ready.map(Ok).unwrap_or_else(|| {
            if self.hash_bytes.is_some() {
                hashed_instance(&self.pre).map(|(l, _)| l).or_else(|e| {
                    eprintln!("warning: a worker answers without the hash: {e:#}");
                    self.pre.instantiate()
                })
            } else {
                self.pre.instantiate()
            }
        });
        match made {
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
            let found = self.lookup.lookup(req.into());
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
