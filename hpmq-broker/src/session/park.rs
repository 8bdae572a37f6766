//! Parking: an idle session hands itself to the broker's parking lot (its task ends) and takes its socket
//! back when resumed; how long a running session has been idle.

use std::sync::Arc;
use std::time::Instant;

use mqtt_codec::MqttCodec;
use tokio::net::TcpStream;

use super::task::{Parked, SessionTask};
use crate::cap::ConnectionGuard;
use crate::framing::framed;
use crate::park::Refused;

/// Most often a session task shrinks its session's queues (see `SessionTask::shrink_when_quiet`).
const SHRINK_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

/// How long a running session task has been idle: a local of [`SessionTask::serve`], so the parking lot never
/// holds it (a session resumes idle since its resumption, with no park check pending and its queues shrunk at
/// its first wait).
pub(super) struct Idle {
    /// When the task last woke for something other than its timer (the idle time that parks counts from here).
    pub(super) active_at: Instant,
    /// When the task next looks whether it has been idle long enough to park (moved only when it looks, so
    /// a busy session does not move its timer on every wake-up).
    pub(super) park_check: Option<Instant>,
    /// When the session's queues were last shrunk (`None`: at the next wait).
    pub(super) shrunk_at: Option<Instant>,
}

impl Idle {
    pub(super) fn since(active_at: Instant) -> Self {
        Idle {
            active_at,
            park_check: None,
            shrunk_at: None,
        }
    }
}

impl SessionTask {
    /// `[limits] park_after_ms`, when the broker parks idle sessions.
    pub(super) fn park_after(&self) -> Option<std::time::Duration> {
        let ms = self.shared.config.limits.park_after_ms;
        (ms > 0 && self.shared.lot.is_some()).then(|| std::time::Duration::from_millis(ms))
    }

    /// Whether the session can wait in the parking lot: nothing half read or unwritten on its connection and
    /// nothing left to hand on.
    pub(super) fn parkable(&self) -> bool {
        self.share.as_ref().is_none_or(|s| s.orphans.is_empty())
            && !self.close_conn
            && !self.session.is_ended()
            && self
                .conn
                .as_ref()
                .is_none_or(|c| c.read_buffer().is_empty() && c.write_buffer().is_empty())
    }

    /// Hands the session to the parking lot: the task ends; the socket (when connected), the session's next
    /// deadline and its mailbox wake it again (see `park`). Gives the session back when the lot does not take
    /// it (closed, or the socket cannot be watched), with the connection as it was or reported lost.
    pub(super) fn park(
        mut self: Box<Self>,
        guard: Option<ConnectionGuard>,
        idle: &mut Idle,
    ) -> Result<(), (Box<Self>, Option<ConnectionGuard>)> {
        let Some(lot) = self.shared.lot.clone().filter(|lot| lot.is_open()) else {
            return Err((self, guard));
        };
        let (socket, codec) = match self.conn.take() {
            Some(conn) => {
                let parts = conn.into_parts();
                match parts.io.into_std() {
                    Ok(socket) => (Some(socket), Some(parts.codec)),
                    Err(error) => {
                        tracing::debug!(%error, client_id = &*self.info.client_id, "socket not parked; connection closed");
                        self.session.connection_lost(Instant::now());
                        return Err((self, guard));
                    }
                }
            }
            None => (None, None),
        };
        // A parked session keeps only its state: no timer, no routing buffer, no spare queue room. (`idle` goes
        // with the task; reset here for a session the lot refuses, which then counts as idle from the refusal.)
        self.timer = None;
        self.routing = None;
        idle.park_check = None;
        idle.shrunk_at = None;
        self.session.shrink_to_fit();
        let deadline = self.session.poll_timeout();
        let mailbox = Arc::clone(&self.me.tx);
        mailbox.unregister();
        let parked = Parked {
            // A fresh box for the long-lived state: allocated now, it can reuse memory that the ended tasks of
            // other connections left (measured: ~80 B less resident memory per connection after a burst of
            // 10,000), instead of staying where it was made, among this connection's short-lived allocations.
            task: Box::new(*self),
            guard,
            codec,
        };
        // The mailbox learns the ticket before anything can resume the session; a message sent before it
        // did is there to see, and the lot resumes the session at once.
        match lot.park_then(parked, socket, deadline, |ticket| mailbox.park(ticket)) {
            Ok(_) => Ok(()),
            Err(Refused { item, socket }) => {
                let Parked { mut task, guard, codec } = item;
                if let (Some(socket), Some(codec)) = (socket, codec) {
                    task.reconnect(socket, codec);
                }
                Err((task, guard))
            }
        }
    }

    /// Takes a parked socket back into the runtime; a socket the runtime refuses is a lost connection.
    pub(super) fn reconnect(&mut self, socket: std::net::TcpStream, codec: MqttCodec) {
        match TcpStream::from_std(socket) {
            Ok(io) => {
                self.conn = Some(Box::new(framed(io, codec, 0)));
            }
            Err(error) => {
                tracing::debug!(%error, client_id = &*self.info.client_id, "parked socket not resumed; connection closed");
                self.session.connection_lost(Instant::now());
            }
        }
    }

    /// Gives back the session's queue storage on the way to a wait, at most once per [`SHRINK_EVERY`] (and at
    /// the first wait after a CONNECT): a connection that sits idle after its CONNECT or after a burst
    /// keeps no empty event and transmit queues (about 2 KiB), while a busy one does not reallocate them on
    /// every wake-up.
    pub(super) fn shrink_when_quiet(&mut self, idle: &mut Idle) {
        let now = Instant::now();
        if idle.shrunk_at.is_none_or(|at| now.duration_since(at) >= SHRINK_EVERY) {
            idle.shrunk_at = Some(now);
            self.session.shrink_to_fit();
        }
    }
}
