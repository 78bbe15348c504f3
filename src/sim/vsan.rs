//! vSAN quorum in the simulation (R-DOMAIN). With `cluster.vsan.enabled`, HA's network
//! heartbeats and election traffic use the vSAN network, so the network partitions the engine
//! derives (partitions, isolations, site partitions) are vSAN network partitions too. A vSAN
//! datastore (type `vSAN`) is accessible only from the partition that holds a strict majority
//! of the votes: one vote per fault domain (per host when it has none), counted for the
//! partition of the domain's first live host in inventory order; in a stretched cluster the
//! witness adds one vote, siding with the partition of the preferred site's first live host,
//! or, when every host of the preferred site is down, of the secondary site's first live host
//! (a preferred-site failure leaves the secondary site and the witness with 2 of 3 votes).
//! Failed hosts vote for no partition. Hosts outside the majority partition lose the vSAN
//! datastores they are connected to: an APD of those datastores on those hosts (`storage.rs`,
//! R-VMCP: APD timeout, VMCP termination, restart on the majority side by its master), shown
//! as a `vsan_access` event. Access comes back (the APD ends) when the host is again in the
//! majority partition. Without vSAN datastores nothing happens.
//!
//! Engine rules: votes are one per fault domain, not per object component (vSAN's real
//! per-object votes depend on the storage policy, which the inventory does not carry); a vSAN
//! APD injected by `datastore_apd` and one caused by quorum are kept apart, the quorum only
//! ends the APDs it started.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::json;

use crate::model::DatastoreType;

use super::engine::Simulation;
use super::event::EventKind;

impl Simulation {
    /// Recomputes vSAN quorum after a change of hosts or network partitions (see the module
    /// documentation); a no-op without vSAN or vSAN datastores. Called twice per change:
    /// `regain` before the partitions are re-derived (so a healed partition's election ranks
    /// hosts with their vSAN datastores back, R-ELECT-1), losses after.
    pub(super) fn vsan_quorum(&mut self, regain: bool) {
        if !self.inv.cluster.vsan.enabled {
            return;
        }
        let vds: Vec<usize> =
            (0..self.inv.datastores.len()).filter(|&d| self.inv.datastores[d].ds_type == DatastoreType::Vsan).collect();
        if vds.is_empty() {
            return;
        }
        // Votes: one per fault domain (host id when none), plus the witness.
        let domain = |h: usize| -> &str {
            let host = &self.inv.hosts[h];
            host.fault_domain.as_deref().unwrap_or(&host.id)
        };
        let domains: BTreeSet<&str> = (0..self.hosts.len()).map(domain).collect();
        let stretched = self.inv.cluster.vsan.stretched.as_ref();
        let total = domains.len() + usize::from(stretched.is_some());
        let mut votes: BTreeMap<u64, usize> = BTreeMap::new();
        let mut counted: BTreeSet<&str> = BTreeSet::new();
        for h in 0..self.hosts.len() {
            if self.hosts[h].alive && counted.insert(domain(h)) {
                *votes.entry(self.segment(h)).or_default() += 1;
            }
        }
        if let Some(st) = stretched {
            // The witness (third site, linked to both data sites) sides with the preferred site
            // while a host of it is alive; when the whole preferred site is down it sides with
            // the secondary site, which keeps the data (vSAN stretched cluster failure handling).
            let first_live = |site: &str| {
                (0..self.hosts.len()).find(|&h| self.hosts[h].alive && self.inv.hosts[h].site.as_deref() == Some(site))
            };
            if let Some(h) = first_live(&st.preferred_site).or_else(|| first_live(&st.secondary_site)) {
                *votes.entry(self.segment(h)).or_default() += 1;
            }
        }
        let majority = votes.iter().find(|(_, &v)| 2 * v > total).map(|(&s, _)| s);
        for d in vds {
            let mut lost = Vec::new();
            let mut regained = Vec::new();
            for h in 0..self.hosts.len() {
                if !self.hosts[h].alive || !self.connected[h][d] {
                    continue;
                }
                let ok = majority == Some(self.segment(h));
                let is_lost = self.vsan_lost.contains(&(h, d));
                if !regain && !ok && !is_lost && !self.ds_faults.contains_key(&(h, d)) {
                    lost.push(h);
                } else if regain && ok && is_lost {
                    regained.push(h);
                }
            }
            for (hosts, accessible) in [(regained, true), (lost, false)] {
                if hosts.is_empty() {
                    continue;
                }
                let seg = self.segment(hosts[0]);
                let v = votes.get(&seg).copied().unwrap_or(0);
                self.emit(
                    EventKind::VsanAccess,
                    None,
                    None,
                    json!({"datastore": self.inv.datastores[d].id, "hosts": self.host_ids(&hosts),
                           "accessible": accessible, "votes": v, "total_votes": total}),
                );
                for &h in &hosts {
                    if accessible {
                        self.vsan_lost.remove(&(h, d));
                    } else {
                        self.vsan_lost.insert((h, d));
                    }
                }
                if accessible {
                    self.apd_end(d, &hosts);
                    self.power_off_lost_copies(d, &hosts);
                } else {
                    self.apd_start(d, &hosts);
                }
            }
        }
    }

    /// Hosts that regain the vSAN datastore `d` power off their copies of the VMs on `d` that
    /// run twice (split brain) and whose lock they lost: the majority side restarted those VMs
    /// while these hosts could not reach `d`, and the objects are now the other copy's. Without
    /// this, a copy on a host whose master stays at the heal (so it never rejoins another master)
    /// would run on after the partition.
    fn power_off_lost_copies(&mut self, d: usize, hosts: &[usize]) {
        let id = self.inv.datastores[d].id.clone();
        for v in 0..self.vms.len() {
            let vm = &self.inv.vms[v];
            if vm.home_datastore != id && !vm.datastores.contains(&id) {
                continue;
            }
            let stale: Vec<usize> = self.vms[v].dups.iter().copied().filter(|h| hosts.contains(h)).collect();
            for h in stale {
                self.vms[v].dups.retain(|&x| x != h);
                self.place.remove_vm(&self.inv, &self.index, v, h);
                self.emit(
                    EventKind::VmPoweredOff,
                    Some(h),
                    Some(v),
                    json!({"reason": format!(
                        "duplicate copy: lock lost, powered off when {} was accessible again", id
                    )}),
                );
            }
        }
    }
}
