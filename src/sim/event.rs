//! Simulation events (the Python API's `Simulation` timeline): what happened, when, where, and the timeline text.

use serde_json::{json, Value};

use crate::model::Labels;

/// What an [`Event`] records. The spelling ([`EventKind::as_str`]) is the API contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EventKind {
    /// A fault injected by the scenario (detail `{"type": "host_failure", ...}`).
    Fault,
    /// Hosts without a master start an election (detail `{"hosts": [...]}`).
    ElectionStarted,
    /// A host wins an election (host = the master; detail `{"hosts": [...]}`).
    MasterElected,
    /// A master gives way to a better-ranked master when partitions heal (detail `{"to": id}`).
    MasterAbdicated,
    /// A master stops hearing a slave's network heartbeats and starts pinging it.
    HostUnreachable,
    /// A master reports a host's state (detail `{"state": HostState, "master": id}`).
    HostState,
    /// A host declares itself isolated (poweron isolation flag set).
    IsolationDeclared,
    /// The isolation response for one VM (detail `{"action": ..., "reason": ...}`).
    IsolationResponse,
    /// A VM powered off after a guest shutdown (isolation response `shutdown`).
    VmPoweredOff,
    /// A restart attempt issued (host = target; detail `{"attempt": n}`).
    RestartAttempt,
    /// A restart attempt that did not power the VM on (detail `{"attempt": n, "reason": ...}`).
    RestartFailed,
    /// A restart attempt that powered the VM on (host = where).
    VmRestarted,
    /// No host can take the VM (detail `{"reason": UnplacedReason, "attempt": n}`, plus
    /// `drs_vmotions` and `drs_inactive` — `drsDisabled`, `drsNotFullyAutomated` or
    /// `vcenterUnavailable` — when that many DRS vMotions would have made room, R-PLACE-DRS).
    VmUnplaced,
    /// The last attempt failed (detail `{"attempts": n, "reason": "maxRestartCountReached"}`).
    RestartGaveUp,
    /// HA will not restart this VM (detail `{"reason": ...}`).
    VmNotRestarted,
    /// A host declares the APD timeout of a datastore (detail `{"datastore": id}`).
    ApdTimeout,
    /// VMCP terminated a VM (detail `{"datastore", "condition", "policy"}`, plus `"running_on"`
    /// when it was a split-brain copy of a VM running on that host: no restart follows).
    VmTerminated,
    /// VMCP decided not to terminate a VM (detail `{"reason": ...}`).
    VmcpNoAction,
    /// A VM reset (VM monitoring, or VMCP when APD clears).
    VmReset,
    /// VM monitoring would reset the VM but its reset budget is spent.
    VmResetSkipped,
    /// A VM runs on two hosts at once (isolation response `none` and the lock was lost).
    SplitBrain,
    /// hostd reports a VM's heartbeat status (R-VMMON; detail `{"heartbeat": "tools" |
    /// "application", "status": "yellow" | "red"}`).
    HeartbeatStatus,
    /// A restarted VM is ready for orchestrated restart (R-ORCH; detail `{"condition": ...}`).
    VmReady,
    /// vSAN quorum (R-DOMAIN): a vSAN datastore becomes inaccessible, or accessible again, on
    /// hosts (detail `{"datastore": id, "hosts": [...], "accessible": bool, "votes": n,
    /// "total_votes": n}`); losing it is an APD of the datastore on those hosts (R-VMCP).
    VsanAccess,
    /// DRS starts a vMotion to make room for a restart (R-PLACE-DRS; host = source, vm = the VM
    /// moved; detail `{"from", "to", "for_vm"}`).
    VmMigrationStarted,
    /// A DRS vMotion completed: the VM runs on `to` (host = destination; detail as started).
    VmMigrated,
    /// A DRS vMotion could not complete (detail as started plus `reason`: `hostFailed` when the
    /// destination failed, `vmNotRunning` when the VM stopped running on the source).
    VmMigrationFailed,
    /// DPM asked a standby host to exit standby for a restart (R-PLACE-DRS; vm = the VM it is
    /// for; detail `{"joins_at": seconds}`).
    HostExitStandbyRequested,
    /// A host left standby and joins the cluster (R-PLACE-DRS).
    HostExitedStandby,
}

