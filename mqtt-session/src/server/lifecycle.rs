//! How connections end and sessions expire: DISCONNECT in both directions, keep alive, the will and its delay,
//! session expiry.

use std::time::{Duration, Instant};

use mqtt_codec::{Disconnect, Packet, ReasonCode, Will};

use super::{NEVER, Offline, ServerSession, State};
use crate::event::{CloseReason, Event};
use crate::{DropReason, Error, Message};

/// The will a session keeps for the connection's life: its topic and payload are views of the CONNECT frame,
/// and owned copies keep the session from pinning the whole frame (as the client id is copied for the same
/// reason). Properties stay views: a will with properties is rare.
pub(super) fn owned_will(mut will: Will) -> Will {
    if let Ok(topic) = mqtt_codec::TopicName::try_from(will.topic.as_str()) {
        will.topic = topic;
    }
    will.payload = bytes::Bytes::copy_from_slice(&will.payload);
    will
}

/// The will as an application message published at `now`: its Message Expiry Interval runs from publication.
pub(super) fn will_message(will: Will, now: Instant) -> Message {
    Message::from_will(will, now)
}

impl ServerSession {
    /// The transport is gone without a DISCONNECT: the will is due (after its delay) [MQTT-3.1.2-8].
    pub fn connection_lost(&mut self, now: Instant) {
        match self.state {
            State::Connected => self.connection_closed(now, CloseReason::ConnectionLost, true),
            State::Deciding(_) => {
                self.state = State::Disconnected;
                self.events.push_back(Event::Closed(CloseReason::ConnectionLost));
            }
            State::Disconnected | State::Ended => {}
        }
    }

    /// Closes the connection from the server side with `reason` (v5 DISCONNECT, e.g. 0x8B Server shutting down or
    /// 0x98 Administrative action). The will is published as for any close without a normal DISCONNECT.
    pub fn close(&mut self, now: Instant, reason: ReasonCode) {
        match self.state {
            State::Connected => {
                if self.flow.version.is_v5() {
                    self.flow
                        .transmit
                        .push_back(Packet::Disconnect(Disconnect::new(reason)));
                }
                self.connection_closed(now, CloseReason::Server(reason), true);
            }
            State::Deciding(_) => self.reject_pending(now, reason),
            State::Disconnected | State::Ended => {}
        }
    }

    /// Another connection is taking this session over: DISCONNECT 0x8E to the current one [MQTT-3.1.4-3].
    /// Drain [`poll_transmit`](Self::poll_transmit) to the old connection before feeding the new CONNECT.
    pub fn take_over(&mut self, now: Instant) {
        self.close(now, ReasonCode::SessionTakenOver);
    }

    /// Ends the session now instead of at its expiry: for a broker that gives a connection asking for Clean Start
    /// a session of its own rather than feeding its CONNECT here (the existing session is discarded either way
    /// [MQTT-3.1.2-4]). A live connection is closed first as by [`take_over`](Self::take_over) (a pending
    /// CONNECT is refused with 0x80); a will still held for its delay is published, since the session ends
    /// [MQTT-3.1.2-8]; then [`Event::SessionEnded`].
    pub fn discard(&mut self, now: Instant) {
        match self.state {
            State::Connected => self.take_over(now),
            State::Deciding(_) => self.reject_pending(now, ReasonCode::UnspecifiedError),
            State::Disconnected | State::Ended => {}
        }
        if self.state != State::Ended {
            self.end(now);
        }
    }

    /// Calls due timers: keep-alive [MQTT-3.1.2-22], will delay [MQTT-3.1.2-8] and session expiry
    /// [MQTT-4.1.0-2].
    pub fn handle_timeout(&mut self, now: Instant) {
        match self.state {
            State::Connected => {
                if let Some(deadline) = self.poll_timeout()
                    && now >= deadline
                {
                    self.fail(now, &Error::KeepAliveTimeout);
                }
            }
            State::Disconnected => {
                if self.pending_will().is_some_and(|(at, _)| now >= *at)
                    && let Some((_, will)) = self.take_pending_will()
                {
                    self.events.push_back(Event::Will(will_message(*will, now)));
                }
                if self
                    .offline
                    .as_ref()
                    .and_then(|o| o.session_deadline)
                    .is_some_and(|at| now >= at)
                {
                    self.end(now);
                }
            }
            State::Deciding(_) | State::Ended => {}
        }
    }

