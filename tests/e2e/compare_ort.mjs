#!/usr/bin/env node
// Usage: node compare_ort.mjs FP32.onnx INT8.onnx [--opt all|basic|extended|disabled] [--threads N]
//                             [--map MAP.json] FILE.npy ...
//
// The onnxruntime-node side of tests/e2e/compare_ort.py: runs both models on
// every .npy file (fed to the models' single input) and prints, as JSON, per
// graph output the metrics `onnxq compare` reports, with the definitions of
// src/eval/metrics.h, accumulated over all files in double precision:
//   SQNR dB = 10 log10(sum ref^2 / sum (ref - test)^2), cosine, max |ref - test|
//   (non-finite pairs left out), top-1 agreement over rows of the last axis,
// Each FP32 output is compared with the INT8 output of the same name, or of
// the name MAP.json ({"fp32 name": "int8 name"}) gives; FP32 outputs with
// neither are skipped (so extra outputs exposed for a per-tensor check work).
// --opt sets graphOptimizationLevel for both sessions (default all: the INT8
// model runs on ORT's fused integer kernels; disabled: Q/DQ run as separate
// float ops, as in onnxq's executor).
// Output: {"outputs": {NAME: {"sqnr_db", "cosine", "max_abs", "values",
//          "rows", "top1"}}, "files": N}; SQNR is a string "inf" when the
// error is zero.

import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const nodeDir = path.join(here, '..', '..', 'scripts', 'node');
const { createSession } = await import(path.join(nodeDir, 'ort_util.mjs'));
const { readNpy } = await import(path.join(nodeDir, 'ort_run.mjs'));

function usage(msg) {
  if (msg) console.error(`compare_ort: ${msg}`);
  console.error('usage: node compare_ort.mjs FP32.onnx INT8.onnx [--opt LEVEL] [--threads N] FILE.npy ...');
  process.exit(2);
}

const args = process.argv.slice(2);
const files = [];
const models = [];
let opt = 'all';
let threads = 2;
let map = {};
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  if (a === '--opt' && i + 1 < args.length) opt = args[++i];
  else if (a === '--threads' && i + 1 < args.length) threads = Number(args[++i]);
  else if (a === '--map' && i + 1 < args.length) map = JSON.parse(fs.readFileSync(args[++i], 'utf8'));
  else if (a.startsWith('-')) usage(`unknown option ${a}`);
  else if (models.length < 2) models.push(a);
  else files.push(a);
}
if (models.length < 2 || files.length === 0) usage('need FP32.onnx, INT8.onnx and at least one .npy file');
if (!['all', 'basic', 'extended', 'disabled'].includes(opt)) usage(`--opt ${opt}`);

function newAcc() {
  return { r2: 0, e2: 0, t2: 0, dot: 0, max: 0, n: 0, rows: 0, agree: 0 };
}

function argmax(d, off, len) {
  let b = 0;
  for (let i = 1; i < len; i++) if (d[off + i] > d[off + b]) b = i;
  return b;
}

async function main() {
  const sf = await createSession(models[0], { threads, graphOptimizationLevel: opt });
  const sq = await createSession(models[1], { threads, graphOptimizationLevel: opt });
  if (sf.inputNames.length !== 1) throw new Error(`${models[0]}: expected one input`);
  const acc = {};
  const twin = {};
  const qnames = new Set(sq.outputNames);
  for (const name of sf.outputNames) {
    const t = map[name] ?? name;
    if (!qnames.has(t)) continue;
    twin[name] = t;
    acc[name] = newAcc();
  }
  for (const f of files) {
    const feeds = { [sf.inputNames[0]]: readNpy(f) };
    const a = await sf.run(feeds);
    const b = await sq.run({ [sq.inputNames[0]]: feeds[sf.inputNames[0]] });
    for (const name of Object.keys(acc)) {
      const x = a[name].data;
      const y = b[twin[name]].data;
      if (x.length !== y.length) throw new Error(`output ${name}: ${x.length} vs ${y.length} values`);
      const s = acc[name];
      for (let i = 0; i < x.length; i++) {
        const r = x[i];
        const t = y[i];
        if (!Number.isFinite(r) || !Number.isFinite(t)) continue;
        const e = r - t;
        s.r2 += r * r;
        s.t2 += t * t;
        s.dot += r * t;
        s.e2 += e * e;
        if (Math.abs(e) > s.max) s.max = Math.abs(e);
        s.n++;
      }
      const dims = a[name].dims;
      const row = dims.length ? Number(dims[dims.length - 1]) : 1;
      if (row >= 2) {
        for (let off = 0; off + row <= x.length; off += row) {
          s.rows++;
          if (argmax(x, off, row) === argmax(y, off, row)) s.agree++;
        }
      }
    }
  }
  const outputs = {};
  for (const [name, s] of Object.entries(acc)) {
    let sqnr;
    if (s.e2 === 0) sqnr = 'inf';
    else if (s.r2 === 0) sqnr = '-inf';
    else sqnr = 10 * Math.log10(s.r2 / s.e2);
    let cosine;
    if (s.r2 === 0 && s.t2 === 0) cosine = 1;
    else if (s.r2 === 0 || s.t2 === 0) cosine = 0;
    else cosine = s.dot / Math.sqrt(s.r2 * s.t2);
    outputs[name] = {
      sqnr_db: sqnr, cosine, max_abs: s.max, values: s.n, rows: s.rows, top1: s.rows ? s.agree / s.rows : null,
    };
  }
  await sf.release();
  await sq.release();
  console.log(JSON.stringify({ outputs, files: files.length, opt }, null, 1));
}

main().catch((e) => {
  console.error(`compare_ort: ${e && e.message ? e.message : e}`);
  process.exit(1);
});
