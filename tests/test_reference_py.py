"""The pure-Python reference of benchmarks/reference.py does the same work as the engine.

The benchmarks report "engine vs a straightforward pure-Python implementation of the same rules";
these tests are what makes that comparison honest: the reference must agree with the golden
corpus (tests/golden/placement) and with ``ha.plan_failover`` on generated inventories, with and
without extra rules, options and host states the generator does not produce at small scale.
"""

from __future__ import annotations

import itertools
import json
import random
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

import hapolicy as ha
from benchmarks.reference import admission_slot_py, plan_failover_py, sweep_py

from .conftest import doc, host, vm

GOLDEN = sorted((Path(__file__).resolve().parent / "golden" / "placement").glob("*.json"))

Plan = tuple[list[tuple[str, str]], list[tuple[str, str]]]


def engine_plan(inv: ha.Inventory, failed: Sequence[str], isolated: Sequence[str] = ()) -> Plan:
    plan = ha.plan_failover(inv, failed, isolated)
    return [(p.vm, p.host) for p in plan.placements], [(u.vm, str(u.reason)) for u in plan.unplaced]


# ------------------------------------------------------------------------ golden corpus


@pytest.mark.parametrize("case", GOLDEN, ids=[c.stem for c in GOLDEN])
def test_reference_matches_golden_corpus(case: Path) -> None:
    spec = json.loads(case.read_text())
    inv = ha.Inventory.from_dict(spec["inventory"])
    placements, unplaced = plan_failover_py(inv, spec["failed_hosts"], spec.get("isolated_hosts", []))
    expected = spec["expected"]
    assert [list(p) for p in placements] == expected["placements"], spec["description"]
    assert [list(u) for u in unplaced] == expected["unplaced"], spec["description"]


def test_golden_corpus_is_there() -> None:
    assert len(GOLDEN) >= 60


# ------------------------------------------------------------ generated inventories


@pytest.mark.parametrize("version", ["5.0", "6.0", "6.5", "8.0"])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_reference_matches_engine_on_generated_inventories(seed: int, version: str) -> None:
    inv = ha.generate_inventory(hosts=12, vms=300, seed=seed, version=version)
    ids = [h.id for h in inv.hosts]
    rng = random.Random(seed)
    unplaced_seen = 0
    for k in (1, 2, 4, 8, 11, 12):
        failed = rng.sample(ids, k)
        survivors = [h for h in ids if h not in failed]
        for isolated in ([], survivors[:1], failed[:1]):  # failed[:1]: named in both lists
            expected = engine_plan(inv, failed, isolated)
            assert plan_failover_py(inv, failed, isolated) == expected, (seed, version, failed, isolated)
            unplaced_seen += len(expected[1])
    assert unplaced_seen > 0  # the heavier scenarios do run out of room


def _stress_document(seed: int) -> dict[str, Any]:
    """A generated 12-host inventory with what the generator rarely produces at that size:
    every rule kind (some disabled), dependency chains, FT and agent VMs, failover hosts,
    hosts in maintenance or listing few networks, and the placement options set both ways."""
    rng = random.Random(seed)
    d = ha.generate_inventory(hosts=12, vms=300, seed=seed, version=rng.choice(list(ha.Version))).to_dict()
    cluster = d["cluster"]
    hosts, vms = d["hosts"], d["vms"]
    host_ids = [h["id"] for h in hosts]
    vm_ids = [v["id"] for v in vms]

    options: dict[str, str] = {}
    for key in ("das.respectVmVmAntiAffinityRules", "das.respectVmHostSoftAffinityRules"):
        choice = rng.choice([None, "true", "false"])
        if choice is not None:
            options[key] = choice
    if rng.random() < 0.7:
        options["das.maxFtVmsPerHost"] = rng.choice(["0", "1", "2"])
    cluster["advanced_options"] = options
    cluster["isolation_response"] = rng.choice(["none", "powerOff", "shutdown"])
    cluster["restart_priority"] = rng.choice(["low", "medium", "high"])
    if rng.random() < 0.4:
        cluster["admission_control"] = {"policy": "failoverHosts", "hosts": rng.sample(host_ids, 2)}

    for h in rng.sample(hosts, 2):
        how = rng.choice(["maintenance", "standby", "disconnected", "notResponding"])
        if how in ("maintenance", "standby"):
            h[how] = True
            for v in vms:  # a host in maintenance or standby runs no VM
                if v["host"] == h["id"]:
                    v["power_state"] = "poweredOff"
        else:
            h["state"] = how
    for h in rng.sample(hosts, 3):
        h["networks"] = rng.sample(h["networks"], max(1, len(h["networks"]) - 2))
    for v in rng.sample(vms, 40):
        v["role"] = rng.choice(["agent", "ftPrimary", "ftSecondary"])
    for v in rng.sample(vms, 3):  # a network no host offers
        v["networks"] = [*v["networks"], "lab-only-vlan"]

    def some_vms(low: int, high: int) -> list[str]:
        return rng.sample(vm_ids, rng.randint(low, high))

    rules: list[dict[str, Any]] = list(d["rules"])
    for i in range(25):
        kind = rng.choice(["vmHostMust", "vmHostMustNot", "vmHostShould", "vmHostShouldNot", "vmAntiAffinity",
                           "vmAffinity"])
        rule: dict[str, Any] = {"type": kind, "name": f"stress-{i}", "enabled": rng.random() < 0.85,
                                "vms": some_vms(2, 12) if kind.startswith("vmHost") else some_vms(2, 5)}
        if kind.startswith("vmHost"):
            rule["hosts"] = rng.sample(host_ids, rng.randint(1, 6))
        rules.append(rule)
    # Dependencies along one random order of VMs, so no cycle.
    chain = some_vms(20, 40)
    for i in range(1, len(chain)):
        prerequisites = rng.sample(chain[:i], min(i, rng.randint(1, 2)))
        rules.append({"type": "vmDependsOn", "name": f"dep-{i}", "vm": chain[i], "depends_on": prerequisites,
                      "enabled": rng.random() < 0.9})
    d["rules"] = rules
    return d


