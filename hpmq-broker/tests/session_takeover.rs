//! Session takeover and graceful shutdown, driven by `rumqttc` (v5 and 3.1.1): what happens to the old
//! connection, its will, and the session's subscriptions and queued messages when the same client id connects
//! again, and what clients see when the broker stops.
//!
//! Absence is checked without timed waits: after the event under test, a probe message goes the same way
//! through the broker, so anything that was going to arrive arrives before the probe.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use common::v5::{connect, next_publish, until};
use common::{WAIT, start_default, unique, wait_for};
use hpmq_broker::{Broker, BrokerHandle, Config};
use rumqttc::v5::mqttbytes::QoS;
use rumqttc::v5::mqttbytes::v5::{DisconnectReasonCode, Packet, Publish};
use rumqttc::v5::{AsyncClient, ConnectionError, Event, EventLoop, MqttOptions, StateError};

/// A clean v5 client (Session Expiry Interval 0).
fn options(addr: SocketAddr, id: &str) -> MqttOptions {
    let mut o = MqttOptions::new(id, "127.0.0.1", addr.port());
    o.set_keep_alive(Duration::from_secs(30));
    o
}

/// A v5 client whose session outlives its connection by five minutes.
fn persistent(addr: SocketAddr, id: &str, clean_start: bool) -> MqttOptions {
    let mut o = options(addr, id);
    o.set_clean_start(clean_start);
    o.set_session_expiry_interval(Some(300));
    o
}

async fn subscribe(client: &AsyncClient, el: &mut EventLoop, filter: &str) {
    client.subscribe(filter, QoS::AtLeastOnce).await.unwrap();
    until(el, |p| matches!(p, Packet::SubAck(_)).then_some(())).await;
}

/// Publishes at QoS 1 and waits for the PUBACK (rumqttc writes only while its event loop is polled).
async fn publish(client: &AsyncClient, el: &mut EventLoop, topic: &str, payload: &str) {
    client
        .publish(topic, QoS::AtLeastOnce, false, payload.to_owned())
        .await
        .unwrap();
    until(el, |p| matches!(p, Packet::PubAck(_)).then_some(())).await;
}

/// Polls until the connection ends and returns the server's DISCONNECT reason, if it sent one. rumqttc reports
/// a server DISCONNECT as an error of `poll`, never as an event; polling again would reconnect, so this stops.
async fn closed(el: &mut EventLoop) -> Option<DisconnectReasonCode> {
    closed_keeping_publishes(el).await.0
}

/// [`closed`], also returning the PUBLISH packets that arrived before the close.
async fn closed_keeping_publishes(el: &mut EventLoop) -> (Option<DisconnectReasonCode>, Vec<Publish>) {
    let deadline = tokio::time::Instant::now() + WAIT;
    let mut publishes = Vec::new();
    loop {
        match tokio::time::timeout_at(deadline, el.poll())
            .await
            .expect("the connection was never closed")
        {
            Ok(Event::Incoming(Packet::Publish(p))) => publishes.push(p),
            Ok(_) => continue,
            Err(ConnectionError::MqttState(StateError::ServerDisconnect { reason_code, .. })) => {
                return (Some(reason_code), publishes);
            }
            Err(_) => return (None, publishes),
        }
    }
}

fn text(p: &Publish) -> (String, String) {
    (
        String::from_utf8(p.topic.to_vec()).unwrap(),
        String::from_utf8(p.payload.to_vec()).unwrap(),
    )
}

