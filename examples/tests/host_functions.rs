//! Runs the `host_functions` example's tour against the real `guests/functions` module (built by the same
//! helper as hpmq-host's own tests) and checks what became of each message.

// Test code: failing loudly is the point.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

#[path = "../host_functions.rs"]
mod host_functions;

// hpmq-host's test support builds the guest workspace for wasm32 (once per test binary) and finds a module.
#[path = "../../hpmq-host/tests/common/mod.rs"]
mod common;

use host_functions::show;
use hpmq_host::Direction;

#[test]
fn the_tour_rewrites_counts_fans_out_dedups_and_drops_on_failure() {
    let tour = host_functions::run(&common::guest_path("functions")).unwrap();
    assert_eq!(tour.module.name, "functions");
    for (function, direction) in [("rewrite", Direction::Upstream), ("dedup", Direction::Downstream)] {
        assert!(
            tour.module.functions.contains(&(function.to_owned(), direction)),
            "{:?}",
            tour.module.functions
        );
    }
    let [first, second, batch, shown, repeated, alert, other] = &tour.outcomes[..] else {
        panic!("{} outcomes", tour.outcomes.len());
    };

    // raw/# runs rewrite then count: moved to site/, QoS 1, the sender recorded, and a counter kept in the
    // function's state between calls.
    for (outcome, count) in [(first, "1"), (second, "2")] {
        assert_eq!(outcome.direction, Direction::Upstream);
        assert!(outcome.errors.is_empty(), "{:?}", outcome.errors);
        let [m] = &outcome.output[..] else {
            panic!("{:?}", outcome.output)
        };
        assert_eq!(m.topic.as_str(), "site/dev-7/temp");
        assert_eq!(m.payload, outcome.input.payload);
        assert_eq!(m.qos, hpmq_host::QoS::AtLeastOnce);
        let props: Vec<(&str, &str)> = m
            .user_properties
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert_eq!(props[..2], [("client", "dev-7"), ("count", count)], "{}", show(m));
        assert_eq!(props[2].0, "now_ms");
    }

    // fan_out: one message per comma-separated value.
    let fanned: Vec<String> = batch.output.iter().map(show).collect();
    assert_eq!(
        fanned,
        [
            r#"batch/dev-7/0 q0 "1" []"#,
            r#"batch/dev-7/1 q0 "2" []"#,
            r#"batch/dev-7/2 q0 "3" []"#
        ]
    );

    // dedup, downstream: the first "hello" is delivered, the repeat dropped.
    assert_eq!(shown.direction, Direction::Downstream);
    assert_eq!(shown.output, std::slice::from_ref(&shown.input));
    assert!(repeated.output.is_empty() && repeated.errors.is_empty());

    // reject fails; its binding's Drop policy drops the message and the failure is reported.
    assert!(alert.output.is_empty());
    assert_eq!(alert.errors.len(), 1);
    assert!(
        alert.errors[0].contains("payload of 5 bytes refused"),
        "{:?}",
        alert.errors
    );

    // No binding matches: the message goes on unchanged.
    assert_eq!(other.output, std::slice::from_ref(&other.input));
}
