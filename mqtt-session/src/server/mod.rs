//! [`ServerSession`]: the broker's side of one MQTT session, across all of the client's connections.
//!
//! This file holds the state, the outputs and the packet dispatch; `connect` the CONNECT decision, `subscriptions`
//! SUBSCRIBE/UNSUBSCRIBE, `lifecycle` disconnects, keep alive, wills and expiry.

use std::sync::Arc;
use std::time::{Duration, Instant};

use mqtt_codec::{
    ByteStr, Packet, ProtocolVersion, ReasonCode, SubscriptionId, SubscriptionOptions, TopicFilter, Will,
};

mod connect;
mod lifecycle;
mod subscriptions;

use crate::event::{CloseReason, Event};
use crate::flow::Flow;
use crate::packet_id_hash::IdMap;
use crate::thin::ThinDeque;
use crate::{AckToken, DropReason, Error, Outgoing, ServerConfig, SessionSnapshot, Subscription};

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
    /// Packets that arrived between CONNECT and the broker's decision (here, not in the session: they exist
    /// only while a decision is pending, and the session's size is paid by every idle connection).
    early: ThinDeque<Packet>,
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
    /// Shared: a broker gives every session the same one.
    config: Arc<ServerConfig>,
    state: State,
    /// `None` until a CONNECT is accepted (or a restore). Shared: a broker that keeps the same id can hand it
    /// over ([`share_client_id`](Self::share_client_id)) so that both use one allocation.
    client_id: Option<Arc<str>>,
    flow: Flow,
    /// Whether there is session state a CONNECT with Clean Start 0 resumes (drives Session Present).
    has_session: bool,
    subscriptions: Vec<Subscription>,
    pending_subscribes: IdMap<PendingSubscribe>,
    session_expiry_interval: u32,
    /// CONNECT asked for Session Expiry 0, so DISCONNECT may not raise it (v5 3.14.2.2.2).
    connect_expiry_was_zero: bool,
    /// One and a half times the keep alive in milliseconds [MQTT-3.1.2-22]; 0: no keep-alive timeout.
    keep_alive_ms: u32,
    last_received: Option<Instant>,
    /// The will of the current connection.
    /// Boxed, as is `pending_will`: most connections have no will, and an idle session's size is what a
    /// broker pays per connection.
    will: Option<Box<Will>>,
    /// The clocks of a session between connections; `None` until the first connection closes (or a restore),
    /// and again once a connection is accepted.
    offline: Option<Box<Offline>>,
    events: ThinDeque<Event>,
}

/// What a session keeps only between connections: boxed, so an idle connected session (what a broker holds
/// per device) does not carry it.
#[derive(Debug, Clone)]
struct Offline {
    /// When the last connection closed (or the restore, for a session saved while connected).
    disconnected_at: Instant,
    /// When the session expires.
    session_deadline: Option<Instant>,
    /// A will waiting for its Will Delay Interval after the connection closed.
    pending_will: Option<(Instant, Box<Will>)>,
}

impl Offline {
    fn new(disconnected_at: Instant) -> Box<Self> {
        Box::new(Offline {
            disconnected_at,
            session_deadline: None,
            pending_will: None,
        })
    }
}

/// Pushes dropped messages as events (a free function so it borrows only the event queue).
fn sink(events: &mut ThinDeque<Event>) -> impl FnMut(Outgoing, DropReason) + '_ {
    move |outgoing, reason| {
        events.push_back(Event::Dropped {
            message: outgoing.message,
            reason,
        })
    }
}

impl ServerSession {
    /// A session with no state, waiting for its first CONNECT. A broker passes one `Arc<ServerConfig>` to all
    /// its sessions (a plain `ServerConfig` works too).
    pub fn new(config: impl Into<Arc<ServerConfig>>) -> Self {
        let config = config.into();
        let mut flow = Flow::new(
            config.max_queued_messages,
            config.overflow_policy,
            config.queue_qos0_while_offline,
        );
        flow.outbound.max_queued_bytes = config.max_queued_bytes;
        ServerSession {
            config,
            state: State::Disconnected,
            client_id: None,
            flow,
            has_session: false,
            subscriptions: Vec::new(),
            pending_subscribes: IdMap::default(),
            session_expiry_interval: 0,
            connect_expiry_was_zero: true,
            keep_alive_ms: 0,
            last_received: None,
            will: None,
            offline: None,
            events: ThinDeque::new(),
        }
    }

