#!/usr/bin/env node
// Usage: node ort_run.mjs MODEL --input NAME=FILE.npy ... [--output DIR]
//                        [--threads N] [--repeat N] [--warmup N]
//
// Runs MODEL in onnxruntime-node (CPU execution provider, intraOpNumThreads=N
// (default 2), interOpNumThreads=1, graphOptimizationLevel 'all') on inputs
// read from NumPy .npy files: the reference side of onnxq's `run` command.
//   --input NAME=FILE  one per graph input; NAME may be left out for a
//                      single-input model. The name is matched first as a
//                      whole (names may contain '='), then up to the last '='.
//   --output DIR       writes every graph output as DIR/NAME.npy, with '/',
//                      '\', ':' and ' ' in NAME replaced by '_' (as onnxq run)
//   --warmup N         untimed runs before the timed ones (default 0)
//   --repeat N         timed runs (default 1); outputs come from the last one
// Prints one line per output (name, type, shape, min/max/mean), then
//   latency_ms: median X min Y (R runs, T threads)
//   peak_rss_kb: N          (process.resourceUsage().maxRSS: node + ORT)
// .npy support (read and write): float32, float64, int64, int32, uint8, int8,
// bool, little-endian, C order, format versions 1.0/2.0/3.0.
// Exit status: 0 ok, 1 run error, 2 usage error.

import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { performance } from 'node:perf_hooks';

import { createSession, ort } from './ort_util.mjs';

function usage(msg) {
  if (msg) console.error(`ort_run: ${msg}`);
  console.error('usage: node ort_run.mjs MODEL --input NAME=FILE.npy ... [--output DIR] [--threads N] [--repeat N] [--warmup N]');
  process.exit(2);
}

// ---------------------------------------------------------------------------
// .npy codec

// numpy descr (without byte-order char) <-> ORT type and typed array
const NPY_TYPES = {
  f4: { type: 'float32', Array: Float32Array },
  f8: { type: 'float64', Array: Float64Array },
  i8: { type: 'int64', Array: BigInt64Array },
  i4: { type: 'int32', Array: Int32Array },
  u1: { type: 'uint8', Array: Uint8Array },
  i1: { type: 'int8', Array: Int8Array },
  b1: { type: 'bool', Array: Uint8Array },
};
const ORT_TO_DESCR = {
  float32: '<f4', float64: '<f8', int64: '<i8', int32: '<i4', uint8: '|u1', int8: '|i1', bool: '|b1',
};

export function readNpy(file) {
  const buf = fs.readFileSync(file);
  const bad = (why) => new Error(`${file}: not a supported .npy file: ${why}`);
  if (buf.length < 10 || buf.readUInt32BE(0) !== 0x934e554d || buf.toString('latin1', 4, 6) !== 'PY') {
    throw bad('bad magic');
  }
  const major = buf[6];
  let hlen;
  let off;
  if (major === 1) {
    hlen = buf.readUInt16LE(8);
    off = 10;
  } else if (major === 2 || major === 3) {
    if (buf.length < 12) throw bad('truncated header');
    hlen = buf.readUInt32LE(8);
    off = 12;
  } else {
    throw bad(`format version ${major}`);
  }
  if (off + hlen > buf.length) throw bad('truncated header');
  const header = buf.toString(major === 3 ? 'utf8' : 'latin1', off, off + hlen);
  const descr = /'descr'\s*:\s*'([^']*)'/.exec(header);
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header);
  const shapeM = /'shape'\s*:\s*\(([^)]*)\)/.exec(header);
  if (!descr || !fortran || !shapeM) throw bad(`cannot parse header ${JSON.stringify(header)}`);
  if (fortran[1] === 'True') throw bad('Fortran order');
  const d = descr[1];
  const order = d[0];
  const kind = d.slice(1);
  const info = NPY_TYPES[kind];
  if (!info || !'<|='.includes(order) || (order === '|' && !['u1', 'i1', 'b1'].includes(kind))) {
    throw bad(`dtype '${d}'`);
  }
  const shape = shapeM[1].split(',').map((s) => s.trim()).filter((s) => s !== '').map(Number);
  if (shape.some((n) => !Number.isInteger(n) || n < 0)) throw bad(`shape (${shapeM[1]})`);
  const count = shape.reduce((a, b) => a * b, 1);
  const dataOff = off + hlen;
  const nbytes = count * info.Array.BYTES_PER_ELEMENT;
  if (buf.length - dataOff < nbytes) throw bad(`data holds ${buf.length - dataOff} bytes, shape needs ${nbytes}`);
  // copy into a fresh, aligned buffer
  const data = new info.Array(count);
  new Uint8Array(data.buffer).set(buf.subarray(dataOff, dataOff + nbytes));
  if (info.type === 'bool') for (let i = 0; i < count; i++) data[i] = data[i] ? 1 : 0;
  return new ort.Tensor(info.type, data, shape);
}

