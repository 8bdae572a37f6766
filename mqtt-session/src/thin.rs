//! Collections that cost one pointer while empty.
//!
//! A broker keeps one session per connected client, and most of them sit idle with every queue and table
//! empty. An empty `VecDeque` or `HashMap` allocates nothing but still takes 32–48 bytes inline; a session has
//! a dozen of them, so their headers were most of an idle session's size. [`ThinDeque`] and [`ThinMap`] hold
//! the collection behind an `Option<Box<_>>`: 8 bytes until first used, and back to 8 bytes when
//! `shrink_to_fit` finds them empty. They keep the box while in use (emptying one does not free it), so a busy
//! session does not allocate per packet.

use std::collections::HashMap;
use std::collections::VecDeque;
use std::hash::{BuildHasher, Hash};

/// A `VecDeque` that is one null pointer until it is first pushed to (see the module docs).
#[derive(Debug, Clone, PartialEq, Eq)]
#[expect(
    clippy::box_collection,
    reason = "the box is the point: 8 bytes inline instead of 32"
)]
pub(crate) struct ThinDeque<T>(Option<Box<VecDeque<T>>>);

impl<T> Default for ThinDeque<T> {
    fn default() -> Self {
        ThinDeque(None)
    }
}

impl<T> ThinDeque<T> {
    /// An empty deque, without allocating.
    pub(crate) const fn new() -> Self {
        ThinDeque(None)
    }

    pub(crate) fn push_back(&mut self, value: T) {
        self.0.get_or_insert_with(Box::default).push_back(value);
    }

    pub(crate) fn pop_front(&mut self) -> Option<T> {
        self.0.as_mut()?.pop_front()
    }

    pub(crate) fn front(&self) -> Option<&T> {
        self.0.as_ref()?.front()
    }

    pub(crate) fn remove(&mut self, index: usize) -> Option<T> {
        self.0.as_mut()?.remove(index)
    }

    pub(crate) fn len(&self) -> usize {
        self.0.as_ref().map_or(0, |d| d.len())
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub(crate) fn clear(&mut self) {
        if let Some(d) = self.0.as_mut() {
            d.clear();
        }
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = &T> {
        self.0.iter().flat_map(|d| d.iter())
    }

    pub(crate) fn iter_mut(&mut self) -> impl Iterator<Item = &mut T> {
        self.0.iter_mut().flat_map(|d| d.iter_mut())
    }

    /// Takes every element out, leaving the deque unallocated.
    pub(crate) fn take(&mut self) -> VecDeque<T> {
        self.0.take().map(|d| *d).unwrap_or_default()
    }

    /// Removes and yields every element, front to back (`VecDeque::drain(..)`); keeps the allocation.
    pub(crate) fn drain_all(&mut self) -> impl Iterator<Item = T> + '_ {
        self.0.iter_mut().flat_map(|d| d.drain(..))
    }

    /// Frees the deque when empty, otherwise releases its spare capacity.
    pub(crate) fn shrink_to_fit(&mut self) {
        match self.0.as_mut() {
            Some(d) if d.is_empty() => self.0 = None,
            Some(d) => d.shrink_to_fit(),
            None => {}
        }
    }
}

impl<T> From<VecDeque<T>> for ThinDeque<T> {
    /// Keeps `deque`'s allocation, or none when it is empty.
    fn from(deque: VecDeque<T>) -> Self {
        ThinDeque((!deque.is_empty()).then(|| Box::new(deque)))
    }
}

impl<T> Extend<T> for ThinDeque<T> {
    fn extend<I: IntoIterator<Item = T>>(&mut self, iter: I) {
        let mut iter = iter.into_iter().peekable();
        if iter.peek().is_some() {
            self.0.get_or_insert_with(Box::default).extend(iter);
        }
    }
}

/// A `HashMap` that is one null pointer until it is first inserted into (see the module docs).
#[derive(Debug, Clone)]
#[expect(
    clippy::box_collection,
    reason = "the box is the point: 8 bytes inline instead of 32 or 48"
)]
pub(crate) struct ThinMap<K, V, S>(Option<Box<HashMap<K, V, S>>>);

impl<K, V, S> Default for ThinMap<K, V, S> {
    fn default() -> Self {
        ThinMap(None)
    }
}

impl<K: Eq + Hash, V, S: BuildHasher + Default> ThinMap<K, V, S> {
    /// The map, when it has been allocated.
    pub(crate) fn as_mut(&mut self) -> Option<&mut HashMap<K, V, S>> {
        self.0.as_deref_mut()
    }

    pub(crate) fn insert(&mut self, key: K, value: V) -> Option<V> {
        self.0.get_or_insert_with(Box::default).insert(key, value)
    }

