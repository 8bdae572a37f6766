//! Sessions and retained messages on disk (`[persistence]`), so they survive a restart: loaded at start, saved
//! every `autosave_interval_secs` while running (a crash loses at most that much) and on graceful shutdown.
//!
//! The bytes are `mqtt_session::SavedState`'s versioned, checksummed format; this module only does the I/O:
//! - writes are atomic: a temporary file in the same directory, `fsync`, `rename` over the old file, `fsync` of
//!   the directory, so a crash leaves either the old or the new state, never a torn one;
//! - a file that does not decode is logged with its path and reason and moved aside to `<file>.corrupt`, and the
//!   broker starts empty instead of failing at every restart;
//! - a file that cannot be *read* (permissions, a directory) stops the start: starting empty would overwrite it
//!   at the next save.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

use bytes::BytesMut;
use mqtt_session::{Message, SavedState, SessionSnapshot, WallClock};
use tokio::sync::oneshot;

use crate::mailbox::Control;
use crate::session::Shared;
use crate::sync::lock;

/// Why the state file could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum PersistenceError {
    /// A file system operation failed.
    #[error("persistence file {path}: cannot {op}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// What was being done ("read", "write", "rename", ...).
        op: &'static str,
        /// Why.
        source: std::io::Error,
    },
    /// The state could not be encoded (a message too large for one MQTT packet).
    #[error("persistence: cannot encode the state: {0}")]
    Encode(#[from] mqtt_session::Error),
    /// The blocking I/O task panicked or was cancelled.
    #[error("persistence: I/O task failed: {0}")]
    Task(String),
}

/// The state file of a running broker.
#[derive(Debug)]
pub(crate) struct StateFile {
    path: PathBuf,
    /// Orders saves: each takes a number when its snapshot is taken, and a write is skipped when a newer
    /// snapshot has already been written (an autosave still writing when shutdown saves cannot win).
    generation: AtomicU64,
    /// The last written generation; held across the write so writes never overlap.
    written: Arc<Mutex<u64>>,
    /// Each session's last saved snapshot, used when a session is too busy to answer before the deadline.
    last: Mutex<std::collections::HashMap<Arc<str>, SessionSnapshot>>,
}

/// What a start loads from the file.
#[derive(Debug, Default)]
pub(crate) struct Loaded {
    pub sessions: Vec<SessionSnapshot>,
    pub retained: Vec<Message>,
}

impl StateFile {
    /// The state file at `path` (resolved against the config file's directory when relative).
    pub(crate) fn new(path: PathBuf) -> Self {
        StateFile {
            path,
            generation: AtomicU64::new(1),
            written: Arc::new(Mutex::new(0)),
            last: Mutex::new(std::collections::HashMap::new()),
        }
    }

