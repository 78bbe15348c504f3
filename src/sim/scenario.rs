//! Fault lists and scenario documents: `{"inventory": {...}, "events": [...], "until": 600}`.

use std::sync::Arc;

use serde_json::Value;

use crate::error::{Error, Result};
use crate::model::{Inventory, Problem};
use crate::parse::type_name;

use super::engine::Simulation;
use super::event::Event;

/// One fault of a fault list, validated against an inventory.
#[derive(Debug, Clone, PartialEq)]
pub enum Fault {
    HostFailure {
        host: String,
        at: f64,
    },
    HostRecovery {
        host: String,
        at: f64,
    },
    /// `reachable`: the isolation addresses the host still reaches (R-DOMAIN; `None`: none).
    Isolation {
        host: String,
        at: f64,
        until: Option<f64>,
        reachable: Option<Vec<String>>,
        /// `management` or `vsan` (R-DOMAIN; `None`: the network HA uses).
        network: Option<String>,
    },
    AgentFailure {
        host: String,
        at: f64,
        until: Option<f64>,
    },
    /// `reachable`: the isolation addresses the hosts still reach (R-DOMAIN; `None`: all).
    Partition {
        groups: Vec<Vec<String>>,
        at: f64,
        until: Option<f64>,
        reachable: Option<Vec<String>>,
        /// `management` or `vsan` (R-DOMAIN; `None`: the network HA uses).
        network: Option<String>,
    },
    /// Every host of a fault domain fails (R-DOMAIN).
    DomainFailure {
        domain: String,
        at: f64,
    },
    /// Every host of a site fails (R-DOMAIN).
    SiteFailure {
        site: String,
        at: f64,
    },
    /// The inter-site link fails: each site is a partition (R-DOMAIN).
    SitePartition {
        at: f64,
        until: Option<f64>,
        reachable: Option<Vec<String>>,
        /// `management` or `vsan` (R-DOMAIN; `None`: the network HA uses).
        network: Option<String>,
    },
    PowerOutage {
        at: f64,
        restore_at: Option<f64>,
    },
    DatastoreApd {
        datastore: String,
        at: f64,
        until: Option<f64>,
        hosts: Option<Vec<String>>,
    },
    DatastorePdl {
        datastore: String,
        at: f64,
        hosts: Option<Vec<String>>,
    },
    GuestHeartbeatLoss {
        vm: String,
        at: f64,
        io_until: Option<f64>,
        application: bool,
    },
    PowerOnFailure {
        vm: String,
        attempts: u32,
    },
    VcenterUnavailable {
        at: f64,
        until: Option<f64>,
    },
}

/// The fault types `apply` accepts, with the fields each takes (besides `type`).
pub const FAULT_TYPES: &[(&str, &[&str])] = &[
    ("host_failure", &["at", "host"]),
    ("host_recovery", &["at", "host"]),
    ("isolation", &["at", "host", "until", "reachable_addresses", "network"]),
    ("agent_failure", &["at", "host", "until"]),
    ("partition", &["at", "groups", "until", "reachable_addresses", "network"]),
    ("domain_failure", &["at", "domain"]),
    ("site_failure", &["at", "site"]),
    ("site_partition", &["at", "until", "reachable_addresses", "network"]),
    ("power_outage", &["at", "restore_at", "until"]),
    ("datastore_apd", &["at", "datastore", "until", "hosts"]),
    ("datastore_pdl", &["at", "datastore", "hosts"]),
    ("guest_heartbeat_loss", &["at", "vm", "io_until", "application"]),
    ("power_on_failure", &["at", "vm", "attempts"]),
    ("vcenter_unavailable", &["at", "until"]),
];

