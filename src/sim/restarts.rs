//! R-PLACE-4 and R-OUTAGE in the simulation: which VMs an acting master restarts (those of a
//! host it declares `hostDown`, those powered off by an isolation response or terminated by
//! VMCP, and, `newMasterRestartDelaySec` after it is elected, every protected VM not running
//! and not cleanly powered off — which covers R-OUTAGE), which master does (the holder of the
//! home datastore's protectedlist lock), and how: one priority class at a time in R-PLACE-1
//! order, placed by R-PLACE-2/R-PLACE-3 ([`crate::placement`]), at most
//! `das.perHostConcurrentFailoversLimit` power-ons in flight per host (from 6.5 a lower class
//! waits for the higher classes to be ready, R-ORCH), retries on the R-PLACE-4
//! schedule up to `das.maxvmrestartcount`, at once when capacity appears; completions, failed
//! power-ons and split brain. Hosts are declared down in `views.rs` (R-CLASS-M), masters
//! elected in `election.rs` (R-ELECT), VMs powered off by `isolation.rs` (R-ISO) and
//! terminated by `storage.rs` (R-VMCP).

use std::collections::{BTreeMap, BTreeSet};

use ordered_float::OrderedFloat;
use serde_json::json;

use crate::classify::HostState;
use crate::error::Result;
use crate::model::{ReadyCondition, RestartPriority, Version};
use crate::placement::{place_vm, restart_order, HostAvailability, Outcome, RestartClass};

use super::engine::{Action, OffReason, Simulation, EPS};
use super::event::EventKind;

/// A VM an acting master is restarting: its attempts so far and when the next is due.
#[derive(Debug, Clone)]
pub(super) struct Entry {
    pub(super) attempts: u32,
    pub(super) first_at: f64,
    pub(super) next_at: f64,
    pub(super) in_flight: bool,
    pub(super) last_unplaced: bool,
    /// When the last attempt was issued.
    pub(super) last_at: f64,
    pub(super) gave_up: bool,
    /// DRS or DPM already made room for the attempt due now (R-PLACE-DRS, `drs.rs`): if it
    /// still finds no host, it is unplaced.
    pub(super) drs_done: bool,
}

#[derive(Debug, Clone)]
pub(super) struct Manager {
    pub(super) epoch: u64,
    pub(super) entries: BTreeMap<usize, Entry>,
    pub(super) pump_times: BTreeSet<u64>,
    /// Orchestrated restart (R-ORCH, 6.5 and later).
    pub(super) orch: Orch,
}

/// A master's orchestrated-restart state (R-ORCH): when each priority class was first issued,
/// and the VMs issued that are not ready yet.
#[derive(Debug, Clone, Default)]
pub(super) struct Orch {
    /// Priority class rank → when its first attempt was issued.
    class_issued: BTreeMap<u8, f64>,
    /// VM → (its class rank, when its last attempt was issued).
    unready: BTreeMap<usize, (u8, f64)>,
}

#[derive(Debug, Clone)]
pub(super) struct Inflight {
    pub(super) id: u64,
    pub(super) host: usize,
    pub(super) master: usize,
    pub(super) epoch: u64,
    pub(super) attempt: u32,
    pub(super) target_lost: bool,
}

impl Simulation {
    /// The next `attempts` power-on attempts of a VM fail (to exercise retries).
    pub fn vm_power_on_failure(&mut self, vm: &str, attempts: u32) -> Result<()> {
        let v = self.vm_arg(vm)?;
        self.vms[v].power_on_failures = self.vms[v].power_on_failures.saturating_add(attempts);
        Ok(())
    }

    // ------------------------------------------------------------------ which VMs, and which master

