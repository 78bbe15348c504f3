//! R-DOMAIN in the simulation: failures of a fault domain or a site, the inter-site link of a
//! stretched cluster, and the isolation addresses a host still reaches.
//!
//! * [`Simulation::fail_domain`] / [`Simulation::fail_site`]: every host of the unit fails at
//!   the same instant, in one action — the timeline is the one of failing those hosts at once.
//!   Units are [`crate::sweep::Units`]'s: a fault domain is the hosts sharing `fault_domain`
//!   (a host without one is a domain of its own, named by its host id); a site is the hosts
//!   sharing `site` (hosts without a site belong to no site).
//! * [`Simulation::partition_sites`]: the inter-site link fails; each site is a network
//!   partition ([`Simulation::partition`]'s machinery) and elects its own master (R-ELECT per
//!   partition). Hosts without a site stay with the preferred site (`cluster.vsan.stretched.
//!   preferred_site`; without a stretched configuration, the site of the first host in
//!   inventory order that has one). Datastore access follows the `datastores` lists: no VM is
//!   restarted while its host still heartbeats a datastore (the partition row of R-TIME). A
//!   master reads a host's heartbeat datastores only where it mounts them: with heartbeat
//!   datastores per site (site-local storage) each master sees the other site's hosts as down,
//!   but restarts only the VMs whose home datastore's lock it holds, so nothing runs twice.
//! * Isolation addresses ([`isolation_addresses`]): `das.isolationaddress0`…`9` and
//!   `cluster.isolation_addresses`, plus the default gateway (named `gateway`) unless
//!   `das.usedefaultisolationaddress = false`. An address may name its site as a suffix,
//!   `10.1.0.254@site-a` (vCenter stores only the address; the suffix tells the engine which
//!   site the address is in). Faults that cut hosts off take `reachable_addresses`: a host
//!   alone on its segment that still reaches any isolation address is partitioned, not
//!   isolated — it elects itself but declares no isolation and applies no response.

use std::collections::BTreeSet;

use serde_json::{json, Value};

use crate::error::{Error, Result};
use crate::model::{ClusterConfig, Host, Inventory, Problem};
use crate::sweep::{FailureUnit, Units};

use super::engine::{Action, Simulation};

/// The name the default gateway goes by in `reachable_addresses`.
pub const GATEWAY: &str = "gateway";

/// One isolation address: what a host pings, and the site it is in when the configuration
/// says so (`address@site`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IsolationAddress {
    pub address: String,
    pub site: Option<String>,
}

pub(super) fn split_address(raw: &str) -> IsolationAddress {
    match raw.rsplit_once('@') {
        Some((a, s)) if !a.trim().is_empty() && !s.trim().is_empty() => {
            IsolationAddress { address: a.trim().to_string(), site: Some(s.trim().to_string()) }
        }
        _ => IsolationAddress { address: raw.trim().to_string(), site: None },
    }
}

/// The cluster's isolation addresses (R-DOMAIN), in order: `das.isolationaddress0`…`9`, then
/// `cluster.isolation_addresses` (each address once), then the default gateway (`gateway`,
/// no site) unless `das.usedefaultisolationaddress = false`.
pub fn isolation_addresses(cluster: &ClusterConfig) -> Vec<IsolationAddress> {
    let opts = &cluster.advanced_options.parsed;
    let mut out: Vec<IsolationAddress> = Vec::new();
    for raw in opts.isolation_addresses.iter().chain(&cluster.isolation_addresses) {
        let a = split_address(raw);
        if !a.address.is_empty() && !out.iter().any(|o| o.address == a.address) {
            out.push(a);
        }
    }
    if opts.use_default_isolation_address && !out.iter().any(|o| o.address == GATEWAY) {
        out.push(IsolationAddress { address: GATEWAY.to_string(), site: None });
    }
    out
}

