//! The public failover plan: [`plan_failover`] → [`FailoverPlan`] with ids, per-host verdicts
//! and explanations.
//!
//! Indexing (panic audit): every host index comes from `inv.host_idx` or the index's host order,
//! every VM index from the index's per-host lists, dependency lists or anti-affinity groups, and
//! the index is checked to fit the inventory (`PlacementIndex::fits`) on entry; the per-VM and
//! per-host vectors here (`affected`, `restarting`, `placed_on`) are sized from the same
//! inventory, so `inv.hosts[h]`, `inv.vms[v]` and those vectors are always indexed in range.
//! A trace's verdict range is taken from `verdicts` as it was filled and only shrinks with it.

use std::fmt::Write as _;
use std::ops::Range;
use std::sync::Arc;

use serde_json::{json, Map, Value};

use crate::capacity::Resources;
use crate::error::{Error, Result};
use crate::model::{Inventory, IsolationResponse, Labels, PowerState, RestartPriority, Vm};

use super::drs::{self, Assist, DrsLedger};
use super::engine::{evaluate, restart_order, Evaluation, Outcome, Refusal, RestartClass, Score, UnplacedReason};
use super::index::{FastMap, PlacementIndex};
use super::state::{HostAvailability, PlacementBase, PlacementState};

/// One VM restarted on one host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placement {
    pub vm: String,
    pub host: String,
    /// 1-based position in the restart order. The order counts every VM HA attempts, so the
    /// gaps are the unplaced VMs.
    pub order: usize,
    pub class: RestartClass,
    /// The effective restart priority (`clusterRestartPriority` resolved).
    pub priority: RestartPriority,
}

/// One vMotion DRS makes to defragment the cluster for a restarted VM (R-PLACE-DRS).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Migration {
    /// The running VM moved.
    pub vm: String,
    /// The host it leaves (the one that then takes the restarted VM).
    pub source: String,
    /// The host it moves to.
    pub target: String,
    /// The restarted VM the room is made for.
    pub for_vm: String,
}

/// One VM HA cannot restart anywhere.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unplaced {
    pub vm: String,
    pub reason: UnplacedReason,
    /// 1-based position in the restart order (when it was attempted).
    pub order: usize,
    pub class: RestartClass,
    pub priority: RestartPriority,
    /// Every host, in host id order (bytewise), with why it refused the VM.
    pub hosts: Vec<(String, HostRefusal)>,
}

/// Why a VM of a failed or isolated host is not restarted at all (R-PLACE "which VMs", R-ISO).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NotRestartedReason {
    /// Powered off by a user: never restarted.
    CleanPowerOff,
    /// Not powered on when the host went down.
    NotPoweredOn(PowerState),
    /// Not protected by HA.
    Unprotected,
    /// Restart priority `disabled`.
    RestartDisabled,
    /// Cluster host monitoring off: HA reacts to no host failure and applies no isolation
    /// response (R-ISO).
    HostMonitoringDisabled,
    /// Isolated host and isolation response `none`: the VM keeps running there.
    IsolationResponseNone,
}

impl NotRestartedReason {
    /// Every reason code, in declaration order (the Python `NotRestartedReason` values).
    pub const CODES: &'static [&'static str] = &[
        "cleanPowerOff",
        "notPoweredOn",
        "unprotected",
        "restartDisabled",
        "hostMonitoringDisabled",
        "isolationResponseNone",
    ];

    /// The reason code (one of [`NotRestartedReason::CODES`]).
    pub fn as_str(self) -> &'static str {
        match self {
            NotRestartedReason::CleanPowerOff => "cleanPowerOff",
            NotRestartedReason::NotPoweredOn(_) => "notPoweredOn",
            NotRestartedReason::Unprotected => "unprotected",
            NotRestartedReason::RestartDisabled => "restartDisabled",
            NotRestartedReason::HostMonitoringDisabled => "hostMonitoringDisabled",
            NotRestartedReason::IsolationResponseNone => "isolationResponseNone",
        }
    }

    pub fn describe(self) -> String {
        match self {
            NotRestartedReason::CleanPowerOff => "it was cleanly powered off by a user".to_string(),
            NotRestartedReason::NotPoweredOn(state) => format!("it was not powered on ({state})"),
            NotRestartedReason::Unprotected => "it is not protected by HA".to_string(),
            NotRestartedReason::RestartDisabled => "its restart priority is disabled".to_string(),
            NotRestartedReason::HostMonitoringDisabled => {
                "host monitoring is off: HA restarts nothing after host failures and applies no isolation response"
                    .to_string()
            }
            NotRestartedReason::IsolationResponseNone => {
                "its isolation response is 'none' (leave powered on): it keeps running on the isolated host".to_string()
            }
        }
    }
}

/// A VM of a failed or isolated host that HA leaves alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotRestarted {
    pub vm: String,
    pub host: String,
    pub reason: NotRestartedReason,
}

/// Why one host refused one VM (R-PLACE-2), with ids.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostRefusal {
    /// Failed, isolated, partitioned, disconnected, not responding, maintenance, standby, or
    /// required agent VMs not running (`agentVmsNotReady`).
    Unavailable(HostAvailability),
    DatastoreNotConnected {
        datastore: String,
    },
    /// Connected, but lost (APD/PDL) in the state the plan was made for.
    DatastoreInaccessible {
        datastore: String,
    },
    NetworkMissing {
        network: String,
    },
    /// The host is not among the hosts of this `vmHostMust` rule.
    VmHostMust {
        rule: String,
    },
    /// The host is among the hosts of this `vmHostMustNot` rule.
    VmHostMustNot {
        rule: String,
    },
    /// `vm` (of rule `rule`) already runs or was already placed there.
    AntiAffinity {
        rule: String,
        vm: Option<String>,
    },
    FtLimit {
        ft_vms: u32,
        limit: u32,
    },
    /// Unreserved CPU or memory below what the VM reserves.
    InsufficientResources {
        needed: Resources,
        unreserved: Resources,
    },
}

