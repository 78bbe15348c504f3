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
