//! The malformed-inventory corpus (`tests/invalid/`, format in its README.md): every document is
//! read through `hapolicy::parse` and must give exactly the problems its `.expected` file lists —
//! same paths, each message containing the listed gist. Cases whose `errors` list is empty must
//! load, with exactly the listed warnings.

use std::path::{Path, PathBuf};

use hapolicy::model::Problem;
use hapolicy::parse;
use hapolicy::Error;
use serde_json::Value;

/// One expected problem: a path and the substrings its message must contain.
#[derive(Debug)]
struct Expect {
    path: String,
    gists: Vec<String>,
}

struct Case {
    name: String,
    document: PathBuf,
    description: String,
    errors: Vec<Expect>,
    warnings: Vec<Expect>,
}

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests").join("invalid")
}

fn read_expects(v: Option<&Value>, file: &Path, key: &str) -> Vec<Expect> {
    let Some(v) = v else { return Vec::new() };
    let items = v.as_array().unwrap_or_else(|| panic!("{}: '{key}' must be a list", file.display()));
    items
        .iter()
        .map(|item| {
            let pair = item.as_array().filter(|p| p.len() == 2);
            let pair = pair.unwrap_or_else(|| panic!("{}: each '{key}' entry is [path, gist]: {item}", file.display()));
            let path = pair[0].as_str().unwrap_or_else(|| panic!("{}: path must be a string: {item}", file.display()));
            let gists = match &pair[1] {
                Value::String(s) => vec![s.clone()],
                Value::Array(list) => list
                    .iter()
                    .map(|g| g.as_str().map(str::to_string))
                    .collect::<Option<Vec<_>>>()
                    .unwrap_or_else(|| panic!("{}: gists must be strings: {item}", file.display())),
                other => panic!("{}: gist must be a string or a list of strings: {other}", file.display()),
            };
            Expect { path: path.to_string(), gists }
        })
        .collect()
}

fn load_cases() -> Vec<Case> {
    let dir = corpus_dir();
    let mut entries: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .collect();
    entries.sort();
    let mut cases = Vec::new();
    for expected in entries.iter().filter(|p| p.extension().is_some_and(|e| e == "expected")) {
        let stem = expected.file_stem().and_then(|s| s.to_str()).expect("utf-8 file name").to_string();
        let documents: Vec<&PathBuf> = entries
            .iter()
            .filter(|p| p.file_stem().and_then(|s| s.to_str()) == Some(stem.as_str()) && *p != expected)
            .collect();
        assert_eq!(documents.len(), 1, "{stem}: expected exactly one document next to {}", expected.display());
        let text = std::fs::read_to_string(expected).expect("readable .expected");
        let spec: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", expected.display()));
        cases.push(Case {
            name: stem,
            document: documents[0].clone(),
            description: spec.get("description").and_then(Value::as_str).unwrap_or("").to_string(),
            errors: read_expects(spec.get("errors"), expected, "errors"),
            warnings: read_expects(spec.get("warnings"), expected, "warnings"),
        });
    }
    // Every document has its expectations.
    for p in &entries {
        let ext = p.extension().and_then(|e| e.to_str()).unwrap_or("");
        if matches!(ext, "json" | "yaml" | "yml") {
            let stem = p.file_stem().and_then(|s| s.to_str()).unwrap_or("");
            assert!(cases.iter().any(|c| c.name == stem), "{}: no .expected file", p.display());
        }
    }
    cases
}

fn parse_file(path: &Path) -> hapolicy::Result<hapolicy::Inventory> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    match path.extension().and_then(|e| e.to_str()) {
        Some("yaml" | "yml") => parse::from_yaml_str(&text),
        _ => parse::from_json_str(&text),
    }
}

fn show(problems: &[Problem]) -> String {
    if problems.is_empty() {
        return "    (none)".to_string();
    }
    problems.iter().map(|p| format!("    {}: {}", p.path, p.message)).collect::<Vec<_>>().join("\n")
}

fn show_expected(expects: &[Expect]) -> String {
    if expects.is_empty() {
        return "    (none)".to_string();
    }
    expects.iter().map(|e| format!("    {}: …{}…", e.path, e.gists.join("…"))).collect::<Vec<_>>().join("\n")
}

