//! Small programs that teach the hpmq crates, one job each. Run one with
//! `cargo run --release -p hpmq-examples --example NAME`:
//!
//! | example | what it shows |
//! | --- | --- |
//! | `codec_tour` | `mqtt-codec`: build, encode and decode packets in 3.1.1 and 5.0, the tokio-util codec, strict errors |
//! | `embedded_router` | `mqtt-router` inside a multi-threaded service: a `RwLock`ed router, per-thread `Deliveries`, retained messages |
//! | `minimal_broker` | a small real broker: `mqtt-codec` framing, a sans-IO `mqtt-session` per connection and a shared `mqtt-router`; QoS 0/1/2, retained messages, wills, keep alive, takeover. `-- --listen ADDR` |
//! | `host_functions` | `hpmq-host`: load a wasm guest module (`guests/functions`), bind its functions to topic filters upstream and downstream, process messages, failure policies. `-- [PATH.wasm]` |
//!
//! This library has no items of its own: the programs are the examples, and CI builds and runs each one.
