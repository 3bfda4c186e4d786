// Run TFLite models in TFLite's own runtime: the WASM build inside
// @tensorflow/tfjs-tflite (share/setup/node_modules), loaded directly as its
// Emscripten module (no browser, no tfjs). Every model gets the same input:
// a smooth synthetic image in [-1, 1] (sin/cos of the pixel position, the
// face detector's input range), or the values of --input FILE (a JSON list
// stored as they are into input 0: integer codes for an int8 input). Prints
// one JSON object {model: {output name: [values]}} on stdout.
//   node tflite_run.js NODE_MODULES [--input FILE] MODEL...
'use strict';
const fs = require('fs');
const path = require('path');

async function main() {
  let [modules, ...models] = process.argv.slice(2);
  let given = null;
  if (models[0] === '--input') {
    given = JSON.parse(fs.readFileSync(models[1], 'utf8'));
    models = models.slice(2);
  }
  const dir = path.join(modules, '@tensorflow/tfjs-tflite/wasm') + '/';
  const factory = require(dir + 'tflite_web_api_cc.js');
  const wasm = await factory({
    locateFile: (p) => dir + p,
    wasmBinary: fs.readFileSync(dir + 'tflite_web_api_cc.wasm'),
    print: () => {},
    printErr: () => {},
  });
  const result = {};
  for (const m of models) {
    const bytes = fs.readFileSync(m);
    const ptr = wasm._malloc(bytes.length);
    wasm.HEAPU8.set(bytes, ptr);
    const made = wasm.TFLiteWebModelRunner.CreateFromBufferAndOptions(
        ptr, bytes.length, {numThreads: 1, enableProfiling: false, maxProfilingBufferEntries: 1024});
    if (!made.ok()) throw new Error(m + ': ' + made.errorMessage());
    const runner = made.value();
    const inputs = runner.GetInputs();
    for (let k = 0; k < inputs.size(); k++) {
      const d = inputs.get(k).data();
      if (given && k === 0) {
        if (given.length !== d.length) throw new Error(m + ': input needs ' + d.length + ' values');
        d.set(given);
        continue;
      }
      for (let i = 0; i < d.length; i++) d[i] = Math.sin(i * 0.013) * Math.cos(i * 0.0007);
    }
    if (!runner.Infer()) throw new Error(m + ': inference failed');
    const outs = runner.GetOutputs(), got = {};
    for (let k = 0; k < outs.size(); k++) {
      const o = outs.get(k);
      got[o.name] = Array.from(o.data());
    }
    result[m] = got;
  }
  process.stdout.write(JSON.stringify(result) + '\n');
}

main().catch((e) => {
  process.stderr.write('tflite_run: ' + e.message + '\n');
  process.exit(1);
});
