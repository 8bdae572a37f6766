//! Scenario tests for the server role: each drives a session packet by packet and checks one rule of the
//! specification, cited by its normative statement id (MQTT 5.0 numbering unless marked 3.1.1).

mod common;

use std::num::NonZeroU16;
use std::time::Instant;

use common::*;
use mqtt_codec::properties::{DisconnectProperties, UserProperty, WillProperties};
use mqtt_codec::{
    ByteStr, Disconnect, Packet, PubAck, PubComp, PubRec, PubRel, QoS, ReasonCode, Subscribe, SubscriptionOptions,
    TopicFilter, Unsubscribe, Will,
};
use mqtt_session::{
    Accept, CloseReason, DropReason, Error, Event, InflightPublish, MemoryStore, Message, Outgoing, OverflowPolicy,
    ServerConfig, ServerSession, SessionStore,
};

fn msg(t: &'static str, payload: &'static str, qos: QoS) -> Message {
    Message::new(topic(t), payload, qos)
}

fn closed_events(evs: &[Event]) -> Vec<CloseReason> {
    evs.iter()
        .filter_map(|e| match e {
            Event::Closed(r) => Some(*r),
            _ => None,
        })
        .collect()
}

// ------------------------------------------------------------------------------------------- CONNECT

#[test]
fn first_packet_must_be_connect() {
    // [MQTT-3.1.0-1]; and no DISCONNECT before a CONNACK [MQTT-3.14.0-1].
    let now = Instant::now();
    let mut s = ServerSession::new(ServerConfig::default());
    let err = s
        .handle_packet(now, Packet::Publish(publish("a", "x", QoS::AtMostOnce, 0)))
        .unwrap_err();
    assert_eq!(err, Error::FirstPacketNotConnect);
    assert_eq!(err.spec_ref(), Some("MQTT-3.1.0-1"));
    assert!(transmits(&mut s).is_empty());
    assert_eq!(
        closed_events(&events(&mut s)),
        [CloseReason::Server(ReasonCode::ProtocolError)]
    );
}

#[test]
fn second_connect_is_a_protocol_error() {
    // [MQTT-3.1.0-2]
    let now = Instant::now();
    let mut s = connected(ServerConfig::default(), now, v5("c"));
    let err = s.handle_packet(now, Packet::Connect(Box::new(v5("c")))).unwrap_err();
    assert_eq!(err, Error::SecondConnect);
    assert_eq!(disconnect_reason(&transmits(&mut s)[0]), ReasonCode::ProtocolError);
    assert_eq!(
        closed_events(&events(&mut s)),
        [CloseReason::Server(ReasonCode::ProtocolError)]
    );
    assert!(!s.is_connected());
}

#[test]
fn clean_start_discards_the_session_and_reports_no_session_present() {
    // [MQTT-3.1.2-4] [MQTT-3.2.2-2]
    let t0 = Instant::now();
    let mut s = connected(ServerConfig::default(), t0, v5_persistent("c"));
    s.publish(t0, msg("a", "1", QoS::AtLeastOnce));
    assert_eq!(transmits(&mut s).len(), 1);
    s.connection_lost(t0);
    events(&mut s);
    let out = connect(
        &mut s,
        t0,
        with_props(v5("c"), |p| p.session_expiry_interval = Some(60)),
    );
    assert!(!connack(&out[0]).session_present);
    assert_eq!(out.len(), 1, "nothing is re-sent after Clean Start: {out:?}");
    assert_eq!(s.inflight_len(), 0);
}

#[test]
fn resuming_a_session_reports_session_present() {
    // [MQTT-3.1.2-5] [MQTT-3.2.2-3]
    let t0 = Instant::now();
    let mut s = ServerSession::new(ServerConfig::default());
    let out = connect(&mut s, t0, v5_persistent("c"));
    assert!(!connack(&out[0]).session_present, "no state existed yet");
    s.connection_lost(t0);
    let out = connect(&mut s, t0, v5_persistent("c"));
    assert!(connack(&out[0]).session_present);
}

#[test]
fn empty_client_id_gets_an_assigned_identifier_in_v5() {
    // [MQTT-3.1.3-6] [MQTT-3.1.3-7] [MQTT-3.2.2-16]
    let now = Instant::now();
    let mut s = ServerSession::new(ServerConfig::default());
    s.handle_packet(now, Packet::Connect(Box::new(v5("")))).unwrap();
    events(&mut s);
    assert_eq!(s.accept(now, Accept::default()), Err(Error::MissingAssignedClientId));
    let accept = Accept {
        assigned_client_id: Some(ByteStr::from_static("auto-1")),
        ..Accept::default()
    };
    s.accept(now, accept).unwrap();
    let out = transmits(&mut s);
    assert_eq!(
        connack(&out[0]).properties.assigned_client_identifier.as_deref(),
        Some("auto-1")
    );
    assert_eq!(s.client_id(), "auto-1");
}

#[test]
fn empty_client_id_with_clean_session_0_is_rejected_in_v311() {
    // 3.1.1 [MQTT-3.1.3-8]: CONNACK return code 0x02 (Identifier rejected), then close.
    let now = Instant::now();
    let mut s = ServerSession::new(ServerConfig::default());
    s.handle_packet(now, Packet::Connect(Box::new(v311("").clean_start(false))))
        .unwrap();
    let out = transmits(&mut s);
    let ack = connack(&out[0]);
    assert_eq!(ack.reason_code, ReasonCode::ClientIdentifierNotValid);
    assert!(!ack.session_present, "[MQTT-3.2.2-6]");
    assert_eq!(
        closed_events(&events(&mut s)),
        [CloseReason::Rejected(ReasonCode::ClientIdentifierNotValid)]
    );
}

#[test]
fn broker_rejection_sends_connack_with_the_reason() {
    // [MQTT-3.2.2-6] [MQTT-3.2.2-7]
    let now = Instant::now();
    let mut s = ServerSession::new(ServerConfig::default());
    s.handle_packet(now, Packet::Connect(Box::new(v5("c")))).unwrap();
    events(&mut s);
    s.reject(now, ReasonCode::BadUserNameOrPassword).unwrap();
    let out = transmits(&mut s);
    assert_eq!(connack(&out[0]).reason_code, ReasonCode::BadUserNameOrPassword);
    assert_eq!(s.reject(now, ReasonCode::NotAuthorized), Err(Error::NoPendingConnect));
}

#[test]
fn will_qos_above_maximum_qos_refuses_the_connection() {
    // [MQTT-3.2.2-12] [MQTT-3.2.2-13]
    let now = Instant::now();
    let config = ServerConfig {
        maximum_qos: QoS::AtLeastOnce,
        retain_available: false,
        ..ServerConfig::default()
    };
    let mut s = ServerSession::new(config.clone());
    let will = Will::new(topic("w"), "bye").qos(QoS::ExactlyOnce);
    s.handle_packet(now, Packet::Connect(Box::new(v5("c").will(will))))
        .unwrap();
    assert_eq!(connack(&transmits(&mut s)[0]).reason_code, ReasonCode::QoSNotSupported);
    let mut s = ServerSession::new(config);
    let will = Will::new(topic("w"), "bye").retain(true);
    s.handle_packet(now, Packet::Connect(Box::new(v5("c").will(will))))
        .unwrap();
    assert_eq!(
        connack(&transmits(&mut s)[0]).reason_code,
        ReasonCode::RetainNotSupported
    );
}

#[test]
fn connack_announces_the_limits_the_session_enforces() {
    let now = Instant::now();
    let config = ServerConfig {
        receive_maximum: NonZeroU16::new(10).unwrap(),
        maximum_packet_size: max_packet(4096),
        topic_alias_maximum: 5,
        maximum_qos: QoS::AtLeastOnce,
        retain_available: false,
        max_session_expiry_interval: 100,
        ..ServerConfig::default()
    };
    let mut s = ServerSession::new(config);
    let out = connect(
        &mut s,
        now,
        with_props(v5("c"), |p| p.session_expiry_interval = Some(1000)),
    );
    let p = &connack(&out[0]).properties;
    assert_eq!(p.receive_maximum, NonZeroU16::new(10));
    assert_eq!(p.maximum_packet_size, max_packet(4096));
    assert_eq!(p.topic_alias_maximum, Some(5));
    assert_eq!(p.maximum_qos, Some(QoS::AtLeastOnce));
    assert_eq!(p.retain_available, Some(false));
    assert_eq!(p.session_expiry_interval, Some(100), "the server caps and says so");
    assert_eq!(s.session_expiry_interval(), 100);
}

#[test]
fn packets_sent_before_connack_wait_for_the_decision() {
    let now = Instant::now();
    let mut s = ServerSession::new(ServerConfig::default());
    s.handle_packet(now, Packet::Connect(Box::new(v5("c")))).unwrap();
    s.handle_packet(now, Packet::PingReq).unwrap();
    assert!(transmits(&mut s).is_empty(), "nothing before CONNACK [MQTT-3.2.0-1]");
    events(&mut s);
    s.accept(now, Accept::default()).unwrap();
    let out = transmits(&mut s);
    assert!(
        matches!(out.as_slice(), [Packet::ConnAck(_), Packet::PingResp]),
        "{out:?}"
    );
}

