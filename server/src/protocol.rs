//! HTTP/1.1 request parsing and response writing, without I/O.
//!
//! [`answer`] takes the bytes a connection has buffered, answers every
//! complete request at their start into an output buffer, and says how many
//! bytes it consumed and whether the connection goes on. The worker owns the
//! sockets and buffers; everything here is synchronous and allocation-free
//! apart from what the handler returns (and the rare absolute-form target
//! whose path is empty, which gets a `/` in front).

use std::borrow::Cow;
use std::mem::MaybeUninit;

use crate::Reply;

/// Longest request-target answered; a longer one gets 414.
pub const MAX_TARGET: usize = 8 * 1024;
/// Longest request line (method, target, version and line end) read before
/// answering 414 when no line end has come.
pub const MAX_REQUEST_LINE: usize = MAX_TARGET + 64;
/// Most header fields in one request; more get 431.
pub const MAX_HEADERS: usize = 100;
/// Largest header section (the bytes after the request line, up to and
/// including the blank line); a larger one gets 431.
pub const MAX_HEADER_BYTES: usize = 16 * 1024;
/// Largest buffered unanswered request: [`answer`] fails a request before
/// its bytes reach this, so a connection's read buffer never grows past it.
pub const MAX_BUFFERED: usize = MAX_REQUEST_LINE + MAX_HEADER_BYTES + 1024;
/// A request body up to this size (`Content-Length`) is read and skipped and
/// the connection kept; a longer one is answered and the connection closed
/// (after a bounded lingering drain).
pub const MAX_SKIPPED_BODY: u64 = 1024 * 1024;

const NOT_FOUND_BODY: &[u8] = b"no redirect for this path\n";

/// What the connection does after the bytes written so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// Read more (an incomplete request is buffered, or none).
    Read,
    /// Write the output, then close the connection (lingering: read and
    /// drop what the client still sends for a moment, so that the answer is
    /// not lost to a reset).
    Close,
}

/// How the answer to one request ends the connection, or not.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Persist {
    /// HTTP/1.1 keep-alive: no header needed.
    Keep,
    /// HTTP/1.0 with `Connection: keep-alive`: say `connection: keep-alive`.
    Keep10,
    /// Say `connection: close` and close after this answer.
    Close,
}

/// What the route callback hands back: the handler's reply, or `None` when
/// the handler failed (a bug: the answer is 500).
pub type Routed = Option<Reply>;

/// Answers every complete request at the start of `buf` into `out`.
///
/// `skip` is the number of request-body bytes still to drop before the next
/// request (carried between calls). Returns how many bytes of `buf` are
/// consumed and what the connection does next.
pub fn answer(
    buf: &[u8],
    skip: &mut u64,
    out: &mut Vec<u8>,
    route: &mut dyn FnMut(Option<&str>, &str) -> Routed,
) -> (usize, Next) {
    let mut at = 0;
    loop {
        if *skip > 0 {
            let n = (*skip).min((buf.len() - at) as u64);
            *skip -= n;
            at += n as usize;
            if *skip > 0 {
                return (at, Next::Read);
            }
        }
        if at == buf.len() {
            return (at, Next::Read);
        }
        match one(&buf[at..], out, route) {
            Step::Partial => return (at, Next::Read),
            Step::Fail(status) => {
                write_error(out, status);
                return (buf.len(), Next::Close);
            }
            Step::Answered {
                consumed,
                body,
                close,
            } => {
                at += consumed;
                *skip = body;
                if close {
                    return (buf.len(), Next::Close);
                }
            }
        }
    }
}

enum Step {
    /// No complete request yet (and within limits).
    Partial,
    /// Answer this status (400, 414, 431) with `connection: close` and close.
    Fail(u16),
    /// Answered one request of `consumed` bytes (head only), followed by a
    /// body of `body` bytes to skip.
    Answered {
        consumed: usize,
        body: u64,
        close: bool,
    },
}

/// Where the request line ends (the index of its `\n`), after the empty
/// lines that may come before it.
fn request_line_end(buf: &[u8]) -> Option<usize> {
    let start = buf
        .iter()
        .position(|&b| b != b'\r' && b != b'\n')
        .unwrap_or(buf.len());
    buf[start..]
        .iter()
        .position(|&b| b == b'\n')
        .map(|i| start + i)
}

