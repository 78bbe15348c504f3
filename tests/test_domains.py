"""Failure domains, stretched clusters and vSAN (R-DOMAIN): the value objects, sweeps and
remedies per unit, the CLI's --unit, the report's section and admission comparison, and the
adapters (RVTools' vSAN Fault Domain Name, vCenter's vSAN fault domains, the caller's mapping).

The bundled examples/stretched_vsan.json: two sites of 8 hosts (256 GB each), two racks of 4
per site; every host runs 6 VMs reserving 24,576 + 154 MB (56.6 % of its memory). A site
failure moves 48 VMs onto 8 hosts with 113,764 MB free each: 4 VMs fit per host, so 32 restart
and 16 are stranded; a rack failure moves 24 VMs onto 12 hosts (48 places): all restart.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import pickle
import re
from pathlib import Path
from typing import Any

import pytest

import hapolicy as ha
from hapolicy import io
from hapolicy.cli import main
from hapolicy.report import build_report

from .rvtools_layout import cpu, host, mem, vm, write_export

ROOT = Path(__file__).resolve().parent.parent
STRETCHED = ROOT / "examples" / "stretched_vsan.json"
FIXTURES = ROOT / "tests" / "fixtures" / "vsphere"


@pytest.fixture(scope="module")
def stretched() -> ha.Inventory:
    return ha.Inventory.load(STRETCHED)


# ---------------------------------------------------------------- the model


def test_example_describes_a_stretched_cluster(stretched: ha.Inventory) -> None:
    assert stretched.config.vsan == {"enabled": True,
                                     "stretched": {"preferred_site": "site-a", "secondary_site": "site-b"}}
    sites = {h.site for h in stretched.hosts}
    racks = {h.fault_domain for h in stretched.hosts}
    assert sites == {"site-a", "site-b"} and racks == {"rack-a1", "rack-a2", "rack-b1", "rack-b2"}
    assert stretched.warnings == []
    frame = stretched.to_pandas("hosts")
    assert list(frame.columns[-2:]) == ["fault_domain", "site"]
    assert frame.groupby("site").size().to_dict() == {"site-a": 8, "site-b": 8}
    # Round trips keep the fields; a replaced host keeps or changes them like any field.
    assert ha.Inventory.from_json(stretched.to_json()) == stretched
    moved = stretched.replace(hosts=[dataclasses.replace(h, site="site-b") if h.id == "host-a1" else h
                                     for h in stretched.hosts])
    assert moved.host("host-a1").site == "site-b"


def test_validation_names_the_path(stretched: ha.Inventory) -> None:
    doc = stretched.to_dict()
    doc["cluster"]["vsan"]["stretched"]["preferred_site"] = "site-c"
    with pytest.raises(ha.InventoryError) as exc:
        ha.Inventory.from_dict(doc)
    ((path, message),) = exc.value.problems
    assert path == "cluster.vsan.stretched.preferred_site"
    assert "unknown site 'site-c'" in message and "'site-a', 'site-b'" in message
    doc = stretched.to_dict()
    doc["cluster"]["vsan"]["enabled"] = False
    with pytest.raises(ha.InventoryError, match="needs vSAN"):
        ha.Inventory.from_dict(doc)


# ---------------------------------------------------------------- sweeps per unit


def test_sweeps_per_unit(stretched: ha.Inventory) -> None:
    by_host = ha.sweep(stretched, 2)
    assert by_host.unit == "host" and by_host.max_failures_tolerated == 2
    racks = ha.sweep(stretched, 1, unit="fault_domain")
    assert racks.unit == "fault_domain" and racks.max_failures_tolerated == 1
    assert racks.units["rack-a1"] == ("host-a1", "host-a2", "host-a3", "host-a4")
    assert [r.failed_units for r in racks] == [("rack-a1",), ("rack-a2",), ("rack-b1",), ("rack-b2",)]
    sites = ha.sweep(stretched, 1, unit="site")
    assert sites.max_failures_tolerated == 0 and sites.scenarios == 2
    for r in sites:
        assert len(r.failed_hosts) == 8 and (r.restarted, r.unplaced) == (32, 16)
        assert set(r.failed_hosts) == set(sites.units[r.failed_units[0]])
    d = sites.to_dict()
    assert d["unit"] == "site" and d["results"][0]["failed_units"] == ["site-a"] and d["results"][0]["failures"] == 1
    assert "unit='site'" in repr(sites)
    assert pickle.loads(pickle.dumps(sites)) == sites
    two = ha.sweep(stretched, 2, unit="fault_domain")
    merged = ha.sweep(stretched, 2, unit="fault_domain", shard=(1, 2)).merge(
        ha.sweep(stretched, 2, unit="fault_domain", shard=(0, 2)))
    assert merged == two and two.max_failures_tolerated == 1
    frame = two.to_pandas()
    assert frame["failed_units"].iloc[-1] == ["rack-b1", "rack-b2"] and frame["failures"].max() == 2


def test_unit_errors(stretched: ha.Inventory) -> None:
    with pytest.raises(ha.ArgumentError, match="unit must be one of"):
        ha.sweep(stretched, 1, unit="rack")
    with pytest.raises(ha.ArgumentError, match="only 2 site"):
        ha.sweep(stretched, 3, unit="site")
    lab = ha.Inventory.load(ROOT / "examples" / "lab.json")
    with pytest.raises(ha.ArgumentError, match=r"needs a site on every host.*host-21 \(esx-01"):
        ha.sweep(lab, 1, unit="site")
    # No fault domains: every host is its own, so the sweep is the host sweep.
    assert [r.failed_hosts for r in ha.sweep(lab, 2, unit="fault_domain")] == [r.failed_hosts for r in ha.sweep(lab, 2)]


# ---------------------------------------------------------------- remedies per unit


def test_site_remedies_each_verified(stretched: ha.Inventory) -> None:
    found = ha.remedies(stretched, 1, unit="site")
    assert not found.holds and "up to 1 failed site restarts" in found.promise
    assert "up to 1 failed site:" in found.text()
    kinds = {str(r.kind) for r in found}
    assert {"addMemory", "addHosts"} <= kinds
    for r in found:
        changed = r.apply(stretched)
        assert ha.sweep(changed, 1, unit="site").max_failures_tolerated >= 1, r.summary
    spread = next(r for r in found if str(r.kind) == "addHosts")
    # New hosts join the site (and rack) of the host they are like: 2 per site (16 stranded
    # per site failure; one new 256 GB host holds 10 of these VMs, so one per site is short).
    assert [(a["like"], a["count"]) for a in spread.patch["add_hosts"]] == [("host-a1", 2), ("host-b1", 2)]
    assert "in site 'site-a'" in spread.summary and "in site 'site-b'" in spread.summary
    grown = spread.apply(stretched)
    new = [h for h in grown.hosts if h.id.startswith("new-host")]
    assert sorted(h.site for h in new) == ["site-a", "site-a", "site-b", "site-b"]


# ---------------------------------------------------------------- CLI


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_unit(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, _ = run(capsys, "sweep", str(STRETCHED), "--unit", "site", "--check")
    assert code == 1
    assert out.startswith("2 combinations of up to 1 failed site: tolerates 0 site failures")
    assert "site-a (8 hosts): 16 unplaced" in out
    code, out, _ = run(capsys, "sweep", str(STRETCHED), "--unit", "fault_domain", "--check",
                       "--csv", str(tmp_path / "s.csv"))
    assert code == 0 and "4 combinations of up to 1 failed fault domain" in out
    assert (tmp_path / "s.csv").read_text().splitlines()[1].startswith("rack-a1,host-a1 host-a2 host-a3 host-a4,24,0")
    code, out, _ = run(capsys, "remedies", str(STRETCHED), "--unit", "site", "--failures", "1", "--json")
    doc = json.loads(out)
    assert doc["before"]["sweep"]["unit"] == "site" and doc["remedies"]
    code, _, err = run(capsys, "sweep", str(ROOT / "examples" / "lab.json"), "--unit", "site")
    assert code == 2 and "needs a site on every host" in err


# ---------------------------------------------------------------- report


def test_report_has_a_section_per_unit(stretched: ha.Inventory) -> None:
    r = build_report(stretched)
    d = r.to_dict()
    ids = [s["id"] for s in d["sections"]]
    assert ids[ids.index("host_failures") + 1] == "failure_domains"
    verdicts = {v["promise"]: v["status"] for v in d["verdicts"]}
    assert verdicts["fault_domain_failures"] == "ok" and verdicts["site_failures"] == "fail" and not r.holds
    units = {u["unit"]: u for u in d["failure_domains"]["units"]}
    site = units["site"]
    # The policy reserves 25 %; each site holds half of everything: the 50 % guidance.
    assert site["admission"]["needed_memory_percent"] == pytest.approx(50.0)
    assert site["admission"]["reserved_memory_percent"] == 25.0 and not site["admission"]["enough"]
    assert "50 %" in site["admission"]["sentence"]
    assert units["fault_domain"]["admission"]["enough"]            # a rack is 25 %: enough
    assert site["remedies"]["items"] and units["fault_domain"]["remedies"] is None
    text = r.text()
    assert "== Fault domains and sites (R-DOMAIN)" in text
    assert "[FAIL] Site failures: the failure of site site-a (8 hosts) strands 16 VMs" in text
    assert "the policy reserves too little" in text and "witness is not a data host" in text
    html = r.html()
    assert 'id="failure_domains"' in html and 'data-unit="site"' in html and "Remedies for site failures" in html
    # Without domains or sites the report is unchanged.
    lab = build_report(ha.Inventory.load(ROOT / "examples" / "lab.json")).to_dict()
    assert "failure_domains" not in [s["id"] for s in lab["sections"]] and "failure_domains" not in lab


# ---------------------------------------------------------------- adapters


def _tabs(domain_column: bool) -> dict[str, list[dict[str, Any]]]:
    hosts = [host(f"esx-{s}{i}.dc.local", "stretch", f"host-{s}{i}") for s in "ab" for i in (1, 2)]
    if domain_column:
        for h in hosts:
            h["vSAN Fault Domain Name"] = "chassis-" + h["Host"][4]
        hosts[0]["vSAN Fault Domain Name"] = ""   # in no domain
    return {
        "vInfo": [vm("app1", "esx-a1.dc.local", "vsanDatastore", "vm-1", cluster="stretch")],
        "vCPU": [cpu("app1", "vm-1", 0)], "vMemory": [mem("app1", "vm-1", 0, 30)],
        "vHost": hosts,
        "vDatastore": [{"Name": "vsanDatastore", "Type": "vsan", "Hosts": ", ".join(h["Host"] for h in hosts),
                        "Object ID": "datastore-1"}],
    }


def test_rvtools_fault_domain_column_and_mappings(tmp_path: Path) -> None:
    path = write_export(tmp_path / "export.xlsx", _tabs(True))
    inv, _ = io.read_rvtools(path)
    assert [h.fault_domain for h in inv.hosts] == [None, "chassis-a", "chassis-b", "chassis-b"]
    assert all(h.site is None for h in inv.hosts)
    # The caller's mapping: a pattern for sites, a dict for fault domains; both are assumptions.
    inv, assumptions = io.read_rvtools(path, sites=r"^esx-(?P<site>[ab])",
                                       fault_domains={"esx-a1.dc.local": "chassis-a"})
    assert [h.site for h in inv.hosts] == ["a", "a", "b", "b"]
    assert inv.hosts[0].fault_domain == "chassis-a"
    notes = {a.path: a.message for a in assumptions}
    assert "pattern the caller passed" in notes["hosts[*].site"] and "4 objects" in notes["hosts[*].site"]
    assert "mapping the caller passed" in notes["hosts[*].fault_domain"]
    assert ha.sweep(inv, 1, unit="site").max_failures_tolerated == 1
    without = write_export(tmp_path / "old.xlsx", _tabs(False))
    assert all(h.fault_domain is None for h in io.read_rvtools(without)[0].hosts)
    with pytest.raises(ha.ArgumentError, match="matches no host name"):
        io.read_rvtools(path, sites=r"^nothing-(\d)")
    with pytest.raises(ha.ArgumentError, match="names hosts the inventory lacks: esx-z9"):
        io.read_rvtools(path, fault_domains={"esx-z9": "x"})


def test_inventory_load_takes_a_mapping(tmp_path: Path) -> None:
    lab = ROOT / "examples" / "lab.json"
    inv = ha.Inventory.load(lab, sites={"host-21": "east", "host-22": "east", "esx-03.lab.local": "west",
                                        "host-24": "west"})
    assert [h.site for h in inv.hosts] == ["east", "east", "west", "west"]
    assert [a.path for a in inv.assumptions] == ["hosts[*].site"]
    assert ha.sweep(inv, 1, unit="site").unit == "site"
    assert ha.Inventory.load(lab).assumptions == ()


def test_vcenter_fault_domains_and_vsan(tmp_path: Path) -> None:
    # The simulator models no vSAN: the recorded lab, edited as vCenter answers for a vSAN
    # cluster (configurationEx.vsanConfigInfo, each host's vsanHostConfig.faultDomainInfo).
    rec = json.loads((FIXTURES / "edited-lab.json").read_text())
    rec = copy.deepcopy(rec)
    rec["cluster"]["props"]["configurationEx"]["vsanConfigInfo"] = {"_type": "vim.vsan.cluster.ConfigInfo",
                                                                    "enabled": True}
    names = sorted(rec["hosts"])
    for i, moid in enumerate(names):
        rec["hosts"][moid]["config.vsanHostConfig.faultDomainInfo.name"] = "" if i == 0 else f"fd-{i % 2}"
    (tmp_path / "rec.json").write_text(json.dumps(rec))
    inv, assumptions = io.read_vsphere(io.vsphere.replay(tmp_path / "rec.json"), "DC0_C0")
    assert inv.config.vsan["enabled"] is True
    by_id = {h.id: h.fault_domain for h in inv.hosts}
    assert by_id[names[0]] is None and {by_id[m] for m in names[1:]} == {"fd-0", "fd-1"}
    assert any(a.path == "hosts[*].site" and "sites=" in a.message for a in assumptions)
    plain, _ = io.read_vsphere(io.vsphere.replay(FIXTURES / "edited-lab.json"), "DC0_C0")
    assert plain.config.vsan == {"enabled": False, "stretched": None}
    assert all(h.fault_domain is None for h in plain.hosts)
    named = io.read_vsphere(io.vsphere.replay(tmp_path / "rec.json"), "DC0_C0",
                            sites=re.compile(r"(?P<site>.)$")).inventory
    assert all(h.site for h in named.hosts)


def test_assert_survives_per_unit(stretched: ha.Inventory) -> None:
    from hapolicy.testing import assert_survives

    assert_survives(stretched, 1, unit="fault_domain")
    with pytest.raises(AssertionError) as exc:
        assert_survives(stretched, 1, unit="site")
    msg = str(exc.value)
    assert msg.startswith("cluster 'stretched-vsan' does not survive 1 site failure: 2 of 2 combinations")
    assert "site site-a (host-a1 (esx-a01)," in msg and "16 unplaced, 32 restarted" in msg
    assert "insufficientResources" in msg


# ---------------------------------------------------------------- isolation addresses per group


def test_lone_hosts_reach_their_own_addresses_through_isolate_host() -> None:
    """R-DOMAIN, engine choice: ``reachable_addresses`` is one list per fault. Hosts sharing a
    partition group hear each other and are never isolated, so only lone hosts need their own
    list — and a lone host's group is that host isolated: one ``isolate_host`` per host with its
    list is the same timeline as the partition (here host-1 reaches nothing and is isolated,
    host-2 still reaches site-a's address and is only partitioned)."""
    doc = {"cluster": {"name": "groups", "version": "8.0", "isolation_response": "powerOff",
                       "isolation_addresses": ["10.1.0.1@site-a", "10.2.0.1@site-b"]},
           "hosts": [{"id": f"host-{i}", "cpu_mhz": 10000, "memory_mb": 16384, "datastores": ["ds-1", "ds-2"],
                      "site": "site-a" if i <= 2 else "site-b"} for i in (1, 2, 3, 4)],
           "datastores": [{"id": "ds-1"}, {"id": "ds-2"}],
           "vms": [{"id": f"vm-{i}", "host": f"host-{i}", "home_datastore": "ds-1", "memory_reservation_mb": 1024}
                   for i in (1, 2)]}
    inv = ha.Inventory.from_dict(doc)
    per_host = ha.Simulation(inv)
    per_host.isolate_host("host-1", at=0.0, reachable_addresses=[])
    per_host.isolate_host("host-2", at=0.0, reachable_addresses=["10.1.0.1"])
    tl = per_host.run(until=200)
    assert [(e.host, e.time) for e in tl.filter("isolation_declared")] == [("host-1", 30.0)]
    assert [e.vm for e in tl.filter("isolation_response")] == ["vm-1"]
    assert per_host.vm_states()["vm-2"] == ("poweredOn", "host-2")
    # The partition into the same lone hosts, everybody reaching nothing, differs only for host-2.
    grouped = ha.Simulation(inv)
    grouped.partition([["host-1"], ["host-2"]], at=0.0, reachable_addresses=[])
    both = ha.Simulation(inv)
    both.isolate_host("host-1", at=0.0, reachable_addresses=[])
    both.isolate_host("host-2", at=0.0, reachable_addresses=[])
    assert [e.text for e in grouped.run(until=200) if e.kind != "fault"] == [
        e.text for e in both.run(until=200) if e.kind != "fault"]
    # A group of two that reaches nothing isolates nobody (they hear each other's elections).
    pair = ha.Simulation(inv)
    pair.partition([["host-1", "host-2"]], at=0.0, reachable_addresses=[])
    assert not [e for e in pair.run(until=200).filter("isolation_declared") if e.host in ("host-1", "host-2")]


# ---------------------------------------------------------------- hapolicy report on the example


def test_cli_report_on_the_stretched_example(capsys: pytest.CaptureFixture[str]) -> None:
    """`hapolicy report examples/stretched_vsan.json` (R-DOMAIN), figures from the module
    docstring: a rack is 4 of 16 equal hosts (25 %: the 25 % policy reserves enough, every rack
    failure restarts all), a site is half the cluster (the stretched-cluster guidance of 50 %:
    25 % is too little; a site failure restarts 32 and strands 16). Remedies, each verified by
    a site sweep: 48 GB more per host (a site failure puts 12 VMs of 24,730 MB = 296,760 MB on a
    host: 34,616 MB more than 262,144, and 48 GB is the first 16 GB step above), or two hosts per
    site (a new 256 GB host takes 10 such VMs, one per site would leave 6 of the 16)."""
    code, out, _ = run(capsys, "report", str(STRETCHED), "--check")
    assert code == 1
    section = out[out.index("== Fault domains and sites (R-DOMAIN)"):]
    section = section[:section.index("\n== ", 1)]
    assert "Fault-domain failures: [OK] the failure of any one of the 4 fault domains restarts every VM" in section
    assert "Site failures: [FAIL] the failure of site site-a (8 hosts) strands 16 VMs" in section
    assert "the largest fault domain, rack-a1 (4 hosts), holds 25.0 % of the CPU and 25.0 % of the memory" in section
    assert "the policy reserves enough" in section
    assert "the largest site, site-a (8 hosts), holds 50.0 % of the CPU and 50.0 % of the memory" in section
    assert "the policy reserves too little" in section and "guidance of reserving 50 %" in section
    assert "worst: site-a (8 hosts): 32 restart, 16 unplaced" in section
    assert "remedies (site failures):" in section and "remedies (fault-domain failures)" not in section
    assert "1. add 49152 MB (48 GB) of memory to every host (16 hosts)" in section
    assert "add 2 hosts like host-a1 (esx-a01)" in section and "in site 'site-b', fault domain 'rack-b1'" in section
    assert section.count("site failures survived: 0 → 1") == 2 and "host failures survived" not in section

    code, out, _ = run(capsys, "report", str(STRETCHED), "--json")
    assert code == 0
    doc = json.loads(out)
    verdicts = {v["promise"]: v["status"] for v in doc["verdicts"]}
    assert (verdicts["fault_domain_failures"], verdicts["site_failures"]) == ("ok", "fail")
    units = {u["unit"]: u for u in doc["failure_domains"]["units"]}
    racks, sites = units["fault_domain"], units["site"]
    assert [(u["name"], len(u["hosts"]), u["memory_percent"]) for u in racks["units"]] == [
        ("rack-a1", 4, 25.0), ("rack-a2", 4, 25.0), ("rack-b1", 4, 25.0), ("rack-b2", 4, 25.0)]
    assert [(u["name"], len(u["hosts"]), u["memory_percent"]) for u in sites["units"]] == [
        ("site-a", 8, 50.0), ("site-b", 8, 50.0)]
    assert (racks["admission"]["needed_memory_percent"], racks["admission"]["enough"]) == (25.0, True)
    assert racks["sweep"]["worst"] == [] and racks["remedies"] is None
    assert (sites["admission"]["needed_memory_percent"], sites["admission"]["reserved_memory_percent"]) == (50.0, 25.0)
    assert sites["admission"]["enough"] is False
    (worst,) = sites["sweep"]["worst"][:1]
    assert (worst["units"], worst["restarted"], worst["unplaced"]) == (["site-a"], 32, 16)
    items = sites["remedies"]["items"]
    assert [i["kind"] for i in items] == ["addMemory", "addHosts"] and all(i["verified"] is True for i in items)
    assert {"figure": "site failures survived", "before": 0, "after": 1} in items[0]["figures"]


def test_report_on_a_stretched_cluster_that_survives_a_site(stretched: ha.Inventory) -> None:
    """Four VMs per host instead of six: a site failure moves 32 VMs onto 8 hosts with
    262,144 − 4 × 24,730 = 163,224 MB free (6 VMs each, 48 places): everything restarts, so no
    remedy is proposed — but the 25 % policy still reserves less than the 50 % a site needs."""
    keep = {v.id for v in stretched.vms if int(v.id.split("-")[1]) % 6 not in (5, 0)}
    lighter = stretched.replace(vms=[v for v in stretched.vms if v.id in keep])
    assert len(lighter.vms) == 64
    d = build_report(lighter).to_dict()
    units = {u["unit"]: u for u in d["failure_domains"]["units"]}
    assert units["site"]["status"] != "fail" and units["site"]["remedies"] is None
    assert units["site"]["sweep"]["max_failures_tolerated"] == 1
    assert units["site"]["admission"]["enough"] is False
    assert "guidance of reserving 50 %" in build_report(lighter).text()
