//! Failure domains and sites (R-DOMAIN): the inventory fields, unit sweeps (a scenario is a set
//! of units, each expanding to its hosts) checked against `plan_failover` on the expanded host
//! sets, hand-computed site failures, shards / samples / JSON with units, and unit remedies.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use hapolicy::generate::{synthetic_document, GeneratorSpec};
use hapolicy::model::Version;
use hapolicy::placement::plan_failover;
use hapolicy::remedy::{remedies, RemedyKind, RemedyOptions};
use hapolicy::sweep::{sweep, FailureUnit, Retain, SweepOptions, SweepResult};
use hapolicy::{Error, Inventory};

fn inventory(doc: &Value) -> Inventory {
    hapolicy::parse::from_value(doc).unwrap_or_else(|e| panic!("{e}"))
}

/// A generated cluster whose hosts get fault domains (every fourth host none: its own domain)
/// and sites (alternating), and a host in maintenance (never a candidate).
fn with_domains(hosts: usize, vms: usize, seed: u64) -> Value {
    let mut doc = synthetic_document(&GeneratorSpec { hosts, vms, seed, version: Version::V8_0 });
    for (i, h) in doc["hosts"].as_array_mut().unwrap().iter_mut().enumerate() {
        if i % 4 != 3 {
            h["fault_domain"] = json!(format!("rack-{}", i % 3));
        }
        h["site"] = json!(if i % 2 == 0 { "site-a" } else { "site-b" });
    }
    doc
}

/// The usable hosts of each unit, computed from the inventory alone: unit name → host ids.
fn expected_units(inv: &Inventory, unit: FailureUnit) -> Vec<(String, Vec<String>)> {
    let mut out: Vec<(String, Vec<String>)> = Vec::new();
    for h in inv.hosts.iter().filter(|h| h.is_available()) {
        let name = match unit {
            FailureUnit::Host => h.id.clone(),
            FailureUnit::FaultDomain => h.fault_domain.clone().unwrap_or_else(|| h.id.clone()),
            FailureUnit::Site => h.site.clone().unwrap(),
        };
        match out.iter_mut().find(|(n, _)| *n == name && unit != FailureUnit::Host) {
            Some((_, hosts)) => hosts.push(h.id.clone()),
            None => out.push((name, vec![h.id.clone()])),
        }
    }
    out
}

/// Every combination of 1..=k of `n` positions, by size then lexicographically.
fn combinations(n: usize, k: usize) -> Vec<Vec<usize>> {
    let mut out = Vec::new();
    fn rec(start: usize, n: usize, left: usize, cur: &mut Vec<usize>, out: &mut Vec<Vec<usize>>) {
        if left == 0 {
            out.push(cur.clone());
            return;
        }
        for i in start..n {
            cur.push(i);
            rec(i + 1, n, left - 1, cur, out);
            cur.pop();
        }
    }
    for size in 1..=k {
        rec(0, n, size, &mut Vec::new(), &mut out);
    }
    out
}

/// A unit sweep enumerates exactly the unit combinations, and each scenario is what
/// `plan_failover` says for the union of the units' hosts.
fn check_unit_sweep(inv: &Inventory, unit: FailureUnit, k: usize, name: &str) -> SweepResult {
    let result = sweep(inv, &SweepOptions { unit, ..SweepOptions::new(k) }).unwrap();
    let units = expected_units(inv, unit);
    let combos = combinations(units.len(), k);
    assert_eq!(result.results().len(), combos.len(), "{name} {unit}: scenario count");
    for (scenario, combo) in result.results().iter().zip(&combos) {
        let names: Vec<&str> = combo.iter().map(|&u| units[u].0.as_str()).collect();
        assert_eq!(result.failed_unit_names(scenario), names, "{name} {unit}: unit order");
        let mut hosts: Vec<&str> = combo.iter().flat_map(|&u| units[u].1.iter().map(String::as_str)).collect();
        hosts.sort_by_key(|h| inv.host_idx(h).unwrap());
        assert_eq!(scenario.failed_host_ids(inv), hosts, "{name} {unit} {names:?}: expanded hosts");
        let plan = plan_failover(inv, &hosts, &[]).unwrap();
        assert_eq!(scenario.restarted as usize, plan.placements.len(), "{name} {unit} {names:?}: restarted");
        let expected: Vec<_> = plan.unplaced.iter().map(|u| (u.vm.as_str(), u.reason)).collect();
        assert_eq!(scenario.unplaced_vm_ids(inv), expected, "{name} {unit} {names:?}: unplaced");
    }
    result
}

