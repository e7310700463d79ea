//! `meshplane.render` / `render_yaml` / `validate` / `crds`: mesh-core's entry points with
//! `meshctl render`'s options as keyword arguments.

use mesh_core::{Problem, RenderErrors, RenderOptions, parse_metrics};
use pyo3::prelude::*;
use pyo3::types::{PyList, PyString};
use serde_json::Value;

use crate::errors::{RenderWarning, guard, validation_error};
use crate::json;

/// Input documents: one multi-document YAML/JSON text, or already parsed objects.
enum Docs {
    Text(String),
    Values(Vec<Value>),
}

fn docs(documents: &Bound<'_, PyAny>) -> PyResult<Docs> {
    if let Ok(s) = documents.cast::<PyString>() {
        return Ok(Docs::Text(s.to_cow()?.into_owned()));
    }
    let mut out = Vec::new();
    for (i, d) in documents.try_iter()?.enumerate() {
        out.push(json::to_json(&d?, &format!("documents[{i}]"))?);
    }
    Ok(Docs::Values(out))
}

fn problem_tuples(e: &RenderErrors) -> Vec<(String, String)> {
    e.0.iter()
        .map(|p: &Problem| {
            let path = match (p.object.is_empty(), p.path.is_empty()) {
                (false, false) => format!("{}: {}", p.object, p.path),
                (false, true) => p.object.clone(),
                (true, _) => p.path.clone(),
            };
            (path, p.message.clone())
        })
        .collect()
}

/// The keyword options shared by render, render_yaml and validate.
#[allow(clippy::too_many_arguments)]
fn options(
    py: Python<'_>,
    metrics: Option<&Bound<'_, PyAny>>,
    status: bool,
    allow_unknown_fields: bool,
    domain: Option<String>,
    rls_service: Option<String>,
    rls_port: Option<u16>,
    disable_insert_local_rate_limit: bool,
    disable_insert_global_rate_limit: bool,
) -> PyResult<RenderOptions> {
    let mut o = RenderOptions {
        allow_unknown_fields,
        include_status: status,
        ..RenderOptions::default()
    };
    if let Some(d) = domain {
        o.module.domain = d;
    }
    if let Some(s) = rls_service {
        o.module.rls_service = s;
    }
    if let Some(p) = rls_port {
        o.module.rls_port = p;
    }
    o.module.disable_insert_local_rate_limit = disable_insert_local_rate_limit;
    o.module.disable_insert_global_rate_limit = disable_insert_global_rate_limit;
    if let Some(m) = metrics.filter(|m| !m.is_none()) {
        let text = match m.cast::<PyString>() {
            Ok(s) => s.to_cow()?.into_owned(),
            Err(_) => json::to_json(m, "metrics")?.to_string(),
        };
        o.metrics = parse_metrics(&text).map_err(|e| {
            let errors = problem_tuples(&e)
                .into_iter()
                .map(|(p, m)| {
                    (
                        if p.is_empty() {
                            "metrics".into()
                        } else {
                            format!("metrics: {p}")
                        },
                        m,
                    )
                })
                .collect();
            validation_error(py, errors)
        })?;
    }
    Ok(o)
}

fn warn(py: Python<'_>, warnings: &[String]) -> PyResult<()> {
    let category = py.get_type::<RenderWarning>();
    for w in warnings {
        PyErr::warn(py, &category, &std::ffi::CString::new(w.as_str())?, 2)?;
    }
    Ok(())
}

/// Renders, returning (objects, yaml text when asked, warnings).
fn run(
    py: Python<'_>,
    docs: Docs,
    options: &RenderOptions,
    want_yaml: bool,
) -> PyResult<(Vec<Value>, String, Vec<String>)> {
    let result = py.detach(|| match docs {
        Docs::Text(text) => mesh_core::render_documents(&text, options).map(|r| {
            (
                r.objects(),
                if want_yaml { r.yaml } else { String::new() },
                r.warnings,
            )
        }),
        Docs::Values(values) => mesh_core::render_parsed(&values, options).map(|r| {
            (
                r.objects(),
                if want_yaml { r.yaml } else { String::new() },
                r.warnings,
            )
        }),
    });
    result.map_err(|e| validation_error(py, problem_tuples(&e)))
}

