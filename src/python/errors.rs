//! The one place where core errors (and panics) become Python exceptions.
//!
//! Exception classes live in `hapolicy.errors` (pure Python, so they can carry `.problems` and
//! inherit from both `HaPolicyError` and the matching built-in).

use std::panic::{catch_unwind, AssertUnwindSafe};

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyType;

use crate::error::Error;

static INVENTORY_ERROR: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static UNKNOWN_ID_ERROR: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static ARGUMENT_ERROR: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static INTERNAL_ERROR: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static OUT_OF_MEMORY_ERROR: PyOnceLock<Py<PyType>> = PyOnceLock::new();

fn class<'py>(py: Python<'py>, cell: &PyOnceLock<Py<PyType>>, name: &str) -> PyResult<Bound<'py, PyType>> {
    Ok(cell.import(py, "hapolicy.errors", name)?.clone())
}

/// Maps a core error to the Python exception users catch.
pub fn to_py_err(py: Python<'_>, err: Error) -> PyErr {
    let made = match &err {
        Error::Invalid(problems) => class(py, &INVENTORY_ERROR, "InventoryError").and_then(|cls| {
            let items: Vec<(String, String)> = problems.iter().map(|p| (p.path.clone(), p.message.clone())).collect();
            Ok(PyErr::from_value(cls.call1((items,))?))
        }),
        Error::UnknownId { kind, id } => class(py, &UNKNOWN_ID_ERROR, "UnknownIdError")
            .and_then(|cls| Ok(PyErr::from_value(cls.call1((*kind, id.as_str()))?))),
        Error::AmbiguousName { kind, name, candidates } => class(py, &UNKNOWN_ID_ERROR, "UnknownIdError")
            .and_then(|cls| Ok(PyErr::from_value(cls.call1((*kind, name.as_str(), candidates.clone()))?))),
        Error::Argument(msg) => class(py, &ARGUMENT_ERROR, "ArgumentError")
            .and_then(|cls| Ok(PyErr::from_value(cls.call1((msg.as_str(),))?))),
        // `hapolicy.errors.OutOfMemoryError`, a `MemoryError`; the buffers that failed are freed
        // by now, so building the exception needs only a little memory.
        Error::OutOfMemory { .. } => class(py, &OUT_OF_MEMORY_ERROR, "OutOfMemoryError")
            .and_then(|cls| Ok(PyErr::from_value(cls.call1((err.to_string(),))?))),
    };
    made.unwrap_or_else(|e| e)
}

/// Runs core work, turning an error into the mapped exception and a panic into
/// `hapolicy.errors.InternalError` (a panic must never reach Python as `PanicException`).
pub fn guard<T>(py: Python<'_>, work: impl FnOnce() -> crate::Result<T>) -> PyResult<T> {
    match catch_unwind(AssertUnwindSafe(work)) {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(to_py_err(py, e)),
        Err(payload) => Err(internal_error(py, &payload)),
    }
}

/// Like [`guard`], with the GIL released while the work runs.
pub fn guard_detached<T: Send>(py: Python<'_>, work: impl FnOnce() -> crate::Result<T> + Send) -> PyResult<T> {
    match py.detach(|| catch_unwind(AssertUnwindSafe(work))) {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(to_py_err(py, e)),
        Err(payload) => Err(internal_error(py, &payload)),
    }
}

/// A caught panic as `hapolicy.errors.InternalError`.
pub fn internal_error(py: Python<'_>, payload: &Box<dyn std::any::Any + Send>) -> PyErr {
    let what = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".to_string());
    let msg = format!("internal error in the hapolicy engine (please report it): {what}");
    class(py, &INTERNAL_ERROR, "InternalError")
        .and_then(|cls| Ok(PyErr::from_value(cls.call1((msg,))?)))
        .unwrap_or_else(|e| e)
}