impl Fault {
    /// Injects the fault into a simulation.
    pub fn apply_to(&self, sim: &mut Simulation) -> Result<()> {
        match self {
            Fault::HostFailure { host, at } => sim.fail_host(host, *at),
            Fault::HostRecovery { host, at } => sim.recover_host(host, *at),
            Fault::Isolation { host, at, until, reachable, network } => {
                sim.isolate_host_with(host, *at, *until, reachable.clone(), network.as_deref())
            }
            Fault::AgentFailure { host, at, until } => sim.fail_agent(host, *at, *until),
            Fault::Partition { groups, at, until, reachable, network } => {
                sim.partition_with(groups.clone(), *at, *until, reachable.clone(), network.as_deref())
            }
            Fault::DomainFailure { domain, at } => sim.fail_domain(domain, *at),
            Fault::SiteFailure { site, at } => sim.fail_site(site, *at),
            Fault::SitePartition { at, until, reachable, network } => {
                sim.partition_sites_with(*at, *until, reachable.clone(), network.as_deref())
            }
            Fault::PowerOutage { at, restore_at } => sim.power_outage(*at, *restore_at),
            Fault::DatastoreApd { datastore, at, until, hosts } => {
                sim.datastore_apd(datastore, *at, *until, hosts.clone())
            }
            Fault::DatastorePdl { datastore, at, hosts } => sim.datastore_pdl(datastore, *at, hosts.clone()),
            Fault::GuestHeartbeatLoss { vm, at, io_until, application } => {
                sim.guest_heartbeat_loss_with(vm, *at, *io_until, *application)
            }
            Fault::PowerOnFailure { vm, attempts } => sim.vm_power_on_failure(vm, *attempts),
            Fault::VcenterUnavailable { at, until } => sim.vcenter_unavailable(*at, *until),
        }
    }
}

struct Reader<'a> {
    inv: &'a Inventory,
    problems: Vec<Problem>,
    now: f64,
}

