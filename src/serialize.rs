//! Writing an inventory back to the inventory format (docs/inventory.rst). The output is complete (every
//! default made explicit) so that `from_value(to_value(inv)) == inv`.

use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};
use serde_json::{json, Map, Value};

use crate::model::*;

fn opt<T: Into<Value>>(v: Option<T>) -> Value {
    v.map(Into::into).unwrap_or(Value::Null)
}

/// The top-level sections of the document, in the order `to_value` writes them.
pub const SECTIONS: [&str; 5] = ["cluster", "hosts", "datastores", "vms", "rules"];

pub fn to_value(inv: &Inventory) -> Value {
    Value::Object(SECTIONS.iter().map(|name| (name.to_string(), section(inv, name).unwrap_or(Value::Null))).collect())
}

/// [`to_value`] as JSON text (compact, or indented by `indent` spaces), written without building
/// the document first: one record's value at a time, so a million VMs need the text and one VM,
/// not a tree about twelve times the text. Byte for byte what serializing `to_value` gives.
pub fn to_json(inv: &Inventory, indent: Option<usize>) -> crate::Result<String> {
    let mut out = Vec::new();
    let written = match indent {
        Some(n) => {
            let pad = vec![b' '; n];
            let mut ser =
                serde_json::Serializer::with_formatter(&mut out, serde_json::ser::PrettyFormatter::with_indent(&pad));
            Document(inv).serialize(&mut ser)
        }
        None => Document(inv).serialize(&mut serde_json::Serializer::new(&mut out)),
    };
    written.map_err(|e| crate::Error::Argument(format!("cannot write the inventory as JSON: {e}")))?;
    String::from_utf8(out).map_err(|e| crate::Error::Argument(format!("cannot write the inventory as JSON: {e}")))
}

/// The document of [`to_value`], serialized section by section and record by record.
struct Document<'a>(&'a Inventory);

impl Serialize for Document<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let inv = self.0;
        let mut map = serializer.serialize_map(Some(SECTIONS.len()))?;
        for name in SECTIONS {
            match name {
                "hosts" => map.serialize_entry(name, &Records(&inv.hosts, host))?,
                "datastores" => map.serialize_entry(name, &Records(&inv.datastores, datastore))?,
                "vms" => map.serialize_entry(name, &Records(&inv.vms, vm))?,
                "rules" => map.serialize_entry(name, &Records(&inv.rules, rule))?,
                _ => map.serialize_entry(name, &section(inv, name).unwrap_or(Value::Null))?,
            }
        }
        map.end()
    }
}

/// A section's records, each turned into its value only when it is written.
struct Records<'a, T>(&'a [T], fn(&T) -> Value);

impl<T> Serialize for Records<'_, T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(self.0.len()))?;
        for record in self.0 {
            seq.serialize_element(&(self.1)(record))?;
        }
        seq.end()
    }
}

/// One top-level section of [`to_value`] (`cluster`, `hosts`, `datastores`, `vms` or `rules`)
/// without writing the others: reading the hosts of a million-VM inventory writes no VM.
pub fn section(inv: &Inventory, name: &str) -> Option<Value> {
    Some(match name {
        "cluster" => cluster(&inv.cluster),
        "hosts" => Value::Array(inv.hosts.iter().map(host).collect()),
        "datastores" => Value::Array(inv.datastores.iter().map(datastore).collect()),
        "vms" => Value::Array(inv.vms.iter().map(vm).collect()),
        "rules" => Value::Array(inv.rules.iter().map(rule).collect()),
        _ => return None,
    })
}

/// A host. `fault_domain` and `site` (R-DOMAIN) are written only when set, so the documents of
/// clusters without them read exactly as before they existed.
pub fn host(h: &Host) -> Value {
    let mut v = json!({
        "id": h.id, "name": h.name, "cpu_mhz": h.cpu_mhz, "memory_mb": h.memory_mb,
        "datastores": h.datastores, "networks": opt(h.networks.clone()),
        "state": h.state.as_str(), "maintenance": h.maintenance, "standby": h.standby,
        "goodness": opt(h.goodness), "agent_vms_ready": h.agent_vms_ready,
    });
    for (key, value) in [("fault_domain", &h.fault_domain), ("site", &h.site)] {
        if let (Some(value), Some(map)) = (value, v.as_object_mut()) {
            map.insert(key.to_string(), value.clone().into());
        }
    }
    v
}

