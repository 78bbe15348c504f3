//! Remedies (R-REMEDY) on hand-reasoned clusters: the sizes expected are worked out in the
//! comments from the slot and placement rules, never copied from the output; every remedy is
//! applied and the promise checked again with `admission::evaluate` and `sweep`, and one step
//! less is checked not to be enough.

use serde_json::{json, Value};

use hapolicy::admission::evaluate;
use hapolicy::remedy::{remedies, Patch, Remedies, Remedy, RemedyKind, RemedyOptions, Scope};
use hapolicy::sweep::{sweep, SweepOptions};
use hapolicy::Inventory;

fn inventory(doc: &Value) -> Inventory {
    hapolicy::parse::from_value(doc).unwrap_or_else(|e| panic!("{e}"))
}

fn lab() -> Inventory {
    hapolicy::parse::from_json_str(&std::fs::read_to_string("examples/lab.json").unwrap()).unwrap()
}

fn host(id: &str, cpu: u64, mem: u64, datastores: &[&str]) -> Value {
    json!({"id": id, "name": format!("esx-{id}"), "cpu_mhz": cpu, "memory_mb": mem, "datastores": datastores})
}

fn vm(id: &str, host: &str, cpu: u64, mem: u64, ds: &str) -> Value {
    json!({"id": id, "name": format!("n-{id}"), "host": host, "power_state": "poweredOn",
           "cpu_reservation_mhz": cpu, "memory_reservation_mb": mem, "memory_overhead_mb": 0,
           "home_datastore": ds})
}

fn doc(admission: Value, hosts: Vec<Value>, vms: Vec<Value>, rules: Vec<Value>, options: Value) -> Value {
    json!({
        "cluster": {"name": "t", "version": "8.0", "admission_control": admission, "advanced_options": options},
        "hosts": hosts,
        "datastores": [{"id": "ds-1", "name": "shared", "type": "VMFS"}, {"id": "ds-local", "name": "local", "type": "VMFS"}],
        "vms": vms,
        "rules": rules,
    })
}

fn of_kind(r: &Remedies, kind: RemedyKind) -> Vec<&Remedy> {
    r.remedies.iter().filter(|x| x.kind == kind).collect()
}

/// The promise on `inv` checked from scratch with the engine.
fn holds(inv: &Inventory, failures: Option<usize>) -> bool {
    let ac = evaluate(inv).figures.satisfied;
    let sw = failures.is_none_or(|k| sweep(inv, &SweepOptions::new(k)).unwrap().max_failures_tolerated() >= Some(k));
    ac && sw
}

/// Every remedy: verified, and applying its patch (validated again) makes the promise hold with
/// the figures of `after`.
fn check_all(inv: &Inventory, r: &Remedies) {
    for rem in &r.remedies {
        assert!(rem.verified, "{}", rem.summary);
        let changed = rem.patch.apply_validated(inv).unwrap();
        assert_eq!(changed, rem.patch.apply(inv).unwrap(), "validated and fast apply agree: {}", rem.summary);
        assert!(holds(&changed, r.failures), "{} does not restore the promise", rem.summary);
        let again = remedies(&changed, &RemedyOptions { failures: r.failures, ..RemedyOptions::default() }).unwrap();
        assert!(again.holds() && again.remedies.is_empty());
        assert_eq!(again.before, rem.after, "after figures are the changed inventory's: {}", rem.summary);
    }
    // Sorted by scope, then size.
    for w in r.remedies.windows(2) {
        assert!((w[0].scope, w[0].size_percent) <= (w[1].scope, w[1].size_percent), "order");
    }
}

fn with_patch(inv: &Inventory, p: Patch) -> Inventory {
    p.apply(inv).unwrap()
}

/// Cluster A: 3 hosts of 30,000 MHz / 10,240 MB; 60 VMs of 1,000 MHz / 1,024 MB (no overhead);
/// slot policy, 1 host failure. Slot 1,000 MHz / 1,024 MB; host slots min(30, 10) = 10; total
/// 30 < 60 used: overcommitted.
fn cluster_a() -> Inventory {
    let hosts = (1..=3).map(|i| host(&format!("h{i}"), 30_000, 10_240, &["ds-1"])).collect();
    let vms = (0..60).map(|i| vm(&format!("v{i:02}"), &format!("h{}", i % 3 + 1), 1_000, 1_024, "ds-1")).collect();
    inventory(&doc(json!({"policy": "slot", "host_failures": 1}), hosts, vms, vec![], json!({})))
}