impl HostRefusal {
    /// Stable camelCase code (`failed`, `maintenance`, …, `datastoreNotConnected`,
    /// `insufficientResources`).
    pub fn code(&self) -> &'static str {
        match self {
            HostRefusal::Unavailable(a) => a.as_str(),
            HostRefusal::DatastoreNotConnected { .. } => "datastoreNotConnected",
            HostRefusal::DatastoreInaccessible { .. } => "datastoreInaccessible",
            HostRefusal::NetworkMissing { .. } => "networkMissing",
            HostRefusal::VmHostMust { .. } => "vmHostMust",
            HostRefusal::VmHostMustNot { .. } => "vmHostMustNot",
            HostRefusal::AntiAffinity { .. } => "antiAffinity",
            HostRefusal::FtLimit { .. } => "ftLimit",
            HostRefusal::InsufficientResources { .. } => "insufficientResources",
        }
    }
}

impl HostRefusal {
    /// The reason as text, datastores and VMs shown by `labels` (`datastore-1 (gold-01)`).
    pub fn describe(&self, labels: Labels<'_>) -> String {
        match self {
            HostRefusal::DatastoreNotConnected { datastore } => {
                format!("not connected to datastore {}", labels.datastore(datastore))
            }
            HostRefusal::DatastoreInaccessible { datastore } => {
                format!("datastore {} is inaccessible (APD/PDL)", labels.datastore(datastore))
            }
            HostRefusal::AntiAffinity { rule, vm: Some(vm) } => {
                format!("{} of anti-affinity rule '{rule}' is there", labels.vm(vm))
            }
            other => other.to_string(),
        }
    }
}

impl std::fmt::Display for HostRefusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HostRefusal::Unavailable(a) => f.write_str(a.describe()),
            HostRefusal::DatastoreNotConnected { datastore } => {
                write!(f, "not connected to datastore {datastore}")
            }
            HostRefusal::DatastoreInaccessible { datastore } => {
                write!(f, "datastore {datastore} is inaccessible (APD/PDL)")
            }
            HostRefusal::NetworkMissing { network } => {
                write!(f, "does not offer network '{network}'")
            }
            HostRefusal::VmHostMust { rule } => write!(f, "not a host of vmHostMust rule '{rule}'"),
            HostRefusal::VmHostMustNot { rule } => {
                write!(f, "a host of vmHostMustNot rule '{rule}'")
            }
            HostRefusal::AntiAffinity { rule, vm: Some(vm) } => {
                write!(f, "{vm} of anti-affinity rule '{rule}' is there")
            }
            HostRefusal::AntiAffinity { rule, vm: None } => {
                write!(f, "a VM of anti-affinity rule '{rule}' is there")
            }
            HostRefusal::FtLimit { ft_vms, limit } => {
                write!(f, "already has {ft_vms} FT VMs (das.maxFtVmsPerHost = {limit})")
            }
            HostRefusal::InsufficientResources { needed, unreserved } => {
                let mut parts = Vec::new();
                if unreserved.cpu_mhz < needed.cpu_mhz {
                    parts.push(format!("needs {} MHz CPU, {} MHz unreserved", needed.cpu_mhz, unreserved.cpu_mhz));
                }
                if unreserved.memory_mb < needed.memory_mb {
                    parts.push(format!("needs {} MB memory, {} MB unreserved", needed.memory_mb, unreserved.memory_mb));
                }
                f.write_str(&parts.join("; "))
            }
        }
    }
}

/// How a feasible host ranked for one VM (R-PLACE-3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Candidate {
    /// A dedicated failover host of an active failover-hosts policy.
    pub failover_host: bool,
    /// Soft VM-host rules of the VM this host violates (0 unless they are respected).
    pub soft_rule_violations: u32,
    /// Unreserved CPU and memory left on the host after placing the VM.
    pub unreserved_after: Resources,
}

impl From<Score> for Candidate {
    fn from(s: Score) -> Self {
        Candidate {
            failover_host: s.failover_host,
            soft_rule_violations: s.soft_rule_violations,
            unreserved_after: s.unreserved_after,
        }
    }
}

/// One host's verdict for one VM.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostVerdict {
    Chosen(Candidate),
    Feasible(Candidate),
    Refused(HostRefusal),
}

/// A host's verdict as stored in the plan: `Copy`, names interned in `FailoverPlan::names`,
/// so recording one per host per VM costs no allocation. Resolved to [`HostVerdict`] on demand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StoredVerdict {
    Chosen(Candidate),
    Feasible(Candidate),
    Refused(StoredRefusal),
}

/// [`HostRefusal`] with names as indices into `FailoverPlan::names`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StoredRefusal {
    Unavailable(HostAvailability),
    DatastoreNotConnected(u32),
    DatastoreInaccessible(u32),
    NetworkMissing(u32),
    VmHostMust(u32),
    VmHostMustNot(u32),
    AntiAffinity { rule: u32, vm: Option<u32> },
    FtLimit { ft_vms: u32, limit: u32 },
    InsufficientResources { needed: Resources, unreserved: Resources },
}

/// Everything recorded about one attempted VM, for [`FailoverPlan::explain`].
#[derive(Debug, Clone, PartialEq, Eq)]
struct Trace {
    vm: String,
    order: usize,
    class: RestartClass,
    host: Option<String>,
    reason: Option<UnplacedReason>,
    /// Its verdicts in `FailoverPlan::verdicts`, one per host in host id order.
    verdicts: Range<usize>,
    /// VMs restarted earlier in this plan that this VM depends on.
    waited_for: Vec<String>,
    /// vMotions DRS made for this VM (R-PLACE-DRS), in order.
    migrations: Vec<Migration>,
    /// The standby host DPM brought out of standby for this VM.
    exited_standby: Option<String>,
    /// DRS not in full automation: the vMotions that would have made room.
    would_migrate: Vec<Migration>,
}

