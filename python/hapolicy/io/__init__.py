"""Getting real inventories in: RVTools exports and live vCenter servers.

>>> from hapolicy import io
>>> inv = io.from_rvtools("export.xlsx", cluster="prod-a")                # doctest: +SKIP
>>> inv, assumptions = io.read_rvtools("export.xlsx", cluster="prod-a")   # doctest: +SKIP
>>> inv, assumptions = io.read_vsphere(si, "prod-a")                       # doctest: +SKIP
>>> for change in io.watch(si, cluster="prod-a"): print(change)           # doctest: +SKIP
>>> r = io.replay(si, cluster="prod-a", start=t0, end=t1)                 # doctest: +SKIP

``from_*`` return the :class:`~hapolicy.Inventory`; ``read_*`` return
``Loaded(inventory, assumptions)`` — every value the source could not tell and the adapter
assumed, as :class:`Assumption` ``(path, message)`` pairs (also logged at INFO level on the
``hapolicy.io`` logger). :class:`Defaults` sets those values.

The sources need optional dependencies (the ``rvtools`` and ``vsphere`` extras of a checkout's
``pip install '.[rvtools,vsphere]'``): ``pip install python-calamine openpyxl`` (openpyxl, and
python-calamine, which reads large exports about eight times faster) and ``pip install pyvmomi``.
Importing this package needs neither; a reader whose dependency is missing raises an
``ImportError`` naming the package to install.
"""

from __future__ import annotations

from ._common import Assumption, Defaults, Loaded
from .rvtools import from_rvtools, read_rvtools
from .vsphere import from_vsphere, read_vsphere
from .watch import Change, Posture, Watch, watch  # live vCenter: docs/live.rst
from .replay import Replay, export_events, replay, replay_events  # incident replay: docs/live.rst

__all__ = [
    "Assumption",
    "Change",
    "Defaults",
    "Loaded",
    "Posture",
    "Replay",
    "Watch",
    "export_events",
    "from_rvtools",
    "from_vsphere",
    "read_rvtools",
    "read_vsphere",
    "replay",
    "replay_events",
    "watch",
]
