"""Failover planning through the Python API (R-PLACE). The rule-by-rule golden corpus is
shared with the Rust runner (tests/golden/placement); here it is replayed through the Python
surface, plus checks of the value objects, exports and explanations."""

from __future__ import annotations

import json
import pickle
from pathlib import Path
from typing import Any

import pytest

import hapolicy as ha

from .conftest import doc, host, vm

GOLDEN = sorted((Path(__file__).resolve().parent / "golden" / "placement").glob("*.json"))


@pytest.mark.parametrize("case", GOLDEN, ids=[c.stem for c in GOLDEN])
def test_golden_corpus_through_python(case: Path) -> None:
    spec = json.loads(case.read_text())
    inv = ha.Inventory.from_dict(spec["inventory"])
    plan = ha.plan_failover(inv, spec["failed_hosts"], spec.get("isolated_hosts", []))
    exp = spec["expected"]
    assert [[p.vm, p.host] for p in plan.placements] == exp["placements"], spec["description"]
    assert [[u.vm, str(u.reason)] for u in plan.unplaced] == exp["unplaced"], spec["description"]
    if "not_restarted" in exp:
        assert [[n.vm, n.reason] for n in plan.not_restarted] == exp["not_restarted"]


def test_corpus_is_large_enough() -> None:
    assert len(GOLDEN) >= 40


def two_hosts(**cluster: Any) -> ha.Inventory:
    return ha.Inventory.from_dict(doc(
        [host("host-1", cpu=10000, mem=10000), host("host-2", cpu=10000, mem=6000), host("host-3", cpu=10000, mem=8000)],
        [vm("vm-1", "host-1", mem=3000, restart_priority="low"),
         vm("vm-2", "host-1", mem=5000, restart_priority="high"),
         vm("vm-3", "host-1", mem=4000, restart_priority="high"),
         vm("vm-4", "host-1", restart_priority="disabled")],
        cluster={"admission_control": {"policy": "disabled"}, **cluster},
    ))


def test_order_choice_and_exhaustion() -> None:
    plan = ha.plan_failover(two_hosts(), ["host-1"])
    # R-PLACE-1: high before low; within high, more memory first (vm-2 5000 > vm-3 4000).
    # R-PLACE-3: most unreserved memory after placement: vm-2 → host-3 (8000-5000=3000 vs
    # 6000-5000=1000); vm-3 → host-2 (6000-4000=2000; host-3 has 3000 < 4000 left);
    # vm-1 (3000) → host-3 (3000-3000=0; host-2 has 2000 < 3000).
    assert [(p.vm, p.host, p.order) for p in plan.placements] == [("vm-2", "host-3", 1), ("vm-3", "host-2", 2), ("vm-1", "host-3", 3)]
    assert [p.priority for p in plan.placements] == [ha.RestartPriority.HIGH, ha.RestartPriority.HIGH, ha.RestartPriority.LOW]
    assert plan.all_restarted and plan.restarted == 3
    assert [(n.vm, n.reason) for n in plan.not_restarted] == [("vm-4", "restartDisabled")]


def test_unplaced_with_per_host_reasons() -> None:
    inv = two_hosts()
    big = inv.replace(vms=[*inv.vms, ha.Vm("vm-5", host="host-1", memory_reservation_mb=7000, home_datastore="ds-1",
                                           restart_priority=ha.RestartPriority.HIGHEST)])
    plan = ha.plan_failover(big, ["host-1"])
    # vm-5 (7000, highest) goes first to host-3 (8000 → 1000 left); then vm-2 (5000) → host-2
    # (6000 → 1000); vm-3 (4000) and vm-1 (3000) fit nowhere.
    assert [(p.vm, p.host) for p in plan.placements] == [("vm-5", "host-3"), ("vm-2", "host-2")]
    assert [(u.vm, u.reason) for u in plan.unplaced] == [
        ("vm-3", ha.UnplacedReason.INSUFFICIENT_RESOURCES), ("vm-1", ha.UnplacedReason.INSUFFICIENT_RESOURCES)]
    why = plan.unplaced[0].hosts
    assert set(why) == {"host-1", "host-2", "host-3"} and "failed" in why["host-1"]
    text = plan.explain("vm-3")
    assert "vm-3" in text and "host-2" in text and "host-3" in text
    assert not plan.all_restarted


