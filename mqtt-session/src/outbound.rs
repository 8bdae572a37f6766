//! Outbound QoS machinery shared by both roles: packet id allocation, the in-flight table, flow control by the
//! peer's Receive Maximum and the bounded queue of messages waiting for a slot or a connection.

use std::collections::VecDeque;
use std::collections::hash_map::Entry;
use std::time::Instant;

use mqtt_codec::{PacketId, QoS};

use crate::packet_id_hash::IdMap;
use crate::thin::ThinDeque;
use mqtt_codec::Outgoing;

use crate::{DropReason, OverflowPolicy};

/// The state of one outbound QoS 1 or QoS 2 message that has been sent and not yet fully acknowledged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InflightPublish {
    /// QoS 1 PUBLISH sent, waiting for PUBACK. The message is kept for re-sending on resume.
    AwaitingPubAck(Outgoing),
    /// QoS 2 PUBLISH sent, waiting for PUBREC. The message is kept for re-sending on resume.
    AwaitingPubRec(Outgoing),
    /// QoS 2 PUBREL sent, waiting for PUBCOMP. The PUBLISH is never sent again [MQTT-4.3.3-6], so the message
    /// itself is no longer held.
    AwaitingPubComp,
}

#[derive(Debug, Clone)]
struct Slot {
    /// Order of first transmission; re-sends follow it [MQTT-4.6.0-1].
    seq: u64,
    state: InflightPublish,
    /// Sent (or re-sent) on the current connection, so it counts against the peer's Receive Maximum.
    sent: bool,
}

/// What the queue hands to the role next.
#[derive(Debug)]
pub(crate) enum Next {
    /// Send this message; `id` is `Some` for QoS 1 and 2: a free id the caller must [`Outbound::track`] the
    /// message under once it is sent (or drop, if it cannot be sent).
    Send { id: Option<PacketId>, message: Outgoing },
    /// This message left the queue without being sent.
    Dropped(Outgoing, DropReason),
}

/// What a re-send on resume consists of, in original order. Short-lived (built once per resume), so the size
/// difference between the variants does not matter.
#[derive(Debug)]
#[allow(clippy::large_enum_variant)]
pub(crate) enum Resend {
    /// Re-send the PUBLISH with DUP set and its original id [MQTT-4.4.0-1].
    Publish(PacketId, Outgoing),
    /// Re-send PUBREL for a message already released [MQTT-4.4.0-1].
    PubRel(PacketId),
}

/// Outcome of a PUBREC.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum PubRecOutcome {
    /// Send (or re-send) PUBREL for this id.
    SendPubRel,
    /// The peer refused the message with a reason code >= 0x80: the exchange is over [MQTT-4.4.0-2].
    Refused,
    /// No QoS 2 message is in flight under this id.
    Unknown,
}

/// Outbound flow of one session.
#[derive(Debug, Clone)]
pub(crate) struct Outbound {
    inflight: IdMap<Slot>,
    queue: ThinDeque<Outgoing>,
    next_id: u16,
    next_seq: u64,
    /// QoS 1/2 messages sent on this connection and not yet acknowledged, counted against the peer's Receive
    /// Maximum [MQTT-3.3.4-9].
    outstanding: u32,
    /// In-flight messages of a resumed session still to be re-sent, in original order, once the peer's Receive
    /// Maximum leaves room (a client may come back with a smaller one).
    unsent: ThinDeque<PacketId>,
    /// The peer's Receive Maximum (65,535 when it sent none).
    pub(crate) receive_maximum: u16,
    /// Sum of [`queued_size`] over `queue`.
    queued_bytes: usize,
    /// Most bytes `queue` may hold (see [`queued_size`]); `usize::MAX`: no limit.
    pub(crate) max_queued_bytes: usize,
}

/// What a queued message costs against [`Outbound::max_queued_bytes`]: its payload, topic and the variable-length
/// properties, the parts that grow with what publishers send (the fixed part of an `Outgoing` is the same for
/// every message and is bounded by the message count limit).
pub(crate) fn queued_size(m: &Outgoing) -> usize {
    let m = &m.message;
    m.payload.len() + m.topic.as_str().len() + m.properties.variable_len()
}

