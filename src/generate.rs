//! Synthetic cluster inventories for benchmarks, scale tests and demos.
//!
//! [`synthetic`] builds a deterministic, realistic cluster from a [`GeneratorSpec`] (sizes and a
//! seed) with a small internal PRNG (splitmix64), so the same spec gives the same inventory on
//! every machine and every release of this crate that keeps the generator unchanged:
//!
//! - three host models (512 GB / 768 GB / 1.5 TB) mixed 40/40/20;
//! - shared VMFS datastores on three arrays (two seen by every host, the rest by ~90 % of hosts),
//!   a few NFS exports (~80 % of hosts), one vSAN datastore, and a local VMFS datastore on every
//!   eighth host;
//! - ~92 % of VMs powered on, ~6 % powered off (most still registered on a host), ~2 % suspended;
//!   ~30 % of VMs carry CPU and/or memory reservations; every VM has a memory overhead;
//! - restart priorities spread over every class, ~8 % `disabled`; a few isolation-response
//!   overrides;
//! - agent VMs (three vCLS VMs on 7.0+, "agent" VMs before), FT primary/secondary pairs on
//!   different hosts (one FT VM per host at most);
//! - rules: VM anti-affinity pairs and triples on distinct hosts, a few VM affinity pairs,
//!   VM-host must / should / must-not / should-not groups consistent with where the VMs run, and
//!   (6.5+) acyclic VM-to-VM dependencies;
//! - powered-on VMs are distributed over the hosts in proportion to host memory, and the
//!   reservations (memory including overhead) of the powered-on VMs on each host add up to
//!   40–70 % of its CPU and of its memory whenever the host runs enough VMs (a few dozen);
//!   every reservation fits its host, and no host is over-reserved, whatever the sizes.
//!
//! The output is valid by construction: `parse::from_value(&serialize::to_value(&inv))` gives it
//! back unchanged, with no problem and no warning (tested below).

// Indexing (panic audit): host indices are drawn below `hosts.len()` (`Rng::below`,
// `Weights::index_of`, `% n_hosts` only when there are hosts), VM indices come from the VMs
// pushed here, datastore positions from `datastores` as the hosts are made; constant tables are
// indexed with draws below their own length.

use std::collections::BTreeMap;

use crate::model::*;
use crate::options::AdvancedOptions;
use crate::rng::SplitMix64;

/// What to generate. `GeneratorSpec::default()` is the vSphere 7/8 cluster maximum:
/// 96 hosts, 10,000 VMs, seed 1, version 8.0.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeneratorSpec {
    pub hosts: usize,
    pub vms: usize,
    pub seed: u64,
    pub version: Version,
}

impl Default for GeneratorSpec {
    fn default() -> Self {
        GeneratorSpec { hosts: 96, vms: 10_000, seed: 1, version: Version::V8_0 }
    }
}

impl GeneratorSpec {
    /// A spec with the given sizes and seed, version 8.0.
    pub fn new(hosts: usize, vms: usize, seed: u64) -> Self {
        GeneratorSpec { hosts, vms, seed, version: Version::V8_0 }
    }
}

/// Builds the inventory described by `spec` (deterministic for a spec).
pub fn synthetic(spec: &GeneratorSpec) -> Inventory {
    Builder::new(spec).build()
}

/// The same inventory in the inventory format (docs/inventory.rst) (`serialize::to_value`).
pub fn synthetic_document(spec: &GeneratorSpec) -> serde_json::Value {
    crate::serialize::to_value(&synthetic(spec))
}

// ------------------------------------------------------------------------------------ PRNG

/// The generator's random source: [`SplitMix64`] plus the draws the generator needs.
#[derive(Debug, Clone)]
struct Rng(SplitMix64);

impl Rng {
    fn new(seed: u64) -> Self {
        Rng(SplitMix64::new(seed ^ 0x6861_706f_6c69_6379)) // "hapolicy": seed 0 does not start at state 0
    }

    fn next_u64(&mut self) -> u64 {
        self.0.next_u64()
    }

    /// Uniform in `0..n` (0 when `n` is 0).
    fn below(&mut self, n: usize) -> usize {
        self.0.below(n as u64) as usize
    }

    /// Uniform in `[0, 1)`.
    fn unit(&mut self) -> f64 {
        // why: constant divisor.
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// Index drawn with the given weights (which must not all be 0).
    fn weighted(&mut self, weights: &Weights) -> usize {
        let x = (self.unit() * weights.total() as f64) as u64;
        weights.index_of(x)
    }
}

/// Weights as running totals, so a draw is a binary search (one draw per VM over thousands of
/// hosts would otherwise make generation quadratic).
struct Weights {
    /// `ends[i]` = weights[0] + … + weights[i].
    ends: Vec<u64>,
}

impl Weights {
    fn new(weights: impl IntoIterator<Item = u32>) -> Self {
        let mut total = 0u64;
        Weights {
            ends: weights
                .into_iter()
                .map(|w| {
                    total += w as u64;
                    total
                })
                .collect(),
        }
    }

