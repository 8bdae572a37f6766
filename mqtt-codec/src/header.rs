//! The fixed header (spec 2.1): packet type, flags and remaining length.

use std::fmt;

use bytes::BufMut;

use crate::{Error, ProtocolVersion, varint};

/// The kind of a control packet, from the high four bits of its first byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PacketType {
    /// 1: client request to connect.
    Connect = 1,
    /// 2: connect acknowledgement.
    ConnAck = 2,
    /// 3: publish message.
    Publish = 3,
    /// 4: QoS 1 acknowledgement.
    PubAck = 4,
    /// 5: QoS 2 delivery part 1.
    PubRec = 5,
    /// 6: QoS 2 delivery part 2.
    PubRel = 6,
    /// 7: QoS 2 delivery part 3.
    PubComp = 7,
    /// 8: subscribe request.
    Subscribe = 8,
    /// 9: subscribe acknowledgement.
    SubAck = 9,
    /// 10: unsubscribe request.
    Unsubscribe = 10,
    /// 11: unsubscribe acknowledgement.
    UnsubAck = 11,
    /// 12: ping request.
    PingReq = 12,
    /// 13: ping response.
    PingResp = 13,
    /// 14: disconnect notification.
    Disconnect = 14,
    /// 15: authentication exchange (MQTT 5.0 only).
    Auth = 15,
}

impl PacketType {
    /// The packet type for the high nibble of a first byte; 0 is reserved, and so is 15 in MQTT 3.1.1.
    pub fn from_first_byte(byte: u8, version: ProtocolVersion) -> Result<PacketType, Error> {
        let packet_type = byte >> 4;
        Ok(match packet_type {
            1 => PacketType::Connect,
            2 => PacketType::ConnAck,
            3 => PacketType::Publish,
            4 => PacketType::PubAck,
            5 => PacketType::PubRec,
            6 => PacketType::PubRel,
            7 => PacketType::PubComp,
            8 => PacketType::Subscribe,
            9 => PacketType::SubAck,
            10 => PacketType::Unsubscribe,
            11 => PacketType::UnsubAck,
            12 => PacketType::PingReq,
            13 => PacketType::PingResp,
            14 => PacketType::Disconnect,
            15 if version.is_v5() => PacketType::Auth,
            _ => return Err(Error::ReservedPacketType { packet_type, version }),
        })
    }

    /// The flags every packet type other than PUBLISH must carry (spec 2.1.3).
    pub const fn required_flags(self) -> Option<u8> {
        match self {
            PacketType::Publish => None,
            PacketType::PubRel | PacketType::Subscribe | PacketType::Unsubscribe => Some(0b0010),
            _ => Some(0),
        }
    }
}

impl fmt::Display for PacketType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PacketType::Connect => "CONNECT",
            PacketType::ConnAck => "CONNACK",
            PacketType::Publish => "PUBLISH",
            PacketType::PubAck => "PUBACK",
            PacketType::PubRec => "PUBREC",
            PacketType::PubRel => "PUBREL",
            PacketType::PubComp => "PUBCOMP",
            PacketType::Subscribe => "SUBSCRIBE",
            PacketType::SubAck => "SUBACK",
            PacketType::Unsubscribe => "UNSUBSCRIBE",
            PacketType::UnsubAck => "UNSUBACK",
            PacketType::PingReq => "PINGREQ",
            PacketType::PingResp => "PINGRESP",
            PacketType::Disconnect => "DISCONNECT",
            PacketType::Auth => "AUTH",
        })
    }
}

/// A parsed fixed header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FixedHeader {
    pub packet_type: PacketType,
    /// The low nibble of the first byte (only PUBLISH gives it meaning).
    pub flags: u8,
    /// Length of the fixed header itself (2 to 5 bytes).
    pub header_len: usize,
    /// The remaining length: bytes of variable header and payload.
    pub remaining_len: usize,
}

impl FixedHeader {
    /// Total packet size.
    pub fn packet_len(&self) -> usize {
        self.header_len + self.remaining_len
    }

