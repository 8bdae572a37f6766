//! Limits and policies a broker chooses for its sessions.

use std::num::{NonZeroU16, NonZeroU32};

use mqtt_codec::QoS;

/// What happens when a message arrives for a session whose queue is full. Under either policy QoS 0 messages
/// go first: a queued QoS 0 message makes room for an arriving QoS 1/2 one, and a QoS 0 arrival never
/// displaces a QoS 1/2 message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OverflowPolicy {
    /// Keep the queue, drop the arriving message (like mosquitto's `max_queued_messages`).
    #[default]
    DropNewest,
    /// Drop the oldest queued message to make room: fresher data wins.
    DropOldest,
}

/// Why a message for the peer was dropped without being sent; reported in an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DropReason {
    /// The Message Expiry Interval passed before delivery started [MQTT-3.3.2-5].
    Expired,
    /// The bounded queue was full (see [`OverflowPolicy`]).
    QueueFull,
    /// The PUBLISH would exceed the peer's Maximum Packet Size [MQTT-3.1.2-25].
    PacketTooLarge,
    /// A QoS 0 message for a session with no connection, and QoS 0 queueing is off (or the session has ended).
    Offline,
    /// Client role: the server answered CONNACK with Session Present 0, so the in-flight exchange is void
    /// [MQTT-3.2.2-5].
    SessionLost,
    /// Server role: the session ended (it expired, or a Clean Start discarded it) while the message was
    /// queued or sent and unacknowledged. A broker should hand a message it delivered through a shared
    /// subscription to another member of the group (v5 section 4.8.2).
    SessionEnded,
}

/// Server-side limits, announced to v5 clients in CONNACK and enforced on every packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerConfig {
    /// How many unacknowledged inbound QoS 1/2 messages a client may have (Receive Maximum).
    pub receive_maximum: NonZeroU16,
    /// How many QoS 1/2 messages we send a client before it acknowledges them: the lower of this and the
    /// client's Receive Maximum (a 3.1.1 client announces none). Further messages wait in the session's
    /// queue, so a client that reads slowly is paced by its acknowledgements rather than handed everything at
    /// once (mosquitto's `max_inflight_messages`, EMQX's `max_inflight`). Default `u16::MAX`: the client's
    /// Receive Maximum alone.
    pub send_maximum: NonZeroU16,
    /// Largest packet we accept; `None` announces no limit.
    pub maximum_packet_size: Option<NonZeroU32>,
    /// How many topic aliases a client may use towards us (0 disables them).
    pub topic_alias_maximum: u16,
    /// Highest QoS we accept in PUBLISH and will (v5 Maximum QoS).
    pub maximum_qos: QoS,
    /// Whether we accept retained messages.
    pub retain_available: bool,
    /// Upper bound on the Keep Alive; a client asking for more (or for 0) is told this value as Server Keep Alive.
    pub max_keep_alive: Option<NonZeroU16>,
    /// Upper bound on the Session Expiry Interval, in seconds.
    pub max_session_expiry_interval: u32,
    /// Capacity of a session's queue of messages waiting to be sent (offline or beyond the client's Receive
    /// Maximum).
    pub max_queued_messages: usize,
    /// Most bytes of payload, topic and variable-length properties a session's queue may hold, so that a slow
    /// or offline client costs bounded memory whatever the message sizes; `usize::MAX`: no limit beyond the
    /// message count.
    pub max_queued_bytes: usize,
    /// What to drop when the queue is full.
    pub overflow_policy: OverflowPolicy,
    /// Whether QoS 0 messages are queued for a disconnected session (the spec allows either).
    pub queue_qos0_while_offline: bool,
    /// Whether to assign topic aliases to outbound messages when the client allows them.
    pub assign_topic_aliases: bool,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            receive_maximum: NonZeroU16::new(1024).unwrap_or(NonZeroU16::MAX),
            send_maximum: NonZeroU16::MAX,
            maximum_packet_size: None,
            topic_alias_maximum: 64,
            maximum_qos: QoS::ExactlyOnce,
            retain_available: true,
            max_keep_alive: None,
            max_session_expiry_interval: u32::MAX,
            max_queued_messages: 1000,
            max_queued_bytes: usize::MAX,
            overflow_policy: OverflowPolicy::DropNewest,
            queue_qos0_while_offline: false,
            assign_topic_aliases: true,
        }
    }
}
