//! The broker under the binary's global allocator, `PooledAligned` (a module of the binary, compiled into this test too): tokio's task cells and
//! socket registrations (128-byte aligned) then come from its pools. Sessions connect, subscribe, park (after
//! 1 ms), are resumed by deliveries, exchange QoS 1 messages, reconnect under the same ids and disconnect, so every pooled
//! size class is allocated, freed and reused by many tasks on two worker threads.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;
#[path = "../src/bin/hpmq-broker/pooled_alloc.rs"]
mod pooled_alloc;
mod raw;

use common::{start, unique, wait_for};
use raw::Raw;

#[global_allocator]
static ALLOC: pooled_alloc::PooledAligned = pooled_alloc::PooledAligned::new();

const CLIENTS: usize = 64;

/// The topic and payload of a v5 QoS 1 PUBLISH frame (property length 0 expected).
fn topic_and_payload(frame: &raw::Frame) -> (String, Vec<u8>) {
    let len = u16::from_be_bytes([frame.body[0], frame.body[1]]) as usize;
    let topic = String::from_utf8(frame.body[2..2 + len].to_vec()).unwrap();
    let at = 2 + len + 2;
    assert_eq!(frame.body[at], 0, "no properties expected");
    (topic, frame.body[at + 1..].to_vec())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_broker_runs_on_the_pooled_allocator() {
    let broker = start("[sys]\ninterval_secs = 0\n[limits]\npark_after_ms = 1\n").await;
    let addr = broker.local_addr();
    let base = unique("pooled");
    for round in 0..3 {
        let mut subs = Vec::with_capacity(CLIENTS);
        for i in 0..CLIENTS {
            let id = format!("{base}-{i}");
            // The same ids every round: a session of the round before that the broker has not yet seen close
            // is taken over.
            let (mut sub, connack) = Raw::connect(addr, &raw::connect(5, &id, true, 0, &[])).await;
            assert_eq!(connack.body[1], 0, "CONNECT refused");
            sub.send(&raw::subscribe(5, 1, &format!("{base}/{i}"), 1)).await;
            assert_eq!(sub.next().await.unwrap().kind(), 9, "SUBACK expected");
            subs.push(sub);
        }
        // Every idle session parks; each delivery below resumes one.
        wait_for("sessions parked", || broker.stats().sessions_parked >= CLIENTS as u64).await;
        let (mut publisher, _) = Raw::connect(addr, &raw::connect(5, &unique("pub"), true, 0, &[])).await;
        for i in 0..CLIENTS {
            let payload = format!("round {round} to {i}");
            publisher
                .send(&raw::publish(
                    5,
                    &format!("{base}/{i}"),
                    1,
                    (i + 1) as u16,
                    &[],
                    payload.as_bytes(),
                ))
                .await;
            assert_eq!(publisher.next().await.unwrap().kind(), 4, "PUBACK expected");
        }
        for (i, sub) in subs.iter_mut().enumerate() {
            let frame = sub.next().await.expect("delivery");
            assert_eq!(frame.kind(), 3, "PUBLISH expected");
            let (topic, payload) = topic_and_payload(&frame);
            assert_eq!(topic, format!("{base}/{i}"));
            assert_eq!(payload, format!("round {round} to {i}").into_bytes());
            sub.send(&raw::packet(0x40, &frame.body[2 + topic.len()..2 + topic.len() + 2]))
                .await;
        }
        drop(publisher);
        drop(subs);
    }
    broker.shutdown().await;
}
