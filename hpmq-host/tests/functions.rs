//! The example guest functions, driven through the host: typed form, seed form, host services, bindings
//! and the chain rule.

// Integration-test helpers outside #[test] fns may fail loudly too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use common::*;
use hpmq_host::QoS;
use hpmq_host::{
    Binding, CallFailure, Context, Decision, Direction, Error, FailurePolicy, FunctionRef, Limits, Message, Runtime,
};
use mqtt_codec::{ReasonCode, TopicFilter};

fn f(name: &str) -> FunctionRef {
    FunctionRef::new("fns", name)
}

fn rt() -> Runtime {
    runtime_with(&[("fns", "functions")], test_limits())
}

fn bind(rt: &Runtime, dir: Direction, filter: &str, chain: &[&str]) {
    rt.bind(Binding::new(
        dir,
        TopicFilter::try_from(filter).unwrap(),
        chain.iter().map(|n| f(n)).collect(),
    ))
    .unwrap();
}

fn topics(p: &hpmq_host::Processed) -> Vec<String> {
    p.messages.iter().map(|m| m.topic.to_string()).collect()
}

#[test]
fn module_lists_its_functions_with_directions() {
    let rt = Runtime::new(test_limits()).unwrap();
    let info = rt.load_module("fns", &guest("functions")).unwrap();
    let names: Vec<(&str, Direction)> = info.functions.iter().map(|(n, d)| (n.as_str(), *d)).collect();
    assert!(names.contains(&("rewrite", Direction::Upstream)));
    assert!(names.contains(&("dedup", Direction::Downstream)));
    assert!(names.contains(&("custom_local_publish", Direction::Upstream)));
    assert!(names.contains(&("relay", Direction::Upstream)));
    assert_eq!(names.len(), 10, "{names:?}");
}

#[test]
fn rewrite_changes_topic_qos_and_adds_a_user_property() {
    let rt = rt();
    let out = rt
        .call(
            &f("rewrite"),
            Direction::Upstream,
            &msg("raw/temp", "21.5"),
            &ctx(),
            None,
        )
        .unwrap();
    let Decision::Publish(out) = out else { panic!("{out:?}") };
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].topic.as_str(), "site/temp");
    assert_eq!(out[0].qos, QoS::AtLeastOnce);
    assert_eq!(&out[0].payload[..], b"21.5");
    assert_eq!(out[0].user_properties.len(), 1);
    assert_eq!(out[0].user_properties[0].0, "client");
    assert_eq!(out[0].user_properties[0].1, "dev-1");
    let other = rt
        .call(&f("rewrite"), Direction::Upstream, &msg("other/x", "1"), &ctx(), None)
        .unwrap();
    assert_eq!(other, Decision::Forward);
}

#[test]
fn relay_moves_the_topic_and_keeps_qos_retain_and_properties() {
    let rt = rt();
    for qos in [QoS::AtMostOnce, QoS::AtLeastOnce, QoS::ExactlyOnce] {
        let mut m = msg("raw/temp", "21.5");
        m.qos = qos;
        m.retain = true;
        m.user_properties
            .push(("k".try_into().unwrap(), "v".try_into().unwrap()));
        let out = rt.call(&f("relay"), Direction::Upstream, &m, &ctx(), None).unwrap();
        let Decision::Publish(out) = out else { panic!("{out:?}") };
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].topic.as_str(), "site/temp");
        assert_eq!(out[0].qos, qos);
        assert!(out[0].retain);
        assert_eq!(&out[0].payload[..], b"21.5");
        let props: Vec<(&str, &str)> = out[0]
            .user_properties
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert_eq!(props, [("k", "v"), ("client", "dev-1")]);
    }
    let other = rt
        .call(&f("relay"), Direction::Upstream, &msg("other/x", "1"), &ctx(), None)
        .unwrap();
    assert_eq!(other, Decision::Forward);
}

