#!/usr/bin/env bash
# hapolicy developer entry point.
#   ./run.sh [INVENTORY]   install into .venv (release build), print the report for INVENTORY
#                          (default: the bundled examples/lab.json) on standard output and write
#                          it as an HTML page to report.html here; build messages go to stderr
#   ./run.sh test          the whole test suite: cargo test, pytest, stub and type checks (installs
#                          Go + govmomi and Chromium with apt for the simulator and browser tests)
#   ./run.sh bench         benchmarks (criterion and pytest-benchmark); figures go to the terminal
# Needs only python3 (>= 3.11) and a Rust toolchain; everything else is installed into .venv.
set -euo pipefail
CALLER_DIR="$PWD"
cd "$(dirname "$0")"

VENV="${HAPOLICY_VENV:-.venv}"

install() {
    # Standard output carries only what the command prints (the report): the build's own
    # output goes to a log that is shown, on standard error, only when the build fails.
    echo "building hapolicy (release, ~2 min the first time)…" >&2
    case "$VENV" in
        /*) VIRTUAL_ENV="$VENV" ;;
        *) VIRTUAL_ENV="$PWD/$VENV" ;;
    esac
    if [ ! -x "$VIRTUAL_ENV/bin/python" ]; then
        python3 -m venv "$VIRTUAL_ENV" >&2
    fi
    export VIRTUAL_ENV
    export PATH="$VIRTUAL_ENV/bin:$PATH"
    local log
    log="$(mktemp "${TMPDIR:-/tmp}/hapolicy-build.XXXXXX")"
    if ! { python -m pip install -q --disable-pip-version-check "maturin>=1.9.4,<2" "$@" &&
           maturin develop --release -q -E "${HAPOLICY_EXTRAS:-pandas}"; } >"$log" 2>&1; then
        cat "$log" >&2
        rm -f "$log"
        echo "run.sh: building hapolicy failed (its output is above)" >&2
        exit 1
    fi
    rm -f "$log"
    echo "hapolicy installed in $VENV" >&2
}

case "${1:-}" in
    test)
        HAPOLICY_EXTRAS="test,pandas" install
        # The vCenter adapter is tested against govmomi's simulator, built from Debian's
        # packages (Go toolchain + govmomi sources); a missing toolchain then fails the run.
        sh tests/vcsim/install-deps.sh
        # The report's browser test renders the HTML page in Debian's headless Chromium.
        sh tests/browser/install-deps.sh
        export HAPOLICY_REQUIRE_VCSIM=1
        export HAPOLICY_REQUIRE_BROWSER=1
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
        inv="${1:-examples/lab.json}"
        # A relative path names a file in the caller's directory when there is one there.
        case "$inv" in
            /*) ;;
            *) if [ "$CALLER_DIR" != "$PWD" ] && [ -e "$CALLER_DIR/$inv" ]; then inv="$CALLER_DIR/$inv"; fi ;;
        esac
        install
        echo "the report's HTML page: $PWD/report.html" >&2
        hapolicy report "$inv" --html report.html
        ;;
esac
