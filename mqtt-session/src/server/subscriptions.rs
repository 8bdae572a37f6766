//! SUBSCRIBE (answered by the broker), UNSUBSCRIBE (answered by the session) and the session's subscription list.

use mqtt_codec::{Packet, PacketId, QoS, ReasonCode, SubAck, Subscribe, UnsubAck, Unsubscribe};

use super::{PendingSubscribe, ServerSession, State};
use crate::event::{Event, RequestedSubscription, SubscribeRequest};
use crate::{Error, Subscription};

impl ServerSession {
    /// The broker's answer to [`Event::Subscribe`]: one reason code per filter, in order [MQTT-3.9.3-1]
    /// (`GrantedQoS0/1/2` or an error). Granted filters become session subscriptions, replacing any with the
    /// same filter [MQTT-3.8.4-3]; SUBACK is sent with the same packet id [MQTT-3.8.4-2].
    pub fn acknowledge_subscribe(&mut self, packet_id: PacketId, reasons: Vec<ReasonCode>) -> Result<(), Error> {
        let Some(pending) = self.pending_subscribes.remove(&packet_id) else {
            return Err(Error::UnknownSubscribe(packet_id.get()));
        };
        if pending.filters.len() != reasons.len() {
            let expected = pending.filters.len();
            self.pending_subscribes.insert(packet_id, pending);
            return Err(Error::ReasonCountMismatch {
                expected,
                given: reasons.len(),
            });
        }
        for ((filter, mut options), code) in pending.filters.into_iter().zip(&reasons) {
            let Ok(granted) = QoS::from_u8(code.as_u8()) else {
                continue;
            };
            options.qos = granted;
            let sub = Subscription {
                filter,
                options,
                id: pending.id,
            };
            match self
                .subscriptions
                .iter_mut()
                .find(|s| s.filter.as_str() == sub.filter.as_str())
            {
                Some(existing) => *existing = sub,
                None => self.subscriptions.push(sub),
            }
        }
        if self.state == State::Connected {
            self.flow
                .transmit
                .push_back(Packet::SubAck(SubAck::new(packet_id, reasons)));
        }
        Ok(())
    }

    pub(super) fn on_subscribe(&mut self, subscribe: Subscribe) {
        let Subscribe {
            packet_id,
            filters,
            properties,
        } = subscribe;
        let requested = filters
            .iter()
            .map(|(filter, options)| RequestedSubscription {
                filter: filter.clone(),
                options: *options,
                existed: self.subscriptions.iter().any(|s| s.filter.as_str() == filter.as_str()),
            })
            .collect();
        self.pending_subscribes.insert(
            packet_id,
            PendingSubscribe {
                filters,
                id: properties.subscription_identifier,
            },
        );
        self.events.push_back(Event::Subscribe(SubscribeRequest {
            packet_id,
            filters: requested,
            subscription_id: properties.subscription_identifier,
            user_properties: properties.user_properties,
        }));
    }

    pub(super) fn on_unsubscribe(&mut self, unsubscribe: Unsubscribe) {
        let mut reasons = Vec::with_capacity(unsubscribe.filters.len());
        let mut removed = Vec::new();
        for filter in unsubscribe.filters {
            // [MQTT-3.10.4-1]: compared character by character.
            match self
                .subscriptions
                .iter()
                .position(|s| s.filter.as_str() == filter.as_str())
            {
                Some(index) => {
                    self.subscriptions.remove(index);
                    removed.push(filter);
                    reasons.push(ReasonCode::Success);
                }
                None => reasons.push(ReasonCode::NoSubscriptionExisted),
            }
        }
        // [MQTT-3.10.4-4] [MQTT-3.10.4-5]: UNSUBACK with the same id, even when nothing was removed.
        self.flow
            .transmit
            .push_back(Packet::UnsubAck(UnsubAck::new(unsubscribe.packet_id, reasons)));
        if !removed.is_empty() {
            self.events.push_back(Event::Unsubscribe { filters: removed });
        }
    }
}
