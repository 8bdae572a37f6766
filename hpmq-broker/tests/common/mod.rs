//! Shared by the broker's integration tests: start a broker on a free loopback port, drive the Debian
//! `mosquitto_pub`/`mosquitto_sub` clients, build the guest functions, and wait for conditions (never for a
//! fixed time).

// Test support: failing loudly is the point.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod v4;
pub mod v5;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use hpmq_broker::{Broker, BrokerHandle, Config};
use tokio::io::{AsyncBufReadExt, BufReader, Lines};
use tokio::process::{Child, ChildStdout, Command};

/// How long any single expected event may take on a loaded CI machine.
pub const WAIT: Duration = Duration::from_secs(15);

/// Starts a broker from `toml` (the listener is forced to `127.0.0.1:0`; see [`park_override`]).
pub async fn start(toml: &str) -> BrokerHandle {
    let text = format!("[listener]\naddress = \"127.0.0.1:0\"\n{toml}");
    let mut config = Config::from_toml_str(&text).unwrap_or_else(|e| panic!("config: {e}\n{text}"));
    park_override(&mut config);
    Broker::start(config).await.expect("broker starts")
}

/// With `HPMQ_TEST_PARK_AFTER_MS` set, every broker a test starts parks its sessions after that many
/// milliseconds of idleness instead of the configured time: `scripts/test` runs the integration tests a
/// second time with 1 ms, so that every scenario also passes with sessions parked and resumed between
/// (nearly) every step.
pub fn park_override(config: &mut Config) {
    if let Some(ms) = std::env::var("HPMQ_TEST_PARK_AFTER_MS")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        config.limits.park_after_ms = ms;
    }
}

/// A broker with the default configuration.
pub async fn start_default() -> BrokerHandle {
    start("").await
}

/// A name no other test uses, for client ids and topics.
pub fn unique(prefix: &str) -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    format!("{prefix}-{}-{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed))
}

/// `mosquitto_pub` against `addr` with `version` (`"mqttv311"` or `"mqttv5"`) and extra arguments; panics
/// unless it exits 0.
pub async fn mosquitto_pub(addr: SocketAddr, version: &str, args: &[&str]) {
    let out = Command::new("mosquitto_pub")
        .args(["-h", "127.0.0.1", "-p", &addr.port().to_string(), "-V", version])
        .args(args)
        .output();
    let out = tokio::time::timeout(WAIT, out)
        .await
        .expect("mosquitto_pub hangs")
        .unwrap();
    assert!(
        out.status.success(),
        "mosquitto_pub {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A running `mosquitto_sub -v` whose subscriptions are known to be active.
pub struct Sub {
    child: Child,
    lines: Lines<BufReader<ChildStdout>>,
    probe: String,
    /// Messages that arrived before the readiness probe (retained ones), returned first.
    pending: std::collections::VecDeque<String>,
}

impl Sub {
    /// Starts `mosquitto_sub` with `args` (which include the `-t` filters) plus a private probe topic, and
    /// returns once a probe message has come through, i.e. once the broker has processed its SUBSCRIBE.
    /// Output lines are `-F` formatted as `topic payload` unless `args` set another `-F`.
    pub async fn start(addr: SocketAddr, version: &str, args: &[&str]) -> Sub {
        let probe = unique("probe");
        let mut cmd = Command::new("mosquitto_sub");
        cmd.args(["-h", "127.0.0.1", "-p", &addr.port().to_string(), "-V", version])
            .args(["-t", &probe]);
        if !args.contains(&"-F") {
            cmd.args(["-F", "%t %p"]);
        }
        let mut child = cmd
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("mosquitto_sub runs (scripts/setup installs mosquitto-clients)");
        let lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut sub = Sub {
            child,
            lines,
            probe,
            pending: Default::default(),
        };
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            mosquitto_pub(addr, version, &["-t", &sub.probe, "-m", "probe"]).await;
            match tokio::time::timeout(Duration::from_millis(300), sub.lines.next_line()).await {
                Ok(Ok(Some(line))) if line.starts_with(&sub.probe) => return sub,
                Ok(Ok(Some(line))) => sub.pending.push_back(line),
                Ok(Ok(None)) | Ok(Err(_)) => panic!("mosquitto_sub exited before subscribing"),
                Err(_) => assert!(tokio::time::Instant::now() < deadline, "subscription never active"),
            }
        }
    }

    /// The next line that is not a probe; panics after [`WAIT`].
    pub async fn next(&mut self) -> String {
        if let Some(line) = self.pending.pop_front() {
            return line;
        }
        loop {
            let line = tokio::time::timeout(WAIT, self.lines.next_line())
                .await
                .expect("no message within the wait")
                .unwrap()
                .expect("mosquitto_sub exited");
            if !line.starts_with(&self.probe) {
                return line;
            }
        }
    }

    /// The next non-probe line if one arrives within `within`.
    pub async fn maybe_next(&mut self, within: Duration) -> Option<String> {
        if let Some(line) = self.pending.pop_front() {
            return Some(line);
        }
        let deadline = tokio::time::Instant::now() + within;
        loop {
            match tokio::time::timeout_at(deadline, self.lines.next_line()).await {
                Ok(Ok(Some(line))) if line.starts_with(&self.probe) => continue,
                Ok(Ok(Some(line))) => return Some(line),
                _ => return None,
            }
        }
    }

    /// Publishes one more probe and reads up to it: every message published before this call and routed to
    /// this subscriber has been printed by then, so what [`Sub::next`] has not returned was not delivered.
    pub async fn drain(&mut self, addr: SocketAddr, version: &str) -> Vec<String> {
        mosquitto_pub(addr, version, &["-t", &self.probe, "-m", "probe"]).await;
        let mut seen: Vec<String> = self.pending.drain(..).collect();
        loop {
            let line = tokio::time::timeout(WAIT, self.lines.next_line())
                .await
                .expect("probe never came back")
                .unwrap()
                .expect("mosquitto_sub exited");
            if line.starts_with(&self.probe) {
                return seen;
            }
            seen.push(line);
        }
    }

    /// Stops the client.
    pub async fn stop(mut self) {
        let _ = self.child.kill().await;
    }
}

/// `<repo>/guests`
pub fn guests_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../guests")
}

