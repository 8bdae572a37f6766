//! Topic names and topic filters (spec 4.7 and 4.8), validated once and then trusted everywhere.
//!
//! Both are [`ByteStr`] views, so a topic decoded from a PUBLISH still shares the frame's memory.

use std::fmt;
use std::ops::Deref;

use bytes::Bytes;

use crate::string::{is_ascii_without_nul_or, splat, zero_bytes};
use crate::{ByteStr, Error, MAX_STRING_LEN};

/// The prefix that marks a shared subscription (spec 4.8.2).
pub const SHARED_PREFIX: &str = "$share/";

/// A topic name as carried by PUBLISH and will messages: non-empty [MQTT-4.7.3-1], no wildcards
/// [MQTT-3.3.2-2], and a valid MQTT string.
///
/// One exception to non-empty: a v5 PUBLISH that names its topic only by a Topic Alias carries an empty topic
/// name. Such a `TopicName` exists only inside a [`crate::Publish`] whose `properties.topic_alias` is set (made
/// by [`crate::Publish::alias_only`] or by decoding); no public constructor produces an empty one.
///
/// ```
/// use mqtt_codec::TopicName;
/// let t = TopicName::try_from("fleet/eu/dev-1/status").unwrap();
/// assert_eq!(t.levels().count(), 4);
/// assert!(TopicName::try_from("fleet/+/status").is_err());
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TopicName(ByteStr);

/// A topic filter as carried by SUBSCRIBE and UNSUBSCRIBE, possibly a shared one (`$share/{group}/{filter}`).
///
/// Rules: non-empty [MQTT-4.7.3-1]; `#` only as a whole last level [MQTT-4.7.1-1]; `+` only as a whole level
/// [MQTT-4.7.1-2]; a share name that is non-empty and holds none of `/`, `+`, `#` [MQTT-4.8.2-2] followed by a
/// non-empty filter [MQTT-4.8.2-1].
///
/// ```
/// use mqtt_codec::TopicFilter;
/// let f = TopicFilter::try_from("$share/workers/jobs/+/new").unwrap();
/// assert_eq!(f.share_group(), Some("workers"));
/// assert_eq!(f.filter(), "jobs/+/new");
/// assert!(TopicFilter::try_from("jobs/#/new").is_err());
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TopicFilter {
    full: ByteStr,
    /// Byte offset in `full` where the filter proper starts (0 unless shared).
    filter_start: u16,
}

/// Checks the topic-name rules on a string that is already a valid MQTT string.
#[inline]
pub fn validate_topic_name(topic: &str) -> Result<(), Error> {
    if topic.is_empty() {
        return Err(Error::EmptyTopic);
    }
    if has_wildcard(topic.as_bytes()) {
        return Err(Error::WildcardInTopicName);
    }
    Ok(())
}

/// Whether `bytes` contains `+` or `#`, eight bytes at a time.
#[inline]
fn has_wildcard(bytes: &[u8]) -> bool {
    let (words, tail) = bytes.as_chunks::<8>();
    let mut found = 0;
    for word in words {
        let w = u64::from_ne_bytes(*word);
        found |= zero_bytes(w ^ splat(b'+')) | zero_bytes(w ^ splat(b'#'));
    }
    found != 0 || tail.iter().any(|&b| b == b'+' || b == b'#')
}

/// Checks the filter rules (without a `$share/` prefix) on a string that is already a valid MQTT string.
pub fn validate_filter_levels(filter: &str) -> Result<(), Error> {
    if filter.is_empty() {
        return Err(Error::EmptyTopicFilter);
    }
    let mut levels = filter.split('/').peekable();
    while let Some(level) = levels.next() {
        if level.contains('#') && (level.len() != 1 || levels.peek().is_some()) {
            return Err(Error::InvalidMultiLevelWildcard);
        }
        if level.contains('+') && level.len() != 1 {
            return Err(Error::InvalidSingleLevelWildcard);
        }
    }
    Ok(())
}

