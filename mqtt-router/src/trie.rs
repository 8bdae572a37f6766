//! The arena trie both indexes are built on: one node per distinct level path, children found by hashing the
//! level and comparing it with the level stored in the child node itself, so each level string is stored once.
//!
//! Nodes live in a `Vec` and refer to each other by `u32` index; freed nodes go on a free list and are reused.
//! `+` and `#` children have their own slots, so wildcard lookups never hash.

use std::hash::BuildHasher;

use hashbrown::{DefaultHashBuilder, HashTable};

use crate::Error;
use crate::level::{Level, tag};

/// Index of a node in the arena.
pub(crate) type NodeId = u32;

/// "No node" in the `plus`/`hash`/`parent` slots.
pub(crate) const NONE: NodeId = NodeId::MAX;

/// The root node's index; it always exists.
pub(crate) const ROOT: NodeId = 0;

/// What a node holds besides its children. A node whose value is empty and that has no children is pruned.
pub(crate) trait NodeValue: Default {
    fn is_empty(&self) -> bool;
}

/// Literal children of a node. Most nodes of a large trie have at most one (a device's `cmd` under its own
/// level), so one child is stored inline and compared without hashing; a table is allocated from two on.
enum Children {
    None,
    /// The child and the [`tag`] of its level.
    One(NodeId, u32),
    Many(Box<HashTable<NodeId>>),
}

impl Children {
    fn is_empty(&self) -> bool {
        matches!(self, Children::None)
    }
}

pub(crate) struct Node<V> {
    /// The level this node stands for in its parent ("" for the root).
    level: Level,
    parent: NodeId,
    /// The `+` child.
    pub(crate) plus: NodeId,
    /// The `#` child.
    pub(crate) hash: NodeId,
    /// Literal children, keyed by their own `level`.
    children: Children,
    pub(crate) value: V,
}

impl<V: NodeValue> Node<V> {
    fn new(level: Level, parent: NodeId) -> Self {
        Node {
            level,
            parent,
            plus: NONE,
            hash: NONE,
            children: Children::None,
            value: V::default(),
        }
    }

    fn is_prunable(&self) -> bool {
        self.value.is_empty() && self.plus == NONE && self.hash == NONE && self.children.is_empty()
    }

    /// True when this node's level starts with `$`.
    pub(crate) fn level_is_dollar(&self) -> bool {
        self.level.as_bytes().first() == Some(&b'$')
    }

    /// Literal children, in no particular order.
    pub(crate) fn literal_children(&self) -> impl Iterator<Item = NodeId> + '_ {
        let (one, many) = match &self.children {
            Children::None => (None, None),
            Children::One(id, _) => (Some(*id), None),
            Children::Many(table) => (None, Some(table.iter().copied())),
        };
        one.into_iter().chain(many.into_iter().flatten())
    }
}

pub(crate) struct Trie<V> {
    nodes: Vec<Node<V>>,
    free: Vec<NodeId>,
    hasher: DefaultHashBuilder,
}

impl<V: NodeValue> Default for Trie<V> {
    fn default() -> Self {
        Trie {
            nodes: vec![Node::new(Level::default(), NONE)],
            free: Vec::new(),
            hasher: DefaultHashBuilder::default(),
        }
    }
}

impl<V: NodeValue> Trie<V> {
    /// Live nodes, the root included.
    pub(crate) fn node_count(&self) -> usize {
        self.nodes.len() - self.free.len()
    }

    pub(crate) fn root(&self) -> &Node<V> {
        // The root is created with the trie and never freed; `nodes` is never empty.
        #[allow(clippy::indexing_slicing)]
        &self.nodes[ROOT as usize]
    }

    #[inline]
    pub(crate) fn get(&self, id: NodeId) -> Option<&Node<V>> {
        self.nodes.get(id as usize)
    }

    #[inline]
    pub(crate) fn get_mut(&mut self, id: NodeId) -> Option<&mut Node<V>> {
        self.nodes.get_mut(id as usize)
    }

    /// The literal child of `node` named `level`.
    #[inline]
    pub(crate) fn literal_child(&self, node: &Node<V>, level: &str) -> Option<NodeId> {
        match &node.children {
            Children::None => None,
            Children::One(id, child_tag) => {
                if *child_tag != tag(level.as_bytes()) {
                    return None;
                }
                self.nodes
                    .get(*id as usize)
                    .filter(|c| c.level.as_bytes() == level.as_bytes())
                    .map(|_| *id)
            }
            Children::Many(table) => {
                let hash = self.hasher.hash_one(level.as_bytes());
                table
                    .find(hash, |&id| {
                        self.nodes
                            .get(id as usize)
                            .is_some_and(|c| c.level.as_bytes() == level.as_bytes())
                    })
                    .copied()
            }
        }
    }

    /// The child of `node` for a filter level: `+` and `#` have their own slots.
    pub(crate) fn child(&self, node: &Node<V>, level: &str) -> Option<NodeId> {
        let id = match level {
            "+" => node.plus,
            "#" => node.hash,
            _ => return self.literal_child(node, level),
        };
        (id != NONE).then_some(id)
    }

