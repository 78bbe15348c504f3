"""A straightforward pure-Python implementation of failover placement (R-PLACE-1..3 in the rule book, docs/rules.rst),
what-if sweeps, and the slot admission policy (R-AC-SLOT).

It is the baseline the benchmarks compare the Rust engine against ("a straightforward
pure-Python implementation of the same rules"): plain dicts, sets and lists, one sort with a
key function, a loop over the hosts for every VM. It is neither deliberately slow nor a port of
the engine's optimisations (no precomputed index shared between calls, no bitmasks, no
incremental state reused across scenarios): every call starts from the inventory.

The rules, and how each ambiguity is resolved, follow the documentation at the top of
``src/placement/mod.rs`` (and of ``src/admission.rs`` for the slot policy);
``tests/test_reference_py.py`` checks that this module agrees with the golden corpus and with
``ha.plan_failover`` on generated inventories.

Host and VM ids are compared as Python strings: code-point order is the same as the bytewise
order of their UTF-8 encoding, which is what the engine uses.
"""

from __future__ import annotations

import heapq
import itertools
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import hapolicy as ha

__all__ = [
    "ScenarioResultPy",
    "SlotReportPy",
    "admission_slot_py",
    "plan_failover_py",
    "restart_order_py",
    "sweep_py",
]

# R-PLACE-1: agent VMs (0), FT secondaries (1), then restart priority highest … lowest.
_PRIORITY_RANK = {"highest": 2, "high": 3, "medium": 4, "low": 5, "lowest": 6}

# R-PLACE-2: the feasibility checks, in the order they are made. A host's refusal is the first
# check it fails; an unplaced VM gets the reason of the deepest stage any host reached.
_UNAVAILABLE, _DATASTORE, _NETWORK, _VM_HOST_RULE, _ANTI_AFFINITY, _FT_LIMIT, _CAPACITY = range(7)
_REASON_OF_STAGE = {
    _UNAVAILABLE: "noCompatibleHost",
    _DATASTORE: "datastoreInaccessible",
    _NETWORK: "noCompatibleHost",
    _VM_HOST_RULE: "vmHostRule",
    _ANTI_AFFINITY: "antiAffinity",
    _FT_LIMIT: "insufficientResources",
    _CAPACITY: "insufficientResources",
}


def _version_at_least(version: str, major: int, minor: int) -> bool:
    major_now, minor_now = (int(part) for part in str(version).split("."))
    return (major_now, minor_now) >= (major, minor)


def _restart_priority(inv: ha.Inventory, vm: ha.Vm) -> str:
    """The effective restart priority (``clusterRestartPriority`` resolved)."""
    if vm.restart_priority == ha.RestartPriority.CLUSTER_RESTART_PRIORITY:
        return str(inv.config.restart_priority)
    return str(vm.restart_priority)


def _isolation_response(inv: ha.Inventory, vm: ha.Vm) -> str:
    """The effective isolation response (``clusterIsolationResponse`` resolved)."""
    if vm.isolation_response == ha.IsolationResponse.CLUSTER_ISOLATION_RESPONSE:
        return str(inv.config.isolation_response)
    return str(vm.isolation_response)


def _memory_demand(vm: ha.Vm) -> int:
    """What a VM reserves in memory on its host: reservation plus overhead."""
    return vm.memory_reservation_mb + vm.memory_overhead_mb


def _is_ft(vm: ha.Vm) -> bool:
    return vm.role in (ha.VmRole.FT_PRIMARY, ha.VmRole.FT_SECONDARY)


def _is_usable(host: ha.Host) -> bool:
    return host.state == ha.ConnectionState.CONNECTED and not host.maintenance and not host.standby


def _is_counted(host: ha.Host, counts_failed: bool) -> bool:
    """R-AC-0: admission control counts hosts not in maintenance or standby and not
    disconnected; a not-responding host still in the cluster too, unless
    ``engine.admissionCountsFailedHosts`` is false."""
    if host.maintenance or host.standby or host.state == ha.ConnectionState.DISCONNECTED:
        return False
    return host.state == ha.ConnectionState.CONNECTED or counts_failed


