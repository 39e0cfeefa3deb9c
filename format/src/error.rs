use std::fmt;

/// Why bytes could not be read or written as a table.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum FormatError {
    /// The data does not start with [`crate::MAGIC`]: it is not a table.
    BadMagic,
    /// The data is a table of another format version (the last two bytes
    /// of the magic).
    Version {
        /// The version this crate reads.
        expected: u16,
        /// The version of the data.
        found: u16,
    },
    /// The data is shorter than its header says.
    Truncated {
        /// Bytes the header promises.
        expected: u64,
        /// Bytes present.
        actual: u64,
    },
    /// A part of the table does not decode (its name: `word list`, `key
    /// index`, `template records`, `host list`).
    Corrupt(&'static str),
    /// The same lookup key was added twice.
    DuplicateKey(Vec<u8>),
    /// A key is longer than a table holds (65,536 symbols).
    KeyTooLong(Vec<u8>),
    /// A prefix rule's value takes a slice of the path (the key's number
    /// in key order).
    BadValue(u64),
    /// A target template record is malformed (its id).
    BadTemplate(u64),
}

impl fmt::Display for FormatError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FormatError::BadMagic => write!(f, "not a redirect table (bad magic bytes)"),
            FormatError::Version { expected, found } => write!(
                f,
                "redirect table format version {found}, this build reads version {expected} (rebuild the table with the same release)"
            ),
            FormatError::Truncated { expected, actual } => {
                write!(
                    f,
                    "table truncated: expected {expected} bytes, found {actual}"
                )
            }
            FormatError::Corrupt(part) => write!(f, "corrupt table: bad {part}"),
            FormatError::DuplicateKey(k) => {
                write!(f, "duplicate key {:?}", String::from_utf8_lossy(k))
            }
            FormatError::KeyTooLong(k) => {
                write!(f, "key too long: {:?}", String::from_utf8_lossy(&k[..k.len().min(80)]))
            }
            FormatError::BadValue(key) => write!(f, "bad value of key {key}"),
            FormatError::BadTemplate(id) => write!(f, "bad target template {id}"),
        }
    }
}

impl std::error::Error for FormatError {}

#[cfg(test)]
mod tests {
    use super::*;
    use std::error::Error;

    #[test]
    fn sources_and_messages() {
        let e = FormatError::Corrupt("key index");
        assert_eq!(e.to_string(), "corrupt table: bad key index");
        assert!(e.source().is_none());
        let v = FormatError::Version {
            expected: 4,
            found: 3,
        };
        assert!(v
            .to_string()
            .starts_with("redirect table format version 3, this build reads version 4"));
        assert!(v.source().is_none());
    }
}
