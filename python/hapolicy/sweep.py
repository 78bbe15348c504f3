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
from ._args import id_list, whole_number
from ._tabular import records_to_pandas
from .enums import UnplacedReason
from .errors import ArgumentError
from .inventory import Inventory

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["LevelSummary", "ScenarioResult", "SweepResult", "sweep"]

ProgressCallback = Callable[[int, int], object]

#: The failure units of R-DOMAIN.
UNITS = ("host", "fault_domain", "site")


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
    scenario records (figures still count every scenario) to bound memory.

    ``unit`` (R-DOMAIN) is what one failure takes down: ``"host"`` (default), ``"fault_domain"``
    (the hosts sharing a ``fault_domain``; a host without one is a domain of its own) or
    ``"site"`` (the hosts sharing a ``site``; every host that can fail must have one, else an
    :class:`~hapolicy.ArgumentError` names those without). ``max_failures`` then counts units, a
    unit's failure fails all its hosts (among ``hosts``, when given) at the same instant, and
    each scenario's ``failed_units`` names them.
    """
    if unit not in UNITS:
        raise ArgumentError(f"unit must be one of {', '.join(repr(u) for u in UNITS)}, got {unit!r}")
    # Counts are unsigned 64-bit in the core: out of range they are ArgumentErrors here, not
    # the OverflowError of the conversion.
    max_failures = whole_number(max_failures, "max_failures", 1)
    if threads is not None:
        threads = whole_number(threads, "threads", 1)
    if sample is not None:
        sample = whole_number(sample, "sample", 1)
        seed = whole_number(seed, "seed", 0)
    if worst_only is not None:
        worst_only = whole_number(worst_only, "worst_only", 0)
    if unplaced_vms_limit is not None:
        unplaced_vms_limit = whole_number(unplaced_vms_limit, "unplaced_vms_limit", 0)
    if shard is not None:
        if not isinstance(shard, Sequence) or isinstance(shard, str) or len(shard) != 2:
            raise ArgumentError(f"shard must be (i, n) with 0 ≤ i < n, got {shard!r}")
        shard = (whole_number(shard[0], "shard i", 0), whole_number(shard[1], "shard n", 1))
    host_list = None if hosts is None else id_list([hosts] if isinstance(hosts, str) else hosts, "host")
    callback, close = _progress(progress)
    try:
        core = _core.sweep(
            inv._core, max_failures, host_list, threads, shard,
            None if sample is None else (sample, seed), worst_only, unplaced_vms_limit, callback, unit,
        )
    finally:
        close()
    return SweepResult(core, inv)
