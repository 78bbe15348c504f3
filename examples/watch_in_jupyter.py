"""Follow a vCenter cluster's HA posture live in Jupyter: a table that updates in place.

In a notebook cell (pyVmomi installed: ``pip install pyvmomi``)::

    import getpass, os
    from examples.watch_in_jupyter import follow
    from hapolicy.io.watch import connector, target

    t, password = target("https://vc.example.com/sdk", "ro@vsphere.local")   # or GOVC_URL, ...
    connect = connector(t, password or getpass.getpass())
    follow(connect, "prod-a", duration=3600)        # Interrupt the kernel (■) to stop

The cell shows one table — for each host, the VMs that would not restart if it failed now —
and the last change above it; it is replaced, not appended to, after every change that moves
the posture. Below it a log keeps one line per such change. Against govmomi's simulator
(tests/vcsim)::

    from tests.vcsim import launch
    with launch.start(launch.build(), "-vms", "4", "-ha", "percentage", "-notify") as sim:
        follow(sim.connect, "DC0_C0", duration=60)

Outside Jupyter (no IPython), ``follow`` prints the lines instead.
"""

from __future__ import annotations

from collections.abc import Callable
from html import escape
from typing import Any

from hapolicy import io


def follow(connect: Callable[[], Any], cluster: str, *, duration: float | None = None,
           failures: int | None = None) -> list[io.Change]:
    """Watches ``cluster`` (``connect()`` logs in, and again after a lost session) until
    ``duration`` seconds passed or the kernel is interrupted; returns the changes shown."""
    display: Any = None
    try:
        from IPython.display import HTML
        from IPython.display import display as ipython_display

        display = ipython_display
    except ImportError:  # a plain terminal
        pass
    shown: list[io.Change] = []
    table: Any = None
    log: Any = None
    w = io.watch(connect(), cluster, connect=connect, duration=duration, failures=failures,
                 only_changes_that_matter=True)
    try:
        for change in w:
            shown.append(change)
            if display is None:
                print(change.text(), flush=True)
                continue
            lines = "".join(f"<li>{c.at:%H:%M:%S} {escape(c.text())}</li>" for c in shown[-20:])
            if table is None or log is None:
                table = display(change, display_id=True)
                log = display(HTML(f"<ul>{lines}</ul>"), display_id=True)
            else:
                table.update(change)               # Change._repr_html_: the live table
                log.update(HTML(f"<ul>{lines}</ul>"))
    except KeyboardInterrupt:
        pass
    finally:
        w.close()
    return shown
