"""Failover planning (R-PLACE): which VMs restart, where, in what order — and which do not, and why."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from . import _core
from ._args import id_list, printable
from ._tabular import html_table, records_to_pandas
from .enums import RestartPriority, UnplacedReason
from .inventory import Inventory

__all__ = ["FailoverPlan", "NotRestarted", "Placement", "Unplaced", "plan_failover"]


@dataclass(frozen=True, slots=True)
class Placement:
    """A VM restarted on ``host``; ``order`` is its 1-based position in the restart order."""

    vm: str
    host: str
    order: int
    priority: RestartPriority
    restart_class: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"vm": self.vm, "host": self.host, "order": self.order, "priority": str(self.priority),
                "restart_class": self.restart_class}


@dataclass(frozen=True, slots=True)
class Unplaced:
    """A VM no host could take: the deciding ``reason`` and, for every host, why not."""

    vm: str
    reason: UnplacedReason
    hosts: Mapping[str, str] = field(default_factory=dict)
    order: int = 0
    priority: RestartPriority = RestartPriority.MEDIUM
    restart_class: str = ""
    codes: Mapping[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"vm": self.vm, "reason": str(self.reason), "hosts": dict(self.hosts), "order": self.order,
                "priority": str(self.priority), "restart_class": self.restart_class, "codes": dict(self.codes)}


@dataclass(frozen=True, slots=True)
class NotRestarted:
    """A VM of a failed or isolated host that HA does not restart, by rule (not for lack of room)."""

    vm: str
    host: str
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {"vm": self.vm, "host": self.host, "reason": self.reason}


_RECORD_COLUMNS = ("order", "vm", "host", "priority", "restart_class", "outcome", "reason")


class FailoverPlan:
    """The restart plan after ``failed_hosts`` fail (and ``isolated_hosts`` are isolated)."""

    __slots__ = ("_core", "_inventory", "failed_hosts", "isolated_hosts", "placements", "unplaced", "not_restarted")

    failed_hosts: tuple[str, ...]
    isolated_hosts: tuple[str, ...]
    placements: list[Placement]
    unplaced: list[Unplaced]
    not_restarted: list[NotRestarted]

    def __init__(self, core: _core.FailoverPlan, inventory: Inventory) -> None:
        doc = core.to_obj()
        self._core = core
        self._inventory = inventory
        self.failed_hosts = tuple(doc["failed_hosts"])
        self.isolated_hosts = tuple(doc["isolated_hosts"])
        self.placements = [
            Placement(p["vm"], p["host"], p["order"], RestartPriority(p["priority"]), p["class"]) for p in doc["placements"]
        ]
        self.unplaced = [
            Unplaced(
                u["vm"], UnplacedReason(u["reason"]), {h: w["detail"] for h, w in u["hosts"].items()}, u["order"],
                RestartPriority(u["priority"]), u["class"], {h: w["code"] for h, w in u["hosts"].items()},
            )
            for u in doc["unplaced"]
        ]
        self.not_restarted = [NotRestarted(n["vm"], n["host"], n["reason"]) for n in doc["not_restarted"]]

    @property
    def restarted(self) -> int:
        """How many VMs find a host."""
        return len(self.placements)

    @property
    def all_restarted(self) -> bool:
        """True when every VM HA tries to restart finds a host."""
        return not self.unplaced

    def placement(self, vm: str) -> Placement | None:
        return next((p for p in self.placements if p.vm == vm), None)

    def explain(self, vm: str) -> str:
        """Why ``vm`` went where it went, or why it could not go anywhere (host by host)."""
        return self._core.explain(printable(vm))

    def to_dict(self) -> dict[str, Any]:
        return {
            "failed_hosts": list(self.failed_hosts),
            "isolated_hosts": list(self.isolated_hosts),
            "placements": [p.to_dict() for p in self.placements],
            "unplaced": [u.to_dict() for u in self.unplaced],
            "not_restarted": [n.to_dict() for n in self.not_restarted],
        }

    def to_records(self) -> list[dict[str, Any]]:
        """One row per VM HA tries to restart, in restart order, then the VMs it does not restart."""
        rows: list[dict[str, Any]] = [
            {"order": p.order, "vm": p.vm, "host": p.host, "priority": str(p.priority), "restart_class": p.restart_class,
             "outcome": "restarted", "reason": None}
            for p in self.placements
        ]
        rows += [
            {"order": u.order, "vm": u.vm, "host": None, "priority": str(u.priority), "restart_class": u.restart_class,
             "outcome": "unplaced", "reason": str(u.reason)}
            for u in self.unplaced
        ]
        rows.sort(key=lambda r: r["order"])
        rows += [
            {"order": None, "vm": n.vm, "host": n.host, "priority": None, "restart_class": None,
             "outcome": "not restarted", "reason": n.reason}
            for n in self.not_restarted
        ]
        return rows

    def to_pandas(self) -> Any:
        return records_to_pandas(self.to_records(), _RECORD_COLUMNS)

    def text(self) -> str:
        """A readable table of the plan (the CLI's output)."""
        lines = [f"Failed: {', '.join(self.failed_hosts) or '-'}"
                 + (f"; isolated: {', '.join(self.isolated_hosts)}" if self.isolated_hosts else "")]
        lines.append(f"{'#':>4}  {'vm':<16} {'priority':<10} {'restarts on':<16}")
        for p in self.placements:
            lines.append(f"{p.order:>4}  {p.vm:<16} {str(p.priority):<10} {p.host:<16}")
        if self.unplaced:
            lines.append(f"Unplaced ({len(self.unplaced)}):")
            lines += [f"{u.order:>4}  {u.vm:<16} {str(u.priority):<10} {u.reason}" for u in self.unplaced]
        if self.not_restarted:
            lines.append(f"Not restarted by rule ({len(self.not_restarted)}):")
            lines += [f"      {n.vm:<16} on {n.host}: {n.reason}" for n in self.not_restarted]
        lines.append(f"{self.restarted} restarted, {len(self.unplaced)} unplaced, {len(self.not_restarted)} not restarted")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.text()

    def __repr__(self) -> str:
        return (f"FailoverPlan(failed={list(self.failed_hosts)}, restarted={self.restarted}, "
                f"unplaced={len(self.unplaced)}, not_restarted={len(self.not_restarted)})")

    def _repr_html_(self) -> str:
        rows = ((r["order"], r["vm"], r["host"], r["priority"], r["outcome"], r["reason"]) for r in self.to_records())
        return html_table(("#", "vm", "host", "priority", "outcome", "reason"), rows, title=repr(self))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, FailoverPlan):
            return NotImplemented
        return self.to_dict() == other.to_dict()

    def __hash__(self) -> int:
        return hash((self.failed_hosts, self.isolated_hosts, tuple(self.placements), len(self.unplaced)))

    def __reduce__(self) -> tuple[Any, tuple[Inventory, tuple[str, ...], tuple[str, ...]]]:
        # Plans are deterministic: recomputing from the inputs is the most compact pickle.
        return (plan_failover, (self._inventory, self.failed_hosts, self.isolated_hosts))


def plan_failover(inv: Inventory, failed_hosts: Iterable[str] = (), isolated_hosts: Iterable[str] = ()) -> FailoverPlan:
    """Where every VM restarts if ``failed_hosts`` fail (R-PLACE-1..3). VMs of
    ``isolated_hosts`` are those the isolation response powers off. Unknown host ids raise
    ``UnknownIdError``."""
    failed = id_list([failed_hosts] if isinstance(failed_hosts, str) else failed_hosts, "host")
    isolated = id_list([isolated_hosts] if isinstance(isolated_hosts, str) else isolated_hosts, "host")
    return FailoverPlan(_core.plan_failover(inv._core, failed, isolated), inv)
