"""Builds and starts the vcsim launcher (tests/vcsim/main.go) for the pyVmomi adapter tests.

    with start(build(), "-ha", "slot") as sim:
        si = sim.connect()
"""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
import urllib.parse
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


class ToolchainMissing(RuntimeError):
    """``go`` or govmomi's sources are not installed (tests/vcsim/install-deps.sh installs them)."""


def build(outdir: str | os.PathLike[str] | None = None) -> Path:
    """The launcher binary, built by build.sh when missing or older than its sources."""
    if shutil.which("go") is None:
        raise ToolchainMissing("the Go toolchain ('go') is not installed; tests/vcsim/install-deps.sh installs it")
    gocode = Path(os.environ.get("HAPOLICY_GOCODE", "/usr/share/gocode"))
    if not (gocode / "src/github.com/vmware/govmomi/simulator").is_dir():
        raise ToolchainMissing(f"govmomi's sources are not under {gocode}; tests/vcsim/install-deps.sh installs them")
    args = ["sh", str(HERE / "build.sh")]
    if outdir is not None:
        args.append(str(outdir))
    done = subprocess.run(args, capture_output=True, text=True, timeout=900)
    if done.returncode != 0:
        raise RuntimeError(f"tests/vcsim/build.sh failed ({done.returncode}):\n{done.stderr}")
    return Path(done.stdout.strip().splitlines()[-1])


@dataclass
class Simulator:
    url: str
    port: int
    process: subprocess.Popen[str]

    def connect(self) -> Any:
        from pyVim.connect import SmartConnect

        return SmartConnect(protocol="http", host="127.0.0.1", port=self.port, user="user", pwd="pass")


