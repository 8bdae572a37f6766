//! An audit of the MQTT 5.0 features issue 6 lists, one test (or a few) per feature, each naming the spec
//! statements it proves. The broker runs on a free loopback port; clients are `rumqttc` (v5) where a library
//! can produce the behaviour, and the hand-written client in `raw/` where only a rule-breaking client can
//! (exceeding Receive Maximum, oversized packets, invalid topic aliases, silence past the keep alive).
//!
//! Every wait is bounded by [`common::WAIT`]. "Nothing else arrived" is proven with a probe message sent
//! after the one that must not arrive: the broker keeps one publisher's messages in order for a subscriber,
//! so once the probe is in, anything before it would have been too.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;
mod raw;

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use common::{WAIT, start, unique};
use raw::{Raw, connack_properties, u16_prop, u32_prop};
use rumqttc::v5::mqttbytes::QoS;
use rumqttc::v5::mqttbytes::v5::{
    ConnAck, Filter, LastWill, LastWillProperties, Packet, Publish, PublishProperties, RetainForwardRule,
    SubscribeProperties, SubscribeReasonCode,
};
use rumqttc::v5::{AsyncClient, Event, MqttOptions};
use tokio::sync::mpsc;

// ------------------------------------------------------------------------------------------- rumqttc driver

/// A rumqttc v5 client whose event loop runs in its own task, forwarding every incoming packet (or the
/// error that ended the loop) to a channel, so tests can wait with timeouts and ack by hand.
struct Client {
    client: AsyncClient,
    rx: mpsc::UnboundedReceiver<Result<Packet, String>>,
    task: tokio::task::JoinHandle<()>,
    /// PUBLISHes that arrived while [`Client::until`] waited for something else, for [`Client::next_publish`].
    stash: std::collections::VecDeque<Publish>,
}

impl Drop for Client {
    fn drop(&mut self) {
        // Dropping the event loop closes the socket without a DISCONNECT.
        self.task.abort();
    }
}

fn options(addr: SocketAddr, id: &str) -> MqttOptions {
    let mut o = MqttOptions::new(id, "127.0.0.1", addr.port());
    o.set_keep_alive(Duration::from_secs(30));
    o
}

impl Client {
    /// Connects and returns the client and its CONNACK.
    async fn connect(o: MqttOptions) -> (Client, ConnAck) {
        let (client, mut el) = AsyncClient::new(o, 100);
        let (tx, rx) = mpsc::unbounded_channel();
        let task = tokio::spawn(async move {
            loop {
                match el.poll().await {
                    Ok(Event::Incoming(p)) => {
                        if tx.send(Ok(p)).is_err() {
                            return;
                        }
                    }
                    Ok(Event::Outgoing(_)) => {}
                    Err(e) => {
                        let _ = tx.send(Err(e.to_string()));
                        return;
                    }
                }
            }
        });
        let mut c = Client {
            client,
            rx,
            task,
            stash: Default::default(),
        };
        let ack = c
            .until(|p| match p {
                Packet::ConnAck(a) => Some(a.clone()),
                _ => None,
            })
            .await;
        (c, ack)
    }

    /// The next incoming packet; panics after [`WAIT`] or when the connection failed.
    async fn next(&mut self) -> Packet {
        tokio::time::timeout(WAIT, self.rx.recv())
            .await
            .expect("timed out waiting for a packet")
            .expect("event loop gone")
            .unwrap_or_else(|e| panic!("connection error: {e}"))
    }

    /// The next packet within `within`, if any (`Err` when the connection failed).
    async fn maybe_next(&mut self, within: Duration) -> Option<Result<Packet, String>> {
        if let Some(p) = self.stash.pop_front() {
            return Some(Ok(Packet::Publish(p)));
        }
        tokio::time::timeout(within, self.rx.recv()).await.ok().flatten()
    }

    /// Reads packets until `pick` returns something; PUBLISHes it skips are kept for
    /// [`Client::next_publish`].
    async fn until<T>(&mut self, mut pick: impl FnMut(&Packet) -> Option<T>) -> T {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let p = tokio::time::timeout_at(deadline, self.next())
                .await
                .expect("timed out waiting for the expected packet");
            if let Some(t) = pick(&p) {
                return t;
            }
            if let Packet::Publish(p) = p {
                self.stash.push_back(p);
            }
        }
    }

    async fn next_publish(&mut self) -> Publish {
        if let Some(p) = self.stash.pop_front() {
            return p;
        }
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let p = tokio::time::timeout_at(deadline, self.next())
                .await
                .expect("timed out waiting for a PUBLISH");
            if let Packet::Publish(p) = p {
                return p;
            }
        }
    }

    /// Subscribes with `filter` and optional subscription identifier; returns the SUBACK codes.
    async fn subscribe(&mut self, filter: Filter, id: Option<usize>) -> Vec<SubscribeReasonCode> {
        let props = id.map(|id| SubscribeProperties {
            id: Some(id),
            user_properties: vec![],
        });
        match props {
            Some(props) => self
                .client
                .subscribe_many_with_properties([filter], props)
                .await
                .unwrap(),
            None => self.client.subscribe_many([filter]).await.unwrap(),
        }
        self.until(|p| match p {
            Packet::SubAck(a) => Some(a.return_codes.clone()),
            _ => None,
        })
        .await
    }

    async fn sub(&mut self, filter: &str, qos: QoS) {
        let codes = self.subscribe(Filter::new(filter, qos), None).await;
        assert!(matches!(codes[..], [SubscribeReasonCode::Success(_)]), "{codes:?}");
    }

    /// Publishes and waits for the broker's PUBACK/PUBCOMP (QoS 0: returns once queued in the client).
    async fn publish(&mut self, topic: &str, qos: QoS, retain: bool, payload: &[u8], props: PublishProperties) {
        self.client
            .publish_with_properties(topic, qos, retain, payload.to_vec(), props)
            .await
            .unwrap();
        match qos {
            QoS::AtMostOnce => {}
            QoS::AtLeastOnce => self.until(|p| matches!(p, Packet::PubAck(_)).then_some(())).await,
            QoS::ExactlyOnce => self.until(|p| matches!(p, Packet::PubComp(_)).then_some(())).await,
        }
    }

    /// Sends DISCONNECT (normal) and waits until the connection is closed.
    async fn disconnect(mut self) {
        self.client.disconnect().await.unwrap();
        let _ = tokio::time::timeout(WAIT, async { while let Some(Ok(_)) = self.rx.recv().await {} }).await;
    }
}

fn props() -> PublishProperties {
    PublishProperties::default()
}

fn payload_of(p: &Publish) -> String {
    String::from_utf8(p.payload.to_vec()).unwrap()
}

// ------------------------------------------------------------------------------------------- flow control

