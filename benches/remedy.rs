//! Remedies (R-REMEDY) at the vSphere 7/8 cluster maximum (96 hosts, 10,000 VMs;
//! `hapolicy::generate`, seed 1), `failures = 2`. Target (issue 13, on the 2-core reference
//! machine): every remedy within 2 s.
//!
//! - `remedy/generated_2`: the generated cluster as it is. Its only stranded VMs sit on local
//!   datastores: the remedy is moving them (one full verification).
//! - `remedy/tight_2`: the same with those VMs moved and every host's memory cut to 58 %, so
//!   that 98 two-host failures leave VMs unplaced for lack of memory: hosts of each of the three
//!   hardware models and a memory step are searched and verified.
//!
//! Before measuring, one run of each prints the remedies, the candidates checked and how many
//! went through the full sweep. Run: `cargo bench --bench remedy` (about half a minute).

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use hapolicy::generate::{synthetic, GeneratorSpec};
use hapolicy::remedy::{remedies, RemedyKind, RemedyOptions};
use hapolicy::Inventory;

/// The generated cluster with its local-storage VMs moved and every host's memory at 58 %.
pub fn tight(inv: &Inventory) -> Inventory {
    let found = remedies(inv, &RemedyOptions { failures: Some(2), ..RemedyOptions::default() }).expect("remedies");
    let moves = found.remedies.iter().find(|r| r.kind == RemedyKind::MoveStorage).expect("a move");
    let moved = moves.patch.apply(inv).expect("apply");
    let mut doc = hapolicy::serialize::to_value(&moved);
    for h in doc["hosts"].as_array_mut().expect("hosts") {
        let mem = h["memory_mb"].as_u64().expect("memory");
        h["memory_mb"] = (mem * 58 / 100).into();
    }
    hapolicy::parse::from_value(&doc).expect("valid")
}

fn bench(c: &mut Criterion) {
    let generated = synthetic(&GeneratorSpec::new(96, 10_000, 1));
    let tight = tight(&generated);
    let options = RemedyOptions { failures: Some(2), ..RemedyOptions::default() };
    for (name, inv) in [("generated_2", &generated), ("tight_2", &tight)] {
        let t = Instant::now();
        let r = remedies(inv, &options).expect("remedies");
        println!(
            "{name}: {:.3} s, {} remedies, {} candidates checked, {} full sweeps",
            t.elapsed().as_secs_f64(),
            r.remedies.len(),
            r.checks,
            r.full_runs
        );
        for rem in &r.remedies {
            println!("  {} — {}", rem.kind.as_str(), rem.summary.chars().take(120).collect::<String>());
        }
    }
    let mut group = c.benchmark_group("remedy");
    group.sample_size(10).warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(8));
    group.bench_function("generated_2", |b| b.iter(|| black_box(remedies(&generated, &options).expect("remedies"))));
    group.bench_function("tight_2", |b| b.iter(|| black_box(remedies(&tight, &options).expect("remedies"))));
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
