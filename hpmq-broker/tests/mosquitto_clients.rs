//! The broker driven by Debian's `mosquitto_pub`/`mosquitto_sub`, over MQTT 3.1.1 and 5.0.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{Sub, WAIT, mosquitto_pub, start, start_default, unique};
use std::time::Duration;

const VERSIONS: [&str; 2] = ["mqttv311", "mqttv5"];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publish_and_subscribe_at_every_qos() {
    let broker = start_default().await;
    let addr = broker.local_addr();
    for version in VERSIONS {
        let topic = unique("qos");
        let mut sub = Sub::start(addr, version, &["-q", "2", "-t", &topic, "-F", "%t %q %p"]).await;
        for qos in ["0", "1", "2"] {
            mosquitto_pub(addr, version, &["-q", qos, "-t", &topic, "-m", &format!("m{qos}")]).await;
            assert_eq!(sub.next().await, format!("{topic} {qos} m{qos}"), "{version}");
        }
        // A subscription at QoS 0 gets QoS 2 messages downgraded.
        let low = Sub::start(addr, version, &["-q", "0", "-t", &topic, "-F", "%t %q %p"]).await;
        let mut low = low;
        mosquitto_pub(addr, version, &["-q", "2", "-t", &topic, "-m", "down"]).await;
        assert_eq!(low.next().await, format!("{topic} 0 down"), "{version}");
        assert_eq!(sub.next().await, format!("{topic} 2 down"), "{version}");
        sub.stop().await;
        low.stop().await;
    }
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wildcards_route_and_dollar_topics_stay_out_of_hash() {
    let broker = start_default().await;
    let addr = broker.local_addr();
    let root = unique("wild");
    let plus = format!("{root}/+/temp");
    let hash = format!("{root}/#");
    let mut sub = Sub::start(addr, "mqttv5", &["-t", &plus, "-t", &hash]).await;
    mosquitto_pub(addr, "mqttv5", &["-t", &format!("{root}/kitchen/temp"), "-m", "21"]).await;
    // One delivery per matching client even though two filters match (v5 collapses overlapping subs).
    assert_eq!(sub.next().await, format!("{root}/kitchen/temp 21"));
    mosquitto_pub(addr, "mqttv5", &["-t", &format!("{root}/a/b/c"), "-m", "deep"]).await;
    let rest = sub.drain(addr, "mqttv5").await;
    assert_eq!(
        rest,
        [format!("{root}/a/b/c deep")],
        "no duplicate of the first message either"
    );
    sub.stop().await;
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retained_messages_reach_later_subscribers_and_can_be_cleared() {
    let broker = start_default().await;
    let addr = broker.local_addr();
    for version in VERSIONS {
        let topic = unique("retained");
        mosquitto_pub(addr, version, &["-r", "-q", "1", "-t", &topic, "-m", "kept"]).await;
        let mut sub = Sub::start(addr, version, &["-t", &topic, "-F", "%t %r %p"]).await;
        assert_eq!(sub.next().await, format!("{topic} 1 kept"), "{version}");
        // Only once: later probes do not bring it again.
        assert_eq!(sub.drain(addr, version).await, Vec::<String>::new(), "{version}");
        sub.stop().await;

        // An empty retained payload deletes it.
        mosquitto_pub(addr, version, &["-r", "-t", &topic, "-n"]).await;
        let mut sub = Sub::start(addr, version, &["-t", &topic, "-F", "%t %r %p"]).await;
        assert_eq!(sub.drain(addr, version).await, Vec::<String>::new(), "{version}");
        sub.stop().await;
    }
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sys_topics_publish_statistics() {
    let broker = start("[sys]\ninterval_secs = 1\n").await;
    let addr = broker.local_addr();
    let mut sub = Sub::start(addr, "mqttv311", &["-t", "$SYS/broker/#"]).await;
    let line = sub.next().await;
    assert!(line.starts_with("$SYS/broker/"), "{line}");
    sub.stop().await;
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v5_user_properties_are_preserved_in_order() {
    let broker = start_default().await;
    let addr = broker.local_addr();
    let topic = unique("props");
    let mut sub = Sub::start(addr, "mqttv5", &["-t", &topic, "-F", "%t [%P] %p"]).await;
    mosquitto_pub(
        addr,
        "mqttv5",
        &[
            "-t",
            &topic,
            "-m",
            "x",
            "-q",
            "1",
            "-D",
            "publish",
            "user-property",
            "b",
            "2",
            "-D",
            "publish",
            "user-property",
            "a",
            "1",
            "-D",
            "publish",
            "user-property",
            "b",
            "3",
        ],
    )
    .await;
    assert_eq!(sub.next().await, format!("{topic} [b:2 a:1 b:3] x"));
    // A 3.1.1 subscriber gets the same message without properties.
    let mut old = Sub::start(addr, "mqttv311", &["-t", &topic]).await;
    mosquitto_pub(
        addr,
        "mqttv5",
        &["-t", &topic, "-m", "y", "-D", "publish", "user-property", "k", "v"],
    )
    .await;
    assert_eq!(old.next().await, format!("{topic} y"));
    sub.stop().await;
    old.stop().await;
    broker.shutdown().await;
}

/// Everyone may subscribe to `allowed/#` and to one-level topics (the probes), nothing else.
const ACL: &str = r##"
[[acl]]
publish = ["#"]
subscribe = ["allowed/#", "+"]
"##;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_denied_subscribe_gets_0x80_and_the_connection_stays_up() {
    let broker = start(ACL).await;
    let addr = broker.local_addr();
    for version in VERSIONS {
        // -d prints the SUBACK's return codes; -E exits once the SUBACK is in.
        let out = tokio::process::Command::new("mosquitto_sub")
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                &addr.port().to_string(),
                "-V",
                version,
                "-d",
                "-E",
            ])
            .args(["-t", "allowed/x", "-t", "denied/x"])
            .output();
        let out = tokio::time::timeout(WAIT, out).await.unwrap().unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("Subscribed (mid: 1): 0, 128"), "{version}: {text}");

        // The same client keeps its granted subscription and its connection.
        let mut sub = Sub::start(addr, version, &["-t", "denied/x", "-t", "allowed/x"]).await;
        mosquitto_pub(addr, version, &["-t", "denied/x", "-m", "no"]).await;
        mosquitto_pub(addr, version, &["-t", "allowed/x", "-m", "yes"]).await;
        assert_eq!(sub.next().await, "allowed/x yes", "{version}");
        assert_eq!(sub.maybe_next(Duration::from_millis(300)).await, None);
        sub.stop().await;
    }
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passwords_are_checked() {
    // Hash of "secret" made by the broker's own hasher so the test does not depend on a fixed salt.
    let hash = hpmq_broker::auth::hash_password(b"secret").expect("hash");
    let broker = start(&format!(
        "[auth]\nallow_anonymous = false\n[[auth.users]]\nusername = \"alice\"\npassword_hash = \"{hash}\"\n"
    ))
    .await;
    let addr = broker.local_addr();
    let port = addr.port().to_string();
    for version in VERSIONS {
        let run = |user: &'static str, pass: &'static str| {
            let mut c = tokio::process::Command::new("mosquitto_pub");
            c.args(["-h", "127.0.0.1", "-p", &port, "-V", version, "-t", "t", "-m", "m"]);
            if !user.is_empty() {
                c.args(["-u", user, "-P", pass]);
            }
            c.output()
        };
        let ok = tokio::time::timeout(WAIT, run("alice", "secret"))
            .await
            .unwrap()
            .unwrap();
        assert!(
            ok.status.success(),
            "{version}: {}",
            String::from_utf8_lossy(&ok.stderr)
        );
        for (u, p) in [("alice", "wrong"), ("bob", "secret"), ("", "")] {
            let bad = tokio::time::timeout(WAIT, run(u, p)).await.unwrap().unwrap();
            assert!(!bad.status.success(), "{version}: {u}/{p} was accepted");
        }
    }
    broker.shutdown().await;
}