/// [MQTT-3.3.4-7] and v5 section 4.9: the server's Receive Maximum counts QoS 2 PUBLISHes until their PUBCOMP. A
/// client that sends one more than allowed without completing the earlier ones gets DISCONNECT 0x93 Receive
/// Maximum exceeded; one that completes them (PUBREL) may go on. (The broker acknowledges QoS 1 as soon as it
/// has routed the message, so only QoS 2, held until PUBREL, can pile up.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mqtt_3_3_4_7_exceeding_the_servers_receive_maximum_gets_disconnect_0x93() {
    let broker = start("[limits]\nreceive_maximum = 2\n").await;
    let addr = broker.local_addr();
    let (mut c, connack) = Raw::connect(addr, &raw::connect(5, &unique("greedy"), true, 60, &[])).await;
    assert_eq!(connack.body[1], 0, "accepted");
    assert_eq!(
        u16_prop(&connack_properties(&connack), 0x21),
        Some(2),
        "CONNACK announces Receive Maximum"
    );
    let topic = unique("rm");
    for id in [1, 2] {
        c.send(&raw::publish(5, &topic, 2, id, &[], b"x")).await;
        let rec = c.next().await.unwrap();
        assert_eq!((rec.kind(), rec.ack_id()), (5, id), "PUBREC");
    }
    // Completing one frees its slot.
    c.send(&raw::pubrel(1)).await;
    let comp = c.next().await.unwrap();
    assert_eq!((comp.kind(), comp.ack_id()), (7, 1), "PUBCOMP");
    c.send(&raw::publish(5, &topic, 2, 3, &[], b"x")).await;
    let rec = c.next().await.unwrap();
    assert_eq!((rec.kind(), rec.ack_id()), (5, 3), "a freed slot is usable");
    // Ids 2 and 3 are unfinished: a third is one too many.
    c.send(&raw::publish(5, &topic, 2, 4, &[], b"x")).await;
    let rest = c.until_closed().await;
    assert!(
        matches!(rest.as_slice(), [d] if d.kind() == 14 && d.body.first() == Some(&0x93)),
        "DISCONNECT 0x93 then close: {rest:02x?}"
    );
    broker.shutdown().await;
}

/// [MQTT-3.3.4-9]: the broker never has more unacknowledged QoS 1 PUBLISHes out to a client than the Receive
/// Maximum that client announced; the rest wait in order and flow as acks come back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mqtt_3_3_4_9_delivery_respects_the_clients_receive_maximum() {
    let broker = start("").await;
    let addr = broker.local_addr();
    let topic = unique("slow-acker");
    let mut o = options(addr, &unique("sub"));
    o.set_receive_maximum(Some(2));
    o.set_manual_acks(true);
    let (mut sub, _) = Client::connect(o).await;
    sub.sub(&topic, QoS::AtLeastOnce).await;
    let (mut publ, _) = Client::connect(options(addr, &unique("pub"))).await;
    const N: usize = 6;
    for i in 0..N {
        publ.publish(&topic, QoS::AtLeastOnce, false, i.to_string().as_bytes(), props())
            .await;
    }
    let mut unacked: std::collections::VecDeque<Publish> = Default::default();
    let mut got = Vec::new();
    while got.len() < N {
        if unacked.len() == 2 {
            // Two out: the broker must wait for an ack. Give it time to misbehave, then ack the oldest.
            if let Some(extra) = sub.maybe_next(Duration::from_millis(300)).await {
                panic!("a third unacknowledged PUBLISH: {extra:?}");
            }
            let oldest = unacked.pop_front().unwrap();
            sub.client.ack(&oldest).await.unwrap();
        }
        let p = sub.next_publish().await;
        got.push(payload_of(&p));
        unacked.push_back(p);
        assert!(unacked.len() <= 2, "more in flight than Receive Maximum 2");
    }
    assert_eq!(got, (0..N).map(|i| i.to_string()).collect::<Vec<_>>(), "in order");
    broker.shutdown().await;
}

// ------------------------------------------------------------------------------------- maximum packet size

/// [MQTT-3.2.2-15] and v5 section 4.13: the server announces its Maximum Packet Size in CONNACK; a PUBLISH
/// larger than that gets DISCONNECT 0x95 Packet too large; the broker keeps serving others.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mqtt_3_2_2_15_a_publish_above_the_servers_maximum_gets_disconnect_0x95() {
    let broker = start("[limits]\nmax_packet_size = 256\n").await;
    let addr = broker.local_addr();
    let (mut c, connack) = Raw::connect(addr, &raw::connect(5, &unique("big"), true, 60, &[])).await;
    assert_eq!(u32_prop(&connack_properties(&connack), 0x27), Some(256));
    let topic = unique("size");
    // Just under the limit is fine (QoS 1 so that the PUBACK proves it was taken).
    let fits = raw::publish(5, &topic, 1, 1, &[], &[b'a'; 200]);
    assert!(fits.len() <= 256);
    c.send(&fits).await;
    let ack = c.next().await.unwrap();
    assert_eq!((ack.kind(), ack.ack_id()), (4, 1), "PUBACK");
    c.send(&raw::publish(5, &topic, 1, 2, &[], &[b'a'; 400])).await;
    let rest = c.until_closed().await;
    assert!(
        matches!(rest.as_slice(), [d] if d.kind() == 14 && d.body.first() == Some(&0x95)),
        "DISCONNECT 0x95 then close: {rest:02x?}"
    );
    // Others are still served.
    let (mut other, _) = Client::connect(options(addr, &unique("ok"))).await;
    other.sub(&topic, QoS::AtMostOnce).await;
    other.publish(&topic, QoS::AtLeastOnce, false, b"fine", props()).await;
    assert_eq!(payload_of(&other.next_publish().await), "fine");
    broker.shutdown().await;
}

/// [MQTT-3.1.2-24] [MQTT-3.1.2-25]: a message larger than a client's Maximum Packet Size is not sent to that
/// client (it is dropped for it and counted) while other subscribers get it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mqtt_3_1_2_25_a_message_above_the_clients_maximum_is_dropped_for_that_client_only() {
    let broker = start("").await;
    let addr = broker.local_addr();
    let topic = unique("fat");
    let mut small_opts = options(addr, &unique("small"));
    small_opts.set_max_packet_size(Some(128));
    let (mut small, _) = Client::connect(small_opts).await;
    small.sub(&topic, QoS::AtLeastOnce).await;
    let (mut big, _) = Client::connect(options(addr, &unique("big"))).await;
    big.sub(&topic, QoS::AtLeastOnce).await;
    let dropped_before = broker.stats().messages_dropped;

    let (mut publ, _) = Client::connect(options(addr, &unique("pub"))).await;
    let fat = vec![b'f'; 500];
    publ.publish(&topic, QoS::AtLeastOnce, false, &fat, props()).await;
    publ.publish(&topic, QoS::AtLeastOnce, false, b"thin", props()).await;

    assert_eq!(big.next_publish().await.payload.len(), 500);
    assert_eq!(payload_of(&big.next_publish().await), "thin");
    // The small client's first delivery is the thin one: the fat one was never sent (rumqttc would also
    // have failed the connection on an oversized packet).
    assert_eq!(payload_of(&small.next_publish().await), "thin");
    assert!(broker.stats().messages_dropped > dropped_before, "the drop is counted");
    broker.shutdown().await;
}

// -------------------------------------------------------------------------------------------- keep alive

/// [MQTT-3.2.2-21] [MQTT-3.2.2-22]: with `keep_alive_max` set, a client asking for a longer keep alive (or for
/// none) is told the server's in CONNACK Server Keep Alive, which it must use; one asking for less gets no
/// Server Keep Alive and keeps its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mqtt_3_2_2_21_server_keep_alive_overrides_a_longer_request() {
    let broker = start("[limits]\nkeep_alive_max = 20\n").await;
    let addr = broker.local_addr();
    let (long, ack) = Client::connect(options(addr, &unique("long"))).await;
    assert_eq!(ack.properties.and_then(|p| p.server_keep_alive), Some(20));
    long.disconnect().await;
    let mut o = options(addr, &unique("short"));
    o.set_keep_alive(Duration::from_secs(10));
    let (short, ack) = Client::connect(o).await;
    assert_eq!(ack.properties.and_then(|p| p.server_keep_alive), None);
    short.disconnect().await;
    // Keep alive 0 (off) is overridden too.
    let (c, connack) = Raw::connect(addr, &raw::connect(5, &unique("zero"), true, 0, &[])).await;
    assert_eq!(u16_prop(&connack_properties(&connack), 0x13), Some(20));
    drop(c);
    broker.shutdown().await;
}

