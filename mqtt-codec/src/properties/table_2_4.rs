//! The generated property code checked against the specification's own tables, written out here independently:
//! Table 2-4 (identifier, data type and the packets each property may appear in) and the duplicate rule of
//! every property section ("It is a Protocol Error to include ... more than once", except User Property, and
//! Subscription Identifier in PUBLISH).

use bytes::{BufMut, Bytes, BytesMut};

use super::*;
use crate::field::Reader;
use crate::{Error, PacketType};

/// Where a property may appear: the packets of Table 2-4, and the will's properties in the CONNECT payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum In {
    Connect,
    ConnAck,
    Publish,
    Will,
    PubAck,
    PubRec,
    PubRel,
    PubComp,
    Subscribe,
    SubAck,
    Unsubscribe,
    UnsubAck,
    Disconnect,
    Auth,
}

use DataType as T;
use In::*;

/// MQTT 5.0 Table 2-4, row by row.
const TABLE_2_4: &[(u32, PropertyId, DataType, &[In])] = &[
    (0x01, PropertyId::PayloadFormatIndicator, T::Byte, &[Publish, Will]),
    (
        0x02,
        PropertyId::MessageExpiryInterval,
        T::FourByteInteger,
        &[Publish, Will],
    ),
    (0x03, PropertyId::ContentType, T::Utf8String, &[Publish, Will]),
    (0x08, PropertyId::ResponseTopic, T::Utf8String, &[Publish, Will]),
    (0x09, PropertyId::CorrelationData, T::BinaryData, &[Publish, Will]),
    (
        0x0B,
        PropertyId::SubscriptionIdentifier,
        T::VariableByteInteger,
        &[Publish, Subscribe],
    ),
    (
        0x11,
        PropertyId::SessionExpiryInterval,
        T::FourByteInteger,
        &[Connect, ConnAck, Disconnect],
    ),
    (0x12, PropertyId::AssignedClientIdentifier, T::Utf8String, &[ConnAck]),
    (0x13, PropertyId::ServerKeepAlive, T::TwoByteInteger, &[ConnAck]),
    (
        0x15,
        PropertyId::AuthenticationMethod,
        T::Utf8String,
        &[Connect, ConnAck, Auth],
    ),
    (
        0x16,
        PropertyId::AuthenticationData,
        T::BinaryData,
        &[Connect, ConnAck, Auth],
    ),
    (0x17, PropertyId::RequestProblemInformation, T::Byte, &[Connect]),
    (0x18, PropertyId::WillDelayInterval, T::FourByteInteger, &[Will]),
    (0x19, PropertyId::RequestResponseInformation, T::Byte, &[Connect]),
    (0x1A, PropertyId::ResponseInformation, T::Utf8String, &[ConnAck]),
    (0x1C, PropertyId::ServerReference, T::Utf8String, &[ConnAck, Disconnect]),
    (
        0x1F,
        PropertyId::ReasonString,
        T::Utf8String,
        &[
            ConnAck, PubAck, PubRec, PubRel, PubComp, SubAck, UnsubAck, Disconnect, Auth,
        ],
    ),
    (0x21, PropertyId::ReceiveMaximum, T::TwoByteInteger, &[Connect, ConnAck]),
    (
        0x22,
        PropertyId::TopicAliasMaximum,
        T::TwoByteInteger,
        &[Connect, ConnAck],
    ),
    (0x23, PropertyId::TopicAlias, T::TwoByteInteger, &[Publish]),
    (0x24, PropertyId::MaximumQoS, T::Byte, &[ConnAck]),
    (0x25, PropertyId::RetainAvailable, T::Byte, &[ConnAck]),
    (
        0x26,
        PropertyId::UserProperty,
        T::Utf8StringPair,
        &[
            Connect,
            ConnAck,
            Publish,
            Will,
            PubAck,
            PubRec,
            PubRel,
            PubComp,
            Subscribe,
            SubAck,
            Unsubscribe,
            UnsubAck,
            Disconnect,
            Auth,
        ],
    ),
    (
        0x27,
        PropertyId::MaximumPacketSize,
        T::FourByteInteger,
        &[Connect, ConnAck],
    ),
    (0x28, PropertyId::WildcardSubscriptionAvailable, T::Byte, &[ConnAck]),
    (0x29, PropertyId::SubscriptionIdentifierAvailable, T::Byte, &[ConnAck]),
    (0x2A, PropertyId::SharedSubscriptionAvailable, T::Byte, &[ConnAck]),
];

const EVERYWHERE: [In; 14] = [
    Connect,
    ConnAck,
    Publish,
    Will,
    PubAck,
    PubRec,
    PubRel,
    PubComp,
    Subscribe,
    SubAck,
    Unsubscribe,
    UnsubAck,
    Disconnect,
    Auth,
];

/// A set's decoder, reporting only success or the error.
type Decoder = fn(&mut Reader) -> Result<(), Error>;

