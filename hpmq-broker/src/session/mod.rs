//! The task that owns one MQTT session for its whole life: while a client is connected it drives the
//! connection; while it is away it keeps queueing deliveries and runs the will-delay and expiry timers; while
//! it is idle it waits in the parking lot without a task.
//!
//! Its modules, each an `impl SessionTask` block on [`task`]'s state, from the bottom up (each uses only
//! those above it in this list):
//! - `task`: what a session task holds, running or parked.
//! - `read`: frames from the socket through the codec into the session.
//! - `write`: the session's packets through the codec onto the socket.
//! - `deliver`: a message routed to this session, through the downstream functions into its queue.
//! - `share`: shared subscriptions' undelivered messages, handed to another member of the group.
//! - `policy`: what the session does with each event (CONNECT accepted, publish, subscribe, unsubscribe).
//! - `drive`: events handled and packets written until the session has nothing more to say.
//! - `park`: idleness, parking and taking the socket back.
//! - `attach`: a new connection for a live session (takeover, resume, or hand-off to a new session).
//! - `stop`: the broker's graceful stop and saves.
//! - `start`: a new session registered for its first connection, or a saved one restored.
//! - `run`: the run loop, from start or resumption to the end (unregistering, handing off).

mod attach;
mod deliver;
mod drive;
mod park;
mod policy;
mod read;
mod run;
mod share;
mod start;
mod stop;
mod task;
mod write;

pub(crate) use run::resume_stored;
pub(crate) use start::{Starting, attach_to};
pub(crate) use task::Shared;
