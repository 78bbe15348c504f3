//! What-if sweeps: every scenario equals `plan_failover`, determinism across threads and shards,
//! samples, `max_failures_tolerated`, cancellation, bad input.

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;

use serde_json::{json, Value};

use hapolicy::capacity::{host_capacity, vm_reservation, Resources};
use hapolicy::generate::{synthetic_document, GeneratorSpec};
use hapolicy::model::Version;
use hapolicy::placement::{plan_failover, FailoverPlan, UnplacedReason};
use hapolicy::sweep::{sweep, Retain, ScenarioResult, SweepOptions, SweepResult, Tolerance};
use hapolicy::{Error, Inventory};

fn inventory(doc: &Value) -> Inventory {
    hapolicy::parse::from_value(doc).unwrap_or_else(|e| panic!("{e}"))
}

fn generated_doc(hosts: usize, vms: usize, seed: u64, version: Version) -> Value {
    synthetic_document(&GeneratorSpec { hosts, vms, seed, version })
}

/// A tiny deterministic generator for test data (xorshift64*).
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 33) as usize % n.max(1)
    }
}

fn ids(doc: &Value, key: &str) -> Vec<String> {
    doc[key].as_array().unwrap().iter().map(|x| x["id"].as_str().unwrap().to_string()).collect()
}

/// Adds every rule kind placement applies (anti-affinity, VM-host must / must-not / should /
/// should-not, dependencies) over random VMs and hosts, and respects them all.
fn with_rules(mut doc: Value, seed: u64) -> Value {
    let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let hosts = ids(&doc, "hosts");
    let vms: Vec<String> = doc["vms"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| v["power_state"] == "poweredOn")
        .map(|v| v["id"].as_str().unwrap().to_string())
        .collect();
    let pick_vms = |rng: &mut Rng, n: usize| -> Vec<String> {
        let mut picked = BTreeSet::new();
        while picked.len() < n.min(vms.len()) {
            picked.insert(vms[rng.below(vms.len())].clone());
        }
        picked.into_iter().collect()
    };
    let mut rules = Vec::new();
    for k in 0..4 {
        rules.push(
            json!({"type": "vmAntiAffinity", "name": format!("apart-{k}"), "vms": pick_vms(&mut rng, 2 + k % 2)}),
        );
    }
    let half: Vec<&String> = hosts.iter().take(hosts.len().div_ceil(2)).collect();
    let last_two: Vec<&String> = hosts.iter().rev().take(2).collect();
    for (kind, hosts) in
        [("vmHostMust", &half), ("vmHostMustNot", &last_two), ("vmHostShould", &half), ("vmHostShouldNot", &last_two)]
    {
        for k in 0..2 {
            rules.push(
                json!({"type": kind, "name": format!("{kind}-{k}"), "vms": pick_vms(&mut rng, 5), "hosts": hosts}),
            );
        }
    }
    for k in 0..5 {
        let pair = pick_vms(&mut rng, 2);
        // The later id depends on the earlier one: no cycles.
        rules
            .push(json!({"type": "vmDependsOn", "name": format!("after-{k}"), "vm": pair[1], "depends_on": [pair[0]]}));
    }
    doc["rules"].as_array_mut().unwrap().extend(rules);
    let options = &mut doc["cluster"]["advanced_options"];
    options["das.respectVmVmAntiAffinityRules"] = json!("true");
    options["das.respectVmHostSoftAffinityRules"] = json!("true");
    doc
}

fn with_failover_hosts(mut doc: Value) -> Value {
    let hosts = ids(&doc, "hosts");
    doc["cluster"]["admission_control"] = json!({"policy": "failoverHosts", "hosts": [hosts[1], hosts[3]]});
    doc
}

/// Every host offers `prod`; odd hosts also `dmz`; every third VM needs `dmz`.
fn with_networks(mut doc: Value) -> Value {
    for (i, host) in doc["hosts"].as_array_mut().unwrap().iter_mut().enumerate() {
        host["networks"] = if i % 2 == 1 { json!(["prod", "dmz"]) } else { json!(["prod"]) };
    }
    for (i, vm) in doc["vms"].as_array_mut().unwrap().iter_mut().enumerate() {
        vm["networks"] = if i % 3 == 0 { json!(["prod", "dmz"]) } else { json!(["prod"]) };
    }
    doc
}

fn with_option(mut doc: Value, key: &str, value: &str) -> Value {
    doc["cluster"]["advanced_options"][key] = json!(value);
    doc
}

/// Host 0 in maintenance (its VMs powered off), host 1 not responding.
fn with_unusable_hosts(mut doc: Value) -> Value {
    let host_0 = doc["hosts"][0]["id"].clone();
    doc["hosts"][0]["maintenance"] = json!(true);
    doc["hosts"][1]["state"] = json!("notResponding");
    for vm in doc["vms"].as_array_mut().unwrap().iter_mut().filter(|v| v["host"] == host_0) {
        vm["power_state"] = json!("poweredOff");
    }
    doc
}

