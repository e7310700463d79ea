//! Planning one SmartLimiter: the workload selector and subsets from the input objects, then
//! every descriptor validated, evaluated against the metric material and built into [`Item`]s
//! (one per source IP), and the checks across descriptors (Ids, local duplicates).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Duration;

use mesh_envoy::local_ratelimit::DescriptorEntry;

use super::checks::Checks;
use super::items::{Item, Limiter, RouteTarget, SetPlan, local_entries, route_targets};
use super::matchers::check_matchers;
use super::model::*;
use crate::calc;
use crate::error::Sink;
use crate::input::{self, Subset, World};
use crate::options::{ModuleConfig, RenderOptions};
use crate::prototext::{Warped, descriptor_key, descriptor_value};
use crate::rules::{http, k8s};

/// Validates a limiter and evaluates its descriptors into `lim.sets` (taking `lim.sl.spec`).
pub(super) fn plan(lim: &mut Limiter, world: &World, options: &RenderOptions, sink: &mut Sink) {
    let spec = std::mem::take(&mut lim.sl.spec);
    let module = &options.module;
    if !spec.rls.is_empty() {
        lim.warnings.push(
            "spec.rls: deprecated and unused (the RLS address is module configuration)".into(),
        );
    }
    check_labels(&spec.workload_selector, "spec.workloadSelector", "", sink);
    let any_outbound = spec.sets.values().any(|s| {
        s.descriptor.iter().any(|d| {
            d.target
                .as_ref()
                .or(spec.target.as_ref())
                .is_some_and(|t| t.direction == Direction::Outbound)
        })
    });
    let mesh_inbound = !spec.gateway && spec.workload_selector.is_empty() && !any_outbound;

    // Workload selector (Slime: spec.workloadSelector for gateways or when set; the Istio service
    // of spec.host; else the k8s Service of the same name).
    let selector: BTreeMap<String, String> = if spec.gateway || !spec.workload_selector.is_empty() {
        if spec.workload_selector.is_empty() {
            sink.err(
                "spec.workloadSelector",
                "required for gateway limiters (without it the EnvoyFilter would patch every gateway in the namespace)",
            );
        }
        spec.workload_selector.clone()
    } else if !spec.host.is_empty() {
        let host = input::fqdn(&spec.host, &lim.namespace);
        match world.selector_for_host(&host) {
            Some(s) if !s.is_empty() => {
                check_labels(
                    s,
                    "spec.host",
                    &format!("the workload selector of {host}"),
                    sink,
                );
                s.iter()
                    .map(|(k, v)| {
                        if v.is_empty() {
                            (k.clone(), "default".into())
                        } else {
                            (k.clone(), v.clone())
                        }
                    })
                    .collect()
            }
            _ => {
                sink.err(
                    "spec.host",
                    format!(
                        "no Service or ServiceEntry (with a workloadSelector) for host {host} in the input; add it or set spec.workloadSelector"
                    ),
                );
                BTreeMap::new()
            }
        }
    } else {
        match world.service(&lim.namespace, &lim.name) {
            Some(s) if !s.selector.is_empty() => {
                let what = format!("Service {}/{} spec.selector", s.namespace, s.name);
                check_labels(&s.selector, "", &what, sink);
                s.selector.clone()
            }
            Some(_) => {
                sink.err(
                    "",
                    format!(
                        "Service {}/{} has no selector; set spec.workloadSelector",
                        lim.namespace, lim.name
                    ),
                );
                BTreeMap::new()
            }
            None => {
                sink.err(
                    "",
                    format!(
                        "no spec.workloadSelector and no Service {}/{} in the input: add the Service (its selector picks the workloads) or set spec.workloadSelector",
                        lim.namespace, lim.name
                    ),
                );
                BTreeMap::new()
            }
        }
    };

    // Subsets from DestinationRules, for inbound mesh limiters only.
    let host = if spec.host.is_empty() {
        input::fqdn(&lim.name, &lim.namespace)
    } else {
        input::fqdn(&spec.host, &lim.namespace)
    };
    let subsets: Vec<&Subset> = world.subsets(&host);
    // By name, first wins: N sets cost N lookups rather than N scans of the subsets.
    let mut subset_index: HashMap<&str, &Subset> = HashMap::new();
    for s in &subsets {
        subset_index.entry(s.name.as_str()).or_insert(s);
    }
    let names_ok = k8s::subdomain(&lim.name).is_ok() && k8s::label(&lim.namespace).is_ok();
    if spec.sets.values().all(|s| s.descriptor.is_empty()) {
        lim.warnings
            .push("spec.sets: no descriptors, nothing to generate".into());
    }
    let mut set_names: Vec<&String> = spec.sets.keys().collect();
    set_names.sort_by_key(|n| (n.as_str() != BASE_SET, n.as_str()));
    let mut ids = Ids::default();
    for set_name in set_names {
        let set = &spec.sets[set_name];
        let set_path = format!("spec.sets.{set_name}");
        let mut set_selector = selector.clone();
        if set_name != BASE_SET {
            if !mesh_inbound {
                sink.err(
                    &set_path,
                    "subset sets only apply to inbound mesh limiters (no gateway, workloadSelector or outbound target); use _base",
                );
                continue;
            }
            match subset_index.get(set_name.as_str()) {
                Some(s) => {
                    check_labels(
                        &s.labels,
                        &set_path,
                        "its DestinationRule subset labels",
                        sink,
                    );
                    set_selector.extend(s.labels.clone());
                }
                None => {
                    sink.err(
                        &set_path,
                        format!(
                            "no DestinationRule subset {set_name:?} for host {host} in the input (subsets: {}); Slime would ignore this set",
                            known_subsets(&subsets)
                        ),
                    );
                    continue;
                }
            }
        }
        if names_ok {
            let generated = envoy_filter_name(&lim.name, &lim.namespace, set_name);
            if let Err(e) = k8s::subdomain(&generated) {
                let at = if set_name == BASE_SET {
                    "metadata.name"
                } else {
                    set_path.as_str()
                };
                sink.err(
                    at,
                    format!("the EnvoyFilter name {generated:?} generated from it {e}"),
                );
            }
        }
        let mut items = Vec::new();
        for (i, d) in set.descriptor.iter().enumerate() {
            let path = format!("{set_path}.descriptor[{i}]");
            descriptor(lim, &spec, d, &path, options, sink, &mut items);
        }
        for it in &items {
            ids.check(set_name, it, sink);
        }
        check_local_duplicates(&items, &set_path, sink);
        if items.iter().any(|i| i.global) && module.disable_global_rate_limit {
            sink.err(
                &set_path,
                "strategy global is used but the module config disables global rate limiting",
            );
        }
        if !items.is_empty() {
            lim.sets.push(SetPlan {
                name: set_name.clone(),
                selector: set_selector,
                items,
            });
        }
    }
    // The spec is not needed past planning (the sets hold what the emitters read): dropping it
    // here keeps a large render's memory to the planned sets.
    drop(spec);
}

