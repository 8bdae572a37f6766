//! Clients that break the rules, written byte by byte on a raw `TcpStream`: the broker answers each as the
//! spec says and keeps serving everyone else.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use common::{Sub, WAIT, mosquitto_pub, start, unique, within};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn remaining_length(mut n: usize, out: &mut Vec<u8>) {
    loop {
        let mut b = (n % 128) as u8;
        n /= 128;
        if n > 0 {
            b |= 0x80;
        }
        out.push(b);
        if n == 0 {
            return;
        }
    }
}

fn string(s: &str, out: &mut Vec<u8>) {
    out.extend_from_slice(&(s.len() as u16).to_be_bytes());
    out.extend_from_slice(s.as_bytes());
}

fn packet(first: u8, body: &[u8]) -> Vec<u8> {
    let mut out = vec![first];
    remaining_length(body.len(), &mut out);
    out.extend_from_slice(body);
    out
}

/// CONNECT with a clean session, keep alive 60 s, protocol level 4 (3.1.1) or 5.
fn connect_packet(level: u8, client_id: &str) -> Vec<u8> {
    let mut body = Vec::new();
    string("MQTT", &mut body);
    body.extend_from_slice(&[level, 0x02, 0x00, 0x3C]);
    if level == 5 {
        body.push(0); // no properties
    }
    string(client_id, &mut body);
    packet(0x10, &body)
}

fn subscribe_packet(level: u8, filter: &str) -> Vec<u8> {
    let mut body = vec![0x00, 0x01];
    if level == 5 {
        body.push(0);
    }
    string(filter, &mut body);
    body.push(0x00);
    packet(0x82, &body)
}

fn publish_packet(level: u8, topic: &str, payload: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    string(topic, &mut body);
    if level == 5 {
        body.push(0);
    }
    body.extend_from_slice(payload);
    packet(0x30, &body)
}

/// Connects and reads the CONNACK; returns the stream and the CONNACK's return/reason code.
async fn raw_connect(addr: SocketAddr, level: u8, id: &str) -> (TcpStream, Option<u8>) {
    let mut s = within("connect", TcpStream::connect(addr)).await.unwrap();
    within("CONNECT write", s.write_all(&connect_packet(level, id)))
        .await
        .unwrap();
    let mut hdr = [0u8; 2];
    let code = match tokio::time::timeout(WAIT, s.read_exact(&mut hdr))
        .await
        .expect("no CONNACK")
    {
        Ok(_) => {
            assert_eq!(hdr[0], 0x20, "CONNACK expected");
            let mut rest = vec![0u8; usize::from(hdr[1])];
            within("CONNACK body", s.read_exact(&mut rest)).await.unwrap();
            Some(rest[1])
        }
        Err(_) => None,
    };
    (s, code)
}

/// Reads everything until the broker closes the connection; panics if it stays open past [`WAIT`].
async fn read_to_close(s: &mut TcpStream) -> Vec<u8> {
    let mut all = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout(WAIT, s.read(&mut buf))
            .await
            .expect("connection still open")
        {
            Ok(0) | Err(_) => return all,
            Ok(n) => all.extend_from_slice(&buf[..n]),
        }
    }
}

