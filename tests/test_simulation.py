"""The simulation through the Python API: the instants of R-TIME, checked against
the table itself, plus the API surface (apply, scenarios, timeline export)."""

from __future__ import annotations

import json
import pickle
from pathlib import Path
from typing import Any

import pytest

import hapolicy as ha

from .conftest import doc, host, vm


def cluster(version: str = "8.0", response: str = "powerOff", **cluster_kw: Any) -> ha.Inventory:
    """Three hosts sharing two datastores (so each has heartbeat datastores); host-3 ranks
    first (largest id), host-1 runs two VMs."""
    ds = ("ds-1", "ds-2")
    return ha.Inventory.from_dict(doc(
        [host("host-1", ds=ds), host("host-2", ds=ds), host("host-3", ds=ds)],
        [vm("vm-1", "host-1", mem=1024, restart_priority="high"), vm("vm-2", "host-1", ds="ds-2"),
         vm("vm-3", "host-2")],
        cluster={"name": "sim", "version": version, "isolation_response": response, **cluster_kw},
        datastores=list(ds),
    ))


def times(tl: ha.Timeline, kind: str, **kw: str) -> list[float]:
    return [e.time for e in tl.filter(kind, **kw)]


def test_master_elected_at_zero() -> None:
    sim = ha.Simulation(cluster())
    tl = sim.run(until=1)
    assert sim.master == "host-3"
    assert times(tl, "master_elected", host="host-3") == [0.0]


def test_slave_failure_with_heartbeat_datastores() -> None:
    sim = ha.Simulation(cluster())
    sim.fail_host("host-1", at=0.0)
    tl = sim.run(until=120)
    # R-TIME: T+10 unreachable, T+18 hostDown with heartbeat datastores, restarts issued then.
    assert times(tl, "host_unreachable", host="host-1") == [10.0]
    down = [e for e in tl.filter("host_state", host="host-1") if e.detail["state"] == "hostDown"]
    assert [e.time for e in down] == [18.0]
    attempts = tl.filter("restart_attempt")
    assert {e.vm for e in attempts} == {"vm-1", "vm-2"} and min(e.time for e in attempts) == 18.0
    # Both VMs end up running on a surviving host.
    states = sim.vm_states()
    assert states["vm-1"][0] == ha.PowerState.POWERED_ON and states["vm-1"][1] in ("host-2", "host-3")
    assert states["vm-2"][1] in ("host-2", "host-3")
    assert sim.host_states()["host-1"] == ha.HostState.HOST_DOWN


def test_slave_failure_without_heartbeat_datastores() -> None:
    inv = cluster(heartbeat_datastores={"policy": "userSelectedDs", "preferred": []})
    sim = ha.Simulation(inv)
    sim.fail_host("host-1", at=0.0)
    tl = sim.run(until=60)
    down = [e.time for e in tl.filter("host_state", host="host-1") if e.detail["state"] == "hostDown"]
    assert down == [15.0]  # R-TIME: T+15 without heartbeat datastores


def test_master_failure() -> None:
    sim = ha.Simulation(cluster())
    sim.fail_host("host-3", at=100.0)
    tl = sim.run(until=300)
    # T+10 election, T+25 new master, T+35 restarts of protected VMs not running.
    assert times(tl, "election_started") == [110.0]
    assert times(tl, "master_elected") == [0.0, 125.0]  # the initial election, then the new one
    assert sim.master == "host-2"
    assert tl.first("restart_attempt") is None  # host-3 ran no VM: nothing to restart


def test_master_failure_restarts_its_vms_at_t_plus_35() -> None:
    inv = cluster()
    inv = inv.replace(vms=[ha.Vm("vm-9", host="host-3", home_datastore="ds-1"), *inv.vms])
    sim = ha.Simulation(inv)
    sim.fail_host("host-3", at=0.0)
    tl = sim.run(until=300)
    assert times(tl, "restart_attempt", vm="vm-9")[0] == 35.0


