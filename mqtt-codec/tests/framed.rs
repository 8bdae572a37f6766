//! `MqttCodec` under tokio-util's `Framed`, over an in-memory duplex pipe: what a broker or client does.

// Helpers outside `#[test]` functions assert with unwrap too.
#![allow(clippy::unwrap_used)]
#![cfg(feature = "tokio-codec")]

use std::future::poll_fn;
use std::pin::Pin;

use bytes::Bytes;
use futures_core::Stream;
use futures_sink::Sink;
use mqtt_codec::{
    ByteStr, ConnAck, Connect, Error, MqttCodec, Packet, PacketId, ProtocolVersion, PubAck, Publish, QoS, ReasonCode,
    TopicName,
};
use tokio::io::{AsyncWriteExt, DuplexStream, duplex};
use tokio_util::codec::Framed;

type Conn = Framed<DuplexStream, MqttCodec>;

async fn send(conn: &mut Conn, packet: Packet) -> Result<(), Error> {
    // `MqttCodec` encodes both `Packet` and `&Packet`, so name the Sink.
    poll_fn(|cx| <Conn as Sink<Packet>>::poll_ready(Pin::new(&mut *conn), cx)).await?;
    Pin::new(&mut *conn).start_send(packet)?;
    poll_fn(|cx| <Conn as Sink<Packet>>::poll_flush(Pin::new(&mut *conn), cx)).await
}

async fn recv(conn: &mut Conn) -> Option<Result<Packet, Error>> {
    poll_fn(|cx| Pin::new(&mut *conn).poll_next(cx)).await
}

fn publish(payload: usize) -> Packet {
    Packet::Publish(
        Publish::new(
            TopicName::from_static("fleet/dev-1/temp"),
            Bytes::from(vec![b'x'; payload]),
        )
        .qos(QoS::AtLeastOnce, PacketId::new(1).unwrap()),
    )
}

#[tokio::test]
async fn client_and_server_talk_through_framed() {
    for version in [ProtocolVersion::V311, ProtocolVersion::V5] {
        let (a, b) = duplex(64);
        let mut client = Framed::new(a, MqttCodec::client(version));
        let mut server = Framed::new(b, MqttCodec::server());

        let connect = Packet::from(Connect::new(ByteStr::from_static("dev-1")).version(version));
        let big = publish(10_000);
        let client_side = async {
            send(&mut client, connect.clone()).await.unwrap();
            send(&mut client, big.clone()).await.unwrap();
            let connack = recv(&mut client).await.unwrap().unwrap();
            let puback = recv(&mut client).await.unwrap().unwrap();
            (connack, puback, client)
        };
        let server_side = async {
            let first = recv(&mut server).await.unwrap().unwrap();
            assert_eq!(server.codec().version(), Some(version));
            send(&mut server, ConnAck::new(ReasonCode::Success, false).into())
                .await
                .unwrap();
            // 10 kB through a 64-byte pipe arrives in many pieces and still decodes as one packet.
            let second = recv(&mut server).await.unwrap().unwrap();
            send(&mut server, PubAck::new(PacketId::new(1).unwrap()).into())
                .await
                .unwrap();
            (first, second, server)
        };
        let ((connack, puback, client), (first, second, server)) = tokio::join!(client_side, server_side);
        assert_eq!(first, connect);
        assert_eq!(second, big);
        assert_eq!(connack, ConnAck::new(ReasonCode::Success, false).into());
        assert_eq!(puback, PubAck::new(PacketId::new(1).unwrap()).into());
        drop((client, server));
    }
}

#[tokio::test]
async fn oversized_packet_ends_the_stream_with_packet_too_large() {
    let (a, b) = duplex(1 << 16);
    let mut client = Framed::new(a, MqttCodec::client(ProtocolVersion::V5));
    let mut server = Framed::new(b, MqttCodec::server_with_max_packet_size(1024));
    let connect = Packet::from(Connect::new(ByteStr::from_static("c")));
    send(&mut client, connect).await.unwrap();
    send(&mut client, publish(2000)).await.unwrap();
    assert!(matches!(recv(&mut server).await, Some(Ok(Packet::Connect(_)))));
    assert_eq!(
        recv(&mut server).await,
        Some(Err(Error::PacketTooLarge { size: 2024, max: 1024 }))
    );
}

#[tokio::test]
async fn eof_inside_a_packet_is_an_io_error() {
    let (mut a, b) = duplex(1024);
    let mut server = Framed::new(b, MqttCodec::server());
    // Half a CONNECT, then the peer goes away.
    a.write_all(b"\x10\x0D\x00\x04MQ").await.unwrap();
    drop(a);
    let err = recv(&mut server).await.unwrap().unwrap_err();
    assert!(matches!(err, Error::Io { .. }), "{err:?}");
    assert_eq!(err.reason_code(), ReasonCode::UnspecifiedError);
}
