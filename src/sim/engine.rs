//! The discrete-event FDM engine: see the module documentation in [`super`] for the model.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap};
use std::sync::Arc;

use serde_json::{json, Value};

use crate::classify::{master_view, HostState, MasterObservation};
use crate::election::{compare, Candidate};
use crate::error::{Error, Result};
use crate::heartbeat::HeartbeatSelector;
use crate::model::{
    ApdClearedReaction, Inventory, IsolationResponse, PowerState, RestartPriority, StorageProtection, Version,
    VmMonitoringMode, VmMonitoringSensitivity,
};
use crate::placement::{
    place_vm, restart_order, HostAvailability, Outcome, PlacementIndex, PlacementState, RestartClass,
};

use super::event::{Event, EventKind};

/// Engine rule: the isolated host checks protectedlist ownership (R-ISO) from 5.1 on; in 5.0
/// the response is applied without that check (see the module documentation).
const OWNERSHIP_CHECK_FROM: Version = Version::V5_1;
/// Slack when comparing instants computed by different sums.
const EPS: f64 = 1e-9;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    /// Powered off, or booting and not yet in an election.
    Down,
    /// In a partition without a master (electing, or about to).
    Candidate,
    Slave,
    Master,
}

#[derive(Debug, Clone)]
struct HostRt {
    /// Runs an FDM agent in the cluster at all (connected, not in maintenance or standby).
    ha: bool,
    alive: bool,
    role: Role,
    slave_of: Option<usize>,
    /// When this host enters (or entered) the election of its partition.
    elect_at: Option<f64>,
    announced: bool,
    /// Partition group (0 = the default network).
    part_seg: u32,
    /// Management network cut off (isolation fault): no peers, no isolation address.
    isolated: bool,
    /// Poweron-file isolation flag (declared isolated).
    iso_flag: bool,
    iso_gen: u64,
    iso_check_pending: bool,
    iso_response_pending: bool,
    /// The FDM agent is down (host and VMs keep running; no heartbeats; answers ping).
    agent_down: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OffReason {
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
struct VmRt {
    on: bool,
    /// Registered host (where it runs, or ran last).
    host: Option<usize>,
    /// In the protectedlist: HA keeps it running.
    want: bool,
    off: OffReason,
    up_since: f64,
    gen: u64,
    /// Second copy after a split brain.
    dups: Vec<usize>,
    resets: Vec<f64>,
    power_on_failures: u32,
    not_restarted_reported: bool,
}

#[derive(Debug, Clone)]
struct View {
    state: HostState,
    lost_at: Option<f64>,
    decided: bool,
    redecide: bool,
    gen: u64,
}

#[derive(Debug, Clone)]
struct Entry {
    attempts: u32,
    first_at: f64,
    next_at: f64,
    in_flight: bool,
    last_unplaced: bool,
    /// When the last attempt was issued.
    last_at: f64,
    gave_up: bool,
}

#[derive(Debug, Clone)]
struct Manager {
    epoch: u64,
    entries: BTreeMap<usize, Entry>,
    pump_times: BTreeSet<u64>,
}

#[derive(Debug, Clone)]
struct Inflight {
    id: u64,
    host: usize,
    master: usize,
    epoch: u64,
    attempt: u32,
    target_lost: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DsFault {
    Apd,
    Pdl,
}

#[derive(Debug, Clone)]
struct DsFaultRec {
    kind: DsFault,
    gen: u64,
    timed_out: bool,
}

#[derive(Debug, Clone)]
enum Action {
    FailHosts(Vec<usize>),
    RecoverHosts(Vec<usize>),
    AgentDown(usize),
    AgentUp(usize),
    IsolateStart(usize),
    IsolateEnd(usize),
    PartitionStart(Vec<Vec<usize>>),
    PartitionEnd,
    ApdStart { ds: usize, hosts: Vec<usize> },
    ApdEnd { ds: usize, hosts: Vec<usize> },
    Pdl { ds: usize, hosts: Vec<usize> },
    HeartbeatLoss(usize),
    Note,
    ElectionStart { gen: u64 },
    ElectionEnd { gen: u64 },
    ViewUnreachable { m: usize, s: usize, gen: u64 },
    ViewDecide { m: usize, s: usize, gen: u64 },
    IsoCheck { h: usize, gen: u64 },
    IsoResponse { h: usize, gen: u64 },
    ShutdownDone { vm: usize, host: usize, gen: u64 },
    NewMasterScan { m: usize, epoch: u64 },
    Pump { m: usize, epoch: u64 },
    Complete { vm: usize, id: u64 },
    ApdTimeout { h: usize, ds: usize, gen: u64 },
    VmcpTerminate { vm: usize, h: usize, ds: usize, gen: u64 },
    VmmonReset { vm: usize, gen: u64 },
}

#[derive(Clone)]
struct Scheduled {
    time: f64,
    seq: u64,
    action: Action,
    /// Fault note emitted when the action runs (fault actions only).
    note: Option<(Option<String>, Option<String>, Value)>,
}

impl PartialEq for Scheduled {
    fn eq(&self, other: &Self) -> bool {
        self.seq == other.seq
    }
}
impl Eq for Scheduled {}
impl PartialOrd for Scheduled {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Scheduled {
    /// Reversed: the heap pops the earliest time, then the earliest scheduled.
    fn cmp(&self, other: &Self) -> Ordering {
        other.time.total_cmp(&self.time).then(other.seq.cmp(&self.seq))
    }
}

/// A deterministic discrete-event simulation of the FDM agents of one cluster. Cloning it
/// forks the run (what-if branches share nothing mutable).
// why: (indexing in this file) `hosts`, `vms`, `vms_at`, `hb`, `connected`, `locks`, `comp_of`
// and `inflight_per_host` are sized from the inventory in `Simulation::new` and never resized;
// every host / VM / datastore index used on them comes from `0..len`, from the inventory's id
// maps, or from another of these vectors, so it is in range. `check_consistency`, the golden
// timelines and the `sim_events` / `scenario` fuzz targets exercise them.
#[derive(Clone)]
pub struct Simulation {
    inv: Arc<Inventory>,
    index: PlacementIndex,
    place: PlacementState,
    now: f64,
    seq: u64,
    gen: u64,
    queue: BinaryHeap<Scheduled>,
    events: Vec<Event>,
    returned: usize,
    hosts: Vec<HostRt>,
    vms: Vec<VmRt>,
    vms_at: Vec<BTreeSet<usize>>,
    /// Heartbeat datastores per host (R-HBDS), indices.
    hb: Vec<Vec<usize>>,
    /// Host connected to datastore (inventory), `[host][ds]`.
    connected: Vec<Vec<bool>>,
    ds_faults: BTreeMap<(usize, usize), DsFaultRec>,
    /// Protectedlist lock of each datastore: the master holding it.
    locks: Vec<Option<usize>>,
    comp_of: Vec<Option<u64>>,
    comps: BTreeMap<u64, Vec<usize>>,
    topo_gen: u64,
    views: BTreeMap<(usize, usize), View>,
    managers: BTreeMap<usize, Manager>,
    inflight: BTreeMap<usize, Inflight>,
    inflight_per_host: Vec<u32>,
    /// Master for which host availabilities were last set, and at which topology.
    avail_for: Option<(usize, u64)>,
    vmcp_pending: BTreeMap<(usize, usize), u64>,
    /// Events of the initial state (t = 0 election): they come before anything injected.
    initial_events: usize,
}

fn secs_ok(name: &str, t: f64) -> Result<()> {
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
            queue: BinaryHeap::new(),
            events: Vec::new(),
            returned: 0,
            hosts,
            vms,
            vms_at,
            hb,
            connected,
            ds_faults: BTreeMap::new(),
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
            initial_events: 0,
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

    // ------------------------------------------------------------------ fault injection

    // An id or an unambiguous name (`Inventory::resolve_*`).
    fn host_arg(&self, id: &str) -> Result<usize> {
        self.inv.resolve_host(id)
    }
    fn vm_arg(&self, id: &str) -> Result<usize> {
        self.inv.resolve_vm(id)
    }
    fn ds_arg(&self, id: &str) -> Result<usize> {
        self.inv.resolve_datastore(id)
    }
    fn at_arg(&self, name: &str, at: f64) -> Result<()> {
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
    fn inject_window(
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

    fn inject(&mut self, at: f64, action: Action, host: Option<usize>, vm: Option<usize>, d: Value) {
        let host = host.map(|h| self.inv.hosts[h].id.clone());
        let vm = vm.map(|v| self.inv.vms[v].id.clone());
        self.seq += 1;
        self.queue.push(Scheduled { time: at, seq: self.seq, action, note: Some((host, vm, d)) });
    }

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

    /// A host's management network is cut off from `at` (storage still reachable) until `until`.
    pub fn isolate_host(&mut self, host: &str, at: f64, until: Option<f64>) -> Result<()> {
        let h = self.host_arg(host)?;
        let start = (Action::IsolateStart(h), json!({"type": "isolation"}));
        self.inject_window(at, until, Some(h), start, (Action::IsolateEnd(h), json!({"type": "isolation_end"})))
    }

    /// The network splits into `groups` (host ids) from `at` until `until`. Hosts in no group
    /// form one more group together.
    pub fn partition(&mut self, groups: Vec<Vec<String>>, at: f64, until: Option<f64>) -> Result<()> {
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
        // The event records ids, whatever names the caller used.
        let ids: Vec<Value> = idx.iter().map(|row| json!(self.host_ids(row))).collect();
        let start = (Action::PartitionStart(idx), json!({"type": "partition", "groups": ids}));
        self.inject_window(at, until, None, start, (Action::PartitionEnd, json!({"type": "partition_end"})))
    }

    /// Every host loses power at `at`; all come back at `restore_at`.
    pub fn power_outage(&mut self, at: f64, restore_at: Option<f64>) -> Result<()> {
        let all: Vec<usize> = (0..self.hosts.len()).collect();
        let start = (Action::FailHosts(all.clone()), json!({"type": "power_outage"}));
        self.inject_window(at, restore_at, None, start, (Action::RecoverHosts(all), json!({"type": "power_restore"})))
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

    fn host_ids(&self, hosts: &[usize]) -> Vec<String> {
        hosts.iter().map(|&h| self.inv.hosts[h].id.clone()).collect()
    }

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

    /// A VM's guest heartbeats stop at `at` (VM monitoring, R-VMMON); they resume after a reset.
    pub fn guest_heartbeat_loss(&mut self, vm: &str, at: f64) -> Result<()> {
        let v = self.vm_arg(vm)?;
        self.at_arg("at", at)?;
        self.inject(at, Action::HeartbeatLoss(v), None, Some(v), json!({"type": "guest_heartbeat_loss"}));
        Ok(())
    }

    /// The next `attempts` power-on attempts of a VM fail (to exercise retries).
    pub fn vm_power_on_failure(&mut self, vm: &str, attempts: u32) -> Result<()> {
        let v = self.vm_arg(vm)?;
        self.vms[v].power_on_failures = self.vms[v].power_on_failures.saturating_add(attempts);
        Ok(())
    }

    /// vCenter is unavailable from `at` until `until`: recorded; HA keeps working without it.
    pub fn vcenter_unavailable(&mut self, at: f64, until: Option<f64>) -> Result<()> {
        let start = (Action::Note, json!({"type": "vcenter_unavailable"}));
        self.inject_window(at, until, None, start, (Action::Note, json!({"type": "vcenter_available"})))
    }

    // ------------------------------------------------------------------ running

    /// Runs the clock to `until` (inclusive) and returns the events of this call, in order.
    pub fn run(&mut self, until: f64) -> Result<Vec<Event>> {
        secs_ok("until", until)?;
        while let Some(top) = self.queue.peek() {
            if top.time > until + EPS {
                break;
            }
            let Some(item) = self.queue.pop() else { break };
            if item.time > self.now {
                self.now = item.time;
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
        self.events[from..].sort_by(|a, b| a.time.total_cmp(&b.time).then(a.kind.phase().cmp(&b.kind.phase())));
        let out = self.events[self.returned..].to_vec();
        self.returned = self.events.len();
        Ok(out)
    }

    /// Runs until nothing is left to happen (or `limit` seconds), returning this call's events.
    pub fn run_to_quiescence(&mut self, limit: f64) -> Result<Vec<Event>> {
        secs_ok("limit", limit)?;
        let start = self.returned;
        while let Some(top) = self.queue.peek() {
            if top.time > limit {
                break;
            }
            let t = top.time;
            self.run(t)?;
        }
        self.returned = start;
        let out = self.events[self.returned..].to_vec();
        self.returned = self.events.len();
        Ok(out)
    }

    fn schedule(&mut self, time: f64, action: Action) {
        self.seq += 1;
        let time = if time < self.now { self.now } else { time };
        self.queue.push(Scheduled { time, seq: self.seq, action, note: None });
    }

    fn next_gen(&mut self) -> u64 {
        self.gen += 1;
        self.gen
    }

    fn emit_ids(&mut self, kind: EventKind, host: Option<String>, vm: Option<String>, d: Value) {
        self.events.push(Event { time: self.now, kind, host, vm, detail: d });
    }

    fn emit(&mut self, kind: EventKind, host: Option<usize>, vm: Option<usize>, d: Value) {
        let host = host.map(|h| self.inv.hosts[h].id.clone());
        let vm = vm.map(|v| self.inv.vms[v].id.clone());
        self.emit_ids(kind, host, vm, d);
    }

    fn handle(&mut self, action: Action) {
        match action {
            Action::FailHosts(hs) => self.fail_hosts(&hs),
            Action::RecoverHosts(hs) => self.recover_hosts(&hs),
            Action::AgentDown(h) => self.agent_down(h),
            Action::AgentUp(h) => {
                if self.hosts[h].agent_down {
                    self.hosts[h].agent_down = false;
                    self.hosts[h].role = Role::Down;
                    self.reconcile();
                }
            }
            Action::IsolateStart(h) => {
                self.hosts[h].isolated = true;
                self.reconcile();
            }
            Action::IsolateEnd(h) => {
                self.hosts[h].isolated = false;
                self.reconcile();
            }
            Action::PartitionStart(groups) => {
                for h in &mut self.hosts {
                    h.part_seg = 0;
                }
                for (i, g) in groups.iter().enumerate() {
                    for &h in g {
                        // why: i indexes a partition group, fewer than hosts (< 2^32).
                        self.hosts[h].part_seg = i as u32 + 1;
                    }
                }
                self.reconcile();
            }
            Action::PartitionEnd => {
                for h in &mut self.hosts {
                    h.part_seg = 0;
                }
                self.reconcile();
            }
            Action::ApdStart { ds, hosts } => self.apd_start(ds, &hosts),
            Action::ApdEnd { ds, hosts } => self.apd_end(ds, &hosts),
            Action::Pdl { ds, hosts } => self.pdl(ds, &hosts),
            Action::HeartbeatLoss(v) => self.heartbeat_loss(v),
            Action::Note => {}
            Action::ElectionStart { gen } => self.election_start(gen),
            Action::ElectionEnd { gen } => self.election_end(gen),
            Action::ViewUnreachable { m, s, gen } => {
                if self.views.get(&(m, s)).is_some_and(|v| v.gen == gen && !v.decided) {
                    self.emit(EventKind::HostUnreachable, Some(s), None, json!({"master": self.inv.hosts[m].id}));
                }
            }
            Action::ViewDecide { m, s, gen } => self.view_decide(m, s, gen),
            Action::IsoCheck { h, gen } => self.iso_check(h, gen),
            Action::IsoResponse { h, gen } => self.iso_response(h, gen),
            Action::ShutdownDone { vm, host, gen } => {
                let rt = &self.vms[vm];
                if rt.gen == gen && rt.on && rt.host == Some(host) {
                    self.power_off(vm, OffReason::HaPowerOff);
                    self.emit(
                        EventKind::VmPoweredOff,
                        Some(host),
                        Some(vm),
                        json!({"reason": "isolation response shutdown (das.isolationShutdownTimeout)"}),
                    );
                    self.consider_all(&[vm]);
                }
            }
            Action::NewMasterScan { m, epoch } => {
                if self.managers.get(&m).is_some_and(|mg| mg.epoch == epoch) {
                    let all: Vec<usize> = (0..self.vms.len()).collect();
                    self.consider(m, &all);
                }
            }
            Action::Pump { m, epoch } => {
                let key = self.now.to_bits();
                if let Some(mg) = self.managers.get_mut(&m) {
                    if mg.epoch == epoch {
                        mg.pump_times.remove(&key);
                        self.pump(m);
                    }
                }
            }
            Action::Complete { vm, id } => self.complete(vm, id),
            Action::ApdTimeout { h, ds, gen } => self.apd_timeout(h, ds, gen),
            Action::VmcpTerminate { vm, h, ds, gen } => self.vmcp_terminate(vm, h, ds, gen),
            Action::VmmonReset { vm, gen } => self.vmmon_reset(vm, gen),
        }
    }

    // ------------------------------------------------------------------ topology

    fn fdm(&self, h: usize) -> bool {
        self.hosts[h].ha && self.hosts[h].alive && !self.hosts[h].agent_down
    }

    fn agent_down(&mut self, h: usize) {
        if !self.fdm(h) {
            return;
        }
        let was_master = self.hosts[h].role == Role::Master;
        {
            let rt = &mut self.hosts[h];
            rt.agent_down = true;
            rt.role = Role::Down;
            rt.slave_of = None;
            rt.elect_at = None;
            rt.announced = false;
            rt.iso_flag = false;
            rt.iso_gen += 1;
            rt.iso_check_pending = false;
            rt.iso_response_pending = false;
        }
        if was_master {
            self.stop_reporting(h);
            self.release_locks(h);
        }
        self.reconcile();
    }

    fn segment(&self, h: usize) -> u64 {
        let rt = &self.hosts[h];
        if rt.isolated {
            (1u64 << 40) + h as u64
        } else {
            rt.part_seg as u64
        }
    }

    fn compute_components(&mut self) {
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

    fn same_comp(&self, a: usize, b: usize) -> bool {
        self.comp_of[a].is_some() && self.comp_of[a] == self.comp_of[b]
    }

    fn comp_size(&self, h: usize) -> usize {
        self.comp_of[h].and_then(|c| self.comps.get(&c)).map_or(0, Vec::len)
    }

    fn is_master(&self, h: usize) -> bool {
        self.fdm(h) && self.hosts[h].role == Role::Master
    }

    /// A master that acts: not cut off from its isolation addresses and not declared isolated.
    fn reporting(&self, h: usize) -> bool {
        self.is_master(h) && !self.hosts[h].isolated && !self.hosts[h].iso_flag
    }

    fn access(&self, h: usize, d: usize) -> bool {
        self.connected[h][d] && !self.ds_faults.contains_key(&(h, d))
    }

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

    fn main_master(&self) -> Option<usize> {
        let masters: Vec<usize> = (0..self.hosts.len()).filter(|&h| self.reporting(h)).collect();
        let biggest = masters.iter().map(|&m| self.comp_size(m)).max()?;
        let top: Vec<usize> = masters.into_iter().filter(|&m| self.comp_size(m) == biggest).collect();
        Some(self.best_of(&top))
    }

    fn fail_hosts(&mut self, hs: &[usize]) {
        for &h in hs {
            if !self.hosts[h].alive {
                continue;
            }
            let was_master = self.hosts[h].role == Role::Master;
            {
                let rt = &mut self.hosts[h];
                rt.alive = false;
                rt.role = Role::Down;
                rt.slave_of = None;
                rt.elect_at = None;
                rt.announced = false;
                rt.iso_flag = false;
                rt.iso_gen += 1;
                rt.iso_check_pending = false;
                rt.iso_response_pending = false;
            }
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
        self.reconcile();
    }

    fn recover_hosts(&mut self, hs: &[usize]) {
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
        self.reconcile();
    }

    fn clear_isolation(&mut self, h: usize) {
        let rt = &mut self.hosts[h];
        if rt.iso_flag || rt.iso_check_pending || rt.iso_response_pending {
            rt.iso_flag = false;
            rt.iso_check_pending = false;
            rt.iso_response_pending = false;
            rt.iso_gen += 1;
        }
    }

    /// Re-derives partitions, masters and elections after a change of who can talk to whom.
    fn reconcile(&mut self) {
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
                    if members.len() > 1 {
                        self.clear_isolation(m);
                    }
                    if self.hosts[m].isolated {
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

    /// A host that hears a master again powers off the copies of VMs it lost the lock of.
    fn resolve_split_brain(&mut self, hosts: &[usize]) {
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

    fn schedule_iso_checks(&mut self) {
        let icmp = self.inv.options().icmp_ping_timeout_s;
        for h in 0..self.hosts.len() {
            let rt = &self.hosts[h];
            if self.is_master(h) && rt.isolated && !rt.iso_flag && !rt.iso_check_pending && self.comp_size(h) == 1 {
                let gen = rt.iso_gen;
                self.hosts[h].iso_check_pending = true;
                self.schedule(self.now + icmp, Action::IsoCheck { h, gen });
            }
        }
    }

    fn election_start(&mut self, gen: u64) {
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

    fn election_end(&mut self, gen: u64) {
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
    fn elect(&mut self, members: &[usize]) {
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

    /// A master that acts: a fresh restart count, its view of every host, and the protectedlist
    /// scan after `engine.newMasterRestartDelaySec`.
    fn start_reporting(&mut self, m: usize) {
        let epoch = self.next_gen();
        self.managers.insert(m, Manager { epoch, entries: BTreeMap::new(), pump_times: BTreeSet::new() });
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

    fn stop_reporting(&mut self, m: usize) {
        self.managers.remove(&m);
        let keys: Vec<(usize, usize)> = self.views.range((m, 0)..(m + 1, 0)).map(|(k, _)| *k).collect();
        for k in keys {
            self.views.remove(&k);
        }
        if self.avail_for.is_some_and(|(a, _)| a == m) {
            self.avail_for = None;
        }
    }

    fn lock_holder_valid(&self, m: usize) -> bool {
        self.is_master(m) && !self.hosts[m].iso_flag
    }

    fn release_locks(&mut self, m: usize) {
        for l in &mut self.locks {
            if *l == Some(m) {
                *l = None;
            }
        }
    }

    /// Unowned protectedlist locks go to the acting masters that can reach the datastore, the
    /// main partition's master first.
    fn claim_locks(&mut self) {
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

    // ------------------------------------------------------------------ master's view (R-CLASS-M)

    fn ds_heartbeat(&self, m: usize, s: usize) -> bool {
        self.fdm(s) && self.hb[s].iter().any(|&d| self.access(s, d) && self.access(m, d))
    }

    fn observe(&self, m: usize, s: usize) -> MasterObservation {
        MasterObservation {
            network_heartbeat: self.same_comp(m, s),
            // Only a host whose agent is down answers ICMP while silent (fdmUnreachable).
            ping: self.hosts[s].alive && self.hosts[s].agent_down && self.segment(s) == self.segment(m),
            datastore_heartbeat: self.ds_heartbeat(m, s),
            isolated_flag: self.fdm(s) && self.hosts[s].iso_flag,
        }
    }

    fn refresh_views(&mut self) {
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

    fn view_decide(&mut self, m: usize, s: usize, gen: u64) {
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

    fn on_host_down(&mut self, m: usize, s: usize) {
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

    // ------------------------------------------------------------------ isolation (R-ISO)

    fn iso_check(&mut self, h: usize, gen: u64) {
        let rt = &self.hosts[h];
        if rt.iso_gen != gen || !self.is_master(h) || !rt.isolated || rt.iso_flag || self.comp_size(h) != 1 {
            return;
        }
        self.hosts[h].iso_check_pending = false;
        self.hosts[h].iso_flag = true;
        self.emit(EventKind::IsolationDeclared, Some(h), None, json!({}));
        self.stop_reporting(h);
        self.release_locks(h);
        self.claim_locks();
        let delay = self.inv.options().isolation_policy_delay_s;
        self.hosts[h].iso_response_pending = true;
        let gen = self.hosts[h].iso_gen;
        self.schedule(self.now + delay, Action::IsoResponse { h, gen });
        self.refresh_views();
    }

    fn iso_response(&mut self, h: usize, gen: u64) {
        if self.hosts[h].iso_gen != gen || !self.hosts[h].alive || !self.hosts[h].iso_flag {
            return;
        }
        self.hosts[h].iso_response_pending = false;
        let on_host: Vec<usize> = self.vms_at[h].iter().copied().filter(|&v| self.vms[v].on).collect();
        let mut off = Vec::new();
        let shutdown_timeout = self.inv.options().isolation_shutdown_timeout_s;
        for v in on_host {
            let vm = &self.inv.vms[v];
            let response = self.inv.effective_isolation_response(vm);
            let home = self.inv.datastore_idx(&vm.home_datastore);
            let leave = if !self.inv.cluster.host_monitoring {
                Some("host monitoring disabled".to_string())
            } else if self.inv.effective_restart_priority(vm) == RestartPriority::Disabled {
                Some("restart priority disabled".to_string())
            } else if response == IsolationResponse::None {
                Some("isolation response none".to_string())
            } else {
                let inaccessible = home.is_none_or(|d| !self.access(h, d));
                let owned = home.is_some_and(|d| self.locks[d].is_some_and(|o| o != h && self.lock_holder_valid(o)));
                if inaccessible || owned || !self.inv.cluster.version.at_least(OWNERSHIP_CHECK_FROM) {
                    None
                } else {
                    Some(format!("no master owns {}", vm.home_datastore))
                }
            };
            match leave {
                Some(reason) => {
                    self.emit(
                        EventKind::IsolationResponse,
                        Some(h),
                        Some(v),
                        json!({"action": "none", "reason": reason}),
                    );
                }
                None if response == IsolationResponse::Shutdown && vm.tools_running => {
                    self.emit(EventKind::IsolationResponse, Some(h), Some(v), json!({"action": "shutdown"}));
                    let gen = self.vms[v].gen;
                    self.schedule(self.now + shutdown_timeout, Action::ShutdownDone { vm: v, host: h, gen });
                }
                None => {
                    let d = if response == IsolationResponse::Shutdown {
                        json!({"action": "shutdown", "reason": "no VMware Tools: powered off at once"})
                    } else {
                        json!({"action": "powerOff"})
                    };
                    self.power_off(v, OffReason::HaPowerOff);
                    self.emit(EventKind::IsolationResponse, Some(h), Some(v), d);
                    off.push(v);
                }
            }
        }
        if !off.is_empty() {
            self.consider_all(&off);
        }
    }

    // ------------------------------------------------------------------ VMs

    fn power_off(&mut self, v: usize, why: OffReason) {
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

    /// Reservations freed on a live host: masters whose partition holds it retry pending VMs
    /// at once (R-PLACE-4 "capacity appears").
    fn reservation_freed(&mut self, h: usize) {
        if !self.fdm(h) {
            return;
        }
        let masters: Vec<usize> = self.managers.keys().copied().filter(|&m| self.same_comp(m, h)).collect();
        for m in masters {
            self.capacity_appeared(m);
        }
    }

    fn set_vm_host(&mut self, v: usize, h: usize) {
        if let Some(old) = self.vms[v].host {
            self.vms_at[old].remove(&v);
        }
        self.vms[v].host = Some(h);
        self.vms_at[h].insert(v);
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
    fn handler(&self, m: usize, v: usize) -> usize {
        let home = self.inv.datastore_idx(&self.inv.vms[v].home_datastore);
        match home.and_then(|d| self.locks[d]) {
            Some(o) if self.reporting(o) => o,
            _ => m,
        }
    }

    fn consider_all(&mut self, vms: &[usize]) {
        let masters: Vec<usize> = self.managers.keys().copied().collect();
        for m in masters {
            self.consider(m, vms);
        }
    }

    fn consider(&mut self, m: usize, vms: &[usize]) {
        if !self.reporting(m) || !self.managers.contains_key(&m) {
            return;
        }
        let mut added = false;
        for &v in vms {
            if self.handler(m, v) != m || !self.needs_restart(m, v) || self.inflight.contains_key(&v) {
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
                },
            );
            added = true;
        }
        if added {
            self.schedule_pump(m, self.now);
        }
    }

    fn schedule_pump(&mut self, m: usize, at: f64) {
        let at = at.max(self.now);
        let Some(mg) = self.managers.get_mut(&m) else {
            return;
        };
        if mg.pump_times.insert(at.to_bits()) {
            let epoch = mg.epoch;
            self.schedule(at, Action::Pump { m, epoch });
        }
    }

    fn capacity_appeared(&mut self, m: usize) {
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

    fn set_availability(&mut self, m: usize) {
        if self.avail_for == Some((m, self.topo_gen)) {
            return;
        }
        for h in 0..self.hosts.len() {
            let base = HostAvailability::of(&self.inv.hosts[h]);
            let a = if !base.is_usable() {
                base
            } else if !self.hosts[h].alive {
                HostAvailability::Failed
            } else if self.hosts[h].agent_down {
                HostAvailability::NotResponding
            } else if self.same_comp(m, h) {
                HostAvailability::Usable
            } else if self.hosts[h].isolated {
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

    /// Issues due restarts: one priority class at a time, a lower class only once every
    /// attempt of the higher classes has completed; at most
    /// `das.perHostConcurrentFailoversLimit` power-ons in flight per host (R-PLACE-4).
    fn pump(&mut self, m: usize) {
        if !self.reporting(m) {
            return;
        }
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
            let order = restart_order(&self.inv, &self.index, &due);
            // why: `due` is not empty (checked above) and `order` is a permutation of it.
            let class = self.class_rank(order[0]);
            let blocked =
                self.inflight.iter().any(|(&v, a)| a.master == m && a.epoch == epoch && self.class_rank(v) < class);
            if blocked {
                return;
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
                        self.inflight.insert(v, Inflight { id, host, master: m, epoch, attempt, target_lost: false });
                        self.inflight_per_host[host] += 1;
                        if self.inflight_per_host[host] >= limit {
                            self.place.set_availability(host, HostAvailability::Standby);
                            saturated.push(host);
                        }
                        self.emit(EventKind::RestartAttempt, Some(host), Some(v), json!({"attempt": attempt}));
                        self.schedule(now + power_on, Action::Complete { vm: v, id });
                    }
                    Outcome::Unplaced { reason, .. } => {
                        // why: as for `Placed` above.
                        let mg = self.managers.get_mut(&m).expect("manager present");
                        let e = mg.entries.get_mut(&v).expect("due entry");
                        e.attempts += 1;
                        e.last_at = now;
                        let attempt = e.attempts;
                        self.emit(
                            EventKind::VmUnplaced,
                            None,
                            Some(v),
                            json!({"reason": reason.as_str(), "attempt": attempt}),
                        );
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

    fn complete(&mut self, v: usize, id: u64) {
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

    // ------------------------------------------------------------------ storage (R-VMCP)

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

    fn apd_start(&mut self, d: usize, hosts: &[usize]) {
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

    fn apd_end(&mut self, d: usize, hosts: &[usize]) {
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

    fn apd_timeout(&mut self, h: usize, d: usize, gen: u64) {
        let Some(rec) = self.ds_faults.get_mut(&(h, d)) else {
            return;
        };
        if rec.gen != gen || !self.hosts[h].alive {
            return;
        }
        rec.timed_out = true;
        self.emit(EventKind::ApdTimeout, Some(h), None, json!({"datastore": self.inv.datastores[d].id}));
        let delay = self.inv.cluster.vmcp.apd_delay_s as f64;
        let vms: Vec<usize> =
            self.vms_at[h].iter().copied().filter(|&v| self.vms[v].on && self.vm_uses(v, d)).collect();
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

    fn vmcp_terminate(&mut self, v: usize, h: usize, d: usize, gen: u64) {
        if self.vmcp_pending.get(&(v, h)) != Some(&gen) {
            return;
        }
        self.vmcp_pending.remove(&(v, h));
        if !self.vms[v].on || self.vms[v].host != Some(h) || !self.ds_faults.contains_key(&(h, d)) {
            return;
        }
        let policy = self.apd_policy(v);
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

    fn pdl(&mut self, d: usize, hosts: &[usize]) {
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

    // ------------------------------------------------------------------ VM monitoring (R-VMMON)

    fn vmmon_params(&self, v: usize) -> Option<(f64, f64, f64, u32)> {
        let cfg = &self.inv.cluster.vm_monitoring;
        let o = self.inv.vms[v].vm_monitoring.as_ref();
        let mode = o.and_then(|o| o.mode).unwrap_or(cfg.mode);
        if mode == VmMonitoringMode::Disabled {
            return None;
        }
        let sens = o.and_then(|o| o.sensitivity).unwrap_or(cfg.sensitivity);
        let (interval, window) = match sens {
            VmMonitoringSensitivity::High => (30.0, 3600.0),
            VmMonitoringSensitivity::Medium => (60.0, 86_400.0),
            VmMonitoringSensitivity::Low => (120.0, 604_800.0),
            VmMonitoringSensitivity::Custom => {
                (cfg.failure_interval_s.unwrap_or(30) as f64, cfg.max_resets_window_s.map_or(3600.0, |w| w as f64))
            }
        };
        let min_uptime =
            if sens == VmMonitoringSensitivity::Custom { cfg.min_uptime_s.unwrap_or(120) as f64 } else { 120.0 };
        let max_resets = if sens == VmMonitoringSensitivity::Custom { cfg.max_resets.unwrap_or(3) } else { 3 };
        Some((interval, window, min_uptime, max_resets))
    }

    fn heartbeat_loss(&mut self, v: usize) {
        let Some((interval, _, min_uptime, _)) = self.vmmon_params(v) else {
            return;
        };
        if !self.vms[v].on {
            return;
        }
        let at = (self.now + interval).max(self.vms[v].up_since + min_uptime);
        let gen = self.vms[v].gen;
        self.schedule(at, Action::VmmonReset { vm: v, gen });
    }

    fn vmmon_reset(&mut self, v: usize, gen: u64) {
        let Some((_, window, _, max)) = self.vmmon_params(v) else {
            return;
        };
        let now = self.now;
        let rt = &mut self.vms[v];
        if rt.gen != gen || !rt.on {
            return;
        }
        let host = rt.host;
        rt.resets.retain(|&t| t > now - window);
        // why: resets are pruned to the window and capped by `max` (a u32).
        if rt.resets.len() as u32 >= max {
            let n = rt.resets.len();
            self.emit(
                EventKind::VmResetSkipped,
                host,
                Some(v),
                json!({"reason": format!("maxResetsReached: {n} resets in the window"), "resets": n}),
            );
            return;
        }
        rt.resets.push(now);
        rt.up_since = now;
        rt.gen += 1;
        let n = rt.resets.len();
        self.emit(
            EventKind::VmReset,
            host,
            Some(v),
            json!({"reason": format!("VM monitoring: no guest heartbeat, reset {n} of {max}"), "resets": n}),
        );
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
        for (h, e) in expected.iter().enumerate() {
            if self.place.reserved(h) != *e {
                return Err(format!("{}: booked {:?}, expected {:?}", self.inv.hosts[h].id, self.place.reserved(h), e));
            }
        }
        Ok(())
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
}
