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
        for call, extra in ((lambda: io.from_rvtools("x.xlsx"), "rvtools"), (lambda: io.from_vsphere(None, "c"), "vsphere")):
            try:
                call()
            except ImportError as exc:
                assert f"pip install 'hapolicy[{extra}]'" in str(exc), exc
            else:
                raise AssertionError("no ImportError")
        print("ok")
        """
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"
