"""Fuzz target: scenarios and fault lists → the simulation on its virtual clock.

    python fuzz/python/scenarios.py [libFuzzer flags] [corpus dirs or files]

Three ways in, all from one input:

1. When the input is a JSON object it is taken as a scenario as it is (an ``inventory`` given as
   a path is replaced by the example inventory: no file access from fuzzed data).
2. Always: ``atheris.FuzzedDataProvider`` picks a valid scenario (examples/scenarios/*, with
   their inventories inlined), mutates it (replaces, adds, deletes places anywhere; adds fault
   events of every type with fuzzed fields) → ``Simulation.from_scenario(d)``.
3. ``Simulation(lab).apply(fuzzed events)`` and the typed fault methods (``fail_host``,
   ``isolate_host``, ``partition``, ``datastore_apd`` …) with fuzzed ids and times.

Only HaPolicyError subclasses (not InternalError) may escape. A simulation that was built runs
to a small horizon (≤ 1200 s of virtual time) and must then pass the core's
``check_consistency()``; a fault list that ``apply`` rejects applies nothing (the run equals a
run without faults); the timeline, states, ``fork`` and ``repr`` must work.
"""

from __future__ import annotations

import copy
import json
import math
from pathlib import Path
from typing import Any

import atheris

with atheris.instrument_imports(include=["hapolicy"]):
    import hapolicy as ha

import _harness as H

LAB_DOC: dict[str, Any] = json.loads((H.EXAMPLES / "lab.json").read_text(encoding="utf-8"))
LAB = ha.Inventory.from_dict(LAB_DOC)
LAB_HOSTS = [h.id for h in LAB.hosts]
LAB_VMS = [v.id for v in LAB.vms]
LAB_DS = [d.id for d in LAB.datastores]
QUIET_UNTIL = 900.0


def _scenario(path: Path) -> dict[str, Any]:
    d = json.loads(path.read_text(encoding="utf-8"))
    if isinstance(d.get("inventory"), str):
        d["inventory"] = json.loads((path.parent / d["inventory"]).read_text(encoding="utf-8"))
    return d


BASES: list[dict[str, Any]] = [_scenario(p) for p in sorted((H.EXAMPLES / "scenarios").glob("*.json"))] + [
    {"inventory": json.loads((H.EXAMPLES / "availability_guide.json").read_text(encoding="utf-8")),
     "events": [], "until": 600},
]

FAULT_TYPES = ["host_failure", "host_recovery", "isolation", "agent_failure", "partition", "power_outage",
               "datastore_apd", "datastore_pdl", "guest_heartbeat_loss", "power_on_failure",
               "vcenter_unavailable", "nonsense"]
FAULT_KEYS = ["at", "until", "restore_at", "host", "vm", "datastore", "hosts", "groups", "attempts", "extra"]


def _quiet() -> ha.Timeline:
    sim = ha.Simulation(LAB)
    sim.run(until=QUIET_UNTIL)
    return sim.timeline


QUIET = _quiet()


def fault_value(fdp: atheris.FuzzedDataProvider) -> Any:
    choice = fdp.ConsumeIntInRange(0, 6)
    if choice == 0:
        return fdp.PickValueInList(LAB_HOSTS + LAB_VMS + LAB_DS)
    if choice == 1:
        return fdp.ConsumeFloatInRange(-10.0, 5000.0)
    if choice == 2:
        return [fdp.PickValueInList(LAB_HOSTS) for _ in range(fdp.ConsumeIntInRange(0, 4))]
    if choice == 3:
        return [[fdp.PickValueInList(LAB_HOSTS) for _ in range(fdp.ConsumeIntInRange(0, 3))]
                for _ in range(fdp.ConsumeIntInRange(0, 3))]
    if choice == 4:
        return H.number(fdp)
    return H.json_like(fdp)


