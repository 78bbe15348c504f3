"""vCenter adapter (hapolicy.io.vsphere): against govmomi's vCenter simulator, and recorded
PropertyCollector results for what the simulator does not model.

The simulator (tests/vcsim: Debian's golang-go + golang-github-vmware-govmomi-dev) models
hosts, VMs, datastores, reservations, power operations, maintenance mode, DRS rules and
groups and per-VM HA overrides, and all of them are set here through the API. It does NOT
model vSphere HA itself: a cluster's ``dasConfig`` stays empty, hosts have no FDM state
(``runtime.dasHostState``) and VMs no memory overhead. Our launcher's ``-ha POLICY`` flag
writes those onto the simulator's objects before serving (tests/vcsim/ha.go), so the adapter
still reads them over SOAP; standby and unreachable hosts, FT pairs, agent VMs, NFS datastores
and the overhead fallbacks come from tests/fixtures/vsphere/edited-lab.json, replayed through
a stand-in ServiceInstance (hapolicy.io.vsphere.replay). Without the ``go`` toolchain only
the simulator tests are skipped (they fail instead when HAPOLICY_REQUIRE_VCSIM is set).
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import hapolicy as ha
from hapolicy import io

pyVmomi = pytest.importorskip("pyVmomi")
from pyVmomi import vim  # noqa: E402

from tests.vcsim import launch  # noqa: E402

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "vsphere"


@pytest.fixture(scope="session")
def vcsim_binary() -> Path:
    try:
        return launch.build()
    except launch.ToolchainMissing as exc:
        if os.environ.get("HAPOLICY_REQUIRE_VCSIM"):  # CI: a missing toolchain is a failure
            raise
        pytest.skip(f"vCenter simulator tests need Go: {exc}")


@pytest.fixture
def sim(vcsim_binary: Path) -> Iterator[Any]:
    """A fresh simulator (the VPX model: 1 datacenter, cluster DC0_C0 with 3 hosts) per test."""
    with launch.start(vcsim_binary, "-vms", "4") as s:
        si = s.connect()
        yield si


def text(assumptions: list[io.Assumption]) -> str:
    return "\n".join(map(str, assumptions))


def count_calls(si: Any, monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    calls: Counter[str] = Counter()
    stub = si._stub
    real = stub.InvokeMethod

    def invoke(mo: Any, info: Any, args: Any) -> Any:
        calls[info.name] += 1
        return real(mo, info, args)

    monkeypatch.setattr(stub, "InvokeMethod", invoke)
    return calls


# ---------------------------------------------------------------- the simulator


def test_simulator_inventory_matches_vcenter(sim: Any) -> None:
    inv, assumptions = io.read_vsphere(sim, "DC0_C0")
    cluster, hosts, vms = launch.cluster_objects(sim)

    assert [h.id for h in inv.hosts] == sorted(h._moId for h in hosts)
    for h in hosts:
        got = inv.host(h._moId)
        hw = h.summary.hardware
        assert (got.name, got.cpu_mhz, got.memory_mb) == (h.name, hw.cpuMhz * hw.numCpuCores, hw.memorySize // 2**20)
        assert str(got.state) == "connected" and not got.maintenance and not got.standby
        assert set(got.datastores) == {d._moId for d in h.datastore}
        assert set(got.networks or ()) == {n._moId for n in h.network}

    assert len(inv.vms) == len(vms) == 4
    for v in vms:
        got = inv.vm(v._moId)
        assert (got.name, got.host, str(got.power_state)) == (v.name, v.runtime.host._moId, v.runtime.powerState)
        ds_name = v.config.files.vmPathName.split("]")[0][1:]
        assert inv.datastore(got.home_datastore).name == ds_name
        assert (got.cpu_reservation_mhz, got.memory_reservation_mb) == (0, 0)

    assert [d.id for d in inv.datastores] == sorted(d._moId for d in cluster.datastore)
    assert str(inv.config.version) == "6.5"  # the simulator's content.about.version is 6.5.0

    # What the simulator does not model is assumed — and said.
    t = text(assumptions)
    assert "no vSphere HA configuration (dasConfig)" in t
    assert "no memory overhead" in t
    assert "no vSphere HA agent state" in t
    assert inv.config.admission_control.to_dict() == {"policy": "percentage", "host_failures": 1}


def test_larger_model_counts(vcsim_binary: Path) -> None:
    with launch.start(vcsim_binary, "-cluster-hosts", "6", "-vms", "9", "-datastores", "3") as s:
        inv = io.from_vsphere(s.connect(), "DC0_C0")
    assert (len(inv.hosts), len(inv.vms), len(inv.datastores)) == (6, 9, 3)
    assert all(len(h.datastores) == 3 for h in inv.hosts)


def test_changes_made_through_the_api_are_read(sim: Any) -> None:
    launch.apply_lab_changes(sim)
    inv = io.from_vsphere(sim, "DC0_C0")
    cluster, (h0, h1, h2), (vm0, vm1, vm2, vm3) = launch.cluster_objects(sim)
    h0, h1, h2 = h0._moId, h1._moId, h2._moId
    v0, v1, v2, v3 = vm0._moId, vm1._moId, vm2._moId, vm3._moId

    assert inv.host(h2).maintenance is True
    a = inv.vm(v0)
    assert (a.host, a.cpu_reservation_mhz, a.memory_reservation_mb) == (h0, 1000, 512)
    assert (str(a.restart_priority), str(a.isolation_response)) == ("highest", "shutdown")
    assert inv.vm(v1).memory_reservation_mb == vm1.config.hardware.memoryMB  # locked to max
    c = inv.vm(v2)
    assert str(c.restart_priority) == "disabled"
    assert c.vm_monitoring is not None and c.vm_monitoring["mode"] == "vmMonitoringDisabled"
    assert c.vmcp is not None and c.vmcp["apd"] == "warning"  # PDL 'clusterDefault' is not an override
    d = inv.vm(v3)
    assert (str(d.power_state), d.host) == ("poweredOff", h1)

    rules = {(r.name, r.vm): r.to_dict() for r in inv.rules}
    assert rules[("separate-01", None)] == {"type": "vmAntiAffinity", "name": "separate-01", "enabled": True,
                                            "vms": [v0, v1]}
    assert rules[("together-23", None)]["enabled"] is False
    assert rules[("app-on-left", None)] == {"type": "vmHostMust", "name": "app-on-left", "enabled": True,
                                            "vms": [v0, v2], "hosts": [h0, h1]}
    assert rules[("app-off-right", None)]["type"] == "vmHostShouldNot"
    assert rules[("app-after-db", v0)]["depends_on"] == [v1]
    assert rules[("app-after-db", v2)]["depends_on"] == [v1]


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        ("slot", {"policy": "slot", "host_failures": 1}),
        ("slot-fixed", {"policy": "slot", "host_failures": 1, "slot_cpu_mhz": 500, "slot_memory_mb": 1024}),
        ("percentage", {"policy": "percentage", "cpu_percent": 25.0, "memory_percent": 30.0}),
        ("auto", {"policy": "percentage", "host_failures": 1}),
        ("failover-hosts", "hosts"),
        ("disabled", {"policy": "disabled"}),
    ],
)
def test_admission_control_policies_over_soap(vcsim_binary: Path, policy: str, expected: Any) -> None:
    with launch.start(vcsim_binary, "-ha", policy) as s:
        si = s.connect()
        inv, assumptions = io.read_vsphere(si, "DC0_C0")
        _, hosts, _ = launch.cluster_objects(si)
    if expected == "hosts":
        expected = {"policy": "failoverHosts", "hosts": [hosts[-1]._moId]}
    assert inv.config.admission_control.to_dict() == expected
    assert "cluster.admission_control" not in {a.path for a in assumptions}


def test_injected_ha_configuration_is_read(vcsim_binary: Path) -> None:
    with launch.start(vcsim_binary, "-ha", "slot") as s:
        si = s.connect()
        inv, assumptions = io.read_vsphere(si, "DC0_C0")
        heartbeat_ds = launch.cluster_objects(si)[0].datastore[0]._moId
    cfg = inv.config
    assert (cfg.host_monitoring, str(cfg.isolation_response), str(cfg.restart_priority)) == (True, "powerOff", "high")
    assert cfg.advanced_options == {"das.isolationaddress0": "192.168.0.1", "das.heartbeatDsPerHost": "3"}
    assert str(cfg.heartbeat_datastores.policy) == "userSelectedDs"
    assert cfg.heartbeat_datastores.preferred == (heartbeat_ds,)
    assert dict(cfg.vmcp) == {"apd": "restartConservative", "pdl": "restartAggressive", "apd_delay_s": 120,
                              "apd_cleared": "reset"}
    assert (cfg.vm_monitoring["mode"], cfg.vm_monitoring["sensitivity"], cfg.vm_monitoring["min_uptime_s"]) == (
        "vmMonitoringOnly", "medium", 240)
    assert all(v.memory_overhead_mb == 150 for v in inv.vms)  # runtime.memoryOverhead, bytes
    assert assumptions and "dasConfig" not in text(assumptions) and "overhead" not in text(assumptions)


def test_collector_calls_do_not_grow_with_the_inventory(vcsim_binary: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    counts = []
    for size in ("2", "12"):
        with launch.start(vcsim_binary, "-vms", size, "-cluster-hosts", size) as s:
            si = s.connect()
            calls = count_calls(si, monkeypatch)
            inv = io.from_vsphere(si, "DC0_C0")
            assert len(inv.vms) == int(size)
            counts.append(dict(calls))
    assert counts[0] == counts[1]
    assert counts[0]["RetrievePropertiesEx"] == 5  # clusters, the cluster, hosts, VMs, datastores
    assert set(counts[0]) <= {"RetrievePropertiesEx", "RetrieveContent", "CreateContainerView", "Destroy",
                              "RetrieveServiceContent"}


def test_small_pages(sim: Any) -> None:
    # The simulator answers in one page whatever maxObjects says; test_replayed_pages pages.
    assert io.read_vsphere(sim, "DC0_C0", page_size=1).inventory == io.from_vsphere(sim, "DC0_C0")


def test_unknown_cluster_lists_the_clusters(sim: Any) -> None:
    with pytest.raises(ha.InventoryError, match=r"no cluster named 'prod'; the vCenter has 'DC0_C0' \(.+\)"):
        io.read_vsphere(sim, "prod")
    by_id = launch.cluster_objects(sim)[0]._moId
    assert io.from_vsphere(sim, by_id).config.name == "DC0_C0"
    assert io.from_vsphere(sim, "dc0_c0").config.name == "DC0_C0"


def test_record_and_replay_round_trip(vcsim_binary: Path, tmp_path: Path) -> None:
    with launch.start(vcsim_binary, "-vms", "4", "-ha", "auto") as s:
        si = s.connect()
        launch.apply_lab_changes(si)
        live = io.read_vsphere(si, "DC0_C0")
        rec = io.vsphere.record_vsphere(si, "DC0_C0", tmp_path / "rec.json")
    assert json.loads((tmp_path / "rec.json").read_text()) == json.loads(json.dumps(rec))
    replayed = io.read_vsphere(io.vsphere.replay(tmp_path / "rec.json"), "DC0_C0")
    assert replayed == live


# ---------------------------------------------------------------- recorded fixtures (no Go needed)


def replayed(name: str, **kw: Any) -> io.Loaded:
    return io.read_vsphere(io.vsphere.replay(FIXTURES / name), "DC0_C0", **kw)


def test_recorded_simulator_lab() -> None:
    inv, _ = replayed("vcsim-lab.json")
    assert inv.summary()["hosts"] == 3 and inv.summary()["vms"] == 4
    assert inv.config.admission_control.to_dict() == {
        "policy": "slot", "host_failures": 1, "slot_cpu_mhz": 500, "slot_memory_mb": 1024}
    assert len(inv.rules) == 6
    assert ha.elect(inv).master is not None


def test_what_the_simulator_cannot_produce() -> None:
    inv, assumptions = replayed("edited-lab.json")
    hosts = {h.name: h for h in inv.hosts}
    assert hosts["DC0_C0_H3"].standby is True
    assert str(hosts["DC0_C0_H4"].state) == "notResponding"
    t = text(assumptions)
    assert "'fdmUnreachable'" in t and "DC0_C0_H4" in t and "'hostDown'" in t

    nfs = next(d for d in inv.datastores if d.name == "LocalDS_1")
    assert (str(nfs.type), nfs.backing) == ("NFS", "filer-b.lab.local")

    vms = {v.name: v for v in inv.vms}
    assert (str(vms["DC0_C0_RP0_VM4"].role), str(vms["DC0_C0_RP0_VM5"].role)) == ("ftPrimary", "ftSecondary")
    agent = vms["DC0_C0_RP0_VM6"]
    assert (str(agent.role), str(agent.restart_priority), str(agent.isolation_response)) == ("agent", "low", "powerOff")
    assert vms["DC0_C0_RP0_VM2"].memory_overhead_mb == 77  # summary.quickStats fallback
    assert vms["DC0_C0_RP0_VM5"].memory_overhead_mb == 0
    assert "consumed overhead" in t and "DC0_C0_RP0_VM5" in t
    assert vms["DC0_C0_RP0_VM3"].clean_power_off is True
    assert str(inv.config.version) == "7.0"  # about.version 7.0.3
    assert inv.config.admission_control.to_dict() == {"policy": "percentage", "cpu_percent": 25.0, "memory_percent": 30.0}

    with_default = replayed("edited-lab.json", defaults={"memory_overhead_mb": 64})[0]
    assert {v.name: v for v in with_default.vms}["DC0_C0_RP0_VM5"].memory_overhead_mb == 64


def test_replay_counts_collector_calls() -> None:
    si = io.vsphere.replay(FIXTURES / "edited-lab.json")
    io.read_vsphere(si, "DC0_C0")
    assert Counter(si._stub.calls)["RetrievePropertiesEx"] == 5


def test_replayed_pages() -> None:
    si = io.vsphere.replay(FIXTURES / "edited-lab.json")
    paged = io.read_vsphere(si, "DC0_C0", page_size=2).inventory
    calls = Counter(si._stub.calls)
    assert calls["RetrievePropertiesEx"] == 5 and calls["ContinueRetrievePropertiesEx"] == 2 + 3
    assert paged == replayed("edited-lab.json").inventory


def test_property_paths_an_older_vcenter_lacks_are_dropped() -> None:
    from pyVmomi import vmodl

    from hapolicy.io import vsphere

    class OldCollector:
        """Faults like a vCenter whose API predates runtime.cleanPowerOff."""

        def __init__(self) -> None:
            self.asked: list[list[str]] = []

        def RetrievePropertiesEx(self, specSet: Any, options: Any) -> Any:  # noqa: N802, N803
            paths = list(specSet[0].propSet[0].pathSet)
            self.asked.append(paths)
            if "runtime.cleanPowerOff" in paths:
                raise vmodl.query.InvalidProperty(name="runtime.cleanPowerOff")
            PC = vmodl.query.PropertyCollector
            return PC.RetrieveResult(objects=[PC.ObjectContent(
                obj=vim.VirtualMachine("vm-1"), propSet=[vmodl.DynamicProperty(name="name", val="db01")])])

    pc = OldCollector()
    specs = [vmodl.query.PropertyCollector.ObjectSpec(obj=vim.VirtualMachine("vm-1"))]
    got = vsphere._retrieve(pc, vmodl, specs, vim.VirtualMachine, ["name", "runtime.cleanPowerOff"], 100)
    assert got == {"vm-1": {"name": "db01"}}
    assert pc.asked == [["name", "runtime.cleanPowerOff"], ["name"]]


def test_vsphere_version_mapping() -> None:
    from hapolicy.io import _common

    assert [_common.version(v) for v in ("8.0.3", "7.0.3", "6.7.0", "6.6", "6.5.0", "5.5", "5.1.0", "4.1", "9.0")] == [
        "8.0", "7.0", "6.7", "6.5", "6.5", "5.5", "5.1", "5.0", "8.0"]
    assert _common.version("unknown") is None


def test_bad_recording_and_arguments(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(ha.InventoryError, match="not a readable recording"):
        io.vsphere.replay(bad)
    with pytest.raises(ha.InventoryError, match="not a hapolicy-vsphere-recording/1"):
        io.vsphere.replay({"format": "other"})
    si = io.vsphere.replay(FIXTURES / "vcsim-lab.json")
    with pytest.raises(ha.ArgumentError):
        io.read_vsphere(si, "")
    with pytest.raises(ha.ArgumentError, match="unknown defaults"):
        io.read_vsphere(si, "DC0_C0", defaults={"overhead": 1})


def test_missing_pyvmomi_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "pyVmomi", None)
    with pytest.raises(ImportError, match=r"pip install 'hapolicy\[vsphere\]'"):
        io.read_vsphere(object(), "DC0_C0")
