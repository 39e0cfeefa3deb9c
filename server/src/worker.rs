//! A worker: its listening socket, its runtime, its handler, its connections.

use std::cell::{Cell, RefCell};
use std::future::{poll_fn, Future};
use std::io;
use std::net::SocketAddr;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::pin;
use std::rc::Rc;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::task::Poll;
use std::time::{Duration, Instant};

use socket2::{Domain, Protocol, Socket, Type};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::LocalSet;

use crate::protocol::{self, Next, MAX_BUFFERED};
use crate::{Handler, Reply, Shared};

/// A connection with no byte read for this long is closed.
const IDLE: Duration = Duration::from_secs(60);
/// How late the idle timeout may fire (so how rarely its timer is moved).
const IDLE_SLACK: Duration = Duration::from_secs(1);
/// How long a closing connection reads and drops what the client still sends.
const LINGER: Duration = Duration::from_secs(2);
/// How much a closing connection reads and drops at most.
const LINGER_BYTES: usize = 1024 * 1024;
/// A connection's read buffer starts with this, and reads at least this much.
const READ_CHUNK: usize = 4096;
const BACKLOG: i32 = 4096;

/// Binds `n` listening sockets on `addr` (the first decides port 0).
pub(crate) fn listen(addr: SocketAddr, n: usize) -> io::Result<Vec<std::net::TcpListener>> {
    // A probe without SO_REUSEPORT fails if anything listens on `addr`
    // already, which SO_REUSEPORT alone would not (another server of the
    // same user could share the port unnoticed); it also picks port 0.
    let addr = {
        let probe = socket(addr)?;
        probe.bind(&addr.into())?;
        let local = probe.local_addr()?.as_socket();
        local.ok_or_else(|| io::Error::other("bound address is not an IP address"))?
    };
    let mut listeners = Vec::with_capacity(n);
    for _ in 0..n.max(1) {
        let socket = socket(addr)?;
        #[cfg(unix)]
        socket.set_reuse_port(true)?;
        socket.bind(&addr.into())?;
        socket.listen(BACKLOG)?;
        socket.set_nonblocking(true)?;
        listeners.push(socket.into());
        #[cfg(not(unix))]
        {
            // No SO_REUSEPORT: the workers share one socket.
            let first: &std::net::TcpListener = &listeners[0];
            let clones = (1..n).map(|_| first.try_clone());
            let clones = clones.collect::<io::Result<Vec<_>>>()?;
            listeners.extend(clones);
            break;
        }
    }
    Ok(listeners)
}

fn socket(addr: SocketAddr) -> io::Result<Socket> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    socket.set_reuse_address(true)?;
    Ok(socket)
}

/// One worker thread: a current-thread runtime serving `listener` until the
/// server stops.
pub(crate) fn run(listener: std::net::TcpListener, shared: Arc<Shared>) -> io::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .enable_time()
        .build()?;
    // Declared after the runtime, so dropped before it: the connections
    // (its tasks) close while the runtime's I/O driver still exists.
    let local = LocalSet::new();
    local.block_on(&runtime, accept_loop(listener, shared))
}

async fn accept_loop(listener: std::net::TcpListener, shared: Arc<Shared>) -> io::Result<()> {
    let listener = TcpListener::from_std(listener)?;
    let worker = Rc::new(Worker::new(shared.clone()));
    loop {
        // Registered before the checks below, so that no stop or swap
        // between the check and the wait is missed.
        let mut stop = pin!(shared.stop.notified());
        let mut swapped = pin!(shared.swapped.notified());
        stop.as_mut().enable();
        swapped.as_mut().enable();
        if shared.stopping.load(Ordering::Acquire) {
            return Ok(());
        }
        // Build the new handler now rather than on the next request (and
        // let go of the old service).
        worker.refresh();
        loop {
            let event = poll_fn(|cx| {
                if stop.as_mut().poll(cx).is_ready() {
                    return Poll::Ready(Event::Stop);
                }
                if swapped.as_mut().poll(cx).is_ready() {
                    return Poll::Ready(Event::Swapped);
                }
                listener.poll_accept(cx).map(Event::Accepted)
            })
            .await;
            match event {
                Event::Stop => return Ok(()),
                Event::Swapped => break,
                Event::Accepted(Ok((stream, _))) => {
                    tokio::task::spawn_local(connection(stream, worker.clone()));
                }
                Event::Accepted(Err(e)) => accept_failed(e).await,
            }
        }
    }
}

enum Event {
    Stop,
    Swapped,
    Accepted(io::Result<(TcpStream, SocketAddr)>),
}

