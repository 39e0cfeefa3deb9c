//! Building a table: [`TableBuilder`] cuts targets into templates, picks
//! the word lists and codes, and writes the file.

use crate::fx::FxBuild;
use crate::index::MAX_SYMBOLS;
use crate::raw::{Value, EXACT, PREFIX};
use crate::template;
use crate::vocab::Vocab;
use crate::{bits, index, store};
use crate::{Flags, FormatError, Status, TableOptions, MAGIC};
use std::collections::HashSet;

/// Templates used by at least this many rules are numbered first, and
/// their number is written in the value code's patterns; the others are
/// numbered by first use (module `index`).
const FREQUENT: u64 = 16;

/// Collects rules and writes them as a table.
#[derive(Default)]
pub struct TableBuilder {
    options: TableOptions,
    entries: Vec<(Vec<u8>, String, Status, Flags)>,
}

impl TableBuilder {
    /// An empty builder for a table with these options.
    pub fn new(options: TableOptions) -> TableBuilder {
        TableBuilder {
            options,
            entries: Vec::new(),
        }
    }

    /// Adds a rule under a key built by [`crate::raw::exact_key`] or
    /// [`crate::raw::prefix_key`]. Duplicate keys are reported by
    /// [`TableBuilder::finish`].
    pub fn insert(&mut self, key: Vec<u8>, target: String, status: Status, flags: Flags) {
        self.entries.push((key, target, status, flags));
    }

    /// Number of rules added so far.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no rule was added.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Builds the table and returns its bytes.
    pub fn finish(self) -> Result<Vec<u8>, FormatError> {
        TableBuilder::build(self.options, &self.entries)
    }

    /// Builds a table from rules the caller keeps (`(key, target, status,
    /// flags)`, keys as [`TableBuilder::insert`] takes them), without
    /// copying them: the bytes [`TableBuilder::finish`] returns for the
    /// same rules.
    pub fn build<K, T>(
        options: TableOptions,
        entries: &[(K, T, Status, Flags)],
    ) -> Result<Vec<u8>, FormatError>
    where
        K: AsRef<[u8]> + Sync,
        T: AsRef<str> + Sync,
    {
        Ok(TableBuilder::build_again(options, entries)?.0)
    }

