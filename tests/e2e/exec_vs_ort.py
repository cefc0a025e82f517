#!/usr/bin/python3
"""exec_vs_ort.py: onnxq's executor against onnxruntime-node on the real models.

Usage (run with /usr/bin/python3, Debian's, which has numpy, onnx and PIL):
  exec_vs_ort.py ONNXQ_BIN MODELS_DIR [--only NAME,...] [--threads N] [--keep DIR] [-v]
  exec_vs_ort.py --make-inputs DIR [--models-dir DIR] [--batches 1,8]

The first form runs every model below in `ONNXQ_BIN run` and in
`node scripts/node/ort_run.mjs` (onnxruntime-node, CPU, graph optimizations
'all') on the same .npy inputs, and compares every graph output.

Inputs are made here, without onnxq, and are deterministic (fixed seeds):
  ppocr_det   1x3x640x640   rendered text page (PIL + DejaVu Sans), normalized
                            like PaddleOCR det: (x/255 - mean) / std with
                            ImageNet mean [0.485,0.456,0.406], std
                            [0.229,0.224,0.225], RGB, NCHW float32
  ppocr_rec   1x3x48x320    rendered text line, (x/255 - 0.5) / 0.5
  ppocr_cls   1x3x48x192    rendered text line, (x/255 - 0.5) / 0.5
  silero_vad_v5 (and _v6 if present)  8 consecutive 512-sample frames of a
                            synthetic speech-like signal (16 kHz harmonic stack
                            with formant weighting and 4 Hz syllable-rate
                            amplitude modulation plus a little noise), state
                            [2,1,128] zeros at frame 0, sr = int64 16000
  silero_vad_legacy         same 8 frames, h and c [2,1,64] zeros at frame 0
  oww_melspectrogram        1x1280: the first 80 ms of the same signal
  oww_embedding             1x76x32x1 standard normal (seed 7)
  every other oww_*.onnx    1xTx96 standard normal, T from the model's input
                            (seed from the model name)
The recurrent models are stepped frame by frame: each runtime gets its own
state outputs back (stateN -> state, hn -> h, cn -> c), so state errors can
accumulate; every frame's outputs, state outputs included, are compared, and
the table shows each output over all 8 frames together ("8x[shape]").

Tolerances, per output (over all frames for the recurrent models):
  max_abs = max |onnxq - ort|  <=  1e-3 * max(1, max |ort|)
  cosine(onnxq, ort)           >=  0.9999
Cosine is skipped (max_abs only) where it is undefined: an all-zero output
on either side, and also where the whole reference lies within the max_abs
tolerance of zero (||ort||_2 <= tol): there the direction is rounding noise
(a one-element output whose reference is -1e-9 would otherwise fail on a
sign). NaN/Inf must sit at the same positions with the same values; shape
and element type must match exactly.

Prints a table (model, output, shape, max_abs, tol, cosine, verdict) and
ends with the line "N passed, M failed" (one count per model output; a model
onnxq cannot run, e.g. "operator X cannot run", counts as one failure with
the reason shown). Exits 1 on any failure, 2 on bad usage.

The second form (--make-inputs) only writes inputs, for scripts/bench-exec.sh:
DIR/<case>/<input>.npy for PP-OCR det/rec/cls, silero_vad_v5 (one frame) and
oww_embedding at each batch size in --batches (batch > 1 only where the
model's batch dimension is not fixed), and prints one manifest line per case:
  case<TAB>model path<TAB>shape text<TAB>NAME=FILE<TAB>NAME=FILE...
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zlib

import numpy as np
import onnx

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
ORT_RUN = os.path.join(ROOT, "scripts", "node", "ort_run.mjs")

N_FRAMES = 8
FRAME = 512
SAMPLE_RATE = 16000
RTOL = 1e-3
MIN_COSINE = 0.9999
RUN_TIMEOUT = 600  # seconds, per onnxq / node invocation

# ---------------------------------------------------------------------------
# Inputs

FONT_PATHS = [
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
]
_fonts = {}


def font(size):
    from PIL import ImageFont

    if size not in _fonts:
        f = None
        for p in FONT_PATHS:
            if os.path.exists(p):
                f = ImageFont.truetype(p, size)
                break
        if f is None:
            print("exec_vs_ort: note: DejaVu Sans not found (Debian fonts-dejavu-core); "
                  "using PIL's built-in bitmap font", file=sys.stderr)
            f = ImageFont.load_default()
        _fonts[size] = f
    return _fonts[size]


def render(w, h, bg, items, rects=()):
    """RGB uint8 HxWx3 image: rects (x0,y0,x1,y1,fill), then text items (x,y,text,size,fill)."""
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (w, h), bg)
    d = ImageDraw.Draw(img)
    for r in rects:
        d.rectangle(r[:4], fill=r[4])
    for x, y, text, size, fill in items:
        d.text((x, y), text, font=font(size), fill=fill)
    return img


def to_nchw(img, mean, std):
    x = np.asarray(img, dtype=np.float32) / np.float32(255.0)
    x = (x - np.asarray(mean, np.float32)) / np.asarray(std, np.float32)
    return np.ascontiguousarray(x.transpose(2, 0, 1)[None].astype(np.float32))


DET_MEAN, DET_STD = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]
REC_MEAN, REC_STD = [0.5, 0.5, 0.5], [0.5, 0.5, 0.5]

LINES = [
    "Post-training INT8 quantization",
    "The quick brown fox jumps over",
    "the lazy dog 0123456789",
    "Total: 1,234.56 EUR  (VAT 19%)",
    "Calibration set: 128 images",
    "onnxq keeps accuracy within 1%",
    "Invoice No. 2024-0815",
    "Deliver to: 42 Harbour Road",
]


def det_image(b):
    w = h = 640
    bg = (246 - 4 * b, 242 - 2 * b, 230 + b)
    rects = [(0, 0, w, 70, (30 + 10 * b, 50, 110)), (40, 520, 600, 600, (255, 250, 205))]
    items = [(24 + 3 * b, 14, "INVOICE %d / ONNXQ" % (b + 1), 40, (255, 255, 255))]
    y = 100
    for i in range(7):
        text = LINES[(i + b) % len(LINES)]
        size = 22 + 4 * ((i + b) % 4)
        color = [(20, 20, 20), (120, 20, 20), (20, 60, 140), (60, 60, 60)][(i + 2 * b) % 4]
        items.append((30 + 11 * ((i * 3 + b) % 5), y, text, size, color))
        y += size + 22
    items.append((60, 535, "Amount due: %d.%02d" % (100 + 37 * b, 13 * b % 100), 36, (0, 0, 0)))
    return render(w, h, bg, items, rects)


REC_TEXTS = ["Hello onnxq 2024", "quantize INT8", "PaddleOCR rec", "Total 1,234.56",
             "wake word: alexa", "silero VAD v5", "The lazy dog", "0123456789"]


def rec_image(b):
    return render(320, 48, (250, 250, 248), [(6, 7, REC_TEXTS[b % 8], 28, (15, 15, 15))])


def cls_image(b):
    img = render(192, 48, (248, 248, 245), [(5, 9, REC_TEXTS[(b + 3) % 8][:12], 24, (25, 25, 25))])
    return img.rotate(180) if b % 2 else img  # odd batch items upside down


def ppocr_input(kind, batch):
    if kind == "det":
        imgs = [to_nchw(det_image(b), DET_MEAN, DET_STD) for b in range(batch)]
    elif kind == "rec":
        imgs = [to_nchw(rec_image(b), REC_MEAN, REC_STD) for b in range(batch)]
    else:
        imgs = [to_nchw(cls_image(b), REC_MEAN, REC_STD) for b in range(batch)]
    return np.ascontiguousarray(np.concatenate(imgs, axis=0))


def speech_signal(n=SAMPLE_RATE):
    """1 s of a speech-like float32 signal at 16 kHz in about [-0.5, 0.5]."""
    rng = np.random.RandomState(1234)
    t = np.arange(n, dtype=np.float64) / SAMPLE_RATE
    f0 = 130.0 + 15.0 * np.sin(2 * np.pi * 0.7 * t) + 5.0 * np.sin(2 * np.pi * 3.1 * t)
    phase = 2 * np.pi * np.cumsum(f0) / SAMPLE_RATE
    formants = [(550.0, 160.0), (1500.0, 200.0), (2500.0, 250.0)]
    sig = np.zeros(n)
    for k in range(1, 40):
        fk = k * 130.0
        if fk > 7600:
            break
        weight = 0.05 + sum(np.exp(-((fk - f) / bw) ** 2) for f, bw in formants)
        sig += weight / np.sqrt(k) * np.sin(k * phase + rng.uniform(0, 2 * np.pi))
    env = 0.12 + 0.88 * 0.5 * (1 + np.sin(2 * np.pi * 4.0 * t + np.pi / 3))  # syllables at 4 Hz
    sig *= env
    sig = 0.5 * sig / np.max(np.abs(sig))
    sig += rng.normal(0.0, 0.004, n)
    return sig.astype(np.float32)


def randn(seed, shape):
    return np.random.RandomState(seed).standard_normal(shape).astype(np.float32)


def name_seed(name):
    return zlib.crc32(name.encode()) & 0x7FFFFFFF


# ---------------------------------------------------------------------------
# Model metadata (python3-onnx, independent of onnxq)


def model_io(path):
    m = onnx.load(path, load_external_data=False)
    inits = {i.name for i in m.graph.initializer}

    def dims(v):
        return [d.dim_value if d.HasField("dim_value") else (d.dim_param or None)
                for d in v.type.tensor_type.shape.dim]

    ins = [(v.name, dims(v)) for v in m.graph.input if v.name not in inits]
    outs = [v.name for v in m.graph.output]
    return ins, outs


def safe_name(name):
    """Output file name, as onnxq run and ort_run.mjs write it."""
    s = "".join("_" if c in "/\\: " else c for c in name)
    s = s.encode()[:511].decode("utf-8", "ignore")
    return "output" if s in ("", ".", "..") else s


# ---------------------------------------------------------------------------
# Cases
#
# A case is a dict: name, model (file name), frames (list of {input: array}
# per step), state ({input: initial array}), feedback ({output: input}).


def silero_case(name, model, state_init, feedback, sig):
    frames = [{"input": sig[None, i * FRAME:(i + 1) * FRAME].copy(), "sr": np.array(SAMPLE_RATE, np.int64)}
              for i in range(N_FRAMES)]
    return {"name": name, "model": model, "frames": frames, "state": state_init, "feedback": feedback}


def single(name, model, inputs):
    return {"name": name, "model": model, "frames": [inputs], "state": {}, "feedback": {}}


def all_cases(models_dir):
    sig = speech_signal()
    cases = [
        single("ppocr_det", "ppocr_det.onnx", {"x": ppocr_input("det", 1)}),
        single("ppocr_rec", "ppocr_rec.onnx", {"x": ppocr_input("rec", 1)}),
        single("ppocr_cls", "ppocr_cls.onnx", {"x": ppocr_input("cls", 1)}),
        silero_case("silero_vad_v5", "silero_vad_v5.onnx", {"state": np.zeros((2, 1, 128), np.float32)},
                    {"stateN": "state"}, sig),
    ]
    if os.path.exists(os.path.join(models_dir, "silero_vad_v6.onnx")):
        cases.append(silero_case("silero_vad_v6", "silero_vad_v6.onnx",
                                 {"state": np.zeros((2, 1, 128), np.float32)}, {"stateN": "state"}, sig))
    cases.append(silero_case("silero_vad_legacy", "silero_vad_legacy.onnx",
                             {"h": np.zeros((2, 1, 64), np.float32), "c": np.zeros((2, 1, 64), np.float32)},
                             {"hn": "h", "cn": "c"}, sig))
    cases.append(single("oww_melspectrogram", "oww_melspectrogram.onnx", {"input": sig[None, :1280].copy()}))
    cases.append(single("oww_embedding", "oww_embedding.onnx", {"input_1": randn(7, (1, 76, 32, 1))}))
    names = sorted(f for f in os.listdir(models_dir) if f.startswith("oww_") and f.endswith(".onnx")) \
        if os.path.isdir(models_dir) else []
    for f in names:
        stem = f[:-5]
        if stem in ("oww_melspectrogram", "oww_embedding"):
            continue
        ins, _ = model_io(os.path.join(models_dir, f))
        if len(ins) != 1 or len(ins[0][1]) != 3 or not isinstance(ins[0][1][1], int):
            cases.append({"name": stem, "model": f, "error": "unexpected input %r (want [1,T,96])" % (ins,)})
            continue
        t = ins[0][1][1]
        cases.append(single(stem, f, {ins[0][0]: randn(name_seed(stem), (1, t, 96))}))
    return cases


# ---------------------------------------------------------------------------
# Running


def run_cmd(cmd):
    """(ok, stdout, message)."""
    try:
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=RUN_TIMEOUT,
                           universal_newlines=True)
    except subprocess.TimeoutExpired:
        return False, "", "timed out after %d s" % RUN_TIMEOUT
    except OSError as e:
        return False, "", str(e)
    if p.returncode == 0:
        return True, p.stdout, ""
    lines = [l.strip() for l in p.stderr.splitlines() if l.strip()]
    msg = lines[-1] if lines else "(no message)"
    for l in lines:  # prefer the executor's "operators that onnxq cannot run: A, B" line
        m = re.search(r"cannot run: (.*)$", l)
        if m:
            return False, p.stdout, "cannot run: " + m.group(1)
    if p.returncode < 0:
        msg = "killed by signal %d; %s" % (-p.returncode, msg)
    else:
        msg = "exit %d: %s" % (p.returncode, msg)
    return False, p.stdout, msg


def save_inputs(d, arrays):
    os.makedirs(d, exist_ok=True)
    files = {}
    for name, a in arrays.items():
        f = os.path.join(d, "in_%s.npy" % safe_name(name))
        np.save(f, a)
        files[name] = f
    return files


def input_args(files):
    args = []
    for name, f in files.items():
        args += ["--input", "%s=%s" % (name, f)]
    return args


def run_side(side, onnxq, model, case, out_names, work, threads, verbose):
    """Steps one runtime through the case's frames. Returns (list of {output: array}, error)."""
    state = dict(case["state"])
    results = []
    for i, frame in enumerate(case["frames"]):
        d = os.path.join(work, "%s_f%d" % (side, i))
        files = save_inputs(d, dict(frame, **state))
        outdir = os.path.join(d, "out")
        if side == "onnxq":
            cmd = [onnxq, "run", model] + input_args(files) + ["--output", outdir, "--format", "npy",
                                                               "--threads", str(threads)]
        else:
            cmd = ["node", ORT_RUN, model] + input_args(files) + ["--output", outdir, "--threads", str(threads)]
        ok, stdout, msg = run_cmd(cmd)
        if verbose:
            sys.stdout.write("".join("    [%s f%d] %s\n" % (side, i, l) for l in stdout.splitlines()))
        if not ok:
            where = " (frame %d)" % i if len(case["frames"]) > 1 else ""
            return results, msg + where
        outs = {}
        for name in out_names:
            f = os.path.join(outdir, safe_name(name) + ".npy")
            if not os.path.exists(f):
                return results, "output '%s' was not written (%s)" % (name, f)
            outs[name] = np.load(f)
        for o, inp in case["feedback"].items():
            state[inp] = outs[o]
        results.append(outs)
    return results, None


