//! The decoded view of one message: what routing, limiting and logging need.

use std::collections::hash_map::RandomState;
use std::fmt;
use std::hash::{BuildHasher, Hasher};

/// What kind of message was decoded (Aeraki's `MessageType`, plus `Heartbeat`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum MessageType {
    #[default]
    Request,
    Response,
    Oneway,
    Heartbeat,
    StreamInit,
    StreamData,
    StreamClose,
    Error,
}

impl MessageType {
    /// The lower-case name used in JSON output (`request`, `oneway`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            MessageType::Request => "request",
            MessageType::Response => "response",
            MessageType::Oneway => "oneway",
            MessageType::Heartbeat => "heartbeat",
            MessageType::StreamInit => "stream_init",
            MessageType::StreamData => "stream_data",
            MessageType::StreamClose => "stream_close",
            MessageType::Error => "error",
        }
    }
}

impl fmt::Display for MessageType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Outcome carried by a response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ResponseStatus {
    Ok,
    Error,
}

impl ResponseStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ResponseStatus::Ok => "ok",
            ResponseStatus::Error => "error",
        }
    }
}

/// A non-routable typed value attached to metadata (protocol variant, RESP type, status code…).
/// `Copy`, with borrowed `'static` strings: clearing and refilling the typed values of a
/// reused `Metadata` drops nothing and allocates nothing. Owned strings are routable
/// [`Headers`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TypedValue {
    Str(&'static str),
    Int(i64),
    UInt(u64),
    Bool(bool),
}

impl fmt::Display for TypedValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TypedValue::Str(s) => f.write_str(s),
            TypedValue::Int(v) => write!(f, "{v}"),
            TypedValue::UInt(v) => write!(f, "{v}"),
            TypedValue::Bool(v) => write!(f, "{v}"),
        }
    }
}

/// Routable string keys. Keys are lower-cased on insert (Aeraki semantics). `clear` keeps the
/// allocated strings, so a connection that reuses one `Metadata` reaches a steady state with no
/// heap allocation per message.
///
/// Up to `INDEX_FROM` (16) entries a key is found by comparing it with each stored key (a message
/// has a handful; no hashing beats that). Past it, a hash index over the entries finds keys, so
/// a message with many distinct keys (Dubbo attachments, THeader info headers) costs time
/// linear in their number, not quadratic.
#[derive(Default, Clone)]
pub struct Headers {
    slots: Vec<(String, String)>,
    len: usize,
    /// Valid only while `len > INDEX_FROM`: then it holds exactly the entries `0..len`.
    index: Index,
}

/// Entries up to which keys are found by a linear scan.
const INDEX_FROM: usize = 16;

/// An open-addressing hash table of entry numbers (linear probing, at most half full). Keys
/// come from the peer, so the hash is keyed per table (`RandomState`, SipHash): a peer cannot
/// choose keys that collide.
#[derive(Default, Clone)]
struct Index {
    /// Entry number + 1 per bucket, 0 = empty; the length is a power of two.
    buckets: Vec<u32>,
    hasher: Option<RandomState>,
}

impl Index {
    /// The hash of a key compared case-insensitively (stored keys are lower-case already).
    fn hash(hasher: &RandomState, key: &str) -> u64 {
        let mut h = hasher.build_hasher();
        let mut lower = [0u8; 64];
        for chunk in key.as_bytes().chunks(lower.len()) {
            let l = &mut lower[..chunk.len()];
            l.copy_from_slice(chunk);
            l.make_ascii_lowercase();
            h.write(l);
        }
        h.finish()
    }

    /// Puts entry `i` (whose key is `key`, not in the table yet) into the table.
    fn put(&mut self, i: usize, key: &str) {
        let hasher = self.hasher.get_or_insert_with(RandomState::new);
        let mask = self.buckets.len() - 1;
        let mut b = Self::hash(hasher, key) as usize & mask;
        while self.buckets[b] != 0 {
            b = (b + 1) & mask;
        }
        self.buckets[b] = i as u32 + 1;
    }
}

