#!/usr/bin/env bash
# bench-exec.sh [--repeat R] [--warmup W] [--threads T] [--only CASE,...]
#
# Latency and peak memory of onnxq's executor (`onnxq run`) against
# onnxruntime-node (scripts/node/ort_run.mjs: CPU, graph optimizations 'all',
# interOpNumThreads 1) on the same inputs, both with --threads T (default 2):
#   ppocr_det  1x3x640x640 and 8x3x640x640   (rendered text pages)
#   ppocr_rec  1x3x48x320  and 8x3x48x320    (rendered text lines)
#   ppocr_cls  1x3x48x192  and 8x3x48x192
#   silero_vad_v5  one 512-sample frame (state zeros, sr 16000), batch 1 and 8
#   oww_embedding  1x76x32x1 and 8x76x32x1
# Batch 8 is left out for a model whose input fixes the batch size. Inputs come
# from tests/e2e/exec_vs_ort.py --make-inputs (the same generator the e2e
# correctness test uses; deterministic).
#
# Latency: the median of R timed runs in one process (default R 10). ORT also
# gets W untimed warm-up runs first (default 2); `onnxq run` has no warm-up
# option, so its first (cold) run is among the R: the median hides it.
# Memory: peak resident set size of the whole process, from /usr/bin/time -v
# ("Maximum resident set size"), for both. The node process carries V8 and the
# onnxruntime library too: the baseline line under the table shows how much
# node + onnxruntime-node take with no model loaded.
#
# Builds with `ninja -C build` first (the build dir must exist: run
# scripts/test.sh once). ONNXQ=/path/to/onnxq uses that binary instead and
# skips the build. A benchmark: it prints, it never fails on timings; it exits
# non-zero only when it cannot run at all (no build, no /usr/bin/time, no node).
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT" || exit 1
PY=/usr/bin/python3
GEN="$ROOT/tests/e2e/exec_vs_ort.py"
ORT_RUN="$ROOT/scripts/node/ort_run.mjs"
TIME=/usr/bin/time

REPEAT=10 WARMUP=2 THREADS=2 ONLY=""
usage() {
  echo "usage: $0 [--repeat R] [--warmup W] [--threads T] [--only CASE,...]   (CASE e.g. ppocr_det_b8)" >&2
  exit 2
}
while [ $# -gt 0 ]; do
  case "$1" in
    --repeat) [ $# -ge 2 ] || usage; REPEAT="$2"; shift 2 ;;
    --warmup) [ $# -ge 2 ] || usage; WARMUP="$2"; shift 2 ;;
    --threads) [ $# -ge 2 ] || usage; THREADS="$2"; shift 2 ;;
    --only) [ $# -ge 2 ] || usage; ONLY="$2"; shift 2 ;;
    -h|--help) usage ;;
    *) echo "bench-exec: unknown argument '$1'" >&2; usage ;;
  esac
done
for v in "$REPEAT" "$THREADS"; do [[ "$v" =~ ^[1-9][0-9]*$ ]] || usage; done
[[ "$WARMUP" =~ ^[0-9]+$ ]] || usage

TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT

if [ -n "${ONNXQ:-}" ]; then
  [ -x "$ONNXQ" ] || { echo "bench-exec: ONNXQ=$ONNXQ is not an executable" >&2; exit 1; }
else
  if [ ! -d build ]; then
    echo "bench-exec: no build/ folder: run scripts/test.sh first (it sets up and builds)" >&2
    exit 1
  fi
  if ! ninja -C build >"$TMP/ninja.log" 2>&1; then
    echo "bench-exec: 'ninja -C build' failed:" >&2
    tail -n 20 "$TMP/ninja.log" >&2
    exit 1
  fi
  # where meson puts the onnxq executable (fallback: build/src/onnxq)
  ONNXQ="$(meson introspect build --targets 2>/dev/null | "$PY" -c '
import json, sys
for t in json.load(sys.stdin):
    if t.get("name") == "onnxq" and t.get("type") == "executable":
        print(t["filename"][0])
        break' 2>/dev/null)"
  [ -n "$ONNXQ" ] || ONNXQ="$ROOT/build/src/onnxq"
  [ -x "$ONNXQ" ] || { echo "bench-exec: $ONNXQ was not built" >&2; exit 1; }
fi
if [ ! -x "$TIME" ]; then
  echo "bench-exec: $TIME not found: it comes from the Debian package 'time' (apt-get install time)" >&2
  exit 1
fi
if ! command -v node >/dev/null 2>&1 || [ ! -d "$ROOT/scripts/node/node_modules/onnxruntime-node" ]; then
  echo "bench-exec: node or onnxruntime-node missing: run scripts/setup.sh" >&2
  exit 1
fi

if ! "$PY" "$GEN" --make-inputs "$TMP/in" --models-dir "$ROOT/models/cache" --batches 1,8 >"$TMP/manifest"; then
  echo "bench-exec: making inputs failed" >&2
  exit 1
