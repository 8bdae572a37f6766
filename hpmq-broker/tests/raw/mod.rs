//! A hand-written MQTT 5.0 / 3.1.1 client over a plain `TcpStream`, for the behaviours no client library will
//! produce (exceeding Receive Maximum, oversized or alias-breaking PUBLISHes, silence past the keep alive).
//! Packets are written byte by byte from the spec's layouts so that the test does not share code with the
//! broker's codec.

// Test support: failing loudly is the point.
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::HashMap;
use std::net::SocketAddr;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::common::WAIT;

/// Appends a Variable Byte Integer.
pub fn varint(mut n: usize, out: &mut Vec<u8>) {
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

/// Appends a UTF-8 string with its two-byte length.
pub fn string(s: &str, out: &mut Vec<u8>) {
    out.extend_from_slice(&(s.len() as u16).to_be_bytes());
    out.extend_from_slice(s.as_bytes());
}

/// A whole packet: fixed header byte, remaining length, body.
pub fn packet(first: u8, body: &[u8]) -> Vec<u8> {
    let mut out = vec![first];
    varint(body.len(), &mut out);
    out.extend_from_slice(body);
    out
}

/// CONNECT: protocol level 4 or 5, Clean Start/Session set when `clean`, v5 `props` already encoded.
pub fn connect(level: u8, client_id: &str, clean: bool, keep_alive: u16, props: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    string("MQTT", &mut body);
    body.push(level);
    body.push(if clean { 0x02 } else { 0x00 });
    body.extend_from_slice(&keep_alive.to_be_bytes());
    if level == 5 {
        varint(props.len(), &mut body);
        body.extend_from_slice(props);
    }
    string(client_id, &mut body);
    packet(0x10, &body)
}

/// PUBLISH with `qos` (packet id `id` when QoS > 0) and, for v5, `props` already encoded.
pub fn publish(level: u8, topic: &str, qos: u8, id: u16, props: &[u8], payload: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    string(topic, &mut body);
    if qos > 0 {
        body.extend_from_slice(&id.to_be_bytes());
    }
    if level == 5 {
        varint(props.len(), &mut body);
        body.extend_from_slice(props);
    }
    body.extend_from_slice(payload);
    packet(0x30 | (qos << 1), &body)
}

/// SUBSCRIBE (packet id `id`) to one `filter` with maximum QoS `qos`, no v5 properties.
pub fn subscribe(level: u8, id: u16, filter: &str, qos: u8) -> Vec<u8> {
    let mut body = id.to_be_bytes().to_vec();
    if level == 5 {
        body.push(0);
    }
    string(filter, &mut body);
    body.push(qos);
    packet(0x82, &body)
}

/// PUBREL for `id` (reason Success, so the short form).
pub fn pubrel(id: u16) -> Vec<u8> {
    packet(0x62, &id.to_be_bytes())
}

/// A decoded packet: the fixed header's first byte and the body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    pub first: u8,
    pub body: Vec<u8>,
}

impl Frame {
    /// The packet type (upper nibble).
    pub fn kind(&self) -> u8 {
        self.first >> 4
    }

    /// The packet identifier of an ack (PUBACK/PUBREC/PUBREL/PUBCOMP).
    pub fn ack_id(&self) -> u16 {
        u16::from_be_bytes([self.body[0], self.body[1]])
    }
}

/// One raw connection.
pub struct Raw {
    pub stream: TcpStream,
}

impl Raw {
    /// Opens a TCP connection and writes `connect`; returns the connection and the CONNACK.
    pub async fn connect(addr: SocketAddr, connect: &[u8]) -> (Raw, Frame) {
        let stream = tokio::time::timeout(WAIT, TcpStream::connect(addr))
            .await
            .expect("TCP connect hangs")
            .unwrap();
        let mut raw = Raw { stream };
        raw.send(connect).await;
        let connack = raw.next().await.expect("closed before CONNACK");
        assert_eq!(connack.kind(), 2, "CONNACK expected: {connack:02x?}");
        (raw, connack)
    }

