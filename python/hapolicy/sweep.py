"""What-if sweeps: every combination of up to k failed hosts, planned in parallel (R-PLACE).

>>> s = ha.sweep(inv, max_failures=2)                       # doctest: +SKIP
>>> s.scenarios, s.max_failures_tolerated                   # doctest: +SKIP
(4656, 1)
>>> s.worst(3)                                              # doctest: +SKIP
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from . import _core
from ._args import FAILURE_UNITS, failure_unit, id_list, whole_number
from ._tabular import records_to_pandas
from .enums import UnplacedReason
from .errors import ArgumentError
from .inventory import Inventory

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["FailuresTolerated", "LevelSummary", "ScenarioResult", "SweepResult", "failures_tolerated", "sweep"]

ProgressCallback = Callable[[int, int], object]

#: The failure units of R-DOMAIN.
UNITS = FAILURE_UNITS


@dataclass(frozen=True, slots=True)
class ScenarioResult:
    """One failure combination: how many VMs restart, which do not (and why), and the
    unreserved capacity left on the surviving hosts. ``failed_units`` names the failed hosts,
    fault domains or sites (R-DOMAIN; the host ids for a host sweep), ``failed_hosts`` every
    host they take down."""

    failed_hosts: tuple[str, ...]
    restarted: int
    unplaced: int
    unplaced_vms: tuple[str, ...] = ()
    reasons: tuple[UnplacedReason, ...] = ()
    cpu_left_mhz: int = 0
    memory_left_mb: int = 0
    failed_units: tuple[str, ...] = ()

    @property
    def fully_restarted(self) -> bool:
        """True when every VM HA attempts to restart in this scenario found a host."""
        return self.unplaced == 0

    def to_dict(self) -> dict[str, Any]:
        """The scenario as plain data (``failures`` is the number of failed hosts)."""
        return {
            "failed_units": list(self.failed_units or self.failed_hosts),
            "failed_hosts": list(self.failed_hosts), "failures": len(self.failed_units or self.failed_hosts),
            "restarted": self.restarted,
            "unplaced": self.unplaced, "unplaced_vms": list(self.unplaced_vms), "reasons": [str(r) for r in self.reasons],
            "cpu_left_mhz": self.cpu_left_mhz, "memory_left_mb": self.memory_left_mb,
        }


@dataclass(frozen=True, slots=True)
class LevelSummary:
    """Figures for one failure count ``failures``."""

    failures: int
    combinations: int
    evaluated: int
    fully_restarted: int
    worst_unplaced: int
    unplaced_total: int


def _scenario(
    t: tuple[list[str], int, int, list[tuple[str, str]], tuple[int, int], list[str]],
) -> ScenarioResult:
    hosts, restarted, unplaced, vms, (cpu, mem), units = t
    return ScenarioResult(tuple(hosts), restarted, unplaced, tuple(v for v, _ in vms),
                          tuple(UnplacedReason(r) for _, r in vms), cpu, mem, tuple(units))


_COLUMNS = ("failed_units", "failed_hosts", "failures", "restarted", "unplaced", "unplaced_vms", "reasons", "cpu_left_mhz", "memory_left_mb")


class SweepResult(Sequence[ScenarioResult]):
    """The outcome of a sweep: a sequence of :class:`ScenarioResult` in enumeration order (by
    failure count, then host order), plus per-count summaries. Picklable; shards merge."""

    __slots__ = ("_core", "_inventory", "_results")

    def __init__(self, core: _core.SweepResult, inventory: Inventory) -> None:
        self._core = core
        self._inventory = inventory
        self._results: tuple[ScenarioResult, ...] | None = None

    # ---------------------------------------------------------------- figures
    @property
    def scenarios(self) -> int:
        """How many host-failure combinations were evaluated."""
        return self._core.scenarios()

    @property
    def max_failures_tolerated(self) -> int | None:
        """The largest k such that every k-host failure restarts every VM HA attempts (0: some
        single failure already leaves a VM behind). ``None`` when the evaluated scenarios cannot
        tell (a shard, a sample, an interrupted sweep); ``max_failures`` means "at least that"."""
        return self._core.max_failures_tolerated()

    @property
    def max_failures(self) -> int:
        """The largest number of failed hosts the sweep evaluated."""
        return self._core.max_failures()

    @property
    def complete(self) -> bool:
        """False when the sweep was stopped early (Ctrl-C, or the progress callback returned False)."""
        return self._core.complete()

    @property
    def sweep_size(self) -> int:
        """How many scenarios the whole sweep (all shards) has."""
        return self._core.sweep_size()

    @property
    def candidate_hosts(self) -> list[str]:
        """The hosts whose failures were combined (sorted ids)."""
        return self._core.candidate_hosts()

    @property
    def unit(self) -> str:
        """What one failure took down (R-DOMAIN): ``"host"``, ``"fault_domain"`` or ``"site"``;
        ``max_failures`` and ``per_k`` count these units."""
        return self._core.unit()

    @property
    def units(self) -> dict[str, tuple[str, ...]]:
        """The units failures were drawn from, in order: name → the ids of its hosts that could
        fail (a host sweep: each host id → itself)."""
        return {name: tuple(hosts) for name, hosts in self._core.units()}

    @property
    def per_k(self) -> list[LevelSummary]:
        """One :class:`LevelSummary` per number of failed hosts, 1 to ``max_failures``."""
        return [LevelSummary(*row) for row in self._core.per_k()]

    @property
    def results(self) -> tuple[ScenarioResult, ...]:
        """Every kept scenario result (all of them unless ``worst_only`` was given)."""
        if self._results is None:
            self._results = tuple(_scenario(t) for t in self._core.results(0, None))
        return self._results

    def worst(self, n: int = 10) -> list[ScenarioResult]:
        """The ``n`` scenarios leaving the most VMs unplaced (ties: fewer failures, host order)."""
        return [_scenario(t) for t in self._core.worst(whole_number(n, "n", 0))]

    # ---------------------------------------------------------------- sequence
    def __len__(self) -> int:
        return self._core.results_len()

    def __getitem__(self, i: Any) -> Any:
        return self.results[i]

    def __iter__(self) -> Iterator[ScenarioResult]:
        return iter(self.results)

    # ---------------------------------------------------------------- combining and export
    def merge(self, *others: SweepResult) -> SweepResult:
        """Combines disjoint shards of one sweep, in any order: ``SweepResult.merge(a, b, c)`` or
        ``a.merge(b)``. Merging every shard gives exactly the unsharded result."""
        core = self._core
        for other in others:
            core = core.merge(other._core)
        return SweepResult(core, self._inventory)

    def to_records(self) -> list[dict[str, Any]]:
        """One dict per scenario kept (see :meth:`ScenarioResult.to_dict`)."""
        return [r.to_dict() for r in self.results]

    def to_dict(self) -> dict[str, Any]:
        """The figures, the per-k summaries and the scenarios kept, as plain data."""
        return {
            "scenarios": self.scenarios, "unit": self.unit, "max_failures": self.max_failures,
            "max_failures_tolerated": self.max_failures_tolerated, "complete": self.complete,
            "per_k": [vars_of(l) for l in self.per_k], "results": self.to_records(),
        }

    def to_pandas(self) -> pd.DataFrame:
        """One row per kept scenario (:meth:`to_records`), as a ``pandas.DataFrame``."""
        return records_to_pandas(self.to_records(), _COLUMNS)

    def to_arrow(self) -> Any:
        """A ``pyarrow.Table`` (pyarrow is an optional dependency)."""
        return _arrow_table(self.to_records())

    def to_parquet(self, path: str) -> None:
        """Writes the scenarios kept to a Parquet file at ``path``; needs pyarrow."""
        _parquet().write_table(self.to_arrow(), path)

    def __reduce__(self) -> tuple[Any, tuple[Inventory, str]]:
        return (_restore, (self._inventory, self._core.to_json()))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SweepResult):
            return NotImplemented
        return self._core.to_json() == other._core.to_json()

    def __hash__(self) -> int:
        return hash(self._core.to_json())

    def __repr__(self) -> str:
        done = "" if self.complete else ", interrupted"
        unit = "" if self.unit == "host" else f", unit={self.unit!r}"
        return (f"SweepResult(scenarios={self.scenarios}, max_failures={self.max_failures}, "
                f"max_failures_tolerated={self.max_failures_tolerated}{unit}{done})")

    def summary(self) -> str:
        """A few lines: the sweep, then per number of failed hosts how many combinations were
        evaluated, how many restart every VM, and the worst."""
        lines = [repr(self)]
        for lv in self.per_k:
            lines.append(f"  {lv.failures} failed: {lv.evaluated}/{lv.combinations} combinations evaluated, "
                         f"{lv.fully_restarted} restart every VM, worst leaves {lv.worst_unplaced} unplaced")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()

    def _repr_html_(self) -> str:
        # The report's host-failures section: per failure count, the worst combinations with
        # the VMs they strand and why (names beside ids).
        from . import _html, report

        inv = self._inventory
        return _html.fragment("host_failures", report.sweep_section(self, report.labeler(inv), report.relabeler(inv)))




def vars_of(level: LevelSummary) -> dict[str, int]:
    return {"failures": level.failures, "combinations": level.combinations, "evaluated": level.evaluated,
            "fully_restarted": level.fully_restarted, "worst_unplaced": level.worst_unplaced,
            "unplaced_total": level.unplaced_total}


def _restore(inventory: Inventory, text: str) -> SweepResult:
    return SweepResult(_core.SweepResult.from_json(inventory._core, text), inventory)


def _arrow_table(records: list[dict[str, Any]]) -> Any:
    try:
        pa = importlib.import_module("pyarrow")
    except ImportError as exc:
        raise ImportError("Arrow export needs pyarrow, an optional dependency: pip install pyarrow") from exc
    return pa.Table.from_pylist(records)


def _parquet() -> Any:
    try:
        return importlib.import_module("pyarrow.parquet")
    except ImportError as exc:
        raise ImportError("Parquet export needs pyarrow, an optional dependency: pip install pyarrow") from exc


class _TextProgress:
    """A plain progress line on stderr, when tqdm is not installed."""

    def __init__(self) -> None:
        self._last = -1

    def __call__(self, done: int, total: int) -> None:
        pct = 100 * done // total if total else 100
        if pct != self._last:
            self._last = pct
            end = "\n" if done >= total else ""
            print(f"\rsweep: {done}/{total} scenarios ({pct}%)", end=end, file=sys.stderr, flush=True)


def _progress(progress: bool | ProgressCallback | None) -> tuple[ProgressCallback | None, Callable[[], None]]:
    if progress is None or progress is False:
        return None, lambda: None
    if callable(progress):
        return progress, lambda: None
    try:
        tqdm = importlib.import_module("tqdm.auto").tqdm
    except ImportError:
        return _TextProgress(), lambda: None
    bar = tqdm(total=0, unit="scenario", desc="sweep")

    def update(done: int, total: int) -> None:
        if bar.total != total:
            bar.total = total
        bar.update(done - bar.n)

    return update, bar.close



def _scenario_space_args(
    unit: str, max_failures: Any, threads: Any, unplaced_vms_limit: Any, hosts: str | Iterable[str] | None,
) -> tuple[int, int | None, int | None, list[str] | None]:
    """The arguments :func:`sweep` and :func:`failures_tolerated` share, checked: counts are
    unsigned 64-bit in the core, so out of range they are ArgumentErrors here, not the
    OverflowError of the conversion."""
    failure_unit(unit)
    count = whole_number(max_failures, "max_failures", 1)
    workers = None if threads is None else whole_number(threads, "threads", 1)
    limit = None if unplaced_vms_limit is None else whole_number(unplaced_vms_limit, "unplaced_vms_limit", 0)
    host_list = None if hosts is None else id_list([hosts] if isinstance(hosts, str) else hosts, "host")
    return count, workers, limit, host_list

def sweep(
    inv: Inventory,
    max_failures: int = 1,
    hosts: Iterable[str] | None = None,
    threads: int | None = None,
    progress: bool | ProgressCallback | None = None,
    *,
    shard: tuple[int, int] | None = None,
    sample: int | None = None,
    seed: int = 0,
    worst_only: int | None = None,
    unplaced_vms_limit: int | None = None,
    unit: str = "host",
) -> SweepResult:
    """Plans every combination of 1..``max_failures`` failed hosts (optionally only among
    ``hosts``) and aggregates what restarts. Runs on ``threads`` worker threads (default: one
    per core) with the GIL released; the same inputs give the same result whatever ``threads``.

    ``progress``: ``True`` for a progress bar (tqdm when installed, in notebooks too; else a line
    on stderr) or a callable ``f(done, total)``; returning ``False`` from it stops the sweep early
    (the result then has ``complete == False``). Ctrl-C stops it promptly (KeyboardInterrupt). ``shard=(i, n)`` evaluates the i-th of n disjoint
    slices (merge them with :meth:`SweepResult.merge`); ``sample=N`` evaluates N random
    scenarios (``seed``) for k beyond exhaustive reach; ``worst_only=N`` keeps only the N worst
    scenario records (figures still count every scenario) to bound memory. When the operating
    system refuses to start threads, fewer are used, down to the calling thread alone (same result).
    Most scenarios of a healthy cluster are decided by a capacity bound that proves every VM
    restarts without placing them one by one (docs/rules/sweep.rst); the figures are exact either way.

    ``unit`` (R-DOMAIN) is what one failure takes down: ``"host"`` (default), ``"fault_domain"``
    (the hosts sharing a ``fault_domain``; a host without one is a domain of its own) or
    ``"site"`` (the hosts sharing a ``site``; every host that can fail must have one, else an
    :class:`~hapolicy.ArgumentError` names those without). ``max_failures`` then counts units, a
    unit's failure fails all its hosts (among ``hosts``, when given) at the same instant, and
    each scenario's ``failed_units`` names them.
    """
    max_failures, threads, unplaced_vms_limit, host_list = _scenario_space_args(
        unit, max_failures, threads, unplaced_vms_limit, hosts)
    if sample is not None:
        sample = whole_number(sample, "sample", 1)
        seed = whole_number(seed, "seed", 0)
    if worst_only is not None:
        worst_only = whole_number(worst_only, "worst_only", 0)
    if shard is not None:
        if not isinstance(shard, Sequence) or isinstance(shard, str) or len(shard) != 2:
            raise ArgumentError(f"shard must be (i, n) with 0 ≤ i < n, got {shard!r}")
        shard = (whole_number(shard[0], "shard i", 0), whole_number(shard[1], "shard n", 1))
    callback, close = _progress(progress)
    try:
        core = _core.sweep(
            inv._core, max_failures, host_list, threads, shard,
            None if sample is None else (sample, seed), worst_only, unplaced_vms_limit, callback, unit,
        )
    finally:
        close()
    return SweepResult(core, inv)


@dataclass(frozen=True, slots=True)
class FailuresTolerated:
    """The exact number of simultaneous failures a cluster tolerates, up to ``max_failures``
    (:func:`failures_tolerated`).

    ``tolerated`` is the largest j ≤ ``max_failures`` such that every combination of at most j
    failed ``unit``\\ s restarts every VM HA attempts. ``first_failure`` is the deciding scenario:
    the first failing combination (enumeration order) of j + 1 failures, or ``None`` when every
    combination up to ``max_failures`` passes; ``failed_labels`` and ``unplaced_labels`` name its
    failed units and its listed unplaced VMs as readers see them (``inv.label``). ``scenarios_evaluated`` of ``scenarios_total`` were planned
    (the rest were skipped by the pruning rule; this count, unlike the answer, may differ between
    thread counts). ``complete`` is false when stopped early (then ``tolerated`` is a lower bound).
    """

    tolerated: int
    max_failures: int
    unit: str
    scenarios_evaluated: int
    scenarios_total: int
    complete: bool = True
    first_failure: ScenarioResult | None = None
    failed_labels: tuple[str, ...] = ()
    unplaced_labels: tuple[str, ...] = ()

    @property
    def tolerates_all(self) -> bool:
        """True when every combination of up to ``max_failures`` failures restarts every VM."""
        return self.first_failure is None and self.complete

    def to_dict(self) -> dict[str, Any]:
        """Plain data (``first_failure`` as :meth:`ScenarioResult.to_dict`, with ``failed_labels``)."""
        first: dict[str, Any] | None = None
        if self.first_failure is not None:
            first = self.first_failure.to_dict()
            first["failed_labels"] = list(self.failed_labels)
            first["unplaced_labels"] = list(self.unplaced_labels)
        return {
            "tolerated": self.tolerated, "max_failures": self.max_failures, "unit": self.unit,
            "scenarios_evaluated": self.scenarios_evaluated, "scenarios_total": self.scenarios_total,
            "complete": self.complete, "first_failure": first,
        }

    def __str__(self) -> str:
        noun = {"host": "host", "fault_domain": "fault domain", "site": "site"}.get(self.unit, self.unit)
        plural = "" if self.tolerated == 1 else "s"
        if not self.complete:
            head = f"tolerates at least {self.tolerated} {noun} failure{plural} (stopped early)"
        elif self.first_failure is None:
            head = f"tolerates {self.tolerated} {noun} failure{plural} (every combination up to {self.max_failures} checked)"
        else:
            head = f"tolerates {self.tolerated} {noun} failure{plural}"
        lines = [head + f"; {self.scenarios_evaluated:,} of {self.scenarios_total:,} scenarios evaluated"]
        f = self.first_failure
        if f is not None:
            lines.append(f"first failing combination: {', '.join(self.failed_labels)} "
                         f"— {f.unplaced} VM{'' if f.unplaced == 1 else 's'} not restarted")
            shown = [f"{vm} ({reason})" for vm, reason in zip(self.unplaced_labels or f.unplaced_vms, f.reasons)]
            if shown:
                hidden = f.unplaced - min(len(shown), 10)
                lines.append("  unplaced: " + ", ".join(shown[:10]) + (f", … {hidden} more" if hidden > 0 else ""))
        return "\n".join(lines)

    def __repr__(self) -> str:
        first = None if self.first_failure is None else list(self.failed_labels)
        return (f"FailuresTolerated(tolerated={self.tolerated}, max_failures={self.max_failures}, unit={self.unit!r}, "
                f"scenarios_evaluated={self.scenarios_evaluated}, scenarios_total={self.scenarios_total}, "
                f"complete={self.complete}, first_failure={first!r})")


def failures_tolerated(
    inv: Inventory,
    max_failures: int = 4,
    *,
    hosts: Iterable[str] | None = None,
    threads: int | None = None,
    unit: str = "host",
    progress: bool | ProgressCallback | None = None,
    unplaced_vms_limit: int | None = 20,
) -> FailuresTolerated:
    """The exact number of simultaneous failures (``unit``: ``"host"``, ``"fault_domain"`` or
    ``"site"``, R-DOMAIN) the cluster tolerates, up to ``max_failures`` — the same answer as
    ``sweep(inv, max_failures).max_failures_tolerated``, usually far faster.

    Levels 1, 2, … are evaluated in order; once one combination of j failures leaves a VM
    unplaced the answer is j − 1, and the rest of level j and every higher level are skipped
    (they cannot change it: docs/rules/sweep.rst, "Failures tolerated"). When the cluster
    tolerates all ``max_failures``, nothing can be skipped and the cost is the full sweep's.
    ``hosts``, ``threads`` and ``progress`` are as for :func:`sweep` (``progress`` totals are
    the full sweep's, an upper bound). The answer and ``first_failure`` are the same whatever
    ``threads``. ``unplaced_vms_limit`` caps the VMs listed in ``first_failure`` (all are counted).
    """
    max_failures, threads, unplaced_vms_limit, host_list = _scenario_space_args(
        unit, max_failures, threads, unplaced_vms_limit, hosts)
    callback, close = _progress(progress)
    try:
        tolerated, k, unit_name, evaluated, total, complete, first = _core.failures_tolerated(
            inv._core, max_failures, host_list, threads, unplaced_vms_limit, callback, unit,
        )
    finally:
        close()
    scenario = None if first is None else _scenario(first)
    labels: tuple[str, ...] = ()
    vm_labels: tuple[str, ...] = ()
    if scenario is not None:
        units = scenario.failed_units or scenario.failed_hosts
        labels = tuple(inv.label(u) if unit == "host" else u for u in units)
        vm_labels = tuple(inv.label(v) for v in scenario.unplaced_vms)
    return FailuresTolerated(tolerated, k, unit_name, evaluated, total, complete, scenario, labels, vm_labels)
