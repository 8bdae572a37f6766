//! [`Message`]: the application message as the session holds it between receipt and delivery. It is
//! `mqtt_codec::Message`, shared with the router and the broker; outbound, the session keeps each one with the
//! subscription identifiers of its delivery ([`mqtt_codec::Outgoing`]).

pub use mqtt_codec::{Message, MessageProperties, Outgoing};
