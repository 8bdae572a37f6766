//! Shared subscriptions' orphans: messages a session ended without delivering that came through one of its
//! `$share/...` subscriptions go to another member of the group (v5 section 4.8.2).

use std::sync::Arc;

use mqtt_codec::TopicFilter;
use mqtt_router::{Granted, Origin, shape};
use mqtt_session::Message;

use super::task::SessionTask;
use crate::mailbox::Delivery;
use crate::sys::Stats;

impl SessionTask {
    /// A message the session gave back undelivered because it ended: kept for another member of a share
    /// group when it came through a shared subscription, otherwise counted as dropped.
    pub(super) fn orphan(&mut self, message: Message) {
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
    pub(super) fn reroute_orphans(&mut self) {
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
                let delivery = Delivery::new(Arc::clone(&base), shape(&message, Granted::from(&m), Origin::Routed));
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
}
