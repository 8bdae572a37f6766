//! [`Router`]: the subscription trie, with subscribe, unsubscribe, remove-a-client and matching.

use std::hash::{BuildHasher, Hash};
use std::sync::atomic::AtomicU64;

use hashbrown::{DefaultHashBuilder, HashTable};
use mqtt_codec::{SubscriptionId, SubscriptionOptions, TopicFilter, TopicName};

use crate::Error;
use crate::deliveries::Deliveries;
use crate::shared::{BuiltinStrategy, Members, Pick, ShareStrategy};
use crate::trie::{Node, NodeId, NodeValue, Trie};

/// Filters and topics deeper than this are refused unless [`Router::with_max_levels`] says otherwise.
pub const DEFAULT_MAX_LEVELS: usize = 128;

/// A topic trie of subscriptions, generic over the client id `C` and the share strategy `S`.
///
/// * `C` identifies a subscriber: an integer connection id, an `Arc<str>` client id, ... It must be
///   `Eq + Hash` (the router keeps an index of clients) and `Clone`: it is stored with each subscription (so a
///   match never looks a client up) and cloned once per delivery by [`Router::deliveries`]. Pick a type whose
///   clone does not allocate (integers, `Arc<str>`, `Bytes`).
/// * `S` picks one member of each share group; [`BuiltinStrategy`] holds the built-in choices.
///
/// Matching ([`Router::visit`], [`Router::deliveries`]) takes `&self`, allocates nothing and is safe from many
/// threads at once; changes take `&mut self`. See the crate docs for the locking recipe.
pub struct Router<C, S = BuiltinStrategy> {
    trie: Trie<Subscribers<C>>,
    pub(crate) clients: Vec<ClientSlot<C>>,
    free_clients: Vec<u32>,
    /// Client slots, found by hashing the id stored in the slot itself (the table holds only slot numbers).
    index: HashTable<u32>,
    hasher: DefaultHashBuilder,
    strategy: S,
    max_levels: usize,
    subscriptions: usize,
}

/// Everything the router keeps about one client: its id and where its subscriptions live, so that
/// [`Router::remove_client`] costs as much as the client's own subscriptions, not the whole trie.
pub(crate) struct ClientSlot<C> {
    pub(crate) id: Option<C>,
    plain: Vec<NodeId>,
    /// (node, share name) of each shared subscription; rare, so boxed.
    #[allow(clippy::box_collection)]
    shared: Option<Box<Vec<SharedRef>>>,
}

/// Where one shared subscription of a client lives: its node and its share name.
type SharedRef = (NodeId, Box<str>);

/// One subscription as stored in a trie node.
#[derive(Debug, Clone)]
pub(crate) struct Subscription<C> {
    /// The client's slot in [`Router::clients`].
    pub(crate) client: u32,
    /// The client's id, kept beside the subscription so a match never looks up the client table (at 10^6
    /// clients that lookup is a cache miss per matched subscription).
    pub(crate) client_id: C,
    pub(crate) options: SubscriptionOptions,
    pub(crate) id: Option<SubscriptionId>,
}

/// One share group of one filter.
struct Group<C> {
    name: Box<str>,
    members: Vec<Subscription<C>>,
    state: AtomicU64,
}

/// What a trie node holds: the subscriptions whose filter ends here.
pub(crate) struct Subscribers<C> {
    plain: SubList<C>,
    /// Rare, so boxed: 8 bytes in every node instead of a 24-byte empty `Vec`.
    #[allow(clippy::box_collection)]
    shared: Option<Box<Vec<Group<C>>>>,
}

/// The non-shared subscriptions of one filter. Most filters of a large router have one subscriber (a device's
/// own topic), so one is stored inline; a vector is allocated from two on.
#[derive(Default)]
enum SubList<C> {
    #[default]
    Empty,
    One(Subscription<C>),
    // Boxed so the common inline case keeps the node small.
    #[allow(clippy::box_collection)]
    Many(Box<Vec<Subscription<C>>>),
}

impl<C> Default for Subscribers<C> {
    fn default() -> Self {
        Subscribers {
            plain: SubList::Empty,
            shared: None,
        }
    }
}

impl<C> SubList<C> {
    fn as_slice(&self) -> &[Subscription<C>] {
        match self {
            SubList::Empty => &[],
            SubList::One(sub) => std::slice::from_ref(sub),
            SubList::Many(subs) => subs,
        }
    }

    fn is_empty(&self) -> bool {
        matches!(self, SubList::Empty)
    }

    fn find_mut(&mut self, client: u32) -> Option<&mut Subscription<C>> {
        match self {
            SubList::Empty => None,
            SubList::One(sub) => Some(sub).filter(|s| s.client == client),
            SubList::Many(subs) => subs.iter_mut().find(|s| s.client == client),
        }
    }

    fn push(&mut self, sub: Subscription<C>) {
        *self = match std::mem::take(self) {
            SubList::Empty => SubList::One(sub),
            SubList::One(first) => SubList::Many(Box::new(vec![first, sub])),
            SubList::Many(mut subs) => {
                subs.push(sub);
                SubList::Many(subs)
            }
        };
    }

