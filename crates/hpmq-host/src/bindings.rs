//! Bindings: `(direction, topic filter) → ordered chain of functions`, and the table they are looked up in.

use std::sync::{Arc, Mutex};

use mqtt_codec::{TopicFilter, TopicName};

use crate::config::FailurePolicy;
use crate::history::History;
use crate::module::ModuleSlot;
use crate::state::FunctionInfo;
use crate::{Direction, FunctionRef};

/// A binding to add with [`crate::Runtime::bind`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    /// Which messages: upstream publishes or downstream deliveries.
    pub direction: Direction,
    /// Which topics.
    pub filter: TopicFilter,
    /// The functions, run in order.
    pub chain: Vec<FunctionRef>,
    /// What a failed call does to the message.
    pub on_error: FailurePolicy,
    /// Topics whose last payload each function of this binding remembers for `his_payload` (LRU; 0
    /// disables it).
    pub history_topics: usize,
    /// Payload bytes each function of this binding remembers for `his_payload` (LRU).
    pub history_bytes: usize,
}

impl Binding {
    /// A binding with the default failure policy (pass) and `his_payload` memory (1024 topics, 1 MiB).
    pub fn new(direction: Direction, filter: TopicFilter, chain: Vec<FunctionRef>) -> Self {
        Binding {
            direction,
            filter,
            chain,
            on_error: FailurePolicy::Pass,
            history_topics: 1024,
            history_bytes: 1 << 20,
        }
    }

    /// Returns the binding with another failure policy.
    pub fn on_error(mut self, policy: FailurePolicy) -> Self {
        self.on_error = policy;
        self
    }

    /// Returns the binding with another `his_payload` memory (0 topics disables it).
    pub fn history(mut self, topics: usize, bytes: usize) -> Self {
        self.history_topics = topics;
        self.history_bytes = bytes;
        self
    }
}

/// Identifies a binding for [`crate::Runtime::unbind`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BindingId(pub(crate) u64);

/// One function of a bound chain, resolved.
pub(crate) struct Step {
    pub(crate) slot: Arc<ModuleSlot>,
    pub(crate) function: Arc<FunctionInfo>,
    pub(crate) history: Option<Mutex<History>>,
}

/// A binding with its functions resolved.
pub(crate) struct Bound {
    pub(crate) id: BindingId,
    pub(crate) spec: Binding,
    pub(crate) steps: Vec<Step>,
}

/// The immutable table of bindings; replaced as a whole (copy-on-write) when bindings change.
///
/// Lookup is a linear scan with `TopicFilter::matches`, in binding order. It is the one place to switch to
/// `mqtt-router`'s trie once that crate's API is available on this branch.
#[derive(Default)]
pub(crate) struct Bindings {
    pub(crate) all: Vec<Arc<Bound>>,
}

impl Bindings {
    /// The bindings of `direction` whose filter matches `topic`, in the order they were added.
    pub(crate) fn matching<'a>(
        &'a self,
        direction: Direction,
        topic: &'a TopicName,
    ) -> impl Iterator<Item = &'a Arc<Bound>> + 'a {
        self.all
            .iter()
            .filter(move |b| b.spec.direction == direction && b.spec.filter.matches(topic))
    }

    /// Whether any binding uses `module`'s function `function` (or any function of `module`, if `None`).
    pub(crate) fn uses(&self, module: &str, function: Option<&str>) -> bool {
        self.all.iter().any(|b| {
            b.spec
                .chain
                .iter()
                .any(|f| f.module == module && function.is_none_or(|name| f.function == name))
        })
    }
}
