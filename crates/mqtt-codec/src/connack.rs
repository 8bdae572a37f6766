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

/// Reason codes a v5 CONNACK may carry (spec 3.2.2.2).
fn allowed(code: ReasonCode) -> bool {
    use ReasonCode::*;
    matches!(
        code,
        Success
            | UnspecifiedError
            | MalformedPacket
            | ProtocolError
            | ImplementationSpecificError
            | UnsupportedProtocolVersion
            | ClientIdentifierNotValid
            | BadUserNameOrPassword
            | NotAuthorized
            | ServerUnavailable
            | ServerBusy
            | Banned
            | BadAuthenticationMethod
            | TopicNameInvalid
            | PacketTooLarge
            | QuotaExceeded
            | PayloadFormatInvalid
            | RetainNotSupported
            | QoSNotSupported
            | UseAnotherServer
            | ServerMoved
            | ConnectionRateExceeded
    )
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
                let reason_code =
                    ReasonCode::from_u8(code)
                        .filter(|&c| allowed(c))
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

    /// Appends this packet to `dst`.
    pub fn encode(&self, version: ProtocolVersion, dst: &mut BytesMut) -> Result<(), Error> {
        if !allowed(self.reason_code) {
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
    }
}
