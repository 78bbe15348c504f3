from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any

import pytest

import hapolicy as ha

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"


@pytest.fixture
def lab_path() -> Path:
    return EXAMPLES / "lab.json"


@pytest.fixture
def lab(lab_path: Path) -> ha.Inventory:
    return ha.Inventory.load(lab_path)


@pytest.fixture(scope="session")
def vcsim_binary() -> Path:
    """The vCenter simulator launcher (tests/vcsim), built once a session. Skips the test when
    pyVmomi or Go is missing, unless HAPOLICY_REQUIRE_VCSIM is set (CI: then it fails)."""
    required = bool(os.environ.get("HAPOLICY_REQUIRE_VCSIM"))
    if required:
        import pyVmomi  # noqa: F401
    else:
        pytest.importorskip("pyVmomi")
    from tests.vcsim import launch

    try:
        return launch.build()
    except launch.ToolchainMissing as exc:
        if required:
            raise
        pytest.skip(f"vCenter simulator tests need Go: {exc}")


@pytest.fixture
def guide() -> ha.Inventory:
    """The vSphere 5.0 Availability Guide admission-control cluster (R-AC-SLOT worked example)."""
    return ha.Inventory.load(EXAMPLES / "availability_guide.json")


def host(id: str, cpu: int = 10000, mem: int = 16384, ds: tuple[str, ...] = ("ds-1",), **kw: Any) -> dict[str, Any]:
    return {"id": id, "cpu_mhz": cpu, "memory_mb": mem, "datastores": list(ds), **kw}


def vm(id: str, host: str | None, cpu: int = 0, mem: int = 0, overhead: int = 0, ds: str = "ds-1", **kw: Any) -> dict[str, Any]:
    return {
        "id": id,
        "host": host,
        "power_state": "poweredOn" if host else "poweredOff",
        "cpu_reservation_mhz": cpu,
        "memory_reservation_mb": mem,
        "memory_overhead_mb": overhead,
        "home_datastore": ds,
        **kw,
    }


def doc(hosts: list[dict[str, Any]], vms: list[dict[str, Any]] = (), cluster: dict[str, Any] | None = None,
        datastores: list[str] = ("ds-1",), rules: list[dict[str, Any]] = ()) -> dict[str, Any]:
    return copy.deepcopy({
        "cluster": cluster or {"name": "t"},
        "hosts": hosts,
        "datastores": [{"id": d, "name": d, "type": "VMFS"} for d in datastores],
        "vms": list(vms),
        "rules": list(rules),
    })
