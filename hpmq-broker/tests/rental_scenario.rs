//! The README's rental scenario end to end: the real `rental.wasm` loaded by the broker, driven by
//! `mosquitto_pub`/`mosquitto_sub` as a device and two phones; and hot reload with clients connected.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::net::SocketAddr;

use common::{Sub, guest_path, mosquitto_pub, rental_functions, start, unique};

async fn publish(addr: SocketAddr, topic: &str, payload: &str) {
    mosquitto_pub(addr, "mqttv5", &["-q", "1", "-t", topic, "-m", payload]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bind_forward_dedup_refuse_command_and_return() {
    let broker = start(&rental_functions(&guest_path("rental"))).await;
    let addr = broker.local_addr();
    // Ids unique to this run, so the function's state of another test cannot interfere.
    let dev = unique("AAA");
    let (bbb, ccc) = (unique("BBB"), unique("CCC"));
    let mut device = Sub::start(addr, "mqttv311", &["-t", &format!("device/{dev}/#")]).await;
    let mut phone = Sub::start(addr, "mqttv5", &["-t", &format!("phone/{bbb}/#")]).await;
    let mut other = Sub::start(addr, "mqttv5", &["-t", &format!("phone/{ccc}/#")]).await;

    // A status before any rental only reaches the device topic.
    publish(addr, &format!("device/{dev}/status"), "idle").await;
    assert_eq!(device.next().await, format!("device/{dev}/status idle"));
    assert_eq!(phone.drain(addr, "mqttv5").await, Vec::<String>::new());

    // Bind.
    let bind = |p: &str| format!(r#"{{ "phone_id": "{p}", "device_id": "{dev}" }}"#);
    publish(addr, "rental/bind", &bind(&bbb)).await;
    assert_eq!(
        phone.next().await,
        format!(r#"phone/{bbb}/bind-result {{"device_id":"{dev}","result":"bound"}}"#)
    );
    assert_eq!(
        device.next().await,
        format!(r#"device/{dev}/rental {{"state":"rented","phone_id":"{bbb}"}}"#)
    );

    // Status is forwarded to the renter; an identical status is dropped; a changed one goes through.
    publish(addr, &format!("device/{dev}/status"), "on").await;
    assert_eq!(phone.next().await, format!("phone/{bbb}/device-status on"));
    assert_eq!(device.next().await, format!("device/{dev}/status on"));
    publish(addr, &format!("device/{dev}/status"), "on").await;
    publish(addr, &format!("device/{dev}/status"), "off").await;
    assert_eq!(
        phone.drain(addr, "mqttv5").await,
        [format!("phone/{bbb}/device-status off")]
    );
    assert_eq!(
        device.drain(addr, "mqttv311").await,
        [format!("device/{dev}/status off")]
    );

    // A second renter is refused and changes nothing.
    publish(addr, "rental/bind", &bind(&ccc)).await;
    assert_eq!(
        other.next().await,
        format!(
            r#"phone/{ccc}/bind-result {{"device_id":"{dev}","result":"refused","reason":"device is rented by another phone"}}"#
        )
    );
    // Commands: the renter's reach the device, the other phone's are dropped.
    publish(addr, &format!("phone/{ccc}/cmd"), "unlock").await;
    publish(addr, &format!("phone/{bbb}/cmd"), "unlock").await;
    assert_eq!(device.next().await, format!("device/{dev}/cmd unlock"));
    assert_eq!(device.drain(addr, "mqttv311").await, Vec::<String>::new());

    // Return; then the other phone can rent it.
    publish(addr, "rental/return", &bind(&bbb)).await;
    assert_eq!(
        phone.next().await,
        format!(r#"phone/{bbb}/return-result {{"device_id":"{dev}","result":"returned"}}"#)
    );
    assert_eq!(
        device.next().await,
        format!(r#"device/{dev}/rental {{"state":"free"}}"#)
    );
    publish(addr, "rental/bind", &bind(&ccc)).await;
    assert_eq!(
        other.next().await,
        format!(r#"phone/{ccc}/bind-result {{"device_id":"{dev}","result":"bound"}}"#)
    );
    publish(addr, &format!("device/{dev}/status"), "busy").await;
    assert_eq!(other.next().await, format!("phone/{ccc}/device-status busy"));
    assert_eq!(
        phone.drain(addr, "mqttv5").await,
        Vec::<String>::new(),
        "the old renter hears nothing"
    );

    for s in [device, phone, other] {
        s.stop().await;
    }
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hot_reload_swaps_functions_while_clients_stay_connected() {
    // The module file is a private copy the test overwrites, as an operator would deploy a new build.
    let dir = std::env::temp_dir().join(unique("hpmq-reload"));
    std::fs::create_dir_all(&dir).unwrap();
    let tagger = dir.join("tagger.wasm");
    let rental = dir.join("rental.wasm");
    std::fs::copy(guest_path("tagger-v1"), &tagger).unwrap();
    std::fs::copy(guest_path("rental"), &rental).unwrap();
    let config = format!(
        "{}\n[[functions.modules]]\nname = \"tagger\"\npath = \"{}\"\n\n[[functions.bindings]]\ndirection = \"upstream\"\nfilter = \"tag/#\"\nchain = [\"tagger::tag\"]\n",
        rental_functions(&rental),
        tagger.display()
    );
    let broker = start(&config).await;
    let addr = broker.local_addr();
    let dev = unique("DEV");
    let phone_id = unique("PHONE");
    let mut tags = Sub::start(addr, "mqttv5", &["-t", "tag/#", "-F", "%t [%P] %p"]).await;
    let mut phone = Sub::start(addr, "mqttv5", &["-t", &format!("phone/{phone_id}/#")]).await;

    mosquitto_pub(addr, "mqttv5", &["-t", "tag/a", "-m", "before"]).await;
    assert_eq!(tags.next().await, "tag/a [version:1] before");
    publish(
        addr,
        "rental/bind",
        &format!(r#"{{"phone_id":"{phone_id}","device_id":"{dev}"}}"#),
    )
    .await;
    assert!(phone.next().await.contains(r#""result":"bound""#));

    // Deploy v2 and reload, with both subscribers connected.
    std::fs::copy(guest_path("tagger-v2"), &tagger).unwrap();
    let reloaded = broker.reload_functions().await.expect("reload");
    assert_eq!(reloaded, 2);
    mosquitto_pub(addr, "mqttv5", &["-t", "tag/a", "-m", "after"]).await;
    assert_eq!(tags.next().await, "tag/a [version:2] after");
    // The rental function's state (the binding) survived the reload.
    publish(addr, &format!("device/{dev}/status"), "on").await;
    assert_eq!(phone.next().await, format!("phone/{phone_id}/device-status on"));

    // A broken module is refused and the running version stays.
    std::fs::write(&tagger, b"not wasm").unwrap();
    assert!(broker.reload_functions().await.is_err());
    mosquitto_pub(addr, "mqttv5", &["-t", "tag/a", "-m", "still"]).await;
    assert_eq!(tags.next().await, "tag/a [version:2] still");

    tags.stop().await;
    phone.stop().await;
    broker.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
}
