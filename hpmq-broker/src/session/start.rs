//! Starting a session: a new one registered under its client id for its first connection, or a saved one
//! restored; a connection for a client id whose session is live goes to that session instead.

use std::sync::Arc;

use mqtt_session::ServerSession;

use super::task::{SessionTask, Shared, share_state};
use crate::mailbox::{Attach, Mailbox};
use crate::registry::Registry;
use crate::state::ClientRef;

/// A session registered under its client id with its first connection, not yet running.
pub(crate) struct Starting {
    pub(super) task: Box<SessionTask>,
    pub(super) first: Box<Attach>,
}

/// Gives the connection to the live session of its client id, or returns a new session for it, registered
/// and ready to run. The caller holds the registry lock.
#[must_use = "a new session does nothing until it runs"]
pub(crate) fn attach_to(
    shared: &Arc<Shared>,
    registry: &mut Registry,
    client_id: Arc<str>,
    attach: Box<Attach>,
) -> Option<Starting> {
    if shared.tasks.is_closed() {
        // The broker is stopping and has told every registered session to stop; a new one would never be.
        tracing::debug!(client_id = &*client_id, "broker stopping; connection closed");
        return None;
    }
    let attach = registry.offer(&client_id, attach, shared.post())?;
    let session = ServerSession::new(Arc::clone(&shared.server_config));
    Some(Starting {
        task: register(shared, registry, client_id, session),
        first: attach,
    })
}

/// Registers a session under `client_id` and routes its subscriptions, without starting its task.
pub(super) fn register(
    shared: &Arc<Shared>,
    registry: &mut Registry,
    client_id: Arc<str>,
    mut session: ServerSession,
) -> Box<SessionTask> {
    // A restored session's copy of the id gives way to the registry's: one allocation per client.
    session.share_client_id(&client_id);
    let tx = Arc::new(Mailbox::default());
    registry.insert(Arc::clone(&client_id), Arc::clone(&tx));
    // A restored session may expire before anyone connects: its orphans need its filters.
    let share = share_state(session.subscriptions());
    let task = SessionTask::new(shared, ClientRef { tx }, client_id, session, share);
    task.sync_router();
    task
}
