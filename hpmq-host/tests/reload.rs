//! Hot reload under load: many threads call while the module is replaced again and again; no call fails
//! and every call is served by exactly one complete version. And the checks a reload must pass: a new
//! version keeps every function in use, whatever kind of module it or the current version is.

// Integration-test helpers outside #[test] fns may fail loudly too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use common::*;
use hpmq_host::{AuthAction, AuthRequest, Binding, Direction, Error, FunctionRef, QoS};
use mqtt_codec::TopicFilter;

fn version(p: &hpmq_host::Processed) -> String {
    assert!(p.errors.is_empty(), "{:?}", p.errors);
    assert_eq!(p.messages.len(), 1);
    let props = &p.messages[0].user_properties;
    assert_eq!(props.len(), 1, "exactly one version tag: {props:?}");
    props[0].1.to_string()
}

#[test]
fn reload_under_concurrent_load_never_fails_a_call() {
    let rt = Arc::new(runtime_with(&[("tagger", "tagger-v1")], test_limits()));
    rt.bind(Binding::new(
        Direction::Upstream,
        TopicFilter::try_from("#").unwrap(),
        vec![FunctionRef::new("tagger", "tag")],
    ))
    .unwrap();
    let (v1, v2) = (guest("tagger-v1"), guest("tagger-v2"));
    let stop = Arc::new(AtomicBool::new(false));
    let workers: Vec<_> = (0..4)
        .map(|i| {
            let (rt, stop) = (Arc::clone(&rt), Arc::clone(&stop));
            std::thread::spawn(move || {
                let mut seen = [0u64; 2];
                let ctx = hpmq_host::Context::new(format!("worker-{i}"));
                while !stop.load(Ordering::Relaxed) {
                    let p = rt.process(Direction::Upstream, msg("t", "x"), &ctx);
                    match version(&p).as_str() {
                        "1" => seen[0] += 1,
                        "2" => seen[1] += 1,
                        other => panic!("unknown version {other}"),
                    }
                }
                seen
            })
        })
        .collect();
    for round in 0..6 {
        let bytes = if round % 2 == 0 { &v2 } else { &v1 };
        rt.load_module("tagger", bytes).unwrap();
        // A failed reload in between leaves the current version serving.
        assert!(rt.load_module("tagger", b"\0asm garbage").is_err());
    }
    rt.load_module("tagger", &v2).unwrap();
    stop.store(true, Ordering::Relaxed);
    let mut total = [0u64; 2];
    for w in workers {
        let seen = w.join().unwrap();
        total[0] += seen[0];
        total[1] += seen[1];
    }
    eprintln!("calls served: v1 {}, v2 {}", total[0], total[1]);
    assert!(total[0] > 0 && total[1] > 0, "both versions served calls: {total:?}");
    let stats = rt.stats(&FunctionRef::new("tagger", "tag")).unwrap();
    assert_eq!(stats.failures, 0);
    assert_eq!(stats.calls, total[0] + total[1]);
    // After the last reload, every call is served by version 2.
    for _ in 0..10 {
        assert_eq!(version(&rt.process(Direction::Upstream, msg("t", "x"), &ctx())), "2");
    }
}

#[test]
fn reload_that_drops_a_bound_function_is_refused() {
    let rt = runtime_with(&[("m", "tagger-v1")], test_limits());
    rt.bind(Binding::new(
        Direction::Upstream,
        TopicFilter::try_from("#").unwrap(),
        vec![FunctionRef::new("m", "tag")],
    ))
    .unwrap();
    let e = rt.load_module("m", &guest("hostile")).unwrap_err();
    assert!(
        matches!(e, Error::ReloadDropsBoundFunction { ref function, .. } if function == "tag"),
        "{e}"
    );
    assert_eq!(version(&rt.process(Direction::Upstream, msg("t", "x"), &ctx())), "1");
}

fn bind_all(rt: &hpmq_host::Runtime, direction: Direction, function: FunctionRef) -> hpmq_host::BindingId {
    rt.bind(Binding::new(
        direction,
        TopicFilter::try_from("#").unwrap(),
        vec![function],
    ))
    .unwrap()
}

fn unverifiable(e: &Error, module: &str, function: &str) -> bool {
    matches!(e, Error::ReloadUnverifiable { module: m, function: f } if m == module && f == function)
}

/// A plain waPC module declares no functions, so nothing shows that it still has the bound one: before the
/// fix this reload skipped the check and silently replaced `tag`.
#[test]
fn a_plain_wapc_module_cannot_replace_bound_functions() {
    let rt = runtime_with(&[("m", "tagger-v1")], test_limits());
    bind_all(&rt, Direction::Upstream, FunctionRef::new("m", "tag"));
    let e = rt.load_module("m", &guest("plain-wapc")).unwrap_err();
    assert!(unverifiable(&e, "m", "tag"), "{e}");
    assert_eq!(version(&rt.process(Direction::Upstream, msg("t", "x"), &ctx())), "1");
}

/// The same for the module holding the authorize hook: the hook must keep answering from the old version.
#[test]
fn a_plain_wapc_module_cannot_replace_the_authorize_hook() {
    let rt = runtime_with(&[("m", "rental")], test_limits());
    let hook = FunctionRef::new("m", "authorize");
    rt.use_authorize_function(&hook).unwrap();
    let e = rt.load_module("m", &guest("plain-wapc")).unwrap_err();
    assert!(unverifiable(&e, "m", "authorize"), "{e}");
    let request = AuthRequest {
        action: AuthAction::Publish,
        topic: "rental/bind",
        qos: QoS::AtLeastOnce,
        retain: false,
    };
    let out = rt.authorize(&hook, &request, &ctx());
    assert!(out.verdict.is_allow() && out.error.is_none(), "{out:?}");
    // Nor can the module holding the hook be unloaded.
    assert!(matches!(rt.unload_module("m"), Err(Error::ModuleInUse(m)) if m == "m"));
}

/// Whatever kind of module is loaded: a bound plain module cannot be replaced by another plain one either,
/// since neither can show its functions. Unbinding first makes the reload possible.
#[test]
fn a_bound_plain_module_is_not_replaced_unchecked() {
    let rt = runtime_with(&[("p", "plain-wapc")], test_limits());
    let id = bind_all(&rt, Direction::Upstream, FunctionRef::new("p", "echo"));
    let e = rt.load_module("p", &guest("plain-wapc")).unwrap_err();
    assert!(unverifiable(&e, "p", "echo"), "{e}");
    assert!(rt.unbind(id));
    rt.load_module("p", &guest("plain-wapc")).unwrap();
    // Unbound and without a hook, any module may replace it, and an hpmq-sdk module may replace that.
    rt.load_module("p", &guest("tagger-v1")).unwrap();
}

/// A new version that declares a bound function for the other direction is refused too.
#[test]
fn a_reload_may_not_turn_a_bound_function_around() {
    let rt = runtime_with(&[("m", "functions")], test_limits());
    // `dedup` is `#[downstream]` in `functions` and `#[upstream]` in `rental`.
    bind_all(&rt, Direction::Downstream, FunctionRef::new("m", "dedup"));
    let e = rt.load_module("m", &guest("rental")).unwrap_err();
    assert!(
        matches!(
            &e,
            Error::DirectionMismatch {
                declared: "upstream",
                bound: "downstream",
                ..
            }
        ),
        "{e}"
    );
    rt.load_module("m", &guest("functions")).unwrap();
}
