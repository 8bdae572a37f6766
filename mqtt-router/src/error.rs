//! The router's one error type: every variant maps to the MQTT v5 reason code a server answers with and, where
//! the specification has one, the normative statement it enforces.

use mqtt_codec::ReasonCode;

/// Why a subscription or a retained message was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The filter or topic failed the codec's validation (wildcard placement, empty, bad UTF-8, ...).
    #[error(transparent)]
    Codec(#[from] mqtt_codec::Error),
    /// The filter or topic has more levels than this router accepts. Matching recurses once per level, so the
    /// depth is bounded to keep the stack small on any thread.
    #[error("{levels} topic levels exceed this router's limit of {max}")]
    TooManyLevels {
        /// Levels in the rejected filter or topic.
        levels: usize,
        /// The configured limit ([`crate::Router::with_max_levels`]).
        max: usize,
    },
    /// No Local set on a shared subscription [MQTT-3.8.3-4].
    #[error("No Local must not be set on a shared subscription [MQTT-3.8.3-4]")]
    NoLocalOnSharedSubscription,
    /// The router holds as many nodes or clients as its 32-bit indices can address.
    #[error("router capacity exhausted")]
    CapacityExhausted,
}

impl Error {
    /// The v5 reason code to answer with (in SUBACK for a subscription, or in the DISCONNECT or PUBACK that
    /// refuses a retained message).
    pub fn reason_code(&self) -> ReasonCode {
        match self {
            Error::Codec(e) => e.reason_code(),
            Error::TooManyLevels { .. } => ReasonCode::TopicFilterInvalid,
            Error::NoLocalOnSharedSubscription => ReasonCode::ProtocolError,
            Error::CapacityExhausted => ReasonCode::QuotaExceeded,
        }
    }

    /// The normative statement of the MQTT v5 specification this error enforces, if there is one.
    pub fn spec_ref(&self) -> Option<&'static str> {
        match self {
            Error::Codec(e) => e.spec_ref(),
            Error::NoLocalOnSharedSubscription => Some("MQTT-3.8.3-4"),
            Error::TooManyLevels { .. } | Error::CapacityExhausted => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reason_codes_and_spec_refs() {
        let codec = Error::from(mqtt_codec::Error::InvalidMultiLevelWildcard);
        assert_eq!(codec.reason_code(), ReasonCode::TopicFilterInvalid);
        assert_eq!(codec.spec_ref(), Some("MQTT-4.7.1-1"));
        assert_eq!(
            Error::NoLocalOnSharedSubscription.reason_code(),
            ReasonCode::ProtocolError
        );
        assert_eq!(Error::NoLocalOnSharedSubscription.spec_ref(), Some("MQTT-3.8.3-4"));
        let deep = Error::TooManyLevels { levels: 9, max: 8 };
        assert_eq!(deep.reason_code(), ReasonCode::TopicFilterInvalid);
        assert_eq!(deep.spec_ref(), None);
        assert_eq!(Error::CapacityExhausted.reason_code(), ReasonCode::QuotaExceeded);
    }
}
