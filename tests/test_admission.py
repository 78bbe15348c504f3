"""Admission control (R-AC) and heartbeat datastores (R-HBDS) through the Python API. The
figures are the vSphere 5.0 Availability Guide's worked example (the rule book, R-AC) and hand arithmetic
in the comments; the 30+ rule-level cases live in tests/admission.rs."""

from __future__ import annotations

import json
import pickle
from typing import Any

import pytest

import hapolicy as ha

from .conftest import doc, host, vm


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


# ----------------------------------------------------------------- R-AC-0: which hosts count


def test_not_responding_hosts_count_unless_the_option_says_otherwise(guide: ha.Inventory) -> None:
    d = guide.to_dict()
    d["hosts"][2]["state"] = "notResponding"  # host-3 (6000 MHz / 6144 MB, 3 slots)
    # Default (R-AC-0, the HA Deepdive): host-3 still counts: same figures as the guide.
    r = ha.admission_control(ha.Inventory.from_dict(d))
    assert r.host_slots == {"host-1": 4, "host-2": 3, "host-3": 3} and r.current_failover_level == 1
    assert "host-3" not in r.excluded_hosts
    assert any("not responding but still counted" in m for m in r.messages)
    # engine.admissionCountsFailedHosts=false (the Availability Guide): 4 + 3 = 7 slots, used 5;
    # losing host-1 leaves 3 < 5 → level 0.
    d["cluster"]["advanced_options"] = {"engine.admissionCountsFailedHosts": "false"}
    r = ha.admission_control(ha.Inventory.from_dict(d))
    assert r.host_slots == {"host-1": 4, "host-2": 3} and r.current_failover_level == 0
    assert r.excluded_hosts == {"host-3": "not responding"}


# ----------------------------------------------------------------- R-AC-MAINT


def test_enter_maintenance_in_the_availability_guide_cluster(guide: ha.Inventory) -> None:
    # Slot 2000/2048, host slots 4/3/3, 5 used, level 1. Whichever host leaves, two hosts stay:
    # host-1 leaves → 3 + 3 = 6 slots, losing one leaves 3 < 5; host-2 or host-3 leaves → 4 + 3
    # = 7, losing host-1 leaves 3 < 5. Level 0 < 1 every time: refused.
    for host in ("host-1", "host-2", "host-3"):
        d = ha.check_enter_maintenance(guide, host)
        assert not d.allowed and not d.unmovable, d.reason
        assert (d.before["current_failover_level"], d.after["current_failover_level"]) == (1, 0)
    d = ha.check_enter_maintenance(guide, "esx-a")  # a name is accepted
    # vm-1, vm-2 (2000/1024) go to host-3 (6144 − 1024 = 5120 MB unreserved vs host-2's 3072).
    assert d.moves == {"vm-1": "host-3", "vm-2": "host-3"}
    assert d.reason.startswith("host-1 (esx-a) may not enter maintenance mode")
    assert "current failover level 1 → 0 (configured 1)" in d.reason
    assert d.to_dict()["moves"] == {"vm-1": "host-3", "vm-2": "host-3"}


def test_enter_standby_with_the_percentage_policy(guide: ha.Inventory) -> None:
    inv = with_cluster(guide, admission_control={"policy": "percentage", "cpu_percent": 25, "memory_percent": 25})
    # host-3 leaves: CPU (18000 − 7000)/18000 = 61.11 %, memory (15360 − 6144)/15360 = 60 %.
    d = ha.check_enter_maintenance(inv, "host-3", mode="standby")
    assert d.allowed and "standby" in d.reason
    assert d.after["cpu_failover_percent"] == pytest.approx(11000 / 18000 * 100)
    assert d.after["memory_failover_percent"] == pytest.approx(60.0)
    assert d.moves == {"vm-5": "host-1"}


def test_enter_maintenance_refuses_when_vms_cannot_move() -> None:
    inv = ha.Inventory.from_dict(doc(
        [host("host-1", mem=10000), host("host-2", mem=10000)],
        [vm("vm-big", "host-1", mem=8000), vm("vm-3", "host-2", mem=5000)],
        cluster={"admission_control": {"policy": "disabled"}}))
    # host-2 has 10000 − 5000 = 5000 MB unreserved < 8000.
    d = ha.check_enter_maintenance(inv, "host-1")
    assert not d.allowed and d.unmovable == {"vm-big": ha.UnplacedReason.INSUFFICIENT_RESOURCES}
    assert "vm-big (insufficientResources)" in d.reason


def test_enter_maintenance_errors(guide: ha.Inventory) -> None:
    with pytest.raises(ha.UnknownIdError):
        ha.check_enter_maintenance(guide, "host-9")
    with pytest.raises(ha.ArgumentError, match="maintenance"):
        ha.check_enter_maintenance(guide, "host-1", mode="holiday")
    d = guide.to_dict()
    d["hosts"][0]["maintenance"] = True
    d["vms"] = [v for v in d["vms"] if v["host"] != "host-1"]
    with pytest.raises(ha.ArgumentError, match="already in maintenance mode"):
        ha.check_enter_maintenance(ha.Inventory.from_dict(d), "host-1")


# ----------------------------------------------------------------- R-AC-PERF


def perf_guide(guide: ha.Inventory, p: int) -> ha.AdmissionReport:
    d = guide.to_dict()
    d["cluster"]["version"] = "8.0"
    d["cluster"]["admission_control"]["resource_reduction_to_tolerate_percent"] = p
    for v in d["vms"]:
        if v["id"] in ("vm-1", "vm-2"):
            v["cpu_usage_mhz"], v["memory_usage_mb"] = 5000, 4200 if v["id"] == "vm-1" else 4000
    return ha.admission_control(ha.Inventory.from_dict(d))


def test_performance_degradation_in_the_guide_cluster(guide: ha.Inventory) -> None:
    # Demand: vm-1 5000/4200, vm-2 5000/4000 (usage), vm-3..5 by reservation 1000/2048,
    # 1000/1024, 1000/1024 → 13000 MHz / 12296 MB; 3 VMs without usage figures.
    # One failure (slot policy, level 1) removes the largest host per resource: CPU 9000 (host-1)
    # → 9000 + 6000 = 15000 left; memory 9216 (host-1) → 6144 + 6144 = 12288 left.
    r = perf_guide(guide, 0)
    d = r.performance_degradation
    assert d is not None
    assert (d.demand_cpu_mhz, d.demand_memory_mb, d.vms_without_usage) == (13000, 12296, 3)
    assert (d.remaining_cpu_mhz, d.remaining_memory_mb) == (15000, 12288)
    # p = 0: memory demand 12296 > 12288 → warning; CPU 13000 ≤ 15000.
    assert d.warning and d.memory_warning and not d.cpu_warning
    assert d.memory_reduction_percent == pytest.approx(8 / 12296 * 100)
    assert r.satisfied  # a warning, never a block
    assert "performance degradation (R-AC-PERF): WARNING" in str(r)
    assert r.to_dict()["performance_degradation"]["warning"] is True
    # p = 1: 12296 × 0.99 = 12173 ≤ 12288 → no warning.
    assert perf_guide(guide, 1).performance_degradation.warning is False  # type: ignore[union-attr]
    # Not configured: None.
    assert ha.admission_control(guide).performance_degradation is None
