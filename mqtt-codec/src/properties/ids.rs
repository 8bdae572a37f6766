//! The property table (spec 2.2.2.2, Table 2-4): one row per MQTT 5.0 property with its identifier, the Rust
//! type packets hold it as, its data type on the wire, and the error an out-of-range value decodes to where that
//! is not [`Error::InvalidPropertyValue`]. Which sets carry a property, and how often, is the table in `sets.rs`.

use crate::Error;
use crate::properties::macros::property_ids;

/// The Rust types the rows name. `property!(type X)` resolves through here, so the table reads the same wherever
/// a set is generated.
pub(crate) mod types {
    pub(crate) use crate::properties::{PayloadFormat, UserProperty};
    pub(crate) use crate::{ByteStr, QoS, SubscriptionId, TopicName};
    pub(crate) use bytes::Bytes;
    pub(crate) use core::primitive::{bool, u16, u32};
    pub(crate) use std::num::{NonZeroU16, NonZeroU32};
}

/// The data types of spec 1.5 that property values are written as (spec 2.2.2.2, Table 2-4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DataType {
    /// One byte (spec 1.5.1).
    Byte,
    /// A big-endian 16-bit integer (spec 1.5.2).
    TwoByteInteger,
    /// A big-endian 32-bit integer (spec 1.5.3).
    FourByteInteger,
    /// A UTF-8 string with a two-byte length (spec 1.5.4).
    Utf8String,
    /// A variable byte integer, one to four bytes (spec 1.5.5).
    VariableByteInteger,
    /// Binary data with a two-byte length (spec 1.5.6).
    BinaryData,
    /// Two UTF-8 strings, a name and a value (spec 1.5.7).
    Utf8StringPair,
}

property_ids! {
    /// Payload Format Indicator: whether the payload is UTF-8 text.
    0x01 PayloadFormatIndicator: PayloadFormat as Byte;
    /// Message Expiry Interval: lifetime of the message in seconds.
    0x02 MessageExpiryInterval: u32 as FourByteInteger;
    /// Content Type: a MIME-like description of the payload.
    0x03 ContentType: ByteStr as Utf8String;
    /// Response Topic: where a response goes (a topic name, without wildcards).
    0x08 ResponseTopic: TopicName as Utf8String;
    /// Correlation Data: ties a response to its request.
    0x09 CorrelationData: Bytes as BinaryData;
    /// Subscription Identifier (never 0).
    0x0B SubscriptionIdentifier: SubscriptionId as VariableByteInteger, invalid => Error::SubscriptionIdZero;
    /// Session Expiry Interval, in seconds.
    0x11 SessionExpiryInterval: u32 as FourByteInteger;
    /// Assigned Client Identifier.
    0x12 AssignedClientIdentifier: ByteStr as Utf8String;
    /// Server Keep Alive, in seconds.
    0x13 ServerKeepAlive: u16 as TwoByteInteger;
    /// Authentication Method: the name of the extended authentication method.
    0x15 AuthenticationMethod: ByteStr as Utf8String;
    /// Authentication Data of that method.
    0x16 AuthenticationData: Bytes as BinaryData;
    /// Request Problem Information (0 or 1).
    0x17 RequestProblemInformation: bool as Byte;
    /// Will Delay Interval, in seconds.
    0x18 WillDelayInterval: u32 as FourByteInteger;
    /// Request Response Information (0 or 1).
    0x19 RequestResponseInformation: bool as Byte;
    /// Response Information: the basis for response topics.
    0x1A ResponseInformation: ByteStr as Utf8String;
    /// Server Reference: another server to use.
    0x1C ServerReference: ByteStr as Utf8String;
    /// Reason String: a human-readable diagnostic.
    0x1F ReasonString: ByteStr as Utf8String;
    /// Receive Maximum (never 0).
    0x21 ReceiveMaximum: NonZeroU16 as TwoByteInteger;
    /// Topic Alias Maximum.
    0x22 TopicAliasMaximum: u16 as TwoByteInteger;
    /// Topic Alias (never 0).
    0x23 TopicAlias: NonZeroU16 as TwoByteInteger, invalid => Error::TopicAliasZero;
    /// Maximum QoS (0 or 1; absent means 2).
    0x24 MaximumQoS: QoS as Byte;
    /// Retain Available (0 or 1).
    0x25 RetainAvailable: bool as Byte;
    /// User Property: a name/value pair; may repeat.
    0x26 UserProperty: UserProperty as Utf8StringPair;
    /// Maximum Packet Size (never 0).
    0x27 MaximumPacketSize: NonZeroU32 as FourByteInteger;
    /// Wildcard Subscription Available (0 or 1).
    0x28 WildcardSubscriptionAvailable: bool as Byte;
    /// Subscription Identifiers Available (0 or 1).
    0x29 SubscriptionIdentifierAvailable: bool as Byte;
    /// Shared Subscription Available (0 or 1).
    0x2A SharedSubscriptionAvailable: bool as Byte;
}
