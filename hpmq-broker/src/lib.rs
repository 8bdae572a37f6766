//! hpmq-broker: a complete MQTT 3.1.1/5.0 broker composed from the hpmq crates, as a library (start one
//! inside your own program, with your own [`Authorizer`]) and as the `hpmq-broker` binary.
//!
//! ```no_run
//! use hpmq_broker::{Broker, Config};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let config = Config::from_toml_str("[listener]\naddress = \"127.0.0.1:0\"")?;
//! let broker = Broker::start(config).await?;
//! println!("listening on {}", broker.local_addr());
//! broker.shutdown().await;
//! # Ok(())
//! # }
//! ```
//!
//! Shape (read in this order):
//! - [`config`]: the TOML file.
//! - `connection`: accepts a socket, waits for CONNECT (with a timeout), enforces the connection cap and
//!   authentication, then hands the connection to the session registered under the client id (takeover or
//!   resume) or to a new session.
//! - `session`: the task that owns one session for its whole life, connected or not. It reads packets,
//!   routes publishes, answers subscribes (ACL, retained messages), delivers what the router sends it
//!   (downstream functions first), queues while the client is away and runs the will and expiry timers.
//! - `park`: the parking lot. A session idle for `[limits] park_after_ms` (and a new one as soon as its
//!   CONNACK is written) ends its task and waits there: its socket in the lot's own epoll instance, its
//!   next deadline in the lot's heap, its ticket in its mailbox. The first of them to fire starts a task
//!   for it again. An idle connection so costs its session state, not a task and a reactor registration.
//! - [`auth`], [`functions`], [`sys`]: the decisions and counters the session task consults.
//! - [`persistence`]: the `[persistence]` state file (sessions and retained messages across restarts).
//!
//! Deliveries and control commands cross tasks through each session's `mailbox` (its delivery capacity is the
//! per-client queue limit): a publisher never waits for a slow subscriber; a full mailbox drops the copy and
//! counts it.

pub mod auth;
mod client_id;
pub mod config;
mod connection;
pub mod functions;
mod mailbox;
mod park;
pub mod persistence;
mod session;
pub mod sys;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use mqtt_router::{Available, RetainedStore, RoundRobin, Router};
use mqtt_session::{Message, SessionSnapshot};
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tokio_util::task::TaskTracker;

pub use auth::{Acl, Action, Authorizer, ClientInfo};
pub use config::{Config, ConfigError};
pub use functions::Functions;
pub use persistence::PersistenceError;
pub use sys::Stats;