def test_exports_and_pickle() -> None:
    plan = ha.plan_failover(two_hosts(), ["host-1"])
    records = plan.to_records()
    assert [r["vm"] for r in records] == ["vm-2", "vm-3", "vm-1", "vm-4"]
    assert records[-1]["outcome"] == "not restarted"
    assert json.loads(json.dumps(plan.to_dict()))["placements"][0]["host"] == "host-3"
    assert pickle.loads(pickle.dumps(plan)) == plan
    assert "<table>" in plan._repr_html_() and "restarted" in str(plan)


def test_unknown_host() -> None:
    with pytest.raises(ha.UnknownIdError):
        ha.plan_failover(two_hosts(), ["host-9"])


def test_isolated_hosts_follow_the_isolation_response() -> None:
    plan = ha.plan_failover(two_hosts(isolation_response="none"), [], ["host-1"])
    assert plan.placements == [] and {n.reason for n in plan.not_restarted} >= {"isolationResponseNone"}
    plan = ha.plan_failover(two_hosts(isolation_response="powerOff"), [], ["host-1"])
    assert plan.restarted == 3


def test_host_monitoring_off_restarts_nothing() -> None:
    plan = ha.plan_failover(two_hosts(host_monitoring=False), ["host-1"])
    assert plan.placements == [] and {n.reason for n in plan.not_restarted} == {"hostMonitoringDisabled", "restartDisabled"}


def test_agent_vms_not_ready_refuses_the_host() -> None:
    # R-PLACE-2: host-2 has the most memory (20000 MB) but its agent VMs are not running. vm-2
    # (9500 MB, restarted first: more memory) goes to host-3; vm-1 (1000 MB) then fits nowhere
    # (host-3: 10000 - 9500 = 500 MB left).
    hosts = [host("host-1", cpu=10000, mem=10000), host("host-2", cpu=10000, mem=20000),
             host("host-3", cpu=10000, mem=10000)]
    hosts[1]["agent_vms_ready"] = False
    inv = ha.Inventory.from_dict(doc(hosts, [vm("vm-1", "host-1", mem=1000), vm("vm-2", "host-1", mem=9500)],
                                     cluster={"admission_control": {"policy": "disabled"}}))
    plan = ha.plan_failover(inv, ["host-1"])
    assert [(p.vm, p.host) for p in plan.placements] == [("vm-2", "host-3")]
    (unplaced,) = plan.unplaced
    assert unplaced.vm == "vm-1" and unplaced.codes == {
        "host-1": ha.HostRefusalCode.FAILED, "host-2": ha.HostRefusalCode.AGENT_VMS_NOT_READY,
        "host-3": ha.HostRefusalCode.INSUFFICIENT_RESOURCES}
    assert unplaced.hosts["host-2"] == "its required agent VMs are not running"
    assert "agentVmsNotReady" in json.dumps(unplaced.to_dict())
    assert "host-2: refused — its required agent VMs are not running" in plan.explain("vm-2")


# ------------------------------------------- shared placement base, lazy rows (issue 16)


def _fresh(inv: ha.Inventory) -> ha.Inventory:
    """The same inventory parsed anew: no placement data derived yet."""
    return ha.Inventory.from_json(inv.to_json())


