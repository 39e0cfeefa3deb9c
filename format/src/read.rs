//! Reading a table: [`Table::from_bytes`] checks the file once and keeps
//! its bytes; the accessors here read keys and templates.

use crate::bits::Cursor;
use crate::buf::Buf;
use crate::filter::Filter;
use crate::fx::FxHashSet;
use crate::hashed::{HashError, Hashed, MAX_HOSTED};
use crate::index::{Index, Symbols};
use crate::raw::{Value, EXACT, PREFIX};
use crate::store::Store;
use crate::template::Template;
use crate::vocab::Vocab;
use crate::{FormatError, Redirect, TableOptions, MAGIC, VERSION};
use std::sync::OnceLock;

/// A key's value as a lookup found it, and where its template's record
/// starts when the hash of the keys knows it ([`Table::hash_keys`]).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Found {
    pub(crate) value: Value,
    record: Option<u64>,
}

/// A compiled redirect table, ready for lookups.
///
/// Loading it ([`Table::from_bytes`]) validates the data once and keeps the
/// file's bytes as they are (no copy); after that, a lookup turns the
/// request's key into symbols, searches the key index and decodes one
/// template, without parsing anything else.
pub struct Table {
    pub(crate) options: TableOptions,
    bytes: Vec<u8>,
    /// The words of the keys.
    pub(crate) vocab: Vocab,
    index: Index,
    /// The words of the templates.
    words: Vocab,
    store: Store,
    /// The hosts that exact rules name, and those that prefix rules name
    /// (rules for every host not included), hashed: a request's host
    /// candidates that no rule names are passed over without a search,
    /// each for one hash and at most a compare or two.
    pub(crate) hosts: [FxHashSet<Box<str>>; 2],
    /// Bit `n` set when some prefix rule's path has `n` slashes (63: more).
    pub(crate) prefix_depths: u64,
    /// The prefix rules' keys (built on load).
    pub(crate) prefix_filter: Filter,
    /// Every key's value by the key's hash, once a host asks for it
    /// ([`Table::hash_keys`]).
    hashed: OnceLock<Hashed>,
}

impl Table {
    /// Reads a table written by [`crate::TableBuilder::finish`], taking ownership
    /// of its bytes.
    pub fn from_bytes(bytes: Vec<u8>) -> Result<Table, FormatError> {
        let (table, prefix_rules) = Table::read_parts(bytes)?;
        table.check(prefix_rules)
    }

