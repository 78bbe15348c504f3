"""Plots for notebooks and reports: capacity before and after a failure, a Gantt chart of a
simulation, a heat map of two-host failures, failover levels.

matplotlib is an optional dependency (``pip install matplotlib``); it is imported when a
plot is drawn, so ``import hapolicy.plot`` always works. Every function draws on ``ax`` when
given (a new figure otherwise) and returns the Axes it drew on.

>>> from hapolicy import plot
>>> plot.capacity(inv, failed_hosts=["host-21"])        # doctest: +SKIP
>>> plot.timeline(sim)                                  # doctest: +SKIP
>>> plot.sweep_heatmap(ha.sweep(inv, max_failures=2))   # doctest: +SKIP
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from .enums import EventKind, HostState, PowerState
from .inventory import Inventory
from .placement import FailoverPlan, plan_failover
from .simulation import Event, Simulation, Timeline

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["HOST_STATE_COLORS", "capacity", "failover_levels", "sweep_heatmap", "timeline"]


def __dir__() -> list[str]:
    """The module's API (``__all__``) and its dunder names: the names it imports (``Any``,
    ``Counter``, ``Inventory`` …) are not part of ``hapolicy.plot``."""
    return sorted({*__all__, *(name for name in globals() if name.startswith("__"))})


_INSTALL = "pip install matplotlib"


def _require_matplotlib() -> None:
    try:
        import matplotlib  # noqa: F401
    except ImportError as exc:
        raise ImportError(f"hapolicy.plot needs matplotlib, an optional dependency: {_INSTALL}") from exc


def _new_axes(ax: Axes | None, size: tuple[float, float]) -> Axes:
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    _, new = plt.subplots(figsize=size, layout="constrained")
    return new


# ------------------------------------------------------------------------------ capacity


_RESERVED = "#4c72b0"
_RESTARTED = "#dd8452"
_FREE = "#d9e3f0"
_FAILED = "#bbbbbb"


@dataclass(frozen=True, slots=True)
class _HostLoad:
    host: str
    capacity: tuple[int, int]         # CPU MHz, memory MB
    reserved: tuple[int, int]         # by the VMs running there before the failure
    restarted: tuple[int, int]        # by the VMs HA restarts there
    restarted_vms: int
    failed: bool


def _loads(inv: Inventory, failed_hosts: Sequence[str], plan: FailoverPlan | None) -> list[_HostLoad]:
    """Per host, by id: its capacity, what the powered-on VMs running there reserve (memory
    overhead included) and what the VMs ``plan`` restarts there add; ``plan`` is the failover
    plan of ``failed_hosts`` (None: no failure). Also the report's capacity section."""
    reserved: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    vms = {v.id: v for v in inv.vms}
    for v in inv.vms:
        if v.host is not None and v.power_state == PowerState.POWERED_ON:
            r = reserved[v.host]
            r[0] += v.cpu_reservation_mhz
            r[1] += v.memory_reservation_mb + v.memory_overhead_mb
    added: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for p in plan.placements if plan is not None else ():
        v = vms[p.vm]
        a = added[p.host]
        a[0] += v.cpu_reservation_mhz
        a[1] += v.memory_reservation_mb + v.memory_overhead_mb
        a[2] += 1
    loads = [
        _HostLoad(h.id, (h.cpu_mhz, h.memory_mb), (reserved[h.id][0], reserved[h.id][1]),
                  (added[h.id][0], added[h.id][1]), added[h.id][2], h.id in failed_hosts)
        for h in sorted(inv.hosts, key=lambda h: h.id)
    ]
    return loads


def _num(x: float) -> str:
    return f"{x:.1f}" if abs(x) < 100 else f"{x:.0f}"