/// The answer to "if these hosts fail (or are isolated), which VMs come back, where, in what
/// order — and which do not, and why?".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailoverPlan {
    /// Failed hosts, sorted by id (bytewise), without duplicates.
    pub failed_hosts: Vec<String>,
    /// Isolated hosts (not also failed), sorted by id.
    pub isolated_hosts: Vec<String>,
    /// Placements in restart order.
    pub placements: Vec<Placement>,
    /// VMs that cannot be placed, in restart order.
    pub unplaced: Vec<Unplaced>,
    /// VMs of the failed and isolated hosts that HA does not restart, sorted by VM id.
    pub not_restarted: Vec<NotRestarted>,
    /// vMotions DRS makes to defragment the cluster (R-PLACE-DRS; DRS enabled and fully
    /// automated), in order: each before the restart of its `for_vm`.
    pub migrations: Vec<Migration>,
    /// Hosts DPM brings out of standby (R-PLACE-DRS; DRS fully automated and DPM enabled), in
    /// order.
    pub hosts_exited_standby: Vec<String>,
    /// Host ids in host id order (bytewise): the order of every verdict list (shared by every
    /// plan on one inventory).
    host_ids: Arc<[String]>,
    traces: Vec<Trace>,
    /// Every attempted VM's verdicts, or none when the plan is too big to keep them
    /// ([`KEPT_VERDICTS_LIMIT`]); `explain` then recomputes them by replaying the plan.
    verdicts_kept: bool,
    verdicts: Vec<StoredVerdict>,
    /// Names (datastores, networks, rules, VMs) the stored refusals refer to.
    names: Vec<String>,
}

/// The most host verdicts (VMs attempted × hosts) a plan keeps for [`FailoverPlan::explain`]:
/// ~40 bytes each, so at most ~170 MB. A bigger plan (e.g. 96 of 9,600 hosts failing with a
/// million VMs: 76 million verdicts, 3 GB) keeps none; explaining one of its VMs replays the plan
/// up to that VM instead.
pub const KEPT_VERDICTS_LIMIT: usize = 4 << 20;

/// Which VMs' verdicts a planning run keeps.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Keep {
    /// Every VM's, when there are at most this many verdicts in all; otherwise none.
    AllWithin(usize),
    /// Only the VM at this 0-based restart position, and stop after it (replay for `explain`).
    OnlyAt(usize),
}

/// Plans the restarts after `failed_hosts` fail and `isolated_hosts` are isolated (R-PLACE).
/// Unknown host ids are an [`Error::UnknownId`]. A host named in both lists counts as failed.
///
/// The index and the cluster state every plan starts from are built on the first plan of an
/// inventory and kept with it ([`Inventory::placement_base`]): later plans on the same inventory,
/// from any thread, copy only the per-host state they change.
pub fn plan_failover<S: AsRef<str>>(inv: &Inventory, failed_hosts: &[S], isolated_hosts: &[S]) -> Result<FailoverPlan> {
    let base = inv.placement_base()?;
    let keep = Keep::AllWithin(KEPT_VERDICTS_LIMIT);
    plan_and_state(inv, &base.index, Some(&base), failed_hosts, isolated_hosts, keep).map(|(plan, _)| plan)
}

/// [`plan_failover`] keeping no per-host verdicts: the same placements, unplaced VMs (each with
/// every host's refusal) and explanations, but [`FailoverPlan::explain`] and
/// [`FailoverPlan::host_verdicts`] recompute a VM's verdicts by replaying the plan up to it (one
/// more plan, on the shared [`Inventory::placement_base`]). For callers that read every
/// placement and explain few VMs, such as the Python API: recording every host's verdict for
/// every VM is most of a plan's work.
pub fn plan_failover_lean<S: AsRef<str>>(
    inv: &Inventory,
    failed_hosts: &[S],
    isolated_hosts: &[S],
) -> Result<FailoverPlan> {
    let base = inv.placement_base()?;
    plan_and_state(inv, &base.index, Some(&base), failed_hosts, isolated_hosts, Keep::AllWithin(0))
        .map(|(plan, _)| plan)
}

/// Where a host stands in the scenario.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Affected {
    No,
    Failed,
    Isolated,
}

/// [`plan_failover`] with an index built beforehand (for callers that plan repeatedly).
pub fn plan_failover_indexed<S: AsRef<str>>(
    inv: &Inventory,
    index: &PlacementIndex,
    failed_hosts: &[S],
    isolated_hosts: &[S],
) -> Result<FailoverPlan> {
    plan_keeping(inv, index, failed_hosts, isolated_hosts, Keep::AllWithin(KEPT_VERDICTS_LIMIT))
}

/// [`plan_failover_indexed`] keeping verdicts only when there are at most `limit` of them (for
/// tests of the recomputing path at small sizes).
#[doc(hidden)]
pub fn plan_failover_keeping_at_most<S: AsRef<str>>(
    inv: &Inventory,
    index: &PlacementIndex,
    failed_hosts: &[S],
    isolated_hosts: &[S],
    limit: usize,
) -> Result<FailoverPlan> {
    plan_keeping(inv, index, failed_hosts, isolated_hosts, Keep::AllWithin(limit))
}

fn plan_keeping<S: AsRef<str>>(
    inv: &Inventory,
    index: &PlacementIndex,
    failed_hosts: &[S],
    isolated_hosts: &[S],
    keep: Keep,
) -> Result<FailoverPlan> {
    plan_and_state(inv, index, None, failed_hosts, isolated_hosts, keep).map(|(plan, _)| plan)
}

