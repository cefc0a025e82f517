#!/usr/bin/env bash
# bench-quant.sh [--models LIST] [--methods LIST] [--no-full] [--threads T] [--fresh]
#
# INT8 post-training quantization of the real models with onnxq, measured in
# onnxruntime-node. Models (--models, default all):
#   det      PP-OCRv4 det   calib: 100 rendered pages (onnxq's own image loader:
#                           640x640, ImageNet mean/std, BGR); eval: 50 pages, F1
#   rec      PP-OCRv4 rec   calib: 200 lines, eval: 200 lines, char accuracy
#   cls      PP-OCR cls     calib: 200 lines, eval: 200 lines, orientation accuracy
#                           (rec/cls inputs: scripts/eval/prep_ocr.py .npy files,
#                           height 48, aspect kept, right-padded: onnxq's image
#                           loader has no such resize)
#   silero   Silero VAD v5  calib: 512-sample frames (with the carried state) of
#                           an espeak-ng signal; eval: another espeak-ng signal,
#                           frame agreement of (p > 0.5) with FP32
#   oww_emb  openWakeWord embedding; calib: its inputs from the melspectrogram
#                           model (ORT) on the calibration signal; eval: a signal
#                           with "hey jarvis", agreement of hey_jarvis detections
#                           (INT8 embedding + FP32 hey_jarvis) with FP32
#   oww_ww   openWakeWord hey_jarvis; calib/eval as oww_emb (FP32 embeddings)
# Calibration and evaluation sets use different seeds / sentences / voices.
# Methods (--methods, default minmax,avg_minmax,percentile,entropy,mse,auto) with
# placement auto, plus minmax with --placement full (unless --no-full).
# Every model is calibrated once (`onnxq calibrate --method all`) and quantized
# per method from that table (`onnxq quantize --calib-table`).
#
# One row per (model, method):
#   FP32 MB / INT8 MB / size   file sizes and their ratio
#   ORT FP32 ms / ORT INT8 ms  latency in onnxruntime-node, T threads (default 2),
#                              "median (min)" of R timed runs after warm-up; FP32
#                              and INT8 runs alternate in one process on the same
#                              input (scripts/node/ort_bench.mjs)
#   lat med / lat min          INT8/FP32 ratios of the medians and of the minima
#   cosine / SQNR dB           INT8 vs FP32 outputs over the whole eval set
#                              (det/rec/cls: model outputs; silero: probability
#                              sequence; oww_emb: embeddings; oww_ww: scores)
#   task metric FP32->INT8     see above (agreement: FP32 is 1 by definition)
#   ORT int8/placed/total      Conv/MatMul/Gemm that ORT turned into integer
#                              kernels (QLinearConv QLC, QLinearMatMul QLMM,
#                              MatMulIntegerToFloat MMI2F, QGemm QG) in the graph
#                              it optimizes the INT8 model into (session option
#                              optimizedModelFilePath) / those the placement
#                              quantized (data input = DequantizeLinear of a
#                              QuantizeLinear, weight input a DequantizeLinear
#                              output) / all Conv/MatMul/Gemm in the INT8
#                              model; subgraphs included (scripts/eval/graph_stats.py);
#                              "w:1MMNB" = weight-only integer kernels ORT made
#                              (MatMulNBits), not counted as integer kernels
#   left Q/DQ                  QuantizeLinear / DequantizeLinear nodes left in
#                              ORT's optimized graph
#   checker                    onnx.checker.check_model on the INT8 model
# A benchmark: it prints tables and never asserts timings (the machine may be
# busy: compare the minima, and re-run). It exits non-zero only when a step
# fails (quantize, checker, ORT load/run, evaluation) or it cannot run at all;
# failing steps are named in the table and after it.
#
# Generated data, models and results are cached under out/bench/ (git-ignored;
# stamps record how they were made, so changed generators or a new onnxq
# binary redo what depends on them). --fresh redoes everything.
# ONNXQ=/path/to/onnxq uses that binary; by default build/src/cli/onnxq, copied
# at start so that a concurrent rebuild cannot change it mid-run.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT" || exit 1
PY=/usr/bin/python3
B=out/bench
M=models/cache
NODE_DIR=scripts/node

