//! Bounds-checked primitive reads and the matching writes.

use crate::DecodeError;

/// A cursor over an input buffer; every read checks the remaining length.
#[derive(Debug, Clone)]
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Reader { buf }
    }

    pub(crate) fn remaining(&self) -> usize {
        self.buf.len()
    }

    pub(crate) fn u8(&mut self, field: &'static str) -> Result<u8, DecodeError> {
        let (&b, rest) = self.buf.split_first().ok_or(DecodeError::Truncated { field })?;
        self.buf = rest;
        Ok(b)
    }

    /// An unsigned LEB128 varint of at most 5 bytes that fits in `u32`.
    #[inline(always)]
    pub(crate) fn varint(&mut self, field: &'static str) -> Result<usize, DecodeError> {
        // Lengths below 128 (most topics, ids and small payloads) are one byte.
        if let Some((&b, rest)) = self.buf.split_first()
            && b < 0x80
        {
            self.buf = rest;
            return Ok(usize::from(b));
        }
        self.long_varint(field)
    }

    fn long_varint(&mut self, field: &'static str) -> Result<usize, DecodeError> {
        let mut value: u64 = 0;
        for shift in [0u32, 7, 14, 21, 28] {
            let b = self.u8(field)?;
            value |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return u32::try_from(value)
                    .map(|v| v as usize)
                    .map_err(|_| DecodeError::BadVarint);
            }
        }
        Err(DecodeError::BadVarint)
    }

    /// A varint length followed by that many bytes, at most `max` long.
    #[inline(always)]
    pub(crate) fn bytes(&mut self, field: &'static str, max: usize) -> Result<&'a [u8], DecodeError> {
        let len = self.varint(field)?;
        if len > max {
            return Err(DecodeError::TooLarge { field, len, max });
        }
        if len > self.buf.len() {
            return Err(DecodeError::Truncated { field });
        }
        let (head, rest) = self.buf.split_at(len);
        self.buf = rest;
        Ok(head)
    }

    /// [`Reader::bytes`] (unbounded) when the request's flags say the field is `present`, else `None`.
    #[inline]
    pub(crate) fn optional_bytes(
        &mut self,
        present: bool,
        field: &'static str,
    ) -> Result<Option<&'a [u8]>, DecodeError> {
        if present {
            self.bytes(field, usize::MAX).map(Some)
        } else {
            Ok(None)
        }
    }

    pub(crate) fn finish(self) -> Result<(), DecodeError> {
        if self.buf.is_empty() {
            Ok(())
        } else {
            Err(DecodeError::TrailingBytes(self.buf.len()))
        }
    }
}

#[inline]
pub(crate) fn put_varint(out: &mut Vec<u8>, mut v: usize) {
    loop {
        let byte = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

#[inline]
pub(crate) fn put_bytes(out: &mut Vec<u8>, b: &[u8]) {
    put_varint(out, b.len());
    out.extend_from_slice(b);
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn varint_round_trips(v in 0usize..=u32::MAX as usize) {
            let mut out = Vec::new();
            put_varint(&mut out, v);
            prop_assert!(out.len() <= 5);
            let mut r = Reader::new(&out);
            prop_assert_eq!(r.varint("v").unwrap(), v);
            r.finish().unwrap();
        }
    }

    #[test]
    fn overlong_varint_is_rejected() {
        let mut r = Reader::new(&[0xff, 0xff, 0xff, 0xff, 0xff, 0x01]);
        assert_eq!(r.varint("v"), Err(DecodeError::BadVarint));
        let mut r = Reader::new(&[0xff, 0xff, 0xff, 0xff, 0x7f]);
        assert_eq!(r.varint("v"), Err(DecodeError::BadVarint));
    }

    #[test]
    fn length_beyond_buffer_is_truncated_not_panic() {
        let mut r = Reader::new(&[10, 1, 2]);
        assert_eq!(r.bytes("f", 100), Err(DecodeError::Truncated { field: "f" }));
        let mut r = Reader::new(&[10, 1, 2]);
        assert_eq!(
            r.bytes("f", 5),
            Err(DecodeError::TooLarge {
                field: "f",
                len: 10,
                max: 5
            })
        );
    }
}
