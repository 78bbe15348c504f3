//! Fault injection and the host-level faults: the argument checks every fault shares, the
//! public methods for host failure and recovery, agent failure, isolation, network partitions,
//! power outages (R-OUTAGE) and vCenter outages, [`Simulation::apply`] (a list of fault dicts),
//! and what a host failure, recovery or agent failure does to the hosts, their VMs and the
//! power-ons targeting them. Network faults only change who can talk to whom; the
//! consequences are derived in `election.rs` (R-ELECT), `views.rs` (R-CLASS-M) and
//! `isolation.rs` (R-CLASS-S, R-ISO). Storage faults are injected in `storage.rs` (R-VMCP),
//! guest heartbeat loss in `monitoring.rs` (R-VMMON), power-on failures in `restarts.rs`
//! (R-PLACE-4).

use std::collections::BTreeSet;

use serde_json::{json, Value};

use crate::error::{Error, Result};

use super::engine::{secs_ok, Action, OffReason, Role, Simulation, EPS};

impl Simulation {
    // ------------------------------------------------------------------ checking and scheduling faults

    // An id or an unambiguous name (`Inventory::resolve_*`).
    pub(super) fn host_arg(&self, id: &str) -> Result<usize> {
        self.inv.resolve_host(id)
    }

    pub(super) fn vm_arg(&self, id: &str) -> Result<usize> {
        self.inv.resolve_vm(id)
    }

    pub(super) fn ds_arg(&self, id: &str) -> Result<usize> {
        self.inv.resolve_datastore(id)
    }

    pub(super) fn at_arg(&self, name: &str, at: f64) -> Result<()> {
        secs_ok(name, at)?;
        if at + EPS < self.now {
            return Err(Error::Argument(format!("{name} = {at} is before the simulation clock ({})", self.now)));
        }
        Ok(())
    }

    fn until_arg(&self, at: f64, until: Option<f64>) -> Result<()> {
        if let Some(u) = until {
            secs_ok("until", u)?;
            if u < at {
                return Err(Error::Argument(format!("until = {u} is before at = {at}")));
            }
        }
        Ok(())
    }

    /// A fault from `at` that ends at `until` when one is given: checks both instants, then
    /// schedules the start and (with `until`) the end, each with its note.
    pub(super) fn inject_window(
        &mut self,
        at: f64,
        until: Option<f64>,
        host: Option<usize>,
        start: (Action, Value),
        end: (Action, Value),
    ) -> Result<()> {
        self.at_arg("at", at)?;
        self.until_arg(at, until)?;
        self.inject(at, start.0, host, None, start.1);
        if let Some(u) = until {
            self.inject(u, end.0, host, None, end.1);
        }
        Ok(())
    }

    // ------------------------------------------------------------------ hosts, agents, network, outage, vCenter

    /// A host fails (powers off) at `at`.
    pub fn fail_host(&mut self, host: &str, at: f64) -> Result<()> {
        let h = self.host_arg(host)?;
        self.at_arg("at", at)?;
        self.inject(at, Action::FailHosts(vec![h]), Some(h), None, json!({"type": "host_failure"}));
        Ok(())
    }

    /// A failed host comes back at `at`.
    pub fn recover_host(&mut self, host: &str, at: f64) -> Result<()> {
        let h = self.host_arg(host)?;
        self.at_arg("at", at)?;
        self.inject(at, Action::RecoverHosts(vec![h]), Some(h), None, json!({"type": "host_recovery"}));
        Ok(())
    }

    /// The FDM agent of a host stops at `at` (the host and its VMs keep running) until `until`:
    /// the master reports it `fdmUnreachable` (it answers ping) and restarts nothing.
    pub fn fail_agent(&mut self, host: &str, at: f64, until: Option<f64>) -> Result<()> {
        let h = self.host_arg(host)?;
        let start = (Action::AgentDown(h), json!({"type": "agent_failure"}));
        self.inject_window(at, until, Some(h), start, (Action::AgentUp(h), json!({"type": "agent_recovery"})))
    }

    /// A host's management network is cut off from `at` (storage still reachable) until `until`;
    /// it reaches no isolation address.
    pub fn isolate_host(&mut self, host: &str, at: f64, until: Option<f64>) -> Result<()> {
        self.isolate_host_with(host, at, until, Some(Vec::new()), None)
    }

