//! Names beside ids: `Inventory::resolve_*` (an id, or a name one object carries), labels
//! (`host-21 (esx-01)`) in explanations and timelines, and names in scenario events.
//!
//! The inventory is written here so every expectation can be checked by eye: two hosts share
//! the name `esx-dup`, `host-3` has no name of its own (it is named after its id), and VM `vm-2`
//! is named `host-1` — a name that is another object's id (ids win).

use hapolicy::model::Labels;
use hapolicy::placement::plan_failover;
use hapolicy::sim::{Scenario, Simulation};
use hapolicy::{parse, Error, Inventory};
use serde_json::{json, Value};

fn doc() -> Value {
    json!({
        "cluster": {"name": "names", "version": "8.0", "admission_control": {"policy": "disabled"}},
        "datastores": [
            {"id": "datastore-1", "name": "gold-01"},
            {"id": "datastore-2", "name": "gold-02"}
        ],
        "hosts": [
            {"id": "host-1", "name": "esx-01.corp.example", "cpu_mhz": 10000, "memory_mb": 10000,
             "datastores": ["datastore-1", "datastore-2"]},
            {"id": "host-2", "name": "esx-dup", "cpu_mhz": 10000, "memory_mb": 10000,
             "datastores": ["datastore-1", "datastore-2"]},
            {"id": "host-3", "cpu_mhz": 10000, "memory_mb": 10000, "datastores": ["datastore-1"]},
            {"id": "host-4", "name": "esx-dup", "cpu_mhz": 10000, "memory_mb": 10000,
             "datastores": ["datastore-1"]}
        ],
        "vms": [
            {"id": "vm-1", "name": "sql01", "host": "host-1", "home_datastore": "datastore-2",
             "memory_reservation_mb": 1000},
            {"id": "vm-2", "name": "host-1", "host": "host-1", "home_datastore": "datastore-1"}
        ]
    })
}

fn inventory() -> Inventory {
    parse::from_value(&doc()).expect("the test inventory is valid")
}

#[test]
fn resolve_accepts_ids_and_unique_names() {
    let inv = inventory();
    assert_eq!(inv.resolve_host_id("host-1").unwrap(), "host-1");
    assert_eq!(inv.resolve_host_id("esx-01.corp.example").unwrap(), "host-1");
    assert_eq!(inv.resolve_vm_id("sql01").unwrap(), "vm-1");
    assert_eq!(inv.resolve_datastore_id("gold-02").unwrap(), "datastore-2");
    // An id wins over a name: "host-1" is vm-2's name, but as a VM reference it names no VM by
    // id, so it resolves by name; as a host it is host-1's id.
    assert_eq!(inv.resolve_vm_id("host-1").unwrap(), "vm-2");
    assert_eq!(inv.resolve_host_id("host-1").unwrap(), "host-1");
    // Kinds do not mix: a VM name is no host.
    assert_eq!(inv.resolve_host_id("sql01"), Err(Error::UnknownId { kind: "host", id: "sql01".into() }));
}

#[test]
fn an_ambiguous_name_names_every_candidate() {
    let inv = inventory();
    let err = inv.resolve_host("esx-dup").unwrap_err();
    assert_eq!(
        err,
        Error::AmbiguousName {
            kind: "host",
            name: "esx-dup".into(),
            candidates: vec!["host-2".into(), "host-4".into()]
        }
    );
    assert_eq!(err.to_string(), "host name 'esx-dup' is ambiguous: host-2, host-4");
    assert_eq!(inv.resolve_host("nope").unwrap_err().to_string(), "unknown host 'nope'");
}

#[test]
fn labels_show_names_only_when_they_differ_from_the_id() {
    let inv = inventory();
    assert_eq!(inv.label("host-1"), "host-1 (esx-01.corp.example)");
    assert_eq!(inv.label("host-3"), "host-3"); // named after its id
    assert_eq!(inv.label("vm-1"), "vm-1 (sql01)");
    assert_eq!(inv.label("datastore-2"), "datastore-2 (gold-02)");
    assert_eq!(inv.label("host-99"), "host-99"); // unknown: unchanged
    assert_eq!(Labels::IDS.host("host-1"), "host-1");
    assert_eq!(inv.labels().hosts(&["host-1", "host-3"]), "host-1 (esx-01.corp.example), host-3");
}

