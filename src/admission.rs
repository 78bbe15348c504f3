//! Admission control (R-AC, docs/rules/admission.rst): does the cluster hold its failover promise, and may a user
//! operation (power-on, reservation change, migration into the cluster) go ahead?
//!
//! [`evaluate`] computes the figures vCenter shows for the configured policy; [`check`] answers
//! one what-if question. For many questions about one inventory, build an [`AdmissionContext`]
//! once (O(VMs + hosts·log hosts)): each [`AdmissionContext::check`] then costs O(1) unless the
//! operation changes the slot size or lowers a VM that may hold the largest reservation (then
//! it rescans the VMs), and [`AdmissionContext::apply`] / [`AdmissionContext::admit`] commit
//! operations for successive checks.
//!
//! Admission control never blocks HA's own restarts: failover placement (R-PLACE) does not
//! consult this module, which only gates user operations.
//!
//! Counted hosts (R-AC-0): not in maintenance or standby, not disconnected. A `notResponding`
//! host (failed but not removed from the cluster) is counted, as the HA Deepdive says; with
//! `engine.admissionCountsFailedHosts=false` it is not (the Availability Guide's "only hosts that
//! are connected"). Such a host is still no target for user power-ons, and no healthy failover
//! host (R-AC-FH).
//!
//! Engine decisions where the rule book is silent or loose (each is tested in `tests/admission.rs`):
//! - Counted VMs are the powered-on VMs wherever they run (a VM on a disconnected or failed
//!   host still holds its slot: HA will restart it). Suspended VMs are not counted.
//! - A fixed slot (`ClusterFixedSizeSlotPolicy`) *is* the slot size, as in vCenter: it replaces
//!   the computed size, the `das.vmCpuMinMHz` / `das.vmMemoryMinMB` floors and the
//!   `das.slotCpuInMHz` / `das.slotMemInMB` caps. VMs larger than it need several slots.
//! - A slot dimension is at least 1 (MHz or MB): with no reservation, no overhead and
//!   `das.vmMemoryMinMB = 0` the memory slot would be 0; it is 1 instead, so hosts are limited
//!   by CPU (and the report stays consistent: `host_slots = min(cpu / slot, mem / slot)`).
//! - An overcommitted cluster (more slots used than exist) is never satisfied, even with
//!   `host_failures = 0`: its true failover level is below 0.
//! - An operation that raises no admission demand (lowering a reservation, changing a
//!   powered-off VM) is always allowed, so a cluster that misses its level can still be fixed.
//! - Dedicated failover hosts: power-ons and migrations onto a failover host are refused;
//!   everywhere else that policy limits nothing.
//! - Lost hosts: "the k hosts with the most slots", ties broken by the smaller host id
//!   (bytewise), so reports do not depend on inventory order.
//! - Auto-computed percentages are compared exactly (`(total − req)·N ≥ k·total` in integers);
//!   explicit ones as floats.

use std::collections::{HashMap, HashSet};
use std::fmt;

use crate::capacity::{self, Resources};
use crate::error::{Error, Result};
use crate::model::{AdmissionControl, AdmissionPolicyKind, ConnectionState, Host, Inventory, Labels, Vm};
use crate::options::Options;

// ---------------------------------------------------------------------------------------------
// Public types
// ---------------------------------------------------------------------------------------------

/// The slot of R-AC-SLOT: the CPU and memory one "average worst-case" VM needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlotSize {
    pub cpu_mhz: u64,
    pub memory_mb: u64,
}

impl SlotSize {
    /// Slots a VM with admission demand `demand` needs (R-AC-SLOT):
    /// `max(ceil(cpu / slot_cpu), ceil(mem / slot_mem), 1)` — more than 1 only for a capped or
    /// fixed slot.
    pub fn slots_for(self, demand: Resources) -> u64 {
        if demand.cpu_mhz <= self.cpu_mhz && demand.memory_mb <= self.memory_mb {
            return 1; // the usual case (uncapped slot): no division
        }
        // why: divisors are `.max(1)`: never zero.
        let cpu = demand.cpu_mhz.div_ceil(self.cpu_mhz.max(1));
        let mem = demand.memory_mb.div_ceil(self.memory_mb.max(1));
        cpu.max(mem).max(1)
    }

    /// Slots a host of `capacity` holds: `min(floor(cpu / slot_cpu), floor(mem / slot_mem))`.
    pub fn host_slots(self, capacity: Resources) -> u64 {
        // why: divisors are `.max(1)`: never zero.
        (capacity.cpu_mhz / self.cpu_mhz.max(1)).min(capacity.memory_mb / self.memory_mb.max(1))
    }
}

impl fmt::Display for SlotSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} MHz / {} MB", self.cpu_mhz, self.memory_mb)
    }
}

/// Slots of one counted host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostSlots {
    pub host: String,
    pub slots: u64,
}

/// A host admission control does not count, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExcludedHost {
    pub host: String,
    /// `"disconnected"`, `"not responding"`, `"in maintenance mode"`, `"in standby"`, `"failed"`.
    pub reason: String,
}

/// State of a dedicated failover host (R-AC-FH).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FailoverHostState {
    /// Counted and running no powered-on VM: ready to take restarts.
    Healthy,
    /// Counted but running powered-on VMs.
    RunningVms,
    /// Not counted: disconnected, not responding, in maintenance or standby, or failed.
    Unavailable,
}

impl FailoverHostState {
    pub fn as_str(self) -> &'static str {
        match self {
            FailoverHostState::Healthy => "healthy",
            FailoverHostState::RunningVms => "runningVms",
            FailoverHostState::Unavailable => "unavailable",
        }
    }
}

impl fmt::Display for FailoverHostState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One dedicated failover host and its state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailoverHostStatus {
    pub host: String,
    pub state: FailoverHostState,
    /// Powered-on VMs running on it, sorted by id (may be non-empty when unavailable too).
    pub running_vms: Vec<String>,
    /// Why it is unavailable (same wording as [`ExcludedHost::reason`]).
    pub reason: Option<String>,
}

/// The figures that change when an operation is applied: what [`Decision`] compares.
/// Fields are `None` when the policy does not define them (slot figures for the slot policy,
/// percentages for the percentage policy).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AdmissionFigures {
    /// The configured failover promise is met.
    pub satisfied: bool,
    /// Slot policy: more slots used than exist. Other policies: a requirement exceeds capacity.
    pub overcommitted: bool,
    pub slot_cpu_mhz: Option<u64>,
    pub slot_memory_mb: Option<u64>,
    pub total_slots: Option<u64>,
    pub used_slots: Option<u64>,
    pub available_slots: Option<u64>,
    pub current_failover_level: Option<u32>,
    pub cpu_failover_percent: Option<f64>,
    pub memory_failover_percent: Option<f64>,
    /// Σ over counted VMs of `max(cpu_reservation, das.vmCpuMinMHz)`.
    pub required_cpu_mhz: u64,
    /// Σ over counted VMs of `memory_reservation + memory_overhead`.
    pub required_memory_mb: u64,
    /// Powered-on VMs.
    pub counted_vms: usize,
}

/// Everything vCenter shows about admission control, for the configured policy.
#[derive(Debug, Clone, PartialEq)]
pub struct AdmissionReport {
    pub policy: AdmissionPolicyKind,
    /// Slot policy and auto-computed percentages.
    pub configured_host_failures: Option<u32>,
    /// Percentage policy (explicit, or `k / N · 100` when auto-computed).
    pub configured_cpu_percent: Option<f64>,
    pub configured_memory_percent: Option<f64>,
    /// The figures of the current state (what [`Decision::before`] / [`Decision::after`] hold).
    pub figures: AdmissionFigures,
    /// Slot policy: slots per counted host, in inventory host order (empty otherwise).
    pub host_slots: Vec<HostSlots>,
    /// Counted hosts (R-AC), in inventory host order.
    pub counted_hosts: Vec<String>,
    /// Hosts not counted, in inventory host order.
    pub excluded_hosts: Vec<ExcludedHost>,
    /// Capacity of the counted hosts.
    pub total_cpu_mhz: u64,
    pub total_memory_mb: u64,
    /// Dedicated failover hosts, in configured order (empty for other policies).
    pub failover_hosts: Vec<FailoverHostStatus>,
    /// Human sentences: what is wrong, what is unusual (order independent of inventory order).
    pub messages: Vec<String>,
    /// R-AC-PERF figures and warning; `None` when `resource_reduction_to_tolerate_percent` is
    /// not configured or admission control is disabled.
    pub performance_degradation: Option<PerformanceDegradation>,
}