/// Waits until the broker's statistics satisfy `ok`.
async fn stats_settle(broker: &BrokerHandle, what: &str, ok: impl Fn(&hpmq_broker::sys::SysSnapshot) -> bool) {
    wait_for(what, || ok(&broker.stats())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_takeover_with_clean_start_0_keeps_subscriptions_and_unacknowledged_messages() {
    let broker = start_default().await;
    let addr = broker.local_addr();
    let (id, topic) = (unique("resume"), unique("resume-topic"));
    let (a, mut a_el, _) = connect(persistent(addr, &id, true)).await;
    subscribe(&a, &mut a_el, &topic).await;
    let (publ, mut pub_el, _) = connect(options(addr, &unique("pub"))).await;
    // A is not polled from here on: m1 and m2 are sent to it but never acknowledged.
    publish(&publ, &mut pub_el, &topic, "m1").await;
    publish(&publ, &mut pub_el, &topic, "m2").await;

    let (_b, mut b_el, ack) = connect(persistent(addr, &id, false)).await;
    assert!(ack.session_present, "the session continues [MQTT-3.2.2-2]");
    assert_eq!(
        closed(&mut a_el).await,
        Some(DisconnectReasonCode::SessionTakenOver),
        "[MQTT-3.1.4-3]"
    );
    // The unacknowledged messages are sent again [MQTT-4.4.0-1], then the subscription keeps working.
    for expected in ["m1", "m2"] {
        assert_eq!(text(&next_publish(&mut b_el).await).1, expected);
    }
    publish(&publ, &mut pub_el, &topic, "m3").await;
    assert_eq!(text(&next_publish(&mut b_el).await).1, "m3");
    stats_settle(&broker, "two connected clients, one subscription", |s| {
        s.clients_connected == 2 && s.sessions == 2 && s.subscriptions == 1
    })
    .await;
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_takeover_with_clean_start_1_discards_subscriptions_and_unacknowledged_messages() {
    let broker = start_default().await;
    let addr = broker.local_addr();
    let (id, topic, probe) = (unique("fresh"), unique("fresh-topic"), unique("probe"));
    let (a, mut a_el, _) = connect(persistent(addr, &id, true)).await;
    subscribe(&a, &mut a_el, &topic).await;
    let (publ, mut pub_el, _) = connect(options(addr, &unique("pub"))).await;
    publish(&publ, &mut pub_el, &topic, "old").await;

    let (b, mut b_el, ack) = connect(persistent(addr, &id, true)).await;
    assert!(!ack.session_present, "Clean Start discards the session [MQTT-3.1.2-4]");
    assert_eq!(closed(&mut a_el).await, Some(DisconnectReasonCode::SessionTakenOver));
    subscribe(&b, &mut b_el, &probe).await;
    publish(&publ, &mut pub_el, &topic, "after").await;
    publish(&publ, &mut pub_el, &probe, "probe").await;
    assert_eq!(
        text(&next_publish(&mut b_el).await),
        (probe.clone(), "probe".to_owned()),
        "neither the old session's message nor its subscription reached the new session"
    );
    stats_settle(&broker, "only the new subscription", |s| {
        s.clients_connected == 2 && s.sessions == 2 && s.subscriptions == 1
    })
    .await;
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_v311_takeover_closes_the_old_connection_and_resumes_the_session() {
    use rumqttc::{AsyncClient as Client4, Event as Event4, MqttOptions as Options4};
    use rumqttc::{Packet as Packet4, QoS as QoS4};
    let broker = start_default().await;
    let addr = broker.local_addr();
    let (id, topic) = (unique("twin311"), unique("twin311-topic"));
    let opts = || {
        let mut o = Options4::new(&id, "127.0.0.1", addr.port());
        o.set_clean_session(false);
        o
    };
    let (a, mut a_el) = Client4::new(opts(), 10);
    common::v4::until(&mut a_el, |p| matches!(p, Packet4::ConnAck(_)).then_some(())).await;
    a.subscribe(&topic, QoS4::AtLeastOnce).await.unwrap();
    common::v4::until(&mut a_el, |p| matches!(p, Packet4::SubAck(_)).then_some(())).await;

    let (_b, mut b_el) = Client4::new(opts(), 10);
    let present = common::v4::until(&mut b_el, |p| match p {
        Packet4::ConnAck(a) => Some(a.session_present),
        _ => None,
    })
    .await;
    assert!(present);
    // 3.1.1 has no server DISCONNECT: the old connection is just closed [MQTT-3.1.4-2 of 3.1.1].
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let polled = tokio::time::timeout_at(deadline, a_el.poll())
            .await
            .expect("the old connection was never closed");
        match polled {
            Ok(Event4::Incoming(Packet4::Disconnect)) => panic!("a 3.1.1 server never sends DISCONNECT"),
            Ok(_) => continue,
            Err(_) => break,
        }
    }
    let (publ, mut pub_el) = Client4::new(Options4::new(unique("p311"), "127.0.0.1", addr.port()), 10);
    publ.publish(&topic, QoS4::AtLeastOnce, false, "kept").await.unwrap();
    common::v4::until(&mut pub_el, |p| matches!(p, Packet4::PubAck(_)).then_some(())).await;
    let p = common::v4::until(&mut b_el, |p| match p {
        Packet4::Publish(p) => Some(p.payload.clone()),
        _ => None,
    })
    .await;
    assert_eq!(&p[..], b"kept", "the subscription moved to the new connection");
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_will_of_a_taken_over_connection_follows_the_will_delay_rules() {
    let broker = start_default().await;
    let addr = broker.local_addr();
    let probe = unique("probe");
    let (watcher, mut watcher_el, _) = connect(options(addr, &unique("watcher"))).await;
    subscribe(&watcher, &mut watcher_el, &probe).await;
    // (will delay, old session persistent, new Clean Start, will expected). A takeover closes the old
    // connection without a normal DISCONNECT, so its will is due [MQTT-3.1.4-3] [MQTT-3.1.2-8]:
    let cases = [
        // no delay: published at once;
        (0, true, false, true),
        // a delay and the session continues: the new connection cancels it [MQTT-3.1.3-9];
        (30, true, false, false),
        // a delay, but Clean Start ends the old session first [MQTT-3.1.2-4];
        (30, true, true, true),
        // a delay, but the old session (expiry 0) ended with its connection.
        (30, false, false, true),
    ];
    for (i, (delay, keep, clean, expected)) in cases.into_iter().enumerate() {
        let id = unique("heir");
        let will_topic = unique("will");
        subscribe(&watcher, &mut watcher_el, &will_topic).await;
        let mut old = if keep {
            persistent(addr, &id, true)
        } else {
            options(addr, &id)
        };
        old.set_last_will(common::v5::delayed_will(&will_topic, "gone", delay));
        let (_a, mut a_el, _) = connect(old).await;
        let (b, mut b_el, _) = connect(persistent(addr, &id, clean)).await;
        assert_eq!(closed(&mut a_el).await, Some(DisconnectReasonCode::SessionTakenOver));
        // The will, if any, was routed before the new CONNACK, so before this probe.
        publish(&b, &mut b_el, &probe, &format!("probe {i}")).await;
        let first = text(&next_publish(&mut watcher_el).await);
        if expected {
            assert_eq!(first, (will_topic, "gone".to_owned()), "case {i}: will expected");
            assert_eq!(text(&next_publish(&mut watcher_el).await).1, format!("probe {i}"));
        } else {
            assert_eq!(
                first,
                (probe.clone(), format!("probe {i}")),
                "case {i}: no will expected"
            );
        }
    }
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_takeovers_in_a_row_leave_one_session_and_nothing_behind() {
    let broker = start_default().await;
    let addr = broker.local_addr();
    let id = unique("rapid");
    let mut previous: Option<(AsyncClient, EventLoop)> = None;
    for i in 0..20 {
        // Mix the cases: a session that ends with its connection, one that continues, one that is discarded;
        // the last connection starts clean so exactly its own subscription remains.
        let o = match i % 3 {
            _ if i == 19 => options(addr, &id),
            0 => options(addr, &id),
            1 => persistent(addr, &id, false),
            _ => persistent(addr, &id, true),
        };
        let (client, mut el, _) = connect(o).await;
        subscribe(&client, &mut el, &format!("{id}/{i}")).await;
        if let Some((_, mut old)) = previous.take() {
            assert_eq!(
                closed(&mut old).await,
                Some(DisconnectReasonCode::SessionTakenOver),
                "takeover {i}"
            );
        }
        previous = Some((client, el));
    }
    stats_settle(&broker, "one client, one session, one subscription", |s| {
        s.clients_connected == 1 && s.sessions == 1 && s.subscriptions == 1
    })
    .await;
    let (client, mut el) = previous.take().unwrap();
    publish(&client, &mut el, &format!("{id}/19"), "alive").await;
    assert_eq!(text(&next_publish(&mut el).await).1, "alive");
    client.disconnect().await.unwrap();
    let _ = closed(&mut el).await;
    stats_settle(&broker, "nothing left", |s| {
        s.clients_connected == 0 && s.sessions == 0 && s.subscriptions == 0
    })
    .await;
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_connections_with_one_client_id_leave_one_connected() {
    let broker = start_default().await;
    let addr = broker.local_addr();
    let id = unique("crowd");
    const N: usize = 20;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..N {
        let (o, tx) = (options(addr, &id), tx.clone());
        tasks.spawn(async move {
            let (_client, mut el) = AsyncClient::new(o, 10);
            // Each connection is accepted, then all but the last are taken over. Stop at the first error:
            // polling again would reconnect.
            while let Ok(event) = el.poll().await {
                if let Event::Incoming(Packet::ConnAck(_)) = event {
                    let _ = tx.send(Ok(()));
                }
            }
            let _ = tx.send(Err(()));
            std::future::pending::<()>().await;
        });
    }
    let (mut accepted, mut closed) = (0, 0);
    while accepted < N || closed < N - 1 {
        match tokio::time::timeout(WAIT, rx.recv()).await.expect("stalled").unwrap() {
            Ok(()) => accepted += 1,
            Err(()) => closed += 1,
        }
    }
    stats_settle(&broker, "one of the twenty connected", |s| {
        s.clients_connected == 1 && s.sessions == 1
    })
    .await;
    tasks.abort_all();
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_disconnects_with_0x8b_publishes_wills_and_saves_sessions() {
    let text_config = "[listener]\naddress = \"127.0.0.1:0\"\n";
    let broker = Broker::start(parking(Config::from_toml_str(text_config).unwrap()))
        .await
        .unwrap();
    let addr = broker.local_addr();
    let (watcher_id, will_topic) = (unique("watcher"), unique("will"));
    let (watcher, mut watcher_el, _) = connect(persistent(addr, &watcher_id, true)).await;
    subscribe(&watcher, &mut watcher_el, &will_topic).await;
    // A server shutdown is not a normal DISCONNECT from the client, so the will is due [MQTT-3.1.2-8]
    // [MQTT-3.14.4-3]: at once without a delay; a delayed will of a session that is saved may wait for the
    // restart (3.1.2.5 allows deferring wills until the server restarts).
    let mut now = options(addr, &unique("now"));
    now.set_last_will(common::v5::delayed_will(&will_topic, "now", 0));
    let (_now, mut now_el, _) = connect(now).await;
    let mut later = persistent(addr, &unique("later"), true);
    later.set_last_will(common::v5::delayed_will(&will_topic, "later", 1));
    let (_later, mut later_el, _) = connect(later).await;
    // 3.1.1 publishes the will whenever the connection closes without a DISCONNECT from the client
    // ([MQTT-3.1.2-8] of 3.1.1).
    let mut v311 = rumqttc::MqttOptions::new(unique("v311"), "127.0.0.1", addr.port());
    v311.set_last_will(rumqttc::LastWill::new(
        &will_topic,
        "v311",
        rumqttc::QoS::AtLeastOnce,
        false,
    ));
    let (_v311, mut v311_el) = rumqttc::AsyncClient::new(v311, 10);
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let ev = tokio::time::timeout_at(deadline, v311_el.poll())
            .await
            .unwrap()
            .unwrap();
        if let rumqttc::Event::Incoming(rumqttc::Packet::ConnAck(_)) = ev {
            break;
        }
    }

    let stopping = tokio::spawn(broker.shutdown());
    // The shutdown closes the sessions one by one, in no set order: a will routed before the watcher's own
    // close is delivered to it live (that is correct), one routed after waits in its saved session.
    let (reason, early) = closed_keeping_publishes(&mut watcher_el).await;
    assert_eq!(reason, Some(DisconnectReasonCode::ServerShuttingDown));
    let mut wills: std::collections::BTreeSet<String> = early.iter().map(|p| text(p).1).collect();
    for el in [&mut now_el, &mut later_el] {
        assert_eq!(closed(el).await, Some(DisconnectReasonCode::ServerShuttingDown));
    }
    let deadline = tokio::time::Instant::now() + WAIT;
    while tokio::time::timeout_at(deadline, v311_el.poll())
        .await
        .expect("the 3.1.1 connection was never closed")
        .is_ok()
    {}
    let saved = tokio::time::timeout(WAIT, stopping).await.unwrap().unwrap();
    assert_eq!(saved.len(), 2, "the two persistent sessions are saved");

    let broker = Broker::start_with(parking(Config::from_toml_str(text_config).unwrap()), saved, None)
        .await
        .unwrap();
    let (_watcher, mut watcher_el, ack) = connect(persistent(broker.local_addr(), &watcher_id, false)).await;
    assert!(ack.session_present);
    // Each will reaches the watcher, live or from its saved session (at least once: a QoS 1 will written just
    // before the close may be sent again on resume).
    while wills.len() < 3 {
        wills.insert(text(&next_publish(&mut watcher_el).await).1);
    }
    assert_eq!(wills.into_iter().collect::<Vec<_>>(), ["later", "now", "v311"]);
    broker.shutdown().await;
}

/// A config with the test run's parking override (see `common::park_override`).
fn parking(mut config: Config) -> Config {
    common::park_override(&mut config);
    config
}
