"""Remedies (R-REMEDY) through the Python API: every remedy applied restores the promise
(admission control, and with ``failures`` the sweep), the figures after are the changed
inventory's, the sizes are the smallest (one step less does not do), sizes worked by hand."""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path

import pytest

import hapolicy as ha
from hapolicy.remedies import RemedyKind, RemedyScope

from .conftest import doc, host, vm

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def lab() -> ha.Inventory:
    return ha.Inventory.load(ROOT / "examples" / "lab.json")


@pytest.fixture(scope="module")
def lab_remedies(lab: ha.Inventory) -> ha.Remedies:
    return ha.remedies(lab)


def two_failure_cluster() -> ha.Inventory:
    """6 hosts of 81,920 MB, each running 3 VMs of 20,480 MB: 20,480 MB free, room for one more.
    One failure: 3 VMs for 5 places. Two failures: 6 VMs for 4 places, 2 unplaced."""
    hosts = [host(f"h{i}", cpu=50_000, mem=81_920, name=f"esx-{i}") for i in range(1, 7)]
    vms = [vm(f"v{i:02}", f"h{i % 6 + 1}", mem=20_480) for i in range(18)]
    return ha.Inventory.from_dict(doc(hosts, vms, cluster={"name": "t", "admission_control": {"policy": "disabled"}}))


def of_kind(rems: ha.Remedies, kind: RemedyKind) -> list[ha.Remedy]:
    return [r for r in rems if r.kind == kind]


# ------------------------------------------------------------------------------------ lab.json
def test_lab_misses_its_level_and_every_remedy_restores_it(lab: ha.Inventory, lab_remedies: ha.Remedies) -> None:
    # Two 64 GB reservations (plus 410 MB overhead) set a 65,946 MB slot: 10 slots for 19 VMs.
    before = ha.admission_control(lab)
    assert not before.satisfied and before.slot_memory_mb == 65_946
    assert not lab_remedies.holds and len(lab_remedies) >= 4
    kinds = {r.kind for r in lab_remedies}
    assert {RemedyKind.SLOT_CAP, RemedyKind.ADD_HOSTS, RemedyKind.CHANGE_POLICY} <= kinds
    for rem in lab_remedies:
        assert rem.verified
        after = ha.admission_control(rem.apply(lab))
        assert after.satisfied, rem.summary
        # The figures carried are those of the changed inventory.
        assert rem.after["admission"]["satisfied"] is True
        assert rem.after["admission"]["current_failover_level"] == after.current_failover_level
        assert rem.before["admission"]["satisfied"] is False


def test_lab_hosts_to_add_are_the_fewest(lab: ha.Inventory, lab_remedies: ha.Remedies) -> None:
    # Hosts like host-21 hold 3 slots: 10 + 3n − 3 (losing a 3-slot host) ≥ 19 → n = 4.
    # Hosts like host-23 hold 2: 10 + 2n − 3 ≥ 19 → n = 6.
    adds = [r.patch["add_hosts"][0] for r in of_kind(lab_remedies, RemedyKind.ADD_HOSTS)]
    counts = {a["like"]: a["count"] for a in adds}
    assert counts == {"host-21": 4, "host-23": 6}
    for like, n in counts.items():
        model = lab.host(like)
        fewer = [dataclasses.replace(model, id=f"extra-{i}", name="") for i in range(n - 1)]
        assert not ha.admission_control(lab.replace(hosts=[*lab.hosts, *fewer])).satisfied, f"{n - 1} like {like}"
        enough = [*fewer, dataclasses.replace(model, id="extra-last", name="")]
        assert ha.admission_control(lab.replace(hosts=[*lab.hosts, *enough])).satisfied
    rem = of_kind(lab_remedies, RemedyKind.ADD_HOSTS)[0]
    assert "host-21 (esx-01.lab.local)" in rem.summary
    assert rem.scope == RemedyScope.HARDWARE


