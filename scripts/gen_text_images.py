#!/usr/bin/python3
"""Render synthetic text images with known ground truth, deterministically.

Used as calibration data and as evaluation sets for the PP-OCR models:

  det  page-like images (default 640x640) with several text lines on varied
       backgrounds; labels: text and axis-aligned box of every line
  rec  single text lines, 48 px high; labels: the text
  cls  single text lines, 48 px high, half of them rotated 180 degrees;
       labels: the text and whether it is rotated

usage: gen_text_images.py OUTDIR --kind det|rec|cls [--count N] [--seed S]
       [--size HxW] [--jpeg-fraction F]

Writes OUTDIR/NNNN.png|.jpg and OUTDIR/labels.json. Needs Debian's
python3-pil and fonts-dejavu-core (scripts/setup.sh installs both).
"""
import argparse
import json
import os
import random
import sys

from PIL import Image, ImageDraw, ImageFilter, ImageFont

FONT_DIRS = ["/usr/share/fonts/truetype/dejavu"]
FONT_NAMES = ["DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "DejaVuSerif.ttf", "DejaVuSansMono.ttf",
              "DejaVuSansCondensed.ttf", "DejaVuSerif-Bold.ttf"]
WORDS = ("invoice total amount date number order shipping address street city phone email price "
         "quantity item description account balance payment due customer service station road "
         "north south east west center market bank office hotel school river park garden open closed "
         "monday friday january march december express delivery model serial version page chapter").split()
CHARS = "0123456789"


def fonts():
    found = []
    for d in FONT_DIRS:
        for n in FONT_NAMES:
            p = os.path.join(d, n)
            if os.path.exists(p):
                found.append(p)
    if not found:
        sys.exit("gen_text_images.py: no DejaVu fonts found; install fonts-dejavu-core (scripts/setup.sh)")
    return found


def random_text(rng):
    kind = rng.random()
    if kind < 0.5:
        return " ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 4)))
    if kind < 0.75:
        return rng.choice(WORDS).capitalize() + " " + "".join(rng.choice(CHARS) for _ in range(rng.randint(2, 8)))
    return "".join(rng.choice(CHARS) for _ in range(rng.randint(3, 6))) + "-" + \
        "".join(rng.choice(CHARS) for _ in range(rng.randint(2, 5)))


def background(rng, w, h):
    style = rng.random()
    base = tuple(rng.randint(150, 255) for _ in range(3))
    img = Image.new("RGB", (w, h), base)
    draw = ImageDraw.Draw(img)
    if style < 0.35:  # vertical gradient
        other = tuple(rng.randint(120, 255) for _ in range(3))
        for y in range(h):
            t = y / max(1, h - 1)
            draw.line([(0, y), (w, y)], fill=tuple(int(base[i] * (1 - t) + other[i] * t) for i in range(3)))
    elif style < 0.6:  # blotches
        for _ in range(rng.randint(3, 12)):
            x0, y0 = rng.randint(0, w), rng.randint(0, h)
            r = rng.randint(10, max(11, min(w, h) // 3))
            c = tuple(rng.randint(140, 255) for _ in range(3))
            draw.ellipse([x0 - r, y0 - r, x0 + r, y0 + r], fill=c)
        img = img.filter(ImageFilter.GaussianBlur(rng.uniform(2, 8)))
    elif style < 0.8:  # paper noise
        px = img.load()
        for _ in range(w * h // 20):
            x, y = rng.randrange(w), rng.randrange(h)
            v = rng.randint(-40, 40)
            p = px[x, y]
            px[x, y] = tuple(max(0, min(255, c + v)) for c in p)
    return img


def ink(rng, bg):
    # dark ink on light backgrounds, sometimes coloured
    if rng.random() < 0.7:
        g = rng.randint(0, 60)
        return (g, g, g)
    return tuple(rng.randint(0, 110) for _ in range(3))


def render_line(rng, font_paths, text, height):
    size = int(height * rng.uniform(0.55, 0.8))
    font = ImageFont.truetype(rng.choice(font_paths), size)
    x0, y0, x1, y1 = font.getbbox(text)
    tw = x1 - x0
    pad = rng.randint(4, 16)
    w = tw + 2 * pad
    img = background(rng, w, height)
    draw = ImageDraw.Draw(img)
    draw.text((pad - x0, (height - (y1 - y0)) // 2 - y0), text, font=font, fill=ink(rng, None))
    return img


def make_det(rng, font_paths, w, h):
    img = background(rng, w, h)
    draw = ImageDraw.Draw(img)
    lines = []
    y = rng.randint(10, 40)
    while y < h - 30 and len(lines) < 12:
        size = rng.randint(18, 44)
        font = ImageFont.truetype(rng.choice(font_paths), size)
        text = random_text(rng)
        bx0, by0, bx1, by1 = font.getbbox(text)
        tw, th = bx1 - bx0, by1 - by0
        if tw >= w - 20:
            y += size
            continue
        x = rng.randint(10, w - tw - 10)
        draw.text((x - bx0, y - by0), text, font=font, fill=ink(rng, None))
        lines.append({"text": text, "box": [x, y, x + tw, y + th]})
        y += th + rng.randint(12, 50)
    return img, {"lines": lines}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("outdir")
    ap.add_argument("--kind", choices=["det", "rec", "cls"], required=True)
    ap.add_argument("--count", type=int, default=100)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--size", default="640x640", help="HxW of det images")
    ap.add_argument("--jpeg-fraction", type=float, default=0.3)
    a = ap.parse_args()
    rng = random.Random(a.seed)
    font_paths = fonts()
    os.makedirs(a.outdir, exist_ok=True)
    h, w = (int(v) for v in a.size.split("x"))
    labels = {}
    for i in range(a.count):
        if a.kind == "det":
            img, lab = make_det(rng, font_paths, w, h)
        else:
            text = random_text(rng)
            img = render_line(rng, font_paths, text, 48)
            lab = {"text": text}
            if a.kind == "cls":
                rotated = i % 2 == 1
                if rotated:
                    img = img.rotate(180)
                lab["rotated"] = rotated
        ext = "jpg" if rng.random() < a.jpeg_fraction else "png"
        name = "%04d.%s" % (i, ext)
        if ext == "jpg":
            img.save(os.path.join(a.outdir, name), quality=92)
        else:
            img.save(os.path.join(a.outdir, name))
        labels[name] = lab
    with open(os.path.join(a.outdir, "labels.json"), "w") as f:
        json.dump({"kind": a.kind, "seed": a.seed, "images": labels}, f, indent=1, sort_keys=True)
    print("wrote %d %s images to %s" % (a.count, a.kind, a.outdir))


if __name__ == "__main__":
    main()
