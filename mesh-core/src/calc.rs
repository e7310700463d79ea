//! Slime's expression language: a Go `html/template` lookup into the metric material followed by
//! Slime's integer infix calculator (`framework/util/calculator.go`), reproduced exactly.
//!
//! * Material keys are flat and dotted (`_base.cpu.sum`); `{{._base.cpu.sum}}` looks one up.
//!   Values are strings, HTML-escaped on substitution as `html/template` does.
//! * Only `0-9 . ( ) + - * / > < | &` may remain after substitution; anything else (a space too)
//!   is an error.
//! * Leaves are parsed as floats and truncated; an empty or unparsable leaf is 0.
//! * Levels: `* /` 3, `+ -` 2, `> <` 1, `| &` 0, plus 10 per open parenthesis. Operators of
//!   equal level group to the **right** (`10-2-3` = 11).
//! * `/` rounds up when there is a positive remainder and gives 0 for a zero divisor.
//!
//! Where Slime would silently substitute an empty string (a metric the material lacks), this
//! module reports an error naming the metric instead.

use std::collections::BTreeMap;

/// Why an expression could not be evaluated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExprError {
    #[error("metric `{0}` is not in the metric material (Slime would silently use 0)")]
    MissingMetric(String),
    #[error("`{{{{.{0}}}}}` names a group of metrics, not one metric")]
    MetricGroup(String),
    #[error("template error: {0}")]
    Template(String),
    #[error("spaces are not allowed in Slime expressions (`{0}`)")]
    Space(String),
    #[error(
        "character {ch:?} at offset {offset} is not allowed in `{expr}` (only 0-9 . ( ) + - * / > < | &)"
    )]
    BadChar {
        expr: String,
        ch: char,
        offset: usize,
    },
    #[error("`(` directly after a number in `{0}`")]
    ParenAfterNumber(String),
    #[error("unbalanced `(` in `{0}`")]
    Unbalanced(String),
    #[error("expression is longer than {MAX_EXPR_LEN} bytes")]
    TooLong,
}

/// Longest expression (after substitution) that is evaluated.
pub const MAX_EXPR_LEN: usize = 4096;

/// The metric material: flat dotted keys to string values, as in Slime's `metricStatus`.
pub type Material = BTreeMap<String, String>;

/// The result of an evaluation plus Slime-quirk warnings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evaluated {
    pub value: i64,
    /// The text after template substitution.
    pub rendered: String,
    /// Human-readable notes where Slime's semantics change the result.
    pub warnings: Vec<String>,
}

/// Substitutes `{{.a.b}}` actions with material values (HTML-escaped as `html/template` does).
pub fn render_template(expr: &str, material: &Material) -> Result<String, ExprError> {
    let mut out = String::with_capacity(expr.len());
    let mut rest = expr;
    while let Some(start) = rest.find("{{") {
        let mut text = &rest[..start];
        let after = &rest[start + 2..];
        let end = after
            .find("}}")
            .ok_or_else(|| ExprError::Template(format!("unclosed action in `{expr}`")))?;
        let mut action = &after[..end];
        rest = &after[end + 2..];
        // `{{- ` trims the text before, ` -}}` the text after (Go template trim markers).
        if let Some(a) = action.strip_prefix("- ") {
            action = a;
            text = text.trim_end();
        }
        let mut trim_after = false;
        if let Some(a) = action.strip_suffix(" -") {
            action = a;
            trim_after = true;
        }
        out.push_str(text);
        let action = action.trim();
        let path = action.strip_prefix('.').ok_or_else(|| {
            ExprError::Template(format!(
                "only field lookups like `{{{{._base.pod}}}}` are supported, not `{{{{{action}}}}}`"
            ))
        })?;
        if path.is_empty()
            || !path
                .split('.')
                .all(|seg| !seg.is_empty() && seg.chars().all(|c| c.is_alphanumeric() || c == '_'))
            || path.starts_with(|c: char| c.is_ascii_digit())
        {
            return Err(ExprError::Template(format!(
                "bad field path `{action}` in `{expr}`"
            )));
        }
        match material.get(path) {
            Some(v) => html_escape_into(v, &mut out),
            None => {
                let prefix = format!("{path}.");
                if material.keys().any(|k| k.starts_with(&prefix)) {
                    return Err(ExprError::MetricGroup(path.to_string()));
                }
                return Err(ExprError::MissingMetric(path.to_string()));
            }
        }
        if trim_after {
            rest = rest.trim_start();
        }
    }
    if rest.contains("}}") {
        return Err(ExprError::Template(format!(
            "unexpected `}}}}` in `{expr}`"
        )));
    }
    out.push_str(rest);
    Ok(out)
}