    /// Removes `client`'s subscription; false if it had none.
    fn remove(&mut self, client: u32) -> bool {
        match self {
            SubList::Empty => false,
            SubList::One(sub) => {
                let found = sub.client == client;
                if found {
                    *self = SubList::Empty;
                }
                found
            }
            SubList::Many(subs) => {
                let Some(i) = subs.iter().position(|s| s.client == client) else {
                    return false;
                };
                subs.swap_remove(i);
                if subs.len() == 1
                    && let Some(only) = subs.pop()
                {
                    *self = SubList::One(only);
                } else if subs.len() * 4 < subs.capacity() {
                    subs.shrink_to(subs.len() * 2);
                }
                true
            }
        }
    }
}

impl<C> NodeValue for Subscribers<C> {
    fn is_empty(&self) -> bool {
        self.plain.is_empty() && self.shared.is_none()
    }
}

/// Whether [`Router::subscribe`] added a subscription or replaced one with the same filter (which matters for
/// Retain Handling 1, "send retained messages only if the subscription did not exist").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubscribeOutcome {
    /// The client had no subscription with this filter.
    New,
    /// An existing subscription's options and identifier were replaced [MQTT-3.8.4-3].
    Replaced,
}

/// One subscription matched by a topic, as handed to the [`Router::visit`] visitor.
#[derive(Debug)]
pub struct Match<'a, C> {
    /// The subscriber.
    pub client: &'a C,
    /// The options the subscription was made with.
    pub options: SubscriptionOptions,
    /// The v5 subscription identifier, if one was given.
    pub subscription_id: Option<SubscriptionId>,
    /// The share name, when this is the member picked from a shared subscription's group.
    pub share_group: Option<&'a str>,
}

impl<C: Clone + Eq + Hash> Default for Router<C, BuiltinStrategy> {
    fn default() -> Self {
        Router::with_strategy(BuiltinStrategy::default())
    }
}

impl<C: Clone + Eq + Hash> Router<C, BuiltinStrategy> {
    /// An empty router sharing messages round-robin among the members of share groups.
    pub fn new() -> Self {
        Router::default()
    }
}

impl<C: Clone + Eq + Hash, S: ShareStrategy<C>> Router<C, S> {
    /// An empty router whose share groups pick members with `strategy`.
    pub fn with_strategy(strategy: S) -> Self {
        Router {
            trie: Trie::default(),
            clients: Vec::new(),
            free_clients: Vec::new(),
            index: HashTable::new(),
            hasher: DefaultHashBuilder::default(),
            strategy,
            max_levels: DEFAULT_MAX_LEVELS,
            subscriptions: 0,
        }
    }

    /// Sets the deepest filter accepted ([`DEFAULT_MAX_LEVELS`] by default). Matching recurses once per filter
    /// level, so this bounds the stack a match uses.
    pub fn with_max_levels(mut self, max_levels: usize) -> Self {
        self.max_levels = max_levels.max(1);
        self
    }

    /// The share strategy.
    pub fn strategy(&self) -> &S {
        &self.strategy
    }

    /// Number of subscriptions (a member of a share group counts as one).
    pub fn subscription_count(&self) -> usize {
        self.subscriptions
    }

    /// Number of clients with at least one subscription.
    pub fn client_count(&self) -> usize {
        self.index.len()
    }

    /// Number of trie nodes, the root included: one per distinct level path of the subscribed filters.
    pub fn node_count(&self) -> usize {
        self.trie.node_count()
    }