@pytest.mark.parametrize("seed", range(1, 21))
def test_reference_matches_engine_on_stressed_inventories(seed: int) -> None:
    inv = ha.Inventory.from_dict(_stress_document(seed))
    ids = [h.id for h in inv.hosts]
    rng = random.Random(1000 + seed)
    for k in (1, 2, 3, 5, 8):
        failed = rng.sample(ids, k)
        isolated = rng.sample([h for h in ids if h not in failed], 1)
        for iso in ([], isolated):
            assert plan_failover_py(inv, failed, iso) == engine_plan(inv, failed, iso), (seed, failed, iso)


def test_stressed_inventories_exercise_every_reason() -> None:
    """The stressed scenarios are not vacuous: together they hit every unplaced reason."""
    reasons: set[str] = set()
    for seed in range(1, 21):
        inv = ha.Inventory.from_dict(_stress_document(seed))
        ids = [h.id for h in inv.hosts]
        rng = random.Random(1000 + seed)
        for k in (1, 2, 3, 5, 8):
            reasons |= {reason for _, reason in engine_plan(inv, rng.sample(ids, k))[1]}
    assert reasons == {"noCompatibleHost", "insufficientResources", "antiAffinity", "vmHostRule",
                       "datastoreInaccessible"}


@pytest.fixture(scope="module")
def big() -> ha.Inventory:
    return ha.generate_inventory(hosts=96, vms=10_000, seed=1)


@pytest.mark.parametrize("failed_count", [1, 8])
def test_reference_matches_engine_at_benchmark_scale(big: ha.Inventory, failed_count: int) -> None:
    """Exactly the scenarios of benchmarks/test_bench_placement.py."""
    failed = [h.id for h in big.hosts[:failed_count]]
    placements, unplaced = plan_failover_py(big, failed)
    assert (placements, unplaced) == engine_plan(big, failed)
    assert len(placements) > 40 * failed_count


def test_unknown_host_is_a_key_error() -> None:
    inv = ha.generate_inventory(hosts=4, vms=20, seed=1)
    with pytest.raises(KeyError):
        plan_failover_py(inv, ["host-nope"])
    with pytest.raises(KeyError):  # the engine's UnknownIdError is a KeyError too
        ha.plan_failover(inv, ["host-nope"])


# -------------------------------------------------------------------------------- sweeps


def test_sweep_matches_engine_loop() -> None:
    inv = ha.generate_inventory(hosts=10, vms=250, seed=3)
    results = sweep_py(inv, max_failures=2)
    ids = sorted(h.id for h in inv.hosts)
    assert [r.failed_hosts for r in results] == [*itertools.combinations(ids, 1), *itertools.combinations(ids, 2)]
    for r in results:
        placements, unplaced = engine_plan(inv, list(r.failed_hosts))
        assert (r.restarted, r.unplaced, r.unplaced_vms) == (len(placements), len(unplaced),
                                                              tuple(v for v, _ in unplaced))


