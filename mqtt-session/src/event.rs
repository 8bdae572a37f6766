//! What the server session reports to the broker ([`Event`]) and what the broker answers with.

use mqtt_codec::properties::{ConnAckProperties, UserProperty};
use mqtt_codec::{ByteStr, Connect, PacketId, ReasonCode, SubscriptionId, SubscriptionOptions, TopicFilter};

use crate::{AckToken, DropReason, Message};

/// Something the broker must act on, taken with `ServerSession::poll_event`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A client sent CONNECT. Authenticate and authorize it, look up or create its session, then call
    /// `ServerSession::accept` or `ServerSession::reject`. The packet is handed over whole (credentials, will,
    /// properties); the session keeps its own copy of what it needs.
    Connect(Box<Connect>),
    /// An application message from the client to route. For QoS 1/2 hand `ack` back to
    /// `ServerSession::acknowledge` once the broker has taken responsibility for the message.
    Publish {
        /// The message, topic alias resolved and expiry converted to a deadline.
        message: Message,
        /// `Some` for QoS 1 and 2.
        ack: Option<AckToken>,
    },
    /// The client asks for subscriptions; answer with `ServerSession::acknowledge_subscribe`.
    Subscribe(SubscribeRequest),
    /// The client removed these subscriptions (the session already answered UNSUBACK); remove them from the
    /// router.
    Unsubscribe {
        /// Filters that existed and are now gone.
        filters: Vec<TopicFilter>,
    },
    /// Publish the client's will message now.
    Will(Message),
    /// A message for the client left the session without being sent.
    Dropped {
        /// The message.
        message: Message,
        /// Why.
        reason: DropReason,
    },
    /// The network connection is over: flush `poll_transmit`, then close the socket. The session lives on
    /// unless [`Event::SessionEnded`] follows.
    Closed(CloseReason),
    /// The session state is gone (Session Expiry Interval passed, or was 0): forget the session and delete any
    /// stored snapshot [MQTT-4.1.0-2].
    SessionEnded,
}

/// Why a connection closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseReason {
    /// The client sent DISCONNECT with this reason code.
    ClientDisconnect(ReasonCode),
    /// The broker reported the transport gone (`connection_lost`).
    ConnectionLost,
    /// The session closed it, having sent DISCONNECT with this reason code where v5 allows: a protocol error,
    /// keep-alive timeout, session takeover or a `close` call.
    Server(ReasonCode),
    /// CONNECT was refused with a CONNACK carrying this reason code.
    Rejected(ReasonCode),
}

/// One filter of a SUBSCRIBE, as the broker sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestedSubscription {
    /// The filter.
    pub filter: TopicFilter,
    /// Options the client asked for.
    pub options: SubscriptionOptions,
    /// Whether the session already had a subscription with this exact filter (needed for Retain Handling 1,
    /// [MQTT-3.3.1-10]).
    pub existed: bool,
}

/// A SUBSCRIBE waiting for the broker's decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscribeRequest {
    /// Packet id to pass to `ServerSession::acknowledge_subscribe`.
    pub packet_id: PacketId,
    /// The filters in packet order.
    pub filters: Vec<RequestedSubscription>,
    /// v5 Subscription Identifier.
    pub subscription_id: Option<SubscriptionId>,
    /// v5 user properties of the SUBSCRIBE.
    pub user_properties: Vec<UserProperty>,
}

/// The broker's yes to a CONNECT.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Accept {
    /// The client id to use when the client sent an empty one: required then [MQTT-3.1.3-6], returned to v5
    /// clients as Assigned Client Identifier [MQTT-3.1.3-7].
    pub assigned_client_id: Option<ByteStr>,
    /// Extra CONNACK properties (reason string, user properties, response information, ...). The session fills
    /// in every limit it enforces itself (Receive Maximum, Maximum Packet Size, Topic Alias Maximum, Maximum QoS,
    /// Retain Available, Server Keep Alive, Session Expiry Interval, Assigned Client Identifier).
    pub properties: ConnAckProperties,
}
