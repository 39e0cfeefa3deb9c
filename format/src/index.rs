//! The rules' keys, in order, with their values: what a lookup searches.
//!
//! Keys are symbol strings (module `vocab`), sorted, in buckets of
//! [`BUCKET`]. Each key is written as the number of symbols it shares
//! with the key before (the `lcp` code) and the rest of its symbols (the
//! key code). A bucket's first key (its head) goes to a stream of heads,
//! coded against the head of its block of [`TOP`] buckets (block heads are
//! whole); the other keys, each followed by its value, to a stream of
//! bodies (the head's value first). The lookup keeps every [`DECODED`]th
//! head decoded; it binary-searches those, then the coded heads between
//! two of them, reading only as many symbols of each as it takes to
//! compare, then reads one bucket's body.
//!
//! A value names a template and the slice of the key it fills in
//! ([`Value`]). It is written as one symbol of the value code: a pattern
//! (a template, where its number comes from, and the slice) that many keys
//! share, or an escape followed by every field. Templates used by many
//! rules are numbered first (their number is in the pattern); the others
//! are numbered in the order of the first key using them, so the first use
//! of such a template is "the next new one" and costs no bits for the
//! number (the bucket stores where its count starts); later uses name the
//! number ("far").

use crate::bits::{put_part, width, BitReader, BitWriter, Cursor};
use crate::fx::FxBuild;
use crate::huffman::{self, ContextCounts, ContextDecoder, ContextsLearner, Decoder, Encoder};
use crate::raw::Value;
use crate::vocab::END;
use std::cmp::Ordering;
use std::collections::HashMap;
use std::ops::Range;

/// Keys per bucket.
pub(crate) const BUCKET: usize = 16;
/// `lcp` symbols below this are the count itself; this one is followed
/// by the count in 16 bits.
const LCP_ESCAPE: u32 = 63;
/// The longest key, in symbols.
pub(crate) const MAX_SYMBOLS: usize = 1 << 16;
/// Buckets per block: a bucket's head is coded against its block's first
/// head, which is whole (part of the format).
const TOP: usize = 32;
/// Every this many buckets (a divisor of [`TOP`]), the lookup keeps the
/// head decoded (built when the table is loaded, so not part of the
/// format), to start its search in memory it reads as plain numbers and
/// leave fewer coded heads to compare. 16 rather than 32 (2026-12-05):
/// about 0.12 byte of memory per rule more (5M `reorg` rules: composed
/// 49.0 -> 49.6 MiB) for 3-15% off a hit (1M rules of six shapes).
const DECODED: usize = 16;
/// The most patterns a value code has.
const MAX_PATTERNS: usize = 1 << 16;

/// Where a value's template number comes from.
const FIXED: u64 = 0;
const NEW: u64 = 1;
const FAR: u64 = 2;

/// A value shared by many keys: the symbol the value code writes for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Pattern {
    /// [`FIXED`], [`NEW`] or [`FAR`].
    kind: u64,
    /// The template, for [`FIXED`].
    id: u64,
    start: u64,
    back: u64,
    whole: bool,
}

/// A [`Pattern`] as the lookup keeps it: 16 bytes instead of 40, so that
/// the value code's patterns take less of the cache (and of the Wizer
/// snapshot). Fields past `u32` make the table malformed: a pattern's
/// slice is within a key and its template below the table's count.
#[derive(Debug, Clone, Copy)]
struct Packed {
    id: u32,
    start: u32,
    back: u32,
    kind: u8,
    whole: bool,
}

impl Packed {
    fn new(p: Pattern) -> Option<Packed> {
        Some(Packed {
            id: u32::try_from(p.id).ok()?,
            start: u32::try_from(p.start).ok()?,
            back: u32::try_from(p.back).ok()?,
            kind: u8::try_from(p.kind).ok()?,
            whole: p.whole,
        })
    }
}

/// Field widths of escaped values.
#[derive(Debug, Clone, Copy)]
struct Widths {
    template: u32,
    start: u32,
    back: u32,
}

impl Pattern {
    fn write(&self, w: &mut BitWriter, widths: Widths, with_kind: bool) {
        if with_kind {
            w.write(self.kind, 2);
        }
        if self.kind == FIXED {
            w.write_wide(self.id, widths.template);
        }
        w.write_wide(self.start, widths.start);
        w.write_wide(self.back, widths.back);
        w.write(u64::from(self.whole), 1);
    }

    fn read(r: &mut BitReader, widths: Widths) -> Pattern {
        let kind = r.read(2);
        let id = if kind == FIXED {
            r.read_wide(widths.template)
        } else {
            0
        };
        Pattern {
            kind,
            id,
            start: r.read_wide(widths.start),
            back: r.read_wide(widths.back),
            whole: r.read(1) == 1,
        }
    }
}

