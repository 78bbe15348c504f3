"""vCenter adapter (hapolicy.io.vsphere): against govmomi's vCenter simulator, and recorded
PropertyCollector results for what the simulator does not model.

The simulator (tests/vcsim: Debian's golang-go + golang-github-vmware-govmomi-dev) models
hosts, VMs, datastores, reservations, power operations, maintenance mode, DRS rules and
groups and per-VM HA overrides, and all of them are set here through the API. Layouts beyond
the lab: several datacenters and clusters, standalone hosts, child resource pools, storage
pods, clusters in folders (launcher flags -dc, -clusters, -standalone-hosts, -pools, -pods,
-folders), clusters renamed and sharing a name across datacenters, templates, and races
(vMotion, power-off, rename) made deterministic by running the change between the adapter's
PropertyCollector calls. vcsim (govmomi 0.24) enters maintenance mode without evacuating
and moves a VM's host without its resource pool, which gives the inconsistent states a read
racing a vMotion sees; it cannot put a host in standby, lose a VM's host or remove a cluster,
and its collector neither pages nor checks TraversalSpec types — those cases are replayed.
It does NOT
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

if os.environ.get("HAPOLICY_REQUIRE_VCSIM"):  # CI: a missing pyVmomi is a failure, not a skip
    import pyVmomi
else:
    pyVmomi = pytest.importorskip("pyVmomi")
from pyVim.task import WaitForTask  # noqa: E402
from pyVmomi import vim, vmodl  # noqa: E402

from tests.vcsim import launch  # noqa: E402

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "vsphere"


@pytest.fixture
def sim(vcsim_binary: Path) -> Iterator[Any]:
    """A fresh simulator (the VPX model: 1 datacenter, cluster DC0_C0 with 3 hosts) per test."""
    with launch.start(vcsim_binary, "-vms", "4") as s:
        si = s.connect()
        yield si


def text(assumptions: list[io.Assumption]) -> str:
    return "\n".join(map(str, assumptions))


view_types: dict[str, list[Any]] = {}


def collector_specs(si: Any, monkeypatch: pytest.MonkeyPatch) -> list[list[Any]]:
    """The FilterSpecs of every RetrievePropertiesEx ``si`` makes from now on (and the types of
    every ContainerView it creates, in ``view_types``)."""
    seen: list[list[Any]] = []
    stub = si._stub
    real = stub.InvokeMethod

    def invoke(mo: Any, info: Any, args: Any) -> Any:
        if info.name == "RetrievePropertiesEx":
            seen.append(list(args[0]))
        out = real(mo, info, args)
        if info.name == "CreateContainerView":
            view_types[out._moId] = list(args[1])
        return out

    monkeypatch.setattr(stub, "InvokeMethod", invoke)
    return seen


def prop_types(spec: Any) -> list[tuple[str, list[str]]]:
    return [(t.type.__name__.rpartition(".")[2], list(t.pathSet)) for t in spec.propSet]


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
    assert [d.name for d in inv.datastores] == [d.name for d in sorted(cluster.datastore, key=lambda d: d._moId)]
    assert inv.config.name == cluster.name
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


def test_collector_calls_do_not_grow_with_the_inventory(vcsim_binary: Path) -> None:
    counts = []
    for size in ("2", "12"):
        with launch.start(vcsim_binary, "-vms", size, "-cluster-hosts", size) as s:
            si = s.connect()
            calls = launch.count_calls(si, by="name")
            inv = io.from_vsphere(si, "DC0_C0")
            assert len(inv.vms) == int(size)
            counts.append(dict(calls))
    assert counts[0] == counts[1]
    assert counts[0]["RetrievePropertiesEx"] == 2  # where the cluster is; then everything in one call
    assert set(counts[0]) <= {"RetrievePropertiesEx", "RetrieveContent", "CreateContainerView", "Destroy",
                              "RetrieveServiceContent"}


def test_one_call_reads_cluster_hosts_vms_and_datastores(sim: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    specs = collector_specs(sim, monkeypatch)
    inv = io.from_vsphere(sim, "DC0_C0")
    assert len(specs) == 2
    (locate,), (snapshot,) = specs
    assert {t for t, _ in prop_types(locate)} == {"Folder", "Datacenter", "ClusterComputeResource"}
    # The second call alone yields every host, VM and datastore property the inventory holds.
    assert {t for t, _ in prop_types(snapshot)} == {"ClusterComputeResource", "HostSystem", "VirtualMachine",
                                                    "Datastore"}
    view = next(o.obj for o in snapshot.objectSet if isinstance(o.obj, vim.view.ContainerView))
    assert {t.__name__ for t in view_types[view._moId]} == {"vim.HostSystem", "vim.VirtualMachine"}
    assert len(inv.hosts) == 3 and len(inv.vms) == 4 and len(inv.datastores) == 1


def test_small_pages(sim: Any) -> None:
    # The simulator answers in one page whatever maxObjects says; test_replayed_pages pages.
    assert io.read_vsphere(sim, "DC0_C0", page_size=1).inventory == io.from_vsphere(sim, "DC0_C0")


def test_unknown_cluster_lists_the_clusters(sim: Any) -> None:
    with pytest.raises(ha.InventoryError, match=r"no cluster named 'prod'; the vCenter has 'DC0/DC0_C0' \(.+\)"):
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
    # The recording keeps where the cluster sits: it is found by its datacenter-qualified name.
    assert io.read_vsphere(io.vsphere.replay(rec), "DC0/DC0_C0") == live
    with pytest.raises(ha.InventoryError, match=r"no cluster named 'DC9/DC0_C0'; the vCenter has 'DC0/DC0_C0'"):
        io.read_vsphere(io.vsphere.replay(rec), "DC9/DC0_C0")


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
    assert Counter(si._stub.calls)["RetrievePropertiesEx"] == 2


def test_replayed_pages() -> None:
    si = io.vsphere.replay(FIXTURES / "edited-lab.json")
    paged = io.read_vsphere(si, "DC0_C0", page_size=2).inventory
    calls = Counter(si._stub.calls)
    rec = json.loads((FIXTURES / "edited-lab.json").read_text())
    # The locating call finds the cluster, its host folder and its datacenter: 3 objects, 2 pages.
    # The snapshot: the cluster, its hosts, VMs and datastores, two per page.
    snapshot = 1 + len(rec["hosts"]) + len(rec["vms"]) + len(rec["datastores"])
    assert calls["RetrievePropertiesEx"] == 2
    assert calls["ContinueRetrievePropertiesEx"] == (2 - 1) + (-(-snapshot // 2) - 1)
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
    got = vsphere._retrieve(pc, vmodl, specs, {vim.VirtualMachine: ["name", "runtime.cleanPowerOff"],
                                               vim.HostSystem: ["name"]}, 100)
    assert got == {"VirtualMachine": {"vm-1": {"name": "db01"}}, "HostSystem": {}}
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
    with pytest.raises(ImportError, match=r"pip install pyvmomi"):
        io.read_vsphere(object(), "DC0_C0")


# ---------------------------------------------------------------- layouts beyond the lab

LAYOUT = ("-dc", "2", "-clusters", "2", "-standalone-hosts", "1", "-pools", "1", "-pods", "1", "-folders", "1",
          "-vms", "2")


def by_id(objs: Any) -> list[str]:
    return sorted(o._moId for o in objs)


def cluster_vms(si: Any, cluster: Any) -> list[Any]:
    """The cluster's VMs and templates as vCenter's own view of it holds them (its resource
    pools, recursively, and the VMs registered on its hosts)."""
    return launch.objects(si, vim.VirtualMachine, cluster)


def test_several_datacenters_clusters_pools_pods_and_folders(vcsim_binary: Path) -> None:
    with launch.start(vcsim_binary, *LAYOUT) as s:
        si = s.connect()
        everything = launch.clusters(si)
        assert len(everything) == 4
        standalone = [h._moId for h in launch.find(si, vim.Datacenter, "DC0").hostFolder.childEntity
                      if isinstance(h, vim.ComputeResource) and not isinstance(h, vim.ClusterComputeResource)
                      for h in h.host]
        assert standalone  # the layout has a host outside every cluster
        for cluster in everything:
            dc = launch.datacenter_of(cluster).name
            inv, assumptions = io.read_vsphere(si, f"{dc}/{cluster.name}")
            assert inv.config.name == cluster.name
            assert [h.id for h in inv.hosts] == by_id(cluster.host)
            assert {h.name for h in inv.hosts} == {h.name for h in cluster.host}
            # Independently of views: every VM of the vCenter whose host is one of the cluster's.
            vms = [v for v in launch.all_vms(si) if v.runtime.host in cluster.host]
            assert len(vms) >= 2
            assert sorted(v.id for v in inv.vms) == by_id(vms)
            assert {v.name for v in inv.vms} == {v.name for v in vms}
            assert [d.id for d in inv.datastores] == by_id(cluster.datastore)
            assert not set(standalone) & {h.id for h in inv.hosts}
            assert all(v.host in {h._moId for h in cluster.host} for v in inv.vms)


def test_same_cluster_name_in_two_datacenters(vcsim_binary: Path) -> None:
    with launch.start(vcsim_binary, *LAYOUT) as s:
        si = s.connect()
        c0, c1 = launch.find(si, vim.ClusterComputeResource, "DC0_C1"), launch.find(si, vim.ClusterComputeResource,
                                                                                      "DC1_C0")
        WaitForTask(c0.Rename_Task("prod"))
        WaitForTask(c1.Rename_Task("prod"))

        with pytest.raises(ha.InventoryError) as err:
            io.read_vsphere(si, "prod")
        msg = str(err.value)
        assert "several clusters are named 'prod'" in msg
        assert f"'DC0/prod' ({c0._moId})" in msg and f"'DC1/prod' ({c1._moId})" in msg
        assert "cluster='DC1/prod'" in msg

        for spelling, cluster in (("DC0/prod", c0), ("DC1/prod", c1), ("dc1/PROD", c1), (c0._moId, c0),
                                  ("DC1/F0/prod", c1), ("/F0/DC1/host/F0/prod", c1), ("F0/DC1/F0/prod", c1)):
            inv = io.from_vsphere(si, spelling)
            assert (inv.config.name, [h.id for h in inv.hosts]) == ("prod", by_id(cluster.host)), spelling

        with pytest.raises(ha.InventoryError, match=r"no cluster named 'DC2/prod'; the vCenter has 'DC0/DC0_C0'"):
            io.read_vsphere(si, "DC2/prod")


def test_renamed_cluster(vcsim_binary: Path) -> None:
    with launch.start(vcsim_binary, "-vms", "2") as s:
        si = s.connect()
        cluster = launch.find(si, vim.ClusterComputeResource, "DC0_C0")
        WaitForTask(cluster.Rename_Task("prod-a"))
        with pytest.raises(ha.InventoryError, match=rf"no cluster named 'DC0_C0'; the vCenter has 'DC0/prod-a' "
                                                    rf"\({cluster._moId}\)"):
            io.read_vsphere(si, "DC0_C0")
        inv, assumptions = io.read_vsphere(si, "prod-a")
        assert inv.config.name == "prod-a" and "renamed" not in text(assumptions)
        assert inv.source == f"vCenter http://127.0.0.1:{s.port}/sdk"
        assert inv.assumptions == tuple(assumptions)


def between_calls(si: Any, monkeypatch: pytest.MonkeyPatch, after: int, change: Any) -> list[str]:
    """Runs ``change()`` right after the adapter's ``after``-th RetrievePropertiesEx returned
    (a race made deterministic); returns the methods called, in order."""
    stub = si._stub
    real = stub.InvokeMethod
    calls: list[str] = []

    def invoke(mo: Any, info: Any, args: Any) -> Any:
        out = real(mo, info, args)
        calls.append(info.name)
        if info.name == "RetrievePropertiesEx" and calls.count("RetrievePropertiesEx") == after:
            change()
        return out

    monkeypatch.setattr(stub, "InvokeMethod", invoke)
    return calls


def test_cluster_renamed_while_it_is_read(vcsim_binary: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with launch.start(vcsim_binary, "-vms", "2") as s:
        si, other = s.connect(), s.connect()
        cluster = launch.find(other, vim.ClusterComputeResource, "DC0_C0")
        between_calls(si, monkeypatch, 1, lambda: WaitForTask(cluster.Rename_Task("prod-b")))
        inv, assumptions = io.read_vsphere(si, "DC0_C0")
    assert inv.config.name == "prod-b"
    assert f"the cluster {cluster._moId} was renamed from 'DC0_C0' to 'prod-b' while it was read" in text(assumptions)


def test_vmotion_and_power_off_between_two_reads(vcsim_binary: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with launch.start(vcsim_binary, "-vms", "4") as s:
        si, other = s.connect(), s.connect()
        _, hosts, vms = launch.cluster_objects(other)
        moving, stopping = vms[0], vms[1]
        source = moving.runtime.host._moId
        target = next(h for h in hosts if h._moId != source)

        def change() -> None:
            WaitForTask(moving.RelocateVM_Task(spec=vim.vm.RelocateSpec(host=target)))
            WaitForTask(stopping.PowerOffVM_Task())

        before = io.from_vsphere(si, "DC0_C0")
        # Between the adapter's two calls (after it found the cluster): the one call that reads
        # hosts and VMs sees the moved and stopped VMs whole.
        calls = between_calls(si, monkeypatch, 1, change)
        after, assumptions = io.read_vsphere(si, "DC0_C0")
        assert calls.count("RetrievePropertiesEx") == 2
    assert (before.vm(moving._moId).host, str(before.vm(stopping._moId).power_state)) == (source, "poweredOn")
    assert after.vm(moving._moId).host == target._moId
    assert str(after.vm(stopping._moId).power_state) == "poweredOff"
    assert {v.id for v in after.vms} == {v.id for v in before.vms}
    assert "vms[*].host" not in {a.path for a in assumptions}
    # What the engine makes of it: one powered-on VM fewer to protect.
    plan_before = ha.plan_failover(before, failed_hosts=[source])
    plan_after = ha.plan_failover(after, failed_hosts=[source])
    assert moving._moId in {p.vm for p in plan_before.placements} | {u.vm for u in plan_before.unplaced}
    assert moving._moId not in {p.vm for p in plan_after.placements} | {u.vm for u in plan_after.unplaced}


def test_change_after_the_snapshot_call_is_not_seen(vcsim_binary: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with launch.start(vcsim_binary, "-vms", "2") as s:
        si, other = s.connect(), s.connect()
        _, hosts, vms = launch.cluster_objects(other)
        source = vms[0].runtime.host._moId
        target = next(h for h in hosts if h._moId != source)
        between_calls(si, monkeypatch, 2, lambda: WaitForTask(
            vms[0].RelocateVM_Task(spec=vim.vm.RelocateSpec(host=target))))
        inv = io.from_vsphere(si, "DC0_C0")
    assert inv.vm(vms[0]._moId).host == source


def race_note(assumptions: list[io.Assumption], vm: tuple[str, str]) -> str:
    """The one note on VM ``(name, id)``'s host."""
    notes = [str(a) for a in assumptions if a.path == "vms[*].host" and f"{vm[0]} ({vm[1]})" in a.message]
    assert len(notes) == 1, text(assumptions)
    return notes[0]


