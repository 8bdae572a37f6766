//! Why a buffer could not be decoded.

use std::fmt;

/// A malformed request, response or host-call payload.
///
/// On the host these come from guest output, so every variant names what was wrong rather than panicking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecodeError {
    /// The buffer ended inside a field.
    Truncated {
        /// Which field was being read.
        field: &'static str,
    },
    /// The first byte is not a layout version this side understands.
    UnsupportedVersion(u8),
    /// A varint longer than 5 bytes or larger than `u32::MAX`.
    BadVarint,
    /// A direction byte other than 0 or 1.
    BadDirection(u8),
    /// A response kind byte that is not forward (0), discard (1) or publish (2).
    BadResponseKind(u8),
    /// A QoS other than 0, 1 or 2.
    BadQos(u8),
    /// Flag bits that this version does not define were set.
    BadFlags(u8),
    /// A string field that is not UTF-8.
    NotUtf8 {
        /// Which field was being read.
        field: &'static str,
    },
    /// A field or count above the configured limit.
    TooLarge {
        /// Which field was too large.
        field: &'static str,
        /// Its length or count.
        len: usize,
        /// The limit it exceeded.
        max: usize,
    },
    /// Bytes were left over after a complete value.
    TrailingBytes(usize),
    /// An authorize action byte other than publish (0) or subscribe (1).
    BadAuthAction(u8),
    /// The buffer is not an authorize request (its second byte is this instead of the authorize tag).
    NotAnAuthorizeRequest(u8),
    /// A verdict byte that is not allow (0) or deny (1).
    BadVerdict(u8),
    /// A deny carried a reason code below 0x80, which MQTT reserves for success.
    NotAFailureCode(u8),
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::Truncated { field } => write!(f, "buffer ends inside `{field}`"),
            DecodeError::UnsupportedVersion(v) => write!(f, "unsupported hpmq abi version {v}"),
            DecodeError::BadVarint => f.write_str("malformed length varint"),
            DecodeError::BadDirection(b) => write!(f, "invalid direction byte {b}"),
            DecodeError::BadResponseKind(b) => write!(f, "invalid response kind {b}"),
            DecodeError::BadQos(q) => write!(f, "invalid QoS {q}"),
            DecodeError::BadFlags(b) => write!(f, "undefined flag bits in {b:#04x}"),
            DecodeError::NotUtf8 { field } => write!(f, "`{field}` is not UTF-8"),
            DecodeError::TooLarge { field, len, max } => {
                write!(f, "`{field}` is {len}, above the limit of {max}")
            }
            DecodeError::TrailingBytes(n) => write!(f, "{n} trailing bytes after the value"),
            DecodeError::BadAuthAction(b) => write!(f, "invalid authorize action {b}"),
            DecodeError::NotAnAuthorizeRequest(b) => {
                write!(
                    f,
                    "not an authorize request (kind byte {b}); is this an authorize function?"
                )
            }
            DecodeError::BadVerdict(b) => write!(f, "invalid verdict {b}"),
            DecodeError::NotAFailureCode(c) => {
                write!(f, "deny reason code {c:#04x} is a success code; use 0x80 or above")
            }
        }
    }
}

impl std::error::Error for DecodeError {}
