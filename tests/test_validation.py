"""R-INV-1 through the Python API: every problem reported with its path, never a crash."""

from __future__ import annotations

import math

import pytest

import hapolicy as ha

from .conftest import doc, host, vm


def problems(data: object) -> dict[str, str]:
    with pytest.raises(ha.InventoryError) as info:
        ha.Inventory.from_dict(data)  # type: ignore[arg-type]
    assert isinstance(info.value, ValueError)
    return dict(info.value.problems)


def test_all_problems_reported_together_sorted_by_path() -> None:
    d = doc(
        [host("h1"), host("h1", cpu=-1)],
        [vm("v1", "h9"), vm("v2", None, power_state="poweredOn"), vm("v3", "h1", restart_priority="urgent")],
    )
    with pytest.raises(ha.InventoryError) as info:
        ha.Inventory.from_dict(d)
    got = info.value.problems
    assert [p for p, _ in got] == sorted(p for p, _ in got)
    found = dict(got)
    assert "duplicate id 'h1'" in found["hosts[1].id"]
    assert "negative" in found["hosts[1].cpu_mhz"]
    assert found["vms[0].host"] == "unknown host 'h9'"
    assert "needs a host" in found["vms[1].host"]
    assert "unknown value 'urgent'" in found["vms[2].restart_priority"] and "'highest'" in found["vms[2].restart_priority"]
    # str() shows them all.
    assert all(p in str(info.value) for p, _ in got)


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_non_finite_numbers(bad: float) -> None:
    found = problems(doc([host("h1", cpu=bad)]))  # type: ignore[arg-type]
    assert "finite" in found["hosts[0].cpu_mhz"]


def test_huge_and_fractional_numbers() -> None:
    found = problems(doc([host("h1", cpu=2**53 + 1, mem=10**40)]))
    assert "too large" in found["hosts[0].cpu_mhz"]
    assert "too large" in found["hosts[0].memory_mb"]
    found = problems(doc([host("h1", cpu=1000.5)]))  # type: ignore[arg-type]
    assert "whole number" in found["hosts[0].cpu_mhz"]


def test_wrong_python_types() -> None:
    found = problems({"hosts": [{"id": "h1", "cpu_mhz": object(), "memory_mb": 1, 3: "x"}]})
    assert "unsupported type object" in found["hosts[0].cpu_mhz"]
    assert "keys must be strings" in found["hosts[0]"]
    found = problems({"hosts": "h1"})
    assert "expected a list" in found["hosts"]
    found = problems([1, 2])
    assert "expected an object" in found["<root>"]


def test_bool_is_not_a_number_and_number_not_a_bool() -> None:
    found = problems(doc([host("h1", cpu=True, maintenance=1)]))
    assert "whole number" in found["hosts[0].cpu_mhz"]
    assert "true or false" in found["hosts[0].maintenance"]


def test_deep_nesting_is_refused_not_a_crash() -> None:
    deep: object = "x"
    for _ in range(10_000):
        deep = [deep]
    found = problems({"hosts": [], "cluster": {"name": deep}})
    assert any("nested" in m for m in found.values())
    with pytest.raises(ha.InventoryError):
        ha.Inventory.from_json("[" * 100_000 + "]" * 100_000)


def test_reservation_larger_than_every_host() -> None:
    found = problems(doc([host("h1", cpu=4000, mem=8192)], [vm("v1", "h1", cpu=5000, mem=8000, overhead=500)]))
    assert "exceeds every host" in found["vms[0].cpu_reservation_mhz"]
    assert "8500 MB" in found["vms[0].memory_reservation_mb"]


def test_syntax_errors_carry_position() -> None:
    with pytest.raises(ha.InventoryError) as info:
        ha.Inventory.from_json('{"hosts": [1,]}')
    (path, msg), = info.value.problems
    assert path == "<json>" and msg.startswith("line 1, column")
    with pytest.raises(ha.InventoryError) as info:
        ha.Inventory.from_yaml("hosts:\n  - id: h1\n   cpu_mhz: 3\n")
    (path, msg), = info.value.problems
    assert path == "<yaml>" and msg.startswith("line ")


def test_an_integral_float_goodness_is_that_whole_number() -> None:
    from pathlib import Path

    inv = ha.Inventory.load(Path(__file__).parent / "invalid" / "54_goodness_integral_float.json")
    assert inv.host("host-1").goodness == 4000
    assert ha.elect(inv).master == "host-1"  # a set goodness beats any unset one (R-ELECT-1)
