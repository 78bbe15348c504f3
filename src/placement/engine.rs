//! Restart order (R-PLACE-1), host feasibility (R-PLACE-2) and host choice (R-PLACE-3) on
//! indices and an explicit [`PlacementState`].

use std::cmp::{Ordering, Reverse};
use std::collections::{BinaryHeap, HashMap};

use crate::capacity::Resources;
use crate::model::{Inventory, RestartPriority, Vm, VmRole};

use super::index::PlacementIndex;
use super::state::{HostAvailability, PlacementState};

/// The restart class of a VM (R-PLACE-1): agent VMs, then FT secondaries, then the restart
/// priorities from highest to lowest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RestartClass {
    Agent,
    FtSecondary,
    /// An effective (resolved) restart priority; never `clusterRestartPriority`.
    Priority(RestartPriority),
}

impl RestartClass {
    /// A VM's class, with `clusterRestartPriority` resolved.
    pub fn of(inv: &Inventory, vm: &Vm) -> RestartClass {
        match vm.role {
            Some(VmRole::Agent) => RestartClass::Agent,
            Some(VmRole::FtSecondary) => RestartClass::FtSecondary,
            _ => RestartClass::Priority(inv.effective_restart_priority(vm)),
        }
    }

    /// 0 restarts first; `disabled` (never restarted by a plan) sorts last.
    pub fn rank(self) -> u8 {
        match self {
            RestartClass::Agent => 0,
            RestartClass::FtSecondary => 1,
            RestartClass::Priority(p) => match p.rank() {
                Some(r) => 7 - r, // highest (5) → 2 … lowest (1) → 6
                None => 7,
            },
        }
    }

    /// `agent`, `ftSecondary`, or the priority's vSphere spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            RestartClass::Agent => "agent",
            RestartClass::FtSecondary => "ftSecondary",
            RestartClass::Priority(p) => p.as_str(),
        }
    }
}

impl Ord for RestartClass {
    /// Restart order: the class restarted first is the smaller.
    fn cmp(&self, other: &Self) -> Ordering {
        self.rank().cmp(&other.rank())
    }
}

impl PartialOrd for RestartClass {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl std::fmt::Display for RestartClass {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a VM could not be placed anywhere (R-PLACE-2). See the module documentation for which
/// one is reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum UnplacedReason {
    NoCompatibleHost,
    InsufficientResources,
    AntiAffinity,
    VmHostRule,
    DatastoreInaccessible,
}

impl UnplacedReason {
    pub const ALL: &'static [UnplacedReason] = &[
        UnplacedReason::NoCompatibleHost,
        UnplacedReason::InsufficientResources,
        UnplacedReason::AntiAffinity,
        UnplacedReason::VmHostRule,
        UnplacedReason::DatastoreInaccessible,
    ];

    /// The API spelling (`noCompatibleHost`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            UnplacedReason::NoCompatibleHost => "noCompatibleHost",
            UnplacedReason::InsufficientResources => "insufficientResources",
            UnplacedReason::AntiAffinity => "antiAffinity",
            UnplacedReason::VmHostRule => "vmHostRule",
            UnplacedReason::DatastoreInaccessible => "datastoreInaccessible",
        }
    }

    pub fn parse(text: &str) -> Option<UnplacedReason> {
        UnplacedReason::ALL.iter().copied().find(|r| r.as_str() == text)
    }
}

impl std::fmt::Display for UnplacedReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The result of placing one VM (indices into the inventory).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    Placed { vm: usize, host: usize },
    Unplaced { vm: usize, reason: UnplacedReason },
}

impl Outcome {
    pub fn vm(&self) -> usize {
        match *self {
            Outcome::Placed { vm, .. } | Outcome::Unplaced { vm, .. } => vm,
        }
    }
    pub fn host(&self) -> Option<usize> {
        match *self {
            Outcome::Placed { host, .. } => Some(host),
            Outcome::Unplaced { .. } => None,
        }
    }
}

/// The order in which HA restarts `vms` (indices; duplicates dropped), R-PLACE-1: by class, then
/// larger memory reservation + overhead, larger CPU reservation, smaller id (bytewise); then
/// each VM moved after the VMs of `vms` it depends on (6.5+; see the module documentation).
pub fn restart_order(inv: &Inventory, index: &PlacementIndex, vms: &[usize]) -> Vec<usize> {
    let mut order: Vec<usize> = vms.to_vec();
    order.sort_unstable();
    order.dedup();
    order.sort_by_cached_key(|&v| {
        let vm = &inv.vms[v];
        (
            RestartClass::of(inv, vm).rank(),
            Reverse(vm.memory_demand_mb()),
            Reverse(vm.cpu_reservation_mhz),
            vm.id.as_bytes(),
        )
    });
    if index.rules.has_dependencies() {
        order = respect_dependencies(index, order);
    }
    order
}

