//! [`MqttCodec`]: the tokio-util `Decoder`/`Encoder` that frames packets on a byte stream.

use bytes::BytesMut;
use tokio_util::codec::{Decoder, Encoder};

use crate::header::PacketType;
use crate::packet::{DEFAULT_MAX_PACKET_SIZE, MAX_PACKET_SIZE};
use crate::{Error, Packet, ProtocolVersion};

/// Frames MQTT packets for `tokio_util::codec::Framed`.
///
/// A server-side codec starts without a version: the first packet must be CONNECT [MQTT-3.1.0-1], and the
/// codec then speaks the version CONNECT named; a second CONNECT is an error [MQTT-3.1.0-2]. A client-side
/// codec is told its version up front.
///
/// The decoder never buffers more than the maximum packet size: a fixed header announcing a larger packet is
/// refused at once ([`Error::PacketTooLarge`]), before its body is read. The default limit is
/// [`DEFAULT_MAX_PACKET_SIZE`] (1 MiB). The encoder refuses packets larger than the peer's limit, which starts
/// at the protocol maximum and is lowered with [`MqttCodec::set_peer_max_packet_size`] (from the v5 Maximum
/// Packet Size property).
///
/// ```
/// use bytes::BytesMut;
/// use mqtt_codec::{ByteStr, Connect, MqttCodec, Packet, ProtocolVersion};
/// use tokio_util::codec::{Decoder, Encoder};
///
/// let mut client = MqttCodec::client(ProtocolVersion::V311);
/// let mut wire = BytesMut::new();
/// client.encode(Packet::from(Connect::new(ByteStr::from_static("c1")).version(ProtocolVersion::V311)), &mut wire).unwrap();
///
/// let mut server = MqttCodec::server();
/// assert!(matches!(server.decode(&mut wire).unwrap(), Some(Packet::Connect(_))));
/// assert_eq!(server.version(), Some(ProtocolVersion::V311));
/// ```
#[derive(Debug, Clone)]
pub struct MqttCodec {
    version: Option<ProtocolVersion>,
    server: bool,
    connected: bool,
    /// Stored as `u32` ([`MAX_PACKET_SIZE`] fits): a broker keeps a codec per parked connection, so its size
    /// is paid per idle client.
    max_packet_size: u32,
    peer_max_packet_size: u32,
}

/// `size` capped at [`MAX_PACKET_SIZE`], which fits a `u32`.
fn capped(size: usize) -> u32 {
    u32::try_from(size.min(MAX_PACKET_SIZE)).unwrap_or(u32::MAX)
}

impl MqttCodec {
    /// A server-side codec with the default 1 MiB limit on incoming packets.
    pub fn server() -> Self {
        MqttCodec::server_with_max_packet_size(DEFAULT_MAX_PACKET_SIZE)
    }

    /// A server-side codec that refuses incoming packets larger than `max_packet_size` bytes (total size;
    /// capped at [`MAX_PACKET_SIZE`]).
    pub fn server_with_max_packet_size(max_packet_size: usize) -> Self {
        MqttCodec {
            version: None,
            server: true,
            connected: false,
            max_packet_size: capped(max_packet_size),
            peer_max_packet_size: capped(MAX_PACKET_SIZE),
        }
    }

    /// A client-side codec speaking `version`, with the default 1 MiB limit on incoming packets.
    pub fn client(version: ProtocolVersion) -> Self {
        MqttCodec {
            version: Some(version),
            server: false,
            connected: true,
            max_packet_size: capped(DEFAULT_MAX_PACKET_SIZE),
            peer_max_packet_size: capped(MAX_PACKET_SIZE),
        }
    }

    /// The protocol version in use; `None` on a server before CONNECT.
    pub fn version(&self) -> Option<ProtocolVersion> {
        self.version
    }

    /// Sets the protocol version, e.g. for a server that must answer a CONNECT it could not decode.
    pub fn set_version(&mut self, version: ProtocolVersion) {
        self.version = Some(version);
    }

    /// Limit on incoming packets, in bytes.
    pub fn max_packet_size(&self) -> usize {
        self.max_packet_size as usize
    }

    /// Sets the limit on incoming packets (capped at [`MAX_PACKET_SIZE`]); announce it to a v5 peer with the
    /// Maximum Packet Size property.
    pub fn set_max_packet_size(&mut self, max_packet_size: usize) {
        self.max_packet_size = capped(max_packet_size);
    }

    /// Limit on outgoing packets, in bytes.
    pub fn peer_max_packet_size(&self) -> usize {
        self.peer_max_packet_size as usize
    }

    /// Sets the limit on outgoing packets: the Maximum Packet Size the peer announced.
    pub fn set_peer_max_packet_size(&mut self, max_packet_size: usize) {
        self.peer_max_packet_size = capped(max_packet_size);
    }

    fn encode_packet(&mut self, item: &Packet, dst: &mut BytesMut) -> Result<(), Error> {
        let version = match (item, self.version) {
            (Packet::Connect(c), Some(codec)) if !self.server && c.protocol_version != codec => {
                return Err(Error::ConnectVersionMismatch {
                    connect: c.protocol_version,
                    codec,
                });
            }
            (Packet::Connect(c), _) => c.protocol_version,
            (_, Some(version)) => version,
            (_, None) => return Err(Error::VersionUnknown),
        };
        let size = item.encoded_len(version);
        if size > self.peer_max_packet_size() {
            return Err(Error::PacketTooLarge {
                size,
                max: self.peer_max_packet_size(),
            });
        }
        item.encode(version, dst)
    }
}