#[test]
fn slot_cluster_hosts_memory_and_reservations_by_hand() {
    let inv = cluster_a();
    let r = remedies(&inv, &RemedyOptions::default()).unwrap();
    assert!(!r.holds());
    check_all(&inv, &r);

    // n new hosts of 10 slots: 30 + 10n − 10 (the largest lost) ≥ 60 → n ≥ 4.
    let add = of_kind(&r, RemedyKind::AddHosts);
    assert_eq!(add.len(), 1);
    assert_eq!(add[0].patch.add_hosts[0].like, "h1");
    assert_eq!(add[0].patch.add_hosts[0].count, 4);
    assert_eq!(add[0].scope, Scope::Hardware);
    let mut three = add[0].patch.clone();
    three.add_hosts[0].count = 3;
    three.add_hosts[0].ids.pop();
    assert!(!holds(&with_patch(&inv, three), None), "3 hosts: 50 slots < 60");

    // m memory steps: host slots min(30, 10 + 16m); 2 hosts left must hold 60 → 30 each → m ≥ 2
    // (m = 1: 26 slots, 52 < 60). CPU is not the bottleneck: no CPU remedy.
    let mem = of_kind(&r, RemedyKind::AddMemory);
    assert_eq!(mem.len(), 1);
    assert_eq!(mem[0].patch.host_memory_mb, 2 * 16_384);
    assert_eq!(mem[0].patch.host_cpu_mhz, 0);
    assert!(!holds(&with_patch(&inv, Patch { host_memory_mb: 16_384, ..Patch::default() }), None));
    assert!(of_kind(&r, RemedyKind::AddCpu).is_empty());
    assert!(of_kind(&r, RemedyKind::AddCpuAndMemory).is_empty());

    // Reservations at v MB: host slots min(30, floor(10240 / v)) ≥ 30 → v ≤ 341; all 60 VMs.
    let low = of_kind(&r, RemedyKind::LowerReservations);
    assert_eq!(low.len(), 1);
    assert_eq!(low[0].patch.vms.len(), 60);
    assert!(low[0].patch.vms.values().all(|c| c.memory_reservation_mb == Some(341) && c.cpu_reservation_mhz.is_none()));
    let mut one_less = low[0].patch.clone();
    for c in one_less.vms.values_mut() {
        c.memory_reservation_mb = Some(342);
    }
    assert!(!holds(&with_patch(&inv, one_less), None), "342 MB: 29 slots per host");

    // Overcommitted (more memory reserved than exists): no policy matches, no cap helps.
    assert!(of_kind(&r, RemedyKind::ChangePolicy).is_empty());
    assert!(of_kind(&r, RemedyKind::SlotCap).is_empty());
    // Smallest scope first: VMs before hardware.
    assert_eq!(r.remedies[0].kind, RemedyKind::LowerReservations);
}

