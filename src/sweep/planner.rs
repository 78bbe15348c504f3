//! One scenario of a sweep: the placement engine's answer for "these hosts fail", computed from
//! work shared by every scenario.
//!
//! Built once per sweep: the [`PlacementIndex`], the base [`PlacementState`], the VMs HA
//! restarts from each candidate host ([`restart_exclusion`], the selection `plan_failover`
//! uses), every VM's rank in the restart order (R-PLACE-1) and which hosts each VM could ever
//! run on (datastores, networks, `vmHostMust` / `vmHostMustNot`: the R-PLACE-2 checks that no
//! scenario changes).
//!
//! Per scenario: clone the state, mark the hosts failed, order their VMs by the precomputed rank
//! and place them one by one, booking each placement in the state as the engine does. R-PLACE-3
//! ranks feasible hosts by unreserved memory, then CPU, then host id, for every VM without soft
//! rules when no dedicated failover host exists — so the surviving hosts are kept sorted in that
//! order and the first feasible host is the engine's choice, usually found at the first or second
//! host instead of after checking all of them. VMs for which the shortcut does not hold are
//! handled by scanning the sorted hosts with the full R-PLACE-3 preference. A VM no host accepts
//! is handed to the engine ([`place_vm`]), which gives the reason, so every reason is the
//! engine's own; a scenario whose VMs depend on each other (`vmDependsOn`) is ordered by the
//! engine's [`restart_order`].
//!
//! The checks that depend on the scenario (unreserved capacity, `das.maxFtVmsPerHost`, VM
//! anti-affinity) and the R-PLACE-3 ranking are restated here for speed: they must follow the
//! engine's (`placement/engine.rs`, `check_host` and `Score::rank`) whenever those change. The
//! test `every_choice_is_the_engines` below compares every placement of every scenario with the
//! engine's `place` on clusters using each feature; `tests/sweep.rs` compares every scenario with
//! `plan_failover`.

use std::cmp::Reverse;

use crate::capacity::Resources;
use crate::model::{Inventory, RuleKind};
use crate::placement::{
    place_vm, restart_exclusion, restart_order, HostAvailability, Outcome, PlacementIndex, PlacementState,
};

use super::bound::{Bound, BoundScratch};
use super::{ScenarioResult, UnplacedVm};

/// Marks a VM that no candidate host restarts.
const NOT_RESTARTED: u32 = u32::MAX;

pub(crate) struct Planner<'a> {
    pub(super) inv: &'a Inventory,
    pub(super) index: PlacementIndex,
    pub(super) base: PlacementState,
    /// Every VM a candidate host's failure restarts, in restart order without `vmDependsOn`:
    /// a VM's position here (its "row") is its rank, and restricted to any subset this order is
    /// the subset's restart order.
    pub(super) moving: Vec<MovingVm>,
    /// Per VM index: its row, `NOT_RESTARTED` when no candidate's failure restarts it.
    row_of: Vec<u32>,
    /// Per host index: the rows of the VMs HA restarts when it fails, ascending.
    pub(super) restartable: Vec<Vec<u32>>,
    /// `[a * hosts + b]`: a VM restartable from host `a` depends on one restartable from `b`.
    host_dependency: Vec<bool>,
    /// Per row, `words_per_row` words: the hosts the VM passes the scenario-independent checks on.
    compatible_hosts: Vec<u64>,
    words_per_row: usize,
    /// Hosts usable before any failure, best first for R-PLACE-3 (see [`Planner::sift_down`]).
    pub(super) preference: Vec<u32>,
    /// Per host index: position in host id order (the last R-PLACE-3 tie-break).
    id_rank: Vec<u32>,
    /// Some host is a dedicated failover host of an active failover-hosts policy (R-AC-FH).
    pub(super) has_failover_hosts: bool,
    /// DRS in full automation may move VMs or wake standby hosts for a restart
    /// (R-PLACE-DRS): scenarios are then planned by the engine itself, not the shortcut.
    pub(super) drs_assists: bool,
    /// The capacity bound (see `bound`), `None` only while the planner is built.
    bound: Option<Bound>,
}