impl Headers {
    /// Removes every entry, keeping the allocations for reuse.
    pub fn clear(&mut self) {
        self.len = 0;
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when there is no entry.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Sets `key` (lower-cased) to `value`, replacing an existing entry of the same key.
    #[inline]
    pub fn insert(&mut self, key: &str, value: &str) {
        if !self.reuse(key, value.as_bytes()) {
            self.insert_slow(key, value);
        }
    }

    /// A connection repeats its methods, commands and keys, so the next reused slot often
    /// already holds this very pair (from the same position of an earlier message): then it
    /// is taken as it is, with no copy and no UTF-8 check (its bytes are those of a `str`).
    ///
    /// The condition, and why each part must stay: the slot just past the live entries
    /// (`slots[len]`, kept by `clear`) holds a key equal to `key` and a value byte for byte
    /// equal to `value` (so `value` is valid UTF-8: it equals a `String`'s bytes), **and** `key`
    /// is not among the live entries: then the insert would append exactly this pair, and the
    /// slot already is that pair. Without the last test a key inserted twice would be live
    /// twice instead of replaced. The value length is compared first because it is the cheapest
    /// test that fails; the first entry (`len == 0`) needs no search.
    #[inline(always)]
    fn reuse(&mut self, key: &str, value: &[u8]) -> bool {
        let hit = match self.slots.get(self.len) {
            Some((k, v)) => {
                v.len() == value.len()
                    && same_key(k, key)
                    && same_bytes(v.as_bytes(), value)
                    && (self.len == 0 || self.position(key).is_none())
            }
            None => false,
        };
        self.len += usize::from(hit);
        if hit && self.len > INDEX_FROM {
            self.indexed();
        }
        hit
    }

    /// Entry `len - 1` was just added and the set is past [`INDEX_FROM`]: index it (the whole
    /// set when it has just crossed the threshold; a rebuild when the table would pass half
    /// full, doubling it, so the cost stays linear overall).
    #[cold]
    #[inline(never)]
    fn indexed(&mut self) {
        let n = self.len;
        if n == INDEX_FROM + 1 || n * 2 > self.index.buckets.len() {
            self.reindex();
        } else {
            self.index.put(n - 1, &self.slots[n - 1].0);
        }
    }

    /// Rebuilds the index over the live entries (or forgets it when they are few).
    #[cold]
    #[inline(never)]
    fn reindex(&mut self) {
        if self.len <= INDEX_FROM {
            return;
        }
        let size = (self.len * 2).next_power_of_two().max(64);
        let buckets = &mut self.index.buckets;
        buckets.clear();
        buckets.resize(size, 0);
        for (i, (k, _)) in self.slots[..self.len].iter().enumerate() {
            self.index.put(i, k);
        }
    }

    /// [`Headers::position`] past [`INDEX_FROM`] entries.
    #[cold]
    #[inline(never)]
    fn indexed_position(&self, key: &str) -> Option<usize> {
        let index = &self.index;
        let hasher = index.hasher.as_ref()?;
        let mask = index.buckets.len() - 1;
        let mut b = Index::hash(hasher, key) as usize & mask;
        loop {
            let i = (index.buckets[b] as usize).checked_sub(1)?;
            if same_key(&self.slots[i].0, key) {
                return Some(i);
            }
            b = (b + 1) & mask;
        }
    }

    fn insert_slow(&mut self, key: &str, value: &str) {
        if let Some(i) = self.position(key) {
            let v = &mut self.slots[i].1;
            v.clear();
            v.push_str(value);
            return;
        }
        if self.len == self.slots.len() {
            self.slots.push((String::new(), String::new()));
        }
        let (k, v) = &mut self.slots[self.len];
        // A reused slot often already holds this (lower-case) key: keep it.
        if !same_key(k, key) {
            k.clear();
            k.push_str(key);
            k.make_ascii_lowercase();
        }
        v.clear();
        v.push_str(value);
        self.len += 1;
        if self.len > INDEX_FROM {
            self.indexed();
        }
    }

    /// Sets `key` to a value given as UTF-8 bytes (lossy for invalid UTF-8).
    #[inline(always)]
    pub fn insert_bytes(&mut self, key: &str, value: &[u8]) {
        if !self.reuse(key, value) {
            self.insert_bytes_slow(key, value);
        }
    }

    #[inline(never)]
    fn insert_bytes_slow(&mut self, key: &str, value: &[u8]) {
        match std::str::from_utf8(value) {
            Ok(s) => self.insert_slow(key, s),
            Err(_) => self.insert_slow(key, &String::from_utf8_lossy(value)),
        }
    }

    /// The value of `key` (compared case-insensitively).
    #[inline]
    pub fn get(&self, key: &str) -> Option<&str> {
        self.position(key).map(|i| self.slots[i].1.as_str())
    }

    /// Removes `key`; returns whether it was present.
    pub fn remove(&mut self, key: &str) -> bool {
        match self.position(key) {
            Some(i) => {
                self.slots[i..self.len].rotate_left(1);
                self.len -= 1;
                // Entry numbers after `i` moved: as linear as the rotation.
                self.reindex();
                true
            }
            None => false,
        }
    }

    /// Entries in insertion order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&str, &str)> + '_ {
        self.slots[..self.len]
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
    }

