"""RVTools exports → :class:`~hapolicy.Inventory`.

RVTools (https://www.robware.net, Dell) exports a vCenter inventory to an Excel workbook with
one tab per object type. This adapter reads the tabs it needs:

=============  ==========================================================================
tab            columns used (RVTools 4.x headers)
=============  ==========================================================================
``vInfo``      VM, Powerstate, Template, SRM Placeholder, Host, Cluster, Datacenter, Path,
               VM ID, VM UUID, HA Restart Priority, HA Isolation Response,
               HA VM Monitoring, DAS protection, FT State, FT Role, VI SDK API Version
``vHost``      Host, Cluster, Datacenter, in Maintenance Mode, Speed, # CPU, Cores per CPU,
               # Cores, # Memory, Object ID, vSAN Fault Domain Name
``vDatastore`` Name, Type, Hosts, Address, URL, Object ID
``vCluster``   Name, NumHosts, TotalCpu, TotalMemory, HA enabled, Failover Level,
               AdmissionControlEnabled, Host monitoring, HB Datastore Candidate Policy,
               Isolation Response, Restart Priority, VM Monitoring, Failure Interval,
               Min Up Time, Max Failures, Max Failure Window
``vCPU``       VM, VM ID, VM UUID, Reservation (MHz), Overall (CPU usage, MHz: ``cpu_usage_mhz``)
``vMemory``    VM, VM ID, VM UUID, Reservation (MiB), Memory Reservation Locked To Max,
               Size MiB, Overhead, Consumed Overhead (MiB), Active (active guest memory, MiB:
               ``memory_usage_mb``)
``vDisk``      VM, VM ID, VM UUID, Path — optional: every datastore a VM's disks use
``vSource``    Version — optional: the vCenter version
=============  ==========================================================================

Headers match by name, ignoring case, spaces and punctuation, and also in the CSV-export
spelling that prefixes the tab name (``vInfoPowerstate``, ``vHostCpuMhz``,
``vMemoryOverhead``); column order does not matter and other columns are ignored. Only
``vInfo`` and ``vHost`` are required. A directory of RVTools CSV exports (one
``…vInfo.csv`` per tab) is read the same way.

What real exports of a whole vCenter hold, and how it is read:

- A VM's datastores are its home (vInfo ``Path``, ``[datastore] dir/vm.vmx``) and every
  disk's: vDisk ``Path`` holds ``[datastore] dir/disk.vmdk``, while vDisk ``Disk Path`` holds
  the guest's mount points or drive letters (``/, /boot``) and is read only when ``Path`` has no
  datastore.
- Datastore names are unique only within a datacenter, and vDatastore has no Datacenter column:
  rows of one name are told apart by the hosts that mount them (``Hosts``, a ``", "``-joined list
  of host names); rows with the same ``URL`` (or ``Object ID``) are one datastore.
- Cluster names too are unique only within a datacenter, and vCluster has no Datacenter column:
  the chosen cluster's row is the one whose ``NumHosts`` / ``TotalCpu`` / ``TotalMemory`` fit its
  hosts in vHost and no other cluster of that name. Rows that cannot be told apart are used only
  if their HA settings are the same; otherwise the export is refused, never read with another
  cluster's settings.
- vCenter 8 reports ``Overhead`` 0 for powered-on VMs; ``Consumed Overhead`` is used then (an
  assumption says so), as :func:`~hapolicy.io.read_vsphere` falls back to
  ``consumedOverheadMemory``.
- An export of several clusters needs ``cluster=``; without it the error lists every cluster with
  its datacenter.

Units are RVTools': memory in MiB, CPU in MHz (host capacity = Speed × # Cores).

What RVTools does not export — which admission-control policy is configured (only whether it
is on and the failover level), advanced options, VMCP, heartbeat datastore preferences, host
connection and standby state, and DRS rules — comes from the arguments or the documented
:class:`~hapolicy.io.Defaults`; :func:`read_rvtools` returns every value it assumed.
"""

from __future__ import annotations

import csv
import html
import importlib
import math
import os
import re
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ArgumentError, InventoryError
from ..inventory import Inventory
from . import _common as c
from ._common import Defaults, Loaded, Notes

__all__ = ["COLUMNS", "from_rvtools", "read_rvtools"]

#: Column aliases per tab: ``{tab: {field: (header, …)}}``. The first header of each field is
#: the RVTools 4.x spelling; the others are tolerated variants (CSV-export names match after
#: the tab-name prefix is removed, e.g. ``vHostCpuMhz`` → ``CpuMhz``).
COLUMNS: dict[str, dict[str, tuple[str, ...]]] = {
    "vInfo": {
        "vm": ("VM", "VM Name"),
        "powerstate": ("Powerstate", "Power State"),
        "template": ("Template",),
        "srm": ("SRM Placeholder",),
        "host": ("Host",),
        "cluster": ("Cluster",),
        "datacenter": ("Datacenter",),
        "path": ("Path", "VM Path", "vmPathName"),
        "vm_id": ("VM ID", "Object ID", "VMID"),
        "vm_uuid": ("VM UUID", "Instance UUID"),
        "restart_priority": ("HA Restart Priority",),
        "isolation_response": ("HA Isolation Response",),
        "vm_monitoring": ("HA VM Monitoring",),
        "das_protection": ("DAS protection",),
        "ft_state": ("FT State",),
        "ft_role": ("FT Role",),
        "api_version": ("VI SDK API Version",),
        "rules": ("Cluster rule name(s)", "Cluster rule(s)"),
    },
    "vHost": {
        "host": ("Host", "Name"),
        "cluster": ("Cluster",),
        "datacenter": ("Datacenter",),
        "maintenance": ("in Maintenance Mode", "Maintenance Mode"),
        "speed": ("Speed", "CpuMhz", "CPU MHz"),
        "cpus": ("# CPU", "NumCpu", "NumCpuPkgs"),
        "cores_per_cpu": ("Cores per CPU", "CoresPerCPU"),
        "cores": ("# Cores", "NumCpuCores"),
        "memory": ("# Memory", "MemorySize", "Memory MiB"),
        "object_id": ("Object ID", "Host ID"),
        "fault_domain": ("vSAN Fault Domain Name", "Fault Domain"),
    },
    "vDatastore": {
        "name": ("Name", "Datastore"),
        "type": ("Type",),
        "hosts": ("Hosts",),
        "address": ("Address",),
        "url": ("URL",),
        "object_id": ("Object ID", "Datastore ID"),
    },
    "vCluster": {
        "name": ("Name", "Cluster"),
        "datacenter": ("Datacenter",),
        "num_hosts": ("NumHosts", "# Hosts"),
        "total_cpu": ("TotalCpu", "Total CPU"),
        "total_memory": ("TotalMemory", "Total Memory"),
        "object_id": ("Object ID",),
        "ha_enabled": ("HA enabled",),
        "failover_level": ("Failover Level",),
        "ac_enabled": ("AdmissionControlEnabled", "Admission Control Enabled"),
        "host_monitoring": ("Host monitoring",),
        "hb_policy": ("HB Datastore Candidate Policy",),
        "isolation_response": ("Isolation Response",),
        "restart_priority": ("Restart Priority",),
        "vm_monitoring": ("VM Monitoring",),
        "failure_interval": ("Failure Interval",),
        "min_up_time": ("Min Up Time",),
        "max_failures": ("Max Failures",),
        "max_failure_window": ("Max Failure Window",),
    },
    "vCPU": {
        "vm": ("VM", "VM Name"),
        "vm_id": ("VM ID", "Object ID", "VMID"),
        "vm_uuid": ("VM UUID", "Instance UUID"),
        "reservation": ("Reservation",),
        "usage": ("Overall",),  # overall CPU usage, MHz (quickStats.overallCpuUsage)
    },
    "vMemory": {
        "vm": ("VM", "VM Name"),
        "vm_id": ("VM ID", "Object ID", "VMID"),
        "vm_uuid": ("VM UUID", "Instance UUID"),
        "reservation": ("Reservation",),
        "locked": ("Memory Reservation Locked To Max", "ReservationLockedToMax"),
        "size": ("Size MiB", "Size MB"),
        "overhead": ("Overhead",),
        "consumed_overhead": ("Consumed Overhead",),
        "usage": ("Active",),  # active guest memory, MiB (quickStats.guestMemoryUsage)
    },
    "vDisk": {
        "vm": ("VM", "VM Name"),
        "vm_id": ("VM ID", "Object ID", "VMID"),
        "vm_uuid": ("VM UUID", "Instance UUID"),
        "path": ("Path",),
        "disk_path": ("Disk Path",),
    },
    "vSource": {
        "version": ("Version",),
        "api_version": ("API version",),
    },
}