    /// [`Simulation::isolate_host`] with the isolation addresses the host still reaches
    /// (R-DOMAIN; `None`: none). A host that reaches any is partitioned, not isolated: it
    /// elects itself but declares no isolation and applies no response. `network`
    /// (R-DOMAIN): `"management"` or `"vsan"`, `None` the network HA uses (vSAN's when
    /// `cluster.vsan.enabled`); with vSAN a management-only fault has no effect on HA.
    pub fn isolate_host_with(
        &mut self,
        host: &str,
        at: f64,
        until: Option<f64>,
        reachable: Option<Vec<String>>,
        network: Option<&str>,
    ) -> Result<()> {
        let h = self.host_arg(host)?;
        let reachable = reachable.unwrap_or_default();
        let reach = self.reach_arg(Some(&reachable))?;
        let mut note = json!({"type": "isolation"});
        if !reachable.is_empty() {
            note["reachable_addresses"] = json!(reachable);
        }
        let start = (Action::IsolateStart(h, reach), note);
        let end = (Action::IsolateEnd(h), json!({"type": "isolation_end"}));
        self.network_window(at, until, Some(h), network, start, end)
    }

    /// The network splits into `groups` (host ids) from `at` until `until`. Hosts in no group
    /// form one more group together. The hosts still reach every isolation address.
    pub fn partition(&mut self, groups: Vec<Vec<String>>, at: f64, until: Option<f64>) -> Result<()> {
        self.partition_with(groups, at, until, None, None)
    }

    /// [`Simulation::partition`] with the isolation addresses the hosts of the groups still
    /// reach (R-DOMAIN; `None`: every one). A host alone in its group that reaches none is
    /// isolated (R-CLASS-S). `network`: see [`Simulation::isolate_host_with`].
    pub fn partition_with(
        &mut self,
        groups: Vec<Vec<String>>,
        at: f64,
        until: Option<f64>,
        reachable: Option<Vec<String>>,
        network: Option<&str>,
    ) -> Result<()> {
        let mut idx = Vec::new();
        let mut seen = BTreeSet::new();
        for g in &groups {
            let mut row = Vec::new();
            for id in g {
                let h = self.host_arg(id)?;
                if !seen.insert(h) {
                    return Err(Error::Argument(format!("host '{id}' is in two partition groups")));
                }
                row.push(h);
            }
            idx.push(row);
        }
        let reach = self.reach_arg(reachable.as_deref())?;
        // The event records ids, whatever names the caller used.
        let ids: Vec<Value> = idx.iter().map(|row| json!(self.host_ids(row))).collect();
        let mut note = json!({"type": "partition", "groups": ids});
        if let Some(r) = &reachable {
            note["reachable_addresses"] = json!(r);
        }
        let start = (Action::PartitionStart(idx, reach), note);
        let end = (Action::PartitionEnd, json!({"type": "partition_end"}));
        self.network_window(at, until, None, network, start, end)
    }

    /// Every host loses power at `at`; all come back at `restore_at`.
    pub fn power_outage(&mut self, at: f64, restore_at: Option<f64>) -> Result<()> {
        let all: Vec<usize> = (0..self.hosts.len()).collect();
        let start = (Action::FailHosts(all.clone()), json!({"type": "power_outage"}));
        self.inject_window(at, restore_at, None, start, (Action::RecoverHosts(all), json!({"type": "power_restore"})))
    }

    /// vCenter is unavailable from `at` until `until`: HA keeps working without it, but DRS and
    /// DPM do not help restarts meanwhile (R-PLACE-DRS).
    pub fn vcenter_unavailable(&mut self, at: f64, until: Option<f64>) -> Result<()> {
        let start = (Action::Vcenter(false), json!({"type": "vcenter_unavailable"}));
        self.inject_window(at, until, None, start, (Action::Vcenter(true), json!({"type": "vcenter_available"})))
    }

    // ------------------------------------------------------------------ apply()

    /// Applies a list of fault dicts (see the module documentation). Nothing is applied when
    /// any entry is invalid; every problem is reported with its path (`events[3].host`).
    pub fn apply(&mut self, events: &Value) -> Result<()> {
        let faults = super::scenario::parse_events(&self.inv, events, "events", self.now)?;
        for f in faults {
            f.apply_to(self)?;
        }
        Ok(())
    }

