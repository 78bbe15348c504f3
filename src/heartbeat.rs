//! Heartbeat datastore selection (R-HBDS): which datastores each host heartbeats
//! on, and the configuration warnings vCenter raises when there are too few.
//!
//! [`select`] answers for the whole cluster; [`HeartbeatSelector`] precomputes the per-datastore
//! figures once so that a simulation can re-select for one host at a time
//! ([`HeartbeatSelector::select_host`]) when datastores become unusable (APD/PDL).
//!
//! Engine decisions where the sources are silent:
//! - vSAN datastores are never heartbeat datastores, even when listed as preferred (vCenter
//!   does not offer them); a listed vSAN datastore gets a warning.
//! - Preferred (user-selected) datastores are used when the host can access them; the
//!   "at least one other host" condition applies to the automatic choice only. When more are
//!   listed than needed, the automatic ranking picks among them (the vCenter list is a set).
//! - "VMFS over NFS": VMFS ranks before every other type (NFS and vVol rank equal).
//! - A datastore without a backing never repeats a backing.
//! - "Hosts with access" counts every inventory host that lists the datastore, whatever its
//!   state. Warnings are raised for hosts where the HA agent runs (connected, not in
//!   maintenance or standby); selections are computed for every host.
//! - `userSelectedDs` with an empty list disables datastore heartbeating
//!   ([`HeartbeatSelection::disabled`]); the too-few warning is still raised unless
//!   `das.ignoreInsufficientHbDatastore=true`, as vCenter does.

use std::cmp::Reverse;
use std::collections::HashSet;
use std::fmt;

use crate::error::Result;
use crate::model::{DatastoreType, HbDsPolicy, Inventory, Labels};

/// The heartbeat datastores of one host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostHeartbeat {
    pub host: String,
    /// Chosen datastore ids, in choice order (best first).
    pub datastores: Vec<String>,
}

/// What a configuration warning is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HeartbeatWarningKind {
    /// A host has fewer heartbeat datastores than `das.heartbeatDsPerHost`.
    InsufficientDatastores,
    /// A preferred datastore can never be a heartbeat datastore (vSAN).
    UnusablePreferred,
}

impl HeartbeatWarningKind {
    pub fn as_str(self) -> &'static str {
        match self {
            HeartbeatWarningKind::InsufficientDatastores => "insufficientHeartbeatDatastores",
            HeartbeatWarningKind::UnusablePreferred => "unusablePreferredDatastore",
        }
    }
}

/// A configuration warning vCenter would raise.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeartbeatWarning {
    pub kind: HeartbeatWarningKind,
    pub host: Option<String>,
    pub datastore: Option<String>,
    pub message: String,
}

/// Heartbeat datastores of every host, plus warnings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeartbeatSelection {
    pub policy: HbDsPolicy,
    /// `das.heartbeatDsPerHost`.
    pub required: u32,
    /// `userSelectedDs` with an empty list: datastore heartbeating is off.
    pub disabled: bool,
    /// Every host, in inventory order.
    pub hosts: Vec<HostHeartbeat>,
    pub warnings: Vec<HeartbeatWarning>,
}

impl HeartbeatSelection {
    /// The datastores chosen for a host, `None` for an unknown host id.
    pub fn datastores_for(&self, host: &str) -> Option<&[String]> {
        self.hosts.iter().find(|h| h.host == host).map(|h| h.datastores.as_slice())
    }

    /// Readable text for the CLI, hosts and datastores by bare id.
    pub fn to_text(&self) -> String {
        self.to_text_with(Labels::IDS)
    }

    /// [`HeartbeatSelection::to_text`] with hosts and datastores shown by `labels`
    /// (`host-21 (esx-01): datastore-11 (gold-01)` with [`Inventory::labels`]).
    pub fn to_text_with(&self, labels: Labels<'_>) -> String {
        let mut t = format!(
            "heartbeat datastores ({}, {} per host){}",
            self.policy,
            self.required,
            if self.disabled { ": datastore heartbeating disabled (empty user selection)" } else { "" }
        );
        for h in &self.hosts {
            let list = if h.datastores.is_empty() {
                "(none)".to_string()
            } else {
                h.datastores.iter().map(|d| labels.datastore(d)).collect::<Vec<_>>().join(", ")
            };
            t.push_str(&format!("\n  {}: {list}", labels.host(&h.host)));
        }
        for w in &self.warnings {
            t.push_str(&format!("\n  warning: {}", w.message));
        }
        t
    }
}

