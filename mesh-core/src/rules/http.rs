//! What Envoy accepts in the HTTP parts of the config we emit: header names and values (route
//! `header_value_match` / `request_headers`, LocalRateLimit `response_headers_to_add`), query
//! parameter names and RE2 regexes.
//!
//! Each rule below was tried on Envoy 1.40.0 and 1.36.2 (`tests/envoy/test_rules_rejected.py`
//! keeps the proof):
//! * `HeaderValue.key` and `HeaderMatcher.name` / `request_headers.header_name` are
//!   `HTTP_HEADER_NAME` with `strict: false`: non-empty, no NUL, CR or LF; `HeaderValue.key` and
//!   `.value` have `max_bytes: 16384`, and the value is `HTTP_HEADER_VALUE` (no NUL, CR, LF).
//! * Added headers go through Envoy's header formatter: `:`-prefixed names and `host` "may not be
//!   modified", and `%` starts a substitution command (`100%` and `%FOO%` are rejected; `%%` is a
//!   literal `%`).
//! * `QueryParameterMatcher.name` has `max_bytes: 1024`.
//! * RE2 refuses counted repetitions above 1000 (also nested: their product) and Envoy refuses a
//!   regex whose RE2 program is larger than 100 instructions (`re2.max_program_size.error_level`).
//!
//! On top of that, header names must be RFC 9110 tokens (with a leading `:` for pseudo-headers
//! in matchers): Envoy accepts `x user` in config, but no request can carry it, so such a limit
//! would never apply.

use regex_syntax::hir::{Hir, HirKind};

/// Envoy's `max_bytes` for header names and values in `HeaderValue`.
pub const MAX_HEADER_BYTES: usize = 16_384;
/// Envoy's `max_bytes` for a query parameter matcher's name.
pub const MAX_QUERY_NAME_BYTES: usize = 1024;
/// RE2's largest counted repetition.
pub const RE2_MAX_REPEAT: u32 = 1000;
/// Envoy's default `re2.max_program_size.error_level`.
pub const ENVOY_MAX_PROGRAM_SIZE: u64 = 100;

/// Where a header name is used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeaderUse {
    /// Matched on the request (`:method`, `:path` and other pseudo-headers allowed).
    Match,
    /// Added to a response (Envoy refuses pseudo-headers and `host`).
    Add,
}

/// RFC 9110 `tchar`.
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

fn describe(b: u8) -> String {
    match b {
        0 => "NUL".into(),
        b'\r' => "CR".into(),
        b'\n' => "LF".into(),
        b' ' => "a space".into(),
        b'\t' => "a tab".into(),
        0x21..=0x7e => format!("{:?}", b as char),
        _ => format!("byte 0x{b:02x}"),
    }
}

/// Checks a header name; the message explains what is wrong.
pub fn header_name(name: &str, usage: HeaderUse) -> Result<(), String> {
    if name.is_empty() {
        return Err("must not be empty (Envoy rejects an empty header name)".into());
    }
    if name.len() > MAX_HEADER_BYTES {
        return Err(format!(
            "is {} bytes long; Envoy accepts header names of at most {MAX_HEADER_BYTES} bytes",
            name.len()
        ));
    }
    let bytes = name.as_bytes();
    if let Some(i) = bytes.iter().position(|b| matches!(b, 0 | b'\r' | b'\n')) {
        return Err(format!(
            "contains {} at byte {i}; Envoy rejects NUL, CR and LF in header names",
            describe(bytes[i])
        ));
    }
    let body = match (usage, name.strip_prefix(':')) {
        (HeaderUse::Match, Some(rest)) => rest,
        (HeaderUse::Add, Some(_)) => {
            return Err(format!(
                "{name:?} is a pseudo-header; Envoy refuses to add `:`-prefixed headers"
            ));
        }
        (_, None) => name,
    };
    if usage == HeaderUse::Add && name.eq_ignore_ascii_case("host") {
        return Err("Envoy refuses to add or modify the host header".into());
    }
    let offset = name.len() - body.len();
    match body.bytes().position(|b| !is_tchar(b)) {
        _ if body.is_empty() => Err("`:` alone is not a header name".into()),
        Some(i) => Err(format!(
            "contains {} at byte {}: a header name is an RFC 9110 token (letters, digits and !#$%&'*+-.^_`|~), so no request carries this one",
            describe(body.as_bytes()[i]),
            i + offset
        )),
        None => Ok(()),
    }
}

