//! Path-prefixed problems, all collected before giving up.

use std::fmt;

/// One problem with the input, located by object and field path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// `namespace/name` of the object, or `document N` when it has no usable name.
    pub object: String,
    /// Field path inside the object, e.g. `spec.sets._base.descriptor[1].action.quota`
    /// (empty for the object as a whole).
    pub path: String,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.object.is_empty(), self.path.is_empty()) {
            (false, false) => write!(f, "{}: {}: {}", self.object, self.path, self.message),
            (false, true) => write!(f, "{}: {}", self.object, self.message),
            (true, false) => write!(f, "{}: {}", self.path, self.message),
            (true, true) => f.write_str(&self.message),
        }
    }
}

/// Every problem found in one call; `Display` prints one per line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct RenderErrors(pub Vec<Problem>);

impl RenderErrors {
    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// One line per problem.
    pub fn lines(&self) -> Vec<String> {
        self.0.iter().map(ToString::to_string).collect()
    }
}

impl fmt::Display for RenderErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{p}")?;
        }
        Ok(())
    }
}

/// Collects problems for one object.
///
/// A problem is dropped when one was already recorded for the same object at the same field
/// (under either spelling) or inside it. That check used to rescan every earlier problem, so
/// N problems of one kind cost N² comparisons; the recorded paths now sit in a [`PathTrie`],
/// and each check walks only the new path.
#[derive(Debug)]
pub(crate) struct Sink<'a> {
    pub object: String,
    pub out: &'a mut Vec<Problem>,
    /// Normalized paths of this object's problems in `out[..indexed]`.
    seen: PathTrie,
    indexed: usize,
}

impl<'a> Sink<'a> {
    pub fn new(object: impl Into<String>, out: &'a mut Vec<Problem>) -> Self {
        Sink {
            object: object.into(),
            out,
            seen: PathTrie::default(),
            indexed: 0,
        }
    }

    /// Records a problem, unless one was already recorded for the same field (under either
    /// spelling) or inside it: a field that failed to decode is not reported again as missing.
    pub fn err(&mut self, path: impl Into<String>, message: impl Into<String>) {
        let path = path.into();
        // Problems pushed since the last call (by this sink, an earlier one over the same list,
        // or directly) are indexed first, each once.
        for p in &self.out[self.indexed..] {
            if p.object == self.object {
                self.seen.insert(&p.path);
            }
        }
        self.indexed = self.out.len();
        if self.seen.covers(&path) {
            return;
        }
        self.out.push(Problem {
            object: self.object.clone(),
            path,
            message: message.into(),
        });
    }

    /// Trie steps taken so far (one per path character inserted or looked up): the work
    /// [`Sink::err`] does, which the complexity test counts.
    #[cfg(test)]
    fn work(&self) -> usize {
        self.seen.steps
    }
}

/// Field paths, normalized (`_` dropped, lowercased, so `fill_interval` and `fillInterval` are
/// one field), as a trie of characters.
#[derive(Debug, Default)]
struct PathTrie {
    /// `(node, char) → child`; node 0 is the root.
    edges: std::collections::HashMap<(u32, char), u32>,
    /// Whether a recorded path ends at this node.
    end: Vec<bool>,
    #[cfg(test)]
    steps: usize,
}

