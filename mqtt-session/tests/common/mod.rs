//! Helpers shared by the integration tests: building packets and draining a session.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]
#![allow(dead_code)]

use std::num::{NonZeroU16, NonZeroU32};
use std::time::{Duration, Instant};

use mqtt_codec::properties::ConnectProperties;
use mqtt_codec::{ByteStr, Connect, Packet, PacketId, ProtocolVersion, Publish, QoS, TopicName};
use mqtt_session::{Accept, Event, ServerConfig, ServerSession};

pub fn id(n: u16) -> PacketId {
    PacketId::new(n).unwrap()
}

pub fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

pub fn topic(s: &'static str) -> TopicName {
    TopicName::from_static(s)
}

pub fn v5(client_id: &'static str) -> Connect {
    Connect::new(ByteStr::from_static(client_id)).keep_alive(0)
}

pub fn v311(client_id: &'static str) -> Connect {
    Connect::new(ByteStr::from_static(client_id))
        .version(ProtocolVersion::V311)
        .keep_alive(0)
}

/// A v5 CONNECT that resumes (Clean Start 0) and keeps the session for an hour.
pub fn v5_persistent(client_id: &'static str) -> Connect {
    v5(client_id).clean_start(false).properties(ConnectProperties {
        session_expiry_interval: Some(3600),
        ..Default::default()
    })
}

pub fn with_props(connect: Connect, f: impl FnOnce(&mut ConnectProperties)) -> Connect {
    let mut props = connect.properties.clone();
    f(&mut props);
    connect.properties(props)
}

pub fn receive_maximum(n: u16) -> Option<NonZeroU16> {
    NonZeroU16::new(n)
}

pub fn max_packet(n: u32) -> Option<NonZeroU32> {
    NonZeroU32::new(n)
}

pub fn publish(t: &'static str, payload: &'static str, qos: QoS, pid: u16) -> Publish {
    let p = Publish::new(topic(t), payload);
    if qos == QoS::AtMostOnce { p } else { p.qos(qos, id(pid)) }
}

pub fn transmits(s: &mut ServerSession) -> Vec<Packet> {
    std::iter::from_fn(|| s.poll_transmit()).collect()
}

pub fn events(s: &mut ServerSession) -> Vec<Event> {
    std::iter::from_fn(|| s.poll_event()).collect()
}

/// Feeds CONNECT, accepts it, and returns what was sent (CONNACK first). Events queued before the CONNECT
/// are discarded.
pub fn connect(s: &mut ServerSession, now: Instant, connect: Connect) -> Vec<Packet> {
    s.handle_packet(now, Packet::Connect(Box::new(connect))).unwrap();
    let evs = events(s);
    assert!(matches!(evs.last(), Some(Event::Connect(_))), "{evs:?}");
    s.accept(now, Accept::default()).unwrap();
    transmits(s)
}

/// A fresh session, connected with `c`; the CONNACK is consumed.
pub fn connected(config: ServerConfig, now: Instant, c: Connect) -> ServerSession {
    let mut s = ServerSession::new(config);
    let out = connect(&mut s, now, c);
    assert!(matches!(out.first(), Some(Packet::ConnAck(_))), "{out:?}");
    s
}

pub fn connack(p: &Packet) -> &mqtt_codec::ConnAck {
    match p {
        Packet::ConnAck(c) => c,
        other => panic!("expected CONNACK, got {other:?}"),
    }
}

pub fn as_publish(p: &Packet) -> &Publish {
    match p {
        Packet::Publish(p) => p,
        other => panic!("expected PUBLISH, got {other:?}"),
    }
}

pub fn disconnect_reason(p: &Packet) -> mqtt_codec::ReasonCode {
    match p {
        Packet::Disconnect(d) => d.reason_code,
        other => panic!("expected DISCONNECT, got {other:?}"),
    }
}

/// The single inbound message delivered as an event, with its token.
pub fn delivered(s: &mut ServerSession) -> (mqtt_session::Message, Option<mqtt_session::AckToken>) {
    let evs = events(s);
    match <[Event; 1]>::try_from(evs) {
        Ok([Event::Publish { message, ack }]) => (message, ack),
        Ok(other) => panic!("expected one Publish event, got {other:?}"),
        Err(evs) => panic!("expected one Publish event, got {evs:?}"),
    }
}
