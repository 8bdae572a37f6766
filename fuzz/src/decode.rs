//! The `decode_v311` and `decode_v5` targets: arbitrary bytes through every decoding entry point of one
//! protocol version. Besides "never panics", the entry points must agree with each other.

use bytes::{Bytes, BytesMut};
use mqtt_codec::{DEFAULT_MAX_PACKET_SIZE, Error, MqttCodec, Packet, ProtocolVersion};
use tokio_util::codec::Decoder;

/// Decodes `data` as a stream of MQTT 3.1.1 packets.
pub fn decode_v311(data: &[u8]) {
    decode(ProtocolVersion::V311, data);
}

/// Decodes `data` as a stream of MQTT 5.0 packets.
pub fn decode_v5(data: &[u8]) {
    decode(ProtocolVersion::V5, data);
}

/// How decoding a stream ended.
#[derive(Debug, PartialEq)]
enum End {
    /// Every byte was consumed.
    Complete,
    /// The rest is an incomplete packet.
    NeedMore,
    /// The stream is malformed.
    Failed(Error),
}

/// Every packet `Packet::decode` finds in `data` when it arrives in pieces cut at `cuts`, and how it ends.
fn decode_stream(version: ProtocolVersion, data: &[u8], cuts: &[usize]) -> (Vec<Packet>, End) {
    let mut packets = Vec::new();
    let mut buf = BytesMut::new();
    let mut fed = 0;
    for &cut in cuts.iter().chain(std::iter::once(&data.len())) {
        let cut = cut.clamp(fed, data.len());
        buf.extend_from_slice(data.get(fed..cut).unwrap_or_default());
        fed = cut;
        loop {
            match Packet::decode(version, &mut buf, DEFAULT_MAX_PACKET_SIZE) {
                Ok(Some(packet)) => packets.push(packet),
                Ok(None) => break,
                Err(e) => return (packets, End::Failed(e)),
            }
        }
    }
    let end = if buf.is_empty() { End::Complete } else { End::NeedMore };
    (packets, end)
}

fn decode(version: ProtocolVersion, data: &[u8]) {
    // All at once.
    let (packets, end) = decode_stream(version, data, &[]);

    // The same bytes arriving in three pieces (cut points taken from the input) give the same packets and
    // end the same way: the decoder keeps no state between calls but the buffer.
    let len = data.len();
    let a = data.first().map_or(0, |&b| usize::from(b) % (len + 1));
    let b = data.last().map_or(0, |&b| usize::from(b).wrapping_mul(7) % (len + 1));
    let cuts = [a.min(b), a.max(b)];
    assert_eq!(
        decode_stream(version, data, &cuts),
        (packets.clone(), end_clone(&end)),
        "cut at {cuts:?}"
    );

    // A whole single frame decodes the same through `decode_frame`.
    let frame = Packet::decode_frame(version, Bytes::copy_from_slice(data));
    if let ([only], End::Complete) = (packets.as_slice(), &end) {
        assert_eq!(frame.as_ref(), Ok(only), "decode_frame disagrees with decode");
    }

    // The tokio-util codec yields the same packets; on the server side it learns the version from CONNECT
    // and refuses anything else first, so only the client side (version given) is compared.
    let mut codec = MqttCodec::client(version);
    let mut buf = BytesMut::from(data);
    let mut from_codec = Vec::new();
    while let Ok(Some(packet)) = codec.decode(&mut buf) {
        from_codec.push(packet);
    }
    assert_eq!(from_codec, packets, "MqttCodec disagrees with Packet::decode");

    let mut server = MqttCodec::server();
    let mut buf = BytesMut::from(data);
    while let Ok(Some(_)) = server.decode(&mut buf) {}
}

fn end_clone(end: &End) -> End {
    match end {
        End::Complete => End::Complete,
        End::NeedMore => End::NeedMore,
        End::Failed(e) => End::Failed(e.clone()),
    }
}
