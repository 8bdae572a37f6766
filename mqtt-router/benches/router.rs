//! Match, subscribe/unsubscribe and retained-lookup latency at 10^3, 10^5 and 10^6 subscriptions, side by side
//! with a linear scan and the `mqtt-topic-engine` trie from crates.io. Times are the benchmark thread's CPU time
//! (see `fixture::ThreadCpu`). See BENCHMARKS.md for the command.

#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod fixture;

use fixture::ThreadCpu;

use std::collections::HashSet;
use std::hint::black_box;
use std::sync::RwLock;
use std::time::{Duration, Instant};

use bytes::Bytes;
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use mqtt_router::{Deliveries, RetainedStore, Router, SubscriptionOptions, TopicFilter, TopicName};
use mqtt_topic_engine::topic_matcher::TopicMatcherNode;
use mqtt_topic_engine::{CacheStrategy, TopicPath, TopicPatternPath};

const SIZES: [u64; 3] = [1_000, 100_000, 1_000_000];

fn hpmq(subs: &[(u64, String)]) -> Router<u64> {
    let mut r = Router::new();
    for (client, filter) in subs {
        r.subscribe(
            *client,
            &TopicFilter::try_from(filter.as_str()).unwrap(),
            SubscriptionOptions::default(),
            None,
        )
        .unwrap();
    }
    r
}

fn linear(subs: &[(u64, String)]) -> Vec<(TopicFilter, u64)> {
    subs.iter()
        .map(|(c, f)| (TopicFilter::try_from(f.as_str()).unwrap(), *c))
        .collect()
}

fn engine(subs: &[(u64, String)]) -> TopicMatcherNode<HashSet<u64>> {
    let mut t: TopicMatcherNode<HashSet<u64>> = TopicMatcherNode::new();
    for (client, filter) in subs {
        let pattern = TopicPatternPath::new_from_string(filter.as_str(), CacheStrategy::NoCache).unwrap();
        t.get_or_create_subscription_table(&pattern).insert(*client);
    }
    t
}

fn matching(c: &mut Criterion<ThreadCpu>) {
    let mut g = c.benchmark_group("match");
    g.warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(20);
    for n in SIZES {
        let subs = fixture::subscriptions(n);
        let topics: Vec<TopicName> = fixture::topics(n)
            .iter()
            .map(|t| TopicName::try_from(t.as_str()).unwrap())
            .collect();
        let mut i = 0usize;
        let mut next = move || {
            i = (i + 1) & 1023;
            i
        };

        let router = hpmq(&subs);
        g.bench_function(BenchmarkId::new("hpmq/visit", n), |b| {
            b.iter(|| {
                let mut hits = 0u64;
                router.visit(&topics[next()], None, |m| hits += *m.client);
                black_box(hits)
            })
        });
        let mut out = Deliveries::new();
        g.bench_function(BenchmarkId::new("hpmq/deliveries", n), |b| {
            b.iter(|| {
                router.deliveries(&topics[next()], None, &mut out);
                black_box(out.len())
            })
        });
        let locked = RwLock::new(router);
        g.bench_function(BenchmarkId::new("hpmq/visit-under-rwlock-read", n), |b| {
            b.iter(|| {
                let mut hits = 0u64;
                locked
                    .read()
                    .unwrap()
                    .visit(&topics[next()], None, |m| hits += *m.client);
                black_box(hits)
            })
        });
        drop(locked);

        let peer = engine(&subs);
        // The peer matches a pre-split `TopicPath`; splitting is done here, outside the timed loop, in its favour.
        let paths: Vec<TopicPath> = topics.iter().map(|t| TopicPath::new(t.as_str()).unwrap()).collect();
        g.bench_function(BenchmarkId::new("mqtt-topic-engine", n), |b| {
            b.iter(|| {
                let mut hits = 0u64;
                for set in peer.find_by_path(&paths[next()]) {
                    hits += set.iter().sum::<u64>();
                }
                black_box(hits)
            })
        });
        drop(peer);

        let scan = linear(&subs);
        g.bench_function(BenchmarkId::new("linear-scan", n), |b| {
            b.iter(|| {
                let topic = &topics[next()];
                let hits: u64 = scan.iter().filter(|(f, _)| f.matches(topic)).map(|(_, c)| *c).sum();
                black_box(hits)
            })
        });
    }
    g.finish();
}

fn churn(c: &mut Criterion<ThreadCpu>) {
    let mut g = c.benchmark_group("subscribe+unsubscribe");
    g.warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(20);
    for n in SIZES {
        let subs = fixture::subscriptions(n);
        // New device filters in existing regions: a realistic connect/disconnect of a device.
        let fresh: Vec<TopicFilter> = (0..1024)
            .map(|d| TopicFilter::try_from(format!("fleet/r{}/new-{d}/cmd", d % 10)).unwrap())
            .collect();
        let mut router = hpmq(&subs);
        let mut i = 0usize;
        g.bench_function(BenchmarkId::new("hpmq", n), |b| {
            b.iter(|| {
                i = (i + 1) & 1023;
                let client = 50_000_000 + i as u64;
                router
                    .subscribe(client, &fresh[i], SubscriptionOptions::default(), None)
                    .unwrap();
                black_box(router.unsubscribe(&client, &fresh[i]))
            })
        });
        drop(router);

        let mut peer = engine(&subs);
        let patterns: Vec<TopicPatternPath> = fresh
            .iter()
            .map(|f| TopicPatternPath::new_from_string(f.as_str(), CacheStrategy::NoCache).unwrap())
            .collect();
        g.bench_function(BenchmarkId::new("mqtt-topic-engine", n), |b| {
            b.iter(|| {
                i = (i + 1) & 1023;
                let client = 50_000_000 + i as u64;
                peer.get_or_create_subscription_table(&patterns[i]).insert(client);
                let segments = patterns[i].resolve_bound_segments();
                black_box(peer.update_node(&segments, |set| {
                    set.remove(&client);
                }))
            })
        });
    }
    g.finish();
}

fn retained(c: &mut Criterion<ThreadCpu>) {
    let mut g = c.benchmark_group("retained-lookup-100k");
    g.warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(20);
    let now = Instant::now();
    let topics = fixture::retained_topics(100_000);
    let mut store = RetainedStore::new();
    let mut scan = Vec::new();
    for t in &topics {
        let name = TopicName::try_from(t.as_str()).unwrap();
        store.retain(name.clone(), Bytes::from_static(b"online"), None).unwrap();
        scan.push((name, Bytes::from_static(b"online")));
    }
    // A narrow wildcard (one device across regions: 1 hit) and a broad one (a whole region: 10,000 hits).
    for (label, filter) in [("fleet/+/dev-0000042/status", 1usize), ("fleet/r3/+/status", 10_000)] {
        let f = TopicFilter::try_from(label).unwrap();
        g.bench_function(BenchmarkId::new("hpmq", label), |b| {
            b.iter(|| {
                let mut hits = 0usize;
                store.for_each_match(&f, now, |r| hits += r.message.len());
                assert_eq!(hits, filter * 6);
                black_box(hits)
            })
        });
        g.bench_function(BenchmarkId::new("linear-scan", label), |b| {
            b.iter(|| {
                let hits: usize = scan.iter().filter(|(t, _)| f.matches(t)).map(|(_, m)| m.len()).sum();
                black_box(hits)
            })
        });
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().with_measurement(ThreadCpu);
    targets = matching, churn, retained
}
criterion_main!(benches);
