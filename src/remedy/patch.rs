//! What a remedy changes: a [`Patch`] of the inventory, as plain data a user can read and apply
//! by hand, and its one implementation ([`Patch::apply`]) used both by the search and by
//! `Remedy.apply` in Python (which validates the result again).

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use crate::error::{Error, Result};
use crate::model::{AdmissionControl, Host, Inventory};
use crate::options::AdvancedOptions;

/// `count` new hosts identical to the host `like` (same CPU, memory, networks, and datastores
/// except the ones only `like` mounts: a datastore only one host sees is taken as its local
/// disk, which a new host cannot share). New hosts are connected, not in maintenance or standby.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddHosts {
    pub like: String,
    pub count: usize,
    /// The ids the new hosts get (`count` of them, unused in the inventory).
    pub ids: Vec<String>,
}

/// New values for one VM (`None`: unchanged).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VmChange {
    pub cpu_reservation_mhz: Option<u64>,
    pub memory_reservation_mb: Option<u64>,
    /// Moves every file of the VM to this datastore (home and `datastores`).
    pub datastore: Option<String>,
}

/// A change of the inventory. Fields left empty change nothing; the parts apply in field order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Patch {
    pub add_hosts: Vec<AddHosts>,
    /// Added to every host's CPU capacity, MHz.
    pub host_cpu_mhz: u64,
    /// Added to every host's memory capacity, MB.
    pub host_memory_mb: u64,
    /// `das.*` options set (key → value as typed).
    pub advanced_options: BTreeMap<String, String>,
    /// Per VM id.
    pub vms: BTreeMap<String, VmChange>,
    pub admission_control: Option<AdmissionControl>,
    /// Rules removed, by name.
    pub remove_rules: Vec<String>,
}

impl Patch {
    /// True when the patch changes nothing.
    pub fn is_empty(&self) -> bool {
        *self == Patch::default()
    }

    /// `self` then `other` (fields of `other` win where both set one).
    pub fn merged(&self, other: &Patch) -> Patch {
        let mut out = self.clone();
        out.add_hosts.extend(other.add_hosts.iter().cloned());
        out.host_cpu_mhz += other.host_cpu_mhz;
        out.host_memory_mb += other.host_memory_mb;
        out.advanced_options.extend(other.advanced_options.iter().map(|(k, v)| (k.clone(), v.clone())));
        for (id, change) in &other.vms {
            let entry = out.vms.entry(id.clone()).or_default();
            if change.cpu_reservation_mhz.is_some() {
                entry.cpu_reservation_mhz = change.cpu_reservation_mhz;
            }
            if change.memory_reservation_mb.is_some() {
                entry.memory_reservation_mb = change.memory_reservation_mb;
            }
            if change.datastore.is_some() {
                entry.datastore = change.datastore.clone();
            }
        }
        if other.admission_control.is_some() {
            out.admission_control = other.admission_control.clone();
        }
        out.remove_rules.extend(other.remove_rules.iter().cloned());
        out
    }

    /// The changed inventory (not validated again: [`Patch::apply_validated`] does that).
    /// Errors: an unknown host, VM or rule, a datastore the inventory lacks, an advanced option
    /// value the engine rejects.
    pub fn apply(&self, inv: &Inventory) -> Result<Inventory> {
        let mut hosts = inv.hosts.clone();
        for add in &self.add_hosts {
            let like = inv.host(&add.like).ok_or_else(|| Error::UnknownId { kind: "host", id: add.like.clone() })?;
            if add.ids.len() != add.count {
                return Err(Error::Argument(format!(
                    "add_hosts like '{}': {} ids for {} hosts",
                    add.like,
                    add.ids.len(),
                    add.count
                )));
            }
            let shared = shared_datastores(inv, like);
            for id in &add.ids {
                if hosts.iter().any(|h| &h.id == id) {
                    return Err(Error::Argument(format!("add_hosts: host id '{id}' is already used")));
                }
                hosts.push(Host {
                    id: id.clone(),
                    name: String::new(),
                    datastores: shared.clone(),
                    state: crate::model::ConnectionState::Connected,
                    maintenance: false,
                    standby: false,
                    goodness: None,
                    agent_vms_ready: true,
                    ..like.clone()
                });
            }
        }
        for h in &mut hosts {
            h.cpu_mhz = h.cpu_mhz.saturating_add(self.host_cpu_mhz);
            h.memory_mb = h.memory_mb.saturating_add(self.host_memory_mb);
        }
        let mut cluster = inv.cluster.clone();
        if !self.advanced_options.is_empty() {
            let mut raw = cluster.advanced_options.raw.clone();
            for (key, value) in &self.advanced_options {
                // Option keys are case-insensitive: replace any spelling of the same key.
                raw.retain(|k, _| !k.eq_ignore_ascii_case(key));
                raw.insert(key.clone(), value.clone());
            }
            let (mut errors, mut warnings) = (Vec::new(), Vec::new());
            let parsed =
                AdvancedOptions::parse(raw, cluster.version, "cluster.advanced_options", &mut errors, &mut warnings);
            if !errors.is_empty() {
                return Err(Error::Invalid(errors));
            }
            cluster.advanced_options = parsed;
        }
        if let Some(ac) = &self.admission_control {
            cluster.admission_control = ac.clone();
        }
        let mut vms = inv.vms.clone();
        for (id, change) in &self.vms {
            let i = inv.vm_idx(id).ok_or_else(|| Error::UnknownId { kind: "vm", id: id.clone() })?;
            let vm = &mut vms[i];
            if let Some(cpu) = change.cpu_reservation_mhz {
                vm.cpu_reservation_mhz = cpu;
            }
            if let Some(mem) = change.memory_reservation_mb {
                vm.memory_reservation_mb = mem;
            }
            if let Some(ds) = &change.datastore {
                if inv.datastore(ds).is_none() {
                    return Err(Error::UnknownId { kind: "datastore", id: ds.clone() });
                }
                vm.home_datastore = ds.clone();
                vm.datastores = vec![ds.clone()];
            }
        }
        let mut rules = inv.rules.clone();
        for name in &self.remove_rules {
            if !rules.iter().any(|r| &r.name == name) {
                return Err(Error::Argument(format!("remove_rules: no rule named '{name}'")));
            }
            rules.retain(|r| &r.name != name);
        }
        Ok(Inventory::assemble(cluster, hosts, inv.datastores.clone(), vms, rules, inv.warnings.clone()))
    }

