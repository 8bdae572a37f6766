//! Routing: one message to the sessions whose subscriptions match it, and into the retained store.

use std::sync::Arc;
use std::time::Instant;

use mqtt_router::{Deliveries, Granted, Origin, shape};
use mqtt_session::Message;

use crate::mailbox::{Delivery, TrySendError};
use crate::park::Unpark;
use crate::state::{ClientRef, State};
use crate::sys::Stats;

/// Routes messages: retained store, router match, one bounded send per receiving session. Owns the
/// reusable [`Deliveries`] buffer.
#[derive(Default)]
pub(crate) struct Routing {
    deliveries: Deliveries<ClientRef>,
}

impl Routing {
    /// Stores a retained message and sends a copy to each matching session; returns how many were sent.
    pub fn route<P: Unpark>(
        &mut self,
        shared: &State<P>,
        now: Instant,
        message: Message,
        publisher: Option<&ClientRef>,
    ) -> usize {
        if message.is_expired(now) {
            return 0;
        }
        if message.retain {
            let mut retained = shared
                .retained
                .write()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if let Err(error) = retained.retain_message(message.clone()) {
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
        let message = Arc::new(message);
        let mut sent = 0;
        let post = shared.post();
        for d in self.deliveries.iter() {
            let delivery = Delivery::new(Arc::clone(&message), shape(&message, Granted::from(&d), Origin::Routed));
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
