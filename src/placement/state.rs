//! The cluster as placement sees it at one moment: which hosts can take VMs, what each has
//! unreserved, how many FT VMs and anti-affinity members each runs, which datastores each host
//! has lost. Small (O(hosts × (groups + datastores))), cheap to clone per scenario.

use std::cmp::Reverse;

use crate::capacity::{self, Resources};
use crate::model::{ConnectionState, Host, Inventory};

use super::index::PlacementIndex;

/// Whether a host can receive restarted VMs, and if not, why (R-PLACE-2 "alive and in the
/// master's partition, connected, not in maintenance or standby", and running its required agent
/// VMs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum HostAvailability {
    Usable,
    Failed,
    Isolated,
    /// Alive, but not in the master's network partition.
    Partitioned,
    Disconnected,
    NotResponding,
    Maintenance,
    Standby,
    /// Connected and usable otherwise, but its required agent VMs are not running
    /// (`agent_vms_ready = false`): HA places no restarted VM there (R-PLACE-2).
    AgentVmsNotReady,
}

impl HostAvailability {
    /// From the inventory's own fields (nothing failed yet).
    pub fn of(host: &Host) -> HostAvailability {
        match host.state {
            ConnectionState::Disconnected => HostAvailability::Disconnected,
            ConnectionState::NotResponding => HostAvailability::NotResponding,
            ConnectionState::Connected if host.maintenance => HostAvailability::Maintenance,
            ConnectionState::Connected if host.standby => HostAvailability::Standby,
            ConnectionState::Connected if !host.agent_vms_ready => HostAvailability::AgentVmsNotReady,
            ConnectionState::Connected => HostAvailability::Usable,
        }
    }

    pub fn is_usable(self) -> bool {
        self == HostAvailability::Usable
    }

    /// Stable camelCase code.
    pub fn as_str(self) -> &'static str {
        match self {
            HostAvailability::Usable => "usable",
            HostAvailability::Failed => "failed",
            HostAvailability::Isolated => "isolated",
            HostAvailability::Partitioned => "partitioned",
            HostAvailability::Disconnected => "disconnected",
            HostAvailability::NotResponding => "notResponding",
            HostAvailability::Maintenance => "maintenance",
            HostAvailability::Standby => "standby",
            HostAvailability::AgentVmsNotReady => "agentVmsNotReady",
        }
    }

    /// Human wording ("host failed").
    pub fn describe(self) -> &'static str {
        match self {
            HostAvailability::Usable => "usable",
            HostAvailability::Failed => "host failed",
            HostAvailability::Isolated => "host isolated",
            HostAvailability::Partitioned => "not in the master's network partition",
            HostAvailability::Disconnected => "disconnected from vCenter",
            HostAvailability::NotResponding => "not responding",
            HostAvailability::Maintenance => "in maintenance mode",
            HostAvailability::Standby => "in standby",
            HostAvailability::AgentVmsNotReady => "its required agent VMs are not running",
        }
    }
}

impl std::fmt::Display for HostAvailability {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Mutable per-host bookkeeping for placement. Build it with [`PlacementState::new`], adjust
/// availability for the scenario, then [`super::place`] updates it as VMs are placed.
// why: (indexing in this file) the per-host vectors are sized `inv.hosts.len()` (and
// `groups * hosts` for anti-affinity) in `new` and never resized; callers pass host indexes of
// the same inventory (`PlacementIndex::fits` checks the pairing in the public plan entry).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlacementState {
    availability: Vec<HostAvailability>,
    capacity: Vec<Resources>,
    /// Reservations of the VMs running or placed on the host; unreserved = capacity − this
    /// (R-PLACE-2). Kept as a sum so adding and removing VMs are exact inverses.
    reserved: Vec<Resources>,
    ft_vms: Vec<u32>,
    /// `[group * hosts + host]`: members of anti-affinity group `group` on `host`.
    anti_affinity_members: Vec<u32>,
    host_count: usize,
    datastore_count: usize,
    /// `[host * datastores + datastore]`: lost (APD/PDL) although connected. `None` until a
    /// datastore is marked, so scenarios without storage faults pay nothing.
    datastore_lost: Option<Vec<bool>>,
    /// Host indices by room: most unreserved memory first, then most unreserved CPU, then host
    /// id order — R-PLACE-3's ranking of feasible hosts for a VM without soft rules when there
    /// are no dedicated failover hosts. Kept sorted as VMs are added and removed, so placing
    /// such a VM stops at the first feasible host instead of checking every host.
    by_room: Vec<u32>,
    /// Position of each host in `by_room`.
    room_position: Vec<u32>,
    /// Position of each host in host id order (bytewise): the last tie-break.
    id_rank: Vec<u32>,
}