def test_lab_slot_caps_are_the_largest_that_work(lab: ha.Inventory, lab_remedies: ha.Remedies) -> None:
    # CPU caps the hosts at 6 + 6 + 4 + 4 slots (14 after losing one): no memory cap alone does.
    # Caps 5,142 MHz / 28,086 MB: host slots 9, 9, 7, 7 → 32 − 9 = 23; the sql VMs need 3 slots
    # each, the 17 others 1: 23 used. One MHz or MB more: the 36 GHz / 192 GB hosts drop to 6.
    (cap,) = of_kind(lab_remedies, RemedyKind.SLOT_CAP)
    assert cap.patch == {"advanced_options": {"das.slotCpuInMHz": "5142", "das.slotMemInMB": "28086"}}
    assert cap.scope == RemedyScope.SETTING
    config = lab.to_dict()
    for key, larger in (("das.slotCpuInMHz", "5143"), ("das.slotMemInMB", "28087")):
        d = json.loads(json.dumps(config))
        d["cluster"]["advanced_options"].update(cap.patch["advanced_options"])
        assert ha.admission_control(ha.Inventory.from_dict(d)).satisfied
        d["cluster"]["advanced_options"][key] = larger
        assert not ha.admission_control(ha.Inventory.from_dict(d)).satisfied, key


def test_lab_reservations_name_the_vms(lab_remedies: ha.Remedies) -> None:
    (low,) = of_kind(lab_remedies, RemedyKind.LOWER_RESERVATIONS)
    assert set(low.patch["vms"]) == {"vm-102", "vm-103"}
    assert "vm-102 (sql01)" in low.summary and "vm-103 (sql02)" in low.summary


def test_sorted_by_size_of_change(lab_remedies: ha.Remedies) -> None:
    order = [RemedyScope.SETTING, RemedyScope.RULE, RemedyScope.VMS, RemedyScope.HARDWARE, RemedyScope.PROMISE]
    keys = [(order.index(r.scope), r.size_percent) for r in lab_remedies]
    assert keys == sorted(keys)
    # A cluster setting first, hardware last.
    assert lab_remedies[0].scope == RemedyScope.SETTING
    assert lab_remedies[-1].scope == RemedyScope.HARDWARE


def test_apply_gives_the_after_figures_with_failures(lab: ha.Inventory) -> None:
    rems = ha.remedies(lab, failures=2)
    assert rems.before["sweep"]["failing_combinations"] == 0  # lab survives any two hosts
    assert rems.failures == 2 and len(rems) >= 3
    for rem in rems:
        changed = rem.apply(lab)
        assert ha.admission_control(changed).satisfied
        s = ha.sweep(changed, 2)
        assert s.max_failures_tolerated == 2
        assert rem.after["sweep"]["scenarios"] == s.scenarios
        assert rem.after["sweep"]["failing_combinations"] == 0


# ------------------------------------------------------------------------- two host failures
def test_two_failures_every_remedy_makes_the_sweep_whole() -> None:
    inv = two_failure_cluster()
    assert ha.sweep(inv, 2).max_failures_tolerated == 1
    rems = ha.remedies(inv, failures=2)
    assert not rems.holds
    assert rems.before["sweep"]["failing_combinations"] == 15  # every pair of the 6 hosts
    assert rems.before["sweep"]["stranded_vms"] > 0
    assert len(rems) >= 2
    for rem in rems:
        changed = rem.apply(inv)
        assert ha.sweep(changed, 2).max_failures_tolerated >= 2, rem.summary
        assert rem.after["sweep"]["failing_combinations"] == 0


def test_two_failures_smallest_sizes() -> None:
    inv = two_failure_cluster()
    rems = ha.remedies(inv, failures=2)
    # Memory: each survivor needs room for 2 VMs (40,960 MB free): 20,480 + 16,384m ≥ 40,960
    # → m = 2; one step (36,864 MB free) still leaves 2 VMs unplaced.
    (mem,) = of_kind(rems, RemedyKind.ADD_MEMORY)
    assert mem.patch == {"host_memory_mb": 2 * 16_384}
    one_step = inv.replace(hosts=[dataclasses.replace(h, memory_mb=h.memory_mb + 16_384) for h in inv.hosts])
    assert ha.sweep(one_step, 2).max_failures_tolerated == 1
    # Hosts: one empty host of 81,920 MB holds 4: two old hosts failing leave 6 VMs for 4 + 4.
    (add,) = of_kind(rems, RemedyKind.ADD_HOSTS)
    assert add.patch["add_hosts"][0]["count"] == 1
    # No CPU is reserved: no CPU remedy; admission control disabled: no policy change.
    assert not of_kind(rems, RemedyKind.ADD_CPU) and not of_kind(rems, RemedyKind.CHANGE_POLICY)