@pytest.mark.parametrize(("version", "declared", "response"), [("5.1", 30.0, 60.0), ("8.0", 30.0, 60.0), ("5.0", 30.0, 30.0)])
def test_slave_isolation(version: str, declared: float, response: float) -> None:
    sim = ha.Simulation(cluster(version))
    sim.isolate_host("host-1", at=0.0)
    tl = sim.run(until=300)
    assert times(tl, "isolation_declared", host="host-1") == [declared]
    acted = tl.filter("isolation_response", host="host-1")
    assert {e.vm for e in acted} == {"vm-1", "vm-2"}
    assert {e.time for e in acted} == {response}
    assert all(e.detail["action"] == "powerOff" for e in acted)
    # The master reports the isolated host, and restarts its VMs elsewhere.
    isolated = [e.time for e in tl.filter("host_state", host="host-1") if e.detail["state"] == "networkIsolated"]
    assert isolated and isolated[0] >= declared
    assert sim.vm_states()["vm-1"][1] in ("host-2", "host-3")


def test_isolation_response_none_leaves_vms_running() -> None:
    sim = ha.Simulation(cluster(response="none"))
    sim.isolate_host("host-1", at=0.0)
    tl = sim.run(until=300)
    assert tl.first("restart_attempt") is None
    assert sim.vm_states()["vm-1"] == (ha.PowerState.POWERED_ON, "host-1")


@pytest.mark.parametrize(("version", "response"), [("8.0", 35.0), ("5.0", 5.0)])
def test_master_isolation(version: str, response: float) -> None:
    inv = cluster(version)
    inv = inv.replace(vms=[ha.Vm("vm-9", host="host-3", home_datastore="ds-1"), *inv.vms])
    sim = ha.Simulation(inv)
    sim.isolate_host("host-3", at=0.0)
    tl = sim.run(until=300)
    assert times(tl, "isolation_declared", host="host-3") == [5.0]
    assert times(tl, "isolation_response", vm="vm-9") == [response]
    assert times(tl, "master_elected")[-1] == 25.0  # the others elect at T+10 → T+25


def test_partition_restarts_nothing_while_hosts_heartbeat() -> None:
    sim = ha.Simulation(cluster())
    sim.partition([["host-3"], ["host-1", "host-2"]], at=0.0)
    tl = sim.run(until=300)
    far = [e.time for e in tl.filter("host_state") if e.detail.get("state") == "networkPartitionedFromMaster"]
    assert far and min(far) == 18.0
    assert tl.first("restart_attempt") is None
    assert sorted(sim.masters) == ["host-2", "host-3"]


def test_apply_and_errors() -> None:
    inv = cluster()
    a = ha.Simulation(inv)
    a.apply([{"at": 0, "type": "host_failure", "host": "host-1"}])
    b = ha.Simulation(inv)
    b.fail_host("host-1", at=0)
    assert a.run(until=200) == b.run(until=200)
    with pytest.raises(ha.InventoryError) as info:
        ha.Simulation(inv).apply([{"at": 0, "type": "host_failure", "host": "host-99"}])
    assert info.value.problems[0][0] == "events[0].host"
    with pytest.raises(ha.HaPolicyError):
        ha.Simulation(inv).fail_host("host-99", at=0)
    with pytest.raises(ha.HaPolicyError):
        ha.Simulation(inv).fail_host("host-1", at=float("nan"))


def test_repeat_runs_are_identical() -> None:
    def once() -> ha.Timeline:
        s = ha.Simulation(cluster())
        s.isolate_host("host-1", at=0)
        s.fail_host("host-2", at=40)
        return s.run(until=2000)
    assert once() == once()


def test_scenario_file_and_timeline_exports(tmp_path: Path) -> None:
    inv_path = tmp_path / "inv.json"
    inv_path.write_text(cluster().to_json())
    scen = tmp_path / "s.json"
    scen.write_text(json.dumps({"inventory": "inv.json", "events": [{"at": 0, "type": "host_failure", "host": "host-1"}], "until": 100}))
    sim = ha.Simulation.from_scenario(scen)
    tl = sim.run()
    assert sim.now == 100.0
    assert any(l.startswith("t=+18.0s host-1 hostDown") for l in str(tl).splitlines())
    records = tl.to_records()
    assert records[0]["kind"] == "master_elected" and set(records[0]) == {"time", "kind", "host", "vm", "detail", "text"}
    assert pickle.loads(pickle.dumps(tl)) == tl
    assert "<table>" in tl._repr_html_()
    from_dict = ha.Simulation.from_scenario({"inventory": cluster().to_dict(), "events": [], "until": 5})
    assert from_dict.run().first("master_elected") is not None


