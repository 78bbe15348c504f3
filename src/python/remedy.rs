//! `hapolicy._core.remedies` / `RemedyPatch`: remedies searched with the GIL released (R-REMEDY).

use std::sync::Arc;

use pyo3::prelude::*;

use super::convert;
use super::errors::guard_detached;
use super::inventory::PyInventory;
use crate::remedy::{remedies as find_remedies, Patch, RemedyOptions};
use crate::sweep::FailureUnit;

/// The patch of one remedy, kept in engine form so that applying it is exactly what was verified.
#[pyclass(frozen, module = "hapolicy._core", name = "RemedyPatch")]
pub struct PyRemedyPatch {
    inner: Patch,
}

#[pymethods]
impl PyRemedyPatch {
    /// The changed inventory, written out and validated again like any input.
    fn apply(&self, py: Python<'_>, inventory: &PyInventory) -> PyResult<PyInventory> {
        let inv = Arc::clone(&inventory.inner);
        let patch = self.inner.clone();
        guard_detached(py, move || patch.apply_validated(&inv)).map(PyInventory::wrap)
    }

    /// The patch as plain data.
    fn to_obj<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        convert::to_py(py, &self.inner.to_value())
    }
}

/// Remedies for the promise (admission control; with `failures`, every combination of up to
/// that many failed hosts): `(document, patches)`, the patches aligned with
/// `document["remedies"]`.
#[pyfunction]
#[pyo3(signature = (inventory, failures=None, unit=None))]
pub fn remedies<'py>(
    py: Python<'py>,
    inventory: &PyInventory,
    failures: Option<usize>,
    unit: Option<&str>,
) -> PyResult<(Bound<'py, PyAny>, Vec<PyRemedyPatch>)> {
    let unit = match unit {
        None => FailureUnit::Host,
        Some(text) => FailureUnit::parse(text).ok_or_else(|| {
            super::errors::to_py_err(
                py,
                crate::error::Error::Argument(format!("unit must be one of {}, got '{text}'", FailureUnit::allowed())),
            )
        })?,
    };
    let inv = Arc::clone(&inventory.inner);
    let found = guard_detached(py, move || find_remedies(&inv, &RemedyOptions { failures, unit }))?;
    let doc = convert::to_py(py, &found.to_value())?;
    let patches = found.remedies.into_iter().map(|r| PyRemedyPatch { inner: r.patch }).collect();
    Ok((doc, patches))
}