/// [MQTT-3.1.2-22]: a client silent for one and a half times its keep alive is disconnected (v5: DISCONNECT
/// 0x8D Keep Alive timeout); PINGREQs keep it alive; when the server sent a Server Keep Alive, that is the
/// value enforced [MQTT-3.2.2-21].
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mqtt_3_1_2_22_keep_alive_is_enforced_at_one_and_a_half_times() {
    let broker = start("[limits]\nkeep_alive_max = 1\n").await;
    let addr = broker.local_addr();

    // Asks for 1 s and pings every 500 ms for 2.5 s: stays up; then falls silent: closed after 1.5 s.
    let (mut pinger, connack) = Raw::connect(addr, &raw::connect(5, &unique("pinger"), true, 1, &[])).await;
    assert_eq!(connack.body[1], 0);
    for _ in 0..5 {
        tokio::time::sleep(Duration::from_millis(500)).await;
        pinger.send(&[0xC0, 0x00]).await;
        let resp = pinger.next().await.expect("closed while pinging");
        assert_eq!(resp.first, 0xD0, "PINGRESP");
    }
    let silent_from = Instant::now();
    let rest = pinger.until_closed().await;
    let waited = silent_from.elapsed();
    assert!(
        matches!(rest.as_slice(), [d] if d.kind() == 14 && d.body.first() == Some(&0x8D)),
        "DISCONNECT 0x8D then close: {rest:02x?}"
    );
    assert!(
        waited >= Duration::from_millis(1400),
        "closed before 1.5 x keep alive: {waited:?}"
    );

    // Asks for no keep alive, is told 1 s, and that is what is enforced.
    let started = Instant::now();
    let (mut lazy, connack) = Raw::connect(addr, &raw::connect(5, &unique("lazy"), true, 0, &[])).await;
    assert_eq!(u16_prop(&connack_properties(&connack), 0x13), Some(1));
    let rest = lazy.until_closed().await;
    assert!(
        matches!(rest.as_slice(), [d] if d.kind() == 14 && d.body.first() == Some(&0x8D)),
        "{rest:02x?}"
    );
    assert!(started.elapsed() >= Duration::from_millis(1400));
    broker.shutdown().await;
}

// ------------------------------------------------------------------------------ assigned client identifier

/// [MQTT-3.1.3-6] [MQTT-3.1.3-7]: an empty client id is accepted, the server assigns a unique one and returns
/// it in the CONNACK's Assigned Client Identifier; the session works under it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mqtt_3_1_3_7_an_empty_client_id_gets_an_assigned_identifier() {
    let broker = start("").await;
    let addr = broker.local_addr();
    let (mut a, ack_a) = Client::connect(options(addr, "")).await;
    let (_b, ack_b) = Client::connect(options(addr, "")).await;
    let id = |ack: &ConnAck| {
        ack.properties
            .as_ref()
            .and_then(|p| p.assigned_client_identifier.clone())
            .expect("Assigned Client Identifier")
    };
    let (id_a, id_b) = (id(&ack_a), id(&ack_b));
    assert!(!id_a.is_empty() && id_a != id_b, "{id_a:?} {id_b:?}");
    // The session is live under the assigned id.
    let topic = unique("assigned");
    a.sub(&topic, QoS::AtLeastOnce).await;
    a.publish(&topic, QoS::AtLeastOnce, false, b"hello", props()).await;
    assert_eq!(payload_of(&a.next_publish().await), "hello");
    broker.shutdown().await;
}

/// Assigned identifiers name sessions, so they must not be guessable: two brokers started at the same moment
/// (same connection counts, same clock) assign different ids, and ids assigned one after the other on one
/// broker share no prefix beyond `hpmq-` and a few hex digits by chance (issue 16 item 7).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn assigned_identifiers_differ_between_brokers_started_at_once() {
    let (one, two) = tokio::join!(start(""), start(""));
    let assigned = |connack: &raw::Frame| {
        let value = connack_properties(connack)
            .remove(&0x12)
            .expect("Assigned Client Identifier");
        String::from_utf8(value[2..].to_vec()).unwrap()
    };
    let connect = raw::connect(5, "", true, 30, &[]);
    let mut ids = Vec::new();
    for _ in 0..3 {
        let ((_a, ack_a), (_b, ack_b)) = tokio::join!(
            Raw::connect(one.local_addr(), &connect),
            Raw::connect(two.local_addr(), &connect)
        );
        ids.push(assigned(&ack_a));
        ids.push(assigned(&ack_b));
    }
    let distinct: BTreeSet<&String> = ids.iter().collect();
    assert_eq!(distinct.len(), ids.len(), "{ids:?}");
    for id in &ids {
        let hex = id.strip_prefix("hpmq-").expect("hpmq- prefix");
        assert!(
            hex.len() >= 32 && hex.chars().all(|c| c.is_ascii_hexdigit()),
            "{id}: 128 random bits"
        );
    }
    let common_prefix = |a: &str, b: &str| a.chars().zip(b.chars()).take_while(|(x, y)| x == y).count();
    let longest = ids
        .iter()
        .flat_map(|a| ids.iter().filter(move |b| *b != a).map(move |b| common_prefix(a, b)))
        .max()
        .unwrap();
    assert!(
        longest < "hpmq-".len() + 8,
        "ids share {longest} leading characters: {ids:?}"
    );
    one.shutdown().await;
    two.shutdown().await;
}

// ------------------------------------------------------------------------------------------ topic aliases

/// [MQTT-3.3.2-8] [MQTT-3.3.2-9] [MQTT-3.3.2-12]: a Topic Alias of 0 or above the server's Topic Alias Maximum
/// is answered with DISCONNECT 0x94 Topic Alias invalid; an alias-only PUBLISH with an alias never set on the
/// connection is a protocol error (0x82).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mqtt_3_3_2_12_an_invalid_topic_alias_gets_disconnect_0x94() {
    let broker = start("[limits]\ntopic_alias_maximum = 4\n").await;
    let addr = broker.local_addr();
    let alias = |a: u16| {
        let mut p = vec![0x23];
        p.extend_from_slice(&a.to_be_bytes());
        p
    };
    for (what, publish, want) in [
        (
            "alias 5 > maximum 4",
            raw::publish(5, "t/a", 0, 0, &alias(5), b"x"),
            0x94u8,
        ),
        ("alias 0", raw::publish(5, "t/a", 0, 0, &alias(0), b"x"), 0x94),
        (
            "unset alias without topic",
            raw::publish(5, "", 0, 0, &alias(3), b"x"),
            0x82,
        ),
    ] {
        let (mut c, connack) = Raw::connect(addr, &raw::connect(5, &unique("alias"), true, 60, &[])).await;
        assert_eq!(u16_prop(&connack_properties(&connack), 0x22), Some(4));
        // A valid alias first, so the connection is known to be good before the bad packet.
        c.send(&raw::publish(5, "t/a", 1, 1, &alias(4), b"ok")).await;
        assert_eq!(c.next().await.unwrap().kind(), 4, "{what}: PUBACK for a valid alias");
        c.send(&publish).await;
        let rest = c.until_closed().await;
        assert!(
            matches!(rest.as_slice(), [d] if d.kind() == 14 && d.body.first() == Some(&want)),
            "{what}: DISCONNECT {want:#x} then close: {rest:02x?}"
        );
    }
    broker.shutdown().await;
}