/// The plan of `failed_hosts` keeping no verdicts, with the placement state it ends in (every
/// restart and DRS move booked): what the sweep needs when it cannot take its shortcut.
pub(crate) fn plan_with_final_state(
    inv: &Inventory,
    index: &PlacementIndex,
    failed_hosts: &[&str],
) -> Result<(FailoverPlan, PlacementState)> {
    plan_and_state(inv, index, None, failed_hosts, &[], Keep::AllWithin(0))
}

/// `base`: the shared [`PlacementBase`] of `inv` when `index` is its index: its state is cloned
/// instead of rebuilt from every VM, its host ids shared.
fn plan_and_state<S: AsRef<str>>(
    inv: &Inventory,
    index: &PlacementIndex,
    base: Option<&PlacementBase>,
    failed_hosts: &[S],
    isolated_hosts: &[S],
    keep: Keep,
) -> Result<(FailoverPlan, PlacementState)> {
    if !index.fits(inv) {
        return Err(Error::Argument("the placement index was built for another inventory".to_string()));
    }
    // The per-VM tables below (`placed_on` only when anti-affinity rules are respected) and the
    // per-host ones: estimated, then reserved.
    let track_placed = index.respects_anti_affinity() && index.rules.anti_affinity_group_count() > 0;
    let per_vm = 2 + if track_placed { std::mem::size_of::<Option<usize>>() } else { 0 };
    let tables = inv.vms.len().saturating_mul(per_vm).saturating_add(inv.hosts.len().saturating_mul(64));
    crate::mem::ensure_headroom(tables, "planning the failover")?;
    let mut affected = vec![Affected::No; inv.hosts.len()];
    for (ids, mark) in [(isolated_hosts, Affected::Isolated), (failed_hosts, Affected::Failed)] {
        // Failed last: a host named in both lists counts as failed.
        for id in ids {
            let id = id.as_ref();
            let h = inv.resolve_host(id)?; // an id or an unambiguous name
            affected[h] = mark;
        }
    }

    let mut state = match base {
        Some(base) => base.state.clone(),
        None => PlacementState::new(inv, index),
    };
    for (h, mark) in affected.iter().enumerate() {
        match mark {
            Affected::Failed => state.set_availability(h, HostAvailability::Failed),
            Affected::Isolated => state.set_availability(h, HostAvailability::Isolated),
            Affected::No => {}
        }
    }

    // Which VMs (R-PLACE): only the VMs of the affected hosts are looked at.
    let mut to_restart = Vec::new();
    let mut not_restarted = Vec::new();
    for (h, &mark) in affected.iter().enumerate() {
        if mark == Affected::No {
            continue;
        }
        for v in index.vms_on_host(h).iter().map(|&v| v as usize) {
            let vm = &inv.vms[v];
            match restart_exclusion(inv, vm, mark == Affected::Failed) {
                Some(reason) => {
                    not_restarted.push(NotRestarted { vm: vm.id.clone(), host: inv.hosts[h].id.clone(), reason })
                }
                None => {
                    // Its old host is gone or powers it off: it holds nothing there any more.
                    state.remove_vm(inv, index, v, h);
                    to_restart.push(v);
                }
            }
        }
    }
    not_restarted.sort_by(|a, b| a.vm.as_bytes().cmp(b.vm.as_bytes()));

    let order = restart_order(inv, index, &to_restart);
    let mut restarting = vec![false; inv.vms.len()];
    for &v in &order {
        restarting[v] = true;
    }
    // Where each VM was placed in this plan: only anti-affinity refusals ask (which member of the
    // group is on the host), so only kept when those rules are respected.
    let mut placed_on: Vec<Option<usize>> = if track_placed { vec![None; inv.vms.len()] } else { Vec::new() };
    let mut names = NameTable::default();
    let mut placements = Vec::new();
    let mut unplaced = Vec::new();
    let mut traces = Vec::with_capacity(order.len());
    let verdicts_kept = match keep {
        Keep::AllWithin(limit) => order.len().saturating_mul(index.host_count()) <= limit,
        Keep::OnlyAt(_) => true,
    };
    let verdicts_wanted = match keep {
        Keep::OnlyAt(_) => index.host_count(),
        Keep::AllWithin(_) if verdicts_kept => order.len().saturating_mul(index.host_count()),
        Keep::AllWithin(_) => 0,
    };
    let mut verdicts = crate::mem::try_with_capacity(verdicts_wanted, "keeping the placement verdicts")?;
    let mut evaluations = Vec::with_capacity(index.host_count());
    let mut ledger = DrsLedger::default();
    let mut migrations: Vec<Migration> = Vec::new();
    let mut hosts_exited_standby: Vec<String> = Vec::new();

    for (position, &v) in order.iter().enumerate() {
        let vm = &inv.vms[v];
        let keep_this = match keep {
            Keep::AllWithin(_) => verdicts_kept,
            Keep::OnlyAt(at) => position == at,
        };
        evaluations.clear();
        // Each host's verdict is recorded only when kept; an unplaced VM is evaluated again below
        // with its verdicts recorded (the state is the same, so is the outcome).
        let mut outcome = evaluate(inv, index, &state, v, if keep_this { Some(&mut evaluations) } else { None });
        // R-PLACE-DRS: DRS (and DPM) may make room for a VM no host takes as things are.
        let (mut vm_migrations, mut exited_standby, mut would_migrate) = (Vec::new(), None, Vec::new());
        if let Outcome::Unplaced { .. } = outcome {
            let as_migrations = |moves: &[drs::Move]| -> Vec<Migration> {
                moves
                    .iter()
                    .map(|m| Migration {
                        vm: inv.vms[m.vm].id.clone(),
                        source: inv.hosts[m.from].id.clone(),
                        target: inv.hosts[m.to].id.clone(),
                        for_vm: vm.id.clone(),
                    })
                    .collect()
            };
            match drs::assist(inv, index, &mut state, &mut ledger, v, &restarting) {
                Assist::Nothing => {}
                Assist::WouldDefragment(moves) => would_migrate = as_migrations(&moves),
                Assist::Defragmented(moves) => {
                    vm_migrations = as_migrations(&moves);
                    migrations.extend(vm_migrations.iter().cloned());
                }
                Assist::ExitedStandby(h) => {
                    exited_standby = Some(inv.hosts[h].id.clone());
                    hosts_exited_standby.push(inv.hosts[h].id.clone());
                }
            }
            if !vm_migrations.is_empty() || exited_standby.is_some() || !keep_this {
                evaluations.clear();
                outcome = evaluate(inv, index, &state, v, Some(&mut evaluations));
            }
        }
        let chosen = outcome.host();
        let first = verdicts.len();
        let unplaced_here = chosen.is_none();
        if keep_this || unplaced_here {
            // Unplaced VMs keep their verdicts even past the kept limit: grown fallibly.
            verdicts.try_reserve(evaluations.len()).map_err(|_| {
                Error::out_of_memory(
                    "keeping the placement verdicts",
                    evaluations.len().saturating_mul(std::mem::size_of::<StoredVerdict>()),
                )
            })?;
            for &(h, evaluation) in &evaluations {
                verdicts.push(match evaluation {
                    Evaluation::Feasible(score) if Some(h) == chosen => StoredVerdict::Chosen(score.into()),
                    Evaluation::Feasible(score) => StoredVerdict::Feasible(score.into()),
                    Evaluation::Refused(refusal) => StoredVerdict::Refused(store_refusal(
                        inv,
                        index,
                        v,
                        h,
                        refusal,
                        &placed_on,
                        &restarting,
                        &mut names,
                    )),
                });
            }
        }
        let class = RestartClass::of(inv, vm);
        let priority = inv.effective_restart_priority(vm);
        let waited_for = index
            .rules
            .depends_on(v)
            .iter()
            .map(|&d| d as usize)
            .filter(|&d| restarting[d])
            .map(|d| inv.vms[d].id.clone())
            .collect();
        let mut trace = Trace {
            vm: vm.id.clone(),
            order: position + 1,
            class,
            host: None,
            reason: None,
            verdicts: first..verdicts.len(),
            waited_for,
            migrations: std::mem::take(&mut vm_migrations),
            exited_standby: exited_standby.take(),
            would_migrate: std::mem::take(&mut would_migrate),
        };
        match outcome {
            Outcome::Placed { host, .. } => {
                state.add_vm(inv, index, v, host);
                if let Some(slot) = placed_on.get_mut(v) {
                    *slot = Some(host);
                }
                trace.host = Some(inv.hosts[host].id.clone());
                placements.push(Placement {
                    vm: vm.id.clone(),
                    host: inv.hosts[host].id.clone(),
                    order: position + 1,
                    class,
                    priority,
                });
            }
            Outcome::Unplaced { reason, .. } => {
                trace.reason = Some(reason);
                let hosts = evaluations
                    .iter()
                    .zip(&verdicts[trace.verdicts.clone()])
                    .filter_map(|(&(h, _), verdict)| match verdict {
                        StoredVerdict::Refused(r) => Some((inv.hosts[h].id.clone(), resolve(r, &names.list))),
                        _ => None,
                    })
                    .collect();
                unplaced.push(Unplaced { vm: vm.id.clone(), reason, order: position + 1, class, priority, hosts });
            }
        }
        if !keep_this {
            // An unplaced VM's verdicts were needed for its `hosts` list only.
            verdicts.truncate(first);
            trace.verdicts = first..first;
        }
        traces.push(trace);
        if keep == Keep::OnlyAt(position) {
            break;
        }
    }

    let ids_marked = |mark: Affected| {
        let mut ids: Vec<String> =
            affected.iter().enumerate().filter(|(_, m)| **m == mark).map(|(h, _)| inv.hosts[h].id.clone()).collect();
        ids.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
        ids
    };
    let plan = FailoverPlan {
        failed_hosts: ids_marked(Affected::Failed),
        isolated_hosts: ids_marked(Affected::Isolated),
        placements,
        unplaced,
        not_restarted,
        migrations,
        hosts_exited_standby,
        host_ids: match base {
            Some(base) => Arc::clone(&base.host_ids),
            None => host_ids_in_order(inv, index),
        },
        traces,
        verdicts_kept,
        verdicts,
        names: names.list,
    };
    Ok((plan, state))
}

