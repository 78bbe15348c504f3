//! R-VMMON in the simulation: VM and application monitoring, with the HA Deepdive's timing
//! ("VM and Application Monitoring").
//!
//! * VMware Tools heartbeats reach HA through hostd, which polls them every 30 s. When they stop
//!   at T0, hostd reports the Tools heartbeat status *yellow* at T0 + 30 + φ and *red* 30 s
//!   later (`heartbeat_status` events), φ ∈ [1, 29] being the phase of hostd's poll
//!   (`engine.hostdPhaseSeconds`, default 1). Application heartbeats skip yellow: red at
//!   T0 + 30 + φ.
//! * HA declares the failure when red has lasted the failure interval of the sensitivity preset
//!   (high 30 s / 1 h window, medium 60 s / 24 h, low 120 s / 7 d, custom from the cluster
//!   settings): Tools at T0 + 60 + φ + interval (high: T+91 … T+119), application at
//!   T0 + 30 + φ + interval (high: T+61 … T+89).
//! * I/O gate (Tools failures only): if the guest did disk or network I/O after its heartbeats
//!   stopped and within the last `das.iostatsInterval` (120 s), the reset waits (a
//!   `vm_reset_skipped` event with reason `ioActivity`) and the check is repeated every failure
//!   interval. [`Simulation::guest_heartbeat_loss_with`] takes `io_until`, until when the guest
//!   kept doing I/O (default: it stopped with its heartbeats — a hung guest — so no wait).
//! * The reset happens once the VM has been up for the minimum uptime (120 s; custom: the
//!   cluster's) and if it is under its reset budget (at most 3 resets per window), else
//!   `vm_reset_skipped` (`maxResetsReached`).
//!
//! Application heartbeats are monitored only with mode `vmAndAppMonitoring`. A reset, a restart
//! or a power-off ends the episode (the VM's generation changes). Storage-driven resets (APD
//! cleared late) are R-VMCP, in `storage.rs`.

use serde_json::json;

use crate::error::{Error, Result};
use crate::model::{VmMonitoringMode, VmMonitoringSensitivity};

use super::engine::{secs_ok, Action, Simulation, EPS};
use super::event::EventKind;

/// Seconds between two of hostd's polls of the VMware Tools heartbeats.
const HOSTD_POLL_S: f64 = 30.0;

/// One heartbeat-loss episode of a VM: which heartbeat, since when, for which run of the VM.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct HbLoss {
    pub(super) vm: usize,
    /// The VM's generation when the heartbeats stopped (a reset or restart ends the episode).
    pub(super) gen: u64,
    pub(super) lost_at: f64,
    /// Until when the guest kept doing disk or network I/O (Tools failures only).
    pub(super) io_until: Option<f64>,
    pub(super) application: bool,
}

impl Simulation {
    /// A VM's VMware Tools heartbeats stop at `at` (VM monitoring, R-VMMON), the guest hung
    /// (no I/O after that); they resume after a reset.
    pub fn guest_heartbeat_loss(&mut self, vm: &str, at: f64) -> Result<()> {
        self.guest_heartbeat_loss_with(vm, at, None, false)
    }

    /// A VM's heartbeats stop at `at` (R-VMMON): VMware Tools heartbeats, or with `application`
    /// its application heartbeats. `io_until`: until when the guest kept doing disk or network
    /// I/O (Tools heartbeats only; `None`: it stopped with its heartbeats).
    pub fn guest_heartbeat_loss_with(
        &mut self,
        vm: &str,
        at: f64,
        io_until: Option<f64>,
        application: bool,
    ) -> Result<()> {
        let v = self.vm_arg(vm)?;
        self.at_arg("at", at)?;
        if let Some(io) = io_until {
            secs_ok("io_until", io)?;
            if application {
                return Err(Error::Argument(
                    "io_until applies to VMware Tools heartbeats only (the I/O check is not made for \
                     application-heartbeat failures)"
                        .to_string(),
                ));
            }
        }
        let mut note = json!({"type": "guest_heartbeat_loss"});
        if let Some(io) = io_until {
            note["io_until"] = json!(io);
        }
        if application {
            note["application"] = json!(true);
        }
        self.inject(at, Action::HeartbeatLoss { vm: v, io_until, application }, None, Some(v), note);
        Ok(())
    }

