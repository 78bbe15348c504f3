//! The checks behind every fuzz target. One function per target, taking the raw fuzz input:
//! `fuzz_targets/<target>.rs` calls it under libFuzzer, and `tests/fuzz_regressions.rs` (in the
//! main crate, which includes this file with `#[path]`) replays every committed corpus and
//! artifact file through the same function on each `cargo test`. A check fails by panicking.
//!
//! * [`parse_json`], [`parse_yaml`]: arbitrary text → inventory reader. Either a non-empty
//!   problem list, or an inventory that survives `serialize → parse` unchanged and that the
//!   engines (admission, election, heartbeat selection, a one-host failover plan) handle.
//! * [`scenario`]: arbitrary text → scenario reader; a valid scenario is run (time bounded)
//!   and checked like [`sim_events`].
//! * [`sim_events`]: bytes → (via `arbitrary`) a small valid inventory and a fault list →
//!   simulation to a bounded time. Consistent bookkeeping after every step, identical
//!   timelines however the clock is advanced / on a fork / on a second run, events in time
//!   order, no VM running twice without `split_brain`.
//! * [`placement`]: bytes → a small inventory (rules, networks, FT, failover hosts, …) and
//!   failed / isolated hosts → `plan_failover`. Every VM of those hosts accounted for exactly
//!   once, restart order 1..n, no over-commit, every placement feasible (datastores,
//!   networks, required rules, anti-affinity, FT limit), same plan with hosts and VMs
//!   shuffled; admission figures order-independent; and the slot-policy / placement agreement
//!   under its exact preconditions (see [`slot_agreement`]).

use std::collections::{BTreeMap, BTreeSet, HashSet};

use arbitrary::Unstructured;
use serde_json::{json, Map, Value};

use hapolicy::admission;
use hapolicy::capacity::{self, Resources};
use hapolicy::model::{AdmissionControl, Inventory, PowerState, RuleKind, VmRole};
use hapolicy::placement::{self, HostAvailability, UnplacedReason};
use hapolicy::sim::{Event, EventKind, Scenario, Simulation};
use hapolicy::Error;

/// Simulated time is bounded so one input stays fast (restart attempts end by ~3720 s with the
/// default 5 attempts).
const SIM_LIMIT_S: f64 = 5000.0;

// ============================================================================ parse targets

/// Target `parse_json`.
pub fn parse_json(data: &[u8]) {
    parse_text(data, hapolicy::parse::from_json_str);
}

/// Target `parse_yaml`.
pub fn parse_yaml(data: &[u8]) {
    parse_text(data, hapolicy::parse::from_yaml_str);
}

/// UTF-8 text through `read`: a checked inventory or a well-formed error.
fn parse_text(data: &[u8], read: fn(&str) -> hapolicy::Result<Inventory>) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match read(text) {
        Ok(inv) => check_inventory(&inv),
        Err(e) => check_error(&e),
    }
}

fn check_error(e: &Error) {
    match e {
        Error::Invalid(problems) => {
            assert!(!problems.is_empty(), "an Invalid error without problems");
            let mut sorted = problems.clone();
            sorted.sort();
            assert_eq!(&sorted, problems, "problems not sorted by path");
        }
        other => panic!("the reader returned {other:?}, not Invalid"),
    }
    let _ = e.to_string();
}

/// What every valid inventory must satisfy.
pub fn check_inventory(inv: &Inventory) {
    // The writer's promise: from_value(to_value(inv)) == inv, also through JSON text.
    let doc = hapolicy::serialize::to_value(inv);
    let again = hapolicy::parse::from_value(&doc).unwrap_or_else(|e| panic!("serialized inventory rejected: {e}"));
    assert!(again == *inv, "round trip changed the inventory");
    let text = doc.to_string();
    let again = hapolicy::parse::from_json_str(&text).unwrap_or_else(|e| panic!("serialized JSON rejected: {e}"));
    assert!(again == *inv, "JSON round trip changed the inventory");

    let report = admission::evaluate(inv);
    check_admission_report(inv, &report);
    let none = HashSet::new();
    let _ = hapolicy::election::elect(inv, None, &none);
    let _ = hapolicy::heartbeat::select(inv, &none);
    if let Some(h) = inv.hosts.first() {
        let plan = placement::plan_failover(inv, &[h.id.as_str()], &[]).expect("known host");
        check_plan(inv, &[h.id.clone()], &[], &plan);
    }
}

fn check_admission_report(inv: &Inventory, r: &admission::AdmissionReport) {
    assert_eq!(r.counted_hosts.len() + r.excluded_hosts.len(), inv.hosts.len());
    assert_eq!(r.figures.counted_vms, inv.vms.iter().filter(|v| v.is_powered_on()).count());
    if let (Some(total), Some(avail)) = (r.figures.total_slots, r.figures.available_slots) {
        assert!(avail <= total, "available {avail} > total {total}");
    }
    if let Some(level) = r.figures.current_failover_level {
        assert!(level as usize <= inv.hosts.len(), "failover level {level} above the host count");
    }
}

