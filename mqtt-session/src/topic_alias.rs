//! Outbound topic aliases: which topics this connection has already named by a number.
//!
//! The sender picks aliases (v5 section 3.3.2.3.4). Policy: the first `maximum` distinct topics sent on a
//! connection get aliases 1..=maximum in order and keep them; later topics are sent in full. Hot topics are
//! usually the first ones seen, and a fixed table never makes the peer rewrite a mapping it relies on.

use std::collections::hash_map::RandomState;
use std::num::NonZeroU16;

use mqtt_codec::{ByteStr, TopicName};

use crate::thin::ThinMap;

/// How a PUBLISH names its topic on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AliasUse {
    /// Full topic, no alias.
    None,
    /// Full topic plus a new alias the peer must remember.
    Establish(NonZeroU16),
    /// Empty topic, alias only.
    Reuse(NonZeroU16),
}

/// The aliases this side assigned on the current connection.
#[derive(Debug, Clone, Default)]
pub(crate) struct OutboundAliases {
    /// The peer's Topic Alias Maximum (0: it accepts none [MQTT-3.1.2-27]).
    maximum: u16,
    assigned: ThinMap<ByteStr, NonZeroU16, RandomState>,
}

impl OutboundAliases {
    /// A new connection: forget every alias [MQTT-3.3.2-7] and adopt the peer's maximum.
    pub(crate) fn reset(&mut self, maximum: u16) {
        self.maximum = maximum;
        self.assigned = ThinMap::default();
    }

    /// Releases spare capacity.
    pub(crate) fn shrink_to_fit(&mut self) {
        self.assigned.shrink_to_fit();
    }

    /// How `topic` should be sent, without committing a new alias.
    pub(crate) fn lookup(&self, topic: &TopicName) -> AliasUse {
        if self.maximum == 0 {
            return AliasUse::None;
        }
        if let Some(alias) = self.assigned.get(topic.as_byte_str()) {
            return AliasUse::Reuse(*alias);
        }
        // Aliases are 1..=maximum, never 0 [MQTT-3.3.2-8] and never above the maximum [MQTT-3.1.2-26].
        let next = self.assigned.len() + 1;
        match u16::try_from(next)
            .ok()
            .filter(|n| *n <= self.maximum)
            .and_then(NonZeroU16::new)
        {
            Some(alias) => AliasUse::Establish(alias),
            None => AliasUse::None,
        }
    }

    /// Records an alias established by a PUBLISH that was actually sent.
    pub(crate) fn commit(&mut self, topic: &TopicName, used: AliasUse) {
        if let AliasUse::Establish(alias) = used {
            self.assigned.insert(topic.as_byte_str().clone(), alias);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assigns_up_to_the_maximum_then_sends_full_topics() {
        let mut a = OutboundAliases::default();
        let t1 = TopicName::from_static("a");
        assert_eq!(a.lookup(&t1), AliasUse::None, "maximum 0 means no aliases");
        a.reset(1);
        let used = a.lookup(&t1);
        assert_eq!(used, AliasUse::Establish(NonZeroU16::MIN));
        a.commit(&t1, used);
        assert_eq!(a.lookup(&t1), AliasUse::Reuse(NonZeroU16::MIN));
        assert_eq!(a.lookup(&TopicName::from_static("b")), AliasUse::None);
        a.reset(1);
        assert_eq!(
            a.lookup(&t1),
            AliasUse::Establish(NonZeroU16::MIN),
            "a new connection starts over"
        );
    }
}