/// Host ids in host id order (bytewise), as every plan lists its verdicts.
pub(crate) fn host_ids_in_order(inv: &Inventory, index: &PlacementIndex) -> Arc<[String]> {
    index.host_order().iter().map(|&h| inv.hosts[h].id.clone()).collect()
}

/// Interns the names stored refusals refer to.
#[derive(Default)]
struct NameTable {
    list: Vec<String>,
    ids: FastMap<String, u32>,
}

impl NameTable {
    fn id(&mut self, name: &str) -> u32 {
        if let Some(&id) = self.ids.get(name) {
            return id;
        }
        // why: names interned per plan: far fewer than 2^32.
        let id = self.list.len() as u32;
        self.list.push(name.to_string());
        self.ids.insert(name.to_string(), id);
        id
    }
}

/// The stored form of one host's refusal of VM `vm`.
#[allow(clippy::too_many_arguments)]
fn store_refusal(
    inv: &Inventory,
    index: &PlacementIndex,
    vm: usize,
    host: usize,
    refusal: Refusal,
    placed_on: &[Option<usize>],
    restarting: &[bool],
    names: &mut NameTable,
) -> StoredRefusal {
    let v = &inv.vms[vm];
    let rule_name = |rule: usize| inv.rules.get(rule).map_or("", |r| r.name.as_str());
    match refusal {
        Refusal::Unavailable(a) => StoredRefusal::Unavailable(a),
        Refusal::DatastoreNotConnected { datastore } => {
            StoredRefusal::DatastoreNotConnected(names.id(nth(&v.datastores, datastore)))
        }
        Refusal::DatastoreLost { datastore } => {
            StoredRefusal::DatastoreInaccessible(names.id(nth(&v.datastores, datastore)))
        }
        Refusal::NetworkMissing { network } => StoredRefusal::NetworkMissing(names.id(nth(&v.networks, network))),
        Refusal::VmHostMust { rule } => StoredRefusal::VmHostMust(names.id(rule_name(rule))),
        Refusal::VmHostMustNot { rule } => StoredRefusal::VmHostMustNot(names.id(rule_name(rule))),
        Refusal::AntiAffinity { rule, group } => {
            let partner = anti_affinity_partner(inv, index, group, vm, host, placed_on, restarting);
            StoredRefusal::AntiAffinity {
                rule: names.id(rule_name(rule)),
                vm: partner.map(|p| names.id(&inv.vms[p].id)),
            }
        }
        Refusal::FtLimit { ft_vms, limit } => StoredRefusal::FtLimit { ft_vms, limit },
        Refusal::Insufficient { needed, unreserved } => StoredRefusal::InsufficientResources { needed, unreserved },
    }
}

