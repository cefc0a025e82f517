#!/usr/bin/env bash
# roundtrip_ort.sh ONNXQ_BIN MODELS_DIR
#
# For every real model in MODELS_DIR (PP-OCR det/rec/cls, silero VAD legacy,
# v5 and v6 if present, every oww_*.onnx): `onnxq convert` it into a temp dir
# and check with scripts/node/ort_compare.mjs (onnxruntime-node, CPU) that the
# original and the round-tripped model give bit-identical outputs on the same
# deterministic inputs. External data is checked too:
#   ppocr_det at its real 640x640 size with --external-threshold 1024: this
#     model keeps its weights in Constant nodes, so nothing moves and no
#     .data file may be written
#   silero_vad_legacy with --external-threshold 1024 (initializers inside If
#     subgraphs: the .data file must be non-empty and listed by inspect)
#   oww_embedding with --external-data weights.bin --external-threshold 1024
# The plain ppocr_det run uses a small 160x160 input to stay fast.
# Prints one line per case and a final "N passed, M failed"; exits 1 on any
# failure, 2 on bad usage.
set -uo pipefail

if [ $# -ne 2 ]; then
  echo "usage: $0 ONNXQ_BIN MODELS_DIR" >&2
  exit 2
fi
ONNXQ="$1"
MODELS="$2"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
COMPARE="$ROOT/scripts/node/ort_compare.mjs"

if ! command -v node >/dev/null 2>&1; then
  echo "roundtrip_ort: node not found on PATH" >&2
  exit 1
fi
if [ ! -d "$ROOT/scripts/node/node_modules/onnxruntime-node" ]; then
  echo "roundtrip_ort: onnxruntime-node not installed (run scripts/setup.sh)" >&2
  exit 1
fi

TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT

passed=0 failed=0

pass() { echo "PASS $*"; passed=$((passed + 1)); }
fail() { echo "FAIL $*"; failed=$((failed + 1)); }
elapsed() { awk -v s="$1" -v e="$(date +%s.%N)" 'BEGIN {printf "%.2f", e - s}'; }

# run_case NAME MODEL EXT_MODE CONVERT_ARGS COMPARE_ARGS
#   EXT_MODE: none | absent (OUT.data must not exist) | used:FILE (FILE non-empty
#   and listed in inspect's external_data)
#   CONVERT_ARGS / COMPARE_ARGS: space-separated extra arguments
run_case() {
  local name="$1" model="$2" ext="$3" cargs="$4" oargs="$5"
  local dir="$TMP/$name" start rc log
  start=$(date +%s.%N)
  if [ ! -f "$model" ]; then
    fail "$name: model not found: $model (run models/fetch.sh)"
    return
  fi
  mkdir -p "$dir"
  local out="$dir/$(basename "$model")"
  # shellcheck disable=SC2086
  if ! "$ONNXQ" convert "$model" "$out" $cargs >"$dir/convert.log" 2>&1; then
    fail "$name: onnxq convert $cargs failed: $(head -c 800 "$dir/convert.log")"
    return
  fi
  local extinfo=""
  case "$ext" in
    none) ;;
    absent)
      if [ -e "$out.data" ]; then
        fail "$name: $(basename "$out").data written although no initializer reached the threshold"
        return
      fi
      extinfo=" [no .data file: nothing to move]"
      ;;
    used:*)
      local f="${ext#used:}"
      if [ ! -s "$dir/$f" ]; then
        fail "$name: external data file $f missing or empty; dir has: $(ls -l "$dir" | tail -n +2 | awk '{print $NF"("$5")"}' | tr '\n' ' ')"
        return
      fi
      if ! "$ONNXQ" inspect "$out" --json >"$dir/inspect.json" 2>&1; then
        fail "$name: onnxq inspect of the converted model failed: $(head -c 800 "$dir/inspect.json")"
        return
      fi
      if ! /usr/bin/python3 -c 'import json,sys; sys.exit(0 if sys.argv[2] in json.load(open(sys.argv[1]))["external_data"] else 1)' \
           "$dir/inspect.json" "$f" 2>/dev/null; then
        fail "$name: inspect of the converted model does not list $f in external_data"
        return
      fi
      extinfo=" [$f $(stat -c %s "$dir/$f") bytes, model $(stat -c %s "$out") bytes]"
      ;;
  esac
  log="$dir/compare.log"
  # shellcheck disable=SC2086
  node "$COMPARE" "$model" "$out" $oargs >"$log" 2>&1
  rc=$?
  local inputs result
  inputs="$(awk '/^input /{printf "%s%s %s", sep, $2, $4; sep="; "}' "$log")"
  result="$(grep '^RESULT:' "$log" | sed 's/^RESULT: //')"
  if [ $rc -eq 0 ] && [ -n "$result" ]; then
    pass "$name ($(elapsed "$start")s): $result; inputs $inputs$extinfo"
  else
    fail "$name ($(elapsed "$start")s): ort_compare exit $rc; convert args '$cargs':"
    sed 's/^/    /' "$log"
  fi
}

run_case ppocr_det "$MODELS/ppocr_det.onnx" none "" "--dim x:2=160 --dim x:3=160"
run_case ppocr_det_ext640 "$MODELS/ppocr_det.onnx" absent "--external-threshold 1024" "--dim x:2=640 --dim x:3=640"
run_case ppocr_rec "$MODELS/ppocr_rec.onnx" none "" "--dim x:3=320"
run_case ppocr_cls "$MODELS/ppocr_cls.onnx" none "" "--dim x:2=48 --dim x:3=192"
run_case silero_vad_legacy "$MODELS/silero_vad_legacy.onnx" none "" ""
run_case silero_vad_legacy_ext "$MODELS/silero_vad_legacy.onnx" used:silero_vad_legacy.onnx.data \
  "--external-threshold 1024" ""
run_case silero_vad_v5 "$MODELS/silero_vad_v5.onnx" none "" ""
if [ -f "$MODELS/silero_vad_v6.onnx" ]; then
  run_case silero_vad_v6 "$MODELS/silero_vad_v6.onnx" none "" ""
fi
shopt -s nullglob
oww=("$MODELS"/oww_*.onnx)
shopt -u nullglob
if [ ${#oww[@]} -eq 0 ]; then
  fail "oww_*: no oww_*.onnx in $MODELS (run models/fetch.sh)"
fi
for f in "${oww[@]}"; do
  run_case "$(basename "$f" .onnx)" "$f" none "" ""
done
run_case oww_embedding_ext "$MODELS/oww_embedding.onnx" used:weights.bin \
  "--external-data weights.bin --external-threshold 1024" ""

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