    fn total(&self) -> u64 {
        self.ends.last().copied().unwrap_or(0)
    }

    /// The index whose share of `0..total` holds `x` (the last index when `x` is past the end).
    fn index_of(&self, x: u64) -> usize {
        self.ends.partition_point(|&end| end <= x).min(self.ends.len().saturating_sub(1))
    }
}

// ------------------------------------------------------------------------------- catalogue

struct HostModel {
    /// Usable CPU (cores × MHz) and memory after the hypervisor's own share.
    cpu_mhz: u64,
    memory_mb: u64,
    weight: u32,
}

const HOST_MODELS: &[HostModel] = &[
    // 2 × 16 cores at 2.4 GHz, 512 GB.
    HostModel { cpu_mhz: 76_800, memory_mb: 516_096, weight: 40 },
    // 2 × 24 cores at 2.6 GHz, 768 GB.
    HostModel { cpu_mhz: 124_800, memory_mb: 776_192, weight: 40 },
    // 4 × 24 cores at 2.8 GHz, 1.5 TB.
    HostModel { cpu_mhz: 268_800, memory_mb: 1_556_480, weight: 20 },
];

const PORT_GROUPS: &[&str] =
    &["vm-network", "prod-vlan-10", "prod-vlan-20", "dmz-vlan-30", "backup-vlan-40", "vdi-vlan-50"];

const TIERS: &[&str] = &["web", "app", "db", "cache", "mq", "ci", "vdi", "ad", "mon", "etl", "file", "k8s"];

/// Restart priorities and their weights (per cent).
const PRIORITIES: &[(RestartPriority, u32)] = &[
    (RestartPriority::ClusterRestartPriority, 35),
    (RestartPriority::Highest, 5),
    (RestartPriority::High, 15),
    (RestartPriority::Medium, 15),
    (RestartPriority::Low, 15),
    (RestartPriority::Lowest, 7),
    (RestartPriority::Disabled, 8),
];

/// Memory reservations are whole multiples of this (MB), CPU reservations of `CPU_UNIT` (MHz).
const MEM_UNIT: u64 = 256;
const CPU_UNIT: u64 = 100;
/// FT VMs reserve all their memory; these are 2-vCPU / 8 GB VMs.
const FT_CPU: u64 = 2_000;
const FT_MEM: u64 = 8_192;
const FT_OVERHEAD: u64 = 220;

// ---------------------------------------------------------------------------------- builder

/// What a VM reserves.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Reserve {
    Nothing,
    Cpu,
    Memory,
    Both,
}

impl Reserve {
    fn cpu(self) -> bool {
        matches!(self, Reserve::Cpu | Reserve::Both)
    }
    fn memory(self) -> bool {
        matches!(self, Reserve::Memory | Reserve::Both)
    }
}

/// Which VMs are special.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Regular,
    Agent,
    Ft,
}

struct Builder<'a> {
    spec: &'a GeneratorSpec,
    rng: Rng,
    hosts: Vec<Host>,
    datastores: Vec<Datastore>,
    vms: Vec<Vm>,
    kinds: Vec<Kind>,
    reserve: Vec<Reserve>,
    rules: Vec<Rule>,
    /// Per host, the positions in `datastores` of its shared datastores (in the host's order)
    /// and of its local one: kept as the hosts are made, so no VM has to search for them.
    shared_of_host: Vec<Vec<usize>>,
    local_of_host: Vec<Option<usize>>,
    /// Positions of the datastores with a backing (array or filer).
    backed: Vec<usize>,
}

impl<'a> Builder<'a> {
    fn new(spec: &'a GeneratorSpec) -> Self {
        Builder {
            spec,
            rng: Rng::new(spec.seed),
            hosts: Vec::new(),
            datastores: Vec::new(),
            vms: Vec::new(),
            kinds: Vec::new(),
            reserve: Vec::new(),
            rules: Vec::new(),
            shared_of_host: Vec::new(),
            local_of_host: Vec::new(),
            backed: Vec::new(),
        }
    }

    fn build(mut self) -> Inventory {
        self.datastores_and_hosts();
        self.virtual_machines();
        self.reservations();
        self.make_rules();
        let cluster = self.cluster();
        Inventory::assemble(cluster, self.hosts, self.datastores, self.vms, self.rules, Vec::new())
    }