/* --input specs ("NAME=FILE.npy", or "FILE.npy" for a one-input model) to
 * feeds for a session with input names `names`; the longest matching name
 * wins, so names that prefix each other bind correctly. */
export function bindNpyInputs(specs, names) {
  const feeds = {};
  for (const spec of specs) {
    let name = null;
    let file = spec;
    for (const n of names) {
      if (spec.startsWith(`${n}=`) && (name === null || n.length > name.length)) name = n;
    }
    if (name !== null) file = spec.slice(name.length + 1);
    else if (names.length === 1) name = names[0];
    else throw new Error(`cannot bind --input ${spec} (inputs: ${names.join(', ')})`);
    feeds[name] = readNpy(file);
  }
  for (const n of names) if (!(n in feeds)) throw new Error(`input '${n}' is not given`);
  return feeds;
}

export function encodeNpy(tensor) {
  const descr = ORT_TO_DESCR[tensor.type];
  if (!descr) throw new Error(`cannot write element type '${tensor.type}' as .npy`);
  const dims = tensor.dims.map(Number);
  const shapeStr = dims.length === 0 ? '()' : dims.length === 1 ? `(${dims[0]},)` : `(${dims.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shapeStr}, }`;
  // total header (magic 6 + version 2 + len 2 + text + '\n') aligned to 64
  const pad = (64 - ((10 + header.length + 1) % 64)) % 64;
  header = header + ' '.repeat(pad) + '\n';
  if (header.length > 0xffff) throw new Error('npy header too long');
  const pre = Buffer.alloc(10);
  pre.writeUInt32BE(0x934e554d, 0);
  pre.write('PY', 4, 'latin1');
  pre[6] = 1;
  pre[7] = 0;
  pre.writeUInt16LE(header.length, 8);
  const d = tensor.data;
  let body = Buffer.from(d.buffer, d.byteOffset, d.byteLength);
  if (tensor.type === 'bool') body = Buffer.from(Uint8Array.from(d, (v) => (v ? 1 : 0)));
  return Buffer.concat([pre, Buffer.from(header, 'latin1'), body]);
}

// Same mapping as onnxq run's output file names.
export function safeName(name) {
  let s = name.replace(/[/\\: ]/g, '_');
  if (Buffer.byteLength(s) > 511) s = Buffer.from(s).subarray(0, 511).toString('latin1');
  if (s === '' || s === '.' || s === '..') s = 'output';
  return s;
}

// ---------------------------------------------------------------------------

