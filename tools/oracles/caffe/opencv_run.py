#!/usr/bin/python3
"""Runs a Caffe model in OpenCV's dnn module (Debian's python3-opencv): the independent reference
for ktc's Caffe converter. Writes every network output as OUTDIR/<top blob>.npy (float32).

usage: /usr/bin/python3 opencv_run.py NET.prototxt WEIGHTS.caffemodel OUTDIR NAME=INPUT.npy ...

OpenCV names outputs by layer; the prototxt's `top` of that layer (the last layer writing a blob
when layers run in place) is the blob name ktc gives the graph output.
"""
import os
import re
import sys

import cv2
import numpy as np


def layer_tops(prototxt):
    """{layer name: [top, ...]} from the prototxt's `layer { }` blocks, by a small tokenizer."""
    text = open(prototxt, encoding='utf-8', errors='replace').read()
    tokens = re.findall(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|#[^\n]*|[{}]|[^\s{}:"\'#]+|:', text)
    tops, depth, in_layer, name, current = {}, 0, False, None, []
    prev = []
    for tok in tokens:
        if tok.startswith('#') or tok == ':':
            continue
        if tok == '{':
            depth += 1
            if depth == 1 and prev and prev[-1] in ('layer', 'layers'):
                in_layer, name, current = True, None, []
        elif tok == '}':
            depth -= 1
            if depth == 0 and in_layer:
                tops[name] = current
                in_layer = False
        elif in_layer and depth == 1 and len(prev) >= 1 and prev[-1] in ('name', 'top') and tok[0] in '"\'':
            if prev[-1] == 'name':
                name = tok[1:-1]
            else:
                current.append(tok[1:-1])
        prev.append(tok)
    return tops


def main():
    if len(sys.argv) < 5:
        sys.exit(__doc__)
    prototxt, caffemodel, out_dir = sys.argv[1:4]
    net = cv2.dnn.readNetFromCaffe(prototxt, caffemodel)
    net.setPreferableBackend(cv2.dnn.DNN_BACKEND_OPENCV)
    net.setPreferableTarget(cv2.dnn.DNN_TARGET_CPU)
    for arg in sys.argv[4:]:
        name, path = arg.split('=', 1)
        net.setInput(np.load(path).astype(np.float32), name)
    names = list(net.getUnconnectedOutLayersNames())
    outputs = net.forward(names)
    tops = layer_tops(prototxt)
    os.makedirs(out_dir, exist_ok=True)
    for layer, value in zip(names, outputs):
        blob = tops.get(layer, [layer])[0] if tops.get(layer) else layer
        np.save(os.path.join(out_dir, blob.replace('/', '_') + '.npy'), np.ascontiguousarray(value, dtype=np.float32))
        print(blob, value.shape)


if __name__ == '__main__':
    main()
