//! The body shared by PUBACK, PUBREC, PUBREL and PUBCOMP (spec 3.4–3.7): a packet identifier, then in v5 an
//! optional reason code and an optional property block.
//!
//! Each packet keeps its own struct (in `puback.rs` and friends) and its own list of allowed reason codes (in
//! [`crate::reason_codes`]); this module only reads and writes the common layout.

use bytes::{BufMut, BytesMut};

use crate::field::Reader;
use crate::properties::{self, AckProperties};
use crate::{Error, PacketId, PacketType, ProtocolVersion, ReasonCode, header};

/// What an ack carries.
pub(crate) struct AckBody {
    pub packet_id: PacketId,
    pub reason_code: ReasonCode,
    pub properties: AckProperties,
}

/// Decodes the body. In v5 a remaining length of 2 means Success without properties and 3 means a reason code
/// without properties (spec 3.4.2.1).
pub(crate) fn decode(version: ProtocolVersion, mut r: Reader) -> Result<AckBody, Error> {
    let packet_id = r.packet_id()?;
    let mut body = AckBody {
        packet_id,
        reason_code: ReasonCode::Success,
        properties: AckProperties::default(),
    };
    if version.is_v5() && !r.is_empty() {
        let code = r.u8()?;
        body.reason_code = ReasonCode::from_u8(code)
            .filter(|&c| c.is_valid_for(r.packet()))
            .ok_or(Error::ReasonCodeNotAllowed {
                packet: r.packet(),
                code,
            })?;
        if !r.is_empty() {
            body.properties = AckProperties::decode(&mut r)?;
        }
    }
    r.finish()?;
    Ok(body)
}

/// Remaining length, using the shortest form v5 allows.
pub(crate) fn remaining_len(version: ProtocolVersion, reason_code: ReasonCode, props: &AckProperties) -> usize {
    match version {
        ProtocolVersion::V311 => 2,
        ProtocolVersion::V5 if props.is_empty() && reason_code == ReasonCode::Success => 2,
        ProtocolVersion::V5 if props.is_empty() => 3,
        ProtocolVersion::V5 => 3 + properties::block_len(props.len()),
    }
}

/// Encodes an ack. In 3.1.1 the reason code and properties are not representable and are left out.
pub(crate) fn encode(
    version: ProtocolVersion,
    dst: &mut BytesMut,
    packet_type: PacketType,
    packet_id: PacketId,
    reason_code: ReasonCode,
    props: &AckProperties,
) -> Result<(), Error> {
    header::atomic(dst, |dst| {
        if version.is_v5() && !reason_code.is_valid_for(packet_type) {
            return Err(Error::ReasonCodeNotAllowed {
                packet: packet_type,
                code: reason_code.as_u8(),
            });
        }
        let flags = packet_type.required_flags().unwrap_or(0);
        let remaining = remaining_len(version, reason_code, props);
        header::begin(dst, packet_type, flags, remaining)?;
        dst.put_u16(packet_id.get());
        if remaining > 2 {
            dst.put_u8(reason_code.as_u8());
        }
        if remaining > 3 {
            props.encode(dst)?;
        }
        Ok(())
    })
}

/// Defines one acknowledgement packet (PUBACK, PUBREC, PUBREL, PUBCOMP): they share the body layout above and
/// differ only in their packet type, which also selects the reason codes they may carry.
macro_rules! ack_packet {
    ($(#[$doc:meta])* $name:ident, $packet_type:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct $name {
            /// The identifier of the packet being acknowledged.
            pub packet_id: $crate::PacketId,
            /// Outcome (v5).
            pub reason_code: $crate::ReasonCode,
            /// MQTT 5.0 properties.
            pub properties: $crate::properties::AckProperties,
        }

        impl $name {
            /// A successful packet without properties.
            pub fn new(packet_id: $crate::PacketId) -> Self {
                $name {
                    packet_id,
                    reason_code: $crate::ReasonCode::Success,
                    properties: $crate::properties::AckProperties::default(),
                }
            }

            /// Sets the reason code.
            pub fn reason_code(mut self, reason_code: $crate::ReasonCode) -> Self {
                self.reason_code = reason_code;
                self
            }

            /// Replaces the v5 properties.
            pub fn properties(mut self, properties: $crate::properties::AckProperties) -> Self {
                self.properties = properties;
                self
            }

            pub(crate) fn decode(
                version: $crate::ProtocolVersion,
                r: $crate::field::Reader,
            ) -> Result<Self, $crate::Error> {
                let body = $crate::ack::decode(version, r)?;
                Ok($name {
                    packet_id: body.packet_id,
                    reason_code: body.reason_code,
                    properties: body.properties,
                })
            }

            /// Exact size of this packet on the wire.
            pub fn encoded_len(&self, version: $crate::ProtocolVersion) -> usize {
                $crate::header::packet_len($crate::ack::remaining_len(version, self.reason_code, &self.properties))
            }

            /// Appends this packet to `dst`, reserving its size once; on error `dst` is left as it was.
            pub fn encode(
                &self,
                version: $crate::ProtocolVersion,
                dst: &mut bytes::BytesMut,
            ) -> Result<(), $crate::Error> {
                $crate::ack::encode(
                    version,
                    dst,
                    $packet_type,
                    self.packet_id,
                    self.reason_code,
                    &self.properties,
                )
            }
        }
    };
}
pub(crate) use ack_packet;