MODELS="det,rec,cls,silero,oww_emb,oww_ww"
METHODS="minmax,avg_minmax,percentile,entropy,mse,auto"
FULL=1 THREADS=2 FRESH=0
usage() {
  sed -n '2p' "$0" | sed 's/^# /usage: scripts\//' >&2
  exit 2
}
while [ $# -gt 0 ]; do
  case "$1" in
    --models) [ $# -ge 2 ] || usage; MODELS="$2"; shift 2 ;;
    --methods) [ $# -ge 2 ] || usage; METHODS="$2"; shift 2 ;;
    --no-full) FULL=0; shift ;;
    --threads) [ $# -ge 2 ] || usage; THREADS="$2"; shift 2 ;;
    --fresh) FRESH=1; shift ;;
    -h|--help) sed -n '2,60p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench-quant: unknown argument '$1'" >&2; usage ;;
  esac
done
[[ "$THREADS" =~ ^[1-9][0-9]*$ ]] || usage

die() { echo "bench-quant: ERROR: $*" >&2; exit 1; }
log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
command -v node >/dev/null || die "node not found (run scripts/setup.sh)"
[ -d "$NODE_DIR/node_modules/onnxruntime-node" ] || die "onnxruntime-node missing (run scripts/setup.sh)"
for t in espeak-ng sox; do command -v "$t" >/dev/null || die "$t not found (run scripts/setup.sh)"; done
for f in ppocr_det ppocr_rec ppocr_cls silero_vad_v5 oww_melspectrogram oww_embedding oww_hey_jarvis; do
  [ -e "$M/$f.onnx" ] || die "$M/$f.onnx missing (run models/fetch.sh)"
done

TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
if [ -n "${ONNXQ:-}" ]; then
  [ -x "$ONNXQ" ] || die "ONNXQ=$ONNXQ is not an executable"
  cp "$ONNXQ" "$TMP/onnxq"
else
  [ -x build/src/cli/onnxq ] || die "build/src/cli/onnxq missing: build first (meson setup build; ninja -C build)"
  cp build/src/cli/onnxq "$TMP/onnxq"
fi
ONNXQ_BIN="$TMP/onnxq"
# a copy taken while the linker rewrites the file would not run
{ "$ONNXQ_BIN" quantize 2>&1 || true; } | grep -q '^usage: onnxq quantize' ||
  die "$ONNXQ_BIN does not run (a rebuild in progress? try again)"

[ "$FRESH" -eq 1 ] && rm -rf "$B/img" "$B/npy" "$B/audio" "$B/calib" "$B/ref" "$B/q" "$B/opt"
mkdir -p "$B"/{img,npy,audio,calib,ref,q,opt,run}

sha() { sha256sum "$@" | sha256sum | cut -c1-16; }
ONNXQ_SHA="$(sha "$ONNXQ_BIN")"
# fresh DIR STAMP: true when DIR/.stamp holds STAMP
fresh() { [ -f "$1/.stamp" ] && [ "$(cat "$1/.stamp")" = "$2" ]; }
stamp() { printf '%s' "$2" >"$1/.stamp"; }

# ---------------------------------------------------------------- data
# images NAME KIND COUNT SEED: rendered images in img/NAME and their
# PaddleOCR-preprocessed .npy in npy/NAME
images() {
  local name=$1 kind=$2 count=$3 seed=$4 st
  st="$kind $count $seed $(sha scripts/gen_text_images.py)"
  if ! fresh "$B/img/$name" "$st"; then
    log "data: rendering $count $kind images (seed $seed) -> $B/img/$name"
    rm -rf "$B/img/$name"
    $PY scripts/gen_text_images.py "$B/img/$name" --kind "$kind" --count "$count" --seed "$seed" >/dev/null ||
      die "gen_text_images.py failed"
    stamp "$B/img/$name" "$st"
  fi
  st="$st $(sha scripts/eval/prep_ocr.py)"
  if ! fresh "$B/npy/$name" "$st"; then
    log "data: preprocessing $B/img/$name -> $B/npy/$name"
    rm -rf "$B/npy/$name"
    $PY scripts/eval/prep_ocr.py "$kind" "$B/img/$name" "$B/npy/$name" >/dev/null || die "prep_ocr.py failed"
    stamp "$B/npy/$name" "$st"
  fi
}

# signal SET: out/bench/audio/SET/signal.npy
signal() {
  local set=$1 st
  st="$set $(sha scripts/eval/vad_eval.py)"
  if ! fresh "$B/audio/$set" "$st"; then
    log "data: espeak-ng signal '$set'"
    rm -rf "$B/audio/$set"
    mkdir -p "$B/audio/$set"
    $PY scripts/eval/vad_eval.py signal --set "$set" -o "$B/audio/$set/signal.npy" >/dev/null ||
      die "vad_eval.py signal failed"
    stamp "$B/audio/$set" "$st"
  fi
}

