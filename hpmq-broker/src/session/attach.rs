//! A new connection for a live session: takeover, resume, or hand-off when it needs a new session.

use std::sync::Arc;
use std::time::Instant;

use mqtt_codec::Packet;

use super::park::Idle;
use super::task::SessionTask;
use crate::auth::ClientInfo;
use crate::cap::ConnectionGuard;
use crate::mailbox::Attach;

impl SessionTask {
    /// Takes over (or resumes) the session with a new connection and feeds its CONNECT. Gives the connection
    /// back when it needs a new session: its CONNECT asks for Clean Start, which discards this one
    /// [MQTT-3.1.2-4], or this session ended when the taken-over connection closed (Session Expiry Interval 0).
    /// A new session is a new task with its own router key and queue, so nothing routed to this session's
    /// subscriptions can reach it.
    pub(super) async fn attach(&mut self, attach: Attach, idle: &mut Idle) -> Result<ConnectionGuard, Box<Attach>> {
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
}
