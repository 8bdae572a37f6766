//! The parking lot: idle sessions waiting without a task.
//!
//! An idle connection's session task costs memory that does nothing: the task itself (its future and
//! tokio's bookkeeping, ~640 B), the socket's registration with tokio's reactor (256 B), the session's timer.
//! A session with nothing to do for `[limits] park_after_ms` hands itself to the lot instead: the lot keeps
//! the session, puts its socket in one `epoll` instance of its own (the kernel holds that registration, the
//! broker's heap does not) and keeps the session's next deadline in one heap for all parked sessions; the
//! session's mailbox keeps its ticket. The first of socket, deadline and mailbox to fire *unparks* the
//! session: the lot gives it back its socket and it starts a task again ([`Unpark::resume`]).
//!
//! One task serves the whole lot: it waits for the lot's `epoll` instance (registered with tokio's reactor as
//! one file descriptor) and for the earliest deadline. A command or delivery unparks directly in the sender's
//! task.
//! Every unpark path takes the entry out under the lot's lock, so a session is resumed once however many of
//! its wake sources fire together; a stale wake (of an entry resumed since, or of a reused slot) finds a
//! newer generation and does nothing.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::net::TcpStream;
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Registry, Token};
use tokio::io::unix::AsyncFd;
use tokio::runtime::Handle;
use tokio::sync::Notify;

use crate::sync::lock;

/// Stale deadlines tolerated beyond twice the parked entries before the heap is swept.
const STALE_SLACK: usize = 1024;

/// What a parked session does when it is woken.
pub(crate) trait Unpark: Send + 'static {
    /// Starts the session again with its socket (when it had one). Called in the runtime's context, never
    /// with the lot's lock held.
    fn resume(self, socket: Option<TcpStream>);
}

/// Names one parked entry: its slot and the slot's generation when it was parked.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Ticket {
    slot: u32,
    generation: u32,
}

impl Ticket {
    fn token(self) -> Token {
        Token(((self.generation as usize) << 32) | self.slot as usize)
    }

    fn from_token(token: Token) -> Self {
        Ticket {
            slot: (token.0 & 0xFFFF_FFFF) as u32,
            generation: (token.0 >> 32) as u32,
        }
    }
}

/// Why an item was not parked; it comes back with its socket.
pub(crate) struct Refused<T> {
    pub item: T,
    pub socket: Option<TcpStream>,
}

/// Idle items (sessions) and their wake sources.
pub(crate) struct Lot<T> {
    handle: Handle,
    registry: Registry,
    slots: Mutex<Slots<T>>,
    /// Tells the lot's task that the earliest deadline moved forward, or that the lot closed.
    changed: Notify,
    closed: AtomicBool,
}

struct Slots<T> {
    slots: Vec<Slot<T>>,
    free: Vec<u32>,
    /// Deadlines of parked entries, earliest first. Entries resumed since stay until they come up and are
    /// skipped (their generation moved on).
    deadlines: BinaryHeap<Reverse<(Instant, Ticket)>>,
    parked: usize,
}

struct Slot<T> {
    generation: u32,
    entry: Option<(T, Option<TcpStream>)>,
}

/// Takes the entry `ticket` names out of its slot, if it is still parked there (the slot's generation moves on,
/// so the ticket goes stale).
fn take<T>(slots: &mut Slots<T>, ticket: Ticket) -> Option<(T, Option<TcpStream>)> {
    let slot = slots.slots.get_mut(ticket.slot as usize)?;
    if slot.generation != ticket.generation {
        return None;
    }
    let entry = slot.entry.take()?;
    slot.generation = slot.generation.wrapping_add(1);
    slots.free.push(ticket.slot);
    slots.parked -= 1;
    Some(entry)
}

impl<T: Unpark> Lot<T> {
    /// An empty lot, with its task started on the current runtime.
    pub fn start() -> std::io::Result<Arc<Self>> {
        let poll = Poll::new()?;
        let lot = Arc::new(Lot {
            handle: Handle::current(),
            registry: poll.registry().try_clone()?,
            slots: Mutex::new(Slots {
                slots: Vec::new(),
                free: Vec::new(),
                deadlines: BinaryHeap::new(),
                parked: 0,
            }),
            changed: Notify::new(),
            closed: AtomicBool::new(false),
        });
        // SAFETY: the `Poll` owns its epoll file descriptor and closes it only when dropped, and the `AsyncFd`
        // owns the `Poll`: the descriptor stays open and the same for the `AsyncFd`'s whole life.
        let watched = unsafe { AsyncFd::register_with_interest(poll, tokio::io::Interest::READABLE) }
            .map_err(std::io::Error::from)?;
        tokio::spawn(Arc::clone(&lot).watch(watched));
        Ok(lot)
    }