fn one(buf: &[u8], out: &mut Vec<u8>, route: &mut dyn FnMut(Option<&str>, &str) -> Routed) -> Step {
    let mut headers = [const { MaybeUninit::<httparse::Header<'_>>::uninit() }; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut []);
    let head_len = match req.parse_with_uninit_headers(buf, &mut headers) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => {
            return match request_line_end(buf) {
                None if buf.len() >= MAX_REQUEST_LINE => Step::Fail(414),
                Some(line) if line >= MAX_REQUEST_LINE => Step::Fail(414),
                Some(line) if buf.len() - (line + 1) > MAX_HEADER_BYTES => Step::Fail(431),
                _ => Step::Partial,
            };
        }
        Err(httparse::Error::TooManyHeaders) => return Step::Fail(431),
        Err(_) => return Step::Fail(400),
    };
    let (Some(method), Some(path), Some(version)) = (req.method, req.path, req.version) else {
        return Step::Fail(400);
    };
    if path.len() > MAX_TARGET {
        return Step::Fail(414);
    }
    let line = request_line_end(buf).unwrap_or(0);
    if head_len - (line + 1) > MAX_HEADER_BYTES {
        return Step::Fail(431);
    }

    let mut host: Option<&[u8]> = None;
    let mut close = false;
    let mut keep_alive = false;
    let mut length: Option<u64> = None;
    for h in req.headers.iter() {
        let name = h.name.as_bytes();
        if name.eq_ignore_ascii_case(b"host") {
            if host.is_some() {
                return Step::Fail(400);
            }
            host = Some(h.value);
        } else if name.eq_ignore_ascii_case(b"connection") {
            for token in h.value.split(|&b| b == b',') {
                let token = token.trim_ascii();
                if token.eq_ignore_ascii_case(b"close") {
                    close = true;
                } else if token.eq_ignore_ascii_case(b"keep-alive") {
                    keep_alive = true;
                }
            }
        } else if name.eq_ignore_ascii_case(b"content-length") {
            let Some(n) = parse_length(h.value) else {
                return Step::Fail(400);
            };
            if length.is_some_and(|l| l != n) {
                return Step::Fail(400);
            }
            length = Some(n);
        } else if name.eq_ignore_ascii_case(b"transfer-encoding") {
            // A redirect never needs the body; rather than decode chunks
            // (and risk disagreeing with a proxy about where a request ends)
            // any transfer-coded request is refused.
            return Step::Fail(400);
        }
    }
    let body = length.unwrap_or(0);
    let persist = match (version, close, keep_alive) {
        (_, true, _) => Persist::Close,
        (1, false, _) => Persist::Keep,
        (_, false, true) => Persist::Keep10,
        (_, false, false) => Persist::Close,
    };
    // A body too large to skip cheaply: answer, then close.
    let persist = if body > MAX_SKIPPED_BODY {
        Persist::Close
    } else {
        persist
    };

    let host = match host.map(std::str::from_utf8) {
        None => None,
        Some(Ok("")) => None,
        Some(Ok(h)) => Some(h),
        Some(Err(_)) => return Step::Fail(400),
    };
    let head = method == "HEAD";
    let routed = if path.starts_with('/') {
        route(host, path)
    } else if path == "*" {
        // `OPTIONS *` asks about the server, not a resource: no rule can
        // match it, so it is answered 404 without asking the handler.
        if method != "OPTIONS" {
            return Step::Fail(400);
        }
        Some(Reply::NotFound)
    } else {
        let Some((authority, rest)) = split_absolute(path) else {
            return Step::Fail(400);
        };
        let target: Cow<'_, str> = if rest.starts_with('/') {
            Cow::Borrowed(rest)
        } else {
            Cow::Owned(format!("/{rest}"))
        };
        route(Some(authority), &target)
    };
    write_reply(out, routed.as_ref(), head, persist);
    Step::Answered {
        consumed: head_len,
        body,
        close: persist == Persist::Close,
    }
}

/// `Content-Length`: ASCII digits only (no sign, no spaces inside, no list).
fn parse_length(value: &[u8]) -> Option<u64> {
    let value = value.trim_ascii();
    if value.is_empty() || value.len() > 19 || !value.iter().all(u8::is_ascii_digit) {
        return None;
    }
    value.iter().try_fold(0u64, |n, &d| {
        n.checked_mul(10)?.checked_add(u64::from(d - b'0'))
    })
}

