//! The word list: frequent words of a table's keys and targets, each one
//! symbol of the table's codes (module `huffman`), so that a word costs
//! its code (about ten bits for a word of a large vocabulary) instead of a
//! byte per letter.
//!
//! A word is a maximal run of 2 to 64 ASCII letters and digits. Text
//! becomes symbols run by run: a run that is a listed word becomes that
//! word's symbol, anything else one symbol per byte ([`RAW`] symbols are
//! the byte values). Rules and requests go through the same
//! [`Vocab::symbols`], so two texts have the same symbols exactly when they
//! are the same bytes.
//!
//! Serialised as `u32 LE n`, `n` word lengths (one byte each), the words.

use crate::fx::{hash, FxBuild};
use std::collections::HashMap;

/// Symbols below this are byte values.
pub(crate) const RAW: u32 = 256;
/// Ends a key or a template.
pub(crate) const END: u32 = 256;
/// The symbol of word 0.
pub(crate) const FIRST_WORD: u32 = 257;
/// The most words a table lists.
const MAX_WORDS: usize = 1 << 16;
/// The longest word.
const MAX_WORD: usize = 64;

/// A table's words, and a hash table to find a word's number.
///
/// In memory each word is a record of its length (one byte), its number
/// (two bytes, little-endian) and its bytes, and a hash slot names the
/// record: finding a request's word reads its slot and then one place
/// (a probe used to read the slot, the word's end and start, then its
/// bytes: three places at random, each a cache miss, and in a fresh
/// instance a page fault).
#[derive(Debug, Clone, Default)]
pub(crate) struct Vocab {
    records: Vec<u8>,
    /// Where each word's record starts in `records`.
    starts: Vec<u32>,
    /// Open addressing by [`hash`]: record start + 1, 0 for an empty slot.
    slots: Vec<u32>,
}

/// Bytes of a record before the word's.
const RECORD_HEAD: usize = 3;

/// The runs of `bytes`: maximal runs of ASCII letters and digits, and
/// every other byte on its own.
fn runs(bytes: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut rest = bytes;
    std::iter::from_fn(move || {
        let first = *rest.first()?;
        let n = if first.is_ascii_alphanumeric() {
            rest.iter()
                .take_while(|b| b.is_ascii_alphanumeric())
                .count()
        } else {
            1
        };
        let (run, after) = rest.split_at(n);
        rest = after;
        Some(run)
    })
}

fn is_word(run: &[u8]) -> bool {
    (2..=MAX_WORD).contains(&run.len()) && run.iter().all(u8::is_ascii_alphanumeric)
}

