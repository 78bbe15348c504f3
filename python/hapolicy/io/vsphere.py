"""A live vCenter → :class:`~hapolicy.Inventory`, with pyVmomi (optional extra ``vsphere``).

>>> from pyVim.connect import SmartConnect                               # doctest: +SKIP
>>> si = SmartConnect(host="vc.example.com", user="ro@vsphere.local", pwd="…")  # doctest: +SKIP
>>> inv, assumptions = hapolicy.io.read_vsphere(si, "prod-a")            # doctest: +SKIP

A read-only role is enough. The adapter makes two PropertyCollector calls whatever the
cluster's size, never one call per object:

1. one ``RetrievePropertiesEx`` over a ``ContainerView`` of the root folder reads the names and
   parents of the folders, datacenters and clusters, to find the cluster;
2. ONE ``RetrievePropertiesEx`` (paged) reads the cluster, its hosts, its VMs and every
   datastore any of them uses: its FilterSpec has an ObjectSpec for the cluster (with a
   TraversalSpec to its datastores) and one for a ``ContainerView`` of the cluster's hosts and
   VMs (with TraversalSpecs from them to their datastores), and a PropertySpec per type. The
   snapshot is as consistent as vCenter makes a single call.

``cluster`` is the cluster's name, ``"DATACENTER/NAME"`` when several datacenters have a
cluster of that name (``"DATACENTER/FOLDER/…/NAME"`` and the inventory path
``"/DATACENTER/host/FOLDER/NAME"`` are accepted too), or its managed-object id; a name that
is not unique is refused with the choices listed.

A live system moves while it is read. What cannot be consistent is assumed and said, not
refused (each as an :class:`~hapolicy.io.Assumption` naming the VM by name and id):

- a powered-on VM whose host is in maintenance mode or standby, is not one of the cluster's
  hosts, or is not reported (a vMotion racing the read, e.g. while the host is being
  evacuated): kept with no host, as not running in the cluster (powered off in the inventory),
  so its reservations are not counted and no restart is planned for it;
- a VM without any datastore (being created or removed): left out;
- a cluster renamed between the two calls: read under its new name.

What it reads and how it maps (vSphere API names → fields of the inventory document, see the
rule book, docs/rules.rst):

- cluster ``configurationEx.dasConfig``: ``admissionControlEnabled`` /
  ``admissionControlPolicy`` (``ClusterFailoverLevelAdmissionControlPolicy`` → ``slot``, with a
  ``ClusterFixedSizeSlotPolicy`` as ``slot_cpu_mhz``/``slot_memory_mb``;
  ``ClusterFailoverResourcesAdmissionControlPolicy`` → ``percentage``, auto-computed when
  ``autoComputePercentages``; ``ClusterFailoverHostAdmissionControlPolicy`` →
  ``failoverHosts``), ``hostMonitoring``, ``defaultVmSettings`` (restart priority, isolation
  response, VM monitoring figures, VMCP), ``vmMonitoring``, ``vmComponentProtecting``,
  ``option`` (advanced options, kept as typed), ``hBDatastoreCandidatePolicy`` and
  ``heartbeatDatastore``; ``dasVmConfig`` (per-VM overrides); ``rule`` and ``group``
  (VM-VM affinity and anti-affinity, VM-host must / should (not) rules over VM and host groups,
  VM-VM dependency rules expanded to one ``vmDependsOn`` per VM of the dependent group).
- orchestrated restart (R-ORCH): ``configurationEx.orchestration.defaultVmReadiness``
  (``readyCondition``, ``postReadyDelay``) and ``defaultVmSettings.restartPriorityTimeout`` →
  ``cluster.orchestration``; ``configurationEx.vmOrchestration`` and
  ``dasVmConfig[].dasSettings.restartPriorityTimeout`` → the VMs' overrides.
- hosts: ``summary.hardware`` (``cpuMhz`` × ``numCpuCores``, ``memorySize``),
  ``runtime.connectionState``, ``runtime.inMaintenanceMode``, ``runtime.powerState``
  (``standBy`` → standby), ``datastore``, ``network``; ``runtime.dasHostState`` (the FDM
  state) is reported as an assumption note — the inventory has no field for it;
  ``config.vsanHostConfig.faultDomainInfo.name`` → ``fault_domain`` (R-DOMAIN; empty: none).
- DRS / DPM (R-PLACE-DRS): ``configurationEx.drsConfig.enabled`` and ``defaultVmBehavior`` →
  ``cluster.drs``; ``configurationEx.dpmConfigInfo.enabled`` → ``cluster.dpm``.
- vSAN: ``configurationEx.vsanConfigInfo.enabled`` → ``cluster.vsan.enabled``. The sites of a
  stretched cluster are not in this API (the vSAN management API has them): pass ``sites=``
  (and ``fault_domains=`` for racks or blade chassis vSAN does not know), recorded as
  assumptions.
- VMs: ``runtime.host``, ``runtime.powerState``, ``config.cpuAllocation.reservation``,
  ``config.memoryAllocation.reservation`` (the configured memory when
  ``memoryReservationLockedToMax``), overhead from ``runtime.memoryOverhead`` (bytes) else
  ``summary.quickStats.consumedOverheadMemory`` (MB) else :class:`Defaults`, home datastore
  from ``config.files.vmPathName`` ("[ds] path"), ``datastore``, ``network``, FT role from
  ``config.ftInfo.role``, agent VMs from ``config.managedBy`` (ESX Agent Manager),
  ``guest.toolsRunningStatus``, ``runtime.cleanPowerOff``; for powered-on VMs the current demand
  (R-AC-PERF) from ``summary.quickStats.overallCpuUsage`` → ``cpu_usage_mhz`` and
  ``summary.quickStats.guestMemoryUsage`` (active guest memory, what DRS calls demand; not the
  larger consumed ``hostMemoryUsage``) → ``memory_usage_mb``. Templates are skipped.
- version: ``content.about.version`` mapped to the nearest engine version at or below it.

Ids are the managed-object ids (``host-42``, ``vm-1007``, ``datastore-12``); names are
vCenter's names as the vSphere Client shows them (the API's ``%2f``, ``%5c`` and ``%25``
escapes undone). ``inv.source`` is ``"vCenter <url>"``. Faults from the server
(authentication, permissions) propagate as pyVmomi exceptions.

:func:`record_vsphere` saves what the collector returned as JSON and :func:`replay` serves such
a recording as a stand-in ``ServiceInstance``, for offline analysis and tests.
"""

from __future__ import annotations

import base64
import datetime
import importlib
import json
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from ..errors import ArgumentError, InventoryError
from ..inventory import Inventory
from . import _common as c
from ._common import Defaults, Loaded, Notes

__all__ = ["from_vsphere", "read_vsphere", "record_vsphere", "replay"]

CLUSTER_PROPS = ("name", "configurationEx", "host", "datastore")
HOST_PROPS = (
    "name",
    "summary.hardware.cpuMhz",
    "summary.hardware.numCpuCores",
    "summary.hardware.memorySize",
    "runtime.connectionState",
    "runtime.inMaintenanceMode",
    "runtime.powerState",
    "runtime.dasHostState",
    "datastore",
    "network",
    "config.vsanHostConfig.faultDomainInfo.name",
)
VM_PROPS = (
    "name",
    "config.template",
    "runtime.host",
    "runtime.powerState",
    "runtime.memoryOverhead",
    "runtime.cleanPowerOff",
    "summary.quickStats.consumedOverheadMemory",
    "summary.quickStats.overallCpuUsage",
    "summary.quickStats.guestMemoryUsage",
    "config.cpuAllocation.reservation",
    "config.memoryAllocation.reservation",
    "config.memoryReservationLockedToMax",
    "config.hardware.memoryMB",
    "config.files.vmPathName",
    "config.ftInfo",
    "config.managedBy",
    "guest.toolsRunningStatus",
    "datastore",
    "network",
)
DATASTORE_PROPS = ("name", "summary.type", "info")
LOCATE_PROPS = ("name", "parent")

