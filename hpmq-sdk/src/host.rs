//! Host services: logging, per-function key-value state and the clock.
//!
//! Inside the broker these are waPC host calls. Built natively (for unit tests of your functions) they run
//! against a thread-local in-memory store, standard error and the system clock, so a function that uses
//! them can be tested with plain `cargo test`.

use crate::LogLevel;

/// Logs `text` through the broker's `tracing` at `level`, tagged with the module and function name.
pub fn log(level: LogLevel, text: &str) {
    imp::log(level, text);
}

/// Reads the value this function stored under `key`, if any.
///
/// State belongs to one function (by name) and survives calls, instance replacement and hot reloads; the
/// host bounds its size (too many or too large entries make `kv_set` fail).
pub fn kv_get(key: &[u8]) -> anyhow::Result<Option<Vec<u8>>> {
    imp::kv_get(key)
}

/// Stores `value` under `key` for this function.
pub fn kv_set(key: &[u8], value: &[u8]) -> anyhow::Result<()> {
    imp::kv_set(key, value)
}

/// Removes `key` from this function's state.
pub fn kv_delete(key: &[u8]) -> anyhow::Result<()> {
    imp::kv_delete(key)
}

/// Milliseconds since the Unix epoch, read from the host's clock (guests have no clock of their own).
pub fn now_millis() -> anyhow::Result<u64> {
    imp::now_millis()
}

#[cfg(target_arch = "wasm32")]
mod imp {
    use hpmq_abi::{
        HOST_BINDING, KV_NAMESPACE, LOG_NAMESPACE, LogLevel, OP_KV_DELETE, OP_KV_GET, OP_KV_SET, OP_TIME_NOW,
        TIME_NAMESPACE, encode_kv_set,
    };

    fn call(ns: &str, op: &str, payload: &[u8]) -> anyhow::Result<Vec<u8>> {
        wapc_guest::host_call(HOST_BINDING, ns, op, payload)
            .map_err(|e| anyhow::anyhow!("host call {ns}/{op} failed: {e}"))
    }

    pub(super) fn log(level: LogLevel, text: &str) {
        // Logging must not fail a function; a refused log line is dropped.
        let _ = call(LOG_NAMESPACE, level.as_str(), text.as_bytes());
    }

    pub(super) fn kv_get(key: &[u8]) -> anyhow::Result<Option<Vec<u8>>> {
        let mut out = call(KV_NAMESPACE, OP_KV_GET, key)?;
        match out.first() {
            Some(1) => {
                out.remove(0);
                Ok(Some(out))
            }
            Some(0) => Ok(None),
            _ => Err(anyhow::anyhow!("malformed kv/get response from host")),
        }
    }

    pub(super) fn kv_set(key: &[u8], value: &[u8]) -> anyhow::Result<()> {
        let mut buf = Vec::with_capacity(key.len() + value.len() + 10);
        encode_kv_set(key, value, &mut buf);
        call(KV_NAMESPACE, OP_KV_SET, &buf).map(drop)
    }

    pub(super) fn kv_delete(key: &[u8]) -> anyhow::Result<()> {
        call(KV_NAMESPACE, OP_KV_DELETE, key).map(drop)
    }

    pub(super) fn now_millis() -> anyhow::Result<u64> {
        let out = call(TIME_NAMESPACE, OP_TIME_NOW, &[])?;
        let bytes: [u8; 8] = out
            .as_slice()
            .try_into()
            .map_err(|_| anyhow::anyhow!("malformed time/now response from host"))?;
        Ok(u64::from_le_bytes(bytes))
    }
}

#[cfg(not(target_arch = "wasm32"))]
mod imp {
    use std::cell::RefCell;
    use std::collections::HashMap;
    use std::time::{SystemTime, UNIX_EPOCH};

    use hpmq_abi::LogLevel;

    thread_local! {
        static KV: RefCell<HashMap<Vec<u8>, Vec<u8>>> = RefCell::new(HashMap::new());
    }

    pub(super) fn log(level: LogLevel, text: &str) {
        eprintln!("[{}] {text}", level.as_str());
    }

    pub(super) fn kv_get(key: &[u8]) -> anyhow::Result<Option<Vec<u8>>> {
        Ok(KV.with(|kv| kv.borrow().get(key).cloned()))
    }

    pub(super) fn kv_set(key: &[u8], value: &[u8]) -> anyhow::Result<()> {
        KV.with(|kv| kv.borrow_mut().insert(key.to_vec(), value.to_vec()));
        Ok(())
    }

    pub(super) fn kv_delete(key: &[u8]) -> anyhow::Result<()> {
        KV.with(|kv| kv.borrow_mut().remove(key));
        Ok(())
    }

    pub(super) fn now_millis() -> anyhow::Result<u64> {
        let d = SystemTime::now().duration_since(UNIX_EPOCH)?;
        Ok(u64::try_from(d.as_millis())?)
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;

    #[test]
    fn native_state_round_trips() {
        assert_eq!(kv_get(b"k").unwrap(), None);
        kv_set(b"k", b"v").unwrap();
        assert_eq!(kv_get(b"k").unwrap(), Some(b"v".to_vec()));
        kv_delete(b"k").unwrap();
        assert_eq!(kv_get(b"k").unwrap(), None);
        assert!(now_millis().unwrap() > 1_600_000_000_000);
    }
}
