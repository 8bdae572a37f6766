//! A tour of `mqtt-codec`: build packets, encode and decode them in MQTT 3.1.1 and 5.0, let the tokio-util
//! codec learn a client's version from its CONNECT, and see how strict validation reports a broken packet.
//!
//! ```text
//! cargo run --release -p hpmq-examples --example codec_tour
//! ```

use std::num::NonZeroU16;

use bytes::{Bytes, BytesMut};
use mqtt_codec::properties::{PublishProperties, UserProperty};
use mqtt_codec::{
    ByteStr, Connect, DEFAULT_MAX_PACKET_SIZE, Error, MqttCodec, Packet, PacketId, ProtocolVersion, Publish, QoS,
    Subscribe, SubscriptionOptions, TopicFilter, TopicName,
};
use tokio_util::codec::{Decoder, Encoder};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("== 1. One PUBLISH, both wire formats");
    let packet_id = PacketId::new(42).ok_or("packet id 0")?;
    let publish = Publish::new(TopicName::try_from("fleet/dev-7/temp")?, "21.5").qos(QoS::AtLeastOnce, packet_id);
    for version in [ProtocolVersion::V311, ProtocolVersion::V5] {
        round_trip(version, Packet::from(publish.clone()))?;
    }

    println!("\n== 2. v5 properties and a SUBSCRIBE with wildcards");
    let with_properties = publish.clone().properties(PublishProperties {
        content_type: Some(ByteStr::try_from("text/plain")?),
        response_topic: Some(TopicName::try_from("fleet/dev-7/reply")?),
        user_properties: vec![UserProperty::new(
            ByteStr::try_from("unit")?,
            ByteStr::try_from("celsius")?,
        )],
        ..PublishProperties::default()
    });
    round_trip(ProtocolVersion::V5, Packet::from(with_properties))?;
    let subscribe = Subscribe::new(
        NonZeroU16::MIN,
        [
            (
                TopicFilter::try_from("fleet/+/temp")?,
                SubscriptionOptions::new(QoS::AtLeastOnce),
            ),
            (
                TopicFilter::try_from("$share/workers/jobs/#")?,
                SubscriptionOptions::new(QoS::AtMostOnce),
            ),
        ],
    );
    round_trip(ProtocolVersion::V5, Packet::from(subscribe))?;
    let filter = TopicFilter::try_from("fleet/+/temp")?;
    println!(
        "   {filter:?} matches {:?}: {}",
        publish.topic,
        filter.matches(&publish.topic)
    );

    println!("\n== 3. A server codec learns the version from CONNECT");
    let connect = Connect::new(ByteStr::try_from("dev-7")?)
        .version(ProtocolVersion::V311)
        .keep_alive(30)
        .username(ByteStr::try_from("device")?)
        .password(Bytes::from_static(b"secret"));
    let mut client = MqttCodec::client(ProtocolVersion::V311);
    let mut wire = BytesMut::new();
    client.encode(Packet::from(connect), &mut wire)?;
    client.encode(Packet::from(publish.clone()), &mut wire)?;
    let mut server = MqttCodec::server();
    println!("   before CONNECT the server speaks {:?}", server.version());
    while let Some(packet) = server.decode(&mut wire)? {
        println!(
            "   server decoded {} -> now speaks {:?}",
            packet.packet_type(),
            server.version()
        );
    }

    println!("\n== 4. Strict validation: each broken rule is its own error, with reason code and spec id");
    let broken: [(&str, &[u8]); 6] = [
        ("PUBLISH with a wildcard in its topic", b"\x30\x08\x00\x05a/+/b\x00"),
        ("PUBLISH at QoS 3", b"\x36\x05\x00\x01a\x00\x01"),
        ("QoS 1 PUBLISH with packet id 0", b"\x32\x05\x00\x01a\x00\x00"),
        ("SUBSCRIBE with '#' not last", b"\x82\x09\x00\x01\x00\x00\x03#/a\x01"),
        ("remaining length of 5 bytes", b"\x30\xFF\xFF\xFF\xFF\x01"),
        (
            "a 200 MB PUBLISH announced in the fixed header",
            b"\x30\x80\x80\x80\x60",
        ),
    ];
    for (what, bytes) in broken {
        let mut buf = BytesMut::from(bytes);
        match Packet::decode(ProtocolVersion::V5, &mut buf, DEFAULT_MAX_PACKET_SIZE) {
            Err(e) => {
                let spec = e.spec_ref().unwrap_or("-");
                println!(
                    "   {what}:\n     error: {e}\n     reason code: {}, spec: {spec}",
                    e.reason_code()
                );
            }
            Ok(packet) => println!("   {what}: unexpectedly accepted as {packet:?}"),
        }
    }
    Ok(())
}

/// Encodes `packet` in `version`, prints the bytes, decodes them back and checks nothing changed.
fn round_trip(version: ProtocolVersion, packet: Packet) -> Result<(), Error> {
    let mut wire = BytesMut::new();
    packet.encode(version, &mut wire)?;
    println!(
        "   {} {version}: {} bytes (encoded_len {})",
        packet.packet_type(),
        wire.len(),
        packet.encoded_len(version)
    );
    println!("     wire: {}", hex(&wire));
    let decoded = Packet::decode(version, &mut wire, DEFAULT_MAX_PACKET_SIZE)?;
    let same = decoded.as_ref() == Some(&packet);
    println!("     decoded back, equal to the original: {same}");
    if let Some(Packet::Publish(p)) = &decoded {
        println!(
            "     topic {:?}, payload {:?}",
            p.topic,
            String::from_utf8_lossy(&p.payload)
        );
    }
    Ok(())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(" ")
}
