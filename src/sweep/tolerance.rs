//! The exact number of failures a cluster tolerates (`failures_tolerated`), with the pruning
//! rule of the rule book (docs/rules/sweep.rst, "Failures tolerated").
//!
//! The answer is the largest j ≤ k such that every combination of at most j failed units
//! restarts every VM HA attempts — [`SweepResult::max_failures_tolerated`] of the exhaustive
//! sweep. Levels 1, 2, … are evaluated in order; as soon as one scenario of level j leaves a VM
//! unplaced the answer is j − 1, so the rest of level j and every higher level are skipped: none
//! of them can change it (the answer is already below their failure count, and lower levels were
//! evaluated whole).
//!
//! Determinism: a level is cut into contiguous chunks, which the workers claim in enumeration
//! order; a chunk stops at its first failing scenario, and a scenario is skipped only when a
//! failing scenario of smaller rank is already known. The chunk holding the level's first failing scenario (in enumeration
//! order) therefore always reaches it, and the smallest failing rank is reported — the same
//! `tolerated` and `first_failure` whatever the thread count. Only `scenarios_evaluated` (the
//! work done) depends on timing when the deciding level is cut short.
//!
//! [`SweepResult::max_failures_tolerated`]: super::SweepResult::max_failures_tolerated

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;

use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::model::Inventory;

use super::planner::{Planner, Scratch};
use super::space::Space;
use super::CHUNK;
use super::{
    build_pool, check_threads, failing_units, global_pool_started, FailureUnit, ScenarioResult, SweepOptions, Units,
};

/// The answer of [`failures_tolerated`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tolerance {
    /// The largest j ≤ `max_failures` such that every combination of at most j failed units
    /// restarts every VM HA attempts. When `complete` is false (cancelled), a lower bound.
    pub tolerated: usize,
    /// The k asked for.
    pub max_failures: usize,
    pub unit: FailureUnit,
    /// The units that may fail (names and hosts), as in a sweep.
    pub units: Units,
    pub candidate_hosts: Vec<u32>,
    /// Scenarios planned (the pruned ones are not).
    pub scenarios_evaluated: u64,
    /// Scenarios of the exhaustive sweep up to `max_failures`.
    pub scenarios_total: u64,
    /// The deciding scenario: the first failing combination (enumeration order) of level
    /// `tolerated + 1`, with its unplaced VMs; `None` when every level up to k passes.
    pub first_failure: Option<ScenarioResult>,
    /// False when stopped (progress returned false or `cancel` set) before the answer was known.
    pub complete: bool,
}

impl Tolerance {
    /// The failed units' names of `first_failure` (host ids for a host sweep).
    pub fn failed_unit_names(&self) -> Vec<&str> {
        let Some(scenario) = &self.first_failure else { return Vec::new() };
        if self.units.names.is_empty() {
            return Vec::new();
        }
        scenario.failed_units.iter().filter_map(|&u| self.units.names.get(u as usize).map(String::as_str)).collect()
    }
}

/// The exact failures tolerated up to `options.max_failures` (see the module documentation).
/// Uses `hosts`, `threads`, `unit`, `unplaced_vms_limit` (for `first_failure`), `progress`
/// (`done` = scenarios evaluated, `total` = the exhaustive count, an upper bound) and `cancel`
/// of `options`; a `shard`, `sample` or worst-N retention is an error (the answer needs every
/// scenario up to the deciding one).
pub fn failures_tolerated(inv: &Inventory, options: &SweepOptions<'_>) -> Result<Tolerance> {
    if options.shard.is_some() || options.sample.is_some() {
        return Err(Error::Argument(
            "failures tolerated: a shard or a sample cannot give the exact answer; use sweep".to_string(),
        ));
    }
    let (candidates, units) = failing_units(inv, options)?;
    let max_failures = options.max_failures;
    check_threads(options)?;
    let space = Space::new(units.len(), max_failures)?;
    let workers = options.threads.unwrap_or_else(rayon::current_num_threads).max(1);
    let needed = crate::placement::PlacementIndex::estimated_bytes(inv).saturating_mul(workers.saturating_add(2));
    crate::mem::ensure_headroom(needed, "finding the failures tolerated")?;
    let planner = Planner::new(inv, &candidates);
    let search = Search {
        planner: &planner,
        space: &space,
        units: &units,
        options,
        limit: options.unplaced_vms_limit.unwrap_or(usize::MAX),
        done: Mutex::new(0),
        stop: AtomicBool::new(false),
    };

    let mut tolerance = Tolerance {
        tolerated: 0,
        max_failures,
        unit: options.unit,
        units: units.clone(),
        candidate_hosts: candidates.clone(),
        scenarios_evaluated: 0,
        scenarios_total: space.len(),
        first_failure: None,
        complete: true,
    };
    let run_level = |level: usize, parallel: bool| search.level(level, parallel);
    for level in 1..=max_failures {
        let outcome = in_pool(options.threads, space.level_len(level), |parallel| run_level(level, parallel));
        tolerance.scenarios_evaluated += outcome.evaluated;
        if let Some((_, scenario)) = outcome.failure {
            // Lower levels were evaluated whole: the answer is exact even if stopped.
            tolerance.first_failure = Some(scenario);
            tolerance.complete = !outcome.stopped;
            return Ok(tolerance);
        }
        if outcome.stopped {
            tolerance.complete = false;
            return Ok(tolerance);
        }
        tolerance.tolerated = level;
    }
    Ok(tolerance)
}

