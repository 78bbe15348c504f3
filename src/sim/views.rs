//! R-CLASS-M in the simulation: each acting master's view of every slave, built from what it
//! observes (network heartbeat, datastore heartbeats on the R-HBDS selection, ping, the poweron
//! isolation flag) and classified by [`crate::classify::master_view`]. A slave lost at T is
//! `host_unreachable` at T + hostTimeout and decided after the datastore heartbeat watch (or
//! the ICMP ping timeout without heartbeat datastores); later changes are reported when
//! observed, a stop of the datastore heartbeat after another watch. `hostDown` hands the
//! host's VMs to `restarts.rs` (R-PLACE-4). Masters are elected in `election.rs` (R-ELECT);
//! the isolation flag is raised in `isolation.rs` (R-CLASS-S).

use std::collections::BTreeMap;

use serde_json::json;

use crate::classify::{master_view, HostState, MasterObservation};

use super::engine::{Action, Role, Simulation};
use super::event::EventKind;

/// A master's view of one slave.
#[derive(Debug, Clone)]
pub(super) struct View {
    pub(super) state: HostState,
    pub(super) lost_at: Option<f64>,
    pub(super) decided: bool,
    pub(super) redecide: bool,
    pub(super) gen: u64,
}

impl Simulation {
    /// Each host's state as the main master reports it (R-CLASS-M). Without an acting master:
    /// `hostDown` for failed hosts, `master` for an isolated master, `election` for the others. Hosts not running the HA
    /// agent (disconnected, maintenance, standby) report `uninitialized`.
    pub fn host_states(&self) -> BTreeMap<String, HostState> {
        let main = self.main_master();
        let mut out = BTreeMap::new();
        for (h, host) in self.inv.hosts.iter().enumerate() {
            let rt = &self.hosts[h];
            let state = if !rt.ha {
                HostState::Uninitialized
            } else if let Some(m) = main {
                if h == m {
                    HostState::Master
                } else if let Some(v) = self.views.get(&(m, h)) {
                    v.state
                } else if self.same_comp(m, h) {
                    HostState::ConnectedToMaster
                } else if !rt.alive {
                    HostState::HostDown
                } else {
                    HostState::NetworkPartitionedFromMaster
                }
            } else if !rt.alive {
                HostState::HostDown
            } else if rt.role == Role::Master {
                HostState::Master
            } else {
                HostState::Election
            };
            out.insert(host.id.clone(), state);
        }
        out
    }

    fn ds_heartbeat(&self, m: usize, s: usize) -> bool {
        self.fdm(s) && self.hb[s].iter().any(|&d| self.access(s, d) && self.access(m, d))
    }

    pub(super) fn observe(&self, m: usize, s: usize) -> MasterObservation {
        MasterObservation {
            network_heartbeat: self.same_comp(m, s),
            // Only a host whose agent is down answers ICMP while silent (fdmUnreachable).
            ping: self.hosts[s].alive && self.hosts[s].agent_down && self.segment(s) == self.segment(m),
            datastore_heartbeat: self.ds_heartbeat(m, s),
            isolated_flag: self.fdm(s) && self.hosts[s].iso_flag,
        }
    }

    pub(super) fn refresh_views(&mut self) {
        let masters: Vec<usize> = self.managers.keys().copied().collect();
        for m in masters {
            if !self.reporting(m) {
                continue;
            }
            for s in 0..self.hosts.len() {
                if s != m && self.hosts[s].ha {
                    self.recheck(m, s);
                }
            }
        }
    }

    fn recheck(&mut self, m: usize, s: usize) {
        let obs = self.observe(m, s);
        let opts = self.inv.options().clone();
        let now = self.now;
        let gen = self.next_gen();
        let master_id = self.inv.hosts[m].id.clone();
        let mut view = self.views.get(&(m, s)).cloned().unwrap_or(View {
            state: HostState::ConnectedToMaster,
            lost_at: None,
            decided: true,
            redecide: false,
            gen: 0,
        });
        let mut emit_state: Option<HostState> = None;
        let mut timers: Vec<(f64, Action)> = Vec::new();
        if obs.network_heartbeat {
            if view.state != HostState::ConnectedToMaster || view.lost_at.is_some() {
                if view.state != HostState::ConnectedToMaster {
                    emit_state = Some(HostState::ConnectedToMaster);
                }
                view = View { state: HostState::ConnectedToMaster, lost_at: None, decided: true, redecide: false, gen };
            }
        } else if view.lost_at.is_none() {
            view.lost_at = Some(now);
            view.decided = false;
            view.redecide = false;
            view.gen = gen;
            let decide_at = if obs.ping {
                // The ping answers at once: the agent is down, the host is not.
                now + opts.host_timeout_s
            } else if self.hb[s].is_empty() {
                now + opts.host_timeout_s + opts.icmp_ping_timeout_s
            } else {
                now + opts.ds_heartbeat_watch_start_s + opts.ds_heartbeat_watch_s
            };
            timers.push((now + opts.host_timeout_s, Action::ViewUnreachable { m, s, gen }));
            timers.push((decide_at, Action::ViewDecide { m, s, gen }));
        } else if view.decided {
            let target = master_view(obs);
            if target == view.state {
                if view.redecide {
                    view.redecide = false;
                    view.gen = gen;
                }
            } else {
                match (view.state, target) {
                    (_, HostState::HostDown) => {
                        // The datastore heartbeat (or the ping) stopped: watched as for a fresh
                        // failure before declaring the host down (and restarting its VMs).
                        if !view.redecide {
                            view.redecide = true;
                            view.gen = gen;
                            let wait = if self.hb[s].is_empty() {
                                opts.host_timeout_s + opts.icmp_ping_timeout_s
                            } else {
                                opts.ds_heartbeat_watch_start_s + opts.ds_heartbeat_watch_s
                            };
                            timers.push((now + wait, Action::ViewDecide { m, s, gen }));
                        }
                    }
                    _ => {
                        view.state = target;
                        view.redecide = false;
                        view.gen = gen;
                        emit_state = Some(target);
                    }
                }
            }
        }
        self.views.insert((m, s), view);
        for (t, a) in timers {
            self.schedule(t, a);
        }
        if let Some(state) = emit_state {
            self.emit(EventKind::HostState, Some(s), None, json!({"state": state.as_str(), "master": master_id}));
        }
    }

    /// `host_unreachable` at T + hostTimeout, unless the view changed meanwhile.
    pub(super) fn view_unreachable(&mut self, m: usize, s: usize, gen: u64) {
        if self.views.get(&(m, s)).is_some_and(|v| v.gen == gen && !v.decided) {
            self.emit(EventKind::HostUnreachable, Some(s), None, json!({"master": self.inv.hosts[m].id}));
        }
    }

    pub(super) fn view_decide(&mut self, m: usize, s: usize, gen: u64) {
        if !self.reporting(m) {
            return;
        }
        let obs = self.observe(m, s);
        let Some(view) = self.views.get_mut(&(m, s)) else {
            return;
        };
        if view.gen != gen {
            return;
        }
        let state = master_view(obs);
        let changed = state != view.state || !view.decided;
        view.decided = true;
        view.redecide = false;
        view.state = state;
        if changed {
            self.emit(
                EventKind::HostState,
                Some(s),
                None,
                json!({"state": state.as_str(), "master": self.inv.hosts[m].id}),
            );
        }
        if state == HostState::HostDown {
            self.on_host_down(m, s);
        }
    }
}
