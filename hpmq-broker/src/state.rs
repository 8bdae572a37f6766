//! What the broker's tasks share: configuration, router, retained store, registry, decisions, counters, the
//! parking lot; and the router's client type.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Instant;

use mqtt_router::{Available, RetainedStore, RoundRobin, Router};
use mqtt_session::{Message, SessionSnapshot};
use tokio::sync::Notify;
use tokio_util::task::TaskTracker;

use crate::auth::{self, Authorizer};
use crate::cap::Connections;
use crate::config::Config;
use crate::functions::{self, Functions};
use crate::mailbox::{Mailbox, Post};
use crate::park::Lot;
use crate::registry::Registry;
use crate::sys::Stats;

/// A router client: the session's mailbox, so routing needs no registry lookup. Two refs are the same client
/// when they hold the same mailbox (one per session task): every holder keeps that mailbox alive, so its
/// address names one session for as long as anyone can compare it, and no key needs storing beside it.
#[derive(Clone, Debug)]
pub(crate) struct ClientRef {
    pub(crate) tx: Arc<Mailbox>,
}

impl PartialEq for ClientRef {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.tx, &other.tx)
    }
}
impl Eq for ClientRef {}
impl std::hash::Hash for ClientRef {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        std::ptr::hash(Arc::as_ptr(&self.tx), state);
    }
}

/// How a share group picks the member for a message: round-robin over the members whose client is connected,
/// so a new message does not wait in an offline member's queue while others could take it; when no member is
/// connected, round-robin over all (the message waits in that member's persistent session).
pub(crate) type ShareStrategy = Available<RoundRobin, fn(&ClientRef) -> bool>;

/// The share strategy of a new broker's router.
pub(crate) fn share_strategy() -> ShareStrategy {
    Available::new(RoundRobin, |client: &ClientRef| client.tx.is_online())
}

/// Everything the tasks share. `P` is what the parking lot holds (the session task's `Parked`, see
/// `session::Shared`): generic, so that this state, which the session task is built on, need not name it.
pub(crate) struct State<P> {
    pub(crate) config: Config,
    pub(crate) server_config: Arc<mqtt_session::ServerConfig>,
    pub(crate) router: RwLock<Router<ClientRef, ShareStrategy>>,
    pub(crate) retained: RwLock<RetainedStore<Message>>,
    pub(crate) sessions: Mutex<Registry>,
    /// Sessions saved by the graceful shutdown.
    pub(crate) store: Mutex<Vec<SessionSnapshot>>,
    pub(crate) users: auth::Users,
    pub(crate) authorizer: Box<dyn Authorizer>,
    /// The `#[authorize]` guest function, asked after `authorizer` allows.
    pub(crate) authorize_hook: Option<functions::AuthorizeHook>,
    pub(crate) functions: Option<Functions>,
    pub(crate) stats: Stats,
    /// Open connections, against `[limits] max_connections`.
    pub(crate) connections: Arc<Connections>,
    pub(crate) next_key: AtomicU64,
    pub(crate) started: Instant,
    pub(crate) tasks: TaskTracker,
    pub(crate) shutdown: Notify,
    /// Where idle sessions wait without a task (`None` when `[limits] park_after_ms` is 0).
    pub(crate) lot: Option<Arc<Lot<P>>>,
}

impl<P> State<P> {
    /// A number not handed out before by this broker.
    pub fn next_key(&self) -> u64 {
        self.next_key.fetch_add(1, Ordering::Relaxed)
    }

    /// What a sender passes a session's mailbox: the queue limit and the parking lot.
    pub fn post(&self) -> Post<'_, P> {
        Post {
            capacity: self.config.limits.max_queued_messages,
            lot: self.lot.as_deref(),
        }
    }
}

impl<P> std::fmt::Debug for State<P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}
