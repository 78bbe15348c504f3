//! Failover placement (R-PLACE-1..3, docs/rules/placement.rst): which VMs HA restarts, in what order, on which
//! host — and, for those it cannot restart, why not, host by host.
//!
//! Two layers:
//!
//! * the **engine** ([`PlacementIndex`], [`PlacementState`], [`restart_order`], [`place`],
//!   [`place_vm`]) works on indices and an explicit cluster state, for callers that place many
//!   times over one inventory (the simulation's virtual clock, what-if sweeps). The index is
//!   built once per inventory; a state is built once, cloned per scenario and updated as VMs
//!   move, so one scenario costs O(VMs moved × hosts);
//! * the **plan** ([`plan_failover`] → [`FailoverPlan`]) answers "if these hosts fail (or are
//!   isolated), which VMs come back, where, in what order — and which do not, and why?" with ids,
//!   per-host verdicts and [`FailoverPlan::explain`].
//!
//! # Rules as implemented
//!
//! **Which VMs** (R-PLACE): on a failed host, the protected powered-on VMs; on an isolated host,
//! the VMs the isolation response powers off — protected, powered on, effective isolation
//! response `powerOff` or `shutdown` (not `none`) (R-ISO). Only with cluster host monitoring on:
//! it is what makes HA restart VMs after host failures (vSphere `ClusterDasConfigInfo.
//! hostMonitoring`), and the simulation follows the same rule. Never
//! restart priority `disabled`; never cleanly powered-off VMs. Everything else on those hosts is
//! listed in [`FailoverPlan::not_restarted`] with the reason.
//!
//! **Order** (R-PLACE-1): agent VMs, then FT secondaries, then restart priority highest, high,
//! medium, low, lowest; within a class larger memory (reservation + overhead) first, then larger
//! CPU reservation, then smaller VM id (bytewise). `vmDependsOn` rules (cluster version 6.5 and
//! later) put a VM after every VM it depends on that is restarted in the same plan.
//!
//! **Feasible hosts** (R-PLACE-2), checked in this order — a host's refusal is the first check it
//! fails: usable (alive, in the master's partition, connected, not in maintenance or standby,
//! required agent VMs running) →
//! every datastore of the VM connected and accessible → every network of the VM, when the host
//! lists networks → `vmHostMust` / `vmHostMustNot` → VM-VM anti-affinity (only with
//! `das.respectVmVmAntiAffinityRules=true`; VMs already running and VMs already placed count) →
//! `das.maxFtVmsPerHost` (FT VMs only) → unreserved CPU ≥ CPU reservation and unreserved memory
//! ≥ memory reservation + overhead.
//!
//! **Choice** (R-PLACE-3), among feasible hosts: a dedicated failover host when that admission
//! policy is active; then fewer violated soft rules (`vmHostShould` / `vmHostShouldNot`, only with
//! `das.respectVmHostSoftAffinityRules=true`); then most unreserved memory after placement; then
//! most unreserved CPU after placement; then smaller host id (bytewise).
//!
//! # Ambiguities resolved (engine rules)
//!
//! * **Unplaced reason** (R-PLACE-2): the checks above are stages; the reason is the one of the
//!   *deepest* stage any host reached, i.e. the last obstacle on the host(s) that came closest to
//!   taking the VM: datastore → `datastoreInaccessible`; network → `noCompatibleHost`; VM-host
//!   rules → `vmHostRule`; anti-affinity → `antiAffinity`; FT limit and capacity →
//!   `insufficientResources`. With no usable host at all: `noCompatibleHost`.
//! * **`das.maxFtVmsPerHost = 0`** disables the limit, as in vSphere (Availability guide, "Fault
//!   Tolerance and DRS": "if you set this option to 0, DRS ignores this restriction").
//! * **Several `vmHostMust` rules** for one VM must all hold (the host must be in every rule's
//!   host list), as DRS applies required rules equally.
//! * **Soft rules** (R-PLACE-3): hosts are ranked by how many of the VM's soft rules they violate
//!   (a `vmHostShould` whose hosts exclude the host, a `vmHostShouldNot` whose hosts include it).
//! * **`vmAffinity`** ("keep VMs together") is ignored: HA applies only VM anti-affinity and
//!   VM-host rules during failover (vSphere Availability guide, "vSphere HA and DRS Affinity
//!   Rules"); DRS brings the VMs back together after the restart.
//! * **`vmDependsOn` before 6.5**: ignored (the feature does not exist). From 6.5 on, only
//!   dependencies on VMs restarted in the same plan order anything (a running dependency is
//!   already "ready"). When a dependency is in a lower class than its dependent (vCenter refuses
//!   to save such a rule; the engine accepts it), the dependency wins: the dependent is restarted
//!   right after it. A dependency that cannot be placed does not hold its dependents back: the
//!   plan is static and vSphere proceeds once its readiness timeout expires.
//! * **Failed and isolated at once**: a host named in both lists is treated as failed.
//! * **Isolated hosts**: the master is assumed to hold every datastore of the VMs (the isolated
//!   host has released its locks), so the isolation response applies to each of its VMs (R-ISO).
//! * **`agent_vms_ready = false`** makes a host unusable (R-PLACE-2, HA Deepdive: "HA will not
//!   place any virtual machines on a host if the required number of agent virtual machines are
//!   not running on the host"): its refusal code is `agentVmsNotReady`. It is an availability
//!   stage like maintenance, so a VM that only such hosts could take is `noCompatibleHost`.
//! * **DRS and DPM** (R-PLACE-DRS, engine rules in `drs.rs`): with DRS enabled and fully
//!   automated, a VM refused by every host for CPU/memory only is placed after the fewest
//!   vMotions (at most `engine.drsMaxMigrationsPerVm`) that make room on one host
//!   ([`FailoverPlan::migrations`]); with DPM also enabled, a standby host it fits on is brought
//!   out of standby ([`FailoverPlan::hosts_exited_standby`]). Otherwise the explanation says when
//!   defragmentation would have made room.
//! * **Determinism**: hosts are scanned in host id order (bytewise), which is also the last
//!   tie-break; no hash-map iteration reaches a result. Shuffling hosts or VMs in the input gives
//!   the same plan.
//! * **Quick path** (same result): when no verdicts are recorded, the VM has no soft rule in
//!   force and no host is a dedicated failover host, every feasible host scores by its room
//!   alone, so hosts are checked in room order ([`PlacementState`] keeps them sorted: most
//!   unreserved memory, then CPU, then host id) and the first feasible one is taken.
//! * **Shared base**: what every plan on one inventory starts from (the index and the state
//!   before any failure, [`PlacementBase`]) is built by the first plan and kept with the
//!   inventory ([`crate::model::Inventory::placement_base`]); a plan copies the O(hosts) state.

mod drs;
mod engine;
mod index;
mod plan;
mod state;

pub use drs::SEARCH_BUDGET as DRS_SEARCH_BUDGET;
#[cfg(test)]
pub(crate) use drs::{NOTE_BUDGET as DRS_NOTE_BUDGET, PLAN_BUDGET as DRS_PLAN_BUDGET};
// The simulation (src/sim/drs.rs) runs the same R-PLACE-DRS search on its own state.
pub(crate) use drs::{assist as drs_assist, Assist as DrsAssist, DrsLedger, Move as DrsMove};
pub use engine::{place, place_vm, restart_order, Outcome, RestartClass, UnplacedReason};
pub use index::{PlacementIndex, RuleIndex};
pub(crate) use plan::plan_with_final_state;
pub use plan::{
    plan_failover, plan_failover_indexed, plan_failover_keeping_at_most, plan_failover_lean, restart_exclusion,
    Candidate, FailoverPlan, HostRefusal, HostVerdict, Migration, NotRestarted, NotRestartedReason, Placement,
    Unplaced, KEPT_VERDICTS_LIMIT,
};
pub use state::{HostAvailability, PlacementBase, PlacementState};
