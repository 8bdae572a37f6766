//! Scenario tests for the client role (bridges), citing the statements they check.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use std::num::NonZeroU16;
use std::time::Instant;

use common::{id, secs, topic};
use mqtt_codec::properties::ConnAckProperties;
use mqtt_codec::{
    ByteStr, ConnAck, Disconnect, Packet, ProtocolVersion, PubAck, PubComp, PubRec, PubRel, Publish, QoS, ReasonCode,
    SubAck, SubscriptionOptions, TopicFilter,
};
use mqtt_session::{ClientCloseReason, ClientConfig, ClientEvent, ClientSession, DropReason, Message};

fn config() -> ClientConfig {
    ClientConfig::new(ByteStr::from_static("bridge-1"))
}

fn out(c: &mut ClientSession) -> Vec<Packet> {
    std::iter::from_fn(|| c.poll_transmit()).collect()
}

fn evs(c: &mut ClientSession) -> Vec<ClientEvent> {
    std::iter::from_fn(|| c.poll_event()).collect()
}

fn connack(present: bool, props: ConnAckProperties) -> Packet {
    Packet::ConnAck(Box::new(ConnAck::new(ReasonCode::Success, present).properties(props)))
}

/// Connects and feeds a successful CONNACK; returns the CONNECT that was sent.
fn up(c: &mut ClientSession, now: Instant, present: bool, props: ConnAckProperties) -> Packet {
    c.connect(now).unwrap();
    let sent = out(c);
    c.handle_packet(now, connack(present, props)).unwrap();
    assert!(matches!(evs(c).first(), Some(ClientEvent::Connected(_))));
    sent.into_iter().next().unwrap()
}

fn msg(payload: &'static str, qos: QoS) -> Message {
    Message::new(topic("up/1"), payload, qos)
}