    /// [`TableBuilder::build`], also returning what depends only on the
    /// keys (the key words, the keys as symbols and their order, the
    /// hosts), so that [`Prepared::rebuild`] builds the table again after
    /// some targets changed without redoing it.
    pub fn build_again<K, T>(
        options: TableOptions,
        entries: &[(K, T, Status, Flags)],
    ) -> Result<(Vec<u8>, Prepared), FormatError>
    where
        K: AsRef<[u8]> + Sync,
        T: AsRef<str> + Sync,
    {
        let vocab = Vocab::choose(
            entries.iter().map(|e| e.0.as_ref()),
            entries.len() / 250_000 + 1,
        );
        // Each key's symbols, and every target cut into a template and a
        // slice (in parallel: the longest-common-run search is the costly
        // part at a million rules).
        let threads = std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .min(8);
        let chunk = entries.len().div_ceil(threads).max(1);
        // A chunk of entries: its keys' symbols one after the other and
        // where each key ends, its targets cut; `Err(i)` if the chunk's
        // `i`-th key has too many symbols.
        let split = |c: &[(K, T, Status, Flags)]| {
            let mut symbols = Vec::with_capacity(c.len() * 16);
            let mut ends = Vec::with_capacity(c.len());
            let mut cut = Vec::with_capacity(c.len());
            for (i, (key, target, status, flags)) in c.iter().enumerate() {
                let key = key.as_ref();
                let start = symbols.len();
                let fits = vocab.symbols(key, |s| {
                    symbols.push(s);
                    symbols.len() - start <= MAX_SYMBOLS
                });
                if !fits {
                    return Err(i);
                }
                ends.push(symbols.len());
                cut.push(Cut::new(key, target.as_ref(), *status, *flags));
            }
            Ok((symbols, ends, cut))
        };
        let parts: Vec<_> = std::thread::scope(|s| {
            let handles: Vec<_> = entries
                .chunks(chunk)
                .map(|c| s.spawn(move || split(c)))
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("no panic while cutting targets"))
                .collect()
        });
        let mut symbols = Vec::new();
        let mut ends = Vec::with_capacity(entries.len());
        let mut cut = Vec::with_capacity(entries.len());
        for (n, part) in parts.into_iter().enumerate() {
            let (syms, part_ends, part_cut) = part
                .map_err(|i| FormatError::KeyTooLong(entries[n * chunk + i].0.as_ref().to_vec()))?;
            let base = symbols.len();
            symbols.extend_from_slice(&syms);
            ends.extend(part_ends.into_iter().map(|e| base + e));
            cut.extend(part_cut);
        }
        let key = |i: u32| {
            let i = i as usize;
            &symbols[if i == 0 { 0 } else { ends[i - 1] }..ends[i]]
        };
        // Sort the keys' symbols (one-to-one with the keys, so equal
        // symbols are equal keys) by their first twelve, then the rest:
        // small items, and most comparisons never leave them.
        let order: Vec<([u128; 2], u32)> = (0..entries.len() as u32)
            .map(|i| {
                let k = key(i);
                ([first_six(k), first_six(k.get(6..).unwrap_or_default())], i)
            })
            .collect();
        let order = sort_in_two(order, |a, b| {
            a.0.cmp(&b.0).then_with(|| key(a.1).cmp(key(b.1)))
        });
        if let Some(w) = order
            .windows(2)
            .find(|w| w[0].0 == w[1].0 && key(w[0].1) == key(w[1].1))
        {
            return Err(FormatError::DuplicateKey(
                entries[w[0].1 as usize].0.as_ref().to_vec(),
            ));
        }
        // The distinct hosts (a set first: a million keys name a few
        // thousand hosts), then sorted.
        let mut named: [HashSet<&[u8], FxBuild>; 2] = Default::default();
        let (mut prefix_depths, mut prefix_rules) = (0u64, 0u64);
        for (k, _, _, _) in entries {
            let k = k.as_ref();
            let (exact, rest) = (k.first() == Some(&EXACT), k.get(1..).unwrap_or_default());
            let at = rest.iter().position(|&b| b == b'/').unwrap_or(rest.len());
            if at > 0 {
                named[usize::from(!exact)].insert(&rest[..at]);
            }
            if k.first() == Some(&PREFIX) {
                let slashes = rest[at..].iter().filter(|&&b| b == b'/').count();
                prefix_depths |= 1 << slashes.min(63);
                prefix_rules += 1;
            }
        }
        let hosts = named.map(|set| {
            let mut list: Vec<Vec<u8>> = set.into_iter().map(<[u8]>::to_vec).collect();
            list.sort_unstable();
            list
        });
        let prepared = Prepared {
            options,
            vocab,
            symbols,
            ends,
            cut,
            order: order.into_iter().map(|o| o.1).collect(),
            hosts,
            prefix_depths,
            prefix_rules,
        };
        Ok((prepared.write()?, prepared))
    }
}

/// A build's parts that depend only on the keys ([`TableBuilder::build_again`]).
pub struct Prepared {
    options: TableOptions,
    /// The key words.
    vocab: Vocab,
    /// Every key's symbols, one after the other (caller's order) ...
    symbols: Vec<u32>,
    /// ... each ending here.
    ends: Vec<usize>,
    /// Each rule's template record and slice, in the caller's order.
    cut: Vec<Cut>,
    /// The rules in key order.
    order: Vec<u32>,
    /// The hosts exact rules name, and those prefix rules name (sorted).
    hosts: [Vec<Vec<u8>>; 2],
    /// Bit `n` set when a prefix rule's path has `n` slashes (63: more).
    prefix_depths: u64,
    /// Number of prefix rules.
    prefix_rules: u64,
}

