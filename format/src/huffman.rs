//! Canonical Huffman codes: built from symbol counts by the table builder,
//! stored as one code length per symbol, and decoded with a lookup table
//! for the short codes (the common ones) and the canonical order for the
//! rest.

use crate::bits::{BitReader, BitWriter};

/// The longest code.
pub(crate) const MAX_LEN: u32 = 24;
/// Codes up to this long are decoded with one table lookup. Nine bits
/// make a context decoder's tables 32 KiB (16 contexts of 512 entries),
/// which stay in the first-level cache beside the rest of a lookup and
/// touch half the pages of ten bits when an instance serves one request:
/// on 2026-12-05, 1M rules of each generated shape, 0.88-0.99x the lookup
/// time of ten bits for hits and 0.87-1.04x for misses (twelve bits had
/// been 0.97-1.00x of ten).
const TABLE_BITS: u32 = 9;

/// Code lengths for these counts (0 for a symbol never used), none longer
/// than [`MAX_LEN`]: Huffman's, with the counts flattened until the
/// longest code fits.
pub(crate) fn lengths(counts: &[u64]) -> Vec<u8> {
    let mut counts = counts.to_vec();
    loop {
        let lengths = huffman_lengths(&counts);
        if lengths.iter().all(|&l| u32::from(l) <= MAX_LEN) {
            return lengths;
        }
        for c in counts.iter_mut().filter(|c| **c > 0) {
            *c = (*c >> 1).max(1);
        }
    }
}

fn huffman_lengths(counts: &[u64]) -> Vec<u8> {
    use std::cmp::Reverse;
    use std::collections::BinaryHeap;
    let mut lengths = vec![0u8; counts.len()];
    let used: Vec<usize> = (0..counts.len()).filter(|&s| counts[s] > 0).collect();
    match used.len() {
        0 => return lengths,
        1 => {
            lengths[used[0]] = 1;
            return lengths;
        }
        _ => {}
    }
    // Leaves are 0..used.len(), inner nodes after them.
    let mut parent = vec![usize::MAX; 2 * used.len() - 1];
    let mut heap: BinaryHeap<Reverse<(u64, usize)>> = used
        .iter()
        .enumerate()
        .map(|(i, &s)| Reverse((counts[s], i)))
        .collect();
    let mut next = used.len();
    while heap.len() > 1 {
        let Reverse((a, i)) = heap.pop().expect("two nodes");
        let Reverse((b, j)) = heap.pop().expect("two nodes");
        parent[i] = next;
        parent[j] = next;
        heap.push(Reverse((a + b, next)));
        next += 1;
    }
    // Parents come after their children: depths from the root down.
    let mut depth = vec![0u32; parent.len()];
    for n in (0..parent.len() - 1).rev() {
        depth[n] = depth[parent[n]] + 1;
    }
    for (i, &s) in used.iter().enumerate() {
        lengths[s] = depth[i].min(255) as u8;
    }
    lengths
}

/// The first canonical code of each length, and how many codes have it;
/// `None` if the lengths are not a prefix code.
fn canonical(lengths: &[u8]) -> Option<([u32; MAX_LEN as usize + 2], [u32; MAX_LEN as usize + 2])> {
    let mut count = [0u32; MAX_LEN as usize + 2];
    for &l in lengths {
        if u32::from(l) > MAX_LEN {
            return None;
        }
        count[usize::from(l)] += 1;
    }
    count[0] = 0;
    let mut first = [0u32; MAX_LEN as usize + 2];
    let mut code = 0u32;
    for len in 1..=MAX_LEN as usize {
        code = (code + count[len - 1]) << 1;
        first[len] = code;
        if u64::from(code) + u64::from(count[len]) > 1u64 << len {
            return None;
        }
    }
    Some((first, count))
}

fn reverse(code: u32, len: u32) -> u32 {
    if len == 0 {
        0
    } else {
        code.reverse_bits() >> (32 - len)
    }
}

/// Writes symbols with a code.
pub(crate) struct Encoder {
    /// Per symbol: the code, bit-reversed (it is written low bit first),
    /// and its length.
    codes: Vec<(u32, u8)>,
}

impl Encoder {
    /// The encoder for these lengths (from [`lengths`]).
    pub(crate) fn new(lengths: &[u8]) -> Encoder {
        let (mut next, _) = canonical(lengths).expect("lengths from `lengths` are a prefix code");
        let codes = lengths
            .iter()
            .map(|&l| {
                if l == 0 {
                    return (0, 0);
                }
                let c = next[usize::from(l)];
                next[usize::from(l)] += 1;
                (reverse(c, u32::from(l)), l)
            })
            .collect();
        Encoder { codes }
    }

    /// Writes `symbol`, which must have a code.
    pub(crate) fn put(&self, w: &mut BitWriter, symbol: u32) {
        let (code, len) = self.codes[symbol as usize];
        assert!(len > 0, "symbol {symbol} has no code");
        w.write(u64::from(code), u32::from(len));
    }
}

