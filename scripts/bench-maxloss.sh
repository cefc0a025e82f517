#!/usr/bin/env bash
# bench-maxloss.sh [--budgets LIST] [--eval-count N] [--threads T] [--repeat R] [--method M]
#
# Accuracy-budget fallback (`onnxq quantize --max-loss sqnr>=B`) on PP-OCRv4
# rec: for each output-SQNR budget B (default 15,20,25,30,35; "none" = plain
# `onnxq quantize` is always the first row), how many nodes stay float, the
# resulting accuracy and the latency in onnxruntime-node.
#
# Data: scripts/bench-quant.sh's rec sets (out/bench/npy/rec_calib, 200
# lines; out/bench/npy/rec_eval, 200 other lines; FP32 reference outputs in
# out/bench/ref/rec). Run `scripts/bench-quant.sh --models rec --methods
# minmax --no-full` once to make them. The calibration table is made here
# (onnxq calibrate --method M on rec_calib, M default minmax).
#
# Columns:
#   budget        the --max-loss SPEC ("-" = no budget)
#   float         groups kept float / groups (int8-compute + weight-only ones)
#   int8/w8       of the kept-float groups: how many the plan computed in
#                 INT8 / how many only had int8 weights (kept float = FP32
#                 weights back)
#   onnxq SQNR    output SQNR the search measured in onnxq's executor over the
#                 first N calibration samples (--eval-count, default 16)
#   ORT SQNR      output SQNR in onnxruntime-node over the 200 eval lines
#   char acc      character accuracy over the eval lines (FP32 in the header)
#   MB            INT8 file size
#   lat med/min   INT8/FP32 ratios of ORT latency medians / minima (all models
#                 of the table interleaved in one process, R runs each)
#   search s      wall time of `onnxq quantize --max-loss` (sensitivity + search)
# A benchmark: prints a table, never asserts timings (busy machine: compare
# minima, re-run). Exits non-zero only when a step fails; a budget the
# search cannot meet is reported in the table, not a failure.
# ONNXQ=/path/to/onnxq picks the binary (default build/src/cli/onnxq; copied).
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT" || exit 1
PY=/usr/bin/python3
B=out/bench
M=models/cache
NODE_DIR=scripts/node
BUDGETS="15,20,25,30,35" EVAL_COUNT=16 THREADS=2 REPEAT=20 METHOD=minmax
usage() { sed -n '2p' "$0" | sed 's/^# /usage: scripts\//' >&2; exit 2; }
while [ $# -gt 0 ]; do
  case "$1" in
    --budgets) [ $# -ge 2 ] || usage; BUDGETS="$2"; shift 2 ;;
    --eval-count) [ $# -ge 2 ] || usage; EVAL_COUNT="$2"; shift 2 ;;
    --threads) [ $# -ge 2 ] || usage; THREADS="$2"; shift 2 ;;
    --repeat) [ $# -ge 2 ] || usage; REPEAT="$2"; shift 2 ;;
    --method) [ $# -ge 2 ] || usage; METHOD="$2"; shift 2 ;;
    -h|--help) sed -n '2,33p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench-maxloss: unknown argument '$1'" >&2; usage ;;
  esac
done
die() { echo "bench-maxloss: ERROR: $*" >&2; exit 1; }
log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
[[ "$THREADS" =~ ^[1-9][0-9]*$ && "$EVAL_COUNT" =~ ^[0-9]+$ && "$REPEAT" =~ ^[1-9][0-9]*$ ]] || usage
FP32=$M/ppocr_rec.onnx
[ -e "$FP32" ] || die "$FP32 missing (run models/fetch.sh)"
for d in "$B/npy/rec_calib" "$B/npy/rec_eval" "$B/ref/rec/out"; do
  [ -e "$d" ] || die "$d missing: run scripts/bench-quant.sh --models rec --methods minmax --no-full first"
done
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
SRC="${ONNXQ:-build/src/cli/onnxq}"
[ -x "$SRC" ] || die "$SRC is not an executable (build first, or set ONNXQ=)"
cp "$SRC" "$TMP/onnxq"
ONNXQ_BIN="$TMP/onnxq"
{ "$ONNXQ_BIN" quantize --help 2>&1 || true; } | grep -q -- '--max-loss' || die "$SRC has no --max-loss"

OUT="$B/maxloss"
mkdir -p "$OUT"
CALIB=(--data "$B/npy/rec_calib")
log "calibrate ($METHOD) on $B/npy/rec_calib"
"$ONNXQ_BIN" calibrate "$FP32" "${CALIB[@]}" --method "$METHOD" --threads "$THREADS" --quiet \
  -o "$OUT/rec.table.json" >/dev/null 2>"$TMP/calib.err" || die "calibrate: $(tail -1 "$TMP/calib.err")"

