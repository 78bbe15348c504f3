"""DRS and DPM assisting failover through the Python API (R-PLACE-DRS): ``plan.migrations``,
``plan.hosts_exited_standby``, ``to_dict``, ``text`` and ``explain``. The hand-checked scenarios
are in tests/golden/placement/drs (replayed here and by tests/placement.rs)."""

from __future__ import annotations

import json
import re
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


def _named(doc_path: str, **cluster: Any) -> ha.Inventory:
    """A golden inventory with names of its own (``esx-N`` hosts, ``app-…`` VMs), so that what
    users read can be checked for names beside ids."""
    doc = json.loads((GOLDEN[0].parent / doc_path).read_text())["inventory"]
    doc["cluster"].update(cluster)
    for h in doc["hosts"]:
        h["name"] = "esx-" + h["id"].split("-")[1]
    for v in doc["vms"]:
        v["name"] = "app-" + v["id"].split("-", 1)[1]
    return ha.Inventory.from_dict(doc)


def _rows(html: str, after: str) -> list[tuple[str, ...]]:
    table = html[html.index(after):]
    table = table[:table.index("</table>")]
    return [tuple(re.findall(r"<td>(.*?)</td>", row)) for row in re.findall(r"<tr>(.*?)</tr>", table, re.S)][1:]


def test_plan_html_and_text_show_the_deepdive_vmotion_with_names() -> None:
    # The HA Deepdive example: one vMotion, vm-a from host-2 to host-3, makes room for vm-big.
    inv = _named("drs_01_deepdive_without_drs.json", drs={"enabled": True, "automation": "fullyAutomated"})
    plan = ha.plan_failover(inv, ["esx-1"])
    html = plan._repr_html_()
    assert "DRS vMotions first (1, in order; R-PLACE-DRS)" in html
    assert _rows(html, "DRS vMotions first") == [
        ("vm-a (app-a)", "host-2 (esx-2)", "host-3 (esx-3)", "vm-big (app-big)")]
    assert "vm-a (app-a): host-2 (esx-2) -> host-3 (esx-3) (room for vm-big (app-big))" in plan.text()
    # Without DRS in full automation nothing moves and nothing is shown.
    for drs in ({"enabled": False}, {"enabled": True, "automation": "partiallyAutomated"}):
        plain = ha.plan_failover(_named("drs_01_deepdive_without_drs.json", drs=drs), ["host-1"])
        assert "vMotion" not in plain._repr_html_() and "DRS vMotions" not in plain.text()


def test_plan_html_shows_hosts_brought_out_of_standby_with_names() -> None:
    inv = _named("drs_07_dpm_brings_largest_standby_host_out.json")
    plan = ha.plan_failover(inv, ["host-1"])
    html = plan._repr_html_()
    assert "DPM brings out of standby: host-4 (esx-4) (R-PLACE-DRS)." in html
    assert "DPM brings out of standby: host-4 (esx-4)" in plan.text()
    assert "vMotion" not in html
