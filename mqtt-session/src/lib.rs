//! Sans-IO MQTT 3.1.1 / 5.0 session and QoS state machine, in the style of `quinn-proto` and `rustls`.
//!
//! Decoded packets, routed messages and the current time go in; packets to write, events for the broker and
//! the next deadline come out. Nothing here reads a clock, touches a socket, spawns or locks, so every scenario
//! is a deterministic test.
//!
//! A broker drives one [`ServerSession`] per client session like this (the socket and codec around it are the
//! broker's):
//!
//! ```
//! use std::time::{Duration, Instant};
//! use mqtt_codec::{ByteStr, Connect, Packet, PacketId, PubAck, Publish, QoS, ReasonCode, TopicName};
//! use mqtt_session::{Accept, Event, Message, ServerConfig, ServerSession};
//!
//! let t0 = Instant::now(); // in a real broker: the clock, read by the caller, never by the session
//! let mut session = ServerSession::new(ServerConfig::default());
//! let mut wire = Vec::new(); // stands in for "encode and write to the socket"
//!
//! // One turn of the loop: feed what arrived, then drain events, transmits and the next deadline.
//! fn turn(session: &mut ServerSession, wire: &mut Vec<Packet>, now: Instant, input: Option<Packet>)
//!     -> Option<Instant>
//! {
//!     if let Some(packet) = input {
//!         let _ = session.handle_packet(now, packet); // errors already closed the connection
//!     }
//!     while let Some(event) = session.poll_event() {
//!         match event {
//!             // Authenticate here; then accept (or reject with a reason code).
//!             Event::Connect(_connect) => session.accept(now, Accept::default()).unwrap(),
//!             // Route the message (mqtt-router), then acknowledge: PUBACK/PUBREC goes out.
//!             Event::Publish { message: _, ack } => {
//!                 if let Some(ack) = ack {
//!                     session.acknowledge(ack, ReasonCode::Success);
//!                 }
//!             }
//!             Event::Subscribe(req) => {
//!                 let granted = req.filters.iter().map(|_| ReasonCode::GrantedQoS1).collect();
//!                 session.acknowledge_subscribe(req.packet_id, granted).unwrap();
//!             }
//!             Event::Closed(_) | Event::SessionEnded => { /* flush, close the socket, maybe forget */ }
//!             _ => {}
//!         }
//!     }
//!     while let Some(packet) = session.poll_transmit() {
//!         wire.push(packet);
//!     }
//!     session.poll_timeout() // sleep until then, or until the next packet, then call handle_timeout
//! }
//!
//! // The client connects with a 10 s keep alive and publishes at QoS 1.
//! let connect = Connect::new(ByteStr::from_static("sensor-7")).keep_alive(10);
//! let deadline = turn(&mut session, &mut wire, t0, Some(Packet::Connect(Box::new(connect))));
//! assert_eq!(deadline, Some(t0 + Duration::from_secs(15))); // 1.5 x keep alive
//! let publish = Publish::new(TopicName::from_static("t/1"), "21.5").qos(QoS::AtLeastOnce, PacketId::MIN);
//! turn(&mut session, &mut wire, t0, Some(Packet::Publish(publish)));
//! assert!(matches!(wire.as_slice(), [Packet::ConnAck(_), Packet::PubAck(_)]));
//!
//! // The broker delivers a message to this client; the client acknowledges it.
//! session.publish(t0, Message::new(TopicName::from_static("cmd/7"), "on", QoS::AtLeastOnce));
//! turn(&mut session, &mut wire, t0, None);
//! let Some(Packet::Publish(out)) = wire.pop() else { unreachable!() };
//! let id = out.packet_id.unwrap();
//! turn(&mut session, &mut wire, t0, Some(Packet::PubAck(PubAck::new(id))));
//! assert_eq!(session.inflight_len(), 0);
//!
//! // Silence for 1.5 x keep alive: the session closes the connection with 0x8D Keep Alive timeout.
//! session.handle_timeout(t0 + Duration::from_secs(15));
//! turn(&mut session, &mut wire, t0 + Duration::from_secs(15), None);
//! assert!(matches!(wire.last(), Some(Packet::Disconnect(d)) if d.reason_code == ReasonCode::KeepAliveTimeout));
//! ```
//!
//! # Sessions and connections
//!
//! A [`ServerSession`] is the MQTT *session*, not the connection: the broker keeps one per client id. When a
//! connection's first packet (a CONNECT) names a client id, the broker
//! 1. finds the session in its map, or [`ServerSession::restore`]s it from a [`SessionStore`], or makes a
//!    [`ServerSession::new`] one;
//! 2. if that session is still connected elsewhere, calls [`ServerSession::take_over`] and writes the resulting
//!    DISCONNECT (0x8E) to the old connection;
//! 3. feeds the CONNECT to it, answers [`Event::Connect`] with [`ServerSession::accept`] or
//!    [`ServerSession::reject`], and from then on routes that connection's packets to it.
//!
//! Incoming packets larger than [`ServerConfig::maximum_packet_size`] are refused by the codec (configure it
//! with the same limit) and reported with [`ServerSession::handle_decode_error`].
//!
//! The [`ClientSession`] has the same shape for bridges. [`SessionStore`] and [`ServerSession::snapshot`] /
//! [`ServerSession::restore`] move a session's state in and out of storage; [`SavedState`] turns snapshots and
//! retained messages into a versioned, checksummed byte format (and back) so they survive a restart.

mod client;
mod config;
mod error;
mod event;
mod flow;
mod inbound;
mod message;
mod outbound;
mod packet_id_hash;
mod persist;
mod server;
mod store;
mod thin;
mod topic_alias;

pub use client::{ClientCloseReason, ClientConfig, ClientEvent, ClientSession};
pub use config::{DropReason, OverflowPolicy, ServerConfig};
pub use error::Error;
pub use event::{Accept, CloseReason, Event, RequestedSubscription, SubscribeRequest};
pub use inbound::{AckToken, InboundQos2};
pub use message::{Message, MessageProperties, Outgoing};
pub use outbound::InflightPublish;
pub use persist::{SavedState, WallClock};
pub use server::ServerSession;
pub use store::{MemoryStore, SessionSnapshot, SessionStore, Subscription};
