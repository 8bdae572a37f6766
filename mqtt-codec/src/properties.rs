//! MQTT 5.0 properties (spec 2.2.2), typed per packet.
//!
//! Each packet has its own struct holding exactly the properties that packet may carry, so a property that is
//! not allowed somewhere cannot even be written. Properties that may appear once are `Option`s; a second
//! occurrence on the wire is [`Error::DuplicateProperty`]. User properties keep their wire order and may repeat.
//! A property the packet does not allow is [`Error::PropertyNotAllowed`]; an identifier MQTT 5.0 does not define
//! is [`Error::UnknownProperty`].
//!
//! All of these are ignored when a packet is encoded as MQTT 3.1.1, which has no properties.

use std::num::{NonZeroU16, NonZeroU32};

use bytes::{BufMut, Bytes, BytesMut};

use crate::field::{self, Reader};
use crate::{ByteStr, Error, QoS, SubscriptionId, TopicName, varint};

/// The identifier of a v5 property (spec 2.2.2.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PropertyId {
    /// 0x01, byte: PUBLISH, will.
    PayloadFormatIndicator = 0x01,
    /// 0x02, four-byte integer: PUBLISH, will.
    MessageExpiryInterval = 0x02,
    /// 0x03, string: PUBLISH, will.
    ContentType = 0x03,
    /// 0x08, string: PUBLISH, will.
    ResponseTopic = 0x08,
    /// 0x09, binary: PUBLISH, will.
    CorrelationData = 0x09,
    /// 0x0B, variable byte integer: PUBLISH, SUBSCRIBE.
    SubscriptionIdentifier = 0x0B,
    /// 0x11, four-byte integer: CONNECT, CONNACK, DISCONNECT.
    SessionExpiryInterval = 0x11,
    /// 0x12, string: CONNACK.
    AssignedClientIdentifier = 0x12,
    /// 0x13, two-byte integer: CONNACK.
    ServerKeepAlive = 0x13,
    /// 0x15, string: CONNECT, CONNACK, AUTH.
    AuthenticationMethod = 0x15,
    /// 0x16, binary: CONNECT, CONNACK, AUTH.
    AuthenticationData = 0x16,
    /// 0x17, byte: CONNECT.
    RequestProblemInformation = 0x17,
    /// 0x18, four-byte integer: will.
    WillDelayInterval = 0x18,
    /// 0x19, byte: CONNECT.
    RequestResponseInformation = 0x19,
    /// 0x1A, string: CONNACK.
    ResponseInformation = 0x1A,
    /// 0x1C, string: CONNACK, DISCONNECT.
    ServerReference = 0x1C,
    /// 0x1F, string: CONNACK, acks, SUBACK, UNSUBACK, DISCONNECT, AUTH.
    ReasonString = 0x1F,
    /// 0x21, two-byte integer: CONNECT, CONNACK.
    ReceiveMaximum = 0x21,
    /// 0x22, two-byte integer: CONNECT, CONNACK.
    TopicAliasMaximum = 0x22,
    /// 0x23, two-byte integer: PUBLISH.
    TopicAlias = 0x23,
    /// 0x24, byte: CONNACK.
    MaximumQoS = 0x24,
    /// 0x25, byte: CONNACK.
    RetainAvailable = 0x25,
    /// 0x26, string pair: every packet that has properties.
    UserProperty = 0x26,
    /// 0x27, four-byte integer: CONNECT, CONNACK.
    MaximumPacketSize = 0x27,
    /// 0x28, byte: CONNACK.
    WildcardSubscriptionAvailable = 0x28,
    /// 0x29, byte: CONNACK.
    SubscriptionIdentifierAvailable = 0x29,
    /// 0x2A, byte: CONNACK.
    SharedSubscriptionAvailable = 0x2A,
}

impl PropertyId {
    /// The identifier for a wire value, `None` if MQTT 5.0 defines no such property.
    pub const fn from_u32(id: u32) -> Option<PropertyId> {
        use PropertyId::*;
        Some(match id {
            0x01 => PayloadFormatIndicator,
            0x02 => MessageExpiryInterval,
            0x03 => ContentType,
            0x08 => ResponseTopic,
            0x09 => CorrelationData,
            0x0B => SubscriptionIdentifier,
            0x11 => SessionExpiryInterval,
            0x12 => AssignedClientIdentifier,
            0x13 => ServerKeepAlive,
            0x15 => AuthenticationMethod,
            0x16 => AuthenticationData,
            0x17 => RequestProblemInformation,
            0x18 => WillDelayInterval,
            0x19 => RequestResponseInformation,
            0x1A => ResponseInformation,
            0x1C => ServerReference,
            0x1F => ReasonString,
            0x21 => ReceiveMaximum,
            0x22 => TopicAliasMaximum,
            0x23 => TopicAlias,
            0x24 => MaximumQoS,
            0x25 => RetainAvailable,
            0x26 => UserProperty,
            0x27 => MaximumPacketSize,
            0x28 => WildcardSubscriptionAvailable,
            0x29 => SubscriptionIdentifierAvailable,
            0x2A => SharedSubscriptionAvailable,
            _ => return None,
        })
    }
}

