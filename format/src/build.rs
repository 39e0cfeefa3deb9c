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
    /// keys (the dictionary, the encoded keys and their order), so that
    /// [`Prepared::rebuild`] builds the table again after some targets
    /// changed without redoing it.
    pub fn build_again<K, T>(
        options: TableOptions,
        entries: &[(K, T, Status, Flags)],
    ) -> Result<(Vec<u8>, Prepared), FormatError>
    where
        K: AsRef<[u8]> + Sync,
        T: AsRef<str> + Sync,
    {
        let tokens = Tokens::choose(
            entries
                .iter()
                .map(|e| e.0.as_ref())
                .filter(|k| k.first() == Some(&EXACT))
                .map(|k| &k[1..]),
            entries.len() / 250_000 + 1,
        );
        // Encode the exact keys, and cut every target into a template and
        // a slice (in parallel: the longest-common-run search is the
        // costly part at a million rules).
        let split = |(key, target, status, flags): &(K, T, Status, Flags)| {
            let key = key.as_ref();
            let (record, slice) = cut_target(key, target.as_ref(), *status, *flags);
            let encoded = if key.first() == Some(&EXACT) {
                let mut encoded = Vec::with_capacity(key.len() + 1);
                encoded.push(EXACT);
                tokens.encode_into(&key[1..], &mut encoded);
                encoded
            } else {
                key.to_vec()
            };
            (encoded, record, slice)
        };
        let threads = std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .min(8);
        let chunk = entries.len().div_ceil(threads).max(1);
        let cut: Vec<Cut> = std::thread::scope(|s| {
            let handles: Vec<_> = entries
                .chunks(chunk)
                .map(|c| s.spawn(move || c.iter().map(split).collect::<Vec<_>>()))
                .collect();
            handles
                .into_iter()
                .flat_map(|h| h.join().expect("no panic while cutting targets"))
                .collect()
        });
        // Sort the encoded keys (encoding is one-to-one, so equal encoded
        // keys are equal keys) by their first sixteen bytes, then the rest:
        // small items, and most comparisons never leave them.
        let order: Vec<(u128, u32)> = cut
            .iter()
            .enumerate()
            .map(|(i, c)| (first_sixteen(&c.0), i as u32))
            .collect();
        let order = sort_in_two(order, |a, b| {
            a.0.cmp(&b.0)
                .then_with(|| cut[a.1 as usize].0.cmp(&cut[b.1 as usize].0))
        });
        if let Some(w) = order
            .windows(2)
            .find(|w| w[0].0 == w[1].0 && cut[w[0].1 as usize].0 == cut[w[1].1 as usize].0)
        {
            return Err(FormatError::DuplicateKey(
                entries[w[0].1 as usize].0.as_ref().to_vec(),
            ));
        }
        let prepared = Prepared {
            options,
            tokens,
            cut,
            order: order.into_iter().map(|o| o.1).collect(),
        };
        Ok((prepared.write()?, prepared))
    }
}

/// One rule in a [`Prepared`] build: its encoded key, template record and
/// slice.
type Cut = (Vec<u8>, Vec<u8>, template::Slice);

/// A build's parts that depend only on the keys ([`TableBuilder::build_again`]).
pub struct Prepared {
    options: TableOptions,
    tokens: Tokens,
    /// Each rule's encoded key, record and slice, in the caller's order.
    cut: Vec<Cut>,
    /// The rules in key order.
    order: Vec<u32>,
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
            let (record, slice) = cut_target(key.as_ref(), target.as_ref(), *status, *flags);
            (self.cut[i].1, self.cut[i].2) = (record, slice);
        }
        self.write()
    }

    /// The table file: the template set, the values and the fst map.
    fn write(&self) -> Result<Vec<u8>, FormatError> {
        let (cut, tokens) = (&self.cut, &self.tokens);
        let mut records: Vec<&[u8]> = cut
            .iter()
            .map(|c| c.1.as_slice())
            .collect::<std::collections::HashSet<_, FxBuild>>()
            .into_iter()
            .collect();
        records.sort_unstable();
        let set = fcsd::Set::new(records.iter().copied())?;
        let ids: std::collections::HashMap<&[u8], u64, FxBuild> = records
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
        for &i in &self.order {
            let (key, record, slice) = &cut[i as usize];
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

/// A target cut into a template record and the slice of its key's path
/// (an exact key's; a prefix rule's target is stored whole).
fn cut_target(
    key: &[u8],
    target: &str,
    status: Status,
    flags: Flags,
) -> (Vec<u8>, template::Slice) {
    if key.first() == Some(&EXACT) {
        template::split(exact_key_path(key), target, status, flags)
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

/// The first sixteen bytes of `key` as a big-endian number (zeros after a
/// shorter key): ordering these orders the keys, up to ties.
fn first_sixteen(key: &[u8]) -> u128 {
    let mut word = [0u8; 16];
    let n = key.len().min(16);
    word[..n].copy_from_slice(&key[..n]);
    u128::from_be_bytes(word)
}

/// FxHash (a multiply and a rotate per word) for the template records: the
/// builder's keys are its own, so SipHash's protection buys nothing.
#[derive(Default)]
struct FxHasher(u64);

impl std::hash::Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.write_u64(u64::from_le_bytes(word));
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(0x517c_c1b7_2722_0a95);
    }

    fn write_usize(&mut self, n: usize) {
        self.write_u64(n as u64);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

type FxBuild = std::hash::BuildHasherDefault<FxHasher>;

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
    fn first_sixteen_bytes_order_keys() {
        let keys: [&[u8]; 7] = [
            b"",
            b"=",
            b"=/a",
            b"=/a\0",
            b"=/a\0b",
            b"=/abcdefghijklmnop",
            b"=/abcdefghijklmnopq",
        ];
        for w in keys.windows(2) {
            assert!(first_sixteen(w[0]) <= first_sixteen(w[1]), "{w:?}");
        }
        assert!(first_sixteen(b"=/abcdefghijklm") < first_sixteen(b"=/abcdefghijklmn"));
    }

    #[test]
    fn build_borrows_what_finish_owns() {
        let rules: Vec<(Vec<u8>, String, Status, Flags)> = (0..300)
            .map(|i| {
                let key = if i % 7 == 0 {
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
            .collect();
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
        let mut rules: Vec<(Vec<u8>, String, Status, Flags)> = (0..500)
            .map(|i| {
                let key = if i % 9 == 0 {
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
            .collect();
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

    #[test]
    fn key_paths() {
        assert_eq!(exact_key_path(b"=x.com/a\0q"), b"/a");
        assert_eq!(exact_key_path(b"=/"), b"/");
        assert_eq!(exact_key_path(b"*/a"), b"");
    }
}