/// `<name>.<namespace>[.<subset>].ratelimit`, Slime's EnvoyFilter name for a set.
pub(super) fn envoy_filter_name(name: &str, namespace: &str, set: &str) -> String {
    if set == BASE_SET {
        format!("{name}.{namespace}.ratelimit")
    } else {
        format!("{name}.{namespace}.{set}.ratelimit")
    }
}

/// Label keys and values as the API server (and Istio's workloadSelector validation) accepts
/// them. Labels of the object itself are reported each at its own path; labels taken from
/// another object (`source`) at `path`, naming that object.
pub(super) fn check_labels(
    labels: &BTreeMap<String, String>,
    path: &str,
    source: &str,
    sink: &mut Sink,
) {
    for (k, v) in labels {
        for e in [k8s::label_key(k), k8s::label_value(v)]
            .into_iter()
            .filter_map(Result::err)
        {
            if source.is_empty() {
                sink.err(format!("{path}[{k:?}]"), e);
            } else {
                sink.err(path, format!("{source}: {e}"));
            }
        }
    }
}

/// The subset names listed in an error, at most 20 of them (10 000 sets against 10 000
/// subsets would otherwise print 10⁸ names).
fn known_subsets(subsets: &[&Subset]) -> String {
    const SHOWN: usize = 20;
    if subsets.is_empty() {
        return "none".into();
    }
    let mut out: Vec<&str> = subsets
        .iter()
        .take(SHOWN)
        .map(|s| s.name.as_str())
        .collect();
    let more;
    if subsets.len() > SHOWN {
        more = format!("and {} more", subsets.len() - SHOWN);
        out.push(&more);
    }
    out.join(", ")
}

