//! PUBREL (spec 3.6): releases a QoS 2 message after PUBREC; its fixed-header flags are 0b0010.

use crate::ack::ack_packet;

ack_packet!(
    /// A PUBREL packet. `reason_code` and `properties` are MQTT 5.0 only and are left out when encoding 3.1.1
    /// (a 3.1.1 PUBREL always means success). The v5 reason codes it may carry are
    /// [`reason_codes::PUBREL`](crate::reason_codes::PUBREL).
    PubRel,
    crate::PacketType::PubRel
);