#[test]
fn lab_slot_caps_by_hand() {
    // examples/lab.json: slot 8,000 MHz / 65,946 MB (sql01/sql02: 8,000 MHz, 64 GB + 410 MB);
    // host slots 3, 3, 2, 2 = 10 for 19 used slots. No memory cap alone helps: CPU limits the
    // hosts to 6 + 6 + 4 + 4 slots, 14 after losing one of 6. Caps 5,142 MHz / 28,086 MB: host
    // slots min(9, 9) = 9 (48 GHz / 256 GB) and min(7, 7) = 7 (36 GHz / 192 GB): 32 − 9 = 23;
    // used: sql VMs max(⌈8000/5142⌉, ⌈65946/28086⌉) = 3 each, 17 others 1 each: 23 ≤ 23.
    // One step larger: 36,000 / 5,143 = 6.99 → 6 slots and 196,608 / 28,087 = 6.99 → 6.
    let inv = lab();
    let r = remedies(&inv, &RemedyOptions::default()).unwrap();
    check_all(&inv, &r);
    let caps = of_kind(&r, RemedyKind::SlotCap);
    assert_eq!(caps.len(), 1);
    let opts = &caps[0].patch.advanced_options;
    assert_eq!(opts.get("das.slotCpuInMHz").map(String::as_str), Some("5142"));
    assert_eq!(opts.get("das.slotMemInMB").map(String::as_str), Some("28086"));
    for (key, larger) in [("das.slotCpuInMHz", "5143"), ("das.slotMemInMB", "28087")] {
        let mut p = caps[0].patch.clone();
        p.advanced_options.insert(key.into(), larger.into());
        assert!(!holds(&with_patch(&inv, p), None), "{key} = {larger} is not enough");
    }
    // Hosts like host-21 (3 slots): 10 + 3n − 3 ≥ 19 → n = 4; like host-23 (2 slots):
    // 10 + 2n − 3 ≥ 19 → n = 6.
    let mut add: Vec<(String, usize)> = of_kind(&r, RemedyKind::AddHosts)
        .iter()
        .map(|x| (x.patch.add_hosts[0].like.clone(), x.patch.add_hosts[0].count))
        .collect();
    add.sort();
    assert_eq!(add, vec![("host-21".to_string(), 4), ("host-23".to_string(), 6)]);
    // The percentage policy for the same 1 failure: 1/4 = 25 % needed, far more free.
    let policy = of_kind(&r, RemedyKind::ChangePolicy);
    assert_eq!(policy.len(), 1);
    assert_eq!(policy[0].scope, Scope::Setting);
    assert!(r.remedies[0].scope == Scope::Setting);
    // sql01 / sql02 lowered to 6,000 MHz and 32,768 MB with overhead (32,358 + 410): host slots
    // min(8, 8) and min(6, 6): 28 − 8 = 20 ≥ 19. One step less: 36,000 / 6,001 → 5 slots, or
    // 196,608 / 32,769 → 5 slots: 26 − 8 = 18 < 19.
    let low = of_kind(&r, RemedyKind::LowerReservations);
    assert_eq!(low.len(), 1);
    let vms: Vec<(&str, Option<u64>, Option<u64>)> =
        low[0].patch.vms.iter().map(|(id, c)| (id.as_str(), c.cpu_reservation_mhz, c.memory_reservation_mb)).collect();
    assert_eq!(vms, vec![("vm-102", Some(6_000), Some(32_358)), ("vm-103", Some(6_000), Some(32_358))]);
    assert!(low[0].summary.contains("vm-102 (sql01)"), "{}", low[0].summary);
    for (cpu, mem) in [(6_001, 32_358), (6_000, 32_359)] {
        let mut p = low[0].patch.clone();
        for c in p.vms.values_mut() {
            c.cpu_reservation_mhz = Some(cpu);
            c.memory_reservation_mb = Some(mem);
        }
        assert!(!holds(&with_patch(&inv, p), None), "{cpu} MHz / {mem} MB is not enough");
    }
}

/// Cluster B: 6 hosts of 50,000 MHz / 16,384 MB, each running 3 VMs of 4,096 MB (free 4,096:
/// one more VM). One failure: 3 VMs, 5 free places. Two failures: 6 VMs, 4 places → 2 unplaced.
fn cluster_b() -> Inventory {
    let hosts = (1..=6).map(|i| host(&format!("h{i}"), 50_000, 16_384, &["ds-1"])).collect();
    let vms = (0..18).map(|i| vm(&format!("v{i:02}"), &format!("h{}", i % 6 + 1), 0, 4_096, "ds-1")).collect();
    inventory(&doc(json!({"policy": "disabled"}), hosts, vms, vec![], json!({})))
}

#[test]
fn two_failures_hosts_and_memory_by_hand() {
    let inv = cluster_b();
    assert_eq!(sweep(&inv, &SweepOptions::new(2)).unwrap().max_failures_tolerated(), Some(1));
    let r = remedies(&inv, &RemedyOptions { failures: Some(2), ..RemedyOptions::default() }).unwrap();
    let s = r.before.sweep.as_ref().unwrap();
    assert_eq!(s.failing_combinations, 15, "every pair of the 6 hosts");
    assert_eq!(s.scenarios, 6 + 15);
    check_all(&inv, &r);
    // One new host (4 places): 4 + 4 ≥ 6 for two old hosts failing; with the new host among
    // the failed, 3 VMs for 4 places.
    let add = of_kind(&r, RemedyKind::AddHosts);
    assert_eq!(add.len(), 1);
    assert_eq!(add[0].patch.add_hosts[0].count, 1);
    // One memory step: 4 survivors with 20,480 MB free each hold 5 VMs each.
    let mem = of_kind(&r, RemedyKind::AddMemory);
    assert_eq!(mem.len(), 1);
    assert_eq!(mem[0].patch.host_memory_mb, 16_384);
    // CPU is not reserved: no CPU remedy; admission control disabled: no policy change.
    assert!(of_kind(&r, RemedyKind::AddCpu).is_empty());
    assert!(of_kind(&r, RemedyKind::ChangePolicy).is_empty());
    assert!(of_kind(&r, RemedyKind::SlotCap).is_empty());
}

