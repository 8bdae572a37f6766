//! Matching allocates nothing: a counting global allocator watches `visit` and `deliveries` (after the reusable
//! buffer has grown once) and a retained wildcard lookup.

// Test helpers outside #[test] functions may panic too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use mqtt_router::{
    BuiltinStrategy, Deliveries, QoS, Random, RetainedStore, Router, SubscriptionOptions, TopicFilter, TopicName,
};

struct Counting;

thread_local! {
    /// Per thread, so tests running in parallel do not see each other's allocations.
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

fn count() {
    // `try_with`: the slot may be gone while a thread is being torn down.
    let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Allocations `f` makes on this thread.
fn allocations(f: impl FnOnce()) -> usize {
    let before = ALLOCATIONS.with(Cell::get);
    f();
    ALLOCATIONS.with(Cell::get) - before
}

fn f(s: &str) -> TopicFilter {
    TopicFilter::try_from(s).unwrap()
}

fn fleet<C: Clone + Eq + std::hash::Hash>(strategy: BuiltinStrategy, id: impl Fn(u32) -> C) -> Router<C> {
    let mut r = Router::with_strategy(strategy);
    let sid = |n| NonZeroU32::new(n);
    for region in 0..4 {
        for device in 0..50 {
            let c = id(region * 100 + device);
            r.subscribe(
                c.clone(),
                &f(&format!("fleet/r{region}/d{device}/cmd")),
                SubscriptionOptions::new(QoS::AtLeastOnce),
                None,
            )
            .unwrap();
            r.subscribe(
                c,
                &f(&format!("fleet/r{region}/d{device}/#")),
                SubscriptionOptions::new(QoS::ExactlyOnce),
                sid(device + 1),
            )
            .unwrap();
        }
        r.subscribe(
            id(1000 + region),
            &f(&format!("fleet/r{region}/+/status")),
            SubscriptionOptions::default(),
            sid(5),
        )
        .unwrap();
    }
    for member in 0..3 {
        r.subscribe(
            id(2000 + member),
            &f("$share/workers/fleet/+/+/status"),
            SubscriptionOptions::default(),
            None,
        )
        .unwrap();
    }
    let no_local = SubscriptionOptions {
        no_local: true,
        ..SubscriptionOptions::default()
    };
    r.subscribe(id(3000), &f("#"), no_local, sid(1)).unwrap();
    r.subscribe(id(3001), &f("$SYS/#"), SubscriptionOptions::default(), None)
        .unwrap();
    r
}

fn topics() -> Vec<TopicName> {
    [
        "fleet/r1/d7/status",
        "fleet/r2/d49/cmd",
        "fleet/r3/d0/cmd/extra",
        "nobody/listens",
        "$SYS/uptime",
        "fleet/r0",
    ]
    .into_iter()
    .map(|t| TopicName::try_from(t).unwrap())
    .collect()
}

fn check_router<C: Clone + Eq + std::hash::Hash>(router: &Router<C>, publisher: &C) {
    let topics = topics();
    let mut out = Deliveries::new();
    // Let the reusable buffer grow once.
    for topic in &topics {
        router.deliveries(topic, Some(publisher), &mut out);
    }
    let mut visited = 0usize;
    let mut delivered = 0usize;
    let n = allocations(|| {
        for _ in 0..100 {
            for topic in &topics {
                router.visit(topic, Some(publisher), |m| {
                    visited += 1 + m.subscription_id.map_or(0, |i| i.get() as usize) % 2;
                });
                router.deliveries(topic, Some(publisher), &mut out);
                delivered += out.iter().map(|d| 1 + d.subscription_ids.len()).sum::<usize>();
            }
        }
    });
    // Per round: fleet/r1/d7/status goes to 107 (one id), 1001 (one id) and a worker; fleet/r2/d49/cmd to 249
    // once with its one id; fleet/r3/d0/cmd/extra to 300 (one id); $SYS/uptime to 3001; 3000's `#` is No Local
    // and 3000 is the publisher. Counting 1 per delivery plus 1 per identifier: 5 + 2 + 2 + 0 + 1 + 0.
    assert_eq!(delivered, 100 * 10);
    assert!(visited > 100 * 10);
    assert_eq!(n, 0, "matching allocated {n} times");
}

#[test]
fn matching_allocates_nothing() {
    // The counter does see allocations on this thread.
    assert_eq!(
        allocations(|| drop(std::hint::black_box(Vec::<u8>::with_capacity(8)))),
        1
    );
    for strategy in [
        BuiltinStrategy::RoundRobin,
        BuiltinStrategy::Random(Random::with_seed(1)),
        BuiltinStrategy::Sticky,
        BuiltinStrategy::HashClientId,
    ] {
        check_router(&fleet(strategy, u64::from), &3000);
        let names: Vec<Arc<str>> = (0..4000).map(|i| Arc::from(format!("client-{i}"))).collect();
        let router = fleet(strategy, |i| names[i as usize].clone());
        check_router(&router, &names[3000]);
    }
}

#[test]
fn retained_lookup_allocates_nothing() {
    let mut store = RetainedStore::new();
    for region in 0..4 {
        for device in 0..100 {
            let topic = TopicName::try_from(format!("fleet/r{region}/d{device}/status")).unwrap();
            store.retain(topic, Bytes::from_static(b"online"), None).unwrap();
        }
    }
    let now = Instant::now();
    let filters = [f("fleet/+/+/status"), f("fleet/r2/#"), f("#"), f("fleet/r1/d5/status")];
    let mut found = 0;
    let n = allocations(|| {
        for filter in &filters {
            store.for_each_match(filter, now, |r| found += r.message.len());
        }
    });
    assert_eq!(found, (400 + 100 + 400 + 1) * 6);
    assert_eq!(n, 0, "retained lookup allocated {n} times");
}