def compare(ref, got):
    """Returns dict(max_abs, tol, cosine, ok, note)."""
    r = {"max_abs": None, "tol": None, "cosine": None, "ok": False, "note": ""}
    if ref.shape != got.shape:
        r["note"] = "shape %s vs ort %s" % (list(got.shape), list(ref.shape))
        return r
    if ref.dtype != got.dtype:
        r["note"] = "dtype %s vs ort %s" % (got.dtype, ref.dtype)
        return r
    a = ref.astype(np.float64).ravel()
    b = got.astype(np.float64).ravel()
    fa, fb = np.isfinite(a), np.isfinite(b)
    if np.any(fa != fb):
        r["note"] = "NaN/Inf at different positions (%d onnxq, %d ort)" % ((~fb).sum(), (~fa).sum())
        return r
    av, bv = a[~fa], b[~fa]
    if not np.all((av == bv) | (np.isnan(av) & np.isnan(bv))):
        r["note"] = "different NaN/Inf values"
        return r
    a, b = a[fa], b[fa]
    scale = max(1.0, float(np.max(np.abs(a)))) if a.size else 1.0
    r["tol"] = RTOL * scale
    r["max_abs"] = float(np.max(np.abs(a - b))) if a.size else 0.0
    na, nb = float(np.linalg.norm(a)), float(np.linalg.norm(b))
    if na > r["tol"] and nb > 0:
        r["cosine"] = float(np.dot(a, b) / (na * nb))
    elif na > 0 or nb > 0:
        r["note"] = "cosine skipped: |ref| within tolerance of 0"
    else:
        r["note"] = "cosine skipped: all zero"
    r["ok"] = r["max_abs"] <= r["tol"] and (r["cosine"] is None or r["cosine"] >= MIN_COSINE)
    return r


