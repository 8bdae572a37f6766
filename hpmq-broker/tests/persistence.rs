//! `[persistence]`: sessions, their queued messages and retained messages survive a restart of the broker
//! (a new `Broker` on the same state file), driven by the `rumqttc` v5 client. Covers the graceful shutdown
//! save, the autosave surviving a crash (the runtime is dropped without any shutdown), session and message
//! expiry counting the time the broker was down, and a corrupt file being moved aside.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use bytes::BytesMut;
use common::v5::{connect, next_publish, until};
use common::{WAIT, unique};
use hpmq_broker::{Broker, BrokerHandle, Config};
use mqtt_session::{SavedState, WallClock};
use rumqttc::v5::mqttbytes::QoS;
use rumqttc::v5::mqttbytes::v5::{Packet, PublishProperties};
use rumqttc::v5::{AsyncClient, EventLoop, MqttOptions};

/// A fresh directory for one test's state file.
fn state_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(unique("hpmq-persist"));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn config(state: &Path, autosave_secs: u64) -> Config {
    let text = format!(
        "[listener]\naddress = \"127.0.0.1:0\"\n[sys]\ninterval_secs = 0\n\
         [persistence]\npath = '{}'\nautosave_interval_secs = {autosave_secs}\n",
        state.display()
    );
    let mut config = Config::from_toml_str(&text).unwrap();
    common::park_override(&mut config);
    config
}

async fn start(state: &Path, autosave_secs: u64) -> BrokerHandle {
    tokio::time::timeout(WAIT, Broker::start(config(state, autosave_secs)))
        .await
        .expect("broker start hangs")
        .expect("broker starts")
}

async fn stop(broker: BrokerHandle) {
    tokio::time::timeout(WAIT, broker.shutdown())
        .await
        .expect("shutdown hangs");
}

fn options(addr: SocketAddr, id: &str) -> MqttOptions {
    let mut o = MqttOptions::new(id, "127.0.0.1", addr.port());
    o.set_keep_alive(Duration::from_secs(30));
    o
}

fn persistent(addr: SocketAddr, id: &str, expiry: u32) -> MqttOptions {
    let mut o = options(addr, id);
    o.set_clean_start(false);
    o.set_session_expiry_interval(Some(expiry));
    o
}

async fn subscribe(client: &AsyncClient, el: &mut EventLoop, filter: &str) {
    client.subscribe(filter, QoS::AtLeastOnce).await.unwrap();
    until(el, |p| matches!(p, Packet::SubAck(_)).then_some(())).await;
}

/// Sends DISCONNECT and polls until the connection is closed.
async fn disconnect(client: AsyncClient, mut el: EventLoop) {
    client.disconnect().await.unwrap();
    let _ = tokio::time::timeout(WAIT, async { while el.poll().await.is_ok() {} }).await;
}

/// Publishes at QoS 1 and waits for the PUBACK.
async fn publish(
    client: &AsyncClient,
    el: &mut EventLoop,
    topic: &str,
    payload: &str,
    retain: bool,
    expiry: Option<u32>,
) {
    let properties = PublishProperties {
        message_expiry_interval: expiry,
        ..PublishProperties::default()
    };
    client
        .publish_with_properties(topic, QoS::AtLeastOnce, retain, payload.to_owned(), properties)
        .await
        .unwrap();
    until(el, |p| matches!(p, Packet::PubAck(_)).then_some(())).await;
}

/// Connects a persistent subscriber to `topic` and disconnects it, leaving a session that queues.
async fn leave_session(addr: SocketAddr, id: &str, expiry: u32, topic: &str) {
    let (client, mut el, ack) = connect(persistent(addr, id, expiry)).await;
    assert!(!ack.session_present);
    subscribe(&client, &mut el, topic).await;
    disconnect(client, el).await;
}

