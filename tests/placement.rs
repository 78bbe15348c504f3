//! Failover placement: API behaviour, the low-level engine, and properties over random small
//! inventories (R-PLACE-1..3). The hand-checked scenarios are in `placement_golden.rs`.

use std::collections::{BTreeMap, HashMap, HashSet};

use proptest::prelude::*;
use serde_json::{json, Value};

use hapolicy::placement::{
    place, place_vm, plan_failover, plan_failover_indexed, plan_failover_keeping_at_most, plan_failover_lean,
    restart_order, FailoverPlan, HostAvailability, HostRefusal, HostVerdict, Outcome, PlacementIndex, PlacementState,
    RestartClass, UnplacedReason,
};
use hapolicy::{Error, Inventory};

fn inventory(doc: Value) -> Inventory {
    hapolicy::parse::from_value(&doc).unwrap_or_else(|e| panic!("{e}"))
}

fn lab() -> Inventory {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/lab.json")).unwrap();
    hapolicy::parse::from_json_str(&text).unwrap()
}

/// Three hosts sharing ds-1; host-1 runs the VMs given.
fn three_hosts(vms: Value, rules: Value, options: Value) -> Inventory {
    inventory(json!({
        "cluster": {"admission_control": {"policy": "disabled"}, "advanced_options": options},
        "datastores": [{"id": "ds-1"}, {"id": "ds-2"}],
        "hosts": [
            {"id": "host-1", "cpu_mhz": 10000, "memory_mb": 10000, "datastores": ["ds-1", "ds-2"]},
            {"id": "host-2", "cpu_mhz": 10000, "memory_mb": 20000, "datastores": ["ds-1", "ds-2"]},
            {"id": "host-3", "cpu_mhz": 10000, "memory_mb": 10000, "datastores": ["ds-1", "ds-2"]}
        ],
        "vms": vms,
        "rules": rules
    }))
}

// ------------------------------------------------------------------ public API behaviour

#[test]
fn unknown_host_ids_are_errors_not_panics() {
    let inv = lab();
    let err = plan_failover(&inv, &["host-99"], &[]).unwrap_err();
    assert_eq!(err, Error::UnknownId { kind: "host", id: "host-99".to_string() });
    let err = plan_failover(&inv, &["host-21"], &["nope"]).unwrap_err();
    assert_eq!(err, Error::UnknownId { kind: "host", id: "nope".to_string() });
}

#[test]
fn no_failure_means_nothing_to_restart() {
    let plan = plan_failover::<&str>(&lab(), &[], &[]).unwrap();
    assert!(plan.placements.is_empty() && plan.unplaced.is_empty() && plan.not_restarted.is_empty());
    assert_eq!(plan.attempted(), 0);
}

#[test]
fn accepts_owned_strings_and_deduplicates_hosts() {
    let inv = lab();
    let failed = vec!["host-21".to_string(), "host-21".to_string()];
    let plan = plan_failover(&inv, &failed, &[]).unwrap();
    assert_eq!(plan.failed_hosts, vec!["host-21"]);
    assert_eq!(plan, plan_failover(&inv, &["host-21"], &[]).unwrap());
}

#[test]
fn index_from_another_inventory_is_refused() {
    let inv = lab();
    let other = three_hosts(json!([]), json!([]), json!({}));
    let err = plan_failover_indexed(&inv, &PlacementIndex::new(&other), &["host-21"], &[]).unwrap_err();
    assert!(matches!(err, Error::Argument(_)));
}

#[test]
fn placements_carry_order_class_and_priority() {
    let inv = three_hosts(
        json!([
            {"id": "vm-1", "host": "host-1", "home_datastore": "ds-1", "memory_reservation_mb": 50000 / 10, "restart_priority": "low"},
            {"id": "vm-2", "host": "host-1", "home_datastore": "ds-1", "role": "agent"},
            {"id": "vm-3", "host": "host-1", "home_datastore": "ds-1", "memory_reservation_mb": 30000 / 2}
        ]),
        json!([]),
        json!({}),
    );
    let plan = plan_failover(&inv, &["host-1"], &[]).unwrap();
    // vm-2 agent, vm-3 medium (15000 MB fits host-2 only), vm-1 low (5000 MB).
    let summary: Vec<(&str, usize, &str, &str)> =
        plan.placements.iter().map(|p| (p.vm.as_str(), p.order, p.class.as_str(), p.priority.as_str())).collect();
    assert_eq!(
        summary,
        vec![("vm-2", 1, "agent", "medium"), ("vm-3", 2, "medium", "medium"), ("vm-1", 3, "low", "low")]
    );
    assert_eq!(plan.placement("vm-3").map(|p| p.host.as_str()), Some("host-2"));
}

#[test]
fn unplaced_lists_every_host_in_id_order_with_a_refusal() {
    let inv = three_hosts(
        json!([{"id": "vm-1", "host": "host-1", "home_datastore": "ds-1", "memory_reservation_mb": 9000},
               {"id": "vm-2", "host": "host-2", "home_datastore": "ds-1", "memory_reservation_mb": 15000}]),
        json!([{"type": "vmHostMustNot", "name": "not-3", "vms": ["vm-1"], "hosts": ["host-3"]}]),
        json!({}),
    );
    let plan = plan_failover(&inv, &["host-1"], &[]).unwrap();
    let unplaced = plan.unplaced_vm("vm-1").expect("vm-1 is unplaced");
    assert_eq!(unplaced.reason, UnplacedReason::InsufficientResources);
    let hosts: Vec<(&str, &str)> = unplaced.hosts.iter().map(|(h, r)| (h.as_str(), r.code())).collect();
    assert_eq!(hosts, vec![("host-1", "failed"), ("host-2", "insufficientResources"), ("host-3", "vmHostMustNot")]);
    assert_eq!(unplaced.hosts[1].1.to_string(), "needs 9000 MB memory, 5000 MB unreserved");
    assert_eq!(unplaced.hosts[2].1, HostRefusal::VmHostMustNot { rule: "not-3".to_string() });
}

