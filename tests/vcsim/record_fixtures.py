"""Regenerates tests/fixtures/vsphere/*.json from the simulator (needs Go; see build.sh).

    python tests/vcsim/record_fixtures.py

- ``vcsim-lab.json``: verbatim ``hapolicy.io.vsphere.record_vsphere`` output for the
  simulator started with ``-vms 4 -ha slot-fixed`` after ``launch.apply_lab_changes`` —
  except that the simulator's datastore ids (temporary directory paths) are renamed
  ``datastore-N`` so the file is stable.
- ``edited-lab.json``: a recording of ``-cluster-hosts 5 -vms 7 -datastores 2 -ha percentage``
  with the same changes, then edited (see ``EDITS``) to hold what the simulator cannot
  produce: a standby host, a host not responding whose HA agent is unreachable, an NFS
  datastore, an FT pair, an ESX Agent Manager VM, a VM without an overhead reservation, a
  cleanly powered-off VM, a vSphere 4-style per-VM override, and vCenter version 7.0.3.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent))

from hapolicy.io.vsphere import record_vsphere  # noqa: E402
from tests.vcsim import launch  # noqa: E402

OUT = HERE.parent / "fixtures" / "vsphere"

EDITS = [
    "H3: runtime.powerState standBy (vSphere DPM standby), FDM state 'hostDown'",
    "H4: runtime.connectionState notResponding, FDM state 'fdmUnreachable'",
    "LocalDS_1: summary.type NFS, info NasDatastoreInfo with remoteHost filer-b.lab.local",
    "VM4/VM5: config.ftInfo role 1/2 (FT primary/secondary) on H0/H1",
    "VM6: config.managedBy com.vmware.vim.eam (agent VM) on H1; dasVmConfig vSphere 4 style "
    "(restartPriority low, powerOffOnIsolation true)",
    "VM2: no runtime.memoryOverhead, summary.quickStats.consumedOverheadMemory 77",
    "VM5: no overhead figures at all",
    "VM3: runtime.cleanPowerOff true",
    "about.version 7.0.3",
]


def stable_ids(rec: dict[str, Any]) -> dict[str, Any]:
    text = json.dumps(rec)
    for i, moid in enumerate(sorted(rec["datastores"]), start=1):
        text = text.replace(json.dumps(moid)[1:-1], f"datastore-{i}")
    return dict(json.loads(text))


def by_name(objs: dict[str, Any], name: str) -> tuple[str, dict[str, Any]]:
    return next((k, v) for k, v in objs.items() if v.get("name") == name)


def moref(kind: str, moid: str) -> dict[str, str]:
    return {"_moref": f"vim.{kind}:{moid}"}


def edit(rec: dict[str, Any]) -> dict[str, Any]:
    hosts, vms, dss = rec["hosts"], rec["vms"], rec["datastores"]
    h0, _ = by_name(hosts, "DC0_C0_H0")
    h1, _ = by_name(hosts, "DC0_C0_H1")
    _, h3 = by_name(hosts, "DC0_C0_H3")
    h3["runtime.powerState"] = "standBy"
    h3["runtime.dasHostState"] = {"_type": "vim.cluster.DasFdmHostState", "state": "hostDown"}
    _, h4 = by_name(hosts, "DC0_C0_H4")
    h4["runtime.connectionState"] = "notResponding"
    h4["runtime.dasHostState"] = {"_type": "vim.cluster.DasFdmHostState", "state": "fdmUnreachable"}
    _, ds1 = by_name(dss, "LocalDS_1")
    ds1["summary.type"] = "NFS"
    ds1["info"] = {
        "_type": "vim.host.NasDatastoreInfo", "name": "LocalDS_1", "url": "ds:///vmfs/volumes/nfs-1/",
        "freeSpace": 1 << 40, "maxFileSize": 1 << 44,
        "nas": {"_type": "vim.host.NasVolume", "type": "NFS", "name": "LocalDS_1", "capacity": 1 << 41,
                "remoteHost": "filer-b.lab.local", "remotePath": "/vol/nfs01"},
    }
    vm_ids = {}
    for n in range(7):
        vm_ids[n], _ = by_name(vms, f"DC0_C0_RP0_VM{n}")
    for n, (role, host) in {4: (1, h0), 5: (2, h1)}.items():
        v = vms[vm_ids[n]]
        v["runtime.host"] = moref("HostSystem", host)
        v["config.ftInfo"] = {"_type": "vim.vm.FaultToleranceConfigInfo", "role": role,
                              "instanceUuids": ["5010a1b2-0000-0000-0000-000000000004",
                                                "5010a1b2-0000-0000-0000-000000000005"],
                              "configPaths": [f"[LocalDS_0] DC0_C0_RP0_VM{n}/DC0_C0_RP0_VM{n}.vmx"]}
    v6 = vms[vm_ids[6]]
    v6["runtime.host"] = moref("HostSystem", h1)
    v6["config.managedBy"] = {"_type": "vim.ext.ManagedByInfo", "extensionKey": "com.vmware.vim.eam", "type": "cluster-agent"}
    v2 = vms[vm_ids[2]]
    del v2["runtime.memoryOverhead"]
    v2["summary.quickStats.consumedOverheadMemory"] = 77
    v5 = vms[vm_ids[5]]
    v5.pop("runtime.memoryOverhead", None)
    v5.pop("summary.quickStats.consumedOverheadMemory", None)
    vms[vm_ids[3]]["runtime.cleanPowerOff"] = True
    cfg = rec["cluster"]["props"]["configurationEx"]
    cfg["dasVmConfig"]["items"].append({
        "_type": "vim.cluster.DasVmConfigInfo", "key": moref("VirtualMachine", vm_ids[6]),
        "restartPriority": "low", "powerOffOnIsolation": True,
    })
    rec["about"]["version"] = "7.0.3"
    rec["edits"] = EDITS
    return rec


def record(args: list[str]) -> dict[str, Any]:
    with launch.start(launch.build(), *args) as sim:
        si = sim.connect()
        launch.apply_lab_changes(si)
        return stable_ids(record_vsphere(si, "DC0_C0"))


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    plain = record(["-vms", "4", "-ha", "slot-fixed"])
    edited = edit(record(["-cluster-hosts", "5", "-vms", "7", "-datastores", "2", "-ha", "percentage"]))
    for name, rec in (("vcsim-lab.json", plain), ("edited-lab.json", edited)):
        text = json.dumps(rec, indent=1, sort_keys=True) + "\n"
        text = re.sub(r"/tmp/govcsim-[^\"]*", "/tmp/govcsim", text)  # stray temporary paths
        (OUT / name).write_text(text, encoding="utf-8")
        print(OUT / name)


if __name__ == "__main__":
    main()
