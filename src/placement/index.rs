//! Look-ups built once per inventory so that placing one VM costs O(hosts), whatever the
//! number of VMs and rules in the cluster.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use crate::capacity::{self, Resources};
use crate::model::{AdmissionControl, Inventory, RuleKind, Version, VmRole};

/// Marks "no index" in the compact `u32` tables.
const NONE: u32 = u32::MAX;

/// Per-VM flags in [`PlacementIndex`].
const POWERED_ON: u8 = 1;
const FT: u8 = 2;

/// The enabled rules that matter to placement, by VM (R-PLACE-1..3).
///
/// Disabled rules (`enabled: false`) and `vmAffinity` rules are not indexed (see the module
/// documentation); `vmDependsOn` rules only from cluster version 6.5 on.
#[derive(Debug, Clone, Default)]
pub struct RuleIndex {
    /// Slot in `sets` per VM index, `NONE` for a VM in no indexed rule (most VMs).
    vm_slot: Vec<u32>,
    sets: Vec<VmRules>,
    /// Per rule (index into `inv.rules`): host membership of a VM-host rule, by host index.
    host_masks: Vec<Option<Vec<bool>>>,
    /// Per anti-affinity group: the rule (index into `inv.rules`) and its VMs.
    anti_affinity_rules: Vec<usize>,
    anti_affinity_members: Vec<Vec<usize>>,
    has_dependencies: bool,
}

/// The rules of one VM, as indices into `inv.rules` (groups: into the anti-affinity groups).
#[derive(Debug, Clone, Default)]
struct VmRules {
    must: Vec<u32>,
    must_not: Vec<u32>,
    should: Vec<u32>,
    should_not: Vec<u32>,
    anti_affinity_groups: Vec<u32>,
    depends_on: Vec<u32>,
}

impl RuleIndex {
    pub fn new(inv: &Inventory) -> RuleIndex {
        let mut index = RuleIndex {
            vm_slot: vec![NONE; inv.vms.len()],
            host_masks: vec![None; inv.rules.len()],
            ..RuleIndex::default()
        };
        let dependencies_apply = inv.cluster.version.at_least(Version::V6_5);
        for (rule_idx, rule) in inv.rules.iter().enumerate().filter(|(_, r)| r.enabled) {
            let members: Vec<usize> = rule.vms.iter().filter_map(|id| inv.vm_idx(id)).collect();
            match rule.kind {
                RuleKind::VmHostMust | RuleKind::VmHostMustNot | RuleKind::VmHostShould | RuleKind::VmHostShouldNot => {
                    let mut mask = vec![false; inv.hosts.len()];
                    for h in rule.hosts.iter().filter_map(|id| inv.host_idx(id)) {
                        mask[h] = true;
                    }
                    index.host_masks[rule_idx] = Some(mask);
                    for vm in members {
                        let set = index.set_mut(vm);
                        let list = match rule.kind {
                            RuleKind::VmHostMust => &mut set.must,
                            RuleKind::VmHostMustNot => &mut set.must_not,
                            RuleKind::VmHostShould => &mut set.should,
                            _ => &mut set.should_not,
                        };
                        // why: an inventory has fewer than 2^32 VMs, hosts, rules and networks (a 1 GiB document holds ~2^25 VMs at most), so the index fits in u32.
                        list.push(rule_idx as u32);
                    }
                }
                RuleKind::VmAntiAffinity => {
                    // why: an inventory has fewer than 2^32 VMs, hosts, rules and networks (a 1 GiB document holds ~2^25 VMs at most), so the index fits in u32.
                    let group = index.anti_affinity_rules.len() as u32;
                    index.anti_affinity_rules.push(rule_idx);
                    for &vm in &members {
                        index.set_mut(vm).anti_affinity_groups.push(group);
                    }
                    index.anti_affinity_members.push(members);
                }
                RuleKind::VmDependsOn if dependencies_apply => {
                    let prerequisites: Vec<u32> =
                        // why: an inventory has fewer than 2^32 VMs, hosts, rules and networks (a 1 GiB document holds ~2^25 VMs at most), so the index fits in u32.
                        rule.depends_on.iter().filter_map(|id| inv.vm_idx(id)).map(|i| i as u32).collect();
                    for vm in members {
                        index.has_dependencies |= !prerequisites.is_empty();
                        index.set_mut(vm).depends_on.extend(&prerequisites);
                    }
                }
                // Not applied by HA (see the module documentation).
                RuleKind::VmAffinity | RuleKind::VmDependsOn => {}
            }
        }
        index
    }

