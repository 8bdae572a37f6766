//! Model-based property test of the will message and session lifetime on the server: random connects (v5 and
//! 3.1.1, clean or not, with or without a will and its delay, any session expiry), normal and abnormal closes
//! and time passing, against an oracle written from the specification:
//!
//! - the will is published after a close that is not a normal DISCONNECT (v5 0x04 counts as abnormal)
//!   [MQTT-3.1.2-8] [MQTT-3.14.4-3], never after a normal one [MQTT-3.1.2-10];
//! - at the earlier of its Will Delay Interval and the end of the session [MQTT-3.1.2-8], exactly once;
//! - not at all if the client reconnects to the session first [MQTT-3.1.3-9], at once if it reconnects with
//!   Clean Start (the old session ends) [MQTT-3.1.2-4];
//! - the session ends when its expiry interval has passed since the close [MQTT-4.1.0-2] (at once for 0), and
//!   Session Present reports whether state was resumed [MQTT-3.2.2-2] [MQTT-3.2.2-3].

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::time::{Duration, Instant};

use mqtt_codec::properties::{ConnectProperties, WillProperties};
use mqtt_codec::{ByteStr, Connect, Disconnect, Packet, ProtocolVersion, ReasonCode, TopicName, Will};
use mqtt_session::{Accept, Event, ServerConfig, ServerSession};
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Op {
    Connect {
        v5: bool,
        clean: bool,
        expiry: u32,
        will_delay: Option<u32>,
    },
    Disconnect(ReasonCode),
    Lost,
    Advance(u64),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (any::<bool>(), any::<bool>(), prop_oneof![Just(0u32), 1..40u32, Just(u32::MAX)], prop::option::of(0..40u32))
            .prop_map(|(v5, clean, expiry, will_delay)| Op::Connect { v5, clean, expiry, will_delay }),
        1 => prop_oneof![Just(ReasonCode::NORMAL_DISCONNECTION), Just(ReasonCode::DisconnectWithWillMessage)]
            .prop_map(Op::Disconnect),
        1 => Just(Op::Lost),
        2 => (0..50u64).prop_map(Op::Advance),
    ]
}

/// What the oracle expects of the session.
#[derive(Default)]
struct Oracle {
    connected: bool,
    /// The session holds state (a connection was accepted and the session has not ended).
    exists: bool,
    v5: bool,
    expiry: u32,
    /// Will of the current connection: (id, delay).
    will: Option<(u32, u32)>,
    /// A will waiting: (id, due).
    pending: Option<(u32, Instant)>,
    /// When the session ends while disconnected.
    end: Option<Instant>,
}

struct World {
    t0: Instant,
    now: Instant,
    session: ServerSession,
    oracle: Oracle,
    connection: u32,
    published: Vec<(u32, Instant)>,
    expected: Vec<(u32, Instant)>,
}

impl World {
    fn drain(&mut self) -> Vec<Event> {
        while self.session.poll_transmit().is_some() {}
        std::iter::from_fn(|| self.session.poll_event()).collect()
    }

    fn record(&mut self, events: &[Event]) {
        for e in events {
            if let Event::Will(m) = e {
                let id = u32::from_be_bytes(m.payload.as_ref().try_into().unwrap());
                self.published.push((id, self.now));
            }
        }
    }

    /// Applies the oracle's due will and session end at `now`.
    fn oracle_time(&mut self) {
        if let Some((id, due)) = self.oracle.pending
            && due <= self.now
        {
            self.expected.push((id, due.max(self.t0)));
            self.oracle.pending = None;
        }
        if let Some(end) = self.oracle.end
            && end <= self.now
        {
            if let Some((id, _)) = self.oracle.pending.take() {
                self.expected.push((id, end));
            }
            self.oracle.exists = false;
            self.oracle.end = None;
        }
    }

    fn oracle_close(&mut self, publish_will: bool) {
        let o = &mut self.oracle;
        o.connected = false;
        let will = o.will.take();
        if publish_will && let Some((id, delay)) = will {
            let delay = if o.v5 { delay } else { 0 };
            o.pending = Some((id, self.now + Duration::from_secs(u64::from(delay))));
        }
        o.end = match o.expiry {
            u32::MAX => None,
            e => Some(self.now + Duration::from_secs(u64::from(e))),
        };
        self.oracle_time();
    }

