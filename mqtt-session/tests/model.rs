//! Model-based property test: a device (`ClientSession`) and its broker-side session (`ServerSession`) talk
//! through the real codec over a lossy "network" that drops whole connections. Random sequences of publishes in
//! both directions, partial deliveries, connection drops, reconnects, broker restarts from a snapshot and the
//! passage of time are checked against the guarantees MQTT makes:
//!
//! - every QoS 1 message is delivered at least once and every QoS 2 message exactly once, unless the session
//!   reported it dropped (queue full, expired, too large) — and a dropped message is never delivered;
//! - first deliveries keep publish order per topic and QoS [MQTT-4.6.0-5] [MQTT-4.6.0-6];
//! - no message starts delivery after it expired [MQTT-3.3.2-5], and none is reported expired early;
//! - a broker restart through the state file format ([`SavedState`]) loses nothing;
//! - neither side exceeds the other's Receive Maximum, which may change at each reconnect [MQTT-3.3.4-7]
//!   [MQTT-3.3.4-9] (the receiving session would refuse the packet and the test would fail).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::collections::{HashMap, HashSet, VecDeque};
use std::num::NonZeroU16;
use std::time::{Duration, Instant, UNIX_EPOCH};

use bytes::{Bytes, BytesMut};
use mqtt_codec::{ByteStr, Packet, ProtocolVersion, QoS, ReasonCode, TopicName};
use mqtt_session::{
    Accept, ClientConfig, ClientEvent, ClientSession, DropReason, Event, Message, OverflowPolicy, SavedState,
    ServerConfig, ServerSession, WallClock,
};
use proptest::prelude::*;

const TOPICS: [&str; 3] = ["t/0", "t/1", "t/2"];

#[derive(Debug, Clone)]
enum Op {
    /// Broker routes a message to the device.
    Down { topic: usize, qos: u8, expiry: Option<u32> },
    /// The device publishes to the broker.
    Up { topic: usize, qos: u8 },
    /// Deliver up to n frames broker -> device.
    ToDevice(usize),
    /// Deliver up to n frames device -> broker.
    ToBroker(usize),
    /// The network connection breaks; frames in flight are lost.
    Drop,
    /// The device connects again (if not connected), announcing this Receive Maximum.
    Reconnect(u16),
    /// The broker restarts from a snapshot of the session (only while disconnected).
    Restore,
    /// Time passes.
    Advance(u64),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0..3usize, 0..3u8, prop::option::of(1..30u32)).prop_map(|(topic, qos, expiry)| Op::Down { topic, qos, expiry }),
        3 => (0..3usize, 0..3u8).prop_map(|(topic, qos)| Op::Up { topic, qos }),
        4 => (1..6usize).prop_map(Op::ToDevice),
        4 => (1..6usize).prop_map(Op::ToBroker),
        1 => Just(Op::Drop),
        2 => (1..5u16).prop_map(Op::Reconnect),
        1 => Just(Op::Restore),
        1 => (0..20u64).prop_map(Op::Advance),
    ]
}

fn qos(q: u8) -> QoS {
    QoS::from_u8(q).unwrap()
}

fn seq_of(payload: &[u8]) -> u32 {
    u32::from_be_bytes(payload.try_into().unwrap())
}

#[derive(Default)]
struct Ledger {
    /// seq -> (topic, qos, expires_at)
    sent: HashMap<u32, (usize, QoS, Option<Instant>)>,
    delivered: HashMap<u32, usize>,
    dropped: HashSet<u32>,
    /// Last first-delivered seq per (topic, qos).
    last_first: HashMap<(usize, QoS), u32>,
}

impl Ledger {
    fn deliver(&mut self, m: &Message) {
        let seq = seq_of(&m.payload);
        let &(topic, q, _) = self.sent.get(&seq).expect("delivered message was published");
        assert_eq!(m.qos, q);
        assert_eq!(m.topic.as_str(), TOPICS[topic]);
        let count = self.delivered.entry(seq).or_insert(0);
        *count += 1;
        if q == QoS::ExactlyOnce {
            assert_eq!(*count, 1, "QoS 2 message {seq} delivered twice");
        }
        if *count == 1
            && let Some(prev) = self.last_first.insert((topic, q), seq)
        {
            assert!(prev < seq, "order broken on {topic}/{q:?}: {seq} after {prev}");
        }
    }

    fn dropped(&mut self, m: &Message, reason: DropReason, now: Instant) {
        let seq = seq_of(&m.payload);
        match reason {
            DropReason::Expired => assert!(m.is_expired(now), "message {seq} reported expired early"),
            DropReason::Offline => assert_eq!(m.qos, QoS::AtMostOnce),
            DropReason::QueueFull => {}
            other => panic!("unexpected drop of {seq}: {other:?}"),
        }
        self.dropped.insert(seq);
    }

