"""Assertions for your own test suite, written to read well when they fail.

>>> from hapolicy.testing import assert_survives, assert_admits, assert_timeline
>>> inv = ha.Inventory.load("examples/lab.json")               # doctest: +SKIP
>>> assert_survives(inv, failures=2)                            # doctest: +SKIP
>>> assert_survives(inv, failures=3)                            # doctest: +SKIP
Traceback (most recent call last):
AssertionError: cluster 'lab' does not survive 3 host failures: 4 of 14 failure combinations ...

Each helper raises :class:`AssertionError` with a message that names what went wrong (the
worst host combinations and the VMs left unplaced with their reasons, the admission-control
reason, a diff of the timeline), so a failing test explains itself. They work under any test
runner; with pytest, the ``ha_inventory`` fixture of :mod:`hapolicy.pytest_plugin` loads the
inventory under test.
"""

from __future__ import annotations

import dataclasses
import difflib
import itertools
import math
import re
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Union

from .admission import AdmissionDecision, admission_control, check_migrate_in, check_power_on
from .enums import EventKind
from .inventory import Inventory, Vm
from .placement import FailoverPlan, plan_failover
from .simulation import Event, Simulation, Timeline, _id_of

__all__ = [
    "ExpectedEvent",
    "assert_admits",
    "assert_failover_level",
    "assert_refuses",
    "assert_survives",
    "assert_timeline",
]

#: What :func:`assert_timeline` accepts for one expected event: a text line (or a fragment of
#: one), a ``(time, kind)`` or ``(time, kind, host_or_vm)`` tuple, a mapping of
#: :class:`~hapolicy.Event` fields, or an :class:`~hapolicy.Event`.
ExpectedEvent = Union[str, tuple[Any, ...], Mapping[str, Any], Event]


# ----------------------------------------------------------------------------- failures


@dataclass(frozen=True, slots=True)
class _Scenario:
    """One host-failure combination, reduced to what the assertions need (the shape of
    ``hapolicy.sweep``'s ``ScenarioResult``)."""

    failed_hosts: tuple[str, ...]
    restarted: int
    unplaced: int
    unplaced_vms: tuple[str, ...]


def _host_candidates(inv: Inventory, hosts: Iterable[str] | None) -> list[str]:
    if hosts is None:
        return sorted(h.id for h in inv.hosts)
    chosen = [hosts] if isinstance(hosts, str) else list(hosts)
    # Ids or unambiguous names; UnknownIdError for a typo (or a shared name), before any work.
    return sorted({inv.resolve_host(h) for h in chosen})


def _failure_scenarios(inv: Inventory, max_failures: int, hosts: Iterable[str] | None = None) -> list[_Scenario]:
    """Every combination of 1 … ``max_failures`` failed hosts among ``hosts`` (default: all),
    by size then in ``itertools.combinations`` order over the sorted ids. Uses ``hapolicy.sweep``
    when the engine has it, else plans each combination with :func:`~hapolicy.plan_failover`."""
    candidates = _host_candidates(inv, hosts)
    sweep = getattr(sys.modules[__package__ or "hapolicy"], "sweep", None)
    if sweep is not None:
        result = sweep(inv, max_failures=max_failures, hosts=None if hosts is None else candidates)
        return [
            _Scenario(tuple(r.failed_hosts), int(r.restarted), int(r.unplaced), tuple(r.unplaced_vms))
            for r in result.results
        ]
    out: list[_Scenario] = []
    for k in range(1, min(max_failures, len(candidates)) + 1):
        for failed in itertools.combinations(candidates, k):
            plan = plan_failover(inv, failed)
            out.append(_Scenario(failed, plan.restarted, len(plan.unplaced), tuple(u.vm for u in plan.unplaced)))
    return out