/// Splits an absolute-form target `http://authority/path?query` into the
/// authority and the rest (which may be empty or start with `?`). `None`
/// for another scheme, an empty authority, or one with userinfo (RFC 9110
/// deprecates it; a recipient should treat it as an error).
fn split_absolute(target: &str) -> Option<(&str, &str)> {
    let rest = strip_prefix_ignore_case(target, "http://")
        .or_else(|| strip_prefix_ignore_case(target, "https://"))?;
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, rest) = rest.split_at(end);
    if authority.is_empty() || authority.contains('@') {
        return None;
    }
    Some((authority, rest))
}

fn strip_prefix_ignore_case<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &s[prefix.len()..])
}

fn status_line(status: u16) -> Option<&'static [u8]> {
    Some(match status {
        301 => b"HTTP/1.1 301 Moved Permanently\r\n",
        302 => b"HTTP/1.1 302 Found\r\n",
        303 => b"HTTP/1.1 303 See Other\r\n",
        307 => b"HTTP/1.1 307 Temporary Redirect\r\n",
        308 => b"HTTP/1.1 308 Permanent Redirect\r\n",
        _ => return None,
    })
}

fn end_head(out: &mut Vec<u8>, persist: Persist) {
    out.extend_from_slice(match persist {
        Persist::Keep => b"\r\n",
        Persist::Keep10 => b"connection: keep-alive\r\n\r\n",
        Persist::Close => b"connection: close\r\n\r\n",
    });
}

fn write_reply(out: &mut Vec<u8>, reply: Option<&Reply>, head: bool, persist: Persist) {
    match reply {
        Some(Reply::Redirect { status, location }) => {
            match status_line(*status) {
                // A control byte in a location would split the header: the
                // handler's bug, answered 500 rather than sent on.
                Some(line) if !location.bytes().any(|b| b < 0x20 || b == 0x7f) => {
                    out.extend_from_slice(line);
                    out.extend_from_slice(b"location: ");
                    out.extend_from_slice(location.as_bytes());
                    out.extend_from_slice(b"\r\ncontent-length: 0\r\n");
                    end_head(out, persist);
                }
                _ => {
                    eprintln!(
                        "redirects-server: handler returned an unsendable redirect \
                         (status {status}, location {location:?}); answering 500"
                    );
                    write_500(out, persist);
                }
            }
        }
        Some(Reply::NotFound) => {
            out.extend_from_slice(
                b"HTTP/1.1 404 Not Found\r\n\
                  content-type: text/plain; charset=utf-8\r\n\
                  content-length: 26\r\n",
            );
            end_head(out, persist);
            if !head {
                out.extend_from_slice(NOT_FOUND_BODY);
            }
        }
        None => write_500(out, persist),
    }
}

fn write_500(out: &mut Vec<u8>, persist: Persist) {
    out.extend_from_slice(b"HTTP/1.1 500 Internal Server Error\r\ncontent-length: 0\r\n");
    end_head(out, persist);
}