// ------------------------------------------------------------------------------------------- keep alive

#[test]
fn keep_alive_closes_after_one_and_a_half_periods() {
    // [MQTT-3.1.2-22]
    let t0 = Instant::now();
    let mut s = connected(ServerConfig::default(), t0, v5("c").keep_alive(10));
    assert_eq!(s.poll_timeout(), Some(t0 + secs(15)));
    s.handle_packet(t0 + secs(10), Packet::PingReq).unwrap();
    assert_eq!(s.poll_timeout(), Some(t0 + secs(25)), "any packet restarts the timer");
    s.handle_timeout(t0 + secs(24));
    assert!(s.is_connected());
    transmits(&mut s);
    s.handle_timeout(t0 + secs(25));
    assert!(!s.is_connected());
    assert_eq!(disconnect_reason(&transmits(&mut s)[0]), ReasonCode::KeepAliveTimeout);
    assert_eq!(
        closed_events(&events(&mut s)),
        [CloseReason::Server(ReasonCode::KeepAliveTimeout)]
    );
}

#[test]
fn server_keep_alive_overrides_the_clients_value() {
    // [MQTT-3.2.2-21] [MQTT-3.2.2-22]
    let t0 = Instant::now();
    let config = ServerConfig {
        max_keep_alive: NonZeroU16::new(30),
        ..ServerConfig::default()
    };
    for asked in [0, 100] {
        let mut s = ServerSession::new(config.clone());
        let out = connect(&mut s, t0, v5("c").keep_alive(asked));
        assert_eq!(connack(&out[0]).properties.server_keep_alive, Some(30));
        assert_eq!(s.poll_timeout(), Some(t0 + secs(45)));
    }
    let mut s = ServerSession::new(config);
    let out = connect(&mut s, t0, v5("c").keep_alive(20));
    assert_eq!(
        connack(&out[0]).properties.server_keep_alive,
        None,
        "a value within bounds is kept"
    );
    assert_eq!(s.poll_timeout(), Some(t0 + secs(30)));
}

#[test]
fn pingreq_is_answered() {
    // [MQTT-3.12.4-1]
    let now = Instant::now();
    let mut s = connected(ServerConfig::default(), now, v5("c"));
    s.handle_packet(now, Packet::PingReq).unwrap();
    assert_eq!(transmits(&mut s), [Packet::PingResp]);
}

// ------------------------------------------------------------------------------------------- inbound QoS

#[test]
fn inbound_qos1_is_acknowledged_once_the_broker_has_it() {
    // [MQTT-4.3.2-4]; [MQTT-4.3.2-5]: after PUBACK the same id is a new message.
    let now = Instant::now();
    let mut s = connected(ServerConfig::default(), now, v5("c"));
    s.handle_packet(now, Packet::Publish(publish("a", "1", QoS::AtLeastOnce, 7)))
        .unwrap();
    let (m, ack) = delivered(&mut s);
    assert_eq!(m.payload, "1");
    assert!(transmits(&mut s).is_empty(), "no PUBACK before the broker acknowledges");
    s.acknowledge(ack.unwrap(), ReasonCode::Success);
    assert_eq!(transmits(&mut s), [Packet::PubAck(PubAck::new(id(7)))]);
    s.handle_packet(now, Packet::Publish(publish("a", "2", QoS::AtLeastOnce, 7)))
        .unwrap();
    assert_eq!(delivered(&mut s).0.payload, "2");
}

#[test]
fn inbound_qos2_is_delivered_exactly_once() {
    // [MQTT-4.3.3-8] [MQTT-4.3.3-10] [MQTT-4.3.3-11] [MQTT-4.3.3-12]
    let now = Instant::now();
    let mut s = connected(ServerConfig::default(), now, v5("c"));
    let p = publish("a", "1", QoS::ExactlyOnce, 9);
    s.handle_packet(now, Packet::Publish(p.clone())).unwrap();
    let (_, ack) = delivered(&mut s);
    // A DUP re-send before the broker acknowledged: not delivered again, nothing sent.
    s.handle_packet(now, Packet::Publish(p.clone().dup(true))).unwrap();
    assert!(events(&mut s).is_empty());
    assert!(transmits(&mut s).is_empty());
    s.acknowledge(ack.unwrap(), ReasonCode::Success);
    assert_eq!(transmits(&mut s), [Packet::PubRec(PubRec::new(id(9)))]);
    // A re-send after PUBREC: PUBREC again, no second delivery.
    s.handle_packet(now, Packet::Publish(p.clone().dup(true))).unwrap();
    assert!(events(&mut s).is_empty());
    assert_eq!(transmits(&mut s), [Packet::PubRec(PubRec::new(id(9)))]);
    s.handle_packet(now, Packet::PubRel(PubRel::new(id(9)))).unwrap();
    assert_eq!(transmits(&mut s), [Packet::PubComp(PubComp::new(id(9)))]);
    // After PUBCOMP the id starts a new message.
    s.handle_packet(now, Packet::Publish(p)).unwrap();
    delivered(&mut s);
}

#[test]
fn inbound_qos2_refused_by_the_broker_frees_the_id() {
    // [MQTT-4.3.3-9]: after a PUBREC >= 0x80 the same id is a new message.
    let now = Instant::now();
    let mut s = connected(ServerConfig::default(), now, v5("c"));
    let p = publish("a", "1", QoS::ExactlyOnce, 3);
    s.handle_packet(now, Packet::Publish(p.clone())).unwrap();
    let (_, ack) = delivered(&mut s);
    s.acknowledge(ack.unwrap(), ReasonCode::NotAuthorized);
    assert_eq!(
        transmits(&mut s),
        [Packet::PubRec(
            PubRec::new(id(3)).reason_code(ReasonCode::NotAuthorized)
        )]
    );
    s.handle_packet(now, Packet::Publish(p)).unwrap();
    delivered(&mut s);
}

#[test]
fn inbound_qos2_survives_a_reconnect_without_a_second_delivery() {
    // [MQTT-4.3.3-10] across connections: the id is session state.
    let t0 = Instant::now();
    let mut s = connected(ServerConfig::default(), t0, v5_persistent("c"));
    let p = publish("a", "1", QoS::ExactlyOnce, 5);
    s.handle_packet(t0, Packet::Publish(p.clone())).unwrap();
    let (_, ack) = delivered(&mut s);
    s.acknowledge(ack.unwrap(), ReasonCode::Success);
    s.connection_lost(t0);
    events(&mut s);
    connect(&mut s, t0, v5_persistent("c"));
    s.handle_packet(t0, Packet::Publish(p.dup(true))).unwrap();
    assert!(events(&mut s).is_empty(), "already delivered");
    assert_eq!(transmits(&mut s), [Packet::PubRec(PubRec::new(id(5)))]);
}

#[test]
fn pubrel_for_an_unknown_id_is_answered_with_pubcomp() {
    // [MQTT-4.3.3-11]: PUBREL is always answered; v5 says 0x92 Packet Identifier not found. In 3.1.1 the same
    // statement holds (closing instead would make a client whose PUBCOMP was lost reconnect forever).
    let now = Instant::now();
    let mut s = connected(ServerConfig::default(), now, v5("c"));
    s.handle_packet(now, Packet::PubRel(PubRel::new(id(4)))).unwrap();
    assert_eq!(
        transmits(&mut s),
        [Packet::PubComp(
            PubComp::new(id(4)).reason_code(ReasonCode::PacketIdentifierNotFound)
        )]
    );
    let mut s = connected(ServerConfig::default(), now, v311("c"));
    s.handle_packet(now, Packet::PubRel(PubRel::new(id(4)))).unwrap();
    assert_eq!(transmits(&mut s), [Packet::PubComp(PubComp::new(id(4)))]);
}

#[test]
fn more_inbound_qos_messages_than_receive_maximum_is_an_error() {
    // v5 4.9: 0x93 Receive Maximum exceeded; [MQTT-3.3.4-7] is what the client broke.
    let now = Instant::now();
    let config = ServerConfig {
        receive_maximum: NonZeroU16::new(2).unwrap(),
        ..ServerConfig::default()
    };
    let mut s = connected(config, now, v5("c"));
    s.handle_packet(now, Packet::Publish(publish("a", "1", QoS::AtLeastOnce, 1)))
        .unwrap();
    s.handle_packet(now, Packet::Publish(publish("a", "2", QoS::ExactlyOnce, 2)))
        .unwrap();
    s.handle_packet(now, Packet::Publish(publish("a", "q0", QoS::AtMostOnce, 0)))
        .unwrap();
    let err = s
        .handle_packet(now, Packet::Publish(publish("a", "3", QoS::AtLeastOnce, 3)))
        .unwrap_err();
    assert_eq!(err, Error::ReceiveMaximumExceeded);
    assert_eq!(
        disconnect_reason(&transmits(&mut s)[0]),
        ReasonCode::ReceiveMaximumExceeded
    );
}

