//! Multi-document YAML in and out (serde_norway, a maintained libyaml-based serde_yaml fork).

use serde::Deserialize;
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
const PARALLEL_MIN_BYTES: usize = 256 * 1024;

fn parse_sequential(text: &str) -> Result<Vec<Value>, String> {
    let mut out = Vec::new();
    for (i, de) in serde_norway::Deserializer::from_str(text).enumerate() {
        let v = Value::deserialize(de).map_err(|e| format!("document {}: {e}", i + 1))?;
        if !v.is_null() {
            out.push(v);
        }
    }
    Ok(out)
}

fn parse_in_halves(text: &str) -> Option<Vec<Value>> {
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
fn document_split(text: &str) -> Option<usize> {
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

/// Whether splitting work over two threads can help here.
pub(crate) fn two_cores() -> bool {
    static TWO: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *TWO.get_or_init(|| std::thread::available_parallelism().is_ok_and(|n| n.get() >= 2))
}

/// `f` over the two halves of `items` on two threads when there are at least `min` items (and
/// two cores), else over all of them; the results in order.
pub(crate) fn in_halves<T: Sync, R: Send>(
    items: &[T],
    min: usize,
    f: impl Fn(&[T]) -> R + Sync,
) -> Vec<R> {
    if items.len() < min.max(2) || !two_cores() {
        return vec![f(items)];
    }
    let (a, b) = items.split_at(items.len() / 2);
    std::thread::scope(|s| {
        let second = s.spawn(|| f(b));
        let first = f(a);
        let second = second
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        vec![first, second]
    })
}

/// Emits values as a multi-document YAML stream (`---` between documents). Map keys are emitted
/// in sorted order, as Kubernetes prints objects.
pub fn emit_documents(values: &[Value]) -> String {
    let mut parts = in_halves(values, 1000, emit_sequential).into_iter();
    let mut out = parts.next().unwrap_or_default();
    for part in parts {
        if !part.is_empty() {
            if !out.is_empty() {
                out.push_str("---\n");
            }
            out.push_str(&part);
        }
    }
    out
}

fn emit_sequential(values: &[Value]) -> String {
    let mut out = String::new();
    for (i, v) in values.iter().enumerate() {
        if i > 0 {
            out.push_str("---\n");
        }
        emit(v, 0, &[], &mut out);
        if i == 0 {
            // Documents of one render are alike: size the buffer once from the first one
            // instead of copying a large text at every doubling.
            out.reserve((out.len() + 4) * (values.len() - 1) * 9 / 8);
        }
    }
    out
}

/// One document as YAML.
pub fn to_yaml(v: &Value) -> String {
    to_yaml_ordered(v, &[])
}

/// One document as YAML, with the keys listed in `order` first (in that order) in every map.
pub fn to_yaml_ordered(v: &Value, order: &[&str]) -> String {
    let mut out = String::new();
    emit(v, 0, order, &mut out);
    out
}

/// Whether `serde_json::Map` iterates in key order (a `BTreeMap`), i.e. serde_json's
/// `preserve_order` feature is off in this build.
fn maps_are_sorted() -> bool {
    static SORTED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *SORTED.get_or_init(|| {
        let mut m = serde_json::Map::new();
        m.insert("b".into(), Value::Null);
        m.insert("a".into(), Value::Null);
        m.keys().next().is_some_and(|k| k == "a")
    })
}

/// Block-style YAML that YAML 1.1 readers (kubectl, go-yaml v2, PyYAML) and YAML 1.2 readers
/// read back identically: any string that could be read as something else (`yes`, `on`, `1:20`,
/// `-east`, `@type`, ...) is quoted.
fn emit(v: &Value, indent: usize, order: &[&str], out: &mut String) {
    match v {
        Value::Object(m) if !m.is_empty() => emit_map(m, indent, order, out),
        Value::Array(a) if !a.is_empty() => emit_seq(a, indent, order, out),
        scalar => {
            emit_scalar(scalar, indent, out);
            out.push('\n');
        }
    }
}

fn pad(out: &mut String, mut n: usize) {
    const SPACES: &str = "                                ";
    while n > SPACES.len() {
        out.push_str(SPACES);
        n -= SPACES.len();
    }
    out.push_str(&SPACES[..n]);
}

fn emit_map(m: &serde_json::Map<String, Value>, indent: usize, order: &[&str], out: &mut String) {
    let ordered = if order.is_empty() && (maps_are_sorted() || m.keys().is_sorted()) {
        None
    } else {
        let mut keys: Vec<&String> = m.keys().collect();
        let rank = |k: &String| order.iter().position(|o| o == k).unwrap_or(order.len());
        keys.sort_by(|a, b| rank(a).cmp(&rank(b)).then(a.cmp(b)));
        Some(keys)
    };
    let mut entry = |i: usize, k: &String, v: &Value| {
        if i > 0 {
            pad(out, indent);
        }
        emit_string(k, out);
        out.push(':');
        emit_value_after_key(v, indent, order, out);
    };
    match ordered {
        None => m.iter().enumerate().for_each(|(i, (k, v))| entry(i, k, v)),
        Some(keys) => keys
            .into_iter()
            .enumerate()
            .for_each(|(i, k)| entry(i, k, &m[k])),
    }
}

fn emit_value_after_key(v: &Value, indent: usize, order: &[&str], out: &mut String) {
    match v {
        Value::Object(c) if !c.is_empty() => {
            out.push('\n');
            pad(out, indent + 2);
            emit_map(c, indent + 2, order, out);
        }
        Value::Array(a) if !a.is_empty() => {
            out.push('\n');
            pad(out, indent);
            emit_seq(a, indent, order, out);
        }
        scalar => {
            out.push(' ');
            emit_scalar(scalar, indent + 2, out);
            out.push('\n');
        }
    }
}

fn emit_seq(a: &[Value], indent: usize, order: &[&str], out: &mut String) {
    for (i, item) in a.iter().enumerate() {
        if i > 0 {
            pad(out, indent);
        }
        out.push_str("- ");
        match item {
            Value::Object(m) if !m.is_empty() => emit_map(m, indent + 2, order, out),
            Value::Array(inner) if !inner.is_empty() => emit_seq(inner, indent + 2, order, out),
            scalar => {
                emit_scalar(scalar, indent + 2, out);
                out.push('\n');
            }
        }
    }
}

fn emit_scalar(v: &Value, indent: usize, out: &mut String) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => {
            use std::fmt::Write;
            write!(out, "{n}").expect("writing to a String cannot fail")
        }
        Value::String(s) => {
            if s.contains('\n') && literal_ok(s) {
                emit_literal(s, indent, out)
            } else {
                emit_string(s, out)
            }
        }
        Value::Object(_) => out.push_str("{}"),
        Value::Array(_) => out.push_str("[]"),
    }
}