    fn apply(&mut self, op: &Op) {
        match *op {
            Op::Connect {
                v5,
                clean,
                expiry,
                will_delay,
            } => {
                if self.oracle.connected {
                    return;
                }
                if self.session.is_ended() {
                    self.session = ServerSession::new(ServerConfig::default());
                }
                self.connection += 1;
                let id = self.connection;
                let mut c = Connect::new(ByteStr::from_static("c")).keep_alive(0).clean_start(clean);
                if !v5 {
                    c = c.version(ProtocolVersion::V311);
                } else {
                    c = c.properties(ConnectProperties {
                        session_expiry_interval: Some(expiry),
                        ..Default::default()
                    });
                }
                if let Some(delay) = will_delay {
                    c = c.will(
                        Will::new(TopicName::from_static("w"), id.to_be_bytes().to_vec()).properties(WillProperties {
                            will_delay_interval: Some(delay),
                            ..Default::default()
                        }),
                    );
                }
                self.session
                    .handle_packet(self.now, Packet::Connect(Box::new(c)))
                    .unwrap();
                let events = self.drain();
                self.record(&events);
                assert!(matches!(events.last(), Some(Event::Connect(_))), "{events:?}");
                self.session.accept(self.now, Accept::default()).unwrap();
                let mut present = None;
                while let Some(p) = self.session.poll_transmit() {
                    if let Packet::ConnAck(ack) = p {
                        present = Some(ack.session_present);
                    }
                }
                let events = self.drain();
                self.record(&events);

                let o = &mut self.oracle;
                assert_eq!(present, Some(!clean && o.exists), "Session Present");
                // A reconnect to the session cancels a delayed will [MQTT-3.1.3-9]; a Clean Start ends the old
                // session instead [MQTT-3.1.2-4], which publishes it [MQTT-3.1.2-8].
                if let Some((will, _)) = o.pending.take()
                    && clean
                {
                    self.expected.push((will, self.now));
                }
                o.end = None;
                o.connected = true;
                o.exists = true;
                o.v5 = v5;
                o.expiry = if v5 {
                    expiry
                } else if clean {
                    0
                } else {
                    u32::MAX
                };
                o.will = will_delay.map(|d| (id, d));
            }
            Op::Disconnect(code) => {
                if !self.oracle.connected {
                    return;
                }
                let code = if self.oracle.v5 {
                    code
                } else {
                    ReasonCode::NORMAL_DISCONNECTION
                };
                self.session
                    .handle_packet(self.now, Packet::Disconnect(Disconnect::new(code)))
                    .unwrap();
                let events = self.drain();
                self.record(&events);
                self.oracle_close(code == ReasonCode::DisconnectWithWillMessage);
            }
            Op::Lost => {
                if !self.oracle.connected {
                    return;
                }
                self.session.connection_lost(self.now);
                let events = self.drain();
                self.record(&events);
                self.oracle_close(true);
            }
            Op::Advance(secs) => {
                // Step through the session's own deadlines, as a broker's timer would.
                let target = self.now + Duration::from_secs(secs);
                while let Some(at) = self.session.poll_timeout().filter(|at| *at <= target) {
                    self.now = at.max(self.now);
                    self.session.handle_timeout(self.now);
                    let events = self.drain();
                    self.record(&events);
                    self.oracle_time();
                }
                self.now = target;
                self.session.handle_timeout(self.now);
                let events = self.drain();
                self.record(&events);
                self.oracle_time();
            }
        }
        assert_eq!(self.published, self.expected, "wills published vs expected (id, time)");
        assert_eq!(
            self.session.is_ended(),
            !self.oracle.exists && !self.oracle.connected && self.connection > 0
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(512),
        ..ProptestConfig::default()
    })]

    #[test]
    fn wills_and_session_expiry_follow_the_spec(ops in prop::collection::vec(op(), 1..40)) {
        let t0 = Instant::now();
        let mut world = World {
            t0,
            now: t0,
            session: ServerSession::new(ServerConfig::default()),
            oracle: Oracle::default(),
            connection: 0,
            published: Vec::new(),
            expected: Vec::new(),
        };
        for op in &ops {
            world.apply(op);
        }
    }
}
