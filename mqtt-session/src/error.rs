//! The session's one error type: protocol violations by the peer (which close the connection with the reason
//! code each variant names) and misuse of the session API by the embedding broker.

use mqtt_codec::{QoS, ReasonCode};

/// Why the session refused a packet or an API call.
///
/// Errors returned from `handle_packet` have already been acted on: the session queued a DISCONNECT (v5) carrying
/// [`Error::reason_code`] where the protocol allows one, and reported [`crate::Event::Closed`]. The broker only
/// needs to flush `poll_transmit` and close the socket.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The first packet of a connection was not CONNECT.
    #[error("first packet is not CONNECT [MQTT-3.1.0-1]")]
    FirstPacketNotConnect,
    /// A second CONNECT on the same connection.
    #[error("second CONNECT on one connection [MQTT-3.1.0-2]")]
    SecondConnect,
    /// A packet this role never receives (e.g. CONNACK sent to a server) or one sent out of order.
    #[error("unexpected {packet} packet")]
    UnexpectedPacket {
        /// Name of the packet type.
        packet: &'static str,
    },
    /// A QoS 1/2 PUBLISH without a packet id (the codec prevents this; kept so nothing can panic).
    #[error("QoS > 0 PUBLISH without a packet identifier [MQTT-2.2.1-2]")]
    MissingPacketId,
    /// The peer sent more unacknowledged QoS 1/2 PUBLISH packets than our Receive Maximum (v5 section 4.9).
    #[error("more QoS 1/2 PUBLISH packets in flight than Receive Maximum allows [MQTT-3.3.4-7]")]
    ReceiveMaximumExceeded,
    /// A Topic Alias of 0 or above the maximum we announced.
    #[error("topic alias {alias} is 0 or above our Topic Alias Maximum [MQTT-3.3.2-12]")]
    TopicAliasInvalid {
        /// The alias the peer sent.
        alias: u16,
    },
    /// An empty topic name with a Topic Alias this connection never mapped.
    #[error("topic alias {alias} has no mapping on this connection [MQTT-3.3.2-7]")]
    UnknownTopicAlias {
        /// The alias the peer sent.
        alias: u16,
    },
    /// An empty topic name without a Topic Alias.
    #[error("empty topic name without a topic alias [MQTT-3.3.2-1]")]
    EmptyTopicWithoutAlias,
    /// A PUBLISH from a client carries a Subscription Identifier.
    #[error("PUBLISH from a client carries a subscription identifier [MQTT-3.3.4-6]")]
    SubscriptionIdFromClient,
    /// No Local set on a shared subscription.
    #[error("No Local on a shared subscription [MQTT-3.8.3-4]")]
    NoLocalOnSharedSubscription,
    /// DISCONNECT set a non-zero Session Expiry Interval after CONNECT set 0 (v5 section 3.14.2.2.2).
    #[error("DISCONNECT sets a session expiry interval after CONNECT set 0")]
    SessionExpiryAfterZero,
    /// No packet within 1.5 times the Keep Alive.
    #[error("no packet within 1.5 x keep alive [MQTT-3.1.2-22]")]
    KeepAliveTimeout,
    /// A PUBLISH above the Maximum QoS we announced.
    #[error("PUBLISH at {qos:?} exceeds the server's Maximum QoS [MQTT-3.2.2-11]")]
    QoSNotSupported {
        /// The QoS the peer used.
        qos: QoS,
    },
    /// A PUBLISH with RETAIN set after we announced Retain Available = 0.
    #[error("PUBLISH with RETAIN while retain is not available [MQTT-3.2.2-14]")]
    RetainNotSupported,
    /// The codec rejected an inbound frame; pass its error to `handle_decode_error`.
    #[error("malformed packet: {0}")]
    Codec(#[from] mqtt_codec::Error),
    /// The client sent more packets after CONNECT than the session buffers while the broker decides on it.
    #[error("too many packets before CONNACK")]
    TooManyEarlyPackets,

    // ---- API misuse by the embedding broker: returned, the connection is left alone. ----
    /// `accept`/`reject` without a CONNECT waiting for a decision.
    #[error("no CONNECT is waiting for a decision")]
    NoPendingConnect,
    /// A v5 or 3.1.1 clean-session client sent an empty client id and `accept` supplied none to assign
    /// [MQTT-3.1.3-6].
    #[error("the client sent an empty client id: accept must assign one [MQTT-3.1.3-6]")]
    MissingAssignedClientId,
    /// `acknowledge_subscribe` for a packet id with no SUBSCRIBE waiting.
    #[error("no SUBSCRIBE {0} is waiting for an answer")]
    UnknownSubscribe(u16),
    /// The number of reason codes does not match the number of filters [MQTT-3.9.3-2].
    #[error("{given} reason codes for {expected} topic filters [MQTT-3.9.3-2]")]
    ReasonCountMismatch {
        /// Filters in the request.
        expected: usize,
        /// Reason codes supplied.
        given: usize,
    },
    /// An operation that needs a live connection was called without one.
    #[error("the session has no connection")]
    NotConnected,
    /// Every one of the 65,535 packet ids is in use.
    #[error("all packet identifiers are in use")]
    PacketIdsExhausted,

    // ---- Saved state (`SavedState::decode`/`encode`): a file that cannot be used. ----
    /// The bytes do not start with the state file's magic bytes.
    #[error("not an hpmq state file (wrong magic bytes)")]
    StateMagic,
    /// The file was written in a format version this build does not read.
    #[error("state file format version {found} is not supported (this build reads version {supported})")]
    StateVersion {
        /// The version in the file.
        found: u16,
        /// The version this build reads and writes.
        supported: u16,
    },
    /// The checksum does not match the contents: the file was damaged after it was written.
    #[error("state file is corrupt: checksum {stored:#010x} stored, {computed:#010x} computed")]
    StateChecksum {
        /// The CRC-32 stored in the file.
        stored: u32,
        /// The CRC-32 of the contents.
        computed: u32,
    },
    /// The file ends in the middle of a value.
    #[error("state file is truncated: {needed} more bytes needed at offset {offset}")]
    StateTruncated {
        /// Where the incomplete value starts being read.
        offset: usize,
        /// How many bytes are missing for it.
        needed: usize,
    },
    /// A value in the file is impossible (unknown tag, packet id 0, duplicate, trailing bytes, ...).
    #[error("state file is invalid at offset {offset}: {what}")]
    StateInvalid {
        /// File offset of the value.
        offset: usize,
        /// What is wrong with it.
        what: &'static str,
    },
    /// A packet, topic or option embedded in the file does not decode (or, when saving, does not encode).
    #[error("state file record at offset {offset}: {source}")]
    StateRecord {
        /// File offset of the record.
        offset: usize,
        /// The codec's reason.
        source: mqtt_codec::Error,
    },
}

