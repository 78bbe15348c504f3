//! DRS and DPM assisting failover (R-PLACE-DRS): defragmenting the surviving hosts with
//! vMotions, and bringing standby hosts out of standby, for a VM no host can take as things are.
//!
//! vSphere HA "can use DRS to try to adjust the cluster (for example, by bringing hosts out of
//! standby mode or migrating virtual machines to defragment the cluster resources)" (vSphere
//! Availability guide, "Using vSphere HA and DRS Together"). Active only when the cluster's DRS
//! is enabled and `fullyAutomated` ([`crate::model::DrsConfig::acts_for_ha`]); a plan assumes
//! vCenter is available.
//!
//! # Engine rules
//!
//! * **When**: only for a VM the plain R-PLACE-2 scan leaves unplaced. Defragmentation is tried
//!   first (vMotions of running VMs), then DPM (a standby host brought out of standby).
//! * **Defragmentation targets**: the hosts that refused the VM for CPU/memory only (their
//!   refusal is the capacity check, the last one of R-PLACE-2, so every other condition holds).
//! * **Movable VMs**: powered-on VMs running on the target host that are not agent VMs, not FT
//!   primaries or secondaries, and not restarted by this plan. A VM may be moved only to a host
//!   where it passes every R-PLACE-2 check (so a VM a `vmHostMust` rule pins to its host never
//!   moves, and one pinned to a group moves within it); among those the R-PLACE-3 choice picks
//!   the destination, never the target itself.
//! * **Which moves**: the fewest vMotions (at most `engine.drsMaxMigrationsPerVm`, default 4)
//!   after which the VM fits on the target; ties: least memory moved (reservation + overhead),
//!   then the target's host id, then the moved VMs' ids (bytewise, as sorted lists). Only moves
//!   off the target are searched (a chain "A moves to make room for B" is not). Moves are listed
//!   in VM id order, each destination chosen with the earlier moves booked.
//! * **Search budget**: the search is bounded so that a plan stays fast: at most
//!   [`SEARCH_BUDGET`] steps per VM (one per candidate VM examined, [`DESTINATION_COST`] per
//!   candidate set whose destinations are checked) and [`PLAN_BUDGET`] per plan. A VM whose
//!   search runs out of budget before a fitting set of the smallest size is found is not
//!   helped (the best set of that size found so far is used when there is one). The budget is
//!   reached only when hundreds of VMs stay unplaced in a nearly full cluster.
//! * **DPM**: with `dpm.enabled`, the standby hosts are tried largest first (memory capacity,
//!   then CPU capacity), then by host id; the first one the VM fits on (every R-PLACE-2 check) is
//!   brought out of standby. One host is always enough for one VM, so this is the smallest number.
//! * **Without DRS in full automation** nothing moves and nothing wakes; the plan's explanation
//!   says when the same defragmentation would have made room. Those would-be searches share a
//!   plan-wide budget of [`NOTE_BUDGET`] candidate sets, so a plan with thousands of unplaced
//!   VMs stays fast; past it the explanations stop saying so.

use crate::capacity::Resources;
use crate::model::{ConnectionState, Inventory, VmRole};

use super::engine::{evaluate, Evaluation, Outcome, Refusal};
use super::index::{FastMap, PlacementIndex};
use super::state::{HostAvailability, PlacementState};

/// The search work one defragmentation search may do, in steps: one per candidate VM examined,
/// [`DESTINATION_COST`] per candidate set whose destinations are checked.
pub const SEARCH_BUDGET: usize = 50_000;

/// The search work one plan may do in all when DRS acts (then VMs are declared unplaced
/// without a search).
pub const PLAN_BUDGET: usize = 2_000_000;

/// The search work one plan may do in all for the "DRS would have made room" explanations when
/// DRS does not act.
pub const NOTE_BUDGET: usize = 500_000;

/// Steps charged for checking the destinations of one candidate set (a few placement scans).
pub const DESTINATION_COST: usize = 64;

/// One vMotion (indices into the inventory).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Move {
    pub vm: usize,
    pub from: usize,
    pub to: usize,
}

