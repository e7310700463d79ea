//! YAML in: multi-document text to `serde_json::Value`s.
//!
//! The events come from `saphyr-parser` (a maintained pure-Rust YAML 1.2 parser with source
//! marks) and the values are built here, one event at a time, so every limit fires as soon as
//! the input crosses it instead of after the whole document has been read:
//!
//! * nesting deeper than [`MAX_DEPTH`] (aliases count with the depth of what they copy);
//! * more than [`Budget`] units of built values, aliases included at the size of what they copy
//!   (the billion-laughs form and plain fan-out alike); direct content always fits;
//! * a mapping key that appears twice is an error naming the key and both positions.
//!
//! Scalars resolve exactly as `serde_norway` (the libyaml-based serde_yaml fork this replaced)
//! resolves them into a `serde_json::Value`: the YAML 1.2 core schema — `null`/`~`/empty, the
//! three spellings of `true`/`false`, integers (`0x`, `0o`, `0b`, signs; too large for `u64` or
//! `i64` is an error), floats — except that NaN and ±∞ (`.nan`, `.inf`), which serde_json turned
//! into `null` (read as "absent"), are errors with their position —, everything else a string; quoted and block scalars are strings; `!!bool`, `!!int`,
//! `!!float` and `!!null` force (or refuse) a type, other global tags (`!!str`, `!!binary`, …)
//! read as strings; local tags (`!foo`) are refused; keys are the scalar's text.
//! `parse_tests.rs` checks that against serde_norway.

use std::collections::HashMap;

use saphyr_parser::{Event, Marker, Parser, ScalarStyle, ScanError, Span, Tag};
use serde_json::{Map, Number, Value, map::Entry};

/// The deepest nesting of sequences and mappings accepted (serde_norway's limit).
pub const MAX_DEPTH: usize = 128;

/// The size budget for the values of one text: every value costs one unit plus the bytes of
/// its string or key, copies made by aliases included. Input without aliases costs at most
/// about 1.5 units per byte, so the budget (`2 × len + 2^20` units) only ever stops aliases.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget(pub u64);

impl Budget {
    /// The budget for a text of `len` bytes.
    pub fn for_len(len: usize) -> Self {
        Budget((len as u64).saturating_mul(2).saturating_add(1 << 20))
    }
}

/// Counters of one parse, finished or stopped: what the complexity tests look at.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Parser events read.
    pub events: u64,
    /// Budget units spent (values built, aliases at the size they copy).
    pub units: u64,
    /// How far into the text (in characters) the parser got: the end of the last event, or
    /// where it stopped with an error.
    pub reached: usize,
}

/// Parses every document of a multi-document YAML (or JSON) text. Empty documents are skipped.
/// `Err` carries a readable message: `document N: … at line L column C`.
pub fn parse_documents(text: &str) -> Result<Vec<Value>, String> {
    parse_with_stats(text, Budget::for_len(text.len())).0
}

/// [`parse_documents`] with an explicit budget, also returning the counters.
pub fn parse_with_stats(text: &str, budget: Budget) -> (Result<Vec<Value>, String>, Stats) {
    let mut b = Builder {
        budget: budget.0,
        ..Builder::default()
    };
    let result = b.run(text);
    b.stats.units = b.used;
    (result, b.stats)
}

impl Builder {
    fn run(&mut self, text: &str) -> Result<Vec<Value>, String> {
        let mut docs = Vec::new();
        let mut parser = Parser::new_from_str(text);
        loop {
            let (event, span) = match parser.next_event() {
                None => return Ok(docs),
                Some(Ok(e)) => e,
                Some(Err(e)) => {
                    self.stats.reached = self.stats.reached.max(e.marker().index());
                    return Err(self.scan_error(&e));
                }
            };
            self.stats.events += 1;
            self.stats.reached = self.stats.reached.max(span.end.index());
            match self.event(event, span) {
                Ok(Some(doc)) => {
                    if !doc.is_null() {
                        docs.push(doc);
                    }
                }
                Ok(None) => {}
                Err(Failure::At(message, at)) => return Err(self.error(&message, at)),
                Err(Failure::Duplicate { key, at, map_event }) => {
                    let first = match first_key_position(text, map_event, &key) {
                        Some(m) => format!(" (first at {})", position(m)),
                        None => String::new(),
                    };
                    let message = format!("duplicate mapping key {key:?}{first}");
                    return Err(self.error(&message, at));
                }
            }
        }
    }
}

