#!/usr/bin/env bash
# The main job, end to end on a fresh machine: sets up, fetches the models,
# builds, renders calibration and evaluation images, quantizes PP-OCRv4 text
# detection and the PP-OCR orientation classifier to INT8 with onnxq's
# default settings, checks that each INT8 model loads and runs in
# onnxruntime-node, and prints a table: model, FP32 / INT8 size, ORT latency
# FP32 / INT8 and their ratio, task metric FP32 vs INT8 (det: text-region
# F1, cls: orientation accuracy) and the cosine similarity of the INT8
# outputs to FP32's. Results go to out/demo/. Exits non-zero when any step
# fails (a slower INT8 model is not a failure: timings are only printed).
#
# Sizes are kept small so that it takes a few minutes: 32 calibration pages
# and 20 evaluation pages for det, 100 calibration and 200 evaluation lines
# for cls (scripts/bench-quant.sh runs the full benchmark).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

PY=/usr/bin/python3
OUT=out/demo
THREADS=2
step() { printf '\n== %s\n' "$*"; }
fail() { printf 'demo: FAILED: %s\n' "$*" >&2; exit 1; }

step "setup"
scripts/setup.sh
step "models"
models/fetch.sh

step "build (release)"
[ -f build/meson-private/coredata.dat ] || meson setup build --buildtype=release
meson compile -C build
ONNXQ=build/src/cli/onnxq
[ -x "$ONNXQ" ] || fail "no $ONNXQ after the build"

DET=models/cache/ppocr_det.onnx
CLS=models/cache/ppocr_cls.onnx
rm -rf "$OUT"
mkdir -p "$OUT"

step "render images (scripts/gen_text_images.py) and preprocess them (scripts/eval/prep_ocr.py)"
# calibration and evaluation sets use different seeds
$PY scripts/gen_text_images.py "$OUT/img/det_calib" --kind det --count 32 --seed 101
$PY scripts/gen_text_images.py "$OUT/img/det_eval" --kind det --count 20 --seed 201
$PY scripts/gen_text_images.py "$OUT/img/cls_calib" --kind cls --count 100 --seed 103
$PY scripts/gen_text_images.py "$OUT/img/cls_eval" --kind cls --count 200 --seed 203
$PY scripts/eval/prep_ocr.py det "$OUT/img/det_eval" "$OUT/npy/det_eval"
$PY scripts/eval/prep_ocr.py cls "$OUT/img/cls_calib" "$OUT/npy/cls_calib"
$PY scripts/eval/prep_ocr.py cls "$OUT/img/cls_eval" "$OUT/npy/cls_eval"

step "onnxq quantize $DET (default settings; PaddleOCR det preprocessing: BGR, ImageNet mean/std, 640x640)"
"$ONNXQ" quantize "$DET" --data "$OUT/img/det_calib" --size 640x640 --mean 0.485,0.456,0.406 \
  --std 0.229,0.224,0.225 --color bgr --threads "$THREADS" -o "$OUT/ppocr_det.int8.onnx"
step "onnxq quantize $CLS (default settings; lines preprocessed by prep_ocr.py: height 48, aspect kept, padded to 192)"
"$ONNXQ" quantize "$CLS" --data "$OUT/npy/cls_calib" --threads "$THREADS" -o "$OUT/ppocr_cls.int8.onnx"

ROWS="$OUT/rows.jsonl"
: >"$ROWS"
# measure NAME KIND FP32 INT8 REPEAT
measure() {
  local name=$1 kind=$2 fp32=$3 int8=$4 repeat=$5 d="$OUT/run/$1"
  mkdir -p "$d"
  step "$name: onnx checker, onnxruntime-node load + run (latency, FP32/INT8 alternating), evaluation"
  $PY scripts/eval/graph_stats.py check "$int8" || fail "$int8 does not pass onnx.checker"
  node scripts/node/ort_bench.mjs "$fp32" "$int8" --input "$OUT/npy/${kind}_eval/0000.npy" --threads "$THREADS" \
    --repeat "$repeat" --warmup 3 >"$d/bench.jsonl" || fail "$int8 does not load or run in onnxruntime-node"
  cat "$d/bench.jsonl"
  node scripts/node/eval_ocr.mjs "$kind" "$fp32" "$OUT/npy/${kind}_eval" --threads "$THREADS" \
    --save-outputs "$d/fp32_out" >"$d/eval_fp32.json" || fail "FP32 evaluation of $fp32"
  node scripts/node/eval_ocr.mjs "$kind" "$int8" "$OUT/npy/${kind}_eval" --threads "$THREADS" \
    --ref-outputs "$d/fp32_out" >"$d/eval_int8.json" || fail "INT8 evaluation of $int8"
  cat "$d/eval_fp32.json" "$d/eval_int8.json"
  rm -rf "$d/fp32_out"
  $PY scripts/eval/quant_table.py row --model "$name" --method "default" --fp32 "$fp32" --int8 "$int8" \
    --bench "$d/bench.jsonl" --eval-fp32 "$d/eval_fp32.json" --eval-int8 "$d/eval_int8.json" >>"$ROWS"
}
measure ppocr_det det "$DET" "$OUT/ppocr_det.int8.onnx" 10
measure ppocr_cls cls "$CLS" "$OUT/ppocr_cls.int8.onnx" 50

step "result ($THREADS threads in onnxruntime-node; latency \"median (min)\" ms of alternating runs, lat ratio = INT8/FP32; load average $(cut -d' ' -f1-3 /proc/loadavg))"
$PY scripts/eval/quant_table.py print "$ROWS" --demo
echo
echo "demo: OK: both INT8 models load and run in onnxruntime-node (models and measurements in $OUT/)"
