"""Remedies (R-REMEDY): the smallest changes that make a broken promise hold again, each
verified by running the engine on the changed inventory.

>>> rems = ha.remedies(inv)                                  # doctest: +SKIP
>>> rems[0].kind, rems[0].summary                            # doctest: +SKIP
(<RemedyKind.CHANGE_POLICY: 'changePolicy'>, 'switch admission control to the percentage policy ...')
>>> ha.admission_control(rems[0].apply(inv)).satisfied       # doctest: +SKIP
True

The promise: admission control satisfied at its configured level (R-AC) and, with
``failures=k``, every combination of up to k failed hosts restarts every VM HA attempts
(``sweep(inv, k).max_failures_tolerated >= k``). A remedy makes the whole promise hold.

Kinds, each at its smallest size (searched with the engine: doubling and bisection on sizes,
the worst combinations of the sweep as a fast reject, the answer verified to hold and one step
less verified not to): ``addHosts`` (n hosts like an existing host, per hardware model),
``addMemory`` / ``addCpu`` / ``addCpuAndMemory`` (the same increment on every host, steps of
16 GB / 1,000 MHz), ``slotCap`` (``das.slotMemInMB`` / ``das.slotCpuInMHz``),
``lowerReservations`` (the reservations that set the slot: which VMs, what value),
``changePolicy`` (another admission policy for the same failures, or the promise the cluster
really keeps), ``relaxRule`` (the rule that strands VMs) and ``moveStorage`` (VMs whose
datastores no surviving host mounts, moved to shared storage).

Order ("size of change"): by scope — ``setting`` (a cluster setting that keeps the promise),
``rule``, ``vms``, ``hardware``, then ``promise`` (lowering what is promised) — then by
``size_percent`` within the scope (slot shrink; VMs of the removed rules; reservation removed or
VMs moved; capacity added in % of the counted capacity; promise given up). The rule book
(docs/rules.rst) states the rule in full.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any, overload

from . import _core
from ._args import failure_unit, whole_number
from ._tabular import records_to_pandas
from .errors import ArgumentError
from .inventory import Inventory

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["Remedies", "Remedy", "RemedyKind", "RemedyScope", "remedies"]

_UNIT_NOUNS = {"host": "host", "fault_domain": "fault domain", "site": "site"}


class RemedyKind(StrEnum):
    """What a remedy changes."""

    ADD_HOSTS = "addHosts"
    ADD_MEMORY = "addMemory"
    ADD_CPU = "addCpu"
    ADD_CPU_AND_MEMORY = "addCpuAndMemory"
    SLOT_CAP = "slotCap"
    LOWER_RESERVATIONS = "lowerReservations"
    CHANGE_POLICY = "changePolicy"
    RELAX_RULE = "relaxRule"
    MOVE_STORAGE = "moveStorage"


class RemedyScope(StrEnum):
    """How far-reaching a change is: the first key of the order, smallest first."""

    SETTING = "setting"
    RULE = "rule"
    VMS = "vms"
    HARDWARE = "hardware"
    PROMISE = "promise"


@dataclass(frozen=True, slots=True)
class Remedy:
    """One verified change that makes the promise hold.

    ``patch`` is what changes, as plain data (e.g. ``{"add_hosts": [{"like": "host-23",
    "count": 1, "ids": ["new-host-1"]}]}``, ``{"host_memory_mb": 16384}``,
    ``{"advanced_options": {"das.slotMemInMB": "8192"}}``, ``{"vms": {"vm-101":
    {"memory_reservation_mb": 8192}}}``, ``{"admission_control": {...}}``,
    ``{"remove_rules": ["name"]}``); ``before`` / ``after`` are the figures that decide the
    promise (``admission``: policy, satisfied, failover level or percentages, slot; ``sweep``
    with ``failures``: combinations leaving VMs unplaced, VMs stranded); ``verified`` is True
    because ``after`` comes from the engine run on the changed inventory."""

    kind: RemedyKind
    summary: str
    patch: Mapping[str, Any]
    before: Mapping[str, Any]
    after: Mapping[str, Any]
    verified: bool
    scope: RemedyScope
    size_percent: float
    _core_patch: _core.RemedyPatch = field(repr=False, compare=False)

    def apply(self, inv: Inventory) -> Inventory:
        """The inventory with this remedy's patch applied, validated again like any input.
        Applied to the inventory the remedy was found for, it has the figures of ``after``."""
        if not isinstance(inv, Inventory):
            raise ArgumentError(f"apply() takes an Inventory, not {type(inv).__name__}")
        return Inventory(self._core_patch.apply(inv._core))

    def to_dict(self) -> dict[str, Any]:
        """The remedy as plain JSON-able data (kind, summary, scope, size, patch, figures)."""
        return {
            "kind": self.kind.value, "summary": self.summary, "scope": self.scope.value,
            "size_percent": self.size_percent, "patch": dict(self.patch), "before": dict(self.before),
            "after": dict(self.after), "verified": self.verified,
        }

    def __str__(self) -> str:
        return f"{self.summary} [{self.kind.value}; {self.scope.value}, {self.size_percent:.2f} %]"


def _noun(n: int, noun: str) -> str:
    """``noun`` agreeing with ``n``: "host" for 1, "fault domains" for 2."""
    return noun if n == 1 else f"{noun}s"


def _count(n: int, noun: str) -> str:
    """``n`` and ``noun`` agreeing with it: "1 host", "2 fault domains"."""
    return f"{n} {_noun(n, noun)}"


def _figures_line(fig: Mapping[str, Any]) -> str:
    a = fig["admission"]
    text = f"admission control ({a['policy']}) {'satisfied' if a['satisfied'] else 'NOT satisfied'}"
    if a.get("current_failover_level") is not None and a.get("configured_host_failures") is not None:
        text += f" (failover level {a['current_failover_level']}, configured {a['configured_host_failures']})"
    elif a.get("cpu_failover_percent") is not None and a.get("memory_failover_percent") is not None:
        text += f" (CPU {a['cpu_failover_percent']:.2f} %, memory {a['memory_failover_percent']:.2f} % free"
        if a.get("configured_cpu_percent") is not None:
            text += f"; configured {a['configured_cpu_percent']:.2f} % / {a['configured_memory_percent']:.2f} %"
        text += ")"
    s = fig.get("sweep")
    if s:
        text += (
            f"; up to {s['failures']} failed {_noun(s['failures'], _UNIT_NOUNS.get(s.get('unit', 'host'), 'host'))}:"
            f" {s['failing_combinations']} of {_count(s['scenarios'], 'combination')}"
            f" leave VMs unplaced ({_count(s['stranded_vms'], 'VM')} stranded)"
        )
    return text


class Remedies(Sequence[Remedy]):
    """The remedies found, smallest change first (a sequence of :class:`Remedy`).

    ``promise`` describes the promise checked, ``holds`` whether it holds already (then the
    sequence is empty), ``before`` its figures now, ``notes`` the kinds tried without a verified
    remedy and why."""

    __slots__ = ("_doc", "_items")

    def __init__(self, doc: Mapping[str, Any], items: tuple[Remedy, ...]) -> None:
        self._doc = doc
        self._items = items

    @property
    def promise(self) -> str:
        """The promise checked, in words."""
        return str(self._doc["promise"])

    @property
    def failures(self) -> int | None:
        """The ``failures`` asked for (``None``: admission control only)."""
        value: int | None = self._doc["failures"]
        return value

    @property
    def holds(self) -> bool:
        """The promise holds already (then there is nothing to remedy)."""
        return bool(self._doc["holds"])

    @property
    def before(self) -> Mapping[str, Any]:
        """The figures of the inventory as it is (same shape as :attr:`Remedy.before`)."""
        value: Mapping[str, Any] = self._doc["before"]
        return value

    @property
    def notes(self) -> tuple[str, ...]:
        """Kinds tried without a verified remedy and why, and other remarks."""
        return tuple(self._doc["notes"])

    @property
    def checks(self) -> int:
        """Candidate inventories the search checked (admission control at least)."""
        return int(self._doc["checks"])

    # ---------------------------------------------------------------- sequence
    def __len__(self) -> int:
        return len(self._items)

    @overload
    def __getitem__(self, i: int) -> Remedy: ...
    @overload
    def __getitem__(self, i: slice) -> tuple[Remedy, ...]: ...
    def __getitem__(self, i: int | slice) -> Remedy | tuple[Remedy, ...]:
        return self._items[i]

    def __iter__(self) -> Iterator[Remedy]:
        return iter(self._items)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Remedies):
            return self._items == other._items and self.promise == other.promise
        if isinstance(other, tuple):
            return self._items == other
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    # ---------------------------------------------------------------- export
    def to_dict(self) -> dict[str, Any]:
        """Everything as plain JSON-able data: promise, figures before, remedies, notes."""
        return {
            "promise": self.promise, "failures": self.failures, "holds": self.holds, "before": dict(self.before),
            "remedies": [r.to_dict() for r in self._items], "notes": list(self.notes),
        }

    def to_records(self) -> list[dict[str, Any]]:
        """One row per remedy: kind, scope, size, summary, and the deciding figures after."""
        rows = []
        for r in self._items:
            a = r.after["admission"]
            s = r.after.get("sweep") or {}
            rows.append({
                "kind": r.kind.value, "scope": r.scope.value, "size_percent": r.size_percent, "summary": r.summary,
                "verified": r.verified, "satisfied_after": a["satisfied"],
                "failover_level_after": a.get("current_failover_level"),
                "failing_combinations_after": s.get("failing_combinations"),
            })
        return rows

    def to_pandas(self) -> pd.DataFrame:
        """:meth:`to_records` as a DataFrame (pandas is optional)."""
        return records_to_pandas(
            self.to_records(),
            ["kind", "scope", "size_percent", "summary", "verified", "satisfied_after", "failover_level_after",
             "failing_combinations_after"],
            ints=("failover_level_after", "failing_combinations_after"),
            categories={"kind": RemedyKind, "scope": RemedyScope},
        )

    def text(self) -> str:
        """The promise, its figures now, and each remedy with its figures after, as text."""
        lines = [f"promise: {self.promise}", f"now: {_figures_line(self.before)}"]
        if self.holds:
            lines.append("the promise already holds: nothing to remedy")
        elif not self._items:
            lines.append("no verified remedy found")
        else:
            lines.append(f"{len(self._items)} verified remedies, smallest change first:")
            for i, r in enumerate(self._items, 1):
                lines.append(f"{i:>3}. {r.summary}  [{r.kind.value}; {r.scope.value} {r.size_percent:.2f} %]")
                lines.append(f"     after: {_figures_line(r.after)}")
        lines.extend(f"note: {n}" for n in self.notes)
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.text()

    def __repr__(self) -> str:
        state = "holds" if self.holds else f"{len(self._items)} remedies"
        return f"<Remedies {state}: {self.promise}>"

    def _repr_html_(self) -> str:
        # The report's remedies section: one renderer for the page and for Jupyter.
        from . import _html, report

        return _html.fragment("remedies", report.remedies_section(self, shown=len(self)))


def remedies(inv: Inventory, failures: int | None = None, unit: str = "host") -> Remedies:
    """Verified remedies for ``inv``'s promise, smallest change first (R-REMEDY).

    ``failures=k``: every combination of up to k failed units must also restart every VM HA
    attempts. ``unit`` is what one failure takes down (R-DOMAIN): ``"host"`` (default),
    ``"fault_domain"`` or ``"site"`` — e.g. ``remedies(inv, 1, unit="site")`` for "the loss of
    either site restarts everything". Hosts an ``addHosts`` remedy adds join the fault domain
    and site of the host they are like (its summary says which); with units, one remedy also
    adds the same number of hosts to every unit. ``failures`` must be less than the number of
    units; ``unit="site"`` needs a site on every usable host (an
    :class:`~hapolicy.ArgumentError`, a ``ValueError``, otherwise).

    When the promise already holds the result is empty and its text says so.
    """
    if not isinstance(inv, Inventory):
        raise ArgumentError(f"remedies() takes an Inventory, not {type(inv).__name__}")
    failure_unit(unit)
    k = None if failures is None else whole_number(failures, "failures", 1)
    doc, patches = _core.remedies(inv._core, k, unit)
    items = tuple(
        Remedy(
            kind=RemedyKind(r["kind"]), summary=r["summary"], patch=r["patch"], before=r["before"], after=r["after"],
            verified=r["verified"], scope=RemedyScope(r["scope"]), size_percent=r["size_percent"], _core_patch=p,
        )
        for r, p in zip(doc["remedies"], patches, strict=True)
    )
    return Remedies(doc, items)
