"""Watching a live vCenter: the HA posture of a cluster, kept current from incremental updates.

>>> from pyVim.connect import SmartConnect                                  # doctest: +SKIP
>>> si = SmartConnect(host="vc.example.com", user="ro@vsphere.local", pwd="…")  # doctest: +SKIP
>>> for change in hapolicy.io.watch(si, cluster="prod-a"):                  # doctest: +SKIP
...     print(change)          # vm-812 (sql07) powered on: failover level 1 → 0; remedies: …
...     change.inventory, change.what, change.posture

How it works (a read-only role is enough):

- ONE property-collector filter, on a property collector of its own
  (``CreatePropertyCollector`` + ``CreateFilter``), selects the cluster, its hosts, its VMs and
  every datastore they use, with the very ObjectSpecs, TraversalSpecs and property paths
  :func:`hapolicy.io.read_vsphere` reads (``vsphere._cluster_specs``); the values are turned
  into an inventory by the same converter, so the two never map vCenter differently.
- ``WaitForUpdatesEx`` (``maxWaitSeconds`` = ``poll_s``) returns only what changed since the
  version token it is given; the changes are applied to the properties held in memory (no
  re-read per change) and the inventory rebuilt from them. A change the filter reports on a
  path deeper than the one read (``config.hardware.device[4000]``…) or a property vCenter
  could not read (``missingSet``) re-reads that one object, counted in :attr:`Watch.stats`.
- After each batch of changes the posture is evaluated again (:class:`Posture`: admission
  control, R-AC; how many simultaneous host failures restart every VM, R-PLACE, by a sweep up
  to ``failures``; and, for each usable host, what would not restart if it failed now) and the
  difference to the previous posture is reported (:attr:`Change.delta`); when a promise breaks,
  the first verified remedies (R-REMEDY) come with it.
- A dropped connection is retried with the same version token (the session and its filter
  survive on the server, so nothing is missed) — once the server has shown that it versions
  its updates (an update came with a version other than the one sent). A server that has not
  (govmomi's simulator answers every version with ``"-"``, and an answer lost on the way
  cannot be asked for again) is read again in full instead: a ``"resync"`` change, recorded
  in :attr:`Watch.log`. A lost session (``NotAuthenticated``, the
  collector gone, ``InvalidCollectorVersion``) calls ``connect()`` for a new
  ``ServiceInstance``, re-creates the filter and reads everything again: that :class:`Change`
  has ``kind == "resync"`` and lists every difference between the inventory before and after,
  so a change made while disconnected is never lost silently.

Every wait is bounded (``poll_s``), and so are retries (``retries``, with a growing pause);
``duration`` and ``max_changes`` end the watch; Ctrl-C (``KeyboardInterrupt``) ends it too,
after :meth:`Watch.close` destroyed the collector on the server.
"""

from __future__ import annotations

import datetime
import http.client
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from ..admission import admission_control
from ..errors import ArgumentError, InventoryError
from ..inventory import Inventory
from ..placement import plan_failover
from ..sweep import sweep
from . import vsphere as vs
from ._common import Defaults

__all__ = ["Change", "Posture", "Watch", "watch"]

_KINDS = {"ClusterComputeResource": "cluster", "HostSystem": "host", "VirtualMachine": "vm", "Datastore": "datastore"}


# ---------------------------------------------------------------- posture


@dataclass(frozen=True)
class Posture:
    """What HA would do now (R-AC, R-PLACE).

    ``admission_policy`` and ``admission_satisfied`` (admission control, R-AC; ``None`` when
    the policy is disabled), ``failover_level`` (the slot or failover-host policy's current
    failover level, else ``None``), ``promised_failures`` (what the policy promises to absorb,
    or the ``failures`` asked for), ``failures`` (the sweep's k) and ``failures_survived`` (the
    largest k' ≤ k such that every k'-host failure restarts every VM HA attempts),
    ``stranded`` (for each usable host: the VMs that would not restart if it failed now, with
    the engine's reason) and ``labels`` (id → "id (name)")."""

    admission_policy: str
    admission_satisfied: bool | None
    failover_level: int | None
    promised_failures: int
    failures: int
    failures_survived: int | None
    stranded: Mapping[str, Mapping[str, str]]
    labels: Mapping[str, str] = field(default_factory=dict, compare=False)

    @property
    def holds(self) -> bool:
        """Admission control satisfied (or disabled) and every combination of up to
        ``promised_failures`` failed hosts restarts every VM HA attempts."""
        survived = self.failures_survived if self.failures_survived is not None else 0
        return self.admission_satisfied is not False and survived >= min(self.promised_failures, self.failures)

    def to_records(self) -> list[dict[str, Any]]:
        """One row per usable host: what would not restart if it failed now."""
        lab = self.labels.get
        return [{"host": h, "label": lab(h, h), "stranded": len(v),
                 "vms": ", ".join(f"{lab(vm, vm)} ({why})" for vm, why in sorted(v.items()))}
                for h, v in sorted(self.stranded.items())]

    def to_dict(self) -> dict[str, Any]:
        """The posture as JSON-able data (``holds`` included)."""
        return {
            "holds": self.holds, "admission_policy": self.admission_policy,
            "admission_satisfied": self.admission_satisfied, "failover_level": self.failover_level,
            "promised_failures": self.promised_failures, "failures": self.failures,
            "failures_survived": self.failures_survived,
            "stranded": {h: dict(v) for h, v in self.stranded.items()},
        }


