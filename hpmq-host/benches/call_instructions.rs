//! Instructions per call, counted by callgrind: a number that does not move with the machine's load, unlike
//! the times `benches/call.rs` measures.
//!
//! `scripts/bench-host-instructions` builds this and runs every case under
//! `valgrind --tool=callgrind --toggle-collect='*call_instructions*measured*'`, so only the calls inside
//! [`measured`] are counted (setup, compilation and warm-up are not), and divides by the number of calls.
//! Run alone (`cargo bench -p hpmq-host --bench call_instructions -- CASE CALLS [LIMITS]`) it just makes the
//! calls.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../tests/common/mod.rs"]
mod common;

use std::hint::black_box;

use common::*;
use hpmq_host::{Binding, Context, Direction, FunctionRef, Limits, Message, Runtime};
use mqtt_codec::TopicFilter;

/// What a broker passes for a v5 client that logged in over TCP (the peer address is encoded per call).
fn broker_context() -> Context {
    Context {
        username: Some("building-7".into()),
        peer_addr: Some(([192, 0, 2, 17], 51234).into()),
        ..Context::new("sensor-0042")
    }
}

/// The cases the script runs, in its table's order.
const CASES: [&str; 5] = ["echo", "pass", "rewrite", "seed", "process-pass"];

/// Makes `calls` calls of `one`; the only code callgrind counts.
#[inline(never)]
fn measured(calls: u64, one: &mut dyn FnMut()) {
    for _ in 0..calls {
        one();
    }
}

fn main() {
    // `cargo bench` passes `--bench`; the case and the call count are the other arguments.
    let args: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with("--")).collect();
    let case = args.first().map_or("pass", String::as_str);
    let calls: u64 = args
        .get(1)
        .map_or(10_000, |n| n.parse().expect("CALLS must be a number"));
    assert!(CASES.contains(&case), "unknown case `{case}`; one of {CASES:?}");
    // The per-call limits: `epoch` (the default), `none`, `fuel` or `epoch+fuel`.
    let limits = args.get(2).map_or("epoch", String::as_str);
    let (deadline_ms, fuel) = match limits {
        "epoch" => (Some(100), None),
        "none" => (None, None),
        "fuel" => (None, Some(10_000_000)),
        "epoch+fuel" => (Some(100), Some(10_000_000)),
        other => panic!("unknown limits `{other}`; one of epoch, none, fuel, epoch+fuel"),
    };

    // Two instance slots (one per module) keep the pooling allocator's address-space reservation within what
    // valgrind can map.
    let rt = Runtime::new(Limits {
        max_instances: 2,
        deadline_ms,
        fuel,
        ..Limits::default()
    })
    .unwrap();
    rt.load_module("fns", &guest("functions")).unwrap();
    rt.load_module("plain", &guest("plain-wapc")).unwrap();
    rt.bind(Binding::new(
        Direction::Upstream,
        TopicFilter::try_from("raw/#").unwrap(),
        vec![FunctionRef::new("fns", "pass")],
    ))
    .unwrap();
    let msg = Message::new(topic("raw/building-7/floor-3/temp"), vec![b'7'; 100]);
    let payload = msg.payload.to_vec();
    let his = vec![b'6'; 100];
    let ctx = broker_context();
    let echo = FunctionRef::new("plain", "echo");
    let pass = FunctionRef::new("fns", "pass");
    let rewrite = FunctionRef::new("fns", "rewrite");
    let seed = FunctionRef::new("fns", "custom_local_publish");

    let mut one: Box<dyn FnMut()> = match case {
        "echo" => Box::new(|| {
            black_box(rt.call_raw(&echo, black_box(&payload)).unwrap());
        }),
        "pass" => Box::new(|| {
            black_box(
                rt.call(&pass, Direction::Upstream, black_box(&msg), &ctx, None)
                    .unwrap(),
            );
        }),
        "rewrite" => Box::new(|| {
            black_box(
                rt.call(&rewrite, Direction::Upstream, black_box(&msg), &ctx, None)
                    .unwrap(),
            );
        }),
        "seed" => Box::new(|| {
            black_box(
                rt.call(&seed, Direction::Upstream, black_box(&msg), &ctx, Some(&his))
                    .unwrap(),
            );
        }),
        _ => Box::new(|| {
            let out = rt.process(Direction::Upstream, black_box(msg.clone()), &ctx);
            assert!(out.errors.is_empty());
            black_box(out);
        }),
    };
    // Warm up: the first calls grow the guest's heap and the host's buffers.
    warm_up(&mut *one);
    measured(calls, &mut *one);
}

/// Not counted (its name does not match the toggle pattern).
fn warm_up(one: &mut dyn FnMut()) {
    for _ in 0..1000 {
        one();
    }
}
