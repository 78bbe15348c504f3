//! Master election (R-ELECT): who takes part, how candidates rank, who wins.

use std::cmp::Ordering;
use std::collections::HashSet;

use crate::error::Result;
use crate::model::{ConnectionState, Host, Inventory, Labels};

/// One ranked candidate with the figures that ranked it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub host: String,
    /// `fdm.nodeGoodness` override, when set.
    pub goodness: Option<i64>,
    /// Datastores the host is connected to and that are usable (not in APD/PDL).
    pub datastores: usize,
}

/// The outcome of one election among a set of hosts that can talk to each other.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Election {
    /// The winner; `None` when nobody is eligible.
    pub master: Option<String>,
    /// Eligible hosts, best first (R-ELECT-1).
    pub ranking: Vec<Candidate>,
    /// Hosts asked about that cannot take part, with the reason.
    pub excluded: Vec<(String, String)>,
}

/// Why a host cannot take part in an election, if it cannot (R-ELECT participants).
pub fn ineligibility(host: &Host) -> Option<&'static str> {
    match host.state {
        ConnectionState::Disconnected => Some("disconnected from vCenter (HA disabled on it)"),
        ConnectionState::NotResponding => Some("not responding"),
        ConnectionState::Connected if host.maintenance => Some("in maintenance mode"),
        ConnectionState::Connected if host.standby => Some("in standby"),
        ConnectionState::Connected => None,
    }
}

/// R-ELECT-1: larger goodness (set beats unset), then more usable datastores, then the
/// lexically larger managed-object id compared as bytes (`host-99` > `host-100` > `host-10`).
/// `Ordering::Less` means `a` ranks before (is better than) `b`.
pub fn compare(a: &Candidate, b: &Candidate) -> Ordering {
    // Option ordering: None < Some(_), and Some orders by value: exactly "set beats unset,
    // larger beats smaller". Reversed so the better candidate sorts first.
    b.goodness
        .cmp(&a.goodness)
        .then(b.datastores.cmp(&a.datastores))
        .then_with(|| b.host.as_bytes().cmp(a.host.as_bytes()))
}

/// The candidate record of a host, counting only datastores not in `unusable`.
pub fn candidate(host: &Host, unusable: &HashSet<String>) -> Candidate {
    Candidate {
        host: host.id.clone(),
        goodness: host.goodness,
        datastores: host.datastores.iter().filter(|d| !unusable.contains(*d)).count(),
    }
}

/// Ranks eligible hosts (by index) best first; the simulation calls this per partition.
pub fn rank_indices(inv: &Inventory, hosts: &[usize], unusable: &HashSet<String>) -> Vec<usize> {
    let mut ranked: Vec<(usize, Candidate)> = hosts
        .iter()
        .filter(|&&h| ineligibility(&inv.hosts[h]).is_none())
        .map(|&h| (h, candidate(&inv.hosts[h], unusable)))
        .collect();
    ranked.sort_by(|a, b| compare(&a.1, &b.1));
    ranked.into_iter().map(|(h, _)| h).collect()
}

/// Elects a master among `participants` (host ids that can exchange election traffic; `None`
/// means every host of the inventory). Datastores in `unusable` do not count.
pub fn elect(inv: &Inventory, participants: Option<&[String]>, unusable: &HashSet<String>) -> Result<Election> {
    let indices: Vec<usize> = match participants {
        None => (0..inv.hosts.len()).collect(),
        Some(ids) => {
            let mut seen = HashSet::new();
            let mut out = Vec::new();
            for id in ids {
                let i = inv.resolve_host(id)?; // an id or an unambiguous name
                if seen.insert(i) {
                    out.push(i);
                }
            }
            out
        }
    };
    let mut excluded = Vec::new();
    let mut ranking = Vec::new();
    for &i in &indices {
        let h = &inv.hosts[i];
        match ineligibility(h) {
            Some(why) => excluded.push((h.id.clone(), why.to_string())),
            None => ranking.push(candidate(h, unusable)),
        }
    }
    ranking.sort_by(compare);
    excluded.sort();
    Ok(Election { master: ranking.first().map(|c| c.host.clone()), ranking, excluded })
}

impl Election {
    /// Human-readable ranking: one line per candidate, then the excluded hosts (bare ids).
    pub fn explain(&self) -> String {
        self.explain_with(Labels::IDS)
    }

    /// [`Election::explain`] with hosts shown by `labels` (`host-21 (esx-01)` with
    /// [`Inventory::labels`]).
    pub fn explain_with(&self, labels: Labels<'_>) -> String {
        let mut out = String::new();
        match &self.master {
            Some(m) => out.push_str(&format!("master: {}\n", labels.host(m))),
            None => out.push_str("master: none (no eligible host)\n"),
        }
        out.push_str("ranking (goodness, then datastores, then larger managed-object id):\n");
        for (i, c) in self.ranking.iter().enumerate() {
            let goodness = c.goodness.map(|g| g.to_string()).unwrap_or_else(|| "unset".to_string());
            let host = labels.host(&c.host);
            out.push_str(&format!("  {}. {host}  goodness={goodness}  datastores={}\n", i + 1, c.datastores));
        }
        if !self.excluded.is_empty() {
            out.push_str("not eligible:\n");
            for (h, why) in &self.excluded {
                out.push_str(&format!("  {}: {why}\n", labels.host(h)));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cand(id: &str, goodness: Option<i64>, ds: usize) -> Candidate {
        Candidate { host: id.into(), goodness, datastores: ds }
    }

    fn winner(mut c: Vec<Candidate>) -> String {
        c.sort_by(compare);
        c[0].host.clone()
    }

    #[test]
    fn moid_compares_as_bytes() {
        // "9" > "1", so host-99 beats host-100; a prefix loses to the longer id.
        assert_eq!(winner(vec![cand("host-100", None, 2), cand("host-99", None, 2)]), "host-99");
        assert_eq!(winner(vec![cand("host-10", None, 2), cand("host-100", None, 2)]), "host-100");
    }

    #[test]
    fn datastores_beat_id_and_goodness_beats_datastores() {
        assert_eq!(winner(vec![cand("host-99", None, 2), cand("host-10", None, 3)]), "host-10");
        assert_eq!(winner(vec![cand("host-99", None, 9), cand("host-10", Some(-5), 0)]), "host-10");
        assert_eq!(winner(vec![cand("host-99", Some(1), 0), cand("host-10", Some(2), 0)]), "host-10");
    }
}
