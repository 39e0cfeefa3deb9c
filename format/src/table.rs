use crate::{FormatError, Status, Value, MAGIC};
use std::ops::Range;
use std::sync::Arc;

const HEADER_LEN: usize = 24;

/// A redirect found in a [`Table`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redirect {
    /// The `Location` header value, as written in the rules.
    pub location: String,
    /// The redirect status.
    pub status: Status,
}

/// One section of the table file, sharing the file's buffer (so a loaded
/// table holds the file's bytes once, not a copy per section).
#[derive(Clone)]
struct Section {
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
/// file's bytes as they are (no copy); after that, a lookup walks the fst
/// map and decodes one front-coded target, without parsing anything else.
pub struct Table {
    map: fst::Map<Section>,
    targets: fcsd::Set<Section>,
}

impl Table {
    /// Reads a table written by [`TableBuilder::finish`], taking ownership
    /// of its bytes.
    pub fn from_bytes(bytes: Vec<u8>) -> Result<Table, FormatError> {
        if bytes.len() < HEADER_LEN || bytes[..8] != MAGIC {
            return Err(FormatError::BadMagic);
        }
        let fst_len = u64::from_le_bytes(bytes[8..16].try_into().expect("8 bytes"));
        let set_len = u64::from_le_bytes(bytes[16..24].try_into().expect("8 bytes"));
        let expected = (HEADER_LEN as u64)
            .saturating_add(fst_len)
            .saturating_add(set_len);
        if expected != bytes.len() as u64 {
            return Err(FormatError::Truncated {
                expected,
                actual: bytes.len() as u64,
            });
        }
        let fst_end = HEADER_LEN + fst_len as usize;
        let len = bytes.len();
        let buf = Arc::new(bytes);
        let section = |range| Section {
            buf: buf.clone(),
            range,
        };
        let map = fst::Map::new(section(HEADER_LEN..fst_end))
            .map_err(|e| FormatError::Fst(e.to_string()))?;
        let targets = fcsd::Set::from_bytes(section(fst_end..len))
            .map_err(|e| FormatError::Fcsd(e.to_string()))?;
        let table = Table { map, targets };
        // Every value must name a target that exists and a known status.
        let n_targets = table.targets.len() as u64;
        let mut stream = table.map.stream();
        while let Some((_, raw)) = fst::Streamer::next(&mut stream) {
            match Value::unpack(raw) {
                Some(v) if v.target_id < n_targets => {}
                _ => return Err(FormatError::BadTargetId(raw >> 16)),
            }
        }
        drop(stream);
        Ok(table)
    }

    /// The redirect stored for a lookup key (see [`crate::path_key`]).
    pub fn get(&self, key: &[u8]) -> Option<Redirect> {
        let value = Value::unpack(self.map.get(key)?)?;
        self.redirect(value)
    }