#[test]
fn inbound_topic_aliases_are_resolved_and_checked() {
    // [MQTT-3.3.2-12]: aliases 1..=maximum are accepted; above is 0x94; an unmapped alias is a protocol error.
    let now = Instant::now();
    let config = ServerConfig {
        topic_alias_maximum: 2,
        ..ServerConfig::default()
    };
    let mut s = connected(config.clone(), now, v5("c"));
    let mut first = publish("sensors/1", "a", QoS::AtMostOnce, 0);
    first.properties.topic_alias = NonZeroU16::new(2);
    s.handle_packet(now, Packet::Publish(first)).unwrap();
    assert_eq!(delivered(&mut s).0.topic.as_str(), "sensors/1");
    let second = mqtt_codec::Publish::alias_only(NonZeroU16::new(2).unwrap(), "b");
    s.handle_packet(now, Packet::Publish(second)).unwrap();
    let (m, _) = delivered(&mut s);
    // The alias is resolved into the topic; a `Message` has no alias to carry on.
    assert_eq!(m.topic.as_str(), "sensors/1");

    let unmapped = mqtt_codec::Publish::alias_only(NonZeroU16::new(1).unwrap(), "c");
    assert_eq!(
        s.handle_packet(now, Packet::Publish(unmapped))
            .unwrap_err()
            .reason_code(),
        ReasonCode::ProtocolError
    );

    let mut s = connected(config, now, v5("c"));
    let mut too_big = publish("x", "a", QoS::AtMostOnce, 0);
    too_big.properties.topic_alias = NonZeroU16::new(3);
    assert_eq!(
        s.handle_packet(now, Packet::Publish(too_big)).unwrap_err(),
        Error::TopicAliasInvalid { alias: 3 }
    );
    assert_eq!(disconnect_reason(&transmits(&mut s)[0]), ReasonCode::TopicAliasInvalid);
}

#[test]
fn topic_aliases_do_not_survive_a_reconnect() {
    // [MQTT-3.3.2-7]
    let now = Instant::now();
    let mut s = connected(ServerConfig::default(), now, v5_persistent("c"));
    let mut first = publish("t", "a", QoS::AtMostOnce, 0);
    first.properties.topic_alias = NonZeroU16::new(1);
    s.handle_packet(now, Packet::Publish(first)).unwrap();
    s.connection_lost(now);
    events(&mut s);
    connect(&mut s, now, v5_persistent("c"));
    let reuse = mqtt_codec::Publish::alias_only(NonZeroU16::new(1).unwrap(), "b");
    assert!(s.handle_packet(now, Packet::Publish(reuse)).is_err());
}

#[test]
fn publish_above_maximum_qos_or_with_unavailable_retain_is_refused() {
    // [MQTT-3.2.2-11] (0x9B) and [MQTT-3.2.2-14] (0x9A).
    let now = Instant::now();
    let config = ServerConfig {
        maximum_qos: QoS::AtLeastOnce,
        retain_available: false,
        ..ServerConfig::default()
    };
    let mut s = connected(config.clone(), now, v5("c"));
    s.handle_packet(now, Packet::Publish(publish("a", "x", QoS::ExactlyOnce, 1)))
        .unwrap_err();
    assert_eq!(disconnect_reason(&transmits(&mut s)[0]), ReasonCode::QoSNotSupported);
    let mut s = connected(config, now, v5("c"));
    s.handle_packet(now, Packet::Publish(publish("a", "x", QoS::AtMostOnce, 0).retain(true)))
        .unwrap_err();
    assert_eq!(disconnect_reason(&transmits(&mut s)[0]), ReasonCode::RetainNotSupported);
}

#[test]
fn a_codec_error_closes_with_its_reason_code() {
    // v5 3.1.2.11.4 / 4.13: a packet above our Maximum Packet Size gets DISCONNECT 0x95.
    let now = Instant::now();
    let mut s = connected(ServerConfig::default(), now, v5("c"));
    s.handle_decode_error(now, &mqtt_codec::Error::PacketTooLarge { size: 9000, max: 4096 });
    assert_eq!(disconnect_reason(&transmits(&mut s)[0]), ReasonCode::PacketTooLarge);
    assert!(!s.is_connected());
}

#[test]
fn packets_only_a_server_sends_are_protocol_errors() {
    let now = Instant::now();
    for packet in [
        Packet::PingResp,
        Packet::ConnAck(Box::new(mqtt_codec::ConnAck::new(ReasonCode::Success, false))),
    ] {
        let mut s = connected(ServerConfig::default(), now, v5("c"));
        assert_eq!(
            s.handle_packet(now, packet).unwrap_err().reason_code(),
            ReasonCode::ProtocolError
        );
        assert_eq!(disconnect_reason(&transmits(&mut s)[0]), ReasonCode::ProtocolError);
    }
}

// ------------------------------------------------------------------------------------------- outbound QoS

#[test]
fn outbound_ids_are_unique_while_in_flight_and_acks_come_in_any_order() {
    // [MQTT-2.2.1-4] [MQTT-4.3.2-1] [MQTT-4.3.2-2] [MQTT-4.3.2-3]
    let now = Instant::now();
    let mut s = connected(ServerConfig::default(), now, v5("c"));
    for i in 0..5 {
        s.publish(now, msg("a", ["0", "1", "2", "3", "4"][i], QoS::AtLeastOnce));
    }
    let sent: Vec<_> = transmits(&mut s).iter().map(|p| as_publish(p).clone()).collect();
    let ids: std::collections::HashSet<_> = sent.iter().map(|p| p.packet_id.unwrap()).collect();
    assert_eq!(ids.len(), 5);
    assert!(sent.iter().all(|p| !p.dup && p.qos == QoS::AtLeastOnce));
    for p in sent.iter().rev() {
        s.handle_packet(now, Packet::PubAck(PubAck::new(p.packet_id.unwrap())))
            .unwrap();
    }
    assert_eq!(s.inflight_len(), 0);
    // A PUBACK for nothing in flight is ignored.
    s.handle_packet(now, Packet::PubAck(PubAck::new(id(999)))).unwrap();
    assert!(s.is_connected());
}

#[test]
fn outbound_qos2_exchange() {
    // [MQTT-4.3.3-1] [MQTT-4.3.3-3] [MQTT-4.3.3-4] [MQTT-4.3.3-5]
    let now = Instant::now();
    let mut s = connected(ServerConfig::default(), now, v5("c"));
    s.publish(now, msg("a", "x", QoS::ExactlyOnce));
    let pid = as_publish(&transmits(&mut s)[0]).packet_id.unwrap();
    s.handle_packet(now, Packet::PubRec(PubRec::new(pid))).unwrap();
    assert_eq!(transmits(&mut s), [Packet::PubRel(PubRel::new(pid))]);
    assert_eq!(s.inflight_len(), 1, "PUBREL is unacknowledged until PUBCOMP");
    s.handle_packet(now, Packet::PubComp(PubComp::new(pid))).unwrap();
    assert_eq!(s.inflight_len(), 0);
}

#[test]
fn pubrec_with_an_error_code_ends_the_exchange() {
    // [MQTT-4.4.0-2]: treated as acknowledged, not retransmitted, no PUBREL.
    let now = Instant::now();
    let mut s = connected(ServerConfig::default(), now, v5_persistent("c"));
    s.publish(now, msg("a", "x", QoS::ExactlyOnce));
    let pid = as_publish(&transmits(&mut s)[0]).packet_id.unwrap();
    s.handle_packet(
        now,
        Packet::PubRec(PubRec::new(pid).reason_code(ReasonCode::QuotaExceeded)),
    )
    .unwrap();
    assert!(transmits(&mut s).is_empty());
    assert_eq!(s.inflight_len(), 0);
    s.connection_lost(now);
    let out = connect(&mut s, now, v5_persistent("c"));
    assert_eq!(out.len(), 1, "nothing to re-send: {out:?}");
}

#[test]
fn client_receive_maximum_holds_messages_back_but_not_other_packets() {
    // [MQTT-3.3.4-9] [MQTT-3.3.4-10]
    let now = Instant::now();
    let mut s = connected(
        ServerConfig::default(),
        now,
        with_props(v5("c"), |p| p.receive_maximum = receive_maximum(2)),
    );
    for payload in ["1", "2", "3"] {
        s.publish(now, msg("a", payload, QoS::AtLeastOnce));
    }
    s.publish(now, msg("a", "q0", QoS::AtMostOnce));
    let out = transmits(&mut s);
    assert_eq!(out.len(), 2, "{out:?}");
    assert_eq!(
        s.queued_len(),
        2,
        "the QoS 0 message waits behind the QoS 1 one to keep order"
    );
    s.handle_packet(now, Packet::PingReq).unwrap();
    assert_eq!(transmits(&mut s), [Packet::PingResp]);
    let first = as_publish(&out[0]).packet_id.unwrap();
    s.handle_packet(now, Packet::PubAck(PubAck::new(first))).unwrap();
    let out = transmits(&mut s);
    let payloads: Vec<_> = out.iter().map(|p| as_publish(p).payload.clone()).collect();
    assert_eq!(payloads, ["3", "q0"]);
}

