//! A new TCP connection up to its CONNECT: connect timeout, connection cap, authentication, client id
//! assignment, then handing it to the session registered under the client id.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use mqtt_codec::{ByteStr, Connect, MqttCodec, Packet, ProtocolVersion, ReasonCode};
use mqtt_session::{Event, ServerSession};
use tokio::net::TcpStream;
use tokio_util::codec::Framed;

use crate::auth::ClientInfo;
use crate::client_id;
use crate::framing::framed;
use crate::mailbox::Attach;
use crate::session::{self, Shared};
use crate::sync::lock;

/// Capacity of the buffer the CONNECT is read into.
const CONNECT_BUFFER: usize = 256;

/// What a new connection sent first (or why it sent nothing).
enum First {
    Connect(Box<Connect>),
    /// Boxed: rare, and the 232 bytes of a packet would sit in every handshake's future.
    Other(Box<Packet>),
    Malformed(mqtt_codec::Error),
    /// End of stream before a packet.
    Closed,
    TimedOut,
    /// The broker is stopping.
    Shutdown,
}

/// Serves one accepted socket until it belongs to a session (or is refused).
///
/// Its future is allocated for every connection while it shakes hands, and a burst of new connections
/// leaves that peak in the task allocator, so it is kept small: refusals run boxed (`Refusal`), the first read is polled by hand, and the handshake's locals live
/// in `handshake`'s future, which a new session's run reuses the room of. That took it from 2,240 to
/// about 730 bytes.
pub(crate) async fn handle(shared: Arc<Shared>, stream: TcpStream, peer: SocketAddr) {
    let starting = handshake(&shared, stream, peer).await;
    // With parking, a new session runs in this task until it parks, which most do right after their CONNACK:
    // a connection that goes idle at once never has a second task (measured: 200 B less resident memory per
    // connection after a burst of 10,000). Without parking, the session's own smaller task keeps running.
    match starting {
        Some(starting) if shared.lot.is_some() => starting.run().await,
        Some(starting) => starting.spawn(),
        None => {}
    }
}

/// Reads, checks and authenticates the CONNECT; `Some` is a new session for it, registered and not yet
/// running (`None`: refused, closed, or given to the live session of its client id).
async fn handshake(shared: &Arc<Shared>, stream: TcpStream, peer: SocketAddr) -> Option<session::Starting> {
    let limits = &shared.config.limits;
    // A small first buffer: the session keeps slices of the CONNECT (client id, will, ...), which pin the
    // buffer they were read into for the connection's life. The codec reserves more for a larger CONNECT;
    // later reads use a buffer that exists only while there is data (see `session::read`).
    let mut framed = framed(
        stream,
        MqttCodec::server_with_max_packet_size(limits.max_packet_size as usize),
        CONNECT_BUFFER,
    );
    let timeout = Duration::from_millis(limits.connect_timeout_ms);
    // Polled by hand rather than with `select!` and `timeout`: the macro keeps its output and the decoded
    // frame side by side in this future (two 232-byte slots), which every connection in its handshake pays.
    let first = {
        let mut sleep = std::pin::pin!(tokio::time::sleep(timeout));
        let mut shutdown = std::pin::pin!(shared.shutdown.notified());
        std::future::poll_fn(|cx| {
            if shutdown.as_mut().poll(cx).is_ready() {
                return Poll::Ready(First::Shutdown);
            }
            if let Poll::Ready(item) = framed.poll_next_unpin(cx) {
                return Poll::Ready(match item {
                    Some(Ok(Packet::Connect(connect))) => First::Connect(connect),
                    Some(Ok(other)) => First::Other(Box::new(other)),
                    Some(Err(error)) => First::Malformed(error),
                    None => First::Closed,
                });
            }
            sleep.as_mut().poll(cx).map(|()| First::TimedOut)
        })
        .await
    };
    let connect = match first {
        First::Connect(connect) => connect,
        First::Other(other) => {
            // Anything else first is a protocol error [MQTT-3.1.0-1]: let a fresh session say so.
            refuse_with(shared, framed, |s, now| {
                let _ = s.handle_packet(now, *other);
            })
            .await;
            return None;
        }
        First::Malformed(mqtt_codec::Error::UnsupportedProtocolVersion { level }) => {
            tracing::debug!(%peer, level, "unsupported protocol level; CONNACK 0x01");
            refuse_version(shared, framed).await;
            return None;
        }
        First::Malformed(error) => {
            tracing::debug!(%peer, %error, "malformed CONNECT");
            refuse_with(shared, framed, |s, now| s.handle_decode_error(now, &error)).await;
            return None;
        }
        First::Closed | First::Shutdown => return None,
        First::TimedOut => {
            tracing::debug!(%peer, "no CONNECT within the connect timeout; closed");
            return None;
        }
    };

    let Some(guard) = shared.connections.acquire() else {
        tracing::warn!(%peer, max = limits.max_connections, "connection cap reached; CONNECT refused");
        refuse(shared, framed, connect, ReasonCode::QuotaExceeded).await;
        return None;
    };

    let username: Option<Arc<str>> = connect.username.as_ref().map(|u| Arc::from(u.as_str()));
    let password = connect.password.clone();
    // Only a password check (argon2, tens of ms of CPU by design) goes to the blocking pool; anonymous
    // clients and refusals that need no hash are decided here.
    let auth = match shared
        .users
        .decide_without_hashing(username.as_deref(), password.as_deref())
    {
        Some(decided) => Ok(decided),
        None => {
            let shared = Arc::clone(shared);
            let username = username.clone();
            tokio::task::spawn_blocking(move || shared.users.authenticate(username.as_deref(), password.as_deref()))
                .await
        }
    };
    match auth {
        Ok(Ok(())) => {}
        Ok(Err(error)) => {
            tracing::info!(%peer, user = username.as_deref(), %error, "authentication failed");
            refuse(shared, framed, connect, error.reason_code()).await;
            return None;
        }
        Err(error) => {
            tracing::error!(%error, "authentication task failed");
            refuse(shared, framed, connect, ReasonCode::ServerUnavailable).await;
            return None;
        }
    }

    let mut assigned = None;
    if connect.client_id.as_str().is_empty() {
        // v5 always may get an assigned id; 3.1.1 only with Clean Session [MQTT-3.1.3-8]. The session puts
        // it in CONNACK (v5 Assigned Client Identifier) when the CONNECT's id is empty.
        if connect.protocol_version == ProtocolVersion::V5 || connect.clean_start {
            assigned = ByteStr::try_from(client_id::assign(shared.next_key())).ok();
        } else {
            refuse(shared, framed, connect, ReasonCode::ClientIdentifierNotValid).await;
            return None;
        }
    }
    let client_id: Arc<str> = Arc::from(assigned.as_ref().unwrap_or(&connect.client_id).as_str());
    let client = ClientInfo {
        client_id: Arc::clone(&client_id),
        username,
        peer_addr: Some(peer),
        protocol_version: match connect.protocol_version {
            ProtocolVersion::V5 => 5,
            _ => 4,
        },
    };
    let attach = Box::new(Attach {
        framed,
        connect,
        client,
        assigned,
        guard,
    });
    session::attach_to(shared, &mut lock(&shared.sessions), client_id, attach)
}

