//! `hapolicy._core.FailoverPlan` and `plan_failover` (R-PLACE).

use std::sync::Arc;

use pyo3::prelude::*;

use super::convert;
use super::errors::guard_detached;
use super::inventory::PyInventory;
use crate::model::Inventory;
use crate::placement::{self, FailoverPlan};

/// A computed plan; the Python layer turns `to_obj()` into value objects and asks `explain`.
/// It keeps its inventory: a plan too big to keep every verdict recomputes them from it.
#[pyclass(frozen, module = "hapolicy._core", name = "FailoverPlan")]
pub struct PyFailoverPlan {
    inner: Arc<FailoverPlan>,
    inventory: Arc<Inventory>,
}

#[pymethods]
impl PyFailoverPlan {
    fn to_obj<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        convert::to_py(py, &self.inner.to_value())
    }

    /// Why `vm` went where it went, or why it could not go anywhere, host by host.
    fn explain(&self, py: Python<'_>, vm: &str) -> PyResult<String> {
        guard_detached(py, || self.inner.explain(&self.inventory, vm))
    }
}

/// Plans the restarts after `failed_hosts` fail and `isolated_hosts` are isolated.
#[pyfunction]
#[pyo3(signature = (inventory, failed_hosts, isolated_hosts))]
pub fn plan_failover(
    py: Python<'_>,
    inventory: &PyInventory,
    failed_hosts: Vec<String>,
    isolated_hosts: Vec<String>,
) -> PyResult<PyFailoverPlan> {
    let inv = Arc::clone(&inventory.inner);
    let plan = guard_detached(py, move || placement::plan_failover(&inv, &failed_hosts, &isolated_hosts))?;
    Ok(PyFailoverPlan { inner: Arc::new(plan), inventory: Arc::clone(&inventory.inner) })
}
