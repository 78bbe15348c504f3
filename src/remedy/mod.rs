//! Remedies (R-REMEDY): for a promise that does not hold — admission control below its
//! configured level, or (with `failures = k`) some combination of up to k failed hosts that
//! leaves VMs unplaced — the smallest changes that make it hold, each **verified** by running
//! admission control and the sweep again on the changed inventory, never estimated.
//!
//! # The promise
//!
//! Admission control satisfied (R-AC) and, when `failures = k` is given, every combination of
//! 1..=k failed usable hosts restarts every VM HA attempts (the sweep's
//! `max_failures_tolerated ≥ k`). A remedy must make the whole promise hold.
//!
//! # The search (the engine decides, never a formula)
//!
//! Every candidate is the inventory with a [`Patch`] applied, checked by [`figures::Verifier`]:
//! admission control first, then the worst failing combinations seen so far (baseline and
//! rejected candidates) planned one by one with `plan_failover` (each is a scenario of the full
//! sweep, so a failure there is a failure of the full sweep), then the full sweep. Sizes are searched by doubling, then
//! bisection: the result `n` is verified to hold and `n − 1` (one step less) verified not to —
//! monotonicity is never assumed beyond that.
//!
//! Kinds ([`RemedyKind`]), each at its smallest size:
//! - `addHosts`: n hosts like an existing one, for each hardware model (CPU MHz, memory MB) of
//!   the usable hosts; the model's representative is the host of that model mounting the most
//!   datastores (ties: the smaller id). A new host copies its CPU, memory, networks and the
//!   datastores another host also mounts (one only it mounts is its local disk). At most
//!   `max(2 × usable hosts, 8)` hosts are tried.
//! - `addMemory` / `addCpu` / `addCpuAndMemory`: the same increment on every host, in steps of
//!   16,384 MB / 1,000 MHz (at most 256 steps). When neither alone suffices: the smallest
//!   fraction (in thousandths) of "double the average host" in both, then the smallest CPU step
//!   with that memory, then the smallest memory step with that CPU (Pareto-minimal: one step
//!   less of either is verified to fail).
//! - `slotCap` (slot policy with a computed slot): `das.slotMemInMB` / `das.slotCpuInMHz` at
//!   the largest value that works (1 MB / 1 MHz resolution); both only when neither alone does
//!   (both lowered by the same fraction of the slot, then each raised back as far as it holds).
//! - `lowerReservations` (slot policy with a computed slot): the reservations that set the slot
//!   lowered to the largest value that works: every powered-on VM whose CPU reservation, or
//!   memory reservation plus overhead, exceeds it (patch: which VMs, what value).
//! - `changePolicy`: for the slot policy, the percentage policy for the same number of host
//!   failures (auto-computed from 6.5 on, else `ceil(k / N · 100)` %); for a failover-hosts
//!   policy, the percentage policy for as many failures as there are failover hosts; and the
//!   promise the cluster really keeps: the slot policy at its current failover level, explicit
//!   percentages lowered to the current ones (whole percents, rounded down), auto-computed
//!   percentages for the largest k that holds.
//!
//!   While the sweep leaves VMs unplaced, slot caps and policy changes are not searched (they
//!   only gate user operations and never move a restart), except away from dedicated failover
//!   hosts, which placement uses first.
//! - `relaxRule` (with `failures`): removing a rule (anti-affinity, VM-host) that a VM left
//!   unplaced for that reason belongs to; each rule alone, or all of them when none alone works.
//! - `moveStorage` (with `failures`, not among the five kinds of R-REMEDY: an engine addition):
//!   VMs left unplaced because no surviving host mounts their datastores move all their files to
//!   the datastore their host mounts that the most usable hosts mount. When the moves alone do
//!   not restore the promise, every other remedy is searched on the inventory with the moves
//!   applied and includes them in its patch.
//!
//! # Size of change (the sort order)
//!
//! Remedies sort by [`Scope`], then by `size_percent`, then kind and summary:
//! 1. `setting` — a cluster setting that keeps the promise (slot caps; another admission policy
//!    for the same number of failures): size = how much smaller the slot gets, in % (largest of
//!    the two dimensions); a policy switch has size 0.
//! 2. `rule` — removing a rule: size = the VMs of the removed rules in % of powered-on VMs.
//! 3. `vms` — changing VMs (lower reservations, move storage): size = reservation removed in %
//!    of the total reserved (largest of CPU and memory), or VMs moved in % of powered-on VMs.
//! 4. `hardware` — adding hosts, memory or CPU: size = capacity added in % of the capacity
//!    admission control counts (largest of CPU and memory). Storage moves included in a
//!    hardware remedy do not change its scope.
//! 5. `promise` — lowering the promise to what the cluster keeps (fewer host failures, lower
//!    percentages): size = the promise given up, in % of the configured one. Last: it changes
//!    what is promised instead of restoring it.

mod figures;
mod patch;

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Value};

pub use figures::{Figures, SweepFigures};
pub use patch::{AddHosts, Patch, VmChange};

use crate::error::Result;
use crate::model::{AdmissionControl, Inventory, RuleKind, Version};
use crate::placement::UnplacedReason;
use crate::sweep::{counted, FailureUnit};
use figures::{measure, Strands, Verifier};

/// Memory step of `addMemory`, MB (16 GB).
pub const MEMORY_STEP_MB: u64 = 16_384;
/// CPU step of `addCpu`, MHz.
pub const CPU_STEP_MHZ: u64 = 1_000;
/// Most steps of memory / CPU tried.
pub const MAX_STEPS: u64 = 256;