impl EventKind {
    pub const ALL: &'static [EventKind] = &[
        EventKind::Fault,
        EventKind::ElectionStarted,
        EventKind::MasterElected,
        EventKind::MasterAbdicated,
        EventKind::HostUnreachable,
        EventKind::HostState,
        EventKind::IsolationDeclared,
        EventKind::IsolationResponse,
        EventKind::VmPoweredOff,
        EventKind::RestartAttempt,
        EventKind::RestartFailed,
        EventKind::VmRestarted,
        EventKind::VmUnplaced,
        EventKind::RestartGaveUp,
        EventKind::VmNotRestarted,
        EventKind::ApdTimeout,
        EventKind::VmTerminated,
        EventKind::VmcpNoAction,
        EventKind::VmReset,
        EventKind::VmResetSkipped,
        EventKind::SplitBrain,
        EventKind::HeartbeatStatus,
        EventKind::VmReady,
        EventKind::VsanAccess,
        EventKind::VmMigrationStarted,
        EventKind::VmMigrated,
        EventKind::VmMigrationFailed,
        EventKind::HostExitStandbyRequested,
        EventKind::HostExitedStandby,
    ];

    /// The API spelling (`master_elected`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Fault => "fault",
            EventKind::ElectionStarted => "election_started",
            EventKind::MasterElected => "master_elected",
            EventKind::MasterAbdicated => "master_abdicated",
            EventKind::HostUnreachable => "host_unreachable",
            EventKind::HostState => "host_state",
            EventKind::IsolationDeclared => "isolation_declared",
            EventKind::IsolationResponse => "isolation_response",
            EventKind::VmPoweredOff => "vm_powered_off",
            EventKind::RestartAttempt => "restart_attempt",
            EventKind::RestartFailed => "restart_failed",
            EventKind::VmRestarted => "vm_restarted",
            EventKind::VmUnplaced => "vm_unplaced",
            EventKind::RestartGaveUp => "restart_gave_up",
            EventKind::VmNotRestarted => "vm_not_restarted",
            EventKind::ApdTimeout => "apd_timeout",
            EventKind::VmTerminated => "vm_terminated",
            EventKind::VmcpNoAction => "vmcp_no_action",
            EventKind::VmReset => "vm_reset",
            EventKind::VmResetSkipped => "vm_reset_skipped",
            EventKind::SplitBrain => "split_brain",
            EventKind::HeartbeatStatus => "heartbeat_status",
            EventKind::VmReady => "vm_ready",
            EventKind::VsanAccess => "vsan_access",
            EventKind::VmMigrationStarted => "vm_migration_started",
            EventKind::VmMigrated => "vm_migrated",
            EventKind::VmMigrationFailed => "vm_migration_failed",
            EventKind::HostExitStandbyRequested => "host_exit_standby_requested",
            EventKind::HostExitedStandby => "host_exited_standby",
        }
    }

    /// Tie order at one instant (lower first; equal phases keep emission order): faults; elections;
    /// host states (a host leaving standby among them); actions on running VMs; completions of
    /// restart attempts and of vMotions; new restart attempts and their outcomes (vMotions
    /// started and standby exits requested for them among these).
    pub fn phase(self) -> u8 {
        match self {
            EventKind::Fault => 0,
            EventKind::ElectionStarted | EventKind::MasterElected | EventKind::MasterAbdicated => 1,
            EventKind::HostUnreachable
            | EventKind::HostState
            | EventKind::IsolationDeclared
            | EventKind::HeartbeatStatus
            | EventKind::VsanAccess
            | EventKind::HostExitedStandby => 2,
            EventKind::IsolationResponse
            | EventKind::VmPoweredOff
            | EventKind::ApdTimeout
            | EventKind::VmTerminated
            | EventKind::VmcpNoAction
            | EventKind::VmReset
            | EventKind::VmResetSkipped
            | EventKind::VmNotRestarted => 3,
            EventKind::RestartFailed
            | EventKind::SplitBrain
            | EventKind::VmRestarted
            | EventKind::VmReady
            | EventKind::VmMigrated
            | EventKind::VmMigrationFailed => 4,
            EventKind::RestartAttempt
            | EventKind::VmUnplaced
            | EventKind::RestartGaveUp
            | EventKind::VmMigrationStarted
            | EventKind::HostExitStandbyRequested => 5,
        }
    }

    pub fn parse(text: &str) -> Option<EventKind> {
        EventKind::ALL.iter().copied().find(|k| k.as_str() == text)
    }
}