impl Reader<'_> {
    fn err(&mut self, path: String, msg: impl Into<String>) {
        self.problems.push(Problem::new(path, msg));
    }

    fn time(&mut self, o: &serde_json::Map<String, Value>, path: &str, key: &str, required: bool) -> Option<f64> {
        let p = format!("{path}.{key}");
        match o.get(key) {
            None | Some(Value::Null) => {
                if required {
                    self.err(p, "missing required field");
                }
                None
            }
            Some(Value::Number(n)) => match n.as_f64() {
                Some(t) if t.is_finite() && t >= 0.0 => {
                    if key == "at" && t < self.now {
                        self.err(p, format!("{t} is before the simulation clock ({})", self.now));
                        None
                    } else {
                        Some(t)
                    }
                }
                _ => {
                    self.err(p, format!("expected a finite number of seconds >= 0, got {n}"));
                    None
                }
            },
            Some(other) => {
                self.err(p, format!("expected a number of seconds, got {}", type_name(other)));
                None
            }
        }
    }

    /// The string under `key` with its path; a missing, null or non-string value is a problem.
    fn required_string<'v>(
        &mut self,
        o: &'v serde_json::Map<String, Value>,
        path: &str,
        key: &str,
    ) -> Option<(String, &'v String)> {
        let p = format!("{path}.{key}");
        match o.get(key) {
            None | Some(Value::Null) => {
                self.err(p, "missing required field");
                None
            }
            Some(Value::String(s)) => Some((p, s)),
            Some(other) => {
                self.err(p, format!("expected a string, got {}", type_name(other)));
                None
            }
        }
    }

    fn id(&mut self, o: &serde_json::Map<String, Value>, path: &str, key: &str, what: &'static str) -> Option<String> {
        let (p, s) = self.required_string(o, path, key)?;
        match self.resolve(what, s) {
            Ok(id) => Some(id),
            Err(e) => {
                self.err(p, e.to_string());
                None
            }
        }
    }

    /// The id `x` names: an id, or a name one object of the kind carries (`Inventory::resolve_*`);
    /// the error says "unknown host 'x'" or names the ids sharing the name.
    fn resolve(&self, what: &str, x: &str) -> crate::Result<String> {
        match what {
            "host" => self.inv.resolve_host_id(x),
            "vm" => self.inv.resolve_vm_id(x),
            _ => self.inv.resolve_datastore_id(x),
        }
        .map(str::to_string)
    }

    /// `reachable_addresses` (R-DOMAIN): a list of the cluster's isolation addresses, or absent.
    fn addresses(&mut self, o: &serde_json::Map<String, Value>, path: &str) -> Option<Vec<String>> {
        let p = format!("{path}.reachable_addresses");
        let items = match o.get("reachable_addresses") {
            None | Some(Value::Null) => return None,
            Some(Value::Array(items)) => items,
            Some(other) => {
                self.err(p, format!("expected a list of isolation addresses, got {}", type_name(other)));
                return None;
            }
        };
        let known = super::domains::isolation_addresses(&self.inv.cluster);
        let mut out = Vec::new();
        for (i, item) in items.iter().enumerate() {
            match item {
                Value::String(a) if known.iter().any(|k| k.address == super::domains::split_address(a).address) => {
                    out.push(a.clone())
                }
                Value::String(a) => {
                    let k: Vec<String> = known.iter().map(|k| format!("'{}'", k.address)).collect();
                    let k = if k.is_empty() {
                        "the cluster has none".to_string()
                    } else {
                        format!("the cluster's are {}", k.join(", "))
                    };
                    self.err(format!("{p}[{i}]"), format!("'{a}' is not an isolation address: {k}"));
                }
                other => self.err(format!("{p}[{i}]"), format!("expected a string, got {}", type_name(other))),
            }
        }
        Some(out)
    }

    /// `network` (R-DOMAIN): `management` or `vsan` (the latter only with vSAN), or absent.
    fn network(&mut self, o: &serde_json::Map<String, Value>, path: &str) -> Option<String> {
        let p = format!("{path}.network");
        match o.get("network") {
            None | Some(Value::Null) => None,
            Some(Value::String(n)) if n == "management" => Some(n.clone()),
            Some(Value::String(n)) if n == "vsan" && self.inv.cluster.vsan.enabled => Some(n.clone()),
            Some(Value::String(n)) if n == "vsan" => {
                self.err(p, "network 'vsan' needs vSAN: the cluster has none (cluster.vsan.enabled is false)");
                None
            }
            Some(Value::String(n)) => {
                self.err(p, format!("unknown network '{n}'; allowed: 'management', 'vsan'"));
                None
            }
            Some(other) => {
                self.err(p, format!("expected a string, got {}", type_name(other)));
                None
            }
        }
    }

    /// The name of a fault domain or site (`key`) that the inventory has.
    fn unit_name(&mut self, o: &serde_json::Map<String, Value>, path: &str, key: &str) -> Option<String> {
        let (p, name) = self.required_string(o, path, key)?;
        let unit =
            if key == "domain" { crate::sweep::FailureUnit::FaultDomain } else { crate::sweep::FailureUnit::Site };
        match super::domains::unit_hosts(self.inv, unit, name) {
            Ok(_) => Some(name.clone()),
            Err(e) => {
                self.err(p, e.to_string());
                None
            }
        }
    }

    fn host_list(&mut self, v: &Value, path: &str) -> Option<Vec<String>> {
        let Value::Array(items) = v else {
            self.err(path.to_string(), format!("expected a list of host ids, got {}", type_name(v)));
            return None;
        };
        let mut out = Vec::new();
        let mut ok = true;
        for (i, item) in items.iter().enumerate() {
            match item {
                Value::String(s) => match self.resolve("host", s) {
                    Ok(id) => out.push(id),
                    Err(e) => {
                        self.err(format!("{path}[{i}]"), e.to_string());
                        ok = false;
                    }
                },
                other => {
                    self.err(format!("{path}[{i}]"), format!("expected a string, got {}", type_name(other)));
                    ok = false;
                }
            }
        }
        ok.then_some(out)
    }

    fn fault(&mut self, v: &Value, path: &str) -> Option<Fault> {
        let Value::Object(o) = v else {
            self.err(path.to_string(), format!("expected an object, got {}", type_name(v)));
            return None;
        };
        let ty = match o.get("type") {
            Some(Value::String(s)) => s.clone(),
            None | Some(Value::Null) => {
                self.err(format!("{path}.type"), "missing required field");
                return None;
            }
            Some(other) => {
                self.err(format!("{path}.type"), format!("expected a string, got {}", type_name(other)));
                return None;
            }
        };
        let Some((_, fields)) = FAULT_TYPES.iter().find(|(t, _)| *t == ty) else {
            let allowed: Vec<String> = FAULT_TYPES.iter().map(|(t, _)| format!("'{t}'")).collect();
            self.err(format!("{path}.type"), format!("unknown fault type '{ty}'; allowed: {}", allowed.join(", ")));
            return None;
        };
        for key in o.keys() {
            if key != "type" && !fields.contains(&key.as_str()) {
                self.err(format!("{path}.{key}"), format!("unknown field for a '{ty}' fault"));
            }
        }
        let before = self.problems.len();
        let at = if ty == "power_on_failure" {
            // Takes effect on the next attempts whenever given; `at` is accepted and checked.
            self.time(o, path, "at", false).map(|_| 0.0).or(Some(0.0))
        } else {
            self.time(o, path, "at", true)
        };
        let until_key = if ty == "power_outage" { "restore_at" } else { "until" };
        let mut until = if fields.contains(&"until") || fields.contains(&"restore_at") {
            self.time(o, path, until_key, false)
        } else {
            None
        };
        if ty == "power_outage" && until.is_none() && o.contains_key("until") {
            until = self.time(o, path, "until", false);
        }
        if let (Some(a), Some(u)) = (at, until) {
            if u < a {
                self.err(format!("{path}.{until_key}"), format!("{u} is before at = {a}"));
            }
        }
        let fault = match ty.as_str() {
            "host_failure" => {
                self.id(o, path, "host", "host").map(|host| Fault::HostFailure { host, at: at.unwrap_or(0.0) })
            }
            "host_recovery" => {
                self.id(o, path, "host", "host").map(|host| Fault::HostRecovery { host, at: at.unwrap_or(0.0) })
            }
            "isolation" => {
                let reachable = self.addresses(o, path);
                let network = self.network(o, path);
                self.id(o, path, "host", "host").map(|host| Fault::Isolation {
                    host,
                    at: at.unwrap_or(0.0),
                    until,
                    reachable,
                    network,
                })
            }
            "domain_failure" | "site_failure" => {
                let key = if ty == "domain_failure" { "domain" } else { "site" };
                let name = self.unit_name(o, path, key);
                name.map(|name| {
                    if ty == "domain_failure" {
                        Fault::DomainFailure { domain: name, at: at.unwrap_or(0.0) }
                    } else {
                        Fault::SiteFailure { site: name, at: at.unwrap_or(0.0) }
                    }
                })
            }
            "site_partition" => {
                let reachable = self.addresses(o, path);
                if let Err(e) = super::domains::site_groups(self.inv) {
                    self.err(format!("{path}.type"), e.to_string());
                }
                let network = self.network(o, path);
                Some(Fault::SitePartition { at: at.unwrap_or(0.0), until, reachable, network })
            }
            "agent_failure" => {
                self.id(o, path, "host", "host").map(|host| Fault::AgentFailure { host, at: at.unwrap_or(0.0), until })
            }
            "partition" => {
                let p = format!("{path}.groups");
                match o.get("groups") {
                    Some(Value::Array(groups)) => {
                        let mut out = Vec::new();
                        let mut seen = std::collections::BTreeSet::new();
                        for (i, g) in groups.iter().enumerate() {
                            if let Some(list) = self.host_list(g, &format!("{p}[{i}]")) {
                                for (j, h) in list.iter().enumerate() {
                                    if !seen.insert(h.clone()) {
                                        self.err(format!("{p}[{i}][{j}]"), format!("host '{h}' is in two groups"));
                                    }
                                }
                                out.push(list);
                            }
                        }
                        let reachable = self.addresses(o, path);
                        let network = self.network(o, path);
                        Some(Fault::Partition { groups: out, at: at.unwrap_or(0.0), until, reachable, network })
                    }
                    None | Some(Value::Null) => {
                        self.err(p, "missing required field");
                        None
                    }
                    Some(other) => {
                        self.err(p, format!("expected a list of host-id lists, got {}", type_name(other)));
                        None
                    }
                }
            }
            "power_outage" => Some(Fault::PowerOutage { at: at.unwrap_or(0.0), restore_at: until }),
            "datastore_apd" | "datastore_pdl" => {
                let ds = self.id(o, path, "datastore", "datastore");
                let hosts = match o.get("hosts") {
                    None | Some(Value::Null) => None,
                    Some(v) => self.host_list(v, &format!("{path}.hosts")),
                };
                ds.map(|datastore| {
                    if ty == "datastore_apd" {
                        Fault::DatastoreApd { datastore, at: at.unwrap_or(0.0), until, hosts }
                    } else {
                        Fault::DatastorePdl { datastore, at: at.unwrap_or(0.0), hosts }
                    }
                })
            }
            "guest_heartbeat_loss" => {
                let vm = self.id(o, path, "vm", "vm");
                let io_until = self.time(o, path, "io_until", false);
                let application = match o.get("application") {
                    None | Some(Value::Null) => false,
                    Some(Value::Bool(b)) => *b,
                    Some(other) => {
                        self.err(
                            format!("{path}.application"),
                            format!("expected true or false, got {}", type_name(other)),
                        );
                        false
                    }
                };
                if application && io_until.is_some() {
                    self.err(
                        format!("{path}.io_until"),
                        "applies to VMware Tools heartbeats only, not with application: true",
                    );
                }
                vm.map(|vm| Fault::GuestHeartbeatLoss { vm, at: at.unwrap_or(0.0), io_until, application })
            }
            "power_on_failure" => {
                let vm = self.id(o, path, "vm", "vm");
                let attempts = match o.get("attempts") {
                    None | Some(Value::Null) => Some(1),
                    Some(Value::Number(n)) if n.as_u64().is_some_and(|a| a <= u32::MAX as u64) => {
                        // why: guarded by `a <= u32::MAX` in the match arm.
                        n.as_u64().map(|a| a as u32)
                    }
                    Some(other) => {
                        self.err(format!("{path}.attempts"), format!("expected a whole number, got {other}"));
                        None
                    }
                };
                match (vm, attempts) {
                    (Some(vm), Some(attempts)) => Some(Fault::PowerOnFailure { vm, attempts }),
                    _ => None,
                }
            }
            "vcenter_unavailable" => Some(Fault::VcenterUnavailable { at: at.unwrap_or(0.0), until }),
            _ => None,
        };
        if self.problems.len() > before {
            None
        } else {
            fault
        }
    }
}

