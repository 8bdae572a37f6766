//! Replays every checked-in corpus file through its fuzz target's body on the stable toolchain, so CI covers
//! the corpus (and every crash input added to it) without libFuzzer or nightly.

// Test harness: a broken corpus directory should stop the test with a message.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::fs;
use std::path::{Path, PathBuf};

use bytes::BytesMut;
use mqtt_codec::{DEFAULT_MAX_PACKET_SIZE, Packet, ProtocolVersion};

fn corpus_files(target: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus").join(target);
    let mut files: Vec<PathBuf> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("corpus {}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.is_file())
        .collect();
    files.sort();
    files
}

fn replay(target: &str, body: fn(&[u8])) -> usize {
    let files = corpus_files(target);
    assert!(!files.is_empty(), "the {target} corpus is empty");
    for path in &files {
        let data = fs::read(path).unwrap();
        // A panic names the input so it can be reproduced with `cargo fuzz run <target> <file>`.
        eprintln!("{target}: {}", path.display());
        body(&data);
    }
    files.len()
}

#[test]
fn topic_filter_corpus() {
    replay("topic_filter", hpmq_fuzz::topic_filter);
}

#[test]
fn decode_v311_corpus() {
    replay("decode_v311", hpmq_fuzz::decode_v311);
    assert_malformed_seeds_fail("decode_v311", ProtocolVersion::V311);
}

#[test]
fn decode_v5_corpus() {
    replay("decode_v5", hpmq_fuzz::decode_v5);
    assert_malformed_seeds_fail("decode_v5", ProtocolVersion::V5);
}

/// The generator's `seed-malformed-*` inputs must each be rejected, or they do not seed what their name says.
fn assert_malformed_seeds_fail(target: &str, version: ProtocolVersion) {
    let malformed: Vec<PathBuf> = corpus_files(target)
        .into_iter()
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("seed-malformed-"))
        })
        .collect();
    assert!(malformed.len() >= 10, "{target}: malformed seeds missing");
    for path in malformed {
        let mut buf = BytesMut::from(&fs::read(&path).unwrap()[..]);
        let result = Packet::decode(version, &mut buf, DEFAULT_MAX_PACKET_SIZE);
        assert!(result.is_err(), "{} decodes as {result:?}", path.display());
    }
}

#[test]
fn roundtrip_corpus() {
    replay("roundtrip", hpmq_fuzz::roundtrip);
}
