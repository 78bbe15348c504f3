"""Properties over generated inventories (hypothesis)."""

from __future__ import annotations

import json
import pickle
import random
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

import hapolicy as ha

from .strategies import inventories


@settings(max_examples=60, deadline=None)
@given(inventories())
def test_round_trips(doc: dict[str, Any]) -> None:
    inv = ha.Inventory.from_dict(doc)
    assert ha.Inventory.from_dict(inv.to_dict()) == inv
    assert ha.Inventory.from_json(inv.to_json()) == inv
    assert ha.Inventory.from_yaml(json.dumps(inv.to_dict())) == inv
    assert pickle.loads(pickle.dumps(inv)) == inv
    # Every id survives, in order.
    assert [h.id for h in inv.hosts] == [h["id"] for h in doc["hosts"]]
    assert [v.id for v in inv.vms] == [v["id"] for v in doc["vms"]]


@settings(max_examples=60, deadline=None)
@given(inventories(), st.randoms(use_true_random=False))
def test_election_ignores_input_order(doc: dict[str, Any], rnd: random.Random) -> None:
    inv = ha.Inventory.from_dict(doc)
    shuffled = dict(doc, hosts=rnd.sample(doc["hosts"], len(doc["hosts"])))
    a, b = ha.elect(inv), ha.elect(ha.Inventory.from_dict(shuffled))
    assert a.ranking == b.ranking and a.master == b.master


@settings(max_examples=60, deadline=None)
@given(inventories())
def test_election_ranking_is_the_spec_order(doc: dict[str, Any]) -> None:
    inv = ha.Inventory.from_dict(doc)
    eligible = [h for h in inv.hosts if not h.maintenance]
    # R-ELECT-1 written as a sort key: set goodness first, larger goodness, more datastores,
    # larger id as bytes.
    def key(h: ha.Host) -> tuple[int, int, int, bytes]:
        return (h.goodness is not None, h.goodness or 0, len(h.datastores), h.id.encode())
    expected = [h.id for h in sorted(eligible, key=key, reverse=True)]
    assert ha.elect(inv).ranking == expected


@settings(max_examples=40, deadline=None)
@given(inventories(max_vms=15), st.data())
def test_failover_level_never_rises_when_a_vm_is_added(doc: dict[str, Any], data: st.DataObject) -> None:
    doc = dict(doc, cluster=dict(doc["cluster"], admission_control={"policy": "slot", "host_failures": 1}))
    inv = ha.Inventory.from_dict(doc)
    running = [h for h in doc["hosts"] if not h["maintenance"]]
    h = data.draw(st.sampled_from(running))
    extra = {"id": "vm-new", "host": h["id"], "power_state": "poweredOn",
             "cpu_reservation_mhz": data.draw(st.integers(0, min(h["cpu_mhz"], 4000))),
             "memory_reservation_mb": data.draw(st.integers(0, 2048)), "home_datastore": h["datastores"][0]}
    more = ha.Inventory.from_dict(dict(doc, vms=[*doc["vms"], extra]))
    before, after = ha.admission_control(inv), ha.admission_control(more)
    assert before.current_failover_level is not None and after.current_failover_level is not None
    assert after.current_failover_level <= before.current_failover_level
    # The what-if check agrees with evaluating the grown inventory.
    assert ha.check_power_on(inv, extra).after["current_failover_level"] == after.current_failover_level


@settings(max_examples=40, deadline=None)
@given(inventories(max_vms=15), st.randoms(use_true_random=False))
def test_admission_report_ignores_input_order(doc: dict[str, Any], rnd: random.Random) -> None:
    for policy in ({"policy": "slot", "host_failures": 1}, {"policy": "percentage", "cpu_percent": 20, "memory_percent": 30}):
        d = dict(doc, cluster=dict(doc["cluster"], admission_control=policy))
        shuffled = dict(d, hosts=rnd.sample(d["hosts"], len(d["hosts"])), vms=rnd.sample(d["vms"], len(d["vms"])))
        a, b = ha.admission_control(ha.Inventory.from_dict(d)), ha.admission_control(ha.Inventory.from_dict(shuffled))
        assert a.current_failover_level == b.current_failover_level and a.host_slots == b.host_slots
        assert a.cpu_failover_percent == b.cpu_failover_percent and a.satisfied == b.satisfied
        if a.cpu_failover_percent is not None:
            assert a.cpu_failover_percent <= 100 and a.memory_failover_percent is not None
            assert a.memory_failover_percent <= 100
