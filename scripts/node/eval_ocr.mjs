#!/usr/bin/env node
// Task metric of a PP-OCR model on a folder made by scripts/eval/prep_ocr.py.
//
// usage: node eval_ocr.mjs det|rec|cls MODEL NPYDIR [--threads N]
//          [--save-outputs DIR] [--ref-outputs DIR] [--keys FILE] [--limit N]
//
// Runs MODEL in onnxruntime-node (CPU, ort_util.mjs session options) on every
// NPYDIR/<stem>.npy listed in NPYDIR/labels.json (sorted by image name) and
// prints ONE JSON line:
//   {kind, model, metric, value, n, latency_ms_median, ...details}
//
//   cls  metric "accuracy": argmax == 1 means "rotated 180 degrees"
//   rec  metric "char_accuracy" = 1 - sum(edit distance) / sum(len(gt)),
//        CTC greedy decoding (argmax per step, collapse repeats, drop blank 0;
//        class i in 1..K is line i of --keys, class K+1 is ' ')
//   det  metric "f1" over text regions (micro-averaged over the set):
//        DB-style post-processing of the probability map:
//          bitmap = prob > 0.3 (--thresh); connected components with
//          8-connectivity (the outer contours cv2.findContours would trace);
//          box = the component's bounding box; dropped if its shorter side
//          < 3 px (DB min_size) or if the mean probability inside the box is
//          < 0.6 (DB box_thresh, "fast" box score; --box-thresh 0 disables);
//          unclip: every side grows by d = area * 1.5 / perimeter (DB
//          unclip_ratio 1.5, --unclip) of the box; boxes whose shorter side
//          is then < 5 px are dropped (DB: min_size + 2); boxes are mapped
//          back to the original image with prep.json's scale and clipped.
//        Matching: all (prediction, ground truth) pairs with IoU >= 0.5,
//        taken greedily by decreasing IoU, one-to-one. P = TP/#pred,
//        R = TP/#gt, F1 = 2PR/(P+R).
//   latency_ms_median: median wall time of session.run over the set (one run
//   per sample; noisy — use ort_run.mjs --repeat for latency).
//
//   --save-outputs DIR  writes the raw output of every sample as
//                       DIR/<stem>.npy (model with several outputs:
//                       DIR/<stem>.<output name>.npy)
//   --ref-outputs DIR   compares with outputs saved by --save-outputs from a
//                       reference model; adds "cosine" and "sqnr_db" to the
//                       JSON (both over all elements of all samples:
//                       cos = <a,b>/(|a||b|), SQNR = 10 log10(|a|^2/|a-b|^2),
//                       a = reference) and "cosine_min" (worst sample)
// Exit status: 0 ok, 1 error, 2 usage.

import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';

import { createSession } from './ort_util.mjs';
import { readNpy, encodeNpy } from './ort_run.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const DEFAULT_KEYS = path.resolve(HERE, '../../models/cache/ppocr_keys_v1.txt');

function usage(msg) {
  if (msg) console.error(`eval_ocr: ${msg}`);
  console.error('usage: node eval_ocr.mjs det|rec|cls MODEL NPYDIR [--threads N] [--save-outputs DIR] ' +
                '[--ref-outputs DIR] [--keys FILE] [--limit N] [--thresh T] [--box-thresh T] [--unclip R]');
  process.exit(2);
}

function parseArgs(argv) {
  const o = {
    kind: null, model: null, dir: null, threads: 2, save: null, ref: null, keys: DEFAULT_KEYS, limit: 0,
    thresh: 0.3, boxThresh: 0.6, unclip: 1.5,
  };
  const pos = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => {
      if (i + 1 >= argv.length) usage(`${a} needs a value`);
      return argv[++i];
    };
    const num = () => {
      const v = Number(val());
      if (!Number.isFinite(v)) usage(`${a} needs a number`);
      return v;
    };
    if (a === '--threads') o.threads = num();
    else if (a === '--save-outputs') o.save = val();
    else if (a === '--ref-outputs') o.ref = val();
    else if (a === '--keys') o.keys = val();
    else if (a === '--limit') o.limit = num();
    else if (a === '--thresh') o.thresh = num();
    else if (a === '--box-thresh') o.boxThresh = num();
    else if (a === '--unclip') o.unclip = num();
    else if (a.startsWith('-')) usage(`unknown option ${a}`);
    else pos.push(a);
  }
  if (pos.length !== 3) usage('expected KIND MODEL NPYDIR');
  [o.kind, o.model, o.dir] = pos;
  if (!['det', 'rec', 'cls'].includes(o.kind)) usage(`unknown kind '${o.kind}'`);
  return o;
}