    pub(super) fn on_host_down(&mut self, m: usize, s: usize) {
        let vms: Vec<usize> = self.vms_at[s].iter().copied().collect();
        for &v in &vms {
            let vm = &self.inv.vms[v];
            let rt = &self.vms[v];
            if !rt.not_restarted_reported
                && vm.protected
                && !vm.clean_power_off
                && self.inv.effective_restart_priority(vm) == RestartPriority::Disabled
                && (rt.off == OffReason::Crash || rt.on)
            {
                self.vms[v].not_restarted_reported = true;
                // The reason code is the placement plan's (`NotRestartedReason::RestartDisabled`).
                let why = if self.inv.cluster.version.at_least(Version::V6_0) {
                    "restartDisabled: re-registered, not powered on"
                } else {
                    "restartDisabled"
                };
                self.emit(EventKind::VmNotRestarted, None, Some(v), json!({"reason": why}));
            }
        }
        if self.inv.cluster.host_monitoring {
            self.consider(m, &vms);
        }
    }

    /// Whether master `m` restarts VM `v` now (R-PLACE "which VMs").
    fn needs_restart(&self, m: usize, v: usize) -> bool {
        let rt = &self.vms[v];
        if !rt.want {
            return false;
        }
        let down = |h: usize| self.views.get(&(m, h)).is_some_and(|w| w.decided && w.state == HostState::HostDown);
        if rt.on {
            return rt.host.is_some_and(|h| h != m && down(h));
        }
        match rt.off {
            OffReason::Running | OffReason::Clean => false,
            OffReason::Crash => {
                self.inv.cluster.host_monitoring && rt.host.is_none_or(|h| down(h) || (self.same_comp(m, h)))
            }
            OffReason::HaPowerOff | OffReason::Terminated | OffReason::Initial => true,
        }
    }

    /// The master that restarts `v`: the holder of its home datastore's protectedlist lock,
    /// else `m`.
    pub(super) fn handler(&self, m: usize, v: usize) -> usize {
        let home = self.inv.datastore_idx(&self.inv.vms[v].home_datastore);
        match home.and_then(|d| self.locks[d]) {
            Some(o) if self.reporting(o) => o,
            _ => m,
        }
    }

    pub(super) fn consider_all(&mut self, vms: &[usize]) {
        let masters: Vec<usize> = self.managers.keys().copied().collect();
        for m in masters {
            self.consider(m, vms);
        }
    }

    pub(super) fn consider(&mut self, m: usize, vms: &[usize]) {
        if !self.reporting(m) || !self.managers.contains_key(&m) {
            return;
        }
        let mut added = false;
        for &v in vms {
            if self.handler(m, v) != m
                || !self.needs_restart(m, v)
                || self.inflight.contains_key(&v)
                || self.drs_waiting(v)
            {
                continue;
            }
            let now = self.now;
            // why: `managers` has `m` (checked on entry) and nothing in this loop removes it.
            let mg = self.managers.get_mut(&m).expect("manager checked above");
            if mg.entries.contains_key(&v) {
                continue;
            }
            mg.entries.insert(
                v,
                Entry {
                    attempts: 0,
                    first_at: now,
                    next_at: now,
                    in_flight: false,
                    last_unplaced: false,
                    last_at: now,
                    gave_up: false,
                    drs_done: false,
                },
            );
            added = true;
        }
        if added {
            self.schedule_pump(m, self.now);
        }
    }

    /// The new master's protectedlist scan, `engine.newMasterRestartDelaySec` after it acts.
    pub(super) fn new_master_scan(&mut self, m: usize, epoch: u64) {
        if self.managers.get(&m).is_some_and(|mg| mg.epoch == epoch) {
            let all: Vec<usize> = (0..self.vms.len()).collect();
            self.consider(m, &all);
        }
    }

    // ------------------------------------------------------------------ issuing attempts

    pub(super) fn schedule_pump(&mut self, m: usize, at: f64) {
        let at = at.max(self.now);
        let Some(mg) = self.managers.get_mut(&m) else {
            return;
        };
        if mg.pump_times.insert(at.to_bits()) {
            let epoch = mg.epoch;
            self.schedule(at, Action::Pump { m, epoch });
        }
    }

