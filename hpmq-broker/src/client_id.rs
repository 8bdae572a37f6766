//! Client identifiers the broker assigns to clients that connect without one [MQTT-3.1.3-6]
//! [MQTT-3.1.3-7].
//!
//! An assigned id names a session: a client that learns or guesses another client's id can take its session
//! over (connecting with that id ends the other connection and resumes its subscriptions and queued messages).
//! So the id is drawn from the operating system's random source, not derived from a counter or the clock.

use std::sync::atomic::{AtomicBool, Ordering};

/// Prefix of every assigned client id.
pub(crate) const PREFIX: &str = "hpmq-";

/// A new client id: [`PREFIX`] and 32 hex digits of 128 bits from the operating system's random source
/// (`getrandom`: the `getrandom` system call on Linux). `fallback` (the broker's connection counter) is used
/// only if the system cannot give random bytes, which it logs once: the id then comes from std's randomly
/// keyed SipHash of the counter and the time, unique within this broker but weaker.
pub(crate) fn assign(fallback: u64) -> String {
    let mut bytes = [0u8; 16];
    let value = match getrandom::getrandom(&mut bytes) {
        Ok(()) => u128::from_be_bytes(bytes),
        Err(error) => {
            static WARNED: AtomicBool = AtomicBool::new(false);
            if !WARNED.swap(true, Ordering::Relaxed) {
                tracing::error!(%error, "no random bytes from the system; assigned client ids are weaker");
            }
            keyed_hash(fallback)
        }
    };
    format!("{PREFIX}{value:032x}")
}

/// 128 bits from std's randomly keyed SipHash of `counter` and the time (the fallback of [`assign`]).
fn keyed_hash(counter: u64) -> u128 {
    use std::hash::{BuildHasher, Hasher};
    let state = std::collections::hash_map::RandomState::new();
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let half = |salt: u8| {
        let mut h = state.build_hasher();
        h.write_u8(salt);
        h.write_u64(counter);
        h.write_u128(nanos);
        h.finish()
    };
    (u128::from(half(0)) << 64) | u128::from(half(1))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    /// The 128-bit value of an assigned id.
    fn value(id: &str) -> u128 {
        u128::from_str_radix(id.strip_prefix(PREFIX).unwrap(), 16).unwrap()
    }

    #[test]
    fn ten_thousand_assigned_ids_are_distinct_and_unrelated() {
        let ids: Vec<String> = (0..10_000u64).map(assign).collect();
        assert_eq!(ids.iter().collect::<HashSet<_>>().len(), ids.len(), "an id repeated");
        let values: Vec<u128> = ids.iter().map(|id| value(id)).collect();
        // Not a counter in disguise: neighbours' XOR and difference vary, and every bit is set about half
        // the time (binomial over 10,000: mean 5,000, standard deviation 50; 4,700..5,300 is six sigmas).
        let xors: HashSet<u128> = values.windows(2).map(|w| w[0] ^ w[1]).collect();
        let diffs: HashSet<u128> = values.windows(2).map(|w| w[1].wrapping_sub(w[0])).collect();
        assert!(
            xors.len() > 9_990 && diffs.len() > 9_990,
            "{} {}",
            xors.len(),
            diffs.len()
        );
        for bit in 0..128 {
            let ones = values.iter().filter(|v| *v >> bit & 1 == 1).count();
            assert!((4_700..=5_300).contains(&ones), "bit {bit} set {ones} times in 10,000");
        }
        // The same counter value gives different ids: the counter is not where they come from.
        assert_ne!(assign(7), assign(7));
    }

    #[test]
    fn the_fallback_is_keyed_and_distinct_too() {
        let values: HashSet<u128> = (0..1_000u64).map(keyed_hash).collect();
        assert_eq!(values.len(), 1_000);
    }
}