    fn datastores_and_hosts(&mut self) {
        let n_hosts = self.spec.hosts;
        // why: in this function every `/` and `%` has a constant divisor.
        let shared = (n_hosts / 6).max(2);
        let nfs = 1 + n_hosts / 48;
        let mut next_id = 101;
        let mut id = || {
            next_id += 1;
            format!("datastore-{}", next_id - 1)
        };
        for k in 0..shared {
            self.datastores.push(Datastore {
                id: id(),
                name: format!("vmfs-{:02}", k + 1),
                ds_type: DatastoreType::Vmfs,
                backing: Some(format!("array-{}", k % 3 + 1)),
            });
        }
        for k in 0..nfs {
            self.datastores.push(Datastore {
                id: id(),
                name: format!("nfs-{:02}", k + 1),
                ds_type: DatastoreType::Nfs,
                backing: Some(format!("filer-{}", k % 2 + 1)),
            });
        }
        let vsan = self.datastores.len();
        self.datastores.push(Datastore {
            id: id(),
            name: "vsanDatastore".to_string(),
            ds_type: DatastoreType::Vsan,
            backing: None,
        });
        let weights = Weights::new(HOST_MODELS.iter().map(|m| m.weight));
        for i in 0..n_hosts {
            let model = &HOST_MODELS[self.rng.weighted(&weights)];
            let mut seen = Vec::new();
            for k in 0..shared {
                if k < 2 || self.rng.chance(0.9) {
                    seen.push(k);
                }
            }
            for k in shared..shared + nfs {
                if self.rng.chance(0.8) {
                    seen.push(k);
                }
            }
            seen.push(vsan);
            let local = (i % 8 == 7).then(|| {
                self.datastores.push(Datastore {
                    id: id(),
                    name: format!("local-esx-{:03}", i + 1),
                    ds_type: DatastoreType::Vmfs,
                    backing: None,
                });
                self.datastores.len() - 1
            });
            let ds = seen.iter().chain(&local).map(|&d| self.datastores[d].id.clone()).collect();
            self.shared_of_host.push(seen);
            self.local_of_host.push(local);
            self.hosts.push(Host {
                id: format!("host-{}", 1001 + i),
                name: format!("esx-{:03}.dc1.example.com", i + 1),
                cpu_mhz: model.cpu_mhz,
                memory_mb: model.memory_mb,
                datastores: ds,
                networks: Some(PORT_GROUPS.iter().map(|p| p.to_string()).collect()),
                state: ConnectionState::Connected,
                maintenance: false,
                standby: false,
                goodness: None,
                agent_vms_ready: true,
                fault_domain: None,
                site: None,
            });
        }
        self.backed = self.datastores.iter().enumerate().filter(|(_, d)| d.backing.is_some()).map(|(i, _)| i).collect();
    }

    /// A datastore for a VM on `host` (shared mostly, sometimes the host's local one).
    fn home_for(&mut self, host: Option<usize>) -> String {
        let shared: &[usize] = match host {
            Some(h) => &self.shared_of_host[h],
            None => &self.backed,
        };
        if let Some(h) = host {
            if let Some(local) = self.local_of_host[h] {
                if self.rng.chance(0.03) {
                    return self.datastores[local].id.clone();
                }
            }
        }
        match shared.len() {
            0 => self.datastores.first().map(|d| d.id.clone()).unwrap_or_default(),
            n => self.datastores[shared[self.rng.below(n)]].id.clone(),
        }
    }

    fn push_vm(&mut self, vm: Vm, kind: Kind, reserve: Reserve) {
        self.vms.push(vm);
        self.kinds.push(kind);
        self.reserve.push(reserve);
    }

