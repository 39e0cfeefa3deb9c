use std::fmt;
use std::path::PathBuf;

/// An error in one line of a rules file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleError {
    /// The rules file.
    pub file: PathBuf,
    /// The line, counting from 1.
    pub line: usize,
    /// What is wrong.
    pub kind: ErrorKind,
}

impl fmt::Display for RuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.file.display(), self.line, self.kind)
    }
}

impl std::error::Error for RuleError {}

/// What is wrong with a rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ErrorKind {
    /// The line is not valid UTF-8.
    NotUtf8,
    /// The line has a source but no target.
    MissingTarget {
        /// The source given.
        source: String,
    },
    /// The line has more than three fields.
    TooManyFields {
        /// How many fields it has.
        count: usize,
    },
    /// The source does not start with `/`.
    SourceNotAbsolute {
        /// The source given.
        source: String,
    },
    /// The source has a `%` not followed by two hex digits.
    BadEscape {
        /// The source given.
        source: String,
    },
    /// The target is neither a path starting with `/` nor an http(s) URL.
    BadTarget {
        /// The target given.
        target: String,
    },
    /// The status is not 301, 302, 303, 307 or 308.
    UnknownStatus {
        /// The status given.
        status: String,
    },
    /// The source (after decoding escapes) was already defined.
    DuplicateSource {
        /// The source given.
        source: String,
        /// The line that defined it first.
        first_line: usize,
    },
    /// The line holds a control character (CR, NUL, ...): it could inject
    /// headers into the response.
    ControlCharacter {
        /// The byte.
        byte: u8,
        /// Its column, counting from 1.
        column: usize,
    },
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ErrorKind::NotUtf8 => write!(f, "line is not valid UTF-8"),
            ErrorKind::MissingTarget { source } => write!(f, "rule `{source}` has no target"),
            ErrorKind::TooManyFields { count } => write!(
                f,
                "expected `source target [status]`, found {count} fields"
            ),
            ErrorKind::SourceNotAbsolute { source } => {
                write!(f, "source `{source}` must start with `/`")
            }
            ErrorKind::BadEscape { source } => {
                write!(f, "source `{source}` has an invalid %-escape")
            }
            ErrorKind::BadTarget { target } => write!(
                f,
                "target `{target}` must be a path starting with `/` or an http(s):// URL"
            ),
            ErrorKind::UnknownStatus { status } => write!(
                f,
                "unknown status `{status}` (expected 301, 302, 303, 307 or 308)"
            ),
            ErrorKind::DuplicateSource { source, first_line } => write!(
                f,
                "duplicate source `{source}` (first defined on line {first_line})"
            ),
            ErrorKind::ControlCharacter { byte, column } => write!(
                f,
                "control character 0x{byte:02X} at column {column} (CR, LF and other control characters are not allowed in rules)"
            ),
        }
    }
}
