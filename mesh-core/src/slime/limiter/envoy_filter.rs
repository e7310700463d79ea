//! One planned set → one `EnvoyFilter` (typed, from mesh-envoy), in Slime's patch order: route
//! `rate_limits` actions, the global HTTP filter, the per-route global placeholders, the local
//! HTTP filter, the per-route LocalRateLimit configs.

use std::collections::BTreeMap;
use std::time::Duration;

use mesh_envoy::core::{
    FractionalPercent, HeaderValue, HeaderValueOption, RuntimeFractionalPercent, TokenBucket,
};
use mesh_envoy::istio::{
    ApplyTo, ConfigPatch, EnvoyFilter, EnvoyFilterSpec, FilterChainMatch, FilterMatch, HttpFilter,
    ListenerMatch, Match, Operation, Patch, PatchContext, PatchValue, ProxyMatch, RouteAction,
    RouteConfigurationMatch, RouteMatch, RoutePatch, VirtualHostMatch, WorkloadSelector,
};
use mesh_envoy::k8s::{ObjectMeta, OwnerReference};
use mesh_envoy::local_ratelimit::{LocalRateLimit, LocalRateLimitDescriptor};
use mesh_envoy::ratelimit::{
    Action, BodyMatcher, Empty, HeaderMatcher, QueryParameterMatcher, RateLimitFilter,
    RateLimitServiceConfig, RegexMatcher, RouteRateLimit, StringMatcher,
};
use mesh_envoy::typed::{
    FilterConfig, LocalRateLimitBodyMatch, TypedConfig, TypedStruct, TypedValue,
};

use super::items::{Item, Limiter, RouteTarget, SetPlan, kinds, local_entries, source_of};
use super::model::{MatchSource, Matcher};
use crate::options::ModuleConfig;
use crate::prototext::Warped;

const LOCAL_RATE_LIMIT_FILTER: &str = "envoy.filters.http.local_ratelimit";
const RATE_LIMIT_FILTER: &str = "envoy.filters.http.ratelimit";
const STAT_PREFIX: &str = "http_local_rate_limiter";

