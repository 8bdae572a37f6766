//! The reason codes each MQTT 5.0 packet may carry.
//!
//! Spec section 2.4 (Table 2-6) lists every reason code with the packets that use it, and each packet's own
//! reason code section lists the codes that packet may carry, binding its sender to them (for example "The Client
//! or Server sending the PUBACK packet MUST use one of the PUBACK Reason Codes [MQTT-3.4.2-1]"). The lists here
//! are those per-packet sections, in ascending byte order; the codec's decoders and encoders check every reason
//! code against them ([`Error::ReasonCodeNotAllowed`](crate::Error::ReasonCodeNotAllowed)).
//!
//! One difference between the two places of the specification: Table 2-6 names DISCONNECT among the packets of
//! 0x8C (Bad authentication method), but the DISCONNECT section (3.14.2.1) does not list it. The section binds
//! the sender [MQTT-3.14.2-1], so [`DISCONNECT`] follows it.
//!
//! ```
//! use mqtt_codec::{PacketType, ReasonCode, reason_codes};
//!
//! assert!(ReasonCode::QuotaExceeded.is_valid_for(PacketType::PubAck));
//! assert!(!ReasonCode::QuotaExceeded.is_valid_for(PacketType::PubRel));
//! assert_eq!(reason_codes::for_packet(PacketType::PubRel), reason_codes::PUBREL);
//! // A broker answering a denied PUBLISH picks a failure code PUBACK can carry.
//! let denials: Vec<ReasonCode> = reason_codes::PUBACK.iter().copied().filter(|c| c.is_error()).collect();
//! assert!(denials.contains(&ReasonCode::NotAuthorized));
//! ```

use crate::{PacketType, ReasonCode};

/// Defines one list per packet, [`for_packet`], [`statement`] and [`ReasonCode::is_valid_for`] from one row per
/// packet: the list's name, the packet, the spec section listing its codes, the statement that binds the sender,
/// and the codes.
macro_rules! reason_code_lists {
    ($(
        $name:ident = $packet:ident, $section:literal, $statement:literal: [$($code:ident),* $(,)?];
    )*) => {
        $(
            #[doc = concat!(
                "The reason codes a v5 ", stringify!($name), " may carry, ascending (spec ", $section, ", [",
                $statement, "])."
            )]
            pub const $name: &[ReasonCode] = &[$(ReasonCode::$code),*];
        )*

        /// The reason codes a v5 `packet` may carry, ascending; empty for the packets that carry none (CONNECT,
        /// PUBLISH, SUBSCRIBE, UNSUBSCRIBE, PINGREQ, PINGRESP).
        pub const fn for_packet(packet: PacketType) -> &'static [ReasonCode] {
            match packet {
                $(PacketType::$packet => $name,)*
                _ => &[],
            }
        }

        /// The specification section that lists the reason codes `packet` may carry, `None` for packets without.
        pub const fn spec_section(packet: PacketType) -> Option<&'static str> {
            match packet {
                $(PacketType::$packet => Some($section),)*
                _ => None,
            }
        }

        /// The normative statement that binds the sender of `packet` to its list, `None` for packets without.
        pub const fn statement(packet: PacketType) -> Option<&'static str> {
            match packet {
                $(PacketType::$packet => Some($statement),)*
                _ => None,
            }
        }

        impl ReasonCode {
            /// Whether a v5 `packet` may carry this code: whether it is in
            /// [`reason_codes::for_packet`](crate::reason_codes::for_packet)`(packet)`, the list of the packet's
            /// reason code section of the specification. False for every code in a packet that carries none.
            #[inline]
            pub const fn is_valid_for(self, packet: PacketType) -> bool {
                let allowed = match packet {
                    $(PacketType::$packet => const { mask($name) },)*
                    _ => 0,
                };
                (allowed >> (self as u8)) & 1 == 1
            }
        }
    };
}

/// A set of codes as a bit mask over the variants of [`ReasonCode`] (43 of them, so they fit 64 bits; one more
/// than 64 would fail the build here, in a constant).
const fn mask(codes: &[ReasonCode]) -> u64 {
    let mut mask = 0;
    let mut rest = codes;
    while let [code, tail @ ..] = rest {
        mask |= 1 << (*code as u8);
        rest = tail;
    }
    mask
}

