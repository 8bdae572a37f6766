//! rmqtt's codecs: `rmqtt_codec::v3::Codec` and `rmqtt_codec::v5::Codec` (tokio-util `Decoder`/`Encoder` over
//! `bytes`). Encoding takes the packet by value, so the benchmark clones it outside the timed region.

use std::num::{NonZeroU16, NonZeroU32};

use bytes::{Bytes, BytesMut};
use hpmq_bench::{Case, Version};
use rmqtt_codec::types::{Protocol, Publish, QoS};
use rmqtt_codec::{v3, v5};
use tokio_util::codec::{Decoder, Encoder};

use super::MAX_PACKET_SIZE;

/// An rmqtt packet of either version.
#[derive(Debug, Clone)]
pub enum Packet {
    /// MQTT 3.1.1.
    V3(v3::Packet),
    /// MQTT 5.0.
    V5(v5::Packet),
}

fn qos(q: u8) -> QoS {
    QoS::try_from(q).expect("QoS 0..=2")
}

fn nz16(v: u16) -> NonZeroU16 {
    NonZeroU16::new(v).expect("non-zero")
}

fn nz32(v: u32) -> NonZeroU32 {
    NonZeroU32::new(v).expect("non-zero")
}

/// The packet of `case` in `version`, built from the shared field values.
pub fn packet(case: Case, version: Version) -> Packet {
    match version {
        Version::V311 => Packet::V3(packet_v3(case)),
        Version::V5 => Packet::V5(packet_v5(case)),
    }
}

/// A PUBLISH; rmqtt models "v5 without properties" as `Some(PublishProperties::default())` and v3.1.1 as `None`.
fn publish(case: Case, version: Version) -> Publish {
    let properties = (version == Version::V5).then(v5::PublishProperties::default);
    let properties = if case == Case::PublishQos1Props {
        Some(v5::PublishProperties {
            message_expiry_interval: Some(nz32(hpmq_bench::MESSAGE_EXPIRY)),
            content_type: Some(hpmq_bench::CONTENT_TYPE.into()),
            response_topic: Some(hpmq_bench::RESPONSE_TOPIC.into()),
            correlation_data: Some(Bytes::from_static(hpmq_bench::CORRELATION_DATA)),
            user_properties: hpmq_bench::USER_PROPERTIES
                .iter()
                .map(|(k, v)| ((*k).into(), (*v).into()))
                .collect(),
            ..Default::default()
        })
    } else {
        properties
    };
    Publish {
        dup: false,
        retain: false,
        qos: qos(1),
        topic: hpmq_bench::TOPIC.into(),
        packet_id: Some(nz16(hpmq_bench::PACKET_ID)),
        payload: Bytes::from(hpmq_bench::payload(case)),
        properties,
    }
}

fn packet_v3(case: Case) -> v3::Packet {
    match case {
        Case::Connect => v3::Packet::Connect(Box::new(v3::Connect {
            protocol: Protocol(4),
            clean_session: true,
            keep_alive: hpmq_bench::KEEP_ALIVE,
            last_will: None,
            client_id: hpmq_bench::CLIENT_ID.into(),
            username: Some(hpmq_bench::USERNAME.into()),
            password: Some(Bytes::from_static(hpmq_bench::PASSWORD)),
            cert: None,
        })),
        Case::PublishQos1 | Case::PublishQos1Props | Case::Publish64k => {
            v3::Packet::Publish(Box::new(publish(case, Version::V311)))
        }
        Case::Subscribe10 => v3::Packet::Subscribe {
            packet_id: nz16(hpmq_bench::SUBSCRIBE_PACKET_ID),
            topic_filters: hpmq_bench::FILTERS
                .iter()
                .enumerate()
                .map(|(i, f)| ((*f).into(), qos(hpmq_bench::filter_qos(i))))
                .collect(),
        },
    }
}

fn packet_v5(case: Case) -> v5::Packet {
    match case {
        Case::Connect => v5::Packet::Connect(Box::new(v5::Connect {
            clean_start: true,
            keep_alive: hpmq_bench::KEEP_ALIVE,
            session_expiry_interval_secs: hpmq_bench::CONNECT_SESSION_EXPIRY,
            receive_max: Some(nz16(hpmq_bench::CONNECT_RECEIVE_MAX)),
            max_packet_size: Some(nz32(hpmq_bench::CONNECT_MAX_PACKET_SIZE)),
            topic_alias_max: hpmq_bench::CONNECT_TOPIC_ALIAS_MAX,
            client_id: hpmq_bench::CLIENT_ID.into(),
            username: Some(hpmq_bench::USERNAME.into()),
            password: Some(Bytes::from_static(hpmq_bench::PASSWORD)),
            ..v5::Connect::default()
        })),
        Case::PublishQos1 | Case::PublishQos1Props | Case::Publish64k => {
            v5::Packet::Publish(Box::new(publish(case, Version::V5)))
        }
        Case::Subscribe10 => v5::Packet::Subscribe(v5::Subscribe {
            packet_id: nz16(hpmq_bench::SUBSCRIBE_PACKET_ID),
            id: None,
            user_properties: Vec::new(),
            topic_filters: hpmq_bench::FILTERS
                .iter()
                .enumerate()
                .map(|(i, f)| {
                    let options = v5::SubscriptionOptions {
                        qos: qos(hpmq_bench::filter_qos(i)),
                        ..Default::default()
                    };
                    ((*f).into(), options)
                })
                .collect(),
        }),
    }
}

/// The v3.1.1 codec, configured with the shared maximum packet size.
pub fn codec_v3() -> v3::Codec {
    v3::Codec::new(MAX_PACKET_SIZE)
}

/// The v5 codec, configured with the shared maximum packet size both ways.
pub fn codec_v5() -> v5::Codec {
    v5::Codec::new(MAX_PACKET_SIZE, MAX_PACKET_SIZE)
}

/// A decode input: the same shared, spare-capacity buffer the other `bytes`-based codecs get.
pub fn input(frame: &[u8]) -> BytesMut {
    hpmq_bench::shared_buffer(frame)
}

/// Decodes one MQTT 3.1.1 packet.
pub fn decode_v3(codec: &mut v3::Codec, buf: &mut BytesMut) -> v3::Packet {
    codec
        .decode(buf)
        .expect("rmqtt v3 decodes the case")
        .expect("a whole frame")
        .0
}

/// Decodes one MQTT 5.0 packet.
pub fn decode_v5(codec: &mut v5::Codec, buf: &mut BytesMut) -> v5::Packet {
    codec
        .decode(buf)
        .expect("rmqtt v5 decodes the case")
        .expect("a whole frame")
        .0
}

/// Encodes an MQTT 3.1.1 packet.
pub fn encode_v3(codec: &mut v3::Codec, packet: v3::Packet, out: &mut BytesMut) {
    codec.encode(packet, out).expect("rmqtt v3 encodes the case");
}

/// Encodes an MQTT 5.0 packet.
pub fn encode_v5(codec: &mut v5::Codec, packet: v5::Packet, out: &mut BytesMut) {
    codec.encode(packet, out).expect("rmqtt v5 encodes the case");
}
