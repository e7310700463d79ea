//! The public entry points: text or parsed documents in, the rendered objects (as YAML and as
//! JSON values) and warnings out. The documents are sorted by kind in [`crate::input`] and
//! translated by family (today [`crate::slime::limiter`]).

use serde_json::Value;

use crate::error::{Problem, RenderErrors};
use crate::input;
use crate::options::RenderOptions;
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
    render_parsed(&parse_documents(text)?, options)
}

/// Runs every check of [`render_documents`] without emitting YAML; returns the warnings.
pub fn validate_documents(
    text: &str,
    options: &RenderOptions,
) -> Result<Vec<String>, RenderErrors> {
    render_objects(&parse_documents(text)?, options).map(|(_, w)| w)
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
/// assert_eq!(out.objects[0]["kind"], "EnvoyFilter");
/// assert!(out.yaml.contains("maxTokens: 5"));
/// ```
pub fn render_parsed(docs: &[Value], options: &RenderOptions) -> Result<Rendered, RenderErrors> {
    let (objects, warnings) = render_objects(docs, options)?;
    Ok(Rendered {
        yaml: yaml::emit_documents(&objects),
        objects,
        warnings,
    })
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

/// The output objects and warnings of parsed documents.
fn render_objects(
    docs: &[Value],
    options: &RenderOptions,
) -> Result<(Vec<Value>, Vec<String>), RenderErrors> {
    let documents = input::read(docs, options);
    let mut problems = options.module.problems();
    problems.extend(documents.problems);
    let mut warnings = documents.warnings;
    let objects = crate::slime::limiter::render(
        &documents.smart_limiters,
        &documents.world,
        options,
        &mut problems,
        &mut warnings,
    );
    if problems.is_empty() {
        Ok((objects, warnings))
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
}