/// Why a document failed.
enum Failure {
    At(String, Marker),
    Duplicate {
        key: String,
        at: Marker,
        /// Event number of the mapping's start (to find the first occurrence again).
        map_event: u64,
    },
}

/// An anchored node: its value, the text of a scalar (what a key made from the alias reads),
/// its cost and height.
#[derive(Debug)]
struct Anchored {
    value: Value,
    text: Option<String>,
    units: u64,
    height: usize,
}

#[derive(Debug)]
enum Node {
    Seq(Vec<Value>),
    Map {
        map: Map<String, Value>,
        key: Option<(String, Marker)>,
    },
}

/// An open sequence or mapping.
#[derive(Debug)]
struct Frame {
    node: Node,
    anchor: usize,
    /// Units spent when it opened (its cost is the difference when it closes).
    used_at_start: u64,
    /// Height of its tallest child so far (0 = only scalars).
    height: usize,
    event: u64,
}

#[derive(Debug, Default)]
struct Builder {
    stack: Vec<Frame>,
    anchors: HashMap<usize, Anchored>,
    /// The finished top-level node of the current document.
    root: Option<Value>,
    doc: usize,
    budget: u64,
    used: u64,
    stats: Stats,
}

impl Builder {
    fn error(&self, message: &str, at: Marker) -> String {
        format!(
            "document {}: {message} at {}",
            self.doc.max(1),
            position(at)
        )
    }

    fn scan_error(&self, e: &ScanError) -> String {
        // saphyr-parser stops flow nesting at 255 levels with this message.
        if e.info() == "recursion limit exceeded" {
            return self.error(&depth_message(), *e.marker());
        }
        self.error(e.info(), *e.marker())
    }

    fn spend(&mut self, units: u64, at: Marker) -> Result<(), Failure> {
        self.used = self.used.saturating_add(units);
        if self.used > self.budget {
            return Err(self.over_budget(at));
        }
        Ok(())
    }

    fn over_budget(&self, at: Marker) -> Failure {
        Failure::At(
            format!(
                "the input is too large once aliases are expanded (over {} units; each alias \
                 copies everything its anchor holds)",
                self.budget
            ),
            at,
        )
    }

