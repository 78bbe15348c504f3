//! `hapolicy._core.sweep` / `SweepResult`: what-if sweeps with the GIL released, progress
//! reported on the calling thread, and Ctrl-C honoured.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use pyo3::prelude::*;
use pyo3::types::PyList;

use super::convert;
use super::errors::{guard, internal_error};
use super::inventory::PyInventory;
use crate::error::Error;
use crate::model::Inventory;
use crate::sweep::{sweep as run_sweep, FailureUnit, Retain, ScenarioResult, SweepOptions, SweepResult};

#[pyclass(frozen, module = "hapolicy._core", name = "SweepResult")]
pub struct PySweepResult {
    inner: SweepResult,
    inventory: Arc<Inventory>,
}

/// `(failed_hosts, restarted, unplaced, [(vm, reason), ...], (cpu_left, memory_left), failed_units)`.
type ScenarioTuple = (Vec<String>, u32, u32, Vec<(String, &'static str)>, (u64, u64), Vec<String>);

fn scenario_tuple(inv: &Inventory, sweep: &SweepResult, r: &ScenarioResult) -> ScenarioTuple {
    let hosts: Vec<String> = r.failed_host_ids(inv).into_iter().map(str::to_string).collect();
    // A host sweep read from an older file has no unit names: the units are the hosts.
    let units = if sweep.unit() == FailureUnit::Host && sweep.units().names.is_empty() {
        hosts.clone()
    } else {
        sweep.failed_unit_names(r).into_iter().map(str::to_string).collect()
    };
    (
        hosts,
        r.restarted,
        r.unplaced,
        r.unplaced_vm_ids(inv).into_iter().map(|(v, why)| (v.to_string(), why.as_str())).collect(),
        (r.capacity_left.cpu_mhz, r.capacity_left.memory_mb),
        units,
    )
}

#[pymethods]
impl PySweepResult {
    fn scenarios(&self) -> u64 {
        self.inner.scenarios()
    }
    fn sweep_size(&self) -> u64 {
        self.inner.sweep_size()
    }
    fn complete(&self) -> bool {
        self.inner.complete()
    }
    fn covers_whole_sweep(&self) -> bool {
        self.inner.covers_whole_sweep()
    }
    fn max_failures(&self) -> usize {
        self.inner.max_failures()
    }
    fn max_failures_tolerated(&self) -> Option<usize> {
        self.inner.max_failures_tolerated()
    }
    /// What one failure took down: `"host"`, `"fault_domain"` or `"site"`.
    fn unit(&self) -> &'static str {
        self.inner.unit().as_str()
    }
    /// The units failures were drawn from: `[(name, [host id, ...]), ...]` in unit order.
    fn units(&self) -> Vec<(String, Vec<String>)> {
        let units = self.inner.units();
        let host_ids = |hosts: &[u32]| -> Vec<String> {
            hosts.iter().filter_map(|&h| self.inventory.hosts.get(h as usize).map(|h| h.id.clone())).collect()
        };
        if units.names.is_empty() {
            return units.hosts.iter().map(|hs| (host_ids(hs).join(","), host_ids(hs))).collect();
        }
        units.names.iter().zip(&units.hosts).map(|(n, hs)| (n.clone(), host_ids(hs))).collect()
    }
    fn candidate_hosts(&self) -> Vec<String> {
        self.inner
            .candidate_hosts()
            .iter()
            .filter_map(|&h| self.inventory.hosts.get(h as usize).map(|h| h.id.clone()))
            .collect()
    }
    /// Per failure count: `(failures, combinations, evaluated, fully_restarted, worst_unplaced, unplaced_total)`.
    fn per_k(&self) -> Vec<(usize, u64, u64, u64, u32, u64)> {
        self.inner
            .per_k()
            .iter()
            .map(|l| (l.failures, l.combinations, l.evaluated, l.fully_restarted, l.worst_unplaced, l.unplaced_total))
            .collect()
    }
    fn results_len(&self) -> usize {
        self.inner.results().len()
    }
    /// Kept scenario results `[start, stop)` in enumeration order.
    #[pyo3(signature = (start=0, stop=None))]
    fn results<'py>(&self, py: Python<'py>, start: usize, stop: Option<usize>) -> PyResult<Bound<'py, PyList>> {
        let all = self.inner.results();
        let stop = stop.unwrap_or(all.len()).min(all.len());
        let start = start.min(stop);
        PyList::new(py, all[start..stop].iter().map(|r| scenario_tuple(&self.inventory, &self.inner, r)))
    }
    /// The `n` worst kept scenarios: most unplaced first, then enumeration order.
    fn worst<'py>(&self, py: Python<'py>, n: usize) -> PyResult<Bound<'py, PyList>> {
        PyList::new(py, self.inner.worst(n).into_iter().map(|r| scenario_tuple(&self.inventory, &self.inner, r)))
    }
    /// Combines disjoint shards of one sweep (any order).
    fn merge(&self, py: Python<'_>, other: &PySweepResult) -> PyResult<PySweepResult> {
        let merged = guard(py, || self.inner.clone().merge(other.inner.clone()))?;
        Ok(PySweepResult { inner: merged, inventory: Arc::clone(&self.inventory) })
    }
    fn to_json(&self) -> String {
        self.inner.to_value().to_string()
    }
    /// Reads `to_json` back for `inventory` (the sweep's own inventory).
    #[staticmethod]
    fn from_json(py: Python<'_>, inventory: &PyInventory, text: &str) -> PyResult<PySweepResult> {
        let inv = Arc::clone(&inventory.inner);
        let inner = guard(py, || {
            let doc = crate::parse::parse_json_text(text)?;
            let result = SweepResult::from_value(&doc)?;
            if !result.matches_inventory(&inv) {
                return Err(Error::Argument("this sweep result belongs to another inventory".into()));
            }
            Ok(result)
        })?;
        Ok(PySweepResult { inner, inventory: inv })
    }
    fn to_obj<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        convert::to_py(py, &self.inner.to_value())
    }
}

