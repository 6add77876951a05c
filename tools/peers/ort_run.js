// Runs a model in ONNX Runtime (CPU) on .npy inputs and writes every output as OUTDIR/<name>.npy:
// the independent reference the optimizer's equivalence tests compare against.
// usage: node ort_run.js MODEL.onnx OUTDIR NAME=INPUT.npy ...
'use strict';
const fs = require('fs');
const path = require('path');
const ort = require(path.join(__dirname, 'node_modules', 'onnxruntime-node'));

// Little-endian float32, C-order .npy only: what ktc and tools/*.py write.
function readNpyFloat32(file) {
  const buf = fs.readFileSync(file);
  if (buf.toString('latin1', 1, 6) !== 'NUMPY') throw new Error(file + ': not a .npy file');
  const major = buf[6];
  const headerLen = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const start = major === 1 ? 10 : 12;
  const header = buf.toString('latin1', start, start + headerLen);
  if (!header.includes("'<f4'")) throw new Error(file + ': expected float32 (<f4)');
  if (header.includes("'fortran_order': True")) throw new Error(file + ': Fortran order not supported');
  const shape = header.match(/\(([^)]*)\)/)[1].split(',').filter(s => s.trim()).map(Number);
  const bytes = buf.subarray(start + headerLen);
  const data = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
  return { shape, data };
}

function writeNpyFloat32(file, dims, data) {
  let header = "{'descr': '<f4', 'fortran_order': False, 'shape': (" +
               dims.join(', ') + (dims.length === 1 ? ',' : '') + '), }';
  const unpadded = 10 + header.length + 1;
  header += ' '.repeat((64 - (unpadded % 64)) % 64) + '\n';
  const head = Buffer.alloc(10);
  head.write('\x93NUMPY', 0, 'latin1');
  head[6] = 1; head[7] = 0;
  head.writeUInt16LE(header.length, 8);
  const body = Buffer.from(Float32Array.from(data).buffer);
  fs.writeFileSync(file, Buffer.concat([head, Buffer.from(header, 'latin1'), body]));
}

async function main() {
  const [model, outDir, ...inputArgs] = process.argv.slice(2);
  if (!model || !outDir) throw new Error('usage: node ort_run.js MODEL.onnx OUTDIR NAME=INPUT.npy ...');
  const session = await ort.InferenceSession.create(model, { intraOpNumThreads: 1, interOpNumThreads: 1 });
  const feeds = {};
  for (const arg of inputArgs) {
    const eq = arg.indexOf('=');
    if (eq < 0) throw new Error("input '" + arg + "' is not NAME=FILE.npy");
    const { shape, data } = readNpyFloat32(arg.slice(eq + 1));
    feeds[arg.slice(0, eq)] = new ort.Tensor('float32', data, shape);
  }
  const results = await session.run(feeds);
  fs.mkdirSync(outDir, { recursive: true });
  for (const [name, t] of Object.entries(results)) {
    if (t.type !== 'float32') throw new Error("output '" + name + "' is " + t.type + ', not float32');
    writeNpyFloat32(path.join(outDir, name.replace(/[^A-Za-z0-9_.-]/g, '_') + '.npy'), t.dims, t.data);
  }
}
main().catch(e => { console.error('ort_run: ' + e.message); process.exit(1); });
