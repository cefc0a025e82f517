#!/usr/bin/python3
"""Collects the measurements of one (model, method) into a JSON line, and prints tables of them.

usage:
  quant_table.py row --model NAME --method LABEL --fp32 F.onnx --int8 I.onnx
        [--quant Q.json] [--bench B.jsonl] [--eval-fp32 E.json] [--eval-int8 E.json]
        [--placement P.json] [--fused F.json] [--check C.txt] [--error TEXT]
      Prints one JSON line (missing or empty files give nulls):
        quant      `onnxq quantize --json` output
        bench      scripts/node/ort_bench.mjs output: FP32 line, then INT8 line
        eval-*     one JSON line of eval_ocr.mjs / vad_eval.mjs / oww_eval.mjs
        placement  graph_stats.py placement INT8.onnx
        fused      graph_stats.py fused <ORT-optimized INT8 graph>
        check      graph_stats.py check INT8.onnx output ("ok" or the error)
  quant_table.py print ROWS.jsonl [--demo]
      Prints the table (--demo: the short table of scripts/demo.sh).
"""
import argparse
import json
import os
import sys


def load_json(path, line=0):
    """The whole file as one JSON document, else its line-th line that starts with '{'."""
    if not path or not os.path.exists(path) or os.path.getsize(path) == 0:
        return None
    with open(path) as f:
        text = f.read()
    if line == 0:
        try:
            return json.loads(text)
        except ValueError:
            pass
    lines = [ln for ln in text.splitlines() if ln.strip().startswith("{")]
    try:
        return json.loads(lines[line])
    except (IndexError, ValueError):
        return None


def cmd_row(a):
    q = load_json(a.quant)
    b0 = load_json(a.bench, 0)
    b1 = load_json(a.bench, 1)
    e0 = load_json(a.eval_fp32)
    e1 = load_json(a.eval_int8)
    p = load_json(a.placement)
    fu = load_json(a.fused)
    check = None
    if a.check and os.path.exists(a.check):
        with open(a.check) as f:
            check = f.read().strip() or None
    size = lambda f: os.path.getsize(f) if f and os.path.exists(f) else None
    row = {
        "model": a.model, "method": a.method,
        "size_fp32": size(a.fp32), "size_int8": size(a.int8),
        "lat_fp32": b0 and {"median": b0["latency_ms_median"], "min": b0["latency_ms_min"], "runs": b0["runs"]},
        "lat_int8": b1 and {"median": b1["latency_ms_median"], "min": b1["latency_ms_min"], "runs": b1["runs"]},
        "metric": (e1 or e0 or {}).get("metric"),
        "fp32_value": e0 and e0.get("value"), "int8_value": e1 and e1.get("value"),
        "cosine": e1 and e1.get("cosine"), "sqnr_db": e1 and e1.get("sqnr_db"),
        "eval_fp32": e0, "eval_int8": e1,
        "onnxq_quantized_nodes": q and q.get("nodes_quantized"),
        "placement": p, "fused": fu, "check": check, "error": a.error,
    }
    print(json.dumps(row, sort_keys=True))


def f_mb(v):
    return "-" if v is None else "%.2f" % (v / 1e6)


def f_ms(lat):
    if not lat:
        return "-"
    return "%.3g (%.3g)" % (lat["median"], lat["min"])


def f_ratio(a, b, key=None):
    if a is None or b is None:
        return "-"
    if key:
        a, b = a[key], b[key]
    return "%.2f" % (b / a) if a else "-"


def f_num(v, fmt):
    if v is None:
        return "-"
    if isinstance(v, str):
        return v
    return fmt % v


def metric_text(r):
    m = r.get("metric")
    e0, e1 = r.get("eval_fp32") or {}, r.get("eval_int8") or {}
    a, b = r.get("fp32_value"), r.get("int8_value")
    if m is None:
        return "-"
    if m == "agreement":
        extra = ""
        if "speech_fraction" in e0 or "speech_fraction" in e1:
            extra = " speech %s->%s" % (f_num(e0.get("speech_fraction"), "%.3f"), f_num(e1.get("speech_fraction"), "%.3f"))
        elif "max_score" in e0 or "max_score" in e1:
            extra = " max %s->%s" % (f_num(e0.get("max_score"), "%.3f"), f_num(e1.get("max_score"), "%.3f"))
        return "agree %s%s" % (f_num(b, "%.4f"), extra)
    short = {"f1": "F1", "char_accuracy": "char_acc", "accuracy": "acc"}.get(m, m)
    return "%s %s->%s" % (short, f_num(a, "%.4f"), f_num(b, "%.4f"))


