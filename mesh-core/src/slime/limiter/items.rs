//! What planning produces and the later stages read: a limiter with its sets and their evaluated
//! descriptors ([`Item`]s), each with its route targets, plus the per-descriptor facts every
//! stage shares (which kinds of matchers it uses, its local descriptor entries).

use std::collections::BTreeMap;
use std::time::Duration;

use mesh_envoy::istio::PatchContext;
use mesh_envoy::local_ratelimit::DescriptorEntry;
use serde_json::Value;

use super::model::{Direction, MatchSource, Matcher, SmartLimiter, Target};
use crate::prototext::Warped;

/// One SmartLimiter, decoded and planned.
#[derive(Debug)]
pub(crate) struct Limiter {
    pub(crate) name: String,
    pub(crate) namespace: String,
    /// The input document (kept only when the status is rendered).
    pub(crate) doc: Value,
    pub(crate) sl: SmartLimiter,
    pub(crate) sets: Vec<SetPlan>,
    pub(crate) warnings: Vec<String>,
}

/// One set with descriptors that hold: one EnvoyFilter.
#[derive(Debug)]
pub(crate) struct SetPlan {
    pub(crate) name: String,
    pub(crate) selector: BTreeMap<String, String>,
    pub(crate) items: Vec<Item>,
}

/// One true descriptor (one per IP for source-IP matchers), ready to translate.
#[derive(Debug, Clone)]
pub(crate) struct Item {
    pub(crate) warped: Warped,
    /// `Service[<name>.<ns>]-Id[<id>]`.
    pub(crate) value: String,
    /// `RequestHeader[<name>.<ns>]-Id[<id>]` (the key of a per-header-value bucket).
    pub(crate) key: String,
    /// Where in the SmartLimiter it came from (`spec.sets.<set>.descriptor[<i>]`).
    pub(crate) path: String,
    pub(crate) global: bool,
    pub(crate) custom: Option<(String, String)>,
    pub(crate) routes: Vec<RouteTarget>,
    pub(crate) fill: Duration,
    pub(crate) quota: u32,
}

/// A route (or, with an empty `route`, a virtual host) a descriptor applies to.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct RouteTarget {
    pub(crate) context: PatchContext,
    pub(crate) vhost: String,
    /// Empty: a vhost-level (VIRTUAL_HOST) target.
    pub(crate) route: String,
}

/// Slime's `generateRouteConfigs`.
pub(crate) fn route_targets(target: &Target, gateway: bool) -> Vec<RouteTarget> {
    if target.direction == Direction::Outbound {
        let context = if gateway {
            PatchContext::Gateway
        } else {
            PatchContext::SidecarOutbound
        };
        let with_port = |v: &str| {
            if target.port != 0 {
                format!("{v}:{}", target.port)
            } else {
                v.to_string()
            }
        };
        if !target.route.is_empty() {
            return target
                .route
                .iter()
                .filter_map(|r| r.split_once('/'))
                .map(|(vhost, route)| RouteTarget {
                    context,
                    vhost: with_port(vhost),
                    route: route.to_string(),
                })
                .collect();
        }
        return target
            .host
            .iter()
            .map(|h| RouteTarget {
                context,
                vhost: with_port(h),
                route: String::new(),
            })
            .collect();
    }
    vec![RouteTarget {
        context: PatchContext::SidecarInbound,
        vhost: if target.port == 0 {
            String::new()
        } else {
            format!("inbound|http|{}", target.port)
        },
        route: "default".into(),
    }]
}

/// A matcher's effective source (`useQueryMatch` is the deprecated spelling of QueryMatch).
pub(crate) fn source_of(m: &Matcher) -> MatchSource {
    if m.use_query_match && m.match_source == MatchSource::HeadMatch {
        MatchSource::QueryMatch
    } else {
        m.match_source
    }
}

/// Which kinds of matchers a descriptor uses.
#[derive(Debug, Default)]
pub(crate) struct Kinds<'a> {
    pub(crate) query: bool,
    pub(crate) header: bool,
    pub(crate) body: bool,
    pub(crate) source_ip: Option<&'a str>,
    pub(crate) separate: Option<&'a str>,
}

pub(crate) fn kinds(w: &Warped) -> Kinds<'_> {
    let mut k = Kinds::default();
    for m in &w.matches {
        match source_of(m) {
            MatchSource::SourceIpMatch => k.source_ip = Some(&m.exact_match),
            MatchSource::JsonBodyMatch => k.body = true,
            MatchSource::QueryMatch => k.query = true,
            MatchSource::HeadMatch if m.present_match_separate => k.separate = Some(&m.name),
            MatchSource::HeadMatch => k.header = true,
        }
    }
    k
}

/// Slime's `generateLocalRateLimitDescriptorEntries`.
pub(crate) fn local_entries(it: &Item) -> Vec<DescriptorEntry> {
    let e = |k: &str, v: &str| DescriptorEntry {
        key: k.into(),
        value: v.into(),
    };
    if let Some((k, v)) = &it.custom {
        return vec![e(k, v)];
    }
    if it.warped.matches.is_empty() {
        return vec![e("generic_key", &it.value)];
    }
    let u = kinds(&it.warped);
    let mut out = Vec::new();
    if u.query {
        out.push(e("query_match", &it.value));
    }
    if u.header || u.separate.is_some() {
        out.push(e("header_match", &it.value));
    }
    if let Some(ip) = u.source_ip {
        out.push(e("remote_address", ip));
    }
    if u.body {
        out.push(e("body_match", &it.value));
    }
    out
}
