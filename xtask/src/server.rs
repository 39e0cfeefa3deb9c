//! Running a server on 127.0.0.1 (`wasmtime serve` or `redirects serve`), and
//! a minimal HTTP/1.1 client that sends request targets byte for byte (so
//! tests can send what real clients would never build).

use crate::tools::Tools;
use anyhow::{bail, Context, Result};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A server process; killed when dropped.
pub struct Server {
    child: Child,
    /// The address it listens on.
    pub addr: SocketAddr,
    /// Where its stderr goes (`redirects serve`; `None`: inherited).
    log: Option<std::path::PathBuf>,
}

impl Server {
    /// Starts `wasmtime serve` for `component` on a free loopback port, as
    /// the embedded default (`./x serve`) runs it, and waits until it
    /// answers a request (`GET /`).
    pub fn start(tools: &Tools, component: &Path) -> Result<Server> {
        Server::start_with(tools, &crate::EMBEDDED_SERVE_OPTIONS, component)
    }

    /// Like [`Server::start`], with these `wasmtime serve` options instead.
    pub fn start_with(tools: &Tools, options: &[&str], component: &Path) -> Result<Server> {
        let addr = free_port()?;
        let mut cmd = Command::new(&tools.wasmtime);
        cmd.args(crate::serve_args(&addr.to_string()))
            .args(options)
            .arg(component);
        Server::spawn(cmd, addr, "wasmtime serve", None)
    }

    /// `redirects serve SOURCE --addr A` with these options (the product's
    /// own server; see [`redirects_binary`]).
    pub fn start_redirects(options: &[&str], source: &Path) -> Result<Server> {
        let addr = free_port()?;
        let mut cmd = Command::new(redirects_binary()?);
        cmd.arg("serve")
            .arg(source)
            .arg("--addr")
            .arg(addr.to_string())
            .args(options);
        let dir = crate::target_dir().join("server-logs");
        std::fs::create_dir_all(&dir)?;
        let log = dir.join(format!("redirects-{}.log", addr.port()));
        Server::spawn(cmd, addr, "redirects serve", Some(log))
    }

