//! Sessions idle for `[limits] park_after_ms` wait in the parking lot without a task. Every wake source must
//! bring one back: data on its socket, a delivery or a takeover through its mailbox, its keep-alive or
//! expiry deadline, the broker's shutdown. Raw clients (which never send anything on their own) make the
//! idleness exact; `$SYS`-style statistics tell when sessions have parked.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;
mod raw;

use std::time::{Duration, Instant};

use common::{WAIT, start, unique, wait_for};
use hpmq_broker::BrokerHandle;
use raw::Raw;

/// A broker that parks sessions after 20 ms of idleness.
async fn parking_broker() -> BrokerHandle {
    start("[sys]\ninterval_secs = 0\n[limits]\npark_after_ms = 20\n").await
}

async fn parked(broker: &BrokerHandle, n: u64) {
    wait_for(&format!("{n} parked sessions"), || broker.stats().sessions_parked == n).await;
}

/// A v5 PUBLISH frame's topic and payload (no properties expected beyond their length).
fn topic_and_payload(frame: &raw::Frame, qos: u8) -> (String, Vec<u8>) {
    let len = u16::from_be_bytes([frame.body[0], frame.body[1]]) as usize;
    let topic = String::from_utf8(frame.body[2..2 + len].to_vec()).unwrap();
    let mut at = 2 + len + if qos > 0 { 2 } else { 0 };
    let props = frame.body[at] as usize; // short property lengths only
    at += 1 + props;
    (topic, frame.body[at..].to_vec())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_parked_subscriber_gets_deliveries_and_answers_pings() {
    let broker = parking_broker().await;
    let addr = broker.local_addr();
    let topic = unique("park/deliver");
    let (mut sub, _) = Raw::connect(addr, &raw::connect(5, &unique("sub"), true, 0, &[])).await;
    sub.send(&raw::subscribe(5, 1, &topic, 1)).await;
    assert_eq!(sub.next().await.unwrap().kind(), 9, "SUBACK");
    parked(&broker, 1).await;

    // A delivery wakes it through its mailbox.
    let (mut publisher, _) = Raw::connect(addr, &raw::connect(5, &unique("pub"), true, 0, &[])).await;
    publisher
        .send(&raw::publish(5, &topic, 1, 7, &[], b"while parked"))
        .await;
    assert_eq!(publisher.next().await.unwrap().kind(), 4, "PUBACK");
    let publish = sub.next().await.unwrap();
    assert_eq!(publish.kind(), 3);
    assert_eq!(
        topic_and_payload(&publish, 1),
        (topic.clone(), b"while parked".to_vec())
    );
    let id = u16::from_be_bytes([publish.body[2 + topic.len()], publish.body[3 + topic.len()]]);
    sub.send(&raw::packet(0x40, &id.to_be_bytes())).await; // PUBACK
    // Both park again; data on the socket wakes the subscriber.
    parked(&broker, 2).await;
    sub.send(&raw::packet(0xC0, &[])).await; // PINGREQ
    assert_eq!(sub.next().await.unwrap().kind(), 13, "PINGRESP");
    // And a QoS 1 message sent while it parks again still arrives once.
    parked(&broker, 2).await;
    publisher.send(&raw::publish(5, &topic, 1, 8, &[], b"again")).await;
    assert_eq!(publisher.next().await.unwrap().kind(), 4, "PUBACK");
    let publish = sub.next().await.unwrap();
    assert_eq!(topic_and_payload(&publish, 1).1, b"again");
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_client_is_dropped_at_its_keep_alive_while_parked() {
    let broker = parking_broker().await;
    let started = Instant::now();
    let (mut silent, _) = Raw::connect(broker.local_addr(), &raw::connect(4, &unique("silent"), true, 1, &[])).await;
    parked(&broker, 1).await;
    // Keep alive 1 s: closed after 1.5 s of silence [MQTT-3.1.2-24], from the lot's deadline.
    assert!(silent.until_closed().await.is_empty());
    assert!(started.elapsed() >= Duration::from_millis(1400));
    wait_for("the session to end", || broker.stats().sessions == 0).await;
    assert_eq!(broker.stats().clients_connected, 0);
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_parked_session_is_taken_over() {
    let broker = parking_broker().await;
    let addr = broker.local_addr();
    let id = unique("twice");
    let (mut first, _) = Raw::connect(addr, &raw::connect(5, &id, true, 0, &[])).await;
    parked(&broker, 1).await;
    let (_second, connack) = Raw::connect(addr, &raw::connect(5, &id, false, 0, &[])).await;
    assert_eq!(connack.body[1], 0, "the second connection is accepted");
    let closing = first.until_closed().await;
    assert_eq!(closing.len(), 1, "DISCONNECT before the close: {closing:02x?}");
    assert_eq!(
        (closing[0].kind(), closing[0].body[0]),
        (14, 0x8E),
        "DISCONNECT Session taken over"
    );
    assert_eq!(broker.stats().clients_connected, 1);
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_offline_persistent_session_parks_queues_and_expires() {
    let broker = parking_broker().await;
    let addr = broker.local_addr();
    let (id, topic) = (unique("away"), unique("park/queue"));
    // Session Expiry Interval 2 s.
    let expiry = [0x11, 0, 0, 0, 2];
    let (mut away, _) = Raw::connect(addr, &raw::connect(5, &id, true, 0, &expiry)).await;
    away.send(&raw::subscribe(5, 1, &topic, 1)).await;
    assert_eq!(away.next().await.unwrap().kind(), 9, "SUBACK");
    away.send(&raw::packet(0xE0, &[0])).await; // DISCONNECT, normal
    assert!(away.until_closed().await.is_empty());
    parked(&broker, 1).await;
    assert_eq!(broker.stats().clients_connected, 0);

    let (mut publisher, _) = Raw::connect(addr, &raw::connect(5, &unique("pub"), true, 0, &[])).await;
    publisher.send(&raw::publish(5, &topic, 1, 1, &[], b"queued")).await;
    assert_eq!(publisher.next().await.unwrap().kind(), 4, "PUBACK");
    // Both idle again: the offline session parked with its queued message.
    parked(&broker, 2).await;
    let (mut back, connack) = Raw::connect(addr, &raw::connect(5, &id, false, 0, &expiry)).await;
    assert_eq!(connack.body[0] & 1, 1, "session present");
    let publish = back.next().await.unwrap();
    assert_eq!(topic_and_payload(&publish, 1), (topic.clone(), b"queued".to_vec()));
    drop(back);

    // Gone for good: the lot's expiry deadline ends the session (2 s after the connection was lost).
    wait_for("the publisher alone to be left", || broker.stats().sessions == 1).await;
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_closes_parked_connections_with_0x8b_and_saves_their_sessions() {
    let broker = parking_broker().await;
    let id = unique("stopping");
    let expiry = [0x11, 0, 0, 0, 60];
    let (mut client, _) = Raw::connect(broker.local_addr(), &raw::connect(5, &id, true, 0, &expiry)).await;
    parked(&broker, 1).await;
    let saved = tokio::time::timeout(WAIT, broker.shutdown()).await.unwrap();
    let closing = client.until_closed().await;
    assert_eq!(closing.len(), 1, "DISCONNECT before the close: {closing:02x?}");
    assert_eq!(
        (closing[0].kind(), closing[0].body[0]),
        (14, 0x8B),
        "DISCONNECT Server shutting down"
    );
    assert_eq!(saved.len(), 1);
    assert_eq!(saved[0].client_id.as_str(), id);
}
