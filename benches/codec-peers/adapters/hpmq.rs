//! Our codec, `mqtt-codec`: `Packet::decode` from a `BytesMut` and `Packet::encode` by reference into one.

use std::num::{NonZeroU16, NonZeroU32};

use bytes::{Bytes, BytesMut};
use hpmq_bench::{Case, Version};
use mqtt_codec::properties::{ConnectProperties, PublishProperties, UserProperty};
use mqtt_codec::{
    ByteStr, Connect, Packet, PacketId, ProtocolVersion, Publish, QoS, Subscribe, SubscriptionOptions, TopicFilter,
    TopicName,
};

use super::MAX_PACKET_SIZE;

/// The protocol version of a case.
pub fn version(version: Version) -> ProtocolVersion {
    match version {
        Version::V311 => ProtocolVersion::V311,
        Version::V5 => ProtocolVersion::V5,
    }
}

fn qos(q: u8) -> QoS {
    QoS::try_from(q).expect("QoS 0..=2")
}

fn id(v: u16) -> PacketId {
    NonZeroU16::new(v).expect("non-zero")
}

/// The packet of `case` in `v`, built from the shared field values.
pub fn packet(case: Case, v: Version) -> Packet {
    match case {
        Case::Connect => {
            let mut connect = Connect::new(ByteStr::from_static(hpmq_bench::CLIENT_ID))
                .version(version(v))
                .clean_start(true)
                .keep_alive(hpmq_bench::KEEP_ALIVE)
                .username(ByteStr::from_static(hpmq_bench::USERNAME))
                .password(Bytes::from_static(hpmq_bench::PASSWORD));
            if v == Version::V5 {
                connect = connect.properties(ConnectProperties {
                    session_expiry_interval: Some(hpmq_bench::CONNECT_SESSION_EXPIRY),
                    receive_maximum: NonZeroU16::new(hpmq_bench::CONNECT_RECEIVE_MAX),
                    maximum_packet_size: NonZeroU32::new(hpmq_bench::CONNECT_MAX_PACKET_SIZE),
                    topic_alias_maximum: Some(hpmq_bench::CONNECT_TOPIC_ALIAS_MAX),
                    ..ConnectProperties::default()
                });
            }
            Packet::from(connect)
        }
        Case::PublishQos1 | Case::PublishQos1Props | Case::Publish64k => {
            let mut publish = Publish::new(TopicName::from_static(hpmq_bench::TOPIC), hpmq_bench::payload(case))
                .qos(qos(1), id(hpmq_bench::PACKET_ID));
            if case == Case::PublishQos1Props {
                publish = publish.properties(PublishProperties {
                    message_expiry_interval: Some(hpmq_bench::MESSAGE_EXPIRY),
                    content_type: Some(ByteStr::from_static(hpmq_bench::CONTENT_TYPE)),
                    response_topic: Some(TopicName::from_static(hpmq_bench::RESPONSE_TOPIC)),
                    correlation_data: Some(Bytes::from_static(hpmq_bench::CORRELATION_DATA)),
                    user_properties: hpmq_bench::USER_PROPERTIES
                        .iter()
                        .map(|(k, v)| UserProperty::new(ByteStr::from_static(k), ByteStr::from_static(v)))
                        .collect(),
                    ..PublishProperties::default()
                });
            }
            Packet::from(publish)
        }
        Case::Subscribe10 => Packet::from(Subscribe::new(
            id(hpmq_bench::SUBSCRIBE_PACKET_ID),
            hpmq_bench::FILTERS.iter().enumerate().map(|(i, f)| {
                (
                    TopicFilter::from_static(f),
                    SubscriptionOptions::new(qos(hpmq_bench::filter_qos(i))),
                )
            }),
        )),
    }
}

/// A decode input: the shared, spare-capacity buffer every `bytes`-based codec gets.
pub fn input(frame: &[u8]) -> BytesMut {
    hpmq_bench::shared_buffer(frame)
}

/// Decodes one packet.
pub fn decode(v: ProtocolVersion, buf: &mut BytesMut) -> Packet {
    Packet::decode(v, buf, MAX_PACKET_SIZE as usize)
        .expect("mqtt-codec decodes the case")
        .expect("a whole frame")
}

/// Encodes one packet.
pub fn encode(v: ProtocolVersion, packet: &Packet, out: &mut BytesMut) {
    packet.encode(v, out).expect("mqtt-codec encodes the case");
}