pub fn datastore(d: &Datastore) -> Value {
    json!({"id": d.id, "name": d.name, "type": d.ds_type.as_str(), "backing": opt(d.backing.clone())})
}

pub fn vm(v: &Vm) -> Value {
    let mut out = json!({
        "id": v.id, "name": v.name, "host": opt(v.host.clone()), "power_state": v.power_state.as_str(),
        "cpu_reservation_mhz": v.cpu_reservation_mhz, "memory_reservation_mb": v.memory_reservation_mb,
        "memory_overhead_mb": v.memory_overhead_mb, "home_datastore": v.home_datastore,
        "datastores": v.datastores, "networks": v.networks,
        "restart_priority": v.restart_priority.as_str(), "isolation_response": v.isolation_response.as_str(),
        "role": opt(v.role.map(|r| r.as_str())), "protected": v.protected,
        "clean_power_off": v.clean_power_off, "tools_running": v.tools_running,
        "vm_monitoring": opt(v.vm_monitoring.as_ref().map(|m| json!({
            "mode": opt(m.mode.map(|x| x.as_str())), "sensitivity": opt(m.sensitivity.map(|x| x.as_str())),
        }))),
        "vmcp": opt(v.vmcp.as_ref().map(|m| json!({
            "apd": opt(m.apd.map(|x| x.as_str())), "pdl": opt(m.pdl.map(|x| x.as_str())),
        }))),
    });
    // Orchestration overrides (R-ORCH) only when set: other documents read as before.
    if let Some(map) = out.as_object_mut() {
        let o = &v.orchestration;
        if let Some(c) = o.ready_condition {
            map.insert("ready_condition".to_string(), c.as_str().into());
        }
        if let Some(d) = o.post_ready_delay_s {
            map.insert("post_ready_delay_s".to_string(), d.into());
        }
        if let Some(t) = o.restart_priority_timeout_s {
            map.insert("restart_priority_timeout_s".to_string(), t.into());
        }
        // Current demand (R-AC-PERF) only when known.
        if let Some(c) = v.cpu_usage_mhz {
            map.insert("cpu_usage_mhz".to_string(), c.into());
        }
        if let Some(m) = v.memory_usage_mb {
            map.insert("memory_usage_mb".to_string(), m.into());
        }
    }
    out
}

pub fn rule(r: &Rule) -> Value {
    let mut m = Map::new();
    m.insert("type".into(), r.kind.as_str().into());
    m.insert("name".into(), r.name.clone().into());
    m.insert("enabled".into(), r.enabled.into());
    match r.kind {
        RuleKind::VmDependsOn => {
            m.insert("vm".into(), opt(r.vms.first().cloned()));
            m.insert("depends_on".into(), r.depends_on.clone().into());
        }
        RuleKind::VmHostMust | RuleKind::VmHostMustNot | RuleKind::VmHostShould | RuleKind::VmHostShouldNot => {
            m.insert("vms".into(), r.vms.clone().into());
            m.insert("hosts".into(), r.hosts.clone().into());
        }
        RuleKind::VmAntiAffinity | RuleKind::VmAffinity => {
            m.insert("vms".into(), r.vms.clone().into());
        }
    }
    Value::Object(m)
}

pub fn admission(a: &AdmissionControl) -> Value {
    match a {
        AdmissionControl::Slot { host_failures, slot_cpu_mhz, slot_memory_mb } => {
            let mut m = json!({"policy": "slot", "host_failures": host_failures});
            if let (Some(c), Some(mem)) = (slot_cpu_mhz, slot_memory_mb) {
                m["slot_cpu_mhz"] = (*c).into();
                m["slot_memory_mb"] = (*mem).into();
            }
            m
        }
        AdmissionControl::Percentage { cpu_percent, memory_percent } => {
            json!({"policy": "percentage", "cpu_percent": cpu_percent, "memory_percent": memory_percent})
        }
        AdmissionControl::PercentageAuto { host_failures } => {
            json!({"policy": "percentage", "host_failures": host_failures})
        }
        AdmissionControl::FailoverHosts { hosts } => {
            json!({"policy": "failoverHosts", "hosts": hosts})
        }
        AdmissionControl::Disabled => json!({"policy": "disabled"}),
    }
}

