//! In-process end-to-end smoke tests over real TCP with the codec as the client.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use mqtt_codec::{
    ByteStr, Connect, MqttCodec, Packet, PacketId, ProtocolVersion, PubAck, Publish, QoS, ReasonCode, Subscribe,
    SubscriptionOptions, TopicFilter, TopicName,
};
use tokio::net::TcpStream;
use tokio_util::codec::Framed;

use super::*;

type Client = Framed<TcpStream, MqttCodec>;

async fn start(extra: &str) -> BrokerHandle {
    let config = Config::from_toml_str(&format!(
        "[listener]\naddress = \"127.0.0.1:0\"\n[sys]\ninterval_secs = 0\n{extra}"
    ))
    .unwrap();
    Broker::start(config).await.unwrap()
}

async fn next(c: &mut Client) -> Packet {
    tokio::time::timeout(Duration::from_secs(5), c.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap()
}

/// Awaits a network operation; no test may hang on a socket.
async fn within<T>(op: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(5), op)
        .await
        .expect("network operation hangs")
}

async fn connect(broker: &BrokerHandle, id: &str, version: ProtocolVersion, clean: bool) -> (Client, Packet) {
    let stream = within(TcpStream::connect(broker.local_addr())).await.unwrap();
    let mut c = Framed::new(stream, MqttCodec::client(version));
    let connect = Connect::new(ByteStr::try_from(id).unwrap())
        .version(version)
        .clean_start(clean);
    within(c.send(Packet::Connect(Box::new(connect)))).await.unwrap();
    let ack = next(&mut c).await;
    (c, ack)
}

async fn subscribe(c: &mut Client, filter: &str, qos: QoS) -> Vec<ReasonCode> {
    let sub = Subscribe::new(
        PacketId::MIN,
        [(TopicFilter::try_from(filter).unwrap(), SubscriptionOptions::new(qos))],
    );
    within(c.send(Packet::Subscribe(sub))).await.unwrap();
    match next(c).await {
        Packet::SubAck(ack) => ack.reason_codes,
        other => panic!("expected SUBACK, got {other:?}"),
    }
}

fn publish(topic: &str, payload: &'static str) -> Packet {
    Packet::Publish(Publish::new(TopicName::try_from(topic).unwrap(), payload))
}

#[tokio::test]
async fn publish_reaches_subscriber_and_retained_is_replayed() {
    let broker = start("").await;
    let (mut sub, ack) = connect(&broker, "sub", ProtocolVersion::V5, true).await;
    assert!(matches!(ack, Packet::ConnAck(a) if a.reason_code == ReasonCode::Success));
    assert_eq!(
        subscribe(&mut sub, "a/+", QoS::AtLeastOnce).await,
        [ReasonCode::GrantedQoS1]
    );
    let (mut publ, _) = connect(&broker, "pub", ProtocolVersion::V311, true).await;
    within(publ.send(publish("a/b", "hello"))).await.unwrap();
    let Packet::Publish(p) = next(&mut sub).await else {
        panic!()
    };
    assert_eq!(
        (p.topic.as_str(), &p.payload[..], p.qos),
        ("a/b", &b"hello"[..], QoS::AtMostOnce)
    );

    let retained = Publish::new(TopicName::from_static("r/1"), "kept")
        .retain(true)
        .qos(QoS::AtLeastOnce, PacketId::MIN);
    within(publ.send(Packet::Publish(retained))).await.unwrap();
    assert!(matches!(next(&mut publ).await, Packet::PubAck(_)));
    let (mut late, _) = connect(&broker, "late", ProtocolVersion::V5, true).await;
    subscribe(&mut late, "r/#", QoS::AtLeastOnce).await;
    let Packet::Publish(p) = next(&mut late).await else {
        panic!()
    };
    assert!(p.retain && p.qos == QoS::AtLeastOnce && &p.payload[..] == b"kept");
    within(late.send(Packet::PubAck(PubAck::new(p.packet_id.unwrap()))))
        .await
        .unwrap();
    assert_eq!(broker.stats().retained, 1);
    broker.shutdown().await;
}

#[tokio::test]
async fn acl_denies_subscribe_with_0x80_and_keeps_the_connection() {
    let broker = start("[[acl]]\nclient_id = \"c*\"\nsubscribe = [\"own/%c/#\"]\npublish = [\"own/%c/x\"]").await;
    let (mut c, _) = connect(&broker, "c1", ProtocolVersion::V5, true).await;
    assert_eq!(
        subscribe(&mut c, "other/#", QoS::AtMostOnce).await,
        [ReasonCode::UnspecifiedError]
    );
    assert_eq!(
        subscribe(&mut c, "own/c1/#", QoS::AtMostOnce).await,
        [ReasonCode::GRANTED_QOS0]
    );
    // Denied publish at QoS 1: PUBACK 0x87; allowed one is delivered.
    let denied = Publish::new(TopicName::from_static("own/c2/x"), "no").qos(QoS::AtLeastOnce, PacketId::MIN);
    within(c.send(Packet::Publish(denied))).await.unwrap();
    assert!(matches!(next(&mut c).await, Packet::PubAck(a) if a.reason_code == ReasonCode::NotAuthorized));
    within(c.send(publish("own/c1/x", "yes"))).await.unwrap();
    assert!(matches!(next(&mut c).await, Packet::Publish(p) if &p.payload[..] == b"yes"));
    broker.shutdown().await;
}

