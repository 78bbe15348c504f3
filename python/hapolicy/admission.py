"""Admission control (R-AC) — the figures vCenter shows, what-if checks — and heartbeat
datastore selection (R-HBDS)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from . import _core
from ._args import id_arg, id_list, known_ids, whole_number
from ._tabular import plain, records_to_pandas
from .enums import AdmissionPolicy, UnplacedReason
from .errors import ArgumentError, UnknownIdError
from .inventory import Inventory, Vm

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "AdmissionDecision",
    "AdmissionReport",
    "FailoverHostStatus",
    "HeartbeatSelection",
    "HeartbeatWarning",
    "PerformanceDegradation",
    "admission_control",
    "check_enter_maintenance",
    "check_migrate_in",
    "check_power_on",
    "check_reservation_change",
    "heartbeat_datastores",
]


@dataclass(frozen=True, slots=True)
class FailoverHostStatus:
    """A dedicated failover host (R-AC-FH): ``healthy`` (usable and empty), ``runningVms`` or
    ``unavailable``."""

    host: str
    state: str
    running_vms: tuple[str, ...] = ()
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class PerformanceDegradation:
    """"Performance degradation VMs tolerate" (R-AC-PERF, 6.5+): the cluster's current demand
    (Σ ``cpu_usage_mhz`` / ``memory_usage_mb`` of the powered-on VMs; their reservation when a
    figure is unknown — ``vms_without_usage`` says how many) against the capacity left after
    the configured failures (``failures`` says which). ``warning`` when demand × (1 − p/100)
    exceeds what is left for CPU or memory, p = ``tolerated_percent``; equivalently when the
    ``*_reduction_percent`` exceeds p. A warning figure, never a block."""

    tolerated_percent: int
    failures: str
    remaining_cpu_mhz: int
    remaining_memory_mb: int
    demand_cpu_mhz: int
    demand_memory_mb: int
    vms_without_usage: int
    cpu_reduction_percent: float
    memory_reduction_percent: float
    cpu_warning: bool
    memory_warning: bool
    warning: bool
    summary: str = field(default="", compare=False)

    def __str__(self) -> str:
        return self.summary


@dataclass(frozen=True, slots=True)
class AdmissionReport:
    """What vCenter shows for the configured policy. Slot figures are ``None`` unless the slot
    policy is configured; percentages ``None`` unless the percentage policy is."""

    policy: AdmissionPolicy
    satisfied: bool
    overcommitted: bool
    configured_host_failures: int | None
    configured_cpu_percent: float | None
    configured_memory_percent: float | None
    slot_cpu_mhz: int | None
    slot_memory_mb: int | None
    host_slots: Mapping[str, int]
    total_slots: int | None
    used_slots: int | None
    available_slots: int | None
    current_failover_level: int | None
    cpu_failover_percent: float | None
    memory_failover_percent: float | None
    counted_hosts: tuple[str, ...]
    excluded_hosts: Mapping[str, str]
    counted_vms: int
    total_cpu_mhz: int
    total_memory_mb: int
    required_cpu_mhz: int
    required_memory_mb: int
    failover_hosts: tuple[FailoverHostStatus, ...]
    messages: tuple[str, ...]
    #: R-AC-PERF figures and warning; ``None`` when ``resource_reduction_to_tolerate_percent``
    #: is not configured or admission control is disabled.
    performance_degradation: PerformanceDegradation | None = None
    text: str = field(default="", compare=False, repr=False)
    #: host id → name, for the ``host_name`` column of :meth:`to_records`.
    _host_names: Mapping[str, str] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def _from_core(cls, d: Mapping[str, Any], host_names: Mapping[str, str] | None = None) -> AdmissionReport:
        return cls(
            policy=AdmissionPolicy(d["policy"]),
            satisfied=d["satisfied"],
            overcommitted=d["overcommitted"],
            configured_host_failures=d["configured_host_failures"],
            configured_cpu_percent=d["configured_cpu_percent"],
            configured_memory_percent=d["configured_memory_percent"],
            slot_cpu_mhz=d["slot_cpu_mhz"],
            slot_memory_mb=d["slot_memory_mb"],
            host_slots={h: n for h, n in d["host_slots"]},
            total_slots=d["total_slots"],
            used_slots=d["used_slots"],
            available_slots=d["available_slots"],
            current_failover_level=d["current_failover_level"],
            cpu_failover_percent=d["cpu_failover_percent"],
            memory_failover_percent=d["memory_failover_percent"],
            counted_hosts=tuple(d["counted_hosts"]),
            excluded_hosts={h: why for h, why in d["excluded_hosts"]},
            counted_vms=d["counted_vms"],
            total_cpu_mhz=d["total_cpu_mhz"],
            total_memory_mb=d["total_memory_mb"],
            required_cpu_mhz=d["required_cpu_mhz"],
            required_memory_mb=d["required_memory_mb"],
            failover_hosts=tuple(
                FailoverHostStatus(f["host"], f["state"], tuple(f["running_vms"]), f["reason"]) for f in d["failover_hosts"]
            ),
            messages=tuple(d["messages"]),
            performance_degradation=(None if d.get("performance_degradation") is None
                                     else PerformanceDegradation(**d["performance_degradation"])),
            text=d["text"],
            _host_names=host_names or {},
        )

    def to_dict(self) -> dict[str, Any]:
        """Every figure of the report as plain data (JSON-ready)."""
        fields = (k for k in self.__dataclass_fields__ if k not in ("text", "_host_names"))
        out: dict[str, Any] = plain({k: getattr(self, k) for k in fields})
        return out

    def to_records(self) -> list[dict[str, Any]]:
        """One row per host: counted or not, its slots (slot policy). ``host`` is the id,
        ``host_name`` the inventory's name (the id when the host has none of its own)."""
        names = self._host_names
        rows: list[dict[str, Any]] = [
            {"host": h, "host_name": names.get(h, h), "counted": True, "slots": self.host_slots.get(h),
             "excluded_because": None}
            for h in self.counted_hosts
        ]
        rows += [{"host": h, "host_name": names.get(h, h), "counted": False, "slots": None, "excluded_because": why}
                 for h, why in self.excluded_hosts.items()]
        return rows

    def to_pandas(self) -> pd.DataFrame:
        """One row per host; ``slots`` is a nullable ``Int64`` (missing when not counted or not
        the slot policy)."""
        return records_to_pandas(self.to_records(), ["host", "host_name", "counted", "slots", "excluded_because"],
                                 ints=["slots"])

    def __str__(self) -> str:
        return self.text

    def _repr_html_(self) -> str:
        # The report's admission-control section (one renderer for the page and Jupyter).
        from . import _html, report

        return _html.fragment("admission_control", report.admission_section(self))