def capacity(
    inv: Inventory, failed_hosts: Iterable[str] = (), ax: Sequence[Axes] | None = None
) -> tuple[Axes, Axes]:
    """Reserved and unreserved CPU and memory per host, before and after ``failed_hosts`` fail.

    Two panels (CPU in GHz, memory in GB, reservations including memory overhead), one bar
    per host: the reservations of the VMs running there, then (after a failure) the
    reservations of the VMs :func:`~hapolicy.plan_failover` restarts there, then what stays
    unreserved. A failed host's bar is hatched. ``ax`` is a pair of Axes ``(cpu, memory)`` to
    draw on; returns that pair.
    """
    _require_matplotlib()
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    failed = [failed_hosts] if isinstance(failed_hosts, str) else list(failed_hosts)
    plan = plan_failover(inv, failed) if failed else None
    loads = _loads(inv, failed, plan)
    if ax is None:
        _, axes = plt.subplots(1, 2, figsize=(12, 1.6 + 0.55 * len(loads)), layout="constrained", sharey=True)
        cpu_ax, mem_ax = axes[0], axes[1]
    else:
        if len(ax) != 2:
            raise ValueError("capacity draws two panels: pass ax=(cpu_axes, memory_axes)")
        cpu_ax, mem_ax = ax[0], ax[1]

    y = list(range(len(loads)))
    labels = [f"{h.host}\n(failed)" if h.failed else h.host for h in loads]
    for i, (panel, unit, scale, title) in enumerate(
        ((cpu_ax, "GHz", 1000.0, "CPU reservations"), (mem_ax, "GB", 1024.0, "Memory reservations (incl. overhead)"))
    ):
        cap = [h.capacity[i] / scale for h in loads]
        res = [h.reserved[i] / scale for h in loads]
        add = [h.restarted[i] / scale for h in loads]
        free = [max(c - r - a, 0.0) for c, r, a in zip(cap, res, add)]
        for j, h in enumerate(loads):
            if h.failed:
                panel.barh(j, cap[j], color=_FAILED, hatch="//", edgecolor="white", height=0.6)
                panel.barh(j, res[j], color=_RESERVED, alpha=0.35, hatch="//", edgecolor="white", height=0.6)
            else:
                panel.barh(j, res[j], color=_RESERVED, height=0.6)
                panel.barh(j, add[j], left=res[j], color=_RESTARTED, height=0.6)
                panel.barh(j, free[j], left=res[j] + add[j], color=_FREE, height=0.6)
            if h.failed:
                note = f"failed ({_num(res[j])} {unit} of VMs)"
            else:
                pct = 100.0 * free[j] / cap[j] if cap[j] else 0.0
                note = f"{_num(free[j])} of {_num(cap[j])} {unit} free ({pct:.0f} %)"
            panel.annotate(note, (cap[j], j), xytext=(4, 0), textcoords="offset points", va="center", fontsize=8)
        panel.set_title(title)
        panel.set_xlabel(f"{'CPU' if i == 0 else 'memory'} ({unit})")
        panel.set_xlim(0, max(cap, default=1.0) * 1.5)
        panel.grid(axis="x", alpha=0.3)
        panel.set_axisbelow(True)
    for panel in (cpu_ax, mem_ax):
        panel.set_yticks(y, labels)
        panel.set_ylim(len(loads) - 0.5, -0.5)  # first host on top
    cpu_ax.set_ylabel("host")
    handles = [Patch(color=_RESERVED, label="reserved by running VMs")]
    if plan is not None:
        handles += [Patch(color=_RESTARTED, label="reserved by VMs HA restarts here"),
                    Patch(facecolor=_FAILED, hatch="//", edgecolor="white", label="failed host")]
    handles.append(Patch(color=_FREE, label="unreserved" + (" after failover" if plan is not None else "")))
    cpu_ax.figure.legend(handles=handles, loc="outside lower center", ncols=len(handles), fontsize=8, frameon=False)
    if plan is None:
        headline = f"Capacity per host — {inv.config.name or 'cluster'}, no failure"
    else:
        headline = (f"Capacity per host after {', '.join(failed)} fail{'s' if len(failed) == 1 else ''} — "
                    f"{plan.restarted} VMs restarted, {len(plan.unplaced)} unplaced")
    cpu_ax.figure.suptitle(headline)
    return cpu_ax, mem_ax


