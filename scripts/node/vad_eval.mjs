#!/usr/bin/env node
// Silero VAD v5, frame by frame in onnxruntime-node: FP32 vs INT8 agreement.
//
// usage: node vad_eval.mjs SIGNAL.npy FP32.onnx [INT8.onnx ...] [--threads N]
//          [--sr 16000|8000] [--dump-calib DIR [--every K]]
//
// SIGNAL.npy: float32 samples in [-1, 1] at 16 kHz (scripts/eval/vad_eval.py
// signal). Every model gets consecutive 512-sample frames (input [1,512]),
// its own state carried from frame to frame (state [2,1,128], zeros at the
// start) and sr = 16000 (int64 scalar). --sr 8000 runs the model's other
// branch (silero v5 keeps separate 8 kHz weights in an If): the signal is
// decimated 2:1 (mean of each sample pair, a crude low-pass) and frames are
// 256 samples. Prints one JSON line per model (with "sr"):
//   FP32: {kind:"vad", model, metric:"agreement", value:1, n, speech_fraction,
//          latency_ms_median}
//   INT8: value = fraction of frames where (p > 0.5) equals FP32's, plus
//          cosine and sqnr_db of the probability sequence vs FP32's and
//          max_abs_diff.
// --dump-calib DIR writes every K-th frame (default 4) of the FP32 run as a
// calibration sample for `onnxq quantize --data DIR` (one folder per input):
// DIR/input/NNNNN.npy, DIR/state/NNNNN.npy (the state carried into that
// frame), DIR/sr/NNNNN.npy.

import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';

import { createSession, ort } from './ort_util.mjs';
import { readNpy, encodeNpy } from './ort_run.mjs';

const FRAME = { 16000: 512, 8000: 256 };

function usage(msg) {
  if (msg) console.error(`vad_eval: ${msg}`);
  console.error('usage: node vad_eval.mjs SIGNAL.npy FP32.onnx [INT8.onnx ...] [--threads N] [--sr 16000|8000] [--dump-calib DIR [--every K]]');
  process.exit(2);
}

function parseArgs(argv) {
  const o = { signal: null, models: [], threads: 2, dump: null, every: 4, sr: 16000 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => {
      if (i + 1 >= argv.length) usage(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--threads') o.threads = Number(val());
    else if (a === '--dump-calib') o.dump = val();
    else if (a === '--sr') {
      o.sr = Number(val());
      if (!FRAME[o.sr]) usage('--sr must be 16000 or 8000');
    }
    else if (a === '--every') o.every = Math.max(1, Number(val()));
    else if (a.startsWith('-')) usage(`unknown option ${a}`);
    else if (o.signal === null) o.signal = a;
    else o.models.push(a);
  }
  if (o.signal === null || o.models.length === 0) usage('need SIGNAL.npy and at least one model');
  return o;
}

function writeNpy(file, tensor) {
  fs.writeFileSync(`${file}.tmp`, encodeNpy(tensor));
  fs.renameSync(`${file}.tmp`, file);
}

// Runs the model over the whole signal; returns per-frame probabilities and latencies.
export async function runVad(model, samples, { threads = 2, dump = null, every = 4, rate = 16000 } = {}) {
  const session = await createSession(model, { threads });
  const names = [...session.inputNames];
  for (const need of ['input', 'state', 'sr']) {
    if (!names.includes(need)) throw new Error(`${model}: no input '${need}' (inputs: ${names.join(', ')})`);
  }
  const [outName, stateName] = session.outputNames;
  const sr = new ort.Tensor('int64', BigInt64Array.from([BigInt(rate)]), []);
  const frame = FRAME[rate];
  if (!frame) throw new Error(`sample rate ${rate}: 16000 or 8000`);
  let state = new ort.Tensor('float32', new Float32Array(2 * 128), [2, 1, 128]);
  const n = Math.floor(samples.length / frame);
  const probs = new Float64Array(n);
  const times = [];
  if (dump) for (const d of ['input', 'state', 'sr']) fs.mkdirSync(path.join(dump, d), { recursive: true });
  let dumped = 0;
  for (let f = 0; f < n; f++) {
    const x = new ort.Tensor('float32', samples.slice(f * frame, (f + 1) * frame), [1, frame]);
    if (dump && f % every === 0) {
      const id = String(dumped++).padStart(5, '0');
      writeNpy(path.join(dump, 'input', `${id}.npy`), x);
      writeNpy(path.join(dump, 'state', `${id}.npy`), state);
      writeNpy(path.join(dump, 'sr', `${id}.npy`), sr);
    }
    const t0 = performance.now();
    const out = await session.run({ input: x, state, sr });
    times.push(performance.now() - t0);
    probs[f] = out[outName].data[0];
    state = out[stateName];
  }
  await session.release();
  times.sort((a, b) => a - b);
  return { probs, latency: times[Math.floor(times.length / 2)], dumped };
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const sig = readNpy(o.signal);
  if (sig.type !== 'float32') throw new Error(`${o.signal}: expected float32 samples, got ${sig.type}`);
  let samples = sig.data;
  if (o.sr === 8000) {
    const half = new Float32Array(Math.floor(samples.length / 2));
    for (let k = 0; k < half.length; k++) half[k] = 0.5 * (samples[2 * k] + samples[2 * k + 1]);
    samples = half;
  }
  let ref = null;
  for (const [i, model] of o.models.entries()) {
    const r = await runVad(model, samples, { threads: o.threads, dump: i === 0 ? o.dump : null, every: o.every, rate: o.sr });
    const n = r.probs.length;
    let speech = 0;
    for (const p of r.probs) if (p > 0.5) speech++;
    const res = { kind: 'vad', model, sr: o.sr, metric: 'agreement', value: 1, n, speech_fraction: Number((speech / n).toFixed(6)) };
    if (i === 0) {
      ref = r.probs;
    } else {
      let agree = 0;
      let dot = 0;
      let aa = 0;
      let bb = 0;
      let ee = 0;
      let mad = 0;
      for (let k = 0; k < n; k++) {
        const a = ref[k];
        const b = r.probs[k];
        if ((a > 0.5) === (b > 0.5)) agree++;
        dot += a * b;
        aa += a * a;
        bb += b * b;
        ee += (a - b) * (a - b);
        mad = Math.max(mad, Math.abs(a - b));
      }
      res.value = Number((agree / n).toFixed(6));
      res.cosine = aa > 0 && bb > 0 ? Number((dot / Math.sqrt(aa * bb)).toFixed(6)) : 0;
      res.sqnr_db = ee > 0 ? Number((10 * Math.log10(aa / ee)).toFixed(2)) : 'inf';
      res.max_abs_diff = Number(mad.toFixed(6));
    }
    res.latency_ms_median = Number(r.latency.toFixed(4));
    if (i === 0 && o.dump) res.calib_samples = r.dumped;
    console.log(JSON.stringify(res));
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  main().catch((e) => {
    console.error(`vad_eval: ${e && e.message ? e.message : e}`);
    process.exit(1);
  });
}
