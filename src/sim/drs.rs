//! R-PLACE-DRS in the simulation: DRS defragmenting the cluster (vMotions) and DPM bringing a
//! standby host out of standby for a VM an acting master cannot place. The search is the
//! plan's own ([`crate::placement`]'s `drs.rs`, run on the simulation's state: where VMs run
//! now, which hosts the master can use); this file gives it a clock.
//!
//! * **When**: at a restart attempt (R-PLACE-4) that finds no host, when the cluster's DRS is
//!   enabled and `fullyAutomated` and vCenter is available (no `vcenter_unavailable` window
//!   open). The attempt is then not declared unplaced: it waits for the moves or the host.
//! * **Moves**: DRS runs the moves one after the other, in the plan's order. Each starts
//!   (`vm_migration_started`) and completes `engine.vMotionSeconds` (20 s) later
//!   (`vm_migrated`: the VM runs on its destination from then on). A move books its
//!   destination from when DRS plans it (so no restart takes that room meanwhile) and frees
//!   its source when it completes. The VM's restart attempt follows the last move, at the
//!   same instant, through the ordinary placement (R-PLACE-2/3).
//! * **DPM**: the host is asked to exit standby (`host_exit_standby_requested`) and joins the
//!   cluster `engine.standbyExitSeconds` (300 s) later (`host_exited_standby`, then the master
//!   sees it connect); the VM's restart attempt follows at once, and the other pending VMs are
//!   retried at once as for any host that joins (R-PLACE-4). A VM whose chosen standby host was
//!   already requested waits for the same host.
//! * **While it waits** the VM is not restarted by anyone else, and (as for an attempt in
//!   flight) lower priority classes wait for it. The attempt it waits for is not counted until
//!   it is issued, so a VM helped by DRS has its usual number of attempts.
//! * **Interruptions**: a move in progress completes unless its VM stopped running on the
//!   source or the destination failed, in which case it fails (`vm_migration_failed`; the VM
//!   stays where it runs). A move not started yet is not started when vCenter is unavailable,
//!   its VM no longer runs on the source, or either host is down or isolated: the remaining
//!   moves are dropped (their bookings freed) and the VM's restart attempt is made at once,
//!   without DRS (unplaced if there is still no room); DRS plans anew at its next attempt. A
//!   standby exit already requested completes whatever happens to vCenter.
//! * **Without DRS in full automation, or while vCenter is unavailable**, nothing moves and no
//!   host wakes: the VM is `vm_unplaced` as before, and the event says how many vMotions
//!   would have made room when the same search finds some (`drs_vmotions`, `drs_inactive`).
//! * **Budget**: a restart pass (one `pump` of one master) is the analogue of a plan: its
//!   searches share one ledger ([`DrsPass`]), so they see the moves planned earlier in the pass
//!   and share the plan-wide budget (`PLAN_BUDGET` when DRS acts, `NOTE_BUDGET` for the notes,
//!   `SEARCH_BUDGET` per VM); past it a VM is unplaced without a search.

use serde_json::json;

use crate::placement::{drs_assist, DrsAssist, DrsLedger, DrsMove, HostAvailability};

use super::engine::{Action, Simulation};
use super::event::EventKind;

/// A DRS defragmentation under way for one VM: its moves in order, and the next one.
#[derive(Debug, Clone)]
pub(super) struct Defrag {
    /// Tells a completion of this sequence's move from a stale one.
    pub(super) id: u64,
    /// The master whose restart attempt waits, and its epoch.
    pub(super) master: usize,
    pub(super) epoch: u64,
    pub(super) moves: Vec<DrsMove>,
    /// The move in progress, or the next to start: moves before it are done.
    pub(super) next: usize,
}

/// The R-PLACE-DRS searches of one restart pass (a `pump` of one master), the simulation's
/// analogue of a plan: they share one ledger, so where earlier searches of the pass moved VMs
/// and the plan-wide search budget (`PLAN_BUDGET`, or `NOTE_BUDGET` for the "would have made
/// room" notes) hold for the whole pass, as in a plan.
pub(super) struct DrsPass {
    ledger: DrsLedger,
    /// `restarting[v]`: VM `v` may not move (see [`Simulation::drs_pass`]); VMs restarted or
    /// moved earlier in the pass are added.
    restarting: Vec<bool>,
}

impl DrsPass {
    /// VM `v` was placed by this pass: it may not move.
    pub(super) fn placed(&mut self, v: usize) {
        self.restarting[v] = true;
    }
}