    /// The file's path.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Reads and decodes the file. Missing: nothing to load. Corrupt: logged, moved aside, nothing to load.
    pub(crate) fn load(&self) -> Result<Loaded, PersistenceError> {
        let path = &self.path;
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| PersistenceError::Io {
                path: dir.to_owned(),
                op: "create the directory",
                source,
            })?;
        }
        let bytes = match std::fs::read(path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                tracing::info!(path = %path.display(), "no saved state yet; starting empty");
                return Ok(Loaded::default());
            }
            Err(source) => {
                return Err(PersistenceError::Io {
                    path: path.clone(),
                    op: "read",
                    source,
                });
            }
        };
        let clock = WallClock::new(Instant::now(), SystemTime::now());
        match SavedState::decode(&bytes, clock) {
            Ok(state) => {
                let age = SystemTime::now().duration_since(state.saved_at).unwrap_or_default();
                tracing::info!(
                    path = %path.display(),
                    sessions = state.sessions.len(),
                    retained = state.retained.len(),
                    saved_secs_ago = age.as_secs(),
                    "saved state loaded"
                );
                Ok(Loaded {
                    sessions: state.sessions,
                    retained: state.retained,
                })
            }
            Err(error) => {
                let aside = corrupt_path(path);
                std::fs::rename(path, &aside).map_err(|source| PersistenceError::Io {
                    path: path.clone(),
                    op: "move the corrupt file aside",
                    source,
                })?;
                tracing::error!(
                    path = %path.display(),
                    moved_to = %aside.display(),
                    %error,
                    "saved state is unreadable; moved aside, starting with no sessions and no retained messages"
                );
                Ok(Loaded::default())
            }
        }
    }

    /// Takes a snapshot of every live session and of the retained messages and writes it.
    pub(crate) async fn save_running(&self, shared: &Shared) -> Result<(), PersistenceError> {
        let generation = self.generation.fetch_add(1, Ordering::Relaxed);
        let handles: Vec<_> = lock(&shared.sessions)
            .iter()
            .map(|(id, h)| (Arc::clone(id), Arc::clone(&h.control)))
            .collect();
        let mut replies = Vec::with_capacity(handles.len());
        for (id, control) in handles {
            let (tx, rx) = oneshot::channel();
            if control.send(Control::Snapshot(tx), shared.post()).is_ok() {
                replies.push((id, rx));
            }
        }
        // A session task answers between two packets; one writing to a slow client may take up to the write
        // timeout. Past the deadline its previous snapshot is used.
        let deadline = tokio::time::Instant::now()
            + Duration::from_millis(shared.config.limits.write_timeout_ms)
            + Duration::from_secs(1);
        let mut sessions = Vec::with_capacity(replies.len());
        let mut last = std::collections::HashMap::with_capacity(replies.len());
        for (id, rx) in replies {
            match tokio::time::timeout_at(deadline, rx).await {
                Ok(Ok(Some(snapshot))) => {
                    last.insert(id, snapshot.clone());
                    sessions.push(snapshot);
                }
                // The session ended meanwhile, or is not persistent (Session Expiry Interval 0).
                Ok(Ok(None) | Err(_)) => {}
                Err(_) => {
                    if let Some(previous) = lock(&self.last).get(&id).cloned() {
                        tracing::warn!(client_id = &*id, "session busy; its previous snapshot is saved");
                        last.insert(id, previous.clone());
                        sessions.push(previous);
                    } else {
                        tracing::warn!(client_id = &*id, "session busy and never saved; left out of this save");
                    }
                }
            }
        }
        *lock(&self.last) = last;
        self.write(generation, sessions, retained(shared)).await
    }

    /// Writes the sessions a graceful shutdown collected, with the retained messages.
    pub(crate) async fn save_stopped(
        &self,
        shared: &Shared,
        sessions: Vec<SessionSnapshot>,
    ) -> Result<(), PersistenceError> {
        let generation = self.generation.fetch_add(1, Ordering::Relaxed);
        self.write(generation, sessions, retained(shared)).await
    }

    async fn write(
        &self,
        generation: u64,
        sessions: Vec<SessionSnapshot>,
        retained: Vec<Message>,
    ) -> Result<(), PersistenceError> {
        let wall = SystemTime::now();
        let clock = WallClock::new(Instant::now(), wall);
        let (n_sessions, n_retained) = (sessions.len(), retained.len());
        let state = SavedState {
            saved_at: wall,
            sessions,
            retained,
        };
        let mut bytes = BytesMut::new();
        state.encode(clock, &mut bytes)?;
        let len = bytes.len();
        let path = self.path.clone();
        // The lock is taken inside the blocking task, so a save whose async caller was cancelled (an aborted
        // autosave) still finishes its write before the next one starts.
        let written = Arc::clone(&self.written);
        let wrote = tokio::task::spawn_blocking(move || -> Result<bool, PersistenceError> {
            let mut last = lock(&written);
            if *last > generation {
                return Ok(false);
            }
            write_atomic(&path, &bytes)?;
            *last = generation;
            Ok(true)
        })
        .await
        .map_err(|e| PersistenceError::Task(e.to_string()))??;
        if wrote {
            tracing::debug!(
                path = %self.path.display(),
                sessions = n_sessions,
                retained = n_retained,
                bytes = len,
                "state saved"
            );
        }
        Ok(())
    }
}

/// The retained messages worth keeping: not expired, not the broker's own `$SYS` statistics.
fn retained(shared: &Shared) -> Vec<Message> {
    let now = Instant::now();
    shared
        .retained
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .iter(now)
        .filter(|r| !r.topic.as_str().starts_with("$SYS/"))
        .map(|r| r.message.clone())
        .collect()
}

/// `<file>.corrupt`, next to it.
fn corrupt_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(".corrupt");
    path.with_file_name(name)
}

/// Replaces `path` with `bytes` atomically: temp file in the same directory, fsync, rename, fsync the directory.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), PersistenceError> {
    let io = |op: &'static str, p: &Path| {
        let p = p.to_owned();
        move |source| PersistenceError::Io { path: p, op, source }
    };
    let mut name = path.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(format!(".tmp{}", std::process::id()));
    let tmp = path.with_file_name(name);
    let result = (|| {
        let mut file = std::fs::File::create(&tmp).map_err(io("create", &tmp))?;
        file.write_all(bytes).map_err(io("write", &tmp))?;
        file.sync_all().map_err(io("fsync", &tmp))?;
        drop(file);
        std::fs::rename(&tmp, path).map_err(io("rename the new state over", path))
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
        return result;
    }
    // Make the rename itself durable. Directories cannot be opened for syncing everywhere; best effort.
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
        && let Ok(dir) = std::fs::File::open(dir)
    {
        let _ = dir.sync_all();
    }
    Ok(())
}
