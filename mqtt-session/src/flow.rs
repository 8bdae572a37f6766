//! The QoS machinery of one session on its current connection, shared by the server and client roles: turns
//! messages into PUBLISH packets (ids, DUP, aliases, expiry, size limit) and acknowledgements into state changes.

use std::num::NonZeroU32;
use std::time::Instant;

use bytes::Bytes;
use mqtt_codec::{
    MessageProperties, Outgoing, Packet, PacketFields, PacketId, ProtocolVersion, PubAck, PubComp, PubRec, PubRel,
    Publish, QoS, ReasonCode,
};

use crate::inbound::{Inbound, OnPublish, Reply};
use crate::outbound::{Next, Outbound, PubRecOutcome, Resend};
use crate::packet_id_hash::IdSet;
use crate::thin::ThinDeque;
use crate::topic_alias::{AliasUse, OutboundAliases};
use crate::{AckToken, DropReason, Error, Message, OverflowPolicy};

/// QoS state of a session plus the packets waiting to be written to its connection.
#[derive(Debug, Clone)]
pub(crate) struct Flow {
    pub(crate) version: ProtocolVersion,
    pub(crate) outbound: Outbound,
    pub(crate) inbound: Inbound,
    aliases: OutboundAliases,
    /// Packet ids of the client role's SUBSCRIBE/UNSUBSCRIBE waiting for their ack; they share the id space with
    /// PUBLISH [MQTT-2.2.1-3].
    pub(crate) control_ids: IdSet,
    /// The peer's Maximum Packet Size; `None` when it set no limit.
    pub(crate) peer_max_packet: Option<NonZeroU32>,
    pub(crate) connected: bool,
    pub(crate) transmit: ThinDeque<Packet>,
    pub(crate) max_queued: usize,
    pub(crate) overflow: OverflowPolicy,
    pub(crate) queue_qos0_offline: bool,
}

impl Flow {
    pub(crate) fn new(max_queued: usize, overflow: OverflowPolicy, queue_qos0_offline: bool) -> Self {
        Flow {
            version: ProtocolVersion::V5,
            outbound: Outbound::default(),
            inbound: Inbound::default(),
            aliases: OutboundAliases::default(),
            control_ids: IdSet::default(),
            peer_max_packet: None,
            connected: false,
            transmit: ThinDeque::new(),
            max_queued,
            overflow,
            queue_qos0_offline,
        }
    }

    /// A connection is up with these peer limits. Aliases and QoS 1 receipts of the old connection are gone
    /// [MQTT-3.3.2-7]; packets never written to the old connection are discarded.
    pub(crate) fn open(
        &mut self,
        version: ProtocolVersion,
        peer_receive_maximum: u16,
        peer_max_packet: Option<NonZeroU32>,
        peer_topic_alias_maximum: u16,
    ) {
        self.version = version;
        self.transmit.clear();
        self.inbound.new_connection();
        self.aliases
            .reset(if version.is_v5() { peer_topic_alias_maximum } else { 0 });
        self.outbound.receive_maximum = peer_receive_maximum.max(1);
        self.peer_max_packet = peer_max_packet;
        self.connected = true;
    }

    /// The connection is gone; session state stays.
    pub(crate) fn close(&mut self) {
        self.connected = false;
        self.outbound.connection_closed();
        self.inbound.new_connection();
        self.control_ids.clear();
    }

    /// Releases spare capacity of every table and buffer.
    pub(crate) fn shrink_to_fit(&mut self) {
        self.outbound.shrink_to_fit();
        self.inbound.shrink_to_fit();
        self.aliases.shrink_to_fit();
        self.control_ids.shrink_to_fit();
        self.transmit.shrink_to_fit();
    }

    /// Forgets the session state (Clean Start, or the peer has no session).
    pub(crate) fn clear_session(&mut self) {
        self.outbound.clear();
        self.inbound.clear();
        self.control_ids.clear();
    }

    fn allocate(&mut self) -> Option<PacketId> {
        let control = &self.control_ids;
        self.outbound.allocate_id(&|id| control.contains_key(&id))
    }

    /// Allocates an id for a SUBSCRIBE or UNSUBSCRIBE (client role).
    pub(crate) fn allocate_control_id(&mut self) -> Option<PacketId> {
        let id = self.allocate()?;
        self.control_ids.insert(id, ());
        Some(id)
    }

    /// A message to deliver to the peer: sent now when the connection and the peer's Receive Maximum allow and
    /// nothing is queued ahead of it, queued otherwise.
    pub(crate) fn submit(&mut self, now: Instant, message: Outgoing, dropped: &mut impl FnMut(Outgoing, DropReason)) {
        if !self.connected {
            if message.message.qos == QoS::AtMostOnce && !self.queue_qos0_offline {
                dropped(message, DropReason::Offline);
            } else {
                self.outbound
                    .enqueue(now, message, self.max_queued, self.overflow, dropped);
            }
            return;
        }
        if self.outbound.queue_is_empty() {
            if message.message.is_expired(now) {
                dropped(message, DropReason::Expired);
                return;
            }
            if message.message.qos == QoS::AtMostOnce {
                self.send_new(now, None, message, dropped);
                return;
            }
            if self.outbound.has_quota()
                && let Some(id) = self.allocate()
            {
                self.send_new(now, Some(id), message, dropped);
                return;
            }
        }
        self.outbound
            .enqueue(now, message, self.max_queued, self.overflow, dropped);
    }