/// The descriptor Ids of one limiter seen so far, for [`Ids::check`].
#[derive(Default)]
struct Ids {
    /// Id value → (set, item) of its first descriptor.
    seen: BTreeMap<String, (String, Item)>,
}

impl Ids {
    /// Two descriptors with the same Id are a problem where they meet: in one set (one
    /// EnvoyFilter: Envoy and the RLS see one descriptor twice) or, for global limits, in the
    /// RLS config, which all sets share. Identical local descriptors in two subsets are fine:
    /// each subset has its own EnvoyFilter.
    fn check(&mut self, set: &str, it: &Item, sink: &mut Sink) {
        let Some((prev_set, prev)) = self.seen.get(&it.value) else {
            self.seen
                .insert(it.value.clone(), (set.to_string(), it.clone()));
            return;
        };
        let same_set = prev_set == set;
        let both_global = prev.global && it.global;
        if !(same_set || both_global) {
            return;
        }
        let message = if prev.warped != it.warped {
            format!(
                "Id collision: {} and this descriptor are different but get the same Id {} (Slime's Id is an Adler-32 of the descriptor's text, which collides); {}. Change either one in a way that keeps its meaning so that its Id differs: reorder its matchers, or for a local limit spell `strategy` differently (`single`, `average` and none are all local)",
                prev.path,
                it.value,
                if same_set {
                    "in one EnvoyFilter they would share one descriptor"
                } else {
                    "the RLS config, shared by every set, would hold it twice and be rejected"
                }
            )
        } else if same_set {
            format!(
                "identical to {} (both get the Id {}): Envoy/RLS would reject the duplicate; remove one",
                prev.path, it.value
            )
        } else {
            format!(
                "identical to the global descriptor {} (both get the Id {}): the RLS config, shared by every set, cannot hold the same descriptor twice (Slime's Id does not include the subset). Make them differ (e.g. a header matcher on a subset-specific header) or use a local limit, which each subset's EnvoyFilter keeps apart",
                prev.path, it.value
            )
        };
        sink.err(it.path.clone(), message);
    }
}

/// What validation established about a descriptor.
struct Checked<'d> {
    target: &'d Target,
    action: &'d SmartLimitAction,
    global: bool,
    fill: Duration,
    custom: Option<(String, String)>,
    /// A source-IP matcher: its index and the IPs (one item each).
    ips: Option<(usize, Vec<String>)>,
}

/// Validates, evaluates and builds one descriptor into `items`.
fn descriptor(
    lim: &mut Limiter,
    spec: &SmartLimiterSpec,
    d: &SmartLimitDescriptor,
    path: &str,
    options: &RenderOptions,
    sink: &mut Sink,
    items: &mut Vec<Item>,
) {
    let mut checks = Checks { sink, ok: true };
    let Some(checked) = validate(lim, spec, d, path, &options.module, &mut checks) else {
        return;
    };
    let evaluated = evaluate(lim, d, checked.action, path, &options.metrics, &mut checks);
    if let (true, Some(quota)) = (checks.ok, evaluated) {
        build(lim, spec, d, path, &checked, quota, items);
    }
}