/// Reads symbols of a code.
#[derive(Debug, Clone)]
pub(crate) struct Decoder {
    /// Indexed by the next [`TABLE_BITS`] bits: `symbol << 5 | length` for
    /// a code of up to [`TABLE_BITS`] bits; for longer codes, the length of
    /// the shortest code that starts with these bits (where the search in
    /// canonical order starts); 0 when no code starts with them.
    table: Box<[u32; 1 << TABLE_BITS]>,
    /// The codes longer than [`TABLE_BITS`].
    long: Long,
}

/// What decodes the codes longer than [`TABLE_BITS`]: the canonical order.
#[derive(Debug, Clone)]
struct Long {
    /// Per code length, what its search reads, side by side.
    lens: [Length; MAX_LEN as usize + 2],
    /// Symbols in canonical order (in a [`ContextDecoder`], each with the
    /// context after it in its low 4 bits).
    sorted: Vec<u32>,
    max_len: u32,
}

/// The canonical codes of one length.
#[derive(Debug, Clone, Copy, Default)]
struct Length {
    /// The first code of the next length, left-justified in 32 bits
    /// (codes of this length or shorter are below it).
    limit: u64,
    /// The first code of this length.
    first: u32,
    /// Number of codes of this length.
    count: u32,
    /// Where their symbols start in `sorted`.
    offset: u32,
}

impl Decoder {
    /// The decoder for these lengths; `None` if they are not a prefix code.
    pub(crate) fn new(lengths: &[u8]) -> Option<Decoder> {
        let (first, count) = canonical(lengths)?;
        let mut offset = [0u32; MAX_LEN as usize + 2];
        for len in 1..=MAX_LEN as usize {
            offset[len + 1] = offset[len] + count[len];
        }
        let mut sorted = vec![0u32; offset[MAX_LEN as usize + 1] as usize];
        let mut fill = offset;
        let mut table = Box::new([0u32; 1 << TABLE_BITS]);
        let mut next = first;
        for (s, &l) in lengths.iter().enumerate() {
            if l == 0 {
                continue;
            }
            let l = usize::from(l);
            sorted[fill[l] as usize] = s as u32;
            fill[l] += 1;
            let code = next[l];
            next[l] += 1;
            if l as u32 <= TABLE_BITS {
                let r = reverse(code, l as u32) as usize;
                for f in 0..1usize << (TABLE_BITS as usize - l) {
                    table[r | f << l] = (s as u32) << 5 | l as u32;
                }
            } else {
                let prefix = reverse(code >> (l as u32 - TABLE_BITS), TABLE_BITS) as usize;
                let e = &mut table[prefix];
                if *e == 0 || *e > l as u32 {
                    *e = l as u32;
                }
            }
        }
        let max_len = lengths.iter().map(|&l| u32::from(l)).max().unwrap_or(0);
        let mut lens = [Length::default(); MAX_LEN as usize + 2];
        for (len, l) in lens.iter_mut().enumerate() {
            *l = Length {
                limit: if (1..=MAX_LEN as usize).contains(&len) {
                    u64::from(first[len] + count[len]) << (32 - len)
                } else {
                    0
                },
                first: first[len],
                count: count[len],
                offset: offset[len],
            };
        }
        Some(Decoder {
            table,
            long: Long {
                lens,
                sorted,
                max_len,
            },
        })
    }

    /// The next symbol; `None` for a bit string that is no code.
    #[inline]
    pub(crate) fn decode(&self, r: &mut BitReader) -> Option<u32> {
        let bits = r.peek();
        let e = self.table[(bits & ((1 << TABLE_BITS) - 1)) as usize];
        let shortest = e & 31;
        if shortest == 0 {
            return None;
        }
        if shortest <= TABLE_BITS {
            r.consume(shortest);
            return Some(e >> 5);
        }
        let (symbol, len) = self.long.decode(bits, shortest)?;
        r.consume(len);
        Some(symbol)
    }
}

impl Long {
    /// The symbol of a code longer than [`TABLE_BITS`] at the start of
    /// `bits` (first bit lowest), no shorter than `shortest`, and its
    /// length.
    fn decode(&self, bits: u64, shortest: u32) -> Option<(u32, u32)> {
        // The next bits, first bit highest, against each length's last
        // code (left-justified), from the shortest code with these first
        // bits (no shorter code can match them: canonical codes up to a
        // length fill the code space below its limit).
        let msb = (bits as u32).reverse_bits();
        for len in shortest..=self.max_len {
            let l = self.lens.get(len as usize)?;
            if u64::from(msb) < l.limit {
                let code = msb >> (32 - len);
                let i = code.checked_sub(l.first)?;
                if i >= l.count {
                    return None;
                }
                let symbol = self.sorted.get((l.offset + i) as usize)?;
                return Some((*symbol, len));
            }
        }
        None
    }
}