/// The inventories the exhaustive comparison runs on: small generated clusters, alone and with
/// every placement feature switched on.
fn small_inventories() -> Vec<(String, Inventory)> {
    let mut out = Vec::new();
    for (hosts, vms, seed) in [(5, 90, 1), (6, 140, 2), (8, 200, 3)] {
        let v8 = generated_doc(hosts, vms, seed, Version::V8_0);
        let name = |what: &str| format!("{hosts}h/{vms}vm/seed{seed} {what}");
        out.push((name("8.0"), inventory(&v8)));
        out.push((name("6.0"), inventory(&generated_doc(hosts, vms, seed, Version::V6_0))));
        out.push((name("rules"), inventory(&with_rules(v8.clone(), seed))));
        out.push((name("rules+failover hosts"), inventory(&with_failover_hosts(with_rules(v8.clone(), seed)))));
        out.push((name("networks"), inventory(&with_networks(v8.clone()))));
        out.push((name("ft limit 1"), inventory(&with_option(v8.clone(), "das.maxFtVmsPerHost", "1"))));
        out.push((name("unusable hosts"), inventory(&with_unusable_hosts(with_rules(v8.clone(), seed + 7)))));
        out.push((name("drs+dpm"), inventory(&with_drs(with_unusable_hosts(with_rules(v8.clone(), seed + 3))))));
    }
    out
}

/// DRS fully automated and DPM on (R-PLACE-DRS): restarts may move VMs and wake standby hosts.
fn with_drs(mut doc: Value) -> Value {
    doc["cluster"]["drs"] = json!({"enabled": true, "automation": "fullyAutomated"});
    doc["cluster"]["dpm"] = json!({"enabled": true});
    doc
}

/// Unreserved capacity of the surviving usable hosts after `plan`, computed from the plan alone.
fn capacity_left(inv: &Inventory, plan: &FailoverPlan) -> Resources {
    let mut reserved: HashMap<&str, Resources> = HashMap::new();
    for vm in inv.vms.iter().filter(|v| v.is_powered_on()) {
        if let Some(host) = vm.host.as_deref() {
            let r = reserved.entry(host).or_default();
            *r = r.add(vm_reservation(vm));
        }
    }
    for p in &plan.placements {
        let r = reserved.entry(p.host.as_str()).or_default();
        *r = r.add(vm_reservation(inv.vm(&p.vm).unwrap()));
    }
    // R-PLACE-DRS: a vMotion moves its VM's reservation from one surviving host to another.
    for m in &plan.migrations {
        let need = vm_reservation(inv.vm(&m.vm).unwrap());
        let from = reserved.entry(m.source.as_str()).or_default();
        *from = from.saturating_sub(need);
        let to = reserved.entry(m.target.as_str()).or_default();
        *to = to.add(need);
    }
    inv.hosts
        .iter()
        .filter(|h| h.is_available() && !plan.failed_hosts.contains(&h.id))
        .map(|h| host_capacity(h).saturating_sub(reserved.get(h.id.as_str()).copied().unwrap_or_default()))
        .fold(Resources::default(), Resources::add)
}

/// One scenario of a sweep against `plan_failover` for the same failed hosts.
fn assert_matches_plan(inv: &Inventory, scenario: &ScenarioResult, context: &str) {
    let failed = scenario.failed_host_ids(inv);
    let plan = plan_failover(inv, &failed, &[]).unwrap();
    let context = format!("{context}, failed {failed:?}");
    assert_eq!(scenario.restarted as usize, plan.placements.len(), "restarted, {context}");
    assert_eq!(scenario.unplaced as usize, plan.unplaced.len(), "unplaced, {context}");
    let expected: Vec<(&str, UnplacedReason)> = plan.unplaced.iter().map(|u| (u.vm.as_str(), u.reason)).collect();
    assert_eq!(scenario.unplaced_vm_ids(inv), expected, "unplaced VMs, {context}");
    assert_eq!(scenario.capacity_left, capacity_left(inv, &plan), "capacity left, {context}");
}

/// Every combination of 1..=k of `candidates` (ascending host indices), in the documented order.
fn combinations(candidates: &[u32], k: usize) -> Vec<Vec<u32>> {
    let mut out = Vec::new();
    for size in 1..=k {
        let mut level: Vec<Vec<u32>> = vec![vec![]];
        for _ in 0..size {
            level = level
                .into_iter()
                .flat_map(|c| {
                    let start = c.last().map_or(0, |&l| candidates.iter().position(|&x| x == l).unwrap() + 1);
                    candidates[start..].iter().map(move |&h| [c.clone(), vec![h]].concat()).collect::<Vec<_>>()
                })
                .collect();
        }
        out.extend(level);
    }
    out
}

fn usable_hosts(inv: &Inventory) -> Vec<u32> {
    (0..inv.hosts.len() as u32).filter(|&h| inv.hosts[h as usize].is_available()).collect()
}

// ------------------------------------------------------------ equal to plan_failover

#[test]
fn every_scenario_equals_plan_failover_on_small_clusters() {
    let mut scenarios = 0;
    let mut unplaced_seen = BTreeSet::new();
    for (name, inv) in small_inventories() {
        let candidates = usable_hosts(&inv);
        let k = 3.min(candidates.len());
        let result = sweep(&inv, &SweepOptions::new(k)).unwrap();
        assert!(result.complete() && result.covers_whole_sweep(), "{name}");
        let enumerated: Vec<Vec<u32>> = result.results().iter().map(|s| s.failed_hosts.clone()).collect();
        assert_eq!(enumerated, combinations(&candidates, k), "{name}: enumeration order");
        for scenario in result.results() {
            assert_matches_plan(&inv, scenario, &name);
            unplaced_seen.extend(scenario.unplaced_vms.iter().map(|u| u.reason));
        }
        scenarios += result.results().len();
    }
    assert!(scenarios > 1000, "{scenarios} scenarios compared");
    // The inventories exercise more than one way of failing.
    assert!(unplaced_seen.len() >= 3, "reasons seen: {unplaced_seen:?}");
}

