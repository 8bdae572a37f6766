//! The broker driven by the `rumqttc` crate (v5 and 3.1.1 clients): QoS 1/2, persistent sessions with
//! offline queueing, wills, retained messages, shared subscriptions, topic aliases and message expiry.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use common::v5::{connect, next_publish, until};
use common::{WAIT, start_default, unique};
use rumqttc::v5::mqttbytes::QoS;
use rumqttc::v5::mqttbytes::v5::{
    DisconnectReasonCode, LastWill, Packet, Publish, PublishProperties, SubscribeReasonCode,
};
use rumqttc::v5::{AsyncClient, ConnectionError, Event, EventLoop, MqttOptions, StateError};

fn options(addr: SocketAddr, id: &str) -> MqttOptions {
    let mut o = MqttOptions::new(id, "127.0.0.1", addr.port());
    o.set_keep_alive(Duration::from_secs(30));
    o
}

async fn subscribe(client: &AsyncClient, el: &mut EventLoop, filter: &str, qos: QoS) -> Vec<SubscribeReasonCode> {
    client.subscribe(filter, qos).await.unwrap();
    until(el, |p| match p {
        Packet::SubAck(a) => Some(a.return_codes.clone()),
        _ => None,
    })
    .await
}

/// Publishes and waits for the PUBACK (QoS 1) or PUBCOMP (QoS 2).
async fn publish_acked(client: &AsyncClient, el: &mut EventLoop, topic: &str, qos: QoS, payload: &str) {
    client.publish(topic, qos, false, payload.to_owned()).await.unwrap();
    until(el, |p| match (qos, p) {
        (QoS::AtLeastOnce, Packet::PubAck(_)) | (QoS::ExactlyOnce, Packet::PubComp(_)) => Some(()),
        (QoS::AtMostOnce, _) => Some(()),
        _ => None,
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn qos1_and_qos2_are_delivered_and_acknowledged() {
    let broker = start_default().await;
    let addr = broker.local_addr();
    let topic = unique("qos");
    let (sub, mut sub_el, _) = connect(options(addr, &unique("sub"))).await;
    assert_eq!(
        subscribe(&sub, &mut sub_el, &topic, QoS::ExactlyOnce).await,
        [SubscribeReasonCode::Success(QoS::ExactlyOnce)]
    );
    let (publ, mut pub_el, _) = connect(options(addr, &unique("pub"))).await;
    for (qos, payload) in [(QoS::AtLeastOnce, "one"), (QoS::ExactlyOnce, "two")] {
        publish_acked(&publ, &mut pub_el, &topic, qos, payload).await;
        let p = next_publish(&mut sub_el).await;
        assert_eq!(
            (p.qos, &p.payload[..], &p.topic[..]),
            (qos, payload.as_bytes(), topic.as_bytes())
        );
    }
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_persistent_session_gets_what_was_published_while_offline() {
    let broker = start_default().await;
    let addr = broker.local_addr();
    let topic = unique("offline");
    let id = unique("persistent");
    let persistent = || {
        let mut o = options(addr, &id);
        o.set_clean_start(false);
        o.set_session_expiry_interval(Some(300));
        o
    };
    let (sub, mut sub_el, ack) = connect(persistent()).await;
    assert!(!ack.session_present);
    subscribe(&sub, &mut sub_el, &topic, QoS::AtLeastOnce).await;
    sub.disconnect().await.unwrap();
    // Poll until the DISCONNECT is written and the connection closes.
    let _ = tokio::time::timeout(WAIT, async { while sub_el.poll().await.is_ok() {} }).await;
    drop(sub_el);

    let (publ, mut pub_el, _) = connect(options(addr, &unique("pub"))).await;
    for i in 0..3 {
        publish_acked(&publ, &mut pub_el, &topic, QoS::AtLeastOnce, &format!("m{i}")).await;
    }
    publish_acked(&publ, &mut pub_el, &topic, QoS::ExactlyOnce, "m3").await;

    let (_sub, mut sub_el, ack) = connect(persistent()).await;
    assert!(ack.session_present, "the session must have been kept");
    for i in 0..4 {
        let p = next_publish(&mut sub_el).await;
        assert_eq!(&p.payload[..], format!("m{i}").as_bytes(), "offline messages in order");
    }
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_v311_persistent_session_gets_offline_messages() {
    use rumqttc::{AsyncClient as Client4, MqttOptions as Options4, Packet as Packet4, QoS as QoS4};
    let broker = start_default().await;
    let addr = broker.local_addr();
    let topic = unique("offline311");
    let id = unique("persistent311");
    let opts = || {
        let mut o = Options4::new(&id, "127.0.0.1", addr.port());
        o.set_clean_session(false);
        o
    };
    let (sub, mut el) = Client4::new(opts(), 10);
    common::v4::until(&mut el, |p| matches!(p, Packet4::ConnAck(_)).then_some(())).await;
    sub.subscribe(&topic, QoS4::AtLeastOnce).await.unwrap();
    common::v4::until(&mut el, |p| matches!(p, Packet4::SubAck(_)).then_some(())).await;
    sub.disconnect().await.unwrap();
    let _ = tokio::time::timeout(WAIT, async { while el.poll().await.is_ok() {} }).await;
    drop(el);

    let (publ, mut pel) = Client4::new(Options4::new(unique("p311"), "127.0.0.1", addr.port()), 10);
    publ.publish(&topic, QoS4::AtLeastOnce, false, "queued").await.unwrap();
    common::v4::until(&mut pel, |p| matches!(p, Packet4::PubAck(_)).then_some(())).await;

    let (_sub, mut el) = Client4::new(opts(), 10);
    let present = common::v4::until(&mut el, |p| match p {
        Packet4::ConnAck(a) => Some(a.session_present),
        _ => None,
    })
    .await;
    assert!(present);
    let p = common::v4::until(&mut el, |p| match p {
        Packet4::Publish(p) => Some(p.clone()),
        _ => None,
    })
    .await;
    assert_eq!(&p.payload[..], b"queued");
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_will_is_published_on_abnormal_close_only() {
    let broker = start_default().await;
    let addr = broker.local_addr();
    let topic = unique("will");
    let (sub, mut sub_el, _) = connect(options(addr, &unique("watcher"))).await;
    subscribe(&sub, &mut sub_el, &topic, QoS::AtLeastOnce).await;

    let with_will = |payload: &'static str| {
        let mut o = options(addr, &unique("dying"));
        o.set_last_will(LastWill::new(&topic, payload, QoS::AtLeastOnce, false, None));
        o
    };
    // A normal DISCONNECT discards the will.
    let (polite, mut polite_el, _) = connect(with_will("polite")).await;
    polite.disconnect().await.unwrap();
    let _ = tokio::time::timeout(WAIT, async { while polite_el.poll().await.is_ok() {} }).await;
    // Dropping the event loop closes the socket without DISCONNECT: the will goes out.
    let (_rude, rude_el, _) = connect(with_will("rude")).await;
    drop(rude_el);
    let p = next_publish(&mut sub_el).await;
    assert_eq!(&p.payload[..], b"rude", "only the abnormal close publishes its will");
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delayed_will_is_cancelled_by_reconnecting() {
    let broker = start_default().await;
    let addr = broker.local_addr();
    let topic = unique("delayed-will");
    let (sub, mut sub_el, _) = connect(options(addr, &unique("watcher"))).await;
    subscribe(&sub, &mut sub_el, &topic, QoS::AtLeastOnce).await;
    let id = unique("flaky");
    let opts = |payload: &'static str, delay: u32| {
        let mut o = options(addr, &id);
        o.set_clean_start(false);
        o.set_session_expiry_interval(Some(60));
        o.set_last_will(common::v5::delayed_will(&topic, payload, delay));
        o
    };
    // Long delay, and the client comes back before it: no will.
    let (_c, el, _) = connect(opts("too-early", 30)).await;
    drop(el);
    // Short delay after this drop: the will is published about a second later.
    let (_c, el, _) = connect(opts("after-delay", 1)).await;
    drop(el);
    let p = next_publish(&mut sub_el).await;
    assert_eq!(&p.payload[..], b"after-delay");
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retained_messages_carry_the_retain_flag_to_new_subscribers() {
    let broker = start_default().await;
    let addr = broker.local_addr();
    let topic = unique("retain");
    let (publ, mut pub_el, _) = connect(options(addr, &unique("pub"))).await;
    publ.publish(&topic, QoS::AtLeastOnce, true, "state").await.unwrap();
    until(&mut pub_el, |p| matches!(p, Packet::PubAck(_)).then_some(())).await;
    let (sub, mut sub_el, _) = connect(options(addr, &unique("sub"))).await;
    subscribe(&sub, &mut sub_el, &topic, QoS::AtLeastOnce).await;
    let p = next_publish(&mut sub_el).await;
    assert!(p.retain);
    assert_eq!(&p.payload[..], b"state");
    // A live delivery of a retained publish to an existing subscriber has retain cleared (v5 [MQTT-3.3.1-12]
    // without Retain As Published; 3.1.1 [MQTT-3.3.1-9]). rumqttc sends only while its event loop is polled.
    publ.publish(&topic, QoS::AtLeastOnce, true, "state2").await.unwrap();
    until(&mut pub_el, |p| matches!(p, Packet::PubAck(_)).then_some(())).await;
    let p = next_publish(&mut sub_el).await;
    assert!(!p.retain);
    assert_eq!(&p.payload[..], b"state2");
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shared_subscription_splits_messages_among_its_members() {
    let broker = start_default().await;
    let addr = broker.local_addr();
    let topic = unique("work");
    let filter = format!("$share/workers/{topic}");
    let (a, mut a_el, _) = connect(options(addr, &unique("a"))).await;
    let (b, mut b_el, _) = connect(options(addr, &unique("b"))).await;
    subscribe(&a, &mut a_el, &filter, QoS::AtLeastOnce).await;
    subscribe(&b, &mut b_el, &filter, QoS::AtLeastOnce).await;
    let (publ, mut pub_el, _) = connect(options(addr, &unique("pub"))).await;
    const N: usize = 20;
    for i in 0..N {
        publish_acked(&publ, &mut pub_el, &topic, QoS::AtLeastOnce, &i.to_string()).await;
    }
    // Collect from both until all N arrived; each message exactly once.
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    for mut el in [a_el, b_el] {
        let tx = tx.clone();
        tokio::spawn(async move {
            while let Ok(ev) = el.poll().await {
                if let Event::Incoming(Packet::Publish(p)) = ev {
                    let _ = tx.send((el.options.client_id(), String::from_utf8(p.payload.to_vec()).unwrap()));
                }
            }
        });
    }
    let mut got = Vec::new();
    while got.len() < N {
        got.push(
            tokio::time::timeout(WAIT, rx.recv())
                .await
                .expect("messages missing")
                .unwrap(),
        );
    }
    let mut payloads: Vec<usize> = got.iter().map(|(_, p)| p.parse().unwrap()).collect();
    payloads.sort();
    assert_eq!(
        payloads,
        (0..N).collect::<Vec<_>>(),
        "each message to exactly one member"
    );
    let to_a = got.iter().filter(|(id, _)| id.starts_with("a-")).count();
    assert!(to_a > 0 && to_a < N, "both members get a share ({to_a} of {N} to a)");
    drop((a, b));
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn topic_aliases_work_in_both_directions() {
    let broker = start_default().await;
    let addr = broker.local_addr();
    let topic = unique("alias/long/topic/name");
    let mut so = options(addr, &unique("sub"));
    so.set_topic_alias_max(Some(8));
    let (sub, mut sub_el, _) = connect(so).await;
    subscribe(&sub, &mut sub_el, &topic, QoS::AtLeastOnce).await;

    let (publ, mut pub_el, ack) = connect(options(addr, &unique("pub"))).await;
    let max = ack.properties.and_then(|p| p.topic_alias_max).unwrap_or(0);
    assert!(max >= 1, "the broker accepts topic aliases");
    let alias = |a: u16| PublishProperties {
        topic_alias: Some(a),
        ..Default::default()
    };
    // Set alias 1, then publish by alias only (empty topic).
    publ.publish_with_properties(&topic, QoS::AtLeastOnce, false, "first", alias(1))
        .await
        .unwrap();
    until(&mut pub_el, |p| matches!(p, Packet::PubAck(_)).then_some(())).await;
    publ.publish_with_properties("", QoS::AtLeastOnce, false, "second", alias(1))
        .await
        .unwrap();
    until(&mut pub_el, |p| matches!(p, Packet::PubAck(_)).then_some(())).await;

    let first = next_publish(&mut sub_el).await;
    let second = next_publish(&mut sub_el).await;
    // The event loop hands out packets as received, so resolve the broker's aliases here as a client must.
    let alias_of = |p: &Publish| p.properties.as_ref().and_then(|p| p.topic_alias);
    assert_eq!(
        (&first.topic[..], &first.payload[..]),
        (topic.as_bytes(), &b"first"[..])
    );
    let assigned = alias_of(&first).or(alias_of(&second));
    assert!(
        assigned.is_some_and(|a| (1..=8).contains(&a)),
        "the broker assigns an alias on delivery: {assigned:?}"
    );
    let second_topic = if second.topic.is_empty() {
        assert_eq!(
            alias_of(&second),
            alias_of(&first),
            "an alias-only delivery uses the alias set before"
        );
        first.topic.clone()
    } else {
        second.topic.clone()
    };
    assert_eq!(
        (&second_topic[..], &second.payload[..]),
        (topic.as_bytes(), &b"second"[..])
    );
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_messages_are_not_delivered_from_the_offline_queue() {
    let broker = start_default().await;
    let addr = broker.local_addr();
    let topic = unique("expiry");
    let id = unique("sleeper");
    let persistent = || {
        let mut o = options(addr, &id);
        o.set_clean_start(false);
        o.set_session_expiry_interval(Some(300));
        o
    };
    let (sub, mut sub_el, _) = connect(persistent()).await;
    subscribe(&sub, &mut sub_el, &topic, QoS::AtLeastOnce).await;
    sub.disconnect().await.unwrap();
    let _ = tokio::time::timeout(WAIT, async { while sub_el.poll().await.is_ok() {} }).await;
    drop(sub_el);

    let (publ, mut pub_el, _) = connect(options(addr, &unique("pub"))).await;
    let expiry = |s: u32| PublishProperties {
        message_expiry_interval: Some(s),
        ..Default::default()
    };
    publ.publish_with_properties(&topic, QoS::AtLeastOnce, false, "short", expiry(1))
        .await
        .unwrap();
    until(&mut pub_el, |p| matches!(p, Packet::PubAck(_)).then_some(())).await;
    publ.publish_with_properties(&topic, QoS::AtLeastOnce, false, "long", expiry(600))
        .await
        .unwrap();
    until(&mut pub_el, |p| matches!(p, Packet::PubAck(_)).then_some(())).await;
    // Message expiry is defined in wall-clock seconds: the first message must outlive its interval.
    tokio::time::sleep(Duration::from_millis(2100)).await;

    let (_sub, mut sub_el, _) = connect(persistent()).await;
    let p = next_publish(&mut sub_el).await;
    assert_eq!(&p.payload[..], b"long", "the expired message is dropped");
    let left = p
        .properties
        .and_then(|p| p.message_expiry_interval)
        .expect("expiry forwarded");
    assert!(
        (590..600).contains(&left),
        "the interval counts down while queued: {left}"
    );
    drop(publ);
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_connection_with_the_same_client_id_takes_over() {
    let broker = start_default().await;
    let addr = broker.local_addr();
    let id = unique("twin");
    let (_first, mut first_el, _) = connect(options(addr, &id)).await;
    // The first session has Session Expiry Interval 0, so it ends with its connection; the second connection
    // still gets a session [MQTT-3.1.4-3].
    let (second, mut second_el, ack) = connect(options(addr, &id)).await;
    assert!(!ack.session_present);
    // The first connection gets DISCONNECT 0x8E Session taken over. rumqttc reports a server DISCONNECT as an
    // error of `poll` (it never yields it as an event); polling again would reconnect, so stop there.
    let deadline = tokio::time::Instant::now() + WAIT;
    let error = loop {
        match tokio::time::timeout_at(deadline, first_el.poll())
            .await
            .expect("first connection never closed")
        {
            Ok(_) => continue,
            Err(error) => break error,
        }
    };
    assert!(
        matches!(
            error,
            ConnectionError::MqttState(StateError::ServerDisconnect {
                reason_code: DisconnectReasonCode::SessionTakenOver,
                ..
            })
        ),
        "{error:?}"
    );
    // The second connection is live.
    let topic = unique("twin-topic");
    subscribe(&second, &mut second_el, &topic, QoS::AtLeastOnce).await;
    broker.shutdown().await;
}
