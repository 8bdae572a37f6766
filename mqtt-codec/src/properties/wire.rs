//! How properties travel: a property block is split off the frame and read identifier by identifier; each data
//! type of spec 1.5 is a codec for the Rust types packets hold; and a set keeps a property that may appear once in
//! an `Option` and one that may repeat in a `Vec`.

use std::num::{NonZeroU16, NonZeroU32};

use bytes::{BufMut, Bytes, BytesMut};

use crate::field::{self, Reader};
use crate::properties::ids::PropertyId;
use crate::properties::{PayloadFormat, UserProperty};
use crate::{ByteStr, Error, MAX_VARIABLE_INT, QoS, TopicName, varint};

// ---------------------------------------------------------------------------------------------------------------
// Blocks

/// [`PropertyId::from_u32`] for every one-byte identifier, so decoding maps an identifier with one load.
/// Built at compile time: an out-of-range index here would fail the build, never panic at run time.
#[allow(clippy::indexing_slicing)]
const PROPERTY_IDS: [Option<PropertyId>; 0x80] = {
    let mut table = [None; 0x80];
    let mut id = 0;
    while id < 0x80 {
        table[id] = PropertyId::from_u32(id as u32);
        id += 1;
    }
    table
};

/// A property block being read.
pub(crate) struct Block {
    r: Reader,
}

impl Block {
    /// Reads the property length and splits the block off `r`.
    ///
    /// The common empty block (the single byte 0) takes a fast path that splits nothing off the frame.
    #[inline]
    pub(crate) fn read(r: &mut Reader) -> Result<Block, Error> {
        if r.skip_if(0) {
            return Ok(Block {
                r: Reader::new(Bytes::new(), r.packet()),
            });
        }
        let len = r.varint()? as usize;
        Ok(Block { r: r.sub(len)? })
    }

    /// The next property's identifier, `None` at the end of the block.
    #[inline]
    pub(crate) fn next(&mut self) -> Result<Option<PropertyId>, Error> {
        if self.r.is_empty() {
            return Ok(None);
        }
        // Every identifier MQTT 5.0 defines fits one byte; anything longer goes through the full (strict) parse.
        let property = match self.r.small_varint() {
            Some(id) => PROPERTY_IDS
                .get(usize::from(id))
                .copied()
                .flatten()
                .ok_or(u32::from(id)),
            None => {
                let id = self.r.varint()?;
                PropertyId::from_u32(id).ok_or(id)
            }
        };
        property.map(Some).map_err(|id| Error::UnknownProperty { id })
    }

    /// Where the value of the property just identified is read from.
    #[inline]
    pub(crate) fn reader(&mut self) -> &mut Reader {
        &mut self.r
    }

    /// The error for a property the set being decoded does not allow.
    pub(crate) fn not_allowed(&self, property: PropertyId) -> Error {
        Error::PropertyNotAllowed {
            property,
            packet: self.r.packet(),
        }
    }
}

/// Size of a property block on the wire: its length prefix plus `len` bytes of properties.
pub(crate) fn block_len(len: usize) -> usize {
    varint::len(u32::try_from(len).unwrap_or(u32::MAX)) + len
}

/// Writes the length prefix of a property block.
pub(crate) fn put_block_len(dst: &mut BytesMut, len: usize) -> Result<(), Error> {
    varint::put(dst, varint::check(len)?);
    Ok(())
}

// ---------------------------------------------------------------------------------------------------------------
// Data types

/// A data type of spec 1.5 as the codec of a property value of Rust type `T`. `property` names the property for
/// errors about its value.
pub(crate) trait Wire<T> {
    /// Reads a value, refusing one outside the property's range with [`PropertyId::invalid_value`].
    fn read(r: &mut Reader, property: PropertyId) -> Result<T, Error>;
    /// Size of the value on the wire.
    fn len(value: &T) -> usize;
    /// Writes the value, refusing one the wire cannot carry.
    fn put(value: &T, dst: &mut BytesMut, property: PropertyId) -> Result<(), Error>;
}

/// Byte (spec 1.5.1): booleans (0 or 1), the payload format and Maximum QoS.
pub(crate) struct Byte;
/// Two Byte Integer (spec 1.5.2).
pub(crate) struct TwoByteInteger;
/// Four Byte Integer (spec 1.5.3).
pub(crate) struct FourByteInteger;
/// UTF-8 Encoded String (spec 1.5.4): any valid string, or a topic name.
pub(crate) struct Utf8String;
/// Variable Byte Integer (spec 1.5.5): subscription identifiers.
pub(crate) struct VariableByteInteger;
/// Binary Data (spec 1.5.6).
pub(crate) struct BinaryData;
/// UTF-8 String Pair (spec 1.5.7): user properties.
pub(crate) struct Utf8StringPair;

