//! CONNACK (spec 3.2): the server's answer to CONNECT.

use bytes::{BufMut, BytesMut};

use crate::field::Reader;
use crate::properties::{self, ConnAckProperties};
use crate::{Error, PacketType, ProtocolVersion, ReasonCode, header};

/// A CONNACK packet.
///
/// The outcome is a v5 [`ReasonCode`] in both versions. A 3.1.1 return code decodes to its v5 equivalent
/// (0 Success, 1 UnsupportedProtocolVersion, 2 ClientIdentifierNotValid, 3 ServerUnavailable,
/// 4 BadUserNameOrPassword, 5 NotAuthorized). Encoding 3.1.1 maps those six back exactly and every other
/// refusal to the nearest 3.1.1 code: Banned → 5, BadAuthenticationMethod → 4, anything else → 3 ("server
/// unavailable"), because 3.1.1 has no other way to say no. `properties` are ignored in 3.1.1.
///
/// The v5 reason codes it may carry are [`reason_codes::CONNACK`](crate::reason_codes::CONNACK).
///
/// ```
/// use mqtt_codec::{ConnAck, ReasonCode};
/// let ok = ConnAck::new(ReasonCode::Success, true);
/// assert!(ok.session_present);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnAck {
    /// The server resumed a stored session (never set on a refusal [MQTT-3.2.2-6]).
    pub session_present: bool,
    /// Success or why the connection is refused.
    pub reason_code: ReasonCode,
    /// MQTT 5.0 properties.
    pub properties: ConnAckProperties,
}

fn from_v311(code: u8) -> Result<ReasonCode, Error> {
    Ok(match code {
        0 => ReasonCode::Success,
        1 => ReasonCode::UnsupportedProtocolVersion,
        2 => ReasonCode::ClientIdentifierNotValid,
        3 => ReasonCode::ServerUnavailable,
        4 => ReasonCode::BadUserNameOrPassword,
        5 => ReasonCode::NotAuthorized,
        _ => return Err(Error::InvalidConnectReturnCode { code }),
    })
}

fn to_v311(code: ReasonCode) -> u8 {
    match code {
        ReasonCode::Success => 0,
        ReasonCode::UnsupportedProtocolVersion => 1,
        ReasonCode::ClientIdentifierNotValid => 2,
        ReasonCode::BadUserNameOrPassword | ReasonCode::BadAuthenticationMethod => 4,
        ReasonCode::NotAuthorized | ReasonCode::Banned => 5,
        _ => 3,
    }
}

impl ConnAck {
    /// A CONNACK without properties.
    pub fn new(reason_code: ReasonCode, session_present: bool) -> Self {
        ConnAck {
            session_present,
            reason_code,
            properties: ConnAckProperties::default(),
        }
    }

    /// Replaces the v5 properties.
    pub fn properties(mut self, properties: ConnAckProperties) -> Self {
        self.properties = properties;
        self
    }

    pub(crate) fn decode(version: ProtocolVersion, mut r: Reader) -> Result<Self, Error> {
        let flags = r.u8()?;
        if flags & 0b1111_1110 != 0 {
            return Err(Error::ReservedConnAckFlags);
        }
        let session_present = flags & 1 != 0;
        let code = r.u8()?;
        let (reason_code, properties) = match version {
            ProtocolVersion::V311 => (from_v311(code)?, ConnAckProperties::default()),
            ProtocolVersion::V5 => {
                let reason_code = ReasonCode::from_u8(code)
                    .filter(|&c| c.is_valid_for(PacketType::ConnAck))
                    .ok_or(Error::ReasonCodeNotAllowed {
                        packet: PacketType::ConnAck,
                        code,
                    })?;
                (reason_code, ConnAckProperties::decode(&mut r)?)
            }
        };
        r.finish()?;
        if session_present && reason_code != ReasonCode::Success {
            return Err(Error::SessionPresentOnRefusal);
        }
        Ok(ConnAck {
            session_present,
            reason_code,
            properties,
        })
    }

    fn remaining_len(&self, version: ProtocolVersion) -> usize {
        match version {
            ProtocolVersion::V311 => 2,
            ProtocolVersion::V5 => 2 + properties::block_len(self.properties.len()),
        }
    }