    fn set_mut(&mut self, vm: usize) -> &mut VmRules {
        if self.vm_slot[vm] == NONE {
            // why: an inventory has fewer than 2^32 VMs, hosts, rules and networks (a 1 GiB document holds ~2^25 VMs at most), so the index fits in u32.
            self.vm_slot[vm] = self.sets.len() as u32;
            self.sets.push(VmRules::default());
        }
        &mut self.sets[self.vm_slot[vm] as usize]
    }

    fn set(&self, vm: usize) -> Option<&VmRules> {
        match self.vm_slot.get(vm) {
            Some(&slot) if slot != NONE => self.sets.get(slot as usize),
            _ => None,
        }
    }

    /// Whether host `host` is listed by VM-host rule `rule` (index into `inv.rules`).
    pub fn rule_lists_host(&self, rule: usize, host: usize) -> bool {
        matches!(self.host_masks.get(rule), Some(Some(mask)) if mask.get(host).copied().unwrap_or(false))
    }

    /// Enabled `vmHostMust` rules of a VM (indices into `inv.rules`).
    pub fn must(&self, vm: usize) -> &[u32] {
        self.set(vm).map_or(&[], |s| &s.must)
    }
    /// Enabled `vmHostMustNot` rules of a VM.
    pub fn must_not(&self, vm: usize) -> &[u32] {
        self.set(vm).map_or(&[], |s| &s.must_not)
    }
    /// Enabled `vmHostShould` rules of a VM.
    pub fn should(&self, vm: usize) -> &[u32] {
        self.set(vm).map_or(&[], |s| &s.should)
    }
    /// Enabled `vmHostShouldNot` rules of a VM.
    pub fn should_not(&self, vm: usize) -> &[u32] {
        self.set(vm).map_or(&[], |s| &s.should_not)
    }
    /// Anti-affinity groups of a VM (see [`RuleIndex::anti_affinity_rule`]).
    pub fn anti_affinity_groups(&self, vm: usize) -> &[u32] {
        self.set(vm).map_or(&[], |s| &s.anti_affinity_groups)
    }
    /// VMs (indices) a VM depends on; empty before 6.5.
    pub fn depends_on(&self, vm: usize) -> &[u32] {
        self.set(vm).map_or(&[], |s| &s.depends_on)
    }
    /// Number of anti-affinity groups (enabled `vmAntiAffinity` rules).
    pub fn anti_affinity_group_count(&self) -> usize {
        self.anti_affinity_rules.len()
    }
    /// The rule (index into `inv.rules`) of an anti-affinity group.
    pub fn anti_affinity_rule(&self, group: usize) -> usize {
        self.anti_affinity_rules[group]
    }
    /// The VMs (indices) of an anti-affinity group.
    pub fn anti_affinity_members(&self, group: usize) -> &[usize] {
        &self.anti_affinity_members[group]
    }
    /// True when some VM depends on another (restart ordering needs the dependency pass).
    pub fn has_dependencies(&self) -> bool {
        self.has_dependencies
    }
}

/// Everything placement looks up, precomputed once per inventory. Pass it with the same
/// inventory it was built from (it is sized for it).
#[derive(Debug, Clone)]
// why: (indexing in this file) per-VM, per-host and per-network tables are built in `new` from
// one inventory, sized by its vectors; indexes stored as u32 come from those same vectors.
pub struct PlacementIndex {
    pub rules: RuleIndex,
    host_count: usize,
    datastore_count: usize,
    /// Host indices in host id order (bytewise): scan order and last tie-break (R-PLACE-3).
    host_order: Vec<usize>,
    /// `[host * datastore_count + datastore]`: the host is connected to the datastore.
    host_datastores: Vec<bool>,
    /// The same as bitsets, `datastore_words` words per host: one AND per word checks every
    /// datastore of a VM against a host (R-PLACE-2).
    host_datastore_bits: Vec<u64>,
    datastore_words: usize,
    /// Network names, interned from the hosts' lists.
    network_ids: HashMap<String, u32>,
    /// Per host: `None` when the host does not list networks (every network fits), else a
    /// membership mask over the interned networks.
    host_networks: Vec<Option<Vec<bool>>>,
    /// The masks of `host_networks` as bitsets, `network_words` words per host (zero for a host
    /// that does not list networks).
    host_network_bits: Vec<u64>,
    network_words: usize,
    /// Current host of each VM (whatever its power state), `NONE` when it has none.
    vm_host: Vec<u32>,
    /// What each VM reserves on its host (R-PLACE-2) and its `POWERED_ON` / `FT` flags: compact
    /// copies so that building a state or a scenario never walks the VM structs.
    vm_reservation: Vec<Resources>,
    vm_flags: Vec<u8>,
    /// The VMs whose inventory host is each host (any power state), in VM order.
    host_vms: Vec<Vec<u32>>,
    /// Dedicated failover hosts, when that admission policy is active (R-AC-FH).
    failover_host: Vec<bool>,
    respect_anti_affinity: bool,
    respect_soft_rules: bool,
    /// `das.maxFtVmsPerHost`; `None` when 0 (no limit).
    max_ft_vms_per_host: Option<u32>,
}

