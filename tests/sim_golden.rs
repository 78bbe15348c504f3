//! Golden timelines: every `tests/golden/sim/*.json` holds `{"description", "scenario":
//! {"inventory", "events", "until"}, "expected": [timeline lines]}`; the expectations are written
//! by hand from the rule book (docs/rules.rst). `HAPOLICY_BLESS=1 cargo test --test sim_golden`
//! rewrites `expected` with what the engine produces (for review with `git diff`, never blindly).

use std::path::{Path, PathBuf};

use hapolicy::model::PowerState;
use hapolicy::sim::{Event, EventKind, Scenario};
use serde_json::Value;

fn corpus() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/sim");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("tests/golden/sim exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    files
}

fn lines(events: &[Event]) -> Vec<String> {
    events.iter().map(Event::text).collect()
}

/// Runs one scenario twice and checks the invariants; returns the timeline lines.
fn run(path: &Path, doc: &Value) -> Result<Vec<String>, String> {
    let name = path.file_name().unwrap().to_string_lossy().to_string();
    let scenario = Scenario::from_value(&doc["scenario"]).map_err(|e| format!("{name}: {e}"))?;
    let (sim, events) = scenario.run().map_err(|e| format!("{name}: {e}"))?;
    let (_, again) = scenario.run().map_err(|e| format!("{name}: {e}"))?;
    sim.check_consistency().map_err(|e| format!("{name}: {e}"))?;
    if events != again {
        return Err(format!("{name}: the repeat run differs"));
    }
    for w in events.windows(2) {
        if w[1].time < w[0].time {
            return Err(format!("{name}: events out of order: {} / {}", w[0].text(), w[1].text()));
        }
    }
    // No VM on two hosts unless a split brain was reported.
    for (vm, hosts) in sim.vm_hosts() {
        if hosts.len() > 1
            && !events.iter().any(|e| e.kind == EventKind::SplitBrain && e.vm.as_deref() == Some(vm.as_str()))
        {
            return Err(format!("{name}: {vm} runs on {hosts:?} without a split_brain event"));
        }
    }
    // Every protected VM ends running or with a recorded reason.
    let states = sim.vm_states();
    for vm in scenario.inventory.vms.iter().filter(|v| v.protected && v.is_powered_on()) {
        let running = states[&vm.id].0 == PowerState::PoweredOn;
        let accounted = events.iter().any(|e| {
            e.vm.as_deref() == Some(vm.id.as_str())
                && matches!(
                    e.kind,
                    EventKind::RestartGaveUp
                        | EventKind::VmNotRestarted
                        | EventKind::VmUnplaced
                        | EventKind::IsolationResponse
                        | EventKind::VmcpNoAction
                        | EventKind::RestartFailed
                )
        });
        // Still being handled at the end (e.g. waiting for a retry, or for a master).
        if !running && !accounted {
            return Err(format!("{name}: protected {} neither running nor accounted for", vm.id));
        }
    }
    Ok(lines(&events))
}

#[test]
fn golden_timelines() {
    let bless = std::env::var("HAPOLICY_BLESS").is_ok_and(|v| v == "1");
    let files = corpus();
    assert!(!files.is_empty(), "no golden scenarios");
    let mut failures = Vec::new();
    for path in &files {
        let text = std::fs::read_to_string(path).unwrap();
        let mut doc: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let got = match run(path, &doc) {
            Ok(l) => l,
            Err(e) => {
                failures.push(e);
                continue;
            }
        };
        let expected: Vec<String> = doc["expected"]
            .as_array()
            .map(|a| a.iter().filter_map(|l| l.as_str().map(str::to_string)).collect())
            .unwrap_or_default();
        if got != expected {
            if bless {
                doc["expected"] = Value::from(got.clone());
                std::fs::write(path, serde_json::to_string_pretty(&doc).unwrap() + "\n").unwrap();
            } else {
                let mut diff = format!("{}:\n", path.file_name().unwrap().to_string_lossy());
                let n = got.len().max(expected.len());
                for i in 0..n {
                    let g = got.get(i).map(String::as_str).unwrap_or("<none>");
                    let e = expected.get(i).map(String::as_str).unwrap_or("<none>");
                    let mark = if g == e { "  " } else { "!!" };
                    diff.push_str(&format!("{mark} expected: {e}\n   got:      {g}\n"));
                }
                failures.push(diff);
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} golden scenarios failed:\n{}",
        failures.len(),
        files.len(),
        failures.join("\n")
    );
}
