// Run ONNX models in ONNX Runtime on the same seeded input and compare
// their outputs. Usage:
//   node onnx_run.js REF.onnx OTHER.onnx [OTHER2.onnx ...] [--dim NAME=V] [--value NAME=V]
//                    [--no-opt]
// --no-opt disables ONNX Runtime's graph optimizations (fusions such as
// Conv+BatchNormalization change the order of float operations), so that two
// models computing the same arithmetic give the same numbers.
// Dynamic dims default to 1 unless --dim names them; int64 inputs take
// --value (default 1). Float inputs are uniform in [-1, 1) from a fixed
// seed (mulberry32); rank-4 float inputs (images) are, like photographs,
// smooth: per channel a random 8×8 grid in [-1, 1) bilinearly resized to the
// two largest dims, plus uniform noise of ±0.05. Prints one JSON line per OTHER model and output:
//   {"model":..., "output":..., "sqnr_db":..., "max_abs_diff":..., "ref_absmax":...}
// where sqnr_db = 10·log10(Σ ref² / Σ (ref − other)²).
'use strict';
const ort = require('onnxruntime-node');

function mulberry32(a) {
  return function () {
    a |= 0; a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function parseArgs(argv) {
  const models = [], dims = {}, values = {};
  let opts = {};
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--no-opt') {
      opts = { graphOptimizationLevel: 'disabled' };
    } else if (argv[i] === '--dim' || argv[i] === '--value') {
      const [k, v] = argv[++i].split('=');
      (argv[i - 1] === '--dim' ? dims : values)[k] = Number(v);
    } else {
      models.push(argv[i]);
    }
  }
  return { models, dims, values, opts };
}

function smoothImage(shape, rng) {
  const ax = [1, 2, 3].sort((a, b) => shape[b] - shape[a]);
  const [ha, wa, ca] = [Math.min(ax[0], ax[1]), Math.max(ax[0], ax[1]), ax[2]];
  const H = shape[ha], W = shape[wa], C = shape[ca], G = 8;
  const grid = Array.from({ length: C * G * G }, () => 2 * rng() - 1);
  const out = new Float32Array(shape.reduce((a, b) => a * b, 1));
  const stride = [shape[1] * shape[2] * shape[3], shape[2] * shape[3], shape[3], 1];
  for (let b = 0; b < shape[0]; b++)
    for (let h = 0; h < H; h++)
      for (let w = 0; w < W; w++)
        for (let c = 0; c < C; c++) {
          const gy = (h / Math.max(H - 1, 1)) * (G - 1), gx = (w / Math.max(W - 1, 1)) * (G - 1);
          const y0 = Math.min(Math.floor(gy), G - 2), x0 = Math.min(Math.floor(gx), G - 2);
          const fy = gy - y0, fx = gx - x0, g = (yy, xx) => grid[(c * G + yy) * G + xx];
          const v = (1 - fy) * ((1 - fx) * g(y0, x0) + fx * g(y0, x0 + 1)) +
                    fy * ((1 - fx) * g(y0 + 1, x0) + fx * g(y0 + 1, x0 + 1));
          const idx = [0, 0, 0, 0];
          idx[0] = b; idx[ha] = h; idx[wa] = w; idx[ca] = c;
          out[idx[0] * stride[0] + idx[1] * stride[1] + idx[2] * stride[2] + idx[3]] =
            Math.max(-1, Math.min(1, v + 0.1 * rng() - 0.05));
        }
  return out;
}

function makeFeeds(sess, dims, values) {
  const rng = mulberry32(12345);
  const feeds = {};
  for (const meta of sess.inputMetadata) {
    const shape = (meta.shape || []).map((d) => (typeof d === 'number' && d >= 0 ? d : (dims[d] ?? 1)));
    const n = shape.reduce((a, b) => a * b, 1);
    if (meta.type === 'int64') {
      feeds[meta.name] = new ort.Tensor('int64', BigInt64Array.from({ length: n }, () => BigInt(values[meta.name] ?? 1)), shape);
    } else if (meta.type === 'float32' && shape.length === 4) {
      feeds[meta.name] = new ort.Tensor('float32', smoothImage(shape, rng), shape);
    } else if (meta.type === 'float32') {
      feeds[meta.name] = new ort.Tensor('float32', Float32Array.from({ length: n }, () => 2 * rng() - 1), shape);
    } else {
      throw new Error(`input ${meta.name}: type ${meta.type} not handled`);
    }
  }
  return feeds;
}

async function run(path, feeds, opts) {
  const sess = await ort.InferenceSession.create(path, opts);
  return sess.run(feeds);
}

(async () => {
  const { models, dims, values, opts } = parseArgs(process.argv.slice(2));
  const refSess = await ort.InferenceSession.create(models[0], opts);
  const feeds = makeFeeds(refSess, dims, values);
  const ref = await refSess.run(feeds);
  for (const path of models.slice(1)) {
    const out = await run(path, feeds, opts);
    for (const name of Object.keys(ref)) {
      const a = ref[name].data, b = out[name].data;
      let s2 = 0, e2 = 0, maxd = 0, amax = 0;
      for (let i = 0; i < a.length; i++) {
        const x = Number(a[i]), y = Number(b[i]);
        s2 += x * x; e2 += (x - y) * (x - y);
        maxd = Math.max(maxd, Math.abs(x - y)); amax = Math.max(amax, Math.abs(x));
      }
      const sqnr = e2 === 0 ? 'inf' : 10 * Math.log10(s2 / e2);
      console.log(JSON.stringify({ model: path, output: name, sqnr_db: sqnr, max_abs_diff: maxd, ref_absmax: amax }));
    }
  }
})().catch((e) => { console.error(String(e.message || e).split('\n')[0]); process.exit(1); });