/// A multi-line string as a literal block (`|`, `|-` or `|+`).
fn literal_ok(s: &str) -> bool {
    !s.starts_with([' ', '\t', '\n'])
        && s.chars()
            .all(|c| c == '\n' || (!c.is_control() && c != '\u{feff}'))
        && !s.lines().any(|l| l.ends_with([' ', '\t']))
}

fn emit_literal(s: &str, indent: usize, out: &mut String) {
    let chomp = if !s.ends_with('\n') {
        "-"
    } else if s.ends_with("\n\n") {
        "+"
    } else {
        ""
    };
    out.push('|');
    out.push_str(chomp);
    let body = s.strip_suffix('\n').unwrap_or(s);
    for line in body.split('\n') {
        out.push('\n');
        if !line.is_empty() {
            pad(out, indent);
            out.push_str(line);
        }
    }
}

fn emit_string(s: &str, out: &mut String) {
    if plain_ok(s) {
        out.push_str(s);
    } else if s.chars().all(|c| !c.is_control() && c != '\u{feff}') && s.is_ascii() {
        out.push('\'');
        out.push_str(&s.replace('\'', "''"));
        out.push('\'');
    } else {
        out.push_str(&serde_json::to_string(s).expect("strings serialize"));
    }
}

/// The bytes a plain scalar may contain: ASCII letters, digits and ` _.-/|:[]@(),+=<>`.
const PLAIN_SAFE: [bool; 256] = {
    let mut t = [false; 256];
    let mut c = 0;
    while c < 256 {
        t[c] = (c as u8).is_ascii_alphanumeric();
        c += 1;
    }
    let punct = b" _.-/|:[]@(),+=<>";
    let mut i = 0;
    while i < punct.len() {
        t[punct[i] as usize] = true;
        i += 1;
    }
    t
};

