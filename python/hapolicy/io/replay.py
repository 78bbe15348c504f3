"""Incident replay: did vSphere HA do what it should have — and if not, why?

>>> r = hapolicy.io.replay(si, cluster="prod-a", start=t0, end=t1)      # doctest: +SKIP
>>> r = hapolicy.io.replay_events(inv, "events.json")                  # doctest: +SKIP
>>> print(r.text()); r.predicted, r.observed, r.differences            # doctest: +SKIP

vCenter's events (``EventManager``; exported as JSON by :func:`export_events`) are split
into faults — what happened to the cluster, which the engine simulates — and outcomes — what
HA did, which is compared with the simulation:

==========================================  ========================================================
vCenter event                               meaning for the model
==========================================  ========================================================
``HostConnectionLostEvent``                 vCenter lost the host. The failure time of a host HA
                                            then declares failed or isolated (the earlier of the
                                            two times); alone (management network, vCenter
                                            side): no fault, noted
``DasHostFailedEvent``                      the master declared the host failed: ``host_failure``
``DasHostIsolatedEvent``                    the host declared itself isolated: ``isolation``
``DasClusterIsolatedEvent``                 every host isolated: ``isolation`` of each host
``DasAgentUnavailableEvent``                the HA agent of a host (when the event names one)
                                            unreachable: ``agent_failure``; else vCenter cannot
                                            reach the master, which FDM does not need: noted
``esx.problem.storage.apd.start``           all paths down on a datastore (``EventEx``):
                                            ``datastore_apd`` from then, until
``esx.clear.storage.apd.exit``              the paths came back
``esx.problem.scsi.device.state.permanentloss``  permanent device loss: ``datastore_pdl``
``VmDasBeingResetEvent``                    VM monitoring reset the VM (outcome ``reset``); its
                                            cause, a guest heartbeat loss, is simulated
                                            (``guest_heartbeat_loss``) at the same time
``VmRestartedOnAlternateHostEvent``,        HA restarted the VM on ``host`` (outcome ``restarted``)
``com.vmware.vc.ha.VmRestartedByHAEvent``
``NotEnoughResourcesToStartVmEvent``,       HA could not restart the VM (outcome ``not restarted``)
``VmFailoverFailed``
==========================================  ========================================================

Other events are kept in :attr:`Replay.ignored` (type and count). The simulation starts from
the inventory as it was before the incident: given as ``inventory``, or read from vCenter now
and wound back — the VMs HA restarted moved back to the host they came from, the VMs it could
not restart powered on again on their host, the failed hosts connected — each step an
assumption (:attr:`Replay.assumptions`).

Predicted and observed are compared VM by VM: where each restarted, when (a difference only
beyond ``time_tolerance_s``, since vCenter stamps an event when it logs it), and which did not
restart. Each :class:`Difference` carries the engine's explanation — for a placement, why the
engine chose its host and what it said of the host vCenter used (R-PLACE); for a VM one side
left behind, the reason; for a time, the engine's timeline of that VM (R-TIME). A difference
the engine cannot explain (a VM the inventory does not know, a fault the model has no
counterpart for) has ``explained == False``.
"""

from __future__ import annotations

import datetime
import json
import os
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ArgumentError, InventoryError
from ..inventory import Inventory
from ..placement import plan_failover
from ..simulation import Simulation

__all__ = ["Difference", "Outcome", "Replay", "EVENT_MEANINGS", "export_events", "replay", "replay_events"]

#: Each mapped event type and what it means for the model (the table above).
EVENT_MEANINGS: dict[str, str] = {
    "HostConnectionLostEvent": "vCenter lost the host: the failure time of a host HA declares failed or isolated",
    "DasHostFailedEvent": "host_failure of failedHost",
    "DasHostIsolatedEvent": "isolation of isolatedHost",
    "DasClusterIsolatedEvent": "isolation of every host of the cluster",
    "DasAgentUnavailableEvent": "agent_failure of the host it names; without a host: noted only",
    "esx.problem.storage.apd.start": "datastore_apd of the datastore, until esx.clear.storage.apd.exit",
    "esx.problem.storage.apd.timeout": "the APD timeout passed (the engine computes it): noted only",
    "esx.clear.storage.apd.exit": "end of the datastore's APD",
    "esx.problem.scsi.device.state.permanentloss": "datastore_pdl of the datastore",
    "VmDasBeingResetEvent": "outcome reset; cause guest_heartbeat_loss at the same time",
    "VmRestartedOnAlternateHostEvent": "outcome: VM restarted on host",
    "com.vmware.vc.ha.VmRestartedByHAEvent": "outcome: VM restarted on host",
    "NotEnoughResourcesToStartVmEvent": "outcome: VM not restarted",
    "VmFailoverFailed": "outcome: VM not restarted",
}