// ============================================================================ scenario target

/// Target `scenario`.
pub fn scenario(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // An inventory given as a path is read from disk: keep the fuzzer to plain names in the
    // current directory (no /dev/zero, /dev/stdin, …).
    if let Ok(Value::Object(o)) = hapolicy::parse::parse_json_text(text) {
        if let Some(Value::String(p)) = o.get("inventory") {
            if p.starts_with('.') || !p.chars().all(|c| c.is_ascii_alphanumeric() || "._-".contains(c)) {
                return;
            }
        }
    }
    let sc = match Scenario::from_json_str(text) {
        Ok(sc) => sc,
        Err(e) => return check_error(&e),
    };
    let until = sc.until.min(SIM_LIMIT_S);
    let Ok(sim) = sc.simulation() else { panic!("a valid scenario's faults were refused") };
    check_simulation(sim, until, &[until * 0.25, until * 0.5]);
}

// ============================================================================ simulation target

/// Target `sim_events`.
pub fn sim_events(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let Some(doc) = gen_inventory(&mut u, false) else {
        return;
    };
    let Ok(inv) = hapolicy::parse::from_value(&doc) else {
        return;
    };
    let faults = gen_faults(&mut u, &inv);
    let mut sim = Simulation::new(inv).expect("a simulation of a valid inventory");
    if let Err(e) = sim.apply(&faults) {
        // Generated faults are valid by construction except where noted in gen_faults.
        match e {
            Error::Invalid(_) => return,
            other => panic!("apply failed with {other:?}"),
        }
    }
    let until = pick(&mut u, &[600.0, 1800.0, 3600.0, SIM_LIMIT_S]);
    let steps: Vec<f64> = (0..int(&mut u, 0, 4)).map(|_| int(&mut u, 0, until as u64) as f64).collect();
    check_simulation(sim, until, &steps);
}

/// Runs `sim` (faults injected, clock at 0) to `until` in one go and again in steps, and
/// checks the invariants of every run.
pub fn check_simulation(sim: Simulation, until: f64, steps: &[f64]) {
    let mut once = sim.clone();
    let all = once.run(until).expect("run");
    once.check_consistency().unwrap_or_else(|e| panic!("{e}\n{}", once.timeline()));

    // Stepwise, with a consistency check and a fork at every step.
    let mut stepped = sim.clone();
    let mut steps: Vec<f64> = steps.iter().copied().filter(|t| t.is_finite() && *t >= 0.0 && *t <= until).collect();
    steps.sort_by(f64::total_cmp);
    steps.push(until);
    let mut collected: Vec<Event> = Vec::new();
    let mut fork: Option<Simulation> = None;
    for (i, &t) in steps.iter().enumerate() {
        collected.extend(stepped.run(t).expect("run"));
        stepped.check_consistency().unwrap_or_else(|e| panic!("at t={t}: {e}\n{}", stepped.timeline()));
        if i == 0 {
            fork = Some(stepped.clone());
        }
    }
    assert_eq!(text(&collected), text(&all), "stepwise run differs from one run");
    assert_eq!(collected, all);
    if let Some(mut f) = fork {
        f.run(until).expect("run");
        assert_eq!(f.events(), once.events(), "fork differs");
    }
    // Determinism: a second simulation from the same start.
    let mut again = sim;
    again.run(until).expect("run");
    assert_eq!(again.events(), once.events(), "second run differs");

    let events = once.events();
    for w in events.windows(2) {
        assert!(w[0].time <= w[1].time, "events out of time order: {} then {}", w[0].text(), w[1].text());
    }
    for e in events {
        assert!(e.time.is_finite() && e.time >= 0.0 && e.time <= until + 1e-6, "event time {}", e.text());
    }
    for (vm, hosts) in once.vm_hosts() {
        if hosts.len() > 1 {
            assert!(
                events.iter().any(|e| e.kind == EventKind::SplitBrain && e.vm.as_deref() == Some(vm.as_str())),
                "{vm} runs on {hosts:?} without split_brain\n{}",
                once.timeline()
            );
        }
    }
    for (vm, (state, host)) in once.vm_states() {
        if state == PowerState::PoweredOn {
            assert!(host.is_some(), "{vm} powered on nowhere");
        }
    }
    let _ = hapolicy::sim::events_to_value(events);
    let _ = (once.master(), once.masters(), once.host_states());
}

fn text(events: &[Event]) -> Vec<String> {
    events.iter().map(Event::text).collect()
}

// ============================================================================ placement target