/// Every VM's memory reservation doubled, capped at what its host holds: a nearly full,
/// fragmented cluster where many restarts fail for capacity.
fn fragmented(mut doc: Value) -> Value {
    for vm in doc["vms"].as_array_mut().unwrap() {
        let mb = vm["memory_reservation_mb"].as_u64().unwrap_or(0);
        vm["memory_reservation_mb"] = json!(mb * 2);
    }
    doc
}

/// Up to 4 failed hosts (R-PLACE, the sweep's capacity bound in docs/rules/sweep.rst): every
/// scenario equals `plan_failover`, on clusters big enough for the bound to decide most
/// scenarios (16 heterogeneous hosts, 45–65 % reserved) and on ones where it must step aside —
/// rules of every kind, dedicated failover hosts, networks, an FT limit of 1, unusable hosts,
/// DRS with DPM, and a fragmented, nearly full cluster.
#[test]
fn every_scenario_of_up_to_4_failures_equals_plan_failover() {
    let mut scenarios = 0;
    let mut tolerated = BTreeSet::new();
    for (hosts, vms, seed) in [(16, 320, 21), (14, 260, 22)] {
        let base = generated_doc(hosts, vms, seed, Version::V8_0);
        let name = |what: &str| format!("{hosts}h/{vms}vm/seed{seed} {what}");
        let cases = [
            (name("8.0"), inventory(&base)),
            (name("rules"), inventory(&with_rules(base.clone(), seed))),
            (name("rules+failover hosts"), inventory(&with_failover_hosts(with_rules(base.clone(), seed)))),
            (
                name("networks, ft limit 1"),
                inventory(&with_option(with_networks(base.clone()), "das.maxFtVmsPerHost", "1")),
            ),
            (
                name("unusable hosts, drs+dpm"),
                inventory(&with_drs(with_unusable_hosts(with_rules(base.clone(), seed)))),
            ),
            (name("fragmented"), inventory(&fragmented(base.clone()))),
        ];
        for (name, inv) in cases {
            let candidates = usable_hosts(&inv);
            let result = sweep(&inv, &SweepOptions::new(4)).unwrap();
            assert_eq!(result.results().len(), combinations(&candidates, 4).len(), "{name}");
            for scenario in result.results() {
                assert_matches_plan(&inv, scenario, &name);
            }
            // max_failures_tolerated is the first level with a stranded VM, less one.
            let first_failing = result.results().iter().filter(|s| s.unplaced > 0).map(|s| s.failed_hosts.len()).min();
            assert_eq!(result.max_failures_tolerated(), Some(first_failing.map_or(4, |k| k - 1)), "{name}");
            tolerated.insert(result.max_failures_tolerated());
            scenarios += result.results().len();
        }
    }
    assert!(scenarios > 20_000, "{scenarios} scenarios compared");
    assert!(tolerated.len() >= 2, "answers seen: {tolerated:?}");
}

#[test]
fn candidate_hosts_restrict_the_failures_and_may_be_unusable_hosts() {
    let inv = inventory(&with_unusable_hosts(with_rules(generated_doc(8, 200, 4, Version::V8_0), 4)));
    // Host 0 is in maintenance, host 1 not responding (its VMs still run): not default
    // candidates, but they may be named, in any order, repeated.
    let hosts: Vec<String> = [5, 0, 2, 5, 3, 1].iter().map(|&h| inv.hosts[h].id.clone()).collect();
    let result = sweep(&inv, &SweepOptions { hosts: Some(&hosts), ..SweepOptions::new(3) }).unwrap();
    assert_eq!(result.candidate_hosts(), &[0, 1, 2, 3, 5]);
    let enumerated: Vec<Vec<u32>> = result.results().iter().map(|s| s.failed_hosts.clone()).collect();
    assert_eq!(enumerated, combinations(&[0, 1, 2, 3, 5], 3));
    assert!(result.results()[1].restarted > 0, "host 1's VMs restart when it is declared failed");
    for scenario in result.results() {
        assert_matches_plan(&inv, scenario, "named candidates");
    }
    let default = sweep(&inv, &SweepOptions::new(1)).unwrap();
    assert_eq!(default.candidate_hosts(), usable_hosts(&inv).as_slice());
    assert!(!default.candidate_hosts().contains(&0) && !default.candidate_hosts().contains(&1));
}

#[test]
fn host_monitoring_off_restarts_nothing() {
    let mut doc = generated_doc(6, 120, 5, Version::V8_0);
    doc["cluster"]["host_monitoring"] = json!(false);
    let inv = inventory(&doc);
    let result = sweep(&inv, &SweepOptions::new(2)).unwrap();
    assert!(result.results().iter().all(|s| s.restarted == 0 && s.unplaced == 0));
    assert_eq!(result.max_failures_tolerated(), Some(2));
    for scenario in result.results() {
        assert_matches_plan(&inv, scenario, "host monitoring off");
    }
}

// ------------------------------------------------------------ max_failures_tolerated