pub fn cluster(c: &ClusterConfig) -> Value {
    let m = &c.vm_monitoring;
    let mut v = json!({
        "name": c.name, "version": c.version.as_str(), "host_monitoring": c.host_monitoring,
        "admission_control": admission(&c.admission_control),
        "isolation_response": c.isolation_response.as_str(),
        "restart_priority": c.restart_priority.as_str(),
        "isolation_addresses": c.isolation_addresses,
        "heartbeat_datastores": {
            "policy": c.heartbeat_datastores.policy.as_str(), "preferred": c.heartbeat_datastores.preferred,
        },
        "advanced_options": c.advanced_options.raw,
        "vmcp": {
            "apd": c.vmcp.apd.as_str(), "pdl": c.vmcp.pdl.as_str(),
            "apd_delay_s": c.vmcp.apd_delay_s, "apd_cleared": c.vmcp.apd_cleared.as_str(),
        },
        "vm_monitoring": {
            "mode": m.mode.as_str(), "sensitivity": m.sensitivity.as_str(),
            "failure_interval_s": opt(m.failure_interval_s), "min_uptime_s": opt(m.min_uptime_s),
            "max_resets": opt(m.max_resets), "max_resets_window_s": opt(m.max_resets_window_s),
        },
    });
    // Orchestration (R-ORCH) only when not the default: documents of other clusters read as before.
    if c.orchestration != OrchestrationConfig::default() {
        if let Some(map) = v.as_object_mut() {
            let o = &c.orchestration;
            map.insert(
                "orchestration".to_string(),
                json!({
                    "ready_condition": o.ready_condition.as_str(), "post_ready_delay_s": o.post_ready_delay_s,
                    "restart_priority_timeout_s": o.restart_priority_timeout_s,
                }),
            );
        }
    }
    // DRS / DPM (R-PLACE-DRS) only when set: documents of other clusters read as before.
    if let Some(map) = v.as_object_mut() {
        if c.drs != DrsConfig::default() {
            map.insert("drs".to_string(), json!({"enabled": c.drs.enabled, "automation": c.drs.automation.as_str()}));
        }
        if c.dpm != DpmConfig::default() {
            map.insert("dpm".to_string(), json!({"enabled": c.dpm.enabled}));
        }
    }
    // vSAN (R-DOMAIN) only when enabled: documents of other clusters read as before.
    if c.vsan != VsanConfig::default() {
        if let Some(map) = v.as_object_mut() {
            map.insert(
                "vsan".to_string(),
                json!({
                    "enabled": c.vsan.enabled,
                    "stretched": opt(c.vsan.stretched.as_ref().map(|st| json!({
                        "preferred_site": st.preferred_site, "secondary_site": st.secondary_site,
                    }))),
                }),
            );
        }
    }
    if let (Some(p), Some(ac)) = (c.resource_reduction_to_tolerate_percent, v.get_mut("admission_control")) {
        ac["resource_reduction_to_tolerate_percent"] = p.into();
    }
    v
}

/// Problems as `[path, message]` pairs.
pub fn problems(ps: &[Problem]) -> Value {
    ps.iter().map(|p| json!([p.path, p.message])).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generate::{synthetic, GeneratorSpec};

    fn pretty(value: &Value, indent: usize) -> String {
        let pad = vec![b' '; indent];
        let mut out = Vec::new();
        let mut ser =
            serde_json::Serializer::with_formatter(&mut out, serde_json::ser::PrettyFormatter::with_indent(&pad));
        value.serialize(&mut ser).unwrap();
        String::from_utf8(out).unwrap()
    }

    /// Writing record by record gives exactly the text of the whole document tree.
    #[test]
    fn streamed_json_is_the_document_tree_written_out() {
        let lab = crate::parse::from_json_str(include_str!("../examples/lab.json")).unwrap();
        let empty = crate::parse::from_json_str(r#"{"hosts": []}"#).unwrap();
        let mut cases = vec![lab, empty];
        cases.extend([(0, 3), (1, 1), (6, 200), (20, 900)].map(|(h, v)| synthetic(&GeneratorSpec::new(h, v, 5))));
        for inv in &cases {
            let tree = to_value(inv);
            assert_eq!(to_json(inv, None).unwrap(), tree.to_string());
            for indent in [0, 2, 4] {
                assert_eq!(to_json(inv, Some(indent)).unwrap(), pretty(&tree, indent));
            }
            assert_eq!(SECTIONS.iter().map(|s| section(inv, s).unwrap()).collect::<Vec<_>>().len(), 5);
            assert!(section(inv, "nope").is_none());
        }
    }
}
