#!/usr/bin/env bash
# Bounded fuzz run of every hapolicy fuzz target, one after the other (not part of CI).
#
#   fuzz/run.sh [SECONDS] [TARGET ...]     SECONDS per target (default 60); all targets by default
#
# Targets: parse_json parse_yaml scenario sim_events placement (see src/lib.rs for the checks).
# Needs cargo-fuzz (installed from crates.io when missing). Works on the stable toolchain:
# cargo-fuzz's nightly-only flags (-Zsanitizer=address, …) are accepted with RUSTC_BOOTSTRAP=1.
# Sanitizer: none (every target, the YAML parser saphyr-parser included, is safe Rust: ASan finds
# nothing there and costs ~10x the executions). FUZZ_SANITIZER=address|none forces one for all. Debug assertions (overflow checks) are on.
#
# The committed corpus fuzz/corpus/<target> is read, never written: new inputs go to
# target/work-corpus/<target> (kept between runs, not committed). A crash leaves its input in
# fuzz/artifacts/<target>/ and is reported at the end; replay it with
#   cargo fuzz run <target> fuzz/artifacts/<target>/<file>
# and, once fixed, keep the file: tests/fuzz_regressions.rs replays every corpus and artifact
# file on each `cargo test`. To fold new coverage back into the committed corpus:
#   RUSTC_BOOTSTRAP=1 cargo fuzz cmin <target> target/work-corpus/<target> && cp ... corpus/<target>
set -uo pipefail
cd "$(dirname "$0")"

SECONDS_PER_TARGET="${1:-60}"
shift || true
TARGETS=("$@")
if [ ${#TARGETS[@]} -eq 0 ]; then
    TARGETS=(parse_json scenario sim_events placement parse_yaml)
fi
export RUSTC_BOOTSTRAP=1
sanitizer_for() {
    if [ -n "${FUZZ_SANITIZER:-}" ]; then echo "$FUZZ_SANITIZER";
    else echo none; fi
}

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "== installing cargo-fuzz"
    cargo install --locked cargo-fuzz || cargo install cargo-fuzz
fi

status=0
summary=()
for t in "${TARGETS[@]}"; do
    work="target/work-corpus/$t"
    mkdir -p "$work" "artifacts/$t"
    dict=()
    case "$t" in parse_json|parse_yaml|scenario) dict=(-dict=dicts/inventory.dict) ;; esac
    SANITIZER=$(sanitizer_for "$t")
    echo "== $t: build (sanitizer $SANITIZER)"
    cargo fuzz build -O -s "$SANITIZER" "$t" || { summary+=("$t: BUILD FAILED"); status=1; continue; }
    echo "== $t: fuzz for ${SECONDS_PER_TARGET}s"
    start=$(date +%s)
    cargo fuzz run -O -s "$SANITIZER" "$t" "$work" "corpus/$t" -- \
        -max_total_time="$SECONDS_PER_TARGET" -timeout=20 -rss_limit_mb=4096 -max_len=65536 \
        -print_final_stats=1 "${dict[@]}" 2>&1 | tee "target/fuzz-$t.log" | grep -E "^(#[0-9]+ +(DONE|INITED)|stat::number_of_executed_units|==[0-9]+== ERROR|SUMMARY|Test unit written|.*panicked at)" 
    rc=${PIPESTATUS[0]}
    took=$(( $(date +%s) - start ))
    execs=$(grep -o 'stat::number_of_executed_units: [0-9]*' "target/fuzz-$t.log" | awk '{print $2}')
    if [ "$rc" -eq 0 ]; then
        summary+=("$t: ok, ${took}s, ${execs:-?} executions, sanitizer $SANITIZER")
    else
        summary+=("$t: FAILED (exit $rc) after ${took}s, see target/fuzz-$t.log and artifacts/$t/")
        status=1
    fi
done
echo "== summary"
printf '%s\n' "${summary[@]}"
exit $status