/// Four equal hosts, each 10,000 MHz / 10,000 MB, each running two VMs of 1,000 MHz and
/// 2,500 MB reserved + 100 MB overhead: "half full" by reservation, 5,200 MB held per host,
/// 4,800 MB free.
///
/// * One host fails: its two VMs (2,600 MB each) go to the host with the most free memory
///   (ties: smaller id) — host-b, then host-c, each left with 2,200 MB. All restart.
/// * Two hosts fail: four VMs for two survivors with 4,800 MB each. The first two take one
///   survivor each (2,200 MB left on both); the other two need 2,600 MB > 2,200 MB:
///   `insufficientResources`. Every 2-host combination leaves 2 VMs unplaced.
///
/// So the cluster tolerates 1 failure, not 2.
fn four_half_full_hosts() -> Inventory {
    let hosts: Vec<Value> = ["a", "b", "c", "d"]
        .iter()
        .map(|h| json!({"id": format!("host-{h}"), "cpu_mhz": 10000, "memory_mb": 10000, "datastores": ["ds-1"]}))
        .collect();
    let vms: Vec<Value> = (0..8)
        .map(|i| {
            json!({"id": format!("vm-{i}"), "host": format!("host-{}", ["a", "b", "c", "d"][i / 2]),
                   "home_datastore": "ds-1", "cpu_reservation_mhz": 1000, "memory_reservation_mb": 2500,
                   "memory_overhead_mb": 100})
        })
        .collect();
    inventory(&json!({
        "cluster": {"admission_control": {"policy": "disabled"}},
        "datastores": [{"id": "ds-1"}],
        "hosts": hosts,
        "vms": vms,
    }))
}

#[test]
fn four_half_full_hosts_tolerate_one_failure_not_two() {
    let inv = four_half_full_hosts();
    let result = sweep(&inv, &SweepOptions::new(3)).unwrap();
    assert_eq!(result.max_failures_tolerated(), Some(1));
    let [one, two, three] = result.per_k() else { panic!("three levels") };
    assert_eq!((one.combinations, one.evaluated, one.fully_restarted, one.worst_unplaced), (4, 4, 4, 0));
    assert_eq!((two.combinations, two.evaluated, two.fully_restarted, two.worst_unplaced), (6, 6, 0, 2));
    assert_eq!(two.unplaced_total, 12);
    // Three failures: six VMs, one survivor with 4,800 MB: one VM fits, five do not.
    assert_eq!((three.combinations, three.fully_restarted, three.worst_unplaced), (4, 0, 5));

    let first = &result.results()[0];
    assert_eq!(first.failed_host_ids(&inv), ["host-a"]);
    assert_eq!((first.restarted, first.unplaced), (2, 0));
    // Survivors: 3 × 4,800 MB − 2 × 2,600 MB = 9,200 MB; 3 × 8,000 MHz − 2 × 1,000 MHz = 22,000 MHz.
    assert_eq!(first.capacity_left, Resources::new(22_000, 9_200));
    let pair = result.results().iter().find(|s| s.failures() == 2).unwrap();
    assert_eq!((pair.restarted, pair.unplaced), (2, 2));
    assert!(pair.unplaced_vms.iter().all(|u| u.reason == UnplacedReason::InsufficientResources));

    // "At least 1" when the sweep stops there.
    assert_eq!(sweep(&inv, &SweepOptions::new(1)).unwrap().max_failures_tolerated(), Some(1));
    // The worst scenarios: all 3-host failures (5 unplaced), by host indices.
    let worst: Vec<Vec<u32>> = result.worst(5).iter().map(|s| s.failed_hosts.clone()).collect();
    assert_eq!(worst, [vec![0, 1, 2], vec![0, 1, 3], vec![0, 2, 3], vec![1, 2, 3], vec![0, 1]]);
}

#[test]
fn a_single_failure_that_strands_a_vm_tolerates_zero() {
    let mut doc = json!({
        "cluster": {"admission_control": {"policy": "disabled"}},
        "datastores": [{"id": "ds-1"}],
        "hosts": [
            {"id": "host-1", "cpu_mhz": 10000, "memory_mb": 10000, "datastores": ["ds-1"]},
            {"id": "host-2", "cpu_mhz": 10000, "memory_mb": 10000, "datastores": ["ds-1"]}
        ],
        "vms": [{"id": "vm-1", "host": "host-1", "home_datastore": "ds-1", "memory_reservation_mb": 6000},
                {"id": "vm-2", "host": "host-2", "home_datastore": "ds-1", "memory_reservation_mb": 6000}]
    });
    let inv = inventory(&doc);
    assert_eq!(sweep(&inv, &SweepOptions::new(2)).unwrap().max_failures_tolerated(), Some(0));
    // Halve the reservations: one failure is fine, two (everything down) is not.
    doc["vms"][0]["memory_reservation_mb"] = json!(3000);
    doc["vms"][1]["memory_reservation_mb"] = json!(3000);
    let result = sweep(&inventory(&doc), &SweepOptions::new(2)).unwrap();
    assert_eq!(result.max_failures_tolerated(), Some(1));
    assert_eq!(result.per_k()[1].worst_unplaced, 2);
    let down = &result.results()[2];
    assert_eq!(down.capacity_left, Resources::default());
    assert!(down.unplaced_vms.iter().all(|u| u.reason == UnplacedReason::NoCompatibleHost));
}

// ------------------------------------------------------------ determinism, shards, merge

fn medium_inventory() -> Inventory {
    inventory(&with_rules(generated_doc(16, 900, 11, Version::V8_0), 11))
}