/// Builds the guest workspace for wasm32 once per test binary and returns the path of `crate_name`'s module.
pub fn guest_path(crate_name: &str) -> PathBuf {
    static BUILT: OnceLock<()> = OnceLock::new();
    let target = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/guests");
    BUILT.get_or_init(|| {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let status = std::process::Command::new(cargo)
            .args([
                "build",
                "--release",
                "--target",
                "wasm32-unknown-unknown",
                "--target-dir",
            ])
            .arg(&target)
            .current_dir(guests_dir())
            .env_remove("CARGO_TARGET_DIR")
            .env_remove("RUSTFLAGS")
            .env_remove("CARGO_ENCODED_RUSTFLAGS")
            .status()
            .expect("cannot run cargo to build the guests");
        assert!(
            status.success(),
            "building the wasm guests failed (scripts/setup adds the wasm32 target)"
        );
    });
    let path = target
        .join("wasm32-unknown-unknown/release")
        .join(format!("{}.wasm", crate_name.replace('-', "_")));
    assert!(path.exists(), "{} missing after the guest build", path.display());
    path.canonicalize().unwrap()
}

/// The `[functions]` part of a configuration that loads the rental module from `wasm` and binds it as the
/// README does.
pub fn rental_functions(wasm: &std::path::Path) -> String {
    format!(
        r#"
[[functions.modules]]
name = "rental"
path = "{}"

[[functions.bindings]]
direction = "upstream"
filter = "device/+/status"
chain = ["rental::dedup", "rental::rental"]

[[functions.bindings]]
direction = "upstream"
filter = "rental/+"
chain = ["rental::rental"]

[[functions.bindings]]
direction = "upstream"
filter = "phone/+/cmd"
chain = ["rental::rental"]
"#,
        wasm.display()
    )
}

/// Polls `cond` every 20 ms until it holds; panics after [`WAIT`] with `what`.
pub async fn wait_for(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + WAIT;
    while !cond() {
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Awaits `op` (a network operation), panicking with `what` if it does not finish within [`WAIT`]: no test
/// may hang on a socket.
pub async fn within<T>(what: &str, op: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(WAIT, op)
        .await
        .unwrap_or_else(|_| panic!("{what}: nothing within {WAIT:?}"))
}
