//! What-if sweeps (docs/api.rst, What-if sweeps): plan every combination of 1..=k failed hosts with
//! the placement engine (R-PLACE) and answer "does every VM HA attempts restart, and which
//! combinations hurt most?" — in parallel, in shards that merge, or on a random sample.
//!
//! # Scenarios
//!
//! The candidate hosts are `SweepOptions::hosts` (default: every usable host — connected, not in
//! maintenance or standby), taken in host index order (their position in `inv.hosts`). The
//! scenarios are every combination of 1..=`max_failures` of them, **ranked** by failure count,
//! then lexicographically by host index: `[0] [1] … [0,1] [0,2] … [1,2] …`. Results are listed in
//! that order, whatever the thread count or shard split.
//!
//! With `SweepOptions::unit` = fault domain or site (R-DOMAIN), the candidates are first grouped
//! into units ([`Units`]: ordered by their first host) and the combinations are of units; each
//! scenario expands its units to their candidate hosts, ascending, and is planned exactly like a
//! host scenario (one planner for every unit). `max_failures` counts units; each result records
//! its `failed_units` beside the expanded `failed_hosts`.
//!
//! A scenario is `plan_failover(inv, failed, [])` reduced to counts: the VMs HA restarts from the
//! failed hosts ([`crate::placement::restart_exclusion`], the selection `plan_failover` uses),
//! how many are placed, which are not and why (in restart order), and the unreserved capacity
//! left on the surviving usable hosts. See `planner` for how scenarios share their work.
//!
//! # Slices, samples, cancellation
//!
//! * `shard = (i, n)`: the i-th of n contiguous slices of the ranks (sizes differ by at most
//!   one scenario). [`SweepResult::merge`] combines slices in any order into exactly the
//!   unsharded result.
//! * `sample = (size, seed)`: `size` distinct scenarios drawn uniformly from the whole space
//!   (Floyd's algorithm over splitmix64; the same seed gives the same scenarios on every
//!   machine), evaluated in rank order — a subset of the exhaustive sweep. Shards split the
//!   sample.
//! * `progress(done, total)` is called after each chunk of at most 256 scenarios, one call at a
//!   time, with `done` increasing up to `total` (the scenarios of this call); returning false
//!   stops the sweep, as does setting `cancel`. Chunks under way finish (a few milliseconds);
//!   the result then holds the finished chunks and [`SweepResult::complete`] is false.
//!
//! # Determinism
//!
//! Every figure is an integer count, sum, maximum or a record; chunks are combined into sorted
//! order, and the worst-N selection is by a total order — so results are identical for any
//! thread count, chunking and shard split.

mod bound;
mod planner;
mod result;
mod space;
mod tolerance;
mod units;

use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::model::Inventory;

use planner::{Planner, Scratch};
use result::{keep_worst, normalize, retained, Ranges, Setup};
pub use result::{LevelSummary, Retain, ScenarioResult, SweepResult, UnplacedVm};
use space::{shard_slice, Space};
pub use tolerance::{failures_tolerated, Tolerance};
pub use units::{counted, FailureUnit, Units};

/// A progress hook: `(done, total)` → keep going?
pub type Progress<'a> = &'a (dyn Fn(u64, u64) -> bool + Sync);

/// How to sweep. `SweepOptions::new(k)` sets every other field to its default.
#[derive(Clone, Copy)]
pub struct SweepOptions<'a> {
    /// Largest number of hosts failed at once (at least 1, at most the candidate hosts).
    pub max_failures: usize,
    /// Ids of the hosts that may fail; `None`: every usable host.
    pub hosts: Option<&'a [String]>,
    /// Worker threads (a pool of that size); `None`: rayon's global pool.
    pub threads: Option<usize>,
    /// `(i, n)`: evaluate only the i-th of n disjoint slices.
    pub shard: Option<(usize, usize)>,
    /// `(size, seed)`: evaluate `size` random scenarios instead of all (drawing them holds
    /// their ranks: some 30 bytes per scenario while drawing, 8 after).
    pub sample: Option<(usize, u64)>,
    pub retain: Retain,
    /// Unplaced VMs listed per scenario (all are counted); `None`: no limit.
    pub unplaced_vms_limit: Option<usize>,
    pub progress: Option<Progress<'a>>,
    pub cancel: Option<&'a AtomicBool>,
    /// What one failure takes down (R-DOMAIN): a host (default), a fault domain or a site;
    /// `max_failures` counts units. See [`Units`].
    pub unit: FailureUnit,
}