#[test]
fn identical_for_any_thread_count() {
    let inv = medium_inventory();
    let one = sweep(&inv, &SweepOptions { threads: Some(1), ..SweepOptions::new(3) }).unwrap();
    let two = sweep(&inv, &SweepOptions { threads: Some(2), ..SweepOptions::new(3) }).unwrap();
    let many = sweep(&inv, &SweepOptions { threads: Some(5), ..SweepOptions::new(3) }).unwrap();
    let default = sweep(&inv, &SweepOptions::new(3)).unwrap();
    assert_eq!(one.scenarios(), 16 + 120 + 560);
    assert_eq!(one, two);
    assert_eq!(one, many);
    assert_eq!(one, default);
}

#[test]
fn shards_merged_in_any_order_equal_the_whole() {
    let inv = medium_inventory();
    let whole = sweep(&inv, &SweepOptions::new(3)).unwrap();
    for n in [1, 2, 3, 7] {
        let shards: Vec<SweepResult> = (0..n)
            .map(|i| {
                sweep(&inv, &SweepOptions { shard: Some((i, n)), threads: Some(1 + i % 2), ..SweepOptions::new(3) })
                    .unwrap()
            })
            .collect();
        assert!(shards.iter().all(SweepResult::complete));
        let total: u64 = shards.iter().map(SweepResult::scenarios).sum();
        assert_eq!(total, whole.scenarios(), "n = {n}: the shards are disjoint and cover everything");
        if n > 1 {
            assert!(!shards[0].covers_whole_sweep());
        }

        let forward = shards.iter().cloned().reduce(|a, b| a.merge(b).unwrap()).unwrap();
        let backward = shards.iter().rev().cloned().reduce(|a, b| a.merge(b).unwrap()).unwrap();
        // Pairs first, then the pairs together (a tree), starting from the middle.
        let mut rotated: Vec<SweepResult> = shards.clone();
        rotated.rotate_left(n / 2);
        while rotated.len() > 1 {
            let a = rotated.remove(0);
            let b = rotated.remove(0);
            rotated.push(b.merge(a).unwrap());
        }
        for (how, merged) in [("forward", forward), ("backward", backward), ("tree", rotated.remove(0))] {
            assert_eq!(merged, whole, "n = {n}, {how}");
            assert!(merged.covers_whole_sweep() && merged.complete());
        }
    }
}

#[test]
fn tolerance_is_decided_by_shards_only_once_merged() {
    let inv = four_half_full_hosts();
    let shard = |i| sweep(&inv, &SweepOptions { shard: Some((i, 2)), ..SweepOptions::new(2) }).unwrap();
    // Ten scenarios, five per shard. Shard 0: the four 1-host failures (all fine) and [0, 1]
    // (2 unplaced): decided.
    let (first, second) = (shard(0), shard(1));
    assert_eq!(first.results().len(), 5);
    assert_eq!(first.max_failures_tolerated(), Some(1));
    // Shard 1 only holds 2-host failures; level 1 unseen: undecided.
    assert_eq!(second.max_failures_tolerated(), None);
    assert_eq!(second.merge(first).unwrap().max_failures_tolerated(), Some(1));
}

#[test]
fn worst_only_mode_keeps_the_worst_and_exact_summaries() {
    let inv = medium_inventory();
    let all = sweep(&inv, &SweepOptions::new(3)).unwrap();
    for n in [0, 1, 10, 100] {
        let options = SweepOptions { retain: Retain::Worst(n), ..SweepOptions::new(3) };
        let worst = sweep(&inv, &options).unwrap();
        assert_eq!(worst.results().len(), n);
        assert_eq!(worst.per_k(), all.per_k());
        assert_eq!(worst.max_failures_tolerated(), all.max_failures_tolerated());
        assert_eq!(worst.worst(n), all.worst(n), "n = {n}");
        // Shards in worst-only mode merge to the same.
        let merged = (0..3)
            .map(|i| sweep(&inv, &SweepOptions { shard: Some((i, 3)), ..options }).unwrap())
            .reduce(|a, b| b.merge(a).unwrap())
            .unwrap();
        assert_eq!(merged, worst);
    }
    let ranked = all.worst(all.results().len());
    assert!(ranked
        .windows(2)
        .all(|w| (w[0].unplaced, std::cmp::Reverse(w[0].failures()))
            >= (w[1].unplaced, std::cmp::Reverse(w[1].failures()))));
}

#[test]
fn unplaced_listing_limit_keeps_counts_exact() {
    let inv = medium_inventory();
    let all = sweep(&inv, &SweepOptions::new(2)).unwrap();
    let limited = sweep(&inv, &SweepOptions { unplaced_vms_limit: Some(1), ..SweepOptions::new(2) }).unwrap();
    assert!(all.results().iter().any(|s| s.unplaced > 1), "the test needs scenarios with several unplaced VMs");
    for (full, short) in all.results().iter().zip(limited.results()) {
        assert_eq!(full.unplaced, short.unplaced);
        assert_eq!(short.unplaced_vms.len(), full.unplaced_vms.len().min(1));
        assert_eq!(short.unplaced_vms[..], full.unplaced_vms[..short.unplaced_vms.len()]);
    }
}

