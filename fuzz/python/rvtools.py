"""Fuzz target: RVTools exports → ``hapolicy.io.read_rvtools``.

    python fuzz/python/rvtools.py [libFuzzer flags] [corpus dirs or files]

Two ways in, chosen by the input:

* input starting with ``PK`` (a zip, as every .xlsx is): the bytes are written to a ``.xlsx``
  file as they are — corrupt zips, broken XML, odd sheets;
* anything else drives ``atheris.FuzzedDataProvider`` to build an export in RVTools' shape —
  vInfo, vHost, vDatastore (and sometimes vCluster, vCPU, vMemory, vDisk, vSource) tabs whose
  headers are RVTools' own spellings, variants or fuzzed text, and whose cells hold valid
  values, numbers, text, booleans, dates, or nothing — written with openpyxl as an ``.xlsx``
  workbook or as a directory of RVTools CSV exports; then ``read_rvtools`` with a fuzzed
  ``cluster=`` / ``version=`` / ``admission_control=``.

Promise checked (the module's docstring): an export is read into an inventory, or an
``InventoryError`` (``ArgumentError`` for a bad argument) lists the problems — only
HaPolicyError subclasses escape, never InternalError. A loaded inventory must round-trip
(``from_dict(to_dict())``) and be accepted by admission control and election.

At start-up a few valid workbooks are written to the work corpus, so the zip path starts from
real .xlsx files.
"""

from __future__ import annotations

import csv
import datetime
import io
import shutil
import sys
from pathlib import Path
from typing import Any

import atheris

with atheris.instrument_imports(include=["hapolicy"]):
    import hapolicy as ha
    from hapolicy.io import read_rvtools
    from hapolicy.io.rvtools import COLUMNS

import openpyxl

import _harness as H

TMP = H.scratch_dir("rvtools")
XLSX = TMP / "export.xlsx"
CSV_DIR = TMP / "csv"

TABS = ["vInfo", "vHost", "vDatastore", "vCluster", "vCPU", "vMemory", "vDisk", "vSource"]
HOSTS = ["esx-01", "esx-02", "esx-03"]
CLUSTERS = ["prod-a", "prod-b", ""]
DATASTORES = ["ds-1", "ds-2", "nfs-1"]
VMS = ["db01", "web01", "web02", "app01"]


def _valid_cell(tab: str, key: str, fdp: atheris.FuzzedDataProvider) -> Any:
    """A plausible value for column ``key`` of ``tab``."""
    pick = fdp.PickValueInList
    if key in ("vm",):
        return pick(VMS)
    if key == "host":
        return pick(HOSTS)
    if key in ("cluster", "name") and tab in ("vInfo", "vHost", "vCluster"):
        return pick(CLUSTERS)
    if key == "name":
        return pick(DATASTORES)
    if key == "datacenter":
        return pick(["DC1", "DC2"])
    if key == "powerstate":
        return pick(["poweredOn", "poweredOff", "suspended", "on", "Off"])
    if key in ("template", "srm", "maintenance", "locked", "ha_enabled", "ac_enabled", "host_monitoring", "das_protection"):
        return pick(["True", "False", True, False, "yes", "0"])
    if key == "path":
        return f"[{pick(DATASTORES)}] {pick(VMS)}/{pick(VMS)}.vmx"
    if key in ("vm_id", "object_id"):
        return pick(["vm-1", "vm-2", "host-10", "host-11", "datastore-1", "datastore-2"])
    if key == "vm_uuid":
        return pick(["4210-a", "4210-b"])
    if key == "hosts":
        return ", ".join(HOSTS[: fdp.ConsumeIntInRange(0, 3)])
    if key == "type":
        return pick(["VMFS", "NFS", "NFS41", "vsan", "VVOL", "PMEM"])
    if key in ("speed", "cpus", "cores", "cores_per_cpu", "memory", "reservation", "size", "overhead",
               "failover_level", "failure_interval", "min_up_time", "max_failures", "max_failure_window"):
        return pick([0, 1, 2, 12, 24, 2600, 4096, 262144, "1,024", "2048 MB", -1])
    if key in ("version", "api_version"):
        return pick(["8.0.2", "7.0.3.0", "6.7", "5.5", "VMware vCenter Server 8.0.2 build-2"])
    if key == "restart_priority":
        return pick(["high", "Use cluster setting", "medium", "disabled", "lowest"])
    if key == "isolation_response":
        return pick(["none", "Power off and restart VMs", "shutdown", "Use cluster setting"])
    if key in ("vm_monitoring",):
        return pick(["vmMonitoringDisabled", "vmMonitoringOnly", "vmAndAppMonitoring"])
    if key == "hb_policy":
        return pick(["allFeasibleDs", "userSelectedDs", "allFeasibleDsWithUserPreference"])
    if key == "ft_state":
        return pick(["notConfigured", "running", "disabled"])
    if key == "ft_role":
        return pick(["1", "2", "primary", "secondary"])
    if key == "address":
        return pick(["nas01:/export/ds", "10.0.0.1:/vol"])
    return H.text(fdp)


