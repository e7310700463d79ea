//! The YAML reader (`parse_documents`, saphyr-parser events) against the one it
//! replaced (serde_norway, libyaml): the same values for every YAML file in the repository and
//! for generated documents, the limits that serde_norway lacked (linear work on deep flow
//! nesting, a budget on alias expansion, duplicate keys, a BOM), and the growth of the work with
//! the input counted in events and units rather than timed.

use std::path::{Path, PathBuf};

use super::{Budget, MAX_DEPTH, parse_documents, parse_with_stats};
use proptest::prelude::*;
use serde::Deserialize;
use serde_json::{Value, json};

/// What mesh-core did before: serde_norway, document by document, empty documents skipped.
fn reference(text: &str) -> Result<Vec<Value>, String> {
    let mut out = Vec::new();
    for (i, de) in serde_norway::Deserializer::from_str(text).enumerate() {
        let v = Value::deserialize(de).map_err(|e| format!("document {}: {e}", i + 1))?;
        if !v.is_null() {
            out.push(v);
        }
    }
    Ok(out)
}

/// Same values, or both refuse.
fn same_as_reference(text: &str) -> Result<(), String> {
    match (reference(text), parse_documents(text)) {
        (Ok(a), Ok(b)) if a == b => Ok(()),
        (Err(_), Err(_)) => Ok(()),
        // The one intended difference: a NaN or infinite float, which serde_json made `null`.
        (Ok(_), Err(e)) if e.contains("is not a finite number") && has_non_finite(text) => Ok(()),
        (a, b) => Err(format!(
            "input:\n{text}\nserde_norway: {a:?}\nparse_documents: {b:?}"
        )),
    }
}

/// Whether serde_norway reads a NaN or infinite float anywhere in `text`.
fn has_non_finite(text: &str) -> bool {
    fn walk(v: &serde_norway::Value) -> bool {
        match v {
            serde_norway::Value::Number(n) => n.as_f64().is_some_and(|f| !f.is_finite()),
            serde_norway::Value::Sequence(s) => s.iter().any(walk),
            serde_norway::Value::Mapping(m) => m.iter().any(|(k, v)| walk(k) || walk(v)),
            serde_norway::Value::Tagged(t) => walk(&t.value),
            _ => false,
        }
    }
    serde_norway::Deserializer::from_str(text)
        .any(|de| serde_norway::Value::deserialize(de).is_ok_and(|v| walk(&v)))
}

#[test]
fn non_finite_floats_are_errors_with_their_position() {
    for (text, bad) in [
        ("spec:\n  target: {port: .inf}\n", ".inf"),
        ("a: [1, -.Inf]\n", "-.Inf"),
        ("a: .NaN\n", ".NaN"),
        ("a: !!float .nan\n", ".nan"),
    ] {
        let e = parse_documents(text).unwrap_err();
        assert!(e.starts_with("document 1: "), "{e}");
        assert!(
            e.contains(&format!("{bad:?} is not a finite number")),
            "{e}"
        );
        assert!(e.contains(" at line "), "{e}");
    }
    // Strings that only look like them stay strings; finite floats stay numbers.
    let v = parse_documents("a: nan\nb: '.inf'\nc: 1e300\nd: .5\n").unwrap();
    assert_eq!(v[0]["a"], "nan");
    assert_eq!(v[0]["b"], ".inf");
    assert!(v[0]["c"].is_f64() && v[0]["d"].is_f64());
}

fn yaml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if path.is_dir() {
            // tests/hostile holds inputs that differ on purpose (BOMs, duplicate keys, ...).
            if !name.starts_with('.')
                && !matches!(name.as_str(), "target" | "node_modules" | "hostile")
            {
                yaml_files(&path, out);
            }
        } else if name.ends_with(".yaml") || name.ends_with(".yml") || name.ends_with(".snap") {
            out.push(path);
        }
    }
}