#[test]
fn results_survive_a_json_round_trip_and_merge_after_it() {
    let inv = medium_inventory();
    let whole = sweep(&inv, &SweepOptions::new(2)).unwrap();
    let text = serde_json::to_string(&whole.to_value()).unwrap();
    let back = SweepResult::from_value(&serde_json::from_str(&text).unwrap()).unwrap();
    assert_eq!(back, whole);
    assert!(back.matches_inventory(&inv));
    assert!(!back.matches_inventory(&four_half_full_hosts()));

    let shard = |i| sweep(&inv, &SweepOptions { shard: Some((i, 2)), ..SweepOptions::new(2) }).unwrap();
    let a = SweepResult::from_value(&shard(0).to_value()).unwrap();
    assert_eq!(a.merge(shard(1)).unwrap(), whole);

    let mut broken = whole.to_value();
    broken["results"][0]["unplaced_vms"] = json!([[1, "notAReason"]]);
    assert!(matches!(SweepResult::from_value(&broken), Err(Error::Invalid(_))));
    assert!(matches!(SweepResult::from_value(&json!({"format": "x"})), Err(Error::Invalid(_))));
    assert!(matches!(SweepResult::from_value(&json!(null)), Err(Error::Invalid(_))));
}

// ------------------------------------------------------------ samples

#[test]
fn samples_are_seeded_subsets_of_the_exhaustive_sweep() {
    let inv = medium_inventory();
    let whole = sweep(&inv, &SweepOptions::new(3)).unwrap();
    let sampled =
        |size, seed| sweep(&inv, &SweepOptions { sample: Some((size, seed)), ..SweepOptions::new(3) }).unwrap();
    let a = sampled(100, 42);
    assert_eq!(a.scenarios(), 100);
    assert_eq!(a.sweep_size(), 100);
    assert!(a.complete() && a.covers_whole_sweep());
    assert_eq!(a, sampled(100, 42), "same seed, same sample");
    assert_ne!(a.results(), sampled(100, 43).results(), "another seed, another sample");
    let by_hosts: HashMap<&[u32], &ScenarioResult> =
        whole.results().iter().map(|s| (s.failed_hosts.as_slice(), s)).collect();
    for s in a.results() {
        assert_eq!(by_hosts[s.failed_hosts.as_slice()], s, "a sampled scenario equals its exhaustive twin");
    }
    let distinct: BTreeSet<&[u32]> = a.results().iter().map(|s| s.failed_hosts.as_slice()).collect();
    assert_eq!(distinct.len(), 100);
    assert!(a
        .results()
        .windows(2)
        .all(|w| (w[0].failures(), &w[0].failed_hosts) < (w[1].failures(), &w[1].failed_hosts)));

    // A sample at least as large as the space is the space.
    let everything = sampled(10_000, 1);
    assert_eq!(everything.results(), whole.results());
    assert_eq!(everything.max_failures_tolerated(), whole.max_failures_tolerated());

    // Shards split the sample.
    let merged = (0..4)
        .map(|i| {
            sweep(&inv, &SweepOptions { sample: Some((100, 42)), shard: Some((i, 4)), ..SweepOptions::new(3) }).unwrap()
        })
        .reduce(|x, y| y.merge(x).unwrap())
        .unwrap();
    assert_eq!(merged, a);
}

// ------------------------------------------------------------ progress and cancellation

#[test]
fn progress_reports_monotonically_up_to_the_total() {
    let inv = medium_inventory();
    let calls = Mutex::new(Vec::new());
    let progress = |done: u64, total: u64| {
        calls.lock().unwrap().push((done, total));
        true
    };
    let result =
        sweep(&inv, &SweepOptions { progress: Some(&progress), threads: Some(2), ..SweepOptions::new(3) }).unwrap();
    let calls = calls.into_inner().unwrap();
    assert!(result.complete());
    assert!(calls.len() >= 2);
    assert!(calls.windows(2).all(|w| w[0].0 < w[1].0), "done only grows");
    assert_eq!(*calls.last().unwrap(), (result.scenarios(), result.scenarios()));
}

#[test]
fn a_progress_hook_returning_false_stops_the_sweep() {
    let inv = medium_inventory();
    let whole = sweep(&inv, &SweepOptions::new(3)).unwrap();
    let calls = AtomicU64::new(0);
    let stop_at_once = |_: u64, _: u64| {
        calls.fetch_add(1, Ordering::Relaxed);
        false
    };
    let partial =
        sweep(&inv, &SweepOptions { progress: Some(&stop_at_once), threads: Some(1), ..SweepOptions::new(3) }).unwrap();
    assert!(!partial.complete());
    assert!(partial.scenarios() > 0 && partial.scenarios() < whole.scenarios() / 4, "{}", partial.scenarios());
    assert_eq!(calls.load(Ordering::Relaxed), 1);
    // A partial result decides the tolerance only when what it saw is enough (here the first
    // chunk holds every 1-host failure, and one strands a VM): never differently from the whole.
    if let Some(tolerated) = partial.max_failures_tolerated() {
        assert_eq!(Some(tolerated), whole.max_failures_tolerated());
    }
    // What was evaluated is exact.
    let by_hosts: HashMap<&[u32], &ScenarioResult> =
        whole.results().iter().map(|s| (s.failed_hosts.as_slice(), s)).collect();
    assert!(partial.results().iter().all(|s| by_hosts[s.failed_hosts.as_slice()] == s));
}

#[test]
fn a_cancel_flag_stops_the_sweep() {
    let inv = medium_inventory();
    let cancel = AtomicBool::new(true);
    let result = sweep(&inv, &SweepOptions { cancel: Some(&cancel), ..SweepOptions::new(3) }).unwrap();
    assert!(!result.complete());
    assert_eq!(result.scenarios(), 0);
    assert!(result.results().is_empty());

    // Raised from the progress hook, as a Ctrl-C handler would: stops after the current chunks.
    let cancel = AtomicBool::new(false);
    let raise = |done: u64, _: u64| {
        if done >= 256 {
            cancel.store(true, Ordering::Relaxed);
        }
        true
    };
    let result =
        sweep(&inv, &SweepOptions { cancel: Some(&cancel), progress: Some(&raise), ..SweepOptions::new(3) }).unwrap();
    assert!(!result.complete());
    assert!(result.scenarios() < 16 + 120 + 560);
}

