//! Reading one template record out of the fcsd set without allocating.
//!
//! `fcsd::Set`'s decoder returns every record as a new `Vec` (and makes a
//! buffer of its own first); a lookup decodes one record per match, so
//! this reader decodes into the caller's stack buffer instead. It reads
//! the set's serialised bytes (fcsd format version 1: `FCSD`, version,
//! bucket pointers as a packed integer vector, front-coded keys, then
//! count, bucket bits, bucket mask and longest key), and
//! [`crate::Table::from_bytes`] checks that it decodes every record of a
//! table exactly as `fcsd` does before the table is used.

use crate::buf::Buf;

/// Where the parts of an fcsd set are in its bytes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Records {
    /// Offset of the pointer vector's first word.
    pointers: usize,
    /// Bits per pointer.
    bits: usize,
    /// Number of pointers.
    buckets: usize,
    /// The front-coded keys.
    keys_start: usize,
    keys_end: usize,
    /// Number of records.
    len: usize,
    bucket_bits: usize,
    bucket_mask: usize,
}

fn u64_at(bytes: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(bytes.get(at..at + 8)?.try_into().ok()?))
}

fn usize_at(bytes: &[u8], at: usize) -> Option<usize> {
    usize::try_from(u64_at(bytes, at)?).ok()
}

impl Records {
    /// Reads the layout of an fcsd set's bytes; `None` if they are not the
    /// layout this reader knows.
    pub(crate) fn parse(bytes: &[u8]) -> Option<Records> {
        if bytes.get(..4)? != b"FCSD" || bytes.get(4..8)? != 1u32.to_le_bytes() {
            return None;
        }
        let words = usize_at(bytes, 8)?;
        let pointers: usize = 16;
        let after = pointers.checked_add(words.checked_mul(8)?)?;
        let buckets = usize_at(bytes, after)?;
        let bits = usize_at(bytes, after + 8)?;
        let keys_len = usize_at(bytes, after + 24)?;
        let keys_start = after + 32;
        let keys_end = keys_start.checked_add(keys_len)?;
        let len = usize_at(bytes, keys_end)?;
        let bucket_bits = usize_at(bytes, keys_end + 8)?;
        let bucket_mask = usize_at(bytes, keys_end + 16)?;
        let ok = (1..=64).contains(&bits)
            && buckets.checked_mul(bits)? <= words.checked_mul(64)?
            && bucket_bits < usize::BITS as usize
            && bucket_mask == (1usize << bucket_bits) - 1
            && keys_end + 32 == bytes.len();
        ok.then_some(Records {
            pointers,
            bits,
            buckets,
            keys_start,
            keys_end,
            len,
            bucket_bits,
            bucket_mask,
        })
    }

    /// Number of records.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// The start of bucket `i` in the keys.
    fn pointer(&self, bytes: &[u8], i: usize) -> Option<usize> {
        if i >= self.buckets {
            return None;
        }
        let bit = i * self.bits;
        let (q, m) = (bit / 64, bit % 64);
        let word = |q: usize| u64_at(bytes, self.pointers + 8 * q);
        let mask = if self.bits == 64 {
            u64::MAX
        } else {
            (1u64 << self.bits) - 1
        };
        let v = if m + self.bits <= 64 {
            (word(q)? >> m) & mask
        } else {
            ((word(q)? >> m) | (word(q + 1)? << (64 - m))) & mask
        };
        usize::try_from(v).ok()
    }

    /// Decodes record `id` of the set whose bytes are `bytes` into `out`
    /// (cleared first); `None` if `id` is out of range or the bytes are
    /// inconsistent.
    pub(crate) fn decode<const N: usize>(
        &self,
        bytes: &[u8],
        id: usize,
        out: &mut Buf<N>,
    ) -> Option<()> {
        if id >= self.len {
            return None;
        }
        let keys = bytes.get(self.keys_start..self.keys_end)?;
        let mut pos = self.pointer(bytes, id >> self.bucket_bits)?;
        out.clear();
        pos = copy_key(keys, pos, out)?;
        for _ in 0..(id & self.bucket_mask) {
            let (lcp, n) = vbyte(keys.get(pos..)?)?;
            if lcp > out.len() {
                return None;
            }
            out.truncate(lcp);
            pos = copy_key(keys, pos + n, out)?;
        }
        Some(())
    }
}

/// Appends the bytes from `pos` up to the next NUL; the position after it.
fn copy_key<const N: usize>(keys: &[u8], pos: usize, out: &mut Buf<N>) -> Option<usize> {
    let rest = keys.get(pos..)?;
    let end = rest.iter().position(|&b| b == 0)?;
    out.extend(&rest[..end]);
    Some(pos + end + 1)
}

/// A variable-length integer (7 bits a byte, low first) and its length.
fn vbyte(bytes: &[u8]) -> Option<(usize, usize)> {
    let mut val = 0usize;
    for (i, &b) in bytes.iter().enumerate().take(10) {
        let payload = usize::from(b & 127);
        let shift = 7 * i;
        if shift >= usize::BITS as usize || payload > (usize::MAX >> shift) {
            return None;
        }
        val |= payload << shift;
        if b & 0x80 == 0 {
            return Some((val, i + 1));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_as_fcsd_does() {
        let mut keys: Vec<Vec<u8>> = (0..300u32)
            .map(|i| format!("\x01\u{80}/k/{}/{}", i % 7, i * 7919 % 1000).into_bytes())
            .collect();
        keys.push(vec![b'x'; 700]);
        keys.sort();
        keys.dedup();
        let set = fcsd::Set::new(keys.iter()).unwrap();
        let r = Records::parse(set.as_bytes()).unwrap();
        assert_eq!(r.len(), keys.len());
        let mut buf = Buf::<64>::new();
        for (id, k) in keys.iter().enumerate() {
            r.decode(set.as_bytes(), id, &mut buf).unwrap();
            assert_eq!(buf.as_slice(), k.as_slice());
        }
        assert!(r.decode(set.as_bytes(), keys.len(), &mut buf).is_none());
        let empty = fcsd::Set::new(Vec::<&[u8]>::new()).unwrap();
        assert_eq!(Records::parse(empty.as_bytes()).unwrap().len(), 0);
        assert!(Records::parse(&set.as_bytes()[1..]).is_none());
    }
}
