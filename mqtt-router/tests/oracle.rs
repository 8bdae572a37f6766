//! The router and the retained index against a naive matcher that compares a filter with a topic level by
//! level, written straight from spec 4.7, for random filters and topics (including `$` topics, empty levels,
//! `#` alone and shared groups).

// Test helpers outside #[test] functions may panic too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use std::collections::{BTreeMap, BTreeSet};
use std::num::NonZeroU32;
use std::time::Instant;

use bytes::Bytes;
use mqtt_router::{
    BuiltinStrategy, Deliveries, QoS, RetainedStore, Router, SubscriptionOptions, TopicFilter, TopicName,
};
use proptest::prelude::*;

/// Spec 4.7, as plainly as possible.
fn naive_matches(filter: &str, topic: &str) -> bool {
    let f: Vec<&str> = filter.split('/').collect();
    let t: Vec<&str> = topic.split('/').collect();
    if topic.starts_with('$') && (f[0] == "+" || f[0] == "#") {
        return false;
    }
    for (i, level) in f.iter().enumerate() {
        if *level == "#" {
            return true; // matches the parent level too, and anything below
        }
        match t.get(i) {
            None => return false,
            Some(name) if *level == "+" || level == name => {}
            Some(_) => return false,
        }
    }
    f.len() == t.len()
}

fn level() -> impl proptest::strategy::Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "a",
        "b",
        "$x",
        "",
        "ab",
        "a-level-longer-than-the-22-inline-bytes",
    ])
}

fn topic() -> impl proptest::strategy::Strategy<Value = String> {
    prop::collection::vec(level(), 1..5)
        .prop_map(|levels| levels.join("/"))
        .prop_filter("topics are non-empty", |t| !t.is_empty())
}

fn filter() -> impl proptest::strategy::Strategy<Value = String> {
    let level = prop::sample::select(vec![
        "a",
        "b",
        "$x",
        "",
        "+",
        "+",
        "a-level-longer-than-the-22-inline-bytes",
    ]);
    (
        prop::collection::vec(level, 0..4),
        any::<bool>(),
        prop::option::of(prop::sample::select(vec!["g", "h"])),
    )
        .prop_map(|(mut levels, hash, group)| {
            if hash || levels.is_empty() {
                levels.push("#");
            }
            let filter = levels.join("/");
            (filter, group)
        })
        .prop_filter("filters are non-empty", |(filter, _)| !filter.is_empty())
        .prop_map(|(filter, group)| match group {
            Some(g) => format!("$share/{g}/{filter}"),
            None => filter,
        })
}

#[derive(Debug, Clone)]
struct Sub {
    client: u32,
    filter: String,
    qos: QoS,
    id: Option<u32>,
}

fn sub() -> impl proptest::strategy::Strategy<Value = Sub> {
    let qos = prop::sample::select(vec![QoS::AtMostOnce, QoS::AtLeastOnce, QoS::ExactlyOnce]);
    (0..6u32, filter(), qos, prop::option::of(1..100u32)).prop_map(|(client, filter, qos, id)| Sub {
        client,
        filter,
        qos,
        id,
    })
}

/// The subscriptions a router should hold after `subs` (later ones replace earlier ones with the same client
/// and filter) and `unsubs` (indices into `subs`).
fn expected_state(subs: &[Sub], unsubs: &[usize]) -> BTreeMap<(u32, String), Sub> {
    let mut state = BTreeMap::new();
    for s in subs {
        state.insert((s.client, s.filter.clone()), s.clone());
    }
    for &i in unsubs {
        if let Some(s) = subs.get(i) {
            state.remove(&(s.client, s.filter.clone()));
        }
    }
    state
}