    #[inline]
    fn position(&self, key: &str) -> Option<usize> {
        if self.len > INDEX_FROM {
            return self.indexed_position(key);
        }
        self.slots[..self.len]
            .iter()
            .position(|(k, _)| same_key(k, key))
    }
}

#[cfg(test)]
thread_local! {
    /// Key comparisons made by this thread (the complexity tests count them).
    pub(crate) static KEY_COMPARES: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// Key comparisons made by this thread so far.
#[cfg(test)]
pub(crate) fn key_compares() -> u64 {
    KEY_COMPARES.with(|c| c.get())
}

/// `stored` (lower-case) is `key` compared case-insensitively; an exact match is the common
/// case.
#[inline(always)]
fn same_key(stored: &str, key: &str) -> bool {
    #[cfg(test)]
    KEY_COMPARES.with(|c| c.set(c.get() + 1));
    let (a, b) = (stored.as_bytes(), key.as_bytes());
    a.len() == b.len() && (same_bytes(a, b) || a.eq_ignore_ascii_case(b))
}

/// `a == b` for slices of equal length. Keys are short: two overlapping word compares instead
/// of a call to `memcmp`.
#[inline(always)]
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    fn word<const N: usize>(s: &[u8], at: usize) -> [u8; N] {
        let mut w = [0; N];
        w.copy_from_slice(&s[at..at + N]);
        w
    }
    let n = a.len();
    match n {
        8..=16 => word::<8>(a, 0) == word::<8>(b, 0) && word::<8>(a, n - 8) == word::<8>(b, n - 8),
        4..=7 => word::<4>(a, 0) == word::<4>(b, 0) && word::<4>(a, n - 4) == word::<4>(b, n - 4),
        _ => a == b,
    }
}

impl fmt::Debug for Headers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

/// Everything a decoder learned about one message.
///
/// Reuse one `Metadata` per connection and direction: [`Metadata::reset`] keeps allocations.
#[derive(Debug, Default, Clone)]
pub struct Metadata {
    /// Kind of message.
    pub message_type: MessageType,
    /// Correlates a response with its request (Dubbo request id, Thrift seqid, Redis position).
    pub request_id: Option<u64>,
    /// Stream id for streaming protocols.
    pub stream_id: Option<u64>,
    /// Total size of the message on the wire, in bytes (header + body).
    pub message_size: usize,
    /// Size of the protocol header part.
    pub header_size: usize,
    /// Size of the body part.
    pub body_size: usize,
    /// Response outcome (`None` for requests).
    pub status: Option<ResponseStatus>,
    /// Routable string keys (`method`, `interface`, `command`, `key`, attachments…).
    pub headers: Headers,
    /// Non-routable typed values (`protocol`, `transport`, `type`, `status_code`…).
    pub typed: Vec<(&'static str, TypedValue)>,
}

impl Metadata {
    /// A fresh, empty metadata.
    pub fn new() -> Self {
        Self::default()
    }

    /// Clears everything for the next message, keeping allocations.
    pub fn reset(&mut self) {
        self.message_type = MessageType::Request;
        self.request_id = None;
        self.stream_id = None;
        self.message_size = 0;
        self.header_size = 0;
        self.body_size = 0;
        self.status = None;
        self.headers.clear();
        self.typed.clear();
    }

