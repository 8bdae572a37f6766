//! Glue used by the code `#[upstream]`/`#[downstream]`/`#[authorize]` generate. Not a public API.
//!
//! Each function has two entries (see `hpmq_abi::exports`): the handler registered with wapc-guest's
//! `__guest_call` dispatcher, for any waPC host, and a direct export the hpmq host calls. Both decode into
//! buffers the instance keeps from call to call (`Scratch`), so a steady stream of calls allocates
//! nothing in the guest beyond what the function itself does (and what the seed signature demands: an owned
//! topic, `his_payload` and context map). The direct entry also skips the dispatcher's two allocations and
//! its operation-name lookup, and answers `Forward`/`Discard` from constant bytes.

use std::cell::RefCell;
use std::collections::HashMap;

use hpmq_abi::{
    DISCARD_RESPONSE, DecodeError, FORWARD_RESPONSE, Response, UserProperties, decode_auth_request, decode_request,
    encode_message,
};

use crate::{Action, AuthAction, AuthRequest, Context, Direction, HandResult, Message, QoS, Verdict};

/// The typed signature, as a function pointer type.
pub type TypedFn = fn(&Message, &Context) -> anyhow::Result<Action>;

/// The seed signature, as a function pointer type.
pub type SeedFn = fn(String, &[u8], Option<Vec<u8>>, HashMap<String, String>) -> anyhow::Result<HandResult>;

/// The authorize signature, as a function pointer type.
pub type AuthorizeFn = fn(&AuthRequest, &Context) -> anyhow::Result<Verdict>;

/// The waPC handler result.
pub type CallResult = Result<Vec<u8>, Box<dyn std::error::Error + Send + Sync>>;

/// Buffers above this capacity are freed after the call that grew them, so one large message does not pin
/// its memory in the instance for good.
const KEEP_CAPACITY: usize = 64 * 1024;

/// What an instance reuses from one call to the next: the request and response buffers and the decoded
/// message, context and authorize request, whose strings and vectors keep their capacity.
struct Scratch {
    request: Vec<u8>,
    response: Vec<u8>,
    msg: Message,
    ctx: Context,
    auth: AuthRequest,
}

impl Scratch {
    const fn new() -> Self {
        Scratch {
            request: Vec::new(),
            response: Vec::new(),
            msg: Message {
                topic: String::new(),
                payload: Vec::new(),
                qos: QoS::AtMostOnce,
                retain: false,
                user_properties: Vec::new(),
            },
            ctx: Context {
                direction: Direction::Upstream,
                client_id: String::new(),
                username: None,
                peer_addr: None,
                protocol_version: 5,
                his_payload: None,
            },
            auth: AuthRequest {
                action: AuthAction::Publish,
                topic: String::new(),
                qos: QoS::AtMostOnce,
                retain: false,
            },
        }
    }

    /// Frees whatever a large call left behind.
    fn trim(&mut self) {
        fn trim_vec(v: &mut Vec<u8>) {
            if v.capacity() > KEEP_CAPACITY {
                *v = Vec::new();
            }
        }
        trim_vec(&mut self.request);
        trim_vec(&mut self.response);
        trim_vec(&mut self.msg.payload);
        if self
            .ctx
            .his_payload
            .as_ref()
            .is_some_and(|h| h.capacity() > KEEP_CAPACITY)
        {
            self.ctx.his_payload = None;
        }
        if self.msg.topic.capacity() > KEEP_CAPACITY || self.auth.topic.capacity() > KEEP_CAPACITY {
            self.msg.topic = String::new();
            self.auth.topic = String::new();
        }
        let props: usize = self
            .msg
            .user_properties
            .iter()
            .map(|(k, v)| k.capacity() + v.capacity())
            .sum();
        if props > KEEP_CAPACITY {
            self.msg.user_properties = Vec::new();
        }
    }
}

thread_local! {
    // A wasm32 guest without threads compiles this to a plain static.
    static SCRATCH: RefCell<Scratch> = const { RefCell::new(Scratch::new()) };
}

/// Runs `f` with the instance's scratch buffers (or fresh ones if a call is already using them, which only
/// a function calling another function's entry could cause).
fn with_scratch<R>(f: impl FnOnce(&mut Scratch) -> R) -> R {
    SCRATCH.with(|cell| match cell.try_borrow_mut() {
        Ok(mut scratch) => {
            let r = f(&mut scratch);
            scratch.trim();
            r
        }
        Err(_) => f(&mut Scratch::new()),
    })
}

