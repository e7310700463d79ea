//! YAML in: multi-document text to `serde_json::Value`s (serde_norway, a maintained libyaml-based
//! serde_yaml fork).

use serde::Deserialize;

use crate::halves::two_cores;
use serde_json::Value;

/// Parses every document of a multi-document YAML (or JSON) text. Empty documents are skipped.
/// `Err` carries a readable message with the document number.
///
/// A large text is parsed in two halves (split at a `---` line) on two threads; any problem there
/// falls back to one sequential pass, so errors read exactly as from that pass.
pub fn parse_documents(text: &str) -> Result<Vec<Value>, String> {
    if text.len() >= PARALLEL_MIN_BYTES
        && two_cores()
        && let Some(docs) = parse_in_halves(text)
    {
        return Ok(docs);
    }
    parse_sequential(text)
}

/// Texts from this size on are parsed on two threads.
pub(super) const PARALLEL_MIN_BYTES: usize = 256 * 1024;

pub(super) fn parse_sequential(text: &str) -> Result<Vec<Value>, String> {
    let mut out = Vec::new();
    for (i, de) in serde_norway::Deserializer::from_str(text).enumerate() {
        let v = Value::deserialize(de).map_err(|e| format!("document {}: {e}", i + 1))?;
        if !v.is_null() {
            out.push(v);
        }
    }
    Ok(out)
}

pub(super) fn parse_in_halves(text: &str) -> Option<Vec<Value>> {
    let (a, b) = text.split_at(document_split(text)?);
    let (first, second) = std::thread::scope(|s| {
        let second = s.spawn(|| parse_sequential(b));
        (parse_sequential(a), second.join())
    });
    let mut docs = first.ok()?;
    docs.extend(second.ok()?.ok()?);
    Some(docs)
}

/// The start of a document-start line (`---`) at or after the middle of `text`. Such a line
/// always starts a new document (YAML forbids it inside scalars), so the halves parse to the
/// same documents as the whole. None when directives (`%YAML`, `%TAG`) are used, since they
/// belong to the document after them.
pub(super) fn document_split(text: &str) -> Option<usize> {
    if text.starts_with('%') || text.contains("\n%") {
        return None;
    }
    let mut from = (text.len() / 2).saturating_sub(1);
    while !text.is_char_boundary(from) {
        from += 1;
    }
    loop {
        let start = from + text[from..].find("\n---")? + 1;
        if matches!(
            text.as_bytes().get(start + 3),
            None | Some(b' ' | b'\t' | b'\r' | b'\n')
        ) {
            return Some(start);
        }
        from = start;
    }
}