/// Checks every filter rule, including the shared-subscription form, and returns where the filter proper starts.
fn validate_filter(full: &str) -> Result<usize, Error> {
    if let Some(rest) = full.strip_prefix(SHARED_PREFIX) {
        let (group, filter) = rest.split_once('/').ok_or(Error::InvalidSharedFilter)?;
        if group.is_empty() || group.contains(['+', '#']) {
            return Err(Error::InvalidShareName);
        }
        if filter.is_empty() {
            return Err(Error::InvalidSharedFilter);
        }
        validate_filter_levels(filter)?;
        Ok(SHARED_PREFIX.len() + group.len() + 1)
    } else {
        validate_filter_levels(full)?;
        Ok(0)
    }
}

impl TopicName {
    /// Wraps a string that passed the MQTT string rules; checks the topic-name rules.
    pub fn new(s: ByteStr) -> Result<Self, Error> {
        validate_topic_name(&s)?;
        Ok(TopicName(s))
    }

    /// Validates a topic straight from the wire: the MQTT string rules and the topic-name rules in one pass
    /// for the common case of ASCII, falling back to the full checks otherwise.
    #[inline]
    pub(crate) fn from_wire(bytes: Bytes) -> Result<Self, Error> {
        if !bytes.is_empty() && bytes.len() <= MAX_STRING_LEN && is_ascii_without_nul_or(&bytes, b'+', b'#') {
            // SAFETY: ASCII without NUL is valid UTF-8 and a valid MQTT string; no wildcard and not empty make
            // it a valid topic name.
            return Ok(TopicName(unsafe { ByteStr::from_checked(bytes) }));
        }
        TopicName::new(ByteStr::try_from(bytes)?)
    }

    /// The empty topic of a v5 PUBLISH that names its topic by a Topic Alias alone (spec 3.3.2.3.4).
    ///
    /// Crate-internal on purpose: the only way users get one is [`crate::Publish::alias_only`] or decoding such a
    /// PUBLISH, so an empty topic never travels without an alias.
    pub(crate) fn empty_for_alias() -> Self {
        TopicName(ByteStr::new())
    }

    /// Wraps a `'static` literal; panics if it is not a valid topic name (for constants in code, not input).
    ///
    /// # Panics
    /// If `s` is not a valid topic name.
    #[allow(clippy::panic)]
    pub fn from_static(s: &'static str) -> Self {
        match TopicName::new(ByteStr::from_static(s)) {
            Ok(t) => t,
            Err(e) => panic!("TopicName::from_static({s:?}): {e}"),
        }
    }

    /// The topic as `&str`.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    /// The topic as a [`ByteStr`], sharing memory.
    pub fn as_byte_str(&self) -> &ByteStr {
        &self.0
    }

    /// Gives up the wrapper.
    pub fn into_inner(self) -> ByteStr {
        self.0
    }

    /// The topic levels, split at `/` (empty levels included: `a//b` has three).
    pub fn levels(&self) -> std::str::Split<'_, char> {
        self.0.split('/')
    }

    /// True for topics starting with `$` (such as `$SYS/...`), which `#` and `+` in the first level of a filter
    /// do not match [MQTT-4.7.2-1].
    pub fn is_dollar(&self) -> bool {
        self.0.starts_with('$')
    }
}

impl TopicFilter {
    /// Wraps a string that passed the MQTT string rules; checks the filter rules.
    pub fn new(s: ByteStr) -> Result<Self, Error> {
        let start = validate_filter(&s)?;
        // A validated ByteStr is at most 65,535 bytes long, so the offset fits.
        let filter_start = u16::try_from(start).map_err(|_| Error::StringTooLong { len: start })?;
        Ok(TopicFilter { full: s, filter_start })
    }

    /// Wraps a `'static` literal; panics if it is not a valid filter (for constants in code, not input).
    ///
    /// # Panics
    /// If `s` is not a valid topic filter.
    #[allow(clippy::panic)]
    pub fn from_static(s: &'static str) -> Self {
        match TopicFilter::new(ByteStr::from_static(s)) {
            Ok(t) => t,
            Err(e) => panic!("TopicFilter::from_static({s:?}): {e}"),
        }
    }

    /// The whole filter as written, including any `$share/{group}/` prefix.
    pub fn as_str(&self) -> &str {
        self.full.as_str()
    }