#[test]
fn explain_placed_unplaced_excluded_and_unknown() {
    let inv = three_hosts(
        json!([
            {"id": "vm-1", "host": "host-1", "home_datastore": "ds-1", "memory_reservation_mb": 1000},
            {"id": "vm-2", "host": "host-1", "home_datastore": "ds-1", "restart_priority": "disabled"},
            {"id": "vm-3", "host": "host-1", "home_datastore": "ds-1", "memory_reservation_mb": 500},
            {"id": "vm-4", "host": "host-2", "home_datastore": "ds-1"},
            {"id": "vm-5", "host": "host-3", "home_datastore": "ds-1"}
        ]),
        json!([
            {"type": "vmAntiAffinity", "name": "apart", "vms": ["vm-3", "vm-4", "vm-5"]},
            {"type": "vmDependsOn", "name": "after", "vm": "vm-3", "depends_on": "vm-1"}
        ]),
        json!({"das.respectVmVmAntiAffinityRules": "true"}),
    );
    let plan = plan_failover(&inv, &["host-1"], &[]).unwrap();
    let placed = plan.explain(&inv, "vm-1").unwrap();
    assert!(placed.starts_with("vm-1 restarts on host-2 (#1 in restart order, class medium)."), "{placed}");
    assert!(
        placed.contains("most unreserved memory after placement (19000 MB; next best host-3: 9000 MB)"),
        "{placed}"
    );
    assert!(placed.contains("host-1: refused — host failed"), "{placed}");

    let unplaced = plan.explain(&inv, "vm-3").unwrap();
    assert!(unplaced.starts_with("vm-3 cannot be restarted: antiAffinity (#2"), "{unplaced}");
    assert!(unplaced.contains("restarted after vm-1 (vmDependsOn)"), "{unplaced}");
    assert!(unplaced.contains("host-2: refused — vm-4 of anti-affinity rule 'apart' is there"), "{unplaced}");
    assert!(unplaced.contains("host-3: refused — vm-5 of anti-affinity rule 'apart' is there"), "{unplaced}");

    assert_eq!(
        plan.explain(&inv, "vm-2").unwrap(),
        "vm-2 (on failed host host-1) is not restarted: its restart priority is disabled."
    );
    assert!(plan.explain(&inv, "vm-4").unwrap().contains("not on a failed or isolated host"));
    assert!(plan.explain(&inv, "vm-404").unwrap().contains("not on a failed or isolated host"));
}

#[test]
fn explain_names_each_choice_criterion() {
    let base = |hosts: Value, options: Value, admission: Value| {
        inventory(json!({
            "cluster": {"admission_control": admission, "advanced_options": options},
            "datastores": [{"id": "ds-1"}],
            "hosts": hosts,
            "vms": [{"id": "vm-1", "host": "host-1", "home_datastore": "ds-1", "memory_reservation_mb": 100}],
            "rules": [{"type": "vmHostShould", "name": "pref", "vms": ["vm-1"], "hosts": ["host-3"]}]
        }))
    };
    let host =
        |id: &str, cpu: u64, mem: u64| json!({"id": id, "cpu_mhz": cpu, "memory_mb": mem, "datastores": ["ds-1"]});
    let disabled = json!({"policy": "disabled"});
    let why = |inv: &Inventory| {
        let text = plan_failover(inv, &["host-1"], &[]).unwrap().explain(inv, "vm-1").unwrap();
        text.lines().find(|l| l.starts_with("Why this host:")).unwrap_or("").to_string()
    };
    // Soft rules are respected by default from 6.5: switch them off to see the capacity criteria.
    let no_soft = json!({"das.respectVmHostSoftAffinityRules": "false"});
    let cpu_tie = base(
        json!([host("host-1", 1, 1000), host("host-2", 500, 1000), host("host-3", 900, 1000)]),
        no_soft.clone(),
        disabled.clone(),
    );
    assert!(why(&cpu_tie).contains("more unreserved CPU (900 MHz vs 500 MHz)"));
    let full_tie = base(
        json!([host("host-1", 1, 1000), host("host-2", 500, 1000), host("host-3", 500, 1000)]),
        no_soft.clone(),
        disabled.clone(),
    );
    assert!(why(&full_tie).contains("ties with host-3 on every criterion; the smaller host id wins"));
    let soft = base(
        json!([host("host-1", 1, 1000), host("host-2", 500, 5000), host("host-3", 500, 1000)]),
        json!({"das.respectVmHostSoftAffinityRules": "true"}),
        disabled.clone(),
    );
    assert!(why(&soft).contains("violates 0 soft VM-host rule(s), host-2 (next best) violates 1"));
    let failover = base(
        json!([host("host-1", 1, 1000), host("host-2", 500, 5000), host("host-3", 500, 1000)]),
        json!({}),
        json!({"policy": "failoverHosts", "hosts": ["host-3"]}),
    );
    assert!(why(&failover).contains("dedicated failover host"));
    let mut parked = host("host-3", 500, 9000);
    parked["maintenance"] = json!(true);
    let only = base(json!([host("host-1", 1, 1000), host("host-2", 500, 5000), parked]), json!({}), disabled);
    assert!(why(&only).contains("the only feasible host"));
}

#[test]
fn host_verdicts_mark_the_chosen_host() {
    let inv = lab();
    let plan = plan_failover(&inv, &["host-21"], &[]).unwrap();
    assert!(plan.keeps_verdicts());
    let verdicts = plan.host_verdicts(&inv, "vm-100").unwrap().unwrap();
    assert_eq!(verdicts.len(), 4);
    let chosen: Vec<&str> =
        verdicts.iter().filter(|(_, v)| matches!(v, HostVerdict::Chosen(_))).map(|(h, _)| *h).collect();
    assert_eq!(chosen, vec![plan.placement("vm-100").unwrap().host.as_str()]);
    assert!(plan.host_verdicts(&inv, "vm-101").unwrap().is_none());
}

/// A plan too big to keep its verdicts (forced here with a limit of 0) recomputes them by
/// replay: every explanation and verdict list is the one a small plan keeps.
#[test]
fn plans_without_kept_verdicts_explain_the_same() {
    let generated = hapolicy::generate::synthetic(&hapolicy::generate::GeneratorSpec::new(12, 400, 3));
    let cases: Vec<(Inventory, Vec<String>)> = vec![
        (lab(), vec!["host-21".into(), "host-23".into()]),
        (generated.clone(), generated.hosts.iter().take(4).map(|h| h.id.clone()).collect()),
    ];
    for (inv, failed) in &cases {
        let index = PlacementIndex::new(inv);
        let kept = plan_failover_indexed(inv, &index, failed, &[]).unwrap();
        let replayed = plan_failover_keeping_at_most(inv, &index, failed, &[], 0).unwrap();
        assert!(kept.keeps_verdicts() && !replayed.keeps_verdicts());
        assert_eq!(kept.placements, replayed.placements);
        assert_eq!(kept.unplaced, replayed.unplaced, "unplaced VMs list every host's refusal either way");
        assert_eq!(kept.not_restarted, replayed.not_restarted);
        assert!(kept.attempted() > 0);
        for vm in &inv.vms {
            assert_eq!(kept.explain(inv, &vm.id).unwrap(), replayed.explain(inv, &vm.id).unwrap(), "{}", vm.id);
            assert_eq!(kept.host_verdicts(inv, &vm.id).unwrap(), replayed.host_verdicts(inv, &vm.id).unwrap());
        }
    }
    // Replaying needs the inventory the plan was made from.
    let (lab_inv, lab_failed) = &cases[0];
    let replayed = plan_failover_keeping_at_most(lab_inv, &PlacementIndex::new(lab_inv), lab_failed, &[], 0).unwrap();
    let attempted = replayed.placements[0].vm.clone();
    assert!(matches!(replayed.explain(&generated, &attempted), Err(Error::Argument(_))));
    // Another host in the inventory (in maintenance: the VM still lands where it did) shifts
    // every verdict: refused, not mislabelled.
    let mut doc = hapolicy::serialize::to_value(lab_inv);
    doc["hosts"]
        .as_array_mut()
        .unwrap()
        .push(json!({"id": "host-0", "cpu_mhz": 1000, "memory_mb": 1000, "maintenance": true}));
    let with_another_host = inventory(doc);
    assert!(matches!(replayed.explain(&with_another_host, &attempted), Err(Error::Argument(_))));
    let mut emptied = lab_inv.clone();
    emptied.vms.retain(|v| v.id != attempted);
    assert!(matches!(replayed.explain(&emptied, &attempted), Err(Error::Argument(_))));
}

