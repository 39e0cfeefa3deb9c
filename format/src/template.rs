//! Targets as templates: most redirect targets repeat part of their source
//! (`/blog/2006/03/modern-edge` → `/articles/modern-edge`), so a target is
//! stored as `prefix + source[start..start+len] + suffix` and only the
//! template (`prefix`, `suffix`, status, flags) goes into the table,
//! shared by every rule that has it. The slice comes from the rule's key
//! without its kind byte (host, normalised path, and `NUL query` for a
//! rule naming a query: `/index.php?id=7` → `/page/7` shares the `7`),
//! which is exactly the request's when an exact rule matches, so the
//! lookup rebuilds the target from the request without storing it. Targets that share nothing (and every
//! prefix rule's target) are stored whole, with an empty slice.
//!
//! A template record is `status flags prefix 0xFF suffix`: `status` is the
//! code minus 300 and `flags` has its top bit set, so no record holds a NUL
//! (a key separator elsewhere); 0xFF never occurs in UTF-8 text.

use crate::{Flags, Status};

/// Separates the prefix from the suffix in a record.
const SEP: u8 = 0xFF;
/// The shortest slice worth sharing.
const MIN_SHARED: usize = 4;
/// Largest slice start and back.
pub(crate) const MAX_SLICE: usize = (1 << 13) - 1;

/// Where a target takes bytes of its key (without the kind byte) from: all of it but the
/// first `start` and the last `back` bytes. Counting the end from the back
/// makes the value the same for every rule of one pattern
/// (`/blog/YYYY/MM/slug` → `/articles/slug` is always "from 13 to the
/// end"), so the value is one shared pattern of the value code instead of one
/// per key. A target stored whole has `whole` set.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Slice {
    pub(crate) start: usize,
    pub(crate) back: usize,
    pub(crate) whole: bool,
}

/// Splits `target` into a template record and the slice of `path` it
/// repeats: the longest run of `target`, starting at a word boundary,
/// that also occurs in `path` (at least [`MIN_SHARED`] bytes).
pub(crate) fn split(path: &[u8], target: &str, status: Status, flags: Flags) -> (Vec<u8>, Slice) {
    let t = target.as_bytes();
    let (best_t, best_i, best_len) = longest_shared_run(path, t);
    let back = path.len() - best_i - best_len;
    if best_len < MIN_SHARED || best_i > MAX_SLICE || back > MAX_SLICE {
        let whole = Slice {
            whole: true,
            ..Slice::default()
        };
        return (record(status, flags, t, b""), whole);
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

    /// The target for a request whose normalised path is `path`; `None`
    /// if the slice is outside it or the result is not UTF-8.
    pub(crate) fn target(&self, path: &[u8], slice: Slice) -> Option<String> {
        self.target_with_room(path, slice, 0)
    }

    /// [`Template::target`] in a string with room for `extra` more bytes
    /// (what the lookup appends), so that it is the lookup's only
    /// allocation.
    pub(crate) fn target_with_room(
        &self,
        path: &[u8],
        slice: Slice,
        extra: usize,
    ) -> Option<String> {
        let middle = if slice.whole {
            &[][..]
        } else {
            path.get(slice.start..path.len().checked_sub(slice.back)?)?
        };
        let (prefix, suffix) = (self.prefix(), self.suffix());
        let mut out = Vec::with_capacity(prefix.len() + middle.len() + suffix.len() + extra);
        out.extend_from_slice(prefix);
        out.extend_from_slice(middle);
        out.extend_from_slice(suffix);
        String::from_utf8(out).ok()
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
