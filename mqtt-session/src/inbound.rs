//! Inbound QoS machinery shared by both roles: exactly-once bookkeeping for QoS 2, acknowledgement tokens, our
//! Receive Maximum, and the peer's topic aliases.

use std::collections::hash_map::Entry;
use std::num::NonZeroU16;

use mqtt_codec::{PacketId, QoS, ReasonCode, TopicName};

use crate::Error;
use crate::packet_id_hash::IdMap;

/// Proof that the application received one inbound QoS 1 or QoS 2 message; hand it back to the session
/// (`acknowledge`) to send PUBACK or PUBREC.
///
/// Acknowledging after the broker has taken responsibility for the message (routed it, stored it, ran its
/// functions) is what makes QoS 1 "at least once" end to end. A token is tied to one delivery: a late token for
/// a packet id the peer has since reused is ignored instead of acknowledging the wrong message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AckToken {
    id: PacketId,
    qos: QoS,
    delivery: u64,
}

impl AckToken {
    /// The packet id of the PUBLISH this token acknowledges.
    pub fn packet_id(&self) -> PacketId {
        self.id
    }

    /// QoS of the PUBLISH (1 or 2).
    pub fn qos(&self) -> QoS {
        self.qos
    }
}

/// State of an inbound QoS 2 packet id between PUBLISH and PUBREL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InboundQos2 {
    /// Delivered to the application, which has not acknowledged it yet; PUBREC not sent.
    Delivered,
    /// PUBREC sent with this (successful) reason code; waiting for PUBREL. A re-sent PUBLISH with this id is
    /// answered with PUBREC again and not delivered [MQTT-4.3.3-10].
    Received(ReasonCode),
}

#[derive(Debug, Clone, Copy)]
struct Qos2Slot {
    delivery: u64,
    state: InboundQos2,
    /// Its PUBLISH arrived on the current connection, so it counts against our Receive Maximum (the peer's send
    /// quota starts afresh on every connection, v5 section 4.9).
    counted: bool,
}

/// What to do with an inbound PUBLISH.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum OnPublish {
    /// Deliver it to the application (with a token for QoS 1/2).
    Deliver(Option<AckToken>),
    /// A duplicate of a QoS 2 message the application already has and has not acknowledged: nothing to do.
    Ignore,
    /// A duplicate of a QoS 2 message already acknowledged: send PUBREC again, do not deliver [MQTT-4.3.3-10].
    RepeatPubRec(PacketId, ReasonCode),
}

/// The acknowledgement to send once the application hands a token back.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Reply {
    PubAck(PacketId, ReasonCode),
    PubRec(PacketId, ReasonCode),
}

/// Inbound flow of one session.
#[derive(Debug, Clone)]
pub(crate) struct Inbound {
    /// QoS 1 deliveries not yet acknowledged on this connection: id -> delivery number.
    qos1: IdMap<u64>,
    /// QoS 2 ids between PUBLISH and PUBREL; part of the session state, kept across connections.
    qos2: IdMap<Qos2Slot>,
    /// QoS 2 entries whose PUBLISH arrived on this connection.
    qos2_counted: u32,
    next_delivery: u64,
    /// Topic aliases the peer set on this connection; index = alias - 1.
    aliases: Box<[Option<TopicName>]>,
    /// Our Receive Maximum, announced to the peer.
    pub(crate) receive_maximum: u16,
    /// Our Topic Alias Maximum, announced to the peer (0: aliases not accepted).
    pub(crate) topic_alias_maximum: u16,
}

impl Default for Inbound {
    fn default() -> Self {
        Inbound {
            qos1: IdMap::default(),
            qos2: IdMap::default(),
            qos2_counted: 0,
            next_delivery: 0,
            aliases: Box::default(),
            receive_maximum: u16::MAX,
            topic_alias_maximum: 0,
        }
    }
}

impl Inbound {
    /// A new network connection: aliases and unacknowledged QoS 1 deliveries belong to the old one
    /// [MQTT-3.3.2-7]; QoS 2 ids stay (they are session state).
    pub(crate) fn new_connection(&mut self) {
        self.qos1.clear();
        self.aliases = Box::default();
        for slot in self.qos2.values_mut() {
            slot.counted = false;
        }
        self.qos2_counted = 0;
    }

    /// Forgets the session state too (Clean Start).
    pub(crate) fn clear(&mut self) {
        self.new_connection();
        self.qos2.clear();
        self.qos2_counted = 0;
    }

