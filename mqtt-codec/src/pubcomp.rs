//! PUBCOMP (spec 3.7): completes the QoS 2 exchange.

use crate::ReasonCode;
use crate::ack::ack_packet;

/// Reason codes a v5 PUBCOMP may carry.
fn allowed(code: ReasonCode) -> bool {
    use ReasonCode::*;
    matches!(code, Success | PacketIdentifierNotFound)
}

ack_packet!(
    /// A PUBCOMP packet. `reason_code` and `properties` are MQTT 5.0 only and are left out when encoding 3.1.1
    /// (a 3.1.1 PUBCOMP always means success).
    PubComp,
    crate::PacketType::PubComp,
    allowed
);
