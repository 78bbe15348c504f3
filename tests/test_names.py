"""Names beside ids (issue "Names everywhere"): every call that takes an id takes an
unambiguous name too, an ambiguous name is an error naming the candidates, and text shows
``host-21 (esx-01)``. Also the API hygiene items of the same issue: ``Inventory.to_pandas``,
``check_power_on`` with a non-VM, ``generate_inventory`` counts, one spelling of
``restartDisabled``.

The inventory below is written out so each expectation can be checked by eye: hosts host-1 …
host-4 are named esx-01 … except that host-2 and host-4 share the name ``esx-dup`` and host-3
has no name of its own.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import hapolicy as ha
from hapolicy.testing import assert_admits, assert_survives, assert_timeline

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def _host(i: int, name: str | None, datastores: list[str], mem: int = 10000) -> dict[str, Any]:
    h: dict[str, Any] = {"id": f"host-{i}", "cpu_mhz": 10000, "memory_mb": mem, "datastores": datastores}
    if name is not None:
        h["name"] = name
    return h


DOC: dict[str, Any] = {
    "cluster": {"name": "names", "version": "8.0", "admission_control": {"policy": "slot", "host_failures": 1}},
    "datastores": [{"id": "datastore-1", "name": "gold-01"}, {"id": "datastore-2", "name": "gold-02"}],
    "hosts": [
        _host(1, "esx-01.corp.example", ["datastore-1", "datastore-2"]),
        _host(2, "esx-dup", ["datastore-1", "datastore-2"]),
        _host(3, None, ["datastore-1"]),
        _host(4, "esx-dup", ["datastore-1"]),
    ],
    "vms": [
        {"id": "vm-1", "name": "sql01", "host": "host-1", "home_datastore": "datastore-2", "memory_reservation_mb": 1000},
        {"id": "vm-2", "name": "web01", "host": "host-1", "home_datastore": "datastore-1"},
        {"id": "vm-3", "name": "web01", "host": "host-3", "home_datastore": "datastore-1"},
        {"id": "vm-4", "name": "spare", "host": "host-3", "home_datastore": "datastore-1", "power_state": "poweredOff"},
    ],
}


@pytest.fixture(scope="module")
def inv() -> ha.Inventory:
    return ha.Inventory.from_dict(DOC)


@pytest.fixture(scope="module")
def lab() -> ha.Inventory:
    return ha.Inventory.load(EXAMPLES / "lab.json")


# ----------------------------------------------------------------------------- resolve / label


def test_resolve_takes_ids_and_unique_names(inv: ha.Inventory) -> None:
    assert inv.resolve_host("host-2") == "host-2"
    assert inv.resolve_host("esx-01.corp.example") == "host-1"
    assert inv.resolve_vm("sql01") == "vm-1"
    assert inv.resolve_datastore("gold-02") == "datastore-2"


def test_ambiguous_name_is_an_unknown_id_error_naming_both(inv: ha.Inventory) -> None:
    with pytest.raises(ha.UnknownIdError) as exc:
        inv.resolve_host("esx-dup")
    assert str(exc.value) == "host name 'esx-dup' is ambiguous: host-2, host-4"
    assert exc.value.candidates == ("host-2", "host-4")
    assert isinstance(exc.value, KeyError)
    with pytest.raises(ha.UnknownIdError, match="vm name 'web01' is ambiguous: vm-2, vm-3"):
        inv.resolve_vm("web01")


def test_unknown_name(inv: ha.Inventory) -> None:
    with pytest.raises(ha.UnknownIdError, match="^unknown host 'esx-99'$"):
        inv.resolve_host("esx-99")
    with pytest.raises(ha.UnknownIdError):
        inv.resolve_host("sql01")  # a VM's name is no host
    with pytest.raises(TypeError, match="got int"):
        inv.resolve_host(3)  # type: ignore[arg-type]


def test_unknown_id_error_pickles_with_candidates(inv: ha.Inventory) -> None:
    import pickle

    with pytest.raises(ha.UnknownIdError) as exc:
        inv.resolve_host("esx-dup")
    again = pickle.loads(pickle.dumps(exc.value))
    assert str(again) == str(exc.value) and again.candidates == ("host-2", "host-4")


def test_label(inv: ha.Inventory) -> None:
    assert inv.label("host-1") == "host-1 (esx-01.corp.example)"
    assert inv.label("host-3") == "host-3"  # no name of its own
    assert inv.label("vm-1") == "vm-1 (sql01)"
    assert inv.label("datastore-1") == "datastore-1 (gold-01)"
    assert inv.label("nothing") == "nothing"


# ----------------------------------------------------------------------------- names as input


def test_plan_failover_by_name(inv: ha.Inventory) -> None:
    by_name = ha.plan_failover(inv, ["esx-01.corp.example"])
    assert by_name == ha.plan_failover(inv, ["host-1"])
    assert by_name.failed_hosts == ("host-1",)  # results keep ids
    assert ha.plan_failover(inv, [], isolated_hosts="esx-01.corp.example").isolated_hosts == ("host-1",)
    with pytest.raises(ha.UnknownIdError, match="host name 'esx-dup' is ambiguous: host-2, host-4"):
        ha.plan_failover(inv, ["esx-dup"])


def test_explain_by_name_shows_names(inv: ha.Inventory) -> None:
    plan = ha.plan_failover(inv, ["esx-01.corp.example"])
    text = plan.explain("sql01")
    assert text == plan.explain("vm-1")
    # vm-1's home is datastore-2, which only host-1 (failed) and host-2 reach.
    assert text.startswith("vm-1 (sql01) restarts on host-2 (esx-dup) (#")
    assert "Why this host: the only feasible host." in text
    assert "  host-1 (esx-01.corp.example): refused — host failed" in text
    assert "  host-3: refused — not connected to datastore datastore-2 (gold-02)" in text
    assert plan.placement("sql01") == plan.placement("vm-1") is not None
    with pytest.raises(ha.UnknownIdError, match="ambiguous: vm-2, vm-3"):
        plan.explain("web01")


def test_plan_text_and_records_show_names(inv: ha.Inventory) -> None:
    plan = ha.plan_failover(inv, ["host-1"])
    text = plan.text()
    assert text.splitlines()[0] == "Failed: host-1 (esx-01.corp.example)"
    assert "vm-1 (sql01)" in text and "host-2 (esx-dup)" in text
    rows = {r["vm"]: r for r in plan.to_records()}
    assert rows["vm-1"]["host"] == "host-2" and rows["vm-1"]["host_name"] == "esx-dup"
    assert rows["vm-1"]["vm_name"] == "sql01"


def test_admission_control_by_name(inv: ha.Inventory) -> None:
    r = ha.admission_control(inv, failed_hosts=["esx-01.corp.example"])
    assert r == ha.admission_control(inv, failed_hosts=["host-1"])
    assert "host-1" not in r.counted_hosts
    assert "host-1 (esx-01.corp.example) is not counted: failed" in r.messages
    assert "host-1 (esx-01.corp.example)" in r.text
    with pytest.raises(ha.UnknownIdError, match="ambiguous"):
        ha.admission_control(inv, failed_hosts="esx-dup")


def test_check_reservation_change_by_name(inv: ha.Inventory) -> None:
    by_name = ha.check_reservation_change(inv, "sql01", memory_reservation_mb=2000)
    assert by_name == ha.check_reservation_change(inv, "vm-1", memory_reservation_mb=2000)
    assert "after losing host-1 (esx-01.corp.example)" in by_name.reason  # the slot policy's figures
    with pytest.raises(ha.UnknownIdError, match="ambiguous: vm-2, vm-3"):
        ha.check_reservation_change(inv, "web01", cpu_reservation_mhz=1)


def test_power_on_reason_names_the_target_host() -> None:
    """With admission control disabled the reason names the operation: host and VM labelled."""
    doc = json.loads(json.dumps(DOC))
    doc["cluster"]["admission_control"] = {"policy": "disabled"}
    d = ha.check_power_on(ha.Inventory.from_dict(doc), {"id": "spare", "host": "esx-01.corp.example"})
    assert d.reason == "admission control is disabled: power-on of vm-4 (spare) on host-1 (esx-01.corp.example) is not checked"


def test_check_power_on_with_names_in_the_vm(inv: ha.Inventory) -> None:
    new = {"id": "vm-9", "host": "esx-01.corp.example", "home_datastore": "gold-02", "datastores": ["gold-01"],
           "memory_reservation_mb": 500}
    same = {"id": "vm-9", "host": "host-1", "home_datastore": "datastore-2", "datastores": ["datastore-1"],
            "memory_reservation_mb": 500}
    d = ha.check_power_on(inv, new)
    assert d == ha.check_power_on(inv, same)
    assert d.allowed and "after losing host-1 (esx-01.corp.example)" in d.reason
    assert ha.check_migrate_in(inv, new) == ha.check_migrate_in(inv, same)
    # An existing powered-off VM by name, onto a host by name.
    assert ha.check_power_on(inv, {"id": "spare", "host": "host-3"}) == ha.check_power_on(
        inv, {"id": "vm-4", "host": "host-3"})
    with pytest.raises(ha.InventoryError) as exc:
        ha.check_power_on(inv, {**new, "host": "esx-dup"})
    assert exc.value.problems == [("vm.host", "host name 'esx-dup' is ambiguous: host-2, host-4")]


def test_heartbeat_and_election_by_name(inv: ha.Inventory) -> None:
    assert ha.heartbeat_datastores(inv, ["gold-01"]) == ha.heartbeat_datastores(inv, ["datastore-1"])
    assert ha.heartbeat_datastores(inv, ["gold-01"]) != ha.heartbeat_datastores(inv)
    text = ha.heartbeat_datastores(inv).text
    assert "host-1 (esx-01.corp.example): datastore-1 (gold-01), datastore-2 (gold-02)" in text
    e = ha.elect(inv, hosts=["esx-01.corp.example", "host-3"])
    assert set(e.ranking) == {"host-1", "host-3"}
    assert ha.elect(inv, unusable_datastores=["gold-02"]) == ha.elect(inv, unusable_datastores=["datastore-2"])
    assert "host-1 (esx-01.corp.example)" in e.explain()
    with pytest.raises(ha.UnknownIdError, match="ambiguous"):
        ha.elect(inv, hosts=["esx-dup"])


def test_sweep_by_name(inv: ha.Inventory) -> None:
    by_name = ha.sweep(inv, 1, hosts=["esx-01.corp.example", "host-3"])
    assert by_name == ha.sweep(inv, 1, hosts=["host-1", "host-3"])
    assert by_name.candidate_hosts == ["host-1", "host-3"]
    with pytest.raises(ha.UnknownIdError, match="ambiguous"):
        ha.sweep(inv, 1, hosts=["esx-dup"])


def test_simulation_faults_by_name_and_named_timeline(inv: ha.Inventory) -> None:
    sim = ha.Simulation(inv)
    sim.fail_host("esx-01.corp.example", at=0.0)
    tl = sim.run(until=60)
    down = tl.first("host_state", host="esx-01.corp.example")  # filters take names too
    assert down is not None and down.host == "host-1"
    assert down.text == "t=+18.0s host-1 (esx-01.corp.example) hostDown (no network or datastore heartbeat)"
    assert "t=+0.0s fault host_failure host-1 (esx-01.corp.example)" in tl.text()
    restarted = tl.first("vm_restarted", vm="sql01")
    assert restarted is not None and restarted.text.endswith("vm-1 (sql01) restarted on host-2 (esx-dup)")
    with pytest.raises(ha.UnknownIdError, match="ambiguous: host-2, host-4"):
        sim.isolate_host("esx-dup", at=100.0)
    for method, arg in [(sim.guest_heartbeat_loss, "sql01"), (sim.datastore_pdl, "gold-01")]:
        method(arg, at=100.0)


def test_fault_methods_by_name_record_ids(inv: ha.Inventory) -> None:
    def run(host: str, ds: str, vm: str) -> ha.Timeline:
        sim = ha.Simulation(inv)
        sim.partition([[host]], at=0.0, until=30.0)
        sim.datastore_apd(ds, at=0.0, hosts=[host])
        sim.datastore_pdl(ds, at=1.0)
        sim.guest_heartbeat_loss(vm, at=2.0)
        sim.power_on_failure(vm, attempts=1)
        return sim.run(120)

    by_name = run("esx-01.corp.example", "gold-01", "sql01")
    assert by_name == run("host-1", "datastore-1", "vm-1")  # events (and their details) hold ids
    faults = [e.detail for e in by_name.filter("fault")]
    assert {"type": "partition", "groups": [["host-1"]]} in faults
    assert any(d["type"] == "datastore_pdl" and d["datastore"] == "datastore-1" for d in faults)
    assert "fault datastore_pdl datastore-1 (gold-01)" in by_name.text()


def test_apply_and_scenario_events_take_names(inv: ha.Inventory, tmp_path: Path) -> None:
    events = [{"at": 0, "type": "host_failure", "host": "esx-01.corp.example"},
              {"at": 5, "type": "datastore_apd", "datastore": "gold-01", "hosts": ["host-3"]}]
    a = ha.Simulation(inv)
    a.apply(events)
    b = ha.Simulation(inv)
    b.apply([{**events[0], "host": "host-1"}, {**events[1], "datastore": "datastore-1"}])
    assert a.run(300) == b.run(300)

    scenario = tmp_path / "s.json"
    scenario.write_text(json.dumps({"inventory": DOC, "events": events, "until": 300}))
    assert ha.Simulation.from_scenario(scenario).run() == b.timeline

    bad = {"inventory": DOC, "events": [{"at": 0, "type": "isolation", "host": "esx-dup"}]}
    with pytest.raises(ha.InventoryError) as exc:
        ha.Simulation.from_scenario(bad)
    assert exc.value.problems == [("events[0].host", "host name 'esx-dup' is ambiguous: host-2, host-4")]
    with pytest.raises(ha.InventoryError) as exc:
        a.apply([{"at": 400, "type": "guest_heartbeat_loss", "vm": "web01"}])
    assert exc.value.problems == [("events[0].vm", "vm name 'web01' is ambiguous: vm-2, vm-3")]


def test_testing_helpers_take_names(lab: ha.Inventory) -> None:
    assert_survives(lab, failures=1, hosts=["esx-01.lab.local"])
    with pytest.raises(AssertionError, match=r"powering on vm-900 on host-21 \(esx-01.lab.local\)"):
        assert_admits(lab, {"id": "vm-900", "host": "esx-01.lab.local", "memory_reservation_mb": 200000,
                            "home_datastore": "vmfs-gold-01"})
    sim = ha.Simulation(lab)
    sim.fail_host("esx-01.lab.local", at=0.0)
    sim.run(until=120)
    # Fragments match whether written with ids, with names, or as shown.
    for fragment in ["host-21 hostDown", "esx-01.lab.local hostDown", "host-21 (esx-01.lab.local) hostDown"]:
        assert_timeline(sim, [fragment])
        assert_timeline(sim.timeline, [fragment])
    assert_timeline(sim, ["esx-01.lab.local hostDown", {"kind": "vm_restarted", "vm": "dc01"},
                          (None, "vm_restarted", "app01")])


def test_lab_example_names_in_election_text(lab: ha.Inventory) -> None:
    lines = ha.elect(lab).explain().splitlines()
    assert lines[0] == "master: host-23 (esx-03.lab.local)"


# ----------------------------------------------------------------------------- to_pandas


def test_to_pandas_tables(inv: ha.Inventory) -> None:
    pd = pytest.importorskip("pandas")
    hosts = inv.to_pandas("hosts")
    assert list(hosts["id"]) == ["host-1", "host-2", "host-3", "host-4"]
    assert list(hosts["name"]) == ["esx-01.corp.example", "esx-dup", "host-3", "esx-dup"]
    assert hosts["maintenance"].dtype == bool and hosts["agent_vms_ready"].dtype == bool
    assert str(hosts["goodness"].dtype) == "Int64" and hosts["goodness"].isna().all()
    assert isinstance(hosts["state"].dtype, pd.CategoricalDtype)
    assert set(hosts["state"].cat.categories) == {"connected", "disconnected", "notResponding"}
    assert hosts.loc[0, "datastores"] == ("datastore-1", "datastore-2")

    vms = inv.to_pandas("vms")
    assert len(vms) == 4 and list(vms["host"]) == ["host-1", "host-1", "host-3", "host-3"]
    assert list(vms["power_state"]) == ["poweredOn", "poweredOn", "poweredOn", "poweredOff"]
    assert isinstance(vms["restart_priority"].dtype, pd.CategoricalDtype)
    assert vms["protected"].dtype == bool
    assert vms.loc[0, "memory_reservation_mb"] == 1000

    ds = inv.to_pandas("datastores")
    assert list(ds.columns) == ["id", "name", "type", "backing"]
    assert list(ds["type"]) == ["VMFS", "VMFS"]


def test_to_pandas_unknown_table(inv: ha.Inventory) -> None:
    with pytest.raises(ValueError, match="no table 'rules': expected one of 'hosts', 'vms', 'datastores'"):
        inv.to_pandas("rules")


# ----------------------------------------------------------------------------- API hygiene


@pytest.mark.parametrize("bad", ["vm-1", None, 3, ["vm-1"]])
def test_check_power_on_with_a_non_vm_is_a_type_error(inv: ha.Inventory, bad: Any) -> None:
    kind = type(bad).__name__
    with pytest.raises(TypeError, match=f"^vm must be a mapping in the JSON vm shape or a hapolicy.Vm, got {kind}$"):
        ha.check_power_on(inv, bad)
    with pytest.raises(TypeError, match="vm must be a mapping"):
        ha.check_migrate_in(inv, bad)


def test_check_power_on_takes_a_vm_value_object(inv: ha.Inventory) -> None:
    vm = ha.Vm("vm-9", host="host-1", home_datastore="datastore-1", memory_reservation_mb=100)
    assert ha.check_power_on(inv, vm) == ha.check_power_on(inv, vm.to_dict())


@pytest.mark.parametrize("kw, message", [
    ({"hosts": -1}, "hosts must be a whole number from 0 to 100,000, got -1"),
    ({"hosts": 100_001}, "hosts must be a whole number from 0 to 100,000, got 100,001"),
    ({"vms": -5}, "vms must be a whole number from 0 to 10,000,000, got -5"),
    ({"vms": 2**64}, "vms must be a whole number from 0 to 10,000,000"),
    ({"seed": -1}, "seed must be a whole number ≥ 0, got -1"),
    ({"hosts": "4"}, "hosts must be a whole number, got '4' (str)"),
    ({"hosts": 2.5}, "hosts must be a whole number, got 2.5 (float)"),
])
def test_generate_inventory_counts_are_value_errors(kw: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError) as exc:
        ha.generate_inventory(**kw)
    assert str(exc.value).startswith(message)
    assert "18446744073709551615" not in str(exc.value)


def test_whole_number_messages_do_not_quote_machine_limits(inv: ha.Inventory) -> None:
    for call in (lambda: ha.sweep(inv, max_failures=0), lambda: ha.sweep(inv, 1, threads=2**70),
                 lambda: ha.check_reservation_change(inv, "vm-1", cpu_reservation_mhz=-1),
                 lambda: ha.check_reservation_change(inv, "vm-1", cpu_reservation_mhz=2**64)):
        with pytest.raises(ha.ArgumentError) as exc:
            call()
        assert "18446744073709551615" not in str(exc.value) and "18,446,744,073,709,551,615" not in str(exc.value)
    with pytest.raises(ha.ArgumentError, match="^max_failures must be a whole number ≥ 1, got 0$"):
        ha.sweep(inv, max_failures=0)


def test_restart_disabled_has_one_spelling() -> None:
    """The plan's not-restarted reason and the simulation's vm_not_restarted reason agree:
    ``restartDisabled`` (the rule book's spelling), never ``restartPriorityDisabled``."""
    doc = json.loads(json.dumps(DOC))
    doc["vms"][1]["restart_priority"] = "disabled"
    inv = ha.Inventory.from_dict(doc)
    plan = ha.plan_failover(inv, ["host-1"])
    assert [(n.vm, n.reason) for n in plan.not_restarted] == [("vm-2", "restartDisabled")]
    sim = ha.Simulation(inv)
    sim.fail_host("host-1")
    event = sim.run(120).first("vm_not_restarted", vm="vm-2")
    assert event is not None and event.detail["reason"].startswith("restartDisabled")
    assert "restartPriorityDisabled" not in sim.timeline.text()


def test_not_restarted_reason_matches_the_core() -> None:
    from hapolicy import _core

    assert [m.value for m in ha.NotRestartedReason] == _core.enum_values()["NotRestartedReason"]
    assert ha.NotRestartedReason.RESTART_DISABLED == "restartDisabled"
    plan = ha.plan_failover(ha.Inventory.load(EXAMPLES / "lab.json"), ["host-21"])
    assert all(isinstance(n.reason, ha.NotRestartedReason) for n in plan.not_restarted)


def test_inventory_lookups_take_names(inv: ha.Inventory) -> None:
    assert inv.host("esx-01.corp.example") == inv.host("host-1")
    assert inv.vm("sql01").id == "vm-1"
    assert inv.datastore("gold-02").id == "datastore-2"
    with pytest.raises(ha.UnknownIdError, match="ambiguous: host-2, host-4"):
        inv.host("esx-dup")


def test_records_keep_ids_and_add_names(inv: ha.Inventory) -> None:
    ac = ha.admission_control(inv).to_records()
    assert {r["host"]: r["host_name"] for r in ac} == {
        "host-1": "esx-01.corp.example", "host-2": "esx-dup", "host-3": "host-3", "host-4": "esx-dup"}
    assert "host_name" not in ha.admission_control(inv).to_dict()
    hb = ha.heartbeat_datastores(inv).to_records()
    assert hb[0]["host"] == "host-1" and hb[0]["host_name"] == "esx-01.corp.example"
    e = ha.elect(inv)
    assert {r["host_name"] for r in e.to_records()} == {"esx-01.corp.example", "esx-dup", "host-3"}
    assert all("host_name" not in c for c in e.to_dict()["candidates"])
