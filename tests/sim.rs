//! Simulation tests: the exact instants of R-TIME and the rules of R-ISO, R-PLACE-4,
//! R-PLACE-DRS, R-ORCH, R-OUTAGE, R-VMCP and R-VMMON (the rule book, docs/rules.rst) on small inventories.

use hapolicy::classify::HostState;
use hapolicy::model::PowerState;
use hapolicy::sim::{Event, EventKind, Scenario, Simulation};
use serde_json::{json, Value};

/// Three hosts sharing two VMFS datastores (heartbeat datastores exist); host-3 is the master
/// (same datastore count, lexically largest id). VMs given as (id, host, extra fields).
fn inventory(version: &str, cluster: Value, vms: Vec<Value>) -> Value {
    let mut c = json!({"name": "c", "version": version, "admission_control": {"policy": "disabled"}});
    if let (Value::Object(base), Value::Object(extra)) = (&mut c, cluster) {
        for (k, v) in extra {
            base.insert(k, v);
        }
    }
    json!({
        "cluster": c,
        "hosts": [
            {"id": "host-1", "name": "esx-1", "cpu_mhz": 10000, "memory_mb": 16384, "datastores": ["ds-1", "ds-2"]},
            {"id": "host-2", "name": "esx-2", "cpu_mhz": 10000, "memory_mb": 16384, "datastores": ["ds-1", "ds-2"]},
            {"id": "host-3", "name": "esx-3", "cpu_mhz": 10000, "memory_mb": 16384, "datastores": ["ds-1", "ds-2"]}
        ],
        "datastores": [{"id": "ds-1", "name": "vmfs-1", "type": "VMFS"}, {"id": "ds-2", "name": "vmfs-2", "type": "VMFS"}],
        "vms": vms
    })
}

fn vm(id: &str, host: &str, extra: Value) -> Value {
    let mut v = json!({"id": id, "name": id, "host": host, "power_state": "poweredOn",
                       "cpu_reservation_mhz": 500, "memory_reservation_mb": 1024, "memory_overhead_mb": 0,
                       "home_datastore": "ds-1"});
    if let (Value::Object(base), Value::Object(extra)) = (&mut v, extra) {
        for (k, x) in extra {
            base.insert(k, x);
        }
    }
    v
}

fn sim(doc: &Value) -> Simulation {
    let inv = hapolicy::parse::from_value(doc).expect("valid inventory");
    Simulation::new(inv).expect("simulation")
}

fn text(events: &[Event]) -> Vec<String> {
    events.iter().map(Event::text).collect()
}

fn first(events: &[Event], kind: EventKind, host: Option<&str>, vm: Option<&str>) -> Option<f64> {
    events
        .iter()
        .find(|e| {
            e.kind == kind && (host.is_none() || e.host.as_deref() == host) && (vm.is_none() || e.vm.as_deref() == vm)
        })
        .map(|e| e.time)
}

fn state_at(events: &[Event], host: &str, state: &str) -> Option<f64> {
    events
        .iter()
        .find(|e| e.kind == EventKind::HostState && e.host.as_deref() == Some(host) && e.detail["state"] == state)
        .map(|e| e.time)
}

/// Invariants of every run: no VM on two hosts unless split_brain was reported; every protected
/// VM ends running or with a recorded reason; the run is identical on repeat.
fn check_invariants(doc: &Value, faults: &dyn Fn(&mut Simulation), until: f64) -> (Simulation, Vec<Event>) {
    let mut a = sim(doc);
    faults(&mut a);
    let ev_a = a.run(until).unwrap();
    let mut b = sim(doc);
    faults(&mut b);
    let ev_b = b.run(until).unwrap();
    assert_eq!(text(&ev_a), text(&ev_b), "repeat run differs");
    a.check_consistency().unwrap_or_else(|e| panic!("{e}\n{}", text(&ev_a).join("\n")));
    assert_eq!(ev_a, ev_b);
    for (vm, hosts) in a.vm_hosts() {
        if hosts.len() > 1 {
            assert!(
                ev_a.iter().any(|e| e.kind == EventKind::SplitBrain && e.vm.as_deref() == Some(&vm)),
                "{vm} on {hosts:?}"
            );
        }
    }
    (a, ev_a)
}

fn assert_accounted(sim: &Simulation, events: &[Event], protected: &[&str]) {
    let states = sim.vm_states();
    for id in protected {
        let running = states[*id].0 == PowerState::PoweredOn;
        let reason = events.iter().any(|e| {
            e.vm.as_deref() == Some(*id)
                && matches!(
                    e.kind,
                    EventKind::RestartGaveUp
                        | EventKind::VmNotRestarted
                        | EventKind::VmUnplaced
                        | EventKind::IsolationResponse
                )
        });
        assert!(running || reason, "{id} neither running nor accounted for:\n{}", text(events).join("\n"));
    }
}

// ------------------------------------------------------------------ R-TIME rows

#[test]
fn master_elected_at_zero() {
    let doc = inventory("8.0", json!({}), vec![]);
    let mut s = sim(&doc);
    let ev = s.run(1.0).unwrap();
    assert_eq!(text(&ev), vec!["t=+0.0s host-3 elected master of host-1, host-2, host-3"]);
    assert_eq!(s.master().as_deref(), Some("host-3"));
    assert_eq!(s.host_states()["host-3"], HostState::Master);
    assert_eq!(s.host_states()["host-1"], HostState::ConnectedToMaster);
}

#[test]
fn slave_failure_with_heartbeat_datastores() {
    let doc = inventory("8.0", json!({}), vec![vm("vm-1", "host-1", json!({}))]);
    let (s, ev) = check_invariants(&doc, &|s| s.fail_host("host-1", 0.0).unwrap(), 600.0);
    assert_eq!(first(&ev, EventKind::HostUnreachable, Some("host-1"), None), Some(10.0));
    assert_eq!(state_at(&ev, "host-1", "hostDown"), Some(18.0));
    assert_eq!(first(&ev, EventKind::RestartAttempt, None, Some("vm-1")), Some(18.0));
    assert_eq!(first(&ev, EventKind::VmRestarted, None, Some("vm-1")), Some(19.0));
    assert_eq!(s.vm_states()["vm-1"], (PowerState::PoweredOn, Some("host-2".to_string())));
    assert_eq!(s.host_states()["host-1"], HostState::HostDown);
    let lines = text(&ev);
    assert!(lines.contains(&"t=+18.0s host-1 hostDown (no network or datastore heartbeat)".to_string()), "{lines:#?}");
}

#[test]
fn slave_failure_without_heartbeat_datastores() {
    let mut doc = inventory(
        "8.0",
        json!({"heartbeat_datastores": {"policy": "userSelectedDs", "preferred": []}}),
        vec![vm("vm-1", "host-1", json!({}))],
    );
    doc["cluster"]["advanced_options"] = json!({"das.ignoreInsufficientHbDatastore": "true"});
    let (_, ev) = check_invariants(&doc, &|s| s.fail_host("host-1", 0.0).unwrap(), 600.0);
    assert_eq!(first(&ev, EventKind::HostUnreachable, Some("host-1"), None), Some(10.0));
    assert_eq!(state_at(&ev, "host-1", "hostDown"), Some(15.0));
    assert_eq!(first(&ev, EventKind::RestartAttempt, None, Some("vm-1")), Some(15.0));
}

#[test]
fn master_failure() {
    let doc = inventory("8.0", json!({}), vec![vm("vm-1", "host-3", json!({}))]);
    let (s, ev) = check_invariants(&doc, &|s| s.fail_host("host-3", 0.0).unwrap(), 600.0);
    assert_eq!(first(&ev, EventKind::ElectionStarted, None, None), Some(10.0));
    assert_eq!(first(&ev, EventKind::MasterElected, Some("host-2"), None), Some(25.0));
    assert_eq!(state_at(&ev, "host-3", "hostDown"), Some(25.0));
    assert_eq!(first(&ev, EventKind::RestartAttempt, None, Some("vm-1")), Some(35.0));
    assert_eq!(s.master().as_deref(), Some("host-2"));
}

