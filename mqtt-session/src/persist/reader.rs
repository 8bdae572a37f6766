//! [`Reader`]: bounds-checked big-endian reads over a state file, every failure an [`Error`] naming the offset.

use crate::Error;

/// A cursor over the body of a state file. Offsets in errors are from the start of the file.
pub(crate) struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    /// Reads `bytes`, whose first byte is at file offset `start`.
    pub(crate) fn new(bytes: &'a [u8], start: usize) -> Self {
        Reader { bytes, pos: start }
    }

    /// Current file offset.
    pub(crate) fn offset(&self) -> usize {
        self.pos
    }

    /// Bytes left.
    pub(crate) fn remaining(&self) -> usize {
        self.bytes.len()
    }

    /// An error about the value that starts at `offset`.
    pub(crate) fn invalid(offset: usize, what: &'static str) -> Error {
        Error::StateInvalid { offset, what }
    }

    pub(crate) fn take(&mut self, n: usize) -> Result<&'a [u8], Error> {
        if n > self.bytes.len() {
            return Err(Error::StateTruncated {
                offset: self.pos,
                needed: n - self.bytes.len(),
            });
        }
        let (head, rest) = self.bytes.split_at(n);
        self.bytes = rest;
        self.pos += n;
        Ok(head)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], Error> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    pub(crate) fn u8(&mut self) -> Result<u8, Error> {
        Ok(u8::from_be_bytes(self.array()?))
    }

    pub(crate) fn u16(&mut self) -> Result<u16, Error> {
        Ok(u16::from_be_bytes(self.array()?))
    }

    pub(crate) fn u32(&mut self) -> Result<u32, Error> {
        Ok(u32::from_be_bytes(self.array()?))
    }

    pub(crate) fn u64(&mut self) -> Result<u64, Error> {
        Ok(u64::from_be_bytes(self.array()?))
    }

    /// A `u32` element count of records that take at least `min_len` bytes each, refused when the rest of the
    /// file cannot hold that many (so a corrupt count cannot make the caller reserve gigabytes).
    pub(crate) fn count(&mut self, min_len: usize) -> Result<usize, Error> {
        let at = self.pos;
        let n = usize::try_from(self.u32()?).map_err(|_| Reader::invalid(at, "element count out of range"))?;
        if n.saturating_mul(min_len.max(1)) > self.remaining() {
            return Err(Reader::invalid(at, "element count exceeds the rest of the file"));
        }
        Ok(n)
    }

    /// A `u32`-length-prefixed byte string.
    pub(crate) fn frame(&mut self) -> Result<&'a [u8], Error> {
        let len = self.u32()?;
        let len = usize::try_from(len).map_err(|_| Reader::invalid(self.pos, "length out of range"))?;
        self.take(len)
    }

    /// A `u16`-length-prefixed byte string.
    pub(crate) fn short(&mut self) -> Result<&'a [u8], Error> {
        let len = self.u16()?;
        self.take(usize::from(len))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_big_endian_and_reports_truncation_with_the_offset() {
        let bytes = [0, 1, 0, 0, 0, 2, 0xAB];
        let mut r = Reader::new(&bytes, 10);
        assert_eq!(r.u16().unwrap(), 1);
        assert_eq!(r.u32().unwrap(), 2);
        assert_eq!(r.offset(), 16);
        assert_eq!(r.u16().unwrap_err(), Error::StateTruncated { offset: 16, needed: 1 });
    }

    #[test]
    fn a_count_larger_than_the_file_is_refused() {
        let bytes = [0, 0, 0, 3, 1, 2, 3, 4, 5];
        assert!(Reader::new(&bytes, 0).count(2).is_err());
        assert_eq!(Reader::new(&bytes, 0).count(1).unwrap(), 3);
    }
}
