//! [`ServerSession`]: the broker's side of one MQTT session, across all of the client's connections.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use mqtt_codec::{
    ByteStr, ConnAck, Connect, Disconnect, Packet, PacketId, ProtocolVersion, QoS, ReasonCode, SubAck, Subscribe,
    SubscriptionId, SubscriptionOptions, TopicFilter, UnsubAck, Unsubscribe, Will,
};

use crate::event::{Accept, CloseReason, Event, RequestedSubscription, SubscribeRequest};
use crate::flow::Flow;
use crate::packet_id_hash::IdMap;
use crate::{AckToken, DropReason, Error, Message, ServerConfig, SessionSnapshot, Subscription};

/// Session Expiry Interval value meaning "never".
const NEVER: u32 = u32::MAX;

/// Where the session is in its life.
#[derive(Debug, Clone, PartialEq, Eq)]
enum State {
    /// No connection (new, or between connections). Only CONNECT is accepted.
    Disconnected,
    /// CONNECT received, waiting for the broker's `accept` or `reject`.
    Deciding(Box<PendingConnect>),
    /// CONNACK sent.
    Connected,
    /// The session expired or ended; it accepts nothing more.
    Ended,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct PendingConnect {
    version: ProtocolVersion,
    clean_start: bool,
    keep_alive: u16,
    client_id: ByteStr,
    will: Option<Will>,
    session_expiry_interval: Option<u32>,
    receive_maximum: u16,
    maximum_packet_size: Option<std::num::NonZeroU32>,
    topic_alias_maximum: u16,
}

#[derive(Debug, Clone)]
struct PendingSubscribe {
    filters: Vec<(TopicFilter, SubscriptionOptions)>,
    id: Option<SubscriptionId>,
}

/// The server side of an MQTT session, as a sans-IO state machine.
///
/// Feed it decoded packets ([`handle_packet`](Self::handle_packet)), messages routed to the client
/// ([`publish`](Self::publish)) and the passage of time ([`handle_timeout`](Self::handle_timeout)); write what
/// [`poll_transmit`](Self::poll_transmit) returns to the socket, act on [`poll_event`](Self::poll_event), and call
/// `handle_timeout` when [`poll_timeout`](Self::poll_timeout) says. It never reads a clock, blocks or allocates a
/// socket; every method takes the current time as `now`.
///
/// One `ServerSession` lives as long as the MQTT session, not the connection: keep it (or its
/// [`snapshot`](Self::snapshot)) keyed by client id, and feed the CONNECT of a reconnecting client to the same
/// object so that it resumes.
#[derive(Debug, Clone)]
pub struct ServerSession {
    config: ServerConfig,
    state: State,
    client_id: ByteStr,
    flow: Flow,
    /// Whether there is session state a CONNECT with Clean Start 0 resumes (drives Session Present).
    has_session: bool,
    subscriptions: Vec<Subscription>,
    pending_subscribes: IdMap<PendingSubscribe>,
    session_expiry_interval: u32,
    /// CONNECT asked for Session Expiry 0, so DISCONNECT may not raise it (v5 3.14.2.2.2).
    connect_expiry_was_zero: bool,
    keep_alive_timeout: Option<Duration>,
    last_received: Option<Instant>,
    /// The will of the current connection.
    will: Option<Will>,
    /// A will waiting for its Will Delay Interval after the connection closed.
    pending_will: Option<(Instant, Message)>,
    /// When the session expires, while disconnected.
    session_deadline: Option<Instant>,
    disconnected_at: Option<Instant>,
    /// Packets that arrived between CONNECT and the broker's decision.
    early: VecDeque<Packet>,
    events: VecDeque<Event>,
}

/// Pushes dropped messages as events (a free function so it borrows only the event queue).
fn sink(events: &mut VecDeque<Event>) -> impl FnMut(Message, DropReason) + '_ {
    move |message, reason| events.push_back(Event::Dropped { message, reason })
}

