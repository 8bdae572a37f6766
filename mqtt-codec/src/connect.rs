//! CONNECT (spec 3.1): the first packet of every connection, which also names the protocol version.

use bytes::{BufMut, Bytes, BytesMut};

use crate::field::{self, Reader};
use crate::properties::{self, ConnectProperties, WillProperties};
use crate::{ByteStr, Error, PacketType, ProtocolVersion, QoS, TopicName, header};

const PROTOCOL_NAME: &[u8] = b"MQTT";
/// The MQTT 3.1 protocol name; 3.1 (level 3) is not supported and is reported as an unsupported version.
const PROTOCOL_NAME_V31: &[u8] = b"MQIsdp";

/// A CONNECT packet.
///
/// CONNECT carries its own protocol version: it is decoded whatever version the caller passes, and it is
/// always encoded in [`Connect::protocol_version`]. `properties` (and the will's) are MQTT 5.0 only and are
/// ignored when encoding 3.1.1. MQTT 3.1 (`MQIsdp`, level 3) is refused with
/// [`Error::UnsupportedProtocolVersion`], so a server can answer with CONNACK return code 1.
///
/// ```
/// use bytes::Bytes;
/// use mqtt_codec::{ByteStr, Connect, ProtocolVersion, QoS, TopicName, Will};
/// let c = Connect::new(ByteStr::from_static("dev-1"))
///     .version(ProtocolVersion::V311)
///     .keep_alive(30)
///     .username(ByteStr::from_static("alice"))
///     .password(Bytes::from_static(b"secret"))
///     .will(Will::new(TopicName::from_static("dev-1/status"), "offline").qos(QoS::AtLeastOnce).retain(true));
/// assert_eq!(c.keep_alive, 30);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connect {
    /// Protocol level on the wire (4 or 5).
    pub protocol_version: ProtocolVersion,
    /// Start a new session (3.1.1 calls this Clean Session).
    pub clean_start: bool,
    /// Keep alive in seconds; 0 turns the mechanism off.
    pub keep_alive: u16,
    /// Client identifier; may be empty (the server then assigns one, or refuses in 3.1.1 without clean session).
    pub client_id: ByteStr,
    /// The will message, if any.
    pub will: Option<Will>,
    /// User name.
    pub username: Option<ByteStr>,
    /// Password (binary data). MQTT 3.1.1 allows it only together with a user name [MQTT-3.1.2-22].
    pub password: Option<Bytes>,
    /// MQTT 5.0 properties.
    pub properties: ConnectProperties,
}

/// The will message of a CONNECT (spec 3.1.2.5 and 3.1.3.2–3.1.3.4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Will {
    /// Topic the will is published to.
    pub topic: TopicName,
    /// Will payload (binary data, at most 65,535 bytes).
    pub payload: Bytes,
    /// QoS of the will publication.
    pub qos: QoS,
    /// Whether the will is retained.
    pub retain: bool,
    /// MQTT 5.0 will properties.
    pub properties: WillProperties,
}

impl Will {
    /// A QoS 0, non-retained will without properties.
    pub fn new(topic: TopicName, payload: impl Into<Bytes>) -> Self {
        Will {
            topic,
            payload: payload.into(),
            qos: QoS::AtMostOnce,
            retain: false,
            properties: WillProperties::default(),
        }
    }

    /// Sets the will QoS.
    pub fn qos(mut self, qos: QoS) -> Self {
        self.qos = qos;
        self
    }

    /// Sets will retain.
    pub fn retain(mut self, retain: bool) -> Self {
        self.retain = retain;
        self
    }

    /// Replaces the v5 will properties.
    pub fn properties(mut self, properties: WillProperties) -> Self {
        self.properties = properties;
        self
    }
}

impl Connect {
    /// A v5 CONNECT with clean start, a 60 s keep alive, no will, no credentials and no properties.
    pub fn new(client_id: ByteStr) -> Self {
        Connect {
            protocol_version: ProtocolVersion::V5,
            clean_start: true,
            keep_alive: 60,
            client_id,
            will: None,
            username: None,
            password: None,
            properties: ConnectProperties::default(),
        }
    }

    /// Sets the protocol version.
    pub fn version(mut self, version: ProtocolVersion) -> Self {
        self.protocol_version = version;
        self
    }

    /// Sets clean start (clean session in 3.1.1).
    pub fn clean_start(mut self, clean_start: bool) -> Self {
        self.clean_start = clean_start;
        self
    }