def test_anti_affinity_rule_is_named() -> None:
    hosts = [host(f"h{i}", mem=65_536, name=f"esx-{i}") for i in (1, 2, 3)]
    vms = [vm(f"v{i}", f"h{i}", mem=1_024, name=f"db-{i}") for i in (1, 2, 3)]
    rules = [{"type": "vmAntiAffinity", "name": "spread-db", "vms": ["v1", "v2", "v3"]}]
    cluster = {"name": "t", "admission_control": {"policy": "disabled"},
               "advanced_options": {"das.respectVmVmAntiAffinityRules": "true"}}
    inv = ha.Inventory.from_dict(doc(hosts, vms, cluster=cluster, rules=rules))
    rems = ha.remedies(inv, failures=1)
    assert rems[0].kind == RemedyKind.RELAX_RULE
    assert rems[0].patch == {"remove_rules": ["spread-db"]}
    assert "v1 (db-1)" in rems[0].summary
    for rem in rems:
        assert ha.sweep(rem.apply(inv), 1).max_failures_tolerated == 1


# ------------------------------------------------------------------------------ the rest
def test_kept_promise_is_empty_and_says_so() -> None:
    inv = two_failure_cluster()
    rems = ha.remedies(inv, failures=1)
    assert rems.holds and len(rems) == 0 and list(rems) == []
    assert "already holds" in rems.text()


def test_units_without_domains_or_sites(lab: ha.Inventory) -> None:
    # R-DOMAIN: a host without a fault domain is a domain of its own, so the fault-domain
    # promise of the lab (no domains) is the host promise; a site promise needs sites.
    by_domain = ha.remedies(lab, failures=1, unit="fault_domain")
    by_host = ha.remedies(lab, failures=1)
    assert [r.summary for r in by_domain] == [r.summary for r in by_host]
    assert "up to 1 failed fault domain restarts" in by_domain.promise
    with pytest.raises(ValueError, match="needs a site on every host"):
        ha.remedies(lab, failures=1, unit="site")
    with pytest.raises(ha.ArgumentError, match="unit must be one of"):
        ha.remedies(lab, unit="rack")
    with pytest.raises(ha.ArgumentError, match="failures"):
        ha.remedies(lab, failures=0)
    with pytest.raises(ha.ArgumentError, match="failures must be between 1 and 3"):
        ha.remedies(lab, failures=4)


def test_exports(lab_remedies: ha.Remedies) -> None:
    d = lab_remedies.to_dict()
    assert json.loads(json.dumps(d)) == d
    assert d["remedies"][0]["verified"] is True and d["promise"] == lab_remedies.promise
    text = str(lab_remedies)
    assert "promise: admission control satisfied" in text and "after: admission control (slot) satisfied" in text
    html = lab_remedies._repr_html_()
    # The report's remedies section (one renderer for the page and for Jupyter).
    assert "<table" in html and "slotCap" in html and 'class="hapolicy"' in html
    recs = lab_remedies.to_records()
    assert [r["kind"] for r in recs] == [r.kind.value for r in lab_remedies]
    pd = pytest.importorskip("pandas")
    frame = lab_remedies.to_pandas()
    assert isinstance(frame, pd.DataFrame) and len(frame) == len(lab_remedies)
    with pytest.raises(dataclasses.FrozenInstanceError):
        lab_remedies[0].summary = "x"  # type: ignore[misc]


def test_generated_cluster_two_failures_is_quick() -> None:
    # The generated cluster's only stranded VMs sit on local datastores: moving them is the
    # remedy (verified by a full sweep). Issue 13 asks for every remedy within 2 s on 2 cores.
    inv = ha.generate_inventory()
    t = time.perf_counter()
    rems = ha.remedies(inv, failures=2)
    elapsed = time.perf_counter() - t
    assert [r.kind for r in rems] == [RemedyKind.MOVE_STORAGE]
    assert ha.sweep(rems[0].apply(inv), 2).max_failures_tolerated == 2
    assert elapsed < 2.0 * 3  # generous on a shared machine; the benchmark measures it


def test_apply_to_another_inventory_is_a_clear_error(lab_remedies: ha.Remedies) -> None:
    add = of_kind(lab_remedies, RemedyKind.ADD_HOSTS)[0]
    with pytest.raises(ha.UnknownIdError, match="host-21"):
        add.apply(two_failure_cluster())
    with pytest.raises(ha.ArgumentError, match="takes an Inventory"):
        add.apply({"hosts": []})  # type: ignore[arg-type]