# The fields each fault type takes (src/sim/scenario.rs FAULT_TYPES).
FAULT_FIELDS: dict[str, list[str]] = {
    "host_failure": ["at", "host"], "host_recovery": ["at", "host"], "isolation": ["at", "host", "until"],
    "agent_failure": ["at", "host", "until"], "partition": ["at", "groups", "until"],
    "power_outage": ["at", "restore_at", "until"], "datastore_apd": ["at", "datastore", "until", "hosts"],
    "datastore_pdl": ["at", "datastore", "hosts"], "guest_heartbeat_loss": ["at", "vm"],
    "power_on_failure": ["at", "vm", "attempts"], "vcenter_unavailable": ["at", "until"],
}


OPTIONAL_FIELDS = {"until", "restore_at", "hosts", "attempts"}


def good_value(fdp: atheris.FuzzedDataProvider, key: str, at: float) -> Any:
    if key == "at":
        return fdp.ConsumeFloatInRange(0.0, 900.0)
    if key in ("until", "restore_at"):
        return at + fdp.ConsumeFloatInRange(0.0, 900.0)
    if key == "host":
        return fdp.PickValueInList(LAB_HOSTS)
    if key == "vm":
        return fdp.PickValueInList(LAB_VMS)
    if key == "datastore":
        return fdp.PickValueInList(LAB_DS)
    if key == "hosts":
        return sorted({fdp.PickValueInList(LAB_HOSTS) for _ in range(fdp.ConsumeIntInRange(1, 3))})
    if key == "groups":
        return [[h for h in LAB_HOSTS if fdp.ConsumeBool()] for _ in range(fdp.ConsumeIntInRange(1, 3))]
    if key == "attempts":
        return fdp.ConsumeIntInRange(0, 6)
    raise AssertionError(key)


def fault(fdp: atheris.FuzzedDataProvider) -> Any:
    if fdp.ConsumeIntInRange(0, 15) == 0:
        return H.json_like(fdp)
    if fdp.ConsumeIntInRange(0, 3):
        # A well-formed fault (a fault of the right shape with ids of the lab), often with optional
        # fields left out, sometimes one value replaced.
        kind = fdp.PickValueInList(list(FAULT_FIELDS))
        ev = {"type": kind}
        at = 0.0
        for key in FAULT_FIELDS[kind]:
            if key not in OPTIONAL_FIELDS or fdp.ConsumeBool():
                ev[key] = good_value(fdp, key, at)
                if key == "at":
                    at = ev[key]
        if fdp.ConsumeIntInRange(0, 7) == 0:
            ev[fdp.PickValueInList(FAULT_KEYS)] = fault_value(fdp)
        return ev
    ev: dict[str, Any] = {"type": fdp.PickValueInList(FAULT_TYPES) if fdp.ConsumeIntInRange(0, 7) else H.json_like(fdp)}
    for key in FAULT_KEYS:
        if fdp.ConsumeIntInRange(0, 2) == 0:
            ev[key] = fault_value(fdp)
    return ev


def fault_list(fdp: atheris.FuzzedDataProvider) -> Any:
    if fdp.ConsumeIntInRange(0, 9) == 0:
        return H.json_like(fdp)
    return [fault(fdp) for _ in range(fdp.ConsumeIntInRange(0, 6))]


def horizon(fdp: atheris.FuzzedDataProvider) -> float:
    return fdp.ConsumeFloatInRange(0.0, 1200.0)


def run_scenario(scenario: Any, fdp: atheris.FuzzedDataProvider) -> None:
    sim = H.survive(lambda: ha.Simulation.from_scenario(scenario))
    if sim is None:
        return
    tl = sim.run(until=horizon(fdp))
    H.check(sim._core.check_consistency() is None, "check_consistency() after run")
    times = [e.time for e in tl]
    H.check(times == sorted(times), "events out of time order")
    tl.text()
    repr(tl)
    json.dumps(tl.to_records(), allow_nan=False)
    sim.host_states()
    sim.vm_states()
    repr(sim)
    other = sim.fork()
    later = sim.now + fdp.ConsumeFloatInRange(0.0, 300.0)
    a, b = sim.run(until=later), other.run(until=later)
    H.check(a == b, "a fork runs differently")


