//! Fuzz-target bodies for `mqtt-codec`, shared by the cargo-fuzz binaries in `fuzz_targets/` and by the stable
//! corpus replay in `tests/replay.rs`.
//!
//! Each function takes the raw fuzzer input and panics (through `assert!`) only when the codec breaks one of
//! its promises: a panic while decoding, entry points that disagree, a decoded packet that cannot be encoded
//! again, a round trip that changes the packet, or topic/filter rules that disagree with the oracle.
//!
//! ```
//! // The `roundtrip` target on a v5 (odd first byte) PINGREQ: decodes, re-encodes, decodes again.
//! hpmq_fuzz::roundtrip(&[1, 0xC0, 0x00]);
//! ```

mod decode;
mod roundtrip;
mod topic;

pub use decode::{decode_v5, decode_v311};
pub use roundtrip::roundtrip;
pub use topic::{oracle, topic_filter};
