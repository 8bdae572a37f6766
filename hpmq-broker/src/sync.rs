//! Locking that survives a panicking thread.

use std::sync::{Mutex, MutexGuard, PoisonError};

/// Takes a lock even if a panicking thread poisoned it (the data are still consistent: every update is a
/// single call on the router, store or map).
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}