want() { [[ ",$MODELS," == *",$1,"* ]]; }
IFS=, read -r -a METHOD_LIST <<<"$METHODS"
for k in ${MODELS//,/ }; do
  case "$k" in det|rec|cls|silero|oww_emb|oww_ww) ;; *) die "unknown model '$k'" ;; esac
done
for m in "${METHOD_LIST[@]}"; do
  case "$m" in minmax|avg_minmax|ema|percentile|entropy|mse|auto) ;; *) die "unknown method '$m'" ;; esac
done

want det && { images det_calib det 100 101; images det_eval det 50 201; }
want rec && { images rec_calib rec 200 102; images rec_eval rec 200 202; }
want cls && { images cls_calib cls 200 103; images cls_eval cls 200 203; }
if want silero || want oww_emb || want oww_ww; then
  signal calib
  signal eval
  signal wake
fi
if want silero; then
  st="$(cat "$B/audio/calib/.stamp") $(sha $NODE_DIR/vad_eval.mjs $M/silero_vad_v5.onnx)"
  if ! fresh "$B/calib/silero" "$st"; then
    log "data: silero calibration frames (FP32 run over the calib signal, every 4th frame)"
    rm -rf "$B/calib/silero"
    node $NODE_DIR/vad_eval.mjs "$B/audio/calib/signal.npy" $M/silero_vad_v5.onnx \
      --dump-calib "$B/calib/silero" --every 4 --threads "$THREADS" >/dev/null || die "vad_eval.mjs --dump-calib failed"
    stamp "$B/calib/silero" "$st"
  fi
fi
if want oww_emb || want oww_ww; then
  st="$(cat "$B/audio/calib/.stamp") $(sha $NODE_DIR/oww_eval.mjs $M/oww_melspectrogram.onnx $M/oww_embedding.onnx)"
  if ! fresh "$B/calib/oww" "$st"; then
    log "data: openWakeWord calibration inputs (melspectrogram -> embedding windows -> embeddings, FP32 ORT)"
    rm -rf "$B/calib/oww"
    node $NODE_DIR/oww_eval.mjs "$B/audio/calib/signal.npy" --mel $M/oww_melspectrogram.onnx \
      --emb $M/oww_embedding.onnx --ww $M/oww_hey_jarvis.onnx --dump-calib "$B/calib/oww" \
      --threads "$THREADS" >/dev/null || die "oww_eval.mjs --dump-calib failed"
    stamp "$B/calib/oww" "$st"
  fi
fi

# ---------------------------------------------------------------- per model
# model_info KEY: sets FP32 KIND CALIB (onnxq dataset args) LATIN (ort_bench inputs)
middle() { ls "$1" | grep '\.npy$' | sort | sed -n "$(( ($(ls "$1" | grep -c '\.npy$') + 1) / 2 ))p"; }
model_info() {
  LATIN=()
  case "$1" in
    det) FP32=$M/ppocr_det.onnx KIND=det REPEAT=15
         CALIB=(--data "$B/img/det_calib" --size 640x640 --mean 0.485,0.456,0.406 --std 0.229,0.224,0.225 --color bgr)
         LATIN=(--input "$B/npy/det_eval/0000.npy") ;;
    rec) FP32=$M/ppocr_rec.onnx KIND=rec REPEAT=20
         CALIB=(--data "$B/npy/rec_calib") LATIN=(--input "$B/npy/rec_eval/0000.npy") ;;
    cls) FP32=$M/ppocr_cls.onnx KIND=cls REPEAT=100
         CALIB=(--data "$B/npy/cls_calib") LATIN=(--input "$B/npy/cls_eval/0000.npy") ;;
    silero) FP32=$M/silero_vad_v5.onnx KIND=vad REPEAT=300
         CALIB=(--data "$B/calib/silero")
         local f; f="$(middle "$B/calib/silero/input")"
         LATIN=(--input "input=$B/calib/silero/input/$f" --input "state=$B/calib/silero/state/$f"
                --input "sr=$B/calib/silero/sr/$f") ;;
    oww_emb) FP32=$M/oww_embedding.onnx KIND=oww REPEAT=200
         CALIB=(--data "$B/calib/oww/emb") LATIN=(--input "$B/calib/oww/emb/$(middle "$B/calib/oww/emb")") ;;
    oww_ww) FP32=$M/oww_hey_jarvis.onnx KIND=oww REPEAT=300
         CALIB=(--data "$B/calib/oww/ww") LATIN=(--input "$B/calib/oww/ww/$(middle "$B/calib/oww/ww")") ;;
  esac
}