    /// Reads a table this process has just written from these keys (the
    /// raw keys of [`crate::TableBuilder::build_again`]'s entries, in any
    /// order): what [`Table::from_bytes`] does without decoding every key
    /// and template to check them, for a compiler that reads back its own
    /// table to follow targets. Anything that loads a table from a file
    /// (the lookup component's Wizer init) uses [`Table::from_bytes`].
    pub fn from_written<'k>(
        bytes: Vec<u8>,
        keys: impl Iterator<Item = &'k [u8]>,
    ) -> Result<Table, FormatError> {
        let (mut table, prefix_rules) = Table::read_parts(bytes)?;
        let mut filter = Filter::with_capacity(prefix_rules.min(table.len() as u64) as usize);
        for key in keys.filter(|k| k.first() == Some(&PREFIX)) {
            if filter.has_room() {
                filter.insert(key);
            }
        }
        table.prefix_filter = filter;
        Ok(table)
    }

    /// The parts of a table file, read and located (the keys and templates
    /// not yet checked, no prefix filter), and its number of prefix rules.
    fn read_parts(bytes: Vec<u8>) -> Result<(Table, u64), FormatError> {
        check_magic(&bytes)?;
        let truncated = || FormatError::Truncated {
            expected: 40,
            actual: bytes.len() as u64,
        };
        let mut c = Cursor {
            bytes: &bytes,
            at: 8,
        };
        let expected = c.u64().ok_or_else(truncated)?;
        if expected != bytes.len() as u64 {
            return Err(FormatError::Truncated {
                expected,
                actual: bytes.len() as u64,
            });
        }
        let options = TableOptions::from_bits(c.u64().ok_or_else(truncated)?);
        let prefix_depths = c.u64().ok_or_else(truncated)?;
        let prefix_rules = c.u64().ok_or_else(truncated)?;
        let corrupt = FormatError::Corrupt;
        let word_list = |c: &mut Cursor, what| {
            c.part()
                .and_then(|(p, _)| Vocab::from_bytes(p))
                .ok_or(corrupt(what))
        };
        let vocab = word_list(&mut c, "key word list")?;
        let index = c
            .nested(|c| Index::read(c, vocab.symbols_len()))
            .ok_or(corrupt("key index"))?;
        let words = word_list(&mut c, "template word list")?;
        let store = c
            .nested(|c| Store::read(c, words.symbols_len()))
            .ok_or(corrupt("template records"))?;
        let mut hosts: [FxHashSet<Box<str>>; 2] = Default::default();
        for list in &mut hosts {
            let (part, _) = c.part().ok_or(corrupt("host list"))?;
            *list = read_hosts(part).ok_or(corrupt("host list"))?;
        }
        if c.at != bytes.len() {
            return Err(corrupt("host list"));
        }
        let table = Table {
            options,
            bytes,
            vocab,
            index,
            words,
            store,
            hosts,
            prefix_depths,
            prefix_filter: Filter::default(),
            hashed: OnceLock::new(),
        };
        Ok((table, prefix_rules))
    }

    /// Checks every template and key of a table from [`Table::read_parts`]
    /// and builds its prefix filter.
    fn check(self, prefix_rules: u64) -> Result<Table, FormatError> {
        let table = self;
        let corrupt = FormatError::Corrupt;
        // Every template must parse, and every key decode, in order, with
        // a value naming a template (a prefix rule's value takes no slice).
        table
            .store
            .check(&table.bytes, &table.words, |record| {
                Template::parse(record).is_some()
            })
            .map_err(|id| FormatError::BadTemplate(id as u64))?;
        let (mut n, mut bad) = (0u64, None);
        let mut filter = Filter::with_capacity(prefix_rules.min(table.len() as u64) as usize);
        let mut bytes = Vec::new();
        let ok = table.index.check(&table.bytes, |key, v| {
            if key.first() == Some(&u32::from(PREFIX)) {
                if !v.whole && bad.is_none() {
                    bad = Some(n);
                }
                table.vocab.key_text(key, &mut bytes);
                if filter.has_room() {
                    filter.insert(&bytes);
                }
            } else if key.first() != Some(&u32::from(EXACT)) && bad.is_none() {
                bad = Some(n);
            }
            n += 1;
        });
        let mut table = table;
        table.prefix_filter = filter;
        crate::buf::scrub(bytes);
        if !ok {
            return Err(corrupt("key index"));
        }
        if let Some(n) = bad {
            return Err(FormatError::BadValue(n));
        }
        Ok(table)
    }

    /// Reads the table file named by the environment variable
    /// [`crate::DATA_ENV`]: what the Wizer init functions of the lookup
    /// component and of the fused router run. Panics, naming the file, on
    /// any failure (in Wizer a panic traps and fails the build).
    pub fn load_from_env() -> Table {
        let var = crate::DATA_ENV;
        let path = std::env::var(var)
            .unwrap_or_else(|_| panic!("{var} must name the table file during Wizer init"));
        let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"));
        Table::from_bytes(bytes).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    /// Whether a rule of this kind (exact or prefix) may name `host`
    /// (always for the empty host, which every host's rules use).
    pub(crate) fn may_name(&self, exact: bool, host: &str) -> bool {
        host.is_empty() || self.hosts[usize::from(!exact)].contains(host)
    }

    /// The table-wide matching options it was built with.
    pub fn options(&self) -> TableOptions {
        self.options
    }

    /// Builds a hash of every key to its value, keyed with `seed` (draw
    /// it at random), and answers every later lookup from it: about 27
    /// bytes of memory per rule for a lookup several times faster (module
    /// `hashed`). For a host that keeps the table for many requests, not
    /// one per request. Returns the bytes it takes; once built, later calls
    /// change nothing. An error leaves the table answering as before.
    pub fn hash_keys(&self, seed: [u64; 2]) -> Result<usize, HashError> {
        if let Some(h) = self.hashed.get() {
            return Ok(h.bytes());
        }
        let starts = self.store.starts(&self.bytes).ok_or(HashError::Corrupt)?;
        let mut hashed = Hashed::with_keys(self.len(), seed);
        let (mut bytes, mut failed, mut hosted) = (Vec::new(), None, Vec::new());
        let ok = self.index.check(&self.bytes, |key, v| {
            if failed.is_some() {
                return;
            }
            self.vocab.key_text(key, &mut bytes);
            // Past the bound no filter is built: the rest need not be kept.
            if hosted.len() <= MAX_HOSTED && Hashed::names_host(&bytes) {
                hosted.push(crate::fx::hash(&bytes));
            }
            let record = usize::try_from(v.template_id)
                .ok()
                .and_then(|id| starts.get(id));
            failed = match record {
                Some(&at) => hashed.insert(&bytes, v, at).err(),
                None => Some(HashError::Corrupt),
            };
        });
        crate::buf::scrub(bytes);
        hashed.set_hosted(&hosted, self.len());
        match failed {
            Some(e) => Err(e),
            None if !ok => Err(HashError::Corrupt),
            None => Ok(self.hashed.get_or_init(|| hashed).bytes()),
        }
    }

    /// Whether `key`, an exact key that names a host, may be a key of the
    /// table: `false` only with the keys hashed, when the filter of such
    /// keys says it certainly is not ([`Hashed::may_hold_hosted`]).
    pub(crate) fn may_hold_hosted(&self, key: &[u8]) -> bool {
        self.hashed.get().is_none_or(|h| h.may_hold_hosted(key))
    }

    /// The value under a raw key (`None` if it is no key).
    pub(crate) fn value(&self, key: &[u8]) -> Option<Found> {
        if let Some(h) = self.hashed.get() {
            let (value, record) = h.get(key)?;
            return Some(Found {
                value,
                record: Some(record),
            });
        }
        let mut symbols = Symbols::new();
        self.vocab.symbols(key, |s| symbols.push(s)).then_some(())?;
        let value = self.index.get(&self.bytes, symbols.as_slice())?;
        Some(Found {
            value,
            record: None,
        })
    }

    /// The template a found value names, decoded into `buf` and parsed.
    pub(crate) fn template<'b, const N: usize>(
        &self,
        f: Found,
        buf: &'b mut Buf<N>,
    ) -> Option<Template<&'b [u8]>> {
        match f.record {
            Some(at) => self.store.decode_at(&self.bytes, &self.words, at, buf)?,
            None => {
                let id = usize::try_from(f.value.template_id).ok()?;
                self.store.decode(&self.bytes, &self.words, id, buf)?
            }
        }
        Template::parse(buf.as_slice())
    }

    /// The redirect stored under a raw key (see [`crate::raw::exact_key`] and
    /// [`crate::raw::prefix_key`]), with no normalisation or precedence, and
    /// the target as stored (`:splat` unreplaced): for tools and tests.
    pub fn get(&self, key: &[u8]) -> Option<Redirect> {
        let f = self.value(key)?;
        let mut buf = Buf::<256>::new();
        let t = self.template(f, &mut buf)?;
        Some(Redirect {
            location: t.target(key.get(1..)?, f.value.slice())?,
            status: t.status,
        })
    }

    /// Number of rules (lookup keys).
    pub fn len(&self) -> usize {
        self.index.len()
    }

    /// Whether the table holds no rule.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Number of distinct target templates (targets with the part they
    /// repeat from their source cut out, plus status and flags).
    pub fn template_count(&self) -> usize {
        self.store.len()
    }

    /// Number of words in the keys' word list.
    pub fn dictionary_len(&self) -> usize {
        self.vocab.len()
    }
}

