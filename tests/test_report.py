"""The HA report (hapolicy.report): sections in text, JSON and HTML; verdicts; the "why" of
admission control against the sweep; names beside ids; a self-contained, escaped page; the
Jupyter representations rendered by the same section templates.

Expected figures are computed here from the inventory files (or stated from the rules), not
copied from the report's output."""

from __future__ import annotations

import dataclasses
import json
from markupsafe import escape as html_escape  # what Jinja2 autoescaping produces
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

import hapolicy as ha
from hapolicy import report as hr
from hapolicy.report import SECTIONS, build_report

ROOT = Path(__file__).resolve().parent.parent
LAB = ROOT / "examples" / "lab.json"
GUIDE = ROOT / "examples" / "availability_guide.json"


@pytest.fixture(scope="module")
def lab_doc() -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(LAB.read_text())
    return doc


@pytest.fixture(scope="module")
def lab_inv() -> ha.Inventory:
    return ha.Inventory.load(LAB)


@pytest.fixture(scope="module")
def lab_report(lab_inv: ha.Inventory) -> hr.Report:
    return build_report(lab_inv, source=str(LAB))


class _Sections(HTMLParser):
    """Collects <section id> / <h2> pairs, every tag with its attributes, and the text."""

    def __init__(self) -> None:
        super().__init__()
        self.sections: list[str] = []
        self.h2: list[str] = []
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self._in_h2 = False
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        self.tags.append((tag, a))
        if tag == "section" and a.get("id"):
            self.sections.append(str(a["id"]))
        if tag == "h2":
            self._in_h2 = True
            self.h2.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == "h2":
            self._in_h2 = False

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self._in_h2:
            self.h2[-1] += data


def _parse(page: str) -> _Sections:
    p = _Sections()
    p.feed(page)
    return p


def _lab_slot_setters(doc: dict[str, Any]) -> tuple[int, list[str], int, list[str]]:
    """R-AC-SLOT from the file: the largest memory reservation + overhead and the largest CPU
    reservation (at least das.vmCpuMinMHz = 32) among powered-on VMs, and who has them."""
    on = [v for v in doc["vms"] if v.get("power_state", "poweredOn") == "poweredOn"]
    mem = {v["id"]: v.get("memory_reservation_mb", 0) + v.get("memory_overhead_mb", 0) for v in on}
    cpu = {v["id"]: max(v.get("cpu_reservation_mhz", 0), 32) for v in on}
    m, c = max(mem.values()), max(cpu.values())
    return m, sorted(i for i, x in mem.items() if x == m), c, sorted(i for i, x in cpu.items() if x == c)


# ------------------------------------------------------------------------------ sections


def test_text_json_and_html_carry_the_same_sections_in_order(lab_report: hr.Report) -> None:
    # The list: verdicts, admission figures, capacity, sweep, heartbeat, assumptions, remedies.
    keys = [k for k, _ in SECTIONS]
    for needed in ("verdicts", "cluster", "admission_control", "capacity", "host_failures", "heartbeat_datastores",
                   "assumptions", "remedies"):
        assert needed in keys
    d = lab_report.to_dict()
    assert all(k in d for k in keys)
    assert [s["id"] for s in d["sections"]] == keys

    text = lab_report.text()
    heads = re.findall(r"^== (.+)$", text, flags=re.M)
    assert heads == [t for _, t in SECTIONS]

    page = _parse(lab_report.html())
    assert page.sections == keys
    assert [h.strip() for h in page.h2] == [t for _, t in SECTIONS]


def test_json_is_json_with_schema_version_source_time_and_version(lab_report: hr.Report) -> None:
    d = json.loads(json.dumps(lab_report.to_dict()))
    assert d["schema_version"] == 1
    assert d["source"] == str(LAB)
    assert d["hapolicy_version"] == ha.__version__
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", d["generated_at"])
    assert d["failures"] == 2  # 4 usable hosts ≤ 400: pairs


