//! One module per codec under test. Each builds its own packet value for a [`Case`](hpmq_bench::Case) from the
//! shared field values, prepares a decode input from the shared wire bytes, and calls the codec's public
//! decode and encode entry points.
//!
//! Included with `#[path]` by `benches/peers.rs` and by the tests, because the peers are dev-dependencies and
//! so cannot be used from the library.
//!
//! This is measurement harness, not library code: a case any codec cannot build, decode or encode is a broken
//! benchmark, so it stops with a message instead of returning errors.
#![allow(clippy::expect_used, clippy::panic)]

pub mod hpmq;
pub mod ntex;
pub mod rmqtt;
pub mod rumqttc;

/// Largest packet every codec is configured to accept: above the 64 KiB case, far below any limit.
pub const MAX_PACKET_SIZE: u32 = 1024 * 1024;

/// The PASSWORD constant as `&str`, for codecs that model the password as a string.
pub fn password_str() -> &'static str {
    std::str::from_utf8(hpmq_bench::PASSWORD).expect("the bench password is ASCII")
}
