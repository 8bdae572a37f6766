//! The task that owns one MQTT session for its whole life: while a client is connected it drives the
//! connection; while it is away it keeps queueing deliveries and runs the will-delay and expiry timers.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use futures_util::{SinkExt, StreamExt};
use hpmq_host::Direction;
use mqtt_codec::{ByteStr, Connect, MqttCodec, Packet, QoS, ReasonCode, RetainHandling};
use mqtt_router::Deliveries;
use mqtt_session::{Accept, Event, Message, ServerSession, SessionSnapshot};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};
use tokio_util::codec::Framed;

use super::auth::{Action, ClientInfo};
use super::sys::Stats;
use super::{ClientRef, SessionHandle, Shared, lock};

/// What the registry can tell a session task.
pub(crate) enum Control {
    /// A new connection for this client id (takeover when one is connected, resume otherwise).
    Attach(Box<Attach>),
    /// The broker is stopping, first step: close the connection with DISCONNECT 0x8B (its will is routed as
    /// for any server-side close), refuse new connections, then answer. The session keeps taking deliveries,
    /// so wills routed by the other sessions in this step reach it.
    Close(oneshot::Sender<()>),
    /// The broker is stopping, last step (every session has closed): take in what was routed here, save the
    /// session if it outlives its connection, and stop.
    Stop,
}

/// A connection whose CONNECT has been read and authenticated.
pub(crate) struct Attach {
    pub framed: Framed<TcpStream, MqttCodec>,
    pub connect: Box<Connect>,
    pub client: ClientInfo,
    /// The identifier the broker assigned (the client sent an empty one).
    pub assigned: Option<ByteStr>,
    pub guard: ConnectionGuard,
}

/// Counts an open connection towards `[limits] max_connections` until dropped.
pub(crate) struct ConnectionGuard(Arc<Shared>);

impl ConnectionGuard {
    /// Counts a new connection; `None` when the cap is reached.
    pub fn acquire(shared: &Arc<Shared>) -> Option<Self> {
        let max = shared.config.limits.max_connections as u64;
        let counter = &shared.connections;
        let previous = counter.fetch_add(1, std::sync::atomic::Ordering::AcqRel);
        if previous >= max {
            counter.fetch_sub(1, std::sync::atomic::Ordering::AcqRel);
            return None;
        }
        Some(ConnectionGuard(Arc::clone(shared)))
    }
}

impl Drop for ConnectionGuard {
    fn drop(&mut self) {
        self.0.connections.fetch_sub(1, std::sync::atomic::Ordering::AcqRel);
    }
}

/// Routes messages: retained store, router match, one bounded send per receiving session. Owns the
/// reusable [`Deliveries`] buffer.
#[derive(Default)]
pub(crate) struct Routing {
    deliveries: Deliveries<ClientRef>,
}

impl Routing {
    /// Stores a retained message and sends a copy to each matching session; returns how many were sent.
    pub fn route(
        &mut self,
        shared: &Shared,
        now: Instant,
        mut message: Message,
        publisher: Option<&ClientRef>,
    ) -> usize {
        if message.is_expired(now) {
            return 0;
        }
        // Aliases belong to one connection and identifiers to one subscription; neither travels.
        message.properties.topic_alias = None;
        message.properties.subscription_identifiers.clear();
        if message.retain {
            let mut retained = shared
                .retained
                .write()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if message.payload.is_empty() {
                retained.clear(&message.topic); // [MQTT-3.3.1-6]
            } else if let Err(error) = retained.set(message.topic.clone(), message.clone(), message.expires_at) {
                tracing::debug!(%error, topic = message.topic.as_str(), "retained message refused");
            }
        }
        shared
            .router
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .deliveries(&message.topic, publisher, &mut self.deliveries);
        let mut sent = 0;
        for d in self.deliveries.iter() {
            let mut copy = message.clone();
            copy.qos = message.qos.min(d.qos); // [MQTT-3.8.4-8]
            copy.retain = message.retain && d.retain_as_published; // [MQTT-3.3.1-12] [MQTT-3.3.1-13]
            copy.properties.subscription_identifiers = d.subscription_ids.to_vec();
            match d.client.tx.try_send(copy) {
                Ok(()) => sent += 1,
                Err(mpsc::error::TrySendError::Full(_)) => {
                    Stats::add(&shared.stats.messages_dropped, 1);
                    tracing::debug!(topic = message.topic.as_str(), "subscriber queue full; message dropped");
                }
                Err(mpsc::error::TrySendError::Closed(_)) => {}
            }
        }
        sent
    }
}

