//! rumqttc MQTT 3.1.1 client steps shared by the broker's integration tests, each bounded by [`WAIT`].

use rumqttc::{Event, EventLoop, Packet};

use super::WAIT;

/// Polls `el` until `pick` returns something; panics after [`WAIT`] or on a connection error. (rumqttc sends
/// only while its event loop is polled.)
pub async fn until<T>(el: &mut EventLoop, mut pick: impl FnMut(&Packet) -> Option<T>) -> T {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let ev = tokio::time::timeout_at(deadline, el.poll())
            .await
            .expect("timed out polling the client")
            .expect("connection error");
        if let Event::Incoming(p) = ev
            && let Some(t) = pick(&p)
        {
            return t;
        }
    }
}
