//! Host → guest → host round trips for a 100-byte message.
//!
//! Run: `cargo bench -p hpmq-host --bench call -- --warm-up-time 1 --measurement-time 3`
//! (builds the guests first, like the tests).

#![allow(clippy::unwrap_used)]

#[path = "../tests/common/mod.rs"]
mod common;

use std::hint::black_box;

use common::*;
use criterion::{Criterion, criterion_group, criterion_main};
use hpmq_host::{Binding, Direction, FunctionRef, Limits, Message, Runtime};
use mqtt_codec::TopicFilter;

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

fn calls(c: &mut Criterion) {
    let ctx = ctx();
    let msg = hundred_byte_message();
    let mut g = c.benchmark_group("hpmq-host/process 100 B (epoch deadline)");
    let rt = runtime(limits(true, false), &[], false);
    g.bench_function("no binding (pass-through baseline)", |b| {
        b.iter(|| black_box(rt.process(Direction::Upstream, msg.clone(), &ctx)))
    });
    let rt = runtime(limits(true, false), &["pass"], false);
    g.bench_function("typed, Forward", |b| {
        b.iter(|| black_box(rt.process(Direction::Upstream, msg.clone(), &ctx)))
    });
    let rt = runtime(limits(true, false), &["rewrite"], false);
    g.bench_function("typed, rewrite topic+qos+property", |b| {
        b.iter(|| black_box(rt.process(Direction::Upstream, msg.clone(), &ctx)))
    });
    let rt = runtime(limits(true, false), &["custom_local_publish"], true);
    g.bench_function("seed form, with his_payload", |b| {
        b.iter(|| black_box(rt.process(Direction::Upstream, msg.clone(), &ctx)))
    });
    g.finish();

    let mut g = c.benchmark_group("hpmq-host/limits (typed Forward)");
    for (name, deadline, fuel) in [
        ("none", false, false),
        ("epoch", true, false),
        ("fuel", false, true),
        ("epoch+fuel", true, true),
    ] {
        let rt = runtime(limits(deadline, fuel), &["pass"], false);
        g.bench_function(name, |b| {
            b.iter(|| black_box(rt.process(Direction::Upstream, msg.clone(), &ctx)))
        });
    }
    g.finish();

    let mut g = c.benchmark_group("hpmq-host/instantiation");
    let rt = runtime(
        Limits {
            max_idle_instances: 0,
            ..limits(true, false)
        },
        &["pass"],
        false,
    );
    g.bench_function("typed Forward on a fresh instance every call", |b| {
        b.iter(|| black_box(rt.process(Direction::Upstream, msg.clone(), &ctx)))
    });
    let bytes = guest("functions");
    let rt = Runtime::new(limits(true, false)).unwrap();
    g.sample_size(10);
    g.bench_function("load_module (compile + first instance), 140 KB module", |b| {
        b.iter(|| rt.load_module("fns", black_box(&bytes)).unwrap())
    });
    g.finish();
}

criterion_group!(benches, calls);
criterion_main!(benches);
