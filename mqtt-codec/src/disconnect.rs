//! DISCONNECT (spec 3.14): the last packet of a connection; in v5 either side may send it, with a reason.

use bytes::{BufMut, BytesMut};

use crate::field::Reader;
use crate::properties::{self, DisconnectProperties};
use crate::{Error, PacketType, ProtocolVersion, ReasonCode, header};

/// A DISCONNECT packet. A 3.1.1 DISCONNECT is empty: `reason_code` and `properties` are left out when
/// encoding 3.1.1 and decode as Normal disconnection (0x00) with no properties.
///
/// The v5 reason codes it may carry are [`reason_codes::DISCONNECT`](crate::reason_codes::DISCONNECT).
///
/// ```
/// use mqtt_codec::{Disconnect, ReasonCode};
/// let d = Disconnect::new(ReasonCode::ServerShuttingDown);
/// assert_eq!(d.reason_code.as_u8(), 0x8B);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Disconnect {
    /// Why the connection ends (v5).
    pub reason_code: ReasonCode,
    /// MQTT 5.0 properties.
    pub properties: DisconnectProperties,
}

impl Default for Disconnect {
    fn default() -> Self {
        Disconnect::new(ReasonCode::NORMAL_DISCONNECTION)
    }
}

impl Disconnect {
    /// A DISCONNECT with `reason_code` and no properties.
    pub fn new(reason_code: ReasonCode) -> Self {
        Disconnect {
            reason_code,
            properties: DisconnectProperties::default(),
        }
    }

    /// Replaces the v5 properties.
    pub fn properties(mut self, properties: DisconnectProperties) -> Self {
        self.properties = properties;
        self
    }

    pub(crate) fn decode(version: ProtocolVersion, mut r: Reader) -> Result<Self, Error> {
        let mut d = Disconnect::default();
        if version.is_v5() && !r.is_empty() {
            let code = r.u8()?;
            d.reason_code = ReasonCode::from_u8(code)
                .filter(|&c| c.is_valid_for(PacketType::Disconnect))
                .ok_or(Error::ReasonCodeNotAllowed {
                    packet: PacketType::Disconnect,
                    code,
                })?;
            if !r.is_empty() {
                d.properties = DisconnectProperties::decode(&mut r)?;
            }
        }
        r.finish()?;
        Ok(d)
    }

    /// A v5 reason code is always followed by a Property Length, 0 when there are no properties. Spec
    /// 3.14.2.2.1 lets a DISCONNECT end after its reason code, but [MQTT-2.2.2-1] asks for the zero length, and
    /// common clients (rumqttc 0.25; paho.golang and rust-mqtt had the same bug) cannot parse the short form: they
    /// wait for the missing length and see a closed connection instead of the reason. The decoder accepts both.
    fn remaining_len(&self, version: ProtocolVersion) -> usize {
        match version {
            ProtocolVersion::V311 => 0,
            ProtocolVersion::V5 if self.properties.is_empty() && self.reason_code == ReasonCode::Success => 0,
            ProtocolVersion::V5 => 1 + properties::block_len(self.properties.len()),
        }
    }

    /// Exact size of this packet on the wire.
    pub fn encoded_len(&self, version: ProtocolVersion) -> usize {
        header::packet_len(self.remaining_len(version))
    }

    /// Appends this packet to `dst`, reserving its size once; on error `dst` is left as it was.
    pub fn encode(&self, version: ProtocolVersion, dst: &mut BytesMut) -> Result<(), Error> {
        header::atomic(dst, |dst| {
            if version.is_v5() && !self.reason_code.is_valid_for(PacketType::Disconnect) {
                return Err(Error::ReasonCodeNotAllowed {
                    packet: PacketType::Disconnect,
                    code: self.reason_code.as_u8(),
                });
            }
            let remaining = self.remaining_len(version);
            header::begin(dst, PacketType::Disconnect, 0, remaining)?;
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
    use crate::packet::vectors::{assert_decodes, assert_wire};
    use crate::{ByteStr, Packet};
    use ProtocolVersion::{V5, V311};

    #[test]
    fn both_versions() {
        assert_wire(V311, Disconnect::default(), b"\xE0\x00");
        assert_wire(V5, Disconnect::default(), b"\xE0\x00");
        assert_wire(V5, Disconnect::new(ReasonCode::ServerShuttingDown), b"\xE0\x02\x8B\x00");
        // The short form without a Property Length (3.14.2.2.1) decodes too.
        assert_eq!(
            assert_decodes(V5, b"\xE0\x01\x8E"),
            Packet::Disconnect(Disconnect::new(ReasonCode::SessionTakenOver))
        );
        let props = DisconnectProperties {
            session_expiry_interval: Some(60),
            server_reference: Some(ByteStr::from_static("s")),
            ..Default::default()
        };
        assert_wire(
            V5,
            Disconnect::new(ReasonCode::DisconnectWithWillMessage).properties(props),
            b"\xE0\x0B\x04\x09\x11\x00\x00\x00\x3C\x1C\x00\x01s",
        );
        // Long forms of a normal disconnection decode too.
        assert_eq!(
            assert_decodes(V5, b"\xE0\x01\x00"),
            Packet::Disconnect(Disconnect::default())
        );
        assert_eq!(
            assert_decodes(V5, b"\xE0\x02\x00\x00"),
            Packet::Disconnect(Disconnect::default())
        );
    }

    #[test]
    fn v311_leaves_the_reason_out() {
        let mut out = BytesMut::new();
        Disconnect::new(ReasonCode::ServerBusy).encode(V311, &mut out).unwrap();
        assert_eq!(&out[..], b"\xE0\x00");
    }
}
