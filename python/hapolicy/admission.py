"""Admission control (R-AC) — the figures vCenter shows, what-if checks — and heartbeat
datastore selection (R-HBDS)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from . import _core
from ._args import id_arg, id_list, known_ids, whole_number
from ._tabular import html_table, plain, records_to_pandas
from .enums import AdmissionPolicy
from .inventory import Inventory, Vm

__all__ = [
    "AdmissionDecision",
    "AdmissionReport",
    "FailoverHostStatus",
    "HeartbeatSelection",
    "HeartbeatWarning",
    "admission_control",
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
    text: str = field(default="", compare=False, repr=False)

    @classmethod
    def _from_core(cls, d: Mapping[str, Any]) -> AdmissionReport:
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
            text=d["text"],
        )

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = plain({k: getattr(self, k) for k in self.__dataclass_fields__ if k != "text"})
        return out

    def to_records(self) -> list[dict[str, Any]]:
        """One row per host: counted or not, its slots (slot policy)."""
        rows: list[dict[str, Any]] = [
            {"host": h, "counted": True, "slots": self.host_slots.get(h), "excluded_because": None}
            for h in self.counted_hosts
        ]
        rows += [{"host": h, "counted": False, "slots": None, "excluded_because": why} for h, why in self.excluded_hosts.items()]
        return rows

    def to_pandas(self) -> Any:
        return records_to_pandas(self.to_records(), ["host", "counted", "slots", "excluded_because"])

    def __str__(self) -> str:
        return self.text

    def _repr_html_(self) -> str:
        figures = [
            (k, getattr(self, k))
            for k in ("policy", "satisfied", "slot_cpu_mhz", "slot_memory_mb", "total_slots", "used_slots",
                      "available_slots", "current_failover_level", "cpu_failover_percent", "memory_failover_percent",
                      "configured_cpu_percent", "configured_memory_percent")
            if getattr(self, k) is not None
        ]
        figures += [("message", m) for m in self.messages]
        return html_table(("figure", "value"), figures, title="Admission control")


@dataclass(frozen=True, slots=True)
class AdmissionDecision:
    """The answer to "may I …?": ``allowed`` and a sentence with the figures. ``before`` and
    ``after`` hold the policy's figures without and with the operation. Truthy when allowed."""

    allowed: bool
    reason: str
    before: Mapping[str, Any] = field(default_factory=dict)
    after: Mapping[str, Any] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return self.allowed

    def to_dict(self) -> dict[str, Any]:
        return {"allowed": self.allowed, "reason": self.reason, "before": dict(self.before), "after": dict(self.after)}

    def __str__(self) -> str:
        return f"{'allowed' if self.allowed else 'refused'}: {self.reason}"


def admission_control(inv: Inventory, failed_hosts: Iterable[str] | None = None) -> AdmissionReport:
    """The admission-control figures for the configured policy (R-AC). ``failed_hosts`` are
    treated as failed (not counted) — "what would vCenter show after losing these hosts"."""
    failed = (None if failed_hosts is None
              else id_list([failed_hosts] if isinstance(failed_hosts, str) else failed_hosts, "host"))
    return AdmissionReport._from_core(_core.admission_control(inv._core, failed))


def _decision(d: Mapping[str, Any]) -> AdmissionDecision:
    return AdmissionDecision(d["allowed"], d["reason"], d["before"], d["after"])


def check_power_on(inv: Inventory, vm: Vm | Mapping[str, Any]) -> AdmissionDecision:
    """May ``vm`` be powered on? ``vm`` is a VM of the inventory that is powered off (its id is
    enough with the target ``host``), or a new VM, in the JSON vm shape or as a :class:`Vm`. The
    VM is powered on on its ``host``. Admission control never blocks HA's own restarts."""
    return _decision(_core.check_operation(inv._core, "power_on", _vm_doc(inv, vm)))


def check_migrate_in(inv: Inventory, vm: Vm | Mapping[str, Any]) -> AdmissionDecision:
    """May this running VM be migrated into the cluster, onto ``vm.host``?"""
    return _decision(_core.check_operation(inv._core, "migrate_in", _vm_doc(inv, vm)))


def check_reservation_change(
    inv: Inventory, vm: str, cpu_reservation_mhz: int | None = None, memory_reservation_mb: int | None = None
) -> AdmissionDecision:
    """May ``vm``'s reservations be changed to these values (``None``: unchanged)? A value that
    is not a whole number from 0 to 2⁶⁴ − 1 raises :class:`~hapolicy.ArgumentError`."""
    if cpu_reservation_mhz is not None:
        cpu_reservation_mhz = whole_number(cpu_reservation_mhz, "cpu_reservation_mhz")
    if memory_reservation_mb is not None:
        memory_reservation_mb = whole_number(memory_reservation_mb, "memory_reservation_mb")
    return _decision(
        _core.check_operation(inv._core, "reservation", None, id_arg(vm, "vm"), cpu_reservation_mhz,
                              memory_reservation_mb)
    )


def _vm_doc(inv: Inventory, vm: Vm | Mapping[str, Any]) -> dict[str, Any]:
    """The VM as it would be once powered on: an inventory VM named by id starts from its
    record, then takes what was given (e.g. the target ``host``)."""
    given: dict[str, Any] = dict(vm) if isinstance(vm, Mapping) else plain(vm)
    vm_id = given.get("id")
    doc = inv._core.vm(vm_id) if isinstance(vm_id, str) and vm_id in inv._core.vm_ids() else {}
    doc.update({k: v for k, v in given.items() if v is not None and not (k == "name" and v == "")})
    doc["power_state"] = "poweredOn"
    return doc


@dataclass(frozen=True, slots=True)
class HeartbeatWarning:
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

    def to_dict(self) -> dict[str, Any]:
        return {"policy": self.policy, "required": self.required, "disabled": self.disabled,
                "hosts": {h: list(d) for h, d in self.hosts.items()},
                "warnings": [plain(w) for w in self.warnings]}

    def to_records(self) -> list[dict[str, Any]]:
        return [{"host": h, "datastores": list(d), "count": len(d)} for h, d in self.hosts.items()]

    def to_pandas(self) -> Any:
        return records_to_pandas(self.to_records(), ["host", "datastores", "count"])

    def __str__(self) -> str:
        return self.text

    def _repr_html_(self) -> str:
        return html_table(("host", "heartbeat datastores"), ((h, d) for h, d in self.hosts.items()),
                          title=f"Heartbeat datastores ({self.policy}, {self.required} per host)")


def heartbeat_datastores(inv: Inventory, unusable_datastores: Iterable[str] = ()) -> HeartbeatSelection:
    """The heartbeat datastores each host would use, and the warnings vCenter would raise."""
    d = _core.heartbeat_datastores(inv._core, known_ids(unusable_datastores))
    return HeartbeatSelection(
        policy=d["policy"], required=d["required"], disabled=d["disabled"],
        hosts={h: tuple(ds) for h, ds in d["hosts"]},
        warnings=tuple(HeartbeatWarning(w["kind"], w["host"], w["datastore"], w["message"]) for w in d["warnings"]),
        text=d["text"],
    )