#[tokio::test]
async fn takeover_disconnects_the_old_connection_and_resumes_the_session() {
    let broker = start("").await;
    let mut connect_props = Connect::new(ByteStr::from_static("dev")).clean_start(false);
    connect_props.properties.session_expiry_interval = Some(600);
    let stream = within(TcpStream::connect(broker.local_addr())).await.unwrap();
    let mut first = Framed::new(stream, MqttCodec::client(ProtocolVersion::V5));
    within(first.send(Packet::Connect(Box::new(connect_props.clone()))))
        .await
        .unwrap();
    assert!(matches!(next(&mut first).await, Packet::ConnAck(a) if !a.session_present));
    subscribe(&mut first, "cmd/dev", QoS::AtLeastOnce).await;

    let stream = within(TcpStream::connect(broker.local_addr())).await.unwrap();
    let mut second = Framed::new(stream, MqttCodec::client(ProtocolVersion::V5));
    within(second.send(Packet::Connect(Box::new(connect_props))))
        .await
        .unwrap();
    assert!(matches!(next(&mut first).await, Packet::Disconnect(d) if d.reason_code == ReasonCode::SessionTakenOver));
    assert!(matches!(next(&mut second).await, Packet::ConnAck(a) if a.session_present));

    let (mut publ, _) = connect(&broker, "p", ProtocolVersion::V5, true).await;
    within(publ.send(publish("cmd/dev", "on"))).await.unwrap();
    assert!(matches!(next(&mut second).await, Packet::Publish(p) if &p.payload[..] == b"on"));
    // Graceful shutdown: DISCONNECT 0x8B and the persistent session saved.
    let saved = broker.shutdown().await;
    assert!(
        matches!(next(&mut second).await, Packet::Disconnect(d) if d.reason_code == ReasonCode::ServerShuttingDown)
    );
    assert!(saved.iter().any(|s| s.client_id == "dev" && s.subscriptions.len() == 1));
}

#[tokio::test]
async fn connection_cap_refuses_with_quota_exceeded() {
    let broker = start("[limits]\nmax_connections = 1").await;
    let (_a, ack) = connect(&broker, "a", ProtocolVersion::V5, true).await;
    assert!(matches!(ack, Packet::ConnAck(a) if a.reason_code == ReasonCode::Success));
    let (_b, ack) = connect(&broker, "b", ProtocolVersion::V5, true).await;
    assert!(matches!(ack, Packet::ConnAck(a) if a.reason_code == ReasonCode::QuotaExceeded));
    broker.shutdown().await;
}

#[tokio::test]
async fn empty_client_id_is_assigned() {
    let broker = start("").await;
    let (_c, ack) = connect(&broker, "", ProtocolVersion::V5, true).await;
    let Packet::ConnAck(ack) = ack else { panic!() };
    assert!(
        ack.properties
            .assigned_client_identifier
            .is_some_and(|id| id.as_str().starts_with("hpmq-"))
    );
    broker.shutdown().await;
}

/// The session task gives its read buffer back when a connection has nothing to read; a packet that arrives
/// in pieces, with pauses between them, must still be reassembled (the buffer holding its start is kept).
#[tokio::test]
async fn a_packet_arriving_in_pieces_is_reassembled() {
    use tokio::io::AsyncWriteExt;
    let broker = start("").await;
    let (mut sub, _) = connect(&broker, "sub", ProtocolVersion::V5, true).await;
    subscribe(&mut sub, "split/#", QoS::AtMostOnce).await;
    let (mut publ, _) = connect(&broker, "pub", ProtocolVersion::V311, true).await;
    let payload = "x".repeat(3000);
    let mut bytes = bytes::BytesMut::new();
    Packet::Publish(Publish::new(TopicName::from_static("split/a"), payload.clone()))
        .encode(ProtocolVersion::V311, &mut bytes)
        .unwrap();
    for piece in bytes.chunks(700) {
        publ.get_mut().write_all(piece).await.unwrap();
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
    let Packet::Publish(p) = next(&mut sub).await else {
        panic!()
    };
    assert_eq!((p.topic.as_str(), p.payload.len()), ("split/a", payload.len()));
    broker.shutdown().await;
}

/// Every connection in its handshake holds the future of `connection::handle` (in the task allocator, which
/// keeps the peak of a burst of new connections). Refusals run boxed, the first read is polled by hand and
/// the handshake's locals give way to the session's run: 2,240 bytes before, 728 now (debug build).
#[cfg(target_pointer_width = "64")]
#[tokio::test]
async fn a_handshake_costs_a_small_future() {
    let broker = start("").await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let _client = TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
    let (stream, peer) = listener.accept().await.unwrap();
    let handshake = connection::handle(std::sync::Arc::clone(&broker.shared), stream, peer);
    let size = std::mem::size_of_val(&handshake);
    drop(handshake);
    assert!(size <= 768, "the handshake future is {size} B, budget 768 B");
    broker.shutdown().await;
}
