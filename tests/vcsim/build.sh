#!/bin/sh
# Builds the vcsim launcher (main.go, ha.go, notify.go) against Debian's packaged govmomi sources,
# offline: GOPATH mode over /usr/share/gocode (golang-github-vmware-govmomi-dev), no module
# downloads. Prints the path of the binary on stdout.
#
#   tests/vcsim/build.sh [OUTDIR]      OUTDIR defaults to ${TMPDIR:-/tmp}/hapolicy-vcsim
#
# Rebuilds only when a source is newer than the binary. tests/vcsim/install-deps.sh installs
# the toolchain and sources.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
out=${1:-${TMPDIR:-/tmp}/hapolicy-vcsim}
gocode=${HAPOLICY_GOCODE:-/usr/share/gocode}
bin="$out/vcsim"

if ! command -v go >/dev/null 2>&1; then
    echo "build.sh: the 'go' toolchain is missing (run tests/vcsim/install-deps.sh)" >&2
    exit 2
fi
if [ ! -d "$gocode/src/github.com/vmware/govmomi/simulator" ]; then
    echo "build.sh: govmomi sources not found under $gocode (install golang-github-vmware-govmomi-dev)" >&2
    exit 2
fi

mkdir -p "$out"
if [ -x "$bin" ] && [ -z "$(find "$here" -name '*.go' -newer "$bin")" ]; then
    echo "$bin"
    exit 0
fi

export GO111MODULE=off GOPATH="$gocode" GOFLAGS= GOPROXY=off CGO_ENABLED=0
export GOCACHE="${GOCACHE:-$out/gocache}"
cd "$here"
go build -o "$bin.tmp" main.go ha.go notify.go
mv "$bin.tmp" "$bin"
echo "$bin"