#[test]
fn slave_isolation_5_1() {
    for version in ["5.1", "6.7", "8.0"] {
        let doc = inventory(version, json!({"isolation_response": "powerOff"}), vec![vm("vm-1", "host-1", json!({}))]);
        let (s, ev) = check_invariants(&doc, &|s| s.isolate_host("host-1", 0.0, None).unwrap(), 600.0);
        assert_eq!(first(&ev, EventKind::ElectionStarted, None, None), Some(10.0), "{version}");
        assert_eq!(first(&ev, EventKind::MasterElected, Some("host-1"), None), Some(25.0));
        assert_eq!(state_at(&ev, "host-1", "networkPartitionedFromMaster"), Some(18.0));
        assert_eq!(first(&ev, EventKind::IsolationDeclared, Some("host-1"), None), Some(30.0));
        assert_eq!(state_at(&ev, "host-1", "networkIsolated"), Some(30.0));
        assert_eq!(first(&ev, EventKind::IsolationResponse, Some("host-1"), Some("vm-1")), Some(60.0));
        assert_eq!(first(&ev, EventKind::RestartAttempt, None, Some("vm-1")), Some(60.0));
        assert_eq!(s.vm_states()["vm-1"].0, PowerState::PoweredOn);
        assert_ne!(s.vm_states()["vm-1"].1.as_deref(), Some("host-1"));
        assert_eq!(s.host_states()["host-1"], HostState::NetworkIsolated);
    }
}

#[test]
fn slave_isolation_5_0() {
    let doc = inventory("5.0", json!({"isolation_response": "powerOff"}), vec![vm("vm-1", "host-1", json!({}))]);
    let (_, ev) = check_invariants(&doc, &|s| s.isolate_host("host-1", 0.0, None).unwrap(), 600.0);
    assert_eq!(first(&ev, EventKind::IsolationDeclared, Some("host-1"), None), Some(30.0));
    assert_eq!(first(&ev, EventKind::IsolationResponse, Some("host-1"), Some("vm-1")), Some(30.0));
    assert_eq!(first(&ev, EventKind::RestartAttempt, None, Some("vm-1")), Some(30.0));
}

#[test]
fn master_isolation_5_1_and_5_0() {
    for (version, response, restart) in [("8.0", 35.0, 35.0), ("5.1", 35.0, 35.0), ("5.0", 5.0, 35.0)] {
        let doc = inventory(version, json!({"isolation_response": "powerOff"}), vec![vm("vm-1", "host-3", json!({}))]);
        let (s, ev) = check_invariants(&doc, &|s| s.isolate_host("host-3", 0.0, None).unwrap(), 600.0);
        assert_eq!(first(&ev, EventKind::IsolationDeclared, Some("host-3"), None), Some(5.0), "{version}");
        assert_eq!(first(&ev, EventKind::ElectionStarted, None, None), Some(10.0));
        assert_eq!(first(&ev, EventKind::MasterElected, Some("host-2"), None), Some(25.0));
        assert_eq!(first(&ev, EventKind::IsolationResponse, Some("host-3"), Some("vm-1")), Some(response), "{version}");
        let e = ev.iter().find(|e| e.kind == EventKind::IsolationResponse).unwrap();
        assert_eq!(e.detail["action"], "powerOff", "{version}: {}", e.text());
        assert_eq!(first(&ev, EventKind::RestartAttempt, None, Some("vm-1")), Some(restart), "{version}");
        assert_eq!(s.master().as_deref(), Some("host-2"));
    }
}

#[test]
fn partition_no_restart_while_heartbeating() {
    let doc = inventory("8.0", json!({"isolation_response": "powerOff"}), vec![vm("vm-1", "host-1", json!({}))]);
    let (s, ev) = check_invariants(
        &doc,
        &|s| s.partition(vec![vec!["host-2".into(), "host-3".into()], vec!["host-1".into()]], 0.0, None).unwrap(),
        600.0,
    );
    assert_eq!(first(&ev, EventKind::ElectionStarted, None, None), Some(10.0));
    assert_eq!(first(&ev, EventKind::MasterElected, Some("host-1"), None), Some(25.0));
    assert_eq!(state_at(&ev, "host-1", "networkPartitionedFromMaster"), Some(18.0));
    assert!(first(&ev, EventKind::RestartAttempt, None, None).is_none(), "{:#?}", text(&ev));
    assert!(first(&ev, EventKind::IsolationDeclared, None, None).is_none());
    assert_eq!(s.vm_states()["vm-1"], (PowerState::PoweredOn, Some("host-1".to_string())));
    assert_eq!(s.masters(), vec!["host-1".to_string(), "host-3".to_string()]);
}

// ------------------------------------------------------------------ R-ISO

#[test]
fn isolation_response_none_leaves_running() {
    let doc = inventory("8.0", json!({"isolation_response": "none"}), vec![vm("vm-1", "host-1", json!({}))]);
    let (s, ev) = check_invariants(&doc, &|s| s.isolate_host("host-1", 0.0, None).unwrap(), 600.0);
    let e = ev.iter().find(|e| e.kind == EventKind::IsolationResponse).unwrap();
    assert_eq!(e.detail["action"], "none");
    assert!(first(&ev, EventKind::RestartAttempt, None, None).is_none());
    assert_eq!(s.vm_states()["vm-1"], (PowerState::PoweredOn, Some("host-1".to_string())));
}

#[test]
fn isolation_response_not_owned_leaves_running() {
    // host-1 isolated at 0, the master (host-3) fails at 20: at T+60 nobody owns ds-1 → left
    // running; host-2 becomes master at 20+25 = 45 and owns it... so fail the master at 40:
    // election 50, master at 65 > 60.
    let doc = inventory("8.0", json!({"isolation_response": "powerOff"}), vec![vm("vm-1", "host-1", json!({}))]);
    let (_, ev) = check_invariants(
        &doc,
        &|s| {
            s.isolate_host("host-1", 0.0, None).unwrap();
            s.fail_host("host-3", 40.0).unwrap();
        },
        600.0,
    );
    let e = ev.iter().find(|e| e.kind == EventKind::IsolationResponse).unwrap();
    assert_eq!(e.time, 60.0);
    assert_eq!(e.detail["action"], "none", "{}", e.text());
    assert_eq!(e.detail["reason"], "no master owns ds-1");
}

#[test]
fn isolation_response_home_inaccessible_applies() {
    // Same as above, but ds-1 is in APD on host-1: applied although nobody owns it.
    let doc = inventory("8.0", json!({"isolation_response": "powerOff"}), vec![vm("vm-1", "host-1", json!({}))]);
    let (_, ev) = check_invariants(
        &doc,
        &|s| {
            s.isolate_host("host-1", 0.0, None).unwrap();
            s.datastore_apd("ds-1", 1.0, None, Some(vec!["host-1".into()])).unwrap();
            s.fail_host("host-3", 40.0).unwrap();
        },
        600.0,
    );
    let e = ev.iter().find(|e| e.kind == EventKind::IsolationResponse).unwrap();
    assert_eq!((e.time, e.detail["action"].as_str()), (60.0, Some("powerOff")), "{}", e.text());
}

#[test]
fn isolation_response_never_for_disabled_priority_or_monitoring_off() {
    let doc = inventory(
        "8.0",
        json!({"isolation_response": "powerOff"}),
        vec![vm("vm-1", "host-1", json!({"restart_priority": "disabled"}))],
    );
    let (_, ev) = check_invariants(&doc, &|s| s.isolate_host("host-1", 0.0, None).unwrap(), 600.0);
    let e = ev.iter().find(|e| e.kind == EventKind::IsolationResponse).unwrap();
    assert_eq!(e.detail["action"], "none");
    let doc = inventory(
        "8.0",
        json!({"isolation_response": "powerOff", "host_monitoring": false}),
        vec![vm("vm-1", "host-1", json!({}))],
    );
    let (_, ev) = check_invariants(&doc, &|s| s.isolate_host("host-1", 0.0, None).unwrap(), 600.0);
    let e = ev.iter().find(|e| e.kind == EventKind::IsolationResponse).unwrap();
    assert_eq!(e.detail["action"], "none");
}

#[test]
fn shutdown_takes_the_timeout_unless_no_tools() {
    let doc = inventory(
        "8.0",
        json!({"isolation_response": "shutdown"}),
        vec![vm("vm-1", "host-1", json!({})), vm("vm-2", "host-1", json!({"tools_running": false}))],
    );
    let (_, ev) = check_invariants(&doc, &|s| s.isolate_host("host-1", 0.0, None).unwrap(), 1000.0);
    assert_eq!(first(&ev, EventKind::VmPoweredOff, None, Some("vm-1")), Some(360.0));
    assert_eq!(first(&ev, EventKind::RestartAttempt, None, Some("vm-1")), Some(360.0));
    assert_eq!(first(&ev, EventKind::RestartAttempt, None, Some("vm-2")), Some(60.0));
}

