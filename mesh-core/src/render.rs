//! SmartLimiter → EnvoyFilters (one per set), the RLS ConfigMap and the SmartLimiter status,
//! following Slime's generation (`envoy_filters.go`, `envoy_local_limit.go`,
//! `envoy_global_limit.go`) with its silent failures turned into errors.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;

use mesh_limiter::envoy_config::{
    DescriptorEntry, FractionalPercent, HeaderValue, HeaderValueOption, LocalRateLimit,
    LocalRateLimitDescriptor, RuntimeFractionalPercent, TokenBucket,
};
use serde_json::{Value, json};

use crate::calc;
use crate::decode;
use crate::error::{Problem, RenderErrors, Sink};
use crate::input::{self, DestinationRuleInfo, ServiceEntryInfo, ServiceInfo};
use crate::model::*;
use crate::options::{ModuleConfig, RenderOptions};
use crate::prototext::{Warped, descriptor_key, descriptor_value};
use crate::yaml;

/// The result of a successful render.
#[derive(Debug, Clone, PartialEq)]
pub struct Rendered {
    /// The generated objects as one multi-document YAML stream.
    pub yaml: String,
    /// The same objects as JSON values, in the same order.
    pub objects: Vec<Value>,
    /// Non-fatal notes (Slime quirks that change a result, ignored inputs), one line each.
    pub warnings: Vec<String>,
}

/// Renders a multi-document YAML/JSON text of SmartLimiters (plus the Services,
/// DestinationRules, ServiceEntries and RLS ConfigMap they refer to).
///
/// Output order: for each SmartLimiter by namespace and name, its EnvoyFilters (`_base` first,
/// then subsets by name) and, with `include_status`, the SmartLimiter with its status; then the
/// RLS ConfigMap when any limit is global.
pub fn render_documents(text: &str, options: &RenderOptions) -> Result<Rendered, RenderErrors> {
    let docs = yaml::parse_documents(text).map_err(|message| {
        RenderErrors(vec![Problem {
            object: String::new(),
            path: String::new(),
            message,
        }])
    })?;
    let (objects, warnings) = render_values(&docs, options)?;
    Ok(Rendered {
        yaml: yaml::emit_documents(&objects),
        objects,
        warnings,
    })
}

/// Runs every check of [`render_documents`] without emitting YAML; returns the warnings.
pub fn validate_documents(
    text: &str,
    options: &RenderOptions,
) -> Result<Vec<String>, RenderErrors> {
    let docs = yaml::parse_documents(text).map_err(|message| {
        RenderErrors(vec![Problem {
            object: String::new(),
            path: String::new(),
            message,
        }])
    })?;
    render_values(&docs, options).map(|(_, w)| w)
}

/// Renders already parsed documents into output objects and warnings.
pub fn render_values(
    docs: &[Value],
    options: &RenderOptions,
) -> Result<(Vec<Value>, Vec<String>), RenderErrors> {
    let mut problems = Vec::new();
    let mut warnings = Vec::new();
    let mut ctx = World::default();
    let mut limiter_docs: Vec<(String, &Value)> = Vec::new();
    let mut queue: Vec<(usize, &Value)> = docs.iter().enumerate().collect();
    let mut qi = 0;
    while qi < queue.len() {
        let (i, doc) = queue[qi];
        qi += 1;
        let id = decode::object_id(doc, i);
        let Some(kind) = doc.get("kind").and_then(Value::as_str) else {
            problems.push(Problem {
                object: id,
                path: "kind".into(),
                message: "required: every document must be a Kubernetes object".into(),
            });
            continue;
        };
        let api = doc.get("apiVersion").and_then(Value::as_str).unwrap_or("");
        match kind {
            "SmartLimiter" => limiter_docs.push((id, doc)),
            "Service" if api == "v1" => ctx.services.push(input::service(doc)),
            "DestinationRule" if api.starts_with("networking.istio.io/") => {
                ctx.destination_rules.push(input::destination_rule(doc, id))
            }
            "ServiceEntry" if api.starts_with("networking.istio.io/") => {
                ctx.service_entries.push(input::service_entry(doc))
            }
            "ConfigMap"
                if api == "v1"
                    && input::meta_str(doc, "name") == options.module.rls_config_map_name
                    && input::namespace_of(doc) == options.module.rls_config_map_namespace =>
            {
                ctx.rls_config_map = Some((id, doc.clone()))
            }
            "List" => {
                if let Some(items) = doc.get("items").and_then(Value::as_array) {
                    queue.extend(items.iter().map(|it| (i, it)));
                }
            }
            _ => warnings.push(format!(
                "{id}: {kind} ignored (not used by SmartLimiter rendering)"
            )),
        }
    }

    ctx.build_indexes();
    // Limiters are decoded and planned independently (two threads for large renders); the
    // duplicate check, which needs them all, runs after, in input order.
    let planned = crate::halves::in_halves(&limiter_docs, 1000, |docs| {
        docs.iter()
            .map(|(id, doc)| plan_limiter(id, doc, &ctx, options))
            .collect::<Vec<_>>()
    });
    let mut seen: std::collections::HashSet<(String, String)> = Default::default();
    let mut limiters: Vec<Limiter> = Vec::with_capacity(limiter_docs.len());
    for (p, (id, _)) in planned.into_iter().flatten().zip(&limiter_docs) {
        let mut local_problems = p.problems;
        if let Some(key) = p.key
            && !seen.insert(key)
        {
            let mut dup = Vec::new();
            Sink {
                object: id.clone(),
                out: &mut dup,
            }
            .err("", "the same SmartLimiter is given twice");
            local_problems.splice(p.duplicate_at..p.duplicate_at, dup);
        }
        warnings.extend(p.lim.warnings.iter().map(|w| format!("{id}: {w}")));
        problems.extend(local_problems);
        limiters.push(p.lim);
    }
    if !problems.is_empty() {
        return Err(RenderErrors(problems));
    }

    limiters.sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
    // Each limiter's objects depend on it alone: large renders build them on two threads.
    let build = |limiters: &[Limiter]| {
        let mut out = Vec::new();
        let mut global_descriptors = Vec::new();
        for lim in limiters {
            for set in &lim.sets {
                out.push(envoy_filter(lim, set, &options.module));
                for item in set.items.iter().filter(|it| it.global) {
                    global_descriptors.push(global_descriptor(item));
                }
            }
            if options.include_status {
                out.push(with_status(lim, &options.metrics));
            }
        }
        (out, global_descriptors)
    };
    let mut out = Vec::new();
    let mut global_descriptors = Vec::new();
    for (o, g) in crate::halves::in_halves(&limiters, 1000, build) {
        out.extend(o);
        global_descriptors.extend(g);
    }
    let configmap_needed = !global_descriptors.is_empty() || ctx.rls_config_map.is_some();
    if configmap_needed && !options.module.disable_global_rate_limit {
        let owned: BTreeSet<(String, String)> = limiters
            .iter()
            .map(|l| (l.name.clone(), l.namespace.clone()))
            .collect();
        match rls_config_map(
            &options.module,
            ctx.rls_config_map.as_ref(),
            &owned,
            global_descriptors,
        ) {
            Ok(cm) => out.push(cm),
            Err(p) => return Err(RenderErrors(vec![p])),
        }
    }
    Ok((out, warnings))
}