/// Whether `bytes` is ASCII, eight bytes at a time (wasm has 64-bit integers; `<[u8]>::is_ascii` works a
/// `usize`, four bytes, at a time there).
fn is_ascii(bytes: &[u8]) -> bool {
    let mut chunks = bytes.chunks_exact(8);
    let mut high = 0u64;
    for chunk in &mut chunks {
        high |= u64::from_le_bytes(<[u8; 8]>::try_from(chunk).unwrap_or([0x80; 8]));
    }
    for &b in chunks.remainder() {
        high |= u64::from(b);
    }
    high & 0x8080_8080_8080_8080 == 0
}

fn utf8<'a>(bytes: &'a [u8], field: &'static str) -> Result<&'a str, DecodeError> {
    if is_ascii(bytes) {
        // SAFETY: ASCII is valid UTF-8. Topics, client ids and addresses are nearly always ASCII, and
        // checking that costs a fraction of `from_utf8` on short strings (which was most of the decode,
        // measured with callgrind).
        return Ok(unsafe { std::str::from_utf8_unchecked(bytes) });
    }
    std::str::from_utf8(bytes).map_err(|_| DecodeError::NotUtf8 { field })
}

/// Overwrites `dst` with `src`, reusing its capacity.
fn set_str(dst: &mut String, src: &[u8], field: &'static str) -> Result<(), DecodeError> {
    let s = utf8(src, field)?;
    dst.clear();
    dst.push_str(s);
    Ok(())
}

fn set_opt_str(dst: &mut Option<String>, src: Option<&[u8]>, field: &'static str) -> Result<(), DecodeError> {
    match (src, dst.as_mut()) {
        (None, _) => *dst = None,
        (Some(src), Some(d)) => set_str(d, src, field)?,
        (Some(src), None) => *dst = Some(utf8(src, field)?.to_owned()),
    }
    Ok(())
}

fn set_bytes(dst: &mut Vec<u8>, src: &[u8]) {
    dst.clear();
    dst.extend_from_slice(src);
}

fn set_properties(dst: &mut Vec<(String, String)>, src: &UserProperties<'_>) -> Result<(), DecodeError> {
    const NAME: &str = "user property name";
    const VALUE: &str = "user property value";
    dst.truncate(src.len());
    for (i, (k, v)) in src.iter().enumerate() {
        match dst.get_mut(i) {
            Some((dk, dv)) => {
                set_str(dk, k, NAME)?;
                set_str(dv, v, VALUE)?;
            }
            None => dst.push((utf8(k, NAME)?.to_owned(), utf8(v, VALUE)?.to_owned())),
        }
    }
    Ok(())
}

/// Decodes a message request into `msg` and `ctx`, overwriting every field.
fn decode_into(input: &[u8], msg: &mut Message, ctx: &mut Context) -> Result<(), DecodeError> {
    let req = decode_request(input)?;
    let m = &req.message;
    msg.qos = m.qos;
    msg.retain = m.retain;
    set_str(&mut msg.topic, m.topic, "topic")?;
    set_bytes(&mut msg.payload, m.payload);
    set_properties(&mut msg.user_properties, &m.user_properties)?;
    ctx.direction = req.direction;
    ctx.protocol_version = req.protocol_version;
    set_str(&mut ctx.client_id, req.client_id, "client_id")?;
    set_opt_str(&mut ctx.username, req.username, "username")?;
    set_opt_str(&mut ctx.peer_addr, req.peer_addr, "peer_addr")?;
    match (req.his_payload, ctx.his_payload.as_mut()) {
        (None, _) => ctx.his_payload = None,
        (Some(src), Some(d)) => set_bytes(d, src),
        (Some(src), None) => ctx.his_payload = Some(src.to_vec()),
    }
    Ok(())
}

/// Upper bound of one encoded message's length (flags, three varints and the property varints).
fn encoded_len(topic: usize, payload: usize, props: &[(String, String)]) -> usize {
    let props: usize = props.iter().map(|(k, v)| k.len() + v.len() + 10).sum();
    topic + payload + props + 16
}

