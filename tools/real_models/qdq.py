#!/usr/bin/python3
"""The standard int8 post-training quantization recipe, as an ONNX QDQ model for ONNX Runtime: the
baseline issue 15 compares ktc with (tests/quant_real). Written from the ONNX operator specs; it
uses only the `onnx` package.

  prep IN.onnx OUT.onnx       the float model the recipe starts from, as ONNX Runtime's
                              quantization pre-processing leaves it: Constant nodes turned into
                              initializers, and every BatchNormalization that follows a Conv (or
                              ConvTranspose) alone folded into its weights and bias
  augment PREP.onnx OUT.onnx  PREP with every float activation exposed as a graph output (for the
                              min/max calibration pass: tools/real_models/ort_batch.js --ranges)
  build PREP.onnx RANGES.json OUT.onnx
                              the QDQ model:
    - weights of Conv, ConvTranspose, Gemm and MatMul: int8, symmetric, one scale per output
      channel (scale = max|w| / 127, zero point 0), behind a DequantizeLinear;
    - biases of those ops: int32 at scale input_scale * weight_scale[c], zero point 0;
    - activations: uint8, asymmetric, one float scale and zero point per tensor from the
      calibration min/max (the range always includes 0): a QuantizeLinear + DequantizeLinear pair
      on the graph input and on every node output, except
        * the output of a node whose only reader is a Relu or Clip (the activation is fused: the
          pair goes after the Relu/Clip, never between the Conv and its activation);
        * outputs of ops that only move or select values already on the input's grid (Reshape,
          Flatten, Transpose, Squeeze, Unsqueeze, MaxPool, Identity, nearest Resize), which keep
          the input's quantization;
        * tensors computed from constants alone (not activations).
    Everything else (PRelu slopes, BatchNormalization parameters not folded, Add/Mul constants)
    stays float, as in ONNX Runtime's QDQ format, where such ops run on dequantized values.
"""
import json
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

FUSED_ACTIVATIONS = {"Relu", "Clip"}
GRID_PRESERVING = {"Reshape", "Flatten", "Transpose", "Squeeze", "Unsqueeze", "MaxPool", "Identity"}


def consumers(graph):
    c = {}
    for n in graph.node:
        for i in n.input:
            c.setdefault(i, []).append(n)
    return c


def attr(node, name, default):
    for a in node.attribute:
        if a.name == name:
            return helper.get_attribute_value(a)
    return default


def prep(model):
    g = model.graph
    # Constant nodes holding a tensor become initializers (weights exported as Constants).
    constants = [n for n in g.node if n.op_type == "Constant" and len(n.attribute) == 1 and n.attribute[0].name == "value"]
    for n in constants:
        t = onnx.TensorProto()
        t.CopyFrom(n.attribute[0].t)
        t.name = n.output[0]
        g.initializer.append(t)
        g.node.remove(n)
    inits = {t.name: t for t in g.initializer}
    readers = consumers(g)
    outputs = {o.name for o in g.output}
    remove = []
    for conv in g.node:
        if conv.op_type not in ("Conv", "ConvTranspose") or conv.output[0] in outputs:
            continue
        r = readers.get(conv.output[0], [])
        if len(r) != 1 or r[0].op_type != "BatchNormalization" or len(r[0].output) != 1:
            continue
        bn = r[0]
        if not all(i in inits for i in bn.input[1:]) or conv.input[1] not in inits:
            continue
        if conv.op_type == "ConvTranspose" and attr(conv, "group", 1) != 1:
            continue
        gamma, beta, mean, var = (numpy_helper.to_array(inits[i]).astype(np.float64) for i in bn.input[1:5])
        k = gamma / np.sqrt(var + attr(bn, "epsilon", 1e-5))
        w = numpy_helper.to_array(inits[conv.input[1]]).astype(np.float64)
        shape = [1] * w.ndim
        shape[0 if conv.op_type == "Conv" else 1] = -1
        w = w * k.reshape(shape)
        b = numpy_helper.to_array(inits[conv.input[2]]).astype(np.float64) if len(conv.input) > 2 and conv.input[2] else 0.0
        b = (b - mean) * k + beta
        wname, bname = conv.name + "_folded_W", conv.name + "_folded_B"
        g.initializer.extend([numpy_helper.from_array(w.astype(np.float32), wname),
                              numpy_helper.from_array(b.astype(np.float32), bname)])
        del conv.input[1:]
        conv.input.extend([wname, bname])
        conv.output[0] = bn.output[0]
        remove.append(bn)
    for n in remove:
        g.node.remove(n)
    used = {i for n in g.node for i in n.input}
    keep = [t for t in g.initializer if t.name in used]
    del g.initializer[:]
    g.initializer.extend(keep)
    return model


