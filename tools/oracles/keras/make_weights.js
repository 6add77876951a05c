// Builds a Keras topology (model_config JSON) with TensorFlow.js and prints random weights for it
// as JSON: {layer: [{name, shape, values}]}. layer_zoo.py writes them into an .h5 file. Variances
// and other scale-like weights are drawn positive.
// usage: node make_weights.js CONFIG.json SEED
'use strict';
const fs = require('fs');
const tf = require('@tensorflow/tfjs-core');
require('@tensorflow/tfjs-backend-cpu');
const tfl = require('@tensorflow/tfjs-layers');

async function main() {
  const [configFile, seedText] = process.argv.slice(2);
  tf.env().set('PROD', true);
  await tf.setBackend('cpu');
  const topology = JSON.parse(fs.readFileSync(configFile, 'utf8'));
  const model = await tfl.models.modelFromJSON({ modelTopology: topology });
  let seed = Number(seedText || 1);
  const out = {};
  for (const layer of model.layers) {
    out[layer.name] = layer.weights.map(w => {
      const base = w.originalName.split('/').pop();
      const positive = base === 'moving_variance';
      const values = tf.randomUniform(w.shape, positive ? 0.5 : -1, positive ? 1.5 : 1, 'float32', seed++);
      return { name: base, shape: w.shape, values: Array.from(values.dataSync()) };
    });
  }
  process.stdout.write(JSON.stringify(out));
}
main().catch(e => { console.error('make_weights: ' + e.message); process.exit(1); });
