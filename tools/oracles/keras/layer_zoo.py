#!/usr/bin/python3
"""Writes small Keras models (HDF5 in model.save's layout) that use the layers the third-party
test files do not: Sequential without an InputLayer, Flatten before Dense, Reshape, Permute,
Conv2DTranspose, PReLU, Cropping2D, merges, a shared layer called twice, two outputs, ...

The topologies are written here; TensorFlow.js builds each one and draws random weights
(make_weights.js), so the weight shapes are Keras's and not ktc's. The files are then converted by
ktc and run by run.js, and the two must agree.

usage: /usr/bin/python3 layer_zoo.py OUTDIR      (writes OUTDIR/<model>.h5 for every model)
"""
import json
import os
import subprocess
import sys

import h5py
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


def layer(cls, name, inbound=None, calls=None, **config):
    """One functional layer entry. inbound: the refs of its one call; calls: a list of those, for
    a layer called several times. A ref is a layer name or (layer name, node index)."""
    config["name"] = name
    calls = calls if calls is not None else [inbound] if inbound is not None else []
    ref = lambda r: [r, 0, 0, {}] if isinstance(r, str) else [r[0], r[1], 0, {}]
    return {"class_name": cls, "name": name, "config": config, "inbound_nodes": [[ref(r) for r in c] for c in calls]}


def sequential():
    # Keras 2.0/2.1 form: "config" is the layer list; the first layer carries the input shape.
    layers = [
        {"class_name": "ZeroPadding2D", "config": {"name": "pad", "padding": [[1, 2], [0, 1]], "batch_input_shape": [None, 12, 10, 3], "dtype": "float32"}},
        {"class_name": "Conv2D", "config": {"name": "conv", "filters": 6, "kernel_size": [3, 3], "strides": [2, 2], "padding": "same", "activation": "relu", "use_bias": True}},
        {"class_name": "DepthwiseConv2D", "config": {"name": "depthwise", "kernel_size": [3, 3], "depth_multiplier": 2, "padding": "valid", "activation": "tanh", "use_bias": True}},
        {"class_name": "AveragePooling2D", "config": {"name": "avgpool", "pool_size": [3, 3], "strides": [2, 2], "padding": "same"}},
        {"class_name": "PReLU", "config": {"name": "prelu", "shared_axes": [1, 2]}},
        {"class_name": "Conv2DTranspose", "config": {"name": "deconv", "filters": 4, "kernel_size": [3, 3], "strides": [2, 2], "padding": "same", "activation": "linear", "use_bias": True}},
        {"class_name": "UpSampling2D", "config": {"name": "upsample", "size": [2, 1]}},
        {"class_name": "Cropping2D", "config": {"name": "crop", "cropping": [[1, 0], [0, 1]]}},
        {"class_name": "Conv2DTranspose", "config": {"name": "deconv_valid", "filters": 3, "kernel_size": [2, 3], "strides": [1, 2], "padding": "valid", "use_bias": False}},
        {"class_name": "MaxPooling2D", "config": {"name": "maxpool", "pool_size": [2, 2], "padding": "valid"}},
        {"class_name": "Dropout", "config": {"name": "dropout", "rate": 0.5}},
        {"class_name": "Flatten", "config": {"name": "flatten"}},
        {"class_name": "Dense", "config": {"name": "dense", "units": 24, "activation": "sigmoid", "use_bias": True}},
        {"class_name": "Reshape", "config": {"name": "reshape", "target_shape": [2, 3, 4]}},
        {"class_name": "Conv2D", "config": {"name": "conv_1x1", "filters": 5, "kernel_size": [1, 1], "padding": "valid", "activation": "softmax", "use_bias": True}},
    ]
    return {"class_name": "Sequential", "config": layers}