/// Target `placement`.
pub fn placement(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let Some(doc) = gen_inventory(&mut u, true) else {
        return;
    };
    let Ok(inv) = hapolicy::parse::from_value(&doc) else {
        return;
    };
    let ids: Vec<String> = inv.hosts.iter().map(|h| h.id.clone()).collect();
    let failed: Vec<String> = ids.iter().filter(|_| u.ratio(1, 3).unwrap_or(false)).cloned().collect();
    let isolated: Vec<String> = ids.iter().filter(|_| u.ratio(1, 5).unwrap_or(false)).cloned().collect();
    if u.ratio(1, 20).unwrap_or(false) {
        let unknown = vec!["no-such-host".to_string()];
        match placement::plan_failover(&inv, &unknown, &[]) {
            Err(Error::UnknownId { .. }) => {}
            other => panic!("unknown host gave {other:?}"),
        }
    }
    let plan = placement::plan_failover(&inv, &failed, &isolated).expect("known hosts");
    check_plan(&inv, &failed, &isolated, &plan);

    // Same inventory, hosts and VMs shuffled: the same plan and admission figures.
    let shuffled = shuffle_doc(&doc, &mut u);
    let inv2 = hapolicy::parse::from_value(&shuffled).expect("a shuffled valid inventory stays valid");
    let plan2 = placement::plan_failover(&inv2, &failed, &isolated).expect("known hosts");
    assert_eq!(plan.placements, plan2.placements, "placements depend on input order");
    assert_eq!(plan.unplaced, plan2.unplaced, "unplaced depend on input order");
    assert_eq!(plan.not_restarted, plan2.not_restarted, "not_restarted depend on input order");
    let (a, b) = (admission::evaluate(&inv), admission::evaluate(&inv2));
    check_admission_report(&inv, &a);
    assert_eq!(figures(&a), figures(&b), "admission figures depend on input order");
    let mut sa = a.host_slots.iter().map(|h| (h.host.clone(), h.slots)).collect::<Vec<_>>();
    let mut sb = b.host_slots.iter().map(|h| (h.host.clone(), h.slots)).collect::<Vec<_>>();
    sa.sort();
    sb.sort();
    assert_eq!(sa, sb);

    slot_agreement(&inv, &a);
}

/// The order-independent figures of a report.
fn figures(r: &admission::AdmissionReport) -> String {
    format!(
        "{:?} {} {} {:?} {:?} {:?} {:?} {:?} {:?} {:?} {:?} {:?} {:?} {:?} {} {} {} {} {} {:?}",
        r.policy,
        r.figures.satisfied,
        r.figures.overcommitted,
        r.configured_host_failures,
        r.configured_cpu_percent,
        r.configured_memory_percent,
        r.figures.slot_cpu_mhz,
        r.figures.slot_memory_mb,
        r.figures.total_slots,
        r.figures.used_slots,
        r.figures.available_slots,
        r.figures.current_failover_level,
        r.figures.cpu_failover_percent,
        r.figures.memory_failover_percent,
        r.figures.counted_vms,
        r.total_cpu_mhz,
        r.total_memory_mb,
        r.figures.required_cpu_mhz,
        r.figures.required_memory_mb,
        r.messages,
    )
}