/// Checks a header value matched on or added to a message.
pub fn header_value(value: &str) -> Result<(), String> {
    if value.len() > MAX_HEADER_BYTES {
        return Err(format!(
            "is {} bytes long; Envoy accepts header values of at most {MAX_HEADER_BYTES} bytes",
            value.len()
        ));
    }
    let bytes = value.as_bytes();
    match bytes.iter().position(|b| matches!(b, 0 | b'\r' | b'\n')) {
        Some(i) => Err(format!(
            "contains {} at byte {i}; Envoy rejects NUL, CR and LF in header values",
            describe(bytes[i])
        )),
        None => Ok(()),
    }
}

/// Checks the value of a header Envoy adds (`response_headers_to_add`): a header value whose
/// every `%` is doubled. Envoy reads `%NAME%` as a substitution command and rejects a lone `%`
/// and unknown commands; commands are not supported here, so `%` must be written `%%`.
pub fn added_header_value(value: &str) -> Result<(), String> {
    header_value(value)?;
    let bytes = value.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            if bytes.get(i + 1) != Some(&b'%') {
                return Err(format!(
                    "has a single `%` at byte {i}: Envoy reads `%...%` in added headers as a substitution command (and rejects `100%`); write `%%` for a literal `%`"
                ));
            }
            i += 2;
        } else {
            i += 1;
        }
    }
    Ok(())
}

/// Checks a query parameter matcher's name.
pub fn query_parameter_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        Err("must not be empty".into())
    } else if name.len() > MAX_QUERY_NAME_BYTES {
        Err(format!(
            "is {} bytes long; Envoy accepts query parameter names of at most {MAX_QUERY_NAME_BYTES} bytes",
            name.len()
        ))
    } else {
        Ok(())
    }
}

/// Checks a `google_re2` regex as Envoy compiles it: RE2 syntax (no backreferences or
/// look-around), counted repetitions up to 1000, and a program within Envoy's size limit.
///
/// The program size is not computed exactly (that needs RE2 itself); [`program_size_lower_bound`]
/// never exceeds it, so a regex refused here is refused by Envoy, while a few regexes just under
/// the limit may still pass here and fail in Envoy.
pub fn re2(regex: &str) -> Result<(), String> {
    let hir = regex_syntax::ParserBuilder::new()
        .nest_limit(100)
        .build()
        .parse(regex)
        .map_err(|e| {
            format!(
                "not a valid RE2 regex: {}",
                e.to_string().lines().last().unwrap_or("")
            )
        })?;
    if let Some(n) = largest_repeat(&hir, 1) {
        return Err(format!(
            "repeats {n} times (counting nested repetitions together); RE2 allows at most {RE2_MAX_REPEAT}"
        ));
    }
    let size = program_size_lower_bound_of_regex(&hir);
    if size > ENVOY_MAX_PROGRAM_SIZE {
        return Err(format!(
            "compiles to an RE2 program of at least {size} instructions; Envoy rejects regexes above {ENVOY_MAX_PROGRAM_SIZE} (re2.max_program_size.error_level)"
        ));
    }
    Ok(())
}

/// The first counted repetition (times the repetitions around it) above RE2's limit.
fn largest_repeat(h: &Hir, outer: u64) -> Option<u64> {
    match h.kind() {
        HirKind::Repetition(r) => {
            let count = u64::from(r.max.unwrap_or(r.min).max(r.min));
            let inner = outer.saturating_mul(count.max(1));
            if count > u64::from(RE2_MAX_REPEAT) || inner > u64::from(RE2_MAX_REPEAT) {
                return Some(inner.max(count));
            }
            largest_repeat(&r.sub, inner)
        }
        HirKind::Capture(c) => largest_repeat(&c.sub, outer),
        HirKind::Concat(hs) | HirKind::Alternation(hs) => {
            hs.iter().find_map(|h| largest_repeat(h, outer))
        }
        _ => None,
    }
}

