//! Failover placement at the vSphere 7/8 cluster maximum (96 hosts, 10,000 VMs;
//! `hapolicy::generate`, seed 1). Target (issue 16): a one-host plan in well under 0.1 ms.
//!
//! - `plan_failover/{1,8}_hosts`: the public call on an inventory already planned on, so its
//!   shared placement base (index and base state, `Inventory::placement_base`) is built
//!   (R-PLACE-1..3, per-host verdicts for every VM moved, explanations ready).
//! - `plan_failover_lean/{1,8}_hosts`: the same keeping no verdicts (explanations replay the
//!   plan): what the Python API runs.
//! - `plan_failover_indexed/{1,8}_hosts`: with a `PlacementIndex` built beforehand by the caller
//!   and the base state rebuilt from every VM in each call (the path before the shared base).
//! - `place/{1,8}_hosts`: the sweep path — clone a prepared state, mark the hosts failed,
//!   release and place their VMs (no verdicts recorded).
//! - `place_rules_respected/8_hosts`: as above with anti-affinity and soft rules respected.
//! - `prepare/index`, `prepare/state`, `prepare/base`: the per-inventory set-up costs (`base` is
//!   what the first plan of an inventory builds: index, state and host ids).
//! - `drs_fragmented/1_host_{without,with}_drs` (R-PLACE-DRS): a fragmented cluster — every
//!   surviving host left with 4000 MB unreserved, every VM of the failed host reserving
//!   4096 MB — planned without DRS (the explanation's would-be search only) and with DRS fully
//!   automated (defragmenting vMotions). Target: with DRS within 10× without.
//!
//! Quick run: `cargo bench --bench placement -- --warm-up-time 1 --measurement-time 3`.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use hapolicy::generate::{synthetic, GeneratorSpec};
use hapolicy::model::{DrsAutomation, DrsConfig, RestartPriority};
use hapolicy::placement::{
    place, plan_failover, plan_failover_indexed, plan_failover_lean, HostAvailability, PlacementBase, PlacementIndex,
    PlacementState,
};
use hapolicy::Inventory;

