#!/usr/bin/env bash
# Sets up, builds, obtains a real model (PP-OCRv4 text detection) and runs the
# main job on it. For now that is: inspect the model, round-trip it through
# onnxq's loader and saver, and check with onnxruntime-node that the copy gives
# bit-identical outputs. Results go to out/.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

step() { printf '\n== %s\n' "$*"; }

step "setup"
scripts/setup.sh
step "models"
models/fetch.sh

step "build (release)"
[ -f build/meson-private/coredata.dat ] || meson setup build --buildtype=release
meson compile -C build

model=models/cache/ppocr_det.onnx
copy=out/ppocr_det.roundtrip.onnx
mkdir -p out

step "onnxq inspect $model"
build/src/cli/onnxq inspect "$model"

step "onnxq convert $model $copy"
build/src/cli/onnxq convert "$model" "$copy"
ls -lL "$model" "$copy"

step "onnxruntime: $model vs $copy"
if node scripts/node/ort_compare.mjs "$model" "$copy"; then
  echo "demo: OK: the round-tripped model gives bit-identical outputs in onnxruntime"
else
  echo "demo: FAILED: outputs differ (or a model did not run)" >&2
  exit 1
fi