def test_fork_explores_two_futures() -> None:
    sim = ha.Simulation(cluster())
    sim.run(until=10)
    other = sim.fork()
    sim.fail_host("host-1", at=20)
    assert sim.run(until=100).first("restart_attempt") is not None
    assert other.run(until=100).first("restart_attempt") is None


def test_event_kinds_match_the_core() -> None:
    assert [k.value for k in ha.EventKind] == ha._core.event_kinds()


def test_vm_monitoring_timing_through_python() -> None:
    """R-VMMON (HA Deepdive timing): Tools heartbeats lost at T turn yellow at T + 30 + φ, red
    30 s later, and the VM is reset when red has lasted the failure interval (high: 30 s);
    application heartbeats go red at T + 30 + φ without yellow; φ defaults to 1."""
    inv = cluster(vm_monitoring={"mode": "vmAndAppMonitoring", "sensitivity": "high"})
    sim = ha.Simulation(inv)
    sim.guest_heartbeat_loss("vm-1", at=0.0)
    sim.guest_heartbeat_loss("vm-3", at=0.0, application=True)
    tl = sim.run(until=300)
    assert [(e.time, e.detail["status"]) for e in tl.filter("heartbeat_status", vm="vm-1")] == [(31.0, "yellow"), (61.0, "red")]
    assert [(e.time, e.detail["heartbeat"]) for e in tl.filter(ha.EventKind.HEARTBEAT_STATUS, vm="vm-3")] == [(31.0, "application")]
    assert times(tl, "vm_reset", vm="vm-1") == [91.0]
    assert times(tl, "vm_reset", vm="vm-3") == [61.0]


def test_vm_monitoring_io_gate_and_apply_form() -> None:
    inv = cluster(vm_monitoring={"mode": "vmMonitoringOnly", "sensitivity": "high"},
                  advanced_options={"engine.hostdPhaseSeconds": "29"})
    a = ha.Simulation(inv)
    # Red at 0 + 60 + 29 = 89; checks at 119, 149, …: I/O until 100 is more than 120 s ago at
    # 239 (119: I/O 19 s ago, 149: 49, 179: 79, 209: 109), so the reset waits until 239.
    a.guest_heartbeat_loss("vm-1", at=0.0, io_until=100.0)
    b = ha.Simulation(inv)
    b.apply([{"at": 0, "type": "guest_heartbeat_loss", "vm": "vm-1", "io_until": 100}])
    tl = a.run(until=600)
    assert tl == b.run(until=600)
    assert times(tl, "vm_reset_skipped", vm="vm-1") == [119.0, 149.0, 179.0, 209.0]
    assert times(tl, "vm_reset", vm="vm-1") == [239.0]
    with pytest.raises(ha.ArgumentError, match="io_until applies to VMware Tools heartbeats only"):
        a.guest_heartbeat_loss("vm-1", at=700.0, io_until=710.0, application=True)
    with pytest.raises(ha.InventoryError) as info:
        a.apply([{"at": 700, "type": "guest_heartbeat_loss", "vm": "vm-1", "application": 1}])
    assert info.value.problems[0][0] == "events[0].application"


def test_orchestrated_restart_through_python() -> None:
    """R-ORCH: vm-1 (high) is powered on at 19 on host-1's failure; with guestHbStatusGreen and a
    10 s post-ready delay it is ready at 19 + 60 + 10 = 89, when the next class (vm-2, medium;
    vm-3 stays on host-2) is issued. The settings read back through the value objects."""
    inv = cluster(orchestration={"ready_condition": "guestHbStatusGreen", "post_ready_delay_s": 10})
    assert dict(inv.config.orchestration) == {
        "ready_condition": "guestHbStatusGreen", "post_ready_delay_s": 10, "restart_priority_timeout_s": 600}
    sim = ha.Simulation(inv)
    sim.fail_host("host-1", at=0.0)
    tl = sim.run(until=300)
    assert times(tl, "restart_attempt", vm="vm-1") == [18.0]
    assert times(tl, "vm_ready", vm="vm-1") == [89.0]
    assert times(tl, "restart_attempt", vm="vm-2") == [89.0]
    assert tl.first(ha.EventKind.VM_READY).detail == {"condition": "guestHbStatusGreen", "post_ready_delay_s": 10.0}
    # A per-VM override, through the value objects and back.
    doc = inv.to_dict()
    doc["vms"][0]["restart_priority_timeout_s"] = 30
    again = ha.Inventory.from_dict(doc)
    assert again.vm("vm-1").restart_priority_timeout_s == 30 and again.vm("vm-2").ready_condition is None
    sim = ha.Simulation(again)
    sim.fail_host("host-1", at=0.0)
    assert times(sim.run(until=300), "restart_attempt", vm="vm-2") == [18.0 + 30]