    /// Whether the lot still takes items.
    pub fn is_open(&self) -> bool {
        !self.closed.load(Ordering::Acquire)
    }

    /// How many items are parked.
    pub fn len(&self) -> usize {
        lock(&self.slots).parked
    }

    /// Parks `item`: it is resumed when `socket` becomes readable (or fails), when `deadline` comes, or when
    /// [`Lot::unpark`] is called with the returned ticket, whichever is first. Refused when the
    /// lot is closed or the socket cannot be watched.
    ///
    /// `record` is called with the ticket before anything can resume the item (under the lot's lock), so
    /// whoever must be able to unpark it learns the ticket first. Recorded afterwards, a resume in between
    /// (the socket readable, the deadline due) and a second park could have its newer ticket overwritten by
    /// this stale one, and a message sent to the session then woke nobody. `false` from `record` (something
    /// is already waiting for the item) resumes it at once.
    pub fn park_then(
        &self,
        item: T,
        socket: Option<TcpStream>,
        deadline: Option<Instant>,
        record: impl FnOnce(Ticket) -> bool,
    ) -> Result<Ticket, Refused<T>> {
        let mut slots = lock(&self.slots);
        if !self.is_open() {
            return Err(Refused { item, socket });
        }
        let index = match slots.free.pop() {
            Some(index) => index,
            None => {
                let Ok(index) = u32::try_from(slots.slots.len()) else {
                    return Err(Refused { item, socket });
                };
                slots.slots.push(Slot {
                    generation: 0,
                    entry: None,
                });
                index
            }
        };
        let Some(generation) = slots.slots.get(index as usize).map(|s| s.generation) else {
            return Err(Refused { item, socket });
        };
        let ticket = Ticket {
            slot: index,
            generation,
        };
        if let Some(s) = &socket {
            let fd = s.as_raw_fd();
            if let Err(error) = self
                .registry
                .register(&mut SourceFd(&fd), ticket.token(), Interest::READABLE)
            {
                tracing::debug!(%error, "socket cannot be watched; not parked");
                slots.free.push(index);
                return Err(Refused { item, socket });
            }
        }
        if let Some(slot) = slots.slots.get_mut(index as usize) {
            slot.entry = Some((item, socket));
        }
        slots.parked += 1;
        if !record(ticket) {
            let taken = take(&mut slots, ticket);
            drop(slots);
            if let Some(entry) = taken {
                self.resume(entry);
            }
            return Ok(ticket);
        }
        if let Some(at) = deadline {
            let earliest = slots.deadlines.peek().is_none_or(|Reverse((first, _))| at < *first);
            slots.deadlines.push(Reverse((at, ticket)));
            if earliest {
                self.changed.notify_one();
            }
            // A session that parks and is woken again and again (a device publishing every few seconds)
            // leaves one stale deadline per visit until its time comes (up to 1.5 keep-alives away): drop
            // them once they outnumber the parked entries, so the heap stays in proportion to the lot.
            if slots.deadlines.len() > 2 * slots.parked + STALE_SLACK {
                let Slots { slots, deadlines, .. } = &mut *slots;
                deadlines.retain(|Reverse((_, t))| {
                    slots
                        .get(t.slot as usize)
                        .is_some_and(|s| s.generation == t.generation && s.entry.is_some())
                });
            }
        }
        Ok(ticket)
    }

    /// Resumes the entry `ticket` names, if it is still parked; `false` when it is not (resumed since).
    pub fn unpark(&self, ticket: Ticket) -> bool {
        let Some(taken) = take(&mut lock(&self.slots), ticket) else {
            return false;
        };
        self.resume(taken);
        true
    }

    fn resume(&self, (item, socket): (T, Option<TcpStream>)) {
        if let Some(s) = &socket {
            let fd = s.as_raw_fd();
            if let Err(error) = self.registry.deregister(&mut SourceFd(&fd)) {
                tracing::debug!(%error, "parked socket not deregistered");
            }
        }
        let _runtime = self.handle.enter();
        item.resume(socket);
    }

    /// Refuses new items and resumes every parked one (the broker is stopping); stops the lot's task.
    pub fn close(&self) {
        self.closed.store(true, Ordering::Release);
        let taken: Vec<_> = {
            let mut slots = lock(&self.slots);
            slots.deadlines.clear();
            slots.parked = 0;
            let mut taken = Vec::new();
            let Slots { slots, free, .. } = &mut *slots;
            for (index, slot) in slots.iter_mut().enumerate() {
                if let Some(entry) = slot.entry.take() {
                    slot.generation = slot.generation.wrapping_add(1);
                    free.push(index as u32);
                    taken.push(entry);
                }
            }
            taken
        };
        self.changed.notify_one();
        for entry in taken {
            self.resume(entry);
        }
    }

