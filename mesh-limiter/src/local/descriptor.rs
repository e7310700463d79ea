//! Request descriptors, their hashing, and the LRU of per-value buckets behind wildcard
//! ("dynamic") descriptors.

use std::hash::{BuildHasher, Hasher};
use std::sync::Arc;

use hashbrown::HashTable;

use super::bucket::BucketImpl;
use crate::envoy_config::DescriptorEntry;

/// One `key`/`value` entry of a request descriptor. Implemented for the config model's
/// [`DescriptorEntry`], `(&str, &str)` and `(String, String)`, so callers can pass borrowed
/// data without allocating.
pub trait Entry {
    fn key(&self) -> &str;
    fn value(&self) -> &str;
}

impl Entry for DescriptorEntry {
    fn key(&self) -> &str {
        &self.key
    }
    fn value(&self) -> &str {
        &self.value
    }
}

impl Entry for (&str, &str) {
    fn key(&self) -> &str {
        self.0
    }
    fn value(&self) -> &str {
        self.1
    }
}

impl Entry for (String, String) {
    fn key(&self) -> &str {
        &self.0
    }
    fn value(&self) -> &str {
        &self.1
    }
}

impl<E: Entry + ?Sized> Entry for &E {
    fn key(&self) -> &str {
        (**self).key()
    }
    fn value(&self) -> &str {
        (**self).value()
    }
}

/// An owned descriptor (ordered entries).
pub(crate) type OwnedEntries = Box<[(Box<str>, Box<str>)]>;

pub(crate) fn to_owned<E: Entry>(entries: &[E]) -> OwnedEntries {
    entries
        .iter()
        .map(|e| (Box::from(e.key()), Box::from(e.value())))
        .collect()
}

/// Full, ordered equality of entry lists.
#[inline]
pub(crate) fn equal<E: Entry>(owned: &[(Box<str>, Box<str>)], req: &[E]) -> bool {
    owned.len() == req.len()
        && owned
            .iter()
            .zip(req)
            .all(|((k, v), e)| **k == *e.key() && **v == *e.value())
}

/// Wildcard match: same length, same keys in order, and equal values where the config value
/// is non-empty.
pub(crate) fn wildcard_match<E: Entry>(config: &[(Box<str>, Box<str>)], req: &[E]) -> bool {
    config.len() == req.len()
        && config
            .iter()
            .zip(req)
            .all(|((k, v), e)| **k == *e.key() && (v.is_empty() || **v == *e.value()))
}

#[inline]
pub(crate) fn hash_entries<S: BuildHasher, E: Entry>(state: &S, entries: &[E]) -> u64 {
    let mut h = state.build_hasher();
    h.write_usize(entries.len());
    for e in entries {
        let (k, v) = (e.key().as_bytes(), e.value().as_bytes());
        // Both lengths first: unambiguous without separators.
        h.write_u64(((k.len() as u64) << 32) ^ v.len() as u64);
        h.write(k);
        h.write(v);
    }
    h.finish()
}

/// A bounded LRU map from descriptor → bucket (one per wildcard config descriptor).
#[derive(Debug)]
pub(crate) struct Lru {
    table: HashTable<usize>,
    nodes: Vec<Node>,
    free: Vec<usize>,
    head: usize,
    tail: usize,
    len: usize,
    cap: usize,
    hasher: foldhash::fast::RandomState,
}

#[derive(Debug)]
struct Node {
    key: OwnedEntries,
    hash: u64,
    bucket: Arc<BucketImpl>,
    prev: usize,
    next: usize,
}

const NIL: usize = usize::MAX;

