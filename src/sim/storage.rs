//! R-VMCP in the simulation (VM Component Protection, 6.0 and later) and the legacy PDL
//! termination: injecting APD and PDL, the APD timeout (`Misc.APDTimeout`) per host, the
//! termination `apd_delay_s` later under `restartConservative` / `restartAggressive` (the
//! conservative one only when an acting master can place the VM; a split-brain copy left on
//! the host is terminated without a restart, R-DOMAIN), the reset when APD clears
//! late (`vmReactionOnAPDCleared = reset`), and PDL kills (`restartAggressive` or
//! `disk.terminateVMOnPDLDefault`, with the R-OUTAGE `das.maskCleanShutdownEnabled` case).
//! A datastore in APD/PDL is not reachable from that host for election ranking (R-ELECT,
//! `election.rs`), heartbeats (R-CLASS-M, `views.rs`), locks, or placement; terminated VMs
//! are restarted by `restarts.rs` (R-PLACE-4).

use std::collections::BTreeSet;

use serde_json::json;

use crate::error::Result;
use crate::model::{ApdClearedReaction, StorageProtection, Version};
use crate::placement::{place_vm, Outcome};

use super::engine::{Action, OffReason, Simulation};
use super::event::EventKind;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum DsFault {
    Apd,
    Pdl,
}

#[derive(Debug, Clone)]
pub(super) struct DsFaultRec {
    pub(super) kind: DsFault,
    pub(super) gen: u64,
    pub(super) timed_out: bool,
}

impl Simulation {
    /// All paths down to a datastore from `at` until `until`, on `hosts` (default: every host
    /// connected to it).
    pub fn datastore_apd(&mut self, ds: &str, at: f64, until: Option<f64>, hosts: Option<Vec<String>>) -> Result<()> {
        let d = self.ds_arg(ds)?;
        let ds = self.inv.datastores[d].id.clone(); // an id, whatever name the caller used
        let hs = self.ds_hosts(d, hosts)?;
        let ids = self.host_ids(&hs);
        let start = (
            Action::ApdStart { ds: d, hosts: hs.clone() },
            json!({"type": "datastore_apd", "datastore": ds, "hosts": ids}),
        );
        let end =
            (Action::ApdEnd { ds: d, hosts: hs }, json!({"type": "datastore_apd_end", "datastore": ds, "hosts": ids}));
        self.inject_window(at, until, None, start, end)
    }

    /// Permanent device loss of a datastore at `at` on `hosts` (default: every host connected to it).
    pub fn datastore_pdl(&mut self, ds: &str, at: f64, hosts: Option<Vec<String>>) -> Result<()> {
        let d = self.ds_arg(ds)?;
        let ds = self.inv.datastores[d].id.clone(); // an id, whatever name the caller used
        let hs = self.ds_hosts(d, hosts)?;
        self.at_arg("at", at)?;
        let ids = self.host_ids(&hs);
        self.inject(
            at,
            Action::Pdl { ds: d, hosts: hs },
            None,
            None,
            json!({"type": "datastore_pdl", "datastore": ds, "hosts": ids}),
        );
        Ok(())
    }

    fn ds_hosts(&self, d: usize, hosts: Option<Vec<String>>) -> Result<Vec<usize>> {
        match hosts {
            None => Ok((0..self.hosts.len()).filter(|&h| self.connected[h][d]).collect()),
            Some(ids) => {
                let mut out = BTreeSet::new();
                for id in &ids {
                    out.insert(self.host_arg(id)?);
                }
                Ok(out.into_iter().collect())
            }
        }
    }

    // ------------------------------------------------------------------ APD

    fn vm_uses(&self, v: usize, d: usize) -> bool {
        let id = &self.inv.datastores[d].id;
        let vm = &self.inv.vms[v];
        vm.home_datastore == *id || vm.datastores.iter().any(|x| x == id)
    }

    fn storage_changed(&mut self) {
        self.avail_for = None;
        self.claim_locks();
        self.refresh_views();
    }

