#!/usr/bin/env node
// Usage: node ort_compare.mjs A.onnx B.onnx [--dim NAME=VALUE | --dim INPUT:AXIS=VALUE ...]
//                            [--seed N] [--threads N]
//
// Runs both models in onnxruntime-node (CPU) on the same deterministic
// pseudo-random inputs (built from A's input metadata) and checks that every
// output of A is bit-identical to the output of the same name in B.
// Exit status: 0 all identical, 1 some output differs, 2 usage or run error.

import { compareTensors, createSession, makeInputs, parseDimSpec } from './ort_util.mjs';

function usage(msg) {
  if (msg) console.error(`ort_compare: ${msg}`);
  console.error('usage: node ort_compare.mjs A.onnx B.onnx [--dim NAME=VALUE|INPUT:AXIS=VALUE ...] [--seed N] [--threads N]');
  process.exit(2);
}

function parseArgs(argv) {
  const opts = { files: [], seed: 1, threads: 2, dims: { byName: new Map(), byAxis: new Map() } };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      const eq = a.indexOf('=');
      if (a.startsWith('--') && eq > 0) return a.slice(eq + 1);
      if (i + 1 >= argv.length) usage(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '-h' || a === '--help') usage();
    else if (a === '--dim' || a.startsWith('--dim=')) parseDimSpec(value(), opts.dims);
    else if (a === '--seed' || a.startsWith('--seed=')) opts.seed = Number(value());
    else if (a === '--threads' || a.startsWith('--threads=')) opts.threads = Number(value());
    else if (a.startsWith('-')) usage(`unknown option ${a}`);
    else opts.files.push(a);
  }
  if (opts.files.length !== 2) usage('need exactly two model files');
  if (!Number.isInteger(opts.seed)) usage('--seed must be an integer');
  if (!Number.isInteger(opts.threads) || opts.threads < 1) usage('--threads must be a positive integer');
  return opts;
}

function fmtShape(s) {
  return `[${s.join(',')}]`;
}

function maxAbsDiff(a, b) {
  if (!/^float(32|64)$/.test(a.type)) return null;
  let m = 0;
  for (let i = 0; i < a.data.length; i++) {
    const d = Math.abs(a.data[i] - b.data[i]);
    if (d > m || Number.isNaN(d)) m = d;
  }
  return m;
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const [pathA, pathB] = opts.files;
  const sessOpts = { threads: opts.threads };

  const sa = await createSession(pathA, sessOpts);
  const { feeds, specs } = makeInputs(sa, { seed: opts.seed, dims: opts.dims });
  for (const s of specs) {
    console.log(`input  ${s.name} ${s.type} ${fmtShape(s.shape)} (declared ${JSON.stringify(s.declaredShape)})`);
  }
  const outA = await sa.run(feeds);
  await sa.release();

  const sb = await createSession(pathB, sessOpts);
  const namesA = specs.map((s) => s.name).sort().join(',');
  const namesB = [...sb.inputNames].sort().join(',');
  if (namesA !== namesB) {
    console.error(`ort_compare: input names differ: A has ${namesA}, B has ${namesB}`);
    process.exit(1);
  }
  const outB = await sb.run(feeds);
  await sb.release();

  let bad = 0;
  const namesOutA = Object.keys(outA);
  for (const name of namesOutA) {
    const a = outA[name];
    const b = outB[name];
    if (!b) {
      console.log(`output ${name} ${a.type} ${fmtShape(a.dims)}: missing in B`);
      bad++;
      continue;
    }
    const r = compareTensors(a, b);
    if (r.same) {
      console.log(`output ${name} ${a.type} ${fmtShape(a.dims)}: identical`);
    } else if (r.differing === null) {
      console.log(`output ${name}: ${r.reason}`);
      bad++;
    } else {
      const m = maxAbsDiff(a, b);
      const extra = m === null ? '' : ` (max abs diff ${m})`;
      console.log(`output ${name} ${a.type} ${fmtShape(a.dims)}: ${r.differing} of ${a.size} elements differ${extra}`);
      bad++;
    }
  }
  for (const name of Object.keys(outB)) {
    if (!(name in outA)) {
      console.log(`output ${name}: only in B`);
      bad++;
    }
  }
  if (bad) {
    console.log(`RESULT: ${bad} output(s) differ`);
    process.exit(1);
  }
  console.log(`RESULT: all ${namesOutA.length} output(s) bit-identical`);
}

main().catch((e) => {
  console.error(`ort_compare: ${e && e.message ? e.message : e}`);
  process.exit(2);
});