def _cell(tab: str, key: str | None, fdp: atheris.FuzzedDataProvider) -> Any:
    choice = fdp.ConsumeIntInRange(0, 9)
    if key is not None and choice <= 5:
        return _valid_cell(tab, key, fdp)
    if choice == 6:
        return None
    if choice == 7:
        return H.number(fdp)
    if choice == 8:
        return fdp.PickValueInList(ODD_CELLS)
    return H.text(fdp, 20)


# Cell values RVTools never writes but a hand-edited or damaged export may hold.
ODD_CELLS: list[Any] = [
    True, False, "", " ", datetime.datetime(2024, 1, 2, 3, 4, 5), datetime.date(1900, 1, 1), "=1+1", "#N/A",
    "x" * 140_000, "9" * 400, "9" * 5000 + ".0", "8." + "0" * 5000, "1" + "0" * 30, "-" + "9" * 330, "1,024.5", "1 024", "2048 MB", "١٠", "0x10", "1e3", "nan", "inf",
    float("inf"), float("-inf"), float("nan"), 1e300, -1e300, 2.5, -0.0, 2**64, -(2**63) - 1,
]


def _header(tab: str, key: str, fdp: atheris.FuzzedDataProvider) -> str:
    names = COLUMNS[tab][key]
    choice = fdp.ConsumeIntInRange(0, 9)
    if choice <= 5:
        return names[0]
    if choice == 6:
        return fdp.PickValueInList(list(names))
    if choice == 7:
        return tab + names[0].replace(" ", "")  # the CSV-export spelling
    if choice == 8:
        return names[0].upper()
    return H.text(fdp)


def build_export(fdp: atheris.FuzzedDataProvider) -> dict[str, list[list[Any]]]:
    tabs: dict[str, list[list[Any]]] = {}
    wanted = [t for t in TABS if t in ("vInfo", "vHost", "vDatastore") and fdp.ConsumeIntInRange(0, 9)]
    wanted += [t for t in TABS if t not in wanted and fdp.ConsumeIntInRange(0, 2) == 0]
    for tab in wanted:
        keys: list[str | None] = [k for k in COLUMNS.get(tab, {}) if fdp.ConsumeIntInRange(0, 7)]
        keys += [None] * fdp.ConsumeIntInRange(0, 2)  # unknown columns
        if fdp.ConsumeIntInRange(0, 3) == 0:
            keys.reverse()
        header = [_header(tab, k, fdp) if k is not None else H.text(fdp) for k in keys]
        rows: list[list[Any]] = [header]
        if fdp.ConsumeIntInRange(0, 9) == 0:
            rows.insert(0, [None] * len(header))  # blank lines before the header
        for _ in range(fdp.ConsumeIntInRange(0, 5)):
            row = [_cell(tab, k, fdp) for k in keys]
            if fdp.ConsumeIntInRange(0, 9) == 0:
                row = row[: fdp.ConsumeIntInRange(0, len(row))]  # short row
            rows.append(row)
        tabs[tab] = rows
    return tabs


def write_xlsx(tabs: dict[str, list[list[Any]]], path: Path, fdp: atheris.FuzzedDataProvider) -> None:
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for tab, rows in tabs.items():
        name = fdp.PickValueInList([tab, tab, tab.lower(), "tab" + tab])
        if name in wb.sheetnames:
            continue
        ws = wb.create_sheet(name)
        for row in rows:
            ws.append([_for_excel(v) for v in row])
        if fdp.ConsumeIntInRange(0, 19) == 0:
            # A stray cell far away: the sheet then declares a huge size (<dimension>). Far rows
            # are rare: openpyxl itself takes ~2 s to walk a million empty rows.
            last = 1_048_576 if fdp.ConsumeIntInRange(0, 49) == 0 else 2_000
            ws.cell(row=fdp.ConsumeIntInRange(1, last), column=fdp.ConsumeIntInRange(1, 16_384), value="x")
    if not wb.sheetnames:
        wb.create_sheet("Sheet1")  # a workbook needs a sheet: one that is no RVTools tab
    wb.save(path)


def _for_excel(v: Any) -> Any:
    """What openpyxl can store: it refuses control characters and lone surrogates in text and
    integers beyond Excel's range; such values become text it can store."""
    if isinstance(v, str):  # (Excel holds at most 32767 characters in a cell)
        v = openpyxl.cell.cell.ILLEGAL_CHARACTERS_RE.sub("?", v[:32767])
        return v.encode("utf-8", "replace").decode("utf-8")
    if isinstance(v, int) and not isinstance(v, bool) and abs(v) >= 2**53:
        return str(v)
    return v


