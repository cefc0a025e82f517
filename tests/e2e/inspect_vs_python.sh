#!/usr/bin/env bash
# inspect_vs_python.sh ONNXQ_BIN MODELS_DIR [TESTDATA_DIR]
#
# Cross-checks `onnxq inspect --json` against statistics computed independently
# by Debian's python3-onnx (tests/e2e/onnx_stats.py, run with /usr/bin/python3,
# not the python3 on PATH): ir_version, producer_name, opsets, inputs and
# outputs (name, dtype, shape with symbolic dims as dim_param strings), nodes,
# nodes_total, op_types (over subgraphs at any depth), subgraphs, initializers
# and initializer_bytes. Exact equality required.
#
# Models: every real model of MODELS_DIR (PP-OCR det/rec/cls, silero VAD, all
# openWakeWord models), plus libonnx-testdata models with a Loop, If and
# sequence-typed subgraphs and a non-default op domain.
# Prints one line per model and a final "N passed, M failed"; exits 1 on any
# failure, 2 on bad usage.
set -uo pipefail

if [ $# -lt 2 ] || [ $# -gt 3 ]; then
  echo "usage: $0 ONNXQ_BIN MODELS_DIR [TESTDATA_DIR]" >&2
  exit 2
fi
ONNXQ="$1"
MODELS="$2"
TESTDATA="${3:-${ONNXQ_TESTDATA:-/usr/share/libonnx-testdata/data}}"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PY=/usr/bin/python3
STATS="$HERE/onnx_stats.py"

if [ ! -x "$PY" ] || ! "$PY" -c 'import onnx, numpy' 2>/dev/null; then
  echo "inspect_vs_python: $PY cannot import onnx/numpy (install python3-onnx)" >&2
  exit 1
fi

TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT

# Model list: name path required(1|0)
models=()
add() { models+=("$1|$2|$3"); }
for m in ppocr_det ppocr_rec ppocr_cls silero_vad_v5 silero_vad_legacy; do
  add "$m" "$MODELS/$m.onnx" 1
done
add silero_vad_v6 "$MODELS/silero_vad_v6.onnx" 0
shopt -s nullglob
oww=("$MODELS"/oww_*.onnx)
shopt -u nullglob
if [ ${#oww[@]} -eq 0 ]; then
  add "oww_*" "$MODELS/oww_*.onnx" 1   # reported as missing
fi
for f in "${oww[@]}"; do
  add "$(basename "$f" .onnx)" "$f" 1
done
add test_loop11 "$TESTDATA/node/test_loop11/model.onnx" 1        # Loop body (GRAPH attr)
add test_if "$TESTDATA/node/test_if/model.onnx" 0                 # If then/else
add test_loop13_seq "$TESTDATA/node/test_loop13_seq/model.onnx" 0 # sequence-typed I/O
add test_adagrad "$TESTDATA/node/test_adagrad/model.onnx" 0       # ai.onnx.preview.training domain

passed=0 failed=0
for entry in "${models[@]}"; do
  IFS='|' read -r name path required <<<"$entry"
  if [ ! -f "$path" ]; then
    if [ "$required" = 1 ]; then
      echo "FAIL $name: model not found: $path (run models/fetch.sh)"
      failed=$((failed + 1))
    else
      echo "skip $name: not found: $path"
    fi
    continue
  fi
  start=$(date +%s.%N)
  json="$TMP/$name.json"
  if ! "$ONNXQ" inspect "$path" --json >"$json" 2>"$TMP/$name.err"; then
    echo "FAIL $name: onnxq inspect exited non-zero: $(head -c 500 "$TMP/$name.err")"
    failed=$((failed + 1))
    continue
  fi
  out="$("$PY" "$STATS" "$path" --compare "$json" 2>&1)"
  rc=$?
  secs=$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN {printf "%.2f", e - s}')
  if [ $rc -eq 0 ]; then
    echo "PASS $name (${secs}s)${out:+:$(sed 's/^ *ok://' <<<"$out")}"
    passed=$((passed + 1))
  else
    echo "FAIL $name (${secs}s): onnxq inspect --json differs from python3-onnx (rc $rc):"
    echo "$out"
    failed=$((failed + 1))
  fi
done

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
