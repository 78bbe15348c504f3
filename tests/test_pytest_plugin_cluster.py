"""The ha_inventory fixture on RVTools exports of a whole vCenter: naming the cluster with the
marker's ``cluster=`` argument, ``--ha-cluster NAME`` or the ini option ``ha_cluster``."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from .rvtools_layout import write_export
from .test_io_rvtools import AMS, ZRH, vcenter_tabs
from .test_testing import _plugin_args

pytest.importorskip("openpyxl")

pytest_plugins = ["pytester"]


@pytest.fixture
def export(pytester: pytest.Pytester) -> Path:
    """Three clusters: Amsterdam/prod (3 hosts), Amsterdam's dev (1 host), Zürich/prod (2 hosts)."""
    return write_export(pytester.path / "vc01.xlsx", vcenter_tabs())


def test_marker_names_the_cluster(pytester: pytest.Pytester, export: Path) -> None:
    pytester.makepyfile(test_a=textwrap.dedent(f"""
        import pytest

        @pytest.mark.ha_inventory("vc01.xlsx", cluster="{ZRH}/prod")
        def test_zurich(ha_inventory):
            assert sorted(h.id for h in ha_inventory.hosts) == ["host-51", "host-52"]
            assert str(ha_inventory.config.isolation_response) == "shutdown"

        @pytest.mark.ha_inventory("vc01.xlsx", cluster="dev")
        def test_dev(ha_inventory):
            assert [h.id for h in ha_inventory.hosts] == ["host-19"]

        @pytest.mark.ha_inventory(path="vc01.xlsx", cluster="{AMS}/prod")
        def test_amsterdam(ha_inventory):
            assert len(ha_inventory.hosts) == 3 and ha_inventory.source.endswith("vc01.xlsx")
    """))
    pytester.runpytest("--strict-markers", *_plugin_args()).assert_outcomes(passed=3)


def test_option_and_ini_name_the_cluster(pytester: pytest.Pytester, export: Path) -> None:
    pytester.makepyfile(test_b=textwrap.dedent(f"""
        import pytest

        def test_from_option(ha_inventory):
            assert [h.id for h in ha_inventory.hosts] == ["host-19"]

        @pytest.mark.ha_inventory("vc01.xlsx")
        def test_marker_path_option_cluster(ha_inventory):
            assert [h.id for h in ha_inventory.hosts] == ["host-19"]

        @pytest.mark.ha_inventory("vc01.xlsx", cluster="{ZRH}/prod")
        def test_marker_cluster_wins(ha_inventory):
            assert len(ha_inventory.hosts) == 2
    """))
    pytester.runpytest("--ha-inventory", "vc01.xlsx", "--ha-cluster", "dev", *_plugin_args()).assert_outcomes(passed=3)
    pytester.makeini("[pytest]\nha_inventory = vc01.xlsx\nha_cluster = dev\n")
    pytester.runpytest(*_plugin_args()).assert_outcomes(passed=3)


def test_option_cluster_leaves_json_inventories_alone(pytester: pytest.Pytester, export: Path) -> None:
    """A JSON inventory describes one cluster: --ha-cluster (meant for the RVTools export) does
    not apply to it, while a marker's explicit cluster= is checked against it."""
    from .conftest import EXAMPLES

    (pytester.path / "lab.json").write_text((EXAMPLES / "lab.json").read_text())
    pytester.makepyfile(test_j=textwrap.dedent("""
        import pytest

        @pytest.mark.ha_inventory("lab.json")
        def test_json(ha_inventory):
            assert ha_inventory.config.name == "lab"

        @pytest.mark.ha_inventory("vc01.xlsx")
        def test_export(ha_inventory):
            assert ha_inventory.config.name == "dev"

        @pytest.mark.ha_inventory("lab.json", cluster="dev")
        def test_json_other_cluster(ha_inventory):
            pass
    """))
    result = pytester.runpytest("--ha-cluster", "dev", "-rE", *_plugin_args())
    result.assert_outcomes(passed=2, errors=1)
    assert "describes cluster 'lab', not 'dev'" in result.stdout.str()


def test_cluster_errors_are_clear(pytester: pytest.Pytester, export: Path) -> None:
    pytester.makepyfile(test_c=textwrap.dedent("""
        import pytest

        @pytest.mark.ha_inventory("vc01.xlsx")
        def test_no_cluster(ha_inventory):
            pass

        @pytest.mark.ha_inventory("vc01.xlsx", cluster="nope")
        def test_unknown_cluster(ha_inventory):
            pass

        @pytest.mark.ha_inventory("vc01.xlsx", cluster=3)
        def test_not_a_name(ha_inventory):
            pass

        @pytest.mark.ha_inventory("vc01.xlsx", clutser="dev")
        def test_misspelt(ha_inventory):
            pass
    """))
    result = pytester.runpytest("-rE", *_plugin_args())
    result.assert_outcomes(errors=4)
    out = result.stdout.str()
    assert "the export holds 3 clusters" in out and f"'{ZRH}/prod'" in out
    assert ("in tests, name the cluster with @pytest.mark.ha_inventory(path, cluster=NAME), "
            "pytest --ha-cluster NAME or the ini option ha_cluster = NAME") in out
    assert "no cluster 'nope' in the export" in out
    assert "(from @pytest.mark.ha_inventory('vc01.xlsx', cluster='nope'))" in out
    # Once per malformed marker in the error reports (the short summary repeats messages in
    # full when pytest runs under CI, so it is left out of the count).
    reports = out.split("short test summary info")[0]
    assert reports.count("@pytest.mark.ha_inventory takes one path and, optionally, cluster=NAME") == 2
    assert "Traceback" not in out


def test_help_lists_the_cluster_option(pytester: pytest.Pytester) -> None:
    pytester.runpytest("--help", *_plugin_args()).stdout.fnmatch_lines(["*--ha-cluster=NAME*"])
