//! The key dictionary: frequent words of the exact keys, each replaced by
//! one byte that no exact key uses, so the fst has fewer transitions per
//! key (about a third fewer bytes at a million generated rules).
//!
//! A word is a maximal run of ASCII letters and digits (`products`,
//! `2006`, `html`). Encoding goes run by run: a run that is a dictionary
//! word becomes its code; any other byte is kept, escaped with the escape
//! byte when it equals a code or the escape byte itself (which happens only
//! in requests: the codes are chosen among the bytes no rule key holds).
//! Rules and requests go through the same [`Tokens::encode_into`], so two
//! keys are equal after encoding exactly when they were equal before.
//!
//! Only exact keys are encoded: a prefix rule may end inside a word
//! (`/docs/ab*` matches `/docs/abc`), which an encoding by whole words
//! would hide, so prefix keys stay raw.
//!
//! Serialised as `esc n (code len word){n}`; `esc` 0 means no dictionary.

use crate::FormatError;
use std::collections::HashMap;

/// The longest word worth a code.
const MAX_WORD: usize = 64;

/// A word dictionary and its escape byte.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Tokens {
    /// Escape byte, 0 when there is no dictionary.
    esc: u8,
    /// Whether each byte value is a code (or the escape byte).
    special: [bool; 256],
    /// (word, code), sorted by word.
    words: Vec<(Vec<u8>, u8)>,
    /// For each first byte, where its words start in `words` (and the
    /// next byte's entry, where they end).
    first: [u16; 257],
}

impl Default for Tokens {
    fn default() -> Tokens {
        Tokens::new(0, Vec::new())
    }
}

/// The alphanumeric runs and single other bytes of `bytes`, in order.
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

