//! Bytes per subscription at 10^6 subscriptions (the fleet mix of `fixture.rs`), measured with a counting
//! global allocator: live heap bytes after building, minus before, divided by the subscriptions. Not timed by
//! criterion; it prints a table. Run: `cargo bench -p mqtt-router --bench memory`. (Shares `fixture/mod.rs`.)

#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod fixture;

use std::alloc::{GlobalAlloc, Layout, System};
use std::collections::HashSet;
use std::hint::black_box;
use std::sync::atomic::{AtomicIsize, Ordering};
use std::time::Instant;

use bytes::Bytes;
use mqtt_router::{RetainedStore, Router, SubscriptionOptions, TopicFilter, TopicName};
use mqtt_topic_engine::topic_matcher::TopicMatcherNode;
use mqtt_topic_engine::{CacheStrategy, TopicPatternPath};

struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(new_size as isize - layout.size() as isize, Ordering::Relaxed);
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Live heap bytes held by what `build` returns, and how long building took.
fn measure<T>(build: impl FnOnce() -> T) -> (T, isize, f64) {
    let before = LIVE.load(Ordering::SeqCst);
    let start = Instant::now();
    let value = build();
    let secs = start.elapsed().as_secs_f64();
    (value, LIVE.load(Ordering::SeqCst) - before, secs)
}

fn main() {
    // `cargo bench` passes `--bench`; a filter argument is ignored.
    const N: u64 = 1_000_000;
    let subs = fixture::subscriptions(N);
    let filters: Vec<TopicFilter> = subs
        .iter()
        .map(|(_, f)| TopicFilter::try_from(f.as_str()).unwrap())
        .collect();
    let filter_text: usize = subs.iter().map(|(_, f)| f.len()).sum();
    println!(
        "{N} subscriptions (fleet mix), filter text {:.1} bytes/subscription on average",
        filter_text as f64 / N as f64
    );
    println!(
        "{:<28} {:>14} {:>12} {:>10}",
        "structure", "heap bytes", "bytes/sub", "build s"
    );

    let (router, bytes, secs) = measure(|| {
        let mut r: Router<u64> = Router::new();
        for ((client, _), filter) in subs.iter().zip(&filters) {
            r.subscribe(*client, filter, SubscriptionOptions::default(), None)
                .unwrap();
        }
        r
    });
    println!(
        "{:<28} {:>14} {:>12.1} {:>10.2}",
        "hpmq Router<u64>",
        bytes,
        bytes as f64 / N as f64,
        secs
    );
    println!(
        "  ({} trie nodes, {} clients)",
        router.node_count(),
        router.client_count()
    );
    let (_, freed, _) = measure(|| drop(router));
    assert_eq!(freed, -bytes, "dropping the router gives back what it held");
    // What a copy-on-write snapshot (the `arc-swap` recipe) would pay per subscription change at the very
    // least: copying that many bytes, before any pointer fix-up or allocation.
    let flat = vec![1u8; bytes as usize];
    let start = Instant::now();
    let copy = black_box(flat.clone());
    println!(
        "  a snapshot copy costs at least a {bytes}-byte memcpy: {:.1} ms",
        start.elapsed().as_secs_f64() * 1e3
    );
    drop((flat, copy));

    let (peer, bytes, secs) = measure(|| {
        let mut t: TopicMatcherNode<HashSet<u64>> = TopicMatcherNode::new();
        for (client, filter) in &subs {
            let pattern = TopicPatternPath::new_from_string(filter.as_str(), CacheStrategy::NoCache).unwrap();
            t.get_or_create_subscription_table(&pattern).insert(*client);
        }
        t
    });
    println!(
        "{:<28} {:>14} {:>12.1} {:>10.2}",
        "mqtt-topic-engine",
        bytes,
        bytes as f64 / N as f64,
        secs
    );
    drop(black_box(peer));

    let (scan, bytes, secs) = measure(|| {
        subs.iter()
            .map(|(c, f)| (TopicFilter::try_from(f.as_str()).unwrap(), *c))
            .collect::<Vec<_>>()
    });
    println!(
        "{:<28} {:>14} {:>12.1} {:>10.2}",
        "linear Vec<(TopicFilter,u64)>",
        bytes,
        bytes as f64 / N as f64,
        secs
    );
    drop(black_box(scan));

    let topics = fixture::retained_topics(100_000);
    let (store, bytes, secs) = measure(|| {
        let mut s = RetainedStore::new();
        for t in &topics {
            s.retain(
                TopicName::try_from(t.as_str()).unwrap(),
                Bytes::from_static(b"online"),
                None,
            )
            .unwrap();
        }
        s
    });
    println!(
        "{:<28} {:>14} {:>12.1} {:>10.2}   (per retained message, topic included)",
        "hpmq RetainedStore<Bytes>",
        bytes,
        bytes as f64 / 1e5,
        secs
    );
    drop(black_box(store));
}
