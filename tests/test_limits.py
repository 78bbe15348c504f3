"""Resource limits (issue 8): huge inventories, pathological scenarios, hostile documents.

The heavy tests (a million VMs) are marked ``slow`` and skipped unless ``HAPOLICY_SLOW=1``:

    HAPOLICY_SLOW=1 python -m pytest -m slow tests/test_limits.py -s

They run each measurement in a fresh interpreter and read its peak RSS with
``resource.getrusage``; ``-s`` prints the figures. The bounds asserted are the documented
limits (README "Limits"), with room for a slower machine. The rest run by default, fast.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from collections.abc import Callable
from typing import Any, TypeVar

import pytest

import hapolicy as ha

from .conftest import EXAMPLES

F = TypeVar("F", bound=Callable[..., Any])


def slow(test: F) -> F:
    """Marked ``slow`` and skipped unless HAPOLICY_SLOW=1."""
    skip = pytest.mark.skipif(not os.environ.get("HAPOLICY_SLOW"), reason="heavy (minutes, GBs): set HAPOLICY_SLOW=1")
    marked: F = pytest.mark.slow(skip(test))
    return marked

GIB = 1 << 30
MAX_INPUT_BYTES = 1 << 30  # parse::MAX_INPUT_BYTES


def measure(code: str, timeout: float = 1800) -> dict[str, Any]:
    """Runs ``code`` in a fresh interpreter; it fills ``out`` (a dict); returns it with the
    peak RSS in MiB (``peak_rss_mib``)."""
    script = textwrap.dedent("""
        import json, resource, sys, time
        import hapolicy as ha
        out = {}
    """) + textwrap.dedent(code) + textwrap.dedent("""
        out["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
        print("RESULT " + json.dumps(out))
    """)
    r = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=timeout)
    assert r.returncode == 0, r.stderr[-3000:]
    line = next(ln for ln in r.stdout.splitlines() if ln.startswith("RESULT "))
    result: dict[str, Any] = json.loads(line[len("RESULT "):])
    print(json.dumps(result, indent=1))
    return result


# ------------------------------------------------------------------ a million VMs

# Measured on the 2-core / 24 GiB reference machine, release build, one run with a fuzzer busy on
# the other core (README "Limits"): generate 8.4 s (peak 1.6 GiB while generating); plan one
# host 0.8 s; plan 96 hosts (7,932 VMs restarted, 31 unplaced) 8.3 s; admission 0.03 s;
# simulation of one host failure to 3600 s 3.8 s; peak 2.1 GiB for all of it. A plan that big
# keeps no per-host verdicts (placement::KEPT_VERDICTS_LIMIT) and explains by replaying;
# before that, the 96-host plan alone peaked at 4.6 GiB.
# Host ids come from the core: `inv.hosts` would materialise every record as Python objects.
# Time bounds are hang guards (several times the measured figures), not performance claims.
MILLION = """
    t = time.perf_counter()
    inv = ha.generate_inventory(hosts=9600, vms=1_000_000, seed=1)
    out["generate_s"] = time.perf_counter() - t
    out["summary"] = inv.summary()
    ids = inv._core.host_ids()
    out["rss_inventory_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    t = time.perf_counter()
    plan = ha.plan_failover(inv, ids[:1])
    out["plan_1_host_s"] = time.perf_counter() - t
    out["plan_1_host"] = [plan.restarted, len(plan.unplaced), len(plan.not_restarted)]
    t = time.perf_counter()
    plan = ha.plan_failover(inv, ids[:96])
    out["plan_96_hosts_s"] = time.perf_counter() - t
    out["plan_96_hosts"] = [plan.restarted, len(plan.unplaced), len(plan.not_restarted)]
    t = time.perf_counter()
    last = plan.placements[-1]
    out["explain_last_ok"] = plan.explain(last.vm).startswith(f"{inv.label(last.vm)} restarts on {inv.label(last.host)}")
    out["explain_last_s"] = time.perf_counter() - t
    del plan
    t = time.perf_counter()
    ac = ha.admission_control(inv)
    out["admission_s"] = time.perf_counter() - t
    t = time.perf_counter()
    sim = ha.Simulation(inv)
    sim.fail_host(ids[0], at=0)
    out["simulation_events"] = len(sim.run(until=3600))
    out["simulation_s"] = time.perf_counter() - t
"""


@slow
def test_a_million_vms_plan_within_memory() -> None:
    r = measure(MILLION)
    assert r["summary"]["vms"] == 1_000_000
    assert r["plan_1_host"][0] > 0 and r["simulation_events"] > 0 and r["explain_last_ok"]
    assert r["rss_inventory_mib"] < 2 * 1024, r
    # The documented limit: a million VMs generate, plan (1 and 96 failed hosts), pass admission
    # control and simulate within 3 GiB.
    assert r["peak_rss_mib"] < 3 * 1024, r
    assert r["plan_1_host_s"] < 10 and r["plan_96_hosts_s"] < 60 and r["admission_s"] < 10, r
    assert r["simulation_s"] < 60 and r["explain_last_s"] < 60, r


@slow
def test_a_million_vms_load_from_json_within_memory(tmp_path: Path) -> None:
    path = tmp_path / "million.json"
    made = measure(f"""
        inv = ha.generate_inventory(hosts=9600, vms=1_000_000, seed=1)
        t = time.perf_counter()
        text = inv.to_json()
        out["to_json_s"] = time.perf_counter() - t
        out["json_bytes"] = len(text)
        open({str(path)!r}, "w").write(text)
    """)
    loaded = measure(f"""
        t = time.perf_counter()
        inv = ha.Inventory.load({str(path)!r})
        out["load_s"] = time.perf_counter() - t
        out["vms"] = inv.summary()["vms"]
        t = time.perf_counter()
        plan = ha.plan_failover(inv, inv._core.host_ids()[:1])
        out["plan_s"] = time.perf_counter() - t
    """)
    assert loaded["vms"] == 1_000_000
    # Measured: to_json 11 s, 716 MB, peak 3.0 GiB (the inventory, the text, one record at a
    # time; 10.2 GiB when it built the document tree first); the 716 MB load in 25-62 s (idle /
    # busy machine) with a peak of 8.4 GiB (the text, its parsed document tree and the
    # inventory); the plan of one host failure 0.6-3 s.
    assert made["peak_rss_mib"] < 4 * 1024, made
    assert loaded["peak_rss_mib"] < 11 * 1024, (made, loaded)
    assert loaded["load_s"] < 300 and loaded["plan_s"] < 30, loaded


# ------------------------------------------------------------------ pathological scenarios


def lab_inventory() -> ha.Inventory:
    return ha.Inventory.load(EXAMPLES / "lab.json")


def test_thousands_of_events_at_one_instant_finish_in_bounded_time() -> None:
    inv = lab_inventory()
    hosts = [h.id for h in inv.hosts]
    vms = [v.id for v in inv.vms]
    events: list[dict[str, Any]] = []
    for i in range(5000):
        kind = i % 5
        if kind == 0:
            events.append({"at": 10, "type": "guest_heartbeat_loss", "vm": vms[i % len(vms)]})
        elif kind == 1:
            events.append({"at": 10, "type": "isolation", "host": hosts[i % len(hosts)], "until": 10})
        elif kind == 2:
            events.append({"at": 10, "type": "vcenter_unavailable", "until": 11})
        elif kind == 3:
            events.append({"at": 10, "type": "power_on_failure", "vm": vms[i % len(vms)], "attempts": 1})
        else:
            events.append({"at": 10, "type": "datastore_apd", "datastore": "datastore-12", "until": 10})
    events.append({"at": 10, "type": "host_failure", "host": hosts[0]})
    sim = ha.Simulation(inv)
    start = time.perf_counter()
    sim.apply(events)
    timeline = sim.run(until=7200)
    took = time.perf_counter() - start
    assert sim._core.check_consistency() is None
    assert len(timeline) >= 5000
    assert took < 30, f"{took:.1f}s for {len(timeline)} events"


def test_flapping_network_finishes_in_bounded_time() -> None:
    """Isolate / un-isolate one host 1,000 times (and a partition flapping besides): every
    flap restarts elections and isolation timers; the run stays linear in the flaps."""
    inv = lab_inventory()
    hosts = [h.id for h in inv.hosts]
    events: list[dict[str, Any]] = []
    for i in range(1000):
        t = 40.0 * i
        events.append({"at": t, "type": "isolation", "host": hosts[1], "until": t + 20 + (i % 3) * 7})
        if i % 4 == 0:
            events.append({"at": t + 5, "type": "partition", "groups": [hosts[:2], hosts[2:]], "until": t + 30})
    sim = ha.Simulation(inv)
    sim.apply(events)
    start = time.perf_counter()
    timeline = sim.run(until=40.0 * 1000 + 3600)
    took = time.perf_counter() - start
    assert sim._core.check_consistency() is None
    # Each fault is recorded when it starts and, having an end, when it ends.
    assert len(timeline.filter("fault")) == 2 * len(events)
    assert took < 60, f"{took:.1f}s for {len(timeline)} events"


# ------------------------------------------------------------------ hostile documents


@pytest.mark.parametrize("fmt", ["json", "yaml"])
@pytest.mark.parametrize("opening", ["[", "{\"a\":", "{\"a\": ["])
def test_deeply_nested_text_is_refused_cleanly(fmt: str, opening: str) -> None:
    read = ha.Inventory.from_json if fmt == "json" else ha.Inventory.from_yaml
    text = opening * 1_000_000
    start = time.perf_counter()
    with pytest.raises(ha.InventoryError) as err:
        read(text)
    assert time.perf_counter() - start < 5
    message = str(err.value)
    assert "recursion limit exceeded" in message or "nested more than 128 levels deep" in message, message


def test_deeply_nested_python_data_is_refused_cleanly() -> None:
    deep: list[Any] = []
    cur = deep
    for _ in range(100_000):
        cur.append([])
        cur = cur[0]
    with pytest.raises(ha.InventoryError, match="nested more than 64 levels deep"):
        ha.Inventory.from_dict({"hosts": deep})
    with pytest.raises(ha.InventoryError, match="nested more than 64 levels deep"):
        ha.Simulation.from_scenario({"inventory": {"hosts": deep}})
    with pytest.raises(ha.InventoryError, match="nested more than 64 levels deep"):
        ha.Simulation(lab_inventory()).apply(deep)


def test_yaml_alias_bomb_is_refused_quickly() -> None:
    xs = ",".join(["x"] * 1000)
    text = f"a: &a [{xs}]\nb: &b [{','.join(['*a'] * 1000)}]\nc: [{','.join(['*b'] * 1000)}]\n"
    start = time.perf_counter()
    with pytest.raises(ha.InventoryError, match="aliases expand the document to more than"):
        ha.Inventory.from_yaml(text)
    assert time.perf_counter() - start < 10


def test_documents_over_the_size_limit_are_refused() -> None:
    """parse::MAX_INPUT_BYTES (1 GiB): a larger document is refused before it is parsed. Run
    in a fresh interpreter so the 1 GiB string is given back at once."""
    r = measure(f"""
        text = " " * ({MAX_INPUT_BYTES} + 1)
        t = time.perf_counter()
        for read in (ha.Inventory.from_json, ha.Inventory.from_yaml):
            try:
                read(text)
            except ha.InventoryError as e:
                out.setdefault("errors", []).append(e.problems)
        out["check_s"] = time.perf_counter() - t
    """, timeout=300)
    limit = "document is 1073741825 bytes; the limit is 1073741824 bytes"
    assert r["errors"] == [[["<input>", limit]], [["<input>", limit]]]
    assert r["check_s"] < 5


def test_scenario_inventory_file_over_the_size_limit_is_refused(tmp_path: Path) -> None:
    big = tmp_path / "big.json"
    with open(big, "wb") as f:
        f.truncate(MAX_INPUT_BYTES + 1)  # sparse: costs nothing
    with pytest.raises(ha.InventoryError, match="larger than the limit of 1073741824 bytes"):
        ha.Simulation.from_scenario({"inventory": str(big)})