    // ------------------------------------------------------------------ applying host and network faults

    pub(super) fn fail_hosts(&mut self, hs: &[usize]) {
        for &h in hs {
            if !self.hosts[h].alive {
                continue;
            }
            let was_master = self.hosts[h].role == Role::Master;
            self.hosts[h].alive = false;
            self.hosts[h].stand_down();
            let on_host: Vec<usize> = self.vms_at[h].iter().copied().filter(|&v| self.vms[v].on).collect();
            for v in on_host {
                self.power_off(v, OffReason::Crash);
            }
            for v in 0..self.vms.len() {
                if self.vms[v].dups.contains(&h) {
                    self.vms[v].dups.retain(|&d| d != h);
                    self.place.remove_vm(&self.inv, &self.index, v, h);
                }
            }
            let targeting: Vec<usize> =
                self.inflight.iter().filter(|(_, a)| a.host == h && !a.target_lost).map(|(&v, _)| v).collect();
            for v in targeting {
                if let Some(a) = self.inflight.get_mut(&v) {
                    a.target_lost = true;
                }
                self.place.remove_vm(&self.inv, &self.index, v, h);
            }
            if was_master {
                self.stop_reporting(h);
                self.release_locks(h);
            }
        }
        self.vsan_quorum(true);
        self.reconcile();
        self.vsan_quorum(false);
    }

    pub(super) fn recover_hosts(&mut self, hs: &[usize]) {
        for &h in hs {
            let rt = &mut self.hosts[h];
            if rt.alive || !rt.ha {
                continue;
            }
            rt.alive = true;
            rt.agent_down = false;
            rt.role = Role::Down;
            rt.elect_at = None;
            rt.announced = false;
            rt.iso_flag = false;
        }
        self.vsan_quorum(true);
        self.reconcile();
        self.vsan_quorum(false);
    }

    pub(super) fn agent_down(&mut self, h: usize) {
        if !self.fdm(h) {
            return;
        }
        let was_master = self.hosts[h].role == Role::Master;
        self.hosts[h].agent_down = true;
        self.hosts[h].stand_down();
        if was_master {
            self.stop_reporting(h);
            self.release_locks(h);
        }
        self.reconcile();
    }

    /// An `agent_recovery`: the FDM agent runs again and boots into an election.
    pub(super) fn agent_up(&mut self, h: usize) {
        if self.hosts[h].agent_down {
            self.hosts[h].agent_down = false;
            self.hosts[h].role = Role::Down;
            self.reconcile();
        }
    }

    /// An `isolation` starts: the host is alone on its segment.
    pub(super) fn isolate_start(&mut self, h: usize, reaches_address: bool) {
        self.hosts[h].isolated = true;
        self.hosts[h].iso_reaches_address = reaches_address;
        self.vsan_quorum(true);
        self.reconcile();
        self.vsan_quorum(false);
    }

    /// An `isolation_end`: the host is back on the default network.
    pub(super) fn isolate_end(&mut self, h: usize) {
        self.hosts[h].isolated = false;
        self.hosts[h].iso_reaches_address = false;
        self.vsan_quorum(true);
        self.reconcile();
        self.vsan_quorum(false);
    }

    /// A `partition` starts: each group is a segment of its own, the rest one more.
    pub(super) fn partition_start(&mut self, groups: Vec<Vec<usize>>, reaches_address: bool) {
        for h in &mut self.hosts {
            h.part_seg = 0;
            h.part_no_address = !reaches_address;
        }
        for (i, g) in groups.iter().enumerate() {
            for &h in g {
                // why: i indexes a partition group, fewer than hosts (< 2^32).
                self.hosts[h].part_seg = i as u32 + 1;
            }
        }
        self.vsan_quorum(true);
        self.reconcile();
        self.vsan_quorum(false);
    }

    /// A `partition_end`: every host is back on the default network.
    pub(super) fn partition_end(&mut self) {
        for h in &mut self.hosts {
            h.part_seg = 0;
            h.part_no_address = false;
        }
        self.vsan_quorum(true);
        self.reconcile();
        self.vsan_quorum(false);
    }
}
