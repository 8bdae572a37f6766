//! `$SYS/broker/messages/...` counters that need a guest function (issue 16 item 13): a message a function
//! discards is counted in `messages/discarded`, not lost from the statistics, and not in `messages/dropped`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;
mod raw;

use common::{guest_path, start, unique};
use raw::Raw;

/// `functions::fan_out` (guests/functions) discards a message with an empty payload and splits any other.
fn fan_out_config() -> String {
    format!(
        "[[functions.modules]]\nname = \"functions\"\npath = \"{}\"\n\n\
         [[functions.bindings]]\ndirection = \"upstream\"\nfilter = \"split/#\"\nchain = [\"functions::fan_out\"]\n",
        guest_path("functions").display()
    )
}

/// Publishes at QoS 1 and waits for the PUBACK: the upstream functions have run by then.
async fn publish_acked(c: &mut Raw, topic: &str, id: u16, payload: &[u8]) {
    c.send(&raw::publish(5, topic, 1, id, &[], payload)).await;
    let ack = c.next().await.expect("closed before PUBACK");
    assert_eq!((ack.kind(), ack.ack_id()), (4, id), "PUBACK expected: {ack:02x?}");
}

fn sys_value(broker: &hpmq_broker::BrokerHandle, topic: &str) -> Option<String> {
    broker
        .stats()
        .topics()
        .into_iter()
        .find(|(t, _)| *t == topic)
        .map(|(_, v)| v)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_a_function_discards_is_counted_as_discarded() {
    let broker = start(&fan_out_config()).await;
    let (mut c, _) = Raw::connect(broker.local_addr(), &raw::connect(5, &unique("disc"), true, 30, &[])).await;
    let before = broker.stats();
    assert_eq!(before.messages_discarded, 0);

    publish_acked(&mut c, "split/a", 1, b"").await;
    let after = broker.stats();
    assert_eq!(
        after.messages_discarded, 1,
        "the empty payload was discarded by fan_out"
    );
    assert_eq!(
        after.messages_dropped, before.messages_dropped,
        "a discard is not a drop"
    );
    assert_eq!(
        sys_value(&broker, "$SYS/broker/messages/discarded").as_deref(),
        Some("1")
    );

    // A message the function keeps (here: splits in two) is not counted.
    publish_acked(&mut c, "split/b", 2, b"x,y").await;
    assert_eq!(broker.stats().messages_discarded, 1);
    // Nor is one no function is bound to.
    publish_acked(&mut c, "other/c", 3, b"").await;
    assert_eq!(broker.stats().messages_discarded, 1);
    broker.shutdown().await;
}
