//! The codec's one error type. Every variant names the v5 reason code it maps to and, where the specification
//! has one, the normative statement it enforces.

use crate::ReasonCode;

/// Why a packet, string, topic or filter was rejected.
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
}

impl Error {
    /// The v5 reason code a server or client sends when this error ends a packet or a connection.
    pub fn reason_code(&self) -> ReasonCode {
        match self {
            Error::InvalidUtf8 | Error::NullCharacter | Error::StringTooLong { .. } => ReasonCode::MalformedPacket,
            Error::EmptyTopic | Error::WildcardInTopicName => ReasonCode::TopicNameInvalid,
            Error::EmptyTopicFilter
            | Error::InvalidMultiLevelWildcard
            | Error::InvalidSingleLevelWildcard
            | Error::InvalidShareName
            | Error::InvalidSharedFilter => ReasonCode::TopicFilterInvalid,
            Error::InvalidQoS | Error::ReservedSubscriptionOptionBits | Error::InvalidRetainHandling => {
                ReasonCode::MalformedPacket
            }
        }
    }

    /// The normative statement of the MQTT v5 specification this error enforces, if there is one.
    pub fn spec_ref(&self) -> Option<&'static str> {
        Some(match self {
            Error::InvalidUtf8 => "MQTT-1.5.4-1",
            Error::NullCharacter => "MQTT-1.5.4-2",
            Error::StringTooLong { .. } => return None,
            Error::EmptyTopic | Error::EmptyTopicFilter => "MQTT-4.7.3-1",
            Error::WildcardInTopicName => "MQTT-3.3.2-2",
            Error::InvalidMultiLevelWildcard => "MQTT-4.7.1-1",
            Error::InvalidSingleLevelWildcard => "MQTT-4.7.1-2",
            Error::InvalidShareName => "MQTT-4.8.2-2",
            Error::InvalidSharedFilter => "MQTT-4.8.2-1",
            Error::InvalidQoS => "MQTT-3.3.1-4",
            Error::ReservedSubscriptionOptionBits | Error::InvalidRetainHandling => "MQTT-3.8.3-5",
        })
    }
}