/// What placement needs of a restarted VM, looked up once.
#[derive(Debug, Clone, Copy)]
pub(super) struct MovingVm {
    pub(super) vm: u32,
    /// CPU reservation, memory reservation + overhead (R-PLACE-2).
    pub(super) need: Resources,
    /// `das.maxFtVmsPerHost` for an FT VM, `None` when no limit applies.
    ft_limit: Option<u32>,
    /// In an anti-affinity rule, and those rules are respected.
    pub(super) anti_affinity: bool,
    /// Soft rules respected and the VM has some.
    pub(super) soft_rules: bool,
}

/// Per-worker buffers, reused from scenario to scenario.
pub(crate) struct Scratch {
    state: PlacementState,
    /// Rows of the scenario's VMs, in restart order.
    order: Vec<u32>,
    cursors: Vec<usize>,
    /// Surviving usable hosts in R-PLACE-3 preference order.
    hosts: Vec<u32>,
    bound: BoundScratch,
}

impl<'a> Planner<'a> {
    /// `candidates`: host indices that may fail, ascending.
    pub(crate) fn new(inv: &'a Inventory, candidates: &[u32]) -> Planner<'a> {
        let index = PlacementIndex::new(inv);
        let base = PlacementState::new(inv, &index);
        let host_count = inv.hosts.len();

        let mut restarted_from = vec![None; inv.vms.len()];
        let mut all_restartable = Vec::new();
        for &h in candidates {
            for &v in index.vms_on_host(h as usize) {
                if restart_exclusion(inv, &inv.vms[v as usize], true).is_none() {
                    restarted_from[v as usize] = Some(h as usize);
                    all_restartable.push(v as usize);
                }
            }
        }

        let static_sets = StaticHostSets::new(inv, &index, &base);
        let ft_limit = index.max_ft_vms_per_host();
        let mut moving = Vec::with_capacity(all_restartable.len());
        let mut row_of = vec![NOT_RESTARTED; inv.vms.len()];
        let mut restartable = vec![Vec::new(); host_count];
        let words_per_row = static_sets.words;
        let mut compatible_hosts = Vec::with_capacity(all_restartable.len() * words_per_row);
        for vm in base_restart_order(inv, &index, &all_restartable) {
            let row = moving.len() as u32;
            row_of[vm] = row;
            if let Some(h) = restarted_from[vm] {
                restartable[h].push(row);
            }
            compatible_hosts.extend(static_sets.compatible(inv, &index, vm));
            let rules = &index.rules;
            moving.push(MovingVm {
                vm: vm as u32,
                need: index.reservation(vm),
                ft_limit: ft_limit.filter(|_| index.is_ft(vm)),
                anti_affinity: index.respects_anti_affinity() && !rules.anti_affinity_groups(vm).is_empty(),
                soft_rules: index.respects_soft_rules()
                    && !(rules.should(vm).is_empty() && rules.should_not(vm).is_empty()),
            });
        }

        let mut host_dependency = vec![false; host_count * host_count];
        if index.rules.has_dependencies() {
            for m in &moving {
                let Some(a) = restarted_from[m.vm as usize] else {
                    continue;
                };
                for &d in index.rules.depends_on(m.vm as usize) {
                    if let Some(b) = restarted_from.get(d as usize).copied().flatten() {
                        host_dependency[a * host_count + b] = true;
                    }
                }
            }
        }

        let mut id_rank = vec![0u32; host_count];
        for (position, &h) in index.host_order().iter().enumerate() {
            id_rank[h] = position as u32;
        }
        let has_failover_hosts = (0..host_count).any(|h| index.is_failover_host(h));
        let mut planner = Planner {
            inv,
            index,
            base,
            moving,
            row_of,
            restartable,
            host_dependency,
            compatible_hosts,
            words_per_row,
            preference: Vec::new(),
            id_rank,
            has_failover_hosts,
            drs_assists: inv.cluster.drs.acts_for_ha(),
            bound: None,
        };
        let mut preference: Vec<u32> =
            (0..host_count).filter(|&h| planner.base.is_usable(h)).map(|h| h as u32).collect();
        preference.sort_by_key(|&h| planner.preference_key(&planner.base, h));
        planner.preference = preference;
        planner.bound = Some(Bound::new(&planner, &static_sets));
        planner
    }

    pub(crate) fn scratch(&self) -> Scratch {
        Scratch {
            state: self.base.clone(),
            order: Vec::new(),
            cursors: Vec::new(),
            hosts: Vec::with_capacity(self.preference.len()),
            bound: BoundScratch::default(),
        }
    }

    /// Plans the failure of `failed` (host indices, ascending, candidates). At most
    /// `unplaced_vms_limit` unplaced VMs are listed; all are counted.
    pub(crate) fn evaluate(&self, failed: &[u32], scratch: &mut Scratch, unplaced_vms_limit: usize) -> ScenarioResult {
        if let Some(result) = self.bounded(failed, scratch, unplaced_vms_limit) {
            return result;
        }
        self.evaluate_observed(failed, scratch, unplaced_vms_limit, |_, _| {})
    }

    /// The scenario's result from the capacity bound, when it proves it (see `bound`).
    pub(crate) fn bounded(
        &self,
        failed: &[u32],
        scratch: &mut Scratch,
        unplaced_vms_limit: usize,
    ) -> Option<ScenarioResult> {
        self.bound.as_ref()?.try_scenario(self, failed, &mut scratch.bound, unplaced_vms_limit)
    }

    /// Some VM restartable from one of `failed` depends on one restartable from another
    /// (`vmDependsOn`): the restart order is then the engine's, not the rows'.
    pub(super) fn depends_across(&self, failed: &[u32]) -> bool {
        let n = self.inv.hosts.len();
        failed.iter().any(|&a| failed.iter().any(|&b| self.host_dependency[a as usize * n + b as usize]))
    }

    /// [`Planner::evaluate`], telling `observe(vm, host)` every outcome in restart order (host
    /// `None`: unplaced) — for tests that compare each choice with the engine's.
    fn evaluate_observed(
        &self,
        failed: &[u32],
        scratch: &mut Scratch,
        unplaced_vms_limit: usize,
        mut observe: impl FnMut(usize, Option<usize>),
    ) -> ScenarioResult {
        if self.drs_assists {
            if let Some(result) = self.evaluate_by_plan(failed, &mut scratch.hosts, unplaced_vms_limit) {
                return result;
            }
        }
        let (inv, index) = (self.inv, &self.index);
        let state = &mut scratch.state;
        state.clone_from(&self.base);
        for &h in failed {
            state.set_availability(h as usize, HostAvailability::Failed);
        }
        // The restarted VMs keep their old bookings on the failed hosts (`plan_failover` releases
        // them): a failed host takes no VM and counts for no capacity, so that changes nothing.
        self.restart_order(failed, &mut scratch.order, &mut scratch.cursors);

        let hosts = &mut scratch.hosts;
        hosts.clear();
        hosts.extend(self.preference.iter().copied().filter(|h| !failed.contains(h)));

        let mut result = ScenarioResult {
            failed_hosts: failed.to_vec(),
            failed_units: Vec::new(),
            restarted: 0,
            unplaced: 0,
            unplaced_vms: Vec::new(),
            capacity_left: Resources::default(),
        };
        for &row in &scratch.order {
            let moving = &self.moving[row as usize];
            let vm = moving.vm as usize;
            let chosen = match self.choose(row as usize, state, hosts) {
                Some(position) => {
                    state.add_vm(inv, index, vm, hosts[position] as usize);
                    Some(position)
                }
                None => match place_vm(inv, index, state, vm) {
                    Outcome::Unplaced { reason, .. } => {
                        result.unplaced += 1;
                        if result.unplaced_vms.len() < unplaced_vms_limit {
                            result.unplaced_vms.push(UnplacedVm { vm: vm as u32, reason });
                        }
                        None
                    }
                    // The engine found a host the shortcut missed (a bug): its answer stands.
                    Outcome::Placed { host, .. } => {
                        debug_assert!(false, "sweep shortcut missed host {host} for VM {vm}");
                        hosts.iter().position(|&h| h as usize == host)
                    }
                },
            };
            observe(vm, chosen.map(|position| hosts[position] as usize));
            if let Some(position) = chosen {
                result.restarted += 1;
                self.sift_down(state, hosts, position);
            }
        }
        result.capacity_left =
            hosts.iter().fold(Resources::default(), |sum, &h| sum.saturating_add(state.unreserved(h as usize)));
        result
    }

    /// The scenario as `plan_failover` plans it, DRS moves and DPM wake-ups included
    /// (R-PLACE-DRS): the shortcut's host order does not survive VMs moving between hosts, so
    /// with DRS in full automation the sweep asks the engine. `None` only when the engine
    /// cannot plan (out of memory): the shortcut's answer, without DRS, is then the sweep's.
    fn evaluate_by_plan(
        &self,
        failed: &[u32],
        hosts: &mut Vec<u32>,
        unplaced_vms_limit: usize,
    ) -> Option<ScenarioResult> {
        let inv = self.inv;
        let ids: Vec<&str> = failed.iter().map(|&h| inv.hosts[h as usize].id.as_str()).collect();
        let (plan, state) = crate::placement::plan_with_final_state(inv, &self.index, &ids).ok()?;
        hosts.clear();
        hosts.extend(self.preference.iter().copied().filter(|h| !failed.contains(h)));
        let unplaced_vms = plan
            .unplaced
            .iter()
            .take(unplaced_vms_limit)
            .filter_map(|u| inv.vm_idx(&u.vm).map(|v| UnplacedVm { vm: v as u32, reason: u.reason }))
            .collect();
        Some(ScenarioResult {
            failed_hosts: failed.to_vec(),
            failed_units: Vec::new(),
            restarted: plan.placements.len() as u32,
            unplaced: plan.unplaced.len() as u32,
            unplaced_vms,
            capacity_left: hosts
                .iter()
                .fold(Resources::default(), |sum, &h| sum.saturating_add(state.unreserved(h as usize))),
        })
    }

    /// The rows of the VMs `failed` restarts, in restart order (R-PLACE-1): a merge of the
    /// hosts' sorted rows — or the engine's [`restart_order`] when some of them depend on
    /// others (`vmDependsOn`).
    fn restart_order(&self, failed: &[u32], order: &mut Vec<u32>, cursors: &mut Vec<usize>) {
        order.clear();
        cursors.clear();
        cursors.resize(failed.len(), 0);
        loop {
            let mut next: Option<(usize, u32)> = None;
            for (i, &h) in failed.iter().enumerate() {
                if let Some(&row) = self.restartable[h as usize].get(cursors[i]) {
                    if next.is_none_or(|(_, best)| row < best) {
                        next = Some((i, row));
                    }
                }
            }
            let Some((i, row)) = next else { break };
            order.push(row);
            cursors[i] += 1;
        }
        if self.depends_across(failed) {
            let vms: Vec<usize> = order.iter().map(|&row| self.moving[row as usize].vm as usize).collect();
            order.clear();
            order.extend(restart_order(self.inv, &self.index, &vms).into_iter().map(|vm| self.row_of[vm]));
        }
    }

    /// R-PLACE-3 order of usable hosts as far as it does not depend on the VM: most unreserved
    /// memory, then CPU, then smaller host id. For a VM every feasible host can hold,
    /// "unreserved after placement" ranks hosts exactly as unreserved before does.
    fn preference_key(&self, state: &PlacementState, host: u32) -> (Reverse<u64>, Reverse<u64>, u32) {
        let free = state.unreserved(host as usize);
        (Reverse(free.memory_mb), Reverse(free.cpu_mhz), self.id_rank[host as usize])
    }

    /// Restores the preference order after the host at `position` took a VM (it can only
    /// move back).
    fn sift_down(&self, state: &PlacementState, hosts: &mut [u32], mut position: usize) {
        let key = self.preference_key(state, hosts[position]);
        while position + 1 < hosts.len() && self.preference_key(state, hosts[position + 1]) < key {
            hosts.swap(position, position + 1);
            position += 1;
        }
    }

    /// The position in `hosts` of the host the engine would choose for the VM of `row`, if any.
    fn choose(&self, row: usize, state: &PlacementState, hosts: &[u32]) -> Option<usize> {
        let moving = &self.moving[row];
        let vm = moving.vm as usize;
        let compatible = &self.compatible_hosts[row * self.words_per_row..(row + 1) * self.words_per_row];
        let anti_affinity_groups = if moving.anti_affinity { self.index.rules.anti_affinity_groups(vm) } else { &[] };
        // The R-PLACE-2 checks that depend on the scenario; usability is `hosts` itself.
        let accepts = |h: usize| {
            compatible[h / 64] & (1 << (h % 64)) != 0
                && state.unreserved(h).covers(moving.need)
                && moving.ft_limit.is_none_or(|limit| state.ft_vms(h) < limit)
                && anti_affinity_groups.iter().all(|&g| state.anti_affinity_members_on(g as usize, h) == 0)
        };
        if !self.has_failover_hosts && !moving.soft_rules {
            return hosts.iter().position(|&h| accepts(h as usize));
        }
        // R-PLACE-3 in full: a dedicated failover host first, then fewer soft rules violated;
        // among equals the earlier host in `hosts` (memory, CPU, id).
        let best_possible = (!self.has_failover_hosts, 0);
        let mut best: Option<(usize, (bool, u32))> = None;
        for (position, &h) in hosts.iter().enumerate() {
            let h = h as usize;
            if !accepts(h) {
                continue;
            }
            let soft = if moving.soft_rules { self.soft_rule_violations(vm, h) } else { 0 };
            let preference = (!self.index.is_failover_host(h), soft);
            if best.is_none_or(|(_, b)| preference < b) {
                best = Some((position, preference));
                if preference == best_possible {
                    break;
                }
            }
        }
        best.map(|(position, _)| position)
    }

    /// `vmHostShould` rules of the VM that exclude the host plus `vmHostShouldNot` rules that
    /// include it.
    fn soft_rule_violations(&self, vm: usize, host: usize) -> u32 {
        let rules = &self.index.rules;
        let should = rules.should(vm).iter().filter(|&&r| !rules.rule_lists_host(r as usize, host)).count();
        let should_not = rules.should_not(vm).iter().filter(|&&r| rules.rule_lists_host(r as usize, host)).count();
        (should + should_not) as u32
    }
}

/// The R-PLACE-1 order of `vms` without the `vmDependsOn` pass: the engine's own ordering on
/// an index built without dependency rules.
fn base_restart_order(inv: &Inventory, index: &PlacementIndex, vms: &[usize]) -> Vec<usize> {
    if !index.rules.has_dependencies() {
        return restart_order(inv, index, vms);
    }
    let mut without_dependencies = inv.clone();
    without_dependencies.rules.retain(|r| r.kind != RuleKind::VmDependsOn);
    let plain_index = PlacementIndex::new(&without_dependencies);
    restart_order(&without_dependencies, &plain_index, vms)
}

/// Host sets (bit sets over host indices) for the R-PLACE-2 checks no scenario changes: every
/// datastore of the VM connected (and not lost), every network offered when the host lists
/// networks, `vmHostMust` / `vmHostMustNot`.
pub(super) struct StaticHostSets {
    pub(super) words: usize,
    all: Vec<u64>,
    none: Vec<u64>,
    /// Per datastore index: hosts connected to it (and not having lost it).
    datastore: Vec<Vec<u64>>,
    /// Per interned network: hosts offering it or listing no networks.
    network: Vec<Vec<u64>>,
    /// Hosts listing no networks (the only ones a network no host lists fits).
    no_network_list: Vec<u64>,
    /// Per rule index: the hosts a VM-host rule lists (empty for other rules).
    rule: Vec<Vec<u64>>,
}

impl StaticHostSets {
    fn new(inv: &Inventory, index: &PlacementIndex, base: &PlacementState) -> StaticHostSets {
        let hosts = inv.hosts.len();
        let words = hosts.div_ceil(64);
        let set_of = |member: &dyn Fn(usize) -> bool| {
            let mut set = vec![0u64; words];
            for h in (0..hosts).filter(|&h| member(h)) {
                set[h / 64] |= 1 << (h % 64);
            }
            set
        };
        let networks = inv.hosts.iter().filter_map(|h| h.networks.as_ref()).flatten();
        let mut network = Vec::new();
        for name in networks {
            if let Some(id) = index.network_id(name) {
                let id = id as usize;
                if network.len() <= id {
                    network.resize(id + 1, None);
                }
                if network[id].is_none() {
                    network[id] = Some(set_of(&|h| index.host_has_network(h, name)));
                }
            }
        }
        StaticHostSets {
            words,
            all: set_of(&|_| true),
            none: vec![0; words],
            datastore: (0..inv.datastores.len())
                .map(|d| set_of(&|h| index.host_has_datastore(h, d) && !base.is_datastore_lost(h, d)))
                .collect(),
            network: network.into_iter().map(Option::unwrap_or_default).collect(),
            no_network_list: set_of(&|h| !index.host_lists_networks(h)),
            rule: (0..inv.rules.len()).map(|r| set_of(&|h| index.rules.rule_lists_host(r, h))).collect(),
        }
    }

