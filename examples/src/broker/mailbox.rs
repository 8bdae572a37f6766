//! A session's mailbox: what other tasks send a session task (control commands from the registry, deliveries
//! from the router), in one small shared allocation that holds no queue storage until something is queued.
//!
//! It replaces a tokio unbounded channel (control) and a bounded one (deliveries): each of those allocates
//! its shared state and a first block of 32 slots when it is created, about 2.4 KiB per session together,
//! which every idle connection paid for nothing. Here an idle session costs the few words below; a queue
//! grows on its first message and is given back once it drains after a burst.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::Waker;

use futures_util::task::AtomicWaker;

use super::lock;
use super::session::{Control, Delivery};

/// Queue capacity kept after a drain; a larger queue (a burst of deliveries) is given back once empty.
const KEEP_CAPACITY: usize = 64;

/// Why a delivery was not queued; the delivery comes back.
#[derive(Debug)]
pub(crate) enum TrySendError<T> {
    /// The session's queue holds its capacity (`[limits] max_queued_messages`).
    Full(T),
    /// The session task has stopped taking deliveries.
    Closed(T),
}

/// The receiving end is a session task; every other task holds the same `Arc<Mailbox>` to send.
pub(crate) struct Mailbox {
    /// Most deliveries queued at once.
    capacity: usize,
    queues: Mutex<Queues>,
    /// The session task, woken when something arrives.
    waker: AtomicWaker,
    /// Whether the session has a connected client now; share groups prefer members that do.
    online: AtomicBool,
}

#[derive(Default)]
struct Queues {
    control: VecDeque<Control>,
    deliveries: VecDeque<Delivery>,
    control_closed: bool,
    deliveries_closed: bool,
}

impl Mailbox {
    /// An empty mailbox holding at most `capacity` deliveries (at least one).
    pub fn new(capacity: usize) -> Self {
        Mailbox {
            capacity: capacity.max(1),
            queues: Mutex::new(Queues::default()),
            waker: AtomicWaker::new(),
            online: AtomicBool::new(false),
        }
    }

    /// Records whether the session has a connected client (set by the session task after each step).
    pub fn set_online(&self, online: bool) {
        self.online.store(online, Ordering::Relaxed);
    }

    /// Whether the session had a connected client at its last step.
    pub fn is_online(&self) -> bool {
        self.online.load(Ordering::Relaxed)
    }

    /// Queues a control command; gives it back when the session task no longer takes commands.
    pub fn send(&self, command: Control) -> Result<(), Control> {
        {
            let mut q = lock(&self.queues);
            if q.control_closed {
                return Err(command);
            }
            q.control.push_back(command);
        }
        self.waker.wake();
        Ok(())
    }

    /// Queues a delivery unless the queue is full or closed. Never waits: a publisher does not wait for a
    /// slow subscriber.
    pub fn try_send(&self, delivery: Delivery) -> Result<(), TrySendError<Delivery>> {
        {
            let mut q = lock(&self.queues);
            if q.deliveries_closed {
                return Err(TrySendError::Closed(delivery));
            }
            if q.deliveries.len() >= self.capacity {
                return Err(TrySendError::Full(delivery));
            }
            q.deliveries.push_back(delivery);
        }
        self.waker.wake();
        Ok(())
    }

    /// Wakes the task behind `waker` on the next command or delivery. A task registers before it looks
    /// (`try_recv_*`), so nothing sent in between goes unnoticed.
    pub fn register(&self, waker: &Waker) {
        self.waker.register(waker);
    }

    /// Whether a command or a delivery is waiting to be taken.
    pub fn has_pending(&self) -> bool {
        let q = lock(&self.queues);
        !q.control.is_empty() || !q.deliveries.is_empty()
    }

    /// The next delivery.
    pub fn try_recv_delivery(&self) -> Option<Delivery> {
        self.pop_delivery(&mut lock(&self.queues))
    }