    /// Adds a subscription for `client`, or replaces the options and identifier of the one it has with the same
    /// filter [MQTT-3.8.4-3]. `$share/{group}/{filter}` joins `client` to the group.
    ///
    /// Errors: No Local on a shared subscription [MQTT-3.8.3-4]; more levels than
    /// [`Router::with_max_levels`] allows. On error nothing changes.
    pub fn subscribe(
        &mut self,
        client: C,
        filter: &TopicFilter,
        options: SubscriptionOptions,
        subscription_id: Option<SubscriptionId>,
    ) -> Result<SubscribeOutcome, Error> {
        let levels = filter.levels().count();
        if levels > self.max_levels {
            return Err(Error::TooManyLevels {
                levels,
                max: self.max_levels,
            });
        }
        let group = filter.share_group();
        if group.is_some() && options.no_local {
            return Err(Error::NoLocalOnSharedSubscription);
        }
        let client_id = client.clone();
        let slot = self.client_slot(client)?;
        let node = match self.trie.ensure(filter.levels()) {
            Ok(node) => node,
            Err(e) => {
                self.release_client_if_idle(slot);
                return Err(e);
            }
        };
        let sub = Subscription {
            client: slot,
            client_id,
            options,
            id: subscription_id,
        };
        let Some(value) = self.trie.get_mut(node).map(|n| &mut n.value) else {
            return Err(Error::CapacityExhausted);
        };
        let outcome = match group {
            None => match value.plain.find_mut(slot) {
                Some(existing) => {
                    *existing = sub;
                    SubscribeOutcome::Replaced
                }
                None => {
                    value.plain.push(sub);
                    if let Some(c) = self.clients.get_mut(slot as usize) {
                        if c.plain.capacity() == 0 {
                            // Most clients have one subscription: do not start at the default capacity of 4.
                            c.plain.reserve_exact(1);
                        }
                        c.plain.push(node);
                    }
                    SubscribeOutcome::New
                }
            },
            Some(name) => {
                let groups = value.shared.get_or_insert_with(Default::default);
                let group = match groups.iter().position(|g| &*g.name == name) {
                    Some(i) => groups.get_mut(i),
                    None => {
                        groups.push(Group {
                            name: Box::from(name),
                            members: Vec::new(),
                            state: AtomicU64::new(0),
                        });
                        groups.last_mut()
                    }
                };
                let Some(group) = group else {
                    return Err(Error::CapacityExhausted);
                };
                match group.members.iter_mut().find(|s| s.client == slot) {
                    Some(existing) => {
                        *existing = sub;
                        SubscribeOutcome::Replaced
                    }
                    None => {
                        group.members.push(sub);
                        if let Some(c) = self.clients.get_mut(slot as usize) {
                            c.shared
                                .get_or_insert_with(Default::default)
                                .push((node, Box::from(name)));
                        }
                        SubscribeOutcome::New
                    }
                }
            }
        };
        if outcome == SubscribeOutcome::New {
            self.subscriptions += 1;
        }
        Ok(outcome)
    }

    /// Removes `client`'s subscription with exactly this filter (shared or not). Returns whether there was one
    /// (a v5 UNSUBACK answers No Subscription Existed otherwise). Nodes left empty are freed.
    pub fn unsubscribe(&mut self, client: &C, filter: &TopicFilter) -> bool {
        let Some(slot) = self.lookup(client) else { return false };
        let Some(node) = self.trie.find(filter.levels()) else {
            return false;
        };
        let removed = match filter.share_group() {
            None => self.remove_plain(slot, node),
            Some(group) => self.remove_shared(slot, node, group),
        };
        if removed {
            if let Some(c) = self.clients.get_mut(slot as usize) {
                match filter.share_group() {
                    None => {
                        if let Some(i) = c.plain.iter().position(|&n| n == node) {
                            c.plain.swap_remove(i);
                        }
                    }
                    Some(group) => {
                        if let Some(shared) = c.shared.as_mut()
                            && let Some(i) = shared.iter().position(|(n, g)| *n == node && &**g == group)
                        {
                            shared.swap_remove(i);
                            if shared.is_empty() {
                                c.shared = None;
                            }
                        }
                    }
                }
            }
            self.trie.prune(node);
            self.release_client_if_idle(slot);
        }
        removed
    }

    /// Removes every subscription of `client` (on disconnect of a clean session, or session expiry) and
    /// returns how many there were. Costs as much as the client's subscriptions, not the whole trie.
    pub fn remove_client(&mut self, client: &C) -> usize {
        let Some(slot) = self.lookup(client) else { return 0 };
        let Some(entry) = self.clients.get_mut(slot as usize) else {
            return 0;
        };
        let plain = std::mem::take(&mut entry.plain);
        let shared = std::mem::take(&mut entry.shared);
        let mut removed = 0;
        for node in plain {
            if self.remove_plain(slot, node) {
                removed += 1;
            }
            self.trie.prune(node);
        }
        for (node, group) in shared.map(|s| *s).unwrap_or_default() {
            if self.remove_shared(slot, node, &group) {
                removed += 1;
            }
            self.trie.prune(node);
        }
        self.release_client_if_idle(slot);
        removed
    }

    /// Calls `visitor` once for every subscription whose filter matches `topic`, and once for the member
    /// picked from each matching share group. Allocates nothing.
    ///
    /// This is the raw match: overlapping subscriptions of one client each appear, and No Local is not
    /// applied. [`Router::deliveries`] does both. `publisher` is only passed on to the share strategy.
    pub fn visit<'r>(&'r self, topic: &TopicName, publisher: Option<&C>, mut visitor: impl FnMut(Match<'r, C>)) {
        self.visit_subscriptions(topic.as_str(), publisher, |sub, share_group| {
            visitor(Match {
                client: &sub.client_id,
                options: sub.options,
                subscription_id: sub.id,
                share_group,
            });
        });
    }

