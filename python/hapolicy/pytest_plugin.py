"""pytest plugin: the ``ha_inventory`` fixture, for testing your own cluster designs.

Installed with hapolicy and registered automatically (entry point ``pytest11``). The fixture
loads the inventory file named by, in order of precedence:

1. the marker ``@pytest.mark.ha_inventory("path/to/inventory.json")`` on the test, its class or
   its module (``pytestmark = pytest.mark.ha_inventory(...)``); a relative path is resolved
   against the test file's folder;
2. the command-line option ``pytest --ha-inventory PATH`` (relative to the current directory);
3. the ini option ``ha_inventory = PATH`` (relative to the ini file's folder).

Any format :meth:`hapolicy.Inventory.load` reads works (.json, .yaml, .yml, RVTools .xlsx or a
directory of RVTools CSV exports). An RVTools export of a whole vCenter holds several clusters;
the cluster is named, in the same order of precedence, by the marker's ``cluster=`` argument
(``@pytest.mark.ha_inventory("export.xlsx", cluster="prod-a")``, ``"Datacenter/Cluster"`` when
the name is in several datacenters), the option ``pytest --ha-cluster NAME``, or the ini option
``ha_cluster = NAME``. The option and the ini option apply to RVTools exports only (a JSON or
YAML inventory describes one cluster), so one test file can run against each cluster of an
export in turn: ``pytest --ha-cluster Amsterdam/prod``, then ``pytest --ha-cluster dev``.

Each file is loaded once per test session and cluster (inventories are immutable). A missing
file, an invalid inventory, or no path at all fails the test's setup with a one-paragraph message.

.. code-block:: python

    import pytest
    from hapolicy.testing import assert_survives

    @pytest.mark.ha_inventory("prod-a.json")
    def test_prod_a_survives_two_host_failures(ha_inventory):
        assert_survives(ha_inventory, failures=2)

    @pytest.mark.ha_inventory("RVTools_export_all.xlsx", cluster="Amsterdam/prod")
    def test_amsterdam_prod_survives_one_host_failure(ha_inventory):
        assert_survives(ha_inventory, failures=1)
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from .errors import InventoryError
from .inventory import Inventory

__all__ = ["ha_inventory", "pytest_addoption", "pytest_configure"]

_OPTION = "--ha-inventory"
_INI = "ha_inventory"
_CLUSTER_OPTION = "--ha-cluster"
_CLUSTER_INI = "ha_cluster"
_CACHE = pytest.StashKey[dict[tuple[str, int, int, str | None], Inventory]]()


def pytest_addoption(parser: pytest.Parser) -> None:
    """Adds ``--ha-inventory PATH`` and the ini option ``ha_inventory``."""
    group = parser.getgroup("hapolicy", "hapolicy (vSphere HA policy engine)")
    group.addoption(
        _OPTION,
        metavar="PATH",
        default=None,
        help="inventory file the ha_inventory fixture loads when the test has no ha_inventory marker",
    )
    parser.addini(_INI, "inventory file the ha_inventory fixture loads (relative to the ini file)", default=None)
    group.addoption(
        _CLUSTER_OPTION,
        metavar="NAME",
        default=None,
        help="cluster the ha_inventory fixture picks from an RVTools export of several clusters "
        "('Datacenter/Cluster' when the name is in several datacenters), unless the marker names one; "
        "JSON/YAML inventories hold one cluster and are loaded as they are",
    )
    parser.addini(_CLUSTER_INI, "cluster the ha_inventory fixture picks from an RVTools export", default=None)


def pytest_configure(config: pytest.Config) -> None:
    """Registers the ``ha_inventory`` marker (so ``--strict-markers`` accepts it)."""
    config.addinivalue_line(
        "markers",
        "ha_inventory(path, cluster=None): the inventory file the ha_inventory fixture loads "
        "(relative to the test file's folder) and, for an RVTools export of several clusters, "
        "the cluster to pick",
    )


def _marker_path(request: pytest.FixtureRequest) -> tuple[Path, str, str | None] | None:
    """(path, where it was named, the marker's cluster or ``None``)."""
    marker = request.node.get_closest_marker("ha_inventory")
    if marker is None:
        return None
    args = list(marker.args)
    kwargs = dict(marker.kwargs)
    if "path" in kwargs:
        args.insert(0, kwargs.pop("path"))
    cluster = kwargs.pop("cluster", None)
    if len(args) != 1 or not isinstance(args[0], (str, os.PathLike)) or kwargs or not isinstance(
        cluster, (str, type(None))
    ):
        pytest.fail(
            "@pytest.mark.ha_inventory takes one path and, optionally, cluster=NAME, e.g. "
            '@pytest.mark.ha_inventory("lab.json") or @pytest.mark.ha_inventory("export.xlsx", '
            f'cluster="prod-a"); got args={marker.args!r} kwargs={marker.kwargs!r}',
            pytrace=False,
        )
    path = Path(os.fspath(args[0]))
    if not path.is_absolute():
        path = Path(request.node.path).parent / path
    shown = f"{os.fspath(args[0])!r}" + (f", cluster={cluster!r}" if cluster is not None else "")
    return path, f"@pytest.mark.ha_inventory({shown})", cluster


def _configured_cluster(config: pytest.Config) -> tuple[str, str] | None:
    """(cluster, where it was named) from ``--ha-cluster`` or the ini option ``ha_cluster``."""
    option = config.getoption(_CLUSTER_OPTION)
    if option:
        return str(option), f"{_CLUSTER_OPTION} {option}"
    ini = config.getini(_CLUSTER_INI)
    if ini:
        return str(ini), f"ini option {_CLUSTER_INI} = {ini}"
    return None


def _configured_path(config: pytest.Config) -> tuple[Path, str] | None:
    option = config.getoption(_OPTION)
    if option:
        path = Path(option)
        if not path.is_absolute():
            path = config.invocation_params.dir / path
        return path, f"{_OPTION} {option}"
    ini = config.getini(_INI)
    if ini:
        path = Path(str(ini))
        if not path.is_absolute():
            base = config.inipath.parent if config.inipath is not None else config.rootpath
            path = base / path
        return path, f"ini option {_INI} = {ini}"
    return None


@pytest.fixture
def ha_inventory(request: pytest.FixtureRequest) -> Inventory:
    """The :class:`~hapolicy.Inventory` named by the ``ha_inventory`` marker, the
    ``--ha-inventory`` option or the ``ha_inventory`` ini option (in that order); for an RVTools
    export of several clusters, the cluster named by the marker's ``cluster=``, the
    ``--ha-cluster`` option or the ``ha_cluster`` ini option (in that order)."""
    marked = _marker_path(request)
    found = marked[:2] if marked is not None else _configured_path(request.config)
    if found is None:
        pytest.fail(
            "the ha_inventory fixture needs an inventory file: mark the test with "
            '@pytest.mark.ha_inventory("path/to/inventory.json") (relative to the test file), '
            f"run pytest {_OPTION} PATH, or set {_INI} = PATH in the pytest ini file",
            pytrace=False,
        )
    path, source = found
    cluster = marked[2] if marked is not None else None
    rvtools = path.is_dir() or path.suffix.lower() == ".xlsx"
    if cluster is None and rvtools:  # a JSON / YAML inventory holds one cluster: nothing to pick
        named = _configured_cluster(request.config)
        if named is not None:
            cluster = named[0]
            source = f"{source}, cluster from {named[1]}"
    if not (path.is_file() or path.is_dir()):
        pytest.fail(f"ha_inventory: no such file {path} (from {source})", pytrace=False)
    stat = path.stat()
    cache = request.config.stash.setdefault(_CACHE, {})
    key = (str(path.resolve()), stat.st_mtime_ns, stat.st_size, cluster)
    if key not in cache:
        try:
            cache[key] = Inventory.load(path, cluster=cluster)
        except InventoryError as exc:
            hint = ""
            if cluster is None and "choose" in str(exc):
                hint = (
                    "; in tests, name the cluster with @pytest.mark.ha_inventory(path, cluster=NAME), "
                    f"pytest {_CLUSTER_OPTION} NAME or the ini option {_CLUSTER_INI} = NAME"
                )
            pytest.fail(f"ha_inventory: {path} (from {source}) is not a valid inventory: {exc}{hint}", pytrace=False)
    return cache[key]