/// Symbols on the stack, spilled to the heap past 128 (zeroed when
/// dropped, see [`crate::buf::scrub`]).
pub(crate) struct Symbols {
    stack: [u32; 128],
    len: usize,
    heap: Vec<u32>,
}

impl Symbols {
    /// No symbols.
    pub(crate) fn new() -> Symbols {
        Symbols {
            stack: [0; 128],
            len: 0,
            heap: Vec::new(),
        }
    }

    /// Appends a symbol; `false` past [`MAX_SYMBOLS`].
    #[inline]
    pub(crate) fn push(&mut self, s: u32) -> bool {
        if self.len < self.stack.len() {
            self.stack[self.len] = s;
            self.len += 1;
            true
        } else {
            self.push_to_heap(s)
        }
    }

    /// [`Symbols::push`] past the stack. The heap holds every symbol while
    /// there are more than the stack's; when it is taken again after
    /// symbols were dropped back below that (a key sharing fewer with the
    /// one before), the stack's symbols are the current ones.
    #[cold]
    fn push_to_heap(&mut self, s: u32) -> bool {
        if self.len >= MAX_SYMBOLS {
            return false;
        }
        if self.len == self.stack.len() {
            self.heap.clear();
            self.heap.extend_from_slice(&self.stack);
        } else {
            self.heap.truncate(self.len);
        }
        self.heap.push(s);
        self.len += 1;
        true
    }

    /// Appends what `next` gives until it gives [`END`]; `None` if it
    /// gives `None` or too many. The length stays in a register while the
    /// symbols go to the stack.
    #[inline]
    fn fill(&mut self, mut next: impl FnMut() -> Option<u32>) -> Option<()> {
        let mut len = self.len;
        let result = loop {
            let Some(s) = next() else { break None };
            if s == END {
                break Some(());
            }
            if len < self.stack.len() {
                self.stack[len] = s;
                len += 1;
            } else {
                self.len = len;
                if !self.push_to_heap(s) {
                    break None;
                }
                len = self.len;
            }
        };
        self.len = len;
        result
    }

    /// Keeps the first `n`.
    fn truncate(&mut self, n: usize) {
        self.len = self.len.min(n);
    }

    /// The symbols.
    pub(crate) fn as_slice(&self) -> &[u32] {
        if self.len <= self.stack.len() {
            &self.stack[..self.len]
        } else {
            &self.heap[..self.len]
        }
    }
}

impl Drop for Symbols {
    fn drop(&mut self) {
        crate::buf::scrub(std::mem::take(&mut self.heap));
    }
}