/// One limiter decoded and planned, with its problems.
struct Planned {
    lim: Limiter,
    problems: Vec<Problem>,
    /// `(namespace, name)` for the duplicate check (None without a name).
    key: Option<(String, String)>,
    /// Where in `problems` a duplicate report belongs (after the decode problems).
    duplicate_at: usize,
}

fn plan_limiter(id: &str, doc: &Value, ctx: &World, options: &RenderOptions) -> Planned {
    let mut local_problems = Vec::new();
    let mut sink = Sink {
        object: id.to_string(),
        out: &mut local_problems,
    };
    let sl = decode::smart_limiter(doc, options.allow_unknown_fields, &mut sink);
    let name = sl.metadata.name.clone().unwrap_or_default();
    if name.is_empty() {
        sink.err("metadata.name", "required");
    }
    let namespace = sl.metadata.namespace.clone().unwrap_or_default();
    let key = (!name.is_empty()).then(|| (namespace, name.clone()));
    let duplicate_at = local_problems.len();
    let mut lim = Limiter {
        namespace: sl
            .metadata
            .namespace
            .clone()
            .unwrap_or_else(|| "default".into()),
        name,
        doc: if options.include_status {
            doc.clone()
        } else {
            Value::Null
        },
        sl,
        sets: Vec::new(),
        warnings: Vec::new(),
    };
    // Plan even after decode problems, so that every problem is reported at once.
    let mut sink = Sink {
        object: id.to_string(),
        out: &mut local_problems,
    };
    plan(&mut lim, ctx, options, &mut sink);
    Planned {
        lim,
        problems: local_problems,
        key,
        duplicate_at,
    }
}

#[derive(Debug, Default)]
struct World {
    services: Vec<ServiceInfo>,
    destination_rules: Vec<DestinationRuleInfo>,
    service_entries: Vec<ServiceEntryInfo>,
    rls_config_map: Option<(String, Value)>,
    /// (namespace, name) → first Service with that name.
    service_index: HashMap<(String, String), usize>,
    /// FQDN → first Service with that host.
    service_by_host: HashMap<String, usize>,
    /// Host → first ServiceEntry (with a selector) listing it.
    entry_by_host: HashMap<String, usize>,
    /// Host → the DestinationRules for it, in input order.
    rules_by_host: HashMap<String, Vec<usize>>,
}

impl World {
    /// Indexes the inputs once, so that each limiter's lookups cost O(1) rather than a scan of
    /// every input (which made rendering quadratic in the number of objects). First match wins,
    /// as with a scan in input order.
    fn build_indexes(&mut self) {
        for (i, s) in self.services.iter().enumerate() {
            self.service_index
                .entry((s.namespace.clone(), s.name.clone()))
                .or_insert(i);
            self.service_by_host
                .entry(input::fqdn(&s.name, &s.namespace))
                .or_insert(i);
        }
        for (i, se) in self.service_entries.iter().enumerate() {
            if se.selector.is_empty() {
                continue;
            }
            for h in &se.hosts {
                self.entry_by_host.entry(h.clone()).or_insert(i);
            }
        }
        for (i, dr) in self.destination_rules.iter().enumerate() {
            self.rules_by_host
                .entry(dr.host.clone())
                .or_default()
                .push(i);
        }
    }
}

#[derive(Debug)]
struct Limiter {
    name: String,
    namespace: String,
    doc: Value,
    sl: SmartLimiter,
    sets: Vec<SetPlan>,
    warnings: Vec<String>,
}

#[derive(Debug)]
struct SetPlan {
    name: String,
    selector: BTreeMap<String, String>,
    items: Vec<Item>,
}

