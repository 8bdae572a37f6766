//! The codec's one error type. Every variant names the v5 reason code it maps to and, where the specification
//! has one, the normative statement it enforces (statement ids are those of the MQTT 5.0 specification unless
//! the message says 3.1.1).

use crate::{PacketType, PropertyId, ProtocolVersion, ReasonCode};

/// Why a packet, string, topic or filter was rejected, or why a packet could not be encoded.
///
/// Use [`Error::reason_code`] to answer a v5 peer and [`Error::spec_ref`] to log which rule was broken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A string is not well-formed UTF-8 (this includes encoded surrogates).
    #[error("string is not well-formed UTF-8 [MQTT-1.5.4-1]")]
    InvalidUtf8,
    /// A string contains U+0000.
    #[error("string contains U+0000 [MQTT-1.5.4-2]")]
    NullCharacter,
    /// A string is longer than its two-byte length prefix can express.
    #[error("string of {len} bytes exceeds 65535")]
    StringTooLong {
        /// The length that was attempted.
        len: usize,
    },
    /// A topic name is empty.
    #[error("topic name is empty [MQTT-4.7.3-1]")]
    EmptyTopic,
    /// A topic name contains `+` or `#`.
    #[error("topic name contains a wildcard [MQTT-3.3.2-2]")]
    WildcardInTopicName,
    /// A topic filter is empty.
    #[error("topic filter is empty [MQTT-4.7.3-1]")]
    EmptyTopicFilter,
    /// `#` is not alone in the last level of a filter.
    #[error("'#' must be a whole level and the last one [MQTT-4.7.1-1]")]
    InvalidMultiLevelWildcard,
    /// `+` is not alone in its level.
    #[error("'+' must occupy a whole level [MQTT-4.7.1-2]")]
    InvalidSingleLevelWildcard,
    /// The share name of `$share/{name}/{filter}` is empty or contains `+` or `#`.
    #[error("share name is empty or contains a wildcard [MQTT-4.8.2-2]")]
    InvalidShareName,
    /// `$share/{name}` is not followed by `/` and a non-empty filter.
    #[error("shared subscription lacks a topic filter [MQTT-4.8.2-1]")]
    InvalidSharedFilter,
    /// A QoS field holds 3.
    #[error("QoS 3 is not a valid QoS [MQTT-3.3.1-4]")]
    InvalidQoS,
    /// Reserved bits of a SUBSCRIBE options byte are set.
    #[error("reserved bits of subscription options are set [MQTT-3.8.3-5]")]
    ReservedSubscriptionOptionBits,
    /// Retain Handling holds 3.
    #[error("retain handling 3 is not valid [MQTT-3.8.3-5]")]
    InvalidRetainHandling,

    // ---- framing ----
    /// A variable byte integer (such as the remaining length) has a continuation bit in its fourth byte.
    #[error("variable byte integer longer than 4 bytes [MQTT-1.5.5-1]")]
    VariableIntTooLong,
    /// A variable byte integer uses more bytes than its value needs.
    #[error("variable byte integer is not minimally encoded [MQTT-1.5.5-1]")]
    NonMinimalVariableInt,
    /// The fixed header announces a packet larger than the maximum packet size in force.
    #[error("packet of {size} bytes exceeds the maximum packet size of {max} bytes")]
    PacketTooLarge {
        /// Total size of the packet in bytes, fixed header included.
        size: usize,
        /// The limit in force.
        max: usize,
    },
    /// Packet type 0, or type 15 (AUTH) in MQTT 3.1.1 where it is reserved.
    #[error("reserved packet type {packet_type} for {version}")]
    ReservedPacketType {
        /// The four-bit packet type.
        packet_type: u8,
        /// The protocol version in force.
        version: ProtocolVersion,
    },
    /// The low four bits of the first byte do not hold the value the packet type requires.
    #[error("invalid fixed header flags {flags:#06b} for {packet} [MQTT-2.1.3-1]")]
    InvalidHeaderFlags {
        /// The packet whose flags were wrong.
        packet: PacketType,
        /// The flags received.
        flags: u8,
    },
    /// A field runs past the end of the packet (or of its property block).
    #[error("{packet} is truncated")]
    Truncated {
        /// The packet being decoded.
        packet: PacketType,
    },
    /// Bytes are left over after the last field of a packet that has no payload (or after a property block).
    #[error("{packet} has {len} unexpected trailing bytes")]
    TrailingBytes {
        /// The packet being decoded.
        packet: PacketType,
        /// How many bytes were left.
        len: usize,
    },
    /// A frame given to `decode_frame` is not exactly one packet long.
    #[error("frame length {frame} does not match the fixed header's {expected}")]
    FrameLengthMismatch {
        /// Length of the frame given.
        frame: usize,
        /// Length the fixed header announced (for a frame too short to hold a fixed header: its length + 1).
        expected: usize,
    },

    // ---- packet identifiers and QoS ----
    /// A packet identifier of 0 where one is required.
    #[error("packet identifier 0 in {packet} [MQTT-2.2.1-3]")]
    PacketIdZero {
        /// The packet that carried it.
        packet: PacketType,
    },
    /// DUP is set on a QoS 0 PUBLISH.
    #[error("DUP flag set on a QoS 0 PUBLISH [MQTT-3.3.1-2]")]
    DupOnQoS0,
    /// Encoding a QoS 1 or 2 PUBLISH that has no packet identifier.
    #[error("QoS {qos} PUBLISH needs a packet identifier [MQTT-2.2.1-2]")]
    MissingPacketId {
        /// The QoS of the PUBLISH.
        qos: u8,
    },
    /// Encoding a QoS 0 PUBLISH that carries a packet identifier.
    #[error("QoS 0 PUBLISH must not carry a packet identifier [MQTT-2.2.1-2]")]
    UnexpectedPacketId,

    // ---- CONNECT / CONNACK ----
    /// The CONNECT protocol name is not `MQTT` (nor the 3.1 name `MQIsdp`).
    #[error("protocol name is not \"MQTT\" [MQTT-3.1.2-1]")]
    InvalidProtocolName,
    /// The CONNECT protocol level is not 4 (3.1.1) or 5 (5.0). MQTT 3.1 (`MQIsdp`, level 3) is reported here too.
    #[error("unsupported protocol level {level} [MQTT-3.1.2-2]")]
    UnsupportedProtocolVersion {
        /// The level received.
        level: u8,
    },
    /// Bit 0 of the CONNECT flags is set.
    #[error("reserved CONNECT flag bit 0 is set [MQTT-3.1.2-3]")]
    ReservedConnectFlag,
    /// Will QoS is not 0 while the Will Flag is 0.
    #[error("will QoS set without a will [MQTT-3.1.2-11]")]
    WillQoSWithoutWill,
    /// Will QoS is 3.
    #[error("will QoS 3 is not a valid QoS [MQTT-3.1.2-12]")]
    InvalidWillQoS,
    /// Authentication Data without an Authentication Method (spec 3.1.2.11.10).
    #[error("authentication data without an authentication method")]
    AuthenticationDataWithoutMethod,
    /// Will Retain is set while the Will Flag is 0.
    #[error("will retain set without a will [MQTT-3.1.2-13]")]
    WillRetainWithoutWill,
    /// MQTT 3.1.1: the Password Flag is set but the User Name Flag is not.
    #[error("password without user name in MQTT 3.1.1 [MQTT-3.1.2-22 of 3.1.1]")]
    PasswordWithoutUsername,
    /// Reserved bits of the CONNACK acknowledge flags are set.
    #[error("reserved CONNACK flags are set [MQTT-3.2.2-1]")]
    ReservedConnAckFlags,
    /// Session Present is set on a CONNACK that refuses the connection.
    #[error("session present set on a refused CONNACK [MQTT-3.2.2-6]")]
    SessionPresentOnRefusal,
    /// A 3.1.1 CONNACK return code above 5.
    #[error("invalid MQTT 3.1.1 CONNACK return code {code}")]
    InvalidConnectReturnCode {
        /// The byte received.
        code: u8,
    },

    // ---- reason codes and properties ----
    /// A reason code byte that is not allowed in this packet (or no reason code at all).
    #[error("reason code {code:#04x} is not allowed in {packet}")]
    ReasonCodeNotAllowed {
        /// The packet.
        packet: PacketType,
        /// The byte received or given.
        code: u8,
    },
    /// A property identifier that MQTT 5.0 does not define.
    #[error("unknown property identifier {id:#04x}")]
    UnknownProperty {
        /// The identifier received.
        id: u32,
    },
    /// A property that is defined but not allowed in this packet.
    #[error("property {property:?} is not allowed in {packet}")]
    PropertyNotAllowed {
        /// The property.
        property: PropertyId,
        /// The packet.
        packet: PacketType,
    },
    /// A property that may appear only once appears twice.
    #[error("property {property:?} appears more than once")]
    DuplicateProperty {
        /// The property.
        property: PropertyId,
    },
    /// A property value outside its allowed range (a boolean byte other than 0/1, Receive Maximum 0, ...).
    #[error("invalid value for property {property:?}")]
    InvalidPropertyValue {
        /// The property.
        property: PropertyId,
    },
    /// A Topic Alias of 0.
    #[error("topic alias 0 is not permitted [MQTT-3.3.2-8]")]
    TopicAliasZero,
    /// A Subscription Identifier of 0.
    #[error("subscription identifier 0 is a protocol error (spec 3.8.2.1.2)")]
    SubscriptionIdZero,
    /// Binary data (password, payload of a will, correlation or authentication data) longer than 65,535 bytes.
    #[error("binary data of {len} bytes exceeds 65535")]
    BinaryTooLong {
        /// The length that was attempted.
        len: usize,
    },

    // ---- SUBSCRIBE / UNSUBSCRIBE ----
    /// A SUBSCRIBE without any topic filter.
    #[error("SUBSCRIBE without topic filters [MQTT-3.8.3-2]")]
    EmptySubscribe,
    /// An UNSUBSCRIBE without any topic filter.
    #[error("UNSUBSCRIBE without topic filters [MQTT-3.10.3-2]")]
    EmptyUnsubscribe,
    /// A SUBACK (or v5 UNSUBACK) without any reason code.
    #[error("{packet} without reason codes")]
    EmptyAck {
        /// The packet.
        packet: PacketType,
    },
    /// No Local set on a shared subscription.
    #[error("no local set on a shared subscription [MQTT-3.8.3-4]")]
    NoLocalOnSharedSubscription,

    // ---- versions and streams ----
    /// A packet or field that cannot be represented in the protocol version being encoded.
    #[error("{what} cannot be encoded in {version}")]
    NotInVersion {
        /// What could not be encoded.
        what: &'static str,
        /// The version being encoded.
        version: ProtocolVersion,
    },
    /// The first packet a server receives is not CONNECT.
    #[error("first packet is {packet}, not CONNECT [MQTT-3.1.0-1]")]
    FirstPacketNotConnect {
        /// The packet received.
        packet: PacketType,
    },
    /// A second CONNECT on the same connection.
    #[error("second CONNECT on one connection [MQTT-3.1.0-2]")]
    SecondConnect,
    /// A server-side codec was asked to encode before it learned the protocol version from CONNECT.
    #[error("protocol version not yet known: no CONNECT decoded")]
    VersionUnknown,
    /// A client-side codec was asked to send a CONNECT of another protocol version than its own.
    #[error("CONNECT for {connect} on a codec speaking {codec}")]
    ConnectVersionMismatch {
        /// The version in the CONNECT.
        connect: ProtocolVersion,
        /// The codec's version.
        codec: ProtocolVersion,
    },
    /// An I/O error from the transport under a tokio-util `Framed`.
    #[error("I/O error ({kind:?}): {message}")]
    Io {
        /// The kind of the I/O error.
        kind: std::io::ErrorKind,
        /// Its message.
        message: String,
    },
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error::Io {
            kind: e.kind(),
            message: e.to_string(),
        }
    }
}

