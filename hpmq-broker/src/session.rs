//! The task that owns one MQTT session for its whole life: while a client is connected it drives the
//! connection; while it is away it keeps queueing deliveries and runs the will-delay and expiry timers.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use bytes::BytesMut;
use futures_util::{FutureExt, Sink, StreamExt};
use hpmq_host::Direction;
use mqtt_codec::{ByteStr, Connect, MqttCodec, Packet, QoS, ReasonCode, RetainHandling, TopicFilter};
use mqtt_router::Deliveries;
use mqtt_session::{Accept, DropReason, Event, Message, Outgoing, ServerSession, SessionSnapshot};
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio::time::Sleep;
use tokio_util::codec::{Encoder, Framed};

use super::auth::{Action, ClientInfo};
use super::mailbox::{Mailbox, TrySendError};
use super::park::{Refused, Unpark};
use super::sys::Stats;
use super::{ClientRef, SessionHandle, Shared, lock};

/// Most packets read, or deliveries taken from the inbox, before the session's answers are written: large
/// enough that a busy connection writes many packets per system call, small enough that one busy client
/// cannot keep its task from the timers and control messages for long.
const BATCH: usize = 64;

/// Bytes read per system call while a connection is busy (the buffer exists only while there is data).
pub(crate) const READ_BUFFER: usize = 8 * 1024;

/// Bytes of packets written per system call at most; the write buffer grows up to this and is released
/// once written.
pub(crate) const WRITE_BUFFER: usize = 8 * 1024;

/// Most often a session task shrinks its session's queues (see `SessionTask::shrink_when_quiet`).
const SHRINK_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

/// What the registry can tell a session task.
pub(crate) enum Control {
    /// A new connection for this client id (takeover when one is connected, resume otherwise).
    Attach(Box<Attach>),
    /// The broker is stopping, first step: close the connection with DISCONNECT 0x8B (its will is routed as
    /// for any server-side close), refuse new connections, then answer. The session keeps taking deliveries,
    /// so wills routed by the other sessions in this step reach it.
    Close(oneshot::Sender<()>),
    /// The broker is stopping, last step (every session has closed): take in what was routed here, save the
    /// session if it outlives its connection, and stop.
    Stop,
    /// The autosave wants the session's state: `None` when it does not outlive its connection.
    Snapshot(oneshot::Sender<Option<SessionSnapshot>>),
}

/// A connection as the session task drives it (boxed in the task, so a parked task does not keep its room).
type Conn = Framed<TcpStream, MqttCodec>;

/// A connection's framing with a read buffer of `read_capacity` bytes (0: none until there is data) and no
/// write buffer until there is something to write. `Framed` always makes an 8 KiB write buffer (and
/// `from_parts` grows both buffers to 8 KiB); dropped at once it is reused by the next connection, while held
/// through a handshake or a resume it made every connection in flight cost 16 KiB, a peak the heap keeps
/// after a burst of connections (see BENCHMARKS.md, "Memory per idle connection, 2026-12-04").
pub(crate) fn framed(io: TcpStream, codec: MqttCodec, read_capacity: usize) -> Conn {
    let mut conn = Framed::with_capacity(io, codec, read_capacity);
    *conn.write_buffer_mut() = BytesMut::new();
    conn.set_backpressure_boundary(WRITE_BUFFER);
    conn
}

/// A connection whose CONNECT has been read and authenticated.
pub(crate) struct Attach {
    pub framed: Framed<TcpStream, MqttCodec>,
    pub connect: Box<Connect>,
    pub client: ClientInfo,
    /// The identifier the broker assigned (the client sent an empty one).
    pub assigned: Option<ByteStr>,
    pub guard: ConnectionGuard,
}

/// Counts an open connection towards `[limits] max_connections` until dropped.
pub(crate) struct ConnectionGuard(Arc<Shared>);

impl ConnectionGuard {
    /// Counts a new connection; `None` when the cap is reached.
    pub fn acquire(shared: &Arc<Shared>) -> Option<Self> {
        let max = shared.config.limits.max_connections as u64;
        let counter = &shared.connections;
        let previous = counter.fetch_add(1, std::sync::atomic::Ordering::AcqRel);
        if previous >= max {
            counter.fetch_sub(1, std::sync::atomic::Ordering::AcqRel);
            return None;
        }
        Some(ConnectionGuard(Arc::clone(shared)))
    }
}

impl Drop for ConnectionGuard {
    fn drop(&mut self) {
        self.0.connections.fetch_sub(1, std::sync::atomic::Ordering::AcqRel);
    }
}

/// One message on its way to one session: the message is shared by every receiving session (a session
/// takes it over without copying when it is the last one holding it); the options are this subscription's.
/// Small, so a session's bounded queue costs little memory before anything is queued.
#[derive(Debug)]
pub(crate) struct Delivery {
    message: Arc<Message>,
    qos: QoS,
    retain: bool,
    subscription_ids: Vec<mqtt_codec::SubscriptionId>,
}

