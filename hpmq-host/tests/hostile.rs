//! Misbehaving guests: each is stopped, its instance discarded, the failure returned, counted and logged,
//! and the runtime keeps serving.

// Integration-test helpers outside #[test] fns may fail loudly too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use common::*;
use hpmq_host::{CallFailure, Decision, Direction, Error, FunctionRef, Limits, Runtime};

fn h(name: &str) -> FunctionRef {
    FunctionRef::new("hostile", name)
}

fn failure(rt: &Runtime, name: &str) -> CallFailure {
    match rt.call(&h(name), Direction::Upstream, &msg("t", "x"), &ctx(), None) {
        Err(Error::Call { function, failure }) => {
            assert_eq!(function, h(name));
            failure
        }
        other => panic!("{name}: expected a call failure, got {other:?}"),
    }
}

fn still_serves(rt: &Runtime) {
    assert_eq!(
        rt.call(&h("fine"), Direction::Upstream, &msg("t", "x"), &ctx(), None)
            .unwrap(),
        Decision::Forward
    );
}

#[test]
fn panic_is_reported_with_its_message_and_the_instance_replaced() {
    let rt = runtime_with(&[("hostile", "hostile")], test_limits());
    for _ in 0..3 {
        let f = failure(&rt, "panics");
        let CallFailure::Panicked(text) = &f else {
            panic!("{f:?}")
        };
        assert!(text.contains("boom on t"), "{text}");
        still_serves(&rt);
    }
    let s = rt.stats(&h("panics")).unwrap();
    assert_eq!((s.calls, s.failures, s.discarded_instances), (3, 3, 3));
}

#[test]
fn infinite_loop_is_stopped_by_the_epoch_deadline() {
    let limits = Limits {
        deadline_ms: Some(50),
        epoch_tick_ms: 5,
        ..test_limits()
    };
    let rt = runtime_with(&[("hostile", "hostile")], limits);
    let started = std::time::Instant::now();
    assert_eq!(failure(&rt, "spins"), CallFailure::DeadlineExceeded { deadline_ms: 50 });
    eprintln!("loop stopped after {:?} (deadline 50 ms, tick 5 ms)", started.elapsed());
    still_serves(&rt);
}

#[test]
fn infinite_loop_is_stopped_by_fuel() {
    let limits = Limits {
        deadline_ms: None,
        fuel: Some(5_000_000),
        ..test_limits()
    };
    let rt = runtime_with(&[("hostile", "hostile")], limits);
    assert_eq!(failure(&rt, "spins"), CallFailure::FuelExhausted { fuel: 5_000_000 });
    still_serves(&rt);
}

#[test]
fn a_one_gib_allocation_hits_the_memory_cap() {
    let rt = runtime_with(&[("hostile", "hostile")], test_limits());
    let f = failure(&rt, "memory_bomb");
    let CallFailure::MemoryLimit { desired, limit } = f else {
        panic!("{f:?}")
    };
    assert_eq!(limit, 64 << 20);
    assert!(desired > limit);
    still_serves(&rt);
}

#[test]
fn oversized_output_is_refused() {
    let rt = runtime_with(&[("hostile", "hostile")], test_limits());
    let f = failure(&rt, "huge_output");
    let CallFailure::OutputTooLarge { len, limit } = f else {
        panic!("{f:?}")
    };
    assert_eq!(limit, 1 << 20);
    assert!(len > 16 << 20);
    still_serves(&rt);
}

#[test]
fn too_many_published_messages_are_refused() {
    let rt = runtime_with(&[("hostile", "hostile")], test_limits());
    let f = failure(&rt, "flood");
    assert!(
        matches!(
            f,
            CallFailure::BadOutput(hpmq_abi::DecodeError::TooLarge {
                field: "message count",
                ..
            })
        ),
        "{f:?}"
    );
    still_serves(&rt);
}

#[test]
fn stack_overflow_is_a_trap_not_a_crash() {
    let rt = runtime_with(&[("hostile", "hostile")], test_limits());
    assert_eq!(failure(&rt, "deep"), CallFailure::StackOverflow);
    still_serves(&rt);
}

#[test]
fn unknown_operation_is_the_wapc_guest_error() {
    let rt = runtime_with(&[("hostile", "hostile")], test_limits());
    let f = failure(&rt, "not_there");
    let CallFailure::GuestError(text) = f else {
        panic!("{f:?}")
    };
    assert!(text.contains("No handler registered"), "{text}");
}

