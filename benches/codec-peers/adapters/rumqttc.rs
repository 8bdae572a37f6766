//! rumqttc's `mqttbytes`: `rumqttc::mqttbytes::v4` (MQTT 3.1.1) and `rumqttc::v5::mqttbytes::v5`.
//!
//! Decoding goes through `Packet::read`, the entry point rumqttc's own event loop uses. Encoding calls each
//! packet type's `write` directly, the leanest public path (`Packet::write` would add a size pre-check).

use bytes::{Bytes, BytesMut};
use hpmq_bench::{Case, Version};
use rumqttc::mqttbytes::v4;
use rumqttc::v5::mqttbytes::v5;

use super::{MAX_PACKET_SIZE, password_str};

/// A rumqttc packet of either version (built once per benchmark, so the variants' size difference is moot).
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Packet {
    /// MQTT 3.1.1.
    V4(v4::Packet),
    /// MQTT 5.0.
    V5(v5::Packet),
}

fn qos4(q: u8) -> rumqttc::mqttbytes::QoS {
    rumqttc::mqttbytes::qos(q).expect("QoS 0..=2")
}

fn qos5(q: u8) -> rumqttc::v5::mqttbytes::QoS {
    rumqttc::v5::mqttbytes::qos(q).expect("QoS 0..=2")
}

/// The packet of `case` in `version`, built from the shared field values.
pub fn packet(case: Case, version: Version) -> Packet {
    match version {
        Version::V311 => Packet::V4(packet_v4(case)),
        Version::V5 => Packet::V5(packet_v5(case)),
    }
}

fn packet_v4(case: Case) -> v4::Packet {
    match case {
        Case::Connect => v4::Packet::Connect(v4::Connect {
            protocol: rumqttc::mqttbytes::Protocol::V4,
            keep_alive: hpmq_bench::KEEP_ALIVE,
            client_id: hpmq_bench::CLIENT_ID.to_owned(),
            clean_session: true,
            last_will: None,
            login: Some(v4::Login::new(hpmq_bench::USERNAME, password_str())),
        }),
        Case::PublishQos1 | Case::PublishQos1Props | Case::Publish64k => v4::Packet::Publish(v4::Publish {
            dup: false,
            qos: qos4(1),
            retain: false,
            topic: hpmq_bench::TOPIC.to_owned(),
            pkid: hpmq_bench::PACKET_ID,
            payload: Bytes::from(hpmq_bench::payload(case)),
        }),
        Case::Subscribe10 => v4::Packet::Subscribe(v4::Subscribe {
            pkid: hpmq_bench::SUBSCRIBE_PACKET_ID,
            filters: hpmq_bench::FILTERS
                .iter()
                .enumerate()
                .map(|(i, f)| v4::SubscribeFilter::new((*f).to_owned(), qos4(hpmq_bench::filter_qos(i))))
                .collect(),
        }),
    }
}

fn packet_v5(case: Case) -> v5::Packet {
    match case {
        Case::Connect => v5::Packet::Connect(
            v5::Connect {
                keep_alive: hpmq_bench::KEEP_ALIVE,
                client_id: hpmq_bench::CLIENT_ID.to_owned(),
                clean_start: true,
                properties: Some(v5::ConnectProperties {
                    session_expiry_interval: Some(hpmq_bench::CONNECT_SESSION_EXPIRY),
                    receive_maximum: Some(hpmq_bench::CONNECT_RECEIVE_MAX),
                    max_packet_size: Some(hpmq_bench::CONNECT_MAX_PACKET_SIZE),
                    topic_alias_max: Some(hpmq_bench::CONNECT_TOPIC_ALIAS_MAX),
                    ..v5::ConnectProperties::new()
                }),
            },
            None,
            Some(v5::Login::new(hpmq_bench::USERNAME, password_str())),
        ),
        Case::PublishQos1 | Case::PublishQos1Props | Case::Publish64k => v5::Packet::Publish(v5::Publish {
            dup: false,
            qos: qos5(1),
            retain: false,
            topic: Bytes::from_static(hpmq_bench::TOPIC.as_bytes()),
            pkid: hpmq_bench::PACKET_ID,
            payload: Bytes::from(hpmq_bench::payload(case)),
            properties: (case == Case::PublishQos1Props).then(|| v5::PublishProperties {
                message_expiry_interval: Some(hpmq_bench::MESSAGE_EXPIRY),
                content_type: Some(hpmq_bench::CONTENT_TYPE.to_owned()),
                response_topic: Some(hpmq_bench::RESPONSE_TOPIC.to_owned()),
                correlation_data: Some(Bytes::from_static(hpmq_bench::CORRELATION_DATA)),
                user_properties: hpmq_bench::USER_PROPERTIES
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                    .collect(),
                ..v5::PublishProperties::default()
            }),
        }),
        Case::Subscribe10 => v5::Packet::Subscribe(v5::Subscribe {
            pkid: hpmq_bench::SUBSCRIBE_PACKET_ID,
            filters: hpmq_bench::FILTERS
                .iter()
                .enumerate()
                .map(|(i, f)| v5::Filter::new(*f, qos5(hpmq_bench::filter_qos(i))))
                .collect(),
            properties: None,
        }),
    }
}

/// A decode input: the frame in a `BytesMut` already promoted to shared storage (see `BENCHMARKS.md`).
pub fn input(frame: &[u8]) -> BytesMut {
    hpmq_bench::shared_buffer(frame)
}

/// Decodes one MQTT 3.1.1 packet.
pub fn decode_v4(buf: &mut BytesMut) -> v4::Packet {
    v4::Packet::read(buf, MAX_PACKET_SIZE as usize).expect("rumqttc v4 decodes the case")
}

/// Decodes one MQTT 5.0 packet.
pub fn decode_v5(buf: &mut BytesMut) -> v5::Packet {
    v5::Packet::read(buf, Some(MAX_PACKET_SIZE)).expect("rumqttc v5 decodes the case")
}

/// Encodes an MQTT 3.1.1 packet with its type's `write`.
pub fn encode_v4(packet: &v4::Packet, out: &mut BytesMut) {
    let written = match packet {
        v4::Packet::Connect(c) => c.write(out),
        v4::Packet::Publish(p) => p.write(out),
        v4::Packet::Subscribe(s) => s.write(out),
        other => panic!("not a benchmark case: {other:?}"),
    };
    written.expect("rumqttc v4 encodes the case");
}

/// Encodes an MQTT 5.0 packet with its type's `write`.
pub fn encode_v5(packet: &v5::Packet, out: &mut BytesMut) {
    let written = match packet {
        v5::Packet::Connect(c, will, login) => c.write(will, login, out),
        v5::Packet::Publish(p) => p.write(out),
        v5::Packet::Subscribe(s) => s.write(out),
        other => panic!("not a benchmark case: {other:?}"),
    };
    written.expect("rumqttc v5 encodes the case");
}