/// "Performance degradation VMs tolerate" (R-AC-PERF, 6.5+): the cluster's current demand
/// against the capacity left after the configured failures. A warning, never a block.
#[derive(Debug, Clone, PartialEq)]
pub struct PerformanceDegradation {
    /// The configured `resource_reduction_to_tolerate_percent` p.
    pub tolerated_percent: u32,
    /// What "the configured failures" are: `"the 1 largest host"`, `"the failover hosts"`,
    /// `"the reserved 25 % CPU / 25 % memory"`.
    pub failures: String,
    /// Capacity of the counted hosts left after the configured failures.
    pub remaining_cpu_mhz: u64,
    pub remaining_memory_mb: u64,
    /// Σ `cpu_usage_mhz` / `memory_usage_mb` of the powered-on VMs (their reservation when the
    /// figure is unknown).
    pub demand_cpu_mhz: u64,
    pub demand_memory_mb: u64,
    /// Powered-on VMs without a CPU or memory usage figure (they count their reservation).
    pub vms_without_usage: usize,
    /// Share of the demand the remaining capacity cannot serve, `max(0, 1 − remaining / demand)
    /// · 100` (0 without demand).
    pub cpu_reduction_percent: f64,
    pub memory_reduction_percent: f64,
    /// `demand × (1 − p/100) > remaining`, per resource.
    pub cpu_warning: bool,
    pub memory_warning: bool,
}

impl PerformanceDegradation {
    /// Either resource warns.
    pub fn warning(&self) -> bool {
        self.cpu_warning || self.memory_warning
    }

    /// One sentence with the figures.
    pub fn summary(&self) -> String {
        let verdict = if self.warning() {
            let which: Vec<&str> = [("CPU", self.cpu_warning), ("memory", self.memory_warning)]
                .iter()
                .filter(|(_, w)| *w)
                .map(|(n, _)| *n)
                .collect();
            format!(
                "WARNING: after a failure VMs would lose more than the tolerated {} % of their {}",
                self.tolerated_percent,
                which.join(" and ")
            )
        } else {
            format!("within the tolerated {} % reduction", self.tolerated_percent)
        };
        let mut s = format!(
            "performance degradation (R-AC-PERF): {verdict}; demand {} MHz / {} MB against {} MHz / {} MB left without {} \
             (reduction {:.1} % CPU, {:.1} % memory)",
            self.demand_cpu_mhz,
            self.demand_memory_mb,
            self.remaining_cpu_mhz,
            self.remaining_memory_mb,
            self.failures,
            self.cpu_reduction_percent,
            self.memory_reduction_percent,
        );
        if self.vms_without_usage > 0 {
            s.push_str(&format!(
                "; {} VM{} without usage figures counted by reservation",
                self.vms_without_usage,
                plural(self.vms_without_usage as u64)
            ));
        }
        s
    }
}

/// A user operation to check against admission control.
#[derive(Debug, Clone, PartialEq)]
pub enum Operation {
    /// Power on a VM of the inventory that is not powered on (its figures and target host are
    /// taken from this `Vm`; a `None` host falls back to the inventory's), or a VM new to the
    /// cluster, on `vm.host`.
    PowerOn(Vm),
    /// Set a VM's reservations (its memory overhead is unchanged).
    ChangeReservation { vm: String, cpu_reservation_mhz: u64, memory_reservation_mb: u64 },
    /// A powered-on VM from outside the cluster migrates onto `vm.host`.
    MigrateIn(Vm),
}

impl Operation {
    /// The id of the VM the operation is about.
    pub fn vm_id(&self) -> &str {
        match self {
            Operation::PowerOn(vm) | Operation::MigrateIn(vm) => &vm.id,
            Operation::ChangeReservation { vm, .. } => vm,
        }
    }

    /// The inventory with the operation applied (validated like [`check`]). This is the
    /// reference semantics of an operation: `check(inv, op).after` equals the figures of
    /// `evaluate(&op.apply_to(inv)?)`.
    pub fn apply_to(&self, inv: &Inventory) -> Result<Inventory> {
        let ctx = AdmissionContext::new(inv);
        let change = ctx.resolve(self)?;
        let mut vms = inv.vms.clone();
        match self {
            Operation::ChangeReservation { cpu_reservation_mhz, memory_reservation_mb, .. } => {
                if let Some(vm) = change.index.and_then(|i| vms.get_mut(i)) {
                    vm.cpu_reservation_mhz = *cpu_reservation_mhz;
                    vm.memory_reservation_mb = *memory_reservation_mb;
                }
            }
            Operation::PowerOn(vm) | Operation::MigrateIn(vm) => {
                let mut vm = vm.clone();
                vm.power_state = crate::model::PowerState::PoweredOn;
                vm.host = change.new.host.map(|h| inv.hosts[h].id.clone());
                match change.index.and_then(|i| vms.get_mut(i)) {
                    Some(existing) => *existing = vm,
                    None => vms.push(vm),
                }
            }
        }
        Ok(Inventory::assemble(
            inv.cluster.clone(),
            inv.hosts.clone(),
            inv.datastores.clone(),
            vms,
            inv.rules.clone(),
            inv.warnings.clone(),
        ))
    }
}

/// The answer to a what-if question.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    pub allowed: bool,
    /// One sentence with the figures, e.g. "would lower current failover level from 1 to 0
    /// (needs 6 slots, 5 left after losing host-10)".
    pub reason: String,
    /// Figures of the cluster as it is.
    pub before: AdmissionFigures,
    /// Figures with the operation applied.
    pub after: AdmissionFigures,
}

impl fmt::Display for Decision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", if self.allowed { "allowed" } else { "refused" }, self.reason)
    }
}

// ---------------------------------------------------------------------------------------------
// Entry points
// ---------------------------------------------------------------------------------------------

/// Admission control figures for the inventory's configured policy (R-AC).
pub fn evaluate(inv: &Inventory) -> AdmissionReport {
    AdmissionContext::new(inv).report()
}

/// Like [`evaluate`], treating the named hosts as failed (not counted; their VMs still count).
pub fn evaluate_with_failed(inv: &Inventory, failed_hosts: &HashSet<String>) -> Result<AdmissionReport> {
    Ok(AdmissionContext::with_failed_hosts(inv, failed_hosts)?.report())
}

/// May `op` go ahead? The operation is applied and the policy re-evaluated (the slot size may
/// grow). Errors: unknown VM or host, a VM already powered on or already in the cluster, a
/// target host that cannot run VMs.
pub fn check(inv: &Inventory, op: &Operation) -> Result<Decision> {
    AdmissionContext::new(inv).check(op)
}

// ---------------------------------------------------------------------------------------------
// Incremental state
// ---------------------------------------------------------------------------------------------

/// What admission control counts of one VM.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct VmState {
    /// CPU reservation; memory reservation plus overhead.
    reservation: Resources,
    memory_overhead_mb: u64,
    powered_on: bool,
}

impl VmState {
    #[inline]
    fn of(vm: &Vm) -> VmState {
        VmState {
            reservation: capacity::vm_reservation(vm),
            memory_overhead_mb: vm.memory_overhead_mb,
            powered_on: vm.is_powered_on(),
        }
    }
}

/// A VM's state and host index. Scans read only [`VmState`]: looking up every VM's host id
/// would cost more than the whole evaluation, and only R-AC-FH needs hosts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Entry {
    state: VmState,
    host: Option<usize>,
}

/// Sums and maxima of the counted VMs' admission demands.
#[derive(Debug, Clone, Copy, Default)]
struct Aggregates {
    vms: usize,
    required: Resources,
    /// Largest demand per dimension (0 with no VM).
    max: Resources,
}

impl Aggregates {
    #[inline]
    fn add(&mut self, d: Resources) {
        self.vms += 1;
        self.required = self.required.saturating_add(d);
        self.max = Resources::new(self.max.cpu_mhz.max(d.cpu_mhz), self.max.memory_mb.max(d.memory_mb));
    }

    /// Removes one counted VM's demand. `false` when it may have held a maximum: the caller
    /// must rescan to find the new maximum (rare: only a reservation change does this).
    fn remove(&mut self, d: Resources) -> bool {
        self.vms = self.vms.saturating_sub(1);
        self.required = self.required.saturating_sub(d);
        d.cpu_mhz < self.max.cpu_mhz && d.memory_mb < self.max.memory_mb
    }
}

