"""DRS and DPM assisting failover through the Python API (R-PLACE-DRS): ``plan.migrations``,
``plan.hosts_exited_standby``, ``to_dict``, ``text`` and ``explain``. The hand-checked scenarios
are in tests/golden/placement/drs (replayed here and by tests/placement.rs)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import hapolicy as ha

GOLDEN = sorted((Path(__file__).resolve().parent / "golden" / "placement" / "drs").glob("*.json"))


@pytest.mark.parametrize("case", GOLDEN, ids=[c.stem for c in GOLDEN])
def test_drs_golden_through_python(case: Path) -> None:
    spec = json.loads(case.read_text())
    inv = ha.Inventory.from_dict(spec["inventory"])
    plan = ha.plan_failover(inv, spec["failed_hosts"], spec["isolated_hosts"])
    exp = spec["expected"]
    assert [[p.vm, p.host] for p in plan.placements] == exp["placements"], spec["description"]
    assert [[u.vm, str(u.reason)] for u in plan.unplaced] == exp["unplaced"], spec["description"]
    assert [[m.vm, m.source, m.target, m.for_vm] for m in plan.migrations] == exp["migrations"]
    assert list(plan.hosts_exited_standby) == exp["hosts_exited_standby"]
    for vm, phrases in exp.get("explain", {}).items():
        text = plan.explain(vm)
        for phrase in phrases:
            assert phrase in text, text


def _deepdive(**cluster: Any) -> ha.Inventory:
    spec = json.loads((GOLDEN[0].parent / "drs_01_deepdive_without_drs.json").read_text())
    doc = spec["inventory"]
    doc["cluster"].update(cluster)
    return ha.Inventory.from_dict(doc)


def test_cluster_config_reads_drs_and_dpm() -> None:
    inv = _deepdive(drs={"enabled": True, "automation": "partiallyAutomated"}, dpm={"enabled": True})
    assert inv.config.drs == {"enabled": True, "automation": "partiallyAutomated"}
    assert inv.config.dpm == {"enabled": True}
    plain = _deepdive()
    assert plain.config.drs == {"enabled": False, "automation": "fullyAutomated"}
    assert plain.config.dpm == {"enabled": False}
    # Written back only when set, and read again the same.
    assert "drs" not in plain.to_dict()["cluster"]
    again = ha.Inventory.from_dict(inv.to_dict())
    assert again.config.drs == inv.config.drs and again.config.dpm == inv.config.dpm


def test_unknown_automation_level_is_a_clear_error() -> None:
    with pytest.raises(ha.InventoryError, match="cluster.drs.automation"):
        _deepdive(drs={"enabled": True, "automation": "auto"})


def test_plan_exports_migrations() -> None:
    inv = _deepdive(drs={"enabled": True, "automation": "fullyAutomated"})
    plan = ha.plan_failover(inv, ["host-1"])
    assert plan.migrations == [ha.Migration("vm-a", "host-2", "host-3", "vm-big")]
    d = plan.to_dict()
    assert d["migrations"] == [{"vm": "vm-a", "source": "host-2", "target": "host-3", "for_vm": "vm-big"}]
    assert d["hosts_exited_standby"] == []
    assert "DRS vMotions first (1):" in plan.text()
    assert "vm-a: host-2 -> host-3 (room for vm-big)" in plan.text()
    # Without DRS the plan has no moves and its text no DRS section.
    plain = ha.plan_failover(_deepdive(), ["host-1"])
    assert plain.migrations == [] and "DRS" not in plain.text()


def test_plan_exports_hosts_exited_standby() -> None:
    spec = json.loads((GOLDEN[0].parent / "drs_07_dpm_brings_largest_standby_host_out.json").read_text())
    plan = ha.plan_failover(ha.Inventory.from_dict(spec["inventory"]), ["host-1"])
    assert plan.hosts_exited_standby == ("host-4",)
    assert plan.to_dict()["hosts_exited_standby"] == ["host-4"]
    assert "DPM brings out of standby: host-4" in plan.text()


def test_max_migrations_option_is_checked() -> None:
    with pytest.raises(ha.InventoryError, match="engine.drsMaxMigrationsPerVm"):
        _deepdive(advanced_options={"engine.drsMaxMigrationsPerVm": "9"})
    # 0 turns defragmentation off.
    inv = _deepdive(drs={"enabled": True, "automation": "fullyAutomated"},
                    advanced_options={"engine.drsMaxMigrationsPerVm": "0"})
    plan = ha.plan_failover(inv, ["host-1"])
    assert plan.migrations == [] and [str(u.reason) for u in plan.unplaced] == ["insufficientResources"]