# ---------------------------------------------------------------- failure domains (R-DOMAIN)

def domains(siteless: bool = False, stretched: bool = False, **cluster_kw: Any) -> ha.Inventory:
    """Four hosts: rack-1 = site-a = host-1, host-2; rack-2 = site-b = host-3, host-4 (the
    master: largest id); vm-1 on host-3, vm-2 on host-4. ``siteless``: a fifth host without
    site or fault domain."""
    ds = ("ds-1", "ds-2")
    hosts = [host(f"host-{i}", ds=ds, fault_domain="rack-1" if i <= 2 else "rack-2",
                  site="site-a" if i <= 2 else "site-b") for i in (1, 2, 3, 4)]
    if siteless:
        hosts.append(host("host-5", ds=ds))
    cl: dict[str, Any] = {"name": "dom", "version": "8.0", "isolation_response": "powerOff", **cluster_kw}
    if stretched:
        cl["vsan"] = {"enabled": True, "stretched": {"preferred_site": "site-a", "secondary_site": "site-b"}}
    return ha.Inventory.from_dict(doc(hosts, [vm("vm-1", "host-3", mem=1024), vm("vm-2", "host-4", mem=1024)],
                                      cluster=cl, datastores=list(ds)))


def without_faults(tl: ha.Timeline) -> list[str]:
    return [e.text for e in tl if e.kind != "fault"]


def test_fail_domain_fails_every_host_of_the_domain_at_once() -> None:
    sim = ha.Simulation(domains())
    sim.fail_domain("rack-2", at=0.0)
    tl = sim.run(until=120)
    # The master (host-4) is in the domain: R-TIME's master-failure row for the survivors.
    assert times(tl, "election_started") == [10.0]
    assert times(tl, "master_elected", host="host-2") == [25.0]
    assert sorted(e.vm for e in tl.filter("vm_restarted")) == ["vm-1", "vm-2"]
    assert set(times(tl, "restart_attempt")) == {35.0}
    fault = tl.first("fault")
    assert fault is not None and fault.detail == {"type": "domain_failure", "domain": "rack-2",
                                                  "hosts": ["host-3", "host-4"]}
    # The same timeline as failing both hosts at the same instant.
    other = ha.Simulation(domains())
    other.fail_host("host-3", at=0.0)
    other.fail_host("host-4", at=0.0)
    assert without_faults(tl) == without_faults(other.run(until=120))


def test_fail_site_and_the_apply_forms() -> None:
    sim = ha.Simulation(domains())
    sim.fail_site("site-a", at=5.0)
    tl = sim.run(until=120)
    # Two slaves fail together: unreachable at T+10, hostDown at T+18 (heartbeat datastores).
    assert times(tl, "host_unreachable") == [15.0, 15.0]
    assert sorted(e.host for e in tl.filter("host_state")) == ["host-1", "host-2"]
    assert set(times(tl, "host_state")) == {23.0}
    other = ha.Simulation(domains())
    other.apply([{"at": 5, "type": "site_failure", "site": "site-a"}])
    assert other.run(until=120) == tl
    other = ha.Simulation(domains())
    other.apply([{"at": 0, "type": "domain_failure", "domain": "rack-2"}])
    dom = ha.Simulation(domains())
    dom.fail_domain("rack-2", at=0)
    assert other.run(until=120) == dom.run(until=120)
    # A host without a fault domain is a domain of its own, named by its host id.
    own = ha.Simulation(domains(siteless=True))
    own.fail_domain("host-5", at=0)
    assert [e.host for e in own.run(until=30).filter("host_state")] == ["host-5"]