    pub(super) fn capacity_appeared(&mut self, m: usize) {
        let now = self.now;
        let Some(mg) = self.managers.get_mut(&m) else {
            return;
        };
        let mut any = false;
        for e in mg.entries.values_mut() {
            if !e.gave_up && !e.in_flight && e.last_unplaced && e.next_at > now {
                e.next_at = now;
                any = true;
            }
        }
        if any {
            self.schedule_pump(m, now);
        }
    }

    /// Reservations freed on a live host: masters whose partition holds it retry pending VMs
    /// at once (R-PLACE-4 "capacity appears").
    pub(super) fn reservation_freed(&mut self, h: usize) {
        if !self.fdm(h) {
            return;
        }
        let masters: Vec<usize> = self.managers.keys().copied().filter(|&m| self.same_comp(m, h)).collect();
        for m in masters {
            self.capacity_appeared(m);
        }
    }

    pub(super) fn set_availability(&mut self, m: usize) {
        if self.avail_for == Some((m, self.topo_gen)) {
            return;
        }
        for h in 0..self.hosts.len() {
            let mut base = HostAvailability::of(&self.inv.hosts[h]);
            if base == HostAvailability::Standby && self.hosts[h].exited_standby {
                // Brought out of standby by DPM (R-PLACE-DRS): as if never in standby.
                base = if self.inv.hosts[h].agent_vms_ready {
                    HostAvailability::Usable
                } else {
                    HostAvailability::AgentVmsNotReady
                };
            }
            let a = if !base.is_usable() {
                base
            } else if !self.hosts[h].alive {
                HostAvailability::Failed
            } else if self.hosts[h].agent_down {
                HostAvailability::NotResponding
            } else if self.same_comp(m, h) {
                HostAvailability::Usable
            } else if self.no_address(h) {
                HostAvailability::Isolated
            } else {
                HostAvailability::Partitioned
            };
            self.place.set_availability(h, a);
        }
        self.avail_for = Some((m, self.topo_gen));
    }

    fn class_rank(&self, v: usize) -> u8 {
        RestartClass::of(&self.inv, &self.inv.vms[v]).rank()
    }

    /// A scheduled `pump` pass, unless the master acts under a new epoch since.
    pub(super) fn pump_due(&mut self, m: usize, epoch: u64) {
        let key = self.now.to_bits();
        if let Some(mg) = self.managers.get_mut(&m) {
            if mg.epoch == epoch {
                mg.pump_times.remove(&key);
                self.pump(m);
            }
        }
    }

    /// Issues due restarts: one priority class at a time, a lower class only once every
    /// attempt of the higher classes has completed (before 6.5) or every VM of them is ready or
    /// timed out (R-ORCH, 6.5 and later); at most
    /// `das.perHostConcurrentFailoversLimit` power-ons in flight per host (R-PLACE-4). The DRS
    /// searches of the pass share one budget (R-PLACE-DRS, `drs.rs`).
    fn pump(&mut self, m: usize) {
        if !self.reporting(m) {
            return;
        }
        let mut drs_pass = None;
        self.restart_pass(m, &mut drs_pass);
        self.drs_pass_done();
    }

