//! Host → guest → host round trips for a 100-byte message, the cost of the per-call limits, and the cost of
//! instantiation. Results and their reading are in `BENCHMARKS.md` (section `hpmq-host`).
//!
//! Run: `cargo bench -p hpmq-host --bench call -- --warm-up-time 1 --measurement-time 3`
//! (builds the guests first, like the tests). Time is the benchmark thread's CPU time, not wall time (see
//! `support/cpu_time.rs`); the epoch ticker's thread is not charged. `scripts/bench-host-instructions` counts
//! instructions per call instead, which does not depend on the machine's load at all.
//!
//! - `call`: one function on one message through [`Runtime::call`] (no binding lookup, no history): the
//!   waPC floor (a plain guest echoing its input), the typed form (`pass` forwards, `rewrite` publishes a
//!   changed copy) and the seed form (`custom_local_publish`, given a different `his_payload`).
//! - `process`: the broker's path, [`Runtime::process`]: binding match with `mqtt-router`, the chain, and
//!   for the seed form the `his_payload` history.
//! - `limits`: the typed `pass` call under no limit, an epoch deadline, fuel, and both.
//! - `instantiation`: a call that instantiates a fresh instance from the pooling allocator (no idle instance
//!   is kept), and `load_module` (compile + first instance).

#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

#[path = "../tests/common/mod.rs"]
mod common;
#[path = "support/cpu_time.rs"]
mod cpu_time;

use std::hint::black_box;

use common::*;
use cpu_time::ThreadCpuTime;
use criterion::{Criterion, criterion_group, criterion_main};
use hpmq_host::{Binding, Context, Decision, Direction, FunctionRef, Limits, Message, Runtime};
use mqtt_codec::TopicFilter;

/// What a broker passes for a v5 client that logged in over TCP (the peer address is encoded per call).
fn broker_context() -> Context {
    Context {
        username: Some("building-7".into()),
        peer_addr: Some(([192, 0, 2, 17], 51234).into()),
        ..Context::new("sensor-0042")
    }
}

fn hundred_byte_message() -> Message {
    Message::new(topic("raw/building-7/floor-3/temp"), vec![b'7'; 100])
}

fn limits(deadline: bool, fuel: bool) -> Limits {
    Limits {
        deadline_ms: deadline.then_some(100),
        fuel: fuel.then_some(10_000_000),
        max_instances: 16,
        ..Limits::default()
    }
}

fn runtime(limits: Limits, chain: &[&str], history: bool) -> Runtime {
    let rt = Runtime::new(limits).unwrap();
    rt.load_module("fns", &guest("functions")).unwrap();
    rt.load_module("plain", &guest("plain-wapc")).unwrap();
    if !chain.is_empty() {
        let topics = if history { 1024 } else { 0 };
        rt.bind(
            Binding::new(
                Direction::Upstream,
                TopicFilter::try_from("raw/#").unwrap(),
                chain.iter().map(|f| FunctionRef::new("fns", *f)).collect(),
            )
            .history(topics, 1 << 20),
        )
        .unwrap();
    }
    rt
}

fn calls(c: &mut Criterion<ThreadCpuTime>) {
    let ctx = broker_context();
    let msg = hundred_byte_message();
    let his = vec![b'6'; 100];
    let rt = runtime(limits(true, false), &[], false);

    let mut g = c.benchmark_group("hpmq-host/call 100 B (epoch deadline)");
    let echo = FunctionRef::new("plain", "echo");
    let payload = msg.payload.to_vec();
    assert_eq!(rt.call_raw(&echo, &payload).unwrap(), payload);
    g.bench_function("waPC echo (pass-through baseline)", |b| {
        b.iter(|| black_box(rt.call_raw(&echo, black_box(&payload))))
    });
    let pass = FunctionRef::new("fns", "pass");
    assert_eq!(
        rt.call(&pass, Direction::Upstream, &msg, &ctx, None).unwrap(),
        Decision::Forward
    );
    g.bench_function("typed pass -> Forward", |b| {
        b.iter(|| black_box(rt.call(&pass, Direction::Upstream, black_box(&msg), &ctx, None)))
    });
    let rewrite = FunctionRef::new("fns", "rewrite");
    assert!(matches!(
        rt.call(&rewrite, Direction::Upstream, &msg, &ctx, None).unwrap(),
        Decision::Publish(m) if m.len() == 1 && m[0].topic.as_str() == "site/building-7/floor-3/temp"
    ));
    g.bench_function("typed rewrite -> Publish(topic, qos, property)", |b| {
        b.iter(|| black_box(rt.call(&rewrite, Direction::Upstream, black_box(&msg), &ctx, None)))
    });
    let seed = FunctionRef::new("fns", "custom_local_publish");
    assert!(matches!(
        rt.call(&seed, Direction::Upstream, &msg, &ctx, Some(&his)).unwrap(),
        Decision::Publish(m) if m.len() == 1 && m[0].payload == msg.payload
    ));
    g.bench_function("seed custom_local_publish -> Transmit", |b| {
        b.iter(|| black_box(rt.call(&seed, Direction::Upstream, black_box(&msg), &ctx, Some(&his))))
    });
    g.finish();

    let mut g = c.benchmark_group("hpmq-host/process 100 B (epoch deadline)");
    g.bench_function("no binding matches", |b| {
        b.iter(|| black_box(rt.process(Direction::Upstream, msg.clone(), &ctx)))
    });
    for (name, function, history) in [
        ("binding + typed pass", "pass", false),
        ("binding + typed rewrite", "rewrite", false),
        ("binding + seed form with his_payload", "custom_local_publish", true),
    ] {
        let rt = runtime(limits(true, false), &[function], history);
        let out = rt.process(Direction::Upstream, msg.clone(), &ctx);
        assert!(out.errors.is_empty() && out.messages.len() == 1, "{out:?}");
        g.bench_function(name, |b| {
            b.iter(|| black_box(rt.process(Direction::Upstream, msg.clone(), &ctx)))
        });
    }
    g.finish();

    let mut g = c.benchmark_group("hpmq-host/limits (typed pass call)");
    for (name, deadline, fuel) in [
        ("none", false, false),
        ("epoch deadline", true, false),
        ("fuel", false, true),
        ("epoch deadline + fuel", true, true),
    ] {
        let rt = runtime(limits(deadline, fuel), &[], false);
        g.bench_function(name, |b| {
            b.iter(|| black_box(rt.call(&pass, Direction::Upstream, black_box(&msg), &ctx, None)))
        });
    }
    g.finish();

    let mut g = c.benchmark_group("hpmq-host/instantiation");
    let rt = runtime(
        Limits {
            max_idle_instances: 0,
            ..limits(true, false)
        },
        &[],
        false,
    );
    g.bench_function("typed pass call on a fresh pooled instance", |b| {
        b.iter(|| black_box(rt.call(&pass, Direction::Upstream, black_box(&msg), &ctx, None)))
    });
    let bytes = guest("functions");
    let rt = Runtime::new(limits(true, false)).unwrap();
    g.sample_size(10);
    g.bench_function(
        format!("load_module (compile + first instance), {} KB", bytes.len() / 1000),
        |b| b.iter(|| rt.load_module("fns", black_box(&bytes)).unwrap()),
    );
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().with_measurement(ThreadCpuTime);
    targets = calls
}
criterion_main!(benches);