/// [MQTT-3.1.2-26] [MQTT-3.1.2-27] [MQTT-3.3.2-7]: the broker assigns aliases only when the client allows them,
/// never above the client's Topic Alias Maximum, and starts over on a new connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mqtt_3_1_2_26_outbound_aliases_respect_the_clients_maximum_and_reset_per_connection() {
    let broker = start("").await;
    let addr = broker.local_addr();
    let prefix = unique("aliased");
    let alias_of = |p: &Publish| p.properties.as_ref().and_then(|p| p.topic_alias);

    // No Topic Alias Maximum: no aliases at all.
    let (mut none, _) = Client::connect(options(addr, &unique("none"))).await;
    none.sub(&format!("{prefix}/#"), QoS::AtMostOnce).await;
    // Maximum 1: the first topic gets alias 1, the second is always sent in full.
    let id = unique("one");
    let one_opts = || {
        let mut o = options(addr, &id);
        o.set_topic_alias_max(Some(1));
        o
    };
    let (mut one, _) = Client::connect(one_opts()).await;
    one.sub(&format!("{prefix}/#"), QoS::AtMostOnce).await;

    let (mut publ, _) = Client::connect(options(addr, &unique("pub"))).await;
    let (ta, tb) = (format!("{prefix}/a"), format!("{prefix}/b"));
    for topic in [&ta, &tb, &ta, &tb] {
        publ.publish(topic, QoS::AtLeastOnce, false, topic.as_bytes(), props())
            .await;
    }
    for _ in 0..4 {
        let p = none.next_publish().await;
        assert_eq!(alias_of(&p), None, "no aliases for a client that allows none");
        assert_eq!(p.topic, p.payload, "full topic");
    }
    let got: Vec<(Option<u16>, String)> = {
        let mut v = Vec::new();
        for _ in 0..4 {
            let p = one.next_publish().await;
            v.push((alias_of(&p), String::from_utf8(p.topic.to_vec()).unwrap()));
        }
        v
    };
    assert_eq!(
        got,
        [
            (Some(1), ta.clone()),
            (None, tb.clone()),
            (Some(1), String::new()),
            (None, tb.clone())
        ],
        "alias 1 established, then reused alias-only; the second topic never aliased"
    );
    // A new connection forgets the aliases: the first delivery sets alias 1 again with the full topic.
    drop(one);
    let (mut again, _) = Client::connect(one_opts()).await;
    again.sub(&format!("{prefix}/#"), QoS::AtMostOnce).await;
    publ.publish(&ta, QoS::AtLeastOnce, false, b"again", props()).await;
    let p = again.next_publish().await;
    assert_eq!((alias_of(&p), &p.topic[..]), (Some(1), ta.as_bytes()));
    broker.shutdown().await;
}

// ------------------------------------------------------------------------------- subscription options

/// [MQTT-3.8.3-3]: with No Local the broker does not send a client its own publications; other subscribers
/// still get them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mqtt_3_8_3_3_no_local_suppresses_own_messages() {
    let broker = start("").await;
    let addr = broker.local_addr();
    let topic = unique("nolocal");
    let probe = format!("{topic}/probe");
    let (mut me, _) = Client::connect(options(addr, &unique("me"))).await;
    let mut f = Filter::new(&topic, QoS::AtLeastOnce);
    f.nolocal = true;
    me.subscribe(f, None).await;
    me.sub(&probe, QoS::AtLeastOnce).await;
    let (mut other, _) = Client::connect(options(addr, &unique("other"))).await;
    other.sub(&topic, QoS::AtLeastOnce).await;

    me.publish(&topic, QoS::AtLeastOnce, false, b"mine", props()).await;
    me.publish(&probe, QoS::AtLeastOnce, false, b"probe", props()).await;
    assert_eq!(payload_of(&other.next_publish().await), "mine");
    assert_eq!(
        payload_of(&me.next_publish().await),
        "probe",
        "own message not delivered"
    );
    // Someone else's message on the same filter does arrive.
    other.publish(&topic, QoS::AtLeastOnce, false, b"theirs", props()).await;
    assert_eq!(payload_of(&me.next_publish().await), "theirs");
    broker.shutdown().await;
}

/// [MQTT-3.3.1-12] [MQTT-3.3.1-13]: on live delivery of a retained publish, RETAIN is kept only for subscriptions
/// with Retain As Published.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mqtt_3_3_1_12_retain_as_published() {
    let broker = start("").await;
    let addr = broker.local_addr();
    let topic = unique("rap");
    let (mut rap, _) = Client::connect(options(addr, &unique("rap"))).await;
    let mut f = Filter::new(&topic, QoS::AtLeastOnce);
    f.preserve_retain = true;
    rap.subscribe(f, None).await;
    let (mut plain, _) = Client::connect(options(addr, &unique("plain"))).await;
    plain.sub(&topic, QoS::AtLeastOnce).await;

    let (mut publ, _) = Client::connect(options(addr, &unique("pub"))).await;
    publ.publish(&topic, QoS::AtLeastOnce, true, b"kept", props()).await;
    publ.publish(&topic, QoS::AtLeastOnce, false, b"plain", props()).await;
    let (r1, r2) = (rap.next_publish().await, rap.next_publish().await);
    assert_eq!((payload_of(&r1).as_str(), r1.retain), ("kept", true));
    assert_eq!((payload_of(&r2).as_str(), r2.retain), ("plain", false));
    let p1 = plain.next_publish().await;
    assert_eq!((payload_of(&p1).as_str(), p1.retain), ("kept", false));
    // Clear the retained message so that it does not outlive the test's topic.
    publ.publish(&topic, QoS::AtLeastOnce, true, b"", props()).await;
    broker.shutdown().await;
}

/// [MQTT-3.3.1-9] [MQTT-3.3.1-10] [MQTT-3.3.1-11]: Retain Handling 0 sends retained messages on every SUBSCRIBE,
/// 1 only when the subscription is new, 2 never; retained messages arrive with RETAIN set.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mqtt_3_3_1_9_to_11_retain_handling_0_1_2() {
    let broker = start("").await;
    let addr = broker.local_addr();
    let topic = unique("rh");
    let probe = unique("rh-probe");
    let (mut publ, _) = Client::connect(options(addr, &unique("pub"))).await;
    publ.publish(&topic, QoS::AtLeastOnce, true, b"state", props()).await;

    let (mut c, _) = Client::connect(options(addr, &unique("sub"))).await;
    c.sub(&probe, QoS::AtLeastOnce).await;
    // Subscribes twice with `rule`, then publishes a probe; returns how many retained copies came first.
    async fn retained_copies(c: &mut Client, topic: &str, probe: &str, rule: RetainForwardRule) -> Vec<bool> {
        for _ in 0..2 {
            let mut f = Filter::new(topic, QoS::AtLeastOnce);
            f.retain_forward_rule = rule.clone();
            c.subscribe(f, None).await;
        }
        c.publish(probe, QoS::AtLeastOnce, false, b"probe", props()).await;
        let mut flags = Vec::new();
        loop {
            let p = c.next_publish().await;
            if p.topic == probe.as_bytes() {
                return flags;
            }
            assert_eq!(payload_of(&p), "state");
            flags.push(p.retain);
        }
    }
    assert_eq!(
        retained_copies(&mut c, &topic, &probe, RetainForwardRule::OnEverySubscribe).await,
        [true, true],
        "0: on every SUBSCRIBE, with RETAIN set"
    );
    c.client.unsubscribe(&topic).await.unwrap();
    c.until(|p| matches!(p, Packet::UnsubAck(_)).then_some(())).await;
    assert_eq!(
        retained_copies(&mut c, &topic, &probe, RetainForwardRule::OnNewSubscribe).await,
        [true],
        "1: only for the new subscription"
    );
    c.client.unsubscribe(&topic).await.unwrap();
    c.until(|p| matches!(p, Packet::UnsubAck(_)).then_some(())).await;
    assert_eq!(
        retained_copies(&mut c, &topic, &probe, RetainForwardRule::Never).await,
        Vec::<bool>::new(),
        "2: never"
    );
    publ.publish(&topic, QoS::AtLeastOnce, true, b"", props()).await;
    broker.shutdown().await;
}

