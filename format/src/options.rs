//! Table-wide matching options.

/// Table-wide matching options, stored in the table's header so that the
/// compiler and the lookup normalise the same way.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TableOptions {
    /// Match paths regardless of ASCII/Unicode case.
    pub case_insensitive: bool,
    /// `/a` and `/a/` are different paths.
    pub strict_trailing_slash: bool,
}

impl TableOptions {
    pub(crate) fn to_bits(self) -> u64 {
        u64::from(self.case_insensitive) | u64::from(self.strict_trailing_slash) << 1
    }

    pub(crate) fn from_bits(bits: u64) -> TableOptions {
        TableOptions {
            case_insensitive: bits & 1 != 0,
            strict_trailing_slash: bits & 2 != 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bits_round_trip() {
        for case_insensitive in [false, true] {
            for strict_trailing_slash in [false, true] {
                let o = TableOptions {
                    case_insensitive,
                    strict_trailing_slash,
                };
                assert_eq!(TableOptions::from_bits(o.to_bits()), o);
            }
        }
    }
}