    fn virtual_machines(&mut self) {
        let n_hosts = self.hosts.len();
        let total = self.spec.vms;
        let agents = if n_hosts == 0 { 0 } else { total.min(3).min(n_hosts) };
        // why: constant divisors.
        let ft_pairs = if n_hosts >= 2 { ((total - agents) / 500).min(n_hosts / 2) } else { 0 };
        let regular = total - agents - 2 * ft_pairs;
        let mut next = 2001usize;
        let mut vm_id = || {
            next += 1;
            format!("vm-{}", next - 1)
        };

        // Agent VMs: one per host on the first hosts (vCLS on 7.0+).
        for h in 0..agents {
            let home = self.home_for(Some(h));
            let name = if self.spec.version.at_least(Version::V7_0) {
                // why: truncation intended: 32 random bits for a name.
                format!("vCLS-{:08x}", self.rng.next_u64() as u32)
            } else {
                format!("agent-esx-{:03}", h + 1)
            };
            let overhead = 30 + self.rng.below(30) as u64;
            let vm = self.vm(vm_id(), name, Some(h), PowerState::PoweredOn, home, overhead);
            let vm = Vm { role: Some(VmRole::Agent), networks: vec![PORT_GROUPS[0].to_string()], ..vm };
            self.push_vm(vm, Kind::Agent, Reserve::Nothing);
        }

        // Regular VMs, placed in proportion to host memory.
        // why: constant divisor; generated hosts have at most a few TB, so MB / 1024 fits in u32.
        let weights = Weights::new(self.hosts.iter().map(|h| (h.memory_mb / 1024) as u32));
        let mut per_tier = vec![0usize; TIERS.len()];
        let priority_weights = Weights::new(PRIORITIES.iter().map(|(_, w)| *w));
        for _ in 0..regular {
            let power = if n_hosts == 0 {
                PowerState::PoweredOff
            } else {
                match self.rng.below(100) {
                    0..=91 => PowerState::PoweredOn,
                    92..=97 => PowerState::PoweredOff,
                    _ => PowerState::Suspended,
                }
            };
            let host = match power {
                _ if n_hosts == 0 => None,
                PowerState::PoweredOff if self.rng.chance(0.25) => None,
                _ => Some(self.rng.weighted(&weights)),
            };
            let tier = self.rng.below(TIERS.len());
            per_tier[tier] += 1;
            let name = format!("{}-{:05}", TIERS[tier], per_tier[tier]);
            let home = self.home_for(host);
            let reserve = if self.rng.chance(0.3) {
                match self.rng.below(10) {
                    0..=6 => Reserve::Both,
                    7 | 8 => Reserve::Memory,
                    _ => Reserve::Cpu,
                }
            } else {
                Reserve::Nothing
            };
            let overhead = if reserve.memory() { 60 + self.rng.below(240) } else { 25 + self.rng.below(150) } as u64;
            let mut vm = self.vm(vm_id(), name, host, power, home.clone(), overhead);
            // A data disk elsewhere on one VM in ten.
            if let Some(h) = host {
                if self.rng.chance(0.1) {
                    let others: Vec<usize> =
                        self.shared_of_host[h].iter().copied().filter(|&d| self.datastores[d].id != home).collect();
                    if !others.is_empty() {
                        vm.datastores.push(self.datastores[others[self.rng.below(others.len())]].id.clone());
                    }
                }
            }
            if self.rng.chance(0.15) {
                let second = PORT_GROUPS[1 + self.rng.below(PORT_GROUPS.len() - 1)].to_string();
                if !vm.networks.contains(&second) {
                    vm.networks.push(second);
                }
            }
            vm.restart_priority = PRIORITIES[self.rng.weighted(&priority_weights)].0;
            vm.isolation_response = match self.rng.below(10) {
                0 => IsolationResponse::PowerOff,
                1 => IsolationResponse::Shutdown,
                _ => IsolationResponse::ClusterIsolationResponse,
            };
            vm.tools_running = self.rng.chance(0.95);
            if power == PowerState::PoweredOff {
                // Powered off by someone, on purpose.
                vm.clean_power_off = true;
            }
            // Reservations of VMs that do not run are fixed sizes that fit any host model;
            // those of running VMs are sized per host later.
            if power != PowerState::PoweredOn {
                if reserve.memory() {
                    vm.memory_reservation_mb = [1024, 2048, 4096, 8192][self.rng.below(4)];
                }
                if reserve.cpu() {
                    vm.cpu_reservation_mhz = [500, 1000, 2000][self.rng.below(3)];
                }
            }
            self.push_vm(vm, Kind::Regular, reserve);
        }

        // FT pairs: primary on an even host, secondary on the next one (one FT VM per host).
        for p in 0..ft_pairs {
            // why: ft_pairs is 0 unless n_hosts >= 2.
            let (a, b) = (2 * p % n_hosts, (2 * p + 1) % n_hosts);
            // The first two shared datastores are seen by every host.
            let home = self.datastores.first().map(|d| d.id.clone()).unwrap_or_default();
            let name = format!("ft-sql-{:02}", p + 1);
            for (host, role, name) in
                [(a, VmRole::FtPrimary, name.clone()), (b, VmRole::FtSecondary, format!("{name} (secondary)"))]
            {
                let mut vm = self.vm(vm_id(), name, Some(host), PowerState::PoweredOn, home.clone(), FT_OVERHEAD);
                vm.role = Some(role);
                vm.cpu_reservation_mhz = FT_CPU;
                vm.memory_reservation_mb = FT_MEM;
                vm.restart_priority = RestartPriority::High;
                self.push_vm(vm, Kind::Ft, Reserve::Both);
            }
        }
    }

    fn vm(
        &mut self,
        id: String,
        name: String,
        host: Option<usize>,
        power: PowerState,
        home: String,
        overhead: u64,
    ) -> Vm {
        Vm {
            id,
            name,
            host: host.map(|h| self.hosts[h].id.clone()),
            power_state: power,
            cpu_reservation_mhz: 0,
            memory_reservation_mb: 0,
            memory_overhead_mb: overhead,
            home_datastore: home.clone(),
            datastores: vec![home],
            networks: vec![PORT_GROUPS[self.rng.below(PORT_GROUPS.len())].to_string()],
            restart_priority: RestartPriority::ClusterRestartPriority,
            isolation_response: IsolationResponse::ClusterIsolationResponse,
            role: None,
            protected: power == PowerState::PoweredOn,
            clean_power_off: false,
            tools_running: true,
            orchestration: Default::default(),
            vm_monitoring: None,
            vmcp: None,
            cpu_usage_mhz: None,
            memory_usage_mb: None,
        }
    }