    /// Parses the fixed header at the start of `buf`: `Ok(None)` until all of it is there.
    ///
    /// Type and flags are checked from the first byte alone, so a bad packet is refused before more of it
    /// arrives. PUBLISH flags are checked for QoS 3 here; DUP on QoS 0 is reported by the PUBLISH decoder.
    pub fn parse(buf: &[u8], version: ProtocolVersion) -> Result<Option<FixedHeader>, Error> {
        let Some((&first, rest)) = buf.split_first() else {
            return Ok(None);
        };
        let packet_type = PacketType::from_first_byte(first, version)?;
        let flags = first & 0x0F;
        match packet_type.required_flags() {
            Some(required) if flags != required => {
                return Err(Error::InvalidHeaderFlags {
                    packet: packet_type,
                    flags,
                });
            }
            None if (flags >> 1) & 0b11 == 0b11 => return Err(Error::InvalidQoS),
            _ => {}
        }
        let Some((remaining, used)) = varint::parse(rest)? else {
            return Ok(None);
        };
        Ok(Some(FixedHeader {
            packet_type,
            flags,
            header_len: 1 + used,
            remaining_len: remaining as usize,
        }))
    }
}

/// Length of a fixed header announcing `remaining` bytes.
pub(crate) const fn len(remaining: u32) -> usize {
    1 + varint::len(remaining)
}

/// The first byte of a packet.
const fn first_byte(packet_type: PacketType, flags: u8) -> u8 {
    (packet_type as u8) << 4 | flags
}

/// Writes a fixed header with one copy.
pub(crate) fn put(dst: &mut impl BufMut, packet_type: PacketType, flags: u8, remaining: u32) {
    let ([v0, v1, v2, v3], used) = varint::encode(remaining);
    let head = [first_byte(packet_type, flags), v0, v1, v2, v3];
    dst.put_slice(head.get(..1 + used).unwrap_or_default());
}

/// Size of a whole packet with `remaining` bytes after the fixed header.
pub(crate) fn packet_len(remaining: usize) -> usize {
    1 + varint::len(u32::try_from(remaining).unwrap_or(u32::MAX)) + remaining
}

/// Checks `remaining` fits, reserves room for the whole packet once and writes its fixed header.
pub(crate) fn begin(
    dst: &mut bytes::BytesMut,
    packet_type: PacketType,
    flags: u8,
    remaining: usize,
) -> Result<(), Error> {
    let rem = varint::check(remaining)?;
    dst.reserve(len(rem) + remaining);
    put(dst, packet_type, flags, rem);
    Ok(())
}

/// Like [`begin`], and writes `next` (PUBLISH's topic length) in the same copy as the fixed header: small
/// copies into a `BytesMut` cost more per call than per byte.
pub(crate) fn begin_with_u16(
    dst: &mut bytes::BytesMut,
    packet_type: PacketType,
    flags: u8,
    remaining: usize,
    next: u16,
) -> Result<(), Error> {
    let rem = varint::check(remaining)?;
    dst.reserve(len(rem) + remaining);
    let first = first_byte(packet_type, flags);
    let ([v0, v1, v2, v3], used) = varint::encode(rem);
    let [hi, lo] = next.to_be_bytes();
    let head = match used {
        1 => [first, v0, hi, lo, 0, 0, 0],
        2 => [first, v0, v1, hi, lo, 0, 0],
        3 => [first, v0, v1, v2, hi, lo, 0],
        _ => [first, v0, v1, v2, v3, hi, lo],
    };
    dst.put_slice(head.get(..used + 3).unwrap_or_default());
    Ok(())
}

/// Runs an encoder and, if it fails, truncates `dst` back so no partial packet is left behind.
pub(crate) fn atomic(
    dst: &mut bytes::BytesMut,
    write: impl FnOnce(&mut bytes::BytesMut) -> Result<(), Error>,
) -> Result<(), Error> {
    let start = dst.len();
    let result = write(dst);
    if result.is_err() {
        dst.truncate(start);
    }
    result
}