impl<'a> SweepOptions<'a> {
    pub fn new(max_failures: usize) -> SweepOptions<'a> {
        SweepOptions {
            max_failures,
            hosts: None,
            threads: None,
            shard: None,
            sample: None,
            retain: Retain::All,
            unplaced_vms_limit: None,
            progress: None,
            cancel: None,
            unit: FailureUnit::Host,
        }
    }
}

impl std::fmt::Debug for SweepOptions<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SweepOptions")
            .field("max_failures", &self.max_failures)
            .field("hosts", &self.hosts)
            .field("threads", &self.threads)
            .field("shard", &self.shard)
            .field("sample", &self.sample)
            .field("retain", &self.retain)
            .field("unplaced_vms_limit", &self.unplaced_vms_limit)
            .field("progress", &self.progress.is_some())
            .field("cancel", &self.cancel.map(|c| c.load(Ordering::Relaxed)))
            .field("unit", &self.unit)
            .finish()
    }
}

/// Plans every scenario of the sweep `options` describes (see the module documentation).
///
/// Errors ([`Error::UnknownId`] / [`Error::Argument`]): an unknown host id, `max_failures` 0 or
/// above the number of candidate hosts, a shard `(i, n)` with n = 0 or i ≥ n, 0 threads or more
/// than [`MAX_THREADS`], a sample of 0 scenarios.
pub fn sweep(inv: &Inventory, options: &SweepOptions<'_>) -> Result<SweepResult> {
    sweep_gated(inv, options, None)
}

/// [`sweep`], with `gate` asked before each worker thread starts.
fn sweep_gated(inv: &Inventory, options: &SweepOptions<'_>, gate: Option<SpawnGate<'_>>) -> Result<SweepResult> {
    let (candidates, units) = failing_units(inv, options)?;
    let max_failures = options.max_failures;
    let (shard, shards) = options.shard.unwrap_or((0, 1));
    if shards == 0 || shard >= shards {
        return Err(Error::Argument(format!("shard ({shard}, {shards}): expected (i, n) with 0 ≤ i < n")));
    }
    check_threads(options)?;
    if matches!(options.sample, Some((0, _))) {
        return Err(Error::Argument("a sample needs at least 1 scenario".to_string()));
    }

    let space = Space::new(units.len(), max_failures)?;
    let sample = options.sample.map(|(size, seed)| space.sample(size as u64, seed));
    let space_len = sample.as_ref().map_or(space.len(), |ranks| ranks.len() as u64);
    let slice = shard_slice(space_len, shard, shards);
    let setup = Setup {
        inventory_fingerprint: fingerprint(inv),
        candidate_hosts: candidates,
        units,
        max_failures,
        sample: options.sample,
        retain: options.retain,
        unplaced_vms_limit: options.unplaced_vms_limit,
        space: space_len,
    };

    // The planner's index and base state, one state per worker, and the results kept:
    // estimated, then reserved, so that a sweep too big for memory is an error, not an abort.
    let workers = options.threads.unwrap_or_else(rayon::current_num_threads).max(1);
    let kept = match setup.retain {
        Retain::All => usize::try_from(slice.1 - slice.0).unwrap_or(usize::MAX),
        Retain::Worst(n) => n.saturating_mul(2).saturating_add(CHUNK as usize).saturating_mul(workers),
    };
    let per_result = std::mem::size_of::<ScenarioResult>() + 8 * max_failures;
    let needed = crate::placement::PlacementIndex::estimated_bytes(inv)
        .saturating_mul(workers.saturating_add(2))
        .saturating_add(kept.saturating_mul(per_result));
    crate::mem::ensure_headroom(needed, "sweeping the failure scenarios")?;
    let planner = Planner::new(inv, &setup.candidate_hosts);
    let job = Job { planner: &planner, space: &space, sample: sample.as_deref(), setup: &setup, options, slice };
    let partial = run_job(&job, options.threads, gate);

    let per_k = (1..=max_failures)
        .map(|k| {
            let mut level = LevelSummary::empty(k, space.level_len(k));
            if let Some(tally) = partial.levels.get(k - 1) {
                level.absorb(tally);
            }
            level
        })
        .collect();
    Ok(SweepResult {
        requested: normalize(vec![slice]).unwrap_or_default(),
        covered: normalize(partial.covered).unwrap_or_default(),
        results: retained(partial.results, setup.retain),
        per_k,
        setup,
    })
}

