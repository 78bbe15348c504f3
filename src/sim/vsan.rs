//! vSAN quorum in the simulation (R-DOMAIN). With `cluster.vsan.enabled`, HA's network
//! heartbeats and election traffic use the vSAN network, so the network partitions the engine
//! derives (partitions, isolations, site partitions) are vSAN network partitions too. A vSAN
//! datastore (type `vSAN`) is accessible only from the partition that holds a strict majority
//! of the votes: one vote per fault domain (per host when it has none), counted for the
//! partition of the domain's first live host in inventory order; in a stretched cluster the
//! witness adds one vote, siding with the partition of the preferred site's first live host.
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
            let preferred = (0..self.hosts.len()).find(|&h| {
                self.hosts[h].alive && self.inv.hosts[h].site.as_deref() == Some(st.preferred_site.as_str())
            });
            if let Some(h) = preferred {
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
                } else {
                    self.apd_start(d, &hosts);
                }
            }
        }
    }
}