/// Malformed packets after a good CONNECT, each a different broken rule.
fn malformed(level: u8) -> Vec<(&'static str, Vec<u8>)> {
    let props = if level == 5 { vec![0u8] } else { vec![] };
    let mut qos3 = vec![0x00, 0x01, b't'];
    qos3.extend_from_slice(&props);
    let mut wildcard_topic = vec![0x00, 0x03, b'a', b'/', b'#'];
    wildcard_topic.extend_from_slice(&props);
    vec![
        ("reserved packet type 0", vec![0x00, 0x00]),
        ("PUBLISH with QoS 3", packet(0x36, &qos3)),
        ("wildcard in a topic name", packet(0x30, &wildcard_topic)),
        (
            "SUBSCRIBE with flags 0",
            packet(0x80, &[0x00, 0x01, 0x00, 0x01, b'a', 0x00]),
        ),
        ("remaining length of 5 bytes", vec![0x30, 0xFF, 0xFF, 0xFF, 0xFF, 0x01]),
        ("second CONNECT", connect_packet(level, "again")),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_packets_get_disconnect_0x81_on_v5_and_a_close_on_311() {
    let broker = start("").await;
    let addr = broker.local_addr();
    for level in [4u8, 5] {
        for (what, bytes) in malformed(level) {
            let (mut s, code) = raw_connect(addr, level, &unique("bad")).await;
            assert_eq!(code, Some(0), "{what}");
            within("write", s.write_all(&bytes)).await.unwrap();
            let rest = read_to_close(&mut s).await;
            if level == 5 {
                // DISCONNECT (0xE0) with a reason code that says why: 0x81 Malformed Packet, 0x82
                // Protocol Error (a second CONNECT, a reserved type) or 0x90 Topic Name Invalid.
                assert!(rest.len() >= 3 && rest[0] == 0xE0, "{what}: {rest:02x?}");
                assert!(matches!(rest[2], 0x81 | 0x82 | 0x90), "{what}: reason {:#x}", rest[2]);
                if what.contains("QoS 3") || what.contains("remaining length") {
                    assert_eq!(rest[2], 0x81, "{what}");
                }
            } else {
                assert!(
                    rest.is_empty(),
                    "3.1.1 has no DISCONNECT from the server ({what}): {rest:02x?}"
                );
            }
        }
    }
    // Still serving.
    let mut sub = Sub::start(addr, "mqttv5", &["-t", "still/here"]).await;
    mosquitto_pub(addr, "mqttv5", &["-t", "still/here", "-m", "yes"]).await;
    assert_eq!(sub.next().await, "still/here yes");
    sub.stop().await;
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_garbage_first_packet_is_closed() {
    let broker = start("").await;
    let addr = broker.local_addr();
    for junk in [
        &b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"[..],
        &[0x30, 0x02, 0x00, 0x00],
        &[0x10, 0x00],
    ] {
        let mut s = within("connect", TcpStream::connect(addr)).await.unwrap();
        within("write", s.write_all(junk)).await.unwrap();
        let rest = read_to_close(&mut s).await;
        // Nothing but possibly a refusing CONNACK.
        assert!(rest.is_empty() || rest[0] == 0x20, "{junk:02x?} -> {rest:02x?}");
    }
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connect_that_never_finishes_is_closed_after_the_connect_timeout() {
    let broker = start("[limits]\nconnect_timeout_ms = 500\n").await;
    let addr = broker.local_addr();
    let full = connect_packet(5, "slowpoke");
    let mut silent = within("connect", TcpStream::connect(addr)).await.unwrap();
    let mut partial = within("connect", TcpStream::connect(addr)).await.unwrap();
    within("write", partial.write_all(&full[..full.len() - 3]))
        .await
        .unwrap();
    let started = Instant::now();
    // Meanwhile a well-behaved client is served.
    let mut sub = Sub::start(addr, "mqttv311", &["-t", "ok"]).await;
    assert!(read_to_close(&mut partial).await.is_empty());
    assert!(read_to_close(&mut silent).await.is_empty());
    assert!(
        started.elapsed() >= Duration::from_millis(400),
        "closed before the timeout"
    );
    mosquitto_pub(addr, "mqttv311", &["-t", "ok", "-m", "fine"]).await;
    assert_eq!(sub.next().await, "ok fine");
    sub.stop().await;
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_never_reads_does_not_stall_the_others() {
    let broker = start("[limits]\nmax_queued_messages = 100\nwrite_timeout_ms = 2000\n").await;
    let addr = broker.local_addr();
    let topic = unique("firehose");
    // The slow consumer subscribes and then never reads again.
    let (mut slow, code) = raw_connect(addr, 4, &unique("slow")).await;
    assert_eq!(code, Some(0));
    within("SUBSCRIBE write", slow.write_all(&subscribe_packet(4, &topic)))
        .await
        .unwrap();
    let mut suback = [0u8; 5];
    tokio::time::timeout(WAIT, slow.read_exact(&mut suback))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(suback[0], 0x90);
    let mut healthy = Sub::start(addr, "mqttv311", &["-t", &format!("{topic}/done")]).await;

    // 16 MiB at QoS 0: far more than the socket buffers between the broker and the slow client hold.
    let (mut publ, _) = raw_connect(addr, 4, &unique("pub")).await;
    let payload = vec![b'x'; 8192];
    let one = publish_packet(4, &topic, &payload);
    let mut burst = Vec::with_capacity(one.len() * 64);
    for _ in 0..64 {
        burst.extend_from_slice(&one);
    }
    for _ in 0..32 {
        tokio::time::timeout(WAIT, publ.write_all(&burst))
            .await
            .expect("publisher stalled")
            .unwrap();
    }
    within(
        "publisher stalled",
        publ.write_all(&publish_packet(4, &format!("{topic}/done"), b"end")),
    )
    .await
    .unwrap();
    assert_eq!(healthy.next().await, format!("{topic}/done end"));
    healthy.stop().await;
    let stats = broker.stats();
    assert!(
        stats.messages_dropped > 0,
        "the slow client's queue is bounded: {stats:?}"
    );
    drop(slow);
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_connections_beyond_the_cap_is_refused_while_others_keep_working() {
    const CAP: usize = 16;
    let broker = start(&format!("[limits]\nmax_connections = {CAP}\n")).await;
    let addr = broker.local_addr();
    let mut sub = Sub::start(addr, "mqttv311", &["-t", "flood/check"]).await;

    let mut flood = Vec::new();
    let mut accepted = 0;
    for i in 0..(3 * CAP) {
        let level = if i % 2 == 0 { 4 } else { 5 };
        let (s, code) = raw_connect(addr, level, &unique("flood")).await;
        match code {
            Some(0) => accepted += 1,
            // 3.1.1: 3 Server unavailable; v5: 0x97 Quota exceeded or 0x89 Server busy.
            Some(3) | Some(0x97) | Some(0x89) | None => {}
            Some(other) => panic!("unexpected CONNACK code {other:#x}"),
        }
        flood.push((s, level, code));
    }
    assert!(
        accepted < CAP,
        "the cap holds: {accepted} accepted with {CAP} allowed and one subscriber"
    );
    // The subscriber connected before the flood still gets messages (mosquitto_pub would be refused while
    // the flood holds every slot, so publish from an accepted 3.1.1 flood connection).
    let at = flood
        .iter()
        .position(|(_, level, code)| *level == 4 && *code == Some(0))
        .expect("some 3.1.1 connection was accepted");
    let (mut publisher, _, _) = flood.swap_remove(at);
    within(
        "write",
        publisher.write_all(&publish_packet(4, "flood/check", b"alive")),
    )
    .await
    .unwrap();
    assert_eq!(sub.next().await, "flood/check alive");
    // Dropping the flood frees the slots; a new client gets in again.
    drop(flood);
    drop(publisher);
    let deadline = Instant::now() + WAIT;
    loop {
        let (_s, code) = raw_connect(addr, 5, &unique("after")).await;
        if code == Some(0) {
            break;
        }
        assert!(Instant::now() < deadline, "slots never freed");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    sub.stop().await;
    broker.shutdown().await;
}
