//! PUBCOMP (spec 3.7): completes the QoS 2 exchange.

use crate::ack::ack_packet;

ack_packet!(
    /// A PUBCOMP packet. `reason_code` and `properties` are MQTT 5.0 only and are left out when encoding 3.1.1
    /// (a 3.1.1 PUBCOMP always means success). The v5 reason codes it may carry are
    /// [`reason_codes::PUBCOMP`](crate::reason_codes::PUBCOMP).
    PubComp,
    crate::PacketType::PubComp
);