#[test]
fn unit_sweeps_equal_plan_failover_over_the_expanded_hosts() {
    let mut compared = 0;
    for (hosts, vms, seed) in [(6, 120, 1), (8, 220, 2), (9, 300, 3), (12, 500, 4)] {
        let mut doc = with_domains(hosts, vms, seed);
        // One host in maintenance: not a candidate, so no part of its unit's failure.
        doc["hosts"][1]["maintenance"] = json!(true);
        let down = doc["hosts"][1]["id"].clone();
        for v in doc["vms"].as_array_mut().unwrap() {
            if v["host"] == down {
                v["power_state"] = json!("poweredOff");
            }
        }
        let inv = inventory(&doc);
        let name = format!("{hosts}h/{vms}vm/seed{seed}");
        let fd = expected_units(&inv, FailureUnit::FaultDomain).len();
        compared += check_unit_sweep(&inv, FailureUnit::FaultDomain, 2.min(fd), &name).results().len();
        compared += check_unit_sweep(&inv, FailureUnit::Site, 1, &name).results().len();
        compared += check_unit_sweep(&inv, FailureUnit::Host, 2, &name).results().len();
    }
    assert!(compared > 100, "{compared} scenarios compared");
}

#[test]
fn without_domains_a_fault_domain_sweep_is_the_host_sweep() {
    let inv = inventory(&synthetic_document(&GeneratorSpec { hosts: 7, vms: 150, seed: 5, version: Version::V8_0 }));
    let by_host = sweep(&inv, &SweepOptions::new(3)).unwrap();
    let by_domain = sweep(&inv, &SweepOptions { unit: FailureUnit::FaultDomain, ..SweepOptions::new(3) }).unwrap();
    assert_eq!(by_host.results(), by_domain.results());
    assert_eq!(by_host.per_k(), by_domain.per_k());
    assert_eq!(by_domain.unit(), FailureUnit::FaultDomain);
    // Each host a domain of its own, named by its id.
    let ids: Vec<&str> = inv.hosts.iter().map(|h| h.id.as_str()).collect();
    assert_eq!(by_domain.units().names, ids);
}

/// Two sites of four hosts with 102,400 MB each; every host runs `per_host` VMs reserving
/// `vm_mb` MB (no overhead, 100 MHz): the site failure moves 4 × `per_host` VMs onto the other
/// site's four hosts.
fn two_sites(per_host: usize, vm_mb: u64) -> Inventory {
    let mut hosts = Vec::new();
    let mut vms = Vec::new();
    for (s, site) in ["site-a", "site-b"].iter().enumerate() {
        for i in 0..4 {
            let id = format!("host-{s}{i}");
            hosts.push(json!({"id": id, "cpu_mhz": 100_000, "memory_mb": 102_400, "datastores": ["ds-1"],
                              "site": site, "fault_domain": format!("rack-{s}{}", i / 2)}));
            for j in 0..per_host {
                vms.push(json!({"id": format!("vm-{s}{i}-{j}"), "host": id, "cpu_reservation_mhz": 100,
                                "memory_reservation_mb": vm_mb, "home_datastore": "ds-1"}));
            }
        }
    }
    inventory(&json!({
        "cluster": {"name": "two-sites", "admission_control": {"policy": "disabled"},
                    "vsan": {"enabled": true, "stretched": {"preferred_site": "site-a", "secondary_site": "site-b"}}},
        "hosts": hosts, "datastores": [{"id": "ds-1", "type": "vSAN"}], "vms": vms,
    }))
}

