"""hapolicy.testing (assertions) and hapolicy.pytest_plugin (the ha_inventory fixture)."""

from __future__ import annotations

import importlib.metadata
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

import hapolicy as ha
from hapolicy.testing import (
    _failure_scenarios,
    assert_admits,
    assert_failover_level,
    assert_refuses,
    assert_survives,
    assert_timeline,
)

from .conftest import EXAMPLES, ROOT, doc, host, vm

pytest_plugins = ["pytester"]

NEW_VM = {"id": "vm-900", "host": "host-21", "cpu_reservation_mhz": 1000, "memory_reservation_mb": 1024,
          "home_datastore": "datastore-11"}


def message(exc: pytest.ExceptionInfo[AssertionError]) -> str:
    return str(exc.value)


def with_policy(inv: ha.Inventory, policy: dict[str, Any]) -> ha.Inventory:
    return inv.replace(config={**inv.config.to_dict(), "admission_control": policy})


# ---------------------------------------------------------------------------- assert_survives


def test_survives_two_failures_passes(lab: ha.Inventory) -> None:
    assert_survives(lab, failures=2)
    assert_survives(lab, failures=1, hosts=["host-21"])


def test_survives_three_failures_names_worst_combinations_and_reasons(lab: ha.Inventory) -> None:
    with pytest.raises(AssertionError) as exc:
        assert_survives(lab, failures=3)
    text = message(exc)
    first, *rest = text.splitlines()
    assert first == ("cluster 'lab' does not survive 3 host failures: 4 of 14 failure combinations (1–3 hosts) "
                     "leave VMs unplaced; it survives any 2")
    # The worst combination comes first, with every unplaced VM, its reason and why the surviving host refused.
    # Hosts and VMs are shown with their names (lab.json names host-21 "esx-01.lab.local", …).
    assert rest[1] == ("  host-21 (esx-01.lab.local) + host-22 (esx-02.lab.local) + host-23 (esx-03.lab.local) "
                       "fail: 5 unplaced, 9 restarted")
    assert rest[2] == ("    vm-102 (sql01) [high]: antiAffinity — host-24 (esx-04.lab.local): vm-103 of anti-affinity "
                       "rule 'sql-apart' is there")
    assert ("    vm-112 (build01) [low]: datastoreInaccessible — host-24 (esx-04.lab.local): not connected to "
            "datastore datastore-13") in rest
    assert "host failed" not in text  # the failed hosts' own refusal is noise
    assert text.count(" fail: ") == 4


def test_survives_limits_the_listing(lab: ha.Inventory) -> None:
    with pytest.raises(AssertionError) as exc:
        assert_survives(lab, failures=3, show=1)
    assert "… 3 more failing combinations" in message(exc)
    assert message(exc).count(" fail: ") == 1


def test_survives_among_some_hosts(lab: ha.Inventory) -> None:
    with pytest.raises(AssertionError) as exc:
        assert_survives(lab, failures=3, hosts=(h for h in ["host-24", "host-21", "host-22"]))
    assert ("among host-21 (esx-01.lab.local), host-22 (esx-02.lab.local), host-24 (esx-04.lab.local): "
            "1 of 7 failure combinations") in message(exc)
    assert "vm-103 (sql02) [high]: antiAffinity — host-23 (esx-03.lab.local):" in message(exc)


def test_survives_single_failure_message() -> None:
    inv = ha.Inventory.from_dict(doc(
        [host("h1", mem=16384), host("h2", mem=8192)],
        [vm("big", "h1", mem=12000), vm("small", "h2", mem=1000)],
    ))
    with pytest.raises(AssertionError) as exc:
        assert_survives(inv, failures=1)
    text = message(exc)
    assert "does not survive 1 host failure: 1 of 2 failure combinations (1 host) leave VMs unplaced" in text
    assert "even a single host failure leaves VMs unplaced" in text
    assert "big [medium]: insufficientResources — h2:" in text


def test_survives_bad_arguments(lab: ha.Inventory) -> None:
    with pytest.raises(ValueError, match="at least 1"):
        assert_survives(lab, failures=0)
    with pytest.raises(ha.UnknownIdError):
        assert_survives(lab, failures=1, hosts=["host-99"])


