//! What a sweep returns: compact per-scenario records, per-failure-count summaries, and the
//! bookkeeping that lets shards of one sweep be merged (and checked) in any order.

use std::cmp::Ordering;

use serde_json::{json, Value};

use crate::capacity::Resources;
use crate::error::{Error, Result};
use crate::model::Inventory;
use crate::placement::UnplacedReason;

use super::units::{FailureUnit, Units};

/// Which scenario records a sweep keeps. The per-failure-count summaries and
/// [`SweepResult::max_failures_tolerated`] are exact either way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Retain {
    /// Every scenario evaluated (a 3-host sweep of 96 hosts: 147,536 compact records).
    #[default]
    All,
    /// Only the `n` worst (see [`SweepResult::worst`]): memory independent of the sweep's size.
    Worst(usize),
}

/// A VM HA cannot restart in one scenario, and why (the engine's reason, R-PLACE-2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct UnplacedVm {
    /// Index into `inv.vms`.
    pub vm: u32,
    pub reason: UnplacedReason,
}

/// One failure scenario, compactly: what `plan_failover` would say, reduced to counts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScenarioResult {
    /// Indices into `inv.hosts`, ascending: every host of the failed units.
    pub failed_hosts: Vec<u32>,
    /// The failed units: positions in the sweep's [`Units`], ascending (for `unit = host`, the
    /// positions of the failed hosts among the candidate hosts).
    pub failed_units: Vec<u32>,
    /// VMs of the failed hosts placed on a surviving host.
    pub restarted: u32,
    /// VMs HA attempts but cannot place (all of them counted, even beyond the listing limit).
    pub unplaced: u32,
    /// The unplaced VMs in restart order, at most `SweepOptions::unplaced_vms_limit` of them.
    pub unplaced_vms: Vec<UnplacedVm>,
    /// Unreserved CPU and memory left on the surviving usable hosts after the restarts.
    pub capacity_left: Resources,
}

impl ScenarioResult {
    /// Number of failed units (hosts, fault domains or sites).
    pub fn failures(&self) -> usize {
        self.failed_units.len()
    }

    /// Every VM HA attempts is restarted.
    pub fn fully_restarted(&self) -> bool {
        self.unplaced == 0
    }

    /// The failed hosts' ids (the inventory the sweep ran on; indices it lacks are skipped).
    pub fn failed_host_ids<'a>(&self, inv: &'a Inventory) -> Vec<&'a str> {
        self.failed_hosts.iter().filter_map(|&h| inv.hosts.get(h as usize)).map(|h| h.id.as_str()).collect()
    }

    /// The listed unplaced VMs' ids with their reasons.
    pub fn unplaced_vm_ids<'a>(&self, inv: &'a Inventory) -> Vec<(&'a str, UnplacedReason)> {
        self.unplaced_vms.iter().filter_map(|u| inv.vms.get(u.vm as usize).map(|v| (v.id.as_str(), u.reason))).collect()
    }
}

/// Results order: by failure count, then failed unit positions (lexicographically) — the
/// enumeration order (for `unit = host`: failed host indices).
pub(crate) fn scenario_order(a: &ScenarioResult, b: &ScenarioResult) -> Ordering {
    a.failed_units.len().cmp(&b.failed_units.len()).then_with(|| a.failed_units.cmp(&b.failed_units))
}

/// [`SweepResult::worst`] order: most unplaced first, then the enumeration order.
pub(crate) fn worse_first(a: &ScenarioResult, b: &ScenarioResult) -> Ordering {
    b.unplaced.cmp(&a.unplaced).then_with(|| scenario_order(a, b))
}

/// The scenarios of one failure count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LevelSummary {
    /// Failed hosts per scenario (k).
    pub failures: usize,
    /// k-host combinations of the candidate hosts: the whole level, evaluated or not.
    pub combinations: u64,
    /// Scenarios of this level evaluated.
    pub evaluated: u64,
    /// Evaluated scenarios in which every VM HA attempts is restarted.
    pub fully_restarted: u64,
    /// Most VMs left unplaced by one evaluated scenario.
    pub worst_unplaced: u32,
    /// Unplaced VMs summed over the evaluated scenarios.
    pub unplaced_total: u64,
}