impl Default for Outbound {
    fn default() -> Self {
        Outbound {
            inflight: IdMap::default(),
            queue: ThinDeque::new(),
            next_id: 1,
            next_seq: 0,
            outstanding: 0,
            unsent: ThinDeque::new(),
            receive_maximum: u16::MAX,
            queued_bytes: 0,
            max_queued_bytes: usize::MAX,
        }
    }
}

impl Outbound {
    /// Forgets everything (Clean Start).
    pub(crate) fn clear(&mut self) {
        let (receive_maximum, max_queued_bytes) = (self.receive_maximum, self.max_queued_bytes);
        *self = Outbound {
            receive_maximum,
            max_queued_bytes,
            ..Outbound::default()
        };
    }

    /// Bytes the queue holds, by [`queued_size`].
    pub(crate) fn queued_bytes(&self) -> usize {
        self.queued_bytes
    }

    fn pop_front(&mut self) -> Option<Outgoing> {
        let m = self.queue.pop_front()?;
        self.queued_bytes = self.queued_bytes.saturating_sub(queued_size(&m));
        Some(m)
    }

    fn remove(&mut self, at: usize) -> Option<Outgoing> {
        let m = self.queue.remove(at)?;
        self.queued_bytes = self.queued_bytes.saturating_sub(queued_size(&m));
        Some(m)
    }

    /// Releases spare capacity.
    pub(crate) fn shrink_to_fit(&mut self) {
        self.inflight.shrink_to_fit();
        self.queue.shrink_to_fit();
        self.unsent.shrink_to_fit();
    }

    /// Number of QoS 1/2 messages in flight (including QoS 2 messages waiting for PUBCOMP).
    pub(crate) fn inflight_len(&self) -> usize {
        self.inflight.len()
    }

    /// Number of messages waiting to be sent.
    pub(crate) fn queued_len(&self) -> usize {
        self.queue.len()
    }

    /// Allocates an id not used by any in-flight message nor by `also_used` [MQTT-2.2.1-3] [MQTT-2.2.1-4].
    /// `None` only when all 65,535 ids are taken.
    pub(crate) fn allocate_id(&mut self, also_used: &impl Fn(PacketId) -> bool) -> Option<PacketId> {
        for _ in 0..u16::MAX {
            let candidate = PacketId::new(self.next_id);
            self.next_id = self.next_id.checked_add(1).unwrap_or(1);
            if let Some(id) = candidate
                && !self.inflight.contains_key(&id)
                && !also_used(id)
            {
                return Some(id);
            }
        }
        None
    }

    /// Adds a message to the back of the queue, enforcing the bounds: at most `limit` messages and
    /// [`Outbound::max_queued_bytes`] bytes. Anything dropped is passed to `dropped`.
    ///
    /// A full queue sheds QoS 0 messages first, whatever the policy: a QoS 0 message is never kept at the
    /// expense of a QoS 1/2 one, which the sender handed over with a promise of delivery. Among messages of
    /// the same class the policy decides. A message larger than the byte bound on its own is dropped at once.
    pub(crate) fn enqueue(
        &mut self,
        now: Instant,
        message: Outgoing,
        limit: usize,
        policy: OverflowPolicy,
        dropped: &mut impl FnMut(Outgoing, DropReason),
    ) {
        let size = queued_size(&message);
        let qos = message.message.qos;
        if size > self.max_queued_bytes {
            dropped(message, DropReason::QueueFull);
            return;
        }
        let fits = |q: &Outbound| q.queue.len() < limit && q.queued_bytes.saturating_add(size) <= q.max_queued_bytes;
        if !fits(self) {
            self.prune_expired(now, dropped);
        }
        while !fits(self) {
            let oldest_qos0 = self.queue.iter().position(|m| m.message.qos == QoS::AtMostOnce);
            match (qos, oldest_qos0, policy) {
                // A QoS 0 arrival never displaces a QoS 1/2 message, nor (DropNewest) an older QoS 0 one.
                (QoS::AtMostOnce, None, _) | (QoS::AtMostOnce, Some(_), OverflowPolicy::DropNewest) => {
                    dropped(message, DropReason::QueueFull);
                    return;
                }
                // Room is made by the oldest QoS 0 message.
                (_, Some(at), _) => {
                    if let Some(victim) = self.remove(at) {
                        dropped(victim, DropReason::QueueFull);
                    }
                }
                (_, None, OverflowPolicy::DropNewest) => {
                    dropped(message, DropReason::QueueFull);
                    return;
                }
                (_, None, OverflowPolicy::DropOldest) => match self.pop_front() {
                    Some(oldest) => dropped(oldest, DropReason::QueueFull),
                    // limit == 0: nothing can be queued.
                    None => {
                        dropped(message, DropReason::QueueFull);
                        return;
                    }
                },
            }
        }
        self.queued_bytes += size;
        self.queue.push_back(message);
    }