    fn redirect(&self, value: Value) -> Option<Redirect> {
        let id = usize::try_from(value.target_id).ok()?;
        let location = String::from_utf8(self.targets.decoder().run(id)).ok()?;
        Some(Redirect {
            location,
            status: value.status,
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

    /// Number of distinct targets.
    pub fn target_count(&self) -> usize {
        self.targets.len()
    }

    /// Every rule, in key order (for tests and tools, not for requests).
    pub fn entries(&self) -> Vec<(Vec<u8>, Redirect)> {
        let mut out = Vec::with_capacity(self.len());
        let mut stream = self.map.stream();
        while let Some((key, raw)) = fst::Streamer::next(&mut stream) {
            if let Some(r) = Value::unpack(raw).and_then(|v| self.redirect(v)) {
                out.push((key.to_vec(), r));
            }
        }
        out
    }
}

/// Collects rules and writes them as a table.
#[derive(Default)]
pub struct TableBuilder {
    entries: Vec<(Vec<u8>, String, Status)>,
}

impl TableBuilder {
    /// An empty builder.
    pub fn new() -> TableBuilder {
        TableBuilder::default()
    }

    /// Adds a rule: requests whose key is `key` go to `target` with `status`.
    /// Duplicate keys are reported by [`TableBuilder::finish`].
    pub fn insert(&mut self, key: Vec<u8>, target: String, status: Status) {
        self.entries.push((key, target, status));
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
    pub fn finish(mut self) -> Result<Vec<u8>, FormatError> {
        self.entries.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        if let Some(w) = self.entries.windows(2).find(|w| w[0].0 == w[1].0) {
            return Err(FormatError::DuplicateKey(w[0].0.clone()));
        }
        let mut targets: Vec<&str> = self.entries.iter().map(|e| e.1.as_str()).collect();
        targets.sort_unstable();
        targets.dedup();
        let set = fcsd::Set::new(targets.iter().map(|t| t.as_bytes()))
            .map_err(|e| FormatError::Fcsd(e.to_string()))?;

        let mut map = fst::MapBuilder::memory();
        for (key, target, status) in &self.entries {
            let target_id = targets
                .binary_search(&target.as_str())
                .expect("every target is in the set") as u64;
            let value = Value {
                target_id,
                status: *status,
            };
            map.insert(key, value.pack())
                .map_err(|e| FormatError::Fst(e.to_string()))?;
        }
        let map = map
            .into_inner()
            .map_err(|e| FormatError::Fst(e.to_string()))?;

        let mut out = Vec::with_capacity(HEADER_LEN + map.len() + set.size_in_bytes());
        out.extend_from_slice(&MAGIC);
        out.extend_from_slice(&(map.len() as u64).to_le_bytes());
        out.extend_from_slice(&(set.size_in_bytes() as u64).to_le_bytes());
        out.extend_from_slice(&map);
        set.serialize_into(&mut out)
            .map_err(|e| FormatError::Fcsd(e.to_string()))?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<(Vec<u8>, String, Status)> {
        vec![
            (
                b"/old".to_vec(),
                "/new".to_string(),
                Status::MovedPermanently,
            ),
            (
                b"/a/b".to_vec(),
                "https://example.com/x?y=1".to_string(),
                Status::Found,
            ),
            (
                b"/c".to_vec(),
                "/new".to_string(),
                Status::PermanentRedirect,
            ),
            (
                "/café".as_bytes().to_vec(),
                "/coffee".to_string(),
                Status::SeeOther,
            ),
        ]
    }

    #[test]
    fn round_trip() {
        let mut b = TableBuilder::new();
        for (k, t, s) in sample() {
            b.insert(k, t, s);
        }
        let bytes = b.finish().unwrap();
        let table = Table::from_bytes(bytes.clone()).unwrap();
        assert_eq!(table.len(), 4);
        assert_eq!(table.target_count(), 3);
        for (k, t, s) in sample() {
            let r = table.get(&k).unwrap();
            assert_eq!((r.location.as_str(), r.status), (t.as_str(), s));
        }
        assert_eq!(table.get(b"/missing"), None);
        assert_eq!(table.get(b"/ol"), None);
        assert_eq!(table.entries().len(), 4);
    }

    #[test]
    fn rejects_duplicates() {
        let mut b = TableBuilder::new();
        b.insert(b"/x".to_vec(), "/1".into(), Status::Found);
        b.insert(b"/x".to_vec(), "/2".into(), Status::Found);
        assert_eq!(
            b.finish().unwrap_err(),
            FormatError::DuplicateKey(b"/x".to_vec())
        );
    }

    #[test]
    fn rejects_corrupt_bytes() {
        let mut b = TableBuilder::new();
        b.insert(b"/x".to_vec(), "/1".into(), Status::Found);
        let bytes = b.finish().unwrap();
        assert_eq!(
            Table::from_bytes(b"nope".to_vec()).err(),
            Some(FormatError::BadMagic)
        );
        assert!(matches!(
            Table::from_bytes(bytes[..bytes.len() - 1].to_vec()),
            Err(FormatError::Truncated { .. })
        ));
        let mut bad = bytes.clone();
        bad[0] = b'X';
        assert_eq!(Table::from_bytes(bad).err(), Some(FormatError::BadMagic));
    }

    #[test]
    fn empty_table_is_valid() {
        let bytes = TableBuilder::new().finish().unwrap();
        let table = Table::from_bytes(bytes.clone()).unwrap();
        assert!(table.is_empty());
        assert_eq!(table.get(b"/"), None);
    }
}