def test_sweep_on_a_subset() -> None:
    inv = ha.generate_inventory(hosts=10, vms=250, seed=3)
    subset = ["host-1003", "host-1001", "host-1007"]
    results = sweep_py(inv, max_failures=3, hosts=subset)
    assert [r.failed_hosts for r in results][:3] == [("host-1001",), ("host-1003",), ("host-1007",)]
    assert len(results) == 3 + 3 + 1


@pytest.mark.skipif(not hasattr(ha, "sweep"), reason="ha.sweep is not available yet")
def test_sweep_matches_ha_sweep() -> None:
    inv = ha.generate_inventory(hosts=10, vms=250, seed=3)
    engine: Any = getattr(ha, "sweep")(inv, max_failures=2)
    by_failure = {tuple(r.failed_hosts): (r.restarted, r.unplaced, tuple(r.unplaced_vms)) for r in engine.results}
    reference = {r.failed_hosts: (r.restarted, r.unplaced, r.unplaced_vms) for r in sweep_py(inv, max_failures=2)}
    assert by_failure == reference


# ---------------------------------------------------------------------- slot admission


def guide_inventory(**cluster: Any) -> ha.Inventory:
    """The vSphere 5.0 Availability Guide cluster of R-AC-SLOT (reservations include overhead)."""
    hosts = [host("host-1", cpu=9000, mem=9216), host("host-2", cpu=9000, mem=6144), host("host-3", cpu=6000, mem=6144)]
    sizes = [(2000, 1024), (2000, 1024), (1000, 2048), (1000, 1024), (1000, 1024)]
    vms = [vm(f"vm-{i}", "host-1", cpu=c, mem=m) for i, (c, m) in enumerate(sizes, 1)]
    return ha.Inventory.from_dict(doc(hosts, vms, cluster={"name": "guide", **cluster}))


def test_slot_policy_worked_example() -> None:
    r = admission_slot_py(guide_inventory(admission_control={"policy": "slot", "host_failures": 1}))
    assert (r.slot_cpu_mhz, r.slot_memory_mb) == (2000, 2048)
    assert r.host_slots == {"host-1": 4, "host-2": 3, "host-3": 3}
    assert (r.total_slots, r.used_slots, r.current_failover_level, r.available_slots) == (10, 5, 1, 1)
    assert r.satisfied and not r.overcommitted


def test_slot_policy_caps_fixed_slots_and_failed_hosts() -> None:
    capped = admission_slot_py(guide_inventory(
        admission_control={"policy": "slot", "host_failures": 1},
        advanced_options={"das.slotCpuInMHz": "1000", "das.slotMemInMB": "1024"}))
    # 1000 MHz / 1024 MB slots: the 2000 MHz VMs and the 2048 MB VM need 2 slots each.
    assert (capped.slot_cpu_mhz, capped.slot_memory_mb, capped.used_slots) == (1000, 1024, 8)
    assert capped.host_slots == {"host-1": 9, "host-2": 6, "host-3": 6}
    fixed = admission_slot_py(guide_inventory(
        admission_control={"policy": "slot", "host_failures": 2, "slot_cpu_mhz": 3000, "slot_memory_mb": 3072}))
    assert (fixed.slot_cpu_mhz, fixed.slot_memory_mb, fixed.used_slots) == (3000, 3072, 5)
    assert fixed.host_slots == {"host-1": 3, "host-2": 2, "host-3": 2}
    assert fixed.current_failover_level == 0 and fixed.overcommitted is False and not fixed.satisfied
    down = admission_slot_py(guide_inventory(admission_control={"policy": "slot", "host_failures": 1}), ["host-1"])
    assert down.host_slots == {"host-2": 3, "host-3": 3}
    assert (down.current_failover_level, down.satisfied) == (0, False)  # 6 slots, 3 after losing one more


@pytest.mark.skipif(not hasattr(ha, "admission_control"), reason="ha.admission_control is not available yet")
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_slot_policy_matches_engine(seed: int) -> None:
    d = ha.generate_inventory(hosts=12, vms=300, seed=seed).to_dict()
    d["cluster"]["admission_control"] = {"policy": "slot", "host_failures": 1}
    inv = ha.Inventory.from_dict(d)
    engine: Any = getattr(ha, "admission_control")(inv)
    r = admission_slot_py(inv)
    assert (engine.slot_cpu_mhz, engine.slot_memory_mb) == (r.slot_cpu_mhz, r.slot_memory_mb)
    assert (engine.total_slots, engine.used_slots, engine.available_slots) == (r.total_slots, r.used_slots,
                                                                              r.available_slots)
    assert engine.current_failover_level == r.current_failover_level
    assert dict(engine.host_slots) == r.host_slots
    assert engine.satisfied == r.satisfied
