//! The authorize hook: what the host asks (may this client publish to / subscribe to this topic?) and what
//! the guest answers (allow, or deny with an MQTT v5 reason code).
//!
//! A request starts with the layout version and the byte [`AUTHORIZE_TAG`] where a message request has its
//! direction (0 or 1), so neither kind of function can mistake the other's input for its own.

use crate::reader::{Reader, put_bytes};
use crate::{DecodeError, QoS, VERSION};

/// The second byte of every authorize request (a message request has its direction, 0 or 1, there).
pub const AUTHORIZE_TAG: u8 = 2;

/// The reason code a deny carries when the function names none: 0x87 Not authorized.
pub const NOT_AUTHORIZED: u8 = 0x87;

const QOS_MASK: u8 = 0b0_0011;
const RETAIN: u8 = 0b0_0100;
const HAS_USERNAME: u8 = 0b0_1000;
const HAS_PEER_ADDR: u8 = 0b1_0000;

const VERDICT_ALLOW: u8 = 0;
const VERDICT_DENY: u8 = 1;

/// What the client wants to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuthAction {
    /// PUBLISH (or a will message) to a topic name.
    Publish,
    /// SUBSCRIBE to a topic filter.
    Subscribe,
}

impl AuthAction {
    /// The byte this action is encoded as.
    pub fn to_byte(self) -> u8 {
        match self {
            AuthAction::Publish => 0,
            AuthAction::Subscribe => 1,
        }
    }

    /// Parses an encoded action.
    pub fn from_byte(b: u8) -> Result<Self, DecodeError> {
        match b {
            0 => Ok(AuthAction::Publish),
            1 => Ok(AuthAction::Subscribe),
            other => Err(DecodeError::BadAuthAction(other)),
        }
    }

    /// `"publish"` or `"subscribe"`.
    pub fn as_str(self) -> &'static str {
        match self {
            AuthAction::Publish => "publish",
            AuthAction::Subscribe => "subscribe",
        }
    }
}

/// A borrowed view of one authorize call's input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthRequestView<'a> {
    /// Publish or subscribe.
    pub action: AuthAction,
    /// The topic name (publish) or topic filter, maybe `$share/...` (subscribe).
    pub topic: &'a [u8],
    /// The PUBLISH's QoS, or the highest QoS the SUBSCRIBE asks for.
    pub qos: QoS,
    /// The PUBLISH's retain flag (always false for a subscribe).
    pub retain: bool,
    /// The MQTT protocol level of the client: 4 (3.1.1) or 5.
    pub protocol_version: u8,
    /// The MQTT client identifier.
    pub client_id: &'a [u8],
    /// The username from CONNECT, if any.
    pub username: Option<&'a [u8]>,
    /// The peer's socket address as text, if the transport has one.
    pub peer_addr: Option<&'a [u8]>,
}

/// Appends the encoding of `req` to `out`.
pub fn encode_auth_request(req: &AuthRequestView<'_>, out: &mut Vec<u8>) {
    let mut flags = req.qos.as_u8();
    if req.retain {
        flags |= RETAIN;
    }
    if req.username.is_some() {
        flags |= HAS_USERNAME;
    }
    if req.peer_addr.is_some() {
        flags |= HAS_PEER_ADDR;
    }
    out.extend_from_slice(&[
        VERSION,
        AUTHORIZE_TAG,
        req.action.to_byte(),
        req.protocol_version,
        flags,
    ]);
    put_bytes(out, req.topic);
    put_bytes(out, req.client_id);
    if let Some(u) = req.username {
        put_bytes(out, u);
    }
    if let Some(p) = req.peer_addr {
        put_bytes(out, p);
    }
}