/// In serialised lengths: a run of zeros, its length in the next 16 bits.
const ZERO_RUN: u64 = 31;

/// Serialises code lengths: `u32 LE count`, then 5 bits per length, runs
/// of zeros as [`ZERO_RUN`] and the run's length.
pub(crate) fn write_lengths(lengths: &[u8], out: &mut Vec<u8>) {
    out.extend_from_slice(&(lengths.len() as u32).to_le_bytes());
    let mut w = BitWriter::default();
    let mut i = 0;
    while i < lengths.len() {
        let zeros = lengths[i..]
            .iter()
            .take(0xFFFF)
            .take_while(|&&l| l == 0)
            .count();
        if zeros >= 4 {
            w.write(ZERO_RUN, 5);
            w.write(zeros as u64, 16);
            i += zeros;
        } else {
            w.write(u64::from(lengths[i]), 5);
            i += 1;
        }
    }
    let body = w.finish();
    out.extend_from_slice(&(body.len() as u32).to_le_bytes());
    out.extend_from_slice(&body);
}

/// Reads what [`write_lengths`] wrote; the lengths and the bytes read.
pub(crate) fn read_lengths(bytes: &[u8]) -> Option<(Vec<u8>, usize)> {
    let word =
        |at: usize| Some(u32::from_le_bytes(bytes.get(at..at + 4)?.try_into().ok()?) as usize);
    let (n, body) = (word(0)?, word(4)?);
    let rest = bytes.get(8..8usize.checked_add(body)?)?;
    let mut r = BitReader::new(rest, 0);
    let mut lengths = Vec::with_capacity(n.min(1 << 20));
    while lengths.len() < n {
        match r.read(5) {
            ZERO_RUN => {
                let run = r.read(16) as usize;
                if run == 0 || lengths.len() + run > n {
                    return None;
                }
                lengths.resize(lengths.len() + run, 0);
            }
            l => lengths.push(l as u8),
        }
        if r.overran() {
            return None;
        }
    }
    Some((lengths, 8 + body))
}

/// Codes chosen by the class of the symbol before (what follows a `/`, a
/// `-`, a digit... differs a lot), and after a word by what most often
/// follows that word in the stream ([`Contexts`]): one code per context.
pub(crate) const CONTEXTS: usize = 15;

/// What can follow a word, as [`Contexts`] sorts words: anything else, a
/// `-` or `_`, a `/`, a `.`, the end of the key or template.
const FOLLOWERS: usize = 5;

/// The first word symbol (`vocab::FIRST_WORD`: symbols below are bytes
/// and the end symbol).
const FIRST_WORD: u32 = crate::vocab::FIRST_WORD;

/// Which of [`FOLLOWERS`] `symbol` is.
fn follower(symbol: u32) -> u8 {
    if symbol == crate::vocab::END {
        return 4;
    }
    match u8::try_from(symbol) {
        Ok(b'-' | b'_') => 1,
        Ok(b'/') => 2,
        Ok(b'.') => 3,
        _ => 0,
    }
}

/// The context of the symbol after each word of one stream's word list:
/// what most often follows that word there (a word of a slug is followed
/// by `-`, a directory by `/`, `www` by `.`, a file name's extension by the
/// end), so that the symbol after a word is coded with the words like it.
/// Measured on 1M generated rules (2026-12-04), one shared code for every
/// word cost 2.4 bits per symbol after a word in the templates of host-heavy
/// rules where the word's own follower costs about one. Stored with the
/// stream's code lengths, three bits per word.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Contexts {
    /// Per word (symbol minus [`FIRST_WORD`]): its most frequent follower.
    after_word: Vec<u8>,
    /// Per symbol: the context of the symbol after it (one load on the
    /// lookup's decoding path).
    table: Vec<u8>,
}

impl Contexts {
    /// The contexts for these followers.
    fn new(after_word: Vec<u8>) -> Contexts {
        let byte = |b: u8| match b {
            b'/' => 2,
            b'-' | b'_' => 3,
            b'.' => 4,
            b'0'..=b'9' => 5,
            b'a'..=b'z' | b'A'..=b'Z' => 6,
            b'=' | b'*' => 7,
            0..=0x1F => 8,
            0x80.. => 9,
            _ => 10,
        };
        let table = (0..=255u8)
            .map(byte)
            .chain([1]) // the end symbol
            .chain(after_word.iter().map(|&f| if f > 0 { 10 + f } else { 1 }))
            .collect();
        Contexts { after_word, table }
    }

    /// The context of the symbol after `prev` (`None`: the first symbol).
    #[inline]
    pub(crate) fn of(&self, prev: Option<u32>) -> usize {
        prev.map_or(0, |p| {
            self.table.get(p as usize).map_or(1, |&c| usize::from(c))
        })
    }

    fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&(self.after_word.len() as u32).to_le_bytes());
        let mut w = BitWriter::default();
        for &f in &self.after_word {
            w.write(u64::from(f), 3);
        }
        out.extend_from_slice(&w.finish());
    }

    /// Reads what [`Contexts::write`] wrote for an alphabet of `symbols`;
    /// the contexts and the bytes read.
    fn read(bytes: &[u8], symbols: usize) -> Option<(Contexts, usize)> {
        let n = u32::from_le_bytes(bytes.get(..4)?.try_into().ok()?) as usize;
        (n == symbols.saturating_sub(FIRST_WORD as usize)).then_some(())?;
        let used = 4 + (n * 3).div_ceil(8);
        let mut r = BitReader::new(bytes.get(4..used)?, 0);
        let after_word: Vec<u8> = (0..n).map(|_| r.read(3) as u8).collect();
        (!r.overran() && after_word.iter().all(|&f| usize::from(f) < FOLLOWERS))
            .then_some((Contexts::new(after_word), used))
    }
}

/// Counts what follows each word, for [`Contexts`].
pub(crate) struct ContextsLearner(Vec<[u64; FOLLOWERS]>);

impl ContextsLearner {
    /// No counts, for an alphabet of `symbols`.
    pub(crate) fn new(symbols: usize) -> ContextsLearner {
        ContextsLearner(vec![
            [0; FOLLOWERS];
            symbols.saturating_sub(FIRST_WORD as usize)
        ])
    }

    /// Counts `symbol` after `prev`.
    pub(crate) fn add(&mut self, prev: Option<u32>, symbol: u32) {
        if let Some(counts) = prev
            .and_then(|p| p.checked_sub(FIRST_WORD))
            .and_then(|w| self.0.get_mut(w as usize))
        {
            counts[usize::from(follower(symbol))] += 1;
        }
    }

    /// Each word's most frequent follower (the first of a tie).
    pub(crate) fn finish(self) -> Contexts {
        let after_word = self
            .0
            .iter()
            .map(|counts| {
                (0..FOLLOWERS).fold(0, |best, f| if counts[f] > counts[best] { f } else { best })
                    as u8
            })
            .collect();
        Contexts::new(after_word)
    }
}

/// Symbol counts per context, for [`ContextEncoder`].
pub(crate) struct ContextCounts {
    contexts: Contexts,
    counts: Vec<Vec<u64>>,
}

impl ContextCounts {
    /// Zero counts over an alphabet of `symbols`, in these contexts.
    pub(crate) fn new(symbols: usize, contexts: Contexts) -> ContextCounts {
        ContextCounts {
            contexts,
            counts: vec![vec![0; symbols]; CONTEXTS],
        }
    }

    /// Counts `symbol` after `prev`.
    pub(crate) fn add(&mut self, prev: Option<u32>, symbol: u32) {
        self.counts[self.contexts.of(prev)][symbol as usize] += 1;
    }

    /// The codes.
    pub(crate) fn codes(self) -> ContextCodes {
        ContextCodes {
            lengths: self.counts.iter().map(|c| lengths(c)).collect(),
            contexts: self.contexts,
        }
    }
}

/// The code lengths of every context, and the contexts.
pub(crate) struct ContextCodes {
    contexts: Contexts,
    lengths: Vec<Vec<u8>>,
}

impl ContextCodes {
    /// Serialises the contexts, then the lengths of every context.
    pub(crate) fn write(&self, out: &mut Vec<u8>) {
        self.contexts.write(out);
        for l in &self.lengths {
            write_lengths(l, out);
        }
    }

    /// The encoder.
    pub(crate) fn encoder(&self) -> ContextEncoder {
        ContextEncoder {
            contexts: self.contexts.clone(),
            codes: self.lengths.iter().map(|l| Encoder::new(l)).collect(),
        }
    }
}

/// Writes symbols with the code of their context.
pub(crate) struct ContextEncoder {
    contexts: Contexts,
    codes: Vec<Encoder>,
}

impl ContextEncoder {
    /// Writes `symbol`, which follows `prev`.
    #[inline]
    pub(crate) fn put(&self, w: &mut BitWriter, prev: Option<u32>, symbol: u32) {
        self.codes[self.contexts.of(prev)].put(w, symbol);
    }
}

/// Which code reads the next symbol: the context of the symbol before it
/// ([`ContextDecoder::context`]), carried from symbol to symbol by
/// [`ContextDecoder::next`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Context(u8);

/// Contexts in [`ContextDecoder`]'s table: [`CONTEXTS`] rounded up to a
/// power of two, so that a context read from an entry indexes it without
/// a bounds check.
const TABLE_CONTEXTS: usize = 16;