_REQUIRED = {"vInfo": ("vm", "powerstate"), "vHost": ("host", "memory")}


def read_rvtools(
    path: str | os.PathLike[str],
    cluster: str | None = None,
    *,
    admission_control: Mapping[str, Any] | None = None,
    version: str | None = None,
    defaults: Defaults | Mapping[str, Any] | None = None,
    reader: str | None = None,
    fault_domains: c.DomainMapping | None = None,
    sites: c.DomainMapping | None = None,
) -> Loaded:
    """Reads an RVTools export: an ``.xlsx`` workbook, or a directory of its CSV exports.

    ``cluster`` picks one cluster by name (``"Datacenter/Cluster"`` when the name exists in
    several datacenters); it may be left out when the export holds exactly one. Without it, an
    export of several clusters (a whole vCenter) is refused with the list of its clusters and
    their datacenters. ``admission_control`` (JSON shape of the inventory document) and
    ``version`` replace what the export says or lacks; ``defaults`` (a
    :class:`~hapolicy.io.Defaults` or a mapping of its fields) fills what RVTools does not export.
    ``reader`` picks the ``.xlsx`` reader: ``"calamine"`` (python-calamine, installed with the
    ``rvtools`` extra; the default when installed) or ``"openpyxl"``; both give the same
    inventory. Sheets python-calamine cannot hold safely (cells far beyond RVTools' columns or
    rows) are read by openpyxl whatever ``reader`` says.

    Fault domains (R-DOMAIN) come from vHost's ``vSAN Fault Domain Name``; RVTools exports no
    site, and racks or blade chassis appear in no column. ``fault_domains`` / ``sites`` set them:
    a mapping of host name (or id) to name, e.g. ``{"esx01": "rack-1", ...}``, or a regular
    expression on host names whose named group ``fault_domain`` / ``site`` (else its first
    group) is the name, e.g. ``sites=r"^esx-(?P<site>[ab])"``; each host so set is recorded as
    an assumption, and overrides the export's value.

    Returns ``(inventory, assumptions)``; raises :class:`~hapolicy.InventoryError` listing every
    problem, each as ``("export.xlsx:vInfo!D7", "…")`` (file, tab, cell) where it has a place.
    """
    d = Defaults.coerce(defaults)
    p = Path(path)
    tabs = _read_tables(p, reader)
    return _Builder(p, tabs, d).build(cluster, admission_control, version, fault_domains, sites)


def from_rvtools(
    path: str | os.PathLike[str],
    cluster: str | None = None,
    *,
    admission_control: Mapping[str, Any] | None = None,
    version: str | None = None,
    defaults: Defaults | Mapping[str, Any] | None = None,
    reader: str | None = None,
    fault_domains: c.DomainMapping | None = None,
    sites: c.DomainMapping | None = None,
) -> Inventory:
    """:func:`read_rvtools` without the assumptions (they are logged at INFO level on the
    ``hapolicy.io`` logger)."""
    return read_rvtools(
        path, cluster, admission_control=admission_control, version=version, defaults=defaults, reader=reader,
        fault_domains=fault_domains, sites=sites,
    ).inventory


# ---------------------------------------------------------------- reading tables


def _norm(header: Any) -> str:
    return re.sub(r"[^a-z0-9#]", "", str(header).lower())


def _letter(index: int) -> str:
    s = ""
    n = index + 1
    while n:
        n, r = divmod(n - 1, 26)
        s = chr(65 + r) + s
    return s


@dataclass
class _Table:
    label: str  # "export.xlsx:vInfo"
    tab: str
    header: list[str]
    rows: list[tuple[int, Sequence[Any]]]  # (spreadsheet row number, values)
    cols: dict[str, int] = field(default_factory=dict)

    def resolve(self) -> None:
        aliases = COLUMNS.get(self.tab, {})
        prefix = _norm(self.tab)
        by_norm: dict[str, int] = {}
        for i, h in enumerate(self.header):
            if h is None or str(h).strip() == "":
                continue
            n = _norm(h)
            by_norm.setdefault(n, i)
            if n.startswith(prefix) and len(n) > len(prefix):
                by_norm.setdefault(n[len(prefix) :], i)
        for key, names in aliases.items():
            for name in names:
                n = _norm(name)
                found = by_norm.get(n)
                if found is None and n.startswith("#"):
                    found = by_norm.get("num" + n[1:])
                if found is not None:
                    self.cols[key] = found
                    break

    def has(self, key: str) -> bool:
        return key in self.cols

    def get(self, values: Sequence[Any], key: str) -> Any:
        i = self.cols.get(key)
        if i is None or i >= len(values):
            return None
        v = values[i]
        if isinstance(v, str):
            v = v.strip()
            if v == "":
                return None
        elif isinstance(v, float) and v.is_integer():
            v = int(v)  # calamine reads every number as a float, openpyxl whole ones as int
        return v

    def cell(self, rownum: int, key: str) -> str:
        i = self.cols.get(key)
        return f"{self.label}!{_letter(i)}{rownum}" if i is not None else f"{self.label} row {rownum}"

    def header_name(self, key: str) -> str:
        i = self.cols.get(key)
        return str(self.header[i]) if i is not None else COLUMNS[self.tab][key][0]


def _read_tables(p: Path, reader: str | None = None) -> dict[str, _Table]:
    if p.is_dir():
        raw = _read_csv_dir(p)
    else:
        raw = _read_xlsx(p, reader)
    tables: dict[str, _Table] = {}
    for tab, (label, rows) in raw.items():
        header: list[str] = []
        body: list[tuple[int, Sequence[Any]]] = []
        for rownum, values in rows:
            if not header:
                if any(_filled(v) for v in values):
                    header = ["" if v is None else str(v) for v in values]
                continue
            if any(v is not None and (not isinstance(v, str) or v.strip() != "") for v in values):
                body.append((rownum, values))
        t = _Table(label, tab, header, body)
        t.resolve()
        tables[tab] = t
    return tables


_Raw = dict[str, tuple[str, list[tuple[int, Sequence[Any]]]]]


_EXCEL_MAX_ROWS = 1_048_576
# Columns read per row: RVTools' widest tab (vInfo) has about 100, custom attributes add some.
_MAX_COLUMNS = 256


def _filled(v: Any) -> bool:
    return v is not None and str(v).strip() != ""


def _sheet_rows(ws: Any, label: str) -> list[tuple[int, Sequence[Any]]]:
    """The non-empty rows of a sheet, numbered as in the sheet, cut to the header's width.

    Neither the size a sheet declares (its <dimension>) nor its row lengths are trusted:
    openpyxl pads every row to the declared width and the sheet to the declared height, and
    without a width every row to its last cell — a few KB with one cell at XFD on each of a
    million rows would take hours. So the header row (the first with text) is read as it is,
    and every row below it only as wide as the header (at most ``_MAX_COLUMNS``): a cell
    beyond has no column name, so nothing is lost."""

    def numbered(rows: Any, start: int) -> Any:
        for i, r in enumerate(rows, start=start):
            if i > _EXCEL_MAX_ROWS:  # only a damaged file numbers rows beyond Excel's limit
                raise InventoryError([(label, f"row {i} is beyond Excel's {_EXCEL_MAX_ROWS} rows")])
            yield i, r

    ws.reset_dimensions()
    out: list[tuple[int, Sequence[Any]]] = []
    for i, r in numbered(ws.iter_rows(values_only=True), 1):
        if any(_filled(v) for v in r):
            width = min(max(k for k, v in enumerate(r) if _filled(v)) + 1, _MAX_COLUMNS)
            out.append((i, tuple(r[:width])))
            break
    else:
        return out
    for i, r in numbered(ws.iter_rows(min_row=i + 1, max_col=width, values_only=True), i + 1):
        if any(v is not None for v in r):
            out.append((i, tuple(r)))
    return out