/// [`PropertyId::from_u32`] for every one-byte identifier, so decoding maps an identifier with one load.
/// Built at compile time: an out-of-range index here would fail the build, never panic at run time.
#[allow(clippy::indexing_slicing)]
const PROPERTY_IDS: [Option<PropertyId>; 0x80] = {
    let mut table = [None; 0x80];
    let mut id = 0;
    while id < 0x80 {
        table[id] = PropertyId::from_u32(id as u32);
        id += 1;
    }
    table
};

/// One v5 user property: a name/value pair of strings. Names may repeat.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UserProperty {
    /// The name.
    pub name: ByteStr,
    /// The value.
    pub value: ByteStr,
}

impl UserProperty {
    /// A pair from two validated strings.
    pub fn new(name: ByteStr, value: ByteStr) -> Self {
        UserProperty { name, value }
    }
}

/// The Payload Format Indicator (spec 3.3.2.3.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum PayloadFormat {
    /// 0: unspecified bytes.
    #[default]
    Unspecified = 0,
    /// 1: UTF-8 encoded character data. The codec does not validate the payload; a receiver that wants to
    /// may check it and answer Payload format invalid (0x99).
    Utf8 = 1,
}

// ---------------------------------------------------------------------------------------------------------------
// Decoding

/// A property block being read: its identifiers and typed values.
struct Props {
    r: Reader,
}

impl Props {
    /// Reads the property length and splits the block off `r`.
    ///
    /// The common empty block (the single byte 0) takes a fast path that splits nothing off the frame.
    #[inline]
    fn read(r: &mut Reader) -> Result<Props, Error> {
        if r.skip_if(0) {
            return Ok(Props {
                r: Reader::new(Bytes::new(), r.packet()),
            });
        }
        let len = r.varint()? as usize;
        Ok(Props { r: r.sub(len)? })
    }

    #[inline]
    fn next(&mut self) -> Result<Option<PropertyId>, Error> {
        if self.r.is_empty() {
            return Ok(None);
        }
        // Every identifier MQTT 5.0 defines fits one byte; anything longer goes through the full (strict) parse.
        let property = match self.r.small_varint() {
            Some(id) => PROPERTY_IDS
                .get(usize::from(id))
                .copied()
                .flatten()
                .ok_or(u32::from(id)),
            None => {
                let id = self.r.varint()?;
                PropertyId::from_u32(id).ok_or(id)
            }
        };
        property.map(Some).map_err(|id| Error::UnknownProperty { id })
    }

    fn not_allowed(&self, property: PropertyId) -> Error {
        Error::PropertyNotAllowed {
            property,
            packet: self.r.packet(),
        }
    }

    fn bool(&mut self, property: PropertyId) -> Result<bool, Error> {
        match self.r.u8()? {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(Error::InvalidPropertyValue { property }),
        }
    }

    fn u16(&mut self) -> Result<u16, Error> {
        self.r.u16()
    }

    fn u32(&mut self) -> Result<u32, Error> {
        self.r.u32()
    }

    fn nonzero_u16(&mut self, property: PropertyId) -> Result<NonZeroU16, Error> {
        NonZeroU16::new(self.r.u16()?).ok_or(Error::InvalidPropertyValue { property })
    }

    fn nonzero_u32(&mut self, property: PropertyId) -> Result<NonZeroU32, Error> {
        NonZeroU32::new(self.r.u32()?).ok_or(Error::InvalidPropertyValue { property })
    }

    fn string(&mut self) -> Result<ByteStr, Error> {
        self.r.string()
    }

    fn binary(&mut self) -> Result<Bytes, Error> {
        self.r.binary()
    }

    fn payload_format(&mut self) -> Result<PayloadFormat, Error> {
        match self.r.u8()? {
            0 => Ok(PayloadFormat::Unspecified),
            1 => Ok(PayloadFormat::Utf8),
            _ => Err(Error::InvalidPropertyValue {
                property: PropertyId::PayloadFormatIndicator,
            }),
        }
    }

    fn subscription_id(&mut self) -> Result<SubscriptionId, Error> {
        SubscriptionId::new(self.r.varint()?).ok_or(Error::SubscriptionIdZero)
    }

    fn user_property(&mut self) -> Result<UserProperty, Error> {
        Ok(UserProperty {
            name: self.r.string()?,
            value: self.r.string()?,
        })
    }
}

/// Stores a property that may appear only once.
fn once<T>(slot: &mut Option<T>, property: PropertyId, value: T) -> Result<(), Error> {
    if slot.is_some() {
        return Err(Error::DuplicateProperty { property });
    }
    *slot = Some(value);
    Ok(())
}

// ---------------------------------------------------------------------------------------------------------------
// Encoding

/// A property value that knows its wire size and writes itself.
trait Value {
    fn len(&self) -> usize;
    fn put(&self, dst: &mut BytesMut) -> Result<(), Error>;
}