/// Decodes an authorize request (the guest side of [`encode_auth_request`]).
pub fn decode_auth_request(buf: &[u8]) -> Result<AuthRequestView<'_>, DecodeError> {
    let mut r = Reader::new(buf);
    let version = r.u8("version")?;
    if version != VERSION {
        return Err(DecodeError::UnsupportedVersion(version));
    }
    let tag = r.u8("request kind")?;
    if tag != AUTHORIZE_TAG {
        return Err(DecodeError::NotAnAuthorizeRequest(tag));
    }
    let action = AuthAction::from_byte(r.u8("action")?)?;
    let protocol_version = r.u8("protocol version")?;
    let flags = r.u8("authorize flags")?;
    if flags & !(QOS_MASK | RETAIN | HAS_USERNAME | HAS_PEER_ADDR) != 0 {
        return Err(DecodeError::BadFlags(flags));
    }
    let qos = QoS::try_from(flags & QOS_MASK)?;
    let topic = r.bytes("topic", usize::MAX)?;
    let client_id = r.bytes("client_id", usize::MAX)?;
    let username = r.optional_bytes(flags & HAS_USERNAME != 0, "username")?;
    let peer_addr = r.optional_bytes(flags & HAS_PEER_ADDR != 0, "peer_addr")?;
    r.finish()?;
    Ok(AuthRequestView {
        action,
        topic,
        qos,
        retain: flags & RETAIN != 0,
        protocol_version,
        client_id,
        username,
        peer_addr,
    })
}

/// An authorize function's decision: the one verdict type of guest, encoding and host (hpmq-sdk and
/// hpmq-host re-export it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Verdict {
    /// The client may go ahead.
    Allow,
    /// Refused. The broker answers with this MQTT v5 reason code in PUBACK/PUBREC (QoS 1/2 publish) or in
    /// SUBACK; a 3.1.1 SUBACK carries 0x80 instead, and a 3.1.1 PUBACK has no code.
    Deny {
        /// A failure code (0x80 or above) that MQTT allows in the packet answered: 0x80 Unspecified error,
        /// 0x83 Implementation specific error, 0x87 Not authorized, 0x97 Quota exceeded; for SUBACK also
        /// 0x8F Topic filter invalid, 0x9E Shared subscriptions not supported, 0xA2 Wildcard subscriptions
        /// not supported; for PUBACK/PUBREC also 0x90 Topic name invalid. Anything below 0x80 makes the call
        /// fail, which denies too; so does a code MQTT does not define (the host checks).
        reason_code: u8,
    },
}

impl Verdict {
    /// Deny with 0x87 Not authorized.
    pub fn deny() -> Self {
        Verdict::Deny {
            reason_code: NOT_AUTHORIZED,
        }
    }

    /// Deny with a specific v5 reason code (see [`Verdict::Deny`]).
    pub fn deny_with(reason_code: u8) -> Self {
        Verdict::Deny { reason_code }
    }

    /// Allow when `allowed`, otherwise [`Verdict::deny`].
    pub fn allow_if(allowed: bool) -> Self {
        if allowed { Verdict::Allow } else { Verdict::deny() }
    }

    /// Whether this is [`Verdict::Allow`].
    pub fn is_allow(self) -> bool {
        self == Verdict::Allow
    }

    /// Appends the encoding: `[version, 0]` to allow, `[version, 1, reason code]` to deny.
    pub fn encode(self, out: &mut Vec<u8>) {
        match self {
            Verdict::Allow => out.extend_from_slice(&[VERSION, VERDICT_ALLOW]),
            Verdict::Deny { reason_code } => out.extend_from_slice(&[VERSION, VERDICT_DENY, reason_code]),
        }
    }

