"""The ``hapolicy`` command line."""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import hapolicy as ha
from hapolicy.cli import main

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
GUIDE = str(EXAMPLES / "availability_guide.json")

# Every subcommand that reads an inventory, with the options it needs to run on the lab.
INVENTORY_COMMANDS: dict[str, list[str]] = {
    "report": [],
    "validate": [],
    "elect": [],
    "admission": [],
    "check": ["--reservation", "vm-100", "--cpu", "100"],
    "heartbeat": [],
    "failover": ["--fail", "host-21"],
    "sweep": [],
    "remedies": [],
}


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def one_error_line(err: str) -> str:
    """The message of a failure: exactly one line on standard error."""
    assert err.count("\n") == 1 and err.startswith("hapolicy: error: "), err
    return err[len("hapolicy: error: "):-1]


def write_csv_export(folder: Path) -> Path:
    """A directory of RVTools CSV exports (vInfo, vHost only) holding two clusters:
    prod-a (esx-01, esx-02, esx-03; VMs db01, app01) and dev (esx-09; VM dev01)."""
    folder.mkdir()
    tabs = {
        "vInfo": [["VM", "Powerstate", "Host", "Cluster", "Path", "VM ID"],
                  ["db01", "poweredOn", "esx-01", "prod-a", "[ds-1] db01/db01.vmx", "vm-1"],
                  ["app01", "poweredOn", "esx-02", "prod-a", "[ds-1] app01/app01.vmx", "vm-2"],
                  ["dev01", "poweredOn", "esx-09", "dev", "[ds-9] dev01/dev01.vmx", "vm-9"]],
        "vHost": [["Host", "Cluster", "Speed", "# Cores", "# Memory", "Object ID"],
                  ["esx-01", "prod-a", 2600, 24, 262144, "host-1"],
                  ["esx-02", "prod-a", 2600, 24, 262144, "host-2"],
                  ["esx-03", "prod-a", 2600, 24, 262144, "host-3"],
                  ["esx-09", "dev", 2600, 8, 65536, "host-9"]],
    }
    for tab, rows in tabs.items():
        with open(folder / f"RVTools_tab{tab}.csv", "w", newline="", encoding="utf-8") as f:
            csv.writer(f).writerows(rows)
    return folder


@pytest.fixture
def export(tmp_path: Path) -> Path:
    return write_csv_export(tmp_path / "export")


# ---------------------------------------------------------------- the basics


def test_validate_ok(capsys: pytest.CaptureFixture[str], lab_path: Path) -> None:
    code, out, _ = run(capsys, "validate", str(lab_path))
    assert code == 0 and "valid" in out and "4 hosts" in out