def functional():
    layers = [
        layer("InputLayer", "image", batch_input_shape=[None, 8, 8, 4], dtype="float32"),
        layer("InputLayer", "mask", batch_input_shape=[None, 8, 8, 4], dtype="float32"),
        layer("SeparableConv2D", "sep", ["image"], filters=8, kernel_size=[3, 3], padding="same", depth_multiplier=2, activation="elu", use_bias=True),
        layer("Conv2D", "dilated", ["mask"], filters=8, kernel_size=[3, 3], padding="same", dilation_rate=[2, 2], activation="linear", use_bias=True),
        layer("Multiply", "mul", ["sep", "dilated"]),
        layer("Minimum", "min", ["sep", "dilated"]),
        layer("Maximum", "max", ["mul", "min"]),
        layer("Average", "avg", ["sep", "dilated", "max"]),
        layer("Concatenate", "concat", ["avg", "image"], axis=-1),
        layer("BatchNormalization", "bn", ["concat"], axis=-1, epsilon=0.001),
        layer("LeakyReLU", "leaky", ["bn"], alpha=0.1),
        layer("ReLU", "relu6", ["leaky"], max_value=6.0),
        # (No BatchNormalization over another axis than channels: tfjs 4.22's CPU kernel indexes
        # its parameters as if they were per channel, so it is no reference there.)
        layer("GlobalMaxPooling2D", "gmp", ["leaky"]),
        layer("GlobalAveragePooling2D", "gap", ["relu6"]),
        # One Dense layer called twice: its second output is node 1.
        layer("Dense", "shared", calls=[["gmp"], ["gap"]], units=6, activation="linear", use_bias=True),
        layer("Add", "sum", [("shared", 0), ("shared", 1)]),
        layer("Activation", "probabilities", ["sum"], activation="softmax"),
        layer("Permute", "permute", ["relu6"], dims=[3, 1, 2]),
        layer("Reshape", "rows", ["permute"], target_shape=[12, 64]),
        layer("Dense", "per_row", ["rows"], units=4, activation="hard_sigmoid", use_bias=True),
        layer("Softmax", "row_softmax", ["per_row"], axis=-1),
    ]
    return {"class_name": "Model", "config": {"name": "zoo_functional", "layers": layers,
                                               "input_layers": [["image", 0, 0], ["mask", 0, 0]],
                                               "output_layers": [["probabilities", 0, 0], ["row_softmax", 0, 0]]}}


def sequential_v22():
    # Keras 2.2 form: "config" is {name, layers} and starts with an InputLayer.
    layers = [
        {"class_name": "InputLayer", "config": {"name": "pixels", "batch_input_shape": [None, 6, 6, 2], "dtype": "float32"}},
        {"class_name": "Conv2D", "config": {"name": "conv_selu", "filters": 4, "kernel_size": [3, 3], "padding": "same", "activation": "selu", "use_bias": True}},
        {"class_name": "ELU", "config": {"name": "elu", "alpha": 1.0}},
        {"class_name": "ThresholdedReLU", "config": {"name": "thresholded", "theta": 0.1}},
        {"class_name": "Conv2D", "config": {"name": "conv_softplus", "filters": 3, "kernel_size": [1, 1], "activation": "softplus", "use_bias": True}},
        {"class_name": "Flatten", "config": {"name": "flatten"}},
        {"class_name": "Dense", "config": {"name": "dense_softsign", "units": 8, "activation": "softsign", "use_bias": False}},
        {"class_name": "Dense", "config": {"name": "scores", "units": 3, "activation": "softmax", "use_bias": True}},
    ]
    return {"class_name": "Sequential", "config": {"name": "zoo_v22", "layers": layers}}


MODELS = {"zoo_sequential": sequential, "zoo_functional": functional, "zoo_sequential_v22": sequential_v22}


def write_h5(path, topology, weights):
    with h5py.File(path, "w") as f:
        f.attrs["keras_version"] = np.bytes_("2.2.4")
        f.attrs["backend"] = np.bytes_("tensorflow")
        f.attrs["model_config"] = np.bytes_(json.dumps(topology))
        root = f.create_group("model_weights")
        names = list(weights)
        root.attrs["layer_names"] = np.array([np.bytes_(n) for n in names])
        for layer_name in names:
            group = root.create_group(layer_name)
            # Keras often nests the datasets under another name than the layer's ("dense_1_1/...").
            paths = [layer_name + "_1/" + w["name"] + ":0" for w in weights[layer_name]]
            group.attrs["weight_names"] = np.array([np.bytes_(p) for p in paths]) if paths else np.zeros((0,))
            for p, w in zip(paths, weights[layer_name]):
                group.create_dataset(p, data=np.asarray(w["values"], dtype="<f4").reshape(w["shape"]))


def main():
    out_dir = sys.argv[1]
    os.makedirs(out_dir, exist_ok=True)
    for name, build in MODELS.items():
        topology = build()
        config_path = os.path.join(out_dir, name + ".json")
        with open(config_path, "w") as c:
            json.dump(topology, c)
        made = subprocess.run(["node", os.path.join(HERE, "make_weights.js"), config_path, str(len(name))],
                              check=True, stdout=subprocess.PIPE, text=True)
        write_h5(os.path.join(out_dir, name + ".h5"), topology, json.loads(made.stdout))


if __name__ == "__main__":
    main()
