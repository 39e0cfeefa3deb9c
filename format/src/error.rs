use std::fmt;

/// Why bytes could not be read or written as a table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FormatError {
    /// The data does not start with [`crate::MAGIC`]; it is not a table or
    /// was written by another format version.
    BadMagic,
    /// The data is shorter than its header says.
    Truncated {
        /// Bytes the header promises.
        expected: u64,
        /// Bytes present.
        actual: u64,
    },
    /// The fst map inside is corrupt.
    Fst(String),
    /// The fcsd target set inside is corrupt, or a target cannot be stored
    /// in it (it contains a NUL byte).
    Fcsd(String),
    /// The same lookup key was added twice.
    DuplicateKey(Vec<u8>),
    /// A value names a template the set does not hold, or a prefix rule's
    /// value takes a slice of the path (the raw value).
    BadValue(u64),
    /// A target template record is malformed (its id).
    BadTemplate(u64),
    /// The key dictionary section is malformed.
    BadDictionary,
}

impl fmt::Display for FormatError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FormatError::BadMagic => write!(f, "not a redirect table (bad magic bytes)"),
            FormatError::Truncated { expected, actual } => {
                write!(
                    f,
                    "table truncated: expected {expected} bytes, found {actual}"
                )
            }
            FormatError::Fst(e) => write!(f, "corrupt source map: {e}"),
            FormatError::Fcsd(e) => write!(f, "corrupt target set: {e}"),
            FormatError::DuplicateKey(k) => {
                write!(f, "duplicate key {:?}", String::from_utf8_lossy(k))
            }
            FormatError::BadValue(raw) => write!(f, "bad value {raw:#x} in the source map"),
            FormatError::BadTemplate(id) => write!(f, "bad target template {id}"),
            FormatError::BadDictionary => write!(f, "bad key dictionary"),
        }
    }
}

impl std::error::Error for FormatError {}
