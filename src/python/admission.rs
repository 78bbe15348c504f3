//! Admission control (R-AC) and heartbeat datastores (R-HBDS) for Python.

use std::collections::HashSet;
use std::sync::Arc;

use pyo3::prelude::*;
use serde_json::{json, Value};

use super::convert;
use super::errors::{guard, guard_detached};
use super::inventory::PyInventory;
use crate::admission::{self, AdmissionFigures, AdmissionReport, Decision, Operation};
use crate::error::Error;
use crate::heartbeat;
use crate::maintenance;
use crate::model::Labels;
use crate::parse;

fn figures_value(f: &AdmissionFigures) -> Value {
    json!({
        "satisfied": f.satisfied, "overcommitted": f.overcommitted,
        "slot_cpu_mhz": f.slot_cpu_mhz, "slot_memory_mb": f.slot_memory_mb,
        "total_slots": f.total_slots, "used_slots": f.used_slots, "available_slots": f.available_slots,
        "current_failover_level": f.current_failover_level,
        "cpu_failover_percent": f.cpu_failover_percent, "memory_failover_percent": f.memory_failover_percent,
        "required_cpu_mhz": f.required_cpu_mhz, "required_memory_mb": f.required_memory_mb,
        "counted_vms": f.counted_vms,
    })
}

fn report_value(r: &AdmissionReport, labels: Labels<'_>) -> Value {
    // The report is its figures plus what only the report has, in one flat mapping.
    let mut value = figures_value(&r.figures);
    if let Value::Object(map) = &mut value {
        let rest = json!({
            "policy": r.policy.as_str(),
            "configured_host_failures": r.configured_host_failures,
            "configured_cpu_percent": r.configured_cpu_percent, "configured_memory_percent": r.configured_memory_percent,
            "host_slots": r.host_slots.iter().map(|h| json!([h.host, h.slots])).collect::<Vec<_>>(),
            "counted_hosts": r.counted_hosts,
            "excluded_hosts": r.excluded_hosts.iter().map(|e| json!([e.host, e.reason])).collect::<Vec<_>>(),
            "total_cpu_mhz": r.total_cpu_mhz, "total_memory_mb": r.total_memory_mb,
            "failover_hosts": r.failover_hosts.iter().map(|f| json!({
                "host": f.host, "state": f.state.as_str(), "running_vms": f.running_vms, "reason": f.reason,
            })).collect::<Vec<_>>(),
            "messages": r.messages,
            "performance_degradation": r.performance_degradation.as_ref().map(|p| json!({
                "tolerated_percent": p.tolerated_percent, "failures": p.failures,
                "remaining_cpu_mhz": p.remaining_cpu_mhz, "remaining_memory_mb": p.remaining_memory_mb,
                "demand_cpu_mhz": p.demand_cpu_mhz, "demand_memory_mb": p.demand_memory_mb,
                "vms_without_usage": p.vms_without_usage,
                "cpu_reduction_percent": p.cpu_reduction_percent, "memory_reduction_percent": p.memory_reduction_percent,
                "cpu_warning": p.cpu_warning, "memory_warning": p.memory_warning, "warning": p.warning(),
                "summary": p.summary(),
            })),
            "text": r.to_text_with(labels),
        });
        if let Value::Object(rest) = rest {
            map.extend(rest);
        }
    }
    value
}

fn decision_value(d: &Decision) -> Value {
    json!({"allowed": d.allowed, "reason": d.reason, "before": figures_value(&d.before), "after": figures_value(&d.after)})
}

/// The admission-control report for the configured policy (`failed_hosts`: treat these as failed).
#[pyfunction]
#[pyo3(signature = (inventory, failed_hosts=None))]
pub fn admission_control<'py>(
    py: Python<'py>,
    inventory: &PyInventory,
    failed_hosts: Option<Vec<String>>,
) -> PyResult<Bound<'py, PyAny>> {
    let inv = Arc::clone(&inventory.inner);
    let value = guard_detached(py, move || {
        let report = match failed_hosts {
            None => admission::evaluate(&inv),
            Some(hosts) => admission::evaluate_with_failed(&inv, &hosts.into_iter().collect::<HashSet<_>>())?,
        };
        Ok(report_value(&report, inv.labels()))
    })?;
    convert::to_py(py, &value)
}

