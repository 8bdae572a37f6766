//! [`ClientSession`]: the client side of a session with the same QoS machinery, for bridges that connect a
//! broker to an upstream broker.

use std::collections::VecDeque;
use std::num::{NonZeroU16, NonZeroU32};
use std::time::{Duration, Instant};

use bytes::Bytes;
use mqtt_codec::{
    ByteStr, ConnAck, Connect, Disconnect, Packet, PacketId, ProtocolVersion, QoS, ReasonCode, Subscribe,
    SubscriptionId, SubscriptionOptions, TopicFilter, Unsubscribe, Will,
};

use mqtt_codec::properties::{ConnectProperties, SubscribeProperties};

use crate::flow::Flow;
use crate::{AckToken, DropReason, Error, InflightPublish, Message, Outgoing, OverflowPolicy};

/// How the client connects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientConfig {
    /// Client identifier (must not be empty when the session should persist).
    pub client_id: ByteStr,
    /// Protocol version to speak.
    pub version: ProtocolVersion,
    /// Clean Start (Clean Session in 3.1.1) on the first connection; later connections resume.
    pub clean_start: bool,
    /// Keep Alive in seconds (0: off).
    pub keep_alive: u16,
    /// v5 Session Expiry Interval in seconds (3.1.1 persists the session when `clean_start` is false).
    pub session_expiry_interval: u32,
    /// How many unacknowledged QoS 1/2 messages the server may send us.
    pub receive_maximum: NonZeroU16,
    /// Largest packet we accept.
    pub maximum_packet_size: Option<NonZeroU32>,
    /// How many topic aliases the server may use towards us.
    pub topic_alias_maximum: u16,
    /// User name.
    pub username: Option<ByteStr>,
    /// Password.
    pub password: Option<Bytes>,
    /// Will message.
    pub will: Option<Will>,
    /// Capacity of the queue of messages waiting for a connection or for the server's Receive Maximum.
    pub max_queued_messages: usize,
    /// What to drop when the queue is full.
    pub overflow_policy: OverflowPolicy,
}

impl ClientConfig {
    /// A v5 configuration with a persistent session (no expiry), 60 s keep alive and generous limits.
    pub fn new(client_id: ByteStr) -> Self {
        ClientConfig {
            client_id,
            version: ProtocolVersion::V5,
            clean_start: false,
            keep_alive: 60,
            session_expiry_interval: u32::MAX,
            receive_maximum: NonZeroU16::MAX,
            maximum_packet_size: None,
            topic_alias_maximum: 0,
            username: None,
            password: None,
            will: None,
            max_queued_messages: 10_000,
            overflow_policy: OverflowPolicy::DropNewest,
        }
    }
}

/// Something the bridge must act on, from [`ClientSession::poll_event`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientEvent {
    /// CONNACK with Success: the connection is up.
    Connected(Box<ConnAck>),
    /// An application message from the server. For QoS 1/2 hand `ack` back to [`ClientSession::acknowledge`].
    Publish {
        /// The message.
        message: Message,
        /// `Some` for QoS 1 and 2.
        ack: Option<AckToken>,
    },
    /// SUBACK for [`ClientSession::subscribe`].
    SubAck {
        /// Packet id returned by `subscribe`.
        packet_id: PacketId,
        /// One code per filter.
        reason_codes: Vec<ReasonCode>,
    },
    /// UNSUBACK for [`ClientSession::unsubscribe`].
    UnsubAck {
        /// Packet id returned by `unsubscribe`.
        packet_id: PacketId,
        /// One code per filter (v5; empty for 3.1.1).
        reason_codes: Vec<ReasonCode>,
    },
    /// A message for the server left the session without being sent.
    Dropped {
        /// The message.
        message: Message,
        /// Why.
        reason: DropReason,
    },
    /// The connection is over; flush `poll_transmit` and close the socket. Call `connect` again to resume.
    Closed(ClientCloseReason),
}

/// Why a client connection closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientCloseReason {
    /// CONNACK refused the connection with this reason code.
    Refused(ReasonCode),
    /// The server sent DISCONNECT with this reason code.
    ServerDisconnect(ReasonCode),
    /// The transport is gone.
    ConnectionLost,
    /// We closed it with this reason code (a `disconnect` call, a protocol error or a keep-alive timeout).
    Local(ReasonCode),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Disconnected,
    Connecting,
    Connected,
}

/// The client side of an MQTT session, as a sans-IO state machine (same contract as
/// [`crate::ServerSession`]).
#[derive(Debug, Clone)]
pub struct ClientSession {
    config: ClientConfig,
    state: State,
    flow: Flow,
    /// Whether we hold session state the server may resume.
    has_session: bool,
    keep_alive: Option<Duration>,
    last_sent: Option<Instant>,
    ping_sent: Option<Instant>,
    server_max_qos: QoS,
    server_retain_available: bool,
    events: VecDeque<ClientEvent>,
}

