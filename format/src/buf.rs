//! A byte buffer on the stack that moves to the heap only when it
//! outgrows its `N` bytes: the request path allocates nothing for the
//! usual short paths, hosts and templates, and still takes any length.

/// Zeroes a vector's whole allocation, then frees it. The table is loaded
/// inside a Wizer init function, and Wizer keeps every memory page that is
/// not zero in the snapshot, freed or not: a loader's scratch buffers
/// (long keys, code lengths) would otherwise end up in the artifact.
pub(crate) fn scrub<T: Copy + Default>(mut v: Vec<T>) {
    v.clear();
    v.resize(v.capacity(), T::default());
    // The writes must happen although the memory is freed next.
    std::hint::black_box(&mut v);
}

/// Bytes on the stack, spilled to a `Vec` past `N` (zeroed when dropped,
/// see [`scrub`]).
pub(crate) struct Buf<const N: usize> {
    stack: [u8; N],
    len: usize,
    heap: Option<Vec<u8>>,
}

impl<const N: usize> Buf<N> {
    /// An empty buffer.
    pub(crate) fn new() -> Buf<N> {
        Buf {
            stack: [0; N],
            len: 0,
            heap: None,
        }
    }

    /// The bytes so far.
    pub(crate) fn as_slice(&self) -> &[u8] {
        match &self.heap {
            Some(h) => h,
            None => &self.stack[..self.len],
        }
    }

    /// The bytes, as a `Vec`.
    pub(crate) fn into_vec(mut self) -> Vec<u8> {
        match self.heap.take() {
            Some(h) => h,
            None => self.stack[..self.len].to_vec(),
        }
    }

    /// Number of bytes.
    pub(crate) fn len(&self) -> usize {
        match &self.heap {
            Some(h) => h.len(),
            None => self.len,
        }
    }

    /// Moves the bytes to the heap, with room for `more`.
    fn spill(&mut self, more: usize) -> &mut Vec<u8> {
        let stack = &self.stack[..self.len];
        self.heap.get_or_insert_with(|| {
            let mut v = Vec::with_capacity((2 * N).max(stack.len() + more));
            v.extend_from_slice(stack);
            v
        })
    }

    /// Appends one byte.
    pub(crate) fn push(&mut self, b: u8) {
        if self.heap.is_none() && self.len < N {
            self.stack[self.len] = b;
            self.len += 1;
        } else {
            self.spill(1).push(b);
        }
    }

    /// Appends bytes.
    pub(crate) fn extend(&mut self, bytes: &[u8]) {
        if self.heap.is_none() && self.len + bytes.len() <= N {
            self.stack[self.len..self.len + bytes.len()].copy_from_slice(bytes);
            self.len += bytes.len();
        } else {
            self.spill(bytes.len()).extend_from_slice(bytes);
        }
    }

    /// Keeps the first `n` bytes.
    pub(crate) fn truncate(&mut self, n: usize) {
        match &mut self.heap {
            Some(h) => h.truncate(n),
            None => self.len = self.len.min(n),
        }
    }

    /// Removes every byte.
    pub(crate) fn clear(&mut self) {
        self.truncate(0);
    }

    /// The bytes as mutable.
    pub(crate) fn as_mut_slice(&mut self) -> &mut [u8] {
        match &mut self.heap {
            Some(h) => h,
            None => &mut self.stack[..self.len],
        }
    }
}

impl<const N: usize> Drop for Buf<N> {
    fn drop(&mut self) {
        if let Some(h) = self.heap.take() {
            scrub(h);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spills_past_its_size() {
        let mut b = Buf::<4>::new();
        b.extend(b"ab");
        b.push(b'c');
        assert_eq!(b.as_slice(), b"abc");
        b.extend(b"defg");
        b.push(b'h');
        assert_eq!(b.as_slice(), b"abcdefgh");
        assert_eq!(b.len(), 8);
        let mut small = Buf::<4>::new();
        small.extend(b"ab");
        assert_eq!(small.into_vec(), b"ab");
        b.truncate(2);
        b.as_mut_slice()[0] = b'x';
        assert_eq!(b.as_slice(), b"xb");
        b.clear();
        assert_eq!(b.as_slice(), b"");
    }
}
