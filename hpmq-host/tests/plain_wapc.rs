//! A waPC guest written against `wapc-guest` alone (no hpmq-sdk) runs on this host.

// Integration-test helpers outside #[test] fns may fail loudly too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use common::*;
use hpmq_host::{CallFailure, Error, FunctionRef, Runtime};

#[test]
fn plain_wapc_guest_runs() {
    let rt = Runtime::new(test_limits()).unwrap();
    let info = rt.load_module("plain", &guest("plain-wapc")).unwrap();
    assert!(info.functions.is_empty(), "plain waPC modules declare nothing up front");
    let out = rt.call_raw(&FunctionRef::new("plain", "reverse"), b"hello").unwrap();
    assert_eq!(out, b"olleh");
    // Instances are reused: a second call works the same.
    assert_eq!(
        rt.call_raw(&FunctionRef::new("plain", "reverse"), b"ab").unwrap(),
        b"ba"
    );
}

#[test]
fn echo_returns_its_input_unchanged() {
    let rt = Runtime::new(test_limits()).unwrap();
    rt.load_module("plain", &guest("plain-wapc")).unwrap();
    let input: Vec<u8> = (0..=255).collect();
    assert_eq!(rt.call_raw(&FunctionRef::new("plain", "echo"), &input).unwrap(), input);
    assert_eq!(rt.call_raw(&FunctionRef::new("plain", "echo"), b"").unwrap(), b"");
}

#[test]
fn unknown_host_calls_are_errors_the_guest_sees() {
    let rt = Runtime::new(test_limits()).unwrap();
    rt.load_module("plain", &guest("plain-wapc")).unwrap();
    let e = rt.call_raw(&FunctionRef::new("plain", "ask_host"), b"?").unwrap_err();
    let Error::Call {
        failure: CallFailure::GuestError(text),
        ..
    } = e
    else {
        panic!("{e:?}")
    };
    assert!(text.contains("unknown host call binding `other`"), "{text}");
}