#[test]
fn send_maximum_caps_what_is_in_flight_below_the_clients_receive_maximum() {
    // The server may send fewer than the client's Receive Maximum; here 2 of the client's 100, and a 3.1.1
    // client (which announces none) the same.
    let now = Instant::now();
    let config = ServerConfig {
        send_maximum: NonZeroU16::new(2).unwrap(),
        ..ServerConfig::default()
    };
    for c in [
        with_props(v5("c"), |p| p.receive_maximum = receive_maximum(100)),
        v311("c"),
    ] {
        let mut s = connected(config.clone(), now, c);
        for payload in ["1", "2", "3", "4"] {
            s.publish(now, msg("a", payload, QoS::AtLeastOnce));
        }
        let out = transmits(&mut s);
        let payloads: Vec<_> = out.iter().map(|p| as_publish(p).payload.clone()).collect();
        assert_eq!(payloads, ["1", "2"]);
        assert_eq!(s.queued_len(), 2);
        s.handle_packet(now, Packet::PubAck(PubAck::new(as_publish(&out[0]).packet_id.unwrap())))
            .unwrap();
        let out = transmits(&mut s);
        let payloads: Vec<_> = out.iter().map(|p| as_publish(p).payload.clone()).collect();
        assert_eq!(payloads, ["3"]);
    }
    // A client asking for fewer than the cap gets what it asked for.
    let mut s = connected(
        config,
        now,
        with_props(v5("c"), |p| p.receive_maximum = receive_maximum(1)),
    );
    for payload in ["1", "2"] {
        s.publish(now, msg("a", payload, QoS::AtLeastOnce));
    }
    assert_eq!(transmits(&mut s).len(), 1);
}

#[test]
fn messages_larger_than_the_clients_maximum_packet_size_are_dropped() {
    // [MQTT-3.1.2-24] [MQTT-3.1.2-25]: discarded without sending, as if sent; the id and quota are not held.
    let now = Instant::now();
    let mut s = connected(
        ServerConfig::default(),
        now,
        with_props(v5("c"), |p| {
            p.maximum_packet_size = max_packet(64);
            p.receive_maximum = receive_maximum(1);
        }),
    );
    let big = Message::new(topic("a"), vec![0u8; 100], QoS::AtLeastOnce);
    s.publish(now, big);
    s.publish(now, msg("a", "small", QoS::AtLeastOnce));
    let out = transmits(&mut s);
    assert_eq!(out.len(), 1);
    assert_eq!(as_publish(&out[0]).payload, "small");
    let evs = events(&mut s);
    assert!(matches!(
        evs.as_slice(),
        [Event::Dropped {
            reason: DropReason::PacketTooLarge,
            ..
        }]
    ));
}

#[test]
fn a_qos0_message_refused_for_size_comes_back_with_its_properties() {
    // QoS 0 properties move into the PUBLISH rather than being copied; a refused message must still come
    // back whole in Event::Dropped [MQTT-3.1.2-25], and a sent one must carry them (v5) or none (3.1.1).
    let now = Instant::now();
    let user = UserProperty {
        name: ByteStr::from_static("k"),
        value: ByteStr::from_static("v"),
    };
    let mut m = Message::new(topic("a"), vec![0u8; 100], QoS::AtMostOnce).with_expiry_interval(now, 60);
    m.properties.user_properties.push(user.clone());
    m.properties.content_type = Some(ByteStr::from_static("text/plain"));
    let small = with_props(v5("c"), |p| p.maximum_packet_size = max_packet(64));
    let mut s = connected(ServerConfig::default(), now, small);
    s.publish(now, m.clone());
    assert!(transmits(&mut s).is_empty());
    match events(&mut s).as_slice() {
        [
            Event::Dropped {
                message,
                reason: DropReason::PacketTooLarge,
            },
        ] => assert_eq!(message, &m),
        other => panic!("expected the message back, got {other:?}"),
    }
    let mut s = connected(ServerConfig::default(), now, v5("c"));
    s.publish(now, m.clone());
    let out = transmits(&mut s);
    let p = as_publish(&out[0]);
    assert_eq!(p.properties.user_properties, [user]);
    assert_eq!(p.properties.message_expiry_interval, Some(60));
    assert_eq!(p.properties.content_type, m.properties.content_type);
    let mut s = connected(ServerConfig::default(), now, v311("c"));
    s.publish(now, m.clone());
    let out = transmits(&mut s);
    assert_eq!(as_publish(&out[0]).properties, Default::default());
}

#[test]
fn outbound_topic_aliases_are_assigned_within_the_clients_maximum() {
    // [MQTT-3.1.2-26] [MQTT-3.3.2-8] [MQTT-3.3.2-11]
    let now = Instant::now();
    let mut s = connected(
        ServerConfig::default(),
        now,
        with_props(v5("c"), |p| p.topic_alias_maximum = Some(1)),
    );
    for t in ["a/b", "a/b", "c/d"] {
        s.publish(now, msg(t, "x", QoS::AtMostOnce));
    }
    let out: Vec<_> = transmits(&mut s).iter().map(|p| as_publish(p).clone()).collect();
    let one = NonZeroU16::new(1);
    assert_eq!((out[0].topic.as_str(), out[0].properties.topic_alias), ("a/b", one));
    assert_eq!((out[1].topic.as_str(), out[1].properties.topic_alias), ("", one));
    assert_eq!((out[2].topic.as_str(), out[2].properties.topic_alias), ("c/d", None));
}

#[test]
fn no_outbound_topic_aliases_when_the_client_allows_none() {
    // [MQTT-3.1.2-27]
    let now = Instant::now();
    let mut s = connected(ServerConfig::default(), now, v5("c"));
    s.publish(now, msg("a", "1", QoS::AtMostOnce));
    s.publish(now, msg("a", "2", QoS::AtMostOnce));
    assert!(
        transmits(&mut s)
            .iter()
            .all(|p| as_publish(p).properties.topic_alias.is_none())
    );
}

#[test]
fn message_expiry_is_decremented_and_expired_messages_are_dropped() {
    // [MQTT-3.3.2-5] [MQTT-3.3.2-6]
    let t0 = Instant::now();
    let mut s = connected(ServerConfig::default(), t0, v5_persistent("c"));
    s.connection_lost(t0);
    events(&mut s);
    s.publish(t0, msg("a", "short", QoS::AtLeastOnce).with_expiry_interval(t0, 10));
    s.publish(t0, msg("a", "long", QoS::AtLeastOnce).with_expiry_interval(t0, 100));
    let out = connect(&mut s, t0 + secs(30), v5_persistent("c"));
    assert_eq!(out.len(), 2, "{out:?}");
    let p = as_publish(&out[1]);
    assert_eq!(p.payload, "long");
    assert_eq!(p.properties.message_expiry_interval, Some(70));
    let evs = events(&mut s);
    assert!(
        matches!(
            evs.as_slice(),
            [Event::Connect(_), Event::Dropped { reason: DropReason::Expired, message }] if message.payload == "short"
        ) || matches!(
            evs.as_slice(),
            [Event::Dropped { reason: DropReason::Expired, message }] if message.payload == "short"
        ),
        "{evs:?}"
    );
}

#[test]
fn qos0_messages_are_not_queued_for_a_disconnected_client_by_default() {
    let now = Instant::now();
    let mut s = connected(ServerConfig::default(), now, v5_persistent("c"));
    s.connection_lost(now);
    events(&mut s);
    s.publish(now, msg("a", "x", QoS::AtMostOnce));
    assert!(matches!(
        events(&mut s).as_slice(),
        [Event::Dropped {
            reason: DropReason::Offline,
            ..
        }]
    ));
}

#[test]
fn the_offline_queue_is_bounded_with_the_configured_policy() {
    let now = Instant::now();
    for (policy, kept, lost) in [
        (OverflowPolicy::DropNewest, ["1", "2"], "3"),
        (OverflowPolicy::DropOldest, ["2", "3"], "1"),
    ] {
        let config = ServerConfig {
            max_queued_messages: 2,
            overflow_policy: policy,
            ..ServerConfig::default()
        };
        let mut s = connected(config, now, v5_persistent("c"));
        s.connection_lost(now);
        events(&mut s);
        for payload in ["1", "2", "3"] {
            s.publish(now, msg("a", payload, QoS::AtLeastOnce));
        }
        let evs = events(&mut s);
        assert!(
            matches!(
                evs.as_slice(),
                [Event::Dropped { reason: DropReason::QueueFull, message }] if message.payload == lost
            ),
            "{evs:?}"
        );
        let out = connect(&mut s, now, v5_persistent("c"));
        let payloads: Vec<_> = out[1..].iter().map(|p| as_publish(p).payload.clone()).collect();
        assert_eq!(payloads, kept);
    }
}

