//! Admission control (R-AC, docs/rules/admission.rst): hand-worked cases (the arithmetic is in the comments and
//! was done independently of the code), what-if checks, and property tests.

use std::collections::HashSet;

use hapolicy::admission::{self, AdmissionReport, FailoverHostState, Operation};
use hapolicy::model::{AdmissionPolicyKind, IsolationResponse, PowerState, RestartPriority, Vm};
use hapolicy::parse::from_json_str;
use hapolicy::{Error, Inventory};

const TOL: f64 = 1e-9;

// ---------------------------------------------------------------------------------------------
// Builders: small JSON documents read by the real parser.
// ---------------------------------------------------------------------------------------------

/// A connected host on datastore ds-1; `extra` adds JSON fields (`,"maintenance":true`).
fn host_x(id: &str, cpu: u64, mem: u64, extra: &str) -> String {
    format!(r#"{{"id":"{id}","cpu_mhz":{cpu},"memory_mb":{mem},"datastores":["ds-1"]{extra}}}"#)
}

fn host(id: &str, cpu: u64, mem: u64) -> String {
    host_x(id, cpu, mem, "")
}

/// A VM with its reservations; `extra` adds JSON fields.
fn vm_x(id: &str, host: Option<&str>, power: &str, cpu: u64, mem: u64, overhead: u64, extra: &str) -> String {
    let host = host.map_or("null".to_string(), |h| format!("\"{h}\""));
    format!(
        r#"{{"id":"{id}","host":{host},"power_state":"{power}","cpu_reservation_mhz":{cpu},"memory_reservation_mb":{mem},"memory_overhead_mb":{overhead},"home_datastore":"ds-1"{extra}}}"#
    )
}

/// A powered-on VM without overhead.
fn vm(id: &str, host: &str, cpu: u64, mem: u64) -> String {
    vm_x(id, Some(host), "poweredOn", cpu, mem, 0, "")
}

fn inventory(admission: &str, options: &[(&str, &str)], hosts: &[String], vms: &[String]) -> Inventory {
    let opts: Vec<String> = options.iter().map(|(k, v)| format!("\"{k}\":\"{v}\"")).collect();
    let text = format!(
        r#"{{"cluster":{{"name":"t","version":"8.0","admission_control":{admission},"advanced_options":{{{}}}}},
            "hosts":[{}],"datastores":[{{"id":"ds-1","name":"ds-1","type":"VMFS"}}],"vms":[{}]}}"#,
        opts.join(","),
        hosts.join(","),
        vms.join(",")
    );
    from_json_str(&text).unwrap_or_else(|e| panic!("test inventory is invalid: {e}\n{text}"))
}

/// A VM description for operations.
fn new_vm(id: &str, host: Option<&str>, cpu: u64, mem: u64, overhead: u64) -> Vm {
    Vm {
        id: id.to_string(),
        name: id.to_string(),
        host: host.map(str::to_string),
        power_state: PowerState::PoweredOff,
        cpu_reservation_mhz: cpu,
        memory_reservation_mb: mem,
        memory_overhead_mb: overhead,
        home_datastore: "ds-1".to_string(),
        datastores: vec!["ds-1".to_string()],
        networks: vec![],
        restart_priority: RestartPriority::ClusterRestartPriority,
        isolation_response: IsolationResponse::ClusterIsolationResponse,
        role: None,
        protected: true,
        clean_power_off: false,
        tools_running: true,
        orchestration: Default::default(),
        cpu_usage_mhz: None,
        memory_usage_mb: None,
        vm_monitoring: None,
        vmcp: None,
    }
}

/// vSphere 5.0 Availability Guide: hosts 9 GHz/9 GB, 9 GHz/6 GB, 6 GHz/6 GB; VMs 2 GHz/1 GB,
/// 2/1, 1/2, 1/1, 1/1 (reservation incl. overhead).
fn guide_hosts() -> Vec<String> {
    vec![host("host-1", 9000, 9216), host("host-2", 9000, 6144), host("host-3", 6000, 6144)]
}

fn guide_vms() -> Vec<String> {
    vec![
        vm("vm-1", "host-1", 2000, 1024),
        vm("vm-2", "host-1", 2000, 1024),
        vm("vm-3", "host-2", 1000, 2048),
        vm("vm-4", "host-2", 1000, 1024),
        vm("vm-5", "host-3", 1000, 1024),
    ]
}

fn guide(admission: &str, options: &[(&str, &str)]) -> Inventory {
    inventory(admission, options, &guide_hosts(), &guide_vms())
}

const SLOT1: &str = r#"{"policy":"slot","host_failures":1}"#;

fn host_slots(r: &AdmissionReport) -> Vec<(&str, u64)> {
    r.host_slots.iter().map(|h| (h.host.as_str(), h.slots)).collect()
}

fn assert_close(actual: Option<f64>, expected: f64) {
    let a = actual.expect("a percentage");
    assert!((a - expected).abs() < TOL, "{a} != {expected}");
}

fn has_message(r: &AdmissionReport, text: &str) -> bool {
    r.messages.iter().any(|m| m == text)
}

// ---------------------------------------------------------------------------------------------
// R-AC-SLOT worked example (docs/rules/admission.rst)
// ---------------------------------------------------------------------------------------------

#[test]
fn guide_example_slot_policy() {
    // slot_cpu = max(2000, 2000, 1000, 1000, 1000, 32) = 2000 MHz
    // slot_mem = max(1024, 1024, 2048, 1024, 1024, 0) = 2048 MB
    // host-1: min(9000/2000 = 4, 9216/2048 = 4) = 4; host-2: min(4, 6144/2048 = 3) = 3;
    // host-3: min(6000/2000 = 3, 3) = 3 → 10 slots; 5 VMs × 1 slot = 5 used.
    // Losing host-1 (4): 6 ≥ 5 → level ≥ 1; losing host-1 and host-2: 3 < 5 → level 1.
    // available = (10 − 4) − 5 = 1.
    for inv in [
        guide(SLOT1, &[]),
        from_json_str(include_str!("../examples/availability_guide.json")).expect("bundled example"),
    ] {
        let r = admission::evaluate(&inv);
        assert_eq!(r.policy, AdmissionPolicyKind::Slot);
        assert_eq!((r.figures.slot_cpu_mhz, r.figures.slot_memory_mb), (Some(2000), Some(2048)));
        assert_eq!(host_slots(&r), vec![("host-1", 4), ("host-2", 3), ("host-3", 3)]);
        assert_eq!(
            (r.figures.total_slots, r.figures.used_slots, r.figures.available_slots),
            (Some(10), Some(5), Some(1))
        );
        assert_eq!(r.figures.current_failover_level, Some(1));
        assert_eq!(r.configured_host_failures, Some(1));
        assert!(r.figures.satisfied && !r.figures.overcommitted);
        assert_eq!(r.figures.cpu_failover_percent, None);
        assert_eq!(r.counted_hosts, vec!["host-1", "host-2", "host-3"]);
        assert_eq!(r.figures.counted_vms, 5);
        // Totals: 24000 MHz / 21504 MB; reserved 7000 MHz / 6144 MB.
        assert_eq!((r.total_cpu_mhz, r.total_memory_mb), (24000, 21504));
        assert_eq!((r.figures.required_cpu_mhz, r.figures.required_memory_mb), (7000, 6144));
        assert!(r.messages.is_empty(), "{:?}", r.messages);
    }
}

