//! Advanced options (`das.*`, `das.config.fdm.*`, and the engine's own `engine.*` keys).
//!
//! Values are kept exactly as typed in vCenter (strings). Known keys are matched
//! case-insensitively (vCenter does too), type-checked, and take effect through [`Options`];
//! unknown keys are kept and reported as warnings, never dropped.

use std::collections::BTreeMap;

use crate::model::{Problem, Version};

/// The typed values in force for one cluster (defaults: docs/rules/options.rst, per cluster version).
#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    /// `das.vmCpuMinMHz`: CPU counted for a VM without a larger reservation (R-AC).
    pub vm_cpu_min_mhz: u64,
    /// `das.vmMemoryMinMB`: memory floor of the slot (R-AC-SLOT).
    pub vm_memory_min_mb: u64,
    /// `das.slotCpuInMHz`: cap of the CPU slot.
    pub slot_cpu_cap_mhz: Option<u64>,
    /// `das.slotMemInMB`: cap of the memory slot.
    pub slot_memory_cap_mb: Option<u64>,
    /// `das.heartbeatDsPerHost` (2–5).
    pub heartbeat_ds_per_host: u32,
    /// `das.ignoreInsufficientHbDatastore`.
    pub ignore_insufficient_hb_datastore: bool,
    /// `das.isolationShutdownTimeout`, seconds.
    pub isolation_shutdown_timeout_s: f64,
    /// `das.maxFtVmsPerHost`.
    pub max_ft_vms_per_host: u32,
    /// `das.respectVmVmAntiAffinityRules` (default true from 6.5, false before).
    pub respect_vm_vm_anti_affinity: bool,
    /// `das.respectVmHostSoftAffinityRules` (default true from 6.5, false before).
    pub respect_vm_host_soft_affinity: bool,
    /// `das.maxvmrestartcount`: restart attempts in all.
    pub max_vm_restart_count: u32,
    /// `das.perHostConcurrentFailoversLimit`.
    pub per_host_concurrent_failovers_limit: u32,
    /// `das.maskCleanShutdownEnabled` (default true from 5.1, false in 5.0).
    pub mask_clean_shutdown: bool,
    /// `das.isolationaddress0`…`9`, in index order.
    pub isolation_addresses: Vec<String>,
    /// `das.usedefaultisolationaddress`.
    pub use_default_isolation_address: bool,
    /// `das.config.fdm.electionDuration`, seconds.
    pub election_duration_s: f64,
    /// `das.config.fdm.hostTimeout`, seconds.
    pub host_timeout_s: f64,
    /// `das.config.fdm.icmpPingTimeout`, seconds.
    pub icmp_ping_timeout_s: f64,
    /// `das.config.fdm.isolationPolicyDelaySec` (raised to 30; 0 in 5.0, where it does not exist).
    pub isolation_policy_delay_s: f64,
    /// `disk.terminateVMOnPDLDefault` (5.x PDL handling).
    pub terminate_vm_on_pdl_default: bool,
    /// `engine.heartbeatIntervalSec`.
    pub heartbeat_interval_s: f64,
    /// `engine.datastoreHeartbeatWatchStartSec`: when the master starts watching datastore heartbeats.
    pub ds_heartbeat_watch_start_s: f64,
    /// `engine.datastoreHeartbeatWatchSec`: how long it watches.
    pub ds_heartbeat_watch_s: f64,
    /// `engine.newMasterRestartDelaySec`: a new master's delay before restarting.
    pub new_master_restart_delay_s: f64,
    /// `engine.powerOnSeconds`: how long one power-on attempt takes.
    pub power_on_s: f64,
    /// `Misc.APDTimeout`: seconds from APD to the APD timeout.
    pub apd_timeout_s: f64,
    /// `engine.hostdPhaseSeconds`: the phase φ (1–29 s) of hostd's 30 s poll of VMware Tools
    /// heartbeats (R-VMMON).
    pub hostd_phase_s: f64,
    /// `das.iostatsInterval`: seconds of guest I/O history that hold a Tools-heartbeat reset
    /// back (R-VMMON).
    pub iostats_interval_s: f64,
    /// `engine.guestBootSeconds`: seconds from power-on to VMware Tools heartbeats green (R-ORCH).
    pub guest_boot_s: f64,
    /// `engine.appReadySeconds`: seconds from power-on to application heartbeats green (R-ORCH).
    pub app_ready_s: f64,
    /// `engine.admissionCountsFailedHosts` (default true, the HA Deepdive's reading): admission
    /// control counts a `notResponding` host that is still in the cluster (R-AC-0). `false`:
    /// only connected hosts count (the Availability Guide's reading).
    pub admission_counts_failed_hosts: bool,
    /// `engine.drsMaxMigrationsPerVm`: at most this many vMotions DRS makes to defragment the
    /// cluster for one restarted VM (R-PLACE-DRS); 0 disables defragmentation.
    pub drs_max_migrations_per_vm: u32,
    /// `engine.vMotionSeconds`: how long one DRS vMotion takes in a simulation (R-PLACE-DRS).
    pub v_motion_s: f64,
    /// `engine.standbyExitSeconds`: seconds from a DPM exit-standby request to the host joining
    /// the cluster in a simulation (R-PLACE-DRS).
    pub standby_exit_s: f64,
}