def test_powered_on_vm_on_a_host_in_maintenance_is_tolerated(vcsim_binary: Path) -> None:
    # vcsim enters maintenance mode without evacuating: the state a read racing a vMotion sees.
    with launch.start(vcsim_binary, "-vms", "4") as s:
        si = s.connect()
        _, hosts, vms = launch.cluster_objects(si)
        host = vms[0].runtime.host
        hid, hname = host._moId, host.name
        on_it = [(v.name, v._moId) for v in vms if v.runtime.host == host and v.runtime.powerState == "poweredOn"]
        others = {v._moId: v.runtime.host._moId for v in vms if (v.name, v._moId) not in on_it}
        WaitForTask(host.EnterMaintenanceMode_Task(timeout=0))
        inv, assumptions = io.read_vsphere(si, "DC0_C0")
    assert on_it and inv.host(hid).maintenance is True
    for name, moid in on_it:
        got = inv.vm(moid)
        assert (got.name, got.host, str(got.power_state)) == (name, None, "poweredOff")
        note = race_note(assumptions, (name, moid))
        assert f"its host {hid} '{hname}' is in maintenance mode" in note
        assert "kept with no host, as not running in the cluster" in note
    assert {moid: inv.vm(moid).host for moid in others} == others
    # What the engine makes of it: the host in maintenance and the VMs seen on it count for nothing.
    assert inv.summary()["powered_on_vms"] == len(others)


