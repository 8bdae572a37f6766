//! [`Packet`]: any MQTT control packet, and the entry points that decode and encode frames.

use bytes::{Buf, Bytes, BytesMut};

use crate::field::Reader;
use crate::header::FixedHeader;
use crate::{
    Auth, ConnAck, Connect, Disconnect, Error, PacketType, ProtocolVersion, PubAck, PubComp, PubRec, PubRel, Publish,
    SubAck, Subscribe, UnsubAck, Unsubscribe, ping,
};

/// Largest packet the wire format can express: a 5-byte fixed header plus 268,435,455 bytes.
pub const MAX_PACKET_SIZE: usize = 5 + crate::MAX_VARIABLE_INT as usize;

/// Default maximum packet size for decoding: 1 MiB. Raise it (up to [`MAX_PACKET_SIZE`]) when peers send more.
pub const DEFAULT_MAX_PACKET_SIZE: usize = 1024 * 1024;

/// An MQTT control packet of either protocol version.
///
/// CONNECT and CONNACK are boxed: they are large and rare, and keeping them out of line keeps `Packet` small for
/// the packets that flow all the time. PUBLISH is stored inline so decoding it allocates nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Packet {
    /// CONNECT.
    Connect(Box<Connect>),
    /// CONNACK.
    ConnAck(Box<ConnAck>),
    /// PUBLISH.
    Publish(Publish),
    /// PUBACK.
    PubAck(PubAck),
    /// PUBREC.
    PubRec(PubRec),
    /// PUBREL.
    PubRel(PubRel),
    /// PUBCOMP.
    PubComp(PubComp),
    /// SUBSCRIBE.
    Subscribe(Subscribe),
    /// SUBACK.
    SubAck(SubAck),
    /// UNSUBSCRIBE.
    Unsubscribe(Unsubscribe),
    /// UNSUBACK.
    UnsubAck(UnsubAck),
    /// PINGREQ.
    PingReq,
    /// PINGRESP.
    PingResp,
    /// DISCONNECT.
    Disconnect(Disconnect),
    /// AUTH (MQTT 5.0 only).
    Auth(Auth),
}

impl Packet {
    /// The packet's type.
    pub fn packet_type(&self) -> PacketType {
        match self {
            Packet::Connect(_) => PacketType::Connect,
            Packet::ConnAck(_) => PacketType::ConnAck,
            Packet::Publish(_) => PacketType::Publish,
            Packet::PubAck(_) => PacketType::PubAck,
            Packet::PubRec(_) => PacketType::PubRec,
            Packet::PubRel(_) => PacketType::PubRel,
            Packet::PubComp(_) => PacketType::PubComp,
            Packet::Subscribe(_) => PacketType::Subscribe,
            Packet::SubAck(_) => PacketType::SubAck,
            Packet::Unsubscribe(_) => PacketType::Unsubscribe,
            Packet::UnsubAck(_) => PacketType::UnsubAck,
            Packet::PingReq => PacketType::PingReq,
            Packet::PingResp => PacketType::PingResp,
            Packet::Disconnect(_) => PacketType::Disconnect,
            Packet::Auth(_) => PacketType::Auth,
        }
    }

    /// Decodes the next packet from a stream buffer.
    ///
    /// Returns `Ok(None)` until a whole packet is buffered, after reserving room for the rest of it. The fixed
    /// header is checked as soon as it is complete: wrong type or flags, and a packet larger than
    /// `max_packet_size` (total size, fixed header included), fail before the body is buffered. On success the
    /// frame is split off `buf` and frozen once; every string, binary field and payload of the packet is a view
    /// of it. CONNECT is decoded in the version it names, whatever `version` says.
    ///
    /// Splitting the first frame off a freshly allocated `BytesMut` turns its storage into shared storage
    /// (one allocation, the `bytes` crate's doing); after that, decoding a PUBLISH without properties
    /// allocates nothing.
    pub fn decode(
        version: ProtocolVersion,
        buf: &mut BytesMut,
        max_packet_size: usize,
    ) -> Result<Option<Packet>, Error> {
        let Some(header) = FixedHeader::parse(buf, version)? else {
            return Ok(None);
        };
        let size = header.packet_len();
        if size > max_packet_size {
            return Err(Error::PacketTooLarge {
                size,
                max: max_packet_size,
            });
        }
        if buf.len() < size {
            buf.reserve(size - buf.len());
            return Ok(None);
        }
        let mut frame = buf.split_to(size).freeze();
        frame.advance(header.header_len);
        Packet::decode_body(version, header, frame).map(Some)
    }

