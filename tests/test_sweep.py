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


def test_four_failures_equal_plan_failover_and_decide_the_tolerance() -> None:
    """Every 1- to 4-host failure of a 14-host cluster, as ``plan_failover`` plans it (most of
    them decided by the sweep's capacity bound, docs/rules/sweep.rst), and
    ``max_failures_tolerated`` from those plans by hand: the largest k with no stranded VM in any
    combination of at most k failed hosts."""
    inv = ha.generate_inventory(hosts=14, vms=260, seed=22)
    s = ha.sweep(inv, 4, worst_only=5)
    hosts = [h.id for h in inv.hosts]
    failing_levels = set()
    checked = 0
    for k in range(1, 5):
        for combo in itertools.combinations(hosts, k):
            plan = ha.plan_failover(inv, list(combo))
            if plan.unplaced:
                failing_levels.add(k)
            checked += 1
    assert s.scenarios == checked
    expected = min(failing_levels) - 1 if failing_levels else 4
    assert s.max_failures_tolerated == expected
    full = ha.sweep(inv, 4)
    for r in full.results[:: 7]:
        plan = ha.plan_failover(inv, list(r.failed_hosts))
        assert (r.restarted, r.unplaced_vms) == (plan.restarted, tuple(u.vm for u in plan.unplaced))
    assert [w.failed_hosts for w in s.worst(5)] == [w.failed_hosts for w in full.worst(5)]


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


# ------------------------------------------------------------------ failures tolerated


def _identical(n: int, per_host: int) -> ha.Inventory:
    """``n`` hosts of 10,000 MB, each running ``per_host`` VMs reserving 2,500 + 100 MB overhead
    = 2,600 MB; admission control off."""
    hosts = [host(f"h{i}", mem=10000) for i in range(n)]
    vms = [vm(f"vm-{i}-{j}", f"h{i}", mem=2500, overhead=100) for i in range(n) for j in range(per_host)]
    return ha.Inventory.from_dict(doc(hosts, vms, cluster={"name": "t", "admission_control": {"policy": "disabled"}}))


@pytest.mark.parametrize("threads", [1, 2])
def test_failures_tolerated_by_hand(threads: int) -> None:
    # One VM per host: a survivor has 10,000 − 2,600 = 7,400 MB free, room for 2 more VMs.
    # j failures restart j VMs on 6 − j survivors: fine iff j ≤ 2 (6 − j), i.e. j ≤ 4.
    # Five failures: 5 VMs for one survivor with 2 slots: 3 unplaced. So 4 tolerated; the first
    # failing combination of level 5 is h0..h4.
    t = ha.failures_tolerated(_identical(6, 1), 5, threads=threads)
    assert (t.tolerated, t.max_failures, t.unit, t.complete) == (4, 5, "host", True)
    assert t.first_failure is not None
    assert t.first_failure.failed_hosts == ("h0", "h1", "h2", "h3", "h4")
    assert t.first_failure.unplaced == 3 and t.failed_labels == ("h0", "h1", "h2", "h3", "h4")
    assert t.scenarios_total == 6 + 15 + 20 + 15 + 6
    if threads == 1:  # levels 1-4 whole, then the first scenario of level 5
        assert t.scenarios_evaluated == 6 + 15 + 20 + 15 + 1
    # Two VMs per host (4,800 MB free, one slot): 2j ≤ 6 − j, j ≤ 2; three failures put 6 VMs on
    # three one-slot survivors: 3 unplaced.
    t = ha.failures_tolerated(_identical(6, 2), 4, threads=threads)
    assert t.tolerated == 2 and t.first_failure is not None
    assert t.first_failure.failed_hosts == ("h0", "h1", "h2") and t.first_failure.unplaced == 3
    assert t.scenarios_evaluated < t.scenarios_total == 6 + 15 + 20 + 15
    d = t.to_dict()
    assert d["tolerated"] == 2 and d["first_failure"]["failed_labels"] == ["h0", "h1", "h2"]
    assert "tolerates 2 host failures" in str(t) and "h0, h1, h2" in str(t)
    assert "FailuresTolerated(tolerated=2" in repr(t)
    # Every combination passes up to 3 (n = 6, one VM each, k = 3): nothing pruned.
    t = ha.failures_tolerated(_identical(6, 1), 3, threads=threads)
    assert (t.tolerated, t.first_failure, t.tolerates_all) == (3, None, True)
    assert t.scenarios_evaluated == t.scenarios_total == 6 + 15 + 20


def test_failures_tolerated_equals_the_sweep(small: ha.Inventory) -> None:
    for k in (1, 2, 3):
        expected = ha.sweep(small, max_failures=k).max_failures_tolerated
        one, two = (ha.failures_tolerated(small, k, threads=t) for t in (1, 2))
        assert one.tolerated == two.tolerated == expected
        assert one.first_failure == two.first_failure


def test_failures_tolerated_errors() -> None:
    inv = _identical(3, 1)
    with pytest.raises(ha.ArgumentError, match="max_failures"):
        ha.failures_tolerated(inv, 4)
    with pytest.raises(ha.ArgumentError, match="unit"):
        ha.failures_tolerated(inv, 1, unit="rack")
    seen: list[tuple[int, int]] = []
    t = ha.failures_tolerated(inv, 3, threads=1, progress=lambda d, n: seen.append((d, n)))
    # 3 hosts, one VM each: 1 and 2 failures fit (2 slots per survivor), 3 leave nothing.
    assert t.tolerated == 2 and seen[-1] == (3 + 3 + 1, 3 + 3 + 1)


def test_tolerance_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import json

    from hapolicy.cli import main

    path = tmp_path / "six.json"
    path.write_text(_identical(6, 2).to_json())
    assert main(["sweep", str(path), "--max-failures", "4", "--tolerance", "--json", "--check"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["tolerated"] == 2 and data["first_failure"]["failed_hosts"] == ["h0", "h1", "h2"]
    assert main(["sweep", str(path), "--max-failures", "2", "--tolerance"]) == 0
    assert capsys.readouterr().out.startswith("tolerates 2 host failures")