/// Starts a session task and registers it under `client_id`; the caller holds the registry lock.
pub(crate) fn spawn(
    shared: &Arc<Shared>,
    registry: &mut HashMap<Arc<str>, SessionHandle>,
    client_id: Arc<str>,
    session: ServerSession,
    first: Option<Box<Attach>>,
) {
    let key = shared.next_key();
    let (control_tx, control_rx) = mpsc::unbounded_channel();
    let (tx, rx) = mpsc::channel(shared.config.limits.max_queued_messages.max(1));
    registry.insert(
        Arc::clone(&client_id),
        SessionHandle {
            key,
            control: control_tx,
        },
    );
    let task = SessionTask {
        shared: Arc::clone(shared),
        me: ClientRef { key, tx },
        info: ClientInfo {
            client_id: client_id.to_string(),
            username: None,
            peer_addr: None,
            protocol_version: 5,
        },
        client_id,
        session,
        conn: None,
        assigned: None,
        routing: Routing::default(),
        counted: false,
        close_conn: false,
    };
    shared.tasks.spawn(task.run(control_rx, rx, first));
}

/// Restores sessions saved by an earlier shutdown, disconnected, with their subscriptions routed.
pub(crate) fn resume_stored(shared: &Arc<Shared>, saved: Vec<SessionSnapshot>) {
    let now = Instant::now();
    let mut registry = lock(&shared.sessions);
    for snapshot in saved {
        let client_id: Arc<str> = Arc::from(snapshot.client_id.as_str());
        match ServerSession::restore(shared.server_config.clone(), snapshot, now) {
            Ok(session) => spawn(shared, &mut registry, client_id, session, None),
            Err(error) => tracing::warn!(%error, client_id = &*client_id, "stored session not restored"),
        }
    }
}

/// A frame read from the connection.
enum Frame {
    Packet(Packet),
    Error(mqtt_codec::Error),
    Eof,
}

async fn read(conn: &mut Option<Framed<TcpStream, MqttCodec>>) -> Frame {
    match conn {
        Some(framed) => match framed.next().await {
            Some(Ok(packet)) => Frame::Packet(packet),
            Some(Err(e)) => Frame::Error(e),
            None => Frame::Eof,
        },
        None => std::future::pending().await,
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at.into()).await,
        None => std::future::pending().await,
    }
}

struct SessionTask {
    shared: Arc<Shared>,
    me: ClientRef,
    client_id: Arc<str>,
    /// Who the session belongs to, from its latest CONNECT (the context for functions and the ACL).
    info: ClientInfo,
    session: ServerSession,
    conn: Option<Framed<TcpStream, MqttCodec>>,
    /// The client id the broker assigned to the pending CONNECT, for its CONNACK.
    assigned: Option<ByteStr>,
    routing: Routing,
    /// Whether this session counts in `clients_connected`.
    counted: bool,
    /// The session reported `Closed`: drop the socket once pending packets are written.
    close_conn: bool,
}

impl SessionTask {
    async fn run(
        mut self,
        mut control: mpsc::UnboundedReceiver<Control>,
        mut inbox: mpsc::Receiver<Message>,
        first: Option<Box<Attach>>,
    ) {
        let mut guard = None;
        // A connection that needs a new session: it goes to a new task once this one has unregistered.
        let mut handoff = None;
        self.sync_router();
        if let Some(attach) = first {
            match self.attach(*attach).await {
                Ok(g) => guard = Some(g),
                Err(attach) => handoff = Some(attach),
            }
        }
        let mut shutting_down = false;
        while handoff.is_none() && !self.session.is_ended() {
            let deadline = self.session.poll_timeout();
            tokio::select! {
                biased;
                command = control.recv() => match command {
                    Some(Control::Attach(attach)) if shutting_down => {
                        let peer = attach.client.peer_addr;
                        tracing::debug!(client_id = &*self.client_id, ?peer, "broker stopping; connection closed");
                    }
                    Some(Control::Attach(attach)) => match self.attach(*attach).await {
                        Ok(g) => guard = Some(g),
                        Err(attach) => handoff = Some(attach),
                    },
                    Some(Control::Close(done)) => {
                        shutting_down = true;
                        self.close_for_shutdown().await;
                        let _ = done.send(());
                    }
                    Some(Control::Stop) | None => {
                        shutting_down = true;
                        self.close_for_shutdown().await;
                        self.save(&mut inbox).await;
                        break;
                    }
                },
                frame = read(&mut self.conn) => self.on_frame(frame),
                Some(message) = inbox.recv() => self.deliver(message).await,
                () = sleep_until(deadline) => self.session.handle_timeout(Instant::now()),
            }
            self.drive().await;
            if self.conn.is_none() {
                guard = None;
            }
        }
        drop(guard);
        self.finish(control, shutting_down, handoff);
    }

