#!/usr/bin/env bash
# report_chromium: the HTML report of `onnxq quantize --report` and
# `onnxq compare --report` renders in Debian's headless Chromium.
#
# On PP-OCR cls (whole-network INT8, 8 generated text images) it writes both
# reports, has Chromium take a 1200x2000 screenshot of each and dump its DOM
# (one run per page), then checks with /usr/bin/python3 (PNG decoded with
# zlib, no PIL):
#  - the screenshot is not blank: > 40 distinct colours, > 4% non-white
#    pixels, and > 3000 pixels in the exact colours of the SQNR bars;
#  - the page text carries the layer names of the FP32 model: the graph
#    input and output, and every output of its BatchNormalization, Relu,
#    HardSigmoid and GlobalAveragePool nodes (names the graph preparation
#    keeps), read from the ONNX file with python3-onnx;
#  - the page fetches nothing: no script, no src=/href= to another document.
# Fails (does not skip) when chromium is missing: scripts/setup.sh installs it.
#
# usage: report_chromium.sh ONNXQ MODELS_DIR
set -euo pipefail

ONNXQ="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
MODELS="$2"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
PY=/usr/bin/python3
MODEL="$MODELS/ppocr_cls.onnx"

fail() { printf 'FAIL: %s\n' "$*"; exit 1; }

CHROMIUM="$(command -v chromium || true)"
[ -n "$CHROMIUM" ] || fail "chromium is not installed (scripts/setup.sh installs Debian's chromium)"
[ -f "$MODEL" ] || fail "$MODEL missing (run models/fetch.sh)"

tmp="$(mktemp -d "${TMPDIR:-/tmp}/onnxq-report.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT

"$PY" "$ROOT/scripts/gen_text_images.py" "$tmp/cal" --kind cls --count 8 --seed 11 >/dev/null
# PaddleOCR cls preprocessing: BGR, 48x192, x*2/255 - 1
PRE=(--size 48x192 --color bgr --scale 0.00784313725490196 --mean 1,1,1 --std 1,1,1)

t0=$(date +%s)
"$ONNXQ" quantize "$MODEL" --data "$tmp/cal" "${PRE[@]}" --placement full -o "$tmp/q.onnx" \
  --save-table "$tmp/t.json" --report "$tmp/quantize.html" --quiet --threads 2
"$ONNXQ" compare "$MODEL" "$tmp/q.onnx" --data "$tmp/cal" "${PRE[@]}" --calib-table "$tmp/t.json" \
  --report "$tmp/compare.html" --quiet --threads 2 -o "$tmp/compare.txt"
t1=$(date +%s)
printf 'reports written in %ds: quantize.html %d bytes, compare.html %d bytes\n' "$((t1 - t0))" \
  "$(stat -c %s "$tmp/quantize.html")" "$(stat -c %s "$tmp/compare.html")"

for page in quantize compare; do
  # a private profile; no network service is reachable or needed
  timeout 120 "$CHROMIUM" --headless --no-sandbox --disable-gpu --hide-scrollbars --no-first-run \
    --disable-extensions --disable-background-networking --disable-component-update --disable-sync \
    --user-data-dir="$tmp/profile" --window-size=1200,2000 --screenshot="$tmp/$page.png" \
    --dump-dom "file://$tmp/$page.html" >"$tmp/$page.dom" 2>"$tmp/$page.chromium.log" ||
    { tail -n 20 "$tmp/$page.chromium.log"; fail "$page: chromium exited with an error"; }
  [ -s "$tmp/$page.png" ] || fail "$page: chromium wrote no screenshot"
  [ -s "$tmp/$page.dom" ] || fail "$page: chromium dumped no DOM"
done
printf 'chromium: %ds for both pages\n' "$(($(date +%s) - t1))"

"$PY" - "$MODEL" "$tmp" <<'EOF'
import html.parser
import struct
import sys
import zlib

import numpy as np
import onnx

model_path, tmp = sys.argv[1], sys.argv[2]
failures = 0


def check(ok, what):
    global failures
    print("%s: %s" % ("ok" if ok else "FAIL", what))
    failures += not ok


