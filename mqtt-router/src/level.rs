//! [`Level`]: one topic level as a trie node stores it, inline when short.
//!
//! Topic levels are mostly short (`fleet`, `eu-3`, `dev-0001234`, `status`). Keeping them inside the node saves
//! an allocation per node and, more importantly, the cache miss of following a pointer while comparing a level
//! during a match.

/// Levels up to this many bytes are stored inline.
const INLINE: usize = 22;

/// A level's bytes (valid UTF-8, since they come from a validated topic or filter; only ever compared as bytes).
#[derive(Clone)]
pub(crate) enum Level {
    Inline { len: u8, bytes: [u8; INLINE] },
    Heap(Box<[u8]>),
}

impl Level {
    pub(crate) fn new(level: &str) -> Self {
        let src = level.as_bytes();
        let mut bytes = [0; INLINE];
        match (bytes.get_mut(..src.len()), u8::try_from(src.len())) {
            (Some(dst), Ok(len)) => {
                dst.copy_from_slice(src);
                Level::Inline { len, bytes }
            }
            _ => Level::Heap(Box::from(src)),
        }
    }

    #[inline]
    pub(crate) fn as_bytes(&self) -> &[u8] {
        match self {
            Level::Inline { len, bytes } => bytes.get(..usize::from(*len)).unwrap_or_default(),
            Level::Heap(bytes) => bytes,
        }
    }
}

/// A 4-byte summary of a level (length, first, middle and last byte): equal levels have equal tags, and
/// different levels of one node usually do not, so a mismatch is found without loading the other level.
#[inline]
pub(crate) fn tag(level: &[u8]) -> u32 {
    let at = |i: usize| level.get(i).copied().unwrap_or(0);
    let len = level.len();
    u32::from_le_bytes([len as u8, at(0), at(len / 2), at(len.wrapping_sub(1))])
}

impl Default for Level {
    fn default() -> Self {
        Level::Inline {
            len: 0,
            bytes: [0; INLINE],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_levels_are_inline_and_long_ones_are_not() {
        for s in [
            "",
            "a",
            "dev-0001234",
            "exactly-22-bytes-long!",
            "twenty-three-bytes-long",
            "é/ü",
        ] {
            let level = Level::new(s);
            assert_eq!(level.as_bytes(), s.as_bytes());
            assert_eq!(matches!(level, Level::Inline { .. }), s.len() <= INLINE, "{s}");
        }
        assert_eq!(std::mem::size_of::<Level>(), 24);
        assert_eq!(tag(b"cmd"), tag(b"cmd"));
        assert_ne!(tag(b"cmd"), tag(b"status"));
        assert_eq!(tag(b""), 0);
    }
}