/// Writes the index of keys `keys` (sorted, distinct) with their values;
/// templates `0..frequent` are the shared ones, the others numbered by
/// first use in key order; `symbols` is the size of the key alphabet.
pub(crate) fn write(
    keys: &[&[u32]],
    values: &[Value],
    templates: u64,
    frequent: u64,
    symbols: usize,
) -> Vec<u8> {
    assert_eq!(keys.len(), values.len());
    // Template references and patterns.
    let mut next_new = frequent;
    let patterns: Vec<Pattern> = values
        .iter()
        .map(|v| {
            let kind = if v.template_id < frequent {
                FIXED
            } else if v.template_id == next_new {
                next_new += 1;
                NEW
            } else {
                assert!(v.template_id < next_new, "templates numbered by first use");
                FAR
            };
            Pattern {
                kind,
                id: if kind == FIXED { v.template_id } else { 0 },
                start: v.start,
                back: v.back,
                whole: v.whole,
            }
        })
        .collect();
    let widths = Widths {
        template: width(templates),
        start: width(values.iter().map(|v| v.start + 1).max().unwrap_or(1)),
        back: width(values.iter().map(|v| v.back + 1).max().unwrap_or(1)),
    };
    let mut counts: HashMap<Pattern, u64, FxBuild> = HashMap::default();
    for p in &patterns {
        *counts.entry(*p).or_default() += 1;
    }
    let mut shared: Vec<(Pattern, u64)> = counts.into_iter().filter(|&(_, n)| n >= 2).collect();
    shared.sort_unstable_by(|a, b| {
        b.1.cmp(&a.1).then_with(|| {
            let k = |p: &Pattern| (p.kind, p.id, p.start, p.back, p.whole);
            k(&a.0).cmp(&k(&b.0))
        })
    });
    shared.truncate(MAX_PATTERNS - 1);
    let symbol_of: HashMap<Pattern, u32, FxBuild> = shared
        .iter()
        .enumerate()
        .map(|(i, (p, _))| (*p, i as u32))
        .collect();
    let escape = shared.len() as u32;
    let value_symbol = |p: &Pattern| symbol_of.get(p).copied().unwrap_or(escape);

    // A key shares its first symbols with the key before it; a bucket's
    // first key with the first key of its block of TOP buckets (decoded
    // in memory by the lookup), and a block's first key with none.
    let shared_len = |i: usize| -> usize {
        let bucket = i / BUCKET;
        let before = if !i.is_multiple_of(BUCKET) {
            i - 1
        } else if !bucket.is_multiple_of(TOP) {
            (bucket / TOP) * TOP * BUCKET
        } else {
            return 0;
        };
        let (a, b) = (keys[before], keys[i]);
        a.iter()
            .zip(b)
            .take_while(|(x, y)| x == y)
            .count()
            .min(0xFFFF)
    };
    let lcps: Vec<usize> = (0..keys.len()).map(shared_len).collect();
    // Each key's written part, one after the other in key order: the
    // symbol before it (or `NO_SYMBOL`), the symbols it does not share
    // with the key before, `END`. The three passes below read this in
    // order instead of the keys, which lie in the caller's order.
    let mut stream: Vec<u32> = Vec::with_capacity(keys.len() * 8);
    let mut starts: Vec<usize> = Vec::with_capacity(keys.len() + 1);
    for (key, &l) in keys.iter().zip(&lcps) {
        starts.push(stream.len());
        stream.push(l.checked_sub(1).map_or(NO_SYMBOL, |p| key[p]));
        stream.extend_from_slice(&key[l..]);
        stream.push(END);
    }
    starts.push(stream.len());
    let written = |i: usize| &stream[starts[i]..starts[i + 1]];
    let value_symbols: Vec<u32> = patterns.iter().map(value_symbol).collect();

    // What follows each word (the key code's contexts), then counts for
    // the three codes.
    let mut learner = ContextsLearner::new(symbols);
    for i in 0..keys.len() {
        coded_written(written(i), |prev, s| learner.add(prev, s));
    }
    let mut key_counts = ContextCounts::new(symbols, learner.finish());
    let mut lcp_counts = vec![0u64; LCP_ESCAPE as usize + 1];
    let mut value_counts = vec![0u64; shared.len() + 1];
    for (i, &l) in lcps.iter().enumerate() {
        lcp_counts[l.min(LCP_ESCAPE as usize)] += 1;
        coded_written(written(i), |prev, s| key_counts.add(prev, s));
        value_counts[value_symbols[i] as usize] += 1;
    }
    let (key_codes, lcp_lengths, value_lengths) = (
        key_counts.codes(),
        huffman::lengths(&lcp_counts),
        huffman::lengths(&value_counts),
    );
    let (key_code, lcp_code, value_code) = (
        key_codes.encoder(),
        Encoder::new(&lcp_lengths),
        Encoder::new(&value_lengths),
    );

    // The heads (each bucket's first key) in one stream, searched by
    // the lookup; the rest of each bucket (the first key's value, then
    // each next key and its value) in another; a directory of where each
    // bucket's head and body start, and its first new template number.
    let mut heads = BitWriter::default();
    let mut w = BitWriter::default();
    let mut directory: Vec<[u64; 3]> = Vec::with_capacity(keys.len().div_ceil(BUCKET));
    let mut next_new = frequent;
    for (i, &l) in lcps.iter().enumerate() {
        if i.is_multiple_of(BUCKET) {
            directory.push([heads.bit_len(), w.bit_len(), next_new - frequent]);
        }
        let out = if i.is_multiple_of(BUCKET) {
            &mut heads
        } else {
            &mut w
        };
        if l < LCP_ESCAPE as usize {
            lcp_code.put(out, l as u32);
        } else {
            lcp_code.put(out, LCP_ESCAPE);
            out.write(l as u64, 16);
        }
        coded_written(written(i), |prev, s| key_code.put(out, prev, s));
        let p = &patterns[i];
        let s = value_symbols[i];
        value_code.put(&mut w, s);
        if s == escape {
            p.write(&mut w, widths, true);
        }
        match p.kind {
            FAR => w.write_wide(values[i].template_id, widths.template),
            NEW => next_new += 1,
            _ => {}
        }
    }

    let mut out = Vec::new();
    for n in [
        keys.len() as u64,
        frequent,
        templates,
        u64::from(widths.template),
        u64::from(widths.start),
        u64::from(widths.back),
        shared.len() as u64,
    ] {
        out.extend_from_slice(&n.to_le_bytes());
    }
    let mut part = Vec::new();
    key_codes.write(&mut part);
    put_part(&mut out, &part);
    for lengths in [&lcp_lengths, &value_lengths] {
        let mut part = Vec::new();
        huffman::write_lengths(lengths, &mut part);
        put_part(&mut out, &part);
    }
    let mut pw = BitWriter::default();
    for (p, _) in &shared {
        p.write(&mut pw, widths, true);
    }
    put_part(&mut out, &pw.finish());
    Directory::write(&directory, &mut out);
    put_part(&mut out, &heads.finish());
    put_part(&mut out, &w.finish());
    out
}

