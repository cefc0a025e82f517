#!/usr/bin/env bash
# passes_vs_ort.sh TEST_PASSES_BIN MODELS_DIR TESTDATA_DIR
#
# The graph passes (src/quant/passes.h) checked in onnxruntime-node, with
# tests/e2e/passes_compare.mjs (ORT graph optimizations disabled):
#
# 1. Real models (PP-OCR det at 160x160, rec 48x320, cls 48x192, silero VAD
#    v5 with a 512-sample window): the passes are applied cumulatively in
#    table order (`TEST_PASSES_BIN --apply`, default opset target 13), and
#    after each stage the model's outputs are compared with the original's:
#      constants_to_initializers, upgrade_opset   bit-identical
#      the folds and rewrites after them          max abs diff <= 1e-4
#    plus the whole pipeline with upgrade target 14 (fuse_hardswish active).
# 2. Synthetic models at opsets 7, 8, 9 and 10 (attribute forms of Clip,
#    Pad, Slice, TopK, Split, Squeeze/Unsqueeze, ReduceSum/ReduceMean,
#    Dropout ratio and mask, BatchNormalization spatial, Softmax/LogSoftmax/
#    Hardmax at middle axes, Upsample-7/9, Resize-10 up/down/linear,
#    Scatter, ImageScaler) upgraded to 13 and to 21: bit-identical in ORT.
#    ConvTranspose -> Conv + DepthToSpace alone (synthetic, and PP-OCR det
#    with only its Constant weights made initializers): bit-identical.
# 3. libonnx-testdata: every node/ model below opset 13 is upgraded to 13 and
#    run in ORT on its test_data_set_*; outputs must match the reference
#    (|got - want| <= 1e-5 + 1e-3 |want|). Models the upgrade refuses
#    (ONNXQ_E_UNSUPPORTED: Scan-8, Resize with tf_half_pixel_for_nn) are
#    listed and skipped. A case whose original model ORT also cannot run or
#    gets wrong (e.g. opset < 7 ops ORT dropped) does not count as a failure
#    of the upgrade; it is reported as "ort-fails-original".
# Prints one line per case and "N passed, M failed"; exits 1 on failure.
set -uo pipefail

