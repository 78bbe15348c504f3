"""Failover planning (R-PLACE): which VMs restart, where, in what order — and which do not, and why."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any

from . import _core
from ._args import id_list, printable
from ._tabular import records_to_pandas
from .enums import HostRefusalCode, NotRestartedReason, RestartPriority, UnplacedReason
from .errors import UnknownIdError
from .inventory import Inventory

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["FailoverPlan", "Migration", "NotRestarted", "Placement", "Unplaced", "plan_failover"]


@dataclass(frozen=True, slots=True)
class Placement:
    """A VM restarted on ``host``; ``order`` is its 1-based position in the restart order."""

    vm: str
    host: str
    order: int
    priority: RestartPriority
    restart_class: str = ""

    def to_dict(self) -> dict[str, Any]:
        """The placement as plain data (priority as its API spelling)."""
        return {"vm": self.vm, "host": self.host, "order": self.order, "priority": str(self.priority),
                "restart_class": self.restart_class}


@dataclass(frozen=True, slots=True)
class Unplaced:
    """A VM no host could take: the deciding ``reason`` and, for every host, why not (``hosts``:
    the sentence, ``codes``: the :class:`HostRefusalCode`, e.g. ``agentVmsNotReady``)."""

    vm: str
    reason: UnplacedReason
    hosts: Mapping[str, str] = field(default_factory=dict)
    order: int = 0
    priority: RestartPriority = RestartPriority.MEDIUM
    restart_class: str = ""
    codes: Mapping[str, HostRefusalCode] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The unplaced VM as plain data: reason, and why each host refused it."""
        return {"vm": self.vm, "reason": str(self.reason), "hosts": dict(self.hosts), "order": self.order,
                "priority": str(self.priority), "restart_class": self.restart_class, "codes": {h: str(c) for h, c in self.codes.items()}}


@dataclass(frozen=True, slots=True)
class NotRestarted:
    """A VM of a failed or isolated host that HA does not restart, by rule (not for lack of room)."""

    vm: str
    host: str
    reason: NotRestartedReason

    def to_dict(self) -> dict[str, Any]:
        """The VM, its host and why HA does not restart it, as plain data."""
        return {"vm": self.vm, "host": self.host, "reason": str(self.reason)}


@dataclass(frozen=True, slots=True)
class Migration:
    """One vMotion DRS makes to defragment the cluster during failover (R-PLACE-DRS): running VM
    ``vm`` moves from host ``source`` to host ``target`` so that restarted VM ``for_vm`` fits on
    ``source``. Only with DRS enabled and fully automated."""

    vm: str
    source: str
    target: str
    for_vm: str

    def to_dict(self) -> dict[str, Any]:
        """The move as plain data."""
        return {"vm": self.vm, "source": self.source, "target": self.target, "for_vm": self.for_vm}


_RECORD_COLUMNS = ("order", "vm", "vm_name", "host", "host_name", "priority", "restart_class", "outcome", "reason")
_OUTCOMES = ("restarted", "unplaced", "not restarted")


def _names(items: Iterable[Any]) -> dict[str, str]:
    """id → name of inventory objects (the name is the id when the object has none of its own)."""
    return {i.id: i.name or i.id for i in items}


def _vm_id(inv: Inventory, vm: str) -> str:
    """The id ``vm`` names; ``vm`` itself when it names no VM (an ambiguous name raises)."""
    try:
        return inv.resolve_vm(vm)
    except UnknownIdError as exc:
        if exc.candidates:
            raise
        return vm


_PRIORITY = {str(p): p for p in RestartPriority}


def _placement_builder() -> Any:
    """``Placement(vm, host, order, priority, restart_class)`` without the per-field
    ``object.__setattr__`` calls of a frozen dataclass's ``__init__`` (about twice as fast; a
    plan builds one per restarted VM): the same object, its slots set directly (the dataclass
    has no ``__post_init__``)."""
    new = object.__new__
    set_vm, set_host, set_order, set_priority, set_class = (getattr(Placement, f.name).__set__ for f in fields(Placement))

    def build(vm: str, host: str, order: int, priority: RestartPriority, restart_class: str) -> Placement:
        p = new(Placement)
        set_vm(p, vm)
        set_host(p, host)
        set_order(p, order)
        set_priority(p, priority)
        set_class(p, restart_class)
        return p

    return build


