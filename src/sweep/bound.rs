//! The capacity bound: a scenario's result without placing its VMs one by one, when a
//! counting argument proves that the engine places every VM that has a host left at all.
//!
//! R-PLACE-2 refuses a host for a VM for reasons of two kinds. *Static* ones depend only on which
//! hosts failed: usability, datastores, networks, `vmHostMust` / `vmHostMustNot` (the VM's "open"
//! hosts are the usable hosts that pass them). *Dynamic* ones depend on what the scenario placed
//! before the VM: unreserved CPU or memory, `das.maxFtVmsPerHost`, VM anti-affinity. A VM
//! with no open surviving host is unplaced whatever happens ("stranded"); it books nothing.
//! For every other VM the bound counts how many of its open surviving hosts the VMs placed
//! before it could have closed at most — whatever order they come in and wherever R-PLACE-3
//! put them — and when that is fewer than the open hosts, some host still takes the VM:
//!
//! * **capacity**: a host h with `F_h` unreserved memory (before the scenario) refuses a VM
//!   needing `m ≤ m*` (the largest need of the scenario) only once the scenario put more than
//!   `F_h − m*` on it; the scenario's VMs hold `D` in all, so at most the largest number of
//!   hosts whose `max(0, F_h − m* + 1)` add up to at most `D` — the hosts of least unreserved
//!   memory first. The same for CPU; a host closed for both is counted twice.
//! * **anti-affinity**: a host refuses the VM only when another member of one of its groups
//!   runs there; each member runs on one surviving host, so at most Σ (members − 1).
//! * **FT**: a host refuses an FT VM only with `das.maxFtVmsPerHost` FT VMs on it; the surviving
//!   hosts hold at most the cluster's FT VMs plus the scenario's, so at most
//!   ⌊(those) / limit⌋ hosts (every host with a limit of 0).
//!
//! A VM that fails this count gets a sharper look at its own open hosts (`cannot_close_all`: the
//! cost of closing each of them, split between memory and CPU as a fractional knapsack), and then
//! the water-level argument (`water_level`): R-PLACE-3's plain choice (most unreserved memory
//! first) never takes a host below m* while some host above 2 m* accepts the VM, so only the
//! VMs for which that cannot be shown count against memory.
//!
//! When every VM of the scenario passes (open surviving hosts > the hosts it may find closed),
//! every VM with an open host is placed and the result follows from sums: restarted = VMs −
//! stranded, the stranded VMs unplaced in restart order with the engine's reason (the deepest
//! static refusal over the hosts: `vmHostRule` when some surviving usable host passes the
//! datastore and network checks, `noCompatibleHost` when some passes the datastore check,
//! `datastoreInaccessible` when some is usable, else `noCompatibleHost`), and the capacity
//! left = the survivors' unreserved capacity − what the placed VMs reserve (a host takes a VM
//! only when it covers its need, so no subtraction saturates). Otherwise the scenario is
//! planned VM by VM. The bound decides nothing about *where* VMs go, only *that* they go, so
//! R-PLACE-3's preferences (failover hosts, soft rules) and the restart order do not enter;
//! the order matters only for listing two or more stranded VMs when `vmDependsOn` links the
//! failed hosts (those scenarios are planned in full). With DRS in full automation
//! (R-PLACE-DRS) a stranded VM may wake a standby host, so only scenarios without stranded
//! VMs use the bound. The rule book's sweep section (docs/rules/sweep.rst) states the same;
//! `tests/sweep.rs` and the tests below compare every scenario with the engine.

use crate::capacity::Resources;
use crate::placement::UnplacedReason;

use super::planner::{Planner, StaticHostSets};
use super::{ScenarioResult, UnplacedVm};

/// Unreserved amounts of the usable hosts (one resource), ascending, with prefix sums.
struct Sorted {
    values: Vec<u64>,
    /// `prefix[i]` = values[0] + … + values[i − 1].
    prefix: Vec<u128>,
}

