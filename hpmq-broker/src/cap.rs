//! The connection cap: `[limits] max_connections` open connections at most.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Counts the open connections against the cap.
#[derive(Debug)]
pub(crate) struct Connections {
    open: AtomicU64,
    max: u64,
}

impl Connections {
    /// No connection open yet; at most `max` at once.
    pub fn new(max: usize) -> Arc<Self> {
        Arc::new(Connections {
            open: AtomicU64::new(0),
            max: max as u64,
        })
    }

    /// Counts a new connection; `None` when the cap is reached.
    pub fn acquire(self: &Arc<Self>) -> Option<ConnectionGuard> {
        let previous = self.open.fetch_add(1, Ordering::AcqRel);
        if previous >= self.max {
            self.open.fetch_sub(1, Ordering::AcqRel);
            return None;
        }
        Some(ConnectionGuard(Arc::clone(self)))
    }
}

/// Counts an open connection towards `[limits] max_connections` until dropped.
pub(crate) struct ConnectionGuard(Arc<Connections>);

impl Drop for ConnectionGuard {
    fn drop(&mut self) {
        self.0.open.fetch_sub(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_refuses_past_max_and_a_dropped_guard_frees_its_place() {
        let connections = Connections::new(2);
        let first = connections.acquire();
        let second = connections.acquire();
        assert!(first.is_some() && second.is_some());
        assert!(connections.acquire().is_none());
        drop(first);
        assert!(connections.acquire().is_some());
    }
}
