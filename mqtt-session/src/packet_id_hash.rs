//! A hasher for packet-id keyed tables: one multiplication instead of SipHash.
//!
//! Packet ids are chosen by us (outbound) or by the one peer of the connection (inbound), and a table holds at
//! most 65,535 of them, so there is no flooding attack to defend against; Fibonacci hashing spreads the 16 bits
//! over the high bits the hash table uses for its control bytes.

use std::hash::{BuildHasherDefault, Hasher};

use mqtt_codec::PacketId;

use crate::thin::ThinMap;

/// Fibonacci hashing of a `u16`.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 ^ u64::from(*b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }

    fn write_u16(&mut self, n: u16) {
        self.0 = (self.0 ^ u64::from(n)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

/// A map keyed by packet id (one pointer while empty: most sessions have nothing in flight).
pub(crate) type IdMap<V> = ThinMap<PacketId, V, BuildHasherDefault<IdHasher>>;
/// A set of packet ids.
pub(crate) type IdSet = IdMap<()>;