    fn restart_pass(&mut self, m: usize, drs_pass: &mut Option<super::drs::DrsPass>) {
        let limit = self.inv.options().per_host_concurrent_failovers_limit;
        let max_attempts = self.inv.options().max_vm_restart_count;
        let power_on = self.inv.options().power_on_s;
        let mut deferred: BTreeSet<usize> = BTreeSet::new();
        loop {
            let Some(mg) = self.managers.get(&m) else {
                return;
            };
            let epoch = mg.epoch;
            let now = self.now;
            let candidates: Vec<usize> = mg
                .entries
                .iter()
                .filter(|(v, e)| !e.gave_up && !e.in_flight && e.next_at <= now + EPS && !deferred.contains(v))
                .map(|(&v, _)| v)
                .collect();
            // Drop entries that no longer need a restart (running again, cleanly off, ...).
            let mut due = Vec::new();
            for v in candidates {
                if self.needs_restart(m, v) && !self.inflight.contains_key(&v) {
                    due.push(v);
                } else if let Some(mg) = self.managers.get_mut(&m) {
                    mg.entries.remove(&v);
                }
            }
            if due.is_empty() {
                return;
            }
            let orchestrated = self.orchestrated();
            if orchestrated {
                // R-ORCH: a `vmDependsOn` VM waits until every VM it depends on is ready.
                let (ready, waiting): (Vec<usize>, Vec<usize>) = due.into_iter().partition(|&v| self.deps_ready(m, v));
                deferred.extend(waiting);
                due = ready;
                if due.is_empty() {
                    return;
                }
            }
            let order = restart_order(&self.inv, &self.index, &due);
            // why: `due` is not empty (checked above) and `order` is a permutation of it.
            let class = self.class_rank(order[0]);
            // R-PLACE-DRS: an attempt waiting for vMotions or a standby host is under way.
            if self.drs_blocks(m, class, |v| self.class_rank(v)) {
                return;
            }
            if orchestrated {
                if let Some(wake) = self.orch_blocked(m, class) {
                    self.schedule_pump(m, wake);
                    return;
                }
            } else {
                let blocked =
                    self.inflight.iter().any(|(&v, a)| a.master == m && a.epoch == epoch && self.class_rank(v) < class);
                if blocked {
                    return;
                }
            }
            self.set_availability(m);
            let mut deferred_now = false;
            let batch: Vec<usize> = order.into_iter().filter(|&v| self.class_rank(v) == class).collect();
            // Hosts at the concurrency limit are masked for this pass, so the VM goes to the
            // next-best host; it waits only when every host that could take it is saturated.
            let mut saturated: Vec<usize> = (0..self.hosts.len())
                .filter(|&h| self.inflight_per_host[h] >= limit && self.place.is_usable(h))
                .collect();
            for &h in &saturated {
                self.place.set_availability(h, HostAvailability::Standby);
            }
            for v in batch {
                let mut outcome = place_vm(&self.inv, &self.index, &mut self.place, v);
                if matches!(outcome, Outcome::Unplaced { .. }) && !saturated.is_empty() {
                    for &h in &saturated {
                        self.place.set_availability(h, HostAvailability::Usable);
                    }
                    let unmasked = place_vm(&self.inv, &self.index, &mut self.place, v);
                    for &h in &saturated {
                        self.place.set_availability(h, HostAvailability::Standby);
                    }
                    if let Outcome::Placed { host, .. } = unmasked {
                        self.place.remove_vm(&self.inv, &self.index, v, host);
                        deferred.insert(v);
                        deferred_now = true;
                        continue;
                    }
                    outcome = unmasked;
                }
                match outcome {
                    Outcome::Placed { host, .. } => {
                        let id = self.next_gen();
                        // why: `m`'s manager was read at the top of this loop pass and `v` is one
                        // of its due entries; placing and emitting touch neither map.
                        let mg = self.managers.get_mut(&m).expect("manager present");
                        let e = mg.entries.get_mut(&v).expect("due entry");
                        e.attempts += 1;
                        e.last_at = now;
                        e.in_flight = true;
                        let attempt = e.attempts;
                        if orchestrated {
                            mg.orch.class_issued.entry(class).or_insert(now);
                            mg.orch.unready.insert(v, (class, now));
                        }
                        self.inflight.insert(v, Inflight { id, host, master: m, epoch, attempt, target_lost: false });
                        self.inflight_per_host[host] += 1;
                        if let Some(pass) = drs_pass.as_mut() {
                            pass.placed(v);
                        }
                        if self.inflight_per_host[host] >= limit {
                            self.place.set_availability(host, HostAvailability::Standby);
                            saturated.push(host);
                        }
                        self.emit(EventKind::RestartAttempt, Some(host), Some(v), json!({"attempt": attempt}));
                        self.schedule(now + power_on, Action::Complete { vm: v, id });
                    }
                    Outcome::Unplaced { reason, .. } => {
                        // R-PLACE-DRS: DRS (and DPM) may make room before the VM is declared unplaced.
                        let drs_done =
                            self.managers.get(&m).and_then(|mg| mg.entries.get(&v)).is_some_and(|e| e.drs_done);
                        let note = if drs_done {
                            None
                        } else {
                            match self.drs_help(drs_pass, m, epoch, v, &saturated) {
                                super::drs::Help::Waiting => continue,
                                super::drs::Help::Unplaced(note) => note,
                            }
                        };
                        // why: as for `Placed` above.
                        let mg = self.managers.get_mut(&m).expect("manager present");
                        let e = mg.entries.get_mut(&v).expect("due entry");
                        e.attempts += 1;
                        e.last_at = now;
                        let attempt = e.attempts;
                        let mut detail = json!({"reason": reason.as_str(), "attempt": attempt});
                        if let Some((moves, why)) = note {
                            detail["drs_vmotions"] = json!(moves);
                            detail["drs_inactive"] = json!(why);
                        }
                        self.emit(EventKind::VmUnplaced, None, Some(v), detail);
                        self.after_failure(m, v, true, max_attempts);
                    }
                }
            }
            for &h in &saturated {
                self.place.set_availability(h, HostAvailability::Usable);
            }
            if deferred_now {
                return;
            }
        }
    }

