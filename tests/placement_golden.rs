//! Golden corpus for failover placement (R-PLACE-1..3): `tests/golden/placement/*.json`.
//!
//! Each file is one hand-checked scenario:
//!
//! ```json
//! {"description": "one line: what it proves",
//!  "inventory": {...}, "failed_hosts": [...], "isolated_hosts": [...],
//!  "expected": {"placements": [["vm", "host"], ...],          // in restart order
//!               "unplaced": [["vm", "reason"], ...],          // in restart order
//!               "not_restarted": [["vm", "reason"], ...]}}    // optional; absent = none
//! ```
//!
//! The expectations are written by hand from the rules, never copied from the engine. Run
//! `cargo test --test placement_golden`; a mismatch prints, per scenario, the description and a
//! line-by-line diff of expected (`-`) against actual (`+`), plus the engine's explanation of
//! every VM that differs.
//!
//! **Regenerating**: `HAPOLICY_BLESS=1 cargo test --test placement_golden` rewrites the
//! `"expected"` part of every file from the engine's output (nothing else in the file is
//! touched). Review the result with `git diff tests/golden/placement/` and check every changed
//! line against the rules before committing: blessing is for deliberate rule changes, not for
//! making a red test green. See `tests/golden/README.md`.

use std::path::{Path, PathBuf};

use serde_json::Value;

use hapolicy::model::Inventory;
use hapolicy::placement::{plan_failover, FailoverPlan};

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/placement")
}

/// The outcome compared for one scenario, as ordered `[a, b]` pairs.
#[derive(Debug, PartialEq, Eq)]
struct Outcome {
    placements: Vec<(String, String)>,
    unplaced: Vec<(String, String)>,
    not_restarted: Vec<(String, String)>,
}

impl Outcome {
    fn of_plan(plan: &FailoverPlan) -> Outcome {
        Outcome {
            placements: plan.placements.iter().map(|p| (p.vm.clone(), p.host.clone())).collect(),
            unplaced: plan.unplaced.iter().map(|u| (u.vm.clone(), u.reason.as_str().to_string())).collect(),
            not_restarted: plan.not_restarted.iter().map(|n| (n.vm.clone(), n.reason.as_str().to_string())).collect(),
        }
    }

    fn of_expected(expected: &Value) -> Result<Outcome, String> {
        let pairs = |key: &str, required: bool| -> Result<Vec<(String, String)>, String> {
            match expected.get(key) {
                None if !required => Ok(Vec::new()),
                None => Err(format!("expected.{key} is missing")),
                Some(Value::Array(items)) => items
                    .iter()
                    .map(|item| match item.as_array().map(Vec::as_slice) {
                        Some([Value::String(a), Value::String(b)]) => Ok((a.clone(), b.clone())),
                        _ => Err(format!("expected.{key}: each entry must be [string, string], got {item}")),
                    })
                    .collect(),
                Some(other) => Err(format!("expected.{key} must be a list, got {other}")),
            }
        };
        Ok(Outcome {
            placements: pairs("placements", true)?,
            unplaced: pairs("unplaced", true)?,
            not_restarted: pairs("not_restarted", false)?,
        })
    }

    /// The `"expected": {...}` text as blessing writes it: one pair per line.
    fn render(&self) -> String {
        let list = |pairs: &[(String, String)]| -> String {
            if pairs.is_empty() {
                return "[]".to_string();
            }
            let lines: Vec<String> = pairs
                .iter()
                .map(|(a, b)| format!("      [{}, {}]", Value::from(a.as_str()), Value::from(b.as_str())))
                .collect();
            format!("[\n{}\n    ]", lines.join(",\n"))
        };
        let mut parts = vec![
            format!("    \"placements\": {}", list(&self.placements)),
            format!("    \"unplaced\": {}", list(&self.unplaced)),
        ];
        if !self.not_restarted.is_empty() {
            parts.push(format!("    \"not_restarted\": {}", list(&self.not_restarted)));
        }
        format!("\"expected\": {{\n{}\n  }}\n}}\n", parts.join(",\n"))
    }
}

struct Scenario {
    path: PathBuf,
    text: String,
    doc: Value,
}

fn load_corpus() -> Vec<Scenario> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(corpus_dir())
        .expect("tests/golden/placement exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    paths.sort();
    paths
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let doc: Value =
                serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: invalid JSON: {e}", path.display()));
            Scenario { path, text, doc }
        })
        .collect()
}

fn string_list(doc: &Value, key: &str) -> Result<Vec<String>, String> {
    match doc.get(key) {
        None => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| v.as_str().map(str::to_string).ok_or_else(|| format!("{key}: expected strings, got {v}")))
            .collect(),
        Some(other) => Err(format!("{key} must be a list, got {other}")),
    }
}

/// Runs one scenario: the plan, or a message about a malformed scenario file.
fn run(doc: &Value) -> Result<(Inventory, FailoverPlan), String> {
    for key in ["description", "inventory", "expected"] {
        if doc.get(key).is_none() {
            return Err(format!("missing \"{key}\""));
        }
    }
    let inv = hapolicy::parse::from_value(&doc["inventory"]).map_err(|e| format!("inventory: {e}"))?;
    // A warning is almost always a typo in a hand-written file (an ignored field).
    if !inv.warnings.is_empty() {
        let list: Vec<String> = inv.warnings.iter().map(|w| w.to_string()).collect();
        return Err(format!("inventory has warnings:\n  {}", list.join("\n  ")));
    }
    let failed = string_list(doc, "failed_hosts")?;
    let isolated = string_list(doc, "isolated_hosts")?;
    let plan = plan_failover(&inv, &failed, &isolated).map_err(|e| format!("plan_failover: {e}"))?;
    Ok((inv, plan))
}

