//! [`Message`]: an application message as a server or client holds it between receipt and delivery, apart from
//! any one PUBLISH packet; [`MessageProperties`]: the v5 properties that travel with it; [`PacketFields`]: the
//! parts of a PUBLISH that belong to one packet on one connection. Every conversion between a PUBLISH (or a
//! will) and a message is here, so the per-packet fields are dropped in one place and never need scrubbing.

use std::num::NonZeroU16;
use std::time::{Duration, Instant};

use bytes::Bytes;

use crate::properties::{PayloadFormat, PublishProperties, UserProperty, WillProperties};
use crate::{ByteStr, PacketId, Publish, QoS, SubscriptionId, TopicName, Will};

/// The v5 properties that belong to an application message and travel with it from publisher to subscribers
/// unchanged [MQTT-3.3.2-4] [MQTT-3.3.2-15] [MQTT-3.3.2-16] [MQTT-3.3.2-17] [MQTT-3.3.2-20].
///
/// Unlike [`PublishProperties`] it has no Topic Alias, Subscription Identifier or Message Expiry Interval:
/// those belong to one packet on one connection ([`PacketFields`]); the expiry is kept as a deadline on the
/// [`Message`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MessageProperties {
    /// Whether the payload is UTF-8 text.
    pub payload_format_indicator: Option<PayloadFormat>,
    /// MIME-like description of the payload.
    pub content_type: Option<ByteStr>,
    /// Topic for a response (a topic name: no wildcards [MQTT-3.3.2-14]).
    pub response_topic: Option<TopicName>,
    /// Data that ties a response to its request.
    pub correlation_data: Option<Bytes>,
    /// User properties, in order [MQTT-3.3.2-18].
    pub user_properties: Vec<UserProperty>,
}

impl MessageProperties {
    /// Bytes of the variable-length properties (strings, binary data, user property pairs): what grows with
    /// what publishers send, for accounting queued messages.
    pub fn variable_len(&self) -> usize {
        self.response_topic.as_ref().map_or(0, |t| t.as_str().len())
            + self.correlation_data.as_ref().map_or(0, Bytes::len)
            + self.content_type.as_ref().map_or(0, |c| c.len())
            + self
                .user_properties
                .iter()
                .map(|u| u.name.len() + u.value.len())
                .sum::<usize>()
    }

    /// The PUBLISH properties of one packet that carries these: the message's own properties plus `packet`'s.
    pub fn into_publish_properties(self, packet: PacketProperties) -> PublishProperties {
        PublishProperties {
            payload_format_indicator: self.payload_format_indicator,
            message_expiry_interval: packet.message_expiry_interval,
            topic_alias: packet.topic_alias,
            response_topic: self.response_topic,
            correlation_data: self.correlation_data,
            user_properties: self.user_properties,
            subscription_identifiers: packet.subscription_identifiers,
            content_type: self.content_type,
        }
    }
}

/// Keeps what travels with the message; drops Topic Alias, Subscription Identifiers and Message Expiry Interval.
impl From<PublishProperties> for MessageProperties {
    fn from(p: PublishProperties) -> Self {
        MessageProperties {
            payload_format_indicator: p.payload_format_indicator,
            content_type: p.content_type,
            response_topic: p.response_topic,
            correlation_data: p.correlation_data,
            user_properties: p.user_properties,
        }
    }
}

/// The will's message properties; the Will Delay Interval and Message Expiry Interval are not message
/// properties ([`Message::from_will`] turns the expiry into a deadline).
impl From<WillProperties> for MessageProperties {
    fn from(p: WillProperties) -> Self {
        MessageProperties {
            payload_format_indicator: p.payload_format_indicator,
            content_type: p.content_type,
            response_topic: p.response_topic,
            correlation_data: p.correlation_data,
            user_properties: p.user_properties,
        }
    }
}

/// The v5 properties that belong to one PUBLISH packet on one connection, never to the message it carries.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PacketProperties {
    /// Seconds left of the message's lifetime when this packet is sent [MQTT-3.3.2-6].
    pub message_expiry_interval: Option<u32>,
    /// The topic alias this connection uses for the topic.
    pub topic_alias: Option<NonZeroU16>,
    /// Identifiers of the subscriptions this copy is delivered for (server to client only) [MQTT-3.3.4-3].
    pub subscription_identifiers: Vec<SubscriptionId>,
}

