//! proptest strategies that generate valid packets (feature `arbitrary`).
//!
//! Every packet from [`arb_packet`]`(version)` encodes in `version` and decodes back to an equal packet: the
//! v5-only fields are left at their defaults for 3.1.1 and reason codes are ones the version can carry. Shared
//! by the crate's property tests, the fuzz targets and the benchmarks.

use std::num::{NonZeroU16, NonZeroU32};

use bytes::Bytes;
use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;
use proptest::sample::select;

use crate::properties::{
    AckProperties, AuthProperties, ConnAckProperties, ConnectProperties, DisconnectProperties, PayloadFormat,
    PublishProperties, SubscribeProperties, UnsubscribeProperties, UserProperty, WillProperties,
};
use crate::reason_codes;
use crate::{
    Auth, ByteStr, ConnAck, Connect, Disconnect, MAX_VARIABLE_INT, Packet, PacketId, ProtocolVersion, PubAck, PubComp,
    PubRec, PubRel, Publish, QoS, ReasonCode, RetainHandling, SubAck, Subscribe, SubscriptionId, SubscriptionOptions,
    TopicFilter, TopicName, UnsubAck, Unsubscribe, Will,
};

/// Any valid MQTT string of up to 12 characters (no control characters, so no U+0000).
pub fn arb_byte_str() -> impl Strategy<Value = ByteStr> {
    "\\PC{0,12}".prop_filter_map("valid MQTT string", |s| ByteStr::try_from(s).ok())
}

/// Binary data of up to `max` bytes.
pub fn arb_bytes(max: usize) -> impl Strategy<Value = Bytes> {
    vec(any::<u8>(), 0..=max).prop_map(Bytes::from)
}

/// A valid, non-empty topic name of one to four levels (some empty, some starting with `$`).
pub fn arb_topic_name() -> impl Strategy<Value = TopicName> {
    vec("[a-z0-9$ é]{0,5}", 1..5).prop_filter_map("valid topic", |levels| TopicName::try_from(levels.join("/")).ok())
}

/// A valid topic filter with `+` and `#` in legal places, sometimes shared (`$share/{group}/...`).
pub fn arb_topic_filter() -> impl Strategy<Value = TopicFilter> {
    let level = prop_oneof![3 => "[a-z0-9]{0,4}", 1 => Just("+".to_string())];
    (vec(level, 1..4), any::<bool>(), option::weighted(0.2, "[a-z]{1,4}")).prop_filter_map(
        "valid filter",
        |(mut levels, hash, share)| {
            if hash {
                levels.push("#".to_string());
            }
            let filter = levels.join("/");
            let full = match share {
                Some(group) => format!("$share/{group}/{filter}"),
                None => filter,
            };
            TopicFilter::try_from(full).ok()
        },
    )
}

/// Any packet identifier (1..=65535).
pub fn arb_packet_id() -> impl Strategy<Value = PacketId> {
    (1..=u16::MAX).prop_map(|v| PacketId::new(v).unwrap_or(PacketId::MIN))
}

fn arb_nonzero_u16() -> impl Strategy<Value = NonZeroU16> {
    (1..=u16::MAX).prop_map(|v| NonZeroU16::new(v).unwrap_or(NonZeroU16::MIN))
}

fn arb_nonzero_u32() -> impl Strategy<Value = NonZeroU32> {
    (1..=u32::MAX).prop_map(|v| NonZeroU32::new(v).unwrap_or(NonZeroU32::MIN))
}

fn arb_subscription_id() -> impl Strategy<Value = SubscriptionId> {
    (1..=MAX_VARIABLE_INT).prop_map(|v| SubscriptionId::new(v).unwrap_or(SubscriptionId::MIN))
}

fn arb_qos() -> impl Strategy<Value = QoS> {
    select(vec![QoS::AtMostOnce, QoS::AtLeastOnce, QoS::ExactlyOnce])
}

fn arb_payload_format() -> impl Strategy<Value = PayloadFormat> {
    select(vec![PayloadFormat::Unspecified, PayloadFormat::Utf8])
}

fn arb_user_properties() -> impl Strategy<Value = Vec<UserProperty>> {
    vec(
        (arb_byte_str(), arb_byte_str()).prop_map(|(n, v)| UserProperty::new(n, v)),
        0..3,
    )
}

fn codes(list: &[ReasonCode]) -> impl Strategy<Value = ReasonCode> + use<> {
    select(list.to_vec())
}

