// tools/oracles/tflite/tflite_run.mjs - runs a .tflite model in LiteRT.js (Google's TFLite runtime:
// its XNNPACK CPU kernels compiled to WebAssembly, shipped inside the npm package) on .npy inputs:
// the independent reference ktc's TFLite converter is checked against. Nothing is downloaded.
//
// usage: node tflite_run.mjs MODEL.tflite OUTDIR INPUT0.npy [INPUT1.npy ...]
// Inputs are given in the model's input order, in TFLite's own layout (NHWC). Each output is
// written as OUTDIR/output_<i>.npy (float32, TFLite layout), in the model's output order, and
// OUTDIR/outputs.txt lists "i name shape" per line.
import fs from 'fs';
import path from 'path';
import vm from 'vm';
import { createRequire } from 'module';
import { fileURLToPath } from 'url';

const here = path.dirname(fileURLToPath(import.meta.url));
const wasmDir = path.join(here, 'node_modules', '@litertjs', 'core', 'wasm') + path.sep;

// LiteRT.js is written for browsers: it loads its Emscripten glue with importScripts (in a
// worker) or a <script> tag. Give it importScripts, and the CommonJS names the glue's Node.js
// branch expects, so the glue reads its .wasm from the package folder.
function makeNodeLookLikeAWorker() {
  globalThis.self = globalThis;
  globalThis.require = createRequire(import.meta.url);
  globalThis.__dirname = wasmDir;
  globalThis.__filename = path.join(wasmDir, 'glue.js');
  globalThis.importScripts = (file) =>
    vm.runInThisContext(fs.readFileSync(file, 'utf8'), { filename: String(file) });
  globalThis.Module = { locateFile: (f) => wasmDir + f };
}

// Little-endian float32 C-order .npy only (what ktc writes).
function readNpy(file) {
  const buf = fs.readFileSync(file);
  if (buf.toString('latin1', 1, 6) !== 'NUMPY') throw new Error(file + ': not a .npy file');
  const v1 = buf[6] === 1;
  const len = v1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const start = v1 ? 10 : 12;
  const header = buf.toString('latin1', start, start + len);
  if (!header.includes("'<f4'") || header.includes("'fortran_order': True"))
    throw new Error(file + ': expected a C-order float32 array');
  const shape = header.match(/\(([^)]*)\)/)[1].split(',').filter((s) => s.trim()).map(Number);
  const body = buf.subarray(start + len);
  return { shape, data: new Float32Array(body.buffer.slice(body.byteOffset, body.byteOffset + body.length)) };
}

function writeNpy(file, shape, data) {
  let header = "{'descr': '<f4', 'fortran_order': False, 'shape': (" + shape.join(', ') +
               (shape.length === 1 ? ',' : '') + '), }';
  header += ' '.repeat((64 - ((10 + header.length + 1) % 64)) % 64) + '\n';
  const head = Buffer.alloc(10);
  head.write('\x93NUMPY', 0, 'latin1');
  head[6] = 1;
  head.writeUInt16LE(header.length, 8);
  fs.writeFileSync(file, Buffer.concat([head, Buffer.from(header, 'latin1'),
                                        Buffer.from(Float32Array.from(data).buffer)]));
}

// LiteRT.js runs static shapes only: a model whose shape_signature marks the batch as -1
// (Keras exports do) is refused. Rewrite each -1 in Tensor.shape_signature (field 7) to the
// matching entry of Tensor.shape (field 0), in a copy of the file. Fields: Model.subgraphs = 2,
// SubGraph.tensors = 0 (the TFLite schema).
function pinDynamicDims(bytes) {
  const b = Buffer.from(bytes);
  const u32 = (at) => b.readUInt32LE(at);
  const field = (t, id) => {
    const vt = t - b.readInt32LE(t);
    const vsize = b.readUInt16LE(vt);
    const off = 4 + 2 * id < vsize ? b.readUInt16LE(vt + 4 + 2 * id) : 0;
    return off ? t + off : 0;
  };
  const deref = (at) => at + u32(at);
  const vector = (t, id) => {
    const f = field(t, id);
    if (!f) return null;
    const v = deref(f);
    return { len: u32(v), at: v + 4 };
  };
  const model = deref(0);
  const subgraphs = vector(model, 2);
  for (let s = 0; subgraphs && s < subgraphs.len; ++s) {
    const tensors = vector(deref(subgraphs.at + 4 * s), 0);
    for (let i = 0; tensors && i < tensors.len; ++i) {
      const t = deref(tensors.at + 4 * i);
      const shape = vector(t, 0), sig = vector(t, 7);
      if (!shape || !sig || shape.len !== sig.len) continue;
      for (let d = 0; d < sig.len; ++d)
        if (b.readInt32LE(sig.at + 4 * d) < 0) b.writeInt32LE(b.readInt32LE(shape.at + 4 * d), sig.at + 4 * d);
    }
  }
  return new Uint8Array(b.buffer, b.byteOffset, b.length);
}

async function main() {
  const [modelPath, outDir, ...inputs] = process.argv.slice(2);
  if (!modelPath || !outDir) throw new Error('usage: node tflite_run.mjs MODEL.tflite OUTDIR INPUT.npy ...');
  makeNodeLookLikeAWorker();
  // The runtime logs INFO lines and a WebGPU complaint on every load: keep them, and print
  // them only when something fails.
  for (const level of ['log', 'info', 'warn', 'error']) console[level] = (...a) => chatter.push(a.join(' '));
  const { loadLiteRt, loadAndCompile, Tensor } = await import('@litertjs/core');
  await loadLiteRt(wasmDir);
  const model = await loadAndCompile(pinDynamicDims(fs.readFileSync(modelPath)),
                                     { accelerator: 'wasm', cpuOptions: { numThreads: 1 } });
  const details = model.getInputDetails();
  if (details.length !== inputs.length)
    throw new Error(`the model has ${details.length} input(s), ${inputs.length} given`);
  const feeds = inputs.map((file) => {
    const { shape, data } = readNpy(file);
    return new Tensor(data, shape);
  });
  const results = await model.run(feeds);
  fs.mkdirSync(outDir, { recursive: true });
  const names = model.getOutputDetails();
  const listing = [];
  results.forEach((t, i) => {
    const dims = Array.from(t.type.layout.dimensions);
    writeNpy(path.join(outDir, `output_${i}.npy`), dims, t.toTypedArray());
    listing.push(`${i} ${names[i] ? names[i].name : ''} ${dims.join('x')}`);
  });
  fs.writeFileSync(path.join(outDir, 'outputs.txt'), listing.join('\n') + '\n');
}

const chatter = [];
const say = console.error;
main().then(() => process.exit(0)).catch((e) => {
  say(chatter.filter((line) => !line.startsWith('INFO')).join('\n'));
  say('tflite_run: ' + (e && e.message ? e.message : e));
  process.exit(1);
});
