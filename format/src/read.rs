//! Reading a table: [`Table::from_bytes`] checks the file once and keeps
//! its bytes; the accessors here read keys and templates.

use crate::buf::Buf;
use crate::build::exact_key_path;
use crate::raw::{Radix, Value, EXACT};
use crate::records::Records;
use crate::template::Template;
use crate::token::Tokens;
use crate::{FormatError, Redirect, TableOptions, MAGIC, VERSION};
use std::ops::Range;
use std::sync::Arc;

/// Bytes before the fst map.
pub(crate) const HEADER_LEN: usize = 56;

/// One section of the table file, sharing the file's buffer (so a loaded
/// table holds the file's bytes once, not a copy per section).
#[derive(Clone)]
pub(crate) struct Section {
    buf: Arc<Vec<u8>>,
    range: Range<usize>,
}

impl AsRef<[u8]> for Section {
    fn as_ref(&self) -> &[u8] {
        &self.buf[self.range.clone()]
    }
}

/// A compiled redirect table, ready for lookups.
///
/// Loading it ([`Table::from_bytes`]) validates the data once and keeps the
/// file's bytes as they are (no copy); after that, a lookup encodes the
/// request key with the word dictionary, walks the fst map and decodes one
/// front-coded template, without parsing anything else.
pub struct Table {
    pub(crate) options: TableOptions,
    pub(crate) map: fst::Map<Section>,
    pub(crate) templates: fcsd::Set<Section>,
    /// Where the records are in `templates` (decoded without allocating).
    pub(crate) records: Records,
    /// The hosts that exact rules name, and those that prefix rules name
    /// (sorted; rules for every host not included), read from the keys
    /// when the table is loaded: a request's host candidates that no rule
    /// names are passed over without walking the map.
    pub(crate) hosts: [Vec<Box<str>>; 2],
    pub(crate) tokens: Tokens,
    pub(crate) radix: Radix,
}

impl Table {
    /// Reads a table written by [`crate::TableBuilder::finish`], taking ownership
    /// of its bytes.
    pub fn from_bytes(bytes: Vec<u8>) -> Result<Table, FormatError> {
        check_magic(&bytes)?;
        if bytes.len() < HEADER_LEN {
            return Err(FormatError::Truncated {
                expected: HEADER_LEN as u64,
                actual: bytes.len() as u64,
            });
        }
        let word = |i: usize| u64::from_le_bytes(bytes[i..i + 8].try_into().expect("8 bytes"));
        let options = TableOptions::from_bits(word(8));
        let (fst_len, set_len, dict_len) = (word(16), word(24), word(32));
        let (starts, backs) = (word(40), word(48));
        let expected = (HEADER_LEN as u64)
            .saturating_add(fst_len)
            .saturating_add(set_len)
            .saturating_add(dict_len);
        if expected != bytes.len() as u64 {
            return Err(FormatError::Truncated {
                expected,
                actual: bytes.len() as u64,
            });
        }
        let fst_end = HEADER_LEN + fst_len as usize;
        let set_end = fst_end + set_len as usize;
        let tokens = Tokens::from_bytes(&bytes[set_end..])?;
        let buf = Arc::new(bytes);
        let section = |range| Section {
            buf: buf.clone(),
            range,
        };
        let map = fst::Map::new(section(HEADER_LEN..fst_end))?;
        let templates = fcsd::Set::from_bytes(section(fst_end..set_end))?;
        let radix = Radix {
            templates: templates.len() as u64,
            starts,
            backs,
        };
        let records = Records::parse(templates.as_bytes())
            .filter(|r| r.len() == templates.len())
            .ok_or(FormatError::BadTemplate(0))?;
        let table = Table {
            options,
            map,
            templates,
            records,
            tokens,
            radix,
            hosts: [Vec::new(), Vec::new()],
        };
        // Every template must parse, the lookup's reader must read it as
        // fcsd does, and every value must name one.
        let mut decoder = table.templates.decoder();
        let mut buf = Buf::<256>::new();
        for id in 0..table.templates.len() {
            let record = decoder.run(id);
            let same = table
                .records
                .decode(table.templates.as_bytes(), id, &mut buf)
                == Some(())
                && buf.as_slice() == record.as_slice();
            if !same || Template::parse(record).is_none() {
                return Err(FormatError::BadTemplate(id as u64));
            }
        }
        let mut hosts: [Vec<Box<str>>; 2] = [Vec::new(), Vec::new()];
        let mut last: [Vec<u8>; 2] = [Vec::new(), Vec::new()];
        let mut stream = table.map.stream();
        while let Some((key, raw)) = fst::Streamer::next(&mut stream) {
            match Value::unpack(raw, table.radix) {
                Some(v) if v.whole || key.first() == Some(&EXACT) => {}
                _ => return Err(FormatError::BadValue(raw)),
            }
            // `=host/...` (host encoded) or `*host[/...]`: the keys of one
            // host are next to each other, so each host is read once.
            let exact = key.first() == Some(&EXACT);
            let rest = key.get(1..).unwrap_or_default();
            let host = &rest[..rest.iter().position(|&b| b == b'/').unwrap_or(rest.len())];
            let kind = usize::from(!exact);
            if host.is_empty() || host == last[kind].as_slice() {
                continue;
            }
            last[kind] = host.to_vec();
            let mut decoded = Vec::new();
            if exact {
                table.tokens.decode_into(host, &mut decoded);
            } else {
                decoded.extend_from_slice(host);
            }
            // A host that is not UTF-8 names no request's host.
            if let Ok(h) = String::from_utf8(decoded) {
                hosts[kind].push(h.into_boxed_str());
            }
        }
        drop(stream);
        for list in &mut hosts {
            list.sort_unstable();
            list.dedup();
        }
        Ok(Table { hosts, ..table })
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
        host.is_empty()
            || self.hosts[usize::from(!exact)]
                .binary_search_by(|h| (**h).cmp(host))
                .is_ok()
    }

