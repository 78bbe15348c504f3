//! `hapolicy._core.Simulation`: the FDM simulation on a virtual clock (`crate::sim`).
//!
//! The simulation is mutable (faults are injected, the clock advances), so it sits behind a
//! mutex: calls from several Python threads serialize instead of racing.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};

use pyo3::prelude::*;
use pyo3::types::PyList;

use super::convert;
use super::errors::{guard, guard_detached};
use super::inventory::PyInventory;
use crate::error::Error;
use crate::model::Inventory;
use crate::sim::{Event, Scenario, Simulation};

#[pyclass(frozen, module = "hapolicy._core", name = "Simulation")]
pub struct PySimulation {
    inner: Mutex<Simulation>,
    /// `until` of the scenario it was built from, if any.
    until: Option<f64>,
}

/// One event as `(time, kind, host, vm, detail, text)`.
type EventTuple<'py> = (f64, &'static str, Option<String>, Option<String>, Bound<'py, PyAny>, String);

/// The events as tuples; `text` shows hosts, VMs and datastores with their names (`inv`).
fn events_to_py<'py>(py: Python<'py>, events: &[Event], inv: &Inventory) -> PyResult<Bound<'py, PyList>> {
    let labels = inv.labels();
    let items = events
        .iter()
        .map(|e| -> PyResult<EventTuple<'py>> {
            let text = e.text_with(labels);
            Ok((e.time, e.kind.as_str(), e.host.clone(), e.vm.clone(), convert::to_py(py, &e.detail)?, text))
        })
        .collect::<PyResult<Vec<_>>>()?;
    PyList::new(py, items)
}

impl PySimulation {
    fn lock(&self) -> MutexGuard<'_, Simulation> {
        // A panic inside the engine is caught by `guard`; the state it left is still the
        // best we have, so a poisoned lock is recovered rather than propagated.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Reads under the lock with the GIL released: waiting for a thread that is running the
    /// simulation must not stall every other Python thread.
    fn read<T: Send>(&self, py: Python<'_>, f: impl FnOnce(&Simulation) -> T + Send) -> T {
        py.detach(|| f(&self.lock()))
    }

    fn with<T: Send>(&self, py: Python<'_>, f: impl FnOnce(&mut Simulation) -> crate::Result<T> + Send) -> PyResult<T> {
        guard_detached(py, || f(&mut self.lock()))
    }
}

#[pymethods]
impl PySimulation {
    #[new]
    fn new(py: Python<'_>, inventory: &PyInventory) -> PyResult<Self> {
        let inv = Arc::clone(&inventory.inner);
        let sim = guard_detached(py, move || Simulation::new(inv))?;
        Ok(PySimulation { inner: Mutex::new(sim), until: None })
    }

    /// From a scenario document (`{"inventory": ..., "events": [...], "until": ...}`); a relative
    /// inventory path is resolved against `base` (the scenario file's folder).
    #[staticmethod]
    #[pyo3(signature = (doc, base=None))]
    fn from_scenario(py: Python<'_>, doc: &Bound<'_, PyAny>, base: Option<PathBuf>) -> PyResult<Self> {
        let mut problems = Vec::new();
        let value = convert::to_value(doc, "", &mut problems);
        if !problems.is_empty() {
            return guard(py, || Err(Error::Invalid(problems)));
        }
        let (sim, until) = guard_detached(py, move || {
            let scenario = Scenario::from_value_in(&value, base.as_deref())?;
            Ok((scenario.simulation()?, scenario.until))
        })?;
        Ok(PySimulation { inner: Mutex::new(sim), until: Some(until) })
    }

    /// From a scenario file (.json, .yaml, .yml); its inventory may be a path relative to it.
    #[staticmethod]
    fn from_scenario_file(py: Python<'_>, path: PathBuf) -> PyResult<Self> {
        let (sim, until) = guard_detached(py, move || {
            let scenario = Scenario::load(&path)?;
            Ok((scenario.simulation()?, scenario.until))
        })?;
        Ok(PySimulation { inner: Mutex::new(sim), until: Some(until) })
    }

    /// The scenario's `until`, when built from a scenario.
    #[getter]
    fn scenario_until(&self) -> Option<f64> {
        self.until
    }

    fn fail_host(&self, py: Python<'_>, host: &str, at: f64) -> PyResult<()> {
        self.with(py, |s| s.fail_host(host, at))
    }

    fn recover_host(&self, py: Python<'_>, host: &str, at: f64) -> PyResult<()> {
        self.with(py, |s| s.recover_host(host, at))
    }

    #[pyo3(signature = (host, at, until=None))]
    fn fail_agent(&self, py: Python<'_>, host: &str, at: f64, until: Option<f64>) -> PyResult<()> {
        self.with(py, |s| s.fail_agent(host, at, until))
    }

    #[pyo3(signature = (host, at, until=None, reachable_addresses=None, network=None))]
    fn isolate_host(
        &self,
        py: Python<'_>,
        host: &str,
        at: f64,
        until: Option<f64>,
        reachable_addresses: Option<Vec<String>>,
        network: Option<String>,
    ) -> PyResult<()> {
        self.with(py, |s| s.isolate_host_with(host, at, until, reachable_addresses, network.as_deref()))
    }

    #[pyo3(signature = (groups, at, until=None, reachable_addresses=None, network=None))]
    fn partition(
        &self,
        py: Python<'_>,
        groups: Vec<Vec<String>>,
        at: f64,
        until: Option<f64>,
        reachable_addresses: Option<Vec<String>>,
        network: Option<String>,
    ) -> PyResult<()> {
        self.with(py, |s| s.partition_with(groups, at, until, reachable_addresses, network.as_deref()))
    }

