"""The ``hapolicy`` command line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from hapolicy.cli import main


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_validate_ok(capsys: pytest.CaptureFixture[str], lab_path: Path) -> None:
    code, out, _ = run(capsys, "validate", str(lab_path))
    assert code == 0 and "valid" in out and "4 hosts" in out


def test_validate_bad_input_exit_2_one_line(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    p = tmp_path / "bad.json"
    p.write_text('{"hosts": [{"id": "h1", "cpu_mhz": -5, "memory_mb": 1}], "vms": [{"id": "v", "host": "nope", "home_datastore": "x"}]}')
    code, out, err = run(capsys, "validate", str(p))
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("hapolicy: error: ")
    assert "hosts[0].cpu_mhz" in err and "vms[0].host: unknown host 'nope'" in err


def test_syntax_error_has_line_and_column(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    p = tmp_path / "bad.json"
    p.write_text('{\n  "hosts": [\n    {"id": "h1",, }\n  ]\n}')
    code, _, err = run(capsys, "validate", str(p))
    assert code == 2 and "<json>: line 3, column" in err


def test_elect_json(capsys: pytest.CaptureFixture[str], lab_path: Path) -> None:
    code, out, _ = run(capsys, "elect", str(lab_path), "--json")
    data = json.loads(out)
    # Three hosts see 3 datastores, host-24 sees 2; among the three the larger id wins.
    assert code == 0 and data["master"] == "host-23"
    assert data["ranking"] == ["host-23", "host-22", "host-21", "host-24"]
    code, out, _ = run(capsys, "elect", str(lab_path), "--json", "--hosts", "host-21", "host-24")
    assert json.loads(out)["master"] == "host-21"


def test_report_runs_on_the_example(capsys: pytest.CaptureFixture[str], lab_path: Path) -> None:
    code, out, _ = run(capsys, "report", str(lab_path))
    assert code == 0 and "master: host-23" in out


def test_console_script_entry_point(lab_path: Path) -> None:
    r = subprocess.run([sys.executable, "-m", "hapolicy", "validate", str(lab_path), "--json"], capture_output=True, text=True)
    assert r.returncode == 0 and json.loads(r.stdout)["valid"] is True
    r = subprocess.run([sys.executable, "-m", "hapolicy", "validate", "/nonexistent.json"], capture_output=True, text=True)
    assert r.returncode == 2 and "cannot read file" in r.stderr


def test_failover_table_and_json(capsys: pytest.CaptureFixture[str], lab_path: Path) -> None:
    code, out, _ = run(capsys, "failover", str(lab_path), "--fail", "host-21", "--explain", "vm-100")
    assert code == 0 and "restarted" in out and "vm-100 restarts on" in out
    code, out, _ = run(capsys, "failover", str(lab_path), "--fail", "host-21", "--json")
    data = json.loads(out)
    # host-21 runs vm-100, 104, 108, 112 (protected) and vm-116 (restart priority disabled).
    assert sorted(p["vm"] for p in data["placements"]) == ["vm-100", "vm-104", "vm-108", "vm-112"]
    assert [n["vm"] for n in data["not_restarted"]] == ["vm-116"]
    code, _, err = run(capsys, "failover", str(lab_path), "--fail", "host-404")
    assert code == 2 and "unknown host 'host-404'" in err


def test_simulate_scenario(capsys: pytest.CaptureFixture[str]) -> None:
    scenario = Path(__file__).resolve().parent.parent / "examples" / "scenarios" / "host_failure.json"
    code, out, _ = run(capsys, "simulate", str(scenario))
    assert code == 0
    assert "t=+18.0s host-21 hostDown" in out
    code, out, _ = run(capsys, "simulate", str(scenario), "--json")
    data = json.loads(out)
    assert data["host_states"]["host-21"] == "hostDown"
    assert data["vm_states"]["vm-116"]["power_state"] == "poweredOff"  # restart priority disabled


def test_admission_and_check(capsys: pytest.CaptureFixture[str]) -> None:
    guide = str(Path(__file__).resolve().parent.parent / "examples" / "availability_guide.json")
    code, out, _ = run(capsys, "admission", guide, "--json")
    data = json.loads(out)
    assert code == 0 and data["current_failover_level"] == 1 and data["slot_memory_mb"] == 2048
    vm = '{"id": "vm-9", "host": "host-1", "cpu_reservation_mhz": 2000, "memory_reservation_mb": 1024, "home_datastore": "datastore-1"}'
    code, out, _ = run(capsys, "check", guide, "--vm-json", vm)
    assert code == 0 and out.startswith("allowed")
    code, out, _ = run(capsys, "check", guide, "--reservation", "vm-5", "--cpu", "4000")
    assert code == 1 and out.startswith("refused")
    code, _, err = run(capsys, "check", guide, "--vm-json", "{not json")
    assert code == 2 and "--vm-json" in err
    code, out, _ = run(capsys, "heartbeat", guide)
    assert code == 0 and "host-1" in out


def test_sweep_command(capsys: pytest.CaptureFixture[str], lab_path: Path, tmp_path: Path) -> None:
    csv_path = tmp_path / "s.csv"
    code, out, _ = run(capsys, "sweep", str(lab_path), "--max-failures", "2", "--csv", str(csv_path))
    # 4 hosts: 4 single and 6 double failures.
    assert code == 0 and "scenarios=10" in out
    assert len(csv_path.read_text().splitlines()) == 1 + 10
    code, out, _ = run(capsys, "sweep", str(lab_path), "--max-failures", "1", "--json")
    assert json.loads(out)["scenarios"] == 4
    code, _, err = run(capsys, "sweep", str(lab_path), "--max-failures", "9")
    assert code == 2 and "max_failures" in err


def test_report_html_and_json(capsys: pytest.CaptureFixture[str], lab_path: Path, tmp_path: Path) -> None:
    page = tmp_path / "r.html"
    code, out, _ = run(capsys, "report", str(lab_path), "--html", str(page))
    assert code == 0 and "== Host failures (R-PLACE)" in out
    assert "<h2>Admission control (R-AC)</h2>" in page.read_text()
    code, out, _ = run(capsys, "report", str(lab_path), "--json")
    data = json.loads(out)
    # 4 hosts → 4 single + 6 double failures, all of which restart everything in the lab.
    assert data["host_failures"]["scenarios"] == 10 and data["host_failures"]["max_failures_tolerated"] == 2
    assert data["election"]["master"] == "host-23"
