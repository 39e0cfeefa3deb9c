//! The server over real TCP on 127.0.0.1 (port 0), with small handlers.

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use redirects_server::{Handler, Reply, Running, Server, Service};

/// Rules keyed by target; `/echo...` answers 307 with `host|target`, to show
/// what the handler was given; `/panic` panics.
struct Map {
    rules: Arc<HashMap<&'static str, &'static str>>,
}

impl Handler for Map {
    fn handle(&mut self, host: Option<&str>, target: &str) -> Reply {
        if target.starts_with("/echo") {
            return Reply::Redirect {
                status: 307,
                location: format!("{}|{target}", host.unwrap_or("-")),
            };
        }
        if target == "/panic" {
            panic!("the test handler panics on /panic");
        }
        match self.rules.get(target) {
            Some(location) => Reply::Redirect {
                status: 301,
                location: (*location).to_owned(),
            },
            None => Reply::NotFound,
        }
    }
}

struct MapService {
    rules: Arc<HashMap<&'static str, &'static str>>,
}

impl Service for MapService {
    fn handler(&self) -> Box<dyn Handler> {
        Box::new(Map {
            rules: self.rules.clone(),
        })
    }
}

fn rules(pairs: &[(&'static str, &'static str)]) -> Arc<dyn Service> {
    Arc::new(MapService {
        rules: Arc::new(pairs.iter().copied().collect()),
    })
}

fn start(workers: usize) -> Running {
    let service = rules(&[("/old", "/new"), ("/a?b=1", "https://example.com/x")]);
    let addr: SocketAddr = "127.0.0.1:0".parse().unwrap();
    Server::bind(addr, workers, service)
        .unwrap()
        .spawn()
        .unwrap()
}

#[derive(Debug)]
struct Response {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Response {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A keep-alive client reading answers one at a time.
struct Client {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Client {
    fn connect(addr: SocketAddr) -> Client {
        let stream = TcpStream::connect(addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        Client {
            stream,
            buf: Vec::new(),
        }
    }

    fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).unwrap();
    }

    fn get(&mut self, target: &str) -> Response {
        self.send(format!("GET {target} HTTP/1.1\r\nHost: h\r\n\r\n").as_bytes());
        self.response(false).unwrap()
    }

    /// The next answer (`head`: to a HEAD request, so without body).
    fn response(&mut self, head: bool) -> io::Result<Response> {
        let end = loop {
            if let Some(i) = self.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i;
            }
            self.fill()?;
        };
        let text = std::str::from_utf8(&self.buf[..end]).map_err(io::Error::other)?;
        let mut lines = text.split("\r\n");
        let status_line = lines.next().unwrap_or_default();
        let status = status_line
            .strip_prefix("HTTP/1.1 ")
            .and_then(|s| s.get(..3))
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| io::Error::other(format!("bad status line {status_line:?}")))?;
        let headers: Vec<(String, String)> = lines
            .map(|l| {
                let (n, v) = l.split_once(": ").unwrap_or((l, ""));
                (n.to_owned(), v.to_owned())
            })
            .collect();
        let length: usize = headers
            .iter()
            .find(|(n, _)| n == "content-length")
            .and_then(|(_, v)| v.parse().ok())
            .ok_or_else(|| io::Error::other("no content-length"))?;
        let length = if head { 0 } else { length };
        while self.buf.len() < end + 4 + length {
            self.fill()?;
        }
        let body = self.buf[end + 4..end + 4 + length].to_vec();
        self.buf.drain(..end + 4 + length);
        Ok(Response {
            status,
            headers,
            body,
        })
    }

    fn fill(&mut self) -> io::Result<()> {
        let mut chunk = [0; 4096];
        let n = self.stream.read(&mut chunk)?;
        if n == 0 {
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "closed"));
        }
        self.buf.extend_from_slice(&chunk[..n]);
        Ok(())
    }

    /// True when the server has closed the connection (and sent nothing more).
    fn closed(&mut self) -> bool {
        self.buf.is_empty()
            && matches!(self.fill(), Err(e) if e.kind() == io::ErrorKind::UnexpectedEof)
    }
}

