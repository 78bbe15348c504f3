//! `hapolicy._core.Inventory`: an immutable, validated inventory shared by reference.

use std::collections::BTreeMap;
use std::sync::Arc;

use pyo3::prelude::*;
use pyo3::types::PyTuple;

use super::convert;
use super::errors::{guard, guard_detached};
use crate::error::Error;
use crate::model::{Inventory, Problem};
use crate::{parse, serialize};

/// The widest `to_json` indent accepted, in spaces per level.
pub const MAX_INDENT: usize = 64;

#[pyclass(frozen, module = "hapolicy._core", name = "Inventory")]
pub struct PyInventory {
    pub inner: Arc<Inventory>,
}

impl PyInventory {
    pub fn wrap(inv: Inventory) -> Self {
        PyInventory { inner: Arc::new(inv) }
    }
}

#[pymethods]
impl PyInventory {
    /// Parses JSON text (the form `__getnewargs__` gives, so pickling works).
    #[new]
    fn new(py: Python<'_>, text: &str) -> PyResult<Self> {
        Self::from_json(py, text)
    }

    #[staticmethod]
    fn from_json(py: Python<'_>, text: &str) -> PyResult<Self> {
        guard_detached(py, || parse::from_json_str(text)).map(Self::wrap)
    }

    #[staticmethod]
    fn from_yaml(py: Python<'_>, text: &str) -> PyResult<Self> {
        guard_detached(py, || parse::from_yaml_str(text)).map(Self::wrap)
    }

    /// Builds from plain Python data in the JSON shape.
    #[staticmethod]
    fn from_obj(py: Python<'_>, obj: &Bound<'_, PyAny>) -> PyResult<Self> {
        let mut problems = Vec::new();
        let doc = convert::to_value(obj, "", &mut problems);
        guard_detached(py, move || match parse::from_value(&doc) {
            Ok(inv) if problems.is_empty() => Ok(inv),
            Err(Error::Invalid(more)) => Err(Error::Invalid(convert::merge_problems(problems, more))),
            Err(other) if problems.is_empty() => Err(other),
            _ => Err(Error::Invalid(convert::merge_problems(problems, Vec::new()))),
        })
        .map(Self::wrap)
    }