    /// Fills `out` with the deliveries `topic` causes: one per client for its non-shared subscriptions (highest
    /// QoS of the matching ones [MQTT-3.3.4-2] and every subscription identifier among them [MQTT-3.3.4-3]),
    /// skipping No Local subscriptions of `publisher` [MQTT-3.8.3-3]; plus one per matching share group, for
    /// the member the strategy picked (a separate copy, spec 4.8.2).
    ///
    /// `out` is reused between calls: once it has grown to the router's size this allocates nothing.
    pub fn deliveries(&self, topic: &TopicName, publisher: Option<&C>, out: &mut Deliveries<C>) {
        out.begin(self.clients.len());
        let publisher_slot = publisher.and_then(|p| self.lookup(p));
        self.visit_subscriptions(topic.as_str(), publisher, |sub, share_group| {
            if share_group.is_none() && sub.options.no_local && Some(sub.client) == publisher_slot {
                return;
            }
            out.add(sub, share_group.is_some());
        });
        out.finish();
    }

    fn visit_subscriptions<'r>(
        &'r self,
        topic: &str,
        publisher: Option<&C>,
        mut f: impl FnMut(&'r Subscription<C>, Option<&'r str>),
    ) {
        let mut on_node = |subs: &'r Subscribers<C>| {
            for sub in subs.plain.as_slice() {
                f(sub, None);
            }
            if let Some(groups) = &subs.shared {
                for group in groups.iter() {
                    if group.members.is_empty() {
                        continue;
                    }
                    let pick = Pick {
                        group: &group.name,
                        topic,
                        publisher,
                        members: Members { subs: &group.members },
                        state: &group.state,
                    };
                    let index = self.strategy.pick(&pick) % group.members.len();
                    if let Some(sub) = group.members.get(index) {
                        f(sub, Some(&group.name));
                    }
                }
            }
        };
        // An empty name only stands for a topic alias that the session resolves before routing; it matches
        // nothing (not even `#`).
        if topic.is_empty() {
            return;
        }
        let root = self.trie.root();
        // [MQTT-4.7.2-1]: a filter starting with a wildcard does not match a topic starting with `$`.
        if !topic.starts_with('$') {
            if let Some(hash) = self.trie.get(root.hash) {
                on_node(&hash.value);
            }
            if let Some(plus) = self.trie.get(root.plus) {
                self.descend(plus, topic.split_once('/').map(|(_, tail)| tail), &mut on_node);
            }
        }
        let (level, tail) = split_level(topic);
        if let Some(child) = self.trie.literal_child(root, level).and_then(|id| self.trie.get(id)) {
            self.descend(child, tail, &mut on_node);
        }
    }

    /// At `node`, which matched the previous level; `rest` is what is left of the topic (`None`: nothing).
    fn descend<'r, F: FnMut(&'r Subscribers<C>)>(
        &'r self,
        node: &'r Node<Subscribers<C>>,
        rest: Option<&str>,
        f: &mut F,
    ) {
        match rest {
            None => {
                f(&node.value);
                // `a/#` also matches `a` (spec 4.7.1.2).
                if let Some(hash) = self.trie.get(node.hash) {
                    f(&hash.value);
                }
            }
            Some(rest) => {
                if let Some(hash) = self.trie.get(node.hash) {
                    f(&hash.value);
                }
                let (level, tail) = split_level(rest);
                if let Some(plus) = self.trie.get(node.plus) {
                    self.descend(plus, tail, f);
                }
                if let Some(child) = self.trie.literal_child(node, level).and_then(|id| self.trie.get(id)) {
                    self.descend(child, tail, f);
                }
            }
        }
    }

    /// The slot of `client`, if it has subscriptions.
    fn lookup(&self, client: &C) -> Option<u32> {
        let hash = self.hasher.hash_one(client);
        let clients = &self.clients;
        self.index
            .find(hash, |&slot| {
                clients.get(slot as usize).and_then(|c| c.id.as_ref()) == Some(client)
            })
            .copied()
    }

    /// The slot of `client`, registering it if it is new.
    fn client_slot(&mut self, client: C) -> Result<u32, Error> {
        if let Some(slot) = self.lookup(&client) {
            return Ok(slot);
        }
        let hash = self.hasher.hash_one(&client);
        let slot = match self.free_clients.pop() {
            Some(slot) => slot,
            None => {
                let slot = u32::try_from(self.clients.len()).map_err(|_| Error::CapacityExhausted)?;
                self.clients.push(ClientSlot {
                    id: None,
                    plain: Vec::new(),
                    shared: None,
                });
                slot
            }
        };
        let Some(entry) = self.clients.get_mut(slot as usize) else {
            return Err(Error::CapacityExhausted);
        };
        entry.id = Some(client);
        let (clients, hasher) = (&self.clients, &self.hasher);
        self.index.insert_unique(hash, slot, |&s| {
            clients
                .get(s as usize)
                .and_then(|c| c.id.as_ref())
                .map_or(0, |id| hasher.hash_one(id))
        });
        Ok(slot)
    }

    fn release_client_if_idle(&mut self, slot: u32) {
        let Some(entry) = self.clients.get_mut(slot as usize) else {
            return;
        };
        if !entry.plain.is_empty() || entry.shared.is_some() {
            return;
        }
        entry.plain = Vec::new();
        let Some(id) = entry.id.as_ref() else { return };
        let hash = self.hasher.hash_one(id);
        if let Ok(found) = self.index.find_entry(hash, |&s| s == slot) {
            found.remove();
        }
        if let Some(entry) = self.clients.get_mut(slot as usize) {
            entry.id = None;
        }
        self.free_clients.push(slot);
    }

    fn remove_plain(&mut self, slot: u32, node: NodeId) -> bool {
        let Some(value) = self.trie.get_mut(node).map(|n| &mut n.value) else {
            return false;
        };
        if !value.plain.remove(slot) {
            return false;
        }
        self.subscriptions -= 1;
        true
    }

    fn remove_shared(&mut self, slot: u32, node: NodeId, group: &str) -> bool {
        let Some(value) = self.trie.get_mut(node).map(|n| &mut n.value) else {
            return false;
        };
        let Some(groups) = value.shared.as_mut() else {
            return false;
        };
        let Some(g) = groups.iter().position(|g| &*g.name == group) else {
            return false;
        };
        let Some(members) = groups.get_mut(g).map(|g| &mut g.members) else {
            return false;
        };
        let Some(i) = members.iter().position(|s| s.client == slot) else {
            return false;
        };
        members.swap_remove(i);
        if members.is_empty() {
            groups.swap_remove(g);
        }
        if groups.is_empty() {
            value.shared = None;
        }
        self.subscriptions -= 1;
        true
    }
}

