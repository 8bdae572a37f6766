//! PUBLISH (spec 3.3): an application message.

use std::num::NonZeroU16;

use bytes::{BufMut, Bytes, BytesMut};

use crate::field::{self, Reader};
use crate::properties::{self, PublishProperties};
use crate::{Error, PacketId, PacketType, ProtocolVersion, QoS, TopicName, header, varint};

/// A PUBLISH packet. The topic and payload are views of the frame it was decoded from.
///
/// `packet_id` is `Some` exactly when `qos` is 1 or 2; encoding refuses any other combination. `properties` are
/// MQTT 5.0 only and are ignored when encoding 3.1.1.
///
/// The topic is empty only in a v5 PUBLISH that names its topic by a Topic Alias alone (spec 3.3.2.3.4): build
/// one with [`Publish::alias_only`]. Decoding produces an empty topic only when a Topic Alias is present and
/// rejects an empty topic otherwise ([`Error::EmptyTopic`]); encoding an empty topic without an alias, or in
/// MQTT 3.1.1, fails the same way. Resolving the alias to a topic is the session's job.
///
/// ```
/// use mqtt_codec::{PacketId, Publish, QoS, TopicName};
/// let p = Publish::new(TopicName::from_static("sensors/1/temp"), "21.5")
///     .qos(QoS::AtLeastOnce, PacketId::new(7).unwrap())
///     .retain(true);
/// assert_eq!(p.packet_id.map(|id| id.get()), Some(7));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Publish {
    /// Re-delivery of an earlier attempt (never set at QoS 0 [MQTT-3.3.1-2]).
    pub dup: bool,
    /// Delivery guarantee.
    pub qos: QoS,
    /// Keep as the topic's retained message.
    pub retain: bool,
    /// Where the message goes.
    pub topic: TopicName,
    /// Identifier for QoS 1 and 2, `None` at QoS 0.
    pub packet_id: Option<PacketId>,
    /// The application message, opaque bytes.
    pub payload: Bytes,
    /// MQTT 5.0 properties.
    pub properties: PublishProperties,
}

impl Publish {
    /// A QoS 0, non-retained message with no properties.
    pub fn new(topic: TopicName, payload: impl Into<Bytes>) -> Self {
        Publish {
            dup: false,
            qos: QoS::AtMostOnce,
            retain: false,
            topic,
            packet_id: None,
            payload: payload.into(),
            properties: PublishProperties::default(),
        }
    }

    /// A v5 message whose topic is given only by `alias` (the topic name on the wire is empty).
    pub fn alias_only(alias: NonZeroU16, payload: impl Into<Bytes>) -> Self {
        let mut p = Publish::new(TopicName::empty_for_alias(), payload);
        p.properties.topic_alias = Some(alias);
        p
    }

    /// Sets the QoS and, for QoS 1 and 2, the packet identifier (ignored for QoS 0, which has none).
    pub fn qos(mut self, qos: QoS, packet_id: PacketId) -> Self {
        self.qos = qos;
        self.packet_id = (qos != QoS::AtMostOnce).then_some(packet_id);
        self
    }

    /// Sets the RETAIN flag.
    pub fn retain(mut self, retain: bool) -> Self {
        self.retain = retain;
        self
    }

    /// Sets the DUP flag.
    pub fn dup(mut self, dup: bool) -> Self {
        self.dup = dup;
        self
    }

    /// Replaces the v5 properties.
    pub fn properties(mut self, properties: PublishProperties) -> Self {
        self.properties = properties;
        self
    }