#: The ``.xlsx`` readers :func:`read_rvtools` knows, fastest first: python-calamine (Rust;
#: about 8× faster on a whole-vCenter export) when installed, else openpyxl.
READERS = ("calamine", "openpyxl")


def _read_xlsx(p: Path, reader: str | None = None) -> _Raw:
    if reader is not None and reader not in READERS:
        raise ArgumentError(f"reader={reader!r} is not an .xlsx reader; choose one of {', '.join(READERS)}")
    calamine: Any = None
    if reader in (None, "calamine"):
        try:
            calamine = importlib.import_module("python_calamine")
        except ImportError:
            if reader == "calamine":
                raise ImportError(
                    "reader='calamine' needs python-calamine, an optional dependency: pip install python-calamine"
                ) from None
    if calamine is None:
        openpyxl = _import_openpyxl("reading RVTools .xlsx exports needs python-calamine or openpyxl")
    if not p.exists():
        raise InventoryError([(str(p), "no such file")])
    if calamine is not None:
        out = _read_xlsx_calamine(p, calamine)
        if out is not None:
            return out
        openpyxl = _import_openpyxl(f"{p.name} needs openpyxl (python-calamine cannot read it safely)")
    return _read_xlsx_openpyxl(p, openpyxl)


def _import_openpyxl(why: str) -> Any:
    try:
        return importlib.import_module("openpyxl")
    except ImportError as exc:
        raise ImportError(f"{why}, optional dependencies: pip install python-calamine openpyxl") from exc


# python-calamine holds a sheet as one dense block from its first to its last cell, so a few KB
# of XML with one cell at A1 and one at IV1000000 would ask for 256 million cells. It is given
# only sheets whose every row and cell carries its reference first (as Excel, RVTools and
# openpyxl write them) within column IV (``_MAX_COLUMNS``) and row 99,999: at most 25.6 million
# cells. Others (and files it cannot open) are read by openpyxl, which streams.
_UNSAFE_FOR_CALAMINE = re.compile(
    rb'<(?:c(?=[\s>/])(?! r="(?:[A-Za-z]|[A-Ha-h][A-Za-z]|[Ii][A-Va-v])\d{1,5}")|row(?=[\s>/])(?! r="\d{1,5}"))'
)


def _sheet_parts(z: Any) -> dict[str, str]:
    """Sheet name → its part in the zip, from xl/workbook.xml and its relationships."""
    wb = z.read("xl/workbook.xml").decode("utf-8", "replace")
    rels = z.read("xl/_rels/workbook.xml.rels").decode("utf-8", "replace")
    targets: dict[str, str] = {}
    for m in re.finditer(r"<(?:\w+:)?Relationship\b([^>]*)>", rels):
        rid = re.search(r'\bId="([^"]*)"', m.group(1))
        target = re.search(r'\bTarget="([^"]*)"', m.group(1))
        if rid and target:
            t = target.group(1)
            targets[rid.group(1)] = t.lstrip("/") if t.startswith("/") else "xl/" + t
    out: dict[str, str] = {}
    for m in re.finditer(r"<(?:\w+:)?sheet\b([^>]*)>", wb):
        name = re.search(r'\bname="([^"]*)"', m.group(1))
        rid = re.search(r'\b\w+:id="([^"]*)"', m.group(1))
        if name and rid and rid.group(1) in targets:
            out[html.unescape(name.group(1))] = targets[rid.group(1)]
    return out


def _calamine_safe(p: Path, sheets: Iterable[str]) -> bool:
    """Whether python-calamine can read these sheets safely (see ``_UNSAFE_FOR_CALAMINE``)."""
    return _calamine_sheets(p, sheets) is not None


def _calamine_sheets(p: Path, sheets: Iterable[str] | None = None) -> list[str] | None:
    """The workbook's sheets (or those of ``sheets`` it has) if python-calamine can read them
    all safely, else ``None`` (also for a damaged zip: openpyxl then says what is wrong)."""
    try:
        with zipfile.ZipFile(p) as z:
            parts = _sheet_parts(z)
            if sheets is None:
                names = {n.lower(): n for n in parts}
                sheets = [n for tab in COLUMNS if (n := names.get(tab.lower()) or names.get("tab" + tab.lower()))]
            checked = []
            for sheet in sheets:
                part = parts.get(sheet)
                if part is None:
                    return None
                if z.getinfo(part).file_size > 500_000_000:  # a zip bomb, or far beyond any RVTools export
                    return None
                xml = z.read(part)
                if b"<worksheet" not in xml[:1000] or _UNSAFE_FOR_CALAMINE.search(xml):
                    return None
                checked.append(sheet)
            return checked
    except Exception:
        return None


def _read_xlsx_calamine(p: Path, calamine: Any) -> _Raw | None:
    """The tabs through python-calamine; ``None`` when openpyxl should read the file instead
    (a sheet calamine cannot hold safely, or a file calamine cannot open)."""
    sheets = _calamine_sheets(p)
    if sheets is None:
        return None
    try:
        wb = calamine.CalamineWorkbook.from_path(str(p))
    except Exception:
        return None  # openpyxl reads it, or says why not
    try:
        names = {n.lower(): n for n in sheets}
        out: _Raw = {}
        for tab in COLUMNS:
            name = names.get(tab.lower()) or names.get("tab" + tab.lower())
            if name is None:
                continue
            label = f"{p.name}:{name}"
            data = wb.get_sheet_by_name(name).to_python(skip_empty_area=False)
            out[tab] = (label, _cut(data, label))
        return out
    except InventoryError:
        raise
    except BaseException as exc:  # a Rust panic arrives as pyo3's PanicException (a BaseException)
        if isinstance(exc, (KeyboardInterrupt, SystemExit)):
            raise
        return None
    finally:
        close = getattr(wb, "close", None)
        if close is not None:
            close()


def _cut(data: Sequence[Sequence[Any]], label: str) -> list[tuple[int, Sequence[Any]]]:
    """calamine's rows like :func:`_sheet_rows`' : numbered from 1, from the header row (the
    first with text) on, the rows below it cut to its width. calamine gives empty cells as
    ``""``, which :func:`_read_tables` and :meth:`_Table.get` treat as empty."""
    if len(data) > _EXCEL_MAX_ROWS:
        raise InventoryError([(label, f"row {len(data)} is beyond Excel's {_EXCEL_MAX_ROWS} rows")])
    for i, first in enumerate(data):
        if any(_filled(v) for v in first):
            width = min(max(k for k, v in enumerate(first) if _filled(v)) + 1, _MAX_COLUMNS)
            return [(n, row[:width]) for n, row in enumerate(data[i:], start=i + 1)]
    return []


