use std::fmt;
use std::path::PathBuf;

/// A finding about one line of a rules file: an error (the build refuses
/// the rules) or a warning (reported, the build goes on).
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

/// A warning about one line: reported, but the rules still build.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleWarning {
    /// The rules file.
    pub file: PathBuf,
    /// The line, counting from 1.
    pub line: usize,
    /// What to know.
    pub kind: WarningKind,
}

impl fmt::Display for RuleWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}: warning: {}",
            self.file.display(),
            self.line,
            self.kind
        )
    }
}

/// The longest source or target accepted, in bytes.
pub const MAX_URL_LEN: usize = 8192;

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
    /// A field after the status that is not a known option.
    UnknownOption {
        /// The field given.
        option: String,
    },
    /// The source is neither a path starting with `/` nor an http(s) URL.
    SourceNotAbsolute {
        /// The source given.
        source: String,
    },
    /// The source's host is not a valid host name (ports are not supported).
    BadHost {
        /// The host given.
        host: String,
    },
    /// The source has a `%` not followed by two hex digits, or an escaped NUL.
    BadEscape {
        /// The source given.
        source: String,
    },
    /// A prefix rule (`/path/*`) that also names a query.
    QueryOnPrefix {
        /// The source given.
        source: String,
    },
    /// The target is neither a path starting with `/` nor an http(s) URL.
    BadTarget {
        /// The target given.
        target: String,
    },
    /// `:splat` in the target of a rule that is not a prefix rule.
    SplatWithoutPrefix {
        /// The target given.
        target: String,
    },
    /// The status is not 301, 302, 303, 307 or 308.
    UnknownStatus {
        /// The status given.
        status: String,
    },
    /// The source (after normalisation) was already defined.
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
    /// A source or target longer than [`MAX_URL_LEN`].
    TooLong {
        /// `source` or `target`.
        what: &'static str,
        /// Its length in bytes.
        len: usize,
    },
    /// The rule redirects to itself.
    SelfRedirect {
        /// The source given.
        source: String,
    },
    /// Following the targets leads back to this rule.
    Loop {
        /// The sources in the loop, starting with this rule's, and the line
        /// of each.
        chain: Vec<(String, usize)>,
    },
    /// A splat in the target's scheme, host, port or userinfo: the request
    /// would choose where it is sent (an open redirect).
    SplatOutsidePath {
        /// The target given.
        target: String,
    },
    /// A prefix rule whose target is under its own prefix and takes the
    /// rest of the path (`:splat` or `preserve-suffix`): every answer
    /// matches the rule again, until the browser gives up.
    UnderOwnPrefix {
        /// The source given.
        source: String,
        /// The target given.
        target: String,
    },
    /// A feature of the input format that redirects does not support.
    Unsupported {
        /// What it is and what to do instead.
        what: String,
    },
    /// A CSV row that does not fit the header.
    Csv {
        /// What is wrong.
        what: String,
    },
}

