"""The HA report: one page on a cluster's HA posture, as text, JSON or a self-contained HTML page.

>>> from hapolicy.report import build_report
>>> r = build_report(ha.Inventory.load("examples/lab.json"), source="examples/lab.json")  # doctest: +SKIP
>>> r.holds                   # every promise holds?                                       # doctest: +SKIP
False
>>> print(r.text())                                                                        # doctest: +SKIP
>>> Path("report.html").write_text(r.html())                                               # doctest: +SKIP

The report states three promises and whether each holds (R-AC, R-PLACE, R-HBDS):

- *admission control*: the configured policy is satisfied (vCenter's figures);
- *host failures*: every combination of up to ``failures`` failed hosts restarts every VM HA
  attempts (a sweep through the placement engine);
- *heartbeat datastores*: every host has the heartbeat datastores it needs;
- with fault domains or sites (R-DOMAIN), *fault-domain failures* / *site failures*: the
  failure of any one fault domain / site restarts every VM HA attempts (a unit sweep), in a
  section of its own (:data:`DOMAIN_SECTION`) that also compares what admission control reserves
  with the largest unit's share of the capacity and lists verified remedies where it fails.

When the admission-control policy and the sweep disagree, the report says why: which VMs set
the slot, what the percentage policy would say, what the cluster really survives. It also shows
capacity per host, the worst failure combinations with the VMs they strand and why, the
adapter's assumptions (RVTools, vCenter) and the remedies with their before/after figures.

Every section is in all three forms (``text()``, ``to_dict()``, ``html()``), in the order of
:data:`SECTIONS`. ``python -m hapolicy.report INV --html FILE [--screenshot PNG]`` writes the
page (and a Chromium screenshot of it, as in the README).
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import importlib
import re
from collections.abc import Callable, Mapping, Sequence, Set
from typing import Any

from . import __version__
from . import _html
from .admission import AdmissionReport, HeartbeatSelection, admission_control, heartbeat_datastores
from .election import elect
from .enums import AdmissionPolicy, PowerState
from .errors import HaPolicyError
from .inventory import AdmissionControlConfig, Inventory
from .placement import FailoverPlan, plan_failover
from .plot import _loads
from .sweep import SweepResult, sweep

__all__ = ["DOMAIN_SECTION", "PAIR_SWEEP_MAX_HOSTS", "SCHEMA_VERSION", "SECTIONS", "Report", "build_report",
           "default_failures"]

#: Version of the JSON document's shape (``to_dict()["schema_version"]``).
SCHEMA_VERSION = 1

#: Up to this many usable hosts the report sweeps every pair of failures by default; above it,
#: single failures only (a pair sweep of 400 hosts is 80,200 plans).
PAIR_SWEEP_MAX_HOSTS = 400

#: The report's sections in order: (key in ``to_dict()``, title). Text and HTML show them in
#: this order under these titles.
SECTIONS: tuple[tuple[str, str], ...] = (
    ("verdicts", "Verdicts"),
    ("cluster", "Cluster"),
    ("admission_control", "Admission control (R-AC)"),
    ("capacity", "Capacity per host"),
    ("host_failures", "Host failures (R-PLACE)"),
    ("heartbeat_datastores", "Heartbeat datastores (R-HBDS)"),
    ("election", "Master election (R-ELECT)"),
    ("assumptions", "Assumptions"),
    ("remedies", "Remedies"),
    ("warnings", "Inventory warnings"),
)

#: The failure-domain section (R-DOMAIN), after "host_failures" — only in reports of inventories
#: whose hosts have a ``fault_domain`` or a ``site``.
DOMAIN_SECTION: tuple[str, str] = ("failure_domains", "Fault domains and sites (R-DOMAIN)")

_WORST_SHOWN = 10        # failure combinations listed
_VMS_SHOWN = 10          # stranded VMs listed per combination
_REMEDIES_SHOWN = 5
_TABLE_ROWS = 200        # hosts listed in per-host tables

Labeler = Callable[[str], str]


# ---------------------------------------------------------------------------------------- names


def labeler(inv: Inventory | None) -> Labeler:
    """``id -> "id (name)"``: :meth:`Inventory.label` when the inventory has it, else the same
    from the hosts', VMs' and datastores' names; the id itself without an inventory."""
    if inv is None:
        return str
    label = getattr(inv, "label", None)
    if callable(label):
        def by_inventory(i: str) -> str:
            return str(label(i))
        return by_inventory
    names: dict[str, str] = {}
    for group in (inv.hosts, inv.vms, inv.datastores):
        for o in group:
            if o.name and o.name != o.id:
                names[o.id] = o.name
    return lambda i: f"{i} ({names[i]})" if i in names else i


def relabeler(inv: Inventory | None) -> Callable[[str], str]:
    """A function putting names beside the inventory's ids in a message of the core."""
    if inv is None:
        return str
    lab = labeler(inv)
    ids = {*inv._core.host_ids(), *inv._core.vm_ids(), *inv._core.datastore_ids()}
    return lambda text: _relabel(text, ids, lab)


# A word of a message: anything between spaces, quotes, brackets and commas.
_TOKEN = re.compile(r"[^\s,;'\"()\[\]{}]+")


def _relabel(text: str, ids: Set[str], lab: Labeler) -> str:
    """Puts names beside the inventory ids in a message of the core (ids already followed by
    a name are left alone). Linear in the message, whatever the inventory's size."""
    out: list[str] = []
    last = 0
    for m in _TOKEN.finditer(text):
        word = m.group(0)
        core = word.rstrip(".:")  # "… on host-21." / "host-21:"
        if core in ids and not text.startswith(" (", m.start() + len(core)):
            named = lab(core)
            if named != core:
                out.append(text[last:m.start()])
                out.append(named)
                last = m.start() + len(core)
    out.append(text[last:])
    return "".join(out)


# ---------------------------------------------------------------------------------------- public


def default_failures(inv: Inventory) -> int:
    """2 when the cluster has at most :data:`PAIR_SWEEP_MAX_HOSTS` usable hosts (connected, not
    in maintenance or standby), else 1; at most one less than the usable hosts (losing them
    all strands everything), but 1 for a single usable host and 0 without one."""
    n = len(_usable_hosts(inv))
    if n == 0:
        return 0
    return max(1, min(2 if n <= PAIR_SWEEP_MAX_HOSTS else 1, n - 1))


def build_report(inv: Inventory, *, failures: int | None = None, source: str | None = None) -> Report:
    """Everything the report says about ``inv``. ``failures``: how many simultaneous host
    failures the sweep checks (default :func:`default_failures`); when given, surviving that
    many is a promise of its own. ``source``: where the inventory came from (default
    ``inv.source``)."""
    if failures is not None:
        if isinstance(failures, bool) or not isinstance(failures, int) or failures < 0:
            raise ValueError(f"failures must be a whole number ≥ 0, got {failures!r}")
    return Report(_Builder(inv, failures, source).build())


class Report:
    """A built report. ``text()``, ``to_dict()`` (JSON-able, with ``schema_version``),
    ``html()`` (a complete page), ``holds`` (every promise holds) and rich output in Jupyter."""

    __slots__ = ("_data",)

    def __init__(self, data: dict[str, Any]) -> None:
        self._data = data

    @property
    def holds(self) -> bool:
        """True when no promise fails (warnings do not count)."""
        return bool(self._data["holds"])

    @property
    def verdicts(self) -> list[dict[str, Any]]:
        """One per promise: ``promise`` (``admission_control``, ``host_failures``,
        ``heartbeat_datastores``; with fault domains or sites also ``fault_domain_failures`` /
        ``site_failures``), ``title``, ``status`` (``ok``, ``warn``, ``fail``), ``summary``."""
        return [dict(v) for v in self._data["verdicts"]]

    def to_dict(self) -> dict[str, Any]:
        """The report as JSON-able data: ``schema_version``, ``generated_at``,
        ``hapolicy_version``, ``source``, ``failures``, ``holds``, ``sections`` (id and title, in
        order) and one key per section of :data:`SECTIONS` (plus ``failure_domains``,
        :data:`DOMAIN_SECTION`, when the inventory has fault domains or sites)."""
        import copy

        return copy.deepcopy(self._data)

    def html(self) -> str:
        """One self-contained HTML page: inline CSS and SVG, no script, no network."""
        return _html.page(self._data)

    def _repr_html_(self) -> str:
        return self.html_fragment()

    def html_fragment(self) -> str:
        """The page's body (every section) for embedding, e.g. in a notebook."""
        return _html.fragment("report", self._data, chart=_html.capacity_chart(self._data["capacity"]))

    def text(self) -> str:
        """The report as plain text, one ``== Title`` block per section (the CLI's output)."""
        return _text(self._data)

    def __str__(self) -> str:
        return self.text()

    def __repr__(self) -> str:
        bad = [v["promise"] for v in self._data["verdicts"] if v["status"] == "fail"]
        return f"Report(cluster={self._data['cluster']['name']!r}, holds={self.holds}, failing={bad})"


