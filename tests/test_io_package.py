"""hapolicy.io imports without its optional dependencies and names the extra when one is used."""

from __future__ import annotations

import subprocess
import sys
import textwrap


def test_import_without_extras() -> None:
    code = textwrap.dedent(
        """
        import sys
        sys.modules["openpyxl"] = None   # as if not installed
        sys.modules["python_calamine"] = None
        sys.modules["pyVmomi"] = None
        import hapolicy.io as io
        assert set(io.__all__) >= {"from_rvtools", "from_vsphere", "read_rvtools", "read_vsphere", "Defaults"}
        # The package is not published: the message names what to pip install.
        for call, package in ((lambda: io.from_rvtools("x.xlsx"), "pip install python-calamine openpyxl"),
                              (lambda: io.from_vsphere(None, "c"), "pip install pyvmomi")):
            try:
                call()
            except ImportError as exc:
                assert package in str(exc), exc
            else:
                raise AssertionError("no ImportError")
        print("ok")
        """
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"


def test_install_hints_name_installable_packages() -> None:
    # hapolicy is installed from a checkout, not from an index: `pip install 'hapolicy[x]'`
    # cannot work, so no message or docstring may suggest it.
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    offenders = [
        f"{p.relative_to(root)}:{i}"
        for base in ("python", "docs", "examples")
        for p in sorted((root / base).rglob("*"))
        if p.suffix in (".py", ".pyi", ".rst", ".j2") and "_build" not in p.parts
        for i, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
        if "pip install 'hapolicy[" in line
    ]
    assert not offenders, offenders
