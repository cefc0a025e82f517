#!/usr/bin/env bash
# quant_badinput.sh ONNXQ_BIN
#
# `onnxq quantize` on bad input (issue: quantize, "Bad input"), on tiny models
# built here with Debian's python3-onnx:
#   - a model with no quantizable op is written unchanged (python3-onnx sees
#     the same ModelProto), with a warning, exit 0;
#   - a calibration table that does not match the model: error naming the
#     missing tensors, non-zero exit, no output file;
#   - --exclude-nodes naming a node the model lacks: error naming it;
#   - a missing model, a missing data path, NaN-only calibration data: error
#     naming the file / tensor, no output file.
# Prints one line per check and "N passed, M failed"; exit 1 on failure.
set -uo pipefail
[ $# -eq 1 ] || { echo "usage: $0 ONNXQ_BIN" >&2; exit 2; }
ONNXQ="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
cd "$T" || exit 1
pass=0 fail=0
check() { # ok-flag, description
  if [ "$1" = 1 ]; then pass=$((pass + 1)); echo "ok   $2"; else fail=$((fail + 1)); echo "FAIL $2"; fi
}

/usr/bin/python3 - <<'PY' || { echo "FAIL building the test models"; exit 1; }
import numpy as np, onnx
from onnx import helper as h, TensorProto as T, numpy_helper as nh
rs = np.random.RandomState(0)
def save(nodes, inits, name, xin=(2, 8), yout=(2, 64)):
    g = h.make_graph(nodes, 'g', [h.make_tensor_value_info('x', T.FLOAT, list(xin))],
                     [h.make_tensor_value_info('z', T.FLOAT, list(yout))], inits)
    onnx.save(h.make_model(g, opset_imports=[h.make_opsetid('', 11)]), name)
# no quantizable op (and opset 11, which onnxq's passes would upgrade)
save([h.make_node('Relu', ['x'], ['y'], name='r'), h.make_node('Sigmoid', ['y'], ['z'], name='s')],
     [], 'noq.onnx', yout=(2, 8))
W = nh.from_array(rs.randn(8, 64).astype(np.float32), 'W')
save([h.make_node('MatMul', ['x', 'W'], ['y'], name='mm'), h.make_node('Relu', ['y'], ['z'], name='r')],
     [W], 'mm.onnx')
# same structure, other tensor names: a table of mm.onnx does not fit it
save([h.make_node('MatMul', ['x', 'W'], ['hidden'], name='mm'), h.make_node('Tanh', ['hidden'], ['z'], name='t')],
     [W], 'other.onnx')
np.save('x.npy', rs.randn(4, 2, 8).astype(np.float32))
np.save('nan.npy', np.full((2, 2, 8), np.nan, np.float32))
PY

out=$("$ONNXQ" quantize noq.onnx --data x.npy -o noq.int8.onnx 2>&1); rc=$?
same=$(/usr/bin/python3 -c "import onnx; print(int(onnx.load('noq.onnx') == onnx.load('noq.int8.onnx')))" 2>/dev/null)
check "$([ $rc = 0 ] && [ "$same" = 1 ] && echo 1)" "no quantizable op: exit 0 and the model is written unchanged"
check "$(grep -q "warning: noq.onnx has no quantizable op" <<<"$out" && echo 1)" "no quantizable op: warning names the model"

"$ONNXQ" calibrate mm.onnx --data x.npy -o mm.json --quiet >/dev/null 2>&1
out=$("$ONNXQ" quantize other.onnx --calib-table mm.json --placement full -o other.int8.onnx 2>&1); rc=$?
check "$([ $rc != 0 ] && grep -q "'hidden'" <<<"$out" && [ ! -e other.int8.onnx ] && echo 1)" \
  "stale table: non-zero exit, names the missing tensor 'hidden', no output ($out)"

out=$("$ONNXQ" quantize mm.onnx --data x.npy --exclude-nodes mm,nosuch -o ex.onnx 2>&1); rc=$?
check "$([ $rc != 0 ] && grep -q "'nosuch'" <<<"$out" && [ ! -e ex.onnx ] && echo 1)" \
  "--exclude-nodes nosuch: non-zero exit, names the node, no output ($out)"

out=$("$ONNXQ" quantize missing.onnx --data x.npy -o m.onnx 2>&1); rc=$?
check "$([ $rc != 0 ] && grep -q "missing.onnx" <<<"$out" && [ ! -e m.onnx ] && echo 1)" \
  "missing model: non-zero exit, names the file ($out)"

out=$("$ONNXQ" quantize mm.onnx --data nodata/ -o m.onnx 2>&1); rc=$?
check "$([ $rc != 0 ] && grep -q "nodata" <<<"$out" && [ ! -e m.onnx ] && echo 1)" \
  "missing data path: non-zero exit, names it ($out)"

out=$("$ONNXQ" quantize mm.onnx --data nan.npy -o n.onnx 2>&1); rc=$?
check "$([ $rc != 0 ] && grep -q "'x'" <<<"$out" && [ ! -e n.onnx ] && echo 1)" \
  "NaN-only calibration data: non-zero exit, names the tensor ($out)"

left=$(ls -A | grep -v -E '^(noq|mm|other)\.onnx$|^(x|nan)\.npy$|^mm\.json$|^noq\.int8\.onnx$' | tr '\n' ' ')
check "$([ -z "$left" ] && echo 1)" "no stray or temporary files left (${left:-none})"

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
