//! Guest SDK for hpmq message functions.
//!
//! Write a plain Rust function, mark it [`upstream`] (device → broker publishes, before routing) or
//! [`downstream`] (broker → subscriber deliveries), build the crate for `wasm32-unknown-unknown`, and a broker
//! built with `hpmq-host` runs it on every message its binding matches. Depend on this crate under the name
//! `hpmq` (`hpmq = { package = "hpmq-sdk", ... }`): the macros refer to it by that name.
//!
//! Two signatures are accepted. The typed form sees and changes everything:
//!
//! ```
//! # extern crate hpmq_sdk as hpmq;
//! use hpmq::anyhow::Result;
//! use hpmq::{Action, Context, Message, QoS};
//!
//! /// Moves `raw/...` readings under `site/...` at QoS 1 and tags them with the sending client.
//! #[hpmq::upstream]
//! fn rewrite(msg: &Message, ctx: &Context) -> Result<Action> {
//!     let Some(rest) = msg.topic.strip_prefix("raw/") else { return Ok(Action::Forward) };
//!     let mut out = msg.clone();
//!     out.topic = format!("site/{rest}");
//!     out.qos = QoS::AtLeastOnce;
//!     out.user_properties.push(("client".into(), ctx.client_id.clone()));
//!     Ok(Action::Publish(vec![out]))
//! }
//!
//! // The function stays an ordinary Rust function, so it unit-tests natively.
//! let ctx = Context::for_test("dev-1");
//! let Action::Publish(out) = rewrite(&Message::new("raw/t", b"21.5".to_vec()), &ctx).unwrap() else { panic!() };
//! assert_eq!(out[0].topic, "site/t");
//! assert_eq!(out[0].user_properties, [("client".to_string(), "dev-1".to_string())]);
//! ```
//!
//! The seed project's form compiles unchanged:
//!
//! ```
//! # extern crate hpmq_sdk as hpmq;
//! use hpmq::anyhow::Result;
//! use hpmq::HandResult;
//! use std::collections::HashMap;
//!
//! #[hpmq::upstream]
//! fn custom_local_publish(
//!     topic: String,
//!     payload: &[u8],
//!     his_payload: Option<Vec<u8>>,
//!     _context: HashMap<String, String>,
//! ) -> Result<HandResult> {
//!     if his_payload.as_deref() == Some(payload) {
//!         return Ok(HandResult::Discard);
//!     }
//!     Ok(HandResult::Transmit((topic.into_bytes(), payload.to_vec())))
//! }
//! # assert!(matches!(custom_local_publish("a".into(), b"x", Some(b"x".to_vec()), HashMap::new()), Ok(HandResult::Discard)));
//! ```
//!
//! An [`authorize`] function decides whether a client may publish to a topic or subscribe to a filter; the
//! broker names it in its configuration and asks it after its own ACL allows. A deny carries the MQTT v5
//! reason code the client sees (0x87 Not authorized by default); an error or a trap denies too.
//!
//! ```
//! # extern crate hpmq_sdk as hpmq;
//! use hpmq::anyhow::Result;
//! use hpmq::{AuthAction, AuthRequest, Context, Verdict};
//!
//! /// Each client publishes only under `own/{client id}/` and may subscribe to anything but `$SYS`.
//! #[hpmq::authorize]
//! fn authorize(req: &AuthRequest, ctx: &Context) -> Result<Verdict> {
//!     Ok(match req.action {
//!         AuthAction::Publish => Verdict::allow_if(req.topic.starts_with(&format!("own/{}/", ctx.client_id))),
//!         AuthAction::Subscribe => Verdict::allow_if(!req.topic.starts_with("$SYS")),
//!     })
//! }
//!
//! let ctx = Context::for_test("dev-1");
//! assert_eq!(authorize(&AuthRequest::publish("own/dev-1/t"), &ctx).unwrap(), Verdict::Allow);
//! assert_eq!(authorize(&AuthRequest::publish("own/dev-2/t"), &ctx).unwrap(), Verdict::deny());
//! ```

#[doc(hidden)]
pub mod __private;
mod action;
mod authorize;
mod context;
pub mod host;
mod message;

pub use action::{Action, HandResult};
pub use authorize::AuthRequest;
pub use context::Context;
/// The boundary types guest and host share, defined once in `hpmq-abi`: the host re-exports the same ones.
pub use hpmq_abi::{AuthAction, Direction, LogLevel, QoS, Verdict};
pub use hpmq_macros::{authorize, downstream, upstream};
pub use message::Message;

/// Re-exported so `use hpmq::anyhow::Result;` works in guest code without a separate dependency.
pub use anyhow;

/// The waPC guest library the generated code uses, for authors who want to register handlers by hand.
#[cfg(target_arch = "wasm32")]
pub use wapc_guest;

/// Kept for source compatibility with the seed project; it expands to nothing, because `#[upstream]` and
/// `#[downstream]` register their functions themselves.
#[macro_export]
macro_rules! sdk_init {
    () => {};
}