macro_rules! render_signature {
    ($item:item) => {
        #[pyfunction]
        #[pyo3(signature = (documents, metrics = None, *, status = false, allow_unknown_fields = false, domain = None, rls_service = None, rls_port = None, disable_insert_local_rate_limit = false, disable_insert_global_rate_limit = false))]
        #[allow(clippy::too_many_arguments)]
        $item
    };
}

render_signature! {
/// Renders SmartLimiters (with the Services, DestinationRules, ServiceEntries and RLS ConfigMap
/// they refer to) into EnvoyFilters and the RLS ConfigMap, as dicts. Warnings are issued as
/// `meshplane.RenderWarning`; invalid input raises `ValidationError`.
pub fn render<'py>(
    py: Python<'py>,
    documents: &Bound<'py, PyAny>,
    metrics: Option<&Bound<'py, PyAny>>,
    status: bool,
    allow_unknown_fields: bool,
    domain: Option<String>,
    rls_service: Option<String>,
    rls_port: Option<u16>,
    disable_insert_local_rate_limit: bool,
    disable_insert_global_rate_limit: bool,
) -> PyResult<Bound<'py, PyList>> {
    guard(|| {
        let o = options(py, metrics, status, allow_unknown_fields, domain, rls_service, rls_port, disable_insert_local_rate_limit, disable_insert_global_rate_limit)?;
        let (objects, _, warnings) = run(py, docs(documents)?, &o, false)?;
        warn(py, &warnings)?;
        let out = PyList::empty(py);
        for v in &objects {
            out.append(json::to_py(py, v)?)?;
        }
        Ok(out)
    })
}
}

render_signature! {
/// `render` as the multi-document YAML text `meshctl render` prints.
pub fn render_yaml(
    py: Python<'_>,
    documents: &Bound<'_, PyAny>,
    metrics: Option<&Bound<'_, PyAny>>,
    status: bool,
    allow_unknown_fields: bool,
    domain: Option<String>,
    rls_service: Option<String>,
    rls_port: Option<u16>,
    disable_insert_local_rate_limit: bool,
    disable_insert_global_rate_limit: bool,
) -> PyResult<String> {
    guard(|| {
        let o = options(py, metrics, status, allow_unknown_fields, domain, rls_service, rls_port, disable_insert_local_rate_limit, disable_insert_global_rate_limit)?;
        let (_, yaml, warnings) = run(py, docs(documents)?, &o, true)?;
        warn(py, &warnings)?;
        Ok(yaml)
    })
}
}

render_signature! {
/// Runs every check of `render` without producing output; returns the warnings, raises
/// `ValidationError` with every problem.
pub fn validate(
    py: Python<'_>,
    documents: &Bound<'_, PyAny>,
    metrics: Option<&Bound<'_, PyAny>>,
    status: bool,
    allow_unknown_fields: bool,
    domain: Option<String>,
    rls_service: Option<String>,
    rls_port: Option<u16>,
    disable_insert_local_rate_limit: bool,
    disable_insert_global_rate_limit: bool,
) -> PyResult<Vec<String>> {
    guard(|| {
        let o = options(py, metrics, status, allow_unknown_fields, domain, rls_service, rls_port, disable_insert_local_rate_limit, disable_insert_global_rate_limit)?;
        let result = match docs(documents)? {
            Docs::Text(text) => py.detach(|| mesh_core::validate_documents(&text, &o)),
            Docs::Values(values) => py.detach(|| mesh_core::render_parsed(&values, &o).map(|r| r.warnings)),
        };
        result.map_err(|e| validation_error(py, problem_tuples(&e)))
    })
}
}

/// The CustomResourceDefinitions of every kind `render` accepts, as dicts.
#[pyfunction]
pub fn crds(py: Python<'_>) -> PyResult<Bound<'_, PyList>> {
    guard(|| {
        let docs = mesh_core::parse_documents(&mesh_core::crd::smartlimiter_crd_yaml())
            .map_err(|e| crate::errors::MeshplaneError::new_err(e.to_string()))?;
        let out = PyList::empty(py);
        for d in &docs {
            out.append(json::to_py(py, d)?)?;
        }
        Ok(out)
    })
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(render, m)?)?;
    m.add_function(wrap_pyfunction!(render_yaml, m)?)?;
    m.add_function(wrap_pyfunction!(validate, m)?)?;
    m.add_function(wrap_pyfunction!(crds, m)?)?;
    Ok(())
}
