//! Descriptor Ids: Adler-32 over the descriptor's protobuf text plus `namespace/name`, the way
//! Slime computes `Service[<name>.<ns>]-Id[<n>]`.
//!
//! protobuf-go's text encoder separates fields with one or two spaces, chosen per binary
//! (deliberate output randomization). Slime's current upstream fixtures were produced with two
//! spaces, so that variant is used here, which reproduces their Ids exactly.

use std::fmt::Write;

use crate::model::{
    FillInterval, Header, MatchSource, Matcher, SmartLimitAction, Strategy, Target,
};

/// The "warped" descriptor Slime hashes and reports in `ratelimitStatus`: the action with its
/// evaluated quota, the matchers (one IP for source-IP matchers) and the descriptor's own target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warped {
    pub quota: i64,
    pub fill_interval: Option<FillInterval>,
    pub strategy: Strategy,
    pub headers_to_add: Vec<Header>,
    pub matches: Vec<Matcher>,
    pub target: Option<Target>,
}

impl Warped {
    pub fn from_action(
        action: &SmartLimitAction,
        quota: i64,
        matches: Vec<Matcher>,
        target: Option<Target>,
    ) -> Self {
        Warped {
            quota,
            fill_interval: action.fill_interval,
            strategy: action.strategy,
            headers_to_add: action.headers_to_add.clone(),
            matches,
            target,
        }
    }

    /// protobuf-go text format (two-space separators) of the `SmartLimitDescriptor`.
    pub fn prototext(&self) -> String {
        let mut f = Fields::default();
        f.message("action", |a| {
            a.string("quota", &self.quota.to_string());
            if let Some(fi) = self.fill_interval {
                a.message("fill_interval", |d| {
                    d.int("seconds", i64::from(fi.seconds));
                    d.int("nanos", i64::from(fi.nanos));
                });
            }
            a.string("strategy", self.strategy.as_str());
            for h in &self.headers_to_add {
                a.message("headers_to_add", |m| {
                    m.string("key", &h.key);
                    m.string("value", &h.value);
                });
            }
        });
        for m in &self.matches {
            f.message("match", |x| {
                x.string("name", &m.name);
                x.string("regex_match", &m.regex_match);
                x.string("exact_match", &m.exact_match);
                x.string("prefix_match", &m.prefix_match);
                x.string("suffix_match", &m.suffix_match);
                x.boolean("present_match", m.present_match);
                x.boolean("invert_match", m.invert_match);
                x.boolean("is_exact_match_empty", m.is_exact_match_empty);
                x.boolean("present_match_separate", m.present_match_separate);
                x.boolean("useQueryMatch", m.use_query_match);
                if m.match_source != MatchSource::HeadMatch {
                    x.raw("matchSource", m.match_source.name());
                }
            });
        }
        if let Some(t) = &self.target {
            f.message("target", |x| {
                x.string("direction", t.direction.as_str());
                x.int("port", i64::from(t.port));
                for r in &t.route {
                    x.string("route", r);
                }
                for h in &t.host {
                    x.string("host", h);
                }
            });
        }
        f.out
    }

    /// Adler-32 of the prototext followed by `namespace/name`.
    pub fn id(&self, namespace: &str, name: &str) -> u32 {
        let mut a = adler2::Adler32::new();
        a.write_slice(self.prototext().as_bytes());
        a.write_slice(namespace.as_bytes());
        a.write_slice(b"/");
        a.write_slice(name.as_bytes());
        a.checksum()
    }
}

/// `Service[<name>.<namespace>]-Id[<id>]`.
pub fn descriptor_value(name: &str, namespace: &str, id: u32) -> String {
    format!("Service[{name}.{namespace}]-Id[{id}]")
}

/// `RequestHeader[<name>.<namespace>]-Id[<id>]` (global per-header-value key).
pub fn descriptor_key(name: &str, namespace: &str, id: u32) -> String {
    format!("RequestHeader[{name}.{namespace}]-Id[{id}]")
}

#[derive(Default)]
struct Fields {
    out: String,
}

impl Fields {
    fn sep(&mut self) {
        if !self.out.is_empty() {
            self.out.push_str("  ");
        }
    }

    fn raw(&mut self, name: &str, value: &str) {
        self.sep();
        let _ = write!(self.out, "{name}:{value}");
    }

    fn string(&mut self, name: &str, value: &str) {
        if value.is_empty() {
            return;
        }
        self.sep();
        self.out.push_str(name);
        self.out.push(':');
        quote_into(value, &mut self.out);
    }

    fn int(&mut self, name: &str, value: i64) {
        if value != 0 {
            self.raw(name, &value.to_string());
        }
    }

    fn boolean(&mut self, name: &str, value: bool) {
        if value {
            self.raw(name, "true");
        }
    }

    fn message(&mut self, name: &str, body: impl FnOnce(&mut Fields)) {
        let mut inner = Fields::default();
        body(&mut inner);
        self.sep();
        let _ = write!(self.out, "{name}:{{{}}}", inner.out);
    }
}

/// protobuf-go text string quoting (UTF-8 kept, control characters escaped).
fn quote_into(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if (0x80..=0x9f).contains(&(c as u32)) => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn action(quota: &str, seconds: i32, strategy: &str) -> SmartLimitAction {
        SmartLimitAction {
            quota: quota.into(),
            fill_interval: Some(FillInterval { seconds, nanos: 0 }),
            strategy: Strategy::parse(strategy).unwrap(),
            headers_to_add: vec![],
        }
    }

    /// `limit_by_method` upstream fixture.
    #[test]
    fn upstream_method_fixture_id() {
        let w = Warped::from_action(
            &action("10", 1, "single"),
            10,
            vec![Matcher {
                name: ":method".into(),
                exact_match: "GET".into(),
                ..Matcher::default()
            }],
            Some(Target::default()),
        );
        assert_eq!(
            w.prototext(),
            r#"action:{quota:"10"  fill_interval:{seconds:1}  strategy:"single"}  match:{name:":method"  exact_match:"GET"}  target:{}"#
        );
        assert_eq!(w.id("default", "hello"), 1092235069);
        assert_eq!(
            descriptor_value("hello", "default", w.id("default", "hello")),
            "Service[hello.default]-Id[1092235069]"
        );
    }

    /// `limit_by_query` upstream fixture.
    #[test]
    fn upstream_query_fixture_id() {
        let w = Warped::from_action(
            &action("10", 1, "single"),
            10,
            vec![Matcher {
                name: "foo".into(),
                prefix_match: "bar".into(),
                match_source: MatchSource::QueryMatch,
                ..Matcher::default()
            }],
            Some(Target::default()),
        );
        assert_eq!(w.id("default", "hello"), 2197174159);
    }

    /// `limit_outbound_with_mismatch_selector` upstream fixture (target at spec level).
    #[test]
    fn upstream_gateway_fixture_id() {
        let w = Warped::from_action(&action("50", 60, "single"), 50, vec![], None);
        assert_eq!(
            w.id("default", "withselector-missing-match-workload"),
            2597136639
        );
    }

    #[test]
    fn quoting() {
        let mut s = String::new();
        quote_into("a\"b\\c\n\u{1}é", &mut s);
        assert_eq!(s, r#""a\"b\\c\n\x01é""#);
    }
}
