#!/usr/bin/python3
"""Writes small float TFLite models that exercise the operators the real test files lack
(asymmetric SAME padding, dilation, depth multiplier, pooling, broadcasting, PAD, MEAN, RESIZE_*,
TRANSPOSE_CONV, a layout-changing RESHAPE, ...), for the converter test to run through both ktc
and LiteRT.js.

Built with the generic flatbuffers.Builder of Debian's python3-flatbuffers, from the public
TFLite schema's field numbers (no generated code). Weights are seeded random numbers.

usage: /usr/bin/python3 make_op_models.py OUTDIR
"""
import os
import sys

import flatbuffers
import numpy as np

# BuiltinOperator codes and BuiltinOptions union type numbers (schema.fbs).
OPS = {
    'ADD': 0, 'AVERAGE_POOL_2D': 1, 'CONCATENATION': 2, 'CONV_2D': 3, 'DEPTHWISE_CONV_2D': 4,
    'FULLY_CONNECTED': 9, 'LOGISTIC': 14, 'MAX_POOL_2D': 17, 'MUL': 18, 'RESHAPE': 22,
    'RESIZE_BILINEAR': 23, 'SOFTMAX': 25, 'TANH': 28, 'PAD': 34, 'MEAN': 40, 'SUB': 41,
    'TRANSPOSE_CONV': 67, 'RESIZE_NEAREST_NEIGHBOR': 97, 'LEAKY_RELU': 98,
    'DEPTH_TO_SPACE': 5, 'SPACE_TO_DEPTH': 26, 'TRANSPOSE': 39, 'DIV': 42, 'SQUEEZE': 43,
    'LOG_SOFTMAX': 50, 'PRELU': 54, 'MAXIMUM': 55, 'MINIMUM': 57, 'PADV2': 60, 'EXPAND_DIMS': 70,
    'REDUCE_MAX': 82, 'MIRROR_PAD': 100, 'ELU': 111, 'HARD_SWISH': 117,
}
OPTIONS = {
    'Conv2D': 1, 'DepthwiseConv2D': 2, 'Pool2D': 5, 'FullyConnected': 8, 'Softmax': 9,
    'Concatenation': 10, 'Add': 11, 'ResizeBilinear': 15, 'Reshape': 17, 'Mul': 21, 'Pad': 22,
    'Reducer': 27, 'Sub': 28, 'TransposeConv': 49, 'ResizeNearestNeighbor': 74, 'LeakyRelu': 75,
    'SpaceToDepth': 19, 'Transpose': 26, 'Div': 29, 'Squeeze': 30, 'LogSoftmax': 36, 'MaximumMinimum': 39,
    'PadV2': 43, 'ExpandDims': 52, 'MirrorPad': 77, 'HardSwish': 91, 'DepthToSpace': 94,
}
SAME, VALID = 0, 1
NONE, RELU, RELU6, TANH = 0, 1, 3, 4


