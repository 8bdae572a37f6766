//! SUBSCRIBE (spec 3.8): one or more topic filters with their options. Fixed-header flags are 0b0010.

use bytes::{BufMut, BytesMut};

use crate::field::{self, PREALLOCATE_MAX, Reader};
use crate::properties::{self, SubscribeProperties};
use crate::{Error, PacketId, PacketType, ProtocolVersion, SubscriptionOptions, TopicFilter, header};

/// A SUBSCRIBE packet: at least one `(filter, options)` pair [MQTT-3.8.3-2].
///
/// In 3.1.1 only the QoS of the options exists; the v5 option bits and `properties` are left out when encoding
/// 3.1.1. A `$share/...` filter is validated as a shared subscription in both versions.
///
/// ```
/// use mqtt_codec::{PacketId, QoS, Subscribe, SubscriptionOptions, TopicFilter};
/// let s = Subscribe::new(
///     PacketId::new(1).unwrap(),
///     [(TopicFilter::from_static("fleet/+/status"), SubscriptionOptions::new(QoS::AtLeastOnce))],
/// );
/// assert_eq!(s.filters.len(), 1);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscribe {
    /// Identifier echoed by SUBACK.
    pub packet_id: PacketId,
    /// The subscriptions, in order.
    pub filters: Vec<(TopicFilter, SubscriptionOptions)>,
    /// MQTT 5.0 properties.
    pub properties: SubscribeProperties,
}

impl Subscribe {
    /// A SUBSCRIBE without properties.
    pub fn new(packet_id: PacketId, filters: impl IntoIterator<Item = (TopicFilter, SubscriptionOptions)>) -> Self {
        Subscribe {
            packet_id,
            filters: filters.into_iter().collect(),
            properties: SubscribeProperties::default(),
        }
    }

    /// Replaces the v5 properties.
    pub fn properties(mut self, properties: SubscribeProperties) -> Self {
        self.properties = properties;
        self
    }

    pub(crate) fn decode(version: ProtocolVersion, mut r: Reader) -> Result<Self, Error> {
        let packet_id = r.packet_id()?;
        let properties = match version {
            ProtocolVersion::V5 => SubscribeProperties::decode(&mut r)?,
            ProtocolVersion::V311 => SubscribeProperties::default(),
        };
        // Sized once for ordinary packets; a hostile one cannot make us reserve more than a little up front.
        let mut filters = Vec::with_capacity(r.count_prefixed(1).min(PREALLOCATE_MAX));
        while !r.is_empty() {
            let filter = r.topic_filter()?;
            let byte = r.u8()?;
            let options = match version {
                ProtocolVersion::V5 => SubscriptionOptions::from_v5_byte(byte)?,
                ProtocolVersion::V311 => SubscriptionOptions::from_v311_byte(byte)?,
            };
            if options.no_local && filter.is_shared() {
                return Err(Error::NoLocalOnSharedSubscription);
            }
            filters.push((filter, options));
        }
        if filters.is_empty() {
            return Err(Error::EmptySubscribe);
        }
        Ok(Subscribe {
            packet_id,
            filters,
            properties,
        })
    }

    fn remaining_len(&self, version: ProtocolVersion) -> usize {
        let mut len = 2 + self
            .filters
            .iter()
            .map(|(f, _)| field::string_len(f) + 1)
            .sum::<usize>();
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
                return Err(Error::EmptySubscribe);
            }
            if version.is_v5() && self.filters.iter().any(|(f, o)| o.no_local && f.is_shared()) {
                return Err(Error::NoLocalOnSharedSubscription);
            }
            header::begin(dst, PacketType::Subscribe, 0b0010, self.remaining_len(version))?;
            dst.put_u16(self.packet_id.get());
            if version.is_v5() {
                self.properties.encode(dst)?;
            }
            for (filter, options) in &self.filters {
                field::put_string(dst, filter);
                dst.put_u8(match version {
                    ProtocolVersion::V5 => options.to_v5_byte(),
                    ProtocolVersion::V311 => options.to_v311_byte(),
                });
            }
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packet::vectors::assert_wire;
    use crate::{QoS, RetainHandling, SubscriptionId};
    use ProtocolVersion::{V5, V311};

    fn spec_example() -> Subscribe {
        Subscribe::new(
            PacketId::new(10).unwrap(),
            [
                (
                    TopicFilter::from_static("a/b"),
                    SubscriptionOptions::new(QoS::AtLeastOnce),
                ),
                (
                    TopicFilter::from_static("c/d"),
                    SubscriptionOptions::new(QoS::ExactlyOnce),
                ),
            ],
        )
    }

    #[test]
    fn spec_payload_example() {
        // Spec 3.8.3 payload example: "a/b" QoS 1 and "c/d" QoS 2.
        assert_wire(V311, spec_example(), b"\x82\x0E\x00\x0A\x00\x03a/b\x01\x00\x03c/d\x02");
        assert_wire(
            V5,
            spec_example(),
            b"\x82\x0F\x00\x0A\x00\x00\x03a/b\x01\x00\x03c/d\x02",
        );
    }

    #[test]
    fn v5_options_and_subscription_identifier() {
        let options = SubscriptionOptions {
            qos: QoS::AtLeastOnce,
            no_local: true,
            retain_as_published: true,
            retain_handling: RetainHandling::DoNotSend,
        };
        let s = Subscribe::new(PacketId::new(1).unwrap(), [(TopicFilter::from_static("a/#"), options)]).properties(
            SubscribeProperties {
                subscription_identifier: SubscriptionId::new(5),
                ..Default::default()
            },
        );
        assert_wire(V5, s, b"\x82\x0B\x00\x01\x02\x0B\x05\x00\x03a/#\x2D");
    }

    #[test]
    fn encode_refuses_empty_and_no_local_on_shared() {
        let mut out = BytesMut::new();
        let empty = Subscribe::new(PacketId::new(1).unwrap(), []);
        assert_eq!(empty.encode(V5, &mut out), Err(Error::EmptySubscribe));
        let mut options = SubscriptionOptions::new(QoS::AtMostOnce);
        options.no_local = true;
        let shared = Subscribe::new(
            PacketId::new(1).unwrap(),
            [(TopicFilter::from_static("$share/g/a"), options)],
        );
        assert_eq!(shared.encode(V5, &mut out), Err(Error::NoLocalOnSharedSubscription));
        assert!(out.is_empty());
    }
}