/// Reads symbols with the code of their context.
///
/// Decoding is the lookup's inner loop (2026-12-05, 1M rules: about a
/// third of a lookup's time went to loading a symbol's context and then its
/// code's table through a pointer). So the short codes of every context are
/// in one table whose entries also hold the context of the symbol after
/// the one they decode: one load per symbol, from a slot that depends only
/// on the entry before and the next bits.
#[derive(Debug, Clone)]
pub(crate) struct ContextDecoder {
    contexts: Contexts,
    /// Per context, indexed by the next [`TABLE_BITS`] bits: `symbol << 9 |
    /// context after it << 5 | length` for a code of up to [`TABLE_BITS`]
    /// bits; the shortest length of the longer codes starting with these
    /// bits (no symbol, no context); 0 when no code starts with them.
    table: Box<[[u32; 1 << TABLE_BITS]; TABLE_CONTEXTS]>,
    /// Second-level tables for the longer codes: an entry of `table` whose
    /// first bits start longer codes holds `offset << 9 | bits << 5 |
    /// shortest`, and `sub[offset..offset + (1 << bits)]`, indexed by the
    /// `bits` bits after the first [`TABLE_BITS`], holds entries as `table`
    /// does (`symbol << 9 | context after it << 5 | length`), 0 for a code
    /// longer than [`TABLE_BITS`] + `bits`.
    sub: Vec<u32>,
    /// Per context, the codes longer than [`TABLE_BITS`] (those longer
    /// than the second level are searched in canonical order).
    long: Vec<Long>,
}

/// The most bits a second-level table is indexed by (a word of a large
/// vocabulary has a code of 10-17 bits; 2026-12-05, 1M rules of the
/// `reorg` shape: 31 codes' second levels of up to 7 bits hold 26k entries).
const SUB_BITS: u32 = 7;

/// The second-level tables of one context's code (see
/// [`ContextDecoder::sub`]), starting at `base` in the shared table:
/// `slots` (that context's first level) are given their offsets, and the
/// entries are returned. `context` gives the context after a symbol.
fn second_level(
    lengths: &[u8],
    base: usize,
    slots: &mut [u32; 1 << TABLE_BITS],
    context: impl Fn(u32) -> u32,
) -> Option<Vec<u32>> {
    let (first, _) = canonical(lengths)?;
    // Each first-level prefix's longest code (up to the cap), then offsets.
    let mut bits = [0u32; 1 << TABLE_BITS];
    let codes = || {
        let mut next = first;
        lengths
            .iter()
            .enumerate()
            .filter(|(_, &l)| u32::from(l) > TABLE_BITS)
            .map(move |(s, &l)| {
                let l = u32::from(l);
                let code = next[l as usize];
                next[l as usize] += 1;
                (s as u32, l, code)
            })
    };
    // (Canonical codes are numbered per length in symbol order: the long
    // lengths' counters need no short code.)
    for (_, l, code) in codes() {
        let prefix = reverse(code >> (l - TABLE_BITS), TABLE_BITS) as usize;
        bits[prefix] = bits[prefix].max((l - TABLE_BITS).min(SUB_BITS));
    }
    let mut offsets = [0usize; 1 << TABLE_BITS];
    let mut total = 0usize;
    for (p, &b) in bits.iter().enumerate() {
        if b > 0 {
            offsets[p] = total;
            total += 1 << b;
        }
    }
    let mut sub = vec![0u32; total];
    for (s, l, code) in codes() {
        let prefix = reverse(code >> (l - TABLE_BITS), TABLE_BITS) as usize;
        let (b, rest) = (bits[prefix], l - TABLE_BITS);
        if rest > b {
            continue;
        }
        let r = reverse(code & ((1 << rest) - 1), rest) as usize;
        for f in 0..1usize << (b - rest) {
            sub[offsets[prefix] + (r | f << rest)] = s << 9 | (context(s) & 15) << 5 | l;
        }
    }
    for (p, slot) in slots.iter_mut().enumerate() {
        if bits[p] > 0 {
            let offset = u32::try_from(base + offsets[p])
                .ok()
                .filter(|&o| o < 1 << 23)?;
            *slot = offset << 9 | bits[p] << 5 | (*slot & 31);
        }
    }
    Some(sub)
}

