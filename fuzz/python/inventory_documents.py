"""Fuzz target: bytes → inventory documents → every engine entry point.

    python fuzz/python/inventory_documents.py [libFuzzer flags] [corpus dirs or files]

The input is read as JSON (``Inventory.from_json``, bytes and decoded text — both must agree),
as YAML (``Inventory.from_yaml``) and, when it parses as JSON, as plain data
(``Inventory.from_dict``). The same bytes also drive an ``atheris.FuzzedDataProvider`` that
replaces, adds or deletes a few places of a valid document (examples/lab.json,
examples/availability_guide.json, tests/invalid/49_baseline_valid.json), given to ``from_dict``
and, as JSON text, to ``from_json`` and ``from_yaml``: ``from_dict`` and ``from_json`` must agree.
Only HaPolicyError subclasses (not InternalError) may escape. Every inventory accepted must:

* round-trip: ``from_dict(inv.to_dict()) == inv``, ``from_json(inv.to_json()) == inv`` (also
  indented), pickling, and ``inv.replace(...)`` with its own value objects (the Python views
  ``hosts``/``vms``/``datastores``/``rules``/``config`` go back in unchanged);
* answer ``summary()``, ``repr``, ``_repr_html_``, ``warnings``, ``options``, ``host()``/``vm()``/
  ``datastore()`` for each id (and ``UnknownIdError`` for an unknown one);
* be accepted by ``elect``, ``admission_control``, ``heartbeat_datastores``,
  ``plan_failover(inv, [first host])`` (+ ``explain`` of a few VMs), ``check_power_on`` of a VM,
  with their ``to_dict``/``str`` — results JSON-serialisable.
"""

from __future__ import annotations

import copy
import json
import pickle
from typing import Any

import atheris

with atheris.instrument_imports(include=["hapolicy"]):
    import hapolicy as ha

import _harness as H


def exercise(inv: ha.Inventory) -> None:
    """Everything a valid inventory must support."""
    d = inv.to_dict()
    H.check(ha.Inventory.from_dict(d) == inv, "from_dict(to_dict()) != inv")
    json.dumps(d, allow_nan=False)  # plain JSON data
    H.check(ha.Inventory.from_json(inv.to_json()) == inv, "from_json(to_json()) != inv")
    H.check(ha.Inventory.from_json(inv.to_json(indent=2)) == inv, "from_json(to_json(2)) != inv")
    H.check(pickle.loads(pickle.dumps(inv)) == inv, "pickle round trip")
    hash(inv)
    summary = inv.summary()
    H.check(summary["hosts"] == len(inv.hosts) and summary["vms"] == len(inv.vms), "summary counts")
    repr(inv)
    inv._repr_html_()
    inv.warnings
    inv.options
    cfg = inv.config
    # The Python value objects go back in unchanged.
    again = inv.replace(hosts=inv.hosts, vms=inv.vms, datastores=inv.datastores, rules=inv.rules, config=cfg)
    H.check(again == inv, "inv.replace(<its own value objects>) != inv")
    for h in inv.hosts[:3]:
        H.check(inv.host(h.id) == h, f"inv.host({h.id!r})")
    for v in inv.vms[:3]:
        H.check(inv.vm(v.id) == v, f"inv.vm({v.id!r})")
    for s in inv.datastores[:3]:
        H.check(inv.datastore(s.id) == s, f"inv.datastore({s.id!r})")
    try:
        inv.host("\x00no such host")
        raise H.Violation("inv.host(unknown) did not raise")
    except ha.UnknownIdError:
        pass

    e = ha.elect(inv)
    e.explain()
    json.dumps(e.to_dict())
    repr(e)
    r = ha.admission_control(inv)
    str(r)
    json.dumps(r.to_dict())
    r.to_records()
    hb = ha.heartbeat_datastores(inv)
    str(hb)
    json.dumps(hb.to_dict())
    if inv.hosts:
        first = inv.hosts[0].id
        plan = ha.plan_failover(inv, [first])
        plan.text()
        repr(plan)
        json.dumps(plan.to_dict())
        plan.to_records()
        for v in inv.vms[:4]:
            plan.explain(v.id)
        H.survive(lambda: ha.admission_control(inv, [first]))
        H.survive(lambda: ha.elect(inv, hosts=[h.id for h in inv.hosts[1:]]))
    if inv.vms:
        vm = inv.vms[-1]
        H.survive(lambda: ha.check_power_on(inv, vm))
        H.survive(lambda: ha.check_migrate_in(inv, vm.to_dict()))
        H.survive(lambda: ha.check_reservation_change(inv, vm.id, 0, 0))


BASES: list[Any] = [
    json.loads(p.read_text(encoding="utf-8"))
    for p in (H.EXAMPLES / "lab.json", H.EXAMPLES / "availability_guide.json", H.INVALID / "49_baseline_valid.json")
]


def structured(data: bytes) -> None:
    """A valid document with a few places replaced, added or deleted (the bytes choose which),
    as plain data and as JSON text: both ways in must agree."""
    fdp = atheris.FuzzedDataProvider(data)
    doc = copy.deepcopy(fdp.PickValueInList(BASES))
    H.mutate(fdp, doc, fdp.ConsumeIntInRange(1, 4))
    from_dict = H.survive(lambda: ha.Inventory.from_dict(doc))
    try:
        text = json.dumps(doc, allow_nan=True)
    except (ValueError, RecursionError):  # (defensive: json.dumps refusing a value)
        text = None
    if text is not None:
        from_json = H.survive(lambda: ha.Inventory.from_json(text))
        H.survive(lambda: ha.Inventory.from_yaml(text))
        H.check((from_dict is None) == (from_json is None) and from_dict == from_json,
                f"from_dict and from_json disagree on the same document: {from_dict!r} vs {from_json!r}")
    if from_dict is not None:
        exercise(from_dict)


def test_one_input(data: bytes) -> None:
    structured(data)
    accepted: list[ha.Inventory] = []
    from_bytes = H.survive(lambda: ha.Inventory.from_json(data))
    for inv in (from_bytes, H.survive(lambda: ha.Inventory.from_yaml(data))):
        if inv is not None:
            accepted.append(inv)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    if text is not None:
        from_text = H.survive(lambda: ha.Inventory.from_json(text))
        H.check(from_text == from_bytes, "from_json(bytes) and from_json(bytes.decode()) disagree")
        try:
            value = json.loads(text)
        except (ValueError, RecursionError):
            value = None
        else:
            from_dict = H.survive(lambda: ha.Inventory.from_dict(value))
            if from_dict is not None:
                accepted.append(from_dict)
    for inv in accepted[:2]:
        exercise(inv)


def main() -> None:
    H.run("inventory_documents", test_one_input, [H.EXAMPLES, H.INVALID], use_dict=True)


if __name__ == "__main__":
    main()