/// What kind of change a remedy makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RemedyKind {
    AddHosts,
    AddMemory,
    AddCpu,
    AddCpuAndMemory,
    SlotCap,
    LowerReservations,
    ChangePolicy,
    RelaxRule,
    MoveStorage,
}

impl RemedyKind {
    pub const ALL: &'static [RemedyKind] = &[
        RemedyKind::AddHosts,
        RemedyKind::AddMemory,
        RemedyKind::AddCpu,
        RemedyKind::AddCpuAndMemory,
        RemedyKind::SlotCap,
        RemedyKind::LowerReservations,
        RemedyKind::ChangePolicy,
        RemedyKind::RelaxRule,
        RemedyKind::MoveStorage,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RemedyKind::AddHosts => "addHosts",
            RemedyKind::AddMemory => "addMemory",
            RemedyKind::AddCpu => "addCpu",
            RemedyKind::AddCpuAndMemory => "addCpuAndMemory",
            RemedyKind::SlotCap => "slotCap",
            RemedyKind::LowerReservations => "lowerReservations",
            RemedyKind::ChangePolicy => "changePolicy",
            RemedyKind::RelaxRule => "relaxRule",
            RemedyKind::MoveStorage => "moveStorage",
        }
    }
}

/// How far-reaching a change is; the first sort key (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Scope {
    Setting,
    Rule,
    Vms,
    Hardware,
    Promise,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Setting => "setting",
            Scope::Rule => "rule",
            Scope::Vms => "vms",
            Scope::Hardware => "hardware",
            Scope::Promise => "promise",
        }
    }
}

/// One verified change that makes the promise hold.
#[derive(Debug, Clone, PartialEq)]
pub struct Remedy {
    pub kind: RemedyKind,
    /// One sentence, names beside ids.
    pub summary: String,
    pub patch: Patch,
    pub scope: Scope,
    /// Size of the change within its scope, in % (see the module documentation).
    pub size_percent: f64,
    /// The figures of the inventory as it is.
    pub before: Figures,
    /// The figures of the changed inventory, from running the engine again.
    pub after: Figures,
    /// True: `after` comes from the engine run on the changed inventory.
    pub verified: bool,
}

impl Remedy {
    pub fn to_value(&self) -> Value {
        json!({
            "kind": self.kind.as_str(),
            "summary": self.summary,
            "patch": self.patch.to_value(),
            "scope": self.scope.as_str(),
            "size_percent": self.size_percent,
            "before": self.before.to_value(),
            "after": self.after.to_value(),
            "verified": self.verified,
        })
    }
}

/// What to search remedies for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RemedyOptions {
    /// Every combination of up to this many failed units must restart every VM.
    pub failures: Option<usize>,
    /// What one failure takes down (R-DOMAIN): host (default), fault domain or site.
    pub unit: FailureUnit,
}

/// The answer: the promise, its figures now, the remedies (sorted by size of change) and notes.
#[derive(Debug, Clone, PartialEq)]
pub struct Remedies {
    pub failures: Option<usize>,
    /// The promise checked, in words.
    pub promise: String,
    pub before: Figures,
    pub remedies: Vec<Remedy>,
    /// Kinds tried without a verified remedy, and why; other remarks.
    pub notes: Vec<String>,
    /// Candidate inventories checked, and how many went through the full verification.
    pub checks: u64,
    pub full_runs: u64,
}

impl Remedies {
    pub fn holds(&self) -> bool {
        self.before.holds()
    }

    pub fn to_value(&self) -> Value {
        json!({
            "promise": self.promise,
            "failures": self.failures,
            "holds": self.holds(),
            "before": self.before.to_value(),
            "remedies": self.remedies.iter().map(Remedy::to_value).collect::<Vec<_>>(),
            "notes": self.notes,
            "checks": self.checks,
            "full_runs": self.full_runs,
        })
    }
}

/// The promise in words.
pub fn promise_text(failures: Option<usize>, unit: FailureUnit) -> String {
    match failures {
        None => "admission control satisfied at its configured level".to_string(),
        Some(k) => format!(
            "admission control satisfied at its configured level, and every combination of up to {k} failed {} \
             restarts every VM HA attempts",
            unit.noun(k != 1)
        ),
    }
}

