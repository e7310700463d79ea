use super::emit::*;
use super::parse::*;
use serde_json::Value;

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
