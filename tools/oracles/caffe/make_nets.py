#!/usr/bin/python3
"""Writes small Caffe networks with seeded random weights (NET.prototxt + NET.caffemodel) that use
every layer type ktc's Caffe converter handles, for comparing ktc against OpenCV on them.

usage: /usr/bin/python3 make_nets.py OUTDIR

The caffemodel is written with a few lines of protobuf wire format (field numbers of Caffe's
caffe.proto: NetParameter.layer 100; LayerParameter name 1, type 2, blobs 7; BlobProto shape 7,
data 5; BlobShape dim 1), so nothing here depends on ktc's reader.
"""
import os
import struct
import sys

import numpy as np


def varint(n):
    out = bytearray()
    n &= (1 << 64) - 1
    while True:
        byte = n & 0x7F
        n >>= 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def field(number, payload):  # length-delimited
    return varint(number << 3 | 2) + varint(len(payload)) + payload


def blob(values):
    shape = field(1, b''.join(varint(d) for d in values.shape))
    return field(7, shape) + field(5, struct.pack('<%df' % values.size, *values.ravel()))


def caffemodel(name, weights):
    out = field(1, name.encode())
    for layer, (kind, blobs) in weights.items():
        out += field(100, field(1, layer.encode()) + field(2, kind.encode()) + b''.join(field(7, blob(b)) for b in blobs))
    return out


def layer(name, kind, bottoms, tops, params=''):
    lines = ['layer {', '  name: "%s"' % name, '  type: "%s"' % kind]
    lines += ['  bottom: "%s"' % b for b in bottoms] + ['  top: "%s"' % t for t in tops]
    if params:
        lines.append('  ' + params)
    return '\n'.join(lines + ['}'])


def tour(rng):
    """Input 1x3x19x17: odd sizes so that Caffe's rounded-up pooling and its AVE divisor matter."""
    w = lambda *s: rng.uniform(-0.5, 0.5, s).astype(np.float32)
    pos = lambda *s: rng.uniform(0.5, 2.0, s).astype(np.float32)
    layers, weights = [], {}

    def add(name, kind, bottoms, tops, params='', blobs=None):
        layers.append(layer(name, kind, bottoms, tops, params))
        if blobs:
            weights[name] = (kind, blobs)

    add('conv_a', 'Convolution', ['data'], ['conv_a'],
        'convolution_param { num_output: 8 kernel_h: 3 kernel_w: 2 pad_h: 1 pad_w: 0 stride: 2 }', [w(8, 3, 3, 2), w(8)])
    add('bn_a', 'BatchNorm', ['conv_a'], ['conv_a'], 'batch_norm_param { eps: 0.001 }',
        [w(8) * 2.5, pos(8) * 2.5, np.array([2.5], np.float32)])
    add('sc_a', 'Scale', ['conv_a'], ['conv_a'], 'scale_param { bias_term: true }', [pos(8), w(8)])
    add('relu_a', 'ReLU', ['conv_a'], ['conv_a'], 'relu_param { negative_slope: 0.1 }')
    add('pool_a', 'Pooling', ['conv_a'], ['pool_a'], 'pooling_param { pool: AVE kernel_size: 3 stride: 2 pad: 1 }')
    add('conv_b', 'Convolution', ['pool_a'], ['conv_b'],
        'convolution_param { num_output: 8 kernel_size: 3 pad: 2 dilation: 2 group: 2 }', [w(8, 4, 3, 3), w(8)])
    add('prelu_b', 'PReLU', ['conv_b'], ['conv_b'], 'prelu_param { channel_shared: true }', [np.array([0.2], np.float32)])
    add('pool_b', 'Pooling', ['conv_b'], ['pool_b'], 'pooling_param { pool: MAX kernel_size: 3 stride: 2 }')
    add('sc_b', 'Scale', ['pool_b'], ['pool_b'], '', [pos(8)])
    add('deconv', 'Deconvolution', ['pool_b'], ['deconv'],
        'convolution_param { num_output: 4 kernel_size: 2 stride: 2 }', [w(8, 4, 2, 2), w(4)])
    add('sig', 'Sigmoid', ['deconv'], ['sig'])
    add('tanh', 'TanH', ['deconv'], ['tanh'])
    add('sum', 'Eltwise', ['sig', 'tanh'], ['sum'], 'eltwise_param { operation: SUM coeff: 0.5 coeff: -1.5 }')
    add('prod', 'Eltwise', ['sum', 'sig', 'tanh'], ['prod'], 'eltwise_param { operation: PROD }')
    add('emax', 'Eltwise', ['prod', 'sum'], ['emax'], 'eltwise_param { operation: MAX }')
    add('cat', 'Concat', ['emax', 'sig'], ['cat'], 'concat_param { axis: 1 }')
    add('drop2', 'Dropout', ['cat'], ['cat_out'], 'dropout_param { dropout_ratio: 0.3 }')
    add('pool_g', 'Pooling', ['cat'], ['pool_g'], 'pooling_param { pool: AVE global_pooling: true }')
    add('flat', 'Flatten', ['pool_g'], ['flat'])
    add('fc', 'InnerProduct', ['flat'], ['fc'], 'inner_product_param { num_output: 5 }', [w(5, 8), w(5)])
    add('relu_fc', 'ReLU', ['fc'], ['fc'])
    add('drop', 'Dropout', ['fc'], ['fc_drop'])
    add('prob', 'Softmax', ['fc_drop'], ['prob'])
    add('perm', 'Permute', ['cat'], ['perm'], 'permute_param { order: 0 order: 2 order: 3 order: 1 }')
    add('resh', 'Reshape', ['perm'], ['resh'], 'reshape_param { shape { dim: 0 dim: -1 dim: 8 } }')
    add('sm2', 'Softmax', ['resh'], ['sm2'], 'softmax_param { axis: 2 }')
    add('fc2', 'InnerProduct', ['perm'], ['fc2'], 'inner_product_param { num_output: 3 axis: 2 }', [w(3, 32), w(3)])
    add('flat2', 'Flatten', ['perm'], ['flat2'], 'flatten_param { axis: 2 }')
    header = 'name: "tour"\ninput: "data"\ninput_shape { dim: 1 dim: 3 dim: 19 dim: 17 }\n'
    return header + '\n'.join(layers) + '\n', caffemodel('tour', weights)


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(20261127)
    for name, make in [('tour', tour)]:
        text, binary = make(rng)
        with open(os.path.join(out, name + '.prototxt'), 'w') as f:
            f.write(text)
        with open(os.path.join(out, name + '.caffemodel'), 'wb') as f:
            f.write(binary)
        np.save(os.path.join(out, name + '.input.npy'), rng.uniform(-1, 1, (1, 3, 19, 17)).astype(np.float32))


if __name__ == '__main__':
    main()