_EAM = "com.vmware.vim.eam"  # ESX Agent Manager: the extension owning agent VMs


def _pyvmomi() -> tuple[Any, Any]:
    try:
        mod: ModuleType = importlib.import_module("pyVmomi")
    except ImportError as exc:
        raise ImportError(
            "reading from vCenter needs pyVmomi, an optional dependency: pip install pyvmomi"
        ) from exc
    return mod.vim, mod.vmodl


def read_vsphere(
    service_instance: Any,
    cluster: str,
    *,
    defaults: Defaults | Mapping[str, Any] | None = None,
    page_size: int = 500,
    fault_domains: c.DomainMapping | None = None,
    sites: c.DomainMapping | None = None,
) -> Loaded:
    """Reads cluster ``cluster`` — its name, ``"DATACENTER/NAME"`` (needed when clusters of
    several datacenters share the name), or its managed-object id such as ``domain-c7`` — from
    a connected pyVmomi ``ServiceInstance``. Returns ``(inventory, assumptions)``; the
    inventory carries them too (``inv.assumptions``), and ``inv.source``.

    ``defaults`` (:class:`~hapolicy.io.Defaults` or a mapping of its fields) supplies what the
    server does not say (a VM's memory overhead when vCenter reports none, the HA settings of a
    cluster where HA was never configured). ``fault_domains`` / ``sites`` (R-DOMAIN): a mapping
    of host name (or id) to name, or a regular expression on host names with a named group
    ``fault_domain`` / ``site``; they override what vCenter says and are recorded as
    assumptions."""
    d = Defaults.coerce(defaults)
    if not isinstance(cluster, str) or not cluster:
        raise ArgumentError("cluster must be the cluster's name, 'DATACENTER/NAME' or its managed-object id")
    raw = _collect(service_instance, cluster, page_size)
    return _Converter(raw, d, _source(service_instance)).build(fault_domains, sites)


def from_vsphere(
    service_instance: Any,
    cluster: str,
    *,
    defaults: Defaults | Mapping[str, Any] | None = None,
    fault_domains: c.DomainMapping | None = None,
    sites: c.DomainMapping | None = None,
) -> Inventory:
    """:func:`read_vsphere` without the assumptions (they are logged at INFO level on the
    ``hapolicy.io`` logger)."""
    return read_vsphere(service_instance, cluster, defaults=defaults, fault_domains=fault_domains,
                        sites=sites).inventory


# ---------------------------------------------------------------- collection


@dataclass
class _Raw:
    version: str | None
    cluster_id: str
    cluster: dict[str, Any]
    hosts: dict[str, dict[str, Any]] = field(default_factory=dict)
    vms: dict[str, dict[str, Any]] = field(default_factory=dict)
    datastores: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: The cluster's name when it was looked up, and the cluster and the entities above it
    #: (moid -> {"type", "name", "parent"}), so that a recording is looked up the same way.
    located_name: str | None = None
    ancestry: dict[str, dict[str, Any]] = field(default_factory=dict)


def _moid(obj: Any) -> str:
    return str(getattr(obj, "_moId", obj))


_ESCAPES = re.compile(r"%(2[fF]|5[cC]|25)")


def _name(value: Any) -> str:
    """An entity's ``name`` as the vSphere Client shows it: vCenter escapes ``/``, ``\\`` and
    ``%`` in names as ``%2f``, ``%5c`` and ``%25``."""
    return _ESCAPES.sub(lambda m: {"2f": "/", "5c": "\\", "25": "%"}[m.group(1).lower()], str(value))


def _retrieve(
    pc: Any,
    vmodl: Any,
    object_specs: list[Any],
    wanted: Mapping[Any, Sequence[str]],
    page_size: int,
) -> dict[str, dict[str, dict[str, Any]]]:
    """ONE ``RetrievePropertiesEx`` (then its pages) for the paths ``wanted[type]`` of every
    object ``object_specs`` select: ``{type name: {moid: {path: value}}}``. Paths the server
    does not know (older vCenters) are dropped and the call repeated."""
    PC = vmodl.query.PropertyCollector
    paths = {t: list(p) for t, p in wanted.items()}
    while True:
        prop_specs = [PC.PropertySpec(type=t, pathSet=p, all=False) for t, p in paths.items()]
        spec = PC.FilterSpec(objectSet=object_specs, propSet=prop_specs)
        out: dict[str, dict[str, dict[str, Any]]] = {_wsdl_type(t): {} for t in paths}
        try:
            result = pc.RetrievePropertiesEx(specSet=[spec], options=PC.RetrieveOptions(maxObjects=page_size))
            while result is not None:
                for oc in result.objects or ():
                    props = out.setdefault(_wsdl(oc.obj), {}).setdefault(_moid(oc.obj), {})
                    for dp in oc.propSet or ():
                        props[dp.name] = dp.val
                token = getattr(result, "token", None)
                result = pc.ContinueRetrievePropertiesEx(token=token) if token else None
        except vmodl.query.InvalidProperty as fault:
            bad = str(getattr(fault, "name", None))
            holders = [p for p in paths.values() if bad in p]
            if holders and bad not in ("name", "parent"):
                for p in holders:
                    p.remove(bad)
                continue
            raise
        return out


def _wsdl_type(t: Any) -> str:
    return str(getattr(t, "_wsdlName", getattr(t, "__name__", t))).rpartition(".")[2]


def _traverse(vmodl: Any, name: str, obj_type: Any, path: str, *select: Any) -> Any:
    PC = vmodl.query.PropertyCollector
    return PC.TraversalSpec(name=name, type=obj_type, path=path, skip=False, selectSet=list(select))


def _over_view(
    content: Any,
    vim: Any,
    vmodl: Any,
    container: Any,
    members: Sequence[Any],
    wanted: Mapping[Any, Sequence[str]],
    page_size: int,
    *,
    follow: Sequence[Any] = (),
    also: Sequence[Any] = (),
) -> dict[str, dict[str, dict[str, Any]]]:
    """One ``RetrievePropertiesEx`` over a recursive ``ContainerView`` of ``container`` holding
    objects of the ``members`` types, reading the paths ``wanted[type]``. ``follow`` are traversal specs applied
    to the view's members (e.g. to their datastores), ``also`` further object specs read in the
    same call."""
    PC = vmodl.query.PropertyCollector
    view = content.viewManager.CreateContainerView(container, list(members), True)
    try:
        through = _traverse(vmodl, "view", vim.view.ContainerView, "view", *follow)
        specs = [PC.ObjectSpec(obj=view, skip=True, selectSet=[through]), *also]
        return _retrieve(content.propertyCollector, vmodl, specs, wanted, page_size)
    finally:
        try:
            view.Destroy()
        except Exception:  # pragma: no cover - best effort
            pass