#[test]
fn a_site_failure_at_60_percent_strands_vms_and_at_45_percent_does_not() {
    // 60 %: 6 VMs of 10,240 MB per host. A site failure moves 24 VMs onto four hosts with
    // 40,960 MB free each: 4 VMs per host, 16 placed, 8 stranded.
    let full = two_sites(6, 10_240);
    let s = sweep(&full, &SweepOptions { unit: FailureUnit::Site, ..SweepOptions::new(1) }).unwrap();
    assert_eq!(s.max_failures_tolerated(), Some(0));
    for scenario in s.results() {
        assert_eq!((scenario.failures(), scenario.failed_hosts.len()), (1, 4));
        assert_eq!((scenario.restarted, scenario.unplaced), (16, 8));
    }
    // A rack (two hosts) fails: 12 VMs onto six hosts with 40,960 MB free: all restart.
    let racks = sweep(&full, &SweepOptions { unit: FailureUnit::FaultDomain, ..SweepOptions::new(1) }).unwrap();
    assert_eq!(racks.max_failures_tolerated(), Some(1));
    assert_eq!(racks.results().len(), 4);

    // 45 %: 10 VMs of 4,608 MB per host. 40 VMs onto four hosts with 56,320 MB free each
    // (12 VMs per host): every VM restarts.
    let lighter = two_sites(10, 4_608);
    let s = sweep(&lighter, &SweepOptions { unit: FailureUnit::Site, ..SweepOptions::new(1) }).unwrap();
    assert_eq!(s.max_failures_tolerated(), Some(1));
    assert!(s.results().iter().all(|r| r.restarted == 40 && r.unplaced == 0));
}

#[test]
fn site_sweeps_need_a_site_on_every_candidate_host() {
    let mut doc = with_domains(6, 60, 9);
    doc["hosts"][2].as_object_mut().unwrap().remove("site");
    let inv = inventory(&doc);
    let err = sweep(&inv, &SweepOptions { unit: FailureUnit::Site, ..SweepOptions::new(1) }).unwrap_err();
    let id = inv.hosts[2].id.clone();
    match err {
        Error::Argument(msg) => assert!(msg.contains("needs a site on every host") && msg.contains(&id), "{msg}"),
        other => panic!("{other:?}"),
    }
    // Only the hosts that can fail matter: leaving the site-less host out is fine.
    let others: Vec<String> = inv.hosts.iter().filter(|h| h.id != id).map(|h| h.id.clone()).collect();
    let ok = sweep(&inv, &SweepOptions { unit: FailureUnit::Site, hosts: Some(&others), ..SweepOptions::new(1) });
    assert_eq!(ok.unwrap().units().len(), 2);
    // max_failures counts units.
    let too_many =
        sweep(&inventory(&with_domains(6, 60, 9)), &SweepOptions { unit: FailureUnit::Site, ..SweepOptions::new(3) });
    assert!(matches!(too_many, Err(Error::Argument(m)) if m.contains("only 2 sites can fail")));
}

#[test]
fn unit_sweeps_shard_sample_and_round_trip() {
    let inv = inventory(&with_domains(10, 260, 11));
    let opts = SweepOptions { unit: FailureUnit::FaultDomain, ..SweepOptions::new(3) };
    let whole = sweep(&inv, &opts).unwrap();
    let mut merged: Option<SweepResult> = None;
    for i in [2, 0, 1] {
        let part = sweep(&inv, &SweepOptions { shard: Some((i, 3)), ..opts }).unwrap();
        merged = Some(match merged {
            None => part,
            Some(m) => m.merge(part).unwrap(),
        });
    }
    assert_eq!(merged.unwrap(), whole);
    let back = SweepResult::from_value(&whole.to_value()).unwrap();
    assert_eq!(back, whole);
    // A host sweep and a unit sweep never merge.
    let hosts = sweep(&inv, &SweepOptions { shard: Some((0, 2)), ..SweepOptions::new(3) }).unwrap();
    let units = sweep(&inv, &SweepOptions { shard: Some((1, 2)), ..opts }).unwrap();
    assert!(hosts.merge(units).is_err());
    // A sample is a subset of the exhaustive unit sweep.
    let sample = sweep(&inv, &SweepOptions { sample: Some((5, 3)), ..opts }).unwrap();
    assert_eq!(sample.results().len(), 5);
    assert!(sample.results().iter().all(|r| whole.results().contains(r)));
    let worst = sweep(&inv, &SweepOptions { retain: Retain::Worst(2), ..opts }).unwrap();
    assert_eq!(worst.per_k(), whole.per_k());
}