def test_plans_on_one_inventory_match_plans_on_a_fresh_copy() -> None:
    # The first plan builds the inventory's placement base; later plans reuse it. Each must be
    # the plan a fresh copy (its own base, built for that plan) gives.
    inv = ha.generate_inventory(hosts=16, vms=800, seed=11)
    ids = [h.id for h in inv.hosts]
    for failed, isolated in [(ids[:1], []), (ids[2:5], ids[5:6]), (ids[:8], []), (ids[:1], [])]:
        assert ha.plan_failover(inv, failed, isolated).to_dict() == ha.plan_failover(_fresh(inv), failed, isolated).to_dict()


def test_replace_plans_on_the_changed_inventory() -> None:
    # A stale base would place VMs on a host that no longer takes restarts (its agent VMs are
    # not running, R-PLACE-2), or miss a new host.
    import dataclasses

    inv = ha.generate_inventory(hosts=12, vms=400, seed=3)
    failed = [inv.hosts[0].id]
    before = ha.plan_failover(inv, failed)
    first = before.placements[0].host
    parked = inv.replace(hosts=[dataclasses.replace(h, agent_vms_ready=False) if h.id == first else h
                                for h in inv.hosts])
    after = ha.plan_failover(parked, failed)
    assert first not in {p.host for p in after.placements}
    assert after.to_dict() == ha.plan_failover(_fresh(parked), failed).to_dict()
    # A big empty host added: the largest restarted VM (first in its class) now goes there.
    big = dataclasses.replace(inv.hosts[1], id="host-big", name="", cpu_mhz=10**6, memory_mb=10**7)
    grown = inv.replace(hosts=[*inv.hosts, big])
    assert ha.plan_failover(grown, failed).placements[0].host == "host-big"
    # The original inventory still plans as before.
    assert ha.plan_failover(inv, failed).to_dict() == before.to_dict()


def test_threads_planning_on_one_new_inventory_agree() -> None:
    from concurrent.futures import ThreadPoolExecutor

    inv = ha.generate_inventory(hosts=24, vms=1500, seed=9)  # no plan yet: the threads race to build the base
    ids = [h.id for h in inv.hosts]
    scenarios = [ids[i:i + 2] for i in range(0, 16, 2)] * 2
    with ThreadPoolExecutor(max_workers=4) as pool:
        plans = list(pool.map(lambda failed: ha.plan_failover(inv, failed).to_dict(), scenarios))
    fresh = _fresh(inv)
    assert plans == [ha.plan_failover(fresh, failed).to_dict() for failed in scenarios]


def test_plan_parts_are_built_once_from_compact_rows() -> None:
    inv = ha.generate_inventory(hosts=12, vms=400, seed=2)
    plan = ha.plan_failover(inv, [h.id for h in inv.hosts[:6]])
    assert plan.placements is plan.placements and plan.unplaced is plan.unplaced
    assert plan.restarted == len(plan.placements) > 0 and plan.all_restarted == (not plan.unplaced)
    p = plan.placements[0]
    assert p == ha.Placement(p.vm, p.host, p.order, p.priority, p.restart_class) and isinstance(p.priority, ha.RestartPriority)
    assert hash(p) == hash(ha.Placement(p.vm, p.host, p.order, p.priority, p.restart_class))
    with pytest.raises(AttributeError):
        p.vm = "other"  # type: ignore[misc]
    # The rows say what the plan's document (the `--json` shape) says.
    core = plan._core.to_obj()
    assert [(d["vm"], d["host"], d["order"], d["priority"], d["class"]) for d in core["placements"]] == [
        (q.vm, q.host, q.order, str(q.priority), q.restart_class) for q in plan.placements]
    assert [(d["vm"], d["reason"], d["order"]) for d in core["unplaced"]] == [(u.vm, str(u.reason), u.order) for u in plan.unplaced]
    assert [dict(d["hosts"]) for d in core["unplaced"]] == [
        {h: {"code": str(u.codes[h]), "detail": why} for h, why in u.hosts.items()} for u in plan.unplaced]
    assert [(d["vm"], d["host"], d["reason"]) for d in core["not_restarted"]] == [
        (n.vm, n.host, str(n.reason)) for n in plan.not_restarted]