    fn check_complete(&self) {
        for (seq, (_, q, _)) in &self.sent {
            let n = self.delivered.get(seq).copied().unwrap_or(0);
            if self.dropped.contains(seq) {
                assert_eq!(n, 0, "message {seq} both dropped and delivered");
                continue;
            }
            match q {
                QoS::AtMostOnce => assert!(n <= 1),
                QoS::AtLeastOnce => assert!(n >= 1, "QoS 1 message {seq} never delivered"),
                QoS::ExactlyOnce => assert_eq!(n, 1, "QoS 2 message {seq} delivered {n} times"),
            }
        }
    }
}

struct World {
    now: Instant,
    server_config: ServerConfig,
    server: ServerSession,
    client: ClientSession,
    to_device: VecDeque<Bytes>,
    to_broker: VecDeque<Bytes>,
    link_up: bool,
    next_seq: u32,
    down: Ledger,
    up: Ledger,
    /// seq -> when the broker first put it on the wire (non-DUP PUBLISH).
    started: HashMap<u32, Instant>,
}

fn encode(p: &Packet) -> Bytes {
    let mut buf = BytesMut::new();
    p.encode(ProtocolVersion::V5, &mut buf)
        .expect("the session only produces encodable packets");
    buf.freeze()
}

impl World {
    fn new(queue: usize, policy: OverflowPolicy) -> Self {
        let server_config = ServerConfig {
            receive_maximum: NonZeroU16::new(3).unwrap(),
            max_queued_messages: queue,
            overflow_policy: policy,
            topic_alias_maximum: 2,
            ..ServerConfig::default()
        };
        let mut cc = ClientConfig::new(ByteStr::from_static("device"));
        cc.keep_alive = 10;
        cc.receive_maximum = NonZeroU16::new(2).unwrap();
        cc.topic_alias_maximum = 2;
        cc.max_queued_messages = queue;
        cc.overflow_policy = policy;
        World {
            now: Instant::now(),
            server: ServerSession::new(server_config.clone()),
            server_config,
            client: ClientSession::new(cc),
            to_device: VecDeque::new(),
            to_broker: VecDeque::new(),
            link_up: false,
            next_seq: 0,
            down: Ledger::default(),
            up: Ledger::default(),
            started: HashMap::new(),
        }
    }

    fn teardown(&mut self) {
        self.link_up = false;
        self.to_device.clear();
        self.to_broker.clear();
        self.server.connection_lost(self.now);
        self.client.connection_lost(self.now);
    }

    /// Moves packets and events around until nothing changes.
    fn settle_events(&mut self) {
        loop {
            let mut progress = false;
            while let Some(p) = self.server.poll_transmit() {
                progress = true;
                if let Packet::Publish(publish) = &p
                    && !publish.dup
                {
                    let seq = seq_of(&publish.payload);
                    let (_, _, expires) = self.down.sent[&seq];
                    if let Some(at) = expires {
                        assert!(self.now < at, "message {seq} started delivery after it expired");
                    }
                    self.started.entry(seq).or_insert(self.now);
                }
                let frame = encode(&p);
                if self.link_up {
                    self.to_device.push_back(frame);
                }
            }
            while let Some(p) = self.client.poll_transmit() {
                progress = true;
                let frame = encode(&p);
                if self.link_up {
                    self.to_broker.push_back(frame);
                }
            }
            let mut closed = false;
            while let Some(e) = self.server.poll_event() {
                progress = true;
                match e {
                    Event::Connect(_) => self.server.accept(self.now, Accept::default()).unwrap(),
                    Event::Publish { message, ack } => {
                        self.up.deliver(&message);
                        if let Some(ack) = ack {
                            self.server.acknowledge(ack, ReasonCode::Success);
                        }
                    }
                    Event::Dropped { message, reason } => self.down.dropped(&message, reason, self.now),
                    Event::Closed(_) => closed = true,
                    other => panic!("unexpected server event {other:?}"),
                }
            }
            while let Some(e) = self.client.poll_event() {
                progress = true;
                match e {
                    ClientEvent::Connected(_) => {}
                    ClientEvent::Publish { message, ack } => {
                        self.down.deliver(&message);
                        if let Some(ack) = ack {
                            self.client.acknowledge(self.now, ack, ReasonCode::Success);
                        }
                    }
                    ClientEvent::Dropped { message, reason } => self.up.dropped(&message, reason, self.now),
                    ClientEvent::Closed(_) => closed = true,
                    other => panic!("unexpected client event {other:?}"),
                }
            }
            if closed {
                self.teardown();
            }
            if !progress {
                break;
            }
        }
    }