def _assert_survives_units(inv: Inventory, failures: int, hosts: Iterable[str] | None, show: int, unit: str) -> None:
    """:func:`assert_survives` for fault domains or sites (a unit sweep)."""
    __tracebackhide__ = True
    from .sweep import sweep

    chosen = None if hosts is None else _host_candidates(inv, hosts)
    result = sweep(inv, max_failures=failures, hosts=chosen, unit=unit)
    failing = [r for r in result if r.unplaced]
    if not failing:
        return
    noun = "fault domain" if unit == "fault_domain" else "site"
    survives = result.max_failures_tolerated or 0
    head = (f"{_cluster(inv)} does not survive {failures} {noun} failure{'s' if failures != 1 else ''}: "
            f"{len(failing)} of {result.scenarios} combinations leave VMs unplaced")
    head += f"; it survives any {survives}" if survives > 0 else f"; even a single {noun} failure leaves VMs unplaced"
    lines = [head, f"worst combination{'s' if len(failing) > 1 else ''}:"]
    worst = sorted(failing, key=lambda r: (-r.unplaced, len(r.failed_units), r.failed_units))
    for r in worst[:show]:
        plan = plan_failover(inv, r.failed_hosts)
        lines.append(f"  {noun} {' + '.join(r.failed_units)} ({_labels(inv, r.failed_hosts)}) fails: "
                     f"{r.unplaced} unplaced, {r.restarted} restarted")
        lines += _describe_plan(inv, plan, max_vms=10)
    if len(worst) > show:
        lines.append(f"  … {len(worst) - show} more failing combinations")
    raise AssertionError("\n".join(lines))


def _cluster(inv: Inventory) -> str:
    return f"cluster {inv.config.name!r}" if inv.config.name else "the cluster"


def _labels(inv: Inventory, ids: Iterable[str], sep: str = ", ") -> str:
    return sep.join(inv.label(i) for i in ids)


def _describe_plan(inv: Inventory, plan: FailoverPlan, max_vms: int) -> list[str]:
    lines = []
    for u in plan.unplaced[:max_vms]:
        why = "; ".join(f"{inv.label(h)}: {w}" for h, w in u.hosts.items() if h not in plan.failed_hosts)
        lines.append(f"    {inv.label(u.vm)} [{u.priority}]: {u.reason} — {why or 'no surviving host'}")
    if len(plan.unplaced) > max_vms:
        lines.append(f"    … {len(plan.unplaced) - max_vms} more unplaced VMs")
    return lines


def _sizes(failures: int) -> str:
    return "1 host" if failures == 1 else f"1–{failures} hosts"


def _tolerated(scenarios: Sequence[_Scenario], max_failures: int) -> int:
    """The largest k ≤ max_failures such that no combination of at most k hosts leaves a VM
    unplaced."""
    bad = [len(s.failed_hosts) for s in scenarios if s.unplaced]
    return min(bad) - 1 if bad else max_failures