    /// Releases spare capacity, including the alias table's slots above the highest alias in use.
    pub(crate) fn shrink_to_fit(&mut self) {
        self.qos1.shrink_to_fit();
        self.qos2.shrink_to_fit();
        let used = self.aliases.iter().rposition(Option::is_some).map_or(0, |i| i + 1);
        if used < self.aliases.len() {
            let mut kept = std::mem::take(&mut self.aliases).into_vec();
            kept.truncate(used);
            self.aliases = kept.into_boxed_slice();
        }
    }

    /// QoS 1/2 messages received on this connection and not yet completed (PUBACK, or PUBCOMP for QoS 2).
    pub(crate) fn unacked(&self) -> usize {
        self.qos1.len() + self.qos2_counted as usize
    }

    fn token(&mut self, id: PacketId, qos: QoS) -> AckToken {
        let delivery = self.next_delivery;
        self.next_delivery += 1;
        AckToken { id, qos, delivery }
    }

    /// A PUBLISH arrived. Enforces our Receive Maximum (v5 section 4.9: more unacknowledged QoS 1/2 messages than
    /// we allowed is a protocol error, reason 0x93).
    pub(crate) fn on_publish(&mut self, qos: QoS, id: Option<PacketId>) -> Result<OnPublish, Error> {
        let id = match (qos, id) {
            (QoS::AtMostOnce, _) => return Ok(OnPublish::Deliver(None)),
            (_, Some(id)) => id,
            (_, None) => return Err(Error::MissingPacketId),
        };
        let full = self.unacked() >= usize::from(self.receive_maximum);
        if qos == QoS::AtLeastOnce {
            if full && !self.qos1.contains_key(&id) {
                return Err(Error::ReceiveMaximumExceeded);
            }
            let token = self.token(id, qos);
            self.qos1.insert(id, token.delivery);
            return Ok(OnPublish::Deliver(Some(token)));
        }
        if let Some(slot) = self.qos2.get_mut(&id) {
            // A re-send of a message we already have: never delivered twice [MQTT-4.3.3-10].
            if !slot.counted {
                if full {
                    return Err(Error::ReceiveMaximumExceeded);
                }
                slot.counted = true;
                self.qos2_counted += 1;
            }
            return Ok(match slot.state {
                InboundQos2::Delivered => OnPublish::Ignore,
                InboundQos2::Received(code) => OnPublish::RepeatPubRec(id, code),
            });
        }
        if full {
            return Err(Error::ReceiveMaximumExceeded);
        }
        let token = self.token(id, qos);
        self.qos2.insert(
            id,
            Qos2Slot {
                delivery: token.delivery,
                state: InboundQos2::Delivered,
                counted: true,
            },
        );
        self.qos2_counted += 1;
        Ok(OnPublish::Deliver(Some(token)))
    }

    /// The application acknowledged a delivery. Returns the packet to send, or `None` for a stale token.
    pub(crate) fn acknowledge(&mut self, token: AckToken, reason: ReasonCode) -> Option<Reply> {
        if token.qos == QoS::AtLeastOnce {
            if self.qos1.get(&token.id) == Some(&token.delivery) {
                self.qos1.remove(&token.id);
                return Some(Reply::PubAck(token.id, reason));
            }
            return None;
        }
        let Some(Entry::Occupied(mut slot)) = self.qos2.as_mut().map(|m| m.entry(token.id)) else {
            return None;
        };
        if slot.get().delivery != token.delivery || slot.get().state != InboundQos2::Delivered {
            return None;
        }
        if reason.as_u8() >= 0x80 {
            // A refused QoS 2 message ends with this PUBREC; no PUBREL follows.
            if slot.remove().counted {
                self.qos2_counted = self.qos2_counted.saturating_sub(1);
            }
        } else {
            slot.get_mut().state = InboundQos2::Received(reason);
        }
        Some(Reply::PubRec(token.id, reason))
    }

    /// PUBREL arrived: the id is free again [MQTT-4.3.3-12]. Returns whether it was known.
    pub(crate) fn on_pubrel(&mut self, id: PacketId) -> bool {
        match self.qos2.remove(&id) {
            Some(slot) => {
                if slot.counted {
                    self.qos2_counted = self.qos2_counted.saturating_sub(1);
                }
                true
            }
            None => false,
        }
    }