    /// Caps queued (never sent) messages at the peer's Maximum QoS and clears RETAIN when it has none (client
    /// role, [MQTT-3.2.2-11] [MQTT-3.2.2-14]); messages already in flight keep the QoS they were sent with.
    pub(crate) fn cap_queued(&mut self, max_qos: QoS, retain_available: bool) {
        for Outgoing { message: m, .. } in self.queue.iter_mut() {
            m.qos = m.qos.min(max_qos);
            m.retain &= retain_available;
        }
    }

    /// Removes every queued message that has expired [MQTT-3.3.2-5].
    /// Called on every arrival while the queue is full (a subscriber that cannot keep up), so it allocates only
    /// when something did expire.
    pub(crate) fn prune_expired(&mut self, now: Instant, dropped: &mut impl FnMut(Outgoing, DropReason)) {
        if !self.queue.iter().any(|m| m.message.is_expired(now)) {
            return;
        }
        let old = self.queue.take();
        let mut kept = VecDeque::with_capacity(old.len());
        for m in old {
            if m.message.is_expired(now) {
                self.queued_bytes = self.queued_bytes.saturating_sub(queued_size(&m));
                dropped(m, DropReason::Expired);
            } else {
                kept.push_back(m);
            }
        }
        self.queue = kept.into();
    }

    /// Whether a QoS 1/2 message could be sent right now under the peer's Receive Maximum [MQTT-3.3.4-7].
    pub(crate) fn has_quota(&self) -> bool {
        self.outstanding < u32::from(self.receive_maximum)
    }

    /// Whether the queue is empty (a QoS 0 message may then bypass it without reordering anything).
    pub(crate) fn queue_is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    /// Takes the next message that may be sent now, if any, with a fresh id for QoS 1/2 (not yet tracked);
    /// expired messages come out as [`Next::Dropped`] [MQTT-3.3.2-5].
    pub(crate) fn next(&mut self, now: Instant, also_used: &impl Fn(PacketId) -> bool) -> Option<Next> {
        let front = self.queue.front()?;
        if front.message.is_expired(now) {
            let m = self.pop_front()?;
            return Some(Next::Dropped(m, DropReason::Expired));
        }
        if front.message.qos == QoS::AtMostOnce {
            let message = self.pop_front()?;
            return Some(Next::Send { id: None, message });
        }
        if !self.has_quota() {
            return None;
        }
        let id = self.allocate_id(also_used)?;
        let message = self.pop_front()?;
        Some(Next::Send { id: Some(id), message })
    }

    /// Enters a QoS 1/2 message in flight under `id` (which the caller allocated).
    pub(crate) fn track(&mut self, id: PacketId, message: Outgoing) {
        let state = if message.message.qos == QoS::ExactlyOnce {
            InflightPublish::AwaitingPubRec(message)
        } else {
            InflightPublish::AwaitingPubAck(message)
        };
        let seq = self.next_seq;
        self.next_seq += 1;
        let old = self.inflight.insert(id, Slot { seq, state, sent: true });
        if !old.is_some_and(|slot| slot.sent) {
            self.outstanding += 1;
        }
    }

    /// Ends the exchange for `id` as if it had completed (used when a packet is too large to send,
    /// [MQTT-3.1.2-25]). Returns whether `id` was in flight.
    pub(crate) fn forget(&mut self, id: PacketId) -> bool {
        match self.inflight.remove(&id) {
            Some(slot) => {
                if slot.sent {
                    self.outstanding = self.outstanding.saturating_sub(1);
                }
                true
            }
            None => false,
        }
    }

