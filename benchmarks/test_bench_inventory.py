"""Inventory loading at cluster-maximum scale (run with ./run.sh bench)."""

from __future__ import annotations

import json
from typing import Any

import hapolicy as ha


def test_load_json_96_hosts_10000_vms(benchmark: Any, big_json: str) -> None:
    """Parse and validate the 4.4 MB text (the same str `test_json_loads_same_text` parses)."""
    inv = benchmark(ha.Inventory.from_json, big_json)
    assert len(inv.vms) == 10_000


def test_json_loads_same_text(benchmark: Any, big_json: str) -> None:
    """The yardstick for the load above: CPython merely parsing the same 4.4 MB of text.
    Run both in one session and compare (goal: `Inventory.from_json` within 1.0x of this):
    `python -m pytest benchmarks/test_bench_inventory.py -k "load_json or json_loads" --benchmark-only`."""
    data = benchmark(json.loads, big_json)
    assert len(data["vms"]) == 10_000


def test_load_dict_96_hosts_10000_vms(benchmark: Any, big_json: str) -> None:
    data = json.loads(big_json)
    inv = benchmark(ha.Inventory.from_dict, data)
    assert len(inv.hosts) == 96


def test_elect_96_hosts(benchmark: Any, big: ha.Inventory) -> None:
    e = benchmark(ha.elect, big)
    assert e.master is not None