    /// Sizes the reservations of the running VMs of every host so that they add up to a target
    /// load of 45–65 % of the host (memory including overhead), never more than the host holds.
    fn reservations(&mut self) {
        let index: BTreeMap<&str, usize> = self.hosts.iter().enumerate().map(|(i, h)| (h.id.as_str(), i)).collect();
        let mut on_host: Vec<Vec<usize>> = vec![Vec::new(); self.hosts.len()];
        for (i, vm) in self.vms.iter().enumerate() {
            if vm.power_state == PowerState::PoweredOn {
                if let Some(h) = vm.host.as_deref().and_then(|h| index.get(h)) {
                    on_host[*h].push(i);
                }
            }
        }
        for (h, vms) in on_host.iter().enumerate() {
            let (cap_cpu, cap_mem) = (self.hosts[h].cpu_mhz, self.hosts[h].memory_mb);
            // Overheads take at most 30 % of the memory, whatever the VM count.
            let overhead: u64 = vms.iter().map(|&i| self.vms[i].memory_overhead_mb).sum();
            // why: constant divisor; below, `overhead > limit >= 0` so overhead >= 1.
            let limit = cap_mem * 3 / 10;
            if overhead > limit {
                for &i in vms {
                    let o = &mut self.vms[i].memory_overhead_mb;
                    *o = *o * limit / overhead;
                }
            }
            let overhead: u64 = vms.iter().map(|&i| self.vms[i].memory_overhead_mb).sum();
            let fixed_cpu: u64 =
                vms.iter().filter(|&&i| self.kinds[i] == Kind::Ft).map(|&i| self.vms[i].cpu_reservation_mhz).sum();
            let fixed_mem: u64 =
                vms.iter().filter(|&&i| self.kinds[i] == Kind::Ft).map(|&i| self.vms[i].memory_reservation_mb).sum();
            let regular: Vec<usize> = vms.iter().copied().filter(|&i| self.kinds[i] == Kind::Regular).collect();
            if regular.is_empty() {
                continue;
            }
            // Every host with running VMs has at least one reservation of each kind.
            if !regular.iter().any(|&i| self.reserve[i].memory()) {
                let i = regular[0];
                self.reserve[i] = if self.reserve[i].cpu() { Reserve::Both } else { Reserve::Memory };
            }
            if !regular.iter().any(|&i| self.reserve[i].cpu()) {
                let i = regular[regular.len() - 1];
                self.reserve[i] = if self.reserve[i].memory() { Reserve::Both } else { Reserve::Cpu };
            }
            let target_mem = (cap_mem as f64 * (0.45 + 0.2 * self.rng.unit())) as u64;
            let target_cpu = (cap_cpu as f64 * (0.45 + 0.2 * self.rng.unit())) as u64;
            // why: constant divisors (MEM_UNIT, CPU_UNIT).
            let mem_budget = target_mem.saturating_sub(overhead + fixed_mem) / MEM_UNIT;
            let cpu_budget = target_cpu.saturating_sub(fixed_cpu) / CPU_UNIT;
            let mem_takers: Vec<usize> = regular.iter().copied().filter(|&i| self.reserve[i].memory()).collect();
            let cpu_takers: Vec<usize> = regular.iter().copied().filter(|&i| self.reserve[i].cpu()).collect();
            for (i, units) in mem_takers.iter().zip(self.split(mem_budget, mem_takers.len())) {
                self.vms[*i].memory_reservation_mb = units * MEM_UNIT;
            }
            for (i, units) in cpu_takers.iter().zip(self.split(cpu_budget, cpu_takers.len())) {
                self.vms[*i].cpu_reservation_mhz = units * CPU_UNIT;
            }
        }
    }

    /// Splits `units` over `n` takers with random weights (a few big, many small); the parts
    /// add up to exactly `units`.
    fn split(&mut self, units: u64, n: usize) -> Vec<u64> {
        if n == 0 {
            return Vec::new();
        }
        const SIZES: &[u64] = &[1, 1, 2, 2, 2, 3, 4, 4, 6, 8, 12, 16];
        let weights: Vec<u64> = (0..n).map(|_| SIZES[self.rng.below(SIZES.len())]).collect();
        let total: u64 = weights.iter().sum();
        // why: n > 0 and every weight >= 1, so total >= 1; each part <= units, so it fits u64.
        let mut parts: Vec<u64> = weights.iter().map(|&w| (units as u128 * w as u128 / total as u128) as u64).collect();
        let given: u64 = parts.iter().sum();
        // What rounding left over goes one unit at a time to the first takers.
        for p in parts.iter_mut().take((units - given) as usize) {
            *p += 1;
        }
        parts
    }