def _takes_restarts(host: ha.Host) -> bool:
    """R-PLACE-2: a usable host whose required agent VMs run (``agent_vms_ready``)."""
    return _is_usable(host) and host.agent_vms_ready


def _is_restarted(inv: ha.Inventory, vm: ha.Vm, host_failed: bool) -> bool:
    """Which VMs (rule book, docs/rules/placement.rst): on a failed host the protected powered-on VMs, on an isolated host
    those the isolation response powers off; never ``disabled`` or cleanly powered-off ones;
    nothing at all with host monitoring off."""
    if vm.clean_power_off or vm.power_state != ha.PowerState.POWERED_ON or vm.protected is False:
        return False
    if _restart_priority(inv, vm) == "disabled" or not inv.config.host_monitoring:
        return False
    return host_failed or _isolation_response(inv, vm) != "none"


# ---------------------------------------------------------------------------------- order


def restart_order_py(inv: ha.Inventory, vms: Iterable[ha.Vm], depends_on: dict[str, list[str]]) -> list[ha.Vm]:
    """R-PLACE-1: by class, then larger memory (reservation + overhead), larger CPU reservation,
    smaller id; then each VM moved after the VMs of ``vms`` it depends on (``depends_on``: VM id
    → ids it depends on, already empty before 6.5)."""

    def sort_key(vm: ha.Vm) -> tuple[int, int, int, str]:
        if vm.role == ha.VmRole.AGENT:
            rank = 0
        elif vm.role == ha.VmRole.FT_SECONDARY:
            rank = 1
        else:
            rank = _PRIORITY_RANK[_restart_priority(inv, vm)]
        return (rank, -_memory_demand(vm), -vm.cpu_reservation_mhz, vm.id)

    order = sorted(vms, key=sort_key)
    if not depends_on:
        return order
    return _respect_dependencies(order, depends_on)


def _respect_dependencies(base: list[ha.Vm], depends_on: dict[str, list[str]]) -> list[ha.Vm]:
    """Stable topological pass: always emit the earliest VM (in the base order) whose
    dependencies in this set have all been emitted. Only dependencies on VMs of the set count
    (a running dependency is already "ready")."""
    position = {vm.id: i for i, vm in enumerate(base)}
    waiting_on = [0] * len(base)
    dependents: list[list[int]] = [[] for _ in base]
    for i, vm in enumerate(base):
        prerequisites = {position[d] for d in depends_on.get(vm.id, ()) if d in position}
        waiting_on[i] = len(prerequisites)
        for p in prerequisites:
            dependents[p].append(i)

    ready = [i for i in range(len(base)) if waiting_on[i] == 0]  # ascending: already a heap
    emitted = [False] * len(base)
    order: list[ha.Vm] = []
    while len(order) < len(base):
        # Only a dependency cycle empties the heap early: break it at the earliest VM left.
        i = heapq.heappop(ready) if ready else emitted.index(False)
        if emitted[i]:
            continue
        emitted[i] = True
        order.append(base[i])
        for j in dependents[i]:
            waiting_on[j] = max(0, waiting_on[j] - 1)
            if waiting_on[j] == 0 and not emitted[j]:
                heapq.heappush(ready, j)
    return order


# ------------------------------------------------------------------------------ placement


