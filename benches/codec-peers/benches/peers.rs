//! mqtt-codec against the codecs of rumqttc, ntex-mqtt and rmqtt, side by side in one criterion run.
//!
//! Groups are `decode/<case>/<version>` and `encode/<case>/<version>`; inside each group one function per codec
//! (`hpmq`, `rumqttc`, `ntex-mqtt`, `rmqtt-codec`). Every codec decodes the same reference bytes
//! (`hpmq_bench::frame`) and encodes its own packet value built from the same field values;
//! `tests/same_input.rs` checks both. What is timed, per codec:
//! - decode: one call of the codec's decode entry point on a buffer holding exactly one frame (plus spare
//!   capacity). Building the buffer and dropping the decoded packet happen outside the timed region.
//! - encode: one call of the codec's encode entry point into a reused output buffer that is emptied first.
//!   Codecs that take the packet by value (ntex-mqtt, rmqtt-codec) get a clone made outside the timed region;
//!   dropping the consumed packet is part of their call.
//!
//! Time is the benchmark thread's CPU time (`CLOCK_THREAD_CPUTIME_ID`), not wall time: the benchmark machine is
//! shared, and wall time would charge each codec for the moments the scheduler gave its core to someone else.
//!
//! Run: `cargo bench -p hpmq-bench --bench peers -- --warm-up-time 1 --measurement-time 3`, then
//! `python3 benches/codec-peers/report.py` for the table in `BENCHMARKS.md`.

#[path = "../adapters/mod.rs"]
#[allow(dead_code)] // shared with the tests, which also use the inspection helpers
mod adapters;

use std::hint::black_box;

use adapters::{hpmq, ntex, rmqtt, rumqttc};
use bytes::BytesMut;
use cpu_time::ThreadCpuTime;
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use hpmq_bench::{MATRIX, Version, frame};

/// Inputs prepared per batch: enough to amortise timer reads, few enough to stay small in memory.
const BATCH: BatchSize = BatchSize::NumIterations(256);

fn decode(c: &mut Criterion<ThreadCpuTime>) {
    for (case, version) in MATRIX {
        let frame = frame(case, version);
        let mut group = c.benchmark_group(format!("decode/{}/{}", case.label(), version.label()));
        let v = hpmq::version(version);
        group.bench_function("hpmq", |b| {
            b.iter_batched_ref(|| hpmq::input(&frame), |buf| hpmq::decode(v, buf), BATCH)
        });
        match version {
            Version::V311 => {
                group.bench_function("rumqttc", |b| {
                    b.iter_batched_ref(|| rumqttc::input(&frame), rumqttc::decode_v4, BATCH)
                });
                let codec = ntex::codec_v3();
                group.bench_function("ntex-mqtt", |b| {
                    b.iter_batched_ref(|| ntex::input(&frame), |buf| ntex::decode_v3(&codec, buf), BATCH)
                });
                let mut codec = rmqtt::codec_v3();
                group.bench_function("rmqtt-codec", |b| {
                    b.iter_batched_ref(|| rmqtt::input(&frame), |buf| rmqtt::decode_v3(&mut codec, buf), BATCH)
                });
            }
            Version::V5 => {
                group.bench_function("rumqttc", |b| {
                    b.iter_batched_ref(|| rumqttc::input(&frame), rumqttc::decode_v5, BATCH)
                });
                let codec = ntex::codec_v5();
                group.bench_function("ntex-mqtt", |b| {
                    b.iter_batched_ref(|| ntex::input(&frame), |buf| ntex::decode_v5(&codec, buf), BATCH)
                });
                let mut codec = rmqtt::codec_v5();
                group.bench_function("rmqtt-codec", |b| {
                    b.iter_batched_ref(|| rmqtt::input(&frame), |buf| rmqtt::decode_v5(&mut codec, buf), BATCH)
                });
            }
        }
        group.finish();
    }
}

