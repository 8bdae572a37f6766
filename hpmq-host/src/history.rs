//! The last payload seen per topic, for `his_payload`: a least-recently-used map bounded by entry count and
//! by total payload bytes.

use std::collections::{BTreeMap, HashMap};

use bytes::Bytes;

/// Remembers the last payload per topic for one function of one binding.
///
/// Bounded twice: at most `max_topics` topics and at most `max_bytes` payload bytes; the least recently
/// *seen* topic is evicted first. A payload larger than `max_bytes` is not remembered (and forgets what the
/// topic had), so `his_payload` is `None` for the next message on that topic rather than stale.
#[derive(Debug)]
pub(crate) struct History {
    max_topics: usize,
    max_bytes: usize,
    bytes: usize,
    tick: u64,
    entries: HashMap<Box<str>, (Bytes, u64)>,
    order: BTreeMap<u64, Box<str>>,
}

impl History {
    pub(crate) fn new(max_topics: usize, max_bytes: usize) -> Self {
        History {
            max_topics,
            max_bytes,
            bytes: 0,
            tick: 0,
            entries: HashMap::new(),
            order: BTreeMap::new(),
        }
    }

    /// Returns the payload last recorded for `topic` and records `payload` in its place.
    pub(crate) fn swap(&mut self, topic: &str, payload: &Bytes) -> Option<Bytes> {
        if self.max_topics == 0 {
            return None;
        }
        self.tick += 1;
        let previous = match self.entries.remove_entry(topic) {
            Some((key, (old, stamp))) => {
                self.order.remove(&stamp);
                self.bytes -= old.len();
                if payload.len() <= self.max_bytes {
                    self.insert(key, payload.clone());
                }
                Some(old)
            }
            None => {
                if payload.len() <= self.max_bytes {
                    self.insert(topic.into(), payload.clone());
                }
                None
            }
        };
        self.evict();
        previous
    }

    fn insert(&mut self, key: Box<str>, payload: Bytes) {
        self.bytes += payload.len();
        self.order.insert(self.tick, key.clone());
        self.entries.insert(key, (payload, self.tick));
    }

    fn evict(&mut self) {
        while self.entries.len() > self.max_topics || self.bytes > self.max_bytes {
            let Some((_, key)) = self.order.pop_first() else { break };
            if let Some((old, _)) = self.entries.remove(&key) {
                self.bytes -= old.len();
            }
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.entries.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn b(s: &str) -> Bytes {
        Bytes::copy_from_slice(s.as_bytes())
    }

    #[test]
    fn returns_the_previous_payload_of_the_same_topic() {
        let mut h = History::new(10, 1000);
        assert_eq!(h.swap("a", &b("1")), None);
        assert_eq!(h.swap("b", &b("x")), None);
        assert_eq!(h.swap("a", &b("2")), Some(b("1")));
        assert_eq!(h.swap("a", &b("2")), Some(b("2")));
    }

    #[test]
    fn evicts_least_recently_seen_topic() {
        let mut h = History::new(2, 1000);
        h.swap("a", &b("1"));
        h.swap("b", &b("1"));
        h.swap("a", &b("2")); // a is now the most recent
        h.swap("c", &b("1")); // evicts b
        assert_eq!(h.swap("a", &b("3")), Some(b("2")));
        assert_eq!(h.swap("b", &b("2")), None);
    }

    #[test]
    fn byte_bound_evicts_and_skips_oversized_payloads() {
        let mut h = History::new(100, 4);
        h.swap("a", &b("12"));
        h.swap("b", &b("34"));
        h.swap("c", &b("5")); // 5 bytes > 4: evicts a
        assert_eq!(h.swap("a", &b("1")), None);
        assert_eq!(h.swap("d", &b("too long")), None);
        assert_eq!(h.swap("d", &b("x")), None, "oversized payload was not remembered");
    }

    #[test]
    fn zero_topics_disables() {
        let mut h = History::new(0, 100);
        h.swap("a", &b("1"));
        assert_eq!(h.swap("a", &b("1")), None);
    }

    proptest! {
        #[test]
        fn bounds_always_hold_and_match_a_model(ops in proptest::collection::vec((0u8..8, 0usize..6), 0..200)) {
            let mut h = History::new(4, 12);
            // Model: ordered list of (topic, payload), most recent last.
            let mut model: Vec<(String, usize)> = Vec::new();
            for (t, len) in ops {
                let topic = format!("t{t}");
                let payload = Bytes::from(vec![t; len]);
                let expected = model.iter().position(|(k, _)| *k == topic).map(|i| model.remove(i).1);
                let got = h.swap(&topic, &payload).map(|p| p.len());
                prop_assert_eq!(got, expected);
                if len <= 12 {
                    model.push((topic, len));
                }
                while model.len() > 4 || model.iter().map(|(_, l)| l).sum::<usize>() > 12 {
                    model.remove(0);
                }
                prop_assert_eq!(h.len(), model.len());
                prop_assert!(h.bytes <= 12);
            }
        }
    }
}
