"""Getting real inventories in: RVTools exports and live vCenter servers.

>>> from hapolicy import io
>>> inv = io.from_rvtools("export.xlsx", cluster="prod-a")                # doctest: +SKIP
>>> inv, assumptions = io.read_rvtools("export.xlsx", cluster="prod-a")   # doctest: +SKIP
>>> inv, assumptions = io.read_vsphere(si, "prod-a")                       # doctest: +SKIP

``from_*`` return the :class:`~hapolicy.Inventory`; ``read_*`` return
``Loaded(inventory, assumptions)`` — every value the source could not tell and the adapter
assumed, as :class:`Assumption` ``(path, message)`` pairs (also logged at INFO level on the
``hapolicy.io`` logger). :class:`Defaults` sets those values.

The sources need optional dependencies: ``pip install 'hapolicy[rvtools]'`` (openpyxl, and
python-calamine, which reads large exports about eight times faster) and
``pip install 'hapolicy[vsphere]'`` (pyVmomi). Importing this package needs neither; a reader
whose dependency is missing raises an ``ImportError`` naming the extra.
"""

from __future__ import annotations

from ._common import Assumption, Defaults, Loaded
from .rvtools import from_rvtools, read_rvtools
from .vsphere import from_vsphere, read_vsphere

__all__ = [
    "Assumption",
    "Defaults",
    "Loaded",
    "from_rvtools",
    "from_vsphere",
    "read_rvtools",
    "read_vsphere",
]