fn encode_messages(messages: &[Message], out: &mut Vec<u8>) {
    out.clear();
    // Reserved up front: growing by doubling while encoding a large payload would hold twice its size
    // (and more during the copy) against the instance's memory cap.
    let size: usize = messages
        .iter()
        .map(|m| encoded_len(m.topic.len(), m.payload.len(), &m.user_properties))
        .sum();
    out.reserve(size + 8);
    Response::encode_publish_header(out, messages.len());
    for m in messages {
        encode_message(
            out,
            m.topic.as_bytes(),
            &m.payload,
            m.qos,
            m.retain,
            m.user_properties.iter().map(|(k, v)| (k.as_bytes(), v.as_bytes())),
        );
    }
}

/// Why a call failed, as the text the host reports.
fn error_text(e: &anyhow::Error) -> String {
    format!("{e:#}")
}

/// Decodes, runs a typed function and encodes its answer (in `out`, or a constant).
fn run_typed<'o>(input: &[u8], f: TypedFn, s: &'o mut ScratchParts<'_>) -> Result<&'o [u8], String> {
    decode_into(input, s.msg, s.ctx).map_err(|e| e.to_string())?;
    match f(s.msg, s.ctx).map_err(|e| error_text(&e))? {
        Action::Forward => Ok(&FORWARD_RESPONSE),
        Action::Discard => Ok(&DISCARD_RESPONSE),
        Action::Publish(messages) => {
            encode_messages(&messages, s.response);
            Ok(s.response)
        }
    }
}

/// Decodes, runs a seed-style function and encodes its answer.
fn run_seed<'o>(input: &[u8], f: SeedFn, s: &'o mut ScratchParts<'_>) -> Result<&'o [u8], String> {
    decode_into(input, s.msg, s.ctx).map_err(|e| e.to_string())?;
    let map = s.ctx.to_map();
    // The signature takes `his_payload` by value; hand over the decoded buffer rather than copy it.
    let his = s.ctx.his_payload.take();
    let msg = &*s.msg;
    match f(msg.topic.clone(), &msg.payload, his, map).map_err(|e| error_text(&e))? {
        HandResult::Discard => Ok(&DISCARD_RESPONSE),
        HandResult::Transmit((topic, payload)) => {
            let out = &mut *s.response;
            out.clear();
            out.reserve(encoded_len(topic.len(), payload.len(), &msg.user_properties) + 8);
            Response::encode_publish_header(out, 1);
            encode_message(
                out,
                &topic,
                &payload,
                msg.qos,
                msg.retain,
                msg.user_properties.iter().map(|(k, v)| (k.as_bytes(), v.as_bytes())),
            );
            Ok(out)
        }
    }
}

/// Decodes, runs an authorize function and encodes its verdict.
fn run_authorize<'o>(input: &[u8], f: AuthorizeFn, s: &'o mut ScratchParts<'_>) -> Result<&'o [u8], String> {
    let req = decode_auth_request(input).map_err(|e| e.to_string())?;
    let decoded = (|| {
        let auth = &mut *s.auth;
        auth.action = req.action;
        set_str(&mut auth.topic, req.topic, "topic")?;
        auth.qos = req.qos;
        auth.retain = req.retain;
        let ctx = &mut *s.ctx;
        ctx.direction = Direction::Upstream;
        ctx.protocol_version = req.protocol_version;
        set_str(&mut ctx.client_id, req.client_id, "client_id")?;
        set_opt_str(&mut ctx.username, req.username, "username")?;
        set_opt_str(&mut ctx.peer_addr, req.peer_addr, "peer_addr")?;
        ctx.his_payload = None;
        Ok::<(), DecodeError>(())
    })();
    decoded.map_err(|e| e.to_string())?;
    let verdict = f(s.auth, s.ctx).map_err(|e| error_text(&e))?;
    s.response.clear();
    verdict.encode(s.response);
    Ok(s.response)
}

/// The scratch buffers a call borrows, minus the request (which it reads from).
struct ScratchParts<'s> {
    response: &'s mut Vec<u8>,
    msg: &'s mut Message,
    ctx: &'s mut Context,
    auth: &'s mut AuthRequest,
}

type Runner<F> = for<'o, 's> fn(&[u8], F, &'o mut ScratchParts<'s>) -> Result<&'o [u8], String>;