    // ------------------------------------------------------------------ retries (R-PLACE-4)

    fn retry_delay(attempt: u32) -> f64 {
        // Attempt k (1-based) at T + 120 s · (2^(k-1) − 1): T, +2, +6, +14, +30 min, ...
        // why: clamped to 1000 first.
        120.0 * (2f64.powi(attempt.saturating_sub(1).min(1000) as i32) - 1.0)
    }

    fn after_failure(&mut self, m: usize, v: usize, unplaced: bool, max_attempts: u32) {
        let now = self.now;
        let Some(mg) = self.managers.get_mut(&m) else {
            return;
        };
        let Some(e) = mg.entries.get_mut(&v) else {
            return;
        };
        e.in_flight = false;
        e.drs_done = false;
        e.last_unplaced = unplaced;
        if e.attempts >= max_attempts {
            e.gave_up = true;
            let attempts = e.attempts;
            self.emit(
                EventKind::RestartGaveUp,
                None,
                Some(v),
                json!({"attempts": attempts, "reason": "maxRestartCountReached"}),
            );
        } else {
            // On the schedule anchored at the first attempt, but never sooner than 2 minutes after
            // the previous attempt (an attempt delayed by the concurrency limit or issued early
            // because capacity appeared does not make the next ones burst).
            let gap = Self::retry_delay(2);
            let next = (e.first_at + Self::retry_delay(e.attempts + 1)).max(e.last_at + gap).max(now);
            e.next_at = next;
            self.schedule_pump(m, next);
        }
    }

    // ------------------------------------------------------------------ completions and split brain

