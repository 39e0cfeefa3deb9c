//! The template records (module `template`), numbered, each its symbols
//! (module `vocab`) in the template code and an end symbol, in one bit
//! stream; every [`SAMPLE`]-th record's start is kept, and a record is
//! read by skipping the ones before it from there.

use crate::bits::{pack, put_part, BitReader, BitWriter, Cursor, Packed};
use crate::buf::Buf;
use crate::huffman::{ContextCounts, ContextDecoder, ContextsLearner};
use crate::vocab::{Vocab, END};
use std::ops::Range;

/// Records per kept start.
const SAMPLE: usize = 8;

/// Writes `records` (in number order).
pub(crate) fn write(records: &[&[u8]], vocab: &Vocab) -> Vec<u8> {
    // Every record's symbols, then `END`, one after the other: the three
    // passes below read them instead of looking the words up again.
    let mut symbols = Vec::with_capacity(records.iter().map(|r| r.len() / 2 + 1).sum());
    for r in records {
        vocab.symbols(r, |s| {
            symbols.push(s);
            true
        });
        symbols.push(END);
    }
    let mut learner = ContextsLearner::new(vocab.symbols_len());
    coded(&symbols, |prev, s| learner.add(prev, s));
    let mut counts = ContextCounts::new(vocab.symbols_len(), learner.finish());
    coded(&symbols, |prev, s| counts.add(prev, s));
    let codes = counts.codes();
    let code = codes.encoder();
    let mut w = BitWriter::default();
    let mut samples = Vec::with_capacity(records.len().div_ceil(SAMPLE));
    let mut i = 0usize;
    coded(&symbols, |prev, s| {
        if prev.is_none() {
            if i.is_multiple_of(SAMPLE) {
                samples.push(w.bit_len());
            }
            i += 1;
        }
        code.put(&mut w, prev, s)
    });
    let mut out = Vec::new();
    out.extend_from_slice(&(records.len() as u64).to_le_bytes());
    let mut part = Vec::new();
    codes.write(&mut part);
    put_part(&mut out, &part);
    let (width, bytes) = pack(&samples);
    out.extend_from_slice(&u64::from(width).to_le_bytes());
    put_part(&mut out, &bytes);
    put_part(&mut out, &w.finish());
    out
}

/// Calls `f` with each symbol of the records in `symbols` (each ended by
/// [`END`]) and the one before it in its record (`None` for a record's
/// first symbol).
fn coded(symbols: &[u32], mut f: impl FnMut(Option<u32>, u32)) {
    let mut prev = None;
    for &s in symbols {
        f(prev, s);
        prev = (s != END).then_some(s);
    }
}

/// Loaded template records (ranges of the table file).
#[derive(Debug, Clone)]
pub(crate) struct Store {
    len: usize,
    code: ContextDecoder,
    samples: (Packed, Range<usize>),
    stream: Range<usize>,
}

impl Store {
    /// Reads the records' part at the cursor; `None` if malformed.
    pub(crate) fn read(c: &mut Cursor, symbols: usize) -> Option<Store> {
        let len = usize::try_from(c.u64()?).ok()?;
        let (part, _) = c.part()?;
        let code = ContextDecoder::read(part, symbols)?;
        let width = u32::try_from(c.u64()?).ok()?;
        let (bytes, range) = c.part()?;
        let samples = Packed {
            width,
            len: len.div_ceil(SAMPLE),
        };
        samples.fits(bytes).then_some(())?;
        let (_, stream) = c.part()?;
        Some(Store {
            len,
            code,
            samples: (samples, range),
            stream,
        })
    }

    /// Number of records.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Decodes record `id` into `out` (cleared first); `None` if there is
    /// no such record or it does not decode.
    pub(crate) fn decode<const N: usize>(
        &self,
        file: &[u8],
        vocab: &Vocab,
        id: usize,
        out: &mut Buf<N>,
    ) -> Option<()> {
        if id >= self.len {
            return None;
        }
        // Its start: the kept one before it, then the records between.
        let mut r = BitReader::new(&file[self.stream.clone()], self.sample(file, id / SAMPLE)?);
        for _ in 0..id % SAMPLE {
            self.read_record(&mut r, None, out)?;
        }
        self.decode_at(file, vocab, r.position(), out)
    }