impl ErrorKind {
    /// The kind's name, which reports count findings by.
    pub fn name(&self) -> &'static str {
        match self {
            ErrorKind::NotUtf8 => "not UTF-8",
            ErrorKind::MissingTarget { .. } => "missing target",
            ErrorKind::UnknownOption { .. } => "unknown field",
            ErrorKind::SourceNotAbsolute { .. } => "source not absolute",
            ErrorKind::BadHost { .. } => "invalid host",
            ErrorKind::BadEscape { .. } => "invalid escape",
            ErrorKind::QueryOnPrefix { .. } => "query on a prefix rule",
            ErrorKind::BadTarget { .. } => "invalid target",
            ErrorKind::SplatWithoutPrefix { .. } => "splat without prefix",
            ErrorKind::UnknownStatus { .. } => "unknown status",
            ErrorKind::DuplicateSource { .. } => "duplicate source",
            ErrorKind::ControlCharacter { .. } => "control character",
            ErrorKind::TooLong { .. } => "too long",
            ErrorKind::SelfRedirect { .. } => "self-redirect",
            ErrorKind::Loop { .. } => "redirect loop",
            ErrorKind::SplatOutsidePath { .. } => "splat outside the path",
            ErrorKind::UnderOwnPrefix { .. } => "target under its own prefix",
            ErrorKind::Unsupported { .. } => "unsupported",
            ErrorKind::Csv { .. } => "csv",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ErrorKind::NotUtf8 => write!(f, "line is not valid UTF-8"),
            ErrorKind::MissingTarget { source } => write!(f, "rule `{source}` has no target"),
            ErrorKind::UnknownOption { option } => write!(
                f,
                "unknown field `{option}` (expected a status or `preserve-query`, `preserve-suffix`)"
            ),
            ErrorKind::SourceNotAbsolute { source } => write!(
                f,
                "source `{source}` must start with `/` or be an http(s):// URL"
            ),
            ErrorKind::BadHost { host } => write!(
                f,
                "invalid host `{host}` (a host name, optionally `*.` before it; no port)"
            ),
            ErrorKind::BadEscape { source } => write!(
                f,
                "source `{source}` has an invalid %-escape (or an escaped NUL)"
            ),
            ErrorKind::QueryOnPrefix { source } => {
                write!(f, "prefix rule `{source}` cannot name a query")
            }
            ErrorKind::BadTarget { target } => write!(
                f,
                "target `{target}` must be a path starting with `/` or an http(s):// URL"
            ),
            ErrorKind::SplatWithoutPrefix { target } => write!(
                f,
                "target `{target}` uses `:splat` but the source does not end in `/*`"
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
            ErrorKind::TooLong { what, len } => {
                write!(f, "{what} is {len} bytes long (at most {MAX_URL_LEN})")
            }
            ErrorKind::SelfRedirect { source } => {
                write!(f, "rule `{source}` redirects to itself")
            }
            ErrorKind::Loop { chain } => {
                write!(f, "redirect loop: ")?;
                for (source, line) in chain {
                    write!(f, "{source} (line {line}) -> ")?;
                }
                write!(f, "{}", chain[0].0)
            }
            ErrorKind::SplatOutsidePath { target } => write!(
                f,
                "target `{target}` puts `:splat` in its scheme, host, port or userinfo: a request could pick the site it is sent to (open redirect); a splat may stand only in the path or query"
            ),
            ErrorKind::UnderOwnPrefix { source, target } => write!(
                f,
                "prefix rule `{source}` redirects under its own prefix with the rest of the path (`{target}`): every answer matches it again, without end"
            ),
            ErrorKind::Unsupported { what } => write!(f, "unsupported: {what}"),
            ErrorKind::Csv { what } => write!(f, "{what}"),
        }
    }
}

/// What a warning says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WarningKind {
    /// A → B → C: this rule's target was replaced by the end of the chain.
    ChainCollapsed {
        /// The source of this rule.
        source: String,
        /// The target as written.
        via: String,
        /// The target it now has.
        target: String,
    },
    /// Netlify's `!` (force) has no meaning here and was ignored.
    ForceIgnored,
    /// A rule that a splat rule earlier in a Netlify file covers: Netlify
    /// would never reach it, redirects picks the more specific rule.
    Shadowed {
        /// The line of the covering splat rule.
        by_line: usize,
    },
}

impl WarningKind {
    /// The kind's name, which reports count findings by.
    pub fn name(&self) -> &'static str {
        match self {
            WarningKind::ChainCollapsed { .. } => "chain collapsed",
            WarningKind::ForceIgnored => "force ignored",
            WarningKind::Shadowed { .. } => "shadowed",
        }
    }
}

impl fmt::Display for WarningKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WarningKind::ChainCollapsed { source, via, target } => write!(
                f,
                "chain collapsed: `{source}` -> `{via}` -> ... now redirects straight to `{target}`"
            ),
            WarningKind::ForceIgnored => {
                write!(f, "`!` (force) is ignored: rules always apply")
            }
            WarningKind::Shadowed { by_line } => write!(
                f,
                "shadowed in Netlify by the splat rule on line {by_line}; here the more specific rule wins"
            ),
        }
    }
}
