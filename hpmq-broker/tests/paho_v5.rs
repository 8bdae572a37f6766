//! A Python paho-mqtt 2.x v5 client (installed by `scripts/setup`) checks request/response properties, user
//! properties and subscription identifiers through the broker.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{WAIT, start_default, unique};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_response_properties_and_subscription_ids_pass_through() {
    let broker = start_default().await;
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/py/request_response.py");
    let out = tokio::process::Command::new("python3")
        .arg(script)
        .arg(broker.local_addr().port().to_string())
        .arg(unique("paho"))
        .output();
    let out = tokio::time::timeout(WAIT * 2, out)
        .await
        .expect("paho script hangs")
        .unwrap();
    assert!(
        out.status.success(),
        "paho-mqtt scenario failed (scripts/setup installs paho-mqtt 2.x):\nstdout: {}\nstderr: {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    broker.shutdown().await;
}
