//! CONNECT handling: the broker's decision, CONNACK with the negotiated limits, and the start of a resumed session.

use std::sync::Arc;
use std::time::Instant;

use mqtt_codec::{ConnAck, Connect, Packet, QoS, ReasonCode};

use super::lifecycle::{owned_will, will_message};
use super::{NEVER, PendingConnect, ServerSession, State, sink};
use crate::Error;
use crate::event::{Accept, CloseReason, Event};
use crate::thin::ThinDeque;

impl ServerSession {
    /// Accepts the pending CONNECT: CONNACK, then the re-sends of a resumed session.
    pub fn accept(&mut self, now: Instant, accept: Accept) -> Result<(), Error> {
        let State::Deciding(pending) = &self.state else {
            return Err(Error::NoPendingConnect);
        };
        let assigned = if pending.client_id.is_empty() {
            Some(accept.assigned_client_id.ok_or(Error::MissingAssignedClientId)?)
        } else {
            None
        };
        let State::Deciding(pending) = std::mem::replace(&mut self.state, State::Connected) else {
            return Err(Error::NoPendingConnect);
        };
        let p = *pending;
        let mut early = p.early;
        let v5 = p.version.is_v5();

        // [MQTT-3.1.2-4]: Clean Start discards the session; [MQTT-3.2.2-2] [MQTT-3.2.2-3]: Session Present.
        if p.clean_start {
            self.report_undelivered();
            // The previous session ends here, so a will still waiting for its delay goes out now [MQTT-3.1.2-8];
            // only a session that continues cancels it [MQTT-3.1.3-9].
            if let Some((_, will)) = self.take_pending_will() {
                self.events.push_back(Event::Will(will_message(*will, now)));
            }
            self.flow.clear_session();
            self.subscriptions.clear();
            self.has_session = false;
        }
        let session_present = !p.clean_start && self.has_session;
        self.has_session = true;
        // A decoded client id is a view of the CONNECT frame; an owned copy keeps the session from pinning that
        // frame (password included) for as long as it lives.
        let client_id = assigned.as_ref().unwrap_or(&p.client_id);
        if self.client_id.as_deref() != Some(client_id.as_str()) {
            self.client_id = Some(Arc::from(client_id.as_str()));
        }

        let requested_expiry = if v5 {
            p.session_expiry_interval.unwrap_or(0)
        } else if p.clean_start {
            0
        } else {
            NEVER
        };
        self.session_expiry_interval = requested_expiry.min(self.config.max_session_expiry_interval);
        self.connect_expiry_was_zero = requested_expiry == 0;

        // Keep alive, possibly overridden by Server Keep Alive (v5 only: a 3.1.1 client cannot be told).
        let mut keep_alive = p.keep_alive;
        let mut server_keep_alive = None;
        if v5
            && let Some(max) = self.config.max_keep_alive
            && (keep_alive == 0 || keep_alive > max.get())
        {
            keep_alive = max.get();
            server_keep_alive = Some(keep_alive);
        }
        // [MQTT-3.1.2-22]: one and a half times the keep alive.
        self.keep_alive_ms = u32::from(keep_alive) * 1500;
        self.last_received = Some(now);

        // A new connection cancels a delayed will of the previous one [MQTT-3.1.3-9].
        self.offline = None;
        self.will = p.will.map(|will| Box::new(owned_will(will)));

        let alias_max = if self.config.assign_topic_aliases {
            p.topic_alias_maximum
        } else {
            0
        };
        let send_maximum = p.receive_maximum.min(self.config.send_maximum.get());
        self.flow
            .open(p.version, send_maximum, p.maximum_packet_size, alias_max);
        self.flow.inbound.receive_maximum = self.config.receive_maximum.get();
        self.flow.inbound.topic_alias_maximum = if v5 { self.config.topic_alias_maximum } else { 0 };

        let mut props = accept.properties;
        if v5 {
            if self.config.receive_maximum.get() != u16::MAX {
                props.receive_maximum = Some(self.config.receive_maximum);
            }
            if self.config.maximum_qos != QoS::ExactlyOnce {
                props.maximum_qos = Some(self.config.maximum_qos);
            }
            if !self.config.retain_available {
                props.retain_available = Some(false);
            }
            props.maximum_packet_size = self.config.maximum_packet_size;
            if self.config.topic_alias_maximum > 0 {
                props.topic_alias_maximum = Some(self.config.topic_alias_maximum);
            }
            if server_keep_alive.is_some() {
                props.server_keep_alive = server_keep_alive;
            }
            if self.session_expiry_interval != requested_expiry {
                props.session_expiry_interval = Some(self.session_expiry_interval);
            }
            props.assigned_client_identifier = assigned;
        } else {
            props = Default::default();
        }
        self.flow.transmit.push_back(Packet::ConnAck(Box::new(
            ConnAck::new(ReasonCode::Success, session_present).properties(props),
        )));

        if session_present {
            self.flow.resume(now, &mut sink(&mut self.events));
        } else {
            self.flow.pump(now, &mut sink(&mut self.events));
        }

        // Packets the client sent before CONNACK, in order. An error among them closes the connection (and
        // has been reported as an event), which ends the replay.
        while self.state == State::Connected
            && let Some(packet) = early.pop_front()
        {
            let _ = self.handle_packet(now, packet);
        }
        Ok(())
    }

