"""Shared plumbing of the atheris harnesses in this folder (not a target itself).

Each target file imports hapolicy inside ``atheris.instrument_imports(include=["hapolicy"])``
*before* importing this module, so that the Python layers give coverage feedback.

The rules mirror ``tests/test_hardening.py``: only :class:`hapolicy.HaPolicyError` subclasses
may come out of the public API, never :class:`hapolicy.InternalError` (a caught Rust panic),
never anything else. An exception that escapes ``TestOneInput`` is a crash: atheris prints the
traceback and libFuzzer saves the input.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import atheris

import hapolicy as ha

T = TypeVar("T")

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
EXAMPLES = ROOT / "examples"
INVALID = ROOT / "tests" / "invalid"
SCRATCH = ROOT / "fuzz" / "target"
DICT = ROOT / "fuzz" / "dicts" / "inventory.dict"


class Violation(AssertionError):
    """A broken promise found by a harness (the input is saved as a crash)."""


def check(condition: bool, message: str) -> None:
    if not condition:
        raise Violation(message)


# ---------------------------------------------------------------- building values from bytes

# The rule every answer keeps and the document's field names, shared with the hypothesis
# fuzzing of tests/test_hardening.py.
sys.path.insert(0, str(ROOT))
from tests.fuzz_rules import FIELDS, survive  # noqa: E402

WORDS = [
    "host-21", "host-22", "host-23", "host-24", "vm-100", "vm-101", "vm-119", "datastore-11", "datastore-12",
    "poweredOn", "poweredOff", "suspended", "slot", "percentage", "failoverHosts", "disabled", "8.0", "5.0", "6.5",
    "VMFS", "NFS", "vSAN", "vVol", "connected", "disconnected", "notResponding", "high", "low", "medium", "highest",
    "lowest", "none", "powerOff", "shutdown", "ftPrimary", "ftSecondary", "agent", "vmAntiAffinity", "vmAffinity",
    "vmHostMust", "vmHostMustNot", "vmHostShould", "vmHostShouldNot", "vmDependsOn", "das.vmCpuMinMHz",
    "das.isolationaddress0", "das.slotCpuInMHz", "das.respectVmVmAntiAffinityRules", "true", "false", "",
    "allFeasibleDs", "userSelectedDs", "allFeasibleDsWithUserPreference", "vmMonitoringOnly", "custom",
    "restartConservative", "restartAggressive",
]
SPECIAL_FLOATS = [0.0, -0.0, 0.5, -1.0, 1e-300, 1e300, 1e308, float("inf"), float("-inf"), float("nan"), 2.0**53]
SPECIAL_INTS = [0, 1, -1, 2, 3, 100, 255, 2**31 - 1, 2**31, 2**32, 2**53, 2**53 + 1, 2**63 - 1, 2**63, 2**64,
                -(2**63), -(2**63) - 1, 10**30]


def text(fdp: atheris.FuzzedDataProvider, max_len: int = 12) -> str:
    """A short string: a known token most of the time, arbitrary Unicode otherwise."""
    choice = fdp.ConsumeIntInRange(0, 5)
    if choice <= 2:
        return fdp.PickValueInList(WORDS)
    if choice == 3:
        return fdp.PickValueInList(FIELDS)
    if choice == 4:
        return fdp.ConsumeUnicodeNoSurrogates(fdp.ConsumeIntInRange(0, max_len))
    return fdp.ConsumeUnicode(fdp.ConsumeIntInRange(0, max_len))  # may hold lone surrogates


def number(fdp: atheris.FuzzedDataProvider) -> int | float:
    choice = fdp.ConsumeIntInRange(0, 5)
    if choice == 0:
        return fdp.PickValueInList(SPECIAL_INTS)
    if choice == 1:
        return fdp.PickValueInList(SPECIAL_FLOATS)
    if choice == 2:
        return fdp.ConsumeRegularFloat()
    if choice == 3:
        return fdp.ConsumeIntInRange(-10, 5000)
    if choice == 4:
        return fdp.ConsumeFloatInRange(-10.0, 5000.0)
    return fdp.ConsumeInt(fdp.ConsumeIntInRange(1, 12))  # up to 96-bit integers


def json_like(fdp: atheris.FuzzedDataProvider, depth: int = 0) -> Any:
    """A JSON-like value (plus NaN/∞, huge integers and lone surrogates), at most 4 deep."""
    kind = fdp.ConsumeIntInRange(0, 7 if depth < 4 else 4)
    if kind == 0:
        return None
    if kind == 1:
        return fdp.ConsumeBool()
    if kind == 2:
        return number(fdp)
    if kind in (3, 4):
        return text(fdp)
    if kind in (5, 6):
        return [json_like(fdp, depth + 1) for _ in range(fdp.ConsumeIntInRange(0, 4))]
    return {text(fdp): json_like(fdp, depth + 1) for _ in range(fdp.ConsumeIntInRange(0, 5))}


def mutate(fdp: atheris.FuzzedDataProvider, doc: Any, times: int) -> None:
    """Replaces, adds or deletes ``times`` places of ``doc`` (in place), like
    ``mutated_inventory`` in tests/test_hardening.py."""
    for _ in range(times):
        node = doc
        for _depth in range(fdp.ConsumeIntInRange(0, 4)):
            children = list(node.values()) if isinstance(node, dict) else node if isinstance(node, list) else []
            children = [c for c in children if isinstance(c, (dict, list))]
            if not children:
                break
            node = fdp.PickValueInList(children)
        if isinstance(node, dict):
            keys = sorted(node, key=str)
            key = fdp.PickValueInList(keys) if keys and fdp.ConsumeBool() else fdp.PickValueInList(FIELDS)
            if key in node and fdp.ConsumeIntInRange(0, 2) == 0:
                del node[key]
            else:
                node[key] = json_like(fdp)
        elif isinstance(node, list):
            if node and fdp.ConsumeBool():
                node[fdp.ConsumeIntInRange(0, len(node) - 1)] = json_like(fdp)
            elif node and fdp.ConsumeIntInRange(0, 3) == 0:
                del node[fdp.ConsumeIntInRange(0, len(node) - 1)]
            else:
                node.append(json_like(fdp))


# ---------------------------------------------------------------- running


def scratch_dir(name: str) -> Path:
    """A private folder for the files a harness writes (inputs for the code under test,
    outputs of the CLI): ``$HAPOLICY_FUZZ_TMP`` or ``fuzz/target/python-tmp``, one subfolder
    per process. libFuzzer ends the process without running ``atexit`` handlers, so folders of
    processes that are gone are removed here, at the next start."""
    base = Path(os.environ.get("HAPOLICY_FUZZ_TMP") or SCRATCH / "python-tmp")
    base.mkdir(parents=True, exist_ok=True)
    for old in base.glob(f"{name}-*"):
        try:
            pid = int(old.name.rsplit("-", 1)[1])
            os.kill(pid, 0)
        except ProcessLookupError:
            shutil.rmtree(old, ignore_errors=True)
        except (ValueError, PermissionError):
            pass
    folder = base / f"{name}-{os.getpid()}"
    folder.mkdir(exist_ok=True)
    return folder



def run(name: str, test_one_input: Callable[[bytes], None], seeds: Sequence[Path], use_dict: bool = False,
        defaults: Sequence[str] = ()) -> None:
    """``atheris.Setup`` + ``Fuzz`` with this folder's defaults: without corpus directories on
    the command line, new inputs go to ``fuzz/target/python-corpus/<name>/`` and the seed
    directories are read (never written); crashes go to ``fuzz/target/python-artifacts/<name>/``;
    ``-timeout=60`` (an input running longer is a crash) and the harness's ``defaults`` apply
    unless given."""
    argv = list(sys.argv)
    flags = [a for a in argv[1:] if a.startswith("-")]
    positional = [a for a in argv[1:] if not a.startswith("-")]
    if not positional:
        work = SCRATCH / "python-corpus" / name
        work.mkdir(parents=True, exist_ok=True)
        argv += [str(work), *(str(s) for s in seeds if s.exists())]
    for default in defaults:  # e.g. -max_len=512: added unless the command line sets the flag
        if not any(f.startswith(default.split("=")[0] + "=") for f in flags):
            argv.append(default)
    if not any(f.startswith("-timeout=") for f in flags):
        argv.append("-timeout=60")  # libFuzzer's default is 20 minutes
    if not any(f.startswith("-artifact_prefix=") for f in flags):
        artifacts = SCRATCH / "python-artifacts" / name
        artifacts.mkdir(parents=True, exist_ok=True)
        argv.append(f"-artifact_prefix={artifacts}{os.sep}")
    if use_dict and not any(f.startswith("-dict=") for f in flags) and DICT.exists():
        argv.append(f"-dict={DICT}")
    atheris.Setup(argv, test_one_input)
    atheris.Fuzz()
