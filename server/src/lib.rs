//! A lean HTTP/1.1 server for redirects.
//!
//! It answers every request with a redirect or a 404, asking a per-worker
//! [`Handler`] for the answer, and nothing else: no bodies are read (they are
//! skipped), no static files, no HTTP/2, no TLS (put a proxy or load balancer
//! in front for those).
//!
//! # Shape
//!
//! - One worker thread per core (the `workers` argument of [`Server::bind`]),
//!   each a tokio current-thread runtime with its own listening socket bound
//!   with `SO_REUSEPORT` on the same address, so the kernel spreads new
//!   connections over the workers and no connection ever moves between
//!   threads. A connection is a local task on its worker.
//! - Each worker asks the shared [`Service`] for one [`Handler`] and uses it
//!   for every request on that worker, one at a time; the handler need not be
//!   `Send` (it may own a wasmtime `Store`).
//! - [`Swapper::swap`] replaces the service while serving: a request being
//!   answered finishes on the old handler, and each worker builds a handler
//!   from the new service before its next request (one atomic load per
//!   request checks for a swap; idle workers are also woken to rebuild at
//!   once, so an old service is dropped promptly).
//!
//! # Protocol decisions
//!
//! - Requests are parsed with `httparse`. Pipelining is honoured: every
//!   complete request in a read is answered, and the answers go out in one
//!   write.
//! - HTTP/1.1 keeps the connection unless `Connection: close`; HTTP/1.0
//!   closes it unless `Connection: keep-alive` (then the answer says
//!   `connection: keep-alive`). An answer that closes says `connection: close`.
//! - Every method is answered as `GET` is (the project's decision: a redirect
//!   does not depend on the method); `HEAD` gets the same head without body.
//!   A method that is not a valid token is 400.
//! - The host given to the handler is the `Host` header, raw, port included
//!   (the handler strips the port), or the authority of an absolute-form
//!   target (`GET http://host/path HTTP/1.1`), which wins. No or an empty
//!   `Host` routes with host `None` (the project answers path rules without a
//!   host); two `Host` headers are 400. The target given to the handler is
//!   the path and query (for the absolute form, the part after the
//!   authority, with a `/` put in front when it does not start with one).
//!   An absolute-form authority with userinfo (`user@host`) or a scheme
//!   other than http/https is 400.
//! - `OPTIONS *` is answered 404 (no rule can name `*`) without asking the
//!   handler; `*` with any other method, and the authority form, are 400.
//! - Request bodies: `Content-Length` bodies are read and dropped (up to
//!   1 MiB; a longer body is answered and the connection closed).
//!   `Transfer-Encoding` (chunked or any other) is answered 400 and closed:
//!   a redirect never needs a body, and not decoding chunks leaves no room
//!   to disagree with a proxy about where a request ends.
//! - Hostile requests get 4xx with `connection: close`, and the worker keeps
//!   serving: a request-target over 8 KiB is 414; more than 100 header
//!   fields, or a header section over 16 KiB, is 431; a malformed request
//!   line or header, raw non-UTF-8 or control bytes (NUL) in the target, an
//!   HTTP/2 preface (`PRI * HTTP/2.0`) or an invalid `Content-Length` is 400.
//!   After such an answer the server closes lingering: it stops writing and
//!   reads and drops what the client still sends for up to 2 s (1 MiB at
//!   most), so the client reads the answer instead of a reset.
//! - Answers are written from prebuilt header bytes: `location`,
//!   `content-length` (and `content-type` for the 404), no `Date` header
//!   (optional for a server without a clock guarantee, and redirects are
//!   not cached by date). The 404 body is exactly `no redirect for this path\n`.
//! - Redirect statuses 301, 302, 303, 307 and 308 are sent; any other
//!   status, or a location holding a control byte (which would split the
//!   header), is the handler's bug and answered 500 (logged to stderr). A
//!   handler that panics is answered 500 as well, logged, and replaced by a
//!   fresh one from the service; with `panic = "abort"` (this workspace's
//!   release profile) a panic aborts the process instead, as anywhere else.
//! - A connection idle for 60 s (no byte read; the timer may fire up to 1 s
//!   late) is closed.
//!
//! # Plugging a lookup in
//!
//! ```no_run
//! use std::sync::Arc;
//! use redirects_server::{Handler, Reply, Server, Service};
//!
//! /// Made once per worker, on the worker's thread: may own non-`Send` state.
//! struct Lookup;
//!
//! impl Handler for Lookup {
//!     fn handle(&mut self, host: Option<&str>, target: &str) -> Reply {
//!         let _host = host.map(|h| h.rsplit_once(':').map_or(h, |(h, _)| h));
//!         match target {
//!             "/old" => Reply::Redirect { status: 301, location: "/new".into() },
//!             _ => Reply::NotFound,
//!         }
//!     }
//! }
//!
//! struct Rules;
//!
//! impl Service for Rules {
//!     fn handler(&self) -> Box<dyn Handler> {
//!         Box::new(Lookup)
//!     }
//! }
//!
//! # fn main() -> std::io::Result<()> {
//! let server = Server::bind("127.0.0.1:3000".parse().unwrap(), 0, Arc::new(Rules))?;
//! let swapper = server.swapper(); // e.g. to a SIGHUP thread: swapper.swap(Arc::new(Rules))
//! println!("listening on http://{}", server.local_addr());
//! server.run() // blocks; or `server.spawn()?` and later `.shutdown()`
//! # }
//! ```
#![deny(missing_docs)]

