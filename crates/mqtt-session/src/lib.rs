//! Sans-IO MQTT 3.1.1 / 5.0 session and QoS state machine, in the style of `quinn-proto` and `rustls`.
//!
//! Decoded packets, routed messages and the current time go in; packets to write, events for the broker and
//! the next deadline come out. Nothing here reads a clock, touches a socket, spawns or locks, so every scenario
//! is a deterministic test.
//!
//! ```
//! DOCTEST
//! ```

mod client;
mod config;
mod error;
mod event;
mod flow;
mod inbound;
mod message;
mod outbound;
mod server;
mod store;
mod topic_alias;

pub use client::{ClientConfig, ClientEvent, ClientSession};
pub use config::{DropReason, OverflowPolicy, ServerConfig};
pub use error::Error;
pub use event::{Accept, CloseReason, Event, RequestedSubscription, SubscribeRequest};
pub use inbound::{AckToken, InboundQos2};
pub use message::Message;
pub use outbound::InflightPublish;
pub use server::ServerSession;
pub use store::{MemoryStore, SessionSnapshot, SessionStore, Subscription};