# ------------------------------------------------------------------------------ timeline


#: Colours of the host states in :func:`timeline` (HostState values plus ``unreachable``,
#: the master's ping window before it decides).
HOST_STATE_COLORS: dict[str, str] = {
    HostState.MASTER.value: "#1b7837",
    HostState.CONNECTED_TO_MASTER.value: "#a6dba0",
    HostState.ELECTION.value: "#fee391",
    "unreachable": "#fdae6b",
    HostState.FDM_UNREACHABLE.value: "#c2a5cf",
    HostState.NETWORK_PARTITIONED_FROM_MASTER.value: "#f768a1",
    HostState.NETWORK_ISOLATED.value: "#ae017e",
    HostState.HOST_DOWN.value: "#d73027",
}
_OTHER_STATE = "#bdbdbd"

_POWERED_OFF_KINDS = {EventKind.ISOLATION_RESPONSE, EventKind.VM_POWERED_OFF, EventKind.VM_TERMINATED}
_UNPLACED_KINDS = {EventKind.VM_UNPLACED, EventKind.RESTART_GAVE_UP}


def _pick_main(groups: Mapping[str, set[str]], incumbent: str | None) -> str | None:
    if not groups:
        return None
    return max(groups, key=lambda m: (len(groups[m]), m == incumbent))


def _host_states(events: Sequence[Event], hosts: Iterable[str]) -> dict[str, list[tuple[float, str]]]:
    """Each host's state over time as the master of the main partition reports it (the view of
    ``Simulation.host_states()``): a list of ``(since, state)`` changes per host."""
    changes: dict[str, list[tuple[float, str]]] = {h: [] for h in hosts}
    groups: dict[str, set[str]] = {}  # acting master -> hosts of its partition
    main: str | None = None
    dead: set[str] = set()

    def put(h: str, t: float, state: str) -> None:
        seq = changes.setdefault(h, [])
        if seq and seq[-1][0] == t:
            seq[-1] = (t, state)
        elif not seq or seq[-1][1] != state:
            seq.append((t, state))

    for e in events:
        d = e.detail
        if e.kind == EventKind.MASTER_ELECTED and e.host is not None:
            members = set(d.get("hosts") or [e.host])
            groups = {m: g - members for m, g in groups.items() if m not in members and m not in dead}
            groups[e.host] = members
            main = _pick_main(groups, main)
            if e.host == main:
                for h in members:
                    put(h, e.time, HostState.CONNECTED_TO_MASTER.value)
                put(e.host, e.time, HostState.MASTER.value)
        elif e.kind == EventKind.MASTER_ABDICATED and e.host is not None:
            members = groups.pop(e.host, {e.host})
            to = d.get("to")
            if isinstance(to, str):
                groups.setdefault(to, {to}).update(members)
                main = _pick_main(groups, to if main == e.host else main)
                if to == main:
                    put(to, e.time, HostState.MASTER.value)
                    for h in members:
                        put(h, e.time, HostState.CONNECTED_TO_MASTER.value)
        elif e.kind == EventKind.ELECTION_STARTED:
            for h in d.get("hosts") or ():
                put(h, e.time, HostState.ELECTION.value)
        elif e.kind in (EventKind.HOST_UNREACHABLE, EventKind.HOST_STATE) and e.host is not None:
            reporter = d.get("master")
            if reporter is None or main is None or reporter == main:
                state = "unreachable" if e.kind == EventKind.HOST_UNREACHABLE else str(d.get("state"))
                put(e.host, e.time, state)
        elif e.kind == EventKind.ISOLATION_DECLARED and e.host is not None:
            put(e.host, e.time, HostState.NETWORK_ISOLATED.value)
        elif e.kind == EventKind.FAULT:
            kind = d.get("type")
            if kind == "host_failure" and e.host is not None:
                dead.add(e.host)
                groups.pop(e.host, None)
                main = _pick_main(groups, main) if main == e.host else main
            elif kind == "host_recovery" and e.host is not None:
                dead.discard(e.host)
            elif kind == "power_outage":
                dead.update(changes)
                groups, main = {}, None
                for h in changes:
                    put(h, e.time, HostState.HOST_DOWN.value)
            elif kind == "power_restore":
                dead.clear()
    return changes