impl fmt::Display for HeartbeatSelection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_text())
    }
}

/// Per-datastore figures for R-HBDS, computed once per inventory and set of unusable
/// datastores; selects for one host in O(datastores of the host · required).
#[derive(Debug, Clone)]
// why: (indexing in this file) host and datastore indexes come from the inventory's vectors
// and id maps of the same inventory the selector was built from.
pub struct HeartbeatSelector<'a> {
    inv: &'a Inventory,
    required: usize,
    /// Hosts listing each datastore (by datastore index).
    hosts_with_access: Vec<usize>,
    /// Can hold heartbeats at all: not vSAN, not unusable (APD/PDL).
    usable: Vec<bool>,
    /// In the user's list, and the policy uses the list.
    preferred: Vec<bool>,
    /// The policy lets the automatic choice fill up.
    automatic: bool,
}

impl<'a> HeartbeatSelector<'a> {
    /// `unusable`: datastore ids that cannot be heartbeated now (APD/PDL); unknown ids are ignored.
    pub fn new(inv: &'a Inventory, unusable: &HashSet<String>) -> HeartbeatSelector<'a> {
        let n = inv.datastores.len();
        let mut hosts_with_access = vec![0usize; n];
        let mut last_seen = vec![usize::MAX; n];
        for (h, host) in inv.hosts.iter().enumerate() {
            for d in host.datastores.iter().filter_map(|id| inv.datastore_idx(id)) {
                if last_seen[d] != h {
                    last_seen[d] = h;
                    hosts_with_access[d] += 1;
                }
            }
        }
        let usable =
            inv.datastores.iter().map(|d| d.ds_type != DatastoreType::Vsan && !unusable.contains(&d.id)).collect();
        let config = &inv.cluster.heartbeat_datastores;
        let mut preferred = vec![false; n];
        if config.policy != HbDsPolicy::AllFeasibleDs {
            for d in config.preferred.iter().filter_map(|id| inv.datastore_idx(id)) {
                preferred[d] = true;
            }
        }
        HeartbeatSelector {
            inv,
            required: inv.options().heartbeat_ds_per_host as usize,
            hosts_with_access,
            usable,
            preferred,
            automatic: config.policy != HbDsPolicy::UserSelectedDs,
        }
    }

    /// `das.heartbeatDsPerHost`.
    pub fn required(&self) -> u32 {
        // why: das.heartbeatDsPerHost is 2..=5.
        self.required as u32
    }

    /// The heartbeat datastores of the host with index `host` (R-HBDS), best first.
    /// An out-of-range index selects nothing.
    pub fn select_host(&self, host: usize) -> Vec<String> {
        let Some(h) = self.inv.hosts.get(host) else {
            return Vec::new();
        };
        let mut accessible: Vec<usize> = h.datastores.iter().filter_map(|id| self.inv.datastore_idx(id)).collect();
        accessible.sort_unstable();
        accessible.dedup();
        let accessible: Vec<usize> = accessible.into_iter().filter(|&d| self.usable[d]).collect();

        let mut chosen: Vec<usize> = Vec::with_capacity(self.required);
        let mut backings: Vec<&str> = Vec::with_capacity(self.required);
        // The user's list first (both list policies) ...
        let listed: Vec<usize> = accessible.iter().copied().filter(|&d| self.preferred[d]).collect();
        self.pick(listed, &mut chosen, &mut backings);
        // ... then the automatic complement: datastores at least one other host can access.
        if self.automatic {
            let auto: Vec<usize> = accessible
                .iter()
                .copied()
                .filter(|&d| self.hosts_with_access[d] >= 2 && !chosen.contains(&d))
                .collect();
            self.pick(auto, &mut chosen, &mut backings);
        }
        chosen.into_iter().map(|d| self.inv.datastores[d].id.clone()).collect()
    }

    /// [`Self::select_host`] by host id.
    pub fn select_host_id(&self, host: &str) -> Result<Vec<String>> {
        let h = self.inv.resolve_host(host)?; // an id or an unambiguous name
        Ok(self.select_host(h))
    }

    /// Greedy R-HBDS choice from `pool` until `required` are chosen: more hosts with access,
    /// then VMFS, then a backing not yet chosen for this host, then the smaller id (bytewise).
    fn pick<'s>(&'s self, mut pool: Vec<usize>, chosen: &mut Vec<usize>, backings: &mut Vec<&'s str>) {
        while chosen.len() < self.required && !pool.is_empty() {
            let rank = |d: usize| {
                let ds = &self.inv.datastores[d];
                let repeats_backing = ds.backing.as_deref().is_some_and(|b| backings.contains(&b));
                (
                    Reverse(self.hosts_with_access[d]),
                    ds.ds_type != DatastoreType::Vmfs,
                    repeats_backing,
                    ds.id.as_bytes(),
                )
            };
            let Some(best) = (0..pool.len()).min_by(|&a, &b| rank(pool[a]).cmp(&rank(pool[b]))) else {
                break;
            };
            let d = pool.swap_remove(best);
            chosen.push(d);
            if let Some(b) = self.inv.datastores[d].backing.as_deref() {
                backings.push(b);
            }
        }
    }
}