    pub(super) fn on_disconnect(&mut self, now: Instant, disconnect: Disconnect) -> Result<(), Error> {
        let reason = disconnect.reason_code;
        if self.flow.version.is_v5()
            && let Some(expiry) = disconnect.properties.session_expiry_interval
        {
            if self.connect_expiry_was_zero && expiry != 0 {
                return Err(Error::SessionExpiryAfterZero);
            }
            self.session_expiry_interval = expiry.min(self.config.max_session_expiry_interval);
        }
        // [MQTT-3.14.4-3]: a normal disconnection discards the will; v5 0x04 (and any error code) keeps it.
        let publish_will = self.flow.version.is_v5() && reason != ReasonCode::NORMAL_DISCONNECTION;
        self.connection_closed(now, CloseReason::ClientDisconnect(reason), publish_will);
        Ok(())
    }

    /// A protocol violation on a live connection: DISCONNECT with its reason code (v5), then close.
    pub(super) fn fail(&mut self, now: Instant, err: &Error) {
        if self.state != State::Connected {
            return;
        }
        let code = err.reason_code();
        if self.flow.version.is_v5() {
            self.flow.transmit.push_back(Packet::Disconnect(Disconnect::new(code)));
        }
        self.connection_closed(now, CloseReason::Server(code), true);
    }

    pub(super) fn expiry_deadline(&self, from: Instant) -> Option<Instant> {
        if self.session_expiry_interval == NEVER {
            None
        } else {
            from.checked_add(Duration::from_secs(u64::from(self.session_expiry_interval)))
        }
    }

    pub(super) fn connection_closed(&mut self, now: Instant, reason: CloseReason, publish_will: bool) {
        self.flow.close();
        self.pending_subscribes.clear();
        self.state = State::Disconnected;
        self.offline.get_or_insert_with(|| Offline::new(now)).disconnected_at = now;
        self.last_received = None;
        self.events.push_back(Event::Closed(reason));
        let will = self.will.take();
        if publish_will && let Some(will) = will {
            self.will_after_close(now, *will, self.flow.version.is_v5());
        }
        self.flow.shrink_to_fit();
        // [MQTT-3.1.2-23]: the state is kept only while the Session Expiry Interval runs.
        if self.session_expiry_interval == 0 {
            self.end(now);
        } else {
            let deadline = self.expiry_deadline(now);
            if let Some(offline) = self.offline.as_mut() {
                offline.session_deadline = deadline;
            }
        }
    }

    /// The connection of `will` closed abnormally at `now`: publish it, or hold it for its Will Delay Interval
    /// [MQTT-3.1.2-8] (`v5` false: 3.1.1 has no will delay).
    pub(super) fn will_after_close(&mut self, now: Instant, will: Will, v5: bool) {
        let delay = if v5 {
            will.properties.will_delay_interval.unwrap_or(0)
        } else {
            0
        };
        if delay == 0 {
            self.events.push_back(Event::Will(will_message(will, now)));
        } else {
            let due = now.checked_add(Duration::from_secs(u64::from(delay))).unwrap_or(now);
            self.hold_will(now, due, will);
        }
    }

    /// Holds `will` until `due` (its Will Delay Interval); `now` dates a disconnection not yet recorded.
    pub(super) fn hold_will(&mut self, now: Instant, due: Instant, will: Will) {
        self.offline.get_or_insert_with(|| Offline::new(now)).pending_will = Some((due, Box::new(will)));
    }

    /// The will waiting for its Will Delay Interval, with when it is due.
    pub(super) fn pending_will(&self) -> Option<&(Instant, Box<Will>)> {
        self.offline.as_ref()?.pending_will.as_ref()
    }

    /// Takes the will waiting for its Will Delay Interval.
    pub(super) fn take_pending_will(&mut self) -> Option<(Instant, Box<Will>)> {
        self.offline.as_mut()?.pending_will.take()
    }

    /// Reports every message the session still held for the client as [`DropReason::SessionEnded`], so the
    /// broker can hand shared-subscription messages to another member (v5 section 4.8.2).
    pub(super) fn report_undelivered(&mut self) {
        for outgoing in self.flow.outbound.take_undelivered() {
            self.events.push_back(Event::Dropped {
                message: outgoing.message,
                reason: DropReason::SessionEnded,
            });
        }
    }

    /// The session ends: a will still waiting for its delay goes out now [MQTT-3.1.2-8], the state is discarded
    /// [MQTT-4.1.0-2].
    pub(super) fn end(&mut self, now: Instant) {
        if let Some((_, will)) = self.take_pending_will() {
            self.events.push_back(Event::Will(will_message(*will, now)));
        }
        self.report_undelivered();
        self.flow.clear_session();
        self.subscriptions.clear();
        self.has_session = false;
        if let Some(offline) = self.offline.as_mut() {
            offline.session_deadline = None;
        }
        self.state = State::Ended;
        self.events.push_back(Event::SessionEnded);
    }
}