/// Slots of the counted hosts for one slot size, with "slots left after losing the k largest".
// why: (indexing in this file) `per_host`, `by_size` index `counted` positions; `remaining` has
// `counted.len() + 1` entries and is read at `k.min(len)` or `[..hosts]`; host indexes come
// from `0..inv.hosts.len()`.
#[derive(Debug, Clone)]
struct SlotTable {
    slot: SlotSize,
    /// Aligned with `AdmissionContext::counted`.
    per_host: Vec<u64>,
    /// Positions into `counted`: most slots first, ties by the smaller host id.
    by_size: Vec<usize>,
    /// `remaining[k]` = slots left after losing `by_size[..k]`; `len = counted + 1`.
    remaining: Vec<u64>,
}

impl SlotTable {
    fn new(slot: SlotSize, inv: &Inventory, counted: &[usize]) -> SlotTable {
        let per_host: Vec<u64> =
            counted.iter().map(|&h| slot.host_slots(capacity::host_capacity(&inv.hosts[h]))).collect();
        let mut by_size: Vec<usize> = (0..counted.len()).collect();
        by_size.sort_by(|&a, &b| {
            per_host[b]
                .cmp(&per_host[a])
                .then_with(|| inv.hosts[counted[a]].id.as_bytes().cmp(inv.hosts[counted[b]].id.as_bytes()))
        });
        let total = per_host.iter().fold(0u64, |s, &x| s.saturating_add(x));
        let mut remaining = Vec::with_capacity(by_size.len() + 1);
        remaining.push(total);
        for &p in &by_size {
            let last = *remaining.last().unwrap_or(&0);
            remaining.push(last.saturating_sub(per_host[p]));
        }
        SlotTable { slot, per_host, by_size, remaining }
    }

    fn total(&self) -> u64 {
        self.remaining[0]
    }

    /// Slots left after losing the `k` hosts with the most slots.
    fn after_losing(&self, k: u32) -> u64 {
        self.remaining[(k as usize).min(self.by_size.len())]
    }

    /// R-AC-SLOT current failover level for `used` slots, and whether even k = 0 fails.
    fn level(&self, used: u64) -> (u32, bool) {
        let hosts = self.by_size.len();
        let overcommitted = self.total() < used;
        if overcommitted || hosts == 0 {
            return (0, overcommitted);
        }
        // `remaining` never increases, so the k in 0..N that still hold `used` form a prefix.
        let holding = self.remaining[..hosts].partition_point(|&r| r >= used);
        // why: not overcommitted, so remaining[0] = total >= used and holding >= 1; holding <= hosts < 2^32.
        ((holding - 1) as u32, false)
    }
}

/// Slot figures of one state: the table in force and the used slots.
#[derive(Debug, Clone)]
struct SlotState {
    table: SlotTable,
    used: u64,
}

/// A resolved operation: which VM entry changes, from what to what.
#[derive(Debug, Clone)]
struct Change {
    kind: OpKind,
    vm_id: String,
    /// VM index (see [`AdmissionContext::entry`]) of an existing VM; `None` for a VM new to
    /// the cluster.
    index: Option<usize>,
    old: Option<Entry>,
    new: Entry,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OpKind {
    PowerOn,
    ChangeReservation,
    MigrateIn,
}

/// The state after a (hypothetical) change.
struct Outcome {
    aggregates: Aggregates,
    /// Slot policy only: the new table when the slot size changed (`None`: unchanged), and
    /// the used slots.
    slots: Option<(Option<SlotTable>, u64)>,
    figures: AdmissionFigures,
}

/// Admission control state of one inventory, for fast successive what-if checks.
#[derive(Debug, Clone)]
pub struct AdmissionContext<'a> {
    inv: &'a Inventory,
    failed: Vec<bool>,
    /// Host indexes counted by R-AC, inventory order.
    counted: Vec<usize>,
    is_counted: Vec<bool>,
    capacity: Resources,
    /// VM indexes: inventory VMs (same indexes), then `added`.
    /// Inventory VMs changed by applied operations (usually none).
    changed: HashMap<usize, Entry>,
    /// VMs new to the cluster, added by applied operations, with their ids.
    added: Vec<(String, Entry)>,
    added_index: HashMap<String, usize>,
    /// The policy is R-AC-FH: `running` is maintained.
    tracks_hosts: bool,
    /// Powered-on VMs per failover host index (R-AC-FH only; 0 for other hosts).
    running: Vec<usize>,
    aggregates: Aggregates,
    slots: Option<SlotState>,
    figures: AdmissionFigures,
}

impl<'a> AdmissionContext<'a> {
    /// State of the inventory as it is. O(VMs + hosts·log hosts).
    pub fn new(inv: &'a Inventory) -> AdmissionContext<'a> {
        Self::build(inv, vec![false; inv.hosts.len()])
    }

    /// State with the named hosts treated as failed: not counted (R-AC), their VMs still count.
    pub fn with_failed_hosts(inv: &'a Inventory, failed_hosts: &HashSet<String>) -> Result<AdmissionContext<'a>> {
        let mut failed = vec![false; inv.hosts.len()];
        let mut ids: Vec<&String> = failed_hosts.iter().collect();
        ids.sort();
        for id in ids {
            let h = inv.resolve_host(id)?; // an id or an unambiguous name
            failed[h] = true;
        }
        Ok(Self::build(inv, failed))
    }

    fn build(inv: &'a Inventory, failed: Vec<bool>) -> AdmissionContext<'a> {
        let counts_failed = inv.options().admission_counts_failed_hosts;
        let is_counted: Vec<bool> =
            inv.hosts.iter().zip(&failed).map(|(h, &f)| capacity::host_is_counted(h, f, counts_failed)).collect();
        let counted: Vec<usize> = (0..inv.hosts.len()).filter(|&h| is_counted[h]).collect();
        let capacity =
            counted.iter().fold(Resources::default(), |s, &h| s.saturating_add(capacity::host_capacity(&inv.hosts[h])));
        let tracks_hosts = matches!(inv.cluster.admission_control, AdmissionControl::FailoverHosts { .. });
        let mut running = vec![0usize; inv.hosts.len()];
        if let AdmissionControl::FailoverHosts { hosts } = &inv.cluster.admission_control {
            // Only failover hosts' counts matter; comparing with the short list beats hashing
            // every VM's host id.
            for vm in inv.vms.iter().filter(|v| v.is_powered_on()) {
                let on_failover_host = vm.host.as_deref().and_then(|h| hosts.iter().find(|f| *f == h));
                if let Some(h) = on_failover_host.and_then(|h| inv.host_idx(h)) {
                    running[h] += 1;
                }
            }
        }
        let mut ctx = AdmissionContext {
            inv,
            failed,
            counted,
            is_counted,
            capacity,
            changed: HashMap::new(),
            added: Vec::new(),
            added_index: HashMap::new(),
            tracks_hosts,
            running,
            aggregates: Aggregates::default(),
            slots: None,
            figures: empty_figures(),
        };
        ctx.aggregates = ctx.scan_aggregates(None);
        if ctx.is_slot_policy() {
            let table = SlotTable::new(ctx.slot_size(ctx.aggregates.max), inv, &ctx.counted);
            let used = ctx.scan_used_slots(table.slot, None);
            ctx.slots = Some(SlotState { table, used });
        }
        ctx.figures = ctx.figures_of(&ctx.aggregates, ctx.slots.as_ref().map(|s| (&s.table, s.used)), None);
        ctx
    }

    pub fn inventory(&self) -> &'a Inventory {
        self.inv
    }

    /// Figures of the current state.
    pub fn figures(&self) -> AdmissionFigures {
        self.figures
    }

    /// May `op` go ahead? Nothing is changed.
    pub fn check(&self, op: &Operation) -> Result<Decision> {
        let change = self.resolve(op)?;
        let outcome = self.outcome(&change);
        Ok(self.decide(&change, &outcome))
    }

    /// Applies `op` whatever admission control says (validation errors still apply), and
    /// returns the decision it would have made.
    pub fn apply(&mut self, op: &Operation) -> Result<Decision> {
        let change = self.resolve(op)?;
        let outcome = self.outcome(&change);
        let decision = self.decide(&change, &outcome);
        self.commit(change, outcome);
        Ok(decision)
    }

    /// Applies `op` only when admission control allows it (as vCenter does for user
    /// operations).
    pub fn admit(&mut self, op: &Operation) -> Result<Decision> {
        let change = self.resolve(op)?;
        let outcome = self.outcome(&change);
        let decision = self.decide(&change, &outcome);
        if decision.allowed {
            self.commit(change, outcome);
        }
        Ok(decision)
    }

    /// The full report of the current state.
    pub fn report(&self) -> AdmissionReport {
        let inv = self.inv;
        let (configured_cpu_percent, configured_memory_percent) = match self.configured_percent() {
            Some(p) => (Some(p.cpu), Some(p.memory)),
            None => (None, None),
        };
        let host_slots = match &self.slots {
            Some(s) => self
                .counted
                .iter()
                .zip(&s.table.per_host)
                .map(|(&h, &slots)| HostSlots { host: inv.hosts[h].id.clone(), slots })
                .collect(),
            None => Vec::new(),
        };
        let excluded_hosts = (0..inv.hosts.len())
            .filter(|&h| !self.is_counted[h])
            .map(|h| ExcludedHost { host: inv.hosts[h].id.clone(), reason: self.exclusion_reason(h).to_string() })
            .collect();
        let failover_hosts = self.failover_host_statuses();
        let messages = self.messages(&failover_hosts);
        AdmissionReport {
            policy: self.policy().kind(),
            configured_host_failures: self.configured_host_failures(),
            configured_cpu_percent,
            configured_memory_percent,
            figures: self.figures,
            host_slots,
            counted_hosts: self.counted.iter().map(|&h| inv.hosts[h].id.clone()).collect(),
            excluded_hosts,
            total_cpu_mhz: self.capacity.cpu_mhz,
            total_memory_mb: self.capacity.memory_mb,
            failover_hosts,
            messages,
            performance_degradation: self.performance_degradation(),
        }
    }

    // --- configuration ----------------------------------------------------------------------

    fn policy(&self) -> &'a AdmissionControl {
        &self.inv.cluster.admission_control
    }

    fn options(&self) -> &'a Options {
        self.inv.options()
    }

