//! Entering maintenance mode or DPM standby under admission control (R-AC-MAINT).
//!
//! "With admission control enabled, a host may enter maintenance mode (or DPM standby) only if
//! the policy stays satisfied without it (its running VMs moved to the remaining hosts by
//! reservation, as DRS would)." [`check_enter_maintenance`] answers allowed / refused with the
//! figures, in the shape of an admission [`Decision`], plus where each running VM goes.
//!
//! How it is decided (engine rules, each tested in `tests/admission.rs`):
//!
//! 1. The host's powered-on VMs are released from it and placed on the remaining hosts by the
//!    shared placement engine ([`crate::placement::place`]): the same feasibility as a failover
//!    (R-PLACE-2: usable host, datastores, networks, `vmHostMust` / `vmHostMustNot`, respected
//!    anti-affinity, FT limit, unreserved CPU and memory ≥ the VM's reservation) and the same
//!    choice (most unreserved memory after placement, then CPU, then host id), largest
//!    reservation first. Dedicated failover hosts (R-AC-FH) take no migrations, so they are left
//!    out. Powered-off and suspended VMs stay registered where they are (they reserve nothing).
//! 2. A VM no remaining host can take makes the answer *refused*, whatever the policy: the host
//!    could not be evacuated (vCenter's enter-maintenance task would wait for it). The decision
//!    lists those VMs with the placement engine's reason.
//! 3. Otherwise the policy is evaluated on the cluster with the host in maintenance (or standby,
//!    not counted by R-AC-0) and the VMs moved: allowed iff it is satisfied, or admission control
//!    is disabled. A cluster that already misses its level is refused (entering maintenance only
//!    removes capacity).
//!
//! Errors (not refusals): an unknown host, a host already in maintenance mode or standby, a host
//! that is disconnected or not responding (vCenter cannot put it in maintenance mode).

use std::collections::{BTreeSet, HashSet};
use std::fmt;

use crate::admission::{self, AdmissionReport, Decision};
use crate::error::{Error, Result};
use crate::model::{AdmissionControl, ConnectionState, Inventory};
use crate::placement::{place, HostAvailability, Outcome, PlacementIndex, PlacementState, UnplacedReason};

/// What the host enters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HostMode {
    Maintenance,
    Standby,
}

impl HostMode {
    /// `maintenance` or `standby`.
    pub fn as_str(self) -> &'static str {
        match self {
            HostMode::Maintenance => "maintenance",
            HostMode::Standby => "standby",
        }
    }

    /// `maintenance` / `standby`, else an argument error naming both.
    pub fn parse(text: &str) -> Result<HostMode> {
        match text {
            "maintenance" => Ok(HostMode::Maintenance),
            "standby" => Ok(HostMode::Standby),
            other => Err(Error::Argument(format!("mode must be 'maintenance' or 'standby', not '{other}'"))),
        }
    }

    fn phrase(self) -> &'static str {
        match self {
            HostMode::Maintenance => "maintenance mode",
            HostMode::Standby => "standby",
        }
    }
}

impl fmt::Display for HostMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A running VM moved off the host (by reservation, as DRS would).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Move {
    pub vm: String,
    pub to: String,
}

/// A running VM no remaining host can take, with the placement engine's reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unmovable {
    pub vm: String,
    pub reason: UnplacedReason,
}

/// The answer of [`check_enter_maintenance`].
#[derive(Debug, Clone, PartialEq)]
pub struct MaintenanceDecision {
    pub host: String,
    pub mode: HostMode,
    /// `allowed`, the sentence with the figures, and the policy's figures before (as it is) and
    /// after (host in maintenance or standby, its VMs moved).
    pub decision: Decision,
    /// Where each running VM goes, in the order they were placed.
    pub moves: Vec<Move>,
    /// Running VMs that cannot be moved; non-empty means refused.
    pub unmovable: Vec<Unmovable>,
}