impl ContextDecoder {
    /// Reads what [`ContextCodes::write`] wrote, for an alphabet of
    /// `symbols`; `None` if malformed.
    pub(crate) fn read(bytes: &[u8], symbols: usize) -> Option<ContextDecoder> {
        // A symbol and a context above 4 bits would not fit an entry.
        (symbols < 1 << 23).then_some(())?;
        let (contexts, mut at) = Contexts::read(bytes, symbols)?;
        let mut table = Box::new([[0u32; 1 << TABLE_BITS]; TABLE_CONTEXTS]);
        let mut long = Vec::with_capacity(CONTEXTS);
        let mut subs: Vec<Vec<u32>> = Vec::with_capacity(CONTEXTS);
        let mut base = 0usize;
        for slots in table.iter_mut().take(CONTEXTS) {
            let (lengths, used) = read_lengths(&bytes[at..])?;
            (lengths.len() == symbols).then_some(())?;
            let Some(Decoder {
                table: own,
                long: l,
            }) = Decoder::new(&lengths)
            else {
                crate::buf::scrub(lengths);
                return None;
            };
            for (slot, &e) in slots.iter_mut().zip(own.iter()) {
                let len = e & 31;
                *slot = if len == 0 || len > TABLE_BITS {
                    e
                } else {
                    let s = e >> 5;
                    s << 9 | (contexts.of(Some(s)) as u32) << 5 | len
                };
            }
            crate::buf::scrub((own as Box<[u32]>).into_vec());
            let sub = second_level(&lengths, base, slots, |s| contexts.of(Some(s)) as u32);
            crate::buf::scrub(lengths);
            let sub = sub?;
            base += sub.len();
            subs.push(sub);
            let mut l = l;
            for s in &mut l.sorted {
                *s = *s << 4 | (contexts.of(Some(*s)) & 15) as u32;
            }
            long.push(l);
            at += used;
        }
        let mut sub = Vec::with_capacity(base);
        for part in subs {
            sub.extend_from_slice(&part);
            crate::buf::scrub(part);
        }
        (at == bytes.len()).then_some(ContextDecoder {
            contexts,
            table,
            sub,
            long,
        })
    }

    /// The context of the symbol after `prev` (`None`: the first symbol).
    #[inline]
    pub(crate) fn context(&self, prev: Option<u32>) -> Context {
        Context(self.contexts.of(prev) as u8)
    }

    /// The next symbol, read in context `ctx`, which becomes the context
    /// of the symbol after it.
    #[inline]
    pub(crate) fn next(&self, r: &mut BitReader, ctx: &mut Context) -> Option<u32> {
        let bits = r.peek();
        let e = self.table[usize::from(ctx.0) & (TABLE_CONTEXTS - 1)]
            [(bits & ((1 << TABLE_BITS) - 1)) as usize];
        let mut len = e & 31;
        let symbol = if len.wrapping_sub(1) < TABLE_BITS {
            ctx.0 = (e >> 5 & 15) as u8;
            e >> 9
        } else {
            // Values in and out, so that the reader and the context stay
            // in registers in the caller's loop.
            let (symbol, long, after) = self.next_long(*ctx, bits, e)?;
            *ctx = after;
            len = long;
            symbol
        };
        r.consume(len);
        Some(symbol)
    }

    /// What [`ContextDecoder::next`] reads for a code longer than
    /// [`TABLE_BITS`] (or none: an entry `e` of length 0): the symbol, its
    /// length and the context after it.
    #[inline(never)]
    fn next_long(&self, ctx: Context, bits: u64, e: u32) -> Option<(u32, u32, Context)> {
        let shortest = e & 31;
        if shortest == 0 {
            return None;
        }
        let sub_bits = e >> 5 & 15;
        if sub_bits > 0 {
            let i = (e >> 9) as usize + (bits >> TABLE_BITS & ((1 << sub_bits) - 1)) as usize;
            let s = *self.sub.get(i)?;
            if s & 31 != 0 {
                return Some((s >> 9, s & 31, Context((s >> 5 & 15) as u8)));
            }
        }
        let (packed, len) = self.long.get(usize::from(ctx.0))?.decode(bits, shortest)?;
        Some((packed >> 4, len, Context((packed & 15) as u8)))
    }

