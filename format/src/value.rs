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

/// Per-rule behaviour stored beside the status in the fst value.
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

/// What the fst map stores for a key: the template (see the `template`
/// module: prefix, suffix, status and flags, in the fcsd set) and the
/// slice of the request path that goes between prefix and suffix.
///
/// Packed into a `u64` in mixed radix, `((whole * backs + back) * starts +
/// start) * templates + template_id`, with the radices of the table (see
/// [`Radix`]): the smallest numbers that hold every value, which keeps the
/// fst's outputs short, and rules of one pattern share all of it, so the
/// fst stores it once per subtree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Value {
    /// Rank of the template in the fcsd set.
    pub template_id: u64,
    /// Path bytes before the slice.
    pub start: u64,
    /// Path bytes after the slice.
    pub back: u64,
    /// The template is the whole target; no slice.
    pub whole: bool,
}

/// The ranges of a table's [`Value`] fields (each field is below its
/// radix), stored in the table header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Radix {
    /// Number of templates.
    pub templates: u64,
    /// Largest `start` plus one.
    pub starts: u64,
    /// Largest `back` plus one.
    pub backs: u64,
}

impl Value {
    /// Packs the value; `None` if a field is out of its range or the
    /// result would overflow.
    pub fn pack(self, r: Radix) -> Option<u64> {
        if self.template_id >= r.templates || self.start >= r.starts || self.back >= r.backs {
            return None;
        }
        (u64::from(self.whole) * r.backs + self.back)
            .checked_mul(r.starts)?
            .checked_add(self.start)?
            .checked_mul(r.templates)?
            .checked_add(self.template_id)
    }

    /// Unpacks a value; `None` if it is out of range.
    pub fn unpack(raw: u64, r: Radix) -> Option<Value> {
        if r.templates == 0 || r.starts == 0 || r.backs == 0 {
            return None;
        }
        let (rest, template_id) = (raw / r.templates, raw % r.templates);
        let (rest, start) = (rest / r.starts, rest % r.starts);
        let (whole, back) = (rest / r.backs, rest % r.backs);
        (whole <= 1).then_some(Value {
            template_id,
            start,
            back,
            whole: whole == 1,
        })
    }

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
    fn pack_round_trips() {
        let r = Radix {
            templates: 155,
            starts: 28,
            backs: 8192,
        };
        for template_id in [0, 1, 154] {
            for (start, back) in [(0, 0), (1, 4), (27, 8191), (10, 7)] {
                for whole in [false, true] {
                    let v = Value {
                        template_id,
                        start,
                        back,
                        whole,
                    };
                    assert_eq!(Value::unpack(v.pack(r).unwrap(), r), Some(v));
                }
            }
        }
        let too_big = Value {
            template_id: 155,
            start: 0,
            back: 0,
            whole: false,
        };
        assert_eq!(too_big.pack(r), None);
        assert_eq!(Value::unpack(155 * 28 * 8192 * 2, r), None);
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