/// May `host` (an id or an unambiguous name) enter `mode` under the configured admission
/// control (R-AC-MAINT)? See the module documentation for the rules.
pub fn check_enter_maintenance(inv: &Inventory, host: &str, mode: HostMode) -> Result<MaintenanceDecision> {
    let h = inv.resolve_host(host)?;
    let target = &inv.hosts[h];
    let label = inv.host_label(&target.id);
    if target.maintenance {
        return Err(Error::Argument(format!("host {label} is already in maintenance mode")));
    }
    if target.standby {
        return Err(Error::Argument(format!("host {label} is already in standby")));
    }
    match target.state {
        ConnectionState::Connected => {}
        ConnectionState::Disconnected => {
            return Err(Error::Argument(format!("host {label} is disconnected: it cannot enter {}", mode.phrase())))
        }
        ConnectionState::NotResponding => {
            return Err(Error::Argument(format!("host {label} is not responding: it cannot enter {}", mode.phrase())))
        }
    }

    // 1. Move the running VMs with the shared placement engine.
    let index = PlacementIndex::new(inv);
    let mut state = PlacementState::new(inv, &index);
    state.set_availability(
        h,
        match mode {
            HostMode::Maintenance => HostAvailability::Maintenance,
            HostMode::Standby => HostAvailability::Standby,
        },
    );
    if let AdmissionControl::FailoverHosts { hosts } = &inv.cluster.admission_control {
        // R-AC-FH: no migrations onto dedicated failover hosts.
        for f in hosts.iter().filter_map(|id| inv.host_idx(id)) {
            state.set_availability(f, HostAvailability::Standby);
        }
    }
    let running: Vec<usize> =
        index.vms_on_host(h).iter().map(|&v| v as usize).filter(|&v| index.is_powered_on(v)).collect();
    for &v in &running {
        state.remove_vm(inv, &index, v, h);
    }
    let mut moves = Vec::new();
    let mut unmovable = Vec::new();
    let mut new_host: Vec<(usize, usize)> = Vec::new();
    for outcome in place(inv, &index, &mut state, &running) {
        match outcome {
            Outcome::Placed { vm, host } => {
                moves.push(Move { vm: inv.vms[vm].id.clone(), to: inv.hosts[host].id.clone() });
                new_host.push((vm, host));
            }
            Outcome::Unplaced { vm, reason } => unmovable.push(Unmovable { vm: inv.vms[vm].id.clone(), reason }),
        }
    }

    // 2. The cluster afterwards: the host out of the count, the moved VMs on their new hosts.
    let mut hosts = inv.hosts.clone();
    match mode {
        HostMode::Maintenance => hosts[h].maintenance = true,
        HostMode::Standby => hosts[h].standby = true,
    }
    let mut vms = inv.vms.clone();
    for &(vm, to) in &new_host {
        vms[vm].host = Some(inv.hosts[to].id.clone());
    }
    let after_inv = Inventory::assemble(
        inv.cluster.clone(),
        hosts,
        inv.datastores.clone(),
        vms,
        inv.rules.clone(),
        inv.warnings.clone(),
    );
    let before = admission::evaluate(inv);
    let after = admission::evaluate(&after_inv);

    // 3. The verdict and its sentence.
    let disabled = matches!(inv.cluster.admission_control, AdmissionControl::Disabled);
    let allowed = unmovable.is_empty() && (disabled || after.figures.satisfied);
    let mut parts = Vec::new();
    if !unmovable.is_empty() {
        let names: Vec<String> = unmovable.iter().map(|u| format!("{} ({})", inv.vm_label(&u.vm), u.reason)).collect();
        parts.push(format!(
            "{} running VM{} cannot be moved to the remaining hosts by reservation: {}",
            unmovable.len(),
            if unmovable.len() == 1 { "" } else { "s" },
            join_limited(&names, 10)
        ));
    }
    if !moves.is_empty() {
        let targets: BTreeSet<&str> = moves.iter().map(|m| m.to.as_str()).collect();
        let targets: Vec<String> = targets.into_iter().map(|t| inv.host_label(t)).collect();
        parts.push(format!(
            "its {} running VM{} move{} to {} by reservation",
            moves.len(),
            if moves.len() == 1 { "" } else { "s" },
            if moves.len() == 1 { "s" } else { "" },
            join_limited(&targets, 10)
        ));
    } else if running.is_empty() {
        parts.push("it runs no powered-on VM".to_string());
    }
    parts.push(policy_clause(inv, h, &before, &after));
    let reason = format!(
        "{label} {} {}: {}",
        if allowed { "may enter" } else { "may not enter" },
        mode.phrase(),
        parts.join("; ")
    );
    Ok(MaintenanceDecision {
        host: target.id.clone(),
        mode,
        decision: Decision { allowed, reason, before: before.figures, after: after.figures },
        moves,
        unmovable,
    })
}

/// What the policy says before and after, with the figures.
fn policy_clause(inv: &Inventory, h: usize, before: &AdmissionReport, after: &AdmissionReport) -> String {
    let (b, a) = (&before.figures, &after.figures);
    let verdict = if a.satisfied { "the policy stays satisfied" } else { "the policy would not be satisfied" };
    match &inv.cluster.admission_control {
        AdmissionControl::Disabled => "admission control is disabled".to_string(),
        AdmissionControl::Slot { .. } => {
            let configured = after.configured_host_failures.unwrap_or(0);
            format!(
                "{verdict}: current failover level {} → {} (configured {configured}); without it {} slots, {} used, \
                 {} available (slot {} MHz / {} MB)",
                opt(b.current_failover_level),
                opt(a.current_failover_level),
                opt(a.total_slots),
                opt(a.used_slots),
                opt(a.available_slots),
                opt(a.slot_cpu_mhz),
                opt(a.slot_memory_mb),
            )
        }
        AdmissionControl::Percentage { .. } | AdmissionControl::PercentageAuto { .. } => format!(
            "{verdict}: current CPU failover capacity {} → {}, memory {} → {} (configured {} CPU, {} memory)",
            pct(b.cpu_failover_percent),
            pct(a.cpu_failover_percent),
            pct(b.memory_failover_percent),
            pct(a.memory_failover_percent),
            pct(after.configured_cpu_percent),
            pct(after.configured_memory_percent),
        ),
        AdmissionControl::FailoverHosts { hosts } => {
            let ids: HashSet<&str> = hosts.iter().map(String::as_str).collect();
            if ids.contains(inv.hosts[h].id.as_str()) {
                format!("{verdict}: it is a dedicated failover host, and every failover host must be available")
            } else {
                format!("{verdict}: the dedicated failover hosts are not affected")
            }
        }
    }
}

fn opt<T: fmt::Display>(v: Option<T>) -> String {
    v.map_or_else(|| "n/a".to_string(), |v| v.to_string())
}

fn pct(p: Option<f64>) -> String {
    p.map_or_else(|| "n/a".to_string(), |p| format!("{p:.2} %"))
}

fn join_limited(items: &[String], max: usize) -> String {
    if items.len() <= max {
        items.join(", ")
    } else {
        format!("{} and {} more", items[..max].join(", "), items.len() - max)
    }
}
