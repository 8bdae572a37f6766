//! Embedding `mqtt-router` in a multi-threaded service, with the recipe the crate recommends: the router behind
//! a `std::sync::RwLock`, matched under the read lock from many threads (matching takes `&self` and allocates
//! nothing), changed under the write lock; one reusable `Deliveries` buffer per thread; retained messages in
//! their own store behind their own lock.
//!
//! Two publisher threads route a stream of fleet telemetry while a third thread keeps connecting and
//! disconnecting devices. Run: `cargo run --release -p hpmq-examples --example embedded_router`.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::thread;
use std::time::{Duration, Instant};

use bytes::Bytes;
use mqtt_router::{
    BuiltinStrategy, Deliveries, QoS, RetainedStore, Router, SubscriptionOptions, TopicFilter, TopicName,
};

/// Client ids: `Arc<str>`, so a delivery clones a pointer, not a string.
type ClientId = Arc<str>;

const DEVICES: u32 = 10_000;

fn filter(s: &str) -> Result<TopicFilter, mqtt_router::Error> {
    Ok(TopicFilter::try_from(s)?)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let router: Arc<RwLock<Router<ClientId>>> =
        Arc::new(RwLock::new(Router::with_strategy(BuiltinStrategy::HashClientId)));
    let retained: Arc<RwLock<RetainedStore<Bytes>>> = Arc::new(RwLock::new(RetainedStore::new()));

    // Initial state: every device listens on its command topic, a dashboard watches every status, and two
    // workers share the alarm stream.
    {
        let mut r = router.write().map_err(|_| "router lock poisoned")?;
        for d in 0..DEVICES {
            let id: ClientId = Arc::from(format!("dev-{d}"));
            r.subscribe(
                id,
                &filter(&format!("fleet/r{}/dev-{d}/cmd", d % 8))?,
                SubscriptionOptions::new(QoS::AtLeastOnce),
                None,
            )?;
        }
        r.subscribe(
            Arc::from("dashboard"),
            &filter("fleet/+/+/status")?,
            SubscriptionOptions::default(),
            None,
        )?;
        for w in ["worker-a", "worker-b"] {
            r.subscribe(
                Arc::from(w),
                &filter("$share/alarms/fleet/+/+/alarm")?,
                SubscriptionOptions::default(),
                None,
            )?;
        }
        println!(
            "{} subscriptions, {} trie nodes",
            r.subscription_count(),
            r.node_count()
        );
    }

    let stop = Arc::new(AtomicBool::new(false));
    let routed = Arc::new(AtomicU64::new(0));
    let delivered = Arc::new(AtomicU64::new(0));

    // Publishers: read lock per message, a reusable buffer per thread.
    let publishers: Vec<_> = (0..2)
        .map(|p| {
            let (router, retained, stop) = (router.clone(), retained.clone(), stop.clone());
            let (routed, delivered) = (routed.clone(), delivered.clone());
            thread::spawn(move || -> Result<(), String> {
                let mut out: Deliveries<ClientId> = Deliveries::new();
                let mut n: u32 = p;
                while !stop.load(Ordering::Relaxed) {
                    n = n.wrapping_add(2);
                    let d = n % DEVICES;
                    let kind = match n % 3 {
                        0 => "status",
                        1 => "cmd",
                        _ => "alarm",
                    };
                    let topic =
                        TopicName::try_from(format!("fleet/r{}/dev-{d}/{kind}", d % 8)).map_err(|e| e.to_string())?;
                    let publisher: ClientId = Arc::from("backend");
                    router
                        .read()
                        .map_err(|_| "poisoned")?
                        .deliveries(&topic, Some(&publisher), &mut out);
                    // A real broker would hand each delivery to the client's session here.
                    delivered.fetch_add(out.len() as u64, Ordering::Relaxed);
                    routed.fetch_add(1, Ordering::Relaxed);
                    if kind == "status" {
                        retained
                            .write()
                            .map_err(|_| "poisoned")?
                            .retain(topic, Bytes::from_static(b"online"), None)
                            .map_err(|e| e.to_string())?;
                    }
                }
                Ok(())
            })
        })
        .collect();

    // Connection churn: devices reconnect with a fresh subscription, under the write lock.
    let churn = {
        let (router, stop) = (router.clone(), stop.clone());
        thread::spawn(move || -> Result<u64, String> {
            let mut changes = 0u64;
            let mut d = 0u32;
            while !stop.load(Ordering::Relaxed) {
                d = (d + 7) % DEVICES;
                let id: ClientId = Arc::from(format!("dev-{d}"));
                let cmd = filter(&format!("fleet/r{}/dev-{d}/cmd", d % 8)).map_err(|e| e.to_string())?;
                let mut r = router.write().map_err(|_| "poisoned")?;
                r.remove_client(&id);
                r.subscribe(id, &cmd, SubscriptionOptions::new(QoS::AtLeastOnce), None)
                    .map_err(|e| e.to_string())?;
                changes += 1;
                drop(r);
                thread::sleep(Duration::from_micros(50));
            }
            Ok(changes)
        })
    };

    let started = Instant::now();
    thread::sleep(Duration::from_millis(500));
    stop.store(true, Ordering::Relaxed);
    for p in publishers {
        p.join().map_err(|_| "publisher panicked")??;
    }
    let changes = churn.join().map_err(|_| "churn thread panicked")??;
    let secs = started.elapsed().as_secs_f64();

    let routed = routed.load(Ordering::Relaxed);
    println!(
        "routed {routed} messages ({:.0}/s) to {} deliveries while {changes} resubscriptions happened",
        routed as f64 / secs,
        delivered.load(Ordering::Relaxed)
    );

    // A new dashboard subscribes with a wildcard: its retained messages come from the index.
    let store = retained.read().map_err(|_| "retained lock poisoned")?;
    let mut found = 0;
    store.for_each_match(&filter("fleet/r3/+/status")?, Instant::now(), |_| found += 1);
    println!(
        "{} retained messages, {found} of them for fleet/r3/+/status",
        store.len()
    );
    let r = router.read().map_err(|_| "router lock poisoned")?;
    println!(
        "{} subscriptions, {} trie nodes at the end",
        r.subscription_count(),
        r.node_count()
    );
    Ok(())
}