/// Failure sets spread over the cluster: host 0, and every twelfth host from 0 (eight hosts).
fn failure_sets(inv: &Inventory) -> [(&'static str, Vec<String>); 2] {
    let id = |i: usize| inv.hosts[i % inv.hosts.len()].id.clone();
    [("1_host", vec![id(0)]), ("8_hosts", (0..8).map(|k| id(k * 12)).collect())]
}

/// What `plan_failover` restarts from failed hosts (R-PLACE, docs/rules/placement.rst), by index, for the sweep path.
fn vms_to_restart(inv: &Inventory, index: &PlacementIndex, failed: &[usize]) -> Vec<usize> {
    (0..inv.vms.len())
        .filter(|&v| {
            let vm = &inv.vms[v];
            index.current_host(v).is_some_and(|h| failed.contains(&h))
                && vm.is_powered_on()
                && vm.protected
                && !vm.clean_power_off
                && inv.effective_restart_priority(vm) != RestartPriority::Disabled
        })
        .collect()
}

fn bench_placement(c: &mut Criterion) {
    let inv = synthetic(&GeneratorSpec::default());
    let index = PlacementIndex::new(&inv);
    let base_state = PlacementState::new(&inv, &index);

    for (name, failed) in failure_sets(&inv) {
        let plan = plan_failover(&inv, &failed, &[]).expect("known hosts");
        eprintln!(
            "placement/{name}: {} VMs attempted, {} placed, {} unplaced, {} not restarted",
            plan.attempted(),
            plan.placements.len(),
            plan.unplaced.len(),
            plan.not_restarted.len()
        );
    }

    let mut group = c.benchmark_group("plan_failover");
    for (name, failed) in failure_sets(&inv) {
        group.bench_function(name, |b| b.iter(|| plan_failover(black_box(&inv), black_box(&failed), &[])));
    }
    group.finish();

    let mut group = c.benchmark_group("plan_failover_lean");
    for (name, failed) in failure_sets(&inv) {
        group.bench_function(name, |b| b.iter(|| plan_failover_lean(black_box(&inv), black_box(&failed), &[])));
    }
    group.finish();

    let mut group = c.benchmark_group("plan_failover_indexed");
    for (name, failed) in failure_sets(&inv) {
        group.bench_function(name, |b| {
            b.iter(|| plan_failover_indexed(black_box(&inv), &index, black_box(&failed), &[]))
        });
    }
    group.finish();

    let sweep_scenario =
        |inv: &Inventory, index: &PlacementIndex, base: &PlacementState, failed: &[usize], vms: &[usize]| {
            let mut state = base.clone();
            for &h in failed {
                state.set_availability(h, HostAvailability::Failed);
            }
            place(inv, index, &mut state, vms)
        };
    let mut group = c.benchmark_group("place");
    for (name, failed) in failure_sets(&inv) {
        let failed: Vec<usize> = failed.iter().filter_map(|h| inv.host_idx(h)).collect();
        let vms = vms_to_restart(&inv, &index, &failed);
        group.bench_function(name, |b| b.iter(|| sweep_scenario(&inv, &index, &base_state, &failed, black_box(&vms))));
    }
    group.finish();

    let mut strict = inv.clone();
    strict.cluster.advanced_options.parsed.respect_vm_vm_anti_affinity = true;
    strict.cluster.advanced_options.parsed.respect_vm_host_soft_affinity = true;
    let strict_index = PlacementIndex::new(&strict);
    let strict_state = PlacementState::new(&strict, &strict_index);
    let [_, (_, eight)] = failure_sets(&strict);
    let eight: Vec<usize> = eight.iter().filter_map(|h| strict.host_idx(h)).collect();
    let eight_vms = vms_to_restart(&strict, &strict_index, &eight);
    c.bench_function("place_rules_respected/8_hosts", |b| {
        b.iter(|| sweep_scenario(&strict, &strict_index, &strict_state, &eight, black_box(&eight_vms)))
    });

    let mut group = c.benchmark_group("drs_fragmented");
    let [(_, one), _] = failure_sets(&inv);
    for (name, drs) in [("1_host_without_drs", false), ("1_host_with_drs", true)] {
        let frag = fragmented(&inv, drs);
        let plan = plan_failover(&frag, &one, &[]).expect("known hosts");
        eprintln!(
            "drs_fragmented/{name}: {} VMs attempted, {} placed, {} unplaced, {} vMotions",
            plan.attempted(),
            plan.placements.len(),
            plan.unplaced.len(),
            plan.migrations.len()
        );
        group.bench_function(name, |b| b.iter(|| plan_failover(black_box(&frag), black_box(&one), &[])));
    }
    group.finish();

    let mut group = c.benchmark_group("prepare");
    group.bench_function("index", |b| b.iter(|| PlacementIndex::new(black_box(&inv))));
    group.bench_function("state", |b| b.iter(|| PlacementState::new(black_box(&inv), &index)));
    group.bench_function("state_clone", |b| b.iter(|| black_box(&base_state).clone()));
    group.bench_function("base", |b| b.iter(|| PlacementBase::try_new(black_box(&inv))));
    group.finish();
}

/// `inv` made fragmented (R-PLACE-DRS benchmark): host 0's powered-on VMs reserve 4096 MB each;
/// every other host keeps 4000 MB unreserved, so none takes one of them without vMotions.
fn fragmented(inv: &Inventory, drs: bool) -> Inventory {
    let mut inv = inv.clone();
    let index = PlacementIndex::new(&inv);
    for v in index.vms_on_host(0).iter().map(|&v| v as usize) {
        inv.vms[v].memory_reservation_mb = 4096;
        inv.vms[v].memory_overhead_mb = 0;
    }
    let state = PlacementState::new(&inv, &index);
    for h in 1..inv.hosts.len() {
        inv.hosts[h].memory_mb = state.reserved(h).memory_mb + 4000;
    }
    inv.cluster.drs = DrsConfig { enabled: drs, automation: DrsAutomation::FullyAutomated };
    inv
}

criterion_group!(benches, bench_placement);
criterion_main!(benches);