/// Remedies for `inv` (see the module documentation). Errors: `failures` outside
/// 1..usable hosts.
pub fn remedies(inv: &Inventory, options: &RemedyOptions) -> Result<Remedies> {
    let (before, strands) = measure(inv, options.failures, options.unit)?;
    let out = Remedies {
        failures: options.failures,
        promise: promise_text(options.failures, options.unit),
        before: before.clone(),
        remedies: Vec::new(),
        notes: Vec::new(),
        checks: 0,
        full_runs: 0,
    };
    if before.holds() {
        return Ok(out);
    }
    let mut search = Search {
        original: inv,
        verifier: Verifier::new(options.failures, options.unit, &strands),
        before,
        out: Vec::new(),
        notes: Vec::new(),
    };

    // Storage first: no capacity reaches a VM whose datastores no surviving host mounts.
    let mut base_patch = Patch::default();
    let moves = search.storage_moves(inv, &strands);
    if !moves.is_empty() {
        let patch = Patch { vms: moves, ..Patch::default() };
        let moved = patch.apply(inv)?;
        if let Some(after) = search.verifier.verify(&moved)? {
            search.push(RemedyKind::MoveStorage, &patch, after);
            let local = on_local_storage(inv, &strands);
            if !local.is_empty() {
                // Nothing but a move restarts a VM whose datastore only its failed host mounts.
                search.notes.push(format!(
                    "{} {} a datastore only one host mounts ({}): only moving their files restores \
                     the promise, so no other kind was searched",
                    counted(local.len() as u64, "stranded VM", "stranded VMs"),
                    if local.len() == 1 { "uses" } else { "use" },
                    label_list(local.iter().map(|v| inv.vm_label(v)))
                ));
                return Ok(search.finish(out));
            }
        } else {
            search.notes.push(format!(
                "moving {} to shared storage is not enough alone: every other remedy includes the moves",
                counted(patch.vms.len() as u64, "VM", "VMs")
            ));
            base_patch = patch;
        }
    }
    search.add_hosts(&base_patch)?;
    search.add_capacity(&base_patch)?;
    // Slot caps and the slot or percentage policy only gate user operations: they never change
    // where HA restarts VMs (R-PLACE), so they cannot fix a sweep that leaves VMs unplaced.
    // Dedicated failover hosts do change placement: that policy is always searched.
    let sweep_broken = search.before.sweep.as_ref().is_some_and(|s| s.failing_combinations > 0);
    let fixed_placement = sweep_broken && base_patch.is_empty();
    if fixed_placement {
        search.notes.push(
            "slotCap / changePolicy: admission settings do not change where HA restarts VMs, so they were not \
             searched while some combination leaves VMs unplaced"
                .to_string(),
        );
    } else {
        search.slot_caps(&base_patch)?;
    }
    search.lower_reservations(&base_patch)?;
    if !fixed_placement || matches!(inv.cluster.admission_control, AdmissionControl::FailoverHosts { .. }) {
        search.change_policy(&base_patch)?;
    }
    search.relax_rules(&base_patch, &strands)?;

    Ok(search.finish(out))
}

/// Stranded VMs (sorted ids) with a datastore at most one usable host mounts.
fn on_local_storage(inv: &Inventory, strands: &Strands) -> Vec<String> {
    let mounted =
        |ds: &str| inv.hosts.iter().filter(|h| h.is_available() && h.datastores.iter().any(|d| d == ds)).count();
    let vms: BTreeSet<u32> = strands.pairs.iter().map(|&(v, _)| v).collect();
    vms.into_iter()
        .filter_map(|v| inv.vms.get(v as usize))
        .filter(|vm| vm.datastores.iter().any(|d| mounted(d) <= 1))
        .map(|vm| vm.id.clone())
        .collect()
}

impl Search<'_> {
    /// Sorts the remedies found into `out` (see the module documentation for the order).
    fn finish(self, mut out: Remedies) -> Remedies {
        let mut list = self.out;
        list.sort_by(|a, b| {
            a.scope
                .cmp(&b.scope)
                .then(ordered_float::OrderedFloat(a.size_percent).cmp(&ordered_float::OrderedFloat(b.size_percent)))
                .then(a.kind.cmp(&b.kind))
                .then_with(|| a.summary.cmp(&b.summary))
        });
        out.remedies = list;
        out.notes = self.notes;
        if out.remedies.is_empty() {
            out.notes.push("no verified remedy found among the kinds tried".to_string());
        }
        out.checks = self.verifier.checks;
        out.full_runs = self.verifier.full_runs;
        out
    }
}

/// Smallest `n` in `1..=max` for which `test(n)` holds, by doubling then bisection; `test(0)`
/// is taken to fail (the caller knows it does). The answer `n` was verified to hold and
/// `n − 1` to fail (or is 0).
fn smallest<T>(max: u64, mut test: impl FnMut(u64) -> Result<Option<T>>) -> Result<Option<(u64, T)>> {
    if max == 0 {
        return Ok(None);
    }
    let mut lo = 0u64;
    let mut hi = 1u64;
    let (hi, best) = loop {
        if let Some(t) = test(hi)? {
            break (hi, t);
        }
        lo = hi;
        if hi >= max {
            return Ok(None);
        }
        hi = hi.saturating_mul(2).min(max);
    };
    bisect(lo, hi, best, test).map(Some)
}

/// Bisection between `lo` (fails, or 0) and `hi` (holds, with figures `best`): the smallest
/// value that holds, with its figures.
fn bisect<T>(
    mut lo: u64,
    mut hi: u64,
    mut best: T,
    mut test: impl FnMut(u64) -> Result<Option<T>>,
) -> Result<(u64, T)> {
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        match test(mid)? {
            Some(t) => {
                hi = mid;
                best = t;
            }
            None => lo = mid,
        }
    }
    Ok((hi, best))
}

/// Like [`smallest`] for tests that fail again at the far end (slot caps and reservations: a
/// tiny slot in one dimension makes every VM need many slots): a linear scan of 32 evenly spaced
/// values finds the first that works, then bisection below it. The answer `n` was verified to
/// hold and `n − 1` to fail (or is 0).
fn smallest_scan<T>(max: u64, mut test: impl FnMut(u64) -> Result<Option<T>>) -> Result<Option<(u64, T)>> {
    const POINTS: u64 = 32;
    let mut lo = 0u64;
    for i in 1..=POINTS {
        let hi = (max * i).div_ceil(POINTS);
        if hi <= lo {
            continue;
        }
        if let Some(t) = test(hi)? {
            return bisect(lo, hi, t, test).map(Some);
        }
        lo = hi;
    }
    Ok(None)
}

