//! Capacity arithmetic shared by admission control, placement and sweeps: which hosts count,
//! what each VM reserves, and how much of each host is unreserved. One implementation.

use crate::model::{ConnectionState, Host, Inventory, Vm};

/// CPU and memory, MHz and MB.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Resources {
    pub cpu_mhz: u64,
    pub memory_mb: u64,
}

impl Resources {
    pub fn new(cpu_mhz: u64, memory_mb: u64) -> Self {
        Resources { cpu_mhz, memory_mb }
    }
    /// Component-wise `self - other`, saturating at 0.
    pub fn saturating_sub(self, other: Resources) -> Resources {
        Resources::new(self.cpu_mhz.saturating_sub(other.cpu_mhz), self.memory_mb.saturating_sub(other.memory_mb))
    }
    pub fn add(self, other: Resources) -> Resources {
        Resources::new(self.cpu_mhz + other.cpu_mhz, self.memory_mb + other.memory_mb)
    }
    /// Component-wise `self + other`, saturating at `u64::MAX` (sums over whole clusters).
    pub fn saturating_add(self, other: Resources) -> Resources {
        Resources::new(self.cpu_mhz.saturating_add(other.cpu_mhz), self.memory_mb.saturating_add(other.memory_mb))
    }
    /// Both components at least those of `need`.
    pub fn covers(self, need: Resources) -> bool {
        self.cpu_mhz >= need.cpu_mhz && self.memory_mb >= need.memory_mb
    }
}

/// A host's capacity usable by VMs.
pub fn host_capacity(h: &Host) -> Resources {
    Resources::new(h.cpu_mhz, h.memory_mb)
}

/// What a placed VM holds on its host: CPU reservation, memory reservation plus overhead
/// (R-PLACE-2 "unreserved").
pub fn vm_reservation(vm: &Vm) -> Resources {
    Resources::new(vm.cpu_reservation_mhz, vm.memory_demand_mb())
}

/// What admission control counts for a VM whose reservation (CPU, memory + overhead) is
/// `reservation` (R-AC-SLOT, R-AC-PCT): the CPU reservation raised to `das.vmCpuMinMHz`; memory
/// reservation plus overhead as is (`das.vmMemoryMinMB` only floors the slot, not the VM).
pub fn admission_demand(reservation: Resources, vm_cpu_min_mhz: u64) -> Resources {
    Resources::new(reservation.cpu_mhz.max(vm_cpu_min_mhz), reservation.memory_mb)
}

/// Counted by admission control (R-AC-0): not in maintenance or standby, not disconnected, not
/// treated as failed by the caller (`failed`: a what-if loss). A `notResponding` host still in
/// the cluster is counted unless `engine.admissionCountsFailedHosts=false` (`counts_failed`).
pub fn host_is_counted(h: &Host, failed: bool, counts_failed: bool) -> bool {
    if failed || h.maintenance || h.standby {
        return false;
    }
    match h.state {
        ConnectionState::Connected => true,
        ConnectionState::NotResponding => counts_failed,
        ConnectionState::Disconnected => false,
    }
}

/// Reservations of powered-on VMs per host index (VMs with no known host hold nothing).
pub fn reserved_by_host(inv: &Inventory) -> Vec<Resources> {
    let mut reserved = vec![Resources::default(); inv.hosts.len()];
    for vm in inv.vms.iter().filter(|v| v.is_powered_on()) {
        if let Some(h) = vm.host.as_deref().and_then(|h| inv.host_idx(h)) {
            reserved[h] = reserved[h].add(vm_reservation(vm));
        }
    }
    reserved
}

/// Unreserved capacity per host index: capacity minus reservations of powered-on VMs there.
pub fn unreserved_by_host(inv: &Inventory) -> Vec<Resources> {
    inv.hosts.iter().zip(reserved_by_host(inv)).map(|(h, r)| host_capacity(h).saturating_sub(r)).collect()
}