    /// PUBACK received: the QoS 1 message is delivered. Returns whether it matched a QoS 1 message in flight.
    pub(crate) fn on_puback(&mut self, id: PacketId) -> bool {
        match self.inflight.get(&id) {
            Some(Slot {
                state: InflightPublish::AwaitingPubAck(_),
                ..
            }) => self.forget(id),
            _ => false,
        }
    }

    /// PUBREC received, `refused` when its reason code is 0x80 or above.
    pub(crate) fn on_pubrec(&mut self, id: PacketId, refused: bool) -> PubRecOutcome {
        let Some(Entry::Occupied(mut slot)) = self.inflight.as_mut().map(|m| m.entry(id)) else {
            return PubRecOutcome::Unknown;
        };
        match slot.get().state {
            InflightPublish::AwaitingPubRec(_) if refused => {
                if slot.remove().sent {
                    self.outstanding = self.outstanding.saturating_sub(1);
                }
                PubRecOutcome::Refused
            }
            // [MQTT-4.3.3-4]: PUBREL answers PUBREC; the message is released and never re-sent.
            InflightPublish::AwaitingPubRec(_) => {
                slot.get_mut().state = InflightPublish::AwaitingPubComp;
                PubRecOutcome::SendPubRel
            }
            // A repeated PUBREC: answer again with PUBREL.
            InflightPublish::AwaitingPubComp => PubRecOutcome::SendPubRel,
            InflightPublish::AwaitingPubAck(_) => PubRecOutcome::Unknown,
        }
    }

    /// PUBCOMP received. Returns whether it completed a QoS 2 message.
    pub(crate) fn on_pubcomp(&mut self, id: PacketId) -> bool {
        match self.inflight.get(&id) {
            Some(Slot {
                state: InflightPublish::AwaitingPubComp,
                ..
            }) => self.forget(id),
            _ => false,
        }
    }

    /// The connection is gone: nothing in flight has been sent on the next one yet.
    pub(crate) fn connection_closed(&mut self) {
        for slot in self.inflight.values_mut() {
            slot.sent = false;
        }
        self.outstanding = 0;
        self.unsent.clear();
    }

    /// What to re-send first when a session resumes, in the order it was first sent [MQTT-4.6.0-1]: every PUBREL
    /// (not a PUBLISH, so never held back [MQTT-3.3.4-10]) and as many PUBLISH re-sends as the peer's Receive
    /// Maximum allows; the rest wait in order for [`Outbound::next_resend`].
    pub(crate) fn resume(&mut self) -> Vec<Resend> {
        let mut slots: Vec<(PacketId, u64)> = self.inflight.iter().map(|(id, s)| (*id, s.seq)).collect();
        slots.sort_unstable_by_key(|(_, seq)| *seq);
        self.unsent.clear();
        let mut out = Vec::with_capacity(slots.len());
        for (id, _) in slots {
            let quota = self.has_quota();
            let Some(slot) = self.inflight.get_mut(&id) else {
                continue;
            };
            match &slot.state {
                InflightPublish::AwaitingPubComp => {
                    slot.sent = true;
                    self.outstanding += 1;
                    out.push(Resend::PubRel(id));
                }
                InflightPublish::AwaitingPubAck(m) | InflightPublish::AwaitingPubRec(m) if quota => {
                    let m = m.clone();
                    slot.sent = true;
                    self.outstanding += 1;
                    out.push(Resend::Publish(id, m));
                }
                InflightPublish::AwaitingPubAck(_) | InflightPublish::AwaitingPubRec(_) => self.unsent.push_back(id),
            }
        }
        out
    }

    /// The next deferred re-send, if the peer's Receive Maximum leaves room for it.
    pub(crate) fn next_resend(&mut self) -> Option<(PacketId, Outgoing)> {
        while self.has_quota() {
            let id = self.unsent.pop_front()?;
            let Some(slot) = self.inflight.get_mut(&id) else {
                continue;
            };
            if slot.sent {
                continue;
            }
            if let InflightPublish::AwaitingPubAck(m) | InflightPublish::AwaitingPubRec(m) = &slot.state {
                let m = m.clone();
                slot.sent = true;
                self.outstanding += 1;
                return Some((id, m));
            }
        }
        None
    }

