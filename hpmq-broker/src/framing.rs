//! A connection's framing: the codec over the socket, and how much buffer it holds when.

use bytes::BytesMut;
use mqtt_codec::MqttCodec;
use tokio::net::TcpStream;
use tokio_util::codec::Framed;

/// Bytes read per system call while a connection is busy (the buffer exists only while there is data).
pub(crate) const READ_BUFFER: usize = 8 * 1024;

/// Bytes of packets written per system call at most; the write buffer grows up to this and is released
/// once written.
pub(crate) const WRITE_BUFFER: usize = 8 * 1024;

/// A connection as the broker drives it: MQTT packets over a TCP socket.
pub(crate) type Conn = Framed<TcpStream, MqttCodec>;

/// A connection's framing with a read buffer of `read_capacity` bytes (0: none until there is data) and no
/// write buffer until there is something to write. `Framed` always makes an 8 KiB write buffer (and
/// `from_parts` grows both buffers to 8 KiB); dropped at once it is reused by the next connection, while held
/// through a handshake or a resume it made every connection in flight cost 16 KiB, a peak the heap keeps
/// after a burst of connections (see BENCHMARKS.md, "Memory per idle connection, 2026-12-04").
pub(crate) fn framed(io: TcpStream, codec: MqttCodec, read_capacity: usize) -> Conn {
    let mut conn = Framed::with_capacity(io, codec, read_capacity);
    *conn.write_buffer_mut() = BytesMut::new();
    conn.set_backpressure_boundary(WRITE_BUFFER);
    conn
}
