//! R-CLASS-S and R-ISO in the simulation. An isolated master (alone on its segment, cut off
//! from its isolation addresses) declares itself isolated `icmpPingTimeout` after it notices
//! (`isolation_declared`, poweron flag), releases its protectedlist locks, and applies the
//! isolation response `isolationPolicyDelaySec` later, VM by VM (R-ISO: host monitoring,
//! restart priority, the VM's response, home datastore access and lock ownership; 5.0 skips
//! the ownership check); `shutdown` powers off after `das.isolationShutdownTimeout`. Seeing a
//! master or election traffic again clears the flag and cancels what is pending. An isolated
//! slave first elects itself (R-ELECT, `election.rs`); the master's view of the flag is in
//! `views.rs` (R-CLASS-M); VMs powered off here are restarted by `restarts.rs` (R-PLACE-4).

use serde_json::json;

use crate::model::{IsolationResponse, RestartPriority, Version};

use super::engine::{Action, OffReason, Simulation};
use super::event::EventKind;

/// Engine rule: the isolated host checks protectedlist ownership (R-ISO) from 5.1 on; in 5.0
/// the response is applied without that check (see the module documentation).
const OWNERSHIP_CHECK_FROM: Version = Version::V5_1;

impl Simulation {
    /// Alone on its network segment and unable to reach any isolation address (R-CLASS-S,
    /// R-DOMAIN): an isolation fault without a reachable address, or a one-host partition
    /// group that reaches none. A host alone that still reaches one is partitioned.
    pub(super) fn no_address(&self, h: usize) -> bool {
        let rt = &self.hosts[h];
        (rt.isolated && !rt.iso_reaches_address) || (!rt.isolated && rt.part_no_address && self.comp_size(h) == 1)
    }

    pub(super) fn clear_isolation(&mut self, h: usize) {
        let rt = &mut self.hosts[h];
        if rt.iso_flag || rt.iso_check_pending || rt.iso_response_pending {
            rt.iso_flag = false;
            rt.iso_check_pending = false;
            rt.iso_response_pending = false;
            rt.iso_gen += 1;
        }
    }

    pub(super) fn schedule_iso_checks(&mut self) {
        let icmp = self.inv.options().icmp_ping_timeout_s;
        for h in 0..self.hosts.len() {
            let rt = &self.hosts[h];
            if self.is_master(h)
                && self.no_address(h)
                && !rt.iso_flag
                && !rt.iso_check_pending
                && self.comp_size(h) == 1
            {
                let gen = rt.iso_gen;
                self.hosts[h].iso_check_pending = true;
                self.schedule(self.now + icmp, Action::IsoCheck { h, gen });
            }
        }
    }

    pub(super) fn iso_check(&mut self, h: usize, gen: u64) {
        let rt = &self.hosts[h];
        if rt.iso_gen != gen || !self.is_master(h) || !self.no_address(h) || rt.iso_flag || self.comp_size(h) != 1 {
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

    pub(super) fn iso_response(&mut self, h: usize, gen: u64) {
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

    /// A `shutdown` isolation response completes `das.isolationShutdownTimeout` later.
    pub(super) fn shutdown_done(&mut self, vm: usize, host: usize, gen: u64) {
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
}
