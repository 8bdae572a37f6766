//! A session's mailbox: what other tasks send a session task (control commands from the registry, deliveries
//! from the router), in one small shared allocation that holds no queue storage until something is queued.
//!
//! It replaces a tokio unbounded channel (control) and a bounded one (deliveries): each of those allocates
//! its shared state and a first block of 32 slots when it is created, about 2.4 KiB per session together,
//! which every idle connection paid for nothing. Here an idle session costs the few words below; the queues
//! are made on the first message, a queue that grew in a burst is given back once it drains, and a session
//! that parks gives back its (empty) queues.
//!
//! A session task is woken through its registered waker. A parked session has no task: its mailbox holds
//! its parking-lot ticket instead, and the first command or delivery resumes it (no waker is allocated for
//! a parked session).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::task::Waker;

use futures_util::task::AtomicWaker;
use mqtt_codec::{ByteStr, Connect};
use mqtt_router::Shape;
use mqtt_session::{Message, Outgoing, SessionSnapshot};
use tokio::sync::oneshot;

use crate::auth::ClientInfo;
use crate::cap::ConnectionGuard;
use crate::framing::Conn;
use crate::park::{Lot, Ticket, Unpark};
use crate::sync::lock;

/// Queue capacity kept after a drain; a larger queue (a burst of deliveries) is given back once empty.
const KEEP_CAPACITY: usize = 64;

/// What the registry (and the broker, when it stops or saves) can tell a session task.
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
    /// The autosave wants the session's state: `None` when it does not outlive its connection.
    Snapshot(oneshot::Sender<Option<SessionSnapshot>>),
}

/// A connection whose CONNECT has been read and authenticated, on its way to the session of its client id.
pub(crate) struct Attach {
    pub framed: Conn,
    pub connect: Box<Connect>,
    pub client: ClientInfo,
    /// The identifier the broker assigned (the client sent an empty one).
    pub assigned: Option<ByteStr>,
    pub guard: ConnectionGuard,
}

/// One message on its way to one session: the message is shared by every receiving session (a session
/// takes it over without copying when it is the last one holding it); the options are this subscription's.
/// Small, so a session's bounded queue costs little memory before anything is queued.
#[derive(Debug)]
pub(crate) struct Delivery {
    message: Arc<Message>,
    shape: Shape,
}

impl Delivery {
    /// `message` as one subscription receives it, shaped by `mqtt_router::shape`.
    pub fn new(message: Arc<Message>, shape: Shape) -> Self {
        Delivery { message, shape }
    }

    /// The message as this session delivers it.
    pub fn into_outgoing(self) -> Outgoing {
        self.shape.apply(Arc::unwrap_or_clone(self.message))
    }
}

#[cfg(test)]
impl Delivery {
    /// A QoS 0 delivery of an empty message on `topic`.
    pub(crate) fn on(topic: &'static str) -> Self {
        Delivery {
            message: Arc::new(Message::new(
                mqtt_codec::TopicName::from_static(topic),
                bytes::Bytes::new(),
                mqtt_codec::QoS::AtMostOnce,
            )),
            shape: Shape {
                qos: mqtt_codec::QoS::AtMostOnce,
                retain: false,
                subscription_ids: Vec::new(),
            },
        }
    }

    pub(crate) fn topic(&self) -> &str {
        self.message.topic.as_str()
    }
}

/// Why a delivery was not queued; the delivery comes back.
#[derive(Debug)]
pub(crate) enum TrySendError<T> {
    /// The session's queue holds its capacity (`[limits] max_queued_messages`).
    Full(T),
    /// The session task has stopped taking deliveries.
    Closed(T),
}

/// What a sender needs besides the mailbox, the same for every mailbox of a broker: passed in by the sender
/// rather than kept in each mailbox, because an idle connection pays for every word of its mailbox. `P` is
/// what the parking lot holds (the session task's `Parked`): generic, so that the mailbox, which the session
/// task is built on, need not name it.
pub(crate) struct Post<'a, P> {
    /// Most deliveries a session has queued at once (`[limits] max_queued_messages`, at least one).
    pub capacity: usize,
    /// Where sessions wait when they park (`None`: the broker does not park sessions).
    pub lot: Option<&'a Lot<P>>,
}

impl<P> Clone for Post<'_, P> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<P> Copy for Post<'_, P> {}

/// The receiving end is a session task; every other task holds the same `Arc<Mailbox>` to send. 56 bytes,
/// so that with the `Arc` counts it fits an 80-byte malloc chunk. A new one (`Mailbox::default()`) is empty
/// and offline.
#[derive(Default)]
pub(crate) struct Mailbox {
    queues: Mutex<Queues>,
    /// The session task, woken when something arrives.
    waker: AtomicWaker,
}

