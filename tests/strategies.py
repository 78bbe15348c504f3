"""Hypothesis strategies for valid inventories (small, so shrinking stays readable)."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

PRIORITIES = ["disabled", "lowest", "low", "medium", "high", "highest", "clusterRestartPriority"]


@st.composite
def inventories(draw: st.DrawFn, max_hosts: int = 6, max_vms: int = 25) -> dict[str, Any]:
    n_ds = draw(st.integers(1, 3))
    datastores = [{"id": f"datastore-{i}", "name": f"ds{i}", "type": draw(st.sampled_from(["VMFS", "NFS"]))}
                  for i in range(n_ds)]
    n_hosts = draw(st.integers(1, max_hosts))
    hosts = []
    for i in range(n_hosts):
        ds = draw(st.lists(st.sampled_from([d["id"] for d in datastores]), min_size=1, unique=True))
        hosts.append({
            "id": f"host-{draw(st.integers(1, 999))}-{i}",
            "cpu_mhz": draw(st.integers(2000, 64000)),
            "memory_mb": draw(st.integers(4096, 262144)),
            "datastores": ds,
            "maintenance": draw(st.booleans()) if i > 0 else False,
            "goodness": draw(st.none() | st.integers(-5, 5)),
        })
    running = [h for h in hosts if not h["maintenance"]]
    vms = []
    for i in range(draw(st.integers(0, max_vms))):
        on = draw(st.booleans())
        h = draw(st.sampled_from(running))
        vms.append({
            "id": f"vm-{i}",
            "host": h["id"] if on else None,
            "power_state": "poweredOn" if on else "poweredOff",
            "cpu_reservation_mhz": draw(st.integers(0, min(h["cpu_mhz"], 4000))),
            "memory_reservation_mb": draw(st.integers(0, 2048)),
            "memory_overhead_mb": draw(st.integers(0, 200)),
            "home_datastore": draw(st.sampled_from(h["datastores"])),
            "restart_priority": draw(st.sampled_from(PRIORITIES)),
        })
    version = draw(st.sampled_from(["5.0", "5.1", "6.0", "6.5", "7.0", "8.0"]))
    return {"cluster": {"name": "prop", "version": version}, "hosts": hosts, "datastores": datastores,
            "vms": vms, "rules": []}