#[test]
fn isolation_ends_before_declaration_cancels_everything() {
    let doc = inventory("8.0", json!({"isolation_response": "powerOff"}), vec![vm("vm-1", "host-1", json!({}))]);
    let (s, ev) = check_invariants(&doc, &|s| s.isolate_host("host-1", 0.0, Some(27.0)).unwrap(), 600.0);
    assert!(first(&ev, EventKind::IsolationDeclared, None, None).is_none());
    assert!(first(&ev, EventKind::IsolationResponse, None, None).is_none());
    assert_eq!(s.vm_states()["vm-1"], (PowerState::PoweredOn, Some("host-1".to_string())));
    assert_eq!(s.master().as_deref(), Some("host-3"));
    assert_eq!(s.host_states()["host-1"], HostState::ConnectedToMaster);
}

// ------------------------------------------------------------------ R-PLACE-4

#[test]
fn retries_then_gave_up() {
    let doc = inventory("8.0", json!({}), vec![vm("vm-1", "host-1", json!({}))]);
    let (s, ev) = check_invariants(
        &doc,
        &|s| {
            s.vm_power_on_failure("vm-1", 10).unwrap();
            s.fail_host("host-1", 0.0).unwrap();
        },
        4000.0,
    );
    let attempts: Vec<f64> = ev.iter().filter(|e| e.kind == EventKind::RestartAttempt).map(|e| e.time).collect();
    assert_eq!(attempts, vec![18.0, 138.0, 378.0, 858.0, 1818.0]);
    assert_eq!(first(&ev, EventKind::RestartGaveUp, None, Some("vm-1")), Some(1819.0));
    assert_accounted(&s, &ev, &["vm-1"]);
}

#[test]
fn retry_succeeds_on_third_attempt() {
    let doc = inventory("8.0", json!({}), vec![vm("vm-1", "host-1", json!({}))]);
    let (s, ev) = check_invariants(
        &doc,
        &|s| {
            s.vm_power_on_failure("vm-1", 2).unwrap();
            s.fail_host("host-1", 0.0).unwrap();
        },
        4000.0,
    );
    assert_eq!(first(&ev, EventKind::VmRestarted, None, Some("vm-1")), Some(379.0));
    assert_eq!(s.vm_states()["vm-1"].0, PowerState::PoweredOn);
}

#[test]
fn priority_classes_are_sequential() {
    let doc = inventory(
        "8.0",
        json!({}),
        vec![
            vm("vm-1", "host-1", json!({"restart_priority": "low"})),
            vm("vm-2", "host-1", json!({"restart_priority": "high"})),
            vm("vm-3", "host-1", json!({"restart_priority": "high"})),
            vm("vm-4", "host-1", json!({"restart_priority": "medium"})),
        ],
    );
    let (_, ev) = check_invariants(&doc, &|s| s.fail_host("host-1", 0.0).unwrap(), 600.0);
    assert_eq!(first(&ev, EventKind::RestartAttempt, None, Some("vm-2")), Some(18.0));
    assert_eq!(first(&ev, EventKind::RestartAttempt, None, Some("vm-3")), Some(18.0));
    assert_eq!(first(&ev, EventKind::RestartAttempt, None, Some("vm-4")), Some(19.0));
    assert_eq!(first(&ev, EventKind::RestartAttempt, None, Some("vm-1")), Some(20.0));
}

#[test]
fn per_host_concurrency_limit() {
    let mut vms = Vec::new();
    for i in 0..5 {
        vms.push(vm(&format!("vm-{i}"), "host-1", json!({"cpu_reservation_mhz": 0, "memory_reservation_mb": 0})));
    }
    let mut doc = inventory("8.0", json!({}), vms);
    doc["cluster"]["advanced_options"] = json!({"das.perHostConcurrentFailoversLimit": "1"});
    let (_, ev) = check_invariants(&doc, &|s| s.fail_host("host-1", 0.0).unwrap(), 600.0);
    let mut at: Vec<f64> = ev.iter().filter(|e| e.kind == EventKind::RestartAttempt).map(|e| e.time).collect();
    at.sort_by(f64::total_cmp);
    // Two hosts left, one power-on each at a time.
    assert_eq!(at, vec![18.0, 18.0, 19.0, 19.0, 20.0]);
}

#[test]
fn unplaced_vm_absorbed_when_host_returns() {
    // vm-big needs 12 GB: only an empty host fits. host-2/host-3 each hold 8 GB already.
    let doc = inventory(
        "8.0",
        json!({}),
        vec![
            vm("vm-big", "host-1", json!({"memory_reservation_mb": 12000})),
            vm("vm-a", "host-2", json!({"memory_reservation_mb": 8000})),
            vm("vm-b", "host-3", json!({"memory_reservation_mb": 8000})),
        ],
    );
    let (s, ev) = check_invariants(
        &doc,
        &|s| {
            s.fail_host("host-1", 0.0).unwrap();
            s.recover_host("host-1", 100.0).unwrap();
        },
        600.0,
    );
    let e = ev.iter().find(|e| e.kind == EventKind::VmUnplaced).unwrap();
    assert_eq!((e.time, e.detail["reason"].as_str()), (18.0, Some("insufficientResources")));
    assert_eq!(first(&ev, EventKind::RestartAttempt, Some("host-1"), Some("vm-big")), Some(100.0));
    assert_eq!(s.vm_states()["vm-big"], (PowerState::PoweredOn, Some("host-1".to_string())));
}

#[test]
fn cascade_during_election_handled_by_new_master() {
    let doc = inventory("8.0", json!({}), vec![vm("vm-1", "host-3", json!({})), vm("vm-2", "host-1", json!({}))]);
    let (s, ev) = check_invariants(
        &doc,
        &|s| {
            s.fail_host("host-3", 0.0).unwrap();
            s.fail_host("host-1", 12.0).unwrap();
        },
        600.0,
    );
    assert_eq!(first(&ev, EventKind::MasterElected, Some("host-2"), None), Some(25.0));
    assert_eq!(state_at(&ev, "host-1", "hostDown"), Some(25.0));
    assert_eq!(first(&ev, EventKind::RestartAttempt, None, Some("vm-1")), Some(35.0));
    assert_eq!(first(&ev, EventKind::RestartAttempt, None, Some("vm-2")), Some(35.0));
    assert_accounted(&s, &ev, &["vm-1", "vm-2"]);
}

// ------------------------------------------------------------------ R-OUTAGE

#[test]
fn outage_restarts_unclean_vms_at_tr_plus_25() {
    let doc = inventory(
        "8.0",
        json!({}),
        vec![
            vm("vm-1", "host-1", json!({})),
            vm("vm-2", "host-2", json!({})),
            json!({"id": "vm-3", "name": "vm-3", "host": "host-2", "power_state": "poweredOff", "home_datastore": "ds-1",
               "clean_power_off": true}),
        ],
    );
    let (s, ev) = check_invariants(&doc, &|s| s.power_outage(0.0, Some(300.0)).unwrap(), 1000.0);
    assert_eq!(first(&ev, EventKind::ElectionStarted, None, None), Some(300.0));
    let elected: Vec<f64> = ev.iter().filter(|e| e.kind == EventKind::MasterElected).map(|e| e.time).collect();
    assert_eq!(elected, vec![0.0, 315.0]);
    assert_eq!(first(&ev, EventKind::RestartAttempt, None, Some("vm-1")), Some(325.0));
    assert_eq!(first(&ev, EventKind::RestartAttempt, None, Some("vm-2")), Some(325.0));
    assert!(first(&ev, EventKind::RestartAttempt, None, Some("vm-3")).is_none());
    assert_eq!(s.vm_states()["vm-3"].0, PowerState::PoweredOff);
}

// ------------------------------------------------------------------ R-VMCP

fn vmcp_doc(apd: &str) -> Value {
    inventory(
        "8.0",
        json!({"vmcp": {"apd": apd, "pdl": "restartAggressive", "apd_delay_s": 180, "apd_cleared": "reset"}}),
        vec![vm("vm-1", "host-1", json!({"home_datastore": "ds-2"}))],
    )
}