/// Stable topological pass: always emit the earliest VM (in the base order) whose dependencies
/// in this set have all been emitted, so the base order is kept wherever no dependency forbids
/// it and a VM comes right after the last VM it waits for.
fn respect_dependencies(index: &PlacementIndex, base: Vec<usize>) -> Vec<usize> {
    let position: HashMap<usize, usize> = base.iter().enumerate().map(|(pos, &vm)| (vm, pos)).collect();
    let mut waiting_on = vec![0usize; base.len()];
    let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); base.len()];
    for (pos, &vm) in base.iter().enumerate() {
        let mut prerequisites: Vec<usize> =
            index.rules.depends_on(vm).iter().filter_map(|&d| position.get(&(d as usize)).copied()).collect();
        prerequisites.sort_unstable();
        prerequisites.dedup();
        waiting_on[pos] = prerequisites.len();
        for p in prerequisites {
            dependents[p].push(pos);
        }
    }
    let mut ready: BinaryHeap<Reverse<usize>> = (0..base.len()).filter(|&p| waiting_on[p] == 0).map(Reverse).collect();
    let mut emitted = vec![false; base.len()];
    let mut order = Vec::with_capacity(base.len());
    while order.len() < base.len() {
        let pos = match ready.pop() {
            Some(Reverse(pos)) => pos,
            // Only a dependency cycle gets here (the parser rejects them): break it at the
            // earliest VM left rather than drop VMs.
            None => match emitted.iter().position(|done| !done) {
                Some(pos) => pos,
                None => break,
            },
        };
        if emitted[pos] {
            continue;
        }
        emitted[pos] = true;
        order.push(base[pos]);
        for &next in &dependents[pos] {
            waiting_on[next] = waiting_on[next].saturating_sub(1);
            if waiting_on[next] == 0 && !emitted[next] {
                ready.push(Reverse(next));
            }
        }
    }
    order
}

/// Orders `vms` (R-PLACE-1) and places them one by one (R-PLACE-2/3), booking each placement in
/// `state` before the next VM is considered. The VMs should already be released from hosts
/// they no longer run on ([`PlacementState::remove_vm`]); hosts they ran on that failed are
/// simply unusable.
pub fn place(inv: &Inventory, index: &PlacementIndex, state: &mut PlacementState, vms: &[usize]) -> Vec<Outcome> {
    restart_order(inv, index, vms).into_iter().map(|vm| place_vm(inv, index, state, vm)).collect()
}

/// Places one VM now (no ordering), booking it in `state` when placed.
pub fn place_vm(inv: &Inventory, index: &PlacementIndex, state: &mut PlacementState, vm: usize) -> Outcome {
    let outcome = evaluate(inv, index, state, vm, None);
    if let Outcome::Placed { host, .. } = outcome {
        state.add_vm(inv, index, vm, host);
    }
    outcome
}

// ---------------------------------------------------------------- feasibility and choice

/// Why one host cannot take one VM, compactly (indices; rendered with ids by the plan).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    Unavailable(HostAvailability),
    /// `datastore`: position in the VM's `datastores` list.
    DatastoreNotConnected {
        datastore: usize,
    },
    DatastoreLost {
        datastore: usize,
    },
    /// `network`: position in the VM's `networks` list.
    NetworkMissing {
        network: usize,
    },
    /// `rule`: index into `inv.rules`.
    VmHostMust {
        rule: usize,
    },
    VmHostMustNot {
        rule: usize,
    },
    AntiAffinity {
        rule: usize,
        group: usize,
    },
    FtLimit {
        ft_vms: u32,
        limit: u32,
    },
    Insufficient {
        needed: Resources,
        unreserved: Resources,
    },
}

impl Refusal {
    /// How far the host got through the checks of R-PLACE-2 (deeper = closer to taking it).
    fn stage(self) -> u8 {
        match self {
            Refusal::Unavailable(_) => 0,
            Refusal::DatastoreNotConnected { .. } | Refusal::DatastoreLost { .. } => 1,
            Refusal::NetworkMissing { .. } => 2,
            Refusal::VmHostMust { .. } | Refusal::VmHostMustNot { .. } => 3,
            Refusal::AntiAffinity { .. } => 4,
            Refusal::FtLimit { .. } => 5,
            Refusal::Insufficient { .. } => 6,
        }
    }