impl Options {
    /// Defaults (docs/rules/options.rst) for a cluster version.
    pub fn defaults(version: Version) -> Options {
        let is_5_0 = version == Version::V5_0;
        let at_least_6_5 = version.at_least(Version::V6_5);
        Options {
            vm_cpu_min_mhz: 32,
            vm_memory_min_mb: 0,
            slot_cpu_cap_mhz: None,
            slot_memory_cap_mb: None,
            heartbeat_ds_per_host: 2,
            ignore_insufficient_hb_datastore: false,
            isolation_shutdown_timeout_s: 300.0,
            max_ft_vms_per_host: 4,
            // vSphere 6.5 made HA respect these rules by default (Availability Guide 6.5,
            // "vSphere HA Advanced Options": default "true"); before, they were opt-in.
            respect_vm_vm_anti_affinity: at_least_6_5,
            respect_vm_host_soft_affinity: at_least_6_5,
            max_vm_restart_count: 5,
            per_host_concurrent_failovers_limit: 32,
            mask_clean_shutdown: !is_5_0,
            isolation_addresses: Vec::new(),
            use_default_isolation_address: true,
            election_duration_s: 15.0,
            host_timeout_s: 10.0,
            icmp_ping_timeout_s: 5.0,
            isolation_policy_delay_s: if is_5_0 { 0.0 } else { 30.0 },
            terminate_vm_on_pdl_default: false,
            heartbeat_interval_s: 1.0,
            ds_heartbeat_watch_start_s: 3.0,
            ds_heartbeat_watch_s: 15.0,
            new_master_restart_delay_s: 10.0,
            power_on_s: 1.0,
            apd_timeout_s: 140.0,
            hostd_phase_s: 1.0,
            iostats_interval_s: 120.0,
            guest_boot_s: 60.0,
            app_ready_s: 90.0,
            admission_counts_failed_hosts: true,
            drs_max_migrations_per_vm: 4,
            v_motion_s: 20.0,
            standby_exit_s: 300.0,
        }
    }
}

/// How a known option's text is read.
#[derive(Clone, Copy)]
enum Kind {
    /// Whole number in `min..=max`.
    Int {
        min: u64,
        max: u64,
    },
    Bool,
    /// Seconds, finite, in `min..=max`.
    Seconds {
        min: f64,
        max: f64,
    },
    /// Free text (addresses).
    Text,
}

type Setter = fn(&mut Options, Value, Version);

#[derive(Clone)]
enum Value {
    Int(u64),
    Bool(bool),
    Seconds(f64),
    Text(String),
}

impl Value {
    fn int(&self) -> u64 {
        if let Value::Int(v) = self {
            *v
        } else {
            0
        }
    }
    fn bool(&self) -> bool {
        matches!(self, Value::Bool(true))
    }
    fn seconds(&self) -> f64 {
        if let Value::Seconds(v) = self {
            *v
        } else {
            0.0
        }
    }
}

const BIG: u64 = 1 << 53;
const DAY: f64 = 86_400.0;