#[test]
fn to_value_is_plain_json() {
    let plan = plan_failover(&lab(), &["host-21", "host-22", "host-23"], &["host-24"]).unwrap();
    let v = plan.to_value();
    assert_eq!(v["failed_hosts"], json!(["host-21", "host-22", "host-23"]));
    assert_eq!(v["isolated_hosts"], json!(["host-24"]));
    assert_eq!(v["unplaced"][0]["reason"], json!("noCompatibleHost"));
    assert_eq!(v["unplaced"][0]["hosts"]["host-24"]["code"], json!("isolated"));
    assert!(v["not_restarted"].as_array().is_some_and(|a| !a.is_empty()));
    // Round-trips through text.
    let text = serde_json::to_string(&v).unwrap();
    assert_eq!(serde_json::from_str::<Value>(&text).unwrap(), v);
}

// ------------------------------------------------------------------ the low-level engine

#[test]
fn low_level_place_matches_the_plan() {
    let inv = lab();
    let index = PlacementIndex::new(&inv);
    let plan = plan_failover_indexed(&inv, &index, &["host-21", "host-23"], &[]).unwrap();

    let mut state = PlacementState::new(&inv, &index);
    let failed: Vec<usize> = ["host-21", "host-23"].iter().map(|h| inv.host_idx(h).unwrap()).collect();
    for &h in &failed {
        state.set_availability(h, HostAvailability::Failed);
    }
    let attempted: Vec<usize> = plan
        .placements
        .iter()
        .map(|p| p.vm.as_str())
        .chain(plan.unplaced.iter().map(|u| u.vm.as_str()))
        .map(|id| inv.vm_idx(id).unwrap())
        .collect();
    for &v in &attempted {
        let h = index.current_host(v).unwrap();
        state.remove_vm(&inv, &index, v, h);
    }
    let outcomes = place(&inv, &index, &mut state, &attempted);
    let placed: Vec<(String, String)> = outcomes
        .iter()
        .filter_map(|o| match *o {
            Outcome::Placed { vm, host } => Some((inv.vms[vm].id.clone(), inv.hosts[host].id.clone())),
            Outcome::Unplaced { .. } => None,
        })
        .collect();
    let expected: Vec<(String, String)> = plan.placements.iter().map(|p| (p.vm.clone(), p.host.clone())).collect();
    assert_eq!(placed, expected);
    let unplaced: Vec<(usize, UnplacedReason)> = outcomes
        .iter()
        .filter_map(|o| match *o {
            Outcome::Unplaced { vm, reason } => Some((vm, reason)),
            Outcome::Placed { .. } => None,
        })
        .collect();
    assert_eq!(unplaced.len(), plan.unplaced.len());
}

#[test]
fn restart_order_drops_duplicates() {
    let inv = lab();
    let index = PlacementIndex::new(&inv);
    let vm = |id: &str| inv.vm_idx(id).unwrap();
    let order = restart_order(&inv, &index, &[vm("vm-112"), vm("vm-100"), vm("vm-112"), vm("vm-117")]);
    assert_eq!(order, vec![vm("vm-117"), vm("vm-100"), vm("vm-112")]);
}

#[test]
fn add_and_remove_are_inverse_even_when_overcommitted() {
    let inv = three_hosts(
        json!([{"id": "vm-1", "host": "host-3", "home_datastore": "ds-1", "memory_reservation_mb": 8000, "role": "ftPrimary"},
               {"id": "vm-2", "host": "host-3", "home_datastore": "ds-1", "memory_reservation_mb": 8000}]),
        json!([{"type": "vmAntiAffinity", "name": "a", "vms": ["vm-1", "vm-2"]}]),
        json!({}),
    );
    let index = PlacementIndex::new(&inv);
    let before = PlacementState::new(&inv, &index);
    assert_eq!(before.unreserved(2).memory_mb, 0, "16000 MB reserved on a 10000 MB host");
    let mut state = before.clone();
    state.remove_vm(&inv, &index, 0, 2);
    assert_eq!(state.unreserved(2).memory_mb, 2000);
    assert_eq!(state.ft_vms(2), 0);
    assert_eq!(state.anti_affinity_members_on(0, 2), 1);
    state.add_vm(&inv, &index, 0, 2);
    assert_eq!(state, before);
}

#[test]
fn lost_datastores_and_partitions_refuse_hosts() {
    let inv = three_hosts(
        json!([{"id": "vm-1", "host": "host-1", "home_datastore": "ds-1", "datastores": ["ds-2"], "memory_reservation_mb": 1000}]),
        json!([]),
        json!({}),
    );
    let index = PlacementIndex::new(&inv);
    let mut state = PlacementState::new(&inv, &index);
    state.set_availability(0, HostAvailability::Failed);
    state.set_availability(1, HostAvailability::Partitioned);
    state.set_datastore_lost(2, inv.datastore_idx("ds-2").unwrap(), true);
    let mut scenario = state.clone();
    assert_eq!(
        place_vm(&inv, &index, &mut scenario, 0),
        Outcome::Unplaced { vm: 0, reason: UnplacedReason::DatastoreInaccessible }
    );
    assert_eq!(scenario, state, "an unplaced VM books nothing");
    state.set_datastore_lost(2, inv.datastore_idx("ds-2").unwrap(), false);
    assert_eq!(place_vm(&inv, &index, &mut state, 0), Outcome::Placed { vm: 0, host: 2 });
    assert_eq!(state.unreserved(2).memory_mb, 9000);
}

/// R-PLACE-2: a host whose required agent VMs are not running takes no restarted VM, and every
/// explanation names it (`agentVmsNotReady`). host-2 has the most memory, so only that rule
/// keeps vm-1 off it.
#[test]
fn agent_vms_not_ready_refuses_the_host() {
    let mut doc = json!({
        "cluster": {"admission_control": {"policy": "disabled"}},
        "datastores": [{"id": "ds-1"}],
        "hosts": [
            {"id": "host-1", "cpu_mhz": 10000, "memory_mb": 10000, "datastores": ["ds-1"]},
            {"id": "host-2", "cpu_mhz": 10000, "memory_mb": 20000, "datastores": ["ds-1"], "agent_vms_ready": false},
            {"id": "host-3", "cpu_mhz": 10000, "memory_mb": 10000, "datastores": ["ds-1"]}
        ],
        "vms": [{"id": "vm-1", "host": "host-1", "home_datastore": "ds-1", "memory_reservation_mb": 1000},
                {"id": "vm-2", "host": "host-3", "home_datastore": "ds-1", "memory_reservation_mb": 9500}]
    });
    let inv = inventory(doc.clone());
    let index = PlacementIndex::new(&inv);
    assert_eq!(PlacementState::new(&inv, &index).availability(1), HostAvailability::AgentVmsNotReady);
    // host-3 has 500 MB unreserved: vm-1 (1000 MB) fits nowhere.
    let plan = plan_failover(&inv, &["host-1"], &[]).unwrap();
    let unplaced = plan.unplaced_vm("vm-1").expect("vm-1 is unplaced");
    assert_eq!(unplaced.reason, UnplacedReason::InsufficientResources);
    let codes: Vec<(&str, &str)> = unplaced.hosts.iter().map(|(h, r)| (h.as_str(), r.code())).collect();
    assert_eq!(codes, vec![("host-1", "failed"), ("host-2", "agentVmsNotReady"), ("host-3", "insufficientResources")]);
    let text = plan.explain(&inv, "vm-1").unwrap();
    assert!(text.contains("host-2: refused — its required agent VMs are not running"), "{text}");
    // The same cluster with host-2's agent VMs running: vm-1 goes there.
    doc["hosts"][1]["agent_vms_ready"] = json!(true);
    let plan = plan_failover(&inventory(doc), &["host-1"], &[]).unwrap();
    assert_eq!(
        plan.placements.iter().map(|p| (p.vm.as_str(), p.host.as_str())).collect::<Vec<_>>(),
        vec![("vm-1", "host-2")]
    );
}

