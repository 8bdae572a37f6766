//! PUBLISH (spec 3.3): an application message.

use std::num::NonZeroU16;

use bytes::{BufMut, Bytes, BytesMut};

use crate::field::{self, Reader};
use crate::properties::{self, PublishProperties};
use crate::{Error, PacketId, PacketType, ProtocolVersion, QoS, TopicName, header};

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

    pub(crate) fn decode(version: ProtocolVersion, flags: u8, mut r: Reader) -> Result<Self, Error> {
        let dup = flags & 0b1000 != 0;
        let qos = QoS::from_u8((flags >> 1) & 0b11)?;
        let retain = flags & 0b0001 != 0;
        if dup && qos == QoS::AtMostOnce {
            return Err(Error::DupOnQoS0);
        }
        let topic = r.string()?;
        let packet_id = match qos {
            QoS::AtMostOnce => None,
            _ => Some(r.packet_id()?),
        };
        let properties = match version {
            ProtocolVersion::V5 => PublishProperties::decode(&mut r)?,
            ProtocolVersion::V311 => PublishProperties::default(),
        };
        let topic = if topic.is_empty() && properties.topic_alias.is_some() {
            TopicName::empty_for_alias()
        } else {
            TopicName::new(topic)?
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

    fn remaining_len(&self, version: ProtocolVersion) -> usize {
        let mut len = field::string_len(&self.topic) + self.payload.len();
        if self.qos != QoS::AtMostOnce {
            len += 2;
        }
        if version.is_v5() {
            len += properties::block_len(self.properties.len());
        }
        len
    }

    /// Exact size of this packet on the wire.
    pub fn encoded_len(&self, version: ProtocolVersion) -> usize {
        header::packet_len(self.remaining_len(version))
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

    /// Appends this packet to `dst`.
    pub fn encode(&self, version: ProtocolVersion, dst: &mut BytesMut) -> Result<(), Error> {
        self.check(version)?;
        let flags = u8::from(self.dup) << 3 | self.qos.as_u8() << 1 | u8::from(self.retain);
        header::begin(dst, PacketType::Publish, flags, self.remaining_len(version))?;
        field::put_string(dst, &self.topic);
        if let Some(id) = self.packet_id {
            dst.put_u16(id.get());
        }
        if version.is_v5() {
            self.properties.encode(dst)?;
        }
        dst.put_slice(&self.payload);
        Ok(())
    }
}