    fn make_rules(&mut self) {
        let n_hosts = self.hosts.len();
        // Candidates: running regular VMs, by host.
        let vm_host: Vec<Option<usize>> = {
            let index: BTreeMap<&str, usize> = self.hosts.iter().enumerate().map(|(i, h)| (h.id.as_str(), i)).collect();
            self.vms.iter().map(|v| v.host.as_deref().and_then(|h| index.get(h).copied())).collect()
        };
        let mut on_host: Vec<Vec<usize>> = vec![Vec::new(); n_hosts];
        let mut running: Vec<usize> = Vec::new();
        for (i, vm) in self.vms.iter().enumerate() {
            if self.kinds[i] == Kind::Regular && vm.power_state == PowerState::PoweredOn {
                if let Some(h) = vm_host[i] {
                    on_host[h].push(i);
                    running.push(i);
                }
            }
        }
        if running.len() < 2 {
            return;
        }
        let n = running.len();

        // Anti-affinity pairs (and some triples) on distinct hosts.
        // why: in this function `/` has constant divisors; `% n_hosts` runs only when n_hosts >= 2 (or 4), `% vms.len()` when vms.len() >= 2.
        for k in 0..n / 250 {
            let mut members = vec![running[self.rng.below(n)]];
            let want = if self.rng.chance(0.2) { 3 } else { 2 };
            for _ in 0..32 {
                if members.len() == want {
                    break;
                }
                let c = running[self.rng.below(n)];
                if members.iter().all(|&m| vm_host[m] != vm_host[c]) {
                    members.push(c);
                }
            }
            if members.len() >= 2 {
                self.rule(RuleKind::VmAntiAffinity, format!("anti-affinity-{:03}", k + 1), &members, &[], &[]);
            }
        }

        // Affinity pairs: two VMs already together.
        for k in 0..n / 2500 {
            let h = self.rng.below(n_hosts);
            let vms = &on_host[h];
            if vms.len() >= 2 {
                let a = self.rng.below(vms.len());
                let b = (a + 1 + self.rng.below(vms.len() - 1)) % vms.len();
                let members = [vms[a], vms[b]];
                self.rule(RuleKind::VmAffinity, format!("affinity-{:02}", k + 1), &members, &[], &[]);
            }
        }

        // VM-host groups, consistent with where the VMs run now.
        if n_hosts >= 2 {
            let group_size = (n_hosts / 8).max(2).min(n_hosts);
            let kinds =
                [(RuleKind::VmHostMust, n / 2500, "must-run-on"), (RuleKind::VmHostShould, n / 1000, "should-run-on")];
            for (kind, count, label) in kinds {
                for k in 0..count {
                    let start = self.rng.below(n_hosts);
                    let group: Vec<usize> = (0..group_size).map(|j| (start + j) % n_hosts).collect();
                    let mut pool: Vec<usize> = group.iter().flat_map(|&h| on_host[h].iter().copied()).collect();
                    let mut members = Vec::new();
                    while members.len() < 8 && !pool.is_empty() {
                        members.push(pool.swap_remove(self.rng.below(pool.len())));
                    }
                    if !members.is_empty() {
                        self.rule(kind, format!("{label}-{:02}", k + 1), &members, &group, &[]);
                    }
                }
            }
        }
        if n_hosts >= 4 {
            let kinds = [
                (RuleKind::VmHostMustNot, n / 5000, "must-not-run-on"),
                (RuleKind::VmHostShouldNot, n / 5000, "should-not-run-on"),
            ];
            for (kind, count, label) in kinds {
                for k in 0..count {
                    let group: Vec<usize> = {
                        let a = self.rng.below(n_hosts);
                        vec![a, (a + 1) % n_hosts]
                    };
                    let mut members = Vec::new();
                    for _ in 0..64 {
                        if members.len() == 5 {
                            break;
                        }
                        let c = running[self.rng.below(n)];
                        let h = vm_host[c];
                        if h.is_some_and(|h| !group.contains(&h)) && !members.contains(&c) {
                            members.push(c);
                        }
                    }
                    if !members.is_empty() {
                        self.rule(kind, format!("{label}-{:02}", k + 1), &members, &group, &[]);
                    }
                }
            }
        }

        // Dependencies (6.5+): always on a VM earlier in the list, so they cannot cycle.
        if self.spec.version.at_least(Version::V6_5) {
            for k in 0..n / 1000 {
                let a = running[self.rng.below(n)];
                let mut on: Vec<usize> = Vec::new();
                let tries = if self.rng.chance(0.2) { 2 } else { 1 };
                for _ in 0..tries {
                    let b = running[self.rng.below(n)];
                    if b < a && !on.contains(&b) {
                        on.push(b);
                    }
                }
                if on.is_empty() {
                    // Flip the pair so the edge points backwards.
                    let b = running[self.rng.below(n)];
                    if b == a {
                        continue;
                    }
                    let (dependent, dependency) = (a.max(b), a.min(b));
                    self.rule(RuleKind::VmDependsOn, format!("depends-{:02}", k + 1), &[dependent], &[], &[dependency]);
                } else {
                    self.rule(RuleKind::VmDependsOn, format!("depends-{:02}", k + 1), &[a], &[], &on);
                }
            }
        }
    }