    pub(crate) fn get(&self, key: &K) -> Option<&V> {
        self.0.as_ref()?.get(key)
    }

    pub(crate) fn get_mut(&mut self, key: &K) -> Option<&mut V> {
        self.0.as_mut()?.get_mut(key)
    }

    pub(crate) fn remove(&mut self, key: &K) -> Option<V> {
        self.0.as_mut()?.remove(key)
    }

    pub(crate) fn contains_key(&self, key: &K) -> bool {
        self.0.as_ref().is_some_and(|m| m.contains_key(key))
    }

    pub(crate) fn len(&self) -> usize {
        self.0.as_ref().map_or(0, |m| m.len())
    }

    pub(crate) fn clear(&mut self) {
        if let Some(m) = self.0.as_mut() {
            m.clear();
        }
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = (&K, &V)> {
        self.0.iter().flat_map(|m| m.iter())
    }

    pub(crate) fn values_mut(&mut self) -> impl Iterator<Item = &mut V> {
        self.0.iter_mut().flat_map(|m| m.values_mut())
    }

    /// Removes and yields every entry (`HashMap::drain`); keeps the allocation.
    pub(crate) fn drain(&mut self) -> impl Iterator<Item = (K, V)> + '_ {
        self.0.iter_mut().flat_map(|m| m.drain())
    }

    /// Frees the map when empty, otherwise releases its spare capacity.
    pub(crate) fn shrink_to_fit(&mut self) {
        match self.0.as_mut() {
            Some(m) if m.is_empty() => self.0 = None,
            Some(m) => m.shrink_to_fit(),
            None => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::hash_map::RandomState;

    #[test]
    fn deque_is_one_pointer_and_frees_when_shrunk_empty() {
        assert_eq!(std::mem::size_of::<ThinDeque<u64>>(), std::mem::size_of::<usize>());
        let mut d = ThinDeque::new();
        assert!(d.0.is_none() && d.is_empty() && d.pop_front().is_none());
        d.push_back(1);
        d.push_back(2);
        d.extend([3, 4]);
        assert_eq!(d.len(), 4);
        assert_eq!(d.front(), Some(&1));
        assert_eq!(d.remove(1), Some(2));
        assert_eq!(d.iter().copied().collect::<Vec<_>>(), [1, 3, 4]);
        d.shrink_to_fit();
        assert!(d.0.is_some(), "a deque with elements keeps them");
        assert_eq!(d.drain_all().collect::<Vec<_>>(), [1, 3, 4]);
        assert!(d.0.is_some(), "draining keeps the allocation for the next burst");
        d.shrink_to_fit();
        assert!(d.0.is_none());
        d.extend(std::iter::empty());
        assert!(d.0.is_none(), "extending with nothing allocates nothing");
        assert!(ThinDeque::<u8>::from(VecDeque::new()).0.is_none());
        assert_eq!(
            ThinDeque::from(VecDeque::from([5, 6]))
                .iter()
                .copied()
                .collect::<Vec<_>>(),
            [5, 6]
        );
    }

    #[test]
    fn map_is_one_pointer_and_frees_when_shrunk_empty() {
        assert_eq!(
            std::mem::size_of::<ThinMap<u16, u64, RandomState>>(),
            std::mem::size_of::<usize>()
        );
        let mut m: ThinMap<u16, u64, RandomState> = ThinMap::default();
        assert!(m.get(&1).is_none() && m.remove(&1).is_none() && !m.contains_key(&1) && m.as_mut().is_none());
        assert_eq!(m.len(), 0);
        m.insert(1, 10);
        m.insert(2, 15);
        if let Some(std::collections::hash_map::Entry::Occupied(mut e)) = m.as_mut().map(|m| m.entry(2)) {
            *e.get_mut() += 5;
        }
        if let Some(v) = m.get_mut(&1) {
            *v += 1;
        }
        assert_eq!((m.get(&1), m.get(&2), m.len()), (Some(&11), Some(&20), 2));
        for v in m.values_mut() {
            *v *= 2;
        }
        let mut all: Vec<_> = m.iter().map(|(k, v)| (*k, *v)).collect();
        all.sort_unstable();
        assert_eq!(all, [(1, 22), (2, 40)]);
        assert_eq!(m.remove(&1), Some(22));
        assert_eq!(m.drain().collect::<Vec<_>>(), [(2, 40)]);
        assert_eq!(m.len(), 0);
        assert!(m.0.is_some(), "draining keeps the allocation for the next burst");
        m.shrink_to_fit();
        assert!(m.0.is_none());
    }
}
