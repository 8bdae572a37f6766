//! `Runtime::with_engine`: an engine the embedder built runs functions within the limits when it can, is
//! refused with a reason when it cannot, and is shared between runtimes.

// Integration-test helpers outside #[test] fns may fail loudly too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use common::*;
use hpmq_host::wasmtime::{Config, Engine};
use hpmq_host::{CallFailure, Decision, Direction, EngineMismatch, Error, FunctionRef, Limits, Runtime};

fn engine(configure: impl FnOnce(&mut Config)) -> Engine {
    let mut config = Config::new();
    configure(&mut config);
    Engine::new(&config).unwrap()
}

fn call(rt: &Runtime, module: &str, function: &str) -> Result<Decision, Error> {
    rt.call(
        &FunctionRef::new(module, function),
        Direction::Upstream,
        &msg("raw/t", "x"),
        &ctx(),
        None,
    )
}

#[test]
fn an_engine_without_a_required_setting_is_refused_not_a_panic() {
    let deadline = Limits {
        deadline_ms: Some(50),
        fuel: None,
        ..test_limits()
    };
    let e = Runtime::with_engine(engine(|_| {}), deadline).err().unwrap();
    assert!(
        matches!(e, Error::UnsuitableEngine(EngineMismatch::NoEpochInterruption)),
        "{e}"
    );
    assert!(e.to_string().contains("epoch_interruption"), "{e}");
    let fuel = Limits {
        deadline_ms: None,
        fuel: Some(1_000_000),
        ..test_limits()
    };
    let e = Runtime::with_engine(
        engine(|c| {
            c.epoch_interruption(true);
        }),
        fuel,
    )
    .err()
    .unwrap();
    assert!(matches!(e, Error::UnsuitableEngine(EngineMismatch::NoFuel)), "{e}");
}

#[test]
fn one_engine_serves_two_runtimes() {
    let limits = test_limits();
    let shared = Engine::new(&Runtime::engine_config(&limits)).unwrap();
    let a = Runtime::with_engine(shared.clone(), limits.clone()).unwrap();
    let b = Runtime::with_engine(shared.clone(), limits).unwrap();
    a.load_module("fns", &guest("functions")).unwrap();
    b.load_module("fns", &guest("functions")).unwrap();
    assert!(Engine::same(a.engine(), b.engine()));
    assert_eq!(call(&a, "fns", "pass").unwrap(), Decision::Forward);
    assert_eq!(call(&b, "fns", "pass").unwrap(), Decision::Forward);
    drop(a);
    // One runtime going away stops only its own epoch ticker; the other keeps its deadline and its calls.
    assert_eq!(call(&b, "fns", "pass").unwrap(), Decision::Forward);
}

#[test]
fn the_embedders_engine_enforces_deadline_and_fuel() {
    // The default (on-demand) allocator: the pooling allocator is recommended, not required.
    let deadline = Limits {
        deadline_ms: Some(50),
        fuel: None,
        ..test_limits()
    };
    let rt = Runtime::with_engine(
        engine(|c| {
            c.epoch_interruption(true);
        }),
        deadline,
    )
    .unwrap();
    rt.load_module("h", &guest("hostile")).unwrap();
    match call(&rt, "h", "spins") {
        Err(Error::Call { failure, .. }) => assert_eq!(failure, CallFailure::DeadlineExceeded { deadline_ms: 50 }),
        other => panic!("expected the deadline to stop the loop, got {other:?}"),
    }
    let fuel = Limits {
        deadline_ms: None,
        fuel: Some(5_000_000),
        ..test_limits()
    };
    let rt = Runtime::with_engine(
        engine(|c| {
            c.consume_fuel(true);
        }),
        fuel,
    )
    .unwrap();
    rt.load_module("h", &guest("hostile")).unwrap();
    match call(&rt, "h", "spins") {
        Err(Error::Call { failure, .. }) => assert_eq!(failure, CallFailure::FuelExhausted { fuel: 5_000_000 }),
        other => panic!("expected fuel to stop the loop, got {other:?}"),
    }
}

#[test]
fn epochs_and_fuel_the_limits_do_not_use_leave_calls_unlimited() {
    let none = Limits {
        deadline_ms: None,
        fuel: None,
        ..test_limits()
    };
    let both = engine(|c| {
        c.epoch_interruption(true).consume_fuel(true);
    });
    let rt = Runtime::with_engine(both.clone(), none).unwrap();
    rt.load_module("fns", &guest("functions")).unwrap();
    // A store of this engine starts with no fuel and an elapsed deadline; the runtime lifted both.
    for _ in 0..3 {
        both.increment_epoch();
        assert_eq!(call(&rt, "fns", "pass").unwrap(), Decision::Forward);
    }
    let Decision::Publish(out) = call(&rt, "fns", "rewrite").unwrap() else {
        panic!("rewrite publishes")
    };
    assert_eq!(out[0].topic.as_str(), "site/t");
}