def test_page_header_names_cluster_source_time_and_version(lab_report: hr.Report) -> None:
    page = lab_report.html()
    d = lab_report.to_dict()
    head = page[page.index("<header>"):page.index("</header>")]
    for needle in ("lab", str(LAB), d["generated_at"], f"hapolicy {ha.__version__}"):
        assert needle in head


# ------------------------------------------------------------------------------ verdicts


def test_lab_verdicts_and_holds(lab_report: hr.Report) -> None:
    v = {x["promise"]: x["status"] for x in lab_report.verdicts}
    # Slot policy: 19 powered-on VMs need 19 slots; 10 exist → not satisfied. Every VM fits
    # after any two failures (4 hosts, ≥ 36 GHz / 192 GB each, 24 GHz / 205 GB reserved in all).
    assert v == {"admission_control": "fail", "host_failures": "ok", "heartbeat_datastores": "warn"}
    assert lab_report.holds is False
    assert lab_report.to_dict()["holds"] is False
    text = lab_report.text()
    assert "[FAIL] Admission control" in text and "[OK  ] Host failures survived" in text


def test_verdict_lines_are_coloured_by_status_in_html(lab_report: hr.Report) -> None:
    tags = _parse(lab_report.html()).tags
    items = [a for t, a in tags if t == "li" and "verdict" in (a.get("class") or "").split()]
    assert [(a["data-promise"], a["data-status"]) for a in items] == [
        ("admission_control", "fail"), ("host_failures", "ok"), ("heartbeat_datastores", "warn")]
    assert all(a["data-status"] in (a.get("class") or "").split() for a in items)
    css = hr._html.stylesheet()
    assert re.search(r"\.verdict\.fail\s*\{[^}]*background", css) and re.search(r"\.verdict\.ok\s*\{[^}]*background", css)


def test_a_cluster_where_everything_holds(lab_inv: ha.Inventory) -> None:
    # Percentage policy for one failure (25 % set aside, 85 % / 77 % free) and heartbeat
    # datastores on two backings: every promise holds.
    ds = [dataclasses.replace(d, backing="filer-b") if d.id == "datastore-12" else d for d in lab_inv.datastores]
    cfg = dataclasses.replace(lab_inv.config, admission_control=ha.AdmissionControlConfig(
        ha.AdmissionPolicy.PERCENTAGE, host_failures=1))
    inv = lab_inv.replace(datastores=ds, config=cfg)
    r = build_report(inv)
    assert {v["status"] for v in r.verdicts} == {"ok"}, r.verdicts
    assert r.holds is True
    assert "Every promise holds." in r.html()


def test_explicit_failures_is_a_promise(lab_inv: ha.Inventory) -> None:
    # Three of four hosts failing: vm-102/vm-103 are kept apart by the anti-affinity rule
    # 'sql-apart' and the one host left cannot take both.
    r = build_report(lab_inv, failures=3)
    d = r.to_dict()
    hf = {v["promise"]: v for v in d["verdicts"]}["host_failures"]
    assert hf["status"] == "fail" and "survives 2 host failures, not 3" in hf["summary"]
    assert r.holds is False
    worst = d["host_failures"]["worst"]
    assert worst and all(w["unplaced"] >= 1 for w in worst)
    stranded = {v["vm"] for w in worst for v in w["vms"]}
    assert stranded & {"vm-102", "vm-103"}
    why = [h for w in worst for v in w["vms"] if v["reason"] == "antiAffinity" for h in v["hosts"]]
    assert why and all("sql-apart" in h for h in why)
    # names beside ids in what the reader sees
    assert any("(sql01)" in h or "(sql02)" in h for h in why)
    assert "vm-103 (sql02)" in r.text() or "vm-102 (sql01)" in r.text()


def test_failures_must_be_a_whole_number(lab_inv: ha.Inventory) -> None:
    for bad in (-1, 1.5, True, "2"):
        with pytest.raises(ValueError, match="failures"):
            build_report(lab_inv, failures=bad)  # type: ignore[arg-type]