def assert_survives(
    inv: Inventory, failures: int = 2, hosts: Iterable[str] | None = None, *, show: int = 5, unit: str = "host"
) -> None:
    """Asserts that every combination of up to ``failures`` failed hosts (among ``hosts``;
    default every host) restarts every VM HA attempts to restart (R-PLACE): no VM is left
    unplaced. VMs HA does not restart by rule (restart priority disabled, cleanly powered off,
    …) do not count.

    On failure the message says how many combinations fail, how many failures the cluster does
    survive, and for the ``show`` worst combinations the VMs left unplaced with their reason and,
    host by host, why no surviving host could take them.

    Uses ``hapolicy.sweep`` when the engine provides it, else :func:`~hapolicy.plan_failover`
    for each combination.

    ``unit`` (R-DOMAIN): ``"fault_domain"`` or ``"site"`` asserts that every combination of up to
    ``failures`` failed fault domains / sites restarts everything, e.g.
    ``assert_survives(inv, 1, unit="site")`` for a stretched cluster.
    """
    __tracebackhide__ = True
    if failures < 1:
        raise ValueError(f"failures must be at least 1, got {failures}")
    if unit != "host":
        _assert_survives_units(inv, failures, hosts, show, unit)
        return
    chosen = None if hosts is None else _host_candidates(inv, hosts)
    scenarios = _failure_scenarios(inv, failures, chosen)
    failing = [s for s in scenarios if s.unplaced]
    if not failing:
        return
    survives = _tolerated(scenarios, failures)
    worst = sorted(failing, key=lambda s: (-s.unplaced, len(s.failed_hosts), s.failed_hosts))
    scope = "" if chosen is None else f" among {_labels(inv, chosen)}"
    head = (
        f"{_cluster(inv)} does not survive {failures} host failure{'s' if failures != 1 else ''}{scope}: "
        f"{len(failing)} of {len(scenarios)} failure combinations ({_sizes(failures)}) leave VMs unplaced"
    )
    head += f"; it survives any {survives}" if survives > 0 else "; even a single host failure leaves VMs unplaced"
    lines = [head, f"worst combination{'s' if len(worst) > 1 else ''}:"]
    for s in worst[:show]:
        plan = plan_failover(inv, s.failed_hosts)
        lines.append(f"  {_labels(inv, s.failed_hosts, ' + ')} fail: {s.unplaced} unplaced, {s.restarted} restarted")
        lines += _describe_plan(inv, plan, max_vms=10)
    if len(worst) > show:
        lines.append(f"  … {len(worst) - show} more failing combinations")
    raise AssertionError("\n".join(lines))


def assert_failover_level(
    inv: Inventory, at_least: int, *, basis: Literal["admission", "placement"] = "admission"
) -> None:
    """Asserts the cluster's failover level is at least ``at_least`` host failures.

    ``basis="admission"`` (default) checks the figure vCenter shows: the slot policy's *current
    failover level* (R-AC-SLOT); for the percentage policy, the largest k whose auto-computed
    reservation k / N (R-AC-PCT, N counted hosts) the current CPU and memory failover capacity
    both cover. Other policies report no level: use ``basis="placement"``. ``basis="placement"``
    checks what HA would actually do: every combination of ``at_least`` failed hosts restarts
    every VM (see :func:`assert_survives`). The two can differ: a large slot makes the slot
    policy conservative.
    """
    __tracebackhide__ = True
    if at_least < 0:
        raise ValueError(f"at_least must not be negative, got {at_least}")
    if basis == "placement":
        if at_least == 0:
            return
        scenarios = _failure_scenarios(inv, at_least)
        level = _tolerated(scenarios, at_least)
        if level >= at_least:
            return
        failing = sorted((s for s in scenarios if s.unplaced), key=lambda s: (len(s.failed_hosts), -s.unplaced))
        first = failing[0]
        raise AssertionError(
            f"{_cluster(inv)} tolerates {level} host failure{'s' if level != 1 else ''} by placement, "
            f"expected at least {at_least}: when {_labels(inv, first.failed_hosts, ' + ')} fail, "
            f"{first.unplaced} VM{'s' if first.unplaced != 1 else ''} cannot restart "
            f"({_labels(inv, first.unplaced_vms[:10])}{', …' if len(first.unplaced_vms) > 10 else ''}); "
            f"{len(failing)} of {len(scenarios)} combinations of up to {at_least} hosts fail"
        )
    if basis != "admission":
        raise ValueError(f"basis must be 'admission' or 'placement', got {basis!r}")
    report = admission_control(inv)
    if report.current_failover_level is not None:
        level = report.current_failover_level
        if level >= at_least:
            return
        raise AssertionError(
            f"{_cluster(inv)} admission control (slot policy) reports current failover level {level}, "
            f"expected at least {at_least}.\n{report.text.rstrip()}"
        )
    cpu, mem, n = report.cpu_failover_percent, report.memory_failover_percent, len(report.counted_hosts)
    if cpu is not None and mem is not None:
        # The largest k whose auto-computed reservation k / N (R-AC-PCT) the current failover
        # capacity still covers: what admission control would accept as "host failures".
        level = max((k for k in range(n) if k * 100.0 / n <= min(cpu, mem) + 1e-9), default=0) if n >= 2 else 0
        if level >= at_least:
            return
        raise AssertionError(
            f"{_cluster(inv)} admission control (percentage policy): current failover capacity CPU {cpu:.2f} %, "
            f"memory {mem:.2f} % of {n} counted host{'s' if n != 1 else ''} covers {level} host failure"
            f"{'s' if level != 1 else ''} (k / N = {level * 100.0 / max(n, 1):.2f} %), expected at least {at_least} "
            f"(needs {at_least * 100.0 / max(n, 1):.2f} % of both).\n{report.text.rstrip()}"
        )
    raise ValueError(
        f"{_cluster(inv)} has admission-control policy {str(report.policy)!r}, which reports no failover "
        "level in host failures; use basis='placement' to check what HA's placement tolerates"
    )