impl LevelSummary {
    pub(crate) fn empty(failures: usize, combinations: u64) -> LevelSummary {
        LevelSummary { failures, combinations, evaluated: 0, fully_restarted: 0, worst_unplaced: 0, unplaced_total: 0 }
    }

    pub(crate) fn count(&mut self, scenario: &ScenarioResult) {
        self.evaluated += 1;
        self.fully_restarted += u64::from(scenario.fully_restarted());
        self.worst_unplaced = self.worst_unplaced.max(scenario.unplaced);
        self.unplaced_total += u64::from(scenario.unplaced);
    }

    pub(crate) fn absorb(&mut self, other: &LevelSummary) {
        self.evaluated += other.evaluated;
        self.fully_restarted += other.fully_restarted;
        self.worst_unplaced = self.worst_unplaced.max(other.worst_unplaced);
        self.unplaced_total += other.unplaced_total;
    }

    /// Every combination of the level evaluated.
    pub fn exhaustive(&self) -> bool {
        self.evaluated == self.combinations
    }
}

/// What identifies one sweep: two results merge only when these are equal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Setup {
    pub inventory_fingerprint: u64,
    pub candidate_hosts: Vec<u32>,
    /// The failure units the candidate hosts form (R-DOMAIN).
    pub units: Units,
    pub max_failures: usize,
    pub sample: Option<(usize, u64)>,
    pub retain: Retain,
    pub unplaced_vms_limit: Option<usize>,
    /// Scenarios of the whole (unsharded) sweep: its positions are `0..space`.
    pub space: u64,
}

/// Half-open position ranges, sorted, disjoint and coalesced.
pub(crate) type Ranges = Vec<(u64, u64)>;

/// Sorts and coalesces; `None` when two ranges overlap.
pub(crate) fn normalize(mut ranges: Ranges) -> Option<Ranges> {
    ranges.retain(|&(a, b)| a < b);
    ranges.sort_unstable();
    let mut out: Ranges = Vec::with_capacity(ranges.len());
    for (a, b) in ranges {
        match out.last_mut() {
            Some(last) if a < last.1 => return None,
            Some(last) if a == last.1 => last.1 = b,
            _ => out.push((a, b)),
        }
    }
    Some(out)
}

/// The answer to "for every combination of up to k failed hosts, does every VM restart, and which
/// combinations hurt most?" — or to a slice (shard) or random sample of that question.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SweepResult {
    pub(crate) setup: Setup,
    /// Positions (in `0..setup.space`) this result was asked to evaluate, and those it did.
    pub(crate) requested: Ranges,
    pub(crate) covered: Ranges,
    pub(crate) per_k: Vec<LevelSummary>,
    /// Sorted by [`scenario_order`]; with [`Retain::Worst`] only the worst.
    pub(crate) results: Vec<ScenarioResult>,
}

impl SweepResult {
    /// Scenarios evaluated.
    pub fn scenarios(&self) -> u64 {
        self.per_k.iter().map(|l| l.evaluated).sum()
    }

    /// One summary per failure count, k = 1..=max_failures.
    pub fn per_k(&self) -> &[LevelSummary] {
        &self.per_k
    }

    /// The largest k (≤ `max_failures`) such that, for every j ≤ k, every j-host combination of
    /// the candidate hosts restarts every VM HA attempts; `Some(0)` when some single failure
    /// already leaves a VM unplaced (k = 0 holds trivially). `Some(max_failures)` means "at
    /// least that many". `None` when the evaluated scenarios cannot decide it: a level below the
    /// first failing one was not evaluated exhaustively (a shard, a sample, a cancelled sweep).
    pub fn max_failures_tolerated(&self) -> Option<usize> {
        for level in &self.per_k {
            if level.fully_restarted < level.evaluated {
                return Some(level.failures - 1);
            }
            if !level.exhaustive() {
                return None;
            }
        }
        Some(self.setup.max_failures)
    }

    /// The scenarios kept (see [`Retain`]), by failure count then failed host indices.
    pub fn results(&self) -> &[ScenarioResult] {
        &self.results
    }

    pub fn into_results(self) -> Vec<ScenarioResult> {
        self.results
    }

