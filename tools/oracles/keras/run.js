// Runs a Keras .h5/.hdf5 model in TensorFlow.js (pure JavaScript CPU backend) on .npy inputs and
// writes each output as OUTDIR/<output layer name>.npy: the independent reference ktc's Keras
// converter is checked against. Inputs and outputs are in Keras's own layout (channels last).
// The weights are read by h5_to_tfjs.py with h5py (/usr/bin/python3), not by ktc.
// usage: node run.js MODEL.h5 OUTDIR NAME=INPUT.npy ...
'use strict';
const childProcess = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');
const tf = require('@tensorflow/tfjs-core');
require('@tensorflow/tfjs-backend-cpu');
const tfl = require('@tensorflow/tfjs-layers');

// keras_contrib's InstanceNormalization (axis None or one axis; epsilon added to the standard
// deviation, not to the variance), written from its published definition.
class InstanceNormalization extends tfl.layers.Layer {
  constructor(config) {
    super(config);
    this.axis = config.axis === undefined ? null : config.axis;
    this.epsilon = config.epsilon === undefined ? 1e-3 : config.epsilon;
    this.center = config.center !== false;
    this.scale = config.scale !== false;
  }
  build(inputShape) {
    const shape = this.axis === null ? [1] : [inputShape[this.axis < 0 ? inputShape.length + this.axis : this.axis]];
    if (this.scale) this.gamma = this.addWeight('gamma', shape, 'float32', tfl.initializers.ones());
    if (this.center) this.beta = this.addWeight('beta', shape, 'float32', tfl.initializers.zeros());
    this.built = true;
  }
  call(inputs) {
    return tf.tidy(() => {
      const x = Array.isArray(inputs) ? inputs[0] : inputs;
      const rank = x.shape.length;
      const keep = this.axis === null ? -1 : (this.axis < 0 ? rank + this.axis : this.axis);
      const axes = [];
      for (let a = 1; a < rank; ++a) if (a !== keep) axes.push(a);
      const mean = tf.mean(x, axes, true);
      const std = tf.sqrt(tf.mean(tf.square(tf.sub(x, mean)), axes, true));
      let y = tf.div(tf.sub(x, mean), tf.add(std, this.epsilon));
      const bshape = new Array(rank).fill(1);
      if (keep >= 0) bshape[keep] = x.shape[keep];
      if (this.scale) y = tf.mul(y, tf.reshape(this.gamma.read(), bshape));
      if (this.center) y = tf.add(y, tf.reshape(this.beta.read(), bshape));
      return y;
    });
  }
  computeOutputShape(inputShape) { return inputShape; }
  getConfig() {
    return Object.assign({ axis: this.axis, epsilon: this.epsilon, center: this.center, scale: this.scale },
                         super.getConfig());
  }
}
InstanceNormalization.className = 'InstanceNormalization';
tf.serialization.registerClass(InstanceNormalization);

function readNpy(file) {
  const buf = fs.readFileSync(file);
  if (buf.toString('latin1', 1, 6) !== 'NUMPY') throw new Error(file + ': not a .npy file');
  const v1 = buf[6] === 1;
  const headerLen = v1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const start = v1 ? 10 : 12;
  const header = buf.toString('latin1', start, start + headerLen);
  if (!header.includes("'<f4'") || header.includes("'fortran_order': True"))
    throw new Error(file + ': expected a C-order float32 .npy');
  const shape = header.match(/\(([^)]*)\)/)[1].split(',').filter(s => s.trim()).map(Number);
  const body = buf.subarray(start + headerLen);
  return tf.tensor(new Float32Array(body.buffer.slice(body.byteOffset, body.byteOffset + body.length)), shape);
}

function writeNpy(file, t) {
  let header = "{'descr': '<f4', 'fortran_order': False, 'shape': (" + t.shape.join(', ') +
               (t.shape.length === 1 ? ',' : '') + '), }';
  header += ' '.repeat((64 - ((10 + header.length + 1) % 64)) % 64) + '\n';
  const head = Buffer.alloc(10);
  head.write('\x93NUMPY', 0, 'latin1');
  head[6] = 1;
  head.writeUInt16LE(header.length, 8);
  fs.writeFileSync(file, Buffer.concat([head, Buffer.from(header, 'latin1'),
                                        Buffer.from(Float32Array.from(t.dataSync()).buffer)]));
}

async function main() {
  const [modelFile, outDir, ...inputArgs] = process.argv.slice(2);
  if (!modelFile || !outDir) throw new Error('usage: node run.js MODEL.h5 OUTDIR NAME=INPUT.npy ...');
  tf.env().set('PROD', true);  // no banner suggesting the native backend
  await tf.setBackend('cpu');
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'ktc-keras-oracle-'));
  try {
    childProcess.execFileSync('/usr/bin/python3', [path.join(__dirname, 'h5_to_tfjs.py'), modelFile, work],
                              { stdio: ['ignore', 'inherit', 'inherit'] });
    const json = JSON.parse(fs.readFileSync(path.join(work, 'model.json'), 'utf8'));
    const bin = fs.readFileSync(path.join(work, 'weights.bin'));
    const model = await tfl.loadLayersModel(tf.io.fromMemory({
      modelTopology: json.modelTopology,
      weightSpecs: json.weightsManifest[0].weights,
      weightData: bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.length),
    }));
    const given = {};
    for (const arg of inputArgs) {
      const eq = arg.indexOf('=');
      if (eq < 0) throw new Error("input '" + arg + "' is not NAME=FILE.npy");
      given[arg.slice(0, eq)] = readNpy(arg.slice(eq + 1));
    }
    // A Sequential model built by tfjs may not know its input's name: one input is unambiguous.
    const names = Object.keys(given);
    const feeds = model.inputs.length === 1 && names.length === 1 ? [given[names[0]]] : model.inputNames.map(name => {
      if (!given[name]) throw new Error("no input given for '" + name + "'");
      return given[name];
    });
    let outputs = model.predict(feeds.length === 1 ? feeds[0] : feeds);
    if (!Array.isArray(outputs)) outputs = [outputs];
    fs.mkdirSync(outDir, { recursive: true });
    model.outputNames.forEach((name, i) => writeNpy(path.join(outDir, name + '.npy'), outputs[i]));
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}
main().catch(e => { console.error('keras oracle: ' + e.message); process.exit(1); });
