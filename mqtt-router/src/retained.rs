//! [`RetainedStore`]: the last retained message of each topic, in a trie walked by the subscriber's filter so a
//! wildcard subscribe visits only the topics it matches.

use std::collections::BTreeSet;
use std::time::Instant;

use bytes::Bytes;
use mqtt_codec::{Message, TopicFilter, TopicName};

use crate::trie::{Node, NodeId, NodeValue, Trie};
use crate::{DEFAULT_MAX_LEVELS, Error};

/// One retained message as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Retained<M> {
    /// Its topic.
    pub topic: TopicName,
    /// Whatever the broker stores: payload, QoS, properties ([`bytes::Bytes`] for just the payload).
    pub message: M,
    /// When it expires (from the v5 Message Expiry Interval); `None` never expires. Expired messages are not
    /// returned; [`RetainedStore::purge_expired`] frees them.
    pub expires_at: Option<Instant>,
}

/// A message type that knows whether its payload is empty, for [`RetainedStore::retain`]'s "an empty payload
/// clears the topic" rule.
pub trait RetainedPayload {
    /// True when the PUBLISH carried a zero-byte payload.
    fn payload_is_empty(&self) -> bool;
}

impl RetainedPayload for Bytes {
    fn payload_is_empty(&self) -> bool {
        self.is_empty()
    }
}

impl RetainedPayload for Vec<u8> {
    fn payload_is_empty(&self) -> bool {
        self.is_empty()
    }
}

/// The application message shared with the session: a [`RetainedStore<Message>`] stores it as it is.
impl RetainedPayload for Message {
    fn payload_is_empty(&self) -> bool {
        self.payload.is_empty()
    }
}

impl<M> NodeValue for Option<Retained<M>> {
    fn is_empty(&self) -> bool {
        self.is_none()
    }
}

/// Retained messages, generic over the stored message `M`.
///
/// Time is always an argument (`now`, `expires_at`); the store never reads a clock.
pub struct RetainedStore<M> {
    trie: Trie<Option<Retained<M>>>,
    /// (expiry, node) of every message that expires, for [`RetainedStore::purge_expired`].
    expiries: BTreeSet<(Instant, NodeId)>,
    len: usize,
    max_levels: usize,
}

impl<M> Default for RetainedStore<M> {
    fn default() -> Self {
        RetainedStore {
            trie: Trie::default(),
            expiries: BTreeSet::new(),
            len: 0,
            max_levels: DEFAULT_MAX_LEVELS,
        }
    }
}

impl<M> RetainedStore<M> {
    /// An empty store.
    pub fn new() -> Self {
        RetainedStore::default()
    }

    /// Sets the deepest topic accepted ([`DEFAULT_MAX_LEVELS`] by default); lookups recurse once per level.
    pub fn with_max_levels(mut self, max_levels: usize) -> Self {
        self.max_levels = max_levels.max(1);
        self
    }

    /// Number of retained messages (expired ones included until purged).
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when nothing is retained.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Number of trie nodes, the root included.
    pub fn node_count(&self) -> usize {
        self.trie.node_count()
    }

    /// Handles a PUBLISH with RETAIN set: an empty payload removes the topic's retained message and is not
    /// stored [MQTT-3.3.1-6] [MQTT-3.3.1-7]; anything else replaces it [MQTT-3.3.1-5]. Returns the message
    /// that was there before.
    pub fn retain(&mut self, topic: TopicName, message: M, expires_at: Option<Instant>) -> Result<Option<M>, Error>
    where
        M: RetainedPayload,
    {
        if message.payload_is_empty() {
            return Ok(self.clear(&topic));
        }
        self.set(topic, message, expires_at)
    }

    /// Stores `message` as the retained message of `topic`, replacing the previous one, which is returned.
    /// Unlike [`RetainedStore::retain`] it stores an empty payload too.
    pub fn set(&mut self, topic: TopicName, message: M, expires_at: Option<Instant>) -> Result<Option<M>, Error> {
        let levels = topic.levels().count();
        if levels > self.max_levels {
            return Err(Error::TooManyLevels {
                levels,
                max: self.max_levels,
            });
        }
        let node = self.trie.ensure(topic.levels())?;
        let Some(slot) = self.trie.get_mut(node).map(|n| &mut n.value) else {
            return Err(Error::CapacityExhausted);
        };
        let previous = slot.replace(Retained {
            topic,
            message,
            expires_at,
        });
        if let Some(at) = previous.as_ref().and_then(|p| p.expires_at) {
            self.expiries.remove(&(at, node));
        }
        if let Some(at) = expires_at {
            self.expiries.insert((at, node));
        }
        if previous.is_none() {
            self.len += 1;
        }
        Ok(previous.map(|p| p.message))
    }

