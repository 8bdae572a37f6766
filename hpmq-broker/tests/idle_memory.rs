//! What an idle connection costs the broker in heap memory: N clients connect (MQTT 3.1.1 and 5.0 CONNECTs
//! on raw blocking sockets, which allocate nothing themselves) and then sit idle; a counting global allocator
//! reports the live bytes and live allocations the broker holds per connection. Counting bytes is
//! deterministic (no clock in the assertion), so the budget guards the idle-connection design.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicIsize, Ordering};
use std::time::Duration;

use hpmq_broker::{Broker, BrokerHandle, Config};

mod common;
mod raw;

struct Counting;

static LIVE_BYTES: AtomicIsize = AtomicIsize::new(0);
static LIVE_ALLOCS: AtomicIsize = AtomicIsize::new(0);
/// Live allocations by requested size (the last slot holds every larger one), for the breakdown.
static BY_SIZE: [AtomicIsize; SIZES] = [const { AtomicIsize::new(0) }; SIZES];
const SIZES: usize = 8193;

fn slot(size: usize) -> &'static AtomicIsize {
    &BY_SIZE[size.min(SIZES - 1)]
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE_BYTES.fetch_add(layout.size() as isize, Ordering::Relaxed);
        LIVE_ALLOCS.fetch_add(1, Ordering::Relaxed);
        slot(layout.size()).fetch_add(1, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        LIVE_BYTES.fetch_add(layout.size() as isize, Ordering::Relaxed);
        LIVE_ALLOCS.fetch_add(1, Ordering::Relaxed);
        slot(layout.size()).fetch_add(1, Ordering::Relaxed);
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE_BYTES.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        LIVE_ALLOCS.fetch_sub(1, Ordering::Relaxed);
        slot(layout.size()).fetch_sub(1, Ordering::Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE_BYTES.fetch_add(new_size as isize - layout.size() as isize, Ordering::Relaxed);
        slot(layout.size()).fetch_sub(1, Ordering::Relaxed);
        slot(new_size).fetch_add(1, Ordering::Relaxed);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[derive(Clone, Copy)]
struct Sample {
    bytes: isize,
    allocs: isize,
}

fn sample() -> Sample {
    Sample {
        bytes: LIVE_BYTES.load(Ordering::Relaxed),
        allocs: LIVE_ALLOCS.load(Ordering::Relaxed),
    }
}

fn sizes() -> Vec<isize> {
    BY_SIZE.iter().map(|c| c.load(Ordering::Relaxed)).collect()
}

/// Opens `n` connections, each CONNECTed and CONNACKed (success), and returns them open.
fn open(addr: SocketAddr, level: u8, keep_alive: u16, prefix: &str, n: usize, into: &mut Vec<TcpStream>) {
    for i in 0..n {
        let mut s = TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
        s.write_all(&raw::connect(level, &format!("{prefix}-{i:06}"), true, keep_alive, &[]))
            .unwrap();
        let mut head = [0u8; 2];
        s.read_exact(&mut head).unwrap();
        assert_eq!(head[0], 0x20, "CONNACK expected");
        let mut rest = vec![0u8; head[1] as usize];
        s.read_exact(&mut rest).unwrap();
        // Byte 0: flags (3.1.1 session present / v5 acknowledge flags); byte 1: return / reason code.
        assert_eq!(rest[1], 0, "CONNECT refused");
        into.push(s);
    }
}

/// Waits until the broker's live heap stops changing (its tasks have settled into the idle state).
fn settle() -> Sample {
    let mut last = sample();
    let mut same = 0;
    for _ in 0..200 {
        std::thread::sleep(Duration::from_millis(20));
        let now = sample();
        if now.bytes == last.bytes && now.allocs == last.allocs {
            same += 1;
            if same == 5 {
                return now;
            }
        } else {
            same = 0;
        }
        last = now;
    }
    last
}

struct Measured {
    bytes: f64,
    allocs: f64,
    by_size: Vec<(usize, f64)>,
}

/// Heap per connection once `n` connections sit idle (with `parking`: once every session is parked).
fn measure(broker: &BrokerHandle, parking: bool, level: u8, keep_alive: u16, n: usize) -> Measured {
    let addr = broker.local_addr();
    let mut warm = Vec::with_capacity(64);
    // Warm-up: the first connections pay for lazily grown shared structures.
    open(
        addr,
        level,
        keep_alive,
        &format!("warm-{level}-{keep_alive}"),
        64,
        &mut warm,
    );
    let mut conns = Vec::with_capacity(n);
    let before = settle();
    let sizes_before = sizes();
    open(
        addr,
        level,
        keep_alive,
        &format!("idle-{level}-{keep_alive}"),
        n,
        &mut conns,
    );
    if parking {
        // Every session (the warm-up ones too) idles into the parking lot.
        let want = (warm.len() + conns.len()) as u64;
        let mut stats = broker.stats();
        for _ in 0..500 {
            stats = broker.stats();
            if stats.sessions_parked == want && stats.sessions == want {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        assert_eq!(
            (stats.sessions_parked, stats.sessions),
            (want, want),
            "idle sessions did not park"
        );
    }
    let after = settle();
    let sizes_after = sizes();
    let by_size = sizes_before
        .iter()
        .zip(&sizes_after)
        .enumerate()
        .filter(|(_, (b, a))| a != b)
        .map(|(size, (b, a))| (size, (a - b) as f64 / n as f64))
        .filter(|(_, per)| per.abs() >= 0.05)
        .collect();
    drop(conns);
    drop(warm);
    Measured {
        bytes: (after.bytes - before.bytes) as f64 / n as f64,
        allocs: (after.allocs - before.allocs) as f64 / n as f64,
        by_size,
    }
}

/// A broker that parks sessions idle for `park_after_ms` (0: never).
fn broker(runtime: &tokio::runtime::Runtime, park_after_ms: u64) -> BrokerHandle {
    let text = format!(
        "[listener]\naddress = \"127.0.0.1:0\"\n[limits]\nmax_connections = 100000\npark_after_ms = {park_after_ms}\n"
    );
    let config = Config::from_toml_str(&text).unwrap();
    runtime.block_on(Broker::start(config)).unwrap()
}

/// Heap bytes the broker may hold per idle connection while its session keeps a task (`park_after_ms = 0`;
/// the test binary is usually a debug build, whose futures are larger than a release build's). Measured at
/// 1,729–1,778 B in a debug build with tokio 1.54 (the task, its session state, the socket's I/O
/// registration, the mailbox, the registry entry and the one client id, and a timer). Before the mailbox,
/// the small idle future and the shrinking of quiet sessions it was 7.7 KiB; before thin session tables,
/// 2.4 KiB; before the session shed its between-connections clocks and the task future its idle clocks,
/// 2,066 B.
const TASK_BUDGET_BYTES: f64 = 2048.0;
/// Heap allocations the broker may hold per idle connection with a task (7 measured).
const TASK_BUDGET_ALLOCATIONS: f64 = 8.0;
/// The same for a parked session: no task, no I/O registration, no timer. Measured at 626–800 B and 3
/// allocations (the boxed 440 B session task, its mailbox, the client id shared by the registry, the
/// session and the function context); 786–959 B and 4 before the session's client id was shared and its
/// clocks boxed or moved into the running task; 1.1–1.3 KiB and 5 before the session's empty tables shrank
/// to a pointer each.
const PARKED_BUDGET_BYTES: f64 = 896.0;
/// Heap allocations per parked connection.
const PARKED_BUDGET_ALLOCATIONS: f64 = 4.0;

#[test]
fn idle_connection_memory() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    for (parking, bytes, allocations) in [
        (false, TASK_BUDGET_BYTES, TASK_BUDGET_ALLOCATIONS),
        (true, PARKED_BUDGET_BYTES, PARKED_BUDGET_ALLOCATIONS),
    ] {
        let broker = broker(&runtime, if parking { 50 } else { 0 });
        // 3.1.1 without keep-alive (what scripts/loadtest.py idle sends), and both versions with a keep-alive
        // deadline.
        for (level, keep_alive) in [(4u8, 0u16), (4, 60), (5, 60)] {
            let m = measure(&broker, parking, level, keep_alive, 1000);
            let what = format!("parked {parking}, level {level}, keep-alive {keep_alive}");
            eprintln!(
                "{what}: {:.0} B and {:.2} allocations per idle connection",
                m.bytes, m.allocs
            );
            for (size, per) in &m.by_size {
                eprintln!("  {size:>5} B x {per:.2}");
            }
            assert!(
                m.bytes <= bytes,
                "{what}: {:.0} B per idle connection, budget {bytes}",
                m.bytes
            );
            assert!(
                m.allocs <= allocations,
                "{what}: {:.2} allocations per idle connection, budget {allocations}",
                m.allocs
            );
        }
        runtime.block_on(broker.shutdown());
    }
}