impl PlacementState {
    /// The cluster as the inventory describes it: powered-on VMs hold their reservations on
    /// their hosts; hosts are usable unless disconnected, not responding, in maintenance or
    /// standby, or without their required agent VMs running.
    pub fn new(inv: &Inventory, index: &PlacementIndex) -> PlacementState {
        let host_count = inv.hosts.len();
        let mut reserved = vec![Resources::default(); host_count];
        let mut ft_vms = vec![0u32; host_count];
        for (h, vms) in (0..host_count).map(|h| (h, index.vms_on_host(h))) {
            for vm in vms.iter().map(|&v| v as usize).filter(|&v| index.is_powered_on(v)) {
                reserved[h] = reserved[h].saturating_add(index.reservation(vm));
                ft_vms[h] += u32::from(index.is_ft(vm));
            }
        }
        let groups = index.rules.anti_affinity_group_count();
        let mut anti_affinity_members = vec![0u32; groups * host_count];
        for group in 0..groups {
            for &vm in index.rules.anti_affinity_members(group) {
                if let (true, Some(h)) = (index.is_powered_on(vm), index.current_host(vm)) {
                    anti_affinity_members[group * host_count + h] += 1;
                }
            }
        }
        let mut id_rank = vec![0u32; host_count];
        for (rank, &h) in index.host_order().iter().enumerate() {
            // why: fewer than 2^32 hosts (see `RuleIndex::new`).
            id_rank[h] = rank as u32;
        }
        let mut state = PlacementState {
            availability: inv.hosts.iter().map(HostAvailability::of).collect(),
            capacity: inv.hosts.iter().map(capacity::host_capacity).collect(),
            reserved,
            ft_vms,
            anti_affinity_members,
            host_count,
            datastore_count: inv.datastores.len(),
            datastore_lost: None,
            // why: fewer than 2^32 hosts.
            by_room: (0..host_count as u32).collect(),
            room_position: vec![0; host_count],
            id_rank,
        };
        let mut by_room = std::mem::take(&mut state.by_room);
        by_room.sort_by_key(|&h| state.room_key(h as usize));
        for (position, &h) in by_room.iter().enumerate() {
            // why: fewer than 2^32 hosts.
            state.room_position[h as usize] = position as u32;
        }
        state.by_room = by_room;
        state
    }

    /// The sort key of `by_room` (smaller = more room).
    fn room_key(&self, host: usize) -> (Reverse<u64>, Reverse<u64>, u32) {
        let room = self.unreserved(host);
        (Reverse(room.memory_mb), Reverse(room.cpu_mhz), self.id_rank[host])
    }

    /// Moves `host` to its place in `by_room` after its reservations changed (insertion step:
    /// the other hosts keep their relative order).
    fn reposition(&mut self, host: usize) {
        let key = self.room_key(host);
        let mut at = self.room_position[host] as usize;
        while at > 0 && self.room_key(self.by_room[at - 1] as usize) > key {
            let other = self.by_room[at - 1];
            self.by_room[at] = other;
            // why: positions < host count < 2^32.
            self.room_position[other as usize] = at as u32;
            at -= 1;
        }
        while at + 1 < self.by_room.len() && self.room_key(self.by_room[at + 1] as usize) < key {
            let other = self.by_room[at + 1];
            self.by_room[at] = other;
            // why: positions < host count < 2^32.
            self.room_position[other as usize] = at as u32;
            at += 1;
        }
        // why: host indices and positions < host count < 2^32.
        self.by_room[at] = host as u32;
        self.room_position[host] = at as u32;
    }

    /// Host indices, most unreserved memory first, then most unreserved CPU, then host id order.
    pub(crate) fn hosts_by_room(&self) -> &[u32] {
        &self.by_room
    }