    pub(super) fn apd_start(&mut self, d: usize, hosts: &[usize]) {
        let timeout = self.inv.options().apd_timeout_s;
        for &h in hosts {
            if !self.connected[h][d] || self.ds_faults.contains_key(&(h, d)) {
                continue;
            }
            let gen = self.next_gen();
            self.ds_faults.insert((h, d), DsFaultRec { kind: DsFault::Apd, gen, timed_out: false });
            self.place.set_datastore_lost(h, d, true);
            self.schedule(self.now + timeout, Action::ApdTimeout { h, ds: d, gen });
        }
        self.storage_changed();
    }

    pub(super) fn apd_end(&mut self, d: usize, hosts: &[usize]) {
        let reset = self.inv.cluster.vmcp.apd_cleared == ApdClearedReaction::Reset;
        for &h in hosts {
            let Some(rec) = self.ds_faults.get(&(h, d)) else {
                continue;
            };
            if rec.kind != DsFault::Apd {
                continue;
            }
            let timed_out = rec.timed_out;
            self.ds_faults.remove(&(h, d));
            self.place.set_datastore_lost(h, d, false);
            // Pending terminations on this host/datastore are cancelled.
            let pending: Vec<usize> = self.vmcp_pending.keys().filter(|(_, hh)| *hh == h).map(|(v, _)| *v).collect();
            for v in pending {
                if !self.vm_uses(v, d) {
                    continue;
                }
                self.vmcp_pending.remove(&(v, h));
                if timed_out && reset && self.vms[v].on && self.vms[v].host == Some(h) {
                    self.vms[v].up_since = self.now;
                    self.vms[v].gen += 1;
                    self.emit(
                        EventKind::VmReset,
                        Some(h),
                        Some(v),
                        json!({"reason": "APD cleared after the APD timeout (vmReactionOnAPDCleared = reset)", "datastore": self.inv.datastores[d].id}),
                    );
                }
            }
        }
        self.storage_changed();
    }

    fn apd_policy(&self, v: usize) -> StorageProtection {
        if !self.inv.cluster.version.at_least(Version::V6_0) {
            return StorageProtection::Disabled;
        }
        self.inv.vms[v].vmcp.as_ref().and_then(|o| o.apd).unwrap_or(self.inv.cluster.vmcp.apd)
    }

    pub(super) fn apd_timeout(&mut self, h: usize, d: usize, gen: u64) {
        let Some(rec) = self.ds_faults.get_mut(&(h, d)) else {
            return;
        };
        if rec.gen != gen || !self.hosts[h].alive {
            return;
        }
        rec.timed_out = true;
        self.emit(EventKind::ApdTimeout, Some(h), None, json!({"datastore": self.inv.datastores[d].id}));
        let delay = self.inv.cluster.vmcp.apd_delay_s as f64;
        let mut vms: Vec<usize> =
            self.vms_at[h].iter().copied().filter(|&v| self.vms[v].on && self.vm_uses(v, d)).collect();
        // Copies left running here after the VM was restarted elsewhere (split brain): VMCP
        // terminates them too (R-DOMAIN), without a restart.
        vms.extend((0..self.vms.len()).filter(|&v| self.vms[v].dups.contains(&h) && self.vm_uses(v, d)));
        for v in vms {
            match self.apd_policy(v) {
                StorageProtection::RestartConservative | StorageProtection::RestartAggressive => {
                    if self.vmcp_pending.contains_key(&(v, h)) {
                        continue;
                    }
                    let g = self.next_gen();
                    self.vmcp_pending.insert((v, h), g);
                    self.schedule(self.now + delay, Action::VmcpTerminate { vm: v, h, ds: d, gen: g });
                }
                _ => {}
            }
        }
    }

