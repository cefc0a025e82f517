#!/usr/bin/env node
// Usage: node passes_compare.mjs A.onnx B.onnx [--atol X] [--rtol Y] [--exact]
//                               [--opt all|basic|disabled] [--dim SPEC ...]
//                               [--seed N] [--feeds DIR]
//        node passes_compare.mjs --expect DIR MODEL.onnx [--atol X] [--rtol Y]
//        node passes_compare.mjs --batch LIST [--atol X] [--rtol Y]
//
// The second form runs MODEL on DIR/input_K.pb (ONNX test data) and compares
// its outputs, in graph output order, with DIR/output_K.pb. The third does
// that for every line "MODEL<TAB>DIR" of the file LIST in one process and
// prints "PASS MODEL DIR" or "FAIL MODEL DIR: why" per line, then
// "N passed, M failed".
//
// Runs A and B in onnxruntime-node on the same deterministic inputs (built
// from A's input metadata by scripts/node/ort_util.mjs, or read from
// DIR/input_K.pb ONNX test-data files with --feeds) and compares every
// output of A with B's output of the same name:
//   --exact      bit-identical (default when no tolerance is given)
//   --atol X     |a - b| <= X + Y * |a| elementwise for float outputs;
//   --rtol Y     other dtypes must be identical
// --opt picks ORT's graph optimization level for both sessions (default
// 'disabled', so ORT's own fusions do not blur the comparison).
// Prints one line per output with the max abs diff, then RESULT.
// Exit status: 0 all within tolerance, 1 some output differs, 2 usage or
// run error.

import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const util = await import(path.join(here, '..', '..', 'scripts', 'node', 'ort_util.mjs'));
const { createSession, makeInputs, parseDimSpec, ort } = util;
ort.env.logLevel = 'error';

function usage(msg) {
  if (msg) console.error(`passes_compare: ${msg}`);
  console.error('usage: node passes_compare.mjs A.onnx B.onnx [--atol X] [--rtol Y] [--exact] [--opt LEVEL] [--dim SPEC] [--seed N] [--feeds DIR]');
  process.exit(2);
}