    /// Resumes every entry whose deadline is not after `now`; returns the next deadline.
    fn unpark_due(&self, now: Instant) -> Option<Instant> {
        loop {
            let due = {
                let mut slots = lock(&self.slots);
                loop {
                    let Reverse((at, ticket)) = slots.deadlines.peek().copied()?;
                    let current = slots
                        .slots
                        .get(ticket.slot as usize)
                        .is_some_and(|s| s.generation == ticket.generation && s.entry.is_some());
                    if current && at > now {
                        return Some(at);
                    }
                    slots.deadlines.pop();
                    if current {
                        break ticket;
                    }
                }
            };
            self.unpark(due);
        }
    }

    /// The lot's task: sockets that became readable and deadlines that came.
    async fn watch(self: Arc<Self>, mut poll: AsyncFd<Poll>) {
        let mut events = Events::with_capacity(256);
        // Far enough to mean "no deadline" without overflowing `Instant`.
        const IDLE: Duration = Duration::from_secs(3600);
        while self.is_open() {
            let next = self.unpark_due(Instant::now());
            let sleep_until = next.unwrap_or_else(|| Instant::now() + IDLE);
            tokio::select! {
                ready = poll.readable_mut() => {
                    let mut ready = match ready {
                        Ok(ready) => ready,
                        Err(error) => {
                            tracing::error!(%error, "parking lot cannot wait for its sockets; parking stops");
                            break;
                        }
                    };
                    loop {
                        if let Err(error) = ready.get_inner_mut().poll(&mut events, Some(Duration::ZERO)) {
                            if error.kind() != std::io::ErrorKind::Interrupted {
                                tracing::warn!(%error, "parking lot poll failed");
                            }
                            break;
                        }
                        if events.is_empty() {
                            ready.clear_ready();
                            break;
                        }
                        for event in &events {
                            self.unpark(Ticket::from_token(event.token()));
                        }
                    }
                }
                () = tokio::time::sleep_until(tokio::time::Instant::from_std(sleep_until)) => {}
                () = self.changed.notified() => {}
            }
        }
        // Stopped: whatever is still parked (or parks in a race with the close) goes back to a task.
        self.close();
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::net::TcpListener;
    use std::sync::mpsc;

    use super::*;

    impl<T: Unpark> Lot<T> {
        /// Parks with nothing to record.
        fn park(&self, item: T, socket: Option<TcpStream>, deadline: Option<Instant>) -> Result<Ticket, Refused<T>> {
            self.park_then(item, socket, deadline, |_| true)
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_item_whose_record_refuses_is_resumed_at_once_and_its_ticket_is_stale() {
        let lot = Lot::start().unwrap();
        let (tx, rx) = mpsc::channel();
        let mut seen = None;
        let ticket = lot
            .park_then(Probe { name: "busy", done: tx }, None, None, |t| {
                seen = Some(t);
                false
            })
            .ok()
            .unwrap();
        assert_eq!(seen, Some(ticket), "record sees the ticket park returns");
        assert_eq!(recv(&rx), ("busy", false));
        assert_eq!(lot.len(), 0);
        assert!(!lot.unpark(ticket), "the ticket of a resumed item is stale");
    }

    /// Reports its resume (with whether it got its socket back) on a channel.
    struct Probe {
        name: &'static str,
        done: mpsc::Sender<(&'static str, bool)>,
    }

    impl Unpark for Probe {
        fn resume(self, socket: Option<TcpStream>) {
            let _ = self.done.send((self.name, socket.is_some()));
        }
    }

    fn pair() -> (TcpStream, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server, _) = listener.accept().unwrap();
        server.set_nonblocking(true).unwrap();
        (client, server)
    }

    fn recv(rx: &mpsc::Receiver<(&'static str, bool)>) -> (&'static str, bool) {
        rx.recv_timeout(Duration::from_secs(5)).expect("not resumed")
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_readable_socket_resumes_its_entry_with_the_socket() {
        let lot = Lot::start().unwrap();
        let (tx, rx) = mpsc::channel();
        let (mut client, server) = pair();
        lot.park(
            Probe {
                name: "a",
                done: tx.clone(),
            },
            Some(server),
            None,
        )
        .map_err(|_| "refused")
        .unwrap();
        let (_c2, quiet) = pair();
        lot.park(
            Probe {
                name: "quiet",
                done: tx,
            },
            Some(quiet),
            None,
        )
        .map_err(|_| "refused")
        .unwrap();
        assert_eq!(lot.len(), 2);
        client.write_all(b"x").unwrap();
        let got = tokio::task::spawn_blocking(move || recv(&rx)).await.unwrap();
        assert_eq!(got, ("a", true));
        assert_eq!(lot.len(), 1);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn data_that_arrived_before_parking_resumes_at_once() {
        let lot = Lot::start().unwrap();
        let (tx, rx) = mpsc::channel();
        let (mut client, server) = pair();
        client.write_all(b"early").unwrap();
        std::thread::sleep(Duration::from_millis(20));
        lot.park(
            Probe {
                name: "early",
                done: tx,
            },
            Some(server),
            None,
        )
        .map_err(|_| "refused")
        .unwrap();
        let got = tokio::task::spawn_blocking(move || recv(&rx)).await.unwrap();
        assert_eq!(got, ("early", true));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn deadlines_resume_in_order_and_an_earlier_one_is_noticed() {
        let lot = Lot::start().unwrap();
        let (tx, rx) = mpsc::channel();
        let now = Instant::now();
        let later = now + Duration::from_millis(300);
        lot.park(
            Probe {
                name: "later",
                done: tx.clone(),
            },
            None,
            Some(later),
        )
        .map_err(|_| "refused")
        .unwrap();
        // Parked after the lot's task went to sleep for `later`: it must wake earlier for this one.
        tokio::time::sleep(Duration::from_millis(20)).await;
        lot.park(
            Probe {
                name: "sooner",
                done: tx,
            },
            None,
            Some(now + Duration::from_millis(100)),
        )
        .map_err(|_| "refused")
        .unwrap();
        let (first, second) = tokio::task::spawn_blocking(move || (recv(&rx), recv(&rx)))
            .await
            .unwrap();
        assert_eq!(first, ("sooner", false));
        assert_eq!(second, ("later", false));
        assert!(Instant::now() >= later);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_ticket_resumes_once_and_a_stale_ticket_does_nothing() {
        let lot = Lot::start().unwrap();
        let (tx, rx) = mpsc::channel();
        let ticket = lot
            .park(
                Probe {
                    name: "woken",
                    done: tx.clone(),
                },
                None,
                None,
            )
            .map_err(|_| "refused")
            .unwrap();
        assert!(lot.unpark(ticket));
        assert!(!lot.unpark(ticket), "resumed once");
        assert_eq!(recv(&rx), ("woken", false));
        // The slot is reused by a new entry; the old ticket must not resume it.
        let again = lot
            .park(Probe { name: "next", done: tx }, None, None)
            .map_err(|_| "refused")
            .unwrap();
        assert_eq!(again.slot, ticket.slot);
        assert_ne!(again.generation, ticket.generation);
        assert!(!lot.unpark(ticket));
        assert!(rx.recv_timeout(Duration::from_millis(100)).is_err());
        assert_eq!(lot.len(), 1);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn closing_resumes_everything_and_refuses_new_items() {
        let lot = Lot::start().unwrap();
        let (tx, rx) = mpsc::channel();
        let (_client, server) = pair();
        lot.park(
            Probe {
                name: "s",
                done: tx.clone(),
            },
            Some(server),
            None,
        )
        .map_err(|_| "refused")
        .unwrap();
        lot.park(
            Probe {
                name: "t",
                done: tx.clone(),
            },
            None,
            Some(Instant::now() + IDLE_TEST),
        )
        .map_err(|_| "refused")
        .unwrap();
        lot.close();
        let mut got = vec![recv(&rx), recv(&rx)];
        got.sort();
        assert_eq!(got, vec![("s", true), ("t", false)]);
        assert!(lot.park(Probe { name: "u", done: tx }, None, None).is_err());
        assert_eq!(lot.len(), 0);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn stale_deadlines_of_often_woken_entries_are_swept() {
        let lot = Lot::start().unwrap();
        let (tx, rx) = mpsc::channel();
        let far = Instant::now() + IDLE_TEST;
        for _ in 0..10 * STALE_SLACK {
            let ticket = lot
                .park(
                    Probe {
                        name: "busy",
                        done: tx.clone(),
                    },
                    None,
                    Some(far),
                )
                .map_err(|_| "refused")
                .unwrap();
            assert!(lot.unpark(ticket));
        }
        assert_eq!(rx.try_iter().count(), 10 * STALE_SLACK);
        let kept = lot
            .park(Probe { name: "kept", done: tx }, None, Some(far))
            .map_err(|_| "refused")
            .unwrap();
        let deadlines = lock(&lot.slots).deadlines.len();
        assert!(
            deadlines <= STALE_SLACK + 3,
            "{deadlines} deadlines kept for 1 parked entry"
        );
        // The live one is still there.
        assert!(lock(&lot.slots).deadlines.iter().any(|Reverse((_, t))| *t == kept));
    }

    const IDLE_TEST: Duration = Duration::from_secs(60);
}