    /// Handles one event; returns a document when one ends.
    fn event(&mut self, event: Event<'_>, span: Span) -> Result<Option<Value>, Failure> {
        let at = span.start;
        match event {
            Event::StreamStart | Event::StreamEnd | Event::Nothing => Ok(None),
            Event::DocumentStart(_) => {
                self.doc += 1;
                self.anchors.clear();
                self.root = None;
                Ok(None)
            }
            Event::DocumentEnd => Ok(Some(self.root.take().unwrap_or(Value::Null))),
            Event::Scalar(text, style, anchor, tag) => {
                if let Some(Frame {
                    node:
                        Node::Map {
                            key: key @ None, ..
                        },
                    ..
                }) = self.stack.last_mut()
                {
                    let cost = 1 + text.len() as u64;
                    *key = Some((text.to_string(), at));
                    self.spend(cost, at)?;
                    if anchor > 0 {
                        let value = resolve(&text, style, tag.as_deref())
                            .map_err(|m| Failure::At(m, at))?;
                        self.anchors.insert(
                            anchor,
                            Anchored {
                                value,
                                text: Some(text.into_owned()),
                                units: cost,
                                height: 0,
                            },
                        );
                    }
                    return Ok(None);
                }
                let value =
                    resolve(&text, style, tag.as_deref()).map_err(|m| Failure::At(m, at))?;
                let cost = 1 + matches!(value, Value::String(_)) as u64 * text.len() as u64;
                self.spend(cost, at)?;
                if anchor > 0 {
                    self.anchors.insert(
                        anchor,
                        Anchored {
                            value: value.clone(),
                            text: Some(text.into_owned()),
                            units: cost,
                            height: 0,
                        },
                    );
                }
                self.add(value, 0, at)?;
                Ok(None)
            }
            Event::Alias(id) => {
                let Some(found) = self.anchors.get(&id) else {
                    return Err(Failure::At("alias to an unfinished node".into(), at));
                };
                let (units, height) = (found.units, found.height);
                if let Some(Frame {
                    node:
                        Node::Map {
                            key: key @ None, ..
                        },
                    ..
                }) = self.stack.last_mut()
                {
                    let Some(text) = &found.text else {
                        return Err(Failure::At(
                            "a mapping key must be a scalar, but this alias is a collection".into(),
                            at,
                        ));
                    };
                    *key = Some((text.clone(), at));
                    self.spend(units, at)?;
                    return Ok(None);
                }
                if self.stack.len() + height > MAX_DEPTH {
                    return Err(depth_error(at));
                }
                // Spent before the copy is made, so an over-budget alias copies nothing.
                self.used = self.used.saturating_add(units);
                if self.used > self.budget {
                    return Err(self.over_budget(at));
                }
                let value = found.value.clone();
                self.add(value, height, at)?;
                Ok(None)
            }
            Event::SequenceStart(anchor, tag) => self.open(Node::Seq(Vec::new()), anchor, tag, at),
            Event::MappingStart(anchor, tag) => self.open(
                Node::Map {
                    map: Map::new(),
                    key: None,
                },
                anchor,
                tag,
                at,
            ),
            Event::SequenceEnd | Event::MappingEnd => {
                let Some(frame) = self.stack.pop() else {
                    return Err(Failure::At("unbalanced end of a collection".into(), at));
                };
                let value = match frame.node {
                    Node::Seq(items) => Value::Array(items),
                    Node::Map { map, .. } => Value::Object(map),
                };
                let height = frame.height + 1;
                if frame.anchor > 0 {
                    self.anchors.insert(
                        frame.anchor,
                        Anchored {
                            value: value.clone(),
                            text: None,
                            units: self.used - frame.used_at_start,
                            height,
                        },
                    );
                }
                self.add(value, height, at)?;
                Ok(None)
            }
        }
    }

    fn open(
        &mut self,
        node: Node,
        anchor: usize,
        tag: Option<std::borrow::Cow<'_, Tag>>,
        at: Marker,
    ) -> Result<Option<Value>, Failure> {
        if let Some(Frame {
            node: Node::Map { key: None, .. },
            ..
        }) = self.stack.last()
        {
            let what = match node {
                Node::Seq(_) => "sequence",
                Node::Map { .. } => "mapping",
            };
            return Err(Failure::At(
                format!("a mapping key must be a scalar, not a {what}"),
                at,
            ));
        }
        if let Some(tag) = tag.as_deref()
            && let Some(local) = local_tag(tag)
        {
            return Err(Failure::At(local_tag_error(&local), at));
        }
        if self.stack.len() >= MAX_DEPTH {
            return Err(depth_error(at));
        }
        let used_at_start = self.used;
        self.spend(1, at)?;
        self.stack.push(Frame {
            node,
            anchor,
            used_at_start,
            height: 0,
            event: self.stats.events,
        });
        Ok(None)
    }

    /// Puts a finished value into its parent (or makes it the document).
    fn add(&mut self, value: Value, height: usize, at: Marker) -> Result<(), Failure> {
        let Some(parent) = self.stack.last_mut() else {
            self.root = Some(value);
            return Ok(());
        };
        parent.height = parent.height.max(height);
        match &mut parent.node {
            Node::Seq(items) => items.push(value),
            Node::Map { map, key } => {
                let (k, key_at) = key
                    .take()
                    .ok_or_else(|| Failure::At("a mapping value without a key".into(), at))?;
                match map.entry(k) {
                    Entry::Vacant(e) => {
                        e.insert(value);
                    }
                    Entry::Occupied(e) => {
                        return Err(Failure::Duplicate {
                            key: e.key().clone(),
                            at: key_at,
                            map_event: parent.event,
                        });
                    }
                }
            }
        }
        Ok(())
    }
}