/// The EnvoyFilter of one set.
pub(super) fn envoy_filter(lim: &Limiter, set: &SetPlan, module: &ModuleConfig) -> EnvoyFilter {
    let mut patches = Vec::new();
    // 1. route actions
    for (r, items) in group_routes(set.items.iter()) {
        let rate_limits: Vec<RouteRateLimit> = items
            .iter()
            .filter_map(|it| route_actions(it))
            .map(|actions| RouteRateLimit { actions })
            .collect();
        if rate_limits.is_empty() {
            continue;
        }
        let (apply_to, value) = if r.route.is_empty() {
            (
                ApplyTo::VirtualHost,
                RoutePatch {
                    rate_limits,
                    ..RoutePatch::default()
                },
            )
        } else {
            (
                ApplyTo::HttpRoute,
                RoutePatch {
                    route: Some(RouteAction { rate_limits }),
                    ..RoutePatch::default()
                },
            )
        };
        patches.push(merge(apply_to, route_match(&r, module), value));
    }
    let global: Vec<&Item> = set.items.iter().filter(|i| i.global).collect();
    let local: Vec<&Item> = set.items.iter().filter(|i| !i.global).collect();
    // 2. global HTTP filter, 3. placeholders
    if !global.is_empty() && !module.disable_global_rate_limit {
        if !module.disable_insert_global_rate_limit {
            for ctx in contexts(global.iter().copied()) {
                let filter = RateLimitFilter {
                    domain: module.domain.clone(),
                    rate_limit_service: RateLimitServiceConfig::envoy_grpc(module.rls_cluster()),
                };
                patches.push(insert_filter(
                    ctx,
                    module,
                    RATE_LIMIT_FILTER,
                    TypedStruct::rate_limit(filter),
                ));
            }
        }
        if module.enable_ratelimit_placeholder_in_route {
            for (r, _) in group_routes(global.iter().copied()) {
                if r.route.is_empty() {
                    continue;
                }
                // Slime writes `value: {}` in the Empty too; Envoy rejects that.
                let value = RoutePatch {
                    typed_per_filter_config: BTreeMap::from([(
                        RATE_LIMIT_FILTER.to_string(),
                        TypedConfig::FilterConfig(FilterConfig::optional_empty()),
                    )]),
                    ..RoutePatch::default()
                };
                patches.push(merge(ApplyTo::HttpRoute, route_match(&r, module), value));
            }
        }
    }
    // 4. local HTTP filter, 5. per-route LocalRateLimit
    if !local.is_empty() {
        if !module.disable_insert_local_rate_limit {
            for ctx in contexts(local.iter().copied()) {
                let config = LocalRateLimit {
                    stat_prefix: STAT_PREFIX.into(),
                    ..LocalRateLimit::default()
                };
                patches.push(insert_filter(
                    ctx,
                    module,
                    LOCAL_RATE_LIMIT_FILTER,
                    TypedStruct::local_rate_limit(config),
                ));
            }
        }
        for (r, items) in group_routes(local.iter().copied()) {
            let config = local_rate_limit(&items);
            let typed = if items.iter().any(|it| kinds(&it.warped).body) {
                TypedStruct::wrap(
                    mesh_envoy::typed::LOCAL_RATE_LIMIT_URL,
                    TypedValue::LocalRateLimitBodyMatch(Box::new(LocalRateLimitBodyMatch {
                        config,
                        body_match: true,
                    })),
                )
            } else {
                TypedStruct::local_rate_limit(config)
            };
            let value = RoutePatch {
                typed_per_filter_config: BTreeMap::from([(
                    LOCAL_RATE_LIMIT_FILTER.to_string(),
                    TypedConfig::TypedStruct(typed),
                )]),
                ..RoutePatch::default()
            };
            let apply_to = if r.route.is_empty() {
                ApplyTo::VirtualHost
            } else {
                ApplyTo::HttpRoute
            };
            patches.push(merge(apply_to, route_match(&r, module), value));
        }
    }
    let name = super::plan::envoy_filter_name(&lim.name, &lim.namespace, &set.name);
    let meta = &lim.sl.metadata;
    let metadata = ObjectMeta {
        name,
        namespace: Some(lim.namespace.clone()),
        labels: meta
            .labels
            .as_ref()
            .and_then(|l| l.get("istio.io/rev"))
            .map(|rev| BTreeMap::from([("istio.io/rev".to_string(), rev.clone())])),
        owner_references: meta.uid.as_ref().filter(|u| !u.is_empty()).map(|uid| {
            vec![OwnerReference {
                api_version: "microservice.slime.io/v1alpha2".into(),
                kind: "SmartLimiter".into(),
                name: lim.name.clone(),
                uid: uid.clone(),
                controller: Some(true),
                block_owner_deletion: Some(true),
            }]
        }),
        ..ObjectMeta::default()
    };
    let spec = EnvoyFilterSpec {
        workload_selector: (!set.selector.is_empty()).then(|| WorkloadSelector {
            labels: set.selector.clone(),
        }),
        config_patches: patches,
    };
    EnvoyFilter::new(metadata, spec)
}

fn merge(apply_to: ApplyTo, match_: Match, value: RoutePatch) -> ConfigPatch {
    ConfigPatch {
        apply_to,
        match_,
        patch: Patch {
            operation: Operation::Merge,
            value: PatchValue::Route(value),
        },
    }
}

/// An HTTP filter inserted before the router of every HttpConnectionManager in `context`.
fn insert_filter(
    context: PatchContext,
    module: &ModuleConfig,
    name: &str,
    config: TypedStruct,
) -> ConfigPatch {
    ConfigPatch {
        apply_to: ApplyTo::HttpFilter,
        match_: Match {
            context,
            proxy: proxy(module),
            listener: Some(ListenerMatch {
                filter_chain: Some(FilterChainMatch {
                    filter: Some(FilterMatch::http("envoy.filters.http.router")),
                    ..FilterChainMatch::default()
                }),
                ..ListenerMatch::default()
            }),
            route_configuration: None,
            cluster: None,
        },
        patch: Patch {
            operation: Operation::InsertBefore,
            value: PatchValue::HttpFilter(HttpFilter {
                name: name.into(),
                typed_config: TypedConfig::TypedStruct(config),
            }),
        },
    }
}

