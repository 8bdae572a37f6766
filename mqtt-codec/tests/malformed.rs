//! Malformed input, one row per rule: each must fail with its own error variant (and so its own reason code).

use bytes::{Bytes, BytesMut};
#[cfg(feature = "tokio-codec")]
use mqtt_codec::MqttCodec;
use mqtt_codec::ProtocolVersion::{V5, V311};
use mqtt_codec::{Error, Packet, PacketType, PropertyId, ProtocolVersion, ReasonCode};
#[cfg(feature = "tokio-codec")]
use tokio_util::codec::Decoder;

/// (what, version, whole frame, expected error)
const TABLE: &[(&str, ProtocolVersion, &[u8], Error)] = &[
    // ---- fixed header ----
    (
        "remaining length over 4 bytes",
        V5,
        b"\x30\xFF\xFF\xFF\xFF\x01",
        Error::VariableIntTooLong,
    ),
    (
        "non-minimal remaining length",
        V5,
        b"\xC0\x80\x00",
        Error::NonMinimalVariableInt,
    ),
    (
        "packet type 0",
        V5,
        b"\x00\x00",
        Error::ReservedPacketType {
            packet_type: 0,
            version: V5,
        },
    ),
    (
        "AUTH in 3.1.1",
        V311,
        b"\xF0\x00",
        Error::ReservedPacketType {
            packet_type: 15,
            version: V311,
        },
    ),
    (
        "PUBREL flags 0",
        V5,
        b"\x60\x02\x00\x01",
        Error::InvalidHeaderFlags {
            packet: PacketType::PubRel,
            flags: 0,
        },
    ),
    (
        "SUBSCRIBE flags 0",
        V311,
        b"\x80\x06\x00\x01\x00\x01a\x00",
        Error::InvalidHeaderFlags {
            packet: PacketType::Subscribe,
            flags: 0,
        },
    ),
    (
        "UNSUBSCRIBE flags 3",
        V311,
        b"\xA3\x05\x00\x01\x00\x01a",
        Error::InvalidHeaderFlags {
            packet: PacketType::Unsubscribe,
            flags: 3,
        },
    ),
    (
        "PINGREQ flags 1",
        V311,
        b"\xC1\x00",
        Error::InvalidHeaderFlags {
            packet: PacketType::PingReq,
            flags: 1,
        },
    ),
    (
        "CONNACK flags 2",
        V311,
        b"\x22\x02\x00\x00",
        Error::InvalidHeaderFlags {
            packet: PacketType::ConnAck,
            flags: 2,
        },
    ),
    (
        "frame longer than its header says",
        V311,
        b"\xC0\x00\x00",
        Error::FrameLengthMismatch { frame: 3, expected: 2 },
    ),
    (
        "frame shorter than its header says",
        V311,
        b"\x30\x05\x00\x01t",
        Error::FrameLengthMismatch { frame: 5, expected: 7 },
    ),
    (
        "empty frame",
        V311,
        b"",
        Error::FrameLengthMismatch { frame: 0, expected: 1 },
    ),
    // ---- PUBLISH ----
    ("QoS 3", V5, b"\x36\x05\x00\x01t\x00\x01", Error::InvalidQoS),
    ("DUP on QoS 0", V311, b"\x38\x03\x00\x01t", Error::DupOnQoS0),
    (
        "PUBLISH packet id 0",
        V311,
        b"\x32\x05\x00\x01t\x00\x00",
        Error::PacketIdZero {
            packet: PacketType::Publish,
        },
    ),
    (
        "invalid UTF-8 topic",
        V311,
        b"\x30\x04\x00\x02\xC0\xAF",
        Error::InvalidUtf8,
    ),
    (
        "UTF-16 surrogate in topic",
        V311,
        b"\x30\x05\x00\x03\xED\xA0\x80",
        Error::InvalidUtf8,
    ),
    ("U+0000 in topic", V311, b"\x30\x04\x00\x02a\x00", Error::NullCharacter),
    (
        "'#' in topic name",
        V311,
        b"\x30\x05\x00\x03a/#",
        Error::WildcardInTopicName,
    ),
    (
        "'+' in topic name",
        V5,
        b"\x30\x06\x00\x03a/+\x00",
        Error::WildcardInTopicName,
    ),
    ("empty topic in 3.1.1", V311, b"\x30\x02\x00\x00", Error::EmptyTopic),
    (
        "empty topic without alias",
        V5,
        b"\x30\x03\x00\x00\x00",
        Error::EmptyTopic,
    ),
    (
        "topic alias 0",
        V5,
        b"\x30\x07\x00\x01t\x03\x23\x00\x00",
        Error::TopicAliasZero,
    ),
    (
        "topic longer than the packet",
        V311,
        b"\x30\x05\x00\x0Aabc",
        Error::Truncated {
            packet: PacketType::Publish,
        },
    ),
    (
        "packet id cut short",
        V311,
        b"\x32\x04\x00\x01t\x00",
        Error::Truncated {
            packet: PacketType::Publish,
        },
    ),
    (
        "property block longer than the packet",
        V5,
        b"\x30\x05\x00\x01t\x09\x01",
        Error::Truncated {
            packet: PacketType::Publish,
        },
    ),
    (
        "property value cut short",
        V5,
        b"\x30\x06\x00\x01t\x02\x02\x00",
        Error::Truncated {
            packet: PacketType::Publish,
        },
    ),
    (
        "duplicate property",
        V5,
        b"\x30\x0E\x00\x01t\x0A\x02\x00\x00\x00\x01\x02\x00\x00\x00\x02",
        Error::DuplicateProperty {
            property: PropertyId::MessageExpiryInterval,
        },
    ),
    (
        "property not allowed in PUBLISH",
        V5,
        b"\x30\x09\x00\x01t\x05\x11\x00\x00\x00\x01",
        Error::PropertyNotAllowed {
            property: PropertyId::SessionExpiryInterval,
            packet: PacketType::Publish,
        },
    ),
    (
        "unknown property",
        V5,
        b"\x30\x06\x00\x01t\x02\x7F\x00",
        Error::UnknownProperty { id: 0x7F },
    ),
    (
        "payload format 2",
        V5,
        b"\x30\x06\x00\x01t\x02\x01\x02",
        Error::InvalidPropertyValue {
            property: PropertyId::PayloadFormatIndicator,
        },
    ),
    (
        "subscription identifier 0",
        V5,
        b"\x30\x06\x00\x01t\x02\x0B\x00",
        Error::SubscriptionIdZero,
    ),
    (
        "response topic with wildcard",
        V5,
        b"\x30\x09\x00\x01t\x05\x08\x00\x02a#",
        Error::WildcardInTopicName,
    ),
    (
        "user property value cut short",
        V5,
        b"\x30\x0A\x00\x01t\x06\x26\x00\x01k\x00\x05",
        Error::Truncated {
            packet: PacketType::Publish,
        },
    ),
    // ---- acks ----
    (
        "PUBACK packet id 0",
        V311,
        b"\x40\x02\x00\x00",
        Error::PacketIdZero {
            packet: PacketType::PubAck,
        },
    ),
    (
        "PUBACK cut short",
        V311,
        b"\x40\x01\x00",
        Error::Truncated {
            packet: PacketType::PubAck,
        },
    ),
    (
        "3.1.1 PUBACK with a reason code",
        V311,
        b"\x40\x03\x00\x01\x00",
        Error::TrailingBytes {
            packet: PacketType::PubAck,
            len: 1,
        },
    ),
    (
        "PUBACK with PUBREL's reason code",
        V5,
        b"\x40\x03\x00\x01\x92",
        Error::ReasonCodeNotAllowed {
            packet: PacketType::PubAck,
            code: 0x92,
        },
    ),
    (
        "PUBREL with PUBACK's reason code",
        V5,
        b"\x62\x03\x00\x01\x10",
        Error::ReasonCodeNotAllowed {
            packet: PacketType::PubRel,
            code: 0x10,
        },
    ),
    (
        "PUBCOMP with an undefined reason code",
        V5,
        b"\x70\x03\x00\x01\x05",
        Error::ReasonCodeNotAllowed {
            packet: PacketType::PubComp,
            code: 0x05,
        },
    ),
    (
        "PUBREC with CONNECT-only property",
        V5,
        b"\x50\x06\x00\x01\x00\x02\x17\x01",
        Error::PropertyNotAllowed {
            property: PropertyId::RequestProblemInformation,
            packet: PacketType::PubRec,
        },
    ),
    (
        "PUBACK bytes after properties",
        V5,
        b"\x40\x05\x00\x01\x00\x00\xFF",
        Error::TrailingBytes {
            packet: PacketType::PubAck,
            len: 1,
        },
    ),
    (
        "duplicate reason string",
        V5,
        b"\x40\x0C\x00\x01\x80\x08\x1F\x00\x01a\x1F\x00\x01b",
        Error::DuplicateProperty {
            property: PropertyId::ReasonString,
        },
    ),
    // ---- SUBSCRIBE / SUBACK / UNSUBSCRIBE / UNSUBACK ----
    ("empty SUBSCRIBE", V311, b"\x82\x02\x00\x01", Error::EmptySubscribe),
    ("empty v5 SUBSCRIBE", V5, b"\x82\x03\x00\x01\x00", Error::EmptySubscribe),
    (
        "SUBSCRIBE packet id 0",
        V311,
        b"\x82\x06\x00\x00\x00\x01a\x00",
        Error::PacketIdZero {
            packet: PacketType::Subscribe,
        },
    ),
    (
        "misplaced '#'",
        V311,
        b"\x82\x08\x00\x01\x00\x03a#b\x00",
        Error::InvalidMultiLevelWildcard,
    ),
    (
        "'#' not last",
        V311,
        b"\x82\x08\x00\x01\x00\x03#/a\x00",
        Error::InvalidMultiLevelWildcard,
    ),
    (
        "misplaced '+'",
        V311,
        b"\x82\x07\x00\x01\x00\x02a+\x00",
        Error::InvalidSingleLevelWildcard,
    ),
    (
        "empty filter",
        V311,
        b"\x82\x05\x00\x01\x00\x00\x00",
        Error::EmptyTopicFilter,
    ),
    (
        "share name with wildcard",
        V5,
        b"\x82\x11\x00\x01\x00\x00\x0B$share/+/ab\x00",
        Error::InvalidShareName,
    ),
    (
        "shared filter without filter",
        V5,
        b"\x82\x0F\x00\x01\x00\x00\x09$share/ab\x00",
        Error::InvalidSharedFilter,
    ),
    (
        "filter without options byte",
        V311,
        b"\x82\x05\x00\x01\x00\x01a",
        Error::Truncated {
            packet: PacketType::Subscribe,
        },
    ),
    (
        "3.1.1 options reserved bits",
        V311,
        b"\x82\x06\x00\x01\x00\x01a\x04",
        Error::ReservedSubscriptionOptionBits,
    ),
    (
        "v5 options reserved bits",
        V5,
        b"\x82\x07\x00\x01\x00\x00\x01a\x40",
        Error::ReservedSubscriptionOptionBits,
    ),
    (
        "retain handling 3",
        V5,
        b"\x82\x07\x00\x01\x00\x00\x01a\x30",
        Error::InvalidRetainHandling,
    ),
    (
        "requested QoS 3",
        V5,
        b"\x82\x07\x00\x01\x00\x00\x01a\x03",
        Error::InvalidQoS,
    ),
    (
        "no local on a shared subscription",
        V5,
        b"\x82\x10\x00\x01\x00\x00\x0A$share/g/a\x04",
        Error::NoLocalOnSharedSubscription,
    ),
    (
        "two subscription identifiers",
        V5,
        b"\x82\x0B\x00\x01\x04\x0B\x01\x0B\x02\x00\x01a\x00",
        Error::DuplicateProperty {
            property: PropertyId::SubscriptionIdentifier,
        },
    ),
    (
        "empty SUBACK",
        V311,
        b"\x90\x02\x00\x01",
        Error::EmptyAck {
            packet: PacketType::SubAck,
        },
    ),
    (
        "3.1.1 SUBACK with a v5 code",
        V311,
        b"\x90\x03\x00\x01\x8F",
        Error::ReasonCodeNotAllowed {
            packet: PacketType::SubAck,
            code: 0x8F,
        },
    ),
    (
        "SUBACK with QoS 3",
        V5,
        b"\x90\x04\x00\x01\x00\x03",
        Error::ReasonCodeNotAllowed {
            packet: PacketType::SubAck,
            code: 0x03,
        },
    ),
    ("empty UNSUBSCRIBE", V311, b"\xA2\x02\x00\x01", Error::EmptyUnsubscribe),
    (
        "UNSUBSCRIBE with bad filter",
        V5,
        b"\xA2\x07\x00\x01\x00\x00\x02#a",
        Error::InvalidMultiLevelWildcard,
    ),
    (
        "3.1.1 UNSUBACK with codes",
        V311,
        b"\xB0\x03\x00\x01\x00",
        Error::TrailingBytes {
            packet: PacketType::UnsubAck,
            len: 1,
        },
    ),
    (
        "v5 UNSUBACK without codes",
        V5,
        b"\xB0\x03\x00\x01\x00",
        Error::EmptyAck {
            packet: PacketType::UnsubAck,
        },
    ),
    (
        "UNSUBACK with SUBACK's code",
        V5,
        b"\xB0\x04\x00\x01\x00\x01",
        Error::ReasonCodeNotAllowed {
            packet: PacketType::UnsubAck,
            code: 0x01,
        },
    ),
    // ---- CONNECT ----
    (
        "reserved connect flag",
        V311,
        b"\x10\x0D\x00\x04MQTT\x04\x03\x00\x3C\x00\x01c",
        Error::ReservedConnectFlag,
    ),
    (
        "will QoS without will",
        V311,
        b"\x10\x0D\x00\x04MQTT\x04\x0A\x00\x3C\x00\x01c",
        Error::WillQoSWithoutWill,
    ),
    (
        "will retain without will",
        V311,
        b"\x10\x0D\x00\x04MQTT\x04\x22\x00\x3C\x00\x01c",
        Error::WillRetainWithoutWill,
    ),
    (
        "will QoS 3",
        V311,
        b"\x10\x12\x00\x04MQTT\x04\x1E\x00\x3C\x00\x01c\x00\x01w\x00\x00",
        Error::InvalidWillQoS,
    ),
    (
        "password without user name in 3.1.1",
        V311,
        b"\x10\x10\x00\x04MQTT\x04\x42\x00\x3C\x00\x01c\x00\x01p",
        Error::PasswordWithoutUsername,
    ),
    (
        "wrong protocol name",
        V311,
        b"\x10\x0D\x00\x04MQTX\x04\x02\x00\x3C\x00\x01c",
        Error::InvalidProtocolName,
    ),
    (
        "protocol level 3 named MQTT",
        V311,
        b"\x10\x0D\x00\x04MQTT\x03\x02\x00\x3C\x00\x01c",
        Error::UnsupportedProtocolVersion { level: 3 },
    ),
    (
        "protocol level 6",
        V5,
        b"\x10\x0E\x00\x04MQTT\x06\x02\x00\x3C\x00\x00\x01c",
        Error::UnsupportedProtocolVersion { level: 6 },
    ),
    (
        "MQTT 3.1 (MQIsdp)",
        V311,
        b"\x10\x0F\x00\x06MQIsdp\x03\x02\x00\x3C\x00\x01c",
        Error::UnsupportedProtocolVersion { level: 3 },
    ),
    (
        "will topic with wildcard",
        V311,
        b"\x10\x12\x00\x04MQTT\x04\x06\x00\x3C\x00\x01c\x00\x01#\x00\x00",
        Error::WildcardInTopicName,
    ),
    (
        "empty will topic",
        V311,
        b"\x10\x11\x00\x04MQTT\x04\x06\x00\x3C\x00\x01c\x00\x00\x00\x00",
        Error::EmptyTopic,
    ),
    (
        "client id cut short",
        V311,
        b"\x10\x0C\x00\x04MQTT\x04\x02\x00\x3C\x00\x05",
        Error::Truncated {
            packet: PacketType::Connect,
        },
    ),
    (
        "bytes after the last field",
        V311,
        b"\x10\x0E\x00\x04MQTT\x04\x02\x00\x3C\x00\x01c\x00",
        Error::TrailingBytes {
            packet: PacketType::Connect,
            len: 1,
        },
    ),
    (
        "receive maximum 0",
        V5,
        b"\x10\x11\x00\x04MQTT\x05\x02\x00\x3C\x03\x21\x00\x00\x00\x01c",
        Error::InvalidPropertyValue {
            property: PropertyId::ReceiveMaximum,
        },
    ),
    (
        "maximum packet size 0",
        V5,
        b"\x10\x13\x00\x04MQTT\x05\x02\x00\x3C\x05\x27\x00\x00\x00\x00\x00\x01c",
        Error::InvalidPropertyValue {
            property: PropertyId::MaximumPacketSize,
        },
    ),
    (
        "request problem information 2",
        V5,
        b"\x10\x10\x00\x04MQTT\x05\x02\x00\x3C\x02\x17\x02\x00\x01c",
        Error::InvalidPropertyValue {
            property: PropertyId::RequestProblemInformation,
        },
    ),
    (
        "will delay in CONNECT properties",
        V5,
        b"\x10\x13\x00\x04MQTT\x05\x02\x00\x3C\x05\x18\x00\x00\x00\x01\x00\x01c",
        Error::PropertyNotAllowed {
            property: PropertyId::WillDelayInterval,
            packet: PacketType::Connect,
        },
    ),
    (
        "authentication data without method",
        V5,
        b"\x10\x12\x00\x04MQTT\x05\x02\x00\x3C\x04\x16\x00\x01d\x00\x01c",
        Error::AuthenticationDataWithoutMethod,
    ),
    // ---- CONNACK ----
    (
        "CONNACK reserved flags",
        V311,
        b"\x20\x02\x02\x00",
        Error::ReservedConnAckFlags,
    ),
    (
        "session present on refusal",
        V311,
        b"\x20\x02\x01\x05",
        Error::SessionPresentOnRefusal,
    ),
    (
        "3.1.1 return code 6",
        V311,
        b"\x20\x02\x00\x06",
        Error::InvalidConnectReturnCode { code: 6 },
    ),
    (
        "v5 CONNACK without properties",
        V5,
        b"\x20\x02\x00\x00",
        Error::Truncated {
            packet: PacketType::ConnAck,
        },
    ),
    (
        "v5 CONNACK with a SUBACK code",
        V5,
        b"\x20\x03\x00\x01\x00",
        Error::ReasonCodeNotAllowed {
            packet: PacketType::ConnAck,
            code: 0x01,
        },
    ),
    (
        "maximum QoS 2",
        V5,
        b"\x20\x05\x00\x00\x02\x24\x02",
        Error::InvalidPropertyValue {
            property: PropertyId::MaximumQoS,
        },
    ),
    (
        "retain available 2",
        V5,
        b"\x20\x05\x00\x00\x02\x25\x02",
        Error::InvalidPropertyValue {
            property: PropertyId::RetainAvailable,
        },
    ),
    (
        "topic alias in CONNACK",
        V5,
        b"\x20\x06\x00\x00\x03\x23\x00\x01",
        Error::PropertyNotAllowed {
            property: PropertyId::TopicAlias,
            packet: PacketType::ConnAck,
        },
    ),
    // ---- PINGREQ / PINGRESP / DISCONNECT / AUTH ----
    (
        "PINGREQ with a body",
        V311,
        b"\xC0\x01\x00",
        Error::TrailingBytes {
            packet: PacketType::PingReq,
            len: 1,
        },
    ),
    (
        "PINGRESP with a body",
        V5,
        b"\xD0\x01\x00",
        Error::TrailingBytes {
            packet: PacketType::PingResp,
            len: 1,
        },
    ),
    (
        "3.1.1 DISCONNECT with a body",
        V311,
        b"\xE0\x01\x00",
        Error::TrailingBytes {
            packet: PacketType::Disconnect,
            len: 1,
        },
    ),
    (
        "DISCONNECT with PUBACK's code",
        V5,
        b"\xE0\x01\x10",
        Error::ReasonCodeNotAllowed {
            packet: PacketType::Disconnect,
            code: 0x10,
        },
    ),
    (
        "DISCONNECT with assigned client id",
        V5,
        b"\xE0\x06\x00\x04\x12\x00\x01c",
        Error::PropertyNotAllowed {
            property: PropertyId::AssignedClientIdentifier,
            packet: PacketType::Disconnect,
        },
    ),
    (
        "AUTH with a DISCONNECT code",
        V5,
        b"\xF0\x01\x04",
        Error::ReasonCodeNotAllowed {
            packet: PacketType::Auth,
            code: 0x04,
        },
    ),
    (
        "AUTH with duplicate method",
        V5,
        b"\xF0\x0A\x18\x08\x15\x00\x01a\x15\x00\x01b",
        Error::DuplicateProperty {
            property: PropertyId::AuthenticationMethod,
        },
    ),
];