reason_code_lists! {
    CONNACK = ConnAck, "3.2.2.2", "MQTT-3.2.2-8": [
        Success,
        UnspecifiedError,
        MalformedPacket,
        ProtocolError,
        ImplementationSpecificError,
        UnsupportedProtocolVersion,
        ClientIdentifierNotValid,
        BadUserNameOrPassword,
        NotAuthorized,
        ServerUnavailable,
        ServerBusy,
        Banned,
        BadAuthenticationMethod,
        TopicNameInvalid,
        PacketTooLarge,
        QuotaExceeded,
        PayloadFormatInvalid,
        RetainNotSupported,
        QoSNotSupported,
        UseAnotherServer,
        ServerMoved,
        ConnectionRateExceeded,
    ];
    PUBACK = PubAck, "3.4.2.1", "MQTT-3.4.2-1": [
        Success,
        NoMatchingSubscribers,
        UnspecifiedError,
        ImplementationSpecificError,
        NotAuthorized,
        TopicNameInvalid,
        PacketIdentifierInUse,
        QuotaExceeded,
        PayloadFormatInvalid,
    ];
    PUBREC = PubRec, "3.5.2.1", "MQTT-3.5.2-1": [
        Success,
        NoMatchingSubscribers,
        UnspecifiedError,
        ImplementationSpecificError,
        NotAuthorized,
        TopicNameInvalid,
        PacketIdentifierInUse,
        QuotaExceeded,
        PayloadFormatInvalid,
    ];
    PUBREL = PubRel, "3.6.2.1", "MQTT-3.6.2-1": [Success, PacketIdentifierNotFound];
    PUBCOMP = PubComp, "3.7.2.1", "MQTT-3.7.2-1": [Success, PacketIdentifierNotFound];
    SUBACK = SubAck, "3.9.3", "MQTT-3.9.3-2": [
        Success,
        GrantedQoS1,
        GrantedQoS2,
        UnspecifiedError,
        ImplementationSpecificError,
        NotAuthorized,
        TopicFilterInvalid,
        PacketIdentifierInUse,
        QuotaExceeded,
        SharedSubscriptionsNotSupported,
        SubscriptionIdentifiersNotSupported,
        WildcardSubscriptionsNotSupported,
    ];
    UNSUBACK = UnsubAck, "3.11.3", "MQTT-3.11.3-2": [
        Success,
        NoSubscriptionExisted,
        UnspecifiedError,
        ImplementationSpecificError,
        NotAuthorized,
        TopicFilterInvalid,
        PacketIdentifierInUse,
    ];
    DISCONNECT = Disconnect, "3.14.2.1", "MQTT-3.14.2-1": [
        Success,
        DisconnectWithWillMessage,
        UnspecifiedError,
        MalformedPacket,
        ProtocolError,
        ImplementationSpecificError,
        NotAuthorized,
        ServerBusy,
        ServerShuttingDown,
        KeepAliveTimeout,
        SessionTakenOver,
        TopicFilterInvalid,
        TopicNameInvalid,
        ReceiveMaximumExceeded,
        TopicAliasInvalid,
        PacketTooLarge,
        MessageRateTooHigh,
        QuotaExceeded,
        AdministrativeAction,
        PayloadFormatInvalid,
        RetainNotSupported,
        QoSNotSupported,
        UseAnotherServer,
        ServerMoved,
        SharedSubscriptionsNotSupported,
        ConnectionRateExceeded,
        MaximumConnectTime,
        SubscriptionIdentifiersNotSupported,
        WildcardSubscriptionsNotSupported,
    ];
    AUTH = Auth, "3.15.2.1", "MQTT-3.15.2-1": [Success, ContinueAuthentication, ReAuthenticate];
}

#[cfg(test)]
mod tests {
    use bytes::{Bytes, BytesMut};

    use super::*;
    use crate::ProtocolVersion::V5;
    use crate::{
        Auth, ConnAck, Disconnect, Error, Packet, PacketId, PubAck, PubComp, PubRec, PubRel, SubAck, UnsubAck,
    };

    use PacketType::*;