#[derive(Default)]
struct Queues {
    /// Made on the first message; given back when the session parks.
    lists: Option<Box<Lists>>,
    control_closed: bool,
    deliveries_closed: bool,
    /// The session is parked under this ticket: the next command or delivery resumes it. (It may be stale,
    /// when something else resumed the session: resuming a stale ticket does nothing.)
    parked: Option<Ticket>,
    /// Whether the session has a connected client now; share groups prefer members that do. (Here, under
    /// the lock, it takes no room: the queues have a spare byte of padding.)
    online: bool,
}

#[derive(Default)]
struct Lists {
    control: VecDeque<Control>,
    deliveries: VecDeque<Delivery>,
}

impl Mailbox {
    /// Records whether the session has a connected client (set by the session task when it changes).
    pub fn set_online(&self, online: bool) {
        lock(&self.queues).online = online;
    }

    /// Whether the session had a connected client at its last step.
    pub fn is_online(&self) -> bool {
        lock(&self.queues).online
    }

    /// Queues a control command; gives it back when the session task no longer takes commands.
    pub fn send<P: Unpark>(&self, command: Control, post: Post<'_, P>) -> Result<(), Control> {
        let parked = {
            let mut q = lock(&self.queues);
            if q.control_closed {
                return Err(command);
            }
            q.lists.get_or_insert_default().control.push_back(command);
            q.parked.take()
        };
        self.notify(parked, post);
        Ok(())
    }

    /// Queues a delivery unless the queue holds `post.capacity` or is closed. Never waits: a publisher does
    /// not wait for a slow subscriber.
    pub fn try_send<P: Unpark>(&self, delivery: Delivery, post: Post<'_, P>) -> Result<(), TrySendError<Delivery>> {
        let parked = {
            let mut q = lock(&self.queues);
            if q.deliveries_closed {
                return Err(TrySendError::Closed(delivery));
            }
            let deliveries = &mut q.lists.get_or_insert_default().deliveries;
            if deliveries.len() >= post.capacity.max(1) {
                return Err(TrySendError::Full(delivery));
            }
            deliveries.push_back(delivery);
            q.parked.take()
        };
        self.notify(parked, post);
        Ok(())
    }

    /// Resumes the parked session, or wakes its task. (Both when the ticket is stale: a session resumed by
    /// something else has a task whose waker is registered.)
    fn notify<P: Unpark>(&self, parked: Option<Ticket>, post: Post<'_, P>) {
        if let (Some(ticket), Some(lot)) = (parked, post.lot)
            && lot.unpark(ticket)
        {
            return;
        }
        self.waker.wake();
    }

    /// Drops the registered waker: the session task is about to end by parking, and its waker would keep
    /// the task's memory alive while the session is parked. Called *before* the session is handed to the
    /// lot: once it is there it may be resumed at any moment, and the new task's waker must stay.
    pub fn unregister(&self) {
        drop(self.waker.take());
    }

    /// Records that the session is parked under `ticket` and gives back the empty queues. `false` (nothing
    /// recorded) when a command or delivery is already waiting: the session is resumed at once. Called by
    /// the parking lot under its lock (`Lot::park_then`), so no resume of the session can come between.
    pub fn park(&self, ticket: Ticket) -> bool {
        let mut q = lock(&self.queues);
        if q.lists
            .as_ref()
            .is_some_and(|l| !l.control.is_empty() || !l.deliveries.is_empty())
        {
            return false;
        }
        q.lists = None;
        q.parked = Some(ticket);
        true
    }

    /// Wakes the task behind `waker` on the next command or delivery. A task registers before it looks
    /// (`try_recv_*`), so nothing sent in between goes unnoticed.
    pub fn register(&self, waker: &Waker) {
        self.waker.register(waker);
    }

    /// The next delivery.
    pub fn try_recv_delivery(&self) -> Option<Delivery> {
        self.pop_delivery(&mut lock(&self.queues))
    }

    fn pop_delivery(&self, q: &mut Queues) -> Option<Delivery> {
        let deliveries = &mut q.lists.as_mut()?.deliveries;
        let delivery = deliveries.pop_front()?;
        if deliveries.is_empty() {
            release(deliveries);
        }
        Some(delivery)
    }

    /// Refuses further deliveries; those queued stay to be taken.
    pub fn close_deliveries(&self) {
        lock(&self.queues).deliveries_closed = true;
    }

    /// Refuses further commands; those queued stay to be taken.
    pub fn close_control(&self) {
        lock(&self.queues).control_closed = true;
    }

    /// The next command.
    pub fn try_recv_control(&self) -> Option<Control> {
        let mut q = lock(&self.queues);
        let control = &mut q.lists.as_mut()?.control;
        let command = control.pop_front()?;
        if control.is_empty() {
            release(control);
        }
        Some(command)
    }
}

impl std::fmt::Debug for Mailbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailbox").finish_non_exhaustive()
    }
}

/// Gives an emptied queue's storage back when a burst made it large.
fn release<T>(queue: &mut VecDeque<T>) {
    if queue.capacity() > KEEP_CAPACITY {
        *queue = VecDeque::new();
    }
}