#[test]
fn restart_class_order() {
    use hapolicy::model::RestartPriority::*;
    let classes = [
        RestartClass::Agent,
        RestartClass::FtSecondary,
        RestartClass::Priority(Highest),
        RestartClass::Priority(High),
        RestartClass::Priority(Medium),
        RestartClass::Priority(Low),
        RestartClass::Priority(Lowest),
    ];
    assert!(classes.windows(2).all(|w| w[0] < w[1]));
    for reason in UnplacedReason::ALL {
        assert_eq!(UnplacedReason::parse(reason.as_str()), Some(*reason));
    }
}

// ------------------------------------------------------------------ properties

/// A random small cluster, described compactly so proptest can shrink it.
#[derive(Debug, Clone)]
struct HostSpec {
    cpu: u64,
    mem: u64,
    datastores: u8,
    networks: Option<u8>,
    /// 0..=16 connected; 17 maintenance; 18 standby; 19 disconnected.
    state: u8,
}

#[derive(Debug, Clone)]
struct VmSpec {
    host: usize,
    /// 0..=7 poweredOn, 8 poweredOff, 9 suspended.
    power: u8,
    cpu: u64,
    mem: u64,
    overhead: u64,
    datastores: u8,
    networks: u8,
    /// Index into PRIORITIES.
    priority: usize,
    /// 0..=6 none, 7 agent, 8 ftPrimary, 9 ftSecondary.
    role: u8,
    protected: bool,
    clean_power_off: bool,
    /// Index into ISOLATION.
    isolation: usize,
}

#[derive(Debug, Clone)]
struct RuleSpec {
    /// Index into RULE_KINDS.
    kind: usize,
    vms: Vec<usize>,
    hosts: Vec<usize>,
    enabled: bool,
}

#[derive(Debug, Clone)]
struct ClusterSpec {
    hosts: Vec<HostSpec>,
    vms: Vec<VmSpec>,
    rules: Vec<RuleSpec>,
    failed: Vec<usize>,
    isolated: Vec<usize>,
    respect_anti_affinity: bool,
    respect_soft: bool,
    max_ft: u8,
    failover_hosts: Vec<usize>,
    version: &'static str,
    isolation_response: &'static str,
    host_monitoring: bool,
    shuffle_seed: u64,
}

const PRIORITIES: [&str; 7] = ["disabled", "lowest", "low", "medium", "high", "highest", "clusterRestartPriority"];
const ISOLATION: [&str; 4] = ["none", "powerOff", "shutdown", "clusterIsolationResponse"];
const RULE_KINDS: [&str; 7] =
    ["vmAntiAffinity", "vmAffinity", "vmHostMust", "vmHostMustNot", "vmHostShould", "vmHostShouldNot", "vmDependsOn"];
const NETWORKS: [&str; 3] = ["prod", "dmz", "backup"];
const DATASTORES: [&str; 3] = ["ds-1", "ds-2", "ds-3"];

fn host_spec() -> impl Strategy<Value = HostSpec> {
    let datastores = prop_oneof![4 => Just(7u8), 1 => 1u8..8];
    (1000u64..20000, 1000u64..20000, datastores, proptest::option::weighted(0.2, 1u8..8), 0u8..20)
        .prop_map(|(cpu, mem, datastores, networks, state)| HostSpec { cpu, mem, datastores, networks, state })
}

fn vm_spec() -> impl Strategy<Value = VmSpec> {
    (
        (0usize..64, 0u8..10, 0u64..4000, 0u64..5000, 0u64..300, prop_oneof![3 => Just(1u8), 1 => 1u8..8]),
        (0u8..8, 0usize..7, 0u8..10, proptest::bool::weighted(0.9), proptest::bool::weighted(0.1), 0usize..4),
    )
        .prop_map(
            |((host, power, cpu, mem, overhead, datastores), (networks, priority, role, protected, clean, iso))| {
                VmSpec {
                    host,
                    power,
                    cpu,
                    mem,
                    overhead,
                    datastores,
                    networks,
                    priority,
                    role,
                    protected,
                    clean_power_off: clean,
                    isolation: iso,
                }
            },
        )
}

fn rule_spec() -> impl Strategy<Value = RuleSpec> {
    (
        0usize..7,
        proptest::collection::vec(0usize..64, 2..4),
        proptest::collection::vec(0usize..16, 1..3),
        proptest::bool::weighted(0.85),
    )
        .prop_map(|(kind, vms, hosts, enabled)| RuleSpec { kind, vms, hosts, enabled })
}

fn cluster_spec() -> impl Strategy<Value = ClusterSpec> {
    (
        proptest::collection::vec(host_spec(), 1..8),
        proptest::collection::vec(vm_spec(), 0..24),
        proptest::collection::vec(rule_spec(), 0..6),
        proptest::collection::vec(0usize..16, 1..3),
        proptest::collection::vec(0usize..16, 0..2),
        (any::<bool>(), any::<bool>(), 0u8..4, proptest::collection::vec(0usize..16, 0..2)),
        (
            prop_oneof![Just("5.5"), Just("6.0"), Just("6.5"), Just("8.0")],
            prop_oneof![Just("none"), Just("powerOff"), Just("shutdown")],
            proptest::bool::weighted(0.8),
            any::<u64>(),
        ),
    )
        .prop_map(|(hosts, vms, rules, failed, isolated, (aa, soft, max_ft, fo), (version, iso, hm, seed))| {
            ClusterSpec {
                hosts,
                vms,
                rules,
                failed,
                isolated,
                respect_anti_affinity: aa,
                respect_soft: soft,
                max_ft,
                failover_hosts: fo,
                version,
                isolation_response: iso,
                host_monitoring: hm,
                shuffle_seed: seed,
            }
        })
}

fn pick<T: Copy>(items: &[T], mask: u8) -> Vec<T> {
    items.iter().enumerate().filter(|(i, _)| mask & (1 << i) != 0).map(|(_, t)| *t).collect()
}