/// Heartbeat datastores of every host and the configuration warnings (R-HBDS).
/// `unusable`: datastore ids that cannot be heartbeated now (APD/PDL).
pub fn select(inv: &Inventory, unusable: &HashSet<String>) -> HeartbeatSelection {
    let selector = HeartbeatSelector::new(inv, unusable);
    let config = &inv.cluster.heartbeat_datastores;
    let ignore_insufficient = inv.options().ignore_insufficient_hb_datastore;
    let mut warnings = Vec::new();

    if config.policy != HbDsPolicy::AllFeasibleDs {
        for id in &config.preferred {
            if inv.datastore(id).is_some_and(|d| d.ds_type == DatastoreType::Vsan) {
                warnings.push(HeartbeatWarning {
                    kind: HeartbeatWarningKind::UnusablePreferred,
                    host: None,
                    datastore: Some(id.clone()),
                    message: format!(
                        "{} is a vSAN datastore and cannot be used for datastore heartbeating",
                        inv.datastore_label(id)
                    ),
                });
            }
        }
    }

    let hosts: Vec<HostHeartbeat> = (0..inv.hosts.len())
        .map(|h| HostHeartbeat { host: inv.hosts[h].id.clone(), datastores: selector.select_host(h) })
        .collect();

    if !ignore_insufficient {
        for (host, chosen) in inv.hosts.iter().zip(&hosts) {
            // Only hosts running the HA agent report configuration issues.
            if host.is_available() && chosen.datastores.len() < selector.required {
                warnings.push(HeartbeatWarning {
                    kind: HeartbeatWarningKind::InsufficientDatastores,
                    host: Some(host.id.clone()),
                    datastore: None,
                    message: format!(
                        "{}: the number of vSphere HA heartbeat datastores for this host is {}, which is less than required: {}",
                        inv.host_label(&host.id),
                        chosen.datastores.len(),
                        selector.required
                    ),
                });
            }
        }
    }

    HeartbeatSelection {
        policy: config.policy,
        required: selector.required(),
        disabled: config.policy == HbDsPolicy::UserSelectedDs && config.preferred.is_empty(),
        hosts,
        warnings,
    }
}

/// The heartbeat datastores of one host (R-HBDS).
pub fn select_for_host(inv: &Inventory, host: &str, unusable: &HashSet<String>) -> Result<Vec<String>> {
    HeartbeatSelector::new(inv, unusable).select_host_id(host)
}