    /// MQTT 5.0 Table 2-6, written out independently: each reason code byte with the packets that use it.
    const TABLE_2_6: &[(u8, &[PacketType])] = &[
        (
            0x00,
            &[
                ConnAck, PubAck, PubRec, PubRel, PubComp, UnsubAck, Auth, Disconnect, SubAck,
            ],
        ),
        (0x01, &[SubAck]),
        (0x02, &[SubAck]),
        (0x04, &[Disconnect]),
        (0x10, &[PubAck, PubRec]),
        (0x11, &[UnsubAck]),
        (0x18, &[Auth]),
        (0x19, &[Auth]),
        (0x80, &[ConnAck, PubAck, PubRec, SubAck, UnsubAck, Disconnect]),
        (0x81, &[ConnAck, Disconnect]),
        (0x82, &[ConnAck, Disconnect]),
        (0x83, &[ConnAck, PubAck, PubRec, SubAck, UnsubAck, Disconnect]),
        (0x84, &[ConnAck]),
        (0x85, &[ConnAck]),
        (0x86, &[ConnAck]),
        (0x87, &[ConnAck, PubAck, PubRec, SubAck, UnsubAck, Disconnect]),
        (0x88, &[ConnAck]),
        (0x89, &[ConnAck, Disconnect]),
        (0x8A, &[ConnAck]),
        (0x8B, &[Disconnect]),
        (0x8C, &[ConnAck, Disconnect]),
        (0x8D, &[Disconnect]),
        (0x8E, &[Disconnect]),
        (0x8F, &[SubAck, UnsubAck, Disconnect]),
        (0x90, &[ConnAck, PubAck, PubRec, Disconnect]),
        (0x91, &[PubAck, PubRec, SubAck, UnsubAck]),
        (0x92, &[PubRel, PubComp]),
        (0x93, &[Disconnect]),
        (0x94, &[Disconnect]),
        (0x95, &[ConnAck, Disconnect]),
        (0x96, &[Disconnect]),
        (0x97, &[ConnAck, PubAck, PubRec, SubAck, Disconnect]),
        (0x98, &[Disconnect]),
        (0x99, &[ConnAck, PubAck, PubRec, Disconnect]),
        (0x9A, &[ConnAck, Disconnect]),
        (0x9B, &[ConnAck, Disconnect]),
        (0x9C, &[ConnAck, Disconnect]),
        (0x9D, &[ConnAck, Disconnect]),
        (0x9E, &[SubAck, Disconnect]),
        (0x9F, &[ConnAck, Disconnect]),
        (0xA0, &[Disconnect]),
        (0xA1, &[SubAck, Disconnect]),
        (0xA2, &[SubAck, Disconnect]),
    ];

    /// Where the per-packet sections (which bind the sender) differ from Table 2-6: see the module docs.
    const NOT_IN_THE_PACKET_SECTION: &[(u8, PacketType)] = &[(0x8C, Disconnect)];

    const ALL_PACKETS: [PacketType; 15] = [
        Connect,
        ConnAck,
        Publish,
        PubAck,
        PubRec,
        PubRel,
        PubComp,
        Subscribe,
        SubAck,
        Unsubscribe,
        UnsubAck,
        PingReq,
        PingResp,
        Disconnect,
        Auth,
    ];

    fn expected(byte: u8, packet: PacketType) -> bool {
        TABLE_2_6
            .iter()
            .any(|(b, packets)| *b == byte && packets.contains(&packet))
            && !NOT_IN_THE_PACKET_SECTION.contains(&(byte, packet))
    }

    #[test]
    fn every_packet_carries_the_codes_of_its_spec_section() {
        // Table 2-6 names every code MQTT 5.0 defines, once.
        let defined: Vec<u8> = (0..=u8::MAX).filter(|&b| ReasonCode::from_u8(b).is_some()).collect();
        let table: Vec<u8> = TABLE_2_6.iter().map(|row| row.0).collect();
        assert_eq!(defined, table);
        for packet in ALL_PACKETS {
            for byte in 0..=u8::MAX {
                let valid = ReasonCode::from_u8(byte).is_some_and(|code| code.is_valid_for(packet));
                assert_eq!(valid, expected(byte, packet), "{byte:#04x} in {packet}");
            }
            let list: Vec<u8> = for_packet(packet).iter().map(|c| c.as_u8()).collect();
            let mut from_table: Vec<u8> = table.iter().copied().filter(|&b| expected(b, packet)).collect();
            from_table.sort_unstable();
            assert_eq!(
                list, from_table,
                "the list of {packet} is its codes, ascending, once each"
            );
            assert_eq!(spec_section(packet).is_some(), !list.is_empty(), "{packet}");
            assert_eq!(statement(packet).is_some(), !list.is_empty(), "{packet}");
        }
    }