impl Delivery {
    /// The message as this session delivers it.
    fn into_outgoing(self) -> Outgoing {
        let mut message = Arc::unwrap_or_clone(self.message);
        message.qos = self.qos;
        message.retain = self.retain;
        Outgoing::new(message, self.subscription_ids)
    }
}

#[cfg(test)]
impl Delivery {
    /// A QoS 0 delivery of an empty message on `topic`.
    pub(crate) fn on(topic: &'static str) -> Self {
        Delivery {
            message: Arc::new(Message::new(
                mqtt_codec::TopicName::from_static(topic),
                bytes::Bytes::new(),
                QoS::AtMostOnce,
            )),
            qos: QoS::AtMostOnce,
            retain: false,
            subscription_ids: Vec::new(),
        }
    }

    pub(crate) fn topic(&self) -> &str {
        self.message.topic.as_str()
    }
}

/// Routes messages: retained store, router match, one bounded send per receiving session. Owns the
/// reusable [`Deliveries`] buffer.
#[derive(Default)]
pub(crate) struct Routing {
    deliveries: Deliveries<ClientRef>,
}

impl Routing {
    /// Stores a retained message and sends a copy to each matching session; returns how many were sent.
    pub fn route(&mut self, shared: &Shared, now: Instant, message: Message, publisher: Option<&ClientRef>) -> usize {
        if message.is_expired(now) {
            return 0;
        }
        if message.retain {
            let mut retained = shared
                .retained
                .write()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if message.payload.is_empty() {
                retained.clear(&message.topic); // [MQTT-3.3.1-6]
            } else if let Err(error) = retained.set(message.topic.clone(), message.clone(), message.expires_at) {
                tracing::debug!(%error, topic = message.topic.as_str(), "retained message refused");
            }
        }
        shared
            .router
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .deliveries(&message.topic, publisher, &mut self.deliveries);
        if self.deliveries.is_empty() {
            return 0;
        }
        let (qos, retain) = (message.qos, message.retain);
        let message = Arc::new(message);
        let mut sent = 0;
        let post = shared.post();
        for d in self.deliveries.iter() {
            let delivery = Delivery {
                message: Arc::clone(&message),
                qos: qos.min(d.qos),                     // [MQTT-3.8.4-8]
                retain: retain && d.retain_as_published, // [MQTT-3.3.1-12] [MQTT-3.3.1-13]
                subscription_ids: d.subscription_ids.to_vec(),
            };
            match d.client.tx.try_send(delivery, post) {
                Ok(()) => sent += 1,
                Err(TrySendError::Full(_)) => {
                    Stats::add(&shared.stats.messages_dropped, 1);
                    tracing::debug!(topic = message.topic.as_str(), "subscriber queue full; message dropped");
                }
                Err(TrySendError::Closed(_)) => {}
            }
        }
        sent
    }
}

/// A session registered under its client id with its first connection, not yet running.
pub(crate) struct Starting {
    task: Box<SessionTask>,
    first: Box<Attach>,
}

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

/// Registers a new session under `client_id` for the connection `first`; the caller holds the registry lock
/// and then runs it.
pub(crate) fn start(
    shared: &Arc<Shared>,
    registry: &mut HashMap<Arc<str>, SessionHandle>,
    client_id: Arc<str>,
    session: ServerSession,
    first: Box<Attach>,
) -> Starting {
    Starting {
        task: register(shared, registry, client_id, session),
        first,
    }
}

