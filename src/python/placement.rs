//! `hapolicy._core.FailoverPlan` and `plan_failover` (R-PLACE).
//!
//! The plan stays in Rust; Python reads it as compact rows (tuples of strings and integers),
//! one list per part, built only when asked for (`python/hapolicy/placement.py` turns the rows
//! into its value objects on first access). No document tree is built per plan.

use std::sync::Arc;

use pyo3::prelude::*;
use pyo3::types::{PyList, PyString, PyTuple};

use super::convert;
use super::errors::guard_detached;
use super::inventory::PyInventory;
use crate::model::Inventory;
use crate::placement::{self, FailoverPlan};

/// A computed plan; the Python layer reads its rows and asks `explain`.
/// It keeps its inventory: explanations replay the plan on it (see `plan_failover` below).
#[pyclass(frozen, module = "hapolicy._core", name = "FailoverPlan")]
pub struct PyFailoverPlan {
    inner: Arc<FailoverPlan>,
    inventory: Arc<Inventory>,
}

/// Python strings for a short list of codes, created once per call (restart priorities and
/// classes repeat on every row).
fn code<'py>(py: Python<'py>, text: &'static str) -> Bound<'py, PyString> {
    PyString::intern(py, text)
}

#[pymethods]
impl PyFailoverPlan {
    /// The whole plan as plain data (the JSON shape of `hapolicy failover --json`).
    fn to_obj<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        convert::to_py(py, &self.inner.to_value())
    }

    /// Why `vm` went where it went, or why it could not go anywhere, host by host.
    fn explain(&self, py: Python<'_>, vm: &str) -> PyResult<String> {
        let (plan, inv) = (Arc::clone(&self.inner), Arc::clone(&self.inventory));
        let vm = vm.to_string();
        guard_detached(py, move || plan.explain(&inv, &vm))
    }

    /// `(failed hosts, isolated hosts, hosts brought out of standby)`, ids.
    fn hosts(&self) -> (Vec<String>, Vec<String>, Vec<String>) {
        let p = &self.inner;
        (p.failed_hosts.clone(), p.isolated_hosts.clone(), p.hosts_exited_standby.clone())
    }

    /// `(placed, unplaced, not restarted)` counts.
    fn counts(&self) -> (usize, usize, usize) {
        let p = &self.inner;
        (p.placements.len(), p.unplaced.len(), p.not_restarted.len())
    }

    /// One `(vm, host, order, priority, restart class)` per placement, in restart order.
    fn placement_rows<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let rows = self.inner.placements.iter().map(|p| {
            let items: [Bound<'py, PyAny>; 5] = [
                PyString::new(py, &p.vm).into_any(),
                PyString::new(py, &p.host).into_any(),
                p.order.into_pyobject(py)?.into_any(),
                code(py, p.priority.as_str()).into_any(),
                code(py, p.class.as_str()).into_any(),
            ];
            PyTuple::new(py, items)
        });
        PyList::new(py, rows.collect::<PyResult<Vec<_>>>()?)
    }

    /// One `(vm, reason, order, priority, restart class, [(host, refusal code, why), …])` per
    /// unplaced VM, in restart order; hosts in host id order.
    fn unplaced_rows<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let rows = self.inner.unplaced.iter().map(|u| {
            let hosts = u.hosts.iter().map(|(h, r)| (h.as_str(), r.code(), r.to_string()));
            let items: [Bound<'py, PyAny>; 6] = [
                PyString::new(py, &u.vm).into_any(),
                code(py, u.reason.as_str()).into_any(),
                u.order.into_pyobject(py)?.into_any(),
                code(py, u.priority.as_str()).into_any(),
                code(py, u.class.as_str()).into_any(),
                PyList::new(py, hosts)?.into_any(),
            ];
            PyTuple::new(py, items)
        });
        PyList::new(py, rows.collect::<PyResult<Vec<_>>>()?)
    }

    /// One `(vm, host, reason)` per VM HA does not restart, by VM id.
    fn not_restarted_rows<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let rows = self.inner.not_restarted.iter().map(|n| {
            PyTuple::new(py, [PyString::new(py, &n.vm), PyString::new(py, &n.host), code(py, n.reason.as_str())])
        });
        PyList::new(py, rows.collect::<PyResult<Vec<_>>>()?)
    }

    /// One `(vm, source, target, for_vm)` per DRS vMotion (R-PLACE-DRS), in order.
    fn migration_rows<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let rows = self.inner.migrations.iter().map(|m| {
            PyTuple::new(
                py,
                [
                    PyString::new(py, &m.vm),
                    PyString::new(py, &m.source),
                    PyString::new(py, &m.target),
                    PyString::new(py, &m.for_vm),
                ],
            )
        });
        PyList::new(py, rows.collect::<PyResult<Vec<_>>>()?)
    }
}

/// Plans the restarts after `failed_hosts` fail and `isolated_hosts` are isolated.
///
/// The index and base state come from the inventory's shared cache
/// (`Inventory::placement_base`, built by the first plan); the plan keeps no per-host verdicts
/// (`placement::plan_failover_lean`): `explain` replays it up to the VM asked about.
#[pyfunction]
#[pyo3(signature = (inventory, failed_hosts, isolated_hosts))]
pub fn plan_failover(
    py: Python<'_>,
    inventory: &PyInventory,
    failed_hosts: Vec<String>,
    isolated_hosts: Vec<String>,
) -> PyResult<PyFailoverPlan> {
    let inv = Arc::clone(&inventory.inner);
    let plan = guard_detached(py, move || placement::plan_failover_lean(&inv, &failed_hosts, &isolated_hosts))?;
    Ok(PyFailoverPlan { inner: Arc::new(plan), inventory: Arc::clone(&inventory.inner) })
}