/// Sends `head` and then `Connection: close` and the blank line, as the
/// project's e2e tests do (two writes), and reads the answer to the end.
fn request(addr: SocketAddr, head: &[u8]) -> io::Result<Response> {
    let mut client = Client::connect(addr);
    client.stream.write_all(head)?;
    client.stream.write_all(b"Connection: close\r\n\r\n")?;
    let response = client.response(false)?;
    assert!(client.closed(), "the connection is closed after a close");
    Ok(response)
}

const NOT_FOUND_BODY: &[u8] = b"no redirect for this path\n";

#[test]
fn keep_alive_answers_in_order_on_one_connection() {
    let server = start(2);
    let mut c = Client::connect(server.local_addr());
    for _ in 0..3 {
        let r = c.get("/old");
        assert_eq!(r.status, 301);
        assert_eq!(r.header("location"), Some("/new"));
        assert_eq!(r.header("content-length"), Some("0"));
        assert_eq!(r.header("connection"), None);
        let r = c.get("/nope");
        assert_eq!(r.status, 404);
        assert_eq!(r.header("content-type"), Some("text/plain; charset=utf-8"));
        assert_eq!(r.body, NOT_FOUND_BODY);
    }
    assert_eq!(
        c.get("/a?b=1").header("location"),
        Some("https://example.com/x")
    );
    server.shutdown().unwrap();
}

#[test]
fn pipelined_requests_in_one_write_are_all_answered_in_order() {
    let server = start(1);
    let mut c = Client::connect(server.local_addr());
    c.send(
        b"GET /old HTTP/1.1\r\nHost: h\r\n\r\n\
          GET /nope HTTP/1.1\r\nHost: h\r\n\r\n\
          GET /echo/3 HTTP/1.1\r\nHost: h\r\n\r\n",
    );
    assert_eq!(c.response(false).unwrap().status, 301);
    assert_eq!(c.response(false).unwrap().status, 404);
    let r = c.response(false).unwrap();
    assert_eq!(r.header("location"), Some("h|/echo/3"));
    // Still open for more.
    assert_eq!(c.get("/old").status, 301);
    server.shutdown().unwrap();
}

