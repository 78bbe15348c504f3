"""Master election (R-ELECT) and classification (R-CLASS-M / R-CLASS-S)."""

from __future__ import annotations

import itertools

import pytest

import hapolicy as ha

from .conftest import doc, host


def elect_among(*hosts: dict, **kw) -> ha.Election:  # type: ignore[type-arg]
    ds = sorted({d for h in hosts for d in h["datastores"]}) or ["ds-1"]
    return ha.elect(ha.Inventory.from_dict(doc(list(hosts), datastores=ds)), **kw)


def test_moid_tie_break_is_bytewise() -> None:
    # R-ELECT-1 step 3: "9" > "1", so host-99 beats host-100 …
    assert elect_among(host("host-100"), host("host-99")).master == "host-99"
    # … and when one id is a prefix of the other, the longer one wins.
    assert elect_among(host("host-10"), host("host-100")).master == "host-100"
    assert elect_among(host("host-10"), host("host-100"), host("host-99")).ranking == ["host-99", "host-100", "host-10"]


def test_more_datastores_beat_larger_id() -> None:
    e = elect_among(host("host-99", ds=("ds-1",)), host("host-10", ds=("ds-1", "ds-2")))
    assert e.master == "host-10"
    assert [(c.host, c.datastores) for c in e.candidates] == [("host-10", 2), ("host-99", 1)]


def test_goodness_set_beats_unset_and_larger_beats_smaller() -> None:
    e = elect_among(
        host("host-99", ds=("ds-1", "ds-2")),
        host("host-10", goodness=-100),
        host("host-11", goodness=5),
    )
    # Any set goodness beats an unset one, even a negative one; then larger first.
    assert e.ranking == ["host-11", "host-10", "host-99"]


def test_ineligible_hosts_are_excluded_with_reasons() -> None:
    e = elect_among(
        host("host-1"),
        host("host-9", maintenance=True),
        host("host-8", standby=True),
        host("host-7", state="disconnected"),
        host("host-6", state="notResponding"),
    )
    assert e.master == "host-1"
    assert e.ranking == ["host-1"]
    reasons = dict(e.excluded)
    assert set(reasons) == {"host-9", "host-8", "host-7", "host-6"}
    assert "maintenance" in reasons["host-9"] and "standby" in reasons["host-8"]
    assert "host-9" in e.explain() and "maintenance" in e.explain()


def test_partition_elects_among_given_hosts() -> None:
    inv = ha.Inventory.from_dict(doc([host("host-1"), host("host-2"), host("host-3")]))
    assert ha.elect(inv).master == "host-3"
    assert ha.elect(inv, hosts=["host-1", "host-2"]).master == "host-2"
    assert ha.elect(inv, hosts=["host-1"]).master == "host-1"  # an isolated host elects itself
    with pytest.raises(ha.UnknownIdError):
        ha.elect(inv, hosts=["host-7"])


def test_unusable_datastores_do_not_count() -> None:
    inv = ha.Inventory.from_dict(
        doc([host("host-1", ds=("ds-1", "ds-2")), host("host-2", ds=("ds-1",))], datastores=["ds-1", "ds-2"])
    )
    assert ha.elect(inv).master == "host-1"
    # ds-2 in APD: both hosts have one usable datastore; the larger id wins.
    assert ha.elect(inv, unusable_datastores=["ds-2"]).master == "host-2"


def test_nobody_eligible() -> None:
    e = elect_among(host("host-1", maintenance=True))
    assert e.master is None and e.ranking == []
    assert "no eligible host" in e.explain()


def test_election_result_exports(lab: ha.Inventory) -> None:
    e = ha.elect(lab)
    d = e.to_dict()
    assert d["master"] == e.master == e.ranking[0]
    assert [r["host"] for r in e.to_records()] == e.ranking
    assert "<table>" in e._repr_html_()


# R-CLASS-M as a table, written independently of the implementation's if-chain.
def expected_master_view(nhb: bool, ping: bool, dshb: bool, flag: bool) -> ha.HostState:
    if nhb:
        return ha.HostState.CONNECTED_TO_MASTER
    if ping:
        return ha.HostState.FDM_UNREACHABLE
    if dshb:
        return ha.HostState.NETWORK_ISOLATED if flag else ha.HostState.NETWORK_PARTITIONED_FROM_MASTER
    return ha.HostState.HOST_DOWN


@pytest.mark.parametrize("combo", list(itertools.product([False, True], repeat=4)))
def test_classify_host_all_sixteen(combo: tuple[bool, bool, bool, bool]) -> None:
    nhb, ping, dshb, flag = combo
    got = ha.classify_host(network_heartbeat=nhb, ping=ping, datastore_heartbeat=dshb, isolated_flag=flag)
    assert got is expected_master_view(*combo)


def test_classify_host_api_example() -> None:
    assert (
        ha.classify_host(network_heartbeat=False, ping=False, datastore_heartbeat=True, isolated_flag=False)
        == ha.HostState.NETWORK_PARTITIONED_FROM_MASTER
        == "networkPartitionedFromMaster"
    )


def test_classify_self() -> None:
    assert ha.classify_self(True, False, False) == "connected"
    assert ha.classify_self(False, True, False) == "partitioned"
    assert ha.classify_self(False, False, True) == "partitioned"
    assert ha.classify_self(False, False, False) == "isolated"