    /// The whole filter as a [`ByteStr`], sharing memory.
    pub fn as_byte_str(&self) -> &ByteStr {
        &self.full
    }

    /// Gives up the wrapper.
    pub fn into_inner(self) -> ByteStr {
        self.full
    }

    /// The filter proper: without the `$share/{group}/` prefix when shared.
    pub fn filter(&self) -> &str {
        self.full.get(usize::from(self.filter_start)..).unwrap_or_default()
    }

    /// The share group name of a shared subscription, `None` otherwise.
    pub fn share_group(&self) -> Option<&str> {
        if self.filter_start == 0 {
            return None;
        }
        let end = usize::from(self.filter_start).checked_sub(1)?;
        self.full.get(SHARED_PREFIX.len()..end)
    }

    /// True for `$share/{group}/{filter}`.
    pub fn is_shared(&self) -> bool {
        self.filter_start != 0
    }

    /// True when the filter proper contains `+` or `#`.
    pub fn has_wildcards(&self) -> bool {
        self.filter().bytes().any(|b| b == b'+' || b == b'#')
    }

    /// The levels of the filter proper, split at `/`.
    pub fn levels(&self) -> std::str::Split<'_, char> {
        self.filter().split('/')
    }

    /// Whether this filter matches `topic`, per spec 4.7 including the `$` rule [MQTT-4.7.2-1].
    ///
    /// A direct level-by-level comparison, meant for one-off checks (ACLs, tests); route many subscriptions
    /// with a trie such as `mqtt-router` instead.
    pub fn matches(&self, topic: &TopicName) -> bool {
        if topic.is_dollar() && self.filter().starts_with(['+', '#']) {
            return false;
        }
        let mut filter = self.levels();
        let mut name = topic.levels();
        loop {
            match (filter.next(), name.next()) {
                (Some("#"), _) => return true,
                (Some("+"), Some(_)) => {}
                (Some(f), Some(n)) if f == n => {}
                (None, None) => return true,
                _ => return false,
            }
        }
    }

    /// Whether this filter matches every topic name `other` matches (and maybe more): the check an ACL makes
    /// when a rule grants `self` and a client subscribes to `other`. Exactly `∀ t: other.matches(t) ⇒
    /// self.matches(t)`, with the `$` rule [MQTT-4.7.2-1]: a first-level `+` or `#` covers no `$` level.
    ///
    /// Like [`TopicFilter::matches`] it compares the filters proper, so a `$share/{group}/` prefix on either
    /// side is ignored (a grant of `a/#` covers `$share/g/a/b`).
    ///
    /// ```
    /// use mqtt_codec::TopicFilter;
    /// let f = |s| TopicFilter::try_from(s).unwrap();
    /// assert!(f("a/#").covers(&f("a/+/c")));
    /// assert!(f("a/#").covers(&f("a"))); // `#` includes the parent level
    /// assert!(!f("a/+").covers(&f("a/#")));
    /// assert!(!f("#").covers(&f("$SYS/x")));
    /// assert!(f("+/#").covers(&f("#"))); // every topic has a first level
    /// ```
    pub fn covers(&self, other: &TopicFilter) -> bool {
        let mut mine = self.levels();
        let mut theirs = other.levels();
        // Whether the levels of `other` walked so far spell no topic name: none yet, or one empty level (a
        // topic name is at least one character [MQTT-4.7.3-1]).
        let mut no_topic_yet = true;
        let mut first = true;
        loop {
            match (mine.next(), theirs.next()) {
                // `x/#` covers `x` itself and everything below; at the first level not a `$` level.
                (Some("#"), Some(level)) => return !(first && level.starts_with('$')),
                (Some("#"), None) => return true,
                // Their `#` matches the topic spelled so far (its parent level) and one level or more below it.
                // `+/#` covers the levels below; the parent only matters when it is a topic name.
                (Some("+"), Some("#")) => return no_topic_yet && mine.next() == Some("#") && mine.next().is_none(),
                (Some("+"), Some(level)) if !(first && level.starts_with('$')) => {
                    no_topic_yet = first && level.is_empty()
                }
                (Some(a), Some(b)) if a == b && a != "+" => no_topic_yet = first && b.is_empty(),
                (None, None) => return true,
                _ => return false,
            }
            first = false;
        }
    }
}