if [ $# -ne 3 ]; then
  echo "usage: $0 TEST_PASSES_BIN MODELS_DIR TESTDATA_DIR" >&2
  exit 2
fi
BIN="$1"
MODELS="$2"
TESTDATA="$3"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
COMPARE="$HERE/passes_compare.mjs"

if ! command -v node >/dev/null 2>&1; then
  echo "passes_vs_ort: node not found on PATH" >&2
  exit 1
fi
if [ ! -d "$ROOT/scripts/node/node_modules/onnxruntime-node" ]; then
  echo "passes_vs_ort: onnxruntime-node not installed (run scripts/setup.sh)" >&2
  exit 1
fi
if [ ! -x "$BIN" ]; then
  echo "passes_vs_ort: $BIN not built" >&2
  exit 1
fi

TMP="$(mktemp -d)"
# A private copy of the tool next to the original (the temp dir may be
# mounted noexec): a rebuild while this runs must not pull it away.
BINDIR="$(mktemp -d "$(dirname "$BIN")/.passes_vs_ort.XXXXXX")" || exit 1
trap 'rm -rf "$TMP" "$BINDIR"' EXIT
cp "$BIN" "$BINDIR/test_passes" || exit 1
BIN="$BINDIR/test_passes"
passed=0 failed=0
pass() { echo "PASS $*"; passed=$((passed + 1)); }
fail() { echo "FAIL $*"; failed=$((failed + 1)); }

STAGES=(constants_to_initializers upgrade_opset fold_scalar_affine fold_batchnorm fuse_hardswish
        convtranspose_to_depthtospace)

# real_model NAME FILE DIM_ARGS...
real_model() {
  local name="$1" file="$2"
  shift 2
  local model="$MODELS/$file" list="" i out log tol counts
  if [ ! -f "$model" ]; then
    fail "$name: $model missing (run models/fetch.sh)"
    return
  fi
  for i in "${!STAGES[@]}"; do
    list="${list:+$list,}${STAGES[$i]}"
    out="$TMP/$name.$i.onnx"
    if ! counts=$("$BIN" --apply "$model" "$out" --passes "$list" 2>&1); then
      fail "$name +${STAGES[$i]}: $counts"
      return
    fi
    if [ "$i" -le 1 ]; then tol=(--exact); else tol=(--atol 1e-4); fi
    log="$TMP/$name.$i.log"
    if node "$COMPARE" "$model" "$out" "${tol[@]}" "$@" >"$log" 2>&1; then
      pass "$name +${STAGES[$i]} (${tol[*]}): $(grep -c ok "$log") output(s), $(echo "$counts" | tail -1)," \
        "$(grep -o 'max abs diff [^ ]*' "$log" | sort -k4 -g | tail -1)"
    else
      fail "$name +${STAGES[$i]} (${tol[*]}): $(grep -v '^RESULT' "$log" | tr '\n' ' ')"
    fi
  done
  out="$TMP/$name.t14.onnx"
  if ! counts=$("$BIN" --apply "$model" "$out" --target 14 2>&1); then
    fail "$name target 14: $counts"
    return
  fi
  log="$TMP/$name.t14.log"
  if node "$COMPARE" "$model" "$out" --atol 1e-4 "$@" >"$log" 2>&1; then
    pass "$name all passes, target 14 (--atol 1e-4): $(echo "$counts" | awk '{printf "%s=%s ", $2, $4}')," \
      "$(grep -o 'max abs diff [^ ]*' "$log" | sort -k4 -g | tail -1)"
  else
    fail "$name all passes, target 14: $(grep -v '^RESULT' "$log" | tr '\n' ' ')"
  fi
}

real_model ppocr_det ppocr_det.onnx --dim x:2=160 --dim x:3=160
real_model ppocr_rec ppocr_rec.onnx --dim x:3=320
real_model ppocr_cls ppocr_cls.onnx --dim x:3=192
real_model silero_vad_v5 silero_vad_v5.onnx

# ---- synthetic old-opset models: upgrade to 13 and 21, bit-identical in ORT ----
/usr/bin/python3 - "$TMP" <<'EOF'
import sys, numpy as np, onnx
from onnx import helper as h, TensorProto as TP, numpy_helper as nh
out = sys.argv[1]
rng = np.random.default_rng(7)
def rnd(*s, lo=-1.0, hi=1.0): return rng.uniform(lo, hi, size=s).astype(np.float32)
def T(name, a): return nh.from_array(np.asarray(a), name)
def vi(name, shape, dt=TP.FLOAT): return h.make_tensor_value_info(name, dt, shape)
def node(op, i, o, **kw): return h.make_node(op, i, o, **kw)
def save(nodes, ins, outs, inits, opset, name):
    g = h.make_graph(nodes, 'g', ins, outs, initializer=inits)
    m = h.make_model(g, opset_imports=[h.make_opsetid('', opset)], producer_name='passes_vs_ort')
    m.ir_version = 4
    onnx.save(m, f'{out}/syn_{name}.onnx')
inits = [T('bs', rnd(3)), T('bb', rnd(3)), T('bm', rnd(3)), T('bv', rnd(3, lo=0.5, hi=1)), T('g', rnd(20, 4)),
         T('gc', rnd(4)), T('shp', np.array([2, -1], np.int64)), T('sc', np.array([1, 1, 2, 3], np.float32))]
def common(opset):
    bn = dict(epsilon=1e-3, spatial=1) if opset < 9 else dict(epsilon=1e-3)
    up = {'inputs': ['x', 'sc']} if opset >= 9 else {'inputs': ['x'], 'scales': [1.0, 1.0, 2.0, 3.0]}
    return [node('Clip', ['x'], ['c1'], min=-0.5), node('Clip', ['x'], ['c2'], max=0.25),
            node('Pad', ['x'], ['p'], pads=[0, 1, 0, 2, 0, 0, 1, 0], mode='constant', value=-2.0),
            node('Pad', ['x'], ['pr'], pads=[0, 0, 1, 1, 0, 0, 1, 1], mode='reflect'),
            node('Slice', ['x'], ['sl'], starts=[1, -3], ends=[2, 1000]),
            node('TopK', ['x'], ['tv', 'ti'], k=3),
            node('Split', ['x'], ['s1', 's2'], axis=1, split=[1, 2]), node('Split', ['x'], ['s3', 's4']),
            node('BatchNormalization', ['x', 'bs', 'bb', 'bm', 'bv'], ['bn'], **bn),
            node('Dropout', ['x'], ['dr', 'dm'], ratio=0.2),
            node('Softmax', ['x'], ['sm']), node('LogSoftmax', ['x'], ['lsm'], axis=2),
            node('Hardmax', ['x'], ['hm'], axis=-1),
            node('ReduceSum', ['x'], ['rs'], axes=[0, 3], keepdims=0), node('ReduceMean', ['x'], ['rmn'], axes=[1]),
            node('Unsqueeze', ['x'], ['us'], axes=[0, 5]), node('Squeeze', ['us'], ['sq'], axes=[0]),
            node('GlobalLpPool', ['x'], ['glp'], p=3), node('LpPool', ['x'], ['lp'], kernel_shape=[2, 2], p=2),
            node('Flatten', ['x'], ['fl'], axis=2), node('Gemm', ['fl', 'g', 'gc'], ['gm']),
            node('Cast', ['x'], ['ci'], to=6), node('Concat', ['x', 'x'], ['cc'], axis=1),
            node('Reshape', ['x', 'shp'], ['rsh']),
            node('Upsample', up.pop('inputs'), ['up'], **up)]
outs = ['c1', 'c2', 'p', 'pr', 'sl', 'tv', 'ti', 's1', 's2', 's3', 's4', 'bn', 'dr', 'sm', 'lsm', 'hm', 'rs', 'rmn',
        'sq', 'glp', 'lp', 'gm', 'ci', 'cc', 'rsh', 'up']
types = {'ti': TP.INT64, 'ci': TP.INT32}
for opset in (7, 9):
    save(common(opset), [vi('x', [2, 3, 4, 5])], [vi(n, None, types.get(n, TP.FLOAT)) for n in outs], inits, opset,
         f'opset{opset}')
inits = [T('up', np.array([1, 1, 2, 3], np.float32)), T('dn', np.array([1, 1, 0.5, 0.5], np.float32)),
         T('dn2', np.array([1, 1, 0.6, 0.7], np.float32)), T('idx', np.array([0, 2, 1, 0] * 4, np.int64).reshape(1, 2, 4, 2))]
nodes = [node('Resize', ['x', 'up'], ['r1'], mode='nearest'), node('Resize', ['x', 'dn'], ['r2']),
         node('Resize', ['x', 'up'], ['r3'], mode='linear'), node('Resize', ['x', 'dn2'], ['r4']),
         node('Dropout', ['x'], ['d', 'mask'], ratio=0.3), node('Scatter', ['x', 'idx', 'upd'], ['sc'], axis=3)]
save(nodes, [vi('x', [1, 2, 4, 6]), vi('upd', [1, 2, 4, 2])],
     [vi(n, None) for n in ['r1', 'r2', 'r3', 'r4', 'd', 'sc']], inits, 10, 'opset10')
# ConvTranspose -> Conv 1x1 + DepthToSpace (checked with that pass alone)
inits = [T('w1', rnd(6, 4, 2, 2)), T('b1', rnd(4)), T('w2', rnd(4, 3, 3, 3)), T('w3', rnd(6, 2, 2, 2))]
nodes = [node('ConvTranspose', ['x', 'w1', 'b1'], ['y1'], kernel_shape=[2, 2], strides=[2, 2], pads=[0, 0, 0, 0]),
         node('ConvTranspose', ['y1', 'w2'], ['y2'], strides=[3, 3], group=2),
         node('ConvTranspose', ['x', 'w3'], ['y3'], strides=[2, 2], group=3, auto_pad='SAME_UPPER')]
g = h.make_graph(nodes, 'g', [vi('x', [2, 6, 3, 5])], [vi('y2', None), vi('y3', None)], initializer=inits)
m = h.make_model(g, opset_imports=[h.make_opsetid('', 13)], producer_name='passes_vs_ort')
m.ir_version = 7
onnx.save(m, f'{out}/ct_convtranspose.onnx')
nodes = [node('ImageScaler', ['x'], ['y'], bias=[0.5, -1.0, 2.0], scale=0.7),
         node('Upsample', ['y'], ['u'], scales=[1.0, 1.0, 2.0, 2.0], mode='linear')]
save(nodes, [vi('x', [1, 3, 4, 5])], [vi('u', None)], [], 8, 'imagescaler')
EOF
for f in "$TMP"/syn_*.onnx; do
  name="$(basename "$f" .onnx)"
  for target in 13 21; do
    out="$TMP/${name}_$target.onnx"
    if ! counts=$("$BIN" --apply "$f" "$out" --passes upgrade_opset --target "$target" 2>&1); then
      fail "$name -> $target: $counts"
      continue
    fi
    log="$TMP/$name.$target.log"
    if node "$COMPARE" "$f" "$out" --exact >"$log" 2>&1; then
      pass "$name -> opset $target (--exact): $(grep -c ' ok$' "$log") outputs, $counts"
    else
      fail "$name -> opset $target: $(grep -v ' ok$' "$log" | tr '\n' ' ')"
    fi
  done
done

# convtranspose_to_depthtospace alone: synthetic model, and PP-OCR det whose
# ConvTransposes have no bias before the folds (Constant weights made
# initializers first): the rewrite must be bit-identical
ct_exact() {
  local name="$1" model="$2" passes="$3"
  shift 3
  local out="$TMP/ctx_$name.onnx" counts log="$TMP/ctx_$name.log"
  if ! counts=$("$BIN" --apply "$model" "$out" --passes "$passes" 2>&1); then
    fail "$name: $counts"
  elif ! echo "$counts" | grep -q "convtranspose_to_depthtospace changed [1-9]"; then
    fail "$name: nothing rewritten ($counts)"
  elif node "$COMPARE" "$model" "$out" --exact "$@" >"$log" 2>&1; then
    pass "$name: convtranspose_to_depthtospace (--exact): $(echo "$counts" | tail -1)"
  else
    fail "$name: convtranspose_to_depthtospace: $(grep -v ' ok$' "$log" | tr '\n' ' ')"
  fi
}
ct_exact synthetic "$TMP/ct_convtranspose.onnx" convtranspose_to_depthtospace
ct_exact ppocr_det "$MODELS/ppocr_det.onnx" constants_to_initializers,convtranspose_to_depthtospace \
  --dim x:2=160 --dim x:3=160

# ---- libonnx-testdata node/ models below opset 13 ----
old_list="$TMP/old.txt"
/usr/bin/python3 - "$TESTDATA/node" >"$old_list" <<'EOF'
import os, sys, onnx
root = sys.argv[1]
for d in sorted(os.listdir(root)):
    p = os.path.join(root, d, 'model.onnx')
    if not os.path.exists(p):
        continue
    m = onnx.load(p, load_external_data=False)
    v = [o.version for o in m.opset_import if o.domain in ('', 'ai.onnx')]
    if v and v[0] < 13:
        print(d)
EOF
n_old=$(wc -l <"$old_list")
if [ "$n_old" -lt 100 ]; then
  fail "libonnx-testdata: only $n_old node/ models below opset 13 under $TESTDATA/node"
fi
up_list="$TMP/up.txt" orig_list="$TMP/orig.txt"
: >"$up_list"
: >"$orig_list"
refused=0
while read -r case; do
  dir="$TESTDATA/node/$case"
  if ! msg=$("$BIN" --apply "$dir/model.onnx" "$TMP/node_$case.onnx" --passes upgrade_opset 2>&1); then
    if [[ "$msg" == *"cannot convert"* ]]; then
      echo "refused $case: $msg"
      refused=$((refused + 1))
    else
      fail "upgrade of $case: $msg"
    fi
    continue
  fi
  for ds in "$dir"/test_data_set_*; do
    printf '%s\t%s\n' "$TMP/node_$case.onnx" "$ds" >>"$up_list"
    printf '%s\t%s\n' "$dir/model.onnx" "$ds" >>"$orig_list"
  done
done <"$old_list"
node "$COMPARE" --batch "$up_list" --atol 1e-5 --rtol 1e-3 >"$TMP/up.log" 2>&1
node "$COMPARE" --batch "$orig_list" --atol 1e-5 --rtol 1e-3 >"$TMP/orig.log" 2>&1
ok=0 orig_bad=0
while IFS= read -r line; do
  set -- $line
  verdict="$1"
  ds="$3"
  ds="${ds%:}"
  case_ds="${ds#"$TESTDATA"/node/}"
  if [ "$verdict" = PASS ]; then
    ok=$((ok + 1))
  elif grep -q "^PASS [^ ]* $ds\$" "$TMP/orig.log"; then
    fail "upgraded $case_ds: ${line#* * * }"
  else
    orig_bad=$((orig_bad + 1))
    echo "ort-fails-original $case_ds: $(grep " $ds" "$TMP/orig.log" | head -1 | cut -d: -f2- | cut -c1-160)"
  fi
done < <(grep -E '^(PASS|FAIL) ' "$TMP/up.log")
pass "libonnx-testdata node/: $n_old models below opset 13, $refused refused, $ok data sets match the" \
  "reference after the upgrade, $orig_bad data sets ORT cannot check (it fails the original too)"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
