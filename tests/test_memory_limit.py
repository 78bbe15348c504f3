"""Running out of memory in the core is ``MemoryError``, never an abort (issue 16).

A 200,000-VM inventory takes ~1.3 GB of address space to load (its JSON tree is ~13× the
100 MB of text). Under a 1 GB ``RLIMIT_AS`` (``ulimit -v``) the process used to die of SIGABRT
("memory allocation of N bytes failed"); the core now estimates what reading the document
needs, reserves it fallibly first (``src/mem.rs``) and raises
``hapolicy.OutOfMemoryError`` (a ``MemoryError``) instead. Each case runs in a child process
with the limit set by ``preexec_fn``; the document is generated once per session.
"""

from __future__ import annotations

import resource
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import hapolicy as ha

LIMIT_BYTES = 1 << 30
# The child exits with this code when it caught a MemoryError (and only then).
CAUGHT = 3


@pytest.fixture(scope="module")
def inventory_200k(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("memory") / "inv200k.json"
    path.write_text(ha.generate_inventory(hosts=2000, vms=200_000, seed=3).to_json())
    return path


def limited() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (LIMIT_BYTES, LIMIT_BYTES))


def run_limited(code: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        preexec_fn=limited,
        capture_output=True,
        text=True,
        timeout=120,
    )


CHILD = f"""
    import sys
    import hapolicy as ha
    try:
        inv = ha.Inventory.load(sys.argv[1])
        plan = ha.plan_failover(inv, [inv.hosts[0].id])
        print(plan.explain(inv.vms[0].id))
    except MemoryError as e:
        print(f"{{type(e).__module__}}.{{type(e).__name__}}: {{e}}", file=sys.stderr)
        sys.exit({CAUGHT})
"""


def test_loading_and_explaining_200k_vms_under_1_gb_raise_memory_error(inventory_200k: Path) -> None:
    # The text alone fits (100 MB); its tree does not.
    assert 50e6 < inventory_200k.stat().st_size < LIMIT_BYTES / 4
    r = run_limited(CHILD, str(inventory_200k))
    assert r.returncode != -6 and "memory allocation of" not in r.stderr, f"aborted:\n{r.stderr[-2000:]}"
    assert r.returncode == CAUGHT, f"exit {r.returncode}\nstdout: {r.stdout[-500:]}\nstderr: {r.stderr[-2000:]}"
    assert "hapolicy.errors.OutOfMemoryError: out of memory while reading the JSON document" in r.stderr, r.stderr
    assert "ulimit -v" in r.stderr


def test_out_of_memory_error_is_a_memory_error_and_a_hapolicy_error() -> None:
    assert issubclass(ha.OutOfMemoryError, MemoryError)
    assert issubclass(ha.OutOfMemoryError, ha.HaPolicyError)


def test_a_small_inventory_still_loads_and_explains_under_the_limit(tmp_path: Path) -> None:
    """The estimate refuses only what cannot fit: 2,000 VMs (~1 MB of JSON) are fine."""
    path = tmp_path / "small.json"
    path.write_text(ha.generate_inventory(hosts=20, vms=2000, seed=3).to_json())
    r = run_limited(CHILD, str(path))
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stdout.strip()