    /// Sends queued messages while the peer's Receive Maximum allows [MQTT-3.3.4-9].
    /// Deferred re-sends of a resumed session go first, in their original order.
    pub(crate) fn pump(&mut self, now: Instant, dropped: &mut impl FnMut(Outgoing, DropReason)) {
        while self.connected
            && let Some((id, message)) = self.outbound.next_resend()
        {
            self.resend_publish(now, id, message, dropped);
        }
        while self.connected {
            let control = &self.control_ids;
            let Some(next) = self.outbound.next(now, &|id| control.contains_key(&id)) else {
                break;
            };
            match next {
                Next::Send { id, message } => self.send_new(now, id, message, dropped),
                Next::Dropped(message, reason) => dropped(message, reason),
            }
        }
    }

    /// First transmission of a message; QoS 1/2 messages enter the in-flight table under `id`.
    fn send_new(
        &mut self,
        now: Instant,
        id: Option<PacketId>,
        mut message: Outgoing,
        dropped: &mut impl FnMut(Outgoing, DropReason),
    ) {
        if id.is_none() {
            // Nothing keeps a QoS 0 message once it is written, so its properties move into the PUBLISH
            // instead of being copied (a copy of the user properties was an allocation per delivery).
            let properties = std::mem::take(&mut message.message.properties);
            if let Some(properties) = self.send_publish_with(now, None, &message, properties, false) {
                message.message.properties = properties;
                dropped(message, DropReason::PacketTooLarge);
            }
            return;
        }
        if !self.send_publish(now, id, &message, false) {
            dropped(message, DropReason::PacketTooLarge);
        } else if let Some(id) = id {
            self.outbound.track(id, message);
        }
    }

    /// Session resumed: re-send unacknowledged PUBLISH (DUP=1, original ids) and PUBREL in their original order
    /// [MQTT-4.4.0-1] [MQTT-4.6.0-1], then whatever the queue may release.
    pub(crate) fn resume(&mut self, now: Instant, dropped: &mut impl FnMut(Outgoing, DropReason)) {
        for item in self.outbound.resume() {
            match item {
                Resend::Publish(id, message) => self.resend_publish(now, id, message, dropped),
                Resend::PubRel(id) => self.transmit.push_back(Packet::PubRel(PubRel::new(id))),
            }
        }
        self.pump(now, dropped);
    }

    /// Re-sends an in-flight PUBLISH with DUP=1 and its original id [MQTT-3.3.1-1].
    fn resend_publish(
        &mut self,
        now: Instant,
        id: PacketId,
        message: Outgoing,
        dropped: &mut impl FnMut(Outgoing, DropReason),
    ) {
        if !self.send_publish(now, Some(id), &message, true) {
            // The peer's new Maximum Packet Size no longer admits it: complete it as if sent.
            self.outbound.forget(id);
            dropped(message, DropReason::PacketTooLarge);
        }
    }

    /// Builds the PUBLISH for `message` and queues it for the wire. Returns `false`, sending nothing, when it
    /// would exceed the peer's Maximum Packet Size [MQTT-3.1.2-24]; the caller then completes the message as if
    /// it had been sent [MQTT-3.1.2-25].
    fn send_publish(&mut self, now: Instant, id: Option<PacketId>, message: &Outgoing, dup: bool) -> bool {
        let properties = if self.version.is_v5() {
            message.message.properties.clone()
        } else {
            MessageProperties::default()
        };
        self.send_publish_with(now, id, message, properties, dup).is_none()
    }

