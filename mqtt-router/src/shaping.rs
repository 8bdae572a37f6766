//! Delivery shaping: what one matched subscription is sent of a message, decided once for every server.
//!
//! [`shape`] takes the message, the subscription side of one delivery ([`Granted`]: a router [`Delivery`], a
//! [`Match`], or the options of a SUBSCRIBE) and why it is sent ([`Origin`]), and gives the [`Shape`]: QoS,
//! RETAIN flag and subscription identifiers. [`Shape::apply`] turns the message into the
//! [`Outgoing`] a session sends. A server that fans one message out to many sessions can keep the message
//! shared (an `Arc`) and move only the small [`Shape`] to each, applying it when the session takes the message.

use mqtt_codec::{Message, Outgoing, QoS, SubscriptionId, SubscriptionOptions};

use crate::{Delivery, Match};

/// Why a message goes to a subscription.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// A PUBLISH was routed to a matching subscription (a will or a shared-subscription hand-over counts too).
    Routed,
    /// A retained message sent because a subscription was made (see [`crate::sends_retained`]).
    RetainedOnSubscribe,
}

/// The subscription side of one delivery: what the server granted and the identifiers to send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Granted<'a> {
    /// The subscription's maximum QoS as granted (for overlapping subscriptions collapsed into one delivery,
    /// the highest of them [MQTT-3.3.4-2]).
    pub qos: QoS,
    /// Retain As Published (for a collapsed delivery: any of the subscriptions asked for it).
    pub retain_as_published: bool,
    /// Identifiers of the subscriptions the delivery is for.
    pub subscription_ids: &'a [SubscriptionId],
}

impl<'a> Granted<'a> {
    /// From one subscription's options (as granted) and its identifiers.
    pub fn new(options: &SubscriptionOptions, subscription_ids: &'a [SubscriptionId]) -> Self {
        Granted {
            qos: options.qos,
            retain_as_published: options.retain_as_published,
            subscription_ids,
        }
    }
}

impl<'a, C> From<&Delivery<'a, C>> for Granted<'a> {
    fn from(d: &Delivery<'a, C>) -> Self {
        Granted {
            qos: d.qos,
            retain_as_published: d.retain_as_published,
            subscription_ids: d.subscription_ids,
        }
    }
}

impl<'m, C> From<&'m Match<'_, C>> for Granted<'m> {
    fn from(m: &'m Match<'_, C>) -> Self {
        Granted::new(&m.options, m.subscription_id.as_slice())
    }
}

/// The parts of a message that one subscriber gets its own way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shape {
    /// QoS to send with.
    pub qos: QoS,
    /// RETAIN flag to send with.
    pub retain: bool,
    /// Subscription identifiers to send.
    pub subscription_ids: Vec<SubscriptionId>,
}

/// What a subscription is sent of `message`:
/// - QoS: the lower of the message's and the granted one [MQTT-3.8.4-8];
/// - RETAIN: for a routed message, the published flag when the subscription asked for Retain As Published
///   [MQTT-3.3.1-13] and 0 otherwise [MQTT-3.3.1-12]; for a retained message sent because of a new
///   subscription, 1 (MQTT 5.0 section 3.3.1.3, [MQTT-3.3.1-8] in 3.1.1);
/// - the identifiers of the matching subscriptions [MQTT-3.3.4-3] (all of them on one copy [MQTT-3.3.4-4]).
///
/// ```
/// use mqtt_codec::{Message, QoS, SubscriptionOptions, TopicName};
/// use mqtt_router::{Granted, Origin, shape};
///
/// let message = Message::new(TopicName::from_static("t"), "x", QoS::ExactlyOnce).with_retain(true);
/// let options = SubscriptionOptions::new(QoS::AtLeastOnce); // Retain As Published off
/// let s = shape(&message, Granted::new(&options, &[]), Origin::Routed);
/// assert_eq!((s.qos, s.retain), (QoS::AtLeastOnce, false));
/// let outgoing = s.apply(message);
/// assert_eq!(outgoing.message.qos, QoS::AtLeastOnce);
/// ```
pub fn shape(message: &Message, granted: Granted<'_>, origin: Origin) -> Shape {
    Shape {
        qos: message.qos.min(granted.qos),
        retain: match origin {
            Origin::Routed => message.retain && granted.retain_as_published,
            Origin::RetainedOnSubscribe => true,
        },
        subscription_ids: granted.subscription_ids.to_vec(),
    }
}

impl Shape {
    /// The message as this subscriber gets it.
    pub fn apply(self, mut message: Message) -> Outgoing {
        message.qos = self.qos;
        message.retain = self.retain;
        Outgoing::new(message, self.subscription_ids)
    }
}

#[cfg(test)]
mod tests {
    use mqtt_codec::{RetainHandling, TopicFilter, TopicName};

    use super::*;
    use crate::{Deliveries, Router};

    const ALL_QOS: [QoS; 3] = [QoS::AtMostOnce, QoS::AtLeastOnce, QoS::ExactlyOnce];

    fn message(qos: QoS, retain: bool) -> Message {
        Message::new(TopicName::from_static("a/b"), "x", qos).with_retain(retain)
    }