fn proxy(module: &ModuleConfig) -> Option<ProxyMatch> {
    module.proxy_version.as_ref().map(|pv| ProxyMatch {
        proxy_version: pv.clone(),
    })
}

fn route_match(r: &RouteTarget, module: &ModuleConfig) -> Match {
    let vhost = VirtualHostMatch {
        name: (!r.vhost.is_empty()).then(|| r.vhost.clone()),
        route: (!r.route.is_empty()).then(|| RouteMatch {
            name: r.route.clone(),
        }),
    };
    Match {
        context: r.context,
        proxy: proxy(module),
        listener: None,
        route_configuration: Some(RouteConfigurationMatch {
            vhost: Some(vhost),
            ..RouteConfigurationMatch::default()
        }),
        cluster: None,
    }
}

/// Groups route targets in first-seen order.
fn group_routes<'a>(items: impl Iterator<Item = &'a Item>) -> Vec<(RouteTarget, Vec<&'a Item>)> {
    let mut groups: Vec<(RouteTarget, Vec<&Item>)> = Vec::new();
    // Route → its group, so that many routes cost one lookup each rather than a scan.
    let mut index: std::collections::HashMap<&RouteTarget, usize> = Default::default();
    for it in items {
        for r in &it.routes {
            match index.get(r) {
                Some(&g) => groups[g].1.push(it),
                None => {
                    index.insert(r, groups.len());
                    groups.push((r.clone(), vec![it]));
                }
            }
        }
    }
    groups
}

fn contexts<'a>(items: impl Iterator<Item = &'a Item>) -> Vec<PatchContext> {
    let mut out = Vec::new();
    for it in items {
        for r in &it.routes {
            if !out.contains(&r.context) {
                out.push(r.context);
            }
        }
    }
    out
}

/// The Envoy matchers of a descriptor, by kind, in Slime's fixed order.
#[derive(Default)]
struct Uses {
    query: Vec<QueryParameterMatcher>,
    header: Vec<HeaderMatcher>,
    body: Vec<BodyMatcher>,
    source_ip: bool,
    separate: Option<String>,
}

fn uses(w: &Warped) -> Uses {
    let mut u = Uses::default();
    for m in &w.matches {
        match source_of(m) {
            MatchSource::SourceIpMatch => u.source_ip = true,
            MatchSource::JsonBodyMatch => u.body.push(BodyMatcher {
                name: m.name.clone(),
                string_match: body_string_match(m),
            }),
            MatchSource::QueryMatch => u.query.push(QueryParameterMatcher {
                name: m.name.clone(),
                string_match: string_match(m),
            }),
            MatchSource::HeadMatch if m.present_match_separate => u.separate = Some(m.name.clone()),
            MatchSource::HeadMatch => u.header.push(header_matcher(m)),
        }
    }
    u
}

fn string_match(m: &Matcher) -> StringMatcher {
    if !m.regex_match.is_empty() {
        StringMatcher::SafeRegex(RegexMatcher::re2(&m.regex_match))
    } else if !m.exact_match.is_empty() {
        StringMatcher::Exact(m.exact_match.clone())
    } else if !m.prefix_match.is_empty() {
        StringMatcher::Prefix(m.prefix_match.clone())
    } else {
        StringMatcher::Suffix(m.suffix_match.clone())
    }
}