    /// Resolves the topic of an inbound PUBLISH against the peer's aliases (v5 section 3.3.2.3.4). `topic` is
    /// empty when the packet named its topic by alias only.
    pub(crate) fn resolve_topic(&mut self, topic: TopicName, alias: Option<NonZeroU16>) -> Result<TopicName, Error> {
        let Some(alias) = alias else {
            if topic.is_empty() {
                return Err(Error::EmptyTopicWithoutAlias);
            }
            return Ok(topic);
        };
        if alias.get() > self.topic_alias_maximum {
            return Err(Error::TopicAliasInvalid { alias: alias.get() });
        }
        let index = usize::from(alias.get() - 1);
        if topic.is_empty() {
            return self
                .aliases
                .get(index)
                .and_then(Clone::clone)
                .ok_or(Error::UnknownTopicAlias { alias: alias.get() });
        }
        if self.aliases.len() <= index {
            // Grows by doubling (up to the maximum the broker announced), so a client that establishes its
            // aliases one by one costs a logarithmic number of copies; an idle connection keeps no spare room
            // beyond that.
            let len = (index + 1)
                .max(self.aliases.len() * 2)
                .min(usize::from(self.topic_alias_maximum));
            let mut grown = std::mem::take(&mut self.aliases).into_vec();
            grown.resize(len, None);
            self.aliases = grown.into_boxed_slice();
        }
        if let Some(slot) = self.aliases.get_mut(index)
            && slot.as_ref() != Some(&topic)
        {
            // An owned copy: the decoded topic is a view of the PUBLISH frame, which the table would otherwise
            // keep (payload included) for as long as the connection lasts. A client that repeats the topic with
            // its alias on every PUBLISH costs no copy after the first.
            *slot = Some(TopicName::try_from(topic.as_str()).unwrap_or_else(|_| topic.clone()));
        }
        Ok(topic)
    }

    /// QoS 2 ids for a snapshot.
    pub(crate) fn qos2_snapshot(&self) -> Vec<(PacketId, InboundQos2)> {
        let mut v: Vec<_> = self.qos2.iter().map(|(id, s)| (*id, s.state)).collect();
        v.sort_unstable_by_key(|(id, _)| *id);
        v
    }

