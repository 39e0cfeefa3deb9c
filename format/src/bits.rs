//! Bit streams and fixed-width integer arrays: what the coded sections of
//! a table are made of. Bits are written and read least significant first.

/// Writes bits into bytes.
#[derive(Default)]
pub(crate) struct BitWriter {
    bytes: Vec<u8>,
    acc: u64,
    n: u32,
}

impl BitWriter {
    /// Appends the low `bits` bits of `value` (`bits` <= 57).
    pub(crate) fn write(&mut self, value: u64, bits: u32) {
        debug_assert!(bits <= 57 && (bits == 57 || value >> bits == 0));
        self.acc |= value << self.n;
        self.n += bits;
        while self.n >= 8 {
            self.bytes.push(self.acc as u8);
            self.acc >>= 8;
            self.n -= 8;
        }
    }

    /// Appends a value of up to 64 bits.
    pub(crate) fn write_wide(&mut self, value: u64, bits: u32) {
        if bits > 32 {
            self.write(value & 0xFFFF_FFFF, 32);
            self.write(value >> 32, bits - 32);
        } else {
            self.write(value, bits);
        }
    }

    /// Number of bits written so far.
    pub(crate) fn bit_len(&self) -> u64 {
        self.bytes.len() as u64 * 8 + u64::from(self.n)
    }

    /// The bytes, the last one padded with zeros.
    pub(crate) fn finish(mut self) -> Vec<u8> {
        if self.n > 0 {
            self.bytes.push(self.acc as u8);
        }
        self.bytes
    }
}

/// Reads bits from bytes; past the end it reads zeros and remembers that
/// it did ([`BitReader::overran`]).
#[derive(Clone, Copy)]
pub(crate) struct BitReader<'a> {
    bytes: &'a [u8],
    pos: u64,
}

impl<'a> BitReader<'a> {
    /// A reader at bit `pos` of `bytes`.
    pub(crate) fn new(bytes: &'a [u8], pos: u64) -> BitReader<'a> {
        BitReader { bytes, pos }
    }

    /// The next 57 bits (fewer real ones near the end) without moving.
    #[inline]
    pub(crate) fn peek(&self) -> u64 {
        let byte = (self.pos / 8) as usize;
        let shift = (self.pos % 8) as u32;
        let word = match self.bytes.get(byte..byte + 8) {
            Some(b) => u64::from_le_bytes(b.try_into().expect("8 bytes")),
            None => {
                let mut w = [0u8; 8];
                if let Some(rest) = self.bytes.get(byte..) {
                    w[..rest.len()].copy_from_slice(rest);
                }
                u64::from_le_bytes(w)
            }
        };
        word >> shift
    }

    /// Moves past `bits` bits.
    #[inline]
    pub(crate) fn consume(&mut self, bits: u32) {
        self.pos += u64::from(bits);
    }

    /// Reads `bits` (<= 57) bits.
    #[inline]
    pub(crate) fn read(&mut self, bits: u32) -> u64 {
        if bits == 0 {
            return 0;
        }
        let v = self.peek() & ((1u64 << bits) - 1);
        self.consume(bits);
        v
    }

    /// Reads up to 64 bits.
    #[inline]
    pub(crate) fn read_wide(&mut self, bits: u32) -> u64 {
        if bits > 32 {
            let low = self.read(32);
            low | self.read(bits - 32) << 32
        } else {
            self.read(bits)
        }
    }

    /// The bit it reads next.
    pub(crate) fn position(&self) -> u64 {
        self.pos
    }

    /// Whether the reader went past the end of its bytes.
    pub(crate) fn overran(&self) -> bool {
        self.pos > self.bytes.len() as u64 * 8
    }
}

/// Bits needed to hold every number below `n` (0 for `n <= 1`).
pub(crate) fn width(n: u64) -> u32 {
    if n <= 1 {
        0
    } else {
        64 - (n - 1).leading_zeros()
    }
}

/// Writes integers of one width, for [`Packed`].
pub(crate) fn pack(values: &[u64]) -> (u32, Vec<u8>) {
    let w = width(values.iter().max().map_or(0, |&m| m + 1));
    let mut out = BitWriter::default();
    for &v in values {
        out.write_wide(v, w);
    }
    (w, out.finish())
}

/// `len` integers of `width` bits each, read by index.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Packed {
    pub(crate) width: u32,
    pub(crate) len: usize,
}