/// Registers a session under `client_id` and routes its subscriptions, without starting its task.
fn register(
    shared: &Arc<Shared>,
    registry: &mut HashMap<Arc<str>, SessionHandle>,
    client_id: Arc<str>,
    mut session: ServerSession,
) -> Box<SessionTask> {
    // A restored session's copy of the id gives way to the registry's: one allocation per client.
    session.share_client_id(&client_id);
    let tx = Arc::new(Mailbox::default());
    registry.insert(
        Arc::clone(&client_id),
        SessionHandle {
            control: Arc::clone(&tx),
        },
    );
    // A restored session may expire before anyone connects: its orphans need its filters.
    let share = share_state(session.subscriptions());
    let task = SessionTask {
        shared: Arc::clone(shared),
        me: ClientRef { tx },
        info: ClientInfo::new(client_id),
        session,
        conn: None,
        timer: None,
        assigned: None,
        routing: None,
        counted: false,
        close_conn: false,
        online: false,
        share,
    };
    // Boxed: an async fn keeps its by-value arguments apart from its locals, so a by-value task would sit in
    // the per-connection future twice (about 1.5 KiB more per connection).
    let task = Box::new(task);
    task.sync_router();
    task
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

/// A frame read from the connection.
enum Frame {
    Packet(Packet),
    Error(mqtt_codec::Error),
    Eof,
}

fn frame(item: Option<Result<Packet, mqtt_codec::Error>>) -> Frame {
    match item {
        Some(Ok(packet)) => Frame::Packet(packet),
        Some(Err(e)) => Frame::Error(e),
        None => Frame::Eof,
    }
}

/// The next frame from the connection (never ready without one). A connection with nothing to read holds no
/// read buffer: when a read finds no data and no partial packet, the buffer is given back and the task waits
/// for readability without one (an idle connection would otherwise keep most of its memory in it); the next
/// data gets a fresh buffer.
fn poll_frame(conn: &mut Option<Box<Conn>>, cx: &mut Context<'_>) -> Poll<Frame> {
    let Some(framed) = conn else {
        return Poll::Pending;
    };
    loop {
        if framed.read_buffer().capacity() == 0 {
            match framed.get_ref().poll_read_ready(cx) {
                Poll::Pending => return Poll::Pending,
                // Readable, or an error that the read below reports.
                Poll::Ready(_) => framed.read_buffer_mut().reserve(READ_BUFFER),
            }
        }
        match framed.poll_next_unpin(cx) {
            Poll::Ready(item) => return Poll::Ready(frame(item)),
            // Only an empty buffer can go: a partly read packet stays.
            Poll::Pending if framed.read_buffer().is_empty() => *framed.read_buffer_mut() = BytesMut::new(),
            Poll::Pending => return Poll::Pending,
        }
    }
}

/// A session's shared subscriptions and the messages it could not deliver through them (v5 section 4.8.2).
#[derive(Default)]
struct ShareState {
    /// The `$share/...` filters, kept here because the session forgets its subscriptions before it reports
    /// the messages it could not deliver.
    filters: Vec<TopicFilter>,
    /// `filters` is to be re-read from the session once pending orphans are handled.
    refresh: bool,
    /// Messages the session ended (or a Clean Start discarded) without delivering, that came through one of
    /// `filters`: they go to another member of the group.
    orphans: Vec<Message>,
}

/// The share state for `subscriptions`: `None` without shared subscriptions.
fn share_state(subscriptions: &[mqtt_session::Subscription]) -> Option<Box<ShareState>> {
    let filters: Vec<TopicFilter> = subscriptions
        .iter()
        .filter(|s| s.filter.is_shared())
        .map(|s| s.filter.clone())
        .collect();
    (!filters.is_empty()).then(|| {
        Box::new(ShareState {
            filters,
            ..ShareState::default()
        })
    })
}

/// The session task's one timer, set to `at`: created on first use (a session with no keep-alive, will delay
/// or expiry and a socket that always takes its writes never needs one), moved only when the deadline
/// changes (a later deadline is a cheap update in tokio's timer wheel).
fn arm(timer: &mut Option<Pin<Box<Sleep>>>, at: Instant) -> Pin<&mut Sleep> {
    let at = tokio::time::Instant::from_std(at);
    let timer = timer.get_or_insert_with(|| Box::pin(tokio::time::sleep_until(at)));
    if timer.deadline() != at {
        timer.as_mut().reset(at);
    }
    timer.as_mut()
}

/// What woke an idle session task.
enum Wake {
    Control(Control),
    Frame(Frame),
    Delivery(Delivery),
    Timeout,
    /// Nothing happened for `[limits] park_after_ms`: hand the session to the parking lot.
    Park,
}

/// How long a running session task has been idle: a local of [`SessionTask::serve`], so the parking lot never
/// holds it (a session resumes idle since its resumption, with no park check pending and its queues shrunk at
/// its first wait).
struct Idle {
    /// When the task last woke for something other than its timer (the idle time that parks counts from here).
    active_at: Instant,
    /// When the task next looks whether it has been idle long enough to park (moved only when it looks, so
    /// a busy session does not move its timer on every wake-up).
    park_check: Option<Instant>,
    /// When the session's queues were last shrunk (`None`: at the next wait).
    shrunk_at: Option<Instant>,
}

impl Idle {
    fn since(active_at: Instant) -> Self {
        Idle {
            active_at,
            park_check: None,
            shrunk_at: None,
        }
    }
}

/// The earlier of two optional instants.
fn earliest(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, None) => a,
        (None, b) => b,
    }
}