impl Sorted {
    fn new(mut values: Vec<u64>) -> Sorted {
        values.sort_unstable();
        let mut prefix = Vec::with_capacity(values.len() + 1);
        let mut sum = 0u128;
        prefix.push(0);
        for &v in &values {
            sum += u128::from(v);
            prefix.push(sum);
        }
        Sorted { values, prefix }
    }

    /// The most hosts that placements adding up to `budget` can leave with less than `largest`
    /// unreserved: those already below it, then the least loaded first, each costing
    /// `value − largest + 1`.
    fn closable(&self, largest: u64, budget: u128) -> usize {
        let n = self.values.len();
        let free = self.values.partition_point(|&v| v < largest);
        // cost(i) for free ≤ i ≤ n: Σ_{free ≤ j < i} (values[j] − largest + 1), increasing in i.
        let cost = |i: usize| {
            let count = (i - free) as u128;
            self.prefix[i] - self.prefix[free] + count - count * u128::from(largest)
        };
        let (mut lo, mut hi) = (free, n); // cost(lo) ≤ budget
        while lo < hi {
            let mid = lo + (hi - lo).div_ceil(2);
            if cost(mid) <= budget {
                lo = mid;
            } else {
                hi = mid - 1;
            }
        }
        lo
    }
}

/// What a candidate host's failure brings to a scenario, summed once.
#[derive(Debug, Clone, Copy, Default)]
struct HostLoad {
    memory: u128,
    cpu: u128,
    largest: Resources,
    ft_vms: u64,
}

/// Closed hosts charged to an FT VM when `das.maxFtVmsPerHost` is 0: more than any cluster has.
const NEVER: i64 = i64::MAX / 4;

pub(super) struct Bound {
    words: usize,
    /// Hosts usable before any failure.
    usable: Vec<u64>,
    /// Per row, `words` each: usable hosts passing the datastore checks; those passing the
    /// network checks too; the VM's open hosts (every static check).
    datastore_ok: Vec<u64>,
    network_ok: Vec<u64>,
    open: Vec<u64>,
    /// Per row: open hosts − anti-affinity bound − the FT bound for any scenario: a VM with
    /// `slack − failed hosts > capacity bound` needs no look.
    slack: Vec<i64>,
    anti_affinity: Vec<i64>,
    ft: Vec<bool>,
    moving_need: Vec<Resources>,
    /// Per row: placed by R-PLACE-3 with soft rules (not "most memory first").
    soft: Vec<bool>,
    /// Per host index: the memory its restartable rows with soft rules need.
    soft_memory: Vec<u128>,
    /// Per host index: its restartable rows by slack, ascending; what they need.
    by_slack: Vec<Vec<u32>>,
    load: Vec<HostLoad>,
    /// Per host index: unreserved capacity when usable before any failure, else 0.
    unreserved: Vec<Resources>,
    total_memory: u128,
    total_cpu: u128,
    free_memory: Sorted,
    free_cpu: Sorted,
    /// FT VMs booked before any failure, on every host.
    ft_booked: u64,
    ft_limit: Option<u32>,
}

/// Per-worker buffers of the bound.
#[derive(Default)]
pub(super) struct BoundScratch {
    failed: Vec<u64>,
    stranded: Vec<u32>,
    costs: Vec<(u128, u128)>,
    doubtful: Vec<u32>,
    /// Usable hosts with at least the water level unreserved.
    high: Vec<u64>,
}

fn any(words: impl Iterator<Item = u64>) -> bool {
    words.into_iter().any(|w| w != 0)
}