def test_vmotion_out_of_the_cluster_is_tolerated(vcsim_binary: Path) -> None:
    with launch.start(vcsim_binary, *LAYOUT) as s:
        si = s.connect()
        cluster, hosts, vms = launch.cluster_objects(si, "DC0_C0")
        elsewhere = launch.find(si, vim.ClusterComputeResource, "DC0_C1").host[0]
        standalone = launch.find(si, vim.HostSystem, "DC0_H0")
        away, alone = vms[0], vms[1]
        # A vMotion that has moved the VM's host but not yet its resource pool.
        WaitForTask(away.RelocateVM_Task(spec=vim.vm.RelocateSpec(host=elsewhere)))
        WaitForTask(alone.RelocateVM_Task(spec=vim.vm.RelocateSpec(host=standalone)))
        assert away in cluster_vms(si, cluster) and alone in cluster_vms(si, cluster)
        inv, assumptions = io.read_vsphere(si, "DC0/DC0_C0")
        moved = [((v.name, v._moId), h._moId) for v, h in ((away, elsewhere), (alone, standalone))]
    for (name, moid), hid in moved:
        got = inv.vm(moid)
        assert (got.host, str(got.power_state)) == (None, "poweredOff")
        assert f"its host {hid} is not in the cluster" in race_note(assumptions, (name, moid))
    assert len(inv.vms) == len(vms)