fn build(subs: &[Sub], unsubs: &[usize], strategy: BuiltinStrategy) -> Router<u32> {
    let mut router = Router::with_strategy(strategy);
    for s in subs {
        let f = TopicFilter::try_from(s.filter.as_str()).unwrap();
        router
            .subscribe(
                s.client,
                &f,
                SubscriptionOptions::new(s.qos),
                s.id.and_then(NonZeroU32::new),
            )
            .unwrap();
    }
    for &i in unsubs {
        if let Some(s) = subs.get(i) {
            router.unsubscribe(&s.client, &TopicFilter::try_from(s.filter.as_str()).unwrap());
        }
    }
    router
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn matches_equal_the_naive_matcher(
        subs in prop::collection::vec(sub(), 0..40),
        unsubs in prop::collection::vec(0..40usize, 0..10),
        topics in prop::collection::vec(topic(), 1..8),
        strategy in prop::sample::select(vec![
            BuiltinStrategy::RoundRobin,
            BuiltinStrategy::Random(mqtt_router::Random::with_seed(7)),
            BuiltinStrategy::Sticky,
            BuiltinStrategy::HashClientId,
        ]),
    ) {
        let state = expected_state(&subs, &unsubs);
        let router = build(&subs, &unsubs, strategy);
        prop_assert_eq!(router.subscription_count(), state.len());
        for topic in &topics {
            let name = TopicName::try_from(topic.as_str()).unwrap();
            // Non-shared: exactly the (client, filter) pairs the oracle matches, with their options.
            let mut want_plain = Vec::new();
            // Shared: each (group, filter) with a matching filter and its members.
            let mut want_groups: BTreeMap<(String, String), BTreeSet<u32>> = BTreeMap::new();
            for s in state.values() {
                let f = TopicFilter::try_from(s.filter.as_str()).unwrap();
                if !naive_matches(f.filter(), topic) {
                    continue;
                }
                match f.share_group() {
                    None => want_plain.push((s.client, s.qos, s.id)),
                    Some(g) => {
                        want_groups.entry((g.to_string(), f.filter().to_string())).or_default().insert(s.client);
                    }
                }
            }
            want_plain.sort();
            let mut got_plain = Vec::new();
            let mut got_shared: Vec<(String, u32, QoS)> = Vec::new();
            router.visit(&name, Some(&3), |m| match m.share_group {
                None => got_plain.push((*m.client, m.options.qos, m.subscription_id.map(|i| i.get()))),
                Some(g) => got_shared.push((g.to_string(), *m.client, m.options.qos)),
            });
            got_plain.sort();
            prop_assert_eq!(&got_plain, &want_plain, "topic {}", topic);
            // One pick per matching (group, filter), and the pick is a member of it.
            prop_assert_eq!(got_shared.len(), want_groups.len(), "topic {}", topic);
            let mut unclaimed = want_groups.clone();
            for (g, client, _) in &got_shared {
                let key = unclaimed
                    .iter()
                    .find(|((group, _), members)| group == g && members.contains(client))
                    .map(|(k, _)| k.clone());
                prop_assert!(key.is_some(), "pick {} of group {} is not a member (topic {})", client, g, topic);
                unclaimed.remove(&key.unwrap());
            }

            // Deliveries: per client the highest QoS and every identifier of its non-shared matches.
            let mut want: BTreeMap<u32, (QoS, Vec<u32>)> = BTreeMap::new();
            for &(client, qos, id) in &want_plain {
                let e = want.entry(client).or_insert((QoS::AtMostOnce, Vec::new()));
                e.0 = e.0.max(qos);
                e.1.extend(id);
            }
            let mut out = Deliveries::new();
            router.deliveries(&name, None, &mut out);
            let mut got: BTreeMap<u32, (QoS, Vec<u32>)> = BTreeMap::new();
            let mut shared_copies = 0;
            for d in out.iter() {
                if d.shared {
                    shared_copies += 1;
                    continue;
                }
                let mut ids: Vec<u32> = d.subscription_ids.iter().map(|i| i.get()).collect();
                ids.sort_unstable();
                prop_assert!(got.insert(*d.client, (d.qos, ids)).is_none(), "one delivery per client");
            }
            for v in want.values_mut() {
                v.1.sort_unstable();
            }
            prop_assert_eq!(got, want);
            prop_assert_eq!(shared_copies, want_groups.len());
        }
    }

    #[test]
    fn unsubscribing_everything_leaves_only_the_root(subs in prop::collection::vec(sub(), 0..40)) {
        let all: Vec<usize> = (0..subs.len()).collect();
        let router = build(&subs, &all, BuiltinStrategy::RoundRobin);
        prop_assert_eq!((router.node_count(), router.subscription_count(), router.client_count()), (1, 0, 0));
        let mut router = build(&subs, &[], BuiltinStrategy::RoundRobin);
        for client in 0..6 {
            router.remove_client(&client);
        }
        prop_assert_eq!((router.node_count(), router.subscription_count(), router.client_count()), (1, 0, 0));
    }

    #[test]
    fn retained_lookup_equals_a_scan(
        topics in prop::collection::vec(topic(), 0..40),
        cleared in prop::collection::vec(0..40usize, 0..10),
        filters in prop::collection::vec(filter(), 1..8),
    ) {
        let now = Instant::now();
        let mut store = RetainedStore::new();
        let mut want = BTreeSet::new();
        for topic in &topics {
            store.retain(TopicName::try_from(topic.as_str()).unwrap(), Bytes::from_static(b"m"), None).unwrap();
            want.insert(topic.clone());
        }
        for &i in &cleared {
            if let Some(topic) = topics.get(i) {
                store.retain(TopicName::try_from(topic.as_str()).unwrap(), Bytes::new(), None).unwrap();
                want.remove(topic);
            }
        }
        prop_assert_eq!(store.len(), want.len());
        for filter in &filters {
            let f = TopicFilter::try_from(filter.as_str()).unwrap();
            let mut got = Vec::new();
            store.for_each_match(&f, now, |r| got.push(r.topic.to_string()));
            got.sort();
            let expected: Vec<String> = want.iter().filter(|t| naive_matches(f.filter(), t)).cloned().collect();
            prop_assert_eq!(got, expected, "filter {}", filter);
        }
    }
}

#[test]
fn the_oracle_itself_follows_the_spec_examples() {
    assert!(naive_matches("sport/#", "sport"));
    assert!(naive_matches("#", "a//b"));
    assert!(!naive_matches("#", "$SYS/x"));
    assert!(!naive_matches("+", "/finance"));
    assert!(naive_matches("+/+", "/finance"));
    assert!(!naive_matches("sport/+", "sport"));
    assert!(naive_matches("sport/+", "sport/"));
}
