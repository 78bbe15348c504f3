//! R-ELECT in the simulation: partitions and their masters. A partition without a master
//! elects (entering `das.config.fdm.hostTimeout` after losing the master, a booting host at
//! once; `electionDuration` later the best-ranked member wins, R-ELECT-1 counting only the
//! datastores it reaches); when partitions join, the best-ranked master stays and the others
//! abdicate. Also what an acting master holds: its views and restart manager (started and
//! stopped here, run in `views.rs` and `restarts.rs`) and the protectedlist locks of the
//! datastores it reaches (read by R-ISO in `isolation.rs` and by the restart handler in
//! `restarts.rs`). The ranking itself is [`crate::election`]'s.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::json;

use crate::classify::{master_view, HostState};
use crate::election::{compare, Candidate};

use super::engine::{Action, Role, Simulation, EPS};
use super::event::EventKind;
use super::restarts::Manager;
use super::views::View;

impl Simulation {
    /// The master of the main partition: among acting masters (not isolated), the one with most
    /// hosts (ties: the better-ranked); `None` while no acting master exists (e.g. during the
    /// election after the master failed or was isolated).
    pub fn master(&self) -> Option<String> {
        self.main_master().map(|m| self.inv.hosts[m].id.clone())
    }

    /// Every master, one per partition that has one, by host id.
    pub fn masters(&self) -> Vec<String> {
        let mut out: Vec<String> =
            (0..self.hosts.len()).filter(|&h| self.is_master(h)).map(|h| self.inv.hosts[h].id.clone()).collect();
        out.sort();
        out
    }

    // ------------------------------------------------------------------ ranking

    fn candidate(&self, h: usize) -> Candidate {
        let host = &self.inv.hosts[h];
        let datastores = (0..self.connected[h].len()).filter(|&d| self.access(h, d)).count();
        Candidate { host: host.id.clone(), goodness: host.goodness, datastores }
    }

    fn best_of(&self, hosts: &[usize]) -> usize {
        let mut ranked: Vec<(usize, Candidate)> = hosts.iter().map(|&h| (h, self.candidate(h))).collect();
        ranked.sort_by(|a, b| compare(&a.1, &b.1));
        ranked[0].0
    }

    pub(super) fn main_master(&self) -> Option<usize> {
        let masters: Vec<usize> = (0..self.hosts.len()).filter(|&h| self.reporting(h)).collect();
        let biggest = masters.iter().map(|&m| self.comp_size(m)).max()?;
        let top: Vec<usize> = masters.into_iter().filter(|&m| self.comp_size(m) == biggest).collect();
        Some(self.best_of(&top))
    }

    // ------------------------------------------------------------------ partitions and elections