// ------------------------------------------------------------------------------------------- resume

#[test]
fn resume_resends_in_flight_messages_with_dup_and_original_ids_in_order() {
    // [MQTT-4.4.0-1] [MQTT-4.6.0-1] [MQTT-3.3.1-1] [MQTT-4.3.3-6]
    let t0 = Instant::now();
    let mut s = connected(ServerConfig::default(), t0, v5_persistent("c"));
    s.publish(t0, msg("a", "q1", QoS::AtLeastOnce));
    s.publish(t0, msg("a", "q2-released", QoS::ExactlyOnce));
    s.publish(t0, msg("a", "q2", QoS::ExactlyOnce));
    let first: Vec<_> = transmits(&mut s).iter().map(|p| as_publish(p).clone()).collect();
    let released = first[1].packet_id.unwrap();
    s.handle_packet(t0, Packet::PubRec(PubRec::new(released))).unwrap();
    transmits(&mut s);
    s.connection_lost(t0);
    events(&mut s);
    s.publish(t0, msg("a", "queued", QoS::AtLeastOnce));

    let out = connect(&mut s, t0, v5_persistent("c"));
    assert!(connack(&out[0]).session_present);
    let q1 = as_publish(&out[1]);
    assert_eq!(
        (q1.payload.as_ref(), q1.dup, q1.packet_id),
        (&b"q1"[..], true, first[0].packet_id)
    );
    assert_eq!(
        out[2],
        Packet::PubRel(PubRel::new(released)),
        "PUBREL, never the PUBLISH again"
    );
    let q2 = as_publish(&out[3]);
    assert_eq!(
        (q2.payload.as_ref(), q2.dup, q2.packet_id),
        (&b"q2"[..], true, first[2].packet_id)
    );
    let queued = as_publish(&out[4]);
    assert_eq!((queued.payload.as_ref(), queued.dup), (&b"queued"[..], false));
    assert!(!first.iter().any(|p| p.packet_id == queued.packet_id), "a fresh id");
}

#[test]
fn resume_with_a_smaller_receive_maximum_defers_resends_in_order() {
    // [MQTT-3.3.4-9] holds on resume too: the re-sends beyond the new Receive Maximum wait, keep their original
    // ids [MQTT-4.4.0-1] and their order [MQTT-4.6.0-1]; PUBREL is never held back [MQTT-3.3.4-10].
    let t0 = Instant::now();
    let mut s = connected(ServerConfig::default(), t0, v5_persistent("c"));
    for payload in ["a", "b", "c"] {
        s.publish(t0, msg("t", payload, QoS::AtLeastOnce));
    }
    s.publish(t0, msg("t", "released", QoS::ExactlyOnce));
    let first: Vec<_> = transmits(&mut s).iter().map(|p| as_publish(p).clone()).collect();
    let released = first[3].packet_id.unwrap();
    s.handle_packet(t0, Packet::PubRec(PubRec::new(released))).unwrap();
    transmits(&mut s);
    s.connection_lost(t0);
    events(&mut s);

    let c = with_props(v5_persistent("c"), |p| p.receive_maximum = receive_maximum(2));
    let out = connect(&mut s, t0, c);
    assert_eq!(out.len(), 4, "CONNACK, two PUBLISH re-sends, the PUBREL: {out:?}");
    for (packet, sent) in out[1..3].iter().zip(&first) {
        let p = as_publish(packet);
        assert_eq!((&p.payload, p.dup, p.packet_id), (&sent.payload, true, sent.packet_id));
    }
    assert_eq!(out[3], Packet::PubRel(PubRel::new(released)));

    // Three unacknowledged against a maximum of two: completing one frees nothing yet.
    s.handle_packet(t0, Packet::PubComp(PubComp::new(released))).unwrap();
    assert!(transmits(&mut s).is_empty());
    s.handle_packet(t0, Packet::PubAck(PubAck::new(first[0].packet_id.unwrap())))
        .unwrap();
    let out = transmits(&mut s);
    assert_eq!(out.len(), 1);
    let c = as_publish(&out[0]);
    assert_eq!(
        (c.payload.as_ref(), c.dup, c.packet_id),
        (&b"c"[..], true, first[2].packet_id)
    );
}

#[test]
fn session_takeover_disconnects_the_old_connection() {
    // [MQTT-3.1.4-3]: DISCONNECT 0x8E; the will of the old connection follows the usual rules.
    let t0 = Instant::now();
    let will = Will::new(topic("w"), "gone");
    let mut s = connected(ServerConfig::default(), t0, v5_persistent("c").will(will));
    s.take_over(t0);
    assert_eq!(disconnect_reason(&transmits(&mut s)[0]), ReasonCode::SessionTakenOver);
    let evs = events(&mut s);
    assert_eq!(closed_events(&evs), [CloseReason::Server(ReasonCode::SessionTakenOver)]);
    assert!(evs.iter().any(|e| matches!(e, Event::Will(_))));
    let out = connect(&mut s, t0, v5_persistent("c"));
    assert!(connack(&out[0]).session_present);
}

// ------------------------------------------------------------------------------------------- will

#[test]
fn will_is_published_on_an_abnormal_close() {
    // [MQTT-3.1.2-8] [MQTT-3.1.2-10]
    let now = Instant::now();
    let will = Will::new(topic("status/c"), "offline")
        .qos(QoS::AtLeastOnce)
        .retain(true);
    let mut s = connected(ServerConfig::default(), now, v5("c").will(will));
    s.connection_lost(now);
    let evs = events(&mut s);
    let will = evs.iter().find_map(|e| match e {
        Event::Will(m) => Some(m.clone()),
        _ => None,
    });
    let will = will.expect("will published");
    assert_eq!(
        (will.topic.as_str(), will.qos, will.retain),
        ("status/c", QoS::AtLeastOnce, true)
    );
}

#[test]
fn the_client_id_can_be_shared_with_the_broker() {
    let now = Instant::now();
    let mut s = connected(ServerConfig::default(), now, v5("device-7"));
    assert_eq!(s.client_id(), "device-7");
    let other: std::sync::Arc<str> = "device-8".into();
    s.share_client_id(&other);
    assert_eq!(s.client_id(), "device-7", "a different id is not taken");
    assert_eq!(std::sync::Arc::strong_count(&other), 1);
    let same: std::sync::Arc<str> = "device-7".into();
    s.share_client_id(&same);
    assert_eq!(
        std::sync::Arc::strong_count(&same),
        2,
        "the session keeps the broker's copy"
    );
    assert_eq!(s.snapshot().client_id, "device-7");
}

#[test]
fn a_delayed_will_survives_a_refused_reconnect() {
    // The will of a closed connection waits for its delay [MQTT-3.1.2-8]; a new CONNECT the broker refuses does
    // not continue the session, so it does not cancel the will [MQTT-3.1.3-9].
    let now = Instant::now();
    let mut s = connected(ServerConfig::default(), now, v5_persistent("c").will(delayed_will(10)));
    s.connection_lost(now);
    assert!(!events(&mut s).iter().any(|e| matches!(e, Event::Will(_))));
    assert_eq!(s.poll_timeout(), Some(now + secs(10)));
    s.handle_packet(now + secs(1), Packet::Connect(Box::new(v5_persistent("c"))))
        .unwrap();
    s.reject(now + secs(1), ReasonCode::NotAuthorized).unwrap();
    assert_eq!(s.poll_timeout(), Some(now + secs(10)), "the will still waits");
    s.handle_timeout(now + secs(10));
    assert!(events(&mut s).iter().any(|e| matches!(e, Event::Will(_))));
}

#[test]
fn will_is_discarded_on_a_normal_disconnect() {
    // [MQTT-3.14.4-3] [MQTT-3.1.2-10]
    let now = Instant::now();
    for version in ["v5", "v311"] {
        let c = if version == "v5" { v5("c") } else { v311("c") };
        let mut s = connected(ServerConfig::default(), now, c.will(Will::new(topic("w"), "x")));
        s.handle_packet(
            now,
            Packet::Disconnect(Disconnect::new(ReasonCode::NORMAL_DISCONNECTION)),
        )
        .unwrap();
        let evs = events(&mut s);
        assert!(!evs.iter().any(|e| matches!(e, Event::Will(_))), "{version}: {evs:?}");
        assert_eq!(
            closed_events(&evs),
            [CloseReason::ClientDisconnect(ReasonCode::NORMAL_DISCONNECTION)]
        );
    }
}

#[test]
fn disconnect_with_will_message_publishes_the_will() {
    // v5 reason code 0x04.
    let now = Instant::now();
    let mut s = connected(ServerConfig::default(), now, v5("c").will(Will::new(topic("w"), "x")));
    s.handle_packet(
        now,
        Packet::Disconnect(Disconnect::new(ReasonCode::DisconnectWithWillMessage)),
    )
    .unwrap();
    assert!(events(&mut s).iter().any(|e| matches!(e, Event::Will(_))));
}