/// A lower bound on the size of the RE2 program Envoy measures for a whole regex.
///
/// Besides the regex itself RE2 has a fail and a match instruction and, unless the regex starts
/// with `^` / `\A`, an unanchored `.*?` loop (two more): Envoy reports `a{96}` as 100 and
/// `a{97}` as 101, `^a{200}` as 202. After a leading `^` RE2 strips a literal prefix and matches
/// it outside the program (`^` and 200 literal bytes stay under 100), so leading literals and
/// classes after `^` are not counted.
pub fn program_size_lower_bound_of_regex(h: &Hir) -> u64 {
    use regex_syntax::hir::Look;
    let is_start = |h: &Hir| matches!(h.kind(), HirKind::Look(Look::Start));
    let rest: &[Hir] = match h.kind() {
        HirKind::Concat(hs) if hs.first().is_some_and(is_start) => &hs[1..],
        _ if is_start(h) => &[],
        _ => return program_size_lower_bound(h).saturating_add(4),
    };
    rest.iter()
        .skip_while(|h| matches!(h.kind(), HirKind::Literal(_) | HirKind::Class(_)))
        .map(program_size_lower_bound)
        .fold(2, u64::saturating_add)
}

/// A lower bound on the instructions RE2 compiles `h` into (without the fail and match
/// instructions): one per literal byte and per class, the longest branch of an alternation, and
/// each counted repetition expanded to its largest count.
pub fn program_size_lower_bound(h: &Hir) -> u64 {
    match h.kind() {
        HirKind::Empty | HirKind::Look(_) => 0,
        HirKind::Literal(l) => l.0.len() as u64,
        HirKind::Class(_) => 1,
        HirKind::Repetition(r) => {
            let times = u64::from(r.max.unwrap_or(r.min).max(r.min).max(1));
            program_size_lower_bound(&r.sub).saturating_mul(times)
        }
        HirKind::Capture(c) => program_size_lower_bound(&c.sub),
        HirKind::Concat(hs) => hs
            .iter()
            .map(program_size_lower_bound)
            .fold(0, u64::saturating_add),
        HirKind::Alternation(hs) => hs.iter().map(program_size_lower_bound).max().unwrap_or(0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_names() {
        for ok in [
            "x-user",
            "X-User",
            ":method",
            ":path",
            "a.b",
            "x_y",
            "~!#$%&'*+-.^_`|",
        ] {
            assert_eq!(header_name(ok, HeaderUse::Match), Ok(()), "{ok}");
        }
        for ok in ["x-limited", "Retry-After"] {
            assert_eq!(header_name(ok, HeaderUse::Add), Ok(()), "{ok}");
        }
        let err = |n: &str, u| header_name(n, u).unwrap_err();
        assert!(err("", HeaderUse::Match).contains("empty"));
        assert!(err("x\ry", HeaderUse::Match).contains("CR at byte 1; Envoy rejects"));
        assert!(err("x\ny", HeaderUse::Add).contains("LF at byte 1"));
        assert!(err("x\0y", HeaderUse::Match).contains("NUL at byte 1"));
        assert!(err("x y", HeaderUse::Match).contains("a space at byte 1"));
        assert!(err("a:b", HeaderUse::Add).contains("':' at byte 1"));
        assert!(err("é", HeaderUse::Match).contains("byte 0xc3 at byte 0"));
        assert!(err(":x y", HeaderUse::Match).contains("at byte 2"));
        assert!(err(":", HeaderUse::Match).contains("alone"));
        assert!(err(":status", HeaderUse::Add).contains("pseudo-header"));
        assert!(err("Host", HeaderUse::Add).contains("host header"));
        assert_eq!(header_name("host", HeaderUse::Match), Ok(()));
        let long = "x".repeat(MAX_HEADER_BYTES + 1);
        assert!(err(&long, HeaderUse::Match).contains("16385 bytes"));
        assert_eq!(
            header_name(&long[1..], HeaderUse::Add),
            Ok(()),
            "16384 bytes is the limit"
        );
    }

    #[test]
    fn header_values() {
        assert_eq!(header_value(""), Ok(()));
        assert_eq!(header_value("a\tb é \x7f"), Ok(()), "Envoy accepts these");
        assert!(header_value("a\r\nb").unwrap_err().contains("CR at byte 1"));
        assert!(header_value("a\nb").unwrap_err().contains("LF"));
        assert!(header_value("\0").unwrap_err().contains("NUL at byte 0"));
        // Bytes, not characters: 8 193 two-byte characters are over the limit.
        assert_eq!(header_value(&"é".repeat(8192)), Ok(()));
        assert!(
            header_value(&"é".repeat(8193))
                .unwrap_err()
                .contains("16386 bytes")
        );
        assert_eq!(added_header_value("100%% of 5"), Ok(()));
        assert!(
            added_header_value("100%")
                .unwrap_err()
                .contains("single `%` at byte 3")
        );
        assert!(added_header_value("%START_TIME%").is_err());
        assert!(added_header_value("%%%").is_err());
        assert!(added_header_value("a\rb").unwrap_err().contains("CR"));
    }

    #[test]
    fn query_names() {
        assert_eq!(query_parameter_name(&"q".repeat(1024)), Ok(()));
        assert!(
            query_parameter_name(&"q".repeat(1025))
                .unwrap_err()
                .contains("1025 bytes")
        );
        assert!(query_parameter_name("").is_err());
    }

    #[test]
    fn regexes() {
        for ok in [
            "^/api/v[0-9]+$",
            "[a-z]{30}",
            "(a|b|c|d){20}",
            "a{96}",
            "[a-z]{96}",
            &format!("^{}", "b".repeat(200)),
            &format!("(?i)^{}", "abc".repeat(40)),
            "^",
            "x",
            "(?i)user-[0-9]{1,3}",
            "\\p{Greek}",
        ] {
            assert_eq!(re2(ok), Ok(()), "{ok}");
        }
        assert!(
            re2("(a)\\1")
                .unwrap_err()
                .starts_with("not a valid RE2 regex")
        );
        assert!(
            re2("a(?=b)")
                .unwrap_err()
                .starts_with("not a valid RE2 regex")
        );
        assert!(re2("a{1001}").unwrap_err().contains("repeats 1001 times"));
        assert!(
            re2("(a{0,40}){0,30}")
                .unwrap_err()
                .contains("repeats 1200 times")
        );
        // Envoy: "RE2 program size of 104 > max program size of 100", 101 and 202.
        assert!(re2("a{100}").unwrap_err().contains("at least 104 instr"));
        assert!(re2("a{97}").unwrap_err().contains("at least 101 instr"));
        assert!(re2("^a{200}").unwrap_err().contains("at least 202 instr"));
        assert!(re2("(?m)^a{97}").is_err());
        assert!(re2(&"ab".repeat(60)).is_err());
        assert!(re2(&"(".repeat(200)).is_err(), "nesting is bounded");
    }

    #[test]
    fn program_size_bound_is_below_re2s_counts() {
        // RE2 program sizes Envoy 1.40.0 and 1.36.2 printed, against the bounds (the first
        // four without the fail, match and `.*?` instructions).
        let bound = |r: &str| program_size_lower_bound(&regex_syntax::parse(r).unwrap());
        assert_eq!(bound("a{100}"), 100); // RE2: 104
        assert_eq!(bound("a{1000}"), 1000); // RE2: 1004
        assert_eq!(bound("(abc|d)x?"), 4);
        assert_eq!(bound("[a-z]+"), 1);
        let whole = |r: &str| program_size_lower_bound_of_regex(&regex_syntax::parse(r).unwrap());
        assert_eq!(whole("a{96}"), 100); // RE2: 100
        assert_eq!(whole("x(a){47}"), 52); // RE2: 146
        assert_eq!(whole("(abc|d){32}"), 100); // RE2: 196
        assert_eq!(whole("^a{200}"), 202); // RE2: 202
        assert_eq!(whole("^(a|b){200}"), 202); // RE2: 602
        assert_eq!(whole("(?m)^a{97}"), 101); // RE2: 102
    }
}
