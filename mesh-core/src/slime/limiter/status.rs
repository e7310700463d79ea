//! The SmartLimiter `status` Slime writes (jsonpb: lowerCamel names, enum names as strings,
//! default values omitted), as typed structs serialized onto the input document.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use super::items::Limiter;
use super::model::{Header, MatchSource, Matcher, Target};
use crate::prototext::Warped;

/// `status`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Status<'a> {
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    metric_status: &'a BTreeMap<String, String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    ratelimit_status: BTreeMap<&'a str, Descriptors<'a>>,
}

/// `SmartLimitDescriptors` of one set.
#[derive(Debug, Serialize)]
struct Descriptors<'a> {
    descriptor: Vec<WarpedStatus<'a>>,
}

/// A descriptor whose condition held, with its evaluated quota.
#[derive(Debug, Serialize)]
struct WarpedStatus<'a> {
    action: ActionStatus<'a>,
    #[serde(rename = "match", skip_serializing_if = "Vec::is_empty")]
    matches: Vec<MatcherStatus<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    target: Option<&'a Target>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct ActionStatus<'a> {
    quota: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    fill_interval: Option<FillIntervalStatus>,
    #[serde(skip_serializing_if = "str::is_empty")]
    strategy: &'a str,
    #[serde(skip_serializing_if = "<[Header]>::is_empty")]
    headers_to_add: &'a [Header],
}

#[derive(Debug, Serialize)]
struct FillIntervalStatus {
    #[serde(skip_serializing_if = "is_zero")]
    seconds: i32,
    #[serde(skip_serializing_if = "is_zero")]
    nanos: i32,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct MatcherStatus<'a> {
    #[serde(skip_serializing_if = "str::is_empty")]
    name: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    regex_match: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    exact_match: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    prefix_match: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    suffix_match: &'a str,
    #[serde(skip_serializing_if = "is_false")]
    present_match: bool,
    #[serde(skip_serializing_if = "is_false")]
    invert_match: bool,
    #[serde(skip_serializing_if = "is_false")]
    is_exact_match_empty: bool,
    #[serde(skip_serializing_if = "is_false")]
    present_match_separate: bool,
    #[serde(skip_serializing_if = "is_false")]
    use_query_match: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    match_source: Option<&'static str>,
}

fn is_zero(n: &i32) -> bool {
    *n == 0
}

fn is_false(b: &bool) -> bool {
    !*b
}

impl<'a> From<&'a Matcher> for MatcherStatus<'a> {
    fn from(m: &'a Matcher) -> Self {
        MatcherStatus {
            name: &m.name,
            regex_match: &m.regex_match,
            exact_match: &m.exact_match,
            prefix_match: &m.prefix_match,
            suffix_match: &m.suffix_match,
            present_match: m.present_match,
            invert_match: m.invert_match,
            is_exact_match_empty: m.is_exact_match_empty,
            present_match_separate: m.present_match_separate,
            use_query_match: m.use_query_match,
            match_source: (m.match_source != MatchSource::HeadMatch).then(|| m.match_source.name()),
        }
    }
}

impl<'a> From<&'a Warped> for WarpedStatus<'a> {
    fn from(w: &'a Warped) -> Self {
        WarpedStatus {
            action: ActionStatus {
                quota: w.quota.to_string(),
                fill_interval: w.fill_interval.map(|fi| FillIntervalStatus {
                    seconds: fi.seconds,
                    nanos: fi.nanos,
                }),
                strategy: w.strategy.as_str(),
                headers_to_add: &w.headers_to_add,
            },
            matches: w.matches.iter().map(MatcherStatus::from).collect(),
            target: w.target.as_ref(),
        }
    }
}

/// The input SmartLimiter with the status Slime would write for this render.
pub(super) fn with_status(lim: &Limiter, material: &BTreeMap<String, String>) -> Value {
    let status = Status {
        metric_status: material,
        ratelimit_status: lim
            .sets
            .iter()
            .map(|set| {
                let descriptor = set.items.iter().map(|it| (&it.warped).into()).collect();
                (set.name.as_str(), Descriptors { descriptor })
            })
            .collect(),
    };
    let mut doc = lim.doc.clone();
    if let Some(o) = doc.as_object_mut() {
        o.insert(
            "status".into(),
            serde_json::to_value(&status).expect("the status serializes"),
        );
    }
    doc
}
