"""Shared plumbing of the inventory adapters: defaults, assumptions, vSphere spellings."""

from __future__ import annotations

import dataclasses
import logging
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from ..enums import Version
from ..errors import ArgumentError, InventoryError
from ..inventory import Inventory

__all__ = ["Assumption", "Defaults", "Loaded"]

log = logging.getLogger("hapolicy.io")


class Assumption(NamedTuple):
    """A value the source could not tell, and what the adapter used instead (or a fact worth
    knowing that the inventory has no field for). ``path`` names the inventory field, e.g.
    ``"cluster.admission_control"`` or ``"vms[*].memory_overhead_mb"``."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


class Loaded(NamedTuple):
    """What ``read_rvtools`` / ``read_vsphere`` return: the validated inventory and every
    assumption made while building it (unpack as ``inv, assumptions = read_…(…)``)."""

    inventory: Inventory
    assumptions: list[Assumption]


@dataclass(frozen=True, slots=True)
class Defaults:
    """Values for what the source cannot tell. Every one the adapter uses is reported as an
    :class:`Assumption`.

    - ``version``: the vSphere version when the source does not name it.
    - ``admission_control``: the policy, in the inventory format (docs/inventory.rst), when the source does not
      say which one is configured (RVTools never does; it only says whether admission control
      is on and the failover level). ``None``: the version's default policy (docs/inventory.rst) —
      percentage with auto-computed figures from 6.5, slot policy before — tolerating the
      source's failover level (1 when unknown).
    - ``isolation_response``, ``restart_priority``, ``host_monitoring``: cluster defaults when
      the source does not have them (the defaults of docs/inventory.rst: ``none``, ``medium``, on).
    - ``memory_overhead_mb``: per-VM memory overhead when the source has no figure.
    - ``cluster``: further keys of the JSON ``cluster`` section (``advanced_options``,
      ``vmcp``, ``vm_monitoring``, ``isolation_addresses``, ``heartbeat_datastores`` …); they
      fill what the source leaves out and never replace what it says — except that for RVTools
      a ``heartbeat_datastores`` given here replaces the exported policy, since RVTools does not
      export the preferred datastores.
    """

    version: str = "8.0"
    admission_control: Mapping[str, Any] | None = None
    isolation_response: str = "none"
    restart_priority: str = "medium"
    host_monitoring: bool = True
    memory_overhead_mb: int = 0
    cluster: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def coerce(cls, value: Defaults | Mapping[str, Any] | None) -> Defaults:
        """``value`` as ``Defaults``: ``None`` gives the defaults, a mapping is checked field by field
        (``ArgumentError`` naming an unknown field)."""
        if value is None:
            return cls()
        if isinstance(value, Defaults):
            return value
        if not isinstance(value, Mapping):
            raise ArgumentError(f"defaults must be a hapolicy.io.Defaults or a mapping, not {type(value).__name__}")
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(str(k) for k in value if k not in names)
        if unknown:
            raise ArgumentError(f"unknown defaults {', '.join(unknown)}; known: {', '.join(sorted(names))}")
        return cls(**value)


class Notes:
    """Collects assumptions, merging repeats of one kind into a single counted line."""

    def __init__(self) -> None:
        self._items: dict[tuple[str, str], list[str]] = {}

    def add(self, path: str, message: str, subject: str | None = None) -> None:
        """Records ``message`` once per ``(path, message)``; ``subject`` (a VM or host name)
        is listed when the same note applies to several objects."""
        subjects = self._items.setdefault((path, message), [])
        if subject is not None:
            subjects.append(subject)

    def result(self) -> list[Assumption]:
        out = []
        for (path, message), subjects in self._items.items():
            if subjects:
                shown = ", ".join(subjects[:5]) + (f" and {len(subjects) - 5} more" if len(subjects) > 5 else "")
                n = len(subjects)
                message = f"{message} ({n} object{'s' if n != 1 else ''}: {shown})"
            out.append(Assumption(path, message))
        for a in out:
            log.info("assumed %s", a)
        return out


# ---------------------------------------------------------------- vSphere spellings

_RESTART_PRIORITIES = ("disabled", "lowest", "low", "medium", "high", "highest", "clusterRestartPriority")
_ISOLATION_RESPONSES = ("none", "powerOff", "shutdown", "clusterIsolationResponse")
_POWER_STATES = ("poweredOn", "poweredOff", "suspended")


def _key(value: Any) -> str:
    return re.sub(r"[^a-z0-9]", "", str(value).lower())


_RP_ALIASES = {_key(v): v for v in _RESTART_PRIORITIES} | {
    "usecluster": "clusterRestartPriority",
    "usclustersetting": "clusterRestartPriority",
    "useclustersetting": "clusterRestartPriority",
    "clusterdefault": "clusterRestartPriority",
    "clustersetting": "clusterRestartPriority",
}
_IR_ALIASES = {_key(v): v for v in _ISOLATION_RESPONSES} | {
    "leavepoweredon": "none",
    "disabled": "none",
    "poweroffandrestartvms": "powerOff",
    "shutdownandrestartvms": "shutdown",
    "usecluster": "clusterIsolationResponse",
    "useclustersetting": "clusterIsolationResponse",
    "clusterdefault": "clusterIsolationResponse",
    "clustersetting": "clusterIsolationResponse",
}
_PS_ALIASES = {_key(v): v for v in _POWER_STATES} | {"on": "poweredOn", "off": "poweredOff"}


def restart_priority(value: Any) -> str | None:
    """A vSphere restart priority (``DasVmPriority`` / ``ClusterDasVmSettingsRestartPriority``,
    any case or spacing) in our spelling; ``None`` for anything else."""
    return _RP_ALIASES.get(_key(value)) if value is not None else None


def isolation_response(value: Any) -> str | None:
    """A vSphere isolation response (``none`` / ``powerOff`` / ``shutdown`` /
    ``clusterIsolationResponse``, and the UI's "leave powered on") in our spelling."""
    return _IR_ALIASES.get(_key(value)) if value is not None else None


def power_state(value: Any) -> str | None:
    return _PS_ALIASES.get(_key(value)) if value is not None else None


_DS_TYPES = {"vmfs": "VMFS", "nfs": "NFS", "nfs41": "NFS", "nfsv41": "NFS", "vsan": "vSAN", "vvol": "vVol"}


def datastore_type(value: Any) -> str | None:
    """``summary.type`` (``VMFS``, ``NFS``, ``NFS41``, ``vsan``, ``VVOL``) in our spelling;
    ``None`` for types the engine does not know (``PMEM``, ``CIFS``, …)."""
    return _DS_TYPES.get(_key(value)) if value is not None else None


_HB_POLICIES = {
    _key(p): p for p in ("allFeasibleDs", "userSelectedDs", "allFeasibleDsWithUserPreference")
}


def hb_policy(value: Any) -> str | None:
    return _HB_POLICIES.get(_key(value)) if value is not None else None


_VM_MONITORING = {
    _key(p): p for p in ("vmMonitoringDisabled", "vmMonitoringOnly", "vmAndAppMonitoring")
} | {"disabled": "vmMonitoringDisabled", "vmmonitoring": "vmMonitoringOnly", "vmandapplicationmonitoring": "vmAndAppMonitoring"}


def vm_monitoring_mode(value: Any) -> str | None:
    return _VM_MONITORING.get(_key(value)) if value is not None else None


_STORAGE_PROTECTION = {_key(p): p for p in ("disabled", "warning", "restartConservative", "restartAggressive")}


def storage_protection(value: Any) -> str | None:
    """VMCP APD/PDL response; ``None`` also for ``clusterDefault``."""
    return _STORAGE_PROTECTION.get(_key(value)) if value is not None else None


# VM monitoring presets (R-VMMON): failure interval and reset window, in seconds.
_PRESETS = {(30, 3600): "high", (60, 86400): "medium", (120, 604800): "low"}


def vm_monitoring(
    mode: str | None,
    failure_interval: int | None,
    min_uptime: int | None,
    max_failures: int | None,
    max_failure_window: int | None,
) -> dict[str, Any]:
    """The JSON ``vm_monitoring`` section from vCenter's ``ClusterVmToolsMonitoringSettings``
    figures: a preset sensitivity when interval and window match one, else ``custom``."""
    out: dict[str, Any] = {}
    if mode is not None:
        out["mode"] = mode
    if failure_interval is None or failure_interval <= 0:
        return out
    window = max_failure_window if max_failure_window is not None and max_failure_window > 0 else None
    preset = _PRESETS.get((failure_interval, window or -1))
    if preset is not None:
        out["sensitivity"] = preset
    else:
        out["sensitivity"] = "custom"
        out["failure_interval_s"] = failure_interval
        if window is not None:
            out["max_resets_window_s"] = window
    if min_uptime is not None and min_uptime > 0:
        out["min_uptime_s"] = min_uptime
    if max_failures is not None and max_failures > 0:
        out["max_resets"] = max_failures
    return out


_VERSIONS = [(int(v.value.split(".")[0]), int(v.value.split(".")[1])) for v in Version]


def _version_part(digits: str) -> int:
    """A version component; a run of more than 9 digits counts as 10⁹ (it only has to compare
    above every real version — and ``int()`` refuses strings of over 4300 digits)."""
    digits = digits.lstrip("0") or "0"
    return int(digits) if len(digits) <= 9 else 10**9


def version(text: Any) -> str | None:
    """The engine version nearest below a vSphere version string (``"7.0.3"`` → ``"7.0"``,
    ``"6.7.0"`` → ``"6.7"``, ``"6.6"`` → ``"6.5"``); versions before 5.0 map to 5.0 and after
    8.0 to 8.0. ``None`` when ``text`` holds no version."""
    if text is None:
        return None
    m = re.search(r"(\d+)\.(\d+)", str(text))
    if m is None:
        m2 = re.fullmatch(r"\s*(\d+)\s*", str(text))
        if m2 is None:
            return None
        wanted = (_version_part(m2.group(1)), 0)
    else:
        wanted = (_version_part(m.group(1)), _version_part(m.group(2)))
    best = _VERSIONS[0]
    for v in _VERSIONS:
        if v <= wanted:
            best = v
    return f"{best[0]}.{best[1]}"


def at_least(ver: str, major: int, minor: int) -> bool:
    a, b = (int(x) for x in ver.split("."))
    return (a, b) >= (major, minor)


def default_admission(ver: str, failover_level: int | None) -> dict[str, Any]:
    k = failover_level if failover_level is not None and failover_level > 0 else 1
    if at_least(ver, 6, 5):
        return {"policy": "percentage", "host_failures": k}
    return {"policy": "slot", "host_failures": k}


def mb_from_bytes(n: Any) -> int:
    return int(math.ceil(int(n) / (1024 * 1024)))


def unique_id(candidate: str, taken: set[str]) -> str:
    """``candidate``, or ``candidate#2``, ``#3``… when already taken; records the result."""
    out = candidate
    i = 2
    while out in taken:
        out = f"{candidate}#{i}"
        i += 1
    taken.add(out)
    return out


def finish(
    doc: dict[str, Any],
    notes: Notes,
    problems: list[tuple[str, str]],
    locate: Mapping[str, str] | None = None,
    source: str | None = None,
) -> Loaded:
    """Validates the document; adapter problems and the core's problems are raised together.
    ``locate`` maps document paths (``vms[3]``) to where they came from in the source, which is
    prefixed to the core's problem paths. The inventory carries the assumptions
    (``inv.assumptions``) and ``source`` (``inv.source``: the file, or ``"vCenter <url>"``)."""
    if problems:
        raise InventoryError(problems)
    try:
        inv = Inventory.from_dict(doc)
    except InventoryError as exc:
        raise InventoryError(_relocate(exc.problems, locate or {})) from None
    assumptions = notes.result()
    return Loaded(inv._with_provenance(assumptions, source), assumptions)


def _relocate(problems: Iterable[tuple[str, str]], locate: Mapping[str, str]) -> list[tuple[str, str]]:
    out = []
    for path, message in problems:
        m = re.match(r"^((?:hosts|vms|datastores|rules)\[\d+\])", path)
        if m and m.group(1) in locate:
            path = f"{locate[m.group(1)]} ({path})"
        out.append((path, message))
    return out


# ---------------------------------------------------------------- fault domains and sites (R-DOMAIN)

#: A caller's fault-domain or site mapping: host name (or id) → name, or a regular expression on
#: host names whose named group (``fault_domain`` / ``site``; else its first group, else the whole
#: match) is the name.
DomainMapping = Mapping[str, str] | str | re.Pattern[str]


def apply_domains(
    doc: dict[str, Any],
    notes: Notes,
    fault_domains: DomainMapping | None = None,
    sites: DomainMapping | None = None,
) -> None:
    """Sets ``hosts[*].fault_domain`` / ``hosts[*].site`` of an inventory document from the
    caller's mapping (blade chassis and racks are rarely in any export), each host set recorded
    as an assumption. A mapping overrides what the source said for the hosts it names; hosts it
    does not name keep theirs. A dict naming a host the document lacks, a pattern matching no
    host, or a value that is not a mapping or pattern is an :class:`~hapolicy.ArgumentError`."""
    for key, mapping in (("fault_domain", fault_domains), ("site", sites)):
        if mapping is None:
            continue
        hosts: list[dict[str, Any]] = doc.get("hosts") or []
        arg = "fault_domains" if key == "fault_domain" else "sites"
        if isinstance(mapping, (str, re.Pattern)):
            try:
                pattern = re.compile(mapping)
            except re.error as exc:
                raise ArgumentError(f"{arg}: not a valid regular expression: {exc}") from None
            matched = 0
            for h in hosts:
                name = str(h.get("name") or h.get("id"))
                m = pattern.search(name)
                if m is None:
                    continue
                if key in pattern.groupindex:
                    value = m.group(key)
                elif pattern.groups:
                    value = m.group(1)
                else:
                    value = m.group(0)
                if not value:
                    continue
                matched += 1
                h[key] = value
                notes.add(f"hosts[*].{key}",
                          f"{key.replace('_', ' ')} from the host name and the pattern the caller passed "
                          f"({arg}={pattern.pattern!r}), not from the source", name)
            if not matched:
                names = ", ".join(str(h.get("name") or h.get("id")) for h in hosts[:5])
                raise ArgumentError(f"{arg}={pattern.pattern!r} matches no host name (hosts: {names}"
                                    f"{', …' if len(hosts) > 5 else ''})")
        elif isinstance(mapping, Mapping):
            by_key: dict[str, dict[str, Any]] = {}
            for h in hosts:
                by_key.setdefault(str(h.get("id")), h)
                if h.get("name"):
                    by_key.setdefault(str(h["name"]), h)
            unknown = [str(k) for k in mapping if str(k) not in by_key]
            if unknown:
                raise ArgumentError(f"{arg} names hosts the inventory lacks: {', '.join(sorted(unknown)[:10])}")
            for k, value in mapping.items():
                if not isinstance(value, str) or not value.strip():
                    raise ArgumentError(f"{arg}[{k!r}] must be a non-empty name, got {value!r}")
                h = by_key[str(k)]
                h[key] = value
                notes.add(f"hosts[*].{key}",
                          f"{key.replace('_', ' ')} from the mapping the caller passed ({arg}=), not from the source",
                          str(h.get("name") or h.get("id")))
        else:
            raise ArgumentError(f"{arg} must be a mapping of host name to name or a regular expression, "
                                f"got {type(mapping).__name__}")