    fn pop_delivery(&self, q: &mut Queues) -> Option<Delivery> {
        let delivery = q.deliveries.pop_front()?;
        if q.deliveries.is_empty() {
            release(&mut q.deliveries);
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
        let command = q.control.pop_front()?;
        if q.control.is_empty() {
            release(&mut q.control);
        }
        Some(command)
    }
}

impl std::fmt::Debug for Mailbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailbox")
            .field("capacity", &self.capacity)
            .finish_non_exhaustive()
    }
}

/// Gives an emptied queue's storage back when a burst made it large.
fn release<T>(queue: &mut VecDeque<T>) {
    if queue.capacity() > KEEP_CAPACITY {
        *queue = VecDeque::new();
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::task::Wake;

    use super::*;

    struct CountingWaker(AtomicUsize);

    impl Wake for CountingWaker {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }

    #[test]
    fn deliveries_are_bounded_and_come_back_when_full() {
        let m = Mailbox::new(2);
        assert!(m.try_send(Delivery::on("a")).is_ok());
        assert!(m.try_send(Delivery::on("b")).is_ok());
        match m.try_send(Delivery::on("c")) {
            Err(TrySendError::Full(d)) => assert_eq!(d.topic(), "c"),
            other => panic!("expected Full, got {other:?}"),
        }
        assert_eq!(
            m.try_recv_delivery().map(|d| d.topic().to_owned()).as_deref(),
            Some("a")
        );
        assert!(m.try_send(Delivery::on("c")).is_ok());
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
        let m = Mailbox::new(8);
        assert!(m.try_send(Delivery::on("queued")).is_ok());
        assert!(m.send(Control::Stop).is_ok());
        m.close_deliveries();
        assert!(matches!(m.try_send(Delivery::on("late")), Err(TrySendError::Closed(_))));
        // Commands are still taken until their side closes.
        assert!(m.send(Control::Stop).is_ok());
        m.close_control();
        assert!(matches!(m.send(Control::Stop), Err(Control::Stop)));
        assert!(m.try_recv_delivery().is_some());
        assert!(m.try_recv_delivery().is_none());
        assert!(matches!(m.try_recv_control(), Some(Control::Stop)));
        assert!(matches!(m.try_recv_control(), Some(Control::Stop)));
        assert!(m.try_recv_control().is_none());
    }

    #[test]
    fn a_registered_task_is_woken_by_each_kind_of_message() {
        let m = Mailbox::new(8);
        let counter = Arc::new(CountingWaker(AtomicUsize::new(0)));
        let waker = Waker::from(Arc::clone(&counter));
        m.register(&waker);
        assert!(m.try_send(Delivery::on("a")).is_ok());
        assert_eq!(counter.0.load(Ordering::Relaxed), 1);
        // Woken once per registration, like a channel receiver.
        assert!(m.try_send(Delivery::on("b")).is_ok());
        assert_eq!(counter.0.load(Ordering::Relaxed), 1);
        m.register(&waker);
        assert!(m.send(Control::Stop).is_ok());
        assert_eq!(counter.0.load(Ordering::Relaxed), 2);
    }

    #[test]
    fn an_idle_mailbox_holds_no_queue_storage_and_a_drained_burst_is_given_back() {
        let m = Mailbox::new(1000);
        let capacity = |m: &Mailbox| lock(&m.queues).deliveries.capacity();
        assert_eq!(capacity(&m), 0);
        for _ in 0..500 {
            assert!(m.try_send(Delivery::on("burst")).is_ok());
        }
        assert!(capacity(&m) >= 500);
        while m.try_recv_delivery().is_some() {}
        assert_eq!(capacity(&m), 0);
        // A small queue keeps its storage for the next message.
        assert!(m.try_send(Delivery::on("one")).is_ok());
        assert!(m.try_recv_delivery().is_some());
        assert!(capacity(&m) > 0 && capacity(&m) <= KEEP_CAPACITY);
    }
}