/// The waPC dispatcher's handler: `input` is the dispatcher's buffer; the answer is copied into the `Vec`
/// its API demands.
fn dispatch<F>(input: &[u8], f: F, run: Runner<F>) -> CallResult {
    with_scratch(|s| {
        let mut parts = ScratchParts {
            response: &mut s.response,
            msg: &mut s.msg,
            ctx: &mut s.ctx,
            auth: &mut s.auth,
        };
        run(input, f, &mut parts).map(<[u8]>::to_vec).map_err(Into::into)
    })
}

/// Runs a typed function on an encoded request (the waPC dispatcher's entry).
pub fn call_typed(input: &[u8], f: TypedFn) -> CallResult {
    dispatch(input, f, run_typed)
}

/// Runs a seed-style function on an encoded request (the waPC dispatcher's entry).
pub fn call_seed(input: &[u8], f: SeedFn) -> CallResult {
    dispatch(input, f, run_seed)
}

/// Runs an authorize function on an encoded authorize request (the waPC dispatcher's entry).
pub fn call_authorize(input: &[u8], f: AuthorizeFn) -> CallResult {
    dispatch(input, f, run_authorize)
}

/// The waPC imports a direct entry uses: the wasm32 build calls the host; native tests record.
pub trait GuestIo {
    /// `__guest_request`: writes the request into `buf`, which is exactly as long as the host said.
    fn request(&mut self, buf: &mut [u8]);
    /// `__guest_response`.
    fn respond(&mut self, answer: &[u8]);
    /// `__guest_error`.
    fn fail(&mut self, text: &str);
}

/// One call entered at a function's own export: fetch the request into the reused buffer, run, answer.
/// Returns waPC's 1 (answered with `respond`) or 0 (with `fail`).
fn serve<F>(request_len: usize, f: F, run: Runner<F>, io: &mut impl GuestIo) -> i32 {
    with_scratch(|s| {
        s.request.clear();
        s.request.resize(request_len, 0);
        io.request(&mut s.request);
        let mut parts = ScratchParts {
            response: &mut s.response,
            msg: &mut s.msg,
            ctx: &mut s.ctx,
            auth: &mut s.auth,
        };
        match run(&s.request, f, &mut parts) {
            Ok(answer) => {
                io.respond(answer);
                1
            }
            Err(text) => {
                io.fail(&text);
                0
            }
        }
    })
}

/// The direct entry of a typed function, over `io`.
pub fn serve_typed(request_len: usize, f: TypedFn, io: &mut impl GuestIo) -> i32 {
    serve(request_len, f, run_typed, io)
}

/// The direct entry of a seed-style function, over `io`.
pub fn serve_seed(request_len: usize, f: SeedFn, io: &mut impl GuestIo) -> i32 {
    serve(request_len, f, run_seed, io)
}

/// The direct entry of an authorize function, over `io`.
pub fn serve_authorize(request_len: usize, f: AuthorizeFn, io: &mut impl GuestIo) -> i32 {
    serve(request_len, f, run_authorize, io)
}

#[cfg(target_arch = "wasm32")]
pub use wapc::{direct_authorize, direct_seed, direct_typed, register};

/// The direct entries over the waPC imports, and the registration with wapc-guest's dispatcher.
#[cfg(target_arch = "wasm32")]
mod wapc {
    use super::*;

    #[link(wasm_import_module = "wapc")]
    unsafe extern "C" {
        fn __guest_request(op_ptr: *mut u8, ptr: *mut u8);
        fn __guest_response(ptr: *const u8, len: usize);
        fn __guest_error(ptr: *const u8, len: usize);
    }

    /// The host's side of a call.
    struct Host;

    impl GuestIo for Host {
        fn request(&mut self, buf: &mut [u8]) {
            // SAFETY: the host writes exactly the request length it passed (which `buf` is) at `ptr` and,
            // since a direct entry implies the operation, 0 bytes of operation name at `op_ptr`.
            unsafe { __guest_request(buf.as_mut_ptr(), buf.as_mut_ptr()) };
        }

        fn respond(&mut self, answer: &[u8]) {
            // SAFETY: `__guest_response` copies `len` bytes from `ptr`, which stay valid for the call.
            unsafe { __guest_response(answer.as_ptr(), answer.len()) };
        }

        fn fail(&mut self, text: &str) {
            // SAFETY: `__guest_error` copies `len` bytes from `ptr`, which stay valid for the call.
            unsafe { __guest_error(text.as_ptr(), text.len()) };
        }
    }

    fn length(request_len: i32) -> Option<usize> {
        let len = usize::try_from(request_len).ok();
        if len.is_none() {
            Host.fail("negative request length");
        }
        len
    }