def posture(inv: Inventory, failures: int | None = None) -> Posture:
    """The :class:`Posture` of ``inv``; ``failures``: the sweep's k and the promise checked
    (default: the report's, 2 host failures for clusters of up to 400 usable hosts, and the
    admission policy's own promise)."""
    from ..report import default_failures

    ac = admission_control(inv)
    usable = [h.id for h in inv.hosts if str(h.state) == "connected" and not h.maintenance and not h.standby]
    k = default_failures(inv) if failures is None else min(failures, len(usable))
    policy = str(ac.policy)
    if failures is not None:
        promised = failures
    elif ac.configured_host_failures is not None:
        promised = ac.configured_host_failures
    elif policy == "failoverHosts":
        promised = len(ac.failover_hosts)
    else:
        promised = 1
    survived = sweep(inv, k).max_failures_tolerated if k > 0 else 0
    stranded: dict[str, dict[str, str]] = {}
    for h in usable:
        plan = plan_failover(inv, failed_hosts=[h])
        stranded[h] = {u.vm: str(u.reason) for u in plan.unplaced}
    level = ac.current_failover_level if policy in ("slot", "failoverHosts") else None
    labels = {**{h.id: inv.label(h.id) for h in inv.hosts}, **{v.id: inv.label(v.id) for v in inv.vms}}
    return Posture(
        admission_policy=policy, admission_satisfied=None if policy == "disabled" else bool(ac.satisfied),
        failover_level=level, promised_failures=promised, failures=k, failures_survived=survived,
        stranded=stranded, labels=labels,
    )


def posture_delta(before: Posture | None, after: Posture) -> list[str]:
    """What changed between two postures, one phrase each (empty: nothing that matters)."""
    lab = after.labels.get
    out: list[str] = []
    if before is None:
        return out
    if before.admission_satisfied != after.admission_satisfied:
        word = {True: "satisfied", False: "not satisfied", None: "disabled"}
        out.append(f"admission control {word[before.admission_satisfied]} → {word[after.admission_satisfied]}")
    if before.failover_level != after.failover_level:
        out.append(f"failover level {before.failover_level} → {after.failover_level}")
    if before.failures_survived != after.failures_survived:
        out.append(f"host failures survived {before.failures_survived} → {after.failures_survived} "
                   f"(of {after.failures} checked)")
    for h in sorted(set(before.stranded) | set(after.stranded)):
        old, new = before.stranded.get(h), after.stranded.get(h)
        if old is None or new is None:
            continue  # the host became (un)usable: said by the change itself
        gone = sorted(set(new) - set(old))
        back = sorted(set(old) - set(new))
        if gone:
            vms = ", ".join(f"{lab(v, v)} ({new[v]})" for v in gone)
            out.append(f"if {lab(h, h)} failed now, {vms} would not restart")
        if back:
            out.append(f"if {lab(h, h)} failed now, {', '.join(lab(v, v) or v for v in back)} would restart again")
    if before.holds != after.holds:
        out.append("the promise holds again" if after.holds else "the promise breaks")
    return out


# ---------------------------------------------------------------- changes