impl Error {
    /// The v5 reason code a server or client sends when this error ends a packet or a connection.
    pub fn reason_code(&self) -> ReasonCode {
        match self {
            Error::EmptyTopic | Error::WildcardInTopicName => ReasonCode::TopicNameInvalid,
            Error::EmptyTopicFilter
            | Error::InvalidMultiLevelWildcard
            | Error::InvalidSingleLevelWildcard
            | Error::InvalidShareName
            | Error::InvalidSharedFilter => ReasonCode::TopicFilterInvalid,
            Error::PacketTooLarge { .. } => ReasonCode::PacketTooLarge,
            Error::UnsupportedProtocolVersion { .. } => ReasonCode::UnsupportedProtocolVersion,
            Error::TopicAliasZero => ReasonCode::TopicAliasInvalid,
            Error::DuplicateProperty { .. }
            | Error::InvalidPropertyValue { .. }
            | Error::SubscriptionIdZero
            | Error::NoLocalOnSharedSubscription
            | Error::FirstPacketNotConnect { .. }
            | Error::SecondConnect
            | Error::InvalidProtocolName
            | Error::AuthenticationDataWithoutMethod
            | Error::ReservedConnectFlag
            | Error::SessionPresentOnRefusal
            | Error::PacketIdZero { .. }
            | Error::EmptySubscribe
            | Error::EmptyUnsubscribe
            | Error::EmptyAck { .. } => ReasonCode::ProtocolError,
            Error::NotInVersion { .. }
            | Error::VersionUnknown
            | Error::ConnectVersionMismatch { .. }
            | Error::MissingPacketId { .. }
            | Error::UnexpectedPacketId
            | Error::BinaryTooLong { .. } => ReasonCode::ImplementationSpecificError,
            Error::Io { .. } => ReasonCode::UnspecifiedError,
            Error::InvalidUtf8
            | Error::NullCharacter
            | Error::StringTooLong { .. }
            | Error::InvalidQoS
            | Error::ReservedSubscriptionOptionBits
            | Error::InvalidRetainHandling
            | Error::VariableIntTooLong
            | Error::NonMinimalVariableInt
            | Error::ReservedPacketType { .. }
            | Error::InvalidHeaderFlags { .. }
            | Error::Truncated { .. }
            | Error::TrailingBytes { .. }
            | Error::FrameLengthMismatch { .. }
            | Error::DupOnQoS0
            | Error::WillQoSWithoutWill
            | Error::InvalidWillQoS
            | Error::WillRetainWithoutWill
            | Error::PasswordWithoutUsername
            | Error::ReservedConnAckFlags
            | Error::InvalidConnectReturnCode { .. }
            | Error::ReasonCodeNotAllowed { .. }
            | Error::UnknownProperty { .. }
            | Error::PropertyNotAllowed { .. } => ReasonCode::MalformedPacket,
        }
    }

