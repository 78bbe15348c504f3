"""hapolicy.io.replay / replay_events: vCenter events → simulated faults, predicted against
observed. The incident is scripted in govmomi's vCenter simulator (tests/vcsim): its state set
through the API, HA's events posted with ``EventManager.PostEvent`` (the simulator stamps them
with the time it receives them), read back with an ``EventHistoryCollector``.

Expected outcomes are reasoned from the figures: three hosts of 4095 MB, 150 MB of overhead
per VM (tests/vcsim/ha.go)."""

from __future__ import annotations

import datetime
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import hapolicy as ha
from hapolicy import io
from hapolicy.io.replay import EVENT_MEANINGS

ROOT = Path(__file__).resolve().parent.parent
LAB = ROOT / "examples" / "lab.json"
T0 = datetime.datetime(2026, 11, 30, 3, 0, 0, tzinfo=datetime.timezone.utc)


def at(seconds: float) -> str:
    return (T0 + datetime.timedelta(seconds=seconds)).isoformat()


# ---------------------------------------------------------------- against the simulator


@pytest.fixture
def incident(vcsim_binary: Path) -> Iterator[dict[str, Any]]:
    """H0 fails with vm0 (3000 MB reserved) and vm1 (500 MB) on it; H1 runs vm2 (3000 MB), H2
    vm3 (3500 MB). Room left: H1 4095-3150 = 945 MB, H2 4095-3650 = 445 MB. So vm1 (650 MB
    with overhead) fits on H1 only, and vm0 (3150 MB) nowhere. The events say exactly that;
    the simulator's state is then changed as HA would have (vm1 moved to H1, vm0 off)."""
    from pyVim.task import WaitForTask
    from pyVmomi import vim

    from tests.vcsim import launch

    with launch.start(vcsim_binary, "-vms", "4", "-ha", "slot") as s:
        si = s.connect()
        cluster, (h0, h1, h2), (vm0, vm1, vm2, vm3) = launch.cluster_objects(si)
        for vm, host, mem in ((vm0, h0, 3000), (vm1, h0, 500), (vm2, h1, 3000), (vm3, h2, 3500)):
            WaitForTask(vm.RelocateVM_Task(spec=vim.vm.RelocateSpec(host=host)))
            WaitForTask(vm.ReconfigVM_Task(spec=vim.vm.ConfigSpec(
                memoryAllocation=vim.ResourceAllocationInfo(reservation=mem))))
        before = io.from_vsphere(si, "DC0_C0")
        start = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(seconds=1)
        em = si.content.eventManager
        cr = vim.event.ComputeResourceEventArgument(computeResource=cluster, name=cluster.name)

        def host(h: Any) -> Any:
            return vim.event.HostEventArgument(host=h, name=h.name)

        def vm(v: Any) -> Any:
            return vim.event.VmEventArgument(vm=v, name=v.name)

        common = {"computeResource": cr, "createdTime": start, "key": 0, "chainId": 0, "userName": ""}
        em.PostEvent(vim.event.HostConnectionLostEvent(host=host(h0), **common))
        em.PostEvent(vim.event.DasHostFailedEvent(failedHost=host(h0), **common))
        em.PostEvent(vim.event.VmRestartedOnAlternateHostEvent(vm=vm(vm1), host=host(h1), sourceHost=host(h0), **common))
        em.PostEvent(vim.event.NotEnoughResourcesToStartVmEvent(vm=vm(vm0), host=host(h0), reason="insufficient resources",
                                                                **common))
        WaitForTask(vm1.RelocateVM_Task(spec=vim.vm.RelocateSpec(host=h1)))
        WaitForTask(vm0.PowerOffVM_Task())
        end = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=1)
        ids = {"h0": h0._moId, "h1": h1._moId, "h2": h2._moId, "vm0": vm0._moId, "vm1": vm1._moId}
        yield {"si": si, "before": before, "start": start, "end": end, "ids": ids, "port": s.port}


