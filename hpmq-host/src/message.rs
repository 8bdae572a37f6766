//! The message type a broker fills in for each call (its context, [`crate::Context`], is hpmq-abi's).

use bytes::Bytes;
use mqtt_codec::{ByteStr, TopicName};

use crate::QoS;

/// An application message on its way through the functions: what a PUBLISH carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// The topic name.
    pub topic: TopicName,
    /// The payload (a cheap view; the host copies it into the guest only for the call).
    pub payload: Bytes,
    /// The QoS (the function boundary's [`QoS`]; [`crate::qos_from_codec`] converts mqtt-codec's).
    pub qos: QoS,
    /// The retain flag.
    pub retain: bool,
    /// MQTT v5 user properties, in order.
    pub user_properties: Vec<(ByteStr, ByteStr)>,
}

impl Message {
    /// A QoS 0, non-retained message without properties.
    pub fn new(topic: TopicName, payload: impl Into<Bytes>) -> Self {
        Message {
            topic,
            payload: payload.into(),
            qos: QoS::AtMostOnce,
            retain: false,
            user_properties: Vec::new(),
        }
    }
}
