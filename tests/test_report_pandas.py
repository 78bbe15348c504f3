"""pandas polish: nullable integers where values can be missing, categoricals for enum
columns, and ``to_pandas()`` typed as ``pandas.DataFrame`` for a user's ``mypy --strict``."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import hapolicy as ha

pd = pytest.importorskip("pandas")

ROOT = Path(__file__).resolve().parent.parent
LAB = ROOT / "examples" / "lab.json"


@pytest.fixture(scope="module")
def lab() -> ha.Inventory:
    return ha.Inventory.load(LAB)


def test_plan_order_is_a_nullable_integer_and_enums_are_categoricals(lab: ha.Inventory) -> None:
    # host-21 fails: scratch01 (vm-116, restart priority disabled) is not restarted by rule,
    # so it has no place in the restart order.
    df = ha.plan_failover(lab, ["host-21"]).to_pandas()
    assert str(df["order"].dtype) == "Int64"
    row = df.set_index("vm").loc["vm-116"]
    assert row["outcome"] == "not restarted" and row["order"] is pd.NA
    restarted = df[df["outcome"] == "restarted"]
    assert list(restarted["order"]) == sorted(restarted["order"]) and restarted["order"].min() == 1
    assert isinstance(df["priority"].dtype, pd.CategoricalDtype)
    assert set(df["priority"].cat.categories) == {p.value for p in ha.RestartPriority}
    assert list(df["outcome"].cat.categories) == ["restarted", "unplaced", "not restarted"]


def test_missing_values_are_na_not_nan(lab: ha.Inventory) -> None:
    e = ha.elect(lab).to_pandas()          # lab hosts set no goodness
    assert str(e["goodness"].dtype) == "Int64" and e["goodness"].isna().all()
    a = ha.admission_control(lab).to_pandas()
    assert str(a["slots"].dtype) == "Int64" and list(a["slots"]) == [3, 3, 2, 2]
    pct = lab.replace(config={**lab.config.to_dict(), "admission_control": {"policy": "percentage", "host_failures": 1}})
    assert ha.admission_control(pct).to_pandas()["slots"].isna().all()


def test_timeline_kind_is_a_categorical_of_every_event_kind(lab: ha.Inventory) -> None:
    sim = ha.Simulation(lab)
    sim.fail_host("host-21", at=0.0)
    df = sim.run(until=60).to_pandas()
    assert isinstance(df["kind"].dtype, pd.CategoricalDtype)
    assert set(df["kind"].cat.categories) == {k.value for k in ha.EventKind}
    assert "vm_restarted" in set(df["kind"])


def test_frames_of_two_results_concatenate_with_categoricals_kept(lab: ha.Inventory) -> None:
    a = ha.plan_failover(lab, ["host-21"]).to_pandas()
    b = ha.plan_failover(lab, ["host-22"]).to_pandas()
    both = pd.concat([a, b], ignore_index=True)
    assert isinstance(both["priority"].dtype, pd.CategoricalDtype)
    assert str(both["order"].dtype) == "Int64"


def test_to_pandas_is_typed_for_mypy_strict(tmp_path: Path) -> None:
    pytest.importorskip("mypy")
    from importlib.metadata import PackageNotFoundError, version

    try:
        version("pandas-stubs")    # in the test extra: the DataFrame type comes from it
    except PackageNotFoundError:
        pytest.skip("pandas-stubs is not installed")
    user = tmp_path / "user_code.py"
    user.write_text(textwrap.dedent('''
        import pandas as pd
        import hapolicy as ha

        def frames(inv: ha.Inventory) -> list[pd.DataFrame]:
            plan = ha.plan_failover(inv, ["host-21"])
            out = [plan.to_pandas(), ha.sweep(inv, 1).to_pandas(), ha.admission_control(inv).to_pandas(),
                   ha.elect(inv).to_pandas(), ha.heartbeat_datastores(inv).to_pandas()]
            order: pd.Series = out[0]["order"]
            reveal_type(plan.to_pandas())
            return out
        '''))
    proc = subprocess.run([sys.executable, "-m", "mypy", "--strict", "--no-incremental", str(user)],
                          capture_output=True, text=True, timeout=300, cwd=tmp_path)
    out = proc.stdout
    assert 'Revealed type is "pandas.core.frame.DataFrame"' in out, out
    errors = [line for line in out.splitlines() if ": error:" in line]
    assert errors == [], out