/// Configuration warnings about isolation addresses (R-DOMAIN), as vCenter raises them:
/// `das.usedefaultisolationaddress = false` with no address at all (an isolated host could
/// never tell isolation from a partition); in a stretched cluster (vSAN's preferred and
/// secondary sites, or hosts in two or more sites), the sites without an isolation address of
/// their own (`address@site`); an address naming a site no host has.
pub fn isolation_address_warnings(cluster: &ClusterConfig, hosts: &[Host]) -> Vec<Problem> {
    let mut out = Vec::new();
    let addrs = isolation_addresses(cluster);
    if addrs.is_empty() {
        out.push(Problem::new(
            "cluster.advanced_options.das.usedefaultisolationaddress",
            "no isolation address: das.usedefaultisolationaddress is false and no das.isolationaddress0..9 is \
             set, so an isolated host cannot ping any address (set das.isolationaddress0)",
        ));
    }
    let sites: BTreeSet<&str> = hosts.iter().filter_map(|h| h.site.as_deref()).collect();
    for a in &addrs {
        if let Some(s) = &a.site {
            if !sites.contains(s.as_str()) {
                let known: Vec<String> = sites.iter().map(|s| format!("'{s}'")).collect();
                out.push(Problem::new(
                    "cluster.advanced_options",
                    format!(
                        "isolation address '{}' is said to be in site '{s}', which no host has (sites: {})",
                        a.address,
                        if known.is_empty() { "none".to_string() } else { known.join(", ") }
                    ),
                ));
            }
        }
    }
    // The sites of a stretched cluster: vSAN's preferred and secondary sites, or, without a
    // stretched vSAN configuration (a metro storage cluster), every site of two or more.
    let stretched_sites: Vec<&str> = match &cluster.vsan.stretched {
        Some(st) => vec![st.preferred_site.as_str(), st.secondary_site.as_str()],
        None if sites.len() >= 2 => sites.iter().copied().collect(),
        None => Vec::new(),
    };
    if !stretched_sites.is_empty() {
        let missing: Vec<&str> =
            stretched_sites.into_iter().filter(|s| !addrs.iter().any(|a| a.site.as_deref() == Some(*s))).collect();
        if !missing.is_empty() {
            let names: Vec<String> = missing.iter().map(|s| format!("'{s}'")).collect();
            out.push(Problem::new(
                "cluster.advanced_options",
                format!(
                    "stretched cluster: {} {} {} no isolation address of {}; give each site one \
                     (das.isolationaddressN = 'address@site')",
                    if missing.len() > 1 { "sites" } else { "site" },
                    names.join(" and "),
                    if missing.len() > 1 { "have" } else { "has" },
                    if missing.len() > 1 { "their own" } else { "its own" },
                ),
            ));
        }
    }
    out
}

/// The hosts (indices, ascending) of the unit named `name`, or an error naming the known units.
pub(super) fn unit_hosts(inv: &Inventory, unit: FailureUnit, name: &str) -> Result<Vec<usize>> {
    let candidates: Vec<u32> = (0..inv.hosts.len())
        .filter(|&h| unit != FailureUnit::Site || inv.hosts[h].site.is_some())
        // why: host counts are far below 2^32 (the inventory parser caps them).
        .map(|h| h as u32)
        .collect();
    let units = Units::new(inv, &candidates, unit)?;
    match units.names.iter().position(|n| n == name) {
        Some(u) => Ok(units.hosts[u].iter().map(|&h| h as usize).collect()),
        None => {
            let known = if units.names.is_empty() {
                format!("no host has a {} (hosts[].{})", unit.noun(false), unit)
            } else {
                let shown: Vec<String> = units.names.iter().take(20).map(|n| format!("'{n}'")).collect();
                let more = if units.names.len() > 20 {
                    format!(" and {} more", units.names.len() - 20)
                } else {
                    String::new()
                };
                format!("known {}: {}{more}", unit.noun(true), shown.join(", "))
            };
            Err(Error::Argument(format!("unknown {} '{name}'; {known}", unit.noun(false))))
        }
    }
}

/// The sites and their hosts for a site partition: sites in order of their first host, hosts
/// without a site with the preferred site.
pub(super) fn site_groups(inv: &Inventory) -> Result<(Vec<String>, Vec<Vec<usize>>)> {
    let mut names: Vec<String> = Vec::new();
    let mut groups: Vec<Vec<usize>> = Vec::new();
    let mut siteless = Vec::new();
    for (h, host) in inv.hosts.iter().enumerate() {
        match &host.site {
            Some(s) => match names.iter().position(|n| n == s) {
                Some(i) => groups[i].push(h),
                None => {
                    names.push(s.clone());
                    groups.push(vec![h]);
                }
            },
            None => siteless.push(h),
        }
    }
    if names.len() < 2 {
        let found = if names.is_empty() { "none".to_string() } else { format!("only '{}'", names[0]) };
        return Err(Error::Argument(format!(
            "partition_sites needs hosts in at least two sites (hosts[].site); found {found}"
        )));
    }
    let preferred = inv
        .cluster
        .vsan
        .stretched
        .as_ref()
        .and_then(|st| names.iter().position(|n| *n == st.preferred_site))
        .unwrap_or(0);
    groups[preferred].extend(siteless);
    groups[preferred].sort_unstable();
    Ok((names, groups))
}

impl Simulation {
    /// Every host of the fault domain `domain` fails at `at` (R-DOMAIN). A host without a
    /// `fault_domain` is a domain of its own, named by its host id.
    pub fn fail_domain(&mut self, domain: &str, at: f64) -> Result<()> {
        let hs = unit_hosts(&self.inv, FailureUnit::FaultDomain, domain)?;
        self.at_arg("at", at)?;
        let note = json!({"type": "domain_failure", "domain": domain, "hosts": self.host_ids(&hs)});
        self.inject(at, Action::FailHosts(hs), None, None, note);
        Ok(())
    }

