//! MQTT v5 reason codes (spec section 2.4).
//!
//! Every error in the workspace maps to one of these, so a broker can always tell a v5 peer *why*.

use std::fmt;

/// A v5 reason code as it travels on the wire.
///
/// Some byte values have several names depending on the packet (0x00 is `Success`, `NormalDisconnection` and
/// `GrantedQoS0`); this enum uses one variant per byte and documents the aliases. A byte that is no v5 reason code
/// has no variant ([`ReasonCode::from_u8`] returns `None`), and the codec rejects reason codes that are not
/// allowed in the packet being decoded ([`crate::Error::ReasonCodeNotAllowed`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum ReasonCode {
    /// 0x00: Success, Normal disconnection, Granted QoS 0.
    Success,
    /// 0x01: Granted QoS 1.
    GrantedQoS1,
    /// 0x02: Granted QoS 2.
    GrantedQoS2,
    /// 0x04: Disconnect with Will Message.
    DisconnectWithWillMessage,
    /// 0x10: No matching subscribers.
    NoMatchingSubscribers,
    /// 0x11: No subscription existed.
    NoSubscriptionExisted,
    /// 0x18: Continue authentication.
    ContinueAuthentication,
    /// 0x19: Re-authenticate.
    ReAuthenticate,
    /// 0x80: Unspecified error.
    UnspecifiedError,
    /// 0x81: Malformed Packet.
    MalformedPacket,
    /// 0x82: Protocol Error.
    ProtocolError,
    /// 0x83: Implementation specific error.
    ImplementationSpecificError,
    /// 0x84: Unsupported Protocol Version.
    UnsupportedProtocolVersion,
    /// 0x85: Client Identifier not valid.
    ClientIdentifierNotValid,
    /// 0x86: Bad User Name or Password.
    BadUserNameOrPassword,
    /// 0x87: Not authorized.
    NotAuthorized,
    /// 0x88: Server unavailable.
    ServerUnavailable,
    /// 0x89: Server busy.
    ServerBusy,
    /// 0x8A: Banned.
    Banned,
    /// 0x8B: Server shutting down.
    ServerShuttingDown,
    /// 0x8C: Bad authentication method.
    BadAuthenticationMethod,
    /// 0x8D: Keep Alive timeout.
    KeepAliveTimeout,
    /// 0x8E: Session taken over.
    SessionTakenOver,
    /// 0x8F: Topic Filter invalid.
    TopicFilterInvalid,
    /// 0x90: Topic Name invalid.
    TopicNameInvalid,
    /// 0x91: Packet Identifier in use.
    PacketIdentifierInUse,
    /// 0x92: Packet Identifier not found.
    PacketIdentifierNotFound,
    /// 0x93: Receive Maximum exceeded.
    ReceiveMaximumExceeded,
    /// 0x94: Topic Alias invalid.
    TopicAliasInvalid,
    /// 0x95: Packet too large.
    PacketTooLarge,
    /// 0x96: Message rate too high.
    MessageRateTooHigh,
    /// 0x97: Quota exceeded.
    QuotaExceeded,
    /// 0x98: Administrative action.
    AdministrativeAction,
    /// 0x99: Payload format invalid.
    PayloadFormatInvalid,
    /// 0x9A: Retain not supported.
    RetainNotSupported,
    /// 0x9B: QoS not supported.
    QoSNotSupported,
    /// 0x9C: Use another server.
    UseAnotherServer,
    /// 0x9D: Server moved.
    ServerMoved,
    /// 0x9E: Shared Subscriptions not supported.
    SharedSubscriptionsNotSupported,
    /// 0x9F: Connection rate exceeded.
    ConnectionRateExceeded,
    /// 0xA0: Maximum connect time.
    MaximumConnectTime,
    /// 0xA1: Subscription Identifiers not supported.
    SubscriptionIdentifiersNotSupported,
    /// 0xA2: Wildcard Subscriptions not supported.
    WildcardSubscriptionsNotSupported,
}

impl ReasonCode {
    /// Alias of [`ReasonCode::Success`] used in DISCONNECT.
    pub const NORMAL_DISCONNECTION: ReasonCode = ReasonCode::Success;
    /// Alias of [`ReasonCode::Success`] used in SUBACK.
    pub const GRANTED_QOS0: ReasonCode = ReasonCode::Success;

