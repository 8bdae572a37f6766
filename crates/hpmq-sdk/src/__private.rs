//! Glue used by the code `#[upstream]`/`#[downstream]` generate. Not a public API.

use std::collections::HashMap;

use hpmq_abi::{AuthVerdict, DecodeError, RequestView, Response, decode_auth_request, decode_request, encode_message};

use crate::{Action, AuthRequest, Context, Direction, HandResult, Message, QoS, Verdict};

/// The typed signature, as a function pointer type.
pub type TypedFn = fn(&Message, &Context) -> anyhow::Result<Action>;

/// The seed signature, as a function pointer type.
pub type SeedFn = fn(String, &[u8], Option<Vec<u8>>, HashMap<String, String>) -> anyhow::Result<HandResult>;

/// The authorize signature, as a function pointer type.
pub type AuthorizeFn = fn(&AuthRequest, &Context) -> anyhow::Result<Verdict>;

/// The waPC handler result.
pub type CallResult = Result<Vec<u8>, Box<dyn std::error::Error + Send + Sync>>;

fn utf8(bytes: &[u8], field: &'static str) -> Result<String, DecodeError> {
    std::str::from_utf8(bytes)
        .map(str::to_owned)
        .map_err(|_| DecodeError::NotUtf8 { field })
}

fn decode(input: &[u8]) -> Result<(RequestView<'_>, Message, Context), DecodeError> {
    let req = decode_request(input)?;
    let m = &req.message;
    let qos = QoS::from_u8(m.qos).ok_or(DecodeError::BadQos(m.qos))?;
    let mut user_properties = Vec::with_capacity(m.user_properties.len());
    for (k, v) in &m.user_properties {
        user_properties.push((utf8(k, "user property name")?, utf8(v, "user property value")?));
    }
    let msg = Message {
        topic: utf8(m.topic, "topic")?,
        payload: m.payload.to_vec(),
        qos,
        retain: m.retain,
        user_properties,
    };
    let ctx = Context {
        direction: req.direction,
        client_id: utf8(req.client_id, "client_id")?,
        username: req.username.map(|u| utf8(u, "username")).transpose()?,
        peer_addr: req.peer_addr.map(|p| utf8(p, "peer_addr")).transpose()?,
        protocol_version: req.protocol_version,
        his_payload: req.his_payload.map(<[u8]>::to_vec),
    };
    Ok((req, msg, ctx))
}

fn encode_messages(messages: &[Message]) -> Vec<u8> {
    let size: usize = messages.iter().map(|m| m.topic.len() + m.payload.len() + 16).sum();
    let mut out = Vec::with_capacity(size + 8);
    Response::encode_publish_header(&mut out, messages.len());
    for m in messages {
        encode_message(
            &mut out,
            m.topic.as_bytes(),
            &m.payload,
            m.qos.as_u8(),
            m.retain,
            m.user_properties.iter().map(|(k, v)| (k.as_bytes(), v.as_bytes())),
        );
    }
    out
}

/// Runs a typed function on an encoded request.
pub fn call_typed(input: &[u8], f: TypedFn) -> CallResult {
    let (_, msg, ctx) = decode(input)?;
    match f(&msg, &ctx).map_err(|e| format!("{e:#}"))? {
        Action::Forward => Ok(vec![hpmq_abi::VERSION, 0]),
        Action::Discard => Ok(vec![hpmq_abi::VERSION, 1]),
        Action::Publish(messages) => Ok(encode_messages(&messages)),
    }
}

/// Runs a seed-style function on an encoded request.
pub fn call_seed(input: &[u8], f: SeedFn) -> CallResult {
    let (_, msg, ctx) = decode(input)?;
    let map = ctx.to_map();
    match f(msg.topic.clone(), &msg.payload, ctx.his_payload, map).map_err(|e| format!("{e:#}"))? {
        HandResult::Discard => Ok(vec![hpmq_abi::VERSION, 1]),
        HandResult::Transmit((topic, payload)) => {
            let mut out = Vec::with_capacity(topic.len() + payload.len() + 16);
            Response::encode_publish_header(&mut out, 1);
            encode_message(
                &mut out,
                &topic,
                &payload,
                msg.qos.as_u8(),
                msg.retain,
                msg.user_properties.iter().map(|(k, v)| (k.as_bytes(), v.as_bytes())),
            );
            Ok(out)
        }
    }
}

/// Runs an authorize function on an encoded authorize request.
pub fn call_authorize(input: &[u8], f: AuthorizeFn) -> CallResult {
    let req = decode_auth_request(input)?;
    let request = AuthRequest {
        action: req.action,
        topic: utf8(req.topic, "topic")?,
        qos: QoS::from_u8(req.qos).ok_or(DecodeError::BadQos(req.qos))?,
        retain: req.retain,
    };
    let ctx = Context {
        direction: Direction::Upstream,
        client_id: utf8(req.client_id, "client_id")?,
        username: req.username.map(|u| utf8(u, "username")).transpose()?,
        peer_addr: req.peer_addr.map(|p| utf8(p, "peer_addr")).transpose()?,
        protocol_version: req.protocol_version,
        his_payload: None,
    };
    let verdict = match f(&request, &ctx).map_err(|e| format!("{e:#}"))? {
        Verdict::Allow => AuthVerdict::Allow,
        Verdict::Deny { reason_code } => AuthVerdict::Deny(reason_code),
    };
    let mut out = Vec::with_capacity(3);
    verdict.encode(&mut out);
    Ok(out)
}

