"""Regenerates the README's screenshot of the HA report, docs/report.png:

    .venv/bin/python tests/browser/screenshot.py            # needs chromium (tests/browser/install-deps.sh)

It renders ``hapolicy report examples/lab.json`` as HTML and photographs the top of the page
(verdicts, cluster, admission control and why) with headless Chromium, 1280 × 1600 pixels.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def main() -> int:
    import os

    from hapolicy.report import main as report

    os.chdir(ROOT)  # the page names its source as given: examples/lab.json
    out = ROOT / "docs" / "report.png"
    code = report(["examples/lab.json", "--screenshot", str(out), "--width", "1280", "--height", "1600"])
    print(f"wrote {out.relative_to(ROOT)}")
    return code


if __name__ == "__main__":
    sys.exit(main())
