/// An HTTP redirect status that a rule may carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    /// 301 Moved Permanently.
    MovedPermanently,
    /// 302 Found.
    Found,
    /// 303 See Other.
    SeeOther,
    /// 307 Temporary Redirect.
    TemporaryRedirect,
    /// 308 Permanent Redirect.
    PermanentRedirect,
}

impl Status {
    /// Every status a rule may carry, in numeric order.
    pub const ALL: [Status; 5] = [
        Status::MovedPermanently,
        Status::Found,
        Status::SeeOther,
        Status::TemporaryRedirect,
        Status::PermanentRedirect,
    ];

    /// The status used when a rule names none (301, as Netlify and
    /// Cloudflare do).
    pub const DEFAULT: Status = Status::MovedPermanently;

    /// The numeric HTTP status code.
    pub fn code(self) -> u16 {
        match self {
            Status::MovedPermanently => 301,
            Status::Found => 302,
            Status::SeeOther => 303,
            Status::TemporaryRedirect => 307,
            Status::PermanentRedirect => 308,
        }
    }

    /// The status for a numeric code, if it is a supported redirect.
    pub fn from_code(code: u16) -> Option<Status> {
        Status::ALL.into_iter().find(|s| s.code() == code)
    }
}

/// Per-rule behaviour stored beside the status in a template.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Flags {
    /// Carry the request's query string over onto the target.
    pub preserve_query: bool,
    /// For a prefix rule: append the rest of the request path after the
    /// prefix to the target's path (Cloudflare's `preserve_path_suffix`).
    pub preserve_suffix: bool,
    /// For a rule with a host: also match every subdomain of that host.
    pub include_subdomains: bool,
}

impl Flags {
    pub(crate) fn to_bits(self) -> u64 {
        u64::from(self.preserve_query)
            | u64::from(self.preserve_suffix) << 1
            | u64::from(self.include_subdomains) << 2
    }

    pub(crate) fn from_bits(bits: u64) -> Flags {
        Flags {
            preserve_query: bits & 1 != 0,
            preserve_suffix: bits & 2 != 0,
            include_subdomains: bits & 4 != 0,
        }
    }
}

/// What the table stores for a key (module `index`): the template (see
/// the `template` module: prefix, suffix, status and flags) and the slice
/// of the key that goes between prefix and suffix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Value {
    /// Number of the template.
    pub template_id: u64,
    /// Key bytes (after the kind byte) before the slice.
    pub start: u64,
    /// Key bytes after the slice.
    pub back: u64,
    /// The template is the whole target; no slice.
    pub whole: bool,
}

impl Value {
    pub(crate) fn slice(self) -> crate::template::Slice {
        crate::template::Slice {
            start: self.start as usize,
            back: self.back as usize,
            whole: self.whole,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_round_trip() {
        for bits in 0..8 {
            assert_eq!(Flags::from_bits(bits).to_bits(), bits);
        }
    }

    #[test]
    fn codes_round_trip() {
        for s in Status::ALL {
            assert_eq!(Status::from_code(s.code()), Some(s));
        }
        assert_eq!(Status::from_code(300), None);
        assert_eq!(Status::from_code(304), None);
    }
}