/// What DRS did (or would have done) for one VM.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Assist {
    /// Nothing helps (or nothing was tried).
    Nothing,
    /// Moves applied to the state: the VM now fits.
    Defragmented(Vec<Move>),
    /// A standby host was brought out of standby (state updated): the VM now fits.
    ExitedStandby(usize),
    /// DRS is not in full automation; these moves would have made room.
    WouldDefragment(Vec<Move>),
}

/// Where the VMs moved during one plan now run, so that later searches see them there.
#[derive(Debug, Default)]
pub(crate) struct DrsLedger {
    /// VM → host it was moved to.
    moved_to: FastMap<usize, usize>,
    /// Host → VMs moved onto it, in move order.
    moved_in: FastMap<usize, Vec<usize>>,
    /// Host → its movable VMs with their reservations, by memory, CPU, id (ascending). Which
    /// VMs are movable changes only when a move touches the host.
    candidates: FastMap<usize, Vec<(usize, Resources)>>,
    /// Search steps spent so far in this plan.
    spent: usize,
}

impl DrsLedger {
    /// A ledger for a state where VMs run elsewhere than the inventory says (a simulation, after
    /// restarts and earlier vMotions): `running_on[v]` is the host VM `v` runs on now, `None`
    /// when it is not running (such a VM must also be marked in `restarting` for [`assist`]).
    pub(crate) fn with_hosts(index: &PlacementIndex, running_on: &[Option<usize>]) -> DrsLedger {
        let mut ledger = DrsLedger::default();
        for (v, &now) in running_on.iter().enumerate() {
            let Some(h) = now else { continue };
            if index.current_host(v) != Some(h) {
                ledger.moved_to.insert(v, h);
                ledger.moved_in.entry(h).or_default().push(v);
            }
        }
        ledger
    }

    /// Search steps spent so far with this ledger (one plan, or one restart pass of the
    /// simulation), counted against [`PLAN_BUDGET`] or [`NOTE_BUDGET`].
    pub(crate) fn spent(&self) -> usize {
        self.spent
    }

    /// Forgets `moves` (returned by [`assist`] as applied) when they were applied to a copy of
    /// the state only: later searches see their VMs where they were. The budget they used stays
    /// spent.
    pub(crate) fn undo(&mut self, moves: &[Move]) {
        for m in moves.iter().rev() {
            self.record(Move { vm: m.vm, from: m.to, to: m.from });
        }
    }

    fn record(&mut self, m: Move) {
        self.candidates.remove(&m.from);
        self.candidates.remove(&m.to);
        self.moved_to.insert(m.vm, m.to);
        if let Some(list) = self.moved_in.get_mut(&m.from) {
            list.retain(|&v| v != m.vm);
        }
        self.moved_in.entry(m.to).or_default().push(m.vm);
    }

    /// The VMs running on `host` now: its inventory VMs not moved away, plus those moved in.
    fn vms_on(&self, index: &PlacementIndex, host: usize) -> Vec<usize> {
        let mut out: Vec<usize> = index
            .vms_on_host(host)
            .iter()
            .map(|&v| v as usize)
            .filter(|v| self.moved_to.get(v).is_none_or(|&h| h == host))
            .collect();
        if let Some(extra) = self.moved_in.get(&host) {
            for &v in extra {
                if !out.contains(&v) {
                    out.push(v);
                }
            }
        }
        out
    }

    /// The movable VMs on `host`, by memory, CPU, id (ascending); cached.
    fn take_candidates(
        &mut self,
        inv: &Inventory,
        index: &PlacementIndex,
        host: usize,
        restarting: &[bool],
    ) -> Vec<(usize, Resources)> {
        if let Some(list) = self.candidates.remove(&host) {
            return list;
        }
        let mut list: Vec<(usize, Resources)> = self
            .vms_on(index, host)
            .into_iter()
            .filter(|&v| movable(inv, index, v, restarting))
            .map(|v| (v, index.reservation(v)))
            .collect();
        list.sort_by(|a, b| {
            a.1.memory_mb
                .cmp(&b.1.memory_mb)
                .then(a.1.cpu_mhz.cmp(&b.1.cpu_mhz))
                .then(inv.vms[a.0].id.as_bytes().cmp(inv.vms[b.0].id.as_bytes()))
        });
        list
    }
}