    /// The VM-level reason this refusal stands for when it is the deepest one.
    pub(crate) fn reason(self) -> UnplacedReason {
        match self {
            Refusal::Unavailable(_) | Refusal::NetworkMissing { .. } => UnplacedReason::NoCompatibleHost,
            Refusal::DatastoreNotConnected { .. } | Refusal::DatastoreLost { .. } => {
                UnplacedReason::DatastoreInaccessible
            }
            Refusal::VmHostMust { .. } | Refusal::VmHostMustNot { .. } => UnplacedReason::VmHostRule,
            Refusal::AntiAffinity { .. } => UnplacedReason::AntiAffinity,
            Refusal::FtLimit { .. } | Refusal::Insufficient { .. } => UnplacedReason::InsufficientResources,
        }
    }
}

/// How a feasible host ranks for one VM (R-PLACE-3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Score {
    pub failover_host: bool,
    pub soft_rule_violations: u32,
    pub unreserved_after: Resources,
}

impl Score {
    /// `Less` when `self` is the better host. Equal scores fall to the host id (scan order).
    pub(crate) fn rank(&self, other: &Score) -> Ordering {
        other
            .failover_host
            .cmp(&self.failover_host)
            .then(self.soft_rule_violations.cmp(&other.soft_rule_violations))
            .then(other.unreserved_after.memory_mb.cmp(&self.unreserved_after.memory_mb))
            .then(other.unreserved_after.cpu_mhz.cmp(&self.unreserved_after.cpu_mhz))
    }
}

/// One host's verdict for one VM, as recorded for explanations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Evaluation {
    Refused(Refusal),
    Feasible(Score),
}

/// Everything about the VM the host scan needs, looked up once before it.
struct VmNeeds<'a> {
    datastores: Vec<Option<usize>>,
    networks: Vec<Option<u32>>,
    /// `datastores` as a bitset over datastore indices, `None` when one is unknown to the
    /// index; likewise `networks` over the interned networks: the quick subset test of
    /// [`check_host`] (the per-item checks then name the first one missing).
    datastore_bits: Option<Vec<u64>>,
    network_bits: Option<Vec<u64>>,
    reservation: Resources,
    ft: bool,
    must: &'a [u32],
    must_not: &'a [u32],
    /// Empty unless anti-affinity rules are respected.
    anti_affinity_groups: &'a [u32],
    /// Empty unless soft rules are respected.
    should: &'a [u32],
    should_not: &'a [u32],
}

/// Checks every host for VM `vm` in host id order and picks the best feasible one. With
/// `record`, pushes each host's [`Evaluation`] in host id order.
pub(crate) fn evaluate(
    inv: &Inventory,
    index: &PlacementIndex,
    state: &PlacementState,
    vm: usize,
    mut record: Option<&mut Vec<(usize, Evaluation)>>,
) -> Outcome {
    let v = &inv.vms[vm];
    let rules = &index.rules;
    let (respect_aa, respect_soft) = (index.respects_anti_affinity(), index.respects_soft_rules());
    let datastores: Vec<Option<usize>> = v.datastores.iter().map(|id| inv.datastore_idx(id)).collect();
    let networks: Vec<Option<u32>> = v.networks.iter().map(|n| index.network_id(n)).collect();
    let needs = VmNeeds {
        datastore_bits: bitset(datastores.iter().copied(), index.datastore_words()),
        network_bits: bitset(networks.iter().map(|n| n.map(|n| n as usize)), index.network_words()),
        datastores,
        networks,
        reservation: index.reservation(vm),
        ft: index.is_ft(vm),
        must: rules.must(vm),
        must_not: rules.must_not(vm),
        anti_affinity_groups: if respect_aa { rules.anti_affinity_groups(vm) } else { &[] },
        should: if respect_soft { rules.should(vm) } else { &[] },
        should_not: if respect_soft { rules.should_not(vm) } else { &[] },
    };
    let mut best: Option<(usize, Score)> = None;
    let mut deepest: Option<Refusal> = None;
    if record.is_none() && needs.should.is_empty() && needs.should_not.is_empty() && !index.has_failover_hosts() {
        // Every feasible host then scores alike but for its room after placement (no failover
        // host, no soft rule), and room after = room before − the VM's reservation: the first
        // feasible host in room order (ties in host id order) is the one the scan below picks.
        // When none is feasible every host was checked, so the deepest refusal is the same too.
        for &host in state.hosts_by_room() {
            match check_host(index, state, &needs, host as usize) {
                Ok(_) => return Outcome::Placed { vm, host: host as usize },
                Err(refusal) => {
                    if deepest.is_none_or(|d| refusal.stage() > d.stage()) {
                        deepest = Some(refusal);
                    }
                }
            }
        }
        return Outcome::Unplaced { vm, reason: deepest.map_or(UnplacedReason::NoCompatibleHost, Refusal::reason) };
    }
    for &host in index.host_order() {
        let evaluation = match check_host(index, state, &needs, host) {
            Err(refusal) => {
                if deepest.is_none_or(|d| refusal.stage() > d.stage()) {
                    deepest = Some(refusal);
                }
                Evaluation::Refused(refusal)
            }
            Ok(score) => {
                if best.is_none_or(|(_, b)| score.rank(&b) == Ordering::Less) {
                    best = Some((host, score));
                }
                Evaluation::Feasible(score)
            }
        };
        if let Some(out) = record.as_deref_mut() {
            out.push((host, evaluation));
        }
    }
    match best {
        Some((host, _)) => Outcome::Placed { vm, host },
        None => Outcome::Unplaced { vm, reason: deepest.map_or(UnplacedReason::NoCompatibleHost, Refusal::reason) },
    }
}

