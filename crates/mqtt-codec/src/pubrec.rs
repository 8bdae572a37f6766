//! PUBREC (spec 3.5): first answer to a QoS 2 PUBLISH.

use bytes::BytesMut;

use crate::field::Reader;
use crate::properties::AckProperties;
use crate::{Error, PacketId, PacketType, ProtocolVersion, ReasonCode, ack};

/// A PUBREC packet. `reason_code` and `properties` are MQTT 5.0 only and are left out when encoding 3.1.1
/// (a 3.1.1 PUBREC always means success).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PubRec {
    /// The identifier of the packet being acknowledged.
    pub packet_id: PacketId,
    /// Outcome (v5).
    pub reason_code: ReasonCode,
    /// MQTT 5.0 properties.
    pub properties: AckProperties,
}

/// Reason codes a v5 PUBREC may carry.
fn allowed(code: ReasonCode) -> bool {
    use ReasonCode::*;
    matches!(
        code,
        Success
            | NoMatchingSubscribers
            | UnspecifiedError
            | ImplementationSpecificError
            | NotAuthorized
            | TopicNameInvalid
            | PacketIdentifierInUse
            | QuotaExceeded
            | PayloadFormatInvalid
    )
}

impl PubRec {
    /// A successful PUBREC without properties.
    pub fn new(packet_id: PacketId) -> Self {
        PubRec {
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
        Ok(PubRec {
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
            PacketType::PubRec,
            self.packet_id,
            self.reason_code,
            &self.properties,
            allowed,
        )
    }
}
