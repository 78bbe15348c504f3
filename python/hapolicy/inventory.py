"""The cluster inventory (SPEC §1): immutable value objects over the Rust core's validated copy."""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from ._args import id_arg
from ._core import Inventory as _CoreInventory
from ._core import generate_inventory as _generate
from ._tabular import html_table, plain
from .enums import (
    AdmissionPolicy,
    ConnectionState,
    DatastoreType,
    HbDsPolicy,
    IsolationResponse,
    PowerState,
    RestartPriority,
    RuleKind,
    Version,
    VmRole,
)
from .errors import InventoryError, UnknownIdError

__all__ = [
    "AdmissionControlConfig",
    "ClusterConfig",
    "Datastore",
    "HeartbeatDatastoreConfig",
    "Host",
    "Inventory",
    "Rule",
    "Vm",
    "generate_inventory",
]

_T = TypeVar("_T")


def _freeze(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(_freeze(v) for v in value)
    return value


def _build(cls: type[_T], data: Mapping[str, Any], enums: Mapping[str, type] = {}) -> _T:
    """Builds a value object from the core's complete document form."""
    kwargs: dict[str, Any] = {}
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
        key = f.metadata.get("key", f.name)
        if key not in data:
            continue
        v = data[key]
        if f.name in enums and v is not None:
            v = enums[f.name](v)
        kwargs[f.name] = _freeze(v)
    return cls(**kwargs)


class _Record:
    """Mixin: ``to_dict()`` in the JSON shape of API.md."""

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            out[f.metadata.get("key", f.name)] = plain(getattr(self, f.name))
        if out.get("name") == "":  # unnamed: the engine names it after its id
            del out["name"]
        return out


@dataclass(frozen=True, slots=True)
class Host(_Record):
    """An ESXi host. Capacities are what VMs can use (the root resource pool)."""

    id: str
    name: str = ""
    cpu_mhz: int = 0
    memory_mb: int = 0
    datastores: tuple[str, ...] = ()
    networks: tuple[str, ...] | None = None
    state: ConnectionState = ConnectionState.CONNECTED
    maintenance: bool = False
    standby: bool = False
    goodness: int | None = None
    agent_vms_ready: bool = True


@dataclass(frozen=True, slots=True)
class Datastore(_Record):
    id: str
    name: str = ""
    type: DatastoreType = DatastoreType.VMFS
    backing: str | None = None


@dataclass(frozen=True, slots=True)
class Vm(_Record):
    """A virtual machine. ``datastores`` always holds the home datastore first."""

    id: str
    name: str = ""
    host: str | None = None
    power_state: PowerState = PowerState.POWERED_ON
    cpu_reservation_mhz: int = 0
    memory_reservation_mb: int = 0
    memory_overhead_mb: int = 0
    home_datastore: str = ""
    datastores: tuple[str, ...] = ()
    networks: tuple[str, ...] = ()
    restart_priority: RestartPriority = RestartPriority.CLUSTER_RESTART_PRIORITY
    isolation_response: IsolationResponse = IsolationResponse.CLUSTER_ISOLATION_RESPONSE
    role: VmRole | None = None
    protected: bool | None = None
    clean_power_off: bool = False
    tools_running: bool = True
    vm_monitoring: Mapping[str, Any] | None = None
    vmcp: Mapping[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        out = _Record.to_dict(self)
        if out["protected"] is None:  # let the engine apply its default
            del out["protected"]
        if not out["datastores"]:
            del out["datastores"]
        return out


@dataclass(frozen=True, slots=True)
class Rule(_Record):
    """A DRS/HA rule. For ``vmDependsOn``, ``vm`` depends on every VM in ``depends_on``."""

    type: RuleKind
    name: str = ""
    enabled: bool = True
    vms: tuple[str, ...] = ()
    hosts: tuple[str, ...] = ()
    vm: str | None = None
    depends_on: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": str(self.type), "name": self.name, "enabled": self.enabled}
        if self.type == RuleKind.VM_DEPENDS_ON:
            out.update(vm=self.vm, depends_on=list(self.depends_on))
        else:
            out["vms"] = list(self.vms)
            if self.type.startswith("vmHost"):
                out["hosts"] = list(self.hosts)
        return out


@dataclass(frozen=True, slots=True)
class AdmissionControlConfig(_Record):
    """Admission control policy (SPEC §5); unused fields are ``None``."""

    policy: AdmissionPolicy
    host_failures: int | None = None
    cpu_percent: float | None = None
    memory_percent: float | None = None
    slot_cpu_mhz: int | None = None
    slot_memory_mb: int | None = None
    hosts: tuple[str, ...] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in _Record.to_dict(self).items() if v is not None}


@dataclass(frozen=True, slots=True)
class HeartbeatDatastoreConfig(_Record):
    policy: HbDsPolicy = HbDsPolicy.ALL_FEASIBLE_DS_WITH_USER_PREFERENCE
    preferred: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ClusterConfig(_Record):
    """The cluster's HA configuration with every default explicit."""

    name: str
    version: Version
    host_monitoring: bool
    admission_control: AdmissionControlConfig
    isolation_response: IsolationResponse
    restart_priority: RestartPriority
    isolation_addresses: tuple[str, ...]
    heartbeat_datastores: HeartbeatDatastoreConfig
    advanced_options: Mapping[str, str] = field(default_factory=dict)
    vmcp: Mapping[str, Any] = field(default_factory=dict)
    vm_monitoring: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def _from_doc(cls, c: Mapping[str, Any]) -> ClusterConfig:
        return cls(
            name=c["name"],
            version=Version(c["version"]),
            host_monitoring=c["host_monitoring"],
            admission_control=_build(AdmissionControlConfig, c["admission_control"], {"policy": AdmissionPolicy}),
            isolation_response=IsolationResponse(c["isolation_response"]),
            restart_priority=RestartPriority(c["restart_priority"]),
            isolation_addresses=tuple(c["isolation_addresses"]),
            heartbeat_datastores=_build(HeartbeatDatastoreConfig, c["heartbeat_datastores"], {"policy": HbDsPolicy}),
            advanced_options=dict(c["advanced_options"]),
            vmcp=dict(c["vmcp"]),
            vm_monitoring=dict(c["vm_monitoring"]),
        )


_HOST_ENUMS = {"state": ConnectionState}
_DS_ENUMS = {"type": DatastoreType}
_VM_ENUMS = {
    "power_state": PowerState,
    "restart_priority": RestartPriority,
    "isolation_response": IsolationResponse,
    "role": VmRole,
}


def _rule(d: Mapping[str, Any]) -> Rule:
    return _build(Rule, d, {"type": RuleKind})


def _read_text(read: Callable[[str], _CoreInventory], text: str | bytes) -> _CoreInventory:
    """``read(text)``; bytes must be UTF-8 and a str must not hold lone surrogates (UTF-8
    cannot encode them). Either problem is an :class:`InventoryError`, like any other bad
    input, not a ``UnicodeError``."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InventoryError([("<input>", f"not UTF-8 text: {exc.reason} at byte {exc.start}")]) from None
    try:
        return read(text)
    except UnicodeEncodeError as exc:
        raise InventoryError([("<input>", f"not valid text: {exc.reason} at character {exc.start}")]) from None


class Inventory:
    """A validated, immutable cluster inventory.

    Build it with :meth:`from_dict`, :meth:`from_json`, :meth:`from_yaml` or :meth:`load`;
    derive what-if copies with :meth:`replace`. Invalid input raises
    :class:`~hapolicy.InventoryError` listing every problem.
    """

    __slots__ = ("_core", "_hosts", "_vms", "_datastores", "_rules", "_config", "__weakref__")

    _core: _CoreInventory
    _hosts: tuple[Host, ...] | None
    _vms: tuple[Vm, ...] | None
    _datastores: tuple[Datastore, ...] | None
    _rules: tuple[Rule, ...] | None
    _config: ClusterConfig | None

    def __init__(self, core: _CoreInventory) -> None:
        if not isinstance(core, _CoreInventory):
            raise TypeError(
                "Inventory is built with Inventory.from_dict / from_json / from_yaml / load, "
                f"not from {type(core).__name__}"
            )
        object.__setattr__(self, "_core", core)
        for name in ("_hosts", "_vms", "_datastores", "_rules", "_config"):
            object.__setattr__(self, name, None)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("Inventory is immutable; use inv.replace(...) for a modified copy")

    def __delattr__(self, name: str) -> None:
        raise AttributeError("Inventory is immutable")

    # ---------------------------------------------------------------- construction
    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Inventory:
        """From plain data in the JSON shape of API.md (enum members and value objects accepted)."""
        return cls(_CoreInventory.from_obj(data))

    @classmethod
    def from_json(cls, text: str | bytes) -> Inventory:
        return cls(_read_text(_CoreInventory.from_json, text))

    @classmethod
    def from_yaml(cls, text: str | bytes) -> Inventory:
        return cls(_read_text(_CoreInventory.from_yaml, text))

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Inventory:
        """Reads ``.json``, ``.yaml`` or ``.yml``, or an RVTools ``.xlsx`` export (by suffix).
        An export must hold one cluster; :func:`hapolicy.io.read_rvtools` picks one of several
        and reports the values RVTools could not tell."""
        p = Path(path)
        suffix = p.suffix.lower()
        if suffix == ".xlsx":
            from .io.rvtools import from_rvtools

            return from_rvtools(p)
        if suffix not in (".json", ".yaml", ".yml"):
            raise InventoryError(
                [(str(p), f"unsupported file type '{suffix or '(none)'}'; expected .json, .yaml, .yml or .xlsx")]
            )
        try:
            text = p.read_text(encoding="utf-8")
        except OSError as exc:
            raise InventoryError([(str(p), f"cannot read file: {exc.strerror or exc}")]) from exc
        except UnicodeDecodeError as exc:
            raise InventoryError([(str(p), f"not UTF-8 text: {exc.reason} at byte {exc.start}")]) from exc
        except ValueError as exc:  # a path the OS cannot take: a NUL, a lone surrogate
            raise InventoryError([(str(p), f"cannot read file: {exc}")]) from exc
        return cls.from_json(text) if suffix == ".json" else cls.from_yaml(text)

    # ---------------------------------------------------------------- export
    def to_dict(self) -> dict[str, Any]:
        """The complete document (every default explicit); ``from_dict(inv.to_dict()) == inv``."""
        doc: dict[str, Any] = self._core.to_obj()
        return doc

    def to_json(self, indent: int | None = None) -> str:
        return self._core.to_json(indent)

    def _cached(self, name: str, make: Callable[[], _T]) -> _T:
        """Builds a derived view once (the inventory never changes, so it never goes stale)."""
        value: _T | None = getattr(self, name)
        if value is None:
            value = make()
            object.__setattr__(self, name, value)
        return value

    # ---------------------------------------------------------------- contents
    @property
    def hosts(self) -> tuple[Host, ...]:
        return self._cached("_hosts", lambda: tuple(_build(Host, h, _HOST_ENUMS) for h in self._core.section("hosts")))

    @property
    def vms(self) -> tuple[Vm, ...]:
        return self._cached("_vms", lambda: tuple(_build(Vm, v, _VM_ENUMS) for v in self._core.section("vms")))

    @property
    def datastores(self) -> tuple[Datastore, ...]:
        return self._cached(
            "_datastores", lambda: tuple(_build(Datastore, d, _DS_ENUMS) for d in self._core.section("datastores"))
        )

    @property
    def rules(self) -> tuple[Rule, ...]:
        return self._cached("_rules", lambda: tuple(_rule(r) for r in self._core.section("rules")))

    @property
    def config(self) -> ClusterConfig:
        return self._cached("_config", lambda: ClusterConfig._from_doc(self._core.section("cluster")))

    @property
    def warnings(self) -> list[tuple[str, str]]:
        """Non-fatal findings, ``(path, message)``: unknown options kept, unknown fields ignored, …"""
        return self._core.warnings()

    @property
    def options(self) -> dict[str, Any]:
        """The advanced options in force, typed, with defaults (canonical keys)."""
        return self._core.options()

    def host(self, id: str) -> Host:  # noqa: A002
        """The host with this id; ``UnknownIdError`` (a ``KeyError``) otherwise."""
        return _build(Host, self._core.host(id_arg(id, "host")), _HOST_ENUMS)

    def vm(self, id: str) -> Vm:  # noqa: A002
        return _build(Vm, self._core.vm(id_arg(id, "vm")), _VM_ENUMS)

    def datastore(self, id: str) -> Datastore:  # noqa: A002
        return _build(Datastore, self._core.datastore(id_arg(id, "datastore")), _DS_ENUMS)

    def summary(self) -> dict[str, int]:
        return self._core.summary()

    # ---------------------------------------------------------------- what-if
    def replace(
        self,
        *,
        hosts: Iterable[Host | Mapping[str, Any]] | None = None,
        vms: Iterable[Vm | Mapping[str, Any]] | None = None,
        datastores: Iterable[Datastore | Mapping[str, Any]] | None = None,
        rules: Iterable[Rule | Mapping[str, Any]] | None = None,
        config: ClusterConfig | Mapping[str, Any] | None = None,
    ) -> Inventory:
        """A modified copy, validated again. Items may be value objects or dicts, e.g.
        ``inv.replace(hosts=[*inv.hosts, Host("host-99", cpu_mhz=40000, memory_mb=262144)])``
        or ``inv.replace(hosts=[dataclasses.replace(h, maintenance=True) if h.id == "host-1" else h
        for h in inv.hosts])``."""
        doc = self.to_dict()
        for key, items in (("hosts", hosts), ("vms", vms), ("datastores", datastores), ("rules", rules)):
            if items is not None:
                doc[key] = [plain(i) for i in items]
        if config is not None:
            doc["cluster"] = plain(config)
        return Inventory.from_dict(doc)

    # ---------------------------------------------------------------- protocol
    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Inventory):
            return NotImplemented
        return self._core == other._core

    def __hash__(self) -> int:
        return hash(self.to_json())

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        return (Inventory.from_json, (self.to_json(),))

    def __repr__(self) -> str:
        s = self.summary()
        return (
            f"Inventory(cluster={self.config.name!r}, version={str(self.config.version)!r}, "
            f"hosts={s['hosts']}, vms={s['vms']} ({s['powered_on_vms']} powered on), "
            f"datastores={s['datastores']}, rules={s['rules']})"
        )

    def _repr_html_(self) -> str:
        c = self.config
        rows = [
            ("cluster", c.name),
            ("version", str(c.version)),
            ("admission control", json.dumps(c.admission_control.to_dict())),
            ("isolation response", str(c.isolation_response)),
            *((k, v) for k, v in self.summary().items()),
            ("warnings", len(self.warnings)),
        ]
        return html_table(("", "value"), rows, title="hapolicy Inventory")


def generate_inventory(hosts: int = 96, vms: int = 10_000, seed: int = 1, version: str = "8.0") -> Inventory:
    """A deterministic synthetic cluster for what-if studies and benchmarks: mixed host sizes,
    shared datastores, ~30 % of VMs with reservations, every restart priority, agent VMs, FT
    pairs and rules, hosts 45–65 % reserved. The defaults are the vSphere 7/8 cluster maximum."""
    return Inventory(_generate(hosts, vms, seed, str(version)))
