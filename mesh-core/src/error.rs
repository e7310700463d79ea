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
#[derive(Debug)]
pub(crate) struct Sink<'a> {
    pub object: String,
    pub out: &'a mut Vec<Problem>,
}

impl Sink<'_> {
    /// Records a problem, unless one was already recorded for the same field (under either
    /// spelling) or inside it: a field that failed to decode is not reported again as missing.
    pub fn err(&mut self, path: impl Into<String>, message: impl Into<String>) {
        let path = path.into();
        let norm = normalize(&path);
        if !norm.is_empty()
            && self.out.iter().any(|p| {
                p.object == self.object && {
                    let q = normalize(&p.path);
                    q == norm
                        || q.starts_with(&format!("{norm}."))
                        || q.starts_with(&format!("{norm}["))
                }
            })
        {
            return;
        }
        self.out.push(Problem {
            object: self.object.clone(),
            path,
            message: message.into(),
        });
    }
}

fn normalize(path: &str) -> String {
    path.chars()
        .filter(|c| *c != '_')
        .flat_map(char::to_lowercase)
        .collect()
}