impl Lru {
    pub(crate) fn new(cap: usize) -> Self {
        Lru {
            table: HashTable::new(),
            nodes: Vec::new(),
            free: Vec::new(),
            head: NIL,
            tail: NIL,
            len: 0,
            cap,
            hasher: foldhash::fast::RandomState::default(),
        }
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    fn unlink(&mut self, i: usize) {
        let (p, n) = (self.nodes[i].prev, self.nodes[i].next);
        if p == NIL {
            self.head = n;
        } else {
            self.nodes[p].next = n;
        }
        if n == NIL {
            self.tail = p;
        } else {
            self.nodes[n].prev = p;
        }
    }

    fn push_front(&mut self, i: usize) {
        self.nodes[i].prev = NIL;
        self.nodes[i].next = self.head;
        if self.head != NIL {
            self.nodes[self.head].prev = i;
        }
        self.head = i;
        if self.tail == NIL {
            self.tail = i;
        }
    }

    /// The bucket for `key`, created by `make` when absent (evicting the least recently used
    /// entry beyond capacity; like Envoy, a new bucket is handed out even when capacity is 0).
    pub(crate) fn get_or_insert<E: Entry>(
        &mut self,
        key: &[E],
        make: impl FnOnce() -> BucketImpl,
    ) -> Arc<BucketImpl> {
        let hash = hash_entries(&self.hasher, key);
        let nodes = &self.nodes;
        if let Some(&i) = self.table.find(hash, |&i| equal(&nodes[i].key, key)) {
            if self.head != i {
                self.unlink(i);
                self.push_front(i);
            }
            return self.nodes[i].bucket.clone();
        }
        let bucket = Arc::new(make());
        let node = Node {
            key: to_owned(key),
            hash,
            bucket: bucket.clone(),
            prev: NIL,
            next: NIL,
        };
        let i = match self.free.pop() {
            Some(i) => {
                self.nodes[i] = node;
                i
            }
            None => {
                self.nodes.push(node);
                self.nodes.len() - 1
            }
        };
        let nodes = &self.nodes;
        self.table.insert_unique(hash, i, |&j| nodes[j].hash);
        self.push_front(i);
        self.len += 1;
        if self.len > self.cap {
            let victim = self.tail;
            self.unlink(victim);
            let vh = self.nodes[victim].hash;
            if let Ok(e) = self.table.find_entry(vh, |&j| j == victim) {
                e.remove();
            }
            // Drop the evicted bucket now rather than when the slot is reused.
            self.nodes[victim].key = Box::new([]);
            self.free.push(victim);
            self.len -= 1;
        }
        bucket
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::local::bucket::AtomicBucket;
    use std::time::Duration;

    fn mk() -> BucketImpl {
        BucketImpl::Atomic(AtomicBucket::new(
            1,
            1,
            Duration::from_secs(1),
            Duration::ZERO,
        ))
    }

    #[test]
    fn lru_evicts_least_recently_used() {
        let mut lru = Lru::new(2);
        let a = lru.get_or_insert(&[("k", "a")], mk);
        let _b = lru.get_or_insert(&[("k", "b")], mk);
        // Touch a, then insert c: b is evicted, a survives.
        assert!(Arc::ptr_eq(&a, &lru.get_or_insert(&[("k", "a")], mk)));
        let _c = lru.get_or_insert(&[("k", "c")], mk);
        assert_eq!(lru.len(), 2);
        assert!(Arc::ptr_eq(&a, &lru.get_or_insert(&[("k", "a")], mk)));
        let b2 = lru.get_or_insert(&[("k", "b")], mk);
        assert!(!Arc::ptr_eq(&_b, &b2), "b was evicted and recreated");
    }

    #[test]
    fn zero_capacity_hands_out_fresh_buckets() {
        let mut lru = Lru::new(0);
        let a = lru.get_or_insert(&[("k", "a")], mk);
        let a2 = lru.get_or_insert(&[("k", "a")], mk);
        assert!(!Arc::ptr_eq(&a, &a2));
        assert_eq!(lru.len(), 0);
    }

    #[test]
    fn matching_rules() {
        let cfg: OwnedEntries = to_owned(&[("a", "1"), ("b", "")]);
        assert!(wildcard_match(&cfg, &[("a", "1"), ("b", "x")]));
        assert!(!wildcard_match(&cfg, &[("a", "2"), ("b", "x")]));
        assert!(!wildcard_match(&cfg, &[("a", "1")]));
        assert!(!wildcard_match(&cfg, &[("b", "x"), ("a", "1")]));
        assert!(equal(&cfg, &[("a", "1"), ("b", "")]));
        assert!(!equal(&cfg, &[("a", "1"), ("b", "x")]));
    }
}
