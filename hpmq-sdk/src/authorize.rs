//! The authorize hook's input; its answer is [`crate::Verdict`], the type the host decodes too.

use crate::{AuthAction, QoS};

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