#[test]
fn every_yaml_file_in_the_repository_reads_as_before() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let mut files = Vec::new();
    for dir in ["examples", "mesh-core", "tests", "mesh-cli", "scripts"] {
        if root.join(dir).is_dir() {
            yaml_files(&root.join(dir), &mut files);
        }
    }
    assert!(files.len() >= 20, "found only {files:?}");
    let mut documents = 0;
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        same_as_reference(&text).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        documents += parse_documents(&text).map_or(0, |d| d.len());
    }
    assert!(
        documents >= 40,
        "{documents} documents in {} files",
        files.len()
    );
}

/// Scalars whose resolution differs between schemas and parsers.
const SCALARS: &[&str] = &[
    "",
    "~",
    "null",
    "Null",
    "NULL",
    "nUll",
    "true",
    "True",
    "TRUE",
    "tRue",
    "false",
    "False",
    "yes",
    "no",
    "on",
    "off",
    "y",
    "n",
    "0",
    "-0",
    "+0",
    "007",
    "-007",
    "+007",
    "08",
    "0x1F",
    "0X1F",
    "-0x1F",
    "+0x1F",
    "0x-1",
    "0x",
    "0o17",
    "0o8",
    "-0o17",
    "0b101",
    "-0b101",
    "0b2",
    "1_000",
    "12",
    "-12",
    "+12",
    "+-1",
    "--1",
    "18446744073709551615",
    "18446744073709551616",
    "-9223372036854775808",
    "-9223372036854775809",
    "340282366920938463463374607431768211456",
    "1.5",
    "-1.5",
    "+1.5",
    ".5",
    "-.5",
    "+.5",
    "5.",
    "0.",
    "00.5",
    "1e3",
    "1E3",
    "1e",
    "0e0",
    "1e400",
    "-1e400",
    ".inf",
    "-.inf",
    "+.inf",
    ".Inf",
    ".INF",
    ".nan",
    ".NaN",
    ".NAN",
    "nan",
    "inf",
    "infinity",
    "1:20",
    "2001-12-14",
    "0.1.2",
    "60s",
    "a b",
    "caf\u{e9}",
    "+",
    "@type",
    "Service[a.b]-Id[1]",
    "inbound|http|9080",
];

const TAGS: &[&str] = &[
    "",
    "",
    "",
    "",
    "!!str ",
    "!!int ",
    "!!float ",
    "!!bool ",
    "!!null ",
    "!!binary ",
    "!foo ",
];

#[derive(Debug, Clone)]
enum Tree {
    Scalar(usize, u8, usize),
    Seq(Vec<Tree>, bool),
    Map(Vec<(usize, u8, Tree)>, bool),
}

fn tree() -> impl Strategy<Value = Tree> {
    let leaf =
        (0..SCALARS.len(), 0u8..4, 0..TAGS.len()).prop_map(|(s, q, t)| Tree::Scalar(s, q, t));
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            (prop::collection::vec(inner.clone(), 0..6), any::<bool>())
                .prop_map(|(v, f)| Tree::Seq(v, f)),
            (
                prop::collection::vec((0..SCALARS.len(), 0u8..3, inner), 0..6),
                any::<bool>()
            )
                .prop_map(|(v, f)| Tree::Map(v, f)),
        ]
    })
}

fn scalar(i: usize, style: u8) -> String {
    let s = SCALARS[i];
    match style {
        1 => format!("'{}'", s.replace('\'', "''")),
        2 => format!("\"{s}\""),
        _ => s.to_string(),
    }
}

/// A key: as [`scalar`], but an empty key is quoted (an empty plain key, `: 1`, is valid YAML
/// 1.2, which libyaml refused; not compared).
fn key(i: usize, style: u8) -> String {
    scalar(
        i,
        if SCALARS[i].is_empty() && style == 0 {
            1
        } else {
            style
        },
    )
}

