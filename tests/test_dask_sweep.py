"""Sweeps on a real Dask cluster: a `dask scheduler` and `dask worker` started as separate
processes on 127.0.0.1 (not a LocalCluster in this process), whose working directory holds
nothing of this repository — what a remote cluster with hapolicy installed looks like.

distributed is a test dependency: without it this module fails to import (an error, not a
skip), because then the distributed sweep is not tested at all.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import distributed  # noqa: F401  (a missing test dependency must fail this module, not skip it)
import pytest
from distributed import Client

import hapolicy as ha
import hapolicy.distributed as had

ROOT = Path(__file__).resolve().parent.parent
DASK = Path(sys.executable).parent / "dask"
START_TIMEOUT = 90.0


def _start(args: list[str], cwd: Path, log: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "DASK_CONFIG")}
    out = open(log, "wb")  # noqa: SIM115 (closed when the process is reaped)
    # A session of its own: teardown signals the process group (nanny and worker process).
    return subprocess.Popen([str(DASK), *args], cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT,
                            start_new_session=True)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    for sig, wait in ((signal.SIGTERM, 15), (signal.SIGKILL, 15)):
        if proc.poll() is not None:
            break
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            break
        try:
            proc.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            continue
    # Whatever is left of the group (a worker whose nanny went first).
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The scheduler file of a scheduler and two single-threaded worker processes."""
    assert DASK.exists(), f"{DASK} is missing: install the test extra (distributed)"
    work = tmp_path_factory.mktemp("dask")
    scheduler_file = work / "scheduler.json"
    procs: list[subprocess.Popen[bytes]] = []
    try:
        procs.append(_start(["scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                             "--scheduler-file", str(scheduler_file)], work, work / "scheduler.log"))
        deadline = time.monotonic() + START_TIMEOUT
        while not scheduler_file.exists() or not scheduler_file.read_text().strip():
            assert procs[0].poll() is None, (work / "scheduler.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "the scheduler did not start: " + (work / "scheduler.log").read_text()[-3000:]
            time.sleep(0.2)
        for i in range(2):
            procs.append(_start(["worker", "--scheduler-file", str(scheduler_file), "--host", "127.0.0.1",
                                 "--nthreads", "1", "--nworkers", "1", "--no-dashboard", "--name", f"w{i}",
                                 "--local-directory", str(work / f"w{i}"), "--death-timeout", "60"],
                                work, work / f"worker{i}.log"))
        with Client(scheduler_file=str(scheduler_file), timeout=30) as client:
            try:
                client.wait_for_workers(2, timeout=START_TIMEOUT)
            except TimeoutError:
                logs = "\n".join((work / f"worker{i}.log").read_text()[-2000:] for i in range(2))
                pytest.fail(f"the Dask workers did not start:\n{logs}")
        yield scheduler_file
    finally:
        for proc in reversed(procs):
            _stop(proc)


@pytest.fixture()
def client(cluster: Path) -> Iterator[Client]:
    with Client(scheduler_file=str(cluster), timeout=30) as c:
        yield c


@pytest.fixture(scope="module")
def inv() -> ha.Inventory:
    return ha.generate_inventory(hosts=10, vms=240, seed=7)


def test_the_workers_are_other_processes_on_loopback(client: Client) -> None:
    workers = client.scheduler_info()["workers"]
    assert len(workers) == 2
    assert all(address.startswith("tcp://127.0.0.1:") for address in workers)
    assert set(client.run(os.getpid).values()).isdisjoint({os.getpid()})
    assert had.check_workers(client) == {address: ha.__version__ for address in workers}


def test_distributed_sweep_equals_the_local_sweep(client: Client, inv: ha.Inventory) -> None:
    with distributed.get_task_stream(client) as stream:
        got = had.sweep(client, inv, max_failures=2, shards=5)
    # 10 hosts: C(10, 1) + C(10, 2) failure combinations, each evaluated once across the shards.
    assert got.scenarios == math.comb(10, 1) + math.comb(10, 2) == 55
    assert got.complete
    assert got == ha.sweep(inv, max_failures=2)
    # The shards ran as tasks on the workers, not here.
    ran = [t for t in stream.data if str(t["key"]).startswith("sweep-")]
    assert len(ran) == 5 and {t["worker"] for t in ran} <= set(client.scheduler_info()["workers"])


def test_default_shard_count_and_other_options(client: Client, inv: ha.Inventory) -> None:
    hosts = [h.id for h in inv.hosts[:6]]
    assert had.sweep(client, inv, 3, hosts) == ha.sweep(inv, 3, hosts)
    assert had.sweep(client, inv, 3, sample=40, seed=5, shards=3) == ha.sweep(inv, 3, sample=40, seed=5)
    assert had.sweep(client, inv, 2, worst_only=4, shards=4) == ha.sweep(inv, 2, worst_only=4)
    # More shards than scenarios: the empty shards merge away.
    assert had.sweep(client, inv, 1, shards=16) == ha.sweep(inv, 1)
    # Failure units (R-DOMAIN): racks of three hosts, each shard a slice of the rack combinations.
    racks = inv.replace(hosts=[dataclasses.replace(h, fault_domain=f"rack-{i // 3}") for i, h in enumerate(inv.hosts)])
    by_rack = had.sweep(client, racks, 2, shards=3, unit="fault_domain")
    assert by_rack == ha.sweep(racks, 2, unit="fault_domain") and by_rack.unit == "fault_domain"
    assert by_rack.scenarios == math.comb(4, 1) + math.comb(4, 2)


def test_many_inventories_map_onto_the_workers(client: Client, inv: ha.Inventory) -> None:
    # docs/distributed.rst: one task per inventory (many clusters, or candidate designs).
    variants = [inv, ha.generate_inventory(hosts=6, vms=120, seed=1), ha.generate_inventory(hosts=8, vms=90, seed=2)]
    futures = client.map(ha.sweep, variants, max_failures=2, threads=1, pure=False)
    got = client.gather(futures)
    assert got == [ha.sweep(v, 2) for v in variants]
    assert [r.scenarios for r in got] == [10 + 45, 6 + 15, 8 + 28]


def test_a_scheduler_file_or_address_connects_for_the_call(cluster: Path, inv: ha.Inventory) -> None:
    assert had.sweep(cluster, inv, 1) == ha.sweep(inv, 1)
    address = json.loads(cluster.read_text())["address"]
    assert address.startswith("tcp://127.0.0.1:")
    assert had.sweep(address, inv, 1, shards=2) == ha.sweep(inv, 1)


def test_workers_with_another_version_are_refused(client: Client, inv: ha.Inventory,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    real = ha.__version__
    monkeypatch.setattr(ha, "__version__", "0.0.0.dev-client")
    with pytest.raises(had.WorkerVersionError) as err:
        had.sweep(client, inv, 1)
    text = str(err.value)
    assert "needs hapolicy 0.0.0.dev-client" in text and f"hapolicy {real}" in text
    assert text.count("tcp://127.0.0.1:") == 2  # each worker named by address
    # The check can be waived (e.g. for a build known to plan the same).
    assert had.sweep(client, inv, 1, check_version=False) == ha.sweep(inv, 1)


def test_argument_errors_are_clear(client: Client, inv: ha.Inventory) -> None:
    with pytest.raises(ha.ArgumentError, match="shards must be a whole number"):
        had.sweep(client, inv, 1, shards=0)
    with pytest.raises(ha.ArgumentError, match="client must be a distributed.Client"):
        had.sweep(object(), inv, 1)
    with pytest.raises(ha.ArgumentError, match="inv must be a hapolicy.Inventory"):
        had.sweep(client, inv.to_dict(), 1)  # type: ignore[arg-type]
    # Raised on a worker, re-raised here as the same error.
    with pytest.raises(ha.ArgumentError, match="only 10 host"):
        had.sweep(client, inv, 11)


def test_the_example_runs_against_the_scheduler(cluster: Path, tmp_path: Path) -> None:
    # Before, the example shipped a function of its own script, which the workers (started
    # elsewhere) could not import: "No module named 'dask_sweep'".
    r = subprocess.run([sys.executable, str(ROOT / "examples" / "dask_sweep.py"), "--scheduler", str(cluster),
                        "--max-failures", "2", "--shards", "3"],
                       capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "merged shards equal the unsharded sweep" in r.stdout
    assert "scenarios=1176" in r.stdout  # the example's 48 generated hosts: C(48, 1) + C(48, 2)