def test_templates_are_skipped_and_named(vcsim_binary: Path) -> None:
    with launch.start(vcsim_binary, "-vms", "3") as s:
        si = s.connect()
        _, _, vms = launch.cluster_objects(si)
        WaitForTask(vms[2].PowerOffVM_Task())
        vms[2].MarkAsTemplate()
        assert vms[2] in cluster_vms(si, launch.cluster_objects(si)[0])  # on a host of the cluster
        inv, assumptions = io.read_vsphere(si, "DC0_C0")
        kept, template = {vms[0]._moId, vms[1]._moId}, f"{vms[2].name} ({vms[2]._moId})"
    assert {v.id for v in inv.vms} == kept
    assert f"templates skipped (they never run) (1 object: {template})" in text(assumptions)


def test_escaped_names_are_shown_as_in_the_client(vcsim_binary: Path) -> None:
    # vCenter escapes '/', '\\' and '%' in entity names; the inventory keeps the names users see.
    with launch.start(vcsim_binary, "-vms", "2") as s:
        si = s.connect()
        _, _, vms = launch.cluster_objects(si)
        WaitForTask(vms[0].Rename_Task("web%2f01 %25 db%5cx"))
        inv = io.from_vsphere(si, "DC0_C0")
        assert inv.vm(vms[0]._moId).name == "web/01 % db\\x"
        assert inv.vm(vms[1]._moId).name == vms[1].name