fn write_error(out: &mut Vec<u8>, status: u16) {
    out.extend_from_slice(match status {
        414 => b"HTTP/1.1 414 URI Too Long\r\n",
        431 => b"HTTP/1.1 431 Request Header Fields Too Large\r\n",
        _ => b"HTTP/1.1 400 Bad Request\r\n",
    });
    out.extend_from_slice(b"content-length: 0\r\nconnection: close\r\n\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Answers `input` in one call with a handler that redirects `/old` (any
    /// host) and `/h` when the host is `x.example` (port stripped), and
    /// records what it was asked.
    fn run(input: &[u8]) -> (String, usize, Next, Vec<(Option<String>, String)>) {
        let mut seen = Vec::new();
        let mut out = Vec::new();
        let mut skip = 0;
        let (used, next) = answer(input, &mut skip, &mut out, &mut |host, target| {
            seen.push((host.map(str::to_owned), target.to_owned()));
            let bare = host.map(|h| h.rsplit_once(':').map_or(h, |(h, _)| h));
            Some(match (bare, target) {
                (_, "/old") => Reply::Redirect {
                    status: 301,
                    location: "/new".into(),
                },
                (Some("x.example"), "/h") => Reply::Redirect {
                    status: 308,
                    location: "https://x.example/h".into(),
                },
                (_, "/bad") => Reply::Redirect {
                    status: 301,
                    location: "/a\r\nset-cookie: x".into(),
                },
                _ => Reply::NotFound,
            })
        });
        (String::from_utf8_lossy(&out).into_owned(), used, next, seen)
    }

    fn status_of(input: &[u8]) -> u16 {
        let (out, _, _, _) = run(input);
        out.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0)
    }

    #[test]
    fn redirect_and_404_bytes() {
        let (out, used, next, seen) = run(b"GET /old HTTP/1.1\r\nHost: a\r\n\r\n");
        assert_eq!(
            out,
            "HTTP/1.1 301 Moved Permanently\r\nlocation: /new\r\ncontent-length: 0\r\n\r\n"
        );
        assert_eq!((used, next), (30, Next::Read));
        assert_eq!(seen, [(Some("a".into()), "/old".into())]);
        let (out, _, _, _) = run(b"GET /nope?q=1 HTTP/1.1\r\n\r\n");
        assert_eq!(
            out,
            "HTTP/1.1 404 Not Found\r\ncontent-type: text/plain; charset=utf-8\r\n\
             content-length: 26\r\n\r\nno redirect for this path\n"
        );
    }

    #[test]
    fn pipelined_and_partial() {
        let input = b"GET /old HTTP/1.1\r\n\r\nHEAD /x HTTP/1.1\r\n\r\nGET /old HTTP/1.1\r\nHo";
        let (out, used, next, seen) = run(input);
        assert_eq!(out.matches("HTTP/1.1 ").count(), 2);
        assert!(!out.contains("no redirect"), "HEAD has no body: {out}");
        assert_eq!(used, input.len() - b"GET /old HTTP/1.1\r\nHo".len());
        assert_eq!(next, Next::Read);
        assert_eq!(seen.len(), 2);
    }

    #[test]
    fn connection_handling() {
        let (out, _, next, _) = run(b"GET /old HTTP/1.0\r\n\r\n");
        assert!(out.ends_with("connection: close\r\n\r\n"));
        assert_eq!(next, Next::Close);
        let (out, _, next, _) = run(b"GET /old HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n");
        assert!(out.ends_with("connection: keep-alive\r\n\r\n"));
        assert_eq!(next, Next::Read);
        let (_, _, next, seen) =
            run(b"GET /old HTTP/1.1\r\nConnection: foo, close\r\n\r\nGET /old HTTP/1.1\r\n\r\n");
        assert_eq!(next, Next::Close);
        assert_eq!(seen.len(), 1, "nothing after a close is answered");
    }

    #[test]
    fn hosts_and_absolute_form() {
        let (_, _, _, seen) = run(b"GET /h HTTP/1.1\r\nHost: x.example:8080\r\n\r\n");
        assert_eq!(seen, [(Some("x.example:8080".into()), "/h".into())]);
        let (out, _, _, seen) = run(b"GET http://x.example/h HTTP/1.1\r\nHost: other\r\n\r\n");
        assert!(out.starts_with("HTTP/1.1 308"), "{out}");
        assert_eq!(seen, [(Some("x.example".into()), "/h".into())]);
        let (_, _, _, seen) = run(b"GET HTTP://x.example?q=1 HTTP/1.1\r\n\r\n");
        assert_eq!(seen, [(Some("x.example".into()), "/?q=1".into())]);
        let (_, _, _, seen) = run(b"GET /h HTTP/1.1\r\nHost:\r\n\r\n");
        assert_eq!(seen, [(None, "/h".into())]);
        assert_eq!(status_of(b"GET http://u@x.example/h HTTP/1.1\r\n\r\n"), 400);
        assert_eq!(status_of(b"GET ftp://x.example/h HTTP/1.1\r\n\r\n"), 400);
        assert_eq!(status_of(b"CONNECT x.example:443 HTTP/1.1\r\n\r\n"), 400);
        assert_eq!(
            status_of(b"GET /h HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"),
            400
        );
    }

    #[test]
    fn methods_and_asterisk() {
        for m in ["POST", "DELETE", "PATCH", "PUT", "PROPFIND"] {
            assert_eq!(
                status_of(format!("{m} /old HTTP/1.1\r\n\r\n").as_bytes()),
                301
            );
        }
        assert_eq!(status_of(b"OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n"), 404);
        assert_eq!(status_of(b"GET * HTTP/1.1\r\n\r\n"), 400);
        assert_eq!(status_of(b"G\x01T /old HTTP/1.1\r\n\r\n"), 400);
        assert_eq!(status_of(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), 400);
    }

    #[test]
    fn hostile_targets_and_headers() {
        assert_eq!(status_of(b"GET /\xff\xfe HTTP/1.1\r\n\r\n"), 400);
        assert_eq!(status_of(b"GET /old\0x HTTP/1.1\r\n\r\n"), 400);
        assert_eq!(status_of(b"GET /old HTTP/1.1\r\nX: a\0b\r\n\r\n"), 400);
        assert_eq!(status_of(b"GET /h HTTP/1.1\r\nHost: \xff\r\n\r\n"), 400);
        let long = |n| [b"GET /", &vec![b'a'; n][..], b" HTTP/1.1\r\n\r\n"].concat();
        assert_eq!(status_of(&long(MAX_TARGET - 1)), 404);
        assert_eq!(status_of(&long(MAX_TARGET)), 414);
        // A long target whose line has not ended yet.
        assert_eq!(status_of(&long(MAX_REQUEST_LINE)[..MAX_REQUEST_LINE]), 414);
        let (out, _, next, _) = run(&long(MAX_TARGET)[..MAX_TARGET]);
        assert_eq!((out.as_str(), next), ("", Next::Read));
        let many: Vec<u8> = [
            b"GET /old HTTP/1.1\r\n".to_vec(),
            (0..=MAX_HEADERS)
                .flat_map(|i| format!("X-{i}: v\r\n").into_bytes())
                .collect(),
            b"\r\n".to_vec(),
        ]
        .concat();
        assert_eq!(status_of(&many), 431);
        let big = |n| [b"GET /old HTTP/1.1\r\nX: ", &vec![b'a'; n][..], b"\r\n\r\n"].concat();
        assert_eq!(status_of(&big(MAX_HEADER_BYTES - 16)), 301);
        assert_eq!(status_of(&big(MAX_HEADER_BYTES)), 431);
        // Still incomplete, already too large.
        let partial = big(MAX_HEADER_BYTES + 10);
        assert_eq!(status_of(&partial[..partial.len() - 4]), 431);
    }

    #[test]
    fn bodies() {
        let input =
            b"POST /old HTTP/1.1\r\nContent-Length: 5\r\n\r\nhelloGET /old HTTP/1.1\r\n\r\n";
        let (out, used, next, _) = run(input);
        assert_eq!(out.matches("301").count(), 2);
        assert_eq!((used, next), (input.len(), Next::Read));
        // A body split across reads.
        let mut skip = 0;
        let mut out = Vec::new();
        let mut route = |_: Option<&str>, _: &str| Some(Reply::NotFound);
        let (used, _) = answer(
            b"POST /x HTTP/1.1\r\nContent-Length: 10\r\n\r\nhel",
            &mut skip,
            &mut out,
            &mut route,
        );
        assert_eq!((used, skip), (43, 7));
        let (used, _) = answer(b"lo world", &mut skip, &mut out, &mut route);
        assert_eq!((used, skip), (7, 0));
        assert_eq!(
            status_of(b"POST /x HTTP/1.1\r\nContent-Length: -1\r\n\r\n"),
            400
        );
        assert_eq!(
            status_of(b"POST /x HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n"),
            400
        );
        assert_eq!(
            status_of(b"POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
            400
        );
        let (out, _, next, _) = run(b"POST /old HTTP/1.1\r\nContent-Length: 99999999\r\n\r\n");
        assert!(out.starts_with("HTTP/1.1 301") && out.contains("connection: close"));
        assert_eq!(next, Next::Close);
    }

    #[test]
    fn unsendable_replies_are_500() {
        assert_eq!(status_of(b"GET /bad HTTP/1.1\r\n\r\n"), 500);
        let mut out = Vec::new();
        answer(b"GET / HTTP/1.1\r\n\r\n", &mut 0, &mut out, &mut |_, _| {
            Some(Reply::Redirect {
                status: 200,
                location: "/".into(),
            })
        });
        assert!(out.starts_with(b"HTTP/1.1 500 "));
    }

    #[test]
    fn leading_empty_lines_are_ignored() {
        assert_eq!(status_of(b"\r\n\r\nGET /old HTTP/1.1\r\n\r\n"), 301);
    }
}