def fmt_shape(shape, frames):
    s = "[%s]" % ",".join(str(d) for d in shape)
    return "%dx%s" % (frames, s) if frames > 1 else s


def short(s, n):
    return s if len(s) <= n else s[:n - 3] + "..."


class Table:
    COLS = [("model", 20), ("output", 26), ("shape", 18), ("max_abs", 10), ("tol", 8), ("cosine", 11),
            ("verdict", 0)]

    def __init__(self):
        self.passed = 0
        self.failed = 0
        self.missing = {}

    def header(self):
        print("tolerance: max_abs <= %g * max(1, max|ort|) and cosine >= %s "
              "(cosine '-' = skipped: all-zero or |ref| within tol of 0)" % (RTOL, MIN_COSINE))
        self.row([c for c, _ in self.COLS])
        self.row(["-" * max(w, 7) for _, w in self.COLS])
        sys.stdout.flush()

    def row(self, vals):
        parts = []
        for (c, w), v in zip(self.COLS, vals):
            parts.append(v if w == 0 else short(v, w).ljust(w))
        print("  ".join(parts).rstrip())
        sys.stdout.flush()

    def result(self, model, output, shape, cmp):
        ma = "-" if cmp["max_abs"] is None else "%.3g" % cmp["max_abs"]
        tol = "-" if cmp["tol"] is None else "%.3g" % cmp["tol"]
        cos = "-" if cmp["cosine"] is None else "%.7f" % cmp["cosine"]
        verdict = "PASS" if cmp["ok"] else "FAIL"
        if cmp["note"] and not cmp["ok"]:
            verdict += " (%s)" % cmp["note"]
        self.row([model, output, shape, ma, tol, cos, verdict])
        if cmp["ok"]:
            self.passed += 1
        else:
            self.failed += 1

    def fail(self, model, output, why):
        self.row([model, output, "-", "-", "-", "-", "FAIL (%s)" % why])
        self.failed += 1
        m = re.search(r"cannot run: (.*?)(?: \(frame \d+\))?$", why)
        if m:
            for op in m.group(1).split(", "):
                self.missing.setdefault(op.strip(), []).append(model)

    def missing_summary(self):
        if not self.missing:
            return
        print("operators onnxq cannot run yet (models needing them):")
        for op, models in sorted(self.missing.items(), key=lambda kv: (-len(kv[1]), kv[0])):
            print("  %-24s %2d  %s" % (op, len(models), ", ".join(models)))