#[test]
fn http_1_0_closes_unless_keep_alive() {
    let server = start(1);
    let mut c = Client::connect(server.local_addr());
    c.send(b"GET /old HTTP/1.0\r\n\r\n");
    let r = c.response(false).unwrap();
    assert_eq!(r.status, 301);
    assert_eq!(r.header("connection"), Some("close"));
    assert!(c.closed());

    let mut c = Client::connect(server.local_addr());
    for _ in 0..2 {
        c.send(b"GET /old HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
        let r = c.response(false).unwrap();
        assert_eq!(r.status, 301);
        assert_eq!(r.header("connection"), Some("keep-alive"));
    }

    let mut c = Client::connect(server.local_addr());
    c.send(b"GET /old HTTP/1.1\r\nConnection: close\r\n\r\nGET /old HTTP/1.1\r\n\r\n");
    assert_eq!(
        c.response(false).unwrap().header("connection"),
        Some("close")
    );
    assert!(c.closed(), "a request after a close is not answered");
    server.shutdown().unwrap();
}

#[test]
fn host_is_passed_raw_and_absolute_form_wins() {
    let server = start(1);
    let mut c = Client::connect(server.local_addr());
    c.send(b"GET /echo?q=1 HTTP/1.1\r\nHost: x.example:8080\r\n\r\n");
    let r = c.response(false).unwrap();
    assert_eq!(r.header("location"), Some("x.example:8080|/echo?q=1"));
    c.send(b"GET http://abs.example:81/echo/p?q HTTP/1.1\r\nHost: x.example\r\n\r\n");
    let r = c.response(false).unwrap();
    assert_eq!(r.header("location"), Some("abs.example:81|/echo/p?q"));
    c.send(b"GET /echo HTTP/1.1\r\n\r\n");
    let r = c.response(false).unwrap();
    assert_eq!(r.header("location"), Some("-|/echo"), "no Host: host None");
    c.send(b"GET /echo HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n");
    let r = c.response(false).unwrap();
    assert_eq!(r.header("location"), Some("[::1]:8080|/echo"));
    server.shutdown().unwrap();
}

#[test]
fn head_gets_the_head_without_body() {
    let server = start(1);
    let mut c = Client::connect(server.local_addr());
    c.send(b"HEAD /nope HTTP/1.1\r\nHost: h\r\n\r\n");
    let r = c.response(true).unwrap();
    assert_eq!(r.status, 404);
    assert_eq!(r.header("content-length"), Some("26"));
    c.send(b"HEAD /old HTTP/1.1\r\nHost: h\r\n\r\n");
    let r = c.response(true).unwrap();
    assert_eq!(r.status, 301);
    // Nothing was left over from the 404: the next answer parses.
    assert_eq!(c.get("/nope").body, NOT_FOUND_BODY);
    server.shutdown().unwrap();
}

#[test]
fn request_bodies_are_skipped() {
    let server = start(1);
    let mut c = Client::connect(server.local_addr());
    c.send(
        b"POST /old HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello\
          GET /nope HTTP/1.1\r\nHost: h\r\n\r\n",
    );
    assert_eq!(c.response(false).unwrap().status, 301);
    assert_eq!(c.response(false).unwrap().status, 404);
    // A body that arrives in pieces, one that looks like a request.
    c.send(b"PUT /old HTTP/1.1\r\nContent-Length: 31\r\n\r\nGET /nope HTTP/1.1\r\n");
    assert_eq!(c.response(false).unwrap().status, 301);
    std::thread::sleep(Duration::from_millis(20));
    c.send(b"Host: h\r\n\r\nGET /old HTTP/1.1\r\n\r\n");
    let r = c.response(false).unwrap();
    assert_eq!(r.status, 301, "the body was not taken for a request");
    server.shutdown().unwrap();
}

#[test]
fn hostile_requests_get_4xx_and_serving_continues() {
    let server = start(2);
    let addr = server.local_addr();
    let get = |target: &[u8]| [b"GET ", target, b" HTTP/1.1\r\nHost: h\r\n"].concat();
    let huge = |n: usize| vec![b'a'; n];
    let cases: Vec<(&str, Vec<u8>, u16)> = vec![
        ("64 KiB path", get(&[b"/", &huge(65_536)[..]].concat()), 414),
        ("9 KiB path", get(&[b"/", &huge(9_000)[..]].concat()), 414),
        ("8000 B path", get(&[b"/", &huge(8_000)[..]].concat()), 404),
        ("raw invalid UTF-8", get(b"/\xff\xfe"), 400),
        ("raw NUL", get(b"/old\0x"), 400),
        ("absolute-form", get(b"http://evil.example/old"), 301),
        (
            "asterisk",
            b"OPTIONS * HTTP/1.1\r\nHost: h\r\n".to_vec(),
            404,
        ),
        (
            "10 KiB host",
            [b"GET /old HTTP/1.1\r\nHost: ", &huge(10_000)[..], b"\r\n"].concat(),
            301,
        ),
        (
            "500 headers",
            [
                b"GET /old HTTP/1.1\r\nHost: h\r\n".to_vec(),
                (0..500)
                    .flat_map(|i| format!("X-{i}: v\r\n").into_bytes())
                    .collect(),
            ]
            .concat(),
            431,
        ),
        (
            "64 KiB header",
            [
                b"GET /old HTTP/1.1\r\nHost: h\r\nX-Big: ",
                &huge(65_536)[..],
                b"\r\n",
            ]
            .concat(),
            431,
        ),
        (
            "DELETE",
            b"DELETE /old HTTP/1.1\r\nHost: h\r\n".to_vec(),
            301,
        ),
        ("PATCH miss", b"PATCH /nope HTTP/1.1\r\n".to_vec(), 404),
        (
            "garbage method",
            b"G\x01T /old HTTP/1.1\r\nHost: h\r\n".to_vec(),
            400,
        ),
        (
            "bad header line",
            b"GET /old HTTP/1.1\r\nno colon here\r\n".to_vec(),
            400,
        ),
        (
            "chunked body",
            b"POST /old HTTP/1.1\r\nTransfer-Encoding: chunked\r\n".to_vec(),
            400,
        ),
        (
            "HTTP/2 preface",
            b"PRI * HTTP/2.0\r\n\r\nSM\r\n".to_vec(),
            400,
        ),
    ];
    let mut failures = Vec::new();
    for (name, head, expected) in &cases {
        match request(addr, head) {
            Ok(r) if r.status == *expected => {
                if r.status >= 400 && r.status != 404 {
                    assert_eq!(r.header("connection"), Some("close"), "{name}");
                }
            }
            Ok(r) => failures.push(format!("{name}: {} instead of {expected}", r.status)),
            Err(e) => failures.push(format!("{name}: {e}")),
        }
        let r = Client::connect(addr).get("/old");
        assert_eq!(r.status, 301, "serving goes on after {name}");
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    server.shutdown().unwrap();
}

#[test]
fn a_panicking_handler_answers_500_and_is_replaced() {
    let server = start(1);
    let mut c = Client::connect(server.local_addr());
    assert_eq!(c.get("/panic").status, 500);
    assert_eq!(c.get("/old").status, 301);
    assert_eq!(Client::connect(server.local_addr()).get("/old").status, 301);
    server.shutdown().unwrap();
}

#[test]
fn bind_fails_on_a_port_in_use_and_shutdown_frees_it() {
    let server = start(2);
    let addr = server.local_addr();
    let err = Server::bind(addr, 2, rules(&[]))
        .err()
        .expect("bind must fail");
    assert_eq!(err.kind(), io::ErrorKind::AddrInUse);
    server.shutdown().unwrap();
    assert!(
        TcpStream::connect(addr).is_err(),
        "nothing listens after shutdown"
    );
    // The port can be bound again.
    Server::bind(addr, 2, rules(&[]))
        .unwrap()
        .spawn()
        .unwrap()
        .shutdown()
        .unwrap();
}

/// Several clients hammer the server while the service is swapped 20 times
/// between two that answer different locations: every answer is one of the
/// two, none fails, and after the last swap only the last one's appears.
#[test]
fn swapping_under_load_loses_and_garbles_nothing() {
    let a = rules(&[("/r", "/from-a")]);
    let b = rules(&[("/r", "/from-b")]);
    let server = Server::bind("127.0.0.1:0".parse().unwrap(), 2, b.clone())
        .unwrap()
        .spawn()
        .unwrap();
    let addr = server.local_addr();
    let swapper = server.swapper();
    let swapped_last = Arc::new(AtomicBool::new(false));
    let stop = Arc::new(AtomicBool::new(false));
    let answered = Arc::new(AtomicU64::new(0));

    let clients: Vec<_> = (0..4)
        .map(|i| {
            let (swapped_last, stop, answered) =
                (swapped_last.clone(), stop.clone(), answered.clone());
            std::thread::spawn(move || -> Result<(u64, u64), String> {
                let mut c = Client::connect(addr);
                let (mut a_seen, mut b_seen) = (0, 0);
                let mut after_last = 0;
                while after_last < 50 {
                    // Sampled before sending: an answer to a request sent
                    // after the last swap returned must come from b.
                    let only_b = swapped_last.load(Ordering::Acquire);
                    if only_b || stop.load(Ordering::Acquire) {
                        after_last += 1;
                    }
                    // Client 0 opens a connection per request; the others
                    // pipeline 3 requests per write on one connection.
                    let batch = if i == 0 { 1 } else { 3 };
                    if i == 0 {
                        c = Client::connect(addr);
                    }
                    let request = b"GET /r HTTP/1.1\r\nHost: h\r\n\r\n".repeat(batch);
                    c.stream.write_all(&request).map_err(|e| e.to_string())?;
                    for _ in 0..batch {
                        let r = c.response(false).map_err(|e| e.to_string())?;
                        match (r.status, r.header("location")) {
                            (301, Some("/from-a")) if !only_b => a_seen += 1,
                            (301, Some("/from-b")) => b_seen += 1,
                            other => return Err(format!("unexpected answer {other:?}")),
                        }
                        answered.fetch_add(1, Ordering::Relaxed);
                    }
                }
                let _ = c.stream.shutdown(Shutdown::Both);
                Ok((a_seen, b_seen))
            })
        })
        .collect();

    let started = Instant::now();
    for i in 0..20 {
        std::thread::sleep(Duration::from_millis(60));
        // b is serving at the start; the last (20th) swap puts b back.
        let next = if i % 2 == 0 { a.clone() } else { b.clone() };
        swapper.swap(next);
    }
    swapped_last.store(true, Ordering::Release);
    stop.store(true, Ordering::Release);
    let mut totals = (0, 0);
    for client in clients {
        let (a_seen, b_seen) = client.join().unwrap().unwrap();
        totals = (totals.0 + a_seen, totals.1 + b_seen);
    }
    assert_eq!(swapper.generation(), 20);
    assert!(
        totals.0 > 0 && totals.1 > 0,
        "both services answered: {totals:?}"
    );
    eprintln!(
        "{} answers in {:?}, {} from a, {} from b",
        answered.load(Ordering::Relaxed),
        started.elapsed(),
        totals.0,
        totals.1
    );
    server.shutdown().unwrap();
}

/// Counts its live handlers, to see when a swapped-out service lets go.
struct Counted(Arc<AtomicU64>);

impl Handler for Counted {
    fn handle(&mut self, _: Option<&str>, _: &str) -> Reply {
        Reply::NotFound
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

struct CountedService(Arc<AtomicU64>);

impl Service for CountedService {
    fn handler(&self) -> Box<dyn Handler> {
        self.0.fetch_add(1, Ordering::AcqRel);
        Box::new(Counted(self.0.clone()))
    }
}

#[test]
fn idle_workers_drop_the_old_handlers_after_a_swap() {
    let live = Arc::new(AtomicU64::new(0));
    let service = Arc::new(CountedService(live.clone()));
    let server = Server::bind("127.0.0.1:0".parse().unwrap(), 2, service)
        .unwrap()
        .spawn()
        .unwrap();
    assert_eq!(Client::connect(server.local_addr()).get("/x").status, 404);
    let deadline = Instant::now() + Duration::from_secs(10);
    while live.load(Ordering::Acquire) != 2 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(live.load(Ordering::Acquire), 2, "one handler per worker");
    server.swapper().swap(rules(&[]));
    // No request comes: the workers still rebuild and drop the old ones.
    while live.load(Ordering::Acquire) != 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(live.load(Ordering::Acquire), 0);
    server.shutdown().unwrap();
}

/// `swap_if` swaps only while no other swap came in between: a service
/// made in the background never replaces a later reload's.
#[test]
fn swap_if_yields_to_a_swap_made_meanwhile() {
    let server = start(1);
    let swapper = server.swapper();
    let seen = swapper.generation();
    swapper.swap(rules(&[("/old", "/reloaded")]));
    assert!(!swapper.swap_if(seen, rules(&[("/old", "/stale")])));
    let got = Client::connect(server.local_addr()).get("/old");
    assert_eq!(got.header("location"), Some("/reloaded"));
    let now = swapper.generation();
    assert!(swapper.swap_if(now, rules(&[("/old", "/fresh")])));
    let got = Client::connect(server.local_addr()).get("/old");
    assert_eq!(got.header("location"), Some("/fresh"));
    assert_eq!(swapper.generation(), now + 1);
    server.shutdown().unwrap();
}