#[test]
fn every_malformed_frame_fails_with_its_own_error() {
    let mut failures = Vec::new();
    for (what, version, frame, expected) in TABLE {
        let got = Packet::decode_frame(*version, Bytes::from_static(frame));
        if got.as_ref() != Err(expected) {
            failures.push(format!("{what}: got {got:?}"));
        }
        // The streaming decoder agrees (unless the frame itself is the wrong length).
        if !matches!(expected, Error::FrameLengthMismatch { .. }) {
            let mut buf = BytesMut::from(*frame);
            let got = Packet::decode(*version, &mut buf, 1 << 20);
            if got.as_ref() != Err(expected) {
                failures.push(format!("{what} (stream): got {got:?}"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_error_maps_to_a_failure_reason_code() {
    for (what, _, _, error) in TABLE {
        assert!(error.reason_code().is_error(), "{what}: {:?}", error.reason_code());
    }
    assert_eq!(Error::TopicAliasZero.reason_code(), ReasonCode::TopicAliasInvalid);
    assert_eq!(Error::TopicAliasZero.spec_ref(), Some("MQTT-3.3.2-8"));
    assert_eq!(Error::DupOnQoS0.spec_ref(), Some("MQTT-3.3.1-2"));
    assert_eq!(Error::ReservedConnectFlag.spec_ref(), Some("MQTT-3.1.2-3"));
    assert_eq!(
        Error::UnsupportedProtocolVersion { level: 3 }.reason_code(),
        ReasonCode::UnsupportedProtocolVersion
    );
    assert_eq!(
        Error::DuplicateProperty {
            property: PropertyId::TopicAlias
        }
        .reason_code(),
        ReasonCode::ProtocolError
    );
}

#[test]
fn oversized_packet_is_refused_from_its_fixed_header() {
    // Only the fixed header has arrived: it announces 128 bytes of body.
    let mut buf = BytesMut::from(&b"\x30\x80\x01"[..]);
    assert_eq!(
        Packet::decode(V5, &mut buf, 100),
        Err(Error::PacketTooLarge { size: 131, max: 100 })
    );
}

#[cfg(feature = "tokio-codec")]
#[test]
fn the_codec_refuses_an_oversized_packet_from_its_fixed_header() {
    // The codec refuses before buffering the body, with its 1 MiB default.
    let mut codec = MqttCodec::client(V311);
    let mut buf = BytesMut::from(&b"\x30\xFF\xFF\x7F"[..]);
    assert_eq!(
        codec.decode(&mut buf),
        Err(Error::PacketTooLarge {
            size: 2_097_155,
            max: 1 << 20
        })
    );
    // A bad first byte is refused before the remaining length is even complete.
    let mut buf = BytesMut::from(&b"\x61\x80"[..]);
    assert_eq!(
        codec.decode(&mut buf),
        Err(Error::InvalidHeaderFlags {
            packet: PacketType::PubRel,
            flags: 1
        })
    );
}

#[test]
fn decoder_reserves_what_the_header_announces() {
    let mut buf = BytesMut::from(&b"\x30\x80\x08"[..]);
    assert_eq!(Packet::decode(V5, &mut buf, 1 << 20), Ok(None));
    assert!(buf.capacity() >= 3 + 1024);
    assert_eq!(buf.len(), 3);
}

#[cfg(feature = "tokio-codec")]
#[test]
fn server_codec_wants_connect_first_and_once() {
    let mut server = MqttCodec::server();
    let mut buf = BytesMut::from(&b"\x30"[..]);
    assert_eq!(
        server.decode(&mut buf),
        Err(Error::FirstPacketNotConnect {
            packet: PacketType::Publish
        })
    );
    let connect = b"\x10\x0D\x00\x04MQTT\x04\x02\x00\x3C\x00\x01c";
    let mut server = MqttCodec::server();
    let mut buf = BytesMut::from(&connect[..]);
    assert!(matches!(server.decode(&mut buf), Ok(Some(Packet::Connect(_)))));
    assert_eq!(server.version(), Some(V311));
    buf.extend_from_slice(connect);
    assert_eq!(server.decode(&mut buf), Err(Error::SecondConnect));
}

#[test]
fn io_errors_convert_and_compare() {
    let e = Error::from(std::io::Error::new(std::io::ErrorKind::ConnectionReset, "peer left"));
    assert_eq!(e.clone(), e);
    assert_eq!(e.reason_code(), ReasonCode::UnspecifiedError);
    assert!(e.to_string().contains("peer left"));
}