fn nth(list: &[String], pos: usize) -> &str {
    list.get(pos).map_or("", String::as_str)
}

fn resolve(refusal: &StoredRefusal, names: &[String]) -> HostRefusal {
    let name = |id: u32| names.get(id as usize).cloned().unwrap_or_default();
    match *refusal {
        StoredRefusal::Unavailable(a) => HostRefusal::Unavailable(a),
        StoredRefusal::DatastoreNotConnected(d) => HostRefusal::DatastoreNotConnected { datastore: name(d) },
        StoredRefusal::DatastoreInaccessible(d) => HostRefusal::DatastoreInaccessible { datastore: name(d) },
        StoredRefusal::NetworkMissing(n) => HostRefusal::NetworkMissing { network: name(n) },
        StoredRefusal::VmHostMust(r) => HostRefusal::VmHostMust { rule: name(r) },
        StoredRefusal::VmHostMustNot(r) => HostRefusal::VmHostMustNot { rule: name(r) },
        StoredRefusal::AntiAffinity { rule, vm } => HostRefusal::AntiAffinity { rule: name(rule), vm: vm.map(name) },
        StoredRefusal::FtLimit { ft_vms, limit } => HostRefusal::FtLimit { ft_vms, limit },
        StoredRefusal::InsufficientResources { needed, unreserved } => {
            HostRefusal::InsufficientResources { needed, unreserved }
        }
    }
}

/// Which VMs (R-PLACE, R-ISO): `None` when HA restarts `vm`, a VM of a failed host
/// (`host_failed`) or of an isolated one; otherwise why not. The one selection shared by
/// [`plan_failover`] and the what-if sweeps (`crate::sweep`).
pub fn restart_exclusion(inv: &Inventory, vm: &Vm, host_failed: bool) -> Option<NotRestartedReason> {
    if vm.clean_power_off {
        return Some(NotRestartedReason::CleanPowerOff);
    }
    if !vm.is_powered_on() {
        return Some(NotRestartedReason::NotPoweredOn(vm.power_state));
    }
    if !vm.protected {
        return Some(NotRestartedReason::Unprotected);
    }
    if inv.effective_restart_priority(vm) == RestartPriority::Disabled {
        return Some(NotRestartedReason::RestartDisabled);
    }
    // Host monitoring is what makes HA react to host failures at all (vSphere
    // `ClusterDasConfigInfo.hostMonitoring`: "whether HA restarts virtual machines after a host
    // fails"), and R-ISO suspends the isolation response without it.
    if !inv.cluster.host_monitoring {
        return Some(NotRestartedReason::HostMonitoringDisabled);
    }
    if !host_failed {
        // Isolated host: only VMs the isolation response powers off come back (R-ISO).
        if inv.effective_isolation_response(vm) == IsolationResponse::None {
            return Some(NotRestartedReason::IsolationResponseNone);
        }
    }
    None
}

/// The member of anti-affinity `group` that was on `host` when `vm` was evaluated: placed
/// earlier in this plan, or running there and not being restarted. First in rule order.
fn anti_affinity_partner(
    inv: &Inventory,
    index: &PlacementIndex,
    group: usize,
    vm: usize,
    host: usize,
    placed_on: &[Option<usize>],
    restarting: &[bool],
) -> Option<usize> {
    index.rules.anti_affinity_members(group).iter().copied().filter(|&m| m != vm).find(|&m| {
        let location = match placed_on.get(m).copied().flatten() {
            Some(h) => Some(h),
            None if !restarting[m] && inv.vms[m].is_powered_on() => index.current_host(m),
            None => None,
        };
        location == Some(host)
    })
}

impl FailoverPlan {
    /// The placement of a VM, if it is placed.
    pub fn placement(&self, vm: &str) -> Option<&Placement> {
        self.placements.iter().find(|p| p.vm == vm)
    }

    /// The unplaced entry of a VM, if it could not be placed.
    pub fn unplaced_vm(&self, vm: &str) -> Option<&Unplaced> {
        self.unplaced.iter().find(|u| u.vm == vm)
    }

    /// Every host's verdict for an attempted VM, in host id order; `None` for VMs not attempted.
    /// `inv` must be the inventory the plan was made from: a plan too big to keep its verdicts
    /// ([`KEPT_VERDICTS_LIMIT`]) recomputes them from it.
    pub fn host_verdicts(&self, inv: &Inventory, vm: &str) -> Result<Option<Vec<(&str, HostVerdict)>>> {
        let Some(trace) = self.traces.iter().find(|t| t.vm == vm) else {
            return Ok(None);
        };
        let verdicts = self.verdicts_of(inv, trace)?;
        Ok(Some(self.host_ids.iter().map(String::as_str).zip(verdicts).collect()))
    }

