"""Hardening: hostile input through the whole public API, and properties across it (issue 8).

* Arbitrary JSON-like values, text and fault lists into every entry point: the only exceptions
  allowed out are :class:`hapolicy.HaPolicyError` subclasses — never ``InternalError`` (a caught
  Rust panic), never anything else, never a crash.
* Results do not depend on the order of hosts and VMs in the input (placement, admission).
* Admission control and placement agree: when the slot policy (slot computed from the VMs:
  no fixed slot, no ``das.slotCpuInMHz`` / ``das.slotMemInMB`` cap) reports a current failover
  level ≥ 1, failing the host with the most slots leaves no VM unplaced for
  ``insufficientResources`` — provided every host that can take VMs reaches every datastore of
  the failed host's VMs (no rules, no network restrictions, no FT VMs are generated here).
  Without that proviso the two disagree, exactly when the free slots sit on hosts that cannot
  see a VM's datastore while the deepest refusal, on a host that can, is capacity (see
  ``test_slot_policy_and_placement_disagree_when_datastores_are_not_shared``).

The Rust side runs the same properties on arbitrary inventories in ``fuzz/`` (cargo-fuzz) and,
replayed over the committed corpora, in ``tests/fuzz_regressions.rs``.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import math
import random
from collections.abc import Callable
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import hapolicy as ha

from .conftest import EXAMPLES, doc, host, vm
from .strategies import inventories
from .fuzz_rules import FIELDS, survive

T = TypeVar("T")

FAST = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SOME = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# ------------------------------------------------------------------ strategies


scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=12)
    | st.sampled_from(["host-21", "vm-100", "datastore-11", "poweredOn", "slot", "8.0", "5.0", "VMFS", ""])
)

json_like = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=5)
    | st.dictionaries(st.sampled_from(FIELDS) | st.text(max_size=8), inner, max_size=6),
    max_leaves=25,
)


@st.composite
def mutated_inventory(draw: st.DrawFn) -> Any:
    """A valid inventory document with a few places replaced, added or deleted."""
    d: Any = draw(inventories(max_hosts=4, max_vms=8))
    for _ in range(draw(st.integers(1, 4))):
        # Walk down to a random container.
        node = d
        for _depth in range(draw(st.integers(0, 4))):
            children = list(node.values()) if isinstance(node, dict) else node if isinstance(node, list) else []
            children = [c for c in children if isinstance(c, (dict, list))]
            if not children:
                break
            node = draw(st.sampled_from(children))
        if isinstance(node, dict):
            key = draw(st.sampled_from(sorted(node)) | st.sampled_from(FIELDS)) if node else draw(st.sampled_from(FIELDS))
            if draw(st.booleans()) or key not in node:
                node[key] = draw(json_like)
            else:
                del node[key]
        elif isinstance(node, list):
            if node and draw(st.booleans()):
                node[draw(st.integers(0, len(node) - 1))] = draw(json_like)
            else:
                node.append(draw(json_like))
    return d


def lab() -> ha.Inventory:
    return ha.Inventory.load(EXAMPLES / "lab.json")


LAB = lab()
LAB_HOSTS = [h.id for h in LAB.hosts]
LAB_VMS = [v.id for v in LAB.vms]
LAB_DS = [d.id for d in LAB.datastores]

fault_values = (
    st.sampled_from(LAB_HOSTS + LAB_VMS + LAB_DS)
    | st.floats(min_value=-10, max_value=5000)
    | st.lists(st.sampled_from(LAB_HOSTS), max_size=4)
    | st.lists(st.lists(st.sampled_from(LAB_HOSTS), max_size=3), max_size=3)
    | json_like
)
fault = st.fixed_dictionaries(
    {"type": st.sampled_from([t for t, _ in [("host_failure", 0), ("host_recovery", 0), ("isolation", 0),
                                              ("agent_failure", 0), ("partition", 0), ("power_outage", 0),
                                              ("datastore_apd", 0), ("datastore_pdl", 0),
                                              ("guest_heartbeat_loss", 0), ("power_on_failure", 0),
                                              ("vcenter_unavailable", 0), ("nonsense", 0)]]) | json_like},
    optional={k: fault_values for k in ["at", "until", "restore_at", "host", "vm", "datastore", "hosts", "groups",
                                        "attempts", "extra"]},
)
fault_lists = st.lists(fault, max_size=6) | json_like


# ------------------------------------------------------------------ hostile input, every entry point


@FAST
@given(json_like)
def test_from_dict_arbitrary_values(value: Any) -> None:
    survive(lambda: ha.Inventory.from_dict(value))


@FAST
@given(mutated_inventory())
def test_from_dict_mutated_inventories(d: Any) -> None:
    inv = survive(lambda: ha.Inventory.from_dict(d))
    if inv is not None:
        # Whatever is accepted works end to end (a cluster may have no host at all).
        survive(lambda: ha.plan_failover(inv, [inv.hosts[0].id] if inv.hosts else []))
        ha.admission_control(inv)
        assert ha.Inventory.from_dict(inv.to_dict()) == inv


@FAST
@given(st.text(max_size=300) | mutated_inventory().map(lambda d: json.dumps(d, allow_nan=True)))
@example("[" * 100_000)
@example('{"hosts": [], "\ud800": 1}')
@example('{"hosts": [{"id": "h", "cpu_mhz": 1e400, "memory_mb": 1}]}')
def test_from_json_arbitrary_text(text: str) -> None:
    survive(lambda: ha.Inventory.from_json(text))


@FAST
@given(st.binary(max_size=200))
@example(b"\xff\xfe{}")
def test_from_json_and_yaml_arbitrary_bytes(data: bytes) -> None:
    survive(lambda: ha.Inventory.from_json(data))
    survive(lambda: ha.Inventory.from_yaml(data))


@FAST
@given(st.text(max_size=300) | mutated_inventory().map(lambda d: json.dumps(d, allow_nan=True, indent=1)))
@example("[" * 100_000)
@example("a: &a [x, x]\nb: &b [*a, *a]\n")
@example("!!binary aGVsbG8=")
@example("? [a, b]\n: c\n")
@example("hosts: .nan")
def test_from_yaml_arbitrary_text(text: str) -> None:
    survive(lambda: ha.Inventory.from_yaml(text))


@SOME
@given(
    st.one_of(mutated_inventory(), json_like).filter(lambda i: not isinstance(i, str)),
    fault_lists,
    st.none() | st.floats(allow_nan=True, allow_infinity=True) | st.integers(-5, 4000) | st.text(max_size=3),
)
def test_simulation_from_scenario_arbitrary(inventory: Any, events: Any, until: Any) -> None:
    # (An inventory given as a string is a file path: not something to fuzz from here.)
    sim = survive(lambda: ha.Simulation.from_scenario({"inventory": inventory, "events": events, "until": until}))
    if sim is not None:
        sim.run(until=600)
        assert sim._core.check_consistency() is None


@FAST
@given(fault_lists)
def test_simulation_apply_arbitrary(events: Any) -> None:
    sim = ha.Simulation(LAB)
    def apply() -> bool:
        sim.apply(events)
        return True

    applied = survive(apply)
    sim.run(until=900)
    assert sim._core.check_consistency() is None
    if applied is None:
        # A rejected list applies nothing: the run equals a run without faults.
        quiet = ha.Simulation(LAB)
        quiet.run(until=900)
        assert sim.timeline == quiet.timeline


@FAST
@given(st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-(2**70), 2**70)))
def test_simulation_run_arbitrary_times(until: float) -> None:
    sim = ha.Simulation(LAB)
    sim.fail_host("host-21", at=0)
    if isinstance(until, float) and math.isfinite(until) and 0 <= until:
        until = min(until, 4000.0)  # a finite horizon: the point is the validation
    elif isinstance(until, int) and 0 <= until:
        until = min(until, 4000)
    survive(lambda: sim.run(until=until))


@FAST
@given(st.dictionaries(st.sampled_from(FIELDS) | st.text(max_size=6),
                       st.sampled_from(LAB_HOSTS + LAB_VMS + LAB_DS) | json_like, max_size=8))
@example({"id": "vm-119", "host": "host-22"})
@example({"id": "new", "host": "host-22", "home_datastore": "datastore-11", "cpu_reservation_mhz": 2**53})
def test_check_power_on_arbitrary(vm_doc: dict[str, Any]) -> None:
    survive(lambda: ha.check_power_on(LAB, vm_doc))
    survive(lambda: ha.check_migrate_in(LAB, vm_doc))


@FAST
@given(st.lists(st.sampled_from(LAB_HOSTS) | st.text(max_size=6), max_size=5),
       st.lists(st.sampled_from(LAB_HOSTS) | st.text(max_size=6), max_size=3))
def test_plan_and_admission_arbitrary_host_lists(failed: list[str], isolated: list[str]) -> None:
    survive(lambda: ha.plan_failover(LAB, failed, isolated))
    survive(lambda: ha.admission_control(LAB, failed))
    survive(lambda: ha.heartbeat_datastores(LAB, failed))
    survive(lambda: ha.elect(LAB, hosts=failed or None))


@FAST
@given(st.sampled_from(LAB_VMS) | st.text(max_size=6),
       st.none() | st.integers(-(2**70), 2**70), st.none() | st.integers(-(2**70), 2**70))
def test_check_reservation_change_arbitrary(vm_id: str, cpu: int | None, mem: int | None) -> None:
    try:
        survive(lambda: ha.check_reservation_change(LAB, vm_id, cpu, mem))
    except OverflowError:
        pass  # an int beyond 64 bits for an int parameter: Python's own conversion error


# ------------------------------------------------------------------ order of the input does not matter


def shuffled(d: dict[str, Any], rnd: random.Random) -> dict[str, Any]:
    out = copy.deepcopy(d)
    for key in ("hosts", "vms", "datastores"):
        rnd.shuffle(out[key])
    return out


@st.composite
def rich_inventories(draw: st.DrawFn) -> dict[str, Any]:
    """inventories() plus rules, networks and an admission policy of any kind."""
    d = draw(inventories(max_hosts=6, max_vms=20))
    host_ids = [h["id"] for h in d["hosts"]]
    vm_ids = [v["id"] for v in d["vms"]]
    if len(vm_ids) >= 2:
        for i in range(draw(st.integers(0, 3))):
            kind = draw(st.sampled_from(["vmAntiAffinity", "vmHostMust", "vmHostMustNot", "vmHostShould"]))
            vms_ = draw(st.lists(st.sampled_from(vm_ids), min_size=2, max_size=4, unique=True))
            rule: dict[str, Any] = {"type": kind, "name": f"r{i}", "vms": vms_}
            if kind != "vmAntiAffinity":
                rule["hosts"] = draw(st.lists(st.sampled_from(host_ids), min_size=1, unique=True))
            d["rules"].append(rule)
    d["cluster"]["admission_control"] = draw(st.sampled_from([
        {"policy": "slot", "host_failures": 1},
        {"policy": "slot", "host_failures": 2, "slot_cpu_mhz": 500, "slot_memory_mb": 1024},
        {"policy": "percentage", "cpu_percent": 25, "memory_percent": 30},
        {"policy": "failoverHosts", "hosts": [host_ids[-1]]},
        {"policy": "disabled"},
    ]))
    d["cluster"]["advanced_options"] = {"das.respectVmVmAntiAffinityRules": draw(st.sampled_from(["true", "false"]))}
    return d


def normalized(report: ha.AdmissionReport) -> ha.AdmissionReport:
    # counted_hosts is listed in inventory order by design; everything else must not move.
    return dataclasses.replace(report, counted_hosts=tuple(sorted(report.counted_hosts)))


@SOME
@given(rich_inventories(), st.randoms(use_true_random=False), st.data())
def test_plan_and_admission_ignore_input_order(d: dict[str, Any], rnd: random.Random, data: st.DataObject) -> None:
    inv = ha.Inventory.from_dict(d)
    other = ha.Inventory.from_dict(shuffled(d, rnd))
    ids = [h.id for h in inv.hosts]
    failed = data.draw(st.lists(st.sampled_from(ids), max_size=2, unique=True))
    isolated = data.draw(st.lists(st.sampled_from(ids), max_size=1, unique=True))
    a, b = ha.plan_failover(inv, failed, isolated), ha.plan_failover(other, failed, isolated)
    assert a.placements == b.placements
    assert a.unplaced == b.unplaced
    assert a.not_restarted == b.not_restarted
    for v in inv.vms:
        assert a.explain(v.id) == b.explain(v.id)
    assert normalized(ha.admission_control(inv)) == normalized(ha.admission_control(other))
    assert normalized(ha.admission_control(inv, failed)) == normalized(ha.admission_control(other, failed))


# ------------------------------------------------------------------ admission control and placement agree


@st.composite
def slot_clusters(draw: st.DrawFn, shared_datastores: bool) -> dict[str, Any]:
    """Small, fairly full clusters under the slot policy computed from the VMs: no fixed slot,
    no slot caps, no rules, no networks, no FT VMs. Hosts reach every datastore when
    ``shared_datastores``, a random non-empty subset otherwise."""
    datastores = [f"ds-{i}" for i in range(draw(st.integers(1, 3)))]
    hosts = []
    for i in range(draw(st.integers(2, 6))):
        ds = datastores if shared_datastores else draw(
            st.lists(st.sampled_from(datastores), min_size=1, unique=True))
        hosts.append(host(f"host-{i}", cpu=draw(st.integers(500, 12000)), mem=draw(st.integers(512, 16384)),
                          ds=tuple(ds), maintenance=i > 0 and draw(st.integers(0, 9)) == 0))
    running = [h for h in hosts if not h["maintenance"]]
    vms = []
    for i in range(draw(st.integers(0, 24))):
        h = draw(st.sampled_from(running))
        on = draw(st.integers(0, 5)) > 0
        vms.append(vm(f"vm-{i}", h["id"] if on else None,
                      cpu=draw(st.integers(0, min(h["cpu_mhz"], 3000))),
                      mem=draw(st.integers(0, min(h["memory_mb"], 4096) - 64)) if h["memory_mb"] > 64 else 0,
                      overhead=draw(st.sampled_from([0, 16, 64])),
                      ds=draw(st.sampled_from(h["datastores"])),
                      restart_priority=draw(st.sampled_from(["medium", "high", "disabled", "lowest"]))))
    options = {}
    if draw(st.booleans()):
        options["das.vmCpuMinMHz"] = str(draw(st.sampled_from([0, 32, 256, 1000])))
    if draw(st.booleans()):
        options["das.vmMemoryMinMB"] = str(draw(st.sampled_from([0, 256, 2048])))
    version = draw(st.sampled_from(["5.0", "5.5", "6.0", "6.5", "7.0", "8.0"]))
    cluster = {"name": "slots", "version": version, "advanced_options": options,
               "admission_control": {"policy": "slot", "host_failures": draw(st.integers(0, 2))}}
    return doc(hosts, vms, cluster=cluster, datastores=datastores)


def largest_host(report: ha.AdmissionReport) -> str:
    """The host admission control loses first: most slots, ties by the smaller id (bytewise)."""
    return min(report.host_slots, key=lambda h: (-report.host_slots[h], h.encode()))


def slot_disagreements(inv: ha.Inventory) -> tuple[ha.FailoverPlan, list[ha.Unplaced]] | None:
    report = ha.admission_control(inv)
    if report.policy != ha.AdmissionPolicy.SLOT or (report.current_failover_level or 0) < 1 or not report.host_slots:
        return None
    plan = ha.plan_failover(inv, [largest_host(report)])
    return plan, [u for u in plan.unplaced if u.reason == ha.UnplacedReason.INSUFFICIENT_RESOURCES]


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(slot_clusters(shared_datastores=True))
def test_slot_policy_and_placement_agree(d: dict[str, Any]) -> None:
    """Slot level ≥ 1 ⇒ losing the largest host leaves nothing unplaced for capacity. Why: each
    restarted VM reserves at most one slot; a host with s slots running n < s VMs has ≥ s − n
    slots unreserved in both dimensions; level ≥ 1 means the other hosts' Σ(s − n) covers the
    failed host's VMs; and a placement uses at most one such slot, so a host with a free slot
    remains for every VM, whatever host the R-PLACE-3 choice takes."""
    outcome = slot_disagreements(ha.Inventory.from_dict(d))
    if outcome is not None:
        plan, bad = outcome
        assert not bad, plan.text()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(slot_clusters(shared_datastores=False))
def test_slot_policy_and_placement_disagree_only_over_datastores(d: dict[str, Any]) -> None:
    """With hosts on different datastores the slot policy can promise what placement cannot
    keep — but only then: every VM unplaced for capacity has some usable host that refused it
    because that host does not reach one of its datastores (where the free slots are)."""
    outcome = slot_disagreements(ha.Inventory.from_dict(d))
    if outcome is not None:
        plan, bad = outcome
        for u in bad:
            assert "datastoreNotConnected" in u.codes.values(), (u, plan.text())


def test_slot_policy_and_placement_disagree_when_datastores_are_not_shared() -> None:
    """The precise disagreement: slot policy 1 slot of 4096 MB; host-a (2 slots, running vm-1
    and vm-2) is lost first; host-b has 2 free slots but not datastore ds-2 that vm-2 lives on;
    host-c reaches ds-2 but is full. Admission control says one host failure is tolerated
    (2 used of 4 left), placement finds no room for vm-2: the deepest refusal is capacity on
    host-c, while host-b refuses at the datastore stage."""
    d = doc(
        [host("host-a", cpu=8000, mem=8192, ds=("ds-1", "ds-2")),
         host("host-b", cpu=8000, mem=8192, ds=("ds-1",)),
         host("host-c", cpu=8000, mem=4096, ds=("ds-1", "ds-2"))],
        [vm("vm-1", "host-a", mem=4096), vm("vm-2", "host-a", mem=4096, ds="ds-2"),
         vm("vm-3", "host-c", mem=4096)],
        cluster={"name": "t", "version": "6.0", "admission_control": {"policy": "slot", "host_failures": 1}},
        datastores=["ds-1", "ds-2"],
    )
    inv = ha.Inventory.from_dict(d)
    report = ha.admission_control(inv)
    assert report.current_failover_level == 1 and report.host_slots == {"host-a": 2, "host-b": 2, "host-c": 1}
    assert largest_host(report) == "host-a"
    plan = ha.plan_failover(inv, ["host-a"])
    assert [p.vm for p in plan.placements] == ["vm-1"]
    (u,) = plan.unplaced
    assert (u.vm, u.reason) == ("vm-2", ha.UnplacedReason.INSUFFICIENT_RESOURCES)
    assert u.codes == {"host-a": "failed", "host-b": "datastoreNotConnected", "host-c": "insufficientResources"}


@pytest.mark.parametrize("option", ["das.slotMemInMB", None])
def test_slot_caps_break_the_agreement(option: str | None) -> None:
    """Why caps and fixed slots are excluded: a VM larger than a capped slot needs several
    slots, which a host may have in total but not in one place. Without the cap the level is
    honest (0 here)."""
    options = {option: "1024"} if option else {}
    d = doc(
        [host("host-a", cpu=8000, mem=4096), host("host-b", cpu=8000, mem=3072), host("host-c", cpu=8000, mem=3072)],
        [vm("big", "host-a", mem=4096), vm("s1", "host-b", mem=1024), vm("s2", "host-c", mem=1024)],
        cluster={"name": "t", "version": "6.0", "advanced_options": options,
                 "admission_control": {"policy": "slot", "host_failures": 1}},
    )
    inv = ha.Inventory.from_dict(d)
    report = ha.admission_control(inv)
    plan = ha.plan_failover(inv, [largest_host(report)])
    if option:
        assert report.current_failover_level == 1
        assert [(u.vm, u.reason) for u in plan.unplaced] == [("big", ha.UnplacedReason.INSUFFICIENT_RESOURCES)]
    else:
        assert report.current_failover_level == 0


def test_lone_surrogates_and_bad_bytes_are_inventory_errors() -> None:
    with pytest.raises(ha.InventoryError, match="not UTF-8"):
        ha.Inventory.from_json(b"\xff{}")
    with pytest.raises(ha.InventoryError, match="not valid text"):
        ha.Inventory.from_yaml("hosts: ['\ud800']")
    with pytest.raises(ha.InventoryError, match="lone surrogate"):
        ha.Inventory.from_dict({"hosts": [{"id": "\udc80", "cpu_mhz": 1, "memory_mb": 1}]})


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 12), st.integers(0, 3000), st.integers(0, 2**64 - 1),
       st.sampled_from(["5.0", "5.1", "5.5", "6.0", "6.5", "6.7", "7.0", "8.0"]))
def test_generate_inventory_any_small_arguments(hosts: int, vms: int, seed: int, version: str) -> None:
    inv = ha.generate_inventory(hosts=hosts, vms=vms, seed=seed, version=version)
    assert inv.summary()["hosts"] == hosts and inv.summary()["vms"] == vms
    # What the generator makes is valid input, and the engines take it.
    assert ha.Inventory.from_json(inv.to_json()) == inv
    if hosts:
        ha.plan_failover(inv, [inv._core.host_ids()[0]])
    ha.admission_control(inv)
