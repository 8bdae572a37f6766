//! [`Outgoing`]: one application message as it goes to one receiver, with the identifiers of the subscriptions
//! it is delivered for.

use std::num::NonZeroU16;
use std::time::Instant;

use crate::message::{PacketFields, PacketProperties};
use crate::{Message, PacketId, Publish, SubscriptionId};

/// A message on its way to one receiver: the [`Message`] (QoS and RETAIN already shaped for the receiving
/// subscription) and the Subscription Identifiers of the subscriptions it is delivered for [MQTT-3.3.4-3].
///
/// A client publishing, or a server sending to a subscription without an identifier, has none: every
/// [`Message`] converts into an `Outgoing` without identifiers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    /// The message as this receiver gets it.
    pub message: Message,
    /// Identifiers of the matching subscriptions, in no particular order (server to client only).
    pub subscription_ids: Vec<SubscriptionId>,
}

impl Outgoing {
    /// `message` delivered for the subscriptions identified by `subscription_ids`.
    pub fn new(message: Message, subscription_ids: Vec<SubscriptionId>) -> Self {
        Outgoing {
            message,
            subscription_ids,
        }
    }

    /// The per-packet fields of sending this at `now` under `packet_id` with `topic_alias`: what is left of
    /// the message's lifetime [MQTT-3.3.2-6] and the subscription identifiers [MQTT-3.3.4-3].
    pub fn packet_fields(
        &self,
        now: Instant,
        packet_id: Option<PacketId>,
        dup: bool,
        topic_alias: Option<NonZeroU16>,
    ) -> PacketFields {
        PacketFields {
            packet_id,
            dup,
            properties: PacketProperties {
                message_expiry_interval: self.message.remaining_expiry_interval(now),
                topic_alias,
                subscription_identifiers: self.subscription_ids.clone(),
            },
        }
    }

    /// The PUBLISH that sends this at `now` (no topic alias): the message's properties are copied, the
    /// per-packet ones come from [`Outgoing::packet_fields`].
    pub fn to_publish(&self, now: Instant, packet_id: Option<PacketId>, dup: bool) -> Publish {
        self.message
            .to_publish_with(self.packet_fields(now, packet_id, dup, None))
    }
}

impl From<Message> for Outgoing {
    fn from(message: Message) -> Self {
        Outgoing::new(message, Vec::new())
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::{QoS, TopicName};

    #[test]
    fn the_packet_carries_the_identifiers_and_the_remaining_lifetime() {
        let t0 = Instant::now();
        let m = Message::new(TopicName::from_static("a"), "x", QoS::AtLeastOnce).with_expiry_interval(t0, 10);
        let ids: Vec<SubscriptionId> = [3, 1].into_iter().filter_map(SubscriptionId::new).collect();
        let out = Outgoing::new(m, ids.clone());
        let p = out.to_publish(t0 + Duration::from_secs(4), Some(PacketId::MIN), true);
        assert_eq!(p.properties.subscription_identifiers, ids, "[MQTT-3.3.4-3]");
        assert_eq!(p.properties.message_expiry_interval, Some(6), "[MQTT-3.3.2-6]");
        assert_eq!(
            (p.packet_id, p.dup, p.properties.topic_alias),
            (Some(PacketId::MIN), true, None)
        );
        let alias = NonZeroU16::new(3);
        assert_eq!(out.packet_fields(t0, None, false, alias).properties.topic_alias, alias);
    }

    #[test]
    fn a_plain_message_has_no_identifiers() {
        let m = Message::new(TopicName::from_static("a"), "x", QoS::AtMostOnce);
        let out = Outgoing::from(m.clone());
        assert_eq!((out.message, out.subscription_ids), (m, Vec::new()));
    }
}