    /// The byte that represents this code on the wire.
    pub const fn as_u8(self) -> u8 {
        match self {
            ReasonCode::Success => 0x00,
            ReasonCode::GrantedQoS1 => 0x01,
            ReasonCode::GrantedQoS2 => 0x02,
            ReasonCode::DisconnectWithWillMessage => 0x04,
            ReasonCode::NoMatchingSubscribers => 0x10,
            ReasonCode::NoSubscriptionExisted => 0x11,
            ReasonCode::ContinueAuthentication => 0x18,
            ReasonCode::ReAuthenticate => 0x19,
            ReasonCode::UnspecifiedError => 0x80,
            ReasonCode::MalformedPacket => 0x81,
            ReasonCode::ProtocolError => 0x82,
            ReasonCode::ImplementationSpecificError => 0x83,
            ReasonCode::UnsupportedProtocolVersion => 0x84,
            ReasonCode::ClientIdentifierNotValid => 0x85,
            ReasonCode::BadUserNameOrPassword => 0x86,
            ReasonCode::NotAuthorized => 0x87,
            ReasonCode::ServerUnavailable => 0x88,
            ReasonCode::ServerBusy => 0x89,
            ReasonCode::Banned => 0x8A,
            ReasonCode::ServerShuttingDown => 0x8B,
            ReasonCode::BadAuthenticationMethod => 0x8C,
            ReasonCode::KeepAliveTimeout => 0x8D,
            ReasonCode::SessionTakenOver => 0x8E,
            ReasonCode::TopicFilterInvalid => 0x8F,
            ReasonCode::TopicNameInvalid => 0x90,
            ReasonCode::PacketIdentifierInUse => 0x91,
            ReasonCode::PacketIdentifierNotFound => 0x92,
            ReasonCode::ReceiveMaximumExceeded => 0x93,
            ReasonCode::TopicAliasInvalid => 0x94,
            ReasonCode::PacketTooLarge => 0x95,
            ReasonCode::MessageRateTooHigh => 0x96,
            ReasonCode::QuotaExceeded => 0x97,
            ReasonCode::AdministrativeAction => 0x98,
            ReasonCode::PayloadFormatInvalid => 0x99,
            ReasonCode::RetainNotSupported => 0x9A,
            ReasonCode::QoSNotSupported => 0x9B,
            ReasonCode::UseAnotherServer => 0x9C,
            ReasonCode::ServerMoved => 0x9D,
            ReasonCode::SharedSubscriptionsNotSupported => 0x9E,
            ReasonCode::ConnectionRateExceeded => 0x9F,
            ReasonCode::MaximumConnectTime => 0xA0,
            ReasonCode::SubscriptionIdentifiersNotSupported => 0xA1,
            ReasonCode::WildcardSubscriptionsNotSupported => 0xA2,
        }
    }

    /// Parses a wire byte; `None` for a byte that is no v5 reason code at all.
    pub const fn from_u8(byte: u8) -> Option<ReasonCode> {
        Some(match byte {
            0x00 => ReasonCode::Success,
            0x01 => ReasonCode::GrantedQoS1,
            0x02 => ReasonCode::GrantedQoS2,
            0x04 => ReasonCode::DisconnectWithWillMessage,
            0x10 => ReasonCode::NoMatchingSubscribers,
            0x11 => ReasonCode::NoSubscriptionExisted,
            0x18 => ReasonCode::ContinueAuthentication,
            0x19 => ReasonCode::ReAuthenticate,
            0x80 => ReasonCode::UnspecifiedError,
            0x81 => ReasonCode::MalformedPacket,
            0x82 => ReasonCode::ProtocolError,
            0x83 => ReasonCode::ImplementationSpecificError,
            0x84 => ReasonCode::UnsupportedProtocolVersion,
            0x85 => ReasonCode::ClientIdentifierNotValid,
            0x86 => ReasonCode::BadUserNameOrPassword,
            0x87 => ReasonCode::NotAuthorized,
            0x88 => ReasonCode::ServerUnavailable,
            0x89 => ReasonCode::ServerBusy,
            0x8A => ReasonCode::Banned,
            0x8B => ReasonCode::ServerShuttingDown,
            0x8C => ReasonCode::BadAuthenticationMethod,
            0x8D => ReasonCode::KeepAliveTimeout,
            0x8E => ReasonCode::SessionTakenOver,
            0x8F => ReasonCode::TopicFilterInvalid,
            0x90 => ReasonCode::TopicNameInvalid,
            0x91 => ReasonCode::PacketIdentifierInUse,
            0x92 => ReasonCode::PacketIdentifierNotFound,
            0x93 => ReasonCode::ReceiveMaximumExceeded,
            0x94 => ReasonCode::TopicAliasInvalid,
            0x95 => ReasonCode::PacketTooLarge,
            0x96 => ReasonCode::MessageRateTooHigh,
            0x97 => ReasonCode::QuotaExceeded,
            0x98 => ReasonCode::AdministrativeAction,
            0x99 => ReasonCode::PayloadFormatInvalid,
            0x9A => ReasonCode::RetainNotSupported,
            0x9B => ReasonCode::QoSNotSupported,
            0x9C => ReasonCode::UseAnotherServer,
            0x9D => ReasonCode::ServerMoved,
            0x9E => ReasonCode::SharedSubscriptionsNotSupported,
            0x9F => ReasonCode::ConnectionRateExceeded,
            0xA0 => ReasonCode::MaximumConnectTime,
            0xA1 => ReasonCode::SubscriptionIdentifiersNotSupported,
            0xA2 => ReasonCode::WildcardSubscriptionsNotSupported,
            _ => return None,
        })
    }

    /// True for codes of 0x80 and above, which report a failure.
    pub const fn is_error(self) -> bool {
        self.as_u8() >= 0x80
    }
}

impl fmt::Display for ReasonCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?} (0x{:02X})", self, self.as_u8())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_byte_round_trips() {
        let mut known = 0;
        for byte in 0..=u8::MAX {
            if let Some(code) = ReasonCode::from_u8(byte) {
                known += 1;
                assert_eq!(code.as_u8(), byte);
                assert_eq!(code.is_error(), byte >= 0x80);
            }
        }
        // The v5 specification defines 43 distinct reason code bytes.
        assert_eq!(known, 43);
    }

    #[test]
    fn display_names_the_byte() {
        assert_eq!(ReasonCode::PacketTooLarge.to_string(), "PacketTooLarge (0x95)");
    }
}
