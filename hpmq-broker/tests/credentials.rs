//! CONNECT user names and passwords against the `[auth]` section (issue 16 item 11): with no user database
//! and anonymous access on, a CONNECT carrying a user name and password is accepted as mosquitto does, and the
//! name is the client's identity for `%u` ACL rules; with users configured, an unknown user is still refused.
//! The client is the broker's own codec over a real TCP connection, in MQTT 5.0 for its reason codes.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use std::net::SocketAddr;

use bytes::Bytes;
use common::{WAIT, start, unique};
use futures_util::{SinkExt, StreamExt};
use mqtt_codec::{
    ByteStr, ConnAck, Connect, MqttCodec, Packet, PacketId, ProtocolVersion, Publish, QoS, ReasonCode, Subscribe,
    SubscriptionOptions, TopicFilter, TopicName,
};
use tokio::net::TcpStream;
use tokio_util::codec::Framed;

type Client = Framed<TcpStream, MqttCodec>;

async fn next(c: &mut Client) -> Packet {
    tokio::time::timeout(WAIT, c.next())
        .await
        .expect("no packet within the wait")
        .expect("closed")
        .expect("undecodable packet")
}

/// Connects with `credentials` (user name, password); returns the connection and its CONNACK.
async fn connect(addr: SocketAddr, credentials: Option<(&str, &str)>) -> (Client, Box<ConnAck>) {
    let stream = tokio::time::timeout(WAIT, TcpStream::connect(addr))
        .await
        .unwrap()
        .unwrap();
    let mut c = Framed::new(stream, MqttCodec::client(ProtocolVersion::V5));
    let mut connect = Connect::new(ByteStr::try_from(unique("cred")).unwrap())
        .version(ProtocolVersion::V5)
        .clean_start(true);
    if let Some((user, password)) = credentials {
        connect = connect
            .username(ByteStr::try_from(user).unwrap())
            .password(Bytes::copy_from_slice(password.as_bytes()));
    }
    c.send(Packet::Connect(Box::new(connect))).await.unwrap();
    match next(&mut c).await {
        Packet::ConnAck(ack) => (c, ack),
        other => panic!("expected CONNACK, got {other:?}"),
    }
}

async fn subscribe(c: &mut Client, filter: &str) -> ReasonCode {
    let sub = Subscribe::new(
        PacketId::MIN,
        [(
            TopicFilter::try_from(filter).unwrap(),
            SubscriptionOptions::new(QoS::AtMostOnce),
        )],
    );
    c.send(Packet::Subscribe(sub)).await.unwrap();
    match next(c).await {
        Packet::SubAck(ack) => ack.reason_codes[0],
        other => panic!("expected SUBACK, got {other:?}"),
    }
}

/// Publishes at QoS 1; returns the PUBACK's reason code.
async fn publish(c: &mut Client, topic: &str, payload: &'static str) -> ReasonCode {
    let p = Publish::new(TopicName::try_from(topic).unwrap(), payload).qos(QoS::AtLeastOnce, PacketId::MIN);
    c.send(Packet::Publish(p)).await.unwrap();
    loop {
        match next(c).await {
            Packet::PubAck(ack) => return ack.reason_code,
            Packet::Publish(_) => {}
            other => panic!("expected PUBACK, got {other:?}"),
        }
    }
}

const ACL: &str = "[[acl]]\npublish = [\"users/%u/#\"]\nsubscribe = [\"users/%u/#\"]\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_users_credentials_are_accepted_and_the_name_is_the_identity_for_acls() {
    let broker = start(&format!("[auth]\nallow_anonymous = true\n{ACL}")).await;
    let addr = broker.local_addr();
    let (mut alice, ack) = connect(addr, Some(("alice", "whatever"))).await;
    assert_eq!(
        ack.reason_code,
        ReasonCode::Success,
        "accepted like mosquitto without a password file"
    );
    // `%u` is "alice": her own tree is granted, bob's is not.
    assert_eq!(subscribe(&mut alice, "users/alice/#").await, ReasonCode::GRANTED_QOS0);
    assert_eq!(subscribe(&mut alice, "users/bob/#").await, ReasonCode::UnspecifiedError);
    assert_eq!(
        publish(&mut alice, "users/bob/x", "no").await,
        ReasonCode::NotAuthorized
    );
    assert_eq!(publish(&mut alice, "users/alice/x", "yes").await, ReasonCode::Success);
    match next(&mut alice).await {
        Packet::Publish(p) => assert_eq!(&p.payload[..], b"yes"),
        other => panic!("expected her own message, got {other:?}"),
    }
    // A client without a user name matches no `%u` rule.
    let (mut anonymous, ack) = connect(addr, None).await;
    assert_eq!(ack.reason_code, ReasonCode::Success);
    assert_eq!(
        subscribe(&mut anonymous, "users/alice/#").await,
        ReasonCode::UnspecifiedError
    );
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_users_unknown_names_and_wrong_passwords_are_still_refused() {
    let hash = hpmq_broker::auth::hash_password(b"secret").unwrap();
    let broker = start(&format!(
        "[auth]\nallow_anonymous = true\n[[auth.users]]\nusername = \"alice\"\npassword_hash = \"{hash}\"\n{ACL}"
    ))
    .await;
    let addr = broker.local_addr();
    for (user, password) in [("bob", "secret"), ("alice", "wrong")] {
        let (_c, ack) = connect(addr, Some((user, password))).await;
        assert_eq!(ack.reason_code, ReasonCode::BadUserNameOrPassword, "{user}/{password}");
    }
    let (mut alice, ack) = connect(addr, Some(("alice", "secret"))).await;
    assert_eq!(ack.reason_code, ReasonCode::Success);
    assert_eq!(subscribe(&mut alice, "users/alice/#").await, ReasonCode::GRANTED_QOS0);
    assert_eq!(subscribe(&mut alice, "users/bob/#").await, ReasonCode::UnspecifiedError);
    // Anonymous access stays as configured.
    let (_anonymous, ack) = connect(addr, None).await;
    assert_eq!(ack.reason_code, ReasonCode::Success);
    broker.shutdown().await;
}
