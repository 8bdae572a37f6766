//! PUBACK (spec 3.4): acknowledges a QoS 1 PUBLISH.

use crate::ReasonCode;
use crate::ack::ack_packet;

/// Reason codes a v5 PUBACK may carry.
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

ack_packet!(
    /// A PUBACK packet. `reason_code` and `properties` are MQTT 5.0 only and are left out when encoding 3.1.1
    /// (a 3.1.1 PUBACK always means success).
    PubAck,
    crate::PacketType::PubAck,
    allowed
);