@dataclass
class _VmRules:
    """The enabled rules of the inventory that matter to placement, by VM id."""

    must: dict[str, list[frozenset[str]]]
    must_not: dict[str, list[frozenset[str]]]
    should: dict[str, list[frozenset[str]]]
    should_not: dict[str, list[frozenset[str]]]
    anti_affinity: dict[str, list[frozenset[str]]]
    depends_on: dict[str, list[str]]

    @classmethod
    def of(cls, inv: ha.Inventory, respect_anti_affinity: bool, respect_soft_rules: bool) -> _VmRules:
        rules = cls(defaultdict(list), defaultdict(list), defaultdict(list), defaultdict(list), defaultdict(list),
                    defaultdict(list))
        host_rules = {
            ha.RuleKind.VM_HOST_MUST: rules.must,
            ha.RuleKind.VM_HOST_MUST_NOT: rules.must_not,
        }
        if respect_soft_rules:
            host_rules[ha.RuleKind.VM_HOST_SHOULD] = rules.should
            host_rules[ha.RuleKind.VM_HOST_SHOULD_NOT] = rules.should_not
        dependencies_apply = _version_at_least(inv.config.version, 6, 5)
        for rule in inv.rules:
            if not rule.enabled:
                continue
            if rule.type in host_rules:
                hosts = frozenset(rule.hosts)
                for vm in rule.vms:
                    host_rules[rule.type][vm].append(hosts)
            elif rule.type == ha.RuleKind.VM_ANTI_AFFINITY and respect_anti_affinity:
                members = frozenset(rule.vms)
                for vm in rule.vms:
                    rules.anti_affinity[vm].append(members)
            elif rule.type == ha.RuleKind.VM_DEPENDS_ON and dependencies_apply and rule.vm is not None:
                rules.depends_on[rule.vm].extend(rule.depends_on)
            # vmAffinity is not applied by HA; soft rules and anti-affinity only when respected.
        return rules