class Model:
    """A one-subgraph model under construction: tensors, constant buffers, operators."""

    def __init__(self, seed):
        self.rng = np.random.RandomState(seed)
        self.tensors = []  # (name, shape, numpy type code, buffer index)
        self.buffers = [b'']
        self.ops = []      # (opcode, inputs, outputs, options kind, [(field id, kind, value)])
        self.inputs = []
        self.outputs = []

    def activation(self, name, shape):
        self.tensors.append((name, list(shape), 0, 0))
        return len(self.tensors) - 1

    def constant(self, name, array):
        array = np.ascontiguousarray(array)
        type_code = {np.dtype('float32'): 0, np.dtype('int32'): 2}[array.dtype]
        self.buffers.append(array.tobytes())
        self.tensors.append((name, list(array.shape), type_code, len(self.buffers) - 1))
        return len(self.tensors) - 1

    def weights(self, name, shape, scale=0.5):
        return self.constant(name, (self.rng.uniform(-1, 1, shape) * scale).astype(np.float32))

    def ints(self, name, values):
        return self.constant(name, np.array(values, dtype=np.int32))

    def op(self, opcode, inputs, out_name, out_shape, options=None, fields=()):
        out = self.activation(out_name, out_shape)
        self.ops.append((OPS[opcode], inputs, [out], options, list(fields)))
        return out

    # -- serialization -------------------------------------------------------------------------
    def save(self, path):
        b = flatbuffers.Builder(1024)

        def int_vector(values):
            b.StartVector(4, len(values), 4)
            for v in reversed(values):
                b.PrependInt32(v)
            return b.EndVector()

        def table_vector(offsets):
            b.StartVector(4, len(offsets), 4)
            for o in reversed(offsets):
                b.PrependUOffsetTRelative(o)
            return b.EndVector()

        buffers = []
        for data in self.buffers:
            vec = None
            if data:
                b.StartVector(1, len(data), 16)
                for byte in reversed(data):
                    b.PrependUint8(byte)
                vec = b.EndVector()
            b.StartObject(3)
            if vec is not None:
                b.PrependUOffsetTRelativeSlot(0, vec, 0)
            buffers.append(b.EndObject())

        tensors = []
        for name, shape, type_code, buffer in self.tensors:
            name_off, shape_off = b.CreateString(name), int_vector(shape)
            b.StartObject(4)
            b.PrependUOffsetTRelativeSlot(0, shape_off, 0)
            b.PrependInt8Slot(1, type_code, 0)
            b.PrependUint32Slot(2, buffer, 0)
            b.PrependUOffsetTRelativeSlot(3, name_off, 0)
            tensors.append(b.EndObject())

        codes = sorted({op[0] for op in self.ops})
        operators = []
        for opcode, inputs, outputs, kind, fields in self.ops:
            options = None
            if kind is not None:
                b.StartObject(8)
                for field, scalar, value in fields:
                    if scalar == 'i32':
                        b.PrependInt32Slot(field, value, 0)
                    elif scalar == 'i8':
                        b.PrependInt8Slot(field, value, 0)
                    elif scalar == 'bool':
                        b.PrependBoolSlot(field, value, False)
                    elif scalar == 'f32':
                        b.PrependFloat32Slot(field, value, 0.0)
                options = b.EndObject()
            ins, outs = int_vector(inputs), int_vector(outputs)
            b.StartObject(5)
            b.PrependUint32Slot(0, codes.index(opcode), 0)
            b.PrependUOffsetTRelativeSlot(1, ins, 0)
            b.PrependUOffsetTRelativeSlot(2, outs, 0)
            if options is not None:
                b.PrependUint8Slot(3, OPTIONS[kind], 0)
                b.PrependUOffsetTRelativeSlot(4, options, 0)
            operators.append(b.EndObject())

        opcodes = []
        for code in codes:
            b.StartObject(4)
            b.PrependInt8Slot(0, min(code, 127), 0)
            b.PrependInt32Slot(2, 1, 1)
            b.PrependInt32Slot(3, code, 0)
            opcodes.append(b.EndObject())

        tensors_v, inputs_v, outputs_v = table_vector(tensors), int_vector(self.inputs), int_vector(self.outputs)
        operators_v = table_vector(operators)
        b.StartObject(5)
        b.PrependUOffsetTRelativeSlot(0, tensors_v, 0)
        b.PrependUOffsetTRelativeSlot(1, inputs_v, 0)
        b.PrependUOffsetTRelativeSlot(2, outputs_v, 0)
        b.PrependUOffsetTRelativeSlot(3, operators_v, 0)
        subgraph = b.EndObject()

        codes_v, subgraphs_v, buffers_v = table_vector(opcodes), table_vector([subgraph]), table_vector(buffers)
        description = b.CreateString('ktc converter test model')
        b.StartObject(5)
        b.PrependUint32Slot(0, 3, 0)
        b.PrependUOffsetTRelativeSlot(1, codes_v, 0)
        b.PrependUOffsetTRelativeSlot(2, subgraphs_v, 0)
        b.PrependUOffsetTRelativeSlot(3, description, 0)
        b.PrependUOffsetTRelativeSlot(4, buffers_v, 0)
        b.Finish(b.EndObject(), file_identifier=b'TFL3')
        with open(path, 'wb') as f:
            f.write(b.Output())