/// R-PLACE-2 for one host, checks in the documented order; on success the R-PLACE-3 score.
fn check_host(
    index: &PlacementIndex,
    state: &PlacementState,
    needs: &VmNeeds<'_>,
    host: usize,
) -> Result<Score, Refusal> {
    let availability = state.availability(host);
    if !availability.is_usable() {
        return Err(Refusal::Unavailable(availability));
    }
    // Quick test first: every datastore connected (and none lost anywhere), as one AND per word.
    let datastores_fit = !state.may_have_lost_datastores()
        && needs.datastore_bits.as_deref().is_some_and(|bits| is_subset(bits, index.datastore_bits(host)));
    if !datastores_fit {
        for (pos, ds) in needs.datastores.iter().enumerate() {
            match *ds {
                Some(d) if index.host_has_datastore(host, d) => {
                    if state.is_datastore_lost(host, d) {
                        return Err(Refusal::DatastoreLost { datastore: pos });
                    }
                }
                _ => return Err(Refusal::DatastoreNotConnected { datastore: pos }),
            }
        }
    }
    if let (Some(mask), Some(offered)) = (index.host_network_mask(host), index.network_bits(host)) {
        if !needs.network_bits.as_deref().is_some_and(|bits| is_subset(bits, offered)) {
            for (pos, net) in needs.networks.iter().enumerate() {
                if !net.is_some_and(|n| mask[n as usize]) {
                    return Err(Refusal::NetworkMissing { network: pos });
                }
            }
        }
    }
    let rules = &index.rules;
    if let Some(&rule) = needs.must.iter().find(|&&r| !rules.rule_lists_host(r as usize, host)) {
        return Err(Refusal::VmHostMust { rule: rule as usize });
    }
    if let Some(&rule) = needs.must_not.iter().find(|&&r| rules.rule_lists_host(r as usize, host)) {
        return Err(Refusal::VmHostMustNot { rule: rule as usize });
    }
    // Only filled when das.respectVmVmAntiAffinityRules=true (R-PLACE-2).
    for &group in needs.anti_affinity_groups {
        if state.anti_affinity_members_on(group as usize, host) > 0 {
            return Err(Refusal::AntiAffinity {
                rule: rules.anti_affinity_rule(group as usize),
                group: group as usize,
            });
        }
    }
    if needs.ft {
        if let Some(limit) = index.max_ft_vms_per_host() {
            let ft_vms = state.ft_vms(host);
            if ft_vms >= limit {
                return Err(Refusal::FtLimit { ft_vms, limit });
            }
        }
    }
    let unreserved = state.unreserved(host);
    if !unreserved.covers(needs.reservation) {
        return Err(Refusal::Insufficient { needed: needs.reservation, unreserved });
    }
    // Only filled when das.respectVmHostSoftAffinityRules=true (R-PLACE-3).
    let violated_should = needs.should.iter().filter(|&&r| !rules.rule_lists_host(r as usize, host)).count();
    let violated_should_not = needs.should_not.iter().filter(|&&r| rules.rule_lists_host(r as usize, host)).count();
    // why: at most the number of rules, < 2^32.
    let soft_rule_violations = (violated_should + violated_should_not) as u32;
    Ok(Score {
        failover_host: index.is_failover_host(host),
        soft_rule_violations,
        unreserved_after: unreserved.saturating_sub(needs.reservation),
    })
}

/// The bitset of `items` over `words` words; `None` when an item is unknown (`None`) or out of
/// range.
fn bitset(items: impl Iterator<Item = Option<usize>>, words: usize) -> Option<Vec<u64>> {
    let mut bits = vec![0u64; words];
    for item in items {
        let i = item?;
        *bits.get_mut(i / 64)? |= 1 << (i % 64);
    }
    Some(bits)
}

/// Every bit of `needed` is set in `offered` (same length).
fn is_subset(needed: &[u64], offered: &[u64]) -> bool {
    needed.len() == offered.len() && needed.iter().zip(offered).all(|(n, o)| n & !o == 0)
}