/// Asked before each worker thread starts, with the thread's index; an error refuses it (as the
/// OS does when it is out of threads). Tests use it to refuse threads on purpose.
pub(crate) type SpawnGate<'g> = &'g (dyn Fn(usize) -> std::io::Result<()> + Sync);

/// Runs `job` on `threads` worker threads (`None`: rayon's global pool, one thread per core).
/// Starting threads can fail (the OS refuses one): the sweep then runs on half as many, down
/// to one, and finally on the calling thread alone — never a panic, and the same result
/// whatever the thread count.
fn run_job(job: &Job<'_, '_>, threads: Option<usize>, gate: Option<SpawnGate<'_>>) -> Partial {
    if threads.is_none() && gate.is_none() && global_pool_started() {
        return job.run();
    }
    let scenarios = usize::try_from(job.slice.1 - job.slice.0).unwrap_or(usize::MAX);
    let default = || std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    // No more threads than scenarios: a thread without work only costs its start-up.
    let mut want = threads.unwrap_or_else(default).min(scenarios).max(1);
    loop {
        if let Ok(pool) = build_pool(want, gate) {
            return pool.install(|| job.run());
        }
        if want == 1 {
            return job.run_on_calling_thread();
        }
        want /= 2;
    }
}

/// A pool of `threads` workers, each started with `std::thread::Builder` (an error, not a
/// panic, when the OS refuses it: rayon then stops the ones started and returns the error).
fn build_pool(
    threads: usize,
    gate: Option<SpawnGate<'_>>,
) -> std::result::Result<rayon::ThreadPool, rayon::ThreadPoolBuildError> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .thread_name(|i| format!("hapolicy-sweep-{i}"))
        .spawn_handler(|thread| {
            if let Some(gate) = gate {
                gate(thread.index())?;
            }
            let mut builder = std::thread::Builder::new();
            if let Some(name) = thread.name() {
                builder = builder.name(name.to_owned());
            }
            if let Some(size) = thread.stack_size() {
                builder = builder.stack_size(size);
            }
            builder.spawn(|| thread.run())?;
            Ok(())
        })
        .build()
}

/// Whether rayon's global pool runs (started here, or before by anyone): rayon panics when a
/// parallel call finds no global pool and cannot start one, so it is started once, fallibly.
fn global_pool_started() -> bool {
    static STARTED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *STARTED.get_or_init(|| {
        let refused = AtomicBool::new(false);
        let started = rayon::ThreadPoolBuilder::new()
            .spawn_handler(|thread| {
                let mut builder = std::thread::Builder::new();
                if let Some(name) = thread.name() {
                    builder = builder.name(name.to_owned());
                }
                if let Some(size) = thread.stack_size() {
                    builder = builder.stack_size(size);
                }
                builder.spawn(|| thread.run()).inspect_err(|_| refused.store(true, Ordering::Relaxed))?;
                Ok(())
            })
            .build_global();
        // An error without a refused thread: the global pool was already running.
        started.is_ok() || !refused.load(Ordering::Relaxed)
    })
}

/// Candidate host indices, ascending and distinct.
/// The candidate hosts and the units that can fail among them, with `max_failures` checked
/// against them (shared by [`sweep`] and [`failures_tolerated`]).
fn failing_units(inv: &Inventory, options: &SweepOptions<'_>) -> Result<(Vec<u32>, Units)> {
    let candidates = candidate_hosts(inv, options.hosts)?;
    let max_failures = options.max_failures;
    if max_failures == 0 {
        return Err(Error::Argument("max_failures must be at least 1".to_string()));
    }
    let units = Units::new(inv, &candidates, options.unit)?;
    if max_failures > units.len() {
        return Err(Error::Argument(format!(
            "max_failures is {max_failures} but only {} can fail",
            options.unit.count(units.len())
        )));
    }
    Ok((candidates, units))
}

/// `threads`, when given, is 1 to [`MAX_THREADS`].
fn check_threads(options: &SweepOptions<'_>) -> Result<()> {
    if options.threads == Some(0) {
        return Err(Error::Argument("threads must be at least 1".to_string()));
    }
    if options.threads.is_some_and(|t| t > MAX_THREADS) {
        return Err(Error::Argument(format!("threads must be at most {MAX_THREADS}")));
    }
    Ok(())
}

