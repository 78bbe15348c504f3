"""The cluster inventory (the format: docs/inventory.rst; validation: R-INV-1): immutable value objects over the Rust core's validated copy."""

from __future__ import annotations

import dataclasses
import json
import os
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from ._args import encodable, id_arg, whole_number
from ._core import Inventory as _CoreInventory
from ._core import generate_inventory as _generate
from ._tabular import html_table, plain, records_to_pandas
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
from .errors import ArgumentError, InventoryError, InventoryFileNotFoundError, UnknownIdError

if TYPE_CHECKING:
    from .io._common import Assumption

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
    """Mixin: ``to_dict()`` in the inventory format (docs/inventory.rst)."""

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            out[f.metadata.get("key", f.name)] = plain(getattr(self, f.name))
        if out.get("name") == "":  # unnamed: the engine names it after its id
            del out["name"]
        return out


@dataclass(frozen=True, slots=True)
class Host(_Record):
    """An ESXi host. Capacities are what VMs can use (the root resource pool).
    ``fault_domain`` (a vSAN fault domain, rack or blade chassis) and ``site`` (of a stretched
    cluster) say which hosts fail together (R-DOMAIN); ``None``: a domain of its own / no site."""

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
    fault_domain: str | None = None
    site: str | None = None


@dataclass(frozen=True, slots=True)
class Datastore(_Record):
    """A datastore: id, display name, type and the array or NFS server backing it (R-HBDS)."""

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
    #: Orchestrated-restart overrides (R-ORCH); ``None``: the cluster's ``orchestration``.
    ready_condition: str | None = None
    post_ready_delay_s: int | None = None
    restart_priority_timeout_s: int | None = None
    #: Current demand (R-AC-PERF), vCenter quick stats; ``None``: unknown (the reservation counts).
    cpu_usage_mhz: int | None = None
    memory_usage_mb: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """The VM in the inventory format; fields left to the engine's defaults are omitted."""
        out = _Record.to_dict(self)
        if out["protected"] is None:  # let the engine apply its default
            del out["protected"]
        for key in ("ready_condition", "post_ready_delay_s", "restart_priority_timeout_s", "cpu_usage_mhz",
                    "memory_usage_mb"):
            if out[key] is None:
                del out[key]
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
        """The rule in the inventory format: the members its kind uses."""
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
    """Admission control policy (R-AC); unused fields are ``None``."""

    policy: AdmissionPolicy
    host_failures: int | None = None
    cpu_percent: float | None = None
    memory_percent: float | None = None
    slot_cpu_mhz: int | None = None
    slot_memory_mb: int | None = None
    hosts: tuple[str, ...] | None = None
    #: R-AC-PERF (6.5+): the performance degradation VMs tolerate, 0–100; ``None``: not set.
    resource_reduction_to_tolerate_percent: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """The policy in the inventory format, without the fields the policy does not use."""
        return {k: v for k, v in _Record.to_dict(self).items() if v is not None}


@dataclass(frozen=True, slots=True)
class HeartbeatDatastoreConfig(_Record):
    """The cluster's heartbeat datastore policy and its user-selected datastores (R-HBDS)."""

    policy: HbDsPolicy = HbDsPolicy.ALL_FEASIBLE_DS_WITH_USER_PREFERENCE
    preferred: tuple[str, ...] = ()


_DEFAULT_DRS: Mapping[str, Any] = {"enabled": False, "automation": "fullyAutomated"}
_DEFAULT_ORCHESTRATION: Mapping[str, Any] = {"ready_condition": "none", "post_ready_delay_s": 0,
                                              "restart_priority_timeout_s": 600}