function parseArgs(argv) {
  const opts = { model: null, inputs: [], output: null, threads: 2, repeat: 1, warmup: 0 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      const eq = a.indexOf('=');
      if (a.startsWith('--') && eq > 0) return a.slice(eq + 1);
      if (i + 1 >= argv.length) usage(`${a} needs a value`);
      return argv[++i];
    };
    const count = (min) => {
      const v = Number(value());
      if (!Number.isInteger(v) || v < min) usage(`${a.replace(/=.*/, '')} takes an integer >= ${min}`);
      return v;
    };
    if (a === '-h' || a === '--help') usage();
    else if (a === '--input' || a.startsWith('--input=')) opts.inputs.push(value());
    else if (a === '--output' || a.startsWith('--output=')) opts.output = value();
    else if (a === '--threads' || a.startsWith('--threads=')) opts.threads = count(1);
    else if (a === '--repeat' || a.startsWith('--repeat=')) opts.repeat = count(1);
    else if (a === '--warmup' || a.startsWith('--warmup=')) opts.warmup = count(0);
    else if (a.startsWith('-') && a !== '-') usage(`unknown option ${a}`);
    else if (opts.model === null) opts.model = a;
    else usage(`unexpected argument '${a}'`);
  }
  if (opts.model === null) usage('no model given');
  return opts;
}

function bindInputs(specs, inputNames) {
  const files = {};
  for (const spec of specs) {
    let name = null;
    let file = spec;
    if (spec.includes('=')) {
      // longest input name that the spec starts with, followed by '='
      for (const n of inputNames) {
        if (spec.startsWith(`${n}=`) && (name === null || n.length > name.length)) name = n;
      }
      if (name !== null) file = spec.slice(name.length + 1);
      else if (inputNames.length === 1 && fs.existsSync(spec)) name = inputNames[0];
      else throw new Error(`the model has no input named '${spec.slice(0, spec.lastIndexOf('='))}' (inputs: ${inputNames.join(', ')})`);
    } else if (inputNames.length === 1) {
      name = inputNames[0];
    } else {
      throw new Error(`the model has ${inputNames.length} inputs: name each one (--input NAME=FILE)`);
    }
    if (name in files) throw new Error(`input '${name}' is given twice`);
    files[name] = file;
  }
  for (const n of inputNames) {
    if (!(n in files)) throw new Error(`input '${n}' is not given (--input ${n}=FILE)`);
  }
  return files;
}

function summary(t) {
  const d = t.data;
  let extra = '';
  if (d.length > 0 && t.type !== 'string') {
    let mn = Infinity;
    let mx = -Infinity;
    let sum = 0;
    for (let i = 0; i < d.length; i++) {
      const v = Number(d[i]);
      if (v < mn) mn = v;
      if (v > mx) mx = v;
      sum += v;
    }
    const g = (v) => Number(v.toPrecision(6));
    extra = ` min ${g(mn)} max ${g(mx)} mean ${g(sum / d.length)}`;
  }
  return `${t.type} [${t.dims.join(',')}]${extra}`;
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const session = await createSession(opts.model, { threads: opts.threads });
  const files = bindInputs(opts.inputs, [...session.inputNames]);
  const feeds = {};
  for (const [name, file] of Object.entries(files)) feeds[name] = readNpy(file);

  let out = null;
  for (let i = 0; i < opts.warmup; i++) out = await session.run(feeds);
  const times = [];
  for (let i = 0; i < opts.repeat; i++) {
    const t0 = performance.now();
    out = await session.run(feeds);
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);

  console.log('outputs:');
  for (const name of session.outputNames) console.log(`  ${name.padEnd(28)} ${summary(out[name])}`);
  const r = opts.repeat;
  const t = opts.threads;
  console.log(`latency_ms: median ${times[Math.floor(r / 2)].toFixed(3)} min ${times[0].toFixed(3)} ` +
              `(${r} run${r === 1 ? '' : 's'}, ${t} thread${t === 1 ? '' : 's'}, ${opts.warmup} warmup)`);

  if (opts.output !== null) {
    fs.mkdirSync(opts.output, { recursive: true });
    for (const name of session.outputNames) {
      const file = path.join(opts.output, `${safeName(name)}.npy`);
      const tmp = `${file}.tmp${process.pid}`;
      fs.writeFileSync(tmp, encodeNpy(out[name]));
      fs.renameSync(tmp, file);
    }
  }
  await session.release();
  console.log(`peak_rss_kb: ${process.resourceUsage().maxRSS}`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  main().catch((e) => {
    console.error(`ort_run: ${e && e.message ? e.message : e}`);
    process.exit(1);
  });
}
