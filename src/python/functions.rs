//! Module-level functions: election, classification, enumerations.

use std::collections::BTreeMap;

use pyo3::prelude::*;

use super::errors::{guard, to_py_err};
use super::inventory::PyInventory;
use crate::classify::{self, HostState, MasterObservation};
use crate::election;
use crate::error::Error;
use crate::model::*;

/// Elects a master (R-ELECT). Returns `(master, ranking, excluded, explanation)` where
/// ranking items are `(host, goodness, datastores)`.
#[pyfunction]
#[pyo3(signature = (inventory, hosts=None, unusable_datastores=None))]
#[allow(clippy::type_complexity)]
pub fn elect(
    py: Python<'_>,
    inventory: &PyInventory,
    hosts: Option<Vec<String>>,
    unusable_datastores: Option<Vec<String>>,
) -> PyResult<(Option<String>, Vec<(String, Option<i64>, usize)>, Vec<(String, String)>, String)> {
    let inv = &inventory.inner;
    let e = guard(py, || {
        let unusable = inv.datastore_ids_lenient(unusable_datastores.unwrap_or_default())?;
        election::elect(inv, hosts.as_deref(), &unusable)
    })?;
    let explanation = e.explain_with(inv.labels());
    let ranking = e.ranking.into_iter().map(|c| (c.host, c.goodness, c.datastores)).collect();
    Ok((e.master, ranking, e.excluded, explanation))
}

/// R-CLASS-M: the master's classification of a slave.
#[pyfunction]
#[pyo3(signature = (network_heartbeat, ping, datastore_heartbeat, isolated_flag))]
pub fn classify_host(
    network_heartbeat: bool,
    ping: bool,
    datastore_heartbeat: bool,
    isolated_flag: bool,
) -> &'static str {
    classify::master_view(MasterObservation { network_heartbeat, ping, datastore_heartbeat, isolated_flag }).as_str()
}

/// R-CLASS-S: a host's view of itself: "connected", "partitioned" or "isolated".
#[pyfunction]
pub fn classify_self(master_heartbeat: bool, election_traffic: bool, isolation_address_answers: bool) -> &'static str {
    match classify::self_view(master_heartbeat, election_traffic, isolation_address_answers) {
        classify::SelfView::Connected => "connected",
        classify::SelfView::Partitioned => "partitioned",
        classify::SelfView::Isolated => "isolated",
    }
}

fn names<T: Copy>(all: &[T], text: fn(T) -> &'static str) -> Vec<&'static str> {
    all.iter().map(|v| text(*v)).collect()
}

/// The engine's enumerations (value spellings), so the Python `StrEnum`s can be checked
/// against them.
#[pyfunction]
pub fn enum_values() -> BTreeMap<&'static str, Vec<&'static str>> {
    let mut m = BTreeMap::new();
    m.insert("HostState", names(HostState::ALL, HostState::as_str));
    m.insert("RestartPriority", names(RestartPriority::ALL, RestartPriority::as_str));
    m.insert("IsolationResponse", names(IsolationResponse::ALL, IsolationResponse::as_str));
    m.insert("PowerState", names(PowerState::ALL, PowerState::as_str));
    m.insert("AdmissionPolicy", names(AdmissionPolicyKind::ALL, AdmissionPolicyKind::as_str));
    m.insert("ConnectionState", names(ConnectionState::ALL, ConnectionState::as_str));
    m.insert("VmRole", names(VmRole::ALL, VmRole::as_str));
    m.insert("DatastoreType", names(DatastoreType::ALL, DatastoreType::as_str));
    m.insert("Version", names(Version::ALL, Version::as_str));
    m.insert("HbDsPolicy", names(HbDsPolicy::ALL, HbDsPolicy::as_str));
    m.insert("RuleKind", names(RuleKind::ALL, RuleKind::as_str));
    m.insert("VmMonitoringMode", names(VmMonitoringMode::ALL, VmMonitoringMode::as_str));
    m.insert("VmMonitoringSensitivity", names(VmMonitoringSensitivity::ALL, VmMonitoringSensitivity::as_str));
    m.insert("StorageProtection", names(StorageProtection::ALL, StorageProtection::as_str));
    m.insert("UnplacedReason", names(crate::placement::UnplacedReason::ALL, crate::placement::UnplacedReason::as_str));
    m.insert("NotRestartedReason", crate::placement::NotRestartedReason::CODES.to_vec());
    m
}

/// Known advanced option keys (canonical spelling).
#[pyfunction]
pub fn known_options() -> Vec<&'static str> {
    crate::options::known_keys().collect()
}

/// Raises the panic guard's error, for the test suite (a panic must not reach Python).
#[pyfunction]
pub fn _panic_for_tests(py: Python<'_>) -> PyResult<()> {
    guard(py, || -> crate::Result<()> { panic!("deliberate test panic") })
}

/// Raises a mapped core error, for the test suite.
#[pyfunction]
pub fn _error_for_tests(py: Python<'_>, kind: &str) -> PyErr {
    let err = match kind {
        "unknown" => Error::UnknownId { kind: "host", id: "host-x".into() },
        "argument" => Error::Argument("bad argument".into()),
        _ => Error::invalid("a.b", "bad"),
    };
    to_py_err(py, err)
}

/// A deterministic synthetic inventory (`hapolicy::generate`): mixed host sizes, shared
/// datastores, ~30 % reserved VMs, every priority, agent VMs, FT pairs and rules.
#[pyfunction]
#[pyo3(signature = (hosts=96, vms=10_000, seed=1, version="8.0"))]
pub fn generate_inventory(py: Python<'_>, hosts: usize, vms: usize, seed: u64, version: &str) -> PyResult<PyInventory> {
    let version = Version::parse(version).ok_or_else(|| {
        to_py_err(py, Error::Argument(format!("unknown version '{version}'; allowed: {}", Version::allowed())))
    })?;
    if hosts > 100_000 || vms > 10_000_000 {
        return Err(to_py_err(py, Error::Argument("at most 100,000 hosts and 10,000,000 VMs".into())));
    }
    let spec = crate::generate::GeneratorSpec { hosts, vms, seed, version };
    super::errors::guard_detached(py, move || Ok(crate::generate::synthetic(&spec))).map(PyInventory::wrap)
}
