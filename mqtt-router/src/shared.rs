//! Shared subscriptions (`$share/{group}/{filter}`, spec 4.8.2): each message that matches the filter goes to
//! exactly one member of the group, chosen by a [`ShareStrategy`].
//!
//! The router keeps one [`AtomicU64`] of state per group and hands it to the strategy, so strategies that need
//! memory (round-robin, sticky) work while matching takes `&self` from many threads.

use std::hash::{BuildHasher, Hash};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::router::Subscription;

/// Picks the one member of a share group that receives a message.
///
/// Implement it to plug in your own policy (least-loaded, by topic, ...). It is called with the router borrowed
/// shared, possibly from many threads at once: keep per-group memory in [`Pick::state`] and anything else in
/// atomics or locks of your own.
pub trait ShareStrategy<C>: Send + Sync {
    /// Returns the index of the chosen member, in `0..pick.members().len()` (it is reduced modulo the
    /// length, so any value is safe). Never called for an empty group.
    fn pick(&self, pick: &Pick<'_, C>) -> usize;
}

/// What a [`ShareStrategy`] sees of one message and one share group.
pub struct Pick<'a, C> {
    pub(crate) group: &'a str,
    pub(crate) topic: &'a str,
    pub(crate) publisher: Option<&'a C>,
    pub(crate) members: Members<'a, C>,
    pub(crate) state: &'a AtomicU64,
}

impl<'a, C> Pick<'a, C> {
    /// The share name.
    pub fn group(&self) -> &'a str {
        self.group
    }

    /// The topic of the message being routed.
    pub fn topic(&self) -> &'a str {
        self.topic
    }

    /// The client that published the message, if the caller said.
    pub fn publisher(&self) -> Option<&'a C> {
        self.publisher
    }

    /// The group's members; never empty.
    pub fn members(&self) -> &Members<'a, C> {
        &self.members
    }

    /// A word of state owned by this group, starting at 0, for the strategy to use as it likes.
    pub fn state(&self) -> &'a AtomicU64 {
        self.state
    }
}

/// The members of a share group, in an order that changes only when members join or leave.
pub struct Members<'a, C> {
    pub(crate) subs: &'a [Subscription<C>],
}

impl<'a, C> Members<'a, C> {
    /// Number of members.
    pub fn len(&self) -> usize {
        self.subs.len()
    }

    /// True when the group has no members (never the case inside [`ShareStrategy::pick`]).
    pub fn is_empty(&self) -> bool {
        self.subs.is_empty()
    }

    /// The client id of member `index`.
    pub fn client(&self, index: usize) -> Option<&'a C> {
        self.subs.get(index).map(|s| &s.client_id)
    }

    /// A small number that identifies member `index`'s client for as long as it stays in the router (it may be
    /// reused after the client's last subscription is removed). Cheaper to compare than the client id.
    pub fn key(&self, index: usize) -> Option<u32> {
        self.subs.get(index).map(|s| s.client)
    }

    /// Index of the member whose [`Members::key`] is `key`.
    pub fn position_of_key(&self, key: u32) -> Option<usize> {
        self.subs.iter().position(|s| s.client == key)
    }
}

/// Take turns: member `n mod len` for the `n`-th message of the group.
#[derive(Debug, Clone, Copy, Default)]
pub struct RoundRobin;

impl<C> ShareStrategy<C> for RoundRobin {
    fn pick(&self, pick: &Pick<'_, C>) -> usize {
        let n = pick.state.fetch_add(1, Ordering::Relaxed);
        (n % pick.members.len().max(1) as u64) as usize
    }
}

/// A uniformly random member (splitmix64 over the group's state word mixed with a per-strategy seed; not
/// cryptographic).
#[derive(Debug, Clone, Copy)]
pub struct Random {
    seed: u64,
}

impl Random {
    /// A strategy with a seed from the process's random hasher keys.
    pub fn new() -> Self {
        Random {
            seed: std::collections::hash_map::RandomState::new().hash_one(0x5eed_u64),
        }
    }

    /// A strategy with a fixed seed, for reproducible tests.
    pub const fn with_seed(seed: u64) -> Self {
        Random { seed }
    }
}

impl Default for Random {
    fn default() -> Self {
        Random::new()
    }
}

fn splitmix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

impl<C> ShareStrategy<C> for Random {
    fn pick(&self, pick: &Pick<'_, C>) -> usize {
        const GAMMA: u64 = 0x9e37_79b9_7f4a_7c15;
        let n = pick.state.fetch_add(GAMMA, Ordering::Relaxed).wrapping_add(GAMMA);
        (splitmix64(n ^ self.seed) % pick.members.len().max(1) as u64) as usize
    }
}

/// Keep sending to the same member while it stays in the group; when it leaves, move on to the next one.
#[derive(Debug, Clone, Copy, Default)]
pub struct Sticky;