/// One true descriptor (one per IP for source-IP matchers), ready to translate.
#[derive(Debug, Clone)]
struct Item {
    warped: Warped,
    value: String,
    key: String,
    global: bool,
    custom: Option<(String, String)>,
    routes: Vec<RouteTarget>,
    fill: Duration,
    quota: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct RouteTarget {
    context: &'static str,
    vhost: String,
    /// Empty: a vhost-level (VIRTUAL_HOST) target.
    route: String,
}

impl RouteTarget {
    fn key(&self) -> String {
        format!("{}|{}/{}", self.context, self.vhost, self.route)
    }
}

const GATEWAY: &str = "GATEWAY";
const SIDECAR_INBOUND: &str = "SIDECAR_INBOUND";
const SIDECAR_OUTBOUND: &str = "SIDECAR_OUTBOUND";

/// Validates a limiter and evaluates its descriptors into `lim.sets`.
fn plan(lim: &mut Limiter, world: &World, options: &RenderOptions, sink: &mut Sink) {
    let spec = std::mem::take(&mut lim.sl.spec);
    let module = &options.module;
    if !spec.rls.is_empty() {
        lim.warnings.push(
            "spec.rls: deprecated and unused (the RLS address is module configuration)".into(),
        );
    }
    for k in spec.workload_selector.keys() {
        if k.is_empty() {
            sink.err("spec.workloadSelector", "label keys must not be empty");
        }
    }
    let any_outbound = spec.sets.values().any(|s| {
        s.descriptor.iter().any(|d| {
            d.target
                .as_ref()
                .or(spec.target.as_ref())
                .is_some_and(|t| t.direction == "outbound")
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
        let from_service = world
            .service_by_host
            .get(&host)
            .map(|&i| world.services[i].selector.clone());
        let from_entry = world
            .entry_by_host
            .get(&host)
            .map(|&i| world.service_entries[i].selector.clone());
        match from_service.or(from_entry) {
            Some(s) if !s.is_empty() => s
                .into_iter()
                .map(|(k, v)| {
                    if v.is_empty() {
                        (k, "default".into())
                    } else {
                        (k, v)
                    }
                })
                .collect(),
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
        match world
            .service_index
            .get(&(lim.namespace.clone(), lim.name.clone()))
            .map(|&i| &world.services[i])
        {
            Some(s) if !s.selector.is_empty() => s.selector.clone(),
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
    let subsets: Vec<&input::Subset> = world
        .rules_by_host
        .get(&host)
        .into_iter()
        .flatten()
        .flat_map(|&i| world.destination_rules[i].subsets.iter())
        .collect();
    if spec.sets.values().all(|s| s.descriptor.is_empty()) {
        lim.warnings
            .push("spec.sets: no descriptors, nothing to generate".into());
    }
    let mut set_names: Vec<&String> = spec.sets.keys().collect();
    set_names.sort_by_key(|n| (n.as_str() != BASE_SET, n.as_str()));
    let mut ids: BTreeMap<String, String> = BTreeMap::new();
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
            match subsets.iter().find(|s| &s.name == set_name) {
                Some(s) => set_selector.extend(s.labels.clone()),
                None => {
                    let known: Vec<&str> = subsets.iter().map(|s| s.name.as_str()).collect();
                    sink.err(
                        &set_path,
                        format!(
                            "no DestinationRule subset {set_name:?} for host {host} in the input (subsets: {}); Slime would ignore this set",
                            if known.is_empty() { "none".to_string() } else { known.join(", ") }
                        ),
                    );
                    continue;
                }
            }
        }
        let mut items = Vec::new();
        for (i, d) in set.descriptor.iter().enumerate() {
            let path = format!("{set_path}.descriptor[{i}]");
            descriptor(lim, &spec, d, &path, options, sink, &mut items);
        }
        for it in &items {
            if let Some(prev) = ids.insert(it.value.clone(), set_path.clone()) {
                sink.err(
                    &set_path,
                    format!(
                        "two descriptors get the same Id {} (in {prev} and here): they are identical, so Envoy/RLS would reject the duplicate; remove one",
                        it.value
                    ),
                );
            }
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
    lim.sl.spec = spec;
}

/// Validates and evaluates one descriptor.
fn descriptor(
    lim: &mut Limiter,
    spec: &SmartLimiterSpec,
    d: &SmartLimitDescriptor,
    path: &str,
    options: &RenderOptions,
    sink: &mut Sink,
    items: &mut Vec<Item>,
) {
    let before = sink.out.len();
    let module = &options.module;
    let target = d.target.as_ref().or(spec.target.as_ref());
    let Some(target) = target else {
        sink.err(
            format!("{path}.target"),
            "required here or in spec.target (Slime ignores the whole SmartLimiter otherwise); `{}` means inbound on every port",
        );
        return;
    };
    let tpath = if d.target.is_some() {
        format!("{path}.target")
    } else {
        "spec.target".to_string()
    };
    let default_action = SmartLimitAction::default();
    let action = d.action.as_ref().unwrap_or(&default_action);
    if d.action.is_none() {
        sink.err(format!("{path}.action"), "required");
    }
    if d.condition.is_empty() {
        sink.err(
            format!("{path}.condition"),
            "required (\"true\", \"false\" or an expression)",
        );
    }
    let global = action.strategy == "global";
    match action.strategy.as_str() {
        "" | "single" | "average" | "global" => {}
        other => sink.err(
            format!("{path}.action.strategy"),
            format!("{other:?} is not a strategy: use single, average (both local) or global"),
        ),
    }
    let outbound = target.direction == "outbound";
    match target.direction.as_str() {
        "" | "inbound" | "outbound" => {}
        other => sink.err(
            format!("{tpath}.direction"),
            format!("{other:?} is not a direction: use inbound or outbound"),
        ),
    }
    if !(0..=65535).contains(&target.port) {
        sink.err(
            format!("{tpath}.port"),
            format!("{} is not a port", target.port),
        );
    }
    if outbound {
        if target.route.is_empty() && target.host.is_empty() {
            sink.err(
                tpath.clone(),
                "an outbound target needs route (\"vhost/route\") or host entries; Slime would generate nothing",
            );
        }
        for (i, r) in target.route.iter().enumerate() {
            if r.split('/').count() != 2 {
                sink.err(
                    format!("{tpath}.route[{i}]"),
                    format!("{r:?} must be \"<vhost>/<routeName>\" (exactly one '/'); Slime would skip it"),
                );
            } else if r.ends_with('/') {
                sink.err(
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
            sink.err(
                format!("{tpath}.direction"),
                "gateway limiters need direction: outbound (an inbound target would patch SIDECAR_INBOUND, which a gateway never uses)",
            );
        }
        if !target.route.is_empty() || !target.host.is_empty() {
            sink.err(
                tpath.clone(),
                "route and host are only used for outbound targets; inbound limits apply to inbound|http|<port>",
            );
        }
    }
    if (spec.gateway || outbound) && d.condition != "true" && !d.condition.is_empty() {
        sink.err(
            format!("{path}.condition"),
            "must be \"true\" for gateway and outbound limiters (Slime rule)",
        );
    }
    if (spec.gateway || outbound) && !module.disable_adaptive {
        sink.err(
            path.to_string(),
            "gateway and outbound limiters need the module's disableAdaptive (Slime rule)",
        );
    }
    if d.action.is_none() {
        return;
    }
    // fill_interval
    let fill = match action.fill_interval {
        None => {
            sink.err(
                format!("{path}.action.fill_interval"),
                "required ({seconds: N}); Envoy rejects a token bucket without one",
            );
            Duration::ZERO
        }
        Some(fi) => {
            let fp = || format!("{path}.action.fill_interval");
            if fi.seconds < 0 || !(0..=999_999_999).contains(&fi.nanos) {
                sink.err(fp(), "seconds must be >= 0 and nanos within 0..=999999999");
                Duration::ZERO
            } else {
                let dur = Duration::new(fi.seconds as u64, fi.nanos as u32);
                if global {
                    if !matches!(fi.seconds, 1 | 60 | 3600 | 86400) || fi.nanos != 0 {
                        sink.err(
                            fp(),
                            "global limits need exactly 1, 60, 3600 or 86400 seconds (SECOND, MINUTE, HOUR, DAY) and no nanos",
                        );
                    }
                } else if dur < Duration::from_millis(50) {
                    sink.err(
                        fp(),
                        "must be at least 50ms (Envoy's local_ratelimit fill timer minimum)",
                    );
                }
                dur
            }
        }
    };
    if global && !action.headers_to_add.is_empty() {
        lim.warnings.push(format!(
            "{path}.action.headers_to_add: ignored for global limits (Slime adds them only to local limits)"
        ));
    }
    for (i, h) in action.headers_to_add.iter().enumerate() {
        if h.key.is_empty() {
            sink.err(format!("{path}.action.headers_to_add[{i}].key"), "required");
        }
    }
    // custom key/value
    let custom = match (d.custom_key.is_empty(), d.custom_value.is_empty()) {
        (true, true) => None,
        (false, false) => {
            if global {
                sink.err(
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
            sink.err(
                format!("{path}.custom_key"),
                "custom_key and custom_value must be set together",
            );
            None
        }
    };
    // matchers
    let mut ips: Option<(usize, Vec<String>)> = None;
    if custom.is_none() {
        check_matchers(d, path, global, module, sink, &mut ips);
    }
    // condition and quota
    let material = &options.metrics;
    let cond = match calc::eval_condition(&d.condition, material) {
        Ok((b, w)) => {
            lim.warnings
                .extend(w.into_iter().map(|w| format!("{path}.condition: {w}")));
            b
        }
        Err(e) => {
            if !d.condition.is_empty() {
                sink.err(format!("{path}.condition"), e.to_string());
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
                sink.err(format!("{path}.action.quota"), "required");
                None
            } else if e.value <= 0 {
                sink.err(
                    format!("{path}.action.quota"),
                    format!(
                        "`{}` evaluates to {} (from `{}`): a quota must be at least 1 (Envoy rejects max_tokens 0)",
                        action.quota, e.value, e.rendered
                    ),
                );
                None
            } else if e.value > i64::from(u32::MAX) {
                sink.err(
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
            sink.err(format!("{path}.action.quota"), e.to_string());
            None
        }
    };
    if sink.out.len() > before || !cond {
        return;
    }
    let Some(quota) = quota else { return };
    let routes = route_targets(target, spec.gateway);
    let ip_list = match &ips {
        Some((_, l)) => l.iter().map(|s| Some(s.clone())).collect(),
        None => vec![None],
    };
    for ip in ip_list {
        let mut matches = d.matches.clone();
        if let (Some(ip), Some((idx, _))) = (&ip, &ips) {
            matches[*idx].exact_match = ip.clone();
        }
        let warped = Warped::from_action(action, quota, matches, d.target.clone());
        let id = warped.id(&lim.namespace, &lim.name);
        items.push(Item {
            value: descriptor_value(&lim.name, &lim.namespace, id),
            key: descriptor_key(&lim.name, &lim.namespace, id),
            warped,
            global,
            custom: custom.clone(),
            routes: routes.clone(),
            fill,
            quota: quota as u32,
        });
    }
}

fn check_matchers(
    d: &SmartLimitDescriptor,
    path: &str,
    global: bool,
    module: &ModuleConfig,
    sink: &mut Sink,
    ips: &mut Option<(usize, Vec<String>)>,
) {
    let n = d.matches.len();
    for (i, m) in d.matches.iter().enumerate() {
        let mp = format!("{path}.match[{i}]");
        let source = if m.use_query_match && m.match_source == MatchSource::HeadMatch {
            MatchSource::QueryMatch
        } else {
            m.match_source
        };
        if m.use_query_match && m.match_source != MatchSource::HeadMatch {
            sink.err(
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
        let one_of = |sink: &mut Sink, allowed: &[&str], what: &str| {
            let bad: Vec<&&str> = specifiers.iter().filter(|s| !allowed.contains(s)).collect();
            if !bad.is_empty() {
                sink.err(
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
                sink.err(
                    mp.clone(),
                    format!(
                        "set exactly one of {}; Slime would silently use the first",
                        specifiers.join(", ")
                    ),
                );
            } else if specifiers.is_empty() && !m.present_match_separate {
                sink.err(
                    mp.clone(),
                    format!(
                        "needs one of {}; Slime would drop this matcher",
                        allowed.join(", ")
                    ),
                );
            }
        };
        if source != MatchSource::SourceIpMatch && m.name.is_empty() {
            sink.err(format!("{mp}.name"), "required");
        }
        if !m.regex_match.is_empty()
            && let Err(e) = regex_syntax::Parser::new().parse(&m.regex_match)
        {
            sink.err(
                format!("{mp}.regex_match"),
                format!(
                    "not a valid RE2 regex: {}",
                    e.to_string().lines().last().unwrap_or("")
                ),
            );
        }
        if m.present_match_separate {
            if !global || source != MatchSource::HeadMatch {
                sink.err(
                    format!("{mp}.present_match_separate"),
                    "only works for header matchers with strategy global",
                );
            }
            if n > 1 {
                sink.err(
                    format!("{mp}.present_match_separate"),
                    "must be the only matcher of its descriptor (Slime ignores the others)",
                );
            }
            if !specifiers.is_empty() {
                sink.err(
                    format!("{mp}.present_match_separate"),
                    "limits each header value separately; do not combine it with a match specifier",
                );
            }
        }
        if m.invert_match && source != MatchSource::HeadMatch {
            sink.err(
                format!("{mp}.invert_match"),
                "only header matchers support invert_match; Slime would ignore it",
            );
        }
        match source {
            MatchSource::HeadMatch => one_of(
                sink,
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
                sink,
                &["regex_match", "exact_match", "prefix_match", "suffix_match"],
                "query",
            ),
            MatchSource::JsonBodyMatch => {
                one_of(
                    sink,
                    &["regex_match", "exact_match", "prefix_match", "suffix_match"],
                    "JSON body",
                );
                if !module.netease_envoy_fork {
                    sink.err(
                        format!("{mp}.matchSource"),
                        "JsonBodyMatch needs the NetEase Envoy fork (body_value_match); upstream Envoy rejects it (enable the netease_envoy_fork option to emit it anyway)",
                    );
                }
                if global {
                    sink.err(
                        format!("{mp}.matchSource"),
                        "JsonBodyMatch only works with local limits",
                    );
                }
            }
            MatchSource::SourceIpMatch => {
                one_of(sink, &["exact_match"], "source IP");
                if ips.is_some() {
                    sink.err(mp.clone(), "only one SourceIpMatch matcher per descriptor");
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
                        sink.err(
                            format!("{mp}.exact_match"),
                            format!("{ip:?} is not an IP address"),
                        );
                    } else if !seen.insert(ip.clone()) {
                        sink.err(format!("{mp}.exact_match"), format!("{ip} is listed twice"));
                    }
                }
                *ips = Some((i, list));
            }
        }
    }
}

/// Envoy rejects a LocalRateLimit with two descriptors with the same entries.
fn check_local_duplicates(items: &[Item], set_path: &str, sink: &mut Sink) {
    let mut by_route: BTreeMap<String, Vec<Vec<DescriptorEntry>>> = BTreeMap::new();
    for it in items.iter().filter(|i| !i.global) {
        let entries = local_entries(it);
        for r in &it.routes {
            let seen = by_route.entry(r.key()).or_default();
            if seen.contains(&entries) {
                sink.err(
                    set_path.to_string(),
                    format!(
                        "two local descriptors on route {}/{} have the same entries {:?}; Envoy rejects duplicate descriptors",
                        r.vhost,
                        r.route,
                        entries.iter().map(|e| format!("{}={}", e.key, e.value)).collect::<Vec<_>>()
                    ),
                );
            } else {
                seen.push(entries.clone());
            }
        }
    }
}

/// Slime's `generateRouteConfigs`.
fn route_targets(target: &Target, gateway: bool) -> Vec<RouteTarget> {
    if target.direction == "outbound" {
        let context = if gateway { GATEWAY } else { SIDECAR_OUTBOUND };
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
        context: SIDECAR_INBOUND,
        vhost: if target.port == 0 {
            String::new()
        } else {
            format!("inbound|http|{}", target.port)
        },
        route: "default".into(),
    }]
}

/// Which kinds of matchers a descriptor uses, without building their Envoy form (see [`uses`]).
struct Kinds<'a> {
    query: bool,
    header: bool,
    body: bool,
    source_ip: Option<&'a str>,
    separate: Option<&'a str>,
}

/// A matcher's effective source (`useQueryMatch` is the deprecated spelling of QueryMatch).
fn source_of(m: &Matcher) -> MatchSource {
    if m.use_query_match && m.match_source == MatchSource::HeadMatch {
        MatchSource::QueryMatch
    } else {
        m.match_source
    }
}

fn kinds(w: &Warped) -> Kinds<'_> {
    let mut k = Kinds {
        query: false,
        header: false,
        body: false,
        source_ip: None,
        separate: None,
    };
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

/// The kinds of matchers a descriptor uses, in Slime's fixed order.
struct Uses {
    query: Vec<Value>,
    header: Vec<Value>,
    body: Vec<Value>,
    source_ip: Option<String>,
    separate: Option<String>,
}

fn uses(w: &Warped) -> Uses {
    let mut u = Uses {
        query: vec![],
        header: vec![],
        body: vec![],
        source_ip: None,
        separate: None,
    };
    for m in &w.matches {
        let source = source_of(m);
        let string_match = || {
            if !m.regex_match.is_empty() {
                json!({"safe_regex": {"google_re2": {}, "regex": m.regex_match}})
            } else if !m.exact_match.is_empty() {
                json!({"exact": m.exact_match})
            } else if !m.prefix_match.is_empty() {
                json!({"prefix": m.prefix_match})
            } else {
                json!({"suffix": m.suffix_match})
            }
        };
        match source {
            MatchSource::SourceIpMatch => u.source_ip = Some(m.exact_match.clone()),
            MatchSource::JsonBodyMatch => {
                let sm = if !m.exact_match.is_empty() {
                    json!({"exact": m.exact_match})
                } else if !m.prefix_match.is_empty() {
                    json!({"prefix": m.prefix_match})
                } else if !m.suffix_match.is_empty() {
                    json!({"suffix": m.suffix_match})
                } else {
                    json!({"safe_regex": {"google_re2": {}, "regex": m.regex_match}})
                };
                u.body.push(obj([
                    ("name", m.name.as_str().into()),
                    ("string_match", sm),
                ]));
            }
            MatchSource::QueryMatch => u.query.push(obj([
                ("name", m.name.as_str().into()),
                ("string_match", string_match()),
            ])),
            MatchSource::HeadMatch if m.present_match_separate => u.separate = Some(m.name.clone()),
            MatchSource::HeadMatch => {
                let mut h = serde_json::Map::new();
                h.insert("name".into(), json!(m.name));
                if m.invert_match {
                    h.insert("invert_match".into(), json!(true));
                }
                if !m.regex_match.is_empty() {
                    h.insert(
                        "safe_regex_match".into(),
                        json!({"google_re2": {}, "regex": m.regex_match}),
                    );
                } else if !m.exact_match.is_empty() {
                    h.insert("exact_match".into(), json!(m.exact_match));
                } else if !m.prefix_match.is_empty() {
                    h.insert("prefix_match".into(), json!(m.prefix_match));
                } else if !m.suffix_match.is_empty() {
                    h.insert("suffix_match".into(), json!(m.suffix_match));
                } else if m.is_exact_match_empty {
                    h.insert("exact_match".into(), json!(""));
                } else {
                    h.insert("present_match".into(), json!(true));
                }
                u.header.push(Value::Object(h));
            }
        }
    }
    u
}

/// Slime's `generateRouteRateLimitAction`: the route `rate_limits[].actions` of one descriptor.
fn route_actions(it: &Item) -> Option<Vec<Value>> {
    if it.custom.is_some() {
        return None;
    }
    let v = &it.value;
    let generic_key = || json!({"generic_key": {"descriptor_value": v}});
    if it.warped.matches.is_empty() {
        return Some(vec![generic_key()]);
    }
    let u = uses(&it.warped);
    if let Some(name) = u.separate {
        return Some(vec![
            generic_key(),
            json!({"request_headers": {"header_name": name, "descriptor_key": it.key}}),
        ]);
    }
    let with_value = |kind: &str, list: &str, entries: Vec<Value>| {
        obj([(
            kind,
            obj([
                ("descriptor_value", v.as_str().into()),
                (list, Value::Array(entries)),
            ]),
        )])
    };
    let mut actions = Vec::new();
    if !u.query.is_empty() {
        actions.push(with_value(
            "query_parameter_value_match",
            "query_parameters",
            u.query,
        ));
    }
    if !u.header.is_empty() {
        actions.push(with_value("header_value_match", "headers", u.header));
    }
    if u.source_ip.is_some() {
        if it.global {
            actions.push(generic_key());
        }
        actions.push(json!({"remote_address": {}}));
    }
    if !u.body.is_empty() {
        actions.push(with_value("body_value_match", "bodies", u.body));
    }
    Some(actions)
}

/// Slime's `generateLocalRateLimitDescriptorEntries`.
fn local_entries(it: &Item) -> Vec<DescriptorEntry> {
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

fn route_match(r: &RouteTarget, module: &ModuleConfig) -> Value {
    let mut vhost = serde_json::Map::new();
    if !r.vhost.is_empty() {
        vhost.insert("name".into(), r.vhost.as_str().into());
    }
    if !r.route.is_empty() {
        vhost.insert("route".into(), obj([("name", r.route.as_str().into())]));
    }
    let route_configuration = obj([("vhost", Value::Object(vhost))]);
    with_proxy(
        obj([
            ("context", r.context.into()),
            ("routeConfiguration", route_configuration),
        ]),
        module,
    )
}

fn filter_match(context: &str, module: &ModuleConfig) -> Value {
    let m = json!({
        "context": context,
        "listener": {"filterChain": {"filter": {
            "name": "envoy.filters.network.http_connection_manager",
            "subFilter": {"name": "envoy.filters.http.router"}
        }}}
    });
    with_proxy(m, module)
}

fn with_proxy(mut m: Value, module: &ModuleConfig) -> Value {
    if let Some(pv) = &module.proxy_version {
        m["proxy"] = obj([("proxyVersion", pv.as_str().into())]);
    }
    m
}

const TYPED_STRUCT: &str = "type.googleapis.com/udpa.type.v1.TypedStruct";
const LOCAL_RATE_LIMIT_URL: &str =
    "type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit";
const RATE_LIMIT_URL: &str =
    "type.googleapis.com/envoy.extensions.filters.http.ratelimit.v3.RateLimit";
const STAT_PREFIX: &str = "http_local_rate_limiter";

/// Groups route targets in first-seen order.
fn group_routes<'a>(items: impl Iterator<Item = &'a Item>) -> Vec<(RouteTarget, Vec<&'a Item>)> {
    let mut groups: Vec<(RouteTarget, Vec<&Item>)> = Vec::new();
    for it in items {
        for r in &it.routes {
            match groups.iter_mut().find(|(g, _)| g == r) {
                Some((_, v)) => v.push(it),
                None => groups.push((r.clone(), vec![it])),
            }
        }
    }
    groups
}

fn contexts<'a>(items: impl Iterator<Item = &'a Item>) -> Vec<&'static str> {
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

/// The LocalRateLimit per-route config for the local descriptors of one route.
fn local_rate_limit(items: &[&Item]) -> LocalRateLimit {
    let full = |n: u32| RuntimeFractionalPercent {
        default_value: FractionalPercent {
            numerator: n,
            denominator: None,
        },
        runtime_key: String::new(),
    };
    let mut enabled = full(100);
    enabled.runtime_key = "local_rate_limit_enabled".into();
    let mut enforced = full(100);
    enforced.runtime_key = "local_rate_limit_enforced".into();
    LocalRateLimit {
        stat_prefix: STAT_PREFIX.into(),
        token_bucket: Some(TokenBucket {
            max_tokens: 100_000,
            tokens_per_fill: Some(100_000),
            fill_interval: Duration::from_secs(1),
        }),
        filter_enabled: Some(enabled),
        filter_enforced: Some(enforced),
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

fn envoy_filter(lim: &Limiter, set: &SetPlan, module: &ModuleConfig) -> Value {
    let mut patches = Vec::new();
    // 1. route actions
    for (r, items) in group_routes(set.items.iter()) {
        let rate_limits: Vec<Value> = items
            .iter()
            .filter_map(|it| route_actions(it))
            .map(|actions| obj([("actions", Value::Array(actions))]))
            .collect();
        if rate_limits.is_empty() {
            continue;
        }
        let rate_limits = obj([("rate_limits", Value::Array(rate_limits))]);
        let (apply_to, value) = if r.route.is_empty() {
            ("VIRTUAL_HOST", rate_limits)
        } else {
            ("HTTP_ROUTE", obj([("route", rate_limits)]))
        };
        patches.push(patch(apply_to, route_match(&r, module), "MERGE", value));
    }
    let global: Vec<&Item> = set.items.iter().filter(|i| i.global).collect();
    let local: Vec<&Item> = set.items.iter().filter(|i| !i.global).collect();
    // 2. global HTTP filter, 3. placeholders
    if !global.is_empty() && !module.disable_global_rate_limit {
        if !module.disable_insert_global_rate_limit {
            for ctx in contexts(global.iter().copied()) {
                let value = json!({
                    "name": "envoy.filters.http.ratelimit",
                    "typed_config": {
                        "@type": TYPED_STRUCT,
                        "type_url": RATE_LIMIT_URL,
                        "value": {
                            "domain": module.domain,
                            "rate_limit_service": {
                                "grpcService": {"envoyGrpc": {"clusterName": module.rls_cluster()}},
                                "transportApiVersion": "V3"
                            }
                        }
                    }
                });
                patches.push(patch(
                    "HTTP_FILTER",
                    filter_match(ctx, module),
                    "INSERT_BEFORE",
                    value,
                ));
            }
        }
        if module.enable_ratelimit_placeholder_in_route {
            for (r, _) in group_routes(global.iter().copied()) {
                if r.route.is_empty() {
                    continue;
                }
                let value = json!({"typed_per_filter_config": {
                    "envoy.filters.http.ratelimit": {
                        "@type": "type.googleapis.com/envoy.config.route.v3.FilterConfig",
                        // Slime writes `value: {}` here too; Empty has no fields and Envoy rejects it.
                        "config": {"@type": "type.googleapis.com/google.protobuf.Empty"},
                        "is_optional": true
                    }
                }});
                patches.push(patch("HTTP_ROUTE", route_match(&r, module), "MERGE", value));
            }
        }
    }
    // 4. local HTTP filter, 5. per-route LocalRateLimit
    if !local.is_empty() {
        if !module.disable_insert_local_rate_limit {
            for ctx in contexts(local.iter().copied()) {
                let value = json!({
                    "name": "envoy.filters.http.local_ratelimit",
                    "typed_config": {
                        "@type": TYPED_STRUCT,
                        "type_url": LOCAL_RATE_LIMIT_URL,
                        "value": {"statPrefix": STAT_PREFIX}
                    }
                });
                patches.push(patch(
                    "HTTP_FILTER",
                    filter_match(ctx, module),
                    "INSERT_BEFORE",
                    value,
                ));
            }
        }
        for (r, items) in group_routes(local.iter().copied()) {
            let lrl = local_rate_limit(&items);
            let mut value = serde_json::to_value(&lrl).expect("LocalRateLimit serializes");
            if items.iter().any(|it| kinds(&it.warped).body) {
                value["bodyMatch"] = Value::Bool(true);
            }
            let typed = obj([
                ("@type", TYPED_STRUCT.into()),
                ("type_url", LOCAL_RATE_LIMIT_URL.into()),
                ("value", value),
            ]);
            let value = obj([(
                "typed_per_filter_config",
                obj([("envoy.filters.http.local_ratelimit", typed)]),
            )]);
            let apply_to = if r.route.is_empty() {
                "VIRTUAL_HOST"
            } else {
                "HTTP_ROUTE"
            };
            patches.push(patch(apply_to, route_match(&r, module), "MERGE", value));
        }
    }
    let name = if set.name == BASE_SET {
        format!("{}.{}.ratelimit", lim.name, lim.namespace)
    } else {
        format!("{}.{}.{}.ratelimit", lim.name, lim.namespace, set.name)
    };
    let mut metadata = serde_json::Map::new();
    metadata.insert("name".into(), name.into());
    metadata.insert("namespace".into(), lim.namespace.as_str().into());
    if let Some(rev) = lim
        .sl
        .metadata
        .labels
        .as_ref()
        .and_then(|l| l.get("istio.io/rev"))
    {
        metadata.insert("labels".into(), json!({"istio.io/rev": rev}));
    }
    if let Some(uid) = lim.sl.metadata.uid.as_ref().filter(|u| !u.is_empty()) {
        metadata.insert(
            "ownerReferences".into(),
            json!([{
                "apiVersion": "microservice.slime.io/v1alpha2",
                "kind": "SmartLimiter",
                "name": lim.name,
                "uid": uid,
                "controller": true,
                "blockOwnerDeletion": true
            }]),
        );
    }
    let mut spec = serde_json::Map::new();
    spec.insert("configPatches".into(), Value::Array(patches));
    if !set.selector.is_empty() {
        spec.insert("workloadSelector".into(), json!({"labels": set.selector}));
    }
    obj([
        ("apiVersion", "networking.istio.io/v1alpha3".into()),
        ("kind", "EnvoyFilter".into()),
        ("metadata", Value::Object(metadata)),
        ("spec", Value::Object(spec)),
    ])
}

/// One EnvoyFilter config patch.
fn patch(apply_to: &str, match_: Value, operation: &str, value: Value) -> Value {
    obj([
        ("applyTo", apply_to.into()),
        ("match", match_),
        (
            "patch",
            obj([("operation", operation.into()), ("value", value)]),
        ),
    ])
}

/// A JSON object from owned fields. `json!` serializes (deep-copies) every interpolated
/// `Value`, so output built from parts uses this to move them instead.
fn obj<const N: usize>(fields: [(&str, Value); N]) -> Value {
    // Inserting one by one: collecting would buffer and sort the few fields first.
    let mut m = serde_json::Map::new();
    for (k, v) in fields {
        m.insert(k.to_owned(), v);
    }
    Value::Object(m)
}

/// envoyproxy/ratelimit config descriptor (`key`, `value`, `rate_limit`, `descriptors`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RlsDescriptor {
    pub key: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub value: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit: Option<RlsRateLimit>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub descriptors: Vec<RlsDescriptor>,
}

/// envoyproxy/ratelimit `rate_limit`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RlsRateLimit {
    pub requests_per_unit: u32,
    pub unit: String,
}

/// envoyproxy/ratelimit `config.yaml`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RlsConfig {
    pub domain: String,
    #[serde(default)]
    pub descriptors: Vec<RlsDescriptor>,
}

/// Slime's `generateGlobalRateLimitDescriptor` for one global descriptor (per-descriptor
/// `present_match_separate`, not per set).
fn global_descriptor(it: &Item) -> RlsDescriptor {
    let unit = match it.fill.as_secs() {
        1 => "SECOND",
        60 => "MINUTE",
        3600 => "HOUR",
        _ => "DAY",
    };
    let rl = Some(RlsRateLimit {
        requests_per_unit: it.quota,
        unit: unit.into(),
    });
    let d = |key: &str, value: &str, rate_limit: Option<RlsRateLimit>, descriptors| RlsDescriptor {
        key: key.into(),
        value: value.into(),
        rate_limit,
        descriptors,
    };
    let v = &it.value;
    if it.warped.matches.is_empty() {
        return d("generic_key", v, rl, vec![]);
    }
    let u = kinds(&it.warped);
    if u.separate.is_some() {
        return d("generic_key", v, None, vec![d(&it.key, "", rl, vec![])]);
    }
    let ip = u.source_ip.map(|ip| {
        d(
            "generic_key",
            v,
            None,
            vec![d("remote_address", ip, rl.clone(), vec![])],
        )
    });
    let header = u.header.then(|| match &ip {
        Some(ipd) => d("header_match", v, None, vec![ipd.clone()]),
        None => d("header_match", v, rl.clone(), vec![]),
    });
    if u.query {
        return match (&header, &ip) {
            (Some(h), _) => d("query_match", v, None, vec![h.clone()]),
            (None, Some(i)) => d("query_match", v, None, vec![i.clone()]),
            (None, None) => d("query_match", v, rl, vec![]),
        };
    }
    header.or(ip).expect("a matcher of a supported kind")
}

/// Which SmartLimiter (`name`, `namespace`) generated an RLS descriptor value, parsed exactly.
fn owner_of(value: &str) -> Option<(String, String)> {
    let inner = value
        .strip_prefix("Service[")
        .or_else(|| value.strip_prefix("RequestHeader["))?;
    let (svc, rest) = inner.split_once(']')?;
    rest.strip_prefix("-Id[")?
        .strip_suffix(']')?
        .parse::<u32>()
        .ok()?;
    let (name, ns) = svc.rsplit_once('.')?;
    Some((name.to_string(), ns.to_string()))
}

fn rls_config_map(
    module: &ModuleConfig,
    existing: Option<&(String, Value)>,
    owned: &BTreeSet<(String, String)>,
    new: Vec<RlsDescriptor>,
) -> Result<Value, Problem> {
    let mut descriptors = Vec::new();
    let mut base = json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": module.rls_config_map_name, "namespace": module.rls_config_map_namespace},
    });
    if let Some((id, cm)) = existing {
        base = cm.clone();
        if let Some(text) = cm.pointer("/data/config.yaml").and_then(Value::as_str) {
            let cfg: RlsConfig = serde_norway::from_str(text).map_err(|e| Problem {
                object: id.clone(),
                path: "data[\"config.yaml\"]".into(),
                message: format!("not an envoyproxy/ratelimit config: {e}"),
            })?;
            if cfg.domain != module.domain {
                return Err(Problem {
                    object: id.clone(),
                    path: "data[\"config.yaml\"].domain".into(),
                    message: format!(
                        "{:?} differs from the module domain {:?}",
                        cfg.domain, module.domain
                    ),
                });
            }
            // Drop exactly the entries owned by the SmartLimiters rendered now (Slime used a
            // substring test on `<name>.<ns>`, which also dropped other services' entries).
            descriptors.extend(
                cfg.descriptors
                    .into_iter()
                    .filter(|d| owner_of(&d.value).is_none_or(|o| !owned.contains(&o))),
            );
        }
    }
    descriptors.extend(new);
    descriptors.sort_by(|a, b| a.value.cmp(&b.value));
    let cfg = RlsConfig {
        domain: module.domain.clone(),
        descriptors,
    };
    // Slime's field order (domain first); the YAML 1.1-safe emitter, since the RLS reads it with
    // a YAML 1.1 parser.
    let text = yaml::to_yaml_ordered(
        &serde_json::to_value(&cfg).expect("RLS config serializes"),
        &[
            "domain",
            "key",
            "value",
            "rate_limit",
            "requests_per_unit",
            "unit",
            "descriptors",
        ],
    );
    base["data"] = json!({"config.yaml": text});
    if let Some(m) = base.get_mut("metadata").and_then(Value::as_object_mut) {
        for k in [
            "resourceVersion",
            "uid",
            "creationTimestamp",
            "generation",
            "managedFields",
        ] {
            m.remove(k);
        }
    }
    Ok(base)
}

/// The warped descriptor as Slime's status shows it (jsonpb, lowerCamel).
fn warped_status(w: &Warped) -> Value {
    let mut action = json!({"quota": w.quota.to_string()});
    if let Some(fi) = w.fill_interval {
        let mut f = serde_json::Map::new();
        if fi.seconds != 0 {
            f.insert("seconds".into(), json!(fi.seconds));
        }
        if fi.nanos != 0 {
            f.insert("nanos".into(), json!(fi.nanos));
        }
        action["fillInterval"] = Value::Object(f);
    }
    if !w.strategy.is_empty() {
        action["strategy"] = json!(w.strategy);
    }
    if !w.headers_to_add.is_empty() {
        action["headersToAdd"] = Value::Array(
            w.headers_to_add
                .iter()
                .map(|h| json!({"key": h.key, "value": h.value}))
                .collect(),
        );
    }
    let mut out = obj([("action", action)]);
    if !w.matches.is_empty() {
        let ms: Vec<Value> = w
            .matches
            .iter()
            .map(|m| {
                let mut o = serde_json::Map::new();
                for (k, v) in [
                    ("name", &m.name),
                    ("regexMatch", &m.regex_match),
                    ("exactMatch", &m.exact_match),
                    ("prefixMatch", &m.prefix_match),
                    ("suffixMatch", &m.suffix_match),
                ] {
                    if !v.is_empty() {
                        o.insert(k.into(), json!(v));
                    }
                }
                for (k, v) in [
                    ("presentMatch", m.present_match),
                    ("invertMatch", m.invert_match),
                    ("isExactMatchEmpty", m.is_exact_match_empty),
                    ("presentMatchSeparate", m.present_match_separate),
                    ("useQueryMatch", m.use_query_match),
                ] {
                    if v {
                        o.insert(k.into(), json!(true));
                    }
                }
                if m.match_source != MatchSource::HeadMatch {
                    o.insert("matchSource".into(), json!(m.match_source.name()));
                }
                Value::Object(o)
            })
            .collect();
        out["match"] = Value::Array(ms);
    }
    if let Some(t) = &w.target {
        out["target"] = serde_json::to_value(t).expect("Target serializes");
    }
    out
}

fn with_status(lim: &Limiter, material: &BTreeMap<String, String>) -> Value {
    let mut doc = lim.doc.clone();
    let mut rl = serde_json::Map::new();
    for set in &lim.sets {
        rl.insert(
            set.name.clone(),
            obj([(
                "descriptor",
                set.items
                    .iter()
                    .map(|it| warped_status(&it.warped))
                    .collect(),
            )]),
        );
    }
    let mut status = serde_json::Map::new();
    if !material.is_empty() {
        status.insert("metricStatus".into(), json!(material));
    }
    if !rl.is_empty() {
        status.insert("ratelimitStatus".into(), Value::Object(rl));
    }
    if let Some(o) = doc.as_object_mut() {
        o.insert("status".into(), Value::Object(status));
    }
    doc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn large_renders_match_one_limiter_at_a_time() {
        let one = |i: usize| {
            let strategy = if i % 4 == 3 { "global" } else { "single" };
            format!(
                "---\napiVersion: microservice.slime.io/v1alpha2\nkind: SmartLimiter\nmetadata: {{name: s{i:04}, namespace: default}}\nspec:\n  sets:\n    _base:\n      descriptor:\n      - action: {{quota: \"{q}\", fill_interval: {{seconds: 60}}, strategy: {strategy}}}\n        condition: \"true\"\n        match: [{{name: x-user, exact_match: \"u{i}\"}}]\n        target: {{port: 9080}}\n---\napiVersion: v1\nkind: Service\nmetadata: {{name: s{i:04}, namespace: default}}\nspec: {{selector: {{app: s{i}}}}}\n",
                q = i + 1
            )
        };
        let n = 1200;
        // Given in reverse, so that the output order comes from sorting.
        let text: String = (0..n).rev().map(one).collect();
        let options = RenderOptions::default();
        let all = render_documents(&text, &options).unwrap();
        let filters: Vec<&Value> = all
            .objects
            .iter()
            .filter(|o| o["kind"] == "EnvoyFilter")
            .collect();
        assert_eq!(filters.len(), n);
        for (i, f) in filters.iter().enumerate() {
            let single = render_documents(&one(i), &options).unwrap();
            assert_eq!(**f, single.objects[0], "limiter {i}");
        }
        let cm = all.objects.last().unwrap();
        assert_eq!(cm["kind"], "ConfigMap");
        let config = cm["data"]["config.yaml"].as_str().unwrap();
        assert_eq!(config.matches("requests_per_unit").count(), n / 4);
        assert_eq!(all.yaml, yaml::emit_documents(&all.objects));
        // A duplicate across the halves is found once.
        let errs = render_documents(&(one(5) + &text), &options).unwrap_err();
        assert_eq!(errs.len(), 1, "{errs}");
        assert_eq!(
            errs.to_string(),
            "default/s0005: the same SmartLimiter is given twice"
        );
    }

    #[test]
    fn owners_are_parsed_exactly() {
        assert_eq!(
            owner_of("Service[reviews.default]-Id[12]"),
            Some(("reviews".into(), "default".into()))
        );
        assert_eq!(
            owner_of("RequestHeader[a.b.prod]-Id[1]"),
            Some(("a.b".into(), "prod".into()))
        );
        assert_eq!(owner_of("Service[reviews.default]-Id[x]"), None);
        assert_eq!(owner_of("my-own-descriptor"), None);
    }
}
