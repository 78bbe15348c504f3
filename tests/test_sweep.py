"""What-if sweeps through the Python API: equal to per-scenario plans, deterministic across
thread counts, shards merge into the whole, figures checked by hand."""

from __future__ import annotations

import itertools
import pickle
import subprocess
import sys
from pathlib import Path

import pytest

import hapolicy as ha

from .conftest import doc, host, vm

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def small() -> ha.Inventory:
    return ha.generate_inventory(hosts=9, vms=400, seed=3)


def test_equals_plan_failover_for_every_scenario(small: ha.Inventory) -> None:
    s = ha.sweep(small, max_failures=2)
    hosts = [h.id for h in small.hosts if h.state == "connected" and not h.maintenance and not h.standby]
    combos = [c for k in (1, 2) for c in itertools.combinations(hosts, k)]
    assert s.scenarios == len(combos) == len(s.results)
    for combo, r in zip(combos, s.results):
        plan = ha.plan_failover(small, list(combo))
        assert r.failed_hosts == combo
        assert r.restarted == plan.restarted and r.unplaced == len(plan.unplaced)
        assert r.unplaced_vms == tuple(u.vm for u in plan.unplaced)
        assert r.reasons == tuple(u.reason for u in plan.unplaced)


def test_same_result_whatever_the_thread_count(small: ha.Inventory) -> None:
    one = ha.sweep(small, max_failures=3, threads=1)
    two = ha.sweep(small, max_failures=3, threads=2)
    assert one == two and one.results == two.results


def test_shards_merge_into_the_whole(small: ha.Inventory) -> None:
    whole = ha.sweep(small, max_failures=2)
    parts = [ha.sweep(small, max_failures=2, shard=(i, 3)) for i in range(3)]
    assert sum(p.scenarios for p in parts) == whole.scenarios
    assert ha.SweepResult.merge(parts[2], parts[0], parts[1]) == whole
    assert pickle.loads(pickle.dumps(parts[1])) == parts[1]
    assert parts[0].max_failures_tolerated is None  # one shard cannot decide it
    with pytest.raises(ha.HaPolicyError):
        parts[0].merge(parts[0])  # overlapping shards


def test_max_failures_tolerated_by_hand() -> None:
    # Four equal hosts (10,000 MB), each 60 % reserved by six 1,000 MB VMs.
    # One failure: 6,000 MB onto three hosts with 4,000 MB free each (12,000) → fits.
    # Two failures: 12,000 MB onto two hosts with 8,000 MB free → 4 VMs left → tolerates 1.
    hosts = [host(f"host-{i}", cpu=100000, mem=10000) for i in range(1, 5)]
    vms = [vm(f"vm-{i}-{j}", f"host-{i}", mem=1000) for i in range(1, 5) for j in range(6)]
    inv = ha.Inventory.from_dict(doc(hosts, vms, cluster={"admission_control": {"policy": "disabled"}}))
    s = ha.sweep(inv, max_failures=3)
    assert s.max_failures_tolerated == 1
    assert [(lv.failures, lv.combinations, lv.fully_restarted) for lv in s.per_k] == [(1, 4, 4), (2, 6, 0), (3, 4, 0)]
    worst = s.worst(1)[0]
    # Three failures: 18 VMs onto one host with 4,000 MB free → 4 restart, 14 unplaced.
    assert len(worst.failed_hosts) == 3 and (worst.restarted, worst.unplaced) == (4, 14)


def test_candidate_hosts_sampling_and_worst_only(small: ha.Inventory) -> None:
    ids = [h.id for h in small.hosts][:4]
    s = ha.sweep(small, max_failures=2, hosts=ids)
    assert s.scenarios == 4 + 6 and s.candidate_hosts == ids
    full = ha.sweep(small, max_failures=3)
    sample = ha.sweep(small, max_failures=3, sample=20, seed=7)
    assert sample.scenarios == 20 and sample == ha.sweep(small, max_failures=3, sample=20, seed=7)
    assert set(sample.results) <= set(full.results)
    kept = ha.sweep(small, max_failures=3, worst_only=5)
    assert kept.scenarios == full.scenarios and len(kept) == 5
    assert [r.unplaced for r in kept.worst(5)] == [r.unplaced for r in full.worst(5)]


def test_progress_and_stop(small: ha.Inventory) -> None:
    seen: list[tuple[int, int]] = []
    s = ha.sweep(small, max_failures=2, progress=lambda d, t: seen.append((d, t)))
    assert seen and seen[-1] == (s.scenarios, s.scenarios)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)
    # Long enough (34,220 scenarios) that the first progress report comes before the end.
    big = ha.generate_inventory(hosts=60, vms=3000, seed=1)
    stopped = ha.sweep(big, max_failures=3, threads=1, progress=lambda d, t: False)
    assert not stopped.complete and stopped.scenarios < stopped.sweep_size == 60 + 1770 + 34220
    with pytest.raises(ZeroDivisionError):
        ha.sweep(small, max_failures=2, progress=lambda d, t: 1 / 0)


def test_bad_arguments(small: ha.Inventory) -> None:
    with pytest.raises(ha.ArgumentError):
        ha.sweep(small, max_failures=0)
    with pytest.raises(ha.ArgumentError):
        ha.sweep(small, max_failures=2, shard=(3, 3))
    with pytest.raises(ha.UnknownIdError):
        ha.sweep(small, max_failures=1, hosts=["host-nope"])


def test_exports(small: ha.Inventory, tmp_path: Path) -> None:
    s = ha.sweep(small, max_failures=1)
    df = s.to_pandas()
    assert list(df["failures"].unique()) == [1] and len(df) == s.scenarios
    pytest.importorskip("pyarrow")
    table = s.to_arrow()
    assert table.num_rows == s.scenarios
    s.to_parquet(str(tmp_path / "s.parquet"))
    assert (tmp_path / "s.parquet").stat().st_size > 0


def test_dask_example_runs_on_a_local_cluster() -> None:
    pytest.importorskip("distributed")
    r = subprocess.run([sys.executable, str(ROOT / "examples" / "dask_sweep.py"), "--max-failures", "2", "--shards", "3"],
                       capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "merged shards equal the unsharded sweep" in r.stdout