mod protocol;
mod worker;

use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;

use tokio::sync::Notify;

pub use protocol::{MAX_HEADERS, MAX_HEADER_BYTES, MAX_SKIPPED_BODY, MAX_TARGET};

/// What one request is answered with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// A redirect: `status` is 301, 302, 303, 307 or 308 (anything else is
    /// answered 500), `location` the `location` header's value (it must hold
    /// no control bytes).
    Redirect {
        /// The status code.
        status: u16,
        /// The `location` header's value, as sent.
        location: String,
    },
    /// 404 with the body `no redirect for this path\n`.
    NotFound,
}

/// Per-worker request handler (not `Send`: it may own a wasmtime `Store`).
///
/// A worker calls it for one request at a time, on the worker's thread.
pub trait Handler {
    /// Answers one request. `host` is the `Host` header (or the authority of
    /// an absolute-form target), raw, with any port; `None` when the request
    /// has no host. `target` is the path and query, starting with `/`.
    fn handle(&mut self, host: Option<&str>, target: &str) -> Reply;
}

/// Makes handlers; shared by all workers; called once per worker on that
/// worker's thread (and again after a swap, or after a handler panicked).
pub trait Service: Send + Sync + 'static {
    /// A new handler for one worker.
    fn handler(&self) -> Box<dyn Handler>;
}

/// What the workers share.
struct Shared {
    /// Bumped by every swap; a worker compares it with the generation its
    /// handler was built from before each request.
    generation: AtomicU64,
    service: Mutex<Arc<dyn Service>>,
    /// Wakes the workers' accept loops after a swap, to rebuild at once.
    swapped: Notify,
    stopping: AtomicBool,
    stop: Notify,
}

impl Shared {
    fn service(&self) -> MutexGuard<'_, Arc<dyn Service>> {
        // The lock only guards an `Arc` assignment: never poisoned in a way
        // that matters.
        self.service.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The current service and its generation, read together.
    fn current(&self) -> (Arc<dyn Service>, u64) {
        let service = self.service();
        (service.clone(), self.generation.load(Ordering::Acquire))
    }
}

/// A bound server whose [`Service`] can be swapped atomically while serving.
///
/// [`Server::bind`] binds the sockets; [`Server::run`] or [`Server::spawn`]
/// starts the workers.
pub struct Server {
    addr: SocketAddr,
    listeners: Vec<std::net::TcpListener>,
    shared: Arc<Shared>,
}

impl Server {
    /// Binds `workers` listening sockets (`SO_REUSEPORT`, backlog 4096) on
    /// `addr` now, so that port 0 works ([`Server::local_addr`] tells the
    /// port) and errors show before serving. `workers == 0` means one per
    /// available core.
    ///
    /// Fails with `AddrInUse` when something else already listens on `addr`,
    /// even another `SO_REUSEPORT` server of the same user (which the kernel
    /// would otherwise let share the port).
    pub fn bind(addr: SocketAddr, workers: usize, service: Arc<dyn Service>) -> io::Result<Server> {
        let workers = if workers == 0 {
            std::thread::available_parallelism().map_or(1, |n| n.get())
        } else {
            workers
        };
        let listeners = worker::listen(addr, workers)?;
        let addr = listeners[0].local_addr()?;
        Ok(Server {
            addr,
            listeners,
            shared: Arc::new(Shared {
                generation: AtomicU64::new(0),
                service: Mutex::new(service),
                swapped: Notify::new(),
                stopping: AtomicBool::new(false),
                stop: Notify::new(),
            }),
        })
    }

    /// The address the server listens on (with the port chosen for port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// How many workers (and listening sockets) the server has.
    pub fn workers(&self) -> usize {
        self.listeners.len()
    }

    /// A handle that swaps the service in, from any thread.
    pub fn swapper(&self) -> Swapper {
        Swapper {
            shared: self.shared.clone(),
        }
    }