    fn message(&mut self, topic: usize, q: u8, expiry: Option<u32>) -> (u32, Message) {
        let seq = self.next_seq;
        self.next_seq += 1;
        let mut m = Message::new(
            TopicName::from_static(TOPICS[topic]),
            seq.to_be_bytes().to_vec(),
            qos(q),
        );
        if let Some(secs) = expiry {
            m = m.with_expiry_interval(self.now, secs);
        }
        (seq, m)
    }

    fn apply(&mut self, op: &Op) {
        match *op {
            Op::Down { topic, qos: q, expiry } => {
                let (seq, m) = self.message(topic, q, expiry);
                self.down.sent.insert(seq, (topic, qos(q), m.expires_at));
                self.server.publish(self.now, m);
            }
            Op::Up { topic, qos: q } => {
                let (seq, m) = self.message(topic, q, None);
                self.up.sent.insert(seq, (topic, qos(q), None));
                self.client.publish(self.now, m);
            }
            Op::ToDevice(n) => {
                for _ in 0..n {
                    let Some(frame) = self.to_device.pop_front() else { break };
                    let packet = Packet::decode_frame(ProtocolVersion::V5, frame).unwrap();
                    self.client.handle_packet(self.now, packet).unwrap();
                    self.settle_events();
                }
            }
            Op::ToBroker(n) => {
                for _ in 0..n {
                    let Some(frame) = self.to_broker.pop_front() else { break };
                    let packet = Packet::decode_frame(ProtocolVersion::V5, frame).unwrap();
                    self.server.handle_packet(self.now, packet).unwrap();
                    self.settle_events();
                }
            }
            Op::Drop => self.teardown(),
            Op::Reconnect(receive_maximum) => {
                if !self.link_up && !self.client.is_connected() {
                    self.client.config_mut().receive_maximum = NonZeroU16::new(receive_maximum).unwrap();
                    self.link_up = true;
                    self.client.connect(self.now).unwrap();
                }
            }
            Op::Restore => {
                if !self.link_up && !self.server.is_connected() {
                    // Through the state file format, as a broker restart would.
                    let clock = WallClock::new(self.now, UNIX_EPOCH + Duration::from_secs(1_763_770_000));
                    let state = SavedState {
                        saved_at: clock.wall,
                        sessions: vec![self.server.snapshot()],
                        retained: Vec::new(),
                    };
                    let mut bytes = BytesMut::new();
                    state.encode(clock, &mut bytes).unwrap();
                    let mut loaded = SavedState::decode(&bytes, clock).unwrap();
                    assert_eq!(loaded, state);
                    let snapshot = loaded.sessions.pop().unwrap();
                    self.server = ServerSession::restore(self.server_config.clone(), snapshot, self.now).unwrap();
                }
            }
            Op::Advance(secs) => {
                self.now += Duration::from_secs(secs);
                self.client.handle_timeout(self.now);
                self.settle_events();
                self.server.handle_timeout(self.now);
            }
        }
        self.settle_events();
    }

    /// Reconnects and lets every frame through until both sides are idle.
    fn finish(&mut self) {
        for _ in 0..4 {
            if !self.link_up {
                self.apply(&Op::Reconnect(2));
            }
            for _ in 0..10_000 {
                if self.to_device.is_empty() && self.to_broker.is_empty() {
                    break;
                }
                self.apply(&Op::ToBroker(1));
                self.apply(&Op::ToDevice(1));
            }
            if self.link_up && self.server.is_connected() && self.client.is_connected() {
                break;
            }
        }
        assert!(self.server.is_connected() && self.client.is_connected());
        assert_eq!(
            self.server.queued_len() + self.server.inflight_len(),
            0,
            "broker still holds messages"
        );
        assert_eq!(
            self.client.queued_len() + self.client.inflight_len(),
            0,
            "device still holds messages"
        );
    }
}

proptest! {
    // 384 cases by default; PROPTEST_CASES=20000 for a longer hunt.
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(384),
        ..ProptestConfig::default()
    })]

    #[test]
    fn qos_guarantees_hold_across_drops_reconnects_and_restarts(
        ops in prop::collection::vec(op(), 1..80),
        queue in 1..8usize,
        drop_oldest in any::<bool>(),
    ) {
        let policy = if drop_oldest { OverflowPolicy::DropOldest } else { OverflowPolicy::DropNewest };
        let mut world = World::new(queue, policy);
        // The first connection completes before anything is published: Clean Start discards whatever a session
        // held before it existed, which is not what this model is about.
        world.finish();
        for op in &ops {
            world.apply(op);
        }
        world.finish();
        world.down.check_complete();
        world.up.check_complete();
    }
}
