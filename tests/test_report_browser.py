"""The HTML report in a real browser: headless Chromium (Debian's ``chromium``, installed by
tests/browser/install-deps.sh) takes a screenshot, dumps the DOM, and — over the DevTools
protocol — reports console errors, network requests and elements wider than the page.

Without Chromium these tests are skipped on a developer machine and FAIL when ``CI`` or
``HAPOLICY_REQUIRE_BROWSER=1`` is set (run.sh exports it), so CI never passes without a browser.
"""

from __future__ import annotations

import dataclasses
import os
import struct
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

import hapolicy as ha
from hapolicy import _html_browser as browser
from hapolicy.report import SECTIONS, build_report

ROOT = Path(__file__).resolve().parent.parent
LAB = ROOT / "examples" / "lab.json"


def _required() -> bool:
    return os.environ.get("HAPOLICY_REQUIRE_BROWSER") == "1" or bool(os.environ.get("CI"))


@pytest.fixture(scope="module")
def chromium() -> str:
    try:
        path = browser.chromium()
        subprocess.run([path, "--version"], capture_output=True, check=True, timeout=60)
    except (browser.BrowserError, OSError, subprocess.SubprocessError) as exc:
        if _required():
            pytest.fail(f"Chromium is required here (CI / HAPOLICY_REQUIRE_BROWSER=1): {exc}")
        pytest.skip(f"no Chromium: {exc} (tests/browser/install-deps.sh installs it)")
    try:
        import websocket  # noqa: F401
    except ImportError as exc:
        if _required():
            pytest.fail(f"websocket-client (test extra) is required for the DevTools checks: {exc}")
        pytest.skip("websocket-client is not installed")
    return path


@pytest.fixture(scope="module")
def lab_page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    page = tmp_path_factory.mktemp("report") / "lab.html"
    page.write_text(build_report(ha.Inventory.load(LAB), source=str(LAB)).html(), encoding="utf-8")
    return page


def _png_size(png: bytes) -> tuple[int, int]:
    assert png[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    w, h = struct.unpack(">II", png[16:24])
    return w, h


def test_screenshot(chromium: str, lab_page: Path, tmp_path: Path) -> None:
    shot = tmp_path / "lab.png"
    # The command the issue names, as is.
    subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", f"--user-data-dir={tmp_path / 'p'}",
                    f"--screenshot={shot}", "--window-size=1280,2000", lab_page.as_uri()],
                   capture_output=True, check=True, timeout=120)
    png = shot.read_bytes()
    assert _png_size(png) == (1280, 2000)
    image = pytest.importorskip("PIL.Image")
    with image.open(shot) as im:
        colours = {c for _, c in im.convert("RGB").getcolors(maxcolors=1 << 20) or []}
    # The page is drawn, verdicts in their colours: red badge (fails), green badge (holds),
    # the failing verdict's pink background.
    for rgb in ((0xCF, 0x22, 0x2E), (0x1A, 0x7F, 0x37), (0xFF, 0xEB, 0xE9)):
        assert rgb in colours, f"colour {rgb} not on the screenshot"
    assert len(colours) > 50  # text is rendered (antialiasing), not a blank page


class _Dom(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.count: dict[str, int] = {}
        self.verdicts: list[str] = []
        self.h2: list[str] = []
        self._h2 = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.count[tag] = self.count.get(tag, 0) + 1
        a = dict(attrs)
        if tag == "li" and "verdict" in (a.get("class") or "").split():
            self.verdicts.append(str(a.get("data-status")))
        if tag == "h2":
            self._h2 = True
            self.h2.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == "h2":
            self._h2 = False

    def handle_data(self, data: str) -> None:
        if self._h2:
            self.h2[-1] += data


def test_dumped_dom_has_tables_verdicts_and_every_section(chromium: str, lab_page: Path) -> None:
    dom = browser.dump_dom(lab_page)
    parsed = _Dom()
    parsed.feed(dom)
    assert parsed.count.get("table", 0) >= 6
    assert parsed.verdicts == ["fail", "ok", "warn"]
    assert [h.strip() for h in parsed.h2] == [t for _, t in SECTIONS]
    assert parsed.count.get("svg", 0) == 1
    assert parsed.count.get("script", 0) == 0
    assert "vm-102 (sql01)" in dom and "65,946 MB" in dom


@pytest.mark.parametrize("width", [1280, 800])
def test_no_console_errors_no_network_nothing_wider_than_the_page(chromium: str, lab_page: Path, width: int) -> None:
    check = browser.check_page(lab_page, width=width, expressions=[
        "document.querySelectorAll('table').length",
        "document.querySelectorAll('li.verdict').length",
        "document.scripts.length",
    ])
    assert check.errors == []
    assert check.requests == [] and check.failed_requests == []
    assert check.overflowing == [], check.overflowing
    assert check.scroll_width <= check.client_width == width
    assert check.values["document.querySelectorAll('li.verdict').length"] == 3
    assert check.values["document.querySelectorAll('table').length"] >= 6
    assert check.values["document.scripts.length"] == 0


def test_long_names_and_many_hosts_stay_within_the_page(chromium: str, tmp_path: Path) -> None:
    # A 96-host cluster with 60-character host names and an 80-character VM name without a
    # space, three failures (stranded VMs listed with every host's refusal).
    inv = ha.generate_inventory(hosts=24, vms=600, seed=3)
    long_host = "esx-" + "very-long-rack-and-row-name-" * 2
    hosts = [dataclasses.replace(h, name=f"{long_host}{i:02d}.example.internal") for i, h in enumerate(inv.hosts)]
    vms = [dataclasses.replace(v, name="x" * 80) if i == 0 else v for i, v in enumerate(inv.vms)]
    inv = inv.replace(hosts=hosts, vms=vms)
    page = tmp_path / "big.html"
    page.write_text(build_report(inv, failures=2).html(), encoding="utf-8")
    check = browser.check_page(page, width=1024)
    assert check.errors == [] and check.requests == []
    assert check.overflowing == [], check.overflowing


def test_the_checks_can_fail(chromium: str, tmp_path: Path) -> None:
    # Negative control: a page with a console error, a too-wide element, clipped SVG text and
    # a network request is reported as such.
    bad = tmp_path / "bad.html"
    bad.write_text(
        "<!doctype html><html><body><div style='width:3000px'>wide</div>"
        "<svg viewBox='0 0 100 20' width='100'><text x='60' y='15'>cut off by the svg edge</text></svg>"
        "<img src='http://127.0.0.1:9/x.png'><script>console.error('boom')</script></body></html>",
        encoding="utf-8")
    check = browser.check_page(bad, width=800)
    assert any("boom" in e for e in check.errors)
    assert any(o.split(" right=")[0].endswith("div") for o in check.overflowing), check.overflowing
    assert any("cut off by the svg edge" in o for o in check.overflowing)
    assert check.requests == ["http://127.0.0.1:9/x.png"]
