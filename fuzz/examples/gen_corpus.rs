//! Writes the checked-in seed corpus of every fuzz target to `fuzz/corpus/<target>/seed-<name>`:
//!
//! ```text
//! cargo run --manifest-path fuzz/Cargo.toml --no-default-features --example gen_corpus
//! ```
//!
//! - `decode_v311`, `decode_v5`: two valid packets of every packet type of that version, drawn from the codec's
//!   own proptest strategies (`mqtt_codec::testing::arb_packet`) with proptest's fixed-seed RNG; one stream of
//!   several packets; and the hand-written malformed inputs of [`MALFORMED`] and [`MALFORMED_V311`] or
//!   [`MALFORMED_V5`] (each breaking one rule; `tests/replay.rs` checks that each is rejected).
//! - `roundtrip`: one valid packet of every type per version, behind the version selector byte.
//! - `topic_filter`: topic/filter pairs ([`TOPIC_PAIRS`]): the specification's matching examples, shared
//!   subscriptions, `$`-topics and invalid names and filters.
//!
//! Old `seed-*` files are replaced; other files (such as `regress-*` inputs of fixed crashes) are kept.

// A developer tool: any I/O or generation failure stops it with a message.
#![allow(clippy::expect_used)]

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use bytes::BytesMut;
use mqtt_codec::testing::arb_packet;
use mqtt_codec::{Packet, ProtocolVersion};
use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::TestRunner;

/// Malformed inputs for either version, each named after the rule it breaks.
const MALFORMED: &[(&str, &[u8])] = &[
    ("remaining-length-5-bytes", &[0x30, 0xFF, 0xFF, 0xFF, 0xFF, 0x01]),
    ("over-max-packet-size", &[0x30, 0xFF, 0xFF, 0xFF, 0x7F]),
    ("pubrel-flags-0", &[0x60, 0x02, 0x00, 0x01]),
    ("publish-qos-3", &[0x36, 0x05, 0x00, 0x01, b'a', 0x00, 0x01]),
    ("publish-packet-id-0", &[0x32, 0x05, 0x00, 0x01, b'a', 0x00, 0x00]),
    ("topic-invalid-utf8", &[0x30, 0x04, 0x00, 0x02, 0xC3, 0x28]),
    ("topic-nul", &[0x30, 0x05, 0x00, 0x03, b'a', 0x00, b'b']),
    ("connect-reserved-flag", b"\x10\x0c\x00\x04MQTT\x04\x01\x00\x3c\x00\x00"),
    ("connect-truncated", b"\x10\x07\x00\x04MQTT\x04"),
    (
        "connect-password-without-username",
        b"\x10\x10\x00\x04MQTT\x04\x42\x00\x3c\x00\x00\x00\x02pw",
    ),
    (
        "connect-will-qos-without-will",
        b"\x10\x0c\x00\x04MQTT\x04\x0a\x00\x3c\x00\x00",
    ),
    (
        "connect-bad-protocol-name",
        b"\x10\x0c\x00\x04MQTX\x04\x02\x00\x3c\x00\x00",
    ),
    (
        "connect-bad-protocol-level",
        b"\x10\x0c\x00\x04MQTT\x07\x02\x00\x3c\x00\x00",
    ),
    ("pingreq-nonzero-length", &[0xC0, 0x01, 0x00]),
];

/// Malformed only in MQTT 3.1.1.
const MALFORMED_V311: &[(&str, &[u8])] = &[
    ("topic-wildcard", &[0x30, 0x05, 0x00, 0x03, b'a', b'/', b'+']),
    ("subscribe-empty", &[0x82, 0x02, 0x00, 0x01]),
    (
        "subscribe-bad-filter",
        &[0x82, 0x08, 0x00, 0x01, 0x00, 0x03, b'a', b'#', b'b', 0x00],
    ),
    ("puback-trailing-byte", &[0x40, 0x03, 0x00, 0x01, 0x00]),
    ("auth-in-v311", &[0xF0, 0x00]),
];

/// Malformed only in MQTT 5.0 (these carry a property length where 5.0 has one).
const MALFORMED_V5: &[(&str, &[u8])] = &[
    ("topic-wildcard", &[0x30, 0x06, 0x00, 0x03, b'a', b'/', b'+', 0x00]),
    ("subscribe-empty", &[0x82, 0x03, 0x00, 0x01, 0x00]),
    (
        "subscribe-bad-filter",
        &[0x82, 0x09, 0x00, 0x01, 0x00, 0x00, 0x03, b'a', b'#', b'b', 0x00],
    ),
    (
        "subscribe-reserved-option-bits",
        &[0x82, 0x07, 0x00, 0x01, 0x00, 0x00, 0x01, b'a', 0xC0],
    ),
    ("puback-invalid-reason-code", &[0x40, 0x03, 0x00, 0x01, 0x05]),
    (
        "publish-duplicate-property",
        &[
            0x32, 0x10, 0x00, 0x01, b'a', 0x00, 0x01, 0x0A, 0x02, 0, 0, 0, 1, 0x02, 0, 0, 0, 2,
        ],
    ),
    (
        "publish-property-not-allowed",
        &[0x32, 0x0A, 0x00, 0x01, b'a', 0x00, 0x01, 0x02, 0x24, 0x01, b'x', b'y'],
    ),
    (
        "publish-property-length-overrun",
        &[0x32, 0x08, 0x00, 0x01, b'a', 0x00, 0x01, 0x05, 0x02, 0x00],
    ),
];