fn candidate_hosts(inv: &Inventory, hosts: Option<&[String]>) -> Result<Vec<u32>> {
    let mut candidates: Vec<u32> = match hosts {
        None => (0..inv.hosts.len()).filter(|&h| inv.hosts[h].is_available()).map(|h| h as u32).collect(),
        Some(ids) => ids
            .iter()
            .map(|id| {
                inv.resolve_host(id).map(|h| h as u32) // an id or an unambiguous name
            })
            .collect::<Result<_>>()?,
    };
    candidates.sort_unstable();
    candidates.dedup();
    Ok(candidates)
}

/// A 64-bit fingerprint of the inventory's data (FNV-1a over its `Debug` form: cluster, hosts,
/// datastores, VMs, rules — no hash map among them, so the same on every machine for one
/// release of hapolicy), so that results of different inventories are never merged.
pub(crate) fn fingerprint(inv: &Inventory) -> u64 {
    struct Fnv1a(u64);
    impl std::fmt::Write for Fnv1a {
        fn write_str(&mut self, text: &str) -> std::fmt::Result {
            for &b in text.as_bytes() {
                self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
            }
            Ok(())
        }
    }
    let mut hash = Fnv1a(0xcbf2_9ce4_8422_2325);
    // Writing into the hasher cannot fail.
    let _ = write!(hash, "{:?}{:?}{:?}{:?}{:?}", inv.cluster, inv.hosts, inv.datastores, inv.vms, inv.rules);
    hash.0
}

/// What one call evaluates: positions `slice` of the sweep.
struct Job<'j, 'a> {
    planner: &'j Planner<'a>,
    space: &'j Space,
    /// Sampled ranks by position; `None`: position = rank.
    sample: Option<&'j [u64]>,
    setup: &'j Setup,
    options: &'j SweepOptions<'j>,
    slice: (u64, u64),
}

/// Results of some chunks.
#[derive(Default)]
struct Partial {
    covered: Ranges,
    levels: Vec<LevelSummary>,
    results: Vec<ScenarioResult>,
}

/// Scenarios per chunk, at most: the unit of work stealing, progress and cancellation.
const CHUNK: u64 = 256;

/// The most worker threads a sweep starts: far above any core count this runs on, low enough
/// that a typo (`threads=100_000`) is an error rather than minutes spent starting threads.
pub const MAX_THREADS: usize = 1024;

impl Job<'_, '_> {
    fn run(&self) -> Partial {
        let (start, end) = self.slice;
        let total = end - start;
        // Enough chunks to keep every thread busy, no more than CHUNK scenarios each.
        let chunk = (total / (rayon::current_num_threads() as u64 * 8)).clamp(1, CHUNK);
        let chunks = total.div_ceil(chunk) as usize;
        let stop = AtomicBool::new(false);
        let done = Mutex::new(0u64);
        (0..chunks)
            .into_par_iter()
            .map_init(
                || self.planner.scratch(),
                |scratch, c| {
                    if stop.load(Ordering::Relaxed) || self.options.cancel.is_some_and(|c| c.load(Ordering::Relaxed)) {
                        return Partial::default();
                    }
                    let from = start + c as u64 * chunk;
                    let to = (from + chunk).min(end);
                    let partial = self.evaluate(from, to, scratch);
                    if let Some(progress) = self.options.progress {
                        // One call at a time, so `done` only grows.
                        let mut done = done.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
                        *done += to - from;
                        if !progress(*done, total) {
                            stop.store(true, Ordering::Relaxed);
                        }
                    }
                    partial
                },
            )
            .reduce(Partial::default, |a, b| self.combine(a, b))
    }

    /// [`Job::run`] without worker threads: the same chunks, in order, on the calling thread.
    fn run_on_calling_thread(&self) -> Partial {
        let (start, end) = self.slice;
        let total = end - start;
        let mut scratch = self.planner.scratch();
        let mut all = Partial::default();
        let mut from = start;
        while from < end {
            if self.options.cancel.is_some_and(|c| c.load(Ordering::Relaxed)) {
                break;
            }
            let to = (from + CHUNK).min(end);
            let partial = self.evaluate(from, to, &mut scratch);
            all = self.combine(all, partial);
            if let Some(progress) = self.options.progress {
                if !progress(to - start, total) {
                    break;
                }
            }
            from = to;
        }
        all
    }

