//! Python bindings: the private native module `meshplane._meshplane`, with one submodule per
//! public module (`codec`, `hessian2`, `limiter`). The public package is `python/meshplane/`
//! (re-exports, `.pyi` stubs, `py.typed`). Thin shell: all logic lives in the Rust crates; every
//! entry point runs under `errors::guard`, so a panic is a `MeshplaneError`.

// The pyclasses show themselves to Python through `__repr__`; several hold trait objects
// (`dyn Codec`, `dyn Clock`) without a `Debug` of their own.
#![allow(missing_debug_implementations)]

mod codec;
mod errors;
mod hessian2;
mod json;
mod limiter;
mod render;

use pyo3::prelude::*;

fn submodule<'py>(
    parent: &Bound<'py, PyModule>,
    name: &str,
    register: fn(&Bound<'py, PyModule>) -> PyResult<()>,
) -> PyResult<()> {
    let m = PyModule::new(parent.py(), name)?;
    register(&m)?;
    parent.add_submodule(&m)
}

/// Panics inside the guard (the tests check that a panic surfaces as `MeshplaneError`).
#[pyfunction]
fn _panic_for_tests(message: &str) -> PyResult<()> {
    errors::guard(|| panic!("{message}"))
}

#[pymodule]
fn _meshplane(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add("MeshplaneError", py.get_type::<errors::MeshplaneError>())?;
    m.add("DecodeError", py.get_type::<errors::DecodeError>())?;
    m.add(
        "IncompleteMessage",
        py.get_type::<errors::IncompleteMessage>(),
    )?;
    m.add("EncodeError", py.get_type::<errors::EncodeError>())?;
    m.add("ValidationError", py.get_type::<errors::ValidationError>())?;
    m.add("RenderWarning", py.get_type::<errors::RenderWarning>())?;
    m.add_function(wrap_pyfunction!(_panic_for_tests, m)?)?;
    render::register(m)?;
    m.add_function(wrap_pyfunction!(limiter::simulate, m)?)?;
    submodule(m, "codec", codec::register)?;
    submodule(m, "hessian2", hessian2::register)?;
    submodule(m, "limiter", limiter::register)?;
    Ok(())
}