# evaluate KEY MODEL OUT_FP32 OUT_INT8: writes one JSON line each (INT8 only
# when MODEL is not the FP32 model); returns non-zero on failure
evaluate() {
  local key=$1 model=$2 o0=$3 o1=$4
  case "$KIND" in
    det|rec|cls)
      cp "$B/ref/$key/fp32.json" "$o0" &&
      node $NODE_DIR/eval_ocr.mjs "$KIND" "$model" "$B/npy/${KIND}_eval" --threads "$THREADS" \
        --ref-outputs "$B/ref/$key/out" >"$o1" ;;
    vad)
      node $NODE_DIR/vad_eval.mjs "$B/audio/eval/signal.npy" "$FP32" "$model" --threads "$THREADS" >"$TMP/vad.jsonl" &&
      sed -n 1p "$TMP/vad.jsonl" >"$o0" && sed -n 2p "$TMP/vad.jsonl" >"$o1" ;;
    oww)
      local test=--test-emb
      [ "$key" = oww_ww ] && test=--test-ww
      node $NODE_DIR/oww_eval.mjs "$B/audio/wake/signal.npy" --mel $M/oww_melspectrogram.onnx \
        --emb $M/oww_embedding.onnx --ww $M/oww_hey_jarvis.onnx "$test" "$model" --threads "$THREADS" \
        >"$TMP/oww.jsonl" &&
      sed -n 1p "$TMP/oww.jsonl" >"$o0" && sed -n 2p "$TMP/oww.jsonl" >"$o1" ;;
  esac
}

RESULTS="$B/run/results-$(date +%Y%m%d-%H%M%S).jsonl"
: >"$RESULTS"
FAILURES=()
fail() { FAILURES+=("$1"); log "FAILED: $1"; }