/// Whether a string can be written unquoted and still read back as the same string by both
/// YAML 1.1 and YAML 1.2 parsers.
fn plain_ok(s: &str) -> bool {
    let Some(first) = s.chars().next() else {
        return false;
    };
    // A leading digit is fine only with a letter no number syntax uses (`60s`, a uid):
    // `1e3`, `0x1F`, `0o7`, `0b1`, `1:20` and dates stay quoted.
    let digit_ok = first.is_ascii_digit()
        && !s.contains(':')
        && s.chars()
            .any(|c| c.is_ascii_alphabetic() && !c.is_ascii_hexdigit() && !"xXoO".contains(c));
    if !(first.is_ascii_alphabetic() || first == '_' || first == '/' || digit_ok) {
        return false;
    }
    // (` #` needs `#`, which the character check below rejects anyway.)
    if s.ends_with([' ', ':']) || s.as_bytes().windows(2).any(|w| w == b": ") {
        return false;
    }
    if !s.bytes().all(|c| PLAIN_SAFE[usize::from(c)]) {
        return false;
    }
    const SPECIAL: &[&str] = &[
        "y", "yes", "n", "no", "true", "false", "on", "off", "null", "nan", "inf",
    ];
    !SPECIAL.iter().any(|w| w.eq_ignore_ascii_case(s))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_points_are_document_starts() {
        assert_eq!(document_split("a: 1\nb: 2\nc: 3\n---\nd: 4\n"), Some(15));
        assert_eq!(document_split("a: 1\nb: 2\nc: 3\n--- {d: 4}\n"), Some(15));
        assert_eq!(document_split("a: |\n  x\n  --- y\n----\n---x\n"), None);
        assert_eq!(document_split("%YAML 1.1\n---\na: 1\n---\nb: 2\n"), None);
        let text = "k: \u{e9}\u{e9}\n---\nz: 1\n";
        assert_eq!(document_split(text), Some(text.find("---").unwrap()));
    }

    #[test]
    fn halves_parse_and_emit_like_one_pass() {
        let mut text = String::new();
        for i in 0..5000 {
            text.push_str(&format!(
                "---\na{i}: {{x: [1, '2', \"\u{e9}\"]}}\nlit: |\n  line {i}\n  --- not a marker\n---\n# empty\n"
            ));
        }
        assert!(text.len() >= PARALLEL_MIN_BYTES);
        let whole = parse_sequential(&text).unwrap();
        assert_eq!(whole.len(), 5000);
        assert_eq!(parse_in_halves(&text).unwrap(), whole);
        assert_eq!(parse_documents(&text).unwrap(), whole);
        assert_eq!(emit_documents(&whole), emit_sequential(&whole));
        // A broken document in either half reads exactly as from one pass.
        for at in [10, text.len() - 10] {
            let mut bad = text.clone();
            bad.insert_str(at, "\n: [\n");
            assert!(parse_in_halves(&bad).is_none());
            assert_eq!(parse_documents(&bad), parse_sequential(&bad));
            assert!(parse_documents(&bad).is_err());
        }
    }

    #[test]
    fn round_trip_multi_document() {
        let docs = parse_documents("a: 1\n---\n---\nb: [x, '1']\n").unwrap();
        assert_eq!(docs.len(), 2);
        let text = emit_documents(&docs);
        assert_eq!(text, "a: 1\n---\nb:\n- x\n- '1'\n");
        assert_eq!(parse_documents(&text).unwrap(), docs);
        assert!(
            parse_documents("a: [")
                .unwrap_err()
                .starts_with("document 1:")
        );
    }

    #[test]
    fn ambiguous_strings_are_quoted() {
        let v = serde_json::json!({
            "yes": "yes", "On": "On", "y": "n", "num": "10", "neg": "-east", "at": "@type",
            "ok": "Service[a.b]-Id[1]", "vh": "inbound|http|9080", "sexa": "1:20",
            "colon": "a: b", "hash": "a #b", "empty": "", "uni": "caf\u{e9}", "nl": "a\nb\n",
            "nl2": "x\n", "q": "it's", "ctl": "a\u{1}", "nested": {"l": [[], {}, [1, "2"]]},
            "tilde": "~", "star": "*x", "null": "null", "sp": " lead", "dur": "60s",
            "hex": "0x1F", "exp": "1e3", "date": "2001-12-14", "uid": "6a1c2d9e-1111"
        });
        let text = to_yaml(&v);
        assert!(text.contains("\n'yes': 'yes'\n"), "{text}");
        assert!(text.starts_with("'On': 'On'\n"), "{text}");
        assert!(text.contains("'y': 'n'"), "{text}");
        assert!(text.contains("num: '10'"), "{text}");
        assert!(text.contains("neg: '-east'"), "{text}");
        assert!(text.contains("at: '@type'"), "{text}");
        assert!(text.contains("ok: Service[a.b]-Id[1]"), "{text}");
        assert!(text.contains("vh: inbound|http|9080"), "{text}");
        assert!(text.contains("q: 'it''s'"), "{text}");
        assert!(text.contains("dur: 60s\n"), "{text}");
        assert!(text.contains("uid: '6a1c2d9e-1111'\n"), "{text}");
        assert!(text.contains("hex: '0x1F'"), "{text}");
        assert!(text.contains("exp: '1e3'"), "{text}");
        assert!(text.contains("date: '2001-12-14'"), "{text}");
        assert!(text.contains("nl: |\n  a\n  b\n"), "{text}");
        let back: Value = serde_norway::from_str(&text).unwrap();
        assert_eq!(back, v);
    }

    #[test]
    fn literal_blocks_keep_indentation() {
        let v = serde_json::json!({"data": {"config.yaml": "domain: slime\ndescriptors:\n- key: a\n  value: b\n"}});
        let text = to_yaml(&v);
        assert_eq!(
            text,
            "data:\n  config.yaml: |\n    domain: slime\n    descriptors:\n    - key: a\n      value: b\n"
        );
        assert_eq!(serde_norway::from_str::<Value>(&text).unwrap(), v);
        assert!(
            parse_documents("a: [")
                .unwrap_err()
                .starts_with("document 1:")
        );
    }
}
