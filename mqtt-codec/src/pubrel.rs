//! PUBREL (spec 3.6): releases a QoS 2 message after PUBREC; its fixed-header flags are 0b0010.

use crate::ReasonCode;
use crate::ack::ack_packet;

/// Reason codes a v5 PUBREL may carry.
fn allowed(code: ReasonCode) -> bool {
    use ReasonCode::*;
    matches!(code, Success | PacketIdentifierNotFound)
}

ack_packet!(
    /// A PUBREL packet. `reason_code` and `properties` are MQTT 5.0 only and are left out when encoding 3.1.1
    /// (a 3.1.1 PUBREL always means success).
    PubRel,
    crate::PacketType::PubRel,
    allowed
);