impl PlacementIndex {
    /// [`PlacementIndex::new`], or [`crate::Error::OutOfMemory`] when the memory the index and
    /// one placement state need cannot be had (estimated first, see `crate::mem`).
    pub fn try_new(inv: &Inventory) -> crate::Result<PlacementIndex> {
        crate::mem::ensure_headroom(Self::estimated_bytes(inv), "building the placement index")?;
        Ok(Self::new(inv))
    }

    /// An upper estimate of the bytes the index and one placement state take: the host ×
    /// datastore matrix, the per-host network masks, the per-VM tables, and the rule masks and
    /// anti-affinity counters (rules × hosts).
    pub fn estimated_bytes(inv: &Inventory) -> usize {
        let hosts = inv.hosts.len();
        let networks: std::collections::HashSet<&str> =
            inv.hosts.iter().filter_map(|h| h.networks.as_ref()).flatten().map(String::as_str).collect();
        let networks = networks.len();
        let per_vm = std::mem::size_of::<Resources>() + 48;
        hosts
            .saturating_mul(inv.datastores.len().saturating_add(networks).saturating_add(256))
            .saturating_add(inv.vms.len().saturating_mul(per_vm))
            .saturating_add(inv.rules.len().saturating_mul(hosts.saturating_mul(5).saturating_add(64)))
    }