@dataclass(frozen=True, slots=True)
class ClusterConfig(_Record):
    """The cluster's HA configuration with every default explicit. ``vsan`` (R-DOMAIN):
    ``{"enabled": bool, "stretched": None | {"preferred_site": str, "secondary_site": str}}``."""

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
    vsan: Mapping[str, Any] = field(default_factory=lambda: {"enabled": False, "stretched": None})
    #: Orchestrated restart (R-ORCH, 6.5 and later): ``ready_condition`` (``none``,
    #: ``poweredOn``, ``guestHbStatusGreen``, ``appHbStatusGreen``), ``post_ready_delay_s``,
    #: ``restart_priority_timeout_s``.
    orchestration: Mapping[str, Any] = field(default_factory=lambda: dict(_DEFAULT_ORCHESTRATION))
    #: DRS (R-PLACE-DRS): ``{"enabled": bool, "automation": "manual" | "partiallyAutomated" |
    #: "fullyAutomated"}``; only enabled and ``fullyAutomated`` lets DRS help failover.
    drs: Mapping[str, Any] = field(default_factory=lambda: dict(_DEFAULT_DRS))
    #: DPM (R-PLACE-DRS): ``{"enabled": bool}``; standby hosts are woken for failover when DRS
    #: is fully automated.
    dpm: Mapping[str, Any] = field(default_factory=lambda: {"enabled": False})

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
            vsan=dict(c.get("vsan") or {"enabled": False, "stretched": None}),
            orchestration=dict(c.get("orchestration") or _DEFAULT_ORCHESTRATION),
            drs=dict(c.get("drs") or _DEFAULT_DRS),
            dpm=dict(c.get("dpm") or {"enabled": False}),
        )


_HOST_ENUMS = {"state": ConnectionState}
_DS_ENUMS = {"type": DatastoreType}
_VM_ENUMS = {
    "power_state": PowerState,
    "restart_priority": RestartPriority,
    "isolation_response": IsolationResponse,
    "role": VmRole,
}


#: ``to_pandas`` tables: (columns, Int64 columns, category columns, bool columns).
_TABLES: dict[str, tuple[tuple[str, ...], tuple[str, ...], dict[str, type[Any]], tuple[str, ...]]] = {
    "hosts": (
        ("id", "name", "cpu_mhz", "memory_mb", "datastores", "networks", "state", "maintenance", "standby",
         "goodness", "agent_vms_ready", "fault_domain", "site"),
        ("goodness",), {"state": ConnectionState}, ("maintenance", "standby", "agent_vms_ready"),
    ),
    "vms": (
        ("id", "name", "host", "power_state", "cpu_reservation_mhz", "memory_reservation_mb", "memory_overhead_mb",
         "home_datastore", "datastores", "networks", "restart_priority", "isolation_response", "role", "protected",
         "clean_power_off", "tools_running", "vm_monitoring", "vmcp", "cpu_usage_mhz", "memory_usage_mb"),
        ("cpu_usage_mhz", "memory_usage_mb"), {"power_state": PowerState, "restart_priority": RestartPriority,
             "isolation_response": IsolationResponse, "role": VmRole},
        ("protected", "clean_power_off", "tools_running"),
    ),
    "datastores": (("id", "name", "type", "backing"), (), {"type": DatastoreType}, ()),
}


def _cell(value: Any) -> Any:
    """A value for a table cell: enum members as their text, mappings as plain dicts."""
    if isinstance(value, StrEnum):
        return str(value)
    if isinstance(value, Mapping):
        return dict(value)
    return value


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


def _id_text(x: Any, kind: str) -> str:
    """``x`` when it is a str UTF-8 can encode; :class:`UnknownIdError` for an unencodable str,
    ``TypeError`` for anything else."""
    if not isinstance(x, str):
        raise TypeError(f"{kind} must be an id or name (str), got {type(x).__name__}")
    return id_arg(x, kind)