/// Tries DRS (then DPM) for VM `vm`, which [`evaluate`] left unplaced on `state`. With DRS in
/// full automation the actions are applied to `state` (and `ledger`); otherwise only the
/// would-be defragmentation is computed. `restarting[v]`: VM `v` is restarted by this plan.
pub(crate) fn assist(
    inv: &Inventory,
    index: &PlacementIndex,
    state: &mut PlacementState,
    ledger: &mut DrsLedger,
    vm: usize,
    restarting: &[bool],
) -> Assist {
    let max_moves = inv.cluster.advanced_options.parsed.drs_max_migrations_per_vm as usize;
    let acts = inv.cluster.drs.acts_for_ha();
    let plan_budget = if acts { PLAN_BUDGET } else { NOTE_BUDGET };
    let budget = plan_budget.saturating_sub(ledger.spent).min(SEARCH_BUDGET);
    let moves = if max_moves > 0 && budget > 0 {
        let mut left = budget;
        let moves = search(inv, index, state, ledger, vm, restarting, max_moves, &mut left);
        ledger.spent = ledger.spent.saturating_add(budget - left);
        moves
    } else {
        None
    };
    if !acts {
        return moves.map_or(Assist::Nothing, Assist::WouldDefragment);
    }
    if let Some(moves) = moves {
        for &m in &moves {
            state.remove_vm(inv, index, m.vm, m.from);
            state.add_vm(inv, index, m.vm, m.to);
            ledger.record(m);
        }
        return Assist::Defragmented(moves);
    }
    if inv.cluster.dpm.enabled {
        if let Some(host) = exit_standby(inv, index, state, vm) {
            return Assist::ExitedStandby(host);
        }
    }
    Assist::Nothing
}

/// DPM: the first standby host (largest first, then host id) on which `vm` fits once awake;
/// left awake in `state`.
fn exit_standby(inv: &Inventory, index: &PlacementIndex, state: &mut PlacementState, vm: usize) -> Option<usize> {
    let mut standby: Vec<usize> =
        index.host_order().iter().copied().filter(|&h| state.availability(h) == HostAvailability::Standby).collect();
    // Stable sort over host id order: ties keep the smaller host id first.
    standby.sort_by_key(|&h| {
        let cap = crate::capacity::host_capacity(&inv.hosts[h]);
        (std::cmp::Reverse(cap.memory_mb), std::cmp::Reverse(cap.cpu_mhz))
    });
    for h in standby {
        let host = &inv.hosts[h];
        let awake = if host.state != ConnectionState::Connected || host.maintenance {
            continue;
        } else if !host.agent_vms_ready {
            HostAvailability::AgentVmsNotReady
        } else {
            HostAvailability::Usable
        };
        state.set_availability(h, awake);
        if matches!(evaluate(inv, index, state, vm, None), Outcome::Placed { host, .. } if host == h) {
            return Some(h);
        }
        state.set_availability(h, HostAvailability::Standby);
    }
    None
}

/// A candidate set: how many moves, memory moved, target host, moved VMs (sorted by id), and
/// the moves with their destinations.
struct Best {
    memory: u64,
    target: usize,
    ids: Vec<usize>,
    moves: Vec<Move>,
}