    /// Takes over (or resumes) the session with a new connection and feeds its CONNECT. Gives the connection
    /// back when it needs a new session: its CONNECT asks for Clean Start, which discards this one
    /// [MQTT-3.1.2-4], or this session ended when the taken-over connection closed (Session Expiry Interval 0).
    /// A new session is a new task with its own router key and queue, so nothing routed to this session's
    /// subscriptions can reach it.
    async fn attach(&mut self, attach: Attach) -> Result<ConnectionGuard, Box<Attach>> {
        let now = Instant::now();
        if self.conn.is_some() || self.session.is_connected() {
            // DISCONNECT 0x8E to the old connection and close it [MQTT-3.1.4-3]; its will follows the rules of
            // any close without a normal DISCONNECT (published now, or held for its delay) [MQTT-3.1.2-8].
            self.session.take_over(now);
            self.drive().await;
            self.conn = None;
        }
        // A session that never accepted a CONNECT has no client id and nothing to discard.
        let used = !self.session.client_id().is_empty();
        if (attach.connect.clean_start && used) || self.session.is_ended() {
            // Ending the session publishes a will still held for its delay [MQTT-3.1.2-8].
            self.session.discard(now);
            self.drive().await;
            return Err(Box::new(attach));
        }
        let Attach {
            framed,
            connect,
            client,
            assigned,
            guard,
        } = attach;
        self.info = client;
        self.assigned = assigned;
        self.conn = Some(framed);
        if let Err(error) = self.session.handle_packet(now, Packet::Connect(connect)) {
            tracing::debug!(%error, client_id = &*self.client_id, "CONNECT refused");
        }
        self.drive().await;
        Ok(guard)
    }

    fn on_frame(&mut self, frame: Frame) {
        let now = Instant::now();
        match frame {
            Frame::Packet(packet) => {
                let size = packet.encoded_len(self.session.protocol_version());
                Stats::add(&self.shared.stats.bytes_received, size as u64);
                if let Err(error) = self.session.handle_packet(now, packet) {
                    tracing::debug!(%error, client_id = &*self.client_id, "protocol error; connection closed");
                }
            }
            Frame::Error(mqtt_codec::Error::Io { .. }) | Frame::Eof => self.session.connection_lost(now),
            Frame::Error(error) => {
                tracing::debug!(%error, client_id = &*self.client_id, "malformed packet; connection closed");
                self.session.handle_decode_error(now, &error);
            }
        }
    }

    /// A message the router sent this session: downstream functions, then the session's queue.
    async fn deliver(&mut self, message: Message) {
        let messages = match &self.shared.functions {
            Some(f) => f.process(Direction::Downstream, message, &self.info).await,
            None => vec![message],
        };
        let now = Instant::now();
        for m in messages {
            self.session.publish(now, m);
        }
    }

    /// Handles events and writes packets until the session has nothing more to say.
    async fn drive(&mut self) {
        loop {
            let mut progressed = false;
            while let Some(event) = self.session.poll_event() {
                progressed = true;
                self.on_event(event).await;
            }
            if !self.write_out().await {
                self.conn = None;
                self.session.connection_lost(Instant::now());
                progressed = true;
            }
            if !progressed {
                break;
            }
        }
        if self.close_conn {
            self.close_conn = false;
            self.conn = None;
        }
    }

    /// Writes every pending packet; false when the connection failed or stalled past the write timeout.
    async fn write_out(&mut self) -> bool {
        let Some(framed) = self.conn.as_mut() else {
            while self.session.poll_transmit().is_some() {}
            return true;
        };
        let session = &mut self.session;
        let stats = &self.shared.stats;
        let timeout = std::time::Duration::from_millis(self.shared.config.limits.write_timeout_ms.max(1));
        let version = session.protocol_version();
        let write = async {
            let mut any = false;
            while let Some(packet) = session.poll_transmit() {
                any = true;
                if let Packet::Publish(_) = &packet {
                    Stats::add(&stats.messages_sent, 1);
                }
                Stats::add(&stats.bytes_sent, packet.encoded_len(version) as u64);
                framed.feed(packet).await?;
            }
            if any {
                SinkExt::<Packet>::flush(framed).await?;
            }
            Ok::<(), mqtt_codec::Error>(())
        };
        match tokio::time::timeout(timeout, write).await {
            Ok(Ok(())) => true,
            Ok(Err(error)) => {
                tracing::debug!(%error, client_id = &*self.client_id, "write failed");
                false
            }
            Err(_) => {
                tracing::info!(
                    client_id = &*self.client_id,
                    "client stopped reading; connection dropped"
                );
                false
            }
        }
    }