impl Bound {
    pub(super) fn new(planner: &Planner<'_>, sets: &StaticHostSets) -> Bound {
        let (inv, index, base) = (planner.inv, &planner.index, &planner.base);
        let hosts = inv.hosts.len();
        let words = sets.words;
        let mut usable = vec![0u64; words];
        for &h in &planner.preference {
            usable[h as usize / 64] |= 1 << (h % 64);
        }
        let rows = planner.moving.len();
        let (mut datastore_ok, mut network_ok, mut open) =
            (Vec::with_capacity(rows * words), Vec::with_capacity(rows * words), Vec::with_capacity(rows * words));
        let ft_limit = index.max_ft_vms_per_host();
        let ft_booked: u64 = (0..hosts).map(|h| u64::from(base.ft_vms(h))).sum();
        let moving_ft = planner.moving.iter().filter(|m| index.is_ft(m.vm as usize)).count() as u64;
        // Closed hosts an FT VM may meet in any scenario (the scenario's FT VMs are moving ones).
        let ft_any = match ft_limit {
            None => 0,
            Some(0) => NEVER,
            Some(limit) => ((ft_booked + moving_ft) / u64::from(limit)) as i64,
        };
        let mut slack = Vec::with_capacity(rows);
        let mut anti_affinity = Vec::with_capacity(rows);
        let mut ft = Vec::with_capacity(rows);
        for m in &planner.moving {
            let vm = m.vm as usize;
            let [datastores, networks, all] = sets.staged(inv, index, vm);
            let and_usable = |set: &[u64]| set.iter().zip(&usable).map(|(a, b)| a & b).collect::<Vec<u64>>();
            let open_hosts = and_usable(&all);
            let count: u32 = open_hosts.iter().map(|w| w.count_ones()).sum();
            datastore_ok.extend(and_usable(&datastores));
            network_ok.extend(and_usable(&networks));
            open.extend(open_hosts);
            let members: i64 = if m.anti_affinity {
                index
                    .rules
                    .anti_affinity_groups(vm)
                    .iter()
                    .map(|&g| index.rules.anti_affinity_members(g as usize).len() as i64 - 1)
                    .sum()
            } else {
                0
            };
            let is_ft = index.is_ft(vm) && ft_limit.is_some();
            slack.push(i64::from(count) - members - if is_ft { ft_any } else { 0 });
            anti_affinity.push(members);
            ft.push(is_ft);
        }
        let mut by_slack = vec![Vec::new(); hosts];
        let mut load = vec![HostLoad::default(); hosts];
        for h in 0..hosts {
            let rows = &planner.restartable[h];
            let mut sorted = rows.clone();
            sorted.sort_by_key(|&row| (slack[row as usize], row));
            by_slack[h] = sorted;
            let l = &mut load[h];
            for &row in rows {
                let need = planner.moving[row as usize].need;
                l.memory += u128::from(need.memory_mb);
                l.cpu += u128::from(need.cpu_mhz);
                l.largest =
                    Resources::new(l.largest.cpu_mhz.max(need.cpu_mhz), l.largest.memory_mb.max(need.memory_mb));
                l.ft_vms += u64::from(index.is_ft(row_vm(planner, row)));
            }
        }
        let soft_memory = (0..hosts)
            .map(|h| {
                let rows = planner.restartable[h].iter().map(|&row| &planner.moving[row as usize]);
                rows.filter(|m| m.soft_rules).map(|m| u128::from(m.need.memory_mb)).sum()
            })
            .collect();
        let mut unreserved = vec![Resources::default(); hosts];
        for &h in &planner.preference {
            unreserved[h as usize] = base.unreserved(h as usize);
        }
        let total_memory = unreserved.iter().map(|r| u128::from(r.memory_mb)).sum();
        let total_cpu = unreserved.iter().map(|r| u128::from(r.cpu_mhz)).sum();
        let free_memory = Sorted::new(planner.preference.iter().map(|&h| unreserved[h as usize].memory_mb).collect());
        let free_cpu = Sorted::new(planner.preference.iter().map(|&h| unreserved[h as usize].cpu_mhz).collect());
        Bound {
            words,
            usable,
            datastore_ok,
            network_ok,
            open,
            slack,
            anti_affinity,
            ft,
            moving_need: planner.moving.iter().map(|m| m.need).collect(),
            soft: planner.moving.iter().map(|m| m.soft_rules).collect(),
            soft_memory,
            by_slack,
            load,
            unreserved,
            total_memory,
            total_cpu,
            free_memory,
            free_cpu,
            ft_booked,
            ft_limit,
        }
    }

