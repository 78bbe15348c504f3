//! Deterministic stand-in for the fuzzers, run by `cargo test`: every file under
//! `fuzz/corpus/<target>/` (seed corpora, minimised after fuzzing) and `fuzz/artifacts/<target>/`
//! (inputs that once crashed a target, kept after the fix) goes through the same check the
//! cargo-fuzz target runs (`fuzz/src/lib.rs`, included here). The fuzzers themselves are run by
//! `fuzz/run.sh [seconds]`, outside CI.

#[path = "../fuzz/src/lib.rs"]
#[allow(dead_code)]
mod checks;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

fn files(target: &str) -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let mut out = Vec::new();
    for dir in ["corpus", "artifacts"] {
        let Ok(entries) = std::fs::read_dir(root.join(dir).join(target)) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_file() && !p.file_name().is_some_and(|n| n.to_string_lossy().starts_with('.')) {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

fn replay(target: &str, check: fn(&[u8])) {
    let inputs = files(target);
    assert!(!inputs.is_empty(), "no corpus for fuzz target {target}");
    let mut failures = Vec::new();
    for p in &inputs {
        let data = std::fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        if let Err(payload) = catch_unwind(AssertUnwindSafe(|| check(&data))) {
            let msg = payload
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            failures.push(format!("{}: {}", p.display(), msg.lines().next().unwrap_or("")));
        }
    }
    assert!(failures.is_empty(), "{} of {} inputs fail:\n{}", failures.len(), inputs.len(), failures.join("\n"));
}

#[test]
fn parse_json_corpus() {
    replay("parse_json", checks::parse_json);
}

#[test]
fn parse_yaml_corpus() {
    replay("parse_yaml", checks::parse_yaml);
}

#[test]
fn scenario_corpus() {
    replay("scenario", checks::scenario);
}

#[test]
fn sim_events_corpus() {
    replay("sim_events", checks::sim_events);
}

#[test]
fn placement_corpus() {
    replay("placement", checks::placement);
}

// ------------------------------------------------------------------ findings, one test each

/// Found by the `scenario` fuzzer: a scenario whose inventory file cannot be read returned its
/// problems unsorted (Error::Invalid promises them sorted by path).
#[test]
fn scenario_unreadable_inventory_problems_are_sorted() {
    let doc = serde_json::json!({"inventory": "no-such-file.json", "zzz": 1, "aaa": 2});
    let Err(hapolicy::Error::Invalid(problems)) = hapolicy::sim::Scenario::from_value(&doc) else {
        panic!("expected Invalid")
    };
    let mut sorted = problems.clone();
    sorted.sort();
    assert_eq!(problems, sorted);
    assert_eq!(problems.len(), 3);
}

/// A scenario's inventory path is read with a bound: a file over the size limit is refused
/// before it is read (a sparse file here, so the test costs nothing).
#[test]
fn scenario_inventory_file_over_the_size_limit_is_refused_unread() {
    let dir = std::env::temp_dir().join(format!("hapolicy-fuzz-regr-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let big = dir.join("big.json");
    let f = std::fs::File::create(&big).unwrap();
    f.set_len(hapolicy::parse::MAX_INPUT_BYTES as u64 + 1).unwrap();
    let doc = serde_json::json!({"inventory": big.to_string_lossy()});
    let start = std::time::Instant::now();
    let err = hapolicy::sim::Scenario::from_value(&doc).unwrap_err().to_string();
    assert!(err.contains("larger than the limit of 1073741824 bytes"), "{err}");
    assert!(start.elapsed().as_secs_f64() < 5.0);
    std::fs::remove_dir_all(&dir).ok();
}

/// YAML flow collections nested on one line cost the YAML scanner ~40 µs per byte before its
/// recursion limit applies; they are refused by a linear pre-scan instead.
#[test]
fn yaml_deep_flow_nesting_is_refused_fast() {
    for text in ["[".repeat(1_000_000), "{".repeat(1_000_000), "a: ".to_string() + &"[a, ".repeat(200_000)] {
        let start = std::time::Instant::now();
        let err = hapolicy::parse::from_yaml_str(&text).unwrap_err().to_string();
        assert!(err.contains("nested more than 128 levels deep"), "{err}");
        assert!(start.elapsed().as_secs_f64() < 5.0, "took {:?}", start.elapsed());
    }
    // 128 levels are the parser's own limit, reported as before.
    let err = hapolicy::parse::from_yaml_str(&"[".repeat(128)).unwrap_err().to_string();
    assert!(!err.contains("nested more than"), "{err}");
}

/// Brackets inside quoted scalars and comments are not nesting.
#[test]
fn yaml_quoted_and_commented_brackets_do_not_count() {
    let many = "[".repeat(300);
    let text = format!(
        "# {many}\ncluster: {{name: '{many}'}}\nhosts: [{{id: \"h{many}\", cpu_mhz: 1, memory_mb: 1}}]\ndatastores: []\n"
    );
    let inv = hapolicy::parse::from_yaml_str(&text).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(inv.cluster.name, many);
    assert_eq!(inv.hosts[0].id, format!("h{many}"));
}

/// "Billion laughs": nested aliases in a few kilobytes expanded to gigabytes. Now refused once
/// the expansion passes 2 values per input byte + 1,000,000.
#[test]
fn yaml_alias_bomb_is_refused() {
    let xs = vec!["x"; 1000].join(",");
    let refs_a = vec!["*a"; 1000].join(",");
    let refs_b = vec!["*b"; 100].join(",");
    let text = format!("a: &a [{xs}]\nb: &b [{refs_a}]\nc: &c [{refs_b}]\n");
    let start = std::time::Instant::now();
    let err = hapolicy::parse::from_yaml_str(&text).unwrap_err().to_string();
    assert!(err.contains("aliases expand the document"), "{err}");
    assert!(start.elapsed().as_secs_f64() < 10.0, "took {:?}", start.elapsed());
}

/// Anchors and aliases used as intended still work.
#[test]
fn yaml_aliases_within_the_limit_still_work() {
    let text = "\
datastores: [{id: ds-1}, {id: ds-2}]
hosts:
  - {id: h1, cpu_mhz: 1000, memory_mb: 1000, datastores: &all [ds-1, ds-2]}
  - {id: h2, cpu_mhz: 1000, memory_mb: 1000, datastores: *all}
";
    let inv = hapolicy::parse::from_yaml_str(text).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(inv.hosts[1].datastores, vec!["ds-1", "ds-2"]);
}