    /// Every host of the site `site` fails at `at` (R-DOMAIN).
    pub fn fail_site(&mut self, site: &str, at: f64) -> Result<()> {
        let hs = unit_hosts(&self.inv, FailureUnit::Site, site)?;
        self.at_arg("at", at)?;
        let note = json!({"type": "site_failure", "site": site, "hosts": self.host_ids(&hs)});
        self.inject(at, Action::FailHosts(hs), None, None, note);
        Ok(())
    }

    /// The inter-site link of a stretched cluster fails from `at` until `until` (R-DOMAIN):
    /// each site becomes a network partition and elects its own master; hosts without a site
    /// stay with the preferred site. `reachable_addresses`: the isolation addresses the hosts
    /// still reach (`None`: all of them).
    pub fn partition_sites(&mut self, at: f64, until: Option<f64>) -> Result<()> {
        self.partition_sites_with(at, until, None, None)
    }

    /// [`Simulation::partition_sites`] with the isolation addresses the hosts still reach.
    /// `network`: see [`Simulation::isolate_host_with`].
    pub fn partition_sites_with(
        &mut self,
        at: f64,
        until: Option<f64>,
        reachable: Option<Vec<String>>,
        network: Option<&str>,
    ) -> Result<()> {
        let (names, groups) = site_groups(&self.inv)?;
        let reach = self.reach_arg(reachable.as_deref())?;
        let ids: Vec<Value> = groups.iter().map(|g| json!(self.host_ids(g))).collect();
        let mut note = json!({"type": "site_partition", "sites": names, "groups": ids});
        if let Some(r) = &reachable {
            note["reachable_addresses"] = json!(r);
        }
        let start = (Action::PartitionStart(groups, reach), note);
        let end = (Action::PartitionEnd, json!({"type": "partition_end"}));
        self.network_window(at, until, None, network, start, end)
    }

    /// The `network` of a network fault (R-DOMAIN): `"management"`, `"vsan"`, or `None` (the
    /// network HA uses: vSAN's with `cluster.vsan.enabled`, else the management network).
    /// Returns whether the fault reaches HA's network, and the detail to record. With vSAN, HA
    /// heartbeats and elections use the vSAN network, so a management-only fault has no effect
    /// on HA; `"vsan"` without vSAN is an error.
    pub(super) fn network_arg(&self, network: Option<&str>) -> Result<(bool, Value)> {
        let vsan = self.inv.cluster.vsan.enabled;
        match network {
            None => Ok((true, Value::Null)),
            Some("management") if vsan => Ok((false, json!("management"))),
            Some("management") => Ok((true, json!("management"))),
            Some("vsan") if vsan => Ok((true, json!("vsan"))),
            Some("vsan") => Err(Error::Argument(
                "network='vsan' needs vSAN: the cluster has none (cluster.vsan.enabled is false)".to_string(),
            )),
            Some(other) => Err(Error::Argument(format!("unknown network '{other}'; allowed: 'management', 'vsan'"))),
        }
    }

    /// A network fault's start and end, as given or (on a network HA does not use) notes only.
    pub(super) fn network_window(
        &mut self,
        at: f64,
        until: Option<f64>,
        host: Option<usize>,
        network: Option<&str>,
        start: (Action, Value),
        end: (Action, Value),
    ) -> Result<()> {
        let (effective, net) = self.network_arg(network)?;
        let (mut start, mut end) = (start, end);
        if !net.is_null() {
            start.1["network"] = net.clone();
            end.1["network"] = net;
        }
        if !effective {
            start.1["no_effect"] = json!(true);
            end.1["no_effect"] = json!(true);
            start = (Action::Note, start.1);
            end = (Action::Note, end.1);
        }
        self.inject_window(at, until, host, start, end)
    }

    /// Whether a host that reaches `reachable` (`None`: every address) reaches an isolation
    /// address; each entry must be one of the cluster's isolation addresses (an error names them).
    pub(super) fn reach_arg(&self, reachable: Option<&[String]>) -> Result<bool> {
        let addrs = isolation_addresses(&self.inv.cluster);
        let Some(list) = reachable else { return Ok(!addrs.is_empty()) };
        for r in list {
            let a = split_address(r);
            if !addrs.iter().any(|k| k.address == a.address) {
                let known = if addrs.is_empty() {
                    "the cluster has none (das.usedefaultisolationaddress is false and no das.isolationaddressN)"
                        .to_string()
                } else {
                    let k: Vec<String> = addrs.iter().map(|k| format!("'{}'", k.address)).collect();
                    format!("the cluster's are {}", k.join(", "))
                };
                return Err(Error::Argument(format!("'{r}' is not an isolation address: {known}")));
            }
        }
        Ok(!list.is_empty())
    }
}
