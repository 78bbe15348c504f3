//! Heartbeat datastore selection (R-HBDS): hand-worked orderings and warnings.

use std::collections::HashSet;

use hapolicy::heartbeat::{self, HeartbeatSelector, HeartbeatWarningKind};
use hapolicy::model::HbDsPolicy;
use hapolicy::parse::from_json_str;
use hapolicy::{Error, Inventory};

/// (id, type, backing, hosts that can access it)
type DsSpec<'a> = (&'a str, &'a str, Option<&'a str>, &'a [&'a str]);

/// Hosts host-1..host-`n` (`extra[i]` adds JSON fields to host i+1), the datastores, the
/// heartbeat configuration and options.
fn inventory(hosts: usize, extra: &[&str], datastores: &[DsSpec], hb: &str, options: &[(&str, &str)]) -> Inventory {
    let host_docs: Vec<String> = (1..=hosts)
        .map(|i| {
            let id = format!("host-{i}");
            let list: Vec<String> =
                datastores.iter().filter(|d| d.3.contains(&id.as_str())).map(|d| format!("\"{}\"", d.0)).collect();
            let more = extra.get(i - 1).copied().unwrap_or("");
            format!(r#"{{"id":"{id}","cpu_mhz":10000,"memory_mb":10000,"datastores":[{}]{more}}}"#, list.join(","))
        })
        .collect();
    let ds_docs: Vec<String> = datastores
        .iter()
        .map(|(id, ty, backing, _)| {
            let backing = backing.map_or("null".to_string(), |b| format!("\"{b}\""));
            format!(r#"{{"id":"{id}","name":"{id}","type":"{ty}","backing":{backing}}}"#)
        })
        .collect();
    let opts: Vec<String> = options.iter().map(|(k, v)| format!("\"{k}\":\"{v}\"")).collect();
    let text = format!(
        r#"{{"cluster":{{"name":"t","heartbeat_datastores":{hb},"advanced_options":{{{}}}}},
            "hosts":[{}],"datastores":[{}],"vms":[]}}"#,
        opts.join(","),
        host_docs.join(","),
        ds_docs.join(",")
    );
    from_json_str(&text).unwrap_or_else(|e| panic!("test inventory is invalid: {e}\n{text}"))
}

const H123: &[&str] = &["host-1", "host-2", "host-3"];
const H12: &[&str] = &["host-1", "host-2"];

/// ds-a VMFS/arr-1 on 3 hosts, ds-b NFS/nas-1 on 3, ds-c VMFS/arr-1 on 2, ds-d VMFS/arr-2 on
/// host-1 only, ds-e vSAN on 3.
fn mixed(hb: &str, options: &[(&str, &str)]) -> Inventory {
    inventory(
        3,
        &[],
        &[
            ("ds-a", "VMFS", Some("arr-1"), H123),
            ("ds-b", "NFS", Some("nas-1"), H123),
            ("ds-c", "VMFS", Some("arr-1"), H12),
            ("ds-d", "VMFS", Some("arr-2"), &["host-1"]),
            ("ds-e", "vSAN", None, H123),
        ],
        hb,
        options,
    )
}

const AUTO: &str = r#"{"policy":"allFeasibleDs"}"#;
const DEFAULT: &str = r#"{"policy":"allFeasibleDsWithUserPreference","preferred":[]}"#;

fn none() -> HashSet<String> {
    HashSet::new()
}

fn chosen<'a>(s: &'a heartbeat::HeartbeatSelection, host: &str) -> Vec<&'a str> {
    s.datastores_for(host).expect("known host").iter().map(String::as_str).collect()
}

fn warning_messages(s: &heartbeat::HeartbeatSelection) -> Vec<&str> {
    s.warnings.iter().map(|w| w.message.as_str()).collect()
}

#[test]
fn more_hosts_with_access_beats_type() {
    // host-1 candidates: ds-a (3 hosts, VMFS), ds-b (3, NFS), ds-c (2, VMFS); ds-d is seen by
    // host-1 alone, ds-e is vSAN: both excluded. Host count first → ds-a, then ds-b (3) over
    // ds-c (2) although ds-c is VMFS.
    for hb in [AUTO, DEFAULT] {
        let s = heartbeat::select(&mixed(hb, &[]), &none());
        assert_eq!(s.required, 2);
        assert_eq!(chosen(&s, "host-1"), vec!["ds-a", "ds-b"]);
        assert_eq!(chosen(&s, "host-3"), vec!["ds-a", "ds-b"]);
        assert!(s.warnings.is_empty(), "{:?}", s.warnings);
        assert!(!s.disabled);
    }
}

