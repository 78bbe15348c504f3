"""Fuzz target: the ``hapolicy`` command line (``hapolicy.cli.main(argv)``) with fuzzed argv.

    python fuzz/python/cli.py [libFuzzer flags] [corpus dirs or files]

``atheris.FuzzedDataProvider`` builds an argument list: a subcommand (or a stray word), an
input file — the bundled examples and scenarios, the malformed-inventory corpus
(tests/invalid/), a missing file, a directory, or a scratch file holding fuzzed bytes under a
fuzzed suffix — and options of every subcommand (also ones that belong to another) with ids,
numbers (negative, huge, non-numbers), fuzzed JSON for ``--vm-json`` and fuzzed text.

Promise checked (cli.py's docstring): every run ends with an exit status — ``main`` returns
0, 1 (``check`` refused) or 2 (bad input), or argparse's ``SystemExit`` (2 for a usage error,
0 for ``--help`` / ``--version``) — never with another exception (a traceback). A failure
(status 2 from ``main``) is one line on stderr.

Files the CLI writes (``report --html``, ``sweep --csv``) only ever go to a scratch folder:
argv is parsed with the CLI's own parser first and an input naming any other output path is
skipped. Options slow whatever the input (``sweep --threads`` beyond 64 only costs thread start-up)
are kept small.
"""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path
from typing import Any

import atheris

with atheris.instrument_imports(include=["hapolicy"]):
    import hapolicy as ha
    import hapolicy.cli as cli

import _harness as H

SCRATCH_DIR = H.scratch_dir("cli")
OUTPUTS = [str(SCRATCH_DIR / "out.html"), str(SCRATCH_DIR / "out.csv")]

COMMANDS = ["report", "validate", "elect", "admission", "check", "heartbeat", "failover", "sweep", "remedies",
            "simulate", "schema"]
INVENTORIES = [str(H.EXAMPLES / "lab.json"), str(H.EXAMPLES / "availability_guide.json")]
SCENARIOS = [str(p) for p in sorted((H.EXAMPLES / "scenarios").glob("*.json"))]
INVALID = [str(p) for p in sorted(H.INVALID.iterdir()) if p.suffix in (".json", ".yaml", ".yml")]
MISSING = [str(SCRATCH_DIR / "missing.json"), str(SCRATCH_DIR), str(H.EXAMPLES / "dask_sweep.py"), "", "-"]
SUFFIXES = [".json", ".yaml", ".yml", ".xlsx", ".txt", ""]

LAB = ha.Inventory.load(H.EXAMPLES / "lab.json")
IDS = [h.id for h in LAB.hosts] + [v.id for v in LAB.vms] + [d.id for d in LAB.datastores] + ["host-1", "vm-1"]

# option -> kind of value
OPTIONS: dict[str, str] = {
    "--json": "flag", "--html": "output", "--hosts": "ids", "--unusable-datastore": "id", "--fail": "ids",
    "--vm-json": "vmjson", "--reservation": "id", "--migrate": "flag", "--cpu": "int", "--memory": "int",
    "--isolate": "ids", "--explain": "ids", "--max-failures": "int", "--threads": "threads", "--sample": "int",
    "--seed": "int", "--worst": "int", "--csv": "output", "--no-progress": "flag", "--until": "float",
    "--version": "flag", "--help": "flag", "--cluster": "cluster", "--check": "flag", "--failures": "int",
    "--unit": "unit",
}
OWN: dict[str, list[str]] = {
    "report": ["--json", "--html", "--cluster", "--failures", "--check"],
    "validate": ["--json", "--cluster"],
    "elect": ["--json", "--hosts", "--unusable-datastore", "--cluster"],
    "admission": ["--json", "--fail", "--cluster", "--check"],
    "check": ["--json", "--vm-json", "--reservation", "--migrate", "--cpu", "--memory", "--cluster"],
    "heartbeat": ["--json", "--unusable-datastore", "--cluster"],
    "failover": ["--json", "--fail", "--isolate", "--explain", "--cluster"],
    "sweep": ["--json", "--max-failures", "--hosts", "--threads", "--sample", "--seed", "--worst", "--csv",
              "--no-progress", "--cluster", "--check"],
    "remedies": ["--json", "--failures", "--unit", "--cluster"],
    "simulate": ["--json", "--until"],
    "schema": ["--help"],
}
INT_TEXT = ["0", "1", "2", "3", "-1", "-2", "10", "1000", "4294967296", "18446744073709551616", "-9223372036854775809",
            "99999999999999999999999", "1e3", "x", "", " 1", "0x10", "1_000", "٣"]
FLOAT_TEXT = ["0", "18", "300", "-1", "-0.0", "nan", "inf", "-inf", "1e308", "1e309", "3600.5", "x", "", "1_0"]


