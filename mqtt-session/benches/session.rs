//! Cost of one message through the session machine, and memory held by an idle session.
//!
//! `cargo bench -p mqtt-session --bench session -- --warm-up-time 1 --measurement-time 3`

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::sync::atomic::{AtomicIsize, Ordering};
use std::time::Instant;

use criterion::{Criterion, criterion_group, criterion_main};
use mqtt_codec::{
    ByteStr, Connect, Packet, PacketId, PubAck, PubComp, PubRec, PubRel, Publish, QoS, ReasonCode, TopicName,
};
use mqtt_session::{Accept, Event, Message, ServerConfig, ServerSession};

/// Counts live heap bytes so the idle-session figure is measured, not estimated.
struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(new_size as isize - layout.size() as isize, Ordering::Relaxed);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn connected(now: Instant) -> ServerSession {
    let mut s = ServerSession::new(ServerConfig::default());
    let connect = Connect::new(ByteStr::from_static("bench-client-0001")).keep_alive(60);
    s.handle_packet(now, Packet::Connect(Box::new(connect))).unwrap();
    while let Some(e) = s.poll_event() {
        if let Event::Connect(_) = e {
            s.accept(now, Accept::default()).unwrap();
        }
    }
    while s.poll_transmit().is_some() {}
    s
}

fn message(qos: QoS) -> Message {
    // 16-byte topic, 64-byte payload, as in the codec benchmarks.
    Message::new(TopicName::from_static("sensors/00042/tp"), &[7u8; 64][..], qos)
}

fn outbound(c: &mut Criterion) {
    let now = Instant::now();
    let mut g = c.benchmark_group("session/outbound");
    let m1 = message(QoS::AtLeastOnce);
    let mut s = connected(now);
    g.bench_function("qos1 publish+PUBACK", |b| {
        b.iter(|| {
            s.publish(now, m1.clone());
            let Some(Packet::Publish(p)) = s.poll_transmit() else {
                panic!()
            };
            let id = p.packet_id.unwrap();
            s.handle_packet(now, Packet::PubAck(PubAck::new(id))).unwrap();
            black_box(p);
        })
    });
    let m2 = message(QoS::ExactlyOnce);
    let mut s = connected(now);
    g.bench_function("qos2 publish+PUBREC+PUBREL+PUBCOMP", |b| {
        b.iter(|| {
            s.publish(now, m2.clone());
            let Some(Packet::Publish(p)) = s.poll_transmit() else {
                panic!()
            };
            let id = p.packet_id.unwrap();
            s.handle_packet(now, Packet::PubRec(PubRec::new(id))).unwrap();
            let Some(Packet::PubRel(rel)) = s.poll_transmit() else {
                panic!()
            };
            s.handle_packet(now, Packet::PubComp(PubComp::new(rel.packet_id)))
                .unwrap();
            black_box(p);
        })
    });
    g.finish();
}

fn inbound(c: &mut Criterion) {
    let now = Instant::now();
    let mut g = c.benchmark_group("session/inbound");
    let id = PacketId::new(1).unwrap();
    let p1 = Publish::new(TopicName::from_static("sensors/00042/tp"), &[7u8; 64][..]).qos(QoS::AtLeastOnce, id);
    let mut s = connected(now);
    g.bench_function("qos1 PUBLISH+event+PUBACK", |b| {
        b.iter(|| {
            s.handle_packet(now, Packet::Publish(p1.clone())).unwrap();
            let Some(Event::Publish { message, ack }) = s.poll_event() else {
                panic!()
            };
            s.acknowledge(ack.unwrap(), ReasonCode::Success);
            let Some(Packet::PubAck(a)) = s.poll_transmit() else {
                panic!()
            };
            black_box((message, a));
        })
    });
    let p2 = Publish::new(TopicName::from_static("sensors/00042/tp"), &[7u8; 64][..]).qos(QoS::ExactlyOnce, id);
    let mut s = connected(now);
    g.bench_function("qos2 PUBLISH+event+PUBREC+PUBREL+PUBCOMP", |b| {
        b.iter(|| {
            s.handle_packet(now, Packet::Publish(p2.clone())).unwrap();
            let Some(Event::Publish { message, ack }) = s.poll_event() else {
                panic!()
            };
            s.acknowledge(ack.unwrap(), ReasonCode::Success);
            let Some(Packet::PubRec(_)) = s.poll_transmit() else {
                panic!()
            };
            s.handle_packet(now, Packet::PubRel(PubRel::new(id))).unwrap();
            let Some(Packet::PubComp(c)) = s.poll_transmit() else {
                panic!()
            };
            black_box((message, c));
        })
    });
    g.finish();
}

/// Heap bytes held per session, counted by the allocator over 1000 sessions: connected and idle after one QoS 1
/// round trip each way (so lazily grown tables are counted), the same after `shrink_to_fit`, and disconnected
/// (kept for resumption).
fn idle_memory(_: &mut Criterion) {
    const N: usize = 1000;
    let now = Instant::now();
    let id = PacketId::new(1).unwrap();
    let inbound = Publish::new(TopicName::from_static("sensors/00042/tp"), &[7u8; 64][..]).qos(QoS::AtLeastOnce, id);
    let mut sessions: Vec<ServerSession> = Vec::with_capacity(N);
    let report = |label: &str, base: isize| {
        let heap = (LIVE.load(Ordering::Relaxed) - base) as usize / N;
        let inline = std::mem::size_of::<ServerSession>();
        println!(
            "session/idle_memory/{label}: {} bytes per session ({inline} inline + {heap} heap)",
            inline + heap
        );
    };
    let base = LIVE.load(Ordering::Relaxed);
    for _ in 0..N {
        let mut s = connected(now);
        s.publish(now, message(QoS::AtLeastOnce));
        let Some(Packet::Publish(p)) = s.poll_transmit() else {
            panic!()
        };
        s.handle_packet(now, Packet::PubAck(PubAck::new(p.packet_id.unwrap())))
            .unwrap();
        s.handle_packet(now, Packet::Publish(inbound.clone())).unwrap();
        let Some(Event::Publish { ack, .. }) = s.poll_event() else {
            panic!()
        };
        s.acknowledge(ack.unwrap(), ReasonCode::Success);
        while s.poll_transmit().is_some() {}
        sessions.push(s);
    }
    report("connected", base);
    sessions.iter_mut().for_each(ServerSession::shrink_to_fit);
    report("connected_after_shrink_to_fit", base);
    sessions.iter_mut().for_each(|s| s.connection_lost(now));
    sessions.iter_mut().for_each(|s| while s.poll_event().is_some() {});
    report("disconnected_events_pending_capacity", base);
    sessions.iter_mut().for_each(ServerSession::shrink_to_fit);
    report("disconnected_after_shrink_to_fit", base);
    black_box(sessions);
}

criterion_group!(benches, outbound, inbound, idle_memory);
criterion_main!(benches);