/// For tests where nothing parks: a parking-lot item type that can hold no session.
#[cfg(test)]
pub(crate) enum NoSession {}

#[cfg(test)]
impl Unpark for NoSession {
    fn resume(self, _socket: Option<std::net::TcpStream>) {
        match self {}
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::task::Wake;

    use super::*;

    fn post(capacity: usize) -> Post<'static, NoSession> {
        Post { capacity, lot: None }
    }

    /// An idle connection pays for its mailbox: with the `Arc`'s two counts it stays within 72 bytes, an
    /// 80-byte malloc chunk.
    #[cfg(target_pointer_width = "64")]
    #[test]
    fn mailbox_fits_an_eighty_byte_chunk() {
        assert!(std::mem::size_of::<Mailbox>() <= 56);
    }

    #[test]
    fn online_is_recorded() {
        let m = Mailbox::default();
        assert!(!m.is_online());
        m.set_online(true);
        assert!(m.is_online());
        m.set_online(false);
        assert!(!m.is_online());
    }

    struct CountingWaker(AtomicUsize);

    impl Wake for CountingWaker {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }

    #[test]
    fn deliveries_are_bounded_and_come_back_when_full() {
        let m = Mailbox::default();
        assert!(m.try_send(Delivery::on("a"), post(2)).is_ok());
        assert!(m.try_send(Delivery::on("b"), post(2)).is_ok());
        match m.try_send(Delivery::on("c"), post(2)) {
            Err(TrySendError::Full(d)) => assert_eq!(d.topic(), "c"),
            other => panic!("expected Full, got {other:?}"),
        }
        assert_eq!(
            m.try_recv_delivery().map(|d| d.topic().to_owned()).as_deref(),
            Some("a")
        );
        assert!(m.try_send(Delivery::on("c"), post(2)).is_ok());
        assert_eq!(
            m.try_recv_delivery().map(|d| d.topic().to_owned()).as_deref(),
            Some("b")
        );
        assert_eq!(
            m.try_recv_delivery().map(|d| d.topic().to_owned()).as_deref(),
            Some("c")
        );
        assert!(m.try_recv_delivery().is_none());
    }

    #[test]
    fn closing_refuses_new_items_and_keeps_queued_ones() {
        let m = Mailbox::default();
        assert!(m.try_send(Delivery::on("queued"), post(8)).is_ok());
        assert!(m.send(Control::Stop, post(8)).is_ok());
        m.close_deliveries();
        assert!(matches!(
            m.try_send(Delivery::on("late"), post(8)),
            Err(TrySendError::Closed(_))
        ));
        // Commands are still taken until their side closes.
        assert!(m.send(Control::Stop, post(8)).is_ok());
        m.close_control();
        assert!(matches!(m.send(Control::Stop, post(8)), Err(Control::Stop)));
        assert!(m.try_recv_delivery().is_some());
        assert!(m.try_recv_delivery().is_none());
        assert!(matches!(m.try_recv_control(), Some(Control::Stop)));
        assert!(matches!(m.try_recv_control(), Some(Control::Stop)));
        assert!(m.try_recv_control().is_none());
    }

    #[test]
    fn a_registered_task_is_woken_by_each_kind_of_message() {
        let m = Mailbox::default();
        let counter = Arc::new(CountingWaker(AtomicUsize::new(0)));
        let waker = Waker::from(Arc::clone(&counter));
        m.register(&waker);
        assert!(m.try_send(Delivery::on("a"), post(8)).is_ok());
        assert_eq!(counter.0.load(Ordering::Relaxed), 1);
        // Woken once per registration, like a channel receiver.
        assert!(m.try_send(Delivery::on("b"), post(8)).is_ok());
        assert_eq!(counter.0.load(Ordering::Relaxed), 1);
        m.register(&waker);
        assert!(m.send(Control::Stop, post(8)).is_ok());
        assert_eq!(counter.0.load(Ordering::Relaxed), 2);
    }

    #[test]
    fn an_idle_mailbox_holds_no_queue_storage_and_a_drained_burst_is_given_back() {
        let m = Mailbox::default();
        let capacity = |m: &Mailbox| lock(&m.queues).lists.as_ref().map_or(0, |l| l.deliveries.capacity());
        assert_eq!(capacity(&m), 0);
        for _ in 0..500 {
            assert!(m.try_send(Delivery::on("burst"), post(1000)).is_ok());
        }
        assert!(capacity(&m) >= 500);
        while m.try_recv_delivery().is_some() {}
        assert_eq!(capacity(&m), 0);
        // A small queue keeps its storage for the next message.
        assert!(m.try_send(Delivery::on("one"), post(1000)).is_ok());
        assert!(m.try_recv_delivery().is_some());
        assert!(capacity(&m) > 0 && capacity(&m) <= KEEP_CAPACITY);
    }
}
