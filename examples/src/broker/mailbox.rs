//! A session's mailbox: what other tasks send a session task (control commands from the registry, deliveries
//! from the router), in one small shared allocation that holds no queue storage until something is queued.
//!
//! It replaces a tokio unbounded channel (control) and a bounded one (deliveries): each of those allocates
//! its shared state and a first block of 32 slots when it is created, about 2.4 KiB per session together,
//! which every idle connection paid for nothing. Here an idle session costs the few words below; a queue
//! grows on its first message and is given back once it drains after a burst.

use std::collections::VecDeque;
use std::sync::Mutex;
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
        }
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