/// Reads a scenario or inventory file as UTF-8 text, at most `parse::MAX_INPUT_BYTES` of it: a
/// larger file (or an endless one such as a device) is refused without being read whole.
fn read_text(path: &std::path::Path) -> std::result::Result<String, String> {
    use std::io::Read as _;
    let limit = crate::parse::MAX_INPUT_BYTES;
    let file = std::fs::File::open(path).map_err(|e| io_message(&e))?;
    // why: usize → u64 never truncates on the 32- and 64-bit targets Rust supports.
    if file.metadata().is_ok_and(|m| m.len() > limit as u64) {
        return Err(format!("larger than the limit of {limit} bytes"));
    }
    let mut bytes = Vec::new();
    file.take(limit as u64 + 1).read_to_end(&mut bytes).map_err(|e| io_message(&e))?;
    if bytes.len() > limit {
        return Err(format!("larger than the limit of {limit} bytes"));
    }
    String::from_utf8(bytes).map_err(|e| format!("not UTF-8 text (byte {})", e.utf8_error().valid_up_to()))
}

/// An I/O error in words, without the OS error code Rust appends ("(os error 2)").
fn io_message(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file".to_string(),
        std::io::ErrorKind::PermissionDenied => "permission denied".to_string(),
        _ => {
            let text = e.to_string();
            let plain = text.split(" (os error ").next().unwrap_or(&text);
            plain.chars().next().map_or_else(String::new, |c| c.to_lowercase().chain(plain.chars().skip(1)).collect())
        }
    }
}

