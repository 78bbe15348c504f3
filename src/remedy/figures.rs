//! The figures that decide a promise (admission control, and the sweep of up to k failed
//! hosts), and the verifier that computes them for a changed inventory.

use std::collections::BTreeSet;

use serde_json::{json, Value};

use crate::admission::{self, AdmissionContext, AdmissionFigures};
use crate::error::{Error, Result};
use crate::model::{AdmissionPolicyKind, Inventory};
use crate::placement::{plan_failover_indexed, PlacementIndex, UnplacedReason};
use crate::sweep::{sweep, FailureUnit, SweepOptions, Units};

/// What the sweep of every combination of up to `failures` failed hosts says.
#[derive(Debug, Clone, PartialEq)]
pub struct SweepFigures {
    pub failures: usize,
    /// What one failure takes down (R-DOMAIN).
    pub unit: FailureUnit,
    /// Combinations evaluated (every combination of 1..=failures usable hosts).
    pub scenarios: u64,
    /// Combinations leaving at least one VM unplaced.
    pub failing_combinations: u64,
    /// VMs left unplaced by at least one combination, sorted by id.
    pub stranded_vms: Vec<String>,
    /// `SweepResult::max_failures_tolerated` (at most `failures`).
    pub max_failures_tolerated: Option<usize>,
    /// The combination leaving the most VMs unplaced (the first in enumeration order on ties);
    /// empty when none does.
    pub worst_combination: Vec<String>,
    /// The failed units of `worst_combination` (host ids for `unit = host`).
    pub worst_units: Vec<String>,
    pub worst_unplaced: u32,
}

/// Admission control and (with `failures`) sweep figures of one inventory.
#[derive(Debug, Clone, PartialEq)]
pub struct Figures {
    pub policy: AdmissionPolicyKind,
    pub configured_host_failures: Option<u32>,
    pub configured_cpu_percent: Option<f64>,
    pub configured_memory_percent: Option<f64>,
    pub admission: AdmissionFigures,
    /// Capacity of the hosts admission control counts.
    pub total_cpu_mhz: u64,
    pub total_memory_mb: u64,
    pub sweep: Option<SweepFigures>,
}

impl Figures {
    /// The promise holds: admission control satisfied and, with a sweep, no combination leaves a
    /// VM unplaced.
    pub fn holds(&self) -> bool {
        self.admission.satisfied && self.sweep.as_ref().is_none_or(|s| s.failing_combinations == 0)
    }

    pub fn to_value(&self) -> Value {
        let a = &self.admission;
        let mut doc = json!({
            "holds": self.holds(),
            "admission": {
                "policy": self.policy.as_str(),
                "satisfied": a.satisfied,
                "overcommitted": a.overcommitted,
                "configured_host_failures": self.configured_host_failures,
                "current_failover_level": a.current_failover_level,
                "configured_cpu_percent": self.configured_cpu_percent,
                "configured_memory_percent": self.configured_memory_percent,
                "cpu_failover_percent": a.cpu_failover_percent,
                "memory_failover_percent": a.memory_failover_percent,
                "slot_cpu_mhz": a.slot_cpu_mhz,
                "slot_memory_mb": a.slot_memory_mb,
                "total_slots": a.total_slots,
                "used_slots": a.used_slots,
                "total_cpu_mhz": self.total_cpu_mhz,
                "total_memory_mb": self.total_memory_mb,
            },
            "sweep": null,
        });
        if let Some(s) = &self.sweep {
            doc["sweep"] = json!({
                "failures": s.failures,
                "unit": s.unit.as_str(),
                "scenarios": s.scenarios,
                "failing_combinations": s.failing_combinations,
                "stranded_vms": s.stranded_vms.len(),
                "stranded_vm_ids": s.stranded_vms,
                "max_failures_tolerated": s.max_failures_tolerated,
                "worst_combination": s.worst_combination,
                "worst_units": s.worst_units,
                "worst_unplaced": s.worst_unplaced,
            });
        }
        doc
    }