impl TryFrom<ByteStr> for TopicName {
    type Error = Error;
    fn try_from(s: ByteStr) -> Result<Self, Error> {
        TopicName::new(s)
    }
}

impl TryFrom<&str> for TopicName {
    type Error = Error;
    fn try_from(s: &str) -> Result<Self, Error> {
        TopicName::new(ByteStr::try_from(s)?)
    }
}

impl TryFrom<String> for TopicName {
    type Error = Error;
    fn try_from(s: String) -> Result<Self, Error> {
        TopicName::new(ByteStr::try_from(s)?)
    }
}

impl TryFrom<Bytes> for TopicName {
    type Error = Error;
    fn try_from(b: Bytes) -> Result<Self, Error> {
        TopicName::new(ByteStr::try_from(b)?)
    }
}

impl TryFrom<ByteStr> for TopicFilter {
    type Error = Error;
    fn try_from(s: ByteStr) -> Result<Self, Error> {
        TopicFilter::new(s)
    }
}

impl TryFrom<&str> for TopicFilter {
    type Error = Error;
    fn try_from(s: &str) -> Result<Self, Error> {
        TopicFilter::new(ByteStr::try_from(s)?)
    }
}

impl TryFrom<String> for TopicFilter {
    type Error = Error;
    fn try_from(s: String) -> Result<Self, Error> {
        TopicFilter::new(ByteStr::try_from(s)?)
    }
}

impl TryFrom<Bytes> for TopicFilter {
    type Error = Error;
    fn try_from(b: Bytes) -> Result<Self, Error> {
        TopicFilter::new(ByteStr::try_from(b)?)
    }
}

impl Deref for TopicName {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl Deref for TopicFilter {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl fmt::Debug for TopicName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for TopicName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for TopicFilter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for TopicFilter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filter(s: &str) -> Result<TopicFilter, Error> {
        TopicFilter::try_from(s)
    }

    fn topic(s: &str) -> TopicName {
        TopicName::try_from(s).unwrap()
    }

