#!/usr/bin/env bash
# Sets up, builds and runs all onnxq tests:
#   1. release build in build/: every default meson test suite
#   2. AddressSanitizer+UBSan build in build-asan/: the `badinput` suite and
#      the quantizer, calibration and evaluation unit suites
# Extra arguments go to the first `meson test` (e.g. scripts/test.sh --suite unit).
# Exits non-zero if any step or any test fails.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

step() { printf '== %s\n' "$*"; }

step "setup"
scripts/setup.sh
step "models"
models/fetch.sh

# configure DIR ARGS...: meson setup unless DIR is already a configured build dir
configure() {
  local dir="$1"; shift
  if [ ! -f "$dir/meson-private/coredata.dat" ]; then
    meson setup "$dir" "$@"
  fi
}

passed=0 failed=0 skipped=0 status=0

# run_tests DIR ARGS...: meson test, keeping a tally from its summary
run_tests() {
  local dir="$1"; shift
  local log rc=0
  log="$(mktemp)"
  meson test -C "$dir" --print-errorlogs "$@" 2>&1 | tee "$log" || rc=$?
  local counts
  counts="$(awk '
    /^Ok:/ {p += $2} /^Expected Fail:/ {p += $3}
    /^Fail:/ {f += $2} /^Unexpected Pass:/ {f += $3} /^Timeout:/ {f += $2}
    /^Skipped:/ {s += $2}
    END {printf "%d %d %d", p, f, s}' "$log")"
  rm -f "$log"
  local p f s
  read -r p f s <<<"$counts"
  passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + s))
  if [ $((p + f + s)) -eq 0 ] && [ "$rc" -eq 0 ]; then
    echo "test.sh: WARNING: no tests ran for: meson test -C $dir $*" >&2
  fi
  if [ "$rc" -ne 0 ]; then
    status=1
    # a failure meson did not count as a test (bad suite name, build error)
    [ "$f" -gt 0 ] || failed=$((failed + 1))
  fi
}

step "build (release)"
configure build --buildtype=release
meson compile -C build

step "test (release)"
run_tests build --num-processes 2 "$@"

step "build (address,undefined sanitizers)"
configure build-asan -Db_sanitize=address,undefined -Db_lundef=false --buildtype=debug
meson compile -C build-asan

step "test (sanitizers, suite badinput)"
export ASAN_OPTIONS="${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-halt_on_error=1:abort_on_error=1:print_stacktrace=1}"
run_tests build-asan --num-processes 2 --suite badinput

# the quantizer, calibration and evaluation suites under the sanitizers too
# (fast ones: about 45 s together in the debug build)
step "test (sanitizers, quantizer/calibration/evaluation suites)"
run_tests build-asan --num-processes 2 quant subgraph_quant ranges calib dataset graph eval report sensitivity compare

echo
echo "test.sh: ${passed} passed, ${failed} failed, ${skipped} skipped"
exit "$status"