# ---------------------------------------------------------------- races in recordings (no Go needed)


def edited(name: str, edit: Any) -> dict[str, Any]:
    rec = json.loads((FIXTURES / name).read_text())
    edit(rec)
    return dict(rec)


def vm_named(rec: dict[str, Any], name: str) -> tuple[str, dict[str, Any]]:
    return next((k, v) for k, v in rec["vms"].items() if v.get("name") == name)


def test_powered_on_vm_without_a_host_is_tolerated() -> None:
    rec = edited("vcsim-lab.json", lambda r: vm_named(r, "DC0_C0_RP0_VM0")[1].pop("runtime.host"))
    moid = vm_named(rec, "DC0_C0_RP0_VM0")[0]
    inv, assumptions = io.read_vsphere(io.vsphere.replay(rec), "DC0_C0")
    got = inv.vm(moid)
    assert (got.name, got.host, str(got.power_state)) == ("DC0_C0_RP0_VM0", None, "poweredOff")
    assert f"vCenter reports no host for it: kept with no host" in text(assumptions)
    assert f"DC0_C0_RP0_VM0 ({moid})" in text(assumptions)
    # Rules naming the VM still hold it.
    assert any(moid in (r.vms or ()) for r in inv.rules)


def test_powered_on_vm_on_a_standby_host_is_tolerated() -> None:
    # vcsim cannot put a host in standby; edited-lab.json has DC0_C0_H3 in standby (DPM).
    def onto_standby(r: dict[str, Any]) -> None:
        h3 = next(k for k, v in r["hosts"].items() if v["name"] == "DC0_C0_H3")
        props = vm_named(r, "DC0_C0_RP0_VM0")[1]
        assert props["runtime.powerState"] == "poweredOn"
        props["runtime.host"] = {"_moref": f"vim.HostSystem:{h3}"}

    rec = edited("edited-lab.json", onto_standby)
    moid = vm_named(rec, "DC0_C0_RP0_VM0")[0]
    h3 = next(k for k, v in rec["hosts"].items() if v["name"] == "DC0_C0_H3")
    inv, assumptions = io.read_vsphere(io.vsphere.replay(rec), "DC0_C0")
    got = inv.vm(moid)
    assert (got.host, str(got.power_state)) == (None, "poweredOff")
    assert inv.host(h3).standby is True
    note = race_note(assumptions, ("DC0_C0_RP0_VM0", moid))
    assert f"its host {h3} 'DC0_C0_H3' is in standby" in note
    # The rest of the recording reads as before.
    before = replayed("edited-lab.json").inventory
    assert [v.id for v in inv.vms] == [v.id for v in before.vms]
    assert all(inv.vm(v.id) == v for v in before.vms if v.id != moid)


