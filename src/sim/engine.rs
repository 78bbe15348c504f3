//! The discrete-event FDM engine: see the module documentation in [`super`] for the model.
//!
//! This file holds what every rule family shares: the [`Simulation`] state (hosts, VMs, the
//! scheduled-action queue, partitions), its constructor (the t = 0 election, R-ELECT), the
//! clock and the dispatch of scheduled actions ([`Simulation::run`], R-TIME), the topology
//! queries (who can talk to whom, which datastores a host reaches) and the self-check. The
//! rules live one family per file, each an `impl Simulation` block:
//!
//! * `faults.rs`: injecting faults, host failure / recovery, agent failure, network faults;
//! * `election.rs`: R-ELECT — partitions, elections, abdication, protectedlist locks;
//! * `views.rs`: R-CLASS-M — a master's view of each slave, [`Simulation::host_states`];
//! * `isolation.rs`: R-CLASS-S (declaring isolation) and R-ISO (the isolation response);
//! * `restarts.rs`: R-PLACE-4 and R-OUTAGE — restart queue, priority classes, concurrency,
//!   retries, completions, split brain;
//! * `storage.rs`: R-VMCP — APD and PDL;
//! * `restarts.rs` also holds R-ORCH (orchestrated restart: ready conditions, timeouts,
//!   `vmDependsOn`);
//! * `monitoring.rs`: R-VMMON — hostd's heartbeat status, the I/O check, VM monitoring resets.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use ordered_float::OrderedFloat;
use serde_json::Value;

use crate::error::{Error, Result};
use crate::heartbeat::HeartbeatSelector;
use crate::model::{Inventory, PowerState, RestartPriority};
use crate::placement::{PlacementIndex, PlacementState};

use super::drs::Defrag;
use super::event::{Event, EventKind};
use super::monitoring::HbLoss;
use super::restarts::{Inflight, Manager};
use super::storage::DsFaultRec;
use super::views::View;

/// Slack when comparing instants computed by different sums.
pub(super) const EPS: f64 = 1e-9;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Role {
    /// Powered off, or booting and not yet in an election.
    Down,
    /// In a partition without a master (electing, or about to).
    Candidate,
    Slave,
    Master,
}

#[derive(Debug, Clone)]
pub(super) struct HostRt {
    /// Runs an FDM agent in the cluster at all (connected, not in maintenance or standby).
    pub(super) ha: bool,
    pub(super) alive: bool,
    pub(super) role: Role,
    pub(super) slave_of: Option<usize>,
    /// When this host enters (or entered) the election of its partition.
    pub(super) elect_at: Option<f64>,
    pub(super) announced: bool,
    /// Partition group (0 = the default network).
    pub(super) part_seg: u32,
    /// Management network cut off (isolation fault): no peers, no isolation address.
    pub(super) isolated: bool,
    /// Poweron-file isolation flag (declared isolated).
    pub(super) iso_flag: bool,
    pub(super) iso_gen: u64,
    pub(super) iso_check_pending: bool,
    pub(super) iso_response_pending: bool,
    /// The FDM agent is down (host and VMs keep running; no heartbeats; answers ping).
    pub(super) agent_down: bool,
    /// While cut off by an isolation fault, still reaches an isolation address (R-DOMAIN):
    /// partitioned, not isolated.
    pub(super) iso_reaches_address: bool,
    /// While in a partition group, reaches no isolation address (R-DOMAIN): alone in its group
    /// it is isolated.
    pub(super) part_no_address: bool,
    /// In standby in the inventory and brought out of standby by DPM (R-PLACE-DRS): a cluster
    /// host like the others from then on.
    pub(super) exited_standby: bool,
}