/// Every rule a descriptor must follow on its own (the metric material aside). None when it has
/// no target or no action (nothing more can be checked).
fn validate<'d>(
    lim: &mut Limiter,
    spec: &'d SmartLimiterSpec,
    d: &'d SmartLimitDescriptor,
    path: &str,
    module: &ModuleConfig,
    checks: &mut Checks,
) -> Option<Checked<'d>> {
    let Some(target) = d.target.as_ref().or(spec.target.as_ref()) else {
        checks.fail(
            format!("{path}.target"),
            "required here or in spec.target (Slime ignores the whole SmartLimiter otherwise); `{}` means inbound on every port",
        );
        return None;
    };
    let tpath = if d.target.is_some() {
        format!("{path}.target")
    } else {
        "spec.target".to_string()
    };
    if d.action.is_none() {
        checks.fail(format!("{path}.action"), "required");
    }
    if d.condition.is_empty() {
        checks.fail(
            format!("{path}.condition"),
            "required (\"true\", \"false\" or an expression)",
        );
    }
    let outbound = target.direction == Direction::Outbound;
    if !(0..=65535).contains(&target.port) {
        checks.fail(
            format!("{tpath}.port"),
            format!("{} is not a port", target.port),
        );
    }
    if outbound {
        if target.route.is_empty() && target.host.is_empty() {
            checks.fail(
                tpath.clone(),
                "an outbound target needs route (\"vhost/route\") or host entries; Slime would generate nothing",
            );
        }
        for (i, r) in target.route.iter().enumerate() {
            if r.split('/').count() != 2 {
                checks.fail(
                    format!("{tpath}.route[{i}]"),
                    format!("{r:?} must be \"<vhost>/<routeName>\" (exactly one '/'); Slime would skip it"),
                );
            } else if r.ends_with('/') {
                checks.fail(
                    format!("{tpath}.route[{i}]"),
                    format!("{r:?} has an empty route name"),
                );
            }
        }
        if !target.route.is_empty() && !target.host.is_empty() {
            lim.warnings.push(format!(
                "{tpath}.host: ignored because route is set (Slime uses route entries first)"
            ));
        }
    } else {
        if spec.gateway {
            checks.fail(
                format!("{tpath}.direction"),
                "gateway limiters need direction: outbound (an inbound target would patch SIDECAR_INBOUND, which a gateway never uses)",
            );
        }
        if !target.route.is_empty() || !target.host.is_empty() {
            checks.fail(
                tpath.clone(),
                "route and host are only used for outbound targets; inbound limits apply to inbound|http|<port>",
            );
        }
    }
    if (spec.gateway || outbound) && d.condition != "true" && !d.condition.is_empty() {
        checks.fail(
            format!("{path}.condition"),
            "must be \"true\" for gateway and outbound limiters (Slime rule)",
        );
    }
    if (spec.gateway || outbound) && !module.disable_adaptive {
        checks.fail(
            path.to_string(),
            "gateway and outbound limiters need the module's disableAdaptive (Slime rule)",
        );
    }
    let action = d.action.as_ref()?;
    let global = action.strategy == Strategy::Global;
    let fill = fill_interval(action, global, path, checks);
    if global && !action.headers_to_add.is_empty() {
        lim.warnings.push(format!(
            "{path}.action.headers_to_add: ignored for global limits (Slime adds them only to local limits)"
        ));
    }
    for (i, h) in action.headers_to_add.iter().enumerate() {
        let hp = format!("{path}.action.headers_to_add[{i}]");
        if h.key.is_empty() {
            checks.fail(format!("{hp}.key"), "required");
        } else if !global && let Err(e) = http::header_name(&h.key, http::HeaderUse::Add) {
            checks.fail(format!("{hp}.key"), e);
        }
        if !global && let Err(e) = http::added_header_value(&h.value) {
            checks.fail(format!("{hp}.value"), e);
        }
    }
    let custom = match (d.custom_key.is_empty(), d.custom_value.is_empty()) {
        (true, true) => None,
        (false, false) => {
            if global {
                checks.fail(
                    format!("{path}.custom_key"),
                    "custom_key/custom_value only work with local limits",
                );
            }
            if !d.matches.is_empty() {
                lim.warnings.push(format!(
                    "{path}.match: ignored because custom_key/custom_value are set (the route action comes from your own EnvoyPlugin)"
                ));
            }
            Some((d.custom_key.clone(), d.custom_value.clone()))
        }
        _ => {
            checks.fail(
                format!("{path}.custom_key"),
                "custom_key and custom_value must be set together",
            );
            None
        }
    };
    let mut ips = None;
    if custom.is_none() {
        check_matchers(d, path, global, module, checks, &mut ips);
    }
    Some(Checked {
        target,
        action,
        global,
        fill,
        custom,
        ips,
    })
}

/// The fill interval: local limits need at least 50 ms, global ones exactly an RLS unit.
fn fill_interval(
    action: &SmartLimitAction,
    global: bool,
    path: &str,
    checks: &mut Checks,
) -> Duration {
    let fp = || format!("{path}.action.fill_interval");
    let Some(fi) = action.fill_interval else {
        checks.fail(
            fp(),
            "required ({seconds: N}); Envoy rejects a token bucket without one",
        );
        return Duration::ZERO;
    };
    if fi.seconds < 0 || !(0..=999_999_999).contains(&fi.nanos) {
        checks.fail(fp(), "seconds must be >= 0 and nanos within 0..=999999999");
        return Duration::ZERO;
    }
    let dur = Duration::new(fi.seconds as u64, fi.nanos as u32);
    if global {
        if !matches!(fi.seconds, 1 | 60 | 3600 | 86400) || fi.nanos != 0 {
            checks.fail(
                fp(),
                "global limits need exactly 1, 60, 3600 or 86400 seconds (SECOND, MINUTE, HOUR, DAY) and no nanos",
            );
        }
    } else if dur < Duration::from_millis(50) {
        checks.fail(
            fp(),
            "must be at least 50ms (Envoy's local_ratelimit fill timer minimum)",
        );
    }
    dur
}

