"""The notebooks in notebooks/: stored without outputs, parameterised, and they execute (nbmake)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import ROOT

NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def test_the_notebooks_exist() -> None:
    assert [p.name for p in NOTEBOOKS] == ["capacity_what_if.ipynb", "failure_timeline.ipynb",
                                           "stretched_cluster.ipynb"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_stored_without_outputs_with_a_parameters_cell(path: Path) -> None:
    nbformat = pytest.importorskip("nbformat")
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code and all(c.outputs == [] and c.execution_count is None for c in code), "strip the outputs"
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1 and tagged[0].cell_type == "code" and "INVENTORY" in tagged[0].source
    assert nb.metadata["kernelspec"]["name"] == "python3"


@pytest.mark.slow
def test_notebooks_execute_with_nbmake() -> None:
    """What CI runs: every notebook top to bottom in a fresh kernel (working directory: notebooks/)."""
    pytest.importorskip("nbmake")
    pytest.importorskip("matplotlib")
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "--nbmake", "--nbmake-timeout=300", "-q", "-p", "no:cacheprovider",
         *map(str, NOTEBOOKS)],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-3000:]
    assert f"{len(NOTEBOOKS)} passed" in proc.stdout


@pytest.mark.slow
def test_parameters_change_the_run(tmp_path: Path) -> None:
    """The papermill-style parameters cell can be replaced: the timeline notebook for another host."""
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("matplotlib")
    nb = nbformat.read(ROOT / "notebooks" / "failure_timeline.ipynb", as_version=4)
    index = next(i for i, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", []))
    injected = nbformat.v4.new_code_cell('HOST = "host-24"\nUNTIL = 120.0')
    injected.metadata["tags"] = ["injected-parameters"]
    nb.cells.insert(index + 1, injected)
    nbclient.NotebookClient(nb, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(ROOT / "notebooks")}}).execute()
    # Printed text and rich output (the notebooks display results rather than print them).
    out = "".join(o.get("text", "") + "".join(o.get("data", {}).get(kind, "") for kind in ("text/markdown", "text/html"))
                  for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    assert "### host-24 fails" in out and "### host-24 isolated" in out
    assert re.search(r"t=\+18\.0s host-24( \([^)]*\))? hostDown", out)  # the name beside the id
    assert "timelines as expected" in out
    images = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if "image/png" in o.get("data", {})]
    assert len(images) == 1
    (tmp_path / "executed.ipynb").write_text(json.dumps(nb))


@pytest.mark.slow
def test_stretched_cluster_notebook_shows_the_site_partition_and_the_site_sweep() -> None:
    """notebooks/stretched_cluster.ipynb on examples/stretched_vsan.json (R-DOMAIN): its own cells
    assert the reasoned figures; here the outputs a reader sees are checked. The preferred site-a
    keeps vSAN (its two racks + the witness, 3 of 5 votes); site-b's 48 VMs are terminated by
    VMCP at t=320 s (APD timeout 140 s + 180 s) and 32 restart on site-a (4 per host: 113,764 MB
    free, 24,730 MB a VM), the 16 others on site-b after the heal; a site sweep says the same
    32 / 16; every rack failure restarts everything."""
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("matplotlib")
    nb = nbformat.read(ROOT / "notebooks" / "stretched_cluster.ipynb", as_version=4)
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert "stretched_vsan.json" in tagged[0].source
    nbclient.NotebookClient(nb, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(ROOT / "notebooks")}}).execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    out = "".join(o.get("text", "") + "".join(o.get("data", {}).get(kind, "")
                                              for kind in ("text/markdown", "text/html", "text/plain"))
                  for o in outputs)
    for line in ("site partition as reasoned", "per-site and per-rack sweeps as reasoned", "2 remedies, each verified"):
        assert line in out, line
    assert re.search(r"datastore-vsan( \(vsanDatastore\))? inaccessible on host-b1.*\(no vSAN quorum: 2 of 5 vSAN votes\)",
                     out)
    # The summary table: site-b's 48 VMs terminated, 32 restarted on site-a at t=321 s, 16 on
    # site-b after the heal at t=900 s.
    summary = next(o["data"]["text/plain"] for o in outputs
                   if "VMs terminated by VMCP" in o.get("data", {}).get("text/plain", ""))
    cells = [re.fullmatch(r"(.+?)\s{2,}(\S+)\s+(\S+)", line.strip()) for line in summary.splitlines()[1:]]
    rows = {m.group(1): [m.group(2), m.group(3)] for m in cells if m}
    expected = {"master during the partition": ["host-a8", "host-b8"], "hosts losing vSAN": ["0", "8"],
                "APD timeouts": ["0", "8"], "VMs terminated by VMCP": ["0", "48"],
                "restarted at t=321s": ["32", "0"], "restarted after the heal (t=901s)": ["0", "16"]}
    assert rows == expected, summary
    assert "SweepResult(scenarios=2, max_failures=1, max_failures_tolerated=0, unit='site')" in out
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(images) == 1
