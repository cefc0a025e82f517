#!/usr/bin/env node
// Where onnxruntime spends the time of an INT8 model, island by island,
// against its FP32 original.
//
// usage: node ort_profile.mjs FP32.onnx INT8.onnx --input NAME=FILE.npy ...
//          [--threads N] [--repeat N] [--warmup N] [--keep DIR] [--json]
//
// Both models run in one process with ORT's profiler on (session options
// enableProfiling / profileFilePrefix) and their optimized graphs saved
// (optimizedModelFilePath); runs alternate FP32/INT8 after --warmup untimed
// runs (default 3), --repeat profiled runs each (default 10). Per node, the
// time is the median of its per-run kernel times (the profile's
// "<node>_kernel_time" events inside each timed "model_run").
//
// An island is a connected group of the INT8 graph's integer-domain nodes:
// every QLinear* / ConvInteger / MatMulInteger* / QGemm node and the
// QuantizeLinear, DequantizeLinear, Transpose, ReorderInput and ReorderOutput
// nodes that connect it to float ops (walking from an integer op through
// those node types only; islands that share a node merge). Per island the
// table gives its integer ops' time, the Q/DQ, Transpose and Reorder time
// around them, and the FP32 time of the ops it replaces: the node ORT made of
// the same original conv in the FP32 graph (a fused QDQ op is named
// NAME_token_N after the original node NAME; an NCHWc conv is named after
// the tensor it writes, its own output or that of the activation / Add it
// fused, OUT_nchwc). net = island - FP32 (negative: INT8 wins). The ops
// outside the islands are compared per op type below the table, so that
// costs that moved (an Add the FP32 conv fused, reorders the FP32 graph has
// elsewhere) show. The FP32 side only counts the conv itself, not the
// reorders around it: read net together with the per-op-type rest.
//
// For a like-for-like comparison give as FP32 the model onnxq quantizes
// from, after its graph passes (HardSwish fusion, BatchNorm folding,
// ConvTranspose -> Conv + DepthToSpace), with nothing placed in INT8:
//   onnxq quantize MODEL --calib-table T --op-types None -o prepared.onnx
// (weights stored int8 -> Cast -> Mul, which ORT folds to float at load).
// Both sessions have the profiler on, which adds overhead to model_run.
// Per-node medians resist short load spikes better than model_run, but on
// a machine another job keeps busy every figure moves by tens of percent
// between invocations: compare islands within one invocation, and repeat.
//
// --keep DIR keeps the profiles and optimized graphs (default: a temp dir,
// removed). --json prints the tables as one JSON object instead.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { ort, parseTimingArgs, sessionOptions } from './ort_util.mjs';
import { bindNpyInputs } from './ort_run.mjs';

function usage(msg) {
  if (msg) console.error(`ort_profile: ${msg}`);
  console.error('usage: node ort_profile.mjs FP32.onnx INT8.onnx --input NAME=FILE.npy ... [--threads N] ' +
                '[--repeat N] [--warmup N] [--keep DIR] [--json]');
  process.exit(2);
}

function parseArgs(argv) {
  const o = { threads: 2, repeat: 10, warmup: 3, keep: null, json: false };
  parseTimingArgs(argv, o, usage, (a, val) => {
    if (a === '--keep') o.keep = val();
    else if (a === '--json') o.json = true;
    else return false;
    return true;
  });
  if (o.models.length !== 2) usage('give exactly two models: FP32 and INT8');
  return o;
}

// ------------------------------------------------------------ ONNX graph
// A minimal protobuf reader for the node list of a ModelProto (ModelProto.graph
// = 7, GraphProto.node = 1, NodeProto: input 1, output 2, name 3, op_type 4,
// domain 7). Top-level graph only.

function varint(buf, pos) {
  let v = 0;
  let mul = 1;
  for (;;) {
    if (pos >= buf.length) throw new Error('truncated protobuf');
    const b = buf[pos++];
    v += (b & 0x7f) * mul;
    if (b < 0x80) return [v, pos];
    mul *= 128;
  }
}

function* fields(buf, start = 0, end = buf.length) {
  let pos = start;
  while (pos < end) {
    let key;
    [key, pos] = varint(buf, pos);
    const field = Math.floor(key / 8);
    const wt = key & 7;
    if (wt === 0) {
      let v;
      [v, pos] = varint(buf, pos);
      yield { field, wt, value: v };
    } else if (wt === 1) {
      pos += 8;
    } else if (wt === 5) {
      pos += 4;
    } else if (wt === 2) {
      let len;
      [len, pos] = varint(buf, pos);
      yield { field, wt, start: pos, end: pos + len };
      pos += len;
    } else {
      throw new Error(`unsupported protobuf wire type ${wt}`);
    }
  }
}