    /// Failure interval, reset window, minimum uptime and reset budget for `v`, and whether
    /// application heartbeats are monitored; `None` when VM monitoring is off for it.
    fn vmmon_params(&self, v: usize) -> Option<(f64, f64, f64, u32, bool)> {
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
        Some((interval, window, min_uptime, max_resets, mode == VmMonitoringMode::VmAndAppMonitoring))
    }

    /// The heartbeats stop: hostd's status reports and HA's first check are scheduled.
    pub(super) fn heartbeat_loss(&mut self, v: usize, io_until: Option<f64>, application: bool) {
        let Some((interval, _, _, _, app_monitored)) = self.vmmon_params(v) else {
            return;
        };
        if !self.vms[v].on || (application && !app_monitored) {
            return;
        }
        let gen = self.vms[v].gen;
        // Heartbeats already lost in this run of the VM: nothing new happens.
        if self.hb_lost.get(&(v, application)) == Some(&gen) {
            return;
        }
        self.hb_lost.insert((v, application), gen);
        let loss = HbLoss { vm: v, gen, lost_at: self.now, io_until, application };
        let phase = self.inv.options().hostd_phase_s;
        let first = self.now + HOSTD_POLL_S + phase;
        let red = if application {
            first
        } else {
            self.schedule(first, Action::HbStatus { loss, red: false });
            first + HOSTD_POLL_S
        };
        self.schedule(red, Action::HbStatus { loss, red: true });
        self.schedule(red + interval, Action::VmmonReset(loss));
    }

    fn episode_live(&self, loss: &HbLoss) -> bool {
        let rt = &self.vms[loss.vm];
        rt.gen == loss.gen && rt.on
    }

    /// hostd reports the heartbeat status yellow or red.
    pub(super) fn hb_status(&mut self, loss: HbLoss, red: bool) {
        if !self.episode_live(&loss) {
            return;
        }
        let heartbeat = if loss.application { "application" } else { "tools" };
        let status = if red { "red" } else { "yellow" };
        let host = self.vms[loss.vm].host;
        self.emit(EventKind::HeartbeatStatus, host, Some(loss.vm), json!({"heartbeat": heartbeat, "status": status}));
    }

    /// HA's check once red has lasted the failure interval (and its repeats): the I/O gate,
    /// the minimum uptime, then the reset budget.
    pub(super) fn vmmon_reset(&mut self, loss: HbLoss) {
        let Some((interval, window, min_uptime, max, _)) = self.vmmon_params(loss.vm) else {
            return;
        };
        if !self.episode_live(&loss) {
            return;
        }
        let now = self.now;
        let v = loss.vm;
        let host = self.vms[v].host;
        if !loss.application {
            let iostats = self.inv.options().iostats_interval_s;
            if let Some(io) = loss.io_until.filter(|&io| io > loss.lost_at && now - io <= iostats + EPS) {
                self.emit(
                    EventKind::VmResetSkipped,
                    host,
                    Some(v),
                    json!({
                        "reason": format!(
                            "ioActivity: guest I/O until t=+{io:.1}s, within das.iostatsInterval ({iostats} s); \
                             checking again in {interval} s"
                        ),
                        "io_until": io,
                    }),
                );
                self.schedule(now + interval, Action::VmmonReset(loss));
                return;
            }
        }
        let up_at = self.vms[v].up_since + min_uptime;
        if now + EPS < up_at {
            self.schedule(up_at, Action::VmmonReset(loss));
            return;
        }
        let rt = &mut self.vms[v];
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
        let what = if loss.application { "no application heartbeat" } else { "no guest heartbeat" };
        self.emit(
            EventKind::VmReset,
            host,
            Some(v),
            json!({"reason": format!("VM monitoring: {what}, reset {n} of {max}"), "resets": n}),
        );
    }
}
