#!/usr/bin/python3
"""Preprocess a gen_text_images.py folder for the PP-OCR models, PaddleOCR style.

usage: prep_ocr.py det|rec|cls IMGDIR OUTDIR [--det-size HxW] [--rec-width W] [--cls-width W]

Writes OUTDIR/<image stem>.npy (float32, NCHW, batch 1) for every image listed
in IMGDIR/labels.json, copies labels.json, and writes OUTDIR/prep.json
(the convention used and, per image, the resize factors from the original
image to the network input, which eval_ocr.mjs uses to map det boxes back).

Conventions (PaddleOCR tools/infer/predict_*.py; images are read by cv2, so
channels are BGR and are NOT converted to RGB for any of the three models):
  det  resize (bilinear, cv2 INTER_LINEAR-like) to --det-size (default
       640x640; the generated pages are 640x640, so this is the identity),
       value = (pixel/255 - mean) / std with mean [0.485,0.456,0.406] and
       std [0.229,0.224,0.225] applied to channels in BGR order, as
       PaddleOCR's NormalizeImage does
  rec  resize to height 48 keeping the aspect ratio, width
       min(ceil(48*w/h), 320); value = (pixel/255 - 0.5)/0.5; right-pad with
       0 (after normalising) to width 320
  cls  the same with width 192

Needs numpy and PIL (Debian python3-numpy, python3-pil).
"""
import argparse
import json
import math
import os
import shutil
import sys

import numpy as np
from PIL import Image

DET_MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
DET_STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)


def _axis_weights(n_in, n_out):
    # cv2 INTER_LINEAR (no antialiasing): src = (dst + 0.5) * n_in / n_out - 0.5
    scale = n_in / n_out
    src = (np.arange(n_out, dtype=np.float64) + 0.5) * scale - 0.5
    src = np.clip(src, 0, n_in - 1)
    i0 = np.floor(src).astype(np.int64)
    i1 = np.minimum(i0 + 1, n_in - 1)
    f = (src - i0).astype(np.float32)
    return i0, i1, f


def resize_bilinear(img, h, w):
    """img: HxWxC uint8 -> hxwxC uint8, bilinear with half-pixel centres."""
    H, W = img.shape[:2]
    if (H, W) == (h, w):
        return img
    a = img.astype(np.float32)
    y0, y1, fy = _axis_weights(H, h)
    x0, x1, fx = _axis_weights(W, w)
    rows = a[y0] * (1 - fy)[:, None, None] + a[y1] * fy[:, None, None]
    out = rows[:, x0] * (1 - fx)[None, :, None] + rows[:, x1] * fx[None, :, None]
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def read_bgr(path):
    with Image.open(path) as im:
        rgb = np.asarray(im.convert("RGB"))
    return np.ascontiguousarray(rgb[:, :, ::-1])


def prep_det(img, size):
    h, w = size
    r = resize_bilinear(img, h, w).astype(np.float32) / 255.0
    x = (r - DET_MEAN) / DET_STD
    chw = x.transpose(2, 0, 1)[None]
    return np.ascontiguousarray(chw, dtype=np.float32), (h / img.shape[0], w / img.shape[1])


def prep_line(img, max_w, height=48):
    H, W = img.shape[:2]
    rw = min(max_w, int(math.ceil(height * W / H)))
    r = resize_bilinear(img, height, rw).astype(np.float32) / 255.0
    x = (r - 0.5) / 0.5
    out = np.zeros((1, 3, height, max_w), dtype=np.float32)
    out[0, :, :, :rw] = x.transpose(2, 0, 1)
    return out, (height / H, rw / W)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("kind", choices=["det", "rec", "cls"])
    ap.add_argument("imgdir")
    ap.add_argument("outdir")
    ap.add_argument("--det-size", default="640x640", help="HxW of the det input (default 640x640)")
    ap.add_argument("--rec-width", type=int, default=320)
    ap.add_argument("--cls-width", type=int, default=192)
    a = ap.parse_args()

    labels_path = os.path.join(a.imgdir, "labels.json")
    try:
        with open(labels_path) as f:
            labels = json.load(f)
    except OSError as e:
        sys.exit("prep_ocr.py: %s" % e)
    images = labels.get("images", {})
    if not images:
        sys.exit("prep_ocr.py: %s lists no images" % labels_path)
    if labels.get("kind") not in (None, a.kind):
        sys.exit("prep_ocr.py: %s holds %s images, not %s" % (labels_path, labels.get("kind"), a.kind))
    det_size = tuple(int(v) for v in a.det_size.lower().split("x"))

    os.makedirs(a.outdir, exist_ok=True)
    per_image = {}
    for name in sorted(images):
        img = read_bgr(os.path.join(a.imgdir, name))
        if a.kind == "det":
            x, (sy, sx) = prep_det(img, det_size)
        else:
            x, (sy, sx) = prep_line(img, a.rec_width if a.kind == "rec" else a.cls_width)
        stem = os.path.splitext(name)[0]
        tmp = os.path.join(a.outdir, stem + ".npy.tmp")
        with open(tmp, "wb") as f:
            np.save(f, x)
        os.replace(tmp, os.path.join(a.outdir, stem + ".npy"))
        per_image[name] = {"npy": stem + ".npy", "orig_hw": list(img.shape[:2]), "scale_yx": [sy, sx]}

    shutil.copyfile(labels_path, os.path.join(a.outdir, "labels.json"))
    conv = {
        "det": "BGR, resize to %dx%d, (x/255 - [0.485,0.456,0.406])/[0.229,0.224,0.225], NCHW" % det_size,
        "rec": "BGR, height 48 keep aspect, width <= %d, (x/255-0.5)/0.5, right-pad 0 to %d, NCHW"
               % (a.rec_width, a.rec_width),
        "cls": "BGR, height 48 keep aspect, width <= %d, (x/255-0.5)/0.5, right-pad 0 to %d, NCHW"
               % (a.cls_width, a.cls_width),
    }[a.kind]
    with open(os.path.join(a.outdir, "prep.json"), "w") as f:
        json.dump({"kind": a.kind, "convention": conv, "images": per_image}, f, indent=1, sort_keys=True)
    print("prep_ocr.py: %d %s inputs in %s (%s)" % (len(per_image), a.kind, a.outdir, conv))


if __name__ == "__main__":
    main()
