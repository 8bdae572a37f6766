//! The task and its run loop: a session's life from its start (or its resumption out of the parking lot) to
//! its end, waiting for the next thing to do (a control command, a frame, a delivery, a deadline, parking)
//! and doing it.

use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use mqtt_session::{ServerSession, SessionSnapshot};

use super::park::Idle;
use super::start::{Starting, attach_to, register};
use super::task::{BATCH, Parked, SessionTask, Shared, arm};
use crate::cap::ConnectionGuard;
use crate::mailbox::{Attach, Control, Delivery};
use crate::park::Unpark;
use crate::sync::lock;
use crate::sys::Stats;

impl Starting {
    /// Runs the session (in the caller's task) until it ends or parks.
    pub async fn run(self) {
        // Idle since now; the attach moves that back when the broker parks new connections.
        self.task.run(Some(self.first), Instant::now()).await;
    }

    /// Runs the session in a task of its own.
    pub fn spawn(self) {
        let shared = Arc::clone(&self.task.shared);
        shared.tasks.spawn(self.run());
    }
}

/// Restores sessions saved by an earlier shutdown, disconnected, with their subscriptions routed. A session
/// whose expiry passed while the broker was down ends as soon as its task starts (publishing its will).
pub(crate) fn resume_stored(shared: &Arc<Shared>, saved: Vec<SessionSnapshot>) {
    let now = Instant::now();
    let mut registry = lock(&shared.sessions);
    let mut restored = Vec::with_capacity(saved.len());
    for snapshot in saved {
        let client_id: Arc<str> = Arc::from(snapshot.client_id.as_str());
        if snapshot.expires_at().is_some_and(|at| at <= now) {
            tracing::info!(
                client_id = &*client_id,
                "saved session expired while the broker was down"
            );
        }
        match ServerSession::restore(Arc::clone(&shared.server_config), snapshot, now) {
            // Idle (towards parking) since it was restored.
            Ok(session) => restored.push((register(shared, &mut registry, client_id, session), Instant::now())),
            Err(error) => tracing::warn!(%error, client_id = &*client_id, "stored session not restored"),
        }
    }
    // Every restored session is routed before any of their tasks runs, so a will published at start (its
    // delay or its session elapsed while the broker was down) reaches every restored subscriber.
    for (task, restored_at) in restored {
        shared.tasks.spawn(task.run(None, restored_at));
    }
}

/// What woke an idle session task.
enum Wake {
    Control(Control),
    /// The connection had frames; the session has taken them in.
    Read,
    Delivery(Delivery),
    Timeout,
    /// Nothing happened for `[limits] park_after_ms`: hand the session to the parking lot.
    Park,
}

/// The earlier of two optional instants.
fn earliest(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, None) => a,
        (None, b) => b,
    }
}

impl SessionTask {
    /// Starts the session, idle (towards parking) since `active_at`, with its first connection if it has one.
    async fn run(mut self: Box<Self>, first: Option<Box<Attach>>, active_at: Instant) {
        // A restored session whose will or expiry fell due while the broker was down acts on it before it
        // can be resumed; the drive also publishes a will the restore queued at once.
        let now = Instant::now();
        if self.session.poll_timeout().is_some_and(|at| at <= now) {
            self.session.handle_timeout(now);
        }
        self.drive().await;
        self.serve(None, first, active_at).await;
    }

    /// The session's life from its start, or from its resumption out of the parking lot, to its end: takes
    /// its first connection (`first`, at its start), waits for the next thing to do and does it, idle since
    /// `active_at` until something happens. Returns early when the session is handed to the parking lot
    /// (whose resumption calls this again).
    async fn serve(
        mut self: Box<Self>,
        mut guard: Option<ConnectionGuard>,
        first: Option<Box<Attach>>,
        active_at: Instant,
    ) {
        // Only while the task runs: its future is dropped when the session parks.
        let mut idle = Idle::since(active_at);
        // A connection that needs a new session: it goes to a new task once this one has unregistered.
        let mut handoff = None;
        if let Some(attach) = first {
            match Box::pin(self.attach(*attach, &mut idle)).await {
                Ok(g) => guard = Some(g),
                Err(attach) => handoff = Some(attach),
            }
        }
        // A resumed session whose socket could not be taken back reports the lost connection here.
        self.drive().await;
        self.report_online();
        let mut shutting_down = false;
        while handoff.is_none() && !self.session.is_ended() {
            // `wake` ends in this block, before any await: held across one, it would take its room in the future
            // of every session task. (A frame, some 230 B, never reaches it: `poll_read` feeds it to the session.)
            let command = {
                // The only await while idle: small, so an idle connection's task is small.
                let wake = std::future::poll_fn(|cx| self.poll_wake(cx, !shutting_down, &mut idle)).await;
                if !matches!(wake, Wake::Timeout | Wake::Park) {
                    idle.active_at = Instant::now();
                }
                match wake {
                    Wake::Control(command) => Some(command),
                    Wake::Read => None,
                    Wake::Delivery(delivery) => {
                        self.deliver(delivery.into_outgoing());
                        // Take what else is queued now, so one write carries the batch.
                        for _ in 1..BATCH {
                            let Some(delivery) = self.me.tx.try_recv_delivery() else {
                                break;
                            };
                            self.deliver(delivery.into_outgoing());
                        }
                        None
                    }
                    Wake::Timeout => {
                        self.session.handle_timeout(Instant::now());
                        None
                    }
                    Wake::Park => match self.park(guard, &mut idle) {
                        Ok(()) => return,
                        Err((task, kept)) => {
                            self = task;
                            guard = kept;
                            // Refused (the lot is closing, or cannot watch the socket): idle from now, so the
                            // next attempt is one `park_after_ms` away rather than at the next wait.
                            idle.active_at = Instant::now();
                            idle.park_check = None;
                            None
                        }
                    },
                }
            };
            match command {
                Some(Control::Attach(attach)) if shutting_down => {
                    let peer = attach.client.peer_addr;
                    tracing::debug!(
                        client_id = &*self.info.client_id,
                        ?peer,
                        "broker stopping; connection closed"
                    );
                }
                Some(Control::Attach(attach)) => match Box::pin(self.attach(*attach, &mut idle)).await {
                    Ok(g) => guard = Some(g),
                    Err(attach) => handoff = Some(attach),
                },
                Some(Control::Close(done)) => {
                    shutting_down = true;
                    Box::pin(self.close_for_shutdown()).await;
                    let _ = done.send(());
                }
                Some(Control::Stop) => {
                    shutting_down = true;
                    Box::pin(self.close_for_shutdown()).await;
                    Box::pin(self.save()).await;
                    break;
                }
                Some(Control::Snapshot(reply)) => {
                    let _ = reply.send(self.persistent_snapshot());
                }
                None => {}
            }
            self.drive().await;
            // Before the connection count drops, so whoever sees the client gone also sees it offline.
            self.report_online();
            if self.conn.is_none() {
                guard = None;
            }
        }
        self.set_online(false);
        drop(guard);
        if !shutting_down {
            // Deliveries that reached the mailbox after the session ended are orphans too.
            self.me.tx.close_deliveries();
            while let Some(delivery) = self.me.tx.try_recv_delivery() {
                self.orphan(delivery.into_outgoing().message);
            }
        }
        (*self).finish(shutting_down, handoff);
    }