/// (name, topic, filter): joined by `0xFF` as the `topic_filter` target splits them.
const TOPIC_PAIRS: &[(&str, &[u8], &[u8])] = &[
    ("multi-level-parent", b"sport/tennis/player1", b"sport/tennis/player1/#"),
    (
        "multi-level-deep",
        b"sport/tennis/player1/score/wimbledon",
        b"sport/tennis/player1/#",
    ),
    ("hash-matches-parent", b"sport", b"sport/#"),
    ("plus-one-level", b"sport/tennis/player1", b"sport/tennis/+"),
    (
        "plus-not-two-levels",
        b"sport/tennis/player1/ranking",
        b"sport/tennis/+",
    ),
    ("plus-empty-level", b"sport/", b"sport/+"),
    ("plus-needs-level", b"sport", b"sport/+"),
    ("leading-slash", b"/finance", b"+/+"),
    ("leading-slash-single", b"/finance", b"+"),
    ("dollar-hash", b"$SYS/uptime", b"#"),
    ("dollar-plus", b"$SYS/monitor/Clients", b"+/monitor/Clients"),
    ("dollar-explicit", b"$SYS/monitor/Clients", b"$SYS/monitor/+"),
    ("shared", b"jobs/eu/new", b"$share/workers/jobs/+/new"),
    ("shared-no-filter", b"jobs", b"$share/workers"),
    ("shared-empty-group", b"jobs", b"$share//jobs"),
    ("shared-wild-group", b"jobs", b"$share/a+/jobs"),
    ("hash-not-last", b"a/b/c", b"a/#/c"),
    ("hash-in-level", b"a/b", b"a/b#"),
    ("plus-in-level", b"a/b", b"a/b+"),
    ("wildcard-in-topic", b"a/+/c", b"a/+/c"),
    ("empty-topic", b"", b"#"),
    ("nul-in-topic", b"a\0b", b"a/#"),
    ("bad-utf8", b"a\xC3\x28", b"\xED\xA0\x80/#"),
    ("empty-levels", b"a//b/", b"a/+/+/"),
    ("same-input-both", b"home/+/temp", b""),
];

fn main() {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
    let mut seeds: Vec<(&str, String, Vec<u8>)> = Vec::new();

    for (version, target, label, selector) in [
        (ProtocolVersion::V311, "decode_v311", "v311", 0u8),
        (ProtocolVersion::V5, "decode_v5", "v5", 1u8),
    ] {
        let samples = valid_packets(version, 2);
        let mut stream = Vec::new();
        for (name, packets) in &samples {
            for (i, frame) in packets.iter().enumerate() {
                seeds.push((target, format!("{label}-{name}-{i}"), frame.clone()));
                if i == 0 {
                    seeds.push((
                        "roundtrip",
                        format!("{label}-{name}"),
                        [&[selector][..], frame].concat(),
                    ));
                    if stream.len() < 6 * 64 {
                        stream.extend_from_slice(frame);
                    }
                }
            }
        }
        seeds.push((target, format!("{label}-stream"), stream));
        let only_this_version = if version.is_v5() { MALFORMED_V5 } else { MALFORMED_V311 };
        for (name, data) in MALFORMED.iter().chain(only_this_version) {
            seeds.push((target, format!("malformed-{name}"), data.to_vec()));
        }
    }
    for (name, topic, filter) in TOPIC_PAIRS {
        let data = if filter.is_empty() {
            topic.to_vec()
        } else {
            [topic, &[0xFF][..], filter].concat()
        };
        seeds.push(("topic_filter", (*name).to_owned(), data));
    }

    for target in ["decode_v311", "decode_v5", "roundtrip", "topic_filter"] {
        let dir = corpus.join(target);
        fs::create_dir_all(&dir).expect("create corpus dir");
        for entry in fs::read_dir(&dir).expect("read corpus dir") {
            let path = entry.expect("dir entry").path();
            if path
                .file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("seed-"))
            {
                fs::remove_file(&path).expect("remove old seed");
            }
        }
    }
    for (target, name, data) in &seeds {
        fs::write(corpus.join(target).join(format!("seed-{name}")), data).expect("write seed");
    }
    println!("wrote {} seeds to {}", seeds.len(), corpus.display());
}

/// `per_type` encoded packets of every packet type of `version`, by lower-case type name.
fn valid_packets(version: ProtocolVersion, per_type: usize) -> BTreeMap<String, Vec<Vec<u8>>> {
    let types = if version.is_v5() { 15 } else { 14 };
    let strategy = arb_packet(version);
    let mut runner = TestRunner::deterministic();
    let mut found: BTreeMap<String, Vec<Vec<u8>>> = BTreeMap::new();
    for _ in 0..100_000 {
        let packet: Packet = strategy.new_tree(&mut runner).expect("strategy generates").current();
        let name = packet.packet_type().to_string().to_lowercase();
        let slot = found.entry(name).or_default();
        if slot.len() < per_type {
            let mut wire = BytesMut::new();
            packet.encode(version, &mut wire).expect("a generated packet encodes");
            slot.push(wire.to_vec());
        }
        if found.len() == types && found.values().all(|v| v.len() == per_type) {
            break;
        }
    }
    assert_eq!(found.len(), types, "every packet type of {version:?} was generated");
    found
}