/// Registers a handler with the waPC dispatcher under `name`, and installs the panic hook once.
#[cfg(target_arch = "wasm32")]
pub fn register(name: &str, handler: fn(&[u8]) -> CallResult) {
    static HOOK: std::sync::Once = std::sync::Once::new();
    HOOK.call_once(|| {
        std::panic::set_hook(Box::new(|info| {
            // Hand the panic message to the host before the abort traps, so the error it logs says why.
            let text = format!("panicked: {info}");
            // SAFETY: `__guest_error` is the waPC import that copies `len` bytes from `ptr`; the string
            // outlives the call.
            unsafe { __guest_error(text.as_ptr(), text.len()) };
        }));
    });
    wapc_guest::register_function(name, handler);
}

#[cfg(target_arch = "wasm32")]
#[link(wasm_import_module = "wapc")]
unsafe extern "C" {
    fn __guest_error(ptr: *const u8, len: usize);
}

#[cfg(test)]
mod tests {
    use super::*;
    use hpmq_abi::{DecodeLimits, Direction, MessageView, encode_request};

    fn request(payload: &[u8], his: Option<&[u8]>) -> Vec<u8> {
        let mut out = Vec::new();
        encode_request(
            &RequestView {
                direction: Direction::Downstream,
                protocol_version: 4,
                message: MessageView {
                    topic: b"a/b",
                    payload,
                    qos: 2,
                    retain: true,
                    user_properties: vec![(b"k", b"v")],
                },
                his_payload: his,
                client_id: b"c1",
                username: Some(b"u"),
                peer_addr: None,
            },
            &mut out,
        );
        out
    }

    fn fan_out(msg: &Message, _: &Context) -> anyhow::Result<Action> {
        Ok(Action::Publish(vec![msg.clone(), Message::new("x", b"y".to_vec())]))
    }

    fn seed(
        topic: String,
        payload: &[u8],
        his: Option<Vec<u8>>,
        ctx: HashMap<String, String>,
    ) -> anyhow::Result<HandResult> {
        if his.as_deref() == Some(payload) {
            return Ok(HandResult::Discard);
        }
        assert_eq!(ctx["direction"], "downstream");
        assert_eq!(ctx["protocol_version"], "4");
        assert_eq!(ctx["username"], "u");
        assert_eq!(ctx["peer_addr"], "");
        Ok(HandResult::Transmit((
            format!("{topic}/{}", ctx["client_id"]).into_bytes(),
            payload.to_vec(),
        )))
    }

    fn failing(_: &Message, _: &Context) -> anyhow::Result<Action> {
        Err(anyhow::anyhow!("sensor offline")).map_err(|e| e.context("reading"))
    }

    #[test]
    fn typed_output_decodes_on_the_host_side() {
        let out = call_typed(&request(b"p", None), fan_out).unwrap();
        let Response::Publish(msgs) = Response::decode(&out, &DecodeLimits::default()).unwrap() else {
            panic!("expected publish")
        };
        assert_eq!(msgs.len(), 2);
        assert_eq!(msgs[0].topic, b"a/b");
        assert_eq!(msgs[0].qos, 2);
        assert!(msgs[0].retain);
        assert_eq!(msgs[0].user_properties, vec![(&b"k"[..], &b"v"[..])]);
        assert_eq!(msgs[1].topic, b"x");
    }

    #[test]
    fn seed_form_keeps_qos_and_sees_context() {
        let out = call_seed(&request(b"p", Some(b"old")), seed).unwrap();
        let Response::Publish(msgs) = Response::decode(&out, &DecodeLimits::default()).unwrap() else {
            panic!("expected publish")
        };
        assert_eq!(msgs[0].topic, b"a/b/c1");
        assert_eq!(msgs[0].qos, 2);
        let out = call_seed(&request(b"p", Some(b"p")), seed).unwrap();
        assert_eq!(
            Response::decode(&out, &DecodeLimits::default()).unwrap(),
            Response::Discard
        );
    }

    fn only_own_topic(req: &AuthRequest, ctx: &Context) -> anyhow::Result<Verdict> {
        if req.retain {
            return Err(anyhow::anyhow!("no retained messages"));
        }
        Ok(Verdict::allow_if(req.topic == format!("own/{}", ctx.client_id)))
    }

    fn auth_request(topic: &[u8], retain: bool) -> Vec<u8> {
        let mut out = Vec::new();
        hpmq_abi::encode_auth_request(
            &hpmq_abi::AuthRequestView {
                action: hpmq_abi::AuthAction::Publish,
                topic,
                qos: 1,
                retain,
                protocol_version: 5,
                client_id: b"c1",
                username: None,
                peer_addr: Some(b"127.0.0.1:5"),
            },
            &mut out,
        );
        out
    }

    #[test]
    fn authorize_answers_decode_on_the_host_side() {
        let out = call_authorize(&auth_request(b"own/c1", false), only_own_topic).unwrap();
        assert_eq!(AuthVerdict::decode(&out), Ok(AuthVerdict::Allow));
        let out = call_authorize(&auth_request(b"own/c2", false), only_own_topic).unwrap();
        assert_eq!(AuthVerdict::decode(&out), Ok(AuthVerdict::Deny(0x87)));
        let err = call_authorize(&auth_request(b"own/c1", true), only_own_topic).unwrap_err();
        assert_eq!(err.to_string(), "no retained messages");
        // A message request handed to an authorize function is refused, not misread.
        assert!(call_authorize(&request(b"p", None), only_own_topic).is_err());
    }

    #[test]
    fn errors_carry_their_context_chain() {
        let err = call_typed(&request(b"p", None), failing).unwrap_err();
        assert_eq!(err.to_string(), "reading: sensor offline");
        assert!(call_typed(b"\x01", fan_out).is_err());
    }
}
