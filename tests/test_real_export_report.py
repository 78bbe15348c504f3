"""The issue's end-to-end promise: the main job on a whole-vCenter RVTools export (several
clusters, two datacenters with colliding cluster and datastore names), through the command line,
``Inventory.load`` and the same cluster choice everywhere, with the adapter's assumptions shown.

The export is built with every column RVTools writes (tests/rvtools_layout.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import hapolicy as ha
from hapolicy.cli import main
from .test_io_rvtools import AMS, ZRH, vcenter_tabs
from .rvtools_layout import write_export


@pytest.fixture
def export(tmp_path: Path) -> Path:
    return write_export(tmp_path / "RVTools_export_all_vc01.xlsx", vcenter_tabs())


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_without_a_cluster_the_clusters_are_listed_with_their_datacenters(
    capsys: pytest.CaptureFixture[str], export: Path
) -> None:
    code, out, err = run(capsys, "report", str(export))
    assert code != 0 and out == ""
    line, = err.strip().splitlines()  # one line, no traceback
    for name in ("'dev' in datacenter 'Amsterdam'", f"'{AMS}/prod'", f"'{ZRH}/prod'", "--cluster"):
        assert name in line, line
    assert "pass cluster=NAME" not in line


def test_report_on_one_cluster_of_the_export_shows_its_assumptions(
    capsys: pytest.CaptureFixture[str], export: Path, tmp_path: Path
) -> None:
    page = tmp_path / "zrh.html"
    code, out, err = run(capsys, "report", str(export), "--cluster", f"{ZRH}/prod", "--html", str(page))
    assert code == 0, err
    # Zürich's hosts and VMs, by name beside id — nothing of Amsterdam's.
    assert "host-51 (zrh-esx-01.corp.example)" in out and "datastore-51 (vmfs-01)" in out
    assert "ams-esx" not in out and "datastore-11" not in out
    # The assumptions: in the text report's own section and on standard error.
    section = out.split("== Assumptions", 1)[1]
    assert "'Consumed Overhead' figure used (1 object: zdb01)" in section  # Overhead 0 in the export
    assert "row 4 (domain-c51) used" in section  # which vCluster row, and why
    assert "assumption" in err.lower()
    html = page.read_text(encoding="utf-8")
    assert "Consumed Overhead" in html and "zrh-esx-01.corp.example" in html
    # Zürich's own HA settings (shutdown), not Amsterdam's 'prod' row (powerOff).
    assert "isolation response: shutdown" in out


def test_json_report_carries_the_assumptions_and_the_source(
    capsys: pytest.CaptureFixture[str], export: Path
) -> None:
    code, out, _ = run(capsys, "report", str(export), "--cluster", f"{AMS}/prod", "--json")
    assert code == 0
    doc = json.loads(out)
    assert doc["schema_version"] == 1
    assert str(export) in json.dumps(doc["source"])
    messages = [a["message"] for a in doc["assumptions"]]
    assert any("Consumed Overhead" in m for m in messages)  # db01: Overhead 0, Consumed Overhead 57


def test_load_takes_the_same_cluster_choice(export: Path) -> None:
    inv = ha.Inventory.load(export, cluster=f"{ZRH}/prod")
    assert {h.id for h in inv.hosts} == {"host-51", "host-52"}
    assert inv.vm("zdb01").memory_overhead_mb == 88  # name accepted; Consumed Overhead used
    assert any("Consumed Overhead" in a.message for a in inv.assumptions)
    assert inv.source is not None and inv.source.endswith("RVTools_export_all_vc01.xlsx")
    with pytest.raises(ha.InventoryError) as err:
        ha.Inventory.load(export)
    assert "Zürich/prod" in str(err.value)


def test_every_inventory_command_takes_the_cluster(capsys: pytest.CaptureFixture[str], export: Path) -> None:
    for argv in (["validate"], ["elect"], ["admission"], ["heartbeat"], ["sweep", "--max-failures", "1"],
                 ["failover", "--fail", "zrh-esx-01.corp.example"], ["remedies"]):
        code, out, err = run(capsys, *argv[:1], str(export), *argv[1:], "--cluster", f"{ZRH}/prod")
        assert code in (0, 1), (argv, err)
        assert "Traceback" not in err and out, argv