    fn row_words<'s>(&self, sets: &'s [u64], row: u32) -> &'s [u64] {
        &sets[row as usize * self.words..(row as usize + 1) * self.words]
    }

    /// The scenario's result when the bound proves it (see the module documentation), else
    /// `None`: the scenario must be planned VM by VM.
    pub(super) fn try_scenario(
        &self,
        planner: &Planner<'_>,
        failed: &[u32],
        scratch: &mut BoundScratch,
        unplaced_vms_limit: usize,
    ) -> Option<ScenarioResult> {
        let mut total = HostLoad::default();
        let mut vms = 0usize;
        scratch.failed.clear();
        scratch.failed.resize(self.words, 0);
        for &h in failed {
            let l = &self.load[h as usize];
            total.memory += l.memory;
            total.cpu += l.cpu;
            total.largest = Resources::new(
                total.largest.cpu_mhz.max(l.largest.cpu_mhz),
                total.largest.memory_mb.max(l.largest.memory_mb),
            );
            total.ft_vms += l.ft_vms;
            vms += planner.restartable[h as usize].len();
            scratch.failed[h as usize / 64] |= 1 << (h % 64);
        }
        let closable_cpu = self.free_cpu.closable(total.largest.cpu_mhz, total.cpu) as i64;
        let closable = self.free_memory.closable(total.largest.memory_mb, total.memory) as i64 + closable_cpu;
        let ft_closed = match self.ft_limit {
            None => 0,
            Some(0) => NEVER,
            Some(limit) => ((self.ft_booked + total.ft_vms) / u64::from(limit)) as i64,
        };
        let failed_count = failed.len() as i64;
        scratch.stranded.clear();
        scratch.doubtful.clear();
        for &h in failed {
            for &row in &self.by_slack[h as usize] {
                let r = row as usize;
                if self.slack[r] - failed_count > closable {
                    break; // so are the rest of this host's rows
                }
                let open: i64 = self
                    .row_words(&self.open, row)
                    .iter()
                    .zip(&scratch.failed)
                    .map(|(o, f)| i64::from((o & !f).count_ones()))
                    .sum();
                if open == 0 {
                    scratch.stranded.push(row);
                    continue;
                }
                let free_closures = self.anti_affinity[r] + if self.ft[r] { ft_closed } else { 0 };
                if open <= closable + free_closures {
                    let need = self.moving_need[r];
                    let budgets = (total.memory - u128::from(need.memory_mb), total.cpu - u128::from(need.cpu_mhz));
                    if !self.cannot_close_all(
                        row,
                        &scratch.failed,
                        &mut scratch.costs,
                        u64::MAX,
                        budgets,
                        free_closures,
                    ) {
                        scratch.doubtful.push(row);
                    }
                }
            }
        }
        if !scratch.doubtful.is_empty() && !self.water_level(planner, failed, scratch, &total, closable_cpu, ft_closed)
        {
            return None;
        }
        let stranded = &mut scratch.stranded;
        if !stranded.is_empty() && planner.drs_assists {
            return None;
        }
        if stranded.len() > 1 && planner.depends_across(failed) {
            return None;
        }
        stranded.sort_unstable();
        let mut placed_memory = total.memory;
        let mut placed_cpu = total.cpu;
        let mut unplaced_vms = Vec::with_capacity(stranded.len().min(unplaced_vms_limit));
        for &row in stranded.iter() {
            let moving = &planner.moving[row as usize];
            placed_memory -= u128::from(moving.need.memory_mb);
            placed_cpu -= u128::from(moving.need.cpu_mhz);
            if unplaced_vms.len() < unplaced_vms_limit {
                unplaced_vms.push(UnplacedVm { vm: moving.vm, reason: self.stranded_reason(row, &scratch.failed) });
            }
        }
        let (mut memory, mut cpu) = (self.total_memory, self.total_cpu);
        for &h in failed {
            memory -= u128::from(self.unreserved[h as usize].memory_mb);
            cpu -= u128::from(self.unreserved[h as usize].cpu_mhz);
        }
        let saturate = |x: u128| u64::try_from(x).unwrap_or(u64::MAX);
        Some(ScenarioResult {
            failed_hosts: failed.to_vec(),
            failed_units: Vec::new(),
            restarted: (vms - stranded.len()) as u32,
            unplaced: stranded.len() as u32,
            unplaced_vms,
            capacity_left: Resources::new(saturate(cpu - placed_cpu), saturate(memory - placed_memory)),
        })
    }

    /// The VM of `row` keeps an open surviving host: closing all of them, one by one, costs
    /// more than the scenario's VMs placed before it reserve (`total` minus its own need),
    /// even split at will between memory and CPU — a fractional knapsack, so an upper bound on
    /// what any placement can do — with `free_closures` hosts closed for nothing besides
    /// (anti-affinity, FT), each counted as the most expensive host in both resources.
    fn cannot_close_all(
        &self,
        row: u32,
        failed: &[u64],
        costs: &mut Vec<(u128, u128)>,
        memory_cap: u64,
        (memory_budget, cpu_budget): (u128, u128),
        free_closures: i64,
    ) -> bool {
        let Ok(free_closures) = u128::try_from(free_closures) else { return false };
        if free_closures >= u128::from(u32::MAX) {
            return false;
        }
        let need = self.moving_need[row as usize];
        costs.clear();
        for (w, (&o, &f)) in self.row_words(&self.open, row).iter().zip(failed).enumerate() {
            let mut bits = o & !f;
            while bits != 0 {
                let h = w * 64 + bits.trailing_zeros() as usize;
                bits &= bits - 1;
                let free = self.unreserved[h];
                let free = Resources::new(free.cpu_mhz, free.memory_mb.min(memory_cap));
                // What the scenario must put on h to leave less than the VM needs.
                let cost = |free: u64, need: u64| u128::from(free.saturating_sub(need)) + u128::from(free >= need);
                costs.push((cost(free.memory_mb, need.memory_mb), cost(free.cpu_mhz, need.cpu_mhz)));
            }
        }
        let most_memory = costs.iter().map(|c| c.0).max().unwrap_or(0);
        let most_cpu = costs.iter().map(|c| c.1).max().unwrap_or(0);
        let memory_budget = memory_budget + free_closures * most_memory;
        let mut cpu_budget = cpu_budget + free_closures * most_cpu;
        // Close by CPU the hosts whose memory cost per unit of CPU cost is highest, fractionally.
        costs.sort_unstable_by(|a, b| (b.0 * a.1).cmp(&(a.0 * b.1)));
        let mut memory_needed: u128 = costs.iter().map(|c| c.0).sum();
        for &(memory, cpu) in costs.iter() {
            if cpu <= cpu_budget {
                cpu_budget -= cpu;
                memory_needed -= memory;
            } else {
                // Part of this host by CPU: memory_needed − memory × cpu_budget / cpu, rounded
                // in the adversary's favour.
                memory_needed -= (memory * cpu_budget).div_ceil(cpu);
                break;
            }
        }
        memory_needed > memory_budget
    }

    /// The second argument (module documentation, "water level"), for the `doubtful` rows the
    /// first could not clear. With `T` = 2 m*, a VM placed by R-PLACE-3's plain rule (most
    /// unreserved memory first: no dedicated failover hosts, no soft rules) that has an
    /// accepting host with at least `T` free goes to a host with at least `T` free, so such
    /// placements never take a host below `T − m* = m*`. Every VM for which that cannot be
    /// shown ("loose": soft rules, or too few open hosts certainly above `T`) is charged to a
    /// memory budget of its own; a doubtful VM then keeps a host when closing all its open
    /// hosts — for memory from that budget alone, each host starting from at most m*, or for
    /// CPU from the whole scenario's — is out of reach.
    fn water_level(
        &self,
        planner: &Planner<'_>,
        failed: &[u32],
        scratch: &mut BoundScratch,
        total: &HostLoad,
        closable_cpu: i64,
        ft_closed: i64,
    ) -> bool {
        if planner.has_failover_hosts {
            return false;
        }
        let largest = total.largest.memory_mb;
        let level = largest.saturating_mul(2);
        // What a host keeps at least after the plain placements: min(unreserved, level − m*).
        let cap = level - largest;
        // Usable hosts below the level from the start, and the most that can drop below it.
        let below = self.free_memory.values.partition_point(|&v| v < level);
        let dropped = (self.free_memory.closable(level, total.memory) - below) as i64;
        scratch.high.clear();
        scratch.high.resize(self.words, 0);
        for &h in &planner.preference {
            if self.unreserved[h as usize].memory_mb >= level {
                scratch.high[h as usize / 64] |= 1 << (h % 64);
            }
        }
        let failed_count = failed.len() as i64;
        let mut loose: u128 = 0;
        for &h in failed {
            loose += self.soft_memory[h as usize];
            for &row in &self.by_slack[h as usize] {
                let r = row as usize;
                if self.soft[r] {
                    continue; // in `soft_memory`
                }
                if self.slack[r] - failed_count - below as i64 - dropped > closable_cpu {
                    break; // open hosts certainly above the level outnumber those closed to it
                }
                let above: i64 = self
                    .row_words(&self.open, row)
                    .iter()
                    .zip(&scratch.failed)
                    .zip(&scratch.high)
                    .map(|((o, f), hi)| i64::from((o & !f & hi).count_ones()))
                    .sum();
                let closed = closable_cpu + self.anti_affinity[r] + if self.ft[r] { ft_closed } else { 0 };
                if above - dropped <= closed {
                    loose += u128::from(self.moving_need[r].memory_mb);
                }
            }
        }
        let doubtful = std::mem::take(&mut scratch.doubtful);
        let kept = doubtful.iter().all(|&row| {
            let r = row as usize;
            let need = self.moving_need[r];
            let free_closures = self.anti_affinity[r] + if self.ft[r] { ft_closed } else { 0 };
            let budgets = (loose, total.cpu - u128::from(need.cpu_mhz));
            self.cannot_close_all(row, &scratch.failed, &mut scratch.costs, cap, budgets, free_closures)
        });
        scratch.doubtful = doubtful;
        kept
    }

    /// The engine's reason for a VM no surviving usable host passes the static checks for: the
    /// deepest refusal over the hosts (R-PLACE-2's order: usable, datastores, networks, rules).
    fn stranded_reason(&self, row: u32, failed: &[u64]) -> UnplacedReason {
        let surviving = |set: &[u64]| any(self.row_words(set, row).iter().zip(failed).map(|(s, f)| s & !f));
        if surviving(&self.network_ok) {
            UnplacedReason::VmHostRule
        } else if surviving(&self.datastore_ok) {
            UnplacedReason::NoCompatibleHost
        } else if any(self.usable.iter().zip(failed).map(|(u, f)| u & !f)) {
            UnplacedReason::DatastoreInaccessible
        } else {
            UnplacedReason::NoCompatibleHost
        }
    }
}

fn row_vm(planner: &Planner<'_>, row: u32) -> usize {
    planner.moving[row as usize].vm as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closable_counts_the_cheapest_hosts() {
        // Unreserved 10, 20, 30, 40; largest need 15: host 10 is closed already (free), then
        // closing 20 costs 6, 30 costs 16, 40 costs 26.
        let sorted = Sorted::new(vec![40, 10, 30, 20]);
        assert_eq!(sorted.closable(15, 0), 1);
        assert_eq!(sorted.closable(15, 5), 1);
        assert_eq!(sorted.closable(15, 6), 2);
        assert_eq!(sorted.closable(15, 21), 2);
        assert_eq!(sorted.closable(15, 22), 3);
        assert_eq!(sorted.closable(15, 48), 4);
        assert_eq!(sorted.closable(0, 10), 0, "nothing is below 0; closing 10 costs 11");
        assert_eq!(sorted.closable(0, 11), 1);
        assert_eq!(sorted.closable(100, 0), 4);
        assert_eq!(Sorted::new(vec![]).closable(5, 100), 0);
    }
}