    /// The whole inventory as plain Python data (every default explicit).
    fn to_obj<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        convert::to_py(py, &serialize::to_value(&self.inner))
    }

    /// One top-level section of `to_obj()` (`cluster`, `hosts`, `datastores`, `vms`, `rules`).
    fn section<'py>(&self, py: Python<'py>, name: &str) -> PyResult<Bound<'py, PyAny>> {
        match serialize::section(&self.inner, name) {
            Some(value) => convert::to_py(py, &value),
            None => guard(py, || {
                Err(Error::Argument(format!("no section '{name}': expected one of {}", serialize::SECTIONS.join(", "))))
            }),
        }
    }

    /// `indent`: spaces per level, at most [`MAX_INDENT`] (a huge one used to abort the
    /// interpreter allocating the padding).
    #[pyo3(signature = (indent=None))]
    fn to_json(&self, py: Python<'_>, indent: Option<usize>) -> PyResult<String> {
        if let Some(n) = indent.filter(|&n| n > MAX_INDENT) {
            return guard(py, || {
                Err(Error::Argument(format!("indent must be a whole number from 0 to {MAX_INDENT} (spaces), got {n}")))
            });
        }
        let inner = Arc::clone(&self.inner);
        guard_detached(py, move || serialize::to_json(&inner, indent))
    }

    /// Non-fatal findings as `(path, message)`.
    fn warnings(&self) -> Vec<(String, String)> {
        pairs(&self.inner.warnings)
    }

    fn summary(&self) -> BTreeMap<&'static str, usize> {
        self.inner.summary()
    }

    fn host_ids(&self) -> Vec<String> {
        self.inner.hosts.iter().map(|h| h.id.clone()).collect()
    }

    fn vm_ids(&self) -> Vec<String> {
        self.inner.vms.iter().map(|v| v.id.clone()).collect()
    }

    fn datastore_ids(&self) -> Vec<String> {
        self.inner.datastores.iter().map(|d| d.id.clone()).collect()
    }

    /// The id of the object of `kind` (`host`, `vm`, `datastore`) that `x` names: its id, or
    /// a name only one object of that kind carries. `UnknownIdError` otherwise (naming the
    /// candidates when the name is ambiguous).
    fn resolve(&self, py: Python<'_>, kind: &str, x: &str) -> PyResult<String> {
        guard(py, || {
            let inv = &self.inner;
            match kind {
                "host" => inv.resolve_host_id(x),
                "vm" => inv.resolve_vm_id(x),
                "datastore" => inv.resolve_datastore_id(x),
                other => Err(Error::Argument(format!("unknown kind '{other}': expected host, vm or datastore"))),
            }
            .map(str::to_string)
        })
    }

    /// `host-21 (esx-01)`: the id with the object's own name; the id alone when it has none;
    /// an unknown id unchanged.
    fn label(&self, id: &str) -> String {
        self.inner.label(id)
    }

    /// One host as plain data; `UnknownIdError` (a `KeyError`) when absent.
    fn host<'py>(&self, py: Python<'py>, id: &str) -> PyResult<Bound<'py, PyAny>> {
        let h = guard(py, || self.inner.host(id).ok_or_else(|| Error::UnknownId { kind: "host", id: id.into() }))?;
        convert::to_py(py, &serialize::host(h))
    }

    fn vm<'py>(&self, py: Python<'py>, id: &str) -> PyResult<Bound<'py, PyAny>> {
        let v = guard(py, || self.inner.vm(id).ok_or_else(|| Error::UnknownId { kind: "vm", id: id.into() }))?;
        convert::to_py(py, &serialize::vm(v))
    }

    fn datastore<'py>(&self, py: Python<'py>, id: &str) -> PyResult<Bound<'py, PyAny>> {
        let d = guard(py, || {
            self.inner.datastore(id).ok_or_else(|| Error::UnknownId { kind: "datastore", id: id.into() })
        })?;
        convert::to_py(py, &serialize::datastore(d))
    }

    /// Typed options in force (parsed `das.*` values with defaults), by canonical key.
    fn options<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let o = self.inner.options();
        let value = serde_json::json!({
            "das.vmCpuMinMHz": o.vm_cpu_min_mhz,
            "das.vmMemoryMinMB": o.vm_memory_min_mb,
            "das.slotCpuInMHz": o.slot_cpu_cap_mhz,
            "das.slotMemInMB": o.slot_memory_cap_mb,
            "das.heartbeatDsPerHost": o.heartbeat_ds_per_host,
            "das.ignoreInsufficientHbDatastore": o.ignore_insufficient_hb_datastore,
            "das.isolationShutdownTimeout": o.isolation_shutdown_timeout_s,
            "das.maxFtVmsPerHost": o.max_ft_vms_per_host,
            "das.respectVmVmAntiAffinityRules": o.respect_vm_vm_anti_affinity,
            "das.respectVmHostSoftAffinityRules": o.respect_vm_host_soft_affinity,
            "das.maxvmrestartcount": o.max_vm_restart_count,
            "das.perHostConcurrentFailoversLimit": o.per_host_concurrent_failovers_limit,
            "das.maskCleanShutdownEnabled": o.mask_clean_shutdown,
            "das.isolationaddress": o.isolation_addresses,
            "das.usedefaultisolationaddress": o.use_default_isolation_address,
            "das.config.fdm.electionDuration": o.election_duration_s,
            "das.config.fdm.hostTimeout": o.host_timeout_s,
            "das.config.fdm.icmpPingTimeout": o.icmp_ping_timeout_s,
            "das.config.fdm.isolationPolicyDelaySec": o.isolation_policy_delay_s,
            "disk.terminateVMOnPDLDefault": o.terminate_vm_on_pdl_default,
            "engine.heartbeatIntervalSec": o.heartbeat_interval_s,
            "engine.datastoreHeartbeatWatchStartSec": o.ds_heartbeat_watch_start_s,
            "engine.datastoreHeartbeatWatchSec": o.ds_heartbeat_watch_s,
            "engine.newMasterRestartDelaySec": o.new_master_restart_delay_s,
            "engine.powerOnSeconds": o.power_on_s,
            "Misc.APDTimeout": o.apd_timeout_s,
            "engine.hostdPhaseSeconds": o.hostd_phase_s,
            "das.iostatsInterval": o.iostats_interval_s,
            "engine.guestBootSeconds": o.guest_boot_s,
            "engine.appReadySeconds": o.app_ready_s,
            "engine.admissionCountsFailedHosts": o.admission_counts_failed_hosts,
            "engine.drsMaxMigrationsPerVm": o.drs_max_migrations_per_vm,
            "engine.vMotionSeconds": o.v_motion_s,
            "engine.standbyExitSeconds": o.standby_exit_s,
        });
        convert::to_py(py, &value)
    }

    fn __eq__(&self, other: &Bound<'_, PyAny>) -> bool {
        match other.cast::<PyInventory>() {
            Ok(o) => Arc::ptr_eq(&self.inner, &o.get().inner) || *self.inner == *o.get().inner,
            Err(_) => false,
        }
    }

    fn __getnewargs__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        let text = guard_detached(py, || serialize::to_json(&self.inner, None))?;
        PyTuple::new(py, [text])
    }

    fn __repr__(&self) -> String {
        let s = self.inner.summary();
        format!(
            "<hapolicy._core.Inventory '{}' hosts={} vms={} datastores={}>",
            self.inner.cluster.name, s["hosts"], s["vms"], s["datastores"]
        )
    }
}

pub fn pairs(problems: &[Problem]) -> Vec<(String, String)> {
    problems.iter().map(|p| (p.path.clone(), p.message.clone())).collect()
}
