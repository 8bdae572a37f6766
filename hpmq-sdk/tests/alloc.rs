//! The direct entry allocates nothing per call once warm: the request, the decoded message and context and
//! the response live in buffers the instance reuses (counted with a counting global allocator).

#![allow(clippy::unwrap_used, clippy::panic)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use hpmq_abi::{DISCARD_RESPONSE, Direction, FORWARD_RESPONSE, MessageView, RequestView, encode_request};
use hpmq_sdk::__private::{GuestIo, serve_typed};
use hpmq_sdk::anyhow::Result;
use hpmq_sdk::{Action, Context, Message};

struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards to the system allocator; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as ours.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as ours.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as ours.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// A host that copies the request in and checks the answer without allocating.
struct Host<'r> {
    request: &'r [u8],
    expect: &'r [u8],
    answers: usize,
}

impl GuestIo for Host<'_> {
    fn request(&mut self, buf: &mut [u8]) {
        buf.copy_from_slice(self.request);
    }
    fn respond(&mut self, answer: &[u8]) {
        assert_eq!(answer, self.expect);
        self.answers += 1;
    }
    fn fail(&mut self, text: &str) {
        panic!("call failed: {text}");
    }
}

fn pass(msg: &Message, ctx: &Context) -> Result<Action> {
    assert_eq!(msg.payload.len(), 100);
    assert_eq!(ctx.username.as_deref(), Some("building-7"));
    Ok(Action::Forward)
}

fn drop_it(_: &Message, _: &Context) -> Result<Action> {
    Ok(Action::Discard)
}

#[test]
fn warm_typed_calls_allocate_nothing() {
    let payload = [b'7'; 100];
    let mut request = Vec::new();
    encode_request(
        &RequestView {
            direction: Direction::Upstream,
            protocol_version: 5,
            message: MessageView {
                topic: b"raw/building-7/floor-3/temp",
                payload: &payload,
                qos: hpmq_abi::QoS::AtLeastOnce,
                retain: false,
                user_properties: Vec::new(),
            },
            his_payload: Some(&payload),
            client_id: b"sensor-0042",
            username: Some(b"building-7"),
            peer_addr: Some(b"192.0.2.17:51234"),
        },
        &mut request,
    );
    for (f, expect) in [
        (pass as fn(&Message, &Context) -> Result<Action>, &FORWARD_RESPONSE),
        (drop_it, &DISCARD_RESPONSE),
    ] {
        let mut host = Host {
            request: &request,
            expect,
            answers: 0,
        };
        // The first call grows the buffers.
        assert_eq!(serve_typed(request.len(), f, &mut host), 1);
        let before = ALLOCATIONS.load(Ordering::Relaxed);
        for _ in 0..100 {
            assert_eq!(serve_typed(request.len(), f, &mut host), 1);
        }
        assert_eq!(ALLOCATIONS.load(Ordering::Relaxed) - before, 0);
        assert_eq!(host.answers, 101);
    }
}
