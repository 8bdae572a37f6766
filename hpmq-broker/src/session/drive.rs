//! Driving: after anything happened to the session, handle what it reported and write what it says.

use std::time::Instant;

use super::task::{SessionTask, share_state};

impl SessionTask {
    /// Handles events and writes packets until the session has nothing more to say.
    pub(super) async fn drive(&mut self) {
        loop {
            let mut progressed = self.handle_events();
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
}