def test_default_failures_two_up_to_400_usable_hosts_else_one(lab_inv: ha.Inventory) -> None:
    assert hr.default_failures(lab_inv) == 2

    def cluster(usable: int, down: int) -> ha.Inventory:
        hosts = [{"id": f"h{i}", "cpu_mhz": 1000, "memory_mb": 1024, "datastores": ["ds"],
                  **({"maintenance": True} if i >= usable else {})} for i in range(usable + down)]
        return ha.Inventory.from_dict({"cluster": {"name": "c"}, "hosts": hosts,
                                       "datastores": [{"id": "ds"}], "vms": []})

    assert hr.default_failures(cluster(400, 5)) == 2
    assert hr.default_failures(cluster(401, 0)) == 1
    assert hr.default_failures(cluster(2, 3)) == 1   # one less than the usable hosts
    assert hr.default_failures(cluster(1, 3)) == 1   # a lone host: can it lose itself? no
    assert hr.default_failures(cluster(0, 2)) == 0


# ------------------------------------------------------------------------------ why


def test_why_names_the_vms_that_set_the_slot(lab_report: hr.Report, lab_doc: dict[str, Any]) -> None:
    mem, mem_setters, cpu, cpu_setters = _lab_slot_setters(lab_doc)
    assert mem == 65536 + 410 == 65946
    names = {v["id"]: v["name"] for v in lab_doc["vms"]}
    assert mem_setters == ["vm-102", "vm-103"] and {names[i] for i in mem_setters} == {"sql01", "sql02"}

    why = lab_report.to_dict()["admission_control"]["why"]
    assert why["disagree"] is True
    assert why["slot"]["memory"]["set_by"] == mem_setters and why["slot"]["memory"]["size"] == mem
    assert why["slot"]["cpu"]["set_by"] == cpu_setters and why["slot"]["cpu"]["size"] == cpu
    for form in (lab_report.text(), lab_report.html()):
        block = form[form.index("Why the policy" if "<" in form else "why the policy"):]
        block = block[:block.index("Hosts")] if "Hosts" in block else block
        assert "65,946 MB" in block
        for i in mem_setters:
            assert f"{i} ({names[i]})" in block


def test_why_says_what_the_percentage_policy_and_the_sweep_would_say(lab_report: hr.Report,
                                                                     lab_doc: dict[str, Any]) -> None:
    on = [v for v in lab_doc["vms"] if v.get("power_state", "poweredOn") == "poweredOn"]
    cap_cpu = sum(h["cpu_mhz"] for h in lab_doc["hosts"])
    cap_mem = sum(h["memory_mb"] for h in lab_doc["hosts"])
    res_cpu = sum(max(v.get("cpu_reservation_mhz", 0), 32) for v in on)
    res_mem = sum(v.get("memory_reservation_mb", 0) + v.get("memory_overhead_mb", 0) for v in on)
    cpu_free = 100.0 * (cap_cpu - res_cpu) / cap_cpu
    mem_free = 100.0 * (cap_mem - res_mem) / cap_mem
    alt = lab_report.to_dict()["admission_control"]["why"]["percentage_policy"]
    assert alt["satisfied"] is True
    assert alt["configured_cpu_percent"] == pytest.approx(25.0)  # 1 of 4 hosts
    assert alt["cpu_failover_percent"] == pytest.approx(cpu_free)
    assert alt["memory_failover_percent"] == pytest.approx(mem_free)
    text = lab_report.text()
    assert f"{cpu_free:.1f} % CPU" in text and f"{mem_free:.1f} % memory" in text
    assert "really survives at least 2 host failures" in text


def test_percentage_alternative_before_6_5_uses_the_same_share(tmp_path: Path) -> None:
    # vSphere 5.0 has no auto-computed percentages: 1 failure of 3 counted hosts = 33.3 %.
    r = build_report(ha.Inventory.load(GUIDE))
    alt = r.to_dict()["admission_control"]["why"]["percentage_policy"]
    assert alt["available"] is True
    assert alt["configured_cpu_percent"] == pytest.approx(100 / 3)


