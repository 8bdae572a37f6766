//! Variable byte integers (spec 1.5.5): the remaining length, property lengths and subscription identifiers.

use bytes::BufMut;

use crate::{Error, MAX_VARIABLE_INT};

/// How many bytes `value` takes as a variable byte integer (1 to 4; values above [`MAX_VARIABLE_INT`] are
/// never encoded, callers check first).
pub(crate) const fn len(value: u32) -> usize {
    match value {
        0..=127 => 1,
        128..=16_383 => 2,
        16_384..=2_097_151 => 3,
        _ => 4,
    }
}

/// `value` (at most [`MAX_VARIABLE_INT`]) as a variable byte integer: the bytes and how many of them are used.
pub(crate) const fn encode(value: u32) -> ([u8; 4], usize) {
    let b0 = (value & 0x7F) as u8;
    let b1 = ((value >> 7) & 0x7F) as u8;
    let b2 = ((value >> 14) & 0x7F) as u8;
    let b3 = ((value >> 21) & 0x7F) as u8;
    match len(value) {
        1 => ([b0, 0, 0, 0], 1),
        2 => ([b0 | 0x80, b1, 0, 0], 2),
        3 => ([b0 | 0x80, b1 | 0x80, b2, 0], 3),
        _ => ([b0 | 0x80, b1 | 0x80, b2 | 0x80, b3], 4),
    }
}

/// Writes `value` (at most [`MAX_VARIABLE_INT`]; callers check first).
pub(crate) fn put(dst: &mut impl BufMut, value: u32) {
    let (bytes, used) = encode(value);
    dst.put_slice(bytes.get(..used).unwrap_or_default());
}

/// Parses a variable byte integer at the start of `buf`.
///
/// Returns `Ok(None)` when `buf` ends before the integer does, `Ok(Some((value, bytes_used)))` otherwise.
/// Rejects a fifth byte and encodings that are longer than needed [MQTT-1.5.5-1].
pub(crate) fn parse(buf: &[u8]) -> Result<Option<(u32, usize)>, Error> {
    let mut value: u32 = 0;
    for (i, &byte) in buf.iter().take(4).enumerate() {
        value |= u32::from(byte & 0x7F) << (7 * i);
        if byte & 0x80 == 0 {
            // A last byte of 0 after other bytes means a shorter encoding existed.
            if i > 0 && byte == 0 {
                return Err(Error::NonMinimalVariableInt);
            }
            return Ok(Some((value, i + 1)));
        }
    }
    if buf.len() >= 4 {
        return Err(Error::VariableIntTooLong);
    }
    Ok(None)
}

/// Checks that `value` fits a variable byte integer.
pub(crate) fn check(value: usize) -> Result<u32, Error> {
    match u32::try_from(value) {
        Ok(v) if v <= MAX_VARIABLE_INT => Ok(v),
        _ => Err(Error::PacketTooLarge {
            size: value,
            max: MAX_VARIABLE_INT as usize,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_table_1_5_5_boundaries() {
        for (value, bytes) in [
            (0u32, &[0x00][..]),
            (127, &[0x7F]),
            (128, &[0x80, 0x01]),
            (16_383, &[0xFF, 0x7F]),
            (16_384, &[0x80, 0x80, 0x01]),
            (2_097_151, &[0xFF, 0xFF, 0x7F]),
            (2_097_152, &[0x80, 0x80, 0x80, 0x01]),
            (268_435_455, &[0xFF, 0xFF, 0xFF, 0x7F]),
        ] {
            let mut out = Vec::new();
            put(&mut out, value);
            assert_eq!(out, bytes, "{value}");
            assert_eq!(len(value), bytes.len());
            assert_eq!(parse(bytes), Ok(Some((value, bytes.len()))));
        }
    }

    #[test]
    fn incomplete_long_and_non_minimal() {
        assert_eq!(parse(&[]), Ok(None));
        assert_eq!(parse(&[0x80, 0x80]), Ok(None));
        assert_eq!(parse(&[0xFF, 0xFF, 0xFF, 0xFF]), Err(Error::VariableIntTooLong));
        assert_eq!(parse(&[0xFF, 0xFF, 0xFF, 0xFF, 0x01]), Err(Error::VariableIntTooLong));
        assert_eq!(parse(&[0x80, 0x00]), Err(Error::NonMinimalVariableInt));
        assert_eq!(parse(&[0xFF, 0x80, 0x00]), Err(Error::NonMinimalVariableInt));
    }
}