/// Rewrites the state file as if it had been saved `ago` earlier: every stored time moves back by `ago`, which is
/// what the broker sees after being down that long.
fn age_state_file(path: &Path, ago: Duration) {
    let bytes = std::fs::read(path).unwrap();
    let (now, wall) = (Instant::now(), SystemTime::now());
    let state = SavedState::decode(&bytes, WallClock::new(now, wall)).unwrap();
    let mut out = BytesMut::new();
    state.encode(WallClock::new(now, wall - ago), &mut out).unwrap();
    std::fs::write(path, &out).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_queued_messages_and_retained_messages_survive_a_restart() {
    let dir = state_dir();
    let state = dir.join("state");
    let (id, topic, retained_topic) = (unique("keeper"), unique("persist/q"), unique("persist/r"));

    let first = start(&state, 0).await;
    let addr = first.local_addr();
    leave_session(addr, &id, 300, &topic).await;
    let (publ, mut pel, _) = connect(options(addr, &unique("pub"))).await;
    for i in 0..3 {
        publish(&publ, &mut pel, &topic, &format!("m{i}"), false, None).await;
    }
    publish(&publ, &mut pel, &retained_topic, "last-known", true, None).await;
    disconnect(publ, pel).await;
    stop(first).await; // the returned snapshots are deliberately not handed to the next broker
    assert!(state.exists(), "graceful shutdown writes the state file");

    let second = start(&state, 0).await;
    let addr = second.local_addr();
    let (_client, mut el, ack) = connect(persistent(addr, &id, 300)).await;
    assert!(ack.session_present, "the session came back from the file");
    for i in 0..3 {
        let p = next_publish(&mut el).await;
        assert_eq!(&p.payload[..], format!("m{i}").as_bytes(), "queued messages, in order");
        assert_eq!(p.qos, QoS::AtLeastOnce);
    }
    let (sub, mut sel, _) = connect(options(addr, &unique("newcomer"))).await;
    subscribe(&sub, &mut sel, &retained_topic).await;
    let r = next_publish(&mut sel).await;
    assert_eq!(&r.payload[..], b"last-known");
    assert!(r.retain, "delivered as a retained message");
    stop(second).await;
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expiry_counts_the_time_the_broker_was_down() {
    let dir = state_dir();
    let state = dir.join("state");
    let (short, long) = (unique("short"), unique("long"));
    let (topic, will_topic) = (unique("persist/exp"), unique("persist/will"));

    let first = start(&state, 0).await;
    let addr = first.local_addr();
    // `long` keeps its session for an hour and listens to the data and to `short`'s will.
    let (client, mut el, _) = connect(persistent(addr, &long, 3600)).await;
    subscribe(&client, &mut el, &topic).await;
    subscribe(&client, &mut el, &will_topic).await;
    disconnect(client, el).await;
    // `short` (60 s session, will delayed 300 s) is still connected when the broker stops, so its session is
    // saved with the will pending.
    let mut o = persistent(addr, &short, 60);
    o.set_last_will(common::v5::delayed_will(&will_topic, "short is gone", 300));
    let (short_client, mut short_el, _) = connect(o).await;
    subscribe(&short_client, &mut short_el, &topic).await;
    let (publ, mut pel, _) = connect(options(addr, &unique("pub"))).await;
    publish(&publ, &mut pel, &topic, "lives an hour", false, Some(3600)).await;
    publish(&publ, &mut pel, &topic, "lives a minute", false, Some(60)).await;
    disconnect(publ, pel).await;
    stop(first).await;
    drop((short_client, short_el));

    // Ten minutes of downtime: past the short session's 60 s (which ends it and publishes its will) and the
    // second message's 60 s.
    age_state_file(&state, Duration::from_secs(600));
    let second = start(&state, 0).await;
    let addr = second.local_addr();
    let (_kept, mut el, ack) = connect(persistent(addr, &long, 3600)).await;
    assert!(ack.session_present);
    let p = next_publish(&mut el).await;
    assert_eq!(&p.payload[..], b"lives an hour");
    let left = p.properties.and_then(|p| p.message_expiry_interval).unwrap();
    assert!(
        (2900..=3000).contains(&left),
        "expiry reduced by the downtime, got {left}"
    );
    // The expired message is never delivered; the will of the session that expired while the broker was down
    // was published at start, into this session's queue.
    let will = next_publish(&mut el).await;
    assert_eq!(&will.topic[..], will_topic.as_bytes());
    assert_eq!(&will.payload[..], b"short is gone");
    let (_gone, _gone_el, ack) = connect(persistent(addr, &short, 60)).await;
    assert!(
        !ack.session_present,
        "the 60 s session expired while the broker was down"
    );
    stop(second).await;
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_autosave_survives_a_crash() {
    let dir = state_dir();
    let state = dir.join("state");
    let (id, topic) = (unique("crash"), unique("persist/crash"));

    let crashed = tokio::runtime::Runtime::new().unwrap();
    crashed.block_on(async {
        let broker = start(&state, 1).await;
        let addr = broker.local_addr();
        leave_session(addr, &id, 300, &topic).await;
        let (publ, mut pel, _) = connect(options(addr, &unique("pub"))).await;
        publish(&publ, &mut pel, &topic, "before the crash", false, None).await;
        // Wait for an autosave that holds the queued message (not for a fixed time).
        tokio::time::timeout(WAIT, async {
            loop {
                if let Ok(bytes) = std::fs::read(&state)
                    && let Ok(saved) = SavedState::decode(&bytes, WallClock::new(Instant::now(), SystemTime::now()))
                    && saved.sessions.iter().any(|s| s.client_id == id && s.queued.len() == 1)
                {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
        .await
        .expect("no autosave within the wait");
        drop(broker); // no shutdown, no final save: the process "dies" here
    });
    // Dropping the runtime cancels every task, as SIGKILL would end them.
    crashed.shutdown_background();

    let restarted = tokio::runtime::Runtime::new().unwrap();
    restarted.block_on(async {
        let broker = start(&state, 1).await;
        let (_client, mut el, ack) = connect(persistent(broker.local_addr(), &id, 300)).await;
        assert!(ack.session_present, "the autosaved session is back");
        assert_eq!(&next_publish(&mut el).await.payload[..], b"before the crash");
        stop(broker).await;
    });
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_corrupt_state_file_is_moved_aside_and_the_broker_starts_empty() {
    let dir = state_dir();
    let state = dir.join("state");
    let id = unique("afterwards");
    std::fs::write(&state, b"HPMQSTAT\x00\x01 this is not a state file").unwrap();

    let broker = start(&state, 0).await;
    let aside = dir.join("state.corrupt");
    assert_eq!(
        std::fs::read(&aside).unwrap(),
        b"HPMQSTAT\x00\x01 this is not a state file",
        "the bad file is kept for inspection"
    );
    assert!(!state.exists());
    leave_session(broker.local_addr(), &id, 300, &unique("t")).await;
    stop(broker).await;
    let saved = SavedState::decode(
        &std::fs::read(&state).unwrap(),
        WallClock::new(Instant::now(), SystemTime::now()),
    )
    .expect("a good file is written at shutdown");
    assert!(saved.sessions.iter().any(|s| s.client_id == id));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreadable_state_file_stops_the_start_with_its_path() {
    let dir = state_dir();
    // A directory where the file should be: reading it fails, and starting empty would overwrite it.
    let state = dir.join("state");
    std::fs::create_dir_all(&state).unwrap();
    let error = Broker::start(config(&state, 0)).await.unwrap_err().to_string();
    assert!(error.contains(&state.display().to_string()), "{error}");
    assert!(error.contains("read"), "{error}");
    std::fs::remove_dir_all(&dir).unwrap();
}