@dataclass
class _Place:
    """Where a cluster sits: ``dc_folders/dc/host/folders/name``."""

    moid: str
    name: str
    datacenter: str | None
    dc_folders: list[str]
    folders: list[str]
    chain: list[str]  # moids from the cluster's parent up to the root folder

    def spellings(self) -> set[str]:
        out = {self.name}
        if self.datacenter is not None:
            dc = [*self.dc_folders, self.datacenter]
            out |= {
                "/".join([self.datacenter, self.name]),
                "/".join([self.datacenter, *self.folders, self.name]),
                "/".join([*dc, *self.folders, self.name]),
                "/".join([*dc, "host", *self.folders, self.name]),
            }
        return out

    def label(self, depth: int) -> str:
        """``DC/name`` (depth 0), ``DC/folders/name`` (1), ``dc-folders/DC/folders/name`` (2)."""
        if self.datacenter is None:
            return self.name
        parts = [self.datacenter, *(self.folders if depth >= 1 else ()), self.name]
        return "/".join([*(self.dc_folders if depth >= 2 else ()), *parts])


def _places(entities: Mapping[str, dict[str, dict[str, Any]]], root: str) -> list[_Place]:
    """Each cluster's place, from the names and parents of the folders, datacenters and
    clusters below the root folder (``root``, its moid)."""
    info: dict[str, tuple[str, str, str | None]] = {}  # moid -> (type, name, parent moid)
    for tname, objs in entities.items():
        for moid, p in objs.items():
            if moid == root:
                continue
            parent = p.get("parent")
            info[moid] = (tname, _name(p.get("name") or moid), _moid(parent) if parent is not None else None)
    out = []
    for moid, p in sorted(entities.get("ClusterComputeResource", {}).items()):
        name = info[moid][1]
        above: list[tuple[str, str]] = []  # (type, name), nearest first
        chain: list[str] = []
        cur = info[moid][2]
        while cur is not None and cur in info and cur not in chain:
            chain.append(cur)
            above.append(info[cur][:2])
            cur = info[cur][2]
        dc_at = next((i for i, (t, _) in enumerate(above) if t == "Datacenter"), None)
        if dc_at is None:
            out.append(_Place(moid, name, None, [], [], chain))
            continue
        folders = [n for _, n in reversed(above[: dc_at])][1:]  # below the datacenter's host folder
        dc_folders = [n for _, n in reversed(above[dc_at + 1 :])]
        out.append(_Place(moid, name, above[dc_at][1], dc_folders, folders, chain))
    return out


def _labels(places: Sequence[_Place]) -> dict[str, str]:
    """The shortest unambiguous ``DC/…/name`` label of each place."""
    for depth in (0, 1, 2):
        labels = {p.moid: p.label(depth) for p in places}
        if len(set(labels.values())) == len(labels):
            return labels
    return labels


def _choose(places: Sequence[_Place], wanted: str) -> _Place:
    query = wanted.strip()
    norm = query.strip("/")
    for fold in (False, True):
        def same(a: str, b: str) -> bool:
            return a.casefold() == b.casefold() if fold else a == b

        matches = [p for p in places if same(p.moid, query) or any(same(s, norm) for s in p.spellings())]
        if matches:
            break
    labels = _labels(places)
    if len(matches) == 1:
        return matches[0]
    if matches:
        matches.sort(key=lambda p: labels[p.moid])
        listing = ", ".join(f"'{labels[p.moid]}' ({p.moid})" for p in matches)
        example = labels[matches[-1].moid]
        raise InventoryError([(
            "cluster",
            f"several clusters are named '{wanted}': {listing}; pass one of these "
            f"(e.g. cluster='{example}') or the managed-object id",
        )])
    listing = ", ".join(f"'{labels[p.moid]}' ({p.moid})" for p in sorted(places, key=lambda p: labels[p.moid])) or "none"
    raise InventoryError([("cluster", f"no cluster named '{wanted}'; the vCenter has {listing}")])


def _locate(si: Any, cluster: str, page_size: int) -> tuple[Any, _Place, dict[str, dict[str, dict[str, Any]]]]:
    """The first call: ``(content, the cluster's place, what was read)`` — the names and
    parents of the folders, datacenters and clusters, ``cluster`` looked up among them."""
    vim, vmodl = _pyvmomi()
    content = si.RetrieveContent()
    located = _over_view(
        content, vim, vmodl, content.rootFolder, [vim.Folder, vim.Datacenter, vim.ClusterComputeResource],
        {vim.Folder: LOCATE_PROPS, vim.Datacenter: LOCATE_PROPS, vim.ClusterComputeResource: LOCATE_PROPS},
        page_size,
    )
    return content, _choose(_places(located, _moid(content.rootFolder)), cluster), located


def _cluster_specs(cref: Any, view: Any) -> tuple[list[Any], dict[Any, Sequence[str]]]:
    """The ObjectSpecs and the property paths per type that select the cluster ``cref``, the
    hosts and VMs of ``view`` (a ContainerView of the cluster's HostSystems and
    VirtualMachines) and every datastore any of them uses. The one selection both the snapshot
    (:func:`read_vsphere`) and the property-collector filter of :func:`hapolicy.io.watch` use."""
    vim, vmodl = _pyvmomi()
    PC = vmodl.query.PropertyCollector
    to_ds = [
        _traverse(vmodl, "host-datastores", vim.HostSystem, "datastore"),
        _traverse(vmodl, "vm-datastores", vim.VirtualMachine, "datastore"),
    ]
    specs = [
        PC.ObjectSpec(obj=view, skip=True, selectSet=[_traverse(vmodl, "view", vim.view.ContainerView, "view", *to_ds)]),
        PC.ObjectSpec(obj=cref, skip=False, selectSet=[
            _traverse(vmodl, "cluster-datastores", vim.ClusterComputeResource, "datastore")]),
    ]
    wanted: dict[Any, Sequence[str]] = {
        vim.HostSystem: HOST_PROPS, vim.VirtualMachine: VM_PROPS,
        vim.ClusterComputeResource: CLUSTER_PROPS, vim.Datastore: DATASTORE_PROPS,
    }
    return specs, wanted


def _raw(
    content: Any, place: _Place, located: Mapping[str, Mapping[str, dict[str, Any]]],
    snap: Mapping[str, dict[str, dict[str, Any]]],
) -> _Raw:
    """A :class:`_Raw` from what the two calls read (``snap``: ``{type: {moid: {path: value}}}``)."""
    about = getattr(content, "about", None)
    return _Raw(
        version=getattr(about, "version", None),
        cluster_id=place.moid,
        cluster=snap.get("ClusterComputeResource", {}).get(place.moid, {}),
        hosts=snap.get("HostSystem", {}),
        vms=snap.get("VirtualMachine", {}),
        datastores=snap.get("Datastore", {}),
        located_name=place.name,
        ancestry={
            m: {"type": t, **located[t][m]}
            for t in ("ClusterComputeResource", "Folder", "Datacenter")
            for m in (place.moid, *place.chain)
            if m in located.get(t, {})
        },
    )


def _collect(si: Any, cluster: str, page_size: int) -> _Raw:
    """Two PropertyCollector calls: one to find the cluster (names and parents of clusters,
    datacenters and folders), then ONE ``RetrievePropertiesEx`` for the cluster, its hosts,
    its VMs and every datastore any of them uses — the snapshot is as consistent as vCenter
    makes a single call."""
    vim, vmodl = _pyvmomi()
    content, place, located = _locate(si, cluster, page_size)
    cref = vim.ClusterComputeResource(place.moid, stub=getattr(content.rootFolder, "_stub", None))
    view = None
    try:
        view = content.viewManager.CreateContainerView(cref, [vim.HostSystem, vim.VirtualMachine], True)
        specs, wanted = _cluster_specs(cref, view)
        snap = _retrieve(content.propertyCollector, vmodl, specs, wanted, page_size)
    except vmodl.fault.ManagedObjectNotFound:
        raise InventoryError([(
            "cluster", f"cluster '{place.name}' ({place.moid}) was removed from vCenter while it was being read"
        )]) from None
    finally:
        if view is not None:
            try:
                view.Destroy()
            except Exception:  # pragma: no cover - best effort
                pass
    return _raw(content, place, located, snap)