    pub fn new(inv: &Inventory) -> PlacementIndex {
        let host_count = inv.hosts.len();
        let datastore_count = inv.datastores.len();
        let mut host_order: Vec<usize> = (0..host_count).collect();
        host_order.sort_by(|&a, &b| inv.hosts[a].id.as_bytes().cmp(inv.hosts[b].id.as_bytes()));

        let mut host_datastores = vec![false; host_count * datastore_count];
        for (h, host) in inv.hosts.iter().enumerate() {
            for d in host.datastores.iter().filter_map(|id| inv.datastore_idx(id)) {
                host_datastores[h * datastore_count + d] = true;
            }
        }

        let datastore_words = datastore_count.div_ceil(64);
        let mut host_datastore_bits = vec![0u64; host_count * datastore_words];
        for (cell, &connected) in host_datastores.iter().enumerate() {
            if connected {
                let (h, d) = (cell / datastore_count, cell % datastore_count);
                host_datastore_bits[h * datastore_words + d / 64] |= 1 << (d % 64);
            }
        }

        let mut network_ids: HashMap<String, u32> = HashMap::new();
        for name in inv.hosts.iter().filter_map(|h| h.networks.as_ref()).flatten() {
            // why: an inventory has fewer than 2^32 VMs, hosts, rules and networks (a 1 GiB document holds ~2^25 VMs at most), so the index fits in u32.
            let next = network_ids.len() as u32;
            network_ids.entry(name.clone()).or_insert(next);
        }
        let host_networks = inv
            .hosts
            .iter()
            .map(|h| {
                h.networks.as_ref().map(|names| {
                    let mut mask = vec![false; network_ids.len()];
                    for name in names {
                        if let Some(&n) = network_ids.get(name) {
                            mask[n as usize] = true;
                        }
                    }
                    mask
                })
            })
            .collect::<Vec<Option<Vec<bool>>>>();
        let network_words = network_ids.len().div_ceil(64);
        let mut host_network_bits = vec![0u64; host_count * network_words];
        for (h, mask) in host_networks.iter().enumerate() {
            for (n, _) in mask.iter().flatten().enumerate().filter(|(_, &offered)| offered) {
                host_network_bits[h * network_words + n / 64] |= 1 << (n % 64);
            }
        }

        // One look-up per VM: a local map with a fast hasher (the inventory's own map uses
        // SipHash, several times slower on 10,000 VMs).
        // why: an inventory has fewer than 2^32 VMs, hosts, rules and networks (a 1 GiB document holds ~2^25 VMs at most), so the index fits in u32.
        let host_by_id: FastMap<&str, u32> =
            inv.hosts.iter().enumerate().map(|(i, h)| (h.id.as_str(), i as u32)).collect();
        let mut vm_host = Vec::with_capacity(inv.vms.len());
        let mut vm_reservation = Vec::with_capacity(inv.vms.len());
        let mut vm_flags = Vec::with_capacity(inv.vms.len());
        let mut host_vms = vec![Vec::new(); host_count];
        for (v, vm) in inv.vms.iter().enumerate() {
            let host = vm.host.as_deref().and_then(|h| host_by_id.get(h).copied()).unwrap_or(NONE);
            if host != NONE {
                // why: an inventory has fewer than 2^32 VMs, hosts, rules and networks (a 1 GiB document holds ~2^25 VMs at most), so the index fits in u32.
                host_vms[host as usize].push(v as u32);
            }
            vm_host.push(host);
            vm_reservation.push(capacity::vm_reservation(vm));
            vm_flags.push(if vm.is_powered_on() { POWERED_ON } else { 0 } | if is_ft(vm.role) { FT } else { 0 });
        }

        let mut failover_host = vec![false; host_count];
        if let AdmissionControl::FailoverHosts { hosts } = &inv.cluster.admission_control {
            for h in hosts.iter().filter_map(|id| inv.host_idx(id)) {
                failover_host[h] = true;
            }
        }

        let options = inv.options();
        PlacementIndex {
            rules: RuleIndex::new(inv),
            host_count,
            datastore_count,
            host_order,
            host_datastores,
            host_datastore_bits,
            datastore_words,
            network_ids,
            host_networks,
            host_network_bits,
            network_words,
            vm_host,
            vm_reservation,
            vm_flags,
            host_vms,
            failover_host,
            respect_anti_affinity: options.respect_vm_vm_anti_affinity,
            respect_soft_rules: options.respect_vm_host_soft_affinity,
            max_ft_vms_per_host: (options.max_ft_vms_per_host > 0).then_some(options.max_ft_vms_per_host),
        }
    }