def typed_faults(fdp: atheris.FuzzedDataProvider) -> None:
    """The Simulation methods with fuzzed ids, times and horizons (right types, any values)."""
    sim = ha.Simulation(LAB)
    ids = LAB_HOSTS + LAB_VMS + LAB_DS
    for _ in range(fdp.ConsumeIntInRange(0, 4)):
        ident = fdp.PickValueInList(ids) if fdp.ConsumeIntInRange(0, 3) else H.text(fdp)
        at = float(H.number(fdp)) if fdp.ConsumeIntInRange(0, 3) == 0 else fdp.ConsumeFloatInRange(0.0, 600.0)
        until = None if fdp.ConsumeBool() else (float(H.number(fdp)) if fdp.ConsumeBool() else at + 100.0)
        hosts = None if fdp.ConsumeBool() else [fdp.PickValueInList(LAB_HOSTS) for _ in range(fdp.ConsumeIntInRange(0, 3))]
        what = fdp.ConsumeIntInRange(0, 10)
        calls = [
            lambda: sim.fail_host(ident, at),
            lambda: sim.recover_host(ident, at),
            lambda: sim.fail_agent(ident, at, until),
            lambda: sim.isolate_host(ident, at, until),
            lambda: sim.partition([hosts or [], [ident]], at, until),
            lambda: sim.power_outage(at, until),
            lambda: sim.datastore_apd(ident, at, until, hosts),
            lambda: sim.datastore_pdl(ident, at, hosts),
            lambda: sim.guest_heartbeat_loss(ident, at),
            lambda: sim.power_on_failure(ident, H.number(fdp) if fdp.ConsumeIntInRange(0, 3) == 0 else fdp.ConsumeIntInRange(-2, 5)),
            lambda: sim.vcenter_unavailable(at, until),
        ]
        H.survive(calls[what])
    until = float(H.number(fdp)) if fdp.ConsumeIntInRange(0, 3) == 0 else horizon(fdp)
    if math.isfinite(until) and until > 1200.0:
        until = 1200.0  # a finite horizon: the point is the validation
    H.survive(lambda: sim.run(until=until))
    H.check(sim._core.check_consistency() is None, "check_consistency() after typed faults")


def apply_events(fdp: atheris.FuzzedDataProvider) -> None:
    sim = ha.Simulation(LAB)
    events = fault_list(fdp)

    def apply() -> bool:
        sim.apply(events)
        return True

    applied = H.survive(apply)
    sim.run(until=QUIET_UNTIL)
    H.check(sim._core.check_consistency() is None, "check_consistency() after apply")
    if applied is None:
        H.check(sim.timeline == QUIET, "a rejected fault list changed the run")


def test_one_input(data: bytes) -> None:
    fdp = atheris.FuzzedDataProvider(data)
    # 1. The input itself as a scenario.
    if data[:1] == b"{":
        try:
            value = json.loads(data.decode("utf-8"))
        except (ValueError, RecursionError):
            value = None
        if isinstance(value, dict):
            if isinstance(value.get("inventory"), str):
                value["inventory"] = copy.deepcopy(LAB_DOC)
            run_scenario(value, fdp)
        return
    # 2. A valid scenario, mutated.
    scenario = copy.deepcopy(fdp.PickValueInList(BASES))
    events = scenario["events"]
    for _ in range(fdp.ConsumeIntInRange(0, 4)):
        events.append(fault(fdp))
    H.mutate(fdp, scenario, max(0, fdp.ConsumeIntInRange(-4, 4)))  # half the time: no mutation
    if fdp.ConsumeIntInRange(0, 3) == 0:
        scenario["until"] = H.json_like(fdp)
    if isinstance(scenario.get("inventory"), str):
        scenario["inventory"] = copy.deepcopy(LAB_DOC)  # no file access from fuzzed data
    run_scenario(scenario, fdp)
    # 3. Fault lists and typed faults on the example inventory.
    if fdp.ConsumeBool():
        apply_events(fdp)
    else:
        typed_faults(fdp)


def main() -> None:
    H.run("scenarios", test_one_input, [H.EXAMPLES / "scenarios"], use_dict=True,
          defaults=["-max_len=2048", "-len_control=0"])


if __name__ == "__main__":
    main()
