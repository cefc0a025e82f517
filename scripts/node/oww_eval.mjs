#!/usr/bin/env node
// openWakeWord pipeline in onnxruntime-node: FP32 vs INT8 embedding / wake-word models.
//
// usage: node oww_eval.mjs SIGNAL.npy --mel MEL.onnx --emb EMB.onnx --ww WW.onnx
//          [--test-emb EMB_INT8.onnx ...] [--test-ww WW_INT8.onnx ...]
//          [--dump-calib DIR] [--threads N]
//
// Pipeline (openwakeword/utils.py AudioFeatures, whole signal at once):
//   SIGNAL.npy float32 samples in [-1,1] at 16 kHz -> x 32767 (the models take
//   int16-scaled audio) -> melspectrogram model, input [1, samples] ->
//   mel = out/10 + 2, [T, 32] -> embedding model on windows of 76 mel frames,
//   step 8, input [1,76,32,1] -> 96-d embeddings -> wake-word model on the
//   last 16 embeddings, input [1,16,96] -> score per embedding step.
// Prints one JSON line for the FP32 pipeline, then one per --test-emb model
// (INT8 embedding + FP32 wake-word model: fidelity of the embeddings) and
// per --test-ww model (FP32 embeddings + INT8 wake-word model: fidelity of
// the scores). metric "agreement" = fraction of score steps where
// (score > 0.5) equals the FP32 pipeline's; also max_score, detections (steps
// with score > 0.5), cosine, sqnr_db, latency_ms_median (of the tested
// model, per window).
// --dump-calib DIR writes calibration samples from the FP32 pipeline:
// DIR/emb/NNNNN.npy (embedding inputs) and DIR/ww/NNNNN.npy (wake-word
// inputs), for `onnxq quantize --data DIR/emb` etc.

import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';

import { createSession, ort } from './ort_util.mjs';
import { readNpy, encodeNpy } from './ort_run.mjs';

const WIN = 76;
const STEP = 8;
const CTX = 16;

function usage(msg) {
  if (msg) console.error(`oww_eval: ${msg}`);
  console.error('usage: node oww_eval.mjs SIGNAL.npy --mel MEL --emb EMB --ww WW [--test-emb M ...] ' +
                '[--test-ww M ...] [--dump-calib DIR] [--threads N]');
  process.exit(2);
}

