//! Benchmark-only package: see `benches/rmqtt.rs`.