@dataclass(frozen=True, slots=True)
class AdmissionDecision:
    """The answer to "may I …?": ``allowed`` and a sentence with the figures. ``before`` and
    ``after`` hold the policy's figures without and with the operation. Truthy when allowed.

    For :func:`check_enter_maintenance` (R-AC-MAINT) also: ``moves`` (VM id → the host it moves
    to, in placement order) and ``unmovable`` (VM id → why no remaining host can take it, an
    :class:`UnplacedReason`); both are empty for other checks and in ``to_dict()`` only when set."""

    allowed: bool
    reason: str
    before: Mapping[str, Any] = field(default_factory=dict)
    after: Mapping[str, Any] = field(default_factory=dict)
    moves: Mapping[str, str] = field(default_factory=dict)
    unmovable: Mapping[str, UnplacedReason] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return self.allowed

    def to_dict(self) -> dict[str, Any]:
        """``allowed``, ``reason`` and the figures ``before`` and ``after`` the operation, as plain data."""
        out = {"allowed": self.allowed, "reason": self.reason, "before": dict(self.before), "after": dict(self.after)}
        if self.moves or self.unmovable:
            out["moves"] = dict(self.moves)
            out["unmovable"] = {vm: str(reason) for vm, reason in self.unmovable.items()}
        return out

    def __str__(self) -> str:
        return f"{'allowed' if self.allowed else 'refused'}: {self.reason}"

    def _repr_html_(self) -> str:
        from . import _html

        keys = list(dict.fromkeys([*self.before, *self.after]))
        figures = [{"figure": k.replace("_", " "), "before": self.before.get(k), "after": self.after.get(k)}
                   for k in keys if not isinstance(self.before.get(k, self.after.get(k)), (dict, list))
                   and (self.before.get(k) is not None or self.after.get(k) is not None)]
        return _html.fragment("decision", {"allowed": self.allowed, "reason": self.reason, "figures": figures})


