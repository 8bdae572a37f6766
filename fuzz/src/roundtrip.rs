//! The `roundtrip` target: whatever decodes must encode, to exactly `encoded_len` bytes, and decode back to
//! the same packet; encoding is canonical (a second round trip gives the same bytes).

use bytes::BytesMut;
use mqtt_codec::{DEFAULT_MAX_PACKET_SIZE, Packet, ProtocolVersion};

/// The first byte picks the version (even: 3.1.1, odd: 5.0); the rest is a stream of packets.
pub fn roundtrip(data: &[u8]) {
    let Some((&selector, stream)) = data.split_first() else {
        return;
    };
    let version = if selector % 2 == 0 {
        ProtocolVersion::V311
    } else {
        ProtocolVersion::V5
    };
    let mut buf = BytesMut::from(stream);
    while let Ok(Some(packet)) = Packet::decode(version, &mut buf, DEFAULT_MAX_PACKET_SIZE) {
        check(version, &packet);
    }
}

fn check(version: ProtocolVersion, packet: &Packet) {
    let len = packet.encoded_len(version);
    let mut wire = BytesMut::new();
    let encoded = packet.encode(version, &mut wire);
    assert_eq!(encoded, Ok(()), "a decoded packet must encode: {packet:?}");
    assert_eq!(wire.len(), len, "encoded_len is not exact for {packet:?}");

    let wire = wire.freeze();
    let again = Packet::decode_frame(version, wire.clone());
    assert_eq!(again.as_ref(), Ok(packet), "decode(encode(p)) != p");

    if let Ok(again) = again {
        let mut second = BytesMut::new();
        assert_eq!(again.encode(version, &mut second), Ok(()));
        assert_eq!(&second[..], &wire[..], "encoding is not canonical for {packet:?}");
    }
}
