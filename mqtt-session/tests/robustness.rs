//! Any sequence of valid packets, in any order, interleaved with broker actions and time: the session never
//! panics, everything it transmits encodes in the connection's version, a refused packet closes the connection
//! with a DISCONNECT carrying the error's reason code (v5) and nothing follows a DISCONNECT [MQTT-3.14.4-1],
//! nothing is sent before CONNACK [MQTT-3.2.0-1] and no PUBLISH exceeds the client's Maximum Packet Size
//! [MQTT-3.1.2-24]. Encodability includes the codec's own checks: no DUP at QoS 0 [MQTT-3.3.1-2], no packet id
//! at QoS 0, no alias-only topic in 3.1.1.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::large_enum_variant
)]

use std::time::{Duration, Instant};

use bytes::BytesMut;
use mqtt_codec::testing::{arb_connect, arb_packet};
use mqtt_codec::{Connect, Packet, ProtocolVersion, QoS, ReasonCode, TopicName};
use mqtt_session::{Accept, AckToken, Event, Message, ServerConfig, ServerSession};
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Step {
    Packet(Packet),
    Publish(u8, usize),
    AckAll,
    Advance(u64),
    Lost,
}

fn steps(version: ProtocolVersion) -> impl Strategy<Value = Vec<Step>> {
    prop::collection::vec(
        prop_oneof![
            6 => arb_packet(version).prop_map(Step::Packet),
            2 => (0..3u8, 0..300usize).prop_map(|(q, len)| Step::Publish(q, len)),
            2 => Just(Step::AckAll),
            1 => (0..100u64).prop_map(Step::Advance),
            1 => Just(Step::Lost),
        ],
        1..40,
    )
}

fn check(version: ProtocolVersion, connect: Connect, steps: Vec<Step>) {
    let mut now = Instant::now();
    let config = ServerConfig {
        receive_maximum: std::num::NonZeroU16::new(4).unwrap(),
        topic_alias_maximum: 3,
        ..ServerConfig::default()
    };
    let mut s = ServerSession::new(config);
    let max_packet = connect.properties.maximum_packet_size;
    let mut connack_sent = false;
    let mut closed = false;
    let mut tokens: Vec<AckToken> = Vec::new();
    let mut pending_subs = Vec::new();
    let mut first = vec![Step::Packet(Packet::Connect(Box::new(
        connect.with_client_id_if_empty(),
    )))];
    first.extend(steps);
    for step in first {
        let mut refused = None;
        match step {
            Step::Packet(p) => {
                if matches!(p, Packet::Connect(_)) && !s.is_connected() {
                    // A CONNECT to a session without a connection arrives on a new network connection.
                    closed = false;
                    connack_sent = false;
                }
                if let Err(e) = s.handle_packet(now, p) {
                    refused = Some(e);
                }
            }
            Step::Publish(q, len) => {
                let m = Message::new(TopicName::from_static("a/b"), vec![1u8; len], QoS::from_u8(q).unwrap());
                s.publish(now, m);
            }
            Step::AckAll => {
                for t in tokens.drain(..) {
                    s.acknowledge(t, ReasonCode::Success);
                }
                for (id, n) in pending_subs.drain(..) {
                    let _ = s.acknowledge_subscribe(id, vec![ReasonCode::GrantedQoS1; n]);
                }
            }
            Step::Advance(secs) => {
                now += Duration::from_secs(secs);
                s.handle_timeout(now);
            }
            Step::Lost => s.connection_lost(now),
        }
        while let Some(e) = s.poll_event() {
            match e {
                Event::Connect(_) => {
                    let accept = Accept {
                        assigned_client_id: Some(mqtt_codec::ByteStr::from_static("assigned")),
                        ..Accept::default()
                    };
                    s.accept(now, accept).unwrap();
                }
                Event::Publish { ack: Some(t), .. } => tokens.push(t),
                Event::Subscribe(req) => pending_subs.push((req.packet_id, req.filters.len())),
                Event::Closed(_) => {}
                _ => {}
            }
        }
        let mut last = None;
        while let Some(p) = s.poll_transmit() {
            assert!(!closed, "{p:?} sent after DISCONNECT");
            let mut buf = BytesMut::new();
            p.encode(s.protocol_version(), &mut buf)
                .unwrap_or_else(|e| panic!("unencodable {p:?}: {e}"));
            match &p {
                Packet::ConnAck(_) => connack_sent = true,
                Packet::Disconnect(_) => {
                    assert!(connack_sent, "DISCONNECT before CONNACK [MQTT-3.14.0-1]");
                    closed = true;
                }
                Packet::Publish(_) => {
                    if let Some(max) = max_packet {
                        assert!(buf.len() <= max.get() as usize, "PUBLISH over the client's maximum");
                    }
                }
                _ => assert!(connack_sent, "{p:?} before CONNACK"),
            }
            last = Some(p);
        }
        if let Some(err) = refused
            && version.is_v5()
            && matches!(
                err,
                mqtt_session::Error::SecondConnect | mqtt_session::Error::UnexpectedPacket { .. }
            )
        {
            assert!(!s.is_connected());
            assert!(
                matches!(&last, Some(Packet::Disconnect(d)) if d.reason_code == err.reason_code()),
                "{err:?} closed with {last:?}"
            );
        }
        if !s.is_connected() {
            tokens.clear();
            pending_subs.clear();
        }
    }
}

trait WithClientId {
    fn with_client_id_if_empty(self) -> Self;
}

impl WithClientId for Connect {
    /// 3.1.1 refuses an empty id with Clean Session 0; give such CONNECTs an id so the run gets past CONNECT.
    fn with_client_id_if_empty(mut self) -> Self {
        if self.client_id.is_empty() {
            self.client_id = mqtt_codec::ByteStr::from_static("c");
        }
        self.properties.authentication_method = None;
        self.properties.authentication_data = None;
        self
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(256),
        ..ProptestConfig::default()
    })]

    #[test]
    fn v5_sessions_survive_any_packet_sequence(
        connect in arb_connect(ProtocolVersion::V5),
        steps in steps(ProtocolVersion::V5),
    ) {
        check(ProtocolVersion::V5, connect, steps);
    }

    #[test]
    fn v311_sessions_survive_any_packet_sequence(
        connect in arb_connect(ProtocolVersion::V311),
        steps in steps(ProtocolVersion::V311),
    ) {
        check(ProtocolVersion::V311, connect, steps);
    }
}