#[test]
fn plans_take_host_names_and_explain_with_names() {
    let inv = inventory();
    let plan = plan_failover(&inv, &["esx-01.corp.example"], &[]).unwrap();
    assert_eq!(plan.failed_hosts, vec!["host-1".to_string()]); // the plan keeps ids
    let text = plan.explain(&inv, "sql01").unwrap();
    // vm-1 needs datastore-2: host-2 is the only other host connected to it.
    assert!(text.starts_with("vm-1 (sql01) restarts on host-2 (esx-dup) (#"), "{text}");
    assert!(text.contains("  host-1 (esx-01.corp.example): refused — host failed"), "{text}");
    assert!(text.contains("  host-3: refused — not connected to datastore datastore-2 (gold-02)"), "{text}");
    assert!(matches!(
        plan_failover(&inv, &["esx-dup"], &[]),
        Err(Error::AmbiguousName { candidates, .. }) if candidates == ["host-2", "host-4"]
    ));
    assert!(matches!(plan.explain(&inv, "esx-dup"), Ok(_))); // not a VM name: "not on a failed host"
}

#[test]
fn scenario_events_may_name_hosts_and_timelines_show_names() {
    let mut scenario = json!({"inventory": doc(), "events": [
        {"at": 0, "type": "host_failure", "host": "esx-01.corp.example"}
    ], "until": 60});
    let s = Scenario::from_value(&scenario).unwrap();
    let (sim, events) = s.run().unwrap();
    let down = events.iter().find(|e| e.text().contains("hostDown")).expect("host-1 is declared down");
    assert_eq!(down.host.as_deref(), Some("host-1")); // events keep ids
    assert_eq!(
        down.text_with(sim.inventory().labels()),
        "t=+18.0s host-1 (esx-01.corp.example) hostDown (no network or datastore heartbeat)"
    );
    assert!(sim.timeline().contains("t=+0.0s fault host_failure host-1 (esx-01.corp.example)\n"));

    // An ambiguous name in an event is a problem at its path, naming the candidates.
    scenario["events"][0]["host"] = json!("esx-dup");
    match Scenario::from_value(&scenario) {
        Err(Error::Invalid(problems)) => {
            assert_eq!(problems.len(), 1);
            assert_eq!(problems[0].path, "events[0].host");
            assert_eq!(problems[0].message, "host name 'esx-dup' is ambiguous: host-2, host-4");
        }
        other => panic!("expected a problem, got {other:?}"),
    }
}

#[test]
fn simulation_faults_take_names() {
    let mut sim = Simulation::new(inventory()).unwrap();
    sim.fail_host("esx-01.corp.example", 0.0).unwrap();
    assert!(matches!(sim.isolate_host("esx-dup", 0.0, None), Err(Error::AmbiguousName { .. })));
    let events = sim.run(60.0).unwrap();
    assert!(events.iter().any(|e| e.host.as_deref() == Some("host-1") && e.text().contains("hostDown")));
}

#[test]
fn an_edited_copy_does_not_resolve_through_stale_indexes() {
    // The vectors are public; a copy edited in place keeps its old id index. Resolving must
    // not answer with whatever object now sits at the old position.
    let mut inv = inventory();
    inv.vms.retain(|v| v.id != "vm-1");
    assert!(inv.resolve_vm("vm-1").is_err());
}

#[test]
fn fault_events_record_ids_whatever_names_were_used() {
    let run = |host: &str, ds: &str| {
        let mut sim = Simulation::new(inventory()).unwrap();
        sim.partition(vec![vec![host.to_string()]], 0.0, Some(30.0)).unwrap();
        sim.datastore_apd(ds, 0.0, None, Some(vec![host.to_string()])).unwrap();
        sim.datastore_pdl(ds, 1.0, None).unwrap();
        sim.run(60.0).unwrap()
    };
    let by_name = run("esx-01.corp.example", "gold-01");
    assert_eq!(by_name, run("host-1", "datastore-1"));
    let faults: Vec<&Value> = by_name.iter().filter(|e| e.text().contains(" fault ")).map(|e| &e.detail).collect();
    assert!(faults.contains(&&json!({"type": "partition", "groups": [["host-1"]]})), "{faults:?}");
    assert!(faults.iter().any(|d| d["type"] == "datastore_apd" && d["datastore"] == "datastore-1"), "{faults:?}");
    assert!(faults.iter().any(|d| d["type"] == "datastore_pdl" && d["datastore"] == "datastore-1"), "{faults:?}");
}