def run_case(case, onnxq, models_dir, tmp, threads, table, verbose):
    name = case["name"]
    model = os.path.join(models_dir, case["model"])
    if not os.path.exists(model):
        table.fail(name, "-", "model not found: %s (run models/fetch.sh)" % model)
        return
    if "error" in case:
        table.fail(name, "-", case["error"])
        return
    try:
        _, out_names = model_io(model)
    except Exception as e:  # noqa: BLE001 - report any loader error as a failure
        table.fail(name, "-", "python3-onnx cannot load it: %s" % e)
        return
    work = os.path.join(tmp, name)
    got, err = run_side("onnxq", onnxq, model, case, out_names, work, threads, verbose)
    if err:
        table.fail(name, "-", err if err.startswith("cannot run:") else "onnxq failed: %s" % err)
        return
    ref, err = run_side("ort", onnxq, model, case, out_names, work, threads, verbose)
    if err:
        table.fail(name, "-", "onnxruntime-node failed: %s" % err)
        return
    nf = len(case["frames"])
    for o in out_names:
        rs = [f[o] for f in ref]
        gs = [f[o] for f in got]
        bad = [i for i in range(nf) if rs[i].shape != gs[i].shape or rs[i].dtype != gs[i].dtype]
        if bad:
            cmp = compare(rs[bad[0]], gs[bad[0]])
            if nf > 1:
                cmp["note"] += " at frame %d" % bad[0]
        else:
            cmp = compare(np.stack(rs), np.stack(gs)) if nf > 1 else compare(rs[0], gs[0])
        table.result(name, o, fmt_shape(rs[0].shape, nf), cmp)