function parseArgs(argv) {
  const o = { signal: null, mel: null, emb: null, ww: null, testEmb: [], testWw: [], dump: null, threads: 2 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => {
      if (i + 1 >= argv.length) usage(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--mel') o.mel = val();
    else if (a === '--emb') o.emb = val();
    else if (a === '--ww') o.ww = val();
    else if (a === '--test-emb') o.testEmb.push(val());
    else if (a === '--test-ww') o.testWw.push(val());
    else if (a === '--dump-calib') o.dump = val();
    else if (a === '--threads') o.threads = Number(val());
    else if (a.startsWith('-')) usage(`unknown option ${a}`);
    else if (o.signal === null) o.signal = a;
    else usage(`unexpected argument ${a}`);
  }
  if (!o.signal || !o.mel || !o.emb || !o.ww) usage('SIGNAL, --mel, --emb and --ww are required');
  return o;
}

const median = (t) => {
  const s = [...t].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
};

async function melFrames(model, samples, threads) {
  const s = await createSession(model, { threads });
  const x = new Float32Array(samples.length);
  for (let i = 0; i < x.length; i++) x[i] = samples[i] * 32767;
  const out = await s.run({ [s.inputNames[0]]: new ort.Tensor('float32', x, [1, x.length]) });
  const y = out[s.outputNames[0]];
  await s.release();
  const d = y.dims.map(Number);
  const F = d[d.length - 1];
  const T = y.data.length / F;
  const mel = new Float32Array(y.data.length);
  for (let i = 0; i < mel.length; i++) mel[i] = y.data[i] / 10 + 2;
  return { mel, T, F };
}

function embWindows({ mel, T, F }) {
  const wins = [];
  for (let s = 0; s + WIN <= T; s += STEP) {
    wins.push(new ort.Tensor('float32', mel.slice(s * F, (s + WIN) * F), [1, WIN, F, 1]));
  }
  return wins;
}

async function runEach(model, inputs, threads) {
  const s = await createSession(model, { threads });
  const name = s.inputNames[0];
  const outs = [];
  const times = [];
  for (const x of inputs) {
    const t0 = performance.now();
    const r = await s.run({ [name]: x });
    times.push(performance.now() - t0);
    outs.push(Float32Array.from(r[s.outputNames[0]].data));
  }
  await s.release();
  return { outs, latency: median(times) };
}

function wwWindows(embs) {
  const D = embs[0].length;
  const wins = [];
  for (let j = CTX - 1; j < embs.length; j++) {
    const a = new Float32Array(CTX * D);
    for (let k = 0; k < CTX; k++) a.set(embs[j - CTX + 1 + k], k * D);
    wins.push(new ort.Tensor('float32', a, [1, CTX, D]));
  }
  return wins;
}

function fidelity(ref, test) {
  let dot = 0;
  let aa = 0;
  let bb = 0;
  let ee = 0;
  for (let i = 0; i < ref.length; i++) {
    for (let k = 0; k < ref[i].length; k++) {
      const a = ref[i][k];
      const b = test[i][k];
      dot += a * b;
      aa += a * a;
      bb += b * b;
      ee += (a - b) * (a - b);
    }
  }
  return {
    cosine: aa > 0 && bb > 0 ? Number((dot / Math.sqrt(aa * bb)).toFixed(6)) : 0,
    sqnr_db: ee > 0 ? Number((10 * Math.log10(aa / ee)).toFixed(2)) : 'inf',
  };
}

function scoreStats(scores, refScores) {
  const s = scores.map((o) => o[0]);
  let agree = 0;
  let det = 0;
  for (let i = 0; i < s.length; i++) {
    if (s[i] > 0.5) det++;
    if (refScores && (s[i] > 0.5) === (refScores[i] > 0.5)) agree++;
  }
  return {
    metric: 'agreement', value: refScores ? Number((agree / s.length).toFixed(6)) : 1, n: s.length,
    max_score: Number(Math.max(...s).toFixed(6)), detections: det,
  };
}

function writeNpy(file, tensor) {
  fs.writeFileSync(`${file}.tmp`, encodeNpy(tensor));
  fs.renameSync(`${file}.tmp`, file);
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const sig = readNpy(o.signal);
  const mel = await melFrames(o.mel, sig.data, o.threads);
  const ew = embWindows(mel);
  if (ew.length < CTX) throw new Error(`signal too short: ${ew.length} embedding windows, need ${CTX}`);
  const emb = await runEach(o.emb, ew, o.threads);
  const ww = wwWindows(emb.outs);
  const sc = await runEach(o.ww, ww, o.threads);
  const refScores = sc.outs.map((v) => v[0]);
  console.log(JSON.stringify({
    kind: 'oww', model: `${o.emb} + ${o.ww}`, ...scoreStats(sc.outs, null),
    emb_windows: ew.length, latency_ms_median: Number(emb.latency.toFixed(4)),
    ww_latency_ms_median: Number(sc.latency.toFixed(4)),
  }));

  if (o.dump) {
    for (const [sub, xs] of [['emb', ew], ['ww', ww]]) {
      const d = path.join(o.dump, sub);
      fs.mkdirSync(d, { recursive: true });
      xs.forEach((x, i) => writeNpy(path.join(d, `${String(i).padStart(5, '0')}.npy`), x));
    }
  }

  for (const m of o.testEmb) {
    const e = await runEach(m, ew, o.threads);
    const s = await runEach(o.ww, wwWindows(e.outs), o.threads);
    console.log(JSON.stringify({
      kind: 'oww', model: m, test: 'embedding', ...scoreStats(s.outs, refScores), ...fidelity(emb.outs, e.outs),
      latency_ms_median: Number(e.latency.toFixed(4)),
    }));
  }
  for (const m of o.testWw) {
    const s = await runEach(m, ww, o.threads);
    console.log(JSON.stringify({
      kind: 'oww', model: m, test: 'wakeword', ...scoreStats(s.outs, refScores), ...fidelity(sc.outs, s.outs),
      latency_ms_median: Number(s.latency.toFixed(4)),
    }));
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  main().catch((e) => {
    console.error(`oww_eval: ${e && e.message ? e.message : e}`);
    process.exit(1);
  });
}