def _source(si: Any) -> str | None:
    """``"vCenter <url>"`` for ``inv.source``; ``"vCenter recording <path>"`` for a replay."""
    stub = getattr(si, "_stub", None)
    if isinstance(stub, _ReplayStub):
        return f"vCenter recording {stub.origin}" if stub.origin else "vCenter recording"
    host = getattr(stub, "host", None)
    if not isinstance(host, str) or not host:
        return None
    scheme = "https" if "HTTPS" in str(getattr(stub, "scheme", "")).upper() else "http"
    path = getattr(stub, "path", "/sdk")
    return f"vCenter {scheme}://{host}{path if isinstance(path, str) else '/sdk'}"


# ---------------------------------------------------------------- conversion


def _wsdl(obj: Any) -> str:
    return str(getattr(type(obj), "_wsdlName", type(obj).__name__))


def _ids(refs: Iterable[Any] | None) -> list[str]:
    return [_moid(r) for r in refs or ()]


def _num(v: Any) -> int | None:
    if v is None or isinstance(v, bool):
        return None
    try:
        return int(v)
    except (TypeError, ValueError):
        return None


_DS_IN_PATH = re.compile(r"^\s*\[([^\]]+)\]")


class _Converter:
    def __init__(self, raw: _Raw, defaults: Defaults, source: str | None = None) -> None:
        self.raw = raw
        self.d = defaults
        self.source = source
        self.notes = Notes()
        self.problems: list[tuple[str, str]] = []
        self.locate: dict[str, str] = {}

    def build(self, fault_domains: c.DomainMapping | None = None, sites: c.DomainMapping | None = None) -> Loaded:
        raw = self.raw
        cfg_ex = raw.cluster.get("configurationEx")
        das = getattr(cfg_ex, "dasConfig", None)
        version = c.version(raw.version)
        if version is None:
            version = c.version(self.d.version) or "8.0"
            self.notes.add("cluster.version", f"vCenter reports no version: {version} assumed (Defaults.version)")

        datastores = self._datastores()
        hosts = self._hosts(set(datastores))
        host_ids = {h["id"] for h in hosts}
        overrides = {_moid(o.key): o for o in getattr(cfg_ex, "dasVmConfig", None) or () if getattr(o, "key", None)}
        vms = self._vms({h["id"]: h for h in hosts}, datastores, overrides)
        vm_ids = {v["id"] for v in vms}
        rules = self._rules(cfg_ex, vm_ids, host_ids)
        cluster = self._cluster(das, version, host_ids, set(datastores))
        self._orchestration(cfg_ex, das, cluster, {v["id"]: v for v in vms})
        self._drs(cfg_ex, cluster)
        vsan = getattr(cfg_ex, "vsanConfigInfo", None)
        if getattr(vsan, "enabled", None):
            cluster["vsan"] = {"enabled": True}
            if sites is None:
                self.notes.add(
                    "hosts[*].site",
                    "vSAN is enabled, but the vSphere API does not say whether the cluster is stretched or which "
                    "site a host is in (the vSAN management API does): no sites; pass sites= to read_vsphere",
                )
        doc = {"cluster": cluster, "hosts": hosts, "datastores": list(datastores.values()), "vms": vms, "rules": rules}
        c.apply_domains(doc, self.notes, fault_domains, sites)
        return c.finish(doc, self.notes, self.problems, self.locate, self.source)

    # ------------------------------------------------------------ inventory objects
    def _datastores(self) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for moid, p in sorted(self.raw.datastores.items()):
            name = _name(p.get("name") or moid)
            raw_type = p.get("summary.type")
            dtype = c.datastore_type(raw_type)
            if dtype is None:
                dtype = "VMFS"
                self.notes.add("datastores[*].type", f"type {raw_type!r} is not one the engine models: treated as VMFS", name)
            ds: dict[str, Any] = {"id": moid, "name": name, "type": dtype}
            nas = getattr(p.get("info"), "nas", None)
            remote = getattr(nas, "remoteHost", None)
            if remote:
                ds["backing"] = str(remote)
            out[moid] = ds
        return out

    def _hosts(self, ds_ids: set[str]) -> list[dict[str, Any]]:
        hosts: list[dict[str, Any]] = []
        states: dict[str, list[str]] = {}
        for moid, p in sorted(self.raw.hosts.items()):
            name = _name(p.get("name") or moid)
            mhz, cores = _num(p.get("summary.hardware.cpuMhz")), _num(p.get("summary.hardware.numCpuCores"))
            mem = _num(p.get("summary.hardware.memorySize"))
            state = str(p.get("runtime.connectionState") or "connected")
            if state not in ("connected", "disconnected", "notResponding"):
                self.notes.add("hosts[*].state", f"unknown connection state {state!r}: treated as disconnected", name)
                state = "disconnected"
            if mhz is None or cores is None or mem is None:
                self.notes.add("hosts[*].cpu_mhz", "vCenter reports no hardware figures: capacity 0", name)
            power = str(p.get("runtime.powerState") or "poweredOn")
            fdm = getattr(p.get("runtime.dasHostState"), "state", None)
            if fdm is not None:
                states.setdefault(str(fdm), []).append(name)
            self.locate[f"hosts[{len(hosts)}]"] = f"host {moid} '{name}'"
            host: dict[str, Any] = {
                "id": moid,
                "name": name,
                "cpu_mhz": (mhz or 0) * (cores or 0),
                "memory_mb": (mem or 0) // (1024 * 1024),
                "datastores": [d for d in _ids(p.get("datastore")) if d in ds_ids],
                "networks": _ids(p.get("network")),
                "state": state,
                "maintenance": bool(p.get("runtime.inMaintenanceMode")),
                "standby": power == "standBy",
            }
            # vSAN fault domain (R-DOMAIN); an empty name means none (the host is its own domain).
            domain = p.get("config.vsanHostConfig.faultDomainInfo.name")
            if isinstance(domain, str) and domain.strip():
                host["fault_domain"] = domain.strip()
            hosts.append(host)
        if hosts:
            self.notes.add(
                "hosts[*].cpu_mhz",
                "capacity is the physical capacity (cpuMhz × numCpuCores, memorySize); vSphere keeps "
                "a little of it for the hypervisor",
            )
        for state, names in sorted(states.items()):
            if state in ("master", "connectedToMaster"):
                continue
            for n in names:
                self.notes.add(
                    "hosts[*]",
                    f"vSphere HA agent reports '{state}': the inventory has no field for it; the engine "
                    "treats the host by its connection, maintenance and standby state",
                    n,
                )
        if not states and hosts:
            self.notes.add("hosts[*]", "vCenter reports no vSphere HA agent state (runtime.dasHostState) for the hosts")
        return hosts

    def _vms(
        self, hosts: Mapping[str, dict[str, Any]], datastores: Mapping[str, dict[str, Any]], overrides: Mapping[str, Any]
    ) -> list[dict[str, Any]]:
        vms: list[dict[str, Any]] = []
        for moid, p in sorted(self.raw.vms.items(), key=lambda kv: _sort_key(kv[0])):
            name = _name(p.get("name") or moid)
            if p.get("config.template"):
                self.notes.add("vms", "templates skipped (they never run)", f"{name} ({moid})")
                continue
            ps = c.power_state(p.get("runtime.powerState"))
            if ps is None:
                self.problems.append((f"vm {moid} '{name}'", f"unknown power state {p.get('runtime.powerState')!r}"))
                continue
            host = _moid(p["runtime.host"]) if p.get("runtime.host") is not None else None
            if ps == "poweredOn":
                race = self._cannot_run(host, hosts)
                if race is not None:
                    # A snapshot of a live system: the VM's and the host's properties were read
                    # at (slightly) different instants, e.g. a vMotion racing an evacuation.
                    self.notes.add(
                        "vms[*].host",
                        f"powered on, but {race}: kept with no host, as not running in the cluster "
                        "(its reservations are not counted and HA would not restart it); read again "
                        "once the migration has finished",
                        f"{name} ({moid})",
                    )
                    ps, host = "poweredOff", None
            if host is not None and host not in hosts:
                host = None
            vm: dict[str, Any] = {"id": moid, "name": name, "host": host, "power_state": ps}

            ds_list = [d for d in _ids(p.get("datastore")) if d in datastores]
            m = _DS_IN_PATH.match(str(p.get("config.files.vmPathName") or ""))
            home = None
            if m:  # datastore names are unique in a datacenter; prefer the VM's own datastores
                wanted = m.group(1).strip()
                mine = [d for d in ds_list if datastores[d]["name"] == wanted]
                home = mine[0] if mine else next((d for d, ds in datastores.items() if ds["name"] == wanted), None)
            if home is None and ds_list:
                home = ds_list[0]
                self.notes.add("vms[*].home_datastore", "no datastore in config.files.vmPathName: the VM's first datastore used", name)
            if home is None:
                # A VM being created, registered or removed while the read ran.
                self.notes.add(
                    "vms",
                    "left out: vCenter reports no datastore for the VM (being created or removed while it was read)",
                    f"{name} ({moid})",
                )
                continue
            vm["home_datastore"] = home
            vm["datastores"] = [home, *(d for d in ds_list if d != home)]
            nets = _ids(p.get("network"))
            if nets:
                vm["networks"] = nets

            vm["cpu_reservation_mhz"] = max(_num(p.get("config.cpuAllocation.reservation")) or 0, 0)
            mem_res = max(_num(p.get("config.memoryAllocation.reservation")) or 0, 0)
            if p.get("config.memoryReservationLockedToMax"):
                mem_res = max(mem_res, _num(p.get("config.hardware.memoryMB")) or 0)
            vm["memory_reservation_mb"] = mem_res
            # R-AC-PERF demand: overall CPU usage (MHz) and active guest memory (MB) — the
            # demand DRS works with; consumed host memory (hostMemoryUsage) would overstate it.
            cpu_use = _num(p.get("summary.quickStats.overallCpuUsage"))
            mem_use = _num(p.get("summary.quickStats.guestMemoryUsage"))
            if ps == "poweredOn" and cpu_use is not None and cpu_use >= 0:
                vm["cpu_usage_mhz"] = cpu_use
            if ps == "poweredOn" and mem_use is not None and mem_use >= 0:
                vm["memory_usage_mb"] = mem_use
            overhead_b = _num(p.get("runtime.memoryOverhead"))
            consumed = _num(p.get("summary.quickStats.consumedOverheadMemory"))
            if overhead_b is not None and overhead_b > 0:
                vm["memory_overhead_mb"] = c.mb_from_bytes(overhead_b)
            elif consumed is not None and consumed > 0:
                vm["memory_overhead_mb"] = consumed
                self.notes.add(
                    "vms[*].memory_overhead_mb",
                    "no runtime.memoryOverhead: the consumed overhead (summary.quickStats) used",
                    name,
                )
            else:
                vm["memory_overhead_mb"] = self.d.memory_overhead_mb
                if ps == "poweredOn":
                    self.notes.add(
                        "vms[*].memory_overhead_mb",
                        f"vCenter reports no memory overhead: {self.d.memory_overhead_mb} MB assumed "
                        "(Defaults.memory_overhead_mb)",
                        name,
                    )

            role = self._role(p)
            if role is not None:
                vm["role"] = role
            tools = p.get("guest.toolsRunningStatus")
            if tools is not None:
                vm["tools_running"] = str(tools) == "guestToolsRunning"
            if ps == "poweredOff" and p.get("runtime.cleanPowerOff") is True:
                vm["clean_power_off"] = True
            self._overrides(vm, overrides.get(moid), name)
            self.locate[f"vms[{len(vms)}]"] = f"vm {moid} '{name}'"
            vms.append(vm)
        return vms

    @staticmethod
    def _cannot_run(host: str | None, hosts: Mapping[str, dict[str, Any]]) -> str | None:
        """Why a powered-on VM cannot be on ``host`` as read (``None``: it can)."""
        if host is None:
            return "vCenter reports no host for it"
        h = hosts.get(host)
        if h is None:
            return f"its host {host} is not in the cluster"
        if h["maintenance"]:
            return f"its host {host} '{h['name']}' is in maintenance mode"
        if h["standby"]:
            return f"its host {host} '{h['name']}' is in standby"
        return None

    @staticmethod
    def _role(p: Mapping[str, Any]) -> str | None:
        ft = p.get("config.ftInfo")
        role = _num(getattr(ft, "role", None))
        if role is not None:
            return "ftPrimary" if role == 1 else "ftSecondary"
        if getattr(p.get("config.managedBy"), "extensionKey", None) == _EAM:
            return "agent"
        return None

    def _overrides(self, vm: dict[str, Any], o: Any, name: str) -> None:
        if o is None:
            return
        s = getattr(o, "dasSettings", None)
        rp = c.restart_priority(getattr(s, "restartPriority", None)) or c.restart_priority(getattr(o, "restartPriority", None))
        if rp is not None:
            vm["restart_priority"] = rp
        timeout = _num(getattr(s, "restartPriorityTimeout", None))  # -1: the cluster's (R-ORCH)
        if timeout is not None and timeout >= 0:
            vm["restart_priority_timeout_s"] = timeout
        ir = c.isolation_response(getattr(s, "isolationResponse", None))
        if ir is None and getattr(o, "powerOffOnIsolation", None) is not None:  # vSphere 2.x-4.x spelling
            ir = "powerOff" if o.powerOffOnIsolation else "none"
        if ir is not None:
            vm["isolation_response"] = ir
        tools = getattr(s, "vmToolsMonitoringSettings", None)
        if tools is not None and getattr(tools, "clusterSettings", None) is False:
            mon = c.vm_monitoring(
                c.vm_monitoring_mode(getattr(tools, "vmMonitoring", None)),
                _num(getattr(tools, "failureInterval", None)),
                None,
                None,
                _num(getattr(tools, "maxFailureWindow", None)),
            )
            override = {k: v for k, v in mon.items() if k in ("mode", "sensitivity")}
            if override.get("sensitivity") == "custom":
                del override["sensitivity"]
                self.notes.add(
                    "vms[*].vm_monitoring",
                    "custom per-VM monitoring figures have no field in the inventory: the cluster's sensitivity applies",
                    name,
                )
            if override:
                vm["vm_monitoring"] = override
        vmcp = getattr(s, "vmComponentProtectionSettings", None)
        if vmcp is not None:
            out = {}
            apd = c.storage_protection(getattr(vmcp, "vmStorageProtectionForAPD", None))
            pdl = c.storage_protection(getattr(vmcp, "vmStorageProtectionForPDL", None))
            if apd is not None:
                out["apd"] = apd
            if pdl is not None:
                out["pdl"] = pdl
            if out:
                vm["vmcp"] = out

    # ------------------------------------------------------------ orchestrated restart (R-ORCH)
    @staticmethod
    def _readiness(r: Any) -> dict[str, Any]:
        """A ClusterVmReadiness as ``ready_condition`` / ``post_ready_delay_s`` (what is set)."""
        out: dict[str, Any] = {}
        cond = getattr(r, "readyCondition", None)
        if cond in ("none", "poweredOn", "guestHbStatusGreen", "appHbStatusGreen"):
            out["ready_condition"] = str(cond)
        delay = _num(getattr(r, "postReadyDelay", None))
        if delay is not None and delay >= 0:
            out["post_ready_delay_s"] = delay
        return out

    def _drs(self, cfg_ex: Any, cluster: dict[str, Any]) -> None:
        """``configurationEx.drsConfig.enabled`` / ``defaultVmBehavior`` → ``cluster.drs`` and
        ``configurationEx.dpmConfigInfo.enabled`` → ``cluster.dpm`` (R-PLACE-DRS); written only
        when DRS or DPM is on."""
        drs = getattr(cfg_ex, "drsConfig", None)
        if getattr(drs, "enabled", None):
            behavior = str(getattr(drs, "defaultVmBehavior", None) or "fullyAutomated")
            if behavior not in ("manual", "partiallyAutomated", "fullyAutomated"):
                self.notes.add("cluster.drs.automation",
                               f"vCenter reports DRS automation level '{behavior}': read as 'manual'")
                behavior = "manual"
            cluster["drs"] = {"enabled": True, "automation": behavior}
        dpm = getattr(cfg_ex, "dpmConfigInfo", None)
        if getattr(dpm, "enabled", None):
            cluster["dpm"] = {"enabled": True}

    def _orchestration(self, cfg_ex: Any, das: Any, cluster: dict[str, Any], vms: Mapping[str, dict[str, Any]]) -> None:
        """``configurationEx.orchestration.defaultVmReadiness`` and the cluster's
        ``dasConfig.defaultVmSettings.restartPriorityTimeout`` → ``cluster.orchestration``;
        ``configurationEx.vmOrchestration[]`` → per-VM ``ready_condition`` / ``post_ready_delay_s``
        (``useClusterDefault`` and -1 leave the cluster's)."""
        orch = self._readiness(getattr(getattr(cfg_ex, "orchestration", None), "defaultVmReadiness", None))
        timeout = _num(getattr(getattr(das, "defaultVmSettings", None), "restartPriorityTimeout", None))
        if timeout is not None and timeout >= 0:
            orch["restart_priority_timeout_s"] = timeout
        if orch:
            cluster["orchestration"] = orch
        for o in getattr(cfg_ex, "vmOrchestration", None) or ():
            vm = vms.get(_moid(getattr(o, "vm", None)))
            if vm is not None:
                vm.update(self._readiness(getattr(o, "vmReadiness", None)))

    # ------------------------------------------------------------ rules
    def _rules(self, cfg_ex: Any, vm_ids: set[str], host_ids: set[str]) -> list[dict[str, Any]]:
        groups: dict[str, tuple[str, list[str]]] = {}
        for g in getattr(cfg_ex, "group", None) or ():
            kind = _wsdl(g)
            if kind == "ClusterVmGroup":
                groups[str(g.name)] = ("vm", [v for v in _ids(getattr(g, "vm", None)) if v in vm_ids])
            elif kind == "ClusterHostGroup":
                groups[str(g.name)] = ("host", [h for h in _ids(getattr(g, "host", None)) if h in host_ids])

        def group(name: Any, kind: str) -> list[str]:
            found = groups.get(str(name)) if name else None
            return found[1] if found is not None and found[0] == kind else []

        rules: list[dict[str, Any]] = []
        for r in getattr(cfg_ex, "rule", None) or ():
            kind = _wsdl(r)
            name = str(getattr(r, "name", "") or "")
            enabled = getattr(r, "enabled", None) is not False
            base = {"name": name, "enabled": enabled}
            if kind in ("ClusterAntiAffinityRuleSpec", "ClusterAffinityRuleSpec"):
                vms = [v for v in _ids(getattr(r, "vm", None)) if v in vm_ids]
                if len(set(vms)) < 2:
                    self.notes.add("rules", "rule left out: fewer than two of its VMs are in the inventory", name)
                    continue
                rtype = "vmAntiAffinity" if kind == "ClusterAntiAffinityRuleSpec" else "vmAffinity"
                rules.append({"type": rtype, **base, "vms": vms})
            elif kind == "ClusterVmHostRuleInfo":
                vms = group(getattr(r, "vmGroupName", None), "vm")
                mandatory = bool(getattr(r, "mandatory", False))
                if getattr(r, "affineHostGroupName", None):
                    hosts = group(r.affineHostGroupName, "host")
                    rtype = "vmHostMust" if mandatory else "vmHostShould"
                else:
                    hosts = group(getattr(r, "antiAffineHostGroupName", None), "host")
                    rtype = "vmHostMustNot" if mandatory else "vmHostShouldNot"
                if not vms or not hosts:
                    self.notes.add("rules", "VM-host rule left out: its VM or host group is empty in the inventory", name)
                    continue
                rules.append({"type": rtype, **base, "vms": vms, "hosts": hosts})
            elif kind == "ClusterDependencyRuleInfo":
                dependents = group(getattr(r, "vmGroup", None), "vm")
                needed = group(getattr(r, "dependsOnVmGroup", None), "vm")
                if not dependents or not needed:
                    self.notes.add("rules", "dependency rule left out: one of its VM groups is empty in the inventory", name)
                    continue
                for v in dependents:
                    deps = [x for x in needed if x != v]
                    if deps:
                        rules.append({"type": "vmDependsOn", **base, "vm": v, "depends_on": deps})
            else:
                self.notes.add("rules", f"rule of type {kind} has no counterpart in the engine: left out", name)
        return rules

    # ------------------------------------------------------------ cluster settings
    def _cluster(self, das: Any, version: str, host_ids: set[str], ds_ids: set[str]) -> dict[str, Any]:
        name = _name(self.raw.cluster.get("name") or self.raw.cluster_id)
        located = self.raw.located_name
        if located is not None and self.raw.cluster.get("name") is not None and located != name:
            self.notes.add(
                "cluster.name",
                f"the cluster {self.raw.cluster_id} was renamed from '{located}' to '{name}' while it was read: "
                "the new name used",
            )
        cfg: dict[str, Any] = {"name": name, "version": version}
        if das is None or getattr(das, "enabled", None) is None:
            self.notes.add("cluster", "vCenter reports no vSphere HA configuration (dasConfig): settings from Defaults")
        elif das.enabled is False:
            self.notes.add("cluster", "vSphere HA is disabled on this cluster: analysed as if enabled")
        defaults_vm = getattr(das, "defaultVmSettings", None)

        # admission control
        level = _num(getattr(das, "failoverLevel", None))
        ac = self._admission(das, version, level, host_ids)
        cfg["admission_control"] = ac

        hm = getattr(das, "hostMonitoring", None)
        if hm in ("enabled", "disabled"):
            cfg["host_monitoring"] = hm == "enabled"
        else:
            cfg["host_monitoring"] = self.d.host_monitoring
            self.notes.add("cluster.host_monitoring", f"not set in vCenter: {self.d.host_monitoring} assumed")

        ir = c.isolation_response(getattr(defaults_vm, "isolationResponse", None))
        if ir is None or ir == "clusterIsolationResponse":
            ir = self.d.isolation_response
            self.notes.add("cluster.isolation_response", f"not set in vCenter: {ir!r} assumed (Defaults.isolation_response)")
        cfg["isolation_response"] = ir
        rp = c.restart_priority(getattr(defaults_vm, "restartPriority", None))
        if rp is None or rp == "clusterRestartPriority":
            rp = self.d.restart_priority
            self.notes.add("cluster.restart_priority", f"not set in vCenter: {rp!r} assumed (Defaults.restart_priority)")
        cfg["restart_priority"] = rp

        policy = c.hb_policy(getattr(das, "hBDatastoreCandidatePolicy", None))
        preferred = [d for d in _ids(getattr(das, "heartbeatDatastore", None)) if d in ds_ids]
        if policy is not None:
            cfg["heartbeat_datastores"] = {"policy": policy, "preferred": preferred}

        options = {}
        for o in getattr(das, "option", None) or ():
            key = getattr(o, "key", None)
            if key:
                v = getattr(o, "value", None)
                options[str(key)] = "" if v is None else (str(v).lower() if isinstance(v, bool) else str(v))
        if options:
            cfg["advanced_options"] = options

        tools = getattr(defaults_vm, "vmToolsMonitoringSettings", None)
        mode = c.vm_monitoring_mode(getattr(das, "vmMonitoring", None)) or c.vm_monitoring_mode(getattr(tools, "vmMonitoring", None))
        vmm = c.vm_monitoring(
            mode,
            _num(getattr(tools, "failureInterval", None)),
            _num(getattr(tools, "minUpTime", None)),
            _num(getattr(tools, "maxFailures", None)),
            _num(getattr(tools, "maxFailureWindow", None)),
        )
        if vmm:
            cfg["vm_monitoring"] = vmm

        vmcp_on = getattr(das, "vmComponentProtecting", None)
        settings = getattr(defaults_vm, "vmComponentProtectionSettings", None)
        if vmcp_on == "disabled":
            cfg["vmcp"] = {"apd": "disabled", "pdl": "disabled"}
        elif vmcp_on == "enabled" and settings is not None:
            vmcp: dict[str, Any] = {}
            for key, attr in (("apd", "vmStorageProtectionForAPD"), ("pdl", "vmStorageProtectionForPDL")):
                v = c.storage_protection(getattr(settings, attr, None))
                if v is not None:
                    vmcp[key] = v
            delay = _num(getattr(settings, "vmTerminateDelayForAPDSec", None))
            if delay is not None and delay >= 0:
                vmcp["apd_delay_s"] = delay
            cleared = getattr(settings, "vmReactionOnAPDCleared", None)
            if cleared in ("none", "reset"):
                vmcp["apd_cleared"] = cleared
            cfg["vmcp"] = vmcp

        for key, value in self.d.cluster.items():
            cfg.setdefault(key, value)
        return cfg

    def _admission(self, das: Any, version: str, level: int | None, host_ids: set[str]) -> dict[str, Any]:
        enabled = getattr(das, "admissionControlEnabled", None)
        policy: Any = getattr(das, "admissionControlPolicy", None)
        if enabled is False:
            return {"policy": "disabled"}
        kind = _wsdl(policy) if policy is not None else None
        if kind == "ClusterFailoverLevelAdmissionControlPolicy":
            out: dict[str, Any] = {"policy": "slot", "host_failures": _num(policy.failoverLevel) or 1}
            slot = getattr(policy, "slotPolicy", None)
            if slot is not None and _wsdl(slot) == "ClusterFixedSizeSlotPolicy":
                out["slot_cpu_mhz"] = _num(slot.cpu)
                out["slot_memory_mb"] = _num(slot.memory)
            return out
        if kind == "ClusterFailoverResourcesAdmissionControlPolicy":
            if getattr(policy, "autoComputePercentages", None) and c.at_least(version, 6, 5):
                return {"policy": "percentage", "host_failures": _num(getattr(policy, "failoverLevel", None)) or 1}
            return {
                "policy": "percentage",
                "cpu_percent": _num(policy.cpuFailoverResourcesPercent) or 0,
                "memory_percent": _num(policy.memoryFailoverResourcesPercent) or 0,
            }
        if kind == "ClusterFailoverHostAdmissionControlPolicy":
            hosts = [h for h in _ids(getattr(policy, "failoverHosts", None)) if h in host_ids]
            if hosts:
                return {"policy": "failoverHosts", "hosts": hosts}
            self.notes.add("cluster.admission_control", "dedicated failover hosts are not in the cluster")
        elif kind is not None:
            self.notes.add("cluster.admission_control", f"policy {kind} has no counterpart in the engine")
        if self.d.admission_control is not None:
            ac = dict(self.d.admission_control)
            self.notes.add("cluster.admission_control", f"no usable policy in vCenter: {ac} (Defaults.admission_control)")
            return ac
        ac = c.default_admission(version, level)
        self.notes.add(
            "cluster.admission_control", f"no usable policy in vCenter: assumed {ac}, the default of vSphere {version}"
        )
        return ac