def test_unknown_domain_or_site_names_the_known_ones() -> None:
    sim = ha.Simulation(domains())
    with pytest.raises(ha.ArgumentError, match="unknown fault domain 'rack-9'.*'rack-1', 'rack-2'"):
        sim.fail_domain("rack-9", at=0)
    with pytest.raises(ha.ArgumentError, match="unknown site 'site-z'.*'site-a', 'site-b'"):
        sim.fail_site("site-z", at=0)
    with pytest.raises(ha.InventoryError) as err:
        sim.apply([{"at": 0, "type": "domain_failure", "domain": "rack-9"},
                   {"at": 0, "type": "site_failure", "site": "x"}])
    paths = [p for p, _ in err.value.problems]
    assert paths == ["events[0].domain", "events[1].site"]
    assert "'site-a', 'site-b'" in err.value.problems[1][1]
    assert sim.run(until=60).filter("fault") == ha.Timeline([])  # nothing applied
    plain = ha.Simulation(cluster())
    with pytest.raises(ha.ArgumentError, match="no host has a site"):
        plain.fail_site("site-a", at=0)


def test_partition_sites_each_site_elects_its_own_master() -> None:
    sim = ha.Simulation(domains(siteless=True, stretched=True))
    assert sim.master == "host-5"
    sim.partition_sites(at=0.0, until=100.0)
    tl = sim.run(until=60)
    # host-5 has no site: it stays with the preferred site-a (and stays its master); site-b
    # elects host-4 at T+25 (R-ELECT per partition).
    assert sorted(sim.masters) == ["host-4", "host-5"]
    assert times(tl, "master_elected", host="host-4") == [25.0]
    fault = tl.first("fault")
    assert fault is not None and fault.detail["groups"] == [["host-1", "host-2", "host-5"], ["host-3", "host-4"]]
    # Without vSAN datastores the hosts keep heartbeating theirs: nothing is restarted.
    assert not tl.filter("restart_attempt") and not tl.filter("isolation_declared")
    assert sim.host_states()["host-3"] == "networkPartitionedFromMaster"
    tl = sim.run(until=150)
    assert sim.masters == ["host-5"]
    assert [e.host for e in tl.filter("master_abdicated")] == ["host-4"]
    other = ha.Simulation(domains(siteless=True, stretched=True))
    other.apply([{"at": 0, "type": "site_partition", "until": 100}])
    assert other.run(until=150).text() == sim.timeline.text()
    with pytest.raises(ha.ArgumentError, match="at least two sites"):
        ha.Simulation(cluster()).partition_sites(at=0)


def test_a_host_that_reaches_an_isolation_address_is_partitioned_not_isolated() -> None:
    inv = cluster(advanced_options={"das.isolationaddress0": "10.0.0.1"})
    sim = ha.Simulation(inv)
    sim.isolate_host("host-1", at=0.0, reachable_addresses=["10.0.0.1"])
    tl = sim.run(until=200)
    assert times(tl, "master_elected", host="host-1") == [25.0]   # elects itself
    assert not tl.filter("isolation_declared") and not tl.filter("isolation_response")
    assert not tl.filter("restart_attempt")
    assert sim.vm_states()["vm-1"] == ("poweredOn", "host-1")
    # The default gateway counts too (das.usedefaultisolationaddress defaults to true).
    gw = ha.Simulation(inv)
    gw.isolate_host("host-1", at=0.0, reachable_addresses=["gateway"])
    assert not gw.run(until=200).filter("isolation_declared")
    # Reaching nothing: isolated as before (declared at T+30, response at T+60).
    iso = ha.Simulation(inv)
    iso.isolate_host("host-1", at=0.0, reachable_addresses=[])
    assert times(iso.run(until=200), "isolation_declared") == [30.0]
    with pytest.raises(ha.ArgumentError, match="'10.9.9.9' is not an isolation address.*'10.0.0.1', 'gateway'"):
        sim.isolate_host("host-2", at=300, reachable_addresses=["10.9.9.9"])
    with pytest.raises(ha.ArgumentError, match="list of isolation addresses"):
        sim.isolate_host("host-2", at=300, reachable_addresses="10.0.0.1")
    with pytest.raises(ha.InventoryError, match="not an isolation address"):
        sim.apply([{"at": 300, "type": "isolation", "host": "host-2", "reachable_addresses": ["x"]}])