    /// Removes the retained message of `topic` and returns it.
    pub fn clear(&mut self, topic: &TopicName) -> Option<M> {
        let node = self.trie.find(topic.levels())?;
        self.take(node).map(|r| r.message)
    }

    fn take(&mut self, node: NodeId) -> Option<Retained<M>> {
        let previous = self.trie.get_mut(node)?.value.take()?;
        if let Some(at) = previous.expires_at {
            self.expiries.remove(&(at, node));
        }
        self.len -= 1;
        self.trie.prune(node);
        Some(previous)
    }

    /// The retained message of `topic`, unless it has expired at `now`.
    pub fn get(&self, topic: &TopicName, now: Instant) -> Option<&Retained<M>> {
        let node = self.trie.find(topic.levels())?;
        self.trie.get(node)?.value.as_ref().filter(|r| is_live(r, now))
    }

    /// Calls `visitor` with every live retained message whose topic matches `filter`, walking only the branches
    /// of the index that the filter can match. The `$` rule [MQTT-4.7.2-1] applies: `#` and `+` in the first
    /// level do not reach `$` topics.
    ///
    /// For `$share/{group}/{filter}` the filter proper is used; whether to send retained messages to a shared
    /// subscription is the broker's decision (most brokers, like mosquitto, do not).
    pub fn for_each_match<'s>(&'s self, filter: &TopicFilter, now: Instant, mut visitor: impl FnMut(&'s Retained<M>)) {
        let mut levels = filter.levels();
        let root = self.trie.root();
        self.walk(root, &mut levels, true, now, &mut visitor);
    }

    fn walk<'s, 'f>(
        &'s self,
        node: &'s Node<Option<Retained<M>>>,
        levels: &mut std::str::Split<'f, char>,
        at_root: bool,
        now: Instant,
        visitor: &mut impl FnMut(&'s Retained<M>),
    ) {
        match levels.next() {
            None => self.visit_value(node, now, visitor),
            Some("#") => {
                // `a/#` includes `a` itself; at the root there is no message.
                self.visit_value(node, now, visitor);
                for child in node.literal_children().filter_map(|id| self.trie.get(id)) {
                    if !(at_root && child.level_is_dollar()) {
                        self.visit_subtree(child, now, visitor);
                    }
                }
            }
            Some("+") => {
                for child in node.literal_children().filter_map(|id| self.trie.get(id)) {
                    if !(at_root && child.level_is_dollar()) {
                        self.walk(child, &mut levels.clone(), false, now, visitor);
                    }
                }
            }
            Some(level) => {
                if let Some(child) = self.trie.literal_child(node, level).and_then(|id| self.trie.get(id)) {
                    self.walk(child, levels, false, now, visitor);
                }
            }
        }
    }

    fn visit_subtree<'s>(
        &'s self,
        node: &'s Node<Option<Retained<M>>>,
        now: Instant,
        visitor: &mut impl FnMut(&'s Retained<M>),
    ) {
        self.visit_value(node, now, visitor);
        for child in node.literal_children().filter_map(|id| self.trie.get(id)) {
            self.visit_subtree(child, now, visitor);
        }
    }

    fn visit_value<'s>(
        &'s self,
        node: &'s Node<Option<Retained<M>>>,
        now: Instant,
        visitor: &mut impl FnMut(&'s Retained<M>),
    ) {
        if let Some(r) = node.value.as_ref().filter(|r| is_live(r, now)) {
            visitor(r);
        }
    }

    /// Removes every message that has expired at `now` and returns how many. Costs as much as the number
    /// removed (plus a logarithmic lookup), not the size of the store.
    pub fn purge_expired(&mut self, now: Instant) -> usize {
        let mut purged = 0;
        while let Some(&(at, node)) = self.expiries.first() {
            if at > now {
                break;
            }
            self.expiries.remove(&(at, node));
            if self.take(node).is_some() {
                purged += 1;
            }
        }
        purged
    }

    /// Every live retained message, in no particular order (for persistence or an admin listing).
    pub fn iter(&self, now: Instant) -> impl Iterator<Item = &Retained<M>> + '_ {
        let mut out = Vec::new();
        self.visit_subtree(self.trie.root(), now, &mut |r| out.push(r));
        out.into_iter()
    }
}