/// Reads the inventory file a scenario names; each problem is one line (the core's problem
/// paths inside the document are kept, the whole-text ones such as `<json>` dropped).
fn read_inventory_file(path: &std::path::Path) -> std::result::Result<Value, Vec<String>> {
    const WANTED: &str = "expected a .json, .yaml or .yml file";
    if path.is_dir() {
        return Err(vec![format!("is a directory; {WANTED}")]);
    }
    match path.extension().map(|e| e.to_string_lossy().to_lowercase()) {
        Some(e) if ["json", "yaml", "yml"].contains(&e.as_str()) => {}
        Some(e) => return Err(vec![format!("unsupported file type '.{e}'; {WANTED}")]),
        None if !path.exists() => return Err(vec!["no such file".to_string()]),
        None => return Err(vec![format!("no file type suffix; {WANTED}")]),
    }
    let text = read_text(path).map_err(|e| vec![e])?;
    if text.trim().is_empty() {
        return Err(vec!["the file is empty".to_string()]);
    }
    let parsed =
        if is_yaml(path) { crate::parse::parse_yaml_text(&text) } else { crate::parse::parse_json_text(&text) };
    parsed.map_err(|e| match e {
        Error::Invalid(ps) => ps
            .into_iter()
            .map(|p| if p.path.starts_with('<') { p.message } else { format!("{}: {}", p.path, p.message) })
            .collect(),
        other => vec![other.to_string()],
    })
}