impl HostRt {
    /// The agent stops taking part (host failure or agent failure): no role, no master, no
    /// election, no isolation state; a pending isolation check or response is void.
    pub(super) fn stand_down(&mut self) {
        self.role = Role::Down;
        self.slave_of = None;
        self.elect_at = None;
        self.announced = false;
        self.iso_flag = false;
        self.iso_gen += 1;
        self.iso_check_pending = false;
        self.iso_response_pending = false;
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum OffReason {
    Running,
    /// Its host failed (or lost power).
    Crash,
    /// Powered off by the isolation response (poweredoff marker).
    HaPowerOff,
    /// Terminated by VMCP / PDL.
    Terminated,
    /// Powered off cleanly (never restarted).
    Clean,
    /// Powered off in the inventory and not cleanly (protected, not running).
    Initial,
}

#[derive(Debug, Clone)]
pub(super) struct VmRt {
    pub(super) on: bool,
    /// Registered host (where it runs, or ran last).
    pub(super) host: Option<usize>,
    /// In the protectedlist: HA keeps it running.
    pub(super) want: bool,
    pub(super) off: OffReason,
    pub(super) up_since: f64,
    pub(super) gen: u64,
    /// Second copy after a split brain.
    pub(super) dups: Vec<usize>,
    pub(super) resets: Vec<f64>,
    pub(super) power_on_failures: u32,
    pub(super) not_restarted_reported: bool,
}

#[derive(Debug, Clone)]
pub(super) enum Action {
    FailHosts(Vec<usize>),
    RecoverHosts(Vec<usize>),
    AgentDown(usize),
    AgentUp(usize),
    /// The host, and whether it still reaches an isolation address (R-DOMAIN).
    IsolateStart(usize, bool),
    IsolateEnd(usize),
    /// The groups, and whether their hosts still reach an isolation address (R-DOMAIN).
    PartitionStart(Vec<Vec<usize>>, bool),
    PartitionEnd,
    ApdStart {
        ds: usize,
        hosts: Vec<usize>,
    },
    ApdEnd {
        ds: usize,
        hosts: Vec<usize>,
    },
    Pdl {
        ds: usize,
        hosts: Vec<usize>,
    },
    HeartbeatLoss {
        vm: usize,
        io_until: Option<f64>,
        application: bool,
    },
    HbStatus {
        loss: HbLoss,
        red: bool,
    },
    Note,
    ElectionStart {
        gen: u64,
    },
    ElectionEnd {
        gen: u64,
    },
    ViewUnreachable {
        m: usize,
        s: usize,
        gen: u64,
    },
    ViewDecide {
        m: usize,
        s: usize,
        gen: u64,
    },
    IsoCheck {
        h: usize,
        gen: u64,
    },
    IsoResponse {
        h: usize,
        gen: u64,
    },
    ShutdownDone {
        vm: usize,
        host: usize,
        gen: u64,
    },
    NewMasterScan {
        m: usize,
        epoch: u64,
    },
    Pump {
        m: usize,
        epoch: u64,
    },
    Complete {
        vm: usize,
        id: u64,
    },
    ApdTimeout {
        h: usize,
        ds: usize,
        gen: u64,
    },
    VmcpTerminate {
        vm: usize,
        h: usize,
        ds: usize,
        gen: u64,
    },
    VmmonReset(HbLoss),
    VmReady {
        m: usize,
        epoch: u64,
        vm: usize,
        gen: u64,
    },
    /// vCenter becomes unavailable (`false`) or available again (`true`).
    Vcenter(bool),
    /// The vMotion in progress of the defragmentation for VM `vm` completes (R-PLACE-DRS).
    MigrationDone {
        vm: usize,
        id: u64,
    },
    /// A host DPM was asked to bring out of standby joins the cluster (R-PLACE-DRS).
    StandbyExited(usize),
}

#[derive(Clone)]
struct Scheduled {
    action: Action,
    /// Fault note emitted when the action runs (fault actions only).
    note: Option<(Option<String>, Option<String>, Value)>,
}

/// Where a scheduled action sits in the queue: its time, then the order it was scheduled in
/// (`seq` is unique, so keys never collide). Times are finite (checked by [`secs_ok`] or sums
/// of such), and `OrderedFloat` orders them as numbers.
type QueueKey = (OrderedFloat<f64>, u64);

/// A deterministic discrete-event simulation of the FDM agents of one cluster. Cloning it
/// forks the run (what-if branches share nothing mutable).
// why: (indexing in this file and the rule files beside it) `hosts`, `vms`, `vms_at`, `hb`,
// `connected`, `locks`, `comp_of` and `inflight_per_host` are sized from the inventory in
// `Simulation::new` and never resized; every host / VM / datastore index used on them comes
// from `0..len`, from the inventory's id maps, or from another of these vectors, so it is in
// range. `check_consistency`, the golden timelines and the `sim_events` / `scenario` fuzz
// targets exercise them.
#[derive(Clone)]
pub struct Simulation {
    pub(super) inv: Arc<Inventory>,
    pub(super) index: PlacementIndex,
    pub(super) place: PlacementState,
    pub(super) now: f64,
    seq: u64,
    pub(super) gen: u64,
    /// Scheduled actions, earliest first.
    queue: BTreeMap<QueueKey, Scheduled>,
    events: Vec<Event>,
    returned: usize,
    pub(super) hosts: Vec<HostRt>,
    pub(super) vms: Vec<VmRt>,
    pub(super) vms_at: Vec<BTreeSet<usize>>,
    /// Heartbeat datastores per host (R-HBDS), indices.
    pub(super) hb: Vec<Vec<usize>>,
    /// Host connected to datastore (inventory), `[host][ds]`.
    pub(super) connected: Vec<Vec<bool>>,
    pub(super) ds_faults: BTreeMap<(usize, usize), DsFaultRec>,
    /// (host, vSAN datastore) pairs in APD because the host's partition lost vSAN quorum (R-DOMAIN).
    pub(super) vsan_lost: BTreeSet<(usize, usize)>,
    /// Protectedlist lock of each datastore: the master holding it.
    pub(super) locks: Vec<Option<usize>>,
    pub(super) comp_of: Vec<Option<u64>>,
    pub(super) comps: BTreeMap<u64, Vec<usize>>,
    pub(super) topo_gen: u64,
    pub(super) views: BTreeMap<(usize, usize), View>,
    pub(super) managers: BTreeMap<usize, Manager>,
    pub(super) inflight: BTreeMap<usize, Inflight>,
    pub(super) inflight_per_host: Vec<u32>,
    /// Master for which host availabilities were last set, and at which topology.
    pub(super) avail_for: Option<(usize, u64)>,
    pub(super) vmcp_pending: BTreeMap<(usize, usize), u64>,
    /// VMs whose heartbeats are lost (R-VMMON): (VM, application heartbeat) → the VM's
    /// generation when they stopped.
    pub(super) hb_lost: BTreeMap<(usize, bool), u64>,
    /// Events of the initial state (t = 0 election): they come before anything injected.
    initial_events: usize,
    /// How many `vcenter_unavailable` windows are open: DRS and DPM act only at 0 (R-PLACE-DRS).
    pub(super) vcenter_down: u32,
    /// DRS defragmentations under way (R-PLACE-DRS), by the VM they make room for.
    pub(super) defrags: BTreeMap<usize, Defrag>,
    /// VMs waiting for a host DPM brings out of standby: VM → (host, master, master's epoch).
    pub(super) standby_waits: BTreeMap<usize, (usize, usize, u64)>,
    /// Hosts DPM was asked to bring out of standby that have not joined yet, and when they join.
    pub(super) standby_requested: BTreeMap<usize, f64>,
    /// R-PLACE-DRS search steps spent in the restart pass under way, and the most one pass
    /// spent (`drs.rs`): at most the plan-wide budget.
    pub(super) drs_pass_steps: usize,
    pub(super) drs_pass_steps_max: usize,
}

pub(super) fn secs_ok(name: &str, t: f64) -> Result<()> {
    if t.is_finite() && t >= 0.0 {
        Ok(())
    } else {
        Err(Error::Argument(format!("{name} must be a finite number of seconds >= 0, got {t}")))
    }
}

impl Simulation {
    /// A simulation of `inv` on a virtual clock at 0, with the master elected per R-ELECT.
    pub fn new(inv: impl Into<Arc<Inventory>>) -> Result<Simulation> {
        let inv: Arc<Inventory> = inv.into();
        let index = PlacementIndex::new(&inv);
        let place = PlacementState::new(&inv, &index);
        let nh = inv.hosts.len();
        let nd = inv.datastores.len();
        let selector = HeartbeatSelector::new(&inv, &Default::default());
        let hb =
            (0..nh).map(|h| selector.select_host(h).iter().filter_map(|id| inv.datastore_idx(id)).collect()).collect();
        let connected = inv
            .hosts
            .iter()
            .map(|h| {
                let mut row = vec![false; nd];
                for d in h.datastores.iter().filter_map(|id| inv.datastore_idx(id)) {
                    row[d] = true;
                }
                row
            })
            .collect();
        let hosts = inv
            .hosts
            .iter()
            .map(|h| HostRt {
                ha: h.is_available(),
                alive: h.is_available(),
                role: Role::Down,
                slave_of: None,
                elect_at: None,
                announced: false,
                part_seg: 0,
                isolated: false,
                iso_flag: false,
                iso_gen: 0,
                iso_check_pending: false,
                iso_response_pending: false,
                agent_down: false,
                iso_reaches_address: false,
                part_no_address: false,
                exited_standby: false,
            })
            .collect();
        let mut vms_at = vec![BTreeSet::new(); nh];
        let vms = inv
            .vms
            .iter()
            .enumerate()
            .map(|(i, v)| {
                let host = v.host.as_deref().and_then(|h| inv.host_idx(h));
                if let Some(h) = host {
                    vms_at[h].insert(i);
                }
                let on = v.is_powered_on() && host.is_some();
                let disabled = inv.effective_restart_priority(v) == RestartPriority::Disabled;
                VmRt {
                    on,
                    host,
                    want: v.protected && !v.clean_power_off && !disabled,
                    off: if on {
                        OffReason::Running
                    } else if v.clean_power_off {
                        OffReason::Clean
                    } else {
                        OffReason::Initial
                    },
                    up_since: f64::NEG_INFINITY,
                    gen: 0,
                    dups: Vec::new(),
                    resets: Vec::new(),
                    power_on_failures: 0,
                    not_restarted_reported: false,
                }
            })
            .collect();
        let mut sim = Simulation {
            index,
            place,
            now: 0.0,
            seq: 0,
            gen: 0,
            queue: BTreeMap::new(),
            events: Vec::new(),
            returned: 0,
            hosts,
            vms,
            vms_at,
            hb,
            connected,
            ds_faults: BTreeMap::new(),
            vsan_lost: BTreeSet::new(),
            locks: vec![None; nd],
            comp_of: vec![None; nh],
            comps: BTreeMap::new(),
            topo_gen: 0,
            views: BTreeMap::new(),
            managers: BTreeMap::new(),
            inflight: BTreeMap::new(),
            inflight_per_host: vec![0; nh],
            avail_for: None,
            vmcp_pending: BTreeMap::new(),
            hb_lost: BTreeMap::new(),
            initial_events: 0,
            vcenter_down: 0,
            defrags: BTreeMap::new(),
            standby_waits: BTreeMap::new(),
            standby_requested: BTreeMap::new(),
            drs_pass_steps: 0,
            drs_pass_steps_max: 0,
            inv,
        };
        // t = 0: the cluster is running; every partition (one) has its master at once.
        sim.compute_components();
        let comps: Vec<Vec<usize>> = sim.comps.values().cloned().collect();
        for members in comps {
            sim.elect(&members);
        }
        sim.initial_events = sim.events.len();
        Ok(sim)
    }

    // ------------------------------------------------------------------ public queries

    /// [`Simulation::new`] from a borrowed inventory (cloned once).
    pub fn from_inventory(inv: &Inventory) -> Result<Simulation> {
        Simulation::new(Arc::new(inv.clone()))
    }

    /// The timeline text of every event so far, one line each, hosts, VMs and datastores
    /// shown as `host-12 (esx-12)` when they have names of their own.
    pub fn timeline(&self) -> String {
        super::event::timeline_text(&self.events, self.inv.labels())
    }

    /// The inventory simulated.
    pub fn inventory(&self) -> &Arc<Inventory> {
        &self.inv
    }

    /// The virtual clock.
    pub fn now(&self) -> f64 {
        self.now
    }

    /// Every event so far, in order.
    pub fn events(&self) -> &[Event] {
        &self.events
    }

    /// Each VM's power state and host (the host it runs on, or is registered on when off).
    pub fn vm_states(&self) -> BTreeMap<String, (PowerState, Option<String>)> {
        self.inv
            .vms
            .iter()
            .zip(&self.vms)
            .map(|(v, rt)| {
                let state = if rt.on {
                    PowerState::PoweredOn
                } else if v.power_state == PowerState::Suspended && rt.off == OffReason::Initial {
                    PowerState::Suspended
                } else {
                    PowerState::PoweredOff
                };
                (v.id.clone(), (state, rt.host.map(|h| self.inv.hosts[h].id.clone())))
            })
            .collect()
    }

    /// Hosts each VM runs on right now (two after a split brain), by VM id.
    pub fn vm_hosts(&self) -> BTreeMap<String, Vec<String>> {
        self.inv
            .vms
            .iter()
            .zip(&self.vms)
            .map(|(v, rt)| {
                let mut hs = Vec::new();
                if rt.on {
                    if let Some(h) = rt.host {
                        hs.push(self.inv.hosts[h].id.clone());
                    }
                }
                for &d in &rt.dups {
                    hs.push(self.inv.hosts[d].id.clone());
                }
                (v.id.clone(), hs)
            })
            .collect()
    }

    // ------------------------------------------------------------------ running

    /// Runs the clock to `until` (inclusive) and returns the events of this call, in order.
    pub fn run(&mut self, until: f64) -> Result<Vec<Event>> {
        secs_ok("until", until)?;
        while let Some(entry) = self.queue.first_entry() {
            let time = entry.key().0 .0;
            if time > until + EPS {
                break;
            }
            let item = entry.remove();
            if time > self.now {
                self.now = time;
            }
            if let Some((host, vm, d)) = item.note {
                self.emit_ids(EventKind::Fault, host, vm, d);
            }
            self.handle(item.action);
        }
        if until > self.now {
            self.now = until;
        }
        // Same-instant tie order: by phase, then emission order (stable sort).
        let from = self.returned.max(self.initial_events);
        self.events[from..].sort_by_key(|e| (OrderedFloat(e.time), e.kind.phase()));
        let out = self.events[self.returned..].to_vec();
        self.returned = self.events.len();
        Ok(out)
    }

    /// Runs until nothing is left to happen (or `limit` seconds), returning this call's events.
    pub fn run_to_quiescence(&mut self, limit: f64) -> Result<Vec<Event>> {
        secs_ok("limit", limit)?;
        let start = self.returned;
        while let Some((&(OrderedFloat(t), _), _)) = self.queue.first_key_value() {
            if t > limit {
                break;
            }
            self.run(t)?;
        }
        self.returned = start;
        let out = self.events[self.returned..].to_vec();
        self.returned = self.events.len();
        Ok(out)
    }

    pub(super) fn schedule(&mut self, time: f64, action: Action) {
        self.seq += 1;
        let time = if time < self.now { self.now } else { time };
        self.queue.insert((OrderedFloat(time), self.seq), Scheduled { action, note: None });
    }

    pub(super) fn inject(&mut self, at: f64, action: Action, host: Option<usize>, vm: Option<usize>, d: Value) {
        let host = host.map(|h| self.inv.hosts[h].id.clone());
        let vm = vm.map(|v| self.inv.vms[v].id.clone());
        self.seq += 1;
        self.queue.insert((OrderedFloat(at), self.seq), Scheduled { action, note: Some((host, vm, d)) });
    }

    pub(super) fn next_gen(&mut self) -> u64 {
        self.gen += 1;
        self.gen
    }

    fn emit_ids(&mut self, kind: EventKind, host: Option<String>, vm: Option<String>, d: Value) {
        self.events.push(Event { time: self.now, kind, host, vm, detail: d });
    }

    pub(super) fn emit(&mut self, kind: EventKind, host: Option<usize>, vm: Option<usize>, d: Value) {
        let host = host.map(|h| self.inv.hosts[h].id.clone());
        let vm = vm.map(|v| self.inv.vms[v].id.clone());
        self.emit_ids(kind, host, vm, d);
    }

    fn handle(&mut self, action: Action) {
        match action {
            Action::FailHosts(hs) => self.fail_hosts(&hs),
            Action::RecoverHosts(hs) => self.recover_hosts(&hs),
            Action::AgentDown(h) => self.agent_down(h),
            Action::AgentUp(h) => self.agent_up(h),
            Action::IsolateStart(h, reach) => self.isolate_start(h, reach),
            Action::IsolateEnd(h) => self.isolate_end(h),
            Action::PartitionStart(groups, reach) => self.partition_start(groups, reach),
            Action::PartitionEnd => self.partition_end(),
            Action::ApdStart { ds, hosts } => self.apd_start(ds, &hosts),
            Action::ApdEnd { ds, hosts } => self.apd_end(ds, &hosts),
            Action::Pdl { ds, hosts } => self.pdl(ds, &hosts),
            Action::HeartbeatLoss { vm, io_until, application } => self.heartbeat_loss(vm, io_until, application),
            Action::HbStatus { loss, red } => self.hb_status(loss, red),
            Action::Note => {}
            Action::ElectionStart { gen } => self.election_start(gen),
            Action::ElectionEnd { gen } => self.election_end(gen),
            Action::ViewUnreachable { m, s, gen } => self.view_unreachable(m, s, gen),
            Action::ViewDecide { m, s, gen } => self.view_decide(m, s, gen),
            Action::IsoCheck { h, gen } => self.iso_check(h, gen),
            Action::IsoResponse { h, gen } => self.iso_response(h, gen),
            Action::ShutdownDone { vm, host, gen } => self.shutdown_done(vm, host, gen),
            Action::NewMasterScan { m, epoch } => self.new_master_scan(m, epoch),
            Action::Pump { m, epoch } => self.pump_due(m, epoch),
            Action::Complete { vm, id } => self.complete(vm, id),
            Action::ApdTimeout { h, ds, gen } => self.apd_timeout(h, ds, gen),
            Action::VmcpTerminate { vm, h, ds, gen } => self.vmcp_terminate(vm, h, ds, gen),
            Action::VmmonReset(loss) => self.vmmon_reset(loss),
            Action::VmReady { m, epoch, vm, gen } => self.vm_ready(m, epoch, vm, gen),
            Action::Vcenter(available) => self.vcenter(available),
            Action::MigrationDone { vm, id } => self.migration_done(vm, id),
            Action::StandbyExited(h) => self.standby_exited(h),
        }
    }

    // ------------------------------------------------------------------ topology

    pub(super) fn fdm(&self, h: usize) -> bool {
        self.hosts[h].ha && self.hosts[h].alive && !self.hosts[h].agent_down
    }

    pub(super) fn segment(&self, h: usize) -> u64 {
        let rt = &self.hosts[h];
        if rt.isolated {
            (1u64 << 40) + h as u64
        } else {
            rt.part_seg as u64
        }
    }

    pub(super) fn compute_components(&mut self) {
        self.comps.clear();
        self.comp_of = vec![None; self.hosts.len()];
        for h in 0..self.hosts.len() {
            if self.fdm(h) {
                let s = self.segment(h);
                self.comp_of[h] = Some(s);
                self.comps.entry(s).or_default().push(h);
            }
        }
    }

    pub(super) fn same_comp(&self, a: usize, b: usize) -> bool {
        self.comp_of[a].is_some() && self.comp_of[a] == self.comp_of[b]
    }

    pub(super) fn comp_size(&self, h: usize) -> usize {
        self.comp_of[h].and_then(|c| self.comps.get(&c)).map_or(0, Vec::len)
    }

    pub(super) fn is_master(&self, h: usize) -> bool {
        self.fdm(h) && self.hosts[h].role == Role::Master
    }

    /// A master that acts: not cut off from its isolation addresses (R-DOMAIN) and not declared isolated.
    pub(super) fn reporting(&self, h: usize) -> bool {
        self.is_master(h) && !self.no_address(h) && !self.hosts[h].iso_flag
    }

    pub(super) fn access(&self, h: usize, d: usize) -> bool {
        self.connected[h][d] && !self.ds_faults.contains_key(&(h, d))
    }

    pub(super) fn host_ids(&self, hosts: &[usize]) -> Vec<String> {
        hosts.iter().map(|&h| self.inv.hosts[h].id.clone()).collect()
    }

    // ------------------------------------------------------------------ VMs

    pub(super) fn power_off(&mut self, v: usize, why: OffReason) {
        let rt = &mut self.vms[v];
        if !rt.on {
            return;
        }
        rt.on = false;
        rt.off = why;
        rt.gen += 1;
        if let Some(h) = rt.host {
            self.place.remove_vm(&self.inv, &self.index, v, h);
            if why != OffReason::Crash {
                self.reservation_freed(h);
            }
        }
    }

    // ------------------------------------------------------------------ self-check

    /// Internal consistency (for tests): every running VM is on a live host, and the
    /// reservations booked for placement equal those of the running copies plus the power-ons
    /// in flight. `Err` describes the first discrepancy.
    pub fn check_consistency(&self) -> std::result::Result<(), String> {
        let mut expected = vec![crate::capacity::Resources::default(); self.hosts.len()];
        for (v, rt) in self.vms.iter().enumerate() {
            let res = crate::capacity::vm_reservation(&self.inv.vms[v]);
            if rt.on {
                let Some(h) = rt.host else {
                    return Err(format!("{} on no host", self.inv.vms[v].id));
                };
                if self.hosts[h].ha && !self.hosts[h].alive {
                    return Err(format!("{} runs on failed host {}", self.inv.vms[v].id, self.inv.hosts[h].id));
                }
                expected[h] = expected[h].saturating_add(res);
            }
            for &d in &rt.dups {
                if !self.hosts[d].alive {
                    return Err(format!("{} copy on failed host {}", self.inv.vms[v].id, self.inv.hosts[d].id));
                }
                expected[d] = expected[d].saturating_add(res);
            }
        }
        for (&v, a) in &self.inflight {
            if !a.target_lost {
                let res = crate::capacity::vm_reservation(&self.inv.vms[v]);
                expected[a.host] = expected[a.host].saturating_add(res);
            }
        }
        // R-PLACE-DRS: a vMotion books its destination from when DRS plans it until it completes.
        for d in self.defrags.values() {
            for m in &d.moves[d.next..] {
                let res = crate::capacity::vm_reservation(&self.inv.vms[m.vm]);
                expected[m.to] = expected[m.to].saturating_add(res);
            }
        }
        for (h, e) in expected.iter().enumerate() {
            if self.place.reserved(h) != *e {
                return Err(format!("{}: booked {:?}, expected {:?}", self.inv.hosts[h].id, self.place.reserved(h), e));
            }
        }
        Ok(())
    }
}