def make_inputs(out_dir, models_dir, batches):
    """Bench inputs; prints the manifest."""
    sig = speech_signal()
    specs = [
        ("ppocr_det", "ppocr_det.onnx", lambda b: {"x": ppocr_input("det", b)}),
        ("ppocr_rec", "ppocr_rec.onnx", lambda b: {"x": ppocr_input("rec", b)}),
        ("ppocr_cls", "ppocr_cls.onnx", lambda b: {"x": ppocr_input("cls", b)}),
        ("silero_vad_v5", "silero_vad_v5.onnx", lambda b: {
            "input": np.ascontiguousarray(sig[:b * FRAME].reshape(b, FRAME)),
            "state": np.zeros((2, b, 128), np.float32), "sr": np.array(SAMPLE_RATE, np.int64)}),
        ("oww_embedding", "oww_embedding.onnx", lambda b: {"input_1": randn(7, (b, 76, 32, 1))}),
    ]
    for name, f, make in specs:
        model = os.path.join(models_dir, f)
        if not os.path.exists(model):
            print("exec_vs_ort: %s not found (run models/fetch.sh)" % model, file=sys.stderr)
            continue
        ins, _ = model_io(model)
        declared = dict(ins)
        for b in batches:
            arrays = make(b)
            main_name = [n for n in arrays if n not in ("state", "sr")][0]
            d0 = (declared.get(main_name) or [None])[0]
            if isinstance(d0, int) and d0 != b:
                print("exec_vs_ort: %s: skipping batch %d: input %s has a fixed batch of %d" % (name, b, main_name, d0),
                      file=sys.stderr)
                continue
            case = "%s_b%d" % (name, b)
            d = os.path.join(out_dir, case)
            os.makedirs(d, exist_ok=True)
            files = []
            for n, a in arrays.items():
                p = os.path.join(d, "%s.npy" % safe_name(n))
                np.save(p, a)
                files.append("%s=%s" % (n, p))
            shape = "x".join(str(s) for s in arrays[main_name].shape)
            print("\t".join([case, model, shape] + files))
    sys.stdout.flush()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("onnxq", nargs="?", help="the onnxq executable")
    ap.add_argument("models_dir", nargs="?", help="folder with the real models (models/cache)")
    ap.add_argument("--only", help="comma-separated case names (e.g. ppocr_rec,silero_vad_v5)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--keep", metavar="DIR", help="keep inputs and outputs in DIR")
    ap.add_argument("-v", "--verbose", action="store_true", help="show both runtimes' output summaries")
    ap.add_argument("--make-inputs", metavar="DIR", help="only write bench inputs to DIR and print a manifest")
    ap.add_argument("--models-dir", dest="models_dir_opt", help="models folder for --make-inputs")
    ap.add_argument("--batches", default="1,8", help="batch sizes for --make-inputs (default 1,8)")
    args = ap.parse_args()

    if args.make_inputs:
        models_dir = args.models_dir_opt or args.models_dir or os.path.join(ROOT, "models", "cache")
        try:
            batches = [int(b) for b in args.batches.split(",") if b]
        except ValueError:
            ap.error("--batches takes comma-separated integers")
        make_inputs(args.make_inputs, models_dir, batches)
        return 0

    if not args.onnxq or not args.models_dir:
        ap.print_usage(sys.stderr)
        return 2
    if not os.access(args.onnxq, os.X_OK):
        print("exec_vs_ort: %s is not an executable (build first: ninja -C build)" % args.onnxq, file=sys.stderr)
        return 2
    if shutil.which("node") is None or not os.path.isdir(
            os.path.join(ROOT, "scripts", "node", "node_modules", "onnxruntime-node")):
        print("exec_vs_ort: node or onnxruntime-node missing (run scripts/setup.sh)", file=sys.stderr)
        return 1

    cases = all_cases(args.models_dir)
    if args.only:
        want = set(args.only.split(","))
        unknown = want - {c["name"] for c in cases}
        if unknown:
            print("exec_vs_ort: unknown case(s): %s" % ", ".join(sorted(unknown)), file=sys.stderr)
            return 2
        cases = [c for c in cases if c["name"] in want]

    if args.keep:
        os.makedirs(args.keep, exist_ok=True)
        tmp = args.keep
    else:
        tmp = tempfile.mkdtemp(prefix="exec_vs_ort.")
    table = Table()
    try:
        table.header()
        for case in cases:
            run_case(case, os.path.abspath(args.onnxq), args.models_dir, tmp, args.threads, table, args.verbose)
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    table.missing_summary()
    print("%d passed, %d failed" % (table.passed, table.failed))
    return 1 if table.failed else 0


if __name__ == "__main__":
    sys.exit(main())
