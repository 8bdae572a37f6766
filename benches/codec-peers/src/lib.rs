//! Inputs for the `mqtt-codec` peer benchmarks (`benches/peers.rs`): the packets every codec is measured on, as
//! field values and as wire bytes.
//!
//! The wire bytes are written here by hand, straight from the specification's layouts, so no codec under test
//! produces its own input. `tests/same_input.rs` checks that every codec decodes them to the same fields and
//! encodes its own packet value to the same length.
//!
//! ```
//! use hpmq_bench::{Case, Version, frame};
//! let bytes = frame(Case::PublishQos1, Version::V311);
//! assert_eq!(bytes[0], 0x32); // PUBLISH, QoS 1
//! assert_eq!(bytes.len(), 2 + 2 + 16 + 2 + 64);
//! ```

mod cases;
mod wire;

pub use cases::{
    CLIENT_ID, CONNECT_MAX_PACKET_SIZE, CONNECT_RECEIVE_MAX, CONNECT_SESSION_EXPIRY, CONNECT_TOPIC_ALIAS_MAX,
    CONTENT_TYPE, CORRELATION_DATA, Case, FILTERS, KEEP_ALIVE, LARGE_PAYLOAD_LEN, MATRIX, MESSAGE_EXPIRY, PACKET_ID,
    PASSWORD, RESPONSE_TOPIC, SUBSCRIBE_PACKET_ID, TOPIC, USER_PROPERTIES, USERNAME, Version, filter_qos, payload,
};
pub use wire::frame;

use bytes::BytesMut;

/// Spare capacity behind the frame in every decode input, as a connection's read buffer has: codecs that
/// `reserve` room for the next fixed header after a frame (rmqtt and ntex reserve 2 to 5 bytes) then do not
/// reallocate, exactly as in a long-lived buffer.
pub const READ_BUFFER_SPARE: usize = 64;

/// A decode input as a long-lived connection buffer looks after its first frame: `frame` followed by
/// [`READ_BUFFER_SPARE`] bytes of capacity, in storage that `bytes` has already promoted from a plain `Vec` to
/// shared (reference-counted) storage.
///
/// The first `split_to` on a fresh `Vec`-backed `BytesMut` allocates the shared header once per buffer; doing
/// that here, outside the timed region, measures what each further packet costs. Every `bytes`-based codec
/// (ours, rumqttc, rmqtt) gets the same buffer.
pub fn shared_buffer(frame: &[u8]) -> BytesMut {
    let mut buf = BytesMut::with_capacity(frame.len() + READ_BUFFER_SPARE);
    buf.extend_from_slice(frame);
    drop(buf.split_to(0));
    buf
}