class _FakeSweep:
    def __init__(self, inv: ha.Inventory) -> None:
        self.calls: list[dict[str, Any]] = []
        self.inv = inv

    def __call__(self, inv: ha.Inventory, max_failures: int, hosts: Any = None, threads: Any = None,
                 progress: Any = None) -> Any:
        self.calls.append({"max_failures": max_failures, "hosts": hosts})

        class Result:
            results = [
                type("ScenarioResult", (), {"failed_hosts": s.failed_hosts, "restarted": s.restarted,
                                            "unplaced": s.unplaced, "unplaced_vms": s.unplaced_vms})()
                for s in _loop(inv, max_failures, hosts)
            ]

        return Result()


def _loop(inv: ha.Inventory, k: int, hosts: Any) -> Any:
    import hapolicy.testing as t

    saved = getattr(ha, "sweep", None)
    if saved is not None:  # compute with the plan_failover loop, whatever the engine has
        delattr(ha, "sweep")
    try:
        return t._failure_scenarios(inv, k, hosts)
    finally:
        if saved is not None:
            setattr(ha, "sweep", saved)


def test_survives_uses_ha_sweep_when_present(lab: ha.Inventory, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = _FakeSweep(lab)
    monkeypatch.setattr(ha, "sweep", fake, raising=False)
    assert_survives(lab, failures=2)
    with pytest.raises(AssertionError) as exc:
        assert_survives(lab, failures=3, hosts=["host-21", "host-22", "host-23"])
    assert fake.calls == [{"max_failures": 2, "hosts": None},
                          {"max_failures": 3, "hosts": ["host-21", "host-22", "host-23"]}]
    assert "1 of 7 failure combinations" in message(exc)
    assert "vm-112 (build01) [low]: datastoreInaccessible" in message(exc)  # reasons from plan_failover


@pytest.mark.skipif(not hasattr(ha, "sweep"), reason="ha.sweep is not available yet")
def test_ha_sweep_and_plan_failover_loop_agree(lab: ha.Inventory) -> None:
    assert _failure_scenarios(lab, 3) == _loop(lab, 3, None)


# ---------------------------------------------------------------------------- admission


def test_admits_and_refuses(lab: ha.Inventory) -> None:
    decision = assert_refuses(lab, NEW_VM)
    assert not decision.allowed
    with pytest.raises(AssertionError) as exc:
        assert_admits(lab, NEW_VM)
    assert message(exc) == ("expected admission control to allow powering on vm-900 on host-21 (esx-01.lab.local) "
                            "(admission control: slot), "
                            f"but it refuses: {decision.reason}")
    assert "overcommitted" in decision.reason

    pct = with_policy(lab, {"policy": "percentage", "host_failures": 1})
    allowed = assert_admits(pct, NEW_VM)
    assert allowed.allowed
    with pytest.raises(AssertionError) as exc:
        assert_refuses(pct, NEW_VM)
    assert message(exc).startswith("expected admission control to refuse powering on vm-900 on host-21 (esx-01.lab.local) "
                                   "(admission control: percentage), but it allows it: CPU failover capacity")


def test_admits_accepts_vm_objects_ids_and_migrations(guide: ha.Inventory) -> None:
    assert_admits(guide, ha.Vm("vm-new", host="host-1", cpu_reservation_mhz=1000, memory_reservation_mb=512,
                               home_datastore=guide.datastores[0].id))
    assert_admits(guide, {"id": "vm-new", "host": "host-1", "home_datastore": guide.datastores[0].id},
                  operation="migrate_in")
    with pytest.raises(AssertionError, match="refuse migrating in vm-new on host-1"):
        assert_refuses(guide, {"id": "vm-new", "host": "host-1", "home_datastore": guide.datastores[0].id},
                       operation="migrate_in")
    with pytest.raises(ValueError, match="operation"):
        assert_admits(guide, {"id": "x"}, operation="resume")  # type: ignore[arg-type]


# ---------------------------------------------------------------------------- failover level


def test_failover_level_slot(guide: ha.Inventory, lab: ha.Inventory) -> None:
    assert_failover_level(guide, at_least=1)
    with pytest.raises(AssertionError) as exc:
        assert_failover_level(guide, at_least=2)
    assert message(exc).startswith("cluster 'availability-guide-5.0' admission control (slot policy) reports "
                                   "current failover level 1, expected at least 2.") or \
        "reports current failover level 1, expected at least 2" in message(exc)
    assert "slot size: 2000 MHz / 2048 MB" in message(exc)  # the report follows
    with pytest.raises(AssertionError, match="current failover level 0, expected at least 1"):
        assert_failover_level(lab, at_least=1)


def test_failover_level_percentage(lab: ha.Inventory) -> None:
    pct = with_policy(lab, {"policy": "percentage", "cpu_percent": 25, "memory_percent": 25})
    assert_failover_level(pct, at_least=3)  # 77 % memory free of 4 hosts covers 3 × 25 %
    with pytest.raises(AssertionError) as exc:
        assert_failover_level(pct, at_least=4)
    assert ("current failover capacity CPU 85.47 %, memory 77.17 % of 4 counted hosts covers 3 host failures "
            "(k / N = 75.00 %), expected at least 4") in message(exc)


def test_failover_level_placement(lab: ha.Inventory) -> None:
    assert_failover_level(lab, at_least=2, basis="placement")
    assert_failover_level(lab, at_least=0, basis="placement")
    with pytest.raises(AssertionError) as exc:
        assert_failover_level(lab, at_least=3, basis="placement")
    assert message(exc) == (
        "cluster 'lab' tolerates 2 host failures by placement, expected at least 3: when host-21 (esx-01.lab.local) + "
        "host-22 (esx-02.lab.local) + host-23 (esx-03.lab.local) fail, 5 VMs cannot restart (vm-102 (sql01), "
        "vm-112 (build01), vm-113 (build02), vm-114 (test01), vm-115 (test02)); 4 of 14 combinations of up to 3 hosts fail"
    )


def test_failover_level_other_policies(lab: ha.Inventory) -> None:
    with pytest.raises(ValueError, match="use basis='placement'"):
        assert_failover_level(with_policy(lab, {"policy": "disabled"}), at_least=1)
    with pytest.raises(ValueError, match="basis"):
        assert_failover_level(lab, at_least=1, basis="slots")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        assert_failover_level(lab, at_least=-1)


# ---------------------------------------------------------------------------- timelines


@pytest.fixture
def failed_sim(lab: ha.Inventory) -> ha.Simulation:
    sim = ha.Simulation(lab)
    sim.fail_host("host-21", at=0.0)
    sim.run(until=600)
    return sim


def test_timeline_passes_with_every_kind_of_expectation(failed_sim: ha.Simulation) -> None:
    tl = failed_sim.timeline
    restarted = tl.first("vm_restarted", vm="vm-108")
    assert restarted is not None
    events = assert_timeline(failed_sim, [
        "t=+18.0s host-21 hostDown (no network or datastore heartbeat)",   # a whole line
        (18.0, ha.EventKind.RESTART_ATTEMPT, "vm-100"),                     # (time, kind, vm)
        (None, "vm_restarted", "host-22"),                                  # any time, host
        {"kind": "vm_restarted", "vm": "vm-104", "detail": {"attempt": 1}},
        restarted,                                                          # an Event
        "vm-112 restarted",                                                  # a fragment
    ])
    assert [e.kind for e in events] == ["host_state", "restart_attempt", "vm_restarted", "vm_restarted",
                                        "vm_restarted", "vm_restarted"]
    assert events[4] == restarted and events[3].vm == "vm-104"
    assert_timeline(tl, [])
    assert_timeline(list(tl), [(0.0, "master_elected")])


def test_timeline_failure_shows_a_diff(failed_sim: ha.Simulation) -> None:
    with pytest.raises(AssertionError) as exc:
        assert_timeline(failed_sim, [
            "host-21 hostDown",
            (60.0, "vm_restarted", "vm-100"),
            "vm-104 restarted on host-22",
            "vm-108 restarted on host-23",
        ])
    lines = message(exc).splitlines()
    assert lines[0] == "timeline does not contain the expected events in order: 2 of 4 missing (13 events, t=0s–21s)"
    # Timeline lines show names beside ids; the fragments above, written with ids, still match.
    assert lines[1] == ("  missing expected[1] (60.0, 'vm_restarted', 'vm-100'): at another time: event #7 is at t=19s, "
                        "expected t=60s: 't=+19.0s vm-100 (dc01) restarted on host-22 (esx-02.lab.local)'")
    assert lines[2] == ("  missing expected[3] 'vm-108 restarted on host-23': closest line: event #11 "
                        "'t=+20.0s vm-108 (web01) restarted on host-22 (esx-02.lab.local)'")
    assert lines[3].startswith("timeline (= matched, - missing")
    diff = lines[4:]
    assert len(diff) == 13 + 2  # short timelines are shown whole, plus the two missing items
    assert diff[3] == ("  = #4   t=+18.0s host-21 (esx-01.lab.local) hostDown (no network or datastore heartbeat)"
                       "    (expected[0])")
    assert diff[4] == "  -      (60.0, 'vm_restarted', 'vm-100')"
    assert diff[10] == "  = #10  t=+20.0s vm-104 (app01) restarted on host-22 (esx-02.lab.local)    (expected[2])"
    assert diff[11] == "  -      'vm-108 restarted on host-23'"


def test_timeline_out_of_order(failed_sim: ha.Simulation) -> None:
    with pytest.raises(AssertionError) as exc:
        assert_timeline(failed_sim, ["vm-112 restarted", "host-21 hostDown"])
    assert ("missing expected[1] 'host-21 hostDown': out of order: it is event #4, before the previous expected event"
            in message(exc))


def test_timeline_missing_kind(failed_sim: ha.Simulation) -> None:
    with pytest.raises(AssertionError, match="no event of kind 'isolation_declared' at all"):
        assert_timeline(failed_sim, [(None, "isolation_declared")])
    with pytest.raises(AssertionError, match=r"events of kind 'host_state': #4"):
        assert_timeline(failed_sim, [(18, "host_state", "host-22")])


def test_timeline_long_timelines_are_elided(lab: ha.Inventory) -> None:
    sim = ha.Simulation(lab)
    for h in ("host-21", "host-22", "host-23"):
        sim.fail_host(h, at=0.0)
    tl = sim.run(until=3600)
    assert len(tl) > 40
    with pytest.raises(AssertionError) as exc:
        assert_timeline(tl, ["host-23 hostDown", "vm-102 restarted"])
    text = message(exc)
    assert "  = #9 " in text and "  -     " in text and "    … " in text
    assert len(text.splitlines()) < 20


def test_timeline_empty() -> None:
    with pytest.raises(AssertionError, match="timeline is empty: 1 of 1 expected events missing"):
        assert_timeline(ha.Timeline([]), ["anything"])


def test_timeline_bad_expectations(failed_sim: ha.Simulation) -> None:
    with pytest.raises(ValueError, match="unknown event kind 'vm_restart'; did you mean 'vm_restarted'"):
        assert_timeline(failed_sim, [(19.0, "vm_restart")])
    with pytest.raises(ValueError, match=r"expected\[0\]: expected \(time, kind\)"):
        assert_timeline(failed_sim, [(1.0,)])
    with pytest.raises(ValueError, match="unknown field"):
        assert_timeline(failed_sim, [{"kinds": "x"}])
    with pytest.raises(TypeError, match="time must be a number"):
        assert_timeline(failed_sim, [("18", "host_state")])
    with pytest.raises(TypeError):
        assert_timeline(failed_sim, [42])  # type: ignore[list-item]


# ---------------------------------------------------------------------------- pytest plugin


def _plugin_args() -> list[str]:
    """``-p hapolicy.pytest_plugin`` unless the installed metadata already registers the entry
    point (after the next ``maturin develop``); registering it twice is an error."""
    registered = any(ep.value == "hapolicy.pytest_plugin" for ep in importlib.metadata.entry_points(group="pytest11"))
    # Other installed plugins are not needed here and cost seconds per in-process run.
    quiet = ["-p", "no:hypothesispytest", "-p", "no:benchmark", "-p", "no:nbmake", "-p", "no:cacheprovider"]
    return quiet if registered else [*quiet, "-p", "hapolicy.pytest_plugin"]


def test_entry_point_declared() -> None:
    text = (ROOT / "pyproject.toml").read_text()
    assert '[project.entry-points.pytest11]\nhapolicy = "hapolicy.pytest_plugin"' in text


def _lab_copy(pytester: pytest.Pytester, name: str = "cluster.json") -> Path:
    target = pytester.path / name
    target.write_text((EXAMPLES / "lab.json").read_text())
    return target


def test_fixture_from_marker(pytester: pytest.Pytester) -> None:
    (pytester.path / "data").mkdir()
    _lab_copy(pytester, "data/cluster.json")
    pytester.makepyfile(test_a=textwrap.dedent("""
        import pytest

        @pytest.mark.ha_inventory("data/cluster.json")
        def test_marker(ha_inventory):
            assert ha_inventory.config.name == "lab" and len(ha_inventory.hosts) == 4

        @pytest.mark.ha_inventory(path="data/cluster.json")
        def test_marker_kw(ha_inventory):
            assert len(ha_inventory.vms) == 20

        @pytest.mark.ha_inventory("data/cluster.json")
        class TestClass:
            def test_in_class(self, ha_inventory):
                assert ha_inventory.vm("vm-100").name == "dc01"
    """))
    result = pytester.runpytest("--strict-markers", *_plugin_args())
    result.assert_outcomes(passed=3)


def test_fixture_from_option_and_ini(pytester: pytest.Pytester) -> None:
    _lab_copy(pytester)
    pytester.makepyfile(test_b="def test_option(ha_inventory):\n    assert ha_inventory.config.name == 'lab'\n")
    pytester.runpytest("--ha-inventory", "cluster.json", *_plugin_args()).assert_outcomes(passed=1)
    pytester.makeini("[pytest]\nha_inventory = cluster.json\n")
    pytester.runpytest(*_plugin_args()).assert_outcomes(passed=1)


def test_marker_wins_over_option(pytester: pytest.Pytester) -> None:
    _lab_copy(pytester)
    pytester.makepyfile(test_c=textwrap.dedent("""
        import pytest
        pytestmark = pytest.mark.ha_inventory("cluster.json")

        def test_module_marker(ha_inventory):
            assert len(ha_inventory.hosts) == 4
    """))
    pytester.runpytest("--ha-inventory", "nowhere.json", *_plugin_args()).assert_outcomes(passed=1)


def test_fixture_errors_are_clear(pytester: pytest.Pytester) -> None:
    (pytester.path / "bad.json").write_text('{"hosts": [{"id": "h1", "cpu_mhz": -1, "memory_mb": 1}]}')
    pytester.makepyfile(test_d=textwrap.dedent("""
        import pytest

        def test_nothing_given(ha_inventory):
            pass

        @pytest.mark.ha_inventory("missing.json")
        def test_missing(ha_inventory):
            pass

        @pytest.mark.ha_inventory("bad.json")
        def test_invalid(ha_inventory):
            pass

        @pytest.mark.ha_inventory("a.json", "b.json")
        def test_two_paths(ha_inventory):
            pass
    """))
    result = pytester.runpytest("-rE", *_plugin_args())
    result.assert_outcomes(errors=4)
    out = result.stdout.str()
    assert ('the ha_inventory fixture needs an inventory file: mark the test with '
            '@pytest.mark.ha_inventory("path/to/inventory.json") (relative to the test file), '
            'run pytest --ha-inventory PATH, or set ha_inventory = PATH in the pytest ini file') in out
    assert f"ha_inventory: no such file {pytester.path / 'missing.json'} (from @pytest.mark.ha_inventory('missing.json'))" in out
    assert "is not a valid inventory: 1 problem in the input" in out and "hosts[0].cpu_mhz" in out
    assert "@pytest.mark.ha_inventory takes one path" in out
    assert "Traceback" not in out


def test_help_lists_option(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--help", *_plugin_args())
    result.stdout.fnmatch_lines(["*--ha-inventory=PATH*"])


def test_example_test_file_passes() -> None:
    """The example users copy (examples/test_my_cluster.py) runs green against examples/lab.json."""
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", *_plugin_args(),
         str(EXAMPLES / "test_my_cluster.py")],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "6 passed, 1 xfailed" in proc.stdout