impl PathTrie {
    fn normalized(path: &str) -> impl Iterator<Item = char> + '_ {
        path.chars()
            .filter(|c| *c != '_')
            .flat_map(char::to_lowercase)
    }

    fn insert(&mut self, path: &str) {
        if self.end.is_empty() {
            self.end.push(false);
        }
        let mut node = 0u32;
        for c in Self::normalized(path) {
            #[cfg(test)]
            {
                self.steps += 1;
            }
            let next = self.end.len() as u32;
            node = *self.edges.entry((node, c)).or_insert(next);
            if node == next {
                self.end.push(false);
            }
        }
        self.end[node as usize] = true;
    }

    /// Whether a recorded path equals `path` or lies inside it (continues with `.` or `[`).
    /// The empty path (the object as a whole) covers nothing.
    fn covers(&mut self, path: &str) -> bool {
        if self.end.is_empty() {
            return false;
        }
        let mut node = 0u32;
        let mut empty = true;
        for c in Self::normalized(path) {
            #[cfg(test)]
            {
                self.steps += 1;
            }
            empty = false;
            match self.edges.get(&(node, c)) {
                Some(&n) => node = n,
                None => return false,
            }
        }
        !empty
            && (self.end[node as usize]
                || self.edges.contains_key(&(node, '.'))
                || self.edges.contains_key(&(node, '[')))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paths(out: &[Problem]) -> Vec<&str> {
        out.iter().map(|p| p.path.as_str()).collect()
    }

    #[test]
    fn a_field_is_reported_once_under_either_spelling_and_not_again_as_its_parent() {
        let mut out = Vec::new();
        let mut sink = Sink::new("default/a", &mut out);
        sink.err(
            "spec.sets._base.descriptor[0].action.fill_interval.seconds",
            "bad",
        );
        sink.err(
            "spec.sets._base.descriptor[0].action.fillInterval.seconds",
            "again",
        );
        sink.err(
            "spec.sets._base.descriptor[0].action.fill_interval",
            "parent",
        );
        sink.err("spec.sets._base.descriptor[0].action", "grandparent");
        sink.err("spec.sets._base.descriptor", "list");
        sink.err("spec.sets._base.descriptor[0].action.quota", "sibling");
        // A child of a reported field is still reported; a mere string prefix is no parent.
        sink.err("spec.sets._base.descriptor[0].action.quota.x", "child");
        sink.err("spec.sets._base.descriptor[0].action.quot", "prefix");
        // The object as a whole is never covered.
        sink.err("", "whole");
        sink.err("", "whole again");
        assert_eq!(
            paths(&out),
            [
                "spec.sets._base.descriptor[0].action.fill_interval.seconds",
                "spec.sets._base.descriptor[0].action.quota",
                "spec.sets._base.descriptor[0].action.quota.x",
                "spec.sets._base.descriptor[0].action.quot",
                "",
                ""
            ]
        );
    }

    #[test]
    fn earlier_problems_count_per_object_and_across_sinks() {
        let mut out = vec![Problem {
            object: "default/b".into(),
            path: "spec.host".into(),
            message: "other object".into(),
        }];
        Sink::new("default/a", &mut out).err("spec.host", "first");
        // A second sink over the same list sees the first one's problems.
        let mut sink = Sink::new("default/a", &mut out);
        sink.err("spec.host", "again");
        sink.out.push(Problem {
            object: "default/a".into(),
            path: "spec.gateway".into(),
            message: "pushed directly".into(),
        });
        sink.err("spec.gateway", "again");
        sink.err("spec", "parent");
        assert_eq!(paths(&out), ["spec.host", "spec.host", "spec.gateway"]);
        assert_eq!(out[1].message, "first");
    }

    /// N problems of one kind cost work linear in N (the old scan did N²/2 path comparisons:
    /// 2 000 of them took 14.6 s through `meshctl validate`).
    #[test]
    fn reporting_is_linear_in_the_number_of_problems() {
        let work = |n: usize| {
            let mut out = Vec::new();
            let mut sink = Sink::new("default/a", &mut out);
            for i in 0..n {
                // Fixed-width indices, so that every path has the same length.
                sink.err(
                    format!("spec.sets._base.descriptor[{i:06}].action.quota"),
                    "must be at least 1",
                );
            }
            assert_eq!(sink.out.len(), n);
            sink.work()
        };
        let (one, two) = (work(5_000), work(10_000));
        assert!(one > 0);
        assert!(
            two <= 2 * one + 100,
            "work for 2N is {two}, for N {one}: not linear"
        );
    }
}