def test_vm_without_a_datastore_is_left_out_and_named() -> None:
    def strip(r: dict[str, Any]) -> None:
        props = vm_named(r, "DC0_C0_RP0_VM3")[1]
        props.pop("datastore", None)
        props.pop("config.files.vmPathName", None)

    rec = edited("vcsim-lab.json", strip)
    moid = vm_named(rec, "DC0_C0_RP0_VM3")[0]
    inv, assumptions = io.read_vsphere(io.vsphere.replay(rec), "DC0_C0")
    assert moid not in {v.id for v in inv.vms} and len(inv.vms) == 3
    assert f"left out: vCenter reports no datastore for the VM" in text(assumptions)
    assert f"DC0_C0_RP0_VM3 ({moid})" in text(assumptions)


def test_cluster_removed_while_it_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    si = io.vsphere.replay(FIXTURES / "vcsim-lab.json")
    stub = si._stub
    real = stub.InvokeMethod

    def invoke(mo: Any, info: Any, args: Any) -> Any:
        if info.name == "CreateContainerView" and isinstance(args[0], vim.ClusterComputeResource):
            raise vmodl.fault.ManagedObjectNotFound(obj=args[0])
        return real(mo, info, args)

    monkeypatch.setattr(stub, "InvokeMethod", invoke)
    with pytest.raises(ha.InventoryError, match=r"cluster 'DC0_C0' \(\S+\) was removed from vCenter while it was "
                                                r"being read"):
        io.read_vsphere(si, "DC0_C0")


