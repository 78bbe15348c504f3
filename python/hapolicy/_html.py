"""HTML rendering of the HA report and of the result objects' ``_repr_html_`` (one renderer).

Templates live in ``hapolicy/templates`` (Jinja2, autoescaped) and are shipped inside the
package. A *section* template renders one part of the report from the plain data the report's
``to_dict()`` holds for it; the full page (``page.html.j2``) includes the section templates, and
the Jupyter representations of :class:`~hapolicy.AdmissionReport`,
:class:`~hapolicy.FailoverPlan`, :class:`~hapolicy.SweepResult` and the remedies render the same
section templates inside a ``<div class="hapolicy">`` that carries the same stylesheet.

Charts are inline SVG made by a template from figures computed here: the page needs no network,
no JavaScript and no matplotlib.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import Any

import jinja2

__all__ = ["capacity_chart", "fragment", "number", "page", "stylesheet"]


def number(value: Any, digits: int = 0) -> str:
    """``65946`` → ``"65,946"``; ``None`` → ``"–"``; floats with ``digits`` decimals."""
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return str(value)


def _percent(value: Any) -> str:
    return "–" if value is None else f"{float(value):.1f} %"


def _gb(mb: Any) -> str:
    """MB as GB with one decimal below 100 GB (the chart's annotations)."""
    gb = float(mb) / 1024.0
    return f"{gb:,.1f} GB" if gb < 100 else f"{gb:,.0f} GB"


def _ghz(mhz: Any) -> str:
    ghz = float(mhz) / 1000.0
    return f"{ghz:,.1f} GHz" if ghz < 100 else f"{ghz:,.0f} GHz"


@functools.cache
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("hapolicy", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
    )
    env.filters["num"] = number
    env.filters["pct"] = _percent
    env.filters["gb"] = _gb
    env.filters["ghz"] = _ghz
    env.globals["chart_hosts"] = CHART_HOSTS
    return env


def stylesheet() -> str:
    """The report's CSS (inlined in the page and in every Jupyter fragment)."""
    return _environment().loader.get_source(_environment(), "report.css")[0]  # type: ignore[union-attr]


def page(data: Mapping[str, Any]) -> str:
    """The complete, self-contained report page for a report's ``to_dict()``."""
    return _environment().get_template("page.html.j2").render(
        r=data, css=stylesheet(), chart=capacity_chart(data["capacity"]))


def fragment(section: str, data: Mapping[str, Any], **extra: Any) -> str:
    """One section (``admission_control``, ``host_failures``, ``plan``, ``remedies``, …) as an
    HTML fragment with the report's stylesheet, for Jupyter's ``_repr_html_``."""
    env = _environment()
    body = env.get_template(f"sections/{section}.html.j2").render(s=data, standalone=True, **extra)
    return f'<div class="hapolicy"><style>{stylesheet()}</style>{body}</div>'


# ------------------------------------------------------------------------------ capacity chart

_ROW = 22          # height of one bar
_GAP = 14          # between hosts
_LABEL_W = 250     # host labels on the left
_BAR_W = 400       # bar area
_NOTE_X = _LABEL_W + _BAR_W + 10
_WIDTH = 960


#: At most this many hosts are drawn in the capacity chart.
CHART_HOSTS = 24


def chart_hosts(hosts: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The hosts the chart draws, in inventory order: all when few, else the failed hosts and
    the survivors with the least memory free (in % of their memory)."""
    if len(hosts) <= CHART_HOSTS:
        return list(hosts)
    failed = [h for h in hosts if h["failed"]]
    survivors = sorted((h for h in hosts if not h["failed"]),
                       key=lambda h: h["free_memory_mb"] / h["memory_mb"] if h["memory_mb"] else 0.0)
    keep = {id(h) for h in [*failed, *survivors][:CHART_HOSTS]}
    return [h for h in hosts if id(h) in keep]


def _clip(text: str, n: int) -> str:
    """At most ``n`` characters, with an ellipsis when cut (SVG text does not wrap)."""
    return text if len(text) <= n else text[: n - 1] + "…"


def capacity_chart(capacity: Mapping[str, Any]) -> str:
    """An inline SVG: per host, one bar for CPU and one for memory, split into reserved by the
    running VMs, taken by the VMs HA restarts there in the chart's failure scenario (failover
    headroom in use) and unreserved; failed hosts are hatched grey. Scales to the page width
    (``viewBox``). With more than :data:`CHART_HOSTS` hosts, the failed hosts and the fullest
    survivors (least memory free, in %) are drawn; the table under the chart lists every host."""
    everything: Sequence[Mapping[str, Any]] = capacity["hosts"]
    if not everything:
        return ""
    hosts = chart_hosts(everything)
    max_cpu = max((h["cpu_mhz"] for h in hosts), default=0) or 1
    max_mem = max((h["memory_mb"] for h in hosts), default=0) or 1
    rows = []
    y = 34
    for h in hosts:
        bars = []
        for kind, cap, res, add, free, scale, fmt in (
            ("CPU", h["cpu_mhz"], h["reserved_cpu_mhz"], h["restarted_cpu_mhz"], h["free_cpu_mhz"], max_cpu, _ghz),
            ("memory", h["memory_mb"], h["reserved_memory_mb"], h["restarted_memory_mb"], h["free_memory_mb"],
             max_mem, _gb),
        ):
            full = _BAR_W * cap / scale
            res_w = 0.0 if cap == 0 else full * min(res, cap) / cap
            add_w = 0.0 if cap == 0 else full * min(add, max(cap - res, 0)) / cap
            pct = 100.0 * free / cap if cap else 0.0
            if h["failed"]:
                note = f"{kind}: failed — its VMs held {fmt(res)}"
            else:
                note = f"{kind}: {fmt(free)} of {fmt(cap)} free ({pct:.0f} %)"
            bars.append({"kind": kind, "full": round(full, 1), "res": round(res_w, 1), "add": round(add_w, 1),
                         "note": note, "title": f"{h['label']} {kind}: capacity {fmt(cap)}, reserved {fmt(res)}, "
                         f"restarted here {fmt(add)}, free {fmt(free)}"})
        label, ident = str(h["label"]), str(h["host"])
        name = label[len(ident) + 2:-1] if label.startswith(ident + " (") and label.endswith(")") else ""
        rows.append({"y": y, "id": _clip(ident, 26), "name": _clip(name, 36), "label": label, "failed": h["failed"],
                     "bars": bars})
        y += 2 * _ROW + _GAP
    height = y + 4
    return _environment().get_template("capacity_chart.svg.j2").render(
        rows=rows, width=_WIDTH, height=height, row=_ROW, label_w=_LABEL_W, note_x=_NOTE_X,
        scenario=capacity.get("scenario"))