    /// Empties the session's outbound state and returns the messages it had not delivered: PUBLISHes sent and
    /// not acknowledged (in send order; QoS 2 messages already released with PUBREL were delivered), then the
    /// queue.
    pub(crate) fn take_undelivered(&mut self) -> Vec<Outgoing> {
        let mut slots: Vec<(u64, InflightPublish)> = self.inflight.drain().map(|(_, s)| (s.seq, s.state)).collect();
        slots.sort_unstable_by_key(|(seq, _)| *seq);
        let mut out: Vec<Outgoing> = slots
            .into_iter()
            .filter_map(|(_, state)| match state {
                InflightPublish::AwaitingPubAck(m) | InflightPublish::AwaitingPubRec(m) => Some(m),
                InflightPublish::AwaitingPubComp => None,
            })
            .collect();
        out.extend(self.queue.drain_all());
        self.clear();
        out
    }

    /// The in-flight table in send order, for a snapshot.
    pub(crate) fn inflight_snapshot(&self) -> Vec<(PacketId, InflightPublish)> {
        let mut slots: Vec<(&PacketId, &Slot)> = self.inflight.iter().collect();
        slots.sort_unstable_by_key(|(_, s)| s.seq);
        slots.into_iter().map(|(id, s)| (*id, s.state.clone())).collect()
    }

    /// The queue, front first, for a snapshot.
    pub(crate) fn queue_snapshot(&self) -> Vec<Outgoing> {
        self.queue.iter().cloned().collect()
    }

    /// Rebuilds the flow from a snapshot.
    pub(crate) fn restore(&mut self, inflight: Vec<(PacketId, InflightPublish)>, queued: Vec<Outgoing>, next_id: u16) {
        self.clear();
        for (id, state) in inflight {
            let seq = self.next_seq;
            self.next_seq += 1;
            self.inflight.insert(
                id,
                Slot {
                    seq,
                    state,
                    sent: false,
                },
            );
        }
        self.queued_bytes = queued.iter().map(queued_size).sum();
        self.queue = VecDeque::from(queued).into();
        self.next_id = next_id.max(1);
    }

