//! PUBREL (spec 3.6): releases a QoS 2 message after PUBREC; its fixed-header flags are 0b0010.

use bytes::BytesMut;

use crate::field::Reader;
use crate::properties::AckProperties;
use crate::{Error, PacketId, PacketType, ProtocolVersion, ReasonCode, ack};

/// A PUBREL packet. `reason_code` and `properties` are MQTT 5.0 only and are left out when encoding 3.1.1
/// (a 3.1.1 PUBREL always means success).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PubRel {
    /// The identifier of the packet being acknowledged.
    pub packet_id: PacketId,
    /// Outcome (v5).
    pub reason_code: ReasonCode,
    /// MQTT 5.0 properties.
    pub properties: AckProperties,
}

/// Reason codes a v5 PUBREL may carry.
fn allowed(code: ReasonCode) -> bool {
    use ReasonCode::*;
    matches!(code, Success | PacketIdentifierNotFound)
}

impl PubRel {
    /// A successful PUBREL without properties.
    pub fn new(packet_id: PacketId) -> Self {
        PubRel {
            packet_id,
            reason_code: ReasonCode::Success,
            properties: AckProperties::default(),
        }
    }

    /// Sets the reason code.
    pub fn reason_code(mut self, reason_code: ReasonCode) -> Self {
        self.reason_code = reason_code;
        self
    }

    /// Replaces the v5 properties.
    pub fn properties(mut self, properties: AckProperties) -> Self {
        self.properties = properties;
        self
    }

    pub(crate) fn decode(version: ProtocolVersion, r: Reader) -> Result<Self, Error> {
        let body = ack::decode(version, r, allowed)?;
        Ok(PubRel {
            packet_id: body.packet_id,
            reason_code: body.reason_code,
            properties: body.properties,
        })
    }

    /// Exact size of this packet on the wire.
    pub fn encoded_len(&self, version: ProtocolVersion) -> usize {
        crate::header::packet_len(ack::remaining_len(version, self.reason_code, &self.properties))
    }

    /// Appends this packet to `dst`, reserving its size once; on error `dst` is left as it was.
    pub fn encode(&self, version: ProtocolVersion, dst: &mut BytesMut) -> Result<(), Error> {
        ack::encode(
            version,
            dst,
            PacketType::PubRel,
            self.packet_id,
            self.reason_code,
            &self.properties,
            allowed,
        )
    }
}