impl Prepared {
    /// The table of the same rules after the targets of `changed` (indices
    /// into `entries`, which hold the same keys in the same order as when
    /// this was prepared) changed: the bytes [`TableBuilder::build`]
    /// returns for `entries`.
    pub fn rebuild<K, T>(
        &mut self,
        entries: &[(K, T, Status, Flags)],
        changed: &[usize],
    ) -> Result<Vec<u8>, FormatError>
    where
        K: AsRef<[u8]>,
        T: AsRef<str>,
    {
        assert_eq!(entries.len(), self.cut.len(), "the rules prepared");
        for &i in changed {
            let (key, target, status, flags) = &entries[i];
            self.cut[i] = Cut::new(key.as_ref(), target.as_ref(), *status, *flags);
        }
        self.write()
    }

    fn key(&self, i: usize) -> &[u32] {
        &self.symbols[if i == 0 { 0 } else { self.ends[i - 1] }..self.ends[i]]
    }

    /// The table file (layout in the crate's documentation).
    fn write(&self) -> Result<Vec<u8>, FormatError> {
        // Number the templates: the frequent ones first (most used
        // first), then the others by first use in key order.
        // Each rule's record as the number of a distinct record, and how
        // many rules use each: the rules sorted by their record's hash,
        // then each run of one hash split into its distinct records (a
        // run is almost always one record). A hash map of a million
        // records took longer: a random access per rule.
        let mut by_hash: Vec<(u64, u32)> = (self.cut.iter().enumerate())
            .map(|(i, c)| (c.hash, i as u32))
            .collect();
        by_hash.sort_unstable();
        let mut texts: Vec<&[u8]> = Vec::new();
        let mut uses: Vec<u64> = Vec::new();
        let mut of_rule = vec![0u32; self.cut.len()];
        for run in by_hash.chunk_by(|a, b| a.0 == b.0) {
            let first = texts.len();
            for &(_, i) in run {
                let record = self.cut[i as usize].record.as_slice();
                let d = match texts[first..].iter().position(|&t| t == record) {
                    Some(p) => first + p,
                    None => {
                        texts.push(record);
                        uses.push(0);
                        texts.len() - 1
                    }
                };
                uses[d] += 1;
                of_rule[i as usize] = d as u32;
            }
        }
        drop(by_hash);
        let mut frequent: Vec<u32> = (0..texts.len() as u32)
            .filter(|&d| uses[d as usize] >= FREQUENT)
            .collect();
        frequent.sort_unstable_by(|&a, &b| {
            let (a, b) = (a as usize, b as usize);
            uses[b].cmp(&uses[a]).then(texts[a].cmp(texts[b]))
        });
        const NONE: u64 = u64::MAX;
        let mut ids = vec![NONE; texts.len()];
        let mut records: Vec<&[u8]> = Vec::with_capacity(texts.len());
        for &d in &frequent {
            ids[d as usize] = records.len() as u64;
            records.push(texts[d as usize]);
        }
        let mut values = Vec::with_capacity(self.order.len());
        for &i in &self.order {
            let slice = &self.cut[i as usize].slice;
            let d = of_rule[i as usize] as usize;
            if ids[d] == NONE {
                ids[d] = records.len() as u64;
                records.push(texts[d]);
            }
            values.push(Value {
                template_id: ids[d],
                start: slice.start as u64,
                back: slice.back as u64,
                whole: slice.whole,
            });
        }
        let keys: Vec<&[u32]> = self.order.iter().map(|&i| self.key(i as usize)).collect();
        // The index and the templates do not depend on each other: the
        // templates' words and store on a second thread.
        let (index, (words, store)) = std::thread::scope(|s| {
            let templates = s.spawn(|| {
                let words = Vocab::choose(records.iter().copied(), 1);
                let store = store::write(&records, &words);
                (words, store)
            });
            let index = index::write(
                &keys,
                &values,
                records.len() as u64,
                frequent.len() as u64,
                self.vocab.symbols_len(),
            );
            (
                index,
                templates.join().expect("no panic while writing templates"),
            )
        });
        let mut out = Vec::with_capacity(64 + index.len() + store.len());
        out.extend_from_slice(&MAGIC);
        out.extend_from_slice(&0u64.to_le_bytes());
        out.extend_from_slice(&self.options.to_bits().to_le_bytes());
        out.extend_from_slice(&self.prefix_depths.to_le_bytes());
        out.extend_from_slice(&self.prefix_rules.to_le_bytes());
        bits::put_part(&mut out, &self.vocab.to_bytes());
        bits::put_part(&mut out, &index);
        bits::put_part(&mut out, &words.to_bytes());
        bits::put_part(&mut out, &store);
        for list in &self.hosts {
            let mut part = Vec::new();
            for h in list {
                part.extend_from_slice(&(h.len() as u32).to_le_bytes());
                part.extend_from_slice(h);
            }
            bits::put_part(&mut out, &part);
        }
        let len = out.len() as u64;
        out[8..16].copy_from_slice(&len.to_le_bytes());
        Ok(out)
    }
}