impl Value for bool {
    fn len(&self) -> usize {
        1
    }
    fn put(&self, dst: &mut BytesMut) -> Result<(), Error> {
        dst.put_u8(u8::from(*self));
        Ok(())
    }
}

impl Value for PayloadFormat {
    fn len(&self) -> usize {
        1
    }
    fn put(&self, dst: &mut BytesMut) -> Result<(), Error> {
        dst.put_u8(*self as u8);
        Ok(())
    }
}

impl Value for u16 {
    fn len(&self) -> usize {
        2
    }
    fn put(&self, dst: &mut BytesMut) -> Result<(), Error> {
        dst.put_u16(*self);
        Ok(())
    }
}

impl Value for NonZeroU16 {
    fn len(&self) -> usize {
        2
    }
    fn put(&self, dst: &mut BytesMut) -> Result<(), Error> {
        dst.put_u16(self.get());
        Ok(())
    }
}

impl Value for u32 {
    fn len(&self) -> usize {
        4
    }
    fn put(&self, dst: &mut BytesMut) -> Result<(), Error> {
        dst.put_u32(*self);
        Ok(())
    }
}

/// Four-byte integers that must not be 0 (Maximum Packet Size). Subscription identifiers are variable byte
/// integers and are written by [`put_subscription_id`] instead.
impl Value for NonZeroU32 {
    fn len(&self) -> usize {
        4
    }
    fn put(&self, dst: &mut BytesMut) -> Result<(), Error> {
        dst.put_u32(self.get());
        Ok(())
    }
}

impl Value for ByteStr {
    fn len(&self) -> usize {
        field::string_len(self)
    }
    fn put(&self, dst: &mut BytesMut) -> Result<(), Error> {
        field::put_string(dst, self);
        Ok(())
    }
}

impl Value for TopicName {
    fn len(&self) -> usize {
        field::string_len(self)
    }
    fn put(&self, dst: &mut BytesMut) -> Result<(), Error> {
        field::put_string(dst, self);
        Ok(())
    }
}

impl Value for Bytes {
    fn len(&self) -> usize {
        field::binary_len(self)
    }
    fn put(&self, dst: &mut BytesMut) -> Result<(), Error> {
        field::put_binary(dst, self)
    }
}

fn opt_len<T: Value>(value: &Option<T>) -> usize {
    value.as_ref().map_or(0, |v| 1 + v.len())
}

fn put_opt<T: Value>(dst: &mut BytesMut, id: PropertyId, value: &Option<T>) -> Result<(), Error> {
    if let Some(v) = value {
        dst.put_u8(id as u8);
        v.put(dst)?;
    }
    Ok(())
}

fn users_len(users: &[UserProperty]) -> usize {
    users
        .iter()
        .map(|u| 1 + field::string_len(&u.name) + field::string_len(&u.value))
        .sum()
}

fn put_users(dst: &mut BytesMut, users: &[UserProperty]) {
    for u in users {
        dst.put_u8(PropertyId::UserProperty as u8);
        field::put_string(dst, &u.name);
        field::put_string(dst, &u.value);
    }
}

fn subscription_id_len(id: SubscriptionId) -> usize {
    1 + varint::len(id.get())
}

fn put_subscription_id(dst: &mut BytesMut, id: SubscriptionId) -> Result<(), Error> {
    if id.get() > crate::MAX_VARIABLE_INT {
        return Err(Error::InvalidPropertyValue {
            property: PropertyId::SubscriptionIdentifier,
        });
    }
    dst.put_u8(PropertyId::SubscriptionIdentifier as u8);
    varint::put(dst, id.get());
    Ok(())
}

/// Size of a property block on the wire: its length prefix plus `len` bytes of properties.
pub(crate) fn block_len(len: usize) -> usize {
    varint::len(u32::try_from(len).unwrap_or(u32::MAX)) + len
}

/// Writes the length prefix of a property block.
fn put_block_len(dst: &mut BytesMut, len: usize) -> Result<(), Error> {
    varint::put(dst, varint::check(len)?);
    Ok(())
}

// ---------------------------------------------------------------------------------------------------------------
// Per-packet property sets

/// Properties of CONNECT (spec 3.1.2.11).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ConnectProperties {
    /// Seconds the session outlives the connection; absent means 0.
    pub session_expiry_interval: Option<u32>,
    /// How many QoS 1/2 publications the client processes concurrently (never 0).
    pub receive_maximum: Option<NonZeroU16>,
    /// Largest packet the client accepts (never 0).
    pub maximum_packet_size: Option<NonZeroU32>,
    /// Highest topic alias the client accepts from the server.
    pub topic_alias_maximum: Option<u16>,
    /// Whether the client asks for Response Information in CONNACK.
    pub request_response_information: Option<bool>,
    /// Whether the server may send Reason Strings and User Properties on failures.
    pub request_problem_information: Option<bool>,
    /// Name of the extended authentication method.
    pub authentication_method: Option<ByteStr>,
    /// Authentication data of that method.
    pub authentication_data: Option<Bytes>,
    /// User properties, in order.
    pub user_properties: Vec<UserProperty>,
}