    /// Whether the plan keeps every attempted VM's verdicts (small enough, see
    /// [`KEPT_VERDICTS_LIMIT`]) or recomputes them on demand.
    pub fn keeps_verdicts(&self) -> bool {
        self.verdicts_kept
    }

    /// The trace's verdicts: kept, or recomputed by replaying the plan on `inv` up to its VM.
    fn verdicts_of(&self, inv: &Inventory, trace: &Trace) -> Result<Vec<HostVerdict>> {
        if self.verdicts_kept {
            return Ok(self.resolved_verdicts(trace));
        }
        let other_inventory =
            || Error::Argument("explaining this plan needs the inventory it was made from".to_string());
        let base = inv.placement_base()?;
        let replay = plan_and_state(
            inv,
            &base.index,
            Some(&base),
            &self.failed_hosts,
            &self.isolated_hosts,
            Keep::OnlyAt(trace.order.saturating_sub(1)),
        )
        .map(|(plan, _)| plan)
        .map_err(|e| if matches!(e, Error::OutOfMemory { .. }) { e } else { other_inventory() })?;
        match replay.traces.last() {
            // The same VM at the same position with the same outcome, over the same hosts: the
            // verdicts line up with `host_ids`.
            Some(again)
                if again.vm == trace.vm
                    && again.host == trace.host
                    && again.reason == trace.reason
                    && replay.host_ids == self.host_ids =>
            {
                Ok(replay.resolved_verdicts(again))
            }
            _ => Err(other_inventory()),
        }
    }

    fn resolved_verdicts(&self, trace: &Trace) -> Vec<HostVerdict> {
        self.verdicts
            .get(trace.verdicts.clone())
            .unwrap_or(&[])
            .iter()
            .map(|v| match v {
                StoredVerdict::Chosen(c) => HostVerdict::Chosen(*c),
                StoredVerdict::Feasible(c) => HostVerdict::Feasible(*c),
                StoredVerdict::Refused(r) => HostVerdict::Refused(resolve(r, &self.names)),
            })
            .collect()
    }

    /// VMs attempted, restarted or not.
    pub fn attempted(&self) -> usize {
        self.traces.len()
    }

    /// Why the VM went where it went, why it could not go anywhere, or why it is not restarted.
    /// `inv` must be the inventory the plan was made from (see [`FailoverPlan::host_verdicts`]).
    ///
    /// `vm` is a VM id or a name only one VM carries (an ambiguous name is an
    /// [`Error::AmbiguousName`]); hosts, VMs and datastores are shown as `host-21 (esx-01)`.
    pub fn explain(&self, inv: &Inventory, vm: &str) -> Result<String> {
        let vm = match inv.resolve_vm_id(vm) {
            Ok(id) => id,
            Err(e @ Error::AmbiguousName { .. }) => return Err(e),
            Err(_) => vm,
        };
        let labels = inv.labels();
        let mut out = String::new();
        if let Some(trace) = self.traces.iter().find(|t| t.vm == vm) {
            let verdicts = self.verdicts_of(inv, trace)?;
            self.explain_attempt(trace, &verdicts, labels, &mut out);
        } else if let Some(n) = self.not_restarted.iter().find(|n| n.vm == vm) {
            let how = if self.failed_hosts.contains(&n.host) { "failed" } else { "isolated" };
            let (vm, host) = (labels.vm(vm), labels.host(&n.host));
            let _ = write!(out, "{vm} (on {how} host {host}) is not restarted: {}.", n.reason.describe());
        } else {
            let moves: Vec<String> = self
                .migrations
                .iter()
                .filter(|m| m.vm == vm)
                .map(|m| {
                    format!(
                        "DRS moves it from {} to {} (vMotion) to make room for {}",
                        labels.host(&m.source),
                        labels.host(&m.target),
                        labels.vm(&m.for_vm)
                    )
                })
                .collect();
            let vm = labels.vm(vm);
            let _ = write!(out, "{vm} is not on a failed or isolated host of this plan: HA does not restart it.");
            if !moves.is_empty() {
                let _ = write!(out, " {} (R-PLACE-DRS).", moves.join("; then "));
            }
        }
        Ok(out)
    }

    fn explain_attempt(&self, trace: &Trace, verdicts: &[HostVerdict], labels: Labels<'_>, out: &mut String) {
        let vm = labels.vm(&trace.vm);
        let position = format!("#{} in restart order, class {}", trace.order, trace.class);
        match (&trace.host, trace.reason) {
            (Some(host), _) => {
                let _ = writeln!(out, "{vm} restarts on {} ({position}).", labels.host(host));
            }
            (None, reason) => {
                let reason = reason.map_or("noCompatibleHost", UnplacedReason::as_str);
                let _ = writeln!(out, "{vm} cannot be restarted: {reason} ({position}).");
            }
        }
        if !trace.waited_for.is_empty() {
            let after: Vec<String> = trace.waited_for.iter().map(|v| labels.vm(v)).collect();
            let _ = writeln!(out, "It is restarted after {} (vmDependsOn).", after.join(", "));
        }
        let describe_moves = |moves: &[Migration]| -> String {
            moves
                .iter()
                .map(|m| format!("{} from {} to {}", labels.vm(&m.vm), labels.host(&m.source), labels.host(&m.target)))
                .collect::<Vec<_>>()
                .join(", then ")
        };
        if !trace.migrations.is_empty() {
            let _ = writeln!(
                out,
                "No host had room as things were: DRS (fully automated) first makes {} vMotion(s) to defragment \
                 the cluster (R-PLACE-DRS): {}.",
                trace.migrations.len(),
                describe_moves(&trace.migrations)
            );
        }
        if let Some(host) = &trace.exited_standby {
            let _ = writeln!(
                out,
                "No running host had room: DPM brings {} out of standby for it (R-PLACE-DRS).",
                labels.host(host)
            );
        }
        if !trace.would_migrate.is_empty() {
            let _ = writeln!(
                out,
                "DRS defragmentation would have made room with {} vMotion(s) ({}), but DRS is not enabled in full \
                 automation (R-PLACE-DRS).",
                trace.would_migrate.len(),
                describe_moves(&trace.would_migrate)
            );
        }
        if trace.host.is_some() {
            let _ = writeln!(out, "Why this host: {}.", self.choice_rationale(verdicts, labels));
        } else {
            let _ = writeln!(out, "No host can take it.");
        }
        let _ = writeln!(out, "Hosts (by id):");
        for (id, verdict) in self.host_ids.iter().zip(verdicts) {
            let line = match verdict {
                HostVerdict::Chosen(c) => format!("chosen — {}", describe_candidate(c)),
                HostVerdict::Feasible(c) => format!("feasible — {}", describe_candidate(c)),
                HostVerdict::Refused(r) => format!("refused — {}", r.describe(labels)),
            };
            let _ = writeln!(out, "  {}: {line}", labels.host(id));
        }
        let trimmed = out.trim_end().len();
        out.truncate(trimmed);
    }