function readGraphNodes(file) {
  const buf = fs.readFileSync(file);
  const str = (f) => buf.toString('utf8', f.start, f.end);
  const nodes = [];
  for (const m of fields(buf)) {
    if (m.field !== 7 || m.wt !== 2) continue;
    for (const g of fields(buf, m.start, m.end)) {
      if (g.field !== 1 || g.wt !== 2) continue;
      const n = { name: '', op: '', domain: '', inputs: [], outputs: [] };
      for (const f of fields(buf, g.start, g.end)) {
        if (f.wt !== 2) continue;
        if (f.field === 1) n.inputs.push(str(f));
        else if (f.field === 2) n.outputs.push(str(f));
        else if (f.field === 3) n.name = str(f);
        else if (f.field === 4) n.op = str(f);
        else if (f.field === 7) n.domain = str(f);
      }
      nodes.push(n);
    }
  }
  return nodes;
}

// ------------------------------------------------------------ profiles

const median = (a) => {
  if (a.length === 0) return 0;
  const s = [...a].sort((x, y) => x - y);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

// node name -> { op, us (median per-run kernel time) }, and the runs' medians
function parseProfile(file, skipRuns) {
  const ev = JSON.parse(fs.readFileSync(file, 'utf8'));
  const runs = ev.filter((e) => e.cat === 'Session' && e.name === 'model_run').sort((a, b) => a.ts - b.ts);
  const timed = runs.slice(skipRuns);
  const per = new Map();
  for (const e of ev) {
    if (e.cat !== 'Node' || !e.name.endsWith('_kernel_time')) continue;
    const r = timed.findIndex((m) => e.ts >= m.ts && e.ts <= m.ts + m.dur);
    if (r < 0) continue;
    const name = e.name.slice(0, -'_kernel_time'.length);
    if (!per.has(name)) per.set(name, { op: e.args?.op_name ?? '?', runs: new Array(timed.length).fill(0) });
    per.get(name).runs[r] += e.dur;
  }
  const nodes = new Map();
  for (const [name, v] of per) nodes.set(name, { op: v.op, us: median(v.runs) });
  return { nodes, run_us: median(timed.map((m) => m.dur)), runs: timed.length };
}

// ------------------------------------------------------------ islands

const INT_OPS = /^(QLinear|ConvInteger|MatMulInteger|QGemm|DynamicQuantize|QAttention)/;
const GLUE = new Set(['QuantizeLinear', 'DequantizeLinear', 'Transpose', 'ReorderInput', 'ReorderOutput']);

function islands(nodes) {
  const producer = new Map();
  const consumers = new Map();
  for (const n of nodes) {
    for (const t of n.outputs) producer.set(t, n);
    for (const t of n.inputs) {
      if (!t) continue;
      if (!consumers.has(t)) consumers.set(t, []);
      consumers.get(t).push(n);
    }
  }
  const isInt = (n) => INT_OPS.test(n.op);
  const owner = new Map(); // node -> island id
  const parent = [];
  const find = (i) => (parent[i] === i ? i : (parent[i] = find(parent[i])));
  const union = (a, b) => { parent[find(a)] = find(b); };
  for (const seed of nodes.filter(isInt)) {
    const id = parent.length;
    parent.push(id);
    const stack = [seed];
    const seen = new Set();
    while (stack.length) {
      const n = stack.pop();
      if (seen.has(n)) continue;
      seen.add(n);
      if (owner.has(n)) union(id, owner.get(n));
      else owner.set(n, id);
      // walk through glue and integer ops in both directions; a DQ -> Q
      // pair (a float tensor re-quantized) is not crossed
      for (const t of n.inputs) {
        const p = producer.get(t);
        if (p && (GLUE.has(p.op) || isInt(p)) && !(n.op === 'QuantizeLinear' && p.op === 'DequantizeLinear')) {
          stack.push(p);
        }
      }
      for (const t of n.outputs) {
        for (const c of consumers.get(t) ?? []) {
          if ((GLUE.has(c.op) || isInt(c)) && !(n.op === 'DequantizeLinear' && c.op === 'QuantizeLinear')) stack.push(c);
        }
      }
    }
  }
  const groups = new Map();
  for (const [n, id] of owner) {
    const r = find(id);
    if (!groups.has(r)) groups.set(r, []);
    groups.get(r).push(n);
  }
  return [...groups.values()];
}

// ------------------------------------------------------------ main

const fmt = (us) => (us / 1000).toFixed(2);

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const dir = o.keep ? path.resolve(o.keep) : fs.mkdtempSync(path.join(os.tmpdir(), 'ort_profile-'));
  fs.mkdirSync(dir, { recursive: true });
  const tags = ['fp32', 'int8'];
  const runs = [];
  try {
    for (const [i, model] of o.models.entries()) {
      const so = sessionOptions({ threads: o.threads });
      so.enableProfiling = true;
      so.profileFilePrefix = path.join(dir, `${tags[i]}_prof`);
      so.optimizedModelFilePath = path.join(dir, `${tags[i]}.opt.onnx`);
      const before = new Set(fs.readdirSync(dir));
      const session = await ort.InferenceSession.create(model, so);
      runs.push({ model, session, before, feeds: bindNpyInputs(o.inputs, [...session.inputNames]), tag: tags[i] });
    }
    for (let w = 0; w < o.warmup; w++) for (const r of runs) await r.session.run(r.feeds);
    for (let k = 0; k < o.repeat; k++) for (const r of runs) await r.session.run(r.feeds);
    for (const r of runs) {
      r.session.endProfiling();
      await r.session.release();
    }
    const res = {};
    for (const r of runs) {
      const prof = fs.readdirSync(dir).filter((f) => f.startsWith(`${r.tag}_prof`) && f.endsWith('.json'))
        .sort().pop();
      if (!prof) throw new Error(`no profile written for ${r.model}`);
      res[r.tag] = {
        prof: parseProfile(path.join(dir, prof), o.warmup),
        graph: readGraphNodes(path.join(dir, `${r.tag}.opt.onnx`)),
        source: readGraphNodes(r.model),
      };
    }
    report(o, res);
  } finally {
    if (!o.keep) fs.rmSync(dir, { recursive: true, force: true });
  }
}

