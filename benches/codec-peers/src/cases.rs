//! The benchmark cases and the field values every codec builds its packets from.

/// The MQTT protocol version a case is encoded in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    /// MQTT 3.1.1 (protocol level 4).
    V311,
    /// MQTT 5.0 (protocol level 5).
    V5,
}

impl Version {
    /// Short label used in benchmark ids.
    pub fn label(self) -> &'static str {
        match self {
            Version::V311 => "v311",
            Version::V5 => "v5",
        }
    }
}

/// One packet shape the codecs are compared on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Case {
    /// CONNECT with clean session/start, keep-alive, client id, username and password; in v5 also session
    /// expiry, receive maximum, maximum packet size and topic alias maximum properties.
    Connect,
    /// QoS 1 PUBLISH, 16-byte topic, 64-byte payload, no properties.
    PublishQos1,
    /// The same PUBLISH with v5 properties: message expiry, content type, response topic, correlation data and
    /// two user properties (v5 only).
    PublishQos1Props,
    /// QoS 1 PUBLISH with a 64 KiB payload.
    Publish64k,
    /// SUBSCRIBE with 10 topic filters of mixed QoS.
    Subscribe10,
}

impl Case {
    /// Short label used in benchmark ids.
    pub fn label(self) -> &'static str {
        match self {
            Case::Connect => "connect",
            Case::PublishQos1 => "publish_qos1",
            Case::PublishQos1Props => "publish_qos1_props",
            Case::Publish64k => "publish_64k",
            Case::Subscribe10 => "subscribe_10",
        }
    }
}

/// Every (case, version) pair that is benchmarked.
pub const MATRIX: [(Case, Version); 9] = [
    (Case::Connect, Version::V311),
    (Case::Connect, Version::V5),
    (Case::PublishQos1, Version::V311),
    (Case::PublishQos1, Version::V5),
    (Case::PublishQos1Props, Version::V5),
    (Case::Publish64k, Version::V311),
    (Case::Publish64k, Version::V5),
    (Case::Subscribe10, Version::V311),
    (Case::Subscribe10, Version::V5),
];

/// CONNECT client identifier.
pub const CLIENT_ID: &str = "hpmq-bench-client-0001";
/// CONNECT user name.
pub const USERNAME: &str = "bench-user";
/// CONNECT password.
pub const PASSWORD: &[u8] = b"bench-password-123";
/// CONNECT keep-alive in seconds.
pub const KEEP_ALIVE: u16 = 60;
/// v5 CONNECT Session Expiry Interval property.
pub const CONNECT_SESSION_EXPIRY: u32 = 3600;
/// v5 CONNECT Receive Maximum property.
pub const CONNECT_RECEIVE_MAX: u16 = 100;
/// v5 CONNECT Maximum Packet Size property.
pub const CONNECT_MAX_PACKET_SIZE: u32 = 1024 * 1024;
/// v5 CONNECT Topic Alias Maximum property.
pub const CONNECT_TOPIC_ALIAS_MAX: u16 = 16;

/// PUBLISH topic: 16 bytes.
pub const TOPIC: &str = "sensors/dev-0042";
/// PUBLISH packet identifier.
pub const PACKET_ID: u16 = 4242;
/// Payload length of [`Case::Publish64k`].
pub const LARGE_PAYLOAD_LEN: usize = 64 * 1024;
/// v5 PUBLISH Message Expiry Interval property.
pub const MESSAGE_EXPIRY: u32 = 3600;
/// v5 PUBLISH Content Type property.
pub const CONTENT_TYPE: &str = "application/json";
/// v5 PUBLISH Response Topic property.
pub const RESPONSE_TOPIC: &str = "replies/dev-0042";
/// v5 PUBLISH Correlation Data property.
pub const CORRELATION_DATA: &[u8] = b"\x01\x02\x03\x04\x05\x06\x07\x08";
/// v5 PUBLISH User Properties, in order.
pub const USER_PROPERTIES: [(&str, &str); 2] = [("trace-id", "4bf92f3577b34da6"), ("region", "eu-west-1")];

/// SUBSCRIBE packet identifier.
pub const SUBSCRIBE_PACKET_ID: u16 = 7;
/// The ten SUBSCRIBE topic filters, in order; filter `i` asks for QoS [`filter_qos`]`(i)`.
pub const FILTERS: [&str; 10] = [
    "sensors/+/temperature",
    "sensors/+/humidity",
    "fleet/eu/+/status",
    "fleet/us/+/status",
    "alerts/#",
    "$SYS/broker/load/#",
    "cmd/dev-0042/+",
    "ota/dev-0042/firmware",
    "logs/+/+/error",
    "config/dev-0042",
];

/// The QoS (0, 1 or 2) requested for filter number `i`.
pub fn filter_qos(i: usize) -> u8 {
    // `i % 3` is below 3, so the cast cannot truncate.
    (i % 3) as u8
}

/// The PUBLISH payload of a case: 64 bytes, or [`LARGE_PAYLOAD_LEN`] for [`Case::Publish64k`]; other cases
/// carry none.
pub fn payload(case: Case) -> Vec<u8> {
    let len = match case {
        Case::PublishQos1 | Case::PublishQos1Props => 64,
        Case::Publish64k => LARGE_PAYLOAD_LEN,
        Case::Connect | Case::Subscribe10 => 0,
    };
    // A JSON-ish repeating pattern; the content does not matter to any codec.
    b"{\"t\":21.5,\"h\":40}".iter().copied().cycle().take(len).collect()
}