    pub(super) fn vmcp_terminate(&mut self, v: usize, h: usize, d: usize, gen: u64) {
        if self.vmcp_pending.get(&(v, h)) != Some(&gen) {
            return;
        }
        self.vmcp_pending.remove(&(v, h));
        if !self.ds_faults.contains_key(&(h, d)) {
            return;
        }
        let policy = self.apd_policy(v);
        if self.vms[v].on && self.vms[v].dups.contains(&h) {
            // A copy left here when the VM was restarted elsewhere (split brain): the VM runs on
            // a host with its storage, so it is terminated without a restart, under either policy
            // (the conservative condition, a host that can run it, holds).
            self.vms[v].dups.retain(|&x| x != h);
            self.place.remove_vm(&self.inv, &self.index, v, h);
            let running_on = self.vms[v].host.map(|x| self.inv.hosts[x].id.clone());
            self.emit(
                EventKind::VmTerminated,
                Some(h),
                Some(v),
                json!({"condition": "APD", "datastore": self.inv.datastores[d].id, "policy": policy.as_str(), "running_on": running_on}),
            );
            self.reservation_freed(h);
            return;
        }
        if !self.vms[v].on || self.vms[v].host != Some(h) {
            return;
        }
        if policy == StorageProtection::RestartConservative {
            // Only when a host that can run it is known to a master.
            let masters: Vec<usize> = self.managers.keys().copied().filter(|&m| self.reporting(m)).collect();
            let known = masters.into_iter().find(|&m| self.handler(m, v) == m).is_some_and(|m| {
                self.set_availability(m);
                match place_vm(&self.inv, &self.index, &mut self.place, v) {
                    Outcome::Placed { host, .. } => {
                        self.place.remove_vm(&self.inv, &self.index, v, host);
                        true
                    }
                    Outcome::Unplaced { .. } => false,
                }
            });
            if !known {
                self.emit(
                    EventKind::VmcpNoAction,
                    Some(h),
                    Some(v),
                    json!({"reason": "restartConservative: no host known that can run it", "datastore": self.inv.datastores[d].id}),
                );
                return;
            }
        }
        self.power_off(v, OffReason::Terminated);
        self.emit(
            EventKind::VmTerminated,
            Some(h),
            Some(v),
            json!({"condition": "APD", "datastore": self.inv.datastores[d].id, "policy": policy.as_str()}),
        );
        self.consider_all(&[v]);
    }

    // ------------------------------------------------------------------ PDL

    pub(super) fn pdl(&mut self, d: usize, hosts: &[usize]) {
        let v6 = self.inv.cluster.version.at_least(Version::V6_0);
        let legacy = self.inv.options().terminate_vm_on_pdl_default;
        let mask = self.inv.options().mask_clean_shutdown;
        let mut killed = Vec::new();
        for &h in hosts {
            if !self.connected[h][d] {
                continue;
            }
            let gen = self.next_gen();
            self.ds_faults.insert((h, d), DsFaultRec { kind: DsFault::Pdl, gen, timed_out: false });
            self.place.set_datastore_lost(h, d, true);
            self.vmcp_pending.retain(|(_, hh), _| *hh != h);
            let vms: Vec<usize> =
                self.vms_at[h].iter().copied().filter(|&v| self.vms[v].on && self.vm_uses(v, d)).collect();
            for v in vms {
                let policy = self.inv.vms[v].vmcp.as_ref().and_then(|o| o.pdl).unwrap_or(self.inv.cluster.vmcp.pdl);
                let vmcp = v6 && policy == StorageProtection::RestartAggressive;
                if !vmcp && !legacy {
                    continue;
                }
                let home_lost =
                    self.inv.datastore_idx(&self.inv.vms[v].home_datastore).is_none_or(|hd| !self.access(h, hd));
                let label = if vmcp { "restartAggressive" } else { "disk.terminateVMOnPDLDefault" };
                if !vmcp && home_lost && !mask {
                    // The clean-power-off flag cannot be written and 5.0 does not mask it: HA
                    // takes the VM for cleanly powered off (R-OUTAGE das.maskCleanShutdownEnabled).
                    self.power_off(v, OffReason::Clean);
                    self.vms[v].want = false;
                    self.emit(
                        EventKind::VmTerminated,
                        Some(h),
                        Some(v),
                        json!({"condition": "PDL", "datastore": self.inv.datastores[d].id, "policy": label}),
                    );
                    self.emit(
                        EventKind::VmNotRestarted,
                        None,
                        Some(v),
                        json!({"reason": "cleanPowerOff assumed (das.maskCleanShutdownEnabled=false)"}),
                    );
                } else {
                    self.power_off(v, OffReason::Terminated);
                    self.emit(
                        EventKind::VmTerminated,
                        Some(h),
                        Some(v),
                        json!({"condition": "PDL", "datastore": self.inv.datastores[d].id, "policy": label}),
                    );
                    killed.push(v);
                }
            }
        }
        self.storage_changed();
        if !killed.is_empty() {
            self.consider_all(&killed);
        }
    }
}