# ---------------------------------------------------------------------------------------- building


def _usable_hosts(inv: Inventory) -> list[str]:
    return [h.id for h in inv.hosts if str(h.state) == "connected" and not h.maintenance and not h.standby]


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


class _Builder:
    def __init__(self, inv: Inventory, failures: int | None, source: str | None) -> None:
        self.inv = inv
        self.lab = labeler(inv)
        self.explicit_failures = failures is not None
        usable = _usable_hosts(inv)
        self.k = default_failures(inv) if failures is None else min(failures, len(usable))
        self.requested = failures
        self.source = source if source is not None else getattr(inv, "source", None)
        self.relabel = relabeler(inv)

    def build(self) -> dict[str, Any]:
        inv, lab = self.inv, self.lab
        ac = admission_control(inv)
        hb = heartbeat_datastores(inv)
        sw = sweep(inv, self.k) if self.k else None
        data: dict[str, Any] = {
            "schema_version": SCHEMA_VERSION,
            "generated_at": _now(),
            "hapolicy_version": __version__,
            "source": None if self.source is None else str(self.source),
            "failures": self.k,
            "sections": [{"id": key, "title": title} for key, title in _sections(inv)],
        }
        data["cluster"] = self.cluster()
        data["admission_control"] = admission_section(ac, lab, self.why(ac, sw))
        data["host_failures"] = self.host_failures(sw)
        if _has_domains(inv):
            data["failure_domains"] = domain_section(inv, ac, lab, self.relabel)
        data["capacity"] = self.capacity(sw)
        data["heartbeat_datastores"] = self.heartbeat(hb)
        e = elect(inv)
        data["election"] = {
            "master": e.master, "master_label": None if e.master is None else lab(e.master),
            "ranking": [{"rank": i + 1, "host": c.host, "label": lab(c.host), "goodness": c.goodness,
                         "datastores": c.datastores} for i, c in enumerate(e.candidates)],
            "excluded": [{"host": h, "label": lab(h), "reason": why} for h, why in e.excluded],
        }
        data["assumptions"] = [{"path": str(getattr(a, "path", "")), "message": str(getattr(a, "message", a))}
                               for a in getattr(inv, "assumptions", ()) or ()]
        data["warnings"] = [{"path": p, "message": m} for p, m in inv.warnings]
        data["verdicts"] = self.verdicts(ac, sw, data)
        for u in (data.get("failure_domains") or {}).get("units", ()):
            data["verdicts"].append(_verdict(u["unit"] + "_failures", u["title"], u["status"], u["summary"]))
        data["holds"] = all(v["status"] != "fail" for v in data["verdicts"])
        data["remedies"] = self.remedies(data["holds"])
        return data

    # ------------------------------------------------------------------ cluster
    def cluster(self) -> dict[str, Any]:
        inv = self.inv
        s = inv.summary()
        c = inv.config
        acc = c.admission_control
        return {
            "name": c.name, "version": str(c.version), "hosts": s["hosts"], "usable_hosts": len(_usable_hosts(inv)),
            "vms": s["vms"], "powered_on_vms": s["powered_on_vms"], "datastores": s["datastores"],
            "rules": s["rules"], "host_monitoring": c.host_monitoring,
            "admission_control": acc.to_dict(), "admission_control_text": _policy_text(acc, self.lab),
            "isolation_response": str(c.isolation_response), "restart_priority": str(c.restart_priority),
        }

    # ------------------------------------------------------------------ admission: why
    def promised_failures(self, ac: AdmissionReport) -> int:
        """How many host failures the configured policy promises to absorb."""
        if ac.configured_host_failures is not None:
            return ac.configured_host_failures
        if ac.policy == AdmissionPolicy.FAILOVER_HOSTS:
            return len(ac.failover_hosts)
        return 1

    def why(self, ac: AdmissionReport, sw: SweepResult | None) -> dict[str, Any]:
        lab = self.lab
        h = self.promised_failures(ac)
        sentences: list[str] = []
        why: dict[str, Any] = {"promised_failures": h, "slot": None, "percentage_policy": None}
        if ac.policy == AdmissionPolicy.SLOT and ac.slot_cpu_mhz is not None and ac.slot_memory_mb is not None:
            slot = self.slot_why(ac)
            why["slot"] = slot
            sentences += slot["sentences"]
        elif ac.policy == AdmissionPolicy.PERCENTAGE and ac.cpu_failover_percent is not None:
            sentences.append(
                f"The percentage policy compares the capacity left after reservations with the share set aside: "
                f"CPU {ac.cpu_failover_percent:.1f} % free (needs {ac.configured_cpu_percent or 0:.1f} %), "
                f"memory {(ac.memory_failover_percent or 0):.1f} % free (needs {ac.configured_memory_percent or 0:.1f} %).")
        if ac.policy != AdmissionPolicy.PERCENTAGE:
            alt = self.percentage_alternative(h, ac)
            why["percentage_policy"] = alt
            sentences.append(alt["sentence"])
        # what the cluster really survives
        if sw is None:
            why["sweep"] = None
            sentences.append("No usable host: the sweep had nothing to fail.")
            survives: bool | None = None
        else:
            tol = sw.max_failures_tolerated
            why["sweep"] = {"failures": sw.max_failures, "tolerated": tol, "scenarios": sw.scenarios}
            if tol is None:
                survives = None
                sentences.append("The sweep was incomplete: what the cluster survives is undecided.")
            elif tol >= sw.max_failures:
                survives = True if sw.max_failures >= h else None
                sentences.append(
                    f"Restarting VMs by their actual reservations (R-PLACE), every combination of up to "
                    f"{sw.max_failures} failed host{'s' if sw.max_failures != 1 else ''} restarts every VM HA attempts "
                    f"({sw.scenarios:,} combinations checked): the cluster really survives "
                    f"{'at least ' if tol >= sw.max_failures else ''}{tol} host failure{'s' if tol != 1 else ''}.")
            else:
                survives = tol >= h
                first = next((r for r in sw if r.unplaced and len(r.failed_hosts) == tol + 1), None)
                example = ""
                if first is not None:
                    counts: dict[str, int] = {}
                    for reason in first.reasons:
                        counts[str(reason)] = counts.get(str(reason), 0) + 1
                    why_not = "; ".join(f"{_REASONS.get(r, r)} ({n} VM{'s' if n != 1 else ''})" for r, n in
                                        sorted(counts.items(), key=lambda x: -x[1]))
                    example = (f" E.g. {' + '.join(lab(x) for x in first.failed_hosts)} failing strands "
                               f"{first.unplaced} VM{'s' if first.unplaced != 1 else ''}: {why_not}.")
                sentences.append(
                    f"Restarting VMs by their actual reservations (R-PLACE), the cluster survives {tol} host "
                    f"failure{'s' if tol != 1 else ''}: some {tol + 1}-host failure leaves VMs unplaced "
                    f"(see Host failures).{example}")
        policy_ok = ac.satisfied if ac.policy != AdmissionPolicy.DISABLED else None
        disagree = policy_ok is not None and survives is not None and policy_ok != survives
        why["disagree"] = disagree
        if disagree and not ac.satisfied:
            sentences.append(
                f"So both are true: the {ac.policy.value} policy counts capacity pessimistically and refuses, while "
                f"the VMs would in fact restart after {h} host failure{'s' if h != 1 else ''}.")
        elif disagree:
            sentences.append(
                "So both are true: admission control counts capacity in aggregate and is satisfied, while placement "
                "needs each VM to fit on one host with its datastores and rules, and some do not.")
        why["sentences"] = sentences
        return why

    def slot_why(self, ac: AdmissionReport) -> dict[str, Any]:
        """Which VMs set the slot (R-AC-SLOT): the largest CPU reservation (at least
        ``das.vmCpuMinMHz``) and the largest memory reservation + overhead (at least
        ``das.vmMemoryMinMB``) among the powered-on VMs, unless fixed or capped."""
        inv, lab = self.inv, self.lab
        opts = inv.options
        cpu_min = int(opts.get("das.vmCpuMinMHz") or 0)
        mem_min = int(opts.get("das.vmMemoryMinMB") or 0)
        cpu_cap, mem_cap = opts.get("das.slotCpuInMHz"), opts.get("das.slotMemInMB")
        cfg = inv.config.admission_control
        vms = [v for v in inv.vms if v.power_state == PowerState.POWERED_ON]
        cpu_of = {v.id: max(v.cpu_reservation_mhz, cpu_min) for v in vms}
        mem_of = {v.id: v.memory_reservation_mb + v.memory_overhead_mb for v in vms}
        slot_cpu, slot_mem = ac.slot_cpu_mhz or 1, ac.slot_memory_mb or 1
        sentences: list[str] = []

        def side(kind: str, fixed: int | None, cap: Any, floor: int, floor_opt: str, cap_opt: str,
                 of: dict[str, int], slot: int, unit: str) -> dict[str, Any]:
            largest = max(of.values(), default=0)
            setters = [v.id for v in vms if of[v.id] == slot]
            if fixed is not None:
                return {"size": slot, "source": "fixed", "set_by": [],
                        "sentence": f"the {kind} slot is fixed by the policy at {slot:,} {unit}"}
            if cap is not None and max(largest, floor) > int(cap):
                return {"size": slot, "source": "cap", "set_by": [],
                        "sentence": f"the {kind} slot is capped by {cap_opt} at {slot:,} {unit} "
                                    f"(the largest VM needs {largest:,} {unit})"}
            if largest <= floor or not setters:
                return {"size": slot, "source": "minimum", "set_by": [],
                        "sentence": f"the {kind} slot is the minimum {floor_opt} = {slot:,} {unit} "
                                    f"(no VM reserves more)"}
            return {"size": slot, "source": "largest", "set_by": setters,
                    "sentence": f"the {kind} slot is {slot:,} {unit}, the largest {kind} reservation"
                                f"{' + overhead' if kind == 'memory' else ''}, set by "
                                f"{_join([lab(i) for i in setters[:6]])}{' and others' if len(setters) > 6 else ''}"}

        cpu = side("CPU", cfg.slot_cpu_mhz, cpu_cap, cpu_min, "das.vmCpuMinMHz", "das.slotCpuInMHz", cpu_of, slot_cpu,
                   "MHz")
        mem = side("memory", cfg.slot_memory_mb, mem_cap, mem_min, "das.vmMemoryMinMB", "das.slotMemInMB", mem_of,
                   slot_mem, "MB")
        setters = list(dict.fromkeys([*cpu["set_by"], *mem["set_by"]]))
        details = [
            {"vm": i, "label": lab(i), "cpu_reservation_mhz": inv_vm.cpu_reservation_mhz,
             "memory_reservation_mb": inv_vm.memory_reservation_mb, "memory_overhead_mb": inv_vm.memory_overhead_mb,
             "slot_cpu_mhz": cpu_of[i], "slot_memory_mb": mem_of[i]}
            for i in setters for inv_vm in [next(v for v in vms if v.id == i)]
        ]
        sentences.append(f"A slot is one VM's worst case: {cpu['sentence']}; {mem['sentence']}.")
        for d in details[:6]:
            if d["slot_memory_mb"] == slot_mem and mem["source"] == "largest":
                sentences.append(f"{d['label']} reserves {d['memory_reservation_mb']:,} MB + "
                                 f"{d['memory_overhead_mb']:,} MB overhead = {d['slot_memory_mb']:,} MB.")
        small = sum(1 for v in vms if mem_of[v.id] * 10 < slot_mem and cpu_of[v.id] * 10 < slot_cpu)
        if ac.total_slots is not None and ac.used_slots is not None:
            host_slots = ", ".join(f"{lab(h)} {n}" for h, n in list(ac.host_slots.items())[:8])
            more = ", …" if len(ac.host_slots) > 8 else ""
            sentences.append(
                f"Every powered-on VM takes at least one whole slot"
                f"{f' ({small} of the {len(vms)} reserve less than a tenth of one)' if small else ''}: "
                f"{len(vms):,} VMs need {ac.used_slots:,} slots; the {len(ac.counted_hosts)} counted hosts hold "
                f"{ac.total_slots:,} ({host_slots}{more}), so current failover level is "
                f"{ac.current_failover_level if ac.current_failover_level is not None else '–'} "
                f"(configured {ac.configured_host_failures}).")
        multi = [(v.id, max(-(-cpu_of[v.id] // slot_cpu), -(-mem_of[v.id] // slot_mem), 1)) for v in vms]
        multi = [(i, n) for i, n in multi if n > 1]
        if multi:
            sentences.append("VMs bigger than a slot take several: "
                             + _join([f"{lab(i)} {n} slots" for i, n in multi[:6]])
                             + (" and others" if len(multi) > 6 else "") + ".")
        return {"cpu": cpu, "memory": mem, "set_by": details, "multi_slot_vms": [{"vm": i, "label": lab(i), "slots": n}
                                                                                  for i, n in multi],
                "sentences": sentences}

    def percentage_alternative(self, h: int, ac: AdmissionReport) -> dict[str, Any]:
        """What the percentage policy with ``h`` host failures would report for this cluster
        (``ac``: its admission control as configured, for the counted hosts)."""
        inv = self.inv
        h = max(h, 1)

        def with_policy(policy: AdmissionControlConfig) -> AdmissionReport:
            return admission_control(inv.replace(config=dataclasses.replace(inv.config, admission_control=policy)))

        try:
            alt = with_policy(AdmissionControlConfig(AdmissionPolicy.PERCENTAGE, host_failures=h))
        except HaPolicyError:
            # Before 6.5 percentages are not computed from a failure count: give the same
            # share explicitly, h of the N counted hosts (R-AC-PCT).
            n = len(ac.counted_hosts)
            if n < 2:
                return {"available": False, "satisfied": None,
                        "sentence": "The percentage policy needs at least 2 counted hosts."}
            share = min(100.0, 100.0 * h / n)
            try:
                alt = with_policy(AdmissionControlConfig(AdmissionPolicy.PERCENTAGE, cpu_percent=share,
                                                         memory_percent=share))
            except HaPolicyError as exc:
                return {"available": False, "satisfied": None,
                        "sentence": f"The percentage policy cannot be computed for this cluster: {exc}"}
        verdict = "satisfied" if alt.satisfied else "NOT satisfied"
        sentence = (
            f"The percentage policy for {h} host failure{'s' if h != 1 else ''} would set aside "
            f"{alt.configured_cpu_percent or 0:.1f} % of CPU and {alt.configured_memory_percent or 0:.1f} % of memory; "
            f"after reservations the cluster has {alt.cpu_failover_percent or 0:.1f} % CPU and "
            f"{alt.memory_failover_percent or 0:.1f} % memory free: {verdict}.")
        return {"available": True, "satisfied": alt.satisfied,
                "configured_cpu_percent": alt.configured_cpu_percent,
                "configured_memory_percent": alt.configured_memory_percent,
                "cpu_failover_percent": alt.cpu_failover_percent,
                "memory_failover_percent": alt.memory_failover_percent, "sentence": sentence}

    # ------------------------------------------------------------------ host failures
    def host_failures(self, sw: SweepResult | None) -> dict[str, Any]:
        if sw is None:
            return {"failures": 0, "scenarios": 0, "max_failures_tolerated": None, "complete": True, "per_k": [],
                    "worst": [], "summary": "no usable host: nothing to fail"}
        return sweep_section(sw, self.lab, self.relabel, _WORST_SHOWN)

    # ------------------------------------------------------------------ capacity
    def capacity(self, sw: SweepResult | None) -> dict[str, Any]:
        """Per host: capacity, reserved by running VMs, what HA restarts there in the chart's
        scenario (the worst failure combination; when every combination restarts everything,
        the one leaving the least memory unreserved) and what stays free."""
        inv, lab = self.inv, self.lab
        scenario: dict[str, Any] | None = None
        plan = None
        if sw is not None and sw.scenarios:
            worst = sw.worst(1)
            if worst and worst[0].unplaced:
                chosen = worst[0]
                why = (f"the worst combination of up to {sw.max_failures} failed hosts: {chosen.unplaced} "
                       f"VM{'s' if chosen.unplaced != 1 else ''} unplaced")
            else:
                deepest = [r for r in sw if len(r.failed_hosts) == sw.max_failures] or list(sw)
                chosen = min(deepest, key=lambda r: (r.memory_left_mb, r.cpu_left_mhz))
                n = len(chosen.failed_hosts)
                why = (f"of the {'single-host failures' if n == 1 else f'combinations of {n} failed hosts'}, "
                       f"the one leaving the least memory unreserved; every VM restarts")
            plan = plan_failover(inv, chosen.failed_hosts)
            scenario = {"failed_hosts": list(chosen.failed_hosts), "labels": [lab(h) for h in chosen.failed_hosts],
                        "why": why, "restarted": plan.restarted, "unplaced": len(plan.unplaced)}
        loads = {x.host: x for x in _loads(inv, scenario["failed_hosts"] if scenario else [], plan)}
        rows = []
        for h in inv.hosts:
            x = loads[h.id]
            r, a, is_failed = x.reserved, (*x.restarted, x.restarted_vms), x.failed
            rows.append({
                "host": h.id, "label": lab(h.id), "failed": is_failed,
                "state": "failed" if is_failed else _host_state(h),
                "cpu_mhz": h.cpu_mhz, "memory_mb": h.memory_mb,
                "reserved_cpu_mhz": r[0], "reserved_memory_mb": r[1],
                "restarted_vms": a[2], "restarted_cpu_mhz": a[0], "restarted_memory_mb": a[1],
                "free_cpu_mhz": 0 if is_failed else max(h.cpu_mhz - r[0] - a[0], 0),
                "free_memory_mb": 0 if is_failed else max(h.memory_mb - r[1] - a[1], 0),
            })
        return {"scenario": scenario, "hosts": rows}

    # ------------------------------------------------------------------ heartbeat
    def heartbeat(self, hb: HeartbeatSelection) -> dict[str, Any]:
        return heartbeat_section(hb, self.inv, self.lab, self.relabel)

    # ------------------------------------------------------------------ verdicts
    def verdicts(self, ac: AdmissionReport, sw: SweepResult | None, data: Mapping[str, Any]) -> list[dict[str, Any]]:
        lab = self.lab
        out: list[dict[str, Any]] = []
        h = self.promised_failures(ac)
        if ac.policy == AdmissionPolicy.DISABLED:
            out.append(_verdict("admission_control", "Admission control", "warn",
                                "disabled: vCenter sets no capacity aside for failover and admits every power-on"))
        elif ac.satisfied:
            out.append(_verdict("admission_control", "Admission control", "ok",
                                f"satisfied — {_ac_figures(ac)}"))
        else:
            why = data["admission_control"]["why"]
            tail = " — yet the sweep shows the VMs would restart (see why)" if why.get("disagree") else ""
            out.append(_verdict("admission_control", "Admission control", "fail",
                                f"NOT satisfied — {_ac_figures(ac)}{tail}"))
        # host failures
        if sw is None:
            out.append(_verdict("host_failures", "Host failures survived", "fail",
                                "no usable host: no VM can be restarted"))
        else:
            tol = sw.max_failures_tolerated
            k = sw.max_failures
            required = self.k if self.explicit_failures else min(h, k)
            if tol is None:
                out.append(_verdict("host_failures", "Host failures survived", "warn",
                                    f"undecided: the sweep of {k} failures was incomplete"))
            elif tol >= k:
                out.append(_verdict("host_failures", "Host failures survived", "ok",
                                    f"every combination of up to {k} failed host{'s' if k != 1 else ''} restarts "
                                    f"every VM HA attempts ({sw.scenarios:,} combinations)"))
            else:
                worst = sw.worst(1)[0]
                status = "fail" if tol < required else "warn"
                promise = (f" ({required} promised)" if status == "fail" else
                           f" (admission control promises {h})")
                out.append(_verdict(
                    "host_failures", "Host failures survived", status,
                    f"survives {tol} host failure{'s' if tol != 1 else ''}, not {k}{promise}: "
                    f"{' + '.join(lab(x) for x in worst.failed_hosts)} failing strands {worst.unplaced} "
                    f"VM{'s' if worst.unplaced != 1 else ''}"))
        # heartbeat datastores
        hbd = data["heartbeat_datastores"]
        if hbd["disabled"]:
            out.append(_verdict("heartbeat_datastores", "Heartbeat datastores", "warn",
                                "datastore heartbeating is off: a partitioned host cannot be told from a failed one"))
        elif any(w["kind"] == "insufficientHeartbeatDatastores" for w in hbd["warnings"]):
            n = sum(1 for w in hbd["warnings"] if w["kind"] == "insufficientHeartbeatDatastores")
            out.append(_verdict("heartbeat_datastores", "Heartbeat datastores", "fail",
                                f"{n} host{'s have' if n != 1 else ' has'} fewer than the {hbd['required']} "
                                f"heartbeat datastores required"))
        elif hbd["warnings"] or hbd["notes"]:
            first = (hbd["warnings"] or hbd["notes"])[0]["message"]
            out.append(_verdict("heartbeat_datastores", "Heartbeat datastores", "warn",
                                f"{hbd['required']} per host chosen, with a caveat: {first}"))
        else:
            out.append(_verdict("heartbeat_datastores", "Heartbeat datastores", "ok",
                                f"every host running the HA agent has its {hbd['required']} heartbeat datastores"))
        return out

    # ------------------------------------------------------------------ remedies
    def remedies(self, holds: bool) -> dict[str, Any]:
        try:
            module = importlib.import_module("hapolicy.remedies")
        except ImportError:
            module = None
        find = getattr(module, "remedies", None)
        if find is None:
            return {"available": False, "reason": "remedies unavailable: this hapolicy has no remedies module",
                    "promise": None, "holds": None, "items": [], "more": 0, "notes": []}
        # Remedies need a survivor: at most one less than the usable hosts fail.
        k = min(self.k, len(_usable_hosts(self.inv)) - 1)
        found = find(self.inv, failures=k if k >= 1 else None)
        return remedies_section(found, self.lab, _REMEDIES_SHOWN)


def _host_state(h: Any) -> str:
    if str(h.state) != "connected":
        return str(h.state)
    if h.maintenance:
        return "maintenance"
    if h.standby:
        return "standby"
    return "connected"


def _verdict(promise: str, title: str, status: str, summary: str) -> dict[str, Any]:
    return {"promise": promise, "title": title, "status": status, "summary": summary}


def _join(items: Sequence[str]) -> str:
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _policy_text(acc: AdmissionControlConfig, lab: Labeler) -> str:
    p = acc.policy
    if p == AdmissionPolicy.SLOT:
        extra = ""
        if acc.slot_cpu_mhz is not None or acc.slot_memory_mb is not None:
            extra = f", fixed slot {number_or_dash(acc.slot_cpu_mhz)} MHz / {number_or_dash(acc.slot_memory_mb)} MB"
        return f"slot policy, {acc.host_failures} host failure{'s' if acc.host_failures != 1 else ''}{extra}"
    if p == AdmissionPolicy.PERCENTAGE:
        if acc.cpu_percent is not None or acc.memory_percent is not None:
            return f"percentage policy, CPU {acc.cpu_percent} %, memory {acc.memory_percent} %"
        return (f"percentage policy, computed for {acc.host_failures} host "
                f"failure{'s' if acc.host_failures != 1 else ''}")
    if p == AdmissionPolicy.FAILOVER_HOSTS:
        return "dedicated failover hosts: " + ", ".join(lab(h) for h in acc.hosts or ())
    return "disabled"


def number_or_dash(v: int | None) -> str:
    return "–" if v is None else f"{v:,}"


def _ac_figures(ac: AdmissionReport) -> str:
    if ac.policy == AdmissionPolicy.SLOT:
        return (f"current failover level {ac.current_failover_level} (configured {ac.configured_host_failures}), "
                f"slot {number_or_dash(ac.slot_cpu_mhz)} MHz / {number_or_dash(ac.slot_memory_mb)} MB, "
                f"{number_or_dash(ac.used_slots)} slots needed, {number_or_dash(ac.total_slots)} in the cluster")
    if ac.policy == AdmissionPolicy.PERCENTAGE:
        return (f"CPU {ac.cpu_failover_percent or 0:.1f} % free (configured {ac.configured_cpu_percent or 0:.1f} %), "
                f"memory {ac.memory_failover_percent or 0:.1f} % free (configured "
                f"{ac.configured_memory_percent or 0:.1f} %)")
    if ac.policy == AdmissionPolicy.FAILOVER_HOSTS:
        states = ", ".join(f"{f.host} {f.state}" for f in ac.failover_hosts)
        return f"failover hosts: {states}"
    return "disabled"


# ---------------------------------------------------------------------------------------- sections
# Shared with the result objects' ``_repr_html_`` (which have no report around them).


def admission_section(ac: AdmissionReport, lab: Labeler = str, why: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The admission-control section's data: vCenter's figures, hosts with names, and (in the
    report) why the policy and the sweep agree or not."""
    d = ac.to_dict()
    d["figures_text"] = _ac_figures(ac)
    d["hosts"] = [
        {"host": r["host"], "label": lab(r["host"]), "counted": r["counted"], "slots": r["slots"],
         "excluded_because": r["excluded_because"]}
        for r in ac.to_records()
    ]
    d["failover_hosts"] = [{**f, "label": lab(f["host"]), "running_vms": [lab(v) for v in f["running_vms"]]}
                           for f in d["failover_hosts"]]
    d["why"] = dict(why) if why is not None else None
    return d


def sweep_section(sw: SweepResult, lab: Labeler = str, relabel: Callable[[str], str] = str,
                  shown: int = _WORST_SHOWN) -> dict[str, Any]:
    """The host-failures section's data: per failure count, and the worst combinations with
    the VMs they strand and why (per surviving host, from the failover plan)."""
    inv = sw._inventory
    tol = sw.max_failures_tolerated
    k = sw.max_failures
    # The unit of the sweep (R-DOMAIN): host, fault domain or site.
    noun = {"host": "host", "fault_domain": "fault domain", "site": "site"}.get(sw.unit, "host")
    if tol is None:
        summary = "undecided (incomplete sweep)"
    elif tol >= k:
        summary = f"every combination of up to {k} failed {noun}{'s' if k != 1 else ''} restarts every VM HA attempts"
    else:
        summary = f"tolerates {tol} {noun} failure{'s' if tol != 1 else ''}: some {tol + 1}-{noun} failure leaves VMs unplaced"
    worst = []
    for r in sw.worst(shown):
        if not r.unplaced:
            continue
        plan = plan_failover(inv, r.failed_hosts)
        worst.append(_combination(plan, r.restarted, lab, relabel))
        if sw.unit != "host":
            worst[-1]["units"] = list(r.failed_units)   # R-DOMAIN: the failed units, by name
    return {
        "failures": k, "scenarios": sw.scenarios, "max_failures_tolerated": tol, "complete": sw.complete,
        "summary": summary, "unit": sw.unit, "unit_plural": noun + "s",
        "per_k": [{"failures": lv.failures, "combinations": lv.combinations, "evaluated": lv.evaluated,
                   "fully_restarted": lv.fully_restarted, "worst_unplaced": lv.worst_unplaced} for lv in sw.per_k],
        "worst": worst,
    }


def _combination(plan: FailoverPlan, restarted: int, lab: Labeler, relabel: Callable[[str], str]) -> dict[str, Any]:
    vms = []
    for u in plan.unplaced[:_VMS_SHOWN]:
        refusals = [f"{lab(h)}: {relabel(why)}" for h, why in u.hosts.items() if u.codes.get(h) != "failed"]
        vms.append({"vm": u.vm, "label": lab(u.vm), "priority": str(u.priority), "reason": str(u.reason),
                    "reason_text": _REASONS.get(str(u.reason), str(u.reason)), "hosts": refusals})
    return {"failed_hosts": list(plan.failed_hosts), "labels": [lab(h) for h in plan.failed_hosts],
            "restarted": restarted, "unplaced": len(plan.unplaced), "vms": vms,
            "more_vms": max(len(plan.unplaced) - _VMS_SHOWN, 0), **drs_actions(plan, lab)}


def drs_actions(plan: FailoverPlan, lab: Labeler = str) -> dict[str, Any]:
    """What DRS and DPM do in a plan (R-PLACE-DRS), names beside ids: ``migrations`` (the
    vMotions in order: vm, source, target, for which restarted VM, and a ``text`` line) and
    ``hosts_exited_standby`` (the hosts DPM brings out of standby)."""
    return {
        "migrations": [
            {"vm": m.vm, "vm_label": lab(m.vm), "source": m.source, "source_label": lab(m.source),
             "target": m.target, "target_label": lab(m.target), "for_vm": m.for_vm, "for_vm_label": lab(m.for_vm),
             "text": f"{lab(m.vm)}: {lab(m.source)} → {lab(m.target)} (room for {lab(m.for_vm)})"}
            for m in plan.migrations
        ],
        "hosts_exited_standby": [{"host": h, "label": lab(h)} for h in plan.hosts_exited_standby],
    }


_REASONS = {
    "insufficientResources": "no surviving host has enough unreserved CPU or memory",
    "antiAffinity": "an anti-affinity rule keeps it off the surviving hosts that could take it",
    "datastoreInaccessible": "no surviving host that could take it reaches its datastores",
    "vmHostRule": "a VM–host rule keeps it off the surviving hosts that could take it",
    "noCompatibleHost": "no surviving host is compatible",
    "maxRestartCountReached": "HA gave up after das.maxvmrestartcount attempts",
}


def plan_section(plan: FailoverPlan, lab: Labeler = str, relabel: Callable[[str], str] = str,
                 limit: int = _TABLE_ROWS) -> dict[str, Any]:
    """A failover plan as section data: the restart order, the unplaced VMs and why, the VMs
    not restarted by rule (names beside ids)."""
    combo = _combination(plan, plan.restarted, lab, relabel)
    combo["vms"] = [
        {"vm": u.vm, "label": lab(u.vm), "priority": str(u.priority), "reason": str(u.reason),
         "reason_text": _REASONS.get(str(u.reason), str(u.reason)),
         "hosts": [f"{lab(h)}: {relabel(why)}" for h, why in u.hosts.items() if u.codes.get(h) != "failed"]}
        for u in plan.unplaced[:limit]
    ]
    combo["more_vms"] = max(len(plan.unplaced) - limit, 0)
    combo["placements"] = [{"order": p.order, "vm": p.vm, "label": lab(p.vm), "host": p.host, "host_label": lab(p.host),
                            "priority": str(p.priority)} for p in plan.placements[:limit]]
    combo["more_placements"] = max(len(plan.placements) - limit, 0)
    combo["not_restarted"] = [{"vm": n.vm, "label": lab(n.vm), "host": n.host, "host_label": lab(n.host),
                               "reason": n.reason} for n in plan.not_restarted[:limit]]
    combo["isolated_hosts"] = [lab(h) for h in plan.isolated_hosts]
    return combo


def heartbeat_section(hb: HeartbeatSelection, inv: Inventory | None, lab: Labeler = str,
                      relabel: Callable[[str], str] = str) -> dict[str, Any]:
    """Heartbeat datastores per host (names beside ids), vCenter's warnings, and a note when
    a host's heartbeat datastores all sit on one backing (one array failure takes them all)."""
    backing: dict[str, str | None] = {d.id: d.backing for d in inv.datastores} if inv is not None else {}
    notes: list[dict[str, Any]] = []
    hosts = []
    for h, chosen in hb.hosts.items():
        hosts.append({"host": h, "label": lab(h), "datastores": [{"id": d, "label": lab(d),
                                                                  "backing": backing.get(d)} for d in chosen]})
        backs = {backing.get(d) for d in chosen}
        if len(chosen) > 1 and len(backs) == 1 and None not in backs:
            notes.append({"host": h, "message": f"{lab(h)}: all {len(chosen)} heartbeat datastores are on one "
                                                f"backing ({backs.pop()}); losing it loses every heartbeat"})
    # One line per backing instead of one per host when every host shares it.
    if notes and len(notes) == len(hosts) > 1:
        b = next(iter({backing.get(d) for d in next(iter(hb.hosts.values()))}))
        notes = [{"host": None, "message": f"every host's heartbeat datastores are on one backing ({b}); "
                                           f"losing it loses every heartbeat"}]
    return {"policy": hb.policy, "required": hb.required, "disabled": hb.disabled, "hosts": hosts,
            "warnings": [{"kind": w.kind, "host": w.host, "datastore": w.datastore, "message": relabel(w.message)}
                         for w in hb.warnings],
            "notes": notes}


_FIGURE_NAMES = {
    "holds": "promise holds",
    "admission.policy": "admission policy",
    "admission.satisfied": "admission control satisfied",
    "admission.overcommitted": "overcommitted",
    "admission.current_failover_level": "current failover level",
    "admission.configured_host_failures": "configured host failures",
    "admission.slot_cpu_mhz": "slot CPU (MHz)",
    "admission.slot_memory_mb": "slot memory (MB)",
    "admission.total_slots": "slots in the cluster",
    "admission.used_slots": "slots used",
    "admission.cpu_failover_percent": "CPU free (%)",
    "admission.memory_failover_percent": "memory free (%)",
    "admission.configured_cpu_percent": "CPU set aside (%)",
    "admission.configured_memory_percent": "memory set aside (%)",
    "admission.total_cpu_mhz": "cluster CPU (MHz)",
    "admission.total_memory_mb": "cluster memory (MB)",
    "sweep.scenarios": "failure combinations checked",
    "sweep.failing_combinations": "combinations stranding VMs",
    "sweep.stranded_vms": "VMs stranded",
    "sweep.max_failures_tolerated": "host failures survived",
    "sweep.worst_unplaced": "worst combination: VMs unplaced",
}


def _flatten(figures: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in figures.items():
        key = f"{prefix}{k}"
        if isinstance(v, Mapping):
            out.update(_flatten(v, key + "."))
        elif not isinstance(v, (list, tuple)):
            out[key] = v
    return out


def remedies_section(found: Any, lab: Labeler = str, shown: int = _REMEDIES_SHOWN) -> dict[str, Any]:
    """Remedies (``ha.remedies``) as section data: the first ``shown``, each with its summary
    and the figures it changes, before and after (from the engine run on the changed
    inventory)."""
    items = []
    for r in list(found)[:shown]:
        d = r.to_dict() if hasattr(r, "to_dict") else dict(vars(r))
        before, after = _flatten(d.get("before") or {}), _flatten(d.get("after") or {})
        # What changes, and is still a figure after (slot figures vanish with another policy).
        keys = [k for k in dict.fromkeys([*before, *after]) if before.get(k) != after.get(k) and after.get(k) is not None]
        keys.sort(key=lambda k: (list(_FIGURE_NAMES).index(k) if k in _FIGURE_NAMES else len(_FIGURE_NAMES)))
        # R-DOMAIN: a sweep per fault domain or site counts failed units, not hosts.
        unit = str(before.get("sweep.unit") or after.get("sweep.unit") or "host")
        names = {**_FIGURE_NAMES, "sweep.max_failures_tolerated": f"{unit.replace('_', ' ')} failures survived"}
        items.append({"kind": str(d.get("kind", "")), "scope": str(d.get("scope", "")),
                      "summary": str(d.get("summary", "")), "verified": d.get("verified"),
                      "figures": [{"figure": names.get(k, k.split(".")[-1].replace("_", " ")),
                                   "before": before.get(k), "after": after.get(k)} for k in keys]})
    promise = getattr(found, "promise", None)
    return {"available": True, "reason": None, "promise": None if promise is None else str(promise),
            "holds": bool(getattr(found, "holds", False)), "items": items, "more": max(len(found) - shown, 0),
            "notes": [str(n) for n in getattr(found, "notes", ())]}


# ---------------------------------------------------------------------------------------- text

_MARK = {"ok": "OK  ", "warn": "WARN", "fail": "FAIL"}


def _text(d: Mapping[str, Any]) -> str:
    parts = [f"hapolicy report — cluster {d['cluster']['name'] or '(unnamed)'}"
             f"{' from ' + d['source'] if d['source'] else ''}, {d['generated_at']}, hapolicy {d['hapolicy_version']}"]
    for sec in d["sections"]:
        key, title = sec["id"], sec["title"]
        body = _TEXT[key](d[key], d)
        parts.append(f"== {title}\n{body}".rstrip())
    return "\n\n".join(parts) + "\n"


def _t_verdicts(v: Any, d: Mapping[str, Any]) -> str:
    lines = [f"[{_MARK[x['status']]}] {x['title']}: {x['summary']}" for x in v]
    lines.append("every promise holds" if d["holds"] else "NOT every promise holds")
    return "\n".join(lines)


def _t_cluster(c: Any, d: Mapping[str, Any]) -> str:
    def n(count: int, word: str) -> str:
        return f"{count} {word}{'' if count == 1 else 's'}"

    return (f"{c['name'] or '(unnamed)'} — vSphere {c['version']}, {n(c['hosts'], 'host')} ({c['usable_hosts']} usable), "
            f"{n(c['vms'], 'VM')} ({c['powered_on_vms']} powered on), {n(c['datastores'], 'datastore')}, "
            f"{n(c['rules'], 'rule')}\n"
            f"admission control: {c['admission_control_text']}; isolation response: {c['isolation_response']}; "
            f"default restart priority: {c['restart_priority']}; host monitoring: "
            f"{'on' if c['host_monitoring'] else 'off'}")


def _t_admission(a: Any, d: Mapping[str, Any]) -> str:
    lines = [f"{a['policy']} policy: {'satisfied' if a['satisfied'] else 'NOT satisfied'} — {a['figures_text']}"]
    if a["policy"] == "slot" and a["slot_cpu_mhz"] is not None:
        lines.append(f"  slot size: {a['slot_cpu_mhz']:,} MHz / {a['slot_memory_mb']:,} MB; slots: "
                     f"{a['total_slots']:,} total, {a['used_slots']:,} used, {a['available_slots']:,} available")
    lines.append(f"  capacity {a['total_cpu_mhz']:,} MHz / {a['total_memory_mb']:,} MB, reserved "
                 f"{a['required_cpu_mhz']:,} MHz / {a['required_memory_mb']:,} MB, {a['counted_vms']} VMs counted")
    for h in a["hosts"]:
        if h["counted"]:
            lines.append(f"  {h['label']}: counted" + (f", {h['slots']} slots" if h["slots"] is not None else ""))
        else:
            lines.append(f"  {h['label']}: not counted ({h['excluded_because']})")
    for f in a["failover_hosts"]:
        lines.append(f"  failover host {f['label']}: {f['state']}"
                     + (f" ({', '.join(f['running_vms'])})" if f["running_vms"] else ""))
    lines += [f"  - {m}" for m in a["messages"]]
    if a.get("performance_degradation"):  # R-AC-PERF, when configured
        lines.append(f"  {a['performance_degradation']['summary']}")
    why = a.get("why")
    if why:
        lines.append("why:" if not why.get("disagree") else "why the policy and the sweep disagree:")
        lines += [f"  {s}" for s in why["sentences"]]
    return "\n".join(lines)


def _t_capacity(c: Any, d: Mapping[str, Any]) -> str:
    lines = []
    s = c["scenario"]
    if s:
        lines.append(f"after {' + '.join(s['labels'])} {'fails' if len(s['labels']) == 1 else 'fail'} ({s['why']}): {s['restarted']} restarted, "
                     f"{s['unplaced']} unplaced")
    for h in c["hosts"][:_TABLE_ROWS]:
        if h["failed"]:
            lines.append(f"  {h['label']}: failed (its VMs held {h['reserved_cpu_mhz']:,} MHz / "
                         f"{h['reserved_memory_mb']:,} MB)")
            continue
        lines.append(
            f"  {h['label']}: CPU {h['reserved_cpu_mhz']:,} reserved + {h['restarted_cpu_mhz']:,} restarted, "
            f"{h['free_cpu_mhz']:,} of {h['cpu_mhz']:,} MHz free; memory {h['reserved_memory_mb']:,} + "
            f"{h['restarted_memory_mb']:,}, {h['free_memory_mb']:,} of {h['memory_mb']:,} MB free"
            + (f" ({h['state']})" if h["state"] != "connected" else ""))
    if len(c["hosts"]) > _TABLE_ROWS:
        lines.append(f"  … {len(c['hosts']) - _TABLE_ROWS} more hosts")
    return "\n".join(lines)


def _t_failures(f: Any, d: Mapping[str, Any]) -> str:
    lines = [f"{f['scenarios']:,} combinations of up to {f['failures']} failed hosts; {f['summary']}"]
    for lv in f["per_k"]:
        lines.append(f"  {lv['failures']} failed: {lv['fully_restarted']:,} of {lv['evaluated']:,} combinations "
                     f"restart every VM; the worst leaves {lv['worst_unplaced']} unplaced")
    if f["worst"]:
        lines.append("worst combinations:")
    for w in f["worst"]:
        lines += _t_worst(w, "  ", hosts=True)
    return "\n".join(lines)


def _t_worst(w: Mapping[str, Any], head: str, *, hosts: bool, most: int | None = None) -> list[str]:
    """The text lines of one worst failure combination: ``head``, its labels and counts, then
    its unplaced VMs (the first ``most``; with up to four hosts' reasons each when ``hosts``)
    and how many more."""
    failed = (f"{' + '.join(w['units'])} ({len(w['failed_hosts'])} hosts)" if w.get("units")
              else " + ".join(w["labels"]))
    lines = [f"{head}{failed}: {w['restarted']} restart, {w['unplaced']} unplaced"]
    lines += _t_drs(w, head + "  ")
    for v in w["vms"][:most]:
        lines.append(f"    {v['label']} ({v['priority']}): {v['reason_text']}")
        if hosts:
            lines += [f"      {h}" for h in v["hosts"][:4]]
    if w["more_vms"]:
        lines.append(f"    … {w['more_vms']} more")
    return lines


def _t_drs(w: Mapping[str, Any], indent: str) -> list[str]:
    """The text lines of a plan's DRS vMotions and DPM standby exits (R-PLACE-DRS)."""
    lines = []
    if w.get("hosts_exited_standby"):
        lines.append(f"{indent}DPM brings out of standby: {', '.join(h['label'] for h in w['hosts_exited_standby'])}")
    if w.get("migrations"):
        lines.append(f"{indent}DRS vMotions first ({len(w['migrations'])}):")
        lines += [f"{indent}  {m['text']}" for m in w["migrations"]]
    return lines


def _t_heartbeat(h: Any, d: Mapping[str, Any]) -> str:
    lines = [f"policy {h['policy']}, {h['required']} per host" + (" — heartbeating disabled" if h["disabled"] else "")]
    for x in h["hosts"][:_TABLE_ROWS]:
        lines.append(f"  {x['label']}: {', '.join(ds['label'] for ds in x['datastores']) or 'none'}")
    lines += [f"  warning: {w['message']}" for w in h["warnings"]]
    lines += [f"  note: {n['message']}" for n in h["notes"]]
    return "\n".join(lines)


def _t_election(e: Any, d: Mapping[str, Any]) -> str:
    lines = [f"master: {e['master_label'] or 'none'}"]
    lines += [f"  {c['rank']}. {c['label']} goodness={c['goodness'] if c['goodness'] is not None else 'unset'} "
              f"datastores={c['datastores']}" for c in e["ranking"][:_TABLE_ROWS]]
    lines += [f"  not a candidate: {x['label']} ({x['reason']})" for x in e["excluded"]]
    return "\n".join(lines)


def _t_assumptions(a: Any, d: Mapping[str, Any]) -> str:
    if not a:
        return "none: the inventory states every figure the report uses"
    return "\n".join(f"{x['path']}: {x['message']}" for x in a)


def _t_remedies(r: Any, d: Mapping[str, Any]) -> str:
    if not r["available"]:
        return str(r["reason"])
    lines = [f"promise: {r['promise']}"] if r["promise"] else []
    if not r["items"]:
        lines.append("none needed: the promise holds" if r["holds"] else "no verified remedy found")
    for i, x in enumerate(r["items"], 1):
        lines.append(f"{i}. {x['summary']}" + ("" if x["verified"] in (None, True) else " (not verified)"))
        lines += [f"     {f['figure']}: {_fig(f['before'])} → {_fig(f['after'])}" for f in x["figures"]]
    if r["more"]:
        lines.append(f"… {r['more']} more")
    lines += [f"note: {n}" for n in r["notes"]]
    return "\n".join(lines)


def _fig(v: Any) -> str:
    return _html.number(v, 1)


def _t_warnings(w: Any, d: Mapping[str, Any]) -> str:
    return "\n".join(f"{x['path']}: {x['message']}" for x in w) or "none"


_TEXT: dict[str, Callable[[Any, Mapping[str, Any]], str]] = {
    "verdicts": _t_verdicts, "cluster": _t_cluster, "admission_control": _t_admission, "capacity": _t_capacity,
    "host_failures": _t_failures, "heartbeat_datastores": _t_heartbeat, "election": _t_election,
    "assumptions": _t_assumptions, "remedies": _t_remedies, "warnings": _t_warnings,
    "failure_domains": lambda f, d: _t_domains(f, d),
}


# ---------------------------------------------------------------------------------------- script


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m hapolicy.report INV [--html FILE] [--screenshot PNG] [--failures K]``: the
    report as text, an HTML page, and (``--screenshot``) a PNG of the page taken with headless
    Chromium (how docs/report.png is made)."""
    import argparse
    import pathlib

    p = argparse.ArgumentParser(prog="python -m hapolicy.report", description=main.__doc__)
    p.add_argument("inventory")
    p.add_argument("--html", help="write the HTML page here")
    p.add_argument("--screenshot", help="write a PNG of the page here (needs chromium)")
    p.add_argument("--failures", type=int, default=None)
    p.add_argument("--width", type=int, default=1280, help="screenshot width in pixels (default 1280)")
    p.add_argument("--height", type=int, default=2000, help="screenshot height in pixels (default 2000)")
    args = p.parse_args(argv)
    inv = Inventory.load(args.inventory)
    rep = build_report(inv, failures=args.failures, source=args.inventory)
    page = rep.html()
    html_path = pathlib.Path(args.html) if args.html else None
    if html_path is not None:
        html_path.write_text(page, encoding="utf-8")
    if args.screenshot:
        import sys

        from ._html_browser import BrowserError, screenshot

        try:
            screenshot(page, pathlib.Path(args.screenshot), width=args.width, height=args.height)
        except BrowserError as exc:
            print(f"python -m hapolicy.report: {exc}", file=sys.stderr)
            return 2
    if html_path is None and not args.screenshot:
        print(rep.text(), end="")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())


# ---------------------------------------------------------------------------------------- failure domains

_UNIT_TITLES = {"fault_domain": ("Fault-domain failures", "fault domain", "fault domains"),
                "site": ("Site failures", "site", "sites")}


def _has_domains(inv: Inventory) -> bool:
    return any(h.fault_domain is not None or h.site is not None for h in inv.hosts)


def _sections(inv: Inventory) -> list[tuple[str, str]]:
    """:data:`SECTIONS`, with :data:`DOMAIN_SECTION` after the host failures when ``inv`` has
    fault domains or sites."""
    out = list(SECTIONS)
    if _has_domains(inv):
        out.insert([k for k, _ in out].index("host_failures") + 1, DOMAIN_SECTION)
    return out


def _percent(part: float, whole: float) -> float:
    return 100.0 * part / whole if whole else 0.0


def _reserved_share(inv: Inventory, ac: AdmissionReport) -> tuple[float, float, str]:
    """What the admission policy sets aside, as shares of the counted capacity (CPU %, memory %)
    and in words. Percentage policies: their percentages; host-count policies: the capacity of
    the largest ``k`` counted hosts (the slot policy) or of the failover hosts."""
    counted = [h for h in inv.hosts if h.id in set(ac.counted_hosts)] or list(inv.hosts)
    cpu_total = sum(h.cpu_mhz for h in counted)
    mem_total = sum(h.memory_mb for h in counted)
    if ac.policy == AdmissionPolicy.PERCENTAGE:
        c, m = ac.configured_cpu_percent or 0.0, ac.configured_memory_percent or 0.0
        return c, m, f"the percentage policy reserves {c:.1f} % of the CPU and {m:.1f} % of the memory"
    if ac.policy == AdmissionPolicy.FAILOVER_HOSTS:
        ids = {f.host for f in ac.failover_hosts}
        fh = [h for h in inv.hosts if h.id in ids]
        c, m = _percent(sum(h.cpu_mhz for h in fh), cpu_total), _percent(sum(h.memory_mb for h in fh), mem_total)
        return c, m, (f"the {len(fh)} dedicated failover host{'s' if len(fh) != 1 else ''} hold {c:.1f} % of the CPU "
                      f"and {m:.1f} % of the memory")
    if ac.policy == AdmissionPolicy.SLOT:
        k = ac.configured_host_failures or 0
        c = _percent(sum(sorted((h.cpu_mhz for h in counted), reverse=True)[:k]), cpu_total)
        m = _percent(sum(sorted((h.memory_mb for h in counted), reverse=True)[:k]), mem_total)
        return c, m, (f"the slot policy keeps room for {k} host failure{'s' if k != 1 else ''}: at most the "
                      f"{k} largest host{'s' if k != 1 else ''}, {c:.1f} % of the CPU and {m:.1f} % of the memory")
    return 0.0, 0.0, "admission control is disabled: nothing is reserved"


def domain_section(inv: Inventory, ac: AdmissionReport, lab: Labeler = str,
                   relabel: Callable[[str], str] = str) -> dict[str, Any]:
    """The failure-domain section's data (R-DOMAIN): for fault domains and for sites (each
    when some host has one), the units and their share of the capacity, whether every single
    unit failure restarts every VM HA attempts (a unit sweep), the worst unit failure with the
    VMs it strands, what admission control reserves against the largest unit's share (for two
    equal sites, the stretched-cluster guidance of reserving 50 %), and — where a unit failure
    strands VMs — the verified remedies for ``remedies(inv, 1, unit=...)``."""
    from .remedies import remedies as find_remedies

    usable = set(_usable_hosts(inv))
    hosts = {h.id: h for h in inv.hosts}
    cpu_total = sum(hosts[h].cpu_mhz for h in usable)
    mem_total = sum(hosts[h].memory_mb for h in usable)
    reserved_cpu, reserved_mem, reserved_text = _reserved_share(inv, ac)
    c = inv.config
    stretched = (c.vsan or {}).get("stretched")
    units: list[dict[str, Any]] = []
    for unit in ("fault_domain", "site"):
        if not any(getattr(h, unit) is not None for h in inv.hosts):
            continue
        title, noun, plural = _UNIT_TITLES[unit]
        entry: dict[str, Any] = {"unit": unit, "title": title, "noun": noun, "plural": plural,
                                 "units": [], "sweep": None, "admission": None, "remedies": None,
                                 "status": "ok", "summary": ""}
        units.append(entry)
        try:
            sw = sweep(inv, 1, unit=unit)
        except HaPolicyError as exc:   # e.g. a site sweep with hosts outside every site
            entry.update(status="warn", summary=f"not checked: {exc}")
            continue
        for name, members in sw.units.items():
            cpu = sum(hosts[h].cpu_mhz for h in members)
            mem = sum(hosts[h].memory_mb for h in members)
            entry["units"].append({
                "name": name, "label": lab(name) if name in hosts else name,
                "hosts": list(members), "labels": [lab(h) for h in members],
                "cpu_mhz": cpu, "memory_mb": mem,
                "cpu_percent": _percent(cpu, cpu_total), "memory_percent": _percent(mem, mem_total),
            })
        entry["sweep"] = sweep_section(sw, lab, relabel, _WORST_SHOWN)
        worst = sw.worst(1)
        if len(sw.units) < 2:
            entry.update(status="warn", summary=f"a single {noun}: its failure takes every host down")
        elif sw.max_failures_tolerated is None:
            entry.update(status="warn", summary="undecided (incomplete sweep)")
        elif sw.max_failures_tolerated >= 1:
            entry.update(status="ok", summary=f"the failure of any one of the {len(sw.units)} {plural} restarts "
                                              f"every VM HA attempts")
        else:
            w = worst[0]
            entry.update(status="fail", summary=(
                f"the failure of {noun} {' + '.join(w.failed_units)} ({len(w.failed_hosts)} hosts) strands "
                f"{w.unplaced} VM{'s' if w.unplaced != 1 else ''}"))
        # Admission control against the largest unit (R-AC vs R-DOMAIN).
        if entry["units"]:
            big = max(entry["units"], key=lambda u: max(u["cpu_percent"], u["memory_percent"]))
            need_cpu = max(u["cpu_percent"] for u in entry["units"])
            need_mem = max(u["memory_percent"] for u in entry["units"])
            enough = reserved_cpu + 1e-9 >= need_cpu and reserved_mem + 1e-9 >= need_mem
            sentence = (f"{reserved_text[0].upper()}{reserved_text[1:]}; the largest {noun}, {big['label']} "
                        f"({len(big['hosts'])} hosts), holds {need_cpu:.1f} % of the CPU and {need_mem:.1f} % of the "
                        f"memory of the usable hosts, so a {noun} failure needs that much set aside: "
                        + ("the policy reserves enough." if enough else "the policy reserves too little."))
            if unit == "site" and len(entry["units"]) == 2:
                sentence += (" For a stretched cluster with two equal sites this is the guidance of reserving "
                             "50 % of CPU and memory.")
            entry["admission"] = {"reserved_cpu_percent": reserved_cpu, "reserved_memory_percent": reserved_mem,
                                  "largest": big["name"], "largest_label": big["label"],
                                  "needed_cpu_percent": need_cpu, "needed_memory_percent": need_mem,
                                  "enough": enough, "sentence": sentence}
        if entry["status"] == "fail":
            try:
                found = find_remedies(inv, 1, unit=unit)
                entry["remedies"] = remedies_section(found, lab, _REMEDIES_SHOWN)
            except HaPolicyError as exc:
                entry["remedies"] = {"available": False, "reason": f"remedies unavailable: {exc}", "promise": None,
                                     "holds": None, "items": [], "more": 0, "notes": []}
    return {
        "vsan_enabled": bool((c.vsan or {}).get("enabled")),
        "stretched": None if not stretched else {"preferred_site": stretched["preferred_site"],
                                                 "secondary_site": stretched["secondary_site"]},
        "note": ("The vSAN witness is not a data host: it runs no VM and is not modelled; a site failure fails "
                 "the site's data hosts."),
        "units": units,
    }


def _t_domains(f: Any, d: Mapping[str, Any]) -> str:
    lines = []
    if f["stretched"]:
        lines.append(f"stretched vSAN cluster: preferred site {f['stretched']['preferred_site']}, secondary site "
                     f"{f['stretched']['secondary_site']} ({f['note']})")
    elif f["vsan_enabled"]:
        lines.append("vSAN enabled")
    for u in f["units"]:
        lines.append(f"{u['title']}: [{_MARK[u['status']].strip()}] {u['summary']}")
        for x in u["units"]:
            lines.append(f"  {x['label']}: {len(x['hosts'])} hosts ({', '.join(x['labels'][:8])}"
                         f"{', …' if len(x['labels']) > 8 else ''}), {x['cpu_percent']:.1f} % of the CPU, "
                         f"{x['memory_percent']:.1f} % of the memory")
        if u["admission"]:
            lines.append(f"  admission control: {u['admission']['sentence']}")
        for w in (u["sweep"] or {}).get("worst", ())[:1]:
            lines += _t_worst(w, "  worst: ", hosts=False, most=_VMS_SHOWN)
        if u["remedies"]:
            lines.append(f"  remedies ({u['noun']} failures):")
            lines += [f"  {line}" for line in _t_remedies(u["remedies"], d).splitlines()]
    return "\n".join(lines)
