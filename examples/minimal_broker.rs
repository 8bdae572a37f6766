//! A small but real MQTT 3.1.1 / 5.0 broker, composed from the hpmq libraries:
//!
//! * `mqtt_codec::MqttCodec` frames the packets of each TCP stream (tokio-util `Framed`);
//! * a `mqtt_session::ServerSession` per connection does the protocol: CONNACK, QoS 1/2 handshakes, keep
//!   alive, wills, packet ids, topic aliases. It does no I/O: packets and the time go in; packets to write,
//!   events for the broker and its next deadline come out;
//! * a shared `mqtt_router::Router` matches topics to subscribers, and a `RetainedStore` keeps the last
//!   retained message of each topic.
//!
//! Each connection is a tokio task. The router's client id is a handle to that task (a number and the task's
//! mailbox), so routing a message is a match in the router plus one channel send per subscriber.
//!
//! Left out to stay small (`hpmq-broker` has them): authentication, persistence, and sessions that outlive
//! their connection: every session ends with its connection (v5 clients are told Session Expiry Interval 0).
//!
//! Run: `cargo run -p hpmq-examples --example minimal_broker -- --listen 127.0.0.1:1883`, then
//! `mosquitto_sub -t 'demo/#' -v` and `mosquitto_pub -t demo/hello -m hi -q 2`.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use mqtt_codec::{ByteStr, MqttCodec, Outgoing, Packet, QoS, ReasonCode};
use mqtt_router::{Deliveries, Granted, Origin, RetainedStore, Router, sends_retained, shape};
use mqtt_session::{Accept, Event, Message, ServerConfig, ServerSession, SubscribeRequest};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, mpsc};
use tokio_util::codec::Framed;

/// Routed messages a connection's mailbox holds before more are dropped (the session queues its own).
const MAILBOX: usize = 1024;
/// How long a new connection may take to send CONNECT.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// One connection's handle, as the router and the client-id table hold it: a number unique to the connection
/// (two connections with one client id, as in a takeover, are two clients), the mailbox of its task for
/// messages routed to it, and a bell that tells it a newer connection took its client id over.
struct Client {
    n: u64,
    tx: mpsc::Sender<Outgoing>,
    kick: Notify,
}

// The router wants `Clone + Eq + Hash` client ids: an `Arc<Client>` compared by its number.
impl PartialEq for Client {
    fn eq(&self, other: &Self) -> bool {
        self.n == other.n
    }
}
impl Eq for Client {}
impl Hash for Client {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.n.hash(state);
    }
}

/// What all connections share. The locks are never held across an `.await`.
struct Broker {
    config: Arc<ServerConfig>,
    /// Matched under the read lock by every publisher, changed under the write lock.
    router: RwLock<Router<Arc<Client>>>,
    /// Whole messages (payload, QoS, properties), keyed by topic.
    retained: RwLock<RetainedStore<Message>>,
    /// The connection of each connected client id, to find the one a new connection takes over from.
    clients: Mutex<HashMap<Arc<str>, Arc<Client>>>,
    next: AtomicU64,
}

// A lock poisoned by a panic in one connection task is used as it is by the others.
fn read<T>(lock: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(PoisonError::into_inner)
}
fn write<T>(lock: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(PoisonError::into_inner)
}
fn lock<T>(lock: &Mutex<T>) -> MutexGuard<'_, T> {
    lock.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Broker {
    /// Routes an application message (a PUBLISH or a will): retained store first, then one copy per matching
    /// client, shaped by that client's subscriptions.
    fn route(&self, message: Message, publisher: &Arc<Client>, out: &mut Deliveries<Arc<Client>>) {
        // The retain rule (keep, replace, or clear on an empty payload) is the store's [MQTT-3.3.1-5..8].
        // (A topic deeper than the store's limit is not kept.)
        let _ = write(&self.retained).retain_message(message.clone());
        let router = read(&self.router);
        router.deliveries(&message.topic, Some(publisher), out); // No Local needs the publisher
        for d in out.iter() {
            // QoS, retain flag and subscription ids as this subscription asked [MQTT-3.8.4-8, MQTT-3.3.1-12].
            // The copy is cheap: topic and payload are shared `Bytes`.
            let copy = shape(&message, Granted::from(&d), Origin::Routed).apply(message.clone());
            let _ = d.client.tx.try_send(copy); // a full mailbox drops the copy: publishers never wait
        }
    }
}

