//! Property tests: valid packets round-trip, streaming is split-invariant, and arbitrary bytes never panic.

// Helpers outside `#[test]` functions assert with unwrap too.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use bytes::{Bytes, BytesMut};
use mqtt_codec::testing::arb_packet;
use mqtt_codec::{MAX_PACKET_SIZE, MqttCodec, Packet, ProtocolVersion};
use proptest::prelude::*;
use tokio_util::codec::{Decoder, Encoder};

fn versions() -> impl Strategy<Value = ProtocolVersion> {
    prop_oneof![Just(ProtocolVersion::V311), Just(ProtocolVersion::V5)]
}

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

    /// The same bytes split at every point yield the same packets through the streaming codec.
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

    /// Arbitrary bytes never panic the decoder, in either version, streaming or as a frame.
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        for version in [ProtocolVersion::V311, ProtocolVersion::V5] {
            let _ = Packet::decode_frame(version, Bytes::from(bytes.clone()));
            let mut buf = BytesMut::from(&bytes[..]);
            while let Ok(Some(_)) = Packet::decode(version, &mut buf, 1024) {}
        }
        let mut server = MqttCodec::server();
        let mut buf = BytesMut::from(&bytes[..]);
        while let Ok(Some(_)) = server.decode(&mut buf) {}
    }

    /// Mutating one byte of a valid packet never panics, and whatever decodes re-encodes.
    #[test]
    fn mutated_packets_never_panic(
        (version, packet) in versions().prop_flat_map(|v| (Just(v), arb_packet(v))),
        index in any::<prop::sample::Index>(),
        byte in any::<u8>(),
    ) {
        let mut wire = BytesMut::new();
        packet.encode(version, &mut wire).unwrap();
        let i = index.index(wire.len());
        wire[i] = byte;
        if let Ok(p) = Packet::decode_frame(version, wire.freeze()) {
            let mut again = BytesMut::new();
            // A CONNECT may have changed version; everything else decoded valid must encode.
            if p.encode(version, &mut again).is_ok() {
                prop_assert_eq!(again.len(), p.encoded_len(version));
            }
        }
    }
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
    // Through the codec's encoder too (by reference and by value).
    let mut codec = MqttCodec::client(version);
    let mut a = BytesMut::new();
    codec.encode(packet, &mut a).unwrap();
    let mut b = BytesMut::new();
    codec.encode(packet.clone(), &mut b).unwrap();
    prop_assert_eq!(&a, &b);
    Ok(())
}
