//! Delivering: a message for this session through the downstream functions into its queue.

use std::time::Instant;

use hpmq_host::Direction;
use mqtt_session::Outgoing;

use super::task::SessionTask;

impl SessionTask {
    /// A message the router sent this session: downstream functions, then the session's queue.
    pub(super) fn deliver(&mut self, message: Outgoing) {
        let now = Instant::now();
        match &self.shared.functions {
            Some(f) if f.binds(Direction::Downstream) => {
                // Functions see the message; what they return goes out for the same subscriptions.
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
}