    fn is_slot_policy(&self) -> bool {
        matches!(self.policy(), AdmissionControl::Slot { .. })
    }

    fn configured_host_failures(&self) -> Option<u32> {
        match *self.policy() {
            AdmissionControl::Slot { host_failures, .. } | AdmissionControl::PercentageAuto { host_failures } => {
                Some(host_failures)
            }
            _ => None,
        }
    }

    /// Configured percentages (R-AC-PCT); auto-computed ones are `k / N · 100`.
    fn configured_percent(&self) -> Option<Percentages> {
        match *self.policy() {
            AdmissionControl::Percentage { cpu_percent, memory_percent } => {
                Some(Percentages { cpu: cpu_percent, memory: memory_percent })
            }
            AdmissionControl::PercentageAuto { host_failures } => {
                let n = self.counted.len();
                // why: n == 0 handled; float division cannot panic.
                let p = if n == 0 { 100.0 } else { host_failures as f64 / n as f64 * 100.0 };
                Some(Percentages { cpu: p, memory: p })
            }
            _ => None,
        }
    }

    fn failover_host_ids(&self) -> &'a [String] {
        match self.policy() {
            AdmissionControl::FailoverHosts { hosts } => hosts,
            _ => &[],
        }
    }

    /// R-AC-SLOT slot size for the largest counted demands `max`.
    fn slot_size(&self, max: Resources) -> SlotSize {
        let o = self.options();
        let (fixed_cpu, fixed_mem) = match *self.policy() {
            AdmissionControl::Slot { slot_cpu_mhz, slot_memory_mb, .. } => (slot_cpu_mhz, slot_memory_mb),
            _ => (None, None),
        };
        let capped = |value: u64, cap: Option<u64>| cap.map_or(value, |c| value.min(c));
        let cpu = fixed_cpu.unwrap_or_else(|| capped(max.cpu_mhz.max(o.vm_cpu_min_mhz), o.slot_cpu_cap_mhz));
        let mem = fixed_mem.unwrap_or_else(|| capped(max.memory_mb.max(o.vm_memory_min_mb), o.slot_memory_cap_mb));
        SlotSize { cpu_mhz: cpu.max(1), memory_mb: mem.max(1) }
    }

    #[inline]
    fn demand(&self, vm: &VmState) -> Resources {
        capacity::admission_demand(vm.reservation, self.options().vm_cpu_min_mhz)
    }

    /// Counted by R-AC-0 although `notResponding` (failed but not removed from the cluster).
    fn counted_but_not_responding(&self, h: usize) -> bool {
        self.is_counted[h] && self.inv.hosts[h].state == ConnectionState::NotResponding
    }

    fn exclusion_reason(&self, h: usize) -> &'static str {
        exclusion_reason(&self.inv.hosts[h], self.failed[h], self.options().admission_counts_failed_hosts)
            .unwrap_or("counted")
    }

    // --- scans (O(VMs)) ---------------------------------------------------------------------

    /// The counted figures of inventory VM `i` (no host look-up).
    #[inline]
    fn inventory_state(&self, i: usize, vm: &Vm) -> VmState {
        if self.changed.is_empty() {
            VmState::of(vm)
        } else {
            self.changed_state(i, vm)
        }
    }

    #[cold]
    fn changed_state(&self, i: usize, vm: &Vm) -> VmState {
        self.changed.get(&i).map_or_else(|| VmState::of(vm), |e| e.state)
    }

    /// State and host of VM index `i`.
    fn entry(&self, i: usize) -> Entry {
        match self.inv.vms.get(i) {
            Some(vm) => self.changed.get(&i).copied().unwrap_or_else(|| Entry {
                state: VmState::of(vm),
                host: vm.host.as_deref().and_then(|h| self.inv.host_idx(h)),
            }),
            None => self.added[i - self.inv.vms.len()].1,
        }
    }

    /// VM states (in VM index order) with `change` applied. Consume it with internal
    /// iteration (`fold`, `for_each`): it is the hot loop of [`evaluate`].
    fn states_with<'s>(&'s self, change: Option<&'s Change>) -> impl Iterator<Item = VmState> + 's {
        let replacement = change.and_then(|c| c.index.map(|i| (i, c.new.state)));
        let replaced = move |i: usize, current: VmState| match replacement {
            Some((r, new)) if r == i => new,
            _ => current,
        };
        let inventory_vms = self.inv.vms.len();
        let inventory = self.inv.vms.iter().enumerate().map(move |(i, vm)| replaced(i, self.inventory_state(i, vm)));
        let added = self.added.iter().enumerate().map(move |(j, (_, e))| replaced(inventory_vms + j, e.state));
        let extra = change.filter(|c| c.index.is_none()).map(|c| c.new.state);
        inventory.chain(added).chain(extra)
    }

    fn scan_aggregates(&self, change: Option<&Change>) -> Aggregates {
        let vm_cpu_min_mhz = self.options().vm_cpu_min_mhz;
        self.states_with(change).filter(|v| v.powered_on).fold(Aggregates::default(), |mut agg, vm| {
            agg.add(capacity::admission_demand(vm.reservation, vm_cpu_min_mhz));
            agg
        })
    }

    fn scan_used_slots(&self, slot: SlotSize, change: Option<&Change>) -> u64 {
        self.states_with(change)
            .filter(|v| v.powered_on)
            .fold(0u64, |s, vm| s.saturating_add(slot.slots_for(self.demand(&vm))))
    }

    // --- operations -------------------------------------------------------------------------

    fn find_vm(&self, id: &str) -> Option<usize> {
        self.inv.vm_idx(id).or_else(|| self.added_index.get(id).map(|&i| self.inv.vms.len() + i))
    }

    /// A target host for a power-on or migration: known and able to run VMs.
    fn target_host(&self, id: &str) -> Result<usize> {
        let h = self.inv.resolve_host(id)?; // an id or an unambiguous name
        if !self.is_counted[h] || self.counted_but_not_responding(h) {
            let why = if self.is_counted[h] { "not responding" } else { self.exclusion_reason(h) };
            return Err(Error::Argument(format!("host '{id}' is {why}: no VM can be powered on or migrated there")));
        }
        Ok(h)
    }

    fn resolve(&self, op: &Operation) -> Result<Change> {
        match op {
            Operation::PowerOn(vm) => {
                let index = self.find_vm(&vm.id);
                let old = index.map(|i| self.entry(i));
                if old.is_some_and(|o| o.state.powered_on) {
                    return Err(Error::Argument(format!("VM '{}' is already powered on", vm.id)));
                }
                let host = match (&vm.host, old.and_then(|o| o.host)) {
                    (Some(id), _) => self.target_host(id)?,
                    (None, Some(h)) => self.target_host(&self.inv.hosts[h].id)?,
                    (None, None) => {
                        return Err(Error::Argument(format!("power-on of VM '{}' needs a target host", vm.id)))
                    }
                };
                let new = Entry { state: VmState { powered_on: true, ..VmState::of(vm) }, host: Some(host) };
                Ok(Change { kind: OpKind::PowerOn, vm_id: vm.id.clone(), index, old, new })
            }
            Operation::MigrateIn(vm) => {
                if self.find_vm(&vm.id).is_some() {
                    return Err(Error::Argument(format!("VM '{}' is already in the cluster", vm.id)));
                }
                let id = vm
                    .host
                    .as_deref()
                    .ok_or_else(|| Error::Argument(format!("migration of VM '{}' needs a target host", vm.id)))?;
                let host = self.target_host(id)?;
                let new = Entry { state: VmState { powered_on: true, ..VmState::of(vm) }, host: Some(host) };
                Ok(Change { kind: OpKind::MigrateIn, vm_id: vm.id.clone(), index: None, old: None, new })
            }
            Operation::ChangeReservation { vm, cpu_reservation_mhz, memory_reservation_mb } => {
                let i = self.find_vm(vm).ok_or_else(|| Error::UnknownId { kind: "vm", id: vm.clone() })?;
                let old = self.entry(i);
                let memory = memory_reservation_mb.saturating_add(old.state.memory_overhead_mb);
                let reservation = Resources::new(*cpu_reservation_mhz, memory);
                let new = Entry { state: VmState { reservation, ..old.state }, ..old };
                Ok(Change { kind: OpKind::ChangeReservation, vm_id: vm.clone(), index: Some(i), old: Some(old), new })
            }
        }
    }

    /// The state after `change`, computed from the current one (rescanning only when needed).
    fn outcome(&self, change: &Change) -> Outcome {
        let mut agg = self.aggregates;
        let mut exact = true;
        if let Some(old) = change.old.map(|o| o.state).filter(|o| o.powered_on) {
            exact = agg.remove(self.demand(&old));
        }
        if change.new.state.powered_on {
            agg.add(self.demand(&change.new.state));
        }
        if !exact {
            agg = self.scan_aggregates(Some(change));
        }
        let slots = self.slots.as_ref().map(|current| {
            let slot = self.slot_size(agg.max);
            if slot == current.table.slot {
                let held = |vm: Option<Entry>| {
                    vm.map(|e| e.state).filter(|v| v.powered_on).map_or(0, |v| slot.slots_for(self.demand(&v)))
                };
                let used = current.used.saturating_sub(held(change.old)).saturating_add(held(Some(change.new)));
                (None, used)
            } else {
                // The slot size changed: every VM's slot count and every host's slots may change.
                let table = SlotTable::new(slot, self.inv, &self.counted);
                let used = self.scan_used_slots(slot, Some(change));
                (Some(table), used)
            }
        });
        let table_view = match &slots {
            Some((Some(table), used)) => Some((table, *used)),
            Some((None, used)) => self.slots.as_ref().map(|s| (&s.table, *used)),
            None => None,
        };
        let figures = self.figures_of(&agg, table_view, Some(change));
        Outcome { aggregates: agg, slots, figures }
    }

    fn commit(&mut self, change: Change, outcome: Outcome) {
        if self.tracks_hosts {
            if let Some(h) = change.old.filter(|o| o.state.powered_on).and_then(|o| o.host) {
                self.running[h] = self.running[h].saturating_sub(1);
            }
            if let Some(h) = Some(change.new).filter(|n| n.state.powered_on).and_then(|n| n.host) {
                self.running[h] += 1;
            }
        }
        let inventory_vms = self.inv.vms.len();
        match change.index {
            Some(i) if i < inventory_vms => {
                self.changed.insert(i, change.new);
            }
            Some(i) => {
                if let Some(entry) = self.added.get_mut(i - inventory_vms) {
                    entry.1 = change.new;
                }
            }
            None => {
                self.added_index.insert(change.vm_id.clone(), self.added.len());
                self.added.push((change.vm_id, change.new));
            }
        }
        self.aggregates = outcome.aggregates;
        if let (Some(state), Some((table, used))) = (self.slots.as_mut(), outcome.slots) {
            if let Some(table) = table {
                state.table = table;
            }
            state.used = used;
        }
        self.figures = outcome.figures;
    }

    // --- figures ----------------------------------------------------------------------------

    /// Powered-on VMs on host `h` with `change` applied.
    fn running_on(&self, h: usize, change: Option<&Change>) -> usize {
        let mut n = self.running[h];
        if let Some(c) = change {
            if c.old.is_some_and(|o| o.state.powered_on && o.host == Some(h)) {
                n = n.saturating_sub(1);
            }
            if c.new.state.powered_on && c.new.host == Some(h) {
                n += 1;
            }
        }
        n
    }

    fn figures_of(
        &self,
        agg: &Aggregates,
        slots: Option<(&SlotTable, u64)>,
        change: Option<&Change>,
    ) -> AdmissionFigures {
        let mut f = AdmissionFigures {
            required_cpu_mhz: agg.required.cpu_mhz,
            required_memory_mb: agg.required.memory_mb,
            counted_vms: agg.vms,
            overcommitted: !self.capacity.covers(agg.required),
            ..empty_figures()
        };
        match *self.policy() {
            // R-AC-SLOT
            AdmissionControl::Slot { host_failures, .. } => {
                if let Some((table, used)) = slots {
                    let (level, overcommitted) = table.level(used);
                    f.slot_cpu_mhz = Some(table.slot.cpu_mhz);
                    f.slot_memory_mb = Some(table.slot.memory_mb);
                    f.total_slots = Some(table.total());
                    f.used_slots = Some(used);
                    f.available_slots = Some(table.after_losing(host_failures).saturating_sub(used));
                    f.current_failover_level = Some(level);
                    f.overcommitted = overcommitted;
                    f.satisfied = !overcommitted && level >= host_failures;
                }
            }
            // R-AC-PCT
            AdmissionControl::Percentage { cpu_percent, memory_percent } => {
                let cpu = failover_percent(self.capacity.cpu_mhz, agg.required.cpu_mhz);
                let mem = failover_percent(self.capacity.memory_mb, agg.required.memory_mb);
                f.cpu_failover_percent = cpu;
                f.memory_failover_percent = mem;
                f.satisfied = self.counted.len() >= 2
                    && cpu.is_some_and(|p| p >= cpu_percent)
                    && mem.is_some_and(|p| p >= memory_percent);
            }
            AdmissionControl::PercentageAuto { host_failures } => {
                let n = self.counted.len() as u64;
                f.cpu_failover_percent = failover_percent(self.capacity.cpu_mhz, agg.required.cpu_mhz);
                f.memory_failover_percent = failover_percent(self.capacity.memory_mb, agg.required.memory_mb);
                f.satisfied = n >= 2
                    && holds_fraction(self.capacity.cpu_mhz, agg.required.cpu_mhz, host_failures as u64, n)
                    && holds_fraction(self.capacity.memory_mb, agg.required.memory_mb, host_failures as u64, n);
            }
            // R-AC-FH: every failover host counted, responding (healthy) and empty.
            AdmissionControl::FailoverHosts { ref hosts } => {
                f.satisfied = hosts.iter().all(|id| {
                    self.inv.host_idx(id).is_some_and(|h| {
                        self.is_counted[h] && !self.counted_but_not_responding(h) && self.running_on(h, change) == 0
                    })
                });
            }
            AdmissionControl::Disabled => f.satisfied = true,
        }
        f
    }

    fn failover_host_statuses(&self) -> Vec<FailoverHostStatus> {
        let ids = self.failover_host_ids();
        if ids.is_empty() {
            return Vec::new();
        }
        // Position in the failover list, by host index.
        let mut position: Vec<Option<usize>> = vec![None; self.inv.hosts.len()];
        for (pos, id) in ids.iter().enumerate() {
            if let Some(h) = self.inv.host_idx(id) {
                position[h] = Some(pos);
            }
        }
        let mut running: Vec<Vec<String>> = vec![Vec::new(); ids.len()];
        // `running` counts are kept up to date: list the VMs only when some failover host has any.
        if ids.iter().filter_map(|id| self.inv.host_idx(id)).any(|h| self.running[h] > 0) {
            for (i, vm) in self.inv.vms.iter().enumerate() {
                let pos = if self.changed.is_empty() || !self.changed.contains_key(&i) {
                    // Compare with the short failover list rather than hash every VM's host id.
                    let host = vm.host.as_deref().filter(|_| vm.is_powered_on());
                    host.and_then(|h| ids.iter().position(|f| f == h))
                } else {
                    Some(self.entry(i)).filter(|e| e.state.powered_on).and_then(|e| e.host).and_then(|h| position[h])
                };
                if let Some(pos) = pos {
                    running[pos].push(vm.id.clone());
                }
            }
            for (id, entry) in &self.added {
                if let Some(pos) = entry.host.filter(|_| entry.state.powered_on).and_then(|h| position[h]) {
                    running[pos].push(id.clone());
                }
            }
        }
        ids.iter()
            .zip(running)
            .map(|(id, mut running_vms)| {
                running_vms.sort();
                let (state, reason) = match self.inv.host_idx(id) {
                    Some(h) if !self.is_counted[h] => {
                        (FailoverHostState::Unavailable, Some(self.exclusion_reason(h).to_string()))
                    }
                    // Counted (R-AC-0), but it cannot take the failover it is reserved for.
                    Some(h) if self.counted_but_not_responding(h) => {
                        (FailoverHostState::Unavailable, Some("not responding".to_string()))
                    }
                    Some(_) if !running_vms.is_empty() => (FailoverHostState::RunningVms, None),
                    Some(_) => (FailoverHostState::Healthy, None),
                    None => (FailoverHostState::Unavailable, Some("not in the inventory".to_string())),
                };
                FailoverHostStatus { host: id.clone(), state, running_vms, reason }
            })
            .collect()
    }

    fn vm_id(&self, i: usize) -> &str {
        match self.inv.vms.get(i) {
            Some(vm) => &vm.id,
            None => &self.added[i - self.inv.vms.len()].0,
        }
    }

    // --- words ------------------------------------------------------------------------------

    /// Hosts in id order, as readers see them (`host-21 (esx-01)`), at most 4 named.
    fn host_list(&self, hosts: impl Iterator<Item = usize>) -> String {
        let mut ids: Vec<&str> = hosts.map(|h| self.inv.hosts[h].id.as_str()).collect();
        ids.sort_unstable_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
        let labels: Vec<String> = ids.iter().map(|id| self.inv.host_label(id)).collect();
        join_list(&labels.iter().map(String::as_str).collect::<Vec<_>>(), 4)
    }

    /// "after losing host-10" / "with no host failed" for the slot table's `k` largest hosts.
    fn loss_phrase(&self, table: &SlotTable, k: u32) -> String {
        let lost = &table.by_size[..(k as usize).min(table.by_size.len())];
        if lost.is_empty() {
            "with no host failed".to_string()
        } else {
            format!("after losing {}", self.host_list(lost.iter().map(|&p| self.counted[p])))
        }
    }

    fn messages(&self, failover_hosts: &[FailoverHostStatus]) -> Vec<String> {
        let inv = self.inv;
        let mut out = Vec::new();
        let mut excluded: Vec<usize> = (0..inv.hosts.len()).filter(|&h| !self.is_counted[h]).collect();
        excluded.sort_by(|&a, &b| inv.hosts[a].id.as_bytes().cmp(inv.hosts[b].id.as_bytes()));
        for h in excluded {
            out.push(format!("{} is not counted: {}", inv.host_label(&inv.hosts[h].id), self.exclusion_reason(h)));
        }
        let mut not_responding: Vec<usize> =
            (0..inv.hosts.len()).filter(|&h| self.counted_but_not_responding(h)).collect();
        not_responding.sort_by(|&a, &b| inv.hosts[a].id.as_bytes().cmp(inv.hosts[b].id.as_bytes()));
        for h in not_responding {
            out.push(format!(
                "{} is not responding but still counted: it has not been removed from the cluster \
                 (R-AC-0; engine.admissionCountsFailedHosts=false counts only connected hosts)",
                inv.host_label(&inv.hosts[h].id)
            ));
        }
        let f = &self.figures;
        match *self.policy() {
            AdmissionControl::Slot { host_failures, .. } => {
                if let Some(s) = &self.slots {
                    self.slot_messages(&mut out, s, host_failures);
                }
            }
            AdmissionControl::Percentage { .. } | AdmissionControl::PercentageAuto { .. } => {
                if self.counted.len() < 2 {
                    out.push(format!(
                        "the percentage policy needs at least 2 counted hosts ({} counted)",
                        self.counted.len()
                    ));
                }
                if let Some(conf) = self.configured_percent() {
                    for (name, current, configured) in
                        [("CPU", f.cpu_failover_percent, conf.cpu), ("memory", f.memory_failover_percent, conf.memory)]
                    {
                        match current {
                            None => out.push(format!("no {name} capacity is counted")),
                            Some(p) if p < configured => out.push(format!(
                                "current {name} failover capacity {} is below the configured {}",
                                pct(p),
                                pct(configured)
                            )),
                            Some(_) => {}
                        }
                    }
                }
                if let Some(k) = self.configured_host_failures() {
                    if k as usize >= self.counted.len() {
                        out.push(format!(
                            "{k} host failure{} cannot be tolerated by {} counted host{}",
                            plural(k as u64),
                            self.counted.len(),
                            plural(self.counted.len() as u64)
                        ));
                    }
                }
            }
            AdmissionControl::FailoverHosts { .. } => {
                for s in failover_hosts {
                    match s.state {
                        FailoverHostState::Healthy => {}
                        FailoverHostState::RunningVms => {
                            let vms: Vec<String> = s.running_vms.iter().map(|v| inv.vm_label(v)).collect();
                            out.push(format!(
                                "failover host {} runs {} powered-on VM{} ({})",
                                inv.host_label(&s.host),
                                s.running_vms.len(),
                                plural(s.running_vms.len() as u64),
                                join_list(&vms.iter().map(String::as_str).collect::<Vec<_>>(), 4)
                            ))
                        }
                        FailoverHostState::Unavailable => out.push(format!(
                            "failover host {} is unavailable: {}",
                            inv.host_label(&s.host),
                            s.reason.as_deref().unwrap_or("unknown")
                        )),
                    }
                }
            }
            AdmissionControl::Disabled => {
                out.push("admission control is disabled: no operation is refused".to_string());
            }
        }
        out
    }

    fn slot_messages(&self, out: &mut Vec<String>, s: &SlotState, host_failures: u32) {
        let o = self.options();
        let max = self.aggregates.max;
        let slot = s.table.slot;
        let fixed = matches!(self.policy(), AdmissionControl::Slot { slot_cpu_mhz: Some(_), .. });
        if fixed {
            out.push(format!("fixed slot size {slot}"));
        } else {
            if o.slot_cpu_cap_mhz.is_some_and(|c| max.cpu_mhz.max(o.vm_cpu_min_mhz) > c) {
                out.push(format!(
                    "CPU slot capped at {} MHz by das.slotCpuInMHz (largest VM needs {} MHz)",
                    slot.cpu_mhz, max.cpu_mhz
                ));
            }
            if o.slot_memory_cap_mb.is_some_and(|c| max.memory_mb.max(o.vm_memory_min_mb) > c) {
                out.push(format!(
                    "memory slot capped at {} MB by das.slotMemInMB (largest VM needs {} MB)",
                    slot.memory_mb, max.memory_mb
                ));
            }
        }
        // VMs needing several slots (capped or fixed slot): how many, and the largest.
        let mut multi = 0usize;
        let mut largest: Option<(u64, &str)> = None;
        self.states_with(None).enumerate().filter(|(_, v)| v.powered_on).for_each(|(i, vm)| {
            let n = slot.slots_for(self.demand(&vm));
            if n > 1 {
                multi += 1;
                let id = self.vm_id(i);
                if largest.is_none_or(|(m, best)| n > m || (n == m && id.as_bytes() < best.as_bytes())) {
                    largest = Some((n, id));
                }
            }
        });
        if let Some((n, id)) = largest {
            let id = self.inv.vm_label(id);
            out.push(format!(
                "{multi} powered-on VM{} need{} more than one slot (largest: {id}, {n} slots)",
                plural(multi as u64),
                if multi == 1 { "s" } else { "" }
            ));
        }
        let (level, overcommitted) = s.table.level(s.used);
        let hosts = self.counted.len();
        if overcommitted {
            out.push(format!(
                "cluster is already overcommitted: {} slots used, {} available with no host failed",
                s.used,
                s.table.total()
            ));
        } else if level < host_failures {
            out.push(format!(
                "current failover level {level} is below the configured {host_failures} (needs {} slots, {} left {})",
                s.used,
                s.table.after_losing(host_failures),
                self.loss_phrase(&s.table, host_failures)
            ));
        }
        if host_failures as usize >= hosts {
            out.push(format!(
                "{host_failures} host failure{} cannot be tolerated by {hosts} counted host{}",
                plural(host_failures as u64),
                plural(hosts as u64)
            ));
        }
    }

    fn describe(&self, change: &Change) -> String {
        let host = change.new.host.map_or_else(|| "?".to_string(), |h| self.inv.host_label(&self.inv.hosts[h].id));
        let vm = self.inv.vm_label(&change.vm_id);
        match change.kind {
            OpKind::PowerOn => format!("power-on of {vm} on {host}"),
            OpKind::MigrateIn => format!("migration of {vm} onto {host}"),
            OpKind::ChangeReservation => format!(
                "reservation change of {vm} to {} MHz / {} MB",
                change.new.state.reservation.cpu_mhz,
                change.new.state.reservation.memory_mb.saturating_sub(change.new.state.memory_overhead_mb)
            ),
        }
    }

    fn decide(&self, change: &Change, outcome: &Outcome) -> Decision {
        let before = self.figures;
        let after = outcome.figures;
        let (allowed, reason) = self.verdict(change, outcome);
        Decision { allowed, reason, before, after }
    }

    fn verdict(&self, change: &Change, outcome: &Outcome) -> (bool, String) {
        let what = self.describe(change);
        match *self.policy() {
            AdmissionControl::Disabled => {
                return (true, format!("admission control is disabled: {what} is not checked"))
            }
            AdmissionControl::FailoverHosts { ref hosts } => {
                // R-AC-FH: failover hosts receive no user power-ons or migrations.
                let target = change.new.host.map(|h| &self.inv.hosts[h].id);
                return match (change.kind, target) {
                    (OpKind::PowerOn | OpKind::MigrateIn, Some(t)) if hosts.contains(t) => (
                        false,
                        format!(
                            "{} is a dedicated failover host: it receives no user power-ons or migrations",
                            self.inv.host_label(t)
                        ),
                    ),
                    (OpKind::ChangeReservation, _) => {
                        (true, "the failover-hosts policy does not limit reservations".to_string())
                    }
                    (_, Some(t)) => (true, format!("{} is not a dedicated failover host", self.inv.host_label(t))),
                    (_, None) => (true, "the failover-hosts policy does not limit this operation".to_string()),
                };
            }
            _ => {}
        }
        if !self.raises_demand(change) {
            return (true, format!("{what} raises no reservation counted by admission control"));
        }
        match *self.policy() {
            AdmissionControl::Slot { host_failures, .. } => self.slot_verdict(outcome, host_failures),
            _ => self.percentage_verdict(outcome),
        }
    }

    fn raises_demand(&self, change: &Change) -> bool {
        if !change.new.state.powered_on {
            return false;
        }
        match change.old.map(|o| o.state).filter(|o| o.powered_on) {
            None => true,
            Some(old) => !self.demand(&old).covers(self.demand(&change.new.state)),
        }
    }

    /// R-AC-SLOT: allowed iff the current failover level with the operation applied is at
    /// least the configured number of host failures (and the cluster is not overcommitted).
    fn slot_verdict(&self, outcome: &Outcome, host_failures: u32) -> (bool, String) {
        let (before, after) = (&self.figures, &outcome.figures);
        let Some(current) = &self.slots else {
            return (true, String::new());
        };
        let table = outcome.slots.as_ref().and_then(|(t, _)| t.as_ref()).unwrap_or(&current.table);
        let used = after.used_slots.unwrap_or(0);
        let (level_before, level_after) =
            (before.current_failover_level.unwrap_or(0), after.current_failover_level.unwrap_or(0));
        let need = format!(
            "needs {used} slots, {} left {}",
            table.after_losing(host_failures),
            self.loss_phrase(table, host_failures)
        );
        let mut reason = if after.satisfied {
            format!("current failover level {level_after} meets the configured {host_failures} ({need})")
        } else if after.overcommitted && !before.overcommitted {
            format!("would overcommit the cluster: needs {used} slots, {} available with no host failed", table.total())
        } else if before.satisfied {
            format!("would lower current failover level from {level_before} to {level_after} ({need})")
        } else if after.overcommitted {
            format!(
                "cluster is already overcommitted: would need {used} slots, {} available with no host failed",
                table.total()
            )
        } else {
            format!(
                "current failover level is already below the configured {host_failures}: it would be {level_after} ({need})"
            )
        };
        if table.slot != current.table.slot {
            reason.push_str(&format!("; slot size grows from {} to {}", current.table.slot, table.slot));
        }
        (after.satisfied, reason)
    }

    /// R-AC-PCT: allowed iff both failover percentages with the operation applied reach the
    /// configured ones, with at least 2 counted hosts.
    fn percentage_verdict(&self, outcome: &Outcome) -> (bool, String) {
        let (before, after) = (&self.figures, &outcome.figures);
        let Some(conf) = self.configured_percent() else {
            return (true, String::new());
        };
        if self.counted.len() < 2 {
            return (
                false,
                format!("the percentage policy needs at least 2 counted hosts ({} counted)", self.counted.len()),
            );
        }
        let rows = [
            ("CPU", before.cpu_failover_percent, after.cpu_failover_percent, conf.cpu),
            ("memory", before.memory_failover_percent, after.memory_failover_percent, conf.memory),
        ];
        if after.satisfied {
            let parts: Vec<String> = rows
                .iter()
                .map(|(name, _, a, c)| format!("{name} failover capacity {} ≥ {}", opt_pct(*a), pct(*c)))
                .collect();
            return (true, format!("{} with the operation", parts.join(", ")));
        }
        // Which resources fail: for auto-computed percentages use the exact comparison.
        let failing = |cpu: bool| -> bool {
            let (total, req, current, configured) = if cpu {
                (self.capacity.cpu_mhz, after.required_cpu_mhz, after.cpu_failover_percent, conf.cpu)
            } else {
                (self.capacity.memory_mb, after.required_memory_mb, after.memory_failover_percent, conf.memory)
            };
            match *self.policy() {
                AdmissionControl::PercentageAuto { host_failures } => {
                    !holds_fraction(total, req, host_failures as u64, self.counted.len() as u64)
                }
                _ => current.is_none_or(|p| p < configured),
            }
        };
        let parts: Vec<String> = rows
            .iter()
            .zip([failing(true), failing(false)])
            .filter(|(_, fails)| *fails)
            .map(|((name, b, a, c), _)| {
                if before.satisfied {
                    format!(
                        "would lower the current {name} failover capacity from {} to {}, below the configured {}",
                        opt_pct(*b),
                        opt_pct(*a),
                        pct(*c)
                    )
                } else {
                    format!(
                        "current {name} failover capacity would be {} (now {}), below the configured {}",
                        opt_pct(*a),
                        opt_pct(*b),
                        pct(*c)
                    )
                }
            })
            .collect();
        (false, parts.join("; "))
    }
}