impl Wire<bool> for Byte {
    #[inline]
    fn read(r: &mut Reader, property: PropertyId) -> Result<bool, Error> {
        match r.u8()? {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(property.invalid_value()),
        }
    }
    #[inline]
    fn len(_: &bool) -> usize {
        1
    }
    #[inline]
    fn put(value: &bool, dst: &mut BytesMut, _: PropertyId) -> Result<(), Error> {
        dst.put_u8(u8::from(*value));
        Ok(())
    }
}

impl Wire<PayloadFormat> for Byte {
    #[inline]
    fn read(r: &mut Reader, property: PropertyId) -> Result<PayloadFormat, Error> {
        match r.u8()? {
            0 => Ok(PayloadFormat::Unspecified),
            1 => Ok(PayloadFormat::Utf8),
            _ => Err(property.invalid_value()),
        }
    }
    #[inline]
    fn len(_: &PayloadFormat) -> usize {
        1
    }
    #[inline]
    fn put(value: &PayloadFormat, dst: &mut BytesMut, _: PropertyId) -> Result<(), Error> {
        dst.put_u8(*value as u8);
        Ok(())
    }
}

/// Maximum QoS, the one QoS-valued property: 0 or 1, as absence means 2 and a server must not send 2
/// (spec 3.2.2.3.4).
impl Wire<QoS> for Byte {
    #[inline]
    fn read(r: &mut Reader, property: PropertyId) -> Result<QoS, Error> {
        match r.u8()? {
            0 => Ok(QoS::AtMostOnce),
            1 => Ok(QoS::AtLeastOnce),
            _ => Err(property.invalid_value()),
        }
    }
    #[inline]
    fn len(_: &QoS) -> usize {
        1
    }
    #[inline]
    fn put(value: &QoS, dst: &mut BytesMut, property: PropertyId) -> Result<(), Error> {
        if *value == QoS::ExactlyOnce {
            return Err(Error::InvalidPropertyValue { property });
        }
        dst.put_u8(value.as_u8());
        Ok(())
    }
}

impl Wire<u16> for TwoByteInteger {
    #[inline]
    fn read(r: &mut Reader, _: PropertyId) -> Result<u16, Error> {
        r.u16()
    }
    #[inline]
    fn len(_: &u16) -> usize {
        2
    }
    #[inline]
    fn put(value: &u16, dst: &mut BytesMut, _: PropertyId) -> Result<(), Error> {
        dst.put_u16(*value);
        Ok(())
    }
}

impl Wire<NonZeroU16> for TwoByteInteger {
    #[inline]
    fn read(r: &mut Reader, property: PropertyId) -> Result<NonZeroU16, Error> {
        NonZeroU16::new(r.u16()?).ok_or_else(|| property.invalid_value())
    }
    #[inline]
    fn len(_: &NonZeroU16) -> usize {
        2
    }
    #[inline]
    fn put(value: &NonZeroU16, dst: &mut BytesMut, _: PropertyId) -> Result<(), Error> {
        dst.put_u16(value.get());
        Ok(())
    }
}

impl Wire<u32> for FourByteInteger {
    #[inline]
    fn read(r: &mut Reader, _: PropertyId) -> Result<u32, Error> {
        r.u32()
    }
    #[inline]
    fn len(_: &u32) -> usize {
        4
    }
    #[inline]
    fn put(value: &u32, dst: &mut BytesMut, _: PropertyId) -> Result<(), Error> {
        dst.put_u32(*value);
        Ok(())
    }
}

impl Wire<NonZeroU32> for FourByteInteger {
    #[inline]
    fn read(r: &mut Reader, property: PropertyId) -> Result<NonZeroU32, Error> {
        NonZeroU32::new(r.u32()?).ok_or_else(|| property.invalid_value())
    }
    #[inline]
    fn len(_: &NonZeroU32) -> usize {
        4
    }
    #[inline]
    fn put(value: &NonZeroU32, dst: &mut BytesMut, _: PropertyId) -> Result<(), Error> {
        dst.put_u32(value.get());
        Ok(())
    }
}

/// Subscription identifiers: 1 to [`MAX_VARIABLE_INT`].
impl Wire<NonZeroU32> for VariableByteInteger {
    #[inline]
    fn read(r: &mut Reader, property: PropertyId) -> Result<NonZeroU32, Error> {
        NonZeroU32::new(r.varint()?).ok_or_else(|| property.invalid_value())
    }
    #[inline]
    fn len(value: &NonZeroU32) -> usize {
        varint::len(value.get())
    }
    #[inline]
    fn put(value: &NonZeroU32, dst: &mut BytesMut, property: PropertyId) -> Result<(), Error> {
        if value.get() > MAX_VARIABLE_INT {
            return Err(Error::InvalidPropertyValue { property });
        }
        varint::put(dst, value.get());
        Ok(())
    }
}