/// Up to two one-dimensional answers (`a` alone up to `a_max`, `b` alone up to `b_max`), or,
/// when neither alone works, one two-dimensional answer: the smallest fraction `t / 1000` of
/// `(a_diag, b_diag)` that works, then the smallest `a` with that `b`, then the smallest `b` with
/// that `a` (a Pareto-minimal pair: one step less in either dimension verified to fail).
/// Returns `[(a, b, figures)]` with `a`, `b` step counts.
fn search_2d(
    (a_max, b_max): (u64, u64),
    (a_diag, b_diag): (u64, u64),
    scan: bool,
    mut test: impl FnMut(u64, u64) -> Result<Option<Figures>>,
) -> Result<Vec<(u64, u64, Figures)>> {
    const T: u64 = 1000;
    let smallest = |max: u64, test: &mut dyn FnMut(u64) -> Result<Option<Figures>>| {
        if scan {
            smallest_scan(max, test)
        } else {
            smallest(max, test)
        }
    };
    let mut found = Vec::new();
    if let Some((a, f)) = smallest(a_max, &mut |a| test(a, 0))? {
        found.push((a, 0, f));
    }
    if let Some((b, f)) = smallest(b_max, &mut |b| test(0, b))? {
        found.push((0, b, f));
    }
    if found.is_empty() && a_diag > 0 && b_diag > 0 {
        let at = |t: u64| (a_diag * t).div_ceil(T);
        let bt = |t: u64| (b_diag * t).div_ceil(T);
        // The diagonal may fail again at its far end: always scanned.
        if let Some((t, _)) = smallest_scan(T, |t| test(at(t), bt(t)))? {
            let (a0, b0) = (at(t), bt(t));
            // (0, b0) and (a, 0) fail: each dimension alone was tried above.
            if let Some((a, _)) = smallest(a0, &mut |a| test(a, b0))? {
                if let Some((b, f)) = smallest(b0, &mut |b| test(a, b))? {
                    found.push((a, b, f));
                }
            }
        }
    }
    Ok(found)
}

fn percent(part: f64, whole: f64) -> f64 {
    if whole <= 0.0 {
        0.0
    } else {
        part / whole * 100.0
    }
}

/// Up to four labels, then "and N more".
fn label_list(labels: impl Iterator<Item = String>) -> String {
    let all: Vec<String> = labels.collect();
    let shown = all.iter().take(4).cloned().collect::<Vec<_>>().join(", ");
    if all.len() > 4 {
        format!("{shown} and {} more", all.len() - 4)
    } else {
        shown
    }
}

struct Search<'a> {
    original: &'a Inventory,
    verifier: Verifier,
    before: Figures,
    out: Vec<Remedy>,
    notes: Vec<String>,
}

