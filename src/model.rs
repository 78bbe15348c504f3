//! The cluster inventory (docs/inventory.rst, R-INV-1): hosts, datastores, VMs, rules and the HA configuration.
//!
//! Values are plain data, validated once by [`crate::parse`]; every engine module reads them
//! through an [`Inventory`], which also keeps id → index maps so look-ups are O(1).

use std::collections::{BTreeMap, HashMap};
use std::sync::OnceLock;

use crate::error::Error;
use crate::options::AdvancedOptions;

/// Defines a string enumeration whose spelling is the vSphere API one.
macro_rules! api_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name { $($variant),+ }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The vSphere API spelling.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            /// Parses the vSphere API spelling (exact, case-sensitive).
            pub fn parse(text: &str) -> Option<Self> {
                match text { $($text => Some($name::$variant),)+ _ => None }
            }

            /// The allowed spellings, for error messages.
            pub fn allowed() -> String {
                [$($text),+].iter().map(|t| format!("'{t}'")).collect::<Vec<_>>().join(", ")
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}
pub(crate) use api_enum;

api_enum!(
    /// Host connection state as vCenter reports it.
    ConnectionState { Connected = "connected", Disconnected = "disconnected", NotResponding = "notResponding" }
);

api_enum!(
    /// VM power state.
    PowerState { PoweredOn = "poweredOn", PoweredOff = "poweredOff", Suspended = "suspended" }
);

api_enum!(
    /// Per-VM restart priority; `ClusterRestartPriority` defers to the cluster default.
    RestartPriority {
        Disabled = "disabled",
        Lowest = "lowest",
        Low = "low",
        Medium = "medium",
        High = "high",
        Highest = "highest",
        ClusterRestartPriority = "clusterRestartPriority",
    }
);

api_enum!(
    /// Isolation response; `ClusterIsolationResponse` defers to the cluster default.
    IsolationResponse {
        None = "none",
        PowerOff = "powerOff",
        Shutdown = "shutdown",
        ClusterIsolationResponse = "clusterIsolationResponse",
    }
);

api_enum!(
    /// Special VM roles that restart before every priority class (R-PLACE-1).
    VmRole { Agent = "agent", FtPrimary = "ftPrimary", FtSecondary = "ftSecondary" }
);

api_enum!(
    /// Datastore type.
    DatastoreType { Vmfs = "VMFS", Nfs = "NFS", Vsan = "vSAN", Vvol = "vVol" }
);

api_enum!(
    /// vSphere release whose HA behaviour is reproduced.
    Version {
        V5_0 = "5.0",
        V5_1 = "5.1",
        V5_5 = "5.5",
        V6_0 = "6.0",
        V6_5 = "6.5",
        V6_7 = "6.7",
        V7_0 = "7.0",
        V8_0 = "8.0",
    }
);

api_enum!(
    /// Admission control policy kind.
    AdmissionPolicyKind { Slot = "slot", Percentage = "percentage", FailoverHosts = "failoverHosts", Disabled = "disabled" }
);

api_enum!(
    /// Heartbeat datastore selection policy (R-HBDS).
    HbDsPolicy {
        AllFeasibleDs = "allFeasibleDs",
        UserSelectedDs = "userSelectedDs",
        AllFeasibleDsWithUserPreference = "allFeasibleDsWithUserPreference",
    }
);

api_enum!(
    /// Rule kind.
    RuleKind {
        VmAntiAffinity = "vmAntiAffinity",
        VmAffinity = "vmAffinity",
        VmHostMust = "vmHostMust",
        VmHostMustNot = "vmHostMustNot",
        VmHostShould = "vmHostShould",
        VmHostShouldNot = "vmHostShouldNot",
        VmDependsOn = "vmDependsOn",
    }
);

api_enum!(
    /// VM monitoring mode.
    VmMonitoringMode {
        Disabled = "vmMonitoringDisabled",
        VmMonitoringOnly = "vmMonitoringOnly",
        VmAndAppMonitoring = "vmAndAppMonitoring",
    }
);