def value(fdp: atheris.FuzzedDataProvider, kind: str) -> list[str]:
    if fdp.ConsumeIntInRange(0, 15) == 0:
        return [H.text(fdp)]
    if kind == "flag":
        return []
    if kind == "output":
        return [fdp.PickValueInList(OUTPUTS)]
    if kind == "cluster":
        return [fdp.PickValueInList(["lab", "prod-a", "", "Lab", "DC1/prod-a"])]
    if kind == "unit":
        return [fdp.PickValueInList(["host", "fault_domain", "site", "rack"])]
    if kind == "id":
        return [fdp.PickValueInList(IDS)]
    if kind == "ids":
        return [fdp.PickValueInList(IDS) if fdp.ConsumeIntInRange(0, 5) else H.text(fdp)
                for _ in range(fdp.ConsumeIntInRange(0, 3))]
    if kind == "int":
        return [fdp.PickValueInList(INT_TEXT) if fdp.ConsumeIntInRange(0, 3) else str(fdp.ConsumeIntInRange(-5, 50))]
    if kind == "threads":
        return [fdp.PickValueInList(["-1", "0", "1", "2", "64", "x", "-9223372036854775809", "18446744073709551616"])]
    if kind == "float":
        return [fdp.PickValueInList(FLOAT_TEXT) if fdp.ConsumeIntInRange(0, 3) else str(fdp.ConsumeFloatInRange(-10, 4000))]
    if kind == "vmjson":
        vm: Any = {"id": fdp.PickValueInList(IDS + ["new-vm"]), "host": fdp.PickValueInList(IDS)}
        H.mutate(fdp, vm, fdp.ConsumeIntInRange(0, 3))
        if fdp.ConsumeIntInRange(0, 7) == 0:
            vm = H.json_like(fdp)
        try:
            return [json.dumps(vm, allow_nan=True)]
        except (TypeError, ValueError):
            return ["{"]
    raise AssertionError(kind)


def input_file(fdp: atheris.FuzzedDataProvider, command: str) -> str:
    choice = fdp.ConsumeIntInRange(0, 9)
    if choice <= 3:
        return fdp.PickValueInList(SCENARIOS if command == "simulate" else INVENTORIES)
    if choice <= 5:
        return fdp.PickValueInList(INVENTORIES + SCENARIOS)
    if choice == 6:
        return fdp.PickValueInList(INVALID)
    if choice == 7:
        return fdp.PickValueInList(MISSING)
    # a scratch file with fuzzed contents
    path = SCRATCH_DIR / ("input" + fdp.PickValueInList(SUFFIXES))
    if fdp.ConsumeBool():
        doc = json.loads(Path(fdp.PickValueInList(INVENTORIES)).read_text(encoding="utf-8"))
        H.mutate(fdp, doc, fdp.ConsumeIntInRange(1, 3))
        try:
            path.write_text(json.dumps(doc, allow_nan=True), encoding="utf-8")
        except (TypeError, ValueError):
            path.write_text("{", encoding="utf-8")
    else:
        path.write_bytes(fdp.ConsumeBytes(fdp.ConsumeIntInRange(0, 512)))
    return str(path)


def build_argv(fdp: atheris.FuzzedDataProvider) -> list[str]:
    if fdp.ConsumeIntInRange(0, 31) == 0:
        return [H.text(fdp) for _ in range(fdp.ConsumeIntInRange(0, 4))]
    command = fdp.PickValueInList(COMMANDS) if fdp.ConsumeIntInRange(0, 15) else H.text(fdp)
    argv = [command]
    if fdp.ConsumeIntInRange(0, 15):
        argv.append(input_file(fdp, command))
    own = OWN.get(command, list(OPTIONS))
    for _ in range(fdp.ConsumeIntInRange(0, 5)):
        # Mostly the subcommand's own options (else argparse stops at once), sometimes any.
        name = fdp.PickValueInList(own if fdp.ConsumeIntInRange(0, 9) else list(OPTIONS))
        argv += [name, *value(fdp, OPTIONS[name])]
    if fdp.ConsumeIntInRange(0, 7) == 0:
        argv.insert(fdp.ConsumeIntInRange(0, len(argv)), H.text(fdp))
    return argv


def safe(argv: list[str]) -> bool:
    """Parses argv with the CLI's own parser: False when it would write a file outside the
    scratch folder, or ask for more worker threads than the machine should be given."""
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            args = cli._parser().parse_args(argv)
    except SystemExit:
        return True  # a usage error: main() stops at the same point
    for attr in ("html", "csv"):
        out = getattr(args, attr, None)
        if out is not None and out not in OUTPUTS:
            return False
    threads = getattr(args, "threads", None)
    return threads is None or threads <= 64


def test_one_input(data: bytes) -> None:
    fdp = atheris.FuzzedDataProvider(data)
    argv = build_argv(fdp)
    if not safe(argv):
        return
    out, err = io.StringIO(), io.StringIO()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = cli.main(argv)
    except SystemExit as exc:  # argparse: usage error (2), --help / --version (0)
        H.check(exc.code in (0, 2), f"argv={argv!r}: SystemExit({exc.code!r})")
        return
    except BaseException as exc:
        raise H.Violation(f"argv={argv!r} raised {type(exc).__name__}: {exc}\nstderr: {err.getvalue()}") from exc
    H.check(code in (0, 1, 2), f"argv={argv!r}: exit status {code!r}")
    if code == 2:
        lines = err.getvalue().splitlines()
        H.check(len(lines) == 1 and lines[0].startswith("hapolicy: error: "),
                f"argv={argv!r}: the failure is not one line: {err.getvalue()!r}")
    if code == 0 and "--json" in argv:
        json.loads(out.getvalue())


def main() -> None:
    # Structured input: long inputs from the start (the provider turns bytes into choices).
    H.run("cli", test_one_input, [], defaults=["-max_len=512", "-len_control=0"])


if __name__ == "__main__":
    main()
