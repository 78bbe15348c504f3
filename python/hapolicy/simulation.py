"""FDM simulation on a virtual clock (R-TIME, R-ISO, R-PLACE-4, R-OUTAGE, R-VMCP, R-VMMON).

>>> sim = Simulation(inv)                  # doctest: +SKIP
>>> sim.fail_host("host-12", at=0.0)       # doctest: +SKIP
>>> print(sim.run(until=600))              # doctest: +SKIP
t=+0.0s host-12 fails
t=+10.0s host-12 unreachable (no network heartbeat; pinging)
t=+18.0s host-12 hostDown (no network or datastore heartbeat)
...
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, overload

from . import _core
from ._args import MAX_U32, id_arg, id_list, whole_number
from ._tabular import html_table, records_to_pandas
from .enums import EventKind, HostState, PowerState
from .errors import ArgumentError, InventoryError, UnknownIdError
from .inventory import Inventory, input_path, name_file

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["Event", "Simulation", "Timeline"]

_COLUMNS = ("time", "kind", "host", "vm", "detail", "text")


@dataclass(frozen=True, slots=True)
class Event:
    """One thing that happened: ``time`` (seconds on the virtual clock), ``kind``, the ``host``
    and ``vm`` concerned (ids; ``None`` when not applicable), and ``detail`` (a dict, ids too).
    ``text`` is the timeline line, hosts, VMs and datastores shown with their names:
    ``t=+18.0s host-12 (esx-12) hostDown (…)``."""

    time: float
    kind: EventKind
    host: str | None
    vm: str | None
    detail: Mapping[str, Any] = field(default_factory=dict)
    text: str = field(default="", compare=False)

    def to_dict(self) -> dict[str, Any]:
        """The event as plain data (time, kind, host, vm, detail, text)."""
        return {"time": self.time, "kind": str(self.kind), "host": self.host, "vm": self.vm,
                "detail": dict(self.detail), "text": self.text}

    def __str__(self) -> str:
        return self.text


class Timeline(Sequence[Event]):
    """Events ordered by time (ties in the engine's documented phase order). A timeline from a
    :class:`Simulation` knows its ``inventory``: :meth:`filter` and :meth:`first` then accept
    host and VM names as well as ids."""

    __slots__ = ("_events", "_inventory")

    def __init__(self, events: Iterable[Event], inventory: Inventory | None = None) -> None:
        self._events = tuple(events)
        self._inventory = inventory

    @property
    def inventory(self) -> Inventory | None:
        """The inventory of the simulation the events come from (``None`` when unknown)."""
        return self._inventory

    @overload
    def __getitem__(self, i: int) -> Event: ...
    @overload
    def __getitem__(self, i: slice) -> Timeline: ...
    def __getitem__(self, i: int | slice) -> Event | Timeline:
        if isinstance(i, slice):
            return Timeline(self._events[i], self._inventory)
        return self._events[i]

    def __len__(self) -> int:
        return len(self._events)

    def __iter__(self) -> Iterator[Event]:
        return iter(self._events)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Timeline):
            return self._events == other._events
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._events)

    def __reduce__(self) -> tuple[type[Timeline], tuple[tuple[Event, ...]]]:
        return (Timeline, (self._events,))

    def filter(self, kind: EventKind | str | None = None, host: str | None = None, vm: str | None = None) -> Timeline:
        """The events matching every given criterion (``host`` and ``vm``: ids, or names when
        the timeline knows its inventory)."""
        host = _id_of(self._inventory, "host", host)
        vm = _id_of(self._inventory, "vm", vm)
        return Timeline(
            (e for e in self._events
             if (kind is None or e.kind == kind) and (host is None or e.host == host) and (vm is None or e.vm == vm)),
            self._inventory,
        )

    def first(self, kind: EventKind | str, host: str | None = None, vm: str | None = None) -> Event | None:
        """The earliest matching event, or ``None``."""
        return next(iter(self.filter(kind, host, vm)), None)

    def text(self) -> str:
        """One line per event: ``t=+18.0s host-12 hostDown (no network or datastore heartbeat)``."""
        return "\n".join(e.text for e in self._events)

    def __str__(self) -> str:
        return self.text()

    def __repr__(self) -> str:
        span = f", {self._events[0].time:g}s–{self._events[-1].time:g}s" if self._events else ""
        return f"Timeline({len(self._events)} events{span})"

    def to_records(self) -> list[dict[str, Any]]:
        """One dict per event, in timeline order (see :meth:`Event.to_dict`)."""
        return [e.to_dict() for e in self._events]

    def to_dict(self) -> dict[str, Any]:
        """``{"events": [...]}``, one dict per event."""
        return {"events": self.to_records()}

    def to_pandas(self) -> pd.DataFrame:
        """One row per event; ``kind`` is a categorical of every :class:`EventKind`."""
        return records_to_pandas(self.to_records(), _COLUMNS, categories={"kind": EventKind})

    def _repr_html_(self) -> str:
        rows = ((f"{e.time:.1f}", str(e.kind), e.host, e.vm, e.text) for e in self._events)
        return html_table(("t (s)", "kind", "host", "vm", "what"), rows, title=repr(self))


def _id_of(inv: Inventory | None, kind: str, x: str | None) -> str | None:
    """The id ``x`` names (an id or an unambiguous name) when ``inv`` knows it; else ``x``. A
    name several objects carry raises :class:`~hapolicy.UnknownIdError`."""
    if inv is None or x is None or not isinstance(x, str):
        return x
    try:
        return inv.resolve_vm(x) if kind == "vm" else inv.resolve_host(x)
    except UnknownIdError as exc:
        if exc.candidates:
            raise
        return x


def _timeline(raw: list[tuple[float, str, str | None, str | None, dict[str, Any], str]],
              inventory: Inventory | None = None) -> Timeline:
    return Timeline((Event(t, EventKind(k), h, v, d, text) for t, k, h, v, d, text in raw), inventory)


def _attempts(value: Any) -> int:
    """A count of power-on attempts (the engine's unsigned 32-bit range; a whole float such as
    ``2.0`` counts, as in a fault dict), or ArgumentError — not the OverflowError / ValueError of
    a bare ``int()`` and the core's conversion."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return whole_number(value, "attempts", 0, MAX_U32)


def _addresses(addrs: Iterable[str] | None) -> list[str] | None:
    """``reachable_addresses`` as a list of strings (a lone string is refused, not split)."""
    if addrs is None:
        return None
    if isinstance(addrs, (str, bytes)) or not isinstance(addrs, Iterable):
        raise ArgumentError(f"reachable_addresses must be a list of isolation addresses, got {addrs!r}")
    out = list(addrs)
    for a in out:
        if not isinstance(a, str):
            raise ArgumentError(f"reachable_addresses must hold strings, got {a!r}")
    return out


def _network(network: object) -> str | None:
    """``network``: None, ``"management"`` or ``"vsan"`` (the engine checks the cluster has vSAN)."""
    if network is None:
        return None
    if isinstance(network, str) and network in ("management", "vsan"):
        return network
    raise ArgumentError(f"network must be 'management' or 'vsan', got {network!r}")


def _name_arg(name: object, what: str) -> str:
    """A fault domain or site name (a string), or ArgumentError."""
    if not isinstance(name, str):
        raise ArgumentError(f"{what} must be a {what} name (a string), got {name!r}")
    return name


class Simulation:
    """vSphere HA on a virtual clock. The master is elected at t = 0 (R-ELECT); inject faults,
    then :meth:`run`. Faults may be added between runs (at or after the current time).

    Every fault method, :meth:`apply` and scenario events take hosts, VMs and datastores by id
    or by a name only one object of that kind carries (``"esx-01.corp.example"``); a name
    several carry raises :class:`~hapolicy.UnknownIdError` naming their ids (in a fault list or
    scenario: an :class:`~hapolicy.InventoryError` at the entry's path). Timelines show
    ``host-12 (esx-12)``; events and states keep ids."""

    __slots__ = ("_core", "_inventory")

    def __init__(self, inv: Inventory) -> None:
        self._core = _core.Simulation(inv._core)
        self._inventory = inv

    @classmethod
    def from_scenario(cls, scenario: str | os.PathLike[str] | Mapping[str, Any]) -> Simulation:
        """From a scenario file (.json/.yaml/.yml) or dict:
        ``{"inventory": {...} or "path/to/inventory.json", "events": [...], "until": 600}``.
        A relative inventory path is resolved against the scenario file's folder."""
        self = cls.__new__(cls)
        if isinstance(scenario, Mapping):
            core = _core.Simulation.from_scenario(scenario, None)
        else:
            # The path is checked as Inventory.load checks one (same words for the same faults).
            _, p = input_path(scenario, (".json", ".yaml", ".yml"), "a scenario")
            if p.stat().st_size == 0:
                raise InventoryError([(str(p), "the file is empty")])
            try:
                core = _core.Simulation.from_scenario_file(p)
            except InventoryError as exc:
                raise InventoryError(name_file(exc.problems, str(p))) from None
        self._core = core
        self._inventory = Inventory(core.inventory())
        return self

    @property
    def inventory(self) -> Inventory:
        """The inventory the simulation started from."""
        return self._inventory

    # ---------------------------------------------------------------- faults
    def fail_host(self, host: str, at: float = 0.0) -> None:
        """The host fails (power loss, PSOD): its VMs stop."""
        self._core.fail_host(id_arg(host, "host"), float(at))

    def recover_host(self, host: str, at: float = 0.0) -> None:
        """A failed host comes back at ``at`` (seconds): it boots, joins or elects a master, and
        takes VMs again (R-ELECT, R-PLACE-4)."""
        self._core.recover_host(id_arg(host, "host"), float(at))

    def fail_agent(self, host: str, at: float = 0.0, until: float | None = None) -> None:
        """The FDM agent stops while the host and its VMs keep running (``fdmUnreachable``)."""
        self._core.fail_agent(id_arg(host, "host"), float(at), until)

    def isolate_host(self, host: str, at: float = 0.0, until: float | None = None,
                     reachable_addresses: Iterable[str] | None = None, network: str | None = None) -> None:
        """The host loses its management network (storage still reachable).

        ``reachable_addresses`` (R-DOMAIN): the cluster's isolation addresses the host still
        pings (``das.isolationaddress0``…``9``, and ``"gateway"`` for the default gateway unless
        ``das.usedefaultisolationaddress`` is false); ``None`` or empty: none. A host that
        reaches any is partitioned, not isolated: it elects itself master of its one-host
        partition but declares no isolation and applies no isolation response. An address the
        cluster does not have raises :class:`~hapolicy.ArgumentError` naming those it has.

        ``network`` (R-DOMAIN): ``"management"`` or ``"vsan"``; ``None`` is the network HA
        uses — the vSAN network when ``cluster.vsan.enabled``, else the management network.
        With vSAN, a management-only fault isolates nobody (it is recorded, with no effect);
        ``"vsan"`` without vSAN raises :class:`~hapolicy.ArgumentError`."""
        self._core.isolate_host(id_arg(host, "host"), float(at), until, _addresses(reachable_addresses),
                                _network(network))

    def partition(self, groups: Sequence[Sequence[str]], at: float = 0.0, until: float | None = None,
                  reachable_addresses: Iterable[str] | None = None, network: str | None = None) -> None:
        """The management network splits into ``groups`` (hosts named nowhere form one more group).

        ``reachable_addresses`` (R-DOMAIN): the isolation addresses the partitioned hosts still
        reach (``None``: every one). A host alone in its group that reaches none is isolated.
        ``network``: as for :meth:`isolate_host`."""
        self._core.partition([id_list(g, "host") for g in groups], float(at), until,
                             _addresses(reachable_addresses), _network(network))

    def fail_domain(self, domain: str, at: float = 0.0) -> None:
        """Every host of the fault domain ``domain`` (``hosts[].fault_domain``) fails at ``at``,
        at the same instant — the timeline of failing those hosts at once (R-DOMAIN). A host
        without a fault domain is a domain of its own, named by its host id. An unknown name
        raises :class:`~hapolicy.ArgumentError` naming the known domains."""
        self._core.fail_domain(_name_arg(domain, "domain"), float(at))

    def fail_site(self, site: str, at: float = 0.0) -> None:
        """Every host of the site ``site`` (``hosts[].site``) fails at ``at`` (R-DOMAIN). An
        unknown name raises :class:`~hapolicy.ArgumentError` naming the known sites."""
        self._core.fail_site(_name_arg(site, "site"), float(at))

    def partition_sites(self, at: float = 0.0, until: float | None = None,
                        reachable_addresses: Iterable[str] | None = None, network: str | None = None) -> None:
        """The inter-site link of a stretched cluster fails from ``at`` until ``until``
        (R-DOMAIN): each site is a network partition and elects its own master (R-ELECT per
        partition). Hosts without a site stay with the preferred site
        (``cluster.vsan.stretched.preferred_site``; without a stretched configuration, the site
        of the first host that has one). Without vSAN, datastore access follows the
        ``datastores`` lists, so no VM is restarted while its host still heartbeats a datastore
        (R-TIME, partition row). With ``cluster.vsan.enabled``, vSAN datastores stay accessible
        only on the side that holds a strict majority of the vSAN votes (one per fault domain,
        per host without one; the witness of a stretched cluster sides with the preferred
        site): the other side's hosts lose them (a ``vsan_access`` event, then an APD handled
        per VMCP, R-VMCP), so its VMs are terminated and restarted on the majority side.
        ``reachable_addresses`` and ``network``: as for :meth:`partition`. Fewer than two sites
        raises :class:`~hapolicy.ArgumentError`."""
        self._core.partition_sites(float(at), until, _addresses(reachable_addresses), _network(network))

    def power_outage(self, at: float = 0.0, restore_at: float | None = 300.0) -> None:
        """Every host loses power at ``at``; all come back at ``restore_at`` (``None``: never)."""
        self._core.power_outage(float(at), restore_at)

    def datastore_apd(self, datastore: str, at: float = 0.0, until: float | None = None,
                      hosts: Iterable[str] | None = None) -> None:
        """All paths down on ``datastore`` for ``hosts`` (``None``: every host)."""
        self._core.datastore_apd(id_arg(datastore, "datastore"), float(at), until,
                                 None if hosts is None else id_list(hosts, "host"))

    def datastore_pdl(self, datastore: str, at: float = 0.0, hosts: Iterable[str] | None = None) -> None:
        """Permanent device loss of ``datastore`` for ``hosts`` (``None``: every host)."""
        self._core.datastore_pdl(id_arg(datastore, "datastore"), float(at), None if hosts is None else id_list(hosts, "host"))

    def guest_heartbeat_loss(self, vm: str, at: float = 0.0, io_until: float | None = None,
                             application: bool = False) -> None:
        """The VM's guest stops sending VMware Tools heartbeats at ``at`` (VM monitoring, R-VMMON).

        hostd reports the Tools heartbeat status yellow at ``at + 30 + φ`` and red 30 s later
        (φ = ``engine.hostdPhaseSeconds``, default 1); HA resets the VM when red has lasted the
        failure interval (high sensitivity: ``at + 91``). ``io_until``: until when the guest kept
        doing disk or network I/O; while that is within the last ``das.iostatsInterval`` (120 s)
        the reset waits, checked again every failure interval (``None``: the guest hung, no
        wait). ``application=True``: the application heartbeats stop instead (mode
        ``vmAndAppMonitoring``): red at ``at + 30 + φ``, no yellow, no I/O check."""
        if not isinstance(application, bool):
            raise ArgumentError(f"application must be True or False, got {application!r}")
        self._core.guest_heartbeat_loss(id_arg(vm, "vm"), float(at),
                                        None if io_until is None else float(io_until), application)

    def power_on_failure(self, vm: str, attempts: int = 1) -> None:
        """The next ``attempts`` power-ons of ``vm`` fail (to exercise retries). ``attempts``
        is a whole number from 0 to 2³² − 1, as in a ``power_on_failure`` fault dict; anything
        else raises :class:`~hapolicy.ArgumentError`."""
        self._core.vm_power_on_failure(id_arg(vm, "vm"), _attempts(attempts))

    def vcenter_unavailable(self, at: float = 0.0, until: float | None = None) -> None:
        """vCenter goes away: HA keeps working, configuration cannot change, and DRS and DPM
        do not help restarts until it is back (R-PLACE-DRS)."""
        self._core.vcenter_unavailable(float(at), until)

    def apply(self, events: Iterable[Mapping[str, Any]]) -> None:
        """The same faults as dicts, e.g. ``{"at": 0, "type": "host_failure", "host": "host-12"}``.
        Types: host_failure, host_recovery, agent_failure, isolation, partition, power_outage,
        datastore_apd, datastore_pdl, guest_heartbeat_loss (optional ``io_until``, ``application``),
        power_on_failure, vcenter_unavailable, and (R-DOMAIN) domain_failure (``domain``),
        site_failure (``site``), site_partition (``until``); isolation, partition and
        site_partition take ``reachable_addresses`` and ``network``.
        The list is checked whole: a bad entry raises ``InventoryError`` and applies nothing."""
        # Lists, tuples and non-iterables go to the engine as they are, so that anything that is
        # not a list of faults is reported like any other bad input (an InventoryError).
        self._core.apply(events if isinstance(events, (list, tuple, str, Mapping)) or not isinstance(events, Iterable)
                         else list(events))

    # ---------------------------------------------------------------- running
    def run(self, until: float | None = None) -> Timeline:
        """Advances the clock to ``until`` (default: the scenario's ``until``, else 3600 s) and
        returns the events of this run."""
        if until is None:
            until = self._core.scenario_until if self._core.scenario_until is not None else 3600.0
        return _timeline(self._core.run(float(until)), self._inventory)

    def run_to_quiescence(self, limit: float = 86_400.0) -> Timeline:
        """Runs until nothing is pending (at most ``limit`` seconds of virtual time)."""
        return _timeline(self._core.run_to_quiescence(float(limit)), self._inventory)

    @property
    def timeline(self) -> Timeline:
        """Every event so far."""
        return _timeline(self._core.events(), self._inventory)

    @property
    def now(self) -> float:
        """The virtual clock: how far the simulation has run, in seconds."""
        return self._core.now()

    @property
    def master(self) -> str | None:
        """The master of the main partition (``None`` while electing)."""
        return self._core.master()

    @property
    def masters(self) -> list[str]:
        """Every acting master (one per partition)."""
        return self._core.masters()

    def host_states(self) -> dict[str, HostState]:
        """Each host's state as the master(s) report it."""
        return {h: HostState(s) for h, s in self._core.host_states().items()}

    def vm_states(self) -> dict[str, tuple[PowerState, str | None]]:
        """Each VM's power state and host."""
        return {v: (PowerState(p), h) for v, (p, h) in self._core.vm_states().items()}

    def fork(self) -> Simulation:
        """An independent copy in the current state: try two futures from one past."""
        other = Simulation.__new__(Simulation)
        other._core = self._core.fork()
        other._inventory = self._inventory
        return other

    def __repr__(self) -> str:
        return f"Simulation(t={self.now:g}s, master={self.master!r}, events={len(self._core.events())})"