    /// Decodes a verdict (on the host: whatever the guest wrote). A deny's reason code must be a failure
    /// code (0x80 or above); whether MQTT defines it is for the host to check.
    pub fn decode(buf: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(buf);
        let version = r.u8("version")?;
        if version != VERSION {
            return Err(DecodeError::UnsupportedVersion(version));
        }
        let verdict = match r.u8("verdict")? {
            VERDICT_ALLOW => Verdict::Allow,
            VERDICT_DENY => {
                let code = r.u8("reason code")?;
                if code < 0x80 {
                    return Err(DecodeError::NotAFailureCode(code));
                }
                Verdict::Deny { reason_code: code }
            }
            other => return Err(DecodeError::BadVerdict(other)),
        };
        r.finish()?;
        Ok(verdict)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{decode_request, response::Response};
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn auth_request_round_trips(
            topic in proptest::collection::vec(any::<u8>(), 0..40),
            cid in proptest::collection::vec(any::<u8>(), 0..20),
            user in proptest::option::of(proptest::collection::vec(any::<u8>(), 0..20)),
            peer in proptest::option::of(proptest::collection::vec(any::<u8>(), 0..20)),
            subscribe in any::<bool>(),
            qos in 0u8..3,
            retain in any::<bool>(),
            pv in prop_oneof![Just(4u8), Just(5u8)],
        ) {
            let req = AuthRequestView {
                action: if subscribe { AuthAction::Subscribe } else { AuthAction::Publish },
                topic: &topic,
                qos: QoS::try_from(qos).unwrap(),
                retain,
                protocol_version: pv,
                client_id: &cid,
                username: user.as_deref(),
                peer_addr: peer.as_deref(),
            };
            let mut out = Vec::new();
            encode_auth_request(&req, &mut out);
            prop_assert_eq!(decode_auth_request(&out).unwrap(), req);
            // A message function handed this request refuses it instead of misreading it.
            prop_assert_eq!(decode_request(&out), Err(DecodeError::BadDirection(AUTHORIZE_TAG)));
            for cut in 0..out.len() {
                prop_assert!(decode_auth_request(&out[..cut]).is_err());
            }
        }

        #[test]
        fn verdict_round_trips(code in 0x80u8..=0xff, allow in any::<bool>()) {
            let v = if allow { Verdict::Allow } else { Verdict::deny_with(code) };
            let mut out = Vec::new();
            v.encode(&mut out);
            prop_assert_eq!(Verdict::decode(&out), Ok(v));
        }

        #[test]
        fn arbitrary_bytes_never_panic(buf in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = decode_auth_request(&buf);
            let _ = Verdict::decode(&buf);
        }
    }

    #[test]
    fn verdict_helpers_and_their_bytes() {
        assert_eq!(Verdict::deny(), Verdict::Deny { reason_code: 0x87 });
        assert_eq!(Verdict::allow_if(true), Verdict::Allow);
        assert_eq!(Verdict::allow_if(false), Verdict::deny());
        assert!(Verdict::Allow.is_allow() && !Verdict::deny_with(0x97).is_allow());
        let mut out = Vec::new();
        Verdict::Allow.encode(&mut out);
        assert_eq!(out, [VERSION, 0]);
        out.clear();
        Verdict::deny_with(0x97).encode(&mut out);
        assert_eq!(out, [VERSION, 1, 0x97]);
    }

    #[test]
    fn success_codes_and_message_responses_are_not_verdicts() {
        assert_eq!(
            Verdict::decode(&[VERSION, VERDICT_DENY, 0x00]),
            Err(DecodeError::NotAFailureCode(0))
        );
        assert_eq!(Verdict::decode(&[VERSION, 7]), Err(DecodeError::BadVerdict(7)));
        assert_eq!(
            Verdict::decode(&[VERSION, VERDICT_ALLOW, 0]),
            Err(DecodeError::TrailingBytes(1))
        );
        let mut publish = Vec::new();
        Response::encode_publish_header(&mut publish, 0);
        assert!(Verdict::decode(&publish).is_err());
    }

    #[test]
    fn message_requests_are_not_authorize_requests() {
        let mut out = Vec::new();
        crate::encode_request(
            &crate::RequestView {
                direction: crate::Direction::Upstream,
                protocol_version: 5,
                message: Default::default(),
                his_payload: None,
                client_id: b"c",
                username: None,
                peer_addr: None,
            },
            &mut out,
        );
        assert_eq!(decode_auth_request(&out), Err(DecodeError::NotAnAuthorizeRequest(0)));
    }
}
