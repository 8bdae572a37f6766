//! The broker's graceful stop and its saves, as a session takes part in them: close, save, snapshot.

use std::time::Instant;

use mqtt_codec::ReasonCode;
use mqtt_session::SessionSnapshot;

use super::task::SessionTask;
use crate::sync::lock;

impl SessionTask {
    /// The state to save while running, if the session outlives its connection. A live connection is
    /// recorded as ending now: if the broker dies before the next save, the session's expiry (and will) count
    /// from this save.
    pub(super) fn persistent_snapshot(&self) -> Option<SessionSnapshot> {
        if self.session.is_ended() || self.session.session_expiry_interval() == 0 {
            return None;
        }
        let mut snapshot = self.session.snapshot();
        snapshot.disconnected_at.get_or_insert_with(Instant::now);
        Some(snapshot)
    }

    /// Graceful stop, first step: DISCONNECT 0x8B; the will is handled as for any close that is not a normal
    /// DISCONNECT [MQTT-3.1.2-8] (published now, or held for its delay, which the saved session keeps).
    pub(super) async fn close_for_shutdown(&mut self) {
        if self.session.is_connected() {
            self.session.close(Instant::now(), ReasonCode::ServerShuttingDown);
        }
        self.drive().await;
        self.conn = None;
    }

    /// Graceful stop, last step: queues what the router sent (the other sessions' wills among it) and saves the
    /// session when it outlives its connection.
    pub(super) async fn save(&mut self) {
        self.me.tx.close_deliveries();
        while let Some(delivery) = self.me.tx.try_recv_delivery() {
            self.deliver(delivery.into_outgoing());
        }
        self.drive().await;
        if !self.session.is_ended() && self.session.session_expiry_interval() > 0 {
            lock(&self.shared.store).push(self.session.snapshot());
        }
    }
}