impl ConnectProperties {
    pub(crate) fn decode(r: &mut Reader) -> Result<Self, Error> {
        use PropertyId as P;
        let mut p = Props::read(r)?;
        let mut s = Self::default();
        while let Some(id) = p.next()? {
            match id {
                P::SessionExpiryInterval => once(&mut s.session_expiry_interval, id, p.u32()?)?,
                P::ReceiveMaximum => once(&mut s.receive_maximum, id, p.nonzero_u16(id)?)?,
                P::MaximumPacketSize => once(&mut s.maximum_packet_size, id, p.nonzero_u32(id)?)?,
                P::TopicAliasMaximum => once(&mut s.topic_alias_maximum, id, p.u16()?)?,
                P::RequestResponseInformation => once(&mut s.request_response_information, id, p.bool(id)?)?,
                P::RequestProblemInformation => once(&mut s.request_problem_information, id, p.bool(id)?)?,
                P::AuthenticationMethod => once(&mut s.authentication_method, id, p.string()?)?,
                P::AuthenticationData => once(&mut s.authentication_data, id, p.binary()?)?,
                P::UserProperty => s.user_properties.push(p.user_property()?),
                other => return Err(p.not_allowed(other)),
            }
        }
        Ok(s)
    }

    pub(crate) fn len(&self) -> usize {
        opt_len(&self.session_expiry_interval)
            + opt_len(&self.receive_maximum)
            + opt_len(&self.maximum_packet_size)
            + opt_len(&self.topic_alias_maximum)
            + opt_len(&self.request_response_information)
            + opt_len(&self.request_problem_information)
            + opt_len(&self.authentication_method)
            + opt_len(&self.authentication_data)
            + users_len(&self.user_properties)
    }

    pub(crate) fn encode(&self, dst: &mut BytesMut) -> Result<(), Error> {
        use PropertyId as P;
        put_block_len(dst, self.len())?;
        put_opt(dst, P::SessionExpiryInterval, &self.session_expiry_interval)?;
        put_opt(dst, P::ReceiveMaximum, &self.receive_maximum)?;
        put_opt(dst, P::MaximumPacketSize, &self.maximum_packet_size)?;
        put_opt(dst, P::TopicAliasMaximum, &self.topic_alias_maximum)?;
        put_opt(dst, P::RequestResponseInformation, &self.request_response_information)?;
        put_opt(dst, P::RequestProblemInformation, &self.request_problem_information)?;
        put_opt(dst, P::AuthenticationMethod, &self.authentication_method)?;
        put_opt(dst, P::AuthenticationData, &self.authentication_data)?;
        put_users(dst, &self.user_properties);
        Ok(())
    }
}

/// Properties of a will message, carried in the CONNECT payload (spec 3.1.3.2).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct WillProperties {
    /// Seconds the server waits after the connection ends before publishing the will.
    pub will_delay_interval: Option<u32>,
    /// Whether the will payload is UTF-8 text.
    pub payload_format_indicator: Option<PayloadFormat>,
    /// Lifetime of the will message in seconds.
    pub message_expiry_interval: Option<u32>,
    /// MIME-like description of the payload.
    pub content_type: Option<ByteStr>,
    /// Topic for a response (a topic name: no wildcards).
    pub response_topic: Option<TopicName>,
    /// Data that ties a response to its request.
    pub correlation_data: Option<Bytes>,
    /// User properties, in order.
    pub user_properties: Vec<UserProperty>,
}

impl WillProperties {
    pub(crate) fn decode(r: &mut Reader) -> Result<Self, Error> {
        use PropertyId as P;
        let mut p = Props::read(r)?;
        let mut s = Self::default();
        while let Some(id) = p.next()? {
            match id {
                P::WillDelayInterval => once(&mut s.will_delay_interval, id, p.u32()?)?,
                P::PayloadFormatIndicator => once(&mut s.payload_format_indicator, id, p.payload_format()?)?,
                P::MessageExpiryInterval => once(&mut s.message_expiry_interval, id, p.u32()?)?,
                P::ContentType => once(&mut s.content_type, id, p.string()?)?,
                P::ResponseTopic => once(&mut s.response_topic, id, TopicName::new(p.string()?)?)?,
                P::CorrelationData => once(&mut s.correlation_data, id, p.binary()?)?,
                P::UserProperty => s.user_properties.push(p.user_property()?),
                other => return Err(p.not_allowed(other)),
            }
        }
        Ok(s)
    }

    pub(crate) fn len(&self) -> usize {
        opt_len(&self.will_delay_interval)
            + opt_len(&self.payload_format_indicator)
            + opt_len(&self.message_expiry_interval)
            + opt_len(&self.content_type)
            + opt_len(&self.response_topic)
            + opt_len(&self.correlation_data)
            + users_len(&self.user_properties)
    }

