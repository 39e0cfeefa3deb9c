//! Targets as templates: most redirect targets repeat part of their source
//! (`/blog/2006/03/modern-edge` → `/articles/modern-edge`), so a target is
//! stored as `prefix + source[start..start+len] + suffix` and only the
//! template (`prefix`, `suffix`, status, flags) goes into the table,
//! shared by every rule that has it. The source is the rule's key without
//! its kind byte (host, normalised path, and `NUL query` for a rule naming
//! a query: `/index.php?id=7` → `/page/7` shares the `7`), which is exactly
//! the request's when an exact rule matches, so the lookup rebuilds the
//! target from the request without storing it. The slice is cut from the
//! part after the host; a target that names the key's host holds [`HOST`]
//! in its place (`https://old.example/a` → `https://www.old.example/b`
//! is `https://www.` HOST `/b` for every host), so neither the template
//! nor the slice depends on the host's length. Targets that share nothing
//! with the path (and every prefix rule's target) are stored whole, with
//! an empty slice.
//!
//! A template record is `status flags prefix 0xFF suffix`: `status` is the
//! code minus 300 and `flags` has its top bit set, so no record holds a NUL
//! (a key separator elsewhere); 0xFF and 0xFE never occur in UTF-8 text.

use crate::{Flags, Status};

/// Separates the prefix from the suffix in a record.
const SEP: u8 = 0xFF;
/// In a record's prefix or suffix: the key's host.
const HOST: u8 = 0xFE;
/// The shortest host worth a [`HOST`] (shorter ones are stored as text).
const MIN_HOST: usize = 4;
/// The shortest slice worth sharing.
const MIN_SHARED: usize = 4;
/// Largest slice start and back.
pub(crate) const MAX_SLICE: usize = (1 << 13) - 1;

/// Where a target takes bytes of its key's path (and query) from: all of
/// it but the first `start` and the last `back` bytes. Counting the end
/// from the back makes the value the same for every rule of one pattern
/// (`/blog/YYYY/MM/slug` → `/articles/slug` is always "from 13 to the
/// end"), so the value is one shared pattern of the value code instead of one
/// per key. A target stored whole has `whole` set.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Slice {
    pub(crate) start: usize,
    pub(crate) back: usize,
    pub(crate) whole: bool,
}

/// The length of the host at the start of `source` (a key without its
/// kind byte): up to the path's first `/` (or the query's NUL).
pub(crate) fn host_len(source: &[u8]) -> usize {
    source
        .iter()
        .position(|&b| b == b'/' || b == 0)
        .unwrap_or(source.len())
}

/// `target` with its first occurrence of `host` that does not start inside
/// a word replaced by [`HOST`] (as is when there is none, or the host is
/// shorter than [`MIN_HOST`]).
fn mark_host(host: &[u8], target: &[u8]) -> Vec<u8> {
    let found = (host.len() >= MIN_HOST)
        .then(|| {
            target
                .windows(host.len())
                .enumerate()
                .position(|(j, w)| w == host && (j == 0 || !target[j - 1].is_ascii_alphanumeric()))
        })
        .flatten();
    match found {
        Some(j) => [&target[..j], &[HOST], &target[j + host.len()..]].concat(),
        None => target.to_vec(),
    }
}

/// Splits `target` into a template record and the slice of `source` (a
/// key without its kind byte) it repeats: the key's host becomes [`HOST`],
/// then the slice is the longest run of the target, starting at a word
/// boundary, that also occurs in the key's path and query (at least
/// [`MIN_SHARED`] bytes).
pub(crate) fn split(source: &[u8], target: &str, status: Status, flags: Flags) -> (Vec<u8>, Slice) {
    let (host, path) = source.split_at(host_len(source));
    let t = mark_host(host, target.as_bytes());
    let (best_t, best_i, best_len) = longest_shared_run(path, &t);
    let back = path.len() - best_i - best_len;
    if best_len < MIN_SHARED || best_i > MAX_SLICE || back > MAX_SLICE {
        let whole = Slice {
            whole: true,
            ..Slice::default()
        };
        return (record(status, flags, &t, b""), whole);
    }
    let slice = Slice {
        start: best_i,
        back,
        whole: false,
    };
    (
        record(status, flags, &t[..best_t], &t[best_t + best_len..]),
        slice,
    )
}