/// A rule's target cut ([`cut_target`]), with its record's hash.
#[derive(Debug)]
struct Cut {
    record: Vec<u8>,
    hash: u64,
    slice: template::Slice,
}

impl Cut {
    fn new(key: &[u8], target: &str, status: Status, flags: Flags) -> Cut {
        let (record, slice) = cut_target(key, target, status, flags);
        Cut {
            hash: crate::fx::hash(&record),
            record,
            slice,
        }
    }
}

/// A target cut into a template record and the slice of its key it
/// repeats (an exact key's host, path and query: the key without its kind
/// byte); a prefix rule's target is stored whole.
fn cut_target(
    key: &[u8],
    target: &str,
    status: Status,
    flags: Flags,
) -> (Vec<u8>, template::Slice) {
    if key.first() == Some(&EXACT) {
        template::split(&key[1..], target, status, flags)
    } else {
        let whole = template::Slice {
            whole: true,
            ..template::Slice::default()
        };
        (
            template::record(status, flags, target.as_bytes(), b""),
            whole,
        )
    }
}

/// The first six symbols of a key packed in a number (each plus one in
/// 21 bits, 0 after a shorter key): ordering these orders the keys, up to
/// ties.
fn first_six(key: &[u32]) -> u128 {
    (0..6).fold(0u128, |acc, i| {
        acc << 21 | key.get(i).map_or(0, |&s| u128::from(s) + 1)
    })
}

