//! What the host sends a function: the message, the last payload seen on its topic, and who sent it.

use crate::message::MessageView;
use crate::reader::{Reader, put_bytes};
use crate::response::DecodeLimits;
use crate::{DecodeError, Direction, VERSION};

const HAS_HIS_PAYLOAD: u8 = 0b001;
const HAS_USERNAME: u8 = 0b010;
const HAS_PEER_ADDR: u8 = 0b100;

/// A borrowed view of one function call's input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestView<'a> {
    /// Whether the message is on its way in (`upstream`) or out (`downstream`).
    pub direction: Direction,
    /// The MQTT protocol level of the client the message belongs to: 4 (3.1.1) or 5.
    pub protocol_version: u8,
    /// The message itself.
    pub message: MessageView<'a>,
    /// The previous payload this binding saw on the same topic, if the host kept one.
    pub his_payload: Option<&'a [u8]>,
    /// The MQTT client identifier.
    pub client_id: &'a [u8],
    /// The username from CONNECT, if any.
    pub username: Option<&'a [u8]>,
    /// The peer's socket address as text, if the transport has one.
    pub peer_addr: Option<&'a [u8]>,
}

/// Appends the encoding of `req` to `out`.
pub fn encode_request(req: &RequestView<'_>, out: &mut Vec<u8>) {
    let mut flags = 0;
    if req.his_payload.is_some() {
        flags |= HAS_HIS_PAYLOAD;
    }
    if req.username.is_some() {
        flags |= HAS_USERNAME;
    }
    if req.peer_addr.is_some() {
        flags |= HAS_PEER_ADDR;
    }
    out.extend_from_slice(&[VERSION, req.direction.to_byte(), req.protocol_version, flags]);
    req.message.encode(out);
    if let Some(his) = req.his_payload {
        put_bytes(out, his);
    }
    put_bytes(out, req.client_id);
    if let Some(u) = req.username {
        put_bytes(out, u);
    }
    if let Some(p) = req.peer_addr {
        put_bytes(out, p);
    }
}

/// Decodes a request (the guest side of [`encode_request`]).
pub fn decode_request(buf: &[u8]) -> Result<RequestView<'_>, DecodeError> {
    let limits = DecodeLimits::unbounded();
    let mut r = Reader::new(buf);
    let version = r.u8("version")?;
    if version != VERSION {
        return Err(DecodeError::UnsupportedVersion(version));
    }
    let direction = Direction::from_byte(r.u8("direction")?)?;
    let protocol_version = r.u8("protocol version")?;
    let flags = r.u8("request flags")?;
    if flags & !(HAS_HIS_PAYLOAD | HAS_USERNAME | HAS_PEER_ADDR) != 0 {
        return Err(DecodeError::BadFlags(flags));
    }
    let message = MessageView::decode(&mut r, &limits)?;
    let his_payload = r.optional_bytes(flags & HAS_HIS_PAYLOAD != 0, "his_payload")?;
    let client_id = r.bytes("client_id", usize::MAX)?;
    let username = r.optional_bytes(flags & HAS_USERNAME != 0, "username")?;
    let peer_addr = r.optional_bytes(flags & HAS_PEER_ADDR != 0, "peer_addr")?;
    r.finish()?;
    Ok(RequestView {
        direction,
        protocol_version,
        message,
        his_payload,
        client_id,
        username,
        peer_addr,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[allow(clippy::type_complexity)]
    fn arb_request() -> impl Strategy<
        Value = (
            Vec<u8>,
            Vec<u8>,
            u8,
            bool,
            Vec<(Vec<u8>, Vec<u8>)>,
            Option<Vec<u8>>,
            Vec<u8>,
            Option<Vec<u8>>,
            Option<Vec<u8>>,
            bool,
            u8,
        ),
    > {
        (
            proptest::collection::vec(any::<u8>(), 0..40),
            proptest::collection::vec(any::<u8>(), 0..300),
            0u8..3,
            any::<bool>(),
            proptest::collection::vec(
                (
                    proptest::collection::vec(any::<u8>(), 0..8),
                    proptest::collection::vec(any::<u8>(), 0..8),
                ),
                0..4,
            ),
            proptest::option::of(proptest::collection::vec(any::<u8>(), 0..50)),
            proptest::collection::vec(any::<u8>(), 0..20),
            proptest::option::of(proptest::collection::vec(any::<u8>(), 0..20)),
            proptest::option::of(proptest::collection::vec(any::<u8>(), 0..20)),
            any::<bool>(),
            prop_oneof![Just(4u8), Just(5u8)],
        )
    }

    /// The exact bytes of one request, written out by hand from the layout: a change of the encoding fails here
    /// even when encoder and decoder change together.
    #[test]
    fn encoding_is_the_documented_layout() {
        let req = RequestView {
            direction: Direction::Downstream,
            protocol_version: 5,
            message: MessageView {
                topic: b"a/b",
                payload: b"21.5",
                qos: crate::QoS::AtLeastOnce,
                retain: true,
                user_properties: vec![(b"k", b"v")],
            },
            his_payload: None,
            client_id: b"dev-1",
            username: Some(b"al"),
            peer_addr: None,
        };
        let mut out = Vec::new();
        encode_request(&req, &mut out);
        let expected: &[u8] = &[
            VERSION,
            1,
            5,
            HAS_USERNAME, // header: version, downstream, MQTT 5, flags
            0b101,        // message flags: QoS 1 | retain
            3,
            b'a',
            b'/',
            b'b',
            4,
            b'2',
            b'1',
            b'.',
            b'5', // topic, payload
            1,
            1,
            b'k',
            1,
            b'v', // one user property
            5,
            b'd',
            b'e',
            b'v',
            b'-',
            b'1',
            2,
            b'a',
            b'l', // client id, username
        ];
        assert_eq!(out, expected);
    }

    proptest! {
        #[test]
        fn request_round_trips((topic, payload, qos, retain, props, his, cid, user, peer, down, pv) in arb_request()) {
            let req = RequestView {
                direction: if down { Direction::Downstream } else { Direction::Upstream },
                protocol_version: pv,
                message: MessageView {
                    topic: &topic,
                    payload: &payload,
                    qos: crate::QoS::try_from(qos).unwrap(),
                    retain,
                    user_properties: props.iter().map(|(k, v)| (k.as_slice(), v.as_slice())).collect(),
                },
                his_payload: his.as_deref(),
                client_id: &cid,
                username: user.as_deref(),
                peer_addr: peer.as_deref(),
            };
            let mut out = Vec::new();
            encode_request(&req, &mut out);
            prop_assert_eq!(decode_request(&out).unwrap(), req);
            // Every strict prefix is an error, never a panic.
            for cut in 0..out.len() {
                prop_assert!(decode_request(&out[..cut]).is_err());
            }
        }

        #[test]
        fn arbitrary_bytes_never_panic(buf in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = decode_request(&buf);
        }
    }
}