def test_scripted_incident_in_the_simulator_has_no_unexplained_difference(incident: dict[str, Any]) -> None:
    si, ids = incident["si"], incident["ids"]
    r = io.replay(si, "DC0_C0", incident["start"], incident["end"])
    assert [dict(f) for f in r.faults] == [{"type": "host_failure", "host": ids["h0"], "at": 0.0}]
    assert r.observed[ids["vm1"]].result == "restarted" and r.observed[ids["vm1"]].host == ids["h1"]
    assert r.observed[ids["vm0"]].result == "not restarted"
    # The engine, from the inventory wound back to before the failure:
    assert r.predicted[ids["vm1"]].result == "restarted" and r.predicted[ids["vm1"]].host == ids["h1"]
    assert r.predicted[ids["vm0"]].result == "not restarted"
    assert r.predicted[ids["vm0"]].reason == "insufficientResources"
    assert r.differences == () and r.agrees
    # The inventory as it was: vm1 back on H0, vm0 running there — said, not silent.
    assert r.inventory.vm(ids["vm1"]).host == ids["h0"]
    assert r.inventory.vm(ids["vm0"]).power_state == "poweredOn"
    text = "\n".join(r.assumptions)
    assert f"moved back from {ids['h1']} (DC0_C0_H1) to {ids['h0']} (DC0_C0_H0)" in text
    assert f"{ids['vm0']} (DC0_C0_RP0_VM0) taken as powered on" in text
    # The simulator's own events (power operations, reconfigurations) are counted, not used.
    assert r.ignored.get("VmPoweredOffEvent") == 1
    assert "no difference: HA did what the engine predicts" in r.text()

    # The same from the exported JSON and the inventory read before the incident.
    exported = io.export_events(si, "DC0_C0", incident["start"], incident["end"])
    json.dumps(exported)  # JSON-able as it is
    r2 = io.replay_events(incident["before"], exported)
    assert (r2.predicted, r2.observed, r2.differences) == (r.predicted, r.observed, ())


def test_a_placement_the_engine_refuses_is_a_difference_with_its_reason(incident: dict[str, Any]) -> None:
    ids = incident["ids"]
    events = io.export_events(incident["si"], "DC0_C0", incident["start"], incident["end"])
    for e in events:  # as if vCenter had restarted vm1 on H2 (445 MB free: too little for 650 MB)
        if e["type"] == "VmRestartedOnAlternateHostEvent":
            e["host"] = {"id": ids["h2"], "name": "DC0_C0_H2"}
    r = io.replay_events(incident["before"], events)
    (d,) = r.differences
    assert (d.vm, d.kind, d.explained) == (ids["vm1"], "placement", True)
    assert f"the engine restarts it on {ids['h1']} (DC0_C0_H1), vCenter did on {ids['h2']} (DC0_C0_H2)" in d.explanation
    assert f"{ids['h2']} (DC0_C0_H2): refused" in d.explanation  # the engine's per-host verdict
    assert "difference: " in r.text()