impl Tokens {
    /// Chooses the dictionary for these keys (without their kind byte):
    /// the words saving the most bytes, as many as there are byte values
    /// that no key uses (minus one for the escape byte). Words are counted
    /// in every `step`-th key (a sample is enough to rank them; every key
    /// is scanned for used bytes). Deterministic.
    pub(crate) fn choose<'a>(keys: impl Iterator<Item = &'a [u8]>, step: usize) -> Tokens {
        let mut used = [false; 256];
        used[0] = true;
        let mut counts: HashMap<&[u8], u64> = HashMap::new();
        for (i, key) in keys.enumerate() {
            for &b in key {
                used[usize::from(b)] = true;
            }
            if i % step.max(1) != 0 {
                continue;
            }
            for run in runs(key) {
                if run.len() >= 2 && run.len() <= MAX_WORD && run[0].is_ascii_alphanumeric() {
                    *counts.entry(run).or_default() += 1;
                }
            }
        }
        let free: Vec<u8> = (1..=255u8)
            .filter(|&b| !used[usize::from(b)] && !b.is_ascii_alphanumeric())
            .collect();
        let Some((&esc, codes)) = free.split_first() else {
            return Tokens::default();
        };
        let mut ranked: Vec<(&[u8], u64)> = counts
            .into_iter()
            .filter(|&(w, n)| n >= 2 && (w.len() as u64 - 1) * n >= 4)
            .collect();
        ranked.sort_unstable_by(|a, b| {
            let score = |(w, n): &(&[u8], u64)| (w.len() as u64 - 1) * n;
            score(b).cmp(&score(a)).then(a.0.cmp(b.0))
        });
        let words = ranked
            .into_iter()
            .zip(codes)
            .map(|((w, _), &c)| (w.to_vec(), c))
            .collect();
        Tokens::new(esc, words)
    }

    fn new(esc: u8, mut words: Vec<(Vec<u8>, u8)>) -> Tokens {
        words.sort_unstable();
        let mut special = [false; 256];
        if esc != 0 {
            special[usize::from(esc)] = true;
        }
        for (_, c) in &words {
            special[usize::from(*c)] = true;
        }
        let mut first = [0u16; 257];
        for (b, start) in first.iter_mut().enumerate() {
            *start =
                words.partition_point(|(w, _)| w.first().map_or(0, |&c| usize::from(c)) < b) as u16;
        }
        Tokens {
            esc,
            special,
            words,
            first,
        }
    }

    /// The code of a word, if it has one.
    fn code(&self, run: &[u8]) -> Option<u8> {
        let b = usize::from(*run.first()?);
        let range = usize::from(self.first[b])..usize::from(self.first[b + 1]);
        let words = self.words.get(range)?;
        let i = words
            .binary_search_by(|(w, _)| w.as_slice().cmp(run))
            .ok()?;
        Some(words[i].1)
    }

    /// Appends the encoding of `bytes` to `out`.
    pub(crate) fn encode_into(&self, bytes: &[u8], out: &mut Vec<u8>) {
        self.encode_with(bytes, |b| {
            out.push(b);
            true
        });
    }

    /// Passes the encoding of `bytes` to `f` byte by byte, stopping (and
    /// returning `false`) as soon as `f` returns `false`. Encoding is by
    /// runs, and a run never spans a byte that is not a letter or digit,
    /// so the encoding of `a` then `b` is that of `a b` whenever `a` ends
    /// or `b` starts with such a byte (a host and its path; a path, NUL
    /// and a query).
    pub(crate) fn encode_with(&self, bytes: &[u8], mut f: impl FnMut(u8) -> bool) -> bool {
        if self.esc == 0 {
            return bytes.iter().all(|&b| f(b));
        }
        for run in runs(bytes) {
            if run[0].is_ascii_alphanumeric() {
                if let Some(code) = self.code(run) {
                    if !f(code) {
                        return false;
                    }
                    continue;
                }
            }
            for &b in run {
                if self.special[usize::from(b)] && !f(self.esc) {
                    return false;
                }
                if !f(b) {
                    return false;
                }
            }
        }
        true
    }

    /// Decodes what [`Tokens::encode_into`] wrote (codes back to their
    /// words, escapes removed), appending to `out`.
    pub(crate) fn decode_into(&self, encoded: &[u8], out: &mut Vec<u8>) {
        let mut bytes = encoded.iter();
        while let Some(&b) = bytes.next() {
            if self.esc != 0 && b == self.esc {
                out.extend(bytes.next());
            } else if self.special[usize::from(b)] {
                let word = self.words.iter().find(|(_, c)| *c == b);
                out.extend_from_slice(word.map_or(&[][..], |(w, _)| w));
            } else {
                out.push(b);
            }
        }
    }

    /// Number of words.
    pub(crate) fn len(&self) -> usize {
        self.words.len()
    }

    /// The serialised dictionary.
    pub(crate) fn to_bytes(&self) -> Vec<u8> {
        let mut out = vec![self.esc];
        out.extend_from_slice(&(self.words.len() as u16).to_le_bytes());
        for (w, c) in &self.words {
            out.push(*c);
            out.push(w.len() as u8);
            out.extend_from_slice(w);
        }
        out
    }

    /// Reads [`Tokens::to_bytes`], checking that codes are distinct,
    /// not alphanumeric and not the escape byte, and words are
    /// alphanumeric runs.
    pub(crate) fn from_bytes(bytes: &[u8]) -> Result<Tokens, FormatError> {
        let bad = || FormatError::BadDictionary;
        let (&esc, rest) = bytes.split_first().ok_or_else(bad)?;
        let n = u16::from_le_bytes(
            rest.get(..2)
                .ok_or_else(bad)?
                .try_into()
                .map_err(|_| bad())?,
        );
        let mut rest = &rest[2..];
        let mut words = Vec::with_capacity(usize::from(n));
        let mut seen = [false; 256];
        seen[0] = true;
        seen[usize::from(esc)] = esc != 0;
        for _ in 0..n {
            let [code, len, ..] = *rest else {
                return Err(bad());
            };
            let word = rest.get(2..2 + usize::from(len)).ok_or_else(bad)?;
            if esc == 0
                || seen[usize::from(code)]
                || code.is_ascii_alphanumeric()
                || word.is_empty()
                || !word.iter().all(u8::is_ascii_alphanumeric)
            {
                return Err(bad());
            }
            seen[usize::from(code)] = true;
            words.push((word.to_vec(), code));
            rest = &rest[2 + usize::from(len)..];
        }
        if !rest.is_empty() {
            return Err(bad());
        }
        let tokens = Tokens::new(esc, words);
        if tokens.words.windows(2).any(|w| w[0].0 == w[1].0) {
            return Err(bad());
        }
        Ok(tokens)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(t: &Tokens, s: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        t.encode_into(s, &mut out);
        out
    }

    #[test]
    fn frequent_words_get_unused_bytes() {
        let keys: Vec<&[u8]> = vec![b"/products/a", b"/products/b", b"/products/c"];
        let t = Tokens::choose(keys.iter().copied(), 1);
        assert_eq!(t.len(), 1);
        let code = encode(&t, b"/products");
        assert_eq!(code.len(), 2);
        assert_eq!(code[0], b'/');
        // Distinct inputs stay distinct, including ones holding code bytes.
        let esc = t.esc;
        let tricky = [
            b"/products".to_vec(),
            vec![b'/', code[1]],
            vec![b'/', esc, code[1]],
            b"/productsx".to_vec(),
            b"/product".to_vec(),
        ];
        let encoded: Vec<_> = tricky.iter().map(|k| encode(&t, k)).collect();
        for (k, e) in tricky.iter().zip(&encoded) {
            let mut back = Vec::new();
            t.decode_into(e, &mut back);
            assert_eq!(&back, k);
        }
        for i in 0..encoded.len() {
            for j in 0..i {
                assert_ne!(encoded[i], encoded[j], "{i} {j}");
            }
        }
        assert_eq!(Tokens::from_bytes(&t.to_bytes()).unwrap(), t);
    }

    #[test]
    fn no_free_byte_means_no_dictionary() {
        let all: Vec<u8> = (1..=255).collect();
        let keys: Vec<&[u8]> = vec![&all, b"/word/word/word"];
        let t = Tokens::choose(keys.iter().copied(), 1);
        assert_eq!(t.len(), 0);
        assert_eq!(encode(&t, b"/word"), b"/word");
        assert_eq!(Tokens::from_bytes(&t.to_bytes()).unwrap(), t);
    }

    #[test]
    fn rejects_bad_dictionaries() {
        for bad in [
            &b""[..],
            b"\x01\x01\x00",
            b"\x01\x01\x00\x01\x01a",
            b"\x01\x01\x00\x80\x01-",
        ] {
            assert!(
                matches!(Tokens::from_bytes(bad), Err(FormatError::BadDictionary)),
                "{bad:?}"
            );
        }
    }
}
