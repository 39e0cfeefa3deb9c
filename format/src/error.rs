use std::fmt;
use std::sync::Arc;

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
    /// The fst map inside is corrupt.
    Fst(Arc<fst::Error>),
    /// The fcsd target set inside is corrupt, or a target cannot be stored
    /// in it.
    Fcsd(Arc<fcsd::FcsdError>),
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

impl From<fst::Error> for FormatError {
    fn from(e: fst::Error) -> FormatError {
        FormatError::Fst(Arc::new(e))
    }
}

impl From<fcsd::FcsdError> for FormatError {
    fn from(e: fcsd::FcsdError) -> FormatError {
        FormatError::Fcsd(Arc::new(e))
    }
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
            FormatError::Fst(_) => write!(f, "corrupt source map"),
            FormatError::Fcsd(_) => write!(f, "corrupt target set"),
            FormatError::DuplicateKey(k) => {
                write!(f, "duplicate key {:?}", String::from_utf8_lossy(k))
            }
            FormatError::BadValue(raw) => write!(f, "bad value {raw:#x} in the source map"),
            FormatError::BadTemplate(id) => write!(f, "bad target template {id}"),
            FormatError::BadDictionary => write!(f, "bad key dictionary"),
        }
    }
}

impl std::error::Error for FormatError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            FormatError::Fst(e) => Some(&**e),
            FormatError::Fcsd(e) => Some(&**e),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::error::Error;

    #[test]
    fn sources_and_messages() {
        let e = FormatError::from(fcsd::FcsdError::KeysNotSortedAndUnique);
        assert_eq!(e.to_string(), "corrupt target set");
        assert_eq!(
            e.source().unwrap().to_string(),
            "input keys must be sorted and unique"
        );
        let v = FormatError::Version {
            expected: 3,
            found: 2,
        };
        assert!(v
            .to_string()
            .starts_with("redirect table format version 2, this build reads version 3"));
        assert!(v.source().is_none());
    }
}
