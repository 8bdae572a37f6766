//! MQTT data representation (spec 1.5): a reader that hands out zero-copy views of a frame, and the matching
//! writers.

use bytes::{Buf, BufMut, Bytes};

use crate::{ByteStr, Error, PacketId, PacketType, TopicFilter, TopicName, varint};

/// Most list entries decoders reserve room for before reading them.
pub(crate) const PREALLOCATE_MAX: usize = 64;

/// A cursor over the body of one packet. Every field it returns is a slice of the frame: reading a string,
/// binary field or payload bumps a reference count and copies nothing.
#[derive(Debug)]
pub(crate) struct Reader {
    buf: Bytes,
    packet: PacketType,
}

impl Reader {
    #[inline]
    pub fn new(buf: Bytes, packet: PacketType) -> Self {
        Reader { buf, packet }
    }

    #[inline]
    pub fn packet(&self) -> PacketType {
        self.packet
    }

    #[inline]
    pub fn remaining(&self) -> usize {
        self.buf.len()
    }

    #[inline]
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    fn truncated(&self) -> Error {
        Error::Truncated { packet: self.packet }
    }

    #[inline]
    pub fn u8(&mut self) -> Result<u8, Error> {
        if self.buf.is_empty() {
            return Err(self.truncated());
        }
        Ok(self.buf.get_u8())
    }

    #[inline]
    pub fn u16(&mut self) -> Result<u16, Error> {
        if self.buf.len() < 2 {
            return Err(self.truncated());
        }
        Ok(self.buf.get_u16())
    }

    #[inline]
    pub fn u32(&mut self) -> Result<u32, Error> {
        if self.buf.len() < 4 {
            return Err(self.truncated());
        }
        Ok(self.buf.get_u32())
    }

    #[inline]
    pub fn varint(&mut self) -> Result<u32, Error> {
        match varint::parse(&self.buf)? {
            Some((value, used)) => {
                self.buf.advance(used);
                Ok(value)
            }
            None => Err(self.truncated()),
        }
    }

    /// Consumes the next byte if it is `byte`: a one-byte look-ahead for fast paths (an empty property block is
    /// the single byte 0).
    #[inline]
    pub fn skip_if(&mut self, byte: u8) -> bool {
        if self.buf.first() == Some(&byte) {
            self.buf.advance(1);
            true
        } else {
            false
        }
    }

    /// Consumes and returns the next byte if it is below 0x80, which makes it a whole variable byte integer:
    /// every property identifier takes this path, and a longer encoding falls back to [`Reader::varint`].
    #[inline]
    pub fn small_varint(&mut self) -> Option<u8> {
        match self.buf.first() {
            Some(&b) if b < 0x80 => {
                self.buf.advance(1);
                Some(b)
            }
            _ => None,
        }
    }

    /// The next `n` bytes as a view of the frame.
    #[inline]
    pub fn take(&mut self, n: usize) -> Result<Bytes, Error> {
        if self.buf.len() < n {
            return Err(self.truncated());
        }
        Ok(self.buf.split_to(n))
    }

    /// A sub-reader over the next `n` bytes (a property block).
    #[inline]
    pub fn sub(&mut self, n: usize) -> Result<Reader, Error> {
        Ok(Reader::new(self.take(n)?, self.packet))
    }

    /// Binary data: a two-byte length and that many bytes.
    #[inline]
    pub fn binary(&mut self) -> Result<Bytes, Error> {
        let len = self.u16()?;
        self.take(usize::from(len))
    }

    /// A UTF-8 string, validated.
    #[inline]
    pub fn string(&mut self) -> Result<ByteStr, Error> {
        ByteStr::try_from(self.binary()?)
    }

    #[inline]
    pub fn topic_name(&mut self) -> Result<TopicName, Error> {
        TopicName::from_wire(self.binary()?)
    }

    #[inline]
    pub fn topic_filter(&mut self) -> Result<TopicFilter, Error> {
        TopicFilter::new(self.string()?)
    }