#[test]
fn user_properties_and_retain_reach_the_guest_and_come_back() {
    let rt = rt();
    let mut m = msg("raw/a", "p");
    m.retain = true;
    m.qos = QoS::ExactlyOnce;
    m.user_properties
        .push(("k".try_into().unwrap(), "v".try_into().unwrap()));
    let Decision::Publish(out) = rt.call(&f("fan_out"), Direction::Upstream, &m, &ctx(), None).unwrap() else {
        panic!()
    };
    assert!(out[0].retain);
    assert_eq!(out[0].qos, QoS::ExactlyOnce);
    assert_eq!(out[0].user_properties, m.user_properties);
}

#[test]
fn fan_out_and_discard() {
    let rt = rt();
    let Decision::Publish(out) = rt
        .call(&f("fan_out"), Direction::Upstream, &msg("s", "1,2,3"), &ctx(), None)
        .unwrap()
    else {
        panic!()
    };
    let got: Vec<(String, Vec<u8>)> = out.iter().map(|m| (m.topic.to_string(), m.payload.to_vec())).collect();
    assert_eq!(
        got,
        vec![
            ("s/0".into(), b"1".to_vec()),
            ("s/1".into(), b"2".to_vec()),
            ("s/2".into(), b"3".to_vec())
        ]
    );
    assert_eq!(
        rt.call(&f("fan_out"), Direction::Upstream, &msg("s", ""), &ctx(), None)
            .unwrap(),
        Decision::Discard
    );
}

#[test]
fn dedup_uses_his_payload_per_topic() {
    let rt = rt();
    bind(&rt, Direction::Downstream, "#", &["dedup"]);
    let run = |t: &str, p: &str| rt.process(Direction::Downstream, msg(t, p), &ctx()).messages.len();
    assert_eq!(run("a", "1"), 1);
    assert_eq!(run("a", "1"), 0, "same payload on the same topic is a duplicate");
    assert_eq!(run("b", "1"), 1, "other topic has its own history");
    assert_eq!(run("a", "2"), 1);
    assert_eq!(run("a", "1"), 1);
}

#[test]
fn dedup_without_history_never_drops() {
    let rt = rt();
    rt.bind(
        Binding::new(
            Direction::Downstream,
            TopicFilter::try_from("#").unwrap(),
            vec![f("dedup")],
        )
        .history(0, 0),
    )
    .unwrap();
    for _ in 0..3 {
        assert_eq!(
            rt.process(Direction::Downstream, msg("a", "1"), &ctx()).messages.len(),
            1
        );
    }
}

#[test]
fn seed_function_runs_unchanged() {
    let rt = rt();
    bind(&rt, Direction::Upstream, "dev/#", &["custom_local_publish"]);
    let p = rt.process(Direction::Upstream, msg("dev/1", "on"), &ctx());
    assert!(p.errors.is_empty(), "{:?}", p.errors);
    assert_eq!(topics(&p), ["dev/1"]);
    assert!(
        rt.process(Direction::Upstream, msg("dev/1", "on"), &ctx())
            .messages
            .is_empty()
    );
}

#[test]
fn seed_context_map_has_the_documented_keys() {
    let rt = rt();
    let ctx = Context {
        client_id: "c-9".into(),
        username: Some("alice".into()),
        peer_addr: Some("192.0.2.7:51234".parse().unwrap()),
        protocol_version: 4,
    };
    let Decision::Publish(out) = rt
        .call(&f("show_context"), Direction::Upstream, &msg("t", ""), &ctx, None)
        .unwrap()
    else {
        panic!()
    };
    assert_eq!(
        std::str::from_utf8(&out[0].payload).unwrap(),
        "client_id=c-9\ndirection=upstream\npeer_addr=192.0.2.7:51234\nprotocol_version=4\nusername=alice"
    );
}