fn encode(c: &mut Criterion<ThreadCpuTime>) {
    for (case, version) in MATRIX {
        let capacity = frame(case, version).len() + hpmq_bench::READ_BUFFER_SPARE;
        let mut out = BytesMut::with_capacity(capacity);
        let mut group = c.benchmark_group(format!("encode/{}/{}", case.label(), version.label()));

        let v = hpmq::version(version);
        let packet = hpmq::packet(case, version);
        group.bench_function("hpmq", |b| {
            b.iter(|| {
                out.clear();
                hpmq::encode(v, black_box(&packet), &mut out);
            })
        });

        match rumqttc::packet(case, version) {
            rumqttc::Packet::V4(packet) => group.bench_function("rumqttc", |b| {
                b.iter(|| {
                    out.clear();
                    rumqttc::encode_v4(black_box(&packet), &mut out);
                })
            }),
            rumqttc::Packet::V5(packet) => group.bench_function("rumqttc", |b| {
                b.iter(|| {
                    out.clear();
                    rumqttc::encode_v5(black_box(&packet), &mut out);
                })
            }),
        };

        let mut pages = ntex_bytes::BytePages::default();
        match ntex::packet(case, version) {
            ntex::Packet::V3(item) => {
                let codec = ntex::codec_v3();
                group.bench_function("ntex-mqtt", |b| {
                    b.iter_batched(
                        || item.clone(),
                        |item| {
                            ntex::drain(&mut pages);
                            ntex::encode_v3(&codec, item, &mut pages);
                        },
                        BATCH,
                    )
                })
            }
            ntex::Packet::V5(item) => {
                let codec = ntex::codec_v5();
                group.bench_function("ntex-mqtt", |b| {
                    b.iter_batched(
                        || item.clone(),
                        |item| {
                            ntex::drain(&mut pages);
                            ntex::encode_v5(&codec, item, &mut pages);
                        },
                        BATCH,
                    )
                })
            }
        };

        match rmqtt::packet(case, version) {
            rmqtt::Packet::V3(packet) => {
                let mut codec = rmqtt::codec_v3();
                group.bench_function("rmqtt-codec", |b| {
                    b.iter_batched(
                        || packet.clone(),
                        |packet| {
                            out.clear();
                            rmqtt::encode_v3(&mut codec, packet, &mut out);
                        },
                        BATCH,
                    )
                })
            }
            rmqtt::Packet::V5(packet) => {
                let mut codec = rmqtt::codec_v5();
                group.bench_function("rmqtt-codec", |b| {
                    b.iter_batched(
                        || packet.clone(),
                        |packet| {
                            out.clear();
                            rmqtt::encode_v5(&mut codec, packet, &mut out);
                        },
                        BATCH,
                    )
                })
            }
        };
        group.finish();
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().with_measurement(ThreadCpuTime);
    targets = decode, encode
}
criterion_main!(benches);

/// A criterion measurement of the calling thread's CPU time.
mod cpu_time {
    use criterion::Throughput;
    use criterion::measurement::{Measurement, ValueFormatter};

    /// CPU time consumed by the benchmark thread, in nanoseconds.
    pub struct ThreadCpuTime;

    fn now_ns() -> u64 {
        let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
        // SAFETY: `ts` is a valid, writable timespec; CLOCK_THREAD_CPUTIME_ID exists on every Linux.
        let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
        assert_eq!(rc, 0, "clock_gettime(CLOCK_THREAD_CPUTIME_ID) failed");
        // Both fields are non-negative for this clock.
        (ts.tv_sec as u64) * 1_000_000_000 + ts.tv_nsec as u64
    }

    impl Measurement for ThreadCpuTime {
        type Intermediate = u64;
        type Value = u64;

        fn start(&self) -> u64 {
            now_ns()
        }
        fn end(&self, start: u64) -> u64 {
            now_ns().saturating_sub(start)
        }
        fn add(&self, a: &u64, b: &u64) -> u64 {
            a + b
        }
        fn zero(&self) -> u64 {
            0
        }
        fn to_f64(&self, value: &u64) -> f64 {
            *value as f64
        }
        fn formatter(&self) -> &dyn ValueFormatter {
            &NanosFormatter
        }
    }

    struct NanosFormatter;

    impl ValueFormatter for NanosFormatter {
        fn scale_values(&self, typical_ns: f64, values: &mut [f64]) -> &'static str {
            let (factor, unit) = match typical_ns {
                t if t < 1e3 => (1.0, "ns"),
                t if t < 1e6 => (1e-3, "µs"),
                t if t < 1e9 => (1e-6, "ms"),
                _ => (1e-9, "s"),
            };
            values.iter_mut().for_each(|v| *v *= factor);
            unit
        }

        fn scale_throughputs(&self, _typical: f64, throughput: &Throughput, values: &mut [f64]) -> &'static str {
            let (per_op, unit) = match *throughput {
                Throughput::Bytes(n) | Throughput::BytesDecimal(n) => (n as f64, "B/s"),
                Throughput::Bits(n) => (n as f64, "b/s"),
                Throughput::Elements(n) | Throughput::ElementsAndBytes { elements: n, .. } => (n as f64, "elem/s"),
            };
            values.iter_mut().for_each(|v| *v = per_op * 1e9 / *v);
            unit
        }

        fn scale_for_machines(&self, _values: &mut [f64]) -> &'static str {
            "ns"
        }
    }
}