/// Every expectation matched by a distinct actual problem at the same path whose message holds
/// every gist, and nothing left over. Returns a description of the mismatch.
fn compare(actual: &[Problem], expected: &[Expect]) -> Option<String> {
    let mut used = vec![false; actual.len()];
    let mut missing = Vec::new();
    for e in expected {
        let hit = actual
            .iter()
            .enumerate()
            .position(|(i, p)| !used[i] && p.path == e.path && e.gists.iter().all(|g| p.message.contains(g.as_str())));
        match hit {
            Some(i) => used[i] = true,
            None => missing.push(format!("    {}: …{}…", e.path, e.gists.join("…"))),
        }
    }
    let extra: Vec<String> =
        actual.iter().zip(&used).filter(|(_, u)| !**u).map(|(p, _)| format!("    {}: {}", p.path, p.message)).collect();
    if missing.is_empty() && extra.is_empty() {
        return None;
    }
    let mut out = String::new();
    if !missing.is_empty() {
        out += &format!("  expected but not reported:\n{}\n", missing.join("\n"));
    }
    if !extra.is_empty() {
        out += &format!("  reported but not expected:\n{}\n", extra.join("\n"));
    }
    Some(out)
}

fn check(case: &Case) -> Option<String> {
    let result = parse_file(&case.document);
    let header = format!(
        "{} ({})\n  {}\n",
        case.name,
        case.document.file_name().and_then(|n| n.to_str()).unwrap_or(""),
        case.description
    );
    match (result, case.errors.is_empty()) {
        (Ok(inv), true) => compare(&inv.warnings, &case.warnings).map(|d| {
            format!(
                "{header}  warnings differ:\n{d}  expected warnings:\n{}\n  actual warnings:\n{}",
                show_expected(&case.warnings),
                show(&inv.warnings)
            )
        }),
        (Ok(inv), false) => Some(format!(
            "{header}  loaded, but these errors were expected:\n{}\n  (warnings: {})",
            show_expected(&case.errors),
            show(&inv.warnings)
        )),
        (Err(Error::Invalid(problems)), expect_ok) => {
            let mut sorted = problems.clone();
            sorted.sort();
            if sorted != problems {
                return Some(format!("{header}  problems are not sorted by path:\n{}", show(&problems)));
            }
            if expect_ok {
                return Some(format!("{header}  expected to load, got:\n{}", show(&problems)));
            }
            compare(&problems, &case.errors).map(|d| {
                format!("{header}{d}  expected:\n{}\n  actual:\n{}", show_expected(&case.errors), show(&problems))
            })
        }
        (Err(other), _) => Some(format!("{header}  expected Error::Invalid, got {other:?}")),
    }
}

#[test]
fn corpus_has_enough_cases() {
    let cases = load_cases();
    let failing = cases.iter().filter(|c| !c.errors.is_empty()).count();
    assert!(failing >= 30, "only {failing} malformed cases in {}", corpus_dir().display());
    assert!(cases.iter().any(|c| c.errors.is_empty() && !c.warnings.is_empty()), "no warnings-only case");
}

#[test]
fn every_case_reports_exactly_the_expected_problems() {
    let cases = load_cases();
    let failures: Vec<String> = cases.iter().filter_map(check).collect();
    assert!(
        failures.is_empty(),
        "{} of {} corpus cases failed:\n\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n\n")
    );
}

#[test]
fn error_display_lists_every_problem() {
    // `str()` in Python shows them all; the Rust Display does the same.
    let path = corpus_dir().join("48_many_problems.json");
    let err = parse_file(&path).expect_err("invalid");
    let Error::Invalid(problems) = &err else { panic!("{err:?}") };
    let text = err.to_string();
    assert!(text.starts_with(&format!("{} problems in the input", problems.len())), "{text}");
    for p in problems {
        assert!(text.contains(&format!("{}: {}", p.path, p.message)), "{text}");
    }
}

#[test]
fn documents_also_fail_through_from_value() {
    // The JSON cases that are syntactically valid give the same problems from a decoded tree.
    for case in load_cases() {
        if case.document.extension().is_none_or(|e| e != "json") {
            continue;
        }
        let text = std::fs::read_to_string(&case.document).expect("readable");
        let Ok(doc) = parse::parse_json_text(&text) else {
            continue;
        };
        let a = parse::from_value(&doc).map(|_| ()).map_err(|e| e.to_string());
        let b = parse_file(&case.document).map(|_| ()).map_err(|e| e.to_string());
        assert_eq!(a, b, "{}", case.name);
    }
}

// ---------------------------------------------------------------------------- never panics

mod fuzz {
    use hapolicy::parse;
    use hapolicy::Error;
    use proptest::prelude::*;
    use serde_json::{Map, Value};