    pub(crate) fn encode(&self, dst: &mut BytesMut) -> Result<(), Error> {
        use PropertyId as P;
        put_block_len(dst, self.len())?;
        put_opt(dst, P::WillDelayInterval, &self.will_delay_interval)?;
        put_opt(dst, P::PayloadFormatIndicator, &self.payload_format_indicator)?;
        put_opt(dst, P::MessageExpiryInterval, &self.message_expiry_interval)?;
        put_opt(dst, P::ContentType, &self.content_type)?;
        put_opt(dst, P::ResponseTopic, &self.response_topic)?;
        put_opt(dst, P::CorrelationData, &self.correlation_data)?;
        put_users(dst, &self.user_properties);
        Ok(())
    }
}

/// Properties of CONNACK (spec 3.2.2.3).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ConnAckProperties {
    /// Session expiry the server chose, if it differs from the client's.
    pub session_expiry_interval: Option<u32>,
    /// How many QoS 1/2 publications the server processes concurrently (never 0).
    pub receive_maximum: Option<NonZeroU16>,
    /// Highest QoS the server supports: only 0 or 1 may be sent (absent means 2).
    pub maximum_qos: Option<QoS>,
    /// Whether the server supports retained messages.
    pub retain_available: Option<bool>,
    /// Largest packet the server accepts (never 0).
    pub maximum_packet_size: Option<NonZeroU32>,
    /// Client identifier the server assigned to a client that sent an empty one.
    pub assigned_client_identifier: Option<ByteStr>,
    /// Highest topic alias the server accepts from the client.
    pub topic_alias_maximum: Option<u16>,
    /// Human-readable diagnostic.
    pub reason_string: Option<ByteStr>,
    /// User properties, in order.
    pub user_properties: Vec<UserProperty>,
    /// Whether the server supports wildcard subscriptions.
    pub wildcard_subscription_available: Option<bool>,
    /// Whether the server supports subscription identifiers.
    pub subscription_identifiers_available: Option<bool>,
    /// Whether the server supports shared subscriptions.
    pub shared_subscription_available: Option<bool>,
    /// Keep alive the server imposes instead of the client's.
    pub server_keep_alive: Option<u16>,
    /// Basis for response topics, when the client asked for it.
    pub response_information: Option<ByteStr>,
    /// Another server to use.
    pub server_reference: Option<ByteStr>,
    /// Name of the extended authentication method.
    pub authentication_method: Option<ByteStr>,
    /// Authentication data of that method.
    pub authentication_data: Option<Bytes>,
}

impl ConnAckProperties {
    pub(crate) fn decode(r: &mut Reader) -> Result<Self, Error> {
        use PropertyId as P;
        let mut p = Props::read(r)?;
        let mut s = Self::default();
        while let Some(id) = p.next()? {
            match id {
                P::SessionExpiryInterval => once(&mut s.session_expiry_interval, id, p.u32()?)?,
                P::ReceiveMaximum => once(&mut s.receive_maximum, id, p.nonzero_u16(id)?)?,
                P::MaximumQoS => {
                    let qos = match p.r.u8()? {
                        0 => QoS::AtMostOnce,
                        1 => QoS::AtLeastOnce,
                        _ => return Err(Error::InvalidPropertyValue { property: id }),
                    };
                    once(&mut s.maximum_qos, id, qos)?
                }
                P::RetainAvailable => once(&mut s.retain_available, id, p.bool(id)?)?,
                P::MaximumPacketSize => once(&mut s.maximum_packet_size, id, p.nonzero_u32(id)?)?,
                P::AssignedClientIdentifier => once(&mut s.assigned_client_identifier, id, p.string()?)?,
                P::TopicAliasMaximum => once(&mut s.topic_alias_maximum, id, p.u16()?)?,
                P::ReasonString => once(&mut s.reason_string, id, p.string()?)?,
                P::UserProperty => s.user_properties.push(p.user_property()?),
                P::WildcardSubscriptionAvailable => once(&mut s.wildcard_subscription_available, id, p.bool(id)?)?,
                P::SubscriptionIdentifierAvailable => once(&mut s.subscription_identifiers_available, id, p.bool(id)?)?,
                P::SharedSubscriptionAvailable => once(&mut s.shared_subscription_available, id, p.bool(id)?)?,
                P::ServerKeepAlive => once(&mut s.server_keep_alive, id, p.u16()?)?,
                P::ResponseInformation => once(&mut s.response_information, id, p.string()?)?,
                P::ServerReference => once(&mut s.server_reference, id, p.string()?)?,
                P::AuthenticationMethod => once(&mut s.authentication_method, id, p.string()?)?,
                P::AuthenticationData => once(&mut s.authentication_data, id, p.binary()?)?,
                other => return Err(p.not_allowed(other)),
            }
        }
        Ok(s)
    }

