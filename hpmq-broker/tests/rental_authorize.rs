//! The rental scenario's authorize hook (`rental::authorize`) in the broker: phones may subscribe only to
//! their own topics (SUBACK 0x87 in v5, 0x80 in 3.1.1, and the connection stays up), devices may publish
//! only their own status (PUBACK 0x87, the message is not routed), allowed traffic still flows through the
//! rental functions, and a trapping hook denies and is counted. Driven with the codec as a raw client, so
//! every reason code is visible.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use common::{guest_path, rental_functions, start, unique, within};
use futures_util::{SinkExt, StreamExt};
use hpmq_broker::BrokerHandle;
use hpmq_host::FunctionRef;
use mqtt_codec::{
    ByteStr, Connect, MqttCodec, Packet, PacketId, ProtocolVersion, Publish, QoS, ReasonCode, Subscribe,
    SubscriptionOptions, TopicFilter, TopicName,
};
use tokio::net::TcpStream;
use tokio_util::codec::Framed;

type Client = Framed<TcpStream, MqttCodec>;

fn rental_with_hook() -> String {
    format!(
        "[auth]\nauthorize_function = \"rental::authorize\"\n{}",
        rental_functions(&guest_path("rental"))
    )
}

async fn next(c: &mut Client) -> Packet {
    within("a packet", c.next())
        .await
        .expect("connection open")
        .expect("valid packet")
}

async fn connect(broker: &BrokerHandle, id: &str, version: ProtocolVersion) -> Client {
    let stream = within("connect", TcpStream::connect(broker.local_addr()))
        .await
        .unwrap();
    let mut c = Framed::new(stream, MqttCodec::client(version));
    let connect = Connect::new(ByteStr::try_from(id).unwrap())
        .version(version)
        .clean_start(true);
    within("CONNECT", c.send(Packet::Connect(Box::new(connect))))
        .await
        .unwrap();
    assert!(matches!(next(&mut c).await, Packet::ConnAck(a) if a.reason_code == ReasonCode::Success));
    c
}

async fn subscribe(c: &mut Client, id: u16, filter: &str) -> Vec<ReasonCode> {
    let sub = Subscribe::new(
        PacketId::new(id).unwrap(),
        [(
            TopicFilter::try_from(filter).unwrap(),
            SubscriptionOptions::new(QoS::AtLeastOnce),
        )],
    );
    within("SUBSCRIBE", c.send(Packet::Subscribe(sub))).await.unwrap();
    match next(c).await {
        Packet::SubAck(ack) => ack.reason_codes,
        other => panic!("expected SUBACK, got {other:?}"),
    }
}

/// Publishes at QoS 1 and returns the PUBACK's reason code.
async fn publish_qos1(c: &mut Client, id: u16, topic: &str, payload: &str) -> ReasonCode {
    let p = Publish::new(TopicName::try_from(topic).unwrap(), payload.to_owned())
        .qos(QoS::AtLeastOnce, PacketId::new(id).unwrap());
    within("PUBLISH", c.send(Packet::Publish(p))).await.unwrap();
    match next(c).await {
        Packet::PubAck(a) => a.reason_code,
        other => panic!("expected PUBACK, got {other:?}"),
    }
}

/// The next PUBLISH as `topic payload`, acknowledging QoS 1.
async fn received(c: &mut Client) -> String {
    match next(c).await {
        Packet::Publish(p) => {
            if let Some(id) = p.packet_id {
                within("PUBACK", c.send(Packet::PubAck(mqtt_codec::PubAck::new(id))))
                    .await
                    .unwrap();
            }
            format!("{} {}", p.topic.as_str(), String::from_utf8_lossy(&p.payload))
        }
        other => panic!("expected PUBLISH, got {other:?}"),
    }
}

