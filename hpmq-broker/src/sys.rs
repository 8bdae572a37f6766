//! Broker statistics and their `$SYS/broker/...` topics.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Counters updated by every connection (relaxed atomics: they are statistics, not synchronisation).
#[derive(Debug, Default)]
pub struct Stats {
    /// Clients with an open connection.
    pub clients_connected: AtomicU64,
    /// PUBLISH packets received from clients.
    pub messages_received: AtomicU64,
    /// PUBLISH packets sent to clients.
    pub messages_sent: AtomicU64,
    /// Bytes of packets received.
    pub bytes_received: AtomicU64,
    /// Bytes of packets sent.
    pub bytes_sent: AtomicU64,
    /// Messages dropped: a client's queue full, expired, a publish refused by the ACL or the authorize
    /// function, a shared-subscription copy with no member left. Messages a message function discards are
    /// counted apart, in [`SysSnapshot::messages_discarded`].
    pub messages_dropped: AtomicU64,
}

/// The values published in one `$SYS` update.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SysSnapshot {
    /// Time since start.
    pub uptime: Duration,
    /// Clients with an open connection.
    pub clients_connected: u64,
    /// Sessions, connected or not.
    pub sessions: u64,
    /// Sessions waiting in the parking lot (idle for `[limits] park_after_ms`, without a task).
    pub sessions_parked: u64,
    /// PUBLISH packets received.
    pub messages_received: u64,
    /// PUBLISH packets sent.
    pub messages_sent: u64,
    /// Messages dropped ([`Stats::messages_dropped`]).
    pub messages_dropped: u64,
    /// Messages an upstream or downstream function discarded (or a failed call dropped under
    /// `on_error = "drop"`), counted by [`crate::Functions::discarded`]; 0 without functions.
    pub messages_discarded: u64,
    /// Bytes received.
    pub bytes_received: u64,
    /// Bytes sent.
    pub bytes_sent: u64,
    /// Retained messages stored.
    pub retained: u64,
    /// Subscriptions in the router.
    pub subscriptions: u64,
}

impl Stats {
    /// Adds `n` to a counter.
    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    /// Reads the counters into a snapshot; the caller fills in the fields that live elsewhere
    /// (`sessions_parked`, `messages_discarded`).
    pub fn snapshot(&self, uptime: Duration, sessions: u64, retained: u64, subscriptions: u64) -> SysSnapshot {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        SysSnapshot {
            uptime,
            clients_connected: get(&self.clients_connected),
            sessions,
            sessions_parked: 0,
            messages_received: get(&self.messages_received),
            messages_sent: get(&self.messages_sent),
            messages_dropped: get(&self.messages_dropped),
            messages_discarded: 0,
            bytes_received: get(&self.bytes_received),
            bytes_sent: get(&self.bytes_sent),
            retained,
            subscriptions,
        }
    }
}

impl SysSnapshot {
    /// `(topic, payload)` pairs, with mosquitto's topic names where it has one.
    pub fn topics(&self) -> Vec<(&'static str, String)> {
        vec![
            (
                "$SYS/broker/version",
                format!("hpmq-broker {}", env!("CARGO_PKG_VERSION")),
            ),
            ("$SYS/broker/uptime", format!("{} seconds", self.uptime.as_secs())),
            ("$SYS/broker/clients/connected", self.clients_connected.to_string()),
            ("$SYS/broker/clients/total", self.sessions.to_string()),
            ("$SYS/broker/clients/parked", self.sessions_parked.to_string()),
            ("$SYS/broker/messages/received", self.messages_received.to_string()),
            ("$SYS/broker/messages/sent", self.messages_sent.to_string()),
            ("$SYS/broker/messages/dropped", self.messages_dropped.to_string()),
            ("$SYS/broker/messages/discarded", self.messages_discarded.to_string()),
            ("$SYS/broker/bytes/received", self.bytes_received.to_string()),
            ("$SYS/broker/bytes/sent", self.bytes_sent.to_string()),
            ("$SYS/broker/retained messages/count", self.retained.to_string()),
            ("$SYS/broker/subscriptions/count", self.subscriptions.to_string()),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshot_formats_mosquitto_style_topics() {
        let stats = Stats::default();
        Stats::add(&stats.messages_received, 3);
        Stats::add(&stats.bytes_sent, 120);
        let snap = stats.snapshot(Duration::from_millis(61_500), 2, 4, 5);
        let topics = snap.topics();
        let get = |t: &str| topics.iter().find(|(k, _)| *k == t).map(|(_, v)| v.as_str());
        assert_eq!(get("$SYS/broker/uptime"), Some("61 seconds"));
        assert_eq!(get("$SYS/broker/messages/received"), Some("3"));
        assert_eq!(get("$SYS/broker/bytes/sent"), Some("120"));
        assert_eq!(get("$SYS/broker/clients/total"), Some("2"));
        assert_eq!(get("$SYS/broker/retained messages/count"), Some("4"));
        assert_eq!(get("$SYS/broker/subscriptions/count"), Some("5"));
        let discarded = SysSnapshot {
            messages_discarded: 7,
            ..snap
        };
        let topics = discarded.topics();
        let get = |t: &str| topics.iter().find(|(k, _)| *k == t).map(|(_, v)| v.as_str());
        assert_eq!(get("$SYS/broker/messages/discarded"), Some("7"));
        assert_eq!(get("$SYS/broker/messages/dropped"), Some("0"));
        assert!(topics.iter().all(|(t, _)| mqtt_codec::TopicName::try_from(*t).is_ok()));
    }
}