    pub(crate) fn len(&self) -> usize {
        opt_len(&self.session_expiry_interval)
            + opt_len(&self.receive_maximum)
            + self.maximum_qos.map_or(0, |_| 2)
            + opt_len(&self.retain_available)
            + opt_len(&self.maximum_packet_size)
            + opt_len(&self.assigned_client_identifier)
            + opt_len(&self.topic_alias_maximum)
            + opt_len(&self.reason_string)
            + users_len(&self.user_properties)
            + opt_len(&self.wildcard_subscription_available)
            + opt_len(&self.subscription_identifiers_available)
            + opt_len(&self.shared_subscription_available)
            + opt_len(&self.server_keep_alive)
            + opt_len(&self.response_information)
            + opt_len(&self.server_reference)
            + opt_len(&self.authentication_method)
            + opt_len(&self.authentication_data)
    }

    pub(crate) fn encode(&self, dst: &mut BytesMut) -> Result<(), Error> {
        use PropertyId as P;
        put_block_len(dst, self.len())?;
        put_opt(dst, P::SessionExpiryInterval, &self.session_expiry_interval)?;
        put_opt(dst, P::ReceiveMaximum, &self.receive_maximum)?;
        if let Some(qos) = self.maximum_qos {
            if qos == QoS::ExactlyOnce {
                // Absence means 2; the server must not send 2 explicitly (spec 3.2.2.3.4).
                return Err(Error::InvalidPropertyValue {
                    property: P::MaximumQoS,
                });
            }
            dst.put_u8(P::MaximumQoS as u8);
            dst.put_u8(qos.as_u8());
        }
        put_opt(dst, P::RetainAvailable, &self.retain_available)?;
        put_opt(dst, P::MaximumPacketSize, &self.maximum_packet_size)?;
        put_opt(dst, P::AssignedClientIdentifier, &self.assigned_client_identifier)?;
        put_opt(dst, P::TopicAliasMaximum, &self.topic_alias_maximum)?;
        put_opt(dst, P::ReasonString, &self.reason_string)?;
        put_users(dst, &self.user_properties);
        put_opt(
            dst,
            P::WildcardSubscriptionAvailable,
            &self.wildcard_subscription_available,
        )?;
        put_opt(
            dst,
            P::SubscriptionIdentifierAvailable,
            &self.subscription_identifiers_available,
        )?;
        put_opt(dst, P::SharedSubscriptionAvailable, &self.shared_subscription_available)?;
        put_opt(dst, P::ServerKeepAlive, &self.server_keep_alive)?;
        put_opt(dst, P::ResponseInformation, &self.response_information)?;
        put_opt(dst, P::ServerReference, &self.server_reference)?;
        put_opt(dst, P::AuthenticationMethod, &self.authentication_method)?;
        put_opt(dst, P::AuthenticationData, &self.authentication_data)?;
        Ok(())
    }
}

/// Properties of PUBLISH (spec 3.3.2.3).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PublishProperties {
    /// Whether the payload is UTF-8 text.
    pub payload_format_indicator: Option<PayloadFormat>,
    /// Lifetime of the message in seconds.
    pub message_expiry_interval: Option<u32>,
    /// Topic alias (never 0 [MQTT-3.3.2-8]). With an alias the topic name may be empty.
    pub topic_alias: Option<NonZeroU16>,
    /// Topic for a response (a topic name: no wildcards [MQTT-3.3.2-14]).
    pub response_topic: Option<TopicName>,
    /// Data that ties a response to its request.
    pub correlation_data: Option<Bytes>,
    /// User properties, in order [MQTT-3.3.2-18].
    pub user_properties: Vec<UserProperty>,
    /// Identifiers of the subscriptions that matched (server to client only; may repeat).
    pub subscription_identifiers: Vec<SubscriptionId>,
    /// MIME-like description of the payload.
    pub content_type: Option<ByteStr>,
}

impl PublishProperties {
    pub(crate) fn decode(r: &mut Reader) -> Result<Self, Error> {
        use PropertyId as P;
        let mut p = Props::read(r)?;
        let mut s = Self::default();
        while let Some(id) = p.next()? {
            match id {
                P::PayloadFormatIndicator => once(&mut s.payload_format_indicator, id, p.payload_format()?)?,
                P::MessageExpiryInterval => once(&mut s.message_expiry_interval, id, p.u32()?)?,
                P::TopicAlias => {
                    let alias = NonZeroU16::new(p.u16()?).ok_or(Error::TopicAliasZero)?;
                    once(&mut s.topic_alias, id, alias)?
                }
                P::ResponseTopic => once(&mut s.response_topic, id, TopicName::new(p.string()?)?)?,
                P::CorrelationData => once(&mut s.correlation_data, id, p.binary()?)?,
                P::UserProperty => s.user_properties.push(p.user_property()?),
                P::SubscriptionIdentifier => s.subscription_identifiers.push(p.subscription_id()?),
                P::ContentType => once(&mut s.content_type, id, p.string()?)?,
                other => return Err(p.not_allowed(other)),
            }
        }
        Ok(s)
    }