impl Decoder for MqttCodec {
    type Item = Packet;
    type Error = Error;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Packet>, Error> {
        if !self.connected {
            // Refuse anything but CONNECT from its first byte, before buffering it.
            if let Some(&first) = src.first() {
                let packet = PacketType::from_first_byte(first, ProtocolVersion::V5)?;
                if packet != PacketType::Connect {
                    return Err(Error::FirstPacketNotConnect { packet });
                }
            }
        }
        // CONNECT carries its own version, so any version does before it.
        let version = self.version.unwrap_or(ProtocolVersion::V5);
        let packet = Packet::decode(version, src, self.max_packet_size())?;
        if let Some(Packet::Connect(connect)) = &packet
            && self.server
        {
            if self.connected {
                return Err(Error::SecondConnect);
            }
            self.connected = true;
            self.version = Some(connect.protocol_version);
        }
        Ok(packet)
    }
}

impl Encoder<Packet> for MqttCodec {
    type Error = Error;

    fn encode(&mut self, item: Packet, dst: &mut BytesMut) -> Result<(), Error> {
        self.encode_packet(&item, dst)
    }
}

impl Encoder<&Packet> for MqttCodec {
    type Error = Error;

    fn encode(&mut self, item: &Packet, dst: &mut BytesMut) -> Result<(), Error> {
        self.encode_packet(item, dst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ByteStr, Connect, PacketId, Publish, QoS, TopicName};

    fn publish(payload_len: usize) -> Packet {
        Packet::Publish(
            Publish::new(TopicName::from_static("t"), vec![0u8; payload_len]).qos(QoS::AtLeastOnce, PacketId::MIN),
        )
    }

    #[test]
    fn encoder_respects_the_peer_limit() {
        let mut codec = MqttCodec::client(ProtocolVersion::V5);
        codec.set_peer_max_packet_size(20);
        let mut out = BytesMut::new();
        // 2 header + 3 topic + 2 id + 1 property length + 12 payload = 20.
        codec.encode(publish(12), &mut out).unwrap();
        assert_eq!(out.len(), 20);
        assert_eq!(
            codec.encode(publish(13), &mut out),
            Err(Error::PacketTooLarge { size: 21, max: 20 })
        );
        assert_eq!(out.len(), 20);
    }

    #[test]
    fn server_needs_connect_before_encoding() {
        let mut server = MqttCodec::server();
        let mut out = BytesMut::new();
        assert_eq!(server.encode(Packet::PingResp, &mut out), Err(Error::VersionUnknown));
        // A server that could not decode CONNECT may still answer in a version it picks.
        server.set_version(ProtocolVersion::V311);
        server.encode(Packet::PingResp, &mut out).unwrap();
        assert_eq!(&out[..], b"\xD0\x00");
    }

    #[test]
    fn client_refuses_a_connect_of_another_version() {
        let mut client = MqttCodec::client(ProtocolVersion::V5);
        let mut out = BytesMut::new();
        let connect = Connect::new(ByteStr::from_static("c")).version(ProtocolVersion::V311);
        assert_eq!(
            client.encode(Packet::from(connect), &mut out),
            Err(Error::ConnectVersionMismatch {
                connect: ProtocolVersion::V311,
                codec: ProtocolVersion::V5
            })
        );
    }

    #[test]
    fn limits_are_capped_at_the_protocol_maximum() {
        let mut codec = MqttCodec::server_with_max_packet_size(usize::MAX);
        assert_eq!(codec.max_packet_size(), MAX_PACKET_SIZE);
        codec.set_max_packet_size(10);
        assert_eq!(codec.max_packet_size(), 10);
        assert_eq!(MqttCodec::server().max_packet_size(), DEFAULT_MAX_PACKET_SIZE);
        assert_eq!(MqttCodec::server().peer_max_packet_size(), MAX_PACKET_SIZE);
        codec.set_peer_max_packet_size(usize::MAX);
        assert_eq!(codec.peer_max_packet_size(), MAX_PACKET_SIZE);
        codec.set_peer_max_packet_size(MAX_PACKET_SIZE - 1);
        assert_eq!(codec.peer_max_packet_size(), MAX_PACKET_SIZE - 1);
    }

    /// A broker keeps one codec per parked connection.
    #[test]
    fn codec_is_twelve_bytes_or_less() {
        assert!(std::mem::size_of::<MqttCodec>() <= 12);
    }

    #[test]
    fn server_learns_v5_and_decodes_in_it() {
        let mut client = MqttCodec::client(ProtocolVersion::V5);
        let mut wire = BytesMut::new();
        client
            .encode(Packet::from(Connect::new(ByteStr::from_static("c"))), &mut wire)
            .unwrap();
        client.encode(publish(3), &mut wire).unwrap();
        let mut server = MqttCodec::server();
        assert!(matches!(server.decode(&mut wire), Ok(Some(Packet::Connect(_)))));
        assert_eq!(server.version(), Some(ProtocolVersion::V5));
        assert_eq!(server.decode(&mut wire), Ok(Some(publish(3))));
        assert_eq!(server.decode(&mut wire), Ok(None));
    }
}