    /// The `n` scenarios leaving the most VMs unplaced; ties by failure count, then failed host
    /// indices. With [`Retain::Worst`]`(m)`, exact for `n ≤ m`.
    pub fn worst(&self, n: usize) -> Vec<&ScenarioResult> {
        let mut ranked: Vec<&ScenarioResult> = self.results.iter().collect();
        ranked.sort_by(|a, b| worse_first(a, b));
        ranked.truncate(n);
        ranked
    }

    /// Every scenario this result was asked for was evaluated (false after a cancellation).
    pub fn complete(&self) -> bool {
        self.covered == self.requested
    }

    /// The whole sweep (every shard) is here and complete.
    pub fn covers_whole_sweep(&self) -> bool {
        self.setup.space == 0 || self.covered == [(0, self.setup.space)]
    }

    /// Candidate host indices, ascending: the hosts failure combinations are drawn from.
    pub fn candidate_hosts(&self) -> &[u32] {
        &self.setup.candidate_hosts
    }

    pub fn max_failures(&self) -> usize {
        self.setup.max_failures
    }

    /// What one failure took down (host, fault domain, site).
    pub fn unit(&self) -> FailureUnit {
        self.setup.units.unit
    }

    /// The units failures were drawn from, with their hosts.
    pub fn units(&self) -> &Units {
        &self.setup.units
    }