#[test]
fn apd_aggressive_and_conservative() {
    // APD on ds-2 for host-1 only: another host can run it → both policies terminate at 320.
    for policy in ["restartConservative", "restartAggressive"] {
        let (s, ev) = check_invariants(
            &vmcp_doc(policy),
            &|s| s.datastore_apd("ds-2", 0.0, None, Some(vec!["host-1".into()])).unwrap(),
            1000.0,
        );
        assert_eq!(first(&ev, EventKind::ApdTimeout, Some("host-1"), None), Some(140.0));
        assert_eq!(first(&ev, EventKind::VmTerminated, None, Some("vm-1")), Some(320.0), "{policy}");
        assert_eq!(first(&ev, EventKind::RestartAttempt, None, Some("vm-1")), Some(320.0));
        assert_eq!(s.vm_states()["vm-1"].0, PowerState::PoweredOn);
    }
    // APD everywhere: conservative keeps it, aggressive kills it (and it cannot be placed).
    let (s, ev) = check_invariants(
        &vmcp_doc("restartConservative"),
        &|s| s.datastore_apd("ds-2", 0.0, None, None).unwrap(),
        1000.0,
    );
    assert!(first(&ev, EventKind::VmTerminated, None, None).is_none());
    assert_eq!(first(&ev, EventKind::VmcpNoAction, None, Some("vm-1")), Some(320.0));
    assert_eq!(s.vm_states()["vm-1"].0, PowerState::PoweredOn);
    let (_, ev) = check_invariants(
        &vmcp_doc("restartAggressive"),
        &|s| s.datastore_apd("ds-2", 0.0, None, None).unwrap(),
        1000.0,
    );
    assert_eq!(first(&ev, EventKind::VmTerminated, None, Some("vm-1")), Some(320.0));
    let e = ev.iter().find(|e| e.kind == EventKind::VmUnplaced).unwrap();
    assert_eq!(e.detail["reason"], "datastoreInaccessible");
}

#[test]
fn apd_cleared_before_termination() {
    let (_, ev) = check_invariants(
        &vmcp_doc("restartAggressive"),
        &|s| s.datastore_apd("ds-2", 0.0, Some(200.0), Some(vec!["host-1".into()])).unwrap(),
        1000.0,
    );
    assert!(first(&ev, EventKind::VmTerminated, None, None).is_none());
    assert_eq!(first(&ev, EventKind::VmReset, None, Some("vm-1")), Some(200.0));
    let (_, ev) = check_invariants(
        &vmcp_doc("restartAggressive"),
        &|s| s.datastore_apd("ds-2", 0.0, Some(100.0), Some(vec!["host-1".into()])).unwrap(),
        1000.0,
    );
    assert!(first(&ev, EventKind::VmTerminated, None, None).is_none());
    assert!(first(&ev, EventKind::ApdTimeout, None, None).is_none());
    assert!(first(&ev, EventKind::VmReset, None, None).is_none());
}

#[test]
fn pdl_kills_at_once() {
    let (s, ev) = check_invariants(
        &vmcp_doc("disabled"),
        &|s| s.datastore_pdl("ds-2", 5.0, Some(vec!["host-1".into()])).unwrap(),
        1000.0,
    );
    assert_eq!(first(&ev, EventKind::VmTerminated, None, Some("vm-1")), Some(5.0));
    assert_eq!(first(&ev, EventKind::RestartAttempt, None, Some("vm-1")), Some(5.0));
    assert_ne!(s.vm_states()["vm-1"].1.as_deref(), Some("host-1"));
}

#[test]
fn pdl_5_0_mask_clean_shutdown() {
    let mk = |mask: &str| {
        let mut doc = inventory("5.0", json!({}), vec![vm("vm-1", "host-1", json!({"home_datastore": "ds-2"}))]);
        doc["cluster"]["advanced_options"] =
            json!({"disk.terminateVMOnPDLDefault": "true", "das.maskCleanShutdownEnabled": mask});
        doc
    };
    let (_, ev) =
        check_invariants(&mk("false"), &|s| s.datastore_pdl("ds-2", 0.0, Some(vec!["host-1".into()])).unwrap(), 600.0);
    assert_eq!(first(&ev, EventKind::VmNotRestarted, None, Some("vm-1")), Some(0.0));
    assert!(first(&ev, EventKind::RestartAttempt, None, None).is_none());
    let (_, ev) =
        check_invariants(&mk("true"), &|s| s.datastore_pdl("ds-2", 0.0, Some(vec!["host-1".into()])).unwrap(), 600.0);
    assert_eq!(first(&ev, EventKind::RestartAttempt, None, Some("vm-1")), Some(0.0));
}

// ------------------------------------------------------------------ R-VMMON

#[test]
fn vm_monitoring_reset_budget() {
    let doc = inventory(
        "8.0",
        json!({"vm_monitoring": {"mode": "vmMonitoringOnly", "sensitivity": "high"}}),
        vec![vm("vm-1", "host-1", json!({}))],
    );
    let (_, ev) = check_invariants(
        &doc,
        &|s| {
            for t in [0.0, 200.0, 400.0, 600.0] {
                s.guest_heartbeat_loss("vm-1", t).unwrap();
            }
        },
        2000.0,
    );
    let resets: Vec<f64> = ev.iter().filter(|e| e.kind == EventKind::VmReset).map(|e| e.time).collect();
    // Each loss at T: red at T + 60 + 1 (hostd phase 1), reset when red has lasted 30 s: T + 91.
    assert_eq!(resets, vec![91.0, 291.0, 491.0]);
    assert_eq!(first(&ev, EventKind::VmResetSkipped, None, Some("vm-1")), Some(691.0));
}

#[test]
fn vm_monitoring_min_uptime() {
    let doc = inventory(
        "8.0",
        json!({"vm_monitoring": {"mode": "vmMonitoringOnly", "sensitivity": "high"}}),
        vec![vm("vm-1", "host-1", json!({}))],
    );
    let (_, ev) = check_invariants(
        &doc,
        &|s| {
            s.guest_heartbeat_loss("vm-1", 0.0).unwrap();
            // Already lost at 0 (the guest has not come back): nothing new.
            s.guest_heartbeat_loss("vm-1", 40.0).unwrap();
            s.guest_heartbeat_loss("vm-1", 100.0).unwrap();
        },
        2000.0,
    );
    let resets: Vec<f64> = ev.iter().filter(|e| e.kind == EventKind::VmReset).map(|e| e.time).collect();
    // Reset at 0 + 91; second loss at 100: declared at 100 + 91 = 191, but up only since 91 →
    // 91 + 120 = 211.
    assert_eq!(resets, vec![91.0, 211.0]);
}

fn status_times(ev: &[Event], vm: &str) -> Vec<(f64, String, String)> {
    ev.iter()
        .filter(|e| e.kind == EventKind::HeartbeatStatus && e.vm.as_deref() == Some(vm))
        .map(|e| {
            let d = &e.detail;
            (e.time, d["heartbeat"].as_str().unwrap().to_string(), d["status"].as_str().unwrap().to_string())
        })
        .collect()
}

#[test]
fn vm_monitoring_hostd_phase_and_sensitivities() {
    // Tools: yellow at T0 + 30 + φ, red 30 s later, reset at T0 + 60 + φ + interval.
    // Application: red at T0 + 30 + φ, reset at T0 + 30 + φ + interval (HA Deepdive figures:
    // high T+91 … T+119 for Tools, T+61 … T+89 for applications).
    for (phase, sens, tools_reset, app_reset) in [
        (None, "high", 91.0, 61.0),
        (Some("29"), "high", 119.0, 89.0),
        (Some("15"), "medium", 60.0 + 15.0 + 60.0, 30.0 + 15.0 + 60.0),
        (None, "low", 60.0 + 1.0 + 120.0, 30.0 + 1.0 + 120.0),
    ] {
        let mut cluster = json!({"vm_monitoring": {"mode": "vmAndAppMonitoring", "sensitivity": sens}});
        if let Some(p) = phase {
            cluster["advanced_options"] = json!({"engine.hostdPhaseSeconds": p});
        }
        let doc = inventory("8.0", cluster, vec![vm("vm-1", "host-1", json!({})), vm("vm-2", "host-2", json!({}))]);
        let (_, ev) = check_invariants(
            &doc,
            &|s| {
                s.guest_heartbeat_loss("vm-1", 10.0).unwrap();
                s.guest_heartbeat_loss_with("vm-2", 10.0, None, true).unwrap();
            },
            1000.0,
        );
        let phi: f64 = phase.map_or(1.0, |p| p.parse().unwrap());
        let y = |t: f64| (t, "tools".to_string(), "yellow".to_string());
        let r = |t: f64, h: &str| (t, h.to_string(), "red".to_string());
        assert_eq!(status_times(&ev, "vm-1"), vec![y(10.0 + 30.0 + phi), r(10.0 + 60.0 + phi, "tools")], "{sens}");
        assert_eq!(status_times(&ev, "vm-2"), vec![r(10.0 + 30.0 + phi, "application")], "{sens}");
        assert_eq!(first(&ev, EventKind::VmReset, None, Some("vm-1")), Some(10.0 + tools_reset), "{sens}");
        assert_eq!(first(&ev, EventKind::VmReset, None, Some("vm-2")), Some(10.0 + app_reset), "{sens}");
    }
}

