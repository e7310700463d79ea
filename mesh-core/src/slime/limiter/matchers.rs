//! Validation of a descriptor's matchers: one specifier each, the kinds each source supports,
//! RE2 syntax, source-IP lists (which expand into one descriptor per IP).

use std::collections::BTreeSet;

use super::checks::Checks;
use super::items::source_of;
use super::model::{MatchSource, SmartLimitDescriptor};
use crate::options::ModuleConfig;
use crate::rules::http;

/// The most matcher copies a SourceIpMatch list may expand into (IPs × matchers).
const MAX_EXPANDED_MATCHERS: usize = 100_000;

/// Checks every matcher of `d`; a source-IP matcher's index and IP list go to `ips`.
pub(super) fn check_matchers(
    d: &SmartLimitDescriptor,
    path: &str,
    global: bool,
    module: &ModuleConfig,
    checks: &mut Checks,
    ips: &mut Option<(usize, Vec<String>)>,
) {
    let n = d.matches.len();
    for (i, m) in d.matches.iter().enumerate() {
        let mp = format!("{path}.match[{i}]");
        let source = source_of(m);
        if m.use_query_match && m.match_source != MatchSource::HeadMatch {
            checks.fail(
                format!("{mp}.useQueryMatch"),
                "deprecated alias of matchSource: QueryMatch; do not combine it with matchSource",
            );
        }
        let specifiers: Vec<&str> = [
            (!m.regex_match.is_empty(), "regex_match"),
            (!m.exact_match.is_empty(), "exact_match"),
            (!m.prefix_match.is_empty(), "prefix_match"),
            (!m.suffix_match.is_empty(), "suffix_match"),
            (m.is_exact_match_empty, "is_exact_match_empty"),
            (m.present_match, "present_match"),
        ]
        .into_iter()
        .filter_map(|(on, name)| on.then_some(name))
        .collect();
        let one_of = |checks: &mut Checks, allowed: &[&str], what: &str| {
            let bad: Vec<&&str> = specifiers.iter().filter(|s| !allowed.contains(s)).collect();
            if !bad.is_empty() {
                checks.fail(
                    mp.clone(),
                    format!(
                        "{} not supported for {what} matchers (allowed: {})",
                        bad.iter()
                            .map(|s| format!("`{s}`"))
                            .collect::<Vec<_>>()
                            .join(", "),
                        allowed.join(", ")
                    ),
                );
            } else if specifiers.len() > 1 {
                checks.fail(
                    mp.clone(),
                    format!(
                        "set exactly one of {}; Slime would silently use the first",
                        specifiers.join(", ")
                    ),
                );
            } else if specifiers.is_empty() && !m.present_match_separate {
                checks.fail(
                    mp.clone(),
                    format!(
                        "needs one of {}; Slime would drop this matcher",
                        allowed.join(", ")
                    ),
                );
            }
        };
        if source != MatchSource::SourceIpMatch && m.name.is_empty() {
            checks.fail(format!("{mp}.name"), "required");
        } else if source == MatchSource::HeadMatch
            && let Err(e) = http::header_name(&m.name, http::HeaderUse::Match)
        {
            checks.fail(format!("{mp}.name"), e);
        } else if source == MatchSource::QueryMatch
            && let Err(e) = http::query_parameter_name(&m.name)
        {
            checks.fail(format!("{mp}.name"), e);
        }
        if !m.regex_match.is_empty()
            && let Err(e) = http::re2(&m.regex_match)
        {
            checks.fail(format!("{mp}.regex_match"), e);
        }
        if m.present_match_separate {
            if !global || source != MatchSource::HeadMatch {
                checks.fail(
                    format!("{mp}.present_match_separate"),
                    "only works for header matchers with strategy global",
                );
            }
            if n > 1 {
                checks.fail(
                    format!("{mp}.present_match_separate"),
                    "must be the only matcher of its descriptor (Slime ignores the others)",
                );
            }
            if !specifiers.is_empty() {
                checks.fail(
                    format!("{mp}.present_match_separate"),
                    "limits each header value separately; do not combine it with a match specifier",
                );
            }
        }
        if m.invert_match && source != MatchSource::HeadMatch {
            checks.fail(
                format!("{mp}.invert_match"),
                "only header matchers support invert_match; Slime would ignore it",
            );
        }
        match source {
            MatchSource::HeadMatch => one_of(
                checks,
                &[
                    "regex_match",
                    "exact_match",
                    "prefix_match",
                    "suffix_match",
                    "is_exact_match_empty",
                    "present_match",
                ],
                "header",
            ),
            MatchSource::QueryMatch => one_of(
                checks,
                &["regex_match", "exact_match", "prefix_match", "suffix_match"],
                "query",
            ),
            MatchSource::JsonBodyMatch => {
                one_of(
                    checks,
                    &["regex_match", "exact_match", "prefix_match", "suffix_match"],
                    "JSON body",
                );
                if !module.netease_envoy_fork {
                    checks.fail(
                        format!("{mp}.matchSource"),
                        "JsonBodyMatch needs the NetEase Envoy fork (body_value_match); upstream Envoy rejects it (enable the netease_envoy_fork option to emit it anyway)",
                    );
                }
                if global {
                    checks.fail(
                        format!("{mp}.matchSource"),
                        "JsonBodyMatch only works with local limits",
                    );
                }
            }
            MatchSource::SourceIpMatch => {
                one_of(checks, &["exact_match"], "source IP");
                if ips.is_some() {
                    checks.fail(mp.clone(), "only one SourceIpMatch matcher per descriptor");
                    continue;
                }
                let list: Vec<String> = m
                    .exact_match
                    .split(',')
                    .map(|s| s.trim().to_string())
                    .collect();
                let mut seen = BTreeSet::new();
                for ip in &list {
                    if ip.parse::<std::net::IpAddr>().is_err() {
                        checks.fail(
                            format!("{mp}.exact_match"),
                            format!("{ip:?} is not an IP address"),
                        );
                    } else if !seen.insert(ip.clone()) {
                        checks.fail(format!("{mp}.exact_match"), format!("{ip} is listed twice"));
                    }
                }
                // Each IP becomes a descriptor carrying every matcher: bound the copies, so that
                // a short input cannot expand into gigabytes of output.
                if list.len().saturating_mul(n) > MAX_EXPANDED_MATCHERS {
                    checks.fail(
                        format!("{mp}.exact_match"),
                        format!(
                            "{} IPs × {n} matchers would expand into {} matcher copies (one descriptor per IP); at most {MAX_EXPANDED_MATCHERS}: split the descriptor",
                            list.len(),
                            list.len().saturating_mul(n)
                        ),
                    );
                }
                *ips = Some((i, list));
            }
        }
    }
}
