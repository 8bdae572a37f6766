//! The `topic_filter` target: topic-name and topic-filter validation and [`TopicFilter::matches`] never panic
//! and agree with a naive oracle written from the specification's text (spec 4.7 and 4.8.2).

use bytes::Bytes;
use mqtt_codec::{TopicFilter, TopicName};

/// Splits `data` at its first `0xFF` byte (never part of UTF-8) into a topic name and a topic filter; without a
/// `0xFF` the whole input is tried as both. Checks validation and matching against [`oracle`].
pub fn topic_filter(data: &[u8]) {
    let (topic_bytes, filter_bytes) = match data.iter().position(|&b| b == 0xFF) {
        Some(at) => (
            data.get(..at).unwrap_or_default(),
            data.get(at + 1..).unwrap_or_default(),
        ),
        None => (data, data),
    };

    let topic = TopicName::try_from(Bytes::copy_from_slice(topic_bytes));
    let filter = TopicFilter::try_from(Bytes::copy_from_slice(filter_bytes));
    assert_eq!(
        topic.is_ok(),
        oracle::valid_topic_name(topic_bytes),
        "topic name {topic_bytes:?}: {topic:?}"
    );
    assert_eq!(
        filter.is_ok(),
        oracle::valid_topic_filter(filter_bytes),
        "filter {filter_bytes:?}: {filter:?}"
    );

    if let Ok(filter) = &filter {
        // The shared form splits back into exactly what was written.
        match filter.share_group() {
            Some(group) => assert_eq!(filter.as_str(), format!("$share/{group}/{}", filter.filter())),
            None => assert_eq!(filter.as_str(), filter.filter()),
        }
        assert_eq!(filter.is_shared(), filter.share_group().is_some());
    }

    if let Ok(topic) = &topic {
        assert_eq!(topic.levels().count(), topic.as_str().split('/').count());
        // Every topic name that is not itself shaped like a shared subscription is a filter matching itself.
        if !topic.as_str().starts_with("$share/") {
            let as_filter = TopicFilter::try_from(topic.as_str());
            assert!(
                as_filter.is_ok(),
                "topic {topic:?} is not a valid filter: {as_filter:?}"
            );
            if let Ok(f) = as_filter {
                assert!(f.matches(topic), "{f:?} does not match itself");
            }
        }
        if let Ok(filter) = &filter {
            assert_eq!(
                filter.matches(topic),
                oracle::matches(filter.filter(), topic.as_str()),
                "filter {filter:?} against topic {topic:?}"
            );
        }
    }
}

/// A deliberately different formulation of the rules, working on plain strings and level vectors.
pub mod oracle {
    /// An MQTT UTF-8 string (spec 1.5.4): well-formed UTF-8, no U+0000, at most 65,535 bytes.
    pub fn valid_string(bytes: &[u8]) -> bool {
        bytes.len() <= 65_535 && std::str::from_utf8(bytes).is_ok() && !bytes.contains(&0)
    }

    /// A topic name: a valid string, at least one character, no `+` or `#` anywhere.
    pub fn valid_topic_name(bytes: &[u8]) -> bool {
        valid_string(bytes) && !bytes.is_empty() && !bytes.iter().any(|&b| b == b'+' || b == b'#')
    }

    /// A topic filter, possibly shared: `$share/` + non-empty group without `/`, `+`, `#` + `/` + a filter.
    pub fn valid_topic_filter(bytes: &[u8]) -> bool {
        let Ok(s) = std::str::from_utf8(bytes) else {
            return false;
        };
        if !valid_string(bytes) {
            return false;
        }
        match s.strip_prefix("$share/") {
            None => valid_plain_filter(s),
            Some(rest) => {
                let Some((group, filter)) = rest.split_once('/') else {
                    return false;
                };
                !group.is_empty() && !group.contains(['+', '#']) && valid_plain_filter(filter)
            }
        }
    }

    /// A filter without a share prefix: non-empty; each level is `#` (only as the last level), `+`, or a
    /// string holding neither.
    fn valid_plain_filter(s: &str) -> bool {
        if s.is_empty() {
            return false;
        }
        let levels: Vec<&str> = s.split('/').collect();
        levels.iter().enumerate().all(|(i, level)| match *level {
            "#" => i + 1 == levels.len(),
            "+" => true,
            other => !other.contains(['+', '#']),
        })
    }

    /// Whether the (non-shared part of a) valid filter matches a valid topic name.
    ///
    /// A filter ending in `#` matches every topic whose first levels match the levels before `#` (including
    /// the parent itself); any other filter matches topics with exactly as many levels. `+` matches any one
    /// level. Filters starting with a wildcard never match topics starting with `$` [MQTT-4.7.2-1].
    pub fn matches(filter: &str, topic: &str) -> bool {
        if topic.starts_with('$') && (filter.starts_with('+') || filter.starts_with('#')) {
            return false;
        }
        let f: Vec<&str> = filter.split('/').collect();
        let t: Vec<&str> = topic.split('/').collect();
        let level_ok = |(fl, tl): (&&str, &&str)| *fl == "+" || fl == tl;
        match f.split_last() {
            Some((&"#", prefix)) => t.len() >= prefix.len() && prefix.iter().zip(t.iter()).all(level_ok),
            _ => f.len() == t.len() && f.iter().zip(t.iter()).all(level_ok),
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn oracle_follows_spec_examples() {
            assert!(matches("sport/tennis/player1/#", "sport/tennis/player1"));
            assert!(matches("sport/#", "sport"));
            assert!(!matches("sport/tennis/+", "sport/tennis/player1/ranking"));
            assert!(!matches("sport/+", "sport"));
            assert!(matches("sport/+", "sport/"));
            assert!(matches("+/+", "/finance"));
            assert!(!matches("+", "/finance"));
            assert!(!matches("#", "$SYS/uptime"));
            assert!(matches("$SYS/#", "$SYS/uptime"));
            assert!(valid_topic_filter(b"$share/g/a/#"));
            assert!(!valid_topic_filter(b"$share/g"));
            assert!(!valid_topic_filter(b"sport/tennis#"));
            assert!(!valid_topic_name(b"a/+"));
        }
    }
}
