//! MQTT 5.0 properties (spec 2.2.2), typed per packet.
//!
//! Each packet has its own struct holding exactly the properties that packet may carry, so a property that is
//! not allowed somewhere cannot even be written. Properties that may appear once are `Option`s; a second
//! occurrence on the wire is [`Error::DuplicateProperty`](crate::Error::DuplicateProperty). User properties keep
//! their wire order and may repeat. A property the packet does not allow is
//! [`Error::PropertyNotAllowed`](crate::Error::PropertyNotAllowed); an identifier MQTT 5.0 does not define is
//! [`Error::UnknownProperty`](crate::Error::UnknownProperty).
//!
//! All of these are ignored when a packet is encoded as MQTT 3.1.1, which has no properties.
//!
//! The structs, [`PropertyId`] and every decoder, length and encoder are generated from two tables: one row per
//! property (identifier, Rust type, data type on the wire) and one row per set (its fields in wire order, each
//! with its duplicate rule and the section of the specification that defines it). Each set's `ALLOWED` lists
//! what it may carry.

mod ids;
mod macros;
mod sets;
#[cfg(test)]
mod table_2_4;
mod values;
mod wire;

pub use ids::{DataType, PropertyId};
pub use sets::{
    AckProperties, AuthProperties, ConnAckProperties, ConnectProperties, DisconnectProperties, PublishProperties,
    SubscribeProperties, UnsubscribeProperties, WillProperties,
};
pub use values::{PayloadFormat, UserProperty};
pub(crate) use wire::block_len;
