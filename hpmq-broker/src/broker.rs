//! Starting and stopping a broker: [`Broker`] loads the functions and state, binds the listener and starts
//! the tasks; [`BrokerHandle`] reports on it, reloads its functions, saves it and shuts it down.

use std::net::SocketAddr;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use mqtt_router::{RetainedStore, Router};
use mqtt_session::{Message, SessionSnapshot};
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tokio_util::task::TaskTracker;

use crate::auth::{self, Acl, Authorizer};
use crate::cap::Connections;
use crate::config::{Config, ConfigError};
use crate::connection;
use crate::functions::{self, Functions};
use crate::mailbox::Control;
use crate::park;
use crate::persistence::{self, PersistenceError, StateFile};
use crate::registry::Registry;
use crate::routing::Routing;
use crate::session::{self, Shared};
use crate::state::{State, share_strategy};
use crate::sync::lock;
use crate::sys::{self, Stats};

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
        let shared = Arc::new(State {
            server_config: Arc::new(config.server_config()),
            users: auth::Users::new(&config.auth),
            router: RwLock::new(Router::with_strategy(share_strategy())),
            retained: RwLock::new(RetainedStore::new()),
            sessions: Mutex::new(Registry::default()),
            store: Mutex::new(Vec::new()),
            authorizer,
            authorize_hook,
            functions,
            stats: Stats::default(),
            connections: Connections::new(config.limits.max_connections),
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
        let state_file = state_file.map(Arc::new);
        let autosave = tokio::spawn(autosave_loop(Arc::clone(&shared), state_file.clone()));
        tracing::info!(%local_addr, "listening");
        Ok(BrokerHandle {
            shared,
            state_file,
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
    /// Public in the crate for the tests (`connection::handle` needs it).
    pub(crate) shared: Arc<Shared>,
    /// The `[persistence]` state file, when configured.
    state_file: Option<Arc<StateFile>>,
    local_addr: SocketAddr,
    accept: tokio::task::JoinHandle<()>,
    sys: tokio::task::JoinHandle<()>,
    autosave: tokio::task::JoinHandle<()>,
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
        match &self.state_file {
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
                    .send(Control::Close(done), self.shared.post())
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
            let _ = control.send(Control::Stop, self.shared.post());
        }
        if tokio::time::timeout(Duration::from_secs(10), self.shared.tasks.wait())
            .await
            .is_err()
        {
            tracing::warn!("sessions did not stop within 10 s");
        }
        let saved = std::mem::take(&mut *lock(&self.shared.store));
        if let Some(file) = &self.state_file {
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
    let mut router = Routing::default();
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
async fn autosave_loop(shared: Arc<Shared>, state_file: Option<Arc<StateFile>>) {
    let secs = shared.config.persistence.autosave_interval_secs;
    let Some(file) = state_file.filter(|_| secs > 0) else {
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