/// Sorts big vectors as two halves on two threads, then merges them.
fn sort_in_two<T: Send>(
    mut v: Vec<T>,
    cmp: impl Fn(&T, &T) -> std::cmp::Ordering + Sync,
) -> Vec<T> {
    if v.len() < 100_000 {
        v.sort_unstable_by(&cmp);
        return v;
    }
    let second = v.split_off(v.len() / 2);
    let (a, b) = std::thread::scope(|s| {
        let cmp = &cmp;
        let b = s.spawn(move || {
            let mut b = second;
            b.sort_unstable_by(cmp);
            b
        });
        v.sort_unstable_by(cmp);
        (v, b.join().expect("sort thread"))
    });
    let mut out = Vec::with_capacity(a.len() + b.len());
    let (mut a, mut b) = (a.into_iter().peekable(), b.into_iter().peekable());
    while let (Some(x), Some(y)) = (a.peek(), b.peek()) {
        let next = if cmp(x, y) == std::cmp::Ordering::Greater {
            b.next()
        } else {
            a.next()
        };
        out.extend(next);
    }
    out.extend(a);
    out.extend(b);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_duplicates() {
        let mut b = TableBuilder::default();
        for target in ["/1", "/2"] {
            b.insert(
                b"=/x".to_vec(),
                target.into(),
                Status::Found,
                Flags::default(),
            );
        }
        assert!(matches!(
            b.finish().unwrap_err(),
            FormatError::DuplicateKey(k) if k == b"=/x"
        ));
    }

    #[test]
    fn names_the_first_key_with_too_many_symbols() {
        // Keys of single bytes (no word repeats): the third and the last
        // are over the limit, in different chunks when built on threads.
        let long = |c: char| format!("=/{}", format!("{c}/").repeat(MAX_SYMBOLS / 2 + 1));
        let keys = [
            "=/a".to_string(),
            "=/b".to_string(),
            long('c'),
            "=/d".to_string(),
            long('e'),
        ];
        let entries: Vec<_> = keys
            .iter()
            .map(|k| (k.as_bytes(), "/t", Status::Found, Flags::default()))
            .collect();
        assert!(matches!(
            TableBuilder::build(TableOptions::default(), &entries).unwrap_err(),
            FormatError::KeyTooLong(k) if k == keys[2].as_bytes()
        ));
        assert!(TableBuilder::build(TableOptions::default(), &entries[..2]).is_ok());
    }

    #[test]
    fn sorts_big_vectors_in_two_halves() {
        let v: Vec<u64> = (0..250_001u64).map(|i| i * 7919 % 250_007).collect();
        let mut want = v.clone();
        want.sort_unstable();
        assert_eq!(sort_in_two(v, |a, b| a.cmp(b)), want);
    }

    #[test]
    fn first_six_symbols_order_keys() {
        let keys: [&[u32]; 7] = [
            &[],
            &[0],
            &[0, 5],
            &[0, 5, 0],
            &[0, 5, 0, 9],
            &[0, 5, 70_000],
            &[1],
        ];
        for w in keys.windows(2) {
            assert!(first_six(w[0]) <= first_six(w[1]), "{w:?}");
        }
        assert_eq!(
            first_six(&[0, 5, 0, 1, 2, 3]),
            first_six(&[0, 5, 0, 1, 2, 3, 9])
        );
        assert!(first_six(&[0, 5, 0, 1, 2]) < first_six(&[0, 5, 0, 1, 2, 0]));
    }

    /// `n` rules, every `prefix_every`-th a prefix rule.
    fn blog_rules(n: usize, prefix_every: usize) -> Vec<(Vec<u8>, String, Status, Flags)> {
        (0..n)
            .map(|i| {
                let key = if i % prefix_every == 0 {
                    crate::raw::prefix_key("", format!("/p{i}").as_bytes())
                } else {
                    crate::raw::exact_key("", format!("/blog/{i}/post-{i}").as_bytes(), None)
                };
                (
                    key,
                    format!("/articles/post-{i}"),
                    Status::Found,
                    Flags::default(),
                )
            })
            .collect()
    }

    #[test]
    fn build_borrows_what_finish_owns() {
        let rules = blog_rules(300, 7);
        let mut b = TableBuilder::new(TableOptions::default());
        for r in &rules {
            b.insert(r.0.clone(), r.1.clone(), r.2, r.3);
        }
        let borrowed: Vec<(&[u8], &str, Status, Flags)> = rules
            .iter()
            .map(|r| (r.0.as_slice(), r.1.as_str(), r.2, r.3))
            .collect();
        assert_eq!(
            TableBuilder::build(TableOptions::default(), &borrowed).unwrap(),
            b.finish().unwrap()
        );
    }

    #[test]
    fn a_rebuild_is_a_fresh_build() {
        let mut rules = blog_rules(500, 9);
        let (first, mut prepared) =
            TableBuilder::build_again(TableOptions::default(), &rules).unwrap();
        assert_eq!(
            first,
            TableBuilder::build(TableOptions::default(), &rules).unwrap()
        );
        let changed: Vec<usize> = (0..500).filter(|i| i % 4 == 0).collect();
        for &i in &changed {
            rules[i].1 = format!("https://elsewhere.example/{i}/post-{i}");
        }
        assert_eq!(
            prepared.rebuild(&rules, &changed).unwrap(),
            TableBuilder::build(TableOptions::default(), &rules).unwrap()
        );
    }
}
