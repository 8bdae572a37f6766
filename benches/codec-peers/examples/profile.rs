//! Runs one codec's decode or encode of one case in a loop, for profilers that count instructions or sample
//! (`valgrind --tool=callgrind`, `perf record`), which the criterion harness would drown in its own work.
//!
//! ```text
//! cargo build --release -p hpmq-bench --example profile
//! valgrind --tool=callgrind --callgrind-out-file=cg.out \
//!     target/release/examples/profile hpmq decode publish_qos1 v5 100000
//! callgrind_annotate cg.out | head -40
//! ```
//!
//! Arguments: codec (`hpmq`, `rumqttc`, `ntex-mqtt`, `rmqtt-codec`), `decode` or `encode`, case label (as in
//! the benchmark ids), `v311` or `v5`, iterations. Inputs are prepared before the loop, as in the benchmark; the
//! program prints the iteration count so an instruction total can be divided by it.
//!
//! For `hpmq` only, the labels `publish_qos0` and `publish_qos0_props` run the two QoS 1 PUBLISH cases sent at
//! QoS 0 instead: the same hand-written frame with the QoS bits cleared and the packet identifier cut out, and
//! the same packet value with QoS 0. They measure the codec's own QoS 0 path (the peer adapters build only the
//! benchmark's cases).

#[path = "../adapters/mod.rs"]
#[allow(dead_code)] // shared with the benchmark and tests; this driver uses a subset
mod adapters;

use std::hint::black_box;

use adapters::{hpmq, ntex, rmqtt, rumqttc};
use bytes::BytesMut;
use hpmq_bench::{Case, MATRIX, Version, frame};

fn main() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [codec, direction, case, version, iterations] = args.as_slice() else {
        return Err("usage: profile <codec> <decode|encode> <case> <v311|v5> <iterations>".into());
    };
    let (matrix_label, qos0) = match case.strip_prefix("publish_qos0") {
        Some(rest) if codec == "hpmq" => (format!("publish_qos1{rest}"), true),
        Some(_) => return Err(format!("{case} is measured for hpmq only")),
        None => (case.clone(), false),
    };
    let (case, version) = MATRIX
        .into_iter()
        .find(|(c, v)| c.label() == matrix_label && v.label() == version)
        .ok_or_else(|| format!("no case {case} {version}"))?;
    let n: usize = iterations.parse().map_err(|e| format!("iterations: {e}"))?;
    match direction.as_str() {
        "decode" => decode(codec, case, version, qos0, n)?,
        "encode" => encode(codec, case, version, qos0, n)?,
        other => return Err(format!("unknown direction {other}")),
    }
    println!(
        "{n} iterations of {codec} {direction} {}{} {}",
        case.label(),
        if qos0 { " at QoS 0" } else { "" },
        version.label()
    );
    Ok(())
}

/// The QoS 0 form of a QoS 1 PUBLISH frame: the QoS bits cleared, the packet identifier after the topic cut out
/// and the remaining length written anew.
fn qos0_frame(qos1: &[u8]) -> Result<Vec<u8>, String> {
    let malformed = || "not a QoS 1 PUBLISH frame".to_string();
    let (&first, rest) = qos1.split_first().ok_or_else(malformed)?;
    let length_bytes = rest.iter().position(|b| b & 0x80 == 0).ok_or_else(malformed)? + 1;
    let body = rest.get(length_bytes..).ok_or_else(malformed)?;
    let topic_len = match body {
        [hi, lo, ..] => usize::from(u16::from_be_bytes([*hi, *lo])),
        _ => return Err(malformed()),
    };
    let (topic, id_and_rest) = body.split_at_checked(2 + topic_len).ok_or_else(malformed)?;
    let after_id = id_and_rest.get(2..).ok_or_else(malformed)?;
    let mut out = vec![first & !0b0110];
    let mut remaining = topic.len() + after_id.len();
    loop {
        // The low seven bits, so the cast cannot truncate.
        let byte = (remaining & 0x7F) as u8;
        remaining >>= 7;
        if remaining == 0 {
            out.push(byte);
            break;
        }
        out.push(byte | 0x80);
    }
    out.extend_from_slice(topic);
    out.extend_from_slice(after_id);
    Ok(out)
}

/// The packet of `case` for our codec, at QoS 0 when `qos0` is set.
fn hpmq_packet(case: Case, version: Version, qos0: bool) -> mqtt_codec::Packet {
    let mut packet = hpmq::packet(case, version);
    if let (true, mqtt_codec::Packet::Publish(publish)) = (qos0, &mut packet) {
        publish.qos = mqtt_codec::QoS::AtMostOnce;
        publish.packet_id = None;
    }
    packet
}