    /// Decodes one complete frame, fixed header included. The packet's fields are views of `frame`.
    ///
    /// Taking views of a `Bytes` that still owns a plain `Vec` (`Bytes::from(vec)`, or a frozen `BytesMut`
    /// that was never split) makes `bytes` allocate its shared header once for that buffer; frames split off
    /// a stream buffer, as [`Packet::decode`] does, are already shared and decode without allocating.
    pub fn decode_frame(version: ProtocolVersion, mut frame: Bytes) -> Result<Packet, Error> {
        let header = FixedHeader::parse(&frame, version)?.ok_or(Error::FrameLengthMismatch {
            frame: frame.len(),
            expected: frame.len() + 1,
        })?;
        if header.packet_len() != frame.len() {
            return Err(Error::FrameLengthMismatch {
                frame: frame.len(),
                expected: header.packet_len(),
            });
        }
        frame.advance(header.header_len);
        Packet::decode_body(version, header, frame)
    }

    #[inline]
    fn decode_body(version: ProtocolVersion, header: FixedHeader, body: Bytes) -> Result<Packet, Error> {
        let r = Reader::new(body, header.packet_type);
        Ok(match header.packet_type {
            PacketType::Connect => Packet::Connect(Box::new(Connect::decode(r)?)),
            PacketType::ConnAck => Packet::ConnAck(Box::new(ConnAck::decode(version, r)?)),
            PacketType::Publish => Packet::Publish(Publish::decode(version, header.flags, r)?),
            PacketType::PubAck => Packet::PubAck(PubAck::decode(version, r)?),
            PacketType::PubRec => Packet::PubRec(PubRec::decode(version, r)?),
            PacketType::PubRel => Packet::PubRel(PubRel::decode(version, r)?),
            PacketType::PubComp => Packet::PubComp(PubComp::decode(version, r)?),
            PacketType::Subscribe => Packet::Subscribe(Subscribe::decode(version, r)?),
            PacketType::SubAck => Packet::SubAck(SubAck::decode(version, r)?),
            PacketType::Unsubscribe => Packet::Unsubscribe(Unsubscribe::decode(version, r)?),
            PacketType::UnsubAck => Packet::UnsubAck(UnsubAck::decode(version, r)?),
            PacketType::PingReq => {
                ping::decode(r)?;
                Packet::PingReq
            }
            PacketType::PingResp => {
                ping::decode(r)?;
                Packet::PingResp
            }
            PacketType::Disconnect => Packet::Disconnect(Disconnect::decode(version, r)?),
            PacketType::Auth => Packet::Auth(Auth::decode(r)?),
        })
    }

    /// Exact number of bytes [`Packet::encode`] writes (CONNECT: in its own version).
    pub fn encoded_len(&self, version: ProtocolVersion) -> usize {
        match self {
            Packet::Connect(p) => p.encoded_len(),
            Packet::ConnAck(p) => p.encoded_len(version),
            Packet::Publish(p) => p.encoded_len(version),
            Packet::PubAck(p) => p.encoded_len(version),
            Packet::PubRec(p) => p.encoded_len(version),
            Packet::PubRel(p) => p.encoded_len(version),
            Packet::PubComp(p) => p.encoded_len(version),
            Packet::Subscribe(p) => p.encoded_len(version),
            Packet::SubAck(p) => p.encoded_len(version),
            Packet::Unsubscribe(p) => p.encoded_len(version),
            Packet::UnsubAck(p) => p.encoded_len(version),
            Packet::PingReq | Packet::PingResp => ping::LEN,
            Packet::Disconnect(p) => p.encoded_len(version),
            Packet::Auth(p) => p.encoded_len(),
        }
    }