/// [MQTT-3.3.4-3] [MQTT-3.3.4-4] [MQTT-3.3.4-5]: a delivery carries the Subscription Identifiers of the matching
/// subscriptions; with overlapping subscriptions every identifier reaches the client (one copy with all of
/// them, or one copy per subscription with its own), and a subscription without one adds none.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mqtt_3_3_4_4_subscription_identifiers_with_overlapping_subscriptions() {
    let broker = start("").await;
    let addr = broker.local_addr();
    let base = unique("sid");
    let (mut c, _) = Client::connect(options(addr, &unique("sub"))).await;
    c.subscribe(Filter::new(format!("{base}/+"), QoS::AtLeastOnce), Some(7))
        .await;
    c.subscribe(Filter::new(format!("{base}/#"), QoS::AtLeastOnce), Some(300_000))
        .await;
    c.subscribe(Filter::new(format!("{base}/x"), QoS::AtMostOnce), None)
        .await;
    let (mut publ, _) = Client::connect(options(addr, &unique("pub"))).await;
    publ.publish(&format!("{base}/x"), QoS::AtLeastOnce, false, b"both", props())
        .await;
    publ.publish(&format!("{base}/y/z"), QoS::AtLeastOnce, false, b"deep", props())
        .await;

    let mut ids = BTreeSet::new();
    loop {
        let p = c.next_publish().await;
        let these = p
            .properties
            .clone()
            .map(|p| p.subscription_identifiers)
            .unwrap_or_default();
        if payload_of(&p) == "deep" {
            assert_eq!(these, [300_000], "only `#` matches a/y/z");
            break;
        }
        assert_eq!(payload_of(&p), "both");
        ids.extend(these);
    }
    assert_eq!(ids, BTreeSet::from([7, 300_000]), "both identifiers delivered");
    broker.shutdown().await;
}

// ---------------------------------------------------------------------------------------- message expiry

/// [MQTT-3.3.2-6]: the Message Expiry Interval forwarded is the received one minus the time the message
/// waited in the broker; here a retained message read 2 s after it was published.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mqtt_3_3_2_6_message_expiry_is_decremented_on_forward() {
    let broker = start("").await;
    let addr = broker.local_addr();
    let topic = unique("expiry");
    let expiry = |s: u32| PublishProperties {
        message_expiry_interval: Some(s),
        ..Default::default()
    };
    let (mut live, _) = Client::connect(options(addr, &unique("live"))).await;
    live.sub(&topic, QoS::AtLeastOnce).await;
    let (mut publ, _) = Client::connect(options(addr, &unique("pub"))).await;
    publ.publish(&topic, QoS::AtLeastOnce, true, b"kept", expiry(100)).await;
    let now = live.next_publish().await;
    let left = now.properties.and_then(|p| p.message_expiry_interval);
    assert!(
        matches!(left, Some(99..=100)),
        "a live forward keeps (almost) all: {left:?}"
    );
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let (mut late, _) = Client::connect(options(addr, &unique("late"))).await;
    late.sub(&topic, QoS::AtLeastOnce).await;
    let p = late.next_publish().await;
    assert!(p.retain);
    let left = p.properties.and_then(|p| p.message_expiry_interval);
    assert!(matches!(left, Some(90..=98)), "the retained copy counts down: {left:?}");
    // An expired retained message is no longer sent.
    publ.publish(&topic, QoS::AtLeastOnce, true, b"brief", expiry(1)).await;
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let probe = format!("{topic}/probe");
    let (mut later, _) = Client::connect(options(addr, &unique("later"))).await;
    later.sub(&topic, QoS::AtLeastOnce).await;
    later.sub(&probe, QoS::AtLeastOnce).await;
    publ.publish(&probe, QoS::AtLeastOnce, false, b"probe", props()).await;
    assert_eq!(
        payload_of(&later.next_publish().await),
        "probe",
        "expired retained message not sent"
    );
    broker.shutdown().await;
}

/// [MQTT-3.3.2-4] [MQTT-3.3.2-15] [MQTT-3.3.2-16] [MQTT-3.3.2-17] [MQTT-3.3.2-18] [MQTT-3.3.2-20]: Payload
/// Format Indicator, Response Topic, Correlation Data, user properties (in order) and Content Type reach the
/// subscriber unaltered, live and from the retained store. (`paho_v5.rs` checks the same through paho.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mqtt_3_3_2_17_request_response_and_user_properties_are_forwarded_unaltered() {
    let broker = start("").await;
    let addr = broker.local_addr();
    let topic = unique("req");
    let sent = PublishProperties {
        payload_format_indicator: Some(1),
        response_topic: Some(format!("{topic}/reply")),
        correlation_data: Some(bytes::Bytes::from_static(b"\x00\xffcorr")),
        content_type: Some("application/json".into()),
        user_properties: vec![
            ("k".into(), "2".into()),
            ("a".into(), "1".into()),
            ("k".into(), "3".into()),
        ],
        ..Default::default()
    };
    let (mut live, _) = Client::connect(options(addr, &unique("live"))).await;
    live.sub(&topic, QoS::AtLeastOnce).await;
    let (mut publ, _) = Client::connect(options(addr, &unique("pub"))).await;
    publ.publish(&topic, QoS::AtLeastOnce, true, b"{}", sent.clone()).await;
    let (mut late, _) = Client::connect(options(addr, &unique("late"))).await;
    late.sub(&topic, QoS::AtLeastOnce).await;
    for p in [live.next_publish().await, late.next_publish().await] {
        let got = p.properties.expect("properties");
        assert_eq!(
            (
                got.payload_format_indicator,
                &got.response_topic,
                &got.correlation_data,
                &got.content_type,
                &got.user_properties
            ),
            (
                sent.payload_format_indicator,
                &sent.response_topic,
                &sent.correlation_data,
                &sent.content_type,
                &sent.user_properties
            )
        );
    }
    publ.publish(&topic, QoS::AtLeastOnce, true, b"", props()).await;
    broker.shutdown().await;
}

// ---------------------------------------------------------------------------------------------- wills

fn will(topic: &str, payload: &str, qos: QoS, retain: bool, delay: Option<u32>) -> LastWill {
    let props = LastWillProperties {
        delay_interval: delay,
        payload_format_indicator: None,
        message_expiry_interval: None,
        content_type: Some("text/plain".into()),
        response_topic: None,
        correlation_data: None,
        user_properties: vec![("why".into(), "gone".into())],
    };
    LastWill::new(topic, payload.to_owned(), qos, retain, Some(props))
}

/// [MQTT-3.1.2-8] and v5 3.1.3.2.2: the will is published when the Will Delay Interval passes *or the session
/// ends*, whichever is first: a 60 s delay with a 1 s session expiry gives the will after about 1 s.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mqtt_3_1_2_8_the_will_goes_out_when_the_session_ends_before_the_will_delay() {
    let broker = start("").await;
    let addr = broker.local_addr();
    let topic = unique("will-expiry");
    let (mut watcher, _) = Client::connect(options(addr, &unique("watcher"))).await;
    watcher.sub(&topic, QoS::AtLeastOnce).await;
    let mut o = options(addr, &unique("mortal"));
    o.set_clean_start(false);
    o.set_session_expiry_interval(Some(1));
    o.set_last_will(will(&topic, "ended", QoS::AtLeastOnce, false, Some(60)));
    let (dying, _) = Client::connect(o).await;
    let dropped_at = Instant::now();
    drop(dying);
    let p = watcher.next_publish().await;
    let after = dropped_at.elapsed();
    let payload = payload_of(&p);
    assert_eq!(payload, "ended");
    assert!(
        after >= Duration::from_millis(900) && after < Duration::from_secs(10),
        "at session end (1 s), not after the will delay (60 s): {after:?}"
    );
    let props = p.properties.expect("will properties");
    assert_eq!(props.content_type.as_deref(), Some("text/plain"));
    assert_eq!(props.user_properties, [("why".to_owned(), "gone".to_owned())]);
    broker.shutdown().await;
}

