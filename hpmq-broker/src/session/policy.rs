//! Event policy: what a session does with each event its `ServerSession` reports: accepting a CONNECT,
//! publishing (ACL, authorize hook, upstream functions, routing), subscribing (ACL, router, retained
//! messages), unsubscribing, undelivered messages and closes.

use std::time::Instant;

use hpmq_host::Direction;
use mqtt_codec::{QoS, ReasonCode};
use mqtt_router::{Granted, Origin, sends_retained, shape};
use mqtt_session::{Accept, DropReason, Event, Message};

use super::task::{SessionTask, share_state};
use crate::auth::Action;
use crate::sys::Stats;

impl SessionTask {
    /// Handles every event the session has reported; false when there was none.
    pub(super) fn handle_events(&mut self) -> bool {
        let mut any = false;
        while let Some(event) = self.session.poll_event() {
            any = true;
            self.on_event(event);
        }
        any
    }

    /// The ACL (or custom [`crate::Authorizer`]) first, then the authorize hook if one is configured. `Err`
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
            if sends_retained(&wanted.filter, options.retain_handling, wanted.existed) {
                let store = self
                    .shared
                    .retained
                    .read()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                let granted = Granted::new(&options, request.subscription_id.as_slice());
                store.for_each_match(&wanted.filter, now, |r| {
                    let shape = shape(&r.message, granted, Origin::RetainedOnSubscribe);
                    retained.push(shape.apply(r.message.clone()));
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

    /// Makes the router hold exactly the session's subscriptions.
    pub(super) fn sync_router(&self) {
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
}
