//! What a function returns: forward unchanged, discard, or publish a list of messages.

use crate::message::MessageView;
use crate::reader::{Reader, put_varint};
use crate::{DecodeError, VERSION};

const KIND_FORWARD: u8 = 0;
const KIND_DISCARD: u8 = 1;
const KIND_PUBLISH: u8 = 2;

/// The complete encoding of [`Response::Forward`], for a guest that answers without building a buffer.
pub const FORWARD_RESPONSE: [u8; 2] = [VERSION, KIND_FORWARD];

/// The complete encoding of [`Response::Discard`].
pub const DISCARD_RESPONSE: [u8; 2] = [VERSION, KIND_DISCARD];

/// A function's decision about one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Response<'a> {
    /// Pass the input message on unchanged (the guest sends no bytes back for it).
    Forward,
    /// Drop the message; a chain stops here.
    Discard,
    /// Replace the message by these (zero or more) messages.
    Publish(Vec<MessageView<'a>>),
}

/// Bounds applied while decoding a response; the host sets them from its configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecodeLimits {
    /// Most messages one response may publish.
    pub max_messages: usize,
    /// Longest topic (and user property name or value) in bytes; MQTT's own limit is 65,535.
    pub max_topic_len: usize,
    /// Longest payload in bytes.
    pub max_payload_len: usize,
    /// Most user properties on one message.
    pub max_user_properties: usize,
}

impl Default for DecodeLimits {
    /// 64 messages, MQTT's 65,535-byte strings, 1 MiB payloads, 64 user properties.
    fn default() -> Self {
        DecodeLimits {
            max_messages: 64,
            max_topic_len: 65_535,
            max_payload_len: 1 << 20,
            max_user_properties: 64,
        }
    }
}

impl DecodeLimits {
    /// No limits beyond the buffer's own length (for input the decoder's own side produced).
    pub fn unbounded() -> Self {
        DecodeLimits {
            max_messages: usize::MAX,
            max_topic_len: usize::MAX,
            max_payload_len: usize::MAX,
            max_user_properties: usize::MAX,
        }
    }
}