    /// Restores QoS 2 ids from a snapshot. Ids still waiting for the application become `Received`-less
    /// deliveries whose token is gone, so they are completed as `Received(Success)`: the message was handed to
    /// the application before the snapshot, and delivering it again would break exactly-once.
    pub(crate) fn restore(&mut self, qos2: Vec<(PacketId, InboundQos2)>) {
        self.clear();
        for (id, state) in qos2 {
            let delivery = self.next_delivery;
            self.next_delivery += 1;
            let state = match state {
                InboundQos2::Delivered => InboundQos2::Received(ReasonCode::Success),
                received => received,
            };
            self.qos2.insert(
                id,
                Qos2Slot {
                    delivery,
                    state,
                    counted: false,
                },
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u16) -> PacketId {
        PacketId::new(n).unwrap()
    }

    #[test]
    fn qos2_is_delivered_once_until_pubrel() {
        let mut inb = Inbound::default();
        let OnPublish::Deliver(Some(token)) = inb.on_publish(QoS::ExactlyOnce, Some(id(7))).unwrap() else {
            panic!("first PUBLISH is delivered");
        };
        assert_eq!(
            inb.on_publish(QoS::ExactlyOnce, Some(id(7))).unwrap(),
            OnPublish::Ignore
        );
        assert_eq!(
            inb.acknowledge(token, ReasonCode::Success),
            Some(Reply::PubRec(id(7), ReasonCode::Success))
        );
        assert_eq!(
            inb.acknowledge(token, ReasonCode::Success),
            None,
            "a token acknowledges once"
        );
        assert_eq!(
            inb.on_publish(QoS::ExactlyOnce, Some(id(7))).unwrap(),
            OnPublish::RepeatPubRec(id(7), ReasonCode::Success)
        );
        assert!(inb.on_pubrel(id(7)));
        assert!(!inb.on_pubrel(id(7)));
        assert!(matches!(
            inb.on_publish(QoS::ExactlyOnce, Some(id(7))).unwrap(),
            OnPublish::Deliver(Some(_))
        ));
    }

    #[test]
    fn stale_qos1_token_does_not_ack_a_reused_id() {
        let mut inb = Inbound::default();
        let OnPublish::Deliver(Some(old)) = inb.on_publish(QoS::AtLeastOnce, Some(id(1))).unwrap() else {
            panic!()
        };
        inb.new_connection();
        let OnPublish::Deliver(Some(new)) = inb.on_publish(QoS::AtLeastOnce, Some(id(1))).unwrap() else {
            panic!()
        };
        assert_eq!(inb.acknowledge(old, ReasonCode::Success), None);
        assert_eq!(
            inb.acknowledge(new, ReasonCode::Success),
            Some(Reply::PubAck(id(1), ReasonCode::Success))
        );
    }

    #[test]
    fn receive_maximum_is_enforced() {
        let mut inb = Inbound {
            receive_maximum: 2,
            ..Inbound::default()
        };
        inb.on_publish(QoS::AtLeastOnce, Some(id(1))).unwrap();
        inb.on_publish(QoS::ExactlyOnce, Some(id(2))).unwrap();
        assert_eq!(inb.on_publish(QoS::AtMostOnce, None).unwrap(), OnPublish::Deliver(None));
        assert_eq!(
            inb.on_publish(QoS::AtLeastOnce, Some(id(3))),
            Err(Error::ReceiveMaximumExceeded)
        );
    }

    #[test]
    fn aliases() {
        let mut inb = Inbound {
            topic_alias_maximum: 2,
            ..Inbound::default()
        };
        let a = |n: u16| NonZeroU16::new(n);
        let t = TopicName::from_static("a/b");
        let empty = mqtt_codec::Publish::alias_only(NonZeroU16::MIN, "").topic;
        assert_eq!(inb.resolve_topic(t.clone(), a(2)).unwrap(), t);
        assert_eq!(inb.resolve_topic(empty.clone(), a(2)).unwrap(), t);
        assert_eq!(
            inb.resolve_topic(empty.clone(), a(1)),
            Err(Error::UnknownTopicAlias { alias: 1 })
        );
        assert_eq!(
            inb.resolve_topic(empty.clone(), a(3)),
            Err(Error::TopicAliasInvalid { alias: 3 })
        );
        assert_eq!(
            inb.resolve_topic(empty.clone(), None),
            Err(Error::EmptyTopicWithoutAlias)
        );
        inb.new_connection();
        assert_eq!(
            inb.resolve_topic(empty, a(2)),
            Err(Error::UnknownTopicAlias { alias: 2 })
        );
    }

    /// The alias table grows on demand (one copy per doubling) and never past the announced maximum; every
    /// alias keeps its topic whatever order they are established in.
    #[test]
    fn alias_table_grows_to_the_maximum_and_keeps_every_topic() {
        let mut inb = Inbound {
            topic_alias_maximum: 100,
            ..Inbound::default()
        };
        let empty = mqtt_codec::Publish::alias_only(NonZeroU16::MIN, "").topic;
        let order = [5u16, 1, 2, 3, 64, 4, 100, 7, 99];
        for n in order {
            let t = TopicName::try_from(format!("t/{n}")).unwrap();
            inb.resolve_topic(t, NonZeroU16::new(n)).unwrap();
            assert!(inb.aliases.len() <= 100 && inb.aliases.len() >= usize::from(n));
        }
        assert_eq!(inb.aliases.len(), 100);
        for n in order {
            let t = inb.resolve_topic(empty.clone(), NonZeroU16::new(n)).unwrap();
            assert_eq!(t.as_str(), format!("t/{n}"));
        }
        assert_eq!(
            inb.resolve_topic(empty.clone(), NonZeroU16::new(6)),
            Err(Error::UnknownTopicAlias { alias: 6 })
        );
        inb.shrink_to_fit();
        assert_eq!(inb.aliases.len(), 100, "alias 100 is in use");
        let mut small = Inbound {
            topic_alias_maximum: 100,
            ..Inbound::default()
        };
        for n in 1..=33 {
            let t = TopicName::try_from(format!("s/{n}")).unwrap();
            small.resolve_topic(t, NonZeroU16::new(n)).unwrap();
        }
        assert_eq!(small.aliases.len(), 64, "doubled");
        small.shrink_to_fit();
        assert_eq!(small.aliases.len(), 33, "trimmed to the highest alias in use");
        let t = small.resolve_topic(empty.clone(), NonZeroU16::new(33)).unwrap();
        assert_eq!(t.as_str(), "s/33");
        inb.new_connection();
        assert!(inb.aliases.is_empty(), "a new connection frees the table");
    }
}