impl std::fmt::Display for EventKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One thing that happened on the virtual clock.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// Seconds on the virtual clock.
    pub time: f64,
    pub kind: EventKind,
    pub host: Option<String>,
    pub vm: Option<String>,
    /// Always a JSON object (possibly empty).
    pub detail: Value,
}

fn s<'a>(detail: &'a Value, key: &str) -> &'a str {
    detail.get(key).and_then(Value::as_str).unwrap_or("")
}

fn n(detail: &Value, key: &str) -> String {
    detail.get(key).map(|v| v.to_string()).unwrap_or_default()
}

/// A list of host ids in `detail`, labelled.
fn list(detail: &Value, key: &str, labels: Labels<'_>) -> String {
    match detail.get(key).and_then(Value::as_array) {
        Some(items) => items
            .iter()
            .map(|v| v.as_str().map(|h| labels.host(h)).unwrap_or_else(|| v.to_string()))
            .collect::<Vec<_>>()
            .join(", "),
        None => String::new(),
    }
}

impl Event {
    /// Plain JSON data: `{"time", "kind", "host", "vm", "detail"}`.
    pub fn to_value(&self) -> Value {
        json!({"time": self.time, "kind": self.kind.as_str(), "host": self.host, "vm": self.vm, "detail": self.detail})
    }

    /// The timeline line with bare ids, e.g.
    /// `t=+18.0s host-12 hostDown (no network or datastore heartbeat)`.
    pub fn text(&self) -> String {
        self.text_with(Labels::IDS)
    }

