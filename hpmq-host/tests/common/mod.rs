//! Shared by the integration tests: builds the guest workspace (once per test binary) and loads its modules.

// Test support: failing loudly is the point.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

use hpmq_host::{Context, Limits, Message, Runtime};
use mqtt_codec::TopicName;

/// `<repo>/guests`
pub fn guests_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../guests")
}

/// Where `scripts/test` and this helper put the guest builds.
pub fn guest_target_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/guests")
}

/// Builds the guest workspace for wasm32 (a no-op when up to date) and returns the path of `crate_name`'s
/// module. Panics with instructions if the build fails, e.g. because the wasm32 target is missing.
pub fn guest_path(crate_name: &str) -> PathBuf {
    static BUILT: OnceLock<()> = OnceLock::new();
    BUILT.get_or_init(|| {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let status = Command::new(cargo)
            .args([
                "build",
                "--release",
                "--target",
                "wasm32-unknown-unknown",
                "--target-dir",
            ])
            .arg(guest_target_dir())
            .current_dir(guests_dir())
            .env_remove("CARGO_TARGET_DIR")
            .env_remove("RUSTFLAGS")
            .env_remove("CARGO_ENCODED_RUSTFLAGS")
            .status()
            .expect("cannot run cargo to build the guests");
        assert!(
            status.success(),
            "building the wasm guests failed; run `rustup target add wasm32-unknown-unknown` (scripts/setup does) \
             and `cargo build --release --target wasm32-unknown-unknown` in guests/"
        );
    });
    let path = guest_target_dir()
        .join("wasm32-unknown-unknown/release")
        .join(format!("{}.wasm", crate_name.replace('-', "_")));
    assert!(path.exists(), "{} missing after the guest build", path.display());
    path
}

pub fn guest(crate_name: &str) -> Vec<u8> {
    std::fs::read(guest_path(crate_name)).unwrap()
}

/// Limits small enough for many runtimes in one test process.
pub fn test_limits() -> Limits {
    Limits {
        max_instances: 32,
        deadline_ms: Some(1000),
        ..Limits::default()
    }
}

pub fn runtime_with(modules: &[(&str, &str)], limits: Limits) -> Runtime {
    let rt = Runtime::new(limits).unwrap();
    for (name, crate_name) in modules {
        rt.load_module(name, &guest(crate_name)).unwrap();
    }
    rt
}

pub fn topic(s: &str) -> TopicName {
    TopicName::try_from(s).unwrap()
}

pub fn msg(t: &str, payload: &str) -> Message {
    Message::new(topic(t), payload.as_bytes().to_vec())
}

pub fn ctx() -> Context {
    Context::new("dev-1")
}