def fused_text(r):
    p, fu = r.get("placement"), r.get("fused")
    if not p or not fu:
        return "-", "-"
    by = fu.get("by_op", {})
    abbrev = {"QLinearConv": "QLC", "QLinearMatMul": "QLMM", "MatMulIntegerToFloat": "MMI2F", "QGemm": "QG",
              "ConvInteger": "CI", "MatMulInteger": "MMI", "DynamicQuantizeMatMul": "DQMM"}
    detail = "+".join("%d%s" % (v, abbrev.get(k, k)) for k, v in sorted(by.items()))
    cov = "%d/%d/%d" % (fu["int_kernels"], p["quantized"], p["anchors"])
    if detail:
        cov += " " + detail
    wo = "+".join("%d%s" % (v, {"MatMulNBits": "MMNB"}.get(k, k)) for k, v in sorted(fu.get("weight_only", {}).items()))
    if wo:
        cov += " w:" + wo
    return cov, "%d/%d" % (fu["quantize_linear"], fu["dequantize_linear"])


def print_table(rows, header, widths):
    line = "  ".join(h.ljust(w) if i < 2 else h.rjust(w) for i, (h, w) in enumerate(zip(header, widths)))
    print(line)
    print("-" * len(line))
    for r in rows:
        print("  ".join(str(c).ljust(w) if i < 2 else str(c).rjust(w) for i, (c, w) in enumerate(zip(r, widths))))


def cmd_print(a):
    rows = []
    with open(a.rows) as f:
        for ln in f:
            if ln.strip():
                rows.append(json.loads(ln))
    if a.demo:
        header = ["model", "method", "FP32 MB", "INT8 MB", "ORT FP32 ms", "ORT INT8 ms", "lat ratio med (min)",
                  "task metric FP32->INT8", "cosine"]
        out = []
        for r in rows:
            out.append([r["model"], r["method"], f_mb(r["size_fp32"]), f_mb(r["size_int8"]),
                        f_ms(r["lat_fp32"]), f_ms(r["lat_int8"]),
                        "%s (%s)" % (f_ratio(r["lat_fp32"], r["lat_int8"], "median"),
                                     f_ratio(r["lat_fp32"], r["lat_int8"], "min")),
                        metric_text(r), f_num(r.get("cosine"), "%.5f")])
    else:
        header = ["model", "method", "FP32 MB", "INT8 MB", "size", "ORT FP32 ms", "ORT INT8 ms", "lat med",
                  "lat min", "cosine", "SQNR dB", "task metric FP32->INT8", "ORT int8/placed/total",
                  "left Q/DQ", "checker"]
        out = []
        for r in rows:
            cov, left = fused_text(r)
            chk = r.get("check") or "-"
            if r.get("error"):
                chk = "ERROR: " + r["error"]
            out.append([r["model"], r["method"], f_mb(r["size_fp32"]), f_mb(r["size_int8"]),
                        f_ratio(r["size_fp32"], r["size_int8"]), f_ms(r["lat_fp32"]), f_ms(r["lat_int8"]),
                        f_ratio(r["lat_fp32"], r["lat_int8"], "median"), f_ratio(r["lat_fp32"], r["lat_int8"], "min"),
                        f_num(r.get("cosine"), "%.5f"), f_num(r.get("sqnr_db"), "%.1f"), metric_text(r), cov, left,
                        chk])
    widths = [max(len(str(x)) for x in col) for col in zip(header, *out)] if out else [len(h) for h in header]
    print_table(out, header, widths)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("row")
    for opt in ("model", "method", "fp32", "int8"):
        r.add_argument("--" + opt, required=True)
    for opt in ("quant", "bench", "eval-fp32", "eval-int8", "placement", "fused", "check", "error"):
        r.add_argument("--" + opt)
    p = sub.add_parser("print")
    p.add_argument("rows")
    p.add_argument("--demo", action="store_true")
    a = ap.parse_args()
    if a.cmd == "row":
        cmd_row(a)
    else:
        cmd_print(a)


if __name__ == "__main__":
    sys.exit(main())