/// The inventory document of a spec; powered-on VMs are made to fit their host so the cluster
/// starts within capacity (the capacity property compares against that).
fn document(spec: &ClusterSpec) -> (Value, Vec<String>, Vec<String>) {
    let n_hosts = spec.hosts.len();
    let host_id = |i: usize| format!("host-{}", i + 1);
    let mut free: Vec<(u64, u64)> = spec.hosts.iter().map(|h| (h.cpu, h.mem)).collect();
    let hosts: Vec<Value> = spec
        .hosts
        .iter()
        .enumerate()
        .map(|(i, h)| {
            let mut doc = json!({"id": host_id(i), "cpu_mhz": h.cpu, "memory_mb": h.mem,
                                 "datastores": pick(&DATASTORES, h.datastores)});
            if let Some(mask) = h.networks {
                doc["networks"] = json!(pick(&NETWORKS, mask));
            }
            match h.state {
                17 => doc["maintenance"] = json!(true),
                18 => doc["standby"] = json!(true),
                19 => doc["state"] = json!("disconnected"),
                _ => {}
            }
            doc
        })
        .collect();
    let vms: Vec<Value> = spec
        .vms
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let host = v.host % n_hosts;
            let parked = matches!(spec.hosts[host].state, 17 | 18);
            let mut power = match v.power {
                8 => "poweredOff",
                9 => "suspended",
                _ => "poweredOn",
            };
            if parked {
                power = "poweredOff";
            }
            // Every reservation fits its own host (the parser refuses one no host could hold).
            let (host_cpu, host_mem) = (spec.hosts[host].cpu, spec.hosts[host].mem);
            let cpu = v.cpu.min(host_cpu);
            let overhead = v.overhead.min(host_mem);
            let mem = v.mem.min(host_mem - overhead);
            let (cpu, mem, overhead) = if power == "poweredOn" {
                let (fc, fm) = free[host];
                if cpu <= fc && mem + overhead <= fm {
                    free[host] = (fc - cpu, fm - mem - overhead);
                    (cpu, mem, overhead)
                } else {
                    (0, 0, 0)
                }
            } else {
                (cpu, mem, overhead)
            };
            let datastores = pick(&DATASTORES, v.datastores);
            let role = match v.role {
                7 => json!("agent"),
                8 => json!("ftPrimary"),
                9 => json!("ftSecondary"),
                _ => Value::Null,
            };
            json!({
                "id": format!("vm-{}", i + 1), "host": host_id(host), "power_state": power,
                "cpu_reservation_mhz": cpu, "memory_reservation_mb": mem, "memory_overhead_mb": overhead,
                "home_datastore": datastores[0], "datastores": datastores,
                "networks": pick(&NETWORKS, v.networks),
                "restart_priority": PRIORITIES[v.priority], "isolation_response": ISOLATION[v.isolation],
                "role": role, "protected": v.protected, "clean_power_off": v.clean_power_off
            })
        })
        .collect();
    let n_vms = spec.vms.len();
    let rules: Vec<Value> = if n_vms < 2 {
        Vec::new()
    } else {
        spec.rules
            .iter()
            .enumerate()
            .filter_map(|(i, r)| {
                let kind = RULE_KINDS[r.kind];
                let mut members: Vec<usize> = r.vms.iter().map(|v| v % n_vms).collect();
                members.sort_unstable();
                members.dedup();
                let name = format!("rule-{i}");
                match kind {
                    "vmDependsOn" => {
                        // Only on VMs with a smaller index: never a cycle.
                        let (&dependent, prerequisites) = members.split_last()?;
                        if prerequisites.is_empty() {
                            return None;
                        }
                        let on: Vec<String> = prerequisites.iter().map(|p| format!("vm-{}", p + 1)).collect();
                        Some(json!({"type": kind, "name": name, "enabled": r.enabled,
                                    "vm": format!("vm-{}", dependent + 1), "depends_on": on}))
                    }
                    "vmAntiAffinity" | "vmAffinity" if members.len() < 2 => None,
                    _ => {
                        let vms: Vec<String> = members.iter().map(|m| format!("vm-{}", m + 1)).collect();
                        let mut doc = json!({"type": kind, "name": name, "enabled": r.enabled, "vms": vms});
                        if kind.starts_with("vmHost") {
                            let hosts: BTreeMap<usize, ()> = r.hosts.iter().map(|h| (h % n_hosts, ())).collect();
                            doc["hosts"] = json!(hosts.keys().map(|&h| host_id(h)).collect::<Vec<_>>());
                        }
                        Some(doc)
                    }
                }
            })
            .collect()
    };
    let mut options = serde_json::Map::new();
    options.insert("das.respectVmVmAntiAffinityRules".into(), json!(spec.respect_anti_affinity.to_string()));
    options.insert("das.respectVmHostSoftAffinityRules".into(), json!(spec.respect_soft.to_string()));
    options.insert("das.maxFtVmsPerHost".into(), json!(spec.max_ft.to_string()));
    let failover: BTreeMap<usize, ()> = spec.failover_hosts.iter().map(|h| (h % n_hosts, ())).collect();
    let admission = if failover.is_empty() {
        json!({"policy": "disabled"})
    } else {
        json!({"policy": "failoverHosts", "hosts": failover.keys().map(|&h| host_id(h)).collect::<Vec<_>>()})
    };
    let doc = json!({
        "cluster": {"version": spec.version, "admission_control": admission,
                    "isolation_response": spec.isolation_response, "host_monitoring": spec.host_monitoring,
                    "advanced_options": options},
        "datastores": DATASTORES.iter().map(|d| json!({"id": d})).collect::<Vec<_>>(),
        "hosts": hosts,
        "vms": vms,
        "rules": rules,
    });
    let failed = spec.failed.iter().map(|h| host_id(h % n_hosts)).collect();
    let isolated = spec.isolated.iter().map(|h| host_id(h % n_hosts)).collect();
    (doc, failed, isolated)
}

/// Deterministic Fisher-Yates with splitmix64.
fn shuffle<T>(items: &mut [T], seed: &mut u64) {
    for i in (1..items.len()).rev() {
        *seed = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = *seed;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        items.swap(i, (z % (i as u64 + 1)) as usize);
    }
}

// ------------------------------------------- the shared placement base and the quick path

/// Everything two plans say, compared field by field (the verdicts a plan keeps are compared
/// through `explain`, which must read the same either way).
fn assert_same_plan(inv: &Inventory, a: &FailoverPlan, b: &FailoverPlan, what: &str) {
    assert_eq!(a.failed_hosts, b.failed_hosts, "{what}");
    assert_eq!(a.isolated_hosts, b.isolated_hosts, "{what}");
    assert_eq!(a.placements, b.placements, "{what}");
    assert_eq!(a.unplaced, b.unplaced, "{what}");
    assert_eq!(a.not_restarted, b.not_restarted, "{what}");
    assert_eq!(a.migrations, b.migrations, "{what}");
    assert_eq!(a.hosts_exited_standby, b.hosts_exited_standby, "{what}");
    for vm in a.placements.iter().map(|p| &p.vm).chain(a.unplaced.iter().map(|u| &u.vm)).take(12) {
        assert_eq!(a.explain(inv, vm).unwrap(), b.explain(inv, vm).unwrap(), "{what}: {vm}");
    }
}

