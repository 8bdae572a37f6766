//! Reading: frames from the socket through the codec into the session.

use std::task::{Context, Poll};
use std::time::Instant;

use bytes::BytesMut;
use futures_util::{FutureExt, StreamExt};
use mqtt_codec::Packet;

use super::task::{BATCH, SessionTask};
use crate::framing::{Conn, READ_BUFFER};
use crate::sys::Stats;

/// A frame read from the connection.
enum Frame {
    Packet(Packet),
    Error(mqtt_codec::Error),
    Eof,
}

fn frame(item: Option<Result<Packet, mqtt_codec::Error>>) -> Frame {
    match item {
        Some(Ok(packet)) => Frame::Packet(packet),
        Some(Err(e)) => Frame::Error(e),
        None => Frame::Eof,
    }
}

/// The next frame from the connection (never ready without one). A connection with nothing to read holds no
/// read buffer: when a read finds no data and no partial packet, the buffer is given back and the task waits
/// for readability without one (an idle connection would otherwise keep most of its memory in it); the next
/// data gets a fresh buffer.
fn poll_frame(conn: &mut Option<Box<Conn>>, cx: &mut Context<'_>) -> Poll<Frame> {
    let Some(framed) = conn else {
        return Poll::Pending;
    };
    loop {
        if framed.read_buffer().capacity() == 0 {
            match framed.get_ref().poll_read_ready(cx) {
                Poll::Pending => return Poll::Pending,
                // Readable, or an error that the read below reports.
                Poll::Ready(_) => framed.read_buffer_mut().reserve(READ_BUFFER),
            }
        }
        match framed.poll_next_unpin(cx) {
            Poll::Ready(item) => return Poll::Ready(frame(item)),
            // Only an empty buffer can go: a partly read packet stays.
            Poll::Pending if framed.read_buffer().is_empty() => *framed.read_buffer_mut() = BytesMut::new(),
            Poll::Pending => return Poll::Pending,
        }
    }
}

impl SessionTask {
    /// Reads what the connection has (never ready without a frame): the next frame, fed to the session,
    /// then, while the connection may carry more, the packets already readable (at most a batch), so their
    /// answers and the deliveries they cause go out in one write instead of one write per packet.
    pub(super) fn poll_read(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let Poll::Ready(frame) = poll_frame(&mut self.conn, cx) else {
            return Poll::Pending;
        };
        if self.on_frame(frame) {
            self.read_ready();
        }
        Poll::Ready(())
    }

    /// Feeds one frame to the session; true while the connection may carry more packets.
    fn on_frame(&mut self, frame: Frame) -> bool {
        let now = Instant::now();
        match frame {
            Frame::Packet(packet) => {
                let size = packet.encoded_len(self.session.protocol_version());
                Stats::add(&self.shared.stats.bytes_received, size as u64);
                if let Err(error) = self.session.handle_packet(now, packet) {
                    tracing::debug!(%error, client_id = &*self.info.client_id, "protocol error; connection closed");
                    return false;
                }
                self.session.is_connected()
            }
            Frame::Error(mqtt_codec::Error::Io { .. }) | Frame::Eof => {
                self.session.connection_lost(now);
                false
            }
            Frame::Error(error) => {
                tracing::debug!(%error, client_id = &*self.info.client_id, "malformed packet; connection closed");
                self.session.handle_decode_error(now, &error);
                false
            }
        }
    }

    /// Feeds the packets that are already readable without waiting (at most a batch), so their answers
    /// and the deliveries they cause go out in one write instead of one write per packet.
    fn read_ready(&mut self) {
        for _ in 1..BATCH {
            let Some(framed) = self.conn.as_mut() else { return };
            let Some(item) = framed.next().now_or_never() else {
                return;
            };
            if !self.on_frame(frame(item)) {
                return;
            }
        }
    }
}
