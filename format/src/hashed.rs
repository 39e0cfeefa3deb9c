//! An in-memory hash of every key to its value, built on request after a
//! table is loaded ([`crate::Table::hash_keys`]): memory for speed, for a
//! host that keeps one lookup instance for many requests.
//!
//! A lookup without it turns the key into symbols, searches the buckets'
//! first keys and decodes a bucket (about 2 us natively at a million
//! rules); with it, the key's bytes are hashed and one slot compared. A
//! slot holds the key's 64-bit hash, not the key: the hash is SipHash-2-4
//! keyed with a seed the host draws at random, so no request can be made
//! to land on another key's slot on purpose, and a chance one would take
//! some 2^64 requests per key probed. Two keys of the table with the same
//! hash make [`Hashed::build`] give up (the host keeps the plain lookup).
//!
//! A slot also holds where the value's template record starts in the
//! templates' bit stream, so that a hashed lookup decodes that one record
//! instead of skipping from the nearest kept start (module `store`): one
//! cache miss fewer per lookup, in the same 20 bytes.
//!
//! A slot is 20 bytes and the table is three quarters full at most: about
//! 27 bytes per rule, in memory only (never in the table file or the Wizer
//! snapshot, which are built before any host asks for it).

#![allow(deprecated)] // `SipHasher`: std's keyed SipHash-2-4, stable, no crate.

use crate::filter::Filter;
use crate::raw::{Value, EXACT};
use std::hash::{Hasher, SipHasher};

/// One slot: the key's hash (`0` for an empty slot, so a hash of `0`
/// counts as `1`), then the value's fields.
#[derive(Clone, Copy, Default)]
#[repr(C)]
struct Slot {
    hash: [u32; 2],
    /// The template number, with [`WHOLE`] set for a whole-target value.
    template: u32,
    /// The slice: `start << 16 | back` (each below 2^16; a built table's
    /// are at most [`crate::template::MAX_SLICE`]).
    slice: u32,
    /// The first bit of the template's record in the templates' stream.
    record: u32,
}

/// The most exact keys naming a host that [`Hashed::set_hosted`] puts
/// in a filter: 256 KiB of it at 16 bits per key.
pub(crate) const MAX_HOSTED: usize = 1 << 17;

/// [`Slot::template`]'s bit for [`Value::whole`].
const WHOLE: u32 = 1 << 31;

/// The hash of every key of a table (see the module's documentation).
pub(crate) struct Hashed {
    seed: [u64; 2],
    slots: Vec<Slot>,
    /// The exact keys that name a host, if they are few
    /// ([`Hashed::set_hosted`], [`Hashed::may_hold_hosted`]).
    hosted: Option<Filter>,
}

/// Why [`Hashed::build`] gave up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HashError {
    /// Two keys of the table hash alike with this seed (another seed
    /// will do).
    Collision,
    /// A value's template number, slice or record start does not fit a
    /// slot (no table that `TableBuilder` writes: it needs a slice past
    /// 2^16 or a templates' stream past 512 MiB).
    TooLarge,
    /// The table's keys do not decode (a corrupt table: its load would
    /// have failed).
    Corrupt,
}

impl std::fmt::Display for HashError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            HashError::Collision => "two keys hash alike with this seed",
            HashError::TooLarge => "a value does not fit a hash slot",
            HashError::Corrupt => "the table's keys do not decode",
        })
    }
}

impl std::error::Error for HashError {}

impl Hashed {
    /// Room for `n` keys, no key in it.
    pub(crate) fn with_keys(n: usize, seed: [u64; 2]) -> Hashed {
        Hashed {
            seed,
            slots: vec![Slot::default(); n + n / 3 + 1],
            hosted: None,
        }
    }

    /// The bytes its slots and filter take.
    pub(crate) fn bytes(&self) -> usize {
        self.slots.len() * std::mem::size_of::<Slot>()
            + self.hosted.as_ref().map_or(0, Filter::bytes)
    }

    /// Whether `key` is an exact key that names a host: the keys that
    /// [`Hashed::set_hosted`] filters.
    pub(crate) fn names_host(key: &[u8]) -> bool {
        key.strip_prefix(&[EXACT])
            .is_some_and(|source| crate::template::host_len(source) > 0)
    }

