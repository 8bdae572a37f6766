//! The wasmtime runtime inside an hpmq broker: loads waPC guest modules, binds their functions to topics,
//! runs them on every matching message within hard limits, and hot-reloads them under load.
//!
//! - [`Runtime`] — load modules (from bytes or a file), [`Runtime::bind`] functions to
//!   `(direction, topic filter)`, [`Runtime::process`] messages through the chains. It builds its own
//!   wasmtime engine, or runs on the embedder's ([`Runtime::with_engine`]; [`wasmtime`] is re-exported so
//!   the versions match).
//! - [`Limits`] / [`RuntimeConfig`] — deadline (epoch) or fuel per call, memory cap, output cap, pool sizes;
//!   readable from TOML.
//! - [`Message`] / [`Context`] — what the broker fills in for a call.
//! - [`Runtime::authorize`] — ask an `#[authorize]` function whether a client may publish or subscribe
//!   ([`AuthRequest`] → [`Verdict`]); a failed call denies.
//! - [`Error`] / [`CallFailure`] — why a load, bind or call failed.
//! - [`QoS`], [`Direction`], [`Verdict`], [`AuthAction`] — the boundary types, defined once in `hpmq-abi`
//!   and shared with the guest SDK; [`qos_to_codec`] / [`qos_from_codec`] convert to mqtt-codec's `QoS`.
//!
//! Guests are written with `hpmq-sdk`, but any waPC guest runs. They get no WASI: no filesystem, network,
//! clock or stdio; only logging, a small per-function key-value state and the time, as waPC host calls.
//!
//! ```
//! use hpmq_host::{Binding, Context, Direction, Limits, Message, Runtime};
//! use mqtt_codec::{TopicFilter, TopicName};
//!
//! // A hand-written waPC guest that discards everything (real guests are built with hpmq-sdk).
//! let wat = r#"(module
//!     (import "wapc" "__guest_request" (func $req (param i32 i32)))
//!     (import "wapc" "__guest_response" (func $resp (param i32 i32)))
//!     (memory (export "memory") 1)
//!     (data (i32.const 0) "\01\01")       ;; abi version 1, kind 1 = discard
//!     (func (export "__guest_call") (param i32 i32) (result i32)
//!         (call $req (i32.const 1024) (i32.const 2048))
//!         (call $resp (i32.const 0) (i32.const 2))
//!         (i32.const 1)))"#;
//! let wasm = wat::parse_str(wat).unwrap();
//!
//! let rt = Runtime::new(Limits::default()).unwrap();
//! rt.load_module("filters", &wasm).unwrap();
//! rt.bind(Binding::new(
//!     Direction::Upstream,
//!     TopicFilter::try_from("secret/#").unwrap(),
//!     vec!["filters::drop_all".parse().unwrap()],
//! ))
//! .unwrap();
//!
//! let ctx = Context::new("dev-1");
//! let dropped = rt.process(Direction::Upstream, Message::new(TopicName::try_from("secret/a").unwrap(), "x"), &ctx);
//! assert!(dropped.messages.is_empty() && dropped.errors.is_empty());
//! let kept = rt.process(Direction::Upstream, Message::new(TopicName::try_from("public/a").unwrap(), "x"), &ctx);
//! assert_eq!(kept.messages.len(), 1);
//! ```

mod bindings;
mod config;
mod convert;
mod engine;
mod error;
mod function_ref;
mod history;
mod message;
mod module;
mod name_hash;
mod peer_addr;
mod runtime;
mod state;
mod wapc;

pub use bindings::{Binding, BindingId};
pub use config::{BindingConfig, FailurePolicy, Limits, ModuleConfig, RuntimeConfig};
pub use convert::{qos_from_codec, qos_to_codec};
pub use engine::EngineMismatch;
pub use error::{CallFailure, Error};
pub use function_ref::FunctionRef;
pub use hpmq_abi::Context;
/// The boundary types the guest SDK uses too, defined once in `hpmq-abi`.
pub use hpmq_abi::{AuthAction, Direction, QoS, Verdict};
pub use message::Message;
pub use runtime::{AuthRequest, Authorization, Decision, ModuleInfo, Processed, Runtime};
pub use state::FunctionStats;
/// The wasmtime this crate is built on, for [`Runtime::with_engine`] and [`Runtime::engine_config`].
pub use wasmtime;