def test_replay_follows_traversal_types() -> None:
    """The stand-in collector applies a TraversalSpec to objects of its type only, as vCenter
    does (vcsim does not check), so a wrong spec in the adapter shows up here."""
    si = io.vsphere.replay(FIXTURES / "vcsim-lab.json")
    content = si.RetrieveContent()
    PC = vmodl.query.PropertyCollector
    rec = json.loads((FIXTURES / "vcsim-lab.json").read_text())
    cluster = vim.ClusterComputeResource(rec["cluster"]["id"], stub=si._stub)

    def ds_via(kind: Any) -> int:
        spec = PC.FilterSpec(
            objectSet=[PC.ObjectSpec(obj=cluster, skip=True, selectSet=[
                PC.TraversalSpec(name="t", type=kind, path="datastore", skip=False)])],
            propSet=[PC.PropertySpec(type=vim.Datastore, pathSet=["name"])])
        result = content.propertyCollector.RetrievePropertiesEx(specSet=[spec], options=PC.RetrieveOptions())
        return 0 if result is None else len(result.objects)

    assert ds_via(vim.ClusterComputeResource) == len(rec["datastores"])
    assert ds_via(vim.HostSystem) == 0


def test_cluster_choice_labels() -> None:
    from hapolicy.io.vsphere import _choose, _labels, _Place

    a = _Place("domain-c1", "prod", "DC1", [], ["east"], [])
    b = _Place("domain-c2", "prod", "DC1", [], ["west"], [])
    c = _Place("domain-c3", "prod", "DC2", ["emea"], [], [])
    assert _labels([a, b, c]) == {"domain-c1": "DC1/east/prod", "domain-c2": "DC1/west/prod",
                                  "domain-c3": "DC2/prod"}
    assert _labels([a, c]) == {"domain-c1": "DC1/prod", "domain-c3": "DC2/prod"}
    with pytest.raises(ha.InventoryError, match=r"'DC1/east/prod' \(domain-c1\), 'DC1/west/prod' \(domain-c2\)"):
        _choose([a, b, c], "DC1/prod")
    assert _choose([a, b, c], "DC1/west/prod") is b
    assert _choose([a, b, c], "emea/DC2/prod") is c
    assert _choose([a, b, c], "domain-c2") is b


def test_orchestration_is_read() -> None:
    """R-ORCH settings: the cluster's default VM readiness and restart priority timeout, per-VM
    readiness (vmOrchestration) and per-VM timeouts (dasVmConfig; -1 = the cluster's)."""
    def orchestrate(r: dict[str, Any]) -> None:
        cfg = r["cluster"]["props"]["configurationEx"]
        cfg["orchestration"] = {"_type": "vim.cluster.OrchestrationInfo", "defaultVmReadiness": {
            "_type": "vim.cluster.VmReadiness", "readyCondition": "guestHbStatusGreen", "postReadyDelay": 10}}
        cfg["dasConfig"]["defaultVmSettings"]["restartPriorityTimeout"] = 300
        cfg["vmOrchestration"] = {"_array": "vim.cluster.VmOrchestrationInfo[]", "items": [{
            "_type": "vim.cluster.VmOrchestrationInfo", "vm": {"_moref": "vim.VirtualMachine:vm-69"},
            "vmReadiness": {"_type": "vim.cluster.VmReadiness", "readyCondition": "appHbStatusGreen", "postReadyDelay": 5}}]}
        items = cfg["dasVmConfig"]["items"]
        items[0]["dasSettings"]["restartPriorityTimeout"] = 120
        items[1]["dasSettings"]["restartPriorityTimeout"] = -1

    inv, _ = io.read_vsphere(io.vsphere.replay(edited("vcsim-lab.json", orchestrate)), "DC0_C0")
    assert dict(inv.config.orchestration) == {
        "ready_condition": "guestHbStatusGreen", "post_ready_delay_s": 10, "restart_priority_timeout_s": 300}
    vm69, vm75 = inv.vm("vm-69"), inv.vm("vm-75")
    assert (vm69.ready_condition, vm69.post_ready_delay_s, vm69.restart_priority_timeout_s) == ("appHbStatusGreen", 5, 120)
    assert (vm75.ready_condition, vm75.post_ready_delay_s, vm75.restart_priority_timeout_s) == (None, None, None)
    # Without them: the defaults.
    plain, _ = replayed("vcsim-lab.json")
    assert dict(plain.config.orchestration) == {
        "ready_condition": "none", "post_ready_delay_s": 0, "restart_priority_timeout_s": 600}