const safeName = (s) => s.replace(/[/\\: ]/g, '_');

// ---------------------------------------------------------------------------
// cls

function argmaxRow(data, off, n) {
  let best = 0;
  let bv = data[off];
  for (let k = 1; k < n; k++) {
    if (data[off + k] > bv) {
      bv = data[off + k];
      best = k;
    }
  }
  return best;
}

// ---------------------------------------------------------------------------
// rec

function loadKeys(file) {
  const text = fs.readFileSync(file, 'utf8');
  const lines = text.split(/\r?\n/);
  if (lines.length && lines[lines.length - 1] === '') lines.pop();
  return [...lines, ' ']; // use_space_char: the last class is ' '
}

function ctcGreedy(t, keys) {
  const [, T, C] = t.dims.map(Number);
  if (C !== keys.length + 1) throw new Error(`rec output has ${C} classes, keys give ${keys.length + 1}`);
  const d = t.data;
  let prev = -1;
  let s = '';
  for (let i = 0; i < T; i++) {
    const k = argmaxRow(d, i * C, C);
    if (k !== prev && k !== 0) s += keys[k - 1];
    prev = k;
  }
  return s;
}

function editDistance(a, b) {
  const x = [...a];
  const y = [...b];
  let prev = Array.from({ length: y.length + 1 }, (_, j) => j);
  for (let i = 1; i <= x.length; i++) {
    const cur = [i];
    for (let j = 1; j <= y.length; j++) {
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (x[i - 1] === y[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[y.length];
}

// ---------------------------------------------------------------------------
// det

// prob: Float32Array of H*W. Returns boxes [x0, y0, x1, y1] in input pixel
// edge coordinates (x1, y1 exclusive), after unclip.
export function dbBoxes(prob, H, W, { thresh = 0.3, boxThresh = 0.6, unclip = 1.5, minSize = 3 } = {}) {
  const label = new Int32Array(H * W).fill(-1);
  // integral image of prob for the box score
  const integ = new Float64Array((H + 1) * (W + 1));
  for (let y = 0; y < H; y++) {
    let row = 0;
    for (let x = 0; x < W; x++) {
      row += prob[y * W + x];
      integ[(y + 1) * (W + 1) + x + 1] = integ[y * (W + 1) + x + 1] + row;
    }
  }
  const boxSum = (x0, y0, x1, y1) => // inclusive pixel box
    integ[(y1 + 1) * (W + 1) + x1 + 1] - integ[y0 * (W + 1) + x1 + 1] -
    integ[(y1 + 1) * (W + 1) + x0] + integ[y0 * (W + 1) + x0];
  const stack = new Int32Array(H * W);
  const boxes = [];
  let n = 0;
  for (let start = 0; start < H * W; start++) {
    if (label[start] !== -1 || !(prob[start] > thresh)) continue;
    let x0 = W;
    let y0 = H;
    let x1 = -1;
    let y1 = -1;
    let sp = 0;
    stack[sp++] = start;
    label[start] = n;
    while (sp > 0) {
      const p = stack[--sp];
      const py = (p / W) | 0;
      const px = p - py * W;
      if (px < x0) x0 = px;
      if (px > x1) x1 = px;
      if (py < y0) y0 = py;
      if (py > y1) y1 = py;
      for (let dy = -1; dy <= 1; dy++) {
        const qy = py + dy;
        if (qy < 0 || qy >= H) continue;
        for (let dx = -1; dx <= 1; dx++) {
          const qx = px + dx;
          if ((dx === 0 && dy === 0) || qx < 0 || qx >= W) continue;
          const q = qy * W + qx;
          if (label[q] === -1 && prob[q] > thresh) {
            label[q] = n;
            stack[sp++] = q;
          }
        }
      }
    }
    n++;
    const w = x1 - x0 + 1;
    const h = y1 - y0 + 1;
    if (Math.min(w, h) < minSize) continue;
    const score = boxSum(x0, y0, x1, y1) / (w * h);
    if (score < boxThresh) continue;
    const d = (w * h * unclip) / (2 * (w + h));
    const b = [x0 - d, y0 - d, x1 + 1 + d, y1 + 1 + d];
    if (Math.min(b[2] - b[0], b[3] - b[1]) < minSize + 2) continue;
    boxes.push(b);
  }
  return boxes;
}

function iou(a, b) {
  const ix = Math.max(0, Math.min(a[2], b[2]) - Math.max(a[0], b[0]));
  const iy = Math.max(0, Math.min(a[3], b[3]) - Math.max(a[1], b[1]));
  const inter = ix * iy;
  const ua = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter;
  return ua > 0 ? inter / ua : 0;
}

function matchBoxes(pred, gt, minIou = 0.5) {
  const pairs = [];
  for (let i = 0; i < pred.length; i++) {
    for (let j = 0; j < gt.length; j++) {
      const v = iou(pred[i], gt[j]);
      if (v >= minIou) pairs.push([v, i, j]);
    }
  }
  pairs.sort((p, q) => q[0] - p[0] || p[1] - q[1] || p[2] - q[2]);
  const usedP = new Set();
  const usedG = new Set();
  let tp = 0;
  for (const [, i, j] of pairs) {
    if (usedP.has(i) || usedG.has(j)) continue;
    usedP.add(i);
    usedG.add(j);
    tp++;
  }
  return tp;
}

// ---------------------------------------------------------------------------
// fidelity accumulator

class Fidelity {
  constructor() {
    this.dot = 0;
    this.aa = 0;
    this.bb = 0;
    this.ee = 0;
    this.minCos = Infinity;
    this.n = 0;
  }

  add(ref, test) {
    if (ref.dims.join('x') !== test.dims.join('x')) {
      throw new Error(`reference shape [${ref.dims}] differs from output shape [${test.dims}]`);
    }
    const a = ref.data;
    const b = test.data;
    let dot = 0;
    let aa = 0;
    let bb = 0;
    let ee = 0;
    for (let i = 0; i < a.length; i++) {
      const x = a[i];
      const y = b[i];
      dot += x * y;
      aa += x * x;
      bb += y * y;
      ee += (x - y) * (x - y);
    }
    this.dot += dot;
    this.aa += aa;
    this.bb += bb;
    this.ee += ee;
    const c = aa > 0 && bb > 0 ? dot / Math.sqrt(aa * bb) : (aa === bb ? 1 : 0);
    if (c < this.minCos) this.minCos = c;
    this.n++;
  }

  result() {
    const cos = this.aa > 0 && this.bb > 0 ? this.dot / Math.sqrt(this.aa * this.bb) : (this.aa === this.bb ? 1 : 0);
    const sqnr = this.ee > 0 ? 10 * Math.log10(this.aa / this.ee) : Infinity;
    return {
      cosine: Number(cos.toFixed(6)),
      sqnr_db: Number.isFinite(sqnr) ? Number(sqnr.toFixed(2)) : 'inf',
      cosine_min: Number(this.minCos.toFixed(6)),
    };
  }
}

// ---------------------------------------------------------------------------

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const labels = JSON.parse(fs.readFileSync(path.join(o.dir, 'labels.json'), 'utf8'));
  let prep = { images: {} };
  const prepFile = path.join(o.dir, 'prep.json');
  if (fs.existsSync(prepFile)) prep = JSON.parse(fs.readFileSync(prepFile, 'utf8'));
  let names = Object.keys(labels.images ?? {}).sort();
  if (o.limit > 0) names = names.slice(0, o.limit);
  if (names.length === 0) throw new Error(`${o.dir}/labels.json lists no images`);
  const keys = o.kind === 'rec' ? loadKeys(o.keys) : null;

  const session = await createSession(o.model, { threads: o.threads });
  const inputName = session.inputNames[0];
  if (session.inputNames.length !== 1) throw new Error('expected a single-input model');
  const outNames = [...session.outputNames];
  if (o.save) fs.mkdirSync(o.save, { recursive: true });
  const fid = o.ref ? new Fidelity() : null;

  const times = [];
  let correct = 0;
  let editSum = 0;
  let lenSum = 0;
  let tp = 0;
  let nPred = 0;
  let nGt = 0;
  let exact = 0;
  const samples = [];
  for (const name of names) {
    const stem = name.replace(/\.[^.]*$/, '');
    const file = path.join(o.dir, prep.images?.[name]?.npy ?? `${stem}.npy`);
    const x = readNpy(file);
    const t0 = performance.now();
    const out = await session.run({ [inputName]: x });
    times.push(performance.now() - t0);
    const y = out[outNames[0]];

    for (const on of outNames) {
      const f = outNames.length === 1 ? `${stem}.npy` : `${stem}.${safeName(on)}.npy`;
      if (o.save) {
        const p = path.join(o.save, f);
        fs.writeFileSync(`${p}.tmp`, encodeNpy(out[on]));
        fs.renameSync(`${p}.tmp`, p);
      }
      if (fid) fid.add(readNpy(path.join(o.ref, f)), out[on]);
    }

    const lab = labels.images[name];
    if (o.kind === 'cls') {
      const rotated = argmaxRow(y.data, 0, Number(y.dims[y.dims.length - 1])) === 1;
      if (rotated === Boolean(lab.rotated)) correct++;
    } else if (o.kind === 'rec') {
      const text = ctcGreedy(y, keys);
      const gt = lab.text;
      const e = editDistance(text, gt);
      editSum += e;
      lenSum += [...gt].length;
      if (e === 0) exact++;
      if (samples.length < 3) samples.push({ gt, pred: text });
    } else {
      const dims = y.dims.map(Number);
      const H = dims[dims.length - 2];
      const W = dims[dims.length - 1];
      const boxes = dbBoxes(y.data.subarray(0, H * W), H, W,
                            { thresh: o.thresh, boxThresh: o.boxThresh, unclip: o.unclip });
      const info = prep.images?.[name];
      const [sy, sx] = info?.scale_yx ?? [1, 1];
      const [oh, ow] = info?.orig_hw ?? [H, W];
      const mapped = boxes.map((b) => [
        Math.max(0, Math.min(ow, b[0] / sx)), Math.max(0, Math.min(oh, b[1] / sy)),
        Math.max(0, Math.min(ow, b[2] / sx)), Math.max(0, Math.min(oh, b[3] / sy)),
      ]);
      const gt = (lab.lines ?? []).map((l) => l.box);
      tp += matchBoxes(mapped, gt);
      nPred += mapped.length;
      nGt += gt.length;
    }
  }
  await session.release();

  times.sort((a, b) => a - b);
  const res = { kind: o.kind, model: o.model };
  const r6 = (v) => Number(v.toFixed(6));
  if (o.kind === 'cls') {
    Object.assign(res, { metric: 'accuracy', value: r6(correct / names.length) });
  } else if (o.kind === 'rec') {
    Object.assign(res, {
      metric: 'char_accuracy', value: r6(lenSum > 0 ? 1 - editSum / lenSum : 0),
      exact_match: r6(exact / names.length), edits: editSum, gt_chars: lenSum, examples: samples,
    });
  } else {
    const P = nPred > 0 ? tp / nPred : 0;
    const R = nGt > 0 ? tp / nGt : 0;
    const F = P + R > 0 ? (2 * P * R) / (P + R) : 0;
    Object.assign(res, {
      metric: 'f1', value: r6(F), precision: r6(P), recall: r6(R), tp, pred: nPred, gt: nGt,
      connectivity: 8,
    });
  }
  res.n = names.length;
  res.latency_ms_median = Number(times[Math.floor(times.length / 2)].toFixed(3));
  if (fid) Object.assign(res, fid.result());
  console.log(JSON.stringify(res));
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  main().catch((e) => {
    console.error(`eval_ocr: ${e && e.message ? e.message : e}`);
    process.exit(1);
  });
}
