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
    fn to_bits(self) -> u64 {
        u64::from(self.preserve_query)
            | u64::from(self.preserve_suffix) << 1
            | u64::from(self.include_subdomains) << 2
    }

    fn from_bits(bits: u64) -> Flags {
        Flags {
            preserve_query: bits & 1 != 0,
            preserve_suffix: bits & 2 != 0,
            include_subdomains: bits & 4 != 0,
        }
    }
}

/// The value stored for one lookup key in the fst map: status, flags and
/// the id of the target in the fcsd set, packed into one `u64`
/// (`target_id << 24 | flags << 16 | status code`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Value {
    /// Rank of the target in the fcsd set.
    pub target_id: u64,
    /// The redirect status.
    pub status: Status,
    /// Per-rule behaviour.
    pub flags: Flags,
}

impl Value {
    /// Packs the value into the `u64` the fst map stores.
    pub fn pack(self) -> u64 {
        (self.target_id << 24) | (self.flags.to_bits() << 16) | u64::from(self.status.code())
    }

    /// Unpacks a stored `u64`; `None` if its status bits are not a
    /// supported status or unknown flag bits are set (a corrupt table).
    pub fn unpack(raw: u64) -> Option<Value> {
        let status = Status::from_code((raw & 0xffff) as u16)?;
        let flag_bits = (raw >> 16) & 0xff;
        let flags = Flags::from_bits(flag_bits);
        if flags.to_bits() != flag_bits {
            return None;
        }
        Some(Value {
            target_id: raw >> 24,
            status,
            flags,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pack_round_trips() {
        for status in Status::ALL {
            for target_id in [0, 1, 65_535, 10_000_000, (1 << 40) - 1] {
                for bits in 0..8 {
                    let flags = Flags::from_bits(bits);
                    let v = Value {
                        target_id,
                        status,
                        flags,
                    };
                    assert_eq!(Value::unpack(v.pack()), Some(v));
                }
            }
        }
        assert_eq!(Value::unpack(200), None);
        assert_eq!(Value::unpack(301 | 1 << 20), None);
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
