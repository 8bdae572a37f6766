//! Per-function key-value state and counters: they belong to a function name, not to an instance, so they
//! survive trapped instances and hot reloads.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::FunctionRef;

/// Why a key-value write was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum KvRefused {
    EntryTooLarge { len: usize, max: usize },
    TooManyEntries { max: usize },
}

impl std::fmt::Display for KvRefused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KvRefused::EntryTooLarge { len, max } => write!(f, "kv entry of {len} bytes exceeds {max}"),
            KvRefused::TooManyEntries { max } => write!(f, "kv state already holds {max} keys"),
        }
    }
}

/// A bounded map from byte keys to byte values.
#[derive(Debug, Default)]
pub(crate) struct Kv {
    map: HashMap<Vec<u8>, Vec<u8>>,
}

impl Kv {
    pub(crate) fn get(&self, key: &[u8]) -> Option<&[u8]> {
        self.map.get(key).map(Vec::as_slice)
    }

    pub(crate) fn set(
        &mut self,
        key: &[u8],
        value: &[u8],
        max_entries: usize,
        max_entry_bytes: usize,
    ) -> Result<(), KvRefused> {
        let len = key.len() + value.len();
        if len > max_entry_bytes {
            return Err(KvRefused::EntryTooLarge {
                len,
                max: max_entry_bytes,
            });
        }
        if let Some(v) = self.map.get_mut(key) {
            v.clear();
            v.extend_from_slice(value);
            return Ok(());
        }
        if self.map.len() >= max_entries {
            return Err(KvRefused::TooManyEntries { max: max_entries });
        }
        self.map.insert(key.to_vec(), value.to_vec());
        Ok(())
    }

    pub(crate) fn delete(&mut self, key: &[u8]) {
        self.map.remove(key);
    }
}

/// Counters of one function, readable at any time with [`crate::Runtime::stats`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FunctionStats {
    /// Calls made (successful or not).
    pub calls: u64,
    /// Calls that failed, for any reason.
    pub failures: u64,
    /// Failures that discarded the instance (traps, limits, protocol violations).
    pub discarded_instances: u64,
}

#[derive(Debug, Default)]
pub(crate) struct Counters {
    calls: AtomicU64,
    failures: AtomicU64,
    discarded: AtomicU64,
}

/// Everything the host keeps per function name.
#[derive(Debug)]
pub(crate) struct FunctionInfo {
    pub(crate) name: FunctionRef,
    pub(crate) kv: Mutex<Kv>,
    counters: Counters,
}

impl FunctionInfo {
    pub(crate) fn new(name: FunctionRef) -> Self {
        FunctionInfo {
            name,
            kv: Mutex::new(Kv::default()),
            counters: Counters::default(),
        }
    }

    pub(crate) fn record_call(&self) {
        self.counters.calls.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn record_failure(&self, discarded: bool) {
        self.counters.failures.fetch_add(1, Ordering::Relaxed);
        if discarded {
            self.counters.discarded.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub(crate) fn stats(&self) -> FunctionStats {
        FunctionStats {
            calls: self.counters.calls.load(Ordering::Relaxed),
            failures: self.counters.failures.load(Ordering::Relaxed),
            discarded_instances: self.counters.discarded.load(Ordering::Relaxed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kv_is_bounded() {
        let mut kv = Kv::default();
        kv.set(b"a", b"1", 2, 8).unwrap();
        kv.set(b"b", b"2", 2, 8).unwrap();
        assert_eq!(kv.set(b"c", b"3", 2, 8), Err(KvRefused::TooManyEntries { max: 2 }));
        kv.set(b"a", b"updated", 2, 8).unwrap();
        assert_eq!(kv.get(b"a"), Some(&b"updated"[..]));
        assert_eq!(
            kv.set(b"a", b"too long!", 2, 8),
            Err(KvRefused::EntryTooLarge { len: 10, max: 8 })
        );
        kv.delete(b"b");
        kv.set(b"c", b"3", 2, 8).unwrap();
        assert_eq!(kv.get(b"b"), None);
    }
}