fn is_yaml(path: &std::path::Path) -> bool {
    path.extension().is_some_and(|e| e.eq_ignore_ascii_case("yaml") || e.eq_ignore_ascii_case("yml"))
}

/// Validates a fault list against an inventory; `path` roots the problem paths (`events`).
/// Faults may not start before `now`.
pub fn parse_events(inv: &Inventory, events: &Value, path: &str, now: f64) -> Result<Vec<Fault>> {
    let mut r = Reader { inv, problems: Vec::new(), now };
    let mut out = Vec::new();
    match events {
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                if let Some(f) = r.fault(item, &format!("{path}[{i}]")) {
                    out.push(f);
                }
            }
        }
        Value::Null => {}
        other => r.err(path.to_string(), format!("expected a list of faults, got {}", type_name(other))),
    }
    if r.problems.is_empty() {
        Ok(out)
    } else {
        r.problems.sort();
        Err(Error::Invalid(r.problems))
    }
}

/// A scenario document: an inventory, a fault list and how long to run.
#[derive(Debug, Clone)]
pub struct Scenario {
    pub inventory: Arc<Inventory>,
    pub faults: Vec<Fault>,
    /// Seconds to simulate (default 3600).
    pub until: f64,
}

impl Scenario {
    /// Reads `{"inventory": {...}, "events": [...], "until": 600}`. Inventory problems are
    /// reported under `inventory.` (`inventory.vms[3].host`), fault problems under `events[i]`.
    pub fn from_value(doc: &Value) -> Result<Scenario> {
        Scenario::from_value_in(doc, None)
    }

    /// Reads a scenario file (`.json`, `.yaml` / `.yml`). Its `inventory` may be the inventory
    /// itself or a path to an inventory file, relative to the scenario file's directory.
    pub fn load(path: &std::path::Path) -> Result<Scenario> {
        let text =
            read_text(path).map_err(|e| Error::invalid(path.display().to_string(), format!("cannot read: {e}")))?;
        let doc =
            if is_yaml(path) { crate::parse::parse_yaml_text(&text)? } else { crate::parse::parse_json_text(&text)? };
        Scenario::from_value_in(&doc, Some(path.parent().unwrap_or(std::path::Path::new("."))))
    }