/// A generated inventory with the placement options and admission policy given (set on the
/// document, so every derived table is built from them).
fn generated(hosts: usize, vms: usize, seed: u64, respect_rules: bool, failover_hosts: bool) -> Inventory {
    let plain = hapolicy::generate::synthetic(&hapolicy::generate::GeneratorSpec::new(hosts, vms, seed));
    let mut doc = hapolicy::serialize::to_value(&plain);
    let flag = if respect_rules { "true" } else { "false" };
    doc["cluster"]["advanced_options"]["das.respectVmVmAntiAffinityRules"] = json!(flag);
    doc["cluster"]["advanced_options"]["das.respectVmHostSoftAffinityRules"] = json!(flag);
    if failover_hosts {
        let ids: Vec<&str> = plain.hosts.iter().rev().take(2).map(|h| h.id.as_str()).collect();
        doc["cluster"]["admission_control"] = json!({"policy": "failoverHosts", "hosts": ids});
    }
    inventory(doc)
}

/// The plan from the inventory's shared base, keeping no verdicts (placing each VM at the first
/// feasible host in room order when R-PLACE-3 allows it) is the plan of a fresh index and state
/// that checks and records every host for every VM.
#[test]
fn shared_base_and_quick_path_give_the_fresh_full_scan_plan() {
    let mut compared = 0;
    for (hosts, vms, seed) in [(12, 400, 1), (12, 400, 2), (24, 1500, 3), (48, 4000, 4)] {
        for (respect_rules, failover_hosts) in [(false, false), (true, false), (true, true), (false, true)] {
            let inv = generated(hosts, vms, seed, respect_rules, failover_hosts);
            let ids: Vec<String> = inv.hosts.iter().map(|h| h.id.clone()).collect();
            for failed in [&ids[..1], &ids[3..5], &ids[1..5], &ids[..hosts / 2]] {
                let fresh = plan_failover_indexed(&inv, &PlacementIndex::new(&inv), failed, &[]).unwrap();
                assert!(fresh.keeps_verdicts());
                let lean = plan_failover_lean(&inv, failed, &[]).unwrap();
                assert!(!lean.keeps_verdicts());
                let what = format!("{hosts} hosts seed {seed} rules {respect_rules} fh {failover_hosts} {failed:?}");
                assert_same_plan(&inv, &fresh, &lean, &what);
                // The shared base again (now built), and the public call keeping verdicts.
                assert_same_plan(&inv, &fresh, &plan_failover(&inv, failed, &[]).unwrap(), &what);
                compared += 1;
            }
            // Isolation on the shared base too.
            let fresh = plan_failover_indexed(&inv, &PlacementIndex::new(&inv), &ids[..1], &ids[1..2]).unwrap();
            assert_same_plan(&inv, &fresh, &plan_failover_lean(&inv, &ids[..1], &ids[1..2]).unwrap(), "isolated");
        }
    }
    assert_eq!(compared, 64);
}

/// The placement base is derived from the inventory as it is: a clone starts without it, so a
/// clone edited after the original was planned on plans with the edit (here: the host that
/// took the first VM goes into maintenance, so no VM may land there any more).
#[test]
fn an_edited_clone_does_not_reuse_the_base_of_its_original() {
    let inv = generated(12, 400, 1, false, false);
    let failed = [inv.hosts[0].id.clone()];
    let before = plan_failover_lean(&inv, &failed, &[]).unwrap();
    let busiest = before.placements[0].host.clone();
    let mut edited = inv.clone();
    let h = edited.host_idx(&busiest).unwrap();
    edited.hosts[h].maintenance = true;
    let after = plan_failover_lean(&edited, &failed, &[]).unwrap();
    assert!(after.placements.iter().all(|p| p.host != busiest), "planned onto a host in maintenance");
    assert_same_plan(
        &edited,
        &plan_failover_indexed(&edited, &PlacementIndex::new(&edited), &failed, &[]).unwrap(),
        &after,
        "edited",
    );
    // The original keeps its own base and plan.
    assert_eq!(plan_failover_lean(&inv, &failed, &[]).unwrap().placements, before.placements);
}

