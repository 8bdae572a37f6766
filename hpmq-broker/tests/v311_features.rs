//! The MQTT 3.1.1 side of issue 6's feature audit: assigned client identifiers, keep-alive enforcement and the
//! server's maximum packet size, for clients that have no CONNACK properties and no server DISCONNECT. The
//! `rumqttc` 3.1.1 client where it can produce the behaviour, the hand-written client in `raw/` otherwise.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;
mod raw;

use std::time::{Duration, Instant};

use common::v4::until;
use common::{start, unique};
use raw::Raw;
use rumqttc::{AsyncClient, ConnectReturnCode, MqttOptions, Packet, QoS};

/// 3.1.1 [MQTT-3.1.3-6] [MQTT-3.1.3-7]: a zero-length client id with Clean Session 1 is accepted (the broker
/// assigns an identifier it does not tell the client) and the connection works.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mqtt_3_1_3_6_an_empty_client_id_with_clean_session_is_accepted() {
    let broker = start("").await;
    let addr = broker.local_addr();
    let mut o = MqttOptions::new("", "127.0.0.1", addr.port());
    o.set_clean_session(true);
    o.set_keep_alive(Duration::from_secs(30));
    let (client, mut el) = AsyncClient::new(o, 10);
    let code = until(&mut el, |p| match p {
        Packet::ConnAck(a) => Some(a.code),
        _ => None,
    })
    .await;
    assert_eq!(code, ConnectReturnCode::Success);
    let topic = unique("anon311");
    client.subscribe(&topic, QoS::AtLeastOnce).await.unwrap();
    until(&mut el, |p| matches!(p, Packet::SubAck(_)).then_some(())).await;
    client.publish(&topic, QoS::AtLeastOnce, false, "hi").await.unwrap();
    let p = until(&mut el, |p| match p {
        Packet::Publish(p) => Some(p.clone()),
        _ => None,
    })
    .await;
    assert_eq!(&p.payload[..], b"hi");
    broker.shutdown().await;
}

/// 3.1.1 [MQTT-3.1.3-8]: a zero-length client id with Clean Session 0 is refused with return code 0x02
/// Identifier rejected, and the connection is closed [MQTT-3.2.2-5]. (rumqttc refuses to send this CONNECT.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mqtt_3_1_3_8_an_empty_client_id_without_clean_session_is_refused_0x02() {
    let broker = start("").await;
    let (mut c, connack) = Raw::connect(broker.local_addr(), &raw::connect(4, "", false, 30, &[])).await;
    assert_eq!(connack.body, [0x00, 0x02], "CONNACK: session present 0, return code 2");
    assert!(c.until_closed().await.is_empty(), "closed after the refusal");
    broker.shutdown().await;
}

/// 3.1.1 [MQTT-3.1.2-2]: a CONNECT with a protocol level the server does not support is answered with CONNACK
/// return code 0x01 Unacceptable protocol version and then the connection is closed. Levels 3 and 6 under the
/// name "MQTT" and MQTT 3.1's "MQIsdp" level 3: each gets the 3.1.1 CONNACK (which 3.1 clients read the same
/// way), then EOF.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mqtt_3_1_2_2_an_unsupported_protocol_level_gets_connack_0x01_then_close() {
    let broker = start("").await;
    let connect = |name: &str, level: u8| {
        let mut body = Vec::new();
        raw::string(name, &mut body);
        body.push(level);
        body.push(0x02); // Clean Session
        body.extend_from_slice(&30u16.to_be_bytes());
        raw::string(&unique("level"), &mut body);
        raw::packet(0x10, &body)
    };
    for (name, level) in [("MQTT", 3), ("MQTT", 6), ("MQIsdp", 3)] {
        let (mut c, connack) = Raw::connect(broker.local_addr(), &connect(name, level)).await;
        assert_eq!(
            (connack.first, connack.body.as_slice()),
            (0x20, [0x00, 0x01].as_slice()),
            "{name} level {level}: CONNACK return code 1"
        );
        assert!(
            c.until_closed().await.is_empty(),
            "{name} level {level}: closed after the CONNACK"
        );
    }
    // The broker still serves a supported client afterwards.
    let (_ok, connack) = Raw::connect(broker.local_addr(), &raw::connect(4, &unique("ok"), true, 30, &[])).await;
    assert_eq!(connack.body, [0x00, 0x00]);
    broker.shutdown().await;
}

/// 3.1.1 [MQTT-3.1.2-24]: a client silent for one and a half times its keep alive is disconnected (3.1.1 has
/// no server DISCONNECT: the connection just closes). The `keep_alive_max` cap cannot be announced to a 3.1.1
/// client, so its own value is enforced.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mqtt_311_3_1_2_24_keep_alive_is_enforced_at_one_and_a_half_times() {
    let broker = start("[limits]\nkeep_alive_max = 60\n").await;
    let started = Instant::now();
    let (mut c, connack) = Raw::connect(broker.local_addr(), &raw::connect(4, &unique("quiet"), true, 1, &[])).await;
    assert_eq!(connack.body, [0x00, 0x00]);
    assert!(c.until_closed().await.is_empty(), "no DISCONNECT in 3.1.1");
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(1400),
        "closed before 1.5 x keep alive: {waited:?}"
    );
    broker.shutdown().await;
}

/// 3.1.1 has no Maximum Packet Size property, but the broker's limit still holds: a larger PUBLISH closes the
/// connection (no DISCONNECT in 3.1.1); smaller ones are served.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_311_publish_above_the_servers_maximum_closes_the_connection() {
    let broker = start("[limits]\nmax_packet_size = 256\n").await;
    let (mut c, connack) = Raw::connect(broker.local_addr(), &raw::connect(4, &unique("big311"), true, 30, &[])).await;
    assert_eq!(connack.body, [0x00, 0x00]);
    c.send(&raw::publish(4, "t/size", 1, 1, &[], &[b'a'; 200])).await;
    let ack = c.next().await.unwrap();
    assert_eq!((ack.kind(), ack.ack_id()), (4, 1), "PUBACK for a packet that fits");
    c.send(&raw::publish(4, "t/size", 1, 2, &[], &[b'a'; 400])).await;
    assert!(c.until_closed().await.is_empty(), "closed, no DISCONNECT in 3.1.1");
    broker.shutdown().await;
}