fn publishes(packets: &[Packet]) -> Vec<Publish> {
    packets
        .iter()
        .filter_map(|p| match p {
            Packet::Publish(p) => Some(p.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn connect_carries_the_configured_limits() {
    let now = Instant::now();
    let mut cfg = config();
    cfg.receive_maximum = NonZeroU16::new(5).unwrap();
    cfg.topic_alias_maximum = 3;
    let mut c = ClientSession::new(cfg);
    let Packet::Connect(connect) = up(&mut c, now, false, Default::default()) else {
        panic!()
    };
    assert!(connect.clean_start, "no local state yet, so nothing to resume");
    assert_eq!(connect.properties.session_expiry_interval, Some(u32::MAX));
    assert_eq!(connect.properties.receive_maximum, NonZeroU16::new(5));
    assert_eq!(connect.properties.topic_alias_maximum, Some(3));
    // The next connection resumes.
    c.connection_lost(now);
    c.connect(now).unwrap();
    let Packet::Connect(connect) = &out(&mut c)[0] else {
        panic!()
    };
    assert!(!connect.clean_start);
}

#[test]
fn refused_connack_closes() {
    let now = Instant::now();
    let mut c = ClientSession::new(config());
    c.connect(now).unwrap();
    c.handle_packet(
        now,
        Packet::ConnAck(Box::new(ConnAck::new(ReasonCode::NotAuthorized, false))),
    )
    .unwrap();
    assert_eq!(
        evs(&mut c),
        [ClientEvent::Closed(ClientCloseReason::Refused(
            ReasonCode::NotAuthorized
        ))]
    );
    assert!(!c.is_connected());
}

#[test]
fn session_present_without_local_state_closes_the_connection() {
    // [MQTT-3.2.2-4]
    let now = Instant::now();
    let mut c = ClientSession::new(config());
    c.connect(now).unwrap();
    out(&mut c);
    assert!(c.handle_packet(now, connack(true, Default::default())).is_err());
    assert!(matches!(out(&mut c).as_slice(), [Packet::Disconnect(_)]));
    assert!(!c.is_connected());
}

#[test]
fn keep_alive_pings_and_server_keep_alive_wins() {
    // [MQTT-3.1.2-20] [MQTT-3.2.2-21]
    let t0 = Instant::now();
    let mut c = ClientSession::new(config());
    let props = ConnAckProperties {
        server_keep_alive: Some(5),
        ..Default::default()
    };
    up(&mut c, t0, false, props);
    assert_eq!(c.poll_timeout(), Some(t0 + secs(5)));
    c.handle_timeout(t0 + secs(5));
    assert_eq!(out(&mut c), [Packet::PingReq]);
    c.handle_packet(t0 + secs(6), Packet::PingResp).unwrap();
    assert_eq!(c.poll_timeout(), Some(t0 + secs(10)));
    c.handle_timeout(t0 + secs(10));
    assert_eq!(out(&mut c), [Packet::PingReq]);
    // No PINGRESP within another keep-alive period: the connection is dead.
    c.handle_timeout(t0 + secs(15));
    let sent = out(&mut c);
    assert!(matches!(&sent[..], [Packet::Disconnect(d)] if d.reason_code == ReasonCode::KeepAliveTimeout));
    assert!(!c.is_connected());
}

#[test]
fn outbound_respects_the_servers_limits() {
    // [MQTT-3.3.4-7] receive maximum, [MQTT-3.2.2-11] maximum QoS, [MQTT-3.2.2-14] retain,
    // [MQTT-3.2.2-15] maximum packet size, [MQTT-3.2.2-17] topic alias maximum.
    let now = Instant::now();
    let mut c = ClientSession::new(config());
    let props = ConnAckProperties {
        receive_maximum: NonZeroU16::new(1),
        maximum_qos: Some(QoS::AtLeastOnce),
        retain_available: Some(false),
        maximum_packet_size: common::max_packet(60),
        topic_alias_maximum: Some(1),
        ..Default::default()
    };
    up(&mut c, now, false, props);
    c.publish(now, msg("a", QoS::ExactlyOnce).with_retain(true));
    c.publish(now, msg("b", QoS::AtLeastOnce));
    c.publish(now, Message::new(topic("up/1"), vec![0u8; 100], QoS::AtMostOnce));
    let sent = publishes(&out(&mut c));
    assert_eq!(sent.len(), 1);
    assert_eq!((sent[0].qos, sent[0].retain), (QoS::AtLeastOnce, false));
    assert_eq!(sent[0].properties.topic_alias, NonZeroU16::new(1));
    c.handle_packet(now, Packet::PubAck(PubAck::new(sent[0].packet_id.unwrap())))
        .unwrap();
    let sent = publishes(&out(&mut c));
    assert_eq!(sent.len(), 1);
    assert_eq!(
        (sent[0].payload.as_ref(), sent[0].topic.as_str()),
        (&b"b"[..], ""),
        "alias only"
    );
    assert!(evs(&mut c).iter().any(|e| matches!(
        e,
        ClientEvent::Dropped {
            reason: DropReason::PacketTooLarge,
            ..
        }
    )));
}

#[test]
fn subscribe_ids_share_the_space_with_publishes() {
    // [MQTT-2.2.1-3]
    let now = Instant::now();
    let mut c = ClientSession::new(config());
    up(&mut c, now, false, Default::default());
    c.publish(now, msg("a", QoS::AtLeastOnce));
    let pub_id = publishes(&out(&mut c))[0].packet_id.unwrap();
    let sub_id = c
        .subscribe(
            now,
            vec![(
                TopicFilter::from_static("down/#"),
                SubscriptionOptions::new(QoS::AtLeastOnce),
            )],
            None,
        )
        .unwrap();
    assert_ne!(pub_id, sub_id);
    assert!(matches!(&out(&mut c)[..], [Packet::Subscribe(s)] if s.packet_id == sub_id));
    c.handle_packet(now, Packet::SubAck(SubAck::new(sub_id, [ReasonCode::GrantedQoS1])))
        .unwrap();
    assert_eq!(
        evs(&mut c),
        [ClientEvent::SubAck {
            packet_id: sub_id,
            reason_codes: vec![ReasonCode::GrantedQoS1]
        }]
    );
    let un = c.unsubscribe(now, vec![TopicFilter::from_static("down/#")]).unwrap();
    assert!(matches!(&out(&mut c)[..], [Packet::Unsubscribe(u)] if u.packet_id == un));
}

#[test]
fn resume_resends_and_a_lost_server_session_voids_in_flight_messages() {
    // [MQTT-4.4.0-1] [MQTT-3.3.1-1] then [MQTT-3.2.2-5].
    let now = Instant::now();
    let mut c = ClientSession::new(config());
    let props = ConnAckProperties {
        receive_maximum: NonZeroU16::new(1),
        ..Default::default()
    };
    up(&mut c, now, false, props.clone());
    c.publish(now, msg("in-flight", QoS::ExactlyOnce));
    c.publish(now, msg("queued", QoS::AtLeastOnce));
    let first = publishes(&out(&mut c));
    c.connection_lost(now);
    evs(&mut c);

    up(&mut c, now, true, props.clone());
    let again = publishes(&out(&mut c));
    assert_eq!(again.len(), 1);
    assert_eq!((again[0].dup, again[0].packet_id), (true, first[0].packet_id));
    c.connection_lost(now);
    evs(&mut c);

    c.connect(now).unwrap();
    out(&mut c);
    c.handle_packet(now, connack(false, props)).unwrap();
    let events = evs(&mut c);
    assert!(
        events.iter().any(|e| matches!(
            e,
            ClientEvent::Dropped { reason: DropReason::SessionLost, message } if message.payload == "in-flight"
        )),
        "{events:?}"
    );
    let sent = publishes(&out(&mut c));
    assert_eq!(sent.len(), 1);
    assert_eq!((sent[0].payload.as_ref(), sent[0].dup), (&b"queued"[..], false));
}

#[test]
fn inbound_qos2_from_the_server_is_delivered_once() {
    // [MQTT-4.3.3-10] [MQTT-4.3.3-11]
    let now = Instant::now();
    let mut c = ClientSession::new(config());
    up(&mut c, now, false, Default::default());
    let p = Publish::new(topic("down/1"), "x").qos(QoS::ExactlyOnce, id(3));
    c.handle_packet(now, Packet::Publish(p.clone())).unwrap();
    let Some(ClientEvent::Publish { ack: Some(token), .. }) = c.poll_event() else {
        panic!()
    };
    c.handle_packet(now, Packet::Publish(p.clone().dup(true))).unwrap();
    assert!(evs(&mut c).is_empty());
    c.acknowledge(now, token, ReasonCode::Success);
    assert_eq!(out(&mut c), [Packet::PubRec(PubRec::new(id(3)))]);
    c.handle_packet(now, Packet::PubRel(PubRel::new(id(3)))).unwrap();
    assert_eq!(out(&mut c), [Packet::PubComp(PubComp::new(id(3)))]);
}

#[test]
fn server_disconnect_closes() {
    let now = Instant::now();
    let mut c = ClientSession::new(config());
    up(&mut c, now, false, Default::default());
    c.handle_packet(now, Packet::Disconnect(Disconnect::new(ReasonCode::ServerShuttingDown)))
        .unwrap();
    assert_eq!(
        evs(&mut c),
        [ClientEvent::Closed(ClientCloseReason::ServerDisconnect(
            ReasonCode::ServerShuttingDown
        ))]
    );
}

#[test]
fn v311_client_sends_clean_session_as_configured() {
    let now = Instant::now();
    let mut cfg = config();
    cfg.version = ProtocolVersion::V311;
    let mut c = ClientSession::new(cfg);
    let Packet::Connect(connect) = up(&mut c, now, true, Default::default()) else {
        panic!()
    };
    assert!(!connect.clean_start);
    assert_eq!(connect.protocol_version, ProtocolVersion::V311);
}

#[test]
fn messages_queued_before_connack_are_capped_to_the_servers_limits() {
    // [MQTT-3.2.2-11] [MQTT-3.2.2-14]
    let now = Instant::now();
    let mut c = ClientSession::new(config());
    c.publish(now, msg("early", QoS::ExactlyOnce).with_retain(true));
    assert_eq!(c.queued_len(), 1);
    let props = ConnAckProperties {
        maximum_qos: Some(QoS::AtMostOnce),
        retain_available: Some(false),
        ..Default::default()
    };
    up(&mut c, now, false, props);
    let sent = publishes(&out(&mut c));
    assert_eq!(sent.len(), 1);
    assert_eq!(
        (sent[0].qos, sent[0].retain, sent[0].packet_id),
        (QoS::AtMostOnce, false, None)
    );
}
