//! The message and context types a broker fills in for each call.

use std::net::SocketAddr;
use std::sync::Arc;

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

/// Who a message belongs to: the publishing client upstream, the receiving client downstream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Context {
    /// The MQTT client identifier; shared (a broker keeps one copy per client for its registry, its session
    /// and this context).
    pub client_id: Arc<str>,
    /// The username from CONNECT; shared like `client_id` (a copy of the context is a count, not a string,
    /// and an idle client's context is a word smaller than with a `String`).
    pub username: Option<Arc<str>>,
    /// The client's address, if the transport has one.
    pub peer_addr: Option<SocketAddr>,
    /// MQTT protocol level: 4 (3.1.1) or 5.
    pub protocol_version: u8,
}

impl Context {
    /// A context for `client_id` speaking MQTT 5, with no username or address.
    pub fn new(client_id: impl Into<Arc<str>>) -> Self {
        Context {
            client_id: client_id.into(),
            username: None,
            peer_addr: None,
            protocol_version: 5,
        }
    }
}