@dataclass(frozen=True)
class Change:
    """One step of a watch: ``kind`` (``"initial"``: the first full read; ``"update"``:
    incremental updates; ``"resync"``: a full re-read after a lost session), ``what`` (what
    changed in vCenter, names beside ids), ``details`` (one phrase per property change),
    ``inventory`` and ``posture`` after it, ``previous`` (the posture before), ``delta`` (what
    changed in the posture), ``remedies`` (summaries of the first verified remedies when the
    promise does not hold and it just broke), ``error`` (the inventory could not be built: the
    previous one is kept), ``at`` (UTC) and ``seconds`` (from receiving the update to the
    evaluated posture)."""

    seq: int
    kind: str
    what: str
    details: tuple[str, ...]
    inventory: Inventory
    posture: Posture
    previous: Posture | None
    delta: tuple[str, ...]
    remedies: tuple[str, ...] = ()
    error: str | None = None
    at: datetime.datetime = field(default_factory=lambda: datetime.datetime.now(datetime.timezone.utc))
    seconds: float = 0.0

    @property
    def matters(self) -> bool:
        """The posture moved, the promise does not hold, or this is a full read."""
        return bool(self.delta) or self.kind != "update" or self.error is not None or not self.posture.holds and (
            self.previous is None or self.previous.holds)

    def text(self) -> str:
        """One line: ``vm-812 (sql07) powered on: failover level 1 → 0; remedies: …``."""
        if self.kind == "initial":
            p = self.posture
            head = (f"watching {self.inventory.config.name}: {len(self.inventory.hosts)} hosts, "
                    f"{len(self.inventory.vms)} VMs; admission control "
                    f"{ {True: 'satisfied', False: 'not satisfied', None: 'disabled'}[p.admission_satisfied] }"
                    + (f", failover level {p.failover_level}" if p.failover_level is not None else "")
                    + f", host failures survived {p.failures_survived} of {p.failures} checked; "
                    + ("the promise holds" if p.holds else "the promise does NOT hold"))
            line = head
        else:
            line = self.what + ": " + ("; ".join(self.delta) if self.delta else "posture unchanged")
        if self.error:
            line += f"; inventory not updated: {self.error}"
        if self.remedies:
            line += "; remedies: " + " | ".join(self.remedies)
        return line

    __str__ = text

    def _repr_html_(self) -> str:
        """Jupyter: the line, then one row per host (what would not restart if it failed now)."""
        from html import escape

        p = self.posture
        rows = "".join(
            f"<tr><td>{escape(r['label'])}</td><td style='text-align:right'>{r['stranded']}</td>"
            f"<td>{escape(r['vms']) or '—'}</td></tr>" for r in p.to_records())
        verdict = "holds" if p.holds else "does NOT hold"
        return (f"<div><p><b>{escape(self.at.strftime('%H:%M:%S'))}</b> {escape(self.text())}</p>"
                f"<p>promise {verdict}; admission control {escape(str(p.admission_satisfied))}, failover level "
                f"{p.failover_level}, host failures survived {p.failures_survived} of {p.failures}</p>"
                "<table><thead><tr><th>if this host failed now</th><th>VMs left</th><th>which (why)</th></tr></thead>"
                f"<tbody>{rows}</tbody></table></div>")

    def to_dict(self) -> dict[str, Any]:
        """The change as JSON-able data (what ``hapolicy watch --json`` prints, one per line)."""
        return {
            "seq": self.seq, "kind": self.kind, "at": self.at.isoformat().replace("+00:00", "Z"),
            "seconds": round(self.seconds, 4), "what": self.what, "details": list(self.details),
            "delta": list(self.delta), "posture": self.posture.to_dict(), "remedies": list(self.remedies),
            "error": self.error,
        }


# ---------------------------------------------------------------- describing property changes

_POWER = {"poweredOn": "powered on", "poweredOff": "powered off", "suspended": "suspended"}


def _value(v: Any) -> Any:
    return vs._moid(v) if hasattr(v, "_moId") else v


def _describe(kind: str, moid: str, name: str, path: str, old: Any, new: Any, lab: Callable[[str], str]) -> str | None:
    """A phrase for one property change (``None``: not worth a phrase on its own)."""
    who = f"{moid} ({name})" if name and name != moid else moid
    old, new = _value(old), _value(new)
    if path == "name":
        return f"{moid} renamed '{old}' → '{new}'" if old is not None else None
    if kind == "VirtualMachine":
        if path == "runtime.powerState":
            return f"{who} {_POWER.get(str(new), str(new))}"
        if path == "runtime.host":
            if old is None or new is None:
                return f"{who} host {old} → {new}"
            return f"{who} moved from {lab(str(old))} to {lab(str(new))}"
        if path == "config.cpuAllocation.reservation":
            return f"{who} CPU reservation {old or 0} → {new or 0} MHz"
        if path == "config.memoryAllocation.reservation":
            return f"{who} memory reservation {old or 0} → {new or 0} MB"
        if path == "config.memoryReservationLockedToMax":
            return f"{who} memory reservation {'locked' if new else 'no longer locked'} to the configured memory"
        if path == "config.template" and new:
            return f"{who} became a template"
    if kind == "HostSystem":
        if path == "runtime.inMaintenanceMode":
            return f"{who} {'entered' if new else 'exited'} maintenance mode"
        if path == "runtime.connectionState":
            return f"{who} {new}"
        if path == "runtime.powerState":
            return f"{who} power {new}"
        if path == "runtime.dasHostState":
            return f"{who} HA agent {getattr(new, 'state', new)}"
    if kind == "ClusterComputeResource" and path == "configurationEx":
        return f"cluster {name} {_RECONFIGURED}"
    if path in ("summary.quickStats.consumedOverheadMemory", "runtime.memoryOverhead", "guest.toolsRunningStatus"):
        return None
    return f"{who} {path} changed"


_RECONFIGURED = "reconfigured (vSphere HA / DRS settings)"
_VM_HA_FIELDS = ("restart_priority", "isolation_response", "vm_monitoring", "vmcp")