fn sink(events: &mut VecDeque<ClientEvent>) -> impl FnMut(Outgoing, DropReason) + '_ {
    move |outgoing, reason| {
        events.push_back(ClientEvent::Dropped {
            message: outgoing.message,
            reason,
        })
    }
}

impl ClientSession {
    /// A session that has never connected.
    pub fn new(config: ClientConfig) -> Self {
        let flow = Flow::new(config.max_queued_messages, config.overflow_policy, false);
        ClientSession {
            config,
            state: State::Disconnected,
            flow,
            has_session: false,
            keep_alive: None,
            last_sent: None,
            ping_sent: None,
            server_max_qos: QoS::ExactlyOnce,
            server_retain_available: true,
            events: VecDeque::new(),
        }
    }

    /// The next packet to write to the server.
    pub fn poll_transmit(&mut self) -> Option<Packet> {
        self.flow.transmit.pop_front()
    }

    /// The next event for the bridge.
    pub fn poll_event(&mut self) -> Option<ClientEvent> {
        self.events.pop_front()
    }

    /// When [`handle_timeout`](Self::handle_timeout) must be called next (keep-alive PINGREQ or PINGRESP wait).
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.state != State::Connected {
            return None;
        }
        let ka = self.keep_alive?;
        match self.ping_sent {
            Some(sent) => sent.checked_add(ka),
            None => self.last_sent.and_then(|t| t.checked_add(ka)),
        }
    }

    /// The configuration; changes take effect at the next [`connect`](Self::connect) (e.g. rotated credentials,
    /// a different Receive Maximum).
    pub fn config_mut(&mut self) -> &mut ClientConfig {
        &mut self.config
    }

    /// Whether CONNACK accepted the connection and it is still up.
    pub fn is_connected(&self) -> bool {
        self.state == State::Connected
    }

    /// Outbound QoS 1/2 messages sent and not yet completed.
    pub fn inflight_len(&self) -> usize {
        self.flow.outbound.inflight_len()
    }

    /// Outbound messages waiting.
    pub fn queued_len(&self) -> usize {
        self.flow.outbound.queued_len()
    }

    fn note_sent(&mut self, now: Instant, before: usize) {
        if self.flow.transmit.len() > before {
            self.last_sent = Some(now);
        }
    }

    /// Starts a connection: queues CONNECT. Messages published meanwhile wait for CONNACK.
    pub fn connect(&mut self, now: Instant) -> Result<(), Error> {
        if self.state != State::Disconnected {
            return Err(Error::UnexpectedPacket { packet: "CONNECT" });
        }
        let c = &self.config;
        let v5 = c.version.is_v5();
        let mut properties = ConnectProperties::default();
        if v5 {
            properties.session_expiry_interval = (c.session_expiry_interval > 0).then_some(c.session_expiry_interval);
            properties.receive_maximum = (c.receive_maximum != NonZeroU16::MAX).then_some(c.receive_maximum);
            properties.maximum_packet_size = c.maximum_packet_size;
            properties.topic_alias_maximum = (c.topic_alias_maximum > 0).then_some(c.topic_alias_maximum);
        }
        // v5: Clean Start exactly when we hold no state to resume (so the server never claims a session we
        // lack). 3.1.1: Clean Session also decides persistence, so the configured value is sent.
        let clean_start = if v5 { !self.has_session } else { c.clean_start };
        let mut connect = Connect::new(c.client_id.clone())
            .version(c.version)
            .clean_start(clean_start)
            .keep_alive(c.keep_alive)
            .properties(properties);
        if let Some(will) = c.will.clone() {
            connect = connect.will(will);
        }
        if let Some(username) = c.username.clone() {
            connect = connect.username(username);
        }
        if let Some(password) = c.password.clone() {
            connect = connect.password(password);
        }
        self.flow.transmit.clear();
        self.flow.version = c.version;
        self.flow.transmit.push_back(Packet::Connect(Box::new(connect)));
        self.state = State::Connecting;
        self.last_sent = Some(now);
        Ok(())
    }

    /// A packet decoded from the server. Protocol violations close the connection (DISCONNECT for v5) and are
    /// returned.
    pub fn handle_packet(&mut self, now: Instant, packet: Packet) -> Result<(), Error> {
        let before = self.flow.transmit.len();
        let result = match self.state {
            State::Disconnected => Err(Error::NotConnected),
            State::Connecting => match packet {
                Packet::ConnAck(connack) => self.on_connack(now, *connack),
                _ => Err(Error::UnexpectedPacket {
                    packet: "non-CONNACK before CONNACK",
                }),
            },
            State::Connected => self.dispatch(now, packet),
        };
        if let Err(err) = &result {
            self.fail(now, err);
        }
        self.note_sent(now, before);
        result
    }

    /// The codec rejected a frame from the server.
    pub fn handle_decode_error(&mut self, now: Instant, error: &mqtt_codec::Error) {
        self.fail(now, &Error::Codec(error.clone()));
    }

    /// The transport is gone. Session state stays for the next `connect`.
    pub fn connection_lost(&mut self, _now: Instant) {
        if self.state != State::Disconnected {
            self.closed(ClientCloseReason::ConnectionLost);
        }
    }

    /// Sends DISCONNECT with `reason` and closes; the session state stays if the session expiry allows.
    pub fn disconnect(&mut self, _now: Instant, reason: ReasonCode) {
        if self.state == State::Disconnected {
            return;
        }
        self.flow
            .transmit
            .push_back(Packet::Disconnect(Disconnect::new(reason)));
        self.closed(ClientCloseReason::Local(reason));
    }

    /// Sends PINGREQ when the connection has been quiet for the keep alive [MQTT-3.1.2-20], and closes it when
    /// the PINGRESP does not come within another keep-alive period.
    pub fn handle_timeout(&mut self, now: Instant) {
        let Some(deadline) = self.poll_timeout() else {
            return;
        };
        if now < deadline {
            return;
        }
        if self.ping_sent.is_some() {
            self.fail(now, &Error::KeepAliveTimeout);
        } else {
            self.flow.transmit.push_back(Packet::PingReq);
            self.ping_sent = Some(now);
            self.last_sent = Some(now);
        }
    }

    /// A message for the server; sent now or queued, as for the server role. The QoS is capped at the server's
    /// Maximum QoS [MQTT-3.2.2-11] and RETAIN cleared when the server has no retain [MQTT-3.2.2-14].
    pub fn publish(&mut self, now: Instant, mut message: Message) {
        let before = self.flow.transmit.len();
        message.qos = message.qos.min(self.server_max_qos);
        message.retain &= self.server_retain_available;
        self.flow.submit(now, message.into(), &mut sink(&mut self.events));
        self.note_sent(now, before);
    }

    /// We took responsibility for an inbound QoS 1/2 message: PUBACK or PUBREC.
    pub fn acknowledge(&mut self, now: Instant, token: AckToken, reason: ReasonCode) {
        let before = self.flow.transmit.len();
        self.flow.acknowledge(token, reason);
        self.note_sent(now, before);
    }

    /// Sends SUBSCRIBE; the answer comes as [`ClientEvent::SubAck`] with the returned packet id.
    pub fn subscribe(
        &mut self,
        now: Instant,
        filters: Vec<(TopicFilter, SubscriptionOptions)>,
        subscription_id: Option<SubscriptionId>,
    ) -> Result<PacketId, Error> {
        if self.state != State::Connected {
            return Err(Error::NotConnected);
        }
        let id = self.flow.allocate_control_id().ok_or(Error::PacketIdsExhausted)?;
        let properties = SubscribeProperties {
            subscription_identifier: subscription_id,
            ..Default::default()
        };
        self.flow
            .transmit
            .push_back(Packet::Subscribe(Subscribe::new(id, filters).properties(properties)));
        self.last_sent = Some(now);
        Ok(id)
    }

    /// Sends UNSUBSCRIBE; the answer comes as [`ClientEvent::UnsubAck`].
    pub fn unsubscribe(&mut self, now: Instant, filters: Vec<TopicFilter>) -> Result<PacketId, Error> {
        if self.state != State::Connected {
            return Err(Error::NotConnected);
        }
        let id = self.flow.allocate_control_id().ok_or(Error::PacketIdsExhausted)?;
        self.flow
            .transmit
            .push_back(Packet::Unsubscribe(Unsubscribe::new(id, filters)));
        self.last_sent = Some(now);
        Ok(id)
    }

    fn on_connack(&mut self, now: Instant, connack: ConnAck) -> Result<(), Error> {
        if connack.reason_code.as_u8() >= 0x80 {
            self.closed(ClientCloseReason::Refused(connack.reason_code));
            return Ok(());
        }
        let v5 = self.config.version.is_v5();
        if v5 && connack.session_present && !self.has_session {
            // [MQTT-3.2.2-4]: the server claims a session we do not have.
            return Err(Error::UnexpectedPacket {
                packet: "CONNACK with Session Present for a session we do not hold",
            });
        }
        if !connack.session_present && self.has_session {
            // [MQTT-3.2.2-5]: the server lost the session; ours is void. Unsent messages stay queued.
            for (_, state) in self.flow.outbound.inflight_snapshot() {
                if let InflightPublish::AwaitingPubAck(m) | InflightPublish::AwaitingPubRec(m) = state {
                    self.events.push_back(ClientEvent::Dropped {
                        message: m.message,
                        reason: DropReason::SessionLost,
                    });
                }
            }
            let queued = self.flow.outbound.queue_snapshot();
            let next_id = self.flow.outbound.next_id();
            self.flow.clear_session();
            self.flow.outbound.restore(Vec::new(), queued, next_id);
        }
        self.has_session = if v5 {
            self.config.session_expiry_interval > 0
        } else {
            !self.config.clean_start
        };
        let p = &connack.properties;
        self.server_max_qos = p.maximum_qos.unwrap_or(QoS::ExactlyOnce);
        self.server_retain_available = p.retain_available.unwrap_or(true);
        self.flow
            .outbound
            .cap_queued(self.server_max_qos, self.server_retain_available);
        // [MQTT-3.2.2-21]: Server Keep Alive replaces ours.
        let keep_alive = p.server_keep_alive.unwrap_or(self.config.keep_alive);
        self.keep_alive = (keep_alive > 0).then(|| Duration::from_secs(u64::from(keep_alive)));
        self.flow.open(
            self.config.version,
            p.receive_maximum.map_or(u16::MAX, |n| n.get()),
            p.maximum_packet_size,
            p.topic_alias_maximum.unwrap_or(0),
        );
        self.flow.inbound.receive_maximum = self.config.receive_maximum.get();
        self.flow.inbound.topic_alias_maximum = if v5 { self.config.topic_alias_maximum } else { 0 };
        self.state = State::Connected;
        self.ping_sent = None;
        let session_present = connack.session_present;
        self.events.push_back(ClientEvent::Connected(Box::new(connack)));
        if session_present {
            self.flow.resume(now, &mut sink(&mut self.events));
        } else {
            self.flow.pump(now, &mut sink(&mut self.events));
        }
        Ok(())
    }

    fn dispatch(&mut self, now: Instant, packet: Packet) -> Result<(), Error> {
        match packet {
            Packet::Publish(publish) => {
                if let Some((message, ack)) = self.flow.on_publish(now, publish)? {
                    self.events.push_back(ClientEvent::Publish { message, ack });
                }
            }
            Packet::PubAck(ack) => self.flow.on_puback(now, ack.packet_id, &mut sink(&mut self.events)),
            Packet::PubRec(rec) => {
                self.flow
                    .on_pubrec(now, rec.packet_id, rec.reason_code, &mut sink(&mut self.events))
            }
            Packet::PubRel(rel) => self.flow.on_pubrel(rel.packet_id),
            Packet::PubComp(comp) => self.flow.on_pubcomp(now, comp.packet_id, &mut sink(&mut self.events)),
            Packet::SubAck(ack) => {
                if self.flow.control_ids.remove(&ack.packet_id).is_some() {
                    self.events.push_back(ClientEvent::SubAck {
                        packet_id: ack.packet_id,
                        reason_codes: ack.reason_codes,
                    });
                }
            }
            Packet::UnsubAck(ack) => {
                if self.flow.control_ids.remove(&ack.packet_id).is_some() {
                    self.events.push_back(ClientEvent::UnsubAck {
                        packet_id: ack.packet_id,
                        reason_codes: ack.reason_codes,
                    });
                }
            }
            Packet::PingResp => self.ping_sent = None,
            Packet::Disconnect(disconnect) => {
                self.closed(ClientCloseReason::ServerDisconnect(disconnect.reason_code));
            }
            Packet::ConnAck(_) => {
                return Err(Error::UnexpectedPacket {
                    packet: "second CONNACK",
                });
            }
            Packet::Connect(_) => return Err(Error::UnexpectedPacket { packet: "CONNECT" }),
            Packet::Subscribe(_) => return Err(Error::UnexpectedPacket { packet: "SUBSCRIBE" }),
            Packet::Unsubscribe(_) => return Err(Error::UnexpectedPacket { packet: "UNSUBSCRIBE" }),
            Packet::PingReq => return Err(Error::UnexpectedPacket { packet: "PINGREQ" }),
            Packet::Auth(_) => return Err(Error::UnexpectedPacket { packet: "AUTH" }),
        }
        Ok(())
    }

    fn fail(&mut self, _now: Instant, err: &Error) {
        if self.state == State::Disconnected {
            return;
        }
        let code = err.reason_code();
        if self.flow.version.is_v5() {
            self.flow.transmit.push_back(Packet::Disconnect(Disconnect::new(code)));
        }
        self.closed(ClientCloseReason::Local(code));
    }

    fn closed(&mut self, reason: ClientCloseReason) {
        self.flow.close();
        self.state = State::Disconnected;
        self.ping_sent = None;
        if !self.has_session {
            self.flow.clear_session();
        }
        self.events.push_back(ClientEvent::Closed(reason));
    }
}
