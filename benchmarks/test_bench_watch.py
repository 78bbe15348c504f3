"""Latency of ``hapolicy watch``: from a change made in vCenter to the evaluated posture
(run with ./run.sh bench; needs Go for the simulator, tests/vcsim).

Each round powers a VM off or on through the API (the task's round trip included) and waits
for the :class:`~hapolicy.io.Change` the watch yields — what ``hapolicy watch`` then prints.
govmomi's simulator collects property updates on a 250 ms tick, so most of the figure is the
simulator's; ``Change.seconds`` (update received → posture evaluated) is hapolicy's share and
is reported beside it.
"""

from __future__ import annotations

import statistics
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

pytest.importorskip("pyVmomi")
from pyVim.task import WaitForTask  # noqa: E402

from hapolicy import io  # noqa: E402
from tests.vcsim import launch  # noqa: E402

ROUNDS = 20


def test_bench_watch_latency(benchmark: Any) -> None:
    try:
        binary = launch.build()
    except launch.ToolchainMissing as exc:
        pytest.skip(str(exc))
    with launch.start(binary, "-vms", "4", "-ha", "percentage", "-notify") as sim:
        admin = sim.connect()
        _, _, vms = launch.cluster_objects(admin)
        w = io.watch(sim.connect(), "DC0_C0", duration=600)
        next(w)
        own: list[float] = []
        state = {"on": True}

        def one_change() -> None:
            task = vms[0].PowerOffVM_Task() if state["on"] else vms[0].PowerOnVM_Task()
            WaitForTask(task)
            state["on"] = not state["on"]
            change = next(w)
            assert "powered" in change.what
            own.append(change.seconds)

        benchmark.pedantic(one_change, rounds=ROUNDS, iterations=1)
        w.close()
    benchmark.extra_info["posture_s_median"] = statistics.median(own)
    print(f"\nwatch: update received → posture evaluated, median {statistics.median(own) * 1000:.1f} ms, "
          f"max {max(own) * 1000:.1f} ms over {len(own)} changes")