    /// Waits for the next thing to do, in this order: a control command, a frame from the connection, a
    /// delivery, the session's next deadline; then, when `may_park`, whether it has been idle long enough to
    /// park (idle as `idle` says).
    fn poll_wake(&mut self, cx: &mut Context<'_>, may_park: bool, idle: &mut Idle) -> Poll<Wake> {
        let mailbox = &self.me.tx;
        mailbox.register(cx.waker());
        if let Some(command) = mailbox.try_recv_control() {
            return Poll::Ready(Wake::Control(command));
        }
        if self.poll_read(cx).is_ready() {
            return Poll::Ready(Wake::Read);
        }
        if let Some(delivery) = self.me.tx.try_recv_delivery() {
            return Poll::Ready(Wake::Delivery(delivery));
        }
        let deadline = self.session.poll_timeout();
        let park_after = self.park_after().filter(|_| may_park);
        let mut park_at = park_after.map(|after| *idle.park_check.get_or_insert(idle.active_at + after));
        if let Some(at) = park_at {
            // A check already due (a new connection's first wait) needs no timer.
            let now = Instant::now();
            if at <= now && deadline.is_none_or(|d| d > now) && self.parkable() {
                idle.park_check = None;
                return Poll::Ready(Wake::Park);
            }
        }
        while let Some(at) = earliest(deadline, park_at) {
            if arm(&mut self.timer, at).poll(cx).is_pending() {
                break;
            }
            let now = Instant::now();
            if deadline.is_some_and(|d| d <= now) {
                return Poll::Ready(Wake::Timeout);
            }
            // The park check came: park if idle long enough (and nothing half done), else look again later.
            let Some(after) = park_after else { break };
            let due = idle.active_at + after;
            if due <= now && self.parkable() {
                idle.park_check = None;
                return Poll::Ready(Wake::Park);
            }
            let next = if due > now { due } else { now + after };
            idle.park_check = Some(next);
            park_at = Some(next);
        }
        self.shrink_when_quiet(idle);
        Poll::Pending
    }

    /// Unregisters the session and hands `handoff` and connections that raced with its end to a fresh session.
    fn finish(mut self, shutting_down: bool, handoff: Option<Box<Attach>>) {
        let shared = Arc::clone(&self.shared);
        let mut registry = lock(&shared.sessions);
        registry.remove_if_mine(&self.info.client_id, &self.me.tx);
        self.shared
            .router
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove_client(&self.me);
        if !shutting_down {
            self.reroute_orphans();
        } else {
            let orphans = self.share.as_ref().map_or(0, |s| s.orphans.len());
            Stats::add(&self.shared.stats.messages_dropped, orphans as u64);
        }
        self.me.tx.close_control();
        let mut attach = |attach| {
            if let Some(starting) = attach_to(&self.shared, &mut registry, Arc::clone(&self.info.client_id), attach) {
                starting.spawn();
            }
        };
        if let Some(first) = handoff {
            attach(first);
        }
        while let Some(command) = self.me.tx.try_recv_control() {
            if let (Control::Attach(first), false) = (command, shutting_down) {
                attach(first);
            }
        }
    }
}

impl Unpark for Parked {
    fn resume(self, socket: Option<std::net::TcpStream>) {
        let Parked { mut task, guard, codec } = self;
        if let (Some(socket), Some(codec)) = (socket, codec) {
            task.reconnect(socket, codec);
        }
        let shared = Arc::clone(&task.shared);
        // Idle since now, as a session that just did something.
        shared.tasks.spawn(task.serve(guard, None, Instant::now()));
    }
}
