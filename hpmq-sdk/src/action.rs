//! What a function decides about a message.

use crate::Message;

/// The result of a typed function.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Let the message continue unchanged. Costs nothing to send back, so prefer it over republishing an
    /// identical copy.
    Forward,
    /// Drop the message. A chain of functions stops here.
    Discard,
    /// Replace the message by these messages (one for a rewrite, several for a fan-out, none to drop). Each
    /// continues separately through the rest of the chain.
    Publish(Vec<Message>),
}

impl Action {
    /// Replaces the message by one message.
    pub fn publish(msg: Message) -> Self {
        Action::Publish(vec![msg])
    }
}

/// The result of a seed-style function.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HandResult {
    /// Drop the message.
    Discard,
    /// Send `(topic, payload)` on, as UTF-8 topic bytes and payload bytes. QoS, retain and user properties
    /// are kept from the incoming message.
    Transmit((Vec<u8>, Vec<u8>)),
}