    #[test]
    fn topic_name_rules() {
        assert_eq!(TopicName::try_from(""), Err(Error::EmptyTopic));
        assert_eq!(TopicName::try_from("a/+"), Err(Error::WildcardInTopicName));
        assert_eq!(TopicName::try_from("a/#"), Err(Error::WildcardInTopicName));
        assert_eq!(TopicName::try_from("a+b"), Err(Error::WildcardInTopicName));
        for ok in ["/", "a//b", " ", "$SYS/x", "/finance", "sport/"] {
            assert!(TopicName::try_from(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn from_wire_agrees_with_the_full_checks() {
        let mut cases: Vec<Vec<u8>> = vec![Vec::new(), b"a/b".to_vec(), "caf\u{e9}/x".into()];
        for len in [1, 7, 8, 9, 16, 17] {
            for pos in 0..len {
                for byte in [0x00, b'+', b'#', b'/', 0x80, 0xC3, 0x7F] {
                    let mut v = vec![b't'; len];
                    v[pos] = byte;
                    cases.push(v);
                }
            }
        }
        for case in cases {
            let bytes = Bytes::from(case.clone());
            let full = ByteStr::try_from(bytes.clone()).and_then(TopicName::new);
            assert_eq!(TopicName::from_wire(bytes), full, "{case:?}");
        }
    }

    #[test]
    fn wildcard_scan_finds_every_position() {
        for len in 1..20 {
            for pos in 0..len {
                for (byte, wild) in [
                    (b'+', true),
                    (b'#', true),
                    (b'*', false),
                    (b'\x03', false),
                    (b'k', false),
                ] {
                    let mut v = vec![b'a'; len];
                    v[pos] = byte;
                    assert_eq!(has_wildcard(&v), wild, "{v:?}");
                }
            }
        }
    }

    #[test]
    fn filter_rules_from_spec_4_7() {
        for ok in [
            "#",
            "+",
            "+/+",
            "/+",
            "+/tennis/#",
            "sport/#",
            "sport/tennis/+",
            "a//b",
            "$SYS/#",
            "/",
        ] {
            assert!(filter(ok).is_ok(), "{ok}");
        }
        assert_eq!(filter(""), Err(Error::EmptyTopicFilter));
        assert_eq!(filter("sport/tennis#"), Err(Error::InvalidMultiLevelWildcard));
        assert_eq!(filter("sport/tennis/#/ranking"), Err(Error::InvalidMultiLevelWildcard));
        assert_eq!(filter("sport+"), Err(Error::InvalidSingleLevelWildcard));
        assert_eq!(filter("a/b+/c"), Err(Error::InvalidSingleLevelWildcard));
    }

    #[test]
    fn shared_filters() {
        let f = filter("$share/g/a/#").unwrap();
        assert!(f.is_shared());
        assert_eq!(f.share_group(), Some("g"));
        assert_eq!(f.filter(), "a/#");
        assert_eq!(filter("$share//a"), Err(Error::InvalidShareName));
        assert_eq!(filter("$share/g+/a"), Err(Error::InvalidShareName));
        assert_eq!(filter("$share/g"), Err(Error::InvalidSharedFilter));
        assert_eq!(filter("$share/g/"), Err(Error::InvalidSharedFilter));
        assert_eq!(filter("$share/g/a#"), Err(Error::InvalidMultiLevelWildcard));
        // "$shared/..." and "$share" alone are ordinary filters.
        assert!(!filter("$shared/x").unwrap().is_shared());
        assert!(!filter("$share").unwrap().is_shared());
    }

    #[test]
    fn matching_follows_spec_examples() {
        let m = |f: &str, t: &str| filter(f).unwrap().matches(&topic(t));
        assert!(m("sport/tennis/player1/#", "sport/tennis/player1"));
        assert!(m("sport/tennis/player1/#", "sport/tennis/player1/ranking"));
        assert!(m("sport/tennis/player1/#", "sport/tennis/player1/score/wimbledon"));
        assert!(m("sport/#", "sport"));
        assert!(m("sport/tennis/+", "sport/tennis/player1"));
        assert!(!m("sport/tennis/+", "sport/tennis/player1/ranking"));
        assert!(!m("sport/+", "sport"));
        assert!(m("sport/+", "sport/"));
        assert!(m("+/+", "/finance"));
        assert!(m("/+", "/finance"));
        assert!(!m("+", "/finance"));
        assert!(!m("#", "$SYS/uptime"));
        assert!(!m("+/monitor/Clients", "$SYS/monitor/Clients"));
        assert!(m("$SYS/#", "$SYS/monitor/Clients"));
        assert!(m("$SYS/monitor/+", "$SYS/monitor/Clients"));
        assert!(m("$share/g/sport/#", "sport/x"));
    }

    #[test]
    fn covering_follows_matching() {
        let c = |a: &str, b: &str| filter(a).unwrap().covers(&filter(b).unwrap());
        assert!(c("a/#", "a/+/c"));
        assert!(c("a/#", "a"), "`#` includes the parent level");
        assert!(c("a/#", "a/#"));
        assert!(c("a/+", "a/b"));
        assert!(c("a/+", "a/+"));
        assert!(!c("a/+", "a/#"), "`a/#` also matches `a` and `a/b/c`");
        assert!(!c("a/b", "a/+"));
        assert!(!c("a/+", "a"));
        assert!(!c("a", "a/b"));
        assert!(c("#", "#"));
        assert!(c("#", "+/x"), "`+/x` matches no `$` topic");
        assert!(c("+/#", "#"), "at the root `#` has no parent topic");
        assert!(
            !c("a/+/#", "a/#"),
            "`a/#` matches `a/b`, which `a/+/#` needs a level below"
        );
        assert!(!c("+", "#"));
        assert!(
            c("+/+/#", "/#"),
            "`/#` cannot match the empty topic name, only `/` and below"
        );
        assert!(!c("+/+/#", "x/#"), "`x/#` matches `x`");
        // [MQTT-4.7.2-1]: a leading wildcard does not reach `$` topics.
        assert!(!c("#", "$SYS/x"));
        assert!(!c("+/x", "$SYS/x"));
        assert!(!c("+/#", "$SYS"));
        assert!(c("$SYS/#", "$SYS/+/x"));
        assert!(c("a/+", "a/$x"), "below the first level `$` is an ordinary character");
        assert!(!c("$SYS/#", "+/x"));
        // Shared filters compare the filter proper.
        assert!(c("a/#", "$share/g/a/b"));
        assert!(c("$share/g/#", "x"));
    }

    mod covers_oracle {
        use proptest::prelude::*;
        use proptest::sample::select;

        use super::*;

        /// Literal levels the generated filters use; `$s` exercises the `$` rule and `` the empty level.
        const LITERALS: [&str; 4] = ["a", "b", "$s", ""];

        /// Topic levels: the filters' literals and one fresh level of each kind, so a topic that tells two
        /// filters apart can always be written from this alphabet.
        const TOPIC_LEVELS: [&str; 6] = ["a", "b", "$s", "", "z", "$z"];

        fn arb_filter() -> impl Strategy<Value = TopicFilter> {
            let level = prop_oneof![3 => select(LITERALS.to_vec()), 2 => Just("+")];
            (proptest::collection::vec(level, 1..4), any::<bool>()).prop_filter_map(
                "a valid filter",
                |(levels, hash)| {
                    let mut s = levels.join("/");
                    if hash {
                        s.push_str("/#");
                    }
                    TopicFilter::try_from(s.as_str()).ok()
                },
            )
        }

        fn arb_topic() -> impl Strategy<Value = TopicName> {
            proptest::collection::vec(select(TOPIC_LEVELS.to_vec()), 1..7).prop_filter_map("a valid topic", |levels| {
                TopicName::try_from(levels.join("/").as_str()).ok()
            })
        }

        /// Every topic of 1 to `max_levels` levels over [`TOPIC_LEVELS`].
        fn all_topics(max_levels: usize) -> Vec<TopicName> {
            let mut out = Vec::new();
            let mut current: Vec<String> = TOPIC_LEVELS.iter().map(|l| (*l).to_owned()).collect();
            for depth in 1..=max_levels {
                out.extend(current.iter().filter_map(|t| TopicName::try_from(t.as_str()).ok()));
                if depth == max_levels {
                    break;
                }
                current = current
                    .iter()
                    .flat_map(|t| TOPIC_LEVELS.iter().map(move |l| format!("{t}/{l}")))
                    .collect();
            }
            out
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(512))]

            /// `a.covers(b)` exactly when no topic is matched by `b` and not by `a`. Topics one level longer
            /// than the longer filter, over the filters' literals and a fresh level, contain a witness
            /// whenever there is one.
            #[test]
            fn covers_iff_every_topic_b_matches_a_matches(a in arb_filter(), b in arb_filter()) {
                static TOPICS: std::sync::OnceLock<Vec<TopicName>> = std::sync::OnceLock::new();
                // Filters have at most 4 levels (3 and a `#`).
                let topics = TOPICS.get_or_init(|| all_topics(5));
                let witness = topics.iter().find(|t| b.matches(t) && !a.matches(t));
                prop_assert_eq!(a.covers(&b), witness.is_none(), "witness {:?}", witness);
            }

            /// The easy direction on random topics, including deeper ones.
            #[test]
            fn covering_filters_match_what_the_covered_match(
                a in arb_filter(),
                b in arb_filter(),
                topics in proptest::collection::vec(arb_topic(), 1..32),
            ) {
                if a.covers(&b) {
                    for t in topics.iter().filter(|t| b.matches(t)) {
                        prop_assert!(a.matches(t), "{} covers {} but misses {}", a, b, t);
                    }
                }
            }

            /// Covering is reflexive and transitive, as the subset relation it decides.
            #[test]
            fn covers_is_a_preorder(a in arb_filter(), b in arb_filter(), c in arb_filter()) {
                prop_assert!(a.covers(&a));
                if a.covers(&b) && b.covers(&c) {
                    prop_assert!(a.covers(&c));
                }
            }
        }
    }
}
