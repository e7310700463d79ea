//! The exception types and the panic guard: every entry point runs inside [`guard`], so a
//! panic in the crates becomes a `MeshplaneError` instead of taking the interpreter down.

use std::panic::{AssertUnwindSafe, catch_unwind};

use pyo3::create_exception;
use pyo3::exceptions::{PyException, PyUserWarning};
use pyo3::prelude::*;
use pyo3::types::PyList;

create_exception!(
    meshplane,
    MeshplaneError,
    PyException,
    "Base class of every Meshplane error (also raised for an internal failure)."
);
create_exception!(
    meshplane,
    DecodeError,
    MeshplaneError,
    "Malformed input: `offset` is the byte offset of the problem, `reason` the cause."
);
create_exception!(
    meshplane,
    IncompleteMessage,
    MeshplaneError,
    "Input ends inside a message: `offset` is where that message starts."
);
create_exception!(
    meshplane,
    EncodeError,
    MeshplaneError,
    "A message could not be written (e.g. a mutation the protocol cannot carry)."
);
create_exception!(
    meshplane,
    ValidationError,
    MeshplaneError,
    "Invalid documents: `errors` lists every problem as `(path, message)`."
);
create_exception!(
    meshplane,
    RenderWarning,
    PyUserWarning,
    "A non-fatal note from rendering (a Slime quirk that changes a result, an ignored input)."
);

/// Runs `f`, turning a panic into `MeshplaneError`.
pub fn guard<T>(f: impl FnOnce() -> PyResult<T>) -> PyResult<T> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(payload) => {
            let what = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".to_string());
            Err(MeshplaneError::new_err(format!("internal error: {what}")))
        }
    }
}

/// `DecodeError` with its `offset` and `reason` attributes.
pub fn decode_error(py: Python<'_>, offset: usize, reason: String) -> PyErr {
    let err = DecodeError::new_err(format!("offset {offset}: {reason}"));
    let value = err.value(py);
    let _ = value.setattr("offset", offset);
    let _ = value.setattr("reason", reason);
    let _ = value.setattr("messages", PyList::empty(py));
    err
}

/// `DecodeError` from a message that names its own offset (`offset N: reason`).
pub fn decode_error_at(py: Python<'_>, offset: usize, display: String) -> PyErr {
    let prefix = format!("offset {offset}: ");
    let reason = display
        .strip_prefix(&prefix)
        .map_or(display.clone(), str::to_string);
    decode_error(py, offset, reason)
}

/// `IncompleteMessage` with its `offset`.
pub fn incomplete(py: Python<'_>, offset: usize) -> PyErr {
    let err = IncompleteMessage::new_err(format!("incomplete message at offset {offset}"));
    let _ = err.value(py).setattr("offset", offset);
    err
}

/// `ValidationError` with `errors` as `(path, message)` tuples.
pub fn validation_error(py: Python<'_>, errors: Vec<(String, String)>) -> PyErr {
    let text = errors
        .iter()
        .map(|(p, m)| {
            if p.is_empty() {
                m.clone()
            } else {
                format!("{p}: {m}")
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    let err = ValidationError::new_err(text);
    let _ = err.value(py).setattr("errors", errors);
    err
}
