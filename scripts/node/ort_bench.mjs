#!/usr/bin/env node
// A/B latency of several models on the same inputs in onnxruntime-node, and
// the graphs ORT actually runs.
//
// usage: node ort_bench.mjs MODEL [MODEL ...] --input NAME=FILE.npy ...
//          [--threads N] [--repeat N] [--warmup N] [--save-optimized PATH ...]
//
// Every model gets the same inputs (--input as in ort_run.mjs; NAME may be
// left out for single-input models). Sessions use ort_util.mjs's options
// (CPU, intraOpNumThreads N (default 2), graphOptimizationLevel 'all').
// Runs are interleaved (A B A B ...) after --warmup untimed runs of each
// (default 5), so that load changes on a busy machine hit all models alike;
// --repeat timed runs each (default 20). The i-th --save-optimized PATH is
// passed to the i-th model's session as optimizedModelFilePath: ORT writes
// the optimized graph it runs there ('' = do not save that model's graph).
// Prints one JSON line per model:
//   {model, latency_ms_median, latency_ms_min, runs, threads, optimized}

import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';

import { ort, parseTimingArgs, sessionOptions } from './ort_util.mjs';
import { bindNpyInputs } from './ort_run.mjs';

function usage(msg) {
  if (msg) console.error(`ort_bench: ${msg}`);
  console.error('usage: node ort_bench.mjs MODEL [MODEL ...] --input NAME=FILE.npy ... [--threads N] ' +
                '[--repeat N] [--warmup N] [--save-optimized PATH ...]');
  process.exit(2);
}

function parseArgs(argv) {
  const o = { threads: 2, repeat: 20, warmup: 5, optimized: [] };
  parseTimingArgs(argv, o, usage, (a, val) => {
    if (a !== '--save-optimized') return false;
    o.optimized.push(val());
    return true;
  });
  if (o.models.length === 0) usage('no model given');
  if (o.optimized.length > o.models.length) usage('more --save-optimized paths than models');
  return o;
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const runs = [];
  for (const [i, model] of o.models.entries()) {
    const so = sessionOptions({ threads: o.threads });
    if (o.optimized[i]) so.optimizedModelFilePath = path.resolve(o.optimized[i]);
    const session = await ort.InferenceSession.create(model, so);
    runs.push({ model, session, feeds: bindNpyInputs(o.inputs, [...session.inputNames]), times: [] });
  }
  for (let w = 0; w < o.warmup; w++) for (const r of runs) await r.session.run(r.feeds);
  for (let k = 0; k < o.repeat; k++) {
    for (const r of runs) {
      const t0 = performance.now();
      await r.session.run(r.feeds);
      r.times.push(performance.now() - t0);
    }
  }
  for (const [i, r] of runs.entries()) {
    await r.session.release();
    const t = [...r.times].sort((a, b) => a - b);
    console.log(JSON.stringify({
      model: r.model, latency_ms_median: Number(t[Math.floor(t.length / 2)].toFixed(4)),
      latency_ms_min: Number(t[0].toFixed(4)), runs: t.length, threads: o.threads,
      optimized: o.optimized[i] ?? null,
    }));
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  main().catch((e) => {
    console.error(`ort_bench: ${e && e.message ? e.message : e}`);
    process.exit(1);
  });
}
