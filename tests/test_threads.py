"""Thread safety (issue 8): many Python threads calling the engine at once on shared objects.

Every call that does real work releases the GIL while it runs (``guard_detached`` in
``src/python/errors.rs``): parsing, planning, admission control, simulation runs. Inventories
are immutable and shared by reference (``Arc``); a ``Simulation`` sits behind a mutex, so
threads sharing one serialize instead of racing (``fork()`` gives each thread its own).

Free-threaded Python: ``src/python/mod.rs`` declares no ``gil_used = true``, and pyo3 0.30
defaults to ``gil_used = false``, i.e. the module declares that it does not need the GIL. The
extension is built for the stable ABI (``abi3-py311``), which free-threaded interpreters
(3.13t, 3.14t) cannot load; a free-threaded build needs a version-specific (non-abi3) build.
``test_free_threading_declaration`` records what the running interpreter reports.
"""

from __future__ import annotations

import sys
import sysconfig
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

import hapolicy as ha

from .conftest import EXAMPLES

THREADS = 8
TIMEOUT = 120  # seconds for any one batch: a deadlock fails the test instead of hanging it


@pytest.fixture(scope="module")
def shared() -> ha.Inventory:
    return ha.generate_inventory(hosts=24, vms=1500, seed=7)


@pytest.fixture(scope="module")
def lab_inv() -> ha.Inventory:
    return ha.Inventory.load(EXAMPLES / "lab.json")


def run_threads(jobs: list[Callable[[], Any]]) -> list[Any]:
    """Runs every job on THREADS threads, released together once all are queued; results in
    job order. A job that does not finish within TIMEOUT fails the test (no hang)."""
    gate = threading.Event()

    def wrap(job: Callable[[], Any]) -> Callable[[], Any]:
        def go() -> Any:
            gate.wait(timeout=TIMEOUT)
            return job()
        return go

    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        futures = [pool.submit(wrap(j)) for j in jobs]
        gate.set()
        return [f.result(timeout=TIMEOUT) for f in futures]


def plan_key(plan: ha.FailoverPlan) -> Any:
    return plan.to_dict()


def test_concurrent_plans_and_admission_on_a_shared_inventory(shared: ha.Inventory) -> None:
    hosts = [h.id for h in shared.hosts]
    scenarios = [[hosts[i % len(hosts)]] for i in range(THREADS * 2)]
    expected_plans = [plan_key(ha.plan_failover(shared, s)) for s in scenarios]
    expected_ac = [ha.admission_control(shared, s) for s in scenarios]
    jobs: list[Callable[[], Any]] = []
    for s in scenarios:
        jobs.append(lambda s=s: plan_key(ha.plan_failover(shared, s)))
        jobs.append(lambda s=s: ha.admission_control(shared, s))
    results = run_threads(jobs)
    assert results[0::2] == expected_plans
    assert results[1::2] == expected_ac


def test_concurrent_simulations_from_one_inventory(lab_inv: ha.Inventory) -> None:
    hosts = [h.id for h in lab_inv.hosts]

    def simulate(i: int) -> str:
        sim = ha.Simulation(lab_inv)
        sim.fail_host(hosts[i % len(hosts)], at=0)
        sim.isolate_host(hosts[(i + 1) % len(hosts)], at=30, until=400)
        return sim.run(until=3600).text()

    expected = [simulate(i) for i in range(THREADS * 2)]
    assert run_threads([lambda i=i: simulate(i) for i in range(THREADS * 2)]) == expected


def test_threads_sharing_one_simulation_serialize(lab_inv: ha.Inventory) -> None:
    """One Simulation driven from many threads: calls serialize (mutex), nothing is lost or
    duplicated, and the timeline equals the single-threaded one however the runs interleave."""
    single = ha.Simulation(lab_inv)
    single.fail_host("host-21", at=0)
    single.run(until=3600)

    sim = ha.Simulation(lab_inv)
    sim.fail_host("host-21", at=0)
    steps = [100.0 * (i + 1) for i in range(36)]
    chunks = run_threads([lambda t=t: sim.run(until=t) for t in steps])
    assert sum(len(c) for c in chunks) == len(single.timeline)
    assert sim.timeline == single.timeline
    assert sim.now == 3600.0


def test_concurrent_parsing(lab_inv: ha.Inventory, shared: ha.Inventory) -> None:
    texts = [lab_inv.to_json(), shared.to_json(), lab_inv.to_json(indent=2)]
    expected = [ha.Inventory.from_json(t) for t in texts]
    results = run_threads([lambda t=t: ha.Inventory.from_json(t) for t in texts * THREADS])
    assert results == expected * THREADS
    # Bad input from many threads: each gets its own complete error.
    bad = '{"hosts": [{"id": "h", "cpu_mhz": -1, "memory_mb": 1}]}'

    def fail() -> list[tuple[str, str]]:
        with pytest.raises(ha.InventoryError) as err:
            ha.Inventory.from_json(bad)
        return err.value.problems

    assert run_threads([fail] * THREADS) == [[("hosts[0].cpu_mhz", "must not be negative, got -1")]] * THREADS