def test_current_demand_is_read_for_powered_on_vms() -> None:
    """R-AC-PERF: summary.quickStats.overallCpuUsage → cpu_usage_mhz and guestMemoryUsage (active
    guest memory) → memory_usage_mb; absent figures stay unknown (None)."""
    def busy(r: dict[str, Any]) -> None:
        props = vm_named(r, "DC0_C0_RP0_VM0")[1]
        assert props["runtime.powerState"] == "poweredOn"
        props["summary.quickStats.overallCpuUsage"] = 1234
        props["summary.quickStats.guestMemoryUsage"] = 2048
        props["summary.quickStats.hostMemoryUsage"] = 4096  # consumed: not the figure read

    rec = edited("vcsim-lab.json", busy)
    moid = vm_named(rec, "DC0_C0_RP0_VM0")[0]
    inv, _ = io.read_vsphere(io.vsphere.replay(rec), "DC0_C0")
    got = inv.vm(moid)
    assert (got.cpu_usage_mhz, got.memory_usage_mb) == (1234, 2048)
    assert all(v.cpu_usage_mhz is None and v.memory_usage_mb is None for v in inv.vms if v.id != moid)


def test_drs_and_dpm_are_read() -> None:
    """R-PLACE-DRS: configurationEx.drsConfig (enabled, defaultVmBehavior) → cluster.drs and
    configurationEx.dpmConfigInfo.enabled → cluster.dpm; absent or off: the defaults (disabled)."""
    def drs_on(r: dict[str, Any]) -> None:
        cfg = r["cluster"]["props"]["configurationEx"]
        cfg["drsConfig"] = {"_type": "vim.cluster.DrsConfigInfo", "enabled": True,
                            "defaultVmBehavior": "partiallyAutomated"}
        cfg["dpmConfigInfo"] = {"_type": "vim.cluster.DpmConfigInfo", "enabled": True}

    inv, _ = io.read_vsphere(io.vsphere.replay(edited("vcsim-lab.json", drs_on)), "DC0_C0")
    assert dict(inv.config.drs) == {"enabled": True, "automation": "partiallyAutomated"}
    assert dict(inv.config.dpm) == {"enabled": True}
    # The vcsim lab cluster has DRS on, fully automated (vcsim's default), and DPM off.
    plain, _ = replayed("vcsim-lab.json")
    assert dict(plain.config.drs) == {"enabled": True, "automation": "fullyAutomated"}
    assert dict(plain.config.dpm) == {"enabled": False}

    def drs_off(r: dict[str, Any]) -> None:
        r["cluster"]["props"]["configurationEx"]["drsConfig"]["enabled"] = False

    off, _ = io.read_vsphere(io.vsphere.replay(edited("vcsim-lab.json", drs_off)), "DC0_C0")
    assert dict(off.config.drs) == {"enabled": False, "automation": "fullyAutomated"}
