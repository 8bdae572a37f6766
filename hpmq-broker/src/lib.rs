//! hpmq-broker: a complete MQTT 3.1.1/5.0 broker composed from the hpmq crates, as a library (start one
//! inside your own program, with your own [`Authorizer`]) and as the `hpmq-broker` binary.
//!
//! ```no_run
//! use hpmq_broker::{Broker, Config};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let config = Config::from_toml_str("[listener]\naddress = \"127.0.0.1:0\"")?;
//! let broker = Broker::start(config).await?;
//! println!("listening on {}", broker.local_addr());
//! broker.shutdown().await;
//! # Ok(())
//! # }
//! ```
//!
//! Deliveries and control commands cross tasks through each session's `mailbox` (its delivery capacity is the
//! per-client queue limit): a publisher never waits for a slow subscriber; a full mailbox drops the copy and
//! counts it.
//!
//! One PUBLISH from socket to socket: `session::read` (socket, codec, session) → `session::policy` (ACL and
//! authorize hook, upstream functions) → `routing` (retained store, router) → `mailbox` → the subscriber's
//! `session::run` → `session::deliver` (downstream functions) → `session::write` (codec, socket).
//!
//! The modules, bottom up: each uses only modules of its own line or of the lines above it, and none uses
//! one that comes later on its line (the module graph is a DAG).
//! - `sync`, [`config`], [`auth`], [`functions`], [`sys`], `park`: locking, settings, decisions, counters,
//!   the parking lot.
//! - `cap`, `framing`, `mailbox`: what a connection and a session task are made of.
//! - `registry`, `state`, `routing`: the client-id table, what all tasks share, routing a message.
//! - `session`: the session task.
//! - [`persistence`], `connection`, `broker`: the state file, the handshake, starting and stopping.

/// Authentication (passwords) and authorization (the ACL, or your own [`Authorizer`]).
pub mod auth;
/// Starting, reporting on, saving and stopping a broker.
mod broker;
/// The connection cap (`[limits] max_connections`).
mod cap;
/// Client ids the broker assigns: 128 random bits.
mod client_id;
/// The TOML configuration file.
pub mod config;
/// A new connection up to its CONNECT: connect timeout, connection cap, authentication, client id.
mod connection;
/// A connection's framing and its buffer sizes.
mod framing;
/// WebAssembly functions: the `#[upstream]`/`#[downstream]` chains and the `#[authorize]` hook.
pub mod functions;
/// A session's mailbox and what crosses tasks through it (control commands, deliveries, connections).
mod mailbox;
/// The parking lot: idle sessions waiting without a task, woken by their socket, deadline or mailbox.
mod park;
/// The `[persistence]` state file: sessions and retained messages across restarts.
pub mod persistence;
/// The client id -> session table.
mod registry;
/// One message to the sessions whose subscriptions match it, and into the retained store.
mod routing;
/// The task that owns one session for its whole life, connected, away or parked.
mod session;
/// What the broker's tasks share, and the router's client type.
mod state;
/// Locking that survives a panicking thread.
mod sync;
/// `$SYS` statistics: the counters and their topics.
pub mod sys;

pub use auth::{Acl, Action, Authorizer, ClientInfo};
pub use broker::{Broker, BrokerError, BrokerHandle};
pub use config::{Config, ConfigError};
pub use functions::Functions;
pub use persistence::PersistenceError;
pub use sys::Stats;

#[cfg(test)]
mod tests;