def float_types(model):
    inferred = onnx.shape_inference.infer_shapes(model)
    types = {}
    for v in list(inferred.graph.value_info) + list(inferred.graph.input) + list(inferred.graph.output):
        types[v.name] = v.type.tensor_type.elem_type
    return types


def dynamic_tensors(graph):
    """Names of tensors that depend on a graph input (activations), in topological order."""
    inits = {t.name for t in graph.initializer}
    dyn = [i.name for i in graph.input if i.name not in inits]
    seen = set(dyn)
    for n in graph.node:
        if any(i in seen for i in n.input if i):
            for o in n.output:
                if o and o not in seen:
                    seen.add(o)
                    dyn.append(o)
    return dyn


def augment(model):
    g = model.graph
    types = float_types(model)
    present = {o.name for o in g.output}
    for name in dynamic_tensors(g):
        if name not in present and types.get(name) == TensorProto.FLOAT:
            g.output.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, None))
    return model


def activation_params(lo, hi):
    lo, hi = min(float(lo), 0.0), max(float(hi), 0.0)
    scale = (hi - lo) / 255.0
    if scale <= 0.0:
        return 1.0, 0
    zp = int(np.clip(np.round(-lo / scale), 0, 255))
    return scale, zp


def build(model, ranges):
    g = model.graph
    types = float_types(model)
    inits = {t.name: t for t in g.initializer}
    readers = consumers(g)
    producer = {o: n for n in g.node for o in n.output}
    graph_inputs = {i.name for i in g.input if i.name not in inits}
    dyn = dynamic_tensors(g)
    scales = {}  # activation tensor -> scale of its quantization (for the int32 biases)

    def quantized_source(name):
        """The scale name `name` is on, following grid-preserving ops back; None when unquantized."""
        while name not in scales:
            p = producer.get(name)
            if p is None or not (p.op_type in GRID_PRESERVING or
                                 (p.op_type == "Resize" and attr(p, "mode", b"nearest") in (b"nearest", "nearest"))):
                return None
            name = p.input[0]
        return scales[name]

    new_nodes_after = {}  # tensor -> nodes to insert after its producer (or at the top for inputs)
    rename = {}

    for name in dyn:
        if types.get(name) != TensorProto.FLOAT:
            continue
        p = producer.get(name)
        if p is not None:
            r = readers.get(name, [])
            if len(r) == 1 and r[0].op_type in FUSED_ACTIVATIONS and name not in {o.name for o in g.output}:
                continue
            if p.op_type in GRID_PRESERVING or (p.op_type == "Resize" and attr(p, "mode", b"nearest") in (b"nearest", "nearest")):
                if quantized_source(p.input[0]) is not None:
                    continue
        if name not in ranges:
            raise SystemExit(f"qdq: no calibration range for '{name}'")
        scale, zp = activation_params(*ranges[name])
        scales[name] = scale
        raw = name + "_float"
        s_name, z_name = name + "_qscale", name + "_qzero"
        g.initializer.extend([numpy_helper.from_array(np.array(scale, np.float32), s_name),
                              numpy_helper.from_array(np.array(zp, np.uint8), z_name)])
        new_nodes_after[name] = [
            helper.make_node("QuantizeLinear", [raw, s_name, z_name], [name + "_q"], name=name + "_Q"),
            helper.make_node("DequantizeLinear", [name + "_q", s_name, z_name], [name], name=name + "_DQ")]
        rename[name] = raw

    # Weights and biases.
    weight_nodes = []
    for n in g.node:
        if n.op_type not in ("Conv", "ConvTranspose", "Gemm", "MatMul") or len(n.input) < 2:
            continue
        if n.input[1] not in inits:
            continue
        w = numpy_helper.to_array(inits[n.input[1]]).astype(np.float32)
        if n.op_type == "Conv":
            axis = 0
        elif n.op_type == "ConvTranspose":
            axis = 1 if attr(n, "group", 1) == 1 else None
        elif n.op_type == "Gemm":
            axis = 0 if attr(n, "transB", 0) else 1
        else:
            axis = w.ndim - 1
        if axis is None or w.ndim < 2:
            continue
        other = tuple(a for a in range(w.ndim) if a != axis)
        amax = np.abs(w).max(axis=other)
        ws = np.where(amax > 0, amax / 127.0, 1.0).astype(np.float32)
        shape = [1] * w.ndim
        shape[axis] = -1
        wq = np.clip(np.round(w / ws.reshape(shape)), -127, 127).astype(np.int8)
        base = n.name or n.output[0]
        qn, sn, zn, dn = base + "_Wq", base + "_Wscale", base + "_Wzero", base + "_Wdq"
        g.initializer.extend([numpy_helper.from_array(wq, qn), numpy_helper.from_array(ws, sn),
                              numpy_helper.from_array(np.zeros(ws.shape, np.int8), zn)])
        weight_nodes.append(helper.make_node("DequantizeLinear", [qn, sn, zn], [dn], name=dn, axis=axis))
        n.input[1] = dn
        if len(n.input) > 2 and n.input[2] in inits:
            xs = quantized_source(n.input[0])
            b = numpy_helper.to_array(inits[n.input[2]]).astype(np.float64)
            if xs is not None and b.ndim == 1 and b.shape[0] == ws.shape[0]:
                bs = (xs * ws.astype(np.float64)).astype(np.float32)
                bq = np.clip(np.round(b / bs), -2**31, 2**31 - 1).astype(np.int32)
                bqn, bsn, bzn, bdn = base + "_Bq", base + "_Bscale", base + "_Bzero", base + "_Bdq"
                g.initializer.extend([numpy_helper.from_array(bq, bqn), numpy_helper.from_array(bs, bsn),
                                      numpy_helper.from_array(np.zeros(bs.shape, np.int32), bzn)])
                weight_nodes.append(helper.make_node("DequantizeLinear", [bqn, bsn, bzn], [bdn], name=bdn, axis=0))
                n.input[2] = bdn

    # Rewire: producers write <name>_float, the Q/DQ pair restores <name> for every reader.
    for n in g.node:
        for k, o in enumerate(n.output):
            if o in rename:
                n.output[k] = rename[o]
    top = []
    for name in list(new_nodes_after):
        if name in graph_inputs:
            # The graph input keeps its name; its readers read the DQ output instead.
            q, dq = new_nodes_after[name]
            q.input[0] = name
            dq.output[0] = name + "_dq"
            for r in g.node:
                for k, i in enumerate(r.input):
                    if i == name:
                        r.input[k] = name + "_dq"
            top.extend([q, dq])
    nodes = top + [n for n in g.node]
    ordered = []
    for n in nodes:
        ordered.append(n)
        for o in n.output:
            if o.endswith("_float") and o[:-6] in new_nodes_after:
                ordered.extend(new_nodes_after[o[:-6]])
    del g.node[:]
    g.node.extend(weight_nodes + ordered)
    used = {i for n in g.node for i in n.input}
    keep = [t for t in g.initializer if t.name in used]
    del g.initializer[:]
    g.initializer.extend(keep)
    # QuantizeLinear/DequantizeLinear with per-axis scales need opset 13.
    for op in model.opset_import:
        if op.domain in ("", "ai.onnx") and op.version < 13:
            op.version = 13
    onnx.checker.check_model(model)
    return model


def main():
    if len(sys.argv) < 2 or sys.argv[1] not in ("prep", "augment", "build"):
        sys.exit(__doc__)
    verb = sys.argv[1]
    if verb == "prep" and len(sys.argv) == 4:
        onnx.save(prep(onnx.load(sys.argv[2])), sys.argv[3])
    elif verb == "augment" and len(sys.argv) == 4:
        onnx.save(augment(onnx.load(sys.argv[2])), sys.argv[3])
    elif verb == "build" and len(sys.argv) == 5:
        with open(sys.argv[3]) as f:
            ranges = json.load(f)
        onnx.save(build(onnx.load(sys.argv[2]), ranges), sys.argv[4])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