impl<C> ShareStrategy<C> for Sticky {
    fn pick(&self, pick: &Pick<'_, C>) -> usize {
        // State: 0 = nobody chosen yet, otherwise the chosen member's key + 1.
        let chosen = pick.state.load(Ordering::Relaxed);
        if let Some(key) = chosen.checked_sub(1).and_then(|k| u32::try_from(k).ok())
            && let Some(index) = pick.members.position_of_key(key)
        {
            return index;
        }
        // Whoever wins the race to choose is the one everybody sticks to.
        let index = 0;
        let key = pick.members.key(index).map_or(0, |k| u64::from(k) + 1);
        match pick
            .state
            .compare_exchange(chosen, key, Ordering::Relaxed, Ordering::Relaxed)
        {
            Ok(_) => index,
            Err(other) => other
                .checked_sub(1)
                .and_then(|k| u32::try_from(k).ok())
                .and_then(|k| pick.members.position_of_key(k))
                .unwrap_or(index),
        }
    }
}

/// Hash of the publisher's client id: every message of one publisher goes to the same member (while the group
/// does not change), so per-publisher order is kept. Messages without a publisher hash their topic instead.
/// The hash is SipHash with fixed keys, so the mapping is the same in every process.
#[derive(Debug, Clone, Copy, Default)]
pub struct HashClientId;

impl<C: Hash> ShareStrategy<C> for HashClientId {
    fn pick(&self, pick: &Pick<'_, C>) -> usize {
        let fixed = std::hash::BuildHasherDefault::<std::collections::hash_map::DefaultHasher>::default();
        let h = match pick.publisher {
            Some(p) => fixed.hash_one(p),
            None => fixed.hash_one(pick.topic),
        };
        (h % pick.members.len().max(1) as u64) as usize
    }
}

/// The built-in strategies, chosen per router at run time. [`BuiltinStrategy::RoundRobin`] is the default.
#[derive(Debug, Clone, Copy, Default)]
pub enum BuiltinStrategy {
    /// See [`RoundRobin`].
    #[default]
    RoundRobin,
    /// See [`Random`].
    Random(Random),
    /// See [`Sticky`].
    Sticky,
    /// See [`HashClientId`].
    HashClientId,
}

impl<C: Hash> ShareStrategy<C> for BuiltinStrategy {
    fn pick(&self, pick: &Pick<'_, C>) -> usize {
        match self {
            BuiltinStrategy::RoundRobin => RoundRobin.pick(pick),
            BuiltinStrategy::Random(r) => r.pick(pick),
            BuiltinStrategy::Sticky => Sticky.pick(pick),
            BuiltinStrategy::HashClientId => HashClientId.pick(pick),
        }
    }
}

/// Wraps a strategy so that it picks only among the members for which `available` holds, for as long as there
/// is one; when none is, the inner strategy's own pick stands.
///
/// A broker uses it to keep new shared messages away from members whose persistent session has no connection
/// right now (they would wait in that member's queue while other members sit idle), with the inner strategy
/// still deciding among the connected ones. [`RoundRobin`] stays exactly fair over the available members: an
/// unavailable pick is retried, and each retry advances the turn. Strategies that keep answering the same
/// member ([`Sticky`], [`HashClientId`]) fall through to the next available member after it, in member order.
///
/// ```
/// use std::sync::atomic::{AtomicBool, Ordering};
/// use std::sync::Arc;
/// use mqtt_router::{Available, Deliveries, RoundRobin, Router, SubscriptionOptions, TopicFilter, TopicName};
///
/// #[derive(Clone)]
/// struct Client { id: &'static str, online: Arc<AtomicBool> }
/// impl PartialEq for Client { fn eq(&self, o: &Self) -> bool { self.id == o.id } }
/// impl Eq for Client {}
/// impl std::hash::Hash for Client { fn hash<H: std::hash::Hasher>(&self, h: &mut H) { self.id.hash(h) } }
///
/// let strategy = Available::new(RoundRobin, |c: &Client| c.online.load(Ordering::Relaxed));
/// let mut router = Router::with_strategy(strategy);
/// let a = Client { id: "a", online: Arc::new(AtomicBool::new(true)) };
/// let b = Client { id: "b", online: Arc::new(AtomicBool::new(false)) };
/// let filter = TopicFilter::try_from("$share/g/jobs").unwrap();
/// router.subscribe(a.clone(), &filter, SubscriptionOptions::default(), None).unwrap();
/// router.subscribe(b.clone(), &filter, SubscriptionOptions::default(), None).unwrap();
///
/// let topic = TopicName::try_from("jobs").unwrap();
/// let mut out = Deliveries::new();
/// for _ in 0..4 {
///     router.deliveries(&topic, None, &mut out);
///     assert_eq!(out.iter().map(|d| d.client.id).collect::<Vec<_>>(), ["a"]); // b is offline
/// }
/// ```
pub struct Available<S, F> {
    inner: S,
    available: F,
}