#[derive(Debug, Clone, Copy)]
struct Percentages {
    cpu: f64,
    memory: f64,
}

fn empty_figures() -> AdmissionFigures {
    AdmissionFigures {
        satisfied: false,
        overcommitted: false,
        slot_cpu_mhz: None,
        slot_memory_mb: None,
        total_slots: None,
        used_slots: None,
        available_slots: None,
        current_failover_level: None,
        cpu_failover_percent: None,
        memory_failover_percent: None,
        required_cpu_mhz: 0,
        required_memory_mb: 0,
        counted_vms: 0,
    }
}

/// Why R-AC-0 does not count a host, if it does not (the same rule as
/// [`capacity::host_is_counted`]). `counts_failed`: `engine.admissionCountsFailedHosts`.
fn exclusion_reason(h: &Host, failed: bool, counts_failed: bool) -> Option<&'static str> {
    if failed {
        return Some("failed");
    }
    match h.state {
        ConnectionState::Disconnected => Some("disconnected"),
        ConnectionState::NotResponding if !counts_failed => Some("not responding"),
        _ if h.maintenance => Some("in maintenance mode"),
        _ if h.standby => Some("in standby"),
        ConnectionState::NotResponding | ConnectionState::Connected => None,
    }
}

/// R-AC-PCT `(total − required) / total · 100`, exact float; `None` without capacity.
fn failover_percent(total: u64, required: u64) -> Option<f64> {
    if total == 0 {
        return None;
    }
    let free = total as i128 - required as i128;
    // why: total == 0 returned above; float division cannot panic.
    Some(free as f64 / total as f64 * 100.0)
}