    /// Re-derives partitions, masters and elections after a change of who can talk to whom.
    pub(super) fn reconcile(&mut self) {
        self.topo_gen += 1;
        self.avail_for = None;
        self.compute_components();
        let comps: Vec<Vec<usize>> = self.comps.values().cloned().collect();
        let host_timeout = self.inv.options().host_timeout_s;
        let mut adopted: Vec<usize> = Vec::new();
        for members in comps {
            let masters: Vec<usize> = members.iter().copied().filter(|&h| self.hosts[h].role == Role::Master).collect();
            let master = if masters.len() > 1 {
                let winner = self.best_of(&masters);
                for &m in &masters {
                    if m != winner {
                        self.stop_reporting(m);
                        self.release_locks(m);
                        self.hosts[m].role = Role::Slave;
                        self.emit(EventKind::MasterAbdicated, Some(m), None, json!({"to": self.inv.hosts[winner].id}));
                    }
                }
                // The staying master takes over what the others had pending.
                adopted.push(winner);
                Some(winner)
            } else {
                masters.first().copied()
            };
            match master {
                Some(m) => {
                    let mut gained = false;
                    let mut joined = Vec::new();
                    for &h in &members {
                        if h == m {
                            continue;
                        }
                        if self.hosts[h].slave_of != Some(m) {
                            gained = true;
                            joined.push(h);
                        }
                        let rt = &mut self.hosts[h];
                        rt.role = Role::Slave;
                        rt.slave_of = Some(m);
                        rt.elect_at = None;
                        rt.announced = false;
                        self.clear_isolation(h);
                    }
                    // A master alone stays isolated only while it reaches no isolation address;
                    // once it does (its isolation ended), it acts again below.
                    if members.len() > 1 || !self.no_address(m) {
                        self.clear_isolation(m);
                    }
                    if self.no_address(m) {
                        self.stop_reporting(m);
                    } else if self.reporting(m) && !self.managers.contains_key(&m) {
                        // A master that acts again (its isolation ended and it stays master).
                        self.start_reporting(m);
                    }
                    if gained {
                        self.resolve_split_brain(&joined);
                        self.capacity_appeared(m);
                        // VMs left powered off on a host that (re)joins are seen and restarted.
                        let vms: Vec<usize> = joined.iter().flat_map(|&h| self.vms_at[h].iter().copied()).collect();
                        if !vms.is_empty() {
                            self.consider(m, &vms);
                        }
                    }
                }
                None => {
                    for &h in &members {
                        let now = self.now;
                        let rt = &mut self.hosts[h];
                        if rt.role != Role::Candidate || rt.elect_at.is_none() {
                            rt.elect_at = Some(match rt.role {
                                Role::Slave | Role::Master => now + host_timeout,
                                _ => now,
                            });
                            rt.role = Role::Candidate;
                            rt.slave_of = None;
                        }
                    }
                    if members.len() > 1 {
                        for &h in &members {
                            self.clear_isolation(h);
                        }
                    }
                    let start = members.iter().filter_map(|&h| self.hosts[h].elect_at).fold(f64::INFINITY, f64::min);
                    let gen = self.topo_gen;
                    if members.iter().all(|&h| !self.hosts[h].announced) {
                        self.schedule(start, Action::ElectionStart { gen });
                    } else {
                        for &h in &members {
                            self.hosts[h].announced = true;
                        }
                    }
                    self.schedule(start + self.inv.options().election_duration_s, Action::ElectionEnd { gen });
                }
            }
        }
        // Hosts that are not in any partition (failed) keep no election state.
        for h in 0..self.hosts.len() {
            if self.comp_of[h].is_none() && self.hosts[h].role != Role::Down {
                self.hosts[h].role = Role::Down;
                self.hosts[h].elect_at = None;
            }
        }
        self.claim_locks();
        self.refresh_views();
        self.schedule_iso_checks();
        if !adopted.is_empty() {
            let all: Vec<usize> = (0..self.vms.len()).collect();
            for m in adopted {
                self.consider(m, &all);
            }
        }
    }

    pub(super) fn election_start(&mut self, gen: u64) {
        if gen != self.topo_gen {
            return;
        }
        let comps: Vec<Vec<usize>> = self.comps.values().cloned().collect();
        for members in comps {
            if members.iter().any(|&h| self.hosts[h].role != Role::Candidate) {
                continue;
            }
            let start = members.iter().filter_map(|&h| self.hosts[h].elect_at).fold(f64::INFINITY, f64::min);
            if start <= self.now + EPS && members.iter().all(|&h| !self.hosts[h].announced) {
                for &h in &members {
                    self.hosts[h].announced = true;
                }
                let ids = self.sorted_ids(&members);
                self.emit(EventKind::ElectionStarted, None, None, json!({"hosts": ids}));
            }
        }
    }

    fn sorted_ids(&self, hosts: &[usize]) -> Vec<String> {
        let mut ids = self.host_ids(hosts);
        ids.sort();
        ids
    }

    pub(super) fn election_end(&mut self, gen: u64) {
        if gen != self.topo_gen {
            return;
        }
        let duration = self.inv.options().election_duration_s;
        let comps: Vec<Vec<usize>> = self.comps.values().cloned().collect();
        for members in comps {
            if members.iter().any(|&h| self.hosts[h].role != Role::Candidate) {
                continue;
            }
            let start = members.iter().filter_map(|&h| self.hosts[h].elect_at).fold(f64::INFINITY, f64::min);
            if start + duration <= self.now + EPS {
                self.elect(&members);
            }
        }
        self.refresh_views();
        self.schedule_iso_checks();
    }

