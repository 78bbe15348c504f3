"""The documentation (docs/, Sphinx autodoc + napoleon) builds offline with warnings as errors."""

from __future__ import annotations

import html
import re
import subprocess
import sys
from pathlib import Path

import pytest

import hapolicy as ha

from .conftest import ROOT

DOCS = ROOT / "docs"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("sphinx")
    out = tmp_path_factory.mktemp("html")
    proc = subprocess.run(
        [sys.executable, "-m", "sphinx", "-b", "html", "-W", "--keep-going", "-q", "-d", str(out / ".doctrees"),
         str(DOCS), str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, f"sphinx failed (warnings are errors):\n{proc.stderr[-8000:]}"
    return out


def text(path: Path) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", path.read_text(encoding="utf-8")))


@pytest.mark.slow
def test_builds_every_page(built: Path) -> None:
    for page in ("index", "api", "cli", "inventory", "testing", "notebooks", "rules", "rules/inventory",
                 "rules/election", "rules/timeline", "rules/admission", "rules/placement", "rules/faults",
                 "rules/options"):
        assert (built / f"{page}.html").is_file(), page


@pytest.mark.slow
def test_every_export_is_documented(built: Path) -> None:
    api = (built / "api.html").read_text(encoding="utf-8")
    missing = [name for name in ha.__all__ if f'id="hapolicy.{name}"' not in api]
    assert not missing, f"not in the API reference: {missing}"
    for module in ("hapolicy.io", "hapolicy.testing", "hapolicy.pytest_plugin", "hapolicy.plot"):
        assert f'id="module-{module}"' in api, module
    for name in ("hapolicy.testing.assert_survives", "hapolicy.testing.assert_timeline", "hapolicy.plot.timeline",
                 "hapolicy.plot.sweep_heatmap", "hapolicy.pytest_plugin.ha_inventory", "hapolicy.io.from_rvtools"):
        assert f'id="{name}"' in api, name


@pytest.mark.slow
def test_docstrings_render(built: Path) -> None:
    api = text(built / "api.html")
    assert "Where every VM restarts if failed_hosts fail" in api           # plan_failover's docstring
    assert "Asserts that every combination of up to failures failed hosts" in api


@pytest.mark.slow
def test_cli_page_is_generated_from_the_parser(built: Path) -> None:
    page = text(built / "cli.html")
    from hapolicy.cli import _parser

    parser = _parser()
    commands = next(a for a in parser._actions if a.dest == "command").choices
    for name in commands:
        assert f"usage: hapolicy {name}" in page, name


@pytest.mark.slow
def test_rules_page_lists_citations(built: Path) -> None:
    page = text(built / "rules.html")
    for rule in ("R-ELECT", "R-CLASS-M", "R-AC-SLOT", "R-PLACE-2", "R-VMCP"):
        assert rule in page
    assert "src/placement/engine.rs" in page and "python/hapolicy/placement.py" in page


def test_unlisted_exports_are_appended(monkeypatch: pytest.MonkeyPatch) -> None:
    """A name exported later (e.g. ha.sweep) lands in an "Also exported" section by itself."""
    pytest.importorskip("sphinx")
    import importlib.util

    spec = importlib.util.spec_from_file_location("hapolicy_docs_conf", DOCS / "conf.py")
    assert spec is not None and spec.loader is not None
    conf = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(conf)
    source = [(DOCS / "api.rst").read_text(encoding="utf-8")]
    assert "plan_failover" not in conf._unlisted_exports(source[0])
    assert conf._unlisted_exports(".. autofunction:: elect\n") == [n for n in ha.__all__ if n != "elect"]

    def sweep(inv: ha.Inventory, max_failures: int = 1) -> None:
        """A stand-in."""

    monkeypatch.setattr(ha, "sweep", sweep, raising=False)
    monkeypatch.setattr(ha, "__all__", [n for n in ha.__all__ if n != "sweep"] + ["sweep"])
    conf._append_unlisted(None, "api", source)
    block = source[0][source[0].index("Simulation (R-TIME"):source[0].index("Enumerations\n")]
    assert "What-if sweeps" in block and ".. currentmodule:: hapolicy" in block
    assert ".. autofunction:: sweep" in block
    assert conf._MARKER not in source[0]


@pytest.mark.slow
def test_inventory_page_renders_the_schema(built: Path) -> None:
    """Field tables generated from the shipped schema, and the schema file itself."""
    from hapolicy.schema import inventory_schema

    page = text(built / "inventory.html")
    schema = inventory_schema()
    for name in schema["$defs"]["vm"]["properties"]:
        assert name in page, name
    assert "connected | disconnected | notResponding" in page          # an enum rendered as a type
    assert '"$schema": "https://json-schema.org/draft/2020-12/schema"' in page   # the literalinclude


@pytest.mark.slow
def test_options_page_has_every_option_with_its_defaults(built: Path) -> None:
    page = text(built / "rules" / "options.html")
    for key in ha.Inventory.from_dict({"hosts": []}).options:
        assert key in page, key
    # Version-dependent defaults, read from the engine at build time.
    assert "false (5.0–6.0), true (6.5–8.0)" in page            # das.respectVmVmAntiAffinityRules
    assert "0 (5.0), 30 (5.1–8.0)" in page                       # isolationPolicyDelaySec