@contextmanager
def start(binary: Path, *args: str, timeout: float = 30.0) -> Iterator[Simulator]:
    """Runs the simulator on a free loopback port (the kernel picks it; the launcher prints
    its URL) until the block ends."""
    proc = subprocess.Popen(
        [str(binary), "-exit-on-stdin-eof", "-listen", "127.0.0.1:0", *args],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    line: list[str] = []
    reader = threading.Thread(target=lambda: line.append(proc.stdout.readline() if proc.stdout else ""), daemon=True)
    reader.start()
    reader.join(timeout)
    try:
        if not line or not line[0].strip():
            proc.kill()
            err = proc.stderr.read() if proc.stderr else ""
            raise RuntimeError(f"vcsim did not start within {timeout}s: {err.strip()}")
        url = line[0].strip()
        port = urllib.parse.urlsplit(url).port
        assert port is not None, url
        yield Simulator(url, port, proc)
    finally:
        if proc.stdin:
            proc.stdin.close()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


def objects(si: Any, kind: Any, root: Any = None) -> list[Any]:
    """Every managed entity of type ``kind`` (e.g. ``vim.HostSystem``) below ``root`` (default:
    the root folder), read through a container view that is destroyed after."""
    content = si.RetrieveContent()
    view = content.viewManager.CreateContainerView(content.rootFolder if root is None else root, [kind], True)
    try:
        return list(view.view)
    finally:
        view.Destroy()


def count_calls(si: Any, by: str = "wsdlName") -> Counter[str]:
    """Every server method ``si`` calls from now on, counted at pyVmomi's stub (below any
    adapter) under the method's ``by``: ``"wsdlName"`` (the SOAP name, e.g. ``DestroyView``)
    or ``"name"`` (pyVmomi's, e.g. ``Destroy``)."""
    calls: Counter[str] = Counter()
    stub = si._stub
    real = stub.InvokeMethod

    def invoke(mo: Any, info: Any, args: Any) -> Any:
        calls[getattr(info, by)] += 1
        return real(mo, info, args)

    stub.InvokeMethod = invoke
    return calls


def cluster_objects(si: Any, name: str = "DC0_C0") -> tuple[Any, list[Any], list[Any]]:
    """(cluster, its hosts by name, its VMs by name), read with plain pyVmomi property access."""
    from pyVmomi import vim

    cluster = next(c for c in clusters(si) if c.name == name)
    vms = sorted(objects(si, vim.VirtualMachine, cluster), key=lambda v: v.name)
    return cluster, sorted(cluster.host, key=lambda h: h.name), vms


def find(si: Any, kind: Any, name: str) -> Any:
    """The one managed entity of type ``kind`` (e.g. ``vim.HostSystem``) named ``name``."""
    found = [o for o in objects(si, kind) if o.name == name]
    if len(found) != 1:
        raise LookupError(f"{len(found)} objects of type {kind.__name__} named {name!r}")
    return found[0]


def clusters(si: Any) -> list[Any]:
    """Every cluster of the simulator, with plain pyVmomi property access."""
    from pyVmomi import vim

    return objects(si, vim.ClusterComputeResource)


def all_vms(si: Any) -> list[Any]:
    """Every VM and template of the simulator."""
    from pyVmomi import vim

    return objects(si, vim.VirtualMachine)


def datacenter_of(entity: Any) -> Any:
    """The datacenter above ``entity`` (walking ``parent``)."""
    from pyVmomi import vim

    cur = entity.parent
    while not isinstance(cur, vim.Datacenter):
        cur = cur.parent
    return cur


def apply_lab_changes(si: Any) -> None:
    """What the simulator models, set through the API on the VPX model started with
    ``-vms 4`` or more (the first four VMs, the first three hosts): placements, reservations, a power-off, maintenance mode, DRS rules and groups,
    per-VM HA overrides. tests/test_io_vsphere.py checks the adapter reads each back."""
    from pyVim.task import WaitForTask
    from pyVmomi import vim

    cluster, hosts, vms = cluster_objects(si)
    (h0, h1, h2), (vm0, vm1, vm2, vm3) = hosts[:3], vms[:4]
    for vm, host in ((vm0, h0), (vm1, h0), (vm2, h1), (vm3, h1)):
        WaitForTask(vm.RelocateVM_Task(spec=vim.vm.RelocateSpec(host=host)))
    WaitForTask(vm0.ReconfigVM_Task(spec=vim.vm.ConfigSpec(
        cpuAllocation=vim.ResourceAllocationInfo(reservation=1000),
        memoryAllocation=vim.ResourceAllocationInfo(reservation=512))))
    WaitForTask(vm1.ReconfigVM_Task(spec=vim.vm.ConfigSpec(memoryReservationLockedToMax=True)))
    WaitForTask(vm3.PowerOffVM_Task())
    WaitForTask(h2.EnterMaintenanceMode_Task(timeout=0))

    add = "add"
    spec = vim.cluster.ConfigSpecEx(
        groupSpec=[
            vim.cluster.GroupSpec(operation=add, info=vim.cluster.VmGroup(name="g-app", vm=[vm0, vm2])),
            vim.cluster.GroupSpec(operation=add, info=vim.cluster.VmGroup(name="g-db", vm=[vm1])),
            vim.cluster.GroupSpec(operation=add, info=vim.cluster.HostGroup(name="g-left", host=[h0, h1])),
            vim.cluster.GroupSpec(operation=add, info=vim.cluster.HostGroup(name="g-right", host=[h2])),
        ],
        rulesSpec=[
            vim.cluster.RuleSpec(operation=add, info=vim.cluster.AntiAffinityRuleSpec(
                name="separate-01", enabled=True, vm=[vm0, vm1])),
            vim.cluster.RuleSpec(operation=add, info=vim.cluster.AffinityRuleSpec(
                name="together-23", enabled=False, vm=[vm2, vm3])),
            vim.cluster.RuleSpec(operation=add, info=vim.cluster.VmHostRuleInfo(
                name="app-on-left", enabled=True, mandatory=True, vmGroupName="g-app", affineHostGroupName="g-left")),
            vim.cluster.RuleSpec(operation=add, info=vim.cluster.VmHostRuleInfo(
                name="app-off-right", enabled=True, mandatory=False, vmGroupName="g-app",
                antiAffineHostGroupName="g-right")),
            vim.cluster.RuleSpec(operation=add, info=vim.cluster.DependencyRuleInfo(
                name="app-after-db", enabled=True, vmGroup="g-app", dependsOnVmGroup="g-db")),
        ],
        dasVmConfigSpec=[
            vim.cluster.DasVmConfigSpec(operation=add, info=vim.cluster.DasVmConfigInfo(
                key=vm0, dasSettings=vim.cluster.DasVmSettings(restartPriority="highest", isolationResponse="shutdown"))),
            vim.cluster.DasVmConfigSpec(operation=add, info=vim.cluster.DasVmConfigInfo(
                key=vm2, dasSettings=vim.cluster.DasVmSettings(
                    restartPriority="disabled",
                    vmToolsMonitoringSettings=vim.cluster.VmToolsMonitoringSettings(
                        clusterSettings=False, vmMonitoring="vmMonitoringDisabled"),
                    vmComponentProtectionSettings=vim.cluster.VmComponentProtectionSettings(
                        vmStorageProtectionForAPD="warning", vmStorageProtectionForPDL="clusterDefault")))),
        ],
    )
    WaitForTask(cluster.ReconfigureComputeResource_Task(spec=spec, modify=True))