api_enum!(
    /// VM monitoring sensitivity preset (R-VMMON).
    VmMonitoringSensitivity { Low = "low", Medium = "medium", High = "high", Custom = "custom" }
);

api_enum!(
    /// VMCP reaction to an all-paths-down or permanent-device-loss condition (R-VMCP).
    StorageProtection {
        Disabled = "disabled",
        Warning = "warning",
        RestartConservative = "restartConservative",
        RestartAggressive = "restartAggressive",
    }
);

api_enum!(
    /// VMCP reaction when APD clears before the VM was terminated.
    ApdClearedReaction { None = "none", Reset = "reset" }
);

impl Version {
    /// True from 5.1 on (isolation policy delay, clean-shutdown masking, …).
    pub fn at_least(self, other: Version) -> bool {
        self >= other
    }
}

impl RestartPriority {
    /// Rank of a resolved priority class: higher restarts first. `None` for `disabled`.
    pub fn rank(self) -> Option<u8> {
        match self {
            RestartPriority::Disabled | RestartPriority::ClusterRestartPriority => None,
            RestartPriority::Lowest => Some(1),
            RestartPriority::Low => Some(2),
            RestartPriority::Medium => Some(3),
            RestartPriority::High => Some(4),
            RestartPriority::Highest => Some(5),
        }
    }
}

/// An ESXi host of the cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Host {
    pub id: String,
    pub name: String,
    /// CPU capacity usable by VMs (root resource pool), MHz.
    pub cpu_mhz: u64,
    /// Memory capacity usable by VMs (root resource pool), MB.
    pub memory_mb: u64,
    /// Datastore ids the host can access.
    pub datastores: Vec<String>,
    /// Networks (port groups) the host offers; `None` = not modelled, every VM network fits.
    pub networks: Option<Vec<String>>,
    pub state: ConnectionState,
    pub maintenance: bool,
    pub standby: bool,
    /// Host-level `fdm.nodeGoodness` override (R-ELECT-1).
    pub goodness: Option<i64>,
    pub agent_vms_ready: bool,
    /// vSAN fault domain, rack or blade chassis: hosts that fail together (R-DOMAIN); `None`:
    /// the host is a domain of its own.
    pub fault_domain: Option<String>,
    /// Site of a stretched cluster (R-DOMAIN); `None`: not part of any site.
    pub site: Option<String>,
}

impl Host {
    /// Connected, not in maintenance or standby: counted by admission control, eligible for
    /// election and placement (failure is decided by the caller).
    pub fn is_available(&self) -> bool {
        self.state == ConnectionState::Connected && !self.maintenance && !self.standby
    }
}

/// A datastore.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Datastore {
    pub id: String,
    pub name: String,
    pub ds_type: DatastoreType,
    /// Array or NFS-server id; heartbeat selection spreads over backings.
    pub backing: Option<String>,
}

/// Per-VM VM-monitoring override.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct VmMonitoringOverride {
    pub mode: Option<VmMonitoringMode>,
    pub sensitivity: Option<VmMonitoringSensitivity>,
}

/// Per-VM VMCP override.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct VmcpOverride {
    pub apd: Option<StorageProtection>,
    pub pdl: Option<StorageProtection>,
}