    /// Shorthand for `self.headers.get(key)`.
    #[inline]
    pub fn get(&self, key: &str) -> Option<&str> {
        self.headers.get(key)
    }

    /// Sets a typed value, replacing an existing one with the same key.
    pub fn set_typed(&mut self, key: &'static str, value: TypedValue) {
        if let Some(slot) = self.typed.iter_mut().find(|(k, _)| *k == key) {
            slot.1 = value;
        } else {
            self.typed.push((key, value));
        }
    }

    /// A typed value by key.
    pub fn typed(&self, key: &str) -> Option<&TypedValue> {
        self.typed.iter().find(|(k, _)| *k == key).map(|(_, v)| v)
    }
}

/// Changes to apply when re-encoding a message (Aeraki's `Mutation`: a string map).
/// Each codec documents which keys it understands; unknown keys are its choice to carry
/// (e.g. as attachments/headers) or refuse, never to drop silently.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Mutation {
    entries: Vec<(String, String)>,
}

impl Mutation {
    /// An empty mutation (encode writes the original message unchanged).
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds or replaces `key`.
    pub fn set(&mut self, key: impl Into<String>, value: impl Into<String>) -> &mut Self {
        let key = key.into();
        let value = value.into();
        match self.entries.iter_mut().find(|(k, _)| *k == key) {
            Some(slot) => slot.1 = value,
            None => self.entries.push((key, value)),
        }
        self
    }

    /// Builder-style [`Mutation::set`].
    pub fn with(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.set(key, value);
        self
    }

    /// The value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.entries
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// True when there is nothing to change.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Entries in insertion order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&str, &str)> + '_ {
        self.entries.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }
}

impl<K: Into<String>, V: Into<String>> FromIterator<(K, V)> for Mutation {
    fn from_iter<T: IntoIterator<Item = (K, V)>>(iter: T) -> Self {
        let mut m = Mutation::new();
        for (k, v) in iter {
            m.set(k, v);
        }
        m
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reused_slot_is_taken_only_for_the_same_pair() {
        let mut h = Headers::default();
        h.insert("method", "ping");
        h.insert("key", "k1");
        h.clear();
        // Same key and value in the same place: reused.
        h.insert_bytes("METHOD", b"ping");
        assert_eq!(h.iter().collect::<Vec<_>>(), [("method", "ping")]);
        // Same length, other value.
        h.insert_bytes("key", b"k2");
        assert_eq!(
            h.iter().collect::<Vec<_>>(),
            [("method", "ping"), ("key", "k2")]
        );
        h.clear();
        // The slot of "method" now meets another key with the same value.
        h.insert("key", "ping");
        h.insert("method", "ping");
        assert_eq!(
            h.iter().collect::<Vec<_>>(),
            [("key", "ping"), ("method", "ping")]
        );
        h.clear();
        // A key already present is replaced, even when the next slot would match.
        h.insert("key", "ping");
        h.insert("method", "ping");
        h.clear();
        h.insert("method", "x");
        h.insert_bytes("method", b"ping");
        assert_eq!(h.iter().collect::<Vec<_>>(), [("method", "ping")]);
        // Invalid UTF-8 never matches a stored (valid) value byte for byte.
        h.clear();
        h.insert_bytes("method", b"p\xffng");
        assert_eq!(h.get("method"), Some("p\u{fffd}ng"));
        h.clear();
        h.insert_bytes("method", b"p\xffng");
        assert_eq!(h.get("method"), Some("p\u{fffd}ng"));
    }

    #[test]
    fn keys_are_case_insensitive_and_slots_are_reused() {
        let mut h = Headers::default();
        h.insert("Method", "ping");
        assert_eq!(h.get("METHOD"), Some("ping"));
        assert_eq!(h.get("method"), Some("ping"));
        assert_eq!(h.get("metho"), None);
        assert_eq!(h.get("methods"), None);
        h.insert("mEthod", "pong");
        assert_eq!(h.iter().collect::<Vec<_>>(), [("method", "pong")]);
        h.clear();
        // The reused slot holds "method"; a different key of the same length must replace it.
        h.insert("Series", "x");
        assert_eq!(h.get("serieS"), Some("x"));
        assert_eq!(h.get("serief"), None);
        assert_eq!(h.get("aeries"), None);
        assert_eq!(h.iter().collect::<Vec<_>>(), [("series", "x")]);
        assert_eq!(h.get("method"), None);
        h.clear();
        h.insert("METHOD", "y");
        assert_eq!(h.iter().collect::<Vec<_>>(), [("method", "y")]);
        // Every length class of the word compare: a difference at each position is seen.
        for len in 1..=20 {
            let key: String = (0..len).map(|i| (b'a' + i as u8) as char).collect();
            h.clear();
            h.insert(&key, "v");
            assert_eq!(h.get(&key.to_uppercase()), Some("v"));
            for i in 0..len {
                let mut other = key.clone().into_bytes();
                other[i] = b'z';
                assert_eq!(
                    h.get(std::str::from_utf8(&other).unwrap()),
                    None,
                    "{key} @ {i}"
                );
            }
        }
    }
}

#[cfg(test)]
mod complexity {
    use super::*;

