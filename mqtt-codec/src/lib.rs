//! Zero-copy, strict MQTT 3.1.1 and 5.0 packets on [`bytes`].
//!
//! A frame is split off the input once; topics, strings, binary fields and payloads are views of it, validated
//! once at decode. Every malformed input is a distinct [`Error`] that names the v5 [`ReasonCode`] it maps to and
//! the specification statement it enforces. [`MqttCodec`] frames packets for tokio-util (feature `tokio-codec`,
//! on by default; without it the crate depends on `bytes` and `thiserror` only).
//!
//! ```
//! use bytes::BytesMut;
//! use mqtt_codec::{DEFAULT_MAX_PACKET_SIZE, Packet, PacketId, ProtocolVersion::V5, Publish, QoS, TopicName};
//!
//! // A PUBLISH in one line, encoded straight into a buffer of exactly its size...
//! let packet = Packet::from(Publish::new(TopicName::from_static("fleet/dev-7/temp"), "21.5").qos(QoS::AtLeastOnce, PacketId::MIN));
//! let mut wire = BytesMut::with_capacity(packet.encoded_len(V5));
//! packet.encode(V5, &mut wire)?;
//!
//! // ...and decoded back: the topic and payload are views of the frame split off `wire`.
//! let decoded = Packet::decode(V5, &mut wire, DEFAULT_MAX_PACKET_SIZE)?.expect("a whole packet is buffered");
//! assert_eq!(decoded, packet);
//! if let Packet::Publish(p) = decoded {
//!     assert_eq!((p.topic.as_str(), &p.payload[..]), ("fleet/dev-7/temp", &b"21.5"[..]));
//! }
//! # Ok::<(), mqtt_codec::Error>(())
//! ```
//!
//! Contents, one module per thing:
//! - [`Packet`] and one struct per packet: [`Connect`] (with [`Will`]), [`ConnAck`], [`Publish`], [`PubAck`],
//!   [`PubRec`], [`PubRel`], [`PubComp`], [`Subscribe`], [`SubAck`], [`Unsubscribe`], [`UnsubAck`],
//!   [`Disconnect`], [`Auth`]; PINGREQ/PINGRESP are unit variants.
//! - [`properties`]: the typed v5 property set of each packet.
//! - [`Message`]: an application message apart from any one packet ([`MessageProperties`] travel with it,
//!   [`PacketFields`] belong to one packet), and [`Outgoing`]: a message on its way to one receiver.
//! - [`reason_codes`]: the v5 reason codes each packet may carry ([`ReasonCode::is_valid_for`]).
//! - [`MqttCodec`]: tokio-util `Decoder`/`Encoder` (feature `tokio-codec`).
//! - Validated values: [`ByteStr`], [`TopicName`], [`TopicFilter`], [`QoS`], [`SubscriptionOptions`],
//!   [`ReasonCode`], [`ProtocolVersion`], [`PacketType`].

// The docs above link `MqttCodec`, which only exists with the `tokio-codec` feature.
#![cfg_attr(not(feature = "tokio-codec"), allow(rustdoc::broken_intra_doc_links))]

mod ack;
mod auth;
#[cfg(feature = "tokio-codec")]
mod codec;
mod connack;
mod connect;
mod disconnect;
mod error;
mod field;
mod header;
mod message;
mod outgoing;
mod packet;
mod ping;
pub mod properties;
mod puback;
mod pubcomp;
mod publish;
mod pubrec;
mod pubrel;
mod qos;
mod reason;
pub mod reason_codes;
mod string;
mod suback;
mod subscribe;
mod subscription;
mod topic;
mod unsuback;
mod unsubscribe;
mod varint;
mod version;

#[cfg(feature = "arbitrary")]
#[doc(hidden)]
pub mod testing;

pub use auth::Auth;
#[cfg(feature = "tokio-codec")]
pub use codec::MqttCodec;
pub use connack::ConnAck;
pub use connect::{Connect, Will};
pub use disconnect::Disconnect;
pub use error::Error;
pub use header::PacketType;
pub use message::{Message, MessageProperties, PacketFields, PacketProperties};
pub use outgoing::Outgoing;
pub use packet::{DEFAULT_MAX_PACKET_SIZE, MAX_PACKET_SIZE, Packet};
pub use properties::PropertyId;
pub use puback::PubAck;
pub use pubcomp::PubComp;
pub use publish::Publish;
pub use pubrec::PubRec;
pub use pubrel::PubRel;
pub use qos::QoS;
pub use reason::ReasonCode;
pub use string::{ByteStr, MAX_STRING_LEN, validate as validate_str};
pub use suback::SubAck;
pub use subscribe::Subscribe;
pub use subscription::{MAX_VARIABLE_INT, RetainHandling, SubscriptionId, SubscriptionOptions};
pub use topic::{SHARED_PREFIX, TopicFilter, TopicName, validate_filter_levels, validate_topic_name};
pub use unsuback::UnsubAck;
pub use unsubscribe::Unsubscribe;
pub use version::ProtocolVersion;

/// A packet identifier: never 0 where one is required [MQTT-2.2.1-3], so 0 is not representable.
pub type PacketId = std::num::NonZeroU16;
