"""What-if sweeps on the vSphere 7/8 cluster maximum (96 hosts, 10,000 VMs): every 1-host
failure, and every 1- and 2-host failure of a host subset. Three ways to get the same
per-scenario results (failed hosts, restarted, unplaced):

* ``reference_py``: the pure-Python reference, one plan per scenario (benchmarks/reference.py);
* ``engine_loop``: ``ha.plan_failover`` called in a Python loop, one plan per scenario;
* ``engine_sweep``: ``ha.sweep`` (Rust, parallel), when the package has it; skipped otherwise.

Run with ``--benchmark-group-by=group``: each table is one sweep, so the ratios read off the
parenthesised relative figures.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import pytest

import hapolicy as ha
from reference import ScenarioResultPy, sweep_py

ALL_SINGLE = "sweep: every 1-host failure of 96 hosts (96 scenarios, 10,000 VMs)"
SUBSET_PAIRS = "sweep: 1- and 2-host failures of an 8-host subset (36 scenarios, 10,000 VMs)"


@pytest.fixture(scope="module")
def warm_big(big: ha.Inventory) -> ha.Inventory:
    """``big`` with its cached Python views built (see test_bench_placement.py)."""
    assert big.hosts and big.vms and big.rules and big.config
    return big


def subset(inv: ha.Inventory) -> list[str]:
    """Eight hosts spread over the cluster (host sizes and datastores vary along it)."""
    return [h.id for h in inv.hosts[::12]]


def sweep_engine_loop(inv: ha.Inventory, max_failures: int, hosts: Sequence[str] | None = None) -> list[ScenarioResultPy]:
    """The engine path available without ``ha.sweep``: one ``ha.plan_failover`` per scenario,
    the same scenarios in the same order as ``sweep_py``."""
    candidates = sorted(hosts if hosts is not None else [h.id for h in inv.hosts])
    results: list[ScenarioResultPy] = []
    for k in range(1, max_failures + 1):
        for failed in itertools.combinations(candidates, k):
            plan = ha.plan_failover(inv, failed)
            unplaced = tuple(u.vm for u in plan.unplaced)
            results.append(ScenarioResultPy(failed, plan.restarted, len(unplaced), unplaced))
    return results


SWEEPS: dict[str, tuple[int, bool]] = {ALL_SINGLE: (1, False), SUBSET_PAIRS: (2, True)}


def sweep_args(inv: ha.Inventory, group: str) -> tuple[int, list[str] | None]:
    max_failures, on_subset = SWEEPS[group]
    return max_failures, subset(inv) if on_subset else None


def expected_scenarios(inv: ha.Inventory, group: str) -> int:
    max_failures, hosts = sweep_args(inv, group)
    n = len(hosts) if hosts is not None else len(inv.hosts)
    return sum(len(list(itertools.combinations(range(n), k))) for k in range(1, max_failures + 1))


@pytest.mark.parametrize("group", list(SWEEPS), ids=["all_1_host", "subset_2_hosts"])
def test_sweep_reference_py(benchmark: Any, warm_big: ha.Inventory, group: str) -> None:
    benchmark.group = group
    max_failures, hosts = sweep_args(warm_big, group)
    results = benchmark.pedantic(sweep_py, args=(warm_big, max_failures, hosts), rounds=2, iterations=1)
    assert len(results) == expected_scenarios(warm_big, group)


@pytest.mark.parametrize("group", list(SWEEPS), ids=["all_1_host", "subset_2_hosts"])
def test_sweep_engine_loop(benchmark: Any, warm_big: ha.Inventory, group: str) -> None:
    benchmark.group = group
    max_failures, hosts = sweep_args(warm_big, group)
    results = benchmark.pedantic(sweep_engine_loop, args=(warm_big, max_failures, hosts), rounds=3, iterations=1)
    assert len(results) == expected_scenarios(warm_big, group)


@pytest.mark.skipif(not hasattr(ha, "sweep"), reason="ha.sweep (Rust, parallel) is not available yet")
@pytest.mark.parametrize("group", list(SWEEPS), ids=["all_1_host", "subset_2_hosts"])
def test_sweep_engine_sweep(benchmark: Any, warm_big: ha.Inventory, group: str) -> None:
    benchmark.group = group
    max_failures, hosts = sweep_args(warm_big, group)
    sweep: Any = getattr(ha, "sweep")
    result = benchmark(sweep, warm_big, max_failures=max_failures, hosts=hosts)
    assert result.scenarios == expected_scenarios(warm_big, group)