/// Answers a CONNECT with a refusal (CONNACK with `reason`, mapped to a 3.1.1 return code) and closes.
fn refuse(shared: &Shared, framed: Framed<TcpStream, MqttCodec>, connect: Box<Connect>, reason: ReasonCode) -> Refusal {
    refuse_with(shared, framed, |s, now| {
        let _ = s.handle_packet(now, Packet::Connect(connect));
        while let Some(event) = s.poll_event() {
            if let Event::Connect(_) = event {
                let _ = s.reject(now, reason);
            }
        }
    })
}

/// Answers a CONNECT of a protocol level the broker does not speak with CONNACK return code 0x01 in the
/// 3.1.1 layout (3.1 clients read it the same way; MQTT 5 §3.1.2.2 lets a v5 server answer so too) and
/// closes [MQTT-3.1.2-2]. The codec has no version before a decoded CONNECT, so it is given one.
fn refuse_version(shared: &Shared, mut framed: Framed<TcpStream, MqttCodec>) -> Refusal {
    framed.codec_mut().set_version(ProtocolVersion::V311);
    let connack = Box::new(mqtt_codec::ConnAck::new(ReasonCode::UnsupportedProtocolVersion, false));
    let limit = Duration::from_millis(shared.config.limits.write_timeout_ms.max(1));
    Box::pin(async move {
        let _ = tokio::time::timeout(limit, framed.send(Packet::ConnAck(connack))).await;
    })
}

/// Writing a refusal: boxed, because its throwaway session and the connection (about 1.2 KB) would
/// otherwise sit in the future of every handshake, and refusals are rare.
type Refusal = Pin<Box<dyn Future<Output = ()> + Send>>;

/// Runs a throwaway session over the connection for one step; the future writes what it answers.
fn refuse_with(
    shared: &Shared,
    mut framed: Framed<TcpStream, MqttCodec>,
    step: impl FnOnce(&mut ServerSession, Instant),
) -> Refusal {
    let mut s = ServerSession::new(Arc::clone(&shared.server_config));
    step(&mut s, Instant::now());
    let limit = Duration::from_millis(shared.config.limits.write_timeout_ms.max(1));
    Box::pin(async move {
        let write = async {
            while let Some(packet) = s.poll_transmit() {
                framed.feed(packet).await?;
            }
            SinkExt::<Packet>::flush(&mut framed).await?;
            Ok::<(), mqtt_codec::Error>(())
        };
        let _ = tokio::time::timeout(limit, write).await;
    })
}
