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
    max_packet_size: usize,
    peer_max_packet_size: usize,
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
            max_packet_size: max_packet_size.min(MAX_PACKET_SIZE),
            peer_max_packet_size: MAX_PACKET_SIZE,
        }
    }

    /// A client-side codec speaking `version`, with the default 1 MiB limit on incoming packets.
    pub fn client(version: ProtocolVersion) -> Self {
        MqttCodec {
            version: Some(version),
            server: false,
            connected: true,
            max_packet_size: DEFAULT_MAX_PACKET_SIZE,
            peer_max_packet_size: MAX_PACKET_SIZE,
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
        self.max_packet_size
    }

    /// Sets the limit on incoming packets (capped at [`MAX_PACKET_SIZE`]); announce it to a v5 peer with the
    /// Maximum Packet Size property.
    pub fn set_max_packet_size(&mut self, max_packet_size: usize) {
        self.max_packet_size = max_packet_size.min(MAX_PACKET_SIZE);
    }

    /// Limit on outgoing packets, in bytes.
    pub fn peer_max_packet_size(&self) -> usize {
        self.peer_max_packet_size
    }

    /// Sets the limit on outgoing packets: the Maximum Packet Size the peer announced.
    pub fn set_peer_max_packet_size(&mut self, max_packet_size: usize) {
        self.peer_max_packet_size = max_packet_size.min(MAX_PACKET_SIZE);
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
        if size > self.peer_max_packet_size {
            return Err(Error::PacketTooLarge {
                size,
                max: self.peer_max_packet_size,
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
        let packet = Packet::decode(version, src, self.max_packet_size)?;
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