    /// The hosts `vm` passes these checks on.
    fn compatible(&self, inv: &Inventory, index: &PlacementIndex, vm: usize) -> Vec<u64> {
        let [_, _, all] = self.staged(inv, index, vm);
        all
    }

    /// The hosts `vm` passes the datastore checks on; the datastore and network checks; all
    /// of these checks (R-PLACE-2 makes them in this order).
    pub(super) fn staged(&self, inv: &Inventory, index: &PlacementIndex, vm: usize) -> [Vec<u64>; 3] {
        fn keep(set: &mut [u64], other: &[u64], negate: bool) {
            for (word, &o) in set.iter_mut().zip(other) {
                *word &= if negate { !o } else { o };
            }
        }
        let mut set = self.all.clone();
        let v = &inv.vms[vm];
        let none = &self.none;
        for id in &v.datastores {
            keep(&mut set, inv.datastore_idx(id).and_then(|d| self.datastore.get(d)).unwrap_or(none), false);
        }
        let datastores = set.clone();
        for name in &v.networks {
            let hosts = index.network_id(name).and_then(|n| self.network.get(n as usize));
            keep(&mut set, hosts.unwrap_or(&self.no_network_list), false);
        }
        let networks = set.clone();
        for &r in index.rules.must(vm) {
            keep(&mut set, self.rule.get(r as usize).unwrap_or(none), false);
        }
        for &r in index.rules.must_not(vm) {
            keep(&mut set, self.rule.get(r as usize).unwrap_or(none), true);
        }
        [datastores, networks, set]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generate::{synthetic, GeneratorSpec};
    use crate::model::{AdmissionControl, Rule, VmRole};
    use crate::placement::place;
    use crate::sweep::space::Space;

    /// What the engine does for `failed`, exactly as `plan_failover` sets it up.
    fn engine_outcomes(inv: &Inventory, index: &PlacementIndex, failed: &[u32]) -> Vec<(usize, Option<usize>)> {
        let mut state = PlacementState::new(inv, index);
        let mut vms = Vec::new();
        for &h in failed {
            state.set_availability(h as usize, HostAvailability::Failed);
            for &v in index.vms_on_host(h as usize) {
                if restart_exclusion(inv, &inv.vms[v as usize], true).is_none() {
                    state.remove_vm(inv, index, v as usize, h as usize);
                    vms.push(v as usize);
                }
            }
        }
        place(inv, index, &mut state, &vms).into_iter().map(|o| (o.vm(), o.host())).collect()
    }

    fn rule(kind: RuleKind, name: String, vms: Vec<String>, hosts: Vec<String>, depends_on: Vec<String>) -> Rule {
        Rule { kind, name, enabled: true, vms, hosts, depends_on }
    }

    /// Small generated clusters with every placement feature on, and a variant with identical
    /// hosts and round reservations, where R-PLACE-3 ties (CPU, then host id) decide often.
    fn inventories() -> Vec<Inventory> {
        let mut out = Vec::new();
        for (hosts, vms, seed) in [(5, 100, 1), (7, 160, 2), (8, 220, 3), (10, 300, 4)] {
            let plain = synthetic(&GeneratorSpec::new(hosts, vms, seed));
            let host_ids: Vec<String> = plain.hosts.iter().map(|h| h.id.clone()).collect();
            let running: Vec<String> = plain.vms.iter().filter(|v| v.is_powered_on()).map(|v| v.id.clone()).collect();
            let pick = |i: usize, n: usize| -> Vec<String> {
                (0..n).map(|j| running[(i * 37 + j * 11) % running.len()].clone()).collect()
            };

            let mut ruled = plain.clone();
            let half = host_ids[..hosts / 2].to_vec();
            let two = host_ids[hosts - 2..].to_vec();
            ruled.rules.extend([
                rule(RuleKind::VmAntiAffinity, "aa-1".into(), pick(1, 3), vec![], vec![]),
                rule(RuleKind::VmAntiAffinity, "aa-2".into(), pick(2, 2), vec![], vec![]),
                rule(RuleKind::VmHostMust, "must".into(), pick(3, 6), half.clone(), vec![]),
                rule(RuleKind::VmHostMustNot, "must-not".into(), pick(4, 6), two.clone(), vec![]),
                rule(RuleKind::VmHostShould, "should".into(), pick(5, 8), half, vec![]),
                rule(RuleKind::VmHostShouldNot, "should-not".into(), pick(6, 8), two, vec![]),
                rule(RuleKind::VmDependsOn, "dep-1".into(), pick(7, 1), vec![], pick(8, 1)),
                rule(RuleKind::VmDependsOn, "dep-2".into(), pick(9, 1), vec![], pick(10, 2)),
            ]);
            ruled.rules.retain(|r| !(r.kind == RuleKind::VmDependsOn && r.depends_on.contains(&r.vms[0])));
            let options = &mut ruled.cluster.advanced_options.parsed;
            options.respect_vm_vm_anti_affinity = true;
            options.respect_vm_host_soft_affinity = true;
            options.max_ft_vms_per_host = 1;
            for (i, host) in ruled.hosts.iter_mut().enumerate() {
                host.networks = Some(if i % 2 == 1 { vec!["prod".into(), "dmz".into()] } else { vec!["prod".into()] });
            }
            for (i, vm) in ruled.vms.iter_mut().enumerate() {
                vm.networks = if i % 5 == 0 { vec!["dmz".into()] } else { vec![] };
                if i % 9 == 0 && vm.role.is_none() {
                    vm.role = Some(VmRole::FtPrimary);
                }
            }
            let mut failover = ruled.clone();
            failover.cluster.admission_control = AdmissionControl::FailoverHosts { hosts: host_ids[1..3].to_vec() };

            let mut ties = plain.clone();
            for host in &mut ties.hosts {
                (host.cpu_mhz, host.memory_mb) = (40_000, 65_536);
            }
            for vm in &mut ties.vms {
                vm.cpu_reservation_mhz = (vm.cpu_reservation_mhz / 2000) * 1000;
                vm.memory_reservation_mb = 1024 * (vm.memory_reservation_mb % 3);
                vm.memory_overhead_mb = 0;
            }
            out.extend([plain, ruled, failover, ties]);
        }
        out
    }

    #[test]
    fn every_choice_is_the_engines() {
        let mut compared = 0;
        for inv in inventories() {
            let candidates: Vec<u32> =
                (0..inv.hosts.len() as u32).filter(|&h| inv.hosts[h as usize].is_available()).collect();
            let planner = Planner::new(&inv, &candidates);
            let index = PlacementIndex::new(&inv);
            let mut scratch = planner.scratch();
            let space = Space::new(candidates.len(), 3).unwrap();
            let (mut combo, mut failed) = (Vec::new(), Vec::new());
            for rank in 0..space.len() {
                space.unrank(rank, &mut combo);
                failed.clear();
                failed.extend(combo.iter().map(|&c| candidates[c as usize]));
                let mut seen = Vec::new();
                planner.evaluate_observed(&failed, &mut scratch, usize::MAX, |vm, host| seen.push((vm, host)));
                assert_eq!(seen, engine_outcomes(&inv, &index, &failed), "{} failed {failed:?}", inv.cluster.name);
                compared += seen.len();
            }
        }
        assert!(compared > 50_000, "{compared} placements compared");
    }

    /// The capacity bound (`bound`) against placing every VM: wherever it gives a result, the
    /// result is the full evaluation's — on every scenario of up to 4 failed hosts of the
    /// inventories above and of larger, lighter ones where the bound decides most scenarios.
    #[test]
    fn the_bound_gives_the_full_evaluations_result() {
        let mut inventories = inventories();
        for (hosts, vms, seed) in [(16, 300, 11), (20, 400, 12)] {
            let plain = synthetic(&GeneratorSpec::new(hosts, vms, seed));
            let mut ruled = plain.clone();
            let running: Vec<String> = plain.vms.iter().filter(|v| v.is_powered_on()).map(|v| v.id.clone()).collect();
            let host_ids: Vec<String> = plain.hosts.iter().map(|h| h.id.clone()).collect();
            ruled.rules.extend([
                rule(RuleKind::VmAntiAffinity, "aa".into(), running[..4].to_vec(), vec![], vec![]),
                rule(RuleKind::VmHostMust, "must".into(), running[4..10].to_vec(), host_ids[..3].to_vec(), vec![]),
                rule(
                    RuleKind::VmHostMustNot,
                    "must-not".into(),
                    running[10..20].to_vec(),
                    host_ids[3..].to_vec(),
                    vec![],
                ),
                rule(RuleKind::VmDependsOn, "dep".into(), running[20..21].to_vec(), vec![], running[21..23].to_vec()),
            ]);
            ruled.cluster.advanced_options.parsed.respect_vm_vm_anti_affinity = true;
            inventories.extend([plain, ruled]);
        }
        let (mut bounded, mut compared) = (0, 0);
        for inv in &inventories {
            let candidates: Vec<u32> =
                (0..inv.hosts.len() as u32).filter(|&h| inv.hosts[h as usize].is_available()).collect();
            let planner = Planner::new(inv, &candidates);
            let mut scratch = planner.scratch();
            let space = Space::new(candidates.len(), 4.min(candidates.len())).unwrap();
            let (mut combo, mut failed) = (Vec::new(), Vec::new());
            for rank in 0..space.len() {
                space.unrank(rank, &mut combo);
                failed.clear();
                failed.extend(combo.iter().map(|&c| candidates[c as usize]));
                for limit in [usize::MAX, 1] {
                    if let Some(result) = planner.bounded(&failed, &mut scratch, limit) {
                        let full = planner.evaluate_observed(&failed, &mut scratch, limit, |_, _| {});
                        assert_eq!(result, full, "{} failed {failed:?}", inv.cluster.name);
                        bounded += 1;
                    }
                    compared += 1;
                }
            }
        }
        // Small clusters leave the bound little room; the larger ones give it most scenarios.
        assert!(bounded > 2_000 && bounded < compared, "the bound decided {bounded} of {compared} scenarios");
    }

    /// The same comparison on the 96-host, 10,000-VM cluster, where the water-level argument
    /// does most of the work: 3,000 scenarios of 2 to 4 failed hosts drawn at random.
    #[test]
    fn the_bound_gives_the_full_evaluations_result_on_the_big_cluster() {
        let inv = synthetic(&GeneratorSpec::default());
        let candidates: Vec<u32> = (0..inv.hosts.len() as u32).collect();
        let planner = Planner::new(&inv, &candidates);
        let mut scratch = planner.scratch();
        let space = Space::new(candidates.len(), 4).unwrap();
        let (mut combo, mut failed, mut bounded) = (Vec::new(), Vec::new(), 0);
        for rank in space.sample(3_000, 16) {
            space.unrank(rank, &mut combo);
            failed.clear();
            failed.extend(combo.iter().map(|&c| candidates[c as usize]));
            if let Some(result) = planner.bounded(&failed, &mut scratch, usize::MAX) {
                assert_eq!(
                    result,
                    planner.evaluate_observed(&failed, &mut scratch, usize::MAX, |_, _| {}),
                    "failed {failed:?}"
                );
                bounded += 1;
            }
        }
        assert!(bounded > 2_500, "the bound decided {bounded} of 3000");
    }
}