/// `(total − required) / total ≥ k / n`, exactly: `(total − required)·n ≥ k·total`.
fn holds_fraction(total: u64, required: u64, k: u64, n: u64) -> bool {
    total > 0 && (total as i128 - required as i128) * n as i128 >= k as i128 * total as i128
}

fn pct(p: f64) -> String {
    format!("{p:.2} %")
}

fn opt_pct(p: Option<f64>) -> String {
    p.map_or_else(|| "undefined (no capacity)".to_string(), pct)
}

fn plural(n: u64) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// "a", "a and b", "a, b and c", "a, b, c, d and 3 more" (at most `max` names).
fn join_list(items: &[&str], max: usize) -> String {
    match items.len() {
        0 => String::new(),
        1 => items[0].to_string(),
        n if n <= max => format!("{} and {}", items[..n - 1].join(", "), items[n - 1]),
        n => format!("{} and {} more", items[..max].join(", "), n - max),
    }
}

// ---------------------------------------------------------------------------------------------
// Text
// ---------------------------------------------------------------------------------------------

impl AdmissionReport {
    /// One line: policy, verdict and the headline figure.
    pub fn summary(&self) -> String {
        let verdict = if self.figures.satisfied { "satisfied" } else { "NOT satisfied" };
        let headline = match self.policy {
            AdmissionPolicyKind::Slot => {
                let available = self.figures.available_slots.unwrap_or(0);
                format!(
                    "current failover level {} (configured {}), {available} slot{} available",
                    self.figures.current_failover_level.unwrap_or(0),
                    self.configured_host_failures.unwrap_or(0),
                    plural(available)
                )
            }
            AdmissionPolicyKind::Percentage => format!(
                "CPU {} (configured {}), memory {} (configured {})",
                opt_pct(self.figures.cpu_failover_percent),
                opt_pct(self.configured_cpu_percent),
                opt_pct(self.figures.memory_failover_percent),
                opt_pct(self.configured_memory_percent)
            ),
            AdmissionPolicyKind::FailoverHosts => {
                let healthy = self.failover_hosts.iter().filter(|s| s.state == FailoverHostState::Healthy).count();
                format!("{healthy} of {} failover hosts healthy and empty", self.failover_hosts.len())
            }
            AdmissionPolicyKind::Disabled => "no failover capacity is reserved".to_string(),
        };
        format!("admission control ({}): {verdict} — {headline}", self.policy)
    }