def test_syntax_error_names_the_file_with_line_and_column(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """Was ``<json>: line 3, column …`` with exit 2: validate now reports the file invalid (exit 1)."""
    p = tmp_path / "bad.json"
    p.write_text('{\n  "hosts": [\n    {"id": "h1",, }\n  ]\n}')
    code, out, _ = run(capsys, "validate", str(p))
    assert code == 1 and f"{p}: line 3, column" in out and "<json>" not in out
    code, _, err = run(capsys, "elect", str(p))
    assert code == 2 and one_error_line(err).startswith(f"{p}: line 3, column")


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
    assert code == 0 and "host-23" in out and "== Host failures (R-PLACE)" in out


def test_console_script_entry_point(lab_path: Path) -> None:
    r = subprocess.run([sys.executable, "-m", "hapolicy", "validate", str(lab_path), "--json"], capture_output=True, text=True)
    assert r.returncode == 0 and json.loads(r.stdout)["valid"] is True
    r = subprocess.run([sys.executable, "-m", "hapolicy", "validate", "/nonexistent.json"], capture_output=True, text=True)
    assert r.returncode == 2 and r.stderr == "hapolicy: error: /nonexistent.json: no such file\n"


def test_failover_table_and_json(capsys: pytest.CaptureFixture[str], lab_path: Path) -> None:
    code, out, _ = run(capsys, "failover", str(lab_path), "--fail", "host-21", "--explain", "vm-100")
    assert code == 0 and "4 restarted" in out and re.search(r"^vm-100\b.* restarts on host-22\b", out, re.M)
    code, out, _ = run(capsys, "failover", str(lab_path), "--fail", "host-21", "--json")
    data = json.loads(out)
    # host-21 runs vm-100, 104, 108, 112 (protected) and vm-116 (restart priority disabled).
    assert sorted(p["vm"] for p in data["placements"]) == ["vm-100", "vm-104", "vm-108", "vm-112"]
    assert [n["vm"] for n in data["not_restarted"]] == ["vm-116"]
    code, _, err = run(capsys, "failover", str(lab_path), "--fail", "host-404")
    assert code == 2 and "unknown host 'host-404'" in err


def test_simulate_scenario(capsys: pytest.CaptureFixture[str]) -> None:
    scenario = EXAMPLES / "scenarios" / "host_failure.json"
    code, out, _ = run(capsys, "simulate", str(scenario))
    assert code == 0
    assert "t=+18.0s host-21" in out and "hostDown" in out
    code, out, _ = run(capsys, "simulate", str(scenario), "--json")
    data = json.loads(out)
    assert data["schema_version"] == 1
    assert data["host_states"]["host-21"] == "hostDown"
    assert data["vm_states"]["vm-116"]["power_state"] == "poweredOff"  # restart priority disabled


def test_admission_and_check(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "admission", GUIDE, "--json")
    data = json.loads(out)
    assert code == 0 and data["current_failover_level"] == 1 and data["slot_memory_mb"] == 2048
    vm = '{"id": "vm-9", "host": "host-1", "cpu_reservation_mhz": 2000, "memory_reservation_mb": 1024, "home_datastore": "datastore-1"}'
    code, out, _ = run(capsys, "check", GUIDE, "--vm-json", vm)
    assert code == 0 and out.startswith("allowed")
    code, out, _ = run(capsys, "check", GUIDE, "--reservation", "vm-5", "--cpu", "4000")
    assert code == 1 and out.startswith("refused")
    code, _, err = run(capsys, "check", GUIDE, "--vm-json", "{not json")
    assert code == 2 and "--vm-json" in err
    code, out, _ = run(capsys, "heartbeat", GUIDE)
    assert code == 0 and "host-1" in out


def test_check_maintenance(capsys: pytest.CaptureFixture[str]) -> None:
    # R-AC-MAINT on the Availability Guide cluster (slot policy, level 1): any host leaving
    # leaves two hosts whose largest loss leaves 3 slots < 5 used → refused, exit 1.
    code, out, _ = run(capsys, "check", GUIDE, "--maintenance", "esx-a")
    assert code == 1 and out.startswith("refused: host-1 (esx-a) may not enter maintenance mode")
    code, out, _ = run(capsys, "check", GUIDE, "--standby", "host-3", "--json")
    data = json.loads(out)
    assert code == 1 and data["allowed"] is False and data["after"]["current_failover_level"] == 0
    assert data["moves"] == {"vm-5": "host-1"}
    code, _, err = run(capsys, "check", GUIDE, "--maintenance", "host-9")
    assert code == 2 and "host-9" in err


def test_sweep_command(capsys: pytest.CaptureFixture[str], lab_path: Path, tmp_path: Path) -> None:
    csv_path = tmp_path / "s.csv"
    code, out, _ = run(capsys, "sweep", str(lab_path), "--max-failures", "2", "--csv", str(csv_path))
    # 4 hosts: 4 single and 6 double failures.
    assert code == 0 and out.startswith("10 combinations of up to 2 failed hosts")
    assert len(csv_path.read_text().splitlines()) == 1 + 10
    code, out, _ = run(capsys, "sweep", str(lab_path), "--max-failures", "1", "--json")
    assert json.loads(out)["scenarios"] == 4
    code, _, err = run(capsys, "sweep", str(lab_path), "--max-failures", "9")
    assert code == 2 and "max_failures" in err


def test_report_html_and_json(capsys: pytest.CaptureFixture[str], lab_path: Path, tmp_path: Path) -> None:
    page = tmp_path / "r.html"
    code, out, _ = run(capsys, "report", str(lab_path), "--html", str(page))
    assert code == 0 and "== Host failures (R-PLACE)" in out
    assert page.read_text().startswith("<!doctype html>") and "Admission control" in page.read_text()
    code, out, _ = run(capsys, "report", str(lab_path), "--json")
    data = json.loads(out)
    assert data["schema_version"] == 1 and data["source"] == str(lab_path)
    assert "holds" in data


# ---------------------------------------------------------------- item 1: validate lists every problem


NINE_PROBLEMS = {
    "hosts": [{"id": "h1", "cpu_mhz": -1, "memory_mb": -1}, {"id": "h2", "cpu_mhz": -2, "memory_mb": -2},
              {"id": "h3", "cpu_mhz": -3, "memory_mb": -3}],
    "vms": [{"id": "v1", "host": "nope-1", "home_datastore": "ds"}],
}


def test_validate_lists_every_problem_and_exits_1(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    p = tmp_path / "nine.json"
    p.write_text(json.dumps(NINE_PROBLEMS))
    with pytest.raises(ha.InventoryError) as info:
        ha.Inventory.load(p)
    problems = info.value.problems
    assert len(problems) > 5  # more than the one-line error shows
    code, out, err = run(capsys, "validate", str(p))
    assert code == 1 and err == ""
    assert "more" not in out and f"invalid — {len(problems)} problems" in out
    for path, message in problems:
        assert f"  {path}: {message}\n" in out
    code, out, err = run(capsys, "validate", str(p), "--json")
    assert code == 1 and err == ""
    assert json.loads(out) == {"schema_version": 1, "valid": False, "source": str(p),
                               "problems": [{"path": a, "message": b} for a, b in problems]}
    # Other subcommands: one line, saying how to see the rest.
    code, out, err = run(capsys, "report", str(p))
    assert code == 2 and out == "" and f"… {len(problems) - 5} more (hapolicy validate" in one_error_line(err)


# ---------------------------------------------------------------- item 2 and 6: paths


@pytest.mark.parametrize("command", sorted(INVENTORY_COMMANDS))
def test_path_errors_say_what_is_true_on_every_subcommand(
    command: str, capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    extra = INVENTORY_COMMANDS[command]
    shutil.copy(EXAMPLES / "lab.json", tmp_path / "lab.jsn")
    (tmp_path / "empty").mkdir()
    cases = {
        "missing.jsn": "missing.jsn: no such file",
        "missing.json": "missing.json: no such file",
        "lab.jsn": "lab.jsn: unsupported file type '.jsn'; expected .json, .yaml, .yml or .xlsx, "
                   "or a directory of RVTools CSV files",
        "": '"": empty path: name an inventory file',
        "empty": "empty: is a directory with no RVTools CSV exports (files like 'RVTools_tabvInfo.csv'); "
                 "expected a .json, .yaml, .yml or .xlsx file or such a directory",
    }
    for path, expected in cases.items():
        code, out, err = run(capsys, command, path, *extra)
        assert code == 2 and out == "", (path, out)
        assert one_error_line(err).startswith(expected), (path, err)


def test_simulate_path_errors(capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "dir").mkdir()
    shutil.copy(EXAMPLES / "scenarios" / "host_failure.json", tmp_path / "s.jsn")
    (tmp_path / "empty.json").write_text("")
    (tmp_path / "cut.json").write_text('{"events": [')
    cases = {
        "empty.json": "empty.json: the file is empty",
        "cut.json": "cut.json: line 1, column 12: ",
        "dir": "dir: is a directory; expected a .json, .yaml or .yml file",
        "missing.json": "missing.json: no such file",
        "missing.jsn": "missing.jsn: no such file",
        "s.jsn": "s.jsn: unsupported file type '.jsn'; expected .json, .yaml or .yml",
        "": '"": empty path',
    }
    for path, expected in cases.items():
        code, _, err = run(capsys, "simulate", path)
        assert code == 2 and one_error_line(err).startswith(expected), (path, err)


def test_load_missing_file_is_file_not_found(tmp_path: Path) -> None:
    for name in ("nope.json", "nope.xlsx", "nope.jsn", "nope"):
        with pytest.raises(FileNotFoundError) as info:
            ha.Inventory.load(tmp_path / name)
        assert isinstance(info.value, ha.InventoryError)
        assert info.value.problems == [(str(tmp_path / name), "no such file")]
        assert info.value.filename == str(tmp_path / name)


# ---------------------------------------------------------------- item 3: parse errors


def test_parse_errors_name_the_file_and_empty_files_say_so(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    for name, text, expected in [
        ("empty.json", "", "empty.json: the file is empty"),
        ("blank.yaml", "\n  \n", "blank.yaml: the file is empty (white space only)"),
        ("list.json", "[]", "list.json: expected an object, got a list"),
        ("cut.yaml", "hosts: [", "cut.yaml: line "),
    ]:
        p = tmp_path / name
        p.write_text(text)
        code, _, err = run(capsys, "report", str(p))
        assert code == 2 and one_error_line(err).startswith(str(tmp_path / expected)), err
        assert "<json>" not in err and "<yaml>" not in err and "<root>" not in err


def test_scenario_inventory_errors_stay_on_one_line(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    (tmp_path / "bad.json").write_text('{\n "hosts": [,]}')
    (tmp_path / "empty.json").write_text("")
    (tmp_path / "inv.txt").write_text("{}")
    (tmp_path / "dir").mkdir()
    cases = {
        "missing.json": "missing.json: no such file",
        "bad.json": "bad.json: line 2, column 12: expected value",
        "empty.json": "empty.json: the file is empty",
        "inv.txt": "inv.txt: unsupported file type '.txt'",
        "dir": "dir: is a directory",
    }
    for inventory, expected in cases.items():
        scenario = tmp_path / "scenario.json"
        scenario.write_text(json.dumps({"inventory": inventory, "events": []}))
        code, _, err = run(capsys, "simulate", str(scenario))
        message = one_error_line(err)
        assert code == 2 and message.startswith(f"inventory: {tmp_path / expected}"), message
        assert "os error" not in message and "problem in the input" not in message


# ---------------------------------------------------------------- item 4: usage errors


@pytest.mark.parametrize("argv, expected", [
    ([], "the following arguments are required: COMMAND; see hapolicy --help"),
    (["report"], "the following arguments are required: INV; see hapolicy report --help"),
    (["sweep", "{lab}", "--max-failures", "x"], "argument --max-failures: invalid int value: 'x'; see hapolicy sweep --help"),
    (["elect", "{lab}", "--bogus"], "unrecognized arguments: --bogus; see hapolicy elect --help"),
])
def test_usage_errors_are_one_line(argv: list[str], expected: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, *(a.format(lab=EXAMPLES / "lab.json") for a in argv))
    assert code == 2 and out == "" and one_error_line(err) == expected


def test_deeply_nested_vm_json_is_a_one_line_error(lab_path: Path) -> None:
    deep = "[" * 3000 + "]" * 3000
    r = subprocess.run([sys.executable, "-m", "hapolicy", "check", str(lab_path), "--vm-json", deep],
                       capture_output=True, text=True)
    assert r.returncode == 2 and r.stderr == "hapolicy: error: --vm-json: nested too deeply to be a VM\n"


# ---------------------------------------------------------------- item 5: options that do not apply


def test_failover_explain_of_an_unknown_vm_is_an_error(capsys: pytest.CaptureFixture[str], lab_path: Path) -> None:
    code, out, err = run(capsys, "failover", str(lab_path), "--fail", "host-21", "--explain", "vm-999")
    assert code == 2 and out == "" and "vm-999" in one_error_line(err)


@pytest.mark.parametrize("argv, expected", [
    (["check", "{lab}", "--reservation", "vm-100", "--cpu", "100", "--migrate"], "--migrate applies to --vm-json"),
    (["check", "{lab}", "--vm-json", "{{}}", "--cpu", "100"], "--cpu applies to --reservation, not to --vm-json"),
    (["check", "{lab}", "--vm-json", "{{}}", "--memory", "1", "--cpu", "1"], "--cpu and --memory apply to --reservation"),
    (["check", "{lab}", "--reservation", "vm-100"], "--reservation needs the new reservation"),
    (["check", "{lab}", "--maintenance", "host-21", "--cpu", "1"], "--cpu applies to --vm-json or --reservation, not to --maintenance"),
    (["check", "{lab}", "--maintenance", "host-21", "--reservation", "vm-100"], "not allowed with argument"),
    (["failover", "{lab}"], "name the hosts that fail"),
    (["failover", "{lab}", "--explain", "vm-100"], "name the hosts that fail"),
    (["sweep", "{lab}", "--seed", "3"], "--seed applies to --sample"),
])
def test_options_that_do_not_apply_are_refused(argv: list[str], expected: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, *(a.format(lab=EXAMPLES / "lab.json") for a in argv))
    assert code == 2 and out == "" and expected in one_error_line(err)


# ---------------------------------------------------------------- --cluster and assumptions


@pytest.mark.parametrize("command", sorted(INVENTORY_COMMANDS))
def test_cluster_option_on_every_inventory_subcommand(command: str, capsys: pytest.CaptureFixture[str], export: Path) -> None:
    extra = {"check": ["--reservation", "vm-1", "--cpu", "100"], "failover": ["--fail", "host-1"]}.get(command, [])
    code, out, err = run(capsys, command, str(export), *extra)
    if command == "validate":  # what validate finds is its output
        assert code == 1 and "holds 2 clusters ('dev', 'prod-a')" in out
    else:
        assert code == 2 and "holds 2 clusters ('dev', 'prod-a')" in one_error_line(err)
    code, out, err = run(capsys, command, str(export), "--cluster", "prod-a", "--json", *extra)
    assert code in (0, 1), err
    data = json.loads(out)
    assert data["schema_version"] == 1 and data["source"] == str(export)
    assert {"path": "cluster.version", "message": "the export names no vCenter version: 8.0 assumed (Defaults.version)"} \
        in data["assumptions"]


def test_cluster_option_picks_the_cluster(capsys: pytest.CaptureFixture[str], export: Path) -> None:
    code, out, _ = run(capsys, "elect", str(export), "--cluster", "dev", "--json")
    assert code == 0 and json.loads(out)["master"] == "host-9"
    code, out, _ = run(capsys, "elect", str(export), "--cluster", "prod-a", "--json")
    # Without a vDatastore tab every host of the cluster is assumed to reach the VMs' datastore
    # (ds-1): all see one datastore, so the larger id wins (R-ELECT). dev's host-9 is not among them.
    assert code == 0 and json.loads(out)["ranking"] == ["host-3", "host-2", "host-1"]


def test_cluster_option_on_json_must_match(capsys: pytest.CaptureFixture[str], lab_path: Path) -> None:
    code, _, err = run(capsys, "report", str(lab_path), "--cluster", "prod")
    assert code == 2 and one_error_line(err) == f"{lab_path}: describes cluster 'lab', not 'prod'"
    code, _, _ = run(capsys, "report", str(lab_path), "--cluster", "lab")
    assert code == 0


def test_assumptions_are_listed_on_standard_error(capsys: pytest.CaptureFixture[str], export: Path) -> None:
    assumptions = ha.Inventory.load(export, cluster="prod-a").assumptions
    assert assumptions  # RVTools cannot tell everything
    code, out, err = run(capsys, "heartbeat", str(export), "--cluster", "prod-a")
    assert code == 0 and "assumption" not in out
    lines = err.splitlines()
    assert lines[0] == f"{len(assumptions)} assumptions made reading {export} (values the source does not give):"
    assert lines[1:] == [f"assumption: {a.path}: {a.message}" for a in assumptions]
    # JSON and YAML inventories assume nothing: nothing on standard error.
    code, _, err = run(capsys, "heartbeat", str(EXAMPLES / "lab.json"))
    assert code == 0 and err == ""


def test_inventory_keeps_assumptions_and_source(export: Path, lab_path: Path) -> None:
    import pickle

    inv = ha.Inventory.load(export, cluster="prod-a")
    loaded = ha.io.read_rvtools(export, "prod-a")
    assert inv.assumptions == tuple(loaded.assumptions) == loaded.inventory.assumptions
    assert inv.source == str(export)
    again = pickle.loads(pickle.dumps(inv))
    assert again == inv and again.assumptions == inv.assumptions and again.source == inv.source
    bigger = inv.replace(hosts=[*inv.hosts, ha.Host("host-99", cpu_mhz=1000, memory_mb=1024)])
    assert bigger.assumptions == inv.assumptions and bigger.source == inv.source
    lab = ha.Inventory.load(lab_path)
    assert lab.assumptions == () and lab.source == str(lab_path)
    assert ha.Inventory.from_json(lab.to_json()).source is None


# ---------------------------------------------------------------- --check and schema_version


def test_check_option_exit_status(capsys: pytest.CaptureFixture[str], lab_path: Path) -> None:
    # The lab's slot policy is not satisfied (19 one-slot VMs, 10 slots), yet every 1- and
    # 2-host failure restarts every VM; with 3 of 4 hosts failed VMs are left unplaced.
    assert run(capsys, "admission", str(lab_path))[0] == 0
    code, out, _ = run(capsys, "admission", str(lab_path), "--check")
    assert code == 1 and "NOT satisfied" in out
    assert run(capsys, "admission", GUIDE, "--check")[0] == 0
    assert run(capsys, "sweep", str(lab_path), "--max-failures", "2", "--check")[0] == 0
    assert run(capsys, "sweep", str(lab_path), "--max-failures", "3")[0] == 0
    code, out, _ = run(capsys, "sweep", str(lab_path), "--max-failures", "3", "--check", "--json")
    assert code == 1 and json.loads(out)["holds"] is False
    code, out, _ = run(capsys, "report", str(lab_path), "--check", "--json")
    assert code == (0 if json.loads(out)["holds"] else 1) == 1
    assert run(capsys, "report", str(lab_path))[0] == 0


@pytest.mark.parametrize("command", sorted(INVENTORY_COMMANDS))
def test_json_outputs_carry_schema_version(command: str, capsys: pytest.CaptureFixture[str], lab_path: Path) -> None:
    code, out, _ = run(capsys, command, str(lab_path), "--json", *INVENTORY_COMMANDS[command])
    data = json.loads(out)
    assert data["schema_version"] == 1 and data["assumptions"] == []


def test_remedies_command(capsys: pytest.CaptureFixture[str], lab_path: Path) -> None:
    found = ha.remedies(ha.Inventory.load(lab_path), failures=3)
    code, out, _ = run(capsys, "remedies", str(lab_path), "--failures", "3", "--json")
    assert code == 0
    data = json.loads(out)
    assert data["schema_version"] == 1
    assert {k: v for k, v in data.items() if k not in ("schema_version", "source", "assumptions")} == \
        {k: v for k, v in found.to_dict().items() if k != "schema_version"}
    code, out, _ = run(capsys, "remedies", str(lab_path), "--failures", "3")
    assert code == 0 and out == found.text().rstrip("\n") + "\n"


def test_schema_command(capsys: pytest.CaptureFixture[str]) -> None:
    from hapolicy.schema import inventory_schema

    code, out, _ = run(capsys, "schema")
    assert code == 0 and json.loads(out) == inventory_schema()


# ---------------------------------------------------------------- item 9: wording


def test_counts_are_spelled_in_the_singular(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    one = tmp_path / "one.json"
    one.write_text(json.dumps({
        "hosts": [{"id": h, "cpu_mhz": 10000, "memory_mb": 16384, "datastores": ["ds"]} for h in ("h1", "h2", "h3")],
        "datastores": [{"id": "ds"}],
        "vms": [{"id": "v1", "host": "h1", "home_datastore": "ds", "memory_reservation_mb": 9000},
                {"id": "v2", "host": "h2", "home_datastore": "ds", "memory_reservation_mb": 9000}],
        "rules": [{"type": "vmAntiAffinity", "name": "apart", "vms": ["v1", "v2"]}],
        "cluster": {"version": "6.0", "admission_control": {"policy": "slot", "host_failures": 1}},
    }))
    code, out, _ = run(capsys, "validate", str(one))
    assert code == 0 and "1 datastore, 1 rule\n" in out
    code, out, _ = run(capsys, "admission", str(one))
    # A 9,000 MB slot: each 16,384 MB host holds 1, 3 slots; one host's slot is kept for its
    # failure; the 2 VMs use the other 2, none is left. With one VM, one is left.
    assert code == 0 and "0 slots available" in out
    (tmp_path / "two.json").write_text(json.dumps({**json.loads(one.read_text()), "rules": [], "vms": [
        {"id": "v1", "host": "h1", "home_datastore": "ds", "memory_reservation_mb": 9000}]}))
    code, out, _ = run(capsys, "admission", str(tmp_path / "two.json"))
    assert code == 0 and "1 slot available" in out and "1 slots" not in out


def test_sweep_text_is_a_summary_not_a_repr(capsys: pytest.CaptureFixture[str], lab_path: Path) -> None:
    code, out, _ = run(capsys, "sweep", str(lab_path), "--max-failures", "1")
    assert code == 0 and "SweepResult(" not in out
    assert out.splitlines()[0] == "4 combinations of up to 1 failed host: every one restarts every VM HA attempts"
    assert "  1 failed host: 4 of 4 combinations evaluated, 4 restart every VM, the worst leaves 0 VMs unplaced" in out


def test_inventory_help_names_every_format(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["report", "--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert ".xlsx" in out and "RVTools CSV" in out and "--cluster" in out


@pytest.mark.skipif(shutil.which("git") is None or not (ROOT / ".git").exists(), reason="needs the git checkout")
def test_build_and_report_outputs_are_ignored_by_git() -> None:
    for path in ("docs/_build/html/index.html", "report.html"):
        r = subprocess.run(["git", "check-ignore", "-q", path], cwd=ROOT)
        assert r.returncode == 0, f"{path} is not ignored"


# ---------------------------------------------------------------- item 8: run.sh


def test_run_sh_prints_only_the_report_on_standard_output(tmp_path: Path) -> None:
    """``./run.sh INV > report.txt`` captures the report alone: the build's chatter (pip,
    maturin) goes to standard error, with one line saying what is being built. The venv here
    is fake: its python, maturin and hapolicy print what the real ones would."""
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    calls = tmp_path / "calls"
    for name, body in {
        "python": 'echo "Collecting maturin\\nSuccessfully installed maturin-1.9.4"',
        "maturin": 'echo "🔗 Found pyo3 bindings\\n📦 Built wheel\\n🛠 Installed hapolicy-0.1.0"',
        "hapolicy": 'echo "THE REPORT for $*"',
    }.items():
        script = venv / "bin" / name
        script.write_text(f'#!/bin/sh\necho "{name} $*" >> {calls}\n{body}\n')
        script.chmod(0o755)
    env = {**os.environ, "HAPOLICY_VENV": str(venv)}
    r = subprocess.run(["bash", str(ROOT / "run.sh"), "examples/lab.json"], capture_output=True, text=True,
                       env=env, cwd=tmp_path, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "THE REPORT for report examples/lab.json --html report.html\n"
    assert "building hapolicy (release, ~2 min the first time)" in r.stderr
    assert "Successfully installed" not in r.stdout and "Built wheel" not in r.stdout
    assert "maturin develop --release" in calls.read_text()


# ---------------------------------------------------------------- item 7: README and docstrings


README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_readme_cites_the_docs_not_the_design_notes() -> None:
    assert "SPEC" + ".md" not in README and "API" + ".md" not in README and "SPEC" + " §" not in README
    assert "docs/rules.rst" in README and "docs/api.rst" in README


def test_readme_defaults_match_the_engine() -> None:
    """The defaults README states for version 8.0 are those the engine uses."""
    options = ha.Inventory.from_dict({"hosts": [{"id": "h", "cpu_mhz": 1, "memory_mb": 1}]}).options
    for key in ("das.respectVmVmAntiAffinityRules", "das.respectVmHostSoftAffinityRules"):
        assert options[key] is True and f"`{key}`" in README
    defaults = README.split("Defaults worth knowing", 1)[1].split("\n\n", 1)[0]
    assert "default to `true` from 6.5" in defaults and "default to `false`" not in defaults


def test_readme_tour_outputs_are_true(lab: ha.Inventory) -> None:
    e = ha.elect(lab)
    assert f"# {e.master!r}, {e.ranking!r}" in README
    doc = ha.__doc__ or ""
    assert "ha.elect(inv).master" in doc and f"\n{e.master!r}\n" in doc
    sim = ha.Simulation(lab)
    sim.isolate_host("host-22", at=0.0)
    lines = sim.run(until=300).text().splitlines()
    block = README.split("print(sim.run(until=300))\n", 1)[1].split("sim.host_states()", 1)[0]
    shown = [line[2:] for line in block.splitlines() if line.startswith("# t=")]
    assert shown and all(line in lines for line in shown), shown
    # Every line left out is marked where it was left out.
    positions = [lines.index(line) for line in shown]
    assert "# …" in block and positions == sorted(positions)


def test_readme_documents_installing_from_a_checkout() -> None:
    assert "pip install ." in README and "pip install 'hapolicy[" not in README
    assert "Chromium" in README and "govmomi" in README
    first_block = README.split("```sh\n", 1)[1].split("```", 1)[0]
    assert first_block.startswith("./run.sh") and "report.html" in first_block.splitlines()[0]