    /// The next packet id the allocator will try, for a snapshot.
    pub(crate) fn next_id(&self) -> u16 {
        self.next_id
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mqtt_codec::{Message, TopicName};

    fn msg(qos: QoS) -> Outgoing {
        Message::new(TopicName::from_static("t"), "p", qos).into()
    }

    fn none(_: PacketId) -> bool {
        false
    }

    fn send(out: &mut Outbound, now: Instant) -> PacketId {
        match out.next(now, &none) {
            Some(Next::Send { id: Some(id), message }) => {
                out.track(id, message);
                id
            }
            other => panic!("expected a send, got {other:?}"),
        }
    }

    #[test]
    fn ids_skip_those_in_flight_and_wrap_past_zero() {
        let now = Instant::now();
        let mut out = Outbound::default();
        let mut drop = |_: Outgoing, _: DropReason| panic!("nothing should drop");
        out.next_id = u16::MAX - 1;
        for _ in 0..3 {
            out.enqueue(now, msg(QoS::AtLeastOnce), 10, OverflowPolicy::DropNewest, &mut drop);
        }
        let a = send(&mut out, now);
        let b = send(&mut out, now);
        let c = send(&mut out, now);
        assert_eq!([a.get(), b.get(), c.get()], [u16::MAX - 1, u16::MAX, 1]);
        // Id 1 is still in flight: after a full cycle the allocator must skip it.
        out.next_id = 1;
        let d = out.allocate_id(&none).unwrap();
        assert_eq!(d.get(), 2);
        assert!(
            out.allocate_id(&|id: PacketId| id.get() == 3)
                .is_some_and(|id| id.get() == 4)
        );
    }

    #[test]
    fn receive_maximum_holds_messages_back_until_an_ack() {
        let now = Instant::now();
        let mut out = Outbound {
            receive_maximum: 2,
            ..Outbound::default()
        };
        let mut drop = |_: Outgoing, _: DropReason| panic!("nothing should drop");
        for _ in 0..3 {
            out.enqueue(now, msg(QoS::AtLeastOnce), 10, OverflowPolicy::DropNewest, &mut drop);
        }
        let a = send(&mut out, now);
        let _b = send(&mut out, now);
        assert!(out.next(now, &none).is_none());
        assert!(out.on_puback(a));
        assert!(!out.on_puback(a), "a second PUBACK matches nothing");
        send(&mut out, now);
    }

    #[test]
    fn overflow_policies() {
        let now = Instant::now();
        let mut dropped = Vec::new();
        let mut out = Outbound::default();
        for i in 0..3u8 {
            let m = Outgoing::from(Message::new(TopicName::from_static("t"), vec![i], QoS::AtLeastOnce));
            out.enqueue(now, m, 2, OverflowPolicy::DropOldest, &mut |m, r| {
                dropped.push((m.message.payload, r))
            });
        }
        assert_eq!(dropped, vec![(bytes::Bytes::from(vec![0u8]), DropReason::QueueFull)]);
        dropped.clear();
        let m = Outgoing::from(Message::new(TopicName::from_static("t"), vec![9], QoS::AtLeastOnce));
        out.enqueue(now, m, 2, OverflowPolicy::DropNewest, &mut |m, r| {
            dropped.push((m.message.payload, r))
        });
        assert_eq!(dropped, vec![(bytes::Bytes::from(vec![9u8]), DropReason::QueueFull)]);
        assert_eq!(out.queued_len(), 2);
    }

    #[test]
    fn a_full_queue_sheds_qos0_first() {
        let now = Instant::now();
        let m = |qos: QoS, tag: u8| Outgoing::from(Message::new(TopicName::from_static("t"), vec![tag], qos));
        for policy in [OverflowPolicy::DropNewest, OverflowPolicy::DropOldest] {
            let mut out = Outbound::default();
            let mut dropped = Vec::new();
            let mut sink = |m: Outgoing, r: DropReason| dropped.push((m.message.payload[0], r));
            for (qos, tag) in [(QoS::AtLeastOnce, 1), (QoS::AtMostOnce, 2), (QoS::AtMostOnce, 3)] {
                out.enqueue(now, m(qos, tag), 3, policy, &mut sink);
            }
            // QoS 1 arrivals push out the QoS 0 messages, oldest first.
            out.enqueue(now, m(QoS::ExactlyOnce, 4), 3, policy, &mut sink);
            out.enqueue(now, m(QoS::AtLeastOnce, 5), 3, policy, &mut sink);
            // A QoS 0 arrival to a queue of QoS 1/2 messages is the one dropped.
            out.enqueue(now, m(QoS::AtMostOnce, 6), 3, policy, &mut sink);
            // No QoS 0 left: the policy decides between QoS 1/2 messages.
            out.enqueue(now, m(QoS::AtLeastOnce, 7), 3, policy, &mut sink);
            let kept: Vec<u8> = out.queue_snapshot().iter().map(|m| m.message.payload[0]).collect();
            let full = DropReason::QueueFull;
            match policy {
                OverflowPolicy::DropNewest => {
                    assert_eq!(dropped, [(2, full), (3, full), (6, full), (7, full)]);
                    assert_eq!(kept, [1, 4, 5]);
                }
                OverflowPolicy::DropOldest => {
                    assert_eq!(dropped, [(2, full), (3, full), (6, full), (1, full)]);
                    assert_eq!(kept, [4, 5, 7]);
                }
            }
        }
    }

    #[test]
    fn the_byte_bound_sheds_qos0_then_follows_the_policy() {
        let now = Instant::now();
        // 10-byte payloads on a 1-byte topic: 11 bytes each; room for three.
        let m = |qos: QoS, tag: u8| Outgoing::from(Message::new(TopicName::from_static("t"), vec![tag; 10], qos));
        for policy in [OverflowPolicy::DropNewest, OverflowPolicy::DropOldest] {
            let mut out = Outbound {
                max_queued_bytes: 33,
                ..Outbound::default()
            };
            let mut dropped = Vec::new();
            let mut sink = |m: Outgoing, r: DropReason| dropped.push((m.message.payload[0], r));
            for (qos, tag) in [(QoS::AtMostOnce, 1), (QoS::AtLeastOnce, 2), (QoS::AtMostOnce, 3)] {
                out.enqueue(now, m(qos, tag), 100, policy, &mut sink);
            }
            assert_eq!(out.queued_bytes(), 33);
            // Needs 11 bytes: the oldest QoS 0 message goes.
            out.enqueue(now, m(QoS::AtLeastOnce, 4), 100, policy, &mut sink);
            // A message of 22 bytes needs two slots' worth: the remaining QoS 0 one and then, by the policy,
            // the oldest QoS 1 message or itself.
            let big = Outgoing::from(Message::new(
                TopicName::from_static("t"),
                vec![5u8; 21],
                QoS::AtLeastOnce,
            ));
            out.enqueue(now, big, 100, policy, &mut sink);
            // Larger than the whole bound: dropped at once, nothing else is touched.
            let huge = Outgoing::from(Message::new(
                TopicName::from_static("t"),
                vec![6u8; 40],
                QoS::AtLeastOnce,
            ));
            out.enqueue(now, huge, 100, policy, &mut sink);
            let kept: Vec<u8> = out.queue_snapshot().iter().map(|m| m.message.payload[0]).collect();
            let full = DropReason::QueueFull;
            match policy {
                OverflowPolicy::DropNewest => {
                    assert_eq!(dropped, [(1, full), (3, full), (5, full), (6, full)]);
                    assert_eq!(kept, [2, 4]);
                }
                OverflowPolicy::DropOldest => {
                    assert_eq!(dropped, [(1, full), (3, full), (2, full), (6, full)]);
                    assert_eq!(kept, [4, 5]);
                }
            }
            assert_eq!(
                out.queued_bytes(),
                out.queue_snapshot().iter().map(queued_size).sum::<usize>()
            );
            // Sending drains the count too.
            while let Some(Next::Send { id, message }) = out.next(now, &none) {
                if let Some(id) = id {
                    out.track(id, message);
                }
            }
            assert_eq!(out.queued_bytes(), 0);
        }
    }

    #[test]
    fn take_undelivered_returns_unacknowledged_then_queued_messages() {
        let now = Instant::now();
        let mut out = Outbound {
            receive_maximum: 3,
            ..Outbound::default()
        };
        let mut drop = |_: Outgoing, _: DropReason| panic!("nothing should drop");
        for (qos, tag) in [
            (QoS::AtLeastOnce, 1),
            (QoS::ExactlyOnce, 2),
            (QoS::ExactlyOnce, 3),
            (QoS::AtLeastOnce, 4),
            (QoS::AtMostOnce, 5),
        ] {
            let m = Outgoing::from(Message::new(TopicName::from_static("t"), vec![tag], qos));
            out.enqueue(now, m, 10, OverflowPolicy::DropNewest, &mut drop);
        }
        let _one = send(&mut out, now);
        let two = send(&mut out, now);
        let _three = send(&mut out, now);
        // 2 is released (PUBREL sent): delivered, so not returned.
        assert_eq!(out.on_pubrec(two, false), PubRecOutcome::SendPubRel);
        let tags: Vec<u8> = out.take_undelivered().iter().map(|m| m.message.payload[0]).collect();
        assert_eq!(tags, [1, 3, 4, 5]);
        assert_eq!((out.inflight_len(), out.queued_len()), (0, 0));
    }

    #[test]
    fn qos2_states_and_refusal() {
        let now = Instant::now();
        let mut out = Outbound::default();
        let mut drop = |_: Outgoing, _: DropReason| panic!("nothing should drop");
        out.enqueue(now, msg(QoS::ExactlyOnce), 10, OverflowPolicy::DropNewest, &mut drop);
        out.enqueue(now, msg(QoS::ExactlyOnce), 10, OverflowPolicy::DropNewest, &mut drop);
        let a = send(&mut out, now);
        let b = send(&mut out, now);
        assert!(!out.on_pubcomp(a), "PUBCOMP before PUBREC matches nothing");
        assert_eq!(out.on_pubrec(a, false), PubRecOutcome::SendPubRel);
        assert_eq!(out.on_pubrec(a, false), PubRecOutcome::SendPubRel);
        assert_eq!(out.on_pubrec(b, true), PubRecOutcome::Refused);
        assert_eq!(out.inflight_len(), 1);
        out.connection_closed();
        let resend = out.resume();
        assert!(matches!(resend.as_slice(), [Resend::PubRel(id)] if *id == a));
        assert!(out.on_pubcomp(a));
        assert_eq!(out.inflight_len(), 0);
    }
}