# ----------------------------------------------------------------------------- admission


def _shown(inv: Inventory, kind: str, x: Any) -> str:
    """``x`` (an id or a name) as readers see it: ``host-21 (esx-01)``; as given when it names
    nothing (a new VM)."""
    if not isinstance(x, str):
        return str(x)
    try:
        return inv.label(inv.resolve_vm(x) if kind == "vm" else inv.resolve_host(x))
    except KeyError:
        return x


def _check(inv: Inventory, vm: Vm | Mapping[str, Any] | str, operation: str) -> tuple[AdmissionDecision, str]:
    doc: Vm | Mapping[str, Any] = {"id": vm} if isinstance(vm, str) else vm
    if operation == "power_on":
        decision, verb = check_power_on(inv, doc), "powering on"
    elif operation == "migrate_in":
        decision, verb = check_migrate_in(inv, doc), "migrating in"
    else:
        raise ValueError(f"operation must be 'power_on' or 'migrate_in', got {operation!r}")
    vm_id = doc.id if isinstance(doc, Vm) else doc.get("id", "the VM")
    host = doc.host if isinstance(doc, Vm) else doc.get("host")
    what = f"{verb} {_shown(inv, 'vm', vm_id)}" + (f" on {_shown(inv, 'host', host)}" if host else "")
    policy = inv.config.admission_control
    return decision, f"{what} (admission control: {policy.policy})"


def assert_admits(
    inv: Inventory, vm: Vm | Mapping[str, Any] | str, *, operation: Literal["power_on", "migrate_in"] = "power_on"
) -> AdmissionDecision:
    """Asserts admission control (R-AC) allows powering on ``vm`` (or, with
    ``operation="migrate_in"``, migrating it into the cluster). ``vm`` is a :class:`~hapolicy.Vm`,
    a dict in the JSON vm shape, or the id of a powered-off VM of the inventory. The message of a
    refusal quotes the decision's reason. Returns the decision."""
    __tracebackhide__ = True
    decision, what = _check(inv, vm, operation)
    if not decision.allowed:
        raise AssertionError(f"expected admission control to allow {what}, but it refuses: {decision.reason}")
    return decision


def assert_refuses(
    inv: Inventory, vm: Vm | Mapping[str, Any] | str, *, operation: Literal["power_on", "migrate_in"] = "power_on"
) -> AdmissionDecision:
    """Asserts admission control (R-AC) refuses powering on (or migrating in) ``vm``; the
    opposite of :func:`assert_admits`. Returns the decision."""
    __tracebackhide__ = True
    decision, what = _check(inv, vm, operation)
    if decision.allowed:
        raise AssertionError(f"expected admission control to refuse {what}, but it allows it: {decision.reason}")
    return decision


# ----------------------------------------------------------------------------- timelines


_KINDS = {k.value for k in EventKind}
_TUPLE_FIELDS = ("time", "kind", "who")
_MAPPING_FIELDS = frozenset({"time", "kind", "host", "vm", "who", "text", "detail"})