/// Invariants of one failover plan.
pub fn check_plan(inv: &Inventory, failed: &[String], isolated: &[String], plan: &placement::FailoverPlan) {
    let failed_set: BTreeSet<&str> = failed.iter().map(String::as_str).collect();
    let isolated_set: BTreeSet<&str> =
        isolated.iter().map(String::as_str).filter(|h| !failed_set.contains(h)).collect();
    let affected = |h: &str| failed_set.contains(h) || isolated_set.contains(h);

    // Every VM of an affected host exactly once; no other VM anywhere.
    let mut seen: BTreeMap<&str, &str> = BTreeMap::new();
    let all = plan
        .placements
        .iter()
        .map(|p| (p.vm.as_str(), "placed"))
        .chain(plan.unplaced.iter().map(|u| (u.vm.as_str(), "unplaced")))
        .chain(plan.not_restarted.iter().map(|n| (n.vm.as_str(), "not restarted")));
    for (vm, what) in all {
        if let Some(prev) = seen.insert(vm, what) {
            panic!("{vm} is both {prev} and {what}");
        }
    }
    let expected: BTreeMap<&str, ()> =
        inv.vms.iter().filter(|v| v.host.as_deref().is_some_and(affected)).map(|v| (v.id.as_str(), ())).collect();
    let got: BTreeSet<&str> = seen.keys().copied().collect();
    let want: BTreeSet<&str> = expected.keys().copied().collect();
    assert_eq!(got, want, "VMs accounted for differ from the VMs of the failed/isolated hosts");

    // Restart order: 1..n over placed and unplaced, each list in order.
    let mut orders: Vec<usize> =
        plan.placements.iter().map(|p| p.order).chain(plan.unplaced.iter().map(|u| u.order)).collect();
    assert!(plan.placements.windows(2).all(|w| w[0].order < w[1].order), "placements out of order");
    assert!(plan.unplaced.windows(2).all(|w| w[0].order < w[1].order), "unplaced out of order");
    orders.sort_unstable();
    assert!(orders.iter().enumerate().all(|(i, &o)| o == i + 1), "orders are not 1..n: {orders:?}");

    // Feasibility of every placement.
    let opts = inv.options();
    let anti_affinity = opts.respect_vm_vm_anti_affinity;
    let mut placed_on: BTreeMap<&str, &str> = BTreeMap::new();
    for p in &plan.placements {
        placed_on.insert(&p.vm, &p.host);
    }
    let restarting: BTreeSet<&str> =
        plan.placements.iter().map(|p| p.vm.as_str()).chain(plan.unplaced.iter().map(|u| u.vm.as_str())).collect();
    for p in &plan.placements {
        let host = inv.host(&p.host).expect("placed on a known host");
        let vm = inv.vm(&p.vm).expect("a known VM");
        assert!(!affected(&host.id), "{} placed on failed/isolated {}", vm.id, host.id);
        assert_eq!(HostAvailability::of(host), HostAvailability::Usable, "{} placed on unusable {}", vm.id, host.id);
        for ds in &vm.datastores {
            assert!(host.datastores.contains(ds), "{} placed on {} without {ds}", vm.id, host.id);
        }
        if let Some(nets) = &host.networks {
            for n in &vm.networks {
                assert!(nets.contains(n), "{} placed on {} without network {n}", vm.id, host.id);
            }
        }
        for r in inv.rules.iter().filter(|r| r.enabled && r.vms.contains(&vm.id)) {
            match r.kind {
                RuleKind::VmHostMust => assert!(r.hosts.contains(&host.id), "{} breaks must rule {}", vm.id, r.name),
                RuleKind::VmHostMustNot => {
                    assert!(!r.hosts.contains(&host.id), "{} breaks must-not rule {}", vm.id, r.name)
                }
                RuleKind::VmAntiAffinity if anti_affinity => {
                    for other in r.vms.iter().filter(|o| **o != vm.id) {
                        let Some(o) = inv.vm(other) else { continue };
                        // A partner placed earlier, or running there and not restarting.
                        let there = match placed_on.get(other.as_str()) {
                            Some(h) => {
                                let earlier = plan.placement(other).is_some_and(|q| q.order < p.order);
                                earlier && *h == host.id
                            }
                            None => {
                                !restarting.contains(other.as_str())
                                    && o.is_powered_on()
                                    && o.host.as_deref() == Some(host.id.as_str())
                                    && !affected(&host.id)
                            }
                        };
                        assert!(!there, "{} placed with {other} on {} against rule {}", vm.id, host.id, r.name);
                    }
                }
                _ => {}
            }
        }
    }

    // No over-commit: on every host, what the plan adds fits in what was unreserved.
    let mut added: BTreeMap<&str, Resources> = BTreeMap::new();
    let mut ft_added: BTreeMap<&str, u32> = BTreeMap::new();
    for p in &plan.placements {
        let vm = inv.vm(&p.vm).expect("known VM");
        let e = added.entry(p.host.as_str()).or_default();
        *e = e.saturating_add(capacity::vm_reservation(vm));
        if matches!(vm.role, Some(VmRole::FtPrimary | VmRole::FtSecondary)) {
            *ft_added.entry(p.host.as_str()).or_default() += 1;
        }
    }
    let reserved = capacity::reserved_by_host(inv);
    for (h, host) in inv.hosts.iter().enumerate() {
        let Some(add) = added.get(host.id.as_str()) else {
            continue;
        };
        let free = capacity::host_capacity(host).saturating_sub(reserved[h]);
        assert!(free.covers(*add), "{} over-committed: {add:?} placed, {free:?} was unreserved", host.id);
        let limit = opts.max_ft_vms_per_host;
        let ft_now = inv
            .vms
            .iter()
            .filter(|v| {
                v.is_powered_on()
                    && v.host.as_deref() == Some(host.id.as_str())
                    && matches!(v.role, Some(VmRole::FtPrimary | VmRole::FtSecondary))
            })
            .count() as u32;
        let ft_add = ft_added.get(host.id.as_str()).copied().unwrap_or(0);
        if limit > 0 && ft_add > 0 {
            assert!(ft_now + ft_add <= limit.max(ft_now), "{}: FT limit {limit} exceeded", host.id);
        }
    }

    // Unplaced VMs: one verdict per host, and the reason of the deepest refusal.
    for un in &plan.unplaced {
        assert_eq!(un.hosts.len(), inv.hosts.len(), "{}: not every host has a verdict", un.vm);
    }
    // A plan too big to keep its verdicts (forced with a limit of 0) is the same plan, and its
    // explanations, recomputed by replay, are the kept ones.
    let index = placement::PlacementIndex::new(inv);
    let replayed =
        placement::plan_failover_keeping_at_most(inv, &index, failed, isolated, 0).expect("the same plan again");
    assert!(!replayed.keeps_verdicts() || replayed.attempted() == 0);
    assert_eq!((&plan.placements, &plan.unplaced), (&replayed.placements, &replayed.unplaced));
    for v in &inv.vms {
        let kept = plan.explain(inv, &v.id).expect("explain on the plan's own inventory");
        assert_eq!(kept, replayed.explain(inv, &v.id).expect("replayed explain"), "{}", v.id);
        assert!(plan.host_verdicts(inv, &v.id).is_ok());
    }
    assert!(plan.explain(inv, "no-such-vm").is_ok());
    let _ = plan.to_value();
}