def windows():
    """Conv with odd sizes (asymmetric SAME), dilation, depth multiplier, both poolings, and a
    fused TANH on ADD, which TFLite's kernels ignore (they clamp only for RELU*)."""
    m = Model(1)
    x = m.activation('x', [1, 7, 9, 4])
    m.inputs = [x]
    c1 = m.op('CONV_2D', [x, m.weights('c1_w', [6, 3, 3, 4]), m.weights('c1_b', [6])], 'conv_s2_same',
              [1, 4, 5, 6], 'Conv2D', [(0, 'i8', SAME), (1, 'i32', 2), (2, 'i32', 2), (3, 'i8', RELU6)])
    d1 = m.op('DEPTHWISE_CONV_2D', [c1, m.weights('d1_w', [1, 3, 3, 12]), m.weights('d1_b', [12])], 'depthwise_x2',
              [1, 4, 5, 12], 'DepthwiseConv2D',
              [(0, 'i8', SAME), (1, 'i32', 1), (2, 'i32', 1), (3, 'i32', 2), (4, 'i8', RELU)])
    p1 = m.op('MAX_POOL_2D', [d1], 'max_pool', [1, 2, 3, 12], 'Pool2D',
              [(0, 'i8', SAME), (1, 'i32', 2), (2, 'i32', 2), (3, 'i32', 3), (4, 'i32', 3)])
    p2 = m.op('AVERAGE_POOL_2D', [d1], 'avg_pool', [1, 2, 3, 12], 'Pool2D',
              [(0, 'i8', SAME), (1, 'i32', 2), (2, 'i32', 2), (3, 'i32', 3), (4, 'i32', 3)])
    a = m.op('ADD', [p1, p2], 'pools_added', [1, 2, 3, 12], 'Add', [(0, 'i8', TANH)])
    c2 = m.op('CONV_2D', [x, m.weights('c2_w', [5, 3, 3, 4]), m.weights('c2_b', [5])], 'conv_dilated',
              [1, 7, 9, 5], 'Conv2D', [(0, 'i8', SAME), (1, 'i32', 1), (2, 'i32', 1), (4, 'i32', 2), (5, 'i32', 2)])
    c3 = m.op('CONV_2D', [x, m.weights('c3_w', [3, 2, 4, 4]), m.weights('c3_b', [3])], 'conv_valid',
              [1, 2, 3, 3], 'Conv2D', [(0, 'i8', VALID), (1, 'i32', 2), (2, 'i32', 3)])
    m.outputs = [a, c2, c3]
    return m