/// Many threads planning on one inventory at once (racing to build its shared base) get the
/// plan one thread gets alone.
#[test]
fn threads_share_one_base() {
    let inv = std::sync::Arc::new(generated(24, 1500, 5, true, false));
    let ids: Vec<String> = inv.hosts.iter().map(|h| h.id.clone()).collect();
    let alone = plan_failover_indexed(&inv, &PlacementIndex::new(&inv), &ids[..2], &[]).unwrap();
    let plans: Vec<FailoverPlan> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..4).map(|_| s.spawn(|| plan_failover_lean(&inv, &ids[..2], &[]).unwrap())).collect();
        workers.into_iter().map(|w| w.join().unwrap()).collect()
    });
    for plan in &plans {
        assert_same_plan(&inv, &alone, plan, "thread");
    }
    fn send_sync<T: Send + Sync>() {}
    send_sync::<Inventory>();
    send_sync::<hapolicy::placement::PlacementBase>();
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// The shared base and the quick path give the fresh full-scan plan on random clusters
    /// (every rule kind, options both ways, failover hosts, isolation).
    #[test]
    fn lean_plan_matches_fresh_full_scan(spec in cluster_spec()) {
        let (doc, failed, isolated) = document(&spec);
        let inv = inventory(doc);
        let fresh = plan_failover_indexed(&inv, &PlacementIndex::new(&inv), &failed, &isolated).unwrap();
        let lean = plan_failover_lean(&inv, &failed, &isolated).unwrap();
        prop_assert_eq!(&fresh.placements, &lean.placements);
        prop_assert_eq!(&fresh.unplaced, &lean.unplaced);
        prop_assert_eq!(&fresh.not_restarted, &lean.not_restarted);
        prop_assert_eq!(&fresh.migrations, &lean.migrations);
        for vm in &inv.vms {
            prop_assert_eq!(fresh.explain(&inv, &vm.id).unwrap(), lean.explain(&inv, &vm.id).unwrap());
        }
    }

    /// Reservations running or placed on a host never exceed its capacity.
    #[test]
    fn no_host_is_overcommitted(spec in cluster_spec()) {
        let (doc, failed, isolated) = document(&spec);
        let inv = inventory(doc);
        let plan = plan_failover(&inv, &failed, &isolated).unwrap();
        let moved: HashSet<&str> = plan.placements.iter().map(|p| p.vm.as_str())
            .chain(plan.unplaced.iter().map(|u| u.vm.as_str())).collect();
        let mut reserved: HashMap<&str, (u64, u64)> = HashMap::new();
        for vm in inv.vms.iter().filter(|v| v.is_powered_on() && !moved.contains(v.id.as_str())) {
            let host = vm.host.as_deref().unwrap();
            let entry = reserved.entry(host).or_default();
            entry.0 += vm.cpu_reservation_mhz;
            entry.1 += vm.memory_demand_mb();
        }
        for p in &plan.placements {
            let vm = inv.vm(&p.vm).unwrap();
            let entry = reserved.entry(p.host.as_str()).or_default();
            entry.0 += vm.cpu_reservation_mhz;
            entry.1 += vm.memory_demand_mb();
        }
        for (host, (cpu, mem)) in reserved {
            let h = inv.host(host).unwrap();
            prop_assert!(cpu <= h.cpu_mhz && mem <= h.memory_mb, "{host}: {cpu} MHz / {mem} MB reserved of {} / {}", h.cpu_mhz, h.memory_mb);
        }
    }

    /// Restart classes never invert along the restart order (without dependency rules, which
    /// may deliberately pull a VM behind a lower-class dependency).
    #[test]
    fn priority_classes_never_invert(spec in cluster_spec()) {
        let (doc, failed, isolated) = document(&spec);
        let inv = inventory(doc);
        let dependencies = inv.cluster.version.at_least(hapolicy::model::Version::V6_5)
            && inv.rules.iter().any(|r| r.enabled && r.kind == hapolicy::model::RuleKind::VmDependsOn);
        let plan = plan_failover(&inv, &failed, &isolated).unwrap();
        let mut attempts: Vec<(usize, RestartClass)> = plan.placements.iter().map(|p| (p.order, p.class))
            .chain(plan.unplaced.iter().map(|u| (u.order, u.class))).collect();
        attempts.sort_by_key(|(order, _)| *order);
        let orders: Vec<usize> = attempts.iter().map(|(o, _)| *o).collect();
        prop_assert_eq!(orders, (1..=attempts.len()).collect::<Vec<_>>());
        if !dependencies {
            for pair in attempts.windows(2) {
                prop_assert!(pair[0].1 <= pair[1].1, "{:?} before {:?}", pair[0], pair[1]);
            }
        }
    }

    /// Every VM of a failed or isolated host appears exactly once: placed, unplaced with a
    /// reason, or not restarted with a reason; and exactly the R-PLACE "which VMs" are attempted.
    #[test]
    fn every_vm_accounted_for_once(spec in cluster_spec()) {
        let (doc, failed, isolated) = document(&spec);
        let inv = inventory(doc);
        let plan = plan_failover(&inv, &failed, &isolated).unwrap();
        let failed_set: HashSet<&str> = failed.iter().map(String::as_str).collect();
        let isolated_set: HashSet<&str> =
            isolated.iter().map(String::as_str).filter(|h| !failed_set.contains(h)).collect();
        let mut seen: HashMap<&str, usize> = HashMap::new();
        for vm in plan.placements.iter().map(|p| &p.vm).chain(plan.unplaced.iter().map(|u| &u.vm))
            .chain(plan.not_restarted.iter().map(|n| &n.vm)) {
            *seen.entry(vm.as_str()).or_default() += 1;
        }
        prop_assert!(seen.values().all(|&n| n == 1), "duplicates: {:?}", seen);
        for vm in &inv.vms {
            let host = vm.host.as_deref().unwrap_or("");
            let on_failed = failed_set.contains(host);
            let on_isolated = isolated_set.contains(host);
            let affected = on_failed || on_isolated;
            prop_assert_eq!(seen.contains_key(vm.id.as_str()), affected, "{}", vm.id);
            let must_restart = vm.is_powered_on() && vm.protected && !vm.clean_power_off
                && inv.effective_restart_priority(vm) != hapolicy::model::RestartPriority::Disabled
                && inv.cluster.host_monitoring
                && (on_failed || (on_isolated
                    && inv.effective_isolation_response(vm) != hapolicy::model::IsolationResponse::None));
            let attempted = plan.placement(&vm.id).is_some() || plan.unplaced_vm(&vm.id).is_some();
            prop_assert_eq!(attempted, affected && must_restart, "{}", vm.id);
        }
        for u in &plan.unplaced {
            prop_assert_eq!(u.hosts.len(), inv.hosts.len(), "every host explains itself");
            prop_assert!(!plan.explain(&inv, &u.vm).unwrap().is_empty());
        }
    }

    /// Shuffling hosts and VMs in the input changes nothing in the plan.
    #[test]
    fn input_order_does_not_matter(spec in cluster_spec()) {
        let (doc, mut failed, isolated) = document(&spec);
        let inv = inventory(doc.clone());
        let plan = plan_failover(&inv, &failed, &isolated).unwrap();
        let mut shuffled = doc;
        let mut seed = spec.shuffle_seed;
        for key in ["hosts", "vms"] {
            if let Some(items) = shuffled[key].as_array_mut() {
                shuffle(items, &mut seed);
            }
        }
        shuffle(&mut failed, &mut seed);
        let inv2 = inventory(shuffled);
        let plan2 = plan_failover(&inv2, &failed, &isolated).unwrap();
        prop_assert_eq!(&plan, &plan2);
        for p in &plan.placements {
            prop_assert_eq!(plan.explain(&inv, &p.vm).unwrap(), plan2.explain(&inv2, &p.vm).unwrap());
        }
    }

    /// Placed VMs satisfy the hard rules: a dependent comes after what it depends on (6.5+),
    /// respected anti-affinity members never share a host because of the plan, FT limits hold.
    #[test]
    fn placements_respect_hard_rules(spec in cluster_spec()) {
        let (doc, failed, isolated) = document(&spec);
        let inv = inventory(doc);
        let plan = plan_failover(&inv, &failed, &isolated).unwrap();
        let order: HashMap<&str, usize> = plan.placements.iter().map(|p| (p.vm.as_str(), p.order))
            .chain(plan.unplaced.iter().map(|u| (u.vm.as_str(), u.order))).collect();
        let final_host: HashMap<&str, &str> = {
            let moved: HashSet<&str> = order.keys().copied().collect();
            inv.vms.iter()
                .filter(|v| v.is_powered_on() && !moved.contains(v.id.as_str()))
                .filter_map(|v| v.host.as_deref().map(|h| (v.id.as_str(), h)))
                .chain(plan.placements.iter().map(|p| (p.vm.as_str(), p.host.as_str())))
                .collect()
        };
        let options = inv.options();
        for rule in inv.rules.iter().filter(|r| r.enabled) {
            match rule.kind {
                hapolicy::model::RuleKind::VmDependsOn if inv.cluster.version.at_least(hapolicy::model::Version::V6_5) => {
                    if let Some(&dependent) = order.get(rule.vms[0].as_str()) {
                        for d in &rule.depends_on {
                            if let Some(&before) = order.get(d.as_str()) {
                                prop_assert!(before < dependent, "{} must follow {}", rule.vms[0], d);
                            }
                        }
                    }
                }
                hapolicy::model::RuleKind::VmAntiAffinity if options.respect_vm_vm_anti_affinity => {
                    for p in plan.placements.iter().filter(|p| rule.vms.contains(&p.vm)) {
                        for other in rule.vms.iter().filter(|o| **o != p.vm) {
                            prop_assert_ne!(final_host.get(other.as_str()).copied(), Some(p.host.as_str()),
                                "{} and {} of {}", p.vm, other, rule.name);
                        }
                    }
                }
                hapolicy::model::RuleKind::VmHostMust => {
                    for p in plan.placements.iter().filter(|p| rule.vms.contains(&p.vm)) {
                        prop_assert!(rule.hosts.contains(&p.host));
                    }
                }
                hapolicy::model::RuleKind::VmHostMustNot => {
                    for p in plan.placements.iter().filter(|p| rule.vms.contains(&p.vm)) {
                        prop_assert!(!rule.hosts.contains(&p.host));
                    }
                }
                _ => {}
            }
        }
        if options.max_ft_vms_per_host > 0 {
            let is_ft = |id: &str| inv.vm(id).is_some_and(|v| matches!(v.role,
                Some(hapolicy::model::VmRole::FtPrimary | hapolicy::model::VmRole::FtSecondary)));
            for p in plan.placements.iter().filter(|p| is_ft(&p.vm)) {
                // Counting FT VMs on the host once this one was placed: earlier placements and
                // VMs that kept running there.
                let there = final_host.iter().filter(|(vm, h)| **h == p.host && is_ft(vm)
                    && order.get(*vm).is_none_or(|&o| o <= p.order)).count();
                prop_assert!(there <= options.max_ft_vms_per_host as usize,
                    "{} FT VMs on {}", there, p.host);
            }
        }
    }
}