def _read_xlsx_openpyxl(p: Path, openpyxl: Any) -> _Raw:
    try:
        wb = openpyxl.load_workbook(p, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds (BadZipFile, KeyError, …)
        reason = str(exc) or type(exc).__name__
        raise InventoryError([(str(p), f"not a readable .xlsx workbook (RVTools export): {reason}")]) from None
    out: _Raw = {}
    try:
        names = {str(n).lower(): str(n) for n in wb.sheetnames}
        for tab in COLUMNS:
            name = names.get(tab.lower()) or names.get("tab" + tab.lower())
            if name is None:
                continue
            rows = _sheet_rows(wb[name], f"{p.name}:{name}")
            out[tab] = (f"{p.name}:{name}", rows)
    except InventoryError:
        raise
    except Exception as exc:
        raise InventoryError([(str(p), f"cannot read the workbook: {exc or type(exc).__name__}")]) from None
    finally:
        wb.close()
    return out


def _read_csv_dir(p: Path) -> _Raw:
    files = sorted(f for f in p.iterdir() if f.suffix.lower() == ".csv")
    out: _Raw = {}
    for tab in COLUMNS:
        match = [f for f in files if f.stem.lower().endswith(tab.lower())]
        if not match:
            continue
        f = match[0]
        try:
            data = f.read_bytes()
        except OSError as exc:
            raise InventoryError([(str(f), f"cannot read file: {exc.strerror or exc}")]) from None
        for enc in ("utf-8-sig", "cp1252"):
            try:
                text = data.decode(enc)
                break
            except UnicodeDecodeError:
                continue
        else:  # pragma: no cover - cp1252 decodes almost anything
            raise InventoryError([(str(f), "neither UTF-8 nor Windows-1252 text")])
        try:
            dialect: Any = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
        except csv.Error:
            dialect = csv.excel
        try:
            csv_rows: list[tuple[int, Sequence[Any]]] = [
                (i, tuple(r)) for i, r in enumerate(csv.reader(text.splitlines(), dialect), start=1)
            ]
        except csv.Error as exc:  # e.g. a field over csv.field_size_limit()
            raise InventoryError([(str(f), f"not a readable CSV export: {exc}")]) from None
        out[tab] = (f"{f.name}:{tab}", csv_rows)
    if not out:
        raise InventoryError([(str(p), "no RVTools CSV exports here (expected files like 'RVTools_tabvInfo.csv')")])
    return out


# ---------------------------------------------------------------- cell values

_TRUE = {"true", "yes", "y", "1", "enabled", "on", "x"}
_FALSE = {"false", "no", "n", "0", "disabled", "off", ""}


def _bool(v: Any) -> bool | None:
    if v is None:
        return None
    if isinstance(v, bool):
        return v
    if isinstance(v, (int, float)):
        return v != 0
    s = str(v).strip().lower()
    if s in _TRUE:
        return True
    if s in _FALSE:
        return False
    return None


_NUMBER = re.compile(r"^\s*(-?\d[\d,. \u00a0']*)\s*([a-zA-Z%]*)\s*$")


def _int(v: Any) -> int | None:
    """A whole number from a cell: numbers, or text like ``"1,024"``, ``"2048 MB"``; ``None``
    for anything else, NaN and ±∞ included (also text of more digits than a float holds)."""
    if v is None or isinstance(v, bool):
        return None
    if isinstance(v, int):
        return v
    if isinstance(v, float):
        return int(round(v)) if math.isfinite(v) else None
    m = _NUMBER.match(str(v))
    if m is None:
        return None
    digits = re.sub(r"[,\s\u00a0']", "", m.group(1))
    try:
        f = float(digits)
    except ValueError:
        return None
    return int(round(f)) if math.isfinite(f) else None


def _text(v: Any) -> str | None:
    if v is None:
        return None
    s = str(v).strip()
    return s or None


_DS_IN_PATH = re.compile(r"^\s*\[([^\]]+)\]")


def _datastore_of(path: Any) -> str | None:
    m = _DS_IN_PATH.match(str(path)) if path is not None else None
    return m.group(1).strip() if m else None


def _names(v: Any) -> list[str]:
    if v is None:
        return []
    return [s.strip() for s in re.split(r"[,;\n]", str(v)) if s.strip()]


# ---------------------------------------------------------------- building


class _Builder:
    def __init__(self, path: Path, tabs: dict[str, _Table], defaults: Defaults) -> None:
        self.path = path
        self.t = tabs
        self.d = defaults
        self.notes = Notes()
        self.problems: list[tuple[str, str]] = []
        self.locate: dict[str, str] = {}
        self.where: dict[str, set[str]] = {}  # cluster name -> its datacenters
        self.disk_unknown: set[tuple[str, str]] = set()  # VM keys with a disk of unknown datastore

    # ------------------------------------------------------------ checks and cluster choice
    def _check_tabs(self) -> None:
        problems = []
        for tab, required in _REQUIRED.items():
            t = self.t.get(tab)
            if t is None:
                problems.append((f"{self.path.name}:{tab}", f"the export has no '{tab}' tab"))
                continue
            if not t.header:
                problems.append((t.label, "empty tab: no header row"))
                continue
            for key in required:
                if not t.has(key):
                    spellings = " / ".join(f"'{n}'" for n in COLUMNS[tab][key])
                    problems.append((t.label, f"no {spellings} column"))
        vhost = self.t.get("vHost")
        if vhost is not None and vhost.header and not (vhost.has("speed") and (vhost.has("cores") or vhost.has("cpus"))):
            problems.append((vhost.label, "no 'Speed' and '# Cores' columns: cannot tell the hosts' CPU capacity"))
        if problems:
            raise InventoryError(problems)

    def _choose_cluster(self, wanted: str | None) -> tuple[str, str | None]:
        """(cluster name, datacenter or None)."""
        where: dict[str, set[str]] = {}
        for tab in ("vHost", "vInfo"):
            t = self.t[tab]
            if not t.has("cluster"):
                continue
            for _, row in t.rows:
                name = _text(t.get(row, "cluster"))
                if name is not None:
                    where.setdefault(name, set())
                    dc = _text(t.get(row, "datacenter"))
                    if dc is not None:
                        where[name].add(dc)
        vcl = self.t.get("vCluster")
        if vcl is not None and vcl.has("name"):
            for _, row in vcl.rows:
                name = _text(vcl.get(row, "name"))
                if name is not None:
                    where.setdefault(name, set())
        self.where = where
        names = sorted(where)
        listing = self._cluster_listing()
        src = str(self.path)
        if wanted is None:
            if not names:
                raise InventoryError([(src, "the export names no cluster (standalone hosts have no vSphere HA)")])
            count = sum(max(len(where[n]), 1) for n in names)
            if count > 1:
                raise InventoryError(
                    [(src, f"the export holds {count} clusters ({listing}): choose one with {_CHOOSE}")]
                )
            name, dc = names[0], None
        else:
            name, dc = wanted, None
            if wanted not in where and "/" in wanted:
                dc, _, name = wanted.rpartition("/")
            if name not in where:
                folded = [n for n in names if n.lower() == name.lower()]
                if len(folded) != 1:
                    raise InventoryError([(src, f"no cluster '{wanted}' in the export; it has {listing or 'none'}")])
                name = folded[0]
            if dc is not None and where[name] and dc not in where[name]:
                folded_dc = [x for x in where[name] if x.lower() == dc.lower()]
                if len(folded_dc) != 1:
                    dcs = ", ".join(sorted(where[name]))
                    raise InventoryError([(src, f"cluster '{name}' is not in datacenter '{dc}' (it is in {dcs})")])
                dc = folded_dc[0]
        if dc is None and len(where.get(name, ())) > 1:
            opts = ", ".join(f"'{x}/{name}'" for x in sorted(where[name]))
            raise InventoryError(
                [(src, f"cluster '{name}' exists in several datacenters: choose one of {opts} with {_CHOOSE}")]
            )
        if dc is None and len(where.get(name, ())) == 1:
            dc = next(iter(where[name]))
        return name, dc

    def _cluster_listing(self) -> str:
        """The export's clusters as ``cluster=`` accepts them, each with its datacenter."""
        items = []
        for n in sorted(self.where):
            dcs = sorted(self.where[n])
            if not dcs:
                items.append(f"'{n}'")
            elif len(dcs) == 1:
                items.append(f"'{n}' in datacenter '{dcs[0]}'")
            else:
                items += [f"'{d}/{n}'" for d in dcs]
        return ", ".join(items)

    def _in_cluster(self, t: _Table, row: Sequence[Any], name: str, dc: str | None) -> bool:
        if _text(t.get(row, "cluster")) != name:
            return False
        return dc is None or not t.has("datacenter") or _text(t.get(row, "datacenter")) in (dc, None)

    # ------------------------------------------------------------ main
    def build(
        self, wanted: str | None, admission_control: Mapping[str, Any] | None, version: str | None,
        fault_domains: c.DomainMapping | None = None, sites: c.DomainMapping | None = None,
    ) -> Loaded:
        self._check_tabs()
        name, dc = self._choose_cluster(wanted)
        hosts, host_ids = self._hosts(name, dc)
        vm_rows = self._vm_rows(name, dc, set(host_ids))
        disk_ds = self._disk_datastores()
        datastores, by_name, host_ds = self._datastores(host_ids, vm_rows, disk_ds)
        for h in hosts:
            h["datastores"] = host_ds.get(h["name"], [])
        cpu, mem = self._reservation_index("vCPU"), self._reservation_index("vMemory")
        cluster_row = self._cluster_row(name, dc)
        ha_enabled = _bool(cluster_row[0].get(cluster_row[1], "ha_enabled")) if cluster_row else None
        vms = self._vms(vm_rows, host_ids, by_name, disk_ds, cpu, mem, ha_enabled)
        config = self._cluster(name, cluster_row, admission_control, version, vm_rows)
        if self.problems:
            raise InventoryError(self.problems)
        doc = {
            "cluster": config,
            "hosts": hosts,
            "datastores": datastores,
            "vms": vms,
            "rules": [],
        }
        c.apply_domains(doc, self.notes, fault_domains, sites)
        return c.finish(doc, self.notes, [], self.locate)

    # ------------------------------------------------------------ hosts
    def _hosts(self, name: str, dc: str | None) -> tuple[list[dict[str, Any]], dict[str, str]]:
        t = self.t["vHost"]
        hosts: list[dict[str, Any]] = []
        ids: dict[str, str] = {}  # host name -> id
        taken: set[str] = set()
        if not t.has("cluster"):
            self.problems.append((t.label, "no 'Cluster' column: cannot tell which hosts form the cluster"))
            return hosts, ids
        for rownum, row in t.rows:
            if not self._in_cluster(t, row, name, dc):
                continue
            hname = _text(t.get(row, "host"))
            if hname is None:
                self.problems.append((t.cell(rownum, "host"), "host without a name"))
                continue
            if hname in ids:
                self.problems.append((t.cell(rownum, "host"), f"host '{hname}' listed twice"))
                continue
            oid = _text(t.get(row, "object_id"))
            if oid is None:
                oid = f"host-{hname}"
                self.notes.add(
                    "hosts[*].id",
                    "no 'Object ID' in vHost: id derived from the host name ('host-<name>'); the "
                    "election tie-break (R-ELECT-1) compares ids, so it may differ from vCenter's",
                    hname,
                )
            hid = c.unique_id(oid, taken)
            mhz = _int(t.get(row, "speed"))
            cores = _int(t.get(row, "cores"))
            if cores is None:
                cpus, per = _int(t.get(row, "cpus")), _int(t.get(row, "cores_per_cpu"))
                cores = cpus * per if cpus is not None and per is not None else None
            memory = _int(t.get(row, "memory"))
            state = "connected"
            if mhz is None or cores is None or memory is None:
                for key, v in (("speed", mhz), ("cores", cores), ("memory", memory)):
                    raw = t.get(row, key)
                    if v is None and raw is not None:
                        self.problems.append((t.cell(rownum, key), f"not a number: {raw!r}"))
                state = "disconnected"
                self.notes.add(
                    "hosts[*].state",
                    "no CPU/memory figures in vHost (RVTools leaves them empty for hosts vCenter "
                    "cannot reach): assumed disconnected, capacity 0",
                    hname,
                )
            maintenance = _bool(t.get(row, "maintenance"))
            self.locate[f"hosts[{len(hosts)}]"] = f"{t.label} row {rownum} '{hname}'"
            host: dict[str, Any] = {
                "id": hid,
                "name": hname,
                "cpu_mhz": (mhz or 0) * (cores or 0),
                "memory_mb": memory or 0,
                "datastores": [],
                "state": state,
                "maintenance": bool(maintenance),
                "standby": False,
            }
            # vSAN fault domain (R-DOMAIN); empty when the host is in none (its own domain).
            domain = _text(t.get(row, "fault_domain"))
            if domain is not None and domain.strip():
                host["fault_domain"] = domain.strip()
            hosts.append(host)
            ids[hname] = hid
        if not hosts:
            self.problems.append((t.label, f"no host of cluster '{name}' in vHost"))
        else:
            self.notes.add(
                "hosts[*].state",
                "RVTools does not export connection or standby state: hosts with hardware "
                "figures assumed connected and not in standby",
            )
            self.notes.add(
                "hosts[*].cpu_mhz",
                "capacity from vHost is the physical capacity (Speed × # Cores, # Memory); "
                "vSphere keeps a little of it for the hypervisor",
            )
        return hosts, ids

    # ------------------------------------------------------------ VMs
    def _vm_rows(self, name: str, dc: str | None, host_names: set[str]) -> list[tuple[int, Sequence[Any]]]:
        t = self.t["vInfo"]
        out = []
        for rownum, row in t.rows:
            if t.has("cluster"):
                if not self._in_cluster(t, row, name, dc):
                    continue
            elif _text(t.get(row, "host")) not in host_names:
                continue
            vname = _text(t.get(row, "vm")) or f"row {rownum}"
            if _bool(t.get(row, "template")):
                self.notes.add("vms", "templates skipped (they never run)", vname)
                continue
            if _bool(t.get(row, "srm")):
                self.notes.add("vms", "SRM placeholder VMs skipped (they cannot be powered on)", vname)
                continue
            out.append((rownum, row))
        if not t.has("cluster"):
            self.notes.add("vms", "vInfo has no 'Cluster' column: the cluster's VMs are those on its hosts")
        return out

    def _vm_keys(self, t: _Table, row: Sequence[Any]) -> list[tuple[str, str]]:
        keys = []
        for key in ("vm_id", "vm_uuid", "vm"):
            v = _text(t.get(row, key))
            if v is not None:
                keys.append((key, v))
        return keys

    def _index(self, tab: str) -> dict[tuple[str, str], list[tuple[int, Sequence[Any]]]]:
        t = self.t.get(tab)
        index: dict[tuple[str, str], list[tuple[int, Sequence[Any]]]] = {}
        if t is None:
            return index
        for rownum, row in t.rows:
            for k in self._vm_keys(t, row):
                index.setdefault(k, []).append((rownum, row))
        return index

    def _lookup(
        self, index: Mapping[tuple[str, str], list[tuple[int, Sequence[Any]]]], keys: Iterable[tuple[str, str]], many: bool = False
    ) -> list[tuple[int, Sequence[Any]]]:
        """Rows of another tab for one VM: by VM ID, else VM UUID, else VM name when unique."""
        for k in keys:
            rows = index.get(k)
            if rows:
                if many or len(rows) == 1 or k[0] != "vm":
                    return rows if many else rows[:1]
                return []  # the name is ambiguous
        return []

    def _reservation_index(self, tab: str) -> dict[tuple[str, str], list[tuple[int, Sequence[Any]]]]:
        if tab not in self.t:
            what = "CPU reservations" if tab == "vCPU" else "memory reservations and overheads"
            self.notes.add(
                "vms[*]." + ("cpu_reservation_mhz" if tab == "vCPU" else "memory_reservation_mb"),
                f"the export has no '{tab}' tab: {what} assumed 0",
            )
        return self._index(tab)

    def _disk_datastores(self) -> dict[tuple[str, str], list[str]]:
        """Per VM key, the datastores of its disks. RVTools puts a disk's ``[datastore]
        dir/disk.vmdk`` in vDisk ``Path``; ``Disk Path`` holds the guest's mount points or
        drive letters (``/, /boot``, ``C:\\``) in real exports, so it is read only when ``Path``
        has no datastore (older exports)."""
        t = self.t.get("vDisk")
        out: dict[tuple[str, str], list[str]] = {}
        if t is None or not (t.has("path") or t.has("disk_path")):
            return out
        for _, row in t.rows:
            ds = _datastore_of(t.get(row, "path")) or _datastore_of(t.get(row, "disk_path"))
            if ds is None:
                self.disk_unknown.update(self._vm_keys(t, row)[:1])  # its most specific key
                continue
            for k in self._vm_keys(t, row):
                lst = out.setdefault(k, [])
                if ds not in lst:
                    lst.append(ds)
        return out

    def _vms(
        self,
        rows: list[tuple[int, Sequence[Any]]],
        host_ids: Mapping[str, str],
        by_name: Mapping[str, list[tuple[str, set[str]]]],
        disk_ds: Mapping[tuple[str, str], list[str]],
        cpu_index: Mapping[tuple[str, str], list[tuple[int, Sequence[Any]]]],
        mem_index: Mapping[tuple[str, str], list[tuple[int, Sequence[Any]]]],
        ha_enabled: bool | None,
    ) -> list[dict[str, Any]]:
        t = self.t["vInfo"]
        tcpu, tmem = self.t.get("vCPU"), self.t.get("vMemory")
        vms: list[dict[str, Any]] = []
        taken: set[str] = set()
        for rownum, row in rows:
            vname = _text(t.get(row, "vm"))
            if vname is None:
                self.problems.append((t.cell(rownum, "vm"), "VM without a name"))
                continue
            keys = self._vm_keys(t, row)
            oid = _text(t.get(row, "vm_id"))
            if oid is None:
                oid = f"vm-{vname}"
                self.notes.add(
                    "vms[*].id",
                    "no 'VM ID' in vInfo: id derived from the VM name ('vm-<name>', '#2'… for repeats)",
                    vname,
                )
            vid = c.unique_id(oid, taken)
            raw_ps = t.get(row, "powerstate")
            ps = c.power_state(raw_ps)
            if ps is None:
                self.problems.append((t.cell(rownum, "powerstate"), f"unknown power state {raw_ps!r}"))
                continue
            hname = _text(t.get(row, "host"))
            host = host_ids.get(hname) if hname is not None else None
            if host is None and ps == "poweredOn":
                why = "has no host" if hname is None else f"is on host '{hname}', which is not a host of the cluster in vHost"
                self.problems.append((t.cell(rownum, "host"), f"powered-on VM '{vname}' {why}"))
                continue
            vm: dict[str, Any] = {"id": vid, "name": vname, "host": host, "power_state": ps}

            # storage: the home datastore (vInfo Path) and every disk's (vDisk Path)
            names = self._vm_ds_names(row, disk_ds)
            if _datastore_of(t.get(row, "path")) is None:
                self.notes.add(
                    "vms[*].home_datastore",
                    "no datastore in the VM's Path: its first disk's datastore used as its home"
                    if names
                    else "no datastore in the VM's Path: placed on a placeholder datastore every host "
                    f"reaches ('{_UNKNOWN_DS}'); storage and heartbeat analysis do not apply to it",
                    vname,
                )
            if not names:
                names = [_UNKNOWN_DS]
            if any(k in self.disk_unknown for k in keys):
                self.notes.add(
                    "vms[*].datastores",
                    "a vDisk row has no '[datastore] dir/disk.vmdk' in 'Path': that disk's datastore is not known",
                    vname,
                )
            ids = [self._resolve_ds(by_name, n, hname, vname, t.cell(rownum, "path")) for n in names]
            if None in ids:
                continue
            ds_ids = [i for i in ids if i is not None]
            vm["home_datastore"] = ds_ids[0]
            vm["datastores"] = list(dict.fromkeys(ds_ids))

            # reservations and overhead
            vm["cpu_reservation_mhz"] = 0
            if tcpu is not None:
                found = self._lookup(cpu_index, keys)
                if found:
                    r, crow = found[0]
                    v = tcpu.get(crow, "reservation")
                    n = _int(v)
                    if n is None and v is not None:
                        self.problems.append((tcpu.cell(r, "reservation"), f"not a number: {v!r}"))
                    vm["cpu_reservation_mhz"] = n or 0
                    usage = _int(tcpu.get(crow, "usage"))
                    if ps == "poweredOn" and usage is not None and usage >= 0:
                        vm["cpu_usage_mhz"] = usage  # R-AC-PERF demand
                else:
                    self.notes.add("vms[*].cpu_reservation_mhz", "VM not found in vCPU: CPU reservation assumed 0", vname)
            vm["memory_reservation_mb"] = 0
            overhead: int | None = None
            if tmem is not None:
                found = self._lookup(mem_index, keys)
                if found:
                    r, mrow = found[0]
                    v = tmem.get(mrow, "reservation")
                    n = _int(v)
                    if n is None and v is not None:
                        self.problems.append((tmem.cell(r, "reservation"), f"not a number: {v!r}"))
                    res = n or 0
                    if _bool(tmem.get(mrow, "locked")):
                        res = max(res, _int(tmem.get(mrow, "size")) or 0)
                    vm["memory_reservation_mb"] = res
                    usage = _int(tmem.get(mrow, "usage"))
                    if ps == "poweredOn" and usage is not None and usage >= 0:
                        vm["memory_usage_mb"] = usage  # R-AC-PERF demand (active memory)
                    overhead = _int(tmem.get(mrow, "overhead"))
                    consumed = _int(tmem.get(mrow, "consumed_overhead"))
                    if (overhead is None or overhead <= 0) and consumed is not None and consumed > 0:
                        # Recent vCenters report Overhead 0 for powered-on VMs; 'Consumed
                        # Overhead' (quickStats.consumedOverheadMemory) holds the figure — the
                        # vCenter adapter falls back the same way.
                        overhead = consumed
                        self.notes.add(
                            "vms[*].memory_overhead_mb",
                            "'Overhead' in vMemory is 0 or empty: the 'Consumed Overhead' figure used",
                            vname,
                        )
                    elif overhead is not None and overhead <= 0:
                        overhead = None  # vSphere has no powered-on VM without overhead: unknown
                else:
                    self.notes.add(
                        "vms[*].memory_reservation_mb", "VM not found in vMemory: memory reservation assumed 0", vname
                    )
            if overhead is None:
                overhead = self.d.memory_overhead_mb
                if ps == "poweredOn":
                    why = "no 'Overhead' figure above 0 in vMemory" if tmem is not None else "no vMemory tab"
                    self.notes.add(
                        "vms[*].memory_overhead_mb",
                        f"{why}: memory overhead assumed {overhead} MB (Defaults.memory_overhead_mb)",
                        vname,
                    )
            vm["memory_overhead_mb"] = max(overhead, 0)

            # HA settings per VM
            raw = t.get(row, "restart_priority")
            rp = c.restart_priority(raw)
            if rp is not None:
                vm["restart_priority"] = rp
            elif raw is not None:
                self.notes.add(
                    "vms[*].restart_priority", f"unknown HA Restart Priority {raw!r}: the cluster's is used", vname
                )
            raw = t.get(row, "isolation_response")
            ir = c.isolation_response(raw)
            if ir is not None:
                vm["isolation_response"] = ir
            elif raw is not None:
                self.notes.add(
                    "vms[*].isolation_response", f"unknown HA Isolation Response {raw!r}: the cluster's is used", vname
                )
            mode = c.vm_monitoring_mode(t.get(row, "vm_monitoring"))
            if mode is not None:
                vm["vm_monitoring"] = {"mode": mode}
            role = self._ft_role(t.get(row, "ft_state"), t.get(row, "ft_role"))
            if role is not None:
                vm["role"] = role
            if ps == "poweredOn" and ha_enabled and _bool(t.get(row, "das_protection")) is False:
                vm["protected"] = False
                self.notes.add(
                    "vms[*].protected", "'DAS protection' is False: vSphere HA does not protect (restart) the VM", vname
                )
            if _text(t.get(row, "rules")) is not None:
                self.notes.add("rules", "RVTools lists rule names per VM but not the rules themselves: no rules imported")

            self.locate[f"vms[{len(vms)}]"] = f"{t.label} row {rownum} '{vname}'"
            vms.append(vm)
        return vms

    @staticmethod
    def _ft_role(state: Any, role: Any) -> str | None:
        s = _text(state)
        if s is None or s.lower() in ("notconfigured", "disabled"):
            return None
        r = _text(role)
        if r is None:
            return None
        n = _int(r)
        if n == 1 or r.lower() == "primary":
            return "ftPrimary"
        if (n is not None and n >= 2) or r.lower() == "secondary":
            return "ftSecondary"
        return None

    # ------------------------------------------------------------ datastores
    def _vm_ds_names(self, row: Sequence[Any], disk_ds: Mapping[tuple[str, str], list[str]]) -> list[str]:
        """A VM's datastore names: its home (vInfo ``Path``) first, then every disk's."""
        vinfo = self.t["vInfo"]
        home = _datastore_of(vinfo.get(row, "path"))
        names = [home] if home is not None else []
        for k in self._vm_keys(vinfo, row):
            if k in disk_ds:
                names += [n for n in disk_ds[k] if n not in names]
                break
        return names

    def _resolve_ds(
        self,
        by_name: Mapping[str, list[tuple[str, set[str]]]],
        dname: str,
        host: str | None,
        vname: str,
        cell: str,
    ) -> str | None:
        """The id of the datastore ``[dname]`` of a VM on ``host``; ``None`` (a problem) when
        several datastores of that name are mounted on the cluster and the host does not tell."""
        found = by_name[dname]
        if len(found) == 1:
            return found[0][0]
        on_host = [i for i, hosts in found if host is not None and host in hosts]
        if len(on_host) == 1:
            return on_host[0]
        ids = ", ".join(i for i, _ in found)
        why = "it has no host" if host is None else f"its host '{host}' mounts {len(on_host) or 'none'} of them"
        self.problems.append(
            (cell, f"VM '{vname}': '[{dname}]' names {len(found)} datastores of this cluster ({ids}) and {why}")
        )
        return None

    def _datastores(
        self,
        host_ids: Mapping[str, str],
        vm_rows: list[tuple[int, Sequence[Any]]],
        disk_ds: Mapping[tuple[str, str], list[str]],
    ) -> tuple[list[dict[str, Any]], dict[str, list[tuple[str, set[str]]]], dict[str, list[str]]]:
        """The datastores the cluster uses; per datastore name, the ids (and the cluster hosts
        reaching each) it may stand for; per host name, the ids it reaches.

        Names are unique only within a datacenter, so vDatastore rows of one name are told apart
        by the hosts that mount them (``Hosts``); rows with the same ``URL`` (or, without one,
        the same ``Object ID``) are one datastore listed twice."""
        used: list[str] = []
        for _, row in vm_rows:
            names = self._vm_ds_names(row, disk_ds) or [_UNKNOWN_DS]
            used += [n for n in names if n not in used]
        cluster_hosts = list(host_ids)
        in_cluster = set(host_ids)
        out: list[dict[str, Any]] = []
        by_name: dict[str, list[tuple[str, set[str]]]] = {}
        taken: set[str] = set()
        t = self.t.get("vDatastore")

        def add(dname: str, ds: dict[str, Any], hosts: set[str], where: str) -> None:
            self.locate[f"datastores[{len(out)}]"] = where
            out.append(ds)
            by_name.setdefault(dname, []).append((ds["id"], hosts))

        if t is None:
            self.notes.add("datastores", "the export has no 'vDatastore' tab: datastores taken from the VMs' paths")
        elif t.has("name"):
            # name -> identity -> [first row number, row, host names]
            groups: dict[str, dict[Any, tuple[int, Sequence[Any], set[str]]]] = {}
            for rownum, row in t.rows:
                dname = _text(t.get(row, "name"))
                if dname is None:
                    continue
                url, oid = _text(t.get(row, "url")), _text(t.get(row, "object_id"))
                ident: Any = ("url", url) if url is not None else ("oid", oid) if oid is not None else ("row", rownum)
                hosts = set(_names(t.get(row, "hosts")))
                g = groups.setdefault(dname, {})
                if ident in g:
                    g[ident][2].update(hosts)
                else:
                    g[ident] = (rownum, row, hosts)
            for dname, g in groups.items():
                reaching = [x for x in g.values() if x[2] & in_cluster]
                if not reaching and dname not in used:
                    continue  # another cluster's datastore
                # Rows mounted only on other hosts are other datastores of that name; a row
                # that names no host at all may be this one.
                unsaid = [x for x in g.values() if not x[2]]
                if not reaching and len(unsaid) != 1:
                    rows = ", ".join(str(x[0]) for x in g.values())
                    why = "mounted on other clusters' hosts only" if not unsaid else "that cannot be told apart"
                    self.notes.add(
                        "datastores",
                        f"vDatastore has no '{dname}' mounted on a host of this cluster (its row(s) {rows} "
                        f"of that name are datastores {why}): assumed VMFS, reached by every cluster host, "
                        "id derived from the name",
                    )
                    continue  # made below, like a datastore missing from vDatastore
                if len(g) > 1 and reaching:
                    self.notes.add(
                        "datastores",
                        f"vDatastore lists {len(g)} datastores named '{dname}' (names are unique only within "
                        "a datacenter): the one(s) mounted on this cluster's hosts used",
                    )
                for rownum, row, hosts in reaching or unsaid:
                    reach = hosts & in_cluster
                    if not reach:
                        why = "no 'Hosts' column in vDatastore" if not t.has("hosts") else "no cluster host in its 'Hosts'"
                        self.notes.add(
                            "hosts[*].datastores", f"{why}: every cluster host assumed to reach the datastore", dname
                        )
                        reach = set(cluster_hosts)
                    oid = _text(t.get(row, "object_id"))
                    if oid is None:
                        oid = f"datastore-{dname}"
                        self.notes.add("datastores[*].id", "no 'Object ID' in vDatastore: id derived from the name", dname)
                    raw_type = t.get(row, "type")
                    dtype = c.datastore_type(raw_type)
                    if dtype is None:
                        dtype = "VMFS"
                        self.notes.add(
                            "datastores[*].type",
                            f"type {raw_type!r} is not one the engine models: treated as VMFS",
                            dname,
                        )
                    ds: dict[str, Any] = {"id": c.unique_id(oid, taken), "name": dname, "type": dtype}
                    address = _text(t.get(row, "address"))
                    if dtype == "NFS" and address is not None:
                        ds["backing"] = address.split(":")[0]
                    add(dname, ds, reach, f"{t.label} row {rownum} '{dname}'")
        for dname in used:
            if dname in by_name:
                continue
            if t is not None and dname != _UNKNOWN_DS:
                self.notes.add(
                    "datastores", "datastore in a VM's path but not in vDatastore: assumed VMFS, reached by every host", dname
                )
            ds = {"id": c.unique_id(f"datastore-{dname}", taken), "name": dname, "type": "VMFS"}
            add(dname, ds, set(cluster_hosts), f"datastore '{dname}' of the VMs' paths")
        host_ds: dict[str, list[str]] = {h: [] for h in host_ids}
        for entries in by_name.values():
            for did, hosts in entries:
                for h in cluster_hosts:
                    if h in hosts:
                        host_ds[h].append(did)
        return out, by_name, host_ds

    # ------------------------------------------------------------ cluster settings
    _HA_KEYS = (
        "ha_enabled", "failover_level", "ac_enabled", "host_monitoring", "hb_policy", "isolation_response",
        "restart_priority", "vm_monitoring", "failure_interval", "min_up_time", "max_failures", "max_failure_window",
    )

    def _figures(self, name: str, dc: str | None) -> tuple[int, int | None, int | None]:
        """(host count, total CPU MHz, total memory MiB) of a cluster's hosts in vHost; the
        totals are ``None`` when a host has no figures."""
        t = self.t["vHost"]
        n, cpu, mem = 0, 0, 0
        known = True
        for _, row in t.rows:
            if not t.has("cluster") or not self._in_cluster(t, row, name, dc):
                continue
            n += 1
            mhz, cores, memory = _int(t.get(row, "speed")), _int(t.get(row, "cores")), _int(t.get(row, "memory"))
            if cores is None:
                cpus, per = _int(t.get(row, "cpus")), _int(t.get(row, "cores_per_cpu"))
                cores = cpus * per if cpus is not None and per is not None else None
            if mhz is None or cores is None or memory is None:
                known = False
            else:
                cpu += mhz * cores
                mem += memory
        return (n, cpu, mem) if known else (n, None, None)

    @staticmethod
    def _near(value: int | None, *targets: int | None) -> bool:
        """``value`` is within 2 % of one of ``targets`` (RVTools rounds, vCenter leaves a
        little capacity out); ``True`` when either side is unknown."""
        if value is None or all(x is None for x in targets):
            return True
        return any(x is not None and abs(value - x) <= max(abs(x), 1) * 0.02 for x in targets)

    def _fits(self, t: _Table, row: Sequence[Any], fig: tuple[int, int | None, int | None]) -> bool:
        """Whether a vCluster row's NumHosts / TotalCpu / TotalMemory agree with a cluster's hosts."""
        n, cpu, mem = fig
        num = _int(t.get(row, "num_hosts"))
        if num is not None and num != n:
            return False
        mem_bytes = mem * 1024 * 1024 if mem is not None else None
        return self._near(_int(t.get(row, "total_cpu")), cpu) and self._near(
            _int(t.get(row, "total_memory")), mem, mem_bytes
        )

    def _cluster_row(self, name: str, dc: str | None) -> tuple[_Table, Sequence[Any]] | None:
        """The vCluster row of the chosen cluster. RVTools' vCluster has no Datacenter column,
        so when the name is not unique (two datacenters, or a merged export) the rows are told
        apart by their host count and CPU / memory totals against each same-named cluster's hosts
        in vHost; rows that cannot be told apart and differ in their HA settings are refused."""
        t = self.t.get("vCluster")
        if t is None or not t.has("name"):
            return None
        rows = [(r, row) for r, row in t.rows if _text(t.get(row, "name")) == name]
        if t.has("datacenter") and dc is not None:
            rows = [(r, row) for r, row in rows if _text(t.get(row, "datacenter")) in (dc, None)]
        dcs = sorted(self.where.get(name, set()))
        if len(rows) <= 1 and len(dcs) <= 1:
            return (t, rows[0][1]) if rows else None
        label = f"{dc}/{name}" if dc is not None else name
        ours = self._figures(name, dc)
        others = [self._figures(name, d) for d in dcs if d != dc]

        def refs(rs: Sequence[tuple[int, Sequence[Any]]]) -> str:
            out = []
            for r, row in rs:
                oid = _text(t.get(row, "object_id"))
                out.append(f"{r} ({oid})" if oid is not None else str(r))
            return ", ".join(out)

        nocol = "" if t.has("datacenter") else "vCluster has no Datacenter column and "
        fitting = [(r, row) for r, row in rows if self._fits(t, row, ours)]
        if not fitting:
            self.notes.add(
                "cluster",
                f"{nocol}{len(rows)} row(s) named '{name}' (row {refs(rows)}), none of which fits "
                f"{label}'s {ours[0]} host(s) in vHost (NumHosts, TotalCpu, TotalMemory): they are other "
                "clusters', so HA settings from Defaults",
            )
            return None
        exclusive = [x for x in fitting if not any(self._fits(t, x[1], o) for o in others)]
        if len(exclusive) == 1 and (len(fitting) == 1 or others):
            self.notes.add(
                "cluster",
                f"{nocol}{len(rows)} row(s) named '{name}': row {refs(exclusive)} used, the only one whose "
                f"NumHosts / TotalCpu / TotalMemory fit {label}'s hosts and no other cluster's",
            )
            return (t, exclusive[0][1])
        # Cannot be told apart: acceptable only if the candidates' HA settings are the same.
        settings = {tuple(str(t.get(row, k)) for k in self._HA_KEYS) for _, row in fitting}
        if len(settings) == 1 and len(fitting) > 1:
            self.notes.add(
                "cluster",
                f"vCluster rows {refs(fitting)} named '{name}' cannot be told apart by {label}'s hosts, "
                "but hold the same HA settings: those are used",
            )
            return (t, fitting[0][1])
        raise InventoryError(
            [
                (
                    t.label,
                    f"cannot tell which vCluster row holds the HA settings of {label}: {nocol}"
                    f"{len(rows)} row(s) are named '{name}' (row {refs(rows)}); row(s) {refs(fitting)} "
                    f"fit its {ours[0]} host(s) and another cluster named '{name}' alike (NumHosts, "
                    "TotalCpu, TotalMemory)"
                    + (", with different HA settings" if len(fitting) > 1 else "")
                    + ". hapolicy does not use another cluster's settings: delete the other clusters' "
                    "rows from the vCluster tab (or rename a cluster) and load again",
                )
            ]
        )

    def _version(self, version: str | None, vm_rows: list[tuple[int, Sequence[Any]]]) -> str:
        if version is not None:
            v = c.version(version)
            if v is None:
                raise ArgumentError(f"version={version!r} is not a vSphere version")
            return v
        src = self.t.get("vSource")
        if src is not None:
            for _, row in src.rows:
                v = c.version(src.get(row, "version")) or c.version(src.get(row, "api_version"))
                if v is not None:
                    return v
        vinfo = self.t["vInfo"]
        for _, row in vm_rows:
            v = c.version(vinfo.get(row, "api_version"))
            if v is not None:
                return v
        v = c.version(self.d.version) or "8.0"
        self.notes.add("cluster.version", f"the export names no vCenter version: {v} assumed (Defaults.version)")
        return v

    def _cluster(
        self,
        name: str,
        row: tuple[_Table, Sequence[Any]] | None,
        admission_control: Mapping[str, Any] | None,
        version: str | None,
        vm_rows: list[tuple[int, Sequence[Any]]],
    ) -> dict[str, Any]:
        ver = self._version(version, vm_rows)
        cfg: dict[str, Any] = {"name": name, "version": ver}

        def get(key: str) -> Any:
            return row[0].get(row[1], key) if row is not None else None

        if row is None:
            self.notes.add(
                "cluster",
                "no vCluster row for the cluster: HA settings from Defaults"
                if "vCluster" in self.t
                else "the export has no 'vCluster' tab: HA settings from Defaults",
            )
        elif _bool(get("ha_enabled")) is False:
            self.notes.add("cluster", "vSphere HA is disabled on this cluster in the export: analysed as if enabled")

        # admission control
        level = _int(get("failover_level"))
        if admission_control is not None:
            cfg["admission_control"] = dict(admission_control)
        elif _bool(get("ac_enabled")) is False:
            cfg["admission_control"] = {"policy": "disabled"}
        elif self.d.admission_control is not None:
            cfg["admission_control"] = dict(self.d.admission_control)
            self.notes.add(
                "cluster.admission_control",
                f"RVTools does not export the admission-control policy: {dict(self.d.admission_control)} "
                "(Defaults.admission_control)",
            )
        else:
            ac = c.default_admission(ver, level)
            cfg["admission_control"] = ac
            src = f"failover level {level} from vCluster" if level else "1 host failure"
            self.notes.add(
                "cluster.admission_control",
                f"RVTools does not export the admission-control policy: assumed {ac} — the default "
                f"policy of vSphere {ver} tolerating {src}; pass admission_control= to set it",
            )

        for key, parse, dflt, label in (
            ("isolation_response", c.isolation_response, self.d.isolation_response, "Isolation Response"),
            ("restart_priority", c.restart_priority, self.d.restart_priority, "Restart Priority"),
        ):
            value = parse(get(key))
            if value is None or value.startswith("cluster"):
                value = dflt
                self.notes.add(f"cluster.{key}", f"no '{label}' in vCluster: {dflt!r} assumed (Defaults.{key})")
            cfg[key] = value

        hm = get("host_monitoring")
        hm_b = _bool(hm)
        if hm_b is None:
            hm_b = self.d.host_monitoring
            self.notes.add(
                "cluster.host_monitoring", f"no 'Host monitoring' in vCluster: {hm_b} assumed (Defaults.host_monitoring)"
            )
        cfg["host_monitoring"] = hm_b

        extra = dict(self.d.cluster)
        policy = c.hb_policy(get("hb_policy"))
        if "heartbeat_datastores" in extra:
            cfg["heartbeat_datastores"] = extra.pop("heartbeat_datastores")
        elif policy is not None:
            if policy == "userSelectedDs":
                policy = "allFeasibleDsWithUserPreference"
                self.notes.add(
                    "cluster.heartbeat_datastores",
                    "policy 'userSelectedDs' but RVTools does not export the selected datastores: "
                    "treated as 'allFeasibleDsWithUserPreference' with no preference",
                )
            cfg["heartbeat_datastores"] = {"policy": policy, "preferred": []}

        mode = c.vm_monitoring_mode(get("vm_monitoring"))
        vmm = c.vm_monitoring(
            mode,
            _int(get("failure_interval")),
            _int(get("min_up_time")),
            _int(get("max_failures")),
            _int(get("max_failure_window")),
        )
        if vmm:
            cfg["vm_monitoring"] = vmm
        for key, what in (("advanced_options", "advanced options (das.*)"), ("vmcp", "VM Component Protection settings")):
            if key not in extra:
                self.notes.add(f"cluster.{key}", f"RVTools does not export {what}: engine defaults")
        for key, value in extra.items():
            cfg.setdefault(key, value)
        return cfg


_UNKNOWN_DS = "unknown-datastore"
_CHOOSE = "cluster=… (Python) or --cluster … (CLI)"
