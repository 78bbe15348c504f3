"""Master election (R-ELECT) and host-state classification (R-CLASS-M, R-CLASS-S)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from . import _core
from ._args import id_list, known_ids
from ._tabular import html_table, records_to_pandas
from .enums import HostState
from .inventory import Inventory

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["Candidate", "Election", "classify_host", "classify_self", "elect"]


@dataclass(frozen=True, slots=True)
class Candidate:
    """A ranked candidate: the figures R-ELECT-1 compares, in order."""

    host: str
    goodness: int | None
    datastores: int


@dataclass(frozen=True, slots=True)
class Election:
    """Outcome of an election among hosts that can talk to each other."""

    master: str | None
    candidates: tuple[Candidate, ...]
    excluded: tuple[tuple[str, str], ...]
    _explanation: str = ""
    #: host id → name, for the ``host_name`` column of :meth:`to_records`.
    _host_names: Mapping[str, str] = field(default_factory=dict, compare=False, repr=False)

    @property
    def ranking(self) -> list[str]:
        """Eligible host ids, best first."""
        return [c.host for c in self.candidates]

    def explain(self) -> str:
        """Each candidate with goodness, datastore count and id (``host-21 (esx-01)`` when the
        host has a name of its own); then the excluded hosts."""
        return self._explanation

    def to_dict(self) -> dict[str, Any]:
        """The master, the ranking, every candidate's figures and the excluded hosts with the reason, as plain data."""
        return {
            "master": self.master,
            "ranking": self.ranking,
            "candidates": [
                {"rank": i + 1, "host": c.host, "goodness": c.goodness, "datastores": c.datastores}
                for i, c in enumerate(self.candidates)
            ],
            "excluded": {h: why for h, why in self.excluded},
        }

    def to_records(self) -> list[dict[str, Any]]:
        """One row per candidate, best first; ``host_name`` beside the id."""
        return [
            {"rank": i + 1, "host": c.host, "host_name": self._host_names.get(c.host, c.host), "goodness": c.goodness,
             "datastores": c.datastores}
            for i, c in enumerate(self.candidates)
        ]

    def to_pandas(self) -> pd.DataFrame:
        """One row per candidate; ``goodness`` is a nullable ``Int64`` (missing when unset)."""
        return records_to_pandas(self.to_records(), ["rank", "host", "host_name", "goodness", "datastores"],
                                 ints=["goodness"])

    def __repr__(self) -> str:
        return f"Election(master={self.master!r}, ranking={self.ranking!r})"

    def _repr_html_(self) -> str:
        rows = [(r["rank"], r["host"], r["goodness"], r["datastores"]) for r in self.to_records()]
        return html_table(("rank", "host", "goodness", "datastores"), rows, title=f"master: {self.master}")


def elect(
    inv: Inventory, hosts: Iterable[str] | None = None, *, unusable_datastores: Iterable[str] = ()
) -> Election:
    """Elects a master among ``hosts`` (ids or unambiguous names of hosts that can exchange
    election traffic; default every eligible host). Hosts in maintenance, standby, disconnected
    or not responding do not take part. Datastores in ``unusable_datastores`` (APD/PDL; ids or
    names, unknown ones ignored) do not count for the ranking. Results hold ids."""
    host_list = None if hosts is None else id_list([hosts] if isinstance(hosts, str) else hosts, "host")
    unusable = [unusable_datastores] if isinstance(unusable_datastores, str) else unusable_datastores
    master, ranking, excluded, explanation = _core.elect(inv._core, host_list, known_ids(unusable))
    return Election(
        master=master,
        candidates=tuple(Candidate(h, g, d) for h, g, d in ranking),
        excluded=tuple(excluded),
        _explanation=explanation,
        _host_names={h.id: h.name or h.id for h in inv.hosts},
    )


def classify_host(
    network_heartbeat: bool, ping: bool, datastore_heartbeat: bool, isolated_flag: bool = False
) -> HostState:
    """The master's view of a slave (R-CLASS-M): heartbeat → connected; else ICMP →
    ``fdmUnreachable``; else datastore heartbeat → isolated or partitioned (poweron flag);
    else ``hostDown``."""
    return HostState(_core.classify_host(bool(network_heartbeat), bool(ping), bool(datastore_heartbeat), bool(isolated_flag)))


def classify_self(master_heartbeat: bool, election_traffic: bool, isolation_address_answers: bool) -> str:
    """A host's view of itself (R-CLASS-S): ``"connected"``, ``"partitioned"`` or ``"isolated"``."""
    return _core.classify_self(bool(master_heartbeat), bool(election_traffic), bool(isolation_address_answers))