// ------------------------------------------------------------ bad input

#[test]
fn bad_input_is_an_error_never_a_panic() {
    let inv = four_half_full_hosts();
    let unknown = vec!["host-a".to_string(), "host-zz".to_string()];
    assert_eq!(
        sweep(&inv, &SweepOptions { hosts: Some(&unknown), ..SweepOptions::new(1) }).unwrap_err(),
        Error::UnknownId { kind: "host", id: "host-zz".to_string() }
    );
    let argument = |options: SweepOptions| matches!(sweep(&inv, &options), Err(Error::Argument(_)));
    assert!(argument(SweepOptions::new(0)));
    assert!(argument(SweepOptions::new(5)), "more failures than hosts");
    let two = vec!["host-a".to_string(), "host-b".to_string()];
    assert!(argument(SweepOptions { hosts: Some(&two), ..SweepOptions::new(3) }));
    assert!(argument(SweepOptions { hosts: Some(&[]), ..SweepOptions::new(1) }));
    assert!(argument(SweepOptions { shard: Some((2, 2)), ..SweepOptions::new(1) }));
    assert!(argument(SweepOptions { shard: Some((0, 0)), ..SweepOptions::new(1) }));
    assert!(argument(SweepOptions { threads: Some(0), ..SweepOptions::new(1) }));
    assert!(argument(SweepOptions { threads: Some(hapolicy::sweep::MAX_THREADS + 1), ..SweepOptions::new(1) }));
    // The most threads allowed start no more threads than there are scenarios (4 here).
    let widest = sweep(&inv, &SweepOptions { threads: Some(hapolicy::sweep::MAX_THREADS), ..SweepOptions::new(1) });
    assert_eq!(widest.unwrap().scenarios(), 4);
    assert!(argument(SweepOptions { sample: Some((0, 1)), ..SweepOptions::new(1) }));
    // All four hosts down is a valid scenario.
    assert!(sweep(&inv, &SweepOptions::new(4)).is_ok());
    // More shards than scenarios: some shards are empty, and complete.
    let empty = sweep(&inv, &SweepOptions { shard: Some((0, 9)), ..SweepOptions::new(1) }).unwrap();
    assert!(empty.complete() && empty.scenarios() == 0);
}

#[test]
fn merging_mismatched_or_overlapping_results_is_an_error() {
    let inv = four_half_full_hosts();
    let one = sweep(&inv, &SweepOptions::new(1)).unwrap();
    let two = sweep(&inv, &SweepOptions::new(2)).unwrap();
    assert!(matches!(one.clone().merge(two), Err(Error::Argument(_))));
    assert!(matches!(one.clone().merge(one.clone()), Err(Error::Argument(_))), "the same scenarios twice");
    let other = sweep(&medium_inventory(), &SweepOptions::new(1)).unwrap();
    assert!(matches!(one.clone().merge(other), Err(Error::Argument(_))), "another inventory");
    let worst =
        sweep(&inv, &SweepOptions { retain: Retain::Worst(2), shard: Some((1, 2)), ..SweepOptions::new(1) }).unwrap();
    assert!(matches!(one.merge(worst), Err(Error::Argument(_))), "another retain mode");
}

/// R-PLACE-DRS: with DRS in full automation a sweep's scenario is what `plan_failover` plans,
/// vMotions and standby exits included — on the golden clusters built for it (the HA Deepdive's
/// fragmented survivors; DPM waking the largest standby host).
#[test]
fn drs_assisted_scenarios_equal_plan_failover() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/placement/drs");
    let mut assisted = 0;
    for name in ["drs_02_deepdive_fully_automated.json", "drs_07_dpm_brings_largest_standby_host_out.json"] {
        let case: Value = serde_json::from_str(&std::fs::read_to_string(root.join(name)).unwrap()).unwrap();
        let inv = inventory(&case["inventory"]);
        let candidates = usable_hosts(&inv);
        let result = sweep(&inv, &SweepOptions::new(1)).unwrap();
        assert_eq!(result.scenarios(), candidates.len() as u64, "{name}");
        for scenario in result.results() {
            let failed = scenario.failed_host_ids(&inv);
            let plan = plan_failover(&inv, &failed, &[]).unwrap();
            assisted += usize::from(!plan.migrations.is_empty() || !plan.hosts_exited_standby.is_empty());
            assert_eq!(scenario.restarted as usize, plan.placements.len(), "{name} {failed:?}");
            let expected: Vec<(&str, UnplacedReason)> =
                plan.unplaced.iter().map(|u| (u.vm.as_str(), u.reason)).collect();
            assert_eq!(scenario.unplaced_vm_ids(&inv), expected, "{name} {failed:?}");
        }
    }
    // The golden failures themselves are DRS-assisted, so the sweep really took the engine's path.
    assert!(assisted >= 2, "{assisted} DRS-assisted scenarios");
}

// ------------------------------------------------------------ failures tolerated (pruning)

