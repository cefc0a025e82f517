#!/usr/bin/python3
"""Reference image preprocessing for tests/test_dataset.c.

Decoding is done by PIL (Image.open(...).convert("RGB")), independently of
onnxq's libpng/libjpeg code. Resizing is re-implemented here in numpy with the
rules documented in calibration/dataset.h and calibration/image.c (bilinear,
half-pixel centres, float, no rounding), because PIL's own resize filters
(antialiased when shrinking, rounded to 8 bits) are a different algorithm;
`--pil-resize` instead uses PIL's BILINEAR resize so the test can check the two
agree loosely on upscaling.

    dataset_ref.py IN OUT.npy --size H W [--resize stretch|letterbox|short-side-crop]
        [--color rgb|bgr|gray] [--layout nchw|nhwc] [--scale S] [--mean a b c] [--std a b c]
        [--pixels PIXELS.npy] [--pil-resize]

--pixels gives the 8-bit RGB pixels (HxWx3 uint8 .npy) instead of decoding IN
(used for 16-bit PNGs, which PIL cannot convert to RGB without clipping).
Writes float32 [1,C,H,W] or [1,H,W,C]. As a module: load_rgb(path) and
reference(rgb, H, W, ...) with the same options.
"""
import argparse
import math

import numpy as np
from PIL import Image

PAD = 114.0


def axis(n_src, n_virt, off, n_out):
    s = (np.arange(n_out, dtype=np.float64) + off + 0.5) * (n_src / n_virt) - 0.5
    s = np.clip(s, 0, n_src - 1)
    i0 = np.floor(s).astype(np.int64)
    i1 = np.minimum(i0 + 1, n_src - 1)
    return i0, i1, s - i0


def bilinear(px, vw, vh, ox, oy, ow, oh):
    """px: h x w x 3 float64; virtual size vw x vh, window (ox, oy, ow, oh)."""
    h, w, _ = px.shape
    x0, x1, wx = axis(w, vw, ox, ow)
    y0, y1, wy = axis(h, vh, oy, oh)
    wx = wx[None, :, None]
    wy = wy[:, None, None]
    top = px[y0][:, x0] * (1 - wx) + px[y0][:, x1] * wx
    bot = px[y1][:, x0] * (1 - wx) + px[y1][:, x1] * wx
    return top * (1 - wy) + bot * wy


def round_dim(v):
    return max(1, int(math.floor(v + 0.5)))


def resize(px, H, W, mode):
    h, w, _ = px.shape
    if mode == "stretch":
        return bilinear(px, W, H, 0, 0, W, H)
    if mode == "letterbox":
        r = min(H / h, W / w)
        nw, nh = min(round_dim(w * r), W), min(round_dim(h * r), H)
        out = np.full((H, W, 3), PAD)
        left, top = (W - nw) // 2, (H - nh) // 2
        out[top:top + nh, left:left + nw] = bilinear(px, nw, nh, 0, 0, nw, nh)
        return out
    if mode == "short-side-crop":
        r = max(H / h, W / w)
        nw, nh = max(round_dim(w * r), W), max(round_dim(h * r), H)
        return bilinear(px, nw, nh, (nw - W) // 2, (nh - H) // 2, W, H)
    raise SystemExit("unknown resize mode " + mode)


def load_rgb(path):
    """8-bit RGB pixels (h x w x 3 uint8) as PIL decodes them."""
    return np.asarray(Image.open(path).convert("RGB"))


def reference(rgb, H, W, resize_mode="stretch", color="rgb", layout="nchw", scale=1 / 255, mean=(0, 0, 0),
              std=(1, 1, 1), pil_resize=False):
    """Expected float32 tensor [1,C,H,W] or [1,H,W,C] for 8-bit RGB pixels."""
    if pil_resize:
        px = np.asarray(Image.fromarray(rgb).resize((W, H), Image.BILINEAR), dtype=np.float64)
    else:
        px = resize(rgb.astype(np.float64), H, W, resize_mode)
    if color == "bgr":
        ch = px[:, :, ::-1]
    elif color == "gray":
        ch = (0.299 * px[:, :, 0] + 0.587 * px[:, :, 1] + 0.114 * px[:, :, 2])[:, :, None]
    else:
        ch = px
    C = ch.shape[2]
    v = (ch * scale - np.array(mean[:C], dtype=np.float64)) / np.array(std[:C], dtype=np.float64)
    if layout == "nchw":
        v = v.transpose(2, 0, 1)
    return np.ascontiguousarray(v[None].astype(np.float32))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("input")
    ap.add_argument("output")
    ap.add_argument("--size", nargs=2, type=int, required=True)
    ap.add_argument("--resize", default="stretch")
    ap.add_argument("--color", default="rgb")
    ap.add_argument("--layout", default="nchw")
    ap.add_argument("--scale", type=float, default=1 / 255)
    ap.add_argument("--mean", nargs=3, type=float, default=[0, 0, 0])
    ap.add_argument("--std", nargs=3, type=float, default=[1, 1, 1])
    ap.add_argument("--pixels")
    ap.add_argument("--pil-resize", action="store_true")
    a = ap.parse_args()
    rgb = np.load(a.pixels) if a.pixels else load_rgb(a.input)
    out = reference(rgb, a.size[0], a.size[1], a.resize, a.color, a.layout, a.scale, a.mean, a.std, a.pil_resize)
    np.save(a.output, out)


if __name__ == "__main__":
    main()