_RESTARTED = ("VmRestartedOnAlternateHostEvent", "com.vmware.vc.ha.VmRestartedByHAEvent")
_NOT_RESTARTED = ("NotEnoughResourcesToStartVmEvent", "VmFailoverFailed")


@dataclass(frozen=True)
class Outcome:
    """What happened to one VM: ``result`` is ``"restarted"`` (on ``host``), ``"not restarted"``
    (``reason``) or ``"reset"``; ``time`` in seconds after the incident's first fault."""

    vm: str
    result: str
    host: str | None = None
    time: float | None = None
    reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The outcome as JSON-able data."""
        return {"vm": self.vm, "result": self.result, "host": self.host, "time": self.time, "reason": self.reason}


@dataclass(frozen=True)
class Difference:
    """A disagreement between prediction and observation for ``vm``: ``kind`` is
    ``"placement"``, ``"outcome"``, ``"time"`` or ``"unknown"``; ``explanation`` the
    engine's; ``explained`` False when the engine could not say why."""

    vm: str
    kind: str
    predicted: Outcome | None
    observed: Outcome | None
    explanation: str
    explained: bool = True

    def to_dict(self) -> dict[str, Any]:
        """The difference as JSON-able data (both outcomes included)."""
        return {
            "vm": self.vm, "kind": self.kind, "explained": self.explained, "explanation": self.explanation,
            "predicted": None if self.predicted is None else self.predicted.to_dict(),
            "observed": None if self.observed is None else self.observed.to_dict(),
        }


@dataclass(frozen=True)
class Replay:
    """The result of a replay: ``faults`` (what was simulated, simulation event dicts),
    ``predicted`` and ``observed`` (:class:`Outcome` per VM, by VM id), ``differences``,
    ``timeline`` (the simulation's), ``notes`` (events noted, not simulated), ``ignored``
    (event types not mapped, with counts), ``assumptions`` (how the inventory was wound back),
    ``start`` (the wall-clock time of t = 0) and ``inventory``."""

    inventory: Inventory
    faults: tuple[Mapping[str, Any], ...]
    predicted: Mapping[str, Outcome]
    observed: Mapping[str, Outcome]
    differences: tuple[Difference, ...]
    timeline: Any = None
    notes: tuple[str, ...] = ()
    ignored: Mapping[str, int] = field(default_factory=dict)
    assumptions: tuple[str, ...] = ()
    start: datetime.datetime | None = None

    @property
    def unexplained(self) -> tuple[Difference, ...]:
        """The differences the engine could not explain (should be none)."""
        return tuple(d for d in self.differences if not d.explained)

    @property
    def agrees(self) -> bool:
        """Prediction and observation agree: no difference at all."""
        return not self.differences

    def text(self) -> str:
        """The faults, a table of predicted against observed per VM, each difference with
        its explanation, then notes, assumptions and the event types not used."""
        lab = self.inventory.label
        lines = [f"replay of {len(self.faults)} fault(s) from {self.start.isoformat() if self.start else 't=0'}:"]
        for f in self.faults:
            what = f.get("host") or f.get("vm") or f.get("datastore") or ""
            lines.append(f"  t=+{float(f.get('at', 0)):.1f}s {f['type']} {lab(str(what)) if what else ''}".rstrip())
        rows = [(lab(vm), _show(self.predicted.get(vm), lab), _show(self.observed.get(vm), lab))
                for vm in sorted(set(self.predicted) | set(self.observed))]
        w1 = max([len("VM"), *(len(r[0]) for r in rows)])
        w2 = max([len("predicted"), *(len(r[1]) for r in rows)])
        lines.append(f"{'VM':<{w1}}  {'predicted':<{w2}}  observed")
        lines += [f"{a:<{w1}}  {b:<{w2}}  {c}" for a, b, c in rows]
        if not self.differences:
            lines.append("no difference: HA did what the engine predicts")
        for d in self.differences:
            tag = "" if d.explained else " (UNEXPLAINED)"
            lines.append(f"difference{tag}: {lab(d.vm)} [{d.kind}]: {d.explanation}")
        lines += [f"note: {n}" for n in self.notes]
        lines += [f"assumption: {a}" for a in self.assumptions]
        if self.ignored:
            lines.append("events not used: " + ", ".join(f"{k} ×{v}" for k, v in sorted(self.ignored.items())))
        return "\n".join(lines)

    __str__ = text

    def to_dict(self) -> dict[str, Any]:
        """The replay as JSON-able data (what ``hapolicy replay --json`` prints)."""
        return {
            "schema_version": 1, "start": None if self.start is None else self.start.isoformat(),
            "faults": [dict(f) for f in self.faults],
            "predicted": {k: v.to_dict() for k, v in sorted(self.predicted.items())},
            "observed": {k: v.to_dict() for k, v in sorted(self.observed.items())},
            "differences": [d.to_dict() for d in self.differences], "agrees": self.agrees,
            "unexplained": len(self.unexplained), "notes": list(self.notes), "ignored": dict(self.ignored),
            "assumptions": list(self.assumptions),
        }