/// Why the broker could not start or reload.
#[derive(Debug, thiserror::Error)]
pub enum BrokerError {
    /// The configuration is unusable.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The listener could not bind.
    #[error("cannot listen on {address}: {source}")]
    Bind {
        /// The configured address.
        address: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// A function module failed to load, bind or reload.
    #[error("functions: {0}")]
    Functions(#[from] hpmq_host::Error),
    /// The authorize hook is not `module::function`, its module is not loaded, or the function is not an
    /// `#[authorize]` function.
    #[error("config field `auth.authorize_function`: {0}")]
    AuthorizeFunction(String),
    /// The `[persistence]` state file exists but cannot be read (or a corrupt one cannot be moved aside).
    #[error(transparent)]
    Persistence(#[from] PersistenceError),
}

/// A router client: the session's mailbox, so routing needs no registry lookup. Two refs are the same client
/// when they hold the same mailbox (one per session task): every holder keeps that mailbox alive, so its
/// address names one session for as long as anyone can compare it, and no key needs storing beside it.
#[derive(Clone, Debug)]
pub(crate) struct ClientRef {
    tx: Arc<mailbox::Mailbox>,
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

fn share_strategy() -> ShareStrategy {
    Available::new(RoundRobin, |client: &ClientRef| client.tx.is_online())
}

/// Where this broker's idle sessions wait.
pub(crate) type ParkingLot = park::Lot<session::Parked>;

/// How the registry reaches a session task: its mailbox, which also tells whose entry it is (a session
/// that ends removes the entry only if it still holds its own mailbox, not a successor's). One word per
/// client: the registry's table is paid per connection.
pub(crate) struct SessionHandle {
    control: Arc<mailbox::Mailbox>,
}

/// Everything the tasks share.
pub(crate) struct Shared {
    config: Config,
    server_config: Arc<mqtt_session::ServerConfig>,
    router: RwLock<Router<ClientRef, ShareStrategy>>,
    retained: RwLock<RetainedStore<Message>>,
    sessions: Mutex<HashMap<Arc<str>, SessionHandle>>,
    /// Sessions saved by the graceful shutdown.
    store: Mutex<Vec<SessionSnapshot>>,
    /// The `[persistence]` state file, when configured.
    state_file: Option<persistence::StateFile>,
    users: auth::Users,
    authorizer: Box<dyn Authorizer>,
    /// The `#[authorize]` guest function, asked after `authorizer` allows.
    authorize_hook: Option<functions::AuthorizeHook>,
    functions: Option<Functions>,
    stats: Stats,
    connections: AtomicU64,
    next_key: AtomicU64,
    started: Instant,
    tasks: TaskTracker,
    shutdown: Notify,
    /// Where idle sessions wait without a task (`None` when `[limits] park_after_ms` is 0).
    lot: Option<Arc<ParkingLot>>,
}

impl Shared {
    fn next_key(&self) -> u64 {
        self.next_key.fetch_add(1, Ordering::Relaxed)
    }

    /// What a sender passes a session's mailbox: the queue limit and the parking lot.
    fn post(&self) -> mailbox::Post<'_> {
        mailbox::Post {
            capacity: self.config.limits.max_queued_messages,
            lot: self.lot.as_deref(),
        }
    }
}

/// Starts brokers.
#[derive(Debug)]
pub struct Broker;

impl Broker {
    /// Loads the functions, binds the listener and starts accepting connections.
    pub async fn start(config: Config) -> Result<BrokerHandle, BrokerError> {
        Broker::start_with(config, Vec::new(), None).await
    }

    /// Like [`Broker::start`], resuming the sessions in `saved` (returned by an earlier
    /// [`BrokerHandle::shutdown`]) and, when given, deciding publish/subscribe permissions with `authorizer`
    /// instead of the configured ACL (a configured `auth.authorize_function` is still asked after it). With
    /// `[persistence]` configured, the state file's sessions and retained messages are loaded first; a session
    /// in `saved` replaces the file's session of the same client id.
    pub async fn start_with(
        config: Config,
        saved: Vec<SessionSnapshot>,
        authorizer: Option<Box<dyn Authorizer>>,
    ) -> Result<BrokerHandle, BrokerError> {
        config.validate()?;
        let functions = if config.functions.modules.is_empty() && config.functions.bindings.is_empty() {
            None
        } else {
            let (functions_config, base_dir) = (config.functions.clone(), config.base_dir.clone());
            let loaded = tokio::task::spawn_blocking(move || Functions::load(&functions_config, &base_dir))
                .await
                .map_err(|e| BrokerError::AuthorizeFunction(format!("loader task failed: {e}")))??;
            for m in &config.functions.modules {
                tracing::info!(module = %m.name, path = %m.path.display(), "function module loaded");
            }
            Some(loaded)
        };
        let authorizer: Box<dyn Authorizer> = match authorizer {
            Some(custom) => custom,
            None => Box::new(Acl::new(config.acl.clone())),
        };
        let authorize_hook = match (&config.auth.authorize_function, &functions) {
            (Some(name), Some(f)) => {
                let function: hpmq_host::FunctionRef = name
                    .parse()
                    .map_err(|e: hpmq_host::Error| BrokerError::AuthorizeFunction(e.to_string()))?;
                let hook = functions::AuthorizeHook::new(f, function)
                    .map_err(|e| BrokerError::AuthorizeFunction(e.to_string()))?;
                tracing::info!(function = %hook.function(), "authorize hook enabled");
                Some(hook)
            }
            (Some(name), None) => {
                return Err(BrokerError::AuthorizeFunction(format!(
                    "`{name}` needs its module in [[functions.modules]]"
                )));
            }
            (None, _) => None,
        };
        let state_file = config.persistence_path().map(persistence::StateFile::new);
        let loaded = match state_file {
            Some(file) => {
                let (file, loaded) = tokio::task::spawn_blocking(move || {
                    let loaded = file.load();
                    (file, loaded)
                })
                .await
                .map_err(|e| persistence::PersistenceError::Task(e.to_string()))?;
                Some((file, loaded?))
            }
            None => None,
        };
        let (state_file, loaded) = match loaded {
            Some((file, loaded)) => (Some(file), loaded),
            None => (None, persistence::Loaded::default()),
        };
        let address = config.listener.address;
        let listener = TcpListener::bind(address)
            .await
            .map_err(|source| BrokerError::Bind { address, source })?;
        let local_addr = listener
            .local_addr()
            .map_err(|source| BrokerError::Bind { address, source })?;
        let lot = match config.limits.park_after_ms {
            0 => None,
            _ => park::Lot::start()
                .inspect_err(|error| tracing::warn!(%error, "no parking lot; idle sessions keep their tasks"))
                .ok(),
        };
        let shared = Arc::new(Shared {
            server_config: Arc::new(config.server_config()),
            users: auth::Users::new(&config.auth),
            router: RwLock::new(Router::with_strategy(share_strategy())),
            retained: RwLock::new(RetainedStore::new()),
            sessions: Mutex::new(HashMap::new()),
            store: Mutex::new(Vec::new()),
            state_file,
            authorizer,
            authorize_hook,
            functions,
            stats: Stats::default(),
            connections: AtomicU64::new(0),
            next_key: AtomicU64::new(1),
            started: Instant::now(),
            tasks: TaskTracker::new(),
            shutdown: Notify::new(),
            lot,
            config,
        });
        let now = Instant::now();
        {
            let mut store = shared
                .retained
                .write()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            for message in loaded.retained.into_iter().filter(|m| !m.is_expired(now)) {
                let expires_at = message.expires_at;
                if let Err(error) = store.set(message.topic.clone(), message, expires_at) {
                    tracing::warn!(%error, "saved retained message not restored");
                }
            }
        }
        let mut sessions = loaded.sessions;
        sessions.retain(|s| !saved.iter().any(|given| given.client_id == s.client_id));
        sessions.extend(saved);
        session::resume_stored(&shared, sessions);
        let accept = tokio::spawn(accept_loop(Arc::clone(&shared), listener));
        let sys = tokio::spawn(sys_loop(Arc::clone(&shared)));
        let autosave = tokio::spawn(autosave_loop(Arc::clone(&shared)));
        tracing::info!(%local_addr, "listening");
        Ok(BrokerHandle {
            shared,
            local_addr,
            accept,
            sys,
            autosave,
        })
    }
}

/// A running broker.
#[derive(Debug)]
pub struct BrokerHandle {
    shared: Arc<Shared>,
    local_addr: SocketAddr,
    accept: tokio::task::JoinHandle<()>,
    sys: tokio::task::JoinHandle<()>,
    autosave: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl BrokerHandle {
    /// The address the listener is bound to (useful with port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Current statistics.
    pub fn stats(&self) -> sys::SysSnapshot {
        sys_snapshot(&self.shared)
    }

    /// Call and failure counters of a loaded function (message or authorize), if it was ever bound or
    /// called.
    pub fn function_stats(&self, function: &hpmq_host::FunctionRef) -> Option<hpmq_host::FunctionStats> {
        self.shared.functions.as_ref()?.runtime().stats(function)
    }

    /// Re-reads every function module from its file and swaps it in while clients stay connected. Returns
    /// how many modules were reloaded (0 when none are configured).
    pub async fn reload_functions(&self) -> Result<usize, BrokerError> {
        let shared = Arc::clone(&self.shared);
        let result = tokio::task::spawn_blocking(move || shared.functions.as_ref().map_or(Ok(0), Functions::reload))
            .await
            .map_err(|e| BrokerError::AuthorizeFunction(format!("reload task failed: {e}")))?;
        match &result {
            Ok(n) => tracing::info!(modules = n, "function modules reloaded"),
            Err(error) => tracing::error!(%error, "function reload failed; old versions stay active"),
        }
        Ok(result?)
    }

    /// Saves the sessions and retained messages to the `[persistence]` state file now (what the autosave does
    /// every `autosave_interval_secs`). Does nothing when persistence is off.
    pub async fn save(&self) -> Result<(), PersistenceError> {
        match &self.shared.state_file {
            Some(file) => file.save_running(&self.shared).await,
            None => Ok(()),
        }
    }

    /// Graceful shutdown: stops accepting, closes every connection with DISCONNECT 0x8B Server shutting
    /// down (wills are published as the spec says for a server-side close), saves every session that
    /// outlives its connection and returns them, for [`Broker::start_with`]. With `[persistence]`, they are
    /// also written to the state file with the retained messages (a failed write is logged).
    pub async fn shutdown(self) -> Vec<SessionSnapshot> {
        self.accept.abort();
        self.sys.abort();
        self.autosave.abort();
        self.shared.shutdown.notify_waiters();
        // Every parked session gets its task back, to take the commands below.
        if let Some(lot) = &self.shared.lot {
            lot.close();
        }
        let handles = || -> Vec<_> {
            lock(&self.shared.sessions)
                .values()
                .map(|h| Arc::clone(&h.control))
                .collect()
        };
        // Two steps, so that a will published by one session's close reaches the sessions that are saved: every
        // session closes its connection and routes its will, then every session takes in its deliveries and
        // is saved.
        let closed: Vec<_> = handles()
            .into_iter()
            .filter_map(|control| {
                let (done, closed) = tokio::sync::oneshot::channel();
                control
                    .send(session::Control::Close(done), self.shared.post())
                    .ok()
                    .map(|()| closed)
            })
            .collect();
        if tokio::time::timeout(Duration::from_secs(10), futures_util::future::join_all(closed))
            .await
            .is_err()
        {
            tracing::warn!("connections did not close within 10 s");
        }
        // Closing the tracker first makes `attach_to` refuse new sessions from here on; sessions registered
        // before (a CONNECT that was being authenticated) get the last step only.
        self.shared.tasks.close();
        for control in handles() {
            let _ = control.send(session::Control::Stop, self.shared.post());
        }
        if tokio::time::timeout(Duration::from_secs(10), self.shared.tasks.wait())
            .await
            .is_err()
        {
            tracing::warn!("sessions did not stop within 10 s");
        }
        let saved = std::mem::take(&mut *lock(&self.shared.store));
        if let Some(file) = &self.shared.state_file {
            match file.save_stopped(&self.shared, saved.clone()).await {
                Ok(()) => tracing::info!(path = %file.path().display(), "state saved"),
                Err(error) => tracing::error!(%error, "state NOT saved"),
            }
        }
        tracing::info!(saved_sessions = saved.len(), "broker stopped");
        saved
    }
}

async fn accept_loop(shared: Arc<Shared>, listener: TcpListener) {
    loop {
        match listener.accept().await {
            Ok((stream, peer)) => {
                let _ = stream.set_nodelay(true);
                shared
                    .tasks
                    .spawn(connection::handle(Arc::clone(&shared), stream, peer));
            }
            Err(error) => {
                // Out of file descriptors and the like: back off instead of spinning.
                tracing::warn!(%error, "accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

fn sys_snapshot(shared: &Shared) -> sys::SysSnapshot {
    let retained = shared.retained.read().map_or(0, |r| r.len() as u64);
    let subscriptions = shared.router.read().map_or(0, |r| r.subscription_count() as u64);
    let sessions = shared.sessions.lock().map_or(0, |s| s.len() as u64);
    let mut snapshot = shared
        .stats
        .snapshot(shared.started.elapsed(), sessions, retained, subscriptions);
    snapshot.sessions_parked = shared.lot.as_ref().map_or(0, |lot| lot.len() as u64);
    snapshot.messages_discarded = shared.functions.as_ref().map_or(0, Functions::discarded);
    snapshot
}

/// Publishes the `$SYS/broker/...` topics as retained messages every `[sys] interval_secs`.
async fn sys_loop(shared: Arc<Shared>) {
    let secs = shared.config.sys.interval_secs;
    if secs == 0 {
        return;
    }
    let mut ticker = tokio::time::interval(Duration::from_secs(secs));
    let mut router = session::Routing::default();
    loop {
        ticker.tick().await;
        let now = Instant::now();
        for (topic, value) in sys_snapshot(&shared).topics() {
            let topic = mqtt_codec::TopicName::from_static(topic);
            let message = Message::new(topic, value, mqtt_codec::QoS::AtMostOnce).with_retain(true);
            router.route(&shared, now, message, None);
        }
    }
}

/// Saves the state every `[persistence] autosave_interval_secs` (when persistence is on and the interval is
/// not 0).
async fn autosave_loop(shared: Arc<Shared>) {
    let secs = shared.config.persistence.autosave_interval_secs;
    let Some(file) = shared.state_file.as_ref().filter(|_| secs > 0) else {
        return;
    };
    let period = Duration::from_secs(secs);
    let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        if let Err(error) = file.save_running(&shared).await {
            tracing::error!(%error, "autosave failed");
        }
    }
}

/// Takes a lock even if a panicking thread poisoned it (the data are still consistent: every update is a
/// single call on the router, store or map).
pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
mod tests;