def admission_control(inv: Inventory, failed_hosts: Iterable[str] | None = None) -> AdmissionReport:
    """The admission-control figures for the configured policy (R-AC). ``failed_hosts`` (ids or
    unambiguous names) are treated as failed (not counted) — "what would vCenter show after
    losing these hosts". The report's ``text`` shows hosts as ``host-21 (esx-01)``."""
    failed = (None if failed_hosts is None
              else id_list([failed_hosts] if isinstance(failed_hosts, str) else failed_hosts, "host"))
    return AdmissionReport._from_core(_core.admission_control(inv._core, failed), _host_names(inv))


def _host_names(inv: Inventory) -> dict[str, str]:
    """host id → name (the id when the host has no name of its own)."""
    return {h.id: h.name or h.id for h in inv.hosts}


def _decision(d: Mapping[str, Any]) -> AdmissionDecision:
    return AdmissionDecision(d["allowed"], d["reason"], d["before"], d["after"])


def check_power_on(inv: Inventory, vm: Vm | Mapping[str, Any]) -> AdmissionDecision:
    """May ``vm`` be powered on? ``vm`` is a VM of the inventory that is powered off (its id, or
    a name only it carries, is enough with the target ``host``), or a new VM, in the JSON vm
    shape or as a :class:`Vm`. ``host``, ``home_datastore`` and ``datastores`` may be ids or
    unambiguous names. The VM is powered on on its ``host``. Admission control never blocks HA's
    own restarts. Anything but a mapping or a :class:`Vm` raises ``TypeError``."""
    return _decision(_core.check_operation(inv._core, "power_on", _vm_doc(inv, vm)))


def check_migrate_in(inv: Inventory, vm: Vm | Mapping[str, Any]) -> AdmissionDecision:
    """May this running VM be migrated into the cluster, onto ``vm.host``?"""
    return _decision(_core.check_operation(inv._core, "migrate_in", _vm_doc(inv, vm)))


def check_reservation_change(
    inv: Inventory, vm: str, cpu_reservation_mhz: int | None = None, memory_reservation_mb: int | None = None
) -> AdmissionDecision:
    """May ``vm`` (an id or an unambiguous name)'s reservations be changed to these values
    (``None``: unchanged)? A value that is not a whole number (0 or more) raises
    :class:`~hapolicy.ArgumentError`."""
    if cpu_reservation_mhz is not None:
        cpu_reservation_mhz = whole_number(cpu_reservation_mhz, "cpu_reservation_mhz")
    if memory_reservation_mb is not None:
        memory_reservation_mb = whole_number(memory_reservation_mb, "memory_reservation_mb")
    return _decision(
        _core.check_operation(inv._core, "reservation", None, id_arg(vm, "vm"), cpu_reservation_mhz,
                              memory_reservation_mb)
    )


def check_enter_maintenance(inv: Inventory, host: str, mode: str = "maintenance") -> AdmissionDecision:
    """May ``host`` (an id or an unambiguous name) enter maintenance mode — or DPM standby with
    ``mode="standby"`` — under the configured admission control (R-AC-MAINT)?

    Its powered-on VMs are moved to the remaining hosts by reservation, with the failover
    placement rules (R-PLACE-2/3; dedicated failover hosts take none), and the policy is
    evaluated without the host: allowed when it stays satisfied (or admission control is
    disabled). A VM that no remaining host can take makes the answer *refused*, and
    ``unmovable`` names it with the reason. ``before`` / ``after`` hold the figures; ``moves``
    says where each VM goes. A host already in maintenance or standby, disconnected or not
    responding raises :class:`~hapolicy.ArgumentError`; an unknown one
    :class:`~hapolicy.UnknownIdError`."""
    if mode not in ("maintenance", "standby"):
        raise ArgumentError(f"mode must be 'maintenance' or 'standby', not {mode!r}")
    d = _core.check_enter_maintenance(inv._core, id_arg(host, "host"), mode)
    return AdmissionDecision(d["allowed"], d["reason"], d["before"], d["after"], dict(d["moves"]),
                             {vm: UnplacedReason(r) for vm, r in d["unmovable"]})