/// Runs `f(parallel)` in a pool of `threads` workers (`None`: rayon's global pool), falling back
/// to fewer threads and finally to the calling thread alone (`parallel` false) when the OS
/// refuses threads, as the sweep does.
fn in_pool<R: Send>(threads: Option<usize>, scenarios: u64, f: impl Fn(bool) -> R + Sync + Send) -> R {
    if threads.is_none() && global_pool_started() {
        return f(true);
    }
    let default = || std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    let mut want = threads.unwrap_or_else(default).min(usize::try_from(scenarios).unwrap_or(usize::MAX)).max(1);
    loop {
        if want == 1 {
            return f(false);
        }
        if let Ok(pool) = build_pool(want, None) {
            return pool.install(|| f(true));
        }
        want /= 2;
    }
}

struct Search<'s, 'a> {
    planner: &'s Planner<'a>,
    space: &'s Space,
    units: &'s Units,
    options: &'s SweepOptions<'s>,
    limit: usize,
    /// Scenarios evaluated so far, for progress (one call at a time).
    done: Mutex<u64>,
    /// Progress asked for a stop (kept across levels).
    stop: AtomicBool,
}

/// What one level (or one chunk of it) found.
#[derive(Default)]
struct Outcome {
    evaluated: u64,
    /// The failing scenario of smallest rank seen, with its rank.
    failure: Option<(u64, ScenarioResult)>,
    /// Some chunk was not evaluated because of a stop request.
    stopped: bool,
}

impl Outcome {
    fn combine(mut self, other: Outcome) -> Outcome {
        self.evaluated += other.evaluated;
        self.stopped |= other.stopped;
        self.failure = match (self.failure, other.failure) {
            (Some(a), Some(b)) => Some(if a.0 <= b.0 { a } else { b }),
            (a, b) => a.or(b),
        };
        self
    }
}

impl Search<'_, '_> {
    fn stop_requested(&self) -> bool {
        self.stop.load(Ordering::Relaxed) || self.options.cancel.is_some_and(|c| c.load(Ordering::Relaxed))
    }

    /// Evaluates level `level` until its first failing scenario (enumeration order).
    fn level(&self, level: usize, parallel: bool) -> Outcome {
        let start = self.space.level_start(level);
        let total = self.space.level_len(level);
        let end = start + total;
        let found = AtomicU64::new(u64::MAX);
        if !parallel {
            let mut scratch = self.planner.scratch();
            let mut all = Outcome::default();
            let mut from = start;
            while from < end && all.failure.is_none() {
                if self.stop_requested() {
                    all.stopped = true;
                    break;
                }
                let to = (from + CHUNK).min(end);
                all = all.combine(self.chunk(from, to, &found, &mut scratch));
                from = to;
            }
            return all;
        }
        // Workers claim chunks in enumeration order (a shared counter, not rayon's halving
        // split): when a failure is found, no worker is more than one chunk beyond it, so the
        // scenarios after it are skipped.
        let workers = rayon::current_num_threads();
        let chunk = (total / (workers as u64 * 8)).clamp(1, CHUNK);
        let chunks = total.div_ceil(chunk);
        let next = AtomicU64::new(0);
        (0..workers)
            .into_par_iter()
            .map(|_| {
                let mut scratch = self.planner.scratch();
                let mut outcome = Outcome::default();
                loop {
                    let c = next.fetch_add(1, Ordering::Relaxed);
                    let from = start + c * chunk;
                    if c >= chunks || from > found.load(Ordering::Relaxed) {
                        break; // done, or pruned: a failure of smaller rank is known
                    }
                    if self.stop_requested() {
                        outcome.stopped = true;
                        break;
                    }
                    let to = (from + chunk).min(end);
                    outcome = outcome.combine(self.chunk(from, to, &found, &mut scratch));
                }
                outcome
            })
            .reduce(Outcome::default, Outcome::combine)
    }

    /// Ranks `from..to`, up to the first failing one or a known failure of smaller rank.
    fn chunk(&self, from: u64, to: u64, found: &AtomicU64, scratch: &mut Scratch) -> Outcome {
        let mut outcome = Outcome::default();
        let mut combo = Vec::new();
        let mut failed = Vec::new();
        for rank in from..to {
            if rank > found.load(Ordering::Relaxed) {
                break;
            }
            if rank == from {
                self.space.unrank(rank, &mut combo);
            } else {
                self.space.advance(&mut combo);
            }
            self.units.expand(&combo, &mut failed);
            let mut scenario = self.planner.evaluate(&failed, scratch, self.limit);
            outcome.evaluated += 1;
            if !scenario.fully_restarted() {
                scenario.failed_units.clone_from(&combo);
                found.fetch_min(rank, Ordering::Relaxed);
                outcome.failure = Some((rank, scenario));
                break;
            }
        }
        if let Some(progress) = self.options.progress {
            let mut done = self.done.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            *done += outcome.evaluated;
            if !progress(*done, self.space.len()) {
                self.stop.store(true, Ordering::Relaxed);
            }
        }
        outcome
    }
}
