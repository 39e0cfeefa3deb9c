//! Building a table: [`TableBuilder`] cuts targets into templates, picks
//! the key dictionary and writes the file.

use crate::raw::{Radix, Value, EXACT, QUERY_SEPARATOR};
use crate::read::HEADER_LEN;
use crate::template;
use crate::token::Tokens;
use crate::{Flags, FormatError, Status, TableOptions, MAGIC};

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
        let entries = self.entries;
        let tokens = Tokens::choose(
            entries
                .iter()
                .filter(|e| e.0.first() == Some(&EXACT))
                .map(|e| &e.0[1..]),
            entries.len() / 250_000 + 1,
        );
        // Encode the exact keys, and cut every target into a template and
        // a slice (in parallel: the longest-common-run search is the
        // costly part at a million rules).
        let split = |(key, target, status, flags): &(Vec<u8>, String, Status, Flags)| {
            if key.first() == Some(&EXACT) {
                let (record, slice) = template::split(exact_key_path(key), target, *status, *flags);
                let mut encoded = vec![EXACT];
                tokens.encode_into(&key[1..], &mut encoded);
                (encoded, record, slice)
            } else {
                let whole = template::Slice {
                    whole: true,
                    ..template::Slice::default()
                };
                let record = template::record(*status, *flags, target.as_bytes(), b"");
                (key.clone(), record, whole)
            }
        };
        let threads = std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .min(8);
        let chunk = entries.len().div_ceil(threads).max(1);
        type Cut = (Vec<u8>, Vec<u8>, template::Slice);
        let cut: Vec<(Cut, usize)> = std::thread::scope(|s| {
            let handles: Vec<_> = entries
                .chunks(chunk)
                .enumerate()
                .map(|(n, c)| {
                    s.spawn(move || {
                        let first = n * chunk;
                        c.iter()
                            .enumerate()
                            .map(|(i, e)| (split(e), first + i))
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            handles
                .into_iter()
                .flat_map(|h| h.join().expect("no panic while cutting targets"))
                .collect()
        });
        // Encoding is one-to-one, so equal encoded keys are equal keys.
        let cut = sort_in_two(cut, |a, b| a.0 .0.cmp(&b.0 .0));
        if let Some(w) = cut.windows(2).find(|w| w[0].0 .0 == w[1].0 .0) {
            return Err(FormatError::DuplicateKey(entries[w[0].1].0.clone()));
        }
        drop(entries);
        let cut: Vec<Cut> = cut.into_iter().map(|c| c.0).collect();
        let mut records: Vec<&[u8]> = cut
            .iter()
            .map(|c| c.1.as_slice())
            .collect::<std::collections::HashSet<_>>()
            .into_iter()
            .collect();
        records.sort_unstable();
        let set = fcsd::Set::new(records.iter().copied())?;
        let ids: std::collections::HashMap<&[u8], u64> = records
            .iter()
            .enumerate()
            .map(|(i, r)| (*r, i as u64))
            .collect();

        let radix = Radix {
            templates: records.len() as u64,
            starts: cut.iter().map(|c| c.2.start as u64 + 1).max().unwrap_or(1),
            backs: cut.iter().map(|c| c.2.back as u64 + 1).max().unwrap_or(1),
        };
        let mut map = fst::MapBuilder::memory();
        for (key, record, slice) in &cut {
            let value = Value {
                template_id: ids[record.as_slice()],
                start: slice.start as u64,
                back: slice.back as u64,
                whole: slice.whole,
            };
            let packed = value.pack(radix).expect("fields within the radix");
            map.insert(key, packed)?;
        }
        let map = map.into_inner()?;
        let dict = tokens.to_bytes();

        let mut out = Vec::with_capacity(HEADER_LEN + map.len() + set.size_in_bytes() + dict.len());
        out.extend_from_slice(&MAGIC);
        out.extend_from_slice(&self.options.to_bits().to_le_bytes());
        for word in [
            map.len() as u64,
            set.size_in_bytes() as u64,
            dict.len() as u64,
            radix.starts,
            radix.backs,
        ] {
            out.extend_from_slice(&word.to_le_bytes());
        }
        out.extend_from_slice(&map);
        set.serialize_into(&mut out)?;
        out.extend_from_slice(&dict);
        Ok(out)
    }
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

/// The path inside an exact key `=host path [NUL query]` (a host holds no
/// `/`, a path starts with one); empty for other keys.
pub(crate) fn exact_key_path(key: &[u8]) -> &[u8] {
    if key.first() != Some(&EXACT) {
        return &[];
    }
    let start = key.iter().position(|&b| b == b'/').unwrap_or(key.len());
    let end = key[start..]
        .iter()
        .position(|&b| b == QUERY_SEPARATOR)
        .map_or(key.len(), |e| start + e);
    &key[start..end]
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
    fn sorts_big_vectors_in_two_halves() {
        let v: Vec<u64> = (0..250_001u64).map(|i| i * 7919 % 250_007).collect();
        let mut want = v.clone();
        want.sort_unstable();
        assert_eq!(sort_in_two(v, |a, b| a.cmp(b)), want);
    }

    #[test]
    fn key_paths() {
        assert_eq!(exact_key_path(b"=x.com/a\0q"), b"/a");
        assert_eq!(exact_key_path(b"=/"), b"/");
        assert_eq!(exact_key_path(b"*/a"), b"");
    }
}