    /// The direct entry of a typed function.
    pub fn direct_typed(request_len: i32, f: TypedFn) -> i32 {
        length(request_len).map_or(0, |len| serve_typed(len, f, &mut Host))
    }

    /// The direct entry of a seed-style function.
    pub fn direct_seed(request_len: i32, f: SeedFn) -> i32 {
        length(request_len).map_or(0, |len| serve_seed(len, f, &mut Host))
    }

    /// The direct entry of an authorize function.
    pub fn direct_authorize(request_len: i32, f: AuthorizeFn) -> i32 {
        length(request_len).map_or(0, |len| serve_authorize(len, f, &mut Host))
    }

    /// Registers a handler with the waPC dispatcher under `name`, and installs the panic hook once.
    pub fn register(name: &str, handler: fn(&[u8]) -> CallResult) {
        static HOOK: std::sync::Once = std::sync::Once::new();
        HOOK.call_once(|| {
            std::panic::set_hook(Box::new(|info| {
                // Hand the panic message to the host before the abort traps, so the error it logs says why.
                Host.fail(&format!("panicked: {info}"));
            }));
        });
        wapc_guest::register_function(name, handler);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hpmq_abi::{DecodeLimits, MessageView, RequestView, encode_request};

    fn request(payload: &[u8], his: Option<&[u8]>) -> Vec<u8> {
        let mut out = Vec::new();
        encode_request(
            &RequestView {
                direction: Direction::Downstream,
                protocol_version: 4,
                message: MessageView {
                    topic: b"a/b",
                    payload,
                    qos: QoS::ExactlyOnce,
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
        assert_eq!(msgs[0].qos, QoS::ExactlyOnce);
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
        assert_eq!(msgs[0].qos, QoS::ExactlyOnce);
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
                qos: QoS::AtLeastOnce,
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
        assert_eq!(Verdict::decode(&out), Ok(Verdict::Allow));
        let out = call_authorize(&auth_request(b"own/c2", false), only_own_topic).unwrap();
        assert_eq!(Verdict::decode(&out), Ok(Verdict::deny()));
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

    /// A host that hands over one request and records the answer.
    struct Recorder<'r> {
        request: &'r [u8],
        answer: Option<Result<Vec<u8>, String>>,
    }

    impl<'r> Recorder<'r> {
        fn new(request: &'r [u8]) -> Self {
            Recorder { request, answer: None }
        }
    }

    impl GuestIo for Recorder<'_> {
        fn request(&mut self, buf: &mut [u8]) {
            buf.copy_from_slice(self.request);
        }
        fn respond(&mut self, answer: &[u8]) {
            self.answer = Some(Ok(answer.to_vec()));
        }
        fn fail(&mut self, text: &str) {
            self.answer = Some(Err(text.to_owned()));
        }
    }

    fn serve_typed_once(request: &[u8], f: TypedFn) -> (i32, Result<Vec<u8>, String>) {
        let mut io = Recorder::new(request);
        let status = serve_typed(request.len(), f, &mut io);
        (status, io.answer.unwrap())
    }

    fn pass(_: &Message, _: &Context) -> anyhow::Result<Action> {
        Ok(Action::Forward)
    }

    #[test]
    fn direct_entry_answers_like_the_dispatcher() {
        let request = request(b"p", Some(b"old"));
        for f in [fan_out as TypedFn, pass, failing] {
            let (status, direct) = serve_typed_once(&request, f);
            let dispatched = call_typed(&request, f).map_err(|e| e.to_string());
            assert_eq!(status, i32::from(direct.is_ok()));
            assert_eq!(direct, dispatched);
        }
        let (status, answer) = serve_typed_once(&request, pass);
        assert_eq!((status, answer), (1, Ok(FORWARD_RESPONSE.to_vec())));
        let mut io = Recorder::new(&request);
        assert_eq!(serve_seed(request.len(), seed, &mut io), 1);
        assert_eq!(
            io.answer.unwrap().map_err(|e| e.to_string()),
            call_seed(&request, seed).map_err(|e| e.to_string())
        );
        let auth = auth_request(b"own/c1", false);
        let mut io = Recorder::new(&auth);
        assert_eq!(serve_authorize(auth.len(), only_own_topic, &mut io), 1);
        assert_eq!(Verdict::decode(&io.answer.unwrap().unwrap()), Ok(Verdict::Allow));
        // Garbage is an error answer, not a panic.
        let (status, answer) = serve_typed_once(b"\x01\x00", pass);
        assert_eq!(status, 0);
        assert!(answer.is_err());
    }

    thread_local! {
        static SEEN: RefCell<Vec<(Message, Context)>> = const { RefCell::new(Vec::new()) };
    }

    fn record(msg: &Message, ctx: &Context) -> anyhow::Result<Action> {
        SEEN.with(|s| s.borrow_mut().push((msg.clone(), ctx.clone())));
        Ok(Action::Forward)
    }

    #[allow(clippy::too_many_arguments)]
    fn full_request(
        topic: &[u8],
        payload: &[u8],
        props: Vec<(&'static [u8], &'static [u8])>,
        his: Option<&[u8]>,
        client_id: &[u8],
        username: Option<&[u8]>,
        peer_addr: Option<&[u8]>,
    ) -> Vec<u8> {
        let mut out = Vec::new();
        encode_request(
            &RequestView {
                direction: Direction::Upstream,
                protocol_version: 5,
                message: MessageView {
                    topic,
                    payload,
                    qos: QoS::AtLeastOnce,
                    retain: false,
                    user_properties: props,
                },
                his_payload: his,
                client_id,
                username,
                peer_addr,
            },
            &mut out,
        );
        out
    }

    #[test]
    fn reused_buffers_never_leak_between_calls() {
        let big = vec![9u8; 3 * KEEP_CAPACITY];
        let requests = [
            full_request(
                b"a/long/topic/name",
                b"first payload",
                vec![(b"k1", b"v1"), (b"k2", b"v2"), (b"k3", b"v3")],
                Some(b"older"),
                b"client-with-a-long-id",
                Some(b"alice"),
                Some(b"192.0.2.1:1883"),
            ),
            full_request(b"b", b"", vec![(b"x", b"y")], None, b"c", None, None),
            full_request(b"c/d", &big, Vec::new(), Some(&big), b"c2", Some(b"bob"), None),
            full_request(b"e", b"last", Vec::new(), None, b"c3", None, Some(b"[::1]:1")),
        ];
        for r in &requests {
            assert_eq!(serve_typed_once(r, record).0, 1);
        }
        let seen = SEEN.with(|s| s.take());
        let expected: Vec<(Message, Context)> = requests
            .iter()
            .map(|r| {
                let v = decode_request(r).unwrap();
                let m = &v.message;
                let s = |b: &[u8]| String::from_utf8(b.to_vec()).unwrap();
                let msg = Message {
                    topic: s(m.topic),
                    payload: m.payload.to_vec(),
                    qos: QoS::AtLeastOnce,
                    retain: false,
                    user_properties: m.user_properties.iter().map(|(k, v)| (s(k), s(v))).collect(),
                };
                let ctx = Context {
                    direction: Direction::Upstream,
                    client_id: s(v.client_id),
                    username: v.username.map(s),
                    peer_addr: v.peer_addr.map(s),
                    protocol_version: 5,
                    his_payload: v.his_payload.map(<[u8]>::to_vec),
                };
                (msg, ctx)
            })
            .collect();
        assert_eq!(seen, expected);
        // The large call's buffers were freed afterwards, not kept.
        SCRATCH.with(|s| {
            let s = s.borrow();
            assert!(s.request.capacity() <= KEEP_CAPACITY);
            assert!(s.msg.payload.capacity() <= KEEP_CAPACITY);
        });
    }

    #[test]
    fn non_ascii_strings_decode_and_invalid_utf8_is_an_error() {
        let ok = full_request(
            "température/€".as_bytes(),
            b"",
            vec![(b"k", b"v")],
            None,
            "güest".as_bytes(),
            None,
            None,
        );
        assert_eq!(serve_typed_once(&ok, record).0, 1);
        let (msg, ctx) = SEEN.with(|s| s.take()).pop().unwrap();
        assert_eq!((msg.topic.as_str(), ctx.client_id.as_str()), ("température/€", "güest"));
        let bad = full_request(b"t\xff", b"", Vec::new(), None, b"c", None, None);
        let (status, answer) = serve_typed_once(&bad, record);
        assert_eq!(status, 0);
        assert_eq!(answer, Err(DecodeError::NotUtf8 { field: "topic" }.to_string()));
    }
}
