//! AUTH (spec 3.15): extended authentication exchange, MQTT 5.0 only.

use bytes::{BufMut, BytesMut};

use crate::field::Reader;
use crate::properties::{self, AuthProperties};
use crate::{Error, PacketType, ProtocolVersion, ReasonCode, header};

/// An AUTH packet. MQTT 3.1.1 has no AUTH: its packet type 15 is reserved there, so decoding it in 3.1.1 is
/// [`Error::ReservedPacketType`] and encoding it in 3.1.1 is [`Error::NotInVersion`].
///
/// The v5 reason codes it may carry are [`reason_codes::AUTH`](crate::reason_codes::AUTH).
///
/// ```
/// use mqtt_codec::{Auth, ReasonCode};
/// let a = Auth::new(ReasonCode::ContinueAuthentication);
/// assert_eq!(a.reason_code.as_u8(), 0x18);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Auth {
    /// Success (0x00), Continue authentication (0x18) or Re-authenticate (0x19).
    pub reason_code: ReasonCode,
    /// Authentication method, data and diagnostics.
    pub properties: AuthProperties,
}

impl Auth {
    /// An AUTH with `reason_code` and no properties.
    pub fn new(reason_code: ReasonCode) -> Self {
        Auth {
            reason_code,
            properties: AuthProperties::default(),
        }
    }

    /// Replaces the properties.
    pub fn properties(mut self, properties: AuthProperties) -> Self {
        self.properties = properties;
        self
    }

    pub(crate) fn decode(mut r: Reader) -> Result<Self, Error> {
        let mut a = Auth::new(ReasonCode::Success);
        if !r.is_empty() {
            let code = r.u8()?;
            a.reason_code = ReasonCode::from_u8(code)
                .filter(|&c| c.is_valid_for(PacketType::Auth))
                .ok_or(Error::ReasonCodeNotAllowed {
                    packet: PacketType::Auth,
                    code,
                })?;
            if !r.is_empty() {
                a.properties = AuthProperties::decode(&mut r)?;
            }
        }
        r.finish()?;
        Ok(a)
    }

    fn remaining_len(&self) -> usize {
        if self.properties.is_empty() && self.reason_code == ReasonCode::Success {
            0
        } else if self.properties.is_empty() {
            1
        } else {
            1 + properties::block_len(self.properties.len())
        }
    }

    /// Exact size of this packet on the wire.
    pub fn encoded_len(&self) -> usize {
        header::packet_len(self.remaining_len())
    }

    /// Appends this packet to `dst`, reserving its size once; on error `dst` is left as it was.
    pub fn encode(&self, version: ProtocolVersion, dst: &mut BytesMut) -> Result<(), Error> {
        header::atomic(dst, |dst| {
            if !version.is_v5() {
                return Err(Error::NotInVersion { what: "AUTH", version });
            }
            if !self.reason_code.is_valid_for(PacketType::Auth) {
                return Err(Error::ReasonCodeNotAllowed {
                    packet: PacketType::Auth,
                    code: self.reason_code.as_u8(),
                });
            }
            let remaining = self.remaining_len();
            header::begin(dst, PacketType::Auth, 0, remaining)?;
            if remaining > 0 {
                dst.put_u8(self.reason_code.as_u8());
            }
            if remaining > 1 {
                self.properties.encode(dst)?;
            }
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ByteStr;
    use crate::packet::vectors::assert_wire;
    use ProtocolVersion::{V5, V311};

    #[test]
    fn vectors() {
        assert_wire(V5, Auth::new(ReasonCode::Success), b"\xF0\x00");
        assert_wire(V5, Auth::new(ReasonCode::ReAuthenticate), b"\xF0\x01\x19");
        let props = AuthProperties {
            authentication_method: Some(ByteStr::from_static("x")),
            ..Default::default()
        };
        assert_wire(
            V5,
            Auth::new(ReasonCode::ContinueAuthentication).properties(props),
            b"\xF0\x06\x18\x04\x15\x00\x01x",
        );
    }

    #[test]
    fn not_in_v311() {
        let mut out = BytesMut::new();
        assert_eq!(
            Auth::new(ReasonCode::Success).encode(V311, &mut out),
            Err(Error::NotInVersion {
                what: "AUTH",
                version: V311
            })
        );
        assert!(out.is_empty());
    }
}