struct SessionTask {
    shared: Arc<Shared>,
    me: ClientRef,
    /// Who the session belongs to, from its latest CONNECT (the context for functions and the ACL). Its
    /// `client_id` is the registry key's copy, the session's only one.
    info: ClientInfo,
    session: ServerSession,
    conn: Option<Box<Conn>>,
    /// Keep-alive, will-delay, expiry and park-check deadlines while waiting, the write timeout while writing.
    timer: Option<Pin<Box<Sleep>>>,
    /// The client id the broker assigned to the pending CONNECT, for its CONNACK (boxed: rare, and only
    /// until that CONNACK, while every parked session would carry the room for it).
    assigned: Option<Box<ByteStr>>,
    /// Created by the session's first publish: a session that only subscribes never needs its buffer.
    routing: Option<Box<Routing>>,
    /// Whether this session counts in `clients_connected`.
    counted: bool,
    /// The session reported `Closed`: drop the socket once pending packets are written.
    close_conn: bool,
    /// What the mailbox was last told about the client being connected (told again only when it changes:
    /// that takes the mailbox's lock).
    online: bool,
    /// Shared subscriptions and their undelivered messages; boxed and absent for the many sessions without
    /// shared subscriptions.
    share: Option<Box<ShareState>>,
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
            // `wake` (a frame is some 230 B) ends in this block, before any await: held across one, it would
            // take that room in the future of every session task.
            let command = {
                // The only await while idle: small, so an idle connection's task is small.
                let wake = std::future::poll_fn(|cx| self.poll_wake(cx, !shutting_down, &mut idle)).await;
                if !matches!(wake, Wake::Timeout | Wake::Park) {
                    idle.active_at = Instant::now();
                }
                match wake {
                    Wake::Control(command) => Some(command),
                    Wake::Frame(frame) => {
                        if self.on_frame(frame) {
                            self.read_ready();
                        }
                        None
                    }
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
        if let Poll::Ready(frame) = poll_frame(&mut self.conn, cx) {
            return Poll::Ready(Wake::Frame(frame));
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

    /// `[limits] park_after_ms`, when the broker parks idle sessions.
    fn park_after(&self) -> Option<std::time::Duration> {
        let ms = self.shared.config.limits.park_after_ms;
        (ms > 0 && self.shared.lot.is_some()).then(|| std::time::Duration::from_millis(ms))
    }

    /// Whether the session can wait in the parking lot: nothing half read or unwritten on its connection and
    /// nothing left to hand on.
    fn parkable(&self) -> bool {
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
    fn park(
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
    fn reconnect(&mut self, socket: std::net::TcpStream, codec: MqttCodec) {
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
    fn shrink_when_quiet(&mut self, idle: &mut Idle) {
        let now = Instant::now();
        if idle.shrunk_at.is_none_or(|at| now.duration_since(at) >= SHRINK_EVERY) {
            idle.shrunk_at = Some(now);
            self.session.shrink_to_fit();
        }
    }

    /// Takes over (or resumes) the session with a new connection and feeds its CONNECT. Gives the connection
    /// back when it needs a new session: its CONNECT asks for Clean Start, which discards this one
    /// [MQTT-3.1.2-4], or this session ended when the taken-over connection closed (Session Expiry Interval 0).
    /// A new session is a new task with its own router key and queue, so nothing routed to this session's
    /// subscriptions can reach it.
    async fn attach(&mut self, attach: Attach, idle: &mut Idle) -> Result<ConnectionGuard, Box<Attach>> {
        let now = Instant::now();
        if self.conn.is_some() || self.session.is_connected() {
            // DISCONNECT 0x8E to the old connection and close it [MQTT-3.1.4-3]; its will follows the rules of
            // any close without a normal DISCONNECT (published now, or held for its delay) [MQTT-3.1.2-8].
            self.session.take_over(now);
            self.drive().await;
            self.conn = None;
        }
        // A session that never accepted a CONNECT has no client id and nothing to discard.
        let used = !self.session.client_id().is_empty();
        if (attach.connect.clean_start && used) || self.session.is_ended() {
            // Ending the session publishes a will still held for its delay [MQTT-3.1.2-8].
            self.session.discard(now);
            self.drive().await;
            return Err(Box::new(attach));
        }
        let Attach {
            framed,
            connect,
            client,
            assigned,
            guard,
        } = attach;
        self.info = ClientInfo {
            client_id: Arc::clone(&self.info.client_id),
            ..client
        };
        self.assigned = assigned.map(Box::new);
        self.conn = Some(Box::new(framed));
        idle.shrunk_at = None;
        // A new connection counts as idle from before its CONNECT: it parks as soon as its CONNACK is written
        // and nothing else is waiting (most devices connect, subscribe and then wait), so a burst of
        // connections never holds a task each, and the memory of the tasks it ends is reused by the next.
        if let Some(after) = self.park_after() {
            idle.active_at = now.checked_sub(after).unwrap_or(now);
            idle.park_check = None;
        }
        if let Err(error) = self.session.handle_packet(now, Packet::Connect(connect)) {
            tracing::debug!(%error, client_id = &*self.info.client_id, "CONNECT refused");
        }
        self.drive().await;
        Ok(guard)
    }

    /// Feeds one frame to the session; true while the connection may carry more packets.
    fn on_frame(&mut self, frame: Frame) -> bool {
        let now = Instant::now();
        match frame {
            Frame::Packet(packet) => {
                let size = packet.encoded_len(self.session.protocol_version());
                Stats::add(&self.shared.stats.bytes_received, size as u64);
                if let Err(error) = self.session.handle_packet(now, packet) {
                    tracing::debug!(%error, client_id = &*self.info.client_id, "protocol error; connection closed");
                    return false;
                }
                self.session.is_connected()
            }
            Frame::Error(mqtt_codec::Error::Io { .. }) | Frame::Eof => {
                self.session.connection_lost(now);
                false
            }
            Frame::Error(error) => {
                tracing::debug!(%error, client_id = &*self.info.client_id, "malformed packet; connection closed");
                self.session.handle_decode_error(now, &error);
                false
            }
        }
    }

    /// Feeds the packets that are already readable without waiting (at most a batch), so their answers
    /// and the deliveries they cause go out in one write instead of one write per packet.
    fn read_ready(&mut self) {
        for _ in 1..BATCH {
            let Some(framed) = self.conn.as_mut() else { return };
            let Some(item) = framed.next().now_or_never() else {
                return;
            };
            if !self.on_frame(frame(item)) {
                return;
            }
        }
    }

    /// A message the router sent this session: downstream functions, then the session's queue.
    fn deliver(&mut self, message: Outgoing) {
        let now = Instant::now();
        match &self.shared.functions {
            Some(f) if f.binds(Direction::Downstream) => {
                let Outgoing {
                    message,
                    subscription_ids,
                } = message;
                for m in f.process(Direction::Downstream, message, &self.info) {
                    self.session.publish(now, Outgoing::new(m, subscription_ids.clone()));
                }
            }
            // No downstream binding: straight to the session, with no one-element `Vec` per delivery.
            _ => self.session.publish(now, message),
        }
    }

    /// Tells the mailbox (for share groups) whether the client is connected now.
    fn report_online(&mut self) {
        self.set_online(self.conn.is_some() && self.session.is_connected());
    }

    /// Tells the mailbox whether the client is connected, if that changed (it takes the mailbox's lock).
    fn set_online(&mut self, online: bool) {
        if online != self.online {
            self.online = online;
            self.me.tx.set_online(online);
        }
    }

    /// Handles events and writes packets until the session has nothing more to say.
    async fn drive(&mut self) {
        loop {
            let mut progressed = false;
            while let Some(event) = self.session.poll_event() {
                progressed = true;
                self.on_event(event);
            }
            if !self.write_out().await {
                self.conn = None;
                self.session.connection_lost(Instant::now());
                progressed = true;
            }
            if !progressed {
                break;
            }
        }
        if self.close_conn {
            self.close_conn = false;
            self.conn = None;
        }
        if !self.session.is_ended() {
            // A Clean Start discarded the old session's messages: the new connection's subscriptions are in
            // the router by now, so the old ones no longer attract the orphans.
            self.reroute_orphans();
        }
        if self.share.as_ref().is_some_and(|s| s.refresh && s.orphans.is_empty()) {
            self.share = share_state(self.session.subscriptions());
        }
    }

    /// Writes every pending packet; false when the connection failed or stalled past the write timeout.
    ///
    /// Packets are encoded straight into the write buffer and written with one system call per buffer
    /// (at most [`WRITE_BUFFER`] bytes are encoded ahead of a write); no packet is held across an await,
    /// which keeps the session task's future (allocated once per connection) small.
    async fn write_out(&mut self) -> bool {
        let Some(framed) = self.conn.as_mut() else {
            while self.session.poll_transmit().is_some() {}
            return true;
        };
        let session = &mut self.session;
        let timer = &mut self.timer;
        let stats = &self.shared.stats;
        let timeout = std::time::Duration::from_millis(self.shared.config.limits.write_timeout_ms.max(1));
        let version = session.protocol_version();
        // Encoding reads the codec's version and peer limit only; a copy lets it write into the buffer.
        let mut codec = framed.codec().clone();
        // Set when a write first has to wait: a socket that takes the bytes at once never touches the timer.
        let mut deadline = None;
        let written = async {
            let mut any = false;
            loop {
                while framed.write_buffer().len() < WRITE_BUFFER {
                    let Some(packet) = session.poll_transmit() else { break };
                    let len = packet.encoded_len(version);
                    let buffer = framed.write_buffer_mut();
                    if !any {
                        // Room for this packet only: a lone answer (a CONNACK, a PINGRESP, an ack) does not
                        // take a full write buffer for a moment, which left holes in the heap between the
                        // sessions of a burst of new connections.
                        buffer.reserve(len);
                        any = true;
                    } else if buffer.capacity() < WRITE_BUFFER {
                        // A batch: room for one full write at once.
                        buffer.reserve(WRITE_BUFFER.saturating_sub(buffer.len()).max(len));
                    }
                    if let Packet::Publish(_) = &packet {
                        Stats::add(&stats.messages_sent, 1);
                    }
                    Stats::add(&stats.bytes_sent, len as u64);
                    Encoder::<&Packet>::encode(&mut codec, &packet, framed.write_buffer_mut())?;
                }
                if framed.write_buffer().is_empty() {
                    break;
                }
                let flushed = std::future::poll_fn(|cx| match Sink::<Packet>::poll_flush(Pin::new(&mut *framed), cx) {
                    Poll::Ready(result) => Poll::Ready(Some(result)),
                    Poll::Pending => {
                        let at = *deadline.get_or_insert_with(|| Instant::now() + timeout);
                        arm(timer, at).poll(cx).map(|()| None)
                    }
                })
                .await;
                match flushed {
                    Some(result) => result?,
                    None => return Ok(false),
                }
            }
            if any {
                // Written out: give the buffer back rather than keep it for an idle connection.
                *framed.write_buffer_mut() = BytesMut::new();
            }
            Ok::<bool, mqtt_codec::Error>(true)
        };
        match written.await {
            Ok(true) => true,
            Ok(false) => {
                tracing::info!(
                    client_id = &*self.info.client_id,
                    "client stopped reading; connection dropped"
                );
                false
            }
            Err(error) => {
                tracing::debug!(%error, client_id = &*self.info.client_id, "write failed");
                false
            }
        }
    }

    /// The ACL (or custom [`super::Authorizer`]) first, then the authorize hook if one is configured. `Err`
    /// carries the reason code to answer with: the ACL's own denials are 0x87 for a publish and 0x80 for a
    /// subscribe; the hook's carry the code the function chose.
    fn allowed(&self, action: Action, topic: &str, qos: QoS, retain: bool) -> Result<(), ReasonCode> {
        if !self.shared.authorizer.authorize(&self.info, action, topic) {
            return Err(match action {
                Action::Publish => ReasonCode::NotAuthorized,
                Action::Subscribe => ReasonCode::UnspecifiedError, // 0x80, also the 3.1.1 failure code
            });
        }
        match &self.shared.authorize_hook {
            Some(hook) => hook.check(&self.info, action, topic, qos, retain),
            None => Ok(()),
        }
    }

    fn on_event(&mut self, event: Event) {
        let now = Instant::now();
        match event {
            Event::Connect(connect) => {
                if let (Some(framed), Some(max)) = (self.conn.as_mut(), connect.properties.maximum_packet_size) {
                    framed.codec_mut().set_peer_max_packet_size(max.get() as usize);
                }
                let accept = Accept {
                    assigned_client_id: self.assigned.take().map(|id| *id),
                    ..Accept::default()
                };
                if let Err(error) = self.session.accept(now, accept) {
                    tracing::warn!(%error, client_id = &*self.info.client_id, "accept failed");
                    return;
                }
                // The session copied the id from the CONNECT; the registry's copy serves both.
                self.session.share_client_id(&self.info.client_id);
                // Online before the CONNACK is written: a client that publishes to its share group right
                // after its CONNACK must find itself (and any member that just came back) counted in.
                self.set_online(true);
                if !self.counted {
                    self.counted = true;
                    Stats::add(&self.shared.stats.clients_connected, 1);
                }
                tracing::debug!(client_id = &*self.info.client_id, peer = ?self.info.peer_addr, "client connected");
                // A clean start emptied the session's subscriptions; a resumed one keeps them.
                self.sync_router();
                match &mut self.share {
                    Some(share) => share.refresh = true,
                    // No old shared subscriptions, so no orphans to wait for.
                    None => self.share = share_state(self.session.subscriptions()),
                }
            }
            Event::Publish { message, ack } => {
                Stats::add(&self.shared.stats.messages_received, 1);
                let verdict = self.allowed(Action::Publish, message.topic.as_str(), message.qos, message.retain);
                if let Err(code) = verdict {
                    Stats::add(&self.shared.stats.messages_dropped, 1);
                    tracing::debug!(
                        client_id = &*self.info.client_id,
                        topic = message.topic.as_str(),
                        reason = ?code,
                        "publish denied"
                    );
                    if let Some(ack) = ack {
                        self.session.acknowledge(ack, code);
                    }
                    return;
                }
                self.publish_upstream(now, message);
                if let Some(ack) = ack {
                    self.session.acknowledge(ack, ReasonCode::Success);
                }
            }
            Event::Will(message) => {
                let verdict = self.allowed(Action::Publish, message.topic.as_str(), message.qos, message.retain);
                if verdict.is_ok() {
                    self.publish_upstream(now, message);
                }
            }
            Event::Subscribe(request) => self.subscribe(now, request),
            Event::Unsubscribe { filters } => {
                let mut router = self
                    .shared
                    .router
                    .write()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                for filter in &filters {
                    router.unsubscribe(&self.me, filter);
                }
                if let Some(share) = &mut self.share {
                    share.filters.retain(|f| !filters.contains(f));
                }
            }
            Event::Dropped {
                message,
                reason: DropReason::SessionEnded,
            } => self.orphan(message),
            Event::Dropped { message, reason } => {
                Stats::add(&self.shared.stats.messages_dropped, 1);
                tracing::debug!(
                    client_id = &*self.info.client_id,
                    topic = message.topic.as_str(),
                    ?reason,
                    "message dropped"
                );
            }
            Event::Closed(reason) => {
                if self.counted {
                    self.counted = false;
                    self.shared
                        .stats
                        .clients_connected
                        .fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
                }
                tracing::debug!(client_id = &*self.info.client_id, ?reason, "connection closed");
                self.close_conn = true;
            }
            Event::SessionEnded => {
                tracing::debug!(client_id = &*self.info.client_id, "session ended");
            }
        }
    }

    fn publish_upstream(&mut self, now: Instant, message: Message) {
        match &self.shared.functions {
            Some(f) if f.binds(Direction::Upstream) => {
                for m in f.process(Direction::Upstream, message, &self.info) {
                    self.routing
                        .get_or_insert_default()
                        .route(&self.shared, now, m, Some(&self.me));
                }
            }
            // No upstream binding: routed as it is, with no one-element `Vec` per message.
            _ => {
                self.routing
                    .get_or_insert_default()
                    .route(&self.shared, now, message, Some(&self.me));
            }
        }
    }

    fn subscribe(&mut self, now: Instant, request: mqtt_session::SubscribeRequest) {
        let maximum_qos = self.shared.server_config.maximum_qos;
        let mut reasons = Vec::with_capacity(request.filters.len());
        let mut retained = Vec::new();
        for wanted in &request.filters {
            let verdict = self.allowed(Action::Subscribe, wanted.filter.as_str(), wanted.options.qos, false);
            if let Err(code) = verdict {
                tracing::debug!(
                    client_id = &*self.info.client_id,
                    filter = wanted.filter.as_str(),
                    reason = ?code,
                    "subscribe denied"
                );
                reasons.push(code); // a 3.1.1 SUBACK carries every failure as 0x80
                continue;
            }
            let mut options = wanted.options;
            options.qos = options.qos.min(maximum_qos);
            let result = self
                .shared
                .router
                .write()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .subscribe(self.me.clone(), &wanted.filter, options, request.subscription_id);
            if let Err(error) = result {
                reasons.push(error.reason_code());
                continue;
            }
            if wanted.filter.is_shared() {
                let share = self.share.get_or_insert_default();
                if !share.filters.contains(&wanted.filter) {
                    share.filters.push(wanted.filter.clone());
                }
            }
            reasons.push(match options.qos {
                QoS::AtMostOnce => ReasonCode::GRANTED_QOS0,
                QoS::AtLeastOnce => ReasonCode::GrantedQoS1,
                QoS::ExactlyOnce => ReasonCode::GrantedQoS2,
            });
            // Retained messages: never for shared subscriptions, else per Retain Handling
            // [MQTT-3.3.1-9] [MQTT-3.3.1-10] [MQTT-3.3.1-11].
            let send = !wanted.filter.is_shared()
                && match options.retain_handling {
                    RetainHandling::SendAtSubscribe => true,
                    RetainHandling::SendIfNew => !wanted.existed,
                    RetainHandling::DoNotSend => false,
                };
            if send {
                let store = self
                    .shared
                    .retained
                    .read()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                store.for_each_match(&wanted.filter, now, |r| {
                    let mut m = r.message.clone();
                    m.qos = m.qos.min(options.qos);
                    m.retain = true;
                    retained.push(Outgoing::new(m, request.subscription_id.into_iter().collect()));
                });
            }
        }
        if let Err(error) = self.session.acknowledge_subscribe(request.packet_id, reasons) {
            tracing::debug!(%error, client_id = &*self.info.client_id, "SUBACK refused");
        }
        for m in retained {
            self.deliver(m);
        }
    }

    /// A message the session gave back undelivered because it ended: kept for another member of a share
    /// group when it came through a shared subscription, otherwise counted as dropped.
    fn orphan(&mut self, message: Message) {
        if let Some(share) = &mut self.share
            && share.filters.iter().any(|f| f.matches(&message.topic))
        {
            share.orphans.push(message);
        } else {
            Stats::add(&self.shared.stats.messages_dropped, 1);
            tracing::debug!(
                client_id = &*self.info.client_id,
                topic = message.topic.as_str(),
                "session ended; undelivered message dropped"
            );
        }
    }

    /// Hands every orphan to the member its share group picks now, other than this session (v5 section
    /// 4.8.2: "If the Client's Session terminates before the Client reconnects, the Server SHOULD send the
    /// Application Message to another Client that is subscribed to the same Shared Subscription"). A message
    /// that also matched a non-shared subscription of this session may so reach the group twice, which QoS 1
    /// allows; one no other member can take is counted as dropped.
    fn reroute_orphans(&mut self) {
        let Some(share) = self.share.as_mut().filter(|s| !s.orphans.is_empty()) else {
            return;
        };
        let orphans = std::mem::take(&mut share.orphans);
        let filters: &[TopicFilter] = self.share.as_ref().map_or(&[], |s| &s.filters);
        let router = self
            .shared
            .router
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for message in orphans {
            let mut groups: Vec<&str> = filters
                .iter()
                .filter(|f| f.matches(&message.topic))
                .filter_map(|f| f.share_group())
                .collect();
            groups.dedup();
            let mut handed = 0;
            let base = Arc::new(message.clone());
            router.visit(&message.topic, None, |m| {
                let Some(at) = m.share_group.and_then(|g| groups.iter().position(|mine| *mine == g)) else {
                    return;
                };
                if *m.client == self.me {
                    return;
                }
                groups.swap_remove(at);
                let delivery = Delivery {
                    message: Arc::clone(&base),
                    qos: message.qos.min(m.options.qos),
                    retain: message.retain && m.options.retain_as_published,
                    subscription_ids: m.subscription_id.into_iter().collect(),
                };
                if m.client.tx.try_send(delivery, self.shared.post()).is_ok() {
                    handed += 1;
                }
            });
            if handed == 0 {
                Stats::add(&self.shared.stats.messages_dropped, 1);
            }
            tracing::debug!(
                client_id = &*self.info.client_id,
                topic = message.topic.as_str(),
                handed,
                "undelivered shared-subscription message handed to another member"
            );
        }
    }

    /// Makes the router hold exactly the session's subscriptions.
    fn sync_router(&self) {
        let mut router = self
            .shared
            .router
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        router.remove_client(&self.me);
        for s in self.session.subscriptions() {
            if let Err(error) = router.subscribe(self.me.clone(), &s.filter, s.options, s.id) {
                tracing::warn!(%error, client_id = &*self.info.client_id, filter = s.filter.as_str(), "subscription not restored");
            }
        }
    }

    /// The state to save while running, if the session outlives its connection. A live connection is
    /// recorded as ending now: if the broker dies before the next save, the session's expiry (and will) count
    /// from this save.
    fn persistent_snapshot(&self) -> Option<SessionSnapshot> {
        if self.session.is_ended() || self.session.session_expiry_interval() == 0 {
            return None;
        }
        let mut snapshot = self.session.snapshot();
        snapshot.disconnected_at.get_or_insert_with(Instant::now);
        Some(snapshot)
    }

    /// Graceful stop, first step: DISCONNECT 0x8B; the will is handled as for any close that is not a normal
    /// DISCONNECT [MQTT-3.1.2-8] (published now, or held for its delay, which the saved session keeps).
    async fn close_for_shutdown(&mut self) {
        if self.session.is_connected() {
            self.session.close(Instant::now(), ReasonCode::ServerShuttingDown);
        }
        self.drive().await;
        self.conn = None;
    }

    /// Graceful stop, last step: queues what the router sent (the other sessions' wills among it) and saves the
    /// session when it outlives its connection.
    async fn save(&mut self) {
        self.me.tx.close_deliveries();
        while let Some(delivery) = self.me.tx.try_recv_delivery() {
            self.deliver(delivery.into_outgoing());
        }
        self.drive().await;
        if !self.session.is_ended() && self.session.session_expiry_interval() > 0 {
            lock(&self.shared.store).push(self.session.snapshot());
        }
    }

    /// Unregisters the session and hands `handoff` and connections that raced with its end to a fresh session.
    fn finish(mut self, shutting_down: bool, handoff: Option<Box<Attach>>) {
        let shared = Arc::clone(&self.shared);
        let mut registry = lock(&shared.sessions);
        if registry
            .get(&self.info.client_id)
            .is_some_and(|h| Arc::ptr_eq(&h.control, &self.me.tx))
        {
            registry.remove(&self.info.client_id);
        }
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
            if let Some(starting) =
                super::connection::attach_to(&self.shared, &mut registry, Arc::clone(&self.info.client_id), attach)
            {
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

/// A session waiting in the parking lot, with its connection's codec and its place in the connection count.
pub(crate) struct Parked {
    task: Box<SessionTask>,
    guard: Option<ConnectionGuard>,
    codec: Option<MqttCodec>,
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The boxed session task is what every parked connection holds (besides its mailbox and client id):
    /// growing it grows the broker's memory per idle connection. State that only a running task needs
    /// belongs in `serve`'s future ([`Idle`]), which the lot does not keep.
    #[cfg(target_pointer_width = "64")]
    #[test]
    fn parked_session_task_stays_small() {
        let size = std::mem::size_of::<SessionTask>();
        assert!(
            size <= 424,
            "SessionTask is {size} B, budget 424 B (a 432-byte malloc chunk)"
        );
    }
}