def plan_failover_py(
    inv: ha.Inventory, failed_hosts: Iterable[str], isolated_hosts: Iterable[str] = ()
) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """Where every VM of ``failed_hosts`` (and those the isolation response powers off on
    ``isolated_hosts``) restarts: ``(placements, unplaced)``, both in restart order, as
    ``(vm id, host id)`` and ``(vm id, reason)``. A host in both lists counts as failed."""
    config = inv.config
    options = inv.options
    hosts = sorted(inv.hosts, key=lambda h: h.id)  # scan order, and the last tie-break
    failed = set(failed_hosts)
    isolated = set(isolated_hosts) - failed
    known = {h.id for h in hosts}
    for host_id in sorted(failed | isolated):
        if host_id not in known:
            raise KeyError(f"unknown host {host_id!r}")

    # Which VMs: those of the failed and isolated hosts that HA restarts.
    to_restart: list[ha.Vm] = []
    for vm in inv.vms:
        if vm.host in failed or vm.host in isolated:
            if _is_restarted(inv, vm, host_failed=vm.host in failed):
                to_restart.append(vm)
    restarting = {vm.id for vm in to_restart}

    # The cluster as placement sees it: what the powered-on VMs that keep running reserve, how
    # many FT VMs each host runs, which VMs run where (anti-affinity).
    reserved_cpu = {h.id: 0 for h in hosts}
    reserved_mem = {h.id: 0 for h in hosts}
    ft_vms = {h.id: 0 for h in hosts}
    running: dict[str, set[str]] = {h.id: set() for h in hosts}
    for vm in inv.vms:
        if vm.host is None or vm.power_state != ha.PowerState.POWERED_ON or vm.id in restarting:
            continue
        reserved_cpu[vm.host] += vm.cpu_reservation_mhz
        reserved_mem[vm.host] += _memory_demand(vm)
        ft_vms[vm.host] += _is_ft(vm)
        running[vm.host].add(vm.id)

    rules = _VmRules.of(inv, options["das.respectVmVmAntiAffinityRules"], options["das.respectVmHostSoftAffinityRules"])
    max_ft_vms: int = options["das.maxFtVmsPerHost"]  # 0: no limit
    failover_hosts: set[str] = set()
    if config.admission_control.policy == ha.AdmissionPolicy.FAILOVER_HOSTS:
        failover_hosts = set(config.admission_control.hosts or ())
    usable = {h.id: _takes_restarts(h) and h.id not in failed and h.id not in isolated for h in hosts}
    host_datastores = {h.id: set(h.datastores) for h in hosts}
    host_networks = {h.id: None if h.networks is None else set(h.networks) for h in hosts}

    capacity = {h.id: (h.cpu_mhz, h.memory_mb) for h in hosts}

    def unreserved_cpu(host: str) -> int:
        return max(0, capacity[host][0] - reserved_cpu[host])

    def unreserved_mem(host: str) -> int:
        return max(0, capacity[host][1] - reserved_mem[host])

    def refusal_stage(vm: ha.Vm, host: str) -> int | None:
        """R-PLACE-2 for one host: the stage of the first check it fails, None when feasible."""
        if not usable[host]:
            return _UNAVAILABLE
        if not all(ds in host_datastores[host] for ds in vm.datastores or (vm.home_datastore,)):
            return _DATASTORE
        networks = host_networks[host]
        if networks is not None and not all(net in networks for net in vm.networks):
            return _NETWORK
        if any(host not in rule_hosts for rule_hosts in rules.must.get(vm.id, ())):
            return _VM_HOST_RULE
        if any(host in rule_hosts for rule_hosts in rules.must_not.get(vm.id, ())):
            return _VM_HOST_RULE
        if any(not members.isdisjoint(running[host]) for members in rules.anti_affinity.get(vm.id, ())):
            return _ANTI_AFFINITY
        if _is_ft(vm) and max_ft_vms > 0 and ft_vms[host] >= max_ft_vms:
            return _FT_LIMIT
        if unreserved_cpu(host) < vm.cpu_reservation_mhz or unreserved_mem(host) < _memory_demand(vm):
            return _CAPACITY
        return None

    def soft_rule_violations(vm: ha.Vm, host: str) -> int:
        violated = sum(host not in rule_hosts for rule_hosts in rules.should.get(vm.id, ()))
        return violated + sum(host in rule_hosts for rule_hosts in rules.should_not.get(vm.id, ()))

    placements: list[tuple[str, str]] = []
    unplaced: list[tuple[str, str]] = []
    for vm in restart_order_py(inv, to_restart, rules.depends_on):
        # R-PLACE-3: failover hosts first, then fewer soft-rule violations, then most unreserved
        # memory after placement, then most unreserved CPU, then the smaller host id.
        candidates: list[tuple[bool, int, int, int, str]] = []
        deepest = _UNAVAILABLE
        for host in hosts:
            stage = refusal_stage(vm, host.id)
            if stage is not None:
                deepest = max(deepest, stage)
                continue
            candidates.append((
                host.id not in failover_hosts,
                soft_rule_violations(vm, host.id),
                -(unreserved_mem(host.id) - _memory_demand(vm)),
                -(unreserved_cpu(host.id) - vm.cpu_reservation_mhz),
                host.id,
            ))
        if not candidates:
            unplaced.append((vm.id, _REASON_OF_STAGE[deepest]))
            continue
        chosen = min(candidates)[-1]
        reserved_cpu[chosen] += vm.cpu_reservation_mhz
        reserved_mem[chosen] += _memory_demand(vm)
        ft_vms[chosen] += _is_ft(vm)
        running[chosen].add(vm.id)
        placements.append((vm.id, chosen))
    return placements, unplaced


# --------------------------------------------------------------------------------- sweeps


class ScenarioResultPy(NamedTuple):
    """One what-if scenario: these hosts fail together."""

    failed_hosts: tuple[str, ...]
    restarted: int
    unplaced: int
    unplaced_vms: tuple[str, ...]


def sweep_py(inv: ha.Inventory, max_failures: int, hosts: Sequence[str] | None = None) -> list[ScenarioResultPy]:
    """Every combination of 1 … ``max_failures`` failing hosts among ``hosts`` (default: every
    host), each planned from scratch with :func:`plan_failover_py`. Scenarios by size, then in
    the lexicographic order of ``itertools.combinations`` over the hosts sorted by id."""
    candidates = sorted(hosts if hosts is not None else [h.id for h in inv.hosts])
    results: list[ScenarioResultPy] = []
    for k in range(1, max_failures + 1):
        for failed in itertools.combinations(candidates, k):
            placements, unplaced = plan_failover_py(inv, failed)
            results.append(ScenarioResultPy(failed, len(placements), len(unplaced), tuple(vm for vm, _ in unplaced)))
    return results