def test_cli_replay_live_and_export(incident: dict[str, Any], tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GOVC_")}
    env.update({"GOVC_URL": f"http://127.0.0.1:{incident['port']}/sdk", "GOVC_USERNAME": "user",
                "GOVC_PASSWORD": "pass"})
    saved = tmp_path / "incident.json"
    done = subprocess.run(
        [sys.executable, "-m", "hapolicy", "replay", "--cluster", "DC0_C0", "--start", incident["start"].isoformat(),
         "--end", incident["end"].isoformat(), "--export", str(saved), "--check"],
        capture_output=True, text=True, timeout=120, env=env, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stdout + done.stderr  # --check: no difference
    assert "no difference: HA did what the engine predicts" in done.stdout
    events = json.loads(saved.read_text(encoding="utf-8"))["events"]
    assert [e["type"] for e in events if e["type"].startswith(("Das", "VmRestarted", "NotEnough"))] == [
        "DasHostFailedEvent", "VmRestartedOnAlternateHostEvent", "NotEnoughResourcesToStartVmEvent"]


# ---------------------------------------------------------------- offline: the event mapping


def lab_events() -> list[dict[str, Any]]:
    return [
        {"type": "HostConnectionLostEvent", "createdTime": at(0), "host": {"id": "host-21", "name": "esx-01.lab.local"}},
        {"type": "DasHostIsolatedEvent", "createdTime": at(5), "isolatedHost": {"name": "esx-02.lab.local"}},
        {"type": "esx.problem.storage.apd.start", "createdTime": at(10), "datastore": {"name": "nfs-bronze-01"}},
        {"type": "DasHostFailedEvent", "createdTime": at(15), "failedHost": {"id": "host-21", "name": "esx-01.lab.local"}},
        {"type": "esx.problem.scsi.device.state.permanentloss", "createdTime": at(20), "datastore": "datastore-12"},
        {"type": "DasAgentUnavailableEvent", "createdTime": at(25)},
        {"type": "VmDasBeingResetEvent", "createdTime": at(30), "vm": {"id": "vm-105", "name": "app02"}},
        {"type": "HostConnectionLostEvent", "createdTime": at(40), "host": "host-24"},
        {"type": "esx.clear.storage.apd.exit", "createdTime": at(70), "datastore": {"name": "nfs-bronze-01"}},
        {"type": "VmMessageEvent", "createdTime": at(80)},
        {"type": "VmRestartedOnAlternateHostEvent", "createdTime": at(31), "vm": {"id": "vm-100", "name": "dc01"},
         "host": {"id": "host-22"}, "sourceHost": {"id": "host-21"}},
    ]


def test_each_event_type_maps_to_its_fault() -> None:
    inv = ha.Inventory.load(LAB)
    r = io.replay_events(inv, lab_events())
    # t = 0 is the earliest fault: host-21's connection loss, which HA declared a failure at +15 s.
    assert r.start == T0
    assert [dict(f) for f in r.faults] == [
        {"type": "host_failure", "host": "host-21", "at": 0.0},
        {"type": "isolation", "host": "host-22", "at": 5.0},  # by name
        {"type": "datastore_apd", "datastore": "datastore-13", "at": 10.0, "until": 70.0},
        {"type": "datastore_pdl", "datastore": "datastore-12", "at": 20.0},
        {"type": "guest_heartbeat_loss", "vm": "vm-105", "at": 30.0},
    ]
    notes = "\n".join(r.notes)
    assert "DasAgentUnavailableEvent" in notes and "not simulated" in notes
    assert "host-24 (esx-04.lab.local) (HostConnectionLostEvent) but HA declared no failure" in notes
    assert r.ignored == {"VmMessageEvent": 1}
    assert r.observed["vm-105"].result == "reset" and r.observed["vm-105"].time == 30.0
    assert r.observed["vm-100"].host == "host-22" and r.observed["vm-100"].time == 31.0
    assert set(EVENT_MEANINGS) >= {"HostConnectionLostEvent", "DasHostFailedEvent", "DasHostIsolatedEvent",
                                   "DasAgentUnavailableEvent", "VmRestartedOnAlternateHostEvent",
                                   "NotEnoughResourcesToStartVmEvent", "VmDasBeingResetEvent",
                                   "DasClusterIsolatedEvent"}


def test_cluster_isolation_isolates_every_host() -> None:
    inv = ha.Inventory.load(LAB)
    r = io.replay_events(inv, [{"type": "DasClusterIsolatedEvent", "createdTime": at(0)}])
    assert sorted(f["host"] for f in r.faults if f["type"] == "isolation") == [h.id for h in inv.hosts]


def test_missing_outcomes_and_unknown_vms_are_differences() -> None:
    inv = ha.Inventory.load(LAB)
    events = [
        {"type": "DasHostFailedEvent", "createdTime": at(0), "failedHost": {"id": "host-21"}},
        # The README's plan: vm-100 restarts on host-22 when host-21 fails.
        {"type": "VmRestartedOnAlternateHostEvent", "createdTime": at(20), "vm": {"id": "vm-100"},
         "host": {"id": "host-22"}},
        {"type": "VmRestartedOnAlternateHostEvent", "createdTime": at(21), "vm": {"id": "vm-999", "name": "ghost"},
         "host": {"id": "host-22"}},
    ]
    r = io.replay_events(inv, events)
    by_vm = {d.vm: d for d in r.differences}
    assert "vm-100" not in by_vm  # agrees
    # host-21's other protected VMs restart in the engine, vCenter logged nothing for them.
    assert {"vm-104", "vm-108", "vm-112"} <= set(by_vm)
    assert "vCenter logged no outcome for it" in by_vm["vm-104"].explanation and by_vm["vm-104"].explained
    (ghost,) = r.unexplained
    assert "ghost" in ghost.explanation and "not in the inventory" in ghost.explanation


def test_bad_events_are_refused_with_their_path(tmp_path: Path) -> None:
    inv = ha.Inventory.load(LAB)
    with pytest.raises(ha.InventoryError) as err:
        io.replay_events(inv, [{"createdTime": at(0)}, {"type": "DasHostFailedEvent", "createdTime": "yesterday"}])
    assert [p for p, _ in err.value.problems] == ["events[0]", "events[1].createdTime"]
    bad = tmp_path / "events.json"
    bad.write_text("{not json", encoding="utf-8")
    with pytest.raises(ha.InventoryError, match="not a readable events file"):
        io.replay_events(inv, bad)


def test_cli_replay_offline(tmp_path: Path) -> None:
    events = tmp_path / "incident.json"
    events.write_text(json.dumps({"events": lab_events()[:4]}), encoding="utf-8")
    run = [sys.executable, "-m", "hapolicy", "replay", str(LAB), str(events)]
    done = subprocess.run(run, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "t=+0.0s host_failure host-21 (esx-01.lab.local)" in done.stdout
    done = subprocess.run([*run, "--json", "--check"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 1  # vCenter logged no restart for host-21's VMs: differences
    doc = json.loads(done.stdout)
    assert doc["schema_version"] == 1 and doc["faults"][0] == {"type": "host_failure", "host": "host-21", "at": 0.0}
    assert any(d["vm"] == "vm-104" for d in doc["differences"])
    done = subprocess.run([sys.executable, "-m", "hapolicy", "replay", str(LAB)], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 2 and "give INV EVENTS.json" in done.stderr
