//! [`Message`]: an application message as the session holds it between receipt and delivery.

use std::time::{Duration, Instant};

use bytes::Bytes;
use mqtt_codec::properties::PublishProperties;
use mqtt_codec::{QoS, TopicName};

/// An application message: what a PUBLISH carries, minus everything that belongs to one packet on one connection
/// (packet id, DUP, topic alias).
///
/// Expiry is an absolute deadline, not the wire's interval, so a message that waits in a queue ages without being
/// touched; the interval is recomputed from the deadline each time the message is sent [MQTT-3.3.2-6].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// The full topic name (aliases are resolved on receipt and assigned on sending).
    pub topic: TopicName,
    /// The payload, shared with the frame it was decoded from.
    pub payload: Bytes,
    /// Delivery guarantee for this hop.
    pub qos: QoS,
    /// RETAIN flag.
    pub retain: bool,
    /// When the message expires (v5 Message Expiry Interval, converted to a deadline on receipt).
    pub expires_at: Option<Instant>,
    /// The v5 properties that travel with the message. `topic_alias` and `message_expiry_interval` belong to one
    /// packet and are ignored here: the session sets them on every PUBLISH it sends.
    pub properties: PublishProperties,
}

impl Message {
    /// A message with no expiry and no properties.
    pub fn new(topic: TopicName, payload: impl Into<Bytes>, qos: QoS) -> Self {
        Message {
            topic,
            payload: payload.into(),
            qos,
            retain: false,
            expires_at: None,
            properties: PublishProperties::default(),
        }
    }

    /// Sets the RETAIN flag.
    pub fn with_retain(mut self, retain: bool) -> Self {
        self.retain = retain;
        self
    }

    /// Sets the expiry deadline from a v5 Message Expiry Interval received at `now`.
    pub fn with_expiry_interval(mut self, now: Instant, seconds: u32) -> Self {
        self.expires_at = now.checked_add(Duration::from_secs(u64::from(seconds)));
        self
    }

    /// Whether the message has expired at `now` (a message whose deadline is `now` has expired).
    pub fn is_expired(&self, now: Instant) -> bool {
        self.expires_at.is_some_and(|at| at <= now)
    }

    /// The Message Expiry Interval to put on the wire at `now`: the seconds left, rounded up so that a live message
    /// never claims 0 [MQTT-3.3.2-6]. `None` when the message does not expire.
    pub fn remaining_expiry_interval(&self, now: Instant) -> Option<u32> {
        let at = self.expires_at?;
        let left = at.saturating_duration_since(now);
        let secs = left.as_secs() + u64::from(left.subsec_nanos() > 0);
        Some(u32::try_from(secs).unwrap_or(u32::MAX))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_rounds_up_and_expires_at_the_deadline() {
        let t0 = Instant::now();
        let m = Message::new(TopicName::from_static("a"), "x", QoS::AtLeastOnce).with_expiry_interval(t0, 10);
        assert_eq!(m.remaining_expiry_interval(t0), Some(10));
        assert_eq!(m.remaining_expiry_interval(t0 + Duration::from_millis(9_001)), Some(1));
        assert!(!m.is_expired(t0 + Duration::from_millis(9_999)));
        assert!(m.is_expired(t0 + Duration::from_secs(10)));
        let forever = Message::new(TopicName::from_static("a"), "x", QoS::AtMostOnce);
        assert_eq!(forever.remaining_expiry_interval(t0), None);
        assert!(!forever.is_expired(t0 + Duration::from_secs(1 << 30)));
    }
}