    /// Key comparisons made by `f`.
    fn compares(f: impl FnOnce()) -> u64 {
        let before = key_compares();
        f();
        key_compares() - before
    }

    /// Inserts `n` distinct keys, clears, inserts them again (the reuse path), looks each one
    /// up and removes one.
    fn workload(n: usize) -> u64 {
        let keys: Vec<String> = (0..n).map(|i| format!("Key-{i}")).collect();
        let mut h = Headers::default();
        compares(|| {
            for k in &keys {
                h.insert(k, "v");
            }
            h.clear();
            for k in &keys {
                h.insert_bytes(k, b"v");
            }
            for k in &keys {
                assert_eq!(h.get(&k.to_uppercase()), Some("v"));
            }
            assert_eq!(h.get("absent"), None);
            // A repeated key replaces its entry.
            h.insert(&keys[n / 2], "w");
            assert_eq!(h.len(), n);
            assert!(h.remove(&keys[0]));
            assert_eq!(h.get(&keys[0]), None);
            assert_eq!(h.get(&keys[1]), Some("v"));
            assert_eq!(h.get(&keys[n / 2]), Some("w"));
        })
    }

    #[test]
    fn key_comparisons_grow_linearly_with_the_number_of_keys() {
        let (a, b) = (workload(2_000), workload(4_000));
        // Linear: doubling the keys at most doubles the comparisons (plus probing noise); a
        // search per insert would quadruple them.
        assert!(
            b <= a * 5 / 2,
            "{a} comparisons for 2000 keys, {b} for 4000"
        );
        assert!(a <= 2_000 * 12, "{a} comparisons for 2000 keys");
    }

    #[test]
    fn small_sets_and_the_threshold_keep_their_answers() {
        for n in [
            1,
            INDEX_FROM - 1,
            INDEX_FROM,
            INDEX_FROM + 1,
            INDEX_FROM + 2,
            100,
        ] {
            let mut h = Headers::default();
            for round in 0..3 {
                h.clear();
                for i in 0..n {
                    h.insert(&format!("K{i}"), &format!("{}", i + round % 2));
                }
                // Duplicates replace, across the threshold too.
                h.insert("K0", "again");
                assert_eq!(h.len(), n);
                for i in 1..n {
                    assert_eq!(
                        h.get(&format!("k{i}")),
                        Some(&*format!("{}", i + round % 2))
                    );
                }
                assert_eq!(h.get("k0"), Some("again"));
                assert_eq!(h.get(&format!("k{n}")), None);
                let order: Vec<_> = h.iter().map(|(k, _)| k.to_string()).collect();
                let want: Vec<_> = (0..n).map(|i| format!("k{i}")).collect();
                assert_eq!(order, want);
            }
            // Removing below and around the threshold keeps every other key findable.
            while !h.is_empty() {
                let first = h.iter().next().unwrap().0.to_string();
                assert!(h.remove(&first));
                assert_eq!(h.get(&first), None);
                for (k, v) in h.clone().iter() {
                    assert_eq!(h.get(k), Some(v));
                }
            }
        }
    }
}