    /// Host indices in host id order (bytewise).
    pub fn host_order(&self) -> &[usize] {
        &self.host_order
    }
    pub fn host_count(&self) -> usize {
        self.host_count
    }
    pub fn datastore_count(&self) -> usize {
        self.datastore_count
    }
    /// The VM's host in the inventory (index), whatever its power state.
    pub fn current_host(&self, vm: usize) -> Option<usize> {
        self.vm_host.get(vm).copied().filter(|&h| h != NONE).map(|h| h as usize)
    }
    /// The VMs (indices) whose inventory host is `host`, whatever their power state.
    pub fn vms_on_host(&self, host: usize) -> &[u32] {
        self.host_vms.get(host).map_or(&[], Vec::as_slice)
    }
    /// What the VM reserves on its host: CPU reservation, memory reservation + overhead.
    pub fn reservation(&self, vm: usize) -> Resources {
        self.vm_reservation.get(vm).copied().unwrap_or_default()
    }
    /// Powered on in the inventory.
    pub fn is_powered_on(&self, vm: usize) -> bool {
        self.vm_flags.get(vm).is_some_and(|f| f & POWERED_ON != 0)
    }
    /// An FT primary or secondary (counts toward `das.maxFtVmsPerHost`).
    pub fn is_ft(&self, vm: usize) -> bool {
        self.vm_flags.get(vm).is_some_and(|f| f & FT != 0)
    }
    /// Whether `host` is connected to `datastore` (both indices).
    pub fn host_has_datastore(&self, host: usize, datastore: usize) -> bool {
        self.host_datastores.get(host * self.datastore_count + datastore).copied().unwrap_or(false)
    }
    /// Whether `host` offers the network named `network`; always true when the host does not
    /// list networks (R-PLACE-2: networks only count "when given").
    pub fn host_has_network(&self, host: usize, network: &str) -> bool {
        match self.host_networks.get(host) {
            Some(Some(mask)) => self.network_ids.get(network).is_some_and(|&n| mask[n as usize]),
            _ => true,
        }
    }
    /// Whether the host lists its networks at all.
    pub fn host_lists_networks(&self, host: usize) -> bool {
        matches!(self.host_networks.get(host), Some(Some(_)))
    }
    pub(crate) fn network_id(&self, network: &str) -> Option<u32> {
        self.network_ids.get(network).copied()
    }
    /// Words in one datastore or network bitset ([`Self::datastore_bits`], [`Self::network_bits`]).
    pub(crate) fn datastore_words(&self) -> usize {
        self.datastore_words
    }
    pub(crate) fn network_words(&self) -> usize {
        self.network_words
    }
    /// The datastores `host` is connected to, as a bitset over datastore indices.
    pub(crate) fn datastore_bits(&self, host: usize) -> &[u64] {
        let w = self.datastore_words;
        self.host_datastore_bits.get(host * w..host * w + w).unwrap_or(&[])
    }
    /// The networks `host` offers, as a bitset over interned networks; `None` when the host
    /// does not list networks (every network fits).
    pub(crate) fn network_bits(&self, host: usize) -> Option<&[u64]> {
        let w = self.network_words;
        match self.host_networks.get(host) {
            Some(Some(_)) => self.host_network_bits.get(host * w..host * w + w),
            _ => None,
        }
    }
    pub(crate) fn host_network_mask(&self, host: usize) -> Option<&[bool]> {
        self.host_networks.get(host).and_then(|m| m.as_deref())
    }
    /// True when some host is a dedicated failover host (R-AC-FH), which R-PLACE-3 prefers.
    pub(crate) fn has_failover_hosts(&self) -> bool {
        self.failover_host.contains(&true)
    }
    /// A dedicated failover host of an active failover-hosts admission policy (R-AC-FH).
    pub fn is_failover_host(&self, host: usize) -> bool {
        self.failover_host.get(host).copied().unwrap_or(false)
    }
    /// `das.respectVmVmAntiAffinityRules`.
    pub fn respects_anti_affinity(&self) -> bool {
        self.respect_anti_affinity
    }
    /// `das.respectVmHostSoftAffinityRules`.
    pub fn respects_soft_rules(&self) -> bool {
        self.respect_soft_rules
    }
    /// `das.maxFtVmsPerHost`, `None` when unlimited (0).
    pub fn max_ft_vms_per_host(&self) -> Option<u32> {
        self.max_ft_vms_per_host
    }
    /// True when the index was built for an inventory of this shape.
    pub fn fits(&self, inv: &Inventory) -> bool {
        self.host_count == inv.hosts.len()
            && self.datastore_count == inv.datastores.len()
            && self.vm_host.len() == inv.vms.len()
            && self.rules.host_masks.len() == inv.rules.len()
    }
}

/// FT primaries and secondaries count toward `das.maxFtVmsPerHost` (R-PLACE-2).
pub(crate) fn is_ft(role: Option<VmRole>) -> bool {
    matches!(role, Some(VmRole::FtPrimary | VmRole::FtSecondary))
}

/// A hash map for look-ups only (never iterated, so its order cannot leak into results).
pub(crate) type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<FxHasher>>;

/// The multiply-rotate hash of rustc's `FxHasher`: fast on short keys, not DoS-resistant —
/// fine for maps built from one inventory and used for look-ups only.
#[derive(Default, Clone, Copy)]
pub(crate) struct FxHasher(u64);

impl Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            self.0 = (self.0.rotate_left(5) ^ u64::from_le_bytes(word)).wrapping_mul(SEED);
        }
        for &byte in chunks.remainder() {
            self.0 = (self.0.rotate_left(5) ^ u64::from(byte)).wrapping_mul(SEED);
        }
    }
    fn write_u8(&mut self, i: u8) {
        self.write(&[i]);
    }
    fn write_usize(&mut self, i: usize) {
        self.write(&(i as u64).to_le_bytes());
    }
    fn finish(&self) -> u64 {
        self.0
    }
}