#[test]
fn key_value_state_clock_and_log_are_host_calls() {
    let rt = rt();
    let before = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    for expected in 1..=3u64 {
        let Decision::Publish(out) = rt
            .call(&f("count"), Direction::Upstream, &msg("t", "x"), &ctx(), None)
            .unwrap()
        else {
            panic!()
        };
        let props: Vec<(String, String)> = out[0]
            .user_properties
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        assert_eq!(props[0], ("count".to_string(), expected.to_string()));
        let now: u64 = props[1].1.parse().unwrap();
        assert!(now >= before && now < before + 60_000, "{now} vs {before}");
    }
    // State belongs to the function, not the instance: it survives a reload.
    rt.load_module("fns", &guest("functions")).unwrap();
    let Decision::Publish(out) = rt
        .call(&f("count"), Direction::Upstream, &msg("t", "x"), &ctx(), None)
        .unwrap()
    else {
        panic!()
    };
    assert_eq!(out[0].user_properties[0].1, "4");
}

#[test]
fn chain_fan_out_continues_separately_through_the_rest() {
    let rt = rt();
    // fan_out → rewrite: each fanned-out message is rewritten on its own.
    bind(&rt, Direction::Upstream, "raw/#", &["fan_out", "rewrite"]);
    let p = rt.process(Direction::Upstream, msg("raw/x", "a,b"), &ctx());
    assert!(p.errors.is_empty());
    assert_eq!(topics(&p), ["site/x/0", "site/x/1"]);
    assert!(p.messages.iter().all(|m| m.qos == QoS::AtLeastOnce));
}

#[test]
fn chain_stops_at_a_discard() {
    let rt = rt();
    bind(&rt, Direction::Upstream, "t", &["fan_out", "count"]);
    let p = rt.process(Direction::Upstream, msg("t", ""), &ctx());
    assert!(p.messages.is_empty());
    assert_eq!(rt.stats(&f("count")).unwrap().calls, 0, "nothing after a discard runs");
    assert_eq!(rt.stats(&f("fan_out")).unwrap().calls, 1);
}

#[test]
fn matching_bindings_run_in_order_as_one_chain() {
    let rt = rt();
    bind(&rt, Direction::Upstream, "raw/+", &["rewrite"]);
    bind(&rt, Direction::Upstream, "raw/#", &["fan_out"]);
    bind(&rt, Direction::Downstream, "#", &["dedup"]);
    // Matched on the original topic raw/x: rewrite then fan_out; the downstream binding does not apply.
    let p = rt.process(Direction::Upstream, msg("raw/x", "1,2"), &ctx());
    assert_eq!(topics(&p), ["site/x/0", "site/x/1"]);
    let p = rt.process(Direction::Upstream, msg("other", "1,2"), &ctx());
    assert_eq!(topics(&p), ["other"], "no binding matches: passes unchanged");
}

#[test]
fn failure_policy_decides_pass_or_drop_and_errors_are_counted() {
    let rt = rt();
    let pass = rt
        .bind(Binding::new(
            Direction::Downstream,
            TopicFilter::try_from("a").unwrap(),
            vec![f("reject")],
        ))
        .unwrap();
    rt.bind(
        Binding::new(
            Direction::Downstream,
            TopicFilter::try_from("b").unwrap(),
            vec![f("reject")],
        )
        .on_error(FailurePolicy::Drop),
    )
    .unwrap();
    let p = rt.process(Direction::Downstream, msg("a", "xyz"), &ctx());
    assert_eq!(topics(&p), ["a"]);
    assert_eq!(p.errors.len(), 1);
    let Error::Call {
        function,
        failure: CallFailure::GuestError(text),
    } = &p.errors[0]
    else {
        panic!("{:?}", p.errors)
    };
    assert_eq!(function, &f("reject"));
    assert_eq!(text, "payload of 3 bytes refused");
    let p = rt.process(Direction::Downstream, msg("b", "xyz"), &ctx());
    assert!(p.messages.is_empty());
    assert_eq!(p.errors.len(), 1);
    let s = rt.stats(&f("reject")).unwrap();
    assert_eq!(
        (s.calls, s.failures, s.discarded_instances),
        (2, 2, 0),
        "a returned error keeps the instance"
    );
    assert!(rt.unbind(pass));
    assert!(!rt.unbind(pass));
    assert!(
        rt.process(Direction::Downstream, msg("a", "x"), &ctx())
            .errors
            .is_empty()
    );
}