async fn accept_failed(e: io::Error) {
    match e.kind() {
        // The client gave up before we accepted: nothing to say.
        io::ErrorKind::ConnectionAborted
        | io::ErrorKind::ConnectionReset
        | io::ErrorKind::Interrupted => {}
        // Out of file descriptors or memory: wait for some to free up
        // rather than spin.
        _ => {
            eprintln!("redirects-server: accept failed: {e}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// A worker's handler and the service generation it was built from.
struct Worker {
    shared: Arc<Shared>,
    generation: Cell<u64>,
    /// The handler panicked: build a new one before the next request.
    poisoned: Cell<bool>,
    handler: RefCell<Box<dyn Handler>>,
}

impl Worker {
    fn new(shared: Arc<Shared>) -> Worker {
        let (service, generation) = shared.current();
        Worker {
            handler: RefCell::new(service.handler()),
            shared,
            generation: Cell::new(generation),
            poisoned: Cell::new(false),
        }
    }

    /// Rebuilds the handler if the service was swapped since it was built
    /// (one atomic load when it was not), or if it panicked.
    fn refresh(&self) {
        if self.shared.generation.load(Ordering::Acquire) == self.generation.get()
            && !self.poisoned.get()
        {
            return;
        }
        let (service, generation) = self.shared.current();
        match catch_unwind(AssertUnwindSafe(|| service.handler())) {
            Ok(handler) => {
                // The old handler is dropped here, on this thread.
                *self.handler.borrow_mut() = handler;
                self.poisoned.set(false);
            }
            // Keep the old handler (if it is not poisoned, it still answers
            // for the old service) rather than retry on every request.
            Err(_) => eprintln!("redirects-server: Service::handler panicked"),
        }
        self.generation.set(generation);
    }

    fn handle(&self, host: Option<&str>, target: &str) -> Option<Reply> {
        self.refresh();
        let mut handler = self.handler.borrow_mut();
        match catch_unwind(AssertUnwindSafe(|| handler.handle(host, target))) {
            Ok(reply) => Some(reply),
            Err(_) => {
                eprintln!(
                    "redirects-server: handler panicked on host {host:?} target {target:?}; \
                     answering 500 and building a new handler"
                );
                self.poisoned.set(true);
                None
            }
        }
    }
}

async fn connection(mut stream: TcpStream, worker: Rc<Worker>) {
    // Answers are written whole, often several at once: no Nagle delay.
    let _ = stream.set_nodelay(true);
    let mut input: Vec<u8> = Vec::with_capacity(READ_CHUNK);
    let mut output: Vec<u8> = Vec::with_capacity(READ_CHUNK);
    let mut skip = 0u64;
    // One timer for the connection's life, moved forward at most once per
    // IDLE_SLACK: a timer armed and dropped around every read costs a tenth
    // of the server's own (non-kernel) time.
    let mut idle = pin!(tokio::time::sleep(IDLE));
    loop {
        let now = Instant::now();
        if idle.deadline().into_std() < now + (IDLE - IDLE_SLACK) {
            idle.as_mut().reset((now + IDLE).into());
        }
        // `answer` fails any request before it buffers MAX_BUFFERED bytes,
        // so this stays bounded.
        let room = MAX_BUFFERED.saturating_sub(input.len()).min(READ_CHUNK);
        input.reserve(room);
        let mut read = pin!(stream.read_buf(&mut input));
        let read = poll_fn(|cx| match read.as_mut().poll(cx) {
            Poll::Ready(r) => Poll::Ready(r.ok()),
            Poll::Pending => idle.as_mut().poll(cx).map(|()| None),
        })
        .await;
        if matches!(read, None | Some(0)) {
            return;
        }
        let (used, next) = protocol::answer(&input, &mut skip, &mut output, &mut |host, target| {
            worker.handle(host, target)
        });
        input.drain(..used);
        if !output.is_empty() {
            if stream.write_all(&output).await.is_err() {
                return;
            }
            output.clear();
        }
        if next == Next::Close {
            linger(stream, input).await;
            return;
        }
    }
}

/// Closes a connection so that the client reads the answers sent, rather
/// than a reset: stop writing, then read and drop what the client still
/// sends, for a short while.
async fn linger(mut stream: TcpStream, mut buf: Vec<u8>) {
    if stream.shutdown().await.is_err() {
        return;
    }
    let drain = async {
        let mut total = 0;
        loop {
            buf.clear();
            buf.reserve(READ_CHUNK);
            match stream.read_buf(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => total += n,
            }
            if total > LINGER_BYTES {
                break;
            }
        }
    };
    let _ = tokio::time::timeout(LINGER, drain).await;
}
