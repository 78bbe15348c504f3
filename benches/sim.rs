//! The FDM simulation (R-TIME, R-PLACE-4) at the vSphere 7/8 cluster maximum.
//!
//! - `one_host_failure`: 96 hosts / 10,000 VMs (`hapolicy::generate`, seed 1), one host fails
//!   at t = 0, run to quiescence (detection, classification, restarts in priority classes).
//! - `ten_host_cascade`: the same cluster, ten hosts failing 30 s apart, run to quiescence with
//!   the retry schedule (+2/+6/+14/+30 min) for whatever no longer fits.
//! - `outage`: every host loses power at 0 and returns at 300 s: every protected VM restarts.
//!
//! Quick run: `cargo bench --bench sim -- --warm-up-time 1 --measurement-time 5`.

use std::hint::black_box;
use std::sync::Arc;

use criterion::{criterion_group, criterion_main, Criterion};
use hapolicy::generate::{synthetic, GeneratorSpec};
use hapolicy::sim::Simulation;

fn bench(c: &mut Criterion) {
    let inv = Arc::new(synthetic(&GeneratorSpec::default()));
    let host = |i: usize| inv.hosts[i].id.clone();
    let mut group = c.benchmark_group("sim");
    group.sample_size(10);
    group.bench_function("one_host_failure", |b| {
        b.iter(|| {
            let mut sim = Simulation::new(Arc::clone(&inv)).expect("valid inventory");
            sim.fail_host(&host(0), 0.0).expect("known host");
            black_box(sim.run_to_quiescence(86_400.0).expect("runs").len())
        })
    });
    group.bench_function("ten_host_cascade", |b| {
        b.iter(|| {
            let mut sim = Simulation::new(Arc::clone(&inv)).expect("valid inventory");
            for k in 0..10 {
                sim.fail_host(&host(k * 9), 30.0 * k as f64).expect("known host");
            }
            black_box(sim.run_to_quiescence(86_400.0).expect("runs").len())
        })
    });
    group.bench_function("outage", |b| {
        b.iter(|| {
            let mut sim = Simulation::new(Arc::clone(&inv)).expect("valid inventory");
            sim.power_outage(0.0, Some(300.0)).expect("valid times");
            black_box(sim.run_to_quiescence(86_400.0).expect("runs").len())
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