def elementwise():
    """Broadcast constants, activations, CONCATENATION, PAD, MEAN, SOFTMAX with beta, a RESHAPE that
    reorders (NHWC flatten) into FULLY_CONNECTED."""
    m = Model(2)
    x = m.activation('x', [1, 4, 4, 3])
    m.inputs = [x]
    mul = m.op('MUL', [x, m.weights('scale', [3], 2.0)], 'scaled', [1, 4, 4, 3], 'Mul')
    sub = m.op('SUB', [mul, m.weights('shift', [1, 1, 1, 3])], 'shifted', [1, 4, 4, 3], 'Sub')
    add = m.op('ADD', [sub, x], 'residual', [1, 4, 4, 3], 'Add', [(0, 'i8', RELU)])
    leaky = m.op('LEAKY_RELU', [sub], 'leaky', [1, 4, 4, 3], 'LeakyRelu', [(0, 'f32', 0.2)])
    sig = m.op('LOGISTIC', [sub], 'sigmoid', [1, 4, 4, 3])
    tanh = m.op('TANH', [add], 'tanh', [1, 4, 4, 3])
    cat = m.op('CONCATENATION', [leaky, sig, tanh], 'concat', [1, 4, 4, 9], 'Concatenation', [(0, 'i32', 3)])
    pad = m.op('PAD', [cat, m.ints('paddings', [[0, 0], [1, 2], [0, 1], [0, 0]])], 'padded', [1, 7, 5, 9], 'Pad')
    mean = m.op('MEAN', [pad, m.ints('axes', [1, 2])], 'mean', [1, 9], 'Reducer', [(0, 'bool', False)])
    soft = m.op('SOFTMAX', [mean], 'softmax', [1, 9], 'Softmax', [(0, 'f32', 2.5)])
    flat = m.op('RESHAPE', [pad, m.ints('new_shape', [1, 315])], 'flat', [1, 315], 'Reshape')
    fc = m.op('FULLY_CONNECTED', [flat, m.weights('fc_w', [8, 315], 0.1), m.weights('fc_b', [8])], 'dense',
              [1, 8], 'FullyConnected', [(0, 'i8', RELU)])
    back = m.op('RESHAPE', [fc, m.ints('shape4', [1, 2, 2, 2])], 'unflat', [1, 2, 2, 2], 'Reshape')
    m.outputs = [soft, fc, back]
    return m


def resizing():
    """RESIZE_BILINEAR and RESIZE_NEAREST_NEIGHBOR in each coordinate mode, TRANSPOSE_CONV."""
    m = Model(3)
    x = m.activation('x', [1, 5, 6, 3])
    m.inputs = [x]
    outs = [
        m.op('RESIZE_BILINEAR', [x, m.ints('s1', [10, 12])], 'bilinear', [1, 10, 12, 3], 'ResizeBilinear'),
        m.op('RESIZE_BILINEAR', [x, m.ints('s2', [9, 11])], 'bilinear_align', [1, 9, 11, 3], 'ResizeBilinear',
             [(2, 'bool', True)]),
        m.op('RESIZE_BILINEAR', [x, m.ints('s3', [7, 13])], 'bilinear_half', [1, 7, 13, 3], 'ResizeBilinear',
             [(3, 'bool', True)]),
        m.op('RESIZE_NEAREST_NEIGHBOR', [x, m.ints('s4', [10, 12])], 'nearest', [1, 10, 12, 3],
             'ResizeNearestNeighbor'),
        m.op('RESIZE_NEAREST_NEIGHBOR', [x, m.ints('s5', [9, 11])], 'nearest_align', [1, 9, 11, 3],
             'ResizeNearestNeighbor', [(0, 'bool', True)]),
        m.op('RESIZE_NEAREST_NEIGHBOR', [x, m.ints('s6', [7, 13])], 'nearest_half', [1, 7, 13, 3],
             'ResizeNearestNeighbor', [(1, 'bool', True)]),
        m.op('TRANSPOSE_CONV', [m.ints('tc_shape', [1, 10, 12, 4]), m.weights('tc_w', [4, 3, 3, 3]), x,
                                m.weights('tc_b', [4])], 'transpose_conv', [1, 10, 12, 4], 'TransposeConv',
             [(0, 'i8', SAME), (1, 'i32', 2), (2, 'i32', 2)]),
        m.op('TRANSPOSE_CONV', [m.ints('tv_shape', [1, 11, 13, 2]), m.weights('tv_w', [2, 3, 3, 3]), x],
             'transpose_conv_valid', [1, 11, 13, 2], 'TransposeConv', [(0, 'i8', VALID), (1, 'i32', 2), (2, 'i32', 2)]),
    ]
    m.outputs = outs
    return m