    /// Writes bytes.
    pub async fn send(&mut self, bytes: &[u8]) {
        tokio::time::timeout(WAIT, self.stream.write_all(bytes))
            .await
            .expect("write stalled")
            .unwrap();
    }

    /// The next packet, or `None` when the broker closed the connection; panics after [`WAIT`].
    pub async fn next(&mut self) -> Option<Frame> {
        tokio::time::timeout(WAIT, self.read_frame())
            .await
            .expect("no packet and no close within the wait")
    }

    async fn read_frame(&mut self) -> Option<Frame> {
        let mut first = [0u8; 1];
        if self.stream.read_exact(&mut first).await.is_err() {
            return None;
        }
        let mut len = 0usize;
        for shift in 0..4 {
            let mut b = [0u8; 1];
            self.stream.read_exact(&mut b).await.ok()?;
            len |= usize::from(b[0] & 0x7F) << (7 * shift);
            if b[0] & 0x80 == 0 {
                break;
            }
        }
        let mut body = vec![0u8; len];
        self.stream.read_exact(&mut body).await.ok()?;
        Some(Frame { first: first[0], body })
    }

    /// Reads until the broker closes the connection; returns what came before the close.
    pub async fn until_closed(&mut self) -> Vec<Frame> {
        let mut frames = Vec::new();
        while let Some(f) = self.next().await {
            frames.push(f);
        }
        frames
    }
}

/// Reads a Variable Byte Integer at `*at`.
fn read_varint(bytes: &[u8], at: &mut usize) -> usize {
    let mut n = 0usize;
    for shift in 0..4 {
        let b = bytes[*at];
        *at += 1;
        n |= usize::from(b & 0x7F) << (7 * shift);
        if b & 0x80 == 0 {
            break;
        }
    }
    n
}

/// The properties of a v5 CONNACK (identifier -> raw value bytes); user properties are skipped.
pub fn connack_properties(connack: &Frame) -> HashMap<u8, Vec<u8>> {
    let b = &connack.body;
    let mut at = 2;
    let len = read_varint(b, &mut at);
    let end = at + len;
    let mut props = HashMap::new();
    while at < end {
        let id = b[at];
        at += 1;
        let size = match id {
            // Byte
            0x01 | 0x17 | 0x19 | 0x24 | 0x25 | 0x28 | 0x29 | 0x2A => 1,
            // Two Byte Integer
            0x13 | 0x21 | 0x22 | 0x23 => 2,
            // Four Byte Integer
            0x02 | 0x11 | 0x18 | 0x27 => 4,
            // UTF-8 string or binary data
            0x03 | 0x08 | 0x09 | 0x12 | 0x15 | 0x16 | 0x1A | 0x1C | 0x1F => {
                2 + usize::from(u16::from_be_bytes([b[at], b[at + 1]]))
            }
            // User property: two strings
            0x26 => {
                let k = 2 + usize::from(u16::from_be_bytes([b[at], b[at + 1]]));
                k + 2 + usize::from(u16::from_be_bytes([b[at + k], b[at + k + 1]]))
            }
            other => panic!("unknown CONNACK property {other:#x}"),
        };
        props.insert(id, b[at..at + size].to_vec());
        at += size;
    }
    props
}

/// A Two Byte Integer property value.
pub fn u16_prop(props: &HashMap<u8, Vec<u8>>, id: u8) -> Option<u16> {
    props.get(&id).map(|v| u16::from_be_bytes([v[0], v[1]]))
}

/// A Four Byte Integer property value.
pub fn u32_prop(props: &HashMap<u8, Vec<u8>>, id: u8) -> Option<u32> {
    props.get(&id).map(|v| u32::from_be_bytes([v[0], v[1], v[2], v[3]]))
}
