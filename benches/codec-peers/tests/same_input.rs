//! Like with like: every codec decodes the shared wire bytes of every case to the shared field values, and
//! encodes its own packet value of the case to a frame of the same length (byte-identical where the codec
//! writes v5 properties in ascending identifier order, as the reference bytes do).

#[path = "../adapters/mod.rs"]
#[allow(dead_code)] // shared with the benchmark, which uses the encode-side helpers this test does not
mod adapters;

use adapters::{hpmq, ntex, rmqtt, rumqttc};
use hpmq_bench::{Case, MATRIX, Version, frame};

#[test]
fn hpmq_round_trips_the_reference_bytes() {
    for (case, version) in MATRIX {
        let reference = frame(case, version);
        let v = hpmq::version(version);
        let mut buf = hpmq::input(&reference);
        let built = hpmq::packet(case, version);
        assert_eq!(hpmq::decode(v, &mut buf), built, "{case:?} {version:?}");
        assert!(buf.is_empty(), "{case:?} {version:?}: whole frame consumed");
        let mut out = bytes::BytesMut::new();
        hpmq::encode(v, &built, &mut out);
        assert_eq!(built.encoded_len(v), out.len());
        assert_same_frame("hpmq", case, version, &out, &reference);
    }
}

#[test]
fn rumqttc_round_trips_the_reference_bytes() {
    for (case, version) in MATRIX {
        let reference = frame(case, version);
        let mut buf = rumqttc::input(&reference);
        let mut out = bytes::BytesMut::new();
        let built = rumqttc::packet(case, version);
        match (&built, version) {
            (rumqttc::Packet::V4(p), Version::V311) => {
                assert_eq!(&rumqttc::decode_v4(&mut buf), p, "{case:?}");
                rumqttc::encode_v4(p, &mut out);
            }
            (rumqttc::Packet::V5(p), Version::V5) => {
                assert_eq!(&rumqttc::decode_v5(&mut buf), p, "{case:?}");
                rumqttc::encode_v5(p, &mut out);
            }
            _ => unreachable!(),
        }
        assert!(buf.is_empty(), "{case:?} {version:?}: whole frame consumed");
        assert_same_frame("rumqttc", case, version, &out, &reference);
    }
}

#[test]
fn rmqtt_round_trips_the_reference_bytes() {
    for (case, version) in MATRIX {
        let reference = frame(case, version);
        let mut buf = rmqtt::input(&reference);
        let mut out = bytes::BytesMut::new();
        match rmqtt::packet(case, version) {
            rmqtt::Packet::V3(p) => {
                let mut codec = rmqtt::codec_v3();
                assert_eq!(rmqtt::decode_v3(&mut codec, &mut buf), p, "{case:?}");
                rmqtt::encode_v3(&mut codec, p, &mut out);
            }
            rmqtt::Packet::V5(p) => {
                let mut codec = rmqtt::codec_v5();
                assert_eq!(rmqtt::decode_v5(&mut codec, &mut buf), p, "{case:?}");
                rmqtt::encode_v5(&mut codec, p, &mut out);
            }
        }
        assert!(buf.is_empty(), "{case:?} {version:?}: whole frame consumed");
        assert_same_frame("rmqtt", case, version, &out, &reference);
    }
}

#[test]
fn ntex_round_trips_the_reference_bytes() {
    use ntex_mqtt::{v3::codec as v3, v5::codec as v5};
    for (case, version) in MATRIX {
        let reference = frame(case, version);
        let mut buf = ntex::input(&reference);
        let mut out = ntex_bytes::BytePages::default();
        match ntex::packet(case, version) {
            ntex::Packet::V3(item) => {
                let codec = ntex::codec_v3();
                let decoded = ntex::decode_v3(&codec, &mut buf);
                match (&decoded, &item) {
                    (v3::Decoded::Publish(p, payload, _), v3::Encoded::Publish(q, Some(want))) => {
                        assert_eq!((p, payload), (q, want));
                    }
                    (v3::Decoded::Packet(p, _), v3::Encoded::Packet(q)) => assert_eq!(p, q),
                    other => panic!("{case:?}: unexpected {other:?}"),
                }
                ntex::encode_v3(&codec, item, &mut out);
            }
            ntex::Packet::V5(item) => {
                let codec = ntex::codec_v5();
                let decoded = ntex::decode_v5(&codec, &mut buf);
                match (&decoded, &item) {
                    (v5::Decoded::Publish(p, payload, _), v5::Encoded::Publish(q, Some(want))) => {
                        assert_eq!((p, payload), (q, want));
                    }
                    (v5::Decoded::Packet(p, _), v5::Encoded::Packet(q)) => assert_eq!(p, q),
                    other => panic!("{case:?}: unexpected {other:?}"),
                }
                ntex::encode_v5(&codec, item, &mut out);
            }
        }
        assert!(buf.is_empty(), "{case:?} {version:?}: whole frame consumed");
        assert_same_frame("ntex", case, version, &ntex::contents(&mut out), &reference);
    }
}

/// Same length always; same bytes unless the case has v5 properties, whose order a codec may choose.
fn assert_same_frame(codec: &str, case: Case, version: Version, encoded: &[u8], reference: &[u8]) {
    assert_eq!(
        encoded.len(),
        reference.len(),
        "{codec} {case:?} {version:?}: encoded length"
    );
    let has_properties = version == Version::V5 && matches!(case, Case::Connect | Case::PublishQos1Props);
    if !has_properties {
        assert_eq!(encoded, reference, "{codec} {case:?} {version:?}: encoded bytes");
    }
}