/// The condition and quota against the metric material: the quota when the condition holds.
fn evaluate(
    lim: &mut Limiter,
    d: &SmartLimitDescriptor,
    action: &SmartLimitAction,
    path: &str,
    material: &BTreeMap<String, String>,
    checks: &mut Checks,
) -> Option<i64> {
    let cond = match calc::eval_condition(&d.condition, material) {
        Ok((b, w)) => {
            lim.warnings
                .extend(w.into_iter().map(|w| format!("{path}.condition: {w}")));
            b
        }
        Err(e) => {
            if !d.condition.is_empty() {
                checks.fail(format!("{path}.condition"), e.to_string());
            }
            false
        }
    };
    let quota = match calc::eval_quota(&action.quota, material) {
        Ok(e) => {
            lim.warnings.extend(
                e.warnings
                    .into_iter()
                    .map(|w| format!("{path}.action.quota: {w}")),
            );
            if action.quota.is_empty() {
                checks.fail(format!("{path}.action.quota"), "required");
                None
            } else if e.value <= 0 {
                checks.fail(
                    format!("{path}.action.quota"),
                    format!(
                        "`{}` evaluates to {} (from `{}`): a quota must be at least 1 (Envoy rejects max_tokens 0)",
                        action.quota, e.value, e.rendered
                    ),
                );
                None
            } else if e.value > i64::from(u32::MAX) {
                checks.fail(
                    format!("{path}.action.quota"),
                    format!(
                        "`{}` evaluates to {}, above 4294967295",
                        action.quota, e.value
                    ),
                );
                None
            } else {
                Some(e.value)
            }
        }
        Err(e) => {
            checks.fail(format!("{path}.action.quota"), e.to_string());
            None
        }
    };
    quota.filter(|_| cond)
}

/// The items of a valid descriptor whose condition holds: one, or one per source IP.
fn build(
    lim: &Limiter,
    spec: &SmartLimiterSpec,
    d: &SmartLimitDescriptor,
    path: &str,
    checked: &Checked,
    quota: i64,
    items: &mut Vec<Item>,
) {
    let routes = route_targets(checked.target, spec.gateway);
    let ip_list = match &checked.ips {
        Some((_, l)) => l.iter().map(|s| Some(s.clone())).collect(),
        None => vec![None],
    };
    for ip in ip_list {
        let mut matches = d.matches.clone();
        if let (Some(ip), Some((idx, _))) = (&ip, &checked.ips) {
            matches[*idx].exact_match = ip.clone();
        }
        let warped = Warped::from_action(checked.action, quota, matches, d.target.clone());
        let id = warped.id(&lim.namespace, &lim.name);
        items.push(Item {
            value: descriptor_value(&lim.name, &lim.namespace, id),
            key: descriptor_key(&lim.name, &lim.namespace, id),
            path: path.to_string(),
            warped,
            global: checked.global,
            custom: checked.custom.clone(),
            routes: routes.clone(),
            fill: checked.fill,
            quota: quota as u32,
        });
    }
}

/// Envoy rejects a LocalRateLimit with two descriptors with the same entries.
fn check_local_duplicates(items: &[Item], set_path: &str, sink: &mut Sink) {
    // One set of (route, entries): a list per route made N descriptors on one route cost N²
    // comparisons.
    let mut seen: HashSet<(&RouteTarget, Vec<DescriptorEntry>)> = HashSet::new();
    for it in items.iter().filter(|i| !i.global) {
        let entries = local_entries(it);
        for r in &it.routes {
            if !seen.insert((r, entries.clone())) {
                sink.err(
                    set_path.to_string(),
                    format!(
                        "two local descriptors on route {}/{} have the same entries {:?}; Envoy rejects duplicate descriptors",
                        r.vhost,
                        r.route,
                        entries.iter().map(|e| format!("{}={}", e.key, e.value)).collect::<Vec<_>>()
                    ),
                );
            }
        }
    }
}
