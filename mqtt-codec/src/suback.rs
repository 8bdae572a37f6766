//! SUBACK (spec 3.9): one reason code per filter of the SUBSCRIBE it answers.

use bytes::{BufMut, BytesMut};

use crate::field::Reader;
use crate::properties::{self, AckProperties};
use crate::{Error, PacketId, PacketType, ProtocolVersion, ReasonCode, header};

/// A SUBACK packet: the granted QoS (or failure) for each filter, in the order of the SUBSCRIBE.
///
/// In 3.1.1 only GrantedQoS0/1/2 and "failure" (0x80) exist: encoding 3.1.1 writes every v5 failure code as
/// 0x80, and decoding 3.1.1 reads 0x80 as [`ReasonCode::UnspecifiedError`]. `properties` are ignored in 3.1.1.
///
/// The v5 reason codes it may carry are [`reason_codes::SUBACK`](crate::reason_codes::SUBACK).
///
/// ```
/// use mqtt_codec::{PacketId, ReasonCode, SubAck};
/// let a = SubAck::new(PacketId::new(1).unwrap(), [ReasonCode::GrantedQoS1]);
/// assert_eq!(a.reason_codes, [ReasonCode::GrantedQoS1]);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubAck {
    /// Identifier of the SUBSCRIBE being answered.
    pub packet_id: PacketId,
    /// One code per requested filter.
    pub reason_codes: Vec<ReasonCode>,
    /// MQTT 5.0 properties.
    pub properties: AckProperties,
}

/// Whether a SUBACK of `version` may carry `code`: in v5 the list of [`crate::reason_codes::SUBACK`], in 3.1.1
/// the four return codes 0x00, 0x01, 0x02 and 0x80 ([MQTT-3.9.3-2] of 3.1.1).
fn allowed(version: ProtocolVersion, code: ReasonCode) -> bool {
    use ReasonCode::*;
    match version {
        ProtocolVersion::V311 => matches!(code, Success | GrantedQoS1 | GrantedQoS2 | UnspecifiedError),
        ProtocolVersion::V5 => code.is_valid_for(PacketType::SubAck),
    }
}

impl SubAck {
    /// A SUBACK without properties.
    pub fn new(packet_id: PacketId, reason_codes: impl IntoIterator<Item = ReasonCode>) -> Self {
        SubAck {
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
        let properties = match version {
            ProtocolVersion::V5 => AckProperties::decode(&mut r)?,
            ProtocolVersion::V311 => AckProperties::default(),
        };
        let mut reason_codes = Vec::with_capacity(r.remaining());
        while !r.is_empty() {
            let code = r.u8()?;
            let reason =
                ReasonCode::from_u8(code)
                    .filter(|&c| allowed(version, c))
                    .ok_or(Error::ReasonCodeNotAllowed {
                        packet: PacketType::SubAck,
                        code,
                    })?;
            reason_codes.push(reason);
        }
        if reason_codes.is_empty() {
            return Err(Error::EmptyAck {
                packet: PacketType::SubAck,
            });
        }
        Ok(SubAck {
            packet_id,
            reason_codes,
            properties,
        })
    }

    fn remaining_len(&self, version: ProtocolVersion) -> usize {
        let mut len = 2 + self.reason_codes.len();
        if version.is_v5() {
            len += properties::block_len(self.properties.len());
        }
        len
    }

    /// Exact size of this packet on the wire.
    pub fn encoded_len(&self, version: ProtocolVersion) -> usize {
        header::packet_len(self.remaining_len(version))
    }

    /// Appends this packet to `dst`, reserving its size once; on error `dst` is left as it was.
    pub fn encode(&self, version: ProtocolVersion, dst: &mut BytesMut) -> Result<(), Error> {
        header::atomic(dst, |dst| {
            if self.reason_codes.is_empty() {
                return Err(Error::EmptyAck {
                    packet: PacketType::SubAck,
                });
            }
            if let Some(bad) = self.reason_codes.iter().find(|&&c| !allowed(ProtocolVersion::V5, c)) {
                return Err(Error::ReasonCodeNotAllowed {
                    packet: PacketType::SubAck,
                    code: bad.as_u8(),
                });
            }
            header::begin(dst, PacketType::SubAck, 0, self.remaining_len(version))?;
            dst.put_u16(self.packet_id.get());
            if version.is_v5() {
                self.properties.encode(dst)?;
            }
            for &code in &self.reason_codes {
                dst.put_u8(match version {
                    ProtocolVersion::V311 if code.is_error() => 0x80,
                    _ => code.as_u8(),
                });
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
    fn spec_payload_example() {
        // Spec 3.9.3 example: granted QoS 0, 1, 2 and a failure.
        let a = SubAck::new(
            PacketId::new(10).unwrap(),
            [
                ReasonCode::GRANTED_QOS0,
                ReasonCode::GrantedQoS1,
                ReasonCode::GrantedQoS2,
                ReasonCode::UnspecifiedError,
            ],
        );
        assert_wire(V311, a.clone(), b"\x90\x06\x00\x0A\x00\x01\x02\x80");
        assert_wire(V5, a, b"\x90\x07\x00\x0A\x00\x00\x01\x02\x80");
    }

    #[test]
    fn v5_failure_codes_become_0x80_in_v311() {
        let a = SubAck::new(
            PacketId::new(1).unwrap(),
            [ReasonCode::TopicFilterInvalid, ReasonCode::GrantedQoS1],
        );
        assert_wire(V5, a.clone(), b"\x90\x05\x00\x01\x00\x8F\x01");
        let mut out = BytesMut::new();
        a.encode(V311, &mut out).unwrap();
        assert_eq!(&out[..], b"\x90\x04\x00\x01\x80\x01");
    }
}