    fn spawn(
        mut cmd: Command,
        addr: SocketAddr,
        what: &str,
        log: Option<std::path::PathBuf>,
    ) -> Result<Server> {
        let stderr = match &log {
            Some(path) => Stdio::from(std::fs::File::create(path)?),
            None => Stdio::inherit(),
        };
        let child = cmd
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .with_context(|| format!("starting {what}"))?;
        let mut server = Server { child, addr, log };
        let deadline = Instant::now() + Duration::from_secs(120);
        // Ready means one whole HTTP answer, not just a port that accepts
        // connections: a test's first request then meets a server that has
        // answered before. Anything but "refused" (nothing listens yet) is
        // said on stderr, so that a server which resets or drops its first
        // connections shows in the test log instead of passing unseen.
        loop {
            let error = match server.get("/") {
                Ok(_) => return Ok(server),
                Err(e) => e,
            };
            let refused = error
                .downcast_ref::<std::io::Error>()
                .is_some_and(|e| e.kind() == std::io::ErrorKind::ConnectionRefused);
            if let Some(status) = server.child.try_wait()? {
                bail!("{what} exited before answering: {status} (last try: {error:#})");
            }
            if !refused {
                eprintln!("{what} on {addr}: no answer to the readiness request yet: {error:#}");
            }
            if Instant::now() > deadline {
                bail!("{what} did not answer on {addr} within 120 s: {error:#}");
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// What the server has written to stderr so far (`redirects serve`).
    pub fn log(&self) -> String {
        self.log
            .as_ref()
            .and_then(|p| std::fs::read_to_string(p).ok())
            .unwrap_or_default()
    }

    /// Waits up to 60 s until [`Server::log`] holds `line`.
    pub fn wait_for_log(&self, line: &str) -> Result<()> {
        match &self.log {
            Some(log) => wait_for_line(log, line),
            None => bail!("this server's stderr is not kept"),
        }
    }

    /// The server's resident memory in KiB (Linux `/proc`), if readable.
    pub fn rss_kib(&self) -> Option<u64> {
        rss_kib(self.child.id())
    }

    /// Sends a signal to the server (`kill -SIG PID`).
    pub fn signal(&self, signal: &str) -> Result<()> {
        crate::tools::run(
            Command::new("kill")
                .arg(format!("-{signal}"))
                .arg(self.child.id().to_string()),
        )
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Whether the server process is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// `GET target` with the server's address as `Host`.
    pub fn get(&self, target: &str) -> Result<Response> {
        self.get_host(&self.addr.to_string(), target)
    }

    /// `GET target` with the given `Host` header.
    pub fn get_host(&self, host: &str, target: &str) -> Result<Response> {
        request(
            self.addr,
            format!("GET {target} HTTP/1.1\r\nHost: {host}\r\n").as_bytes(),
        )
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            // A failed test shows what the server said.
            eprint!("{}", self.log());
        }
        if let Some(log) = &self.log {
            let _ = std::fs::remove_file(log);
        }
    }
}

/// What `redirects serve --engine native` logs once its workers' keys are
/// hashed (the product's own constant).
pub use redirects::serve::native::KEYS_HASHED;

/// Waits up to 60 s until the file `log` holds `line`.
pub fn wait_for_line(log: &Path, line: &str) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        if text.contains(line) {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("no `{line}` in {} after 60 s:\n{text}", log.display());
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// A process's resident memory in KiB (Linux `/proc`), if readable.
pub fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// The `redirects` binary of this workspace (`target/release/redirects`),
/// which `./x test` builds before the tests.
pub fn redirects_binary() -> Result<std::path::PathBuf> {
    let bin = crate::target_dir().join("release/redirects");
    if !bin.exists() {
        bail!(
            "{} is missing: run `cargo build --release -p redirects-cli` (./x test does)",
            bin.display()
        );
    }
    Ok(bin)
}

/// A free port on 127.0.0.1.
pub fn free_port() -> Result<SocketAddr> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?)
}

/// A parsed HTTP response.
#[derive(Debug, Clone)]
pub struct Response {
    /// The status code.
    pub status: u16,
    /// Header names (lower-cased) and raw values, in order.
    pub headers: Vec<(String, Vec<u8>)>,
    /// The body.
    pub body: Vec<u8>,
}

impl Response {
    /// The first value of a header, as text.
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| String::from_utf8_lossy(v).into_owned())
    }
}

/// Sends one request: `head` is the request line and headers, each ending in
/// CRLF, without the blank line; `Connection: close` is added and the
/// response is read to the end.
pub fn request(addr: SocketAddr, head: &[u8]) -> Result<Response> {
    let mut stream = TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    stream.write_all(head)?;
    stream.write_all(b"Connection: close\r\n\r\n")?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    parse_response(&raw)
}

fn parse_response(raw: &[u8]) -> Result<Response> {
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .context("response has no end of headers")?;
    let head = std::str::from_utf8(&raw[..end]).context("response head is not UTF-8")?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .with_context(|| format!("bad status line {status_line:?}"))?;
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().as_bytes().to_vec()))
        .collect();
    let mut response = Response {
        status,
        headers,
        body: raw[end + 4..].to_vec(),
    };
    if response
        .header("transfer-encoding")
        .is_some_and(|te| te.eq_ignore_ascii_case("chunked"))
    {
        response.body = dechunk(&response.body)?;
    }
    Ok(response)
}

fn dechunk(mut raw: &[u8]) -> Result<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let eol = raw
            .windows(2)
            .position(|w| w == b"\r\n")
            .context("chunk size line has no CRLF")?;
        let size_text = std::str::from_utf8(&raw[..eol])?;
        let size_text = size_text.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size_text, 16).context("bad chunk size")?;
        raw = &raw[eol + 2..];
        if size == 0 {
            return Ok(body);
        }
        if raw.len() < size + 2 {
            bail!("chunk truncated");
        }
        body.extend_from_slice(&raw[..size]);
        raw = &raw[size + 2..];
    }
}