/// What DRS did for a VM no host can take.
pub(super) enum Help {
    /// Moves, or a standby exit, are under way: the restart attempt waits for them.
    Waiting,
    /// Nothing under way: the VM is unplaced. With `Some((n, why))`, `n` vMotions would have made
    /// room had DRS acted (`why`: `drsDisabled`, `drsNotFullyAutomated` or `vcenterUnavailable`).
    Unplaced(Option<(usize, &'static str)>),
}

impl Simulation {
    /// A `vcenter_unavailable` window opens (`false`) or closes (`true`).
    pub(super) fn vcenter(&mut self, available: bool) {
        if available {
            self.vcenter_down = self.vcenter_down.saturating_sub(1);
        } else {
            self.vcenter_down = self.vcenter_down.saturating_add(1);
        }
    }

    /// Whether VM `v` waits for DRS moves or a standby host.
    pub(super) fn drs_waiting(&self, v: usize) -> bool {
        self.defrags.contains_key(&v) || self.standby_waits.contains_key(&v)
    }

    /// Whether a VM of a higher priority class than `class` waits for DRS on master `m`
    /// (its attempt is under way: lower classes wait for it).
    pub(super) fn drs_blocks(&self, m: usize, class: u8, class_rank: impl Fn(usize) -> u8) -> bool {
        self.defrags.iter().any(|(&v, d)| d.master == m && class_rank(v) < class)
            || self.standby_waits.iter().any(|(&v, &(_, master, _))| master == m && class_rank(v) < class)
    }

    /// The state a restart pass's DRS searches start from: where VMs run now, and which VMs
    /// may not move (not running on one host, or with a power-on or a move of theirs under way).
    fn drs_pass(&self) -> DrsPass {
        let n = self.vms.len();
        let mut restarting = vec![false; n];
        let mut running_on = vec![None; n];
        for (i, rt) in self.vms.iter().enumerate() {
            running_on[i] = if rt.on { rt.host } else { None };
            restarting[i] = !rt.on || !rt.dups.is_empty() || self.inflight.contains_key(&i);
        }
        for d in self.defrags.values() {
            for mv in &d.moves {
                restarting[mv.vm] = true;
            }
        }
        DrsPass { ledger: DrsLedger::with_hosts(&self.index, &running_on), restarting }
    }

    /// A restart pass ends: records the search steps it spent.
    pub(super) fn drs_pass_done(&mut self) {
        self.drs_pass_steps_max = self.drs_pass_steps_max.max(self.drs_pass_steps);
        self.drs_pass_steps = 0;
    }

    /// R-PLACE-DRS for VM `v`, which master `m` (at `epoch`) found no host for, in the restart
    /// pass `pass` (set up at its first search). `masked`: hosts the caller set to standby for
    /// this pass (at the concurrency limit); they count as the usable hosts they are.
    pub(super) fn drs_help(
        &mut self,
        pass: &mut Option<DrsPass>,
        m: usize,
        epoch: u64,
        v: usize,
        masked: &[usize],
    ) -> Help {
        let pass = pass.get_or_insert_with(|| self.drs_pass());
        pass.restarting[v] = true;
        let before = pass.ledger.spent();
        let acts = self.inv.cluster.drs.acts_for_ha();
        let available = self.vcenter_down == 0;
        for &h in masked {
            self.place.set_availability(h, HostAvailability::Usable);
        }
        let assist = if acts && !available {
            // What DRS would do: worked out on a copy, nothing changes (nor do later searches
            // see these moves).
            let mut scratch = self.place.clone();
            let assist = drs_assist(&self.inv, &self.index, &mut scratch, &mut pass.ledger, v, &pass.restarting);
            if let DrsAssist::Defragmented(moves) = &assist {
                pass.ledger.undo(moves);
            }
            assist
        } else {
            drs_assist(&self.inv, &self.index, &mut self.place, &mut pass.ledger, v, &pass.restarting)
        };
        self.drs_pass_steps = self.drs_pass_steps.saturating_add(pass.ledger.spent().saturating_sub(before));
        for &h in masked {
            self.place.set_availability(h, HostAvailability::Standby);
        }
        if let (true, DrsAssist::Defragmented(moves)) = (available, &assist) {
            // The moved VMs may not move again while their moves are under way.
            for mv in moves {
                pass.restarting[mv.vm] = true;
            }
        }
        match assist {
            DrsAssist::Nothing => Help::Unplaced(None),
            DrsAssist::WouldDefragment(moves) => {
                let why = if self.inv.cluster.drs.enabled { "drsNotFullyAutomated" } else { "drsDisabled" };
                Help::Unplaced(Some((moves.len(), why)))
            }
            DrsAssist::Defragmented(moves) if !available => Help::Unplaced(Some((moves.len(), "vcenterUnavailable"))),
            DrsAssist::ExitedStandby(_) if !available => Help::Unplaced(None),
            DrsAssist::Defragmented(moves) => {
                // `assist` moved the bookings; each source keeps its VM until the move completes.
                for mv in &moves {
                    self.place.add_vm(&self.inv, &self.index, mv.vm, mv.from);
                }
                let id = self.next_gen();
                self.defrags.insert(v, Defrag { id, master: m, epoch, moves, next: 0 });
                self.set_waiting(m, v, true);
                self.start_next_move(v);
                Help::Waiting
            }
            DrsAssist::ExitedStandby(h) => {
                // The host is not there yet: it joins when it has left standby.
                self.place.set_availability(h, HostAvailability::Standby);
                let joins_at = match self.standby_requested.get(&h) {
                    Some(&at) => at,
                    None => {
                        let at = self.now + self.inv.options().standby_exit_s;
                        self.standby_requested.insert(h, at);
                        self.schedule(at, Action::StandbyExited(h));
                        at
                    }
                };
                self.emit(EventKind::HostExitStandbyRequested, Some(h), Some(v), json!({"joins_at": joins_at}));
                self.standby_waits.insert(v, (h, m, epoch));
                self.set_waiting(m, v, true);
                Help::Waiting
            }
        }
    }

    /// Marks master `m`'s entry of `v` as waiting for DRS (not due), or releases it.
    fn set_waiting(&mut self, m: usize, v: usize, waiting: bool) {
        let now = self.now;
        if let Some(e) = self.managers.get_mut(&m).and_then(|mg| mg.entries.get_mut(&v)) {
            e.in_flight = waiting;
            e.drs_done = !waiting;
            if !waiting {
                e.next_at = now;
            }
        }
    }

    /// The wait of `v` is over: its restart attempt is made now (by its master when it still
    /// acts under the same epoch, else by whichever master handles it).
    fn release(&mut self, v: usize, m: usize, epoch: u64) {
        if self.managers.get(&m).is_some_and(|mg| mg.epoch == epoch) {
            self.set_waiting(m, v, false);
            self.schedule_pump(m, self.now);
        } else {
            self.consider_all(&[v]);
        }
    }

    /// Starts the next move of `v`'s defragmentation, or ends it (all done, or the next move
    /// cannot start).
    fn start_next_move(&mut self, v: usize) {
        let Some(d) = self.defrags.get(&v) else {
            return;
        };
        let Some(&mv) = d.moves.get(d.next) else {
            self.end_defrag(v);
            return;
        };
        let id = d.id;
        let rt = &self.vms[mv.vm];
        let up = |h: usize| self.hosts[h].alive && !self.hosts[h].isolated;
        let ok = self.vcenter_down == 0
            && rt.on
            && rt.host == Some(mv.from)
            && rt.dups.is_empty()
            && up(mv.from)
            && up(mv.to);
        if !ok {
            self.end_defrag(v);
            return;
        }
        self.emit(EventKind::VmMigrationStarted, Some(mv.from), Some(mv.vm), self.move_detail(mv, v));
        let at = self.now + self.inv.options().v_motion_s;
        self.schedule(at, Action::MigrationDone { vm: v, id });
    }

    fn move_detail(&self, mv: DrsMove, for_vm: usize) -> serde_json::Value {
        json!({
            "from": self.inv.hosts[mv.from].id,
            "to": self.inv.hosts[mv.to].id,
            "for_vm": self.inv.vms[for_vm].id,
        })
    }

    /// The move in progress of `v`'s defragmentation completes (or fails).
    pub(super) fn migration_done(&mut self, v: usize, id: u64) {
        let Some(d) = self.defrags.get_mut(&v).filter(|d| d.id == id) else {
            return;
        };
        let Some(&mv) = d.moves.get(d.next) else {
            return;
        };
        d.next += 1;
        let rt = &self.vms[mv.vm];
        let mut detail = self.move_detail(mv, v);
        if rt.on && rt.host == Some(mv.from) && self.hosts[mv.to].alive {
            self.place.remove_vm(&self.inv, &self.index, mv.vm, mv.from);
            self.set_vm_host(mv.vm, mv.to);
            self.emit(EventKind::VmMigrated, Some(mv.to), Some(mv.vm), detail);
            self.start_next_move(v);
        } else {
            self.place.remove_vm(&self.inv, &self.index, mv.vm, mv.to);
            detail["reason"] = json!(if self.hosts[mv.to].alive { "vmNotRunning" } else { "hostFailed" });
            self.emit(EventKind::VmMigrationFailed, Some(mv.from), Some(mv.vm), detail);
            self.end_defrag(v);
        }
    }

    /// Ends `v`'s defragmentation: the moves not started are dropped (their bookings freed)
    /// and its restart attempt is made.
    fn end_defrag(&mut self, v: usize) {
        let Some(d) = self.defrags.remove(&v) else {
            return;
        };
        for mv in &d.moves[d.next..] {
            self.place.remove_vm(&self.inv, &self.index, mv.vm, mv.to);
        }
        self.release(v, d.master, d.epoch);
    }

    /// A host DPM was asked to bring out of standby joins: it runs an FDM agent from now on,
    /// and the VMs waiting for it are restarted.
    pub(super) fn standby_exited(&mut self, h: usize) {
        self.standby_requested.remove(&h);
        if !self.hosts[h].ha {
            let rt = &mut self.hosts[h];
            rt.ha = true;
            rt.alive = false;
            rt.exited_standby = true;
            self.emit(EventKind::HostExitedStandby, Some(h), None, json!({}));
            self.recover_hosts(&[h]);
        }
        let waiting: Vec<(usize, usize, u64)> = self
            .standby_waits
            .iter()
            .filter(|(_, &(host, _, _))| host == h)
            .map(|(&v, &(_, m, epoch))| (v, m, epoch))
            .collect();
        for (v, m, epoch) in waiting {
            self.standby_waits.remove(&v);
            self.release(v, m, epoch);
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::generate::{synthetic, GeneratorSpec};
    use crate::model::{DrsAutomation, Inventory};
    use crate::placement::{DRS_NOTE_BUDGET, DRS_PLAN_BUDGET};
    use crate::sim::{EventKind, Simulation};

    /// 48 generated hosts with 20,000 VMs, DRS fully automated or not; the first 24 hosts fail at
    /// t = 0, so hundreds of VMs are declared unplaced in one restart pass and the budget binds. Returns the most
    /// search steps one pass spent and the most VMs declared unplaced at one instant.
    fn half_the_cluster_fails(drs_acts: bool, vcenter_down: bool) -> (usize, usize) {
        let mut inv: Inventory = synthetic(&GeneratorSpec::new(48, 20_000, 5));
        inv.cluster.drs.enabled = drs_acts;
        inv.cluster.drs.automation = DrsAutomation::FullyAutomated;
        let hosts: Vec<String> = inv.hosts.iter().take(24).map(|h| h.id.clone()).collect();
        let mut sim = Simulation::new(inv).unwrap();
        for h in &hosts {
            sim.fail_host(h, 0.0).unwrap();
        }
        if vcenter_down {
            sim.vcenter_unavailable(0.0, None).unwrap();
        }
        sim.run(7200.0).unwrap();
        let mut per_instant = std::collections::BTreeMap::new();
        for e in sim.events().iter().filter(|e| e.kind == EventKind::VmUnplaced) {
            *per_instant.entry(e.time.to_bits()).or_insert(0usize) += 1;
        }
        (sim.drs_pass_steps_max, per_instant.values().copied().max().unwrap_or(0))
    }

    // A restart pass is the analogue of a plan (R-PLACE-DRS): the searches for all the VMs it
    // finds no host for share one budget, NOTE_BUDGET steps for the "DRS would have made room"
    // notes and PLAN_BUDGET when DRS acts. Without it, each unplaced VM had a budget of its own
    // and a pass with thousands of them took minutes.

    #[test]
    fn a_restart_pass_shares_the_note_budget() {
        let (steps, unplaced) = half_the_cluster_fails(false, false);
        eprintln!("notes: {steps} steps, {unplaced} unplaced");
        assert!(unplaced >= 300, "the scenario must leave hundreds of VMs unplaced, got {unplaced}");
        assert!(steps > DRS_NOTE_BUDGET / 2, "the budget binds in this scenario, got {steps} steps");
        assert!(steps <= DRS_NOTE_BUDGET, "{steps} search steps in one restart pass");
    }

    #[test]
    fn a_restart_pass_shares_the_plan_budget() {
        for vcenter_down in [false, true] {
            let (steps, unplaced) = half_the_cluster_fails(true, vcenter_down);
            eprintln!("drs (vcenter down {vcenter_down}): {steps} steps, {unplaced} unplaced");
            assert!(unplaced >= 300, "the scenario must leave hundreds of VMs unplaced, got {unplaced}");
            assert!(steps > DRS_PLAN_BUDGET / 2, "the budget binds in this scenario, got {steps} steps");
            assert!(steps <= DRS_PLAN_BUDGET, "{steps} search steps in one restart pass");
        }
    }
}