    /// Decodes the record starting at bit `at` of the stream (one of
    /// [`Store::starts`]) into `out` (cleared first): what
    /// [`Store::decode`] does once it has found the record's start;
    /// `None` if it does not decode.
    pub(crate) fn decode_at<const N: usize>(
        &self,
        file: &[u8],
        vocab: &Vocab,
        at: u64,
        out: &mut Buf<N>,
    ) -> Option<()> {
        let mut r = BitReader::new(&file[self.stream.clone()], at);
        out.clear();
        self.read_record(&mut r, Some(vocab), out)
    }

    /// Where every record starts in the stream, in number order (for
    /// [`Store::decode_at`]); `None` if a record does not decode.
    pub(crate) fn starts(&self, file: &[u8]) -> Option<Vec<u64>> {
        let mut r = BitReader::new(&file[self.stream.clone()], 0);
        let mut out = Buf::<0>::new();
        let mut starts = Vec::with_capacity(self.len);
        for _ in 0..self.len {
            starts.push(r.position());
            self.read_record(&mut r, None, &mut out)?;
        }
        Some(starts)
    }

    /// Decodes every record in order, in one pass (checking that each kept
    /// start is where its record starts), and calls `each` with its
    /// bytes; the number of the first record that does not decode or that
    /// `each` refuses.
    pub(crate) fn check(
        &self,
        file: &[u8],
        vocab: &Vocab,
        mut each: impl FnMut(&[u8]) -> bool,
    ) -> Result<(), usize> {
        let mut r = BitReader::new(&file[self.stream.clone()], 0);
        let mut out = Buf::<256>::new();
        for id in 0..self.len {
            let at_sample =
                !id.is_multiple_of(SAMPLE) || self.sample(file, id / SAMPLE) == Some(r.position());
            out.clear();
            let ok = at_sample
                && self.read_record(&mut r, Some(vocab), &mut out).is_some()
                && each(out.as_slice());
            if !ok {
                return Err(id);
            }
        }
        Ok(())
    }

    /// Where the `i`th kept record starts.
    fn sample(&self, file: &[u8], i: usize) -> Option<u64> {
        self.samples.0.get(&file[self.samples.1.clone()], i)
    }

    /// Reads one record up to its end symbol, appending its bytes to `out`
    /// when given the words (skipping it otherwise).
    fn read_record<const N: usize>(
        &self,
        r: &mut BitReader,
        vocab: Option<&Vocab>,
        out: &mut Buf<N>,
    ) -> Option<()> {
        let mut byte = [0u8];
        let mut ctx = self.code.context(None);
        loop {
            let s = self.code.next(r, &mut ctx)?;
            if r.overran() {
                return None;
            }
            if s == END {
                return Some(());
            }
            if let Some(vocab) = vocab {
                out.extend(vocab.text(s, &mut byte)?);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip() {
        let records: Vec<Vec<u8>> = (0..100)
            .map(|i| format!("\x01\u{80}/shop/item-{}\u{ff}/page-{}", i % 9, i).into_bytes())
            .chain([Vec::new(), vec![b'x'; 700]])
            .collect();
        let refs: Vec<&[u8]> = records.iter().map(|r| r.as_slice()).collect();
        let vocab = Vocab::choose(refs.iter().copied(), 1);
        let bytes = write(&refs, &vocab);
        let store = Store::read(
            &mut Cursor {
                bytes: &bytes,
                at: 0,
            },
            vocab.symbols_len(),
        )
        .unwrap();
        assert_eq!(store.len(), records.len());
        let mut buf = Buf::<64>::new();
        let starts = store.starts(&bytes).unwrap();
        assert_eq!(starts.len(), records.len());
        for (i, r) in records.iter().enumerate() {
            store.decode(&bytes, &vocab, i, &mut buf).unwrap();
            assert_eq!(buf.as_slice(), r.as_slice());
            store
                .decode_at(&bytes, &vocab, starts[i], &mut buf)
                .unwrap();
            assert_eq!(buf.as_slice(), r.as_slice(), "record {i} from its start");
        }
        assert!(store
            .decode(&bytes, &vocab, records.len(), &mut buf)
            .is_none());
        let mut seen = 0;
        assert_eq!(
            store.check(&bytes, &vocab, |r| {
                seen += 1;
                r == records[seen - 1].as_slice()
            }),
            Ok(())
        );
        assert_eq!(seen, records.len());
        assert_eq!(store.check(&bytes, &vocab, |r| r.len() < 700), Err(101));
    }
}