/// The longest run of `t`, starting at a word boundary, that also occurs
/// in `path`: `(start in t, start in path, length)`, the first such run
/// (by start in `t`, then in `path`) when several are as long; `(t.len(),
/// 0, 0)` when none. For each start in `t`, only the places in `path` that
/// hold the same byte are tried (a list per byte value).
fn longest_shared_run(path: &[u8], t: &[u8]) -> (usize, usize, usize) {
    if path.len() >= usize::from(u8::MAX) {
        return longest_shared_run_naive(path, t);
    }
    const NONE: u8 = u8::MAX;
    // `head[b]`: the first place of byte `b` in `path`; `next[i]`: the
    // next place of `path[i]` after `i`.
    let mut head = [NONE; 256];
    let mut next = [NONE; 256];
    for (i, &b) in path.iter().enumerate().rev() {
        next[i] = head[usize::from(b)];
        head[usize::from(b)] = i as u8;
    }
    let (mut best_t, mut best_i, mut best_len) = (t.len(), 0, 0);
    for j in 0..t.len() {
        if t.len() - j <= best_len {
            break;
        }
        if j > 0 && t[j - 1].is_ascii_alphanumeric() && t[j].is_ascii_alphanumeric() {
            continue;
        }
        let mut at = head[usize::from(t[j])];
        while at != NONE {
            let i = usize::from(at);
            if path.len() - i <= best_len {
                break;
            }
            // A longer run must also agree at `best_len`.
            if t.get(j + best_len) == Some(&path[i + best_len]) {
                let n = path[i..]
                    .iter()
                    .zip(&t[j..])
                    .take_while(|(a, b)| a == b)
                    .count();
                if n > best_len {
                    (best_t, best_i, best_len) = (j, i, n);
                }
            }
            at = next[i];
        }
    }
    (best_t, best_i, best_len)
}

/// [`longest_shared_run`] by trying every pair of places (for long paths).
fn longest_shared_run_naive(path: &[u8], t: &[u8]) -> (usize, usize, usize) {
    let (mut best_t, mut best_i, mut best_len) = (t.len(), 0, 0);
    for j in 0..t.len() {
        let inside_word = j > 0 && t[j - 1].is_ascii_alphanumeric() && t[j].is_ascii_alphanumeric();
        if inside_word || t.len() - j <= best_len {
            continue;
        }
        for i in 0..path.len() {
            if path[i] != t[j] || path.len() - i <= best_len {
                continue;
            }
            let n = path[i..]
                .iter()
                .zip(&t[j..])
                .take_while(|(a, b)| a == b)
                .count();
            if n > best_len {
                (best_t, best_i, best_len) = (j, i, n);
            }
        }
    }
    (best_t, best_i, best_len)
}

/// A template record.
pub(crate) fn record(status: Status, flags: Flags, prefix: &[u8], suffix: &[u8]) -> Vec<u8> {
    let mut r = Vec::with_capacity(3 + prefix.len() + suffix.len());
    r.push((status.code() - 300) as u8);
    r.push(0x80 | flags.to_bits() as u8);
    r.extend_from_slice(prefix);
    r.push(SEP);
    r.extend_from_slice(suffix);
    r
}

/// A parsed template record (it keeps the record's bytes, owned or
/// borrowed, so a lookup decodes and parses a template once).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Template<R = Vec<u8>> {
    pub(crate) status: Status,
    pub(crate) flags: Flags,
    record: R,
    /// Index of [`SEP`] in `record`.
    sep: usize,
}

impl<R: AsRef<[u8]>> Template<R> {
    /// Parses a record; `None` if it is malformed.
    pub(crate) fn parse(record: R) -> Option<Template<R>> {
        let [status, flags, rest @ ..] = record.as_ref() else {
            return None;
        };
        let status = Status::from_code(300 + u16::from(*status))?;
        let bits = u64::from(flags & 0x7f);
        let parsed = Flags::from_bits(bits);
        if flags & 0x80 == 0 || parsed.to_bits() != bits {
            return None;
        }
        let sep = 2 + rest.iter().position(|&b| b == SEP)?;
        Some(Template {
            status,
            flags: parsed,
            record,
            sep,
        })
    }

    /// The part of the target before the slice.
    pub(crate) fn prefix(&self) -> &[u8] {
        &self.record.as_ref()[2..self.sep]
    }

    /// The part of the target after the slice.
    pub(crate) fn suffix(&self) -> &[u8] {
        &self.record.as_ref()[self.sep + 1..]
    }

    /// The target for a request whose key without its kind byte is
    /// `source`; `None` if the slice is outside its path or the result is
    /// not UTF-8.
    pub(crate) fn target(&self, source: &[u8], slice: Slice) -> Option<String> {
        self.target_with_room(source, slice, 0)
    }

    /// [`Template::target`] in a string with room for `extra` more bytes
    /// (what the lookup appends), so that it is the lookup's only
    /// allocation.
    pub(crate) fn target_with_room(
        &self,
        source: &[u8],
        slice: Slice,
        extra: usize,
    ) -> Option<String> {
        let (host, path) = source.split_at(host_len(source));
        let middle = if slice.whole {
            &[][..]
        } else {
            path.get(slice.start..path.len().checked_sub(slice.back)?)?
        };
        let (prefix, suffix) = (self.prefix(), self.suffix());
        let len = prefix.len() + middle.len() + suffix.len() + host.len() + extra;
        let mut out = Vec::with_capacity(len);
        put_text(&mut out, prefix, host);
        out.extend_from_slice(middle);
        put_text(&mut out, suffix, host);
        String::from_utf8(out).ok()
    }
}