fn delayed_will(delay: u32) -> Will {
    Will::new(topic("w"), "x").properties(WillProperties {
        will_delay_interval: Some(delay),
        ..Default::default()
    })
}

#[test]
fn will_delay_postpones_the_will_and_a_reconnect_cancels_it() {
    // [MQTT-3.1.2-8] [MQTT-3.1.3-9]
    let t0 = Instant::now();
    let mut s = connected(ServerConfig::default(), t0, v5_persistent("c").will(delayed_will(10)));
    s.connection_lost(t0);
    assert!(!events(&mut s).iter().any(|e| matches!(e, Event::Will(_))));
    assert_eq!(s.poll_timeout(), Some(t0 + secs(10)));
    s.handle_timeout(t0 + secs(10));
    assert!(matches!(events(&mut s).as_slice(), [Event::Will(_)]));

    let mut s = connected(ServerConfig::default(), t0, v5_persistent("c").will(delayed_will(10)));
    s.connection_lost(t0);
    connect(&mut s, t0 + secs(5), v5_persistent("c"));
    s.handle_timeout(t0 + secs(20));
    assert!(!events(&mut s).iter().any(|e| matches!(e, Event::Will(_))));
}

#[test]
fn will_goes_out_when_the_session_ends_before_the_will_delay() {
    // [MQTT-3.1.2-8]: whichever comes first, the will delay or the end of the session.
    let t0 = Instant::now();
    let c = with_props(v5("c").clean_start(false).will(delayed_will(100)), |p| {
        p.session_expiry_interval = Some(5)
    });
    let mut s = connected(ServerConfig::default(), t0, c);
    s.connection_lost(t0);
    events(&mut s);
    assert_eq!(s.poll_timeout(), Some(t0 + secs(5)));
    s.handle_timeout(t0 + secs(5));
    assert!(matches!(
        events(&mut s).as_slice(),
        [Event::Will(_), Event::SessionEnded]
    ));
    assert!(s.is_ended());
}

#[test]
fn a_clean_start_reconnect_publishes_a_will_held_for_its_delay() {
    // The old session ends with the Clean Start [MQTT-3.1.2-4], which is before the will delay: the will goes
    // out [MQTT-3.1.2-8]. Only a continued session cancels it [MQTT-3.1.3-9] (previous test).
    let t0 = Instant::now();
    let mut s = connected(ServerConfig::default(), t0, v5_persistent("c").will(delayed_will(10)));
    s.connection_lost(t0);
    events(&mut s);
    let out = connect(&mut s, t0 + secs(1), v5("c"));
    assert!(!connack(&out[0]).session_present);
    let evs = events(&mut s);
    assert!(matches!(evs.as_slice(), [Event::Will(_)]), "{evs:?}");
    // Published once: the delay timer is gone with the old session.
    s.handle_timeout(t0 + secs(20));
    assert!(events(&mut s).is_empty());
}

#[test]
fn discarding_a_connected_session_closes_it_and_publishes_its_delayed_will() {
    let t0 = Instant::now();
    let mut s = connected(ServerConfig::default(), t0, v5_persistent("c").will(delayed_will(10)));
    s.discard(t0);
    assert_eq!(disconnect_reason(&transmits(&mut s)[0]), ReasonCode::SessionTakenOver);
    let evs = events(&mut s);
    assert_eq!(closed_events(&evs), [CloseReason::Server(ReasonCode::SessionTakenOver)]);
    assert!(
        matches!(evs.as_slice(), [Event::Closed(_), Event::Will(_), Event::SessionEnded]),
        "{evs:?}"
    );
    assert!(s.is_ended());
    assert_eq!(s.poll_timeout(), None);
    // A disconnected session with nothing held just ends; an ended one stays ended.
    let mut s = connected(ServerConfig::default(), t0, v5_persistent("c"));
    s.connection_lost(t0);
    events(&mut s);
    s.discard(t0);
    s.discard(t0);
    assert!(matches!(events(&mut s).as_slice(), [Event::SessionEnded]));
}

// ------------------------------------------------------------------------------------------- session expiry

#[test]
fn session_expiry_zero_ends_the_session_with_the_connection() {
    // [MQTT-3.1.2-23] (only a non-zero interval keeps state), [MQTT-4.1.0-2]
    let now = Instant::now();
    let mut s = connected(ServerConfig::default(), now, v5("c").clean_start(false));
    s.connection_lost(now);
    assert_eq!(
        events(&mut s),
        [Event::Closed(CloseReason::ConnectionLost), Event::SessionEnded]
    );
    assert!(s.is_ended());
}

#[test]
fn session_state_is_kept_until_the_expiry_interval_passes() {
    // [MQTT-3.1.2-23] [MQTT-4.1.0-2]
    let t0 = Instant::now();
    let c = with_props(v5("c").clean_start(false), |p| p.session_expiry_interval = Some(60));
    let mut s = connected(ServerConfig::default(), t0, c.clone());
    s.publish(t0, msg("a", "x", QoS::AtLeastOnce));
    s.connection_lost(t0);
    events(&mut s);
    assert_eq!(s.poll_timeout(), Some(t0 + secs(60)));
    s.handle_timeout(t0 + secs(59));
    assert!(!s.is_ended());
    s.handle_timeout(t0 + secs(60));
    // The unacknowledged message is handed back (a broker re-routes shared-subscription messages, v5 4.8.2).
    assert_eq!(
        events(&mut s),
        [
            Event::Dropped {
                message: msg("a", "x", QoS::AtLeastOnce),
                reason: DropReason::SessionEnded
            },
            Event::SessionEnded
        ]
    );
    assert_eq!(s.inflight_len(), 0);
}

#[test]
fn a_clean_start_hands_back_what_the_old_session_had_not_delivered() {
    let t0 = Instant::now();
    let c = with_props(v5("c").clean_start(false), |p| p.session_expiry_interval = Some(60));
    let mut s = connected(ServerConfig::default(), t0, c);
    s.publish(t0, msg("a", "sent", QoS::AtLeastOnce));
    s.connection_lost(t0);
    s.publish(t0, msg("a", "queued", QoS::AtLeastOnce));
    events(&mut s);
    connect(&mut s, t0 + secs(1), v5("c"));
    let handed_back: Vec<_> = events(&mut s)
        .into_iter()
        .filter_map(|e| match e {
            Event::Dropped {
                message,
                reason: DropReason::SessionEnded,
            } => Some(message.payload),
            _ => None,
        })
        .collect();
    assert_eq!(handed_back, ["sent", "queued"]);
    assert_eq!((s.inflight_len(), s.queued_len()), (0, 0));
}

#[test]
fn v311_clean_session_0_never_expires() {
    let t0 = Instant::now();
    let mut s = connected(ServerConfig::default(), t0, v311("c").clean_start(false));
    s.connection_lost(t0);
    assert_eq!(s.poll_timeout(), None);
    let out = connect(&mut s, t0 + secs(1_000_000), v311("c").clean_start(false));
    assert!(connack(&out[0]).session_present);
}

#[test]
fn disconnect_may_change_the_session_expiry_but_not_from_zero() {
    // v5 3.14.2.2.2: setting a non-zero Session Expiry Interval in DISCONNECT after 0 in CONNECT is a Protocol
    // Error.
    let t0 = Instant::now();
    let props = DisconnectProperties {
        session_expiry_interval: Some(30),
        ..Default::default()
    };
    let mut s = connected(ServerConfig::default(), t0, v5("c"));
    let err = s
        .handle_packet(
            t0,
            Packet::Disconnect(Disconnect::new(ReasonCode::Success).properties(props.clone())),
        )
        .unwrap_err();
    assert_eq!(err, Error::SessionExpiryAfterZero);
    assert_eq!(disconnect_reason(&transmits(&mut s)[0]), ReasonCode::ProtocolError);

    let mut s = connected(ServerConfig::default(), t0, v5_persistent("c"));
    s.handle_packet(
        t0,
        Packet::Disconnect(Disconnect::new(ReasonCode::Success).properties(props)),
    )
    .unwrap();
    assert_eq!(s.session_expiry_interval(), 30);
    assert_eq!(s.poll_timeout(), Some(t0 + secs(30)));
}

// ------------------------------------------------------------------------------------------- subscriptions

fn filter(f: &'static str) -> TopicFilter {
    TopicFilter::from_static(f)
}