    #[inline]
    pub(crate) fn decode(version: ProtocolVersion, flags: u8, mut r: Reader) -> Result<Self, Error> {
        let dup = flags & 0b1000 != 0;
        let qos = QoS::from_u8((flags >> 1) & 0b11)?;
        let retain = flags & 0b0001 != 0;
        if dup && qos == QoS::AtMostOnce {
            return Err(Error::DupOnQoS0);
        }
        // An empty topic is valid only with a Topic Alias, which the properties (read later) must supply.
        let raw_topic = r.binary()?;
        let topic = if raw_topic.is_empty() {
            None
        } else {
            Some(TopicName::from_wire(raw_topic)?)
        };
        let packet_id = match qos {
            QoS::AtMostOnce => None,
            _ => Some(r.packet_id()?),
        };
        let properties = match version {
            // Fast path: most PUBLISH packets carry an empty property block, the single byte 0. Taking it here
            // spares the call and the move of a large `Result` (the general path gives the same value).
            ProtocolVersion::V5 if r.skip_if(0) => PublishProperties::default(),
            ProtocolVersion::V5 => PublishProperties::decode(&mut r)?,
            ProtocolVersion::V311 => PublishProperties::default(),
        };
        let topic = match topic {
            Some(topic) => topic,
            None if properties.topic_alias.is_some() => TopicName::empty_for_alias(),
            None => return Err(Error::EmptyTopic),
        };
        Ok(Publish {
            dup,
            qos,
            retain,
            topic,
            packet_id,
            payload: r.rest(),
            properties,
        })
    }

    /// Length of the v5 property block's contents (without its length prefix), `None` in 3.1.1. Encoding
    /// computes it once and uses it for both the remaining length and the block's prefix.
    #[inline]
    fn properties_len(&self, version: ProtocolVersion) -> Option<usize> {
        match version {
            ProtocolVersion::V5 if self.properties.is_empty() => Some(0),
            ProtocolVersion::V5 => Some(self.properties.len()),
            ProtocolVersion::V311 => None,
        }
    }

    fn remaining_len(&self, properties_len: Option<usize>) -> usize {
        let mut len = field::string_len(&self.topic) + self.payload.len();
        if self.qos != QoS::AtMostOnce {
            len += 2;
        }
        if let Some(props) = properties_len {
            len += properties::block_len(props);
        }
        len
    }

    /// Exact size of this packet on the wire.
    pub fn encoded_len(&self, version: ProtocolVersion) -> usize {
        header::packet_len(self.remaining_len(self.properties_len(version)))
    }

    fn check(&self, version: ProtocolVersion) -> Result<(), Error> {
        match (self.qos, self.packet_id) {
            (QoS::AtMostOnce, Some(_)) => return Err(Error::UnexpectedPacketId),
            (QoS::AtLeastOnce | QoS::ExactlyOnce, None) => {
                return Err(Error::MissingPacketId { qos: self.qos.as_u8() });
            }
            _ => {}
        }
        if self.dup && self.qos == QoS::AtMostOnce {
            return Err(Error::DupOnQoS0);
        }
        if self.topic.is_empty() && !(version.is_v5() && self.properties.topic_alias.is_some()) {
            return Err(Error::EmptyTopic);
        }
        Ok(())
    }