@dataclass(frozen=True, slots=True)
class _Pattern:
    """One normalised expected event."""

    shown: str
    text: str | None = None
    time: float | None = None
    kind: str | None = None
    host: str | None = None
    vm: str | None = None
    who: str | None = None
    detail: Mapping[str, Any] | None = None
    event: Event | None = None
    #: The forms of an event's text a fragment may match (the line as shown, with ids only,
    #: with names only); the line as shown when the inventory is not known.
    forms: Callable[[Event], tuple[str, ...]] | None = field(default=None, compare=False)

    def matches(self, e: Event, tol: float, ignore_time: bool = False) -> bool:
        if self.event is not None:
            return e == self.event or (ignore_time and e == _retime(self.event, e.time))
        if self.text is not None and self.text not in e.text:
            if self.forms is None or not any(self.text in t for t in self.forms(e)[1:]):
                return False
        if self.time is not None and not ignore_time and not math.isclose(e.time, self.time, abs_tol=tol):
            return False
        if self.kind is not None and e.kind != self.kind:
            return False
        if self.host is not None and e.host != self.host:
            return False
        if self.vm is not None and e.vm != self.vm:
            return False
        if self.who is not None and self.who not in (e.host, e.vm):
            return False
        if self.detail is not None and any(e.detail.get(k) != v for k, v in self.detail.items()):
            return False
        return True


def _retime(e: Event, t: float) -> Event:
    return Event(t, e.kind, e.host, e.vm, e.detail, e.text)


