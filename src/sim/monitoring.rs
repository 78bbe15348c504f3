//! R-VMMON in the simulation: VM monitoring. The sensitivity presets (high 30 s / 1 h,
//! medium 60 s / 24 h, low 120 s / 7 d, custom from the cluster settings), the reset budget
//! (at most 3 resets per window) and the minimum uptime (120 s): a guest heartbeat loss at T
//! resets the VM at max(T + interval, power-on + minimum uptime) (`vm_reset`), or records
//! `vm_reset_skipped` when the budget is spent. Storage-driven resets (APD cleared late) are
//! R-VMCP, in `storage.rs`.

use serde_json::json;

use crate::error::Result;
use crate::model::{VmMonitoringMode, VmMonitoringSensitivity};

use super::engine::{Action, Simulation};
use super::event::EventKind;

impl Simulation {
    /// A VM's guest heartbeats stop at `at` (VM monitoring, R-VMMON); they resume after a reset.
    pub fn guest_heartbeat_loss(&mut self, vm: &str, at: f64) -> Result<()> {
        let v = self.vm_arg(vm)?;
        self.at_arg("at", at)?;
        self.inject(at, Action::HeartbeatLoss(v), None, Some(v), json!({"type": "guest_heartbeat_loss"}));
        Ok(())
    }

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

    pub(super) fn heartbeat_loss(&mut self, v: usize) {
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

    pub(super) fn vmmon_reset(&mut self, v: usize, gen: u64) {
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
}