    fn options(qos: QoS, retain_as_published: bool) -> SubscriptionOptions {
        SubscriptionOptions {
            qos,
            no_local: false,
            retain_as_published,
            retain_handling: RetainHandling::SendAtSubscribe,
        }
    }

    fn ids(ns: &[u32]) -> Vec<SubscriptionId> {
        ns.iter().copied().filter_map(SubscriptionId::new).collect()
    }

    #[test]
    fn qos_is_the_minimum_of_published_and_granted() {
        // [MQTT-3.8.4-8], for both origins.
        for published in ALL_QOS {
            for granted in ALL_QOS {
                for origin in [Origin::Routed, Origin::RetainedOnSubscribe] {
                    let o = options(granted, false);
                    let s = shape(&message(published, false), Granted::new(&o, &[]), origin);
                    assert_eq!(s.qos, published.min(granted), "{published:?} {granted:?} {origin:?}");
                }
            }
        }
    }

    #[test]
    fn retain_as_published_0_clears_the_flag() {
        // [MQTT-3.3.1-12]
        let o = options(QoS::ExactlyOnce, false);
        for retain in [false, true] {
            assert!(!shape(&message(QoS::AtMostOnce, retain), Granted::new(&o, &[]), Origin::Routed).retain);
        }
    }

    #[test]
    fn retain_as_published_1_keeps_the_flag() {
        // [MQTT-3.3.1-13]
        let o = options(QoS::ExactlyOnce, true);
        for retain in [false, true] {
            let s = shape(&message(QoS::AtMostOnce, retain), Granted::new(&o, &[]), Origin::Routed);
            assert_eq!(s.retain, retain);
        }
    }

    #[test]
    fn retained_messages_sent_on_subscribe_keep_retain_1() {
        // v5 3.3.1.3 ("sent with the RETAIN flag set to 1"), [MQTT-3.3.1-8] in 3.1.1: whatever Retain As
        // Published says.
        for rap in [false, true] {
            let o = options(QoS::AtLeastOnce, rap);
            let s = shape(
                &message(QoS::AtLeastOnce, true),
                Granted::new(&o, &[]),
                Origin::RetainedOnSubscribe,
            );
            assert!(s.retain);
        }
    }

    #[test]
    fn subscription_identifiers_are_those_of_the_delivery() {
        // [MQTT-3.3.4-3] [MQTT-3.3.4-4]
        let o = options(QoS::AtLeastOnce, false);
        let two = ids(&[7, 9]);
        let s = shape(
            &message(QoS::AtLeastOnce, false),
            Granted::new(&o, &two),
            Origin::Routed,
        );
        assert_eq!(s.subscription_ids, two);
        let none = shape(&message(QoS::AtLeastOnce, false), Granted::new(&o, &[]), Origin::Routed);
        assert!(none.subscription_ids.is_empty());
    }

    #[test]
    fn apply_sets_the_shape_and_keeps_the_rest() {
        let mut m = message(QoS::ExactlyOnce, true);
        m.properties.content_type = Some(mqtt_codec::ByteStr::from_static("text/plain"));
        let out = Shape {
            qos: QoS::AtMostOnce,
            retain: false,
            subscription_ids: ids(&[3]),
        }
        .apply(m.clone());
        assert_eq!((out.message.qos, out.message.retain), (QoS::AtMostOnce, false));
        assert_eq!((&out.message.topic, &out.message.properties), (&m.topic, &m.properties));
        assert_eq!(out.subscription_ids, ids(&[3]));
    }

    #[test]
    fn a_router_delivery_of_overlapping_subscriptions_shapes_as_one_copy() {
        // [MQTT-3.3.4-2] highest QoS of the overlapping subscriptions, [MQTT-3.3.4-4] all their identifiers.
        let mut r: Router<u8> = Router::new();
        let f = |s| TopicFilter::try_from(s).unwrap();
        r.subscribe(1, &f("a/+"), options(QoS::AtMostOnce, true), SubscriptionId::new(7))
            .unwrap();
        r.subscribe(1, &f("a/#"), options(QoS::AtLeastOnce, false), SubscriptionId::new(9))
            .unwrap();
        let m = message(QoS::ExactlyOnce, true);
        let mut out = Deliveries::new();
        r.deliveries(&m.topic, None, &mut out);
        let d = out.iter().next().unwrap();
        let mut s = shape(&m, Granted::from(&d), Origin::Routed);
        s.subscription_ids.sort();
        assert_eq!(
            s,
            Shape {
                qos: QoS::AtLeastOnce,
                retain: true, // one of them asked for Retain As Published
                subscription_ids: ids(&[7, 9]),
            }
        );
        // The same through `visit`, one match at a time [MQTT-3.3.4-5].
        let mut shapes = Vec::new();
        r.visit(&m.topic, None, |found| {
            shapes.push(shape(&m, Granted::from(&found), Origin::Routed))
        });
        shapes.sort_by_key(|s| s.subscription_ids.clone());
        assert_eq!(
            shapes,
            [
                Shape {
                    qos: QoS::AtMostOnce,
                    retain: true,
                    subscription_ids: ids(&[7]),
                },
                Shape {
                    qos: QoS::AtLeastOnce,
                    retain: false,
                    subscription_ids: ids(&[9]),
                },
            ]
        );
    }
}