def rearranging():
    """SPACE_TO_DEPTH / DEPTH_TO_SPACE, TRANSPOSE, MIRROR_PAD, PADV2, REDUCE_MAX, a MEAN whose kept
    axes need reordering, SQUEEZE / EXPAND_DIMS, PRELU, ELU, HARD_SWISH, DIV, MAXIMUM, MINIMUM,
    LOG_SOFTMAX, FULLY_CONNECTED with keep_num_dims."""
    m = Model(4)
    x = m.activation('x', [1, 4, 6, 8])
    m.inputs = [x]
    s2d = m.op('SPACE_TO_DEPTH', [x], 'space_to_depth', [1, 2, 3, 32], 'SpaceToDepth', [(0, 'i32', 2)])
    d2s = m.op('DEPTH_TO_SPACE', [s2d], 'depth_to_space', [1, 4, 6, 8], 'DepthToSpace', [(0, 'i32', 2)])
    tr = m.op('TRANSPOSE', [d2s, m.ints('perm', [0, 2, 1, 3])], 'transposed', [1, 6, 4, 8], 'Transpose')
    mp = m.op('MIRROR_PAD', [tr, m.ints('mp_pads', [[0, 0], [1, 1], [2, 2], [0, 0]])], 'mirror_padded',
              [1, 8, 8, 8], 'MirrorPad', [(0, 'i8', 0)])
    p2 = m.op('PADV2', [mp, m.ints('p2_pads', [[0, 0], [0, 1], [1, 0], [0, 0]]),
                        m.constant('pad_value', np.array(0.5, dtype=np.float32))], 'padded_v2', [1, 9, 9, 8], 'PadV2')
    rmax = m.op('REDUCE_MAX', [p2, m.ints('max_axes', [1, 2])], 'reduce_max', [1, 1, 1, 8], 'Reducer',
                [(0, 'bool', True)])
    mean_h = m.op('MEAN', [p2, m.ints('h_axis', [1])], 'mean_over_h', [1, 9, 8], 'Reducer')
    sq = m.op('SQUEEZE', [rmax], 'squeezed', [8], 'Squeeze')
    ex = m.op('EXPAND_DIMS', [sq, m.ints('expand_axis', [0])], 'expanded', [1, 8], 'ExpandDims')
    ls = m.op('LOG_SOFTMAX', [ex], 'log_softmax', [1, 8], 'LogSoftmax')
    fc = m.op('FULLY_CONNECTED', [mean_h, m.weights('fck_w', [5, 8])], 'dense_keep_dims', [1, 9, 5],
              'FullyConnected', [(2, 'bool', True)])
    pr = m.op('PRELU', [tr, m.weights('alpha', [8])], 'prelu', [1, 6, 4, 8])
    el = m.op('ELU', [pr], 'elu', [1, 6, 4, 8])
    hs = m.op('HARD_SWISH', [el], 'hard_swish', [1, 6, 4, 8], 'HardSwish')
    divisor = m.constant('divisor', m.rng.uniform(0.5, 2.0, [8]).astype(np.float32))
    dv = m.op('DIV', [hs, divisor], 'divided', [1, 6, 4, 8], 'Div')
    mx = m.op('MAXIMUM', [dv, tr], 'maximum', [1, 6, 4, 8], 'MaximumMinimum')
    mn = m.op('MINIMUM', [mx, m.weights('ceiling', [1, 1, 1, 8])], 'minimum', [1, 6, 4, 8], 'MaximumMinimum')
    m.outputs = [mn, ls, fc, p2]
    return m


def main():
    if len(sys.argv) != 2:
        sys.exit('usage: make_op_models.py OUTDIR')
    os.makedirs(sys.argv[1], exist_ok=True)
    for make in (windows, elementwise, resizing, rearranging):
        make().save(os.path.join(sys.argv[1], 'ops_' + make.__name__ + '.tflite'))


if __name__ == '__main__':
    main()
