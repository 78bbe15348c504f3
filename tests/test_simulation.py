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