/// What-if check of one operation: `"power_on"` or `"migrate_in"` (with `vm` in the JSON vm
/// shape) or `"reservation"` (with `vm_id` and the new reservations).
#[pyfunction]
#[pyo3(signature = (inventory, operation, vm=None, vm_id=None, cpu_reservation_mhz=None, memory_reservation_mb=None))]
pub fn check_operation<'py>(
    py: Python<'py>,
    inventory: &PyInventory,
    operation: &str,
    vm: Option<&Bound<'py, PyAny>>,
    vm_id: Option<String>,
    cpu_reservation_mhz: Option<u64>,
    memory_reservation_mb: Option<u64>,
) -> PyResult<Bound<'py, PyAny>> {
    let inv = Arc::clone(&inventory.inner);
    let vm_doc = match vm {
        Some(obj) => {
            let mut problems = Vec::new();
            let doc = convert::to_value(obj, "vm", &mut problems);
            if !problems.is_empty() {
                return guard(py, || Err(Error::Invalid(problems)));
            }
            Some(doc)
        }
        None => None,
    };
    let op_name = operation.to_string();
    let value = guard_detached(py, move || {
        let read_vm = |doc: Option<Value>| -> crate::Result<_> {
            let doc = doc.ok_or_else(|| Error::Argument(format!("'{op_name}' needs a vm")))?;
            parse::vm_from_value(&inv, &doc, "vm")
        };
        let op = match op_name.as_str() {
            "power_on" => Operation::PowerOn(read_vm(vm_doc)?),
            "migrate_in" => Operation::MigrateIn(read_vm(vm_doc)?),
            "reservation" => {
                let vm = vm_id.ok_or_else(|| Error::Argument("'reservation' needs vm_id".into()))?;
                let current = &inv.vms[inv.resolve_vm(&vm)?]; // an id or an unambiguous name
                let vm = current.id.clone();
                Operation::ChangeReservation {
                    cpu_reservation_mhz: cpu_reservation_mhz.unwrap_or(current.cpu_reservation_mhz),
                    memory_reservation_mb: memory_reservation_mb.unwrap_or(current.memory_reservation_mb),
                    vm,
                }
            }
            other => return Err(Error::Argument(format!("unknown operation '{other}'"))),
        };
        Ok(decision_value(&admission::check(&inv, &op)?))
    })?;
    convert::to_py(py, &value)
}

/// May `host` (an id or an unambiguous name) enter `mode` (`"maintenance"` or `"standby"`)
/// under admission control (R-AC-MAINT)? A decision plus `moves` (vm, to) and `unmovable`
/// (vm, reason).
#[pyfunction]
#[pyo3(signature = (inventory, host, mode="maintenance"))]
pub fn check_enter_maintenance<'py>(
    py: Python<'py>,
    inventory: &PyInventory,
    host: String,
    mode: &str,
) -> PyResult<Bound<'py, PyAny>> {
    let inv = Arc::clone(&inventory.inner);
    let mode = mode.to_string();
    let value = guard_detached(py, move || {
        let mode = maintenance::HostMode::parse(&mode)?;
        let d = maintenance::check_enter_maintenance(&inv, &host, mode)?;
        let mut value = decision_value(&d.decision);
        if let Value::Object(map) = &mut value {
            map.insert("host".into(), json!(d.host));
            map.insert("mode".into(), json!(d.mode.as_str()));
            map.insert("moves".into(), json!(d.moves.iter().map(|m| json!([m.vm, m.to])).collect::<Vec<_>>()));
            map.insert(
                "unmovable".into(),
                json!(d.unmovable.iter().map(|u| json!([u.vm, u.reason.as_str()])).collect::<Vec<_>>()),
            );
        }
        Ok(value)
    })?;
    convert::to_py(py, &value)
}

/// Heartbeat datastores per host (R-HBDS) and the warnings vCenter would raise.
#[pyfunction]
#[pyo3(signature = (inventory, unusable_datastores=None))]
pub fn heartbeat_datastores<'py>(
    py: Python<'py>,
    inventory: &PyInventory,
    unusable_datastores: Option<Vec<String>>,
) -> PyResult<Bound<'py, PyAny>> {
    let inv = Arc::clone(&inventory.inner);
    let value = guard_detached(py, move || {
        let unusable = inv.datastore_ids_lenient(unusable_datastores.unwrap_or_default())?;
        let s = heartbeat::select(&inv, &unusable);
        Ok(json!({
            "policy": s.policy.as_str(), "required": s.required, "disabled": s.disabled,
            "hosts": s.hosts.iter().map(|h| json!([h.host, h.datastores])).collect::<Vec<_>>(),
            "warnings": s.warnings.iter().map(|w| json!({
                "kind": w.kind.as_str(), "host": w.host, "datastore": w.datastore, "message": w.message,
            })).collect::<Vec<_>>(),
            "text": s.to_text_with(inv.labels()),
        }))
    })?;
    convert::to_py(py, &value)
}