    /// Evaluates positions `from..to`.
    fn evaluate(&self, from: u64, to: u64, scratch: &mut Scratch) -> Partial {
        let setup = self.setup;
        let limit = setup.unplaced_vms_limit.unwrap_or(usize::MAX);
        let mut levels: Vec<LevelSummary> = (1..=setup.max_failures).map(|k| LevelSummary::empty(k, 0)).collect();
        let mut results = Vec::new();
        let mut combo = Vec::with_capacity(setup.max_failures);
        let mut failed = Vec::with_capacity(setup.max_failures);
        let units = &setup.units;
        for position in from..to {
            // Consecutive ranks: step the combination; sampled ranks: unrank each.
            match self.sample {
                Some(ranks) => self.space.unrank(ranks[position as usize], &mut combo),
                None if position == from => self.space.unrank(position, &mut combo),
                None => {
                    self.space.advance(&mut combo);
                }
            }
            units.expand(&combo, &mut failed);
            let mut scenario = self.planner.evaluate(&failed, scratch, limit);
            scenario.failed_units.clone_from(&combo);
            if let Some(level) = levels.get_mut(scenario.failures().wrapping_sub(1)) {
                level.count(&scenario);
            }
            results.push(scenario);
            if let Retain::Worst(n) = setup.retain {
                if results.len() >= 2 * n + CHUNK as usize {
                    keep_worst(&mut results, n);
                }
            }
        }
        if let Retain::Worst(n) = setup.retain {
            keep_worst(&mut results, n);
        }
        Partial { covered: vec![(from, to)], levels, results }
    }

    fn combine(&self, mut a: Partial, b: Partial) -> Partial {
        a.covered.extend(b.covered);
        if a.levels.is_empty() {
            a.levels = b.levels;
        } else {
            for (mine, theirs) in a.levels.iter_mut().zip(&b.levels) {
                mine.absorb(theirs);
            }
        }
        a.results.extend(b.results);
        if let Retain::Worst(n) = self.setup.retain {
            keep_worst(&mut a.results, n);
        }
        a
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generate::{synthetic, GeneratorSpec};
    use std::sync::atomic::AtomicUsize;

    /// The OS refusing worker threads: the sweep runs on fewer threads, or on the calling thread
    /// alone, and gives exactly the result of an unhindered sweep — never a panic.
    #[test]
    fn refused_threads_fall_back_to_fewer_and_give_the_same_result() {
        let inv = synthetic(&GeneratorSpec::new(12, 400, 5));
        let mut options = SweepOptions::new(3);
        let expected = sweep(&inv, &options).unwrap();
        assert!(expected.results().iter().any(|s| s.unplaced > 0), "some scenario strands VMs");
        let refuse = |_: usize| Err(std::io::Error::new(std::io::ErrorKind::WouldBlock, "no more threads"));
        for threads in [None, Some(1), Some(4)] {
            options.threads = threads;
            assert_eq!(
                sweep_gated(&inv, &options, Some(&refuse)).unwrap(),
                expected,
                "every thread refused, {threads:?}"
            );
        }
        // Only the first thread of each pool starts: 4 and 2 fail, a pool of 1 runs it.
        let started = AtomicUsize::new(0);
        let first_only = |index: usize| {
            if index == 0 {
                started.fetch_add(1, Ordering::Relaxed);
                Ok(())
            } else {
                Err(std::io::Error::new(std::io::ErrorKind::WouldBlock, "no more threads"))
            }
        };
        options.threads = Some(4);
        assert_eq!(sweep_gated(&inv, &options, Some(&first_only)).unwrap(), expected);
        assert_eq!(started.load(Ordering::Relaxed), 3, "pools of 4, 2 and 1 threads tried");
        // Progress and cancellation work on the calling thread too.
        let calls = AtomicUsize::new(0);
        let stop_at_once = |_: u64, _: u64| {
            calls.fetch_add(1, Ordering::Relaxed);
            false
        };
        options.progress = Some(&stop_at_once);
        let stopped = sweep_gated(&inv, &options, Some(&refuse)).unwrap();
        assert!(!stopped.complete() && calls.load(Ordering::Relaxed) == 1);
        assert_eq!(stopped.scenarios(), CHUNK.min(expected.scenarios()));
    }
}