    /// [`Patch::apply`], then the result written out and validated again like any input.
    pub fn apply_validated(&self, inv: &Inventory) -> Result<Inventory> {
        let changed = self.apply(inv)?;
        crate::parse::from_value(&crate::serialize::to_value(&changed))
    }

    /// The patch as plain data, only the parts it sets, e.g.
    /// `{"add_hosts": [{"like": "host-23", "count": 1, "ids": ["new-host-1"]}]}`,
    /// `{"host_memory_mb": 16384}`, `{"advanced_options": {"das.slotMemInMB": "8192"}}`,
    /// `{"vms": {"vm-101": {"memory_reservation_mb": 8192}}}`, `{"admission_control": {...}}`,
    /// `{"remove_rules": ["name"]}`.
    pub fn to_value(&self) -> Value {
        let mut m = Map::new();
        if !self.add_hosts.is_empty() {
            let adds: Vec<Value> =
                self.add_hosts.iter().map(|a| json!({"like": a.like, "count": a.count, "ids": a.ids})).collect();
            m.insert("add_hosts".into(), Value::Array(adds));
        }
        if self.host_cpu_mhz > 0 {
            m.insert("host_cpu_mhz".into(), self.host_cpu_mhz.into());
        }
        if self.host_memory_mb > 0 {
            m.insert("host_memory_mb".into(), self.host_memory_mb.into());
        }
        if !self.advanced_options.is_empty() {
            m.insert("advanced_options".into(), json!(self.advanced_options));
        }
        if !self.vms.is_empty() {
            let vms: Map<String, Value> = self
                .vms
                .iter()
                .map(|(id, c)| {
                    let mut v = Map::new();
                    if let Some(x) = c.cpu_reservation_mhz {
                        v.insert("cpu_reservation_mhz".into(), x.into());
                    }
                    if let Some(x) = c.memory_reservation_mb {
                        v.insert("memory_reservation_mb".into(), x.into());
                    }
                    if let Some(ds) = &c.datastore {
                        v.insert("home_datastore".into(), ds.clone().into());
                        v.insert("datastores".into(), json!([ds]));
                    }
                    (id.clone(), Value::Object(v))
                })
                .collect();
            m.insert("vms".into(), Value::Object(vms));
        }
        if let Some(ac) = &self.admission_control {
            m.insert("admission_control".into(), crate::serialize::admission(ac));
        }
        if !self.remove_rules.is_empty() {
            m.insert("remove_rules".into(), json!(self.remove_rules));
        }
        Value::Object(m)
    }
}

/// The datastores a new host like `like` gets: all of `like`'s except those no other host
/// mounts (its local disk).
pub(crate) fn shared_datastores(inv: &Inventory, like: &Host) -> Vec<String> {
    like.datastores
        .iter()
        .filter(|ds| inv.hosts.iter().any(|h| h.id != like.id && h.datastores.contains(ds)))
        .cloned()
        .collect()
}

/// `count` host ids not used in `inv` nor in `taken`: `new-host-1`, `new-host-2`, …
pub(crate) fn fresh_host_ids(inv: &Inventory, count: usize) -> Vec<String> {
    let mut out = Vec::with_capacity(count);
    let mut i = 1usize;
    while out.len() < count {
        let id = format!("new-host-{i}");
        if inv.host(&id).is_none() {
            out.push(id);
        }
        i += 1;
    }
    out
}