/// Splits the first level off a topic: `("a", Some("b/c"))` for `"a/b/c"`, `("c", None)` for `"c"`.
#[inline]
fn split_level(topic: &str) -> (&str, Option<&str>) {
    match topic.split_once('/') {
        Some((level, tail)) => (level, Some(tail)),
        None => (topic, None),
    }
}

#[cfg(test)]
mod tests {
    use std::num::NonZeroU32;

    use mqtt_codec::QoS;

    use super::*;
    use crate::shared::{HashClientId, Random, Sticky};

    fn f(s: &str) -> TopicFilter {
        TopicFilter::try_from(s).unwrap()
    }

    fn t(s: &str) -> TopicName {
        TopicName::try_from(s).unwrap()
    }

    fn opts(qos: QoS) -> SubscriptionOptions {
        SubscriptionOptions::new(qos)
    }

    /// Clients matched by `topic`, sorted, with duplicates kept.
    fn matched<S: ShareStrategy<u32>>(r: &Router<u32, S>, topic: &str) -> Vec<u32> {
        let mut out = Vec::new();
        r.visit(&t(topic), None, |m| out.push(*m.client));
        out.sort_unstable();
        out
    }

    /// A router where client `i` subscribes to `filters[i]`.
    fn router_of(filters: &[&str]) -> Router<u32> {
        let mut r = Router::new();
        for (i, filter) in filters.iter().enumerate() {
            r.subscribe(i as u32, &f(filter), SubscriptionOptions::default(), None)
                .unwrap();
        }
        r
    }

    #[test]
    fn wildcards_follow_spec_4_7_examples() {
        let r = router_of(&[
            "sport/tennis/player1/#", // 0
            "sport/#",                // 1
            "sport/tennis/+",         // 2
            "sport/+",                // 3
            "+/+",                    // 4
            "/+",                     // 5
            "+",                      // 6
            "#",                      // 7
        ]);
        assert_eq!(matched(&r, "sport/tennis/player1"), [0, 1, 2, 7]);
        assert_eq!(matched(&r, "sport/tennis/player1/ranking"), [0, 1, 7]);
        assert_eq!(matched(&r, "sport/tennis/player1/score/wimbledon"), [0, 1, 7]);
        assert_eq!(
            matched(&r, "sport"),
            [1, 6, 7],
            "`sport/#` matches the parent level, `sport/+` does not"
        );
        assert_eq!(matched(&r, "sport/"), [1, 3, 4, 7], "`sport/+` matches the empty level");
        assert_eq!(matched(&r, "/finance"), [4, 5, 7], "`+` does not match `/finance`");
    }

    #[test]
    fn dollar_topics_are_not_matched_by_leading_wildcards() {
        // [MQTT-4.7.2-1]
        let r = router_of(&[
            "#",
            "+/monitor/Clients",
            "$SYS/#",
            "$SYS/monitor/+",
            "+",
            "$SYS/monitor/Clients",
        ]);
        assert_eq!(matched(&r, "$SYS/monitor/Clients"), [2, 3, 5]);
        assert_eq!(matched(&r, "$SYS"), [2]);
        assert_eq!(matched(&r, "$"), Vec::<u32>::new());
        // Only the first level counts: `a/+` matches `a/$x`.
        let r = router_of(&["a/+", "a/#"]);
        assert_eq!(matched(&r, "a/$x"), [0, 1]);
    }

    #[test]
    fn empty_levels_are_levels() {
        let r = router_of(&["a//b", "a/+/b", "+/+/+", "a/b", "a/#", "/", "+/+", "#"]);
        assert_eq!(matched(&r, "a//b"), [0, 1, 2, 4, 7]);
        assert_eq!(matched(&r, "/"), [5, 6, 7]);
        assert_eq!(matched(&r, "a/b"), [3, 4, 6, 7]);
        assert_eq!(matched(&r, "a"), [4, 7]);
    }