fn position(m: Marker) -> String {
    format!("line {} column {}", m.line(), m.col() + 1)
}

fn depth_message() -> String {
    format!("nesting deeper than {MAX_DEPTH} sequences and mappings")
}

fn depth_error(at: Marker) -> Failure {
    Failure::At(depth_message(), at)
}

/// The `!foo` spelling of a local (application) tag; `None` for global tags such as `!!str`.
fn local_tag(tag: &Tag) -> Option<String> {
    if tag.handle.starts_with('!') {
        Some(format!("{}{}", tag.handle, tag.suffix))
    } else {
        None
    }
}

fn local_tag_error(tag: &str) -> String {
    format!("the tag {tag} is not supported (only the core schema's !!str, !!int, … are)")
}

/// A scalar's value, resolved as serde_norway resolves it into a `serde_json::Value`.
fn resolve(text: &str, style: ScalarStyle, tag: Option<&Tag>) -> Result<Value, String> {
    let Some(tag) = tag else {
        return if style == ScalarStyle::Plain {
            plain(text)
        } else {
            Ok(Value::String(text.to_string()))
        };
    };
    if let Some(local) = local_tag(tag) {
        return Err(local_tag_error(&local));
    }
    let invalid = |what: &str| format!("invalid value: string {text:?}, expected {what}");
    if !tag.is_yaml_core_schema() {
        return Ok(Value::String(text.to_string()));
    }
    match tag.suffix.as_str() {
        "bool" => parse_bool(text)
            .map(Value::Bool)
            .ok_or_else(|| invalid("a boolean")),
        "int" => match int(text) {
            Some(v) => v,
            None => Err(invalid("an integer")),
        },
        "float" => match parse_f64(text) {
            Some(f) => float(f, text),
            None => Err(invalid("a float")),
        },
        "null" => match text {
            "null" | "Null" | "NULL" | "~" => Ok(Value::Null),
            _ => Err(invalid("null")),
        },
        _ => Ok(Value::String(text.to_string())),
    }
}

/// An untagged plain scalar.
fn plain(text: &str) -> Result<Value, String> {
    if matches!(text, "" | "~" | "null" | "Null" | "NULL") {
        return Ok(Value::Null);
    }
    if let Some(b) = parse_bool(text) {
        return Ok(Value::Bool(b));
    }
    // Only text that starts like a number can be one; the rest skips the number parsers.
    if text
        .bytes()
        .next()
        .is_some_and(|b| b.is_ascii_digit() || matches!(b, b'+' | b'-' | b'.'))
    {
        if let Some(v) = int(text) {
            return v;
        }
        if !digits_but_not_number(text)
            && let Some(f) = parse_f64(text)
        {
            return float(f, text);
        }
    }
    Ok(Value::String(text.to_string()))
}

/// A float as JSON carries it. NaN and ±∞ (`.nan`, `.inf`) are errors: Kubernetes
/// objects are JSON, which has neither, and `serde_json` would make them `null`, which the
/// decoders read as "absent" (`port: .inf` would silently mean every port).
fn float(f: f64, text: &str) -> Result<Value, String> {
    Number::from_f64(f)
        .map(Value::Number)
        .ok_or_else(|| format!("{text:?} is not a finite number (NaN and infinities cannot be carried by a Kubernetes object, which is JSON)"))
}

fn parse_bool(text: &str) -> Option<bool> {
    match text {
        "true" | "True" | "TRUE" => Some(true),
        "false" | "False" | "FALSE" => Some(false),
        _ => None,
    }
}

/// An integer as serde_norway reads one: `u64`, else `i64`, else (too large) the result of
/// serde_json's 128-bit conversion, which is an error.
fn int(text: &str) -> Option<Result<Value, String>> {
    if let Some(v) = unsigned::<u64>(text, u64::from_str_radix) {
        return Some(Ok(Value::Number(v.into())));
    }
    if let Some(v) = negative::<i64>(text, i64::from_str_radix) {
        return Some(Ok(Value::Number(v.into())));
    }
    if unsigned::<u128>(text, u128::from_str_radix).is_some()
        || negative::<i128>(text, i128::from_str_radix).is_some()
    {
        return Some(Err(format!("number out of range: {text}")));
    }
    None
}