/// Sweeps every combination of up to `max_failures` failed hosts. The work runs on a pool of
/// `threads` (GIL released); the calling thread reports `progress(done, total)` about ten times
/// a second (a `False` answer stops the sweep, keeping what finished; an exception stops it and
/// propagates) and turns Ctrl-C into a prompt stop (KeyboardInterrupt). `unit`: `"host"`
/// (default), `"fault_domain"` or `"site"` (R-DOMAIN): what one failure takes down.
#[pyfunction]
#[pyo3(signature = (inventory, max_failures, hosts=None, threads=None, shard=None, sample=None, worst_only=None, unplaced_vms_limit=None, progress=None, unit=None))]
#[allow(clippy::too_many_arguments)]
pub fn sweep(
    py: Python<'_>,
    inventory: &PyInventory,
    max_failures: usize,
    hosts: Option<Vec<String>>,
    threads: Option<usize>,
    shard: Option<(usize, usize)>,
    sample: Option<(usize, u64)>,
    worst_only: Option<usize>,
    unplaced_vms_limit: Option<usize>,
    progress: Option<Bound<'_, PyAny>>,
    unit: Option<&str>,
) -> PyResult<PySweepResult> {
    let unit = failure_unit(py, unit)?;
    let inv = Arc::clone(&inventory.inner);
    let result = run_detached(py, progress, |record, cancel| {
        let mut options = SweepOptions::new(max_failures);
        options.hosts = hosts.as_deref();
        options.threads = threads;
        options.shard = shard;
        options.sample = sample;
        options.retain = worst_only.map_or(Retain::All, Retain::Worst);
        options.unplaced_vms_limit = unplaced_vms_limit;
        options.progress = Some(record);
        options.cancel = Some(cancel);
        options.unit = unit;
        run_sweep(&inv, &options)
    })?;
    Ok(PySweepResult { inner: result, inventory: Arc::clone(&inventory.inner) })
}