#[test]
fn three_per_host_and_the_insufficient_warning() {
    // das.heartbeatDsPerHost = 3: host-1 and host-2 get ds-a, ds-b, ds-c; host-3 sees only
    // ds-a and ds-b (ds-e is vSAN) → 2 < 3 → warning.
    let s = heartbeat::select(&mixed(AUTO, &[("das.heartbeatDsPerHost", "3")]), &none());
    assert_eq!(s.required, 3);
    assert_eq!(chosen(&s, "host-1"), vec!["ds-a", "ds-b", "ds-c"]);
    assert_eq!(chosen(&s, "host-2"), vec!["ds-a", "ds-b", "ds-c"]);
    assert_eq!(chosen(&s, "host-3"), vec!["ds-a", "ds-b"]);
    assert_eq!(
        warning_messages(&s),
        vec![
            "host-3: the number of vSphere HA heartbeat datastores for this host is 2, which is less than required: 3"
        ]
    );
    assert_eq!(s.warnings[0].kind, HeartbeatWarningKind::InsufficientDatastores);
    assert_eq!(s.warnings[0].host.as_deref(), Some("host-3"));
    // das.ignoreInsufficientHbDatastore = true silences it; the selection is the same.
    let quiet = heartbeat::select(
        &mixed(AUTO, &[("das.heartbeatDsPerHost", "3"), ("das.ignoreInsufficientHbDatastore", "true")]),
        &none(),
    );
    assert!(quiet.warnings.is_empty());
    assert_eq!(quiet.hosts, s.hosts);
}

#[test]
fn a_new_backing_wins_ties() {
    // ds-1, ds-2 on array A, ds-3 on array B, all VMFS on both hosts: first ds-1 (smallest id),
    // then ds-3 (new backing) over ds-2 (array A again); a third pick takes ds-2.
    let dss: &[DsSpec] = &[
        ("ds-1", "VMFS", Some("arr-A"), H12),
        ("ds-2", "VMFS", Some("arr-A"), H12),
        ("ds-3", "VMFS", Some("arr-B"), H12),
    ];
    let s = heartbeat::select(&inventory(2, &[], dss, AUTO, &[]), &none());
    assert_eq!(chosen(&s, "host-1"), vec!["ds-1", "ds-3"]);
    let s = heartbeat::select(&inventory(2, &[], dss, AUTO, &[("das.heartbeatDsPerHost", "3")]), &none());
    assert_eq!(chosen(&s, "host-1"), vec!["ds-1", "ds-3", "ds-2"]);
}

#[test]
fn vmfs_beats_a_new_backing() {
    // ds-1, ds-2 VMFS on array A, ds-3 NFS on nas-B: type ranks before backing → ds-1, ds-2.
    let dss: &[DsSpec] = &[
        ("ds-1", "VMFS", Some("arr-A"), H12),
        ("ds-2", "VMFS", Some("arr-A"), H12),
        ("ds-3", "NFS", Some("nas-B"), H12),
    ];
    let s = heartbeat::select(&inventory(2, &[], dss, AUTO, &[]), &none());
    assert_eq!(chosen(&s, "host-1"), vec!["ds-1", "ds-2"]);
}

#[test]
fn lexically_smaller_id_is_bytewise() {
    // "datastore-10" < "datastore-11" < "datastore-9" as bytes ('1' < '9').
    let dss: &[DsSpec] =
        &[("datastore-9", "VMFS", None, H12), ("datastore-10", "VMFS", None, H12), ("datastore-11", "VMFS", None, H12)];
    let s = heartbeat::select(&inventory(2, &[], dss, AUTO, &[]), &none());
    assert_eq!(chosen(&s, "host-2"), vec!["datastore-10", "datastore-11"]);
}