#[cfg(test)]
mod tests {
    use bytes::BytesMut;

    use crate::packet::vectors::{assert_decodes, assert_wire};
    use crate::properties::AckProperties;
    use crate::{ByteStr, Error, Packet, PacketId, PacketType, PubAck, PubComp, PubRec, PubRel, ReasonCode};
    use crate::{ProtocolVersion::V5, ProtocolVersion::V311};

    fn id(n: u16) -> PacketId {
        PacketId::new(n).unwrap()
    }

    #[test]
    fn all_four_in_both_versions() {
        assert_wire(V311, PubAck::new(id(1)), b"\x40\x02\x00\x01");
        assert_wire(V311, PubRec::new(id(1)), b"\x50\x02\x00\x01");
        assert_wire(V311, PubRel::new(id(1)), b"\x62\x02\x00\x01");
        assert_wire(V311, PubComp::new(id(1)), b"\x70\x02\x00\x01");
        // v5 success without properties uses the short form (spec 3.4.2.1).
        assert_wire(V5, PubAck::new(id(1)), b"\x40\x02\x00\x01");
        assert_wire(V5, PubRel::new(id(0xABCD)), b"\x62\x02\xAB\xCD");
    }

    #[test]
    fn v5_reason_codes_and_properties() {
        assert_wire(
            V5,
            PubAck::new(id(1)).reason_code(ReasonCode::NoMatchingSubscribers),
            b"\x40\x03\x00\x01\x10",
        );
        assert_wire(
            V5,
            PubRec::new(id(1)).reason_code(ReasonCode::QuotaExceeded),
            b"\x50\x03\x00\x01\x97",
        );
        assert_wire(
            V5,
            PubComp::new(id(1)).reason_code(ReasonCode::PacketIdentifierNotFound),
            b"\x70\x03\x00\x01\x92",
        );
        let props = AckProperties {
            reason_string: Some(ByteStr::from_static("e")),
            ..Default::default()
        };
        assert_wire(
            V5,
            PubAck::new(id(1))
                .reason_code(ReasonCode::UnspecifiedError)
                .properties(props.clone()),
            b"\x40\x08\x00\x01\x80\x04\x1F\x00\x01e",
        );
        // Properties force the reason code to be written even for Success.
        assert_wire(
            V5,
            PubRel::new(id(1)).properties(props),
            b"\x62\x08\x00\x01\x00\x04\x1F\x00\x01e",
        );
    }

    #[test]
    fn v5_accepts_the_long_forms() {
        assert_eq!(
            assert_decodes(V5, b"\x40\x03\x00\x01\x00"),
            Packet::PubAck(PubAck::new(id(1)))
        );
        assert_eq!(
            assert_decodes(V5, b"\x40\x04\x00\x01\x00\x00"),
            Packet::PubAck(PubAck::new(id(1)))
        );
    }

    #[test]
    fn v311_leaves_v5_fields_out() {
        let mut out = BytesMut::new();
        PubAck::new(id(1))
            .reason_code(ReasonCode::NotAuthorized)
            .encode(V311, &mut out)
            .unwrap();
        assert_eq!(&out[..], b"\x40\x02\x00\x01");
    }

    #[test]
    fn reason_codes_per_packet() {
        let mut out = BytesMut::new();
        assert_eq!(
            PubRel::new(id(1))
                .reason_code(ReasonCode::QuotaExceeded)
                .encode(V5, &mut out),
            Err(Error::ReasonCodeNotAllowed {
                packet: PacketType::PubRel,
                code: 0x97
            })
        );
        assert_eq!(
            PubAck::new(id(1))
                .reason_code(ReasonCode::PacketIdentifierNotFound)
                .encode(V5, &mut out),
            Err(Error::ReasonCodeNotAllowed {
                packet: PacketType::PubAck,
                code: 0x92
            })
        );
        assert!(out.is_empty());
    }
}