fn diff_section(name: &str, expected: &[(String, String)], actual: &[(String, String)], out: &mut String) {
    if expected == actual {
        return;
    }
    out.push_str(&format!("  {name}:\n"));
    let longest = expected.len().max(actual.len());
    for i in 0..longest {
        match (expected.get(i), actual.get(i)) {
            (Some(e), Some(a)) if e == a => out.push_str(&format!("      {}  {}\n", e.0, e.1)),
            (e, a) => {
                if let Some(e) = e {
                    out.push_str(&format!("    - {}  {}\n", e.0, e.1));
                }
                if let Some(a) = a {
                    out.push_str(&format!("    + {}  {}\n", a.0, a.1));
                }
            }
        }
    }
}

fn vms_that_differ(expected: &Outcome, actual: &Outcome) -> Vec<String> {
    let mut vms: Vec<String> = Vec::new();
    let sets = [
        (&expected.placements, &actual.placements),
        (&expected.unplaced, &actual.unplaced),
        (&expected.not_restarted, &actual.not_restarted),
    ];
    for (e, a) in sets {
        for pair in e.iter().filter(|p| !a.contains(p)).chain(a.iter().filter(|p| !e.contains(p))) {
            if !vms.contains(&pair.0) {
                vms.push(pair.0.clone());
            }
        }
    }
    vms
}

fn bless(scenario: &Scenario, actual: &Outcome) {
    let Some(Value::Object(map)) = Some(&scenario.doc) else {
        return;
    };
    assert_eq!(
        map.keys().next_back().map(String::as_str),
        Some("expected"),
        "{}: \"expected\" must be the last key to bless it",
        scenario.path.display()
    );
    let at = scenario.text.rfind("\"expected\"").expect("the key is in the text");
    let blessed = format!("{}{}", &scenario.text[..at], actual.render());
    // Nothing but "expected" may change.
    let mut reread: Value = serde_json::from_str(&blessed).expect("blessed file is valid JSON");
    let mut original = scenario.doc.clone();
    if let (Some(a), Some(b)) = (reread.as_object_mut(), original.as_object_mut()) {
        a.remove("expected");
        b.remove("expected");
    }
    assert_eq!(reread, original, "{}: blessing would change more than \"expected\"", scenario.path.display());
    if blessed != scenario.text {
        std::fs::write(&scenario.path, blessed).expect("write blessed file");
        eprintln!("blessed {}", scenario.path.display());
    }
}

#[test]
fn golden_placement_corpus() {
    let blessing = std::env::var("HAPOLICY_BLESS").is_ok_and(|v| v == "1");
    let corpus = load_corpus();
    assert!(corpus.len() >= 40, "the corpus should hold at least 40 scenarios, found {}", corpus.len());
    let mut failures = Vec::new();
    for scenario in &corpus {
        let name = scenario.path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let description = scenario.doc.get("description").and_then(Value::as_str).unwrap_or("").to_string();
        let (inv, plan) = match run(&scenario.doc) {
            Ok(done) => done,
            Err(msg) => {
                failures.push(format!("{name}: {msg}"));
                continue;
            }
        };
        let actual = Outcome::of_plan(&plan);
        if blessing {
            bless(scenario, &actual);
            continue;
        }
        let expected = match Outcome::of_expected(&scenario.doc["expected"]) {
            Ok(e) => e,
            Err(msg) => {
                failures.push(format!("{name}: {msg}"));
                continue;
            }
        };
        if expected != actual {
            let mut report = format!("{name}: {description}\n");
            diff_section("placements", &expected.placements, &actual.placements, &mut report);
            diff_section("unplaced", &expected.unplaced, &actual.unplaced, &mut report);
            diff_section("not_restarted", &expected.not_restarted, &actual.not_restarted, &mut report);
            for vm in vms_that_differ(&expected, &actual) {
                report.push_str(&format!("  explain({vm}):\n"));
                let text = plan.explain(&inv, &vm).unwrap_or_else(|e| format!("explain failed: {e}"));
                for line in text.lines() {
                    report.push_str(&format!("    | {line}\n"));
                }
            }
            failures.push(report);
        }
    }
    if !failures.is_empty() {
        panic!(
            "{} of {} placement scenarios differ (- expected, + actual):\n\n{}",
            failures.len(),
            corpus.len(),
            failures.join("\n")
        );
    }
}

/// Every rule family of R-PLACE has scenarios, named by prefix.
#[test]
fn corpus_covers_every_rule_family() {
    let names: Vec<String> =
        load_corpus().iter().filter_map(|s| s.path.file_name().map(|n| n.to_string_lossy().into_owned())).collect();
    for prefix in ["select_", "order_", "feasible_", "rules_", "choice_", "unplaced_"] {
        let count = names.iter().filter(|n| n.starts_with(prefix)).count();
        assert!(count >= 3, "only {count} scenarios named {prefix}*");
    }
    for scenario in load_corpus() {
        let d = scenario.doc.get("description").and_then(Value::as_str).unwrap_or("");
        assert!(!d.is_empty() && !d.contains('\n'), "{}: needs a one-line description", scenario.path.display());
    }
}