/// A virtual machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vm {
    pub id: String,
    pub name: String,
    /// Current host; may be `None` when not powered on.
    pub host: Option<String>,
    pub power_state: PowerState,
    pub cpu_reservation_mhz: u64,
    pub memory_reservation_mb: u64,
    pub memory_overhead_mb: u64,
    /// Datastore holding the .vmx.
    pub home_datastore: String,
    /// Every datastore the VM's files use (always contains the home datastore).
    pub datastores: Vec<String>,
    pub networks: Vec<String>,
    pub restart_priority: RestartPriority,
    pub isolation_response: IsolationResponse,
    pub role: Option<VmRole>,
    /// Protected by HA; defaults to true when powered on.
    pub protected: bool,
    /// Powered off cleanly by a user (never restarted by HA).
    pub clean_power_off: bool,
    /// VMware Tools running (a `shutdown` response without Tools powers off at once).
    pub tools_running: bool,
    pub vm_monitoring: Option<VmMonitoringOverride>,
    pub vmcp: Option<VmcpOverride>,
    /// Orchestrated-restart overrides (R-ORCH): `ready_condition`, `post_ready_delay_s`,
    /// `restart_priority_timeout_s` (each `None`: the cluster's).
    pub orchestration: OrchestrationOverride,
    /// Current CPU demand (vCenter quick stats `overallCpuUsage`), for R-AC-PERF; `None` when
    /// unknown (the VM then counts its reservation).
    pub cpu_usage_mhz: Option<u64>,
    /// Current memory demand (quick stats `guestMemoryUsage`, active guest memory), for R-AC-PERF.
    pub memory_usage_mb: Option<u64>,
}

impl Vm {
    /// Memory a host must hold unreserved for this VM: reservation plus overhead.
    pub fn memory_demand_mb(&self) -> u64 {
        self.memory_reservation_mb + self.memory_overhead_mb
    }

    pub fn is_powered_on(&self) -> bool {
        self.power_state == PowerState::PoweredOn
    }
}

/// A DRS/HA rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub kind: RuleKind,
    pub name: String,
    pub enabled: bool,
    /// VMs the rule applies to (for `vmDependsOn`: the dependent VM, alone).
    pub vms: Vec<String>,
    /// Hosts of a VM-host rule (empty otherwise).
    pub hosts: Vec<String>,
    /// For `vmDependsOn`: the VMs that must be restarted first.
    pub depends_on: Vec<String>,
}

/// Admission control configuration (R-AC).
#[derive(Debug, Clone, PartialEq)]
pub enum AdmissionControl {
    /// "Host failures cluster tolerates"; optional fixed slot (`ClusterFixedSizeSlotPolicy`).
    Slot {
        host_failures: u32,
        slot_cpu_mhz: Option<u64>,
        slot_memory_mb: Option<u64>,
    },
    /// "Cluster resources reserved" with explicit percentages.
    Percentage {
        cpu_percent: f64,
        memory_percent: f64,
    },
    /// Percentages computed from a number of host failures (6.5+).
    PercentageAuto {
        host_failures: u32,
    },
    /// Dedicated failover hosts.
    FailoverHosts {
        hosts: Vec<String>,
    },
    Disabled,
}

impl AdmissionControl {
    pub fn kind(&self) -> AdmissionPolicyKind {
        match self {
            AdmissionControl::Slot { .. } => AdmissionPolicyKind::Slot,
            AdmissionControl::Percentage { .. } | AdmissionControl::PercentageAuto { .. } => {
                AdmissionPolicyKind::Percentage
            }
            AdmissionControl::FailoverHosts { .. } => AdmissionPolicyKind::FailoverHosts,
            AdmissionControl::Disabled => AdmissionPolicyKind::Disabled,
        }
    }
}

/// Heartbeat datastore configuration (R-HBDS).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeartbeatDatastoreConfig {
    pub policy: HbDsPolicy,
    pub preferred: Vec<String>,
}

/// The two sites of a stretched vSAN cluster (R-DOMAIN). The witness is no data host and is
/// not modelled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StretchedCluster {
    pub preferred_site: String,
    pub secondary_site: String,
}

/// vSAN settings of the cluster (R-DOMAIN).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct VsanConfig {
    pub enabled: bool,
    /// Stretched cluster: its preferred and secondary site (names used by `hosts[].site`).
    pub stretched: Option<StretchedCluster>,
}