    fn rule(&mut self, kind: RuleKind, name: String, vms: &[usize], hosts: &[usize], depends_on: &[usize]) {
        let vm_ids = |list: &[usize]| list.iter().map(|&i| self.vms[i].id.clone()).collect::<Vec<_>>();
        let rule = Rule {
            kind,
            name,
            enabled: true,
            vms: vm_ids(vms),
            hosts: hosts.iter().map(|&h| self.hosts[h].id.clone()).collect(),
            depends_on: vm_ids(depends_on),
        };
        self.rules.push(rule);
    }

    fn cluster(&mut self) -> ClusterConfig {
        let version = self.spec.version;
        let vmcp_exists = version.at_least(Version::V6_0);
        let advanced_options = AdvancedOptions::parse(
            BTreeMap::new(),
            version,
            "cluster.advanced_options",
            &mut Vec::new(),
            &mut Vec::new(),
        );
        ClusterConfig {
            name: format!("synthetic-{}h-{}vm-seed{}", self.spec.hosts, self.spec.vms, self.spec.seed),
            version,
            host_monitoring: true,
            admission_control: crate::parse::default_admission(version),
            resource_reduction_to_tolerate_percent: None,
            isolation_response: IsolationResponse::None,
            restart_priority: RestartPriority::Medium,
            isolation_addresses: Vec::new(),
            heartbeat_datastores: HeartbeatDatastoreConfig {
                policy: HbDsPolicy::AllFeasibleDsWithUserPreference,
                preferred: Vec::new(),
            },
            orchestration: Default::default(),
            drs: Default::default(),
            dpm: Default::default(),
            vm_monitoring: VmMonitoringConfig {
                mode: VmMonitoringMode::VmMonitoringOnly,
                sensitivity: VmMonitoringSensitivity::Medium,
                failure_interval_s: None,
                min_uptime_s: None,
                max_resets: None,
                max_resets_window_s: None,
            },
            vmcp: VmcpConfig {
                apd: if vmcp_exists { StorageProtection::RestartConservative } else { StorageProtection::Disabled },
                pdl: if vmcp_exists { StorageProtection::RestartAggressive } else { StorageProtection::Disabled },
                apd_delay_s: 180,
                apd_cleared: ApdClearedReaction::None,
            },
            vsan: VsanConfig::default(),
            advanced_options,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse;
    use crate::serialize;

    /// (CPU, memory incl. overhead) reserved by the running VMs of each host, by host index.
    fn loads(inv: &Inventory) -> Vec<(u64, u64)> {
        let mut out = vec![(0, 0); inv.hosts.len()];
        for (h, vms) in inv.vms_by_host().iter().enumerate() {
            for &i in vms {
                let vm = &inv.vms[i];
                if vm.is_powered_on() {
                    out[h].0 += vm.cpu_reservation_mhz;
                    out[h].1 += vm.memory_demand_mb();
                }
            }
        }
        out
    }

    fn check_valid(inv: &Inventory) {
        let doc = serialize::to_value(inv);
        match parse::from_value(&doc) {
            Ok(again) => {
                assert!(again.warnings.is_empty(), "warnings: {:?}", again.warnings);
                assert!(again == *inv, "round trip changed the inventory");
            }
            Err(e) => panic!("generated inventory is invalid: {e}"),
        }
    }

    fn check_fits(inv: &Inventory) {
        for (h, (cpu, mem)) in loads(inv).into_iter().enumerate() {
            let host = &inv.hosts[h];
            assert!(cpu <= host.cpu_mhz, "{}: {cpu} MHz reserved of {}", host.id, host.cpu_mhz);
            assert!(mem <= host.memory_mb, "{}: {mem} MB reserved of {}", host.id, host.memory_mb);
        }
        for vm in &inv.vms {
            if let Some(h) = vm.host.as_deref().and_then(|h| inv.host(h)) {
                assert!(
                    vm.cpu_reservation_mhz <= h.cpu_mhz && vm.memory_demand_mb() <= h.memory_mb,
                    "{} on {}",
                    vm.id,
                    h.id
                );
                for d in &vm.datastores {
                    assert!(h.datastores.contains(d), "{} on {} uses {d}, which the host cannot see", vm.id, h.id);
                }
            }
        }
    }

    #[test]
    fn default_is_the_cluster_maximum_and_is_valid_and_realistic() {
        let spec = GeneratorSpec::default();
        assert_eq!((spec.hosts, spec.vms, spec.seed), (96, 10_000, 1));
        let inv = synthetic(&spec);
        assert_eq!(inv.hosts.len(), 96);
        assert_eq!(inv.vms.len(), 10_000);
        check_valid(&inv);
        check_fits(&inv);
        for (h, (cpu, mem)) in loads(&inv).into_iter().enumerate() {
            let host = &inv.hosts[h];
            // why: float division cannot panic.
            let (c, m) = (cpu as f64 / host.cpu_mhz as f64, mem as f64 / host.memory_mb as f64);
            assert!((0.40..=0.70).contains(&c), "{}: CPU reserved {:.1} %", host.id, c * 100.0);
            assert!((0.40..=0.70).contains(&m), "{}: memory reserved {:.1} %", host.id, m * 100.0);
        }
        // The mix the module promises.
        let reserved = inv.vms.iter().filter(|v| v.cpu_reservation_mhz > 0 || v.memory_reservation_mb > 0).count();
        assert!((2_500..=3_500).contains(&reserved), "{reserved} VMs with reservations");
        let count = |p: RestartPriority| inv.vms.iter().filter(|v| v.restart_priority == p).count();
        for p in RestartPriority::ALL {
            assert!(count(*p) > 0, "no VM with priority {p}");
        }
        let role = |r: VmRole| inv.vms.iter().filter(|v| v.role == Some(r)).count();
        assert_eq!(role(VmRole::Agent), 3);
        assert_eq!(role(VmRole::FtPrimary), role(VmRole::FtSecondary));
        assert!(role(VmRole::FtPrimary) >= 10);
        let sizes: std::collections::BTreeSet<u64> = inv.hosts.iter().map(|h| h.memory_mb).collect();
        assert_eq!(sizes.len(), 3, "three host models");
        let kinds: std::collections::BTreeSet<RuleKind> = inv.rules.iter().map(|r| r.kind).collect();
        for k in [
            RuleKind::VmAntiAffinity,
            RuleKind::VmAffinity,
            RuleKind::VmHostMust,
            RuleKind::VmHostShould,
            RuleKind::VmDependsOn,
        ] {
            assert!(kinds.contains(&k), "no {k} rule");
        }
        // FT partners run on different hosts; no host has more than das.maxFtVmsPerHost FT VMs.
        for (h, vms) in inv.vms_by_host().iter().enumerate() {
            let ft = vms
                .iter()
                .filter(|&&i| matches!(inv.vms[i].role, Some(VmRole::FtPrimary | VmRole::FtSecondary)))
                .count();
            assert!(ft <= 4, "{}: {ft} FT VMs", inv.hosts[h].id);
        }
        // Most hosts see most datastores; some datastores are local to one host.
        let local = inv
            .datastores
            .iter()
            .filter(|d| inv.hosts.iter().filter(|h| h.datastores.contains(&d.id)).count() == 1)
            .count();
        assert!(local >= 3, "{local} local datastores");
    }

    #[test]
    fn same_seed_same_inventory_other_seed_other_inventory() {
        let spec = GeneratorSpec::new(16, 1_200, 7);
        let (a, b) = (synthetic(&spec), synthetic(&spec));
        assert!(a == b);
        assert_eq!(serialize::to_value(&a), serialize::to_value(&b));
        let c = synthetic(&GeneratorSpec { seed: 8, ..spec });
        assert!(a != c);
    }

    #[test]
    fn sizes_as_requested_and_always_valid() {
        for (hosts, vms, seed) in [
            (0, 0, 1),
            (0, 5, 1),
            (1, 0, 2),
            (1, 1, 3),
            (1, 50, 4),
            (2, 3, 5),
            (3, 20, 6),
            (4, 400, 7),
            (32, 3_000, 8),
            (5, 4_000, 9),
        ] {
            for version in [Version::V5_0, Version::V6_5, Version::V8_0] {
                let spec = GeneratorSpec { hosts, vms, seed, version };
                let inv = synthetic(&spec);
                assert_eq!((inv.hosts.len(), inv.vms.len()), (hosts, vms), "{spec:?}");
                assert_eq!(inv.cluster.version, version);
                if hosts >= 2 {
                    check_valid(&inv);
                } else {
                    // One host cannot tolerate one failure: only that warning is allowed.
                    match parse::from_value(&serialize::to_value(&inv)) {
                        Ok(again) => assert!(again.warnings.iter().all(|w| w.path.ends_with("host_failures"))),
                        Err(e) => panic!("{spec:?}: {e}"),
                    }
                }
                check_fits(&inv);
            }
        }
    }

    #[test]
    fn dependencies_are_acyclic() {
        let inv = synthetic(&GeneratorSpec::new(24, 5_000, 3));
        let pos = |id: &str| inv.vm_idx(id).unwrap_or(usize::MAX);
        let deps: Vec<&Rule> = inv.rules.iter().filter(|r| r.kind == RuleKind::VmDependsOn).collect();
        assert!(!deps.is_empty());
        for r in deps {
            for d in &r.depends_on {
                assert!(pos(d) < pos(&r.vms[0]), "{} depends on a later VM", r.name);
            }
        }
    }
}
