//! One MQTT application message as both sides encode it.

use crate::reader::{Reader, put_bytes, put_varint};
use crate::response::DecodeLimits;
use crate::{DecodeError, QoS};

/// MQTT v5 user properties as raw name/value byte pairs, in order.
pub type UserProperties<'a> = Vec<(&'a [u8], &'a [u8])>;

const QOS_MASK: u8 = 0b0000_0011;
const RETAIN: u8 = 0b0000_0100;

/// A borrowed view of an encoded message. Strings stay raw bytes here: the host validates topics with the
/// MQTT rules (and UTF-8) when it converts a view into its own message type, the guest checks UTF-8.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MessageView<'a> {
    /// The topic name.
    pub topic: &'a [u8],
    /// The application payload.
    pub payload: &'a [u8],
    /// The QoS.
    pub qos: QoS,
    /// The retain flag.
    pub retain: bool,
    /// v5 user properties, in order.
    pub user_properties: UserProperties<'a>,
}

impl<'a> MessageView<'a> {
    /// Appends the encoding of this message to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        encode_message(
            out,
            self.topic,
            self.payload,
            self.qos,
            self.retain,
            self.user_properties.iter().copied(),
        );
    }

    pub(crate) fn decode(r: &mut Reader<'a>, limits: &DecodeLimits) -> Result<Self, DecodeError> {
        let flags = r.u8("message flags")?;
        if flags & !(QOS_MASK | RETAIN) != 0 {
            return Err(DecodeError::BadFlags(flags));
        }
        let qos = QoS::try_from(flags & QOS_MASK)?;
        let topic = r.bytes("topic", limits.max_topic_len)?;
        let payload = r.bytes("payload", limits.max_payload_len)?;
        let count = r.varint("user property count")?;
        if count > limits.max_user_properties {
            return Err(DecodeError::TooLarge {
                field: "user property count",
                len: count,
                max: limits.max_user_properties,
            });
        }
        // Each property takes at least two bytes, so a count the buffer cannot hold is refused before
        // anything is allocated for it.
        if count > r.remaining() / 2 {
            return Err(DecodeError::Truncated {
                field: "user properties",
            });
        }
        // Most messages have none; `Vec::new` skips the allocator's bookkeeping for them.
        let mut user_properties = if count == 0 {
            Vec::new()
        } else {
            Vec::with_capacity(count)
        };
        for _ in 0..count {
            let name = r.bytes("user property name", limits.max_topic_len)?;
            let value = r.bytes("user property value", limits.max_topic_len)?;
            user_properties.push((name, value));
        }
        Ok(MessageView {
            topic,
            payload,
            qos,
            retain: flags & RETAIN != 0,
            user_properties,
        })
    }
}

/// Encodes one message from its parts; both sides use this so neither needs to build a [`MessageView`].
pub fn encode_message<'p>(
    out: &mut Vec<u8>,
    topic: &[u8],
    payload: &[u8],
    qos: QoS,
    retain: bool,
    user_properties: impl ExactSizeIterator<Item = (&'p [u8], &'p [u8])>,
) {
    out.push(qos.as_u8() | if retain { RETAIN } else { 0 });
    put_bytes(out, topic);
    put_bytes(out, payload);
    put_varint(out, user_properties.len());
    for (name, value) in user_properties {
        put_bytes(out, name);
        put_bytes(out, value);
    }
}