def test_mixed_workload_has_no_deadlock(lab_inv: ha.Inventory, shared: ha.Inventory) -> None:
    text = lab_inv.to_json()
    sim = ha.Simulation(lab_inv)
    jobs: list[Callable[[], Any]] = [
        lambda: ha.plan_failover(shared, [shared.hosts[0].id]).restarted,
        lambda: ha.admission_control(shared).current_failover_level,
        lambda: ha.Inventory.from_json(text).summary(),
        lambda: sim.fork().run(until=1200).text(),
        lambda: ha.check_power_on(lab_inv, {"id": "new", "host": "host-22", "home_datastore": "datastore-11"}).allowed,
        lambda: ha.elect(shared).master,
        lambda: ha.heartbeat_datastores(lab_inv).to_dict(),
        lambda: ha.Simulation(lab_inv).run(until=60).text(),
    ] * 3
    expected = [j() for j in jobs]
    assert run_threads(jobs) == expected


def test_gil_is_released_during_long_work() -> None:
    """A pure-Python counter keeps advancing on another thread while the engine parses and
    plans a large inventory: the engine does not hold the GIL while it works."""
    big = ha.generate_inventory(hosts=96, vms=40_000, seed=3)
    text = big.to_json()
    failed = big._core.host_ids()[:8]
    counter = 0
    stop = threading.Event()

    def count() -> None:
        nonlocal counter
        while not stop.is_set():
            counter += 1

    worker = threading.Thread(target=count, daemon=True)
    worker.start()
    try:
        time.sleep(0.05)
        # Baseline rate of the counter while the main thread sleeps (GIL free).
        c0, t0 = counter, time.perf_counter()
        time.sleep(0.2)
        rate = (counter - c0) / (time.perf_counter() - t0)

        def simulate(inv: ha.Inventory) -> None:
            sim = ha._core.Simulation(inv._core)
            for h in failed[:4]:
                sim.fail_host(h, 0.0)
            sim.run(900.0)

        def during(call: Callable[[], Any]) -> tuple[float, float]:
            # Repeated until 0.3 s have passed, so short calls still say something.
            c, t = counter, time.perf_counter()
            while time.perf_counter() - t < 0.3:
                call()
            return counter - c, time.perf_counter() - t

        for name, call in [
            ("from_json", lambda: ha.Inventory.from_json(text)),
            # The engine's part of plan_failover; turning the plan into Python objects
            # (FailoverPlan.__init__ → to_obj) needs the GIL by nature.
            ("plan_failover", lambda: ha._core.plan_failover(big._core, failed, [])),
            ("admission_control", lambda: ha._core.admission_control(big._core, None)),
            ("simulation run", lambda: simulate(big)),
        ]:
            advanced, took = during(call)
            # With the GIL held throughout, the counter could only run for one switch interval
            # (5 ms) before the call; released, it runs at its own pace for the whole call.
            # A generous bound: a fifth of the idle rate (the other core may be busy).
            assert advanced >= 0.2 * rate * took, (name, advanced, rate, took)
    finally:
        stop.set()
        worker.join(timeout=10)


def test_free_threading_declaration() -> None:
    """Records what the interpreter reports. On a GIL build (the supported abi3 case) the GIL is
    enabled whatever the module declares; a free-threaded interpreter would keep the GIL off
    after importing hapolicy only if the module declared ``gil_used = false`` (it does, by
    pyo3's default) — checked there when such an interpreter runs this test."""
    free_threaded_build = bool(sysconfig.get_config_var("Py_GIL_DISABLED"))
    is_gil_enabled = getattr(sys, "_is_gil_enabled", lambda: True)
    if free_threaded_build:
        assert not is_gil_enabled(), "importing hapolicy re-enabled the GIL"
    else:
        assert is_gil_enabled()


def test_reading_a_running_simulation_does_not_stall_other_threads() -> None:
    inv = ha.generate_inventory(hosts=96, vms=40_000, seed=5)
    sim = ha.Simulation(inv)
    for h in inv._core.host_ids()[:48]:
        sim.fail_host(h, at=0)  # ~0.5 s of engine work to 7200 s
    counter = 0
    stop = threading.Event()
    running = threading.Event()

    def count() -> None:
        nonlocal counter
        while not stop.is_set():
            counter += 1

    def run() -> int:
        running.set()
        return len(sim._core.run(7200.0))

    def read() -> tuple[int, float]:
        c, t = counter, time.perf_counter()
        sim._core.now()  # waits for the run to release the simulation
        return counter - c, time.perf_counter() - t

    counting = threading.Thread(target=count, daemon=True)
    counting.start()
    try:
        c0, t0 = counter, time.perf_counter()
        time.sleep(0.05)
        rate = (counter - c0) / (time.perf_counter() - t0)
        with ThreadPoolExecutor(max_workers=2) as pool:
            runner = pool.submit(run)
            running.wait(timeout=TIMEOUT)
            time.sleep(0.05)  # the run holds the simulation's lock now
            advanced, waited = pool.submit(read).result(timeout=TIMEOUT)
            assert runner.result(timeout=TIMEOUT) > 0
    finally:
        stop.set()
        counting.join(timeout=10)
    # The reader waited for the run; the counter thread must have kept running meanwhile.
    assert waited > 0.1, f"the reader did not wait ({waited:.3f}s): nothing shown"
    assert advanced >= 0.2 * rate * waited, (advanced, rate, waited)