/// Slime checks the body specifiers in another order (regex last).
fn body_string_match(m: &Matcher) -> StringMatcher {
    if !m.exact_match.is_empty() {
        StringMatcher::Exact(m.exact_match.clone())
    } else if !m.prefix_match.is_empty() {
        StringMatcher::Prefix(m.prefix_match.clone())
    } else if !m.suffix_match.is_empty() {
        StringMatcher::Suffix(m.suffix_match.clone())
    } else {
        StringMatcher::SafeRegex(RegexMatcher::re2(&m.regex_match))
    }
}

fn header_matcher(m: &Matcher) -> HeaderMatcher {
    let mut h = HeaderMatcher {
        name: m.name.clone(),
        invert_match: m.invert_match,
        ..HeaderMatcher::default()
    };
    if !m.regex_match.is_empty() {
        h.safe_regex_match = Some(RegexMatcher::re2(&m.regex_match));
    } else if !m.exact_match.is_empty() {
        h.exact_match = Some(m.exact_match.clone());
    } else if !m.prefix_match.is_empty() {
        h.prefix_match = Some(m.prefix_match.clone());
    } else if !m.suffix_match.is_empty() {
        h.suffix_match = Some(m.suffix_match.clone());
    } else if m.is_exact_match_empty {
        h.exact_match = Some(String::new());
    } else {
        h.present_match = Some(true);
    }
    h
}

/// Slime's `generateRouteRateLimitAction`: the route `rate_limits[].actions` of one descriptor.
fn route_actions(it: &Item) -> Option<Vec<Action>> {
    if it.custom.is_some() {
        return None;
    }
    let v = &it.value;
    let generic_key = || Action::GenericKey {
        descriptor_value: v.clone(),
    };
    if it.warped.matches.is_empty() {
        return Some(vec![generic_key()]);
    }
    let u = uses(&it.warped);
    if let Some(header_name) = u.separate {
        return Some(vec![
            generic_key(),
            Action::RequestHeaders {
                header_name,
                descriptor_key: it.key.clone(),
            },
        ]);
    }
    let mut actions = Vec::new();
    if !u.query.is_empty() {
        actions.push(Action::QueryParameterValueMatch {
            descriptor_value: v.clone(),
            query_parameters: u.query,
        });
    }
    if !u.header.is_empty() {
        actions.push(Action::HeaderValueMatch {
            descriptor_value: v.clone(),
            headers: u.header,
        });
    }
    if u.source_ip {
        if it.global {
            actions.push(generic_key());
        }
        actions.push(Action::RemoteAddress(Empty {}));
    }
    if !u.body.is_empty() {
        actions.push(Action::BodyValueMatch {
            descriptor_value: v.clone(),
            bodies: u.body,
        });
    }
    Some(actions)
}

/// The LocalRateLimit per-route config for the local descriptors of one route.
fn local_rate_limit(items: &[&Item]) -> LocalRateLimit {
    let full = |runtime_key: &str| RuntimeFractionalPercent {
        default_value: FractionalPercent {
            numerator: 100,
            denominator: None,
        },
        runtime_key: runtime_key.into(),
    };
    LocalRateLimit {
        stat_prefix: STAT_PREFIX.into(),
        token_bucket: Some(TokenBucket {
            max_tokens: 100_000,
            tokens_per_fill: Some(100_000),
            fill_interval: Duration::from_secs(1),
        }),
        filter_enabled: Some(full("local_rate_limit_enabled")),
        filter_enforced: Some(full("local_rate_limit_enforced")),
        response_headers_to_add: items
            .iter()
            .flat_map(|it| it.warped.headers_to_add.iter())
            .map(|h| HeaderValueOption {
                header: HeaderValue {
                    key: h.key.clone(),
                    value: h.value.clone(),
                },
                append: Some(true),
                append_action: None,
            })
            .collect(),
        descriptors: items
            .iter()
            .map(|it| LocalRateLimitDescriptor {
                entries: local_entries(it),
                token_bucket: TokenBucket {
                    max_tokens: it.quota,
                    tokens_per_fill: Some(it.quota),
                    fill_interval: it.fill,
                },
            })
            .collect(),
        ..LocalRateLimit::default()
    }
}
