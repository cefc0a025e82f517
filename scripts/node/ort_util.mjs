// Shared helpers for running ONNX models in onnxruntime-node (CPU only).
//
//   makeInputs(session, opts)  -> { feeds, specs }
//   runModel(path, feeds, opts) -> outputs (name -> ort.Tensor)
//
// Inputs are built deterministically from the session's input metadata, so
// two models with the same inputs can be fed identical data.

import ort from 'onnxruntime-node';

export { ort };

export const DEFAULT_THREADS = 2;

// Command line of the timing scripts (ort_bench, ort_profile): models as
// positional arguments, --input NAME=FILE.npy (repeatable), --threads,
// --repeat, --warmup. `o` holds the defaults and receives the values;
// extra(a, val) takes a script's own option (val() reads its value) and
// returns true when it did. Errors go through usage(msg), which exits.
export function parseTimingArgs(argv, o, usage, extra = () => false) {
  o.models = o.models || [];
  o.inputs = o.inputs || [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => {
      if (i + 1 >= argv.length) usage(`${a} needs a value`);
      return argv[++i];
    };
    const int = (min) => {
      const v = Number(val());
      if (!Number.isInteger(v) || v < min) usage(`${a} needs an integer >= ${min}`);
      return v;
    };
    if (a === '--input') o.inputs.push(val());
    else if (a === '--threads') o.threads = int(1);
    else if (a === '--repeat') o.repeat = int(1);
    else if (a === '--warmup') o.warmup = int(0);
    else if (extra(a, val)) continue;
    else if (a.startsWith('-')) usage(`unknown option ${a}`);
    else o.models.push(a);
  }
  return o;
}

export function sessionOptions(opts = {}) {
  return {
    executionProviders: ['cpu'],
    intraOpNumThreads: opts.threads ?? DEFAULT_THREADS,
    interOpNumThreads: 1,
    graphOptimizationLevel: opts.graphOptimizationLevel ?? 'all',
  };
}

export async function createSession(path, opts = {}) {
  return ort.InferenceSession.create(path, sessionOptions(opts));
}

// Runs the model at `path` once on `feeds` and returns its outputs.
export async function runModel(path, feeds, opts = {}) {
  const session = await createSession(path, opts);
  try {
    return await session.run(feeds);
  } finally {
    await session.release();
  }
}

// ---------------------------------------------------------------------------
// Deterministic pseudo-random numbers (32-bit xorshift-multiply generator).

export function makeRng(seed) {
  let s = (Number(seed) >>> 0) || 0x9e3779b9;
  return function next() {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296; // [0, 1)
  };
}

// float -> IEEE half bits (round to nearest even).
const f32buf = new Float32Array(1);
const u32buf = new Uint32Array(f32buf.buffer);
export function floatToHalfBits(value) {
  f32buf[0] = value;
  const x = u32buf[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  let e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let half = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    if (rem > mid || (rem === mid && (half & 1))) half++;
    return sign | half;
  }
  let half = sign | (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (half & 1))) half++;
  return half;
}

// ---------------------------------------------------------------------------
// Shapes

function isKnownDim(d) {
  return typeof d === 'number' && Number.isInteger(d) && d >= 0;
}

// Parses "--dim" style overrides. Accepts either a symbolic dimension name
// ("batch=4", applies wherever that name appears) or INPUT:AXIS=VALUE
// ("x:2=320", one axis of one input; works for unnamed dims too).
export function parseDimSpec(spec, into = { byName: new Map(), byAxis: new Map() }) {
  const eq = spec.lastIndexOf('=');
  if (eq <= 0) throw new Error(`bad --dim '${spec}': expected NAME=VALUE or INPUT:AXIS=VALUE`);
  const key = spec.slice(0, eq);
  const value = Number(spec.slice(eq + 1));
  if (!Number.isInteger(value) || value < 0) throw new Error(`bad --dim '${spec}': value must be a non-negative integer`);
  const m = /^(.*):(\d+)$/.exec(key);
  if (m) into.byAxis.set(`${m[1]}:${Number(m[2])}`, value);
  else into.byName.set(key, value);
  return into;
}

function isStateInput(name) {
  return /^(state|h|c|h0|c0|hn|cn)$/i.test(name) || /(^|_)(state|hidden|cell)s?($|_)/i.test(name);
}

// Picks a concrete shape for every input. Rules (first that applies):
//   1. --dim INPUT:AXIS=VALUE
//   2. --dim NAME=VALUE for a symbolic dimension NAME
//   3. a known static dimension
//   4. image-like float input [N, 3, H, W]: unknown H/W -> 640
//   5. audio-like float input [N, T] (2-D, float): unknown T -> 512 samples
//      if the model has an `sr` input (silero VAD window at 16 kHz),
//      otherwise 1280 (80 ms at 16 kHz, openWakeWord's frame)
//   6. anything else unknown -> 1
// A symbolic name resolved once (also through rule 1) keeps its value for
// every later input.
export function resolveShapes(metadata, dims = { byName: new Map(), byAxis: new Map() }) {
  const named = new Map(dims.byName);
  const hasSr = metadata.some((m) => m.name === 'sr');
  const out = [];
  for (const m of metadata) {
    const shape = Array.isArray(m.shape) ? m.shape : [];
    const isFloat = /^float/.test(m.type ?? '') || m.type === 'bfloat16';
    const concrete = shape.map((d, axis) => {
      const axisKey = `${m.name}:${axis}`;
      const symbol = typeof d === 'string' && d !== '' ? d : null;
      if (dims.byAxis.has(axisKey)) {
        const v = dims.byAxis.get(axisKey);
        if (symbol !== null && !named.has(symbol)) named.set(symbol, v);
        return v;
      }
      if (isKnownDim(d)) return d;
      if (symbol !== null && named.has(symbol)) return named.get(symbol);
      let v = 1;
      if (shape.length === 4 && isFloat && shape[1] === 3 && axis >= 2) v = 640;
      else if (shape.length === 2 && isFloat && axis === 1 && !isStateInput(m.name)) v = hasSr ? 512 : 1280;
      if (symbol !== null) named.set(symbol, v);
      return v;
    });
    out.push({ name: m.name, type: m.type, declaredShape: shape, shape: concrete });
  }
  return out;
}

