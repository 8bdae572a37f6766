//! The message a typed function receives and publishes.

use crate::QoS;

/// An MQTT application message, owned by the function.
///
/// Clone it, change what you need, and return it in [`crate::Action::Publish`]. The host validates what
/// comes back: a topic with wildcards or more than 65,535 bytes is an error of the call, not a message.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Message {
    /// The topic name.
    pub topic: String,
    /// The payload.
    pub payload: Vec<u8>,
    /// The QoS it is published with.
    pub qos: QoS,
    /// The retain flag.
    pub retain: bool,
    /// MQTT v5 user properties, in order (always empty for 3.1.1 clients; ignored when delivered to them).
    pub user_properties: Vec<(String, String)>,
}

impl Message {
    /// A QoS 0, non-retained message without properties.
    pub fn new(topic: impl Into<String>, payload: impl Into<Vec<u8>>) -> Self {
        Message {
            topic: topic.into(),
            payload: payload.into(),
            ..Message::default()
        }
    }

    /// Returns the message with another QoS.
    pub fn with_qos(mut self, qos: QoS) -> Self {
        self.qos = qos;
        self
    }

    /// Returns the message with the retain flag set to `retain`.
    pub fn with_retain(mut self, retain: bool) -> Self {
        self.retain = retain;
        self
    }

    /// Returns the message with one more user property.
    pub fn with_user_property(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.user_properties.push((name.into(), value.into()));
        self
    }

    /// The first user property called `name`.
    pub fn user_property(&self, name: &str) -> Option<&str> {
        self.user_properties
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}