    /// One line, e.g. "admission control satisfied (failover level 1 of 1); 2 failures: 0 of
    /// 10 combinations leave VMs unplaced".
    pub fn line(&self) -> String {
        let a = &self.admission;
        let mut out = format!(
            "admission control ({}) {}",
            self.policy.as_str(),
            if a.satisfied { "satisfied" } else { "NOT satisfied" }
        );
        match (a.current_failover_level, self.configured_host_failures) {
            (Some(level), Some(k)) => out.push_str(&format!(" (failover level {level}, configured {k})")),
            _ => {
                if let (Some(c), Some(m)) = (a.cpu_failover_percent, a.memory_failover_percent) {
                    out.push_str(&format!(" (CPU {c:.2} %, memory {m:.2} %"));
                    if let (Some(cc), Some(cm)) = (self.configured_cpu_percent, self.configured_memory_percent) {
                        out.push_str(&format!("; configured {cc:.2} % / {cm:.2} %"));
                    }
                    out.push(')');
                }
            }
        }
        if let Some(s) = &self.sweep {
            out.push_str(&format!(
                "; up to {} failed {}: {} of {} leave VMs unplaced ({} stranded)",
                s.failures,
                s.unit.noun(s.failures != 1),
                s.failing_combinations,
                crate::sweep::counted(s.scenarios, "combination", "combinations"),
                crate::sweep::counted(s.stranded_vms.len() as u64, "VM", "VMs")
            ));
        }
        out
    }
}

/// Baseline facts the search reads: per stranded VM, the reasons the sweep gave.
#[derive(Debug, Clone, Default)]
pub(crate) struct Strands {
    /// (VM index, reason) pairs seen in some failing combination, sorted, distinct.
    pub pairs: BTreeSet<(u32, UnplacedReason)>,
    /// The worst failing combinations (host ids), worst first, at most [`PROBE_COMBINATIONS`].
    pub worst: Vec<Vec<String>>,
}

/// Figures of `inv` (a full sweep of `unit` failures when `failures` is given), and the
/// strands it found.
pub(crate) fn measure(inv: &Inventory, failures: Option<usize>, unit: FailureUnit) -> Result<(Figures, Strands)> {
    let report = admission::evaluate(inv);
    let mut strands = Strands::default();
    let sweep_figures = match failures {
        None => None,
        Some(k) => {
            let usable: Vec<u32> =
                (0..inv.hosts.len()).filter(|&h| inv.hosts[h].is_available()).map(|h| h as u32).collect();
            let units = Units::new(inv, &usable, unit)?.len();
            if k == 0 || k >= units.max(1) {
                let usable = if unit == FailureUnit::Host { "usable " } else { "" };
                return Err(Error::Argument(format!(
                    "failures must be between 1 and {} (one less than the {usable}{}), got {k}",
                    units.saturating_sub(1),
                    unit.count(units)
                )));
            }
            let options = SweepOptions { unit, ..SweepOptions::new(k) };
            let result = sweep(inv, &options)?;
            let mut stranded: BTreeSet<u32> = BTreeSet::new();
            let mut failing = 0u64;
            for r in result.results().iter().filter(|r| !r.fully_restarted()) {
                failing += 1;
                for u in &r.unplaced_vms {
                    stranded.insert(u.vm);
                    strands.pairs.insert((u.vm, u.reason));
                }
            }
            strands.worst = result
                .worst(PROBE_COMBINATIONS)
                .into_iter()
                .filter(|r| !r.fully_restarted())
                .map(|r| result.failed_unit_names(r).into_iter().map(str::to_string).collect())
                .collect();
            let worst = result.worst(1).into_iter().next().filter(|r| !r.fully_restarted());
            Some(SweepFigures {
                failures: k,
                unit,
                worst_units: worst
                    .map(|r| result.failed_unit_names(r).into_iter().map(str::to_string).collect())
                    .unwrap_or_default(),
                scenarios: result.scenarios(),
                failing_combinations: failing,
                stranded_vms: stranded.iter().filter_map(|&v| inv.vms.get(v as usize)).map(|v| v.id.clone()).collect(),
                max_failures_tolerated: result.max_failures_tolerated(),
                worst_combination: worst
                    .map(|r| r.failed_host_ids(inv).into_iter().map(str::to_string).collect())
                    .unwrap_or_default(),
                worst_unplaced: worst.map_or(0, |r| r.unplaced),
            })
        }
    };
    let figures = Figures {
        policy: report.policy,
        configured_host_failures: report.configured_host_failures,
        configured_cpu_percent: report.configured_cpu_percent,
        configured_memory_percent: report.configured_memory_percent,
        admission: report.figures,
        total_cpu_mhz: report.total_cpu_mhz,
        total_memory_mb: report.total_memory_mb,
        sweep: sweep_figures,
    };
    Ok((figures, strands))
}