impl RetainedStore<Message> {
    /// The retain rule for a published [`Message`], its topic and expiry deadline taken from the message: with
    /// RETAIN 0 the store is not touched [MQTT-3.3.1-8]; with RETAIN 1 an empty payload removes the topic's
    /// retained message [MQTT-3.3.1-6] [MQTT-3.3.1-7] and anything else replaces it [MQTT-3.3.1-5]. Returns
    /// the message that was there before, if this one removed or replaced it.
    ///
    /// ```
    /// use std::time::Instant;
    /// use mqtt_router::{Message, QoS, RetainedStore, TopicName};
    ///
    /// let mut store = RetainedStore::new();
    /// let topic = TopicName::from_static("door/1");
    /// store.retain_message(Message::new(topic.clone(), "open", QoS::AtLeastOnce).with_retain(true))?;
    /// assert_eq!(store.get(&topic, Instant::now()).map(|r| &r.message.payload[..]), Some(&b"open"[..]));
    /// store.retain_message(Message::new(topic.clone(), "", QoS::AtMostOnce).with_retain(true))?;
    /// assert!(store.is_empty());
    /// # Ok::<(), mqtt_router::Error>(())
    /// ```
    pub fn retain_message(&mut self, message: Message) -> Result<Option<Message>, Error> {
        if !message.retain {
            return Ok(None);
        }
        let (topic, expires_at) = (message.topic.clone(), message.expires_at);
        self.retain(topic, message, expires_at)
    }
}