_new_placement = _placement_builder()


class FailoverPlan:
    """The restart plan after ``failed_hosts`` fail (and ``isolated_hosts`` are isolated).

    The plan itself stays in the engine; ``placements``, ``unplaced``, ``not_restarted`` and
    ``migrations`` are built from its compact rows on first access and kept."""

    __slots__ = ("_core", "_inventory", "failed_hosts", "isolated_hosts", "_placements", "_unplaced",
                 "_not_restarted", "_migrations", "hosts_exited_standby")

    failed_hosts: tuple[str, ...]
    isolated_hosts: tuple[str, ...]
    #: Hosts DPM brings out of standby (in order) for restarted VMs (R-PLACE-DRS).
    hosts_exited_standby: tuple[str, ...]

    def __init__(self, core: _core.FailoverPlan, inventory: Inventory) -> None:
        self._core = core
        self._inventory = inventory
        failed, isolated, exited = core.hosts()
        self.failed_hosts = tuple(failed)
        self.isolated_hosts = tuple(isolated)
        self.hosts_exited_standby = tuple(exited)
        self._placements: list[Placement] | None = None
        self._unplaced: list[Unplaced] | None = None
        self._not_restarted: list[NotRestarted] | None = None
        self._migrations: list[Migration] | None = None

    @property
    def placements(self) -> list[Placement]:
        """Every VM restarted, with its host, in restart order."""
        if self._placements is None:
            new, priority = _new_placement, _PRIORITY
            self._placements = [new(vm, host, order, priority[p], c) for vm, host, order, p, c in self._core.placement_rows()]
        return self._placements

    @property
    def unplaced(self) -> list[Unplaced]:
        """Every VM no host can take, in restart order, with each host's refusal."""
        if self._unplaced is None:
            self._unplaced = [
                Unplaced(vm, UnplacedReason(reason), {h: why for h, _, why in hosts}, order, _PRIORITY[p], c,
                         {h: HostRefusalCode(code) for h, code, _ in hosts})
                for vm, reason, order, p, c, hosts in self._core.unplaced_rows()
            ]
        return self._unplaced

    @property
    def not_restarted(self) -> list[NotRestarted]:
        """VMs of the failed and isolated hosts HA leaves alone, by VM id, with the rule why."""
        if self._not_restarted is None:
            self._not_restarted = [NotRestarted(vm, host, NotRestartedReason(reason))
                                   for vm, host, reason in self._core.not_restarted_rows()]
        return self._not_restarted

    @property
    def migrations(self) -> list[Migration]:
        """vMotions DRS makes (in order) to make room for restarted VMs (R-PLACE-DRS)."""
        if self._migrations is None:
            self._migrations = [Migration(*row) for row in self._core.migration_rows()]
        return self._migrations

    @property
    def restarted(self) -> int:
        """How many VMs find a host."""
        return self._core.counts()[0]

    @property
    def all_restarted(self) -> bool:
        """True when every VM HA tries to restart finds a host."""
        return self._core.counts()[1] == 0

    def placement(self, vm: str) -> Placement | None:
        """Where ``vm`` (an id or an unambiguous name) restarts; ``None`` when it is not placed."""
        vm_id = _vm_id(self._inventory, vm)
        return next((p for p in self.placements if p.vm == vm_id), None)

    def explain(self, vm: str) -> str:
        """Why ``vm`` (an id or an unambiguous name) went where it went, or why it could not go
        anywhere (host by host). Hosts, VMs and datastores are shown as ``host-21 (esx-01)``. A
        name several VMs carry raises :class:`~hapolicy.UnknownIdError` naming them."""
        if not isinstance(vm, str):
            raise TypeError(f"vm must be a VM id or name (str), got {type(vm).__name__}")
        return self._core.explain(printable(vm))

    def to_dict(self) -> dict[str, Any]:
        """The whole plan as plain data: failed and isolated hosts, placements, unplaced and
        not-restarted VMs, DRS vMotions and hosts brought out of standby (R-PLACE-DRS)."""
        return {
            "failed_hosts": list(self.failed_hosts),
            "isolated_hosts": list(self.isolated_hosts),
            "placements": [p.to_dict() for p in self.placements],
            "unplaced": [u.to_dict() for u in self.unplaced],
            "not_restarted": [n.to_dict() for n in self.not_restarted],
            "migrations": [m.to_dict() for m in self.migrations],
            "hosts_exited_standby": list(self.hosts_exited_standby),
        }

    def to_records(self) -> list[dict[str, Any]]:
        """One row per VM HA tries to restart, in restart order, then the VMs it does not restart.
        ``vm`` and ``host`` are ids; ``vm_name`` and ``host_name`` the inventory's names."""
        inv = self._inventory
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
             "outcome": "not restarted", "reason": str(n.reason)}
            for n in self.not_restarted
        ]
        vm_names, host_names = _names(inv.vms), _names(inv.hosts)
        for r in rows:
            r["vm_name"] = vm_names.get(r["vm"])
            r["host_name"] = None if r["host"] is None else host_names.get(r["host"])
        return rows

    def to_pandas(self) -> pd.DataFrame:
        """One row per VM (:meth:`to_records`): ``order`` is a nullable ``Int64`` (missing for
        VMs not restarted by rule); ``priority`` and ``outcome`` are categoricals."""
        return records_to_pandas(self.to_records(), _RECORD_COLUMNS, ints=["order"],
                                 categories={"priority": RestartPriority, "outcome": _OUTCOMES})

    def text(self) -> str:
        """A readable table of the plan (the CLI's output); hosts and VMs as ``host-21 (esx-01)``."""
        label = self._inventory.label
        failed = ", ".join(label(h) for h in self.failed_hosts)
        isolated = ", ".join(label(h) for h in self.isolated_hosts)
        lines = [f"Failed: {failed or '-'}" + (f"; isolated: {isolated}" if isolated else "")]
        # The VM column is as wide as its longest label (at least 16), capped so one long name
        # does not push every row off the screen.
        vms = [*(p.vm for p in self.placements), *(u.vm for u in self.unplaced), *(n.vm for n in self.not_restarted)]
        w = min(max([16, *(len(label(v)) for v in vms[:10_000])]), 48)
        if self.hosts_exited_standby:
            woken = ", ".join(label(h) for h in self.hosts_exited_standby)
            lines.append(f"DPM brings out of standby: {woken}")
        if self.migrations:
            lines.append(f"DRS vMotions first ({len(self.migrations)}):")
            lines += [f"      {label(m.vm)}: {label(m.source)} -> {label(m.target)} (room for {label(m.for_vm)})"
                      for m in self.migrations]
        lines.append(f"{'#':>4}  {'vm':<{w}} {'priority':<10} restarts on")
        for p in self.placements:
            lines.append(f"{p.order:>4}  {label(p.vm):<{w}} {str(p.priority):<10} {label(p.host)}")
        if self.unplaced:
            lines.append(f"Unplaced ({len(self.unplaced)}):")
            lines += [f"{u.order:>4}  {label(u.vm):<{w}} {str(u.priority):<10} {u.reason}" for u in self.unplaced]
        if self.not_restarted:
            lines.append(f"Not restarted by rule ({len(self.not_restarted)}):")
            lines += [f"      {label(n.vm):<{w}} on {label(n.host)}: {n.reason}" for n in self.not_restarted]
        lines.append(f"{self.restarted} restarted, {len(self.unplaced)} unplaced, {len(self.not_restarted)} not restarted")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.text()

    def __repr__(self) -> str:
        return (f"FailoverPlan(failed={list(self.failed_hosts)}, restarted={self.restarted}, "
                f"unplaced={len(self.unplaced)}, not_restarted={len(self.not_restarted)})")

    def _repr_html_(self) -> str:
        # The report's renderer: stranded VMs and why, restart order, names beside ids.
        from . import _html, report

        inv = self._inventory
        return _html.fragment("plan", report.plan_section(self, report.labeler(inv), report.relabeler(inv)))

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
    ``isolated_hosts`` are those the isolation response powers off. Hosts are ids or
    unambiguous names (``"esx-01.corp.example"``); the plan holds ids. An unknown host, or a
    name several hosts carry, raises ``UnknownIdError`` (the message names the candidates)."""
    failed = id_list([failed_hosts] if isinstance(failed_hosts, str) else failed_hosts, "host")
    isolated = id_list([isolated_hosts] if isinstance(isolated_hosts, str) else isolated_hosts, "host")
    return FailoverPlan(_core.plan_failover(inv._core, failed, isolated), inv)