def _sort_key(moid: str) -> tuple[str, int, str]:
    m = re.match(r"^(.*?)(\d+)$", moid)
    return (m.group(1), int(m.group(2)), moid) if m else (moid, 0, moid)


# ---------------------------------------------------------------- recording and replay

FORMAT = "hapolicy-vsphere-recording/1"


def record_vsphere(service_instance: Any, cluster: str, path: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """What :func:`read_vsphere` collects for ``cluster``, as JSON-able data (written to
    ``path`` when given). :func:`replay` serves it back — to analyse offline, or to attach to a
    bug report."""
    raw = _collect(service_instance, cluster, 500)
    rec = {
        "format": FORMAT,
        "about": {"version": raw.version},
        "cluster": {"id": raw.cluster_id, "props": _encode(raw.cluster)},
        "ancestry": {k: _encode(v) for k, v in raw.ancestry.items()},
        "hosts": {k: _encode(v) for k, v in raw.hosts.items()},
        "vms": {k: _encode(v) for k, v in raw.vms.items()},
        "datastores": {k: _encode(v) for k, v in raw.datastores.items()},
    }
    if path is not None:
        Path(path).write_text(json.dumps(rec, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return rec


def _encode(value: Any) -> Any:
    """pyVmomi values → JSON: data objects as ``{"_type": vmodl name, field: …}`` (unset
    fields left out), references as ``{"_moref": "vim.HostSystem:host-10"}``, typed arrays as
    ``{"_array": "vim.HostSystem[]", "items": […]}``, dates as ``{"_datetime": ISO 8601}``."""
    support = importlib.import_module("pyVmomi.VmomiSupport")
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, str):
        return str(value)
    if isinstance(value, support.ManagedObject):
        return {"_moref": f"{support.GetVmodlName(type(value))}:{value._moId}"}
    if isinstance(value, support.DataObject):
        out: dict[str, Any] = {"_type": support.GetVmodlName(type(value))}
        for prop in value._GetPropertyList():
            v = getattr(value, prop.name, None)
            if prop.name in ("dynamicType", "dynamicProperty") or v is None or (isinstance(v, list) and not v):
                continue
            out[prop.name] = _encode(v)
        return out
    if isinstance(value, datetime.datetime):
        return {"_datetime": value.isoformat()}
    if isinstance(value, (list, tuple)):
        items = [_encode(v) for v in value]
        if getattr(type(value), "Item", None) is not None:
            return {"_array": support.GetVmodlName(type(value)), "items": items}
        return items
    if isinstance(value, Mapping):
        return {str(k): _encode(v) for k, v in value.items()}
    if isinstance(value, bytes):
        return {"_binary": base64.b64encode(value).decode("ascii")}
    return str(value)


def _decode(value: Any, stub: Any) -> Any:
    support = importlib.import_module("pyVmomi.VmomiSupport")
    if isinstance(value, list):
        return [_decode(v, stub) for v in value]
    if isinstance(value, dict):
        if "_array" in value:
            return support.GetVmodlType(value["_array"])([_decode(v, stub) for v in value.get("items", [])])
        if "_moref" in value:
            tname, _, moid = str(value["_moref"]).partition(":")
            return support.GetVmodlType(tname)(moid, stub=stub)
        if "_datetime" in value:
            return datetime.datetime.fromisoformat(str(value["_datetime"]))
        if "_binary" in value:
            return base64.b64decode(str(value["_binary"]))
        if "_type" in value:
            cls = support.GetVmodlType(value["_type"])
            return cls(**{k: _decode(v, stub) for k, v in value.items() if k != "_type"})
        return {k: _decode(v, stub) for k, v in value.items()}
    return value


def replay(recording: Mapping[str, Any] | str | os.PathLike[str]) -> Any:
    """A stand-in pyVmomi ``ServiceInstance`` serving a :func:`record_vsphere` recording (a
    mapping, or the path of its JSON file) through pyVmomi's own method dispatch: its
    PropertyCollector answers ``RetrievePropertiesEx`` from the recording."""
    vim, _ = _pyvmomi()
    origin = None if isinstance(recording, Mapping) else str(recording)
    if not isinstance(recording, Mapping):
        try:
            recording = json.loads(Path(recording).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise InventoryError([(str(recording), f"not a readable recording: {exc}")]) from None
    if not isinstance(recording, Mapping) or recording.get("format") != FORMAT:
        raise InventoryError([("recording", f"not a {FORMAT} recording")])
    stub = _ReplayStub(recording, origin)
    return vim.ServiceInstance("ServiceInstance", stub=stub)


class _ReplayStub:
    """The pyVmomi stub-adapter protocol (``InvokeMethod`` / ``InvokeAccessor``) over a
    recording. Its PropertyCollector follows the ObjectSpecs and TraversalSpecs it is given
    over the recorded objects as vCenter does (a TraversalSpec applies to objects of its
    ``type`` only, and follows the recorded property named by its ``path``)."""

    def __init__(self, rec: Mapping[str, Any], origin: str | None = None) -> None:
        self.rec = rec
        self.origin = origin
        self.views: dict[str, tuple[str, list[str]]] = {}  # view id -> (container id, type names)
        self.calls: list[str] = []  # method names, in order (tests count them)
        self.pages: list[list[Any]] = []
        cid = str(rec["cluster"]["id"])
        self.objects: dict[str, dict[str, dict[str, Any]]] = {
            "ClusterComputeResource": {cid: dict(rec["cluster"]["props"])},
            "HostSystem": dict(rec.get("hosts", {})),
            "VirtualMachine": dict(rec.get("vms", {})),
            "Datastore": dict(rec.get("datastores", {})),
            "Folder": {},
            "Datacenter": {},
        }
        for moid, entry in dict(rec.get("ancestry", {})).items():
            kind = str(entry.get("type"))
            props = {k: v for k, v in entry.items() if k != "type"}
            if kind == "ClusterComputeResource" and moid == cid:
                self.objects[kind][cid].setdefault("parent", props.get("parent"))
            elif kind in ("Folder", "Datacenter"):
                self.objects[kind][str(moid)] = props
        self.types = {moid: kind for kind, objs in self.objects.items() for moid in objs}

    def _page(self) -> Any:
        _, vmodl = _pyvmomi()
        if not self.pages:
            return None
        page = self.pages.pop(0)
        token = f"page-{len(self.pages)}" if self.pages else None
        return vmodl.query.PropertyCollector.RetrieveResult(objects=page, token=token)

    def _refs(self, obj: str, kind: str | None, value: Any) -> list[tuple[str, str]]:
        """The (moid, type) pairs a recorded property ``value`` refers to."""
        out: list[tuple[str, str]] = []
        if isinstance(value, dict) and "_array" in value:
            value = value.get("items", [])
        for v in value if isinstance(value, list) else [value]:
            if isinstance(v, dict) and "_moref" in v:
                tname, _, moid = str(v["_moref"]).partition(":")
                out.append((moid, tname.rpartition(".")[2]))
        return out

    def _follow(self, oid: str, kind: str, select: Sequence[Any], out: list[tuple[str, str]]) -> None:
        for ts in select or ():
            if _wsdl_type(getattr(ts, "type", None)) != kind:
                continue
            if kind == "ContainerView" and ts.path == "view":
                _, types = self.views[oid]
                members = [(m, t) for t in types for m in self.objects.get(t, {})]
            else:
                members = self._refs(oid, kind, self.objects.get(kind, {}).get(oid, {}).get(ts.path))
            for m, t in members:
                if not ts.skip:
                    out.append((m, t))
                self._follow(m, t, list(getattr(ts, "selectSet", None) or ()), out)

    def InvokeAccessor(self, mo: Any, info: Any) -> Any:  # noqa: N802 - pyVmomi protocol
        raise NotImplementedError(f"replay serves no property reads ({info.name}); use the PropertyCollector")

    def InvokeMethod(self, mo: Any, info: Any, args: list[Any]) -> Any:  # noqa: N802 - pyVmomi protocol
        vim, vmodl = _pyvmomi()
        name = str(info.name)
        self.calls.append(name)
        if name == "RetrieveContent":
            return vim.ServiceInstanceContent(
                rootFolder=vim.Folder("group-d1", stub=self),
                propertyCollector=vim.PropertyCollector("propertyCollector", stub=self),
                viewManager=vim.view.ViewManager("ViewManager", stub=self),
                about=vim.AboutInfo(
                    name="VMware vCenter Server (recording)",
                    fullName="recording",
                    vendor="VMware, Inc.",
                    version=str(self.rec.get("about", {}).get("version") or ""),
                    build="0",
                    osType="linux-x64",
                    productLineId="vpx",
                    apiType="VirtualCenter",
                    apiVersion=str(self.rec.get("about", {}).get("version") or ""),
                ),
            )
        if name == "CreateContainerView":
            container, types, _recursive = args
            vid = f"session[replay]view-{len(self.views) + 1}"
            self.views[vid] = (_moid(container), [_wsdl_type(t) for t in types])
            return vim.view.ContainerView(vid, stub=self)
        if name == "Destroy" or name == "DestroyView":
            self.views.pop(_moid(mo), None)
            return None
        if name == "RetrievePropertiesEx":
            specs, options = args
            objects = []
            for spec in specs:
                wanted = {_wsdl_type(ps.type): list(ps.pathSet or ()) for ps in spec.propSet}
                refs: list[tuple[str, str]] = []
                for ospec in spec.objectSet:
                    oid = _moid(ospec.obj)
                    kind = "ContainerView" if oid in self.views else self.types.get(oid, _wsdl(ospec.obj))
                    if not ospec.skip:
                        refs.append((oid, kind))
                    self._follow(oid, kind, list(ospec.selectSet or ()), refs)
                seen: set[str] = set()
                for oid, kind in refs:
                    if oid in seen or kind not in wanted or oid not in self.objects.get(kind, {}):
                        continue
                    seen.add(oid)
                    props = self.objects[kind][oid]
                    prop_set = [vmodl.DynamicProperty(name=p, val=_decode(props[p], self)) for p in wanted[kind] if p in props]
                    cls = getattr(vim, kind)
                    objects.append(vmodl.query.PropertyCollector.ObjectContent(obj=cls(oid, stub=self), propSet=prop_set))
            size = getattr(options, "maxObjects", None) or len(objects) or 1
            self.pages = [objects[i : i + size] for i in range(0, len(objects), size)]
            return self._page()
        if name == "ContinueRetrievePropertiesEx":
            return self._page()
        raise NotImplementedError(f"replay does not serve {name}")