/// [MQTT-3.1.2-14] [MQTT-3.1.2-15] [MQTT-3.1.2-17]: a will with QoS 1 and RETAIN is published at QoS 1 and
/// stored as the topic's retained message.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mqtt_3_1_2_17_a_retained_qos1_will_is_stored_and_delivered_at_qos1() {
    let broker = start("").await;
    let addr = broker.local_addr();
    let topic = unique("will-retain");
    let (mut watcher, _) = Client::connect(options(addr, &unique("watcher"))).await;
    watcher.sub(&topic, QoS::AtLeastOnce).await;
    let mut o = options(addr, &unique("dying"));
    o.set_last_will(will(&topic, "offline", QoS::AtLeastOnce, true, None));
    let (dying, _) = Client::connect(o).await;
    drop(dying);
    let live = watcher.next_publish().await;
    assert_eq!((payload_of(&live).as_str(), live.qos), ("offline", QoS::AtLeastOnce));
    let (mut late, _) = Client::connect(options(addr, &unique("late"))).await;
    late.sub(&topic, QoS::AtLeastOnce).await;
    let stored = late.next_publish().await;
    assert_eq!(
        (payload_of(&stored).as_str(), stored.qos, stored.retain),
        ("offline", QoS::AtLeastOnce, true)
    );
    let (mut cleaner, _) = Client::connect(options(addr, &unique("cleaner"))).await;
    cleaner.publish(&topic, QoS::AtLeastOnce, true, b"", props()).await;
    broker.shutdown().await;
}

// ------------------------------------------------------------------------------------------------ $SYS

/// `$SYS/broker/...` statistics are published as retained messages every `[sys] interval_secs` and change as
/// traffic flows; `#` does not match them [MQTT-4.7.2-1].
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sys_topics_update() {
    let broker = start("[sys]\ninterval_secs = 1\n").await;
    let addr = broker.local_addr();
    let (mut sys, _) = Client::connect(options(addr, &unique("sys"))).await;
    sys.sub("$SYS/broker/messages/received", QoS::AtMostOnce).await;
    let value = |p: &Publish| payload_of(p).parse::<u64>().unwrap();
    let first = value(&sys.next_publish().await);
    let (mut publ, _) = Client::connect(options(addr, &unique("pub"))).await;
    let topic = unique("counted");
    for _ in 0..5 {
        publ.publish(&topic, QoS::AtLeastOnce, false, b"x", props()).await;
    }
    let deadline = Instant::now() + WAIT;
    loop {
        let v = value(&sys.next_publish().await);
        if v >= first + 5 {
            break;
        }
        assert!(Instant::now() < deadline, "messages/received stuck at {v}");
    }
    // Every topic in the set is there, retained, for a late subscriber.
    let (mut late, _) = Client::connect(options(addr, &unique("late"))).await;
    late.sub("$SYS/broker/#", QoS::AtMostOnce).await;
    let mut topics = BTreeSet::new();
    while topics.len() < 12 {
        let p = late.next_publish().await;
        // A live update of the next tick (retain 0 for an existing subscription [MQTT-3.3.1-9]) may come
        // between the retained ones.
        if p.retain {
            topics.insert(String::from_utf8(p.topic.to_vec()).unwrap());
        }
    }
    assert!(topics.contains("$SYS/broker/clients/connected"), "{topics:?}");
    // `#` alone does not see them.
    let (mut all, _) = Client::connect(options(addr, &unique("all"))).await;
    all.sub("#", QoS::AtMostOnce).await;
    let probe = unique("probe");
    publ.publish(&probe, QoS::AtLeastOnce, false, b"p", props()).await;
    let mut waited = 0;
    loop {
        let p = all.next_publish().await;
        assert!(!p.topic.starts_with(b"$"), "`#` matched {:?}", p.topic);
        if p.topic == probe.as_bytes() {
            waited += 1;
            // Stay past one $SYS interval to be sure none arrives.
            if waited == 1 {
                publ.publish(&probe, QoS::AtLeastOnce, false, b"p", props()).await;
                tokio::time::sleep(Duration::from_millis(1200)).await;
                publ.publish(&probe, QoS::AtLeastOnce, false, b"p", props()).await;
            } else if waited == 3 {
                break;
            }
        }
    }
    broker.shutdown().await;
}

// ------------------------------------------------------------------------------------ per-client queue cap

/// Issue 6's "hard cap on memory per client queue": a subscriber that does not acknowledge (Receive Maximum
/// 1, manual acks) has at most `max_queued_messages` waiting; the overflow is dropped, QoS 0 first, and
/// counted in `$SYS/broker/messages/dropped`; what was kept arrives in order once it acknowledges.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_subscribers_queue_is_capped_and_sheds_qos0_first() {
    let broker = start("[limits]\nmax_queued_messages = 4\n").await;
    let addr = broker.local_addr();
    let topic = unique("capped");
    let mut o = options(addr, &unique("slow"));
    o.set_receive_maximum(Some(1));
    o.set_manual_acks(true);
    let (mut slow, _) = Client::connect(o).await;
    slow.sub(&topic, QoS::AtLeastOnce).await;
    let dropped_before = broker.stats().messages_dropped;

    let (mut publ, _) = Client::connect(options(addr, &unique("pub"))).await;
    // m0 goes out and stays unacknowledged; the queue then holds m1 a b c (4). d and e each push out the
    // oldest QoS 0 message; f finds only QoS 1 messages and is dropped itself.
    for (qos, payload) in [
        (QoS::AtLeastOnce, "m0"),
        (QoS::AtLeastOnce, "m1"),
        (QoS::AtMostOnce, "a"),
        (QoS::AtMostOnce, "b"),
        (QoS::AtLeastOnce, "c"),
        (QoS::AtLeastOnce, "d"),
        (QoS::AtLeastOnce, "e"),
        (QoS::AtLeastOnce, "f"),
    ] {
        publ.publish(&topic, qos, false, payload.as_bytes(), props()).await;
    }
    let first = slow.next_publish().await;
    assert_eq!(payload_of(&first), "m0");
    common::wait_for("three drops counted", || {
        broker.stats().messages_dropped >= dropped_before + 3
    })
    .await;
    // Acknowledged one by one, the kept messages arrive in order.
    slow.client.ack(&first).await.unwrap();
    let mut got = Vec::new();
    for _ in 0..4 {
        let p = slow.next_publish().await;
        got.push(payload_of(&p));
        slow.client.ack(&p).await.unwrap();
    }
    assert_eq!(got, ["m1", "c", "d", "e"], "QoS 0 shed first, then the newest");
    // The queue is empty now: a new message is next, so nothing dropped comes back later.
    publ.publish(&topic, QoS::AtLeastOnce, false, b"end", props()).await;
    assert_eq!(payload_of(&slow.next_publish().await), "end");
    assert_eq!(broker.stats().messages_dropped, dropped_before + 3);
    broker.shutdown().await;
}