/// The defragmentation search (see the module documentation); `budget` is the candidate-set
/// work left, decreased by what the search spends. `state` is left as it was.
#[allow(clippy::too_many_arguments)]
fn search(
    inv: &Inventory,
    index: &PlacementIndex,
    state: &PlacementState,
    ledger: &mut DrsLedger,
    vm: usize,
    restarting: &[bool],
    max_moves: usize,
    budget: &mut usize,
) -> Option<Vec<Move>> {
    let needed = index.reservation(vm);
    // Moves shift reservations between usable hosts, never create room: without enough
    // unreserved capacity in all, no set of moves helps.
    let total = index
        .host_order()
        .iter()
        .filter(|&&h| state.is_usable(h))
        .fold(Resources::default(), |acc, &h| acc.saturating_add(state.unreserved(h)));
    if !total.covers(needed) {
        return None;
    }
    let mut verdicts = Vec::with_capacity(index.host_count());
    if let Outcome::Placed { .. } = evaluate(inv, index, state, vm, Some(&mut verdicts)) {
        return None;
    }
    let targets: Vec<usize> = verdicts
        .iter()
        .filter_map(|&(h, e)| matches!(e, Evaluation::Refused(Refusal::Insufficient { .. })).then_some(h))
        .collect();
    if targets.is_empty() {
        return None;
    }
    // The two usable hosts with most unreserved memory: a moved VM's destination is another host
    // than the target, so it cannot need more memory than the best other host has.
    let mut top: [Option<(usize, u64)>; 2] = [None, None];
    for &h in index.host_order().iter().filter(|&&h| state.is_usable(h)) {
        let free = state.unreserved(h).memory_mb;
        if top[0].is_none_or(|(_, m)| free > m) {
            top = [Some((h, free)), top[0]];
        } else if top[1].is_none_or(|(_, m)| free > m) {
            top[1] = Some((h, free));
        }
    }
    let mut scratch = state.clone();
    for k in 1..=max_moves {
        let mut best: Option<Best> = None;
        for &t in &targets {
            let unreserved = state.unreserved(t);
            let deficit = Resources {
                cpu_mhz: needed.cpu_mhz.saturating_sub(unreserved.cpu_mhz),
                memory_mb: needed.memory_mb.saturating_sub(unreserved.memory_mb),
            };
            let candidates = ledger.take_candidates(inv, index, t, restarting);
            let room = match top {
                [Some((h, _)), second] if h == t => second.map_or(0, |(_, m)| m),
                [first, _] => first.map_or(0, |(_, m)| m),
            };
            // Only VMs some other host has the memory for can move; what moves must fit in
            // the memory the other usable hosts have unreserved.
            let viable = candidates.partition_point(|c| c.1.memory_mb <= room);
            let elsewhere = total.memory_mb.saturating_sub(unreserved.memory_mb);
            if viable < k {
                ledger.candidates.insert(t, candidates);
                continue;
            }
            let list = &candidates[..viable];
            // tail[j]: the j largest memories (the last j candidates), for the reachability bound.
            let mut tail = vec![0u64; k];
            for j in 1..k {
                tail[j] = tail[j - 1].saturating_add(list[list.len() - j].1.memory_mb);
            }
            if tail[k - 1].saturating_add(list[list.len() - k].1.memory_mb) < deficit.memory_mb {
                // Even the k largest movable VMs free too little here.
                ledger.candidates.insert(t, candidates);
                continue;
            }
            let mut search = Search {
                inv,
                index,
                scratch: &mut scratch,
                vm,
                target: t,
                deficit,
                candidates: list,
                tail: &tail,
                elsewhere,
                k,
                chosen: Vec::with_capacity(k),
                best: &mut best,
                budget: &mut *budget,
            };
            search.dfs(0, Resources::default());
            ledger.candidates.insert(t, candidates);
        }
        if let Some(best) = best {
            return Some(best.moves);
        }
        if *budget == 0 {
            return None;
        }
    }
    None
}

/// Powered on, not an agent VM, not FT, not restarted by this plan.
fn movable(inv: &Inventory, index: &PlacementIndex, v: usize, restarting: &[bool]) -> bool {
    index.is_powered_on(v)
        && !index.is_ft(v)
        && inv.vms[v].role != Some(VmRole::Agent)
        && !restarting.get(v).copied().unwrap_or(true)
}

struct Search<'a, 'b> {
    inv: &'a Inventory,
    index: &'a PlacementIndex,
    scratch: &'b mut PlacementState,
    vm: usize,
    target: usize,
    deficit: Resources,
    /// Movable VMs on the target, by memory, CPU, id (ascending).
    candidates: &'b [(usize, Resources)],
    /// `tail[j]`: the sum of the `j` largest candidate memories.
    tail: &'b [u64],
    /// Memory unreserved on the usable hosts other than the target: what all moves together
    /// can take.
    elsewhere: u64,
    k: usize,
    chosen: Vec<usize>,
    best: &'b mut Option<Best>,
    budget: &'b mut usize,
}