#[test]
fn anti_affinity_rule_that_strands_vms() {
    // Three hosts, plenty of room, one VM of a three-VM anti-affinity rule on each: when one
    // host fails its member has nowhere to go (the other two hold members).
    let hosts = (1..=3).map(|i| host(&format!("h{i}"), 50_000, 65_536, &["ds-1"])).collect();
    let vms = (1..=3).map(|i| vm(&format!("v{i}"), &format!("h{i}"), 0, 1_024, "ds-1")).collect();
    let rules = vec![json!({"type": "vmAntiAffinity", "name": "spread", "vms": ["v1", "v2", "v3"]})];
    let inv = inventory(&doc(
        json!({"policy": "disabled"}),
        hosts,
        vms,
        rules,
        json!({"das.respectVmVmAntiAffinityRules": "true"}),
    ));
    let r = remedies(&inv, &RemedyOptions { failures: Some(1), ..RemedyOptions::default() }).unwrap();
    check_all(&inv, &r);
    let relax = of_kind(&r, RemedyKind::RelaxRule);
    assert_eq!(relax.len(), 1);
    assert_eq!(relax[0].patch.remove_rules, vec!["spread".to_string()]);
    assert_eq!(relax[0].scope, Scope::Rule);
    // A fourth host without a member takes the stranded VM; more memory never helps.
    assert_eq!(of_kind(&r, RemedyKind::AddHosts)[0].patch.add_hosts[0].count, 1);
    assert!(of_kind(&r, RemedyKind::AddMemory).is_empty());
    assert_eq!(r.remedies[0].kind, RemedyKind::RelaxRule);
}

#[test]
fn local_storage_needs_a_move() {
    // v-local lives on h1's local datastore: no other host can restart it.
    let hosts = vec![
        host("h1", 50_000, 65_536, &["ds-1", "ds-local"]),
        host("h2", 50_000, 65_536, &["ds-1"]),
        host("h3", 50_000, 65_536, &["ds-1"]),
    ];
    let vms = vec![vm("v-local", "h1", 0, 1_024, "ds-local"), vm("v-shared", "h2", 0, 1_024, "ds-1")];
    let inv = inventory(&doc(json!({"policy": "disabled"}), hosts, vms, vec![], json!({})));
    let r = remedies(&inv, &RemedyOptions { failures: Some(1), ..RemedyOptions::default() }).unwrap();
    check_all(&inv, &r);
    assert_eq!(r.remedies.len(), 1, "only a move helps: {:?}", r.notes);
    let m = &r.remedies[0];
    assert_eq!(m.kind, RemedyKind::MoveStorage);
    assert_eq!(m.patch.vms["v-local"].datastore.as_deref(), Some("ds-1"));
    assert!(m.summary.contains("v-local (n-v-local)") && m.summary.contains("ds-1 (shared)"), "{}", m.summary);
}

#[test]
fn a_kept_promise_needs_nothing() {
    let inv = cluster_b();
    let r = remedies(&inv, &RemedyOptions { failures: Some(1), ..RemedyOptions::default() }).unwrap();
    assert!(r.holds());
    assert!(r.remedies.is_empty() && r.notes.is_empty());
}

#[test]
fn failures_out_of_range_is_an_error() {
    let inv = cluster_b();
    for k in [0, 6, 7] {
        let err = remedies(&inv, &RemedyOptions { failures: Some(k), ..RemedyOptions::default() }).unwrap_err();
        assert!(err.to_string().contains("failures must be between 1 and 5"), "{err}");
    }
}

#[test]
fn lab_two_failures_promise_includes_admission_control() {
    // lab.json survives every 2-host failure but misses its admission level: the remedies are
    // the admission ones, and each keeps the sweep whole.
    let inv = lab();
    let r = remedies(&inv, &RemedyOptions { failures: Some(2), ..RemedyOptions::default() }).unwrap();
    assert_eq!(r.before.sweep.as_ref().unwrap().failing_combinations, 0);
    assert!(!r.holds());
    check_all(&inv, &r);
    assert!(!of_kind(&r, RemedyKind::SlotCap).is_empty());
}

