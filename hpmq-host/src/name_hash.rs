//! The hash of the runtime's maps keyed by module and function names: FNV-1a.
//!
//! `Runtime::call` looks a module and a function up by name on every call; with std's SipHash the two
//! lookups cost ~400 instructions, 7 % of a whole typed call (`BENCHMARKS.md`, hpmq-host), FNV-1a ~60 for
//! names this short. The keys are names the embedder chose (configuration, `load_module`, `bind`), not
//! input from MQTT clients, so flooding attacks on the hash are not a concern here; topic-keyed maps
//! (`his_payload` history) keep SipHash.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

const OFFSET_BASIS: u64 = 0xcbf2_9ce4_8422_2325;
const PRIME: u64 = 0x0000_0100_0000_01b3;

/// 64-bit FNV-1a.
#[derive(Debug, Clone, Copy)]
pub(crate) struct NameHasher(u64);

impl Default for NameHasher {
    fn default() -> Self {
        NameHasher(OFFSET_BASIS)
    }
}

impl Hasher for NameHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut h = self.0;
        for &b in bytes {
            h = (h ^ u64::from(b)).wrapping_mul(PRIME);
        }
        self.0 = h;
    }
}

/// A `HashMap` keyed by names, hashed with [`NameHasher`].
pub(crate) type NameMap<K, V> = HashMap<K, V, BuildHasherDefault<NameHasher>>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_published_fnv1a_vectors() {
        let hash = |s: &[u8]| {
            let mut h = NameHasher::default();
            h.write(s);
            h.finish()
        };
        assert_eq!(hash(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(hash(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(hash(b"foobar"), 0x8594_4171_f739_67e8);
    }

    #[test]
    fn finds_what_was_inserted() {
        let mut m: NameMap<String, usize> = NameMap::default();
        for i in 0..1000 {
            m.insert(format!("module-{i}"), i);
        }
        assert!((0..1000).all(|i| m.get(&format!("module-{i}")) == Some(&i)));
        assert_eq!(m.get("module-1000"), None);
    }
}