def test_partition_groups_and_isolation_addresses() -> None:
    # A host alone in its partition group reaches the addresses by default: not isolated.
    sim = ha.Simulation(cluster())
    sim.partition([["host-1"]], at=0.0)
    assert not sim.run(until=200).filter("isolation_declared")
    # ... unless it reaches none: then it is isolated (R-CLASS-S).
    sim = ha.Simulation(cluster())
    sim.partition([["host-1"]], at=0.0, reachable_addresses=[])
    tl = sim.run(until=200)
    assert times(tl, "isolation_declared", host="host-1") == [30.0]
    assert [e.vm for e in tl.filter("isolation_response")] == ["vm-1", "vm-2"]
    # Without any isolation address (das.usedefaultisolationaddress=false) a lone host can
    # ping nothing: isolated.
    sim = ha.Simulation(cluster(advanced_options={"das.usedefaultisolationaddress": "false"}))
    sim.partition([["host-1"]], at=0.0)
    assert times(sim.run(until=200), "isolation_declared", host="host-1") == [30.0]
    # Hosts of a group of several see election traffic: never isolated; the master left alone
    # in the remaining group (host-3) reaching nothing is: R-TIME's master-isolated row (T+5).
    sim = ha.Simulation(cluster())
    sim.partition([["host-1", "host-2"]], at=0.0, reachable_addresses=[])
    tl = sim.run(until=200)
    assert [(e.host, e.time) for e in tl.filter("isolation_declared")] == [("host-3", 5.0)]


def test_isolation_address_configuration_warnings() -> None:
    none = cluster(advanced_options={"das.usedefaultisolationaddress": "false"})
    assert any("no isolation address" in m for _, m in none.warnings)
    assert not any("isolation address" in m for _, m in cluster().warnings)
    plain = domains(stretched=True)
    msgs = [m for _, m in plain.warnings if "stretched cluster" in m]
    assert msgs and "'site-a' and 'site-b'" in msgs[0]
    one = domains(stretched=True, advanced_options={"das.isolationaddress0": "10.1.0.1@site-a"})
    msgs = [m for _, m in one.warnings if "stretched cluster" in m]
    assert msgs and "site 'site-b' has no isolation address" in msgs[0] and "site-a" not in msgs[0]
    both = domains(stretched=True, advanced_options={"das.isolationaddress0": "10.1.0.1@site-a",
                                                     "das.isolationaddress1": "10.2.0.1@site-b"})
    assert not any("isolation address" in m for _, m in both.warnings)
    typo = domains(stretched=True, advanced_options={"das.isolationaddress0": "10.1.0.1@site-c"})
    assert any("site 'site-c', which no host has" in m for _, m in typo.warnings)
    # The annotated address is reached by its address.
    sim = ha.Simulation(both)
    sim.isolate_host("host-1", at=0.0, reachable_addresses=["10.1.0.1"])
    assert not sim.run(until=200).filter("isolation_declared")


def vsan_cluster(enabled: bool = True, stretched: bool = True, domains_: bool = True) -> ha.Inventory:
    """Four hosts (site-a = host-1, host-2; site-b = host-3, host-4) sharing a vSAN datastore
    and two VMFS ones (datastore heartbeats); vm-1 (host-3) and vm-2 (host-4) live on vSAN;
    VMCP restartAggressive for APD."""
    ds = ("vsan-1", "ds-1", "ds-2")
    hosts = [host(f"host-{i}", ds=ds, site="site-a" if i <= 2 else "site-b",
                  **({"fault_domain": "rack-1" if i <= 2 else "rack-2"} if domains_ else {}))
             for i in (1, 2, 3, 4)]
    vsan: dict[str, Any] = {"enabled": enabled}
    if stretched:
        vsan["stretched"] = {"preferred_site": "site-a", "secondary_site": "site-b"}
    d = doc(hosts, [vm("vm-1", "host-3", mem=1024, ds="vsan-1"), vm("vm-2", "host-4", mem=1024, ds="vsan-1")],
            cluster={"name": "vsan", "version": "8.0", "vsan": vsan, "vmcp": {"apd": "restartAggressive"}},
            datastores=list(ds))
    d["datastores"][0]["type"] = "vSAN"
    return ha.Inventory.from_dict(d)


