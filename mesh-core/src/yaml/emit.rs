//! YAML out: block-style YAML that YAML 1.1 and YAML 1.2 readers read back identically.
//!
//! Why our own emitter: Kubernetes tooling (kubectl, go-yaml v2, PyYAML) reads YAML 1.1, where
//! plain `yes`, `on`, `off`, `y`, `n`, sexagesimal `1:20` and the like are booleans or numbers; a
//! generic YAML 1.2 emitter writes such strings unquoted and they come back changed. Every string
//! that could be read as something else is quoted here.

use serde_json::Value;

/// Emits values as a multi-document YAML stream (`---` between documents). Map keys are emitted
/// in sorted order, as Kubernetes prints objects.
#[cfg(test)]
pub fn emit_documents(values: &[Value]) -> String {
    let mut out = String::new();
    for v in values {
        push_document(v, &mut out);
    }
    out
}

/// Appends one document to a multi-document stream (after a `---` line unless it is the first),
/// so that a render can emit each object as soon as it is built.
pub fn push_document(v: &Value, out: &mut String) {
    if !out.is_empty() {
        out.push_str("---\n");
    }
    emit(v, 0, &[], out);
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