    /// A handle that stops the server from any thread (e.g. a signal
    /// handler's thread while [`Server::run`] blocks).
    pub fn shutdown_handle(&self) -> ShutdownHandle {
        ShutdownHandle {
            shared: self.shared.clone(),
        }
    }

    /// Serves on this thread's behalf until a [`ShutdownHandle`] stops it:
    /// starts the workers and blocks until they end. The first worker error
    /// (e.g. a runtime that could not start) is returned after all ended.
    pub fn run(self) -> io::Result<()> {
        self.spawn()?.wait()
    }

    /// Starts the workers on their own threads and returns at once.
    pub fn spawn(self) -> io::Result<Running> {
        let mut threads = Vec::with_capacity(self.listeners.len());
        for (i, listener) in self.listeners.into_iter().enumerate() {
            let shared = self.shared.clone();
            let thread = std::thread::Builder::new()
                .name(format!("redirects-worker-{i}"))
                .spawn(move || worker::run(listener, shared));
            match thread {
                Ok(t) => threads.push(t),
                Err(e) => {
                    // Stop the ones already started before failing.
                    let running = Running {
                        addr: self.addr,
                        shared: self.shared.clone(),
                        threads,
                    };
                    let _ = running.shutdown();
                    return Err(e);
                }
            }
        }
        Ok(Running {
            addr: self.addr,
            shared: self.shared,
            threads,
        })
    }
}

/// A running server (from [`Server::spawn`]). Dropping it leaves the server
/// running; [`Running::shutdown`] stops it.
#[must_use = "dropping `Running` detaches the server; call shutdown() or wait()"]
pub struct Running {
    addr: SocketAddr,
    shared: Arc<Shared>,
    threads: Vec<JoinHandle<io::Result<()>>>,
}

impl Running {
    /// The address the server listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// A handle that swaps the service in, from any thread.
    pub fn swapper(&self) -> Swapper {
        Swapper {
            shared: self.shared.clone(),
        }
    }

    /// A handle that stops the server from any thread.
    pub fn shutdown_handle(&self) -> ShutdownHandle {
        ShutdownHandle {
            shared: self.shared.clone(),
        }
    }

    /// Stops the server and waits for its workers: they stop accepting, and
    /// close their listening sockets and open connections at once (no
    /// graceful drain: an answer not yet written is lost).
    pub fn shutdown(self) -> io::Result<()> {
        self.shutdown_handle().shutdown();
        self.wait()
    }

    /// Waits until the workers end (after a [`ShutdownHandle::shutdown`]).
    pub fn wait(self) -> io::Result<()> {
        let mut result = Ok(());
        for thread in self.threads {
            let ended = thread
                .join()
                .unwrap_or_else(|_| Err(io::Error::other("a worker thread panicked")));
            if result.is_ok() {
                result = ended;
            }
        }
        result
    }
}

/// Swaps the server's [`Service`] atomically (cheap to clone, `Send`).
#[derive(Clone)]
pub struct Swapper {
    shared: Arc<Shared>,
}

impl Swapper {
    /// Serves `service` from now on: every request that starts after this
    /// returns is answered by a handler from `service`; requests already
    /// being answered finish on the old handler. The old service is dropped
    /// once every worker has moved on.
    pub fn swap(&self, service: Arc<dyn Service>) {
        self.replace(service, None);
    }

    /// [`Swapper::swap`] only if no swap happened since
    /// [`Swapper::generation`] returned `generation` (checked and swapped
    /// in one step): for a service made in the background, which a reload
    /// made meanwhile must win over. Returns whether it swapped.
    pub fn swap_if(&self, generation: u64, service: Arc<dyn Service>) -> bool {
        self.replace(service, Some(generation))
    }

    fn replace(&self, service: Arc<dyn Service>, if_generation: Option<u64>) -> bool {
        let old = {
            let mut current = self.shared.service();
            let generation = self.shared.generation.load(Ordering::Acquire);
            if if_generation.is_some_and(|g| g != generation) {
                return false;
            }
            let old = std::mem::replace(&mut *current, service);
            self.shared.generation.fetch_add(1, Ordering::AcqRel);
            old
        };
        drop(old);
        self.shared.swapped.notify_waiters();
        true
    }

    /// How many swaps there have been.
    pub fn generation(&self) -> u64 {
        self.shared.generation.load(Ordering::Acquire)
    }
}

/// Stops a server from any thread (cheap to clone, `Send`).
#[derive(Clone)]
pub struct ShutdownHandle {
    shared: Arc<Shared>,
}

impl ShutdownHandle {
    /// Tells every worker to stop; returns at once. [`Server::run`] or
    /// [`Running::wait`] returns when they have.
    pub fn shutdown(&self) {
        self.shared.stopping.store(true, Ordering::Release);
        self.shared.stop.notify_waiters();
    }
}