    /// The timeline line with hosts, VMs and datastores shown by `labels`, e.g.
    /// `t=+18.0s host-12 (esx-12) hostDown (…)` with [`Inventory::labels`].
    pub fn text_with(&self, labels: Labels<'_>) -> String {
        let d = &self.detail;
        let host = self.host.as_deref().map_or_else(|| "-".to_string(), |h| labels.host(h));
        let vm = self.vm.as_deref().map_or_else(|| "-".to_string(), |v| labels.vm(v));
        let ds = |key: &str| labels.datastore(s(d, key));
        let body = match self.kind {
            EventKind::Fault => fault_text(self, labels),
            EventKind::ElectionStarted => format!("election started among {}", list(d, "hosts", labels)),
            EventKind::MasterElected => format!("{host} elected master of {}", list(d, "hosts", labels)),
            EventKind::MasterAbdicated => format!("{host} abdicates as master to {}", labels.host(s(d, "to"))),
            EventKind::HostUnreachable => {
                format!("{host} unreachable (no network heartbeat; pinging)")
            }
            EventKind::HostState => {
                let state = s(d, "state");
                let why = match state {
                    "hostDown" => "no network or datastore heartbeat",
                    "networkPartitionedFromMaster" => "datastore heartbeat, no isolation flag",
                    "networkIsolated" => "datastore heartbeat, isolation flag set",
                    "connectedToMaster" => "network heartbeat",
                    "fdmUnreachable" => "answers ping, agent silent",
                    _ => "",
                };
                if why.is_empty() {
                    format!("{host} {state}")
                } else {
                    format!("{host} {state} ({why})")
                }
            }
            EventKind::IsolationDeclared => {
                format!("{host} declares itself isolated (no isolation address answers)")
            }
            EventKind::IsolationResponse => {
                let reason = s(d, "reason");
                if reason.is_empty() {
                    format!("{vm} on {host} isolation response {}", s(d, "action"))
                } else {
                    format!("{vm} on {host} isolation response {} ({reason})", s(d, "action"))
                }
            }
            EventKind::VmPoweredOff => format!("{vm} on {host} powered off ({})", s(d, "reason")),
            EventKind::RestartAttempt => {
                format!("{vm} restart attempt {} on {host}", n(d, "attempt"))
            }
            EventKind::RestartFailed => {
                format!("{vm} restart attempt {} on {host} failed ({})", n(d, "attempt"), s(d, "reason"))
            }
            EventKind::VmRestarted => format!("{vm} restarted on {host}"),
            EventKind::VmUnplaced => {
                let mut text = format!("{vm} unplaced ({}), attempt {}", s(d, "reason"), n(d, "attempt"));
                if let Some(k) = d.get("drs_vmotions").and_then(Value::as_u64) {
                    let why = match s(d, "drs_inactive") {
                        "vcenterUnavailable" => "vCenter unavailable",
                        "drsDisabled" => "DRS disabled",
                        _ => "DRS not fully automated",
                    };
                    let moves = if k == 1 { "1 DRS vMotion".to_string() } else { format!("{k} DRS vMotions") };
                    text.push_str(&format!("; {moves} would have made room ({why})"));
                }
                text
            }
            EventKind::RestartGaveUp => {
                format!("{vm} restart gave up after {} attempts ({})", n(d, "attempts"), s(d, "reason"))
            }
            EventKind::VmNotRestarted => format!("{vm} not restarted ({})", s(d, "reason")),
            EventKind::ApdTimeout => format!("{host} APD timeout on {}", ds("datastore")),
            EventKind::VmTerminated => {
                let copy = match d.get("running_on").and_then(Value::as_str) {
                    Some(other) => format!("; duplicate copy, the VM runs on {}", labels.host(other)),
                    None => String::new(),
                };
                format!(
                    "{vm} on {host} terminated ({} on {}, {}{copy})",
                    s(d, "condition"),
                    ds("datastore"),
                    s(d, "policy")
                )
            }
            EventKind::VmcpNoAction => {
                format!("{vm} on {host} not terminated ({})", s(d, "reason"))
            }
            EventKind::VmReset => format!("{vm} on {host} reset ({})", s(d, "reason")),
            EventKind::VmResetSkipped => {
                format!("{vm} on {host} reset skipped ({})", s(d, "reason"))
            }
            EventKind::SplitBrain => {
                format!("{vm} split brain: running on {} and {host}", labels.host(s(d, "other_host")))
            }
            EventKind::HeartbeatStatus => {
                let which = if s(d, "heartbeat") == "application" { "application" } else { "VMware Tools" };
                format!("{vm} on {host} {which} heartbeat status {}", s(d, "status"))
            }
            EventKind::VmReady => match d.get("post_ready_delay_s").and_then(Value::as_f64).filter(|&x| x > 0.0) {
                Some(delay) => format!("{vm} on {host} ready ({} + {delay} s post-ready delay)", s(d, "condition")),
                None => format!("{vm} on {host} ready ({})", s(d, "condition")),
            },
            EventKind::VsanAccess => {
                let votes = format!(
                    "{} of {} vSAN votes",
                    d.get("votes").and_then(Value::as_u64).unwrap_or(0),
                    d.get("total_votes").and_then(Value::as_u64).unwrap_or(0)
                );
                if d.get("accessible").and_then(Value::as_bool) == Some(true) {
                    format!(
                        "{} accessible again on {} (vSAN quorum: {votes})",
                        ds("datastore"),
                        list(d, "hosts", labels)
                    )
                } else {
                    format!(
                        "{} inaccessible on {} (no vSAN quorum: {votes})",
                        ds("datastore"),
                        list(d, "hosts", labels)
                    )
                }
            }
            EventKind::VmMigrationStarted | EventKind::VmMigrated | EventKind::VmMigrationFailed => {
                let route = format!("from {} to {}", labels.host(s(d, "from")), labels.host(s(d, "to")));
                let why = format!("DRS, making room for {}", labels.vm(s(d, "for_vm")));
                match self.kind {
                    EventKind::VmMigrationStarted => format!("{vm} vMotion {route} started ({why})"),
                    EventKind::VmMigrated => format!("{vm} migrated {route} ({why})"),
                    _ => format!("{vm} vMotion {route} failed ({}; {why})", s(d, "reason")),
                }
            }
            EventKind::HostExitStandbyRequested => {
                let at = d.get("joins_at").and_then(Value::as_f64).unwrap_or(self.time);
                format!("{host} exit from standby requested (DPM, for {vm}; joins at t=+{at:.1}s)")
            }
            EventKind::HostExitedStandby => format!("{host} exited standby (DPM)"),
        };
        format!("t=+{:.1}s {body}", self.time)
    }
}