class Inventory:
    """A validated, immutable cluster inventory.

    Build it with :meth:`from_dict`, :meth:`from_json`, :meth:`from_yaml` or :meth:`load`;
    derive what-if copies with :meth:`replace`. Invalid input raises
    :class:`~hapolicy.InventoryError` listing every problem.
    """

    __slots__ = (
        "_core", "_hosts", "_vms", "_datastores", "_rules", "_config", "_assumptions", "_source", "__weakref__"
    )

    _core: _CoreInventory
    _hosts: tuple[Host, ...] | None
    _vms: tuple[Vm, ...] | None
    _datastores: tuple[Datastore, ...] | None
    _rules: tuple[Rule, ...] | None
    _config: ClusterConfig | None
    _assumptions: tuple[Assumption, ...]
    _source: str | None

    def __init__(self, core: _CoreInventory) -> None:
        if not isinstance(core, _CoreInventory):
            raise TypeError(
                "Inventory is built with Inventory.from_dict / from_json / from_yaml / load, "
                f"not from {type(core).__name__}"
            )
        object.__setattr__(self, "_core", core)
        for name in ("_hosts", "_vms", "_datastores", "_rules", "_config", "_source"):
            object.__setattr__(self, name, None)
        object.__setattr__(self, "_assumptions", ())

    def _with_provenance(self, assumptions: Iterable[Assumption] | None = None, source: str | None = None) -> Inventory:
        """A copy sharing this inventory's validated core, with ``assumptions`` (when given)
        and ``source`` (when given) replacing this one's."""
        out = Inventory(self._core)
        object.__setattr__(out, "_assumptions", self._assumptions if assumptions is None else tuple(assumptions))
        object.__setattr__(out, "_source", self._source if source is None else source)
        return out

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("Inventory is immutable; use inv.replace(...) for a modified copy")

    def __delattr__(self, name: str) -> None:
        raise AttributeError("Inventory is immutable")

    # ---------------------------------------------------------------- construction
    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Inventory:
        """From plain data in the inventory format of docs/inventory.rst (enum members and value objects accepted)."""
        return cls(_CoreInventory.from_obj(data))

    @classmethod
    def from_json(cls, text: str | bytes) -> Inventory:
        """Reads an inventory from JSON text (validated, R-INV-1; ``InventoryError`` lists every problem)."""
        return cls(_read_text(_CoreInventory.from_json, text))

    @classmethod
    def from_yaml(cls, text: str | bytes) -> Inventory:
        """Reads an inventory from YAML text (validated, R-INV-1; ``InventoryError`` lists every problem)."""
        return cls(_read_text(_CoreInventory.from_yaml, text))

    @classmethod
    def load(
        cls,
        path: str | os.PathLike[str],
        cluster: str | None = None,
        *,
        fault_domains: Mapping[str, str] | str | re.Pattern[str] | None = None,
        sites: Mapping[str, str] | str | re.Pattern[str] | None = None,
    ) -> Inventory:
        """Reads an inventory file: ``.json``, ``.yaml`` / ``.yml`` (the document of the rule
        book, docs/rules.rst), an RVTools ``.xlsx`` export, or a directory of RVTools CSV
        exports (by suffix; a directory is always read as RVTools CSV files).

        ``cluster`` picks one cluster of an RVTools export that holds several (see
        :func:`hapolicy.io.read_rvtools`); for JSON/YAML it must equal the document's
        ``cluster.name`` (an :class:`~hapolicy.InventoryError` otherwise, naming the cluster
        the document describes).

        The result's :attr:`source` is ``path``; its :attr:`assumptions` list what an RVTools
        export could not tell (empty for JSON/YAML). A missing file raises
        :class:`~hapolicy.InventoryFileNotFoundError` — an ``InventoryError`` that is also
        a ``FileNotFoundError``; every other unreadable or invalid input an ``InventoryError``
        whose problems name the file.

        ``fault_domains`` / ``sites`` (R-DOMAIN) say which hosts fail together when the file does
        not: a mapping of host name (or id) to name (``{"esx01": "rack-1", ...}``) or a regular
        expression on host names whose named group ``fault_domain`` / ``site`` (else its first
        group) is the name (``sites=r"^esx-(?P<site>[ab])"``). They override the file's values
        for the hosts they name and are recorded in :attr:`assumptions`.
        """
        kind, p = input_path(path, _INVENTORY_SUFFIXES, "an inventory")
        shown = str(p)
        if kind in ("dir", ".xlsx"):
            from .io.rvtools import read_rvtools

            loaded = read_rvtools(p, cluster, fault_domains=fault_domains, sites=sites)
            return loaded.inventory._with_provenance(loaded.assumptions, shown)
        text = read_input_text(p)
        try:
            inv = cls.from_json(text) if kind == ".json" else cls.from_yaml(text)
        except InventoryError as exc:
            raise InventoryError(name_file(exc.problems, shown)) from None
        if cluster is not None and inv.config.name != cluster:
            has = f"cluster '{inv.config.name}'" if inv.config.name else "a cluster with no name (no cluster.name)"
            raise InventoryError([(shown, f"describes {has}, not '{cluster}'")])
        if fault_domains is not None or sites is not None:
            from .io._common import Notes, apply_domains

            notes = Notes()
            doc = inv.to_dict()
            apply_domains(doc, notes, fault_domains, sites)
            try:
                inv = cls.from_dict(doc)
            except InventoryError as exc:
                raise InventoryError(name_file(exc.problems, shown)) from None
            return inv._with_provenance(notes.result(), shown)
        return inv._with_provenance((), shown)

    # ---------------------------------------------------------------- export
    def to_dict(self) -> dict[str, Any]:
        """The complete document (every default explicit); ``from_dict(inv.to_dict()) == inv``."""
        doc: dict[str, Any] = self._core.to_obj()
        return doc

    def to_json(self, indent: int | None = None) -> str:
        """The complete document as JSON text: compact, or with ``indent`` spaces per level
        (a whole number from 0 to 64; :class:`~hapolicy.ArgumentError` otherwise)."""
        if indent is not None:
            indent = whole_number(indent, "indent", 0, MAX_JSON_INDENT)
        return self._core.to_json(indent)

    def _cached(self, name: str, make: Callable[[], _T]) -> _T:
        """Builds a derived view once (the inventory never changes, so it never goes stale)."""
        value: _T | None = getattr(self, name)
        if value is None:
            value = make()
            object.__setattr__(self, name, value)
        return value

    # ---------------------------------------------------------------- provenance
    @property
    def assumptions(self) -> tuple[Assumption, ...]:
        """What the adapter that built this inventory assumed because its source could not
        tell (:class:`hapolicy.io.Assumption` ``(path, message)`` pairs): set by
        :func:`hapolicy.io.read_rvtools`, :func:`hapolicy.io.read_vsphere` and
        :meth:`load` of an RVTools export; empty for JSON/YAML. Kept by :meth:`replace` and
        by pickling."""
        return self._assumptions

    @property
    def source(self) -> str | None:
        """Where the inventory came from: the path given to :meth:`load` (or to an RVTools
        reader), ``"vCenter <url>"`` for :func:`hapolicy.io.read_vsphere`, ``None`` when built
        from text or data. Kept by :meth:`replace` and by pickling."""
        return self._source

    # ---------------------------------------------------------------- contents
    @property
    def hosts(self) -> tuple[Host, ...]:
        """The hosts, in document order."""
        return self._cached("_hosts", lambda: tuple(_build(Host, h, _HOST_ENUMS) for h in self._core.section("hosts")))

    @property
    def vms(self) -> tuple[Vm, ...]:
        """The VMs, in document order."""
        return self._cached("_vms", lambda: tuple(_build(Vm, v, _VM_ENUMS) for v in self._core.section("vms")))

    @property
    def datastores(self) -> tuple[Datastore, ...]:
        """The datastores, in document order."""
        return self._cached(
            "_datastores", lambda: tuple(_build(Datastore, d, _DS_ENUMS) for d in self._core.section("datastores"))
        )

    @property
    def rules(self) -> tuple[Rule, ...]:
        """The rules, in document order."""
        return self._cached("_rules", lambda: tuple(_rule(r) for r in self._core.section("rules")))

    @property
    def config(self) -> ClusterConfig:
        """The cluster's HA configuration, defaults filled in."""
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
        """The host with this id (or a name only it carries, see :meth:`resolve_host`);
        ``UnknownIdError`` (a ``KeyError``) otherwise."""
        return _build(Host, self._core.host(self.resolve_host(id)), _HOST_ENUMS)

    def vm(self, id: str) -> Vm:  # noqa: A002
        """The VM with this id or unambiguous name; ``UnknownIdError`` otherwise."""
        return _build(Vm, self._core.vm(self.resolve_vm(id)), _VM_ENUMS)

    def datastore(self, id: str) -> Datastore:  # noqa: A002
        """The datastore with this id or unambiguous name; ``UnknownIdError`` otherwise."""
        return _build(Datastore, self._core.datastore(self.resolve_datastore(id)), _DS_ENUMS)

    def summary(self) -> dict[str, int]:
        """Counts: ``hosts``, ``vms``, ``powered_on_vms``, ``datastores``, ``rules``."""
        return self._core.summary()

    # ---------------------------------------------------------------- names
    def resolve_host(self, x: str) -> str:
        """The id of the host ``x`` names: ``x`` itself when it is a host id, else the id of the
        one host whose name is ``x`` (``"esx01.corp.example"`` → ``"host-2001"``). An id wins
        over a name. :class:`UnknownIdError` (a ``KeyError``) when nothing matches, or when
        several hosts carry the name (the message names their ids)."""
        return self._core.resolve("host", _id_text(x, "host"))

    def resolve_vm(self, x: str) -> str:
        """Like :meth:`resolve_host`, for a VM."""
        return self._core.resolve("vm", _id_text(x, "vm"))

    def resolve_datastore(self, x: str) -> str:
        """Like :meth:`resolve_host`, for a datastore."""
        return self._core.resolve("datastore", _id_text(x, "datastore"))

    def label(self, id: str) -> str:  # noqa: A002
        """How a reader should see an object: ``"host-21 (esx-01)"``; the id alone when the
        object has no name of its own (empty or equal to its id); an unknown id unchanged.
        Hosts are looked up first, then VMs, then datastores."""
        if not isinstance(id, str) or not encodable(id):
            return str(id)
        return self._core.label(id)

    # ---------------------------------------------------------------- tables
    def to_pandas(self, table: str) -> Any:
        """One row per host, VM or datastore (``table`` = ``"hosts"``, ``"vms"`` or
        ``"datastores"``; pandas is an optional dependency). Columns are the fields of
        :class:`Host` / :class:`Vm` / :class:`Datastore` with every default explicit; enums are
        ``category`` columns holding every allowed value, optional whole numbers (``goodness``)
        ``Int64``, flags ``bool``, lists tuples. ``ValueError`` for another table name."""
        if table not in _TABLES:
            raise ArgumentError(f"no table {table!r}: expected one of {', '.join(repr(t) for t in _TABLES)}")
        fields, ints, enums, bools = _TABLES[table]
        items: tuple[Host | Vm | Datastore, ...] = getattr(self, table)
        records = [{f: _cell(getattr(item, f)) for f in fields} for item in items]
        frame = records_to_pandas(records, fields, ints=ints, categories=enums)
        for name in bools:
            frame[name] = frame[name].astype(bool)
        return frame

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
        return Inventory.from_dict(doc)._with_provenance(self._assumptions, self._source)

    # ---------------------------------------------------------------- protocol
    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Inventory):
            return NotImplemented
        return self._core == other._core

    def __hash__(self) -> int:
        return hash(self.to_json())

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        if not self._assumptions and self._source is None:
            return (Inventory.from_json, (self.to_json(),))
        return (_unpickle, (self.to_json(), tuple(tuple(a) for a in self._assumptions), self._source))

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