// ---------------------------------------------------------------------------
// Values

function fillTensor(spec, rng) {
  const count = spec.shape.reduce((a, b) => a * b, 1);
  const zeros = isStateInput(spec.name);
  const uni = () => (zeros ? 0 : rng() * 2 - 1); // [-1, 1)
  switch (spec.type) {
    case 'float32': {
      const a = new Float32Array(count);
      for (let i = 0; i < count; i++) a[i] = uni();
      return new ort.Tensor('float32', a, spec.shape);
    }
    case 'float64': {
      const a = new Float64Array(count);
      for (let i = 0; i < count; i++) a[i] = uni();
      return new ort.Tensor('float64', a, spec.shape);
    }
    case 'float16': {
      const a = new Uint16Array(count);
      for (let i = 0; i < count; i++) a[i] = floatToHalfBits(uni());
      return new ort.Tensor('float16', a, spec.shape);
    }
    case 'int64': {
      const a = new BigInt64Array(count);
      const fixed = spec.name === 'sr' ? 16000n : null;
      for (let i = 0; i < count; i++) a[i] = fixed ?? (zeros ? 0n : BigInt(Math.floor(rng() * 4)));
      return new ort.Tensor('int64', a, spec.shape);
    }
    case 'int32': {
      const a = new Int32Array(count);
      const fixed = spec.name === 'sr' ? 16000 : null;
      for (let i = 0; i < count; i++) a[i] = fixed ?? (zeros ? 0 : Math.floor(rng() * 4));
      return new ort.Tensor('int32', a, spec.shape);
    }
    case 'int8': {
      const a = new Int8Array(count);
      for (let i = 0; i < count; i++) a[i] = zeros ? 0 : Math.floor(rng() * 256) - 128;
      return new ort.Tensor('int8', a, spec.shape);
    }
    case 'uint8': {
      const a = new Uint8Array(count);
      for (let i = 0; i < count; i++) a[i] = zeros ? 0 : Math.floor(rng() * 256);
      return new ort.Tensor('uint8', a, spec.shape);
    }
    case 'bool': {
      const a = new Uint8Array(count);
      for (let i = 0; i < count; i++) a[i] = zeros ? 0 : rng() < 0.5 ? 1 : 0;
      return new ort.Tensor('bool', a, spec.shape);
    }
    default:
      throw new Error(`input '${spec.name}': unsupported element type '${spec.type}'`);
  }
}

// Builds deterministic inputs for every input of `session`.
//   opts.seed  integer seed (default 1); each input gets its own stream
//   opts.dims  { byName: Map, byAxis: Map } from parseDimSpec
// Returns { feeds: {name: Tensor}, specs: [{name, type, declaredShape, shape}] }.
export function makeInputs(session, opts = {}) {
  const metadata = session.inputMetadata;
  if (!Array.isArray(metadata)) {
    throw new Error('this onnxruntime-node has no session.inputMetadata; need >= 1.22');
  }
  for (const m of metadata) {
    if (m.isTensor === false) throw new Error(`input '${m.name}' is not a tensor; unsupported`);
  }
  const specs = resolveShapes(metadata, opts.dims);
  const seed = opts.seed ?? 1;
  const feeds = {};
  specs.forEach((spec, i) => {
    feeds[spec.name] = fillTensor(spec, makeRng((Number(seed) * 1000003 + i * 7919) >>> 0));
  });
  return { feeds, specs };
}

// ---------------------------------------------------------------------------
// Comparison

export function tensorBytes(t) {
  const d = t.data;
  if (ArrayBuffer.isView(d)) return new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
  return null; // string tensors
}

const ELEM_SIZE = {
  float32: 4, float64: 8, float16: 2, bfloat16: 2, int64: 8, uint64: 8, int32: 4, uint32: 4,
  int16: 2, uint16: 2, int8: 1, uint8: 1, bool: 1,
};

// Compares two tensors bit for bit. Returns { same, differing, reason }.
export function compareTensors(a, b) {
  if (a.type !== b.type) return { same: false, differing: null, reason: `type ${a.type} vs ${b.type}` };
  const sa = a.dims.join('x');
  const sb = b.dims.join('x');
  if (sa !== sb) return { same: false, differing: null, reason: `shape [${sa}] vs [${sb}]` };
  const ba = tensorBytes(a);
  const bb = tensorBytes(b);
  if (ba === null || bb === null) {
    let n = 0;
    for (let i = 0; i < a.data.length; i++) if (a.data[i] !== b.data[i]) n++;
    return { same: n === 0, differing: n };
  }
  const size = ELEM_SIZE[a.type] ?? 1;
  let n = 0;
  for (let i = 0; i < ba.length; i += size) {
    for (let k = 0; k < size; k++) {
      if (ba[i + k] !== bb[i + k]) { n++; break; }
    }
  }
  return { same: n === 0, differing: n };
}
