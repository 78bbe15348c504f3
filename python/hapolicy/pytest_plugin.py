"""pytest plugin: the ``ha_inventory`` fixture, for testing your own cluster designs.

Installed with hapolicy and registered automatically (entry point ``pytest11``). The fixture
loads the inventory file named by, in order of precedence:

1. the marker ``@pytest.mark.ha_inventory("path/to/inventory.json")`` on the test, its class or
   its module (``pytestmark = pytest.mark.ha_inventory(...)``); a relative path is resolved
   against the test file's folder;
2. the command-line option ``pytest --ha-inventory PATH`` (relative to the current directory);
3. the ini option ``ha_inventory = PATH`` (relative to the ini file's folder).

Any format :meth:`hapolicy.Inventory.load` reads works (.json, .yaml, .yml, RVTools .xlsx).
Each file is loaded once per test session (inventories are immutable). A missing file, an
invalid inventory, or no path at all fails the test's setup with a one-paragraph message.

.. code-block:: python

    import pytest
    from hapolicy.testing import assert_survives

    @pytest.mark.ha_inventory("prod-a.json")
    def test_prod_a_survives_two_host_failures(ha_inventory):
        assert_survives(ha_inventory, failures=2)
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
_CACHE = pytest.StashKey[dict[tuple[str, int, int], Inventory]]()


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


def pytest_configure(config: pytest.Config) -> None:
    """Registers the ``ha_inventory`` marker (so ``--strict-markers`` accepts it)."""
    config.addinivalue_line(
        "markers",
        "ha_inventory(path): the inventory file the ha_inventory fixture loads "
        "(relative to the test file's folder)",
    )


def _marker_path(request: pytest.FixtureRequest) -> tuple[Path, str] | None:
    marker = request.node.get_closest_marker("ha_inventory")
    if marker is None:
        return None
    args = list(marker.args)
    if "path" in marker.kwargs:
        args.insert(0, marker.kwargs["path"])
    if len(args) != 1 or not isinstance(args[0], (str, os.PathLike)):
        pytest.fail(
            f"@pytest.mark.ha_inventory takes one path, e.g. @pytest.mark.ha_inventory(\"lab.json\"); "
            f"got args={marker.args!r} kwargs={marker.kwargs!r}",
            pytrace=False,
        )
    path = Path(os.fspath(args[0]))
    if not path.is_absolute():
        path = Path(request.node.path).parent / path
    return path, f"@pytest.mark.ha_inventory({os.fspath(args[0])!r})"


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
    ``--ha-inventory`` option or the ``ha_inventory`` ini option (in that order)."""
    found = _marker_path(request) or _configured_path(request.config)
    if found is None:
        pytest.fail(
            "the ha_inventory fixture needs an inventory file: mark the test with "
            '@pytest.mark.ha_inventory("path/to/inventory.json") (relative to the test file), '
            f"run pytest {_OPTION} PATH, or set {_INI} = PATH in the pytest ini file",
            pytrace=False,
        )
    path, source = found
    if not path.is_file():
        pytest.fail(f"ha_inventory: no such file {path} (from {source})", pytrace=False)
    stat = path.stat()
    cache = request.config.stash.setdefault(_CACHE, {})
    key = (str(path.resolve()), stat.st_mtime_ns, stat.st_size)
    if key not in cache:
        try:
            cache[key] = Inventory.load(path)
        except InventoryError as exc:
            pytest.fail(f"ha_inventory: {path} (from {source}) is not a valid inventory: {exc}", pytrace=False)
    return cache[key]