    #[inline]
    pub fn packet_id(&mut self) -> Result<PacketId, Error> {
        PacketId::new(self.u16()?).ok_or(Error::PacketIdZero { packet: self.packet })
    }

    /// How many entries of a two-byte length, that many bytes and `extra` more bytes the rest of the packet
    /// holds, counting until they stop fitting. Sizes a list before it is decoded (the decoding pass reports
    /// any malformed entry).
    pub fn count_prefixed(&self, extra: usize) -> usize {
        let mut rest: &[u8] = &self.buf;
        let mut count = 0;
        while let [hi, lo, tail @ ..] = rest {
            let len = usize::from(u16::from_be_bytes([*hi, *lo])) + extra;
            match tail.get(len..) {
                Some(next) => rest = next,
                None => break,
            }
            count += 1;
        }
        count
    }

    /// Everything not read yet (a payload).
    #[inline]
    pub fn rest(self) -> Bytes {
        self.buf
    }

    /// Ends a packet or block that must be fully consumed.
    #[inline]
    pub fn finish(self) -> Result<(), Error> {
        if self.buf.is_empty() {
            Ok(())
        } else {
            Err(Error::TrailingBytes {
                packet: self.packet,
                len: self.buf.len(),
            })
        }
    }
}

/// Encoded length of a string.
pub(crate) fn string_len(s: &str) -> usize {
    2 + s.len()
}

/// Encoded length of binary data.
pub(crate) fn binary_len(b: &[u8]) -> usize {
    2 + b.len()
}

/// Writes a string; a [`ByteStr`] (and so every topic) is never longer than 65,535 bytes.
pub(crate) fn put_string(dst: &mut impl BufMut, s: &str) {
    dst.put_u16(s.len() as u16);
    dst.put_slice(s.as_bytes());
}

/// Writes binary data, refusing more than a two-byte length can say.
pub(crate) fn put_binary(dst: &mut impl BufMut, b: &[u8]) -> Result<(), Error> {
    let len = u16::try_from(b.len()).map_err(|_| Error::BinaryTooLong { len: b.len() })?;
    dst.put_u16(len);
    dst.put_slice(b);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_views_of_the_frame() {
        let frame = Bytes::from_static(b"\x00\x03a/b\x00\x02hi\xFF");
        let mut r = Reader::new(frame.clone(), PacketType::Publish);
        let topic = r.topic_name().unwrap();
        assert_eq!(topic.as_byte_str().as_bytes().as_ptr(), frame[2..].as_ptr());
        assert_eq!(&r.binary().unwrap()[..], b"hi");
        assert_eq!(r.u8().unwrap(), 0xFF);
        assert!(r.is_empty());
        assert_eq!(
            r.u8(),
            Err(Error::Truncated {
                packet: PacketType::Publish
            })
        );
    }

    #[test]
    fn counts_length_prefixed_entries() {
        let r = Reader::new(
            Bytes::from_static(b"\x00\x01a\x01\x00\x02bc\x02"),
            PacketType::Subscribe,
        );
        assert_eq!(r.count_prefixed(1), 2);
        assert_eq!(r.count_prefixed(0), 1);
        let r = Reader::new(Bytes::from_static(b"\x00\x05ab"), PacketType::Unsubscribe);
        assert_eq!(r.count_prefixed(0), 0);
    }

    #[test]
    fn truncation_and_leftovers() {
        let mut r = Reader::new(Bytes::from_static(b"\x00\x05abc"), PacketType::Connect);
        assert_eq!(
            r.string(),
            Err(Error::Truncated {
                packet: PacketType::Connect
            })
        );
        let r = Reader::new(Bytes::from_static(b"x"), PacketType::PubAck);
        assert_eq!(
            r.finish(),
            Err(Error::TrailingBytes {
                packet: PacketType::PubAck,
                len: 1
            })
        );
        let mut r = Reader::new(Bytes::from_static(b"\x00\x00"), PacketType::PubAck);
        assert_eq!(
            r.packet_id(),
            Err(Error::PacketIdZero {
                packet: PacketType::PubAck
            })
        );
    }
}
