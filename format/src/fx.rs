//! FxHash (rustc's: a multiply and a rotate per word), the one fast hasher
//! of the workspace: for the builder's and the compiler's maps, whose keys
//! come from the rules file rather than from a network peer (SipHash's
//! protection buys nothing there and costs more than the rest of a
//! lookup), and for the tables a loaded table builds (its word table, the
//! Bloom filter of prefix keys).

use std::hash::{BuildHasherDefault, Hasher};

const K: u64 = 0x51_7c_c1_b7_27_22_0a_95;

/// FxHash.
#[derive(Default, Clone, Copy)]
pub struct FxHasher(u64);

impl FxHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(K);
    }
}

impl Hasher for FxHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            self.add(u64::from_le_bytes(c.try_into().expect("8 bytes")));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut last = [0u8; 8];
            last[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(last));
        }
    }

    fn write_u8(&mut self, n: u8) {
        self.add(u64::from(n));
    }

    fn write_usize(&mut self, n: usize) {
        self.add(n as u64);
    }

    fn write_u64(&mut self, n: u64) {
        self.add(n);
    }

    /// The state rotated left by 26 bits (as rustc-hash 2 does): a
    /// multiply mixes bits upwards, so the state's high bits are its
    /// best-mixed; the rotation brings them to the low bits that tables
    /// index with (`hash & mask`). Without it, the low bits of a short
    /// word's hash followed its first 12 bits: on the word lists of
    /// 1M generated rules of each shape, a word took 6.6-10 probes of
    /// the word table to find instead of 1.2.
    fn finish(&self) -> u64 {
        self.0.rotate_left(26)
    }
}

/// Builds [`FxHasher`]s.
pub type FxBuild = BuildHasherDefault<FxHasher>;
/// A `HashMap` with [`FxHasher`].
pub type FxHashMap<K, V> = std::collections::HashMap<K, V, FxBuild>;
/// A `HashSet` with [`FxHasher`].
pub type FxHashSet<T> = std::collections::HashSet<T, FxBuild>;

/// The hash of a byte string (its 8-byte words, the last one padded with
/// zeros, then its length).
#[inline]
pub fn hash(bytes: &[u8]) -> u64 {
    let mut h = FxHasher::default();
    h.write(bytes);
    h.add(bytes.len() as u64);
    h.finish()
}
