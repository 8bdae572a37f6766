//! PUBREC (spec 3.5): first answer to a QoS 2 PUBLISH.

use crate::ack::ack_packet;

ack_packet!(
    /// A PUBREC packet. `reason_code` and `properties` are MQTT 5.0 only and are left out when encoding 3.1.1
    /// (a 3.1.1 PUBREC always means success). The v5 reason codes it may carry are
    /// [`reason_codes::PUBREC`](crate::reason_codes::PUBREC).
    PubRec,
    crate::PacketType::PubRec
);