type Radix<T> = fn(&str, u32) -> Result<T, std::num::ParseIntError>;

fn unsigned<T>(text: &str, from: Radix<T>) -> Option<T> {
    let unpositive = text.strip_prefix('+').unwrap_or(text);
    for (prefix, radix) in [("0x", 16), ("0o", 8), ("0b", 2)] {
        if let Some(rest) = unpositive.strip_prefix(prefix) {
            if rest.starts_with(['+', '-']) {
                return None;
            }
            if let Ok(v) = from(rest, radix) {
                return Some(v);
            }
        }
    }
    if unpositive.starts_with(['+', '-']) || digits_but_not_number(text) {
        return None;
    }
    from(unpositive, 10).ok()
}

fn negative<T>(text: &str, from: Radix<T>) -> Option<T> {
    for (prefix, radix) in [("-0x", 16), ("-0o", 8), ("-0b", 2)] {
        if let Some(rest) = text.strip_prefix(prefix)
            && let Ok(v) = from(&format!("-{rest}"), radix)
        {
            return Some(v);
        }
    }
    if digits_but_not_number(text) {
        return None;
    }
    from(text, 10).ok()
}

fn parse_f64(text: &str) -> Option<f64> {
    let unpositive = match text.strip_prefix('+') {
        Some(rest) if rest.starts_with(['+', '-']) => return None,
        Some(rest) => rest,
        None => text,
    };
    if matches!(unpositive, ".inf" | ".Inf" | ".INF") {
        return Some(f64::INFINITY);
    }
    if matches!(text, "-.inf" | "-.Inf" | "-.INF") {
        return Some(f64::NEG_INFINITY);
    }
    if matches!(text, ".nan" | ".NaN" | ".NAN") {
        return Some(f64::NAN);
    }
    unpositive.parse::<f64>().ok().filter(|f| f.is_finite())
}

/// Leading zeros followed by digits only: a string in YAML 1.2 (`007`, `-01`).
fn digits_but_not_number(text: &str) -> bool {
    let t = text.strip_prefix(['-', '+']).unwrap_or(text);
    t.len() > 1 && t.starts_with('0') && t[1..].bytes().all(|b| b.is_ascii_digit())
}

/// Where the key `key` first appears in the mapping that starts at event `map_event`: a second,
/// linear pass over the text, run only to report a duplicate.
fn first_key_position(text: &str, map_event: u64, key: &str) -> Option<Marker> {
    let mut parser = Parser::new_from_str(text);
    let mut n = 0u64;
    let mut scalars: HashMap<usize, String> = HashMap::new();
    // Inside the mapping: nesting below it, and whether the next direct child is a key.
    let mut inside: Option<(usize, bool)> = None;
    loop {
        let (event, span) = parser.next_event()?.ok()?;
        n += 1;
        if let Event::Scalar(t, _, anchor, _) = &event
            && *anchor > 0
        {
            scalars.insert(*anchor, t.to_string());
        }
        let Some((level, expect_key)) = &mut inside else {
            if n == map_event {
                inside = Some((0, true));
            }
            continue;
        };
        match &event {
            Event::SequenceStart(..) | Event::MappingStart(..) => *level += 1,
            Event::SequenceEnd | Event::MappingEnd if *level == 0 => return None,
            Event::SequenceEnd | Event::MappingEnd => {
                *level -= 1;
                if *level == 0 {
                    *expect_key = true;
                }
            }
            Event::Scalar(..) | Event::Alias(..) if *level == 0 => {
                if *expect_key {
                    let k = match &event {
                        Event::Scalar(t, ..) => Some(t.as_ref()),
                        Event::Alias(id) => scalars.get(id).map(String::as_str),
                        _ => None,
                    };
                    if k == Some(key) {
                        return Some(span.start);
                    }
                }
                *expect_key = !*expect_key;
            }
            _ => {}
        }
    }
}

#[cfg(test)]
#[path = "parse_tests.rs"]
mod tests;