    /// Readable multi-line text for the CLI, hosts and VMs by bare id in the per-host lines.
    pub fn to_text(&self) -> String {
        self.to_text_with(Labels::IDS)
    }

    /// [`AdmissionReport::to_text`] with hosts and VMs shown by `labels` (`host-21 (esx-01)`
    /// with [`Inventory::labels`]).
    pub fn to_text_with(&self, labels: Labels<'_>) -> String {
        let mut t = self.summary();
        let mut line = |s: String| {
            t.push_str("\n  ");
            t.push_str(&s);
        };
        if let (Some(c), Some(m)) = (self.figures.slot_cpu_mhz, self.figures.slot_memory_mb) {
            line(format!("slot size: {c} MHz / {m} MB"));
            line(format!(
                "slots: {} total, {} used, {} available",
                self.figures.total_slots.unwrap_or(0),
                self.figures.used_slots.unwrap_or(0),
                self.figures.available_slots.unwrap_or(0)
            ));
            let per_host: Vec<String> =
                self.host_slots.iter().map(|h| format!("{} {}", labels.host(&h.host), h.slots)).collect();
            line(format!("host slots: {}", per_host.join(", ")));
        }
        for s in &self.failover_hosts {
            let mut text = format!("failover host {}: {}", labels.host(&s.host), s.state);
            if let Some(r) = &s.reason {
                text.push_str(&format!(" ({r})"));
            }
            if !s.running_vms.is_empty() {
                let vms: Vec<String> = s.running_vms.iter().map(|v| labels.vm(v)).collect();
                text.push_str(&format!(", running {}", vms.join(", ")));
            }
            line(text);
        }
        line(format!(
            "counted: {} host{}, {} powered-on VM{}",
            self.counted_hosts.len(),
            plural(self.counted_hosts.len() as u64),
            self.figures.counted_vms,
            plural(self.figures.counted_vms as u64)
        ));
        line(format!(
            "capacity {} MHz / {} MB, reserved {} MHz / {} MB",
            self.total_cpu_mhz, self.total_memory_mb, self.figures.required_cpu_mhz, self.figures.required_memory_mb
        ));
        for m in &self.messages {
            line(format!("- {m}"));
        }
        if let Some(p) = &self.performance_degradation {
            line(p.summary());
        }
        t
    }
}

