"""What-if sweeps fanned out over a Dask cluster (``distributed``, an optional dependency).

>>> from distributed import Client                                      # doctest: +SKIP
>>> import hapolicy.distributed
>>> with Client("tcp://scheduler:8786") as client:                      # doctest: +SKIP
...     s = hapolicy.distributed.sweep(client, inv, max_failures=3)
>>> s == ha.sweep(inv, max_failures=3)                                  # doctest: +SKIP
True

The cluster evaluates disjoint shards (``ha.sweep(inv, k, shard=(i, n))``) and the shards are
merged here (:meth:`SweepResult.merge`), which gives exactly the unsharded result. Only
hapolicy's own functions travel to the workers (by name), never a function of the calling
script, so any worker with the same hapolicy version installed can run them. The workers'
version is checked first (:class:`WorkerVersionError` otherwise): a different engine could
plan differently, and a merge of shards planned by different engines would be meaningless.

Distributing pays off when one machine's cores are not enough: sweeps of k ≥ 4 failures (the
number of combinations grows like hosts^k / k!), sweeps over many clusters, and remedy searches
that evaluate many candidate designs. Small sweeps (k ≤ 2 on tens of hosts) finish in seconds
locally; shipping them costs more than it saves.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Iterable, Mapping
from typing import Any

from ._args import whole_number
from .errors import ArgumentError, HaPolicyError
from .inventory import Inventory
from .sweep import SweepResult
from .sweep import sweep as _sweep

__all__ = ["WorkerVersionError", "check_workers", "connect", "sweep", "worker_version"]


class WorkerVersionError(HaPolicyError, RuntimeError):
    """A Dask worker runs another hapolicy version than the client (or cannot import it)."""


def worker_version() -> str:
    """The hapolicy version of the process it runs in (sent to each worker by
    :func:`check_workers`)."""
    from . import __version__

    return __version__


def check_workers(client: Any) -> dict[str, str]:
    """The hapolicy version of every worker the client's scheduler knows, by worker address;
    :class:`WorkerVersionError` naming each worker whose version differs from this process's
    (or that cannot import hapolicy at all), or when the cluster has no worker."""
    from . import __version__

    versions: Mapping[str, Any] = client.run(worker_version, on_error="return")
    if not versions:
        raise WorkerVersionError("the Dask cluster has no workers: start at least one `dask worker`")
    wrong = []
    for address, got in sorted(versions.items()):
        if isinstance(got, BaseException):
            wrong.append(f"{address}: cannot run hapolicy ({type(got).__name__}: {got})")
        elif got != __version__:
            wrong.append(f"{address}: hapolicy {got}")
    if wrong:
        raise WorkerVersionError(
            f"every Dask worker needs hapolicy {__version__} (the version of this client); "
            + "; ".join(wrong)
        )
    return {address: str(v) for address, v in versions.items()}


def _cores(client: Any) -> int:
    threads: Mapping[str, int] = client.nthreads()
    return max(1, sum(threads.values()))


def sweep(
    client: Any | str | os.PathLike[str],
    inv: Inventory,
    max_failures: int = 1,
    hosts: Iterable[str] | None = None,
    *,
    shards: int | None = None,
    threads: int = 1,
    sample: int | None = None,
    seed: int = 0,
    worst_only: int | None = None,
    unplaced_vms_limit: int | None = None,
    check_version: bool = True,
    unit: str = "host",
) -> SweepResult:
    """:func:`hapolicy.sweep` evaluated on the workers of a ``distributed.Client`` (or of the
    scheduler at an address or scheduler file, connected to for this call: :func:`connect`): ``shards``
    disjoint shards (default: two per worker thread, so a slow worker does not hold the rest
    up), each a task running ``hapolicy.sweep(inv, max_failures, shard=(i, shards), ...)`` with
    ``threads`` threads (default 1: the cluster provides the parallelism), then merged. The
    result equals ``hapolicy.sweep(inv, max_failures, hosts, ...)`` with the same arguments.

    The inventory is sent to every worker once. Unless ``check_version=False``, the workers'
    hapolicy version is compared with this one first (:func:`check_workers`). ``unit``
    (``"host"``, ``"fault_domain"`` or ``"site"``, R-DOMAIN) is what one failure takes down, as
    for :func:`hapolicy.sweep`.
    """
    if not isinstance(inv, Inventory):
        raise ArgumentError(f"inv must be a hapolicy.Inventory, got {type(inv).__name__}")
    if isinstance(client, (str, os.PathLike)):
        with connect(client) as own:
            return sweep(own, inv, max_failures, hosts, shards=shards, threads=threads, sample=sample, seed=seed,
                         worst_only=worst_only, unplaced_vms_limit=unplaced_vms_limit, check_version=check_version,
                         unit=unit)
    for method in ("submit", "scatter", "gather", "run", "nthreads"):
        if not callable(getattr(client, method, None)):
            raise ArgumentError(
                f"client must be a distributed.Client (connected to a scheduler), got {type(client).__name__}"
            )
    max_failures = whole_number(max_failures, "max_failures", 1)
    threads = whole_number(threads, "threads", 1)
    n = 2 * _cores(client) if shards is None else whole_number(shards, "shards", 1)
    host_list = None if hosts is None else ([hosts] if isinstance(hosts, str) else list(hosts))
    if check_version:
        check_workers(client)
    # A key of its own per call (hash=False): with the content's hash as key, a second call with
    # the same inventory can meet the first call's copy while it is being released, and its
    # tasks fail with "lost dependencies".
    shared = client.scatter(inv, broadcast=True, hash=False)
    options: dict[str, Any] = {
        "threads": threads, "sample": sample, "seed": seed, "worst_only": worst_only,
        "unplaced_vms_limit": unplaced_vms_limit, "unit": unit,
    }
    futures = [
        client.submit(_sweep, shared, max_failures, host_list, shard=(i, n), pure=False, **options)
        for i in range(n)
    ]
    try:
        parts: list[SweepResult] = client.gather(futures)
    finally:
        client.cancel([*futures, shared])
    merged = parts[0].merge(*parts[1:])
    # Bound to the caller's inventory (equal to the workers' copies) rather than a copy.
    return SweepResult(merged._core, inv)


def connect(scheduler: str | os.PathLike[str], timeout: float = 30) -> Any:
    """A ``distributed.Client`` for ``scheduler``: a scheduler address (``"tcp://10.0.0.5:8786"``)
    or the path of the file ``dask scheduler --scheduler-file`` wrote. Use it as a context
    manager (``with connect(...) as client:``) so the connection is closed."""
    Client = _distributed().Client
    if isinstance(scheduler, os.PathLike) or (os.path.isfile(scheduler) and "://" not in scheduler):
        return Client(scheduler_file=os.fspath(scheduler), timeout=timeout)
    return Client(scheduler, timeout=timeout)


def _distributed() -> Any:
    """The ``distributed`` package, or an ImportError saying how to install it."""
    try:
        return importlib.import_module("distributed")
    except ImportError as exc:
        raise ImportError(
            "hapolicy.distributed needs Dask's distributed package: pip install distributed"
        ) from exc