impl Vocab {
    /// Chooses the words for these texts: those used at least twice that
    /// save the most, at most [`MAX_WORDS`]. Words are counted in every
    /// `step`-th text. Deterministic.
    pub(crate) fn choose<'a>(texts: impl Iterator<Item = &'a [u8]>, step: usize) -> Vocab {
        let mut counts: HashMap<&[u8], u64, FxBuild> = HashMap::default();
        for text in texts.step_by(step.max(1)) {
            for run in runs(text).filter(|r| is_word(r)) {
                *counts.entry(run).or_default() += 1;
            }
        }
        let mut ranked: Vec<(&[u8], u64)> = counts.into_iter().filter(|&(_, n)| n >= 2).collect();
        let score = |(w, n): &(&[u8], u64)| (w.len() as u64 - 1) * n;
        ranked.sort_unstable_by(|a, b| score(b).cmp(&score(a)).then(a.0.cmp(b.0)));
        ranked.truncate(MAX_WORDS);
        let mut words: Vec<&[u8]> = ranked.into_iter().map(|(w, _)| w).collect();
        words.sort_unstable();
        Vocab::from_words(&words).expect("distinct words")
    }

    /// The vocabulary of these distinct words (numbered in this order);
    /// `None` if one is not a word or is listed twice.
    fn from_words(words: &[&[u8]]) -> Option<Vocab> {
        if words.len() > MAX_WORDS {
            return None;
        }
        let mut v = Vocab {
            records: Vec::with_capacity(words.iter().map(|w| RECORD_HEAD + w.len()).sum()),
            starts: Vec::with_capacity(words.len()),
            slots: vec![0; (2 * words.len()).next_power_of_two().max(2)],
        };
        for (number, w) in words.iter().enumerate() {
            if !is_word(w) || v.id(w).is_some() {
                return None;
            }
            let start = u32::try_from(v.records.len()).ok()?;
            v.records.push(w.len() as u8);
            v.records.extend_from_slice(&(number as u16).to_le_bytes());
            v.records.extend_from_slice(w);
            v.starts.push(start);
            let free = v.probes(w).find(|&i| v.slots[i] == 0)?;
            v.slots[free] = start + 1;
        }
        Some(v)
    }

    /// The slots `word` may be in, in the order to look (linear probing
    /// from its hash; endless, wrapping around). The slots must not be
    /// empty.
    #[inline]
    fn probes(&self, word: &[u8]) -> impl Iterator<Item = usize> {
        let mask = self.slots.len() - 1;
        let home = hash(word) as usize;
        (0..).map(move |k: usize| home.wrapping_add(k) & mask)
    }

    /// Number of words.
    pub(crate) fn len(&self) -> usize {
        self.starts.len()
    }

    /// Number of symbols: the byte values, [`END`] and the words.
    pub(crate) fn symbols_len(&self) -> usize {
        FIRST_WORD as usize + self.len()
    }

    /// Word `i`.
    pub(crate) fn word(&self, i: usize) -> Option<&[u8]> {
        Some(self.record(*self.starts.get(i)? as usize)?.1)
    }

    /// The number and the bytes of the word whose record starts at `start`.
    #[inline]
    fn record(&self, start: usize) -> Option<(u32, &[u8])> {
        let head = self.records.get(start..start.checked_add(RECORD_HEAD)?)?;
        let number = u32::from(u16::from_le_bytes([head[1], head[2]]));
        let at = start + RECORD_HEAD;
        Some((number, self.records.get(at..at + usize::from(head[0]))?))
    }

    /// The number of `word`, if it is listed.
    #[inline]
    pub(crate) fn id(&self, word: &[u8]) -> Option<u32> {
        if self.slots.is_empty() {
            return None;
        }
        for i in self.probes(word) {
            let slot = self.slots[i];
            if slot == 0 {
                return None;
            }
            match self.record(slot as usize - 1) {
                Some((number, w)) if w == word => return Some(number),
                _ => {}
            }
        }
        None
    }

    /// Calls `f` with each symbol of `text`, in order, while it returns
    /// `true`; whether it always did.
    #[inline]
    pub(crate) fn symbols(&self, text: &[u8], mut f: impl FnMut(u32) -> bool) -> bool {
        for run in runs(text) {
            let word = if run.len() >= 2 { self.id(run) } else { None };
            match word {
                Some(id) => {
                    if !f(FIRST_WORD + id) {
                        return false;
                    }
                }
                None => {
                    for &b in run {
                        if !f(u32::from(b)) {
                            return false;
                        }
                    }
                }
            }
        }
        true
    }

    /// The bytes of a symbol other than [`END`]; `None` for an unknown one.
    #[inline]
    pub(crate) fn text<'a>(&'a self, symbol: u32, byte: &'a mut [u8; 1]) -> Option<&'a [u8]> {
        if symbol < RAW {
            byte[0] = symbol as u8;
            return Some(&byte[..]);
        }
        self.word(symbol.checked_sub(FIRST_WORD)? as usize)
    }

    /// The bytes of a key given as symbols, into `out` (cleared first); an
    /// unknown symbol adds nothing (a key index that holds one fails its
    /// own check).
    pub(crate) fn key_text(&self, key: &[u32], out: &mut Vec<u8>) {
        out.clear();
        let mut byte = [0u8];
        for &s in key {
            out.extend_from_slice(self.text(s, &mut byte).unwrap_or_default());
        }
    }

    /// The serialised word list.
    pub(crate) fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(4 + self.records.len());
        out.extend_from_slice(&(self.len() as u32).to_le_bytes());
        out.extend((0..self.len()).map(|i| self.word(i).map_or(0, |w| w.len() as u8)));
        for i in 0..self.len() {
            out.extend_from_slice(self.word(i).unwrap_or_default());
        }
        out
    }

    /// Reads [`Vocab::to_bytes`]; `None` if the bytes are not a word list.
    pub(crate) fn from_bytes(bytes: &[u8]) -> Option<Vocab> {
        let n = u32::from_le_bytes(bytes.get(..4)?.try_into().ok()?) as usize;
        let lens = bytes.get(4..4usize.checked_add(n)?)?;
        let mut at = 4 + n;
        let mut words = Vec::with_capacity(n);
        for &l in lens {
            words.push(bytes.get(at..at + usize::from(l))?);
            at += usize::from(l);
        }
        let vocab = (at == bytes.len() && n <= MAX_WORDS)
            .then(|| Vocab::from_words(&words))
            .flatten();
        crate::buf::scrub(words);
        vocab
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn syms(v: &Vocab, text: &[u8]) -> Vec<u32> {
        let mut out = Vec::new();
        assert!(v.symbols(text, |s| {
            out.push(s);
            true
        }));
        out
    }

    #[test]
    fn words_become_one_symbol_and_round_trip() {
        let texts: Vec<&[u8]> = vec![
            b"/blog/2006/modern-edge",
            b"/blog/2007/modern-photo",
            b"/blog/x/a",
            b"/shop/edge",
        ];
        let v = Vocab::choose(texts.iter().copied(), 1);
        assert!(v.id(b"blog").is_some() && v.id(b"modern").is_some());
        assert!(v.id(b"shop").is_none(), "used once");
        let s = syms(&v, b"/blog/2006/modern-edgey\x00\xff");
        assert_eq!(s[0], u32::from(b'/'));
        assert_eq!(s[1], FIRST_WORD + v.id(b"blog").unwrap());
        let mut back = Vec::new();
        let mut byte = [0u8];
        for &x in &s {
            back.extend_from_slice(v.text(x, &mut byte).unwrap());
        }
        assert_eq!(back, b"/blog/2006/modern-edgey\x00\xff");
        // `edgey` is not `edge`: its own bytes.
        assert!(s.contains(&u32::from(b'y')));
        let again = Vocab::from_bytes(&v.to_bytes()).unwrap();
        assert_eq!(syms(&again, b"/blog/modern"), syms(&v, b"/blog/modern"));
        assert!(Vocab::from_bytes(&v.to_bytes()[1..]).is_none());
        assert!(Vocab::from_words(&[b"ab", b"ab"]).is_none());
        assert!(Vocab::from_words(&[b"a-b"]).is_none());
        assert_eq!(Vocab::default().len(), 0);
    }

    #[test]
    fn word_table_probe_runs_are_short() {
        // 8,000 made-up words of two or three syllables (like the rule
        // generator's): with the table's load under 1/2, linear probing
        // finds a word in well under two probes when the hash's low bits
        // are well mixed (FxHash's raw state, whose low bits follow the
        // words' first letters, took 10.7 here).
        const SYLLABLES: [&str; 20] = [
            "ka", "lo", "mi", "ne", "ru", "sa", "ti", "vo", "be", "da", "fu", "ga", "hi", "jo",
            "pe", "qu", "wi", "xe", "yo", "zu",
        ];
        let words: Vec<Vec<u8>> = (0..8000usize)
            .map(|i| {
                let mut w = String::new();
                for k in [i % 20, i / 20 % 20, i / 400 % 20] {
                    w.push_str(SYLLABLES[k]);
                }
                w.into_bytes()
            })
            .collect();
        let mut sorted: Vec<&[u8]> = words.iter().map(|w| w.as_slice()).collect();
        sorted.sort_unstable();
        sorted.dedup();
        let v = Vocab::from_words(&sorted).unwrap();
        let probes: usize = sorted
            .iter()
            .map(|w| {
                let found = v
                    .probes(w)
                    .position(|i| v.record(v.slots[i] as usize - 1).map(|r| r.1) == Some(w));
                found.expect("every listed word is found") + 1
            })
            .sum();
        let mean = probes as f64 / sorted.len() as f64;
        assert!(mean < 2.0, "mean probes {mean:.2}");
    }
}