// ------------------------------------------------------------ DRS and DPM (R-PLACE-DRS)

/// The hand-checked DRS/DPM scenarios of `tests/golden/placement/drs/*.json`: the golden format
/// plus `expected.migrations` (`[vm, source, target, for_vm]`, in order),
/// `expected.hosts_exited_standby` and `expected.explain` (VM → phrases its explanation holds).
/// They live in a subfolder because the pure-Python reference of the main corpus does not model
/// DRS.
#[test]
fn golden_drs_scenarios() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/placement/drs");
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .expect("tests/golden/placement/drs exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    paths.sort();
    assert!(paths.len() >= 10, "expected at least 10 DRS scenarios, found {}", paths.len());
    let strings =
        |v: &Value| -> Vec<String> { v.as_array().unwrap().iter().map(|s| s.as_str().unwrap().to_string()).collect() };
    let mut failures = Vec::new();
    for path in paths {
        let doc: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let inv = inventory(doc["inventory"].clone());
        assert!(inv.warnings.is_empty(), "{}: warnings {:?}", path.display(), inv.warnings);
        let plan = plan_failover(&inv, &strings(&doc["failed_hosts"]), &strings(&doc["isolated_hosts"])).unwrap();
        let exp = &doc["expected"];
        let placements: Vec<Vec<String>> = plan.placements.iter().map(|p| vec![p.vm.clone(), p.host.clone()]).collect();
        let unplaced: Vec<Vec<String>> =
            plan.unplaced.iter().map(|u| vec![u.vm.clone(), u.reason.as_str().to_string()]).collect();
        let migrations: Vec<Vec<String>> = plan
            .migrations
            .iter()
            .map(|m| vec![m.vm.clone(), m.source.clone(), m.target.clone(), m.for_vm.clone()])
            .collect();
        let pairs = |key: &str| -> Vec<Vec<String>> { exp[key].as_array().unwrap().iter().map(strings).collect() };
        let mut wrong = Vec::new();
        if placements != pairs("placements") {
            wrong.push(format!("placements {placements:?}"));
        }
        if unplaced != pairs("unplaced") {
            wrong.push(format!("unplaced {unplaced:?}"));
        }
        if migrations != pairs("migrations") {
            wrong.push(format!("migrations {migrations:?}"));
        }
        if plan.hosts_exited_standby != strings(&exp["hosts_exited_standby"]) {
            wrong.push(format!("hosts_exited_standby {:?}", plan.hosts_exited_standby));
        }
        if let Some(Value::Object(explain)) = exp.get("explain") {
            for (vm, phrases) in explain {
                let text = plan.explain(&inv, vm).unwrap();
                for phrase in strings(phrases) {
                    if !text.contains(&phrase) {
                        wrong.push(format!("explain({vm}) lacks '{phrase}':\n{text}"));
                    }
                }
            }
        }
        if !wrong.is_empty() {
            failures.push(format!("{}: {}\n  {}", path.display(), doc["description"], wrong.join("\n  ")));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// A running VM moved by DRS is seen on its new host by later searches: two restarted VMs that
/// each need one vMotion, and the second search must not move the first one's VM again from
/// its old host.
#[test]
fn drs_later_searches_see_earlier_moves() {
    let host = |id: &str| json!({"id": id, "cpu_mhz": 20000, "memory_mb": 8192, "datastores": ["ds-1"]});
    let vm = |id: &str, h: &str, mem: u64| json!({"id": id, "host": h, "home_datastore": "ds-1", "memory_reservation_mb": mem});
    let inv = inventory(json!({
        "cluster": {"admission_control": {"policy": "disabled"}, "drs": {"enabled": true, "automation": "fullyAutomated"}},
        "datastores": [{"id": "ds-1"}],
        "hosts": [host("host-1"), host("host-2"), host("host-3"), host("host-4")],
        // host-2..4: 3072 MB free each. vm-p (4096) and vm-q (4096) fail with host-1.
        "vms": [vm("vm-p", "host-1", 4096), vm("vm-q", "host-1", 4000),
                vm("vm-a", "host-2", 1024), vm("vm-b", "host-2", 4096),
                vm("vm-c", "host-3", 1024), vm("vm-d", "host-3", 4096),
                vm("vm-e", "host-4", 5120)],
    }));
    let plan = plan_failover(&inv, &["host-1"], &[] as &[&str]).unwrap();
    // vm-p first (more memory): vm-a host-2 → host-3 (3072 free, ties host-4, smaller id)
    // leaves host-3 with 2048 free, so vm-p goes to host-2. vm-q (4000): host-3 has 2048,
    // host-4 3072 free; moving vm-c (1024) off host-3 needs a host with 1024 free: host-4
    // (3072) → host-3 has 3072 < 4000. Moving vm-a (now on host-3) too: two moves, or one move
    // of vm-d (4096) nowhere... The search finds the fewest: host-4 needs 928 MB more and holds
    // only vm-e (5120, fits nowhere); host-3 needs 1952: vm-a+vm-c (2048) both to host-4
    // (3072 free): two moves.
    let moves: Vec<(&str, &str, &str, &str)> = plan
        .migrations
        .iter()
        .map(|m| (m.vm.as_str(), m.source.as_str(), m.target.as_str(), m.for_vm.as_str()))
        .collect();
    assert_eq!(
        moves,
        vec![
            ("vm-a", "host-2", "host-3", "vm-p"),
            ("vm-a", "host-3", "host-4", "vm-q"),
            ("vm-c", "host-3", "host-4", "vm-q"),
        ]
    );
    assert_eq!(plan.placement("vm-p").map(|p| p.host.as_str()), Some("host-2"));
    assert_eq!(plan.placement("vm-q").map(|p| p.host.as_str()), Some("host-3"));
}
