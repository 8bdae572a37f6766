//! The binary encoding spoken between the hpmq host and its waPC guests.
//!
//! Both sides compile this crate, so the layout is defined exactly once. It is deliberately small:
//! little-endian varint lengths, raw bytes, one flag byte per message. Decoding never panics and never
//! allocates more than the input justifies, because on the host the input is whatever a guest wrote.
//!
//! It also defines the few types both sides name: [`QoS`], [`Direction`], the authorize [`Verdict`] and
//! [`AuthAction`], and the client [`Context`] a host passes with each call. hpmq-sdk and hpmq-host re-export them, so a guest and its host speak of one type each.
//!
//! ```
//! use hpmq_abi::{Direction, MessageView, QoS, RequestView, Response, decode_request, encode_request};
//!
//! let mut buf = Vec::new();
//! let request = RequestView {
//!     direction: Direction::Upstream,
//!     protocol_version: 5,
//!     message: MessageView { topic: b"a/b", payload: b"21.5", qos: QoS::AtLeastOnce, retain: false, user_properties: Vec::new() },
//!     his_payload: None,
//!     client_id: b"dev-1",
//!     username: Some(b"alice"),
//!     peer_addr: None,
//! };
//! encode_request(&request, &mut buf);
//! assert_eq!(decode_request(&buf).unwrap(), request);
//!
//! let mut out = Vec::new();
//! Response::Discard.encode(&mut out);
//! assert_eq!(Response::decode(&out, &Default::default()).unwrap(), Response::Discard);
//! ```

mod authorize;
mod context;
mod direction;
mod error;
pub mod exports;
mod host_call;
mod message;
mod qos;
mod reader;
mod request;
mod response;

pub use authorize::{
    AUTHORIZE_TAG, AuthAction, AuthRequestView, NOT_AUTHORIZED, Verdict, decode_auth_request, encode_auth_request,
};
pub use context::Context;
pub use direction::Direction;
pub use error::DecodeError;
pub use host_call::{
    HOST_BINDING, KV_NAMESPACE, LOG_NAMESPACE, LogLevel, OP_KV_DELETE, OP_KV_GET, OP_KV_SET, OP_TIME_NOW,
    TIME_NAMESPACE, decode_kv_set, encode_kv_set,
};
pub use message::{MessageView, UserProperties, encode_message};
pub use qos::QoS;
pub use request::{RequestView, decode_request, encode_request};
pub use response::{DISCARD_RESPONSE, DecodeLimits, FORWARD_RESPONSE, Response};

/// The layout version written first in every request and response.
pub const VERSION: u8 = 1;