    /// The ACL (or custom [`super::Authorizer`]) first, then the authorize hook if one is configured. `Err`
    /// carries the reason code to answer with: the ACL's own denials are 0x87 for a publish and 0x80 for a
    /// subscribe; the hook's carry the code the function chose.
    async fn allowed(&self, action: Action, topic: &str, qos: QoS, retain: bool) -> Result<(), ReasonCode> {
        if !self.shared.authorizer.authorize(&self.info, action, topic) {
            return Err(match action {
                Action::Publish => ReasonCode::NotAuthorized,
                Action::Subscribe => ReasonCode::UnspecifiedError, // 0x80, also the 3.1.1 failure code
            });
        }
        match &self.shared.authorize_hook {
            Some(hook) => hook.check(&self.info, action, topic, qos, retain).await,
            None => Ok(()),
        }
    }

    async fn on_event(&mut self, event: Event) {
        let now = Instant::now();
        match event {
            Event::Connect(connect) => {
                if let (Some(framed), Some(max)) = (self.conn.as_mut(), connect.properties.maximum_packet_size) {
                    framed.codec_mut().set_peer_max_packet_size(max.get() as usize);
                }
                let accept = Accept {
                    assigned_client_id: self.assigned.take(),
                    ..Accept::default()
                };
                if let Err(error) = self.session.accept(now, accept) {
                    tracing::warn!(%error, client_id = &*self.client_id, "accept failed");
                    return;
                }
                if !self.counted {
                    self.counted = true;
                    Stats::add(&self.shared.stats.clients_connected, 1);
                }
                tracing::debug!(client_id = &*self.client_id, peer = ?self.info.peer_addr, "client connected");
                // A clean start emptied the session's subscriptions; a resumed one keeps them.
                self.sync_router();
            }
            Event::Publish { message, ack } => {
                Stats::add(&self.shared.stats.messages_received, 1);
                let verdict = self
                    .allowed(Action::Publish, message.topic.as_str(), message.qos, message.retain)
                    .await;
                if let Err(code) = verdict {
                    Stats::add(&self.shared.stats.messages_dropped, 1);
                    tracing::debug!(
                        client_id = &*self.client_id,
                        topic = message.topic.as_str(),
                        reason = ?code,
                        "publish denied"
                    );
                    if let Some(ack) = ack {
                        self.session.acknowledge(ack, code);
                    }
                    return;
                }
                self.publish_upstream(now, message).await;
                if let Some(ack) = ack {
                    self.session.acknowledge(ack, ReasonCode::Success);
                }
            }
            Event::Will(message) => {
                let verdict = self
                    .allowed(Action::Publish, message.topic.as_str(), message.qos, message.retain)
                    .await;
                if verdict.is_ok() {
                    self.publish_upstream(now, message).await;
                }
            }
            Event::Subscribe(request) => self.subscribe(now, request).await,
            Event::Unsubscribe { filters } => {
                let mut router = self
                    .shared
                    .router
                    .write()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                for filter in &filters {
                    router.unsubscribe(&self.me, filter);
                }
            }
            Event::Dropped { message, reason } => {
                Stats::add(&self.shared.stats.messages_dropped, 1);
                tracing::debug!(
                    client_id = &*self.client_id,
                    topic = message.topic.as_str(),
                    ?reason,
                    "message dropped"
                );
            }
            Event::Closed(reason) => {
                if self.counted {
                    self.counted = false;
                    self.shared
                        .stats
                        .clients_connected
                        .fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
                }
                tracing::debug!(client_id = &*self.client_id, ?reason, "connection closed");
                self.close_conn = true;
            }
            Event::SessionEnded => {
                tracing::debug!(client_id = &*self.client_id, "session ended");
            }
        }
    }

    async fn publish_upstream(&mut self, now: Instant, message: Message) {
        let messages = match &self.shared.functions {
            Some(f) => f.process(Direction::Upstream, message, &self.info).await,
            None => vec![message],
        };
        for m in messages {
            self.routing.route(&self.shared, now, m, Some(&self.me));
        }
    }