def _unpickle(text: str, assumptions: tuple[tuple[str, str], ...], source: str | None) -> Inventory:
    from .io._common import Assumption

    return Inventory.from_json(text)._with_provenance([Assumption(p, m) for p, m in assumptions], source)


#: The widest ``to_json`` indent accepted, in spaces per level (the binding's bound too).
MAX_JSON_INDENT = 64

# ---------------------------------------------------------------- reading files
_INVENTORY_SUFFIXES = (".json", ".yaml", ".yml", ".xlsx")
# Paths the core gives to the whole text (syntax errors, size, non-object documents).
_TEXT_PATHS = ("<json>", "<yaml>", "<input>", "<root>")


def _suffix_list(suffixes: tuple[str, ...]) -> str:
    return ", ".join(suffixes[:-1]) + " or " + suffixes[-1] if len(suffixes) > 1 else suffixes[0]


def input_path(
    path: str | os.PathLike[str], suffixes: tuple[str, ...] = _INVENTORY_SUFFIXES, what: str = "an inventory"
) -> tuple[str, Path]:
    """Checks a path given for reading and tells what it is: ``("dir", p)`` for a directory
    (an RVTools CSV export; only when ``".xlsx"`` is among ``suffixes``) or ``(suffix, p)``
    for an existing file with one of ``suffixes`` (lower case). Raises
    :class:`~hapolicy.InventoryFileNotFoundError` when nothing is there and an
    :class:`~hapolicy.InventoryError` for an empty path, a directory where a file is wanted,
    or an unsupported suffix — each saying what is true of the path."""
    try:
        raw = os.fspath(path)
    except TypeError:
        raise InventoryError([("<path>", f"expected a file path, got {type(path).__name__}")]) from None
    if not isinstance(raw, str):
        raw = os.fsdecode(raw)
    if raw == "":
        raise InventoryError([('""', f"empty path: name {what} file")])
    p = Path(raw)
    try:
        st = p.stat()
    except FileNotFoundError:
        if p.is_symlink():
            raise InventoryError([(raw, "broken symbolic link: its target does not exist")]) from None
        raise InventoryFileNotFoundError(raw) from None
    except NotADirectoryError:
        raise InventoryFileNotFoundError(raw, "no such file (a parent is not a directory)") from None
    except PermissionError:
        raise InventoryError([(raw, "cannot read file: permission denied")]) from None
    except (OSError, ValueError) as exc:  # a NUL, a name too long, a lone surrogate …
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise InventoryError([(raw, f"cannot read file: {reason}")]) from None
    import stat

    wanted = _suffix_list(suffixes)
    if stat.S_ISDIR(st.st_mode):
        if ".xlsx" in suffixes:
            try:
                has_csv = any(f.suffix.lower() == ".csv" for f in p.iterdir())
            except OSError as exc:
                raise InventoryError([(raw, f"cannot read directory: {exc.strerror or exc}")]) from None
            if not has_csv:
                raise InventoryError([(raw, f"is a directory with no RVTools CSV exports (files like "
                                            f"'RVTools_tabvInfo.csv'); expected a {wanted} file or such a directory")])
            return "dir", p
        raise InventoryError([(raw, f"is a directory; expected a {wanted} file")])
    suffix = p.suffix.lower()
    if suffix not in suffixes:
        dirs = ", or a directory of RVTools CSV files" if ".xlsx" in suffixes else ""
        found = f"unsupported file type '{suffix}'" if suffix else "no file type suffix"
        raise InventoryError([(raw, f"{found}; expected {wanted}{dirs}")])
    return suffix, p