/// v5 properties of PUBLISH.
pub fn arb_publish_properties() -> impl Strategy<Value = PublishProperties> {
    (
        option::of(arb_payload_format()),
        option::of(any::<u32>()),
        option::of(arb_nonzero_u16()),
        option::of(arb_topic_name()),
        option::of(arb_bytes(8)),
        arb_user_properties(),
        vec(arb_subscription_id(), 0..3),
        option::of(arb_byte_str()),
    )
        .prop_map(|(pf, exp, alias, rt, cd, up, ids, ct)| PublishProperties {
            payload_format_indicator: pf,
            message_expiry_interval: exp,
            topic_alias: alias,
            response_topic: rt,
            correlation_data: cd,
            user_properties: up,
            subscription_identifiers: ids,
            content_type: ct,
        })
}

fn arb_ack_properties(version: ProtocolVersion) -> BoxedStrategy<AckProperties> {
    match version {
        ProtocolVersion::V311 => Just(AckProperties::default()).boxed(),
        ProtocolVersion::V5 => (option::of(arb_byte_str()), arb_user_properties())
            .prop_map(|(reason_string, user_properties)| AckProperties {
                reason_string,
                user_properties,
            })
            .boxed(),
    }
}

/// A valid PUBLISH for `version` (in v5 sometimes with an alias-only empty topic).
pub fn arb_publish(version: ProtocolVersion) -> impl Strategy<Value = Publish> {
    let props = match version {
        ProtocolVersion::V311 => Just(PublishProperties::default()).boxed(),
        ProtocolVersion::V5 => arb_publish_properties().boxed(),
    };
    (
        arb_topic_name(),
        arb_bytes(64),
        arb_qos(),
        arb_packet_id(),
        any::<(bool, bool, bool)>(),
        props,
    )
        .prop_map(
            move |(topic, payload, qos, id, (dup, retain, alias_only), properties)| {
                let mut p = Publish::new(topic, payload)
                    .qos(qos, id)
                    .retain(retain)
                    .properties(properties);
                p.dup = dup && qos != QoS::AtMostOnce;
                if let (true, Some(alias)) = (alias_only, p.properties.topic_alias) {
                    let mut a = Publish::alias_only(alias, p.payload.clone());
                    a.properties = p.properties.clone();
                    a.qos = p.qos;
                    a.packet_id = p.packet_id;
                    a.dup = p.dup;
                    a.retain = p.retain;
                    p = a;
                }
                p
            },
        )
}

fn arb_will(version: ProtocolVersion) -> impl Strategy<Value = Will> {
    let props = match version {
        ProtocolVersion::V311 => Just(WillProperties::default()).boxed(),
        ProtocolVersion::V5 => (
            option::of(any::<u32>()),
            option::of(arb_payload_format()),
            option::of(any::<u32>()),
            option::of(arb_byte_str()),
            option::of(arb_topic_name()),
            option::of(arb_bytes(8)),
            arb_user_properties(),
        )
            .prop_map(|(wd, pf, exp, ct, rt, cd, up)| WillProperties {
                will_delay_interval: wd,
                payload_format_indicator: pf,
                message_expiry_interval: exp,
                content_type: ct,
                response_topic: rt,
                correlation_data: cd,
                user_properties: up,
            })
            .boxed(),
    };
    (arb_topic_name(), arb_bytes(16), arb_qos(), any::<bool>(), props).prop_map(
        |(topic, payload, qos, retain, props)| Will::new(topic, payload).qos(qos).retain(retain).properties(props),
    )
}

/// A valid CONNECT in `version`.
pub fn arb_connect(version: ProtocolVersion) -> impl Strategy<Value = Connect> {
    let props = match version {
        ProtocolVersion::V311 => Just(ConnectProperties::default()).boxed(),
        ProtocolVersion::V5 => (
            option::of(any::<u32>()),
            option::of(arb_nonzero_u16()),
            option::of(arb_nonzero_u32()),
            option::of(any::<u16>()),
            option::of(any::<bool>()),
            option::of(any::<bool>()),
            option::of(arb_byte_str()),
            option::of(arb_bytes(8)),
            arb_user_properties(),
        )
            .prop_map(|(se, rm, mps, tam, rri, rpi, am, ad, up)| ConnectProperties {
                // Authentication data needs a method.
                authentication_data: ad.filter(|_| am.is_some()),
                session_expiry_interval: se,
                receive_maximum: rm,
                maximum_packet_size: mps,
                topic_alias_maximum: tam,
                request_response_information: rri,
                request_problem_information: rpi,
                authentication_method: am,
                user_properties: up,
            })
            .boxed(),
    };
    (
        arb_byte_str(),
        any::<(bool, u16)>(),
        option::of(arb_will(version)),
        option::of(arb_byte_str()),
        option::of(arb_bytes(8)),
        props,
    )
        .prop_map(
            move |(client_id, (clean_start, keep_alive), will, username, password, properties)| {
                // 3.1.1 allows a password only with a user name.
                let password = if version.is_v5() || username.is_some() {
                    password
                } else {
                    None
                };
                Connect {
                    protocol_version: version,
                    clean_start,
                    keep_alive,
                    client_id,
                    will,
                    username,
                    password,
                    properties,
                }
            },
        )
}