    /// Sets the keep alive in seconds.
    pub fn keep_alive(mut self, seconds: u16) -> Self {
        self.keep_alive = seconds;
        self
    }

    /// Sets the will.
    pub fn will(mut self, will: Will) -> Self {
        self.will = Some(will);
        self
    }

    /// Sets the user name.
    pub fn username(mut self, username: ByteStr) -> Self {
        self.username = Some(username);
        self
    }

    /// Sets the password.
    pub fn password(mut self, password: impl Into<Bytes>) -> Self {
        self.password = Some(password.into());
        self
    }

    /// Replaces the v5 properties.
    pub fn properties(mut self, properties: ConnectProperties) -> Self {
        self.properties = properties;
        self
    }

    pub(crate) fn decode(mut r: Reader) -> Result<Self, Error> {
        let name = r.binary()?;
        let level = r.u8()?;
        let protocol_version = match &name[..] {
            PROTOCOL_NAME => ProtocolVersion::from_level(level).ok_or(Error::UnsupportedProtocolVersion { level })?,
            PROTOCOL_NAME_V31 => return Err(Error::UnsupportedProtocolVersion { level }),
            _ => return Err(Error::InvalidProtocolName),
        };
        let v5 = protocol_version.is_v5();
        let flags = r.u8()?;
        if flags & 0b0000_0001 != 0 {
            return Err(Error::ReservedConnectFlag);
        }
        let clean_start = flags & 0b0000_0010 != 0;
        let will_flag = flags & 0b0000_0100 != 0;
        let will_qos = (flags >> 3) & 0b11;
        let will_retain = flags & 0b0010_0000 != 0;
        let password_flag = flags & 0b0100_0000 != 0;
        let username_flag = flags & 0b1000_0000 != 0;
        if !will_flag {
            if will_qos != 0 {
                return Err(Error::WillQoSWithoutWill);
            }
            if will_retain {
                return Err(Error::WillRetainWithoutWill);
            }
        }
        let will_qos = QoS::from_u8(will_qos).map_err(|_| Error::InvalidWillQoS)?;
        if !v5 && password_flag && !username_flag {
            return Err(Error::PasswordWithoutUsername);
        }
        let keep_alive = r.u16()?;
        let properties = if v5 {
            ConnectProperties::decode(&mut r)?
        } else {
            ConnectProperties::default()
        };
        if properties.authentication_data.is_some() && properties.authentication_method.is_none() {
            return Err(Error::AuthenticationDataWithoutMethod);
        }
        let client_id = r.string()?;
        let will = if will_flag {
            let properties = if v5 {
                WillProperties::decode(&mut r)?
            } else {
                WillProperties::default()
            };
            Some(Will {
                topic: r.topic_name()?,
                payload: r.binary()?,
                qos: will_qos,
                retain: will_retain,
                properties,
            })
        } else {
            None
        };
        let username = if username_flag { Some(r.string()?) } else { None };
        let password = if password_flag { Some(r.binary()?) } else { None };
        r.finish()?;
        Ok(Connect {
            protocol_version,
            clean_start,
            keep_alive,
            client_id,
            will,
            username,
            password,
            properties,
        })
    }

    fn remaining_len(&self) -> usize {
        let v5 = self.protocol_version.is_v5();
        // Protocol name, level, flags, keep alive.
        let mut len = field::binary_len(PROTOCOL_NAME) + 1 + 1 + 2;
        if v5 {
            len += properties::block_len(self.properties.len());
        }
        len += field::string_len(&self.client_id);
        if let Some(will) = &self.will {
            if v5 {
                len += properties::block_len(will.properties.len());
            }
            len += field::string_len(&will.topic) + field::binary_len(&will.payload);
        }
        if let Some(username) = &self.username {
            len += field::string_len(username);
        }
        if let Some(password) = &self.password {
            len += field::binary_len(password);
        }
        len
    }

    /// Exact size of this packet on the wire (in its own protocol version).
    pub fn encoded_len(&self) -> usize {
        header::packet_len(self.remaining_len())
    }