fn will_message(will: Will, now: Instant) -> Message {
    let mut properties = mqtt_codec::properties::PublishProperties {
        payload_format_indicator: will.properties.payload_format_indicator,
        content_type: will.properties.content_type,
        response_topic: will.properties.response_topic,
        correlation_data: will.properties.correlation_data,
        user_properties: will.properties.user_properties,
        ..Default::default()
    };
    properties.message_expiry_interval = None;
    let mut message = Message {
        topic: will.topic,
        payload: will.payload,
        qos: will.qos,
        retain: will.retain,
        expires_at: None,
        properties,
    };
    if let Some(secs) = will.properties.message_expiry_interval {
        message = message.with_expiry_interval(now, secs);
    }
    message
}

impl ServerSession {
    /// A session with no state, waiting for its first CONNECT.
    pub fn new(config: ServerConfig) -> Self {
        let flow = Flow::new(
            config.max_queued_messages,
            config.overflow_policy,
            config.queue_qos0_while_offline,
        );
        ServerSession {
            config,
            state: State::Disconnected,
            client_id: ByteStr::new(),
            flow,
            has_session: false,
            subscriptions: Vec::new(),
            pending_subscribes: IdMap::default(),
            session_expiry_interval: 0,
            connect_expiry_was_zero: true,
            keep_alive_timeout: None,
            last_received: None,
            will: None,
            pending_will: None,
            session_deadline: None,
            disconnected_at: None,
            early: VecDeque::new(),
            events: VecDeque::new(),
        }
    }

    /// Rebuilds a disconnected session from a snapshot; the next CONNECT with Clean Start 0 resumes it with
    /// Session Present = 1 [MQTT-3.2.2-3]. A snapshot taken while connected counts as disconnected at `now`, so
    /// its expiry runs from there.
    pub fn restore(config: ServerConfig, snapshot: SessionSnapshot, now: Instant) -> Result<Self, Error> {
        let mut session = ServerSession::new(config);
        session.client_id = ByteStr::try_from(snapshot.client_id)?;
        session.subscriptions = snapshot.subscriptions;
        session
            .flow
            .outbound
            .restore(snapshot.inflight, snapshot.queued, snapshot.next_packet_id);
        session.flow.inbound.restore(snapshot.inbound_qos2);
        session.session_expiry_interval = snapshot.session_expiry_interval;
        session.connect_expiry_was_zero = snapshot.session_expiry_interval == 0;
        let disconnected_at = snapshot.disconnected_at.unwrap_or(now);
        session.disconnected_at = Some(disconnected_at);
        session.session_deadline = session.expiry_deadline(disconnected_at);
        session.has_session = true;
        Ok(session)
    }

    /// Everything a later [`restore`](Self::restore) needs. Take it when the connection closes (or more often,
    /// for stronger durability) and save it in a [`crate::SessionStore`].
    pub fn snapshot(&self) -> SessionSnapshot {
        SessionSnapshot {
            client_id: self.client_id.as_str().to_owned(),
            subscriptions: self.subscriptions.clone(),
            inflight: self.flow.outbound.inflight_snapshot(),
            queued: self.flow.outbound.queue_snapshot(),
            inbound_qos2: self.flow.inbound.qos2_snapshot(),
            next_packet_id: self.flow.outbound.next_id(),
            session_expiry_interval: self.session_expiry_interval,
            disconnected_at: self.disconnected_at,
        }
    }

    // ---------------------------------------------------------------- outputs

    /// The next packet to write to the client's connection.
    pub fn poll_transmit(&mut self) -> Option<Packet> {
        self.flow.transmit.pop_front()
    }