const CONNACK_V311: &[ReasonCode] = &[
    ReasonCode::Success,
    ReasonCode::UnsupportedProtocolVersion,
    ReasonCode::ClientIdentifierNotValid,
    ReasonCode::ServerUnavailable,
    ReasonCode::BadUserNameOrPassword,
    ReasonCode::NotAuthorized,
];

fn arb_connack_properties() -> impl Strategy<Value = ConnAckProperties> {
    (
        (
            option::of(any::<u32>()),
            option::of(arb_nonzero_u16()),
            option::of(select(vec![QoS::AtMostOnce, QoS::AtLeastOnce])),
            option::of(any::<bool>()),
            option::of(arb_nonzero_u32()),
            option::of(arb_byte_str()),
            option::of(any::<u16>()),
            option::of(arb_byte_str()),
            arb_user_properties(),
        ),
        (
            option::of(any::<bool>()),
            option::of(any::<bool>()),
            option::of(any::<bool>()),
            option::of(any::<u16>()),
            option::of(arb_byte_str()),
            option::of(arb_byte_str()),
            option::of(arb_byte_str()),
            option::of(arb_bytes(8)),
        ),
    )
        .prop_map(
            |((se, rm, mq, ra, mps, aci, tam, rs, up), (wsa, sia, ssa, ska, ri, sr, am, ad))| ConnAckProperties {
                session_expiry_interval: se,
                receive_maximum: rm,
                maximum_qos: mq,
                retain_available: ra,
                maximum_packet_size: mps,
                assigned_client_identifier: aci,
                topic_alias_maximum: tam,
                reason_string: rs,
                user_properties: up,
                wildcard_subscription_available: wsa,
                subscription_identifiers_available: sia,
                shared_subscription_available: ssa,
                server_keep_alive: ska,
                response_information: ri,
                server_reference: sr,
                authentication_method: am,
                authentication_data: ad,
            },
        )
}

/// A valid CONNACK for `version`.
pub fn arb_connack(version: ProtocolVersion) -> impl Strategy<Value = ConnAck> {
    let (list, props) = match version {
        ProtocolVersion::V311 => (CONNACK_V311, Just(ConnAckProperties::default()).boxed()),
        ProtocolVersion::V5 => (reason_codes::CONNACK, arb_connack_properties().boxed()),
    };
    (codes(list), any::<bool>(), props)
        .prop_map(|(code, sp, props)| ConnAck::new(code, sp && code == ReasonCode::Success).properties(props))
}

fn ack_parts(
    version: ProtocolVersion,
    v5_codes: &'static [ReasonCode],
) -> impl Strategy<Value = (PacketId, ReasonCode, AckProperties)> {
    let list = if version.is_v5() {
        v5_codes
    } else {
        &[ReasonCode::Success][..]
    };
    (arb_packet_id(), codes(list), arb_ack_properties(version))
}

fn arb_subscription_options(version: ProtocolVersion) -> BoxedStrategy<SubscriptionOptions> {
    match version {
        ProtocolVersion::V311 => arb_qos().prop_map(SubscriptionOptions::new).boxed(),
        ProtocolVersion::V5 => (
            arb_qos(),
            any::<(bool, bool)>(),
            select(vec![
                RetainHandling::SendAtSubscribe,
                RetainHandling::SendIfNew,
                RetainHandling::DoNotSend,
            ]),
        )
            .prop_map(
                |(qos, (no_local, retain_as_published), retain_handling)| SubscriptionOptions {
                    qos,
                    no_local,
                    retain_as_published,
                    retain_handling,
                },
            )
            .boxed(),
    }
}

/// A valid SUBSCRIBE for `version` (no-local never on a shared filter).
pub fn arb_subscribe(version: ProtocolVersion) -> impl Strategy<Value = Subscribe> {
    let props = match version {
        ProtocolVersion::V311 => Just(SubscribeProperties::default()).boxed(),
        ProtocolVersion::V5 => (option::of(arb_subscription_id()), arb_user_properties())
            .prop_map(|(subscription_identifier, user_properties)| SubscribeProperties {
                subscription_identifier,
                user_properties,
            })
            .boxed(),
    };
    (
        arb_packet_id(),
        vec((arb_topic_filter(), arb_subscription_options(version)), 1..4),
        props,
    )
        .prop_map(|(id, mut filters, props)| {
            for (filter, options) in &mut filters {
                options.no_local &= !filter.is_shared();
            }
            Subscribe::new(id, filters).properties(props)
        })
}

