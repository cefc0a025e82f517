#!/usr/bin/python3
"""End-to-end check of int8 weights inside If bodies (src/quant/subgraph.h)
on the real models that keep their weights there, against onnxruntime.

usage: subgraph_quant_ort.py ONNXQ_BIN MODELS_DIR

Models: Silero VAD v5 (Conv, STFT and LSTM weights in the 16 kHz and 8 kHz
branches of an If) and openWakeWord hey_jarvis (the verifier's Gemms in an
If body read main-graph initializers).
  1. `onnxq quantize` (silero: calibration frames of an espeak-ng signal;
     hey_jarvis: its inputs from the FP32 openWakeWord pipeline on that
     signal, scripts/node/oww_eval.mjs);
  2. INT8 / FP32 file size <= 0.3, and onnx.checker.check_model passes;
  3. no float weight matrix is left anywhere (If bodies, the main-graph
     initializers they read, Constant nodes);
  4. in the graph onnxruntime optimizes the INT8 model into
     (optimizedModelFilePath), no body still converts an int8 initializer
     at run time: every Cast -> Mul of the stored weights was folded;
  5. silero: frame agreement of (p > 0.5) with FP32 >= 0.97 on another
     espeak-ng signal, at 16 kHz and at 8 kHz (scripts/node/vad_eval.mjs);
     hey_jarvis: detections (score > 0.5) agree with FP32 on >= 0.97 of
     the steps of a signal with "hey jarvis" and |score diff| <= 0.02;
  6. onnxq's executor runs each INT8 model like onnxruntime does:
     max |onnxq - ORT| <= 1e-4 (float compute in the bodies, the same
     folded weights; only summation order differs).
Prints one line per check and "N passed, M failed"; exit 1 on failure.
"""
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import onnx
from onnx import numpy_helper

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
NODE = os.path.join(ROOT, "scripts", "node")
SIZE_MAX = 0.3
AGREE_MIN = 0.97
SCORE_ATOL = 0.02
EXEC_ATOL = 1e-4
passed = failed = 0


def check(ok, what):
    global passed, failed
    if ok:
        passed += 1
    else:
        failed += 1
    print("%-4s %s" % ("ok" if ok else "FAIL", what), flush=True)
    return ok