    async fn subscribe(&mut self, now: Instant, request: mqtt_session::SubscribeRequest) {
        let maximum_qos = self.shared.server_config.maximum_qos;
        let mut reasons = Vec::with_capacity(request.filters.len());
        let mut retained = Vec::new();
        for wanted in &request.filters {
            let verdict = self
                .allowed(Action::Subscribe, wanted.filter.as_str(), wanted.options.qos, false)
                .await;
            if let Err(code) = verdict {
                tracing::debug!(
                    client_id = &*self.client_id,
                    filter = wanted.filter.as_str(),
                    reason = ?code,
                    "subscribe denied"
                );
                reasons.push(code); // a 3.1.1 SUBACK carries every failure as 0x80
                continue;
            }
            let mut options = wanted.options;
            options.qos = options.qos.min(maximum_qos);
            let result = self
                .shared
                .router
                .write()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .subscribe(self.me.clone(), &wanted.filter, options, request.subscription_id);
            if let Err(error) = result {
                reasons.push(error.reason_code());
                continue;
            }
            reasons.push(match options.qos {
                QoS::AtMostOnce => ReasonCode::GRANTED_QOS0,
                QoS::AtLeastOnce => ReasonCode::GrantedQoS1,
                QoS::ExactlyOnce => ReasonCode::GrantedQoS2,
            });
            // Retained messages: never for shared subscriptions, else per Retain Handling
            // [MQTT-3.3.1-9] [MQTT-3.3.1-10] [MQTT-3.3.1-11].
            let send = !wanted.filter.is_shared()
                && match options.retain_handling {
                    RetainHandling::SendAtSubscribe => true,
                    RetainHandling::SendIfNew => !wanted.existed,
                    RetainHandling::DoNotSend => false,
                };
            if send {
                let store = self
                    .shared
                    .retained
                    .read()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                store.for_each_match(&wanted.filter, now, |r| {
                    let mut m = r.message.clone();
                    m.qos = m.qos.min(options.qos);
                    m.retain = true;
                    m.properties.subscription_identifiers = request.subscription_id.into_iter().collect();
                    retained.push(m);
                });
            }
        }
        if let Err(error) = self.session.acknowledge_subscribe(request.packet_id, reasons) {
            tracing::debug!(%error, client_id = &*self.client_id, "SUBACK refused");
        }
        for m in retained {
            self.deliver(m).await;
        }
    }

    /// Makes the router hold exactly the session's subscriptions.
    fn sync_router(&self) {
        let mut router = self
            .shared
            .router
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        router.remove_client(&self.me);
        for s in self.session.subscriptions() {
            if let Err(error) = router.subscribe(self.me.clone(), &s.filter, s.options, s.id) {
                tracing::warn!(%error, client_id = &*self.client_id, filter = s.filter.as_str(), "subscription not restored");
            }
        }
    }

    /// Graceful stop, first step: DISCONNECT 0x8B; the will is handled as for any close that is not a normal
    /// DISCONNECT [MQTT-3.1.2-8] (published now, or held for its delay, which the saved session keeps).
    async fn close_for_shutdown(&mut self) {
        if self.session.is_connected() {
            self.session.close(Instant::now(), ReasonCode::ServerShuttingDown);
        }
        self.drive().await;
        self.conn = None;
    }

    /// Graceful stop, last step: queues what the router sent (the other sessions' wills among it) and saves the
    /// session when it outlives its connection.
    async fn save(&mut self, inbox: &mut mpsc::Receiver<Message>) {
        inbox.close();
        while let Ok(message) = inbox.try_recv() {
            self.deliver(message).await;
        }
        self.drive().await;
        if !self.session.is_ended() && self.session.session_expiry_interval() > 0 {
            lock(&self.shared.store).push(self.session.snapshot());
        }
    }

    /// Unregisters the session and hands `handoff` and connections that raced with its end to a fresh session.
    fn finish(self, mut control: mpsc::UnboundedReceiver<Control>, shutting_down: bool, handoff: Option<Box<Attach>>) {
        let mut registry = lock(&self.shared.sessions);
        if registry.get(&self.client_id).is_some_and(|h| h.key == self.me.key) {
            registry.remove(&self.client_id);
        }
        self.shared
            .router
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove_client(&self.me);
        control.close();
        if let Some(attach) = handoff {
            super::connection::attach_to(&self.shared, &mut registry, Arc::clone(&self.client_id), attach);
        }
        while let Ok(command) = control.try_recv() {
            if let (Control::Attach(attach), false) = (command, shutting_down) {
                super::connection::attach_to(&self.shared, &mut registry, Arc::clone(&self.client_id), attach);
            }
        }
    }
}