#[test]
fn vm_monitoring_application_needs_app_mode() {
    let doc = inventory(
        "8.0",
        json!({"vm_monitoring": {"mode": "vmMonitoringOnly", "sensitivity": "high"}}),
        vec![vm("vm-1", "host-1", json!({}))],
    );
    let (_, ev) = check_invariants(&doc, &|s| s.guest_heartbeat_loss_with("vm-1", 0.0, None, true).unwrap(), 600.0);
    assert!(first(&ev, EventKind::VmReset, None, None).is_none());
    assert!(first(&ev, EventKind::HeartbeatStatus, None, None).is_none());
}

#[test]
fn vm_monitoring_io_gate() {
    let doc = inventory(
        "8.0",
        json!({"vm_monitoring": {"mode": "vmMonitoringOnly", "sensitivity": "high"}}),
        vec![vm("vm-1", "host-1", json!({})), vm("vm-2", "host-2", json!({}))],
    );
    let (_, ev) = check_invariants(
        &doc,
        &|s| {
            // I/O until 100: checks at 91, 121, …; the last I/O is more than 120 s ago at 241.
            s.guest_heartbeat_loss_with("vm-1", 0.0, Some(100.0), false).unwrap();
            // I/O that stopped before the heartbeats did does not count: reset at 50 + 91.
            s.guest_heartbeat_loss_with("vm-2", 50.0, Some(40.0), false).unwrap();
        },
        1000.0,
    );
    let waits: Vec<f64> = ev
        .iter()
        .filter(|e| e.kind == EventKind::VmResetSkipped && e.vm.as_deref() == Some("vm-1"))
        .map(|e| e.time)
        .collect();
    assert_eq!(waits, vec![91.0, 121.0, 151.0, 181.0, 211.0]);
    assert_eq!(first(&ev, EventKind::VmReset, None, Some("vm-1")), Some(241.0));
    assert_eq!(first(&ev, EventKind::VmReset, None, Some("vm-2")), Some(141.0));
    // das.iostatsInterval = 30: the check at 121 finds the last I/O 21 s ago, at 151 51 s ago.
    let mut doc = doc;
    doc["cluster"]["advanced_options"] = json!({"das.iostatsInterval": "30"});
    let (_, ev) =
        check_invariants(&doc, &|s| s.guest_heartbeat_loss_with("vm-1", 0.0, Some(100.0), false).unwrap(), 1000.0);
    assert_eq!(first(&ev, EventKind::VmReset, None, Some("vm-1")), Some(151.0));
}

#[test]
fn vm_monitoring_arguments() {
    let doc = inventory("8.0", json!({}), vec![vm("vm-1", "host-1", json!({}))]);
    let mut s = sim(&doc);
    let err = s.guest_heartbeat_loss_with("vm-1", 0.0, Some(10.0), true).unwrap_err().to_string();
    assert!(err.contains("io_until applies to VMware Tools heartbeats only"), "{err}");
    assert!(s.guest_heartbeat_loss_with("vm-1", 0.0, Some(f64::NAN), false).is_err());
    let err = s
        .apply(&json!([{"at": 0, "type": "guest_heartbeat_loss", "vm": "vm-1", "application": "yes", "io_until": -1}]))
        .unwrap_err();
    let hapolicy::Error::Invalid(problems) = err else { panic!("expected Invalid") };
    let paths: Vec<&str> = problems.iter().map(|p| p.path.as_str()).collect();
    assert!(paths.contains(&"events[0].application") && paths.contains(&"events[0].io_until"), "{paths:?}");
    s.apply(&json!([{"at": 0, "type": "guest_heartbeat_loss", "vm": "vm-1", "io_until": 5}])).unwrap();
}

// ------------------------------------------------------------------ R-ORCH

/// host-1 fails at 0 (hostDown and the first class issued at 18, powered on at 19): when the
/// second class (vm-2, low) is issued.
fn second_class_issued(version: &str, cluster: Value, vm1: Value) -> (Option<f64>, Vec<Event>) {
    let doc = inventory(
        version,
        cluster,
        vec![vm("vm-1", "host-1", vm1), vm("vm-2", "host-1", json!({"restart_priority": "low"}))],
    );
    let (_, ev) = check_invariants(&doc, &|s| s.fail_host("host-1", 0.0).unwrap(), 600.0);
    (first(&ev, EventKind::RestartAttempt, None, Some("vm-2")), ev)
}

#[test]
fn orchestration_ready_conditions() {
    let high = json!({"restart_priority": "high"});
    let orch = |c: &str, extra: Value| {
        let mut o = json!({"orchestration": {"ready_condition": c}});
        if let Value::Object(m) = extra {
            for (k, v) in m {
                o[k] = v;
            }
        }
        o
    };
    // none (the default): once vm-1's attempt has completed, 18 + 1.
    assert_eq!(second_class_issued("8.0", json!({}), high.clone()).0, Some(19.0));
    // poweredOn: the same instant, but a vm_ready event is shown.
    let (t, ev) = second_class_issued("8.0", orch("poweredOn", json!({})), high.clone());
    assert_eq!(t, Some(19.0));
    assert_eq!(first(&ev, EventKind::VmReady, None, Some("vm-1")), Some(19.0));
    // guestHbStatusGreen: power-on + engine.guestBootSeconds (60, or as set).
    assert_eq!(second_class_issued("8.0", orch("guestHbStatusGreen", json!({})), high.clone()).0, Some(79.0));
    let fast = json!({"advanced_options": {"engine.guestBootSeconds": "30"}});
    assert_eq!(second_class_issued("8.0", orch("guestHbStatusGreen", fast), high.clone()).0, Some(49.0));
    // appHbStatusGreen: power-on + engine.appReadySeconds (90).
    assert_eq!(second_class_issued("8.0", orch("appHbStatusGreen", json!({})), high.clone()).0, Some(109.0));
    // none with a post-ready delay: issue + d, never before the attempt completed.
    let mut c = orch("none", json!({}));
    c["orchestration"]["post_ready_delay_s"] = json!(25);
    assert_eq!(second_class_issued("8.0", c, high.clone()).0, Some(18.0 + 25.0));
    // Per-VM overrides: vm-1 waits for application heartbeats, 5 s more, at most 50 s.
    let vm1 = json!({"restart_priority": "high", "ready_condition": "appHbStatusGreen", "post_ready_delay_s": 5});
    assert_eq!(second_class_issued("8.0", json!({}), vm1.clone()).0, Some(19.0 + 90.0 + 5.0));
    let mut vm1 = vm1;
    vm1["restart_priority_timeout_s"] = json!(50);
    assert_eq!(second_class_issued("8.0", json!({}), vm1.clone()).0, Some(18.0 + 50.0));
    // Before 6.5 orchestration is ignored.
    assert_eq!(second_class_issued("6.0", json!({}), vm1).0, Some(19.0));
}

#[test]
fn orchestration_failed_power_on_waits_for_the_timeout() {
    // vm-1's power-ons fail: with guestHbStatusGreen a VM that is not powered on is not ready,
    // so the low class waits for it, at most the timeout after the high class was issued.
    let doc = |cond: &str| {
        inventory(
            "8.0",
            json!({"orchestration": {"ready_condition": cond}}),
            vec![
                vm("vm-1", "host-1", json!({"restart_priority": "high"})),
                vm("vm-2", "host-1", json!({"restart_priority": "low"})),
            ],
        )
    };
    let failing = |n: u32| {
        move |s: &mut Simulation| {
            s.vm_power_on_failure("vm-1", n).unwrap();
            s.fail_host("host-1", 0.0).unwrap();
        }
    };
    // One failure: the retry at 18 + 120 = 138 powers it on at 139, ready at 139 + 60 = 199.
    let (_, ev) = check_invariants(&doc("guestHbStatusGreen"), &failing(1), 1000.0);
    assert_eq!(first(&ev, EventKind::RestartAttempt, None, Some("vm-2")), Some(199.0));
    // Every attempt fails (18, 138, 378, 858, …): the timeout decides, 18 + 600 = 618.
    let (_, ev) = check_invariants(&doc("guestHbStatusGreen"), &failing(5), 1000.0);
    assert_eq!(first(&ev, EventKind::RestartAttempt, None, Some("vm-2")), Some(618.0));
    // `none`: the attempt completing (failed, at 19) is enough, as before 6.5.
    let (_, ev) = check_invariants(&doc("none"), &failing(5), 1000.0);
    assert_eq!(first(&ev, EventKind::RestartAttempt, None, Some("vm-2")), Some(19.0));
}