/// Appends a template's `part`, with `host` for each [`HOST`].
fn put_text(out: &mut Vec<u8>, part: &[u8], host: &[u8]) {
    for (i, piece) in part.split(|&b| b == HOST).enumerate() {
        if i > 0 {
            out.extend_from_slice(host);
        }
        out.extend_from_slice(piece);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(path: &str, target: &str) -> (Vec<u8>, Slice) {
        let (r, slice) = split(path.as_bytes(), target, Status::Found, Flags::default());
        let t = Template::parse(r.clone()).unwrap();
        assert_eq!(t.target(path.as_bytes(), slice).as_deref(), Some(target));
        assert_eq!(t.status, Status::Found);
        (r, slice)
    }

    #[test]
    fn shares_the_longest_word_aligned_run() {
        let (r, s) = round_trip("/blog/2006/03/modern-edge", "/articles/modern-edge");
        assert_eq!(&r[2..], b"/articles\xff");
        assert_eq!((s.start, s.back, s.whole), (13, 0, false));
        let (r, _) = round_trip(
            "/products/tools/tech-light-2.html",
            "/shop/tools/tech-light",
        );
        assert_eq!(&r[2..], b"/shop\xff");
        // Nothing worth sharing: the whole target, empty slice.
        let (r, s) = round_trip("/a/b", "https://example.com/x");
        assert_eq!(&r[2..], b"https://example.com/x\xff");
        assert!(s.whole);
        round_trip("/", "/");
        round_trip("/caf\u{e9}-menu", "/caf\u{e9}-menu-2");
    }

    #[test]
    fn a_target_naming_the_host_holds_a_placeholder() {
        // The same template and slice for hosts of any length.
        let one = round_trip("old.example/blog/a-b", "https://www.old.example/news/a-b");
        let two = round_trip(
            "shop.example.net/blog/c-d",
            "https://www.shop.example.net/news/c-d",
        );
        assert_eq!(one, two);
        assert_eq!(&one.0[2..], b"https://www.\xfe/news\xff");
        assert_eq!((one.1.start, one.1.back, one.1.whole), (5, 0, false));
        // Host and path slice both, and a query.
        round_trip("old.example/p\0id=7", "https://old.example/page/id=7");
        // Not inside a word, and not a host of fewer than MIN_HOST bytes.
        let (r, _) = round_trip("old.example/x", "https://bold.example/x/y");
        assert!(!r.contains(&HOST));
        let (r, _) = round_trip("a.b/x", "https://a.b/y");
        assert!(!r.contains(&HOST));
        // The host of the key the rule was found under is what goes in.
        let (r, s) = split(
            b"a.example/x",
            "https://a.example/new",
            Status::Found,
            Flags::default(),
        );
        let t = Template::parse(r).unwrap();
        assert_eq!(
            t.target(b"b.example/x", s).as_deref(),
            Some("https://b.example/new")
        );
    }

    #[test]
    fn the_byte_lists_find_the_run_every_pair_finds() {
        // Deterministic pseudo-random paths and targets over a small
        // alphabet (many ties, word boundaries and repeats).
        let alphabet = b"ab/-c1.";
        let mut x: u64 = 0x2026_1127;
        let mut gen = |max: usize| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let len = (x % max as u64) as usize;
            (0..len)
                .map(|k| alphabet[((x >> (k % 50)) as usize + k * 7) % alphabet.len()])
                .collect::<Vec<u8>>()
        };
        for _ in 0..20_000 {
            let (p, t) = (gen(40), gen(40));
            assert_eq!(
                longest_shared_run(&p, &t),
                longest_shared_run_naive(&p, &t),
                "{:?} {:?}",
                String::from_utf8_lossy(&p),
                String::from_utf8_lossy(&t)
            );
        }
        let long = [b"/x/".repeat(100), b"abcd".to_vec()].concat();
        assert_eq!(longest_shared_run(&long, b"/abcd"), (0, 299, 5));
    }

    #[test]
    fn records_parse_and_reject() {
        let flags = Flags {
            preserve_query: true,
            preserve_suffix: false,
            include_subdomains: true,
        };
        let r = record(Status::PermanentRedirect, flags, b"/a", b"/b");
        let t = Template::parse(r.clone()).unwrap();
        assert_eq!(
            (t.status, t.flags, t.prefix(), t.suffix()),
            (Status::PermanentRedirect, flags, &b"/a"[..], &b"/b"[..])
        );
        assert!(!r.contains(&0));
        for bad in [
            &b""[..],
            b"\x01",
            b"\x01\x80/a",
            b"\x04\x80\xff",
            b"\x01\x00\xff",
            b"\x01\x88\xff",
        ] {
            assert_eq!(Template::parse(bad.to_vec()), None, "{bad:?}");
        }
        // A slice outside the request path.
        let slice = Slice {
            start: 1,
            back: 5,
            whole: false,
        };
        assert_eq!(t.target(b"/x", slice), None);
    }
}