    /// The table-wide matching options it was built with.
    pub fn options(&self) -> TableOptions {
        self.options
    }

    /// The value under an exact key (`=host path [NUL query]`), encoding
    /// it with the dictionary into `buf` first.
    pub(crate) fn exact_value(&self, key: &[u8], buf: &mut Vec<u8>) -> Option<Value> {
        buf.clear();
        buf.push(EXACT);
        self.tokens.encode_into(key.get(1..)?, buf);
        Value::unpack(self.map.get(&buf[..])?, self.radix)
    }

    /// The template a value names, decoded into `buf` and parsed.
    pub(crate) fn template<'b, const N: usize>(
        &self,
        v: Value,
        buf: &'b mut Buf<N>,
    ) -> Option<Template<&'b [u8]>> {
        let id = usize::try_from(v.template_id).ok()?;
        self.records.decode(self.templates.as_bytes(), id, buf)?;
        Template::parse(buf.as_slice())
    }

    /// The redirect stored under a raw key (see [`crate::raw::exact_key`] and
    /// [`crate::raw::prefix_key`]), with no normalisation or precedence, and
    /// the target as stored (`:splat` unreplaced): for tools and tests.
    pub fn get(&self, key: &[u8]) -> Option<Redirect> {
        let v = match key.first() {
            Some(&EXACT) => self.exact_value(key, &mut Vec::new())?,
            _ => Value::unpack(self.map.get(key)?, self.radix)?,
        };
        let mut buf = Buf::<256>::new();
        let t = self.template(v, &mut buf)?;
        Some(Redirect {
            location: t.target(exact_key_path(key), v.slice())?,
            status: t.status,
        })
    }

    /// Number of rules (lookup keys).
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether the table holds no rule.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Number of distinct target templates (targets with the part they
    /// repeat from their source cut out, plus status and flags).
    pub fn template_count(&self) -> usize {
        self.templates.len()
    }

    /// Number of words in the key dictionary.
    pub fn dictionary_len(&self) -> usize {
        self.tokens.len()
    }
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
        old[6..8].copy_from_slice(b"02");
        assert!(matches!(
            Table::from_bytes(old),
            Err(FormatError::Version {
                expected: 3,
                found: 2
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