api_enum!(
    /// DRS automation level (`ClusterDrsConfigInfo.defaultVmBehavior`); only `fullyAutomated`
    /// lets DRS act for HA during failover (R-PLACE-DRS).
    DrsAutomation {
        Manual = "manual",
        PartiallyAutomated = "partiallyAutomated",
        FullyAutomated = "fullyAutomated",
    }
);

/// DRS settings of the cluster (R-PLACE-DRS). Default: disabled, `fullyAutomated` (vCenter's
/// default level once DRS is turned on).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DrsConfig {
    pub enabled: bool,
    pub automation: DrsAutomation,
}

impl Default for DrsConfig {
    fn default() -> Self {
        DrsConfig { enabled: false, automation: DrsAutomation::FullyAutomated }
    }
}

impl DrsConfig {
    /// DRS enabled and fully automated: it migrates VMs (and, with DPM, wakes standby hosts)
    /// for HA during failover (R-PLACE-DRS).
    pub fn acts_for_ha(&self) -> bool {
        self.enabled && self.automation == DrsAutomation::FullyAutomated
    }
}

/// Distributed Power Management (R-PLACE-DRS): with DRS fully automated, standby hosts are
/// brought out of standby before a VM is declared unplaced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DpmConfig {
    pub enabled: bool,
}

api_enum!(
    /// When a restarted VM counts as ready for orchestrated restart (R-ORCH).
    ReadyCondition {
        None = "none",
        PoweredOn = "poweredOn",
        GuestHbStatusGreen = "guestHbStatusGreen",
        AppHbStatusGreen = "appHbStatusGreen",
    }
);

/// Cluster-wide orchestrated restart (R-ORCH, 6.5 and later): a VM is ready when its ready
/// condition holds, plus `post_ready_delay_s`; the next priority class waits for every VM of
/// the higher class to be ready, or `restart_priority_timeout_s` after that class was issued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrchestrationConfig {
    pub ready_condition: ReadyCondition,
    pub post_ready_delay_s: u64,
    pub restart_priority_timeout_s: u64,
}

impl Default for OrchestrationConfig {
    fn default() -> Self {
        OrchestrationConfig {
            ready_condition: ReadyCondition::None,
            post_ready_delay_s: 0,
            restart_priority_timeout_s: 600,
        }
    }
}

/// Per-VM orchestration overrides (R-ORCH); `None` takes the cluster's value.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OrchestrationOverride {
    pub ready_condition: Option<ReadyCondition>,
    pub post_ready_delay_s: Option<u64>,
    pub restart_priority_timeout_s: Option<u64>,
}

impl OrchestrationOverride {
    pub fn is_empty(&self) -> bool {
        *self == OrchestrationOverride::default()
    }
}

/// Cluster-wide VM monitoring settings (R-VMMON).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VmMonitoringConfig {
    pub mode: VmMonitoringMode,
    pub sensitivity: VmMonitoringSensitivity,
    /// Custom preset values (used when sensitivity is `custom`).
    pub failure_interval_s: Option<u64>,
    pub min_uptime_s: Option<u64>,
    pub max_resets: Option<u32>,
    pub max_resets_window_s: Option<u64>,
}

/// Cluster-wide VM Component Protection settings (R-VMCP).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VmcpConfig {
    pub apd: StorageProtection,
    pub pdl: StorageProtection,
    /// `vmTerminateDelayForAPDSec`.
    pub apd_delay_s: u64,
    pub apd_cleared: ApdClearedReaction,
}