const SUBACK_V311: &[ReasonCode] = &[
    ReasonCode::Success,
    ReasonCode::GrantedQoS1,
    ReasonCode::GrantedQoS2,
    ReasonCode::UnspecifiedError,
];
/// A valid DISCONNECT for `version`.
pub fn arb_disconnect(version: ProtocolVersion) -> BoxedStrategy<Disconnect> {
    match version {
        ProtocolVersion::V311 => Just(Disconnect::default()).boxed(),
        ProtocolVersion::V5 => (
            codes(reason_codes::DISCONNECT),
            option::of(any::<u32>()),
            option::of(arb_byte_str()),
            arb_user_properties(),
            option::of(arb_byte_str()),
        )
            .prop_map(|(code, se, rs, up, sr)| {
                Disconnect::new(code).properties(DisconnectProperties {
                    session_expiry_interval: se,
                    reason_string: rs,
                    user_properties: up,
                    server_reference: sr,
                })
            })
            .boxed(),
    }
}

/// A valid AUTH (MQTT 5.0 only).
pub fn arb_auth() -> impl Strategy<Value = Auth> {
    (
        codes(reason_codes::AUTH),
        option::of(arb_byte_str()),
        option::of(arb_bytes(8)),
        option::of(arb_byte_str()),
        arb_user_properties(),
    )
        .prop_map(|(code, am, ad, rs, up)| {
            Auth::new(code).properties(AuthProperties {
                authentication_method: am,
                authentication_data: ad,
                reason_string: rs,
                user_properties: up,
            })
        })
}

/// Any valid packet for `version`: every packet type of that version, with every field exercised.
pub fn arb_packet(version: ProtocolVersion) -> BoxedStrategy<Packet> {
    let suback_codes = if version.is_v5() {
        reason_codes::SUBACK
    } else {
        SUBACK_V311
    };
    let unsub_props = match version {
        ProtocolVersion::V311 => Just(UnsubscribeProperties::default()).boxed(),
        ProtocolVersion::V5 => arb_user_properties()
            .prop_map(|user_properties| UnsubscribeProperties { user_properties })
            .boxed(),
    };
    let unsuback_codes = match version {
        ProtocolVersion::V311 => Just(Vec::new()).boxed(),
        ProtocolVersion::V5 => vec(codes(reason_codes::UNSUBACK), 1..4).boxed(),
    };
    let common = prop_oneof![
        1 => arb_connect(version).prop_map(Packet::from),
        1 => arb_connack(version).prop_map(Packet::from),
        4 => arb_publish(version).prop_map(Packet::Publish),
        1 => ack_parts(version, reason_codes::PUBACK).prop_map(|(id, c, p)| Packet::PubAck(PubAck::new(id).reason_code(c).properties(p))),
        1 => ack_parts(version, reason_codes::PUBREC).prop_map(|(id, c, p)| Packet::PubRec(PubRec::new(id).reason_code(c).properties(p))),
        1 => ack_parts(version, reason_codes::PUBREL).prop_map(|(id, c, p)| Packet::PubRel(PubRel::new(id).reason_code(c).properties(p))),
        1 => ack_parts(version, reason_codes::PUBCOMP).prop_map(|(id, c, p)| Packet::PubComp(PubComp::new(id).reason_code(c).properties(p))),
        1 => arb_subscribe(version).prop_map(Packet::Subscribe),
        1 => (arb_packet_id(), vec(codes(suback_codes), 1..4), arb_ack_properties(version))
            .prop_map(|(id, c, p)| Packet::SubAck(SubAck::new(id, c).properties(p))),
        1 => (arb_packet_id(), vec(arb_topic_filter(), 1..4), unsub_props)
            .prop_map(|(id, f, p)| Packet::Unsubscribe(Unsubscribe::new(id, f).properties(p))),
        1 => (arb_packet_id(), unsuback_codes, arb_ack_properties(version))
            .prop_map(|(id, c, p)| Packet::UnsubAck(UnsubAck::new(id, c).properties(p))),
        1 => Just(Packet::PingReq),
        1 => Just(Packet::PingResp),
        1 => arb_disconnect(version).prop_map(Packet::Disconnect),
    ];
    match version {
        ProtocolVersion::V311 => common.boxed(),
        ProtocolVersion::V5 => prop_oneof![14 => common, 1 => arb_auth().prop_map(Packet::Auth)].boxed(),
    }
}
