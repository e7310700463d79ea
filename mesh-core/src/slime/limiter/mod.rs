//! The SmartLimiter translator, by stage:
//!
//! 1. [`decode`]: the document → the typed [`model`] (every problem with its field path);
//! 2. [`plan`]: selector and subsets from the input objects, each descriptor validated,
//!    evaluated against the metric material and built into [`items`] (matchers checked in
//!    [`matchers`]);
//! 3. emit: [`envoy_filter`] (one EnvoyFilter per set), [`rls`] (the ratelimit ConfigMap),
//!    [`status`] (the SmartLimiter with Slime's status).

mod checks;
mod decode;
mod envoy_filter;
mod items;
mod matchers;
pub mod model;
mod plan;
mod rls;
mod status;

use std::collections::{BTreeSet, HashSet};

use serde_json::Value;

use crate::error::{Problem, Sink};
use crate::input::World;
use crate::options::RenderOptions;
use crate::rules::k8s;
pub(crate) use items::Limiter;

/// Decodes and plans the SmartLimiters of one render, in output order (by namespace and name);
/// every problem goes to `problems`, every warning to `warnings`.
pub(crate) fn plan_all(
    smart_limiters: &[(String, &Value)],
    world: &World,
    options: &RenderOptions,
    problems: &mut Vec<Problem>,
    warnings: &mut Vec<String>,
) -> Vec<Limiter> {
    let mut seen: HashSet<(String, String)> = HashSet::new();
    let mut limiters: Vec<Limiter> = Vec::with_capacity(smart_limiters.len());
    for (id, doc) in smart_limiters {
        let p = plan_limiter(id, doc, world, options);
        let mut local_problems = p.problems;
        if let Some(key) = p.key
            && !seen.insert(key)
        {
            let mut dup = Vec::new();
            Sink::new(id.clone(), &mut dup).err("", "the same SmartLimiter is given twice");
            local_problems.splice(p.duplicate_at..p.duplicate_at, dup);
        }
        warnings.extend(p.lim.warnings.iter().map(|w| format!("{id}: {w}")));
        problems.extend(local_problems);
        limiters.push(p.lim);
    }
    limiters.sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
    limiters
}

/// Translates planned limiters: each object goes to `emit` as soon as it is built (nothing is
/// kept), the RLS ConfigMap last. A problem (the existing ConfigMap) goes to `problems`.
pub(crate) fn emit(
    limiters: Vec<Limiter>,
    world: &World,
    options: &RenderOptions,
    problems: &mut Vec<Problem>,
    emit: &mut dyn FnMut(&Value),
) {
    let mut global_descriptors = Vec::new();
    let mut owned: BTreeSet<(String, String)> = BTreeSet::new();
    for lim in limiters {
        for set in &lim.sets {
            let ef = envoy_filter::envoy_filter(&lim, set, &options.module);
            emit(&serde_json::to_value(&ef).expect("an EnvoyFilter serializes"));
            for item in set.items.iter().filter(|it| it.global) {
                global_descriptors.push(rls::global_descriptor(item));
            }
        }
        if options.include_status {
            emit(&status::with_status(&lim, &options.metrics));
        }
        owned.insert((lim.name, lim.namespace));
    }
    let configmap_needed = !global_descriptors.is_empty() || world.rls_config_map.is_some();
    if configmap_needed && !options.module.disable_global_rate_limit {
        match rls::rls_config_map(
            &options.module,
            world.rls_config_map.as_ref(),
            &owned,
            global_descriptors,
        ) {
            Ok(cm) => emit(&serde_json::to_value(&cm).expect("a ConfigMap serializes")),
            Err(p) => problems.push(p),
        }
    }
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

fn plan_limiter(id: &str, doc: &Value, world: &World, options: &RenderOptions) -> Planned {
    let mut local_problems = Vec::new();
    let mut sink = Sink::new(id, &mut local_problems);
    let sl = decode::smart_limiter(doc, options.allow_unknown_fields, &mut sink);
    let name = sl.metadata.name.clone().unwrap_or_default();
    if name.is_empty() {
        sink.err("metadata.name", "required");
    } else if let Err(e) = k8s::subdomain(&name) {
        sink.err("metadata.name", e);
    }
    let namespace = sl.metadata.namespace.clone().unwrap_or_default();
    if let Err(e) = k8s::label(&namespace) {
        sink.err("metadata.namespace", e);
    }
    if let Some(labels) = &sl.metadata.labels {
        plan::check_labels(labels, "metadata.labels", "", &mut sink);
    }
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
    let mut sink = Sink::new(id, &mut local_problems);
    plan::plan(&mut lim, world, options, &mut sink);
    Planned {
        lim,
        problems: local_problems,
        key,
        duplicate_at,
    }
}
