#!/bin/sh
# Installs what tests/vcsim/build.sh needs: the Go toolchain and govmomi's sources (with its
# vcsim `simulator` package) from Debian. Idempotent: does nothing when both are present.
# Needs root (or sudo) and the Debian mirror; no other network.
set -eu

GOVMOMI=/usr/share/gocode/src/github.com/vmware/govmomi/simulator

if command -v go >/dev/null 2>&1 && [ -d "$GOVMOMI" ]; then
    exit 0
fi

. "$(dirname "$0")/../apt_install.sh"
apt_install golang-go golang-github-vmware-govmomi-dev