impl Wire<ByteStr> for Utf8String {
    #[inline]
    fn read(r: &mut Reader, _: PropertyId) -> Result<ByteStr, Error> {
        r.string()
    }
    #[inline]
    fn len(value: &ByteStr) -> usize {
        field::string_len(value)
    }
    #[inline]
    fn put(value: &ByteStr, dst: &mut BytesMut, _: PropertyId) -> Result<(), Error> {
        field::put_string(dst, value);
        Ok(())
    }
}

/// A string that must be a valid topic name (Response Topic, no wildcards [MQTT-3.3.2-14]).
impl Wire<TopicName> for Utf8String {
    #[inline]
    fn read(r: &mut Reader, _: PropertyId) -> Result<TopicName, Error> {
        TopicName::new(r.string()?)
    }
    #[inline]
    fn len(value: &TopicName) -> usize {
        field::string_len(value)
    }
    #[inline]
    fn put(value: &TopicName, dst: &mut BytesMut, _: PropertyId) -> Result<(), Error> {
        field::put_string(dst, value);
        Ok(())
    }
}

impl Wire<Bytes> for BinaryData {
    #[inline]
    fn read(r: &mut Reader, _: PropertyId) -> Result<Bytes, Error> {
        r.binary()
    }
    #[inline]
    fn len(value: &Bytes) -> usize {
        field::binary_len(value)
    }
    #[inline]
    fn put(value: &Bytes, dst: &mut BytesMut, _: PropertyId) -> Result<(), Error> {
        field::put_binary(dst, value)
    }
}

impl Wire<UserProperty> for Utf8StringPair {
    #[inline]
    fn read(r: &mut Reader, _: PropertyId) -> Result<UserProperty, Error> {
        Ok(UserProperty {
            name: r.string()?,
            value: r.string()?,
        })
    }
    #[inline]
    fn len(value: &UserProperty) -> usize {
        field::string_len(&value.name) + field::string_len(&value.value)
    }
    #[inline]
    fn put(value: &UserProperty, dst: &mut BytesMut, _: PropertyId) -> Result<(), Error> {
        field::put_string(dst, &value.name);
        field::put_string(dst, &value.value);
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Duplicate rules

/// Where a set keeps one property: `Option` for a property that may appear once, `Vec` for one that may repeat.
/// Lengths and writes count the one-byte identifier in front of every value.
pub(crate) trait Slot {
    /// The property's value type.
    type Item;
    /// Keeps a decoded value; a second value of a property that may appear once is
    /// [`Error::DuplicateProperty`].
    fn store(&mut self, property: PropertyId, value: Self::Item) -> Result<(), Error>;
    /// True when the property is absent.
    fn is_unset(&self) -> bool;
    /// Size on the wire, identifiers included.
    fn wire_len<W: Wire<Self::Item>>(&self) -> usize;
    /// Writes identifier and value for each value held.
    fn put<W: Wire<Self::Item>>(&self, dst: &mut BytesMut, property: PropertyId) -> Result<(), Error>;
}

impl<T> Slot for Option<T> {
    type Item = T;

    #[inline]
    fn store(&mut self, property: PropertyId, value: T) -> Result<(), Error> {
        if self.is_some() {
            return Err(Error::DuplicateProperty { property });
        }
        *self = Some(value);
        Ok(())
    }

    #[inline]
    fn is_unset(&self) -> bool {
        self.is_none()
    }

    #[inline]
    fn wire_len<W: Wire<T>>(&self) -> usize {
        self.as_ref().map_or(0, |value| 1 + W::len(value))
    }

    #[inline]
    fn put<W: Wire<T>>(&self, dst: &mut BytesMut, property: PropertyId) -> Result<(), Error> {
        if let Some(value) = self {
            dst.put_u8(property as u8);
            W::put(value, dst, property)?;
        }
        Ok(())
    }
}

impl<T> Slot for Vec<T> {
    type Item = T;

    #[inline]
    fn store(&mut self, _: PropertyId, value: T) -> Result<(), Error> {
        self.push(value);
        Ok(())
    }

    #[inline]
    fn is_unset(&self) -> bool {
        self.is_empty()
    }

    #[inline]
    fn wire_len<W: Wire<T>>(&self) -> usize {
        self.iter().map(|value| 1 + W::len(value)).sum()
    }

    #[inline]
    fn put<W: Wire<T>>(&self, dst: &mut BytesMut, property: PropertyId) -> Result<(), Error> {
        for value in self {
            dst.put_u8(property as u8);
            W::put(value, dst, property)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_byte_identifier_table_agrees_with_from_u32() {
        for id in 0..0x80u8 {
            assert_eq!(
                PROPERTY_IDS[usize::from(id)],
                PropertyId::from_u32(u32::from(id)),
                "id {id:#04x}"
            );
        }
    }
}