/// Runs `run(progress, cancel)` on a worker thread with the GIL released, reporting progress to
/// `progress` on the calling thread and honouring Ctrl-C (see [`sweep`]).
fn run_detached<R: Send>(
    py: Python<'_>,
    progress: Option<Bound<'_, PyAny>>,
    run: impl Fn(crate::sweep::Progress<'_>, &AtomicBool) -> crate::error::Result<R> + Sync,
) -> PyResult<R> {
    let cancel = AtomicBool::new(false);
    let finished = AtomicBool::new(false);
    let done = AtomicU64::new(0);
    let total = AtomicU64::new(0);
    let work = || {
        let record = |d: u64, t: u64| {
            done.store(d, Ordering::Relaxed);
            total.store(t, Ordering::Relaxed);
            true
        };
        let result = catch_unwind(AssertUnwindSafe(|| run(&record, &cancel)));
        finished.store(true, Ordering::Release);
        result
    };
    let outcome = std::thread::scope(|scope| -> PyResult<_> {
        // The OS may refuse a thread: the sweep then runs on this one, without the GIL (progress
        // is reported and Ctrl-C seen only when it is done).
        let worker = match std::thread::Builder::new().name("hapolicy-sweep".into()).spawn_scoped(scope, &work) {
            Ok(worker) => worker,
            Err(_) => {
                let result = py.detach(&work);
                if let Some(cb) = &progress {
                    cb.call1((done.load(Ordering::Relaxed), total.load(Ordering::Relaxed)))?;
                }
                return Ok(Ok(result));
            }
        };
        // The calling thread waits without the GIL, wakes to report progress and to let Python
        // run signal handlers (Ctrl-C), and cancels the workers on either error.
        let mut stop: Option<PyErr> = None;
        let mut last_reported = u64::MAX;
        loop {
            py.detach(|| {
                let until = Instant::now() + Duration::from_millis(100);
                while !finished.load(Ordering::Acquire) && Instant::now() < until {
                    std::thread::sleep(Duration::from_millis(2));
                }
            });
            let is_finished = finished.load(Ordering::Acquire);
            if stop.is_none() {
                if let Some(cb) = &progress {
                    let d = done.load(Ordering::Relaxed);
                    if d != last_reported || is_finished {
                        last_reported = d;
                        match cb.call1((d, total.load(Ordering::Relaxed))) {
                            // `False` asks for a stop: the result keeps what finished.
                            Ok(answer) if answer.is(&*pyo3::types::PyBool::new(py, false)) => {
                                cancel.store(true, Ordering::Relaxed)
                            }
                            Ok(_) => {}
                            Err(e) => stop = Some(e),
                        }
                    }
                }
            }
            if stop.is_none() {
                if let Err(e) = py.check_signals() {
                    stop = Some(e);
                }
            }
            if stop.is_some() {
                cancel.store(true, Ordering::Relaxed);
            }
            if is_finished {
                break;
            }
        }
        let joined = worker.join();
        if let Some(e) = stop {
            return Err(e);
        }
        Ok(joined)
    })?;
    match outcome {
        Ok(Ok(Ok(result))) => Ok(result),
        Ok(Ok(Err(e))) => Err(super::errors::to_py_err(py, e)),
        Ok(Err(payload)) | Err(payload) => Err(internal_error(py, &payload)),
    }
}

/// `(tolerated, max_failures, unit, scenarios_evaluated, scenarios_total, complete,
/// first_failure)`, `first_failure` a scenario tuple as `SweepResult.results` gives, or `None`.
type ToleranceTuple = (usize, usize, &'static str, u64, u64, bool, Option<ScenarioTuple>);

/// `hapolicy._core.failures_tolerated`: the exact failures tolerated up to `max_failures`, with
/// the pruning rule of `crate::sweep::failures_tolerated`.
#[pyfunction]
#[pyo3(signature = (inventory, max_failures, hosts=None, threads=None, unplaced_vms_limit=None, progress=None, unit=None))]
#[allow(clippy::too_many_arguments)]
pub fn failures_tolerated(
    py: Python<'_>,
    inventory: &PyInventory,
    max_failures: usize,
    hosts: Option<Vec<String>>,
    threads: Option<usize>,
    unplaced_vms_limit: Option<usize>,
    progress: Option<Bound<'_, PyAny>>,
    unit: Option<&str>,
) -> PyResult<ToleranceTuple> {
    let unit = failure_unit(py, unit)?;
    let inv = Arc::clone(&inventory.inner);
    let t = run_detached(py, progress, |record, cancel| {
        let mut options = SweepOptions::new(max_failures);
        options.hosts = hosts.as_deref();
        options.threads = threads;
        options.unplaced_vms_limit = unplaced_vms_limit;
        options.progress = Some(record);
        options.cancel = Some(cancel);
        options.unit = unit;
        crate::sweep::failures_tolerated(&inv, &options)
    })?;
    let first = t.first_failure.as_ref().map(|r| {
        let hosts: Vec<String> = r.failed_host_ids(&inv).into_iter().map(str::to_string).collect();
        let names = t.failed_unit_names();
        let units = if names.is_empty() { hosts.clone() } else { names.into_iter().map(str::to_string).collect() };
        (
            hosts,
            r.restarted,
            r.unplaced,
            r.unplaced_vm_ids(&inv).into_iter().map(|(v, why)| (v.to_string(), why.as_str())).collect(),
            (r.capacity_left.cpu_mhz, r.capacity_left.memory_mb),
            units,
        )
    });
    Ok((t.tolerated, t.max_failures, t.unit.as_str(), t.scenarios_evaluated, t.scenarios_total, t.complete, first))
}

/// The `unit=` argument of `sweep` and `failures_tolerated` (R-DOMAIN): `host` when omitted.
fn failure_unit(py: Python<'_>, unit: Option<&str>) -> PyResult<FailureUnit> {
    match unit {
        None => Ok(FailureUnit::Host),
        Some(text) => FailureUnit::parse(text).ok_or_else(|| {
            super::errors::to_py_err(
                py,
                Error::Argument(format!("unit must be one of {}, got '{text}'", FailureUnit::allowed())),
            )
        }),
    }
}