for key in ${MODELS//,/ }; do
  model_info "$key"
  # FP32 reference outputs and metric (OCR models; cached)
  if [[ "$KIND" =~ ^(det|rec|cls)$ ]]; then
    st="$(cat "$B/npy/${KIND}_eval/.stamp") $(sha $NODE_DIR/eval_ocr.mjs "$FP32")"
    if ! fresh "$B/ref/$key" "$st"; then
      log "$key: FP32 reference run on the eval set"
      rm -rf "$B/ref/$key"
      mkdir -p "$B/ref/$key"
      node $NODE_DIR/eval_ocr.mjs "$KIND" "$FP32" "$B/npy/${KIND}_eval" --threads "$THREADS" \
        --save-outputs "$B/ref/$key/out" >"$B/ref/$key/fp32.json" || die "$key: FP32 evaluation failed"
      stamp "$B/ref/$key" "$st"
    fi
  fi
  # calibration table (cached per onnxq binary, model and data)
  table="$B/q/$key.table.json"
  st="$ONNXQ_SHA $(sha "$FP32") ${CALIB[*]} $(cat "${CALIB[1]}/.stamp" 2>/dev/null || true)"
  if [ ! -f "$table" ] || [ "$(cat "$table.stamp" 2>/dev/null)" != "$st" ]; then
    log "$key: onnxq calibrate --method all ${CALIB[*]}"
    t0=$(date +%s)
    if ! "$ONNXQ_BIN" calibrate "$FP32" "${CALIB[@]}" --method all --threads "$THREADS" --quiet \
         -o "$table" >"$TMP/calib.out" 2>"$TMP/calib.err"; then
      fail "$key: onnxq calibrate: $(grep -v '^onnxq: prepare' "$TMP/calib.err" | tail -1)"
      continue
    fi
    printf '%s' "$st" >"$table.stamp"
    log "$key: calibrated in $(( $(date +%s) - t0 ))s"
  fi

  configs=()
  for m in "${METHOD_LIST[@]}"; do configs+=("$m:auto"); done
  [ "$FULL" -eq 1 ] && configs+=("minmax:full")
  for c in "${configs[@]}"; do
    method=${c%:*} placement=${c#*:}
    label=$method
    [ "$placement" = full ] && label="$method/full"
    tag="$key.${label//\//_}"
    int8="$B/q/$tag.onnx"
    run="$B/run/$tag"
    rm -rf "$run"
    mkdir -p "$run"
    err=""
    log "$key $label: quantize"
    if ! "$ONNXQ_BIN" quantize "$FP32" --calib-table "$table" --method "$method" --placement "$placement" \
         --json -o "$int8" >"$run/quant.json" 2>"$run/quant.err"; then
      err="onnxq quantize failed: $(grep -v '^onnxq: prepare' "$run/quant.err" | tail -1)"
      fail "$key $label: $err"
    else
      $PY scripts/eval/graph_stats.py check "$int8" >"$run/check.txt" 2>&1 || fail "$key $label: onnx checker: $(cat "$run/check.txt")"
      $PY scripts/eval/graph_stats.py placement "$int8" >"$run/placement.json" 2>"$run/placement.err" ||
        fail "$key $label: graph_stats placement: $(tail -1 "$run/placement.err")"
      log "$key $label: ORT latency (FP32/INT8 alternating, $REPEAT runs each) and optimized graph"
      if node $NODE_DIR/ort_bench.mjs "$FP32" "$int8" "${LATIN[@]}" --threads "$THREADS" --repeat "$REPEAT" \
           --warmup 5 --save-optimized "" --save-optimized "$B/opt/$tag.onnx" >"$run/bench.jsonl" 2>"$run/bench.err"; then
        $PY scripts/eval/graph_stats.py fused "$B/opt/$tag.onnx" >"$run/fused.json" 2>"$run/fused.err" ||
          fail "$key $label: graph_stats fused: $(tail -1 "$run/fused.err")"
      else
        err="ORT: $(grep -v 'Serializing optimized' "$run/bench.err" | tail -1)"
        fail "$key $label: $err"
      fi
      log "$key $label: evaluation"
      if ! evaluate "$key" "$int8" "$run/eval_fp32.json" "$run/eval_int8.json" 2>"$run/eval.err"; then
        err="${err:+$err; }evaluation: $(tail -1 "$run/eval.err")"
        fail "$key $label: evaluation: $(tail -1 "$run/eval.err")"
      fi
    fi
    $PY scripts/eval/quant_table.py row --model "$key" --method "$label" --fp32 "$FP32" --int8 "$int8" \
      --quant "$run/quant.json" --bench "$run/bench.jsonl" --eval-fp32 "$run/eval_fp32.json" \
      --eval-int8 "$run/eval_int8.json" --placement "$run/placement.json" --fused "$run/fused.json" \
      --check "$run/check.txt" ${err:+--error "$err"} >>"$RESULTS" || fail "$key $label: quant_table.py row"
  done
done

printf '\nonnxq INT8 quantization: %s threads in onnxruntime-node %s; load average %s\n' "$THREADS" \
  "$(node -p "require('./$NODE_DIR/node_modules/onnxruntime-node/package.json').version")" \
  "$(cut -d' ' -f1-3 /proc/loadavg)"
printf 'latency: "median (min)" ms of alternating FP32/INT8 runs; ratios INT8/FP32. Noisy on a busy machine.\n'
printf 'ORT int8/placed/total: Conv/MatMul/Gemm run as integer kernels by ORT / quantized by the placement / all\n'
printf '  (QLC QLinearConv, QLMM QLinearMatMul, MMI2F MatMulIntegerToFloat, QG QGemm; w: weight-only, MMNB MatMulNBits)\n\n'
$PY scripts/eval/quant_table.py print "$RESULTS"
# what is left in ORT's optimized graphs (scripts/eval/graph_stats.py):
# Q->DQ / DQ->Q pairs no kernel absorbed, float ops whose weight ORT still
# computes at run time, and float ops reading a quantized tensor (an INT8
# producer's output; not counted as placed)
printf '\nORT optimized graph: round trips / unfolded float weights / float ops reading a DQ\n'
$PY - "$RESULTS" <<'PYEOF'
import json, sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    fu, p = r.get("fused") or {}, r.get("placement") or {}
    print("  %-8s %-14s %s / %s / %s" % (r["model"], r["method"], fu.get("roundtrips", "-"),
                                        fu.get("unfolded_weights", "-"), p.get("float_reading_dq", "-")))
PYEOF
printf '\nrows: %s\n' "$RESULTS"
if [ "${#FAILURES[@]}" -gt 0 ]; then
  printf '\nbench-quant: %d step(s) failed:\n' "${#FAILURES[@]}" >&2
  printf '  %s\n' "${FAILURES[@]}" >&2
  exit 1
fi