def _kind(value: Any, where: str) -> str | None:
    if value is None:
        return None
    kind = str(value.value if isinstance(value, EventKind) else value)
    if kind not in _KINDS:
        close = difflib.get_close_matches(kind, sorted(_KINDS), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else f"; known kinds: {', '.join(sorted(_KINDS))}"
        raise ValueError(f"{where}: unknown event kind {kind!r}{hint}")
    return kind


def _time(value: Any, where: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{where}: time must be a number or None, got {value!r}")
    return float(value)


def _pattern(item: ExpectedEvent, i: int) -> _Pattern:
    where = f"expected[{i}]"
    if isinstance(item, Event):
        return _Pattern(shown=f"Event({item.text!r})" if item.text else repr(item), event=item)
    if isinstance(item, str):
        return _Pattern(shown=repr(item), text=item)
    if isinstance(item, tuple):
        if not 2 <= len(item) <= 3:
            raise ValueError(f"{where}: expected (time, kind) or (time, kind, host_or_vm), got {item!r}")
        fields = dict(zip(_TUPLE_FIELDS, item))
        return _Pattern(
            shown=repr(tuple(str(v) if isinstance(v, EventKind) else v for v in item)),
            time=_time(fields["time"], where), kind=_kind(fields["kind"], where), who=fields.get("who"),
        )
    if isinstance(item, Mapping):
        unknown = set(item) - _MAPPING_FIELDS
        if unknown:
            raise ValueError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}; use {', '.join(sorted(_MAPPING_FIELDS))}")
        return _Pattern(
            shown=repr({k: str(v) if isinstance(v, EventKind) else v for k, v in item.items()}),
            text=item.get("text"), time=_time(item.get("time"), where), kind=_kind(item.get("kind"), where),
            host=item.get("host"), vm=item.get("vm"), who=item.get("who"), detail=item.get("detail"),
        )
    raise TypeError(f"{where}: expected a text line, a (time, kind[, host_or_vm]) tuple, a dict or an Event, got {item!r}")


def _events_of(timeline_or_sim: Timeline | Simulation | Iterable[Event]) -> list[Event]:
    if isinstance(timeline_or_sim, Simulation):
        return list(timeline_or_sim.timeline)
    return list(timeline_or_sim)


def _inventory_of(timeline_or_sim: Timeline | Simulation | Iterable[Event]) -> Inventory | None:
    if isinstance(timeline_or_sim, Simulation):
        return timeline_or_sim.inventory
    if isinstance(timeline_or_sim, Timeline):
        return timeline_or_sim.inventory
    return None


def _text_forms(inv: Inventory) -> Callable[[Event], tuple[str, ...]]:
    """For an event: its line as shown (``host-21 (esx-01) hostDown``), with ids only
    (``host-21 hostDown``) and with names only (``esx-01 hostDown``), so a fragment written
    either way matches."""
    labels: dict[str, tuple[str, str]] = {}
    named = [(h.id, h.name) for h in inv.hosts] + [(v.id, v.name) for v in inv.vms]
    for id_, name in named + [(d.id, d.name) for d in inv.datastores]:
        if name and name != id_:
            labels.setdefault(f"{id_} ({name})", (id_, name))
    if not labels:
        return lambda e: (e.text,)
    pattern = re.compile("|".join(re.escape(k) for k in sorted(labels, key=len, reverse=True)))

    def forms(e: Event) -> tuple[str, ...]:
        return (e.text, pattern.sub(lambda m: labels[m.group(0)][0], e.text),
                pattern.sub(lambda m: labels[m.group(0)][1], e.text))

    return forms


def _with_ids(p: _Pattern, inv: Inventory | None) -> _Pattern:
    """``p`` with host / VM / who names replaced by ids, and text fragments matched against the
    id-only and name-only forms of each line (when the inventory is known)."""
    if inv is None or p.event is not None:
        return p

    def resolve(kind: str, x: str | None) -> str | None:
        return _id_of(inv, kind, x)

    who = p.who
    if who is not None:
        host_id, vm_id = resolve("host", who), resolve("vm", who)
        who = host_id if host_id != who else vm_id
    forms = _text_forms(inv) if p.text is not None else None
    return dataclasses.replace(p, host=resolve("host", p.host), vm=resolve("vm", p.vm), who=who, forms=forms)


def _hint(p: _Pattern, events: Sequence[Event], tol: float, before: int) -> str:
    """Why ``p`` was not found after event ``before``: it is earlier (out of order), at another
    time, or something similar exists."""
    earlier = next((j for j in range(before) if p.matches(events[j], tol)), None)
    if earlier is not None:
        return f"out of order: it is event #{earlier + 1}, before the previous expected event"
    if p.time is not None or p.event is not None:
        other = next((j for j, e in enumerate(events) if p.matches(e, tol, ignore_time=True)), None)
        if other is not None:
            expected = p.time if p.event is None else p.event.time
            return (f"at another time: event #{other + 1} is at t={events[other].time:g}s, expected t={expected:g}s: "
                    f"{events[other].text!r}")
    probe = p.text or (p.event.text if p.event is not None else None)
    if probe:
        close = difflib.get_close_matches(probe, [e.text for e in events], n=1, cutoff=0.5)
        if close:
            j = next(j for j, e in enumerate(events) if e.text == close[0])
            return f"closest line: event #{j + 1} {close[0]!r}"
    if p.kind is not None:
        same = [j for j, e in enumerate(events) if e.kind == p.kind]
        if same:
            return f"events of kind {p.kind!r}: " + ", ".join(f"#{j + 1}" for j in same[:8]) + (" …" if len(same) > 8 else "")
        return f"no event of kind {p.kind!r} at all"
    return "nothing similar"


def assert_timeline(
    timeline_or_sim: Timeline | Simulation | Iterable[Event],
    expected: Sequence[ExpectedEvent],
    *,
    time_tolerance: float = 1e-6,
    context: int = 2,
    full: int = 30,
) -> list[Event]:
    """Asserts the expected events appear in the timeline **in this order** (other events may
    come between them). ``timeline_or_sim`` is a :class:`~hapolicy.Timeline` or a
    :class:`~hapolicy.Simulation` (its whole timeline so far: run it first).

    Each expected item is one of:

    * a text line as printed by the timeline, or a fragment of one:
      ``"t=+18.0s host-21 hostDown"``, ``"vm-101 restarted on host-21"``;
    * a tuple ``(time, kind)`` or ``(time, kind, host_or_vm)``, e.g.
      ``(18.0, "host_state", "host-21")``; ``None`` matches anything, times match within
      ``time_tolerance``, ``kind`` is an :class:`~hapolicy.EventKind` or its value, and the third
      field matches the event's host or VM;
    * a dict of :class:`~hapolicy.Event` fields (``time``, ``kind``, ``host``, ``vm``, ``who``,
      ``text`` fragment, ``detail`` subset), e.g. ``{"kind": "vm_restarted", "vm": "vm-101"}``;
    * an :class:`~hapolicy.Event`, matched exactly.

    Lines show hosts and VMs as ``host-21 (esx-01)``; with a Simulation, or a Timeline from one,
    a text fragment may name them either way (``host-21 hostDown``, ``esx-01 hostDown``) and
    ``host`` / ``vm`` / ``who`` may be ids or unambiguous names.

    On failure the message lists the missing items with a hint (out of order, at another
    time, closest line) and a diff-like view of the timeline: ``=`` marks the events that
    matched, ``-`` the expected items not found, where they were expected. Returns the matched
    events.
    """
    __tracebackhide__ = True
    inv = _inventory_of(timeline_or_sim)
    patterns = [_with_ids(_pattern(item, i), inv) for i, item in enumerate(expected)]
    events = _events_of(timeline_or_sim)
    matched: list[int | None] = []
    pos = 0
    for p in patterns:
        j = next((j for j in range(pos, len(events)) if p.matches(events[j], time_tolerance)), None)
        matched.append(j)
        if j is not None:
            pos = j + 1
    if all(j is not None for j in matched):
        return [events[j] for j in matched if j is not None]

    missing = [i for i, j in enumerate(matched) if j is None]
    lines = [
        f"timeline does not contain the expected events in order: {len(missing)} of {len(patterns)} missing "
        f"({len(events)} events, t={events[0].time:g}s–{events[-1].time:g}s)" if events else
        f"timeline is empty: {len(missing)} of {len(patterns)} expected events missing",
    ]
    last_before: list[int] = []  # for each missing item: index of the last matched event before it
    prev = -1
    for i, j in enumerate(matched):
        if j is None:
            last_before.append(prev)
            lines.append(f"  missing expected[{i}] {patterns[i].shown}: {_hint(patterns[i], events, time_tolerance, prev + 1)}")
        else:
            prev = j
    lines.append("timeline (= matched, - missing; other lines are events not asked for):")
    # Diff-like view: every event, marked, with the missing items inserted after the last
    # matched event before them; far-away events elided.
    rows: list[tuple[str, bool]] = []  # (line, marked)
    inserts: dict[int, list[int]] = {}
    for i, before in zip(missing, last_before):
        inserts.setdefault(before, []).append(i)
    by_event = {j: i for i, j in enumerate(matched) if j is not None}
    width = len(str(len(events)))
    for i in inserts.get(-1, []):
        rows.append((f"  - {'':>{width + 1}}  {patterns[i].shown}", True))
    for j, e in enumerate(events):
        if j in by_event:
            rows.append((f"  = #{j + 1:<{width}}  {e.text}    (expected[{by_event[j]}])", True))
        else:
            rows.append((f"    #{j + 1:<{width}}  {e.text}", False))
        for i in inserts.get(j, []):
            rows.append((f"  - {'':>{width + 1}}  {patterns[i].shown}", True))
    marked = [k for k, (_, m) in enumerate(rows) if m]
    keep = set(range(len(rows))) if len(events) <= full else {k for m in marked for k in range(m - context, m + context + 1)}
    skipped = 0
    for k, (line, _) in enumerate(rows):
        if k in keep:
            if skipped:
                lines.append(f"    … {skipped} event{'s' if skipped != 1 else ''}")
                skipped = 0
            lines.append(line)
        else:
            skipped += 1
    if skipped:
        lines.append(f"    … {skipped} event{'s' if skipped != 1 else ''}")
    raise AssertionError("\n".join(lines))
