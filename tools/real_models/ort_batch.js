// Runs a one-input model in ONNX Runtime (onnxruntime-node, CPU, one thread) on N stacked samples
// and either writes every output stacked over the samples (OUTDIR/<name>.npy, shape [N, ...dims])
// or, with --ranges, only the min and max of every output over all samples (a JSON object
// {name: [min, max]}): the calibration pass of the standard int8 recipe (tools/real_models/qdq.py
// exposes every intermediate tensor as an output for it).
// INPUT.npy holds float32 samples [N, ...model input dims] (the model's input has batch 1).
// usage: node ort_batch.js MODEL.onnx INPUT.npy OUTDIR
//        node ort_batch.js MODEL.onnx INPUT.npy --ranges OUT.json
'use strict';
const fs = require('fs');
const path = require('path');
const ort = require(path.join(__dirname, '..', 'peers', 'node_modules', 'onnxruntime-node'));

function readNpy(file) {
  const buf = fs.readFileSync(file);
  if (buf.toString('latin1', 1, 6) !== 'NUMPY') throw new Error(file + ': not a .npy file');
  const v1 = buf[6] === 1;
  const headerLen = v1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const start = v1 ? 10 : 12;
  const header = buf.toString('latin1', start, start + headerLen);
  if (!header.includes("'<f4'") || header.includes("'fortran_order': True"))
    throw new Error(file + ': expected C-order float32');
  const shape = header.match(/\(([^)]*)\)/)[1].split(',').filter(s => s.trim()).map(Number);
  const bytes = buf.subarray(start + headerLen);
  return { shape, data: new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length)) };
}

function writeNpy(file, dims, chunks) {
  let header = "{'descr': '<f4', 'fortran_order': False, 'shape': (" + dims.join(', ') +
               (dims.length === 1 ? ',' : '') + '), }';
  header += ' '.repeat((64 - ((10 + header.length + 1) % 64)) % 64) + '\n';
  const head = Buffer.alloc(10);
  head.write('\x93NUMPY', 0, 'latin1');
  head[6] = 1;
  head.writeUInt16LE(header.length, 8);
  const body = chunks.map(c => Buffer.from(c.buffer, c.byteOffset, c.byteLength));
  fs.writeFileSync(file + '.tmp', Buffer.concat([head, Buffer.from(header, 'latin1'), ...body]));
  fs.renameSync(file + '.tmp', file);
}

async function main() {
  const [model, input, out, rangesFile] = process.argv.slice(2);
  const ranges = out === '--ranges';
  if (!model || !input || !out || (ranges && !rangesFile))
    throw new Error('usage: node ort_batch.js MODEL.onnx INPUT.npy (OUTDIR | --ranges OUT.json)');
  const session = await ort.InferenceSession.create(model, { intraOpNumThreads: 1, interOpNumThreads: 1 });
  if (session.inputNames.length !== 1) throw new Error(model + ': expected one input');
  const x = readNpy(input);
  const n = x.shape[0];
  const sampleDims = x.shape.slice(1);
  const per = sampleDims.reduce((a, b) => a * b, 1);
  const stacked = {};  // name -> {dims, chunks}
  const minmax = {};   // name -> [min, max]
  for (let i = 0; i < n; ++i) {
    const t = new ort.Tensor('float32', x.data.slice(i * per, (i + 1) * per), sampleDims);
    const res = await session.run({ [session.inputNames[0]]: t });
    for (const [name, v] of Object.entries(res)) {
      if (v.type !== 'float32') continue;
      if (ranges) {
        let lo = Infinity, hi = -Infinity;
        for (const e of v.data) { if (e < lo) lo = e; if (e > hi) hi = e; }
        const r = minmax[name] || [Infinity, -Infinity];
        minmax[name] = [Math.min(r[0], lo), Math.max(r[1], hi)];
      } else {
        if (!stacked[name]) stacked[name] = { dims: v.dims, chunks: [] };
        stacked[name].chunks.push(Float32Array.from(v.data));
      }
    }
  }
  if (ranges) {
    fs.writeFileSync(rangesFile, JSON.stringify(minmax));
    return;
  }
  fs.mkdirSync(out, { recursive: true });
  for (const [name, s] of Object.entries(stacked))
    writeNpy(path.join(out, name.replace(/[\/\\:]/g, '_') + '.npy'), [n, ...s.dims], s.chunks);
}
main().catch(e => { console.error('ort_batch: ' + e.message); process.exit(1); });