impl fmt::Display for AdmissionReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_text())
    }
}

// ---------------------------------------------------------------------------------------------
// R-AC-PERF: performance degradation VMs tolerate
// ---------------------------------------------------------------------------------------------

impl AdmissionContext<'_> {
    /// R-AC-PERF, when configured (engine rules, tested in `tests/admission.rs`):
    /// - "the configured failures": the `host_failures` largest counted hosts (slot policy,
    ///   auto-computed percentages), taken per resource (the hosts with the most CPU for CPU,
    ///   the most memory for memory); the dedicated failover hosts (failover-hosts policy);
    ///   the reserved share (explicit percentages: remaining = capacity × (1 − percent/100),
    ///   rounded down);
    /// - demand: powered-on VMs (as counted by R-AC), `cpu_usage_mhz` / `memory_usage_mb`, or the
    ///   VM's CPU reservation / memory reservation + overhead when the figure is unknown;
    /// - warning when `demand × (100 − p) > remaining × 100` (exact integers).
    fn performance_degradation(&self) -> Option<PerformanceDegradation> {
        let p = self.inv.cluster.resource_reduction_to_tolerate_percent?;
        let inv = self.inv;
        let caps: Vec<Resources> = self.counted.iter().map(|&h| capacity::host_capacity(&inv.hosts[h])).collect();
        let (remaining, failures) = match self.policy() {
            AdmissionControl::Disabled => return None,
            AdmissionControl::Slot { host_failures, .. } | AdmissionControl::PercentageAuto { host_failures } => {
                let k = *host_failures as usize;
                let left = |mut v: Vec<u64>| -> u64 {
                    v.sort_unstable_by(|a, b| b.cmp(a));
                    v.iter().skip(k).sum()
                };
                let cpu = left(caps.iter().map(|c| c.cpu_mhz).collect());
                let mem = left(caps.iter().map(|c| c.memory_mb).collect());
                (Resources { cpu_mhz: cpu, memory_mb: mem }, format!("the {k} largest host{}", plural(k as u64)))
            }
            AdmissionControl::Percentage { cpu_percent, memory_percent } => {
                let keep = |total: u64, pct: f64| -> u64 {
                    // why: 0 <= pct <= 100 (parser), so the product is within 0..=total.
                    (total as f64 * (1.0 - pct / 100.0)).floor() as u64
                };
                (
                    Resources {
                        cpu_mhz: keep(self.capacity.cpu_mhz, *cpu_percent),
                        memory_mb: keep(self.capacity.memory_mb, *memory_percent),
                    },
                    format!("the reserved {} CPU / {} memory", pct(*cpu_percent), pct(*memory_percent)),
                )
            }
            AdmissionControl::FailoverHosts { hosts } => {
                let failover: HashSet<usize> = hosts.iter().filter_map(|id| inv.host_idx(id)).collect();
                let left = self
                    .counted
                    .iter()
                    .zip(&caps)
                    .filter(|(h, _)| !failover.contains(h))
                    .fold(Resources::default(), |s, (_, c)| s.saturating_add(*c));
                (left, "the failover hosts".to_string())
            }
        };
        let mut demand = Resources::default();
        let mut without = 0usize;
        let total = inv.vms.len() + self.added.len();
        for i in 0..total {
            let entry = self.entry(i);
            if !entry.state.powered_on {
                continue;
            }
            let vm = inv.vms.get(i);
            let (cpu, mem) = (vm.and_then(|v| v.cpu_usage_mhz), vm.and_then(|v| v.memory_usage_mb));
            if cpu.is_none() || mem.is_none() {
                without += 1;
            }
            demand = demand.saturating_add(Resources {
                cpu_mhz: cpu.unwrap_or(entry.state.reservation.cpu_mhz),
                memory_mb: mem.unwrap_or(entry.state.reservation.memory_mb),
            });
        }
        let warns = |d: u64, r: u64| (d as u128) * u128::from(100 - p) > (r as u128) * 100;
        let reduction = |d: u64, r: u64| if d == 0 || r >= d { 0.0 } else { (d - r) as f64 / d as f64 * 100.0 };
        Some(PerformanceDegradation {
            tolerated_percent: p,
            failures,
            remaining_cpu_mhz: remaining.cpu_mhz,
            remaining_memory_mb: remaining.memory_mb,
            demand_cpu_mhz: demand.cpu_mhz,
            demand_memory_mb: demand.memory_mb,
            vms_without_usage: without,
            cpu_reduction_percent: reduction(demand.cpu_mhz, remaining.cpu_mhz),
            memory_reduction_percent: reduction(demand.memory_mb, remaining.memory_mb),
            cpu_warning: warns(demand.cpu_mhz, remaining.cpu_mhz),
            memory_warning: warns(demand.memory_mb, remaining.memory_mb),
        })
    }
}