    /// The names of a scenario's failed units (host ids for `unit = host`).
    pub fn failed_unit_names<'a>(&'a self, scenario: &ScenarioResult) -> Vec<&'a str> {
        scenario
            .failed_units
            .iter()
            .filter_map(|&u| self.setup.units.names.get(u as usize))
            .map(String::as_str)
            .collect()
    }

    /// Scenarios of the whole sweep: every combination, or the sample size.
    pub fn sweep_size(&self) -> u64 {
        self.setup.space
    }

    /// Whether `inv` is the inventory this result was computed from (same fingerprint).
    pub fn matches_inventory(&self, inv: &Inventory) -> bool {
        super::fingerprint(inv) == self.setup.inventory_fingerprint
    }

    /// Combines results of disjoint slices of one sweep (shards, see `SweepOptions::shard`), in
    /// any order: merging every shard gives exactly the unsharded result. Errors when the two
    /// come from different inventories or options, or cover some scenario twice.
    pub fn merge(self, other: SweepResult) -> Result<SweepResult> {
        if self.setup != other.setup {
            return Err(Error::Argument(
                "cannot merge sweep results of different inventories, hosts, max_failures, sample or retain options"
                    .to_string(),
            ));
        }
        let overlap = || Error::Argument("cannot merge sweep results that cover the same scenarios".to_string());
        let requested = normalize([self.requested, other.requested].concat()).ok_or_else(overlap)?;
        let covered = normalize([self.covered, other.covered].concat()).ok_or_else(overlap)?;
        let mut per_k = self.per_k;
        for (mine, theirs) in per_k.iter_mut().zip(&other.per_k) {
            mine.absorb(theirs);
        }
        let mut results = self.results;
        results.extend(other.results);
        let results = retained(results, self.setup.retain);
        Ok(SweepResult { setup: self.setup, requested, covered, per_k, results })
    }

    /// Plain JSON-able data (for files and pickling); [`SweepResult::from_value`] reads it back.
    pub fn to_value(&self) -> Value {
        let s = &self.setup;
        let ranges = |r: &Ranges| r.iter().map(|&(a, b)| json!([a, b])).collect::<Vec<_>>();
        json!({
            "format": FORMAT,
            "inventory_fingerprint": s.inventory_fingerprint,
            "candidate_hosts": s.candidate_hosts,
            "unit": s.units.unit.as_str(),
            "units": s.units.names.iter().zip(&s.units.hosts).map(|(n, h)| json!([n, h])).collect::<Vec<_>>(),
            "max_failures": s.max_failures,
            "sample": s.sample.map(|(size, seed)| json!({"size": size, "seed": seed})),
            "retain": match s.retain { Retain::All => json!("all"), Retain::Worst(n) => json!({"worst": n}) },
            "unplaced_vms_limit": s.unplaced_vms_limit,
            "space": s.space,
            "requested": ranges(&self.requested),
            "covered": ranges(&self.covered),
            "per_k": self.per_k.iter().map(|l| json!({
                "failures": l.failures, "combinations": l.combinations, "evaluated": l.evaluated,
                "fully_restarted": l.fully_restarted, "worst_unplaced": l.worst_unplaced,
                "unplaced_total": l.unplaced_total,
            })).collect::<Vec<_>>(),
            "results": self.results.iter().map(|r| json!({
                "failed_hosts": r.failed_hosts, "failed_units": r.failed_units,
                "restarted": r.restarted, "unplaced": r.unplaced,
                "unplaced_vms": r.unplaced_vms.iter().map(|u| json!([u.vm, u.reason.as_str()])).collect::<Vec<_>>(),
                "capacity_left": [r.capacity_left.cpu_mhz, r.capacity_left.memory_mb],
            })).collect::<Vec<_>>(),
        })
    }

    /// Reads [`SweepResult::to_value`] back; a malformed document is an [`Error::Invalid`] naming
    /// the field.
    pub fn from_value(doc: &Value) -> Result<SweepResult> {
        let format = field(doc, "format", "")?;
        if format.as_str() != Some(FORMAT) {
            return Err(Error::invalid("format", format!("expected '{FORMAT}'")));
        }
        let max_failures = to_usize(field(doc, "max_failures", "")?, "max_failures")?;
        let sample = match field(doc, "sample", "")? {
            Value::Null => None,
            v => Some((
                to_usize(field(v, "size", "sample")?, "sample.size")?,
                to_u64(field(v, "seed", "sample")?, "sample.seed")?,
            )),
        };
        let retain = match field(doc, "retain", "")? {
            Value::String(s) if s == "all" => Retain::All,
            v => Retain::Worst(to_usize(field(v, "worst", "retain")?, "retain.worst")?),
        };
        let unplaced_vms_limit = match field(doc, "unplaced_vms_limit", "")? {
            Value::Null => None,
            v => Some(to_usize(v, "unplaced_vms_limit")?),
        };
        let candidate_hosts = list(field(doc, "candidate_hosts", "")?, "candidate_hosts", to_u32)?;
        // Results written before units existed are host sweeps.
        let unit = match doc.get("unit") {
            None => FailureUnit::Host,
            Some(v) => v
                .as_str()
                .and_then(FailureUnit::parse)
                .ok_or_else(|| Error::invalid("unit", format!("expected one of {}", FailureUnit::allowed())))?,
        };
        let units = match doc.get("units") {
            None => Units { unit, names: Vec::new(), hosts: candidate_hosts.iter().map(|&h| vec![h]).collect() },
            Some(v) => {
                let pairs = list(v, "units", |u, path| match u.as_array().map(Vec::as_slice) {
                    Some([Value::String(name), hosts]) => Ok((name.clone(), list(hosts, path, to_u32)?)),
                    _ => Err(Error::invalid(path, "expected [name, [host, ...]]")),
                })?;
                let (names, hosts) = pairs.into_iter().unzip();
                Units { unit, names, hosts }
            }
        };
        let setup = Setup {
            inventory_fingerprint: to_u64(field(doc, "inventory_fingerprint", "")?, "inventory_fingerprint")?,
            candidate_hosts,
            units,
            max_failures,
            sample,
            retain,
            unplaced_vms_limit,
            space: to_u64(field(doc, "space", "")?, "space")?,
        };
        let ranges = |key: &'static str| -> Result<Ranges> {
            let raw = list(field(doc, key, "")?, key, |v, path| {
                let pair = list(v, path, to_u64)?;
                match pair[..] {
                    [a, b] if a <= b && b <= setup.space => Ok((a, b)),
                    _ => Err(Error::invalid(path, "expected [start, end] within the sweep")),
                }
            })?;
            normalize(raw).ok_or_else(|| Error::invalid(key, "overlapping ranges"))
        };
        let (requested, covered) = (ranges("requested")?, ranges("covered")?);
        let per_k = list(field(doc, "per_k", "")?, "per_k", |v, path| {
            let n = |key: &str| to_u64(field(v, key, path)?, &format!("{path}.{key}"));
            Ok(LevelSummary {
                failures: n("failures")? as usize,
                combinations: n("combinations")?,
                evaluated: n("evaluated")?,
                fully_restarted: n("fully_restarted")?,
                worst_unplaced: to_u32(field(v, "worst_unplaced", path)?, &format!("{path}.worst_unplaced"))?,
                unplaced_total: n("unplaced_total")?,
            })
        })?;
        if per_k.len() != max_failures || per_k.iter().enumerate().any(|(i, l)| l.failures != i + 1) {
            return Err(Error::invalid("per_k", "expected one summary per failure count 1..=max_failures"));
        }
        let results = list(field(doc, "results", "")?, "results", |v, path| {
            let capacity = list(field(v, "capacity_left", path)?, &format!("{path}.capacity_left"), to_u64)?;
            let [cpu_mhz, memory_mb] = capacity[..] else {
                return Err(Error::invalid(format!("{path}.capacity_left"), "expected [cpu_mhz, memory_mb]"));
            };
            let failed_hosts = list(field(v, "failed_hosts", path)?, &format!("{path}.failed_hosts"), to_u32)?;
            let failed_units = match v.get("failed_units") {
                Some(u) => list(u, &format!("{path}.failed_units"), to_u32)?,
                // A host sweep: the failed hosts' positions among the candidates.
                None => failed_hosts
                    .iter()
                    .map(|h| {
                        setup.candidate_hosts.binary_search(h).map(|p| p as u32).map_err(|_| {
                            Error::invalid(format!("{path}.failed_hosts"), format!("host {h} is no candidate host"))
                        })
                    })
                    .collect::<Result<_>>()?,
            };
            Ok(ScenarioResult {
                failed_hosts,
                failed_units,
                restarted: to_u32(field(v, "restarted", path)?, &format!("{path}.restarted"))?,
                unplaced: to_u32(field(v, "unplaced", path)?, &format!("{path}.unplaced"))?,
                unplaced_vms: list(
                    field(v, "unplaced_vms", path)?,
                    &format!("{path}.unplaced_vms"),
                    |u, upath| match u.as_array().map(Vec::as_slice) {
                        Some([vm, Value::String(reason)]) => Ok(UnplacedVm {
                            vm: to_u32(vm, upath)?,
                            reason: UnplacedReason::parse(reason)
                                .ok_or_else(|| Error::invalid(upath, format!("unknown reason '{reason}'")))?,
                        }),
                        _ => Err(Error::invalid(upath, "expected [vm, reason]")),
                    },
                )?,
                capacity_left: Resources::new(cpu_mhz, memory_mb),
            })
        })?;
        let results = retained(results, setup.retain);
        Ok(SweepResult { setup, requested, covered, per_k, results })
    }
}