    /// Rebuilds a disconnected session from a snapshot; the next CONNECT with Clean Start 0 resumes it with
    /// Session Present = 1 [MQTT-3.2.2-3]. A snapshot taken while connected stands for a connection that ended
    /// without DISCONNECT (the broker went down): its expiry runs from `now` and its will is due from `now`
    /// (queued as [`Event::Will`] at once when it has no delay).
    pub fn restore(
        config: impl Into<Arc<ServerConfig>>,
        snapshot: SessionSnapshot,
        now: Instant,
    ) -> Result<Self, Error> {
        let mut session = ServerSession::new(config);
        session.client_id = Some(Arc::from(ByteStr::try_from(snapshot.client_id)?.as_str()));
        session.subscriptions = snapshot.subscriptions;
        session
            .flow
            .outbound
            .restore(snapshot.inflight, snapshot.queued, snapshot.next_packet_id);
        session.flow.inbound.restore(snapshot.inbound_qos2);
        session.session_expiry_interval = snapshot.session_expiry_interval;
        session.connect_expiry_was_zero = snapshot.session_expiry_interval == 0;
        let disconnected_at = snapshot.disconnected_at.unwrap_or(now);
        let mut offline = Offline::new(disconnected_at);
        offline.session_deadline = session.expiry_deadline(disconnected_at);
        session.offline = Some(offline);
        session.has_session = true;
        if let Some(will) = snapshot.will {
            match snapshot.will_due {
                Some(due) => session.hold_will(disconnected_at, due, will),
                // A 3.1.1 will decodes without properties, so it has no delay either way.
                None => session.will_after_close(now, will, true),
            }
        }
        Ok(session)
    }

    /// Everything a later [`restore`](Self::restore) needs. Take it when the connection closes (or more often,
    /// for stronger durability) and save it in a [`crate::SessionStore`].
    pub fn snapshot(&self) -> SessionSnapshot {
        SessionSnapshot {
            client_id: self.client_id().to_owned(),
            subscriptions: self.subscriptions.clone(),
            inflight: self.flow.outbound.inflight_snapshot(),
            queued: self.flow.outbound.queue_snapshot(),
            inbound_qos2: self.flow.inbound.qos2_snapshot(),
            next_packet_id: self.flow.outbound.next_id(),
            session_expiry_interval: self.session_expiry_interval,
            disconnected_at: self.offline.as_ref().map(|o| o.disconnected_at),
            will: self.pending_will().map(|(_, w)| &**w).or(self.will.as_deref()).cloned(),
            will_due: self.pending_will().map(|(due, _)| *due),
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
            State::Connected => (self.keep_alive_ms > 0)
                .then_some(self.last_received)
                .flatten()
                .and_then(|last| last.checked_add(Duration::from_millis(u64::from(self.keep_alive_ms)))),
            State::Disconnected => match (
                self.pending_will().map(|(at, _)| *at),
                self.offline.as_ref().and_then(|o| o.session_deadline),
            ) {
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
        self.pending_subscribes.shrink_to_fit();
        self.subscriptions.shrink_to_fit();
    }

    // ---------------------------------------------------------------- accessors

    /// The client identifier (empty until a CONNECT is accepted).
    pub fn client_id(&self) -> &str {
        self.client_id.as_deref().unwrap_or_default()
    }

    /// Makes the session keep `id`, a copy of its client id the broker holds anyway (say, as its registry
    /// key), instead of its own: one allocation per client instead of two. Does nothing when `id` is not the
    /// session's client id.
    pub fn share_client_id(&mut self, id: &Arc<str>) {
        if self.client_id.as_deref() == Some(&**id) {
            self.client_id = Some(Arc::clone(id));
        }
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

    /// Bytes held by the queued messages, as counted against [`ServerConfig::max_queued_bytes`].
    pub fn queued_bytes(&self) -> usize {
        self.flow.outbound.queued_bytes()
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
            State::Deciding(pending) => {
                // Clients may send packets right after CONNECT; they wait for the decision. The bound keeps a
                // client from filling memory before it is even authenticated.
                if pending.early.len() >= usize::from(self.config.receive_maximum.get()) + 16 {
                    let err = Error::TooManyEarlyPackets;
                    self.reject_pending(now, err.reason_code());
                    return Err(err);
                }
                pending.early.push_back(packet);
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

    /// A message the broker routed to this client. It is sent at once when possible, otherwise queued (bounded,
    /// see [`crate::OverflowPolicy`]); whatever is dropped comes back as [`Event::Dropped`]. The broker sets
    /// the QoS (the minimum of the published QoS and the granted one) and the subscription identifiers: pass
    /// the [`Outgoing`] that `mqtt-router`'s delivery shaping gives, or a plain [`crate::Message`] for none.
    pub fn publish(&mut self, now: Instant, message: impl Into<Outgoing>) {
        let message = message.into();
        if self.state == State::Ended {
            self.events.push_back(Event::Dropped {
                message: message.message,
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

    // ---------------------------------------------------------------- internals

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
}

#[cfg(test)]
mod size_tests {
    /// A broker holds one `ServerSession` per client, most of them idle: empty tables and queues cost a pointer
    /// each (`crate::thin`) and the configuration is shared, which took an idle session from 696 to 384 bytes;
    /// the between-connections clocks in one box, a shareable client id, a boxed-slice alias table and
    /// 32-bit counters took it to 288; the packets that wait for a CONNECT decision, kept with that decision,
    /// to 280.
    #[test]
    #[cfg(target_pointer_width = "64")]
    fn an_idle_session_stays_small() {
        let size = std::mem::size_of::<super::ServerSession>();
        assert!(size <= 280, "ServerSession grew to {size} bytes");
    }
}
