//! PUBACK (spec 3.4): acknowledges a QoS 1 PUBLISH.

use crate::ack::ack_packet;

ack_packet!(
    /// A PUBACK packet. `reason_code` and `properties` are MQTT 5.0 only and are left out when encoding 3.1.1
    /// (a 3.1.1 PUBACK always means success). The v5 reason codes it may carry are
    /// [`reason_codes::PUBACK`](crate::reason_codes::PUBACK).
    PubAck,
    crate::PacketType::PubAck
);