    /// Whether no property is set: the common case, which PUBLISH encodes as a single 0 without summing lengths.
    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        let PublishProperties {
            payload_format_indicator,
            message_expiry_interval,
            topic_alias,
            response_topic,
            correlation_data,
            user_properties,
            subscription_identifiers,
            content_type,
        } = self;
        payload_format_indicator.is_none()
            && message_expiry_interval.is_none()
            && topic_alias.is_none()
            && response_topic.is_none()
            && correlation_data.is_none()
            && user_properties.is_empty()
            && subscription_identifiers.is_empty()
            && content_type.is_none()
    }

    pub(crate) fn len(&self) -> usize {
        opt_len(&self.payload_format_indicator)
            + opt_len(&self.message_expiry_interval)
            + opt_len(&self.topic_alias)
            + opt_len(&self.response_topic)
            + opt_len(&self.correlation_data)
            + users_len(&self.user_properties)
            + self
                .subscription_identifiers
                .iter()
                .map(|&id| subscription_id_len(id))
                .sum::<usize>()
            + opt_len(&self.content_type)
    }

    /// Writes the properties without the block's length prefix, which PUBLISH writes itself from the length it
    /// has already computed for its remaining length.
    pub(crate) fn encode_body(&self, dst: &mut BytesMut) -> Result<(), Error> {
        use PropertyId as P;
        put_opt(dst, P::PayloadFormatIndicator, &self.payload_format_indicator)?;
        put_opt(dst, P::MessageExpiryInterval, &self.message_expiry_interval)?;
        put_opt(dst, P::TopicAlias, &self.topic_alias)?;
        put_opt(dst, P::ResponseTopic, &self.response_topic)?;
        put_opt(dst, P::CorrelationData, &self.correlation_data)?;
        put_users(dst, &self.user_properties);
        for &id in &self.subscription_identifiers {
            put_subscription_id(dst, id)?;
        }
        put_opt(dst, P::ContentType, &self.content_type)?;
        Ok(())
    }
}

/// Properties of PUBACK, PUBREC, PUBREL, PUBCOMP, SUBACK and UNSUBACK: a reason string and user properties.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AckProperties {
    /// Human-readable diagnostic.
    pub reason_string: Option<ByteStr>,
    /// User properties, in order.
    pub user_properties: Vec<UserProperty>,
}

impl AckProperties {
    pub(crate) fn decode(r: &mut Reader) -> Result<Self, Error> {
        use PropertyId as P;
        let mut p = Props::read(r)?;
        let mut s = Self::default();
        while let Some(id) = p.next()? {
            match id {
                P::ReasonString => once(&mut s.reason_string, id, p.string()?)?,
                P::UserProperty => s.user_properties.push(p.user_property()?),
                other => return Err(p.not_allowed(other)),
            }
        }
        Ok(s)
    }

    /// True when there is nothing to send, so an ack may omit its property block.
    pub fn is_empty(&self) -> bool {
        self.reason_string.is_none() && self.user_properties.is_empty()
    }

    pub(crate) fn len(&self) -> usize {
        opt_len(&self.reason_string) + users_len(&self.user_properties)
    }

    pub(crate) fn encode(&self, dst: &mut BytesMut) -> Result<(), Error> {
        put_block_len(dst, self.len())?;
        put_opt(dst, PropertyId::ReasonString, &self.reason_string)?;
        put_users(dst, &self.user_properties);
        Ok(())
    }
}

/// Properties of SUBSCRIBE (spec 3.8.2.1).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SubscribeProperties {
    /// Identifier the server attaches to messages delivered for these subscriptions.
    pub subscription_identifier: Option<SubscriptionId>,
    /// User properties, in order.
    pub user_properties: Vec<UserProperty>,
}

impl SubscribeProperties {
    pub(crate) fn decode(r: &mut Reader) -> Result<Self, Error> {
        use PropertyId as P;
        let mut p = Props::read(r)?;
        let mut s = Self::default();
        while let Some(id) = p.next()? {
            match id {
                P::SubscriptionIdentifier => once(&mut s.subscription_identifier, id, p.subscription_id()?)?,
                P::UserProperty => s.user_properties.push(p.user_property()?),
                other => return Err(p.not_allowed(other)),
            }
        }
        Ok(s)
    }

    pub(crate) fn len(&self) -> usize {
        self.subscription_identifier.map_or(0, subscription_id_len) + users_len(&self.user_properties)
    }

    pub(crate) fn encode(&self, dst: &mut BytesMut) -> Result<(), Error> {
        put_block_len(dst, self.len())?;
        if let Some(id) = self.subscription_identifier {
            put_subscription_id(dst, id)?;
        }
        put_users(dst, &self.user_properties);
        Ok(())
    }
}

/// Properties of UNSUBSCRIBE (spec 3.10.2.1): user properties only.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UnsubscribeProperties {
    /// User properties, in order.
    pub user_properties: Vec<UserProperty>,
}