/// Every known option: canonical key, how it reads, where it goes. One entry per key.
const KNOWN: &[(&str, Kind, Setter)] = &[
    ("das.vmCpuMinMHz", Kind::Int { min: 0, max: BIG }, |o, v, _| o.vm_cpu_min_mhz = v.int()),
    ("das.vmMemoryMinMB", Kind::Int { min: 0, max: BIG }, |o, v, _| o.vm_memory_min_mb = v.int()),
    ("das.slotCpuInMHz", Kind::Int { min: 1, max: BIG }, |o, v, _| o.slot_cpu_cap_mhz = Some(v.int())),
    ("das.slotMemInMB", Kind::Int { min: 1, max: BIG }, |o, v, _| o.slot_memory_cap_mb = Some(v.int())),
    // why: every `as u32` in this table follows a range check (max <= 1_000_000) in `read`.
    ("das.heartbeatDsPerHost", Kind::Int { min: 2, max: 5 }, |o, v, _| o.heartbeat_ds_per_host = v.int() as u32),
    ("das.ignoreInsufficientHbDatastore", Kind::Bool, |o, v, _| o.ignore_insufficient_hb_datastore = v.bool()),
    ("das.isolationShutdownTimeout", Kind::Seconds { min: 0.0, max: DAY }, |o, v, _| {
        o.isolation_shutdown_timeout_s = v.seconds()
    }),
    ("das.maxFtVmsPerHost", Kind::Int { min: 0, max: 1024 }, |o, v, _| o.max_ft_vms_per_host = v.int() as u32),
    ("das.respectVmVmAntiAffinityRules", Kind::Bool, |o, v, _| o.respect_vm_vm_anti_affinity = v.bool()),
    ("das.respectVmHostSoftAffinityRules", Kind::Bool, |o, v, _| o.respect_vm_host_soft_affinity = v.bool()),
    ("das.maxvmrestartcount", Kind::Int { min: 1, max: 1000 }, |o, v, _| o.max_vm_restart_count = v.int() as u32),
    ("das.perHostConcurrentFailoversLimit", Kind::Int { min: 1, max: 1_000_000 }, |o, v, _| {
        o.per_host_concurrent_failovers_limit = v.int() as u32
    }),
    ("das.maskCleanShutdownEnabled", Kind::Bool, |o, v, _| o.mask_clean_shutdown = v.bool()),
    ("das.usedefaultisolationaddress", Kind::Bool, |o, v, _| o.use_default_isolation_address = v.bool()),
    ("das.isolationaddress0", Kind::Text, |o, v, _| push_address(o, v)),
    ("das.isolationaddress1", Kind::Text, |o, v, _| push_address(o, v)),
    ("das.isolationaddress2", Kind::Text, |o, v, _| push_address(o, v)),
    ("das.isolationaddress3", Kind::Text, |o, v, _| push_address(o, v)),
    ("das.isolationaddress4", Kind::Text, |o, v, _| push_address(o, v)),
    ("das.isolationaddress5", Kind::Text, |o, v, _| push_address(o, v)),
    ("das.isolationaddress6", Kind::Text, |o, v, _| push_address(o, v)),
    ("das.isolationaddress7", Kind::Text, |o, v, _| push_address(o, v)),
    ("das.isolationaddress8", Kind::Text, |o, v, _| push_address(o, v)),
    ("das.isolationaddress9", Kind::Text, |o, v, _| push_address(o, v)),
    ("das.config.fdm.electionDuration", Kind::Seconds { min: 1.0, max: DAY }, |o, v, _| {
        o.election_duration_s = v.seconds()
    }),
    ("das.config.fdm.hostTimeout", Kind::Seconds { min: 1.0, max: DAY }, |o, v, _| o.host_timeout_s = v.seconds()),
    ("das.config.fdm.icmpPingTimeout", Kind::Seconds { min: 0.0, max: DAY }, |o, v, _| {
        o.icmp_ping_timeout_s = v.seconds()
    }),
    ("das.config.fdm.isolationPolicyDelaySec", Kind::Seconds { min: 0.0, max: DAY }, |o, v, version| {
        // Values below 30 are raised to 30; 5.0 has no such delay at all.
        o.isolation_policy_delay_s = if version == Version::V5_0 { 0.0 } else { v.seconds().max(30.0) }
    }),
    ("disk.terminateVMOnPDLDefault", Kind::Bool, |o, v, _| o.terminate_vm_on_pdl_default = v.bool()),
    ("engine.heartbeatIntervalSec", Kind::Seconds { min: 0.001, max: 3600.0 }, |o, v, _| {
        o.heartbeat_interval_s = v.seconds()
    }),
    ("engine.datastoreHeartbeatWatchStartSec", Kind::Seconds { min: 0.0, max: DAY }, |o, v, _| {
        o.ds_heartbeat_watch_start_s = v.seconds()
    }),
    ("engine.datastoreHeartbeatWatchSec", Kind::Seconds { min: 0.0, max: DAY }, |o, v, _| {
        o.ds_heartbeat_watch_s = v.seconds()
    }),
    ("engine.newMasterRestartDelaySec", Kind::Seconds { min: 0.0, max: DAY }, |o, v, _| {
        o.new_master_restart_delay_s = v.seconds()
    }),
    ("engine.powerOnSeconds", Kind::Seconds { min: 0.001, max: DAY }, |o, v, _| o.power_on_s = v.seconds()),
    ("Misc.APDTimeout", Kind::Seconds { min: 20.0, max: DAY }, |o, v, _| o.apd_timeout_s = v.seconds()),
    ("engine.hostdPhaseSeconds", Kind::Seconds { min: 1.0, max: 29.0 }, |o, v, _| o.hostd_phase_s = v.seconds()),
    ("das.iostatsInterval", Kind::Seconds { min: 0.0, max: DAY }, |o, v, _| o.iostats_interval_s = v.seconds()),
    ("engine.guestBootSeconds", Kind::Seconds { min: 0.0, max: DAY }, |o, v, _| o.guest_boot_s = v.seconds()),
    ("engine.appReadySeconds", Kind::Seconds { min: 0.0, max: DAY }, |o, v, _| o.app_ready_s = v.seconds()),
    ("engine.admissionCountsFailedHosts", Kind::Bool, |o, v, _| o.admission_counts_failed_hosts = v.bool()),
    ("engine.drsMaxMigrationsPerVm", Kind::Int { min: 0, max: 8 }, |o, v, _| {
        // why: Kind::Int bounds the value to 0..=8.
        o.drs_max_migrations_per_vm = v.int() as u32
    }),
    ("engine.vMotionSeconds", Kind::Seconds { min: 0.001, max: DAY }, |o, v, _| o.v_motion_s = v.seconds()),
    ("engine.standbyExitSeconds", Kind::Seconds { min: 0.0, max: DAY }, |o, v, _| o.standby_exit_s = v.seconds()),
];