/// The cluster's HA configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct ClusterConfig {
    pub name: String,
    pub version: Version,
    pub host_monitoring: bool,
    pub admission_control: AdmissionControl,
    /// Cluster default; never `clusterIsolationResponse`.
    pub isolation_response: IsolationResponse,
    /// Cluster default; never `clusterRestartPriority`.
    pub restart_priority: RestartPriority,
    /// Isolation addresses; empty = the management gateway only.
    pub isolation_addresses: Vec<String>,
    pub heartbeat_datastores: HeartbeatDatastoreConfig,
    pub vm_monitoring: VmMonitoringConfig,
    pub vmcp: VmcpConfig,
    /// vSAN and stretched-cluster settings (R-DOMAIN).
    pub vsan: VsanConfig,
    /// Orchestrated restart (R-ORCH, 6.5 and later).
    pub orchestration: OrchestrationConfig,
    /// DRS (R-PLACE-DRS): enabled and automation level.
    pub drs: DrsConfig,
    /// DPM (R-PLACE-DRS).
    pub dpm: DpmConfig,
    /// The `das.*` (and engine) options exactly as typed, plus their parsed values.
    pub advanced_options: AdvancedOptions,
    /// `admission_control.resource_reduction_to_tolerate_percent` (R-AC-PERF, 6.5+): the
    /// performance degradation VMs tolerate, 0–100; `None`: not configured (no warning).
    pub resource_reduction_to_tolerate_percent: Option<u32>,
}

/// A problem found in the input: where (`vms[17].host`) and what.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Problem {
    pub path: String,
    pub message: String,
}

impl Problem {
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        Problem { path: path.into(), message: message.into() }
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

/// How text shows hosts, VMs and datastores: `host-21 (esx-01)` when built from an inventory
/// ([`Inventory::labels`]), the bare id otherwise ([`Labels::IDS`]). Text only: structured
/// results always keep ids.
#[derive(Debug, Clone, Copy)]
pub struct Labels<'a>(Option<&'a Inventory>);

impl<'a> Labels<'a> {
    /// Bare ids (for callers without an inventory, and for byte-stable golden text).
    pub const IDS: Labels<'static> = Labels(None);

    pub fn host(&self, id: &str) -> String {
        self.0.map_or_else(|| id.to_string(), |inv| inv.host_label(id))
    }
    pub fn vm(&self, id: &str) -> String {
        self.0.map_or_else(|| id.to_string(), |inv| inv.vm_label(id))
    }
    pub fn datastore(&self, id: &str) -> String {
        self.0.map_or_else(|| id.to_string(), |inv| inv.datastore_label(id))
    }
    /// Labels of a list of host ids, joined with `, `.
    pub fn hosts<S: AsRef<str>>(&self, ids: &[S]) -> String {
        ids.iter().map(|h| self.host(h.as_ref())).collect::<Vec<_>>().join(", ")
    }
}

/// The one name look-up behind every `resolve_*`: a unique name gives its index.
fn resolve_name<'a>(
    index: &HashMap<String, Vec<usize>>,
    x: &str,
    kind: &'static str,
    id_of: impl Fn(usize) -> &'a str,
) -> Result<usize, Error> {
    match index.get(x).map(Vec::as_slice) {
        Some([i]) => Ok(*i),
        Some(several) if !several.is_empty() => Err(Error::AmbiguousName {
            kind,
            name: x.to_string(),
            candidates: several.iter().map(|&i| id_of(i).to_string()).collect(),
        }),
        _ => Err(Error::UnknownId { kind, id: x.to_string() }),
    }
}

/// A validated inventory. Build it with [`crate::parse`]; never mutate the vectors afterwards
/// (the id indexes would go stale) — derive a new inventory instead. The same holds for the
/// placement data derived on first use ([`Inventory::placement_base`]): edit a `clone()` (a clone
/// starts without derived data), not an inventory already planned on.
#[derive(Debug, Clone)]
pub struct Inventory {
    pub cluster: ClusterConfig,
    pub hosts: Vec<Host>,
    pub datastores: Vec<Datastore>,
    pub vms: Vec<Vm>,
    pub rules: Vec<Rule>,
    /// Non-fatal findings (unknown options, ignored fields, …), sorted by path.
    pub warnings: Vec<Problem>,
    host_index: HashMap<String, usize>,
    datastore_index: HashMap<String, usize>,
    vm_index: HashMap<String, usize>,
    /// Name → indexes, built on first use (most inventories are never looked up by name).
    names: NameIndexes,
    /// What every failover plan starts from, built on first use and shared by every plan.
    derived: Derived,
}