    pub(super) fn complete(&mut self, v: usize, id: u64) {
        let Some(a) = self.inflight.get(&v).cloned() else {
            return;
        };
        if a.id != id {
            return;
        }
        self.inflight.remove(&v);
        self.inflight_per_host[a.host] = self.inflight_per_host[a.host].saturating_sub(1);
        let home = self.inv.datastore_idx(&self.inv.vms[v].home_datastore);
        let running_elsewhere = if self.vms[v].on { self.vms[v].host.filter(|&x| x != a.host) } else { None };
        let failure: Option<&str> = if a.target_lost || !self.hosts[a.host].alive {
            Some("hostFailed")
        } else if self.vms[v].dups.contains(&a.host) {
            Some("alreadyRunningThere")
        } else if self.vms[v].power_on_failures > 0 {
            self.vms[v].power_on_failures -= 1;
            Some("powerOnFailed")
        } else if running_elsewhere.is_some_and(|x| self.fdm(x) && home.is_some_and(|d| self.access(x, d))) {
            Some("fileLocked")
        } else if home.is_none_or(|d| !self.access(a.host, d)) {
            Some("datastoreInaccessible")
        } else if !self.vms[v].want {
            Some("noLongerProtected")
        } else {
            None
        };
        let master_ok = self.managers.get(&a.master).is_some_and(|mg| mg.epoch == a.epoch);
        match failure {
            None => {
                if let Some(x) = running_elsewhere {
                    // The running copy lost its lock: both copies run (split brain).
                    self.vms[v].dups.push(x);
                    self.vms[v].on = false;
                    self.emit(
                        EventKind::SplitBrain,
                        Some(a.host),
                        Some(v),
                        json!({"other_host": self.inv.hosts[x].id}),
                    );
                }
                self.set_vm_host(v, a.host);
                let rt = &mut self.vms[v];
                rt.on = true;
                rt.off = OffReason::Running;
                rt.up_since = self.now;
                rt.gen += 1;
                rt.not_restarted_reported = false;
                self.emit(EventKind::VmRestarted, Some(a.host), Some(v), json!({"attempt": a.attempt}));
                if master_ok {
                    if let Some(mg) = self.managers.get_mut(&a.master) {
                        mg.entries.remove(&v);
                    }
                    self.powered_on(a.master, a.epoch, v);
                }
            }
            Some(reason) => {
                if !a.target_lost {
                    self.place.remove_vm(&self.inv, &self.index, v, a.host);
                }
                // The failed attempt's own VM is not "pending" yet (it is rescheduled below).
                self.reservation_freed(a.host);
                self.emit(
                    EventKind::RestartFailed,
                    Some(a.host),
                    Some(v),
                    json!({"attempt": a.attempt, "reason": reason}),
                );
                if master_ok {
                    // R-ORCH: with the ready condition `none` the attempt counts once complete,
                    // whatever its outcome (the rule before 6.5); otherwise the VM is not ready.
                    if self.orch_params(v).0 == ReadyCondition::None {
                        if let Some(mg) = self.managers.get_mut(&a.master) {
                            mg.orch.unready.remove(&v);
                        }
                    }
                    let max = self.inv.options().max_vm_restart_count;
                    self.after_failure(a.master, v, false, max);
                } else {
                    self.consider_all(&[v]);
                }
            }
        }
        if master_ok {
            self.schedule_pump(a.master, self.now);
        }
    }

    // ------------------------------------------------------------------ orchestrated restart (R-ORCH)

    /// Orchestrated restart applies from 6.5 on; before, a lower class waits for the attempts
    /// of the higher classes to complete.
    fn orchestrated(&self) -> bool {
        self.inv.cluster.version.at_least(Version::V6_5)
    }

    /// A VM's ready condition, post-ready delay and restart priority timeout (seconds): its
    /// overrides, else the cluster's.
    fn orch_params(&self, v: usize) -> (ReadyCondition, f64, f64) {
        let c = &self.inv.cluster.orchestration;
        let o = &self.inv.vms[v].orchestration;
        let cond = o.ready_condition.unwrap_or(c.ready_condition);
        // why: seconds from the inventory (at most 2^53), exact as f64.
        let d = o.post_ready_delay_s.unwrap_or(c.post_ready_delay_s) as f64;
        let t = o.restart_priority_timeout_s.unwrap_or(c.restart_priority_timeout_s) as f64;
        (cond, d, t)
    }