#[test]
fn guide_example_percentage_policy() {
    // CPU: (24000 − 7000) / 24000 = 17/24 = 70.83 %; memory (21504 − 6144) / 21504 = 15/21 = 71.43 %.
    let inv = guide(r#"{"policy":"percentage","cpu_percent":25,"memory_percent":25}"#, &[]);
    let r = admission::evaluate(&inv);
    assert_eq!(r.policy, AdmissionPolicyKind::Percentage);
    assert_close(r.figures.cpu_failover_percent, 17.0 / 24.0 * 100.0);
    assert_close(r.figures.memory_failover_percent, 15.0 / 21.0 * 100.0);
    assert_eq!((r.configured_cpu_percent, r.configured_memory_percent), (Some(25.0), Some(25.0)));
    assert_eq!(r.figures.slot_cpu_mhz, None);
    assert_eq!(r.figures.total_slots, None);
    assert!(r.host_slots.is_empty());
    assert!(r.figures.satisfied);
    // 70.83 % < 71 % → not satisfied when 71 % is configured for CPU.
    let inv = guide(r#"{"policy":"percentage","cpu_percent":71,"memory_percent":25}"#, &[]);
    let r = admission::evaluate(&inv);
    assert!(!r.figures.satisfied);
    assert!(
        has_message(&r, "current CPU failover capacity 70.83 % is below the configured 71.00 %"),
        "{:?}",
        r.messages
    );
}

// ---------------------------------------------------------------------------------------------
// Slot policy
// ---------------------------------------------------------------------------------------------

#[test]
fn cpu_slot_cap_makes_multi_slot_vms() {
    // das.slotCpuInMHz = 1000: slot = min(2000, 1000) = 1000 MHz / 2048 MB.
    // host slots: host-1 min(9, 4) = 4; host-2 min(9, 3) = 3; host-3 min(6, 3) = 3 → 10.
    // VMs: vm-1, vm-2 need ceil(2000/1000) = 2 each; vm-3 max(1, 2048/2048 = 1) = 1; vm-4, vm-5 1
    // → used = 7. Losing host-1: 6 < 7 → level 0; available = max(0, 6 − 7) = 0.
    let inv = guide(SLOT1, &[("das.slotCpuInMHz", "1000")]);
    let r = admission::evaluate(&inv);
    assert_eq!((r.figures.slot_cpu_mhz, r.figures.slot_memory_mb), (Some(1000), Some(2048)));
    assert_eq!(host_slots(&r), vec![("host-1", 4), ("host-2", 3), ("host-3", 3)]);
    assert_eq!((r.figures.total_slots, r.figures.used_slots, r.figures.available_slots), (Some(10), Some(7), Some(0)));
    assert_eq!(r.figures.current_failover_level, Some(0));
    assert!(!r.figures.satisfied && !r.figures.overcommitted);
    assert!(has_message(&r, "CPU slot capped at 1000 MHz by das.slotCpuInMHz (largest VM needs 2000 MHz)"));
    assert!(has_message(&r, "2 powered-on VMs need more than one slot (largest: vm-1, 2 slots)"));
    assert!(has_message(
        &r,
        "current failover level 0 is below the configured 1 (needs 7 slots, 6 left after losing host-1)"
    ));
}

#[test]
fn memory_slot_cap_and_ties_between_hosts() {
    // das.slotMemInMB = 1024: slot 2000 MHz / 1024 MB.
    // host-1 min(4, 9) = 4; host-2 min(4, 6) = 4; host-3 min(3, 6) = 3 → 11.
    // vm-3 needs max(ceil(1000/2000) = 1, 2048/1024 = 2) = 2; the others 1 → used 6.
    // Largest hosts tie (4, 4): host-1 is lost first (smaller id). Losing it: 7 ≥ 6 → level ≥ 1;
    // losing host-2 too: 3 < 6 → level 1. available = 7 − 6 = 1.
    let inv = guide(SLOT1, &[("das.slotMemInMB", "1024")]);
    let r = admission::evaluate(&inv);
    assert_eq!((r.figures.slot_cpu_mhz, r.figures.slot_memory_mb), (Some(2000), Some(1024)));
    assert_eq!(host_slots(&r), vec![("host-1", 4), ("host-2", 4), ("host-3", 3)]);
    assert_eq!((r.figures.total_slots, r.figures.used_slots, r.figures.available_slots), (Some(11), Some(6), Some(1)));
    assert_eq!(r.figures.current_failover_level, Some(1));
    assert!(r.figures.satisfied);

    // Powering on a 1000 MHz / 2048 MB VM takes 2 slots: used 8 > 7 left after losing host-1.
    let op = Operation::PowerOn(new_vm("vm-9", Some("host-3"), 1000, 2048, 0));
    let d = admission::check(&inv, &op).unwrap();
    assert!(!d.allowed);
    assert_eq!(d.reason, "would lower current failover level from 1 to 0 (needs 8 slots, 7 left after losing host-1)");
    assert_eq!(d.after.used_slots, Some(8));
}

#[test]
fn cap_above_the_largest_vm_changes_nothing() {
    // Caps only lower: 5000 MHz / 4096 MB caps leave the 2000 / 2048 slot alone.
    let inv = guide(SLOT1, &[("das.slotCpuInMHz", "5000"), ("das.slotMemInMB", "4096")]);
    let r = admission::evaluate(&inv);
    assert_eq!((r.figures.slot_cpu_mhz, r.figures.slot_memory_mb), (Some(2000), Some(2048)));
    assert_eq!(r.figures.current_failover_level, Some(1));
    assert!(r.messages.is_empty(), "{:?}", r.messages);
}

#[test]
fn fixed_slot_smaller_than_vms() {
    // Fixed slot 1500 MHz / 1024 MB.
    // host-1 min(9000/1500 = 6, 9216/1024 = 9) = 6; host-2 min(6, 6) = 6; host-3 min(4, 6) = 4 → 16.
    // vm-1, vm-2: max(ceil(2000/1500) = 2, 1) = 2; vm-3: max(1, 2048/1024 = 2) = 2; vm-4, vm-5: 1
    // → used 8. Losing host-1 (6, tie with host-2, smaller id): 10 ≥ 8; losing host-2 too: 4 < 8
    // → level 1. available = 10 − 8 = 2.
    let inv = guide(r#"{"policy":"slot","host_failures":1,"slot_cpu_mhz":1500,"slot_memory_mb":1024}"#, &[]);
    let r = admission::evaluate(&inv);
    assert_eq!((r.figures.slot_cpu_mhz, r.figures.slot_memory_mb), (Some(1500), Some(1024)));
    assert_eq!(host_slots(&r), vec![("host-1", 6), ("host-2", 6), ("host-3", 4)]);
    assert_eq!((r.figures.total_slots, r.figures.used_slots, r.figures.available_slots), (Some(16), Some(8), Some(2)));
    assert_eq!(r.figures.current_failover_level, Some(1));
    assert!(r.figures.satisfied);
}

#[test]
fn fixed_slot_larger_than_vms_is_the_slot() {
    // A fixed slot is the slot (not a cap): 4000 MHz / 4096 MB even though no VM is that big.
    // host-1 min(2, 2) = 2; host-2 min(2, 1) = 1; host-3 min(1, 1) = 1 → 4 slots < 5 VMs.
    // The options' caps and floors do not apply to a fixed slot.
    let inv = guide(
        r#"{"policy":"slot","host_failures":1,"slot_cpu_mhz":4000,"slot_memory_mb":4096}"#,
        &[("das.slotCpuInMHz", "100"), ("das.vmMemoryMinMB", "8000")],
    );
    let r = admission::evaluate(&inv);
    assert_eq!((r.figures.slot_cpu_mhz, r.figures.slot_memory_mb), (Some(4000), Some(4096)));
    assert_eq!(host_slots(&r), vec![("host-1", 2), ("host-2", 1), ("host-3", 1)]);
    assert_eq!((r.figures.total_slots, r.figures.used_slots, r.figures.available_slots), (Some(4), Some(5), Some(0)));
    assert_eq!(r.figures.current_failover_level, Some(0));
    assert!(r.figures.overcommitted && !r.figures.satisfied);
    assert!(has_message(&r, "cluster is already overcommitted: 5 slots used, 4 available with no host failed"));
}

#[test]
fn unbalanced_hosts_16_16_32_gb() {
    // No VMs, das.vmMemoryMinMB = 1024 → slot 32 MHz / 1024 MB (CPU never limits: 100000/32).
    // Host slots 16, 16, 32 → 64. With 0 used: losing the 32-slot host leaves 32, losing
    // another leaves 16. available: 32 at 1 failure, 16 at 2; level = N − 1 = 2.
    let hosts = vec![host("host-1", 100_000, 16384), host("host-2", 100_000, 16384), host("host-3", 100_000, 32768)];
    let opts = [("das.vmMemoryMinMB", "1024")];
    let r1 = admission::evaluate(&inventory(SLOT1, &opts, &hosts, &[]));
    assert_eq!((r1.figures.slot_cpu_mhz, r1.figures.slot_memory_mb), (Some(32), Some(1024)));
    assert_eq!(host_slots(&r1), vec![("host-1", 16), ("host-2", 16), ("host-3", 32)]);
    assert_eq!(
        (r1.figures.total_slots, r1.figures.used_slots, r1.figures.available_slots),
        (Some(64), Some(0), Some(32))
    );
    assert_eq!(r1.figures.current_failover_level, Some(2));
    let r2 = admission::evaluate(&inventory(r#"{"policy":"slot","host_failures":2}"#, &opts, &hosts, &[]));
    assert_eq!(r2.figures.available_slots, Some(16));
    assert!(r2.figures.satisfied);

    // 20 VMs of 32 MHz / 1024 MB: losing host-3 leaves 32 ≥ 20, losing host-1 too leaves
    // 16 < 20 → level 1: the 2-failure cluster is not satisfied, the 1-failure one is
    // (available 32 − 20 = 12).
    let vms: Vec<String> = (0..20).map(|i| vm(&format!("vm-{i}"), "host-3", 0, 1024)).collect();
    let r1 = admission::evaluate(&inventory(SLOT1, &opts, &hosts, &vms));
    assert_eq!(
        (r1.figures.used_slots, r1.figures.available_slots, r1.figures.current_failover_level),
        (Some(20), Some(12), Some(1))
    );
    assert!(r1.figures.satisfied);
    let r2 = admission::evaluate(&inventory(r#"{"policy":"slot","host_failures":2}"#, &opts, &hosts, &vms));
    assert_eq!((r2.figures.available_slots, r2.figures.current_failover_level), (Some(0), Some(1)));
    assert!(!r2.figures.satisfied);
    assert!(has_message(
        &r2,
        "current failover level 1 is below the configured 2 (needs 20 slots, 16 left after losing host-1 and host-3)"
    ));
}

#[test]
fn no_reservations_slot_is_32_mhz_and_the_largest_overhead() {
    // Reservations 0, overheads 100 / 150 / 90 MB → slot max(0, 32) = 32 MHz, max(100, 150, 90) = 150 MB.
    // Each 3200 MHz / 4096 MB host: min(3200/32 = 100, 4096/150 = 27) = 27 → 54 slots, 3 used.
    // Losing one host: 27 ≥ 3; N − 1 = 1 → level 1; available 27 − 3 = 24.
    let hosts = vec![host("host-1", 3200, 4096), host("host-2", 3200, 4096)];
    let vms = vec![
        vm_x("vm-1", Some("host-1"), "poweredOn", 0, 0, 100, ""),
        vm_x("vm-2", Some("host-1"), "poweredOn", 0, 0, 150, ""),
        vm_x("vm-3", Some("host-2"), "poweredOn", 0, 0, 90, ""),
    ];
    let r = admission::evaluate(&inventory(SLOT1, &[], &hosts, &vms));
    assert_eq!((r.figures.slot_cpu_mhz, r.figures.slot_memory_mb), (Some(32), Some(150)));
    assert_eq!(host_slots(&r), vec![("host-1", 27), ("host-2", 27)]);
    assert_eq!((r.figures.total_slots, r.figures.used_slots, r.figures.available_slots), (Some(54), Some(3), Some(24)));
    assert_eq!(r.figures.current_failover_level, Some(1));
    // Percentages count 32 MHz per VM: (6400 − 96) / 6400 = 98.5 %; memory (8192 − 340) / 8192.
    let r = admission::evaluate(&inventory(r#"{"policy":"percentage","host_failures":1}"#, &[], &hosts, &vms));
    assert_close(r.figures.cpu_failover_percent, 6304.0 / 6400.0 * 100.0);
    assert_close(r.figures.memory_failover_percent, 7852.0 / 8192.0 * 100.0);
    assert_eq!((r.figures.required_cpu_mhz, r.figures.required_memory_mb), (96, 340));
}

#[test]
fn zero_memory_slot_is_one_mb() {
    // No reservation, no overhead, das.vmMemoryMinMB = 0: the memory slot would be 0; the engine
    // uses 1 MB so hosts are limited by CPU: min(3200/32 = 100, 4096/1) = 100 per host.
    let hosts = vec![host("host-1", 3200, 4096), host("host-2", 3200, 4096)];
    let vms = vec![vm("vm-1", "host-1", 0, 0)];
    let r = admission::evaluate(&inventory(SLOT1, &[], &hosts, &vms));
    assert_eq!((r.figures.slot_cpu_mhz, r.figures.slot_memory_mb), (Some(32), Some(1)));
    assert_eq!(host_slots(&r), vec![("host-1", 100), ("host-2", 100)]);
    assert_eq!(r.figures.available_slots, Some(99));
}

#[test]
fn vm_minimums_raise_the_slot_but_memory_minimum_not_the_requirement() {
    // das.vmCpuMinMHz = 100, das.vmMemoryMinMB = 512; VMs 50 MHz/200 MB and 80 MHz/300 MB.
    // slot = max(80, 100) = 100 MHz, max(300, 512) = 512 MB; hosts 4000/8192: min(40, 16) = 16.
    let hosts = vec![host("host-1", 4000, 8192), host("host-2", 4000, 8192)];
    let vms = vec![vm("vm-1", "host-1", 50, 200), vm("vm-2", "host-2", 80, 300)];
    let opts = [("das.vmCpuMinMHz", "100"), ("das.vmMemoryMinMB", "512")];
    let r = admission::evaluate(&inventory(SLOT1, &opts, &hosts, &vms));
    assert_eq!((r.figures.slot_cpu_mhz, r.figures.slot_memory_mb), (Some(100), Some(512)));
    assert_eq!((r.figures.total_slots, r.figures.used_slots, r.figures.available_slots), (Some(32), Some(2), Some(14)));
    // R-AC-PCT: req_cpu = max(50,100) + max(80,100) = 200 → (8000 − 200)/8000 = 97.5 %;
    // req_mem = 200 + 300 = 500 (no floor) → (16384 − 500)/16384.
    let r = admission::evaluate(&inventory(
        r#"{"policy":"percentage","cpu_percent":50,"memory_percent":50}"#,
        &opts,
        &hosts,
        &vms,
    ));
    assert_eq!((r.figures.required_cpu_mhz, r.figures.required_memory_mb), (200, 500));
    assert_close(r.figures.cpu_failover_percent, 97.5);
    assert_close(r.figures.memory_failover_percent, 15884.0 / 16384.0 * 100.0);
}

/// Five identical 4000 MHz / 4096 MB hosts: host-1 connected, host-2 in maintenance, host-3 in
/// standby, host-4 disconnected, host-5 not responding.
fn five_host_states() -> Vec<String> {
    vec![
        host("host-1", 4000, 4096),
        host_x("host-2", 4000, 4096, r#","maintenance":true"#),
        host_x("host-3", 4000, 4096, r#","standby":true"#),
        host_x("host-4", 4000, 4096, r#","state":"disconnected""#),
        host_x("host-5", 4000, 4096, r#","state":"notResponding""#),
    ]
}

#[test]
fn unavailable_hosts_are_not_counted() {
    // R-AC-0, the Availability Guide's reading (engine.admissionCountsFailedHosts=false): only
    // host-1 is counted. vm-2 runs on the disconnected host-4 and still counts (HA would
    // restart it).
    // slot 1000/1024 → host-1: 4 slots; used 2; N = 1 → level 0 < 1; available: losing the
    // only host leaves 0.
    let hosts = five_host_states();
    let opts = [("engine.admissionCountsFailedHosts", "false")];
    let vms = vec![vm("vm-1", "host-1", 1000, 1024), vm("vm-2", "host-4", 1000, 1024)];
    let r = admission::evaluate(&inventory(SLOT1, &opts, &hosts, &vms));
    assert_eq!(r.counted_hosts, vec!["host-1"]);
    assert_eq!(host_slots(&r), vec![("host-1", 4)]);
    assert_eq!((r.figures.total_slots, r.figures.used_slots, r.figures.available_slots), (Some(4), Some(2), Some(0)));
    assert_eq!(r.figures.current_failover_level, Some(0));
    assert!(!r.figures.satisfied);
    assert_eq!((r.total_cpu_mhz, r.total_memory_mb), (4000, 4096));
    let reasons: Vec<(&str, &str)> = r.excluded_hosts.iter().map(|e| (e.host.as_str(), e.reason.as_str())).collect();
    assert_eq!(
        reasons,
        vec![
            ("host-2", "in maintenance mode"),
            ("host-3", "in standby"),
            ("host-4", "disconnected"),
            ("host-5", "not responding")
        ]
    );
    assert!(has_message(&r, "host-2 is not counted: in maintenance mode"));
    assert!(has_message(&r, "1 host failure cannot be tolerated by 1 counted host"));

    // Powering on onto a host that is not counted is a request error, not a refusal.
    let op = Operation::PowerOn(new_vm("vm-9", Some("host-2"), 0, 0, 0));
    assert!(matches!(admission::check(&inventory(SLOT1, &opts, &hosts, &vms), &op), Err(Error::Argument(_))));
}

#[test]
fn not_responding_hosts_are_counted_by_default() {
    // R-AC-0 by default (HA Deepdive: a host that failed or is not responding but has not been
    // removed from the cluster "is still included in the equation"): host-1 and the
    // not-responding host-5 are counted; maintenance, standby and disconnected are not.
    // slot 1000/1024 → 4 slots each, total 8; used 2 (vm-1, vm-2). Losing host-1 (tie, smaller
    // id) leaves 4 ≥ 2 → level 1 = configured: satisfied; available = 8 − 4 − 2 = 2.
    let hosts = five_host_states();
    let vms = vec![vm("vm-1", "host-1", 1000, 1024), vm("vm-2", "host-4", 1000, 1024)];
    let inv = inventory(SLOT1, &[], &hosts, &vms);
    let r = admission::evaluate(&inv);
    assert_eq!(r.counted_hosts, vec!["host-1", "host-5"]);
    assert_eq!(host_slots(&r), vec![("host-1", 4), ("host-5", 4)]);
    assert_eq!((r.figures.total_slots, r.figures.used_slots, r.figures.available_slots), (Some(8), Some(2), Some(2)));
    assert_eq!(r.figures.current_failover_level, Some(1));
    assert!(r.figures.satisfied);
    assert_eq!((r.total_cpu_mhz, r.total_memory_mb), (8000, 8192));
    let reasons: Vec<(&str, &str)> = r.excluded_hosts.iter().map(|e| (e.host.as_str(), e.reason.as_str())).collect();
    assert_eq!(reasons, vec![("host-2", "in maintenance mode"), ("host-3", "in standby"), ("host-4", "disconnected")]);
    assert!(r.messages.iter().any(|m| m.starts_with("host-5 is not responding but still counted")), "{:?}", r.messages);
    // Percentage policy, same hosts: total 8000 MHz / 8192 MB; required 2000 / 2048 →
    // (8000 − 2000)/8000 = 75 %, (8192 − 2048)/8192 = 75 %.
    let pct = r#"{"policy":"percentage","cpu_percent":25,"memory_percent":25}"#;
    let r = admission::evaluate(&inventory(pct, &[], &hosts, &vms));
    assert_close(r.figures.cpu_failover_percent, 75.0);
    assert_close(r.figures.memory_failover_percent, 75.0);
    // Counted, but no VM can be powered on there.
    let op = Operation::PowerOn(new_vm("vm-9", Some("host-5"), 0, 0, 0));
    match admission::check(&inv, &op) {
        Err(Error::Argument(m)) => assert!(m.contains("not responding"), "{m}"),
        other => panic!("{other:?}"),
    }
    // A not-responding host in maintenance mode is not counted.
    let mut hosts = five_host_states();
    hosts[4] = host_x("host-5", 4000, 4096, r#","state":"notResponding","maintenance":true"#);
    let r = admission::evaluate(&inventory(SLOT1, &[], &hosts, &vms));
    assert_eq!(r.counted_hosts, vec!["host-1"]);
    assert_eq!(r.excluded_hosts.last().map(|e| e.reason.as_str()), Some("in maintenance mode"));
    // A not-responding dedicated failover host is counted but not healthy.
    let fh = r#"{"policy":"failoverHosts","hosts":["host-5"]}"#;
    let r = admission::evaluate(&inventory(fh, &[], &five_host_states(), &vms));
    assert_eq!(r.failover_hosts[0].state, FailoverHostState::Unavailable);
    assert_eq!(r.failover_hosts[0].reason.as_deref(), Some("not responding"));
    assert!(!r.figures.satisfied);
}

#[test]
fn failed_hosts_are_not_counted_but_their_vms_are() {
    // Guide with host-1 failed: host-2 3 + host-3 3 = 6 slots; used 5 (vm-1, vm-2 still count).
    // Losing host-2 (tie with host-3, smaller id): 3 < 5 → level 0; available max(0, 3 − 5) = 0.
    let inv = guide(SLOT1, &[]);
    let failed: HashSet<String> = ["host-1".to_string()].into();
    let r = admission::evaluate_with_failed(&inv, &failed).unwrap();
    assert_eq!(host_slots(&r), vec![("host-2", 3), ("host-3", 3)]);
    assert_eq!((r.figures.total_slots, r.figures.used_slots, r.figures.available_slots), (Some(6), Some(5), Some(0)));
    assert_eq!(r.figures.current_failover_level, Some(0));
    assert!(has_message(
        &r,
        "current failover level 0 is below the configured 1 (needs 5 slots, 3 left after losing host-2)"
    ));
    let unknown: HashSet<String> = ["host-99".to_string()].into();
    assert!(matches!(admission::evaluate_with_failed(&inv, &unknown), Err(Error::UnknownId { kind: "host", .. })));
}

#[test]
fn ft_secondaries_count_and_powered_off_or_suspended_vms_do_not() {
    // Guide + an FT secondary 1000/1024 (counts: used 6) + a powered-off 8000 MHz VM and a
    // suspended 8000 MB VM (neither counts, so the slot stays 2000/2048).
    // used 6, losing host-1 leaves 6 ≥ 6 → level 1, available 0.
    let mut vms = guide_vms();
    vms.push(vm_x("vm-6", Some("host-3"), "poweredOn", 1000, 1024, 0, r#","role":"ftSecondary""#));
    vms.push(vm_x("vm-7", None, "poweredOff", 8000, 1024, 0, ""));
    vms.push(vm_x("vm-8", Some("host-1"), "suspended", 1000, 8000, 0, ""));
    let r = admission::evaluate(&inventory(SLOT1, &[], &guide_hosts(), &vms));
    assert_eq!((r.figures.slot_cpu_mhz, r.figures.slot_memory_mb), (Some(2000), Some(2048)));
    assert_eq!(
        (r.figures.used_slots, r.figures.available_slots, r.figures.current_failover_level),
        (Some(6), Some(0), Some(1))
    );
    assert_eq!(r.figures.counted_vms, 6);
}

#[test]
fn one_host_cluster() {
    // One 8000 MHz / 8192 MB host, host_failures 0, one 2000/2048 VM: 4 slots, 1 used,
    // level 0 (N − 1 = 0), satisfied, available 4 − 1 = 3.
    let hosts = vec![host("host-1", 8000, 8192)];
    let vms = vec![vm("vm-1", "host-1", 2000, 2048)];
    let inv = inventory(r#"{"policy":"slot","host_failures":0}"#, &[], &hosts, &vms);
    let r = admission::evaluate(&inv);
    assert_eq!((r.figures.total_slots, r.figures.used_slots, r.figures.available_slots), (Some(4), Some(1), Some(3)));
    assert_eq!(r.figures.current_failover_level, Some(0));
    assert!(r.figures.satisfied);
    // Three more such VMs fit (4 of 4 slots), the fifth would overcommit.
    let mut ctx = admission::AdmissionContext::new(&inv);
    for i in 2..=4 {
        let d = ctx.admit(&Operation::PowerOn(new_vm(&format!("vm-{i}"), Some("host-1"), 2000, 2048, 0))).unwrap();
        assert!(d.allowed, "{d}");
    }
    let d = ctx.check(&Operation::PowerOn(new_vm("vm-5", Some("host-1"), 2000, 2048, 0))).unwrap();
    assert!(!d.allowed);
    assert_eq!(d.reason, "would overcommit the cluster: needs 5 slots, 4 available with no host failed");

    // One failure cannot be tolerated by one host.
    let r = admission::evaluate(&inventory(SLOT1, &[], &hosts, &vms));
    assert!(!r.figures.satisfied);
    assert_eq!((r.figures.current_failover_level, r.figures.available_slots), (Some(0), Some(0)));
    // The percentage policy needs two counted hosts.
    let inv = inventory(r#"{"policy":"percentage","cpu_percent":10,"memory_percent":10}"#, &[], &hosts, &vms);
    let r = admission::evaluate(&inv);
    assert!(!r.figures.satisfied);
    assert_close(r.figures.cpu_failover_percent, 75.0);
    assert!(has_message(&r, "the percentage policy needs at least 2 counted hosts (1 counted)"));
    let d = admission::check(&inv, &Operation::PowerOn(new_vm("vm-2", Some("host-1"), 0, 0, 0))).unwrap();
    assert!(!d.allowed);
    assert_eq!(d.reason, "the percentage policy needs at least 2 counted hosts (1 counted)");
}

#[test]
fn overcommitted_cluster() {
    // Guide hosts (10 slots of 2000/2048) running 12 VMs of 2000/2048: used 12 > 10.
    let vms: Vec<String> = (1..=12).map(|i| vm(&format!("vm-{i}"), "host-1", 2000, 2048)).collect();
    let inv = inventory(SLOT1, &[], &guide_hosts(), &vms);
    let r = admission::evaluate(&inv);
    assert_eq!((r.figures.total_slots, r.figures.used_slots, r.figures.available_slots), (Some(10), Some(12), Some(0)));
    assert_eq!(r.figures.current_failover_level, Some(0));
    assert!(r.figures.overcommitted && !r.figures.satisfied);
    assert!(has_message(&r, "cluster is already overcommitted: 12 slots used, 10 available with no host failed"));
    // Even with 0 host failures an overcommitted cluster is not satisfied.
    let r0 = admission::evaluate(&inventory(r#"{"policy":"slot","host_failures":0}"#, &[], &guide_hosts(), &vms));
    assert!(!r0.figures.satisfied);

    let d = admission::check(&inv, &Operation::PowerOn(new_vm("vm-13", Some("host-2"), 0, 0, 0))).unwrap();
    assert!(!d.allowed);
    assert_eq!(d.reason, "cluster is already overcommitted: would need 13 slots, 10 available with no host failed");
    // Lowering a reservation raises no demand: allowed (the slot size does not shrink while
    // other 2000/2048 VMs remain).
    let lower = Operation::ChangeReservation { vm: "vm-1".into(), cpu_reservation_mhz: 0, memory_reservation_mb: 0 };
    let d = admission::check(&inv, &lower).unwrap();
    assert!(d.allowed, "{d}");
    assert_eq!(
        d.reason,
        "reservation change of vm-1 to 0 MHz / 0 MB raises no reservation counted by admission control"
    );
    assert_eq!((d.after.used_slots, d.after.required_cpu_mhz), (Some(12), 22032));
}

// ---------------------------------------------------------------------------------------------
// Percentage policy
// ---------------------------------------------------------------------------------------------

#[test]
fn auto_computed_percentages_are_k_over_n() {
    // 5 hosts of 10000 MHz / 10000 MB, one in maintenance → N = 4, k = 1 → 25 %.
    // VMs 3 × 10000 MHz / 1000 MB: CPU (40000 − 30000)/40000 = 25 % (exactly the configured:
    // satisfied), memory (40000 − 3000)/40000 = 92.5 %.
    let mut hosts: Vec<String> = (1..=4).map(|i| host(&format!("host-{i}"), 10000, 10000)).collect();
    hosts.push(host_x("host-5", 10000, 10000, r#","maintenance":true"#));
    let vms: Vec<String> = (1..=3).map(|i| vm(&format!("vm-{i}"), &format!("host-{i}"), 10000, 1000)).collect();
    let inv = inventory(r#"{"policy":"percentage","host_failures":1}"#, &[], &hosts, &vms);
    let r = admission::evaluate(&inv);
    assert_eq!(r.configured_host_failures, Some(1));
    assert_eq!((r.configured_cpu_percent, r.configured_memory_percent), (Some(25.0), Some(25.0)));
    assert_close(r.figures.cpu_failover_percent, 25.0);
    assert_close(r.figures.memory_failover_percent, 92.5);
    assert!(r.figures.satisfied);
    // One more VM (32 MHz counted by das.vmCpuMinMHz): (40000 − 30032)/40000 = 24.92 % < 25 %.
    let d = admission::check(&inv, &Operation::PowerOn(new_vm("vm-4", Some("host-4"), 0, 0, 0))).unwrap();
    assert!(!d.allowed);
    assert_eq!(
        d.reason,
        "would lower the current CPU failover capacity from 25.00 % to 24.92 %, below the configured 25.00 %"
    );
    assert_close(d.after.cpu_failover_percent, 9968.0 / 40000.0 * 100.0);
    assert!(d.before.satisfied && !d.after.satisfied);

    // 3 hosts, k = 1 → 33.33 %; CPU (30000 − 20000)/30000 = exactly 1/3: satisfied (exact
    // comparison); 2 failures → 66.67 % not met.
    let hosts: Vec<String> = (1..=3).map(|i| host(&format!("host-{i}"), 10000, 10000)).collect();
    let vms = vec![vm("vm-1", "host-1", 10000, 0), vm("vm-2", "host-2", 10000, 0)];
    let r = admission::evaluate(&inventory(r#"{"policy":"percentage","host_failures":1}"#, &[], &hosts, &vms));
    assert_close(r.configured_cpu_percent, 100.0 / 3.0);
    assert!(r.figures.satisfied);
    let r = admission::evaluate(&inventory(r#"{"policy":"percentage","host_failures":2}"#, &[], &hosts, &vms));
    assert!(!r.figures.satisfied);
    assert!(
        has_message(&r, "current CPU failover capacity 33.33 % is below the configured 66.67 %"),
        "{:?}",
        r.messages
    );
}

#[test]
fn explicit_percentage_refuses_on_memory_only() {
    // 2 hosts of 10000/10000; configured 50 % / 50 %. VMs 2000/4500 twice:
    // CPU (20000 − 4000)/20000 = 80 %, memory (20000 − 9000)/20000 = 55 %.
    // A 1000 MHz / 1500 MB VM: CPU 75 % (fine), memory (20000 − 10500)/20000 = 47.5 % < 50 %.
    let hosts = vec![host("host-1", 10000, 10000), host("host-2", 10000, 10000)];
    let vms = vec![vm("vm-1", "host-1", 2000, 4500), vm("vm-2", "host-2", 2000, 4500)];
    let inv = inventory(r#"{"policy":"percentage","cpu_percent":50,"memory_percent":50}"#, &[], &hosts, &vms);
    let r = admission::evaluate(&inv);
    assert_close(r.figures.cpu_failover_percent, 80.0);
    assert_close(r.figures.memory_failover_percent, 55.0);
    let d = admission::check(&inv, &Operation::PowerOn(new_vm("vm-3", Some("host-1"), 1000, 1500, 0))).unwrap();
    assert!(!d.allowed);
    assert_eq!(
        d.reason,
        "would lower the current memory failover capacity from 55.00 % to 47.50 %, below the configured 50.00 %"
    );
    // A 1000 MHz / 1000 MB VM: memory (20000 − 10000)/20000 = 50 % ≥ 50 %: allowed.
    let d = admission::check(&inv, &Operation::PowerOn(new_vm("vm-3", Some("host-1"), 1000, 1000, 0))).unwrap();
    assert!(d.allowed);
    assert_eq!(
        d.reason,
        "CPU failover capacity 75.00 % ≥ 50.00 %, memory failover capacity 50.00 % ≥ 50.00 % with the operation"
    );
}

#[test]
fn percentages_can_be_negative_when_overcommitted() {
    // 2 hosts of 1000 MHz; VMs reserve 1000 + 1000 + 1000 (placed beyond capacity):
    // (2000 − 3000)/2000 = −50 %.
    let hosts = vec![host("host-1", 1000, 1000), host("host-2", 1000, 1000)];
    let vms = vec![vm("vm-1", "host-1", 1000, 0), vm("vm-2", "host-1", 1000, 0), vm("vm-3", "host-2", 1000, 0)];
    let r = admission::evaluate(&inventory(
        r#"{"policy":"percentage","cpu_percent":0,"memory_percent":0}"#,
        &[],
        &hosts,
        &vms,
    ));
    assert_close(r.figures.cpu_failover_percent, -50.0);
    assert!(r.figures.overcommitted && !r.figures.satisfied);
}

// ---------------------------------------------------------------------------------------------
// Dedicated failover hosts, disabled
// ---------------------------------------------------------------------------------------------

#[test]
fn failover_host_statuses() {
    // host-3: failover host, empty → healthy; host-4: failover host running vm-2 and vm-3;
    // host-5: failover host in maintenance. Not satisfied: not all are healthy and empty.
    let hosts = vec![
        host("host-1", 10000, 10000),
        host("host-2", 10000, 10000),
        host("host-3", 10000, 10000),
        host("host-4", 10000, 10000),
        host_x("host-5", 10000, 10000, r#","maintenance":true"#),
    ];
    let vms = vec![vm("vm-1", "host-1", 0, 0), vm("vm-3", "host-4", 0, 0), vm("vm-2", "host-4", 0, 0)];
    let inv = inventory(r#"{"policy":"failoverHosts","hosts":["host-3","host-4","host-5"]}"#, &[], &hosts, &vms);
    let r = admission::evaluate(&inv);
    assert_eq!(r.policy, AdmissionPolicyKind::FailoverHosts);
    assert!(!r.figures.satisfied);
    let states: Vec<(&str, FailoverHostState, Vec<&str>)> = r
        .failover_hosts
        .iter()
        .map(|s| (s.host.as_str(), s.state, s.running_vms.iter().map(String::as_str).collect()))
        .collect();
    assert_eq!(
        states,
        vec![
            ("host-3", FailoverHostState::Healthy, vec![]),
            ("host-4", FailoverHostState::RunningVms, vec!["vm-2", "vm-3"]),
            ("host-5", FailoverHostState::Unavailable, vec![]),
        ]
    );
    assert_eq!(r.failover_hosts[2].reason.as_deref(), Some("in maintenance mode"));
    assert!(has_message(&r, "failover host host-4 runs 2 powered-on VMs (vm-2 and vm-3)"));
    assert!(has_message(&r, "failover host host-5 is unavailable: in maintenance mode"));
    assert_eq!(r.figures.total_slots, None);

    // Power-on onto a failover host: refused; elsewhere: allowed; migration onto one: refused.
    let d = admission::check(&inv, &Operation::PowerOn(new_vm("vm-9", Some("host-3"), 0, 0, 0))).unwrap();
    assert!(!d.allowed);
    assert_eq!(d.reason, "host-3 is a dedicated failover host: it receives no user power-ons or migrations");
    let d = admission::check(&inv, &Operation::PowerOn(new_vm("vm-9", Some("host-2"), 0, 0, 0))).unwrap();
    assert!(d.allowed);
    assert_eq!(d.reason, "host-2 is not a dedicated failover host");
    let d = admission::check(&inv, &Operation::MigrateIn(new_vm("vm-9", Some("host-3"), 0, 0, 0))).unwrap();
    assert!(!d.allowed);
}

#[test]
fn failover_hosts_satisfied_when_healthy_and_empty() {
    let hosts = vec![host("host-1", 10000, 10000), host("host-2", 10000, 10000)];
    let vms = vec![vm("vm-1", "host-1", 0, 0)];
    let inv = inventory(r#"{"policy":"failoverHosts","hosts":["host-2"]}"#, &[], &hosts, &vms);
    let r = admission::evaluate(&inv);
    assert!(r.figures.satisfied);
    assert_eq!(r.failover_hosts[0].state, FailoverHostState::Healthy);
    // A refused power-on onto the failover host would make it run a VM.
    let d = admission::check(&inv, &Operation::PowerOn(new_vm("vm-2", Some("host-2"), 0, 0, 0))).unwrap();
    assert!(!d.allowed && d.before.satisfied && !d.after.satisfied);
}

#[test]
fn disabled_policy_allows_everything() {
    let vms: Vec<String> = (1..=12).map(|i| vm(&format!("vm-{i}"), "host-1", 2000, 2048)).collect();
    let inv = inventory(r#"{"policy":"disabled"}"#, &[], &guide_hosts(), &vms);
    let r = admission::evaluate(&inv);
    assert!(r.figures.satisfied);
    assert_eq!(r.policy, AdmissionPolicyKind::Disabled);
    assert!(has_message(&r, "admission control is disabled: no operation is refused"));
    let d = admission::check(&inv, &Operation::PowerOn(new_vm("vm-99", Some("host-1"), 9000, 6000, 0))).unwrap();
    assert!(d.allowed);
    assert_eq!(d.reason, "admission control is disabled: power-on of vm-99 on host-1 is not checked");
}

// ---------------------------------------------------------------------------------------------
// What-if checks
// ---------------------------------------------------------------------------------------------

#[test]
fn guide_power_ons_allowed_then_refused() {
    // Guide: 10 slots, 5 used, level 1. A 6th 2000 MHz / 1024 MB VM: slot unchanged, used 6,
    // losing host-1 leaves 6 ≥ 6 → level 1: allowed. A 7th: 7 > 6 → level 0: refused.
    let inv = guide(SLOT1, &[]);
    let mut ctx = admission::AdmissionContext::new(&inv);
    let d = ctx.admit(&Operation::PowerOn(new_vm("vm-6", Some("host-3"), 2000, 1024, 0))).unwrap();
    assert!(d.allowed);
    assert_eq!(d.reason, "current failover level 1 meets the configured 1 (needs 6 slots, 6 left after losing host-1)");
    assert_eq!((d.after.used_slots, d.after.available_slots), (Some(6), Some(0)));
    let d = ctx.check(&Operation::PowerOn(new_vm("vm-7", Some("host-3"), 2000, 1024, 0))).unwrap();
    assert!(!d.allowed);
    assert_eq!(d.reason, "would lower current failover level from 1 to 0 (needs 7 slots, 6 left after losing host-1)");
    assert_eq!((d.before.current_failover_level, d.after.current_failover_level), (Some(1), Some(0)));
    // A refused admit changes nothing; the id vm-6 is now taken.
    assert!(!ctx.admit(&Operation::PowerOn(new_vm("vm-7", Some("host-3"), 2000, 1024, 0))).unwrap().allowed);
    assert_eq!(ctx.figures().used_slots, Some(6));
    assert!(matches!(
        ctx.check(&Operation::PowerOn(new_vm("vm-6", Some("host-3"), 0, 0, 0))),
        Err(Error::Argument(m)) if m == "VM 'vm-6' is already powered on"
    ));
}

#[test]
fn power_on_that_grows_the_slot() {
    // A 4000 MHz / 1024 MB VM: slot 4000 / 2048. host-1 min(2, 4) = 2; host-2 min(2, 3) = 2;
    // host-3 min(1, 3) = 1 → 5 slots for 6 VMs: overcommitted.
    let inv = guide(SLOT1, &[]);
    let d = admission::check(&inv, &Operation::PowerOn(new_vm("vm-6", Some("host-2"), 4000, 1024, 0))).unwrap();
    assert!(!d.allowed);
    assert_eq!(
        d.reason,
        "would overcommit the cluster: needs 6 slots, 5 available with no host failed; slot size grows from 2000 MHz / 2048 MB to 4000 MHz / 2048 MB"
    );
    assert_eq!((d.after.slot_cpu_mhz, d.after.total_slots, d.after.used_slots), (Some(4000), Some(5), Some(6)));
    assert!(d.after.overcommitted);
}

#[test]
fn raising_a_reservation() {
    // vm-5 to 1000 MHz / 3072 MB: slot 2000 / 3072. host-1 min(4, 3) = 3; host-2 min(4, 2) = 2;
    // host-3 min(3, 2) = 2 → 7; used 5; losing host-1 leaves 4 < 5 → level 0.
    let inv = guide(SLOT1, &[]);
    let op = Operation::ChangeReservation { vm: "vm-5".into(), cpu_reservation_mhz: 1000, memory_reservation_mb: 3072 };
    let d = admission::check(&inv, &op).unwrap();
    assert!(!d.allowed);
    assert_eq!(
        d.reason,
        "would lower current failover level from 1 to 0 (needs 5 slots, 4 left after losing host-1); slot size grows from 2000 MHz / 2048 MB to 2000 MHz / 3072 MB"
    );
    // Raising vm-5 to 2000 MHz / 2048 MB keeps the slot: allowed, figures unchanged.
    let op = Operation::ChangeReservation { vm: "vm-5".into(), cpu_reservation_mhz: 2000, memory_reservation_mb: 2048 };
    let d = admission::check(&inv, &op).unwrap();
    assert!(d.allowed);
    assert_eq!(d.after.required_cpu_mhz, 8000);
    assert_eq!(d.after.current_failover_level, Some(1));
    // Lowering the only largest VM (vm-3 is the only 2048 MB one) shrinks the memory slot to
    // 1024: host-1 min(4, 9) = 4; host-2 min(4, 6) = 4; host-3 min(3, 6) = 3 → 11.
    let op = Operation::ChangeReservation { vm: "vm-3".into(), cpu_reservation_mhz: 1000, memory_reservation_mb: 512 };
    let d = admission::check(&inv, &op).unwrap();
    assert!(d.allowed);
    assert_eq!((d.after.slot_memory_mb, d.after.total_slots), (Some(1024), Some(11)));
    // The overhead is kept: a VM with 100 MB overhead raised to 2000 MB holds 2100 MB.
    let hosts = vec![host("host-1", 8000, 8192), host("host-2", 8000, 8192)];
    let vms = vec![vm_x("vm-1", Some("host-1"), "poweredOn", 0, 0, 100, "")];
    let inv = inventory(SLOT1, &[], &hosts, &vms);
    let op = Operation::ChangeReservation { vm: "vm-1".into(), cpu_reservation_mhz: 0, memory_reservation_mb: 2000 };
    assert_eq!(admission::check(&inv, &op).unwrap().after.slot_memory_mb, Some(2100));
}

#[test]
fn power_on_of_an_inventory_vm_and_migration() {
    // vm-6 is powered off, registered on host-3, 2000 MHz / 1024 MB: powering it on (host
    // taken from the inventory) uses the 6th slot: losing host-1 leaves 6 ≥ 6 → allowed.
    let mut vms = guide_vms();
    vms.push(vm_x("vm-6", Some("host-3"), "poweredOff", 2000, 1024, 0, ""));
    let inv = inventory(SLOT1, &[], &guide_hosts(), &vms);
    let d = admission::check(&inv, &Operation::PowerOn(new_vm("vm-6", None, 2000, 1024, 0))).unwrap();
    assert!(d.allowed, "{d}");
    assert_eq!(d.after.used_slots, Some(6));
    // Raising a powered-off VM's reservation does not count.
    let op = Operation::ChangeReservation { vm: "vm-6".into(), cpu_reservation_mhz: 8000, memory_reservation_mb: 6000 };
    let d = admission::check(&inv, &op).unwrap();
    assert!(d.allowed);
    assert_eq!(d.after, d.before);
    // A migration into the cluster counts like a power-on: 7 slots > 6 → refused.
    let mut ctx = admission::AdmissionContext::new(&inv);
    ctx.apply(&Operation::PowerOn(new_vm("vm-6", None, 2000, 1024, 0))).unwrap();
    let d = ctx.check(&Operation::MigrateIn(new_vm("vm-20", Some("host-2"), 500, 512, 0))).unwrap();
    assert!(!d.allowed);
    assert_eq!(d.reason, "would lower current failover level from 1 to 0 (needs 7 slots, 6 left after losing host-1)");
    assert_eq!(d.to_string(), format!("refused: {}", d.reason));
}

#[test]
fn operation_errors() {
    let inv = guide(SLOT1, &[]);
    let check = |op: Operation| admission::check(&inv, &op);
    assert!(matches!(
        check(Operation::PowerOn(new_vm("vm-1", Some("host-1"), 0, 0, 0))),
        Err(Error::Argument(m)) if m == "VM 'vm-1' is already powered on"
    ));
    assert!(matches!(
        check(Operation::PowerOn(new_vm("vm-9", Some("host-99"), 0, 0, 0))),
        Err(Error::UnknownId { kind: "host", id }) if id == "host-99"
    ));
    assert!(matches!(check(Operation::PowerOn(new_vm("vm-9", None, 0, 0, 0))), Err(Error::Argument(_))));
    assert!(matches!(
        check(Operation::ChangeReservation { vm: "vm-99".into(), cpu_reservation_mhz: 0, memory_reservation_mb: 0 }),
        Err(Error::UnknownId { kind: "vm", id }) if id == "vm-99"
    ));
    assert!(matches!(
        check(Operation::MigrateIn(new_vm("vm-2", Some("host-1"), 0, 0, 0))),
        Err(Error::Argument(m)) if m == "VM 'vm-2' is already in the cluster"
    ));
    assert!(matches!(check(Operation::MigrateIn(new_vm("vm-9", None, 0, 0, 0))), Err(Error::Argument(_))));
}

#[test]
fn text_rendering_carries_the_figures() {
    let r = admission::evaluate(&guide(SLOT1, &[]));
    let text = r.to_text();
    assert!(text.starts_with(
        "admission control (slot): satisfied — current failover level 1 (configured 1), 1 slot available"
    ));
    assert!(text.contains("slot size: 2000 MHz / 2048 MB"));
    assert!(text.contains("host slots: host-1 4, host-2 3, host-3 3"));
    let r = admission::evaluate(&guide(r#"{"policy":"percentage","cpu_percent":25,"memory_percent":25}"#, &[]));
    assert!(
        r.summary().contains("CPU 70.83 % (configured 25.00 %), memory 71.43 % (configured 25.00 %)"),
        "{}",
        r.summary()
    );
}

// ---------------------------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------------------------

mod properties {
    use super::*;
    use proptest::prelude::*;

    #[derive(Debug, Clone)]
    struct HostSpec {
        cpu: u64,
        mem: u64,
        /// 0 connected, 1 maintenance, 2 standby, 3 disconnected
        state: u8,
    }

    #[derive(Debug, Clone)]
    struct VmSpec {
        /// Index into the hosts (taken modulo the available ones).
        host: usize,
        on: bool,
        cpu: u64,
        mem: u64,
        overhead: u64,
    }

    #[derive(Debug, Clone)]
    struct Spec {
        hosts: Vec<HostSpec>,
        vms: Vec<VmSpec>,
        policy: String,
        options: Vec<(&'static str, String)>,
    }

    fn policy() -> impl Strategy<Value = String> {
        prop_oneof![
            (0u32..4).prop_map(|k| format!(r#"{{"policy":"slot","host_failures":{k}}}"#)),
            (0u32..3, 1u64..4000, 1u64..4000).prop_map(|(k, c, m)| format!(
                r#"{{"policy":"slot","host_failures":{k},"slot_cpu_mhz":{c},"slot_memory_mb":{m}}}"#
            )),
            (0u32..4).prop_map(|k| format!(r#"{{"policy":"percentage","host_failures":{k}}}"#)),
            (0u32..60, 0u32..60)
                .prop_map(|(c, m)| format!(r#"{{"policy":"percentage","cpu_percent":{c},"memory_percent":{m}}}"#)),
            Just(r#"{"policy":"failoverHosts","hosts":["host-0"]}"#.to_string()),
            Just(r#"{"policy":"disabled"}"#.to_string()),
        ]
    }

    fn options() -> impl Strategy<Value = Vec<(&'static str, String)>> {
        (
            proptest::option::of(1u64..3000),
            proptest::option::of(1u64..3000),
            proptest::option::of(0u64..300),
            proptest::option::of(0u64..600),
        )
            .prop_map(|(cpu_cap, mem_cap, cpu_min, mem_min)| {
                let mut o = Vec::new();
                if let Some(v) = cpu_cap {
                    o.push(("das.slotCpuInMHz", v.to_string()));
                }
                if let Some(v) = mem_cap {
                    o.push(("das.slotMemInMB", v.to_string()));
                }
                if let Some(v) = cpu_min {
                    o.push(("das.vmCpuMinMHz", v.to_string()));
                }
                if let Some(v) = mem_min {
                    o.push(("das.vmMemoryMinMB", v.to_string()));
                }
                o
            })
    }

    fn spec() -> impl Strategy<Value = Spec> {
        // Every VM (≤ 3999 MHz, ≤ 3999 MB with overhead) fits the smallest host, as R-INV-1 demands.
        let host = (
            4000u64..40000,
            4096u64..65536,
            prop_oneof![6 => Just(0u8), 1 => Just(1u8), 1 => Just(2u8), 1 => Just(3u8)],
        )
            .prop_map(|(cpu, mem, state)| HostSpec { cpu, mem, state });
        let vm = (0usize..64, prop::bool::weighted(0.8), 0u64..4000, 0u64..3800, 0u64..200)
            .prop_map(|(host, on, cpu, mem, overhead)| VmSpec { host, on, cpu, mem, overhead });
        (prop::collection::vec(host, 1..7), prop::collection::vec(vm, 0..25), policy(), options())
            .prop_map(|(hosts, vms, policy, options)| Spec { hosts, vms, policy, options })
    }

    /// JSON text of the spec with hosts and VMs listed in the given orders.
    fn render(spec: &Spec, host_order: &[usize], vm_order: &[usize]) -> String {
        // Powered-on VMs must sit on a host that is not in maintenance or standby.
        let runnable: Vec<usize> = (0..spec.hosts.len()).filter(|&h| matches!(spec.hosts[h].state, 0 | 3)).collect();
        let hosts: Vec<String> = host_order
            .iter()
            .map(|&i| {
                let h = &spec.hosts[i];
                let extra = match h.state {
                    1 => r#","maintenance":true"#,
                    2 => r#","standby":true"#,
                    3 => r#","state":"disconnected""#,
                    _ => "",
                };
                host_x(&format!("host-{i}"), h.cpu, h.mem, extra)
            })
            .collect();
        let vms: Vec<String> = vm_order
            .iter()
            .map(|&i| {
                let v = &spec.vms[i];
                let on = v.on && !runnable.is_empty();
                let host = if on { Some(format!("host-{}", runnable[v.host % runnable.len()])) } else { None };
                vm_x(
                    &format!("vm-{i}"),
                    host.as_deref(),
                    if on { "poweredOn" } else { "poweredOff" },
                    v.cpu,
                    v.mem,
                    v.overhead,
                    "",
                )
            })
            .collect();
        let opts: Vec<String> = spec.options.iter().map(|(k, v)| format!("\"{k}\":\"{v}\"")).collect();
        format!(
            r#"{{"cluster":{{"name":"p","version":"8.0","admission_control":{},"advanced_options":{{{}}}}},
                "hosts":[{}],"datastores":[{{"id":"ds-1","name":"ds-1","type":"VMFS"}}],"vms":[{}]}}"#,
            spec.policy,
            opts.join(","),
            hosts.join(","),
            vms.join(",")
        )
    }

    fn build(spec: &Spec) -> Inventory {
        let text = render(spec, &(0..spec.hosts.len()).collect::<Vec<_>>(), &(0..spec.vms.len()).collect::<Vec<_>>());
        from_json_str(&text).unwrap_or_else(|e| panic!("{e}\n{text}"))
    }

    /// A deterministic permutation of 0..n from a seed.
    fn permutation(n: usize, mut seed: u64) -> Vec<usize> {
        let mut p: Vec<usize> = (0..n).collect();
        for i in (1..n).rev() {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            p.swap(i, (seed >> 33) as usize % (i + 1));
        }
        p
    }

    /// The report with the inventory-ordered lists sorted.
    fn normalized(mut r: AdmissionReport) -> AdmissionReport {
        r.host_slots.sort_by(|a, b| a.host.cmp(&b.host));
        r.counted_hosts.sort();
        r.excluded_hosts.sort_by(|a, b| a.host.cmp(&b.host));
        r
    }

    fn counted_host(inv: &Inventory, pick: usize) -> Option<String> {
        let counted: Vec<&String> = inv.hosts.iter().filter(|h| h.is_available()).map(|h| &h.id).collect();
        (!counted.is_empty()).then(|| counted[pick % counted.len()].clone())
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

        #[test]
        fn level_never_rises_when_a_vm_is_added(spec in spec(), pick in 0usize..64, cpu in 0u64..4000, mem in 0u64..4096) {
            let inv = build(&spec);
            if let Some(host) = counted_host(&inv, pick) {
                let op = Operation::PowerOn(new_vm("vm-new", Some(&host), cpu, mem, 10));
                let d = admission::check(&inv, &op).unwrap();
                if let (Some(before), Some(after)) = (d.before.current_failover_level, d.after.current_failover_level) {
                    prop_assert!(after <= before, "{before} -> {after}");
                }
                // The incremental answer equals a full re-evaluation of the changed inventory.
                let reference = admission::evaluate(&op.apply_to(&inv).unwrap()).figures;
                prop_assert_eq!(d.after, reference);
                prop_assert_eq!(d.before, admission::evaluate(&inv).figures);
            }
        }

        #[test]
        fn level_never_rises_when_a_host_is_removed(spec in spec(), pick in 0usize..64) {
            let inv = build(&spec);
            let before = admission::evaluate(&inv);
            let failed: HashSet<String> = [inv.hosts[pick % inv.hosts.len()].id.clone()].into();
            let after = admission::evaluate_with_failed(&inv, &failed).unwrap();
            if let (Some(b), Some(a)) = (before.figures.current_failover_level, after.figures.current_failover_level) {
                prop_assert!(a <= b, "{b} -> {a}");
            }
            prop_assert!(after.counted_hosts.len() <= before.counted_hosts.len());
        }

        #[test]
        fn percentages_are_at_most_100(spec in spec()) {
            let r = admission::evaluate(&build(&spec));
            for p in [r.figures.cpu_failover_percent, r.figures.memory_failover_percent].into_iter().flatten() {
                prop_assert!(p <= 100.0 && !p.is_nan(), "{p}");
            }
        }

        #[test]
        fn report_ignores_input_order(spec in spec(), seed in any::<u64>()) {
            let base = normalized(admission::evaluate(&build(&spec)));
            let host_order = permutation(spec.hosts.len(), seed);
            let vm_order = permutation(spec.vms.len(), seed ^ 0x9e37_79b9_7f4a_7c15);
            let text = render(&spec, &host_order, &vm_order);
            let shuffled = normalized(admission::evaluate(&from_json_str(&text).unwrap()));
            prop_assert_eq!(base, shuffled);
        }

        #[test]
        fn successive_operations_match_full_re_evaluation(
            spec in spec(),
            ops in prop::collection::vec((0u8..3, 0usize..64, 0u64..4000, 0u64..4096), 1..12),
        ) {
            let mut inv = build(&spec);
            let original = inv.clone();
            let mut ctx = admission::AdmissionContext::new(&original);
            for (n, (kind, pick, cpu, mem)) in ops.into_iter().enumerate() {
                let op = match kind {
                    0 => match counted_host(&inv, pick) {
                        Some(h) => Operation::PowerOn(new_vm(&format!("new-{n}"), Some(&h), cpu, mem, 5)),
                        None => continue,
                    },
                    1 => match counted_host(&inv, pick) {
                        Some(h) => Operation::MigrateIn(new_vm(&format!("mig-{n}"), Some(&h), cpu, mem, 0)),
                        None => continue,
                    },
                    _ => {
                        let id = inv.vms[pick % inv.vms.len().max(1)..].first().map(|v| v.id.clone());
                        match id {
                            Some(vm) => Operation::ChangeReservation { vm, cpu_reservation_mhz: cpu, memory_reservation_mb: mem },
                            None => continue,
                        }
                    }
                };
                let d = ctx.apply(&op).unwrap();
                inv = op.apply_to(&inv).unwrap();
                let reference = admission::evaluate(&inv);
                prop_assert_eq!(d.after, reference.figures);
                prop_assert_eq!(ctx.figures(), reference.figures);
                prop_assert_eq!(ctx.report(), reference);
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// R-AC-MAINT: entering maintenance mode or standby
// ---------------------------------------------------------------------------------------------

mod maintenance {
    use super::*;
    use hapolicy::maintenance::{check_enter_maintenance, HostMode, Move};
    use hapolicy::placement::UnplacedReason;

    fn moves(m: &[Move]) -> Vec<(&str, &str)> {
        m.iter().map(|m| (m.vm.as_str(), m.to.as_str())).collect()
    }

    #[test]
    fn guide_cluster_refuses_every_host_at_level_one() {
        // Guide: slot 2000/2048, host slots 4/3/3, used 5, level 1.
        // host-1 enters: vm-1 and vm-2 (2000/1024 each) move. Unreserved memory host-2
        // 6144 − 3072 = 3072, host-3 6144 − 1024 = 5120: vm-1 → host-3 (4096 left vs 2048), vm-2
        // → host-3 (3072 left vs 2048). Without host-1: 3 + 3 = 6 slots, used 5; losing host-2
        // (tie, smaller id) leaves 3 < 5 → level 0 < 1: refused.
        let inv = guide(SLOT1, &[]);
        let d = check_enter_maintenance(&inv, "host-1", HostMode::Maintenance).unwrap();
        assert_eq!(moves(&d.moves), vec![("vm-1", "host-3"), ("vm-2", "host-3")]);
        assert!(d.unmovable.is_empty());
        assert!(!d.decision.allowed);
        assert_eq!(d.decision.before.current_failover_level, Some(1));
        assert_eq!(d.decision.after.current_failover_level, Some(0));
        assert_eq!((d.decision.after.total_slots, d.decision.after.used_slots), (Some(6), Some(5)));
        assert!(d.decision.reason.starts_with("host-1 may not enter maintenance mode"), "{}", d.decision.reason);
        assert!(d.decision.reason.contains("current failover level 1 → 0 (configured 1)"), "{}", d.decision.reason);
        // host-2 or host-3 enters: host-1 (4) + the other (3) = 7 slots; losing host-1 leaves 3
        // < 5 → level 0: refused too.
        for h in ["host-2", "host-3"] {
            let d = check_enter_maintenance(&inv, h, HostMode::Standby).unwrap();
            assert!(d.unmovable.is_empty() && !d.decision.allowed, "{h}: {}", d.decision.reason);
            assert_eq!((d.decision.after.total_slots, d.decision.after.current_failover_level), (Some(7), Some(0)));
        }
        // With host_failures 0 the policy still holds without host-1 (6 slots ≥ 5 used).
        let inv = guide(r#"{"policy":"slot","host_failures":0}"#, &[]);
        assert!(check_enter_maintenance(&inv, "host-1", HostMode::Maintenance).unwrap().decision.allowed);
    }

    #[test]
    fn percentage_policy_allows_when_the_rest_suffices() {
        // Guide, 25 % / 25 %. host-3 (6000 MHz / 6144 MB) enters: total 18000 MHz / 15360 MB;
        // required 7000 / 6144 → CPU (18000 − 7000)/18000 = 61.11 %, memory (15360 − 6144)/15360
        // = 60 % ≥ 25 %: allowed. vm-5 (1000/1024) → host-1 (9216 − 4096 − 1024 = 4096 left vs
        // host-2 6144 − 3072 − 1024 = 2048).
        let inv = guide(r#"{"policy":"percentage","cpu_percent":25,"memory_percent":25}"#, &[]);
        let d = check_enter_maintenance(&inv, "host-3", HostMode::Maintenance).unwrap();
        assert_eq!(moves(&d.moves), vec![("vm-5", "host-1")]);
        assert!(d.decision.allowed, "{}", d.decision.reason);
        assert_close(d.decision.after.cpu_failover_percent, 11000.0 / 18000.0 * 100.0);
        assert_close(d.decision.after.memory_failover_percent, 60.0);
        assert!(
            d.decision.reason.contains("61.11 %") && d.decision.reason.contains("60.00 %"),
            "{}",
            d.decision.reason
        );
        // At 65 % memory the rest no longer suffices: refused.
        let inv = guide(r#"{"policy":"percentage","cpu_percent":25,"memory_percent":65}"#, &[]);
        assert!(!check_enter_maintenance(&inv, "host-3", HostMode::Maintenance).unwrap().decision.allowed);
    }

    #[test]
    fn unmovable_vms_refuse_even_without_admission_control() {
        // host-2 has 10000 − 5000 = 5000 MB unreserved: vm-big (8000 MB) cannot move; vm-small
        // (1000 MB) can.
        let hosts = vec![host("host-1", 10000, 10000), host("host-2", 10000, 10000)];
        let vms =
            vec![vm("vm-big", "host-1", 0, 8000), vm("vm-small", "host-1", 0, 1000), vm("vm-3", "host-2", 0, 5000)];
        let inv = inventory(r#"{"policy":"disabled"}"#, &[], &hosts, &vms);
        let d = check_enter_maintenance(&inv, "host-1", HostMode::Maintenance).unwrap();
        assert!(!d.decision.allowed);
        assert_eq!(
            d.unmovable.iter().map(|u| (u.vm.as_str(), u.reason)).collect::<Vec<_>>(),
            vec![("vm-big", UnplacedReason::InsufficientResources)]
        );
        assert_eq!(moves(&d.moves), vec![("vm-small", "host-2")]);
        assert!(
            d.decision.reason.contains(
                "1 running VM cannot be moved to the remaining hosts by reservation: vm-big (insufficientResources)"
            ),
            "{}",
            d.decision.reason
        );
        // host-2's vm-3 (5000 MB) cannot move either: host-1 has 10000 − 9000 = 1000 MB left.
        let d = check_enter_maintenance(&inv, "host-2", HostMode::Maintenance).unwrap();
        assert_eq!(d.unmovable.len(), 1);
        assert!(!d.decision.allowed);
    }

    #[test]
    fn failover_hosts_take_no_migrations_and_may_not_leave() {
        // failoverHosts [host-3]: host-1's vm-1 (3000 MB) must go to host-2 (not the empty
        // failover host-3, although it has more unreserved memory).
        let hosts = vec![host("host-1", 10000, 10000), host("host-2", 10000, 8000), host("host-3", 10000, 10000)];
        let vms = vec![vm("vm-1", "host-1", 0, 3000)];
        let inv = inventory(r#"{"policy":"failoverHosts","hosts":["host-3"]}"#, &[], &hosts, &vms);
        let d = check_enter_maintenance(&inv, "host-1", HostMode::Maintenance).unwrap();
        assert_eq!(moves(&d.moves), vec![("vm-1", "host-2")]);
        assert!(d.decision.allowed, "{}", d.decision.reason);
        let d = check_enter_maintenance(&inv, "host-3", HostMode::Maintenance).unwrap();
        assert!(!d.decision.allowed && d.decision.reason.contains("dedicated failover host"), "{}", d.decision.reason);
    }

    #[test]
    fn errors_are_not_refusals() {
        let mut hosts = guide_hosts();
        hosts.push(host_x("host-4", 1000, 1024, r#","maintenance":true"#));
        hosts.push(host_x("host-5", 1000, 1024, r#","state":"notResponding""#));
        let inv = inventory(SLOT1, &[], &hosts, &guide_vms());
        for (h, text) in [("host-4", "already in maintenance mode"), ("host-5", "not responding"), ("host-9", "host-9")]
        {
            match check_enter_maintenance(&inv, h, HostMode::Maintenance) {
                Err(e) => assert!(e.to_string().contains(text), "{h}: {e}"),
                Ok(d) => panic!("{h}: {d:?}"),
            }
        }
        assert!(HostMode::parse("vacation").is_err());
    }
}

// ---------------------------------------------------------------------------------------------
// R-AC-PERF: performance degradation VMs tolerate
// ---------------------------------------------------------------------------------------------

mod performance_degradation {
    use super::*;

    fn using(id: &str, host: &str, cpu_usage: u64, mem_usage: u64) -> String {
        vm_x(
            id,
            Some(host),
            "poweredOn",
            500,
            1000,
            0,
            &format!(r#","cpu_usage_mhz":{cpu_usage},"memory_usage_mb":{mem_usage}"#),
        )
    }

    fn three_hosts() -> Vec<String> {
        vec![host("host-1", 10000, 10000), host("host-2", 10000, 10000), host("host-3", 10000, 10000)]
    }

    fn slot(p: u32) -> String {
        format!(r#"{{"policy":"slot","host_failures":1,"resource_reduction_to_tolerate_percent":{p}}}"#)
    }

    /// Three VMs using 7000 MHz / 3000 MB each: demand 21000 MHz / 9000 MB. Losing one of three
    /// 10000/10000 hosts leaves 20000 / 20000. CPU reduction = (21000 − 20000)/21000 = 4.76 %.
    fn busy() -> Vec<String> {
        vec![
            using("vm-1", "host-1", 7000, 3000),
            using("vm-2", "host-2", 7000, 3000),
            using("vm-3", "host-3", 7000, 3000),
        ]
    }

    #[test]
    fn warning_follows_demand_times_one_minus_p() {
        let check = |p: u32| {
            admission::evaluate(&inventory(&slot(p), &[], &three_hosts(), &busy())).performance_degradation.unwrap()
        };
        let d = check(0);
        assert_eq!((d.demand_cpu_mhz, d.demand_memory_mb), (21000, 9000));
        assert_eq!((d.remaining_cpu_mhz, d.remaining_memory_mb), (20000, 20000));
        assert_eq!(d.vms_without_usage, 0);
        assert!((d.cpu_reduction_percent - 1000.0 / 21000.0 * 100.0).abs() < TOL);
        assert_eq!(d.memory_reduction_percent, 0.0);
        // p = 0: warn as soon as demand (21000) exceeds what is left (20000); memory is fine.
        assert!(d.cpu_warning && !d.memory_warning && d.warning());
        // p = 4: 21000 × 0.96 = 20160 > 20000 → warning; p = 5: 19950 ≤ 20000 → none.
        assert!(check(4).cpu_warning);
        assert!(!check(5).cpu_warning && !check(5).warning());
        // p = 100: never.
        assert!(!check(100).warning());
        let r = admission::evaluate(&inventory(&slot(0), &[], &three_hosts(), &busy()));
        assert!(r.figures.satisfied, "a warning figure, never a block");
        assert!(r.to_text().contains("performance degradation (R-AC-PERF): WARNING"), "{}", r.to_text());
    }

    #[test]
    fn vms_without_usage_count_their_reservation() {
        // vm-4 has no usage figures: it counts its reservation (500 MHz, 1000 MB).
        let mut vms = busy();
        vms.push(vm("vm-4", "host-1", 500, 1000));
        let r = admission::evaluate(&inventory(&slot(50), &[], &three_hosts(), &vms));
        let d = r.performance_degradation.unwrap();
        assert_eq!((d.demand_cpu_mhz, d.demand_memory_mb, d.vms_without_usage), (21500, 10000, 1));
        assert!(d.summary().contains("1 VM without usage figures counted by reservation"), "{}", d.summary());
    }

    #[test]
    fn the_largest_hosts_per_resource() {
        // host-1 20000 MHz / 5000 MB, host-2 5000 / 20000, host-3 10000 / 10000; one failure:
        // CPU left 5000 + 10000 (host-1 removed), memory left 5000 + 10000 (host-2 removed).
        let hosts = vec![host("host-1", 20000, 5000), host("host-2", 5000, 20000), host("host-3", 10000, 10000)];
        let d = admission::evaluate(&inventory(&slot(0), &[], &hosts, &busy())).performance_degradation.unwrap();
        assert_eq!((d.remaining_cpu_mhz, d.remaining_memory_mb), (15000, 15000));
        assert!(d.cpu_warning && !d.memory_warning);
    }

    #[test]
    fn other_policies() {
        // Explicit 25 % / 25 %: 30000 × 0.75 = 22500 left; 21000 ≤ 22500 even at p = 0.
        let pct = r#"{"policy":"percentage","cpu_percent":25,"memory_percent":25,"resource_reduction_to_tolerate_percent":0}"#;
        let d = admission::evaluate(&inventory(pct, &[], &three_hosts(), &busy())).performance_degradation.unwrap();
        assert_eq!((d.remaining_cpu_mhz, d.remaining_memory_mb), (22500, 22500));
        assert!(!d.warning());
        // Failover host host-3 removed: 20000 left; 21000 > 20000 at p = 0.
        let fh = r#"{"policy":"failoverHosts","hosts":["host-3"],"resource_reduction_to_tolerate_percent":0}"#;
        let vms = vec![using("vm-1", "host-1", 10500, 3000), using("vm-2", "host-2", 10500, 3000)];
        let d = admission::evaluate(&inventory(fh, &[], &three_hosts(), &vms)).performance_degradation.unwrap();
        assert_eq!(d.remaining_cpu_mhz, 20000);
        assert!(d.cpu_warning);
        // Not configured, or admission control disabled: no figures.
        assert!(admission::evaluate(&inventory(SLOT1, &[], &three_hosts(), &busy())).performance_degradation.is_none());
        let off = r#"{"policy":"disabled","resource_reduction_to_tolerate_percent":0}"#;
        assert!(admission::evaluate(&inventory(off, &[], &three_hosts(), &busy())).performance_degradation.is_none());
    }

    #[test]
    fn parsing() {
        let text = |version: &str, p: &str| {
            format!(
                r#"{{"cluster":{{"version":"{version}","admission_control":{{"policy":"slot","host_failures":1,"resource_reduction_to_tolerate_percent":{p}}}}},
                    "hosts":[{}],"datastores":[{{"id":"ds-1"}}],"vms":[]}}"#,
                three_hosts().join(",")
            )
        };
        let inv = from_json_str(&text("8.0", "30")).unwrap();
        assert_eq!(inv.cluster.resource_reduction_to_tolerate_percent, Some(30));
        let round = hapolicy::serialize::to_value(&inv);
        assert_eq!(round["cluster"]["admission_control"]["resource_reduction_to_tolerate_percent"], 30);
        for (version, p, message) in [("8.0", "101", "out of range"), ("6.0", "30", "6.5 or later")] {
            let e = from_json_str(&text(version, p)).unwrap_err().to_string();
            assert!(e.contains("resource_reduction_to_tolerate_percent") && e.contains(message), "{e}");
        }
    }
}
