//! rumqttc v5 client steps shared by the broker's integration tests, each bounded by [`WAIT`].

use rumqttc::v5::mqttbytes::QoS;
use rumqttc::v5::mqttbytes::v5::{ConnAck, LastWill, LastWillProperties, Packet, Publish};
use rumqttc::v5::{AsyncClient, Event, EventLoop, MqttOptions};

use super::WAIT;

/// Connects with `o` and returns the client, its event loop and the CONNACK.
pub async fn connect(o: MqttOptions) -> (AsyncClient, EventLoop, ConnAck) {
    let (client, mut el) = AsyncClient::new(o, 100);
    let ack = until(&mut el, |p| match p {
        Packet::ConnAck(a) => Some(a.clone()),
        _ => None,
    })
    .await;
    (client, el, ack)
}

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

/// The next PUBLISH the client receives.
pub async fn next_publish(el: &mut EventLoop) -> Publish {
    until(el, |p| match p {
        Packet::Publish(p) => Some(p.clone()),
        _ => None,
    })
    .await
}

/// A QoS 1, non-retained will on `topic` with a Will Delay Interval of `delay` seconds.
pub fn delayed_will(topic: &str, payload: &'static str, delay: u32) -> LastWill {
    let props = LastWillProperties {
        delay_interval: Some(delay),
        payload_format_indicator: None,
        message_expiry_interval: None,
        content_type: None,
        response_topic: None,
        correlation_data: None,
        user_properties: vec![],
    };
    LastWill::new(topic, payload, QoS::AtLeastOnce, false, Some(props))
}