    /// Whether every VM `v` depends on (`vmDependsOn`) is ready: running, and not issued by
    /// master `m` without being ready yet, nor waiting for a restart by it.
    fn deps_ready(&self, m: usize, v: usize) -> bool {
        let Some(mg) = self.managers.get(&m) else {
            return false;
        };
        self.index.rules.depends_on(v).iter().all(|&d| {
            let d = d as usize;
            self.vms[d].on && !mg.orch.unready.contains_key(&d) && !mg.entries.contains_key(&d)
        })
    }

    /// Whether class `class` must wait (R-ORCH): some VM of a higher class is not ready and its
    /// class was issued less than its restart priority timeout ago. Returns when to look again.
    fn orch_blocked(&self, m: usize, class: u8) -> Option<f64> {
        let mg = self.managers.get(&m)?;
        let now = self.now;
        mg.orch
            .unready
            .iter()
            .filter(|(_, &(rank, _))| rank < class)
            .filter_map(|(&w, &(rank, issued))| {
                let since = mg.orch.class_issued.get(&rank).copied().unwrap_or(issued);
                let deadline = since + self.orch_params(w).2;
                (now + EPS < deadline).then_some(OrderedFloat(deadline))
            })
            .min()
            .map(|OrderedFloat(t)| t)
    }

    /// A restart attempt of `v` by master `m` powered it on: when it will be ready.
    fn powered_on(&mut self, m: usize, epoch: u64, v: usize) {
        let Some(&(_, issued)) = self.managers.get(&m).and_then(|mg| mg.orch.unready.get(&v)) else {
            return;
        };
        let (cond, d, _) = self.orch_params(v);
        let o = self.inv.options();
        let now = self.now;
        let at = match cond {
            ReadyCondition::None => (issued + d).max(now),
            ReadyCondition::PoweredOn => now + d,
            ReadyCondition::GuestHbStatusGreen => now + o.guest_boot_s + d,
            ReadyCondition::AppHbStatusGreen => now + o.app_ready_s + d,
        };
        let gen = self.vms[v].gen;
        if at <= now + EPS {
            self.vm_ready(m, epoch, v, gen);
        } else {
            self.schedule(at, Action::VmReady { m, epoch, vm: v, gen });
        }
    }

    /// `v` meets its ready condition (plus the post-ready delay): lower classes and dependent
    /// VMs may go. Shown as `vm_ready` unless the condition is `none` without a delay (the
    /// completion itself).
    pub(super) fn vm_ready(&mut self, m: usize, epoch: u64, v: usize, gen: u64) {
        if self.vms[v].gen != gen || !self.vms[v].on {
            return;
        }
        let Some(mg) = self.managers.get_mut(&m).filter(|mg| mg.epoch == epoch) else {
            return;
        };
        if mg.orch.unready.remove(&v).is_none() {
            return;
        }
        let (cond, d, _) = self.orch_params(v);
        if cond != ReadyCondition::None || d > 0.0 {
            let host = self.vms[v].host;
            self.emit(EventKind::VmReady, host, Some(v), json!({"condition": cond.as_str(), "post_ready_delay_s": d}));
        }
        self.schedule_pump(m, self.now);
    }

    pub(super) fn set_vm_host(&mut self, v: usize, h: usize) {
        if let Some(old) = self.vms[v].host {
            self.vms_at[old].remove(&v);
        }
        self.vms[v].host = Some(h);
        self.vms_at[h].insert(v);
    }

    /// A host that hears a master again powers off the copies of VMs it lost the lock of.
    pub(super) fn resolve_split_brain(&mut self, hosts: &[usize]) {
        for v in 0..self.vms.len() {
            let stale: Vec<usize> = self.vms[v].dups.iter().copied().filter(|d| hosts.contains(d)).collect();
            for d in stale {
                {
                    self.vms[v].dups.retain(|&x| x != d);
                    self.place.remove_vm(&self.inv, &self.index, v, d);
                    self.emit(
                        EventKind::VmPoweredOff,
                        Some(d),
                        Some(v),
                        json!({"reason": "duplicate copy: lock lost, powered off when the host rejoined"}),
                    );
                }
            }
        }
    }
}