    #[test]
    fn the_named_lists_are_the_lists_of_their_packets() {
        for (list, packet) in [
            (CONNACK, ConnAck),
            (PUBACK, PubAck),
            (PUBREC, PubRec),
            (PUBREL, PubRel),
            (PUBCOMP, PubComp),
            (SUBACK, SubAck),
            (UNSUBACK, UnsubAck),
            (DISCONNECT, Disconnect),
            (AUTH, Auth),
        ] {
            assert_eq!(for_packet(packet), list, "{packet}");
        }
    }

    /// A minimal v5 frame of `packet` carrying `code` as its (first) reason code.
    fn frame(packet: PacketType, code: u8) -> Vec<u8> {
        match packet {
            ConnAck => vec![0x20, 3, 0, code, 0],
            PubAck => vec![0x40, 3, 0, 1, code],
            PubRec => vec![0x50, 3, 0, 1, code],
            PubRel => vec![0x62, 3, 0, 1, code],
            PubComp => vec![0x70, 3, 0, 1, code],
            SubAck => vec![0x90, 4, 0, 1, 0, code],
            UnsubAck => vec![0xB0, 4, 0, 1, 0, code],
            Disconnect => vec![0xE0, 1, code],
            Auth => vec![0xF0, 1, code],
            other => unreachable!("{other} carries no reason code"),
        }
    }

    /// `code` in a v5 packet of type `packet`, for the encoders.
    fn packet_with(packet: PacketType, code: ReasonCode) -> Packet {
        let id = PacketId::MIN;
        match packet {
            ConnAck => ConnAck::new(code, false).into(),
            PubAck => PubAck::new(id).reason_code(code).into(),
            PubRec => PubRec::new(id).reason_code(code).into(),
            PubRel => PubRel::new(id).reason_code(code).into(),
            PubComp => PubComp::new(id).reason_code(code).into(),
            SubAck => SubAck::new(id, [code]).into(),
            UnsubAck => UnsubAck::new(id, [code]).into(),
            Disconnect => Disconnect::new(code).into(),
            Auth => Auth::new(code).into(),
            other => unreachable!("{other} carries no reason code"),
        }
    }

    #[test]
    fn decoders_and_encoders_check_the_same_lists() {
        for packet in ALL_PACKETS.into_iter().filter(|&p| !for_packet(p).is_empty()) {
            for byte in 0..=u8::MAX {
                let valid = ReasonCode::from_u8(byte).is_some_and(|code| code.is_valid_for(packet));
                let decoded = Packet::decode_frame(V5, Bytes::from(frame(packet, byte)));
                let refused = Error::ReasonCodeNotAllowed { packet, code: byte };
                if valid {
                    assert!(decoded.is_ok(), "{byte:#04x} in {packet}: {decoded:?}");
                } else {
                    assert_eq!(decoded, Err(refused.clone()), "{byte:#04x} in {packet}");
                }
                if let Some(code) = ReasonCode::from_u8(byte) {
                    let encoded = packet_with(packet, code).encode(V5, &mut BytesMut::new());
                    if valid {
                        assert_eq!(encoded, Ok(()), "{code} in {packet}");
                    } else {
                        assert_eq!(encoded, Err(refused.clone()), "{code} in {packet}");
                    }
                }
            }
        }
    }

    #[test]
    fn refusals_name_the_statement_of_their_packet() {
        let error = Error::ReasonCodeNotAllowed {
            packet: PubRel,
            code: 0x97,
        };
        assert_eq!(error.spec_ref(), Some("MQTT-3.6.2-1"));
        assert_eq!(statement(Auth), Some("MQTT-3.15.2-1"));
        assert_eq!(spec_section(SubAck), Some("3.9.3"));
    }
}
