//! The authorize hook's input and answer.

use crate::QoS;
pub use hpmq_abi::AuthAction;

/// What a client asks to do; an [`authorize`](crate::authorize) function decides whether it may.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthRequest {
    /// Publish (a PUBLISH or a will message) or subscribe.
    pub action: AuthAction,
    /// The topic name of a publish, or the topic filter of a subscribe (maybe `$share/{group}/...`).
    pub topic: String,
    /// The PUBLISH's QoS, or the highest QoS the subscription asks for.
    pub qos: QoS,
    /// The PUBLISH's retain flag; always `false` for a subscribe.
    pub retain: bool,
}

impl AuthRequest {
    /// A QoS 0, non-retained publish to `topic` (for native tests).
    pub fn publish(topic: impl Into<String>) -> Self {
        AuthRequest {
            action: AuthAction::Publish,
            topic: topic.into(),
            qos: QoS::AtMostOnce,
            retain: false,
        }
    }

    /// A QoS 0 subscribe to `filter` (for native tests).
    pub fn subscribe(filter: impl Into<String>) -> Self {
        AuthRequest {
            action: AuthAction::Subscribe,
            topic: filter.into(),
            qos: QoS::AtMostOnce,
            retain: false,
        }
    }
}

/// An authorize function's decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Verdict {
    /// The client may go ahead.
    Allow,
    /// Refused. The broker answers with this MQTT v5 reason code in PUBACK/PUBREC (QoS 1/2 publish) or in
    /// SUBACK; a 3.1.1 SUBACK carries 0x80 instead, and a 3.1.1 PUBACK has no code.
    Deny {
        /// A failure code (0x80 or above) that MQTT allows in the packet answered: 0x80 Unspecified error,
        /// 0x83 Implementation specific error, 0x87 Not authorized, 0x97 Quota exceeded; for SUBACK also
        /// 0x8F Topic filter invalid, 0x9E Shared subscriptions not supported, 0xA2 Wildcard subscriptions
        /// not supported; for PUBACK/PUBREC also 0x90 Topic name invalid. Anything below 0x80 makes the call
        /// fail, which denies too.
        reason_code: u8,
    },
}

impl Verdict {
    /// Deny with 0x87 Not authorized.
    pub fn deny() -> Self {
        Verdict::Deny {
            reason_code: hpmq_abi::NOT_AUTHORIZED,
        }
    }

    /// Deny with a specific v5 reason code (see [`Verdict::Deny`]).
    pub fn deny_with(reason_code: u8) -> Self {
        Verdict::Deny { reason_code }
    }

    /// Allow when `allowed`, otherwise [`Verdict::deny`].
    pub fn allow_if(allowed: bool) -> Self {
        if allowed { Verdict::Allow } else { Verdict::deny() }
    }

    /// Whether this is [`Verdict::Allow`].
    pub fn is_allow(self) -> bool {
        self == Verdict::Allow
    }
}