#[test]
fn invalid_published_topic_is_an_error_with_the_mqtt_reason() {
    let rt = rt();
    let e = rt
        .call(&f("bad_topic"), Direction::Upstream, &msg("t", "x"), &ctx(), None)
        .unwrap_err();
    assert!(
        matches!(
            &e,
            Error::Call {
                failure: CallFailure::InvalidMessage(_),
                ..
            }
        ),
        "{e}"
    );
    assert_eq!(e.reason_code(), ReasonCode::TopicNameInvalid);
    assert_eq!(e.spec_ref(), Some("MQTT-3.3.2-2"));
}

#[test]
fn binding_checks_names_and_directions() {
    let rt = rt();
    let filter = TopicFilter::try_from("#").unwrap();
    let e = rt
        .bind(Binding::new(Direction::Upstream, filter.clone(), vec![f("nope")]))
        .unwrap_err();
    assert!(matches!(e, Error::UnknownFunction(_)), "{e}");
    let e = rt
        .bind(Binding::new(Direction::Upstream, filter.clone(), vec![f("dedup")]))
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "function `fns::dedup` is declared `#[downstream]` but bound upstream"
    );
    let e = rt
        .bind(Binding::new(
            Direction::Upstream,
            filter,
            vec![FunctionRef::new("missing", "x")],
        ))
        .unwrap_err();
    assert!(matches!(e, Error::UnknownModule(_)), "{e}");
    bind(&rt, Direction::Upstream, "#", &["rewrite"]);
    assert!(matches!(rt.unload_module("fns"), Err(Error::ModuleInUse(_))));
}

