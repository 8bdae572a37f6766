//! What the runtime checks before it changes anything, driven with hand-written modules: reloads keep every
//! function in use, whatever the modules declare, and a poisoned lock refuses instead of misleading.

use super::*;

/// A waPC module (memory and `__guest_call`, which fails) exporting the given nullary registrations.
fn module(registrations: &[&str]) -> Vec<u8> {
    let funcs: String = registrations
        .iter()
        .map(|name| format!(r#"(func (export "{name}"))"#))
        .collect();
    wat::parse_str(format!(
        r#"(module (memory (export "memory") 1)
            (func (export "__guest_call") (param i32 i32) (result i32) (i32.const 0))
            {funcs})"#
    ))
    .unwrap()
}

fn runtime() -> Runtime {
    Runtime::new(Limits {
        max_instances: 4,
        deadline_ms: None,
        ..Limits::default()
    })
    .unwrap()
}

fn bind(rt: &Runtime, direction: Direction, function: &str) -> Result<BindingId, Error> {
    rt.bind(Binding::new(
        direction,
        TopicFilter::try_from("#").unwrap(),
        vec![FunctionRef::new("m", function)],
    ))
}

/// Panics in another thread while holding `lock`'s guard, which poisons it.
fn poison<T>(lock: impl FnOnce() -> T + Send) {
    std::thread::scope(|s| {
        let holder = s.spawn(move || {
            let _guard = lock();
            panic!("poisoning on purpose");
        });
        assert!(holder.join().is_err());
    });
}

#[test]
fn a_reload_keeps_the_authorize_hook_an_authorize_function() {
    let rt = runtime();
    rt.load_module("m", &module(&["__hpmq_authorize_auth"])).unwrap();
    rt.use_authorize_function(&FunctionRef::new("m", "auth")).unwrap();
    let e = rt.load_module("m", &module(&["__hpmq_upstream_auth"])).unwrap_err();
    assert!(
        matches!(
            &e,
            Error::NotAuthorizeFunction {
                declared: "upstream",
                ..
            }
        ),
        "{e}"
    );
    let e = rt.load_module("m", &module(&["__hpmq_authorize_other"])).unwrap_err();
    assert!(
        matches!(&e, Error::ReloadDropsBoundFunction { function, .. } if function == "auth"),
        "{e}"
    );
    let e = rt.load_module("m", &module(&[])).unwrap_err();
    assert!(
        matches!(&e, Error::ReloadUnverifiable { function, .. } if function == "auth"),
        "{e}"
    );
    let info = rt
        .load_module("m", &module(&["__hpmq_authorize_auth", "__hpmq_upstream_x"]))
        .unwrap();
    assert_eq!(info.authorize_functions, ["auth"]);
}

#[test]
fn a_bound_function_may_not_become_an_authorize_function() {
    let rt = runtime();
    rt.load_module("m", &module(&["__hpmq_upstream_f"])).unwrap();
    bind(&rt, Direction::Upstream, "f").unwrap();
    let e = rt.load_module("m", &module(&["__hpmq_authorize_f"])).unwrap_err();
    assert!(
        matches!(
            &e,
            Error::DirectionMismatch {
                declared: "authorize",
                bound: "upstream",
                ..
            }
        ),
        "{e}"
    );
    // Only the functions in use matter: a version that keeps `f` and drops nothing bound loads.
    rt.load_module("m", &module(&["__hpmq_upstream_f", "__hpmq_downstream_g"]))
        .unwrap();
}

#[test]
fn a_module_of_authorize_functions_only_is_checked_when_bound() {
    let rt = runtime();
    rt.load_module("m", &module(&["__hpmq_authorize_auth"])).unwrap();
    let e = bind(&rt, Direction::Upstream, "auth").unwrap_err();
    assert!(
        matches!(
            &e,
            Error::DirectionMismatch {
                declared: "authorize",
                bound: "upstream",
                ..
            }
        ),
        "{e}"
    );
    assert!(matches!(
        bind(&rt, Direction::Upstream, "nope"),
        Err(Error::UnknownFunction(_))
    ));
}

#[test]
fn a_poisoned_lock_is_an_error_of_its_own() {
    let rt = runtime();
    rt.load_module("m", &module(&["__hpmq_upstream_f"])).unwrap();
    bind(&rt, Direction::Upstream, "f").unwrap();
    rt.load_module("unbound", &module(&[])).unwrap();
    poison(|| rt.modules.write());
    // Not "no such module" (which made the reload load a second, unchecked copy of `m`): refused.
    for name in ["m", "n"] {
        let e = rt.load_module(name, &module(&[])).unwrap_err();
        assert!(matches!(e, Error::Poisoned { lock: "modules" }), "{e}");
    }
    assert!(matches!(
        rt.unload_module("unbound"),
        Err(Error::Poisoned { lock: "modules" })
    ));
    // Calls keep running on the current version (this module's `__guest_call` reports a failure).
    let call = rt.call_raw(&FunctionRef::new("m", "f"), b"");
    assert!(
        matches!(
            &call,
            Err(Error::Call {
                failure: CallFailure::GuestError(_),
                ..
            })
        ),
        "{call:?}"
    );

    let rt = runtime();
    rt.load_module("m", &module(&["__hpmq_authorize_auth"])).unwrap();
    poison(|| rt.admin.lock());
    let hook = FunctionRef::new("m", "auth");
    for result in [
        rt.load_module("m", &module(&["__hpmq_authorize_auth"])).map(drop),
        rt.use_authorize_function(&hook),
        bind(&rt, Direction::Upstream, "auth").map(drop),
    ] {
        assert!(matches!(result, Err(Error::Poisoned { lock: "admin" })), "{result:?}");
    }
}