/// Verifies candidate inventories: admission control first (cheap), then — with `failures` —
/// the worst failing combinations seen so far (baseline and rejected candidates) planned one by
/// one with `plan_failover` (a fast reject: each is a scenario of the full sweep), then the full
/// sweep.
pub(crate) struct Verifier {
    pub failures: Option<usize>,
    pub unit: FailureUnit,
    /// Failing combinations to try first (host ids), most recently learned first.
    probe: Vec<Vec<String>>,
    /// Candidates verified in full (for the report).
    pub full_runs: u64,
    pub checks: u64,
}

/// Failing combinations the fast reject keeps at most.
pub(crate) const PROBE_COMBINATIONS: usize = 8;

impl Verifier {
    pub fn new(failures: Option<usize>, unit: FailureUnit, strands: &Strands) -> Verifier {
        let mut v = Verifier { failures, unit, probe: Vec::new(), full_runs: 0, checks: 0 };
        for combination in strands.worst.iter().rev() {
            v.learn(combination.clone());
        }
        v
    }

    fn learn(&mut self, combination: Vec<String>) {
        if combination.is_empty() {
            return;
        }
        self.probe.retain(|c| *c != combination);
        self.probe.insert(0, combination);
        self.probe.truncate(PROBE_COMBINATIONS);
    }

    /// The figures of `inv` when the promise holds there; `None` when it does not.
    pub fn verify(&mut self, inv: &Inventory) -> Result<Option<Figures>> {
        self.checks += 1;
        if !AdmissionContext::new(inv).figures().satisfied {
            return Ok(None);
        }
        if self.failures.is_some() && !self.probe.is_empty() {
            let index = PlacementIndex::new(inv);
            // Probes are unit names: a unit's hosts are looked up in the changed inventory
            // (new hosts join their unit), so each probe is a scenario of its full sweep.
            let units = match self.unit {
                FailureUnit::Host => None,
                unit => {
                    let usable: Vec<u32> =
                        (0..inv.hosts.len()).filter(|&h| inv.hosts[h].is_available()).map(|h| h as u32).collect();
                    Some(Units::new(inv, &usable, unit)?)
                }
            };
            for combination in &self.probe {
                let hosts: Vec<String> = match &units {
                    None => combination.clone(),
                    Some(units) => combination
                        .iter()
                        .filter_map(|name| units.names.iter().position(|n| n == name))
                        .flat_map(|u| units.hosts[u].iter().map(|&h| inv.hosts[h as usize].id.clone()))
                        .collect(),
                };
                let plan = plan_failover_indexed(inv, &index, &hosts, &[])?;
                if !plan.unplaced.is_empty() {
                    return Ok(None);
                }
            }
        }
        self.full_runs += 1;
        let (figures, _) = measure(inv, self.failures, self.unit)?;
        if figures.holds() {
            Ok(Some(figures))
        } else {
            if let Some(s) = &figures.sweep {
                self.learn(s.worst_units.clone());
            }
            Ok(None)
        }
    }
}