impl Error {
    /// The v5 reason code to send in DISCONNECT (or CONNACK) for this error.
    pub fn reason_code(&self) -> ReasonCode {
        match self {
            Error::FirstPacketNotConnect
            | Error::SecondConnect
            | Error::UnexpectedPacket { .. }
            | Error::UnknownTopicAlias { .. }
            | Error::EmptyTopicWithoutAlias
            | Error::SessionExpiryAfterZero
            | Error::SubscriptionIdFromClient
            | Error::NoLocalOnSharedSubscription => ReasonCode::ProtocolError,
            Error::MissingPacketId => ReasonCode::MalformedPacket,
            Error::ReceiveMaximumExceeded => ReasonCode::ReceiveMaximumExceeded,
            Error::TopicAliasInvalid { .. } => ReasonCode::TopicAliasInvalid,
            Error::KeepAliveTimeout => ReasonCode::KeepAliveTimeout,
            Error::QoSNotSupported { .. } => ReasonCode::QoSNotSupported,
            Error::RetainNotSupported => ReasonCode::RetainNotSupported,
            Error::TooManyEarlyPackets => ReasonCode::QuotaExceeded,
            Error::Codec(e) => e.reason_code(),
            Error::NoPendingConnect
            | Error::MissingAssignedClientId
            | Error::UnknownSubscribe(_)
            | Error::ReasonCountMismatch { .. }
            | Error::NotConnected
            | Error::PacketIdsExhausted
            | Error::StateMagic
            | Error::StateVersion { .. }
            | Error::StateChecksum { .. }
            | Error::StateTruncated { .. }
            | Error::StateInvalid { .. }
            | Error::StateRecord { .. } => ReasonCode::ImplementationSpecificError,
        }
    }

    /// The normative statement this error enforces, when the specification numbers one.
    pub fn spec_ref(&self) -> Option<&'static str> {
        Some(match self {
            Error::FirstPacketNotConnect => "MQTT-3.1.0-1",
            Error::SecondConnect => "MQTT-3.1.0-2",
            Error::MissingPacketId => "MQTT-2.2.1-2",
            Error::ReceiveMaximumExceeded => "MQTT-3.3.4-7",
            Error::TopicAliasInvalid { .. } => "MQTT-3.3.2-12",
            Error::UnknownTopicAlias { .. } => "MQTT-3.3.2-7",
            Error::EmptyTopicWithoutAlias => "MQTT-3.3.2-1",
            Error::KeepAliveTimeout => "MQTT-3.1.2-22",
            Error::QoSNotSupported { .. } => "MQTT-3.2.2-11",
            Error::RetainNotSupported => "MQTT-3.2.2-14",
            Error::MissingAssignedClientId => "MQTT-3.1.3-6",
            Error::SubscriptionIdFromClient => "MQTT-3.3.4-6",
            Error::NoLocalOnSharedSubscription => "MQTT-3.8.3-4",
            Error::ReasonCountMismatch { .. } => "MQTT-3.9.3-2",
            Error::Codec(e) => return e.spec_ref(),
            _ => return None,
        })
    }
}
