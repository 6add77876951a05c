// Median latency of ONNX Runtime (CPU, 1 intra-op thread) on one model: the peer that
// float_sim_vs_ort compares ktc against. Prints one JSON line.
// usage: node ort_latency.js MODEL.onnx INPUT.npy RUNS
'use strict';
const fs = require('fs');
const path = require('path');
const ort = require(path.join(__dirname, '..', 'tools', 'peers', 'node_modules', 'onnxruntime-node'));

// Reads a little-endian float32 C-order .npy (what tools/zoo.py writes).
function readNpyFloat32(file) {
  const buf = fs.readFileSync(file);
  const headerLen = buf.readUInt16LE(8);
  const header = buf.toString('latin1', 10, 10 + headerLen);
  if (!header.includes("'<f4'")) throw new Error(file + ': expected float32');
  const shape = header.match(/\(([^)]*)\)/)[1].split(',').filter(s => s.trim()).map(Number);
  const data = new Float32Array(buf.buffer.slice(buf.byteOffset + 10 + headerLen, buf.byteOffset + buf.length));
  return { shape, data };
}

async function main() {
  const [model, input, runsArg] = process.argv.slice(2);
  const runs = Number(runsArg || 10);
  const session = await ort.InferenceSession.create(model, {
    intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: 'sequential',
    graphOptimizationLevel: 'all',
  });
  const { shape, data } = readNpyFloat32(input);
  const feeds = { [session.inputNames[0]]: new ort.Tensor('float32', data, shape) };
  await session.run(feeds);  // warm-up
  const times = [];
  for (let i = 0; i < runs; ++i) {
    const t0 = process.hrtime.bigint();
    await session.run(feeds);
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  times.sort((a, b) => a - b);
  console.log(JSON.stringify({ median_ms: times[Math.floor(times.length / 2)], runs }));
}
main().catch(e => { console.error(e.message); process.exit(1); });