/// Admission control and placement agree (issue 8): with the slot policy computed from the
/// VMs (no fixed slot, no `das.slotCpuInMHz` / `das.slotMemInMB` cap) reporting a current
/// failover level ≥ 1, failing the host with the most slots leaves no VM unplaced for
/// `insufficientResources`.
///
/// Why it holds: every restarted VM's reservation is at most one slot (the slot is the largest
/// counted demand; `das.vmCpuMinMHz` only raises it), a host with `s` slots running `n < s`
/// VMs has at least `s − n` slots' worth unreserved in both dimensions, and level ≥ 1 means
/// the other counted hosts' `Σ (s − n)` is at least the failed host's VM count. Each VM placed
/// uses at most one such slot, so whatever host the greedy choice takes, a host with a free
/// slot remains for every later VM.
///
/// Exact preconditions (each one, dropped, gives counterexamples): no fixed slot or slot cap
/// (a VM then needs several slots); the hosts that can take VMs reach every datastore of the
/// failed host's VMs, the VMs list no network a host lacks, and no enabled VM-host or (when
/// respected) anti-affinity rule names them — otherwise the free slots can sit on a host
/// refused for another reason while the deepest refusal, on a full host, is capacity; and no
/// FT VM on the failed host while `das.maxFtVmsPerHost` is on (the FT limit is reported as
/// `insufficientResources`).
pub fn slot_agreement(inv: &Inventory, report: &admission::AdmissionReport) {
    let AdmissionControl::Slot { slot_cpu_mhz: None, slot_memory_mb: None, .. } = inv.cluster.admission_control else {
        return;
    };
    let opts = inv.options();
    if opts.slot_cpu_cap_mhz.is_some() || opts.slot_memory_cap_mb.is_some() {
        return;
    }
    if report.figures.current_failover_level.unwrap_or(0) < 1 || report.figures.overcommitted {
        return;
    }
    // The host with the most slots, ties by the smaller id (as admission control loses them).
    let Some(largest) = report
        .host_slots
        .iter()
        .max_by(|a, b| a.slots.cmp(&b.slots).then_with(|| b.host.as_bytes().cmp(a.host.as_bytes())))
        .map(|h| h.host.clone())
    else {
        return;
    };
    let victims: Vec<&hapolicy::model::Vm> =
        inv.vms.iter().filter(|v| v.host.as_deref() == Some(largest.as_str())).collect();
    let usable: Vec<&hapolicy::model::Host> =
        inv.hosts.iter().filter(|h| h.id != largest && h.is_available()).collect();
    let restricted = victims.iter().any(|v| {
        usable.iter().any(|h| {
            v.datastores.iter().any(|d| !h.datastores.contains(d))
                || h.networks.as_ref().is_some_and(|nets| v.networks.iter().any(|n| !nets.contains(n)))
        }) || (opts.max_ft_vms_per_host > 0 && matches!(v.role, Some(VmRole::FtPrimary | VmRole::FtSecondary)))
    }) || inv.rules.iter().any(|r| {
        r.enabled
            && match r.kind {
                RuleKind::VmHostMust | RuleKind::VmHostMustNot => true,
                RuleKind::VmAntiAffinity => opts.respect_vm_vm_anti_affinity,
                _ => false,
            }
    });
    if restricted {
        return;
    }
    let plan = placement::plan_failover(inv, &[largest.as_str()], &[]).expect("known host");
    for un in &plan.unplaced {
        assert_ne!(
            un.reason,
            UnplacedReason::InsufficientResources,
            "slot policy reports failover level {:?} but failing {largest} leaves {} unplaced: {:?}",
            report.figures.current_failover_level,
            un.vm,
            un.hosts
        );
    }
}

// ============================================================================ generators

fn int(u: &mut Unstructured<'_>, lo: u64, hi: u64) -> u64 {
    u.int_in_range(lo..=hi).unwrap_or(lo)
}

fn pick<T: Copy>(u: &mut Unstructured<'_>, items: &[T]) -> T {
    items[int(u, 0, items.len() as u64 - 1) as usize]
}

fn flag(u: &mut Unstructured<'_>, num: u8, den: u8) -> bool {
    u.ratio(num, den).unwrap_or(false)
}

