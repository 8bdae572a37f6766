//! The authorize hook through real guests: the rental policy decides, hostile hooks deny (fail closed) and
//! are counted, and the hook is validated and pinned against reloads that would drop it.

// Integration-test helpers outside #[test] fns may fail loudly too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use common::*;
use hpmq_host::{AuthAction, AuthRequest, CallFailure, Context, Error, FunctionRef, Limits, QoS, Verdict};
use mqtt_codec::ReasonCode;

fn publish(topic: &str) -> AuthRequest<'_> {
    AuthRequest {
        action: AuthAction::Publish,
        topic,
        qos: QoS::AtLeastOnce,
        retain: false,
    }
}

fn subscribe(filter: &str) -> AuthRequest<'_> {
    AuthRequest {
        action: AuthAction::Subscribe,
        topic: filter,
        qos: QoS::AtMostOnce,
        retain: false,
    }
}

#[test]
fn rental_policy_decides_through_the_guest() {
    let rt = runtime_with(&[("rental", "rental")], test_limits());
    let f = FunctionRef::new("rental", "authorize");
    rt.use_authorize_function(&f).unwrap();
    let aaa = Context::new("AAA");
    let bbb = Context::new("BBB");
    let ok = rt.authorize(&f, &publish("device/AAA/status"), &aaa);
    assert_eq!(ok.verdict, Verdict::Allow);
    assert!(ok.error.is_none());
    let denied = rt.authorize(&f, &publish("device/AAA/status"), &bbb);
    assert_eq!(denied.verdict, Verdict::deny());
    assert_eq!(denied.deny_reason(), Some(ReasonCode::NotAuthorized));
    assert_eq!(ok.deny_reason(), None);
    assert!(denied.error.is_none(), "a deny is an answer, not a failure");
    assert!(rt.authorize(&f, &subscribe("phone/BBB/#"), &bbb).verdict.is_allow());
    assert!(!rt.authorize(&f, &subscribe("phone/BBB/#"), &aaa).verdict.is_allow());
    // The retain flag reaches the guest: a retained command is refused.
    let mut retained = publish("phone/BBB/cmd");
    assert!(rt.authorize(&f, &retained, &bbb).verdict.is_allow());
    retained.retain = true;
    assert!(!rt.authorize(&f, &retained, &bbb).verdict.is_allow());
    let stats = rt.stats(&f).unwrap();
    assert_eq!((stats.calls, stats.failures), (6, 0));
}

#[test]
fn failing_hooks_deny_and_are_counted() {
    let limits = Limits {
        deadline_ms: Some(50),
        ..test_limits()
    };
    let rt = runtime_with(&[("hostile", "hostile")], limits);
    for (name, kind) in [
        ("authorize_panics", "panic"),
        ("authorize_spins", "deadline"),
        ("authorize_bad_code", "bad_output"),
    ] {
        let f = FunctionRef::new("hostile", name);
        rt.use_authorize_function(&f).unwrap();
        for _ in 0..2 {
            let out = rt.authorize(&f, &publish("a/b"), &ctx());
            assert_eq!(out.verdict, Verdict::deny(), "{name}");
            match out.error {
                Some(Error::Call { function, failure }) => {
                    assert_eq!(function, f);
                    assert_eq!(failure.kind(), kind, "{name}: {failure}");
                    if let CallFailure::Panicked(text) = failure {
                        assert!(text.contains("authorize boom on a/b"), "{text}");
                    }
                }
                other => panic!("{name}: expected a call failure, got {other:?}"),
            }
        }
        let stats = rt.stats(&f).unwrap();
        assert_eq!((stats.calls, stats.failures), (2, 2), "{name}");
    }
    // The runtime still serves message functions after the traps.
    assert!(
        rt.call(
            &FunctionRef::new("hostile", "fine"),
            hpmq_host::Direction::Upstream,
            &msg("t", "x"),
            &ctx(),
            None
        )
        .is_ok()
    );
    // An unknown module denies too.
    let missing = rt.authorize(&FunctionRef::new("nope", "authorize"), &publish("a"), &ctx());
    assert_eq!(missing.verdict, Verdict::deny());
    assert!(matches!(missing.error, Some(Error::UnknownModule(_))));
}

#[test]
fn only_declared_authorize_functions_can_be_the_hook() {
    let rt = runtime_with(&[("rental", "rental")], test_limits());
    let info = rt.load_module("rental", &guest("rental")).unwrap();
    assert_eq!(info.authorize_functions, ["authorize"]);
    assert!(matches!(
        rt.use_authorize_function(&FunctionRef::new("rental", "rental")),
        Err(Error::NotAuthorizeFunction {
            declared: "upstream",
            ..
        })
    ));
    assert!(matches!(
        rt.use_authorize_function(&FunctionRef::new("rental", "missing")),
        Err(Error::UnknownFunction(_))
    ));
    assert!(matches!(
        rt.use_authorize_function(&FunctionRef::new("other", "authorize")),
        Err(Error::UnknownModule(_))
    ));
    // A message function handed an authorize request fails instead of misreading it, and denies.
    let out = rt.authorize(&FunctionRef::new("rental", "rental"), &publish("a"), &ctx());
    assert!(!out.verdict.is_allow());
    assert!(out.error.is_some());
}

#[test]
fn a_reload_may_not_drop_the_hook_in_use() {
    let rt = runtime_with(&[("m", "rental")], test_limits());
    let f = FunctionRef::new("m", "authorize");
    rt.use_authorize_function(&f).unwrap();
    // `functions` has message functions but no authorize function: refused, and the old version stays.
    let err = rt.load_module("m", &guest("functions")).unwrap_err();
    assert!(
        matches!(&err, Error::ReloadDropsBoundFunction { function, .. } if function == "authorize"),
        "{err}"
    );
    assert!(rt.authorize(&f, &publish("rental/bind"), &ctx()).verdict.is_allow());
    // Reloading the same module is fine.
    rt.load_module("m", &guest("rental")).unwrap();
}
