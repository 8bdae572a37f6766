//! Steady-state QoS 1 and QoS 2 round trips through a connected session allocate nothing: the in-flight table,
//! the transmit and event queues keep their capacity, and messages are moved, not copied into new buffers.
//! Counted by a global allocator, so this holds for the real code path, not an estimate.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use mqtt_codec::{
    ByteStr, Connect, Packet, PacketId, PubAck, PubComp, PubRec, PubRel, Publish, QoS, ReasonCode, TopicName,
};
use mqtt_session::{Accept, Event, Message, ServerConfig, ServerSession};

struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    /// Only the measuring thread counts: the test harness allocates on its own threads now and then.
    static MEASURING: Cell<bool> = const { Cell::new(false) };
}

fn count() {
    if MEASURING.with(Cell::get) {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
    }
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn connected(now: Instant) -> ServerSession {
    let mut s = ServerSession::new(ServerConfig::default());
    s.handle_packet(now, Packet::Connect(Box::new(Connect::new(ByteStr::from_static("c")))))
        .unwrap();
    while let Some(e) = s.poll_event() {
        if let Event::Connect(_) = e {
            s.accept(now, Accept::default()).unwrap();
        }
    }
    while s.poll_transmit().is_some() {}
    s
}

fn round_trips(s: &mut ServerSession, now: Instant, n: usize) {
    let topic = TopicName::from_static("sensors/00042/tp");
    let id = PacketId::new(9).unwrap();
    for _ in 0..n {
        // Outbound QoS 1 and QoS 2.
        s.publish(now, Message::new(topic.clone(), &b"payload"[..], QoS::AtLeastOnce));
        let Some(Packet::Publish(p)) = s.poll_transmit() else {
            panic!()
        };
        s.handle_packet(now, Packet::PubAck(PubAck::new(p.packet_id.unwrap())))
            .unwrap();
        s.publish(now, Message::new(topic.clone(), &b"payload"[..], QoS::ExactlyOnce));
        let Some(Packet::Publish(p)) = s.poll_transmit() else {
            panic!()
        };
        s.handle_packet(now, Packet::PubRec(PubRec::new(p.packet_id.unwrap())))
            .unwrap();
        let Some(Packet::PubRel(rel)) = s.poll_transmit() else {
            panic!()
        };
        s.handle_packet(now, Packet::PubComp(PubComp::new(rel.packet_id)))
            .unwrap();
        // Inbound QoS 1 and QoS 2.
        let publish = Publish::new(topic.clone(), &b"payload"[..]).qos(QoS::AtLeastOnce, id);
        s.handle_packet(now, Packet::Publish(publish)).unwrap();
        let Some(Event::Publish { ack, .. }) = s.poll_event() else {
            panic!()
        };
        s.acknowledge(ack.unwrap(), ReasonCode::Success);
        let Some(Packet::PubAck(_)) = s.poll_transmit() else {
            panic!()
        };
        let publish = Publish::new(topic.clone(), &b"payload"[..]).qos(QoS::ExactlyOnce, id);
        s.handle_packet(now, Packet::Publish(publish)).unwrap();
        let Some(Event::Publish { ack, .. }) = s.poll_event() else {
            panic!()
        };
        s.acknowledge(ack.unwrap(), ReasonCode::Success);
        let Some(Packet::PubRec(_)) = s.poll_transmit() else {
            panic!()
        };
        s.handle_packet(now, Packet::PubRel(PubRel::new(id))).unwrap();
        let Some(Packet::PubComp(_)) = s.poll_transmit() else {
            panic!()
        };
    }
}

#[test]
fn steady_state_round_trips_allocate_nothing() {
    let now = Instant::now();
    let mut s = connected(now);
    round_trips(&mut s, now, 10); // tables and queues reach their working capacity
    MEASURING.with(|m| m.set(true));
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    round_trips(&mut s, now, 1000);
    let allocations = ALLOCATIONS.load(Ordering::Relaxed) - before;
    MEASURING.with(|m| m.set(false));
    assert_eq!(
        allocations, 0,
        "{allocations} allocations in 1000 round trips of each kind"
    );
}