    /// The next symbol, which follows `prev`.
    #[inline]
    pub(crate) fn decode(&self, r: &mut BitReader, prev: Option<u32>) -> Option<u32> {
        self.next(r, &mut self.context(prev))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip() {
        // Skewed counts: long codes past the table, and one unused symbol.
        let mut counts: Vec<u64> = (0..3000u64).map(|i| 1 + (1 << 30) / (i * i + 1)).collect();
        counts[7] = 0;
        let lengths = lengths(&counts);
        assert!(lengths.iter().any(|&l| u32::from(l) > TABLE_BITS));
        assert_eq!(lengths[7], 0);
        let enc = Encoder::new(&lengths);
        let mut w = BitWriter::default();
        let symbols: Vec<u32> = (0..20_000u32)
            .map(|i| (i * 7919) % 3000)
            .filter(|&s| s != 7)
            .collect();
        for &s in &symbols {
            enc.put(&mut w, s);
        }
        let bytes = w.finish();
        let mut bytes_out = Vec::new();
        write_lengths(&lengths, &mut bytes_out);
        let (read, n) = read_lengths(&bytes_out).unwrap();
        assert_eq!((read.as_slice(), n), (lengths.as_slice(), bytes_out.len()));
        let dec = Decoder::new(&read).unwrap();
        let mut r = BitReader::new(&bytes, 0);
        for &s in &symbols {
            assert_eq!(dec.decode(&mut r), Some(s));
        }
    }

    /// Symbols written with [`ContextEncoder`] come back from
    /// [`ContextDecoder::next`] with the context carried from each symbol
    /// to the next (in the table's entries for short codes, looked up
    /// after long ones), and from [`ContextDecoder::decode`].
    #[test]
    fn context_codes_round_trip() {
        // Bytes, END and 3,000 words, each word mostly followed by one of
        // the followers; skewed, so that words take long codes.
        let symbols = FIRST_WORD as usize + 3000;
        let mut x = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let followers = [b'-', b'/', b'.', b'?'].map(u32::from);
        let mut keys: Vec<Vec<u32>> = Vec::new();
        for _ in 0..3000 {
            let mut key = Vec::new();
            for _ in 0..1 + next() % 6 {
                let r = next();
                let word = FIRST_WORD + ((r % 3000) * (r % 3000) / 3000) as u32;
                key.push(word);
                key.push(followers[(word as usize + usize::from(r % 8 == 0)) % 4]);
            }
            key.push(u32::from(b'a' + (next() % 26) as u8));
            keys.push(key);
        }
        let codes = codes_of(&keys, symbols);
        assert!(codes
            .lengths
            .iter()
            .any(|l| l.iter().any(|&l| u32::from(l) > TABLE_BITS)));

        let enc = codes.encoder();
        let mut w = BitWriter::default();
        for key in &keys {
            coded_all(key, |p, s| enc.put(&mut w, p, s));
        }
        let bytes = w.finish();
        let mut table = Vec::new();
        codes.write(&mut table);
        let dec = ContextDecoder::read(&table, symbols).unwrap();
        let (mut r, mut r2) = (BitReader::new(&bytes, 0), BitReader::new(&bytes, 0));
        for key in &keys {
            let mut ctx = dec.context(None);
            let mut prev = None;
            for &s in key.iter().chain([&crate::vocab::END]) {
                assert_eq!(dec.next(&mut r, &mut ctx), Some(s));
                assert_eq!(ctx, dec.context(Some(s)));
                assert_eq!(dec.decode(&mut r2, prev), Some(s));
                prev = Some(s);
            }
        }
        assert_eq!(r.position(), r2.position());
        // Malformed: a table for another alphabet.
        assert!(ContextDecoder::read(&table, symbols + 1).is_none());
    }

    /// Codes past the second-level tables ([`SUB_BITS`]) are found by the
    /// search in canonical order, with the context after them.
    #[test]
    fn context_codes_longer_than_the_second_level_round_trip() {
        // One-word keys, the words counted as Fibonacci numbers: the first
        // symbol's code goes as deep as the lengths allow.
        let symbols = FIRST_WORD as usize + 26;
        let fib = fibonacci(26);
        let keys: Vec<Vec<u32>> = (0..26u32)
            .flat_map(|i| {
                let n = (fib[i as usize] as usize).min(5000);
                std::iter::repeat_n(vec![FIRST_WORD + i, u32::from(b'a' + i as u8)], n)
            })
            .collect();
        let codes = codes_of(&keys, symbols);
        assert!(codes
            .lengths
            .iter()
            .any(|l| l.iter().any(|&l| u32::from(l) > TABLE_BITS + SUB_BITS)));
        let enc = codes.encoder();
        let mut w = BitWriter::default();
        let sample: Vec<&Vec<u32>> = keys
            .iter()
            .step_by(7)
            .chain(keys.iter().rev().take(40))
            .collect();
        for key in &sample {
            coded_all(key, |p, s| enc.put(&mut w, p, s));
        }
        let bytes = w.finish();
        let mut table = Vec::new();
        codes.write(&mut table);
        let dec = ContextDecoder::read(&table, symbols).unwrap();
        let mut r = BitReader::new(&bytes, 0);
        for key in &sample {
            let mut ctx = dec.context(None);
            for &s in key.iter().chain([&crate::vocab::END]) {
                assert_eq!(dec.next(&mut r, &mut ctx), Some(s));
                assert_eq!(ctx, dec.context(Some(s)));
            }
        }
    }

    /// The context codes learnt from `keys` (symbols below `symbols`).
    fn codes_of(keys: &[Vec<u32>], symbols: usize) -> ContextCodes {
        let mut learner = ContextsLearner::new(symbols);
        for key in keys {
            coded_all(key, |p, s| learner.add(p, s));
        }
        let mut counts = ContextCounts::new(symbols, learner.finish());
        for key in keys {
            coded_all(key, |p, s| counts.add(p, s));
        }
        counts.codes()
    }

    /// Calls `f` with each symbol of `key` and the one before, then END.
    fn coded_all(key: &[u32], mut f: impl FnMut(Option<u32>, u32)) {
        let mut prev = None;
        for &s in key.iter().chain([&crate::vocab::END]) {
            f(prev, s);
            prev = Some(s);
        }
    }

    /// The first `n` Fibonacci numbers: counts that give the deepest
    /// Huffman trees.
    fn fibonacci(n: usize) -> Vec<u64> {
        let mut counts = vec![1u64, 1];
        while counts.len() < n {
            let k = counts.len();
            counts.push(counts[k - 1] + counts[k - 2]);
        }
        counts
    }

    /// Every decode against a bit-by-bit walk of the canonical codes, on
    /// an incomplete code with codes up to [`MAX_LEN`] bits (so the table
    /// has long-code and unused entries): the same symbol and length, or
    /// no code, for every start of 16 bits and for pseudo-random bits.
    #[test]
    fn decoding_agrees_with_a_bit_by_bit_walk() {
        let mut counts = fibonacci(40);
        counts.extend((0..2000u64).map(|i| 1 + 1_000_000 / (i + 1)));
        let mut lengths = lengths(&counts);
        assert_eq!(lengths.iter().map(|&l| u32::from(l)).max(), Some(MAX_LEN));
        // Drop a few codes, short and long: bit strings that are no code.
        for s in [0, 1, 45, 1500, counts.len() - 1] {
            lengths[s] = 0;
        }
        let (first, _) = canonical(&lengths).unwrap();
        let mut next = first;
        let mut code_of = std::collections::HashMap::new();
        for (s, &l) in lengths.iter().enumerate() {
            if l > 0 {
                code_of.insert((u32::from(l), next[usize::from(l)]), s as u32);
                next[usize::from(l)] += 1;
            }
        }
        let walk = |bits: u64| -> Option<(u32, u32)> {
            let mut code = 0u32;
            for len in 1..=MAX_LEN {
                code = code << 1 | ((bits >> (len - 1)) & 1) as u32;
                if let Some(&s) = code_of.get(&(len, code)) {
                    return Some((s, len));
                }
            }
            None
        };
        let dec = Decoder::new(&lengths).unwrap();
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        let inputs = (0..1u64 << 16).chain((0..200_000).map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        }));
        let mut long = 0;
        for bits in inputs {
            let bytes = bits.to_le_bytes();
            let mut r = BitReader::new(&bytes, 0);
            let got = dec.decode(&mut r).map(|s| (s, r.position() as u32));
            assert_eq!(got, walk(bits), "bits {bits:#x}");
            long += usize::from(got.is_some_and(|(_, l)| l > TABLE_BITS));
        }
        assert!(long > 1000, "long codes were decoded: {long}");
    }

    #[test]
    fn lengths_are_limited_and_edge_cases_work() {
        let counts = fibonacci(60);
        let l = lengths(&counts);
        assert!(l.iter().all(|&l| l > 0 && u32::from(l) <= MAX_LEN));
        assert!(Decoder::new(&l).is_some());
        assert_eq!(lengths(&[0, 5, 0]), vec![0, 1, 0]);
        assert_eq!(lengths(&[0, 0]), vec![0, 0]);
        let empty = Decoder::new(&[0, 0]).unwrap();
        assert_eq!(empty.decode(&mut BitReader::new(&[0xff; 8], 0)), None);
        // Not a prefix code: three codes of length 1.
        assert!(Decoder::new(&[1, 1, 1]).is_none());
    }

    #[test]
    fn a_word_s_context_is_what_follows_it_most() {
        let w = |i: u32| FIRST_WORD + i;
        // Alphabet: bytes, END, five words.
        let symbols = FIRST_WORD as usize + 5;
        let mut learner = ContextsLearner::new(symbols);
        for (word, follower, times) in [
            (0, u32::from(b'-'), 3),
            (0, crate::vocab::END, 2),
            (1, u32::from(b'/'), 1),
            (2, u32::from(b'.'), 2),
            (2, crate::vocab::END, 1),
            (2, u32::from(b'?'), 1),
            // A tie: the first follower of the list wins.
            (3, u32::from(b'.'), 1),
            (3, u32::from(b'/'), 1),
            // Word 4 is never seen: the shared context.
        ] {
            for _ in 0..times {
                learner.add(Some(w(word)), follower);
            }
        }
        // Bytes before are not counted.
        learner.add(Some(u32::from(b'a')), u32::from(b'-'));
        let contexts = learner.finish();
        assert_eq!(contexts.after_word, [1, 2, 3, 2, 0]);
        assert_eq!(
            [0, 1, 2, 3, 4].map(|i| contexts.of(Some(w(i)))),
            [11, 12, 13, 12, 1]
        );
        assert_eq!(contexts.of(None), 0);
        assert_eq!(contexts.of(Some(u32::from(b'/'))), 2);
        // Round trip, and malformed contexts refused.
        let mut bytes = Vec::new();
        contexts.write(&mut bytes);
        assert_eq!(
            Contexts::read(&bytes, symbols),
            Some((contexts, bytes.len()))
        );
        assert_eq!(Contexts::read(&bytes, symbols + 1), None);
        assert_eq!(Contexts::read(&bytes[..bytes.len() - 1], symbols), None);
        let bad = Contexts::new(vec![5, 0, 0, 0, 0]);
        let mut bytes = Vec::new();
        bad.write(&mut bytes);
        assert_eq!(Contexts::read(&bytes, symbols), None);
    }
}