def _show(o: Outcome | None, lab: Any) -> str:
    if o is None:
        return "—"
    t = "" if o.time is None else f" at +{o.time:.1f}s"
    if o.result == "restarted":
        return f"restarted on {lab(o.host)}{t}" if o.host else f"restarted{t}"
    if o.result == "reset":
        return f"reset{t}"
    return f"not restarted ({o.reason}){t}" if o.reason else f"not restarted{t}"


# ---------------------------------------------------------------- events → dicts


def _arg(e: Any, *names: str) -> dict[str, str] | None:
    """An event argument (``host``, ``vm``, ``ds``, …) as ``{"id": moid, "name": name}``."""
    for n in names:
        a = e.get(n) if isinstance(e, Mapping) else getattr(e, n, None)
        if a is None:
            continue
        if isinstance(a, str):
            return {"id": a, "name": a}
        if isinstance(a, Mapping):
            ref = a.get("id") or a.get("host") or a.get("vm") or a.get("datastore") or a.get("computeResource")
            return {"id": str(ref or a.get("name") or ""), "name": str(a.get("name") or ref or "")}
        ref = next((getattr(a, k) for k in ("host", "vm", "datastore", "computeResource") if getattr(a, k, None)), None)
        return {"id": str(getattr(ref, "_moId", ref or "")), "name": str(getattr(a, "name", "") or "")}
    return None


def event_to_dict(e: Any) -> dict[str, Any]:
    """One pyVmomi event as the JSON :func:`replay_events` reads: ``type`` (the vSphere event
    class, or an ``EventEx``'s ``eventTypeId``), ``key``, ``createdTime`` (ISO 8601), the
    entity arguments as ``{"id", "name"}`` (``host``, ``vm``, ``datastore``,
    ``computeResource``, ``sourceHost``, ``failedHost``, ``isolatedHost``), ``reason`` and
    ``message``."""
    kind = str(getattr(type(e), "_wsdlName", type(e).__name__))
    if kind in ("EventEx", "ExtendedEvent") and getattr(e, "eventTypeId", None):
        kind = str(e.eventTypeId)
    created = getattr(e, "createdTime", None)
    out: dict[str, Any] = {"type": kind, "key": getattr(e, "key", None),
                           "createdTime": created.isoformat() if isinstance(created, datetime.datetime) else created}
    for name, attrs in (("host", ("host",)), ("vm", ("vm",)), ("datastore", ("ds",)),
                        ("computeResource", ("computeResource",)), ("sourceHost", ("sourceHost",)),
                        ("failedHost", ("failedHost",)), ("isolatedHost", ("isolatedHost",))):
        a = _arg(e, *attrs)
        if a is not None and a["id"]:
            out[name] = a
    for arg in getattr(e, "arguments", None) or ():  # EventEx: key/value pairs
        key, value = str(getattr(arg, "key", "")), getattr(arg, "value", None)
        if key in ("datastore", "ds") and "datastore" not in out and value:
            out["datastore"] = {"id": str(value), "name": str(value)}
    reason = getattr(e, "reason", None)
    if reason:
        out["reason"] = str(reason)
    msg = getattr(e, "fullFormattedMessage", None)
    if msg:
        out["message"] = str(msg)
    return out