    /// Appends the packet to `dst`, reserving its exact size once. CONNECT is written in its own
    /// `protocol_version`; v5-only fields of other packets are left out in 3.1.1 (see each packet's docs).
    ///
    /// On error nothing is appended (as for every packet's own `encode`).
    pub fn encode(&self, version: ProtocolVersion, dst: &mut BytesMut) -> Result<(), Error> {
        match self {
            Packet::Connect(p) => p.encode(dst),
            Packet::ConnAck(p) => p.encode(version, dst),
            Packet::Publish(p) => p.encode(version, dst),
            Packet::PubAck(p) => p.encode(version, dst),
            Packet::PubRec(p) => p.encode(version, dst),
            Packet::PubRel(p) => p.encode(version, dst),
            Packet::PubComp(p) => p.encode(version, dst),
            Packet::Subscribe(p) => p.encode(version, dst),
            Packet::SubAck(p) => p.encode(version, dst),
            Packet::Unsubscribe(p) => p.encode(version, dst),
            Packet::UnsubAck(p) => p.encode(version, dst),
            Packet::PingReq => ping::encode(PacketType::PingReq, dst),
            Packet::PingResp => ping::encode(PacketType::PingResp, dst),
            Packet::Disconnect(p) => p.encode(version, dst),
            Packet::Auth(p) => p.encode(version, dst),
        }
    }
}

macro_rules! from_packet {
    ($($ty:ident => $variant:ident),* $(,)?) => {
        $(impl From<$ty> for Packet {
            fn from(p: $ty) -> Packet {
                Packet::$variant(p)
            }
        })*
    };
}

from_packet!(
    Publish => Publish, PubAck => PubAck, PubRec => PubRec, PubRel => PubRel, PubComp => PubComp,
    Subscribe => Subscribe, SubAck => SubAck, Unsubscribe => Unsubscribe, UnsubAck => UnsubAck,
    Disconnect => Disconnect, Auth => Auth,
);

impl From<Connect> for Packet {
    fn from(p: Connect) -> Packet {
        Packet::Connect(Box::new(p))
    }
}

impl From<ConnAck> for Packet {
    fn from(p: ConnAck) -> Packet {
        Packet::ConnAck(Box::new(p))
    }
}

/// Test helper for the per-packet vector tests.
#[cfg(test)]
pub(crate) mod vectors {
    use bytes::{Bytes, BytesMut};

    use crate::{Packet, ProtocolVersion};

    /// Asserts that `packet` encodes to exactly `wire` in `version` (with `encoded_len` agreeing) and that
    /// `wire` decodes back to `packet`, both as a frame and from a stream buffer.
    pub(crate) fn assert_wire(version: ProtocolVersion, packet: impl Into<Packet>, wire: &[u8]) {
        let packet = packet.into();
        let mut out = BytesMut::new();
        packet.encode(version, &mut out).unwrap();
        assert_eq!(&out[..], wire, "encoding {packet:?} in {version}");
        assert_eq!(packet.encoded_len(version), wire.len());
        assert_eq!(assert_decodes(version, wire), packet);
    }

    /// Decodes `wire` as a frame and as a stream and checks both agree.
    pub(crate) fn assert_decodes(version: ProtocolVersion, wire: &[u8]) -> Packet {
        let framed = Packet::decode_frame(version, Bytes::copy_from_slice(wire)).unwrap();
        let mut buf = BytesMut::from(wire);
        let streamed = Packet::decode(version, &mut buf, crate::MAX_PACKET_SIZE)
            .unwrap()
            .unwrap();
        assert!(buf.is_empty());
        assert_eq!(framed, streamed);
        framed
    }
}
