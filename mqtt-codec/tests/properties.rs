//! Property tests: valid packets round-trip, streaming is split-invariant, and arbitrary bytes never panic.

// Helpers outside `#[test]` functions assert with unwrap too.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use bytes::{Bytes, BytesMut};
#[cfg(feature = "tokio-codec")]
use mqtt_codec::MqttCodec;
use mqtt_codec::testing::arb_packet;
use mqtt_codec::{MAX_PACKET_SIZE, Packet, ProtocolVersion};
use proptest::prelude::*;
#[cfg(feature = "tokio-codec")]
use tokio_util::codec::{Decoder, Encoder};

fn versions() -> impl Strategy<Value = ProtocolVersion> {
    prop_oneof![Just(ProtocolVersion::V311), Just(ProtocolVersion::V5)]
}

#[cfg(feature = "tokio-codec")]
fn encode_all(version: ProtocolVersion, packets: &[Packet]) -> BytesMut {
    let mut wire = BytesMut::new();
    for p in packets {
        p.encode(version, &mut wire).unwrap();
    }
    wire
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    /// decode(encode(p)) == p, and `encoded_len` is exactly what `encode` wrote, in 3.1.1...
    #[test]
    fn v311_round_trip(packet in arb_packet(ProtocolVersion::V311)) {
        round_trip(ProtocolVersion::V311, &packet)?;
    }

    /// ...and in 5.0.
    #[test]
    fn v5_round_trip(packet in arb_packet(ProtocolVersion::V5)) {
        round_trip(ProtocolVersion::V5, &packet)?;
    }

}

proptest! {
    // Each case below decodes its stream once per split point, so fewer cases cover as much.
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// The same bytes split at every point yield the same packets through the streaming codec.
    #[cfg(feature = "tokio-codec")]
    #[test]
    fn streaming_is_split_invariant(
        (version, packets) in versions().prop_flat_map(|v| (Just(v), proptest::collection::vec(arb_packet(v), 1..5)))
    ) {
        let wire = encode_all(version, &packets).freeze();
        for split in 0..=wire.len() {
            let mut codec = MqttCodec::client(version);
            codec.set_max_packet_size(MAX_PACKET_SIZE);
            let mut buf = BytesMut::new();
            let mut out = Vec::new();
            for chunk in [&wire[..split], &wire[split..]] {
                buf.extend_from_slice(chunk);
                while let Some(p) = codec.decode(&mut buf).unwrap() {
                    out.push(p);
                }
            }
            prop_assert!(buf.is_empty());
            prop_assert_eq!(&out, &packets);
        }
        // And byte by byte.
        let mut codec = MqttCodec::client(version);
        let mut buf = BytesMut::new();
        let mut out = Vec::new();
        for &b in wire.iter() {
            buf.extend_from_slice(&[b]);
            while let Some(p) = codec.decode(&mut buf).unwrap() {
                out.push(p);
            }
        }
        prop_assert_eq!(&out, &packets);
    }

    /// A server codec learns the version from CONNECT and then decodes the rest in it, wherever the bytes split.
    #[cfg(feature = "tokio-codec")]
    #[test]
    fn server_learns_the_version_at_any_split(
        (version, connect, packets) in versions().prop_flat_map(|v| (
            Just(v),
            mqtt_codec::testing::arb_connect(v),
            proptest::collection::vec(
                arb_packet(v).prop_filter("one CONNECT only", |p| !matches!(p, Packet::Connect(_))),
                0..4,
            ),
        ))
    ) {
        let mut all = vec![Packet::from(connect)];
        all.extend(packets);
        let wire = encode_all(version, &all).freeze();
        for split in 0..=wire.len() {
            let mut server = MqttCodec::server_with_max_packet_size(MAX_PACKET_SIZE);
            let mut buf = BytesMut::new();
            let mut out = Vec::new();
            for chunk in [&wire[..split], &wire[split..]] {
                buf.extend_from_slice(chunk);
                while let Some(p) = server.decode(&mut buf).unwrap() {
                    out.push(p);
                }
            }
            prop_assert_eq!(server.version(), Some(version));
            prop_assert_eq!(&out, &all);
        }
    }

    /// Arbitrary bytes never panic the decoder, in either version, streaming or as a frame.
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        for version in [ProtocolVersion::V311, ProtocolVersion::V5] {
            let _ = Packet::decode_frame(version, Bytes::from(bytes.clone()));
            let mut buf = BytesMut::from(&bytes[..]);
            while let Ok(Some(_)) = Packet::decode(version, &mut buf, 1024) {}
        }
        #[cfg(feature = "tokio-codec")]
        codec_never_panics(&bytes);
    }

    /// Mutating one byte of a valid packet never panics, and whatever still decodes is a valid packet: it
    /// encodes, and decodes back to itself.
    #[test]
    fn mutated_packets_decode_to_valid_packets(
        (version, packet) in versions().prop_flat_map(|v| (Just(v), arb_packet(v))),
        index in any::<prop::sample::Index>(),
        byte in any::<u8>(),
    ) {
        let mut wire = BytesMut::new();
        packet.encode(version, &mut wire).unwrap();
        let i = index.index(wire.len());
        wire[i] = byte;
        if let Ok(p) = Packet::decode_frame(version, wire.freeze()) {
            reencodes(version, &p)?;
        }
    }

    /// The same for arbitrary bytes behind a valid fixed header.
    #[test]
    fn arbitrary_bodies_decode_to_valid_packets(
        version in versions(),
        first in any::<u8>(),
        body in proptest::collection::vec(any::<u8>(), 0..64),
    ) {
        let mut wire = vec![first, body.len() as u8];
        wire.extend_from_slice(&body);
        if let Ok(p) = Packet::decode_frame(version, Bytes::from(wire)) {
            reencodes(version, &p)?;
        }
    }
}