fn wat(body: &str) -> Vec<u8> {
    wat::parse_str(body).unwrap()
}

const PRELUDE: &str = r#"
    (import "wapc" "__guest_request" (func $req (param i32 i32)))
    (import "wapc" "__guest_response" (func $resp (param i32 i32)))
    (memory (export "memory") 1)
"#;

fn raw(rt: &Runtime, module: &str) -> Result<Vec<u8>, Error> {
    rt.call_raw(&FunctionRef::new(module, "any"), b"input")
}

#[test]
fn protocol_violations_by_hand_written_modules() {
    let rt = Runtime::new(test_limits()).unwrap();
    // Response pointer outside memory.
    rt.load_module(
        "oob",
        &wat(&format!(
            r#"(module {PRELUDE}
            (func (export "__guest_call") (param i32 i32) (result i32)
                (call $resp (i32.const 65530) (i32.const 100)) (i32.const 1)))"#
        )),
    )
    .unwrap();
    let e = raw(&rt, "oob").unwrap_err();
    assert!(
        matches!(&e, Error::Call { failure: CallFailure::Protocol(t), .. } if t.contains("outside guest memory")),
        "{e}"
    );

    // Request buffer outside memory.
    rt.load_module(
        "oob_req",
        &wat(&format!(
            r#"(module {PRELUDE}
            (func (export "__guest_call") (param i32 i32) (result i32)
                (call $req (i32.const 0) (i32.const -1)) (i32.const 1)))"#
        )),
    )
    .unwrap();
    assert!(matches!(
        raw(&rt, "oob_req"),
        Err(Error::Call {
            failure: CallFailure::Protocol(_),
            ..
        })
    ));

    // Success without a response.
    rt.load_module(
        "silent",
        &wat(&format!(
            r#"(module {PRELUDE} (func (export "__guest_call") (param i32 i32) (result i32) (i32.const 1)))"#
        )),
    )
    .unwrap();
    assert!(matches!(
        raw(&rt, "silent"),
        Err(Error::Call {
            failure: CallFailure::Protocol(_),
            ..
        })
    ));

    // Garbage where an hpmq response belongs.
    rt.load_module(
        "garbage",
        &wat(&format!(
            r#"(module {PRELUDE} (data (i32.const 0) "\01\02\ff\ff\ff\ff\ff")
            (func (export "__guest_call") (param i32 i32) (result i32)
                (call $resp (i32.const 0) (i32.const 7)) (i32.const 1)))"#
        )),
    )
    .unwrap();
    let e = rt
        .call(
            &FunctionRef::new("garbage", "f"),
            Direction::Upstream,
            &msg("t", "x"),
            &ctx(),
            None,
        )
        .unwrap_err();
    assert!(
        matches!(
            &e,
            Error::Call {
                failure: CallFailure::BadOutput(_),
                ..
            }
        ),
        "{e}"
    );
}

#[test]
fn modules_that_cannot_load_are_refused_with_a_reason() {
    let rt = Runtime::new(test_limits()).unwrap();
    let e = rt.load_module("junk", b"not wasm").unwrap_err();
    assert!(matches!(e, Error::Compile { .. }), "{e}");

    let wasi = wat(
        r#"(module (import "wasi_snapshot_preview1" "fd_write" (func (param i32 i32 i32 i32) (result i32)))
            (memory (export "memory") 1)
            (func (export "__guest_call") (param i32 i32) (result i32) (i32.const 0)))"#,
    );
    let e = rt.load_module("wasi", &wasi).unwrap_err();
    assert_eq!(
        e.to_string(),
        "module `wasi` imports `wasi_snapshot_preview1::fd_write`, which hpmq does not provide (only waPC `wapc::__*` imports exist)"
    );

    let e = rt
        .load_module("no_call", &wat(r#"(module (memory (export "memory") 1))"#))
        .unwrap_err();
    assert!(matches!(e, Error::Init { .. }), "{e}");

    let e = rt
        .load_module(
            "no_mem",
            &wat(r#"(module (func (export "__guest_call") (param i32 i32) (result i32) (i32.const 0)))"#),
        )
        .unwrap_err();
    assert!(e.to_string().contains("memory"), "{e}");

    let trapping_init = wat(r#"(module (memory (export "memory") 1)
            (func (export "wapc_init") unreachable)
            (func (export "__guest_call") (param i32 i32) (result i32) (i32.const 0)))"#);
    let e = rt.load_module("bad_init", &trapping_init).unwrap_err();
    assert!(matches!(e, Error::Init { .. }), "{e}");
}