impl Packed {
    /// Whether `bytes` hold this many integers.
    pub(crate) fn fits(&self, bytes: &[u8]) -> bool {
        self.width <= 64
            && (self.len as u64)
                .checked_mul(u64::from(self.width))
                .is_some_and(|bits| bits.div_ceil(8) <= bytes.len() as u64)
    }

    /// Integer `i` (0 past the end).
    #[inline]
    pub(crate) fn get(&self, bytes: &[u8], i: usize) -> Option<u64> {
        if i >= self.len {
            return None;
        }
        let mut r = BitReader::new(bytes, i as u64 * u64::from(self.width));
        Some(r.read_wide(self.width))
    }
}

/// Reads the parts of a table file in order, remembering where they are.
pub(crate) struct Cursor<'a> {
    pub(crate) bytes: &'a [u8],
    pub(crate) at: usize,
}

impl<'a> Cursor<'a> {
    /// The next `n` bytes and where they are in the file.
    pub(crate) fn take(&mut self, n: usize) -> Option<(&'a [u8], std::ops::Range<usize>)> {
        let end = self.at.checked_add(n)?;
        let part = self.bytes.get(self.at..end)?;
        let range = self.at..end;
        self.at = end;
        Some((part, range))
    }

    /// A little-endian `u64`.
    pub(crate) fn u64(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.take(8)?.0.try_into().ok()?))
    }

    /// Reads the next part (written by [`put_part`]) with `read`, which
    /// must read all of it.
    pub(crate) fn nested<T>(
        &mut self,
        read: impl FnOnce(&mut Cursor<'a>) -> Option<T>,
    ) -> Option<T> {
        let (_, range) = self.part()?;
        let mut inner = Cursor {
            bytes: &self.bytes[..range.end],
            at: range.start,
        };
        let value = read(&mut inner)?;
        (inner.at == range.end).then_some(value)
    }

    /// A part written by [`put_part`]: its bytes and where they are.
    pub(crate) fn part(&mut self) -> Option<(&'a [u8], std::ops::Range<usize>)> {
        let n = usize::try_from(self.u64()?).ok()?;
        self.take(n)
    }
}

/// Appends `part` with its length in front (a `u64` LE).
pub(crate) fn put_part(out: &mut Vec<u8>, part: &[u8]) {
    out.extend_from_slice(&(part.len() as u64).to_le_bytes());
    out.extend_from_slice(part);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bits_round_trip() {
        let mut w = BitWriter::default();
        let items: Vec<(u64, u32)> = (0..500u64)
            .map(|i| {
                let bits = (i * 7 % 58) as u32;
                let v = if bits == 0 {
                    0
                } else {
                    (i * 0x9E37_79B9) & ((1 << bits) - 1)
                };
                (v, bits)
            })
            .collect();
        for &(v, b) in &items {
            w.write(v, b);
        }
        w.write_wide(u64::MAX, 64);
        let total = w.bit_len();
        let bytes = w.finish();
        let mut r = BitReader::new(&bytes, 0);
        for &(v, b) in &items {
            assert_eq!(r.read(b), v);
        }
        assert_eq!(r.read_wide(64), u64::MAX);
        assert!(!r.overran());
        assert_eq!(r.pos, total);
        r.read(9);
        assert!(r.overran());
        assert_eq!(width(0), 0);
        assert_eq!(width(1), 0);
        assert_eq!(width(2), 1);
        assert_eq!(width(256), 8);
        assert_eq!(width(257), 9);
        let values: Vec<u64> = (0..100).map(|i| i * 1000).collect();
        let (w, bytes) = pack(&values);
        let p = Packed { width: w, len: 100 };
        assert!(p.fits(&bytes));
        for (i, &v) in values.iter().enumerate() {
            assert_eq!(p.get(&bytes, i), Some(v));
        }
        assert_eq!(p.get(&bytes, 100), None);
    }
}