impl std::fmt::Display for Event {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text())
    }
}

fn fault_text(e: &Event, labels: Labels<'_>) -> String {
    let d = &e.detail;
    let kind = s(d, "type");
    let mut out = String::from("fault ");
    out.push_str(kind);
    match kind {
        "partition" | "site_partition" => {
            if let Some(groups) = d.get("groups").and_then(Value::as_array) {
                let sites = d.get("sites").and_then(Value::as_array);
                let parts: Vec<String> = groups
                    .iter()
                    .enumerate()
                    .map(|(i, g)| {
                        let ids: Vec<&str> =
                            g.as_array().map(|a| a.iter().filter_map(Value::as_str).collect()).unwrap_or_default();
                        match sites.and_then(|s| s.get(i)).and_then(Value::as_str) {
                            Some(site) => format!("{site} [{}]", labels.hosts(&ids)),
                            None => format!("[{}]", labels.hosts(&ids)),
                        }
                    })
                    .collect();
                out.push(' ');
                out.push_str(&parts.join(" "));
            }
        }
        "domain_failure" | "site_failure" => {
            let name = d.get("domain").or_else(|| d.get("site")).and_then(Value::as_str).unwrap_or_default();
            let ids: Vec<&str> = d
                .get("hosts")
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            out.push_str(&format!(" {name} [{}]", labels.hosts(&ids)));
        }
        "partition_end" | "power_outage" | "power_restore" | "vcenter_unavailable" | "vcenter_available" => {}
        _ => {
            for key in ["host", "vm", "datastore"] {
                let v = match key {
                    "host" => e.host.as_deref().map(|h| labels.host(h)),
                    "vm" => e.vm.as_deref().map(|v| labels.vm(v)),
                    _ => d.get("datastore").and_then(Value::as_str).map(|d| labels.datastore(d)),
                };
                if let Some(v) = v {
                    out.push(' ');
                    out.push_str(&v);
                }
            }
            if let Some(hosts) = d.get("hosts").and_then(Value::as_array) {
                let ids: Vec<&str> = hosts.iter().filter_map(Value::as_str).collect();
                out.push_str(&format!(" on [{}]", labels.hosts(&ids)));
            }
            if let Some(a) = d.get("attempts") {
                out.push_str(&format!(" x{a}"));
            }
            if d.get("application").and_then(Value::as_bool) == Some(true) {
                out.push_str(" (application heartbeats)");
            }
            if let Some(io) = d.get("io_until").and_then(Value::as_f64) {
                out.push_str(&format!(" (guest I/O until t=+{io:.1}s)"));
            }
        }
    }
    match (d.get("network").and_then(Value::as_str), d.get("no_effect").and_then(Value::as_bool)) {
        (Some(_), Some(true)) => out.push_str(" (management network only: HA uses the vSAN network, no effect)"),
        (Some("vsan"), _) => out.push_str(" (vSAN network)"),
        (Some(n), _) => out.push_str(&format!(" ({n} network)")),
        _ => {}
    }
    if let Some(r) = d.get("reachable_addresses").and_then(Value::as_array) {
        let addrs: Vec<&str> = r.iter().filter_map(Value::as_str).collect();
        if addrs.is_empty() {
            out.push_str(" (reaching no isolation address)");
        } else {
            out.push_str(&format!(" (reaching {})", addrs.join(", ")));
        }
    }
    out
}

/// Timeline text of a list of events, one line each, shown by `labels`.
pub fn timeline_text(events: &[Event], labels: Labels<'_>) -> String {
    let mut out = String::new();
    for e in events {
        out.push_str(&e.text_with(labels));
        out.push('\n');
    }
    out
}

/// Plain JSON data of a list of events (a list of [`Event::to_value`]).
pub fn events_to_value(events: &[Event]) -> Value {
    Value::Array(events.iter().map(Event::to_value).collect())
}