    /// The best-ranked member becomes master of its partition (R-ELECT-1).
    pub(super) fn elect(&mut self, members: &[usize]) {
        if members.is_empty() {
            return;
        }
        let winner = self.best_of(members);
        let ids = self.sorted_ids(members);
        self.emit(EventKind::MasterElected, Some(winner), None, json!({"hosts": ids}));
        for &h in members {
            let rt = &mut self.hosts[h];
            rt.role = if h == winner { Role::Master } else { Role::Slave };
            rt.slave_of = if h == winner { None } else { Some(winner) };
            rt.elect_at = None;
            rt.announced = false;
        }
        if members.len() > 1 {
            for &h in members {
                self.clear_isolation(h);
            }
        }
        self.claim_locks();
        if self.reporting(winner) {
            self.start_reporting(winner);
        }
    }

    // ------------------------------------------------------------------ an acting master

    /// A master that acts: a fresh restart count, its view of every host, and the protectedlist
    /// scan after `engine.newMasterRestartDelaySec`.
    fn start_reporting(&mut self, m: usize) {
        let epoch = self.next_gen();
        self.managers.insert(
            m,
            Manager { epoch, entries: BTreeMap::new(), pump_times: BTreeSet::new(), orch: Default::default() },
        );
        self.claim_locks();
        for s in 0..self.hosts.len() {
            if s == m || !self.hosts[s].ha {
                continue;
            }
            if self.same_comp(m, s) {
                let gen = self.next_gen();
                self.views.insert(
                    (m, s),
                    View { state: HostState::ConnectedToMaster, lost_at: None, decided: true, redecide: false, gen },
                );
            } else {
                let state = master_view(self.observe(m, s));
                let gen = self.next_gen();
                self.views.insert((m, s), View { state, lost_at: Some(self.now), decided: true, redecide: false, gen });
                self.emit(
                    EventKind::HostState,
                    Some(s),
                    None,
                    json!({"state": state.as_str(), "master": self.inv.hosts[m].id}),
                );
            }
        }
        let delay = self.inv.options().new_master_restart_delay_s;
        self.schedule(self.now + delay, Action::NewMasterScan { m, epoch });
    }

    pub(super) fn stop_reporting(&mut self, m: usize) {
        self.managers.remove(&m);
        let keys: Vec<(usize, usize)> = self.views.range((m, 0)..(m + 1, 0)).map(|(k, _)| *k).collect();
        for k in keys {
            self.views.remove(&k);
        }
        if self.avail_for.is_some_and(|(a, _)| a == m) {
            self.avail_for = None;
        }
    }

    // ------------------------------------------------------------------ protectedlist locks

    pub(super) fn lock_holder_valid(&self, m: usize) -> bool {
        self.is_master(m) && !self.hosts[m].iso_flag
    }

    pub(super) fn release_locks(&mut self, m: usize) {
        for l in &mut self.locks {
            if *l == Some(m) {
                *l = None;
            }
        }
    }

    /// Unowned protectedlist locks go to the acting masters that can reach the datastore, the
    /// main partition's master first.
    pub(super) fn claim_locks(&mut self) {
        for d in 0..self.locks.len() {
            if let Some(o) = self.locks[d] {
                if !self.lock_holder_valid(o) || !self.access(o, d) {
                    self.locks[d] = None;
                }
            }
        }
        let mut masters: Vec<usize> = (0..self.hosts.len()).filter(|&h| self.reporting(h)).collect();
        masters.sort_by(|&a, &b| {
            self.comp_size(b).cmp(&self.comp_size(a)).then_with(|| compare(&self.candidate(a), &self.candidate(b)))
        });
        for d in 0..self.locks.len() {
            if self.locks[d].is_none() {
                self.locks[d] = masters.iter().copied().find(|&m| self.access(m, d));
            }
        }
    }
}