def test_vsan_quorum_on_a_site_partition() -> None:
    sim = ha.Simulation(vsan_cluster())
    sim.partition_sites(at=0.0)
    tl = sim.run(until=400)
    # 3 votes (rack-1, rack-2, the witness with site-a): site-b (1 vote) loses vsan-1 at once.
    lost = tl.filter("vsan_access")
    assert [(e.time, e.detail["hosts"], e.detail["accessible"], e.detail["votes"], e.detail["total_votes"])
            for e in lost] == [(0.0, ["host-3", "host-4"], False, 1, 3)]
    # ... an APD (R-VMCP): timeout T+140, terminated T+140+180, restarted on site-a.
    assert times(tl, "apd_timeout") == [140.0, 140.0]
    assert times(tl, "vm_terminated") == [320.0, 320.0]
    assert {v: h for v, (_, h) in sim.vm_states().items()} == {"vm-1": "host-1", "vm-2": "host-2"}
    # Without vSAN enabled the same datastores follow the datastores lists: nothing happens.
    plain = ha.Simulation(vsan_cluster(enabled=False, stretched=False))
    plain.partition_sites(at=0.0)
    tl = plain.run(until=400)
    assert not tl.filter("vsan_access") and not tl.filter("vm_terminated") and not tl.filter("restart_attempt")


def test_vsan_quorum_without_a_majority_and_after_failures() -> None:
    # No fault domains, not stretched: one vote per host (4); a 2 | 2 split leaves no side with
    # a strict majority, so every host loses the vSAN datastore.
    sim = ha.Simulation(vsan_cluster(stretched=False, domains_=False))
    sim.partition([["host-1", "host-2"]], at=0.0)
    tl = sim.run(until=10)
    assert sorted(h for e in tl.filter("vsan_access") for h in e.detail["hosts"]) == [
        "host-1", "host-2", "host-3", "host-4"]
    # Stretched: site-b failing leaves site-a with rack-1 and the witness, 2 of 3: vSAN stays.
    sim = ha.Simulation(vsan_cluster())
    sim.fail_site("site-b", at=0.0)
    tl = sim.run(until=100)
    assert not tl.filter("vsan_access")
    assert sorted(e.vm for e in tl.filter("vm_restarted")) == ["vm-1", "vm-2"]
    # site-a failing leaves site-b with rack-2 and the witness, 2 of 3: with the whole preferred
    # site down the witness sides with the secondary site, which keeps vSAN (and its VMs run on).
    sim = ha.Simulation(vsan_cluster())
    sim.fail_site("site-a", at=0.0)
    tl = sim.run(until=100)
    assert not tl.filter("vsan_access") and not tl.filter("vm_terminated")
    assert {v: h for v, (_, h) in sim.vm_states().items()} == {"vm-1": "host-3", "vm-2": "host-4"}


def test_network_of_a_fault_with_vsan() -> None:
    # With vSAN, HA uses the vSAN network: a management-only isolation changes nothing.
    sim = ha.Simulation(vsan_cluster())
    sim.isolate_host("host-1", at=0.0, network="management")
    tl = sim.run(until=200)
    assert [e.kind for e in tl if e.time > 0] == []
    assert "no effect" in tl.filter("fault")[0].text
    sim = ha.Simulation(vsan_cluster())
    sim.isolate_host("host-1", at=0.0, network="vsan")
    assert times(sim.run(until=200), "isolation_declared") == [30.0]
    sim = ha.Simulation(vsan_cluster())
    sim.apply([{"at": 0, "type": "partition", "groups": [["host-1"]], "network": "management"}])
    assert not sim.run(until=200).filter("election_started")
    # Without vSAN: 'management' is HA's network, 'vsan' does not exist.
    sim = ha.Simulation(cluster())
    sim.isolate_host("host-1", at=0.0, network="management")
    assert times(sim.run(until=200), "isolation_declared") == [30.0]
    with pytest.raises(ha.ArgumentError, match="needs vSAN"):
        sim.isolate_host("host-2", at=300, network="vsan")
    with pytest.raises(ha.ArgumentError, match="'management' or 'vsan'"):
        sim.partition([["host-2"]], at=300, network="storage")
    with pytest.raises(ha.InventoryError, match="unknown network 'x'"):
        sim.apply([{"at": 300, "type": "isolation", "host": "host-2", "network": "x"}])