    /// The normative statement of the MQTT v5 specification this error enforces, if there is one
    /// ([`Error::PasswordWithoutUsername`] names the 3.1.1 statement, as v5 allows a password alone).
    pub fn spec_ref(&self) -> Option<&'static str> {
        Some(match self {
            Error::InvalidUtf8 => "MQTT-1.5.4-1",
            Error::NullCharacter => "MQTT-1.5.4-2",
            Error::EmptyTopic | Error::EmptyTopicFilter => "MQTT-4.7.3-1",
            Error::WildcardInTopicName => "MQTT-3.3.2-2",
            Error::InvalidMultiLevelWildcard => "MQTT-4.7.1-1",
            Error::InvalidSingleLevelWildcard => "MQTT-4.7.1-2",
            Error::InvalidShareName => "MQTT-4.8.2-2",
            Error::InvalidSharedFilter => "MQTT-4.8.2-1",
            Error::InvalidQoS => "MQTT-3.3.1-4",
            Error::ReservedSubscriptionOptionBits | Error::InvalidRetainHandling => "MQTT-3.8.3-5",
            Error::VariableIntTooLong | Error::NonMinimalVariableInt => "MQTT-1.5.5-1",
            Error::InvalidHeaderFlags { .. } => "MQTT-2.1.3-1",
            Error::PacketIdZero { .. } => "MQTT-2.2.1-3",
            Error::DupOnQoS0 => "MQTT-3.3.1-2",
            Error::MissingPacketId { .. } | Error::UnexpectedPacketId => "MQTT-2.2.1-2",
            Error::InvalidProtocolName => "MQTT-3.1.2-1",
            Error::UnsupportedProtocolVersion { .. } => "MQTT-3.1.2-2",
            Error::ReservedConnectFlag => "MQTT-3.1.2-3",
            Error::WillQoSWithoutWill => "MQTT-3.1.2-11",
            Error::InvalidWillQoS => "MQTT-3.1.2-12",
            Error::WillRetainWithoutWill => "MQTT-3.1.2-13",
            Error::PasswordWithoutUsername => "MQTT-3.1.2-22",
            Error::ReservedConnAckFlags => "MQTT-3.2.2-1",
            Error::SessionPresentOnRefusal => "MQTT-3.2.2-6",
            Error::TopicAliasZero => "MQTT-3.3.2-8",
            Error::EmptySubscribe => "MQTT-3.8.3-2",
            Error::EmptyUnsubscribe => "MQTT-3.10.3-2",
            Error::NoLocalOnSharedSubscription => "MQTT-3.8.3-4",
            Error::FirstPacketNotConnect { .. } => "MQTT-3.1.0-1",
            Error::SecondConnect => "MQTT-3.1.0-2",
            Error::ReasonCodeNotAllowed { packet, .. } => return crate::reason_codes::statement(*packet),
            _ => return None,
        })
    }
}
