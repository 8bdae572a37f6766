#![doc = include_str!("../README.md")]
//!
//! # Modules
//! * [`Router`] (`router.rs`): subscribe, unsubscribe, remove a client, match with [`Router::visit`] and
//!   [`Router::deliveries`].
//! * [`Deliveries`] (`deliveries.rs`): the reusable buffer of per-client deliveries.
//! * [`ShareStrategy`], the built-in strategies and the [`Available`] wrapper (`shared.rs`) for
//!   `$share/{group}/{filter}`.
//! * [`RetainedStore`] (`retained.rs`): retained messages, indexed for wildcard lookups.
//! * [`shape`] (`shaping.rs`): what one matched subscription is sent of a message (QoS, RETAIN, subscription
//!   identifiers), from a [`Delivery`], a [`Match`] or a SUBSCRIBE's options.
//! * [`sends_retained`] (`retain_handling.rs`): whether a SUBSCRIBE gets the retained messages (Retain
//!   Handling).
//! * [`Error`] (`error.rs`).
//! * `trie.rs`: the arena trie under both indexes; `level.rs`: its inline level strings.

mod deliveries;
mod error;
mod level;
mod retain_handling;
mod retained;
mod router;
mod shaping;
mod shared;
mod trie;

pub use deliveries::{Deliveries, Delivery};
pub use error::Error;
pub use retain_handling::sends_retained;
pub use retained::{Retained, RetainedPayload, RetainedStore};
pub use router::{DEFAULT_MAX_LEVELS, Match, Router, SubscribeOutcome};
pub use shaping::{Granted, Origin, Shape, shape};
pub use shared::{Available, BuiltinStrategy, HashClientId, Members, Pick, Random, RoundRobin, ShareStrategy, Sticky};

/// The "Embedding the router" example of the repository README, compiled and run as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
struct RepositoryReadme;

/// The codec types the router's API is written in, re-exported so embedders need one dependency.
pub use mqtt_codec::{
    Message, Outgoing, QoS, RetainHandling, SubscriptionId, SubscriptionOptions, TopicFilter, TopicName,
};
