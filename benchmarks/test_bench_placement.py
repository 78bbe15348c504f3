"""Failover planning at the vSphere 7/8 cluster maximum (96 hosts, 10,000 VMs): the engine
(``ha.plan_failover``) against the straightforward pure-Python reference of the same rules
(benchmarks/reference.py; tests/test_reference_py.py shows both give the same plans).

Run with ``--benchmark-group-by=group``: each table is one scenario, so the engine/reference
ratio reads off the parenthesised relative figures.
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
    """``big`` with its Python views (hosts, VMs, rules, config) built: the Inventory caches
    them on first use, so neither side is charged that one-time conversion."""
    assert big.hosts and big.vms and big.rules and big.config
    return big


def failed_hosts(inv: ha.Inventory, count: int) -> list[str]:
    return [h.id for h in inv.hosts[:count]]


@pytest.mark.parametrize("count", sorted(SCENARIOS), ids=lambda n: f"{n}_failed")
def test_plan_failover_engine(benchmark: Any, warm_big: ha.Inventory, count: int) -> None:
    benchmark.group = SCENARIOS[count]
    plan = benchmark(ha.plan_failover, warm_big, failed_hosts(warm_big, count))
    assert plan.restarted > 40 * count


@pytest.mark.parametrize("count", sorted(SCENARIOS), ids=lambda n: f"{n}_failed")
def test_plan_failover_reference_py(benchmark: Any, warm_big: ha.Inventory, count: int) -> None:
    benchmark.group = SCENARIOS[count]
    placements, _ = benchmark.pedantic(
        plan_failover_py, args=(warm_big, failed_hosts(warm_big, count)), rounds=REFERENCE_ROUNDS[count], iterations=1
    )
    assert len(placements) > 40 * count
