//! Writing: the session's packets through the codec onto the socket, within the write timeout.

use std::pin::Pin;
use std::task::Poll;
use std::time::Instant;

use bytes::BytesMut;
use futures_util::Sink;
use mqtt_codec::Packet;
use tokio_util::codec::Encoder;

use super::task::{SessionTask, arm};
use crate::framing::WRITE_BUFFER;
use crate::sys::Stats;

impl SessionTask {
    /// Writes every pending packet; false when the connection failed or stalled past the write timeout.
    ///
    /// Packets are encoded straight into the write buffer and written with one system call per buffer
    /// (at most [`WRITE_BUFFER`] bytes are encoded ahead of a write); no packet is held across an await,
    /// which keeps the session task's future (allocated once per connection) small.
    pub(super) async fn write_out(&mut self) -> bool {
        let Some(framed) = self.conn.as_mut() else {
            while self.session.poll_transmit().is_some() {}
            return true;
        };
        let session = &mut self.session;
        let timer = &mut self.timer;
        let stats = &self.shared.stats;
        let timeout = std::time::Duration::from_millis(self.shared.config.limits.write_timeout_ms.max(1));
        let version = session.protocol_version();
        // Encoding reads the codec's version and peer limit only; a copy lets it write into the buffer.
        let mut codec = framed.codec().clone();
        // Set when a write first has to wait: a socket that takes the bytes at once never touches the timer.
        let mut deadline = None;
        let written = async {
            let mut any = false;
            loop {
                while framed.write_buffer().len() < WRITE_BUFFER {
                    let Some(packet) = session.poll_transmit() else { break };
                    let len = packet.encoded_len(version);
                    let buffer = framed.write_buffer_mut();
                    if !any {
                        // Room for this packet only: a lone answer (a CONNACK, a PINGRESP, an ack) does not
                        // take a full write buffer for a moment, which left holes in the heap between the
                        // sessions of a burst of new connections.
                        buffer.reserve(len);
                        any = true;
                    } else if buffer.capacity() < WRITE_BUFFER {
                        // A batch: room for one full write at once.
                        buffer.reserve(WRITE_BUFFER.saturating_sub(buffer.len()).max(len));
                    }
                    if let Packet::Publish(_) = &packet {
                        Stats::add(&stats.messages_sent, 1);
                    }
                    Stats::add(&stats.bytes_sent, len as u64);
                    Encoder::<&Packet>::encode(&mut codec, &packet, framed.write_buffer_mut())?;
                }
                if framed.write_buffer().is_empty() {
                    break;
                }
                let flushed = std::future::poll_fn(|cx| match Sink::<Packet>::poll_flush(Pin::new(&mut *framed), cx) {
                    Poll::Ready(result) => Poll::Ready(Some(result)),
                    Poll::Pending => {
                        let at = *deadline.get_or_insert_with(|| Instant::now() + timeout);
                        arm(timer, at).poll(cx).map(|()| None)
                    }
                })
                .await;
                match flushed {
                    Some(result) => result?,
                    None => return Ok(false),
                }
            }
            if any {
                // Written out: give the buffer back rather than keep it for an idle connection.
                *framed.write_buffer_mut() = BytesMut::new();
            }
            Ok::<bool, mqtt_codec::Error>(true)
        };
        match written.await {
            Ok(true) => true,
            Ok(false) => {
                tracing::info!(
                    client_id = &*self.info.client_id,
                    "client stopped reading; connection dropped"
                );
                false
            }
            Err(error) => {
                tracing::debug!(%error, client_id = &*self.info.client_id, "write failed");
                false
            }
        }
    }
}