    /// Keys and strings the reader knows, so random documents reach deep into it.
    const WORDS: &[&str] = &[
        "cluster",
        "hosts",
        "datastores",
        "vms",
        "rules",
        "id",
        "name",
        "cpu_mhz",
        "memory_mb",
        "state",
        "maintenance",
        "standby",
        "goodness",
        "networks",
        "host",
        "power_state",
        "cpu_reservation_mhz",
        "memory_reservation_mb",
        "memory_overhead_mb",
        "home_datastore",
        "restart_priority",
        "isolation_response",
        "role",
        "protected",
        "type",
        "vm",
        "depends_on",
        "version",
        "admission_control",
        "policy",
        "host_failures",
        "cpu_percent",
        "memory_percent",
        "slot_cpu_mhz",
        "slot_memory_mb",
        "heartbeat_datastores",
        "preferred",
        "advanced_options",
        "vmcp",
        "vm_monitoring",
        "sensitivity",
        "mode",
        "apd",
        "pdl",
        "apd_delay_s",
        "failure_interval_s",
        "enabled",
        "backing",
        "host-1",
        "host-2",
        "vm-1",
        "vm-2",
        "datastore-1",
        "poweredOn",
        "poweredOff",
        "slot",
        "percentage",
        "failoverHosts",
        "disabled",
        "vmAntiAffinity",
        "vmHostMust",
        "vmDependsOn",
        "VMFS",
        "5.0",
        "6.5",
        "8.0",
        "custom",
        "das.vmCpuMinMHz",
        "das.heartbeatDsPerHost",
        "DAS.VMCPUMINMHZ",
        "",
        " ",
    ];

    fn word() -> impl Strategy<Value = String> {
        prop_oneof![
            4 => proptest::sample::select(WORDS).prop_map(str::to_string),
            1 => "\\PC{0,12}",
        ]
    }

    fn number() -> impl Strategy<Value = Value> {
        prop_oneof![
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            (0u64..300_000).prop_map(Value::from),
            any::<f64>().prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
            (-10.0f64..10.0).prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        ]
    }

    fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            number(),
            word().prop_map(Value::String),
        ];
        leaf.prop_recursive(5, 96, 8, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                proptest::collection::vec((word(), inner), 0..8)
                    .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<_, _>>())),
            ]
        })
    }

    fn lab() -> Value {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/lab.json");
        let text = std::fs::read_to_string(path).expect("examples/lab.json");
        serde_json::from_str(&text).expect("lab.json is JSON")
    }

    /// JSON pointers to every node of a document.
    fn pointers(v: &Value, at: String, out: &mut Vec<String>) {
        match v {
            Value::Array(items) => {
                for (i, x) in items.iter().enumerate() {
                    pointers(x, format!("{at}/{i}"), out);
                }
            }
            Value::Object(m) => {
                for (k, x) in m {
                    pointers(x, format!("{at}/{}", k.replace('~', "~0").replace('/', "~1")), out);
                }
            }
            _ => {}
        }
        out.push(at);
    }

    #[derive(Debug, Clone)]
    enum Mutation {
        Replace(Value),
        Remove,
        DuplicateSibling,
        Negate,
        Stringify,
        SwapWithOther(usize),
    }

    fn mutation() -> impl Strategy<Value = Mutation> {
        prop_oneof![
            3 => json_value().prop_map(Mutation::Replace),
            2 => Just(Mutation::Remove),
            1 => Just(Mutation::DuplicateSibling),
            1 => Just(Mutation::Negate),
            1 => Just(Mutation::Stringify),
            2 => any::<usize>().prop_map(Mutation::SwapWithOther),
        ]
    }

    fn apply(doc: &mut Value, pick: usize, m: &Mutation) {
        let mut ptrs = Vec::new();
        pointers(doc, String::new(), &mut ptrs);
        let target = ptrs[pick % ptrs.len()].clone();
        let other = match m {
            Mutation::SwapWithOther(j) => doc.pointer(&ptrs[j % ptrs.len()]).cloned(),
            _ => None,
        };
        let (parent_ptr, last) = match target.rfind('/') {
            Some(i) => (target[..i].to_string(), target[i + 1..].replace("~1", "/").replace("~0", "~")),
            None => (String::new(), String::new()),
        };
        match m {
            Mutation::Replace(v) => {
                if let Some(slot) = doc.pointer_mut(&target) {
                    *slot = v.clone();
                }
            }
            Mutation::SwapWithOther(_) => {
                if let (Some(slot), Some(v)) = (doc.pointer_mut(&target), other) {
                    *slot = v;
                }
            }
            Mutation::Negate => {
                if let Some(slot) = doc.pointer_mut(&target) {
                    if let Some(f) = slot.as_f64() {
                        *slot = serde_json::Number::from_f64(-f - 0.5).map_or(Value::Null, Value::Number);
                    }
                }
            }
            Mutation::Stringify => {
                if let Some(slot) = doc.pointer_mut(&target) {
                    *slot = Value::String(slot.to_string());
                }
            }
            Mutation::Remove | Mutation::DuplicateSibling => {
                if target.is_empty() {
                    return;
                }
                match doc.pointer_mut(&parent_ptr) {
                    Some(Value::Object(map)) => {
                        if matches!(m, Mutation::Remove) {
                            map.shift_remove(&last);
                        }
                    }
                    Some(Value::Array(items)) => {
                        if let Ok(i) = last.parse::<usize>() {
                            if i < items.len() {
                                if matches!(m, Mutation::Remove) {
                                    items.remove(i);
                                } else {
                                    let copy = items[i].clone();
                                    items.push(copy);
                                }
                            }
                        }
                    }
                    _ => {}
                }
            }
        }
    }

    /// The contract: Ok, or Err(Invalid) with at least one problem, each with a path and a message.
    fn check_outcome(doc: &Value) -> Result<(), TestCaseError> {
        match parse::from_value(doc) {
            Ok(inv) => {
                // A valid inventory survives the trip through its document form unchanged.
                let again = parse::from_value(&hapolicy::serialize::to_value(&inv));
                prop_assert!(again.as_ref().is_ok_and(|a| *a == inv), "round trip failed: {again:?}");
            }
            Err(Error::Invalid(problems)) => {
                prop_assert!(!problems.is_empty(), "Invalid with no problem");
                for p in &problems {
                    prop_assert!(!p.path.is_empty() && !p.message.is_empty(), "empty path or message: {p:?}");
                }
            }
            Err(other) => prop_assert!(false, "expected Error::Invalid, got {other:?}"),
        }
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

        #[test]
        fn random_values_never_panic(doc in json_value()) {
            check_outcome(&doc)?;
        }

        #[test]
        fn random_inventory_shaped_values_never_panic(
            hosts in proptest::collection::vec(json_value(), 0..4),
            vms in proptest::collection::vec(json_value(), 0..4),
            datastores in proptest::collection::vec(json_value(), 0..3),
            rules in proptest::collection::vec(json_value(), 0..3),
            cluster in json_value(),
        ) {
            let doc = serde_json::json!({
                "cluster": cluster, "hosts": hosts, "vms": vms, "datastores": datastores, "rules": rules,
            });
            check_outcome(&doc)?;
        }

        #[test]
        fn mutations_of_the_lab_never_panic(
            edits in proptest::collection::vec((any::<usize>(), mutation()), 1..5)
        ) {
            let mut doc = lab();
            for (pick, m) in &edits {
                apply(&mut doc, *pick, m);
            }
            check_outcome(&doc)?;
        }

        #[test]
        fn mutated_text_never_panics(cuts in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..6)) {
            let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/lab.json")).expect("lab");
            let mut bytes = text.into_bytes();
            for (at, b) in cuts {
                let i = at % bytes.len();
                bytes[i] = b;
            }
            let text = String::from_utf8_lossy(&bytes);
            for result in [parse::from_json_str(&text), parse::from_yaml_str(&text)] {
                match result {
                    Ok(_) => {}
                    Err(Error::Invalid(problems)) => prop_assert!(!problems.is_empty()),
                    Err(other) => prop_assert!(false, "expected Error::Invalid, got {other:?}"),
                }
            }
        }

        #[test]
        fn random_yaml_text_never_panics(text in "[-a-z0-9:{}\\[\\],'\"!&*?|>#. \\n]{0,80}") {
            match parse::from_yaml_str(&text) {
                Ok(_) => {}
                Err(Error::Invalid(problems)) => prop_assert!(!problems.is_empty()),
                Err(other) => prop_assert!(false, "expected Error::Invalid, got {other:?}"),
            }
        }
    }

    #[test]
    fn deeply_nested_input_is_refused_not_overflowed() {
        // serde's recursion limit turns this into a syntax error, never a stack overflow.
        let deep = "[".repeat(100_000) + &"]".repeat(100_000);
        assert!(matches!(parse::from_json_str(&deep), Err(Error::Invalid(_))));
        let deep_yaml = "[".repeat(100_000) + &"]".repeat(100_000);
        assert!(matches!(parse::from_yaml_str(&deep_yaml), Err(Error::Invalid(_))));
    }

    #[test]
    fn yaml_alias_bomb_is_refused_or_bounded() {
        // "Billion laughs": nine levels of nine aliases.
        let mut text =
            String::from("a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n");
        let names = ["a", "b", "c", "d", "e", "f", "g", "h", "i"];
        for w in names.windows(2) {
            let (prev, next) = (w[0], w[1]);
            text +=
                &format!("{next}: &{next} [*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev}]\n");
        }
        assert!(matches!(parse::from_yaml_str(&text), Err(Error::Invalid(_))));
    }
}
