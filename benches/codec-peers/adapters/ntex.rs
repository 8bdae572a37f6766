//! ntex-mqtt's codecs: `ntex_mqtt::v3::codec::Codec` and `ntex_mqtt::v5::codec::Codec` (`ntex_codec` traits,
//! `ntex_bytes` buffers).
//!
//! Differences the API imposes, kept as they are: ntex decodes from its own `ntex_bytes::BytesMut` and hands a
//! PUBLISH back as header plus a separate payload `Bytes`; it encodes into `ntex_bytes::BytePages` (a list of
//! pages, cleared after each packet as its I/O layer does once written), takes packets by value, and
//! attaches payloads above 4 KiB as their own page instead of copying them.

use std::num::{NonZeroU16, NonZeroU32};

use hpmq_bench::{Case, Version};
use ntex_bytes::{BytePages, Bytes, BytesMut};
use ntex_codec::{Decoder, Encoder};
use ntex_mqtt::v3::codec as v3;
use ntex_mqtt::v5::codec as v5;

use super::MAX_PACKET_SIZE;

/// An encodable ntex item of either version.
#[derive(Debug, Clone)]
pub enum Packet {
    /// MQTT 3.1.1.
    V3(v3::Encoded),
    /// MQTT 5.0.
    V5(v5::Encoded),
}

fn qos(q: u8) -> ntex_mqtt::QoS {
    ntex_mqtt::QoS::try_from(q).expect("QoS 0..=2")
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

fn packet_v3(case: Case) -> v3::Encoded {
    match case {
        Case::Connect => v3::Encoded::Packet(v3::Packet::Connect(Box::new(v3::Connect {
            clean_session: true,
            keep_alive: hpmq_bench::KEEP_ALIVE,
            last_will: None,
            client_id: hpmq_bench::CLIENT_ID.into(),
            username: Some(hpmq_bench::USERNAME.into()),
            password: Some(Bytes::copy_from_slice(hpmq_bench::PASSWORD)),
        }))),
        Case::PublishQos1 | Case::PublishQos1Props | Case::Publish64k => {
            let payload = Bytes::from(hpmq_bench::payload(case));
            let publish = v3::Publish {
                dup: false,
                retain: false,
                qos: qos(1),
                topic: hpmq_bench::TOPIC.into(),
                packet_id: Some(nz16(hpmq_bench::PACKET_ID)),
                payload_size: u32::try_from(payload.len()).expect("payload fits u32"),
            };
            v3::Encoded::Publish(publish, Some(payload))
        }
        Case::Subscribe10 => v3::Encoded::Packet(v3::Packet::Subscribe {
            packet_id: nz16(hpmq_bench::SUBSCRIBE_PACKET_ID),
            topic_filters: hpmq_bench::FILTERS
                .iter()
                .enumerate()
                .map(|(i, f)| ((*f).into(), qos(hpmq_bench::filter_qos(i))))
                .collect(),
        }),
    }
}

fn packet_v5(case: Case) -> v5::Encoded {
    match case {
        Case::Connect => v5::Encoded::Packet(v5::Packet::Connect(Box::new(v5::Connect {
            clean_start: true,
            keep_alive: hpmq_bench::KEEP_ALIVE,
            session_expiry_interval_secs: hpmq_bench::CONNECT_SESSION_EXPIRY,
            receive_max: Some(nz16(hpmq_bench::CONNECT_RECEIVE_MAX)),
            max_packet_size: Some(nz32(hpmq_bench::CONNECT_MAX_PACKET_SIZE)),
            topic_alias_max: hpmq_bench::CONNECT_TOPIC_ALIAS_MAX,
            client_id: hpmq_bench::CLIENT_ID.into(),
            username: Some(hpmq_bench::USERNAME.into()),
            password: Some(Bytes::copy_from_slice(hpmq_bench::PASSWORD)),
            ..v5::Connect::default()
        }))),
        Case::PublishQos1 | Case::PublishQos1Props | Case::Publish64k => {
            let payload = Bytes::from(hpmq_bench::payload(case));
            let mut properties = v5::PublishProperties::default();
            if case == Case::PublishQos1Props {
                properties.message_expiry_interval = Some(nz32(hpmq_bench::MESSAGE_EXPIRY));
                properties.content_type = Some(hpmq_bench::CONTENT_TYPE.into());
                properties.response_topic = Some(hpmq_bench::RESPONSE_TOPIC.into());
                properties.correlation_data = Some(Bytes::copy_from_slice(hpmq_bench::CORRELATION_DATA));
                properties.user_properties = hpmq_bench::USER_PROPERTIES
                    .iter()
                    .map(|(k, v)| ((*k).into(), (*v).into()))
                    .collect();
            }
            let publish = v5::Publish {
                dup: false,
                retain: false,
                qos: qos(1),
                packet_id: Some(nz16(hpmq_bench::PACKET_ID)),
                topic: hpmq_bench::TOPIC.into(),
                payload_size: u32::try_from(payload.len()).expect("payload fits u32"),
                properties,
            };
            v5::Encoded::Publish(publish, Some(payload))
        }
        Case::Subscribe10 => v5::Encoded::Packet(v5::Packet::Subscribe(v5::Subscribe {
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
        })),
    }
}

/// The v3.1.1 codec, configured with the shared maximum packet size.
pub fn codec_v3() -> v3::Codec {
    let codec = v3::Codec::new();
    codec.set_max_size(MAX_PACKET_SIZE);
    codec
}

/// The v5 codec, configured with the shared maximum packet size.
pub fn codec_v5() -> v5::Codec {
    let codec = v5::Codec::new();
    codec.set_max_inbound_size(MAX_PACKET_SIZE);
    codec
}

/// A decode input: the frame in an `ntex_bytes::BytesMut` with the same spare capacity as the other codecs get.
pub fn input(frame: &[u8]) -> BytesMut {
    let mut buf = BytesMut::with_capacity(frame.len() + hpmq_bench::READ_BUFFER_SPARE);
    buf.extend_from_slice(frame);
    buf
}

/// Decodes one MQTT 3.1.1 packet (a PUBLISH comes back with its whole payload, as it is all buffered).
pub fn decode_v3(codec: &v3::Codec, buf: &mut BytesMut) -> v3::Decoded {
    codec
        .decode(buf)
        .expect("ntex v3 decodes the case")
        .expect("a whole frame")
}

/// Decodes one MQTT 5.0 packet.
pub fn decode_v5(codec: &v5::Codec, buf: &mut BytesMut) -> v5::Decoded {
    codec
        .decode(buf)
        .expect("ntex v5 decodes the case")
        .expect("a whole frame")
}

/// Encodes an MQTT 3.1.1 item.
pub fn encode_v3(codec: &v3::Codec, item: v3::Encoded, out: &mut BytePages) {
    codec.encodev(item, out).expect("ntex v3 encodes the case");
}

/// Encodes an MQTT 5.0 item.
pub fn encode_v5(codec: &v5::Codec, item: v5::Encoded, out: &mut BytePages) {
    codec.encodev(item, out).expect("ntex v5 encodes the case");
}

/// Drops what was encoded, as ntex-io's write buffer does (`BytePages::clear`) once it has been written out.
pub fn drain(out: &mut BytePages) {
    out.clear();
}

/// Takes everything encoded so far, as one contiguous vector (for tests).
pub fn contents(out: &mut BytePages) -> Vec<u8> {
    let mut all = Vec::new();
    while let Some(page) = out.take() {
        all.extend_from_slice(page.as_ref());
    }
    all
}