#[test]
fn site_remedies_are_verified_and_new_hosts_join_a_site() {
    let inv = two_sites(6, 10_240);
    let options = RemedyOptions { failures: Some(1), unit: FailureUnit::Site };
    let found = remedies(&inv, &options).unwrap();
    assert!(!found.holds());
    assert!(found.promise.contains("up to 1 failed site restarts"), "{}", found.promise);
    assert!(!found.remedies.is_empty());
    let mut spread = false;
    for r in &found.remedies {
        let changed = r.patch.apply_validated(&inv).unwrap();
        let s = sweep(&changed, &SweepOptions { unit: FailureUnit::Site, ..SweepOptions::new(1) }).unwrap();
        assert_eq!(s.max_failures_tolerated(), Some(1), "{}", r.summary);
        if r.kind == RemedyKind::AddHosts {
            let sites: BTreeMap<&str, usize> = r
                .patch
                .add_hosts
                .iter()
                .map(|a| (inv.host(&a.like).unwrap().site.as_deref().unwrap(), a.count))
                .collect();
            for a in &r.patch.add_hosts {
                let like = inv.host(&a.like).unwrap();
                for id in &a.ids {
                    assert_eq!(changed.host(id).unwrap().site, like.site, "{}", r.summary);
                }
            }
            if sites.len() == 2 {
                spread = true;
                // 8 VMs stranded per site failure; 10 VMs of 10,240 MB fit on a new 102,400 MB
                // host, so one new host per site restarts them.
                assert!(sites.values().all(|&n| n == 1), "{}", r.summary);
                assert!(r.summary.contains("in site 'site-a'") && r.summary.contains("in site 'site-b'"));
            }
        }
    }
    assert!(spread, "a remedy adds hosts to both sites");
    // With one site no k ≥ 1 site failure can be survived.
    let err = remedies(&inv, &RemedyOptions { failures: Some(2), unit: FailureUnit::Site }).unwrap_err();
    assert!(matches!(err, Error::Argument(m) if m.contains("one less than the 2 sites")));
}

#[test]
fn fields_are_validated_with_paths_and_round_trip() {
    let base = json!({
        "cluster": {"vsan": {"enabled": true, "stretched": {"preferred_site": "east", "secondary_site": "west"}}},
        "hosts": [{"id": "h1", "cpu_mhz": 1000, "memory_mb": 1000, "site": "east", "fault_domain": "r1"},
                  {"id": "h2", "cpu_mhz": 1000, "memory_mb": 1000, "site": "west"}],
    });
    let inv = inventory(&base);
    assert_eq!(inv.hosts[0].fault_domain.as_deref(), Some("r1"));
    assert_eq!(inv.cluster.vsan.stretched.as_ref().unwrap().secondary_site, "west");
    let again = inventory(&hapolicy::serialize::to_value(&inv));
    assert_eq!(again, inv);

    let problems = |doc: &Value| -> Vec<(String, String)> {
        match hapolicy::parse::from_value(doc) {
            Err(Error::Invalid(ps)) => ps.into_iter().map(|p| (p.path, p.message)).collect(),
            other => panic!("expected problems, got {other:?}"),
        }
    };
    let mut unknown = base.clone();
    unknown["cluster"]["vsan"]["stretched"]["secondary_site"] = json!("north");
    let ps = problems(&unknown);
    assert_eq!(ps.len(), 1);
    assert_eq!(ps[0].0, "cluster.vsan.stretched.secondary_site");
    assert!(ps[0].1.contains("unknown site 'north'") && ps[0].1.contains("'east', 'west'"), "{}", ps[0].1);

    let mut disabled = base.clone();
    disabled["cluster"]["vsan"]["enabled"] = json!(false);
    assert_eq!(problems(&disabled)[0].0, "cluster.vsan.stretched");

    let mut blank = base.clone();
    blank["hosts"][1]["fault_domain"] = json!("  ");
    assert_eq!(problems(&blank)[0].0, "hosts[1].fault_domain");

    // A host of a stretched cluster without a site is a warning, by path.
    let mut siteless = base;
    siteless["hosts"][1].as_object_mut().unwrap().remove("site");
    siteless["hosts"].as_array_mut().unwrap().push(json!({"id": "h3", "cpu_mhz": 1, "memory_mb": 1, "site": "west"}));
    let inv = inventory(&siteless);
    assert!(inv.warnings.iter().any(|w| w.path == "hosts[1].site"), "{:?}", inv.warnings);
}

