//! UNSUBSCRIBE (spec 3.10): removes subscriptions. Fixed-header flags are 0b0010.

use bytes::{BufMut, BytesMut};

use crate::field::{self, PREALLOCATE_MAX, Reader};
use crate::properties::{self, UnsubscribeProperties};
use crate::{Error, PacketId, PacketType, ProtocolVersion, TopicFilter, header};

/// An UNSUBSCRIBE packet: at least one topic filter [MQTT-3.10.3-2]. `properties` are ignored in 3.1.1.
///
/// ```
/// use mqtt_codec::{PacketId, TopicFilter, Unsubscribe};
/// let u = Unsubscribe::new(PacketId::new(2).unwrap(), [TopicFilter::from_static("fleet/#")]);
/// assert_eq!(u.filters.len(), 1);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsubscribe {
    /// Identifier echoed by UNSUBACK.
    pub packet_id: PacketId,
    /// Filters to remove, exactly as they were subscribed.
    pub filters: Vec<TopicFilter>,
    /// MQTT 5.0 properties.
    pub properties: UnsubscribeProperties,
}

impl Unsubscribe {
    /// An UNSUBSCRIBE without properties.
    pub fn new(packet_id: PacketId, filters: impl IntoIterator<Item = TopicFilter>) -> Self {
        Unsubscribe {
            packet_id,
            filters: filters.into_iter().collect(),
            properties: UnsubscribeProperties::default(),
        }
    }

    /// Replaces the v5 properties.
    pub fn properties(mut self, properties: UnsubscribeProperties) -> Self {
        self.properties = properties;
        self
    }

    pub(crate) fn decode(version: ProtocolVersion, mut r: Reader) -> Result<Self, Error> {
        let packet_id = r.packet_id()?;
        let properties = match version {
            ProtocolVersion::V5 => UnsubscribeProperties::decode(&mut r)?,
            ProtocolVersion::V311 => UnsubscribeProperties::default(),
        };
        // Sized once for ordinary packets; a hostile one cannot make us reserve more than a little up front.
        let mut filters = Vec::with_capacity(r.count_prefixed(0).min(PREALLOCATE_MAX));
        while !r.is_empty() {
            filters.push(r.topic_filter()?);
        }
        if filters.is_empty() {
            return Err(Error::EmptyUnsubscribe);
        }
        Ok(Unsubscribe {
            packet_id,
            filters,
            properties,
        })
    }

    fn remaining_len(&self, version: ProtocolVersion) -> usize {
        let mut len = 2 + self.filters.iter().map(|f| field::string_len(f)).sum::<usize>();
        if version.is_v5() {
            len += properties::block_len(self.properties.len());
        }
        len
    }

    /// Exact size of this packet on the wire.
    pub fn encoded_len(&self, version: ProtocolVersion) -> usize {
        header::packet_len(self.remaining_len(version))
    }

    /// Appends this packet to `dst`, reserving its size once; on error `dst` is left as it was.
    pub fn encode(&self, version: ProtocolVersion, dst: &mut BytesMut) -> Result<(), Error> {
        header::atomic(dst, |dst| {
            if self.filters.is_empty() {
                return Err(Error::EmptyUnsubscribe);
            }
            header::begin(dst, PacketType::Unsubscribe, 0b0010, self.remaining_len(version))?;
            dst.put_u16(self.packet_id.get());
            if version.is_v5() {
                self.properties.encode(dst)?;
            }
            for filter in &self.filters {
                field::put_string(dst, filter);
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

    #[test]
    fn spec_payload_example() {
        // Spec 3.10.3 example: "a/b" and "c/d".
        let u = Unsubscribe::new(
            PacketId::new(10).unwrap(),
            [TopicFilter::from_static("a/b"), TopicFilter::from_static("c/d")],
        );
        assert_wire(V311, u.clone(), b"\xA2\x0C\x00\x0A\x00\x03a/b\x00\x03c/d");
        assert_wire(V5, u, b"\xA2\x0D\x00\x0A\x00\x00\x03a/b\x00\x03c/d");
    }

    #[test]
    fn encode_refuses_empty() {
        let mut out = BytesMut::new();
        let u = Unsubscribe::new(PacketId::new(1).unwrap(), []);
        assert_eq!(u.encode(V311, &mut out), Err(Error::EmptyUnsubscribe));
    }
}