def _vm_doc(inv: Inventory, vm: Vm | Mapping[str, Any]) -> dict[str, Any]:
    """The VM as it would be once powered on: an inventory VM named by id (or by a name only it
    carries) starts from its record, then takes what was given (e.g. the target ``host``).
    ``host`` and the datastores may name their objects: the core resolves them."""
    if isinstance(vm, Mapping):
        given: dict[str, Any] = dict(vm)
    elif isinstance(vm, Vm):
        given = plain(vm)
    else:
        raise TypeError(f"vm must be a mapping in the JSON vm shape or a hapolicy.Vm, got {type(vm).__name__}")
    vm_id = given.get("id")
    known = _existing_vm(inv, vm_id) if isinstance(vm_id, str) else None
    doc = inv._core.vm(known) if known is not None else {}
    if known is not None:
        given["id"] = known
    doc.update({k: v for k, v in given.items() if v is not None and not (k == "name" and v == "")})
    doc["power_state"] = "poweredOn"
    return doc


def _existing_vm(inv: Inventory, x: str) -> str | None:
    """The id of the inventory VM ``x`` names (id, or a name only one VM carries); ``None`` for
    a new VM. A name several VMs share raises :class:`~hapolicy.UnknownIdError`."""
    try:
        return inv.resolve_vm(x)
    except UnknownIdError as exc:
        if exc.candidates:
            raise
        return None


@dataclass(frozen=True, slots=True)
class HeartbeatWarning:
    """A configuration warning vCenter would raise about heartbeat datastores (R-HBDS):
    ``kind`` (``insufficientHeartbeatDatastores`` or ``unusablePreferredDatastore``), the host and
    the datastore it is about (``None`` when not about one), and the ``message``."""

    kind: str
    host: str | None
    datastore: str | None
    message: str


@dataclass(frozen=True, slots=True)
class HeartbeatSelection:
    """Heartbeat datastores chosen per host (R-HBDS) and the configuration warnings."""

    policy: str
    required: int
    disabled: bool
    hosts: Mapping[str, tuple[str, ...]]
    warnings: tuple[HeartbeatWarning, ...]
    text: str = field(default="", compare=False, repr=False)
    #: host id → name, for the ``host_name`` column of :meth:`to_records`.
    _host_names: Mapping[str, str] = field(default_factory=dict, compare=False, repr=False)

    def to_dict(self) -> dict[str, Any]:
        """The policy, the required count, the datastores per host and the warnings, as plain data."""
        return {"policy": self.policy, "required": self.required, "disabled": self.disabled,
                "hosts": {h: list(d) for h, d in self.hosts.items()},
                "warnings": [plain(w) for w in self.warnings]}

    def to_records(self) -> list[dict[str, Any]]:
        """One row per host: its heartbeat datastores (ids) and how many; ``host_name`` beside the id."""
        return [{"host": h, "host_name": self._host_names.get(h, h), "datastores": list(d), "count": len(d)}
                for h, d in self.hosts.items()]

    def to_pandas(self) -> pd.DataFrame:
        """One row per host: its heartbeat datastores and how many."""
        return records_to_pandas(self.to_records(), ["host", "host_name", "datastores", "count"])

    def __str__(self) -> str:
        return self.text

    def _repr_html_(self) -> str:
        from . import _html, report

        return _html.fragment("heartbeat_datastores", report.heartbeat_section(self, None))


def heartbeat_datastores(inv: Inventory, unusable_datastores: Iterable[str] = ()) -> HeartbeatSelection:
    """The heartbeat datastores each host would use, and the warnings vCenter would raise.
    ``unusable_datastores`` are ids or unambiguous names (an unknown one is ignored, a name
    several datastores share raises :class:`~hapolicy.UnknownIdError`); ``text`` shows hosts and
    datastores as ``host-21 (esx-01)``."""
    unusable = [unusable_datastores] if isinstance(unusable_datastores, str) else unusable_datastores
    d = _core.heartbeat_datastores(inv._core, known_ids(unusable))
    return HeartbeatSelection(
        policy=d["policy"], required=d["required"], disabled=d["disabled"],
        hosts={h: tuple(ds) for h, ds in d["hosts"]},
        warnings=tuple(HeartbeatWarning(w["kind"], w["host"], w["datastore"], w["message"]) for w in d["warnings"]),
        text=d["text"],
        _host_names=_host_names(inv),
    )