# ------------------------------------------------------------------------ slot admission


@dataclass(frozen=True)
class SlotReportPy:
    """The R-AC-SLOT figures vCenter shows for the slot policy."""

    slot_cpu_mhz: int
    slot_memory_mb: int
    host_slots: dict[str, int]
    total_slots: int
    used_slots: int
    available_slots: int
    current_failover_level: int
    overcommitted: bool
    satisfied: bool


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def admission_slot_py(inv: ha.Inventory, failed_hosts: Iterable[str] = ()) -> SlotReportPy:
    """R-AC-SLOT, with the engine decisions documented in ``src/admission.rs``: counted hosts
    per R-AC-0 (not in maintenance or standby, not disconnected, not failed here); counted VMs are the powered-on
    ones wherever they run; a fixed slot replaces the computed size, its floors and caps; a slot
    dimension is at least 1; the lost hosts are the ones with most slots; an overcommitted
    cluster is never satisfied. ``host_failures`` is that of a slot policy, else 0."""
    options = inv.options
    policy = inv.config.admission_control
    failed = set(failed_hosts)
    cpu_min: int = options["das.vmCpuMinMHz"]
    counts_failed = bool(options.get("engine.admissionCountsFailedHosts", True))
    mem_min: int = options["das.vmMemoryMinMB"]

    demands = [
        (max(vm.cpu_reservation_mhz, cpu_min), _memory_demand(vm))
        for vm in inv.vms if vm.power_state == ha.PowerState.POWERED_ON
    ]
    is_slot_policy = policy.policy == ha.AdmissionPolicy.SLOT
    fixed_cpu = policy.slot_cpu_mhz if is_slot_policy else None
    fixed_mem = policy.slot_memory_mb if is_slot_policy else None
    if fixed_cpu is not None:
        slot_cpu = fixed_cpu
    else:
        slot_cpu = max(max((cpu for cpu, _ in demands), default=0), cpu_min)
        if options["das.slotCpuInMHz"] is not None:
            slot_cpu = min(slot_cpu, options["das.slotCpuInMHz"])
    if fixed_mem is not None:
        slot_mem = fixed_mem
    else:
        slot_mem = max(max((mem for _, mem in demands), default=0), mem_min)
        if options["das.slotMemInMB"] is not None:
            slot_mem = min(slot_mem, options["das.slotMemInMB"])
    slot_cpu, slot_mem = max(slot_cpu, 1), max(slot_mem, 1)

    host_slots = {
        h.id: min(h.cpu_mhz // slot_cpu, h.memory_mb // slot_mem)
        for h in inv.hosts if _is_counted(h, counts_failed) and h.id not in failed
    }
    used = sum(max(_ceil_div(cpu, slot_cpu), _ceil_div(mem, slot_mem), 1) for cpu, mem in demands)
    largest_first = sorted(host_slots.values(), reverse=True)
    total = sum(largest_first)

    overcommitted = total < used
    level = 0
    if not overcommitted:
        for k in range(len(largest_first)):
            if total - sum(largest_first[:k]) >= used:
                level = k
            else:
                break
    host_failures = (policy.host_failures or 0) if is_slot_policy else 0
    available = max(0, total - sum(largest_first[:host_failures]) - used)
    return SlotReportPy(
        slot_cpu_mhz=slot_cpu,
        slot_memory_mb=slot_mem,
        host_slots=host_slots,
        total_slots=total,
        used_slots=used,
        available_slots=available,
        current_failover_level=level,
        overcommitted=overcommitted,
        satisfied=not overcommitted and level >= host_failures,
    )