def png_pixels(path):
    """8-bit RGB/RGBA non-interlaced PNG -> uint8 array [h, w, channels]: with PIL when it is
    there (fast), else decoded here with zlib + numpy (same values; a few seconds)."""
    try:
        from PIL import Image
        with Image.open(path) as im:
            return np.asarray(im.convert("RGBA" if im.mode == "RGBA" else "RGB"))
    except ImportError:
        pass
    data = open(path, "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat = 8, b""
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            w, h, depth, ctype, _, _, interlace = struct.unpack(">IIBBBBB", body)
            assert depth == 8 and ctype in (2, 6) and interlace == 0, "unsupported PNG %d/%d" % (depth, ctype)
            ch = 3 if ctype == 2 else 4
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    stride = w * ch
    raw = np.frombuffer(zlib.decompress(idat), dtype=np.uint8).reshape(h, stride + 1)
    out = np.zeros((h, stride), dtype=np.uint8)
    prev = np.zeros(stride, dtype=np.uint8)
    for y in range(h):
        f, line = raw[y, 0], raw[y, 1:]
        if f == 0:
            cur = line.copy()
        elif f == 1:  # Sub: running sum per channel
            cur = (np.cumsum(line.reshape(w, ch), axis=0, dtype=np.uint64) & 255).astype(np.uint8).ravel()
        elif f == 2:  # Up
            cur = line + prev
        else:  # Average, Paeth: sequential within the row
            cur = bytearray(line.tobytes())
            up = prev.tolist()
            for i in range(stride):
                a = cur[i - ch] if i >= ch else 0
                b = up[i]
                if f == 3:
                    cur[i] = (cur[i] + (a + b) // 2) & 255
                else:
                    c = up[i - ch] if i >= ch else 0
                    p = a + b - c
                    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                    cur[i] = (cur[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
            cur = np.frombuffer(bytes(cur), dtype=np.uint8)
        out[y] = cur
        prev = out[y]
    return out.reshape(h, w, ch)


class Text(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.parts, self.tags, self.urls = [], set(), []

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)
        for k, v in attrs:
            if k in ("src", "href") and v and not v.startswith("#"):
                self.urls.append((tag, k, v))

    def handle_data(self, d):
        self.parts.append(d)


m = onnx.load(model_path, load_external_data=False)
want = [i.name for i in m.graph.input] + [o.name for o in m.graph.output]
want += [o for n in m.graph.node if n.op_type in ("BatchNormalization", "Relu", "HardSigmoid", "GlobalAveragePool")
         for o in n.output]
bars = np.array([0x2ca02c, 0xe0c000, 0xff7f0e, 0xd62728], dtype=np.uint32)  # SQNR bands

for page in ("quantize", "compare"):
    px = png_pixels("%s/%s.png" % (tmp, page))
    h, w = px.shape[:2]
    rgb = (px[:, :, 0].astype(np.uint32) << 16) | (px[:, :, 1].astype(np.uint32) << 8) | px[:, :, 2]
    colours = np.unique(rgb)
    nonwhite = int(np.count_nonzero(rgb != 0xFFFFFF))
    barpx = int(np.isin(rgb, bars).sum())
    share = nonwhite / float(w * h)
    check(w == 1200 and h == 2000, "%s: screenshot %dx%d" % (page, w, h))
    check(len(colours) > 40, "%s: %d distinct colours (> 40)" % (page, len(colours)))
    check(share > 0.04, "%s: %.1f%% non-white pixels (> 4%%)" % (page, 100 * share))
    check(barpx > 3000, "%s: %d pixels in the SQNR bar colours (> 3000)" % (page, barpx))

    t = Text()
    t.feed(open("%s/%s.dom" % (tmp, page), encoding="utf-8").read())
    text = "\n".join(t.parts)
    missing = [n for n in want if n not in text]
    check(not missing, "%s: page text has all %d layer names from the model%s"
          % (page, len(want), "" if not missing else "; missing: " + ", ".join(missing[:10])))
    check("svg" in t.tags and "script" not in t.tags, "%s: inline SVG, no script" % page)
    check(not t.urls, "%s: no src/href to another document %s" % (page, t.urls[:3]))
    check("Per-layer SQNR" in text and "Activation histograms" in text and "Nodes kept float" in text,
          "%s: the sections are there" % page)

sys.exit(1 if failures else 0)
EOF