impl<'a> Response<'a> {
    /// Appends the encoding of this response to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        match self {
            Response::Forward => out.extend_from_slice(&FORWARD_RESPONSE),
            Response::Discard => out.extend_from_slice(&DISCARD_RESPONSE),
            Response::Publish(messages) => {
                Self::encode_publish_header(out, messages.len());
                for m in messages {
                    m.encode(out);
                }
            }
        }
    }

    /// Writes the header of a publish response for `count` messages; the caller then appends each message
    /// with [`crate::message::encode_message`] or [`MessageView::encode`].
    pub fn encode_publish_header(out: &mut Vec<u8>, count: usize) {
        out.extend_from_slice(&[VERSION, KIND_PUBLISH]);
        put_varint(out, count);
    }

    /// Decodes a response, enforcing `limits`.
    pub fn decode(buf: &'a [u8], limits: &DecodeLimits) -> Result<Self, DecodeError> {
        let mut r = Reader::new(buf);
        let version = r.u8("version")?;
        if version != VERSION {
            return Err(DecodeError::UnsupportedVersion(version));
        }
        let response = match r.u8("response kind")? {
            KIND_FORWARD => Response::Forward,
            KIND_DISCARD => Response::Discard,
            KIND_PUBLISH => {
                let count = r.varint("message count")?;
                if count > limits.max_messages {
                    return Err(DecodeError::TooLarge {
                        field: "message count",
                        len: count,
                        max: limits.max_messages,
                    });
                }
                // A message is at least four bytes (flags and three zero lengths).
                if count > r.remaining() / 4 {
                    return Err(DecodeError::Truncated { field: "messages" });
                }
                let mut messages = Vec::with_capacity(count);
                for _ in 0..count {
                    messages.push(MessageView::decode(&mut r, limits)?);
                }
                Response::Publish(messages)
            }
            other => return Err(DecodeError::BadResponseKind(other)),
        };
        r.finish()?;
        Ok(response)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[allow(clippy::type_complexity)]
    fn arb_message() -> impl Strategy<Value = (Vec<u8>, Vec<u8>, u8, bool, Vec<(Vec<u8>, Vec<u8>)>)> {
        (
            proptest::collection::vec(any::<u8>(), 0..40),
            proptest::collection::vec(any::<u8>(), 0..200),
            0u8..3,
            any::<bool>(),
            proptest::collection::vec(
                (
                    proptest::collection::vec(any::<u8>(), 0..8),
                    proptest::collection::vec(any::<u8>(), 0..8),
                ),
                0..4,
            ),
        )
    }

    proptest! {
        #[test]
        fn publish_round_trips(msgs in proptest::collection::vec(arb_message(), 0..6)) {
            let views: Vec<MessageView<'_>> = msgs
                .iter()
                .map(|(t, p, q, r, props)| MessageView {
                    topic: t,
                    payload: p,
                    qos: crate::QoS::try_from(*q).unwrap(),
                    retain: *r,
                    user_properties: props.iter().map(|(k, v)| (k.as_slice(), v.as_slice())).collect(),
                })
                .collect();
            let resp = Response::Publish(views);
            let mut out = Vec::new();
            resp.encode(&mut out);
            prop_assert_eq!(Response::decode(&out, &DecodeLimits::default()).unwrap(), resp);
            for cut in 0..out.len() {
                prop_assert!(Response::decode(&out[..cut], &DecodeLimits::default()).is_err());
            }
        }

        #[test]
        fn hostile_bytes_never_panic(buf in proptest::collection::vec(any::<u8>(), 0..128)) {
            let _ = Response::decode(&buf, &DecodeLimits::default());
        }
    }

    #[test]
    fn forward_and_discard_are_two_bytes() {
        let mut out = Vec::new();
        Response::Forward.encode(&mut out);
        assert_eq!(out, [VERSION, KIND_FORWARD]);
        assert_eq!(
            Response::decode(&FORWARD_RESPONSE, &DecodeLimits::default()),
            Ok(Response::Forward)
        );
        out.clear();
        Response::Discard.encode(&mut out);
        assert_eq!(out, DISCARD_RESPONSE);
        assert_eq!(Response::decode(&out, &DecodeLimits::default()), Ok(Response::Discard));
    }

    #[test]
    fn huge_counts_are_refused_before_allocating() {
        let mut out = Vec::new();
        Response::encode_publish_header(&mut out, u32::MAX as usize);
        let limits = DecodeLimits {
            max_messages: usize::MAX,
            ..DecodeLimits::default()
        };
        assert_eq!(
            Response::decode(&out, &limits),
            Err(DecodeError::Truncated { field: "messages" })
        );
        assert!(matches!(
            Response::decode(&out, &DecodeLimits::default()),
            Err(DecodeError::TooLarge {
                field: "message count",
                ..
            })
        ));
    }

    #[test]
    fn limits_apply_to_payload_and_trailing_bytes_are_errors() {
        let big = vec![0u8; 100];
        let resp = Response::Publish(vec![MessageView {
            topic: b"t",
            payload: &big,
            ..Default::default()
        }]);
        let mut out = Vec::new();
        resp.encode(&mut out);
        let limits = DecodeLimits {
            max_payload_len: 99,
            ..DecodeLimits::default()
        };
        assert!(matches!(
            Response::decode(&out, &limits),
            Err(DecodeError::TooLarge { field: "payload", .. })
        ));
        out.push(0);
        assert_eq!(
            Response::decode(&out, &DecodeLimits::default()),
            Err(DecodeError::TrailingBytes(1))
        );
        assert_eq!(
            Response::decode(&[9, 0], &DecodeLimits::default()),
            Err(DecodeError::UnsupportedVersion(9))
        );
        assert_eq!(
            Response::decode(&[VERSION, 7], &DecodeLimits::default()),
            Err(DecodeError::BadResponseKind(7))
        );
    }
}