    #[test]
    fn unsubscribe_prunes_back_to_the_previous_node_count() {
        let mut r = router_of(&["fleet/eu/+/status", "fleet/#"]);
        let before = r.node_count();
        r.subscribe(9, &f("fleet/eu/dev-1/cmd/x/y"), opts(QoS::AtMostOnce), None)
            .unwrap();
        r.subscribe(9, &f("$share/g/fleet/eu/+/deep/#"), opts(QoS::AtMostOnce), None)
            .unwrap();
        assert!(r.node_count() > before);
        assert!(r.unsubscribe(&9, &f("fleet/eu/dev-1/cmd/x/y")));
        assert!(r.unsubscribe(&9, &f("$share/g/fleet/eu/+/deep/#")));
        assert_eq!(r.node_count(), before);
        assert_eq!(r.client_count(), 2);
        assert!(!r.unsubscribe(&9, &f("fleet/eu/dev-1/cmd/x/y")), "already gone");
        assert!(!r.unsubscribe(&0, &f("fleet/eu/+/nothing")), "never there");
        assert!(
            !r.unsubscribe(&0, &f("$share/g/fleet/eu/+/status")),
            "shared is a different subscription"
        );
        assert!(r.unsubscribe(&0, &f("fleet/eu/+/status")));
        assert!(r.unsubscribe(&1, &f("fleet/#")));
        assert_eq!((r.node_count(), r.subscription_count(), r.client_count()), (1, 0, 0));
    }

    #[test]
    fn remove_client_drops_every_subscription_and_prunes() {
        let mut r = router_of(&["a/b"]);
        let before = r.node_count();
        for filter in [
            "x/+/y",
            "x/#",
            "a/b",
            "$share/g/x/+/y",
            "$share/h/x/+/y",
            "deep/1/2/3/4",
        ] {
            r.subscribe(7, &f(filter), opts(QoS::AtLeastOnce), None).unwrap();
        }
        assert_eq!(r.subscription_count(), 7);
        assert_eq!(r.remove_client(&7), 6);
        assert_eq!(r.remove_client(&7), 0);
        assert_eq!(
            (r.node_count(), r.subscription_count(), r.client_count()),
            (before, 1, 1)
        );
        assert_eq!(matched(&r, "a/b"), [0]);
    }

    #[test]
    fn resubscribing_replaces_options() {
        // [MQTT-3.8.4-3]
        let mut r: Router<u32> = Router::new();
        let id = NonZeroU32::new(5);
        assert_eq!(
            r.subscribe(1, &f("a/+"), opts(QoS::AtMostOnce), None).unwrap(),
            SubscribeOutcome::New
        );
        assert_eq!(
            r.subscribe(1, &f("a/+"), opts(QoS::ExactlyOnce), id).unwrap(),
            SubscribeOutcome::Replaced
        );
        assert_eq!(r.subscription_count(), 1);
        let mut seen = Vec::new();
        r.visit(&t("a/b"), None, |m| seen.push((m.options.qos, m.subscription_id)));
        assert_eq!(seen, [(QoS::ExactlyOnce, id)]);
        let shared = f("$share/g/a/+");
        assert_eq!(
            r.subscribe(1, &shared, opts(QoS::AtMostOnce), None).unwrap(),
            SubscribeOutcome::New
        );
        assert_eq!(
            r.subscribe(1, &shared, opts(QoS::AtLeastOnce), None).unwrap(),
            SubscribeOutcome::Replaced
        );
        assert_eq!(r.subscription_count(), 2);
    }

    #[test]
    fn bad_subscriptions_are_errors_and_change_nothing() {
        let mut r: Router<u32> = Router::new().with_max_levels(3);
        let no_local = SubscriptionOptions {
            no_local: true,
            ..SubscriptionOptions::default()
        };
        let err = r.subscribe(1, &f("$share/g/a"), no_local, None).unwrap_err();
        assert_eq!(err, Error::NoLocalOnSharedSubscription);
        assert_eq!(err.spec_ref(), Some("MQTT-3.8.3-4"));
        let err = r
            .subscribe(1, &f("a/b/c/d"), SubscriptionOptions::default(), None)
            .unwrap_err();
        assert_eq!(err, Error::TooManyLevels { levels: 4, max: 3 });
        assert_eq!(err.reason_code(), mqtt_codec::ReasonCode::TopicFilterInvalid);
        assert_eq!((r.node_count(), r.subscription_count(), r.client_count()), (1, 0, 0));
        // A topic deeper than any filter is fine to match.
        r.subscribe(1, &f("a/#"), SubscriptionOptions::default(), None).unwrap();
        assert_eq!(matched(&r, "a/b/c/d/e/f/g"), [1]);
    }

