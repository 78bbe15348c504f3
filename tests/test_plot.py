"""hapolicy.plot: every plot renders to a readable PNG (Agg backend)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")

import matplotlib.image  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402

import hapolicy as ha  # noqa: E402
from hapolicy import plot  # noqa: E402
from hapolicy.testing import _failure_scenarios  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures() -> Iterator[None]:
    yield
    plt.close("all")


def save(ax: Any, path: Path) -> Path:
    fig = ax[0].figure if isinstance(ax, tuple) else ax.figure
    fig.savefig(path, dpi=80)
    return path


def assert_png_has_content(path: Path, min_bytes: int = 12_000) -> None:
    assert path.stat().st_size > min_bytes
    pixels = matplotlib.image.imread(str(path))
    height, width = pixels.shape[:2]
    assert width >= 400 and height >= 250
    inked = (pixels[..., :3].min(axis=2) < 0.9).mean()  # share of pixels that are not (near) white
    assert inked > 0.05


def texts(ax: Any) -> list[str]:
    return [t.get_text() for t in ax.texts]


# --------------------------------------------------------------------------- capacity


def test_capacity_after_a_failure(lab: ha.Inventory, tmp_path: Path) -> None:
    cpu, mem = plot.capacity(lab, failed_hosts=["host-21"])
    assert cpu.get_title() == "CPU reservations" and mem.get_title() == "Memory reservations (incl. overhead)"
    assert cpu.get_xlabel() == "CPU (GHz)" and mem.get_xlabel() == "memory (GB)"
    assert [t.get_text() for t in cpu.get_yticklabels()] == ["host-21\n(failed)", "host-22", "host-23", "host-24"]
    assert "40.0 of 48.0 GHz free (83 %)" in texts(cpu)       # host-22 takes the 4 restarted VMs
    assert "failed (4.0 GHz of VMs)" in texts(cpu)
    assert cpu.figure.get_suptitle() == "Capacity per host after host-21 fails — 4 VMs restarted, 0 unplaced"
    legend = [t.get_text() for t in cpu.figure.legends[0].get_texts()]
    assert legend == ["reserved by running VMs", "reserved by VMs HA restarts here", "failed host",
                      "unreserved after failover"]
    assert_png_has_content(save((cpu, mem), tmp_path / "capacity.png"))


def test_capacity_without_failure_on_given_axes(lab: ha.Inventory, tmp_path: Path) -> None:
    fig, axes = plt.subplots(2, 1, figsize=(8, 7), layout="constrained")
    cpu, mem = plot.capacity(lab, ax=axes)
    assert (cpu, mem) == (axes[0], axes[1])
    assert fig.get_suptitle() == "Capacity per host — lab, no failure"
    assert "40.0 of 48.0 GHz free (83 %)" not in texts(cpu)
    assert "44.0 of 48.0 GHz free (92 %)" in texts(cpu)
    assert [t.get_text() for t in mem.get_yticklabels()] == ["host-21", "host-22", "host-23", "host-24"]
    assert_png_has_content(save(cpu, tmp_path / "capacity0.png"))
    with pytest.raises(ValueError, match="two panels"):
        plot.capacity(lab, ax=[axes[0]])


# --------------------------------------------------------------------------- timeline


def _sim(inv: ha.Inventory, setup: str) -> ha.Simulation:
    sim = ha.Simulation(inv)
    if setup == "failure":
        sim.fail_host("host-21")
    elif setup == "master_failure":
        sim.fail_host("host-23")
    elif setup == "three_failures":
        for h in ("host-21", "host-22", "host-23"):
            sim.fail_host(h)
    elif setup == "isolation":
        sim.isolate_host("host-22")
    elif setup == "master_isolation":
        sim.isolate_host("host-23", until=200)
    elif setup == "partition":
        sim.partition([["host-21", "host-22"], ["host-23", "host-24"]])
    elif setup == "healed_partition":
        sim.partition([["host-21", "host-22"], ["host-23", "host-24"]], until=100)
    elif setup == "outage":
        sim.power_outage(at=0, restore_at=100)
    elif setup == "agent":
        sim.fail_agent("host-21", until=100)
    elif setup == "recovery":
        sim.fail_host("host-21")
        sim.recover_host("host-21", at=120)
    sim.run(until=3600)
    return sim


SETUPS = ["failure", "master_failure", "three_failures", "isolation", "master_isolation", "partition",
          "healed_partition", "outage", "agent", "recovery"]


@pytest.mark.parametrize("setup", SETUPS)
def test_timeline_states_end_where_the_simulation_ends(lab: ha.Inventory, setup: str) -> None:
    """The Gantt rows are derived from the events alone; their last state is what the
    simulation reports."""
    sim = _sim(lab, setup)
    states = plot._host_states(list(sim.timeline), [h.id for h in lab.hosts])
    assert {h: seq[-1][1] for h, seq in states.items()} == {h: str(s) for h, s in sim.host_states().items()}


def test_timeline_isolation(lab: ha.Inventory, tmp_path: Path) -> None:
    sim = _sim(lab, "isolation")
    ax = plot.timeline(sim)
    assert [t.get_text() for t in ax.get_yticklabels()] == ["host-21", "host-22", "host-23", "host-24"]
    assert ax.get_xlabel() == "time since the start of the simulation (s, virtual clock)"
    assert ax.get_title() == "Host states as the master reports them, and VM restarts"
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels[:5] == ["master", "connectedToMaster", "unreachable", "networkPartitionedFromMaster",
                          "networkIsolated"]
    assert {"fault (host)", "master elected", "VM powered off (isolation response / VMCP)",
            "VM restarted here"} <= set(labels)
    assert "×5" in texts(ax)                       # five VMs powered off at t=60 on host-22
    assert ax.get_xlim()[1] < 100                  # ends shortly after the last event (t=64)
    assert_png_has_content(save(ax, tmp_path / "isolation.png"))


def test_timeline_unplaced_row_and_cluster_wide_faults(lab: ha.Inventory, tmp_path: Path) -> None:
    ax = plot.timeline(_sim(lab, "three_failures").timeline, until=120)
    assert [t.get_text() for t in ax.get_yticklabels()][-1] == "(unplaced)"
    assert ax.get_xlim()[1] == 120
    assert_png_has_content(save(ax, tmp_path / "three.png"))

    fig, ax2 = plt.subplots()
    out = plot.timeline(_sim(lab, "outage"), ax=ax2, title="outage")
    assert out is ax2 and ax2.get_title() == "outage"
    assert {"power outage", "power restore"} <= set(texts(ax2))
    assert "fault (cluster-wide)" in [t.get_text() for t in ax2.get_legend().get_texts()]


def test_timeline_of_an_empty_timeline() -> None:
    ax = plot.timeline(ha.Timeline([]))
    assert ax.get_yticks().size == 0


# --------------------------------------------------------------------------- sweeps


@pytest.fixture(scope="module")
def pair_results() -> list[Any]:
    """Two-host failures of a synthetic cluster where some pairs strand VMs."""
    return _failure_scenarios(ha.generate_inventory(hosts=8, vms=200, seed=3), 2)


def test_sweep_heatmap_hosts(pair_results: list[Any], tmp_path: Path) -> None:
    ax = plot.sweep_heatmap(pair_results)
    hosts = [f"host-{1001 + i}" for i in range(8)]
    assert [t.get_text() for t in ax.get_xticklabels()] == hosts
    assert [t.get_text() for t in ax.get_yticklabels()] == hosts
    assert ax.get_xlabel() == ax.get_ylabel() == "failed host"
    bad = sum(1 for r in pair_results if len(r.failed_hosts) == 2 and r.unplaced)
    assert ax.get_title() == f"VMs left unplaced when two hosts fail\n{bad} of 28 pairs strand VMs; diagonal: one host"
    assert len(texts(ax)) == 64  # every cell annotated
    worst = max(r.unplaced for r in pair_results)
    assert str(worst) in texts(ax)
    assert_png_has_content(save(ax, tmp_path / "heatmap.png"))


def test_sweep_heatmap_accepts_records_objects_and_frames(pair_results: list[Any]) -> None:
    records = [{"failed_hosts": list(r.failed_hosts), "restarted": r.restarted, "unplaced": r.unplaced,
                "unplaced_vms": list(r.unplaced_vms)} for r in pair_results]
    expected = texts(plot.sweep_heatmap(pair_results))
    assert texts(plot.sweep_heatmap(records)) == expected
    as_strings = [{**r, "failed_hosts": ",".join(r["failed_hosts"])} for r in records]
    assert texts(plot.sweep_heatmap(as_strings)) == expected

    class SweepLike:
        results = pair_results

    assert texts(plot.sweep_heatmap(SweepLike())) == expected
    pd = pytest.importorskip("pandas")
    assert texts(plot.sweep_heatmap(pd.DataFrame.from_records(records))) == expected
    only_pairs = [r for r in records if len(r["failed_hosts"]) == 2]
    assert len(texts(plot.sweep_heatmap(only_pairs))) == 56  # no diagonal without one-host results


def test_sweep_heatmap_vms(pair_results: list[Any], tmp_path: Path) -> None:
    ax = plot.sweep_heatmap(pair_results, detail="vms")
    failing = [r for r in pair_results if len(r.failed_hosts) == 2 and r.unplaced]
    assert [t.get_text() for t in ax.get_yticklabels()] == [" + ".join(r.failed_hosts) for r in failing]
    assert [t.get_text() for t in ax.get_xticklabels()] == sorted({v for r in failing for v in r.unplaced_vms})
    assert ax.get_xlabel() == "VM left unplaced"
    assert_png_has_content(save(ax, tmp_path / "heatmap_vms.png"), min_bytes=8_000)


def test_sweep_heatmap_errors_and_nothing_stranded(lab: ha.Inventory) -> None:
    with pytest.raises(ValueError, match="max_failures=2"):
        plot.sweep_heatmap(_failure_scenarios(lab, 1))
    with pytest.raises(ValueError, match="detail"):
        plot.sweep_heatmap(_failure_scenarios(lab, 2), detail="pairs")  # type: ignore[arg-type]
    ax = plot.sweep_heatmap(_failure_scenarios(lab, 2), detail="vms")
    assert texts(ax) == ["no pair of hosts strands a VM (6 pairs)"]


@pytest.mark.skipif(not hasattr(ha, "sweep"), reason="ha.sweep is not available yet")
def test_sweep_heatmap_from_ha_sweep(tmp_path: Path) -> None:
    inv = ha.generate_inventory(hosts=8, vms=200, seed=3)
    result: Any = getattr(ha, "sweep")(inv, max_failures=2)
    expected = texts(plot.sweep_heatmap(_failure_scenarios(inv, 2)))
    assert texts(plot.sweep_heatmap(result)) == expected
    assert texts(plot.sweep_heatmap(result.to_records())) == expected
    assert_png_has_content(save(plot.failover_levels(result), tmp_path / "levels.png"), min_bytes=8_000)


def test_failover_levels(lab: ha.Inventory, tmp_path: Path) -> None:
    ax = plot.failover_levels(_failure_scenarios(lab, 3))
    assert ax.get_title() == "Failover level 2\nevery combination of up to 2 failed hosts restarts every VM"
    assert ax.get_xlabel() == "hosts failed at once"
    assert texts(ax) == ["100 % of 4\nworst: 0 unplaced", "100 % of 6\nworst: 0 unplaced", "0 % of 4\nworst: 5 unplaced"]
    assert_png_has_content(save(ax, tmp_path / "levels.png"), min_bytes=8_000)
    with pytest.raises(ValueError):
        plot.failover_levels([])


# --------------------------------------------------------------------------- without matplotlib


def test_clear_import_error_without_matplotlib(lab: ha.Inventory, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(ImportError, match=r"pip install matplotlib"):
        plot.capacity(lab)
    with pytest.raises(ImportError, match=r"hapolicy\.plot needs matplotlib"):
        plot.timeline(ha.Timeline([]))


def test_module_imports_without_matplotlib() -> None:
    code = "import sys; sys.modules['matplotlib'] = None; import hapolicy.plot; print('ok')"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.stdout.strip() == "ok", proc.stderr