#[test]
fn subscribe_is_answered_by_the_broker_with_one_code_per_filter() {
    // [MQTT-3.8.4-1] [MQTT-3.8.4-2] [MQTT-3.9.3-1] [MQTT-3.9.3-2] [MQTT-3.8.4-3]; `existed` serves
    // Retain Handling 1 [MQTT-3.3.1-10].
    let now = Instant::now();
    let mut s = connected(ServerConfig::default(), now, v5("c"));
    let sub = Subscribe::new(
        id(11),
        [
            (filter("a/+"), SubscriptionOptions::new(QoS::ExactlyOnce)),
            (filter("secret/#"), SubscriptionOptions::new(QoS::AtMostOnce)),
        ],
    );
    s.handle_packet(now, Packet::Subscribe(sub)).unwrap();
    let Some(Event::Subscribe(req)) = s.poll_event() else {
        panic!()
    };
    assert_eq!(req.packet_id, id(11));
    assert!(req.filters.iter().all(|f| !f.existed));
    assert_eq!(
        s.acknowledge_subscribe(id(11), vec![ReasonCode::Success]),
        Err(Error::ReasonCountMismatch { expected: 2, given: 1 })
    );
    s.acknowledge_subscribe(id(11), vec![ReasonCode::GrantedQoS1, ReasonCode::NotAuthorized])
        .unwrap();
    let out = transmits(&mut s);
    let Packet::SubAck(ack) = &out[0] else {
        panic!("{out:?}")
    };
    assert_eq!(ack.packet_id, id(11));
    assert_eq!(ack.reason_codes, [ReasonCode::GrantedQoS1, ReasonCode::NotAuthorized]);
    let subs = s.subscriptions();
    assert_eq!(subs.len(), 1);
    assert_eq!(
        (subs[0].filter.as_str(), subs[0].options.qos),
        ("a/+", QoS::AtLeastOnce)
    );

    // The same filter again replaces the subscription and is flagged as existing.
    s.handle_packet(
        now,
        Packet::Subscribe(Subscribe::new(
            id(12),
            [(filter("a/+"), SubscriptionOptions::new(QoS::AtMostOnce))],
        )),
    )
    .unwrap();
    let Some(Event::Subscribe(req)) = s.poll_event() else {
        panic!()
    };
    assert!(req.filters[0].existed);
    s.acknowledge_subscribe(id(12), vec![ReasonCode::GRANTED_QOS0]).unwrap();
    assert_eq!(s.subscriptions().len(), 1);
    assert_eq!(s.subscriptions()[0].options.qos, QoS::AtMostOnce);
    assert_eq!(
        s.acknowledge_subscribe(id(12), vec![ReasonCode::GRANTED_QOS0]),
        Err(Error::UnknownSubscribe(12))
    );
}

#[test]
fn unsubscribe_is_answered_even_when_nothing_matched() {
    // [MQTT-3.10.4-1] [MQTT-3.10.4-4] [MQTT-3.10.4-5] [MQTT-3.11.3-1]
    let now = Instant::now();
    let mut s = connected(ServerConfig::default(), now, v5("c"));
    s.handle_packet(
        now,
        Packet::Subscribe(Subscribe::new(
            id(1),
            [(filter("a/#"), SubscriptionOptions::new(QoS::AtLeastOnce))],
        )),
    )
    .unwrap();
    events(&mut s);
    s.acknowledge_subscribe(id(1), vec![ReasonCode::GrantedQoS1]).unwrap();
    transmits(&mut s);
    s.handle_packet(
        now,
        Packet::Unsubscribe(Unsubscribe::new(id(2), [filter("a/+"), filter("a/#")])),
    )
    .unwrap();
    let out = transmits(&mut s);
    let Packet::UnsubAck(ack) = &out[0] else {
        panic!("{out:?}")
    };
    assert_eq!(ack.packet_id, id(2));
    assert_eq!(
        ack.reason_codes,
        [ReasonCode::NoSubscriptionExisted, ReasonCode::Success]
    );
    assert_eq!(
        events(&mut s),
        [Event::Unsubscribe {
            filters: vec![filter("a/#")]
        }]
    );
    assert!(s.subscriptions().is_empty());
}

// ------------------------------------------------------------------------------------------- store

#[test]
fn a_snapshot_in_the_store_resumes_like_the_live_session() {
    // [MQTT-3.1.3-2]: the client id names the stored state.
    let t0 = Instant::now();
    let mut store = MemoryStore::new();
    let mut s = connected(ServerConfig::default(), t0, v5_persistent("dev"));
    s.handle_packet(
        t0,
        Packet::Subscribe(Subscribe::new(
            id(1),
            [(filter("cmd/#"), SubscriptionOptions::new(QoS::AtLeastOnce))],
        )),
    )
    .unwrap();
    s.acknowledge_subscribe(id(1), vec![ReasonCode::GrantedQoS1]).unwrap();
    s.publish(t0, msg("cmd/1", "in-flight", QoS::AtLeastOnce));
    s.handle_packet(t0, Packet::Publish(publish("up", "x", QoS::ExactlyOnce, 77)))
        .unwrap();
    let token = events(&mut s).into_iter().find_map(|e| match e {
        Event::Publish { ack, .. } => ack,
        _ => None,
    });
    s.acknowledge(token.unwrap(), ReasonCode::Success);
    let sent = transmits(&mut s);
    let inflight_id = sent.iter().find_map(|p| match p {
        Packet::Publish(p) => p.packet_id,
        _ => None,
    });
    s.connection_lost(t0);
    s.publish(t0, msg("cmd/2", "queued", QoS::AtLeastOnce));
    store.save(s.snapshot()).unwrap();
    drop(s);

    let snapshot = store.load("dev").unwrap().unwrap();
    assert_eq!(snapshot.subscriptions.len(), 1);
    assert!(matches!(
        snapshot.inflight.as_slice(),
        [(_, InflightPublish::AwaitingPubAck(_))]
    ));
    assert_eq!(snapshot.queued.len(), 1);
    assert_eq!(snapshot.inbound_qos2.len(), 1);
    let mut s = ServerSession::restore(ServerConfig::default(), snapshot, t0).unwrap();
    let out = connect(&mut s, t0 + secs(1), v5_persistent("dev"));
    assert!(connack(&out[0]).session_present);
    let resent = as_publish(&out[1]);
    assert_eq!((resent.dup, resent.packet_id), (true, inflight_id));
    assert_eq!(as_publish(&out[2]).payload, "queued");
    // The inbound QoS 2 id is still known: a re-send is answered, not delivered again.
    s.handle_packet(t0, Packet::Publish(publish("up", "x", QoS::ExactlyOnce, 77).dup(true)))
        .unwrap();
    assert!(events(&mut s).is_empty());
    assert_eq!(transmits(&mut s), [Packet::PubRec(PubRec::new(id(77)))]);
    assert!(store.remove("dev").unwrap());
    assert!(store.is_empty());
}

#[test]
fn publish_from_a_client_must_not_carry_a_subscription_identifier() {
    // [MQTT-3.3.4-6]
    let now = Instant::now();
    let mut s = connected(ServerConfig::default(), now, v5("c"));
    let mut p = publish("a", "x", QoS::AtMostOnce, 0);
    p.properties
        .subscription_identifiers
        .push(mqtt_codec::SubscriptionId::new(1).unwrap());
    assert_eq!(
        s.handle_packet(now, Packet::Publish(p)).unwrap_err(),
        Error::SubscriptionIdFromClient
    );
    assert_eq!(disconnect_reason(&transmits(&mut s)[0]), ReasonCode::ProtocolError);
}

#[test]
fn no_local_on_a_shared_subscription_is_a_protocol_error() {
    // [MQTT-3.8.3-4]
    let now = Instant::now();
    let mut s = connected(ServerConfig::default(), now, v5("c"));
    let options = SubscriptionOptions {
        no_local: true,
        ..SubscriptionOptions::new(QoS::AtLeastOnce)
    };
    let sub = Subscribe::new(id(1), [(filter("$share/g/a/#"), options)]);
    assert_eq!(
        s.handle_packet(now, Packet::Subscribe(sub)).unwrap_err(),
        Error::NoLocalOnSharedSubscription
    );
}

#[test]
fn nothing_is_sent_after_disconnect() {
    // [MQTT-3.14.4-1]
    let t0 = Instant::now();
    let mut s = connected(ServerConfig::default(), t0, v5_persistent("c").keep_alive(1));
    s.handle_packet(t0, Packet::Publish(publish("a", "x", QoS::AtLeastOnce, 1)))
        .unwrap();
    let (_, ack) = delivered(&mut s);
    s.handle_timeout(t0 + secs(2));
    let out = transmits(&mut s);
    assert!(matches!(out.last(), Some(Packet::Disconnect(_))));
    s.acknowledge(ack.unwrap(), ReasonCode::Success);
    s.publish(t0 + secs(2), msg("a", "later", QoS::AtLeastOnce));
    s.close(t0 + secs(2), ReasonCode::ServerShuttingDown);
    assert!(transmits(&mut s).is_empty());
    assert_eq!(s.queued_len(), 1, "kept for the next connection");
}

