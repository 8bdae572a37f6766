//! Bindings: `(direction, topic filter) → ordered chain of functions`, and the table they are looked up in.

use std::sync::{Arc, Mutex};

use mqtt_codec::{SubscriptionOptions, TopicFilter, TopicName};
use mqtt_router::Router;

use crate::config::FailurePolicy;
use crate::history::History;
use crate::module::ModuleSlot;
use crate::state::FunctionInfo;
use crate::{Direction, Error, FunctionRef};

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

/// The immutable table of bindings; rebuilt as a whole (copy-on-write) when bindings change, so lookups
/// never wait for a writer.
///
/// Filters are matched with `mqtt-router`'s trie (one router per direction, each binding subscribed under
/// its id), so bindings follow exactly the broker's matching rules, including `$`-topics not matching a
/// leading wildcard.
#[derive(Default)]
pub(crate) struct Bindings {
    /// In the order they were added (ascending id).
    pub(crate) all: Vec<Arc<Bound>>,
    upstream: Router<u64>,
    downstream: Router<u64>,
}

impl Bindings {
    /// Builds the table for `all`, which must be in ascending id order.
    pub(crate) fn new(all: Vec<Arc<Bound>>) -> Result<Self, Error> {
        let mut upstream = Router::new();
        let mut downstream = Router::new();
        for b in &all {
            let router = match b.spec.direction {
                Direction::Upstream => &mut upstream,
                Direction::Downstream => &mut downstream,
            };
            router
                .subscribe(b.id.0, &b.spec.filter, SubscriptionOptions::default(), None)
                .map_err(|e| Error::Config(format!("binding filter `{}`: {e}", b.spec.filter)))?;
        }
        Ok(Bindings {
            all,
            upstream,
            downstream,
        })
    }

    /// The bindings of `direction` whose filter matches `topic`, in the order they were added.
    pub(crate) fn matching(&self, direction: Direction, topic: &TopicName) -> Vec<&Arc<Bound>> {
        let router = match direction {
            Direction::Upstream => &self.upstream,
            Direction::Downstream => &self.downstream,
        };
        let mut ids: Vec<u64> = Vec::new();
        router.visit(topic, None, |m| ids.push(*m.client));
        ids.sort_unstable();
        ids.iter()
            .filter_map(|id| {
                let i = self.all.binary_search_by_key(id, |b| b.id.0).ok()?;
                self.all.get(i)
            })
            .collect()
    }

    /// Whether any binding uses any function of `module`.
    pub(crate) fn uses_module(&self, module: &str) -> bool {
        self.all.iter().any(|b| b.spec.chain.iter().any(|f| f.module == module))
    }
}