    /// Puts the exact keys that name a host, given by their
    /// [`crate::fx::hash`], in a Bloom filter of their own, when they are
    /// at most a quarter of the table's `keys` and at most
    /// [`MAX_HOSTED`] (a caller may stop collecting past that): a filter
    /// that small stays in cache and is cheaper to ask than a slot.
    /// Otherwise (most keys name a host, as in a table of host rules only)
    /// there is no filter, which answers "may hold" for every key:
    /// measured on such a table of 1M rules, a filter of every key (2 MiB)
    /// made hashed hits 1.14x slower.
    pub(crate) fn set_hosted(&mut self, hashes: &[u64], keys: usize) {
        if hashes.len() > keys / 4 || hashes.len() > MAX_HOSTED {
            self.hosted = None;
            return;
        }
        let mut hosted = Filter::with_capacity(hashes.len());
        for &h in hashes {
            hosted.insert_hash(h);
        }
        self.hosted = Some(hosted);
    }

    /// Whether the exact key `key`, which names a host
    /// ([`Hashed::names_host`]), may be a key of the table (`false`: it
    /// certainly is not, and no slot need be read). A request carrying a
    /// host that rules name tries its keys under that host before the
    /// rules for every host; most of those keys are not there, and this
    /// answers from a filter of some 2 bytes per such key, which stays in
    /// cache, where a probe would miss it.
    #[inline]
    pub(crate) fn may_hold_hosted(&self, key: &[u8]) -> bool {
        self.hosted.as_ref().is_none_or(|f| f.may_contain(key))
    }

    /// `key`'s hash (never `0`).
    #[inline]
    fn hash(&self, key: &[u8]) -> u64 {
        let mut h = SipHasher::new_with_keys(self.seed[0], self.seed[1]);
        h.write(key);
        h.finish().max(1)
    }

    /// Where `key` is: `Ok` with the slot holding its hash, or `Err` with
    /// the empty slot ending its probe (there is always one: the table has
    /// more slots than keys); and its hash as stored.
    #[inline]
    fn find(&self, key: &[u8]) -> (Result<usize, usize>, [u32; 2]) {
        let hash = self.hash(key);
        let parts = [hash as u32, (hash >> 32) as u32];
        // The first slot to look at: `hash` scaled to the slots.
        let mut i = ((u128::from(hash) * self.slots.len() as u128) >> 64) as usize;
        loop {
            match self.slots[i].hash {
                h if h == parts => return (Ok(i), parts),
                [0, 0] => return (Err(i), parts),
                _ => i = if i + 1 == self.slots.len() { 0 } else { i + 1 },
            }
        }
    }

    /// Adds `key` with its value, whose template record starts at bit
    /// `record` of the templates' stream.
    pub(crate) fn insert(&mut self, key: &[u8], v: Value, record: u64) -> Result<(), HashError> {
        let below = |n: u64, end: u64| u32::try_from(n).ok().filter(|&n| u64::from(n) < end);
        let (Some(template), Some(start), Some(back), Some(record)) = (
            below(v.template_id, WHOLE.into()),
            below(v.start, 1 << 16),
            below(v.back, 1 << 16),
            below(record, 1 << 32),
        ) else {
            return Err(HashError::TooLarge);
        };
        let (Err(empty), hash) = self.find(key) else {
            return Err(HashError::Collision);
        };
        self.slots[empty] = Slot {
            hash,
            template: template | if v.whole { WHOLE } else { 0 },
            slice: start << 16 | back,
            record,
        };
        Ok(())
    }

    /// The value of `key`, if it is a key, and where its template record
    /// starts.
    #[inline]
    pub(crate) fn get(&self, key: &[u8]) -> Option<(Value, u64)> {
        let slot = &self.slots[self.find(key).0.ok()?];
        let value = Value {
            template_id: u64::from(slot.template & !WHOLE),
            start: u64::from(slot.slice >> 16),
            back: u64::from(slot.slice & 0xffff),
            whole: slot.template & WHOLE != 0,
        };
        Some((value, u64::from(slot.record)))
    }
}