    fn shared_router<S: ShareStrategy<u32>>(strategy: S) -> Router<u32, S> {
        let mut r = Router::with_strategy(strategy);
        for member in [10, 11, 12] {
            r.subscribe(member, &f("$share/g/jobs/+"), SubscriptionOptions::default(), None)
                .unwrap();
        }
        r.subscribe(20, &f("$share/h/jobs/#"), SubscriptionOptions::default(), None)
            .unwrap();
        r.subscribe(21, &f("$share/h/jobs/#"), SubscriptionOptions::default(), None)
            .unwrap();
        r.subscribe(30, &f("jobs/+"), SubscriptionOptions::default(), None)
            .unwrap();
        r
    }

    /// (members of g picked, members of h picked, plain) for one message.
    fn picks<S: ShareStrategy<u32>>(r: &Router<u32, S>, publisher: Option<u32>) -> (Vec<u32>, Vec<u32>, Vec<u32>) {
        let (mut g, mut h, mut plain) = (Vec::new(), Vec::new(), Vec::new());
        r.visit(&t("jobs/1"), publisher.as_ref(), |m| match m.share_group {
            Some("g") => g.push(*m.client),
            Some("h") => h.push(*m.client),
            Some(other) => panic!("unknown group {other}"),
            None => plain.push(*m.client),
        });
        (g, h, plain)
    }

    #[test]
    fn round_robin_gives_each_message_to_one_member_in_turn() {
        let r = shared_router(BuiltinStrategy::RoundRobin);
        let mut counts = [0; 3];
        for _ in 0..30 {
            let (g, h, plain) = picks(&r, None);
            assert_eq!((g.len(), h.len(), plain), (1, 1, vec![30]));
            assert!([20, 21].contains(&h[0]));
            counts[(g[0] - 10) as usize] += 1;
        }
        assert_eq!(counts, [10, 10, 10]);
    }

    #[test]
    fn random_picks_members_only_and_spreads() {
        let r = shared_router(BuiltinStrategy::Random(Random::with_seed(42)));
        let mut counts = [0; 3];
        for _ in 0..300 {
            let (g, h, _) = picks(&r, None);
            assert_eq!((g.len(), h.len()), (1, 1));
            counts[(g[0] - 10) as usize] += 1;
        }
        assert!(counts.iter().all(|&c| c > 50), "{counts:?}");
    }

    #[test]
    fn sticky_keeps_the_member_until_it_leaves() {
        let mut r = shared_router(Sticky);
        let first = picks(&r, None).0[0];
        for _ in 0..10 {
            assert_eq!(picks(&r, None).0, [first]);
        }
        assert!(r.unsubscribe(&first, &f("$share/g/jobs/+")));
        let second = picks(&r, None).0[0];
        assert_ne!(second, first);
        for _ in 0..10 {
            assert_eq!(picks(&r, None).0, [second]);
        }
    }

    #[test]
    fn hash_of_publisher_is_stable_per_publisher() {
        let r = shared_router(HashClientId);
        let mut chosen = std::collections::BTreeSet::new();
        for publisher in 0..50 {
            let pick = picks(&r, Some(publisher)).0;
            assert_eq!(pick.len(), 1);
            for _ in 0..3 {
                assert_eq!(picks(&r, Some(publisher)).0, pick);
            }
            chosen.insert(pick[0]);
        }
        assert_eq!(chosen.len(), 3, "50 publishers spread over all members");
        assert_eq!(picks(&r, None).0, picks(&r, None).0, "no publisher: hash of the topic");
    }

    #[test]
    fn custom_strategy_is_pluggable() {
        /// Always the member with the highest client id.
        struct Highest;
        impl ShareStrategy<u32> for Highest {
            fn pick(&self, pick: &Pick<'_, u32>) -> usize {
                let m = pick.members();
                (0..m.len()).max_by_key(|&i| m.client(i).copied()).unwrap_or(0)
            }
        }
        let r = shared_router(Highest);
        assert_eq!(picks(&r, None), (vec![12], vec![21], vec![30]));
    }

