"""Admission control (R-AC) and heartbeat datastores (R-HBDS) through the Python API. The
figures are the vSphere 5.0 Availability Guide's worked example (SPEC §5) and hand arithmetic
in the comments; the 30+ rule-level cases live in tests/admission.rs."""

from __future__ import annotations

import json
import pickle
from typing import Any

import pytest

import hapolicy as ha


def with_cluster(inv: ha.Inventory, **cluster: Any) -> ha.Inventory:
    d = inv.to_dict()
    d["cluster"].update(cluster)
    return ha.Inventory.from_dict(d)


def test_availability_guide_slot_example(guide: ha.Inventory) -> None:
    r = ha.admission_control(guide)
    assert r.policy == ha.AdmissionPolicy.SLOT and r.satisfied
    # Slot: largest CPU reservation 2000 MHz, largest memory 2048 MB.
    assert (r.slot_cpu_mhz, r.slot_memory_mb) == (2000, 2048)
    # Host slots: min(9000/2000, 9216/2048) = 4; min(4, 6144/2048 = 3) = 3; min(6000/2000, 3) = 3.
    assert r.host_slots == {"host-1": 4, "host-2": 3, "host-3": 3}
    # 10 slots, 5 used; losing host-1 (4) leaves 6 ≥ 5, losing two leaves 3 < 5 → level 1.
    assert (r.total_slots, r.used_slots, r.current_failover_level, r.available_slots) == (10, 5, 1, 1)
    assert r.cpu_failover_percent is None
    assert "2000 MHz / 2048 MB" in str(r)
    assert json.loads(json.dumps(r.to_dict()))["host_slots"] == {"host-1": 4, "host-2": 3, "host-3": 3}
    assert pickle.loads(pickle.dumps(r)) == r


def test_availability_guide_percentage_example(guide: ha.Inventory) -> None:
    inv = with_cluster(guide, admission_control={"policy": "percentage", "cpu_percent": 25, "memory_percent": 25})
    r = ha.admission_control(inv)
    assert r.policy == ha.AdmissionPolicy.PERCENTAGE and r.satisfied
    assert r.cpu_failover_percent == pytest.approx((24000 - 7000) / 24000 * 100, abs=1e-9)  # 70.83 %
    assert r.memory_failover_percent == pytest.approx((21504 - 6144) / 21504 * 100, abs=1e-9)  # 71.43 %
    assert (r.configured_cpu_percent, r.configured_memory_percent) == (25, 25)
    assert r.slot_cpu_mhz is None and r.current_failover_level is None


def new_vm(id: str, cpu: int, mem: int, host: str = "host-1") -> dict[str, Any]:
    return {"id": id, "host": host, "cpu_reservation_mhz": cpu, "memory_reservation_mb": mem,
            "home_datastore": "datastore-1"}


def test_power_on_allowed_then_refused(guide: ha.Inventory) -> None:
    # A sixth 2000/1024 VM: 6 slots used, 6 left after losing host-1 → level stays 1.
    d = ha.check_power_on(guide, new_vm("vm-6", 2000, 1024))
    assert d.allowed and bool(d)
    bigger = guide.replace(vms=[*guide.vms, ha.Vm("vm-6", host="host-1", cpu_reservation_mhz=2000,
                                                   memory_reservation_mb=1024, home_datastore="datastore-1")])
    # A seventh: 7 used, 6 left after losing host-1 → level 0 < 1: refused, with the figures.
    d = ha.check_power_on(bigger, new_vm("vm-7", 2000, 1024))
    assert not d.allowed
    assert "1" in d.reason and "0" in d.reason and "7" in d.reason
    assert d.before["current_failover_level"] == 1 and d.after["current_failover_level"] == 0


def test_raising_a_reservation_grows_the_slot(guide: ha.Inventory) -> None:
    # vm-5 to 4000 MHz: slot 4000 MHz → host slots min(2, 4) = 2, min(2, 3) = 2, min(1, 3) = 1;
    # 5 slots, 5 used; losing host-1 (2) leaves 3 < 5 → level 0: refused.
    d = ha.check_reservation_change(guide, "vm-5", cpu_reservation_mhz=4000)
    assert not d.allowed and d.after["slot_cpu_mhz"] == 4000
    # Lowering a reservation never hurts.
    assert ha.check_reservation_change(guide, "vm-1", cpu_reservation_mhz=1000).allowed


def test_power_on_of_an_inventory_vm_by_id(lab: ha.Inventory) -> None:
    # vm-118 is powered off in the lab; power it on on host-23.
    d = ha.check_power_on(lab, {"id": "vm-118", "host": "host-23"})
    assert isinstance(d.allowed, bool) and d.reason
    with pytest.raises(ha.HaPolicyError):
        ha.check_power_on(lab, {"id": "vm-100", "host": "host-21"})  # already powered on
    with pytest.raises(ha.InventoryError) as info:
        ha.check_power_on(lab, {"id": "vm-x", "host": "host-404", "home_datastore": "datastore-11"})
    assert info.value.problems[0][0] == "vm.host"


def test_failover_hosts_refuse_power_on() -> None:
    inv = ha.Inventory.from_dict({
        "cluster": {"admission_control": {"policy": "failoverHosts", "hosts": ["host-2"]}},
        "hosts": [{"id": "host-1", "cpu_mhz": 10000, "memory_mb": 10000, "datastores": ["ds"]},
                  {"id": "host-2", "cpu_mhz": 10000, "memory_mb": 10000, "datastores": ["ds"]}],
        "datastores": [{"id": "ds"}], "vms": [],
    })
    r = ha.admission_control(inv)
    assert r.policy == ha.AdmissionPolicy.FAILOVER_HOSTS and r.satisfied
    assert [(f.host, f.state) for f in r.failover_hosts] == [("host-2", "healthy")]
    assert not ha.check_power_on(inv, {"id": "v", "host": "host-2", "home_datastore": "ds"}).allowed
    assert ha.check_power_on(inv, {"id": "v", "host": "host-1", "home_datastore": "ds"}).allowed


def test_failed_hosts_are_not_counted(guide: ha.Inventory) -> None:
    r = ha.admission_control(guide, failed_hosts=["host-1"])
    # Without host-1: 6 slots, 5 used; losing host-2 (3) leaves 3 < 5 → level 0.
    assert r.total_slots == 6 and r.current_failover_level == 0 and not r.satisfied
    assert "host-1" in r.excluded_hosts


def test_heartbeat_datastores(lab: ha.Inventory) -> None:
    s = ha.heartbeat_datastores(lab)
    # datastore-11 and -12 reach all 4 hosts, datastore-13 (NFS) 3: the two VMFS ones win.
    assert s.required == 2 and not s.warnings
    assert all(ds == ("datastore-11", "datastore-12") for ds in s.hosts.values())
    three = with_cluster(lab, advanced_options={"das.heartbeatDsPerHost": "3"})
    s3 = ha.heartbeat_datastores(three)
    # host-24 sees only two datastores: the warning names it.
    assert s3.hosts["host-21"] == ("datastore-11", "datastore-12", "datastore-13")
    assert [w.host for w in s3.warnings] == ["host-24"]
    quiet = with_cluster(lab, advanced_options={"das.heartbeatDsPerHost": "3", "das.ignoreInsufficientHbDatastore": "true"})
    assert not ha.heartbeat_datastores(quiet).warnings