fi

# rss_kb FILE: "Maximum resident set size (kbytes): N" from /usr/bin/time -v
rss_kb() { awk -F': *' '/Maximum resident set size/ {print $2}' "$1" 2>/dev/null; }
# median_ms FILE: X from "latency_ms: median X min Y ..."
median_ms() { awk '/^latency_ms:/ {print $3}' "$1" 2>/dev/null; }
mb() { awk -v k="$1" 'BEGIN { if (k == "") print "-"; else printf "%.1f", k / 1024 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || b + 0 == 0) print "-"; else printf "%.2f", a / b }'; }
# why FILE: one-line reason from a failed run's stderr
why() {
  local l
  l="$(grep -m1 -o 'cannot run: .*' "$1" 2>/dev/null)" ||
    l="$(grep -v -e '^Command exited with non-zero status' -e '^[[:space:]]' "$1" | grep -v '^$' | tail -n 1)"
  printf '%s' "${l:-(no message)}"
}

echo "onnxq: $ONNXQ"
echo "onnxruntime-node $(node -p "require('$ROOT/scripts/node/node_modules/onnxruntime-node/package.json').version" 2>/dev/null || echo '?')" \
     "| threads $THREADS | repeat $REPEAT (median) | ORT warm-up $WARMUP | $(nproc) cores"
load="$(cut -d' ' -f1 /proc/loadavg 2>/dev/null)"
if [ -n "$load" ] && awk -v l="$load" -v n="$(nproc)" 'BEGIN { exit !(l > n / 2) }'; then
  echo "note: load average $load on $(nproc) cores before starting: other work competes for the CPU, timings are noisy"
fi
echo
row() { printf '%-16s %-13s %10s %10s %8s %11s %11s %9s\n' "$@"; }
row model input "onnxq_ms" "ort_ms" "ratio" "onnxq_MB" "ort_MB" "rss_ratio"
row ---------------- ------------- ---------- ---------- -------- ----------- ----------- ---------
notes=()
while IFS=$'\t' read -r case model shape rest; do
  [ -n "$case" ] || continue
  if [ -n "$ONLY" ] && [[ ",$ONLY," != *",$case,"* ]]; then continue; fi
  IFS=$'\t' read -r -a files <<<"$rest"
  args=()
  for f in "${files[@]}"; do args+=(--input "$f"); done
  name="${case%_b*}"

  "$TIME" -v -o "$TMP/q.time" "$ONNXQ" run "$model" "${args[@]}" --threads "$THREADS" --repeat "$REPEAT" \
    >"$TMP/q.out" 2>"$TMP/q.err"
  q_rc=$?
  "$TIME" -v -o "$TMP/r.time" node "$ORT_RUN" "$model" "${args[@]}" --threads "$THREADS" --repeat "$REPEAT" \
    --warmup "$WARMUP" >"$TMP/r.out" 2>"$TMP/r.err"
  r_rc=$?

  q_ms="" q_kb="" r_ms="" r_kb=""
  if [ $q_rc -eq 0 ]; then
    q_ms="$(median_ms "$TMP/q.out")"; q_kb="$(rss_kb "$TMP/q.time")"
  else
    notes+=("$case: onnxq failed: $(why "$TMP/q.err")")
  fi
  if [ $r_rc -eq 0 ]; then
    r_ms="$(median_ms "$TMP/r.out")"; r_kb="$(rss_kb "$TMP/r.time")"
  else
    notes+=("$case: onnxruntime-node failed: $(why "$TMP/r.err")")
  fi
  row "$name" "$shape" "${q_ms:-FAIL}" "${r_ms:-FAIL}" "$(ratio "$q_ms" "$r_ms")" \
    "$( [ -n "$q_kb" ] && mb "$q_kb" || echo -)" "$( [ -n "$r_kb" ] && mb "$r_kb" || echo -)" "$(ratio "$q_kb" "$r_kb")"
done <"$TMP/manifest"

# node + onnxruntime-node with no session: the floor under every ORT RSS above
( cd "$ROOT/scripts/node" &&
  "$TIME" -v -o "$TMP/base.time" node --input-type=module \
    -e "import ort from 'onnxruntime-node'; if (!ort.InferenceSession) process.exit(1);" >/dev/null 2>&1 )
echo
echo "ratio = onnxq / ORT (below 1: onnxq faster or smaller). MB = peak RSS (/usr/bin/time -v) / 1024."
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null)"
base="$(rss_kb "$TMP/base.time")"
[ -n "$base" ] && echo "baseline: node + onnxruntime-node loaded, no model: $(mb "$base") MB peak RSS"
if [ ${#notes[@]} -gt 0 ]; then
  echo
  echo "failures:"
  for n in "${notes[@]}"; do echo "  $n"; done
fi
exit 0
