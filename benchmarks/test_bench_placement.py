"""Failover planning at the vSphere 7/8 cluster maximum (96 hosts, 10,000 VMs): the engine
(``ha.plan_failover``) against the straightforward pure-Python reference of the same rules
(benchmarks/reference.py; tests/test_reference_py.py shows both give the same plans).

Run with ``--benchmark-group-by=group``: each table is one scenario, so the engine/reference
ratio reads off the parenthesised relative figures.

"Result materialized": both sides end with every placement readable as Python objects — the
engine's ``plan.placements`` list of ``Placement`` objects is built (it is built on first
access from the plan's compact rows), the reference returns its list of ``(vm, host)`` tuples.
The engine side plans on an inventory that was planned on once before (``warm_big``): the
first plan of an inventory builds the placement base every later plan shares (index, per-host
reservations); ``test_placement_base_build`` measures that one-time step on its own.
"""

from __future__ import annotations

from typing import Any

import pytest

import hapolicy as ha
from reference import plan_failover_py

SCENARIOS = {1: "plan_failover: 1 of 96 hosts fails (10,000 VMs)", 8: "plan_failover: 8 of 96 hosts fail (10,000 VMs)"}
# The reference takes tens of milliseconds to a second per plan: a few rounds are enough.
REFERENCE_ROUNDS = {1: 10, 8: 4}


@pytest.fixture(scope="module")
def warm_big(big: ha.Inventory) -> ha.Inventory:
    """``big`` with its Python views (hosts, VMs, rules, config) built and its placement base
    built by one plan: the Inventory keeps both from first use, so neither side is charged a
    one-time conversion."""
    assert big.hosts and big.vms and big.rules and big.config
    assert ha.plan_failover(big, failed_hosts(big, 1)).placements
    return big


def failed_hosts(inv: ha.Inventory, count: int) -> list[str]:
    return [h.id for h in inv.hosts[:count]]


@pytest.mark.parametrize("count", sorted(SCENARIOS), ids=lambda n: f"{n}_failed")
def test_plan_failover_engine(benchmark: Any, warm_big: ha.Inventory, count: int) -> None:
    benchmark.group = SCENARIOS[count]
    failed = failed_hosts(warm_big, count)

    def plan_materialized() -> list[ha.Placement]:
        return ha.plan_failover(warm_big, failed).placements

    placements = benchmark(plan_materialized)
    assert len(placements) > 40 * count


@pytest.mark.parametrize("count", sorted(SCENARIOS), ids=lambda n: f"{n}_failed")
def test_plan_failover_reference_py(benchmark: Any, warm_big: ha.Inventory, count: int) -> None:
    benchmark.group = SCENARIOS[count]
    placements, _ = benchmark.pedantic(
        plan_failover_py, args=(warm_big, failed_hosts(warm_big, count)), rounds=REFERENCE_ROUNDS[count], iterations=1
    )
    assert len(placements) > 40 * count


def test_placement_base_build(benchmark: Any, big: ha.Inventory) -> None:
    """The first plan of an inventory: a fresh copy each round (parsing not timed), its
    placement base built, then the plan as above."""
    benchmark.group = "placement base: first plan of an inventory (10,000 VMs)"
    text = big.to_json()
    failed = failed_hosts(big, 1)

    def fresh() -> tuple[tuple[ha.Inventory], dict[str, Any]]:
        return (ha.Inventory.from_json(text),), {}

    placements = benchmark.pedantic(lambda inv: ha.plan_failover(inv, failed).placements, setup=fresh, rounds=10)
    assert len(placements) > 40
