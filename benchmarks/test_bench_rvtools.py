"""Reading a whole-vCenter RVTools export (run with ./run.sh bench).

The export is generated with the real header layout of every tab hapolicy reads
(tests/rvtools_layout.py): 7,600 VMs with two disks each, 192 hosts in 12 clusters of two
datacenters — about 6 MB, like the 5.75 MB vCenter 8.0.2 export of the issue that took 16 s
with openpyxl. The goal is 3 s with python-calamine; both readers must give the same inventory.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

import hapolicy as ha
from hapolicy import io

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from tests.rvtools_layout import big_export  # noqa: E402

pytest.importorskip("openpyxl")

VMS = 7600
CLUSTER = "DC2/prod"  # the second of two clusters named 'prod'


@pytest.fixture(scope="session")
def vcenter_export(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Generated once (about 15 s) and kept in pytest's cache folder between runs."""
    cache = getattr(request.config, "cache", None)
    folder = cache.mkdir("hapolicy-rvtools-bench-v1") if cache is not None else tmp_path_factory.mktemp("rv")
    path = Path(folder) / f"RVTools_export_all_{VMS}.xlsx"
    if not path.exists():
        partial = path.with_suffix(".partial.xlsx")
        big_export(partial, vms=VMS)
        partial.replace(path)
    return path


def _read(path: Path, reader: str) -> ha.Inventory:
    return io.read_rvtools(path, CLUSTER, reader=reader).inventory


def test_read_7600_vm_export_calamine(benchmark: Any, vcenter_export: Path) -> None:
    pytest.importorskip("python_calamine")
    inv = benchmark.pedantic(_read, args=(vcenter_export, "calamine"), rounds=3, iterations=1)
    assert len(inv.hosts) == 16 and len(inv.vms) == 634


def test_read_7600_vm_export_openpyxl(benchmark: Any, vcenter_export: Path) -> None:
    inv = benchmark.pedantic(_read, args=(vcenter_export, "openpyxl"), rounds=1, iterations=1)
    assert len(inv.hosts) == 16 and len(inv.vms) == 634
    if "python_calamine" in sys.modules:
        assert inv == _read(vcenter_export, "calamine")
