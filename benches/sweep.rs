//! What-if sweeps at the vSphere 7/8 cluster maximum (96 hosts, 10,000 VMs; `hapolicy::generate`,
//! seed 1). Targets (issue 6, on the 2-core reference machine): every 1- and 2-host failure
//! (4,656 scenarios) under 1 s; every 1-, 2- and 3-host failure (147,536) under 20 s.
//!
//! - `sweep/1_2_hosts`, `sweep/3_hosts`: rayon's default pool (one thread per core), every
//!   scenario kept;
//! - `sweep/1_2_hosts_1_thread`: the same on one thread;
//! - `sweep/3_hosts_worst_100`: aggregate-only (`Retain::Worst(100)`);
//! - `sweep/1_2_fault_domains_singletons`: `unit = fault_domain` on the same inventory, whose hosts
//!   have no fault domain (each its own): the same 4,656 scenarios as `1_2_hosts`, so the time
//!   per scenario shows what units add (R-DOMAIN: expanding units to hosts);
//! - `sweep/1_2_chassis_of_4`: the hosts in 24 blade chassis of 4 (`unit = fault_domain`, every
//!   1- and 2-chassis failure: 300 scenarios failing 4 or 8 hosts each).
//!
//! Before measuring, one run of each prints its figures, its peak memory (the process's VmHWM,
//! reset before each run through /proc/self/clear_refs) and, for comparison, the time of the
//! straightforward loop — clone a state and `placement::place` each scenario — on one thread.
//!
//! Run: `cargo bench --bench sweep` (about two minutes; few samples, the 3-host sweep is long).

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use hapolicy::generate::{synthetic, synthetic_document, GeneratorSpec};
use hapolicy::placement::{place, restart_exclusion, HostAvailability, PlacementIndex, PlacementState};
use hapolicy::sweep::{sweep, FailureUnit, Retain, SweepOptions};
use hapolicy::Inventory;

/// Peak resident memory of the process since the last reset, MB (Linux; `None` elsewhere).
fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// Resets the peak to the current resident memory (Linux ≥ 4.0).
fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

fn current_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// Every 1..=k-host failure planned one by one with the engine: clone the state, mark the
/// hosts failed, release and `place` their VMs. Returns (scenarios, unplaced VMs).
fn engine_loop(inv: &Inventory, max_failures: usize) -> (u64, u64) {
    let index = PlacementIndex::new(inv);
    let base = PlacementState::new(inv, &index);
    let hosts = inv.hosts.len();
    let mut combos: Vec<Vec<usize>> = (0..hosts).map(|a| vec![a]).collect();
    if max_failures >= 2 {
        combos.extend((0..hosts).flat_map(|a| (a + 1..hosts).map(move |b| vec![a, b])));
    }
    let mut unplaced = 0;
    for failed in &combos {
        let mut state = base.clone();
        let mut vms = Vec::new();
        for &h in failed {
            state.set_availability(h, HostAvailability::Failed);
            for &v in index.vms_on_host(h) {
                if restart_exclusion(inv, &inv.vms[v as usize], true).is_none() {
                    state.remove_vm(inv, &index, v as usize, h);
                    vms.push(v as usize);
                }
            }
        }
        unplaced += place(inv, &index, &mut state, &vms).iter().filter(|o| o.host().is_none()).count() as u64;
    }
    (combos.len() as u64, unplaced)
}

fn report(inv: &Inventory, name: &str, options: &SweepOptions) {
    reset_peak_rss();
    let before = current_rss_mb().unwrap_or(0.0);
    let start = Instant::now();
    let result = sweep(inv, options).expect("valid sweep");
    let elapsed = start.elapsed();
    let peak = peak_rss_mb().unwrap_or(0.0);
    let unplaced: u64 = result.per_k().iter().map(|l| l.unplaced_total).sum();
    eprintln!(
        "sweep/{name}: {} scenarios in {:.3} s ({:.1} µs each), {} kept, {unplaced} unplaced VMs in all, \
         max_failures_tolerated {:?}; RSS {before:.0} MB before, peak {peak:.0} MB (+{:.0} MB)",
        result.scenarios(),
        elapsed.as_secs_f64(),
        elapsed.as_secs_f64() * 1e6 / result.scenarios().max(1) as f64,
        result.results().len(),
        result.max_failures_tolerated(),
        peak - before,
    );
    for level in result.per_k() {
        eprintln!(
            "  k={}: {} scenarios, {} fully restarted, worst {} unplaced",
            level.failures, level.evaluated, level.fully_restarted, level.worst_unplaced
        );
    }
}

fn bench_sweep(c: &mut Criterion) {
    let inv = synthetic(&GeneratorSpec::default());
    let one_two = SweepOptions::new(2);
    let one_two_serial = SweepOptions { threads: Some(1), ..SweepOptions::new(2) };
    let three = SweepOptions::new(3);
    let three_worst = SweepOptions { retain: Retain::Worst(100), ..SweepOptions::new(3) };

    eprintln!("rayon threads: {}", rayon::current_num_threads());
    report(&inv, "1_2_hosts", &one_two);
    report(&inv, "1_2_hosts_1_thread", &one_two_serial);
    report(&inv, "3_hosts_worst_100", &three_worst);
    report(&inv, "3_hosts", &three);
    let singletons = SweepOptions { unit: FailureUnit::FaultDomain, ..SweepOptions::new(2) };
    report(&inv, "1_2_fault_domains_singletons", &singletons);
    let mut doc = synthetic_document(&GeneratorSpec::default());
    for (i, h) in doc["hosts"].as_array_mut().expect("hosts").iter_mut().enumerate() {
        h["fault_domain"] = serde_json::json!(format!("chassis-{:02}", i / 4 + 1));
    }
    let chassis_inv = hapolicy::parse::from_value(&doc).expect("valid inventory");
    report(&chassis_inv, "1_2_chassis_of_4", &singletons);
    let start = Instant::now();
    let (scenarios, unplaced) = engine_loop(&inv, 2);
    eprintln!(
        "engine loop (place per scenario, 1 thread), 1_2_hosts: {scenarios} scenarios in {:.3} s, {unplaced} unplaced VMs",
        start.elapsed().as_secs_f64()
    );

    let mut group = c.benchmark_group("sweep");
    group.sample_size(10).warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(5));
    group.bench_function("1_2_hosts", |b| b.iter(|| sweep(black_box(&inv), &one_two)));
    group.bench_function("1_2_hosts_1_thread", |b| b.iter(|| sweep(black_box(&inv), &one_two_serial)));
    group.bench_function("1_2_fault_domains_singletons", |b| b.iter(|| sweep(black_box(&inv), &singletons)));
    group.bench_function("1_2_chassis_of_4", |b| b.iter(|| sweep(black_box(&chassis_inv), &singletons)));
    group.measurement_time(Duration::from_secs(30));
    group.bench_function("3_hosts", |b| b.iter(|| sweep(black_box(&inv), &three)));
    group.bench_function("3_hosts_worst_100", |b| b.iter(|| sweep(black_box(&inv), &three_worst)));
    group.finish();
}

criterion_group!(benches, bench_sweep);
criterion_main!(benches);