#[test]
fn orchestration_round_trip_and_errors() {
    let mut doc = inventory(
        "8.0",
        json!({"orchestration": {"ready_condition": "poweredOn", "restart_priority_timeout_s": 120}}),
        vec![vm("vm-1", "host-1", json!({"ready_condition": "guestHbStatusGreen", "post_ready_delay_s": 3}))],
    );
    let inv = hapolicy::parse::from_value(&doc).unwrap();
    assert_eq!(inv.cluster.orchestration.post_ready_delay_s, 0);
    assert_eq!(inv.cluster.orchestration.restart_priority_timeout_s, 120);
    let text = hapolicy::serialize::to_json(&inv, None).unwrap();
    assert_eq!(hapolicy::parse::from_value(&serde_json::from_str(&text).unwrap()).unwrap(), inv);
    assert!(inv.warnings.is_empty(), "{:?}", inv.warnings);
    let mut old = doc.clone();
    old["cluster"]["version"] = json!("6.0");
    let old = hapolicy::parse::from_value(&old).unwrap();
    assert!(old
        .warnings
        .iter()
        .any(|w| w.path == "cluster.orchestration" && w.message.contains("from vSphere 6.5 on")));
    doc["cluster"]["orchestration"]["ready_condition"] = json!("green");
    doc["vms"][0]["post_ready_delay_s"] = json!(-1);
    let Err(hapolicy::Error::Invalid(problems)) = hapolicy::parse::from_value(&doc) else { panic!("expected Invalid") };
    let paths: Vec<&str> = problems.iter().map(|p| p.path.as_str()).collect();
    assert!(paths.contains(&"cluster.orchestration.ready_condition"), "{paths:?}");
    assert!(paths.iter().any(|p| p.ends_with("post_ready_delay_s")), "{paths:?}");
}

// ------------------------------------------------------------------ apply / scenario

#[test]
fn apply_reports_paths() {
    let doc = inventory("8.0", json!({}), vec![vm("vm-1", "host-1", json!({}))]);
    let mut s = sim(&doc);
    let err = s
        .apply(&json!([
            {"at": 0, "type": "host_failure", "host": "host-1"},
            {"at": -1, "type": "host_failure", "host": "host-1"},
            {"at": 0, "type": "host_failure", "host": "x"},
            {"at": 0, "type": "bogus"},
            {"at": 0, "type": "partition", "groups": [["host-1"], ["host-1", "nope"]]},
        ]))
        .unwrap_err();
    let hapolicy::Error::Invalid(problems) = err else { panic!("expected Invalid") };
    let paths: Vec<String> = problems.iter().map(|p| format!("{}: {}", p.path, p.message)).collect();
    assert!(paths.iter().any(|p| p.starts_with("events[1].at")), "{paths:#?}");
    assert!(paths.contains(&"events[2].host: unknown host 'x'".to_string()), "{paths:#?}");
    assert!(paths.iter().any(|p| p.starts_with("events[3].type")), "{paths:#?}");
    assert!(paths.iter().any(|p| p.starts_with("events[4].groups[1][1]")), "{paths:#?}");
    // Nothing applied.
    assert!(s.run(100.0).unwrap().iter().all(|e| e.kind != EventKind::Fault));
    assert!(s.fail_host("nope", 0.0).is_err());
    assert!(s.fail_host("host-1", f64::NAN).is_err());
    assert!(s.fail_host("host-1", 50.0).is_err(), "before the clock");
}

#[test]
fn scenario_from_value() {
    let doc = json!({
        "inventory": inventory("8.0", json!({}), vec![vm("vm-1", "host-1", json!({}))]),
        "events": [{"at": 0, "type": "host_failure", "host": "host-1"}],
        "until": 60
    });
    let sc = Scenario::from_value(&doc).unwrap();
    let (s, ev) = sc.run().unwrap();
    assert_eq!(first(&ev, EventKind::VmRestarted, None, Some("vm-1")), Some(19.0));
    assert_eq!(s.now(), 60.0);
    let bad = json!({"inventory": {"hosts": [{"id": "h"}], "vms": [{"id": "v", "host": "zz"}]}, "events": []});
    let hapolicy::Error::Invalid(p) = Scenario::from_value(&bad).unwrap_err() else { panic!() };
    assert!(p.iter().all(|p| p.path.starts_with("inventory.")), "{p:?}");
}

#[test]
fn event_kinds_contract() {
    for k in [
        "election_started",
        "master_elected",
        "host_unreachable",
        "host_state",
        "isolation_declared",
        "isolation_response",
        "restart_attempt",
        "vm_restarted",
        "vm_unplaced",
        "restart_gave_up",
        "apd_timeout",
        "vm_terminated",
        "vm_reset",
        "split_brain",
    ] {
        assert_eq!(EventKind::parse(k).map(|k| k.as_str()), Some(k));
    }
}

// ------------------------------------------------------------------ scale

fn big_cluster(hosts: usize, vms: usize, memory_mb: u64) -> Value {
    let hs: Vec<Value> = (0..hosts)
        .map(|i| {
            json!({"id": format!("host-{}", 100 + i), "cpu_mhz": 200000, "memory_mb": memory_mb,
                        "datastores": ["ds-1", "ds-2", "ds-3"]})
        })
        .collect();
    let prio = ["high", "medium", "low"];
    let vs: Vec<Value> = (0..vms)
        .map(|i| {
            json!({"id": format!("vm-{}", 1000 + i), "host": format!("host-{}", 100 + i % hosts),
                        "power_state": "poweredOn", "cpu_reservation_mhz": 100, "memory_reservation_mb": 1024,
                        "memory_overhead_mb": 50, "home_datastore": format!("ds-{}", 1 + i % 3),
                        "restart_priority": prio[i % 3]})
        })
        .collect();
    json!({"cluster": {"name": "big", "version": "8.0", "admission_control": {"policy": "disabled"}},
           "hosts": hs,
           "datastores": [{"id": "ds-1", "type": "VMFS"}, {"id": "ds-2", "type": "VMFS"}, {"id": "ds-3", "type": "NFS"}],
           "vms": vs})
}

#[test]
fn scale_96_hosts_10000_vms_one_failure() {
    let doc = big_cluster(96, 10_000, 1_048_576);
    let inv = std::sync::Arc::new(hapolicy::parse::from_value(&doc).unwrap());
    let start = std::time::Instant::now();
    let mut s = Simulation::new(inv.clone()).unwrap();
    s.fail_host("host-150", 0.0).unwrap();
    let ev = s.run(3600.0).unwrap();
    let elapsed = start.elapsed();
    let restarted = ev.iter().filter(|e| e.kind == EventKind::VmRestarted).count();
    assert_eq!(restarted, (0..10_000).filter(|i| i % 96 == 50).count());
    eprintln!("96 hosts / 10000 VMs, one host failure: {} events, {restarted} restarts in {elapsed:?}", ev.len());
    // A full outage: every VM restarted.
    let start = std::time::Instant::now();
    let mut s = Simulation::new(inv).unwrap();
    s.power_outage(0.0, Some(300.0)).unwrap();
    let ev = s.run(3600.0).unwrap();
    let restarted = ev.iter().filter(|e| e.kind == EventKind::VmRestarted).count();
    eprintln!("96 hosts / 10000 VMs, outage: {} events, {restarted} restarts in {:?}", ev.len(), start.elapsed());
    assert_eq!(restarted, 10_000);
}

