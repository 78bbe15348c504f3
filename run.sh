#!/usr/bin/env bash
# hapolicy developer entry point.
#   ./run.sh [INVENTORY]   install into .venv (release build) and print the report for INVENTORY
#                          (default: the bundled examples/lab.json)
#   ./run.sh test          the whole test suite: cargo test, pytest, stub and type checks
#   ./run.sh bench         benchmarks (criterion and pytest-benchmark); figures go to the terminal
# Needs only python3 (>= 3.11) and a Rust toolchain; everything else is installed into .venv.
set -euo pipefail
cd "$(dirname "$0")"

VENV="${HAPOLICY_VENV:-.venv}"

install() {
    if [ ! -x "$VENV/bin/python" ]; then
        python3 -m venv "$VENV"
    fi
    export VIRTUAL_ENV="$PWD/$VENV"
    export PATH="$VIRTUAL_ENV/bin:$PATH"
    python -m pip install -q --disable-pip-version-check "maturin>=1.9.4,<2" "$@"
    maturin develop --release -q -E "${HAPOLICY_EXTRAS:-pandas}"
}

case "${1:-}" in
    test)
        HAPOLICY_EXTRAS="test,pandas" install
        # The vCenter adapter is tested against govmomi's simulator, built from Debian's
        # packages (Go toolchain + govmomi sources); a missing toolchain then fails the run.
        sh tests/vcsim/install-deps.sh
        export HAPOLICY_REQUIRE_VCSIM=1
        echo "== rustfmt (house style: rustfmt.toml)"
        if cargo fmt --version >/dev/null 2>&1; then cargo fmt --check; else echo "rustfmt not installed: skipped"; fi
        echo "== cargo test (pure Rust core)"
        cargo test --quiet
        echo "== stub check (hapolicy._core against _core.pyi)"
        python -m mypy.stubtest hapolicy._core
        echo "== type check (python/hapolicy)"
        python -m mypy --strict python/hapolicy
        echo "== pytest"
        python -m pytest -q
        ;;
    bench)
        HAPOLICY_EXTRAS="test,pandas" install
        cargo bench --quiet -- --warm-up-time 1 --measurement-time 3
        python -m pytest -q --benchmark-only --benchmark-columns=min,mean,median,rounds benchmarks
        ;;
    *)
        install
        hapolicy report "${1:-examples/lab.json}"
        ;;
esac