impl UnsubscribeProperties {
    pub(crate) fn decode(r: &mut Reader) -> Result<Self, Error> {
        let mut p = Props::read(r)?;
        let mut s = Self::default();
        while let Some(id) = p.next()? {
            match id {
                PropertyId::UserProperty => s.user_properties.push(p.user_property()?),
                other => return Err(p.not_allowed(other)),
            }
        }
        Ok(s)
    }

    pub(crate) fn len(&self) -> usize {
        users_len(&self.user_properties)
    }

    pub(crate) fn encode(&self, dst: &mut BytesMut) -> Result<(), Error> {
        put_block_len(dst, self.len())?;
        put_users(dst, &self.user_properties);
        Ok(())
    }
}

/// Properties of DISCONNECT (spec 3.14.2.2).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DisconnectProperties {
    /// New session expiry, sent by the client only.
    pub session_expiry_interval: Option<u32>,
    /// Human-readable diagnostic.
    pub reason_string: Option<ByteStr>,
    /// User properties, in order.
    pub user_properties: Vec<UserProperty>,
    /// Another server to use.
    pub server_reference: Option<ByteStr>,
}

impl DisconnectProperties {
    pub(crate) fn decode(r: &mut Reader) -> Result<Self, Error> {
        use PropertyId as P;
        let mut p = Props::read(r)?;
        let mut s = Self::default();
        while let Some(id) = p.next()? {
            match id {
                P::SessionExpiryInterval => once(&mut s.session_expiry_interval, id, p.u32()?)?,
                P::ReasonString => once(&mut s.reason_string, id, p.string()?)?,
                P::UserProperty => s.user_properties.push(p.user_property()?),
                P::ServerReference => once(&mut s.server_reference, id, p.string()?)?,
                other => return Err(p.not_allowed(other)),
            }
        }
        Ok(s)
    }

    /// True when there is nothing to send.
    pub fn is_empty(&self) -> bool {
        self.session_expiry_interval.is_none()
            && self.reason_string.is_none()
            && self.user_properties.is_empty()
            && self.server_reference.is_none()
    }

    pub(crate) fn len(&self) -> usize {
        opt_len(&self.session_expiry_interval)
            + opt_len(&self.reason_string)
            + users_len(&self.user_properties)
            + opt_len(&self.server_reference)
    }

    pub(crate) fn encode(&self, dst: &mut BytesMut) -> Result<(), Error> {
        use PropertyId as P;
        put_block_len(dst, self.len())?;
        put_opt(dst, P::SessionExpiryInterval, &self.session_expiry_interval)?;
        put_opt(dst, P::ReasonString, &self.reason_string)?;
        put_users(dst, &self.user_properties);
        put_opt(dst, P::ServerReference, &self.server_reference)?;
        Ok(())
    }
}

/// Properties of AUTH (spec 3.15.2.2).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AuthProperties {
    /// Name of the extended authentication method.
    pub authentication_method: Option<ByteStr>,
    /// Authentication data of that method.
    pub authentication_data: Option<Bytes>,
    /// Human-readable diagnostic.
    pub reason_string: Option<ByteStr>,
    /// User properties, in order.
    pub user_properties: Vec<UserProperty>,
}

impl AuthProperties {
    pub(crate) fn decode(r: &mut Reader) -> Result<Self, Error> {
        use PropertyId as P;
        let mut p = Props::read(r)?;
        let mut s = Self::default();
        while let Some(id) = p.next()? {
            match id {
                P::AuthenticationMethod => once(&mut s.authentication_method, id, p.string()?)?,
                P::AuthenticationData => once(&mut s.authentication_data, id, p.binary()?)?,
                P::ReasonString => once(&mut s.reason_string, id, p.string()?)?,
                P::UserProperty => s.user_properties.push(p.user_property()?),
                other => return Err(p.not_allowed(other)),
            }
        }
        Ok(s)
    }

    /// True when there is nothing to send.
    pub fn is_empty(&self) -> bool {
        self.authentication_method.is_none()
            && self.authentication_data.is_none()
            && self.reason_string.is_none()
            && self.user_properties.is_empty()
    }

    pub(crate) fn len(&self) -> usize {
        opt_len(&self.authentication_method)
            + opt_len(&self.authentication_data)
            + opt_len(&self.reason_string)
            + users_len(&self.user_properties)
    }

    pub(crate) fn encode(&self, dst: &mut BytesMut) -> Result<(), Error> {
        use PropertyId as P;
        put_block_len(dst, self.len())?;
        put_opt(dst, P::AuthenticationMethod, &self.authentication_method)?;
        put_opt(dst, P::AuthenticationData, &self.authentication_data)?;
        put_opt(dst, P::ReasonString, &self.reason_string)?;
        put_users(dst, &self.user_properties);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_byte_identifier_table_agrees_with_from_u32() {
        for id in 0..0x80u8 {
            assert_eq!(
                PROPERTY_IDS[usize::from(id)],
                PropertyId::from_u32(u32::from(id)),
                "id {id:#04x}"
            );
        }
    }
}