    /// The next event for the broker.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// When [`handle_timeout`](Self::handle_timeout) must be called next, if ever.
    pub fn poll_timeout(&self) -> Option<Instant> {
        match self.state {
            State::Connected => self
                .keep_alive_timeout
                .zip(self.last_received)
                .and_then(|(timeout, last)| last.checked_add(timeout)),
            State::Disconnected => match (self.pending_will.as_ref().map(|(at, _)| *at), self.session_deadline) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            },
            State::Deciding(_) | State::Ended => None,
        }
    }

    /// Releases the spare capacity the session's tables and buffers kept from busier moments. Cheap; call it
    /// for sessions that have gone quiet. Disconnected sessions shrink by themselves.
    pub fn shrink_to_fit(&mut self) {
        self.flow.shrink_to_fit();
        self.events.shrink_to_fit();
        self.early.shrink_to_fit();
        self.pending_subscribes.shrink_to_fit();
        self.subscriptions.shrink_to_fit();
    }

    // ---------------------------------------------------------------- accessors

    /// The client identifier (empty until a CONNECT is accepted).
    pub fn client_id(&self) -> &str {
        self.client_id.as_str()
    }

    /// Whether a connection is established (CONNACK sent).
    pub fn is_connected(&self) -> bool {
        self.state == State::Connected
    }

    /// Whether the session has ended; the broker can drop it.
    pub fn is_ended(&self) -> bool {
        self.state == State::Ended
    }

    /// Protocol version of the current (or last) connection, for the codec.
    pub fn protocol_version(&self) -> ProtocolVersion {
        self.flow.version
    }

    /// The subscriptions of the session.
    pub fn subscriptions(&self) -> &[Subscription] {
        &self.subscriptions
    }

    /// Outbound QoS 1/2 messages sent and not yet completed.
    pub fn inflight_len(&self) -> usize {
        self.flow.outbound.inflight_len()
    }

    /// Outbound messages waiting for a connection or for the client's Receive Maximum.
    pub fn queued_len(&self) -> usize {
        self.flow.outbound.queued_len()
    }

    /// The Session Expiry Interval in force, in seconds (`u32::MAX`: never).
    pub fn session_expiry_interval(&self) -> u32 {
        self.session_expiry_interval
    }

    // ---------------------------------------------------------------- inputs

    /// A packet decoded from the client's connection.
    ///
    /// A protocol violation closes the connection (DISCONNECT with the error's reason code for v5, then
    /// [`Event::Closed`]) and is also returned, so the caller may log it; it never panics.
    pub fn handle_packet(&mut self, now: Instant, packet: Packet) -> Result<(), Error> {
        match &mut self.state {
            State::Ended => Err(Error::NotConnected),
            State::Disconnected => match packet {
                Packet::Connect(connect) => {
                    self.on_connect(now, *connect);
                    Ok(())
                }
                _ => {
                    // No CONNACK yet, so no DISCONNECT either [MQTT-3.14.0-1].
                    self.events
                        .push_back(Event::Closed(CloseReason::Server(ReasonCode::ProtocolError)));
                    Err(Error::FirstPacketNotConnect)
                }
            },
            State::Deciding(_) => {
                // Clients may send packets right after CONNECT; they wait for the decision. The bound keeps a
                // client from filling memory before it is even authenticated.
                if self.early.len() >= usize::from(self.config.receive_maximum.get()) + 16 {
                    let err = Error::TooManyEarlyPackets;
                    self.reject_pending(now, err.reason_code());
                    return Err(err);
                }
                self.early.push_back(packet);
                Ok(())
            }
            State::Connected => {
                self.last_received = Some(now);
                match self.dispatch(now, packet) {
                    Ok(()) => Ok(()),
                    Err(err) => {
                        self.fail(now, &err);
                        Err(err)
                    }
                }
            }
        }
    }

    /// The codec rejected a frame from this client (malformed, too large, ...): close with its reason code.
    pub fn handle_decode_error(&mut self, now: Instant, error: &mqtt_codec::Error) {
        let err = Error::Codec(error.clone());
        match self.state {
            State::Connected => self.fail(now, &err),
            State::Deciding(_) => self.reject_pending(now, err.reason_code()),
            State::Disconnected => self
                .events
                .push_back(Event::Closed(CloseReason::Server(err.reason_code()))),
            State::Ended => {}
        }
    }

    /// The transport is gone without a DISCONNECT: the will is due (after its delay) [MQTT-3.1.2-8].
    pub fn connection_lost(&mut self, now: Instant) {
        match self.state {
            State::Connected => self.connection_closed(now, CloseReason::ConnectionLost, true),
            State::Deciding(_) => {
                self.early.clear();
                self.state = State::Disconnected;
                self.events.push_back(Event::Closed(CloseReason::ConnectionLost));
            }
            State::Disconnected | State::Ended => {}
        }
    }

    /// Closes the connection from the server side with `reason` (v5 DISCONNECT, e.g. 0x8B Server shutting down or
    /// 0x98 Administrative action). The will is published as for any close without a normal DISCONNECT.
    pub fn close(&mut self, now: Instant, reason: ReasonCode) {
        match self.state {
            State::Connected => {
                if self.flow.version.is_v5() {
                    self.flow
                        .transmit
                        .push_back(Packet::Disconnect(Disconnect::new(reason)));
                }
                self.connection_closed(now, CloseReason::Server(reason), true);
            }
            State::Deciding(_) => self.reject_pending(now, reason),
            State::Disconnected | State::Ended => {}
        }
    }

    /// Another connection is taking this session over: DISCONNECT 0x8E to the current one [MQTT-3.1.4-3].
    /// Drain [`poll_transmit`](Self::poll_transmit) to the old connection before feeding the new CONNECT.
    pub fn take_over(&mut self, now: Instant) {
        self.close(now, ReasonCode::SessionTakenOver);
    }

    /// Calls due timers: keep-alive [MQTT-3.1.2-22], will delay [MQTT-3.1.2-8] and session expiry
    /// [MQTT-4.1.0-2].
    pub fn handle_timeout(&mut self, now: Instant) {
        match self.state {
            State::Connected => {
                if let Some(deadline) = self.poll_timeout()
                    && now >= deadline
                {
                    self.fail(now, &Error::KeepAliveTimeout);
                }
            }
            State::Disconnected => {
                if let Some((at, _)) = &self.pending_will
                    && now >= *at
                    && let Some((_, will)) = self.pending_will.take()
                {
                    self.events.push_back(Event::Will(will));
                }
                if self.session_deadline.is_some_and(|at| now >= at) {
                    self.end();
                }
            }
            State::Deciding(_) | State::Ended => {}
        }
    }

    /// A message the broker routed to this client. It is sent at once when possible, otherwise queued (bounded,
    /// see [`crate::OverflowPolicy`]); whatever is dropped comes back as [`Event::Dropped`]. The broker sets
    /// the QoS (the minimum of the published QoS and the granted one) and the subscription identifiers.
    pub fn publish(&mut self, now: Instant, message: Message) {
        if self.state == State::Ended {
            self.events.push_back(Event::Dropped {
                message,
                reason: DropReason::Offline,
            });
            return;
        }
        self.flow.submit(now, message, &mut sink(&mut self.events));
    }

    /// The broker took responsibility for an inbound QoS 1/2 message: send PUBACK or PUBREC with `reason`
    /// [MQTT-4.3.2-4] [MQTT-4.3.3-8]. Stale tokens (from an earlier connection, for QoS 1) are ignored.
    pub fn acknowledge(&mut self, token: AckToken, reason: ReasonCode) {
        self.flow.acknowledge(token, reason);
    }

    /// The broker's answer to [`Event::Subscribe`]: one reason code per filter, in order [MQTT-3.9.3-1]
    /// (`GrantedQoS0/1/2` or an error). Granted filters become session subscriptions, replacing any with the
    /// same filter [MQTT-3.8.4-3]; SUBACK is sent with the same packet id [MQTT-3.8.4-2].
    pub fn acknowledge_subscribe(&mut self, packet_id: PacketId, reasons: Vec<ReasonCode>) -> Result<(), Error> {
        let Some(pending) = self.pending_subscribes.remove(&packet_id) else {
            return Err(Error::UnknownSubscribe(packet_id.get()));
        };
        if pending.filters.len() != reasons.len() {
            let expected = pending.filters.len();
            self.pending_subscribes.insert(packet_id, pending);
            return Err(Error::ReasonCountMismatch {
                expected,
                given: reasons.len(),
            });
        }
        for ((filter, mut options), code) in pending.filters.into_iter().zip(&reasons) {
            let Ok(granted) = QoS::from_u8(code.as_u8()) else {
                continue;
            };
            options.qos = granted;
            let sub = Subscription {
                filter,
                options,
                id: pending.id,
            };
            match self
                .subscriptions
                .iter_mut()
                .find(|s| s.filter.as_str() == sub.filter.as_str())
            {
                Some(existing) => *existing = sub,
                None => self.subscriptions.push(sub),
            }
        }
        if self.state == State::Connected {
            self.flow
                .transmit
                .push_back(Packet::SubAck(SubAck::new(packet_id, reasons)));
        }
        Ok(())
    }

    /// Accepts the pending CONNECT: CONNACK, then the re-sends of a resumed session.
    pub fn accept(&mut self, now: Instant, accept: Accept) -> Result<(), Error> {
        let State::Deciding(pending) = &self.state else {
            return Err(Error::NoPendingConnect);
        };
        let assigned = if pending.client_id.is_empty() {
            Some(accept.assigned_client_id.ok_or(Error::MissingAssignedClientId)?)
        } else {
            None
        };
        let State::Deciding(pending) = std::mem::replace(&mut self.state, State::Connected) else {
            return Err(Error::NoPendingConnect);
        };
        let p = *pending;
        let v5 = p.version.is_v5();

        // [MQTT-3.1.2-4]: Clean Start discards the session; [MQTT-3.2.2-2] [MQTT-3.2.2-3]: Session Present.
        if p.clean_start {
            self.flow.clear_session();
            self.subscriptions.clear();
            self.has_session = false;
        }
        let session_present = !p.clean_start && self.has_session;
        self.has_session = true;
        // A decoded client id is a view of the CONNECT frame; an owned copy keeps the session from pinning that
        // frame (password included) for as long as it lives.
        let client_id = assigned.clone().unwrap_or(p.client_id);
        self.client_id = ByteStr::try_from(client_id.as_str().to_owned()).unwrap_or(client_id);

        let requested_expiry = if v5 {
            p.session_expiry_interval.unwrap_or(0)
        } else if p.clean_start {
            0
        } else {
            NEVER
        };
        self.session_expiry_interval = requested_expiry.min(self.config.max_session_expiry_interval);
        self.connect_expiry_was_zero = requested_expiry == 0;

        // Keep alive, possibly overridden by Server Keep Alive (v5 only: a 3.1.1 client cannot be told).
        let mut keep_alive = p.keep_alive;
        let mut server_keep_alive = None;
        if v5
            && let Some(max) = self.config.max_keep_alive
            && (keep_alive == 0 || keep_alive > max.get())
        {
            keep_alive = max.get();
            server_keep_alive = Some(keep_alive);
        }
        // [MQTT-3.1.2-22]: one and a half times the keep alive.
        self.keep_alive_timeout = (keep_alive > 0).then(|| Duration::from_millis(u64::from(keep_alive) * 1500));
        self.last_received = Some(now);

        // A new connection cancels a delayed will of the previous one [MQTT-3.1.3-9].
        self.pending_will = None;
        self.session_deadline = None;
        self.disconnected_at = None;
        self.will = p.will;

        let alias_max = if self.config.assign_topic_aliases {
            p.topic_alias_maximum
        } else {
            0
        };
        self.flow
            .open(p.version, p.receive_maximum, p.maximum_packet_size, alias_max);
        self.flow.inbound.receive_maximum = self.config.receive_maximum.get();
        self.flow.inbound.topic_alias_maximum = if v5 { self.config.topic_alias_maximum } else { 0 };

        let mut props = accept.properties;
        if v5 {
            if self.config.receive_maximum.get() != u16::MAX {
                props.receive_maximum = Some(self.config.receive_maximum);
            }
            if self.config.maximum_qos != QoS::ExactlyOnce {
                props.maximum_qos = Some(self.config.maximum_qos);
            }
            if !self.config.retain_available {
                props.retain_available = Some(false);
            }
            props.maximum_packet_size = self.config.maximum_packet_size;
            if self.config.topic_alias_maximum > 0 {
                props.topic_alias_maximum = Some(self.config.topic_alias_maximum);
            }
            if server_keep_alive.is_some() {
                props.server_keep_alive = server_keep_alive;
            }
            if self.session_expiry_interval != requested_expiry {
                props.session_expiry_interval = Some(self.session_expiry_interval);
            }
            props.assigned_client_identifier = assigned;
        } else {
            props = Default::default();
        }
        self.flow.transmit.push_back(Packet::ConnAck(Box::new(
            ConnAck::new(ReasonCode::Success, session_present).properties(props),
        )));

        if session_present {
            self.flow.resume(now, &mut sink(&mut self.events));
        } else {
            self.flow.pump(now, &mut sink(&mut self.events));
        }

        // Packets the client sent before CONNACK, in order. An error among them closes the connection (and
        // has been reported as an event), which ends the replay.
        while self.state == State::Connected
            && let Some(packet) = self.early.pop_front()
        {
            let _ = self.handle_packet(now, packet);
        }
        self.early.clear();
        Ok(())
    }

    /// Refuses the pending CONNECT with `reason` (e.g. 0x86 Bad User Name or Password, 0x87 Not authorized).
    /// The session's stored state, if any, is untouched.
    pub fn reject(&mut self, now: Instant, reason: ReasonCode) -> Result<(), Error> {
        if !matches!(self.state, State::Deciding(_)) {
            return Err(Error::NoPendingConnect);
        }
        self.reject_pending(now, reason);
        Ok(())
    }

    // ---------------------------------------------------------------- internals

    fn on_connect(&mut self, _now: Instant, connect: Connect) {
        let v5 = connect.protocol_version.is_v5();
        self.flow.version = connect.protocol_version;
        self.flow.transmit.clear();
        // 3.1.1: an empty client id needs Clean Session 1 ([MQTT-3.1.3-8] of 3.1.1, return code 0x02).
        let refusal = if !v5 && connect.client_id.is_empty() && !connect.clean_start {
            Some(ReasonCode::ClientIdentifierNotValid)
        } else if connect.properties.authentication_method.is_some() {
            // Enhanced authentication (AUTH exchanges, v5 4.12) is not offered: say so up front.
            Some(ReasonCode::BadAuthenticationMethod)
        } else if let Some(will) = &connect.will {
            // [MQTT-3.2.2-12] [MQTT-3.2.2-13]: a will we could not honour refuses the connection.
            if will.qos > self.config.maximum_qos {
                Some(ReasonCode::QoSNotSupported)
            } else if will.retain && !self.config.retain_available {
                Some(ReasonCode::RetainNotSupported)
            } else {
                None
            }
        } else {
            None
        };
        if let Some(code) = refusal {
            self.send_refusal(code);
            return;
        }
        let props = &connect.properties;
        let pending = PendingConnect {
            version: connect.protocol_version,
            clean_start: connect.clean_start,
            keep_alive: connect.keep_alive,
            client_id: connect.client_id.clone(),
            will: connect.will.clone(),
            session_expiry_interval: props.session_expiry_interval,
            receive_maximum: props.receive_maximum.map_or(u16::MAX, |n| n.get()),
            maximum_packet_size: props.maximum_packet_size,
            topic_alias_maximum: props.topic_alias_maximum.unwrap_or(0),
        };
        self.state = State::Deciding(Box::new(pending));
        self.events.push_back(Event::Connect(Box::new(connect)));
    }

    fn send_refusal(&mut self, code: ReasonCode) {
        // [MQTT-3.2.2-6]: Session Present is 0 on a refusal; [MQTT-3.2.2-7]: then the connection closes.
        self.flow
            .transmit
            .push_back(Packet::ConnAck(Box::new(ConnAck::new(code, false))));
        self.state = State::Disconnected;
        self.events.push_back(Event::Closed(CloseReason::Rejected(code)));
    }

    fn reject_pending(&mut self, _now: Instant, code: ReasonCode) {
        self.early.clear();
        self.send_refusal(code);
    }

    fn dispatch(&mut self, now: Instant, packet: Packet) -> Result<(), Error> {
        match packet {
            Packet::Connect(_) => Err(Error::SecondConnect),
            Packet::Publish(publish) => {
                if self.flow.version.is_v5() {
                    if publish.qos > self.config.maximum_qos {
                        return Err(Error::QoSNotSupported { qos: publish.qos });
                    }
                    if publish.retain && !self.config.retain_available {
                        return Err(Error::RetainNotSupported);
                    }
                }
                if !publish.properties.subscription_identifiers.is_empty() {
                    return Err(Error::SubscriptionIdFromClient);
                }
                if let Some((message, ack)) = self.flow.on_publish(now, publish)? {
                    self.events.push_back(Event::Publish { message, ack });
                }
                Ok(())
            }
            Packet::PubAck(ack) => {
                self.flow.on_puback(now, ack.packet_id, &mut sink(&mut self.events));
                Ok(())
            }
            Packet::PubRec(rec) => {
                self.flow
                    .on_pubrec(now, rec.packet_id, rec.reason_code, &mut sink(&mut self.events));
                Ok(())
            }
            Packet::PubRel(rel) => {
                self.flow.on_pubrel(rel.packet_id);
                Ok(())
            }
            Packet::PubComp(comp) => {
                self.flow.on_pubcomp(now, comp.packet_id, &mut sink(&mut self.events));
                Ok(())
            }
            Packet::Subscribe(subscribe) => {
                if self.flow.version.is_v5()
                    && subscribe
                        .filters
                        .iter()
                        .any(|(filter, options)| options.no_local && filter.is_shared())
                {
                    return Err(Error::NoLocalOnSharedSubscription);
                }
                self.on_subscribe(subscribe);
                Ok(())
            }
            Packet::Unsubscribe(unsubscribe) => {
                self.on_unsubscribe(unsubscribe);
                Ok(())
            }
            Packet::PingReq => {
                // [MQTT-3.12.4-1]
                self.flow.transmit.push_back(Packet::PingResp);
                Ok(())
            }
            Packet::Disconnect(disconnect) => self.on_disconnect(now, disconnect),
            Packet::ConnAck(_) => Err(Error::UnexpectedPacket { packet: "CONNACK" }),
            Packet::SubAck(_) => Err(Error::UnexpectedPacket { packet: "SUBACK" }),
            Packet::UnsubAck(_) => Err(Error::UnexpectedPacket { packet: "UNSUBACK" }),
            Packet::PingResp => Err(Error::UnexpectedPacket { packet: "PINGRESP" }),
            // Enhanced authentication is not offered, so AUTH is out of place (v5 4.12).
            Packet::Auth(_) => Err(Error::UnexpectedPacket { packet: "AUTH" }),
        }
    }

    fn on_subscribe(&mut self, subscribe: Subscribe) {
        let Subscribe {
            packet_id,
            filters,
            properties,
        } = subscribe;
        let requested = filters
            .iter()
            .map(|(filter, options)| RequestedSubscription {
                filter: filter.clone(),
                options: *options,
                existed: self.subscriptions.iter().any(|s| s.filter.as_str() == filter.as_str()),
            })
            .collect();
        self.pending_subscribes.insert(
            packet_id,
            PendingSubscribe {
                filters,
                id: properties.subscription_identifier,
            },
        );
        self.events.push_back(Event::Subscribe(SubscribeRequest {
            packet_id,
            filters: requested,
            subscription_id: properties.subscription_identifier,
            user_properties: properties.user_properties,
        }));
    }

    fn on_unsubscribe(&mut self, unsubscribe: Unsubscribe) {
        let mut reasons = Vec::with_capacity(unsubscribe.filters.len());
        let mut removed = Vec::new();
        for filter in unsubscribe.filters {
            // [MQTT-3.10.4-1]: compared character by character.
            match self
                .subscriptions
                .iter()
                .position(|s| s.filter.as_str() == filter.as_str())
            {
                Some(index) => {
                    self.subscriptions.remove(index);
                    removed.push(filter);
                    reasons.push(ReasonCode::Success);
                }
                None => reasons.push(ReasonCode::NoSubscriptionExisted),
            }
        }
        // [MQTT-3.10.4-4] [MQTT-3.10.4-5]: UNSUBACK with the same id, even when nothing was removed.
        self.flow
            .transmit
            .push_back(Packet::UnsubAck(UnsubAck::new(unsubscribe.packet_id, reasons)));
        if !removed.is_empty() {
            self.events.push_back(Event::Unsubscribe { filters: removed });
        }
    }

    fn on_disconnect(&mut self, now: Instant, disconnect: Disconnect) -> Result<(), Error> {
        let reason = disconnect.reason_code;
        if self.flow.version.is_v5()
            && let Some(expiry) = disconnect.properties.session_expiry_interval
        {
            if self.connect_expiry_was_zero && expiry != 0 {
                return Err(Error::SessionExpiryAfterZero);
            }
            self.session_expiry_interval = expiry.min(self.config.max_session_expiry_interval);
        }
        // [MQTT-3.14.4-3]: a normal disconnection discards the will; v5 0x04 (and any error code) keeps it.
        let publish_will = self.flow.version.is_v5() && reason != ReasonCode::NORMAL_DISCONNECTION;
        self.connection_closed(now, CloseReason::ClientDisconnect(reason), publish_will);
        Ok(())
    }

    /// A protocol violation on a live connection: DISCONNECT with its reason code (v5), then close.
    fn fail(&mut self, now: Instant, err: &Error) {
        if self.state != State::Connected {
            return;
        }
        let code = err.reason_code();
        if self.flow.version.is_v5() {
            self.flow.transmit.push_back(Packet::Disconnect(Disconnect::new(code)));
        }
        self.connection_closed(now, CloseReason::Server(code), true);
    }

    fn expiry_deadline(&self, from: Instant) -> Option<Instant> {
        if self.session_expiry_interval == NEVER {
            None
        } else {
            from.checked_add(Duration::from_secs(u64::from(self.session_expiry_interval)))
        }
    }

    fn connection_closed(&mut self, now: Instant, reason: CloseReason, publish_will: bool) {
        self.flow.close();
        self.pending_subscribes.clear();
        self.early.clear();
        self.state = State::Disconnected;
        self.disconnected_at = Some(now);
        self.last_received = None;
        self.events.push_back(Event::Closed(reason));
        let will = self.will.take();
        if publish_will && let Some(will) = will {
            let delay = if self.flow.version.is_v5() {
                will.properties.will_delay_interval.unwrap_or(0)
            } else {
                0
            };
            let message = will_message(will, now);
            if delay == 0 {
                self.events.push_back(Event::Will(message));
            } else {
                let due = now.checked_add(Duration::from_secs(u64::from(delay))).unwrap_or(now);
                self.pending_will = Some((due, message));
            }
        }
        self.early.shrink_to_fit();
        self.flow.shrink_to_fit();
        // [MQTT-3.1.2-23]: the state is kept only while the Session Expiry Interval runs.
        if self.session_expiry_interval == 0 {
            self.end();
        } else {
            self.session_deadline = self.expiry_deadline(now);
        }
    }

    /// The session ends: a will still waiting for its delay goes out now [MQTT-3.1.2-8], the state is discarded
    /// [MQTT-4.1.0-2].
    fn end(&mut self) {
        if let Some((_, will)) = self.pending_will.take() {
            self.events.push_back(Event::Will(will));
        }
        self.flow.clear_session();
        self.subscriptions.clear();
        self.has_session = false;
        self.session_deadline = None;
        self.state = State::Ended;
        self.events.push_back(Event::SessionEnded);
    }
}