/// Marks a key's written part that starts the key (no symbol before it).
const NO_SYMBOL: u32 = u32::MAX;

/// Calls `f` with each symbol of a key's written part (as `write` lays it
/// out: the symbol before, the symbols, `END`) and the symbol before it.
fn coded_written(part: &[u32], mut f: impl FnMut(Option<u32>, u32)) {
    let mut prev = (part[0] != NO_SYMBOL).then_some(part[0]);
    for &s in &part[1..] {
        f(prev, s);
        prev = Some(s);
    }
}

/// Appends to `v`, moving it to a larger allocation by hand so that the
/// one it leaves is zeroed (see [`crate::buf::scrub`]).
fn push_scrubbed(v: &mut Vec<u32>, s: u32) {
    if v.len() == v.capacity() {
        let mut larger = Vec::with_capacity(v.capacity().max(16) * 2);
        larger.extend_from_slice(v);
        crate::buf::scrub(std::mem::replace(v, larger));
    }
    v.push(s);
}

/// The first four symbols of `key` in a number that orders like them
/// (each plus one in 16 bits, 0 after a shorter key; a symbol too large
/// for 16 bits counts as the largest, and the full keys decide the tie).
fn four(key: &[u32]) -> u64 {
    (0..4).fold(0u64, |acc, i| {
        acc << 16 | key.get(i).map_or(0, |&s| u64::from(s.min(0xFFFE)) + 1)
    })
}

/// Buckets per group of the directory.
const GROUP: usize = 16;

/// Where each bucket's head and body start and its first new template
/// number (three numbers that only grow): each group of [`GROUP`] buckets
/// stores the three of its first bucket, and each bucket its three minus
/// those, in as few bits as the largest needs.
#[derive(Debug, Clone)]
struct Directory {
    /// Bits of each field, in the groups and in the buckets.
    group_widths: [u32; 3],
    bucket_widths: [u32; 3],
    groups: Range<usize>,
    buckets: Range<usize>,
    len: usize,
}

impl Directory {
    fn write(entries: &[[u64; 3]], out: &mut Vec<u8>) {
        let firsts: Vec<[u64; 3]> = entries.iter().step_by(GROUP).copied().collect();
        let rel: Vec<[u64; 3]> = entries
            .iter()
            .enumerate()
            .map(|(b, e)| std::array::from_fn(|f| e[f] - firsts[b / GROUP][f]))
            .collect();
        for rows in [&firsts, &rel] {
            let widths: [u32; 3] =
                std::array::from_fn(|f| width(rows.iter().map(|r| r[f] + 1).max().unwrap_or(1)));
            let mut w = BitWriter::default();
            for r in rows.iter() {
                for f in 0..3 {
                    w.write_wide(r[f], widths[f]);
                }
            }
            for x in widths {
                out.extend_from_slice(&u64::from(x).to_le_bytes());
            }
            put_part(out, &w.finish());
        }
    }

    fn read(c: &mut Cursor, len: usize) -> Option<Directory> {
        let mut part = |rows: usize| {
            let mut widths = [0u32; 3];
            for w in &mut widths {
                *w = u32::try_from(c.u64()?).ok().filter(|&w| w <= 64)?;
            }
            let (bytes, range) = c.part()?;
            let bits = u64::from(widths.iter().sum::<u32>()).checked_mul(rows as u64)?;
            (bits.div_ceil(8) <= bytes.len() as u64).then_some((widths, range))
        };
        let (group_widths, groups) = part(len.div_ceil(GROUP))?;
        let (bucket_widths, buckets) = part(len)?;
        Some(Directory {
            group_widths,
            bucket_widths,
            groups,
            buckets,
            len,
        })
    }

    /// `bits` bits at bit `at` of `bytes` (fields are at most 64 bits).
    #[inline]
    fn bits(bytes: &[u8], at: u64, bits: u32) -> u64 {
        let mut r = BitReader::new(bytes, at);
        if bits <= 57 {
            r.read(bits)
        } else {
            r.read_wide(bits)
        }
    }

    /// Field `f` of row `row` of a part with fields of `widths` bits.
    #[inline]
    fn field(bytes: &[u8], widths: [u32; 3], row: usize, f: usize) -> u64 {
        let record = u64::from(widths[0] + widths[1] + widths[2]);
        let skip = [0, widths[0], widths[0] + widths[1]][f];
        Directory::bits(bytes, row as u64 * record + u64::from(skip), widths[f])
    }