    /// Appends this packet to `dst`, reserving its size once; on error `dst` is left as it was.
    pub fn encode(&self, version: ProtocolVersion, dst: &mut BytesMut) -> Result<(), Error> {
        header::atomic(dst, |dst| {
            self.check(version)?;
            let flags = u8::from(self.dup) << 3 | self.qos.as_u8() << 1 | u8::from(self.retain);
            // A topic is a `ByteStr`, so its length fits the two bytes.
            let topic_len = self.topic.len() as u16;
            let props_len = self.properties_len(version);
            let remaining = self.remaining_len(props_len);
            header::begin_with_u16(dst, PacketType::Publish, flags, remaining, topic_len)?;
            dst.put_slice(self.topic.as_bytes());
            // The packet identifier and the property length go out in one copy: a PUBLISH without properties
            // writes its whole variable header after the topic at once.
            let ([v0, v1, v2, v3], prefix_len) = match props_len {
                Some(len) => varint::encode(varint::check(len)?),
                None => ([0; 4], 0),
            };
            let (middle, used) = match self.packet_id {
                Some(id) => {
                    let [hi, lo] = id.get().to_be_bytes();
                    ([hi, lo, v0, v1, v2, v3], 2 + prefix_len)
                }
                None => ([v0, v1, v2, v3, 0, 0], prefix_len),
            };
            dst.put_slice(middle.get(..used).unwrap_or_default());
            if props_len.is_some_and(|len| len > 0) {
                self.properties.encode_body(dst)?;
            }
            dst.put_slice(&self.payload);
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packet::vectors::{assert_decodes, assert_wire};
    use crate::properties::{PayloadFormat, UserProperty};
    use crate::{ByteStr, Packet, SubscriptionId};
    use ProtocolVersion::{V5, V311};

    fn id(n: u16) -> PacketId {
        PacketId::new(n).unwrap()
    }

    #[test]
    fn spec_variable_header_example() {
        // Spec 3.3.2.3 (3.1.1 figure 3.11 / v5 figure 3-9): topic "a/b", packet identifier 10.
        let p = Publish::new(TopicName::from_static("a/b"), "hi").qos(QoS::AtLeastOnce, id(10));
        assert_wire(V311, p.clone(), b"\x32\x09\x00\x03a/b\x00\x0Ahi");
        // v5 adds a property length of 0.
        assert_wire(V5, p, b"\x32\x0A\x00\x03a/b\x00\x0A\x00hi");
    }

    #[test]
    fn flags_qos0_retain_dup() {
        assert_wire(
            V311,
            Publish::new(TopicName::from_static("t"), ""),
            b"\x30\x03\x00\x01t",
        );
        assert_wire(
            V311,
            Publish::new(TopicName::from_static("t"), "").retain(true),
            b"\x31\x03\x00\x01t",
        );
        let p = Publish::new(TopicName::from_static("t"), "")
            .qos(QoS::ExactlyOnce, id(0x0102))
            .dup(true)
            .retain(true);
        assert_wire(V311, p, b"\x3D\x05\x00\x01t\x01\x02");
    }

    #[test]
    fn v5_properties_in_order() {
        let mut props = PublishProperties {
            payload_format_indicator: Some(PayloadFormat::Utf8),
            ..Default::default()
        };
        props
            .user_properties
            .push(UserProperty::new(ByteStr::from_static("k"), ByteStr::from_static("v")));
        props.subscription_identifiers.push(SubscriptionId::new(128).unwrap());
        let p = Publish::new(TopicName::from_static("a"), "").properties(props);
        assert_wire(
            V5,
            p.clone(),
            b"\x30\x10\x00\x01a\x0C\x01\x01\x26\x00\x01k\x00\x01v\x0B\x80\x01",
        );
        // The same packet in 3.1.1 leaves the properties out.
        let mut out = BytesMut::new();
        p.encode(V311, &mut out).unwrap();
        assert_eq!(&out[..], b"\x30\x03\x00\x01a");
    }

    #[test]
    fn alias_only_topic_is_empty_on_the_wire() {
        let p = Publish::alias_only(NonZeroU16::new(1).unwrap(), "x");
        assert!(p.topic.is_empty());
        assert_wire(V5, p.clone(), b"\x30\x07\x00\x00\x03\x23\x00\x01x");
        // Not representable without an alias, nor in 3.1.1.
        let mut out = BytesMut::new();
        assert_eq!(p.encode(V311, &mut out), Err(Error::EmptyTopic));
        assert!(out.is_empty());
        let mut no_alias = p;
        no_alias.properties.topic_alias = None;
        assert_eq!(no_alias.encode(V5, &mut out), Err(Error::EmptyTopic));
    }

    #[test]
    fn topic_and_payload_are_views_of_the_frame() {
        let wire = Bytes::from_static(b"\x30\x07\x00\x03a/bxy");
        let Packet::Publish(p) = Packet::decode_frame(V311, wire.clone()).unwrap() else {
            panic!("not a publish")
        };
        assert_eq!(p.topic.as_byte_str().as_bytes().as_ptr(), wire[4..].as_ptr());
        assert_eq!(p.payload.as_ptr(), wire[7..].as_ptr());
        assert_eq!(assert_decodes(V311, &wire), Packet::Publish(p));
    }

    #[test]
    fn encode_refuses_inconsistent_qos_and_id() {
        let mut out = BytesMut::new();
        let mut p = Publish::new(TopicName::from_static("t"), "");
        p.qos = QoS::AtLeastOnce;
        assert_eq!(p.encode(V5, &mut out), Err(Error::MissingPacketId { qos: 1 }));
        p.qos = QoS::AtMostOnce;
        p.packet_id = Some(id(1));
        assert_eq!(p.encode(V5, &mut out), Err(Error::UnexpectedPacketId));
        p.packet_id = None;
        p.dup = true;
        assert_eq!(p.encode(V5, &mut out), Err(Error::DupOnQoS0));
        assert!(out.is_empty());
    }

    #[test]
    fn empty_property_block_fast_path_matches_the_general_path() {
        // The general property decoder reads the single byte 0 as the empty set, as the PUBLISH fast path does.
        let mut r = Reader::new(Bytes::from_static(b"\x00rest"), PacketType::Publish);
        assert_eq!(PublishProperties::decode(&mut r).unwrap(), PublishProperties::default());
        assert_eq!(&r.rest()[..], b"rest");
        let fast = assert_decodes(V5, b"\x32\x0A\x00\x03a/b\x00\x0A\x00hi");
        let Packet::Publish(fast) = fast else {
            panic!("not a publish")
        };
        assert_eq!(fast.properties, PublishProperties::default());
        // A longer encoding of length 0 is not the fast path: the general path still refuses it [MQTT-1.5.5-1].
        let non_minimal = Bytes::from_static(b"\x32\x0B\x00\x03a/b\x00\x0A\x80\x00hi");
        assert_eq!(Packet::decode_frame(V5, non_minimal), Err(Error::NonMinimalVariableInt));
        // Encoding an empty set writes the single 0 and no more.
        assert!(PublishProperties::default().is_empty());
        assert_eq!(PublishProperties::default().len(), 0_usize);
    }

    #[cfg(feature = "arbitrary")]
    proptest::proptest! {
        /// The fast paths agree with the general ones: `is_empty` is `len() == 0`, and a PUBLISH decodes to the
        /// properties the general decoder reads from its property block, empty or not.
        #[test]
        fn fast_paths_agree(props in crate::testing::arb_publish_properties()) {
            let len = props.len();
            proptest::prop_assert_eq!(props.is_empty(), len == 0);
            let p = Publish::new(TopicName::from_static("t"), "x")
                .qos(QoS::AtLeastOnce, id(1))
                .properties(props.clone());
            let mut wire = BytesMut::new();
            p.encode(V5, &mut wire).unwrap();
            // Fixed header (2 bytes here), topic (3) and packet id (2) come before the property block.
            let skip = if wire.len() > 129 { 3 } else { 2 } + 3 + 2;
            let mut r = Reader::new(wire.clone().freeze().slice(skip..), PacketType::Publish);
            let general = PublishProperties::decode(&mut r).unwrap();
            proptest::prop_assert_eq!(&general, &props);
            proptest::prop_assert_eq!(&r.rest()[..], b"x");
            let Packet::Publish(decoded) = Packet::decode_frame(V5, wire.freeze()).unwrap() else {
                panic!("not a publish")
            };
            proptest::prop_assert_eq!(decoded.properties, general);
        }
    }

    #[test]
    fn qos0_builder_drops_the_packet_id() {
        let p = Publish::new(TopicName::from_static("t"), "").qos(QoS::AtMostOnce, id(5));
        assert_eq!(p.packet_id, None);
    }
}