#[test]
fn user_preference_first_then_automatic() {
    // Default policy with ds-c preferred: host-1 → ds-c, then the automatic best ds-a (3 hosts,
    // VMFS; its repeated backing arr-1 only breaks ties after type). host-3 cannot see ds-c.
    let s =
        heartbeat::select(&mixed(r#"{"policy":"allFeasibleDsWithUserPreference","preferred":["ds-c"]}"#, &[]), &none());
    assert_eq!(chosen(&s, "host-1"), vec!["ds-c", "ds-a"]);
    assert_eq!(chosen(&s, "host-3"), vec!["ds-a", "ds-b"]);
    // A preferred datastore only host-1 sees is still used for host-1 (engine rule: the
    // "another host" condition is for the automatic choice only).
    let s =
        heartbeat::select(&mixed(r#"{"policy":"allFeasibleDsWithUserPreference","preferred":["ds-d"]}"#, &[]), &none());
    assert_eq!(chosen(&s, "host-1"), vec!["ds-d", "ds-a"]);
    // allFeasibleDs ignores the list.
    let s = heartbeat::select(&mixed(r#"{"policy":"allFeasibleDs","preferred":["ds-c"]}"#, &[]), &none());
    assert_eq!(chosen(&s, "host-1"), vec!["ds-a", "ds-b"]);
}

#[test]
fn user_selected_only() {
    // userSelectedDs [ds-c]: host-1 and host-2 get ds-c alone (1 < 2), host-3 nothing (0 < 2).
    let s = heartbeat::select(&mixed(r#"{"policy":"userSelectedDs","preferred":["ds-c"]}"#, &[]), &none());
    assert_eq!(s.policy, HbDsPolicy::UserSelectedDs);
    assert_eq!(chosen(&s, "host-1"), vec!["ds-c"]);
    assert!(chosen(&s, "host-3").is_empty());
    assert_eq!(
        warning_messages(&s),
        vec![
            "host-1: the number of vSphere HA heartbeat datastores for this host is 1, which is less than required: 2",
            "host-2: the number of vSphere HA heartbeat datastores for this host is 1, which is less than required: 2",
            "host-3: the number of vSphere HA heartbeat datastores for this host is 0, which is less than required: 2",
        ]
    );
    // More listed than needed: the automatic ranking picks among them (list order is irrelevant):
    // ds-a (3, VMFS), ds-b (3, NFS) before ds-c (2).
    let s =
        heartbeat::select(&mixed(r#"{"policy":"userSelectedDs","preferred":["ds-c","ds-b","ds-a"]}"#, &[]), &none());
    assert_eq!(chosen(&s, "host-1"), vec!["ds-a", "ds-b"]);
    // An empty list disables datastore heartbeating.
    let s = heartbeat::select(&mixed(r#"{"policy":"userSelectedDs","preferred":[]}"#, &[]), &none());
    assert!(s.disabled);
    assert!(s.hosts.iter().all(|h| h.datastores.is_empty()));
    assert_eq!(s.warnings.len(), 3);
}

#[test]
fn vsan_preferred_is_never_used() {
    let s = heartbeat::select(&mixed(r#"{"policy":"userSelectedDs","preferred":["ds-e"]}"#, &[]), &none());
    assert!(s.hosts.iter().all(|h| h.datastores.is_empty()));
    let unusable: Vec<_> = s.warnings.iter().filter(|w| w.kind == HeartbeatWarningKind::UnusablePreferred).collect();
    assert_eq!(unusable.len(), 1);
    assert_eq!(unusable[0].datastore.as_deref(), Some("ds-e"));
    assert_eq!(unusable[0].message, "ds-e is a vSAN datastore and cannot be used for datastore heartbeating");
}

#[test]
fn unusable_datastores_are_skipped() {
    // ds-a in APD: host-1 → ds-b (3), ds-c (2); host-3 → ds-b only → warning.
    let apd: HashSet<String> = ["ds-a".to_string()].into();
    let s = heartbeat::select(&mixed(DEFAULT, &[]), &apd);
    assert_eq!(chosen(&s, "host-1"), vec!["ds-b", "ds-c"]);
    assert_eq!(chosen(&s, "host-3"), vec!["ds-b"]);
    assert_eq!(
        warning_messages(&s),
        vec![
            "host-3: the number of vSphere HA heartbeat datastores for this host is 1, which is less than required: 2"
        ]
    );
}

#[test]
fn hosts_without_the_agent_raise_no_warning() {
    // host-3 (only ds-x, shared with nobody usable → 0 datastores) is in maintenance: no warning.
    let dss: &[DsSpec] =
        &[("ds-1", "VMFS", None, H12), ("ds-2", "NFS", None, H12), ("ds-x", "VMFS", None, &["host-3"])];
    let s = heartbeat::select(&inventory(3, &["", "", r#","maintenance":true"#], dss, AUTO, &[]), &none());
    assert!(chosen(&s, "host-3").is_empty());
    assert!(s.warnings.is_empty(), "{:?}", s.warnings);
    // The same host connected: warned.
    let s = heartbeat::select(&inventory(3, &[], dss, AUTO, &[]), &none());
    assert_eq!(s.warnings.len(), 1);
    assert_eq!(s.warnings[0].host.as_deref(), Some("host-3"));
}

#[test]
fn per_host_selection() {
    let inv = mixed(DEFAULT, &[]);
    assert_eq!(heartbeat::select_for_host(&inv, "host-2", &none()).unwrap(), vec!["ds-a", "ds-b"]);
    assert!(matches!(
        heartbeat::select_for_host(&inv, "host-9", &none()),
        Err(Error::UnknownId { kind: "host", id }) if id == "host-9"
    ));
    let selector = HeartbeatSelector::new(&inv, &["ds-b".to_string()].into());
    assert_eq!(selector.select_host(0), vec!["ds-a", "ds-c"]);
    assert!(selector.select_host(99).is_empty());
    assert_eq!(selector.required(), 2);
}

#[test]
fn text_lists_hosts_and_warnings() {
    let s = heartbeat::select(&mixed(AUTO, &[("das.heartbeatDsPerHost", "3")]), &none());
    let text = s.to_text();
    assert!(text.starts_with("heartbeat datastores (allFeasibleDs, 3 per host)"));
    assert!(text.contains("\n  host-1: ds-a, ds-b, ds-c"));
    assert!(text.contains("\n  warning: host-3: the number of vSphere HA heartbeat datastores"));
}
