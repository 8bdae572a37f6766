//! Names and payloads of the host calls a guest may make (waPC `__host_call`).
//!
//! Every hpmq host call uses the binding [`HOST_BINDING`]; the namespace picks the service and the operation
//! the action. Log calls carry the UTF-8 text as payload with the level as operation; key-value calls carry
//! the key (get, delete) or [`encode_kv_set`] (set); `time/now` returns milliseconds since the Unix epoch
//! as 8 little-endian bytes.

use crate::DecodeError;
use crate::reader::{Reader, put_bytes};

/// The waPC binding name of every hpmq host call.
pub const HOST_BINDING: &str = "hpmq";
/// Namespace of the logging calls; the operation is a [`LogLevel`] name.
pub const LOG_NAMESPACE: &str = "log";
/// Namespace of the per-function key-value state.
pub const KV_NAMESPACE: &str = "kv";
/// Namespace of the clock.
pub const TIME_NAMESPACE: &str = "time";
/// `kv/get`: payload is the key; the response is empty with an error if absent, else the value.
pub const OP_KV_GET: &str = "get";
/// `kv/set`: payload is [`encode_kv_set`].
pub const OP_KV_SET: &str = "set";
/// `kv/delete`: payload is the key.
pub const OP_KV_DELETE: &str = "delete";
/// `time/now`: empty payload; the response is milliseconds since the Unix epoch, `u64` little-endian.
pub const OP_TIME_NOW: &str = "now";

/// Severity of a guest log line; mapped to the `tracing` level of the same name on the host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogLevel {
    /// `tracing::Level::ERROR`
    Error,
    /// `tracing::Level::WARN`
    Warn,
    /// `tracing::Level::INFO`
    Info,
    /// `tracing::Level::DEBUG`
    Debug,
    /// `tracing::Level::TRACE`
    Trace,
}

impl LogLevel {
    /// The operation name used for this level.
    pub fn as_str(self) -> &'static str {
        match self {
            LogLevel::Error => "error",
            LogLevel::Warn => "warn",
            LogLevel::Info => "info",
            LogLevel::Debug => "debug",
            LogLevel::Trace => "trace",
        }
    }

    /// Parses an operation name.
    pub fn from_name(name: &[u8]) -> Option<Self> {
        Some(match name {
            b"error" => LogLevel::Error,
            b"warn" => LogLevel::Warn,
            b"info" => LogLevel::Info,
            b"debug" => LogLevel::Debug,
            b"trace" => LogLevel::Trace,
            _ => return None,
        })
    }
}

/// Encodes the payload of a `kv/set` call.
pub fn encode_kv_set(key: &[u8], value: &[u8], out: &mut Vec<u8>) {
    put_bytes(out, key);
    put_bytes(out, value);
}

/// Decodes the payload of a `kv/set` call into `(key, value)`.
pub fn decode_kv_set(buf: &[u8]) -> Result<(&[u8], &[u8]), DecodeError> {
    let mut r = Reader::new(buf);
    let key = r.bytes("kv key", usize::MAX)?;
    let value = r.bytes("kv value", usize::MAX)?;
    r.finish()?;
    Ok((key, value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kv_set_round_trips_and_rejects_garbage() {
        let mut out = Vec::new();
        encode_kv_set(b"k", b"value", &mut out);
        assert_eq!(decode_kv_set(&out), Ok((&b"k"[..], &b"value"[..])));
        assert!(decode_kv_set(&out[..3]).is_err());
    }

    #[test]
    fn log_levels_round_trip() {
        for l in [
            LogLevel::Error,
            LogLevel::Warn,
            LogLevel::Info,
            LogLevel::Debug,
            LogLevel::Trace,
        ] {
            assert_eq!(LogLevel::from_name(l.as_str().as_bytes()), Some(l));
        }
        assert_eq!(LogLevel::from_name(b"loud"), None);
    }
}
