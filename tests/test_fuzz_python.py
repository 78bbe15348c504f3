"""Python-side fuzzing of the public API (fuzz/python/, atheris), and the regressions it found.

* Each harness in ``fuzz/python/`` runs in a subprocess for a fixed, seeded number of inputs
  (``-runs=N -seed=1``) from its seed corpus and must finish without a crash (exit status 0).
  Skipped when atheris is not installed (``pip install -e '.[test]'`` brings it).
* Every crash the harnesses found in the Python layer has a named regression test below; they
  do not need atheris.

See fuzz/README.md, section "Python API (atheris)".
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

import hapolicy as ha
import hapolicy.io
from hapolicy.cli import main

from .conftest import EXAMPLES, ROOT

HARNESSES = ROOT / "fuzz" / "python"
INVALID = ROOT / "tests" / "invalid"

# Runs per harness: all four together take about 22 s here (2 shared cores). The seed corpus
# counts: inventory_documents replays its 109 seeds first.
RUNS = {"inventory_documents": 1000, "scenarios": 2000, "rvtools": 300, "cli": 500}
SEEDS = {
    "inventory_documents": [EXAMPLES, INVALID],
    "scenarios": [EXAMPLES / "scenarios"],
    "rvtools": [],
    "cli": [],
}


@pytest.fixture(scope="module")
def atheris_installed() -> None:
    pytest.importorskip("atheris")


@pytest.mark.parametrize("name", sorted(RUNS))
def test_harness_runs_clean(name: str, tmp_path: Path, atheris_installed: None) -> None:
    if name == "rvtools":
        pytest.importorskip("openpyxl")
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    env = {**os.environ, "PYTHONHASHSEED": "0", "HAPOLICY_FUZZ_TMP": str(tmp_path / "scratch")}
    cmd = [
        sys.executable, str(HARNESSES / f"{name}.py"),
        f"-runs={RUNS[name]}", "-seed=1", f"-artifact_prefix={tmp_path}{os.sep}", "-timeout=120",
        str(corpus), *(str(s) for s in SEEDS[name]),
    ]
    r = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600, cwd=tmp_path)
    log = "\n".join(line for line in r.stderr.splitlines() if not line.startswith("INFO: Instrumenting"))
    assert r.returncode == 0, f"{name}: exit status {r.returncode}\n{log[-6000:]}"
    assert f"Done {RUNS[name]} runs" in r.stderr, log[-3000:]
    assert not list(tmp_path.glob("crash-*")) and not list(tmp_path.glob("timeout-*"))


# ------------------------------------------------------------------ regressions: simulation


@pytest.mark.parametrize("attempts", [-1, 2**32, 2**64, 1.5, "x", True, None])
def test_power_on_failure_bad_attempts_is_argument_error(attempts: Any) -> None:
    """scenarios harness: ``sim.power_on_failure(vm, -1)`` raised OverflowError (the core's
    u32 conversion), ``"x"`` a ValueError from ``int()``. Now ArgumentError, like the
    ``power_on_failure`` fault dict, which says InventoryError for the same values."""
    sim = ha.Simulation(ha.Inventory.load(EXAMPLES / "lab.json"))
    with pytest.raises(ha.ArgumentError, match="attempts must be a whole number"):
        sim.power_on_failure("vm-100", attempts)
    if attempts is not None:  # (in a fault dict, null is the default: 1)
        with pytest.raises(ha.InventoryError):
            sim.apply([{"type": "power_on_failure", "vm": "vm-100", "attempts": attempts}])


@pytest.mark.parametrize("attempts", [0, 1, 2**32 - 1, 3.0])
def test_power_on_failure_good_attempts(attempts: Any) -> None:
    sim = ha.Simulation(ha.Inventory.load(EXAMPLES / "lab.json"))
    sim.power_on_failure("vm-100", attempts)
    sim.run(until=60)


# ------------------------------------------------------------------ regressions: ids UTF-8 cannot encode

LONE = "\ud800"  # a lone surrogate; "\udcff" is how Python passes a command-line byte that is not UTF-8


def _id_calls() -> dict[str, Any]:
    inv = ha.Inventory.load(EXAMPLES / "lab.json")
    sim = ha.Simulation(inv)
    return {
        "inv.host": lambda s: inv.host(s),
        "inv.vm": lambda s: inv.vm(s),
        "inv.datastore": lambda s: inv.datastore(s),
        "plan_failover failed": lambda s: ha.plan_failover(inv, [s]),
        "plan_failover isolated": lambda s: ha.plan_failover(inv, [], [s]),
        "admission_control": lambda s: ha.admission_control(inv, [s]),
        "elect": lambda s: ha.elect(inv, [s]),
        "check_reservation_change": lambda s: ha.check_reservation_change(inv, s, 1, 1),
        "sweep": lambda s: ha.sweep(inv, 1, [s]),
        "fail_host": lambda s: sim.fail_host(s),
        "recover_host": lambda s: sim.recover_host(s),
        "fail_agent": lambda s: sim.fail_agent(s),
        "isolate_host": lambda s: sim.isolate_host(s),
        "partition": lambda s: sim.partition([[s]]),
        "datastore_apd": lambda s: sim.datastore_apd(s),
        "datastore_apd hosts": lambda s: sim.datastore_apd("datastore-11", hosts=[s]),
        "datastore_pdl": lambda s: sim.datastore_pdl(s),
        "guest_heartbeat_loss": lambda s: sim.guest_heartbeat_loss(s),
        "power_on_failure": lambda s: sim.power_on_failure(s),
    }


@pytest.mark.parametrize("call", sorted(_id_calls()))
@pytest.mark.parametrize("bad", [LONE, "host-\udcff"])
def test_id_with_lone_surrogate_is_unknown_id(call: str, bad: str) -> None:
    """scenarios harness: ``sim.datastore_apd("\udede…")`` raised UnicodeEncodeError (the
    core takes UTF-8); so did every call taking ids. Such an id names nothing: UnknownIdError,
    as for any unknown id."""
    with pytest.raises(ha.UnknownIdError) as info:
        _id_calls()[call](bad)
    assert info.value.id == bad


def test_lone_surrogate_in_ignored_lists_and_explain() -> None:
    inv = ha.Inventory.load(EXAMPLES / "lab.json")
    assert ha.heartbeat_datastores(inv, [LONE]) == ha.heartbeat_datastores(inv)
    assert ha.elect(inv, unusable_datastores=[LONE]).ranking == ha.elect(inv).ranking
    assert ha.plan_failover(inv, ["host-21"]).explain(LONE).startswith("\\ud800 is not on a failed")


def test_load_path_the_os_cannot_take_is_an_inventory_error() -> None:
    for path in ["a\0.json", LONE + ".json"]:
        with pytest.raises(ha.InventoryError, match="cannot read file"):
            ha.Inventory.load(path)


def test_cli_undecodable_argument_exits_2() -> None:
    """``hapolicy failover lab.json --fail $'\\xff'`` ended in a UnicodeEncodeError traceback."""
    r = subprocess.run([sys.executable, "-m", "hapolicy", "failover", os.fsencode(EXAMPLES / "lab.json"), "--fail", b"\xff"],
                       capture_output=True)
    assert r.returncode == 2, r.stderr
    assert r.stderr.decode() == "hapolicy: error: unknown host '\\udcff'\n"


# ------------------------------------------------------------------ regressions: sweep and admission


@pytest.mark.parametrize("kwargs", [
    {"max_failures": -1}, {"max_failures": 2**64}, {"threads": -1}, {"threads": 2**64}, {"threads": 1.5},
    {"sample": -1}, {"sample": 5, "seed": -1}, {"sample": 5, "seed": 2**64}, {"worst_only": -1},
    {"unplaced_vms_limit": -1}, {"shard": (-1, 2)}, {"shard": (0,)}, {"shard": 5}, {"sample": True},
])
def test_sweep_out_of_range_counts_are_argument_errors(kwargs: dict[str, Any]) -> None:
    """cli harness: ``hapolicy sweep INV --threads -9223372036854775809`` ended in an
    OverflowError traceback (the core's unsigned conversion); so did ``--max-failures -1``,
    ``--sample -1``, ``--worst -1``. ``ha.sweep`` now checks every count."""
    with pytest.raises(ha.ArgumentError):
        ha.sweep(ha.Inventory.load(EXAMPLES / "lab.json"), **kwargs)


def test_sweep_threads_above_the_maximum_is_an_argument_error() -> None:
    """cli harness: ``--threads 100000`` spent minutes starting threads for a 4-host sweep."""
    inv = ha.Inventory.load(EXAMPLES / "lab.json")
    with pytest.raises(ha.ArgumentError, match="at most 1024"):
        ha.sweep(inv, threads=100_000)
    # The maximum itself is fine: the pool is no bigger than the 4 scenarios.
    assert ha.sweep(inv, threads=1024).scenarios == 4


def test_integers_beyond_64_bits_read_as_json_text_reads_them() -> None:
    """inventory_documents harness: from_dict refused an integer beyond 64 bits even in an
    ignored field, where from_json read it as a float and ignored the field."""
    ignored = {"hosts": [{"id": "h", "cpu_mhz": 1, "memory_mb": 1, "bogus": 2**70}]}
    from_dict = ha.Inventory.from_dict(ignored)
    assert from_dict == ha.Inventory.from_json(json.dumps(ignored))
    assert ("hosts[0].bogus", "unknown field: ignored") in [tuple(w) for w in from_dict.warnings]
    known = {"hosts": [{"id": "h", "cpu_mhz": 2**70, "memory_mb": 1}]}
    problems = []
    for read in (lambda: ha.Inventory.from_dict(known), lambda: ha.Inventory.from_json(json.dumps(known))):
        with pytest.raises(ha.InventoryError) as err:
            read()
        problems.append(err.value.problems)
    assert problems[0] == problems[1] == [("hosts[0].cpu_mhz", "1.1805916207174113e21 is too large (at most 2^53 = 9007199254740992)")]


def test_sweep_worst_negative_is_argument_error() -> None:
    result = ha.sweep(ha.Inventory.load(EXAMPLES / "lab.json"))
    with pytest.raises(ha.ArgumentError):
        result.worst(-1)
    assert len(result.worst(2)) == 2 and result.worst(0) == []


@pytest.mark.parametrize("cpu, memory", [(-1, None), (None, -5), (2**64, None), (1.5, None), (True, None)])
def test_check_reservation_change_out_of_range_is_argument_error(cpu: Any, memory: Any) -> None:
    """cli harness: ``hapolicy check INV --reservation vm-100 --cpu -5`` ended in an
    OverflowError traceback."""
    with pytest.raises(ha.ArgumentError):
        ha.check_reservation_change(ha.Inventory.load(EXAMPLES / "lab.json"), "vm-100", cpu, memory)


@pytest.mark.parametrize("argv", [
    ["sweep", "{lab}", "--threads", "0", "--threads", "-9223372036854775809"],
    ["sweep", "{lab}", "--max-failures", "-1"],
    ["sweep", "{lab}", "--worst", "-1"],
    ["sweep", "{lab}", "--sample", "-1"],
    ["sweep", "{lab}", "--sample", "2", "--seed", "-1"],
    ["check", "{lab}", "--reservation", "vm-100", "--cpu", "-5"],
    ["check", "{lab}", "--reservation", "vm-100", "--memory", "18446744073709551616"],
])
def test_cli_out_of_range_numbers_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    args = [a.format(lab=EXAMPLES / "lab.json") for a in argv]
    assert main(args) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1 and err.startswith("hapolicy: error: ")


# ------------------------------------------------------------------ regressions: RVTools


def _csv_export(folder: Path, vhost_row: dict[str, Any], vsource: str | None = None) -> Path:
    folder.mkdir()
    tabs: dict[str, list[list[Any]]] = {
        "vInfo": [["VM", "Powerstate", "Host", "Cluster", "Path", "VM ID"],
                  ["db01", "poweredOn", "esx-01", "prod-a", "[ds-1] db01/db01.vmx", "vm-1"]],
        "vHost": [list(vhost_row), list(vhost_row.values())],
    }
    if vsource is not None:
        tabs["vSource"] = [["Version"], [vsource]]
    for tab, rows in tabs.items():
        with open(folder / f"RVTools_tab{tab}.csv", "w", newline="", encoding="utf-8") as f:
            csv.writer(f).writerows(rows)
    return folder


HOST = {"Host": "esx-01", "Cluster": "prod-a", "Speed": 2600, "# Cores": 24, "# Memory": 262144, "Object ID": "host-1"}


@pytest.mark.parametrize("cell", ["9" * 400, "-" + "9" * 330, "inf"])
def test_rvtools_number_beyond_float_is_a_problem(cell: str, tmp_path: Path) -> None:
    """rvtools harness: a cell of 400 digits (a float overflows to ∞) made ``_int`` raise
    OverflowError ("cannot convert float infinity to integer"). Now it is not a number: the
    export's problem is listed with its cell."""
    export = _csv_export(tmp_path / "export", {**HOST, "# Memory": cell})
    with pytest.raises(ha.InventoryError) as info:
        ha.io.read_rvtools(export)
    assert any("not a number" in m for _, m in info.value.problems), info.value.problems


def test_rvtools_float_infinity_cell_is_not_a_number() -> None:
    from hapolicy.io.rvtools import _int

    assert _int(float("inf")) is None and _int(float("-inf")) is None and _int(float("nan")) is None
    assert _int("9" * 400) is None and _int("1,024") == 1024 and _int(2.6) == 3


def test_rvtools_version_with_thousands_of_digits(tmp_path: Path) -> None:
    """A version text of 5000 digits raised ValueError (``int()`` refuses over 4300 digits).
    Such a version is beyond every real one: the newest the engine knows."""
    from hapolicy.io import _common

    assert _common.version("9" * 5000 + ".0") == "8.0"
    assert _common.version("1." + "9" * 5000) == "5.0"
    assert _common.version("0000000000007.0") == "7.0"
    export = _csv_export(tmp_path / "export", HOST, vsource="9" * 5000 + ".1")
    assert ha.io.read_rvtools(export).inventory.config.version == "8.0"


def test_rvtools_csv_field_over_the_csv_limit_is_an_inventory_error(tmp_path: Path) -> None:
    """A field longer than ``csv.field_size_limit()`` (128 KiB) escaped as ``_csv.Error``."""
    export = _csv_export(tmp_path / "export", {**HOST, "Host": "x" * 140_000})
    with pytest.raises(ha.InventoryError, match="not a readable CSV export"):
        ha.io.read_rvtools(export)


def _workbook(path: Path, stray: str | None = None) -> Path:
    openpyxl = pytest.importorskip("openpyxl")
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "vInfo"
    ws.append(["VM", "Powerstate", "Host", "Cluster"])
    ws.append(["db01", "poweredOn", "esx-01", "prod-a"])
    if stray is not None:
        ws[stray] = "x"
    h = wb.create_sheet("vHost")
    h.append(list(HOST))
    h.append(list(HOST.values()))
    wb.save(path)
    return path


def test_rvtools_declared_sheet_size_is_not_trusted(tmp_path: Path) -> None:
    """One stray cell at XFD1048576 makes a 5 KB workbook declare 16384 × 1048576 cells, and
    openpyxl pads every row to that: read_rvtools ran for hours. The declared size is ignored
    and rows below the header are read only as wide as the header: the stray cell's row
    (nothing under any column name) is empty, hence dropped."""
    from hapolicy.io.rvtools import _read_xlsx

    path = _workbook(tmp_path / "wide.xlsx", stray="XFD5")
    tabs = _read_xlsx(path)
    _, rows = tabs["vInfo"]
    assert [i for i, _ in rows] == [1, 2]
    assert [len(r) for _, r in rows] == [4, 4]
    assert ha.io.read_rvtools(path).inventory.summary()["vms"] == 1


def test_rvtools_rows_are_read_only_as_wide_as_the_header(tmp_path: Path) -> None:
    """Review finding: without a declared size openpyxl still pads each row to its last cell,
    so one cell at column XFD on each of many rows (a small file) meant 16,384 values per row.
    Rows are cut to the header's width before they are built; data under the header stays."""
    openpyxl = pytest.importorskip("openpyxl")
    from hapolicy.io.rvtools import _read_xlsx

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "vInfo"
    ws.append(["VM", "Powerstate", "Host", "Cluster"])
    for n in range(2, 302):
        ws.append([f"vm{n:03}", "poweredOn", "esx-01", "prod-a"])
        ws.cell(row=n, column=16384, value="x")
    h = wb.create_sheet("vHost")
    h.append(list(HOST))
    h.append(list(HOST.values()))
    path = tmp_path / "wide_rows.xlsx"
    wb.save(path)
    _, rows = _read_xlsx(path)["vInfo"]
    assert len(rows) == 301 and {len(r) for _, r in rows} == {4}
    assert rows[-1] == (301, ("vm301", "poweredOn", "esx-01", "prod-a"))
    assert ha.io.read_rvtools(path).inventory.summary()["vms"] == 300


def test_rvtools_row_beyond_excel_limit_is_an_inventory_error(tmp_path: Path) -> None:
    """A damaged sheet numbering a row beyond Excel's 1048576 rows (openpyxl walks every
    missing row up to it: r="999999999" took minutes) is an InventoryError at row 1048577."""
    good = _workbook(tmp_path / "good.xlsx")
    bad = tmp_path / "bad.xlsx"
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(bad, "w") as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = data.replace(b"</sheetData>",
                                    b'<row r="1048577"><c r="A1048577" t="inlineStr"><is><t>x</t></is></c></row></sheetData>')
            dst.writestr(item, data)
    with pytest.raises(ha.InventoryError, match="beyond Excel's 1048576 rows"):
        ha.io.read_rvtools(bad)


def test_rvtools_corrupt_workbooks_are_inventory_errors(tmp_path: Path) -> None:
    """What the raw-bytes half of the rvtools harness checks, on a few fixed cases."""
    good = _workbook(tmp_path / "good.xlsx")
    data = good.read_bytes()
    for i, blob in enumerate([b"", b"PK", data[: len(data) // 2], data[:30] + b"\0" * 200, data[:-22]]):
        p = tmp_path / f"bad{i}.xlsx"
        p.write_bytes(blob)
        with pytest.raises(ha.InventoryError, match="not a readable .xlsx workbook"):
            ha.io.read_rvtools(p)


def test_numpy_integers_are_counts_too() -> None:
    """Review finding: the new range checks used ``isinstance(value, int)`` and refused numpy
    integers the core had always taken (through ``__index__``)."""
    np = pytest.importorskip("numpy")
    inv = ha.Inventory.load(EXAMPLES / "lab.json")
    result = ha.sweep(inv, np.int64(1), threads=np.int32(2), worst_only=np.uint8(3))
    assert result.scenarios == 4 and len(result.worst(np.int64(2))) == 2
    decision = ha.check_reservation_change(inv, "vm-100", np.int64(0), np.uint16(0))
    assert decision.allowed
    with pytest.raises(ha.ArgumentError):
        ha.sweep(inv, threads=np.int64(-1))