    /// Field `f` of bucket `b`: where its head (0) or its body (1)
    /// starts, or its first new template number minus `frequent` (2).
    #[inline]
    fn get(&self, file: &[u8], b: usize, f: usize) -> Option<u64> {
        if b >= self.len {
            return None;
        }
        let first = Directory::field(&file[self.groups.clone()], self.group_widths, b / GROUP, f);
        let rel = Directory::field(&file[self.buckets.clone()], self.bucket_widths, b, f);
        first.checked_add(rel)
    }
}

/// A loaded index (its parts are ranges of the table file).
#[derive(Debug, Clone)]
pub(crate) struct Index {
    len: usize,
    frequent: u64,
    templates: u64,
    widths: Widths,
    key_code: ContextDecoder,
    lcp_code: Decoder,
    value_code: Decoder,
    patterns: Vec<Packed>,
    /// Per bucket: where its head starts in `heads`, where the rest
    /// starts in `bodies`, its first new template number (minus
    /// `frequent`); the widths of the three.
    directory: Directory,
    heads: Range<usize>,
    bodies: Range<usize>,
    /// The heads of buckets 0, [`DECODED`], 2·[`DECODED`]..., decoded:
    /// their symbols one after the other ...
    top: Vec<u32>,
    /// ... each ending here; and their first four symbols after the
    /// `top_skip` that every head shares (`top[..top_skip]`: in most tables
    /// the key's kind and `/`), packed in a number that orders like them
    /// (16 bits each, plus one).
    top_ends: Vec<u32>,
    top_keys: Vec<u64>,
    top_skip: usize,
}

impl Index {
    /// Reads an index at the cursor; `None` if it is malformed.
    pub(crate) fn read(c: &mut Cursor, symbols: usize) -> Option<Index> {
        let len = usize::try_from(c.u64()?).ok()?;
        let (frequent, templates) = (c.u64()?, c.u64()?);
        let mut small = || u32::try_from(c.u64()?).ok().filter(|&w| w <= 64);
        let widths = Widths {
            template: small()?,
            start: small()?,
            back: small()?,
        };
        let n_patterns = usize::try_from(c.u64()?).ok()?;
        let key_code = ContextDecoder::read(c.part()?.0, symbols)?;
        let mut code = |alphabet: usize| {
            let (part, _) = c.part()?;
            let (lengths, used) = huffman::read_lengths(part)?;
            (used == part.len() && lengths.len() == alphabet).then_some(())?;
            let decoder = Decoder::new(&lengths);
            crate::buf::scrub(lengths);
            decoder
        };
        let lcp_code = code(LCP_ESCAPE as usize + 1)?;
        let value_code = code(n_patterns.checked_add(1)?)?;
        let (part, _) = c.part()?;
        let mut r = BitReader::new(part, 0);
        let patterns: Vec<Packed> = (0..n_patterns.min(MAX_PATTERNS))
            .map_while(|_| Packed::new(Pattern::read(&mut r, widths)))
            .collect();
        if r.overran() || patterns.len() != n_patterns || frequent > templates {
            return None;
        }
        let buckets = len.div_ceil(BUCKET);
        let directory = Directory::read(c, buckets)?;
        let (_, heads) = c.part()?;
        let (_, bodies) = c.part()?;
        let mut index = Index {
            len,
            frequent,
            templates,
            widths,
            key_code,
            lcp_code,
            value_code,
            patterns,
            directory,
            heads,
            bodies,
            top: Vec::new(),
            top_ends: Vec::new(),
            top_keys: Vec::new(),
            top_skip: 0,
        };
        // The decoded heads, sized first (the loader leaves no freed
        // buffer behind: see `crate::buf::scrub`); `block` holds the head
        // of the current block, which the others extend.
        let mut block: Vec<u32> = Vec::with_capacity(256);
        let mut total = 0usize;
        for b in (0..buckets).step_by(DECODED) {
            if b.is_multiple_of(TOP) {
                block.clear();
                index.decode_head(c.bytes, b, &[], &mut |s| push_scrubbed(&mut block, s))?;
                total += block.len();
            } else {
                index.decode_head(c.bytes, b, &block, &mut |_| total += 1)?;
            }
        }
        let mut top = Vec::with_capacity(total);
        let mut top_ends = Vec::with_capacity(buckets.div_ceil(DECODED));
        for b in (0..buckets).step_by(DECODED) {
            if b.is_multiple_of(TOP) {
                block.clear();
                index.decode_head(c.bytes, b, &[], &mut |s| push_scrubbed(&mut block, s))?;
                top.extend_from_slice(&block);
            } else {
                index.decode_head(c.bytes, b, &block, &mut |s| top.push(s))?;
            }
            top_ends.push(u32::try_from(top.len()).ok()?);
        }
        crate::buf::scrub(block);
        (top.len() == total).then_some(())?;
        let head = |t: usize| {
            let start = if t == 0 { 0 } else { top_ends[t - 1] as usize };
            &top[start..top_ends[t] as usize]
        };
        // The heads are in order: what the first and the last share,
        // every one does.
        let skip = match top_ends.len() {
            0 => 0,
            n => head(0)
                .iter()
                .zip(head(n - 1))
                .take_while(|(a, b)| a == b)
                .count(),
        };
        index.top_keys = (0..top_ends.len())
            .map(|t| four(&head(t)[skip..]))
            .collect();
        index.top_skip = skip;
        index.top = top;
        index.top_ends = top_ends;
        Some(index)
    }