IFS=, read -r -a BLIST <<<"$BUDGETS"
rows=(none "${BLIST[@]}")
models=()
FAIL=0
for b in "${rows[@]}"; do
  tag="rec.$b"
  args=()
  [ "$b" = none ] || args=(--max-loss "sqnr>=$b" --eval-count "$EVAL_COUNT")
  log "quantize ${args[*]:-(no budget)}"
  t0=$(date +%s.%N)
  if "$ONNXQ_BIN" quantize "$FP32" "${CALIB[@]}" --calib-table "$OUT/rec.table.json" --method "$METHOD" \
       "${args[@]}" --threads "$THREADS" --json -o "$OUT/$tag.onnx" >"$OUT/$tag.json" 2>"$OUT/$tag.err"; then
    echo "$(echo "$(date +%s.%N) - $t0" | bc)" >"$OUT/$tag.secs"
    models+=("$OUT/$tag.onnx")
    log "ORT evaluation of $tag"
    node $NODE_DIR/eval_ocr.mjs rec "$OUT/$tag.onnx" "$B/npy/rec_eval" --threads "$THREADS" \
      --ref-outputs "$B/ref/rec/out" >"$OUT/$tag.eval.json" 2>"$OUT/$tag.eval.err" ||
      { log "FAILED: eval_ocr $tag: $(tail -1 "$OUT/$tag.eval.err")"; FAIL=1; }
  else
    echo "$(echo "$(date +%s.%N) - $t0" | bc)" >"$OUT/$tag.secs"
    rm -f "$OUT/$tag.onnx"
    if grep -q 'cannot be met' "$OUT/$tag.err"; then
      log "$tag: budget not reachable: $(tail -1 "$OUT/$tag.err")"
    else
      log "FAILED: quantize $tag: $(tail -1 "$OUT/$tag.err")"
      FAIL=1
    fi
  fi
done
log "ORT latency: FP32 and ${#models[@]} INT8 models interleaved, $REPEAT runs each"
node $NODE_DIR/ort_bench.mjs "$FP32" "${models[@]}" --input "$B/npy/rec_eval/0000.npy" --threads "$THREADS" \
  --repeat "$REPEAT" --warmup 5 >"$OUT/bench.jsonl" 2>"$OUT/bench.err" ||
  { log "FAILED: ort_bench: $(tail -1 "$OUT/bench.err")"; FAIL=1; }

$PY - "$OUT" "$FP32" "$B/ref/rec/fp32.json" "$EVAL_COUNT" "$THREADS" "${rows[@]}" <<'EOF'
import json, os, sys
out, fp32, fp32_eval, n_eval, threads, rows = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5], sys.argv[6:]
def load(p):
    try:
        with open(p) as f:
            return json.load(f)
    except Exception:
        return None
bench = {}
try:
    for line in open(os.path.join(out, 'bench.jsonl')):
        j = json.loads(line)
        bench[j['model']] = j
except Exception:
    pass
fp = bench.get(fp32)
ref = load(fp32_eval)
print(f"\nPP-OCRv4 rec, onnxq quantize --max-loss sqnr>=B (search on {n_eval} calibration samples, onnxq executor);")
print(f"evaluation: 200 other lines in onnxruntime-node, {threads} threads; FP32 char acc "
      f"{ref['value']:.4f}" if ref else "", end="")
if fp:
    print(f"; FP32 latency median {fp['latency_ms_median']:.1f} ms (min {fp['latency_ms_min']:.1f})")
else:
    print()
hdr = f"{'budget':>10} {'float':>7} {'int8/w8':>8} {'onnxq SQNR':>11} {'ORT SQNR':>9} {'char acc':>9} {'MB':>6} {'lat med':>8} {'lat min':>8} {'search s':>9}"
print(hdr)
print('-' * len(hdr))
for b in rows:
    tag = f"rec.{b}"
    q = load(os.path.join(out, tag + '.json'))
    ev = load(os.path.join(out, tag + '.eval.json'))
    secs = open(os.path.join(out, tag + '.secs')).read().strip() if os.path.exists(os.path.join(out, tag + '.secs')) else ''
    label = '-' if b == 'none' else f"sqnr>={b}"
    if not q:
        err = open(os.path.join(out, tag + '.err')).read().strip().splitlines()
        msg = err[-1] if err else 'failed'
        print(f"{label:>10}  {msg[:150]}")
        continue
    ml = q.get('max_loss')
    if ml:
        rank = {r['node']: r for r in ml.get('ranking', [])}
        fl = ml['float_nodes']
        # weight-only status is in the sensitivity ranking of `onnxq sensitivity`; here from the ops counts
        flo = f"{len(fl)}/{ml['groups']}"
        sq = ml['metric']
        sqs = f"{sq:.2f}" if sq is not None else 'inf'
    else:
        fl, flo, sqs = [], '0', ''
    bm = bench.get(os.path.join(out, tag + '.onnx'))
    med = f"{bm['latency_ms_median'] / fp['latency_ms_median']:.2f}" if bm and fp else ''
    mn = f"{bm['latency_ms_min'] / fp['latency_ms_min']:.2f}" if bm and fp else ''
    wo = q.get('max_loss', {}).get('float_weight_only')
    split = f"{len(fl) - wo}/{wo}" if wo is not None else ''
    print(f"{label:>10} {flo:>7} {split:>8} {sqs:>11} {ev['sqnr_db'] if ev else '':>9} "
          f"{(format(ev['value'], '.4f') if ev else ''):>9} {q['size_int8'] / 1e6:>6.2f} {med:>8} {mn:>8} "
          f"{float(secs) if secs else 0:>9.0f}")
print("\nkept float (most sensitive first):")
for b in rows:
    q = load(os.path.join(out, f"rec.{b}.json"))
    if q and q.get('max_loss'):
        print(f"  sqnr>={b}: {', '.join(q['max_loss']['float_nodes']) or '(none)'}")
EOF
exit $FAIL