    /// Refuses the pending CONNECT with `reason` (e.g. 0x86 Bad User Name or Password, 0x87 Not authorized).
    /// The session's stored state, if any, is untouched.
    pub fn reject(&mut self, now: Instant, reason: ReasonCode) -> Result<(), Error> {
        if !matches!(self.state, State::Deciding(_)) {
            return Err(Error::NoPendingConnect);
        }
        self.reject_pending(now, reason);
        Ok(())
    }

    pub(super) fn on_connect(&mut self, _now: Instant, connect: Connect) {
        let v5 = connect.protocol_version.is_v5();
        self.flow.version = connect.protocol_version;
        self.flow.transmit.clear();
        // 3.1.1: an empty client id needs Clean Session 1 ([MQTT-3.1.3-8] of 3.1.1, return code 0x02).
        let refusal = if !v5 && connect.client_id.is_empty() && !connect.clean_start {
            Some(ReasonCode::ClientIdentifierNotValid)
        } else if connect.properties.authentication_method.is_some() {
            // Enhanced authentication (AUTH exchanges, v5 4.12) is not offered: say so up front.
            Some(ReasonCode::BadAuthenticationMethod)
        } else if let Some(will) = &connect.will {
            // [MQTT-3.2.2-12] [MQTT-3.2.2-13]: a will we could not honour refuses the connection.
            if will.qos > self.config.maximum_qos {
                Some(ReasonCode::QoSNotSupported)
            } else if will.retain && !self.config.retain_available {
                Some(ReasonCode::RetainNotSupported)
            } else {
                None
            }
        } else {
            None
        };
        if let Some(code) = refusal {
            self.send_refusal(code);
            return;
        }
        let props = &connect.properties;
        let pending = PendingConnect {
            version: connect.protocol_version,
            clean_start: connect.clean_start,
            keep_alive: connect.keep_alive,
            client_id: connect.client_id.clone(),
            will: connect.will.clone(),
            session_expiry_interval: props.session_expiry_interval,
            receive_maximum: props.receive_maximum.map_or(u16::MAX, |n| n.get()),
            maximum_packet_size: props.maximum_packet_size,
            topic_alias_maximum: props.topic_alias_maximum.unwrap_or(0),
            early: ThinDeque::new(),
        };
        self.state = State::Deciding(Box::new(pending));
        self.events.push_back(Event::Connect(Box::new(connect)));
    }

    pub(super) fn send_refusal(&mut self, code: ReasonCode) {
        // [MQTT-3.2.2-6]: Session Present is 0 on a refusal; [MQTT-3.2.2-7]: then the connection closes.
        self.flow
            .transmit
            .push_back(Packet::ConnAck(Box::new(ConnAck::new(code, false))));
        self.state = State::Disconnected;
        self.events.push_back(Event::Closed(CloseReason::Rejected(code)));
    }

    /// Refuses the pending CONNECT; the packets that came after it go with it.
    pub(super) fn reject_pending(&mut self, _now: Instant, code: ReasonCode) {
        self.send_refusal(code);
    }
}