    pub fn availability(&self, host: usize) -> HostAvailability {
        self.availability[host]
    }
    pub fn set_availability(&mut self, host: usize, availability: HostAvailability) {
        self.availability[host] = availability;
    }
    pub fn is_usable(&self, host: usize) -> bool {
        self.availability[host].is_usable()
    }
    /// Capacity minus the reservations of VMs running or placed on the host.
    pub fn unreserved(&self, host: usize) -> Resources {
        self.capacity[host].saturating_sub(self.reserved[host])
    }
    /// Reservations of the VMs running or placed on the host.
    pub fn reserved(&self, host: usize) -> Resources {
        self.reserved[host]
    }
    /// FT VMs (primaries and secondaries) running or placed on the host.
    pub fn ft_vms(&self, host: usize) -> u32 {
        self.ft_vms[host]
    }
    /// Members of anti-affinity group `group` running or placed on `host`.
    pub fn anti_affinity_members_on(&self, group: usize, host: usize) -> u32 {
        self.anti_affinity_members[group * self.host_count + host]
    }

    /// Marks a datastore lost (APD/PDL) or regained on one host.
    pub fn set_datastore_lost(&mut self, host: usize, datastore: usize, lost: bool) {
        let (hosts, datastores) = (self.host_count, self.datastore_count);
        let lost_map = self.datastore_lost.get_or_insert_with(|| vec![false; hosts * datastores]);
        if let Some(cell) = lost_map.get_mut(host * datastores + datastore) {
            *cell = lost;
        }
    }
    /// Whether some datastore was ever marked lost on some host (else no check needs asking).
    pub(crate) fn may_have_lost_datastores(&self) -> bool {
        self.datastore_lost.is_some()
    }
    /// Whether the host has lost a datastore it is connected to.
    pub fn is_datastore_lost(&self, host: usize, datastore: usize) -> bool {
        match &self.datastore_lost {
            Some(lost) => lost.get(host * self.datastore_count + datastore).copied().unwrap_or(false),
            None => false,
        }
    }

    /// Books VM `vm` onto `host`: its reservation, FT count and anti-affinity groups.
    /// (`inv` is the inventory `index` was built from.)
    pub fn add_vm(&mut self, inv: &Inventory, index: &PlacementIndex, vm: usize, host: usize) {
        debug_assert!(index.fits(inv));
        self.reserved[host] = self.reserved[host].saturating_add(index.reservation(vm));
        self.reposition(host);
        if index.is_ft(vm) {
            self.ft_vms[host] += 1;
        }
        for &group in index.rules.anti_affinity_groups(vm) {
            self.anti_affinity_members[group as usize * self.host_count + host] += 1;
        }
    }

    /// Releases VM `vm` from `host` (it stopped or moved), the exact reverse of [`Self::add_vm`].
    pub fn remove_vm(&mut self, inv: &Inventory, index: &PlacementIndex, vm: usize, host: usize) {
        debug_assert!(index.fits(inv));
        self.reserved[host] = self.reserved[host].saturating_sub(index.reservation(vm));
        self.reposition(host);
        if index.is_ft(vm) {
            self.ft_vms[host] = self.ft_vms[host].saturating_sub(1);
        }
        for &group in index.rules.anti_affinity_groups(vm) {
            let cell = &mut self.anti_affinity_members[group as usize * self.host_count + host];
            *cell = cell.saturating_sub(1);
        }
    }
}

/// What every failover plan on one inventory starts from: the [`PlacementIndex`] (per-host VM
/// lists, per-VM reservations, datastore access, rule indexes) and the cluster state before any
/// failure (per-host reservations, FT and anti-affinity counts). Built once per inventory by
/// [`Inventory::placement_base`] and shared (it is immutable): a plan clones only the small
/// per-host state (O(hosts)) and changes that.
#[derive(Debug, Clone)]
pub struct PlacementBase {
    pub index: PlacementIndex,
    pub state: PlacementState,
    /// Host ids in host id order: the order of every plan's verdicts.
    pub(crate) host_ids: std::sync::Arc<[String]>,
}

impl PlacementBase {
    /// Builds both, or [`crate::Error::OutOfMemory`] when the memory they need cannot be had.
    pub fn try_new(inv: &Inventory) -> crate::Result<PlacementBase> {
        let index = PlacementIndex::try_new(inv)?;
        let state = PlacementState::new(inv, &index);
        let host_ids = super::plan::host_ids_in_order(inv, &index);
        Ok(PlacementBase { index, state, host_ids })
    }

    /// True when it was built for an inventory of this shape.
    pub fn fits(&self, inv: &Inventory) -> bool {
        self.index.fits(inv)
    }
}
