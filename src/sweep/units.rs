//! Failure units (R-DOMAIN): what one failure of a sweep takes down — a host, a fault domain
//! (vSAN fault domain, rack, blade chassis) or a site of a stretched cluster. A scenario is a
//! set of units; each unit expands to its candidate hosts, which fail at the same instant, and
//! the planner sees only the expanded host set — the same code plans host and unit scenarios.
//!
//! - `host`: every candidate host is a unit of its own, named by its id.
//! - `fault_domain`: the candidate hosts grouped by `fault_domain`; a host without one is a
//!   domain of its own, named by its host id.
//! - `site`: the candidate hosts grouped by `site`. Every candidate host must have a site: a
//!   host outside every site could never fail with a site, so a site sweep that silently left
//!   it out would answer another question. The error names the hosts without a site.
//!
//! Units are ordered by their first (smallest) host index, so with every host its own domain a
//! `fault_domain` sweep enumerates exactly the scenarios of a host sweep, in the same order.

use std::collections::HashMap;

use crate::error::{Error, Result};
use crate::model::{api_enum, Inventory};

api_enum!(
    /// What one failure of a sweep takes down (R-DOMAIN).
    FailureUnit { Host = "host", FaultDomain = "fault_domain", Site = "site" }
);

// (`api_enum!` cannot mark a variant `#[default]`.)
#[allow(clippy::derivable_impls)]
impl Default for FailureUnit {
    fn default() -> Self {
        FailureUnit::Host
    }
}

/// `n` and a noun that agrees with it: `counted(1, "VM", "VMs")` = "1 VM".
pub fn counted(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

impl FailureUnit {
    /// `n` units in words: "1 host", "2 fault domains".
    pub fn count(self, n: usize) -> String {
        format!("{n} {}", self.noun(n != 1))
    }

    /// The unit in words, singular / plural: "host", "fault domain", "site".
    pub fn noun(self, plural: bool) -> &'static str {
        match (self, plural) {
            (FailureUnit::Host, false) => "host",
            (FailureUnit::Host, true) => "hosts",
            (FailureUnit::FaultDomain, false) => "fault domain",
            (FailureUnit::FaultDomain, true) => "fault domains",
            (FailureUnit::Site, false) => "site",
            (FailureUnit::Site, true) => "sites",
        }
    }
}

/// The units of a sweep: names and hosts (indices into `inv.hosts`, ascending), in unit order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Units {
    pub unit: FailureUnit,
    pub names: Vec<String>,
    pub hosts: Vec<Vec<u32>>,
}

impl Units {
    /// Groups `candidates` (host indices, ascending) into units of kind `unit`. Errors: a site
    /// sweep with a candidate host that has no site.
    pub fn new(inv: &Inventory, candidates: &[u32], unit: FailureUnit) -> Result<Units> {
        let key = |h: u32| -> Option<&str> {
            let host = &inv.hosts[h as usize];
            match unit {
                FailureUnit::Host => None,
                FailureUnit::FaultDomain => host.fault_domain.as_deref(),
                FailureUnit::Site => host.site.as_deref(),
            }
        };
        if unit == FailureUnit::Site {
            let siteless: Vec<String> = candidates
                .iter()
                .filter(|&&h| key(h).is_none())
                .map(|&h| inv.host_label(&inv.hosts[h as usize].id))
                .collect();
            if !siteless.is_empty() {
                let shown = siteless.iter().take(5).cloned().collect::<Vec<_>>().join(", ");
                let more = if siteless.len() > 5 { format!(" and {} more", siteless.len() - 5) } else { String::new() };
                return Err(Error::Argument(format!(
                    "unit='site' needs a site on every host that can fail; {} host(s) have none: {shown}{more} \
                     (set hosts[].site, or pass sites= when reading the inventory)",
                    siteless.len()
                )));
            }
        }
        let mut names: Vec<String> = Vec::new();
        let mut hosts: Vec<Vec<u32>> = Vec::new();
        let mut by_name: HashMap<&str, usize> = HashMap::new();
        for &h in candidates {
            match key(h) {
                Some(name) => match by_name.get(name) {
                    Some(&u) => hosts[u].push(h),
                    None => {
                        by_name.insert(name, names.len());
                        names.push(name.to_string());
                        hosts.push(vec![h]);
                    }
                },
                None => {
                    names.push(inv.hosts[h as usize].id.clone());
                    hosts.push(vec![h]);
                }
            }
        }
        Ok(Units { unit, names, hosts })
    }

    pub fn len(&self) -> usize {
        self.hosts.len()
    }

    pub fn is_empty(&self) -> bool {
        self.hosts.is_empty()
    }

    /// The hosts of the units at `positions`, ascending, into `out`.
    pub fn expand(&self, positions: &[u32], out: &mut Vec<u32>) {
        out.clear();
        for &u in positions {
            out.extend_from_slice(&self.hosts[u as usize]);
        }
        // Each unit's hosts are ascending already; units interleave.
        if positions.len() > 1 {
            out.sort_unstable();
        }
    }
}