/// The parts of a PUBLISH that belong to one packet: identifier, DUP and the per-packet properties.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PacketFields {
    /// Packet identifier; used only at QoS 1 and 2 (a QoS 0 packet gets none whatever is given).
    pub packet_id: Option<PacketId>,
    /// DUP: a re-delivery of an earlier attempt (only with a packet id [MQTT-3.3.1-2]).
    pub dup: bool,
    /// The per-packet v5 properties.
    pub properties: PacketProperties,
}

/// An application message: what a PUBLISH carries, minus everything that belongs to one packet on one
/// connection (packet id, DUP, topic alias, subscription identifiers).
///
/// Expiry is an absolute deadline, not the wire's interval, so a message that waits in a queue ages without being
/// touched; the interval is recomputed from the deadline each time the message is sent [MQTT-3.3.2-6].
///
/// ```
/// use std::time::{Duration, Instant};
/// use mqtt_codec::{Message, PacketFields, Publish, QoS, TopicName};
/// use mqtt_codec::properties::PublishProperties;
///
/// let t0 = Instant::now();
/// let mut publish = Publish::new(TopicName::from_static("t"), "x").retain(true);
/// publish.properties = PublishProperties { message_expiry_interval: Some(60), ..Default::default() };
/// let message = Message::from_publish(publish, t0);
/// assert_eq!(message.expires_at, Some(t0 + Duration::from_secs(60)));
///
/// // Ten seconds later the same message goes out with 50 seconds left.
/// let out = message.to_publish(t0 + Duration::from_secs(10), PacketFields::default());
/// assert_eq!(out.properties.message_expiry_interval, Some(50));
/// ```
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
    /// The v5 properties that travel with the message.
    pub properties: MessageProperties,
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
            properties: MessageProperties::default(),
        }
    }

    /// The message a PUBLISH received at `now` carries. Its topic is taken as it is: resolve a Topic Alias into
    /// `publish.topic` first. The Message Expiry Interval becomes a deadline; the packet id, DUP, Topic Alias and
    /// Subscription Identifiers are dropped.
    pub fn from_publish(publish: Publish, now: Instant) -> Self {
        let Publish {
            qos,
            retain,
            topic,
            payload,
            properties,
            ..
        } = publish;
        let interval = properties.message_expiry_interval;
        let message = Message {
            topic,
            payload,
            qos,
            retain,
            expires_at: None,
            properties: properties.into(),
        };
        match interval {
            Some(secs) => message.with_expiry_interval(now, secs),
            None => message,
        }
    }

    /// The will as an application message published at `now`: its Message Expiry Interval runs from
    /// publication, not from the CONNECT.
    pub fn from_will(will: Will, now: Instant) -> Self {
        let Will {
            topic,
            payload,
            qos,
            retain,
            properties,
        } = will;
        let interval = properties.message_expiry_interval;
        let message = Message {
            topic,
            payload,
            qos,
            retain,
            expires_at: None,
            properties: properties.into(),
        };
        match interval {
            Some(secs) => message.with_expiry_interval(now, secs),
            None => message,
        }
    }

    /// The PUBLISH that carries a copy of this message with `packet`'s fields, its properties copied. The
    /// Message Expiry Interval is `packet`'s: set it from [`Message::remaining_expiry_interval`] when sending.
    pub fn to_publish_with(&self, packet: PacketFields) -> Publish {
        self.clone().into_publish_with(packet)
    }

    /// [`Message::to_publish_with`] taking the message, so its properties move into the PUBLISH.
    pub fn into_publish_with(self, packet: PacketFields) -> Publish {
        let PacketFields {
            packet_id,
            dup,
            properties,
        } = packet;
        let packet_id = packet_id.filter(|_| self.qos != QoS::AtMostOnce);
        Publish {
            dup: dup && packet_id.is_some(),
            qos: self.qos,
            retain: self.retain,
            topic: self.topic,
            packet_id,
            payload: self.payload,
            properties: self.properties.into_publish_properties(properties),
        }
    }

    /// The PUBLISH that carries this message at `now`: `packet`'s fields with the Message Expiry Interval set to
    /// what is left of the message's lifetime [MQTT-3.3.2-6].
    pub fn to_publish(&self, now: Instant, mut packet: PacketFields) -> Publish {
        packet.properties.message_expiry_interval = self.remaining_expiry_interval(now);
        self.to_publish_with(packet)
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
    use crate::properties::PayloadFormat;

    fn full_properties() -> PublishProperties {
        PublishProperties {
            payload_format_indicator: Some(PayloadFormat::Utf8),
            message_expiry_interval: Some(30),
            topic_alias: NonZeroU16::new(4),
            response_topic: Some(TopicName::from_static("reply/1")),
            correlation_data: Some(Bytes::from_static(b"c")),
            user_properties: vec![UserProperty::new(ByteStr::from_static("k"), ByteStr::from_static("v"))],
            subscription_identifiers: vec![SubscriptionId::MIN],
            content_type: Some(ByteStr::from_static("text/plain")),
        }
    }

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

    #[test]
    fn a_received_publish_keeps_only_what_travels_with_the_message() {
        let t0 = Instant::now();
        let mut publish = Publish::new(TopicName::from_static("a/b"), "x")
            .qos(QoS::ExactlyOnce, PacketId::MIN)
            .retain(true)
            .dup(true);
        publish.properties = full_properties();
        let m = Message::from_publish(publish, t0);
        assert_eq!((m.topic.as_str(), &m.payload[..]), ("a/b", &b"x"[..]));
        assert_eq!((m.qos, m.retain), (QoS::ExactlyOnce, true));
        assert_eq!(m.expires_at, Some(t0 + Duration::from_secs(30)), "[MQTT-3.3.2-5]");
        let full = full_properties();
        assert_eq!(
            m.properties,
            MessageProperties {
                payload_format_indicator: full.payload_format_indicator,
                content_type: full.content_type,
                response_topic: full.response_topic,
                correlation_data: full.correlation_data,
                user_properties: full.user_properties,
            },
            "[MQTT-3.3.2-4] [MQTT-3.3.2-15] [MQTT-3.3.2-16] [MQTT-3.3.2-17] [MQTT-3.3.2-20]"
        );
    }

    #[test]
    fn a_message_goes_out_with_the_packets_own_fields_only() {
        let t0 = Instant::now();
        let mut publish = Publish::new(TopicName::from_static("a/b"), "x").qos(QoS::AtLeastOnce, PacketId::MIN);
        publish.properties = full_properties();
        let m = Message::from_publish(publish, t0);
        let id = PacketId::new(9);
        let out = m.to_publish(
            t0 + Duration::from_millis(10_500),
            PacketFields {
                packet_id: id,
                dup: true,
                properties: PacketProperties {
                    topic_alias: NonZeroU16::new(2),
                    subscription_identifiers: SubscriptionId::new(7).into_iter().collect(),
                    ..Default::default()
                },
            },
        );
        assert_eq!((out.packet_id, out.dup, out.qos), (id, true, QoS::AtLeastOnce));
        assert_eq!(
            out.properties.message_expiry_interval,
            Some(20),
            "[MQTT-3.3.2-6] rounded up"
        );
        assert_eq!(out.properties.topic_alias, NonZeroU16::new(2));
        assert_eq!(
            out.properties.subscription_identifiers,
            SubscriptionId::new(7).into_iter().collect::<Vec<_>>()
        );
        assert_eq!(MessageProperties::from(out.properties), m.properties);
        // Without packet fields the PUBLISH carries none.
        let plain = m.to_publish_with(PacketFields::default());
        assert_eq!(plain.properties.topic_alias, None);
        assert!(plain.properties.subscription_identifiers.is_empty());
        assert_eq!(plain.properties.message_expiry_interval, None);
    }

    #[test]
    fn qos0_never_takes_a_packet_id_or_dup() {
        // [MQTT-2.2.1-2] [MQTT-3.3.1-2]
        let m = Message::new(TopicName::from_static("t"), "x", QoS::AtMostOnce);
        let out = m.into_publish_with(PacketFields {
            packet_id: Some(PacketId::MIN),
            dup: true,
            properties: PacketProperties::default(),
        });
        assert_eq!((out.packet_id, out.dup), (None, false));
    }

    #[test]
    fn a_will_expires_from_publication() {
        let t0 = Instant::now();
        let mut will = Will::new(TopicName::from_static("w"), "gone");
        will.qos = QoS::AtLeastOnce;
        will.retain = true;
        will.properties.message_expiry_interval = Some(5);
        will.properties.will_delay_interval = Some(100);
        will.properties.content_type = Some(ByteStr::from_static("text/plain"));
        let later = t0 + Duration::from_secs(100);
        let m = Message::from_will(will, later);
        assert_eq!(m.expires_at, Some(later + Duration::from_secs(5)));
        assert_eq!((m.qos, m.retain), (QoS::AtLeastOnce, true));
        assert_eq!(m.properties.content_type.as_deref(), Some("text/plain"));
    }

    #[test]
    fn variable_len_counts_strings_and_binary_data() {
        let p = MessageProperties::from(full_properties());
        assert_eq!(p.variable_len(), "reply/1".len() + 1 + "text/plain".len() + 2);
        assert_eq!(MessageProperties::default().variable_len(), 0);
    }
}
