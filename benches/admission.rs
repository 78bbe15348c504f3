//! Admission control and heartbeat selection at the vSphere 7/8 cluster maximum
//! (96 hosts, 10,000 VMs; `hapolicy::generate`).
//!
//! - `evaluate/<policy>`: one full report (R-AC), per policy.
//! - `check_1000/free`: 1,000 `admission::check` calls (each builds its state: O(VMs)).
//! - `check_1000/context`: 1,000 checks against one `AdmissionContext` (built once).
//! - `admit_1000`: a context built and 1,000 successive power-ons admitted (each sees the ones
//!   before it).
//! - `heartbeat/select`: R-HBDS selection for every host.
//! - `baseline/one_pass_over_vms`: a bare pass summing reservations, for scale: an evaluation is a
//!   few such passes.

use std::collections::HashSet;
use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use hapolicy::admission::{self, AdmissionContext, Operation};
use hapolicy::generate::{synthetic, GeneratorSpec};
use hapolicy::model::{AdmissionControl, PowerState, Vm};
use hapolicy::{heartbeat, Inventory};

fn with_policy(base: &Inventory, policy: AdmissionControl) -> Inventory {
    let mut inv = base.clone();
    inv.cluster.admission_control = policy;
    inv
}

/// 1,000 power-ons of new VMs spread over the available hosts, with varied reservations.
fn power_ons(inv: &Inventory) -> Vec<Operation> {
    let hosts: Vec<&String> = inv.hosts.iter().filter(|h| h.is_available()).map(|h| &h.id).collect();
    let template = inv.vms[0].clone();
    (0..1000u64)
        .map(|i| {
            Operation::PowerOn(Vm {
                id: format!("bench-vm-{i}"),
                name: format!("bench-vm-{i}"),
                host: Some(hosts[i as usize % hosts.len()].clone()),
                power_state: PowerState::PoweredOff,
                cpu_reservation_mhz: (i * 37) % 1500,
                memory_reservation_mb: (i * 53) % 3000,
                memory_overhead_mb: 40 + i % 90,
                ..template.clone()
            })
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let base = synthetic(&GeneratorSpec::default());
    let slot =
        with_policy(&base, AdmissionControl::Slot { host_failures: 1, slot_cpu_mhz: None, slot_memory_mb: None });
    let percentage = with_policy(&base, AdmissionControl::PercentageAuto { host_failures: 1 });
    let failover = with_policy(
        &base,
        AdmissionControl::FailoverHosts { hosts: vec![base.hosts[0].id.clone(), base.hosts[1].id.clone()] },
    );

    let mut group = c.benchmark_group("admission");
    group.bench_function("baseline/one_pass_over_vms", |b| {
        b.iter(|| {
            black_box(&base)
                .vms
                .iter()
                .filter(|v| v.is_powered_on())
                .fold(0u64, |s, v| s + v.cpu_reservation_mhz + v.memory_reservation_mb)
        })
    });
    for (name, inv) in [("slot", &slot), ("percentage", &percentage), ("failoverHosts", &failover)] {
        group.bench_function(format!("evaluate/{name}"), |b| b.iter(|| admission::evaluate(black_box(inv))));
    }

    for (name, inv) in [("slot", &slot), ("percentage", &percentage)] {
        let ops = power_ons(inv);
        group.bench_function(format!("check_1000/free/{name}"), |b| {
            b.iter(|| ops.iter().filter(|op| admission::check(inv, op).is_ok_and(|d| d.allowed)).count())
        });
        group.bench_function(format!("check_1000/context/{name}"), |b| {
            b.iter(|| {
                let ctx = AdmissionContext::new(inv);
                ops.iter().filter(|op| ctx.check(op).is_ok_and(|d| d.allowed)).count()
            })
        });
        group.bench_function(format!("admit_1000/{name}"), |b| {
            b.iter(|| {
                let mut ctx = AdmissionContext::new(inv);
                ops.iter().filter(|op| ctx.admit(op).is_ok_and(|d| d.allowed)).count()
            })
        });
    }

    let none = HashSet::new();
    group.bench_function("heartbeat/select", |b| b.iter(|| heartbeat::select(black_box(&base), &none)));
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