def _short(v: Any, limit: int = 80) -> str:
    text = str(v)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _config_phrases(before: Inventory, after: Inventory) -> list[str]:
    """What a cluster reconfiguration changed: cluster HA settings, per-VM HA overrides and
    rules, one phrase each (names beside ids)."""
    out: list[str] = []
    a, b = before.config.to_dict(), after.config.to_dict()
    for key in sorted(set(a) | set(b)):
        if a.get(key) != b.get(key):
            out.append(f"cluster {key.replace('_', ' ')} {_short(a.get(key))} → {_short(b.get(key))}")
    old_vms = {v.id: v.to_dict() for v in before.vms}
    for vm in after.vms:
        o, n = old_vms.get(vm.id), vm.to_dict()
        if o is None:
            continue
        for key in _VM_HA_FIELDS:
            if o.get(key) != n.get(key):
                out.append(f"{after.label(vm.id)} {key.replace('_', ' ')} {_short(o.get(key))} → {_short(n.get(key))}")
    rules_a = {(str(r.type), r.name): r for r in before.rules}
    rules_b = {(str(r.type), r.name): r for r in after.rules}
    for rk in sorted(set(rules_b) - set(rules_a)):
        out.append(f"rule '{rk[1]}' ({rk[0]}) added")
    for rk in sorted(set(rules_a) - set(rules_b)):
        out.append(f"rule '{rk[1]}' ({rk[0]}) removed")
    for rk in sorted(set(rules_a) & set(rules_b)):
        if rules_a[rk] != rules_b[rk]:
            out.append(f"rule '{rk[1]}' ({rk[0]}) changed")
    return out


# ---------------------------------------------------------------- the watch

_LOST_SESSION = ("NotAuthenticated", "ManagedObjectNotFound", "InvalidCollectorVersion", "SecurityError")


def _fault_name(exc: BaseException) -> str:
    return type(exc).__name__.rpartition(".")[2]


def _is_transport(exc: BaseException) -> bool:
    return isinstance(exc, (OSError, http.client.HTTPException, EOFError))