fn decode(codec: &str, case: Case, version: Version, qos0: bool, n: usize) -> Result<(), String> {
    let frame = if qos0 {
        qos0_frame(&frame(case, version))?
    } else {
        frame(case, version)
    };
    match (codec, version) {
        ("hpmq", _) => {
            let v = hpmq::version(version);
            let mut inputs: Vec<BytesMut> = (0..n).map(|_| hpmq::input(&frame)).collect();
            // The frame is decoded once outside the loop, so a QoS 0 frame cut wrongly fails here, not silently.
            let expected = hpmq_packet(case, version, qos0);
            if hpmq::decode(v, &mut hpmq::input(&frame)) != expected {
                return Err("the frame does not decode to the case's packet".into());
            }
            let out: Vec<_> = inputs.iter_mut().map(|b| hpmq::decode(v, b)).collect();
            black_box(out);
        }
        ("rumqttc", Version::V311) => {
            let mut inputs: Vec<BytesMut> = (0..n).map(|_| rumqttc::input(&frame)).collect();
            black_box(inputs.iter_mut().map(rumqttc::decode_v4).collect::<Vec<_>>());
        }
        ("rumqttc", Version::V5) => {
            let mut inputs: Vec<BytesMut> = (0..n).map(|_| rumqttc::input(&frame)).collect();
            black_box(inputs.iter_mut().map(rumqttc::decode_v5).collect::<Vec<_>>());
        }
        ("ntex-mqtt", Version::V311) => {
            let c = ntex::codec_v3();
            let mut inputs: Vec<_> = (0..n).map(|_| ntex::input(&frame)).collect();
            black_box(inputs.iter_mut().map(|b| ntex::decode_v3(&c, b)).collect::<Vec<_>>());
        }
        ("ntex-mqtt", Version::V5) => {
            let c = ntex::codec_v5();
            let mut inputs: Vec<_> = (0..n).map(|_| ntex::input(&frame)).collect();
            black_box(inputs.iter_mut().map(|b| ntex::decode_v5(&c, b)).collect::<Vec<_>>());
        }
        ("rmqtt-codec", Version::V311) => {
            let mut c = rmqtt::codec_v3();
            let mut inputs: Vec<BytesMut> = (0..n).map(|_| rmqtt::input(&frame)).collect();
            black_box(
                inputs
                    .iter_mut()
                    .map(|b| rmqtt::decode_v3(&mut c, b))
                    .collect::<Vec<_>>(),
            );
        }
        ("rmqtt-codec", Version::V5) => {
            let mut c = rmqtt::codec_v5();
            let mut inputs: Vec<BytesMut> = (0..n).map(|_| rmqtt::input(&frame)).collect();
            black_box(
                inputs
                    .iter_mut()
                    .map(|b| rmqtt::decode_v5(&mut c, b))
                    .collect::<Vec<_>>(),
            );
        }
        _ => return Err(format!("unknown codec {codec}")),
    }
    Ok(())
}

fn encode(codec: &str, case: Case, version: Version, qos0: bool, n: usize) -> Result<(), String> {
    let mut out = BytesMut::with_capacity(frame(case, version).len() + hpmq_bench::READ_BUFFER_SPARE);
    match codec {
        "hpmq" => {
            let (v, packet) = (hpmq::version(version), hpmq_packet(case, version, qos0));
            for _ in 0..n {
                out.clear();
                hpmq::encode(v, black_box(&packet), &mut out);
            }
        }
        "rumqttc" => match rumqttc::packet(case, version) {
            rumqttc::Packet::V4(p) => (0..n).for_each(|_| {
                out.clear();
                rumqttc::encode_v4(black_box(&p), &mut out);
            }),
            rumqttc::Packet::V5(p) => (0..n).for_each(|_| {
                out.clear();
                rumqttc::encode_v5(black_box(&p), &mut out);
            }),
        },
        "ntex-mqtt" => {
            let mut pages = ntex_bytes::BytePages::default();
            match ntex::packet(case, version) {
                ntex::Packet::V3(item) => {
                    let c = ntex::codec_v3();
                    let items: Vec<_> = (0..n).map(|_| item.clone()).collect();
                    for item in items {
                        ntex::drain(&mut pages);
                        ntex::encode_v3(&c, item, &mut pages);
                    }
                }
                ntex::Packet::V5(item) => {
                    let c = ntex::codec_v5();
                    let items: Vec<_> = (0..n).map(|_| item.clone()).collect();
                    for item in items {
                        ntex::drain(&mut pages);
                        ntex::encode_v5(&c, item, &mut pages);
                    }
                }
            }
        }
        "rmqtt-codec" => match rmqtt::packet(case, version) {
            rmqtt::Packet::V3(p) => {
                let mut c = rmqtt::codec_v3();
                let items: Vec<_> = (0..n).map(|_| p.clone()).collect();
                for item in items {
                    out.clear();
                    rmqtt::encode_v3(&mut c, item, &mut out);
                }
            }
            rmqtt::Packet::V5(p) => {
                let mut c = rmqtt::codec_v5();
                let items: Vec<_> = (0..n).map(|_| p.clone()).collect();
                for item in items {
                    out.clear();
                    rmqtt::encode_v5(&mut c, item, &mut out);
                }
            }
        },
        other => return Err(format!("unknown codec {other}")),
    }
    black_box(out);
    Ok(())
}