    fn fail_domain(&self, py: Python<'_>, domain: &str, at: f64) -> PyResult<()> {
        self.with(py, |s| s.fail_domain(domain, at))
    }

    fn fail_site(&self, py: Python<'_>, site: &str, at: f64) -> PyResult<()> {
        self.with(py, |s| s.fail_site(site, at))
    }

    #[pyo3(signature = (at, until=None, reachable_addresses=None, network=None))]
    fn partition_sites(
        &self,
        py: Python<'_>,
        at: f64,
        until: Option<f64>,
        reachable_addresses: Option<Vec<String>>,
        network: Option<String>,
    ) -> PyResult<()> {
        self.with(py, |s| s.partition_sites_with(at, until, reachable_addresses, network.as_deref()))
    }

    #[pyo3(signature = (at, restore_at=None))]
    fn power_outage(&self, py: Python<'_>, at: f64, restore_at: Option<f64>) -> PyResult<()> {
        self.with(py, |s| s.power_outage(at, restore_at))
    }

    #[pyo3(signature = (datastore, at, until=None, hosts=None))]
    fn datastore_apd(
        &self,
        py: Python<'_>,
        datastore: &str,
        at: f64,
        until: Option<f64>,
        hosts: Option<Vec<String>>,
    ) -> PyResult<()> {
        self.with(py, |s| s.datastore_apd(datastore, at, until, hosts))
    }

    #[pyo3(signature = (datastore, at, hosts=None))]
    fn datastore_pdl(&self, py: Python<'_>, datastore: &str, at: f64, hosts: Option<Vec<String>>) -> PyResult<()> {
        self.with(py, |s| s.datastore_pdl(datastore, at, hosts))
    }

    #[pyo3(signature = (vm, at, io_until=None, application=false))]
    fn guest_heartbeat_loss(
        &self,
        py: Python<'_>,
        vm: &str,
        at: f64,
        io_until: Option<f64>,
        application: bool,
    ) -> PyResult<()> {
        self.with(py, |s| s.guest_heartbeat_loss_with(vm, at, io_until, application))
    }

    fn vm_power_on_failure(&self, py: Python<'_>, vm: &str, attempts: u32) -> PyResult<()> {
        self.with(py, |s| s.vm_power_on_failure(vm, attempts))
    }

    #[pyo3(signature = (at, until=None))]
    fn vcenter_unavailable(&self, py: Python<'_>, at: f64, until: Option<f64>) -> PyResult<()> {
        self.with(py, |s| s.vcenter_unavailable(at, until))
    }

    /// Faults as plain dicts (`{"at": 0, "type": "host_failure", "host": "host-12"}`).
    fn apply(&self, py: Python<'_>, events: &Bound<'_, PyAny>) -> PyResult<()> {
        let mut problems = Vec::new();
        let value = convert::to_value(events, "events", &mut problems);
        if !problems.is_empty() {
            return guard(py, || Err(Error::Invalid(problems)));
        }
        self.with(py, |s| s.apply(&value))
    }

    /// Advances the clock to `until`; returns the events of this call.
    fn run<'py>(&self, py: Python<'py>, until: f64) -> PyResult<Bound<'py, PyList>> {
        let (events, inv) = self.with(py, |s| Ok((s.run(until)?, Arc::clone(s.inventory()))))?;
        events_to_py(py, &events, &inv)
    }

    /// Runs until nothing is pending (at most `limit` seconds of virtual time).
    fn run_to_quiescence<'py>(&self, py: Python<'py>, limit: f64) -> PyResult<Bound<'py, PyList>> {
        let (events, inv) = self.with(py, |s| Ok((s.run_to_quiescence(limit)?, Arc::clone(s.inventory()))))?;
        events_to_py(py, &events, &inv)
    }

    /// Every event so far.
    fn events<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let (events, inv) = self.read(py, |s| (s.events().to_vec(), Arc::clone(s.inventory())));
        events_to_py(py, &events, &inv)
    }

    fn timeline(&self, py: Python<'_>) -> String {
        self.read(py, |s| s.timeline())
    }

    fn now(&self, py: Python<'_>) -> f64 {
        self.read(py, |s| s.now())
    }

    fn master(&self, py: Python<'_>) -> Option<String> {
        self.read(py, |s| s.master())
    }

    fn masters(&self, py: Python<'_>) -> Vec<String> {
        self.read(py, |s| s.masters())
    }

    fn host_states(&self, py: Python<'_>) -> BTreeMap<String, &'static str> {
        self.read(py, |s| s.host_states().into_iter().map(|(h, st)| (h, st.as_str())).collect())
    }

    fn vm_states(&self, py: Python<'_>) -> BTreeMap<String, (&'static str, Option<String>)> {
        self.read(py, |s| s.vm_states().into_iter().map(|(v, (p, h))| (v, (p.as_str(), h))).collect())
    }

    fn vm_hosts(&self, py: Python<'_>) -> BTreeMap<String, Vec<String>> {
        self.read(py, |s| s.vm_hosts())
    }

    /// Internal consistency of the engine's bookkeeping (for tests); `None` when consistent.
    fn check_consistency(&self, py: Python<'_>) -> Option<String> {
        self.read(py, |s| s.check_consistency().err())
    }

    fn inventory(&self, py: Python<'_>) -> PyInventory {
        PyInventory { inner: self.read(py, |s| Arc::clone(s.inventory())) }
    }

    /// An independent copy of the simulation in its current state (fork a run).
    fn fork(&self, py: Python<'_>) -> PySimulation {
        PySimulation { inner: Mutex::new(self.read(py, |s| s.clone())), until: self.until }
    }
}

/// Every event kind the engine emits, in phase order.
#[pyfunction]
pub fn event_kinds() -> Vec<&'static str> {
    crate::sim::EventKind::ALL.iter().map(|k| k.as_str()).collect()
}