def run(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError("%s failed (%d):\n%s%s" % (" ".join(cmd), r.returncode, r.stdout[-2000:], r.stderr[-2000:]))
    return r.stdout


def bodies(g):
    for n in g.node:
        for a in n.attribute:
            if a.type == onnx.AttributeProto.GRAPH:
                yield a.g
                yield from bodies(a.g)
            for sg in a.graphs:
                yield sg
                yield from bodies(sg)


def float_matrices(m):
    """Float tensors of rank >= 2 and >= 256 elements anywhere in the model:
    initializers and Constant nodes, main graph and bodies. Biases (rank 1)
    stay float by design."""
    left = []
    for g in [m.graph] + list(bodies(m.graph)):
        ts = list(g.initializer) + [a.t for n in g.node if n.op_type == "Constant" for a in n.attribute if a.name == "value"]
        for t in ts:
            if t.data_type == onnx.TensorProto.FLOAT and len(t.dims) >= 2 and np.prod(t.dims) >= 256:
                left.append(t.name or "(Constant)")
    return left


def runtime_casts(m):
    """Casts in bodies (or the main graph) that read an int8 initializer."""
    out = []
    graphs = [m.graph] + list(bodies(m.graph))
    for g in graphs:
        int8 = {i.name for i in g.initializer if i.data_type == onnx.TensorProto.INT8}
        out += [n.name or n.output[0] for n in g.node if n.op_type == "Cast" and n.input[0] in int8]
    return out


def npy_dir(d, name, arr):
    os.makedirs(d, exist_ok=True)
    np.save(os.path.join(d, name), arr)


def compare_exec(onnxq, model, inputs, tmp, tag):
    args = []
    for k, v in inputs.items():
        args += ["--input", "%s=%s" % (k, v)]
    run([onnxq, "run", model] + args + ["--output", os.path.join(tmp, tag + "_q"), "--threads", "2"])
    run(["node", os.path.join(NODE, "ort_run.mjs"), model] + args + ["--output", os.path.join(tmp, tag + "_o")])
    worst = 0.0
    for f in sorted(os.listdir(os.path.join(tmp, tag + "_o"))):
        a = np.load(os.path.join(tmp, tag + "_o", f)).astype(np.float64)
        b = np.load(os.path.join(tmp, tag + "_q", f)).astype(np.float64)
        worst = max(worst, float(np.abs(a - b).max()))
    check(worst <= EXEC_ATOL, "%s: onnxq executor vs onnxruntime on the INT8 model: max abs %.3g <= %g" %
          (tag, worst, EXEC_ATOL))


def common(onnxq, fp32, int8, tag, tmp, bench_inputs):
    ratio = os.path.getsize(int8) / os.path.getsize(fp32)
    check(ratio <= SIZE_MAX, "%s: INT8/FP32 size %.3f <= %.1f" % (tag, ratio, SIZE_MAX))
    m = onnx.load(int8)
    try:
        onnx.checker.check_model(m)
        check(True, "%s: onnx.checker" % tag)
    except Exception as e:  # noqa: BLE001 - report any checker failure
        check(False, "%s: onnx.checker: %s" % (tag, e))
    left = float_matrices(m)
    check(not left, "%s: no float weight matrix left (bodies included) %s" % (tag, left[:4]))
    opt = os.path.join(tmp, tag + ".opt.onnx")
    args = []
    for k, v in bench_inputs.items():
        args += ["--input", "%s=%s" % (k, v)]
    run(["node", os.path.join(NODE, "ort_bench.mjs"), int8] + args +
        ["--repeat", "1", "--warmup", "0", "--save-optimized", opt])
    casts = runtime_casts(onnx.load(opt))
    check(not casts, "%s: ORT folded every int8 -> float weight (run-time Casts: %s)" % (tag, casts[:4]))


def silero(onnxq, models, tmp):
    fp32 = os.path.join(models, "silero_vad_v5.onnx")
    calib = os.path.join(tmp, "silero_calib")
    run(["node", os.path.join(NODE, "vad_eval.mjs"), os.path.join(tmp, "calib.npy"), fp32,
         "--dump-calib", calib, "--every", "16"])
    int8 = os.path.join(tmp, "silero.int8.onnx")
    run([onnxq, "quantize", fp32, "--data", calib, "-o", int8, "--quiet"])
    frame = sorted(os.listdir(os.path.join(calib, "input")))[len(os.listdir(os.path.join(calib, "input"))) // 2]
    inputs = {k: os.path.join(calib, k, frame) for k in ("input", "state", "sr")}
    common(onnxq, fp32, int8, "silero", tmp, inputs)
    for sr in ("16000", "8000"):
        lines = run(["node", os.path.join(NODE, "vad_eval.mjs"), os.path.join(tmp, "eval.npy"), fp32, int8,
                     "--sr", sr]).strip().splitlines()
        r = json.loads(lines[1])
        check(r["value"] >= AGREE_MIN, "silero %s Hz: frame agreement %.4f >= %.2f (%d frames, SQNR %s dB)" %
              (sr, r["value"], AGREE_MIN, r["n"], r.get("sqnr_db")))
    compare_exec(onnxq, int8, inputs, tmp, "silero")
    excluded_body_node(onnxq, fp32, calib, tmp)


def excluded_body_node(onnxq, fp32, calib, tmp):
    """--exclude-nodes may name a node inside an If body: the quantizer
    accepts it and that Conv keeps float weights, while the other body
    Convs get int8 ones."""
    convs = [n for g in bodies(onnx.load(fp32).graph) for n in g.node if n.op_type == "Conv" and n.name]
    name = next(n.name for n in convs if "encoder" in n.name)
    out = os.path.join(tmp, "silero.excl.onnx")
    run([onnxq, "quantize", fp32, "--data", calib, "--exclude-nodes", name, "-o", out, "--quiet"])
    m = onnx.load(out)
    graphs = [m.graph] + list(bodies(m.graph))
    float_inits = {i.name for g in graphs for i in g.initializer if i.data_type == onnx.TensorProto.FLOAT}
    producer = {o: n.op_type for g in graphs for n in g.node for o in n.output}
    weight_of = {n.name: n.input[1] for g in graphs for n in g.node if n.op_type == "Conv" and n.name}
    kept = name in weight_of and weight_of[name] in float_inits and weight_of[name] not in producer
    others = [c.name for c in convs if c.name != name and c.name in weight_of and weight_of[c.name] not in float_inits]
    check(kept and others, "silero --exclude-nodes %s (in an If body): accepted; its weight %s stays a float "
          "initializer, %d other body Convs read converted weights" % (name, weight_of.get(name), len(others)))


def hey_jarvis(onnxq, models, tmp):
    fp32 = os.path.join(models, "oww_hey_jarvis.onnx")
    pipe = ["--mel", os.path.join(models, "oww_melspectrogram.onnx"), "--emb", os.path.join(models, "oww_embedding.onnx"),
            "--ww", fp32]
    calib = os.path.join(tmp, "oww_calib")
    run(["node", os.path.join(NODE, "oww_eval.mjs"), os.path.join(tmp, "calib.npy")] + pipe + ["--dump-calib", calib])
    int8 = os.path.join(tmp, "ww.int8.onnx")
    run([onnxq, "quantize", fp32, "--data", os.path.join(calib, "ww"), "-o", int8, "--quiet"])
    files = sorted(os.listdir(os.path.join(calib, "ww")))
    first = os.path.join(calib, "ww", files[len(files) // 2])
    common(onnxq, fp32, int8, "hey_jarvis", tmp, {"x.1": first})
    lines = run(["node", os.path.join(NODE, "oww_eval.mjs"), os.path.join(tmp, "wake.npy")] + pipe +
                ["--test-ww", int8]).strip().splitlines()
    r0, r1 = json.loads(lines[0]), json.loads(lines[1])
    check(r1["value"] >= AGREE_MIN, "hey_jarvis: detection agreement %.4f >= %.2f (%d steps, cosine %s)" %
          (r1["value"], AGREE_MIN, r1["n"], r1.get("cosine")))
    check(abs(r1["max_score"] - r0["max_score"]) <= SCORE_ATOL, "hey_jarvis: max score %.4f vs FP32 %.4f (<= %g apart)" %
          (r1["max_score"], r0["max_score"], SCORE_ATOL))
    compare_exec(onnxq, int8, {"x.1": first}, tmp, "hey_jarvis")


def main():
    if len(sys.argv) != 3:
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    onnxq, models = os.path.abspath(sys.argv[1]), sys.argv[2]
    with tempfile.TemporaryDirectory() as tmp:
        # espeak-ng speech: calibration, evaluation and wake-word sets
        for s in ("calib", "eval", "wake"):
            run(["/usr/bin/python3", os.path.join(ROOT, "scripts/eval/vad_eval.py"), "signal", "--set", s,
                 "-o", os.path.join(tmp, s + ".npy")])
        for fn in (silero, hey_jarvis):
            try:
                fn(onnxq, models, tmp)
            except Exception as e:  # noqa: BLE001 - one failing model must not hide the other
                check(False, "%s: %s" % (fn.__name__, e))
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