/// `n` hosts of 10,000 MB, each running `v` VMs reserving 2,500 MB + 100 MB overhead (2,600 MB),
/// admission control off. A survivor has 10,000 − 2,600 v MB free, so it takes
/// ⌊(10,000 − 2,600 v) / 2,600⌋ more VMs (v = 1: 2, v = 2: 1). j failures restart j·v VMs on
/// n − j survivors: every VM restarts iff j·v ≤ (n − j)·slots. So:
/// * v = 1: j ≤ 2(n − j), j ≤ 2n/3: n = 3 → 2, n = 5 → 3, n = 6 → 4;
/// * v = 2: j ≤ n − j... with one slot, 2j ≤ n − j, j ≤ n/3: n = 2 → 0, n = 4 → 1.
fn identical_hosts(n: usize, v: usize) -> Inventory {
    let hosts: Vec<Value> = (0..n)
        .map(|h| json!({"id": format!("host-{h}"), "cpu_mhz": 100000, "memory_mb": 10000, "datastores": ["ds-1"]}))
        .collect();
    let vms: Vec<Value> = (0..n * v)
        .map(|i| {
            json!({"id": format!("vm-{i}"), "host": format!("host-{}", i / v), "home_datastore": "ds-1",
                   "memory_reservation_mb": 2500, "memory_overhead_mb": 100})
        })
        .collect();
    inventory(&json!({
        "cluster": {"admission_control": {"policy": "disabled"}},
        "datastores": [{"id": "ds-1"}], "hosts": hosts, "vms": vms,
    }))
}

fn tolerance_with(inv: &Inventory, k: usize, threads: Option<usize>) -> hapolicy::sweep::Tolerance {
    let mut options = SweepOptions::new(k);
    options.threads = threads;
    hapolicy::sweep::failures_tolerated(inv, &options).unwrap()
}

#[test]
fn failures_tolerated_matches_hand_reasoning_and_the_exhaustive_sweep() {
    for (n, v, expected) in [(2, 2, 0), (4, 2, 1), (3, 1, 2), (5, 1, 3), (6, 1, 4), (7, 1, 4)] {
        let inv = identical_hosts(n, v);
        let k = n.min(4);
        let exhaustive = sweep(&inv, &SweepOptions::new(k)).unwrap();
        assert_eq!(exhaustive.max_failures_tolerated(), Some(expected), "sweep, n={n} v={v}");
        let one = tolerance_with(&inv, k, Some(1));
        let two = tolerance_with(&inv, k, Some(2));
        assert_eq!(one.tolerated, expected, "n={n} v={v}");
        assert!(one.complete);
        assert_eq!((&two.tolerated, &two.first_failure), (&one.tolerated, &one.first_failure), "threads 1 vs 2");
        assert_eq!(one.scenarios_total, exhaustive.sweep_size());
        match &one.first_failure {
            None => {
                assert_eq!(expected, k, "nothing failed: every level passed");
                assert_eq!(one.scenarios_evaluated, one.scenarios_total, "nothing can be skipped");
            }
            Some(first) => {
                // The deciding level's first combination in enumeration order: by symmetry every
                // combination of expected + 1 hosts fails, so it is [0, 1, …, expected].
                let want: Vec<u32> = (0..=expected as u32).collect();
                assert_eq!(first.failed_hosts, want);
                assert!(first.unplaced > 0);
                // Pruned: the rest of the deciding level and every level above it (nothing is
                // left only for n = 3, where the deciding level 3 is the last and has one scenario).
                let below: u64 = exhaustive.per_k()[..expected].iter().map(|l| l.combinations).sum();
                assert_eq!(one.scenarios_evaluated, below + 1, "one thread stops at the first failure");
                assert!(one.scenarios_evaluated < one.scenarios_total || n == 3, "n={n} v={v}");
            }
        }
    }
}

#[test]
fn failures_tolerated_equals_the_exhaustive_sweep_on_generated_clusters() {
    let mut checked = 0;
    for (name, inv) in small_inventories() {
        let usable = usable_hosts(&inv).len();
        let k = usable.min(3);
        if k == 0 {
            continue;
        }
        let exhaustive = sweep(&inv, &SweepOptions::new(k)).unwrap();
        let expected = exhaustive.max_failures_tolerated().unwrap();
        let one = tolerance_with(&inv, k, Some(1));
        let two = tolerance_with(&inv, k, Some(2));
        assert_eq!(one.tolerated, expected, "{name}");
        assert_eq!(one, Tolerance { scenarios_evaluated: one.scenarios_evaluated, ..two.clone() }, "{name}");
        if let Some(first) = &one.first_failure {
            // The first failing scenario of the deciding level in the exhaustive sweep.
            let want = exhaustive.results().iter().find(|s| s.failures() == expected + 1 && s.unplaced > 0).unwrap();
            assert_eq!(first, want, "{name}");
            assert!(one.scenarios_evaluated < one.scenarios_total, "{name}");
        }
        checked += 1;
    }
    assert!(checked >= 4);
}

#[test]
fn failures_tolerated_refuses_shards_and_samples_and_stops_on_cancel() {
    let inv = identical_hosts(6, 1);
    let mut options = SweepOptions::new(4);
    options.shard = Some((0, 2));
    assert!(matches!(hapolicy::sweep::failures_tolerated(&inv, &options), Err(Error::Argument(_))));
    let mut options = SweepOptions::new(4);
    let cancel = AtomicBool::new(true);
    options.cancel = Some(&cancel);
    let stopped = hapolicy::sweep::failures_tolerated(&inv, &options).unwrap();
    assert!(!stopped.complete);
    assert_eq!((stopped.tolerated, stopped.scenarios_evaluated), (0, 0));
}