fn push_address(o: &mut Options, v: Value) {
    if let Value::Text(t) = v {
        o.isolation_addresses.push(t);
    }
}

/// The canonical spelling of a known key (matched case-insensitively), if known.
pub fn canonical_key(key: &str) -> Option<&'static str> {
    KNOWN.iter().map(|(k, _, _)| *k).find(|k| k.eq_ignore_ascii_case(key))
}

/// Every known key, canonical spelling.
pub fn known_keys() -> impl Iterator<Item = &'static str> {
    KNOWN.iter().map(|(k, _, _)| *k)
}

fn read(kind: Kind, text: &str) -> Result<Value, String> {
    let t = text.trim();
    match kind {
        Kind::Int { min, max } => match t.parse::<u64>() {
            Ok(v) if (min..=max).contains(&v) => Ok(Value::Int(v)),
            Ok(v) => Err(format!("{v} is out of range ({min} to {max})")),
            Err(_) => Err(format!("expected a whole number from {min} to {max}, got '{text}'")),
        },
        Kind::Bool => match t.to_ascii_lowercase().as_str() {
            "true" => Ok(Value::Bool(true)),
            "false" => Ok(Value::Bool(false)),
            _ => Err(format!("expected 'true' or 'false', got '{text}'")),
        },
        Kind::Seconds { min, max } => match t.parse::<f64>() {
            Ok(v) if v.is_finite() && v >= min && v <= max => Ok(Value::Seconds(v)),
            Ok(_) => Err(format!("expected seconds from {min} to {max}, got '{text}'")),
            Err(_) => Err(format!("expected a number of seconds, got '{text}'")),
        },
        Kind::Text => {
            if t.is_empty() {
                Err("expected a non-empty value".to_string())
            } else {
                Ok(Value::Text(t.to_string()))
            }
        }
    }
}

/// The advanced options of a cluster: as typed, and as parsed.
#[derive(Debug, Clone, PartialEq)]
pub struct AdvancedOptions {
    /// Exactly as typed (key → value), in key order.
    pub raw: BTreeMap<String, String>,
    /// Typed values in force.
    pub parsed: Options,
}