/// Accepts connections on `listener` forever, one task per connection.
pub async fn serve(listener: TcpListener) {
    let broker = Arc::new(Broker {
        // Sessions end with their connection (see the top of the file).
        config: Arc::new(ServerConfig {
            max_session_expiry_interval: 0,
            ..ServerConfig::default()
        }),
        router: RwLock::new(Router::new()),
        retained: RwLock::new(RetainedStore::new()),
        clients: Mutex::new(HashMap::new()),
        next: AtomicU64::new(1),
    });
    loop {
        match listener.accept().await {
            Ok((stream, _)) => drop(tokio::spawn(connection(Arc::clone(&broker), stream))),
            Err(error) => {
                eprintln!("accept failed: {error}"); // out of file descriptors, say: back off
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

/// One connection's state, beside its socket.
struct Connection {
    broker: Arc<Broker>,
    me: Arc<Client>,
    session: ServerSession,
    /// Reused for every message this connection publishes: routing allocates nothing once it has grown.
    deliveries: Deliveries<Arc<Client>>,
}

/// Serves one connection. Whatever happens (a packet, a routed message, a takeover, a deadline) goes into
/// the session; then `flush` acts on the session's events and writes its packets.
async fn connection(broker: Arc<Broker>, stream: TcpStream) {
    let (tx, mut mailbox) = mpsc::channel(MAILBOX);
    let me = Arc::new(Client {
        n: broker.next.fetch_add(1, Ordering::Relaxed),
        tx,
        kick: Notify::new(),
    });
    let session = ServerSession::new(Arc::clone(&broker.config));
    let mut conn = Connection {
        broker,
        me,
        session,
        deliveries: Deliveries::new(),
    };
    let mut framed = Framed::new(stream, MqttCodec::server());

    // Before CONNECT the session has no deadline of its own, so the first read has one.
    match tokio::time::timeout(CONNECT_TIMEOUT, framed.next()).await {
        Ok(Some(Ok(packet))) => drop(conn.session.handle_packet(Instant::now(), packet)),
        Ok(Some(Err(error))) => conn.session.handle_decode_error(Instant::now(), &error),
        Ok(None) | Err(_) => return,
    }
    while conn.flush(&mut framed).await {
        let deadline = conn.session.poll_timeout(); // keep alive: 1.5 times the client's interval
        tokio::select! {
            packet = framed.next() => match packet {
                // Errors close the connection inside the session (DISCONNECT, then `Event::Closed`).
                Some(Ok(packet)) => drop(conn.session.handle_packet(Instant::now(), packet)),
                Some(Err(error)) => conn.session.handle_decode_error(Instant::now(), &error),
                None => conn.session.connection_lost(Instant::now()), // no DISCONNECT: the will is due
            },
            Some(message) = mailbox.recv() => conn.session.publish(Instant::now(), message),
            () = conn.me.kick.notified() => conn.session.take_over(Instant::now()),
            () = sleep_until(deadline) => conn.session.handle_timeout(Instant::now()),
        }
    }

    // The connection is over, and its session with it: forget its subscriptions and its client id.
    write(&conn.broker.router).remove_client(&conn.me);
    let mut clients = lock(&conn.broker.clients);
    if clients.get(conn.session.client_id()).is_some_and(|c| c.n == conn.me.n) {
        clients.remove(conn.session.client_id());
    }
}

/// Sleeps until `deadline`, or forever without one.
async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at.into()).await,
        None => std::future::pending().await,
    }
}

impl Connection {
    /// Acts on the session's events, then writes its packets. False once the connection is closed.
    async fn flush(&mut self, framed: &mut Framed<TcpStream, MqttCodec>) -> bool {
        let open = self.handle_events();
        let mut written = Ok(());
        while let Some(packet) = self.session.poll_transmit() {
            written = written.and(framed.feed(packet).await);
        }
        if written.and(SinkExt::<Packet>::flush(framed).await).is_err() && open {
            self.session.connection_lost(Instant::now()); // the socket broke: the will is due
            self.handle_events();
            return false;
        }
        open
    }

    /// Acts on every event the session has; false if one of them closed the connection.
    fn handle_events(&mut self) -> bool {
        let mut open = true;
        while let Some(event) = self.session.poll_event() {
            let now = Instant::now();
            match event {
                Event::Connect(connect) => {
                    // Authentication would go here. An empty client id gets one assigned [MQTT-3.1.3-6].
                    let mut accept = Accept::default();
                    if connect.client_id.is_empty() {
                        accept.assigned_client_id = ByteStr::try_from(format!("minimal-{}", self.me.n)).ok();
                    }
                    let id = accept.assigned_client_id.as_ref().unwrap_or(&connect.client_id);
                    let old = lock(&self.broker.clients).insert(Arc::from(id.as_str()), Arc::clone(&self.me));
                    if let Some(old) = old {
                        old.kick.notify_one(); // its task sends DISCONNECT 0x8E and ends [MQTT-3.1.4-3]
                    }
                    let _ = self.session.accept(now, accept); // CONNACK
                }
                Event::Publish { message, ack } => {
                    self.broker.route(message, &self.me, &mut self.deliveries);
                    if let Some(ack) = ack {
                        self.session.acknowledge(ack, ReasonCode::Success); // routed: PUBACK or PUBREC
                    }
                }
                Event::Will(message) => self.broker.route(message, &self.me, &mut self.deliveries),
                Event::Subscribe(request) => self.subscribe(now, request),
                Event::Unsubscribe { filters } => {
                    let mut router = write(&self.broker.router);
                    for filter in &filters {
                        router.unsubscribe(&self.me, filter);
                    }
                }
                Event::Closed(_) => open = false,
                // Messages the session could not deliver (expired, queue full): a real broker counts them.
                Event::Dropped { .. } | Event::SessionEnded => {}
            }
        }
        open
    }

    /// Adds the subscriptions to the router, answers SUBACK, then sends the matching retained messages.
    fn subscribe(&mut self, now: Instant, request: SubscribeRequest) {
        let (id, mut reasons, mut retained) = (request.subscription_id, Vec::new(), Vec::new());
        for wanted in &request.filters {
            let mut router = write(&self.broker.router);
            if let Err(error) = router.subscribe(Arc::clone(&self.me), &wanted.filter, wanted.options, id) {
                reasons.push(error.reason_code());
                continue;
            }
            drop(router);
            reasons.push(match wanted.options.qos {
                QoS::AtMostOnce => ReasonCode::GRANTED_QOS0,
                QoS::AtLeastOnce => ReasonCode::GrantedQoS1,
                QoS::ExactlyOnce => ReasonCode::GrantedQoS2,
            });
            // Retained messages per Retain Handling, and never for a shared subscription [MQTT-3.3.1-9..11].
            if sends_retained(&wanted.filter, wanted.options.retain_handling, wanted.existed) {
                let ids: Vec<_> = id.into_iter().collect();
                let store = read(&self.broker.retained);
                store.for_each_match(&wanted.filter, now, |r| {
                    let granted = Granted::new(&wanted.options, &ids);
                    retained.push(shape(&r.message, granted, Origin::RetainedOnSubscribe).apply(r.message.clone()));
                });
            }
        }
        let _ = self.session.acknowledge_subscribe(request.packet_id, reasons);
        for m in retained {
            self.session.publish(now, m);
        }
    }
}

#[cfg_attr(test, allow(dead_code))] // the integration test includes this file and calls `serve` itself
#[tokio::main]
async fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let listen = match args.as_slice() {
        [] => "127.0.0.1:1883",
        [flag, addr] if flag == "--listen" => addr,
        _ => return Err(std::io::Error::other("usage: minimal_broker [--listen ADDR]")),
    };
    let listener = TcpListener::bind(listen).await?;
    println!("minimal_broker listening on {}", listener.local_addr()?);
    serve(listener).await;
    Ok(())
}