const FORMAT: &str = "hapolicy.sweep/1";

/// Applies the retain policy and the results order.
pub(crate) fn retained(mut results: Vec<ScenarioResult>, retain: Retain) -> Vec<ScenarioResult> {
    if let Retain::Worst(n) = retain {
        keep_worst(&mut results, n);
    }
    if !results.is_sorted_by(|a, b| scenario_order(a, b).is_le()) {
        results.sort_by(scenario_order);
    }
    results
}

/// Keeps the `n` worst scenarios (in [`worse_first`] order).
pub(crate) fn keep_worst(results: &mut Vec<ScenarioResult>, n: usize) {
    if results.len() > n {
        results.select_nth_unstable_by(n, worse_first);
        results.truncate(n);
    }
}

fn field<'a>(v: &'a Value, key: &str, parent: &str) -> Result<&'a Value> {
    let path = if parent.is_empty() { key.to_string() } else { format!("{parent}.{key}") };
    v.get(key).ok_or_else(|| Error::invalid(path, "missing"))
}

fn to_u64(v: &Value, path: &str) -> Result<u64> {
    v.as_u64().ok_or_else(|| Error::invalid(path, "expected a non-negative integer"))
}

fn to_u32(v: &Value, path: &str) -> Result<u32> {
    to_u64(v, path).and_then(|n| u32::try_from(n).map_err(|_| Error::invalid(path, "too large")))
}

fn to_usize(v: &Value, path: &str) -> Result<usize> {
    to_u64(v, path).and_then(|n| usize::try_from(n).map_err(|_| Error::invalid(path, "too large")))
}

fn list<T>(v: &Value, path: &str, item: impl Fn(&Value, &str) -> Result<T>) -> Result<Vec<T>> {
    let items = v.as_array().ok_or_else(|| Error::invalid(path, "expected a list"))?;
    items.iter().enumerate().map(|(i, x)| item(x, &format!("{path}[{i}]"))).collect()
}