    /// The first R-PLACE-3 criterion on which the chosen host beat the runner-up.
    fn choice_rationale(&self, verdicts: &[HostVerdict], labels: Labels<'_>) -> String {
        let mut chosen = None;
        let mut runner_up: Option<(&str, &Candidate)> = None;
        for (id, verdict) in self.host_ids.iter().zip(verdicts) {
            match verdict {
                HostVerdict::Chosen(c) => chosen = Some(c),
                // Hosts are in id order, so the first best candidate is the runner-up.
                HostVerdict::Feasible(c) => {
                    if runner_up.is_none_or(|(_, r)| candidate_rank(c, r) == std::cmp::Ordering::Less) {
                        runner_up = Some((id, c));
                    }
                }
                HostVerdict::Refused(_) => {}
            }
        }
        let Some(chosen) = chosen else {
            return "not placed".to_string();
        };
        let Some((other, second)) = runner_up else {
            return "the only feasible host".to_string();
        };
        let other = labels.host(other);
        if chosen.failover_host != second.failover_host {
            return format!(
                "a dedicated failover host, preferred over any other (R-AC-FH); next best {other} is not one"
            );
        }
        if chosen.soft_rule_violations != second.soft_rule_violations {
            return format!(
                "violates {} soft VM-host rule(s), {other} (next best) violates {}",
                chosen.soft_rule_violations, second.soft_rule_violations
            );
        }
        let (a, b) = (chosen.unreserved_after, second.unreserved_after);
        if a.memory_mb != b.memory_mb {
            return format!(
                "most unreserved memory after placement ({} MB; next best {other}: {} MB)",
                a.memory_mb, b.memory_mb
            );
        }
        if a.cpu_mhz != b.cpu_mhz {
            return format!(
                "same unreserved memory after placement as {other} ({} MB), more unreserved CPU ({} MHz vs {} MHz)",
                a.memory_mb, a.cpu_mhz, b.cpu_mhz
            );
        }
        format!("ties with {other} on every criterion; the smaller host id wins")
    }

    /// Plain JSON-able data (for `--json` output and the Python `to_dict`).
    pub fn to_value(&self) -> Value {
        let placements: Vec<Value> = self
            .placements
            .iter()
            .map(|p| {
                json!({"vm": p.vm, "host": p.host, "order": p.order, "class": p.class.as_str(),
                       "priority": p.priority.as_str()})
            })
            .collect();
        let unplaced: Vec<Value> = self
            .unplaced
            .iter()
            .map(|u| {
                let hosts: Map<String, Value> = u
                    .hosts
                    .iter()
                    .map(|(h, r)| (h.clone(), json!({"code": r.code(), "detail": r.to_string()})))
                    .collect();
                json!({"vm": u.vm, "reason": u.reason.as_str(), "order": u.order, "class": u.class.as_str(),
                       "priority": u.priority.as_str(), "hosts": hosts})
            })
            .collect();
        let not_restarted: Vec<Value> = self
            .not_restarted
            .iter()
            .map(|n| json!({"vm": n.vm, "host": n.host, "reason": n.reason.as_str()}))
            .collect();
        let migrations: Vec<Value> = self
            .migrations
            .iter()
            .map(|m| json!({"vm": m.vm, "source": m.source, "target": m.target, "for_vm": m.for_vm}))
            .collect();
        json!({
            "failed_hosts": self.failed_hosts,
            "isolated_hosts": self.isolated_hosts,
            "placements": placements,
            "unplaced": unplaced,
            "not_restarted": not_restarted,
            "migrations": migrations,
            "hosts_exited_standby": self.hosts_exited_standby,
        })
    }
}

fn candidate_rank(a: &Candidate, b: &Candidate) -> std::cmp::Ordering {
    let score = |c: &Candidate| Score {
        failover_host: c.failover_host,
        soft_rule_violations: c.soft_rule_violations,
        unreserved_after: c.unreserved_after,
    };
    score(a).rank(&score(b))
}

fn describe_candidate(c: &Candidate) -> String {
    let mut text = format!(
        "{} MB memory, {} MHz CPU unreserved after placement",
        c.unreserved_after.memory_mb, c.unreserved_after.cpu_mhz
    );
    if c.failover_host {
        text.push_str("; dedicated failover host");
    }
    if c.soft_rule_violations > 0 {
        text.push_str(&format!("; violates {} soft rule(s)", c.soft_rule_violations));
    }
    text
}
