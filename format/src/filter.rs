//! A Bloom filter of keys. The prefix rules' keys are put in one when a
//! table is loaded: a request that no prefix rule can match (most
//! requests, when prefix rules are few) is told so without searching the
//! index at each of its path's depths. With the keys hashed (module
//! `hashed`), the exact keys that name a host are put in another: a
//! request's host that rules name is tried without a probe of the slots
//! (a cache miss) when the key is certainly not there.

use crate::fx::hash;

/// Bits per key.
const BITS_PER_KEY: usize = 16;
/// Bits set per key.
const PROBES: u64 = 4;

/// The filter.
#[derive(Debug, Clone, Default)]
pub(crate) struct Filter {
    bits: Vec<u64>,
}

impl Filter {
    /// An empty filter with room for `keys` keys.
    pub(crate) fn with_capacity(keys: usize) -> Filter {
        let words = (keys * BITS_PER_KEY).div_ceil(64).next_power_of_two();
        Filter {
            bits: vec![0; if keys == 0 { 0 } else { words }],
        }
    }

    /// The bytes its bits take.
    pub(crate) fn bytes(&self) -> usize {
        self.bits.len() * 8
    }

    /// Whether keys may be added (it was made with room for some).
    pub(crate) fn has_room(&self) -> bool {
        !self.bits.is_empty()
    }

    /// Adds a key; see [`Filter::has_room`].
    pub(crate) fn insert(&mut self, key: &[u8]) {
        self.insert_hash(hash(key));
    }

    /// Adds a key by its [`crate::fx::hash`]; see [`Filter::has_room`].
    pub(crate) fn insert_hash(&mut self, h: u64) {
        assert!(self.has_room(), "a filter with room");
        for (word, bit) in probes(h, self.bits.len()) {
            self.bits[word] |= bit;
        }
    }

    /// Whether `key` may have been added (`false`: it certainly was not).
    #[inline]
    pub(crate) fn may_contain(&self, key: &[u8]) -> bool {
        self.has_room()
            && probes(hash(key), self.bits.len()).all(|(word, bit)| self.bits[word] & bit != 0)
    }
}

/// The bits of a key whose hash is `h` in a filter of `words` words (a
/// power of two): word and mask.
fn probes(h: u64, words: usize) -> impl Iterator<Item = (usize, u64)> {
    let (h1, h2) = (h, h.rotate_left(32) | 1);
    let mask = (words * 64 - 1) as u64;
    (0..PROBES).map(move |i| {
        let bit = h1.wrapping_add(i.wrapping_mul(h2)) & mask;
        ((bit / 64) as usize, 1u64 << (bit % 64))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holds_what_was_added_and_rejects_most_else() {
        let mut f = Filter::with_capacity(1000);
        for i in 0..1000 {
            f.insert(format!("*/legacy/{i}").as_bytes());
        }
        assert!((0..1000).all(|i| f.may_contain(format!("*/legacy/{i}").as_bytes())));
        let false_positives = (0..10_000)
            .filter(|i| f.may_contain(format!("*/other/{i}").as_bytes()))
            .count();
        assert!(false_positives < 100, "{false_positives}");
        assert!(!Filter::default().may_contain(b"*"));
    }
}
