//! Loading benchmark (issue: "loading a 10,000-VM / 96-host inventory from JSON takes well under
//! a second"). The inventory is the generator's default — the vSphere 7/8 cluster maximum —
//! serialized once up front; each iteration parses and validates the JSON text into an
//! `Inventory`. Its two halves are measured apart: `parse_json_tree` (the text into the borrowed
//! tree of `src/json.rs`) and `from_node` (validating that tree into the model). `from_value`
//! (an already-decoded `serde_json::Value`, as the Python bindings' `from_dict` path) is
//! measured too.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use hapolicy::generate::{synthetic, GeneratorSpec};
use hapolicy::{parse, serialize};

fn load(c: &mut Criterion) {
    let inv = synthetic(&GeneratorSpec::default());
    let doc = serialize::to_value(&inv);
    let text = serde_json::to_string(&doc).expect("a JSON value serializes");
    assert!(parse::from_json_str(&text).is_ok_and(|again| again == inv), "the generated inventory loads back");

    let mut group = c.benchmark_group("load_96h_10000vm");
    group.sample_size(20).warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(5));
    group.throughput(Throughput::Bytes(text.len() as u64));
    group.bench_function("from_json_str", |b| b.iter(|| parse::from_json_str(black_box(&text))));
    group.bench_function("from_value", |b| b.iter(|| parse::from_value(black_box(&doc))));
    group.bench_function("parse_json_tree", |b| b.iter(|| parse::parse_json_tree(black_box(&text))));
    let tree = parse::parse_json_tree(&text).expect("the generated inventory parses");
    group.bench_function("from_node", |b| b.iter(|| parse::from_node(black_box(&tree))));
    group.finish();
}

criterion_group!(benches, load);
criterion_main!(benches);