    /// Exact size of this packet on the wire.
    pub fn encoded_len(&self, version: ProtocolVersion) -> usize {
        header::packet_len(self.remaining_len(version))
    }

    /// Appends this packet to `dst`, reserving its size once; on error `dst` is left as it was.
    pub fn encode(&self, version: ProtocolVersion, dst: &mut BytesMut) -> Result<(), Error> {
        header::atomic(dst, |dst| {
            if !self.reason_code.is_valid_for(PacketType::ConnAck) {
                return Err(Error::ReasonCodeNotAllowed {
                    packet: PacketType::ConnAck,
                    code: self.reason_code.as_u8(),
                });
            }
            if self.session_present && self.reason_code != ReasonCode::Success {
                return Err(Error::SessionPresentOnRefusal);
            }
            header::begin(dst, PacketType::ConnAck, 0, self.remaining_len(version))?;
            dst.put_u8(u8::from(self.session_present));
            match version {
                ProtocolVersion::V311 => dst.put_u8(to_v311(self.reason_code)),
                ProtocolVersion::V5 => {
                    dst.put_u8(self.reason_code.as_u8());
                    self.properties.encode(dst)?;
                }
            }
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use std::num::NonZeroU16;

    use super::*;
    use crate::QoS;
    use crate::packet::vectors::assert_wire;
    use ProtocolVersion::{V5, V311};

    #[test]
    fn v311_return_codes() {
        assert_wire(V311, ConnAck::new(ReasonCode::Success, true), b"\x20\x02\x01\x00");
        for (code, byte) in [
            (ReasonCode::UnsupportedProtocolVersion, 1u8),
            (ReasonCode::ClientIdentifierNotValid, 2),
            (ReasonCode::ServerUnavailable, 3),
            (ReasonCode::BadUserNameOrPassword, 4),
            (ReasonCode::NotAuthorized, 5),
        ] {
            assert_wire(V311, ConnAck::new(code, false), &[0x20, 0x02, 0x00, byte]);
        }
    }

    #[test]
    fn v311_maps_v5_only_refusals_to_the_nearest_code() {
        for (code, byte) in [
            (ReasonCode::Banned, 5u8),
            (ReasonCode::BadAuthenticationMethod, 4),
            (ReasonCode::ServerBusy, 3),
            (ReasonCode::QuotaExceeded, 3),
        ] {
            let mut out = BytesMut::new();
            ConnAck::new(code, false).encode(V311, &mut out).unwrap();
            assert_eq!(&out[..], &[0x20, 0x02, 0x00, byte]);
        }
    }

    #[test]
    fn v5_with_and_without_properties() {
        assert_wire(V5, ConnAck::new(ReasonCode::Success, false), b"\x20\x03\x00\x00\x00");
        assert_wire(V5, ConnAck::new(ReasonCode::Banned, false), b"\x20\x03\x00\x8A\x00");
        let props = ConnAckProperties {
            receive_maximum: NonZeroU16::new(10),
            maximum_qos: Some(QoS::AtLeastOnce),
            assigned_client_identifier: Some(crate::ByteStr::from_static("id")),
            ..Default::default()
        };
        assert_wire(
            V5,
            ConnAck::new(ReasonCode::Success, true).properties(props),
            b"\x20\x0D\x01\x00\x0A\x21\x00\x0A\x24\x01\x12\x00\x02id",
        );
    }

    #[test]
    fn encode_refuses_what_decode_refuses() {
        let mut out = BytesMut::new();
        assert_eq!(
            ConnAck::new(ReasonCode::NotAuthorized, true).encode(V5, &mut out),
            Err(Error::SessionPresentOnRefusal)
        );
        assert_eq!(
            ConnAck::new(ReasonCode::GrantedQoS1, false).encode(V5, &mut out),
            Err(Error::ReasonCodeNotAllowed {
                packet: PacketType::ConnAck,
                code: 0x01
            })
        );
        let props = ConnAckProperties {
            maximum_qos: Some(QoS::ExactlyOnce),
            ..Default::default()
        };
        assert_eq!(
            ConnAck::new(ReasonCode::Success, false)
                .properties(props)
                .encode(V5, &mut out),
            Err(Error::InvalidPropertyValue {
                property: crate::PropertyId::MaximumQoS
            })
        );
        assert!(out.is_empty());
    }
}
