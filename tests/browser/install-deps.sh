#!/bin/sh
# Installs what the browser tests (tests/test_report_browser.py) need: headless Chromium from
# Debian's `chromium` package. Idempotent: does nothing when a chromium binary is present.
# Needs root (or sudo) and the Debian mirror; no other network.
set -eu

if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; then
    exit 0
fi

. "$(dirname "$0")/../apt_install.sh"
# fonts-dejavu-core: a font with the glyphs the report uses (✓ ✗ …), so screenshots are legible.
apt_install chromium fonts-dejavu-core