class Watch(Iterator[Change]):
    """The iterator :func:`watch` returns. ``stats`` counts the server calls it made
    (``"WaitForUpdatesEx"``, ``"RetrievePropertiesEx"``, ``"CreateFilter"``, …) and what it
    did (``"object_refresh"``, ``"reconnect"``, ``"resync"``, ``"retry"``); ``log`` records
    reconnections and re-reads, one line each. A context manager: leaving it calls
    :meth:`close`."""

    def __init__(
        self,
        service_instance: Any,
        cluster: str,
        *,
        connect: Callable[[], Any] | None = None,
        defaults: Defaults | Mapping[str, Any] | None = None,
        failures: int | None = None,
        poll_s: float = 1.0,
        duration: float | None = None,
        max_changes: int | None = None,
        only_changes_that_matter: bool = False,
        retries: int = 5,
        page_size: int = 500,
    ) -> None:
        if not isinstance(cluster, str) or not cluster:
            raise ArgumentError("cluster must be the cluster's name, 'DATACENTER/NAME' or its managed-object id")
        if failures is not None and (isinstance(failures, bool) or not isinstance(failures, int) or failures < 0):
            raise ArgumentError(f"failures must be a whole number ≥ 0, got {failures!r}")
        if not (isinstance(poll_s, (int, float)) and 0 < poll_s <= 600):
            raise ArgumentError(f"poll_s must be a number of seconds in (0, 600], got {poll_s!r}")
        self.si = service_instance
        self.cluster = cluster
        self.connect = connect
        self.defaults = Defaults.coerce(defaults)
        self.failures = failures
        self.poll_s = poll_s
        self.deadline = None if duration is None else time.monotonic() + float(duration)
        self.max_changes = max_changes
        self.only = only_changes_that_matter
        self.retries = retries
        self.page_size = page_size
        self.stats: Counter[str] = Counter()
        self.log: list[str] = []
        self.seq = 0
        self.closed = False
        self._pc: Any = None
        self._view: Any = None
        self._version: str | None = None
        self._objects: dict[str, dict[str, dict[str, Any]]] = {}
        self._place: Any = None
        self._located: Any = None
        self._content: Any = None
        self._inventory: Inventory | None = None
        self._posture: Posture | None = None
        self._source: str | None = None
        self._full = False
        self._wanted: dict[str, tuple[str, ...]] = {}
        self._received = 0.0  # when the last WaitForUpdatesEx answered (time.monotonic())
        # Whether a version token can ask the server again for what a lost answer carried: True
        # once an update came with a version other than the one sent, False when it came with
        # the same one (govmomi's simulator answers every version with "-"), None before.
        self._tokens_trusted: bool | None = None

    # ------------------------------------------------------------ public
    def __iter__(self) -> Watch:
        return self

    def __enter__(self) -> Watch:
        return self

    def __exit__(self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    @property
    def inventory(self) -> Inventory | None:
        """The inventory as of the last change (``None`` before the first)."""
        return self._inventory

    def close(self) -> None:
        """Destroys the property collector (and its filter) and the view on the server."""
        if self.closed:
            return
        self.closed = True
        for obj, method in ((self._pc, "DestroyPropertyCollector"), (self._view, "DestroyView")):
            if obj is not None:
                try:
                    getattr(obj, method)()
                except Exception:  # noqa: BLE001 - best effort: the session may be gone
                    pass
        self._pc = self._view = None

    def __next__(self) -> Change:
        if self.closed or (self.max_changes is not None and self.seq >= self.max_changes):
            self.close()
            raise StopIteration
        try:
            if self._pc is None:
                return self._emit(self._start("initial", "full read"))
            while True:
                if self.deadline is not None and time.monotonic() >= self.deadline:
                    self.close()
                    raise StopIteration
                change = self._step()
                if change is not None and (change.matters or not self.only):
                    return self._emit(change)
        except BaseException:  # StopIteration, KeyboardInterrupt, errors: the watch ends
            self.close()
            raise

    # ------------------------------------------------------------ internals
    def _emit(self, change: Change) -> Change:
        self.seq += 1
        return change

    def _call(self, name: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        self.stats[name] += 1
        return fn(*args, **kwargs)

    def _start(self, kind: str, why: str) -> Change:
        """Locates the cluster, creates the collector and its filter, and reads everything."""
        vim, vmodl = vs._pyvmomi()
        PC = vmodl.query.PropertyCollector
        t0 = time.monotonic()
        self.stats["RetrievePropertiesEx"] += 1  # _locate: one call to find the cluster
        content, place, located = vs._locate(self.si, self.cluster, self.page_size)
        self._content, self._place, self._located = content, place, located
        self._source = vs._source(self.si)
        stub = getattr(content.rootFolder, "_stub", None)
        cref = vim.ClusterComputeResource(place.moid, stub=stub)
        self._view = self._call("CreateContainerView", content.viewManager.CreateContainerView,
                                cref, [vim.HostSystem, vim.VirtualMachine], True)
        specs, wanted = vs._cluster_specs(cref, self._view)
        self._pc = self._call("CreatePropertyCollector", content.propertyCollector.CreatePropertyCollector)
        paths = {t: list(p) for t, p in wanted.items()}
        prop_specs = [PC.PropertySpec(type=t, pathSet=p, all=False) for t, p in paths.items()]
        self._wanted = {vs._wsdl_type(t): tuple(p) for t, p in paths.items()}
        self._call("CreateFilter", self._pc.CreateFilter, PC.FilterSpec(objectSet=specs, propSet=prop_specs), True)
        old = self._objects
        self._objects = {t: {} for t in _KINDS}
        self._version = ""
        self._full = True
        try:
            self._wait(initial=True)
        finally:
            self._full = False
        details = self._diff(old, self._objects) if kind == "resync" else []
        what = why if not details else f"{why}: " + "; ".join(details)
        if kind == "resync":
            self.log.append(f"{datetime.datetime.now(datetime.timezone.utc).isoformat()} {what}")
        change = self._evaluate(kind, what, tuple(details), t0)
        assert change is not None  # a full read always gives a change
        return change

    def _wait(self, initial: bool = False) -> list[str] | None:
        """One ``WaitForUpdatesEx`` (more while the server says the set is truncated), the
        updates applied. Returns the phrases of what changed (``None``: nothing came)."""
        _, vmodl = vs._pyvmomi()
        PC = vmodl.query.PropertyCollector
        wait = 0 if initial else max(1, round(self.poll_s))
        phrases: list[str] = []
        came = False
        for _ in range(10_000):  # bounded: a truncated set continues at most this often
            opts = PC.WaitOptions(maxWaitSeconds=wait)
            sent = self._version
            update = self._call("WaitForUpdatesEx", self._pc.WaitForUpdatesEx, sent, opts)
            self._received = time.monotonic()
            if update is None:
                break
            came = True
            if sent:  # evidence: does the server version its updates?
                self._tokens_trusted = update.version != sent
            self._version = update.version
            refresh: set[tuple[str, str]] = set()
            for fs in update.filterSet or ():
                for ou in fs.objectSet or ():
                    self._apply(ou, phrases, refresh)
            if refresh:
                self._refresh(refresh)
            if not getattr(update, "truncated", False):
                break
            wait = 0
        return phrases if came else None

    def _apply(self, ou: Any, phrases: list[str], refresh: set[tuple[str, str]]) -> None:
        kind = vs._wsdl(ou.obj)
        moid = vs._moid(ou.obj)
        objs = self._objects.setdefault(kind, {})
        wanted = self._wanted.get(kind, ())
        if ou.kind == "leave":
            gone = objs.pop(moid, None)
            if gone is not None:
                phrases.append(f"{_kind_word(kind)} {moid} ({vs._name(gone.get('name') or moid)}) left the cluster")
            return
        entering = ou.kind == "enter" or moid not in objs
        props = objs.setdefault(moid, {})
        name = vs._name(props.get("name") or moid)
        lab = self._label
        for ch in ou.changeSet or ():
            path, op = str(ch.name), str(ch.op)
            if path in wanted:
                old = props.get(path)
                if op in ("remove", "indirectRemove"):
                    props.pop(path, None)
                    new = None
                else:
                    props[path] = new = ch.val
                if not entering and not _same(old, new):
                    p = _describe(kind, moid, name, path, old, new, lab)
                    if p is not None:
                        phrases.append(p)
            elif any(path.startswith(w + ".") or path.startswith(w + "[") for w in wanted):
                refresh.add((kind, moid))  # a change below a path we hold: re-read that object
            else:
                for w in wanted:  # a change to a parent of paths we hold: derive them
                    if w.startswith(path + "."):
                        val: Any = ch.val
                        for part in w[len(path) + 1:].split("."):
                            val = getattr(val, part, None) if val is not None else None
                        if val is None:
                            props.pop(w, None)
                        else:
                            props[w] = val
        for missing in getattr(ou, "missingSet", None) or ():
            if str(missing.path) in wanted:
                refresh.add((kind, moid))
        if entering and not self._full:
            phrases.append(f"{_kind_word(kind)} {moid} ({vs._name(props.get('name') or moid)}) joined the cluster")

    def _refresh(self, which: set[tuple[str, str]]) -> None:
        """Re-reads the objects ``which`` (kind, moid): one ``RetrievePropertiesEx``."""
        vim, vmodl = vs._pyvmomi()
        PC = vmodl.query.PropertyCollector
        stub = getattr(self._content.rootFolder, "_stub", None)
        specs = [PC.ObjectSpec(obj=getattr(vim, k)(m, stub=stub), skip=False) for k, m in sorted(which)]
        wanted = {getattr(vim, k): self._wanted[k] for k in sorted({k for k, _ in which})}
        self.stats["object_refresh"] += len(which)
        self.stats["RetrievePropertiesEx"] += 1
        got = vs._retrieve(self._content.propertyCollector, vmodl, specs, wanted, self.page_size)
        for k, m in which:
            if m in got.get(k, {}):
                self._objects.setdefault(k, {})[m] = got[k][m]

    def _label(self, moid: str) -> str:
        for kind in ("HostSystem", "VirtualMachine", "Datastore"):
            p = self._objects.get(kind, {}).get(moid)
            if p is not None:
                name = vs._name(p.get("name") or moid)
                return f"{moid} ({name})" if name != moid else moid
        return moid

    def _diff(self, old: Mapping[str, Mapping[str, Mapping[str, Any]]], new: Mapping[str, Mapping[str, Mapping[str, Any]]]) -> list[str]:
        """Every property that differs between two full reads, one phrase each."""
        out: list[str] = []
        for kind in _KINDS:
            a, b = old.get(kind, {}), new.get(kind, {})
            for moid in sorted(set(a) | set(b), key=vs._sort_key):
                if moid not in b:
                    out.append(f"{_kind_word(kind)} {moid} ({vs._name(a[moid].get('name') or moid)}) left the cluster")
                    continue
                if moid not in a:
                    out.append(f"{_kind_word(kind)} {moid} ({vs._name(b[moid].get('name') or moid)}) joined the cluster")
                    continue
                name = vs._name(b[moid].get("name") or moid)
                for path in self._wanted.get(kind, ()):
                    x, y = a[moid].get(path), b[moid].get(path)
                    if _same(x, y):
                        continue
                    p = _describe(kind, moid, name, path, x, y, self._label)
                    if p is not None:
                        out.append(p)
        return out

    def _evaluate(self, kind: str, what: str, details: tuple[str, ...], t0: float) -> Change | None:
        raw = vs._Raw(
            version=getattr(getattr(self._content, "about", None), "version", None),
            cluster_id=self._place.moid,
            cluster=self._objects.get("ClusterComputeResource", {}).get(self._place.moid, {}),
            hosts=self._objects.get("HostSystem", {}),
            vms=self._objects.get("VirtualMachine", {}),
            datastores=self._objects.get("Datastore", {}),
            located_name=self._place.name,
        )
        error = None
        try:
            inv = vs._Converter(raw, self.defaults, self._source).build().inventory
        except InventoryError as exc:
            if self._inventory is None:
                raise
            error = "; ".join(f"{p}: {m}" for p, m in exc.problems)
            inv = self._inventory
        if kind == "update" and not details and error is None and inv == self._inventory:
            return None  # e.g. a vMotion to the host the VM is on: nothing moved
        if error is None and self._inventory is not None and any(_RECONFIGURED in d for d in details):
            # Say what the cluster reconfiguration changed, from the inventories before and after.
            specific = _config_phrases(self._inventory, inv)
            if specific:
                details = tuple(d for d in details if _RECONFIGURED not in d) + tuple(specific)
                what = "; ".join(details)
        before = self._posture
        after = posture(inv, self.failures) if error is None or before is None else before
        delta = tuple(posture_delta(before, after))
        remedies: tuple[str, ...] = ()
        if not after.holds and (before is None or before.holds):
            # The promise that broke: surviving the promised host failures, else admission control.
            swept = (after.failures_survived or 0) < min(after.promised_failures, after.failures)
            remedies = _remedies(inv, after.promised_failures if swept else None)
        self._inventory, self._posture = inv, after
        return Change(self.seq, kind, what, details, inv, after, before, delta, remedies, error,
                      seconds=time.monotonic() - t0)

    def _step(self) -> Change | None:
        for attempt in range(self.retries + 1):
            try:
                phrases = self._wait()
                t0 = self._received
            except KeyboardInterrupt:
                raise
            except Exception as exc:  # noqa: BLE001 - sorted below; anything else propagates
                name = _fault_name(exc)
                if _is_transport(exc) and attempt < self.retries:
                    self.stats["retry"] += 1
                    time.sleep(min(0.2 * 2 ** attempt, 5.0))
                    if self._tokens_trusted is not True:
                        # An answer lost on the way may have carried changes, and this server's
                        # version token cannot ask for them again: read everything again.
                        return self._resync(f"connection dropped ({type(exc).__name__}) and this server has not "
                                            "shown that it versions its updates; full re-read (updates may have "
                                            "been missed)")
                    self.log.append(f"connection dropped ({type(exc).__name__}: {exc}); "
                                    f"waiting again with version {self._version!r}")
                    continue
                if name in _LOST_SESSION or _is_transport(exc):
                    msg = str(getattr(exc, "msg", "") or "") if not _is_transport(exc) else str(exc)
                    return self._reconnect(f"{name}: {msg}" if msg else name)
                raise
            if phrases is None:
                return None
            return self._evaluate("update", "; ".join(phrases) or "properties refreshed", tuple(phrases), t0)
        return None  # pragma: no cover - the loop returns or continues

    def _resync(self, why: str) -> Change:
        """A full re-read on the same session: a new collector and filter (the old ones are
        destroyed, best effort)."""
        self.stats["resync"] += 1
        for obj, method in ((self._pc, "DestroyPropertyCollector"), (self._view, "DestroyView")):
            try:
                getattr(obj, method)()
            except Exception:  # noqa: BLE001 - best effort: the connection was just lost
                pass
        self._pc = self._view = None
        return self._start("resync", why)

    def _reconnect(self, why: str) -> Change:
        if self.connect is None:
            raise ConnectionError(f"the vCenter session was lost ({why}) and watch() was given no connect= to log in again")
        last: BaseException | None = None
        for attempt in range(self.retries + 1):
            try:
                self.si = self.connect()
                self.stats["reconnect"] += 1
                self.stats["resync"] += 1
                self._pc = self._view = None
                return self._start("resync", f"reconnected after {why}; full re-read (updates may have been missed)")
            except KeyboardInterrupt:
                raise
            except Exception as exc:  # noqa: BLE001 - retried, then raised
                last = exc
                time.sleep(min(0.5 * 2 ** attempt, 10.0))
        raise ConnectionError(f"could not reconnect to vCenter after {self.retries + 1} attempts: {last}") from last


def _kind_word(kind: str) -> str:
    return _KINDS.get(kind, kind)


def _same(x: Any, y: Any) -> bool:
    try:
        return bool(x == y) or repr(_value(x)) == repr(_value(y))
    except Exception:  # noqa: BLE001 - pyVmomi data objects compare by value; be safe
        return False


def _remedies(inv: Inventory, failures: int | None, n: int = 3) -> tuple[str, ...]:
    from ..remedies import remedies

    try:
        return tuple(r.summary for r in list(remedies(inv, failures))[:n])
    except Exception as exc:  # noqa: BLE001 - a remedy search must never end the watch
        return (f"no remedies computed ({exc})",)


def watch(
    service_instance: Any,
    cluster: str,
    *,
    connect: Callable[[], Any] | None = None,
    defaults: Defaults | Mapping[str, Any] | None = None,
    failures: int | None = None,
    poll_s: float = 1.0,
    duration: float | None = None,
    max_changes: int | None = None,
    only_changes_that_matter: bool = False,
    retries: int = 5,
) -> Watch:
    """Watches cluster ``cluster`` of a connected pyVmomi ``ServiceInstance``; iterate to get
    a :class:`Change` per batch of updates, the first being the full read (see the module
    docstring for how). ``connect``: a callable returning a new ``ServiceInstance`` after a
    lost session (without it a lost session raises ``ConnectionError``). ``failures``: the
    sweep's k and the promise checked (default as the report). ``poll_s``: the longest wait of
    one ``WaitForUpdatesEx``; ``duration`` (seconds) and ``max_changes`` end the watch;
    ``only_changes_that_matter`` skips changes that moved nothing (:attr:`Change.matters`)."""
    return Watch(service_instance, cluster, connect=connect, defaults=defaults, failures=failures, poll_s=poll_s,
                 duration=duration, max_changes=max_changes, only_changes_that_matter=only_changes_that_matter,
                 retries=retries)


# ---------------------------------------------------------------- connecting (govc's conventions)


@dataclass(frozen=True)
class Target:
    """Where and how to log in: ``scheme`` (``https``, or ``http`` for simulators), ``host``,
    ``port``, ``path`` (``/sdk``), ``user``, ``insecure`` (TLS certificate not verified). The
    password is never stored here."""

    scheme: str
    host: str
    port: int
    path: str
    user: str
    insecure: bool

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.host}:{self.port}{self.path}"


def _truthy(v: str | None) -> bool:
    return (v or "").strip().lower() in ("1", "true", "yes", "on")


def target(
    server: str | None, username: str | None = None, insecure: bool | None = None,
    env: Mapping[str, str] | None = None,
) -> tuple[Target, str | None]:
    """The :class:`Target` and the password from the environment (``None``: ask), following
    govc: ``GOVC_URL`` (``[https://][user[:password]@]host[:port][/sdk]``),
    ``GOVC_USERNAME``, ``GOVC_PASSWORD``, ``GOVC_INSECURE`` are the defaults of ``server``,
    ``username`` and ``insecure``. A password inside ``server`` is refused: it would be on the
    command line (put it in ``GOVC_PASSWORD`` or ``GOVC_URL``, or type it when asked)."""
    import os
    import urllib.parse

    env = os.environ if env is None else env
    from_env = server is None
    raw = server if server is not None else env.get("GOVC_URL")
    if not raw:
        raise ArgumentError("no vCenter given: pass --server URL or set GOVC_URL")
    if "://" not in raw:
        raw = "https://" + raw
    u = urllib.parse.urlsplit(raw)
    if u.scheme not in ("http", "https") or not u.hostname:
        raise ArgumentError(f"--server must be an http:// or https:// URL of a vCenter, got {raw!r}")
    password: str | None = None
    if u.password is not None:
        if not from_env:
            raise ArgumentError("never put a password on the command line: remove it from --server and set "
                                "GOVC_PASSWORD, or type it when asked")
        password = urllib.parse.unquote(u.password)
    user = username or env.get("GOVC_USERNAME") or (urllib.parse.unquote(u.username) if u.username else None)
    if not user:
        raise ArgumentError("no user name: pass --username or set GOVC_USERNAME (or user@ in GOVC_URL)")
    if password is None:
        password = env.get("GOVC_PASSWORD") or None  # empty: not set
    try:
        port = u.port or (443 if u.scheme == "https" else 80)
    except ValueError as exc:
        raise ArgumentError(f"bad port in {raw!r}: {exc}") from None
    insecure = _truthy(env.get("GOVC_INSECURE")) if insecure is None else insecure
    return Target(u.scheme, u.hostname, port, u.path.rstrip("/") or "/sdk", user, bool(insecure)), password


def connector(t: Target, password: str) -> Callable[[], Any]:
    """A callable that logs in to ``t`` (pyVmomi ``SmartConnect``) and returns the
    ``ServiceInstance``; :func:`watch` calls it again after a lost session."""
    import importlib

    try:
        connect_mod = importlib.import_module("pyVim.connect")
    except ImportError as exc:
        raise ImportError("watching vCenter needs pyVmomi, an optional dependency: pip install pyvmomi") from exc

    def connect() -> Any:
        kwargs: dict[str, Any] = {"protocol": t.scheme, "host": t.host, "port": t.port, "path": t.path,
                                  "user": t.user, "pwd": password, "httpConnectionTimeout": 60}
        if t.scheme == "https" and t.insecure:
            kwargs["disableSslCertValidation"] = True
        return connect_mod.SmartConnect(**kwargs)

    return connect


def cli_connect(args: Any) -> Callable[[], Any]:
    """The login of ``hapolicy watch`` / ``replay`` from ``--server``, ``--username`` and
    ``--insecure`` and the GOVC_* variables; asks for the password when none is set."""
    import getpass
    import sys

    t, password = target(args.server, args.username, True if args.insecure else None)
    if t.insecure and t.scheme == "https":
        print(f"hapolicy: warning: the TLS certificate of {t.host} is not verified (--insecure / GOVC_INSECURE): "
              "use this only in a lab", file=sys.stderr)
    if password is None:
        if not sys.stdin.isatty():
            raise ArgumentError("no password: set GOVC_PASSWORD (standard input is not a terminal to ask on)")
        password = getpass.getpass(f"Password for {t.user} at {t.host}: ")
    return connector(t, password)


def cli_watch(args: Any) -> int:
    """``hapolicy watch`` (see docs/live.rst): exit 0 when ended (Ctrl-C, ``--duration``), 1
    with ``--check`` the first time a promise breaks, 2 when the server cannot be reached."""
    import json
    import sys

    connect = cli_connect(args)
    si = connect()
    w = watch(si, args.cluster, connect=connect, failures=args.failures, duration=args.duration)
    code = 0
    try:
        for change in w:
            if args.json:
                print(json.dumps({"schema_version": 1, **change.to_dict()}), flush=True)
            elif change.matters:
                print(change.text(), flush=True)
            if args.check and not change.posture.holds:
                code = 1
                break
    except KeyboardInterrupt:
        print("hapolicy: watch ended", file=sys.stderr)
    finally:
        w.close()
    return code