/// The golden timelines of R-DOMAIN (tests/golden/sim/r_domain_*.json, run by
/// tests/sim_golden.rs): every behaviour the rule names has one, each cites R-DOMAIN, and the
/// configuration warnings a scenario's inventory must raise (`expected_warnings`, fragments of
/// the messages) are raised — a site without an isolation address of its own is named.
#[test]
fn domain_goldens_cover_the_rule_and_their_warnings_hold() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/sim");
    let behaviours = [
        (
            "site partition with vSAN (quorum, APD, VMCP restart on the winning side)",
            "r_domain_vsan_quorum_site_partition",
        ),
        ("site partition without vSAN, shared heartbeat datastores", "r_domain_partition_sites"),
        (
            "site partition without vSAN, heartbeat datastores per site",
            "r_domain_partition_sites_site_local_datastores",
        ),
        ("preferred-site failure", "r_domain_vsan_preferred_site_failure"),
        ("secondary-site failure", "r_domain_vsan_secondary_site_failure"),
        ("site failure", "r_domain_fail_site"),
        ("fault domain failure", "r_domain_fail_domain"),
        ("chassis failure in a blade cluster", "r_domain_blade_chassis_failure"),
        ("isolation with one isolation address still reachable", "r_domain_isolation_address_reached"),
        ("partitioned alone, reaching no isolation address", "r_domain_partition_no_address"),
        ("usedefaultisolationaddress=false without addresses", "r_domain_no_isolation_address_configured"),
        ("management-only outage in a vSAN cluster", "r_domain_vsan_management_outage"),
        ("vSAN network partition", "r_domain_vsan_network_partition"),
        (
            "vSAN site partition without heartbeat datastores: split brain, lost copies off at the heal",
            "r_domain_vsan_partition_no_heartbeat_datastores",
        ),
        (
            "the same with VMCP: the split-brain copies terminated at the APD timeout, no restart",
            "r_domain_vsan_partition_vmcp_terminates_copies",
        ),
    ];
    let mut checked = 0;
    for (behaviour, stem) in behaviours {
        let path = dir.join(format!("{stem}.json"));
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{behaviour}: {}: {e}", path.display()));
        let doc: Value = serde_json::from_str(&text).unwrap();
        let description = doc["description"].as_str().unwrap_or_default();
        assert!(description.contains("R-DOMAIN"), "{stem}: the description must cite R-DOMAIN");
        let scenario = hapolicy::sim::Scenario::from_value(&doc["scenario"]).unwrap_or_else(|e| panic!("{stem}: {e}"));
        let messages: Vec<&str> = scenario.inventory.warnings.iter().map(|w| w.message.as_str()).collect();
        for want in doc["expected_warnings"].as_array().into_iter().flatten() {
            let want = want.as_str().unwrap();
            assert!(
                messages.iter().any(|m| m.contains(want)),
                "{stem}: no warning containing {want:?} in {messages:?}"
            );
            checked += 1;
        }
    }
    assert_eq!(checked, 2, "the two scenarios with expected warnings");
    // Every r_domain_ golden is one of the behaviours above.
    for entry in std::fs::read_dir(&dir).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().to_string();
        if let Some(stem) = name.strip_prefix("r_domain_").and_then(|n| n.strip_suffix(".json")) {
            let stem = format!("r_domain_{stem}");
            assert!(behaviours.iter().any(|(_, s)| *s == stem), "{name}: add it to the list of behaviours");
        }
    }
}
