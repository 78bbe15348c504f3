//! Deterministic discrete-event simulation of the FDM agents (the rule book, docs/rules.rst:
//! R-TIME, R-CLASS-*, R-ISO, R-PLACE-4, R-PLACE-DRS, R-ORCH, R-OUTAGE, R-VMCP, R-VMMON,
//! R-DOMAIN) on a virtual clock.
//!
//! ```
//! # let inv = hapolicy::parse::from_json_str(r#"{"hosts": [
//! #   {"id": "host-1", "cpu_mhz": 1000, "memory_mb": 1000, "datastores": ["ds-1"]},
//! #   {"id": "host-2", "cpu_mhz": 1000, "memory_mb": 1000, "datastores": ["ds-1"]}],
//! #   "datastores": [{"id": "ds-1", "type": "VMFS"}],
//! #   "vms": [{"id": "vm-1", "host": "host-1", "power_state": "poweredOn", "home_datastore": "ds-1"}]}"#).unwrap();
//! use hapolicy::sim::Simulation;
//! let mut sim = Simulation::new(inv).unwrap();
//! sim.fail_host("host-1", 0.0).unwrap();
//! let events = sim.run(600.0).unwrap();
//! assert!(events.iter().any(|e| e.text() == "t=+18.0s host-1 hostDown (no network or datastore heartbeat)"));
//! ```
//!
//! # API
//!
//! * [`Simulation::new`] (an `Inventory` or `Arc<Inventory>`) / [`Simulation::from_inventory`]
//!   (`&Inventory`): the master is elected at t = 0 (`master_elected`).
//! * Faults, each validated (unknown ids → [`crate::Error::UnknownId`], times must be finite,
//!   ≥ 0 and not before the clock → [`crate::Error::Argument`]): [`Simulation::fail_host`],
//!   [`Simulation::recover_host`], [`Simulation::isolate_host`], [`Simulation::partition`],
//!   [`Simulation::fail_agent`], [`Simulation::power_outage`], [`Simulation::datastore_apd`], [`Simulation::datastore_pdl`],
//!   [`Simulation::guest_heartbeat_loss`], [`Simulation::vm_power_on_failure`],
//!   [`Simulation::vcenter_unavailable`], the R-DOMAIN faults [`Simulation::fail_domain`],
//!   [`Simulation::fail_site`], [`Simulation::partition_sites`] (and the `_with` forms of
//!   isolations and partitions taking `reachable_addresses` and `network`), or [`Simulation::apply`] with a list of dicts
//!   (`{"at": 0, "type": "host_failure", "host": "host-12"}`; types and fields in
//!   [`FAULT_TYPES`]; `until` ends isolations, partitions, APDs and vCenter outages,
//!   `restore_at` ends a power outage; `power_on_failure` takes `attempts`, default 1). A bad
//!   list is rejected whole with [`crate::Error::Invalid`], every problem at its path
//!   (`events[3].host: unknown host 'x'`).
//! * [`Simulation::run`] advances the clock and returns the new [`Event`]s;
//!   [`Simulation::events`] / [`Simulation::timeline`] give everything so far;
//!   [`Simulation::master`], [`Simulation::masters`], [`Simulation::host_states`],
//!   [`Simulation::vm_states`], [`Simulation::vm_hosts`] the state now.
//! * [`Scenario::from_value`] / [`Scenario::load`] read `{"inventory", "events", "until"}`.
//!
//! # Model
//!
//! * **Hosts** run an FDM agent when the inventory has them connected and not in maintenance
//!   or standby; the others take no part (reported `uninitialized`). Hosts that are alive and on
//!   the same network segment form a *partition*; an isolated host is alone on its segment and
//!   cannot reach its isolation addresses; hosts of a network partition still can (so a
//!   one-host partition elects itself and is not isolated). Hosts named in no partition group
//!   form one more group together. A fault may say which isolation addresses the hosts still
//!   reach (R-DOMAIN, `domains.rs`): an isolated host that reaches one is partitioned (elects
//!   itself, declares nothing); a one-host partition group that reaches none is isolated.
//! * **Failure domains** (R-DOMAIN, `domains.rs`): a fault domain or site failure fails its
//!   hosts in one action; a site partition makes each site a partition (hosts without a site
//!   stay with the preferred site). With `cluster.vsan.enabled`, HA's traffic uses the vSAN
//!   network (a `network: "management"` fault has no effect) and vSAN datastores follow vSAN
//!   quorum (`vsan.rs`): hosts outside the partition holding a strict majority of the votes
//!   lose them — an APD handled as R-VMCP says.
//! * **Elections** (R-ELECT): a partition without a master elects. A host that heard a master
//!   enters the election `das.config.fdm.hostTimeout` (10 s) after losing it; a booting host at
//!   once; the election completes `electionDuration` (15 s) after its first member entered it,
//!   and the best-ranked member (R-ELECT-1, counting only datastores it can reach) wins. When
//!   partitions join, the best-ranked master stays and the others abdicate (`master_abdicated`).
//!   At t = 0 the master is elected at once.
//! * **A master's view of a slave** (R-CLASS-M): when it stops hearing a slave at T it reports
//!   `host_unreachable` at T + hostTimeout and decides at T + 3 + 15 s (datastore heartbeat
//!   watch) when the slave has heartbeat datastores, at T + hostTimeout + icmpPingTimeout (15 s)
//!   when it has none. Only a host whose FDM agent is down (`agent_failure`: host and VMs keep
//!   running) answers ICMP while silent: it is `fdmUnreachable` at T + hostTimeout and nothing
//!   is restarted. Once decided, the state follows the observations: a poweron isolation flag
//!   appearing or clearing changes `networkPartitionedFromMaster` ↔ `networkIsolated` at once;
//!   a datastore heartbeat (or ping) stopping turns them into `hostDown` after another watch
//!   (18 s with heartbeat datastores, 15 s without), and then the host's VMs are restarted. A newly elected master classifies
//!   the hosts outside its partition at once (no unreachable/watch phase) and reports those not
//!   connected to it. Heartbeat datastores are [`crate::heartbeat`]'s R-HBDS selection; a
//!   slave's heartbeat is seen when one of them is reachable by both the slave and the master.
//! * **Isolation** (R-CLASS-S, R-TIME rows 3–4): an isolated slave enters the election at
//!   T+10, elects itself at T+25, pings its isolation addresses and declares itself isolated
//!   (`isolation_declared`, poweron flag) `icmpPingTimeout` later (T+30). An isolated master
//!   notices at once (T+0), declares at T+5 and releases its protectedlist locks. The response
//!   follows `isolationPolicyDelaySec` later (30 s; 0 in 5.0). Seeing a master or election
//!   traffic again cancels a pending declaration or response and clears the flag.
//! * **Isolation response** (R-ISO), per VM running on the host at the response time: never
//!   with host monitoring off or restart priority `disabled`; `none` leaves it running; otherwise
//!   applied when the home datastore is inaccessible from the host, or when another (acting)
//!   master holds the home datastore's protectedlist lock, else left running. Each decision is
//!   an `isolation_response` event (action `powerOff`, `shutdown` or `none` with the reason).
//!   `shutdown` powers the VM off `das.isolationShutdownTimeout` later (the guest is assumed to
//!   take the whole timeout), at once without VMware Tools.
//! * **Locks**: every acting master (not isolated) holds the protectedlist locks of the
//!   datastores it can reach that no other master holds (the main partition's master first);
//!   a master keeps them until it fails, abdicates, loses the datastore or declares itself
//!   isolated. The master holding a VM's home datastore lock restarts it (when none does, the
//!   master that noticed does).
//! * **Restarts** (R-PLACE-4): a master restarts (a) the VMs of a host it declares `hostDown`,
//!   (b) VMs powered off by an isolation response or terminated by VMCP, as soon as that happens,
//!   (c) every protected VM not running and not cleanly powered off, `newMasterRestartDelaySec`
//!   (10 s) after it is elected (this also covers R-OUTAGE: Tr+15 election, Tr+25 restarts).
//!   Placement is [`crate::placement::place_vm`] over the hosts of the master's partition, in
//!   [`crate::placement::restart_order`]. One class at a time: before 6.5 a lower class is
//!   issued once every attempt of the higher classes has completed (`engine.powerOnSeconds`,
//!   1 s). From 6.5 (**R-ORCH**) it is issued once every VM of the higher classes is *ready* —
//!   its `ready_condition` holds (`none`: its attempt completed, whatever the outcome;
//!   `poweredOn`: powered on; `guestHbStatusGreen` / `appHbStatusGreen`: powered on plus
//!   `engine.guestBootSeconds` 60 s / `engine.appReadySeconds` 90 s), plus `post_ready_delay_s`
//!   (`vm_ready`, shown unless the condition is `none` without a delay) — or
//!   `restart_priority_timeout_s` (600 s) after the higher class was first issued, whichever
//!   comes first; a `vmDependsOn` VM waits until every VM it depends on runs and is ready (no
//!   timeout); at most
//!   `das.perHostConcurrentFailoversLimit` power-ons in flight per host (a VM whose chosen host
//!   is saturated waits for a completion). An unplaceable VM counts as an attempt
//!   (`vm_unplaced`). Attempt k is due at T + 120 s · (2^(k−1) − 1) (T, +2, +6, +14, +30 min;
//!   never sooner than 2 min after the previous attempt, so late attempts do not burst),
//!   `das.maxvmrestartcount` attempts in all, then `restart_gave_up`. VMs whose last attempt found
//!   no host are retried at once when capacity appears: a host joins the master's partition, or
//!   reservations are freed on one of its hosts (a VM powered off or terminated, a failed
//!   power-on). A new master starts
//!   its own count. A power-on fails (`restart_failed`) when the target host failed meanwhile,
//!   when a `power_on_failure` is pending for the VM, when the VM still runs elsewhere on a host
//!   that holds its lock (reachable home datastore: `fileLocked`), or when the target cannot
//!   reach the home datastore. A VM whose running copy lost its lock is powered on anyway:
//!   `split_brain` (both copies run until that host fails or hears a master again, when it powers
//!   its copy off: `vm_powered_off`). When masters merge, the staying master takes over every
//!   VM still to restart; an attempt whose master is gone is handed to the current masters.
//! * **Outage** (R-OUTAGE): all hosts fail; on restore they boot and elect at once (Tr → Tr+15)
//!   and the new master's scan (Tr+25) restarts the protected VMs not cleanly powered off.
//!   `das.maskCleanShutdownEnabled=false` (5.0 default): a VM killed by
//!   `disk.terminateVMOnPDLDefault` while its home datastore is lost is taken for cleanly
//!   powered off and never restarted (`vm_not_restarted`).
//! * **APD** (R-VMCP, 6.0 and later; VMCP does not exist before): `apd_timeout` at T +
//!   `Misc.APDTimeout` (140 s) per host; VMs whose policy is `restartConservative` /
//!   `restartAggressive` are terminated `apd_delay_s` (180 s) later if the APD still holds —
//!   conservative only when an acting master's placement finds a host for it
//!   (`vmcp_no_action` otherwise) — then restarted like (b). APD cleared after the timeout but
//!   before termination resets the VM when `apd_cleared = reset`; cleared before the timeout:
//!   nothing. **PDL**: `restartAggressive` (6.0+) or `disk.terminateVMOnPDLDefault` kills the
//!   VMs using the datastore at once. Datastores in APD/PDL do not count for election ranking,
//!   heartbeats, locks, or placement on that host.
//! * **VM monitoring** (R-VMMON): presets high 30 s / 1 h, medium 60 s / 24 h, low 120 s / 7 d,
//!   custom from the cluster settings; at most 3 resets per window, minimum uptime 120 s. VMware
//!   Tools heartbeats lost at T: hostd reports them yellow at T + 30 + φ and red 30 s later
//!   (`heartbeat_status`; φ = `engine.hostdPhaseSeconds`, 1); application heartbeats (mode
//!   `vmAndAppMonitoring`) go red at T + 30 + φ. HA checks when red has lasted the failure
//!   interval (high: Tools T+91, application T+61); a Tools failure waits while the guest did
//!   I/O after T within the last `das.iostatsInterval` (120 s), checked again every interval
//!   (`vm_reset_skipped`, `ioActivity`); then the VM is reset once up for the minimum uptime
//!   (`vm_reset`), or `vm_reset_skipped` (`maxResetsReached`) when the budget is spent.
//!   Heartbeats resume after a reset. VMs of the initial inventory count as up long enough.
//! * **DRS and DPM** (R-PLACE-DRS, `drs.rs`): with DRS enabled and `fullyAutomated` and vCenter
//!   available (no `vcenter_unavailable` window open), a restart attempt that finds no host waits
//!   for the plan's defragmentation — vMotions one after the other, each
//!   `engine.vMotionSeconds` (20 s; `vm_migration_started`, `vm_migrated`) — or, with DPM, for a
//!   standby host brought out of standby (`host_exit_standby_requested`, then
//!   `host_exited_standby` `engine.standbyExitSeconds`, 300 s, later); the attempt follows at
//!   once. Otherwise `vm_unplaced` says when vMotions would have made room.
//! * `vcenter_unavailable` is recorded; HA does not depend on vCenter (only DRS and DPM do).
//!
//! # Order of events
//!
//! Events are ordered by time. At one instant they are ordered by [`EventKind::phase`]: faults
//! (in injection order); elections (`election_started`, `master_elected`, `master_abdicated`);
//! host states (`host_unreachable`, `host_state`, `isolation_declared`, `heartbeat_status`); actions on running VMs
//! (`isolation_response`, `vm_powered_off`, `apd_timeout`, `vm_terminated`, `vmcp_no_action`,
//! `vm_reset`, `vm_reset_skipped`, `vm_not_restarted`); completions of power-ons
//! (`restart_failed`, `split_brain`, `vm_restarted`, `vm_ready`, `vm_migrated`,
//! `vm_migration_failed`); new attempts and their outcomes (`restart_attempt`, `vm_unplaced`,
//! `restart_gave_up`, `vm_migration_started`, `host_exit_standby_requested`). A host leaving
//! standby (`host_exited_standby`) is among the host states. Within a phase, the order the engine
//! produced them: scheduled actions run in (time, scheduling order); VMs in restart order
//! (R-PLACE-1) or inventory order, hosts in inventory order. The initial election at t = 0
//! comes first. Everything is derived from ordered maps and index order: identical inputs give
//! identical timelines, however the clock is advanced (faults injected before it reaches them).
//!
//! # Ambiguities resolved (engine rules)
//!
//! * R-ISO's ownership check exists from 5.1 on; in 5.0 the response is applied without it
//!   (otherwise the 5.0 master-isolation row — response at T+5, before any new master could
//!   own a lock — would never power anything off).
//! * The first decision about a lost slave happens at T+18 with heartbeat datastores and T+15
//!   without; later changes of an already-decided slave are reported when observed.
//! * Restart priority `disabled` VMs of a failed host get `vm_not_restarted`.
//! * A `power_on_failure` applies to the next attempts of that VM, whenever injected.

mod domains;
mod drs;
mod election;
mod engine;
mod event;
mod faults;
mod isolation;
mod monitoring;
mod restarts;
mod scenario;
mod storage;
mod views;
mod vsan;

pub use domains::{isolation_address_warnings, isolation_addresses, IsolationAddress, GATEWAY};
pub use engine::Simulation;
pub use event::{events_to_value, timeline_text, Event, EventKind};
pub use scenario::{parse_events, Fault, Scenario, FAULT_TYPES};