def test_a_capped_slot_is_explained_as_capped(lab_inv: ha.Inventory) -> None:
    cfg = dataclasses.replace(lab_inv.config, advanced_options={
        **lab_inv.config.advanced_options, "das.slotMemInMB": "16384"})
    r = build_report(lab_inv.replace(config=cfg))
    slot = r.to_dict()["admission_control"]["why"]["slot"]
    assert slot["memory"]["source"] == "cap" and slot["memory"]["set_by"] == []
    # 65,946 MB / 16,384 MB per slot → 5 slots each for the two SQL VMs
    multi = {m["vm"]: m["slots"] for m in slot["multi_slot_vms"]}
    assert multi["vm-102"] == multi["vm-103"] == -(-65946 // 16384) == 5
    assert "das.slotMemInMB" in r.text()


# ------------------------------------------------------------------------------ other sections


def test_capacity_per_host_adds_up(lab_report: hr.Report, lab_doc: dict[str, Any]) -> None:
    cap = lab_report.to_dict()["capacity"]
    failed = set(cap["scenario"]["failed_hosts"])
    assert len(failed) == 2
    on = [v for v in lab_doc["vms"] if v.get("power_state", "poweredOn") == "poweredOn"]
    for h in cap["hosts"]:
        mine = [v for v in on if v.get("host") == h["host"]]
        assert h["reserved_memory_mb"] == sum(v["memory_reservation_mb"] + v["memory_overhead_mb"] for v in mine)
        if h["host"] in failed:
            assert h["failed"] and h["free_memory_mb"] == 0
        else:
            assert h["free_memory_mb"] == h["memory_mb"] - h["reserved_memory_mb"] - h["restarted_memory_mb"]
    # every VM of the failed hosts that HA restarts lands on a survivor
    moved = sum(h["restarted_vms"] for h in cap["hosts"])
    assert moved == cap["scenario"]["restarted"] > 0
    svg = hr._html.capacity_chart(cap)
    assert svg.startswith("<svg") and svg.count("<title>") == 3 * len(cap["hosts"])  # host, CPU, memory


def test_heartbeat_section_names_datastores_and_flags_one_backing(lab_report: hr.Report) -> None:
    hb = lab_report.to_dict()["heartbeat_datastores"]
    assert hb["required"] == 2
    assert [d["label"] for d in hb["hosts"][0]["datastores"]] == ["datastore-11 (vmfs-gold-01)",
                                                                  "datastore-12 (vmfs-gold-02)"]
    assert hb["notes"] and "array-a" in hb["notes"][0]["message"]


def test_insufficient_heartbeat_datastores_fail_the_promise() -> None:
    # The guide's hosts mount one datastore; das.heartbeatDsPerHost defaults to 2.
    r = build_report(ha.Inventory.load(GUIDE))
    v = {x["promise"]: x for x in r.verdicts}["heartbeat_datastores"]
    assert v["status"] == "fail" and "fewer than the 2" in v["summary"]
    assert r.holds is False


def test_assumptions_section_lists_the_adapters_assumptions(lab_inv: ha.Inventory, tmp_path: Path) -> None:
    assert build_report(lab_inv).to_dict()["assumptions"] == []  # JSON states everything
    pytest.importorskip("openpyxl")
    from .rvtools_layout import write_export
    from .test_io_rvtools import lab_tabs

    path = write_export(tmp_path / "RVTools_export_all.xlsx", lab_tabs())
    inv = ha.Inventory.load(path, cluster="prod-a")
    assert inv.assumptions, "an RVTools export leaves things to assume"
    r = build_report(inv)
    d = r.to_dict()
    assert [(a["path"], a["message"]) for a in d["assumptions"]] == [(a.path, a.message) for a in inv.assumptions]
    assert d["source"] == inv.source and str(path.name) in str(d["source"])
    text, page = r.text(), r.html()
    section = text[text.index("== Assumptions"):text.index("== Remedies")]
    html_section = page[page.index('<section id="assumptions">'):page.index('<section id="remedies">')]
    for a in inv.assumptions:
        assert a.message in section
        assert html_escape(a.message) in html_section


def test_names_beside_ids_everywhere_in_the_page(lab_report: hr.Report, lab_doc: dict[str, Any]) -> None:
    page = lab_report.html()
    # The chart draws a host's id and name on two lines (its <title> holds "id (name)").
    svg = page[page.index("<svg"):page.index("</svg>")]
    for h in lab_doc["hosts"]:
        assert f"<title>{h['id']} ({h['name']})</title>" in svg
    text = " ".join(_parse(page.replace(svg, "")).text)
    for h in lab_doc["hosts"]:
        bare = re.findall(re.escape(h["id"]) + r"(?! \()", text)
        assert not bare, f"{h['id']} without its name"
        assert f"{h['id']} ({h['name']})" in text


# ------------------------------------------------------------------------------ the page


def test_page_is_self_contained(lab_report: hr.Report) -> None:
    page = lab_report.html()
    assert page.startswith("<!doctype html>")
    assert "<script" not in page.lower()
    assert not re.search(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", page, flags=re.I)
    assert not re.search(r"url\(\s*['\"]?(?:https?:)?//", page, flags=re.I)
    assert not re.search(r"@import", page)
    assert "<style>" in page and "<svg" in page


def test_names_are_escaped(lab_inv: ha.Inventory) -> None:
    evil = "<script>alert(1)</script>"
    vms = [dataclasses.replace(v, name=evil) if v.id == "vm-102" else v for v in lab_inv.vms]
    page = build_report(lab_inv.replace(vms=vms)).html()
    assert evil not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_remedies_section(lab_report: hr.Report) -> None:
    rem = lab_report.to_dict()["remedies"]
    try:
        import hapolicy.remedies  # noqa: F401
    except ImportError:
        assert rem["available"] is False and "remedies unavailable" in lab_report.text()
        return
    assert rem["available"] is True
    assert rem["items"], "admission control fails on the lab: a remedy is expected"
    for item in rem["items"]:
        assert item["summary"]
        assert item["figures"] and all("before" in f and "after" in f for f in item["figures"])
    assert rem["items"][0]["summary"] in lab_report.html()


# ------------------------------------------------------------------------------ Jupyter: one renderer


def test_repr_html_of_results_reuse_the_report_sections(lab_inv: ha.Inventory) -> None:
    ac = ha.admission_control(lab_inv)
    frag = ac._repr_html_()
    assert frag.startswith('<div class="hapolicy"><style>') and hr._html.stylesheet() in frag
    # the same template as the page's admission section: same figure table rows
    assert "slots used (one per powered-on VM" in frag and "65,946 MB" in frag
    assert "slots used (one per powered-on VM" in build_report(lab_inv).html()

    s = ha.sweep(lab_inv, 3)
    frag = s._repr_html_()
    assert "why it is stranded" in frag and "sql-apart" in frag and "vm-103 (sql02)" in frag
    page = build_report(lab_inv, failures=3).html()
    assert "why it is stranded" in page

    plan = ha.plan_failover(lab_inv, ["host-21", "host-22", "host-23"])
    frag = plan._repr_html_()
    assert "Restart order" in frag and "host-24 (esx-04.lab.local)" in frag
    assert "why it is stranded" in frag  # the stranded-VM table macro the report uses

    hb = ha.heartbeat_datastores(lab_inv)._repr_html_()
    assert "allFeasibleDsWithUserPreference" in hb


def test_report_renders_in_jupyter(lab_report: hr.Report) -> None:
    frag = lab_report._repr_html_()
    assert frag.startswith('<div class="hapolicy">') and "<html" not in frag
    assert [s for s in _parse(frag).sections] == [k for k, _ in SECTIONS]


def test_module_entry_point_writes_the_page(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "r.html"
    assert hr.main([str(LAB), "--html", str(out)]) == 0
    assert _parse(out.read_text()).sections == [k for k, _ in SECTIONS]
    assert hr.main([str(LAB)]) == 0
    assert capsys.readouterr().out.startswith("hapolicy report — cluster lab")


def test_why_when_the_policy_is_satisfied_but_a_failure_strands_vms() -> None:
    # Two hosts, percentage policy for one failure: 50 % set aside, almost nothing reserved →
    # satisfied. But vm-1's datastore is mounted by host-1 only: losing host-1 strands it.
    inv = ha.Inventory.from_dict({
        "cluster": {"name": "c", "admission_control": {"policy": "percentage", "host_failures": 1}},
        "hosts": [{"id": "host-1", "name": "esx-a", "cpu_mhz": 10000, "memory_mb": 16384, "datastores": ["ds-local"]},
                  {"id": "host-2", "name": "esx-b", "cpu_mhz": 10000, "memory_mb": 16384, "datastores": ["ds-shared"]}],
        "datastores": [{"id": "ds-local", "name": "local-a"}, {"id": "ds-shared", "name": "shared"}],
        "vms": [{"id": "vm-1", "name": "db", "host": "host-1", "home_datastore": "ds-local",
                 "memory_reservation_mb": 1024}],
    })
    r = build_report(inv)
    d = r.to_dict()
    assert d["failures"] == 1  # one less than the two usable hosts
    v = {x["promise"]: x["status"] for x in d["verdicts"]}
    assert v["admission_control"] == "ok" and v["host_failures"] == "fail"
    why = d["admission_control"]["why"]
    assert why["disagree"] is True
    text = " ".join(why["sentences"])
    assert "survives 0 host failures" in text
    assert "host-1 (esx-a) failing strands 1 VM" in text and "datastores" in text
    worst = d["host_failures"]["worst"][0]
    assert worst["failed_hosts"] == ["host-1"]
    assert worst["vms"][0]["label"] == "vm-1 (db)" and worst["vms"][0]["reason"] == "datastoreInaccessible"
    assert any("host-2 (esx-b)" in h and "ds-local (local-a)" in h for h in worst["vms"][0]["hosts"])


def test_templates_ship_inside_the_package() -> None:
    from importlib.resources import files

    templates = files("hapolicy") / "templates"
    for name in ("page.html.j2", "report.css", "capacity_chart.svg.j2", *(f"sections/{k}.html.j2" for k, _ in SECTIONS)):
        assert (templates / name).is_file(), name


@pytest.mark.parametrize("policy, status", [
    ({"policy": "disabled"}, "warn"),
    ({"policy": "failoverHosts", "hosts": ["host-24"]}, None),
    ({"policy": "percentage", "cpu_percent": 30, "memory_percent": 30}, "ok"),
    ({"policy": "slot", "host_failures": 1, "slot_cpu_mhz": 1000, "slot_memory_mb": 4096}, None),
])
def test_every_policy_renders(lab_inv: ha.Inventory, policy: dict[str, Any], status: str | None) -> None:
    inv = lab_inv.replace(config={**lab_inv.config.to_dict(), "admission_control": policy})
    r = build_report(inv)
    d = json.loads(json.dumps(r.to_dict()))
    ac = {v["promise"]: v for v in d["verdicts"]}["admission_control"]
    expected = status or ("ok" if ha.admission_control(inv).satisfied else "fail")
    assert ac["status"] == expected
    assert _parse(r.html()).sections == [k for k, _ in SECTIONS]
    if policy["policy"] == "slot":  # a fixed slot is explained as fixed, set by no VM
        slot = d["admission_control"]["why"]["slot"]
        assert slot["memory"]["source"] == slot["cpu"]["source"] == "fixed" and slot["set_by"] == []
    if policy["policy"] == "failoverHosts":
        assert "host-24 (esx-04.lab.local)" in r.html()


def test_a_cluster_without_usable_hosts_or_vms() -> None:
    inv = ha.Inventory.from_dict({"cluster": {"name": "empty"}, "datastores": [{"id": "ds"}], "vms": [],
                                  "hosts": [{"id": "h1", "cpu_mhz": 1000, "memory_mb": 1024, "datastores": ["ds"],
                                             "maintenance": True}]})
    r = build_report(inv)
    v = {x["promise"]: x for x in r.verdicts}
    assert v["host_failures"]["status"] == "fail" and "no usable host" in v["host_failures"]["summary"]
    assert r.holds is False
    assert _parse(r.html()).sections == [k for k, _ in SECTIONS]


def test_report_shows_drs_vmotions_of_a_worst_combination_with_names() -> None:
    # The HA Deepdive's fragmented cluster (R-PLACE-DRS) with three 4096 MB VMs on host-1
    # (16384 MB) and DRS fully automated. When host-1 fails: vm-big1 fits after vm-a (1024 MB)
    # moves host-2 -> host-3 (the Deepdive's vMotion); vm-big2 then fits on host-3 after vm-c
    # (2048 MB) moves host-3 -> host-4 (host-3 2048 + 2048 free; host-4 has 3072); vm-big3 finds
    # 1024 MB left in all: stranded. Every other single failure restarts everything, so host-1's
    # is the one worst combination.
    def host(i: int, mem: int) -> dict[str, Any]:
        return {"id": f"host-{i}", "name": f"esx-{i}", "cpu_mhz": 20000, "memory_mb": mem, "datastores": ["ds-1"]}

    def vm(id: str, host: str, mem: int) -> dict[str, Any]:
        return {"id": id, "name": "app-" + id.split("-", 1)[1], "host": host, "home_datastore": "ds-1",
                "memory_reservation_mb": mem}

    inv = ha.Inventory.from_dict({
        "cluster": {"admission_control": {"policy": "disabled"}, "drs": {"enabled": True, "automation": "fullyAutomated"}},
        "datastores": [{"id": "ds-1"}],
        "hosts": [host(1, 16384), host(2, 8192), host(3, 8192), host(4, 8192)],
        "vms": [vm("vm-big1", "host-1", 4096), vm("vm-big2", "host-1", 4096), vm("vm-big3", "host-1", 4096),
                vm("vm-a", "host-2", 1024), vm("vm-b", "host-2", 4096), vm("vm-c", "host-3", 2048),
                vm("vm-d", "host-3", 3072), vm("vm-e", "host-4", 5120)],
    })
    r = build_report(inv, failures=1)
    worst = r.to_dict()["host_failures"]["worst"]
    assert [w["failed_hosts"] for w in worst] == [["host-1"]]
    assert [(m["vm"], m["source"], m["target"], m["for_vm"]) for m in worst[0]["migrations"]] == [
        ("vm-a", "host-2", "host-3", "vm-big1"), ("vm-c", "host-3", "host-4", "vm-big2")]
    assert worst[0]["hosts_exited_standby"] == []
    assert [v["vm"] for v in worst[0]["vms"]] == ["vm-big3"]
    text = r.text()
    assert ("    DRS vMotions first (2):\n"
            "      vm-a (app-a): host-2 (esx-2) → host-3 (esx-3) (room for vm-big1 (app-big1))\n"
            "      vm-c (app-c): host-3 (esx-3) → host-4 (esx-4) (room for vm-big2 (app-big2))\n") in text
    html = r.html()
    section = html[html.index("Worst combinations"):]
    table = section[section.index("DRS vMotions first (2"):]
    rows = re.findall(r"<tr><td>(.*?)</td><td>(.*?)</td><td>(.*?)</td><td>(.*?)</td></tr>", table[:table.index("</table>")])
    assert rows == [("vm-a (app-a)", "host-2 (esx-2)", "host-3 (esx-3)", "vm-big1 (app-big1)"),
                    ("vm-c (app-c)", "host-3 (esx-3)", "host-4 (esx-4)", "vm-big2 (app-big2)")]