def test_drs_vmotion_and_dpm_in_a_simulation_through_python() -> None:
    # R-PLACE-DRS: the HA Deepdive's fragmented cluster (golden r_place_drs_deepdive_fully_automated):
    # vm-a's vMotion host-2 -> host-3 starts at hostDown (18) and completes 20 s later; vm-big's
    # restart attempt follows at 38 on host-2 and it runs at 39. Names are shown beside ids.
    golden = Path(__file__).resolve().parent / "golden" / "sim" / "r_place_drs_deepdive_fully_automated.json"
    scenario = json.loads(golden.read_text())["scenario"]
    sim = ha.Simulation.from_scenario(scenario)
    tl = sim.run(100)
    started, done = tl.first(ha.EventKind.VM_MIGRATION_STARTED), tl.first(ha.EventKind.VM_MIGRATED)
    assert started is not None and done is not None
    assert (started.time, started.vm, started.host) == (18.0, "vm-a", "host-2")
    assert (done.time, done.host, done.detail) == (38.0, "host-3", {"from": "host-2", "to": "host-3", "for_vm": "vm-big"})
    assert times(tl, "restart_attempt", vm="vm-big") == [38.0]
    assert "t=+38.0s vm-a migrated from host-2 (esx-2) to host-3 (esx-3) (DRS, making room for vm-big)" in tl.text()
    states = sim.vm_states()
    assert states["vm-a"] == (ha.PowerState.POWERED_ON, "host-3") and states["vm-big"] == (ha.PowerState.POWERED_ON, "host-2")
    # The option changes the vMotion time: 18 + 45 = 63.
    scenario["inventory"]["cluster"]["advanced_options"] = {"engine.vMotionSeconds": 45}
    tl = ha.Simulation.from_scenario(scenario).run(100)
    assert times(tl, "restart_attempt", vm="vm-big") == [63.0]
    # While vCenter is unavailable DRS does not act: unplaced, with the would-be vMotion noted.
    scenario["inventory"]["cluster"]["advanced_options"] = {}
    scenario["events"].append({"at": 0, "type": "vcenter_unavailable"})
    tl = ha.Simulation.from_scenario(scenario).run(100)
    unplaced = tl.first(ha.EventKind.VM_UNPLACED, vm="vm-big")
    assert unplaced is not None and unplaced.detail == {
        "reason": "insufficientResources", "attempt": 1, "drs_vmotions": 1, "drs_inactive": "vcenterUnavailable"}
    assert not tl.filter(ha.EventKind.VM_MIGRATION_STARTED)


def test_sole_master_acts_again_after_its_isolation_ends() -> None:
    """R-CLASS-S / R-PLACE-4: the last host standing, master, is isolated 60–100 s while a VM it
    could not place waits for its next attempt. Isolated it stops acting (its restart count is
    dropped); when the isolation ends it reaches its isolation address again, is no longer
    isolated and acts as a master anew: the protectedlist scan after
    engine.newMasterRestartDelaySec (10 s) at 110, then retries 2, 4, 8, 16 min apart
    (230, 470, 950, 1910) and gives up after das.maxVmRestartCount + 1 = 5 attempts. Before the
    fix the host stayed flagged isolated and the VM was never retried."""
    doc = json.loads((Path(__file__).parent / "golden" / "sim" / "r_place_unplaced_retries.json").read_text())
    sim = ha.Simulation(ha.Inventory.from_dict(doc["scenario"]["inventory"]))
    sim.fail_host("host-1", at=0)
    sim.fail_host("host-3", at=18)  # host-2, alone, elected master at 43; vm-big unplaced at 53
    sim.isolate_host("host-2", at=60, until=100)
    events = sim.run(until=3000)
    attempts = [(e.time, e.detail["attempt"]) for e in events.filter("vm_unplaced", vm="vm-big")]
    assert attempts == [(53.0, 1), (110.0, 1), (230.0, 2), (470.0, 3), (950.0, 4), (1910.0, 5)]
    assert [e.time for e in events.filter("restart_gave_up", vm="vm-big")] == [1910.0]