def _events_and_hosts(timeline_or_sim: Timeline | Simulation | Iterable[Event]) -> tuple[list[Event], list[str], float]:
    if isinstance(timeline_or_sim, Simulation):
        events = list(timeline_or_sim.timeline)
        hosts = sorted(h.id for h in timeline_or_sim.inventory.hosts)
        end = events[-1].time if events else timeline_or_sim.now
    else:
        events = list(timeline_or_sim)
        seen: set[str] = set()
        for e in events:
            if e.host is not None and e.kind not in _UNPLACED_KINDS:
                seen.add(e.host)
            seen.update(h for h in e.detail.get("hosts") or () if isinstance(h, str))
        hosts = sorted(seen)
        end = events[-1].time if events else 0.0
    return events, hosts, end


def timeline(
    timeline_or_sim: Timeline | Simulation | Iterable[Event],
    ax: Axes | None = None,
    *,
    until: float | None = None,
    title: str | None = None,
) -> Axes:
    """A Gantt chart of a simulation: one row per host coloured by its state as the master
    reports it (R-CLASS-M; ``unreachable`` is the master's ping window), with markers for
    faults, master elections, VMs powered off (isolation response, VMCP) and VM restarts (on
    the target host; a number gives how many at once), and a row for VMs HA could not place.

    ``timeline_or_sim`` is a :class:`~hapolicy.Timeline` or a :class:`~hapolicy.Simulation`
    (its timeline so far, with every host of its inventory). The time axis ends a little after
    the last event; ``until`` sets its end.
    """
    _require_matplotlib()
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    events, hosts, end = _events_and_hosts(timeline_or_sim)
    states = _host_states(events, hosts)
    hosts = sorted(states)
    unplaced = [e for e in events if e.kind in _UNPLACED_KINDS]
    rows = hosts + (["(unplaced)"] if unplaced else [])
    row = {h: i for i, h in enumerate(rows)}
    ax = _new_axes(ax, (11, 1.8 + 0.5 * len(rows)))

    right = until if until is not None else max(end, 1.0) * 1.08 + 2.0
    used_states: list[str] = []
    for h in hosts:
        seq = states[h]
        for k, (since, state) in enumerate(seq):
            stop = seq[k + 1][0] if k + 1 < len(seq) else right
            if stop <= since:
                continue
            ax.barh(row[h], stop - since, left=since, height=0.6,
                    color=HOST_STATE_COLORS.get(state, _OTHER_STATE), edgecolor="white", linewidth=0.5)
            if state not in used_states:
                used_states.append(state)

    handles: list[Any] = [
        Patch(color=HOST_STATE_COLORS.get(s, _OTHER_STATE), label=s)
        for s in sorted(used_states, key=lambda s: list(HOST_STATE_COLORS).index(s) if s in HOST_STATE_COLORS else 99)
    ]

    bucket = right / 50.0  # markers closer than this merge into one, labelled with the count

    def marker(points: Sequence[tuple[float, str]], style: str, color: str, label: str, size: float = 70,
               counts: bool = False) -> None:
        if not points:
            return
        if counts:
            groups: dict[tuple[int, str], list[float]] = defaultdict(list)
            for t, h in points:
                groups[(int(t // bucket), h)].append(t)
            merged = [(min(ts), h, len(ts)) for (_, h), ts in groups.items()]
        else:
            merged = [(t, h, n) for (t, h), n in Counter(points).items()]
        edge: dict[str, Any] = {"edgecolor": "black", "linewidth": 0.6} if style not in ("x", "+") else {}
        ax.scatter([t for t, _, _ in merged], [row[h] for _, h, _ in merged], marker=style, s=size, color=color,
                   zorder=3, clip_on=False, **edge)
        if counts and len(merged) <= 80:
            for t, h, n in merged:
                if n > 1:
                    ax.annotate(f"×{n}", (t, row[h]), xytext=(0, 7), textcoords="offset points", ha="center",
                                fontsize=7)
        handles.append(Line2D([], [], linestyle="", marker=style, markersize=8, color=color,
                              markeredgecolor="black" if edge else color, label=label))

    faults = [e for e in events if e.kind == EventKind.FAULT]
    host_faults = [(e.time, e.host) for e in faults if e.host is not None and e.host in row]
    marker(host_faults, "X", "black", "fault (host)", size=90)
    for e in faults:
        if e.host is not None and e.host in row and len(faults) <= 12:
            ax.annotate(str(e.detail.get("type", "")).replace("_", " "), (e.time, row[e.host]),
                        xytext=(6, -13), textcoords="offset points", fontsize=7)
    global_faults = [e for e in faults if e.host is None]
    for e in global_faults:
        ax.axvline(e.time, color="black", linestyle="--", linewidth=1, zorder=2)
        ax.annotate(str(e.detail.get("type", "fault")).replace("_", " "), (e.time, -0.75), xytext=(3, 0),
                    textcoords="offset points", fontsize=8, va="center")
    if global_faults:
        handles.append(Line2D([], [], color="black", linestyle="--", label="fault (cluster-wide)"))
    marker([(e.time, e.host) for e in events if e.kind == EventKind.MASTER_ELECTED and e.host in row],
           "*", "gold", "master elected", size=160)
    marker([(e.time, e.host) for e in events if e.kind in _POWERED_OFF_KINDS and e.host in row],
           "v", "#762a83", "VM powered off (isolation response / VMCP)", counts=True)
    marker([(e.time, e.host) for e in events if e.kind == EventKind.VM_RESTARTED and e.host in row],
           "^", "#2166ac", "VM restarted here", counts=True)
    marker([(e.time, "(unplaced)") for e in unplaced], "x", "#b2182b", "VM unplaced / gave up", size=50, counts=True)

    ax.set_yticks(range(len(rows)), rows)
    if not rows:
        ax.text(0.5, 0.5, "no events", ha="center", va="center", transform=ax.transAxes)
    ax.set_ylim(max(len(rows), 1) - 0.5, -1.0 if global_faults else -0.5)  # first host on top, room for fault labels
    ax.set_xlim(-0.01 * right, right)
    ax.set_xlabel("time since the start of the simulation (s, virtual clock)")
    ax.set_ylabel("host")
    ax.grid(axis="x", alpha=0.3)
    ax.set_axisbelow(True)
    ax.set_title(title or "Host states as the master reports them, and VM restarts")
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    return ax


# ------------------------------------------------------------------------------ sweeps


@dataclass(frozen=True, slots=True)
class _Row:
    failed_hosts: tuple[str, ...]
    restarted: int
    unplaced: int
    unplaced_vms: tuple[str, ...]


def _ids(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return tuple(p for p in re.split(r"[\s,+]+", value) if p)
    return tuple(str(v) for v in value)


def _get(r: Any, name: str) -> Any:
    return r.get(name) if isinstance(r, Mapping) else getattr(r, name, None)


def _rows(sweep_result_or_records: Any) -> list[_Row]:
    """Normalises a SweepResult, its ``results``, ``to_records()``, a DataFrame, or any
    iterable of objects/dicts with ``failed_hosts``, ``restarted``, ``unplaced``,
    ``unplaced_vms``."""
    data = sweep_result_or_records
    if hasattr(data, "results"):
        data = data.results
    elif hasattr(data, "to_dict") and hasattr(data, "columns"):  # pandas DataFrame
        data = data.to_dict("records")
    rows = []
    for r in data:
        vms = _ids(_get(r, "unplaced_vms"))
        unplaced = _get(r, "unplaced")
        rows.append(_Row(_ids(_get(r, "failed_hosts")), int(_get(r, "restarted") or 0),
                         int(unplaced) if unplaced is not None else len(vms), vms))
    return rows


def sweep_heatmap(
    sweep_result_or_records: Any,
    ax: Axes | None = None,
    *,
    detail: Literal["hosts", "vms"] = "hosts",
    annotate: bool | None = None,
) -> Axes:
    """What two-host failures leave unplaced, from a sweep's results (``ha.sweep(inv,
    max_failures=2)``, its ``to_records()`` or ``to_pandas()``, or any records with
    ``failed_hosts``, ``unplaced`` and ``unplaced_vms``).

    ``detail="hosts"`` (default): a host × host matrix, each cell the number of VMs left
    unplaced when both hosts fail (the diagonal: that host alone, when one-host results are
    present). ``detail="vms"``: one row per failing host pair, one column per VM it strands.
    ``annotate`` writes the numbers in the cells (default: when the matrix is small).
    """
    _require_matplotlib()
    import matplotlib.pyplot as plt

    rows = _rows(sweep_result_or_records)
    pairs = [r for r in rows if len(r.failed_hosts) == 2]
    singles = {r.failed_hosts[0]: r for r in rows if len(r.failed_hosts) == 1}
    if not pairs:
        raise ValueError("sweep_heatmap needs two-host failure results: sweep with max_failures=2 (or more)")
    if detail == "vms":
        return _pair_vm_matrix(pairs, ax, annotate)
    if detail != "hosts":
        raise ValueError(f"detail must be 'hosts' or 'vms', got {detail!r}")

    hosts = sorted({h for r in pairs for h in r.failed_hosts} | set(singles))
    index = {h: i for i, h in enumerate(hosts)}
    n = len(hosts)
    grid = [[float("nan")] * n for _ in range(n)]
    for r in pairs:
        a, b = index[r.failed_hosts[0]], index[r.failed_hosts[1]]
        grid[a][b] = grid[b][a] = float(r.unplaced)
    for h, r in singles.items():
        grid[index[h]][index[h]] = float(r.unplaced)
    worst = max((v for line in grid for v in line if v == v), default=0.0)

    ax = _new_axes(ax, (2.5 + 0.55 * n, 1.8 + 0.5 * n))
    cmap = plt.get_cmap("Reds").with_extremes(bad="#f0f0f0")
    image = ax.imshow(grid, cmap=cmap, vmin=0, vmax=max(worst, 1.0))
    if annotate if annotate is not None else n <= 24:
        for i in range(n):
            for j in range(n):
                v = grid[i][j]
                if v == v:
                    ax.text(j, i, f"{v:g}", ha="center", va="center", fontsize=8,
                            color="white" if v > 0.6 * max(worst, 1.0) else "black")
    ax.set_xticks(range(n), hosts, rotation=45, ha="right")
    ax.set_yticks(range(n), hosts)
    ax.set_xlabel("failed host")
    ax.set_ylabel("failed host")
    failing = sum(1 for r in pairs if r.unplaced)
    ax.set_title(f"VMs left unplaced when two hosts fail\n{failing} of {len(pairs)} pairs strand VMs"
                 + ("; diagonal: one host" if singles else ""))
    if singles:
        from matplotlib.patches import Rectangle

        for h in singles:
            i = index[h]
            ax.add_patch(Rectangle((i - 0.5, i - 0.5), 1, 1, fill=False, edgecolor="#404040", linewidth=1.2))
    from matplotlib.ticker import MaxNLocator

    bar = ax.figure.colorbar(image, ax=ax, label="unplaced VMs", shrink=0.8)
    bar.locator = MaxNLocator(integer=True)
    bar.update_ticks()
    return ax


def _pair_vm_matrix(pairs: Sequence[_Row], ax: Axes | None, annotate: bool | None) -> Axes:
    from matplotlib.colors import ListedColormap

    failing = [r for r in pairs if r.unplaced]
    vms = sorted({v for r in failing for v in r.unplaced_vms})
    ax = _new_axes(ax, (max(6.5, 3.0 + 0.45 * len(vms)), 1.8 + 0.4 * max(len(failing), 2)))
    if not failing:
        ax.text(0.5, 0.5, f"no pair of hosts strands a VM ({len(pairs)} pairs)", ha="center", va="center",
                transform=ax.transAxes)
        ax.set_axis_off()
        ax.set_title("VMs left unplaced by two-host failures")
        return ax
    grid = [[1.0 if v in r.unplaced_vms else 0.0 for v in vms] for r in failing]
    ax.imshow(grid, cmap=ListedColormap(["#f7f7f7", "#b2182b"]), vmin=0, vmax=1, aspect="auto")
    ax.set_xticks(range(len(vms)), vms, rotation=45, ha="right")
    ax.set_yticks(range(len(failing)), [" + ".join(r.failed_hosts) for r in failing])
    ax.set_xticks([x - 0.5 for x in range(1, len(vms))], minor=True)
    ax.set_yticks([y - 0.5 for y in range(1, len(failing))], minor=True)
    ax.grid(which="minor", color="white", linewidth=1.5)
    ax.tick_params(which="minor", length=0)
    ax.set_xlabel("VM left unplaced")
    ax.set_ylabel("failed hosts")
    listed = sum(len(r.unplaced_vms) for r in failing)
    total = sum(r.unplaced for r in failing)
    note = "" if listed == total else f" (listing limited: {listed} of {total} shown)"
    ax.set_title(f"Which VMs each two-host failure strands{note}\n{len(failing)} of {len(pairs)} pairs strand VMs")
    return ax


def failover_levels(sweep_result_or_records: Any, ax: Axes | None = None) -> Axes:
    """For each number of failed hosts in a sweep: the share of host combinations after which
    HA restarts every VM (bars) and the most VMs any combination leaves unplaced (labels)."""
    _require_matplotlib()

    rows = _rows(sweep_result_or_records)
    if not rows:
        raise ValueError("failover_levels needs sweep results")
    by_k: dict[int, list[_Row]] = defaultdict(list)
    for r in rows:
        by_k[len(r.failed_hosts)].append(r)
    ks = sorted(by_k)
    share = [100.0 * sum(1 for r in by_k[k] if not r.unplaced) / len(by_k[k]) for k in ks]
    worst = [max(r.unplaced for r in by_k[k]) for k in ks]
    ax = _new_axes(ax, (max(5.5, 1.8 + 1.2 * len(ks)), 4.0))
    ax.bar(ks, share, color="#1b7837", width=0.6, label="every VM restarted")
    ax.bar(ks, [100.0 - s for s in share], bottom=share, color="#d73027", width=0.6, label="VMs left unplaced")
    for k, s, w, n in zip(ks, share, worst, (len(by_k[k]) for k in ks)):
        ax.annotate(f"{s:.0f} % of {n}\nworst: {w} unplaced", (k, 100.0), xytext=(0, 4), textcoords="offset points",
                    ha="center", va="bottom", fontsize=8)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), ncols=2, fontsize=8, frameon=False)
    tolerated = 0
    for k, s in zip(ks, share):
        if s < 100.0 or k != tolerated + 1:
            break
        tolerated = k
    ax.set_xticks(ks, [str(k) for k in ks])
    ax.set_ylim(0, 125)
    ax.set_xlabel("hosts failed at once")
    ax.set_ylabel("combinations with every VM restarted (%)")
    if tolerated:
        detail = f"every combination of up to {tolerated} failed host{'s' if tolerated != 1 else ''} restarts every VM"
    else:
        detail = "some single host failure leaves VMs unplaced"
    ax.set_title(f"Failover level {tolerated}\n{detail}")
    ax.grid(axis="y", alpha=0.3)
    ax.set_axisbelow(True)
    return ax
