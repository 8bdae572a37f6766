//! mqtt-router against rmqtt 0.24's `TopicTree` (rmqtt/src/trie.rs), same fleet mix, same run, thread CPU time.

#![allow(missing_docs, clippy::unwrap_used)]

#[path = "../../../mqtt-router/benches/fixture/mod.rs"]
mod fixture;

use fixture::ThreadCpu;

use std::hint::black_box;
use std::str::FromStr;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use mqtt_router::{Router, SubscriptionOptions, TopicFilter, TopicName};
use rmqtt::topic::Topic;
use rmqtt::trie::TopicTree;

fn matching(c: &mut Criterion<ThreadCpu>) {
    let mut g = c.benchmark_group("match");
    g.warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(20);
    for n in [1_000u64, 100_000, 1_000_000] {
        let subs = fixture::subscriptions(n);
        let names: Vec<String> = fixture::topics(n);
        let mut i = 0usize;
        let mut next = move || {
            i = (i + 1) & 1023;
            i
        };

        let mut router: Router<u64> = Router::new();
        for (client, filter) in &subs {
            router
                .subscribe(
                    *client,
                    &TopicFilter::try_from(filter.as_str()).unwrap(),
                    SubscriptionOptions::default(),
                    None,
                )
                .unwrap();
        }
        let topics: Vec<TopicName> = names.iter().map(|t| TopicName::try_from(t.as_str()).unwrap()).collect();
        g.bench_function(BenchmarkId::new("hpmq/visit", n), |b| {
            b.iter(|| {
                let mut hits = 0u64;
                router.visit(&topics[next()], None, |m| hits += *m.client);
                black_box(hits)
            })
        });
        drop(router);

        let mut tree: TopicTree<u64> = TopicTree::default();
        for (client, filter) in &subs {
            tree.insert(&Topic::from_str(filter).unwrap(), *client);
        }
        // rmqtt matches a parsed `Topic` (a Vec of owned levels); parsing is left outside the timed loop, in its
        // favour.
        let parsed: Vec<Topic> = names.iter().map(|t| Topic::from_str(t).unwrap()).collect();
        g.bench_function(BenchmarkId::new("rmqtt-TopicTree", n), |b| {
            b.iter(|| {
                let mut hits = 0u64;
                for (_, values) in tree.matches(&parsed[next()]).iter() {
                    hits += values.iter().copied().sum::<u64>();
                }
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
    for n in [1_000u64, 100_000, 1_000_000] {
        let subs = fixture::subscriptions(n);
        let fresh: Vec<String> = (0..1024).map(|d| format!("fleet/r{}/new-{d}/cmd", d % 10)).collect();
        let mut i = 0usize;

        let mut router: Router<u64> = Router::new();
        for (client, filter) in &subs {
            router
                .subscribe(
                    *client,
                    &TopicFilter::try_from(filter.as_str()).unwrap(),
                    SubscriptionOptions::default(),
                    None,
                )
                .unwrap();
        }
        let filters: Vec<TopicFilter> = fresh
            .iter()
            .map(|f| TopicFilter::try_from(f.as_str()).unwrap())
            .collect();
        g.bench_function(BenchmarkId::new("hpmq", n), |b| {
            b.iter(|| {
                i = (i + 1) & 1023;
                let client = 50_000_000 + i as u64;
                router
                    .subscribe(client, &filters[i], SubscriptionOptions::default(), None)
                    .unwrap();
                black_box(router.unsubscribe(&client, &filters[i]))
            })
        });
        drop(router);

        let mut tree: TopicTree<u64> = TopicTree::default();
        for (client, filter) in &subs {
            tree.insert(&Topic::from_str(filter).unwrap(), *client);
        }
        let parsed: Vec<Topic> = fresh.iter().map(|t| Topic::from_str(t).unwrap()).collect();
        g.bench_function(BenchmarkId::new("rmqtt-TopicTree", n), |b| {
            b.iter(|| {
                i = (i + 1) & 1023;
                let client = 50_000_000 + i as u64;
                tree.insert(&parsed[i], client);
                black_box(tree.remove(&parsed[i], &client))
            })
        });
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().with_measurement(ThreadCpu);
    targets = matching, churn
}
criterion_main!(benches);