fn is_live<M>(r: &Retained<M>, now: Instant) -> bool {
    r.expires_at.is_none_or(|at| at > now)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn t(s: &str) -> TopicName {
        TopicName::try_from(s).unwrap()
    }

    fn store(topics: &[&str]) -> RetainedStore<Bytes> {
        let mut s = RetainedStore::new();
        for topic in topics {
            s.retain(t(topic), Bytes::copy_from_slice(topic.as_bytes()), None)
                .unwrap();
        }
        s
    }

    fn lookup(s: &RetainedStore<Bytes>, filter: &str, now: Instant) -> Vec<String> {
        let mut out = Vec::new();
        s.for_each_match(&TopicFilter::try_from(filter).unwrap(), now, |r| {
            out.push(r.topic.to_string())
        });
        out.sort();
        out
    }

    #[test]
    fn set_replace_and_clear_with_an_empty_payload() {
        // [MQTT-3.3.1-5] replace, [MQTT-3.3.1-6] an empty payload removes, [MQTT-3.3.1-7] and is not stored.
        let now = Instant::now();
        let mut s = RetainedStore::new();
        let before = s.node_count();
        assert_eq!(s.retain(t("a/b"), Bytes::from_static(b"1"), None).unwrap(), None);
        assert_eq!(
            s.retain(t("a/b"), Bytes::from_static(b"2"), None).unwrap(),
            Some(Bytes::from_static(b"1"))
        );
        assert_eq!(s.len(), 1);
        assert_eq!(s.get(&t("a/b"), now).map(|r| &r.message[..]), Some(&b"2"[..]));
        assert_eq!(
            s.retain(t("a/b"), Bytes::new(), None).unwrap(),
            Some(Bytes::from_static(b"2"))
        );
        assert_eq!(s.get(&t("a/b"), now), None);
        assert_eq!((s.len(), s.node_count()), (0, before));
        assert_eq!(s.retain(t("a/c"), Bytes::new(), None).unwrap(), None);
        assert_eq!(
            (s.len(), s.node_count()),
            (0, before),
            "an empty payload is never stored"
        );
        assert_eq!(s.clear(&t("nothing/here")), None);
    }

    #[test]
    fn wildcard_lookup_walks_the_index() {
        let now = Instant::now();
        let s = store(&["a", "a/b", "a/b/c", "a//c", "x/b", "$SYS/up", "/", "/z"]);
        assert_eq!(
            lookup(&s, "a/#", now),
            ["a", "a//c", "a/b", "a/b/c"],
            "`#` includes the parent level"
        );
        assert_eq!(lookup(&s, "+/b", now), ["a/b", "x/b"]);
        assert_eq!(lookup(&s, "a/+/c", now), ["a//c", "a/b/c"]);
        assert_eq!(
            lookup(&s, "#", now),
            ["/", "/z", "a", "a//c", "a/b", "a/b/c", "x/b"],
            "no $ topics"
        );
        assert_eq!(lookup(&s, "+/up", now), Vec::<String>::new(), "[MQTT-4.7.2-1]");
        assert_eq!(lookup(&s, "$SYS/#", now), ["$SYS/up"]);
        assert_eq!(lookup(&s, "+/+", now), ["/", "/z", "a/b", "x/b"]);
        assert_eq!(lookup(&s, "a", now), ["a"]);
        assert_eq!(
            lookup(&s, "$share/g/x/+", now),
            ["x/b"],
            "the filter proper of a shared filter"
        );
    }

    #[test]
    fn expiry_hides_then_purges() {
        let t0 = Instant::now();
        let mut s: RetainedStore<Bytes> = RetainedStore::new();
        let before = s.node_count();
        s.set(t("m/1"), Bytes::from_static(b"x"), Some(t0 + Duration::from_secs(10)))
            .unwrap();
        s.set(t("m/2"), Bytes::from_static(b"y"), Some(t0 + Duration::from_secs(20)))
            .unwrap();
        s.set(t("m/3"), Bytes::from_static(b"z"), None).unwrap();
        // Replacing moves the expiry.
        s.set(t("m/2"), Bytes::from_static(b"y2"), Some(t0 + Duration::from_secs(30)))
            .unwrap();
        let at = |secs| t0 + Duration::from_secs(secs);
        assert_eq!(lookup(&s, "m/+", at(5)), ["m/1", "m/2", "m/3"]);
        assert_eq!(lookup(&s, "m/+", at(10)), ["m/2", "m/3"]);
        assert!(s.get(&t("m/1"), at(10)).is_none());
        assert_eq!(s.purge_expired(at(25)), 1, "m/2's old expiry was replaced");
        assert_eq!(s.len(), 2);
        assert_eq!(s.purge_expired(at(30)), 1);
        assert_eq!(lookup(&s, "#", at(1000)), ["m/3"]);
        s.clear(&t("m/3"));
        assert_eq!((s.len(), s.node_count()), (0, before));
    }

    #[test]
    fn messages_are_stored_by_their_own_topic_and_expiry() {
        let t0 = Instant::now();
        let mut s: RetainedStore<Message> = RetainedStore::new();
        let m = |payload: &'static str| Message::new(t("a/b"), payload, mqtt_codec::QoS::AtLeastOnce);
        // [MQTT-3.3.1-8]: RETAIN 0 neither stores nor clears.
        assert_eq!(s.retain_message(m("not retained")).unwrap(), None);
        assert!(s.is_empty());
        // [MQTT-3.3.1-5]: stored, then replaced; the deadline is the message's.
        let first = m("1").with_retain(true).with_expiry_interval(t0, 10);
        assert_eq!(s.retain_message(first.clone()).unwrap(), None);
        assert_eq!(s.get(&t("a/b"), t0).map(|r| &r.message), Some(&first));
        assert!(
            s.get(&t("a/b"), t0 + Duration::from_secs(10)).is_none(),
            "expired with the message"
        );
        assert_eq!(s.retain_message(m("2").with_retain(true)).unwrap(), Some(first));
        s.retain_message(m("kept").with_retain(false)).unwrap();
        assert_eq!(s.get(&t("a/b"), t0).map(|r| &r.message.payload[..]), Some(&b"2"[..]));
        // [MQTT-3.3.1-6] [MQTT-3.3.1-7]: an empty payload clears and is not stored.
        assert!(s.retain_message(m("").with_retain(true)).unwrap().is_some());
        assert!(s.is_empty());
        assert_eq!(s.retain_message(m("").with_retain(true)).unwrap(), None);
        assert!(s.is_empty());
    }

    #[test]
    fn too_deep_topics_are_refused() {
        let mut s: RetainedStore<Bytes> = RetainedStore::new().with_max_levels(2);
        let err = s.set(t("a/b/c"), Bytes::from_static(b"x"), None).unwrap_err();
        assert_eq!(err, Error::TooManyLevels { levels: 3, max: 2 });
        assert!(s.is_empty());
    }
}