/// Nothing arrives within a short while (used after a later message proves the earlier one was not routed).
async fn nothing_more(c: &mut Client) {
    if let Ok(p) = tokio::time::timeout(Duration::from_millis(300), c.next()).await {
        panic!("unexpected {p:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn phones_subscribe_only_to_their_own_topics_and_stay_connected() {
    let broker = start(&rental_with_hook()).await;
    let (bbb, ccc) = (unique("BBB"), unique("CCC"));
    for version in [ProtocolVersion::V5, ProtocolVersion::V311] {
        let mut phone = connect(&broker, &bbb, version).await;
        let expected = if version.is_v5() {
            ReasonCode::NotAuthorized
        } else {
            ReasonCode::UnspecifiedError // 3.1.1's only failure code, 0x80
        };
        assert_eq!(subscribe(&mut phone, 1, &format!("phone/{ccc}/#")).await, [expected]);
        assert_eq!(subscribe(&mut phone, 2, "phone/+/device-status").await, [expected]);
        assert_eq!(subscribe(&mut phone, 3, "#").await, [expected]);
        // Still connected, and its own topics are granted.
        assert_eq!(
            subscribe(&mut phone, 4, &format!("phone/{bbb}/#")).await,
            [ReasonCode::GrantedQoS1]
        );
        within("disconnect", phone.send(Packet::Disconnect(Default::default())))
            .await
            .unwrap();
    }
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn devices_publish_only_their_own_status_and_allowed_traffic_flows() {
    let broker = start(&rental_with_hook()).await;
    let (aaa, xxx, bbb) = (unique("AAA"), unique("XXX"), unique("BBB"));
    let mut phone = connect(&broker, &bbb, ProtocolVersion::V5).await;
    assert_eq!(
        subscribe(&mut phone, 1, &format!("phone/{bbb}/#")).await,
        [ReasonCode::GrantedQoS1]
    );
    // The device listens for commands on a second connection acting for the same id.
    let mut device_cmd = connect(&broker, &format!("{aaa}:cmd"), ProtocolVersion::V311).await;
    assert_eq!(
        subscribe(&mut device_cmd, 1, &format!("device/{aaa}/#")).await,
        [ReasonCode::GrantedQoS1]
    );
    let mut device = connect(&broker, &aaa, ProtocolVersion::V5).await;
    let mut impostor = connect(&broker, &xxx, ProtocolVersion::V5).await;

    // The phone rents the device (anyone may publish on rental/bind).
    let bind = format!(r#"{{"phone_id":"{bbb}","device_id":"{aaa}"}}"#);
    assert_eq!(
        publish_qos1(&mut phone, 2, "rental/bind", &bind).await,
        ReasonCode::Success
    );
    assert!(received(&mut phone).await.contains("bound"));
    assert!(received(&mut device_cmd).await.contains("rented"));

    // Another client publishing the device's status: PUBACK 0x87, routed nowhere.
    let status = format!("device/{aaa}/status");
    assert_eq!(
        publish_qos1(&mut impostor, 1, &status, "forged").await,
        ReasonCode::NotAuthorized
    );
    // The device itself may; its status reaches its own listener and, through the rental function, the phone.
    assert_eq!(publish_qos1(&mut device, 1, &status, "on").await, ReasonCode::Success);
    assert_eq!(received(&mut device_cmd).await, format!("{status} on"));
    assert_eq!(received(&mut phone).await, format!("phone/{bbb}/device-status on"));
    nothing_more(&mut phone).await;

    // Commands: only the phone itself may publish on phone/{id}/cmd; the function forwards them.
    let cmd = format!("phone/{bbb}/cmd");
    assert_eq!(
        publish_qos1(&mut impostor, 2, &cmd, "unlock").await,
        ReasonCode::NotAuthorized
    );
    assert_eq!(publish_qos1(&mut phone, 3, &cmd, "unlock").await, ReasonCode::Success);
    assert_eq!(received(&mut device_cmd).await, format!("device/{aaa}/cmd unlock"));
    nothing_more(&mut device_cmd).await;
    // The functions' outputs are not for clients to forge.
    assert_eq!(
        publish_qos1(&mut impostor, 3, &format!("device/{aaa}/cmd"), "open").await,
        ReasonCode::NotAuthorized
    );
    nothing_more(&mut device_cmd).await;

    let stats = broker.function_stats(&FunctionRef::new("rental", "authorize")).unwrap();
    assert_eq!(stats.failures, 0);
    assert!(stats.calls >= 8, "{stats:?}");
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trapping_hook_denies_and_is_counted() {
    let toml = format!(
        r#"
[auth]
authorize_function = "hostile::authorize_panics"
[functions.limits]
deadline_ms = 1000
[[functions.modules]]
name = "hostile"
path = "{}"
"#,
        guest_path("hostile").display()
    );
    let broker = start(&toml).await;
    let mut c = connect(&broker, &unique("c"), ProtocolVersion::V5).await;
    assert_eq!(subscribe(&mut c, 1, "a/b").await, [ReasonCode::NotAuthorized]);
    assert_eq!(publish_qos1(&mut c, 2, "a/b", "x").await, ReasonCode::NotAuthorized);
    // The connection survives the guest's traps.
    assert_eq!(publish_qos1(&mut c, 3, "a/b", "y").await, ReasonCode::NotAuthorized);
    let stats = broker
        .function_stats(&FunctionRef::new("hostile", "authorize_panics"))
        .unwrap();
    assert_eq!((stats.calls, stats.failures, stats.discarded_instances), (3, 3, 3));
    broker.shutdown().await;
}

#[tokio::test]
async fn the_hook_must_exist_and_be_an_authorize_function() {
    let wasm = guest_path("rental");
    for (name, wanted) in [
        ("rental::rental", "not `#[authorize]`"),
        ("rental::missing", "has no function `missing`"),
        ("other::authorize", "no module named `other`"),
        ("authorize", "module::function"),
    ] {
        let toml = format!(
            "[listener]\naddress = \"127.0.0.1:0\"\n[auth]\nauthorize_function = \"{name}\"\n{}",
            rental_functions(&wasm)
        );
        let config = hpmq_broker::Config::from_toml_str(&toml).unwrap();
        let err = hpmq_broker::Broker::start(config).await.unwrap_err().to_string();
        assert!(err.contains("auth.authorize_function"), "{name}: {err}");
        assert!(err.contains(wanted), "{name}: {err}");
    }
}