    /// [`Scenario::from_value`], resolving an inventory given as a path against `base`
    /// (the current directory when `None`).
    pub fn from_value_in(doc: &Value, base: Option<&std::path::Path>) -> Result<Scenario> {
        let Value::Object(o) = doc else {
            return Err(Error::invalid("<scenario>", format!("expected an object, got {}", type_name(doc))));
        };
        let mut problems = Vec::new();
        for key in o.keys() {
            if !["inventory", "events", "until", "description"].contains(&key.as_str()) {
                problems.push(Problem::new(key.clone(), "unknown field of a scenario"));
            }
        }
        let until = match o.get("until") {
            None | Some(Value::Null) => 3600.0,
            Some(Value::Number(n)) => match n.as_f64() {
                Some(t) if t.is_finite() && t >= 0.0 => t,
                _ => {
                    problems.push(Problem::new("until", format!("expected a finite number of seconds >= 0, got {n}")));
                    0.0
                }
            },
            Some(other) => {
                problems.push(Problem::new("until", format!("expected a number of seconds, got {}", type_name(other))));
                0.0
            }
        };
        let loaded;
        let inventory_doc = match o.get("inventory") {
            Some(Value::String(p)) => {
                let path = base.map_or_else(|| std::path::PathBuf::from(p), |b| b.join(p));
                match read_inventory_file(&path) {
                    Ok(v) => {
                        loaded = v;
                        Some(&loaded)
                    }
                    Err(messages) => {
                        for m in messages {
                            problems.push(Problem::new("inventory", format!("{}: {m}", path.display())));
                        }
                        problems.sort();
                        return Err(Error::Invalid(problems));
                    }
                }
            }
            other => other,
        };
        let inventory = match inventory_doc {
            None | Some(Value::Null) => {
                problems.push(Problem::new("inventory", "missing required field"));
                None
            }
            Some(v) => match crate::parse::from_value(v) {
                Ok(inv) => Some(inv),
                Err(Error::Invalid(ps)) => {
                    problems.extend(ps.into_iter().map(|p| Problem::new(format!("inventory.{}", p.path), p.message)));
                    None
                }
                Err(e) => {
                    problems.push(Problem::new("inventory", e.to_string()));
                    None
                }
            },
        };
        let mut faults = Vec::new();
        if let Some(inv) = &inventory {
            match parse_events(inv, o.get("events").unwrap_or(&Value::Null), "events", 0.0) {
                Ok(f) => faults = f,
                Err(Error::Invalid(ps)) => problems.extend(ps),
                Err(e) => problems.push(Problem::new("events", e.to_string())),
            }
        }
        match inventory {
            Some(inv) if problems.is_empty() => Ok(Scenario { inventory: Arc::new(inv), faults, until }),
            _ => {
                problems.sort();
                Err(Error::Invalid(problems))
            }
        }
    }

    /// Reads a scenario from JSON text.
    pub fn from_json_str(text: &str) -> Result<Scenario> {
        let doc = crate::parse::parse_json_text(text)?;
        Scenario::from_value(&doc)
    }

    /// A simulation with every fault injected, not yet run.
    pub fn simulation(&self) -> Result<Simulation> {
        let mut sim = Simulation::new(self.inventory.clone())?;
        for f in &self.faults {
            f.apply_to(&mut sim)?;
        }
        Ok(sim)
    }

    /// Runs the scenario to `until`: the simulation (for its end state) and every event.
    pub fn run(&self) -> Result<(Simulation, Vec<Event>)> {
        let mut sim = self.simulation()?;
        sim.run(self.until)?;
        let events = sim.events().to_vec();
        Ok((sim, events))
    }
}