#[test]
fn scale_cascade_with_retries() {
    // 400 GB hosts: after 10 of 12 fail, the two left hold 2 × 372 VMs of 1074 MB; the rest
    // is retried at +2/+6/+14/+30 min and given up.
    let doc = big_cluster(12, 1200, 400_000);
    let inv = hapolicy::parse::from_value(&doc).unwrap();
    let start = std::time::Instant::now();
    let mut s = Simulation::from_inventory(&inv).unwrap();
    for i in 0..10 {
        s.fail_host(&format!("host-{}", 100 + i), 5.0 * i as f64).unwrap();
    }
    let ev = s.run(7200.0).unwrap();
    let unplaced = ev.iter().filter(|e| e.kind == EventKind::VmUnplaced).count();
    let gave_up = ev.iter().filter(|e| e.kind == EventKind::RestartGaveUp).count();
    eprintln!(
        "10-host cascade in a 12-host / 1200-VM cluster: {} events, {unplaced} unplaced, {gave_up} gave up in {:?}",
        ev.len(),
        start.elapsed()
    );
    let running = s.vm_states().values().filter(|(p, _)| *p == PowerState::PoweredOn).count();
    assert_eq!(running, 2 * (400_000 / 1074));
    assert_eq!(gave_up, 1200 - running);
    let failed = ev.iter().filter(|e| e.kind == EventKind::RestartFailed).count();
    assert!(unplaced + failed >= 5 * gave_up, "{unplaced} + {failed} < 5 × {gave_up}");
}

// ------------------------------------------------------------------ random fault sequences

mod random {
    use super::*;
    use proptest::prelude::*;

    fn fault() -> impl Strategy<Value = Value> {
        let host = prop_oneof![Just("host-1"), Just("host-2"), Just("host-3")];
        let t = 0u32..400;
        prop_oneof![
            (t.clone(), host.clone()).prop_map(|(at, h)| json!({"at": at, "type": "host_failure", "host": h})),
            (t.clone(), host.clone()).prop_map(|(at, h)| json!({"at": at, "type": "host_recovery", "host": h})),
            (t.clone(), host.clone(), proptest::option::of(0u32..200))
                .prop_map(|(at, h, d)| json!({"at": at, "type": "agent_failure", "host": h, "until": d.map(|d| at + d)})),
            (t.clone(), host.clone(), proptest::option::of(0u32..200))
                .prop_map(|(at, h, d)| json!({"at": at, "type": "isolation", "host": h, "until": d.map(|d| at + d)})),
            (t.clone(), proptest::option::of(0u32..200)).prop_map(|(at, d)| json!({"at": at, "type": "partition",
                "groups": [["host-1"], ["host-2", "host-3"]], "until": d.map(|d| at + d)})),
            (t.clone(), proptest::option::of(0u32..300)).prop_map(|(at, d)| json!({"at": at, "type": "power_outage", "restore_at": d.map(|d| at + d)})),
            (t.clone(), proptest::option::of(0u32..400), host.clone())
                .prop_map(|(at, d, h)| json!({"at": at, "type": "datastore_apd", "datastore": "ds-1", "hosts": [h], "until": d.map(|d| at + d)})),
            (t.clone(), host.clone()).prop_map(|(at, h)| json!({"at": at, "type": "datastore_pdl", "datastore": "ds-2", "hosts": [h]})),
            (t.clone(), 1u32..4, proptest::option::of(0u32..300), any::<bool>()).prop_map(|(at, v, io, app)| {
                let mut f = json!({"at": at, "type": "guest_heartbeat_loss", "vm": format!("vm-{v}")});
                match (app, io) {
                    (true, _) => f["application"] = json!(true),
                    (false, Some(d)) => f["io_until"] = json!(at + d),
                    (false, None) => {}
                }
                f
            }),
            (1u32..4, 0u32..3).prop_map(|(v, n)| json!({"type": "power_on_failure", "vm": format!("vm-{v}"), "attempts": n})),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 300, .. ProptestConfig::default() })]
        #[test]
        fn random_faults_keep_the_invariants(faults in proptest::collection::vec(fault(), 0..8), response in 0usize..3, version in 0usize..3, orch in 0usize..3) {
            let responses = ["none", "powerOff", "shutdown"];
            let versions = ["5.0", "6.7", "8.0"];
            // R-ORCH: the default, guest heartbeats green with a short timeout, powered on.
            let orchestrations = [json!({}),
                json!({"ready_condition": "guestHbStatusGreen", "post_ready_delay_s": 5, "restart_priority_timeout_s": 60}),
                json!({"ready_condition": "poweredOn"})];
            let mut doc = inventory(versions[version], json!({"isolation_response": responses[response],
                    "vmcp": {"apd": "restartAggressive", "pdl": "restartAggressive", "apd_delay_s": 180, "apd_cleared": "reset"},
                    "vm_monitoring": {"mode": "vmAndAppMonitoring", "sensitivity": "high"},
                    "orchestration": orchestrations[orch]}),
                vec![vm("vm-1", "host-1", json!({})), vm("vm-2", "host-2", json!({"home_datastore": "ds-2"})),
                     vm("vm-3", "host-3", json!({"restart_priority": "high"}))]);
            if orch == 1 {
                doc["rules"] = json!([{"type": "vmDependsOn", "name": "dep", "vm": "vm-1", "depends_on": ["vm-3"]}]);
            }
            let faults = Value::from(faults);
            let mut stepped = sim(&doc);
            stepped.apply(&faults).unwrap();
            let mut t = 0.0;
            while t < 4000.0 {
                t = (t + 7.0f64).min(4000.0);
                stepped.run(t).unwrap();
                if let Err(e) = stepped.check_consistency() {
                    prop_assert!(false, "at {t}: {e}\n{}", stepped.timeline());
                }
            }
            let (s, ev) = check_invariants(&doc, &|s| s.apply(&faults).unwrap(), 4000.0);
            prop_assert_eq!(text(stepped.events()), text(&ev), "stepped run differs");
            for w in ev.windows(2) {
                prop_assert!(w[0].time <= w[1].time);
            }
            // A VM never runs on two hosts without a reported split brain (checked above), and a
            // restarted VM only ever runs on a live host.
            let states = s.vm_states();
            for (vm, (p, h)) in &states {
                if *p == PowerState::PoweredOn {
                    prop_assert!(h.is_some(), "{vm} on no host");
                }
            }
            let _ = s.host_states();
            let _ = s.master();
        }
    }
}