/// The same cap for a disconnected persistent session: QoS 1 messages queue up to `max_queued_messages`,
/// later ones are dropped and counted; QoS 0 messages are not queued for an offline client at all (the spec
/// leaves that to the server, v5 3.1.2.4) and are counted as dropped too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_offline_sessions_queue_is_capped() {
    let broker = start("[limits]\nmax_queued_messages = 3\n").await;
    let addr = broker.local_addr();
    let topic = unique("offline-cap");
    let id = unique("away");
    let persistent = || {
        let mut o = options(addr, &id);
        o.set_clean_start(false);
        o.set_session_expiry_interval(Some(300));
        o
    };
    let (mut sub, _) = Client::connect(persistent()).await;
    sub.sub(&topic, QoS::AtLeastOnce).await;
    sub.disconnect().await;
    let dropped_before = broker.stats().messages_dropped;

    let (mut publ, _) = Client::connect(options(addr, &unique("pub"))).await;
    publ.publish(&topic, QoS::AtMostOnce, false, b"q0", props()).await;
    for i in 0..5 {
        publ.publish(&topic, QoS::AtLeastOnce, false, format!("m{i}").as_bytes(), props())
            .await;
    }
    common::wait_for("drops counted", || {
        broker.stats().messages_dropped >= dropped_before + 3
    })
    .await;
    let (mut sub, ack) = Client::connect(persistent()).await;
    assert!(ack.session_present);
    for i in 0..3 {
        assert_eq!(payload_of(&sub.next_publish().await), format!("m{i}"));
    }
    // Nothing else was kept: a fresh message is next.
    publ.publish(&topic, QoS::AtLeastOnce, false, b"fresh", props()).await;
    assert_eq!(payload_of(&sub.next_publish().await), "fresh");
    assert_eq!(broker.stats().messages_dropped, dropped_before + 3);
    broker.shutdown().await;
}

// --------------------------------------------------------------------------------- shared subscriptions

/// Subscribes two members to `$share/{group}/{topic}`, publishes `n` QoS 1 messages and returns what each
/// member received, the first member acknowledging nothing.
async fn share_among(
    a: &mut Client,
    b: &mut Client,
    publ: &mut Client,
    topic: &str,
    n: usize,
) -> (Vec<Publish>, Vec<Publish>) {
    let filter = format!("$share/g/{topic}");
    a.sub(&filter, QoS::AtLeastOnce).await;
    b.sub(&filter, QoS::AtLeastOnce).await;
    for i in 0..n {
        publ.publish(topic, QoS::AtLeastOnce, false, i.to_string().as_bytes(), props())
            .await;
    }
    let (mut to_a, mut to_b) = (Vec::new(), Vec::new());
    while to_a.len() + to_b.len() < n {
        tokio::select! {
            p = a.next_publish() => to_a.push(p),
            p = b.next_publish() => to_b.push(p),
        }
    }
    (to_a, to_b)
}

/// v5 section 4.8.2: "If the Client's Session terminates before the Client reconnects, the Server SHOULD
/// send the Application Message to another Client that is subscribed to the same Shared Subscription." A
/// member with Session Expiry 0 that vanishes with unacknowledged QoS 1 messages has them redelivered to
/// the other member.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shared_qos1_messages_of_a_member_whose_session_ends_go_to_another_member() {
    let broker = start("").await;
    let addr = broker.local_addr();
    let topic = unique("jobs");
    let mut ao = options(addr, &unique("a"));
    ao.set_manual_acks(true);
    let (mut a, _) = Client::connect(ao).await;
    let (mut b, _) = Client::connect(options(addr, &unique("b"))).await;
    let (mut publ, _) = Client::connect(options(addr, &unique("pub"))).await;
    let (to_a, to_b) = share_among(&mut a, &mut b, &mut publ, &topic, 6).await;
    assert!(!to_a.is_empty(), "round robin gives the first member a share");
    // `a` goes away without acknowledging; its session (expiry 0) ends with the messages in flight.
    drop(a);
    let mut at_b: BTreeSet<String> = to_b.iter().map(payload_of).collect();
    for _ in 0..to_a.len() {
        at_b.insert(payload_of(&b.next_publish().await));
    }
    assert_eq!(
        at_b,
        (0..6).map(|i| i.to_string()).collect::<BTreeSet<_>>(),
        "every message reached the remaining member"
    );
    broker.shutdown().await;
}

/// The other half of v5 section 4.8.2: "the Server MAY wait for the Client to reconnect and retransmit the
/// message to that Client". A member with a persistent session keeps its unacknowledged shared messages and
/// gets them again (DUP set) when it resumes, like any other in-flight message [MQTT-4.4.0-1].
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shared_qos1_messages_of_a_persistent_member_are_kept_for_its_session() {
    let broker = start("").await;
    let addr = broker.local_addr();
    let topic = unique("jobs");
    let id = unique("a");
    let persistent = |manual: bool| {
        let mut o = options(addr, &id);
        o.set_clean_start(false);
        o.set_session_expiry_interval(Some(60));
        o.set_manual_acks(manual);
        o
    };
    let (mut a, _) = Client::connect(persistent(true)).await;
    let (mut b, _) = Client::connect(options(addr, &unique("b"))).await;
    let (mut publ, _) = Client::connect(options(addr, &unique("pub"))).await;
    let (to_a, _) = share_among(&mut a, &mut b, &mut publ, &topic, 6).await;
    assert!(!to_a.is_empty());
    drop(a);
    let (mut a, ack) = Client::connect(persistent(false)).await;
    assert!(ack.session_present);
    let mut again = Vec::new();
    for _ in 0..to_a.len() {
        let p = a.next_publish().await;
        assert!(p.dup, "a re-delivery");
        again.push(payload_of(&p));
    }
    assert_eq!(again, to_a.iter().map(payload_of).collect::<Vec<_>>());
    broker.shutdown().await;
}

/// New shared messages go to members that are connected: a member whose persistent session has no client
/// right now gets none of them (they would wait in its queue while the other member could take them), and
/// finds none when it resumes. (mqtt_router::Available over round-robin.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_shared_messages_skip_a_member_whose_client_is_offline() {
    let broker = start("").await;
    let addr = broker.local_addr();
    let topic = unique("jobs");
    let id = unique("a");
    let persistent = || {
        let mut o = options(addr, &id);
        o.set_clean_start(false);
        o.set_session_expiry_interval(Some(60));
        o
    };
    let (mut a, _) = Client::connect(persistent()).await;
    let (mut b, _) = Client::connect(options(addr, &unique("b"))).await;
    let (mut publ, _) = Client::connect(options(addr, &unique("pub"))).await;
    let filter = format!("$share/g/{topic}");
    a.sub(&filter, QoS::AtLeastOnce).await;
    b.sub(&filter, QoS::AtLeastOnce).await;
    drop(a);
    common::wait_for("the first member's connection closed", || {
        broker.stats().clients_connected == 2
    })
    .await;
    for i in 0..6 {
        publ.publish(&topic, QoS::AtLeastOnce, false, i.to_string().as_bytes(), props())
            .await;
    }
    let mut at_b = BTreeSet::new();
    for _ in 0..6 {
        at_b.insert(payload_of(&b.next_publish().await));
    }
    assert_eq!(
        at_b,
        (0..6).map(|i| i.to_string()).collect::<BTreeSet<_>>(),
        "all went to the online member"
    );
    let (mut a, ack) = Client::connect(persistent()).await;
    assert!(ack.session_present, "the offline member's session was kept");
    // Back online, it takes its turns again.
    for i in 6..10 {
        publ.publish(&topic, QoS::AtLeastOnce, false, i.to_string().as_bytes(), props())
            .await;
    }
    let (mut to_a, mut to_b) = (Vec::new(), Vec::new());
    while to_a.len() + to_b.len() < 4 {
        tokio::select! {
            p = a.next_publish() => to_a.push(payload_of(&p)),
            p = b.next_publish() => to_b.push(payload_of(&p)),
        }
    }
    assert_eq!(
        (to_a.len(), to_b.len()),
        (2, 2),
        "round-robin over two online members: {to_a:?} {to_b:?}"
    );
    assert!(
        to_a.iter().all(|p| p.parse::<u32>().unwrap() >= 6),
        "nothing old was queued for it: {to_a:?}"
    );
    broker.shutdown().await;
}

