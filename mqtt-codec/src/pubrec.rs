//! PUBREC (spec 3.5): first answer to a QoS 2 PUBLISH.

use crate::ReasonCode;
use crate::ack::ack_packet;

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

ack_packet!(
    /// A PUBREC packet. `reason_code` and `properties` are MQTT 5.0 only and are left out when encoding 3.1.1
    /// (a 3.1.1 PUBREC always means success).
    PubRec,
    crate::PacketType::PubRec,
    allowed
);