impl AdvancedOptions {
    /// Parses `raw` for a cluster `version`; invalid values of known keys are `errors`,
    /// unknown keys are `warnings`. Paths are rooted at `path` (`cluster.advanced_options`).
    pub fn parse(
        raw: BTreeMap<String, String>,
        version: Version,
        path: &str,
        errors: &mut Vec<Problem>,
        warnings: &mut Vec<Problem>,
    ) -> AdvancedOptions {
        let mut parsed = Options::defaults(version);
        // Isolation addresses apply in index order whatever the input order.
        let mut entries: Vec<(&'static str, &String, &String)> = Vec::new();
        let mut seen: BTreeMap<&'static str, &String> = BTreeMap::new();
        for (key, value) in &raw {
            let here = format!("{path}['{key}']");
            match canonical_key(key) {
                Some(canon) => {
                    if let Some(first) = seen.insert(canon, key) {
                        errors.push(Problem::new(
                            here,
                            format!("duplicate of '{first}' (option keys are case-insensitive)"),
                        ));
                        continue;
                    }
                    entries.push((canon, key, value));
                }
                None => warnings.push(Problem::new(
                    here,
                    "unknown advanced option: kept, but it has no effect in this engine".to_string(),
                )),
            }
        }
        entries.sort_by_key(|(canon, _, _)| KNOWN.iter().position(|(k, _, _)| k == canon));
        for (canon, key, value) in entries {
            // why: `canon` comes from `canonical_key`, which only returns keys of `KNOWN`.
            let (_, kind, setter) = KNOWN.iter().find(|(k, _, _)| *k == canon).expect("canonical key is known");
            match read(*kind, value) {
                Ok(v) => setter(&mut parsed, v, version),
                Err(msg) => errors.push(Problem::new(format!("{path}['{key}']"), msg)),
            }
        }
        AdvancedOptions { raw, parsed }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(pairs: &[(&str, &str)], version: Version) -> (AdvancedOptions, Vec<Problem>, Vec<Problem>) {
        let raw = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let (mut e, mut w) = (vec![], vec![]);
        let o = AdvancedOptions::parse(raw, version, "opts", &mut e, &mut w);
        (o, e, w)
    }

    #[test]
    fn defaults_follow_version() {
        assert!(!Options::defaults(Version::V5_0).mask_clean_shutdown);
        assert!(Options::defaults(Version::V5_1).mask_clean_shutdown);
        assert_eq!(Options::defaults(Version::V5_0).isolation_policy_delay_s, 0.0);
        assert_eq!(Options::defaults(Version::V8_0).isolation_policy_delay_s, 30.0);
    }

    #[test]
    fn keys_match_case_insensitively_and_values_are_typed() {
        let (o, e, w) =
            parse(&[("das.VMCPUMINMHZ", "64"), ("das.respectVmVmAntiAffinityRules", "TRUE")], Version::V8_0);
        assert!(e.is_empty() && w.is_empty());
        assert_eq!(o.parsed.vm_cpu_min_mhz, 64);
        assert!(o.parsed.respect_vm_vm_anti_affinity);
        assert_eq!(o.raw.get("das.VMCPUMINMHZ").map(String::as_str), Some("64"));
    }

    #[test]
    fn isolation_delay_is_raised_to_30() {
        let (o, _, _) = parse(&[("das.config.fdm.isolationPolicyDelaySec", "10")], Version::V6_7);
        assert_eq!(o.parsed.isolation_policy_delay_s, 30.0);
        let (o, _, _) = parse(&[("das.config.fdm.isolationPolicyDelaySec", "45")], Version::V6_7);
        assert_eq!(o.parsed.isolation_policy_delay_s, 45.0);
    }

    #[test]
    fn bad_values_are_errors_and_unknown_keys_warnings() {
        let (_, e, w) =
            parse(&[("das.heartbeatDsPerHost", "7"), ("das.vmCpuMinMHz", "abc"), ("das.fancy", "1")], Version::V8_0);
        assert_eq!(e.len(), 2);
        assert!(e.iter().any(|p| p.path == "opts['das.heartbeatDsPerHost']" && p.message.contains("out of range")));
        assert!(e.iter().any(|p| p.path == "opts['das.vmCpuMinMHz']" && p.message.contains("whole number")));
        assert_eq!(w.len(), 1);
        assert_eq!(w[0].path, "opts['das.fancy']");
    }

    #[test]
    fn isolation_addresses_in_index_order() {
        let (o, _, _) =
            parse(&[("das.isolationaddress1", "10.0.0.2"), ("das.isolationaddress0", "10.0.0.1")], Version::V8_0);
        assert_eq!(o.parsed.isolation_addresses, vec!["10.0.0.1", "10.0.0.2"]);
    }
}