/// `html/template`'s HTML escaper.
fn html_escape_into(v: &str, out: &mut String) {
    for c in v.chars() {
        match c {
            '\0' => out.push('\u{FFFD}'),
            '"' => out.push_str("&#34;"),
            '\'' => out.push_str("&#39;"),
            '&' => out.push_str("&amp;"),
            '+' => out.push_str("&#43;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
}

/// Evaluates a quota expression against the material.
pub fn eval_quota(expr: &str, material: &Material) -> Result<Evaluated, ExprError> {
    let rendered = render_template(expr, material)?;
    let value = calculate(&rendered)?;
    let mut warnings = Vec::new();
    if let Ok(conventional) = calculate_with(&rendered, Assoc::Left)
        && conventional != value
    {
        warnings.push(format!(
            "expression `{expr}` evaluates to {value} because Slime groups operators of equal precedence to the right (left-to-right grouping would give {conventional})"
        ));
    }
    Ok(Evaluated {
        value,
        rendered,
        warnings,
    })
}

/// Evaluates a condition: `"true"`/`"false"` literally, otherwise true iff the value is exactly 1.
pub fn eval_condition(expr: &str, material: &Material) -> Result<(bool, Vec<String>), ExprError> {
    match expr {
        "true" => Ok((true, Vec::new())),
        "false" => Ok((false, Vec::new())),
        _ => {
            let e = eval_quota(expr, material)?;
            Ok((e.value == 1, e.warnings))
        }
    }
}

/// Slime's `Calculate` on an already substituted expression.
pub fn calculate(expr: &str) -> Result<i64, ExprError> {
    calculate_with(expr, Assoc::Right)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Assoc {
    /// Slime's grouping.
    Right,
    /// Conventional grouping, only used to detect where Slime's differs.
    Left,
}

#[derive(Debug, Default, Clone)]
struct Node {
    left: Option<usize>,
    right: Option<usize>,
    parent: Option<usize>,
    /// Operator byte, or 0 for a leaf / the unset root.
    op: u8,
    /// Leaf value (the truncated digit/dot run), when `op == 0`.
    leaf: i64,
    level: i64,
}

fn calculate_with(expr: &str, assoc: Assoc) -> Result<i64, ExprError> {
    if expr.len() > MAX_EXPR_LEN {
        return Err(ExprError::TooLong);
    }
    let bytes = expr.as_bytes();
    let mut nodes: Vec<Node> = vec![Node::default()];
    let leaf = |nodes: &mut Vec<Node>, run: &str| -> usize {
        nodes.push(Node {
            leaf: leaf_value(run),
            ..Node::default()
        });
        nodes.len() - 1
    };
    let mut cur = 0usize;
    // The pending digit/dot run; parentheses do not end it (as in Slime).
    let mut run = String::new();
    let mut depth: i64 = 0;
    let mut after_digit = false;
    for (i, &b) in bytes.iter().enumerate() {
        let level = match b {
            b'.' => {
                run.push('.');
                continue;
            }
            b'0'..=b'9' => {
                run.push(b as char);
                after_digit = true;
                continue;
            }
            b'(' => {
                if after_digit {
                    return Err(ExprError::ParenAfterNumber(expr.to_string()));
                }
                depth += 1;
                continue;
            }
            b')' => {
                depth = (depth - 1).max(0);
                continue;
            }
            b'/' | b'*' => depth * 10 + 3,
            b'+' | b'-' => depth * 10 + 2,
            b'>' | b'<' => depth * 10 + 1,
            b'|' | b'&' => depth * 10,
            _ => {
                if b == b' ' {
                    return Err(ExprError::Space(expr.to_string()));
                }
                let ch = expr[i..].chars().next().unwrap_or('?');
                return Err(ExprError::BadChar {
                    expr: expr.to_string(),
                    ch,
                    offset: i,
                });
            }
        };
        after_digit = false;
        if nodes[cur].op == 0 {
            let l = leaf(&mut nodes, &run);
            run.clear();
            nodes[cur].op = b;
            nodes[cur].left = Some(l);
            nodes[cur].level = level;
            continue;
        }
        let node = nodes.len();
        nodes.push(Node {
            op: b,
            level,
            ..Node::default()
        });
        let goes_right = match assoc {
            Assoc::Right => level >= nodes[cur].level,
            Assoc::Left => level > nodes[cur].level,
        };
        if goes_right {
            nodes[cur].right = Some(node);
            nodes[node].parent = Some(cur);
            let l = leaf(&mut nodes, &run);
            nodes[node].left = Some(l);
        } else {
            let r = leaf(&mut nodes, &run);
            nodes[cur].right = Some(r);
            let mut became_root = false;
            while level <= nodes[cur].level {
                match nodes[cur].parent {
                    None => {
                        nodes[cur].parent = Some(node);
                        nodes[node].left = Some(cur);
                        became_root = true;
                        break;
                    }
                    Some(p) => cur = p,
                }
            }
            if !became_root {
                let old_right = nodes[cur].right;
                if let Some(r) = old_right {
                    nodes[r].parent = Some(node);
                }
                nodes[node].left = old_right;
                nodes[cur].right = Some(node);
                nodes[node].parent = Some(cur);
            }
        }
        run.clear();
        cur = node;
    }
    if depth != 0 {
        return Err(ExprError::Unbalanced(expr.to_string()));
    }
    let r = leaf(&mut nodes, &run);
    nodes[cur].right = Some(r);
    while let Some(p) = nodes[cur].parent {
        cur = p;
    }
    if nodes[cur].op == 0 {
        nodes[cur].leaf = leaf_value(&run);
    }
    Ok(eval(&nodes, cur))
}

/// Iterative post-order evaluation (the tree can be as deep as the expression is long).
fn eval(nodes: &[Node], root: usize) -> i64 {
    let mut stack: Vec<(usize, bool)> = vec![(root, false)];
    let mut values: Vec<i64> = Vec::new();
    while let Some((n, children_done)) = stack.pop() {
        let node = &nodes[n];
        if node.op == 0 {
            values.push(node.leaf);
            continue;
        }
        if !children_done {
            stack.push((n, true));
            // Missing children evaluate like Go's nil-safe empty leaf: 0.
            match node.right {
                Some(r) => stack.push((r, false)),
                None => values.push(0),
            }
            match node.left {
                Some(l) => stack.push((l, false)),
                None => values.push(0),
            }
            // Left is pushed last so it is evaluated first; values arrive left then right.
            continue;
        }
        let r = values.pop().unwrap_or(0);
        let l = values.pop().unwrap_or(0);
        values.push(apply(node.op, l, r));
    }
    values.pop().unwrap_or(0)
}

fn apply(op: u8, l: i64, r: i64) -> i64 {
    match op {
        b'*' => l.wrapping_mul(r),
        b'/' => {
            if r == 0 {
                0
            } else if l.wrapping_rem(r) > 0 {
                l.wrapping_div(r).wrapping_add(1)
            } else {
                l.wrapping_div(r)
            }
        }
        b'+' => l.wrapping_add(r),
        b'-' => l.wrapping_sub(r),
        b'>' => i64::from(l > r),
        b'<' => i64::from(l < r),
        b'|' => i64::from(l.wrapping_add(r) > 0),
        b'&' => i64::from(l.wrapping_add(r) == 2),
        _ => 0,
    }
}

/// Go `strconv.ParseFloat` then `int(f)`: errors (including overflow to ±Inf) give 0; values
/// outside the int64 range give Go's amd64 result, the minimum int64.
fn leaf_value(s: &str) -> i64 {
    // Only digits and dots reach here; Rust accepts the same digit/dot forms as Go for these.
    if s.is_empty() || s == "." || s.matches('.').count() > 1 {
        return 0;
    }
    match s.parse::<f64>() {
        Ok(f) if f.is_finite() => {
            if f >= i64::MAX as f64 {
                i64::MIN
            } else {
                f as i64
            }
        }
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mat(pairs: &[(&str, &str)]) -> Material {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    /// Every vector of the upstream test file plus the ones computed with a faithful port.
    #[test]
    fn slime_test_vectors() {
        let vectors: &[(&str, i64)] = &[
            ("11+1", 12),
            ("16/2", 8),
            ("15-23", -8),
            ("35*23", 805),
            ("4+5*6+((7+8)/6)-8", 29),
            ("4+5*6+((7+8)/6)>10", 1),
            ("4+5*6+((7+8)/6)>10|16/2>10", 1),
            ("4+5*6+((7+8)/6)>10&16/2>10", 0),
            ("10", 10),
            ("100/3", 34),
            ("10/4", 3),
            ("7/2", 4),
            ("10-2-3", 11),
            ("100/2/5", 100),
            ("100/2*5", 10),
            ("8845.137062837>8000", 1),
            ("1.9", 1),
            ("0.5+0.6", 0),
            ("30/", 0),
            ("30/0", 0),
            ("", 0),
            (">100", 0),
            ("-5", -5),
            ("2&1", 0),
            ("1&1", 1),
            // Equal levels group right only while descending: climbing back up passes over them.
            ("1>0+0-0>1", 0),
            ("10-2-3*1", 11),
        ];
        for (expr, want) in vectors {
            assert_eq!(calculate(expr), Ok(*want), "{expr}");
        }
    }

    #[test]
    fn slime_error_vectors() {
        assert!(matches!(calculate("10 / 2"), Err(ExprError::Space(_))));
        assert!(matches!(calculate("true"), Err(ExprError::BadChar { .. })));
        assert!(matches!(
            calculate("3(4)"),
            Err(ExprError::ParenAfterNumber(_))
        ));
        assert!(matches!(calculate("((2)"), Err(ExprError::Unbalanced(_))));
        // An extra `)` is ignored, and parentheses do not split a number.
        assert_eq!(calculate("2)+3"), Ok(5));
        assert_eq!(calculate("2)3"), Ok(23));
        assert_eq!(calculate(".(5)"), Ok(0));
    }

    #[test]
    fn template_vector() {
        let m = mat(&[("_ratelimit", "100"), ("v1.epNum", "2")]);
        let e = eval_quota("{{._ratelimit}}/{{.v1.epNum}}", &m).unwrap();
        assert_eq!(e.value, 50);
        assert_eq!(e.rendered, "100/2");
        assert!(e.warnings.is_empty());
    }

    #[test]
    fn average_quota_rounds_up() {
        let m = mat(&[("_base.pod", "3")]);
        assert_eq!(eval_quota("10/{{._base.pod}}", &m).unwrap().value, 4);
        assert_eq!(eval_quota("{{ ._base.pod }}", &m).unwrap().value, 3);
    }

    #[test]
    fn conditions() {
        let m = mat(&[("_base.cpu.sum", "8845.137062837")]);
        assert!(eval_condition("true", &m).unwrap().0);
        assert!(!eval_condition("false", &m).unwrap().0);
        assert!(eval_condition("{{._base.cpu.sum}}>8000", &m).unwrap().0);
        // True only for exactly 1.
        assert!(!eval_condition("2", &m).unwrap().0);
        assert!(eval_condition("1", &m).unwrap().0);
        assert!(eval_condition("TRUE", &m).is_err());
    }

    #[test]
    fn missing_metric_is_an_error_naming_it() {
        let m = mat(&[("_base.cpu.sum", "1")]);
        assert_eq!(
            eval_quota("{{.base.cpu.sum}}>1", &m),
            Err(ExprError::MissingMetric("base.cpu.sum".into()))
        );
        assert_eq!(
            eval_quota("{{._base.cpu}}>1", &m),
            Err(ExprError::MetricGroup("_base.cpu".into()))
        );
        assert!(matches!(
            eval_quota("{{._base.cpu.sum}", &m),
            Err(ExprError::Template(_))
        ));
        assert!(matches!(
            eval_quota("{{if .a}}1{{end}}", &m),
            Err(ExprError::Template(_))
        ));
    }

    #[test]
    fn html_escaped_values_break_evaluation_like_slime() {
        let m = mat(&[("x", "+Inf")]);
        assert!(matches!(
            eval_quota("{{.x}}", &m),
            Err(ExprError::BadChar { .. })
        ));
    }

    #[test]
    fn right_grouping_warns() {
        let m = Material::new();
        let e = eval_quota("10-2-3", &m).unwrap();
        assert_eq!(e.value, 11);
        assert_eq!(e.warnings.len(), 1);
        assert!(e.warnings[0].contains("`10-2-3`"), "{:?}", e.warnings);
        let e = eval_quota("100/2/5", &m).unwrap();
        assert_eq!(e.value, 100);
        assert!(e.warnings[0].contains("would give 10"), "{:?}", e.warnings);
        assert!(eval_quota("2*3*4", &m).unwrap().warnings.is_empty());
        assert!(eval_quota("100/(2*5)", &m).unwrap().warnings.is_empty());
    }

    #[test]
    fn go_int_conversion_edges() {
        assert_eq!(calculate("99999999999999999999"), Ok(i64::MIN));
        assert_eq!(calculate(&"9".repeat(400)), Ok(0));
        assert_eq!(calculate("1.2.3"), Ok(0));
        assert_eq!(calculate("5."), Ok(5));
        assert_eq!(calculate(".5"), Ok(0));
        assert_eq!(calculate(&"1+".repeat(2000)), Ok(2000));
    }

    /// A conventional left-associative precedence parser over well-formed expressions: the
    /// baseline the right-grouping warning compares against must agree with it everywhere.
    fn reference(tokens: &[String], pos: &mut usize, min_level: i64) -> i64 {
        let level = |t: &str| match t {
            "*" | "/" => 3,
            "+" | "-" => 2,
            ">" | "<" => 1,
            "|" | "&" => 0,
            _ => -1,
        };
        let mut lhs = if tokens[*pos] == "(" {
            *pos += 1;
            let v = reference(tokens, pos, 0);
            *pos += 1; // ')'
            v
        } else {
            let v = tokens[*pos].parse().unwrap();
            *pos += 1;
            v
        };
        while *pos < tokens.len() && level(&tokens[*pos]) >= min_level {
            let op = tokens[*pos].clone();
            *pos += 1;
            let rhs = reference(tokens, pos, level(&op) + 1);
            lhs = apply(op.as_bytes()[0], lhs, rhs);
        }
        lhs
    }

    fn expr_tokens() -> impl proptest::strategy::Strategy<Value = Vec<String>> {
        use proptest::prelude::*;
        let leaf = (0i64..1000).prop_map(|n| vec![n.to_string()]);
        leaf.prop_recursive(6, 40, 2, |inner| {
            prop_oneof![
                (
                    inner.clone(),
                    prop::sample::select(vec!["+", "-", "*", "/", ">", "<", "|", "&"]),
                    inner.clone()
                )
                    .prop_map(|(mut l, op, r)| {
                        l.push(op.to_string());
                        l.extend(r);
                        l
                    }),
                inner.prop_map(|e| {
                    let mut v = vec!["(".to_string()];
                    v.extend(e);
                    v.push(")".to_string());
                    v
                }),
            ]
        })
    }

    proptest::proptest! {
        #[test]
        fn conventional_baseline_matches_a_precedence_parser(tokens in expr_tokens()) {
            let text: String = tokens.concat();
            let want = reference(&tokens, &mut 0, 0);
            proptest::prop_assert_eq!(calculate_with(&text, Assoc::Left), Ok(want), "{}", text);
            // Slime's own grouping differs only where a warning says so.
            let slime = eval_quota(&text, &Material::new()).unwrap();
            proptest::prop_assert_eq!(slime.warnings.is_empty(), slime.value == want, "{}", text);
        }

        #[test]
        fn calculate_never_panics(s in "[0-9.()+*/<>|& -]{0,64}") {
            let _ = calculate(&s);
            let _ = eval_quota(&s, &Material::new());
        }

        #[test]
        fn templates_never_panic(s in "[{}._a-z0-9 +-]{0,40}") {
            let m: Material = [("_base.pod".to_string(), "3".to_string())].into_iter().collect();
            let _ = eval_quota(&s, &m);
        }
    }
}