def export_events(
    service_instance: Any, cluster: str, start: datetime.datetime, end: datetime.datetime, *,
    page: int = 500, limit: int = 100_000,
) -> list[dict[str, Any]]:
    """The events of cluster ``cluster`` (and its hosts and VMs) created between ``start`` and
    ``end``, oldest first, as JSON-able dicts (:func:`event_to_dict`): an
    ``EventHistoryCollector`` (``CreateCollectorForEvents``), read with ``ReadNextEvents`` in
    pages of ``page``, at most ``limit`` events, then destroyed. ``json.dump`` the result to
    replay it later with :func:`replay_events`."""
    from . import vsphere as vs

    vim, _ = vs._pyvmomi()
    content, place, _located = vs._locate(service_instance, cluster, 500)
    cref = vim.ClusterComputeResource(place.moid, stub=getattr(content.rootFolder, "_stub", None))
    spec = vim.event.EventFilterSpec(
        entity=vim.event.EventFilterSpec.ByEntity(entity=cref, recursion="all"),
        time=vim.event.EventFilterSpec.ByTime(beginTime=start, endTime=end),
    )
    collector = content.eventManager.CreateCollectorForEvents(filter=spec)
    events: list[Any] = []
    try:
        collector.SetCollectorPageSize(page)
        collector.RewindCollector()
        for _ in range(limit // max(page, 1) + 1):  # bounded
            got = collector.ReadNextEvents(page)
            if not got:
                break
            events.extend(got)
            if len(events) >= limit:
                break
    finally:
        try:
            collector.DestroyCollector()
        except Exception:  # noqa: BLE001 - best effort
            pass
    out = [event_to_dict(e) for e in events]
    # The time filter again, client-side: not every server applies it (govmomi's simulator).
    out = [e for e in out if e["createdTime"] is None or start <= _when(e["createdTime"]) <= end]
    out.sort(key=lambda e: (_when(e["createdTime"]) if e["createdTime"] else end, e.get("key") or 0))
    return out


def _when(value: Any) -> datetime.datetime:
    if isinstance(value, datetime.datetime):
        t = value
    else:
        t = datetime.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return t if t.tzinfo is not None else t.replace(tzinfo=datetime.timezone.utc)


# ---------------------------------------------------------------- replay


def _load_events(events: Sequence[Mapping[str, Any]] | str | os.PathLike[str]) -> list[Mapping[str, Any]]:
    if isinstance(events, (str, os.PathLike)):
        try:
            data = json.loads(Path(events).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise InventoryError([(str(events), f"not a readable events file: {exc}")]) from None
        if isinstance(data, Mapping):
            data = data.get("events")
        events = data
    if not isinstance(events, Sequence) or isinstance(events, (str, bytes)):
        raise InventoryError([("events", "expected a list of events (objects with 'type' and 'createdTime')")])
    problems = []
    for i, e in enumerate(events):
        if not isinstance(e, Mapping) or not isinstance(e.get("type"), str):
            problems.append((f"events[{i}]", "expected an object with a 'type'"))
        elif e.get("createdTime") is not None:
            try:
                _when(e["createdTime"])
            except ValueError:
                problems.append((f"events[{i}].createdTime", f"not an ISO 8601 time: {e['createdTime']!r}"))
    if problems:
        raise InventoryError(problems)
    return list(events)


class _Ids:
    """Event arguments → inventory ids: by id, else by name."""

    def __init__(self, inv: Inventory) -> None:
        self.inv = inv
        self.known = {"host": {h.id for h in inv.hosts}, "vm": {v.id for v in inv.vms},
                      "datastore": {d.id for d in inv.datastores}}
        self.names: dict[str, dict[str, str]] = {
            "host": {h.name: h.id for h in inv.hosts if h.name},
            "vm": {v.name: v.id for v in inv.vms if v.name},
            "datastore": {d.name: d.id for d in inv.datastores if d.name},
        }

    def __call__(self, kind: str, arg: Any) -> str | None:
        if arg is None:
            return None
        if isinstance(arg, str):
            ident, name = arg, arg
        else:
            ident, name = str(arg.get("id") or ""), str(arg.get("name") or "")
        if ident in self.known[kind]:
            return ident
        return self.names[kind].get(name) or self.names[kind].get(ident)


def replay_events(
    inventory: Inventory,
    events: Sequence[Mapping[str, Any]] | str | os.PathLike[str],
    *,
    time_tolerance_s: float = 60.0,
    until: float | None = None,
    assumptions: Iterable[str] = (),
) -> Replay:
    """Replays ``events`` (dicts as :func:`export_events` gives, or the path of their JSON
    file: a list, or an object with ``"events"``) over ``inventory`` (the cluster before the
    incident): the faults simulated, the outcomes compared (see the module docstring)."""
    if not isinstance(inventory, Inventory):
        raise ArgumentError(f"replay_events() takes an Inventory, not {type(inventory).__name__}")
    evs = _load_events(events)
    ids = _Ids(inventory)
    timed = [e for e in evs if e.get("createdTime") is not None]
    notes: list[str] = []
    ignored: Counter[str] = Counter()
    if len(timed) < len(evs):
        notes.append(f"{len(evs) - len(timed)} event(s) without createdTime left out")
    timed.sort(key=lambda e: (_when(e["createdTime"]), e.get("key") or 0))

    lost: dict[str, datetime.datetime] = {}
    faults: list[tuple[datetime.datetime, dict[str, Any]]] = []
    observed_raw: list[tuple[datetime.datetime, Outcome]] = []
    apd_open: dict[str, tuple[datetime.datetime, dict[str, Any]]] = {}
    unknown: list[str] = []

    def host_of(e: Mapping[str, Any], *keys: str) -> str | None:
        for k in keys:
            if e.get(k) is not None:
                h = ids("host", e[k])
                if h is None:
                    unknown.append(f"{e['type']}: host {e[k]} is not in the inventory")
                return h
        return None

    for e in timed:
        t, kind = _when(e["createdTime"]), str(e["type"])
        if kind == "HostConnectionLostEvent":
            h = host_of(e, "host")
            if h is not None:
                lost.setdefault(h, t)
        elif kind == "DasHostFailedEvent":
            h = host_of(e, "failedHost", "host")
            if h is not None:
                faults.append((min(t, lost.get(h, t)), {"type": "host_failure", "host": h}))
        elif kind == "DasHostIsolatedEvent":
            h = host_of(e, "isolatedHost", "host")
            if h is not None:
                faults.append((min(t, lost.get(h, t)), {"type": "isolation", "host": h}))
        elif kind == "DasClusterIsolatedEvent":
            for host in inventory.hosts:
                faults.append((t, {"type": "isolation", "host": host.id}))
        elif kind == "DasAgentUnavailableEvent":
            h = host_of(e, "host")
            if h is not None:
                faults.append((t, {"type": "agent_failure", "host": h}))
            else:
                notes.append(f"{t.isoformat()} vCenter could not reach the HA master (DasAgentUnavailableEvent): "
                             "FDM does not need vCenter to restart VMs; not simulated")
        elif kind == "esx.problem.storage.apd.start":
            ds = ids("datastore", e.get("datastore"))
            if ds is None:
                unknown.append(f"{kind}: datastore {e.get('datastore')} is not in the inventory")
            else:
                apd_open[ds] = (t, {"type": "datastore_apd", "datastore": ds})
        elif kind == "esx.clear.storage.apd.exit":
            ds = ids("datastore", e.get("datastore"))
            if ds is not None and ds in apd_open:
                start, f = apd_open.pop(ds)
                faults.append((start, {**f, "_until": t}))
        elif kind == "esx.problem.storage.apd.timeout":
            notes.append(f"{t.isoformat()} APD timeout on {e.get('datastore')}: the engine computes it (R-VMCP)")
        elif kind == "esx.problem.scsi.device.state.permanentloss":
            ds = ids("datastore", e.get("datastore"))
            if ds is None:
                unknown.append(f"{kind}: datastore {e.get('datastore')} is not in the inventory")
            else:
                faults.append((t, {"type": "datastore_pdl", "datastore": ds}))
        elif kind in _RESTARTED or kind in _NOT_RESTARTED or kind == "VmDasBeingResetEvent":
            vm = ids("vm", e.get("vm"))
            if vm is None:
                unknown.append(f"{kind}: VM {e.get('vm')} is not in the inventory")
                continue
            if kind in _RESTARTED:
                observed_raw.append((t, Outcome(vm, "restarted", host=ids("host", e.get("host")))))
            elif kind in _NOT_RESTARTED:
                observed_raw.append((t, Outcome(vm, "not restarted", reason=str(e.get("reason") or kind))))
            else:
                observed_raw.append((t, Outcome(vm, "reset")))
                faults.append((t, {"type": "guest_heartbeat_loss", "vm": vm}))
        else:
            ignored[kind] += 1
    for ds, (start, f) in apd_open.items():
        faults.append((start, f))
    for h, t in lost.items():
        if not any(f.get("host") == h for _, f in faults):
            notes.append(f"{t.isoformat()} vCenter lost {inventory.label(h)} (HostConnectionLostEvent) but HA "
                         "declared no failure or isolation of it: a management-network or vCenter-side loss; "
                         "not simulated")

    t0 = min([t for t, _ in faults], default=min([t for t, _ in observed_raw], default=None))
    sim_faults: list[dict[str, Any]] = []
    for t, f in sorted(faults, key=lambda x: x[0]):
        at = (t - t0).total_seconds() if t0 is not None else 0.0
        g = {k: v for k, v in f.items() if k != "_until"}
        g["at"] = round(max(at, 0.0), 3)
        if "_until" in f and t0 is not None:
            g["until"] = round((f["_until"] - t0).total_seconds(), 3)
        sim_faults.append(g)

    observed: dict[str, Outcome] = {}
    for t, o in observed_raw:
        when: float | None = round((t - t0).total_seconds(), 3) if t0 is not None else None
        prev = observed.get(o.vm)
        # A VM's last outcome counts (a failed attempt then a restart is a restart).
        if prev is None or o.result == "restarted" or prev.result != "restarted":
            observed[o.vm] = Outcome(o.vm, o.result, o.host, when, o.reason)

    sim = Simulation(inventory)
    if sim_faults:
        sim.apply(sim_faults)
    last = float(max([f.get("until", f["at"]) for f in sim_faults], default=0.0))
    seen = max([o.time or 0.0 for o in observed.values()], default=0.0)
    horizon = float(until) if until is not None else max(last + 3600.0, seen + 600.0)
    timeline = sim.run(horizon)
    predicted = _predicted(timeline)
    differences = _compare(inventory, sim_faults, predicted, observed, timeline, time_tolerance_s)
    differences += [Difference("?", "unknown", None, None, u, explained=False) for u in unknown]
    return Replay(
        inventory=inventory, faults=tuple(sim_faults), predicted=predicted, observed=observed,
        differences=tuple(differences), timeline=timeline, notes=tuple(notes), ignored=dict(ignored),
        assumptions=tuple(assumptions), start=t0,
    )


def _predicted(timeline: Any) -> dict[str, Outcome]:
    """Each VM's outcome in the simulation: restarted (where, when), else not restarted at its
    first failed placement (vCenter logs ``NotEnoughResourcesToStartVmEvent`` then, not when
    FDM gives up), else reset."""
    out: dict[str, Outcome] = {}
    for ev in timeline:
        kind = str(ev.kind)
        if ev.vm is None:
            continue
        prev = out.get(ev.vm)
        if kind == "vm_restarted":
            out[ev.vm] = Outcome(ev.vm, "restarted", host=ev.host, time=ev.time)
        elif kind in ("vm_unplaced", "restart_gave_up", "vm_not_restarted") and (prev is None or prev.result == "reset"):
            out[ev.vm] = Outcome(ev.vm, "not restarted", time=ev.time, reason=str(ev.detail.get("reason") or kind))
        elif kind == "vm_reset" and prev is None:
            out[ev.vm] = Outcome(ev.vm, "reset", host=ev.host, time=ev.time)
    return out


def _compare(
    inv: Inventory, faults: Sequence[Mapping[str, Any]], predicted: Mapping[str, Outcome],
    observed: Mapping[str, Outcome], timeline: Any, tol: float,
) -> list[Difference]:
    lab = inv.label
    failed = sorted({str(f["host"]) for f in faults if f["type"] == "host_failure"})
    isolated = sorted({str(f["host"]) for f in faults if f["type"] == "isolation"})
    plan = plan_failover(inv, failed_hosts=failed, isolated_hosts=isolated) if failed or isolated else None

    def explain(vm: str) -> list[str]:
        """The engine's placement explanation of ``vm`` (R-PLACE), one line per host."""
        if plan is None:
            return []
        try:
            return [line.strip() for line in plan.explain(vm).splitlines() if line.strip()]
        except Exception:  # noqa: BLE001 - the VM had no part in the plan
            return []

    def on_host(vm: str, host: str) -> str:
        """What the engine said of ``host`` for ``vm``: ``"host-22 (esx-02): refused — …"``."""
        return next((line for line in explain(vm) if line.startswith(lab(host) + ":")), "")

    def story(vm: str) -> str:
        lines = [str(e) for e in timeline if e.vm == vm]
        return "; ".join(lines) if lines else "the engine's timeline has no event for it"

    out: list[Difference] = []
    for vm in sorted(set(predicted) | set(observed)):
        p, o = predicted.get(vm), observed.get(vm)
        if p is not None and o is not None and p.result == o.result:
            if p.result == "restarted" and o.host is not None and p.host != o.host:
                verdict = on_host(vm, o.host)
                why = explain(vm)
                reason = (" ".join(why[:2]) if why and p.host is not None and why[0].find(lab(p.host)) >= 0
                          else story(vm))
                text = f"the engine restarts it on {lab(p.host or '?')}, vCenter did on {lab(o.host)}. Engine: {reason}"
                if verdict:
                    text += f" Of {lab(o.host)} the engine says: {verdict}."
                out.append(Difference(vm, "placement", p, o, text, explained=bool(verdict or why)))
            elif p.time is not None and o.time is not None and abs(p.time - o.time) > tol:
                out.append(Difference(vm, "time", p, o,
                                      f"predicted at +{p.time:.1f}s, observed at +{o.time:.1f}s (more than "
                                      f"{tol:g}s apart). Engine timeline: {story(vm)}"))
            continue
        if p is None and o is not None:
            member = any(v.id == vm for v in inv.vms)
            detail = f"{story(vm)}. {' '.join(explain(vm)[:1])}".strip() if member else "not in the inventory"
            out.append(Difference(vm, "outcome", p, o,
                                  f"vCenter reports {_show(o, lab)}; the engine predicts nothing for it: {detail}",
                                  explained=member))
            continue
        if o is None and p is not None:
            out.append(Difference(vm, "outcome", p, o,
                                  f"the engine predicts {_show(p, lab)}; vCenter logged no outcome for it in the "
                                  f"window (events missing, or HA did not act). Engine timeline: {story(vm)}"))
            continue
        assert p is not None and o is not None
        out.append(Difference(vm, "outcome", p, o,
                              f"the engine predicts {_show(p, lab)}; vCenter: {_show(o, lab)}. "
                              f"Engine timeline: {story(vm)}"))
    return out


# ---------------------------------------------------------------- from vCenter


def replay(
    service_instance: Any,
    cluster: str,
    start: datetime.datetime,
    end: datetime.datetime,
    *,
    inventory: Inventory | None = None,
    time_tolerance_s: float = 60.0,
    defaults: Any = None,
) -> Replay:
    """Replays the incident between ``start`` and ``end`` (aware or UTC datetimes) on cluster
    ``cluster``: its events read with :func:`export_events`, the inventory ``inventory`` (the
    cluster before the incident) or, without it, read now with
    :func:`hapolicy.io.read_vsphere` and wound back to before the incident (see the module
    docstring)."""
    from .vsphere import read_vsphere

    if not (isinstance(start, datetime.datetime) and isinstance(end, datetime.datetime)):
        raise ArgumentError("start and end must be datetimes")
    start, end = _when(start), _when(end)
    if end < start:
        raise ArgumentError(f"end {end.isoformat()} is before start {start.isoformat()}")
    events = export_events(service_instance, cluster, start, end)
    notes: list[str] = []
    if inventory is None:
        inventory = read_vsphere(service_instance, cluster, defaults=defaults).inventory
        inventory, notes = wind_back(inventory, events)
    return replay_events(inventory, events, time_tolerance_s=time_tolerance_s, assumptions=notes)


def wind_back(inv: Inventory, events: Sequence[Mapping[str, Any]]) -> tuple[Inventory, list[str]]:
    """``inv`` as it was before the incident ``events`` describe: the VMs HA restarted moved
    back to their source host, the VMs HA could not restart powered on again, the hosts that
    failed or were isolated connected. Returns the inventory and one sentence per change."""
    ids = _Ids(inv)
    notes: list[str] = []
    doc = inv.to_dict()
    hosts = {h["id"]: h for h in doc["hosts"]}
    vms = {v["id"]: v for v in doc["vms"]}
    failed: set[str] = set()
    for e in events:
        kind = str(e.get("type"))
        if kind in ("DasHostFailedEvent", "DasHostIsolatedEvent"):
            h = ids("host", e.get("failedHost") or e.get("isolatedHost") or e.get("host"))
            if h is not None:
                failed.add(h)
    for h in sorted(failed):
        if hosts[h].get("state", "connected") != "connected":
            notes.append(f"{inv.label(h)} taken as connected before the incident (vCenter reports "
                         f"{hosts[h].get('state')} now)")
            hosts[h]["state"] = "connected"
    for e in events:
        kind = str(e.get("type"))
        vm = ids("vm", e.get("vm"))
        if vm is None or vm not in vms:
            continue
        v = vms[vm]
        if kind in _RESTARTED:
            src = ids("host", e.get("sourceHost"))
            if src is None:
                src = next(iter(sorted(failed)), None) if len(failed) == 1 else None
            if src is not None and v.get("host") != src:
                notes.append(f"{inv.label(vm)} moved back from {inv.label(str(v.get('host')))} to {inv.label(src)}, "
                             "where it ran before HA restarted it")
                v["host"] = src
                v["power_state"] = "poweredOn"
                v.pop("protected", None)
        elif kind in _NOT_RESTARTED and v.get("power_state") != "poweredOn":
            if v.get("host") in failed:
                notes.append(f"{inv.label(vm)} taken as powered on on {inv.label(str(v['host']))} before the "
                             "incident (HA could not restart it)")
                v["power_state"] = "poweredOn"
                v.pop("clean_power_off", None)
                v.pop("protected", None)  # protected again, as any powered-on VM
            else:
                notes.append(f"{inv.label(vm)}: HA could not restart it, but vCenter has it on "
                             f"{inv.label(str(v.get('host')))}, not on a failed host: left as it is")
    return Inventory.from_dict(doc), notes


# ---------------------------------------------------------------- command line


def cli_replay(args: Any) -> int:
    """``hapolicy replay`` (see docs/live.rst): offline ``INV EVENTS.json``, or live with
    ``--server``/``--cluster``/``--start``/``--end`` (``--export FILE`` saves the events).
    Exit 1 with ``--check`` when prediction and observation differ."""
    import sys

    if args.server is not None or args.start is not None:
        from .watch import cli_connect

        if args.inventory is not None or args.events is not None:
            raise ArgumentError("give either INV EVENTS (offline) or --server/--cluster/--start/--end (live), not both")
        if not args.cluster or args.start is None or args.end is None:
            raise ArgumentError("a live replay needs --cluster NAME, --start TIME and --end TIME (ISO 8601)")
        try:
            start, end = _when(args.start), _when(args.end)
        except ValueError as exc:
            raise ArgumentError(f"--start/--end must be ISO 8601 times: {exc}") from None
        si = cli_connect(args)()
        if args.export:
            events = export_events(si, args.cluster, start, end)
            Path(args.export).write_text(json.dumps({"events": events}, indent=1) + "\n", encoding="utf-8")
            print(f"hapolicy: {len(events)} events written to {args.export}", file=sys.stderr)
        r = replay(si, args.cluster, start, end, time_tolerance_s=args.tolerance)
    else:
        if args.inventory is None or args.events is None:
            raise ArgumentError("give INV EVENTS.json (offline), or --server/--cluster/--start/--end (live)")
        if args.export:
            raise ArgumentError("--export applies to a live replay (--server)")
        inv = Inventory.load(args.inventory, cluster=args.cluster)
        r = replay_events(inv, args.events, time_tolerance_s=args.tolerance)
    if args.json:
        print(json.dumps(r.to_dict(), indent=1))
    else:
        print(r.text())
    return 1 if args.check and r.differences else 0