function report(o, res) {
  const f = res.fp32.prof.nodes;
  const q = res.int8.prof.nodes;
  // The FP32 node an integer op replaces: ORT names a fused QDQ op after the
  // original node (NAME_token_N) and an NCHWc conv after the tensor it
  // writes (its own output, or that of the activation / Add it fused:
  // OUT_nchwc); follow the original conv's single-reader chain in the FP32
  // model as given to ORT.
  const src = res.fp32.source;
  const prod = new Map();
  const cons = new Map();
  for (const n of src) {
    for (const t of n.outputs) prod.set(t, n);
    for (const t of n.inputs) {
      if (!cons.has(t)) cons.set(t, []);
      cons.get(t).push(n);
    }
  }
  const taken = new Set();
  const matchFp32 = (name) => {
    const base = name.replace(/_(quant|token_\d+)$/, '');
    const cands = [base];
    let n = src.find((x) => x.name === base);
    for (let depth = 0; n && depth < 4; depth++) {
      cands.push(`${n.outputs[0]}_nchwc`, n.outputs[0]);
      const c = cons.get(n.outputs[0]) ?? [];
      n = c.length === 1 ? c[0] : null;
    }
    const hit = cands.find((c) => f.has(c) && !taken.has(c) && /Conv|Gemm|MatMul/.test(f.get(c).op));
    if (hit) taken.add(hit);
    return hit;
  };
  const isl = islands(res.int8.graph);
  const rows = [];
  const inIsland = new Set();
  for (const nodes of isl) {
    const row = { ints: [], fp32: [], int_us: 0, qdq_us: 0, transpose_us: 0, reorder_us: 0, fp32_us: 0, missing: [] };
    for (const n of nodes) {
      inIsland.add(n.name);
      const t = q.get(n.name)?.us ?? 0;
      if (INT_OPS.test(n.op)) {
        row.ints.push(`${n.name}(${n.op.replace('QLinear', 'QL')})`);
        row.int_us += t;
        const fpName = matchFp32(n.name);
        if (fpName) {
          row.fp32_us += f.get(fpName).us;
          row.fp32.push(fpName);
        } else row.missing.push(n.name);
      } else if (n.op === 'QuantizeLinear' || n.op === 'DequantizeLinear') row.qdq_us += t;
      else if (n.op === 'Transpose') row.transpose_us += t;
      else row.reorder_us += t;
    }
    row.total_us = row.int_us + row.qdq_us + row.transpose_us + row.reorder_us;
    row.net_us = row.total_us - row.fp32_us;
    row.nodes = nodes.length;
    rows.push(row);
  }
  rows.sort((a, b) => a.net_us - b.net_us);
  // per op type outside the islands, and the FP32 ops the islands replaced
  const replaced = new Set();
  for (const r of rows) for (const nm of r.fp32) replaced.add(nm);
  const byOp = new Map();
  const add = (op, k, us) => {
    if (!byOp.has(op)) byOp.set(op, { fp32: 0, int8: 0, nf: 0, nq: 0 });
    const e = byOp.get(op);
    e[k] += us;
    e[k === 'fp32' ? 'nf' : 'nq']++;
  };
  for (const [name, v] of f) if (!replaced.has(name)) add(v.op, 'fp32', v.us);
  for (const [name, v] of q) if (!inIsland.has(name)) add(v.op, 'int8', v.us);
  const sum = (m) => [...m.values()].reduce((s, v) => s + v.us, 0);
  const out = {
    fp32_run_ms: res.fp32.prof.run_us / 1000, int8_run_ms: res.int8.prof.run_us / 1000,
    fp32_kernels_ms: sum(f) / 1000, int8_kernels_ms: sum(q) / 1000, runs: res.int8.prof.runs, islands: rows,
    rest: Object.fromEntries([...byOp.entries()].map(([k, v]) => [k, v])),
  };
  if (o.json) {
    console.log(JSON.stringify(out));
    return;
  }
  console.log(`runs: ${out.runs} each, ${o.threads} threads; model_run median FP32 ${out.fp32_run_ms.toFixed(2)} ms, ` +
              `INT8 ${out.int8_run_ms.toFixed(2)} ms (ratio ${(out.int8_run_ms / out.fp32_run_ms).toFixed(3)}); ` +
              `sum of node medians FP32 ${out.fp32_kernels_ms.toFixed(2)}, INT8 ${out.int8_kernels_ms.toFixed(2)} ms`);
  console.log('\nislands (ms, median per run; net = island - FP32 of the same ops; negative = INT8 wins)');
  console.log('  net     island  int    Q/DQ   Transp Reorder FP32   nodes  integer ops');
  let tot = { net: 0, isl: 0, fp: 0 };
  for (const r of rows) {
    tot.net += r.net_us; tot.isl += r.total_us; tot.fp += r.fp32_us;
    console.log(`  ${fmt(r.net_us).padStart(6)} ${fmt(r.total_us).padStart(6)} ${fmt(r.int_us).padStart(6)} ` +
                `${fmt(r.qdq_us).padStart(6)} ${fmt(r.transpose_us).padStart(6)} ${fmt(r.reorder_us).padStart(6)} ` +
                `${fmt(r.fp32_us).padStart(6)} ${String(r.nodes).padStart(5)}  ${r.ints.join(' ')} <- ${r.fp32.join(' ')}` +
                `${r.missing.length ? `  (no FP32 match: ${r.missing.join(' ')})` : ''}`);
  }
  console.log(`  ${fmt(tot.net).padStart(6)} ${fmt(tot.isl).padStart(6)} ${''.padStart(27)} ${fmt(tot.fp).padStart(6)}` +
              '        all islands');
  console.log('\noutside the islands, per op type (ms; FP32 excludes the convs the islands replace)');
  console.log('  op                    FP32 (n)        INT8 (n)        INT8-FP32');
  const ops = [...byOp.entries()].sort((a, b) => Math.abs(b[1].int8 - b[1].fp32) - Math.abs(a[1].int8 - a[1].fp32));
  let dr = 0;
  for (const [op, v] of ops) {
    dr += v.int8 - v.fp32;
    console.log(`  ${op.padEnd(20)} ${fmt(v.fp32).padStart(7)} (${String(v.nf).padStart(3)})  ` +
                `${fmt(v.int8).padStart(7)} (${String(v.nq).padStart(3)})  ${fmt(v.int8 - v.fp32).padStart(7)}`);
  }
  console.log(`  ${'total'.padEnd(20)} ${''.padStart(31)} ${fmt(dr).padStart(7)}`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  main().catch((e) => {
    console.error(`ort_profile: ${e && e.stack ? e.stack : e}`);
    process.exit(1);
  });
}