    /// [`Flow::send_publish`] with the message's properties given by value (copied or moved out of `message`
    /// by the caller). `None` when sent; on refusal the properties come back as they were given.
    fn send_publish_with(
        &mut self,
        now: Instant,
        id: Option<PacketId>,
        outgoing: &Outgoing,
        properties: MessageProperties,
        dup: bool,
    ) -> Option<MessageProperties> {
        let message = &outgoing.message;
        let v5 = self.version.is_v5();
        let alias = if v5 {
            self.aliases.lookup(&message.topic)
        } else {
            AliasUse::None
        };
        let packet_id = id.filter(|_| message.qos != QoS::AtMostOnce);
        let topic = match alias {
            AliasUse::Reuse(a) => Publish::alias_only(a, Bytes::new()).topic,
            AliasUse::None | AliasUse::Establish(_) => message.topic.clone(),
        };
        // A 3.1.1 PUBLISH carries no properties: the given ones wait aside, to be handed back on refusal.
        let (properties, aside) = if v5 {
            (properties, None)
        } else {
            (MessageProperties::default(), Some(properties))
        };
        let fields = if v5 {
            let topic_alias = match alias {
                AliasUse::Reuse(a) | AliasUse::Establish(a) => Some(a),
                AliasUse::None => None,
            };
            // What is left of the expiry interval [MQTT-3.3.2-6], the subscription identifiers [MQTT-3.3.4-3].
            outgoing.packet_fields(now, packet_id, dup, topic_alias)
        } else {
            PacketFields {
                packet_id,
                dup,
                ..PacketFields::default()
            }
        };
        // DUP only on a re-delivery, never at QoS 0 [MQTT-3.3.1-1] [MQTT-3.3.1-2] [MQTT-3.3.1-3].
        let publish = mqtt_codec::Message {
            topic,
            payload: message.payload.clone(),
            qos: message.qos,
            retain: message.retain,
            expires_at: message.expires_at,
            properties,
        }
        .into_publish_with(fields);
        if let Some(max) = self.peer_max_packet
            && publish.encoded_len(self.version) > max.get() as usize
        {
            return Some(aside.unwrap_or_else(|| MessageProperties::from(publish.properties)));
        }
        self.aliases.commit(&message.topic, alias);
        self.transmit.push_back(Packet::Publish(publish));
        None
    }

    /// An inbound PUBLISH: resolves its alias, applies exactly-once bookkeeping and returns the message to hand
    /// to the application, if any.
    pub(crate) fn on_publish(
        &mut self,
        now: Instant,
        mut publish: Publish,
    ) -> Result<Option<(Message, Option<AckToken>)>, Error> {
        let alias = publish.properties.topic_alias.take();
        publish.topic = self.inbound.resolve_topic(publish.topic, alias)?;
        match self.inbound.on_publish(publish.qos, publish.packet_id)? {
            OnPublish::Ignore => Ok(None),
            OnPublish::RepeatPubRec(id, code) => {
                self.transmit
                    .push_back(Packet::PubRec(PubRec::new(id).reason_code(code)));
                Ok(None)
            }
            OnPublish::Deliver(token) => Ok(Some((Message::from_publish(publish, now), token))),
        }
    }

    /// The application acknowledged an inbound message: PUBACK or PUBREC (if still connected; a QoS 2 receipt
    /// is recorded either way so that a re-sent PUBLISH is answered without a second delivery).
    pub(crate) fn acknowledge(&mut self, token: AckToken, reason: ReasonCode) {
        let Some(reply) = self.inbound.acknowledge(token, reason) else {
            return;
        };
        if !self.connected {
            return;
        }
        let packet = match reply {
            Reply::PubAck(id, code) => Packet::PubAck(PubAck::new(id).reason_code(code)),
            Reply::PubRec(id, code) => Packet::PubRec(PubRec::new(id).reason_code(code)),
        };
        self.transmit.push_back(packet);
    }

    /// PUBACK: a QoS 1 delivery is complete and frees a slot [MQTT-4.3.2-3].
    pub(crate) fn on_puback(&mut self, now: Instant, id: PacketId, dropped: &mut impl FnMut(Outgoing, DropReason)) {
        if self.outbound.on_puback(id) {
            self.pump(now, dropped);
        }
    }

    /// PUBREC: answer with PUBREL [MQTT-4.3.3-4], or end the exchange if the peer refused the message
    /// [MQTT-4.4.0-2].
    pub(crate) fn on_pubrec(
        &mut self,
        now: Instant,
        id: PacketId,
        reason: ReasonCode,
        dropped: &mut impl FnMut(Outgoing, DropReason),
    ) {
        match self.outbound.on_pubrec(id, reason.as_u8() >= 0x80) {
            PubRecOutcome::SendPubRel => self.transmit.push_back(Packet::PubRel(PubRel::new(id))),
            PubRecOutcome::Refused => self.pump(now, dropped),
            PubRecOutcome::Unknown if reason.as_u8() < 0x80 => {
                let code = if self.version.is_v5() {
                    ReasonCode::PacketIdentifierNotFound
                } else {
                    ReasonCode::Success
                };
                self.transmit
                    .push_back(Packet::PubRel(PubRel::new(id).reason_code(code)));
            }
            PubRecOutcome::Unknown => {}
        }
    }

    /// PUBREL: always answered with PUBCOMP [MQTT-4.3.3-11]; v5 says 0x92 when the id was unknown.
    pub(crate) fn on_pubrel(&mut self, id: PacketId) {
        let known = self.inbound.on_pubrel(id);
        let code = if known || !self.version.is_v5() {
            ReasonCode::Success
        } else {
            ReasonCode::PacketIdentifierNotFound
        };
        self.transmit
            .push_back(Packet::PubComp(PubComp::new(id).reason_code(code)));
    }

    /// PUBCOMP: a QoS 2 delivery is complete and frees a slot [MQTT-4.3.3-5].
    pub(crate) fn on_pubcomp(&mut self, now: Instant, id: PacketId, dropped: &mut impl FnMut(Outgoing, DropReason)) {
        if self.outbound.on_pubcomp(id) {
            self.pump(now, dropped);
        }
    }
}
