//! Smoke test of the `minimal_broker` example with real clients: Debian's `mosquitto_pub`/`mosquitto_sub`
//! (`scripts/setup` installs them), plus a raw client built on `mqtt-codec` where a client must misbehave in
//! a way mosquitto's tools will not (stay silent past its keep alive) or be watched packet by packet.

// Test code: failing loudly is the point.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../minimal_broker.rs"]
mod minimal_broker;

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::process::Stdio;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use mqtt_codec::{
    ByteStr, Connect, MqttCodec, Packet, PacketId, ProtocolVersion, QoS, ReasonCode, Subscribe, SubscriptionOptions,
    TopicFilter, TopicName, Will,
};
use tokio::io::{AsyncBufReadExt, BufReader, Lines};
use tokio::net::{TcpListener, TcpStream};
use tokio::process::{Child, ChildStdout, Command};
use tokio_util::codec::Framed;

/// How long any one expected event may take on a loaded CI machine.
const WAIT: Duration = Duration::from_secs(15);

/// Starts the example's broker on a free loopback port, in the test's runtime.
async fn start() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(minimal_broker::serve(listener));
    addr
}

/// `mosquitto_pub -d` with `args`; panics unless it exits 0, returns its debug output.
async fn publish(addr: SocketAddr, args: &[&str]) -> String {
    let out = Command::new("mosquitto_pub")
        .args(["-d", "-h", "127.0.0.1", "-p", &addr.port().to_string()])
        .args(args)
        .output();
    let out = tokio::time::timeout(WAIT, out)
        .await
        .expect("mosquitto_pub hangs")
        .unwrap();
    assert!(
        out.status.success(),
        "mosquitto_pub {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// A running `mosquitto_sub -d` whose subscriptions are known to be active. Messages are printed as
/// `MSG topic qos retain payload`; the other lines are its debug log of packets.
struct Sub {
    child: Child,
    lines: Lines<BufReader<ChildStdout>>,
    /// Its own topic: messages on it show that everything before them has been printed.
    probe: String,
    /// Messages read while waiting for a probe.
    pending: VecDeque<String>,
    /// Every line read so far.
    log: Vec<String>,
}

impl Sub {
    /// Starts `mosquitto_sub` with `args` (which name the filters) and a probe subscription, and returns once a
    /// probe has come through. (Its stdout is a pipe, so it is flushed only when a message is printed.)
    async fn start(addr: SocketAddr, args: &[&str]) -> Sub {
        static PROBES: AtomicU32 = AtomicU32::new(0);
        let probe = format!("probe/{}", PROBES.fetch_add(1, Ordering::Relaxed));
        let mut child = Command::new("mosquitto_sub")
            .args([
                "-d",
                "-h",
                "127.0.0.1",
                "-p",
                &addr.port().to_string(),
                "-F",
                "MSG %t %q %r %p",
            ])
            .args(["-t", &probe])
            .args(args)
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("mosquitto_sub runs (scripts/setup installs mosquitto-clients)");
        let lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut sub = Sub {
            child,
            lines,
            probe,
            pending: VecDeque::new(),
            log: Vec::new(),
        };
        let deadline = Instant::now() + WAIT;
        loop {
            publish(addr, &["-t", &sub.probe, "-m", "probe"]).await;
            match tokio::time::timeout(Duration::from_millis(300), sub.next_probe()).await {
                Ok(()) => return sub,
                Err(_) => assert!(Instant::now() < deadline, "mosquitto_sub never subscribed"),
            }
        }
    }

    async fn line(&mut self) -> String {
        let line = tokio::time::timeout(WAIT, self.lines.next_line())
            .await
            .expect("mosquitto_sub printed nothing in time")
            .unwrap()
            .expect("mosquitto_sub exited");
        self.log.push(line.clone());
        line
    }

    /// Reads up to the next probe message, keeping the other messages for [`Sub::next`].
    async fn next_probe(&mut self) {
        loop {
            let line = self.line().await;
            if line.starts_with(&format!("MSG {} ", self.probe)) {
                return;
            }
            if line.starts_with("MSG ") {
                self.pending.push_back(line);
            }
        }
    }

    /// The next message received (not a probe).
    async fn next(&mut self) -> String {
        if let Some(line) = self.pending.pop_front() {
            return line;
        }
        loop {
            let line = self.line().await;
            if line.starts_with("MSG ") && !line.starts_with(&format!("MSG {} ", self.probe)) {
                return line;
            }
        }
    }
}

/// A raw MQTT 5 client: CONNECT sent and CONNACK Success received.
async fn raw_client(addr: SocketAddr, connect: Connect) -> Framed<TcpStream, MqttCodec> {
    let mut framed = Framed::new(
        TcpStream::connect(addr).await.unwrap(),
        MqttCodec::client(ProtocolVersion::V5),
    );
    framed.send(Packet::Connect(Box::new(connect))).await.unwrap();
    let ack = tokio::time::timeout(WAIT, framed.next()).await.unwrap();
    assert!(matches!(ack, Some(Ok(Packet::ConnAck(a))) if a.reason_code == ReasonCode::Success));
    framed
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn qos_0_1_and_2_are_delivered_with_their_handshakes() {
    let addr = start().await;
    for version in ["mqttv311", "mqttv5"] {
        let topic = format!("qos/{version}");
        let mut sub = Sub::start(addr, &["-V", version, "-q", "2", "-t", &topic]).await;
        let mut low = Sub::start(addr, &["-V", version, "-q", "1", "-t", &topic]).await;
        for (qos, handshake) in [
            ("0", None),
            ("1", Some("received PUBACK")),
            ("2", Some("received PUBCOMP")),
        ] {
            let out = publish(
                addr,
                &["-V", version, "-q", qos, "-t", &topic, "-m", &format!("m{qos}")],
            )
            .await;
            if let Some(handshake) = handshake {
                assert!(out.contains(handshake), "{version} QoS {qos}: {out}");
            }
            assert_eq!(sub.next().await, format!("MSG {topic} {qos} 0 m{qos}"), "{version}");
            // A QoS 1 subscription gets QoS 2 messages at QoS 1 [MQTT-3.8.4-8].
            let downgraded = qos.min("1");
            assert_eq!(
                low.next().await,
                format!("MSG {topic} {downgraded} 0 m{qos}"),
                "{version}"
            );
        }
        // The subscriber's side of the QoS 1 and 2 exchanges completed too.
        assert!(
            sub.log.iter().any(|l| l.contains("sending PUBACK")),
            "{version}: {:?}",
            sub.log
        );
        assert!(
            sub.log.iter().any(|l| l.contains("sending PUBCOMP")),
            "{version}: {:?}",
            sub.log
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retained_message_reaches_later_subscribers_until_cleared() {
    let addr = start().await;
    publish(
        addr,
        &["-V", "mqttv5", "-r", "-q", "1", "-t", "status/door", "-m", "open"],
    )
    .await;
    publish(
        addr,
        &["-V", "mqttv5", "-r", "-q", "1", "-t", "status/window", "-m", "shut"],
    )
    .await;

    let mut sub = Sub::start(addr, &["-V", "mqttv311", "-q", "1", "-t", "status/+"]).await;
    let mut got = vec![sub.next().await, sub.next().await];
    got.sort();
    assert_eq!(got, ["MSG status/door 1 1 open", "MSG status/window 1 1 shut"]);
    // A live message to the same subscriber is not flagged retained.
    publish(addr, &["-t", "status/door", "-m", "closed"]).await;
    assert_eq!(sub.next().await, "MSG status/door 0 0 closed");

    // An empty retained message deletes the door's: a new subscriber gets only the window's.
    publish(addr, &["-r", "-t", "status/door", "-n"]).await;
    let mut sub = Sub::start(addr, &["-q", "1", "-t", "status/+"]).await;
    assert_eq!(sub.next().await, "MSG status/window 1 1 shut");
    // Retained messages are sent with the SUBACK, so a message published after it comes after them.
    publish(addr, &["-t", "status/marker", "-m", "end"]).await;
    assert_eq!(sub.next().await, "MSG status/marker 0 0 end");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_will_is_published_when_a_client_vanishes_and_not_after_disconnect() {
    let addr = start().await;
    let mut watcher = Sub::start(addr, &["-q", "1", "-t", "wills/#"]).await;

    // A clean DISCONNECT discards the will [MQTT-3.1.2-10].
    publish(
        addr,
        &[
            "--will-topic",
            "wills/polite",
            "--will-payload",
            "x",
            "-t",
            "t",
            "-m",
            "m",
        ],
    )
    .await;

    // A client killed outright: its socket closes without DISCONNECT.
    let will = [
        "--will-topic",
        "wills/doomed",
        "--will-payload",
        "gone",
        "--will-qos",
        "1",
    ];
    let mut doomed = Sub::start(addr, &[&["-i", "doomed", "-t", "anything"][..], &will].concat()).await;
    doomed.child.kill().await.unwrap();
    assert_eq!(watcher.next().await, "MSG wills/doomed 1 0 gone");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_client_is_closed_after_one_and_a_half_keep_alives() {
    let addr = start().await;
    let mut watcher = Sub::start(addr, &["-t", "wills/#"]).await;
    let will = Will::new(TopicName::from_static("wills/sleeper"), "timed out");
    let connect = Connect::new(ByteStr::from_static("sleeper")).keep_alive(1).will(will);
    let connected = Instant::now();
    let mut sleeper = raw_client(addr, connect).await;

    let last = tokio::time::timeout(WAIT, sleeper.next()).await.expect("never closed");
    assert!(
        matches!(&last, Some(Ok(Packet::Disconnect(d))) if d.reason_code == ReasonCode::KeepAliveTimeout),
        "{last:?}"
    );
    assert!(
        connected.elapsed() >= Duration::from_millis(1400),
        "closed after {:?}",
        connected.elapsed()
    );
    assert!(
        tokio::time::timeout(WAIT, sleeper.next()).await.unwrap().is_none(),
        "socket left open"
    );
    assert_eq!(watcher.next().await, "MSG wills/sleeper 0 0 timed out");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_connection_with_the_same_client_id_takes_over() {
    let addr = start().await;
    let mut first = raw_client(addr, Connect::new(ByteStr::from_static("twin"))).await;
    let filter = (
        TopicFilter::try_from("twin/in").unwrap(),
        SubscriptionOptions::new(QoS::AtMostOnce),
    );
    first
        .send(Packet::Subscribe(Subscribe::new(PacketId::MIN, [filter])))
        .await
        .unwrap();
    assert!(matches!(
        tokio::time::timeout(WAIT, first.next()).await.unwrap(),
        Some(Ok(Packet::SubAck(_)))
    ));

    let mut second = Sub::start(addr, &["-V", "mqttv5", "-i", "twin", "-t", "twin/in"]).await;
    let kicked = tokio::time::timeout(WAIT, first.next()).await.unwrap();
    assert!(
        matches!(&kicked, Some(Ok(Packet::Disconnect(d))) if d.reason_code == ReasonCode::SessionTakenOver),
        "{kicked:?}"
    );
    // The first connection's end (its subscriptions leave the router) leaves the second one's in place.
    assert!(tokio::time::timeout(WAIT, first.next()).await.unwrap().is_none());
    publish(addr, &["-t", "twin/in", "-m", "hello"]).await;
    assert_eq!(second.next().await, "MSG twin/in 0 0 hello");
}