/// Data derived from an inventory on first use and kept with it: not compared (`PartialEq`),
/// not serialized, not copied by `clone()` — a copy may be edited before use, so it derives its
/// own.
#[derive(Default)]
struct Derived {
    placement: OnceLock<std::sync::Arc<crate::placement::PlacementBase>>,
}

impl Clone for Derived {
    fn clone(&self) -> Self {
        Derived::default()
    }
}

impl std::fmt::Debug for Derived {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Derived { .. }")
    }
}

/// Name → indexes of the objects of one kind that carry it, for [`Inventory::resolve_host`]
/// and friends. Built once per inventory, on the first look-up by name.
#[derive(Clone, Default)]
struct NameIndexes {
    hosts: OnceLock<HashMap<String, Vec<usize>>>,
    datastores: OnceLock<HashMap<String, Vec<usize>>>,
    vms: OnceLock<HashMap<String, Vec<usize>>>,
}

impl std::fmt::Debug for NameIndexes {
    /// Derived data in hash order: left out, so an inventory's `Debug` form stays the same
    /// whether or not it was looked up by name.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NameIndexes { .. }")
    }
}

/// Indexes by name of the objects with a name of their own (not empty, not their id).
fn name_index<'a>(items: impl Iterator<Item = (&'a str, &'a str)>) -> HashMap<String, Vec<usize>> {
    let mut map: HashMap<String, Vec<usize>> = HashMap::new();
    for (i, (id, name)) in items.enumerate() {
        if !name.is_empty() && name != id {
            map.entry(name.to_string()).or_default().push(i);
        }
    }
    map
}

/// `id (name)` when the object has a name of its own, else the id.
fn labelled(id: &str, name: &str) -> String {
    if name.is_empty() || name == id {
        id.to_string()
    } else {
        format!("{id} ({name})")
    }
}

impl PartialEq for Inventory {
    /// Equal when the data is equal; warnings and indexes are derived, not compared.
    fn eq(&self, other: &Self) -> bool {
        self.cluster == other.cluster
            && self.hosts == other.hosts
            && self.datastores == other.datastores
            && self.vms == other.vms
            && self.rules == other.rules
    }
}

impl Inventory {
    /// Assembles an inventory from parts that are already valid (ids unique, references
    /// resolved). The parser is the only caller that should need this.
    pub(crate) fn assemble(
        cluster: ClusterConfig,
        hosts: Vec<Host>,
        datastores: Vec<Datastore>,
        vms: Vec<Vm>,
        rules: Vec<Rule>,
        mut warnings: Vec<Problem>,
    ) -> Self {
        let index = |ids: Vec<&String>| -> HashMap<String, usize> {
            ids.into_iter().enumerate().map(|(i, id)| (id.clone(), i)).collect()
        };
        let host_index = index(hosts.iter().map(|h| &h.id).collect());
        let datastore_index = index(datastores.iter().map(|d| &d.id).collect());
        let vm_index = index(vms.iter().map(|v| &v.id).collect());
        warnings.sort();
        Inventory {
            cluster,
            hosts,
            datastores,
            vms,
            rules,
            warnings,
            host_index,
            datastore_index,
            vm_index,
            names: NameIndexes::default(),
            derived: Derived::default(),
        }
    }

    /// The placement index and the cluster state before any failure (R-PLACE-2), built on the
    /// first call and shared by every later plan on this inventory, from any thread. Building it
    /// is the one O(VMs) step of a plan; a plan then costs O(VMs moved × hosts). Running out of
    /// memory while building it is an [`Error::OutOfMemory`] (nothing is kept then).
    pub fn placement_base(&self) -> Result<std::sync::Arc<crate::placement::PlacementBase>, Error> {
        if let Some(base) = self.derived.placement.get() {
            if base.fits(self) {
                return Ok(std::sync::Arc::clone(base));
            }
            // The vectors were resized after the base was built (against the rule above): use a
            // fresh one rather than a stale one.
            return crate::placement::PlacementBase::try_new(self).map(std::sync::Arc::new);
        }
        let built = std::sync::Arc::new(crate::placement::PlacementBase::try_new(self)?);
        // Two threads may both build it; the first one stored wins, the other is dropped.
        Ok(std::sync::Arc::clone(self.derived.placement.get_or_init(|| built)))
    }

