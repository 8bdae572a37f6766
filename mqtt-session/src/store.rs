//! [`SessionStore`]: where a session's state lives between connections, and [`MemoryStore`], the in-process one.

use std::collections::HashMap;
use std::convert::Infallible;
use std::time::{Duration, Instant};

use mqtt_codec::{PacketId, SubscriptionId, SubscriptionOptions, TopicFilter, Will};

use crate::{InboundQos2, InflightPublish, Outgoing};

/// One subscription held in the session state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscription {
    /// The filter exactly as the client sent it (including a `$share/{group}/` prefix).
    pub filter: TopicFilter,
    /// Options granted (QoS is the granted maximum, not necessarily the requested one).
    pub options: SubscriptionOptions,
    /// v5 subscription identifier, if the SUBSCRIBE carried one.
    pub id: Option<SubscriptionId>,
}

/// Everything a resumed session needs, detached from any connection.
///
/// Produced by `ServerSession::snapshot` and consumed by `ServerSession::restore`. Topic aliases and unacknowledged
/// QoS 1 receipts are deliberately absent: both belong to a network connection, not to the session
/// [MQTT-3.3.2-7] [MQTT-4.3.2-5].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionSnapshot {
    /// The client identifier the session belongs to [MQTT-3.1.3-2].
    pub client_id: String,
    /// Subscriptions, in the order they were made.
    pub subscriptions: Vec<Subscription>,
    /// Outbound QoS 1/2 messages in flight, in the order they were first sent.
    pub inflight: Vec<(PacketId, InflightPublish)>,
    /// Outbound messages waiting to be sent, front first.
    pub queued: Vec<Outgoing>,
    /// Inbound QoS 2 packet ids between PUBLISH and PUBREL.
    pub inbound_qos2: Vec<(PacketId, InboundQos2)>,
    /// The next packet id the allocator tries (so ids keep cycling instead of restarting at 1).
    pub next_packet_id: u16,
    /// Session Expiry Interval in seconds (`u32::MAX`: never).
    pub session_expiry_interval: u32,
    /// When the last connection ended, if it has.
    pub disconnected_at: Option<Instant>,
    /// The will not yet published: of the live connection (when taken while connected), or one waiting for its
    /// Will Delay Interval. Part of the session state (v5 section 4.1).
    pub will: Option<Will>,
    /// When a waiting will is due; `None` while its connection is live.
    pub will_due: Option<Instant>,
}

impl SessionSnapshot {
    /// When the session expires if no client resumes it: the Session Expiry Interval after the connection
    /// ended. `None` while connected (the snapshot was taken from a live session) and for an interval of
    /// `u32::MAX` (never) [MQTT-3.1.2-23].
    pub fn expires_at(&self) -> Option<Instant> {
        if self.session_expiry_interval == u32::MAX {
            return None;
        }
        self.disconnected_at?
            .checked_add(Duration::from_secs(u64::from(self.session_expiry_interval)))
    }
}

/// Storage for sessions that outlive their connection.
///
/// The session machine never calls the store itself (it does no I/O): the broker calls
/// `ServerSession::snapshot` when it wants to persist (for example on disconnect, or after each acknowledgement for
/// stronger guarantees) and `ServerSession::restore` when a client with a stored session connects.
pub trait SessionStore {
    /// Why a store operation failed.
    type Error: std::error::Error + Send + Sync + 'static;

    /// Saves (replaces) the snapshot of `snapshot.client_id`.
    fn save(&mut self, snapshot: SessionSnapshot) -> Result<(), Self::Error>;

    /// Loads the snapshot saved for `client_id`, if any.
    fn load(&mut self, client_id: &str) -> Result<Option<SessionSnapshot>, Self::Error>;

    /// Deletes the snapshot of `client_id` (when the session ends or expires), returning whether one existed.
    fn remove(&mut self, client_id: &str) -> Result<bool, Self::Error>;
}

/// A [`SessionStore`] in a `HashMap`: sessions survive reconnects but not a restart of the process.
#[derive(Debug, Default, Clone)]
pub struct MemoryStore {
    sessions: HashMap<String, SessionSnapshot>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        MemoryStore::default()
    }

    /// Number of stored sessions.
    pub fn len(&self) -> usize {
        self.sessions.len()
    }

    /// Whether no session is stored.
    pub fn is_empty(&self) -> bool {
        self.sessions.is_empty()
    }
}

impl SessionStore for MemoryStore {
    type Error = Infallible;

    fn save(&mut self, snapshot: SessionSnapshot) -> Result<(), Infallible> {
        self.sessions.insert(snapshot.client_id.clone(), snapshot);
        Ok(())
    }

    fn load(&mut self, client_id: &str) -> Result<Option<SessionSnapshot>, Infallible> {
        Ok(self.sessions.get(client_id).cloned())
    }

    fn remove(&mut self, client_id: &str) -> Result<bool, Infallible> {
        Ok(self.sessions.remove(client_id).is_some())
    }
}