function parseArgs(argv) {
  const o = { files: [], atol: null, rtol: 0, exact: false, opt: 'disabled', seed: 1, feeds: null, expect: null,
    batch: null,
    dims: { byName: new Map(), byAxis: new Map() } };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => {
      if (i + 1 >= argv.length) usage(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--atol') o.atol = Number(val());
    else if (a === '--rtol') o.rtol = Number(val());
    else if (a === '--exact') o.exact = true;
    else if (a === '--opt') o.opt = val();
    else if (a === '--seed') o.seed = Number(val());
    else if (a === '--dim') parseDimSpec(val(), o.dims);
    else if (a === '--feeds') o.feeds = val();
    else if (a === '--expect') o.expect = val();
    else if (a === '--batch') o.batch = val();
    else if (a.startsWith('-')) usage(`unknown option ${a}`);
    else o.files.push(a);
  }
  if (o.batch !== null) {
    if (o.files.length) usage('--batch takes no model files');
    if (o.atol === null) o.exact = true;
    return o;
  }
  if (o.expect !== null) {
    if (o.files.length !== 1) usage('--expect takes one model file');
    o.files.unshift(null);
    o.feeds = o.expect;
  } else if (o.files.length !== 2) usage('need two model files');
  if (o.atol === null) o.exact = true;
  return o;
}

// ---- minimal TensorProto reader (ONNX test data .pb files) ----------------

function readVarint(buf, pos) {
  let v = 0n;
  let shift = 0n;
  for (;;) {
    const b = buf[pos.p++];
    v |= BigInt(b & 0x7f) << shift;
    if (!(b & 0x80)) return v;
    shift += 7n;
  }
}

// data type -> [ORT type, typed array, bytes, typed field: 'i32' int32_data,
// 'u64' uint64_data, 'f' float_data, 'i64' int64_data, 'd' double_data]
const PB_TYPES = {
  1: ['float32', Float32Array, 4, 'f'], 2: ['uint8', Uint8Array, 1, 'i32'], 3: ['int8', Int8Array, 1, 'i32'],
  4: ['uint16', Uint16Array, 2, 'i32'], 5: ['int16', Int16Array, 2, 'i32'], 6: ['int32', Int32Array, 4, 'i32'],
  7: ['int64', BigInt64Array, 8, 'i64'], 9: ['bool', Uint8Array, 1, 'i32'], 10: ['float16', Uint16Array, 2, 'i32'],
  11: ['float64', Float64Array, 8, 'd'], 12: ['uint32', Uint32Array, 4, 'u64'], 13: ['uint64', BigUint64Array, 8, 'u64'],
};

function readTensorPb(file) {
  const buf = fs.readFileSync(file);
  const pos = { p: 0 };
  const dims = [];
  let dt = 0;
  let raw = null;
  const floats = [];
  const ints = [];
  const int64s = [];
  const uint64s = [];
  const doubles = [];
  const strings = [];
  while (pos.p < buf.length) {
    const key = Number(readVarint(buf, pos));
    const field = key >> 3;
    const wire = key & 7;
    if (wire === 0) {
      const v = readVarint(buf, pos);
      if (field === 1) dims.push(Number(v));
      else if (field === 2) dt = Number(v);
      else if (field === 5) ints.push(Number(BigInt.asIntN(32, v)));
      else if (field === 7) int64s.push(BigInt.asIntN(64, v));
      else if (field === 11) uint64s.push(BigInt.asUintN(64, v));
    } else if (wire === 2) {
      const len = Number(readVarint(buf, pos));
      const body = buf.subarray(pos.p, pos.p + len);
      pos.p += len;
      const sub = { p: 0 };
      if (field === 9) raw = body;
      else if (field === 1) while (sub.p < body.length) dims.push(Number(readVarint(body, sub)));
      else if (field === 4) for (let k = 0; k + 4 <= body.length; k += 4) floats.push(body.readFloatLE(k));
      else if (field === 5) while (sub.p < body.length) ints.push(Number(BigInt.asIntN(32, readVarint(body, sub))));
      else if (field === 7) while (sub.p < body.length) int64s.push(BigInt.asIntN(64, readVarint(body, sub)));
      else if (field === 10) for (let k = 0; k + 8 <= body.length; k += 8) doubles.push(body.readDoubleLE(k));
      else if (field === 11) while (sub.p < body.length) uint64s.push(BigInt.asUintN(64, readVarint(body, sub)));
      else if (field === 6) strings.push(body.toString('utf8'));
    } else if (wire === 5) {
      if (field === 4) floats.push(buf.readFloatLE(pos.p));
      pos.p += 4;
    } else if (wire === 1) {
      if (field === 10) doubles.push(buf.readDoubleLE(pos.p));
      pos.p += 8;
    } else {
      throw new Error(`${file}: unsupported wire type ${wire}`);
    }
  }
  if (dt === 8) return new ort.Tensor('string', strings, dims);
  const t = PB_TYPES[dt];
  if (!t) throw new Error(`${file}: unsupported data type ${dt}`);
  const [type, Arr, size, field] = t;
  let data;
  if (raw) {
    const copy = new Uint8Array(raw.length);
    copy.set(raw);
    data = new Arr(copy.buffer, 0, raw.length / size);
  } else if (field === 'f') data = Float32Array.from(floats);
  else if (field === 'd') data = Float64Array.from(doubles);
  else if (field === 'i64') data = BigInt64Array.from(int64s);
  else if (field === 'u64') data = dt === 13 ? BigUint64Array.from(uint64s) : Uint32Array.from(uint64s, Number);
  else data = Arr.from(ints);
  return new ort.Tensor(type, data, dims);
}

// ---------------------------------------------------------------------------

function maxAbsDiff(a, b) {
  let m = 0;
  let maxA = 0;
  for (let i = 0; i < a.data.length; i++) {
    const x = Number(a.data[i]);
    const y = Number(b.data[i]);
    if (Number.isNaN(x) && Number.isNaN(y)) continue;
    const d = Math.abs(x - y);
    if (Number.isNaN(d) || d > m) m = Number.isNaN(d) ? Infinity : d;
    maxA = Math.max(maxA, Math.abs(x));
  }
  return { m, maxA };
}

function within(a, b, atol, rtol) {
  for (let i = 0; i < a.data.length; i++) {
    const x = Number(a.data[i]);
    const y = Number(b.data[i]);
    if (Number.isNaN(x) && Number.isNaN(y)) continue;
    if (!(Math.abs(x - y) <= atol + rtol * Math.abs(x))) return false;
  }
  return true;
}

// Compare outputs (name -> tensor) of the reference `ref` and `got`; returns
// a list of problems (empty when all agree).
function compareOutputs(ref, got, o, log) {
  const bad = [];
  for (const name of Object.keys(ref)) {
    const a = ref[name];
    const b = got[name];
    if (!b) {
      bad.push(`${name}: missing`);
      continue;
    }
    if (a.type !== b.type || a.dims.join('x') !== b.dims.join('x')) {
      bad.push(`${name}: ${a.type}[${a.dims}] vs ${b.type}[${b.dims}]`);
      continue;
    }
    const isFloat = /^float/.test(a.type);
    const { m, maxA } = isFloat ? maxAbsDiff(a, b) : { m: 0, maxA: 0 };
    const ok = o.exact || !isFloat ? util.compareTensors(a, b).same : within(a, b, o.atol, o.rtol);
    if (log) console.log(`output ${name} ${a.type} [${a.dims}]: max abs diff ${m} (max |a| ${maxA}) ${ok ? 'ok' : 'DIFFERS'}`);
    if (!ok) bad.push(`${name}: max abs diff ${m}`);
  }
  return bad;
}

async function runExpect(model, dir, o) {
  const s = await createSession(model, { graphOptimizationLevel: o.opt });
  try {
    const feeds = {};
    s.inputNames.forEach((name, k) => {
      feeds[name] = readTensorPb(path.join(dir, `input_${k}.pb`));
    });
    const ref = {};
    s.outputNames.forEach((name, k) => {
      ref[name] = readTensorPb(path.join(dir, `output_${k}.pb`));
    });
    return compareOutputs(ref, await s.run(feeds), o, false);
  } finally {
    await s.release();
  }
}

async function batch(o) {
  const lines = fs.readFileSync(o.batch, 'utf8').split('\n').filter((l) => l.trim());
  let passed = 0;
  let failed = 0;
  for (const line of lines) {
    const [model, dir] = line.split('\t');
    let why;
    try {
      const bad = await runExpect(model, dir, o);
      why = bad.length ? bad.join('; ') : null;
    } catch (e) {
      why = String(e && e.message ? e.message : e).split('\n')[0];
    }
    if (why === null) {
      passed++;
      console.log(`PASS ${model} ${dir}`);
    } else {
      failed++;
      console.log(`FAIL ${model} ${dir}: ${why}`);
    }
  }
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed ? 1 : 0);
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  if (o.batch !== null) return batch(o);
  const [pa, pb] = o.files;
  const sopts = { graphOptimizationLevel: o.opt };
  const sb = await createSession(pb, sopts);
  let outA;
  let feeds;
  if (o.expect !== null) {
    feeds = {};
    sb.inputNames.forEach((name, k) => {
      feeds[name] = readTensorPb(path.join(o.feeds, `input_${k}.pb`));
    });
    outA = {};
    sb.outputNames.forEach((name, k) => {
      outA[name] = readTensorPb(path.join(o.expect, `output_${k}.pb`));
    });
  } else {
    const sa = await createSession(pa, sopts);
    if (o.feeds) {
      feeds = {};
      sa.inputNames.forEach((name, k) => {
        feeds[name] = readTensorPb(path.join(o.feeds, `input_${k}.pb`));
      });
    } else {
      feeds = makeInputs(sa, { seed: o.seed, dims: o.dims }).feeds;
    }
    outA = await sa.run(feeds);
    await sa.release();
  }
  const outB = await sb.run(feeds);
  await sb.release();
  const bad = compareOutputs(outA, outB, o, true);
  if (bad.length) {
    console.log(`RESULT: ${bad.length} output(s) differ`);
    process.exit(1);
  }
  console.log('RESULT: all outputs within tolerance');
}

main().catch((e) => {
  console.error(`passes_compare: ${e && e.message ? e.message : e}`);
  process.exit(2);
});