#[test]
fn a_restored_snapshot_taken_while_connected_expires_from_the_restore() {
    let t0 = Instant::now();
    let c = with_props(v5("c").clean_start(false), |p| p.session_expiry_interval = Some(60));
    let s = connected(ServerConfig::default(), t0, c);
    let mut r = ServerSession::restore(ServerConfig::default(), s.snapshot(), t0 + secs(10)).unwrap();
    assert_eq!(r.poll_timeout(), Some(t0 + secs(70)));
    r.handle_timeout(t0 + secs(70));
    assert!(r.is_ended());
}

#[test]
fn receive_maximum_counts_only_this_connections_publishes() {
    // v5 4.9: the peer's send quota starts afresh on every connection, so a QoS 2 id still waiting for PUBREL from
    // the previous connection does not count until its PUBLISH is re-sent.
    let t0 = Instant::now();
    let config = ServerConfig {
        receive_maximum: NonZeroU16::new(1).unwrap(),
        ..ServerConfig::default()
    };
    let mut s = connected(config, t0, v5_persistent("c"));
    s.handle_packet(t0, Packet::Publish(publish("a", "1", QoS::ExactlyOnce, 1)))
        .unwrap();
    let (_, ack) = delivered(&mut s);
    s.acknowledge(ack.unwrap(), ReasonCode::Success);
    s.connection_lost(t0);
    connect(&mut s, t0, v5_persistent("c"));
    s.handle_packet(t0, Packet::Publish(publish("a", "2", QoS::AtLeastOnce, 2)))
        .unwrap();
    let (_, ack) = delivered(&mut s);
    s.acknowledge(ack.unwrap(), ReasonCode::Success);
    transmits(&mut s);
    // The re-sent QoS 2 PUBLISH now counts: one more QoS 1 message before its PUBREL exceeds the maximum.
    s.handle_packet(t0, Packet::Publish(publish("a", "1", QoS::ExactlyOnce, 1).dup(true)))
        .unwrap();
    assert_eq!(transmits(&mut s), [Packet::PubRec(PubRec::new(id(1)))]);
    assert_eq!(
        s.handle_packet(t0, Packet::Publish(publish("a", "3", QoS::AtLeastOnce, 3)))
            .unwrap_err(),
        Error::ReceiveMaximumExceeded
    );
}

#[test]
fn in_flight_messages_do_not_expire() {
    // [MQTT-4.3.3-7]: once a PUBLISH is sent, message expiry no longer applies; the re-send goes out (with an
    // expiry interval of 0 left) instead of being dropped.
    let t0 = Instant::now();
    let mut s = connected(ServerConfig::default(), t0, v5_persistent("c"));
    s.publish(t0, msg("a", "x", QoS::ExactlyOnce).with_expiry_interval(t0, 5));
    let first = as_publish(&transmits(&mut s)[0]).clone();
    assert_eq!(first.properties.message_expiry_interval, Some(5));
    s.connection_lost(t0);
    events(&mut s);
    let out = connect(&mut s, t0 + secs(60), v5_persistent("c"));
    let again = as_publish(&out[1]);
    assert_eq!((again.dup, again.packet_id), (true, first.packet_id));
    assert_eq!(again.properties.message_expiry_interval, Some(0));
    assert!(!events(&mut s).iter().any(|e| matches!(e, Event::Dropped { .. })));
}

#[test]
fn an_empty_topic_needs_a_topic_alias() {
    // [MQTT-3.3.2-1]: the codec only decodes an empty topic next to an alias, but a hand-built packet is refused
    // by the session too.
    let now = Instant::now();
    let mut s = connected(ServerConfig::default(), now, v5("c"));
    let mut p = mqtt_codec::Publish::alias_only(NonZeroU16::MIN, "x");
    p.properties.topic_alias = None;
    assert_eq!(
        s.handle_packet(now, Packet::Publish(p)).unwrap_err(),
        Error::EmptyTopicWithoutAlias
    );
    assert_eq!(disconnect_reason(&transmits(&mut s)[0]), ReasonCode::ProtocolError);
}

#[test]
fn enhanced_authentication_is_refused_up_front() {
    // v5 4.12: a server that does not support the Authentication Method answers CONNACK 0x8C.
    let now = Instant::now();
    let mut s = ServerSession::new(ServerConfig::default());
    let c = with_props(v5("c"), |p| {
        p.authentication_method = Some(ByteStr::from_static("SCRAM-SHA-1"))
    });
    s.handle_packet(now, Packet::Connect(Box::new(c))).unwrap();
    assert_eq!(
        connack(&transmits(&mut s)[0]).reason_code,
        ReasonCode::BadAuthenticationMethod
    );
    assert_eq!(
        closed_events(&events(&mut s)),
        [CloseReason::Rejected(ReasonCode::BadAuthenticationMethod)]
    );
}

#[test]
fn a_delayed_wills_expiry_runs_from_its_publication() {
    // v5 3.1.3.2.4: the will's Message Expiry Interval is its lifetime once published.
    let t0 = Instant::now();
    let will = Will::new(topic("w"), "x").properties(WillProperties {
        will_delay_interval: Some(10),
        message_expiry_interval: Some(30),
        ..Default::default()
    });
    let mut s = connected(ServerConfig::default(), t0, v5_persistent("c").will(will));
    s.connection_lost(t0);
    events(&mut s);
    s.handle_timeout(t0 + secs(10));
    let evs = events(&mut s);
    let [Event::Will(m)] = evs.as_slice() else {
        panic!("{evs:?}")
    };
    assert_eq!(m.expires_at, Some(t0 + secs(40)));
}

#[test]
fn the_will_is_part_of_the_stored_session_state() {
    // v5 4.1: the will and its delay are session state. A snapshot taken while connected stands for a broker
    // that went down: the restored session publishes the will (here after its delay).
    let t0 = Instant::now();
    let s = connected(ServerConfig::default(), t0, v5_persistent("c").will(delayed_will(10)));
    let snapshot = s.snapshot();
    assert!(snapshot.will.is_some() && snapshot.will_due.is_none());
    let mut r = ServerSession::restore(ServerConfig::default(), snapshot, t0 + secs(100)).unwrap();
    assert_eq!(r.poll_timeout(), Some(t0 + secs(110)));
    r.handle_timeout(t0 + secs(110));
    assert!(matches!(events(&mut r).as_slice(), [Event::Will(_)]));

    // A will already waiting for its delay keeps its due time.
    let mut s = connected(ServerConfig::default(), t0, v5_persistent("c").will(delayed_will(10)));
    s.connection_lost(t0);
    let snapshot = s.snapshot();
    assert_eq!(snapshot.will_due, Some(t0 + secs(10)));
    let mut r = ServerSession::restore(ServerConfig::default(), snapshot, t0 + secs(1)).unwrap();
    assert_eq!(r.poll_timeout(), Some(t0 + secs(10)));
    // A reconnect before then cancels it [MQTT-3.1.3-9].
    connect(&mut r, t0 + secs(2), v5_persistent("c"));
    r.handle_timeout(t0 + secs(20));
    assert!(!events(&mut r).iter().any(|e| matches!(e, Event::Will(_))));

    // No delay: the will is queued as the session is restored.
    let s = connected(
        ServerConfig::default(),
        t0,
        v5_persistent("c").will(Will::new(topic("w"), "x")),
    );
    let mut r = ServerSession::restore(ServerConfig::default(), s.snapshot(), t0).unwrap();
    assert!(matches!(events(&mut r).as_slice(), [Event::Will(_)]));
}

#[test]
fn subscription_identifiers_go_out_with_the_delivery_and_again_on_a_resend() {
    // [MQTT-3.3.4-3]: the identifiers of the matching subscriptions are on the PUBLISH, and a re-send after a
    // reconnect is the same PUBLISH with DUP set [MQTT-3.3.1-1].
    let t0 = Instant::now();
    let ids: Vec<mqtt_codec::SubscriptionId> = [4, 9].into_iter().filter_map(mqtt_codec::SubscriptionId::new).collect();
    let mut s = ServerSession::new(ServerConfig::default());
    connect(&mut s, t0, v5_persistent("c"));
    s.publish(t0, Outgoing::new(msg("a", "x", QoS::AtLeastOnce), ids.clone()));
    s.publish(t0, msg("b", "plain", QoS::AtMostOnce));
    let out = transmits(&mut s);
    assert_eq!(as_publish(&out[0]).properties.subscription_identifiers, ids);
    assert!(as_publish(&out[1]).properties.subscription_identifiers.is_empty());
    s.connection_lost(t0);
    let out = connect(&mut s, t0, v5_persistent("c"));
    let resent = as_publish(&out[1]);
    assert!(resent.dup);
    assert_eq!(resent.properties.subscription_identifiers, ids);
}

#[test]
fn a_v311_client_gets_no_subscription_identifiers() {
    let t0 = Instant::now();
    let mut s = connected(ServerConfig::default(), t0, v311("c"));
    let ids = mqtt_codec::SubscriptionId::new(4).into_iter().collect();
    s.publish(t0, Outgoing::new(msg("a", "x", QoS::AtLeastOnce), ids));
    let out = transmits(&mut s);
    assert_eq!(as_publish(&out[0]).properties, Default::default());
}
