//! [`Deliveries`]: the caller-owned buffer [`crate::Router::deliveries`] fills, one entry per copy of a message
//! to send.

use mqtt_codec::{QoS, SubscriptionId};

use crate::router::Subscription;

/// Reusable output of [`crate::Router::deliveries`]. Keep one per thread (or per connection task) and pass it to
/// every call: after the first few calls it has grown to fit and routing allocates nothing.
pub struct Deliveries<C> {
    items: Vec<Item<C>>,
    /// (delivery index, identifier) in match order; sorted by delivery in [`Deliveries::finish`].
    pairs: Vec<(u32, SubscriptionId)>,
    /// Identifiers grouped by delivery.
    ids: Vec<SubscriptionId>,
    /// Per client slot: the generation it was last seen in and its delivery index then. Only used once a message
    /// has more than [`LINEAR`] deliveries; below that a scan of `items` is cheaper than a likely cache miss
    /// into an array as large as the router's client table.
    seen: Vec<(u32, u32)>,
    /// Whether `seen` is in use for the current message.
    indexed: bool,
    generation: u32,
}

/// Deliveries found by scanning before switching to the `seen` index.
const LINEAR: usize = 16;

struct Item<C> {
    client: C,
    slot: u32,
    qos: QoS,
    retain_as_published: bool,
    shared: bool,
    ids_start: u32,
    ids_len: u32,
}

/// One copy of a message to send to one client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Delivery<'a, C> {
    /// The receiving client.
    pub client: &'a C,
    /// Highest maximum QoS among the client's matching subscriptions [MQTT-3.3.4-2]. Send with the lower of
    /// this and the QoS the message was published with.
    pub qos: QoS,
    /// True when any of the matching subscriptions asked for Retain As Published.
    pub retain_as_published: bool,
    /// Every subscription identifier of the matching subscriptions, in no particular order [MQTT-3.3.4-3].
    pub subscription_ids: &'a [SubscriptionId],
    /// True when this copy is for a shared subscription (the strategy picked this member of its group).
    pub shared: bool,
}

impl<C> Default for Deliveries<C> {
    fn default() -> Self {
        Deliveries {
            items: Vec::new(),
            pairs: Vec::new(),
            ids: Vec::new(),
            seen: Vec::new(),
            indexed: false,
            generation: 0,
        }
    }
}

impl<C: Clone> Deliveries<C> {
    /// An empty buffer.
    pub fn new() -> Self {
        Deliveries::default()
    }

    pub(crate) fn begin(&mut self, client_slots: usize) {
        self.items.clear();
        self.pairs.clear();
        self.ids.clear();
        self.indexed = false;
        if self.seen.len() < client_slots {
            self.seen.resize(client_slots, (0, 0));
        }
        self.generation = self.generation.wrapping_add(1);
        if self.generation == 0 {
            self.seen.iter_mut().for_each(|s| *s = (0, 0));
            self.generation = 1;
        }
    }

    pub(crate) fn add(&mut self, sub: &Subscription<C>, shared: bool) {
        let existing = if shared { None } else { self.find(sub.client) };
        let index = match existing {
            Some(index) => {
                if let Some(item) = self.items.get_mut(index) {
                    item.qos = item.qos.max(sub.options.qos);
                    item.retain_as_published |= sub.options.retain_as_published;
                }
                index
            }
            None => {
                let index = self.items.len();
                self.items.push(Item {
                    client: sub.client_id.clone(),
                    slot: sub.client,
                    qos: sub.options.qos,
                    retain_as_published: sub.options.retain_as_published,
                    shared,
                    ids_start: 0,
                    ids_len: 0,
                });
                if !shared {
                    self.record(sub.client, index);
                }
                index
            }
        };
        if let Some(id) = sub.id {
            self.pairs.push((index as u32, id));
        }
    }

    /// The index of the non-shared delivery to client `slot`, if there is one already.
    fn find(&self, slot: u32) -> Option<usize> {
        if self.indexed {
            let &(generation, index) = self.seen.get(slot as usize)?;
            return (generation == self.generation).then_some(index as usize);
        }
        self.items.iter().position(|item| item.slot == slot && !item.shared)
    }

    /// Notes that client `slot` has its non-shared delivery at `index`, switching to the index when the scan
    /// gets long.
    fn record(&mut self, slot: u32, index: usize) {
        if !self.indexed && self.items.len() > LINEAR {
            self.indexed = true;
            let generation = self.generation;
            for (i, item) in self.items.iter().enumerate() {
                if let (false, Some(seen)) = (item.shared, self.seen.get_mut(item.slot as usize)) {
                    *seen = (generation, i as u32);
                }
            }
        } else if self.indexed
            && let Some(seen) = self.seen.get_mut(slot as usize)
        {
            *seen = (self.generation, index as u32);
        }
    }

    pub(crate) fn finish(&mut self) {
        if self.pairs.is_empty() {
            return;
        }
        self.pairs.sort_unstable_by_key(|&(index, _)| index);
        for &(index, id) in &self.pairs {
            if let Some(item) = self.items.get_mut(index as usize) {
                if item.ids_len == 0 {
                    item.ids_start = self.ids.len() as u32;
                }
                item.ids_len += 1;
            }
            self.ids.push(id);
        }
    }

    /// Number of deliveries.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// True when the message goes to nobody (a v5 PUBACK may then say No Matching Subscribers).
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The deliveries, in the order their first subscription was matched.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = Delivery<'_, C>> + '_ {
        self.items.iter().map(|item| Delivery {
            client: &item.client,
            qos: item.qos,
            retain_as_published: item.retain_as_published,
            subscription_ids: self
                .ids
                .get(item.ids_start as usize..(item.ids_start + item.ids_len) as usize)
                .unwrap_or_default(),
            shared: item.shared,
        })
    }
}