impl<S, F> Available<S, F> {
    /// `inner` picks; `available` says whether a member may receive a message now.
    pub const fn new(inner: S, available: F) -> Self {
        Available { inner, available }
    }

    /// The wrapped strategy.
    pub fn inner(&self) -> &S {
        &self.inner
    }
}

impl<S: std::fmt::Debug, F> std::fmt::Debug for Available<S, F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Available")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

impl<C, S, F> ShareStrategy<C> for Available<S, F>
where
    S: ShareStrategy<C>,
    F: Fn(&C) -> bool + Send + Sync,
{
    fn pick(&self, pick: &Pick<'_, C>) -> usize {
        let len = pick.members.len().max(1);
        let is_available = |index: usize| pick.members.client(index).is_some_and(|c| (self.available)(c));
        let first = self.inner.pick(pick) % len;
        if is_available(first) {
            return first;
        }
        // Nobody available: the inner pick stands, and the inner strategy moved on exactly once.
        if !(1..len).any(|step| is_available((first + step) % len)) {
            return first;
        }
        // Retry while the inner strategy moves on (round-robin, random), at most once per member.
        let mut last = first;
        for _ in 1..len {
            let next = self.inner.pick(pick) % len;
            if is_available(next) {
                return next;
            }
            if next == last {
                break;
            }
            last = next;
        }
        // The inner strategy insists on an unavailable member: take the next available one after it.
        (1..len)
            .map(|step| (last + step) % len)
            .find(|&index| is_available(index))
            .unwrap_or(first)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::router::Subscription;
    use proptest::prelude::*;

    fn members(n: usize) -> Vec<Subscription<u32>> {
        (0..n as u32)
            .map(|i| Subscription {
                client: i,
                client_id: i,
                options: mqtt_codec::SubscriptionOptions::default(),
                id: None,
            })
            .collect()
    }

    fn pick_once<S: ShareStrategy<u32>>(s: &S, subs: &[Subscription<u32>], state: &AtomicU64) -> usize {
        let pick = Pick {
            group: "g",
            topic: "t",
            publisher: None,
            members: Members { subs },
            state,
        };
        s.pick(&pick) % subs.len()
    }

    fn strategies() -> impl Strategy<Value = BuiltinStrategy> {
        prop_oneof![
            Just(BuiltinStrategy::RoundRobin),
            any::<u64>().prop_map(|seed| BuiltinStrategy::Random(Random::with_seed(seed))),
            Just(BuiltinStrategy::Sticky),
            Just(BuiltinStrategy::HashClientId),
        ]
    }

    proptest! {
        /// Whatever the inner strategy, the pick is an available member whenever there is one, and the inner
        /// strategy's pick when there is none.
        #[test]
        fn picks_an_available_member_when_there_is_one(
            inner in strategies(),
            online in proptest::collection::vec(any::<bool>(), 1..12),
            rounds in 1usize..30,
        ) {
            let subs = members(online.len());
            let wrapped = Available::new(inner, |c: &u32| online.get(*c as usize).copied().unwrap_or(false));
            let (state, bare_state) = (AtomicU64::new(0), AtomicU64::new(0));
            for _ in 0..rounds {
                let index = pick_once(&wrapped, &subs, &state);
                if online.iter().any(|&o| o) {
                    prop_assert!(online[index], "picked offline member {index} of {online:?}");
                } else {
                    prop_assert_eq!(index, pick_once(&inner, &subs, &bare_state));
                }
            }
        }

        /// Round-robin stays exactly fair over the available members: over k full turns each gets k messages.
        #[test]
        fn round_robin_is_fair_over_available_members(
            online in proptest::collection::vec(any::<bool>(), 1..12),
            turns in 1usize..5,
        ) {
            let available = online.iter().filter(|&&o| o).count();
            prop_assume!(available > 0);
            let subs = members(online.len());
            let wrapped = Available::new(RoundRobin, |c: &u32| online[*c as usize]);
            let state = AtomicU64::new(0);
            let mut counts = vec![0usize; online.len()];
            for _ in 0..turns * available {
                counts[pick_once(&wrapped, &subs, &state)] += 1;
            }
            for (index, &o) in online.iter().enumerate() {
                prop_assert_eq!(counts[index], if o { turns } else { 0 });
            }
        }
    }

    #[test]
    fn all_available_is_the_inner_strategy() {
        let subs = members(5);
        let wrapped = Available::new(RoundRobin, |_: &u32| true);
        let (a, b) = (AtomicU64::new(0), AtomicU64::new(0));
        for _ in 0..12 {
            assert_eq!(pick_once(&wrapped, &subs, &a), pick_once(&RoundRobin, &subs, &b));
        }
    }
}