    /// Decodes the head of bucket `b` into `out`: the symbols it shares
    /// with `block` (its block's head, decoded; empty for a block's own
    /// head, which shares none), then its own.
    fn decode_head(
        &self,
        file: &[u8],
        b: usize,
        block: &[u32],
        out: &mut impl FnMut(u32),
    ) -> Option<()> {
        let (mut r, l) = self.head(file, b)?;
        let prefix = block.get(..l)?;
        prefix.iter().for_each(|&s| out(s));
        let (mut prev, mut n) = (prefix.last().copied(), l);
        loop {
            let s = self.key_code.decode(&mut r, prev)?;
            if s == END {
                return Some(());
            }
            n += 1;
            if r.overran() || n > MAX_SYMBOLS {
                return None;
            }
            out(s);
            prev = Some(s);
        }
    }

    /// The decoded head of bucket `t * DECODED`.
    fn top_head(&self, t: usize) -> &[u32] {
        let start = if t == 0 {
            0
        } else {
            self.top_ends[t - 1] as usize
        };
        &self.top[start..self.top_ends[t] as usize]
    }

    /// Number of keys.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    fn buckets(&self) -> usize {
        self.len.div_ceil(BUCKET)
    }

    /// A reader at the head of bucket `b`, and the number of symbols the
    /// head shares with its block's.
    #[inline]
    fn head<'f>(&self, file: &'f [u8], b: usize) -> Option<(BitReader<'f>, usize)> {
        let mut r = BitReader::new(&file[self.heads.clone()], self.directory.get(file, b, 0)?);
        let l = self.read_lcp(&mut r)?;
        Some((r, l))
    }

    /// A number of shared symbols.
    #[inline]
    fn read_lcp(&self, r: &mut BitReader) -> Option<usize> {
        let l = self.lcp_code.decode(r)?;
        Some(if l == LCP_ESCAPE {
            r.read(16) as usize
        } else {
            l as usize
        })
    }

    /// The symbols bucket `b`'s head shares with the head of its block.
    fn head_prefix(&self, b: usize, l: usize) -> Option<&[u32]> {
        let t = (b / TOP) * (TOP / DECODED);
        if t >= self.top_ends.len() {
            return (l == 0).then_some(&[]);
        }
        self.top_head(t).get(..l)
    }

    /// How the first key of bucket `b` compares with `key`.
    fn compare_first(&self, file: &[u8], b: usize, key: &[u32]) -> Option<Ordering> {
        let (mut r, l) = self.head(file, b)?;
        let prefix = self.head_prefix(b, l)?;
        for (i, &p) in prefix.iter().enumerate() {
            match key.get(i) {
                None => return Some(Ordering::Greater),
                Some(&k) if k != p => return Some(p.cmp(&k)),
                Some(_) => {}
            }
        }
        let mut ctx = self.key_code.context(prefix.last().copied());
        for &k in &key[l..] {
            let s = self.key_code.next(&mut r, &mut ctx)?;
            if s == END {
                return Some(Ordering::Less);
            }
            if s != k {
                return Some(s.cmp(&k));
            }
        }
        let s = self.key_code.next(&mut r, &mut ctx)?;
        Some(if s == END {
            Ordering::Equal
        } else {
            Ordering::Greater
        })
    }

    /// The value of `key`, if it is a key.
    pub(crate) fn get(&self, file: &[u8], key: &[u32]) -> Option<Value> {
        // The last bucket whose first key is not after `key`: first among
        // the decoded heads, then among the buckets between two of them.
        let (mut t, mut end) = (0, self.top_ends.len());
        let shared = &self.top[..self.top_skip];
        if key.get(..self.top_skip) == Some(shared) {
            let k4 = four(&key[self.top_skip..]);
            while t < end {
                let mid = t + (end - t) / 2;
                let h4 = self.top_keys[mid];
                if h4 < k4 || h4 == k4 && self.top_head(mid) <= key {
                    t = mid + 1;
                } else {
                    end = mid;
                }
            }
        } else if key > shared {
            // After every head (before every one: none).
            t = end;
        }
        let (mut lo, mut hi) = (
            (t.checked_sub(1)? * DECODED) + 1,
            (t * DECODED).min(self.buckets()),
        );
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            match self.compare_first(file, mid, key)? {
                Ordering::Greater => hi = mid,
                Ordering::Equal => return self.scan(file, mid, Some(key)).ok()?,
                Ordering::Less => lo = mid + 1,
            }
        }
        self.scan(file, lo.checked_sub(1)?, Some(key)).ok()?
    }

    /// Reads bucket `b` until `key` (`Ok(Some(value))`, or `Ok(None)` once
    /// past it), or to its end with `key` `None` (`Ok(None)`, for checking
    /// it); `Err` if the bucket is malformed. `each` sees every key and
    /// value read.
    fn scan(&self, file: &[u8], b: usize, key: Option<&[u32]>) -> Result<Option<Value>, ()> {
        self.scan_with(file, b, key, |_, _| {})
    }

    fn scan_with(
        &self,
        file: &[u8],
        b: usize,
        key: Option<&[u32]>,
        mut each: impl FnMut(&[u32], Value),
    ) -> Result<Option<Value>, ()> {
        let (mut r, l) = self.head(file, b).ok_or(())?;
        let mut cur = Symbols::new();
        for &s in self.head_prefix(b, l).ok_or(())? {
            cur.push(s);
        }
        self.read_symbols(&mut r, &mut cur).ok_or(())?;
        if r.overran() {
            return Err(());
        }
        let body = self.directory.get(file, b, 1).ok_or(())?;
        let base = self.directory.get(file, b, 2).ok_or(())?;
        let mut next_new = self.frequent.checked_add(base).ok_or(())?;
        let mut r = BitReader::new(&file[self.bodies.clone()], body);
        let n = BUCKET.min(self.len - b * BUCKET);
        // The symbols the key read last shares with `key` (it is before
        // `key`). The next key shares `l` with it: with `l` below `same`
        // it is after `key` (it differs where the last one equalled `key`,
        // upwards), with `l` above it is still before (same difference),
        // and only with `l == same` do the two need comparing, from there.
        let mut same = 0;
        for i in 0..n {
            let mut compare = true;
            if i > 0 {
                let l = self.read_lcp(&mut r).ok_or(())?;
                if l > cur.len {
                    return Err(());
                }
                if key.is_some() {
                    if l < same {
                        return Ok(None);
                    }
                    compare = l == same;
                }
                cur.truncate(l);
                self.read_symbols(&mut r, &mut cur).ok_or(())?;
            }
            let v = self.value(&mut r, &mut next_new).ok_or(())?;
            if r.overran() {
                return Err(());
            }
            each(cur.as_slice(), v);
            if let (Some(key), true) = (key, compare) {
                let cur = cur.as_slice();
                same += cur[same..]
                    .iter()
                    .zip(&key[same..])
                    .take_while(|(a, b)| a == b)
                    .count();
                match (cur.get(same), key.get(same)) {
                    (None, None) => return Ok(Some(v)),
                    (Some(_), None) => return Ok(None),
                    (Some(c), Some(k)) if c > k => return Ok(None),
                    _ => {}
                }
            }
        }
        Ok(None)
    }

    /// Appends a key's symbols up to its end symbol to `cur` (each coded
    /// in the context of the one before, the first in that of `cur`'s
    /// last); `None` if they do not decode or are too many.
    fn read_symbols(&self, r: &mut BitReader, cur: &mut Symbols) -> Option<()> {
        let mut ctx = self.key_code.context(cur.as_slice().last().copied());
        // A copy of the reader, so that its position stays in a register.
        let mut local = *r;
        let read = cur.fill(|| self.key_code.next(&mut local, &mut ctx));
        *r = local;
        read
    }

    /// Reads a value.
    #[inline]
    fn value(&self, r: &mut BitReader, next_new: &mut u64) -> Option<Value> {
        let s = self.value_code.decode(r)? as usize;
        let p = match self.patterns.get(s) {
            Some(p) => *p,
            None if s == self.patterns.len() => Packed::new(Pattern::read(r, self.widths))?,
            None => return None,
        };
        let template_id = match u64::from(p.kind) {
            FIXED => u64::from(p.id),
            NEW => {
                *next_new += 1;
                *next_new - 1
            }
            FAR => r.read_wide(self.widths.template),
            _ => return None,
        };
        (template_id < self.templates).then_some(Value {
            template_id,
            start: u64::from(p.start),
            back: u64::from(p.back),
            whole: p.whole,
        })
    }

    /// Reads every key in order, checking the stream; calls `each` with
    /// each key and value. `false` if the index is malformed (a bucket
    /// that does not decode, keys out of order, a value out of range).
    pub(crate) fn check(&self, file: &[u8], mut each: impl FnMut(&[u32], Value)) -> bool {
        let mut last: Vec<u32> = Vec::new();
        let mut ordered = true;
        for b in 0..self.buckets() {
            let read = self.scan_with(file, b, None, |k, v| {
                ordered &= last.is_empty() && b == 0 || last.as_slice() < k;
                last.clear();
                last.extend_from_slice(k);
                each(k, v);
            });
            if read.is_err() || !ordered {
                crate::buf::scrub(last);
                return false;
            }
        }
        crate::buf::scrub(last);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The index of `keys` and `values` (400 symbols) and its bytes.
    fn written(
        keys: &[Vec<u32>],
        values: &[Value],
        templates: u64,
        frequent: u64,
    ) -> (Vec<u8>, Index) {
        let refs: Vec<&[u32]> = keys.iter().map(|k| k.as_slice()).collect();
        let bytes = write(&refs, values, templates, frequent, 400);
        let index = Index::read(
            &mut Cursor {
                bytes: &bytes,
                at: 0,
            },
            400,
        )
        .unwrap();
        (bytes, index)
    }

    #[test]
    fn finds_every_key_and_no_other() {
        // Keys over a small alphabet with long shared runs, plus values of
        // every kind (shared, new, far, escaped).
        let mut keys: Vec<Vec<u32>> = (0..2000u32)
            .map(|i| {
                let mut k = vec![61, 47, 300 + i % 7];
                k.extend((0..(i % 90)).map(|j| 257 + (i * 31 + j) % 11));
                k.push(i / 13 + 40);
                k
            })
            .collect();
        keys.sort();
        keys.dedup();
        let templates = 700u64;
        let mut next = 50u64;
        let values: Vec<Value> = (0..keys.len() as u64)
            .map(|i| {
                let template_id = if i % 3 == 0 {
                    i % 50
                } else if i % 3 == 1 && next < templates {
                    next += 1;
                    next - 1
                } else {
                    50 + i % (next - 50).max(1)
                };
                Value {
                    template_id: template_id.min(next.max(50) - 1),
                    start: i % 5,
                    back: if i % 11 == 0 { i } else { 3 },
                    whole: i % 17 == 0,
                }
            })
            .collect();
        let (bytes, index) = written(&keys, &values, templates, 50);
        for (k, v) in keys.iter().zip(&values) {
            assert_eq!(index.get(&bytes, k), Some(*v), "{k:?}");
            let mut shorter = k.clone();
            shorter.pop();
            if !keys.contains(&shorter) {
                assert_eq!(index.get(&bytes, &shorter), None);
            }
            let mut longer = k.clone();
            longer.push(1);
            assert_eq!(index.get(&bytes, &longer), None);
        }
        assert_eq!(index.get(&bytes, &[]), None);
        assert_eq!(index.get(&bytes, &[1000]), None);
        let mut seen = 0;
        assert!(index.check(&bytes, |k, v| {
            assert_eq!((k, v), (keys[seen].as_slice(), values[seen]));
            seen += 1;
        }));
        assert_eq!(seen, keys.len());
        let empty = write(&[], &[], 0, 0, 300);
        let index = Index::read(
            &mut Cursor {
                bytes: &empty,
                at: 0,
            },
            300,
        )
        .unwrap();
        assert_eq!(index.get(&empty, &[1, 2]), None);
        assert!(index.check(&empty, |_, _| panic!("no key")));
    }

    #[test]
    fn keys_longer_than_the_stack_buffer_share_prefixes_of_any_length() {
        // Keys of 150-300 symbols: the bucket scan's symbols move to the
        // heap past 128, and the next key shares fewer than 128 with the
        // one before (then more again).
        let mut keys: Vec<Vec<u32>> = (0..300u32)
            .map(|i| {
                let shared = [40, 100, 127, 128, 129, 200][i as usize % 6];
                let mut k = vec![300; shared];
                k.extend((0..150 + i % 150).map(|j| 257 + (i + j) % 13));
                k
            })
            .collect();
        keys.sort();
        keys.dedup();
        let values: Vec<Value> = (0..keys.len() as u64)
            .map(|i| Value {
                template_id: i % 4,
                start: 0,
                back: 0,
                whole: true,
            })
            .collect();
        let (bytes, index) = written(&keys, &values, 4, 4);
        assert!(index.check(&bytes, |_, _| {}));
        for (k, v) in keys.iter().zip(&values) {
            assert_eq!(index.get(&bytes, k), Some(*v), "{}", k.len());
        }
    }
}