    /// The index of the host `x` names: its id, else its name when exactly one host carries
    /// it. [`Error::UnknownId`] when nothing matches, [`Error::AmbiguousName`] (listing the
    /// ids) when several hosts share the name. An id always wins over a name.
    pub fn resolve_host(&self, x: &str) -> Result<usize, Error> {
        // (The id must still be there: a copy whose vectors were edited has stale indexes.)
        if let Some(i) = self.host_idx(x).filter(|&i| self.hosts.get(i).is_some_and(|o| o.id == x)) {
            return Ok(i);
        }
        let index = self.names.hosts.get_or_init(|| name_index(self.hosts.iter().map(|h| (&*h.id, &*h.name))));
        resolve_name(index, x, "host", |i| &self.hosts[i].id)
    }

    /// Like [`Inventory::resolve_host`], for a VM.
    pub fn resolve_vm(&self, x: &str) -> Result<usize, Error> {
        // (The id must still be there: a copy whose vectors were edited has stale indexes.)
        if let Some(i) = self.vm_idx(x).filter(|&i| self.vms.get(i).is_some_and(|o| o.id == x)) {
            return Ok(i);
        }
        let index = self.names.vms.get_or_init(|| name_index(self.vms.iter().map(|v| (&*v.id, &*v.name))));
        resolve_name(index, x, "vm", |i| &self.vms[i].id)
    }

    /// Like [`Inventory::resolve_host`], for a datastore.
    pub fn resolve_datastore(&self, x: &str) -> Result<usize, Error> {
        // (The id must still be there: a copy whose vectors were edited has stale indexes.)
        if let Some(i) = self.datastore_idx(x).filter(|&i| self.datastores.get(i).is_some_and(|o| o.id == x)) {
            return Ok(i);
        }
        let index =
            self.names.datastores.get_or_init(|| name_index(self.datastores.iter().map(|d| (&*d.id, &*d.name))));
        resolve_name(index, x, "datastore", |i| &self.datastores[i].id)
    }

    /// The id of the host `x` names (see [`Inventory::resolve_host`]).
    pub fn resolve_host_id(&self, x: &str) -> Result<&str, Error> {
        self.resolve_host(x).map(|i| &*self.hosts[i].id)
    }

    /// The id of the VM `x` names (see [`Inventory::resolve_vm`]).
    pub fn resolve_vm_id(&self, x: &str) -> Result<&str, Error> {
        self.resolve_vm(x).map(|i| &*self.vms[i].id)
    }

    /// The id of the datastore `x` names (see [`Inventory::resolve_datastore`]).
    pub fn resolve_datastore_id(&self, x: &str) -> Result<&str, Error> {
        self.resolve_datastore(x).map(|i| &*self.datastores[i].id)
    }

    /// The datastore ids of `xs` (ids or unambiguous names) for calls that ignore unknown
    /// datastores (`unusable_datastores`): an entry that names nothing is kept as given, a name
    /// several datastores share is an [`Error::AmbiguousName`].
    pub fn datastore_ids_lenient<S: AsRef<str>>(
        &self,
        xs: impl IntoIterator<Item = S>,
    ) -> Result<std::collections::HashSet<String>, Error> {
        xs.into_iter()
            .map(|x| match self.resolve_datastore_id(x.as_ref()) {
                Ok(id) => Ok(id.to_string()),
                Err(e @ Error::AmbiguousName { .. }) => Err(e),
                Err(_) => Ok(x.as_ref().to_string()),
            })
            .collect()
    }