/// A small inventory document, valid most of the time (the reader has the last word).
/// `rich` adds rules, networks and roles (placement); the simulation gets them too but fewer.
pub fn gen_inventory(u: &mut Unstructured<'_>, rich: bool) -> Option<Value> {
    let version = pick(u, &["5.0", "5.1", "5.5", "6.0", "6.5", "6.7", "7.0", "8.0"]);
    let n_ds = int(u, 1, 3) as usize;
    let ds_ids: Vec<String> = (0..n_ds).map(|i| format!("ds-{i}")).collect();
    let datastores: Vec<Value> = ds_ids
        .iter()
        .map(|id| {
            let ty = pick(u, &["VMFS", "VMFS", "NFS", "vSAN", "vVol"]);
            let backing = pick(u, &[None, Some("array-1"), Some("array-2")]);
            json!({"id": id, "type": ty, "backing": backing})
        })
        .collect();
    let n_hosts = int(u, 1, 6) as usize;
    let nets = ["net-a", "net-b", "net-c"];
    let mut hosts = Vec::new();
    let mut host_info = Vec::new(); // (id, cpu, mem, can run VMs)
    for i in 0..n_hosts {
        let id = format!("host-{}", pick(u, &["1", "2", "3", "10", "20", "a", "b"])) + &format!("-{i}");
        let cpu = pick(u, &[0u64, 1000, 4000, 8000, 10000, 20000, 64000, 1 << 53]);
        let mem = pick(u, &[0u64, 1024, 4096, 8192, 16384, 65536, 262144, 1 << 53]);
        let mut hds: Vec<&String> = ds_ids.iter().filter(|_| flag(u, 3, 4)).collect();
        if hds.is_empty() && flag(u, 7, 8) {
            hds.push(&ds_ids[0]);
        }
        let state = if flag(u, 1, 10) { pick(u, &["disconnected", "notResponding"]) } else { "connected" };
        let maintenance = flag(u, 1, 12);
        let standby = !maintenance && flag(u, 1, 16);
        let mut h = json!({"id": id, "cpu_mhz": cpu, "memory_mb": mem, "datastores": hds,
                           "state": state, "maintenance": maintenance, "standby": standby});
        if flag(u, 1, 4) {
            h["goodness"] = json!(int(u, 0, 10) as i64 - 5);
        }
        if rich && flag(u, 1, 3) {
            let hn: Vec<&str> = nets.iter().copied().filter(|_| flag(u, 2, 3)).collect();
            h["networks"] = json!(hn);
        }
        hosts.push(h);
        host_info.push((id, cpu, mem, !maintenance && !standby));
    }
    let n_vms = int(u, 0, if rich { 14 } else { 10 }) as usize;
    let mut vms = Vec::new();
    let mut vm_ids = Vec::new();
    for i in 0..n_vms {
        let id = format!("vm-{i}");
        let hi = int(u, 0, n_hosts as u64 - 1) as usize;
        let (hid, cpu, mem, runnable) = host_info[hi].clone();
        let power = if !runnable || flag(u, 1, 6) { pick(u, &["poweredOff", "suspended"]) } else { "poweredOn" };
        let has_host = power == "poweredOn" || flag(u, 1, 2);
        let res_cpu = [0, 100, 500, 2000, cpu / 2, cpu].map(|x: u64| x.min(cpu));
        let res_mem = [0, 256, 1024, 4096, mem / 2, mem].map(|x: u64| x.min(mem));
        let rc = pick(u, &res_cpu);
        let rm = pick(u, &res_mem);
        let overhead = pick(u, &[0u64, 0, 10, 100]).min(mem - rm);
        let home = pick(u, &ds_ids.iter().map(String::as_str).collect::<Vec<_>>());
        let extra: Vec<&String> = ds_ids.iter().filter(|_| flag(u, 1, 5)).collect();
        let mut v = json!({"id": id, "host": if has_host { Value::from(hid) } else { Value::Null },
            "power_state": power, "cpu_reservation_mhz": rc, "memory_reservation_mb": rm,
            "memory_overhead_mb": overhead, "home_datastore": home, "datastores": extra,
            "restart_priority": pick(u, &["disabled", "lowest", "low", "medium", "high", "highest", "clusterRestartPriority", "clusterRestartPriority"]),
            "isolation_response": pick(u, &["none", "powerOff", "shutdown", "clusterIsolationResponse", "clusterIsolationResponse"]),
            "protected": if flag(u, 1, 10) { Value::Bool(false) } else { Value::Null },
            "clean_power_off": power != "poweredOn" && flag(u, 1, 3),
            "tools_running": !flag(u, 1, 4)});
        if rich && flag(u, 1, 3) {
            let vn: Vec<&str> = nets.iter().copied().filter(|_| flag(u, 1, 2)).collect();
            v["networks"] = json!(vn);
        }
        if flag(u, 1, 6) {
            v["role"] = json!(pick(u, &["agent", "ftPrimary", "ftSecondary"]));
        }
        if flag(u, 1, 6) {
            v["vm_monitoring"] = json!({"mode": pick(u, &[None, Some("vmMonitoringDisabled"), Some("vmMonitoringOnly"), Some("vmAndAppMonitoring")]),
                                        "sensitivity": pick(u, &[None, Some("low"), Some("medium"), Some("high")])});
        }
        if flag(u, 1, 6) {
            let prot =
                [None, Some("disabled"), Some("warning"), Some("restartConservative"), Some("restartAggressive")];
            v["vmcp"] = json!({"apd": pick(u, &prot), "pdl": pick(u, &prot)});
        }
        vms.push(v);
        vm_ids.push(id);
    }
    let mut rules = Vec::new();
    for i in 0..int(u, 0, if rich { 4 } else { 2 }) {
        if vm_ids.is_empty() {
            break;
        }
        let kind = pick(
            u,
            &[
                "vmAntiAffinity",
                "vmAffinity",
                "vmHostMust",
                "vmHostMustNot",
                "vmHostShould",
                "vmHostShouldNot",
                "vmDependsOn",
            ],
        );
        let mut some_vms: Vec<&String> = vm_ids.iter().filter(|_| flag(u, 1, 2)).collect();
        if some_vms.len() < 2 {
            some_vms = vm_ids.iter().take(2).collect();
        }
        let mut some_hosts: Vec<&String> = host_info.iter().map(|h| &h.0).filter(|_| flag(u, 1, 2)).collect();
        if some_hosts.is_empty() {
            some_hosts.push(&host_info[0].0);
        }
        let enabled = !flag(u, 1, 8);
        let r = match kind {
            "vmDependsOn" => {
                let a = pick(u, &vm_ids.iter().map(String::as_str).collect::<Vec<_>>());
                let others: Vec<&str> = vm_ids.iter().map(String::as_str).filter(|v| *v != a).collect();
                if others.is_empty() {
                    continue;
                }
                let b = pick(u, &others);
                json!({"type": kind, "name": format!("r{i}"), "enabled": enabled, "vm": a, "depends_on": [b]})
            }
            "vmHostMust" | "vmHostMustNot" | "vmHostShould" | "vmHostShouldNot" => {
                json!({"type": kind, "name": format!("r{i}"), "enabled": enabled, "vms": some_vms, "hosts": some_hosts})
            }
            _ => {
                json!({"type": kind, "name": format!("r{i}"), "enabled": enabled, "vms": some_vms})
            }
        };
        rules.push(r);
    }

    let host_ids: Vec<&str> = host_info.iter().map(|h| h.0.as_str()).collect();
    let admission = match int(u, 0, 5) {
        0 => json!({"policy": "disabled"}),
        1 | 2 => {
            let mut a = json!({"policy": "slot", "host_failures": int(u, 0, 3)});
            if flag(u, 1, 5) {
                a["slot_cpu_mhz"] = json!(pick(u, &[1u64, 100, 500, 2000]));
                a["slot_memory_mb"] = json!(pick(u, &[1u64, 256, 1024, 4096]));
            }
            a
        }
        3 if version >= "6.5" => json!({"policy": "percentage", "host_failures": int(u, 0, 3)}),
        3 | 4 => {
            json!({"policy": "percentage", "cpu_percent": int(u, 0, 100), "memory_percent": int(u, 0, 100)})
        }
        _ => {
            let fh: Vec<&str> = host_ids.iter().copied().filter(|_| flag(u, 1, 3)).collect();
            if fh.is_empty() {
                json!({"policy": "failoverHosts", "hosts": [host_ids[0]]})
            } else {
                json!({"policy": "failoverHosts", "hosts": fh})
            }
        }
    };
    let mut options = Map::new();
    let choices: &[(&str, &[&str])] = &[
        ("das.respectVmVmAntiAffinityRules", &["true", "false"]),
        ("das.respectVmHostSoftAffinityRules", &["true", "false"]),
        ("das.maxFtVmsPerHost", &["0", "1", "4"]),
        ("das.maxvmrestartcount", &["1", "2", "5", "6"]),
        ("das.perHostConcurrentFailoversLimit", &["1", "2", "32"]),
        ("das.isolationShutdownTimeout", &["0", "30", "300"]),
        ("das.vmCpuMinMHz", &["0", "32", "256"]),
        ("das.vmMemoryMinMB", &["0", "512"]),
        ("das.slotCpuInMHz", &["1", "100", "1000"]),
        ("das.slotMemInMB", &["1", "256", "2048"]),
        ("das.heartbeatDsPerHost", &["2", "3", "5"]),
        ("das.maskCleanShutdownEnabled", &["true", "false"]),
        ("das.usedefaultisolationaddress", &["true", "false"]),
        ("das.isolationaddress0", &["10.0.0.1"]),
        ("das.config.fdm.electionDuration", &["1", "15", "60"]),
        ("das.config.fdm.hostTimeout", &["1", "10", "30"]),
        ("das.config.fdm.icmpPingTimeout", &["0", "5"]),
        ("das.config.fdm.isolationPolicyDelaySec", &["0", "30", "120"]),
        ("disk.terminateVMOnPDLDefault", &["true", "false"]),
        ("engine.heartbeatIntervalSec", &["0.5", "1", "5"]),
        ("engine.datastoreHeartbeatWatchStartSec", &["0", "3"]),
        ("engine.datastoreHeartbeatWatchSec", &["0", "15"]),
        ("engine.newMasterRestartDelaySec", &["0", "10"]),
        ("engine.powerOnSeconds", &["0.001", "1", "30"]),
        ("Misc.APDTimeout", &["20", "140"]),
    ];
    for _ in 0..int(u, 0, 4) {
        let (k, vals) = pick(u, choices);
        options.insert(k.to_string(), json!(pick(u, vals)));
    }
    let cluster = json!({
        "name": "fuzz", "version": version,
        "host_monitoring": !flag(u, 1, 8),
        "admission_control": admission,
        "isolation_response": pick(u, &["none", "powerOff", "shutdown"]),
        "restart_priority": pick(u, &["disabled", "lowest", "low", "medium", "high", "highest"]),
        "heartbeat_datastores": {"policy": pick(u, &["allFeasibleDs", "userSelectedDs", "allFeasibleDsWithUserPreference"]),
                                 "preferred": ds_ids.iter().filter(|_| flag(u, 1, 3)).collect::<Vec<_>>()},
        "vm_monitoring": {"mode": pick(u, &["vmMonitoringDisabled", "vmMonitoringOnly", "vmAndAppMonitoring"]),
                          "sensitivity": pick(u, &["low", "medium", "high"])},
        "vmcp": {"apd": pick(u, &["disabled", "warning", "restartConservative", "restartAggressive"]),
                 "pdl": pick(u, &["disabled", "warning", "restartAggressive"]),
                 "apd_delay_s": pick(u, &[0u64, 60, 180]),
                 "apd_cleared": pick(u, &["none", "reset"])},
        "advanced_options": options,
    });
    Some(json!({"cluster": cluster, "hosts": hosts, "datastores": datastores, "vms": vms, "rules": rules}))
}