#[test]
fn scenario_load_with_inventory_path() {
    let dir = std::env::temp_dir().join(format!("hapolicy-sim-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let doc = inventory("8.0", json!({}), vec![vm("vm-1", "host-1", json!({}))]);
    std::fs::write(dir.join("inv.json"), serde_json::to_string(&doc).unwrap()).unwrap();
    std::fs::write(
        dir.join("scenario.yaml"),
        "inventory: inv.json\nevents:\n  - {at: 0, type: host_failure, host: host-1}\nuntil: 30\n",
    )
    .unwrap();
    let sc = Scenario::load(&dir.join("scenario.yaml")).unwrap();
    let (_, ev) = sc.run().unwrap();
    assert_eq!(first(&ev, EventKind::VmRestarted, None, Some("vm-1")), Some(19.0));
    std::fs::write(dir.join("bad.json"), r#"{"inventory": "missing.json"}"#).unwrap();
    let hapolicy::Error::Invalid(p) = Scenario::load(&dir.join("bad.json")).unwrap_err() else { panic!() };
    assert_eq!(p[0].path, "inventory");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn master_and_states_during_elections() {
    let doc = inventory("8.0", json!({}), vec![]);
    let mut s = sim(&doc);
    s.isolate_host("host-3", 0.0, None).unwrap();
    s.run(12.0).unwrap();
    assert_eq!(s.master(), None, "the isolated master does not act");
    let st = s.host_states();
    assert_eq!((st["host-1"], st["host-3"]), (HostState::Election, HostState::Master));
    s.run(30.0).unwrap();
    assert_eq!(s.master().as_deref(), Some("host-2"));
    assert_eq!(s.masters(), vec!["host-2".to_string(), "host-3".to_string()]);
    let st = s.host_states();
    assert_eq!(
        (st["host-1"], st["host-2"], st["host-3"]),
        (HostState::ConnectedToMaster, HostState::Master, HostState::NetworkIsolated)
    );
    // Failed master: no master until the election ends.
    let mut s = sim(&doc);
    s.fail_host("host-3", 0.0).unwrap();
    s.run(20.0).unwrap();
    assert_eq!(s.master(), None);
    assert_eq!(s.host_states()["host-3"], HostState::HostDown);
    s.run(25.0).unwrap();
    assert_eq!(s.master().as_deref(), Some("host-2"));
}

#[test]
fn simulation_is_send_sync_and_clone_forks() {
    fn assert_send_sync<T: Send + Sync + Clone>() {}
    assert_send_sync::<Simulation>();
    let doc = inventory("8.0", json!({}), vec![vm("vm-1", "host-1", json!({}))]);
    let mut a = sim(&doc);
    a.fail_host("host-1", 0.0).unwrap();
    a.run(5.0).unwrap();
    let mut b = a.clone();
    b.recover_host("host-1", 6.0).unwrap();
    let ea = a.run(100.0).unwrap();
    let eb = b.run(100.0).unwrap();
    assert!(ea.iter().any(|e| e.kind == EventKind::VmRestarted));
    assert!(eb.iter().any(|e| e.kind == EventKind::VmRestarted && e.time == 6.0 + 1.0), "{:#?}", text(&eb));
}

// ------------------------------------------------------------------ R-PLACE-DRS

/// Four 8192 MB hosts sharing two VMFS datastores (host-4 is the master); vm-big (5120 MB) on
/// host-1; host-2 runs vm-a and vm-a2 (1024 MB each) and vm-b (3072 MB, pinned to host-2 by a
/// must rule); host-3 and host-4 run 5120 MB each (vm-c, vm-d, pinned). Each survivor has 3072
/// MB free. Room for vm-big needs 2048 MB more on host-2: vm-b may not move, so the fewest moves
/// are vm-a and vm-a2 (two vMotions, in VM id order): vm-a to host-3 (host-3 and host-4 tie at
/// 3072 MB, smaller id), then vm-a2 to host-4 (3072 MB against host-3's 2048).
fn two_move_cluster(extra_options: Value) -> Value {
    let hosts: Vec<Value> = (1..=4)
        .map(
            |i| json!({"id": format!("host-{i}"), "cpu_mhz": 20000, "memory_mb": 8192, "datastores": ["ds-1", "ds-2"]}),
        )
        .collect();
    let mem =
        |id: &str, host: &str, mb: u64| vm(id, host, json!({"cpu_reservation_mhz": 0, "memory_reservation_mb": mb}));
    json!({
        "cluster": {"name": "c", "version": "8.0", "admission_control": {"policy": "disabled"},
                    "drs": {"enabled": true, "automation": "fullyAutomated"}, "advanced_options": extra_options},
        "hosts": hosts,
        "datastores": [{"id": "ds-1", "type": "VMFS"}, {"id": "ds-2", "type": "VMFS"}],
        "vms": [mem("vm-big", "host-1", 5120), mem("vm-a", "host-2", 1024), mem("vm-a2", "host-2", 1024),
                mem("vm-b", "host-2", 3072), mem("vm-c", "host-3", 5120), mem("vm-d", "host-4", 5120)],
        "rules": [
            {"type": "vmHostMust", "name": "pin-b", "vms": ["vm-b"], "hosts": ["host-2"]},
            {"type": "vmHostMust", "name": "pin-c", "vms": ["vm-c"], "hosts": ["host-3"]},
            {"type": "vmHostMust", "name": "pin-d", "vms": ["vm-d"], "hosts": ["host-4"]}
        ]
    })
}

#[test]
fn drs_moves_run_one_after_the_other_and_move_the_vms() {
    let doc = two_move_cluster(json!({}));
    let mut s = sim(&doc);
    s.fail_host("host-1", 0.0).unwrap();
    // hostDown at 18; vm-a's vMotion 18 -> 38, vm-a2's 38 -> 58; the attempt at 58, on at 59.
    let mut checkpoints = Vec::new();
    for t in [18.0, 30.0, 38.0, 50.0, 58.0, 100.0] {
        s.run(t).unwrap();
        s.check_consistency().unwrap_or_else(|e| panic!("t={t}: {e}"));
        checkpoints.push((t, s.vm_hosts()["vm-a"].clone(), s.vm_hosts()["vm-a2"].clone()));
    }
    let lines = text(s.events());
    let drs: Vec<&str> =
        lines.iter().map(String::as_str).filter(|l| !l.contains("elected") && !l.contains("host-1")).collect();
    assert_eq!(
        drs,
        [
            "t=+18.0s vm-a vMotion from host-2 to host-3 started (DRS, making room for vm-big)",
            "t=+38.0s vm-a migrated from host-2 to host-3 (DRS, making room for vm-big)",
            "t=+38.0s vm-a2 vMotion from host-2 to host-4 started (DRS, making room for vm-big)",
            "t=+58.0s vm-a2 migrated from host-2 to host-4 (DRS, making room for vm-big)",
            "t=+58.0s vm-big restart attempt 1 on host-2",
            "t=+59.0s vm-big restarted on host-2",
        ],
        "{lines:#?}"
    );
    // The simulation's own state follows the moves.
    let on = |h: &str| vec![h.to_string()];
    assert_eq!(checkpoints[1], (30.0, on("host-2"), on("host-2")));
    assert_eq!(checkpoints[2], (38.0, on("host-3"), on("host-2")));
    assert_eq!(checkpoints[4], (58.0, on("host-3"), on("host-4")));
    let e = s.events().iter().find(|e| e.kind == EventKind::VmMigrated).unwrap();
    assert_eq!(e.detail, json!({"from": "host-2", "to": "host-3", "for_vm": "vm-big"}));
}

#[test]
fn drs_vmotion_seconds_option() {
    let doc = two_move_cluster(json!({"engine.vMotionSeconds": "45"}));
    let mut s = sim(&doc);
    s.fail_host("host-1", 0.0).unwrap();
    let ev = s.run(200.0).unwrap();
    // Two moves of 45 s after hostDown at 18: the attempt at 18 + 90 = 108.
    assert_eq!(first(&ev, EventKind::RestartAttempt, None, Some("vm-big")), Some(108.0), "{:#?}", text(&ev));
    let bad = two_move_cluster(json!({"engine.vMotionSeconds": "0"}));
    let err = hapolicy::parse::from_value(&bad).unwrap_err().to_string();
    assert!(err.contains("engine.vMotionSeconds"), "{err}");
}

#[test]
fn vcenter_unavailable_mid_sequence_stops_new_moves() {
    let doc = two_move_cluster(json!({}));
    let faults = |s: &mut Simulation| {
        s.fail_host("host-1", 0.0).unwrap();
        s.vcenter_unavailable(25.0, None).unwrap();
    };
    let (s, ev) = check_invariants(&doc, &faults, 300.0);
    let lines: Vec<String> = text(&ev).into_iter().filter(|l| l.contains("vm-")).collect();
    // vm-a's move (18 -> 38) was under way: it completes. vm-a2's is not started (vCenter is
    // gone); vm-big's attempt is made at 38 without DRS: host-2 has 3072 + 1024 = 4096 MB free,
    // less than 5120: unplaced. Attempt 2 at max(18 + 120, 38 + 120) = 158, vCenter still
    // unavailable: unplaced, and one vMotion (vm-a2) would have made room.
    assert_eq!(
        lines,
        [
            "t=+18.0s vm-a vMotion from host-2 to host-3 started (DRS, making room for vm-big)",
            "t=+38.0s vm-a migrated from host-2 to host-3 (DRS, making room for vm-big)",
            "t=+38.0s vm-big unplaced (insufficientResources), attempt 1",
            "t=+158.0s vm-big unplaced (insufficientResources), attempt 2; 1 DRS vMotion would have made room (vCenter unavailable)",
        ],
    );
    assert_eq!(s.vm_hosts()["vm-a"], ["host-3"]);
    assert_eq!(s.vm_hosts()["vm-a2"], ["host-2"]);
}

#[test]
fn source_host_failing_mid_vmotion_fails_the_move() {
    let doc = two_move_cluster(json!({}));
    let faults = |s: &mut Simulation| {
        s.fail_host("host-1", 0.0).unwrap();
        s.fail_host("host-2", 30.0).unwrap();
    };
    let (_, ev) = check_invariants(&doc, &faults, 100.0);
    let failed = ev.iter().find(|e| e.kind == EventKind::VmMigrationFailed).expect("a failed vMotion");
    // vm-a crashed with host-2 at 30; its vMotion would have completed at 38.
    assert_eq!((failed.time, failed.vm.as_deref()), (38.0, Some("vm-a")));
    assert_eq!(failed.detail["reason"], "vmNotRunning");
    assert!(!ev.iter().any(|e| e.kind == EventKind::VmMigrated), "{:#?}", text(&ev));
}