#[test]
fn percentage_policy_by_hand() {
    // 2 hosts of 10,000 MHz / 10,240 MB; 4 VMs of 2,000 MB (CPU counted at das.vmCpuMinMHz =
    // 32 each); 80 % / 80 % reserved. Memory free: (20,480 − 8,000) / 20,480 = 60.94 %.
    let hosts = (1..=2).map(|i| host(&format!("h{i}"), 10_000, 10_240, &["ds-1"])).collect();
    let vms = (0..4).map(|i| vm(&format!("v{i}"), &format!("h{}", i % 2 + 1), 0, 2_000, "ds-1")).collect();
    let ac = json!({"policy": "percentage", "cpu_percent": 80, "memory_percent": 80});
    let inv = inventory(&doc(ac, hosts, vms, vec![], json!({})));
    let r = remedies(&inv, &RemedyOptions::default()).unwrap();
    check_all(&inv, &r);
    // n hosts: 8,000 ≤ 20 % of 10,240 (2 + n) → 2 + n ≥ 3.9 → n = 2 (n = 1: 73.96 %).
    let add = of_kind(&r, RemedyKind::AddHosts);
    assert_eq!(add[0].patch.add_hosts[0].count, 2);
    // m steps: 8,000 ≤ 20 % of 2 (10,240 + 16,384 m) → m ≥ 0.6 → 1.
    assert_eq!(of_kind(&r, RemedyKind::AddMemory)[0].patch.host_memory_mb, 16_384);
    // The promise the cluster keeps: CPU (20,000 − 128) / 20,000 = 99.36 % → 99; memory 60.
    let policy = of_kind(&r, RemedyKind::ChangePolicy);
    assert_eq!(policy.len(), 1);
    assert_eq!(
        policy[0].patch.admission_control,
        Some(hapolicy::model::AdmissionControl::Percentage { cpu_percent: 99.0, memory_percent: 60.0 })
    );
    assert_eq!(policy[0].scope, Scope::Promise);
    assert_eq!(r.remedies.last().map(|x| x.kind), Some(RemedyKind::ChangePolicy), "a lowered promise comes last");
    // No slot: no cap, no reservation remedy.
    assert!(of_kind(&r, RemedyKind::SlotCap).is_empty() && of_kind(&r, RemedyKind::LowerReservations).is_empty());
}

#[test]
fn failover_host_running_a_vm() {
    // h3 is the dedicated failover host but runs v3: the policy is not satisfied, and no
    // capacity changes that. The percentage policy for 1 failure (1/3 = 33.3 % per resource)
    // holds: 3,072 of 30,720 MB reserved.
    let hosts = (1..=3).map(|i| host(&format!("h{i}"), 10_000, 10_240, &["ds-1"])).collect();
    let vms = (1..=3).map(|i| vm(&format!("v{i}"), &format!("h{i}"), 0, 1_024, "ds-1")).collect();
    let inv = inventory(&doc(json!({"policy": "failoverHosts", "hosts": ["h3"]}), hosts, vms, vec![], json!({})));
    let r = remedies(&inv, &RemedyOptions::default()).unwrap();
    check_all(&inv, &r);
    assert_eq!(r.remedies.len(), 1, "{:?}", r.notes);
    assert_eq!(
        r.remedies[0].patch.admission_control,
        Some(hapolicy::model::AdmissionControl::PercentageAuto { host_failures: 1 })
    );
    assert_eq!(r.remedies[0].scope, Scope::Setting);
    assert!(r.notes.iter().any(|n| n.starts_with("addHosts: even 8 hosts like h1")), "{:?}", r.notes);
}

#[test]
fn storage_moves_combine_with_capacity() {
    // Cluster B (two failures leave 2 VMs of 4,096 MB unplaced) plus a VM on h1's local disk:
    // the move alone is not enough, so every remedy carries it; one memory step still suffices.
    let mut hosts: Vec<Value> = (1..=6).map(|i| host(&format!("h{i}"), 50_000, 16_384, &["ds-1"])).collect();
    hosts[0] = host("h1", 50_000, 16_384, &["ds-1", "ds-local"]);
    let mut vms: Vec<Value> =
        (0..18).map(|i| vm(&format!("v{i:02}"), &format!("h{}", i % 6 + 1), 0, 4_096, "ds-1")).collect();
    vms.push(vm("v-local", "h1", 0, 0, "ds-local"));
    let inv = inventory(&doc(json!({"policy": "disabled"}), hosts, vms, vec![], json!({})));
    let r = remedies(&inv, &RemedyOptions { failures: Some(2), ..RemedyOptions::default() }).unwrap();
    check_all(&inv, &r);
    assert!(r.notes.iter().any(|n| n.contains("not enough alone")), "{:?}", r.notes);
    assert!(of_kind(&r, RemedyKind::MoveStorage).is_empty());
    let mem = of_kind(&r, RemedyKind::AddMemory);
    assert_eq!(mem[0].patch.host_memory_mb, 16_384);
    assert_eq!(mem[0].patch.vms["v-local"].datastore.as_deref(), Some("ds-1"));
    assert!(mem[0].summary.ends_with("after moving 1 VM to shared storage"), "{}", mem[0].summary);
    let add = of_kind(&r, RemedyKind::AddHosts);
    assert_eq!(add[0].patch.add_hosts[0].count, 1);
    assert!(add[0].patch.vms.contains_key("v-local"));
}