impl Search<'_, '_> {
    /// Chooses `k - chosen.len()` more candidates from `from` on; `sum` is what is chosen so far.
    fn dfs(&mut self, from: usize, sum: Resources) {
        let left = self.k - self.chosen.len();
        if left == 0 {
            if sum.covers(self.deficit) {
                self.consider(sum.memory_mb);
            }
            return;
        }
        let n = self.candidates.len();
        // The last pick must bring the memory up to the deficit on its own: skip the smaller ones.
        let start = if left == 1 {
            let need = self.deficit.memory_mb.saturating_sub(sum.memory_mb);
            from + self.candidates[from..].partition_point(|c| c.1.memory_mb < need)
        } else {
            from
        };
        for i in start..n {
            if *self.budget == 0 || n - i < left {
                return;
            }
            *self.budget -= 1;
            let (v, r) = self.candidates[i];
            // Ascending memory: every completion moves at least `left` times this VM's memory.
            let least = sum.memory_mb.saturating_add(r.memory_mb.saturating_mul(left as u64));
            if self.best.as_ref().is_some_and(|b| least > b.memory) || least > self.elsewhere {
                return;
            }
            // This pick plus the `left - 1` largest memories must reach the deficit.
            let reachable = sum.memory_mb.saturating_add(r.memory_mb).saturating_add(self.tail[left - 1]);
            if reachable < self.deficit.memory_mb {
                continue;
            }
            self.chosen.push(v);
            self.dfs(i + 1, sum.saturating_add(r));
            self.chosen.pop();
        }
    }

    /// A set that frees enough room: kept when it beats the best so far and every move has a
    /// destination and the VM then fits.
    fn consider(&mut self, memory: u64) {
        let inv = self.inv;
        let mut ids = self.chosen.clone();
        ids.sort_by(|&a, &b| inv.vms[a].id.as_bytes().cmp(inv.vms[b].id.as_bytes()));
        if let Some(b) = self.best.as_ref() {
            let key = |target: usize, ids: &[usize]| {
                (inv.hosts[target].id.as_bytes(), ids.iter().map(|&v| inv.vms[v].id.as_bytes()).collect::<Vec<_>>())
            };
            let better = memory < b.memory || (memory == b.memory && key(self.target, &ids) < key(b.target, &b.ids));
            if !better {
                return;
            }
        }
        *self.budget = self.budget.saturating_sub(DESTINATION_COST);
        if let Some(moves) = self.destinations(&ids) {
            *self.best = Some(Best { memory, target: self.target, ids, moves });
        }
    }

    /// Moves `ids` (in this order) off the target, each to its R-PLACE-3 choice among the other
    /// hosts; `None` when one has no destination or the VM still does not fit. The scratch
    /// state is restored.
    fn destinations(&mut self, ids: &[usize]) -> Option<Vec<Move>> {
        let (inv, index, t) = (self.inv, self.index, self.target);
        let availability = self.scratch.availability(t);
        let mut moves = Vec::with_capacity(ids.len());
        // The target takes none of its own VMs back.
        self.scratch.set_availability(t, HostAvailability::Failed);
        for &v in ids {
            self.scratch.remove_vm(inv, index, v, t);
            match evaluate(inv, index, self.scratch, v, None) {
                Outcome::Placed { host, .. } => {
                    self.scratch.add_vm(inv, index, v, host);
                    moves.push(Move { vm: v, from: t, to: host });
                }
                Outcome::Unplaced { .. } => {
                    self.scratch.add_vm(inv, index, v, t);
                    break;
                }
            }
        }
        self.scratch.set_availability(t, availability);
        let fits = moves.len() == ids.len()
            && matches!(evaluate(inv, index, self.scratch, self.vm, None), Outcome::Placed { .. });
        for m in moves.iter().rev() {
            self.scratch.remove_vm(inv, index, m.vm, m.to);
            self.scratch.add_vm(inv, index, m.vm, m.from);
        }
        fits.then_some(moves)
    }
}