    /// Appends this packet to `dst` in [`Connect::protocol_version`]; on error `dst` is left as it was.
    pub fn encode(&self, dst: &mut BytesMut) -> Result<(), Error> {
        header::atomic(dst, |dst| {
            let v5 = self.protocol_version.is_v5();
            if !v5 && self.password.is_some() && self.username.is_none() {
                return Err(Error::PasswordWithoutUsername);
            }
            if v5 && self.properties.authentication_data.is_some() && self.properties.authentication_method.is_none() {
                return Err(Error::AuthenticationDataWithoutMethod);
            }
            let mut flags = u8::from(self.clean_start) << 1;
            if let Some(will) = &self.will {
                flags |= 0b100 | will.qos.as_u8() << 3 | u8::from(will.retain) << 5;
            }
            flags |= u8::from(self.password.is_some()) << 6 | u8::from(self.username.is_some()) << 7;

            header::begin(dst, PacketType::Connect, 0, self.remaining_len())?;
            field::put_binary(dst, PROTOCOL_NAME)?;
            dst.put_u8(self.protocol_version.level());
            dst.put_u8(flags);
            dst.put_u16(self.keep_alive);
            if v5 {
                self.properties.encode(dst)?;
            }
            field::put_string(dst, &self.client_id);
            if let Some(will) = &self.will {
                if v5 {
                    will.properties.encode(dst)?;
                }
                field::put_string(dst, &will.topic);
                field::put_binary(dst, &will.payload)?;
            }
            if let Some(username) = &self.username {
                field::put_string(dst, username);
            }
            if let Some(password) = &self.password {
                field::put_binary(dst, password)?;
            }
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packet::vectors::assert_wire;
    use ProtocolVersion::{V5, V311};

    fn full(version: ProtocolVersion) -> Connect {
        Connect::new(ByteStr::from_static("c"))
            .version(version)
            .keep_alive(10)
            .will(Will::new(TopicName::from_static("w"), "p").qos(QoS::AtLeastOnce))
            .username(ByteStr::from_static("u"))
            .password(Bytes::from_static(b"x"))
    }

    #[test]
    fn spec_v311_variable_header_example() {
        // 3.1.1 figure 3.6: "MQTT", level 4, flags 0xCE (user, password, will QoS 1, will, clean), keep alive 10.
        assert_wire(
            V311,
            full(V311),
            b"\x10\x19\x00\x04MQTT\x04\xCE\x00\x0A\x00\x01c\x00\x01w\x00\x01p\x00\x01u\x00\x01x",
        );
    }

    #[test]
    fn spec_v5_variable_header_example() {
        // v5 figure 3-6: level 5, flags 0xCE, keep alive 10, properties: Session Expiry Interval 10.
        let mut c = full(V5);
        c.properties.session_expiry_interval = Some(10);
        assert_wire(
            V5,
            c,
            b"\x10\x20\x00\x04MQTT\x05\xCE\x00\x0A\x05\x11\x00\x00\x00\x0A\x00\x01c\x00\x00\x01w\x00\x01p\x00\x01u\x00\x01x",
        );
    }

    #[test]
    fn minimal_and_version_independent_decoding() {
        let wire = b"\x10\x0D\x00\x04MQTT\x04\x02\x00\x3C\x00\x01c";
        let c = Connect::new(ByteStr::from_static("c")).version(V311);
        assert_wire(V311, c.clone(), wire);
        // CONNECT carries its own version: decoding "as v5" still yields the 3.1.1 CONNECT.
        assert_wire(V5, c, wire);
    }

    #[test]
    fn password_without_username() {
        let c = Connect::new(ByteStr::new()).password(Bytes::from_static(b"pw"));
        // Allowed in v5 (flags 0x42)...
        assert_wire(
            V5,
            c.clone(),
            b"\x10\x11\x00\x04MQTT\x05\x42\x00\x3C\x00\x00\x00\x00\x02pw",
        );
        // ...not in 3.1.1.
        let mut out = BytesMut::new();
        assert_eq!(c.version(V311).encode(&mut out), Err(Error::PasswordWithoutUsername));
        assert!(out.is_empty());
    }

    #[test]
    fn will_retain_and_qos2() {
        let c = Connect::new(ByteStr::from_static("c"))
            .version(V311)
            .clean_start(false)
            .keep_alive(0)
            .will(
                Will::new(TopicName::from_static("w"), "")
                    .qos(QoS::ExactlyOnce)
                    .retain(true),
            );
        // Flags: will retain 0x20 | will QoS 2 0x10 | will 0x04.
        assert_wire(
            V311,
            c,
            b"\x10\x12\x00\x04MQTT\x04\x34\x00\x00\x00\x01c\x00\x01w\x00\x00",
        );
    }
}
