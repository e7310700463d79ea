//! The public entry points: text or parsed documents in, the rendered objects (as YAML and as
//! JSON values) and warnings out. The documents are sorted by kind in [`crate::input`] and
//! translated by family (today [`crate::slime::limiter`]).

use serde_json::Value;

use crate::error::{Problem, RenderErrors};
use crate::input::{self, World};
use crate::options::RenderOptions;
use crate::slime::limiter::{self, Limiter};
use crate::yaml;

/// The result of a successful render.
#[derive(Debug, Clone, PartialEq)]
pub struct Rendered {
    /// The generated objects as one multi-document YAML stream.
    pub yaml: String,
    /// Non-fatal notes (Slime quirks that change a result, ignored inputs), one line each.
    pub warnings: Vec<String>,
}

impl Rendered {
    /// The generated objects as JSON values, in output order (read back from [`Rendered::yaml`]:
    /// a render does not keep them, so that its memory stays a small multiple of input and
    /// output).
    pub fn objects(&self) -> Vec<Value> {
        yaml::parse_documents(&self.yaml).expect("rendered YAML reads back")
    }
}

/// Renders a multi-document YAML/JSON text of SmartLimiters (plus the Services,
/// DestinationRules, ServiceEntries and RLS ConfigMap they refer to).
///
/// Output order: for each SmartLimiter by namespace and name, its EnvoyFilters (`_base` first,
/// then subsets by name) and, with `include_status`, the SmartLimiter with its status; then the
/// RLS ConfigMap when any limit is global.
pub fn render_documents(text: &str, options: &RenderOptions) -> Result<Rendered, RenderErrors> {
    let docs = parse_documents(text)?;
    let stage = plan(&docs, options);
    drop(docs); // planned limiters own what they need
    emit_yaml(stage, options)
}

/// Runs every check of [`render_documents`] without emitting YAML; returns the warnings.
pub fn validate_documents(
    text: &str,
    options: &RenderOptions,
) -> Result<Vec<String>, RenderErrors> {
    let docs = parse_documents(text)?;
    let stage = plan(&docs, options);
    drop(docs);
    finish(stage, options, &mut |_| {})
}

/// [`render_documents`] for documents already parsed (e.g. a list of dicts from Python, or
/// objects read from the Kubernetes API): one JSON value per document, `List`s expanded.
///
/// ```
/// let docs = vec![
///     serde_json::json!({"apiVersion": "microservice.slime.io/v1alpha2", "kind": "SmartLimiter",
///         "metadata": {"name": "reviews", "namespace": "default"},
///         "spec": {"sets": {"_base": {"descriptor": [{"condition": "true", "target": {"port": 9080},
///             "action": {"quota": "5", "fill_interval": {"seconds": 60}}}]}}}}),
///     serde_json::json!({"apiVersion": "v1", "kind": "Service",
///         "metadata": {"name": "reviews", "namespace": "default"},
///         "spec": {"selector": {"app": "reviews"}}}),
/// ];
/// let out = mesh_core::render_parsed(&docs, &Default::default()).unwrap();
/// assert_eq!(out.objects()[0]["kind"], "EnvoyFilter");
/// assert!(out.yaml.contains("maxTokens: 5"));
/// ```
pub fn render_parsed(docs: &[Value], options: &RenderOptions) -> Result<Rendered, RenderErrors> {
    emit_yaml(plan(docs, options), options)
}

/// The documents of a multi-document YAML (or JSON) text, as [`render_documents`] reads them
/// (empty documents skipped); e.g. to read [`Rendered::yaml`] back.
pub fn parse_documents(text: &str) -> Result<Vec<Value>, RenderErrors> {
    yaml::parse_documents(text).map_err(|message| {
        RenderErrors(vec![Problem {
            object: String::new(),
            path: String::new(),
            message,
        }])
    })
}

/// A render after planning: everything it still needs, owned (the documents can go).
struct Stage {
    limiters: Vec<Limiter>,
    world: World,
    problems: Vec<Problem>,
    warnings: Vec<String>,
}

fn plan(docs: &[Value], options: &RenderOptions) -> Stage {
    let documents = input::read(docs, options);
    let mut problems = options.module.problems();
    problems.extend(documents.problems);
    let mut warnings = documents.warnings;
    let limiters = limiter::plan_all(
        &documents.smart_limiters,
        &documents.world,
        options,
        &mut problems,
        &mut warnings,
    );
    Stage {
        limiters,
        world: documents.world,
        problems,
        warnings,
    }
}

/// A planned render as YAML. The output buffer is sized once from the first document (the
/// objects of one render are alike) instead of being copied at every doubling.
fn emit_yaml(stage: Stage, options: &RenderOptions) -> Result<Rendered, RenderErrors> {
    let per_limiter = |l: &Limiter| l.sets.len() + usize::from(options.include_status);
    let expected: usize = stage.limiters.iter().map(per_limiter).sum::<usize>() + 1;
    let mut yaml = String::new();
    let mut emitted = 0;
    let warnings = finish(stage, options, &mut |v| {
        yaml::push_document(v, &mut yaml);
        emitted += 1;
        if emitted == 1 {
            yaml.reserve((yaml.len() + 4) * (expected - 1) * 9 / 8);
        }
    })?;
    Ok(Rendered { yaml, warnings })
}

/// Translates a planned render into `emit` unless planning found problems; the warnings.
fn finish(
    stage: Stage,
    options: &RenderOptions,
    emit: &mut dyn FnMut(&Value),
) -> Result<Vec<String>, RenderErrors> {
    let mut problems = stage.problems;
    if problems.is_empty() {
        limiter::emit(stage.limiters, &stage.world, options, &mut problems, emit);
    }
    if problems.is_empty() {
        Ok(stage.warnings)
    } else {
        Err(RenderErrors(problems))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml;

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
        let objects = all.objects();
        let filters: Vec<&Value> = objects
            .iter()
            .filter(|o| o["kind"] == "EnvoyFilter")
            .collect();
        assert_eq!(filters.len(), n);
        for (i, f) in filters.iter().enumerate() {
            let single = render_documents(&one(i), &options).unwrap();
            assert_eq!(**f, single.objects()[0], "limiter {i}");
        }
        let cm = objects.last().unwrap();
        assert_eq!(cm["kind"], "ConfigMap");
        let config = cm["data"]["config.yaml"].as_str().unwrap();
        assert_eq!(config.matches("requests_per_unit").count(), n / 4);
        assert_eq!(all.yaml, yaml::emit_documents(&all.objects()));
        // A duplicate far apart is found once.
        let errs = render_documents(&(one(5) + &text), &options).unwrap_err();
        assert_eq!(errs.len(), 1, "{errs}");
        assert_eq!(
            errs.to_string(),
            "default/s0005: the same SmartLimiter is given twice"
        );
    }
}