/// The set struct of a place: its `ALLOWED`, its decoder (reporting only success or the error) and the packet
/// it belongs to (a will's properties are read from CONNECT).
fn set(place: In) -> (&'static [PropertyId], Decoder, PacketType) {
    fn ok<S>(r: Result<S, Error>) -> Result<(), Error> {
        r.map(drop)
    }
    match place {
        Connect => (
            ConnectProperties::ALLOWED,
            |r| ok(ConnectProperties::decode(r)),
            PacketType::Connect,
        ),
        Will => (
            WillProperties::ALLOWED,
            |r| ok(WillProperties::decode(r)),
            PacketType::Connect,
        ),
        ConnAck => (
            ConnAckProperties::ALLOWED,
            |r| ok(ConnAckProperties::decode(r)),
            PacketType::ConnAck,
        ),
        Publish => (
            PublishProperties::ALLOWED,
            |r| ok(PublishProperties::decode(r)),
            PacketType::Publish,
        ),
        PubAck => (
            AckProperties::ALLOWED,
            |r| ok(AckProperties::decode(r)),
            PacketType::PubAck,
        ),
        PubRec => (
            AckProperties::ALLOWED,
            |r| ok(AckProperties::decode(r)),
            PacketType::PubRec,
        ),
        PubRel => (
            AckProperties::ALLOWED,
            |r| ok(AckProperties::decode(r)),
            PacketType::PubRel,
        ),
        PubComp => (
            AckProperties::ALLOWED,
            |r| ok(AckProperties::decode(r)),
            PacketType::PubComp,
        ),
        SubAck => (
            AckProperties::ALLOWED,
            |r| ok(AckProperties::decode(r)),
            PacketType::SubAck,
        ),
        UnsubAck => (
            AckProperties::ALLOWED,
            |r| ok(AckProperties::decode(r)),
            PacketType::UnsubAck,
        ),
        Subscribe => (
            SubscribeProperties::ALLOWED,
            |r| ok(SubscribeProperties::decode(r)),
            PacketType::Subscribe,
        ),
        Unsubscribe => (
            UnsubscribeProperties::ALLOWED,
            |r| ok(UnsubscribeProperties::decode(r)),
            PacketType::Unsubscribe,
        ),
        Disconnect => (
            DisconnectProperties::ALLOWED,
            |r| ok(DisconnectProperties::decode(r)),
            PacketType::Disconnect,
        ),
        Auth => (
            AuthProperties::ALLOWED,
            |r| ok(AuthProperties::decode(r)),
            PacketType::Auth,
        ),
    }
}

/// A valid value of each data type, for every property of that type (1 is in range for every integer, and "a"
/// is a valid topic name).
fn valid_value(data_type: DataType, out: &mut BytesMut) {
    match data_type {
        T::Byte => out.put_u8(1),
        T::TwoByteInteger => out.put_u16(1),
        T::FourByteInteger => out.put_u32(1),
        T::VariableByteInteger => out.put_u8(1),
        T::Utf8String | T::BinaryData => out.put_slice(b"\x00\x01a"),
        T::Utf8StringPair => out.put_slice(b"\x00\x01a\x00\x01b"),
    }
}

/// A property block of `packet` holding `property` `times` times, with valid values.
fn block(property: PropertyId, times: usize, packet: PacketType) -> Reader {
    let mut props = BytesMut::new();
    for _ in 0..times {
        props.put_u8(property as u8);
        valid_value(property.data_type(), &mut props);
    }
    let mut frame = BytesMut::new();
    frame.put_u8(u8::try_from(props.len()).unwrap());
    frame.put_slice(&props);
    Reader::new(Bytes::from(frame), packet)
}

/// Whether a second occurrence is allowed: User Property everywhere, and Subscription Identifier in PUBLISH
/// (spec 3.3.2.3.8); every other property section says it is a Protocol Error to include it more than once.
fn may_repeat(property: PropertyId, place: In) -> bool {
    property == PropertyId::UserProperty || (property == PropertyId::SubscriptionIdentifier && place == Publish)
}

#[test]
fn identifiers_and_data_types_are_table_2_4() {
    for &(id, property, data_type, _) in TABLE_2_4 {
        assert_eq!(PropertyId::from_u32(id), Some(property));
        assert_eq!(property as u32, id);
        assert_eq!(property.data_type(), data_type, "{property:?}");
    }
    let defined: Vec<u32> = TABLE_2_4.iter().map(|row| row.0).collect();
    for id in (0..=0x3FFF).filter(|id| !defined.contains(id)) {
        assert_eq!(PropertyId::from_u32(id), None, "{id:#x}");
    }
}

#[test]
fn every_set_allows_exactly_its_column_of_table_2_4() {
    for place in EVERYWHERE {
        let (allowed, _, _) = set(place);
        let mut expected: Vec<PropertyId> = TABLE_2_4
            .iter()
            .filter(|row| row.3.contains(&place))
            .map(|row| row.1)
            .collect();
        let mut actual = allowed.to_vec();
        expected.sort_by_key(|p| *p as u8);
        actual.sort_by_key(|p| *p as u8);
        assert_eq!(actual, expected, "{place:?}");
    }
}

#[test]
fn every_property_decodes_where_allowed_and_is_refused_elsewhere() {
    for place in EVERYWHERE {
        let (_, decode, packet) = set(place);
        for &(_, property, _, places) in TABLE_2_4 {
            let mut r = block(property, 1, packet);
            let got = decode(&mut r);
            if places.contains(&place) {
                assert_eq!(got, Ok(()), "{property:?} in {place:?}");
                assert!(r.is_empty());
            } else {
                assert_eq!(
                    got,
                    Err(Error::PropertyNotAllowed { property, packet }),
                    "{property:?} in {place:?}"
                );
            }
        }
    }
}

#[test]
fn duplicates_are_refused_unless_the_property_may_repeat() {
    for place in EVERYWHERE {
        let (_, decode, packet) = set(place);
        for &(_, property, _, _) in TABLE_2_4.iter().filter(|row| row.3.contains(&place)) {
            let got = decode(&mut block(property, 2, packet));
            if may_repeat(property, place) {
                assert_eq!(got, Ok(()), "{property:?} twice in {place:?}");
            } else {
                assert_eq!(
                    got,
                    Err(Error::DuplicateProperty { property }),
                    "{property:?} twice in {place:?}"
                );
            }
        }
    }
}