    /// What a reader sees for a host: `host-21 (esx-01)`, or the id alone when the host has
    /// no name of its own; an unknown id unchanged.
    pub fn host_label(&self, id: &str) -> String {
        self.host(id).map_or_else(|| id.to_string(), |h| labelled(&h.id, &h.name))
    }

    /// Like [`Inventory::host_label`], for a VM.
    pub fn vm_label(&self, id: &str) -> String {
        self.vm(id).map_or_else(|| id.to_string(), |v| labelled(&v.id, &v.name))
    }

    /// Like [`Inventory::host_label`], for a datastore.
    pub fn datastore_label(&self, id: &str) -> String {
        self.datastore(id).map_or_else(|| id.to_string(), |d| labelled(&d.id, &d.name))
    }

    /// [`Labels`] drawing names from this inventory.
    pub fn labels(&self) -> Labels<'_> {
        Labels(Some(self))
    }

    /// The label of whatever `id` is (host, else VM, else datastore); unknown → unchanged.
    pub fn label(&self, id: &str) -> String {
        if let Some(h) = self.host(id) {
            labelled(&h.id, &h.name)
        } else if let Some(v) = self.vm(id) {
            labelled(&v.id, &v.name)
        } else if let Some(d) = self.datastore(id) {
            labelled(&d.id, &d.name)
        } else {
            id.to_string()
        }
    }

    pub fn host_idx(&self, id: &str) -> Option<usize> {
        self.host_index.get(id).copied()
    }
    pub fn datastore_idx(&self, id: &str) -> Option<usize> {
        self.datastore_index.get(id).copied()
    }
    pub fn vm_idx(&self, id: &str) -> Option<usize> {
        self.vm_index.get(id).copied()
    }
    pub fn host(&self, id: &str) -> Option<&Host> {
        self.host_idx(id).map(|i| &self.hosts[i])
    }
    pub fn datastore(&self, id: &str) -> Option<&Datastore> {
        self.datastore_idx(id).map(|i| &self.datastores[i])
    }
    pub fn vm(&self, id: &str) -> Option<&Vm> {
        self.vm_idx(id).map(|i| &self.vms[i])
    }

    /// The options in force (typed), e.g. `inv.options().vm_cpu_min_mhz`.
    pub fn options(&self) -> &crate::options::Options {
        &self.cluster.advanced_options.parsed
    }

    /// A VM's restart priority with `clusterRestartPriority` resolved.
    pub fn effective_restart_priority(&self, vm: &Vm) -> RestartPriority {
        match vm.restart_priority {
            RestartPriority::ClusterRestartPriority => self.cluster.restart_priority,
            p => p,
        }
    }

    /// A VM's isolation response with `clusterIsolationResponse` resolved.
    pub fn effective_isolation_response(&self, vm: &Vm) -> IsolationResponse {
        match vm.isolation_response {
            IsolationResponse::ClusterIsolationResponse => self.cluster.isolation_response,
            r => r,
        }
    }

    /// Indexes of the VMs currently placed on each host (by host index), in VM order.
    pub fn vms_by_host(&self) -> Vec<Vec<usize>> {
        let mut by_host = vec![Vec::new(); self.hosts.len()];
        for (i, vm) in self.vms.iter().enumerate() {
            if let Some(h) = vm.host.as_deref().and_then(|h| self.host_idx(h)) {
                by_host[h].push(i);
            }
        }
        by_host
    }

    /// Counts of things, for summaries.
    pub fn summary(&self) -> BTreeMap<&'static str, usize> {
        let mut s = BTreeMap::new();
        s.insert("hosts", self.hosts.len());
        s.insert("datastores", self.datastores.len());
        s.insert("vms", self.vms.len());
        s.insert("powered_on_vms", self.vms.iter().filter(|v| v.is_powered_on()).count());
        s.insert("rules", self.rules.len());
        s
    }
}