/// Reads a host list part: `(u32 LE length, UTF-8 host)*`, sorted (so
/// no host twice).
fn read_hosts(part: &[u8]) -> Option<FxHashSet<Box<str>>> {
    // Counted first, so that the set is allocated once.
    let (mut count, mut rest) = (0, part);
    while !rest.is_empty() {
        let n = u32::from_le_bytes(rest.get(..4)?.try_into().ok()?) as usize;
        rest = rest.get(4usize.checked_add(n)?..)?;
        count += 1;
    }
    let mut part = part;
    let mut hosts = FxHashSet::with_capacity_and_hasher(count, Default::default());
    let mut last: Option<&str> = None;
    while !part.is_empty() {
        let n = u32::from_le_bytes(part.get(..4)?.try_into().ok()?) as usize;
        let host = std::str::from_utf8(part.get(4..4usize.checked_add(n)?)?).ok()?;
        if last.is_some_and(|h| h >= host) {
            return None;
        }
        last = Some(host);
        hosts.insert(Box::from(host));
        part = &part[4 + n..];
    }
    Some(hosts)
}

/// Checks the magic bytes: a table of this version, of another version, or
/// not a table at all.
fn check_magic(bytes: &[u8]) -> Result<(), FormatError> {
    let Some(magic) = bytes.get(..8) else {
        return Err(FormatError::BadMagic);
    };
    if magic == MAGIC {
        return Ok(());
    }
    let digit = |b: u8| b.is_ascii_digit().then(|| u16::from(b - b'0'));
    match (magic[..6] == MAGIC[..6], digit(magic[6]), digit(magic[7])) {
        (true, Some(hi), Some(lo)) => Err(FormatError::Version {
            expected: VERSION,
            found: hi * 10 + lo,
        }),
        _ => Err(FormatError::BadMagic),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::raw::exact_key;
    use crate::{Flags, Status, TableBuilder};

    fn one_rule() -> Vec<u8> {
        let mut b = TableBuilder::default();
        b.insert(
            exact_key("", b"/x", None),
            "/1".into(),
            Status::Found,
            Flags::default(),
        );
        b.finish().unwrap()
    }

    #[test]
    fn rejects_corrupt_bytes() {
        let bytes = one_rule();
        assert!(matches!(
            Table::from_bytes(b"nope".to_vec()),
            Err(FormatError::BadMagic)
        ));
        assert!(matches!(
            Table::from_bytes(bytes[..bytes.len() - 1].to_vec()),
            Err(FormatError::Truncated { .. })
        ));
        assert!(matches!(
            Table::from_bytes(bytes[..20].to_vec()),
            Err(FormatError::Truncated { .. })
        ));
        let mut bad = bytes.clone();
        bad[0] = b'X';
        assert!(matches!(Table::from_bytes(bad), Err(FormatError::BadMagic)));
    }

    #[test]
    fn names_the_version_of_an_older_table() {
        let mut old = one_rule();
        old[6..8].copy_from_slice(b"04");
        assert!(matches!(
            Table::from_bytes(old),
            Err(FormatError::Version {
                expected: 5,
                found: 4
            })
        ));
    }

    #[test]
    fn empty_table_is_valid() {
        let t = Table::from_bytes(TableBuilder::default().finish().unwrap()).unwrap();
        assert!(t.is_empty());
        assert_eq!(t.template_count(), 0);
    }

    #[test]
    fn get_reads_raw_keys() {
        let t = Table::from_bytes(one_rule()).unwrap();
        let r = t.get(&exact_key("", b"/x", None)).unwrap();
        assert_eq!((r.location.as_str(), r.status), ("/1", Status::Found));
        assert_eq!(t.get(&exact_key("", b"/y", None)), None);
    }
}