#[test]
fn runtime_from_a_toml_file() {
    let dir = std::env::temp_dir().join(format!("hpmq-host-config-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(guest_path("functions"), dir.join("functions.wasm")).unwrap();
    let config = r#"
        [limits]
        deadline_ms = 200
        max_instances = 16

        [[modules]]
        name = "fns"
        path = "functions.wasm"

        [[bindings]]
        direction = "upstream"
        filter = "raw/#"
        chain = ["fns::fan_out", "fns::rewrite"]
        on_error = "drop"
    "#;
    std::fs::write(dir.join("hpmq.toml"), config).unwrap();
    let rt = Runtime::from_config_file(&dir.join("hpmq.toml")).unwrap();
    assert_eq!(rt.limits().deadline_ms, Some(200));
    let p = rt.process(Direction::Upstream, msg("raw/x", "a,b"), &ctx());
    assert_eq!(topics(&p), ["site/x/0", "site/x/1"]);
    let missing = Runtime::from_config_file(&dir.join("absent.toml"));
    assert!(matches!(missing, Err(Error::Io { .. })));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn bindings_follow_the_broker_matching_rules() {
    let rt = rt();
    bind(&rt, Direction::Upstream, "#", &["fan_out"]);
    // A leading wildcard does not match `$`-topics [MQTT-4.7.2-1]: the message passes untouched.
    let p = rt.process(Direction::Upstream, msg("$SYS/x", "a,b"), &ctx());
    assert_eq!(topics(&p), ["$SYS/x"]);
    bind(&rt, Direction::Upstream, "$SYS/#", &["fan_out"]);
    let p = rt.process(Direction::Upstream, msg("$SYS/x", "a,b"), &ctx());
    assert_eq!(topics(&p), ["$SYS/x/0", "$SYS/x/1"]);
    let shared = Binding::new(
        Direction::Upstream,
        TopicFilter::try_from("$share/g/a").unwrap(),
        vec![f("fan_out")],
    );
    assert!(matches!(rt.bind(shared), Err(Error::Config(_))));
}

/// `functions` with its direct entries renamed out of the way, so the host can only reach its functions the
/// way any waPC host does: by name, through wapc-guest's `__guest_call` dispatcher.
fn functions_without_direct_entries() -> Vec<u8> {
    let mut wasm = guest("functions");
    let (from, to) = (b"__hpmq_call_", b"__hpmq_xall_");
    let mut renamed = 0;
    let mut i = 0;
    while let Some(at) = wasm[i..].windows(from.len()).position(|w| w == from) {
        wasm[i + at..i + at + to.len()].copy_from_slice(to);
        i += at + to.len();
        renamed += 1;
    }
    assert!(renamed >= 9, "only {renamed} direct entries found");
    wasm
}

#[test]
fn sdk_functions_answer_the_same_through_the_wapc_dispatcher() {
    let direct = rt();
    let dispatched = Runtime::new(test_limits()).unwrap();
    dispatched
        .load_module("fns", &functions_without_direct_entries())
        .unwrap();
    let ctx = Context {
        client_id: "c-9".into(),
        username: Some("alice".into()),
        peer_addr: Some("192.0.2.7:51234".parse().unwrap()),
        protocol_version: 4,
    };
    let mut with_props = msg("raw/a/b", "1,2,3");
    with_props.user_properties = vec![("k".try_into().unwrap(), "v".try_into().unwrap())];
    let cases: [(&str, Message, Option<&[u8]>); 7] = [
        ("rewrite", with_props.clone(), None),
        ("fan_out", with_props, None),
        ("pass", msg("a", "x"), None),
        ("custom_local_publish", msg("a", "x"), Some(b"x")),
        ("custom_local_publish", msg("a", "x"), Some(b"y")),
        ("show_context", msg("t", ""), None),
        ("reject", msg("t", "12345"), None),
    ];
    for (name, m, his) in cases {
        let a = direct.call(&f(name), Direction::Upstream, &m, &ctx, his);
        let b = dispatched.call(&f(name), Direction::Upstream, &m, &ctx, his);
        match (a, b) {
            (Ok(a), Ok(b)) => assert_eq!(a, b, "{name}"),
            (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string(), "{name}"),
            (a, b) => panic!("{name}: direct {a:?}, dispatched {b:?}"),
        }
    }
}

#[test]
fn an_instance_reusing_its_buffers_sees_each_call_afresh() {
    // One instance serves every call, so anything left over from a previous call would show.
    let rt = runtime_with(
        &[("fns", "functions")],
        Limits {
            max_idle_instances: 1,
            ..test_limits()
        },
    );
    let rich = Context {
        client_id: "a-rather-long-client-id".into(),
        username: Some("alice".into()),
        peer_addr: Some("192.0.2.7:51234".parse().unwrap()),
        protocol_version: 5,
    };
    let plain = Context {
        protocol_version: 4,
        ..Context::new("c")
    };
    let show = |ctx: &Context| {
        let Decision::Publish(out) = rt
            .call(&f("show_context"), Direction::Upstream, &msg("t", "x"), ctx, None)
            .unwrap()
        else {
            panic!()
        };
        String::from_utf8(out[0].payload.to_vec()).unwrap()
    };
    let rewrite = |m: &Message| {
        let Decision::Publish(out) = rt.call(&f("rewrite"), Direction::Upstream, m, &plain, None).unwrap() else {
            panic!()
        };
        out.into_iter().next().unwrap()
    };
    assert!(show(&rich).contains("username=alice"));
    assert_eq!(
        show(&plain),
        "client_id=c\ndirection=upstream\npeer_addr=\nprotocol_version=4\nusername="
    );
    let mut long = msg("raw/a/long/topic", "a longer payload");
    long.user_properties = (0..3)
        .map(|i| (format!("k{i}").try_into().unwrap(), format!("v{i}").try_into().unwrap()))
        .collect();
    let out = rewrite(&long);
    assert_eq!(out.user_properties.len(), 4);
    let out = rewrite(&msg("raw/b", "p"));
    assert_eq!(out.topic.as_str(), "site/b");
    assert_eq!(&out.payload[..], b"p");
    let props: Vec<(String, String)> = out
        .user_properties
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    assert_eq!(props, [("client".to_string(), "c".to_string())]);
}
