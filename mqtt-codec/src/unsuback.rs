//! UNSUBACK (spec 3.11): answers UNSUBSCRIBE; in v5 with one reason code per filter.

use bytes::{BufMut, BytesMut};

use crate::field::Reader;
use crate::properties::{self, AckProperties};
use crate::{Error, PacketId, PacketType, ProtocolVersion, ReasonCode, header};

/// An UNSUBACK packet.
///
/// A 3.1.1 UNSUBACK is only a packet identifier: it decodes with no reason codes, and encoding 3.1.1 leaves
/// `reason_codes` and `properties` out. A v5 UNSUBACK carries at least one reason code.
///
/// The v5 reason codes it may carry are [`reason_codes::UNSUBACK`](crate::reason_codes::UNSUBACK).
///
/// ```
/// use mqtt_codec::{PacketId, ReasonCode, UnsubAck};
/// let a = UnsubAck::new(PacketId::new(2).unwrap(), [ReasonCode::Success]);
/// assert_eq!(a.reason_codes.len(), 1);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnsubAck {
    /// Identifier of the UNSUBSCRIBE being answered.
    pub packet_id: PacketId,
    /// v5: one code per filter, in order. Empty for 3.1.1.
    pub reason_codes: Vec<ReasonCode>,
    /// MQTT 5.0 properties.
    pub properties: AckProperties,
}

impl UnsubAck {
    /// An UNSUBACK without properties.
    pub fn new(packet_id: PacketId, reason_codes: impl IntoIterator<Item = ReasonCode>) -> Self {
        UnsubAck {
            packet_id,
            reason_codes: reason_codes.into_iter().collect(),
            properties: AckProperties::default(),
        }
    }

    /// Replaces the v5 properties.
    pub fn properties(mut self, properties: AckProperties) -> Self {
        self.properties = properties;
        self
    }

    pub(crate) fn decode(version: ProtocolVersion, mut r: Reader) -> Result<Self, Error> {
        let packet_id = r.packet_id()?;
        if !version.is_v5() {
            r.finish()?;
            return Ok(UnsubAck::new(packet_id, []));
        }
        let properties = AckProperties::decode(&mut r)?;
        let mut reason_codes = Vec::with_capacity(r.remaining());
        while !r.is_empty() {
            let code = r.u8()?;
            let reason = ReasonCode::from_u8(code)
                .filter(|&c| c.is_valid_for(PacketType::UnsubAck))
                .ok_or(Error::ReasonCodeNotAllowed {
                    packet: PacketType::UnsubAck,
                    code,
                })?;
            reason_codes.push(reason);
        }
        if reason_codes.is_empty() {
            return Err(Error::EmptyAck {
                packet: PacketType::UnsubAck,
            });
        }
        Ok(UnsubAck {
            packet_id,
            reason_codes,
            properties,
        })
    }

    fn remaining_len(&self, version: ProtocolVersion) -> usize {
        match version {
            ProtocolVersion::V311 => 2,
            ProtocolVersion::V5 => 2 + properties::block_len(self.properties.len()) + self.reason_codes.len(),
        }
    }

    /// Exact size of this packet on the wire.
    pub fn encoded_len(&self, version: ProtocolVersion) -> usize {
        header::packet_len(self.remaining_len(version))
    }

    /// Appends this packet to `dst`, reserving its size once; on error `dst` is left as it was.
    pub fn encode(&self, version: ProtocolVersion, dst: &mut BytesMut) -> Result<(), Error> {
        header::atomic(dst, |dst| {
            if version.is_v5() {
                if self.reason_codes.is_empty() {
                    return Err(Error::EmptyAck {
                        packet: PacketType::UnsubAck,
                    });
                }
                if let Some(bad) = self
                    .reason_codes
                    .iter()
                    .find(|&&c| !c.is_valid_for(PacketType::UnsubAck))
                {
                    return Err(Error::ReasonCodeNotAllowed {
                        packet: PacketType::UnsubAck,
                        code: bad.as_u8(),
                    });
                }
            }
            header::begin(dst, PacketType::UnsubAck, 0, self.remaining_len(version))?;
            dst.put_u16(self.packet_id.get());
            if version.is_v5() {
                self.properties.encode(dst)?;
                for &code in &self.reason_codes {
                    dst.put_u8(code.as_u8());
                }
            }
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packet::vectors::assert_wire;
    use ProtocolVersion::{V5, V311};

    #[test]
    fn both_versions() {
        assert_wire(V311, UnsubAck::new(PacketId::new(10).unwrap(), []), b"\xB0\x02\x00\x0A");
        assert_wire(
            V5,
            UnsubAck::new(
                PacketId::new(10).unwrap(),
                [ReasonCode::Success, ReasonCode::NoSubscriptionExisted],
            ),
            b"\xB0\x05\x00\x0A\x00\x00\x11",
        );
        // 3.1.1 has no reason codes.
        let mut out = BytesMut::new();
        UnsubAck::new(PacketId::new(10).unwrap(), [ReasonCode::Success])
            .encode(V311, &mut out)
            .unwrap();
        assert_eq!(&out[..], b"\xB0\x02\x00\x0A");
        assert_eq!(
            UnsubAck::new(PacketId::new(10).unwrap(), []).encode(V5, &mut out),
            Err(Error::EmptyAck {
                packet: PacketType::UnsubAck
            })
        );
    }
}