/// A fault list for `inv` in the `apply` shape: ids known, times ≥ 0 and `until ≥ at` (so the
/// list is valid; the reader still has the last word).
pub fn gen_faults(u: &mut Unstructured<'_>, inv: &Inventory) -> Value {
    let hosts: Vec<&str> = inv.hosts.iter().map(|h| h.id.as_str()).collect();
    let vms: Vec<&str> = inv.vms.iter().map(|v| v.id.as_str()).collect();
    let dss: Vec<&str> = inv.datastores.iter().map(|d| d.id.as_str()).collect();
    let times = [0.0, 0.0, 1.0, 5.0, 10.0, 17.5, 18.0, 25.0, 30.0, 60.0, 120.0, 140.0, 300.0, 600.0, 1800.0];
    let mut out = Vec::new();
    for _ in 0..int(u, 0, 12) {
        let at: f64 = pick(u, &times) + if flag(u, 1, 4) { int(u, 0, 999) as f64 / 1000.0 } else { 0.0 };
        let until =
            if flag(u, 1, 2) { Value::from(at + pick(u, &[0.0, 1.0, 10.0, 30.0, 100.0, 600.0])) } else { Value::Null };
        let host = pick(u, &hosts);
        let f = match int(u, 0, 10) {
            0 => json!({"type": "host_failure", "at": at, "host": host}),
            1 => json!({"type": "host_recovery", "at": at, "host": host}),
            2 => json!({"type": "isolation", "at": at, "host": host, "until": until}),
            3 => json!({"type": "agent_failure", "at": at, "host": host, "until": until}),
            4 => {
                let mut groups: Vec<Vec<&str>> = vec![Vec::new(); int(u, 1, 3) as usize];
                for h in &hosts {
                    if flag(u, 4, 5) {
                        let g = int(u, 0, groups.len() as u64 - 1) as usize;
                        groups[g].push(h);
                    }
                }
                json!({"type": "partition", "at": at, "groups": groups, "until": until})
            }
            5 => json!({"type": "power_outage", "at": at, "restore_at": until}),
            6 | 7 => {
                let ds = pick(u, &dss);
                let on: Value = if flag(u, 1, 2) {
                    json!(hosts.iter().filter(|_| flag(u, 1, 2)).collect::<Vec<_>>())
                } else {
                    Value::Null
                };
                if int(u, 0, 1) == 0 {
                    json!({"type": "datastore_apd", "at": at, "datastore": ds, "until": until, "hosts": on})
                } else {
                    json!({"type": "datastore_pdl", "at": at, "datastore": ds, "hosts": on})
                }
            }
            8 if !vms.is_empty() => {
                json!({"type": "guest_heartbeat_loss", "at": at, "vm": pick(u, &vms)})
            }
            9 if !vms.is_empty() => {
                json!({"type": "power_on_failure", "at": at, "vm": pick(u, &vms), "attempts": int(u, 1, 6)})
            }
            _ => json!({"type": "vcenter_unavailable", "at": at, "until": until}),
        };
        out.push(f);
    }
    Value::Array(out)
}

/// The same document with hosts and VMs in another order (rules untouched: their default names
/// follow their position).
pub fn shuffle_doc(doc: &Value, u: &mut Unstructured<'_>) -> Value {
    let mut out = doc.clone();
    for key in ["hosts", "vms", "datastores"] {
        if let Some(Value::Array(items)) = out.get_mut(key) {
            // Fisher–Yates driven by the fuzz input; reversed when the input is exhausted.
            if u.is_empty() {
                items.reverse();
            } else {
                for i in (1..items.len()).rev() {
                    let j = int(u, 0, i as u64) as usize;
                    items.swap(i, j);
                }
            }
        }
    }
    out
}