    #[test]
    fn deliveries_collapse_overlapping_subscriptions() {
        // [MQTT-3.3.4-2] highest QoS, [MQTT-3.3.4-3] every identifier, one copy per client.
        let mut r: Router<u32> = Router::new();
        let id = |n| NonZeroU32::new(n);
        r.subscribe(1, &f("a/+"), opts(QoS::AtMostOnce), id(1)).unwrap();
        r.subscribe(1, &f("a/#"), opts(QoS::ExactlyOnce), id(2)).unwrap();
        r.subscribe(1, &f("#"), opts(QoS::AtLeastOnce), None).unwrap();
        let rap = SubscriptionOptions {
            retain_as_published: true,
            ..opts(QoS::AtMostOnce)
        };
        r.subscribe(1, &f("a/b"), rap, id(3)).unwrap();
        r.subscribe(2, &f("a/b"), opts(QoS::AtLeastOnce), None).unwrap();
        r.subscribe(1, &f("$share/g/a/b"), opts(QoS::AtMostOnce), id(4))
            .unwrap();
        let mut out = Deliveries::new();
        r.deliveries(&t("a/b"), None, &mut out);
        let mut got: Vec<_> = out
            .iter()
            .map(|d| {
                let mut ids: Vec<u32> = d.subscription_ids.iter().map(|i| i.get()).collect();
                ids.sort_unstable();
                (*d.client, d.qos, d.retain_as_published, ids, d.shared)
            })
            .collect();
        got.sort();
        assert_eq!(
            got,
            [
                (1, QoS::AtMostOnce, false, vec![4], true),
                (1, QoS::ExactlyOnce, true, vec![1, 2, 3], false),
                (2, QoS::AtLeastOnce, false, vec![], false),
            ]
        );
        // The buffer is reused: a second, smaller result replaces the first.
        r.deliveries(&t("x"), None, &mut out);
        assert_eq!(out.iter().map(|d| *d.client).collect::<Vec<_>>(), [1]);
        r.deliveries(&t("$SYS/x"), None, &mut out);
        assert!(out.is_empty());
    }

    #[test]
    fn deliveries_collapse_with_many_clients() {
        // Past the first few deliveries the buffer switches from scanning to its per-client index.
        let mut r: Router<u32> = Router::new();
        for c in 0..40 {
            r.subscribe(c, &f("a/+"), opts(QoS::AtMostOnce), NonZeroU32::new(c + 1))
                .unwrap();
            r.subscribe(c, &f("$share/g/a/b"), opts(QoS::AtMostOnce), None).unwrap();
            r.subscribe(c, &f("a/#"), opts(QoS::AtLeastOnce), NonZeroU32::new(c + 100))
                .unwrap();
        }
        let mut out = Deliveries::new();
        for _ in 0..3 {
            r.deliveries(&t("a/b"), None, &mut out);
            assert_eq!(out.len(), 41);
            assert_eq!(out.iter().filter(|d| d.shared).count(), 1);
            for d in out.iter().filter(|d| !d.shared) {
                let mut ids: Vec<u32> = d.subscription_ids.iter().map(|i| i.get()).collect();
                ids.sort_unstable();
                assert_eq!((d.qos, ids), (QoS::AtLeastOnce, vec![d.client + 1, d.client + 100]));
            }
        }
    }

    #[test]
    fn no_local_suppresses_delivery_to_the_publisher_only() {
        // [MQTT-3.8.3-3]
        let mut r: Router<u32> = Router::new();
        let no_local = SubscriptionOptions {
            no_local: true,
            ..opts(QoS::ExactlyOnce)
        };
        r.subscribe(1, &f("chat/#"), no_local, NonZeroU32::new(8)).unwrap();
        r.subscribe(1, &f("chat/+"), opts(QoS::AtMostOnce), None).unwrap();
        r.subscribe(2, &f("chat/#"), no_local, None).unwrap();
        let mut out = Deliveries::new();
        r.deliveries(&t("chat/room"), Some(&1), &mut out);
        let mut got: Vec<_> = out
            .iter()
            .map(|d| (*d.client, d.qos, d.subscription_ids.len()))
            .collect();
        got.sort();
        // Client 1 still gets the message through its other subscription, at that subscription's QoS only.
        assert_eq!(got, [(1, QoS::AtMostOnce, 0), (2, QoS::ExactlyOnce, 0)]);
        r.deliveries(&t("chat/room"), Some(&2), &mut out);
        let got: Vec<_> = out.iter().map(|d| (*d.client, d.qos)).collect();
        assert_eq!(got, [(1, QoS::ExactlyOnce)]);
    }

    #[test]
    fn slots_are_reused_after_clients_leave() {
        let mut r: Router<String> = Router::new();
        r.subscribe("a".into(), &f("x"), opts(QoS::AtMostOnce), None).unwrap();
        r.subscribe("b".into(), &f("x"), opts(QoS::AtMostOnce), None).unwrap();
        assert_eq!(r.remove_client(&"a".to_string()), 1);
        r.subscribe("c".into(), &f("x"), opts(QoS::AtMostOnce), None).unwrap();
        assert_eq!(r.clients.len(), 2);
        let mut out = Deliveries::new();
        r.deliveries(&t("x"), None, &mut out);
        let mut got: Vec<_> = out.iter().map(|d| d.client.clone()).collect();
        got.sort();
        assert_eq!(got, ["b", "c"]);
    }

    #[test]
    fn an_empty_topic_matches_nothing() {
        // Only a v5 alias-only PUBLISH has an empty topic name; it must be resolved before routing.
        let r = router_of(&["#", "+", "/"]);
        let mut n = 0;
        r.visit_subscriptions("", None, |_, _| n += 1);
        assert_eq!(n, 0);
    }

    #[test]
    fn router_is_send_and_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Router<u64>>();
        assert_send_sync::<Router<std::sync::Arc<str>, HashClientId>>();
        assert_send_sync::<Deliveries<u64>>();
    }
}