def read_input_text(p: Path) -> str:
    """The UTF-8 text of a file checked by :func:`input_path`; an empty file (nothing but
    white space) is an :class:`~hapolicy.InventoryError` saying so."""
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise InventoryError([(str(p), f"cannot read file: {exc.strerror or exc}")]) from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InventoryError([(str(p), f"not UTF-8 text: {exc.reason} at byte {exc.start}")]) from None
    if not text.strip():
        raise InventoryError([(str(p), "the file is empty" if not text else "the file is empty (white space only)")])
    return text


def name_file(problems: Iterable[tuple[str, str]], shown: str) -> list[tuple[str, str]]:
    """The core's problems with the whole-text paths (``<json>``, ``<root>``…) replaced by
    the file's name."""
    return [(shown if path in _TEXT_PATHS else path, message) for path, message in problems]


#: The largest synthetic inventories :func:`generate_inventory` makes.
MAX_GENERATED_HOSTS = 100_000
MAX_GENERATED_VMS = 10_000_000


def generate_inventory(hosts: int = 96, vms: int = 10_000, seed: int = 1, version: str = "8.0") -> Inventory:
    """A deterministic synthetic cluster for what-if studies and benchmarks: mixed host sizes,
    shared datastores, ~30 % of VMs with reservations, every restart priority, agent VMs, FT
    pairs and rules, hosts 45–65 % reserved. The defaults are the vSphere 7/8 cluster maximum.
    ``hosts`` is a whole number from 0 to 100,000, ``vms`` from 0 to 10,000,000, ``seed`` any
    whole number ≥ 0; anything else raises :class:`~hapolicy.ArgumentError` (a ``ValueError``)."""
    n_hosts = whole_number(hosts, "hosts", 0, MAX_GENERATED_HOSTS)
    n_vms = whole_number(vms, "vms", 0, MAX_GENERATED_VMS)
    n_seed = whole_number(seed, "seed", 0)
    return Inventory(_generate(n_hosts, n_vms, n_seed, str(version)))