impl Search<'_> {
    /// Verifies `base_patch` + `patch` on the original inventory.
    fn check(&mut self, base_patch: &Patch, patch: &Patch) -> Result<Option<Figures>> {
        let changed = base_patch.merged(patch).apply(self.original)?;
        self.verifier.verify(&changed)
    }

    fn push(&mut self, kind: RemedyKind, patch: &Patch, after: Figures) {
        let (scope, size_percent, summary) = self.describe(kind, patch);
        self.out.push(Remedy {
            kind,
            summary,
            patch: patch.clone(),
            scope,
            size_percent,
            before: self.before.clone(),
            after,
            verified: true,
        });
    }

    fn powered_on(&self) -> usize {
        self.original.vms.iter().filter(|v| v.is_powered_on()).count()
    }

    /// Scope, size and summary of a (complete) patch of kind `kind`.
    fn describe(&self, kind: RemedyKind, patch: &Patch) -> (Scope, f64, String) {
        let inv = self.original;
        let b = &self.before;
        let moves = patch.vms.values().filter(|c| c.datastore.is_some()).count();
        let moved_suffix = if moves > 0 && kind != RemedyKind::MoveStorage {
            format!(", after moving {} to shared storage", counted(moves as u64, "VM", "VMs"))
        } else {
            String::new()
        };
        let hw = |cpu: u64, mem: u64| {
            percent(cpu as f64, b.total_cpu_mhz as f64).max(percent(mem as f64, b.total_memory_mb as f64))
        };
        let (scope, size, text) = match kind {
            RemedyKind::AddHosts => {
                let mut cpu = 0u64;
                let mut mem = 0u64;
                let mut parts = Vec::new();
                for a in &patch.add_hosts {
                    if let Some(h) = inv.host(&a.like) {
                        cpu += h.cpu_mhz * a.count as u64;
                        mem += h.memory_mb * a.count as u64;
                        // The new hosts join the fault domain and site of the host they are like.
                        let mut joins = Vec::new();
                        if let Some(site) = &h.site {
                            joins.push(format!("site '{site}'"));
                        }
                        if let Some(domain) = &h.fault_domain {
                            joins.push(format!("fault domain '{domain}'"));
                        }
                        parts.push(format!(
                            "add {} host{} like {}, {} MHz / {} MB each{}",
                            a.count,
                            if a.count == 1 { "" } else { "s" },
                            inv.host_label(&a.like),
                            h.cpu_mhz,
                            h.memory_mb,
                            if joins.is_empty() { String::new() } else { format!(", in {}", joins.join(", ")) }
                        ));
                    }
                }
                (Scope::Hardware, hw(cpu, mem), parts.join("; "))
            }
            RemedyKind::AddMemory | RemedyKind::AddCpu | RemedyKind::AddCpuAndMemory => {
                let n = inv.hosts.len() as u64;
                let mut what = Vec::new();
                if patch.host_cpu_mhz > 0 {
                    what.push(format!("{} MHz of CPU", patch.host_cpu_mhz));
                }
                if patch.host_memory_mb > 0 {
                    what.push(format!("{} MB ({} GB) of memory", patch.host_memory_mb, patch.host_memory_mb / 1024));
                }
                (
                    Scope::Hardware,
                    hw(patch.host_cpu_mhz * n, patch.host_memory_mb * n),
                    format!("add {} to every host ({n} hosts)", what.join(" and ")),
                )
            }
            RemedyKind::SlotCap => {
                let mut shrink: f64 = 0.0;
                let mut what = Vec::new();
                for (key, value) in &patch.advanced_options {
                    let v: f64 = value.parse().unwrap_or(0.0);
                    let (current, unit) = if key == "das.slotMemInMB" {
                        (b.admission.slot_memory_mb.unwrap_or(0), "MB")
                    } else {
                        (b.admission.slot_cpu_mhz.unwrap_or(0), "MHz")
                    };
                    shrink = shrink.max(100.0 - percent(v, current as f64));
                    what.push(format!("{key} = {value} (slot {current} → {value} {unit})"));
                }
                (Scope::Setting, shrink, format!("cap the slot: {}", what.join(", ")))
            }
            RemedyKind::LowerReservations => {
                let mut cpu_removed = 0u64;
                let mut mem_removed = 0u64;
                let mut cpu_vms = Vec::new();
                let mut mem_vms = Vec::new();
                let mut cpu_to = 0;
                let mut mem_to = 0;
                for (id, c) in &patch.vms {
                    let Some(vm) = inv.vm(id) else { continue };
                    if let Some(x) = c.cpu_reservation_mhz {
                        cpu_removed += vm.cpu_reservation_mhz.saturating_sub(x);
                        cpu_vms.push(inv.vm_label(id));
                        cpu_to = x;
                    }
                    if let Some(x) = c.memory_reservation_mb {
                        mem_removed += vm.memory_reservation_mb.saturating_sub(x);
                        mem_vms.push(inv.vm_label(id));
                        mem_to = x + vm.memory_overhead_mb;
                    }
                }
                let mut what = Vec::new();
                if !cpu_vms.is_empty() {
                    what.push(format!(
                        "the CPU reservation of {} to {cpu_to} MHz: {}",
                        counted(cpu_vms.len() as u64, "VM", "VMs"),
                        label_list(cpu_vms.into_iter())
                    ));
                }
                if !mem_vms.is_empty() {
                    what.push(format!(
                        "the memory reservation (with overhead) of {} to {mem_to} MB: {}",
                        counted(mem_vms.len() as u64, "VM", "VMs"),
                        label_list(mem_vms.into_iter())
                    ));
                }
                let size = percent(cpu_removed as f64, b.admission.required_cpu_mhz as f64)
                    .max(percent(mem_removed as f64, b.admission.required_memory_mb as f64));
                (Scope::Vms, size, format!("lower {}", what.join("; and ")))
            }
            RemedyKind::ChangePolicy => self.describe_policy(patch),
            RemedyKind::RelaxRule => {
                let mut vms = BTreeSet::new();
                let mut what = Vec::new();
                for name in &patch.remove_rules {
                    for r in inv.rules.iter().filter(|r| &r.name == name) {
                        vms.extend(r.vms.iter().cloned());
                        what.push(format!(
                            "'{}' ({}: {})",
                            name,
                            r.kind.as_str(),
                            label_list(r.vms.iter().map(|v| inv.vm_label(v)))
                        ));
                    }
                }
                (
                    Scope::Rule,
                    percent(vms.len() as f64, self.powered_on() as f64),
                    format!("remove rule {}", what.join(", ")),
                )
            }
            RemedyKind::MoveStorage => {
                let mut by_ds: BTreeMap<&str, Vec<String>> = BTreeMap::new();
                for (id, c) in &patch.vms {
                    if let Some(ds) = &c.datastore {
                        by_ds.entry(ds.as_str()).or_default().push(inv.vm_label(id));
                    }
                }
                let what: Vec<String> = by_ds
                    .into_iter()
                    .map(|(ds, vms)| {
                        format!(
                            "{} to {}: {}",
                            counted(vms.len() as u64, "VM", "VMs"),
                            inv.datastore_label(ds),
                            label_list(vms.into_iter())
                        )
                    })
                    .collect();
                (
                    Scope::Vms,
                    percent(moves as f64, self.powered_on() as f64),
                    format!("move the files of {}", what.join("; ")),
                )
            }
        };
        (scope, size, format!("{text}{moved_suffix}"))
    }

    fn describe_policy(&self, patch: &Patch) -> (Scope, f64, String) {
        let b = &self.before;
        let Some(ac) = &patch.admission_control else {
            return (Scope::Promise, 100.0, "change the admission control policy".to_string());
        };
        // A lower host-failure promise than the configured one: its size is the share given up.
        let lowered = |policy: &str, host_failures: u32, why: &str| {
            let k = b.configured_host_failures.unwrap_or(0);
            (
                Scope::Promise,
                percent(k.saturating_sub(host_failures) as f64, k as f64),
                format!(
                    "lower the {policy} policy to {} (configured {k}{why})",
                    counted(u64::from(host_failures), "host failure", "host failures")
                ),
            )
        };
        match (ac, b.policy) {
            (AdmissionControl::Slot { host_failures, .. }, _) => {
                lowered("slot", *host_failures, "; the current failover level")
            }
            (AdmissionControl::PercentageAuto { host_failures }, crate::model::AdmissionPolicyKind::Percentage) => {
                lowered("percentage", *host_failures, "")
            }
            (AdmissionControl::PercentageAuto { host_failures }, _) => (
                Scope::Setting,
                0.0,
                format!(
                    "switch admission control to the percentage policy for {} (percentages computed from the \
                     host count)",
                    counted(u64::from(*host_failures), "host failure", "host failures")
                ),
            ),
            (
                AdmissionControl::Percentage { cpu_percent, memory_percent },
                crate::model::AdmissionPolicyKind::Percentage,
            ) => {
                let cc = b.configured_cpu_percent.unwrap_or(0.0);
                let cm = b.configured_memory_percent.unwrap_or(0.0);
                (
                    Scope::Promise,
                    percent((cc - cpu_percent).max(0.0), cc).max(percent((cm - memory_percent).max(0.0), cm)),
                    format!(
                        "lower the reserved percentages to CPU {cpu_percent} % / memory {memory_percent} % (configured \
                         {cc:.2} % / {cm:.2} %: what the cluster has free now)"
                    ),
                )
            }
            (AdmissionControl::Percentage { cpu_percent, memory_percent }, _) => (
                Scope::Setting,
                0.0,
                format!(
                    "switch admission control to the percentage policy reserving CPU {cpu_percent} % / memory \
                     {memory_percent} % (the same number of host failures)"
                ),
            ),
            (other, _) => (Scope::Promise, 100.0, format!("set admission control to {}", other.kind().as_str())),
        }
    }

    // --- kinds -------------------------------------------------------------------------------

    /// VMs left unplaced for lack of a datastore: move them to the datastore their host mounts
    /// that the most usable hosts mount (ties: smaller id), when that is more than now.
    fn storage_moves(&self, inv: &Inventory, strands: &Strands) -> BTreeMap<String, VmChange> {
        let mut mounts: BTreeMap<&str, usize> = BTreeMap::new();
        for h in inv.hosts.iter().filter(|h| h.is_available()) {
            for ds in &h.datastores {
                *mounts.entry(ds.as_str()).or_default() += 1;
            }
        }
        let count = |ds: &str| mounts.get(ds).copied().unwrap_or(0);
        let mut out = BTreeMap::new();
        let vms: BTreeSet<u32> = strands
            .pairs
            .iter()
            .filter(|(_, r)| *r == UnplacedReason::DatastoreInaccessible)
            .map(|&(v, _)| v)
            .collect();
        for v in vms {
            let Some(vm) = inv.vms.get(v as usize) else { continue };
            let Some(host) = vm.host.as_deref().and_then(|h| inv.host(h)) else { continue };
            let now = vm.datastores.iter().map(|d| count(d)).min().unwrap_or(0);
            let best = host.datastores.iter().max_by(|a, b| count(a).cmp(&count(b)).then_with(|| b.cmp(a)));
            if let Some(best) = best.filter(|d| count(d) > now) {
                out.insert(vm.id.clone(), VmChange { datastore: Some(best.clone()), ..VmChange::default() });
            }
        }
        out
    }

    fn add_hosts(&mut self, base: &Patch) -> Result<()> {
        let inv = self.original;
        let unit = self.verifier.unit;
        // The unit a new host joins is the one of the host it is like (R-DOMAIN): with units,
        // each hardware model has a representative per fault domain / site.
        let unit_of = |h: &crate::model::Host| -> Option<String> {
            match unit {
                FailureUnit::Host => None,
                FailureUnit::FaultDomain => h.fault_domain.clone(),
                FailureUnit::Site => h.site.clone(),
            }
        };
        // Hardware models of the usable hosts (and their unit), each with its representative.
        let mut models: BTreeMap<(u64, u64, Option<String>), &crate::model::Host> = BTreeMap::new();
        for h in inv.hosts.iter().filter(|h| h.is_available()) {
            let shared = patch::shared_datastores(inv, h).len();
            models
                .entry((h.cpu_mhz, h.memory_mb, unit_of(h)))
                .and_modify(|rep| {
                    let rep_shared = patch::shared_datastores(inv, rep).len();
                    if shared > rep_shared || (shared == rep_shared && h.id < rep.id) {
                        *rep = h;
                    }
                })
                .or_insert(h);
        }
        let usable = inv.hosts.iter().filter(|h| h.is_available()).count() as u64;
        let max = (2 * usable).max(8);
        let reps: Vec<String> = models.values().map(|h| h.id.clone()).collect();
        for like in reps {
            let make = |n: u64| Patch {
                add_hosts: vec![AddHosts {
                    like: like.clone(),
                    count: n as usize,
                    ids: patch::fresh_host_ids(inv, n as usize),
                }],
                ..Patch::default()
            };
            match smallest(max, |n| self.check(base, &make(n)))? {
                Some((n, after)) => self.push(RemedyKind::AddHosts, &base.merged(&make(n)), after),
                None => {
                    // Hosts added to one unit fail with it: they cannot absorb that unit's failure.
                    let joined = inv.host(&like).and_then(unit_of).map_or(String::new(), |u| {
                        format!(" (in {} '{u}', whose failure takes them down too)", unit.noun(false))
                    });
                    self.notes.push(format!(
                        "addHosts: even {max} hosts like {}{joined} do not restore the promise",
                        inv.host_label(&like)
                    ))
                }
            }
        }
        // With named units, n hosts in every unit at once: the failure of any one unit then
        // finds the others grown (a unit's failure takes its own new hosts down with it).
        if unit != FailureUnit::Host {
            let mut by_model: BTreeMap<(u64, u64), Vec<String>> = BTreeMap::new();
            for ((cpu, mem, key), rep) in &models {
                if key.is_some() {
                    by_model.entry((*cpu, *mem)).or_default().push(rep.id.clone());
                }
            }
            for likes in by_model.into_values().filter(|l| l.len() > 1) {
                let per_unit_max = max.div_ceil(likes.len() as u64);
                let make = |n: u64| {
                    let ids = patch::fresh_host_ids(inv, n as usize * likes.len());
                    Patch {
                        add_hosts: likes
                            .iter()
                            .zip(ids.chunks(n.max(1) as usize))
                            .map(|(like, ids)| AddHosts { like: like.clone(), count: n as usize, ids: ids.to_vec() })
                            .collect(),
                        ..Patch::default()
                    }
                };
                match smallest(per_unit_max, |n| self.check(base, &make(n)))? {
                    Some((n, after)) => self.push(RemedyKind::AddHosts, &base.merged(&make(n)), after),
                    None => self.notes.push(format!(
                        "addHosts: even {per_unit_max} hosts in each {} do not restore the promise",
                        unit.noun(false)
                    )),
                }
            }
        }
        Ok(())
    }

    fn add_capacity(&mut self, base: &Patch) -> Result<()> {
        let make = |cpu: u64, mem: u64| Patch {
            host_cpu_mhz: cpu * CPU_STEP_MHZ,
            host_memory_mb: mem * MEMORY_STEP_MB,
            ..Patch::default()
        };
        // The two-dimensional search scales up to doubling the average usable host.
        let usable: Vec<&crate::model::Host> = self.original.hosts.iter().filter(|h| h.is_available()).collect();
        let n = usable.len().max(1) as u64;
        let mean_cpu = usable.iter().map(|h| h.cpu_mhz).sum::<u64>() / n;
        let mean_mem = usable.iter().map(|h| h.memory_mb).sum::<u64>() / n;
        let diag = (mean_cpu.div_ceil(CPU_STEP_MHZ).min(MAX_STEPS), mean_mem.div_ceil(MEMORY_STEP_MB).min(MAX_STEPS));
        let found = search_2d((MAX_STEPS, MAX_STEPS), diag, false, |c, m| self.check(base, &make(c, m)))?;
        if found.is_empty() {
            self.notes.push(format!(
                "addCpu / addMemory: even {} MHz and {} MB more on every host do not restore the promise",
                MAX_STEPS * CPU_STEP_MHZ,
                MAX_STEPS * MEMORY_STEP_MB
            ));
        }
        for (c, m, after) in found {
            let kind = match (c > 0, m > 0) {
                (true, true) => RemedyKind::AddCpuAndMemory,
                (true, false) => RemedyKind::AddCpu,
                _ => RemedyKind::AddMemory,
            };
            self.push(kind, &base.merged(&make(c, m)), after);
        }
        Ok(())
    }

    /// The computed slot (slot policy without a fixed slot), as (cpu, memory).
    fn computed_slot(&self) -> Option<(u64, u64)> {
        match self.original.cluster.admission_control {
            AdmissionControl::Slot { slot_cpu_mhz: None, slot_memory_mb: None, .. } => {
                Some((self.before.admission.slot_cpu_mhz?, self.before.admission.slot_memory_mb?))
            }
            _ => None,
        }
    }

    fn slot_caps(&mut self, base: &Patch) -> Result<()> {
        let Some((cpu, mem)) = self.computed_slot() else { return Ok(()) };
        // Reductions r: cap = slot − r, r in 1..slot (r = 0: no cap).
        let make = |rc: u64, rm: u64| {
            let mut p = Patch::default();
            if rc > 0 {
                p.advanced_options.insert("das.slotCpuInMHz".into(), (cpu - rc).to_string());
            }
            if rm > 0 {
                p.advanced_options.insert("das.slotMemInMB".into(), (mem - rm).to_string());
            }
            p
        };
        let range = (cpu.saturating_sub(1), mem.saturating_sub(1));
        self.reductions(base, range, RemedyKind::SlotCap, "slotCap: no slot cap restores the promise", make)
    }

    fn lower_reservations(&mut self, base: &Patch) -> Result<()> {
        if self.computed_slot().is_none() {
            return Ok(());
        }
        let inv = self.original;
        let on: Vec<&crate::model::Vm> = inv.vms.iter().filter(|v| v.is_powered_on()).collect();
        let max_cpu = on.iter().map(|v| v.cpu_reservation_mhz).max().unwrap_or(0);
        let max_mem = on.iter().map(|v| v.memory_demand_mb()).max().unwrap_or(0);
        // Reductions r from the largest demand: every VM above `max − r` lowered to it.
        let make = |rc: u64, rm: u64| {
            let mut p = Patch::default();
            for vm in &on {
                let mut c = VmChange::default();
                if rc > 0 && vm.cpu_reservation_mhz > max_cpu - rc {
                    c.cpu_reservation_mhz = Some(max_cpu - rc);
                }
                if rm > 0 && vm.memory_demand_mb() > max_mem - rm {
                    c.memory_reservation_mb = Some((max_mem - rm).saturating_sub(vm.memory_overhead_mb));
                }
                if c != VmChange::default() {
                    p.vms.insert(vm.id.clone(), c);
                }
            }
            p
        };
        let range = (max_cpu.saturating_sub(1), max_mem.saturating_sub(1));
        let none = "lowerReservations: lowering the largest reservations does not restore the promise";
        self.reductions(base, range, RemedyKind::LowerReservations, none, make)
    }

    /// Searches the reductions `(rc, rm)` up to `range` that `make` turns into a patch (scanned:
    /// a reduction may fail again past a working one), pushes every one found as a `kind` remedy
    /// on top of `base`, or the note `none` when there is none.
    fn reductions(
        &mut self,
        base: &Patch,
        range: (u64, u64),
        kind: RemedyKind,
        none: &str,
        make: impl Fn(u64, u64) -> Patch,
    ) -> Result<()> {
        let found = search_2d(range, range, true, |rc, rm| self.check(base, &make(rc, rm)))?;
        if found.is_empty() {
            self.notes.push(none.to_string());
        }
        for (rc, rm, after) in found {
            self.push(kind, &base.merged(&make(rc, rm)), after);
        }
        Ok(())
    }

    fn change_policy(&mut self, base: &Patch) -> Result<()> {
        let inv = self.original;
        let b = self.before.clone();
        let counted = inv.hosts.iter().filter(|h| h.is_available()).count() as u64;
        let auto_ok = inv.cluster.version.at_least(Version::V6_5);
        let percentage_for = |k: u32| {
            if auto_ok {
                AdmissionControl::PercentageAuto { host_failures: k }
            } else {
                let p = (u64::from(k) * 100).div_ceil(counted.max(1)) as f64;
                AdmissionControl::Percentage { cpu_percent: p, memory_percent: p }
            }
        };
        let mut candidates: Vec<AdmissionControl> = Vec::new();
        match &inv.cluster.admission_control {
            AdmissionControl::Slot { host_failures, slot_cpu_mhz, slot_memory_mb } => {
                candidates.push(percentage_for(*host_failures));
                if let Some(level) = b.admission.current_failover_level {
                    if !b.admission.overcommitted && level >= 1 && level < *host_failures {
                        candidates.push(AdmissionControl::Slot {
                            host_failures: level,
                            slot_cpu_mhz: *slot_cpu_mhz,
                            slot_memory_mb: *slot_memory_mb,
                        });
                    }
                }
            }
            AdmissionControl::Percentage { .. } => {
                if let (Some(c), Some(m)) = (b.admission.cpu_failover_percent, b.admission.memory_failover_percent) {
                    if c >= 0.0 && m >= 0.0 {
                        candidates
                            .push(AdmissionControl::Percentage { cpu_percent: c.floor(), memory_percent: m.floor() });
                    }
                }
            }
            AdmissionControl::PercentageAuto { host_failures } => {
                for k in (1..*host_failures).rev() {
                    let p = Patch {
                        admission_control: Some(AdmissionControl::PercentageAuto { host_failures: k }),
                        ..Patch::default()
                    };
                    if self.check(base, &p)?.is_some() {
                        candidates.push(AdmissionControl::PercentageAuto { host_failures: k });
                        break;
                    }
                }
            }
            AdmissionControl::FailoverHosts { hosts } => {
                candidates.push(percentage_for(hosts.len() as u32));
            }
            AdmissionControl::Disabled => {}
        }
        for ac in candidates {
            let p = Patch { admission_control: Some(ac), ..Patch::default() };
            if let Some(after) = self.check(base, &p)? {
                self.push(RemedyKind::ChangePolicy, &base.merged(&p), after);
            }
        }
        Ok(())
    }

    fn relax_rules(&mut self, base: &Patch, strands: &Strands) -> Result<()> {
        let inv = self.original;
        let mut names: BTreeSet<String> = BTreeSet::new();
        for &(v, reason) in &strands.pairs {
            let Some(vm) = inv.vms.get(v as usize) else { continue };
            for r in inv.rules.iter().filter(|r| r.enabled && r.vms.contains(&vm.id)) {
                let relevant = match reason {
                    UnplacedReason::AntiAffinity => r.kind == RuleKind::VmAntiAffinity,
                    UnplacedReason::VmHostRule | UnplacedReason::NoCompatibleHost => {
                        matches!(
                            r.kind,
                            RuleKind::VmHostMust
                                | RuleKind::VmHostMustNot
                                | RuleKind::VmHostShould
                                | RuleKind::VmHostShouldNot
                        )
                    }
                    _ => false,
                };
                if relevant {
                    names.insert(r.name.clone());
                }
            }
        }
        if names.is_empty() {
            return Ok(());
        }
        let mut any = false;
        for name in &names {
            let p = Patch { remove_rules: vec![name.clone()], ..Patch::default() };
            if let Some(after) = self.check(base, &p)? {
                self.push(RemedyKind::RelaxRule, &base.merged(&p), after);
                any = true;
            }
        }
        if !any && names.len() > 1 {
            let p = Patch { remove_rules: names.iter().cloned().collect(), ..Patch::default() };
            if let Some(after) = self.check(base, &p)? {
                self.push(RemedyKind::RelaxRule, &base.merged(&p), after);
                any = true;
            }
        }
        if !any {
            self.notes.push(format!(
                "relaxRule: removing the rules of the stranded VMs ({}) does not restore the promise",
                names.iter().map(|n| format!("'{n}'")).collect::<Vec<_>>().join(", ")
            ));
        }
        Ok(())
    }
}