def write_csv_dir(tabs: dict[str, list[list[Any]]], folder: Path, fdp: atheris.FuzzedDataProvider) -> None:
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir()
    delimiter = fdp.PickValueInList([",", ";", "\t"])
    for tab, rows in tabs.items():
        buf = io.StringIO()
        writer = csv.writer(buf, delimiter=delimiter)
        for row in rows:
            writer.writerow(["" if v is None else v for v in row])
        encoding = fdp.PickValueInList(["utf-8-sig", "utf-8", "cp1252"])
        (folder / f"RVTools_tab{tab}.csv").write_bytes(buf.getvalue().encode(encoding, "replace"))


def read(path: Path, fdp: atheris.FuzzedDataProvider) -> None:
    kwargs: dict[str, Any] = {}
    if fdp.ConsumeIntInRange(0, 3) == 0:
        kwargs["cluster"] = fdp.PickValueInList(["prod-a", "DC1/prod-a", "DC2/prod-a", "PROD-A", "x"])
    if fdp.ConsumeIntInRange(0, 5) == 0:
        kwargs["version"] = fdp.PickValueInList(["8.0", "7.0.3", "4.1", "9.1", "x", ""])
    if fdp.ConsumeIntInRange(0, 5) == 0:
        kwargs["admission_control"] = fdp.PickValueInList(
            [{"policy": "disabled"}, {"policy": "slot", "host_failures": 1}, {"policy": "bogus"}, {}])
    loaded = H.survive(lambda: read_rvtools(path, **kwargs))
    if loaded is None:
        return
    inv, assumptions = loaded
    for a in assumptions:
        str(a)
    H.check(ha.Inventory.from_dict(inv.to_dict()) == inv, "from_dict(to_dict()) != inv")
    ha.admission_control(inv)
    ha.elect(inv)
    ha.heartbeat_datastores(inv)


def test_one_input(data: bytes) -> None:
    if data[:2] == b"PK":
        XLSX.write_bytes(data)
        H.survive(lambda: read_rvtools(XLSX))
        return
    fdp = atheris.FuzzedDataProvider(data)
    tabs = build_export(fdp)
    if fdp.ConsumeBool():
        write_xlsx(tabs, XLSX, fdp)
        read(XLSX, fdp)
    else:
        write_csv_dir(tabs, CSV_DIR, fdp)
        read(CSV_DIR, fdp)


def seed_workbooks(folder: Path) -> None:
    """A valid two-host export, and the same with every optional tab, as seeds."""
    info = [["VM", "Powerstate", "Template", "Host", "Cluster", "Datacenter", "Path", "VM ID", "HA Restart Priority"],
            ["db01", "poweredOn", "False", "esx-01", "prod-a", "DC1", "[ds-1] db01/db01.vmx", "vm-1", "high"],
            ["web01", "poweredOff", "False", None, "prod-a", "DC1", "[ds-2] web01/web01.vmx", "vm-2", None]]
    host = [["Host", "Cluster", "Datacenter", "in Maintenance Mode", "Speed", "# CPU", "Cores per CPU", "# Cores",
             "# Memory", "Object ID"],
            ["esx-01", "prod-a", "DC1", "False", 2600, 2, 12, 24, 262144, "host-10"],
            ["esx-02", "prod-a", "DC1", "False", 2600, 2, 12, 24, 262144, "host-11"]]
    ds = [["Name", "Type", "Hosts", "Address", "Object ID"],
          ["ds-1", "VMFS", "esx-01, esx-02", None, "datastore-1"],
          ["ds-2", "NFS", "esx-02", "nas01:/export", "datastore-2"]]
    more = {
        "vCluster": [["Name", "HA enabled", "Failover Level", "AdmissionControlEnabled", "Isolation Response"],
                     ["prod-a", "True", 1, "True", "powerOff"]],
        "vCPU": [["VM", "VM ID", "Reservation"], ["db01", "vm-1", 1000]],
        "vMemory": [["VM", "VM ID", "Reservation", "Size MiB", "Overhead"], ["db01", "vm-1", 2048, 4096, 60]],
        "vSource": [["Version"], ["8.0.2"]],
    }
    for name, tabs in (("seed-minimal.xlsx", {"vInfo": info, "vHost": host, "vDatastore": ds}),
                       ("seed-full.xlsx", {"vInfo": info, "vHost": host, "vDatastore": ds, **more})):
        target = folder / name
        if target.exists():
            continue
        wb = openpyxl.Workbook()
        wb.remove(wb.active)
        for tab, rows in tabs.items():
            ws = wb.create_sheet(tab)
            for row in rows:
                ws.append(row)
        wb.save(target)


def main() -> None:
    positional = [a for a in sys.argv[1:] if not a.startswith("-")]
    if positional and Path(positional[0]).is_dir():
        seed_workbooks(Path(positional[0]))
    elif not positional:
        work = H.SCRATCH / "python-corpus" / "rvtools"
        work.mkdir(parents=True, exist_ok=True)
        seed_workbooks(work)
    H.run("rvtools", test_one_input, [])


if __name__ == "__main__":
    main()