    /// Follows `levels` from the root without creating anything.
    pub(crate) fn find<'a>(&self, levels: impl Iterator<Item = &'a str>) -> Option<NodeId> {
        let mut id = ROOT;
        for level in levels {
            id = self.child(self.get(id)?, level)?;
        }
        Some(id)
    }

    /// Follows `levels` from the root, creating missing nodes, and returns the last one.
    pub(crate) fn ensure<'a>(&mut self, levels: impl Iterator<Item = &'a str>) -> Result<NodeId, Error> {
        let mut id = ROOT;
        for level in levels {
            let node = self.get(id).ok_or(Error::CapacityExhausted)?;
            id = match self.child(node, level) {
                Some(child) => child,
                None => self.add_child(id, level)?,
            };
        }
        Ok(id)
    }

    fn add_child(&mut self, parent: NodeId, level: &str) -> Result<NodeId, Error> {
        let node = Node::new(Level::new(level), parent);
        let id = match self.free.pop() {
            Some(id) => {
                let slot = self.get_mut(id).ok_or(Error::CapacityExhausted)?;
                *slot = node;
                id
            }
            None => {
                let id = NodeId::try_from(self.nodes.len()).map_err(|_| Error::CapacityExhausted)?;
                if id == NONE {
                    return Err(Error::CapacityExhausted);
                }
                self.nodes.push(node);
                id
            }
        };
        match level {
            "+" => self.get_mut(parent).ok_or(Error::CapacityExhausted)?.plus = id,
            "#" => self.get_mut(parent).ok_or(Error::CapacityExhausted)?.hash = id,
            _ => {
                let children = std::mem::replace(
                    &mut self.get_mut(parent).ok_or(Error::CapacityExhausted)?.children,
                    Children::None,
                );
                let children = match children {
                    Children::None => Children::One(id, tag(level.as_bytes())),
                    Children::One(first, _) => {
                        let mut table = Box::new(HashTable::with_capacity(2));
                        for child in [first, id] {
                            self.insert_hashed(&mut table, child);
                        }
                        Children::Many(table)
                    }
                    Children::Many(mut table) => {
                        self.insert_hashed(&mut table, id);
                        Children::Many(table)
                    }
                };
                if let Some(p) = self.get_mut(parent) {
                    p.children = children;
                }
            }
        }
        Ok(id)
    }

    fn insert_hashed(&self, table: &mut HashTable<NodeId>, id: NodeId) {
        let (nodes, hasher) = (&self.nodes, &self.hasher);
        let hash_of = |c: &NodeId| {
            nodes
                .get(*c as usize)
                .map_or(0, |n| hasher.hash_one(n.level.as_bytes()))
        };
        table.insert_unique(hash_of(&id), id, hash_of);
    }

    /// Frees `id` and then each ancestor that is left with no value and no children.
    pub(crate) fn prune(&mut self, mut id: NodeId) {
        while id != ROOT {
            let Some(node) = self.get(id) else { return };
            if !node.is_prunable() {
                return;
            }
            let parent = node.parent;
            let hash = self.hasher.hash_one(node.level.as_bytes());
            let Some(level) = self.get_mut(id).map(|n| std::mem::take(&mut n.level)) else {
                return;
            };
            let Some(p) = self.get_mut(parent) else { return };
            match level.as_bytes() {
                b"+" => p.plus = NONE,
                b"#" => p.hash = NONE,
                _ => {
                    let children = match std::mem::replace(&mut p.children, Children::None) {
                        Children::One(only, _) if only == id => Children::None,
                        Children::Many(mut table) => {
                            if let Ok(entry) = table.find_entry(hash, |&c| c == id) {
                                entry.remove();
                            }
                            // Back to the inline form (and give the table's memory back) at one child; shrink a
                            // table that has emptied out, so mass unsubscribes return memory.
                            match table.len() {
                                0 => Children::None,
                                1 => table.iter().next().map_or(Children::None, |&c| {
                                    let t = self.nodes.get(c as usize).map_or(0, |n| tag(n.level.as_bytes()));
                                    Children::One(c, t)
                                }),
                                len => {
                                    if len * 4 < table.capacity() {
                                        let (nodes, hasher) = (&self.nodes, &self.hasher);
                                        table.shrink_to(len * 2, |c| {
                                            nodes
                                                .get(*c as usize)
                                                .map_or(0, |n| hasher.hash_one(n.level.as_bytes()))
                                        });
                                    }
                                    Children::Many(table)
                                }
                            }
                        }
                        other => other,
                    };
                    if let Some(p) = self.get_mut(parent) {
                        p.children = children;
                    }
                }
            }
            if let Some(n) = self.get_mut(id) {
                n.parent = NONE;
                n.value = V::default();
            }
            self.free.push(id);
            id = parent;
        }
    }
}