/// A member that comes back with Clean Start discards its old session (v5 3.1.2.4): the messages that
/// session had not delivered go to another member as for a session that expired.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shared_qos1_messages_of_a_session_discarded_by_clean_start_go_to_another_member() {
    let broker = start("").await;
    let addr = broker.local_addr();
    let topic = unique("jobs");
    let id = unique("a");
    let mut ao = options(addr, &id);
    ao.set_clean_start(false);
    ao.set_session_expiry_interval(Some(60));
    ao.set_manual_acks(true);
    let (mut a, _) = Client::connect(ao).await;
    let (mut b, _) = Client::connect(options(addr, &unique("b"))).await;
    let (mut publ, _) = Client::connect(options(addr, &unique("pub"))).await;
    let (to_a, to_b) = share_among(&mut a, &mut b, &mut publ, &topic, 6).await;
    assert!(!to_a.is_empty());
    drop(a);
    // Back with Clean Start: the old session and its subscription are gone.
    let (_a, ack) = Client::connect(options(addr, &id)).await;
    assert!(!ack.session_present);
    let mut at_b: BTreeSet<String> = to_b.iter().map(payload_of).collect();
    for _ in 0..to_a.len() {
        at_b.insert(payload_of(&b.next_publish().await));
    }
    assert_eq!(at_b, (0..6).map(|i| i.to_string()).collect::<BTreeSet<_>>());
    broker.shutdown().await;
}

/// v5 section 3.3.2.3.4: a client may map a Topic Alias to another topic at any time; alias-only PUBLISHes then
/// go to the new topic.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v5_3_3_2_3_4_a_client_may_remap_a_topic_alias() {
    let broker = start("").await;
    let addr = broker.local_addr();
    let base = unique("remap");
    let (mut sub, _) = Client::connect(options(addr, &unique("sub"))).await;
    sub.sub(&format!("{base}/#"), QoS::AtLeastOnce).await;
    let (mut c, _) = Raw::connect(addr, &raw::connect(5, &unique("remapper"), true, 60, &[])).await;
    let alias1 = [0x23, 0x00, 0x01];
    let (ta, tb) = (format!("{base}/a"), format!("{base}/b"));
    for (id, topic, payload) in [
        (1, ta.as_str(), "a-set"),
        (2, "", "a-alias"),
        (3, tb.as_str(), "b-set"),
        (4, "", "b-alias"),
    ] {
        c.send(&raw::publish(5, topic, 1, id, &alias1, payload.as_bytes()))
            .await;
        assert_eq!(c.next().await.unwrap().kind(), 4, "PUBACK");
    }
    let mut got = Vec::new();
    for _ in 0..4 {
        let p = sub.next_publish().await;
        got.push((String::from_utf8(p.topic.to_vec()).unwrap(), payload_of(&p)));
    }
    assert_eq!(
        got,
        [
            (ta.clone(), "a-set".to_owned()),
            (ta, "a-alias".to_owned()),
            (tb.clone(), "b-set".to_owned()),
            (tb, "b-alias".to_owned())
        ]
    );
    broker.shutdown().await;
}

/// [MQTT-3.3.4-3]: retained messages sent in answer to a SUBSCRIBE carry that subscription's identifier.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mqtt_3_3_4_3_retained_messages_carry_the_subscription_identifier() {
    let broker = start("").await;
    let addr = broker.local_addr();
    let topic = unique("sid-retained");
    let (mut publ, _) = Client::connect(options(addr, &unique("pub"))).await;
    publ.publish(&topic, QoS::AtLeastOnce, true, b"stored", props()).await;
    let (mut c, _) = Client::connect(options(addr, &unique("sub"))).await;
    c.subscribe(Filter::new(&topic, QoS::AtLeastOnce), Some(99)).await;
    let p = c.next_publish().await;
    assert_eq!((payload_of(&p).as_str(), p.retain), ("stored", true));
    assert_eq!(p.properties.map(|p| p.subscription_identifiers), Some(vec![99]));
    publ.publish(&topic, QoS::AtLeastOnce, true, b"", props()).await;
    broker.shutdown().await;
}

/// The memory side of the cap: `max_queued_bytes` bounds what an offline session's queue holds whatever the
/// message count; the message that does not fit is dropped and counted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_offline_sessions_queue_is_capped_in_bytes() {
    let broker = start("[limits]\nmax_queued_bytes = 1000\n").await;
    let addr = broker.local_addr();
    let topic = unique("bytes-cap");
    let id = unique("away");
    let persistent = || {
        let mut o = options(addr, &id);
        o.set_clean_start(false);
        o.set_session_expiry_interval(Some(300));
        o
    };
    let (mut sub, _) = Client::connect(persistent()).await;
    sub.sub(&topic, QoS::AtLeastOnce).await;
    sub.disconnect().await;
    let dropped_before = broker.stats().messages_dropped;

    // Two 400-byte payloads fit in 1000 bytes with their topics; the third does not.
    let (mut publ, _) = Client::connect(options(addr, &unique("pub"))).await;
    for tag in [b'a', b'b', b'c'] {
        publ.publish(&topic, QoS::AtLeastOnce, false, &[tag; 400], props())
            .await;
    }
    common::wait_for("the drop counted", || broker.stats().messages_dropped > dropped_before).await;
    let (mut sub, ack) = Client::connect(persistent()).await;
    assert!(ack.session_present);
    assert_eq!(sub.next_publish().await.payload[0], b'a');
    assert_eq!(sub.next_publish().await.payload[0], b'b');
    publ.publish(&topic, QoS::AtLeastOnce, false, b"fresh", props()).await;
    assert_eq!(payload_of(&sub.next_publish().await), "fresh", "the third was dropped");
    assert_eq!(broker.stats().messages_dropped, dropped_before + 1);
    broker.shutdown().await;
}

/// A member's session saved by a graceful shutdown and restored by the next broker keeps its undelivered
/// shared messages; when it then expires without the client coming back, they go to another member.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shared_messages_of_a_restored_session_that_expires_go_to_another_member() {
    let toml = "[listener]\naddress = \"127.0.0.1:0\"\n";
    let broker = start("").await;
    let addr = broker.local_addr();
    let topic = unique("jobs");
    let mut ao = options(addr, &unique("a"));
    ao.set_clean_start(false);
    ao.set_session_expiry_interval(Some(2));
    ao.set_manual_acks(true);
    let (mut a, _) = Client::connect(ao).await;
    let (mut b, _) = Client::connect(options(addr, &unique("b"))).await;
    let (mut publ, _) = Client::connect(options(addr, &unique("pub"))).await;
    let (to_a, _) = share_among(&mut a, &mut b, &mut publ, &topic, 4).await;
    assert!(!to_a.is_empty());
    drop((a, b, publ));
    let saved = tokio::time::timeout(WAIT, broker.shutdown()).await.unwrap();
    assert!(!saved.is_empty(), "the persistent member's session is saved");

    let mut config = hpmq_broker::Config::from_toml_str(toml).unwrap();
    common::park_override(&mut config);
    let broker = hpmq_broker::Broker::start_with(config, saved, None).await.unwrap();
    let (mut b, _) = Client::connect(options(broker.local_addr(), &unique("b2"))).await;
    b.sub(&format!("$share/g/{topic}"), QoS::AtLeastOnce).await;
    // `a` never returns: its restored session expires about 2 s after the shutdown.
    let mut got = BTreeSet::new();
    for _ in 0..to_a.len() {
        got.insert(payload_of(&b.next_publish().await));
    }
    assert_eq!(got, to_a.iter().map(payload_of).collect::<BTreeSet<_>>());
    broker.shutdown().await;
}