/// Writes `t` as YAML: block or flow as the tree says (flow inside flow).
fn write(t: &Tree, indent: usize, in_flow: bool, out: &mut String) {
    let pad = " ".repeat(indent);
    match t {
        Tree::Scalar(i, q, tag) => {
            if *q == 3 {
                // A literal block in block context, else double-quoted.
                if in_flow {
                    out.push_str(&format!("{}\"{}\"", TAGS[*tag], SCALARS[*i]));
                } else {
                    out.push_str(&format!("{}|\n{pad}  {}\n", TAGS[*tag], SCALARS[*i]));
                    return;
                }
            } else {
                out.push_str(TAGS[*tag]);
                out.push_str(&scalar(*i, *q));
            }
            if !in_flow {
                out.push('\n');
            }
        }
        Tree::Seq(items, flow) if *flow || in_flow || items.is_empty() => {
            out.push('[');
            for (n, item) in items.iter().enumerate() {
                if n > 0 {
                    out.push_str(", ");
                }
                write(item, indent, true, out);
            }
            out.push(']');
            if !in_flow {
                out.push('\n');
            }
        }
        Tree::Seq(items, _) => {
            out.push('\n');
            for item in items {
                out.push_str(&format!("{pad}- "));
                write(item, indent + 2, false, out);
            }
        }
        Tree::Map(entries, flow) => {
            let mut seen = std::collections::HashSet::new();
            let entries: Vec<_> = entries
                .iter()
                .filter(|(k, _, _)| seen.insert(SCALARS[*k]))
                .collect();
            if *flow || in_flow || entries.is_empty() {
                out.push('{');
                for (n, (k, q, v)) in entries.iter().enumerate() {
                    if n > 0 {
                        out.push_str(", ");
                    }
                    out.push_str(&format!("{}: ", key(*k, *q)));
                    write(v, indent, true, out);
                }
                out.push('}');
                if !in_flow {
                    out.push('\n');
                }
            } else {
                out.push('\n');
                for (k, q, v) in entries {
                    out.push_str(&format!("{pad}{}: ", key(*k, *q)));
                    write(v, indent + 2, false, out);
                }
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    /// Generated documents read as serde_norway reads them (or both refuse them).
    #[test]
    fn generated_documents_read_as_before(docs in prop::collection::vec(tree(), 1..4)) {
        let mut text = String::new();
        for d in &docs {
            text.push_str("---");
            write(d, 0, false, &mut text);
            if !text.ends_with('\n') {
                text.push('\n');
            }
        }
        prop_assert!(same_as_reference(&text).is_ok(), "{}", same_as_reference(&text).unwrap_err());
    }

    /// Every scalar in every style and tag, as a value and as a key, with an anchor and alias.
    #[test]
    fn scalars_resolve_as_before(i in 0..SCALARS.len(), q in 0u8..3, tag in 0..TAGS.len()) {
        let s = scalar(i, q);
        let t = TAGS[tag];
        // An empty plain key (`: 1`) is valid YAML 1.2, which libyaml refused: not compared.
        let key_forms = if s.is_empty() { vec![] } else { vec![format!("{s}: 1\n"), format!("{{{s}: x}}\n")] };
        for text in key_forms.into_iter().chain([
            format!("v: {t}{s}\n"),
            format!("- {t}{s}\n"),
            format!("[{t}{s}]\n"),
            format!("a: &x {t}{s}\nb: *x\n"),
            format!("a: &x {t}{s}\n*x : b\n"),
            format!("{t}{s}\n"),
        ]) {
            prop_assert!(same_as_reference(&text).is_ok(), "{}", same_as_reference(&text).unwrap_err());
        }
    }
}

#[test]
fn duplicate_keys_name_the_key_and_both_lines() {
    let e = parse_documents("a: 1\n---\nsets:\n  _base: {x: 1}\n  v1: {}\n  _base: {y: 2}\n")
        .unwrap_err();
    assert_eq!(
        e,
        "document 2: duplicate mapping key \"_base\" (first at line 4 column 3) at line 6 column 3"
    );
    let e = parse_documents("metadata: {name: a, namespace: b, name: c}\n").unwrap_err();
    assert_eq!(
        e,
        "document 1: duplicate mapping key \"name\" (first at line 1 column 12) at line 1 column 35"
    );
    // Keys compare by their text: quoting does not make a key different, an alias is its text.
    let e = parse_documents("x: &k name\ny: {name: 1, 'name': 2}\n").unwrap_err();
    assert!(
        e.contains("\"name\" (first at line 2 column 5) at line 2 column 14"),
        "{e}"
    );
    let e = parse_documents("x: &k name\ny: {name: 1, *k : 2}\n").unwrap_err();
    assert!(
        e.contains("\"name\" (first at line 2 column 5) at line 2 column 14"),
        "{e}"
    );
    // Same key in different mappings is fine; serde_norway took the last one silently.
    assert_eq!(
        parse_documents("a: {k: 1}\nb: {k: 2}\n").unwrap(),
        vec![json!({"a": {"k": 1}, "b": {"k": 2}})]
    );
    assert_eq!(reference("k: 1\nk: 2\n").unwrap(), vec![json!({"k": 2})]);
}

#[test]
fn a_byte_order_mark_is_allowed() {
    let text = "\u{feff}apiVersion: v1\nkind: Service\n";
    assert!(reference(text).is_err(), "serde_norway refused it");
    assert_eq!(
        parse_documents(text).unwrap(),
        vec![json!({"apiVersion": "v1", "kind": "Service"})]
    );
    // YAML 1.2 also allows one before each later document.
    assert_eq!(
        parse_documents("\u{feff}a: 1\n\u{feff}---\nb: 2\n...\n\u{feff}c: 3\n").unwrap(),
        vec![json!({"a": 1}), json!({"b": 2}), json!({"c": 3})]
    );
}

#[test]
fn errors_give_the_document_and_a_position() {
    let e = parse_documents("a: 1\n---\nb: [1, 2\n").unwrap_err();
    assert!(e.starts_with("document 2: "), "{e}");
    assert!(e.contains(" at line "), "{e}");
    let e = parse_documents("a: !foo x\n").unwrap_err();
    assert!(
        e.contains("!foo") && e.ends_with("at line 1 column 4"),
        "{e}"
    );
    let e = parse_documents("a: !!int x\n").unwrap_err();
    assert!(e.contains("expected an integer"), "{e}");
    let e = parse_documents("[a, *b]\n").unwrap_err();
    assert!(
        e.starts_with("document 1: ") && e.contains("unknown anchor"),
        "{e}"
    );
    let e = parse_documents("? [a]\n: 1\n").unwrap_err();
    assert!(e.contains("must be a scalar"), "{e}");
}

#[test]
fn nesting_stops_at_the_limit() {
    let ok = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
    assert!(parse_documents(&ok).is_ok());
    assert!(reference(&ok).is_ok());
    let deep = format!("{}{}", "[".repeat(MAX_DEPTH + 1), "]".repeat(MAX_DEPTH + 1));
    let e = parse_documents(&deep).unwrap_err();
    assert_eq!(
        e,
        "document 1: nesting deeper than 128 sequences and mappings at line 1 column 129"
    );
    assert!(reference(&deep).is_err());
    // An alias counts with the depth of what it copies.
    let nested = format!("{}1{}", "[".repeat(100), "]".repeat(100));
    let text = format!(
        "a: &x {nested}\nb: [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[*x]]]]]]]]]]]]]]]]]]]]]]]]]]]]]\n"
    );
    assert!(
        parse_documents(&text)
            .unwrap_err()
            .contains("nesting deeper")
    );
    assert!(reference(&text).is_err());
}

/// Events read, units spent and input reached for a text, and whether it parsed.
fn stats(text: &str) -> (u64, u64, usize, Result<Vec<Value>, String>) {
    let (r, s) = parse_with_stats(text, Budget::for_len(text.len()));
    (s.events, s.units, s.reached, r)
}

#[test]
fn deep_flow_nesting_stops_at_the_limit_whatever_follows() {
    // 10^5 nested flow collections took serde_norway over 10 s: libyaml scanned the whole
    // document (quadratically) before the depth check. Here the parser stops within the first
    // few hundred characters, for N and 2N alike.
    for open in ["[", "{a: ", "{a: [", "- ", "[a, "] {
        let n = 50_000;
        let (e1, _, r1, res1) = stats(&open.repeat(n));
        let (e2, _, r2, res2) = stats(&open.repeat(2 * n));
        let e = res2.unwrap_err();
        assert!(e.contains("nesting deeper than 128"), "{e}");
        assert!(res1.is_err());
        assert_eq!((e1, r1), (e2, r2), "{open:?}");
        assert!(
            r1 <= 256 * open.len() && e1 <= 2 * MAX_DEPTH as u64 + 4,
            "{open:?}: {e1} events, {r1} chars"
        );
    }
}

#[test]
fn work_grows_linearly_with_aliases_and_documents() {
    // Fan-out: N keys that each alias one 100-item list cost 100 units per alias, exactly.
    let fan = |n: usize| {
        let mut s = String::from("l: &l [");
        s.push_str(&vec!["x"; 100].join(", "));
        s.push_str("]\n");
        for i in 0..n {
            s.push_str(&format!("k{i}: *l\n"));
        }
        s
    };
    let (e1, u1, _, r1) = stats(&fan(1000));
    let (e2, u2, _, r2) = stats(&fan(2000));
    r1.unwrap();
    r2.unwrap();
    assert_eq!(e2 - e1, 2 * 1000, "two events (key, alias) per entry");
    // The list is 1 + 100 × (1 + 1) units; a key `k1234` is 6.
    let per = (u2 - u1) / 1000;
    assert!((205..=208).contains(&per), "{per} units per alias");
    // Many small documents: events and units exactly double.
    let docs = |n: usize| "---\na: [1, {b: c}]\n".repeat(n);
    let (e1, u1, _, _) = stats(&docs(1000));
    let (e2, u2, _, _) = stats(&docs(2000));
    assert_eq!((e2 - 2, u2), (2 * (e1 - 2), 2 * u1));
}

#[test]
fn alias_expansion_is_bounded_by_the_input() {
    // The fan-out of the issue: 100 000 aliases of a 100-item list (10^7 values, 693 MB through
    // serde_norway). The budget is 2 units per input byte plus 2^20.
    let mut s = String::from("l: &l [");
    s.push_str(&vec!["x"; 100].join(", "));
    s.push_str("]\n");
    for i in 0..100_000 {
        s.push_str(&format!("k{i}: *l\n"));
    }
    let e = parse_documents(&s).unwrap_err();
    assert!(e.contains("too large once aliases are expanded"), "{e}");
    // It stops at the alias that crosses the budget.
    let stop: usize = e
        .split("at line ")
        .nth(1)
        .and_then(|l| l.split(' ').next())
        .and_then(|l| l.parse().ok())
        .unwrap();
    let budget = Budget::for_len(s.len()).0 as usize;
    assert!(stop < budget / 100, "stopped at line {stop}");
    // Billion laughs: each level aliases the previous ten times.
    let mut lol = String::from("a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
    for i in 1..10 {
        let p = format!("*a{}", i - 1);
        lol.push_str(&format!("a{i}: &a{i} [{}]\n", [p.as_str(); 10].join(", ")));
    }
    assert!(
        parse_documents(&lol)
            .unwrap_err()
            .contains("too large once aliases")
    );
    // Aliases below the budget read as before.
    let small = "base: &b {quota: 5, port: 9080}\nx: *b\ny: [*b, *b]\n";
    assert_eq!(parse_documents(small).unwrap(), reference(small).unwrap());
}

#[test]
fn direct_content_never_meets_the_budget() {
    // The densest inputs without aliases: one value per byte or two.
    for text in [
        format!("[{}]", vec!["a"; 200_000].join(",")),
        format!(
            "{{{}}}",
            (0..50_000)
                .map(|i| format!("{i}"))
                .collect::<Vec<_>>()
                .join(",")
        ),
        "-\n".repeat(200_000),
        (0..50_000).map(|i| format!("{i}:\n")).collect::<String>(),
        format!("- {}", "- ".repeat(100)),
    ] {
        let (_, units, _, r) = stats(&text);
        r.unwrap();
        assert!(
            units <= text.len() as u64 * 3 / 2 + 2,
            "{units} units for {} bytes",
            text.len()
        );
    }
}
