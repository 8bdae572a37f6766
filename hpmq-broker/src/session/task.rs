//! What a session task holds, running or parked: the session, its connection and its place in the broker.
//! The session's jobs are `impl SessionTask` blocks in the sibling modules; this one holds the state they
//! share and depends on none of them.

use std::pin::Pin;
use std::sync::Arc;
use std::time::Instant;

use mqtt_codec::{ByteStr, MqttCodec, TopicFilter};
use mqtt_session::{Message, ServerSession};
use tokio::time::Sleep;

use crate::auth::ClientInfo;
use crate::cap::ConnectionGuard;
use crate::framing::Conn;
use crate::routing::Routing;
use crate::state::{ClientRef, State};

/// The broker's shared state, with the parking lot holding session tasks.
pub(crate) type Shared = State<Parked>;

/// Most packets read, or deliveries taken from the inbox, before the session's answers are written: large
/// enough that a busy connection writes many packets per system call, small enough that one busy client
/// cannot keep its task from the timers and control messages for long.
pub(super) const BATCH: usize = 64;

/// One session for its whole life: the sans-IO session, its connection while a client is connected, and its
/// place in the broker (mailbox, router entry, routing buffer). Boxed, and kept whole while parked.
pub(crate) struct SessionTask {
    pub(super) shared: Arc<Shared>,
    pub(super) me: ClientRef,
    /// Who the session belongs to, from its latest CONNECT (the context for functions and the ACL). Its
    /// `client_id` is the registry key's copy, the session's only one.
    pub(super) info: ClientInfo,
    pub(super) session: ServerSession,
    pub(super) conn: Option<Box<Conn>>,
    /// Keep-alive, will-delay, expiry and park-check deadlines while waiting, the write timeout while writing.
    pub(super) timer: Option<Pin<Box<Sleep>>>,
    /// The client id the broker assigned to the pending CONNECT, for its CONNACK (boxed: rare, and only
    /// until that CONNACK, while every parked session would carry the room for it).
    pub(super) assigned: Option<Box<ByteStr>>,
    /// Created by the session's first publish: a session that only subscribes never needs its buffer.
    pub(super) routing: Option<Box<Routing>>,
    /// Whether this session counts in `clients_connected`.
    pub(super) counted: bool,
    /// The session reported `Closed`: drop the socket once pending packets are written.
    pub(super) close_conn: bool,
    /// What the mailbox was last told about the client being connected (told again only when it changes:
    /// that takes the mailbox's lock).
    pub(super) online: bool,
    /// Shared subscriptions and their undelivered messages; boxed and absent for the many sessions without
    /// shared subscriptions.
    pub(super) share: Option<Box<ShareState>>,
}

/// A session waiting in the parking lot, with its connection's codec and its place in the connection count.
pub(crate) struct Parked {
    pub(super) task: Box<SessionTask>,
    pub(super) guard: Option<ConnectionGuard>,
    pub(super) codec: Option<MqttCodec>,
}

/// A session's shared subscriptions and the messages it could not deliver through them (v5 section 4.8.2).
#[derive(Default)]
pub(crate) struct ShareState {
    /// The `$share/...` filters, kept here because the session forgets its subscriptions before it reports
    /// the messages it could not deliver.
    pub(super) filters: Vec<TopicFilter>,
    /// `filters` is to be re-read from the session once pending orphans are handled.
    pub(super) refresh: bool,
    /// Messages the session ended (or a Clean Start discarded) without delivering, that came through one of
    /// `filters`: they go to another member of the group.
    pub(super) orphans: Vec<Message>,
}

/// The share state for `subscriptions`: `None` without shared subscriptions.
pub(super) fn share_state(subscriptions: &[mqtt_session::Subscription]) -> Option<Box<ShareState>> {
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

impl SessionTask {
    /// A disconnected session task for `session`, reached through `me`; boxed: an async fn keeps its
    /// by-value arguments apart from its locals, so a by-value task would sit in the per-connection future
    /// twice (about 1.5 KiB more per connection).
    pub(super) fn new(
        shared: &Arc<Shared>,
        me: ClientRef,
        client_id: Arc<str>,
        session: ServerSession,
        share: Option<Box<ShareState>>,
    ) -> Box<Self> {
        Box::new(SessionTask {
            shared: Arc::clone(shared),
            me,
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
        })
    }

    /// Tells the mailbox (for share groups) whether the client is connected now.
    pub(super) fn report_online(&mut self) {
        self.set_online(self.conn.is_some() && self.session.is_connected());
    }

    /// Tells the mailbox whether the client is connected, if that changed (it takes the mailbox's lock).
    pub(super) fn set_online(&mut self, online: bool) {
        if online != self.online {
            self.online = online;
            self.me.tx.set_online(online);
        }
    }
}

/// The session task's one timer, set to `at`: created on first use (a session with no keep-alive, will delay
/// or expiry and a socket that always takes its writes never needs one), moved only when the deadline
/// changes (a later deadline is a cheap update in tokio's timer wheel).
pub(super) fn arm(timer: &mut Option<Pin<Box<Sleep>>>, at: Instant) -> Pin<&mut Sleep> {
    let at = tokio::time::Instant::from_std(at);
    let timer = timer.get_or_insert_with(|| Box::pin(tokio::time::sleep_until(at)));
    if timer.deadline() != at {
        timer.as_mut().reset(at);
    }
    timer.as_mut()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The boxed session task is what every parked connection holds (besides its mailbox and client id):
    /// growing it grows the broker's memory per idle connection. State that only a running task needs
    /// belongs in `serve`'s future (`Idle`), which the lot does not keep.
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