/// A decoded packet must encode (CONNECT in its own version) and decode back to an equal packet.
fn reencodes(version: ProtocolVersion, packet: &Packet) -> Result<(), TestCaseError> {
    let version = match packet {
        Packet::Connect(c) => c.protocol_version,
        _ => version,
    };
    let mut again = BytesMut::new();
    packet.encode(version, &mut again).unwrap();
    prop_assert_eq!(again.len(), packet.encoded_len(version));
    prop_assert_eq!(&Packet::decode_frame(version, again.freeze()).unwrap(), packet);
    Ok(())
}

fn round_trip(version: ProtocolVersion, packet: &Packet) -> Result<(), TestCaseError> {
    let mut wire = BytesMut::new();
    packet.encode(version, &mut wire).unwrap();
    prop_assert_eq!(wire.len(), packet.encoded_len(version));
    let frame = wire.clone().freeze();
    let decoded = Packet::decode(version, &mut wire, MAX_PACKET_SIZE).unwrap().unwrap();
    prop_assert!(wire.is_empty());
    prop_assert_eq!(&decoded, packet);
    prop_assert_eq!(&Packet::decode_frame(version, frame).unwrap(), packet);
    #[cfg(feature = "tokio-codec")]
    codec_encodes_alike(version, packet)?;
    Ok(())
}

/// The streaming server codec never panics on `bytes`.
#[cfg(feature = "tokio-codec")]
fn codec_never_panics(bytes: &[u8]) {
    let mut server = MqttCodec::server();
    let mut buf = BytesMut::from(bytes);
    while let Ok(Some(_)) = server.decode(&mut buf) {}
}

/// The codec's encoder writes the same bytes by reference and by value.
#[cfg(feature = "tokio-codec")]
fn codec_encodes_alike(version: ProtocolVersion, packet: &Packet) -> Result<(), TestCaseError> {
    let mut codec = MqttCodec::client(version);
    let mut a = BytesMut::new();
    codec.encode(packet, &mut a).unwrap();
    let mut b = BytesMut::new();
    codec.encode(packet.clone(), &mut b).unwrap();
    prop_assert_eq!(&a, &b);
    Ok(())
}
